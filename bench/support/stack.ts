// The whole Mailroom stack for one benchmark case, outside vitest: a Temporal dev server on free
// ports (file-backed, WAL), a fresh Postgres database (migrated, dropped afterwards), local S3, the
// SES v2 stand-in, the SMTP sink, the API and the worker as real processes (their RSS is measured),
// run as production runs them: `node dist/…` after one `npm run build` (or through tsx, `runtime`).
// With `proxies: true`, Toxiproxy sits between those processes and Postgres, S3, SES and Temporal.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { localS3Credentials, startLocalS3, type LocalS3 } from '../../local/s3-server.js';
import { SesStandIn } from '../../local/ses-stand-in.js';
import { SmtpSink } from '../../local/smtp-sink.js';
import { devServerArgs, ensureSearchAttributes } from '../../local/temporal-dev-server.js';
import {
  setupNamespace,
  startTemporalServer,
  temporalDatabases,
  temporalServerSpec,
} from '../../local/temporal-server.js';
import { resolveTemporalServer } from '../../scripts/temporal-server.mjs';
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';
import { freePort } from '../../local/free-port.js';
import { hostPort, startToxiproxy, type FaultProxy, type ToxiproxyServer } from '../../local/toxiproxy.js';
import { temporalClient } from '../../temporal/client.js';
import { root, spawnProc, type Proc } from './processes.js';

export const API_KEY = 'bench-key';
/** The payload key of every process of the stack, and of the benchmarks' own Temporal clients and workers. */
export const benchPayloadEncryption = {
  PAYLOAD_KEYS: [`bench:${Buffer.alloc(32, 'bench').toString('base64')}`],
  PAYLOAD_PLAINTEXT: false,
};
export const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface StackOptions {
  /** Config overrides (SES_MAX_SEND_RATE, BULK_BATCH_SIZE, …) for the API and worker processes. */
  env?: Record<string, string>;
  /** Worker processes to start (default 1). */
  workers?: number;
  /** Start the API process (default true). */
  api?: boolean;
  /** Task-queue partitions of the dev server (Mailroom runs it with 1). */
  temporalPartitions?: number;
  /**
   * `dev` (default): `temporal server start-dev`. `server`: the real Temporal server on Postgres,
   * set up as `npm run test:production` sets it up. Default: BENCH_TEMPORAL, else `dev`.
   */
  temporal?: 'dev' | 'server';
  /**
   * Toxiproxy between the API/worker processes and Postgres, S3, SES and Temporal (the API and the
   * workers through separate Temporal proxies). The benchmark's own clients (`sql`, `client`) stay direct.
   */
  proxies?: boolean;
  /**
   * How the API and worker run: `dist` (default) as production does — `node dist/…` after
   * `npm run build`, the worker on the pre-built workflow bundle; `tsx` from the TypeScript sources,
   * the worker bundling its workflows at start (the earlier runs' way; P4 keeps it as a baseline).
   */
  runtime?: 'dist' | 'tsx';
  /** Node flags for the worker processes; default with `dist`: productionWorkerNodeArgs. */
  workerNodeArgs?: string[];
  /** Worker processes append process.memoryUsage() every second to `<dir>/mem-worker-<n>.jsonl`. */
  memProbe?: boolean;
}

