import { Client, type ClientOptions } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { Config } from '../config/config.js';
import type { Tracing } from '../telemetry/tracing.js';
import { temporalDataConverter, type PayloadEncryptionConfig } from './data-converter.js';

/**
 * Every Temporal client Mailroom builds: the configured namespace and the encrypting data converter;
 * with tracing on, each workflow start (and signal, query…) is a span whose context travels to the
 * workflow in its headers.
 */
export function temporalClient(
  connection: ClientOptions['connection'],
  config: Pick<Config, 'TEMPORAL_NAMESPACE'> & PayloadEncryptionConfig,
  tracing?: Tracing,
): Client {
  return new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: temporalDataConverter(config),
    ...(tracing ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}),
  });
}
