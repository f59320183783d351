// P7: single-send throughput. 1,000 POST /v1/emails (16 in flight) through the API and worker
// processes, delivered/s until the last row is `sent`, against the minimal one-workflow-one-activity
// reference (same dev server, same SES stand-in, one INSERT per message; also with a local activity)
// and a BullMQ job per message, one after the other on one stack.
import { emailWorkflowId } from '../../workflows/contracts.js';
import { round, verdict, type CaseContext } from '../support/report.js';
import {
  findMetricsUrl,
  historyEvents,
  meter,
  runMailroom,
  runPeer,
  runReference,
  startReferenceWorker,
  type MeterResult,
} from '../support/reference-send.js';
import { startStack } from '../support/stack.js';

const CONCURRENCY = 16;
const WARM_UP = 20;

const cpuText = (m: MeterResult) =>
  Object.entries(m.cpuMsPerMessage)
    .map(([k, v]) => `${k} ${round(v, 2)}`)
    .join(', ');

const persistenceText = (m: MeterResult) =>
  m.persistencePerMessage
    ? `${round(m.persistencePerMessage.all, 1)} requests (${round(m.persistencePerMessage.writes, 1)} writes): ${m.persistencePerMessage.top
        .map(([op, v]) => `${op} ${round(v, 2)}`)
        .join(', ')}`
    : 'not measured (metrics endpoint not found)';

