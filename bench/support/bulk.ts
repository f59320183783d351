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
