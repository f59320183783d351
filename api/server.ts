// Production entry of the API: reads config, builds the real clients, listens on PORT.
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { createDb } from '../db/create-db.js';
import { temporalClient } from '../temporal/client.js';
import { temporalConnectionOptions } from '../temporal/connection.js';
import { startTracing } from '../telemetry/tracing.js';
import { objectStoreFromConfig } from '../worker/clients.js';
import { listen } from './listen.js';

const config = loadConfig();
const logger = createLogger(config);
const tracing = startTracing(config, 'mailroom-api');
if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required (for a local setup use `npm run dev`)');
if (config.API_KEYS.length === 0) throw new Error('API_KEYS is required: comma-separated bearer keys');
const dbHandle = await createDb({ url: config.DATABASE_URL });
// Lazy: the API starts (and answers 503 on sends, `/ready` says why) while Temporal is down.
const connection = Connection.lazy(temporalConnectionOptions(config));
const temporal = temporalClient(connection, config, tracing);
const api = await listen({
  config,
  db: dbHandle.db,
  temporal,
  objects: objectStoreFromConfig(config),
  logger,
  tracing,
});
logger.info({ port: config.PORT, smtpSubmissionPort: api.smtp?.port }, 'API listening');
const shutdown = () => {
  logger.info('shutting down');
  void Promise.all([new Promise((resolve) => api.http.close(resolve)), api.smtp?.close()])
    // The last requests' spans are still batched: export them before the process ends.
    .then(() => Promise.all([connection.close(), dbHandle.close(), tracing?.shutdown()]))
    .then(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
