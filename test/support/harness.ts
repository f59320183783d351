// One integration harness per test file: real local servers for S3, SES v2 and SMTP, the real
// worker (its own task queue on the shared Temporal dev server) and the real app.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Connection } from '@temporalio/client';
import { and, eq, or } from 'drizzle-orm';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import { createApp } from '../../api/app.js';
import { appDeps } from '../../api/listen.js';
import { loadConfig, providerEndpoints, type Config } from '../../config/config.js';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { providerHealth } from '../../db/schema.js';
import { localS3Credentials, startLocalS3 } from '../../local/s3-server.js';
import { LocalSns } from '../../local/local-sns.js';
import { SesStandIn } from '../../local/ses-stand-in.js';
import { SmtpSink } from '../../local/smtp-sink.js';
import { temporalClient } from '../../temporal/client.js';
import { temporalConnectionOptions } from '../../temporal/connection.js';
import { TEST_PAYLOAD_KEYS } from './payload-keys.js';
import { activityDepsFromConfig } from '../../worker/clients.js';
import { createWorkers } from '../../worker/create-worker.js';
import { emailWorkflowId, type SendEmailResult } from '../../workflows/contracts.js';

export const API_KEY = 'test-key-1';

/** What `POST /v1/api-keys` answers: the new key, shown once, and what it may do. */
export interface ManagedKey {
  id: string;
  key: string;
  tenant: string;
  scopes: string[];
  from_domains: string[];
  rate_limit_per_minute: number | null;
}

export interface HarnessOptions {
  /** Extra environment for loadConfig (limits, retry budgets…). */
  env?: Record<string, string>;
  /** A database other than the shared test Postgres (the PGlite test). */
  db?: DbHandle;
  /** false: no in-process worker (the test runs worker processes itself). */
  worker?: boolean;
  /**
   * SES events: a local SNS (CA, signing certificate, HTTPS) trusted by config, the app listening
   * on a real port, and the SES stand-in's mailbox simulator posting to its webhook.
   */
  sns?: boolean;
  /** The app listening on a real port too (`apiUrl`), for clients that speak HTTP themselves (the AWS SDK). */
  listen?: boolean;
  /** Puts a fault proxy between Mailroom and its dependencies (test/support/faults.ts): the endpoints to use instead. */
  proxy?: (upstreams: Endpoints) => Promise<Endpoints>;
}

