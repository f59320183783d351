import { execFileSync } from 'node:child_process';
// P3: a bulk at rate_per_second 28 with two workers on the send queue; pace from delivery times.
import { bulkBody, bulkResult, postBulk, profileBulk } from '../support/bulk.js';
import { round, verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';

const RATE = 28;

export function pace(times: number[]) {
  const t = [...times].sort((a, b) => a - b);
  const mean = t.length > 1 ? (t.length - 1) / ((t[t.length - 1]! - t[0]!) / 1000) : NaN;
  let maxWindow = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while (t[j]! < t[i]! - 999) j++;
    maxWindow = Math.max(maxWindow, i - j + 1);
  }
  return { mean, maxWindow };
}

const variants = [
  {
    name: 'as shipped: SES_MAX_SEND_RATE=28, one task-queue partition',
    env: { SES_MAX_SEND_RATE: String(RATE) },
    main: true,
  },
  {
    name: "Temporal's default of 4 task-queue partitions",
    env: { SES_MAX_SEND_RATE: String(RATE) },
    partitions: 4,
  },
  {
    // The worker's own limit, set server-side instead: quota / the default BULK_BATCH_SIZE (100).
    name: 'server-side queue limit: temporal task-queue config set --queue-rps-limit 0.28',
    env: { SES_MAX_SEND_RATE: String(RATE) },
    rpsLimit: RATE / 100,
  },
  { name: 'queue limit far above the pace (SES_MAX_SEND_RATE=1000)', env: { SES_MAX_SEND_RATE: '1000' } },
];

export async function p3(ctx: CaseContext) {
  for (const v of variants) {
    const seconds = ctx.quick ? 15 : v.main ? 60 : 30;
    const n = RATE * seconds;
    const stack = await startStack({
      workers: 2,
      env: v.env,
      temporalPartitions: 'partitions' in v ? v.partitions : undefined,
    });
    try {
      if ('rpsLimit' in v) {
        execFileSync(
          stack.temporal.cli,
          [
            'task-queue',
            'config',
            'set',
            '--address',
            stack.temporal.address,
            '--task-queue',
            'mailroom-bulk',
            '--task-queue-type',
            'activity',
            '--queue-rps-limit',
            String(v.rpsLimit),
            '--queue-rps-limit-reason',
            'bench',
          ],
          { stdio: 'ignore' },
        );
      }
      const id = await postBulk(stack, bulkBody(n, 'pace', { rate_per_second: RATE }));
      await bulkResult(stack.client, id, seconds * 4_000 + 60_000);
      const { mean, maxWindow } = pace(stack.ses.messages.map((m) => m.at));
      const prof = await profileBulk(stack.client, id);
      const dev = Math.abs(mean - RATE) / RATE;
      const tag = v.main ? '' : `[${v.name}] `;
      ctx.row({
        metric: `${tag}mean rate`,
        value: mean,
        unit: 'msg/s',
        baseline: RATE,
        ratio: mean / RATE,
        target: '±3%',
        verdict: v.main ? verdict(dev <= 0.03) : 'INFO',
      });
      ctx.row({
        metric: `${tag}max in any 1-s window`,
        value: maxWindow,
        unit: 'msg',
        baseline: RATE,
        ratio: maxWindow / RATE,
        target: '≤ 1.2×',
        verdict: v.main ? verdict(maxWindow <= RATE * 1.2) : 'INFO',
      });
      ctx.note(
        `${v.name}: ${n} recipients, ${seconds} s; per batch queue wait mean ${round(prof.queue.meanMs, 0)} ms (p50 ${round(prof.queue.p50Ms, 0)}), activity mean ${round(prof.exec.meanMs, 0)} ms.`,
      );
      (ctx.result.data ??= {})[v.name] = { mean, maxWindow, profile: prof };
    } finally {
      await stack.close();
    }
  }
}
