import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { ApiError } from './errors.js';

const digest = (key: string) => createHash('sha256').update(key).digest();

/** A stable, non-secret id for a key: what the database stores instead of the key. */
export const apiKeyId = (key: string) => `key_${digest(key).toString('hex').slice(0, 16)}`;

export type AuthEnv = { Variables: { apiKeyId: string } };

/** `Authorization: Bearer <key>` against the configured keys, compared in constant time. */
export function bearerAuth(keys: string[]) {
  const known = keys.map((k) => ({ digest: digest(k), id: apiKeyId(k) }));
  return createMiddleware<AuthEnv>(async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError('unauthorized', 'missing bearer token', 'Authorization');
    const presented = digest(match[1]!);
    const found = known.find((k) => timingSafeEqual(k.digest, presented));
    if (!found) throw new ApiError('unauthorized', 'invalid API key', 'Authorization');
    c.set('apiKeyId', found.id);
    await next();
  });
}