let built: Promise<void> | undefined;
/** `npm run build` once per benchmark process, so dist/ is the code under test. */
export function buildOnce(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) {
        console.log(`(npm run build: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
        resolve();
      } else reject(new Error(`npm run build exited ${code}`));
    });
  });
  return built;
}

/** Node flags of the production worker (docker-compose.yml's worker command): P4 measured the
 * peak RSS of a 10k bulk at 311 MB without a heap limit and 238 MB with it, at the same rate. */
export const productionWorkerNodeArgs = ['--max-old-space-size=256'];

/** The command line of a Mailroom process: compiled (`dist`) or through tsx. */
function entry(runtime: 'dist' | 'tsx', source: 'worker/main' | 'api/server') {
  return runtime === 'dist' ? [join(root, 'dist', `${source}.js`)] : ['--import', 'tsx', `${source}.ts`];
}

/** The stack's fault proxies (`proxies: true`). */
export interface StackFaults {
  toxiproxy: ToxiproxyServer;
  postgres: FaultProxy;
  s3: FaultProxy;
  ses: FaultProxy;
  /** Temporal as the workers reach it. */
  temporal: FaultProxy;
  /** Temporal as the API reaches it. */
  temporalApi: FaultProxy;
}

/** A process of the stack that exited without the benchmark asking it to. */
export interface UnexpectedExit {
  name: string;
  code: number | null;
  signal: string | null;
}

/** `temporal server start-dev` on a file db; restartable on the same port and file (chaos R2). */
export async function startTemporal(dir: string, partitions?: number) {
  const cli = await resolveTemporalCli({ install: false });
  if (!cli) throw new Error('the Temporal CLI is required (.cache/bin/temporal or TEMPORAL_CLI_PATH)');
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const dbFile = join(dir, 'temporal.db');
  const args = devServerArgs({ port, dbFile, partitions });
  let proc: Proc;
  const up = async () => {
    proc = spawnProc({ name: 'temporal', command: cli, args, logFile: join(dir, 'temporal.log') });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const c = await Connection.connect({ address, connectTimeout: 1_000 });
        await c.workflowService.getSystemInfo({});
        await ensureSearchAttributes(c, 'default');
        await c.close();
        return;
      } catch (err) {
        if (proc.child.exitCode !== null) throw new Error(`temporal exited: ${(err as Error).message}`, { cause: err });
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  await up();
  return {
    cli,
    address,
    port,
    get pid() {
      return proc.pid;
    },
    stop: () => proc.kill('SIGTERM'),
    kill: () => proc.kill('SIGKILL'),
    start: up,
  };
}

/** The real Temporal server on two fresh Postgres databases of its own, dropped on stop. */
export async function startTemporalServerOnPostgres(dir: string) {
  const [binaries, cli] = [
    await resolveTemporalServer({ install: false }),
    await resolveTemporalCli({ install: false }),
  ];
  if (!binaries || !cli)
    throw new Error('the Temporal server and CLI are required (npm run test:production builds them)');
  const temporalDb = await temporalDatabases({
    sqlTool: binaries.sqlTool,
    schemaDir: binaries.schemaDir,
    adminUrl,
    prefix: 'temporal_bench',
  });
  const spec = await temporalServerSpec({
    ...temporalDb,
    server: binaries.server,
    logFile: join(dir, 'temporal-server.log'),
  });
  const server = await startTemporalServer(spec);
  await setupNamespace({ cli, address: server.address });
  return {
    cli,
    address: server.address,
    port: Number(spec.env.FRONTEND_GRPC_PORT),
    get pid(): number {
      if (server.pid === undefined) throw new Error('the Temporal server is not running');
      return server.pid;
    },
    stop: async () => {
      await server.stop();
      await temporalDb.drop();
    },
    kill: () => server.kill(),
    start: () => server.start(),
  };
}

export async function createBenchDb() {
  const name = `mailroom_bench_${process.pid}_${Date.now()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await createDb({ url: url.toString(), maxConnections: 4 });
  await handle.migrate();
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  return {
    url: url.toString(),
    handle,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

export async function startStack(o: StackOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-'));
  const bucket = 'mailroom-bench';
  const cleanups: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error('cleanup:', (e as Error).message));
  };
  const runtime = o.runtime ?? 'dist';
  try {
    if (runtime === 'dist') await buildOnce();
    const [temporal, db, s3, ses, smtp] = await Promise.all([
      (o.temporal ?? process.env.BENCH_TEMPORAL ?? 'dev') === 'server'
        ? startTemporalServerOnPostgres(dir)
        : startTemporal(dir, o.temporalPartitions),
      createBenchDb(),
      startLocalS3({ directory: join(dir, 's3'), bucket }) as Promise<LocalS3>,
      SesStandIn.start(),
      SmtpSink.start(),
    ]);
    cleanups.push(
      () => temporal.stop(),
      () => db.drop(),
      () => s3.close(),
      () => ses.close(),
      () => smtp.close(),
    );
    let faults: StackFaults | undefined;
    if (o.proxies) {
      const toxiproxy = await startToxiproxy({ logFile: join(dir, 'toxiproxy.log') });
      cleanups.push(() => toxiproxy.stop());
      const [postgres, s3p, sesp, temporalp, temporalApi] = await Promise.all([
        toxiproxy.createProxy('postgres', hostPort(db.url)),
        toxiproxy.createProxy('s3', hostPort(s3.endpoint)),
        toxiproxy.createProxy('ses', hostPort(ses.endpoint)),
        toxiproxy.createProxy('temporal', temporal.address),
        toxiproxy.createProxy('temporal-api', temporal.address),
      ]);
      faults = { toxiproxy, postgres, s3: s3p, ses: sesp, temporal: temporalp, temporalApi };
    }
    const apiPort = await freePort();
    const env: Record<string, string> = {
      API_KEYS: API_KEY,
      PAYLOAD_KEYS: benchPayloadEncryption.PAYLOAD_KEYS.join(','),
      PORT: String(apiPort),
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: temporal.address,
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: bucket,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: localS3Credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: localS3Credentials.secretAccessKey,
      SES_ENDPOINT: ses.endpoint,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      SMTP_URL: smtp.url,
      SES_TIMEOUT_MS: '5000',
      RETRY_BASE_MS: '200',
      RETRY_MAX_MS: '2000',
      ...(runtime === 'dist' ? { WORKFLOW_BUNDLE_PATH: join(root, 'dist', 'workflow-bundle.js') } : {}),
      ...o.env,
    };
    if (faults) {
      env.DATABASE_URL = faults.postgres.url(db.url);
      env.TEMPORAL_ADDRESS = faults.temporal.listen;
      env.S3_ENDPOINT = faults.s3.url(s3.endpoint);
      env.SES_ENDPOINT = faults.ses.url(ses.endpoint);
    }
    const apiEnv = faults ? { ...env, TEMPORAL_ADDRESS: faults.temporalApi.listen } : env;
    const connection = await Connection.connect({ address: temporal.address });
    const client = temporalClient(connection, { TEMPORAL_NAMESPACE: 'default', ...benchPayloadEncryption });
    cleanups.push(() => connection.close());

    // Exits nobody asked for (a crash on a dependency fault); kill() through the stack is expected.
    const unexpectedExits: UnexpectedExit[] = [];
    const watch = (p: Proc): Proc => {
      let asked = false;
      const kill = p.kill.bind(p);
      p.kill = (signal, graceMs) => {
        asked = true;
        return kill(signal, graceMs);
      };
      void p.exited.then((code) => {
        if (!asked) unexpectedExits.push({ name: p.name, code, signal: p.child.signalCode });
      });
      return p;
    };
    const workers: Proc[] = [];
    let workerCount = 0;
    const spawnWorker = () => {
      const w = watch(
        spawnProc({
          name: `worker-${++workerCount}`,
          command: process.execPath,
          args: [
            ...(o.workerNodeArgs ?? (runtime === 'dist' ? productionWorkerNodeArgs : [])),
            ...(o.memProbe ? ['--import', join(root, 'bench', 'support', 'mem-probe.mjs')] : []),
            ...entry(runtime, 'worker/main'),
          ],
          env: o.memProbe ? { ...env, MEM_PROBE_FILE: join(dir, `mem-worker-${workerCount}.jsonl`) } : env,
          readyText: '"worker running"',
          logFile: join(dir, `worker-${workerCount}.log`),
        }),
      );
      workers.push(w);
      return w;
    };
    cleanups.push(() => Promise.all(workers.map((w) => w.kill('SIGKILL'))));
    let api: Proc | undefined;
    let apiCount = 0;
    /** Starts an API process on the stack's port (R10 starts a new one after a SIGKILL). */
    const spawnApi = () => {
      api = watch(
        spawnProc({
          name: `api-${++apiCount}`,
          command: process.execPath,
          args: entry(runtime, 'api/server'),
          env: apiEnv,
          readyText: '"API listening"',
          logFile: join(dir, 'api.log'),
        }),
      );
      return api;
    };
    cleanups.push(async () => api?.kill('SIGTERM', 5_000));
    if (o.api !== false) spawnApi();
    const starting = Array.from({ length: o.workers ?? 1 }, spawnWorker);
    await Promise.all([api?.ready, ...starting.map((w) => w.ready)]);

    return {
      dir,
      env,
      runtime,
      temporal,
      client,
      db: db.handle as DbHandle,
      sql: db.sql,
      dbUrl: db.url,
      s3,
      ses,
      smtp,
      /** The current API process. */
      get api() {
        return api;
      },
      spawnApi,
      /** Toxiproxy and the proxies, with `proxies: true`. */
      faults,
      /** API and worker exits the benchmark did not ask for. */
      unexpectedExits,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      workers,
      spawnWorker,
      /** Workers not yet exited. */
      liveWorkers: () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
