// R7–R10: faults in Mailroom's own infrastructure, injected with Toxiproxy between the API/worker
// processes and Postgres, S3, SES and Temporal (startStack({ proxies: true })). Each case compares
// what was recorded with what arrived at the SES stand-in and the SMTP sink: stuck, false `sent`,
// false `failed`, lost, duplicated, unknown outcomes, and process exits.
import type { FaultProxy } from '../../local/toxiproxy.js';
import {
  bulkBody,
  bulkLedger,
  bulkStatus,
  post,
  postBulk,
  postUntilAccepted,
  settleRows,
  singleLedger,
  sleep,
  truthCounts,
  unknownOutcomes,
  type TruthCounts,
} from '../support/bulk.js';
import { within, verdict, round, type CaseContext } from '../support/report.js';
import { startStack, type Stack } from '../support/stack.js';

const BULK_RATE = 100;
const SETTLE_MS = 180_000;

const single = (tag: string, i: number) => ({
  from: 'Infra <infra@example.com>',
  to: `${tag}-${i}@example.com`,
  subject: `Single ${i}`,
  text: `single ${i}`,
  html: `<p>single ${i}</p>`,
});

/** `count` single sends, `perSecond` of them started each second, each repeated until accepted. */
async function postSingles(stack: Stack, tag: string, count: number, perSecond: number, deadline: number) {
  const answers = new Map<string, number>();
  const ids: (string | undefined)[] = [];
  const all: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    all.push(
      postUntilAccepted(stack, single(tag, i), `${tag}-${i}`, deadline, answers).then((id) => {
        ids[i] = id;
      }),
    );
    if ((i + 1) % perSecond === 0) await sleep(1_000);
  }
  await Promise.all(all);
  return { accepted: ids.filter(Boolean).length, answers };
}

/** Resolves once SES holds `count` messages, or after ms (a stalled stack must not stall the case). */
async function messagesOrAfter(stack: Stack, count: number, ms: number) {
  await within(ms, 'progress', stack.ses.waitForMessages(count)).catch(() => {});
}

/** Runs `fault` for ms, then heals the proxy; returns SES messages accepted meanwhile. */
async function during(stack: Stack, proxy: FaultProxy, ms: number, fault: () => Promise<unknown>) {
  const before = stack.ses.messages.length;
  const t = Date.now();
  await fault();
  await sleep(ms);
  await proxy.heal();
  return { acceptedMeanwhile: stack.ses.messages.length - before, seconds: (Date.now() - t) / 1000 };
}

interface Part {
  label: string;
  counts: TruthCounts;
  expected: number;
}

const sum = (parts: Part[], k: keyof Omit<TruthCounts, 'byStatus'>) => parts.reduce((s, p) => s + p.counts[k], 0);

/** The rows every infrastructure case reports. */
async function reportTruth(
  ctx: CaseContext,
  stack: Stack,
  parts: Part[],
  settle: { settled: boolean; seconds: number },
) {
  const expected = parts.reduce((s, p) => s + p.expected, 0);
  const each = (k: keyof Omit<TruthCounts, 'byStatus'>) =>
    parts.length > 1 ? parts.map((p) => `${p.label} ${p.counts[k]}`).join(', ') : undefined;
  const row = (metric: string, k: keyof Omit<TruthCounts, 'byStatus'>, target: string, ok?: (v: number) => boolean) => {
    const value = sum(parts, k);
    const split = each(k);
    ctx.row({
      metric: split ? `${metric} (${split})` : metric,
      value,
      target,
      verdict: ok ? verdict(ok(value)) : 'INFO',
    });
  };
  ctx.row({
    metric: 'delivered (recipients with ≥ 1 copy at SES or SMTP)',
    value: sum(parts, 'delivered'),
    baseline: expected,
    ratio: sum(parts, 'delivered') / expected,
    target: 'info',
    verdict: 'INFO',
  });
  row('stuck (not final after settle)', 'stuck', '0', (v) => v === 0);
  row('false sent (recorded sent, no copy)', 'falseSent', '0', (v) => v === 0);
  row('false failed (recorded failed, a copy arrived)', 'falseFailed', '0', (v) => v === 0);
  row('lost (no copy, not recorded unknown)', 'lost', '0', (v) => v === 0);
  row('held (recorded unknown, no copy)', 'held', 'info');
  row('duplicated outside unknown outcomes', 'duplicated', '0', (v) => v === 0);
  row('duplicated in unknown-outcome cases', 'duplicatedUnknown', 'info');
  const u = await unknownOutcomes(stack);
  ctx.row({
    metric: `unknown outcomes (status unknown: messages ${u.messages}, recipients ${u.recipients})`,
    value: u.total,
    target: 'counted',
    verdict: 'INFO',
  });
  ctx.row({
    metric: 'calls of unknown outcome (single attempts; recipients with unknown_outcomes > 0)',
    value: `${u.unknownAttempts}; ${u.recipientsWithUnknownCalls}`,
    target: 'info',
    verdict: 'INFO',
  });
  const exits = stack.unexpectedExits;
  ctx.row({
    metric: 'API/worker process exits',
    value: exits.length,
    target: '0',
    verdict: verdict(exits.length === 0),
  });
  ctx.note(
    `Settled: ${settle.settled ? 'yes' : 'NO'} after ${round(settle.seconds, 1)} s (limit ${SETTLE_MS / 1000} s). Statuses: ${parts
      .map((p) => `${p.label} ${JSON.stringify(p.counts.byStatus)} (${p.counts.rows} rows of ${p.expected})`)
      .join(
        '; ',
      )}. Extra copies: ${sum(parts, 'extraCopies')} (most copies of one recipient: ${Math.max(...parts.map((p) => p.counts.maxCopies))}); unknown with a copy: ${sum(parts, 'unknownDelivered')}.` +
      (exits.length ? ` Exits: ${exits.map((e) => `${e.name} (${e.code ?? e.signal})`).join(', ')}.` : ''),
  );
  return u;
}

