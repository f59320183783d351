// R11: scheduled sends while no worker runs. Sends scheduled a few seconds ahead, half of them
// with a `not_after` shortly after; every worker is SIGKILLed before the time and a new one starts
// only once the deadline has passed. Those with a deadline must end `expired` with nothing sent;
// the others must go out, each no earlier than its time.
import { bulkBody, post, postBulk, settleRows, sleep } from '../support/bulk.js';
import { verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';

const single = (tag: string, i: number, window: Record<string, string>) => ({
  from: 'Schedule <schedule@example.com>',
  to: `${tag}-${i}@example.com`,
  subject: `Scheduled ${i}`,
  text: `scheduled ${i}`,
  ...window,
});

export async function r11(ctx: CaseContext) {
  const n = ctx.quick ? 20 : 50;
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: '200' } });
  try {
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const scheduledAt = at(8_000);
    const notAfter = at(12_000);
    const answers = await Promise.all([
      ...Array.from({ length: n }, (_, i) =>
        post(stack, '/v1/emails', single('r11late', i, { scheduled_at: scheduledAt, not_after: notAfter })),
      ),
      ...Array.from({ length: n }, (_, i) =>
        post(stack, '/v1/emails', single('r11kept', i, { scheduled_at: scheduledAt })),
      ),
    ]);
    const bulkId = await postBulk(
      stack,
      bulkBody(n * 2, 'r11bulk', { scheduled_at: scheduledAt, not_after: notAfter, rate_per_second: 100 }),
    );
    const accepted = answers.filter((a) => a.status === 202 && a.body.status === 'scheduled').length;

    // Every workflow waits on its timer (its row says `scheduled`) before the workers go.
    for (;;) {
      const [r] = await stack.sql`select
        (select count(*) from messages where status = 'scheduled' and to_addresses->>0 ilike 'r11%')::int +
        (select count(*) from bulks where id = ${bulkId} and status = 'scheduled')::int as c`;
      if (r!.c === n * 2 + 1 || Date.now() > Date.parse(scheduledAt) - 1_000) break;
      await sleep(100);
    }
    await Promise.all(stack.liveWorkers().map((w) => w.kill('SIGKILL')));
    while (Date.now() < Date.parse(notAfter) + 1_000) await sleep(200);
    const restartedAt = Date.now();
    await stack.spawnWorker().ready;
    const settled = [
      await settleRows(stack, { singlesTag: 'r11late', bulkIds: [bulkId], timeoutMs: 120_000 }),
      await settleRows(stack, { singlesTag: 'r11kept', timeoutMs: 120_000 }),
    ];
    const settle = { settled: settled.every((s) => s.settled), open: settled.reduce((n, s) => n + s.open, 0) };

    const statuses = await stack.sql<{ kind: string; status: string; n: number }[]>`
      select case when to_addresses->>0 ilike 'r11late%' then 'late' else 'kept' end as kind, status, count(*)::int as n
      from messages where to_addresses->>0 ilike 'r11%' group by 1, 2`;
    const count = (kind: string, status: string) =>
      statuses.find((s) => s.kind === kind && s.status === status)?.n ?? 0;
    const [bulk] = await stack.sql`select status from bulks where id = ${bulkId}`;
    const copies = (prefix: string) =>
      stack.ses.messages.filter((m) => m.destination.some((d) => d.startsWith(prefix)));
    const lateCopies = copies('r11late').length + copies('r11bulk').length;
    const kept = copies('r11kept');
    const early = kept.filter((m) => m.at < Date.parse(scheduledAt)).length;

    ctx.row({
      metric: 'scheduled sends accepted as scheduled',
      value: `${accepted}`,
      target: `${n * 2}`,
      verdict: verdict(accepted === n * 2),
    });
    ctx.row({
      metric: 'sends with a passed not_after ended expired (singles; bulk)',
      value: `${count('late', 'expired')}/${n}; ${bulk?.status}`,
      target: `${n}/${n}; expired`,
      verdict: verdict(count('late', 'expired') === n && bulk?.status === 'expired'),
    });
    ctx.row({
      metric: 'copies sent for expired sends',
      value: `${lateCopies}`,
      target: '0',
      verdict: verdict(lateCopies === 0),
    });
    ctx.row({
      metric: 'sends without not_after delivered after the restart (once each)',
      value: `${count('kept', 'sent')}/${n} (${kept.length} copies)`,
      target: `${n}/${n} (${n} copies)`,
      verdict: verdict(count('kept', 'sent') === n && kept.length === n),
    });
    ctx.row({
      metric: 'copies sent before scheduled_at',
      value: `${early}`,
      target: '0',
      verdict: verdict(early === 0),
    });
    ctx.row({
      metric: 'settled after the worker restart',
      value: `${settle.settled ? 'yes' : 'no'} (${((Date.now() - restartedAt) / 1000).toFixed(1)} s)`,
      target: 'yes',
      verdict: verdict(settle.settled),
    });
    ctx.note(
      `scheduled_at = T+8 s, not_after = T+12 s; the worker was SIGKILLed before T+7 s and a new one started at not_after + 1 s. ${n} singles with not_after, ${n} without, one bulk of ${n * 2} with not_after.`,
    );
    ctx.result.data = { statuses, bulk: bulk?.status, lateCopies, kept: kept.length, early, settle };
  } finally {
    await stack.close();
  }
}
