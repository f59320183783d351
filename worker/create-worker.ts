import { fileURLToPath } from 'node:url';
import {
  NativeConnection,
  Worker,
  bundleWorkflowCode,
  type WorkflowBundle,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { Config } from '../config/config.js';
import { startSettings, type StartConfig } from '../sends/start-workflows.js';
import { temporalClient } from '../temporal/client.js';
import {
  failureConverterPath,
  temporalDataConverter,
  type PayloadEncryptionConfig,
} from '../temporal/data-converter.js';

// workflows/index.ts under tsx, workflows/index.js when this module runs compiled from dist/.
export const workflowsPath = fileURLToPath(
  new URL(`../workflows/index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

export interface WorkerOptions {
  connection: NativeConnection;
  /** The namespace, the main queue (workflows, single sends), the rate-limited bulk queue, and the
   * bulk batch size (with the SES quota it gives the bulk queue's activities per second), and what
   * the repair needs to start sends as the API does. */
  config: Pick<Config, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'BULK_TASK_QUEUE' | 'BULK_BATCH_SIZE'> &
    Partial<Pick<Config, 'WORKER_MAX_CACHED_WORKFLOWS'>> &
    PayloadEncryptionConfig &
    StartConfig;
  deps: ActivityDeps;
  /** A pre-built bundle (tests build one per run); otherwise the worker bundles at start. */
  workflowBundle?: WorkflowBundleOption;
}

export function bundleWorkflows(): Promise<WorkflowBundle> {
  // The workflow side of failure conversion runs inside the bundle: it encodes failure text too.
  return bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quietBundlerLogger });
}

const noop = () => {};
const quietBundlerLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: console.warn,
  error: console.error,
  log: noop,
};

export interface Workers {
  run(): Promise<void>;
  shutdown(): void;
}

/**
 * The real workers: production, dev mode and the integration tests all build them here. One polls
 * the main queue (workflows, single sends); one polls the bulk queue, so a password reset never
 * waits behind a newsletter.
 */
export async function createWorkers(o: WorkerOptions): Promise<Workers> {
  // The repair activity starts workflows through the worker's own connection.
  const dataConverter = temporalDataConverter(o.config);
  const temporal = temporalClient(o.connection, o.config);
  const activities = createActivities({ ...o.deps, temporal, starts: startSettings(o.config) });
  const main = await Worker.create({
    connection: o.connection,
    namespace: o.config.TEMPORAL_NAMESPACE,
    taskQueue: o.config.TEMPORAL_TASK_QUEUE,
    dataConverter,
    activities,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath }),
    // Open workflows kept in memory (the SDK's default grows with the heap limit: thousands). A
    // backlog of open single sends otherwise keeps every one cached; evicted ones replay on demand.
    ...(o.config.WORKER_MAX_CACHED_WORKFLOWS !== undefined
      ? { maxCachedWorkflows: o.config.WORKER_MAX_CACHED_WORKFLOWS }
      : {}),
  });
  const bulk = await Worker.create({
    connection: o.connection,
    namespace: o.config.TEMPORAL_NAMESPACE,
    taskQueue: o.config.BULK_TASK_QUEUE,
    dataConverter,
    activities: { sendBulkBatch: activities.sendBulkBatch },
    // Enforced by the Temporal server across every worker on this queue: a batch is
    // bulkBatchSize messages, so this caps the sum of all bulks at the SES quota.
    maxTaskQueueActivitiesPerSecond: o.deps.sesMaxSendRate / o.config.BULK_BATCH_SIZE,
    // Pause and cancel reach a batch through its heartbeats; keep that delay short.
    maxHeartbeatThrottleInterval: '500 ms',
  });
  return {
    run: async () => {
      await Promise.all([main.run(), bulk.run()]);
    },
    shutdown: () => {
      main.shutdown();
      bulk.shutdown();
    },
  };
}
