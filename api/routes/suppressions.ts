import { z } from '@hono/zod-openapi';
import type { Db } from '../../db/create-db.js';
import { suppressionReasons } from '../../db/schema.js';
import { addSuppressions, listSuppressions, removeSuppression, type SuppressionCursor } from '../../db/suppressions.js';
import { parseAddress } from '../../mail/addresses.js';
import { scopedRoute, type AuthEnv } from '../auth.js';
import { ApiError, badField } from '../errors.js';
import { limitBody } from '../read-body.js';
import { errorResponse, router, unavailableResponse } from '../router.js';

export interface SuppressionRoutesDeps {
  db: Db;
}

const bareEmail = z
  .string()
  .max(320)
  .transform((v, ctx) => {
    const parsed = parseAddress(v);
    if ('error' in parsed || parsed.name) {
      ctx.addIssue({ code: 'custom', message: 'error' in parsed ? parsed.error : 'must be a bare address' });
      return z.NEVER;
    }
    return parsed.address.toLowerCase();
  })
  .openapi({ example: 'ana@example.com' });

const Suppression = z
  .object({
    email: z.string(),
    reason: z.enum(suppressionReasons),
    source: z.string().openapi({ description: '`api`, or the provider event that added it (`ses:<SNS MessageId>`)' }),
    created_at: z.string(),
  })
  .openapi('Suppression');

const AddSuppression = z
  .strictObject({
    email: bareEmail,
    reason: z.literal('manual').default('manual').openapi({ description: 'Only `manual` can be added by hand' }),
  })
  .openapi('AddSuppression');

const ListQuery = z.strictObject({
  reason: z.enum(suppressionReasons).optional(),
  cursor: z.string().max(1000).optional().openapi({ description: '`next_cursor` of the previous page' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const EmailParam = z.object({
  email: z
    .string()
    .max(320)
    .openapi({ param: { name: 'email', in: 'path' } }),
});

export const encodeCursor = (c: SuppressionCursor) =>
  Buffer.from(JSON.stringify([c.at, c.email])).toString('base64url');
export function decodeCursor(cursor: string): SuppressionCursor {
  try {
    const [at, email] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && typeof email === 'string' && !Number.isNaN(Date.parse(at))) return { at, email };
  } catch {
    // reported below
  }
  throw badField('cursor', 'cursor is not a cursor of this listing');
}

const list = scopedRoute('read', {
  method: 'get',
  path: '/',
  summary: 'List suppressed addresses, newest first',
  description:
    'Addresses this API key never mails: hard bounces and complaints add themselves. Pages by `cursor` ' +
    '(the previous page’s `next_cursor`).',
  request: { query: ListQuery },
  responses: {
    200: {
      description: 'A page',
      content: {
        'application/json': {
          schema: z.object({
            data: z.array(Suppression),
            next_cursor: z.string().nullable().openapi({ description: 'null: the last page' }),
          }),
        },
      },
    },
    400: errorResponse('Invalid filter; `field` names it'),
    401: errorResponse('Missing or invalid API key'),
    503: unavailableResponse(),
  },
});

const add = scopedRoute('manage', {
  method: 'post',
  path: '/',
  summary: 'Suppress an address',
  description:
    'Sends to it end `suppressed` (or drop it from their envelope) from now on. Adding it again is harmless.',
  middleware: [limitBody(16 * 1024)] as const,
  request: { body: { required: true, content: { 'application/json': { schema: AddSuppression } } } },
  responses: {
    201: { description: 'Added', content: { 'application/json': { schema: Suppression } } },
    200: {
      description: 'Already suppressed (its first reason kept)',
      content: { 'application/json': { schema: Suppression } },
    },
    400: errorResponse('Invalid input; `field` names it'),
    401: errorResponse('Missing or invalid API key'),
    413: errorResponse('Too large'),
    503: unavailableResponse(),
  },
});

const remove = scopedRoute('manage', {
  method: 'delete',
  path: '/{email}',
  summary: 'Mail an address again',
  request: { params: EmailParam },
  responses: {
    204: { description: 'Removed' },
    401: errorResponse('Missing or invalid API key'),
    404: errorResponse('Not suppressed'),
    503: unavailableResponse(),
  },
});

/** GET/POST /v1/suppressions, DELETE /v1/suppressions/{email}: the API key's own list. */
export function suppressionRoutes(deps: SuppressionRoutesDeps) {
  const row = (s: Awaited<ReturnType<typeof listSuppressions>>[number]) => ({
    email: s.email,
    reason: s.reason,
    source: s.source,
    created_at: s.createdAt.toISOString(),
  });
  const find = async (tenantId: string, email: string) => {
    const rows = await listSuppressions(deps.db, tenantId, { limit: 1, email });
    return rows[0];
  };

  return router<AuthEnv>()
    .openapi(list, async (c) => {
      const q = c.req.valid('query');
      const rows = await listSuppressions(deps.db, c.get('tenantId'), {
        reason: q.reason,
        after: q.cursor ? decodeCursor(q.cursor) : undefined,
        limit: q.limit,
      });
      const last = rows[rows.length - 1];
      return c.json(
        { data: rows.map(row), next_cursor: rows.length === q.limit && last ? encodeCursor(last) : null },
        200,
      );
    })
    .openapi(add, async (c) => {
      const { email, reason } = c.req.valid('json');
      const tenantId = c.get('tenantId');
      const added = await addSuppressions(deps.db, [{ tenantId, email, reason, source: 'api' }]);
      const stored = await find(tenantId, email);
      if (!stored) throw new ApiError('not_found', `${email} was removed meanwhile`, 'email');
      return c.json(row(stored), added.length > 0 ? 201 : 200);
    })
    .openapi(remove, async (c) => {
      const email = c.req.valid('param').email;
      if (!(await removeSuppression(deps.db, c.get('tenantId'), email)))
        throw new ApiError('not_found', `${email} is not suppressed`, 'email');
      return c.body(null, 204);
    });
}
