import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { searchAttributeKeys } from '../workflows/contracts.js';

export interface DevServer {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** From scripts/temporal-cli.mjs; undefined falls back to the SDK's download. */
  cliPath?: string;
  dbFile: string;
  port: number;
  uiPort?: number;
  namespace?: string;
  /** Where the server's own output goes (it is chatty). */
  logFile?: string;
  /** The Web UI decodes payloads through this codec endpoint (Mailroom's `<api>/codec`). */
  codecEndpoint?: string;
}

// The SDK's own CI runs the dev server this way: in-memory SQLite has shown "no such table" flakes.
const sqlitePragmas = ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF'];
/** How `temporal` CLI flags name each search attribute type. */
export const cliType = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList', INT: 'Int' } as const;
const searchAttributeFlags = searchAttributeKeys.flatMap((k) => [
  '--search-attribute',
  `${k.name}=${cliType[k.type as keyof typeof cliType]}`,
]);

/**
 * Flags Mailroom adds to every dev server. One partition per task queue by default: the server
 * splits a queue's rate limit across its partitions, and a bulk (one batch in flight) would then
 * get only one share of its quota.
 */
function mailroomFlags(partitions = 1) {
  return [
    ...sqlitePragmas,
    ...searchAttributeFlags,
    ...['--dynamic-config-value', `matching.numTaskqueueReadPartitions=${partitions}`],
    ...['--dynamic-config-value', `matching.numTaskqueueWritePartitions=${partitions}`],
  ];
}

/** The `temporal server start-dev` command line of dev mode, the tests and the benchmarks. */
export function devServerArgs(o: {
  port: number;
  dbFile: string;
  namespace?: string;
  uiPort?: number;
  partitions?: number;
  codecEndpoint?: string;
}) {
  return [
    ...['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--db-filename', o.dbFile],
    ...['--namespace', o.namespace ?? 'default', '--log-level', 'warn', ...mailroomFlags(o.partitions)],
    ...(o.uiPort ? ['--ui-port', String(o.uiPort)] : ['--headless']),
    ...(o.uiPort && o.codecEndpoint ? ['--ui-codec-endpoint', o.codecEndpoint] : []),
  ];
}

/** Starts `temporal server start-dev` persisting to dbFile, and registers Mailroom's search attributes. */
export async function startTemporalDevServer(o: DevServerOptions): Promise<DevServer> {
  const namespace = o.namespace ?? 'default';
  const address = `127.0.0.1:${o.port}`;
  if (!o.cliPath) return startWithSdkDownload(o, namespace);

  const args = devServerArgs({ ...o, namespace });
  const child = spawn(o.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (o.logFile) {
    const out = createWriteStream(o.logFile, { flags: 'a' });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  } else {
    child.stdout!.resume();
    child.stderr!.resume();
  }
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));

  const stop = () => stopChild(child);
  try {
    const connection = await connectWhenUp(address, () => exited);
    await ensureSearchAttributes(connection, namespace);
    await connection.close();
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, uiUrl: uiUrl(o.uiPort), stop };
}

// `localhost`, like the API's URL: the UI and the API are then one site, so the console's
// SameSite=Strict session reaches the codec endpoint from the UI's pages.
const uiUrl = (port: number | undefined) => (port ? `http://localhost:${port}` : undefined);

async function connectWhenUp(address: string, exitCode: () => number | null | undefined): Promise<Connection> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exitCode() !== undefined)
      throw new Error(
        `temporal server start-dev exited with ${exitCode()} (is ${address} or the UI port already in use?` +
          ' see its log; or set TEMPORAL_ADDRESS to use a running server)',
      );
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`Temporal dev server at ${address} did not come up: ${(err as Error).message}`, {
          cause: err,
        });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** `--search-attribute` is ignored when the db file already exists, so register what is missing. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const types = proto.temporal.api.enums.v1.IndexedValueType;
  const indexed = {
    KEYWORD: types.INDEXED_VALUE_TYPE_KEYWORD,
    KEYWORD_LIST: types.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    INT: types.INDEXED_VALUE_TYPE_INT,
  };
  const wanted = Object.fromEntries(searchAttributeKeys.map((k) => [k.name, indexed[k.type as keyof typeof indexed]]));
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.fromEntries(
    Object.entries(wanted).filter(([name]) => !(name in (existing.customAttributes ?? {}))),
  );
  if (Object.keys(missing).length > 0) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function startWithSdkDownload(o: DevServerOptions, namespace: string): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: o.port,
      dbFilename: o.dbFile,
      namespace,
      ui: Boolean(o.uiPort),
      uiPort: o.uiPort,
      extraArgs: [...mailroomFlags(), ...(o.uiPort && o.codecEndpoint ? ['--ui-codec-endpoint', o.codecEndpoint] : [])],
    },
  });
  await ensureSearchAttributes(env.connection, namespace);
  return {
    address: env.address,
    uiUrl: uiUrl(o.uiPort),
    stop: () => env.teardown(),
  };
}
