import { readFileSync } from 'node:fs';
import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import {
  breakerSettings,
  consoleSettings,
  limits,
  providerEndpoints,
  snsSettings,
  webhookSettings,
  type Config,
} from '../config/config.js';
import type { Db } from '../db/create-db.js';
import { createEventEmitter } from '../activities/webhooks.js';
import { startSettings } from '../sends/start-workflows.js';
import { payloadCodec } from '../temporal/data-converter.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Tracing } from '../telemetry/tracing.js';
import { createApp, type AppDeps } from './app.js';
import { startSmtpSubmission, type SmtpSubmission } from './smtp-submission.js';

export interface ApiRuntime {
  config: Config;
  db: Db;
  temporal: Client;
  objects: ObjectStore;
  logger: AppDeps['logger'];
  /** Set when this process exports traces (startTracing): each request is then a server span. */
  tracing?: Tracing;
}

/** The app's settings from config, around the clients the caller built (server, dev launcher, tests). */
export function appDeps(rt: ApiRuntime): AppDeps {
  const { config } = rt;
  return {
    db: rt.db,
    temporal: rt.temporal,
    objects: rt.objects,
    logger: rt.logger,
    traced: rt.tracing !== undefined,
    apiKeys: config.API_KEYS,
    providerEndpoints: providerEndpoints(config),
    ...startSettings(config),
    limits: limits(config),
    compatFromAddress: config.COMPAT_FROM_ADDRESS,
    sesAccessKeys: config.SES_ACCESS_KEYS,
    sesMaxSendRate: config.SES_MAX_SEND_RATE,
    bulkLimits: {
      ...limits(config),
      maxBulkRecipients: config.BULK_MAX_RECIPIENTS,
      maxBulkBodyBytes: config.BULK_MAX_BODY_BYTES,
    },
    webhooks: webhookSettings(config),
    emitEvent: createEventEmitter({
      db: rt.db,
      temporal: rt.temporal,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      webhooks: webhookSettings(config),
    }),
    sns: snsSettings(config),
    breaker: breakerSettings(config),
    console: consoleSettings(config),
    payloadCodec: payloadCodec(config),
  };
}

export interface Listening {
  http: ServerType;
  /** SMTP submission, when SMTP_SUBMISSION_PORT is set. */
  smtp?: SmtpSubmission;
}

/** Builds the app and listens on PORT, and for SMTP submission on SMTP_SUBMISSION_PORT when set. */
export async function listen(rt: ApiRuntime): Promise<Listening> {
  const deps = appDeps(rt);
  const { config } = rt;
  const smtp =
    config.SMTP_SUBMISSION_PORT === undefined
      ? undefined
      : await startSmtpSubmission(deps, {
          port: config.SMTP_SUBMISSION_PORT,
          // Both are set with the port (loadConfig refuses it otherwise).
          tls: {
            cert: readFileSync(config.SMTP_SUBMISSION_TLS_CERT_FILE!),
            key: readFileSync(config.SMTP_SUBMISSION_TLS_KEY_FILE!),
          },
        });
  const app = createApp(deps);
  const http = await new Promise<ServerType>((resolve) => {
    const server = serve({ fetch: app.fetch, port: config.PORT, hostname: '0.0.0.0' }, () => resolve(server));
  });
  return { http, smtp };
}
