import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.js';
import { EncryptionCodec } from '../../temporal/encryption-codec.js';
import { payloadCodec, payloadKeys } from '../../temporal/data-converter.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const secret = { subject: 'Quarterly numbers', bcc: ['hidden@example.com'] };
const plain = () => defaultPayloadConverter.toPayload(secret);
const text = (p: Payload) => Buffer.from(p.data ?? []).toString('latin1');
const meta = (p: Payload, k: string) => Buffer.from(p.metadata?.[k] ?? []).toString();

describe('the payload encryption codec', () => {
  it('round-trips a payload, and what it stores shows neither the value nor its encoding', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const [encoded] = await codec.encode([plain()]);
    expect(meta(encoded!, 'encoding')).toBe('binary/encrypted');
    expect(meta(encoded!, 'encryption-key-id')).toBe('k1');
    expect(text(encoded!)).not.toContain('Quarterly');
    expect(text(encoded!)).not.toContain('hidden@example.com');
    expect(text(encoded!)).not.toContain('json/plain');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(secret);
  });

  it('uses a fresh IV each time: the same value never encrypts to the same bytes', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('decrypts with an older key after rotation, and encrypts with the new one', async () => {
    const old = key('old');
    const [before] = await new EncryptionCodec([old]).encode([plain()]);
    const rotated = new EncryptionCodec([key('new'), old]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([before!]))[0]!)).toEqual(secret);
    const [after] = await rotated.encode([plain()]);
    expect(meta(after!, 'encryption-key-id')).toBe('new');
    await expect(new EncryptionCodec([old]).decode([after!])).rejects.toThrow(/unknown key id new/);
  });

  it('refuses a tampered ciphertext, and one relabelled with another key id', async () => {
    const k1 = key('k1');
    const k2 = { id: 'k2', key: k1.key };
    const codec = new EncryptionCodec([k1, k2]);
    const [encoded] = await codec.encode([plain()]);
    const flipped = Buffer.from(encoded!.data!);
    flipped[20]! ^= 1;
    await expect(codec.decode([{ ...encoded!, data: flipped }])).rejects.toThrow(/failed authentication/);
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, 'encryption-key-id': Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication under key id k2/);
  });

  it('passes payloads that are not encrypted through: histories recorded before encryption', async () => {
    const codec = new EncryptionCodec([key('k1')]);
    const before = plain();
    expect(await codec.decode([before])).toEqual([before]);
  });
});

describe('PAYLOAD_KEYS', () => {
  const valid = `a:${randomBytes(32).toString('base64')},b:${randomBytes(32).toString('base64')}`;

  it('takes id:base64 entries, the first encrypting', () => {
    const keys = payloadKeys(loadConfig({ PAYLOAD_KEYS: valid }));
    expect(keys.map((k) => [k.id, k.key.length])).toEqual([
      ['a', 32],
      ['b', 32],
    ]);
  });

  it('refuses a key that is not 32 bytes, a repeated id and plaintext beside keys, without echoing the key', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => loadConfig({ PAYLOAD_KEYS: `a:${short}` })).toThrow(/PAYLOAD_KEYS.*32 bytes/);
    expect(() => loadConfig({ PAYLOAD_KEYS: `a:${short}` })).not.toThrow(short);
    expect(() => loadConfig({ PAYLOAD_KEYS: `${valid},a:${randomBytes(32).toString('base64')}` })).toThrow(
      /PAYLOAD_KEYS: each key id may appear once/,
    );
    expect(() => loadConfig({ PAYLOAD_KEYS: valid, PAYLOAD_PLAINTEXT: 'true' })).toThrow(/PAYLOAD_PLAINTEXT/);
  });

  it('is required unless plaintext is chosen explicitly', () => {
    expect(() => payloadCodec(loadConfig({}))).toThrow(/PAYLOAD_KEYS is required/);
    expect(payloadCodec(loadConfig({ PAYLOAD_PLAINTEXT: 'true' }))).toBeUndefined();
  });
});
