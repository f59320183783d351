// R3: the SES stand-in throttles (30%) and fails (10%), then rejects 5% for good.
import { bulkBody, exactlyOnceCounts, postBulk } from '../support/bulk.js';
import { verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';
import { settle } from './r-crash.js';

export async function r3(ctx: CaseContext) {
  const n = ctx.quick ? 600 : 2_000;
  // Short retry timings keep the case bounded; the counts do not depend on them.
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: '200', RETRY_BASE_MS: '100', RETRY_MAX_MS: '1000' } });
  try {
    stack.ses.setFaultRates({ throttle: 0.3, error500: 0.1 });
    const a = await postBulk(stack, bulkBody(n, 'r3a', { rate_per_second: 200 }));
    const ra = await settle(stack, a, 900_000);
    const ca = exactlyOnceCounts(stack, 'r3a', n);
    const attempts =
      await stack.sql`select attempts, count(*)::int as c from bulk_recipients where bulk_id = ${a} group by attempts order by attempts`;
    const viaSmtp = stack.smtp.mails.length;
    const retried = attempts.filter((r) => r.attempts > 1).reduce((s, r) => s + r.c, 0);
    ctx.row({
      metric: '30% throttle + 10% 500: delivered',
      value: ca.delivered,
      baseline: n,
      ratio: ca.delivered / n,
      target: '100%',
      verdict: verdict(ca.delivered === n),
    });
    ctx.row({
      metric: '30% throttle + 10% 500: duplicated',
      value: ca.duplicated,
      target: '0',
      verdict: verdict(ca.duplicated === 0),
    });
    ctx.row({
      metric: 'recipients with attempts > 1',
      value: retried,
      baseline: n,
      ratio: retried / n,
      target: '> 0 (retries visible)',
      verdict: verdict(retried > 0),
    });
    ctx.note(
      `Attempts per recipient: ${attempts.map((r) => `${r.attempts}→${r.c}`).join(', ')}; SES requests ${stack.ses.requests} for ${n} recipients; ${viaSmtp} via SMTP failover; result ${ra.status} sent ${ra.sent} failed ${ra.failed}.`,
    );

    stack.ses.setFaultRates({ reject: 0.05 });
    const before = stack.ses.requests;
    const b = await postBulk(stack, bulkBody(n, 'r3b', { rate_per_second: 200 }));
    const rb = await settle(stack, b, 600_000);
    const requests = stack.ses.requests - before;
    const cb = exactlyOnceCounts(stack, 'r3b', n);
    const [failedRows] =
      await stack.sql`select count(*)::int as c, coalesce(max(attempts), 0)::int as max from bulk_recipients where bulk_id = ${b} and status = 'failed'`;
    const rejected = requests - cb.delivered;
    ctx.row({
      metric: '5% rejects: failed',
      value: failedRows!.c,
      baseline: rejected,
      ratio: failedRows!.c / Math.max(1, rejected),
      target: '= rejected',
      verdict: verdict(failedRows!.c === rejected && rb.failed === rejected),
    });
    ctx.row({
      metric: '5% rejects: max attempts of a failed recipient',
      value: failedRows!.max,
      target: '1',
      verdict: verdict(failedRows!.max <= 1),
    });
    ctx.row({
      metric: '5% rejects: SES requests / recipients',
      value: requests,
      baseline: n,
      ratio: requests / n,
      target: '1.0× (no retry storm)',
      verdict: verdict(requests === n),
    });
    ctx.row({
      metric: '5% rejects: rest delivered once',
      value: cb.delivered,
      baseline: n - rejected,
      target: 'all, 0 dup',
      verdict: verdict(cb.delivered === n - failedRows!.c && cb.duplicated === 0),
    });
    ctx.result.data = {
      phaseA: { counts: ca, attempts, requests: before, viaSmtp, result: ra },
      phaseB: { counts: cb, requests, result: rb, failed: failedRows },
    };
  } finally {
    await stack.close();
  }
}
