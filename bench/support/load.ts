// HTTP load with autocannon, and a same-shape loop for baselines that are not HTTP.
import autocannon from 'autocannon';
import { percentile } from './report.js';
import { API_KEY } from './stack.js';

export interface LoadResult {
  seconds: number;
  ok: number;
  non2xx: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  statusCodes: Record<string, number>;
}

export async function httpLoad(o: {
  url: string;
  body: string;
  seconds: number;
  connections: number;
  overallRate?: number;
  timeoutSeconds?: number;
}): Promise<LoadResult> {
  const r = await autocannon({
    url: o.url,
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: o.body,
    connections: o.connections,
    duration: o.seconds,
    timeout: o.timeoutSeconds ?? 10,
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
  });
  const ok = r['2xx'];
  const codes = (r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  return {
    seconds: o.seconds,
    ok,
    non2xx: r.non2xx,
    errors: r.errors,
    perSecond: ok / o.seconds,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    statusCodes: Object.fromEntries(Object.entries(codes).map(([k, v]) => [k, v.count])),
  };
}

/** `concurrency` loops calling fn back to back for `seconds`: the non-HTTP baseline of a load run. */
export async function loopLoad(fn: () => Promise<unknown>, seconds: number, concurrency: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        try {
          await fn();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return summarize(latencies, errors, seconds);
}

/** Open loop: calls fn at `rate` per second for `seconds`, whatever the latency (like autocannon's overallRate). */
export async function pacedLoad(fn: () => Promise<unknown>, seconds: number, rate: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < seconds * rate; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    pending.push(
      fn().then(
        () => void latencies.push(performance.now() - t),
        () => void errors++,
      ),
    );
  }
  await Promise.all(pending);
  return summarize(latencies, errors, seconds);
}

/** A LoadResult from the latencies of the calls that succeeded. */
function summarize(latencies: number[], errors: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  return {
    seconds,
    ok: latencies.length,
    non2xx: 0,
    errors,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    statusCodes: {},
  };
}
