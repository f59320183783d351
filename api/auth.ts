import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { ApiError } from './errors.js';

const digest = (key: string) => createHash('sha256').update(key).digest();

/** A stable, non-secret id for a key: what the database stores instead of the key. */
export const apiKeyId = (key: string) => `key_${digest(key).toString('hex').slice(0, 16)}`;

/**
 * The tenant of an SES access key (`SES_ACCESS_KEYS`): its id is not secret, so it names the
 * tenant as it is, and the same key keeps its sends across restarts.
 */
export const sesTenantId = (accessKeyId: string) => `ses_${accessKeyId}`;

export type AuthEnv = { Variables: { apiKeyId: string } };

/**
 * Checks an `Authorization: Bearer <key>` header against the configured keys, in constant time:
 * the key's id, or why not.
 */
export function keyChecker(keys: string[]) {
  const known = keys.map((k) => ({ digest: digest(k), id: apiKeyId(k) }));
  return (header: string | undefined): { id: string } | { error: string } => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return { error: 'missing bearer token' };
    const presented = digest(match[1]!);
    const found = known.find((k) => timingSafeEqual(k.digest, presented));
    return found ? { id: found.id } : { error: 'invalid API key' };
  };
}

/** Every request needs a configured API key. */
export function bearerAuth(keys: string[]) {
  const check = keyChecker(keys);
  return createMiddleware<AuthEnv>(async (c, next) => {
    const key = check(c.req.header('authorization'));
    if ('error' in key) throw new ApiError('unauthorized', key.error, 'Authorization');
    c.set('apiKeyId', key.id);
    await next();
  });
}
