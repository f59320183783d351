import { describe, expect, it } from 'vitest';
import { envKeyId } from '../../api/auth.js';
import { sessionSigner } from '../../api/console/session.js';

const signer = sessionSigner(['key-one', 'key-two']);
const id = envKeyId('key-one');

describe('console sessions', () => {
  it('verifies its own cookie, which names the key id but never holds the key', () => {
    const { cookie, session } = signer.issue(id, 3600);
    expect(cookie).not.toContain('key-one');
    expect(signer.verify(cookie)).toEqual(session);
  });

  it('refuses a tampered, expired, foreign or removed-key cookie', () => {
    const { cookie } = signer.issue(id, 3600);
    const parts = cookie.split('.');
    expect(signer.verify([...parts.slice(0, 2), String(Number(parts[2]) + 1), ...parts.slice(3)].join('.'))).toBe(
      undefined,
    );
    expect(signer.verify([parts[0], envKeyId('key-two'), ...parts.slice(2)].join('.'))).toBe(undefined);
    expect(signer.verify(cookie, Date.now() + 3601_000)).toBe(undefined);
    expect(sessionSigner(['key-two']).verify(cookie)).toBe(undefined);
    expect(signer.verify('garbage')).toBe(undefined);
    expect(signer.verify(undefined)).toBe(undefined);
  });

  it('signs managed keys with a secret derived from API_KEYS, never from anything stored', () => {
    const { cookie, session } = signer.issue('abcd1234', 3600);
    expect(signer.verify(cookie)).toEqual(session);
    // Another deployment's API_KEYS, or a key id of a shape no managed key has, is refused.
    expect(sessionSigner(['key-one']).verify(cookie)).toBe(undefined);
    expect(() => signer.issue('not-a-key-id', 3600)).toThrow();
    expect(() => sessionSigner([]).issue('abcd1234', 3600)).toThrow();
  });

  it("accepts only the session's own CSRF token", () => {
    const a = signer.issue(id, 3600).session;
    const b = signer.issue(id, 3600).session;
    expect(signer.csrfMatches(a, a.csrf)).toBe(true);
    expect(signer.csrfMatches(a, b.csrf)).toBe(false);
    expect(signer.csrfMatches(a, undefined)).toBe(false);
    expect(signer.csrfMatches(a, [a.csrf])).toBe(false);
  });
});
