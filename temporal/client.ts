import { Client, type ClientOptions } from '@temporalio/client';
import type { Config } from '../config/config.js';
import { temporalDataConverter, type PayloadEncryptionConfig } from './data-converter.js';

/** Every Temporal client Mailroom builds: the configured namespace and the encrypting data converter. */
export function temporalClient(
  connection: ClientOptions['connection'],
  config: Pick<Config, 'TEMPORAL_NAMESPACE'> & PayloadEncryptionConfig,
): Client {
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: temporalDataConverter(config) });
}
