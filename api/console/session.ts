// Console sessions without a session store: the cookie names the key's id, an expiry and a nonce,
// MACed with a secret derived from the API key itself. The key never leaves the server, any API
// replica can check the cookie, and taking a key out of API_KEYS ends its sessions at once.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { apiKeyId } from '../auth.js';

export const SESSION_COOKIE = 'mailroom_console';

export interface Session {
  apiKeyId: string;
  /** Per-session token every console form posts back (CSRF). */
  csrf: string;
  expiresAt: Date;
}

const mac = (secret: Buffer, data: string) => createHmac('sha256', secret).update(data).digest('base64url');

function same(a: string, b: string) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function sessionSigner(keys: string[]) {
  // A purpose-bound secret per key, so a console MAC can never be mistaken for anything else.
  const secrets = new Map(
    keys.map((k) => [apiKeyId(k), createHmac('sha256', k).update('mailroom console session v1').digest()]),
  );
  const session = (id: string, secret: Buffer, expires: number, nonce: string): Session => ({
    apiKeyId: id,
    csrf: mac(secret, `csrf.${nonce}`),
    expiresAt: new Date(expires * 1000),
  });

  return {
    /** A new session for a key already checked: the cookie value and what it stands for. */
    issue(keyId: string, ttlSeconds: number, now = Date.now()): { cookie: string; session: Session } {
      const secret = secrets.get(keyId);
      if (!secret) throw new Error('no such key');
      const expires = Math.floor(now / 1000) + ttlSeconds;
      const nonce = randomBytes(16).toString('base64url');
      const payload = `v1.${keyId}.${expires}.${nonce}`;
      return { cookie: `${payload}.${mac(secret, payload)}`, session: session(keyId, secret, expires, nonce) };
    },
    /** The session a cookie stands for, or undefined: forged, expired, or of a key no longer configured. */
    verify(cookie: string | undefined, now = Date.now()): Session | undefined {
      const parts = cookie?.split('.') ?? [];
      if (parts.length !== 5 || parts[0] !== 'v1') return undefined;
      const [, keyId, exp, nonce, tag] = parts as [string, string, string, string, string];
      const secret = secrets.get(keyId);
      const expires = Number(exp);
      if (!secret || !Number.isSafeInteger(expires) || expires * 1000 <= now) return undefined;
      if (!same(tag, mac(secret, `v1.${keyId}.${exp}.${nonce}`))) return undefined;
      return session(keyId, secret, expires, nonce);
    },
    /** Whether a posted CSRF token is this session's. */
    csrfMatches: (s: Session, token: unknown) => typeof token === 'string' && same(token, s.csrf),
  };
}
