// R1 (worker SIGKILLed three times mid-bulk) and R2 (Temporal dev server stopped and restarted mid-bulk).
import { bulkWorkflowId, type BulkResult } from '../../workflows/contracts.js';
import {
  bulkBody,
  bulkLedger,
  exactlyOnceCounts,
  postBulk,
  sleep,
  truthCounts,
  unknownOutcomes,
} from '../support/bulk.js';
import { round, verdict, type CaseContext } from '../support/report.js';
import { startStack, type Stack } from '../support/stack.js';

/** Waits for the bulk's result, riding out a Temporal server that is briefly away. */
export async function settle(stack: Stack, bulkId: string, timeoutMs: number): Promise<BulkResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await stack.client.workflow.getHandle(bulkWorkflowId(bulkId)).result();
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`bulk ${bulkId} did not finish: ${(err as Error).message}`, { cause: err });
      await sleep(1_000);
    }
  }
}

function countRows(ctx: CaseContext, c: ReturnType<typeof exactlyOnceCounts>, n: number) {
  ctx.row({
    metric: 'delivered',
    value: c.delivered,
    baseline: n,
    ratio: c.delivered / n,
    target: `${n}`,
    verdict: verdict(c.delivered === n),
  });
  ctx.row({ metric: 'lost', value: c.lost, target: '0', verdict: verdict(c.lost === 0) });
  ctx.row({
    metric: 'duplicated (recipients with > 1 copy)',
    value: c.duplicated,
    target: '0',
    verdict: verdict(c.duplicated === 0),
  });
}

export async function r1(ctx: CaseContext) {
  const n = ctx.quick ? 1_500 : 5_000;
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: '200' } });
  try {
    const id = await postBulk(stack, bulkBody(n, 'r1', { rate_per_second: 200 }));
    const points = [Math.random(), Math.random(), Math.random()]
      .map((f) => Math.floor(n * (0.1 + 0.7 * f)))
      .sort((a, b) => a - b);
    const kills: { atMessage: number; inFlightSending: number; restartSeconds: number }[] = [];
    for (const p of points) {
      await stack.ses.waitForMessages(p);
      const [row] = await stack.sql`select count(*)::int as c from bulk_recipients where status = 'sending'`;
      for (const w of stack.liveWorkers()) await w.kill('SIGKILL');
      const t = Date.now();
      await stack.spawnWorker().ready;
      kills.push({
        atMessage: stack.ses.messages.length,
        inFlightSending: row!.c,
        restartSeconds: (Date.now() - t) / 1000,
      });
    }
    const result = await settle(stack, id, 600_000);
    const c = exactlyOnceCounts(stack, 'r1', n);
    countRows(ctx, c, n);
    // Against the unknown-outcome accounting: a recipient whose call was cut by the kill may be resent.
    const truth = truthCounts(stack, 'r1', await bulkLedger(stack, id));
    const u = await unknownOutcomes(stack);
    ctx.row({
      metric: `unknown outcomes (status unknown; recipients with unknown_outcomes > 0: ${u.recipientsWithUnknownCalls})`,
      value: u.total,
      target: 'counted',
      verdict: 'INFO',
    });
    ctx.row({
      metric: `duplicated outside unknown outcomes (in them: ${truth.duplicatedUnknown})`,
      value: truth.duplicated,
      target: '0',
      verdict: verdict(truth.duplicated === 0),
    });
    ctx.row({
      metric: 'workflow result',
      value: `${result.status}: sent ${result.sent}, failed ${result.failed}`,
      target: 'completed',
      verdict: verdict(result.status === 'completed' && result.sent === n),
    });
    ctx.note(
      `SIGKILLs after ${kills.map((k) => k.atMessage).join(', ')} SES deliveries; rows in 'sending' just before each kill: ${kills.map((k) => k.inFlightSending).join(', ')}; worker restart took ${kills.map((k) => round(k.restartSeconds, 1)).join(', ')} s (incl. bundling workflows). Extra copies: ${c.extraCopies}.`,
    );
    ctx.result.data = { kills, counts: c, result };
  } finally {
    await stack.close();
  }
}

export async function r2(ctx: CaseContext) {
  const n = ctx.quick ? 1_000 : 3_000;
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: '200' } });
  try {
    const id = await postBulk(stack, bulkBody(n, 'r2', { rate_per_second: 200 }));
    await stack.ses.waitForMessages(Math.floor(n / 3));
    const t = Date.now();
    await stack.temporal.stop();
    const stoppedAt = stack.ses.messages.length;
    await sleep(3_000);
    await stack.temporal.start();
    const downSeconds = (Date.now() - t) / 1000;
    const afterRestart = stack.ses.messages.length;
    const resumeT = Date.now();
    await stack.ses.waitForMessages(afterRestart + 1);
    const resumeSeconds = (Date.now() - resumeT) / 1000;
    const result = await settle(stack, id, 600_000);
    const c = exactlyOnceCounts(stack, 'r2', n);
    countRows(ctx, c, n);
    ctx.row({
      metric: 'workflow result',
      value: `${result.status}: sent ${result.sent}`,
      target: 'completed',
      verdict: verdict(result.status === 'completed' && result.sent === n),
    });
    ctx.row({
      metric: 'server restart → first delivery',
      value: resumeSeconds,
      unit: 's',
      target: 'info',
      verdict: 'INFO',
    });
    ctx.note(
      `Server stopped (SIGTERM) after ${stoppedAt} deliveries, down ${round(downSeconds, 1)} s (same db file, same port); ${afterRestart - stoppedAt} deliveries completed while it was down (batch in flight). Worker processes alive at the end: ${stack.liveWorkers().length}.`,
    );
    ctx.result.data = { counts: c, result, downSeconds, resumeSeconds };
  } finally {
    await stack.close();
  }
}
