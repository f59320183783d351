import { describe, expect, it } from 'vitest';
import { assertScope, assertSenderAllowed, normalizeDomain, type Principal } from '../../api/principal.js';

const key = (o: Partial<Principal> = {}): Principal => ({
  tenantId: 't',
  keyId: 'abcd1234',
  scopes: ['send'],
  fromDomains: [],
  rateLimitPerMinute: null,
  ...o,
});

const refusal = (f: () => void) => {
  try {
    f();
  } catch (err) {
    return { message: (err as Error).message, field: (err as { field?: string }).field };
  }
  return undefined;
};

describe('sender domains', () => {
  it('stores domains as parsed From addresses carry them: lowercase ASCII', () => {
    expect(normalizeDomain(' Acme.TEST ')).toBe('acme.test');
    expect(normalizeDomain('bücher.example')).toBe('xn--bcher-kva.example');
    expect(normalizeDomain('not a domain')).toBeUndefined();
    expect(normalizeDomain('x@acme.test')).toBeUndefined();
    expect(normalizeDomain('a'.repeat(300) + '.test')).toBeUndefined();
  });

  it('lets any From through a key without domains, and only its own domains through one with them', () => {
    expect(refusal(() => assertSenderAllowed(key(), 'anyone@anywhere.test'))).toBeUndefined();
    const bound = key({ fromDomains: ['acme.test', 'xn--bcher-kva.example'] });
    expect(refusal(() => assertSenderAllowed(bound, '"Acme, Inc." <News@ACME.test>'))).toBeUndefined();
    expect(refusal(() => assertSenderAllowed(bound, 'shop@bücher.example'))).toBeUndefined();
    for (const from of ['news@sub.acme.test', 'news@acme.test.evil.test', 'Acme <news@evil.test>', 'not an address'])
      expect(
        refusal(() => assertSenderAllowed(bound, from)),
        from,
      ).toMatchObject({ field: 'from' });
    expect(refusal(() => assertSenderAllowed(bound, 'x@evil.test', 'FromEmailAddress'))).toMatchObject({
      field: 'FromEmailAddress',
      message: 'this key may not send from evil.test; its domains: acme.test, xn--bcher-kva.example',
    });
  });
});

describe('scopes', () => {
  it('names the missing scope', () => {
    expect(refusal(() => assertScope(key(), 'send'))).toBeUndefined();
    expect(refusal(() => assertScope(key(), 'manage'))).toEqual({
      message: 'this key lacks the manage scope',
      field: 'Authorization',
    });
  });
});
