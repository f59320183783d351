// P8: one SES quota for everything. A bulk at the full quota while 200 single sends arrive, against
// a SES stand-in that throttles anything over the quota (as SES does): no throttle, and single sends
// delivered within 2 s of their POST. Baseline, same run and stack: the same single sends alone.
import { randomUUID } from 'node:crypto';
import type { SesMessage } from '../../local/ses-stand-in.js';
import { bulkBody, bulkResult, post, postBulk, smallEmail } from '../support/bulk.js';
import { percentile, round, verdict, type CaseContext } from '../support/report.js';
import { startStack, type Stack } from '../support/stack.js';

const QUOTA = 50;
const SINGLES = 200;
const SINGLE_RATE = 10;

/** POSTs `count` single sends at SINGLE_RATE/s; each one's POST → SES delivery time in ms. */
async function singleLatencies(stack: Stack, tag: string, count = SINGLES): Promise<number[]> {
  const posted = new Map<string, number>();
  const start = Date.now();
  const posts: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / SINGLE_RATE - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const to = `${tag}-${i}-${randomUUID().slice(0, 8)}@example.com`;
    posted.set(to, Date.now());
    posts.push(
      post(stack, '/v1/emails', { ...smallEmail(), to }).then((res) => {
        if (res.status !== 202) throw new Error(`POST /v1/emails answered ${res.status}`);
      }),
    );
  }
  await Promise.all(posts);
  const arrived = (m: SesMessage) => posted.has(m.destination[0] ?? '');
  const deadline = Date.now() + 120_000;
  while (stack.ses.messages.filter(arrived).length < count) {
    if (Date.now() > deadline) throw new Error(`${tag}: single sends not all delivered within 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return stack.ses.messages
    .filter(arrived)
    .map((m) => m.at - posted.get(m.destination[0]!)!)
    .sort((a, b) => a - b);
}

export async function p8(ctx: CaseContext) {
  const bulkSeconds = ctx.quick ? 30 : 60;
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: String(QUOTA) } });
  try {
    stack.ses.maxSendRate = QUOTA;
    stack.ses.enforceRate();

    // Warm-up (first workflow tasks, connections), so the baseline is the steady single-send path.
    await singleLatencies(stack, 'warm-up', 20);
    const alone = await singleLatencies(stack, 'alone');
    const throttledAlone = stack.ses.throttled;

    const n = QUOTA * bulkSeconds;
    const before = stack.ses.messages.length;
    const bulkStart = Date.now();
    const id = await postBulk(stack, bulkBody(n, 'quota'));
    // The bulk first runs alone at the full quota, then the single sends arrive.
    await stack.ses.waitForMessages(before + QUOTA * 3);
    const during = await singleLatencies(stack, 'during');
    const result = await bulkResult(stack.client, id, bulkSeconds * 4_000 + 60_000);
    const seconds = (Date.now() - bulkStart) / 1000;
    const throttled = stack.ses.throttled - throttledAlone;
    const sent = stack.ses.messages.length - before;

    const p99 = percentile(during, 99);
    const p99Alone = percentile(alone, 99);
    ctx.row({
      metric: 'SES throttles (bulk at full quota + 200 single sends)',
      value: throttled,
      target: '0',
      verdict: verdict(throttled === 0),
    });
    ctx.row({
      metric: 'single send p99, POST → SES, during the bulk',
      value: p99,
      unit: 'ms',
      baseline: p99Alone,
      ratio: p99 / p99Alone,
      target: '< 2000 ms',
      verdict: verdict(p99 < 2000),
    });
    ctx.row({ metric: 'single send p50 during the bulk', value: percentile(during, 50), unit: 'ms', verdict: 'INFO' });
    ctx.row({ metric: 'single send max during the bulk', value: during.at(-1)!, unit: 'ms', verdict: 'INFO' });
    ctx.row({
      metric: 'SES deliveries/s over the bulk (bulk + singles) vs quota',
      value: sent / seconds,
      unit: 'msg/s',
      baseline: QUOTA,
      ratio: sent / seconds / QUOTA,
      target: '≤ 1.0×',
      verdict: 'INFO',
    });
    ctx.row({ metric: 'bulk sent / total', value: `${result.sent} / ${n}`, verdict: verdict(result.sent === n) });
    ctx.note(
      `Quota ${QUOTA}/s enforced by the SES stand-in (token bucket, half a second of burst); a ${n}-recipient bulk at the full quota; ` +
        `${SINGLES} single sends at ${SINGLE_RATE}/s once it ran 3 s. Baseline: the same single sends with no bulk, same stack ` +
        `(p50 ${round(percentile(alone, 50), 0)} ms, p99 ${round(p99Alone, 0)} ms, ${throttledAlone} throttled).`,
    );
    ctx.result.data = { alone, during, throttled, throttledAlone, seconds, sent };
  } finally {
    await stack.close();
  }
}