function answersRow(ctx: CaseContext, answers: Map<string, number>, accepted: number, total: number) {
  const listed = [...answers].map(([k, v]) => `${k}×${v}`).join(', ');
  const bad = [...answers].filter(([k]) => /^5/.test(k) && k !== '503').reduce((s, [, v]) => s + v, 0);
  ctx.row({
    metric: `single sends accepted (answers: ${listed})`,
    value: accepted,
    baseline: total,
    target: `${total}`,
    verdict: verdict(accepted === total),
  });
  ctx.row({ metric: 'API answers 5xx other than 503', value: bad, target: '0', verdict: verdict(bad === 0) });
}

async function bulkRow(ctx: CaseContext, stack: Stack, id: string) {
  const status = await bulkStatus(stack, id);
  ctx.row({
    metric: 'bulk status',
    value: status ?? 'missing',
    target: 'completed',
    verdict: verdict(status === 'completed'),
  });
}

/** R7: Postgres cut for 4 s, twice, during 150 single sends and a 1,500-recipient bulk. */
export async function r7(ctx: CaseContext) {
  const n = ctx.quick ? 600 : 1_500;
  const singles = ctx.quick ? 60 : 150;
  const stack = await startStack({ proxies: true, env: { SES_MAX_SEND_RATE: '200' } });
  try {
    const pg = stack.faults!.postgres;
    const bulkId = await postBulk(stack, bulkBody(n, 'r7b', { rate_per_second: BULK_RATE }));
    const sending = postSingles(stack, 'r7s', singles, 10, Date.now() + 120_000);
    const cuts: { at: number; acceptedMeanwhile: number }[] = [];
    await messagesOrAfter(stack, Math.floor(n / 6), 30_000);
    let at = stack.ses.messages.length;
    cuts.push({ at, ...(await during(stack, pg, 4_000, () => pg.cut())) });
    await messagesOrAfter(stack, stack.ses.messages.length + Math.floor(n / 4), 20_000);
    at = stack.ses.messages.length;
    cuts.push({ at, ...(await during(stack, pg, 4_000, () => pg.cut())) });
    const { accepted, answers } = await sending;
    const settle = await settleRows(stack, { singlesTag: 'r7s', bulkIds: [bulkId], timeoutMs: SETTLE_MS });
    const parts = [
      { label: 'single', counts: truthCounts(stack, 'r7s', await singleLedger(stack, 'r7s')), expected: accepted },
      { label: 'bulk', counts: truthCounts(stack, 'r7b', await bulkLedger(stack, bulkId)), expected: n },
    ];
    answersRow(ctx, answers, accepted, singles);
    await bulkRow(ctx, stack, bulkId);
    const u = await reportTruth(ctx, stack, parts, settle);
    ctx.note(
      `Postgres cut (proxy disabled: connections closed, new ones refused) at ${cuts.map((c) => c.at).join(' and ')} SES messages, 4 s each; SES accepted ${cuts.map((c) => c.acceptedMeanwhile).join(' and ')} messages during the cuts.`,
    );
    ctx.result.data = {
      parts,
      settle,
      cuts,
      answers: Object.fromEntries(answers),
      unknown: u,
      exits: stack.unexpectedExits,
    };
  } finally {
    await stack.close();
  }
}

