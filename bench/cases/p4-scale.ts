// P4: bulks of 1k, 10k (and 100k with --full): time, rate, largest run history, worker RSS idle and
// peak. The worker runs as production runs it (`node dist/worker/main.js` on the pre-built workflow
// bundle); a second stack runs the smallest size with the worker through tsx, bundling at start (the
// way earlier runs measured), as a baseline for the memory rows.
import { bulkRuns } from '../support/bulk.js';
import { procMemMb, sampleRss } from '../support/processes.js';
import { round, verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';
import { timeBulk } from './p1-throughput.js';

const TARGET_MB = 300;
const env = { SES_MAX_SEND_RATE: '10000' };

/** A started worker's RSS once it has settled (polling, no task yet). */
async function idleRss(pid: number) {
  await new Promise((r) => setTimeout(r, 3_000));
  return procMemMb(pid);
}

async function scaleRuns(sizes: number[], runtime: 'dist' | 'tsx') {
  const stack = await startStack({ env, runtime });
  try {
    const worker = stack.workers[0]!;
    const idleMb = await idleRss(worker.pid);
    const results: { n: number; seconds: number; maxHistory: number; runs: number; peakMb: number; endMb: number }[] =
      [];
    for (const n of sizes) {
      const rss = sampleRss(() => worker.pid, 500);
      const r = await timeBulk(stack, n, `scale${n}${runtime}`, 3_600_000);
      const mem = rss.stop();
      const runs = await bulkRuns(stack.client, r.id);
      results.push({
        n,
        seconds: r.seconds,
        maxHistory: Math.max(...runs.map((x) => x.historyLength)),
        runs: runs.length,
        peakMb: mem.peakMb,
        endMb: mem.endMb,
      });
    }
    const hwm = procMemMb(worker.pid, 'VmHWM');
    return { idleMb, results, hwm };
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
  ctx.result.data = { prod, tsx };
}
