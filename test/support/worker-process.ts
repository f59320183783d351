import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the process logged that it is ready (a worker polls its queues, the API listens). */
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Its JSON log lines so far (stdout). */
  logLines(): Record<string, unknown>[];
}

/**
 * The production worker entry as its own process, as an operator runs it: from the sources
 * (`worker/main.ts` through tsx), or `compiled` as the Dockerfile runs it (`node
 * --max-old-space-size=256 dist/worker/main.js`, after `npm run build`).
 */
export function spawnWorker(env: Record<string, string>, o: { compiled?: boolean } = {}): WorkerProcess {
  const args = o.compiled ? ['--max-old-space-size=256', 'dist/worker/main.js'] : ['--import', 'tsx', 'worker/main.ts'];
  return spawnEntry(args, env, '"worker running"', 'worker');
}

/** The API entry as its own process: from the sources, or `compiled` (`node dist/api/server.js`, the Dockerfile's command). */
export function spawnApi(env: Record<string, string>, o: { compiled?: boolean } = {}): WorkerProcess {
  const args = o.compiled ? ['dist/api/server.js'] : ['--import', 'tsx', 'api/server.ts'];
  return spawnEntry(args, env, '"API listening"', 'API');
}

function spawnEntry(args: string[], env: Record<string, string>, readyText: string, what: string): WorkerProcess {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
      if (output.includes(readyText)) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    void exited.then((code) => reject(new Error(`${what} exited (${code}) before it was ready:\n${output}`)));
  });
  return {
    child,
    ready,
    exited,
    logLines: () =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