/** R8: S3 down for 5 s in the middle of a bulk with an attachment (and single sends composing meanwhile). */
export async function r8(ctx: CaseContext) {
  const n = ctx.quick ? 600 : 1_500;
  const singles = ctx.quick ? 20 : 50;
  const stack = await startStack({ proxies: true, env: { SES_MAX_SEND_RATE: '200' } });
  try {
    const s3 = stack.faults!.s3;
    const attachment = {
      filename: 'terms.txt',
      content: Buffer.from('Be nice.\n').toString('base64'),
      content_type: 'text/plain',
    };
    const bulkId = await postBulk(stack, bulkBody(n, 'r8b', { rate_per_second: BULK_RATE, attachments: [attachment] }));
    await messagesOrAfter(stack, Math.floor(n / 3), 30_000);
    const at = stack.ses.messages.length;
    // Single sends without attachments are accepted without S3, and compose their MIME into S3 during the outage.
    let sending: ReturnType<typeof postSingles> | undefined;
    const cut = await during(stack, s3, 5_000, async () => {
      await s3.cut();
      sending = postSingles(stack, 'r8s', singles, singles, Date.now() + 60_000);
    });
    const { accepted, answers } = await sending!;
    const settle = await settleRows(stack, { singlesTag: 'r8s', bulkIds: [bulkId], timeoutMs: SETTLE_MS });
    const parts = [
      { label: 'single', counts: truthCounts(stack, 'r8s', await singleLedger(stack, 'r8s')), expected: accepted },
      { label: 'bulk', counts: truthCounts(stack, 'r8b', await bulkLedger(stack, bulkId)), expected: n },
    ];
    answersRow(ctx, answers, accepted, singles);
    await bulkRow(ctx, stack, bulkId);
    const u = await reportTruth(ctx, stack, parts, settle);
    const [attempts] =
      await stack.sql`select coalesce(max(attempts), 0)::int as max from bulk_recipients where bulk_id = ${bulkId}`;
    ctx.row({
      metric: 'max provider attempts of a bulk recipient',
      value: attempts!.max,
      target: '1 (an S3 outage spends no attempt)',
      verdict: verdict(attempts!.max <= 1),
    });
    ctx.note(
      `S3 cut at ${at} SES messages for ${round(cut.seconds, 1)} s; SES accepted ${cut.acceptedMeanwhile} messages meanwhile; ${singles} single sends posted at the start of the outage.`,
    );
    ctx.result.data = {
      parts,
      settle,
      cut,
      answers: Object.fromEntries(answers),
      unknown: u,
      exits: stack.unexpectedExits,
    };
  } finally {
    await stack.close();
  }
}

