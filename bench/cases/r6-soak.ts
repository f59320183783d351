// R6: a soak at 200 req/s on /v1/emails with the worker sending: 0 errors, flat API and worker RSS
// (a time series every 10 s in the notes).
import { smallEmail } from '../support/bulk.js';
import { httpLoad } from '../support/load.js';
import { sampleRss } from '../support/processes.js';
import { round, verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';

export async function r6(ctx: CaseContext) {
  const seconds = ctx.full ? 600 : ctx.quick ? 15 : 60;
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: '1000' } });
  try {
    const api = stack.api!;
    const worker = stack.workers[0]!;
    const url = `${stack.apiUrl}/v1/emails`;
    const body = JSON.stringify(smallEmail());
    // Warm-up, so "start" is the steady state and not the cold process.
    await httpLoad({ url, body, seconds: 10, connections: 20, overallRate: 200 });
    const apiRss = sampleRss(() => api.pid, 1_000);
    const workerRss = sampleRss(() => worker.pid, 1_000);
    const load = await httpLoad({ url, body, seconds, connections: 20, overallRate: 200 });
    const a = apiRss.stop();
    const w = workerRss.stop();
    const [sent] =
      await stack.sql`select count(*) filter (where status = 'sent')::int as sent, count(*)::int as total from messages`;
    const errs = load.non2xx + load.errors;
    // Flat: the last sample against the first one after the warm-up.
    const flat = (s: { startMb: number; endMb: number }) => s.endMb / s.startMb;
    // The RSS time series, one point every 10 s (samples are taken every second).
    const every10s = (series: { s: number; mb: number }[]) =>
      series.filter(
        (p, i) => i === 0 || i === series.length - 1 || Math.floor(p.s / 10) > Math.floor(series[i - 1]!.s / 10),
      );
    const seriesText = (series: { s: number; mb: number }[]) =>
      every10s(series)
        .map((p) => `${round(p.s, 0)}s ${round(p.mb, 0)}`)
        .join(', ');
    ctx.row({
      metric: `errors in ${seconds} s at 200 req/s`,
      value: errs,
      baseline: load.ok + errs,
      target: '0',
      verdict: verdict(errs === 0),
    });
    ctx.row({
      metric: 'accepted/s',
      value: load.perSecond,
      unit: 'req/s',
      baseline: 200,
      ratio: load.perSecond / 200,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.row({ metric: 'p99 latency', value: load.p99, unit: 'ms', target: 'info', verdict: 'INFO' });
    ctx.row({
      metric: 'API RSS start → end',
      value: `${round(a.startMb, 0)} → ${round(a.endMb, 0)} MB (peak ${round(a.peakMb, 0)})`,
      ratio: flat(a),
      target: 'flat (≤ 1.2×)',
      verdict: verdict(flat(a) <= 1.2),
    });
    ctx.row({
      metric: 'worker RSS start → end',
      value: `${round(w.startMb, 0)} → ${round(w.endMb, 0)} MB (peak ${round(w.peakMb, 0)})`,
      ratio: flat(w),
      target: 'flat (≤ 1.2×)',
      verdict: verdict(flat(w) <= 1.2),
    });
    ctx.row({
      metric: 'messages sent by the end of the soak',
      value: sent!.sent,
      baseline: sent!.total,
      ratio: sent!.sent / sent!.total,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.note(
      `API and worker run as production runs them (${stack.runtime === 'dist' ? 'node dist/…, the worker on the pre-built workflow bundle' : 'node --import tsx'}); RSS sampled every 1 s from the end of a 10-s warm-up, flat = last / first.`,
    );
    ctx.note(`API RSS (MB) every 10 s: ${seriesText(a.series)}`);
    ctx.note(`worker RSS (MB) every 10 s: ${seriesText(w.series)}`);
    ctx.result.data = { load, api: a, worker: w, sent };
  } finally {
    await stack.close();
  }
}
