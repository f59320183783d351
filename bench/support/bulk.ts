// Posting bulks and single sends to the API process, waiting for them, and reading their histories.
import type { Client } from '@temporalio/client';
import type { SesMessage } from '../../local/ses-stand-in.js';
import type { SmtpMail } from '../../local/smtp-sink.js';
import { bulkWorkflowId, type BulkResult } from '../../workflows/contracts.js';
import { percentile, within } from './report.js';
import { addressOf } from '../../test/support/bulk-body.js';
import { API_KEY, type Stack } from './stack.js';

export { addressOf, bulkBody } from '../../test/support/bulk-body.js';

export const smallEmail = () => ({
  from: 'Bench <bench@example.com>',
  to: 'someone@example.com',
  subject: 'Benchmark message',
  text: 'plain body',
  html: '<p>html body</p>',
});

export async function post(stack: Stack, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: res.status, body: json as Record<string, any> };
}

export async function postBulk(stack: Stack, body: unknown): Promise<string> {
  const res = await post(stack, '/v1/bulk', body);
  if (res.status !== 202) throw new Error(`POST /v1/bulk answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

export function bulkResult(client: Client, bulkId: string, timeoutMs: number): Promise<BulkResult> {
  return within(timeoutMs, `bulk ${bulkId}`, client.workflow.getHandle(bulkWorkflowId(bulkId)).result());
}

/** Copies per address among messages for this tag. */
export function copies(messages: (SesMessage | SmtpMail)[], tag: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const to = 'destination' in m ? m.destination : m.to;
    for (const a of to) if (a.startsWith(`${tag}-`)) counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  return counts;
}

/** delivered / lost / duplicated for recipients 0..n-1 of a tag, counted at SES and SMTP together. */
export function exactlyOnceCounts(stack: Stack, tag: string, n: number) {
  const counts = copies([...stack.ses.messages, ...stack.smtp.mails], tag);
  let delivered = 0;
  let duplicated = 0;
  let extraCopies = 0;
  for (let i = 0; i < n; i++) {
    const c = counts.get(addressOf(tag, i)) ?? 0;
    if (c > 0) delivered++;
    if (c > 1) {
      duplicated++;
      extraCopies += c - 1;
    }
  }
  return { delivered, lost: n - delivered, duplicated, extraCopies };
}

export const lastAt = (messages: { at: number; destination?: string[] }[]) =>
  messages.reduce((m, x) => Math.max(m, x.at), 0);

/** Each run of the bulk's workflow (continue-as-new chain) with its history length. */
export async function bulkRuns(client: Client, bulkId: string) {
  const runs: { runId: string; historyLength: number; status: string }[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${bulkWorkflowId(bulkId)}"` })) {
    runs.push({ runId: wf.runId, historyLength: wf.historyLength, status: wf.status.name });
  }
  return runs;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;

/**
 * Where a bulk's time goes, from its histories: per batch activity, the wait in the task queue
 * (scheduled → started: server dispatch and its rate limiter), the activity itself (started →
 * completed: Postgres, MIME, SES), and the workflow's turnaround (completed → next scheduled).
 */
export async function profileBulk(client: Client, bulkId: string) {
  const queue: number[] = [];
  const exec: number[] = [];
  const turnaround: number[] = [];
  let retries = 0;
  for (const run of await bulkRuns(client, bulkId)) {
    const history = await client.workflow.getHandle(bulkWorkflowId(bulkId), run.runId).fetchHistory();
    const scheduled = new Map<string, { at: number; type: string }>();
    const started = new Map<string, number>();
    let lastCompletedAt = 0;
    for (const e of history.events ?? []) {
      const at = ms(e.eventTime as any);
      const id = String(e.eventId);
      if (e.activityTaskScheduledEventAttributes) {
        const type = e.activityTaskScheduledEventAttributes.activityType?.name ?? '';
        scheduled.set(id, { at, type });
        if (type === 'sendBulkBatch' && lastCompletedAt) turnaround.push(at - lastCompletedAt);
      } else if (e.activityTaskStartedEventAttributes) {
        const a = e.activityTaskStartedEventAttributes;
        const s = scheduled.get(String(a.scheduledEventId));
        if (s?.type === 'sendBulkBatch') {
          queue.push(at - s.at);
          started.set(String(a.scheduledEventId), at);
          retries += Math.max(0, (a.attempt ?? 1) - 1);
        }
      } else if (e.activityTaskCompletedEventAttributes) {
        const a = e.activityTaskCompletedEventAttributes;
        const st = started.get(String(a.scheduledEventId));
        if (st !== undefined) {
          exec.push(at - st);
          lastCompletedAt = at;
        }
      }
    }
  }
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const sum = s.reduce((a, b) => a + b, 0);
    return { n: s.length, meanMs: s.length ? sum / s.length : NaN, p50Ms: percentile(s, 50), totalMs: sum };
  };
  return { queue: stat(queue), exec: stat(exec), turnaround: stat(turnaround), retries };
}

