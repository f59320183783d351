// P5b: SES answers 503 for 40 s while 60 single sends arrive at 3/s (two workers, production retry
// timings, default circuit settings), then one send a second until it ends: how many requests SES
// gets during the outage, how long sends take once the circuit is open, and how soon sends use SES
// again after it recovers.
import { post, sleep } from '../support/bulk.js';
import { percentile, round, verdict, within, type CaseContext } from '../support/report.js';
import { API_KEY, startStack, type Stack } from '../support/stack.js';
import { emailWorkflowId, type SendEmailResult } from '../../workflows/contracts.js';

const OUTAGE_MS = 40_000;
const SENDS = 60;
const PER_SECOND = 3;

async function sesCircuit(stack: Stack) {
  const res = await fetch(`${stack.apiUrl}/ready`, { headers: { authorization: `Bearer ${API_KEY}` } });
  const body = (await res.json()) as { providers?: { ses: { state: string; lastChangeAt: string | null } } };
  return body.providers!.ses;
}

/** When the mail tagged `tag` reached a provider (SES stand-in or SMTP sink), if it did. */
function arrival(stack: Stack, tag: string): { at: number; provider: 'ses' | 'smtp' } | undefined {
  const ses = stack.ses.messages.find((m) => m.raw.includes(tag));
  if (ses) return { at: ses.at, provider: 'ses' };
  const smtp = stack.smtp.mails.find((m) => m.raw.includes(tag));
  return smtp ? { at: smtp.at, provider: 'smtp' } : undefined;
}

export async function p5b(ctx: CaseContext) {
  const stack = await startStack({
    workers: 2,
    env: { SES_MAX_SEND_RATE: '14', RETRY_BASE_MS: '1000', RETRY_MAX_MS: '60000' },
  });
  try {
    const send = async (tag: string) => {
      const postedAt = Date.now();
      const res = await post(stack, '/v1/emails', {
        from: 'bench@example.com',
        to: `${tag}@example.com`,
        subject: `P5b ${tag}`,
        text: `body ${tag}`,
      });
      if (res.status !== 202) throw new Error(`POST /v1/emails answered ${res.status}`);
      return { tag, postedAt, id: res.body.id as string };
    };
    const result = (id: string) =>
      within(
        180_000,
        `send ${id}`,
        stack.client.workflow.getHandle(emailWorkflowId(id)).result(),
      ) as Promise<SendEmailResult>;

    // Warm-up: both workers have sent through SES, so the outage starts from a closed circuit.
    for (const r of await Promise.all(Array.from({ length: 6 }, (_, i) => send(`p5b-warm-${i}`)))) await result(r.id);

    const sesBefore = stack.ses.requests;
    const outageStart = Date.now();
    stack.ses.setFaultRates({ error503: 1 });
    const posted: Promise<{ tag: string; postedAt: number; id: string }>[] = [];
    for (let i = 0; i < SENDS; i++) {
      posted.push(send(`p5b-${i}`));
      await sleep(outageStart + ((i + 1) * 1000) / PER_SECOND - Date.now());
    }
    // The rest of the outage: a trickle of one send a second, so probes keep failing until SES is back.
    for (let i = 0; Date.now() < outageStart + OUTAGE_MS - 1_000; i++) {
      posted.push(send(`p5b-trickle-${i}`));
      await sleep(1_000);
    }
    const sends = await Promise.all(posted);
    await sleep(outageStart + OUTAGE_MS - Date.now());
    const circuitDuringOutage = await sesCircuit(stack);
    stack.ses.setFaultRates({});
    const recoveredAt = Date.now();
    const sesDuringOutage = stack.ses.requests - sesBefore;

    // After recovery: one send a second until one goes through SES.
    let backToSes = Infinity;
    for (let i = 0; i < 60 && backToSes === Infinity; i++) {
      const r = await send(`p5b-after-${i}`);
      const out = await result(r.id);
      if (out.provider === 'ses') backToSes = (arrival(stack, r.tag)!.at - recoveredAt) / 1000;
      else await sleep(1_000);
    }

    const results = await Promise.all(sends.map(async (s) => ({ ...s, out: await result(s.id) })));
    const openedAt = circuitDuringOutage.lastChangeAt ? Date.parse(circuitDuringOutage.lastChangeAt) : Infinity;
    const afterOpen = results.filter((r) => r.postedAt >= openedAt);
    const latencies = afterOpen
      .map((r) => (arrival(stack, r.tag)?.at ?? Infinity) - r.postedAt)
      .sort((a, b) => a - b)
      .map((ms) => ms / 1000);
    const worst = latencies.at(-1) ?? Infinity;
    const viaSmtp = afterOpen.filter((r) => r.out.status === 'sent' && r.out.provider === 'smtp').length;
    const failed = results.filter((r) => r.out.status !== 'sent').length;
    const openAfter = (openedAt - outageStart) / 1000;

    ctx.row({
      metric: 'SES requests during the 40 s outage',
      value: sesDuringOutage,
      unit: 'requests',
      baseline: 294,
      ratio: sesDuringOutage / 294,
      target: '≤ 15 (294 before the breaker)',
      verdict: verdict(sesDuringOutage <= 15),
    });
    ctx.row({
      metric: 'POST → delivered, sends after the circuit opened (max)',
      value: round(worst, 2),
      unit: 's',
      baseline: 5,
      ratio: worst / 5,
      target: '≤ 5 s each',
      verdict: verdict(worst <= 5 && afterOpen.length > 0),
    });
    ctx.row({
      metric: 'sends after the circuit opened: via SMTP / all',
      value: `${viaSmtp} / ${afterOpen.length}`,
      unit: 'sends',
      baseline: afterOpen.length,
      ratio: afterOpen.length ? viaSmtp / afterOpen.length : 0,
      target: 'all via SMTP',
      verdict: verdict(afterOpen.length > 0 && viaSmtp === afterOpen.length),
    });
    ctx.row({
      metric: `sends failed (of ${sends.length})`,
      value: failed,
      unit: 'sends',
      baseline: 0,
      ratio: 0,
      target: '0',
      verdict: verdict(failed === 0),
    });
    ctx.row({
      metric: 'SES recovered → a send through SES again',
      value: round(backToSes, 2),
      unit: 's',
      baseline: 30,
      ratio: backToSes / 30,
      target: '≤ 30 s',
      verdict: verdict(backToSes <= 30),
    });
    ctx.note(
      `The circuit opened ${round(openAfter, 2)} s into the outage; ${afterOpen.length} sends were posted after it: the rest of the ${SENDS} ` +
        `and ${sends.length - SENDS} more at 1/s until the outage ended (POST → delivered p50 ${round(percentile(latencies, 50), 2)} s). ` +
        `${sends.length - afterOpen.length} sends posted before it took the retry path. Two workers, CIRCUIT_FAILURES 5 in 30 s, ` +
        `probe every 10 s, RETRY_BASE_MS 1000.`,
    );
    ctx.result.data = {
      sesDuringOutage,
      worst: round(worst, 3),
      viaSmtp,
      afterOpen: afterOpen.length,
      failed,
      backToSes,
      openAfter,
    };
  } finally {
    await stack.close();
  }
}
