// Child processes of a benchmark (worker, API, Temporal dev server): spawned, watched for
// readiness, measured (RSS from /proc), and killed when the benchmark ends, however it ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  ready: Promise<void>;
  exited: Promise<number | null>;
  /** Resident set size now, in MB (0 once exited). */
  rssMb(): number;
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Reads VmRSS (or VmHWM, the peak) of a live process, in MB. */
export function procMemMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Text in stdout/stderr that means the process is ready; omitted: ready at once. */
  readyText?: string;
  logFile?: string;
}

export function spawnProc(o: SpawnOptions): Proc {
  const child = spawn(o.command, o.args, {
    cwd: root,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const log = o.logFile ? createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  let tail = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    if (!o.readyText) resolve();
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      log?.write(text);
      tail = (tail + text).slice(-20_000);
      if (o.readyText && tail.includes(o.readyText)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`${o.name} exited (${code}) before it was ready:\n${tail}`)));
  });
  ready.catch(() => {});
  return {
    name: o.name,
    child,
    pid: child.pid!,
    ready,
    exited,
    rssMb: () => procMemMb(child.pid!),
    async kill(signal = 'SIGTERM', graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Samples a process's RSS every intervalMs; stop() returns start, end and peak in MB, and the
 * samples as a time series (seconds since the start, MB). */
export function sampleRss(pid: () => number, intervalMs = 250) {
  const samples: number[] = [];
  const series: { s: number; mb: number }[] = [];
  const t0 = Date.now();
  const take = () => {
    const v = procMemMb(pid());
    if (v > 0) {
      samples.push(v);
      series.push({ s: (Date.now() - t0) / 1000, mb: v });
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return {
        startMb: samples[0] ?? 0,
        endMb: samples[samples.length - 1] ?? 0,
        peakMb: Math.max(0, ...samples),
        series,
      };
    },
  };
}
