import type { LookupAddress } from 'node:dns';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { classify } from '../../webhooks/post.js';
import {
  isNonPublicAddress,
  NonPublicTargetError,
  publicOnlyLookup,
  webhookUrlProblem,
} from '../../webhooks/target.js';

describe('webhook targets', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    '::ffff:10.0.0.1',
    '::ffff:7f00:1',
  ])('counts %s as non-public', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '172.32.0.1'])('counts %s as public', (address) => {
    expect(isNonPublicAddress(address)).toBe(false);
  });

  it('accepts a public http(s) URL and refuses what is not one', () => {
    expect(webhookUrlProblem('https://hooks.example.com/in?token=x', false)).toBeUndefined();
    expect(webhookUrlProblem('http://hooks.example.com:8080/in', false)).toBeUndefined();
    expect(webhookUrlProblem('hooks.example.com/in', false)).toMatch(/absolute/);
    expect(webhookUrlProblem('file:///etc/passwd', true)).toMatch(/http\(s\)/);
    expect(webhookUrlProblem('https://a:b@hooks.example.com/', true)).toMatch(/credentials/);
    expect(webhookUrlProblem(`https://hooks.example.com/${'x'.repeat(2100)}`, true)).toMatch(/at most 2048/);
    expect(webhookUrlProblem('http://0x7f.1/', false)).toMatch(/loopback/);
    expect(webhookUrlProblem('http://localhost./', false)).toMatch(/loopback/);
    expect(webhookUrlProblem('http://127.0.0.1:3000/', true)).toBeUndefined();
  });

  it('refuses to connect when a name resolves to a non-public address', async () => {
    const lookup = (all: boolean) =>
      new Promise<{ err: Error | null; address: string | LookupAddress[] }>((resolve) =>
        publicOnlyLookup('localhost', { all }, (err, address) => resolve({ err, address })),
      );
    for (const all of [true, false]) {
      const { err } = await lookup(all);
      expect(err).toBeInstanceOf(NonPublicTargetError);
    }
  });
});

describe('webhook answers', () => {
  const answer = (statusCode: number, headers: Record<string, string> = {}) =>
    classify({ statusCode, headers } as unknown as IncomingMessage);

  it('delivers on 2xx, retries 5xx, 408, 425 and 429, and stops at other 4xx and redirects', () => {
    expect(answer(200).kind).toBe('delivered');
    expect(answer(204).kind).toBe('delivered');
    for (const s of [500, 502, 503, 504, 408, 425, 429]) expect(answer(s).kind, String(s)).toBe('retry');
    for (const s of [400, 401, 403, 404, 413, 422, 301, 302, 307]) expect(answer(s).kind, String(s)).toBe('rejected');
    expect(answer(410)).toMatchObject({ kind: 'rejected', gone: true });
  });

  it("waits for the receiver's Retry-After when it gives one", () => {
    expect(answer(429, { 'retry-after': '7' })).toMatchObject({ kind: 'retry', retryAfterMs: 7000 });
    expect(answer(503, { 'retry-after': 'soon' })).not.toHaveProperty('retryAfterMs');
  });
});