export function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- Truth accounting for the infrastructure-fault cases (R7–R10) and R1 ----

/** Statuses a message or recipient ends in; anything else after the settle time is stuck. */
export const finalStatuses = new Set(['sent', 'failed', 'unknown', 'cancelled', 'expired']);
const finalBulkStatuses = ['completed', 'cancelled', 'failed', 'expired'];

/** One send as recorded: its recipient, its status, and whether a provider call's outcome was unknown. */
export interface LedgerRow {
  address: string;
  status: string;
  /** Status `unknown`, or a call recorded with an unknown outcome (the resend may be a duplicate). */
  unknownCase: boolean;
}

type Sql = Stack['sql'];

async function hasColumn(sql: Sql, table: string, column: string) {
  const rows =
    await sql`select 1 from information_schema.columns where table_name = ${table} and column_name = ${column}`;
  return rows.length > 0;
}

const bareAddress = (a: string) => (/<([^>]+)>/.exec(a)?.[1] ?? a).trim().toLowerCase();

/** The single sends whose first `to` address is `<tag>-…` (one recipient each). */
export async function singleLedger(stack: Stack, tag: string): Promise<LedgerRow[]> {
  const rows = await stack.sql`
    select m.status, m.to_addresses as to,
      exists (select 1 from delivery_attempts a where a.message_id = m.id and a.outcome = 'unknown') as unknown_call
    from messages m where m.to_addresses->>0 ilike ${`%${tag}-%`}`;
  return rows
    .map((r) => ({
      address: bareAddress((r.to as string[])[0] ?? ''),
      status: r.status as string,
      unk: r.unknown_call,
    }))
    .filter((r) => r.address.startsWith(`${tag}-`))
    .map((r) => ({ address: r.address, status: r.status, unknownCase: r.status === 'unknown' || Boolean(r.unk) }));
}

/** A bulk's recipients (`unknown_outcomes > 0` marks a call whose outcome never came back, when that column exists). */
export async function bulkLedger(stack: Stack, bulkId: string): Promise<LedgerRow[]> {
  const unknownCalls = await hasColumn(stack.sql, 'bulk_recipients', 'unknown_outcomes');
  const rows = unknownCalls
    ? await stack.sql`select email, status, unknown_outcomes > 0 as unk from bulk_recipients where bulk_id = ${bulkId}`
    : await stack.sql`select email, status, false as unk from bulk_recipients where bulk_id = ${bulkId}`;
  return rows.map((r) => ({
    address: (r.email as string).toLowerCase(),
    status: r.status as string,
    unknownCase: r.status === 'unknown' || Boolean(r.unk),
  }));
}

/** Rows with status `unknown` in messages and bulk_recipients (0 where the status does not exist yet). */
export async function unknownOutcomes(stack: Stack) {
  const [row] = await stack.sql`
    select (select count(*) from messages where status = 'unknown')::int as messages,
           (select count(*) from bulk_recipients where status = 'unknown')::int as recipients`;
  const unknownCalls = (await hasColumn(stack.sql, 'bulk_recipients', 'unknown_outcomes'))
    ? (await stack.sql`select count(*)::int as c from bulk_recipients where unknown_outcomes > 0`)[0]!.c
    : 0;
  const [attempts] = await stack.sql`select count(*)::int as c from delivery_attempts where outcome = 'unknown'`;
  return {
    messages: row!.messages as number,
    recipients: row!.recipients as number,
    total: (row!.messages + row!.recipients) as number,
    /** Recipients with at least one call of unknown outcome (resent by policy), if counted. */
    recipientsWithUnknownCalls: unknownCalls as number,
    /** Single-send attempts recorded with an unknown outcome. */
    unknownAttempts: attempts!.c as number,
  };
}

