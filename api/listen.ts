import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import { deliveryPolicy, limits, type Config } from '../config/config.js';
import type { createLogger } from '../config/logger.js';
import type { Db } from '../db/create-db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createApp } from './app.js';

export interface ApiRuntime {
  config: Config;
  db: Db;
  temporal: Client;
  objects: ObjectStore;
  apiKeys: string[];
  logger: ReturnType<typeof createLogger>;
}

/** Builds the app from its runtime parts and listens; the dev launcher calls this too. */
export function listen(rt: ApiRuntime): Promise<ServerType> {
  const app = createApp({
    db: rt.db,
    temporal: rt.temporal,
    objects: rt.objects,
    taskQueue: rt.config.TEMPORAL_TASK_QUEUE,
    policy: deliveryPolicy(rt.config),
    limits: limits(rt.config),
    apiKeys: rt.apiKeys,
    logger: rt.logger,
  });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: rt.config.PORT, hostname: '0.0.0.0' }, () => resolve(server));
  });
}
