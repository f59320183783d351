// Production entry of the worker: polls the task queue, runs workflows and their activities.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { freePort } from '../local/free-port.js';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { createDb } from '../db/create-db.js';
import { activityDepsFromConfig } from './clients.js';
import { createWorkers } from './create-worker.js';
import { serveWorkerMetrics } from './metrics-server.js';
import { temporalClient } from '../temporal/client.js';
import { temporalConnectionOptions } from '../temporal/connection.js';
import { startTracing } from '../telemetry/tracing.js';
import { temporalLogger } from './temporal-logger.js';
import { ensureRepairScheduleEventually, repairScheduleSettings } from './repair-schedule.js';

const config = loadConfig();
const logger = createLogger(config);
const tracing = startTracing(config, 'mailroom-worker');
if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required (for a local setup use `npm run dev`)');
// The SDK's log goes through pino like ours; its metrics to a loopback port the metrics server
// appends to each scrape.
const temporalMetrics = `127.0.0.1:${await freePort()}`;
Runtime.install({
  logger: temporalLogger(logger, config.LOG_LEVEL),
  telemetryOptions: {
    metrics: { prometheus: { bindAddress: temporalMetrics, countersTotalSuffix: true, useSecondsForDurations: true } },
  },
});
const dbHandle = await createDb({ url: config.DATABASE_URL });
const metrics = await serveWorkerMetrics({
  port: config.WORKER_METRICS_PORT,
  temporalMetricsUrl: `http://${temporalMetrics}/metrics`,
  logger,
});
const connection = await NativeConnection.connect(temporalConnectionOptions(config));
const deps = await activityDepsFromConfig(config, dbHandle.db);
// The pre-built bundle: WORKFLOW_BUNDLE_PATH, else (compiled, `node dist/worker/main.js`) the one
// `npm run build` wrote next to it; under tsx without the variable the worker bundles at start.
const builtBundle = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
const bundlePath =
  config.WORKFLOW_BUNDLE_PATH ?? (import.meta.url.endsWith('.js') && existsSync(builtBundle) ? builtBundle : undefined);
const worker = await createWorkers({
  connection,
  config,
  deps,
  tracing,
  ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
});
void ensureRepairScheduleEventually(
  temporalClient(connection, config, tracing),
  repairScheduleSettings(config),
  logger,
);
logger.info(
  {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    bulkTaskQueue: config.BULK_TASK_QUEUE,
    sesMaxSendRate: deps.sesMaxSendRate,
    workflowBundle: bundlePath ?? 'bundled at start',
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    metricsPort: metrics?.port ?? null,
    tracing: tracing !== undefined,
  },
  'worker running',
);
// The worker SDK drains in-flight tasks on SIGINT/SIGTERM by itself before run() resolves.
await worker.run();
// QUIT on the idle pooled SMTP connections: left open, they would hold the process until they time out.
deps.smtp.close();
await connection.close();
await dbHandle.close();
await metrics?.close();
// The spans of the last tasks are still batched: export them before the process ends.
await tracing?.shutdown();
logger.info('worker stopped');
