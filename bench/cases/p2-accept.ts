// P2: POST /v1/emails under load vs a loop of raw client.workflow.start calls at the same concurrency.
import { randomUUID } from 'node:crypto';
import {
  emailWorkflowId,
  mailKindKey,
  mailRecipientsKey,
  mailStatusKey,
  sendEmailWorkflowType,
} from '../../workflows/contracts.js';
import { smallEmail } from '../support/bulk.js';
import { httpLoad, loopLoad, pacedLoad } from '../support/load.js';
import { verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';

const CONNECTIONS = 16;

export async function p2(ctx: CaseContext) {
  const seconds = ctx.quick ? 8 : 30;
  // No worker: both sides measure accepting (the API's db rows + start, or start alone), not sending.
  const stack = await startStack({ workers: 0 });
  try {
    const body = JSON.stringify(smallEmail());
    const url = `${stack.apiUrl}/v1/emails`;
    await httpLoad({ url, body, seconds: 3, connections: CONNECTIONS }); // warm-up (JIT, pools)
    const start = () =>
      stack.client.workflow.start(sendEmailWorkflowType, {
        taskQueue: 'mailroom',
        workflowId: emailWorkflowId(randomUUID()),
        args: [{ messageId: randomUUID(), attachments: [], policy: { sesMaxAttempts: 5, smtpMaxAttempts: 8 } }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: 'Benchmark message → someone@example.com',
        typedSearchAttributes: [
          { key: mailKindKey, value: 'single' },
          { key: mailStatusKey, value: 'queued' },
          { key: mailRecipientsKey, value: ['someone@example.com'] },
        ],
      });
    const base = await loopLoad(start, seconds, CONNECTIONS);
    const api = await httpLoad({ url, body, seconds, connections: CONNECTIONS });
    const paced = await httpLoad({ url, body, seconds, connections: 20, overallRate: 200 });
    const pacedBase = await pacedLoad(start, seconds, 200);
    const ratio = api.perSecond / base.perSecond;
    ctx.row({
      metric: `accepted/s, ${CONNECTIONS} concurrent`,
      value: api.perSecond,
      unit: 'req/s',
      baseline: base.perSecond,
      ratio,
      target: '≥ 0.8×',
      verdict: verdict(ratio >= 0.8),
    });
    ctx.row({
      metric: 'p50 latency (max load)',
      value: api.p50,
      unit: 'ms',
      baseline: base.p50,
      ratio: api.p50 / base.p50,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.row({
      metric: 'p99 latency (max load)',
      value: api.p99,
      unit: 'ms',
      baseline: base.p99,
      ratio: api.p99 / base.p99,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.row({
      metric: 'p50 latency at 200 req/s',
      value: paced.p50,
      unit: 'ms',
      baseline: pacedBase.p50,
      ratio: paced.p50 / pacedBase.p50,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.row({
      metric: 'p99 latency at 200 req/s',
      value: paced.p99,
      unit: 'ms',
      baseline: pacedBase.p99,
      ratio: paced.p99 / pacedBase.p99,
      target: '< 50 ms',
      verdict: verdict(paced.p99 < 50),
    });
    ctx.row({
      metric: 'accepted/s at 200 req/s offered',
      value: paced.perSecond,
      unit: 'req/s',
      baseline: 200,
      ratio: paced.perSecond / 200,
      target: 'info',
      verdict: 'INFO',
    });
    const errs = api.non2xx + api.errors + paced.non2xx + paced.errors + base.errors + pacedBase.errors;
    ctx.row({ metric: 'errors (non-2xx, socket)', value: errs, target: '0', verdict: verdict(errs === 0) });
    ctx.note(
      `${seconds} s per run; no worker running (accept path only); baseline first, then the API at max load, then both paced at 200/s (baseline: open-loop starts at 200/s).`,
    );
    ctx.result.data = { base, api, paced, pacedBase };
  } finally {
    await stack.close();
  }
}
