import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the worker logged that it polls its queues. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Its JSON log lines so far (stdout). */
  logLines(): Record<string, unknown>[];
}

/** The production worker entry (`worker/main.ts`) as its own process, as an operator runs it. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  return spawnEntry('worker/main.ts', 'worker running', env);
}

/**
 * A production entry (`worker/main.ts`, `api/server.ts`) as its own process, ready once it logged
 * `readyMessage`.
 */
export function spawnEntry(entry: string, readyMessage: string, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
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
      if (output.includes(`"${readyMessage}"`)) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    void exited.then((code) => reject(new Error(`${entry} exited (${code}) before it was ready:\n${output}`)));
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
