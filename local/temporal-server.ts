// The real Temporal server (not the dev server) on Postgres, set up the way an operator sets up a
// cluster: the SQL tool creates and migrates its two databases, the server runs on
// deploy/temporal-server.yaml with deploy/temporal-dynamic-config.yaml, and the `temporal` CLI
// creates the namespace and registers Mailroom's search attributes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { searchAttributeKeys } from '../workflows/contracts.js';
import { freePort } from './free-port.js';
import { cliType } from './temporal-dev-server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

export interface Postgres {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Host, port, user and password of a postgres:// URL (the tests' and benchmarks' admin URL). */
export function postgresOf(url: string): Postgres {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || 'postgres'),
    password: decodeURIComponent(u.password),
  };
}

/**
 * Temporal's own schema steps (docker-compose.yml's `temporal-schema` runs the same ones): create
 * the database, install the base schema (version 0.0), apply every versioned migration.
 */
export async function setupTemporalSchema(o: {
  sqlTool: string;
  schemaDir: string;
  pg: Postgres;
  database: string;
  visibilityDatabase: string;
}) {
  const connect = ['--plugin', 'postgres12', '--ep', o.pg.host, '-p', String(o.pg.port), '-u', o.pg.user];
  const env = { ...process.env, SQL_PASSWORD: o.pg.password };
  for (const [db, schema] of [
    [o.database, 'temporal'],
    [o.visibilityDatabase, 'visibility'],
  ] as const) {
    await run(o.sqlTool, [...connect, '--db', db, 'create'], { env });
    await run(o.sqlTool, [...connect, '--db', db, 'setup-schema', '-v', '0.0'], { env });
    await run(o.sqlTool, [...connect, '--db', db, 'update-schema', '-d', join(o.schemaDir, schema, 'versioned')], {
      env,
    });
  }
}

export interface TemporalDatabases {
  pg: Postgres;
  database: string;
  visibilityDatabase: string;
  /** Drops both (the server using them must be stopped). */
  drop(): Promise<void>;
}

/**
 * Two new databases for one server (`<prefix>_…` and `<prefix>_visibility_…`, named after this
 * process) with Temporal's schema in them; if the schema steps fail, they are dropped again.
 */
export async function temporalDatabases(o: {
  sqlTool: string;
  schemaDir: string;
  adminUrl: string;
  prefix: string;
}): Promise<TemporalDatabases> {
  const pg = postgresOf(o.adminUrl);
  const suffix = `${process.pid}_${Date.now()}`;
  const [database, visibilityDatabase] = [`${o.prefix}_${suffix}`, `${o.prefix}_visibility_${suffix}`];
  const drop = async () => {
    const sql = postgres(o.adminUrl, { max: 1, onnotice: () => {} });
    for (const name of [database, visibilityDatabase]) await sql.unsafe(`drop database if exists ${name} with (force)`);
    await sql.end();
  };
  try {
    await setupTemporalSchema({ sqlTool: o.sqlTool, schemaDir: o.schemaDir, pg, database, visibilityDatabase });
  } catch (err) {
    await drop();
    throw err;
  }
  return { pg, database, visibilityDatabase, drop };
}

/** How to start one server: the binary, its environment for deploy/temporal-server.yaml, its address. */
export interface TemporalServerSpec {
  server: string;
  env: Record<string, string>;
  address: string;
  logFile: string;
}

/**
 * Free ports for every service of one server (frontend, history, matching, system worker: gRPC and
 * membership each) and the variables of deploy/temporal-server.yaml that name them and the databases.
 */
export async function temporalServerSpec(o: {
  server: string;
  pg: Postgres;
  database: string;
  visibilityDatabase: string;
  logFile: string;
}): Promise<TemporalServerSpec> {
  const names = ['FRONTEND', 'HISTORY', 'MATCHING', 'WORKER'].flatMap((s) => [
    `${s}_GRPC_PORT`,
    `${s}_MEMBERSHIP_PORT`,
  ]);
  const ports: Record<string, string> = {};
  // Temporal's Postgres schema keeps membership ports in a smallint column: a port above 32767
  // stops the server at start ("unable to initialize membership heartbeats").
  for (const name of names) ports[name] = String(await freePort({ below: 32_768 }));
  return {
    server: o.server,
    address: `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`,
    logFile: o.logFile,
    env: {
      ...ports,
      POSTGRES_SEEDS: o.pg.host,
      DB_PORT: String(o.pg.port),
      POSTGRES_USER: o.pg.user,
      POSTGRES_PWD: o.pg.password,
      DBNAME: o.database,
      VISIBILITY_DBNAME: o.visibilityDatabase,
      BIND_ON_IP: '127.0.0.1',
      TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
      DYNAMIC_CONFIG_FILE_PATH: join(root, 'deploy', 'temporal-dynamic-config.yaml'),
    },
  };
}

export interface TemporalServer {
  address: string;
  /** The running server's process id (undefined while stopped). */
  readonly pid: number | undefined;
  /** SIGKILL, as a crash would; resolves when it exited. */
  kill(): Promise<void>;
  /** SIGTERM, as an orchestrator stops it; resolves when it exited. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and databases; resolves when it answers. */
  start(): Promise<void>;
}

/** Starts the server of `spec` and resolves once its frontend answers. */
export async function startTemporalServer(spec: TemporalServerSpec): Promise<TemporalServer> {
  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn(
      spec.server,
      ['--root', root, '--config', 'deploy', '--env', 'temporal-server', '--allow-no-auth', 'start'],
      { env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    const out = createWriteStream(spec.logFile, { flags: 'a' });
    c.stdout!.pipe(out);
    c.stderr!.pipe(out);
    await untilUp(spec.address, () => (c.exitCode ?? c.signalCode) !== null, spec.logFile);
  };
  const end = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    const kill = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.kill(signal);
    await exited;
    clearTimeout(kill);
  };
  await start();
  return {
    address: spec.address,
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    start,
  };
}

async function untilUp(address: string, exited: () => boolean, logFile: string) {
  // Cold, the server joins its own membership ring and acquires its shards before it answers.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited()) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`the Temporal server exited before it answered at ${address}; the end of ${logFile}:\n${tail}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`the Temporal server at ${address} did not answer: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The README's registration command, flags from the workflow contracts. */
export function searchAttributeCreateArgs(namespace: string) {
  return [
    ...['operator', 'search-attribute', 'create', '--namespace', namespace],
    ...searchAttributeKeys.flatMap((k) => ['--name', k.name, '--type', cliType[k.type as keyof typeof cliType]]),
  ];
}

/**
 * With the `temporal` CLI: creates the namespace (7 days of retention, as in docker-compose.yml)
 * and registers the search attributes, then waits until the frontend accepts a query naming them
 * (servers cache namespace metadata for a few seconds).
 */
export async function setupNamespace(o: { cli: string; address: string; namespace?: string }) {
  const namespace = o.namespace ?? 'default';
  const address = ['--address', o.address];
  await run(o.cli, ['operator', 'namespace', 'create', '--namespace', namespace, '--retention', '168h', ...address]);
  await run(o.cli, [...searchAttributeCreateArgs(namespace), ...address]);
  const query = searchAttributeKeys.map((k) => `${k.name} = ${k.type === 'INT' ? '0' : '"probe"'}`).join(' AND ');
  const connection = await Connection.connect({ address: o.address });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await connection.workflowService.countWorkflowExecutions({ namespace, query });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await connection.close();
  }
}