/** R9: SES answers held 15 s (beyond SES_TIMEOUT_MS), then connections reset after the request went out. */
export async function r9(ctx: CaseContext) {
  const n = ctx.quick ? 600 : 1_500;
  const singles = ctx.quick ? 60 : 150;
  const timeoutMs = 5_000;
  const stack = await startStack({
    proxies: true,
    env: { SES_MAX_SEND_RATE: '200', SES_TIMEOUT_MS: String(timeoutMs) },
  });
  try {
    const ses = stack.faults!.ses;
    const bulkId = await postBulk(stack, bulkBody(n, 'r9b', { rate_per_second: BULK_RATE }));
    const sending = postSingles(stack, 'r9s', singles, 10, Date.now() + 120_000);
    await messagesOrAfter(stack, Math.floor(n / 6), 30_000);
    const heldAt = stack.ses.messages.length;
    // Answers (downstream) 15 s late for twice the SES timeout: SES has the message, the caller
    // times out after 5 s (answers still held when the toxic goes are passed on at once).
    const held = await during(stack, ses, 2 * timeoutMs, () => ses.latency(15_000));
    await messagesOrAfter(stack, stack.ses.messages.length + Math.floor(n / 6), 30_000);
    const resetAt = stack.ses.messages.length;
    // The first byte of each answer is replaced by a TCP reset: the request reached SES.
    const reset = await during(stack, ses, 3_000, () => ses.resetPeer(0));
    const { accepted, answers } = await sending;
    const settle = await settleRows(stack, { singlesTag: 'r9s', bulkIds: [bulkId], timeoutMs: SETTLE_MS });
    const parts = [
      { label: 'single', counts: truthCounts(stack, 'r9s', await singleLedger(stack, 'r9s')), expected: accepted },
      { label: 'bulk', counts: truthCounts(stack, 'r9b', await bulkLedger(stack, bulkId)), expected: n },
    ];
    answersRow(ctx, answers, accepted, singles);
    await bulkRow(ctx, stack, bulkId);
    const u = await reportTruth(ctx, stack, parts, settle);
    ctx.row({
      metric: 'SES accepted while answers were held / reset (≈ unknown outcomes caused)',
      value: `${held.acceptedMeanwhile} / ${reset.acceptedMeanwhile}`,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.note(
      `Answers held 15 s (latency toxic, downstream) from ${heldAt} SES messages for ${round(held.seconds, 1)} s with SES_TIMEOUT_MS=${timeoutMs}; answers reset (reset_peer toxic, downstream, 0 ms) from ${resetAt} for ${round(reset.seconds, 1)} s. SMTP carried ${stack.smtp.mails.length} mails.`,
    );
    ctx.result.data = {
      parts,
      settle,
      held,
      reset,
      answers: Object.fromEntries(answers),
      unknown: u,
      exits: stack.unexpectedExits,
    };
  } finally {
    await stack.close();
  }
}

/**
 * R10: the API SIGKILLed between insert and start. Temporal is unreachable for the API (its own
 * proxy is cut) so requests insert their rows and cannot start; the API is killed once the rows
 * are there, Temporal comes back, a new API starts, and the repair schedule must start the sends.
 */
export async function r10(ctx: CaseContext) {
  const singles = ctx.quick ? 10 : 20;
  const n = ctx.quick ? 100 : 200;
  const afterSeconds = 10;
  const stack = await startStack({
    proxies: true,
    env: {
      SES_MAX_SEND_RATE: '200',
      REPAIR_AFTER_SECONDS: String(afterSeconds),
      REPAIR_INTERVAL_SECONDS: '5',
    },
  });
  try {
    const temporalApi = stack.faults!.temporalApi;
    await temporalApi.cut();
    const answers = new Map<string, number>();
    const count = (k: string) => answers.set(k, (answers.get(k) ?? 0) + 1);
    const requests = [
      ...Array.from({ length: singles }, (_, i) =>
        post(stack, '/v1/emails', single('r10s', i), { 'idempotency-key': `r10s-${i}` }),
      ),
      post(stack, '/v1/bulk', bulkBody(n, 'r10b', { rate_per_second: BULK_RATE }), { 'idempotency-key': 'r10b' }),
    ].map((p) =>
      p.then(
        (r) => count(String(r.status)),
        (err: Error) => count(`network error (${(err.cause as { code?: string })?.code ?? err.name})`),
      ),
    );
    // Wait for the inserts (the start cannot happen), then kill the API with requests in flight.
    const deadline = Date.now() + 20_000;
    let rows = { singles: 0, bulk: 0 };
    for (;;) {
      const [r] = await stack.sql`select
        (select count(*) from messages where to_addresses->>0 ilike '%r10s-%')::int as singles,
        (select count(*) from bulk_recipients where email ilike 'r10b-%')::int as bulk`;
      rows = { singles: r!.singles, bulk: r!.bulk };
      if ((rows.singles === singles && rows.bulk === n) || Date.now() > deadline) break;
      await sleep(100);
    }
    const answeredBeforeKill = [...answers.values()].reduce((s, v) => s + v, 0);
    await stack.api!.kill('SIGKILL');
    await Promise.all(requests);
    const [queued] = await stack.sql`select
      (select count(*) from messages where status = 'queued')::int as messages,
      (select count(*) from bulks where status = 'queued')::int as bulks`;
    await temporalApi.restore();
    await stack.spawnApi().ready;
    const [bulkRowId] = await stack.sql`select bulk_id from bulk_recipients where email ilike 'r10b-%' limit 1`;
    const bulkId = bulkRowId?.bulk_id as string | undefined;
    const settle = await settleRows(stack, {
      singlesTag: 'r10s',
      bulkIds: bulkId ? [bulkId] : [],
      timeoutMs: SETTLE_MS,
    });
    const parts = [
      {
        label: 'single',
        counts: truthCounts(stack, 'r10s', await singleLedger(stack, 'r10s')),
        expected: rows.singles,
      },
      ...(bulkId
        ? [{ label: 'bulk', counts: truthCounts(stack, 'r10b', await bulkLedger(stack, bulkId)), expected: n }]
        : []),
    ];
    ctx.row({
      metric: 'rows inserted before the kill (singles; bulk recipients)',
      value: `${rows.singles}; ${rows.bulk}`,
      target: `${singles}; ${n}`,
      verdict: verdict(rows.singles === singles && rows.bulk === n),
    });
    ctx.row({
      metric: 'sends left queued by the killed API (messages; bulks)',
      value: `${queued!.messages}; ${queued!.bulks}`,
      target: 'info',
      verdict: 'INFO',
    });
    if (bulkId) await bulkRow(ctx, stack, bulkId);
    const u = await reportTruth(ctx, stack, parts, settle);
    // The API SIGKILL is the case's own; reportTruth counts only exits nobody asked for.
    ctx.note(
      `Answers before the kill: ${answeredBeforeKill}; all answers: ${[...answers].map(([k, v]) => `${k}×${v}`).join(', ')}. REPAIR_AFTER_SECONDS=${afterSeconds}, REPAIR_INTERVAL_SECONDS=5: the sends must start within ≈ ${afterSeconds + 5} s of the restart.`,
    );
    ctx.result.data = { parts, settle, rows, queued, answers: Object.fromEntries(answers), unknown: u };
  } finally {
    await stack.close();
  }
}