/** Compares what was recorded with what arrived at the SES stand-in and the SMTP sink. */
export function truthCounts(stack: Stack, tag: string, ledger: LedgerRow[]) {
  const counts = copies([...stack.ses.messages, ...stack.smtp.mails], tag);
  const c = {
    rows: ledger.length,
    delivered: 0,
    stuck: 0,
    falseSent: 0,
    falseFailed: 0,
    lost: 0,
    held: 0,
    unknownDelivered: 0,
    duplicated: 0,
    duplicatedUnknown: 0,
    extraCopies: 0,
    maxCopies: 0,
    byStatus: {} as Record<string, number>,
  };
  for (const r of ledger) {
    const n = counts.get(r.address) ?? 0;
    c.byStatus[r.status] = (c.byStatus[r.status] ?? 0) + 1;
    if (n > 0) c.delivered++;
    c.maxCopies = Math.max(c.maxCopies, n);
    if (!finalStatuses.has(r.status)) c.stuck++;
    if (r.status === 'sent' && n === 0) c.falseSent++;
    if (r.status === 'failed' && n > 0) c.falseFailed++;
    if (r.status === 'unknown') {
      if (n === 0) c.held++;
      else c.unknownDelivered++;
    } else if (n === 0) c.lost++;
    if (n > 1) {
      c.extraCopies += n - 1;
      if (r.unknownCase) c.duplicatedUnknown++;
      else c.duplicated++;
    }
  }
  return c;
}

export type TruthCounts = ReturnType<typeof truthCounts>;

/**
 * Polls the database until every single send of the tag and every listed bulk (status and
 * recipients) is final, or the deadline passes. Returns how long it took and whether it settled.
 */
export async function settleRows(stack: Stack, o: { singlesTag?: string; bulkIds?: string[]; timeoutMs: number }) {
  const started = Date.now();
  const finals = [...finalStatuses];
  for (;;) {
    let open = 0;
    if (o.singlesTag) {
      const [r] = await stack.sql`select count(*)::int as c from messages
        where to_addresses->>0 ilike ${`%${o.singlesTag}-%`} and status <> all(${finals})`;
      open += r!.c;
    }
    for (const id of o.bulkIds ?? []) {
      const [r] = await stack.sql`select
          (select count(*) from bulks where id = ${id} and status <> all(${finalBulkStatuses}))::int +
          (select count(*) from bulk_recipients where bulk_id = ${id} and status <> all(${finals}))::int as c`;
      open += r!.c;
    }
    const seconds = (Date.now() - started) / 1000;
    if (open === 0) return { settled: true, seconds, open };
    if (Date.now() - started > o.timeoutMs) return { settled: false, seconds, open };
    await sleep(1_000);
  }
}

/** Status of a bulk row (undefined: no row). */
export async function bulkStatus(stack: Stack, bulkId: string): Promise<string | undefined> {
  const [r] = await stack.sql`select status from bulks where id = ${bulkId}`;
  return r?.status as string | undefined;
}

/**
 * POST /v1/emails until it is accepted: 5xx and connection errors are repeated with the same
 * Idempotency-Key (after Retry-After, else 500 ms) until the deadline. Every answer is counted.
 */
export async function postUntilAccepted(
  stack: Stack,
  body: unknown,
  idempotencyKey: string,
  deadline: number,
  answers: Map<string, number>,
): Promise<string | undefined> {
  for (;;) {
    let wait = 500;
    try {
      const res = await fetch(`${stack.apiUrl}/v1/emails`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${API_KEY}`,
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const json = (await res.json().catch(() => ({}))) as { id?: string };
      answers.set(String(res.status), (answers.get(String(res.status)) ?? 0) + 1);
      if (res.status === 202 || res.status === 200) return json.id;
      if (res.status < 500) return undefined;
      const after = Number(res.headers.get('retry-after'));
      if (after > 0) wait = Math.min(after * 1000, 5_000);
    } catch (err) {
      const cause = (err as Error & { cause?: { code?: string } }).cause;
      const key = `network error (${cause?.code ?? (err as Error).name})`;
      answers.set(key, (answers.get(key) ?? 0) + 1);
    }
    if (Date.now() + wait > deadline) return undefined;
    await sleep(wait);
  }
}
