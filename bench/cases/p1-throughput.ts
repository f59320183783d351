// P1: a 10,000-recipient bulk, rate uncapped, against the SDK-only ceiling and a BullMQ peer.
import { spawnProc } from '../support/processes.js';
import { bulkBody, bulkResult, bulkRuns, postBulk, profileBulk } from '../support/bulk.js';
import { round, verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';

export const CONCURRENCY = 32; // MAX_IN_FLIGHT in activities/bulk-send.ts

export async function runBaseline(
  mode: 'ceiling' | 'peer',
  n: number,
  tag: string,
  sesEndpoint: string,
  dbUrl: string,
) {
  const p = spawnProc({
    name: mode,
    command: process.execPath,
    args: ['--import', 'tsx', 'bench/support/direct-send.ts'],
    env: {
      MODE: mode,
      N: String(n),
      CONCURRENCY: String(CONCURRENCY),
      TAG: tag,
      SES_ENDPOINT: sesEndpoint,
      DATABASE_URL: dbUrl,
    },
    readyText: '{"result"',
  });
  let out = '';
  p.child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => void p.kill('SIGKILL'), 600_000);
  await p.ready;
  await p.exited;
  clearTimeout(timer);
  const line = out.split('\n').find((l) => l.startsWith('{"result"'))!;
  return JSON.parse(line).result as { startedAt: number; endedAt: number; rows?: number };
}

/** POST → wait for the workflow → last `sent` row's updated_at: recipients/s end to end. */
export async function timeBulk(
  stack: Awaited<ReturnType<typeof startStack>>,
  n: number,
  tag: string,
  timeoutMs: number,
  extra = {},
) {
  const t0 = Date.now();
  const id = await postBulk(stack, bulkBody(n, tag, extra));
  const accepted = Date.now();
  const result = await bulkResult(stack.client, id, timeoutMs);
  const [row] =
    await stack.sql`select extract(epoch from max(updated_at)) * 1000 as last from bulk_recipients where bulk_id = ${id} and status = 'sent'`;
  const end = Number(row!.last);
  return { id, result, seconds: (end - t0) / 1000, acceptSeconds: (accepted - t0) / 1000 };
}

export async function p1(ctx: CaseContext) {
  const n = ctx.quick ? 2_000 : 10_000;
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: '10000' } });
  try {
    const ceiling = await runBaseline('ceiling', n, 'ceil', stack.ses.endpoint, stack.dbUrl);
    const ceilingRate = n / ((ceiling.endedAt - ceiling.startedAt) / 1000);
    const peer = await runBaseline('peer', n, 'peer', stack.ses.endpoint, stack.dbUrl);
    const peerRate = n / ((peer.endedAt - peer.startedAt) / 1000);

    const ours = await timeBulk(stack, n, 'ours', 900_000);
    const rate = n / ours.seconds;
    const runs = await bulkRuns(stack.client, ours.id);
    const prof = await profileBulk(stack.client, ours.id);
    ctx.row({
      metric: `Mailroom bulk vs ceiling (SDK only, ${CONCURRENCY} in flight)`,
      value: rate,
      unit: 'rcpt/s',
      baseline: ceilingRate,
      ratio: rate / ceilingRate,
      target: '≥ 0.8×',
      verdict: verdict(rate / ceilingRate >= 0.8),
    });
    ctx.row({
      metric: 'Mailroom bulk vs peer (BullMQ + Postgres row)',
      value: rate,
      unit: 'rcpt/s',
      baseline: peerRate,
      ratio: rate / peerRate,
      target: '≥ 1.0×',
      verdict: verdict(rate / peerRate >= 1),
    });
    ctx.row({
      metric: 'sent / total',
      value: `${ours.result.sent} / ${n}`,
      verdict: ours.result.sent === n ? 'PASS' : 'MISS',
    });
    const batch = stack.env.BULK_BATCH_SIZE ?? 'config default';
    ctx.note(
      `Batch size ${batch}; ${runs.length} workflow run(s); accept (POST with ${n} recipients) took ${round(ours.acceptSeconds, 2)} s of ${round(ours.seconds, 1)} s.`,
    );
    ctx.note(
      `Per batch (${prof.exec.n}): queue wait mean ${round(prof.queue.meanMs, 1)} ms, activity mean ${round(prof.exec.meanMs, 1)} ms, workflow turnaround mean ${round(prof.turnaround.meanMs, 1)} ms; totals ${round(prof.queue.totalMs / 1000, 1)} s / ${round(prof.exec.totalMs / 1000, 1)} s / ${round(prof.turnaround.totalMs / 1000, 1)} s.`,
    );
    ctx.result.data = { n, ceiling, peer, ours, runs: runs.length, profile: prof };
  } finally {
    await stack.close();
  }
  // The same bulk with bigger batches: how much of the gap is per-batch overhead (a config knob).
  const big = await startStack({ env: { SES_MAX_SEND_RATE: '10000', BULK_BATCH_SIZE: '200' } });
  try {
    const ours = await timeBulk(big, n, 'big', 900_000);
    const prof = await profileBulk(big.client, ours.id);
    const rate = n / ours.seconds;
    const ceilingRate =
      n / (((ctx.result.data.ceiling as any).endedAt - (ctx.result.data.ceiling as any).startedAt) / 1000);
    ctx.row({
      metric: 'variant: BULK_BATCH_SIZE=200 vs ceiling',
      value: rate,
      unit: 'rcpt/s',
      baseline: ceilingRate,
      ratio: rate / ceilingRate,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.note(
      `Batch 200 (${prof.exec.n} batches): queue wait mean ${round(prof.queue.meanMs, 1)} ms, activity mean ${round(prof.exec.meanMs, 1)} ms, turnaround mean ${round(prof.turnaround.meanMs, 1)} ms.`,
    );
    ctx.result.data.batch200 = { ours, profile: prof };
  } finally {
    await big.close();
  }
}
