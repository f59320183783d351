import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { and, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Db } from '../db/create-db.js';
import { apiKeys } from '../db/schema.js';
import { ApiError } from './errors.js';
import { assertScope, DEFAULT_TENANT, scopes, type Principal, type Scope } from './principal.js';
import { countRequest } from './rate-limit.js';
import { errorResponse } from './router.js';

const digest = (key: string) => createHash('sha256').update(key).digest();

/** A stable, non-secret id for a key of API_KEYS (what rate limits and logs name it by). */
export const envKeyId = (key: string) => `key_${digest(key).toString('hex').slice(0, 16)}`;

/**
 * The tenant of an SES access key (`SES_ACCESS_KEYS`): its id is not secret, so it names the
 * tenant as it is, and the same key keeps its sends across restarts.
 */
export const sesTenantId = (accessKeyId: string) => `ses_${accessKeyId}`;

/** An SES access key acts as a sending key of its own tenant: any From, no rate limit of ours. */
export const sesPrincipal = (accessKeyId: string): Principal => ({
  tenantId: sesTenantId(accessKeyId),
  keyId: `ses:${accessKeyId}`,
  scopes: ['send'],
  fromDomains: [],
  rateLimitPerMinute: null,
});

export type AuthEnv = {
  Variables: {
    principal: Principal;
    tenantId: string;
    keyId: string;
    /** The send a request created (messageId or bulkId, and its workflowId): its request line carries them. */
    sendIds?: Record<string, string>;
  };
};

const bearer = (header: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];

/**
 * Checks an `Authorization: Bearer <key>` header against the keys of API_KEYS, in constant time:
 * the key's id, or why not. No database: `/ready` uses it while the database is down.
 */
export function keyChecker(keys: string[]) {
  const known = keys.map((k) => ({ digest: digest(k), id: envKeyId(k) }));
  return (header: string | undefined): { id: string } | { error: string } => {
    const key = bearer(header);
    if (key === undefined) return { error: 'missing bearer token' };
    const presented = digest(key);
    const found = known.find((k) => timingSafeEqual(k.digest, presented));
    return found ? { id: found.id } : { error: 'invalid API key' };
  };
}

// Managed keys: `mr_<id>_<secret>`, the id a row's primary key, the secret 256 random bits.
const managedKey = /^mr_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
const idAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const managedKeyIdPattern = /^[a-z0-9]{8}$/;

/** A new managed key: shown once to its creator; only `secretHash` is stored. */
export function newManagedKey() {
  const id = Array.from({ length: 8 }, () => idAlphabet[randomInt(idAlphabet.length)]).join('');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `mr_${id}_${secret}`, secretHash: digest(secret).toString('hex') };
}

const envPrincipal = (keyId: string): Principal => ({
  tenantId: DEFAULT_TENANT,
  keyId,
  scopes,
  fromDomains: [],
  rateLimitPerMinute: null,
});

const rowPrincipal = (row: typeof apiKeys.$inferSelect): Principal => ({
  tenantId: row.tenantId,
  keyId: row.id,
  scopes: row.scopes,
  fromDomains: row.fromDomains,
  rateLimitPerMinute: row.rateLimitPerMinute,
});

export type KeyStore = ReturnType<typeof keyStore>;

/**
 * Resolves keys to principals: API_KEYS from memory (admins of the default tenant), managed keys
 * by one primary-key lookup per request, never cached, so a revoked key fails on its very next
 * request on every replica.
 */
export function keyStore(db: Db, envKeys: string[]) {
  const checkEnv = keyChecker(envKeys);
  const envIds = new Set(envKeys.map(envKeyId));
  const activeRow = async (id: string) =>
    (
      await db
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    )[0];

  return {
    async authenticate(header: string | undefined): Promise<Principal | { error: string }> {
      const env = checkEnv(header);
      if (!('error' in env)) return envPrincipal(env.id);
      const parts = managedKey.exec(bearer(header) ?? '');
      if (!parts) return env;
      const row = await activeRow(parts[1]!);
      const presented = digest(parts[2]!);
      // Compared in constant time even when there is no such key.
      const stored = row ? Buffer.from(row.secretHash, 'hex') : Buffer.alloc(presented.length);
      return row && timingSafeEqual(stored, presented) ? rowPrincipal(row) : { error: 'invalid API key' };
    },
    /** The principal of a key id a console session names, if that key is still valid. */
    async byKeyId(keyId: string): Promise<Principal | undefined> {
      if (envIds.has(keyId)) return envPrincipal(keyId);
      if (!managedKeyIdPattern.test(keyId)) return undefined;
      const row = await activeRow(keyId);
      return row && rowPrincipal(row);
    },
  };
}

