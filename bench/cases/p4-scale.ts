// P4: bulks of 1k, 10k (and 100k with --full): time, rate, largest run history, worker RSS idle and
// peak. The worker runs as production runs it (`node dist/worker/main.js` on the pre-built workflow
// bundle); a second stack runs the smallest size with the worker through tsx, bundling at start (the
// way earlier runs measured), as a baseline for the memory rows.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bulkRuns } from '../support/bulk.js';
import { procMemMb, sampleRss } from '../support/processes.js';
import { round, verdict, type CaseContext } from '../support/report.js';
import { productionWorkerNodeArgs, startStack } from '../support/stack.js';
import { timeBulk } from './p1-throughput.js';

const TARGET_MB = 300;
const env = { SES_MAX_SEND_RATE: '10000' };

/** A started worker's RSS once it has settled (polling, no task yet). */
async function idleRss(pid: number) {
  await new Promise((r) => setTimeout(r, 3_000));
  return procMemMb(pid);
}

interface MemLine {
  t: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The worker's own process.memoryUsage() at its largest RSS between from and to (mem-probe.mjs). */
function probeAtPeak(file: string, from: number, to: number): MemLine | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MemLine)
    .filter((l) => l.t >= from && l.t <= to);
  return lines.reduce<MemLine | undefined>((a, b) => (a && a.rss >= b.rss ? a : b), undefined);
}

export const describeMem = (m: MemLine | undefined) =>
  m
    ? `RSS ${round(m.rss, 0)} = V8 heap ${round(m.heapTotal, 0)} (used ${round(m.heapUsed, 0)}) + external ${round(m.external, 0)} (ArrayBuffers ${round(m.arrayBuffers, 0)}) + other ${round(m.rss - m.heapTotal - m.external, 0)} (code, Temporal core, libc)`
    : 'no probe';

// Node flags for the dist worker, to try heap settings by measurement (e.g. "--max-semi-space-size=8");
// unset: production's (productionWorkerNodeArgs); set to a space for none.
const workerNodeArgs =
  process.env.P4_WORKER_NODE_ARGS === undefined
    ? productionWorkerNodeArgs
    : process.env.P4_WORKER_NODE_ARGS.split(' ').filter(Boolean);

async function scaleRuns(sizes: number[], runtime: 'dist' | 'tsx') {
  const stack = await startStack({
    env,
    runtime,
    memProbe: true,
    workerNodeArgs: runtime === 'dist' ? workerNodeArgs : [],
  });
  try {
    const worker = stack.workers[0]!;
    const probe = join(stack.dir, 'mem-worker-1.jsonl');
    const idleMb = await idleRss(worker.pid);
    const idleProbe = probeAtPeak(probe, Date.now() - 1_500, Date.now());
    const results: {
      n: number;
      seconds: number;
      maxHistory: number;
      runs: number;
      peakMb: number;
      endMb: number;
      atPeak?: MemLine;
    }[] = [];
    for (const n of sizes) {
      const rss = sampleRss(() => worker.pid, 500);
      const from = Date.now();
      const r = await timeBulk(stack, n, `scale${n}${runtime}`, 3_600_000);
      const mem = rss.stop();
      await new Promise((res) => setTimeout(res, 1_100));
      const atPeak = probeAtPeak(probe, from, Date.now());
      const runs = await bulkRuns(stack.client, r.id);
      results.push({
        n,
        seconds: r.seconds,
        maxHistory: Math.max(...runs.map((x) => x.historyLength)),
        runs: runs.length,
        peakMb: mem.peakMb,
        endMb: mem.endMb,
        atPeak,
      });
    }
    const hwm = procMemMb(worker.pid, 'VmHWM');
    return { idleMb, idleProbe, results, hwm };
  } finally {
    await stack.close();
  }
}

export async function p4(ctx: CaseContext) {
  const sizes = ctx.quick ? [500, 2_000] : ctx.full ? [1_000, 10_000, 100_000] : [1_000, 10_000];
  const prod = await scaleRuns(sizes, 'dist');
  const tsx = await scaleRuns([sizes[0]!], 'tsx');
  const rssRow = (metric: string, mb: number) =>
    ctx.row({
      metric,
      value: mb,
      unit: 'MB',
      baseline: TARGET_MB,
      ratio: mb / TARGET_MB,
      target: '< 300 MB',
      verdict: verdict(mb < TARGET_MB),
    });
  rssRow('worker RSS idle (node dist/, pre-built bundle)', prod.idleMb);
  const { results } = prod;
  const largest = results[results.length - 1]!;
  const perRcpt = largest.seconds / largest.n;
  for (const r of results) {
    const linear = r.seconds / r.n / perRcpt;
    ctx.row({
      metric: `${r.n} recipients: time`,
      value: r.seconds,
      unit: 's',
      baseline: round(perRcpt * r.n, 1),
      ratio: linear,
      target: 'linear ±20%',
      verdict: verdict(linear >= 0.8 && linear <= 1.2),
    });
    ctx.row({
      metric: `${r.n} recipients: rate`,
      value: r.n / r.seconds,
      unit: 'rcpt/s',
      target: 'info',
      verdict: 'INFO',
    });
    ctx.row({
      metric: `${r.n} recipients: largest run history (${r.runs} runs)`,
      value: r.maxHistory,
      unit: 'events',
      baseline: 10_000,
      ratio: r.maxHistory / 10_000,
      target: '< 10,000',
      verdict: verdict(r.maxHistory < 10_000),
    });
    rssRow(`${r.n} recipients: worker peak RSS`, r.peakMb);
  }
  const t = tsx.results[0]!;
  const info = (metric: string, mb: number, base: number) =>
    ctx.row({
      metric,
      value: mb,
      unit: 'MB',
      baseline: round(base, 0),
      ratio: mb / base,
      target: 'info',
      verdict: 'INFO',
    });
  info('baseline: tsx worker bundling at start, RSS idle (baseline: dist idle)', tsx.idleMb, prod.idleMb);
  info(`baseline: tsx worker, ${t.n} recipients peak RSS (baseline: dist)`, t.peakMb, results[0]!.peakMb);
  ctx.note(
    `Baseline for "time" is the largest run's time per recipient × N. Worker (node dist/worker/main.js, WORKFLOW_BUNDLE_PATH=dist/workflow-bundle.js): RSS idle ${round(prod.idleMb, 0)} MB (3 s after ready, before the first task), after each bulk ${results.map((r) => `${r.n}: ${round(r.endMb, 0)}`).join(', ')} MB, lifetime peak (VmHWM) ${round(prod.hwm, 0)} MB. tsx baseline (node --import tsx worker/main.ts, bundling at start): idle ${round(tsx.idleMb, 0)} MB, ${t.n} recipients in ${round(t.seconds, 2)} s, peak ${round(t.peakMb, 0)} MB, VmHWM ${round(tsx.hwm, 0)} MB.`,
  );
  ctx.note(
    `Where the worker's memory is (its own process.memoryUsage(), 1-s probe): idle ${describeMem(prod.idleProbe)}; ${results.map((r) => `${r.n} at its peak: ${describeMem(r.atPeak)}`).join('; ')}. tsx idle: ${describeMem(tsx.idleProbe)}. Worker Node flags (dist): ${workerNodeArgs.join(' ') || 'none'}.`,
  );
  ctx.result.data = { prod, tsx, workerNodeArgs };
}
