// P4: bulks of 1k, 10k (and 100k with --full): time, rate, largest run history, worker peak RSS.
import { bulkRuns } from '../support/bulk.js';
import { procMemMb, sampleRss } from '../support/processes.js';
import { round, verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';
import { timeBulk } from './p1-throughput.js';

export async function p4(ctx: CaseContext) {
  const sizes = ctx.quick ? [500, 2_000] : ctx.full ? [1_000, 10_000, 100_000] : [1_000, 10_000];
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: '10000' } });
  try {
    const worker = stack.workers[0]!;
    const rssAtStart = worker.rssMb();
    const results: { n: number; seconds: number; maxHistory: number; runs: number; peakMb: number }[] = [];
    for (const n of sizes) {
      const rss = sampleRss(() => worker.pid, 500);
      const r = await timeBulk(stack, n, `scale${n}`, 3_600_000);
      const mem = rss.stop();
      const runs = await bulkRuns(stack.client, r.id);
      results.push({
        n,
        seconds: r.seconds,
        maxHistory: Math.max(...runs.map((x) => x.historyLength)),
        runs: runs.length,
        peakMb: mem.peakMb,
      });
    }
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
      ctx.row({
        metric: `${r.n} recipients: worker peak RSS`,
        value: r.peakMb,
        unit: 'MB',
        baseline: 300,
        ratio: r.peakMb / 300,
        target: '< 300 MB',
        verdict: verdict(r.peakMb < 300),
      });
    }
    const hwm = procMemMb(worker.pid, 'VmHWM');
    ctx.note(
      `Baseline for "time" is the largest run's time per recipient × N. Worker RSS at start ${round(rssAtStart, 0)} MB, lifetime peak (VmHWM) ${round(hwm, 0)} MB.`,
    );
    ctx.result.data = { results, rssAtStart, hwm };
  } finally {
    await stack.close();
  }
}
