import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config/config.js';

export type TemporalConnectionConfig = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CA_FILE'
  | 'TEMPORAL_TLS_CERT_FILE'
  | 'TEMPORAL_TLS_KEY_FILE'
  | 'TEMPORAL_TLS_SERVER_NAME'
  | 'TEMPORAL_API_KEY'
>;

/**
 * How every Mailroom process reaches Temporal: the API's client, the workers' native connection
 * and dev mode take the same options, so a cluster behind TLS, mTLS or API keys is one setting.
 * The files are read once, at start: a rotated certificate needs a restart, like the SDK's own.
 */
export function temporalConnectionOptions(config: TemporalConnectionConfig): {
  address: string;
  tls?: TLSConfig | true;
  apiKey?: string;
} {
  const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
  const ca = read(config.TEMPORAL_TLS_CA_FILE);
  const crt = read(config.TEMPORAL_TLS_CERT_FILE);
  const key = read(config.TEMPORAL_TLS_KEY_FILE);
  const tls: TLSConfig = {
    ...(config.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
  };
  // An API key is a bearer secret: never sent without TLS.
  const useTls = config.TEMPORAL_TLS || config.TEMPORAL_API_KEY !== undefined || Object.keys(tls).length > 0;
  return {
    address: config.TEMPORAL_ADDRESS,
    ...(useTls ? { tls: Object.keys(tls).length > 0 ? tls : true } : {}),
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
  };
}
