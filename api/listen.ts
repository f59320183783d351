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
import { createApp, type AppDeps } from './app.js';

export interface ApiRuntime {
  config: Config;
  db: Db;
  temporal: Client;
  objects: ObjectStore;
  logger: AppDeps['logger'];
}

/** The app's settings from config, around the clients the caller built (server, dev launcher, tests). */
export function appDeps(rt: ApiRuntime): AppDeps {
  const { config } = rt;
  return {
    db: rt.db,
    temporal: rt.temporal,
    objects: rt.objects,
    logger: rt.logger,
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

/** Builds the app and listens on PORT. */
export function listen(rt: ApiRuntime): Promise<ServerType> {
  const app = createApp(appDeps(rt));
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: rt.config.PORT, hostname: '0.0.0.0' }, () => resolve(server));
  });
}
