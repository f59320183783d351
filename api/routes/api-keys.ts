import { z } from '@hono/zod-openapi';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../db/create-db.js';
import { apiKeys } from '../../db/schema.js';
import { managedKeyIdPattern, newManagedKey, scopedRoute, type AuthEnv } from '../auth.js';
import { ApiError } from '../errors.js';
import { isOperator, normalizeDomain, scopes, tenantIdPattern, type Principal } from '../principal.js';
import { limitBody } from '../read-body.js';
import { errorResponse, router, unavailableResponse } from '../router.js';
import { IdParam } from './common.js';

export interface ApiKeyRoutesDeps {
  db: Db;
}

const domain = z
  .string()
  .max(253)
  .transform((v, ctx) => {
    const d = normalizeDomain(v);
    if (d === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is not a domain' });
      return z.NEVER;
    }
    return d;
  })
  .openapi({ example: 'acme.test' });

const CreateKey = z
  .strictObject({
    name: z.string().trim().min(1).max(100).openapi({ description: 'What the key is for; shown in listings' }),
    scopes: z
      .array(z.enum(scopes))
      .min(1)
      .max(scopes.length)
      .openapi({ description: '`send`, `read`, `manage`, `admin` (see the README for what each allows)' }),
    from_domains: z.array(domain).max(100).default([]).openapi({
      description: 'Sends must be From an address at one of these domains (exactly); empty: any domain',
    }),
    rate_limit_per_minute: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .nullable()
      .default(null)
      .openapi({ description: 'Requests a minute, across all API replicas; null: unlimited' }),
    tenant: z
      .string()
      .regex(tenantIdPattern, 'must be 1-63 of a-z 0-9 - (starting with a letter or digit)')
      .optional()
      .openapi({
        description:
          "The tenant the key acts for; default: the caller's. Only an admin key of the `default` tenant " +
          '(an API_KEYS key) may name another tenant, which this creates.',
      }),
  })
  .openapi('CreateApiKey');