/**
 * Counts a request of a key with a rate limit, setting its `RateLimit-*` headers; throws 429 (with
 * `Retry-After`) once it is over. Keys without a limit never reach the database here.
 */
export async function countAgainstLimit(c: Context, db: Db, principal: Principal): Promise<void> {
  if (principal.rateLimitPerMinute === null) return;
  const rate = await countRequest(db, principal.keyId, principal.rateLimitPerMinute);
  c.header('RateLimit-Limit', String(rate.limit));
  c.header('RateLimit-Remaining', String(rate.remaining));
  c.header('RateLimit-Reset', String(rate.resetSeconds));
  if (!rate.allowed) {
    c.header('Retry-After', String(rate.resetSeconds));
    throw new ApiError(
      'rate_limited',
      `this key allows ${rate.limit} requests a minute; retry in ${rate.resetSeconds} s`,
      'Authorization',
    );
  }
}

/**
 * Every request needs a valid key; a key with a rate limit has each request counted (429 with
 * `RateLimit-*` and `Retry-After` once over it). Both checks reach Postgres only for managed keys.
 */
export function bearerAuth(db: Db, keys: KeyStore) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const principal = await keys.authenticate(c.req.header('authorization'));
    if ('error' in principal) throw new ApiError('unauthorized', principal.error, 'Authorization');
    setPrincipal(c, principal);
    await countAgainstLimit(c, db, principal);
    await next();
  });
}

/** Who the request acts for, as every handler (and the request's log line) reads it. */
export function setPrincipal<E extends AuthEnv>(c: Context<E>, principal: Principal): void {
  c.set('principal', principal);
  c.set('tenantId', principal.tenantId);
  c.set('keyId', principal.keyId);
}

/** 403 unless the signed-in key has `scope`. */
export const requireScope = (scope: Scope) =>
  createMiddleware<AuthEnv>(async (c, next) => {
    assertScope(c.get('principal'), scope);
    await next();
  });

/**
 * `createRoute` for a route that needs `scope`: checked before anything else of the route runs,
 * and documented in the route's description, security requirement and 403 answer, so the two
 * cannot disagree.
 */
export const scopedRoute = <P extends string, R extends Omit<RouteConfig, 'path'> & { path: P }>(
  scope: Scope,
  route: R,
) => createRoute(scoped(scope, route));

function scoped<R extends RouteConfig>(scope: Scope, route: R): R {
  const own =
    route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware];
  return {
    ...route,
    description: [route.description, `Needs the \`${scope}\` scope.`].filter(Boolean).join(' '),
    security: [{ bearer: [scope] }],
    // Typed as the route's own middleware: the scope check sets nothing a handler reads.
    middleware: [requireScope(scope), ...own] as unknown as R['middleware'],
    responses: {
      401: errorResponse('Missing or invalid API key'),
      403: errorResponse(`The key lacks the \`${scope}\` scope (\`field: "Authorization"\`)`),
      429: rateLimitedResponse,
      ...route.responses,
    },
  };
}

const header = (description: string) => ({ schema: { type: 'string' as const }, description });

/** The 429 of a key over its rate limit. */
export const rateLimitedResponse = {
  ...errorResponse("Over the key's `rate_limit_per_minute`"),
  headers: {
    'RateLimit-Limit': header('Requests a minute the key allows'),
    'RateLimit-Remaining': header('Requests left in the current minute'),
    'RateLimit-Reset': header('Seconds until the count resets'),
    'Retry-After': header('Seconds to wait'),
  },
};
