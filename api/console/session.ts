// Console sessions without a session store: the cookie names the key's id, an expiry and a nonce,
// MACed with a secret bound to that key. Any API replica can check the cookie; the key's validity
// is looked up on every request too, so revoking a key (or taking it out of API_KEYS) ends its
// sessions at once.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { envKeyId, managedKeyIdPattern } from '../auth.js';

export const SESSION_COOKIE = 'mailroom_console';

export interface Session {
  keyId: string;
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

/**
 * `envKeys`: API_KEYS. An env key's sessions are MACed with a secret derived from the key itself.
 * Managed keys' secrets are not kept by the server, so theirs derive from all of API_KEYS (a
 * secret no database row holds): changing API_KEYS signs managed keys out of the console.
 */
export function sessionSigner(envKeys: string[]) {
  // Purpose-bound secrets, so a console MAC can never be mistaken for anything else.
  const secrets = new Map(
    envKeys.map((k) => [envKeyId(k), createHmac('sha256', k).update('mailroom console session v1').digest()]),
  );
  const managedRoot =
    envKeys.length === 0
      ? undefined
      : createHmac('sha256', [...envKeys].sort().join('\n'))
          .update('mailroom console session v2 managed keys')
          .digest();
  const secretOf = (keyId: string) =>
    secrets.get(keyId) ??
    (managedRoot && managedKeyIdPattern.test(keyId)
      ? createHmac('sha256', managedRoot).update(keyId).digest()
      : undefined);
  const session = (id: string, secret: Buffer, expires: number, nonce: string): Session => ({
    keyId: id,
    csrf: mac(secret, `csrf.${nonce}`),
    expiresAt: new Date(expires * 1000),
  });

  return {
    /** A new session for a key already checked: the cookie value and what it stands for. */
    issue(keyId: string, ttlSeconds: number, now = Date.now()): { cookie: string; session: Session } {
      const secret = secretOf(keyId);
      if (!secret) throw new Error('no such key');
      const expires = Math.floor(now / 1000) + ttlSeconds;
      const nonce = randomBytes(16).toString('base64url');
      const payload = `v1.${keyId}.${expires}.${nonce}`;
      return { cookie: `${payload}.${mac(secret, payload)}`, session: session(keyId, secret, expires, nonce) };
    },
    /** The session a cookie stands for, or undefined: forged, expired, or of a key it cannot be. */
    verify(cookie: string | undefined, now = Date.now()): Session | undefined {
      const parts = cookie?.split('.') ?? [];
      if (parts.length !== 5 || parts[0] !== 'v1') return undefined;
      const [, keyId, exp, nonce, tag] = parts as [string, string, string, string, string];
      const secret = secretOf(keyId);
      const expires = Number(exp);
      if (!secret || !Number.isSafeInteger(expires) || expires * 1000 <= now) return undefined;
      if (!same(tag, mac(secret, `v1.${keyId}.${exp}.${nonce}`))) return undefined;
      return session(keyId, secret, expires, nonce);
    },
    /** Whether a posted CSRF token is this session's. */
    csrfMatches: (s: Session, token: unknown) => typeof token === 'string' && same(token, s.csrf),
  };
}