const ApiKey = z
  .object({
    id: z.string(),
    prefix: z.string().openapi({ description: 'The start of the key, `mr_<id>`, to recognise it' }),
    name: z.string(),
    tenant: z.string(),
    scopes: z.array(z.enum(scopes)),
    from_domains: z.array(z.string()),
    rate_limit_per_minute: z.number().int().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi('ApiKey');

const CreatedKey = ApiKey.extend({
  key: z.string().openapi({ description: 'The key, `mr_<id>_<secret>`: shown only in this answer' }),
}).openapi('CreatedApiKey');

type Row = typeof apiKeys.$inferSelect;
const view = (r: Row) => ({
  id: r.id,
  prefix: `mr_${r.id}`,
  name: r.name,
  tenant: r.tenantId,
  scopes: r.scopes,
  from_domains: r.fromDomains,
  rate_limit_per_minute: r.rateLimitPerMinute,
  created_at: r.createdAt.toISOString(),
  revoked_at: r.revokedAt?.toISOString() ?? null,
});

/** Which tenant a request may act on: its own, or any for the operator. */
function tenantFor(p: Principal, requested: string | undefined, field: string): string {
  if (requested === undefined || requested === p.tenantId) return p.tenantId;
  if (!isOperator(p))
    throw new ApiError('forbidden', "only an admin key of the default tenant may act on another tenant's keys", field);
  return requested;
}

/** POST/GET /v1/api-keys, DELETE /v1/api-keys/{id}: managed keys, admin scope. */
export function apiKeyRoutes(deps: ApiKeyRoutesDeps) {
  const { db } = deps;
  return router<AuthEnv>()
    .openapi(
      scopedRoute('admin', {
        method: 'post',
        path: '/',
        summary: 'Create an API key',
        description:
          'The key is shown once, in this answer; only a hash of its secret is stored. A key bound to ' +
          'sender domains can only create keys bound to some of the same domains.',
        middleware: [limitBody(16 * 1024)] as const,
        request: { body: { required: true, content: { 'application/json': { schema: CreateKey } } } },
        responses: {
          201: { description: 'Created', content: { 'application/json': { schema: CreatedKey } } },
          400: errorResponse('Invalid input; `field` names it'),
          403: errorResponse(
            'The key lacks the `admin` scope, names another tenant without being an operator key, or ' +
              'asks for sender domains outside its own (`field` says which)',
          ),
          413: errorResponse('Body larger than 16 KiB'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const body = c.req.valid('json');
        const caller = c.get('principal');
        const tenantId = tenantFor(caller, body.tenant, 'tenant');
        const fromDomains = [...new Set(body.from_domains)];
        // A bound key must not be able to mint an unbound one.
        if (
          caller.fromDomains.length > 0 &&
          (fromDomains.length === 0 || fromDomains.some((d) => !caller.fromDomains.includes(d)))
        )
          throw new ApiError(
            'forbidden',
            `this key may only create keys bound to its own domains: ${caller.fromDomains.join(', ')}`,
            'from_domains',
          );
        // 36^8 ids: a collision is unlikely, and a retry with a fresh id settles it.
        for (let attempt = 0; ; attempt++) {
          const made = newManagedKey();
          const [row] = await db
            .insert(apiKeys)
            .values({
              id: made.id,
              tenantId,
              name: body.name,
              secretHash: made.secretHash,
              scopes: [...new Set(body.scopes)],
              fromDomains,
              rateLimitPerMinute: body.rate_limit_per_minute,
              createdBy: caller.keyId,
            })
            .onConflictDoNothing()
            .returning();
          if (row) return c.json({ ...view(row), key: made.key }, 201);
          if (attempt >= 3) throw new Error('could not find a free API key id');
        }
      },
    )
    .openapi(
      scopedRoute('admin', {
        method: 'get',
        path: '/',
        summary: "List a tenant's API keys (never their secrets)",
        description: 'Newest first, revoked keys included (with `revoked_at`). Keys of API_KEYS are not listed.',
        request: {
          query: z.strictObject({
            tenant: z.string().max(63).optional().openapi({
              description: "Another tenant's keys (operator keys only); default: the caller's tenant",
            }),
          }),
        },
        responses: {
          200: {
            description: 'The keys',
            content: { 'application/json': { schema: z.object({ data: z.array(ApiKey) }) } },
          },
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const tenantId = tenantFor(c.get('principal'), c.req.valid('query').tenant, 'tenant');
        const rows = await db
          .select()
          .from(apiKeys)
          .where(eq(apiKeys.tenantId, tenantId))
          .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
        return c.json({ data: rows.map(view) }, 200);
      },
    )
    .openapi(
      scopedRoute('admin', {
        method: 'delete',
        path: '/{id}',
        summary: 'Revoke an API key',
        description:
          'At once, on every API replica: the next request with the key is a 401, and console sessions ' +
          'signed in with it end. Records it made stay with its tenant. Revoking a revoked key changes nothing.',
        request: { params: IdParam },
        responses: {
          200: { description: 'Revoked', content: { 'application/json': { schema: ApiKey } } },
          404: errorResponse("No such key in the caller's tenant"),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const id = c.req.valid('param').id;
        const caller = c.get('principal');
        const missing = new ApiError('not_found', `no API key ${id}`, 'id');
        if (!managedKeyIdPattern.test(id)) throw missing;
        const mine = isOperator(caller) ? undefined : eq(apiKeys.tenantId, caller.tenantId);
        const [revoked] = await db
          .update(apiKeys)
          .set({ revokedAt: new Date() })
          .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt), mine))
          .returning();
        const row =
          revoked ??
          (
            await db
              .select()
              .from(apiKeys)
              .where(and(eq(apiKeys.id, id), mine))
          )[0];
        if (!row) throw missing;
        return c.json(view(row), 200);
      },
    );
}
