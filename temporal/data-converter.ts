// The one data converter of every Temporal client and worker Mailroom builds (API, worker, dev
// mode, tests, benchmarks), and of the workflow bundle: payloads encrypted with PAYLOAD_KEYS,
// failure messages encoded with them.
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { ConfigError, type Config } from '../config/config.js';
import { EncryptionCodec, type PayloadKey } from './encryption-codec.js';

/** For the workflow bundle and every worker and client: failures carry their text encoded (see the file). */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

export type PayloadEncryptionConfig = Pick<Config, 'PAYLOAD_KEYS' | 'PAYLOAD_PLAINTEXT'>;

/** PAYLOAD_KEYS as keys, the encrypting one first. */
export const payloadKeys = (config: Pick<Config, 'PAYLOAD_KEYS'>): PayloadKey[] =>
  config.PAYLOAD_KEYS.map((entry) => {
    const colon = entry.indexOf(':');
    return { id: entry.slice(0, colon), key: Buffer.from(entry.slice(colon + 1), 'base64') };
  });

/** The codec of PAYLOAD_KEYS; undefined only when PAYLOAD_PLAINTEXT chose plaintext. */
export function payloadCodec(config: PayloadEncryptionConfig): EncryptionCodec | undefined {
  if (config.PAYLOAD_KEYS.length > 0) return new EncryptionCodec(payloadKeys(config));
  if (config.PAYLOAD_PLAINTEXT) return undefined;
  throw new ConfigError(
    'PAYLOAD_KEYS is required: `id:base64-of-32-bytes` (openssl rand -base64 32), the key that encrypts what ' +
      'Temporal stores of each send; or set PAYLOAD_PLAINTEXT=true to store it in plaintext',
  );
}

/** `dataConverter` of every `new Client(...)`, `Worker.create(...)` and replay. */
export function temporalDataConverter(config: PayloadEncryptionConfig): DataConverter {
  const codec = payloadCodec(config);
  return { failureConverterPath, ...(codec ? { payloadCodecs: [codec] } : {}) };
}