export interface Endpoints {
  databaseUrl: string;
  s3Endpoint: string;
  sesEndpoint: string;
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

let runtimeInstalled = false;

export async function startHarness(opts: HarnessOptions = {}) {
  if (!runtimeInstalled) {
    // Expected activity failures (throttling, outages) are logged as warnings and drown test output.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-harness-'));
  const bucket = 'mailroom-test';
  const [s3, ses, smtp] = await Promise.all([
    startLocalS3({ directory: dir, bucket }),
    SesStandIn.start(),
    SmtpSink.start(),
  ]);
  const sns = opts.sns ? await LocalSns.start({ dir: join(dir, 'sns') }) : undefined;
  const upstreams = { databaseUrl: inject('databaseUrl'), s3Endpoint: s3.endpoint, sesEndpoint: ses.endpoint };
  const endpoints = opts.proxy ? await opts.proxy(upstreams) : upstreams;
  const config: Config = loadConfig({
    API_KEYS: API_KEY,
    PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    BULK_TASK_QUEUE: `test-bulk-${randomUUID()}`,
    S3_ENDPOINT: endpoints.s3Endpoint,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY_ID: localS3Credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: localS3Credentials.secretAccessKey,
    SES_ENDPOINT: endpoints.sesEndpoint,
    SMTP_URL: smtp.url,
    // Short timers: the dev server has no time skipping, so retries must be quick in tests.
    RETRY_BASE_MS: '20',
    RETRY_MAX_MS: '200',
    SES_TIMEOUT_MS: '2000',
    SMTP_TIMEOUT_MS: '2000',
    // The circuit breaker remembers provider failures across sends, so one test's faults would
    // reroute the next test's sends: tests of a send's own retry ladder keep it closed.
    // test/integration/circuit-breaker.test.ts sets its own.
    CIRCUIT_FAILURES: '1000',
    LOG_LEVEL: 'silent',
    // Worker processes of one test file (and of files running side by side) each take a free port.
    WORKER_METRICS_PORT: '0',
    ...sns?.env,
    ...opts.env,
  });
  const dbHandle = opts.db ?? (await createDb({ url: endpoints.databaseUrl, maxConnections: 5 }));
  // Test files share this database and the OS reuses ports: a circuit that another file's
  // stand-ins left open at these addresses is not about ours.
  const mine = providerEndpoints(config);
  await dbHandle.db
    .delete(providerHealth)
    .where(
      or(
        and(eq(providerHealth.provider, 'ses'), eq(providerHealth.account, mine.ses)),
        and(eq(providerHealth.provider, 'smtp'), eq(providerHealth.account, mine.smtp)),
      ),
    );
  const deps = await activityDepsFromConfig(config, dbHandle.db, {
    sesCredentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  const workerConnection = await NativeConnection.connect(temporalConnectionOptions(config));
  const running: { shutdown(): void; done: Promise<void> }[] = [];
  /** Starts a real worker (both queues) in this process; the harness starts one unless told not to. */
  async function startWorker() {
    const workers = await createWorkers({
      connection: workerConnection,
      config,
      deps,
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    running.push({ shutdown: () => workers.shutdown(), done: workers.run() });
  }
  if (opts.worker !== false) await startWorker();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = temporalClient(connection, config);
  const app = createApp(
    appDeps({
      config,
      db: dbHandle.db,
      temporal: client,
      objects: deps.objects,
      logger: { error: (...args: unknown[]) => console.error(...args) },
    }),
  );

  let server: ServerType | undefined;
  let apiUrl = '';
  let webhookUrl = '';
  if (sns || opts.listen) {
    const listening = await new Promise<ServerType>((resolve) => {
      const s: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    server = listening;
    apiUrl = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    webhookUrl = `${apiUrl}/v1/webhooks/ses`;
    if (sns) ses.simulate({ sns, webhookUrl });
  }

  async function send(body: unknown, o: { key?: string; idempotencyKey?: string } = {}) {
    const res = await app.request('/v1/emails', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${o.key ?? API_KEY}`,
        'content-type': 'application/json',
        ...(o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  /**
   * A key made through the API by the first API_KEYS key: every scope and a new tenant of its own
   * unless `o` says otherwise (test files share the database; their tenants keep them apart).
   */
  async function newKey(o: Record<string, unknown> = {}): Promise<ManagedKey> {
    const res = await app.request('/v1/api-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${config.API_KEYS[0]}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'test',
        scopes: ['send', 'read', 'manage', 'admin'],
        tenant: `t-${randomUUID()}`,
        ...o,
      }),
    });
    const body = (await res.json()) as ManagedKey;
    if (res.status !== 201) throw new Error(`POST /v1/api-keys: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  return {
    app,
    client,
    newKey,
    config,
    db: dbHandle.db,
    objects: deps.objects,
    ses,
    smtp,
    /** With `sns: true`: the local SNS and the app's webhook URL on a real port. */
    sns,
    /** With `sns` or `listen`: the app's base URL on a real port. */
    apiUrl,
    webhookUrl,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    send,
    /** GET /v1/emails/:id as the test API key. */
    async status(id: string) {
      const res = await app.request(`/v1/emails/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
      return (await res.json()) as Record<string, any>;
    },
    /** The send's workflow result: awaits the workflow's end, not a timer. */
    result(id: string): Promise<SendEmailResult> {
      return client.workflow.getHandle(emailWorkflowId(id)).result();
    },
    /** Workflows ever started on this harness's task queue. */
    async workflowCount(): Promise<number> {
      return (await client.workflow.count(`TaskQueue = "${config.TEMPORAL_TASK_QUEUE}"`)).count;
    },
    startWorker,
    /** Stops this harness's workers (as a deploy or a crash would); startWorker brings one back. */
    async stopWorkers() {
      const stopping = running.splice(0);
      for (const w of stopping) w.shutdown();
      await Promise.all(stopping.map((w) => w.done));
    },
    /** Environment for a worker process (`worker/main.ts`) pointed at this harness. */
    workerEnv(): Record<string, string> {
      const env: Record<string, string> = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
      for (const [k, v] of Object.entries(config)) {
        if (v !== undefined) env[k] = Array.isArray(v) ? v.join(',') : String(v);
      }
      env.DATABASE_URL = endpoints.databaseUrl;
      return env;
    },
    async close() {
      for (const w of running) w.shutdown();
      await Promise.all(running.map((w) => w.done));
      await Promise.all([workerConnection.close(), connection.close()]);
      if (server) await new Promise((resolve) => server.close(resolve));
      await sns?.close();
      if (!opts.db) await dbHandle.close();
      await Promise.all([s3.close(), ses.close(), smtp.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A valid request body; tests spread changes over it. */
export function validEmail<T extends Record<string, unknown>>(overrides: T = {} as T) {
  return {
    from: 'Mailroom Tests <sender@example.com>',
    to: `rcpt-${randomUUID().slice(0, 8)}@example.com`,
    subject: 'Hello from the tests',
    text: 'plain body',
    html: '<p>html body</p>',
    ...overrides,
  };
}