export async function p7(ctx: CaseContext) {
  const n = ctx.quick ? 300 : 1_000;
  // Uncapped: single sends are paced against SES_MAX_SEND_RATE.
  const stack = await startStack({ env: { SES_MAX_SEND_RATE: '1000000' } });
  try {
    const metricsUrl = await findMetricsUrl(stack.temporal.pid);
    const pids = { temporal: stack.temporal.pid, worker: stack.workers[0]!.pid, api: stack.api!.pid, bench: 0 };
    const reference = await startReferenceWorker(stack);
    const refRun = (tag: string, count: number, workflowType: 'referenceSend' | 'referenceSendLocal') =>
      runReference(stack.client, reference.sql, { n: count, concurrency: CONCURRENCY, tag, workflowType });
    const measured = async <T>(run: () => Promise<T>) => {
      const m = await meter(pids, metricsUrl);
      const r = await run();
      return { r, m: await m.stop(n) };
    };
    try {
      // Warm-up (JIT, pools, task-queue state), untimed.
      await refRun('warm-ref', WARM_UP, 'referenceSend');
      await refRun('warm-ref-local', WARM_UP, 'referenceSendLocal');
      await runMailroom(stack, WARM_UP, CONCURRENCY, 'p7warm');

      const ref = await measured(() => refRun('ref', n, 'referenceSend'));
      const ours = await measured(() => runMailroom(stack, n, CONCURRENCY, 'p7'));
      const local = await measured(() => refRun('ref-local', n, 'referenceSendLocal'));
      const peer = await runPeer(stack, n, CONCURRENCY, 'p7peer');

      const oursEvents = await historyEvents(stack.client, emailWorkflowId(ours.r.ids[n - 1]!));
      const refEvents = await historyEvents(stack.client, `p7-ref-${n - 1}`);
      const localEvents = await historyEvents(stack.client, `p7-ref-local-${n - 1}`);

      const rate = ours.r.rate;
      ctx.row({
        metric: 'Mailroom vs minimal reference (1 workflow + 1 activity)',
        value: rate,
        unit: 'msg/s',
        baseline: ref.r.rate,
        ratio: rate / ref.r.rate,
        target: '≥ 1.0×',
        verdict: verdict(rate / ref.r.rate >= 1),
      });
      ctx.row({
        metric: 'Mailroom vs reference with a local activity',
        value: rate,
        unit: 'msg/s',
        baseline: local.r.rate,
        ratio: rate / local.r.rate,
        target: 'info',
        verdict: 'INFO',
      });
      ctx.row({
        metric: 'Mailroom vs BullMQ peer (job per message + INSERT)',
        value: rate,
        unit: 'msg/s',
        baseline: peer.rate,
        ratio: rate / peer.rate,
        target: 'info',
        verdict: 'INFO',
      });
      ctx.row({
        metric: 'p50 POST → sent (baseline: reference start → row)',
        value: ours.r.p50,
        unit: 'ms',
        baseline: ref.r.p50,
        ratio: ours.r.p50 / ref.r.p50,
        target: 'info',
        verdict: 'INFO',
      });
      ctx.row({
        metric: 'p99 POST → sent (baseline: reference start → row)',
        value: ours.r.p99,
        unit: 'ms',
        baseline: ref.r.p99,
        ratio: ours.r.p99 / ref.r.p99,
        target: 'info',
        verdict: 'INFO',
      });
      ctx.row({
        metric: 'history events per send (baseline: reference)',
        value: oursEvents.length,
        baseline: refEvents.length,
        ratio: oursEvents.length / refEvents.length,
        target: 'info',
        verdict: 'INFO',
      });
      if (ours.m.persistencePerMessage && ref.m.persistencePerMessage)
        ctx.row({
          metric: 'dev server persistence writes per send (baseline: reference)',
          value: ours.m.persistencePerMessage.writes,
          baseline: ref.m.persistencePerMessage.writes,
          ratio: ours.m.persistencePerMessage.writes / ref.m.persistencePerMessage.writes,
          target: 'info',
          verdict: 'INFO',
        });
      ctx.row({
        metric: 'Mailroom sent / total',
        value: `${n - ours.r.notSent} / ${n}`,
        verdict: verdict(ours.r.notSent === 0),
      });

      ctx.note(
        `Order on one stack (one dev server with Mailroom's flags, one Postgres db, one SES stand-in): ${WARM_UP}-message warm-ups of each Temporal path, then the reference (regular activity), Mailroom, the reference (local activity), the BullMQ peer; ${n} messages each, ${CONCURRENCY} starts/POSTs in flight (the peer enqueues with addBulk, its worker at concurrency ${CONCURRENCY}). Rate = messages from the first start to the last outcome row.`,
      );
      ctx.note(
        `Accept: Mailroom's ${n} POSTs took ${round((ours.r.acceptedAt - ours.r.startedAt) / 1000, 2)} s of ${round((ours.r.endedAt - ours.r.startedAt) / 1000, 2)} s; the reference's ${n} starts ${round((ref.r.acceptedAt - ref.r.startedAt) / 1000, 2)} s of ${round((ref.r.endedAt - ref.r.startedAt) / 1000, 2)} s; local-activity reference ${round(local.r.rate, 1)} msg/s (p50 ${round(local.r.p50, 0)} ms, p99 ${round(local.r.p99, 0)} ms).`,
      );
      ctx.note(
        `CPU ms per message (bench = this process: the reference's worker and client, or Mailroom's HTTP client): reference ${cpuText(ref.m)}; Mailroom ${cpuText(ours.m)}; local-activity reference ${cpuText(local.m)}. Machine busy (2 cores, other sessions included): ${round(ref.m.machineBusy * 100, 0)}% / ${round(ours.m.machineBusy * 100, 0)}% / ${round(local.m.machineBusy * 100, 0)}%.`,
      );
      ctx.note(
        `Dev server persistence per message — reference: ${persistenceText(ref.m)}. Mailroom: ${persistenceText(ours.m)}. Local-activity reference: ${persistenceText(local.m)}.`,
      );
      ctx.note(
        `History of one send: Mailroom ${oursEvents.length} events (${oursEvents.join(', ')}); reference ${refEvents.length}; local-activity reference ${localEvents.length}.`,
      );
      ctx.result.data = {
        n,
        concurrency: CONCURRENCY,
        reference: { ...ref.r, latencies: undefined, meter: ref.m },
        referenceLocal: { ...local.r, latencies: undefined, meter: local.m },
        mailroom: { ...ours.r, latencies: undefined, ids: undefined, meter: ours.m },
        peer,
        history: { mailroom: oursEvents, reference: refEvents, referenceLocal: localEvents },
      };
    } finally {
      await reference.stop();
    }
  } finally {
    await stack.close();
  }
}
