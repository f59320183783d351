import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { sigV4Verifier } from '../../api/sigv4.js';

const key = { accessKeyId: 'AKIAUNITTEST', secret: 'unit-test-secret-0123456789' };
const verify = sigV4Verifier([key], 'ses');
const now = Date.UTC(2026, 10, 5, 12, 0, 0);

/** A request signed as the AWS SDK signs it (with x-amz-content-sha256, which applyChecksum adds). */
async function signed(o: { body?: string; at?: number; service?: string; secret?: string; query?: string } = {}) {
  const body = o.body ?? '{"Content":{}}';
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: o.secret ?? key.secret },
    region: 'eu-west-1',
    service: o.service ?? 'ses',
    sha256: Hash.bind(null, 'sha256'),
  });
  const req = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: 'mailroom.test',
      port: 3000,
      path: '/v2/email/outbound-emails',
      query: o.query ? { q: o.query } : {},
      headers: { host: 'mailroom.test:3000', 'content-type': 'application/json', 'amz-sdk-invocation-id': 'abc' },
      body,
    }),
    { signingDate: new Date(o.at ?? now) },
  );
  const url = new URL(`http://mailroom.test:3000/v2/email/outbound-emails${o.query ? `?q=${o.query}` : ''}`);
  return { method: 'POST', url, headers: new Headers(req.headers as Record<string, string>), body: Buffer.from(body) };
}

const errorOf = async (r: Awaited<ReturnType<typeof signed>>) => {
  const result = await verify(r, now);
  return 'error' in result ? result.error : undefined;
};

describe('sigV4Verifier', () => {
  it('accepts a request signed with a configured key and reports the headers it signed', async () => {
    const result = await verify(await signed({ query: 'a b' }), now);
    expect(result).toEqual({ accessKeyId: key.accessKeyId, signedHeaders: expect.any(Set) });
    if ('signedHeaders' in result) expect([...result.signedHeaders]).toContain('amz-sdk-invocation-id');
  });

  it('refuses a body changed after signing even when the client-sent payload hash is left as signed', async () => {
    const r = await signed();
    expect(r.headers.get('x-amz-content-sha256')).toMatch(/^[0-9a-f]{64}$/);
    expect(await errorOf({ ...r, body: Buffer.from('{"Content":{"x":1}}') })).toMatchObject({
      type: 'InvalidSignatureException',
      message: expect.stringMatching(/^The request signature we calculated does not match/),
    });
  });

  it('refuses a wrong secret, an unknown key, another service and a changed signed header', async () => {
    expect((await errorOf(await signed({ secret: 'another-secret-0123456789' })))?.type).toBe(
      'InvalidSignatureException',
    );
    const unknown = await signed();
    unknown.headers.set('authorization', unknown.headers.get('authorization')!.replace('AKIAUNITTEST', 'AKIAOTHER'));
    expect((await errorOf(unknown))?.type).toBe('UnrecognizedClientException');
    expect((await errorOf(await signed({ service: 'sqs' })))?.message).toMatch(/scoped to correct service: 'ses'/);
    const changed = await signed();
    changed.headers.set('amz-sdk-invocation-id', 'other');
    expect((await errorOf(changed))?.type).toBe('InvalidSignatureException');
  });

  it('refuses a signature more than 5 minutes old or ahead, as AWS words it', async () => {
    expect((await errorOf(await signed({ at: now - 5 * 60_000 })))?.type).toBeUndefined();
    expect(await errorOf(await signed({ at: now - 6 * 60_000 }))).toEqual({
      type: 'InvalidSignatureException',
      message: 'Signature expired: 20261105T115400Z is now earlier than 20261105T115500Z (20261105T120000Z - 5 min.)',
    });
    expect((await errorOf(await signed({ at: now + 6 * 60_000 })))?.message).toMatch(/^Signature not yet current: /);
  });

  it('refuses a request without or with a malformed Authorization header', async () => {
    const r = await signed();
    r.headers.delete('authorization');
    expect((await errorOf(r))?.type).toBe('MissingAuthenticationTokenException');
    r.headers.set('authorization', 'AWS4-HMAC-SHA256 Credential=x');
    expect((await errorOf(r))?.type).toBe('IncompleteSignatureException');
  });
});
