// What Temporal stores of a send (workflow inputs, activity inputs and results, signals, summaries,
// failure messages) is encrypted before it leaves the client or the worker: the Temporal server,
// its database and its backups see key ids and ciphertext, never subjects, bodies or addresses.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

// A CommonJS module: Node's ESM loader offers its default export only.
const { temporal } = proto;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export interface PayloadKey {
  id: string;
  /** 32 bytes: AES-256. */
  key: Buffer;
}

/**
 * AES-256-GCM over the whole payload (its metadata included, so the encoding of the value is
 * secret too), with a fresh 12-byte IV each time and the key id as authenticated data: a
 * ciphertext moved under another key id fails to decrypt. Encrypts with the first key; decrypts
 * with whichever key the payload names, so keys can be rotated by putting a new one first.
 * Payloads that are not encrypted (histories from before encryption) pass through as they are.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly current: PayloadKey;

  constructor(keys: PayloadKey[]) {
    if (keys.length === 0) throw new ValueError('EncryptionCodec needs at least one key');
    for (const k of keys)
      if (k.key.length !== 32) throw new ValueError(`payload key ${k.id} must be 32 bytes, not ${k.key.length}`);
    this.current = keys[0]!;
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      cipher.setAAD(utf8.encode(this.current.id));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8.encode(this.current.id),
        },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
      if (!keyId) throw new ValueError('encrypted payload without an encryption key id');
      const key = this.keys.get(keyId);
      if (!key) throw new ValueError(`encrypted payload under unknown key id ${keyId} (not in PAYLOAD_KEYS)`);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(utf8.encode(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        // Node's message ("Unsupported state or unable to authenticate data") says nothing useful.
        throw new ValueError(`encrypted payload failed authentication under key id ${keyId}`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
