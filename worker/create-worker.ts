import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import {
  NativeConnection,
  Worker,
  bundleWorkflowCode,
  type WorkflowBundle,
  type InjectedSinks,
  type WorkerInterceptors,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { Config } from '../config/config.js';
import { startSettings, type StartConfig } from '../sends/start-workflows.js';
import type { Tracing } from '../telemetry/tracing.js';
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
  /** On: activities run in spans continuing their workflow's trace, and workflow spans are exported. */
  tracing?: Tracing;
}

/**
 * The OpenTelemetry workflow interceptors, in every bundle whether or not this process traces: the
 * bundle is built once (`npm run build`) and tracing is switched by the environment at run time.
 * Without a trace context in a workflow's headers they only make spans that the worker drops.
 */
const workflowInterceptorModules = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

export function bundleWorkflows(): Promise<WorkflowBundle> {
  // The workflow side of failure conversion runs inside the bundle: it encodes failure text too.
  return bundleWorkflowCode({
    workflowsPath,
    failureConverterPath,
    workflowInterceptorModules,
    logger: quietBundlerLogger,
  });
}

/** Where the bundled workflow interceptors send the spans they end: the exporter, or nowhere when tracing is off. */
export function workflowSpanSinks(
  tracing: Tracing | undefined,
): InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> {
  if (!tracing) return { exporter: { export: { fn: () => {} } } };
  const sink = makeWorkflowExporter(tracing.spanProcessor, tracing.resource);
  return {
    exporter: {
      export: {
        // The SDK's sink copies the whole WorkflowInfo onto each span: search attributes (the
        // recipients), memo, last result and failure. Only the ids and names leave the worker.
        fn: (info, spans) => sink.export.fn(boundedInfo(info), spans),
      },
    },
  };
}

function boundedInfo(info: WorkflowInfo): WorkflowInfo {
  const { workflowId, runId, workflowType, taskQueue, namespace, attempt } = info;
  return { workflowId, runId, workflowType, taskQueue, namespace, attempt } as WorkflowInfo;
}

function tracingInterceptors(tracing: Tracing | undefined): WorkerInterceptors {
  if (!tracing) return {};
  return {
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
  };
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
  const temporal = temporalClient(o.connection, o.config, o.tracing);
  const sinks = workflowSpanSinks(o.tracing);
  const interceptors = tracingInterceptors(o.tracing);
  const activities = createActivities({ ...o.deps, temporal, starts: startSettings(o.config) });
  const main = await Worker.create({
    connection: o.connection,
    namespace: o.config.TEMPORAL_NAMESPACE,
    taskQueue: o.config.TEMPORAL_TASK_QUEUE,
    dataConverter,
    activities,
    sinks,
    // A pre-built bundle has the workflow interceptors in it already; bundling at start adds them.
    ...(o.workflowBundle
      ? { workflowBundle: o.workflowBundle, interceptors }
      : { workflowsPath, interceptors: { ...interceptors, workflowModules: workflowInterceptorModules } }),
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
    interceptors,
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
