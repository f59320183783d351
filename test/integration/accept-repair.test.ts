// The repair schedule: the production worker entry (worker/main.ts) creates it at start; a run
// (triggered here rather than waited for) starts sends an API crash left `queued` between the
// insert and the workflow start — with the same workflow id and input — and they are delivered.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TENANT } from '../../api/principal.js';
import { bulkRecipients, bulks, messages } from '../../db/schema.js';
import type { RepairCounts } from '../../activities/repair.js';
import { repairScheduleId, repairWorkflowType } from '../../worker/repair-schedule.js';
import { bulkWorkflowId, emailWorkflowId } from '../../workflows/contracts.js';
import { startHarness, type Harness } from '../support/harness.js';
import { bulkResult, exactlyOnce, recipients } from '../support/bulk.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';

let h: Harness;
let worker: WorkerProcess;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  worker = spawnWorker({ ...h.workerEnv(), REPAIR_AFTER_SECONDS: '30', REPAIR_INTERVAL_SECONDS: '3600' });
  await worker.ready;
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await h?.client.schedule
    .getHandle(repairScheduleId(h.taskQueue))
    .delete()
    .catch(() => {});
  await h?.close();
});

const schedule = () => h.client.schedule.getHandle(repairScheduleId(h.taskQueue));
const longAgo = () => new Date(Date.now() - 5 * 60_000);

/** Rows as the API inserts them, as if it died right after the insert. */
async function insertQueuedMessage(rcpt: string, createdAt: Date) {
  const id = randomUUID();
  await h.db.insert(messages).values({
    id,
    tenantId: DEFAULT_TENANT,
    requestHash: 'crashed-api',
    workflowId: emailWorkflowId(id),
    from: 'Crash Test <sender@example.com>',
    to: [rcpt],
    subject: 'Stored, never started',
    text: 'The API died before starting me.',
    createdAt,
    updatedAt: createdAt,
  });
  return id;
}

async function insertQueuedBulk(tag: string, n: number) {
  const id = randomUUID();
  await h.db.transaction(async (tx) => {
    await tx.insert(bulks).values({
      id,
      tenantId: DEFAULT_TENANT,
      requestHash: 'crashed-api',
      workflowId: bulkWorkflowId(id),
      from: 'News <news@example.com>',
      subject: 'Hello {{name}}',
      text: 'Hi {{name}}',
      total: n,
      createdAt: longAgo(),
      updatedAt: longAgo(),
    });
    await tx
      .insert(bulkRecipients)
      .values(recipients(n, tag).map((r, seq) => ({ bulkId: id, seq, email: r.email, name: r.name, data: r.data })));
  });
  return id;
}

/** Triggers one run now and returns its counts. */
async function runRepair(): Promise<RepairCounts> {
  // Runs are told apart by run id: a scheduled workflow id carries the time to the second only.
  const runs = async () => (await schedule().describe()).info.recentActions.map((a) => a.action.workflow);
  const before = new Set((await runs()).map((w) => w.firstExecutionRunId));
  await schedule().trigger();
  let run = { workflowId: '', firstExecutionRunId: '' };
  await vi.waitFor(
    async () => {
      const started = (await runs()).filter((w) => !before.has(w.firstExecutionRunId));
      expect(started).toHaveLength(1);
      run = started[0]!;
    },
    { timeout: 10_000, interval: 200 },
  );
  return h.client.workflow.getHandle(run.workflowId, run.firstExecutionRunId).result();
}

describe('the repair schedule', () => {
  it('exists once the worker has started: every REPAIR_INTERVAL_SECONDS, overlap SKIP, on the main queue', async () => {
    const d = await vi.waitFor(() => schedule().describe(), { timeout: 20_000, interval: 200 });
    expect(d.spec.intervals).toMatchObject([{ every: 3_600_000 }]);
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: repairWorkflowType,
      taskQueue: h.taskQueue,
      args: [{ olderThanSeconds: 30 }],
    });
  });

  it('starts a single send and a bulk the API stored but never started; both are delivered', async () => {
    const rcpt = `crashed-${randomUUID().slice(0, 8)}@example.com`;
    const emailId = await insertQueuedMessage(rcpt, longAgo());
    const bulkId = await insertQueuedBulk('crashed-bulk', 3);
    // Younger than REPAIR_AFTER_SECONDS: its accept request may still be starting it. Left alone.
    const youngRcpt = `young-${randomUUID().slice(0, 8)}@example.com`;
    const youngId = await insertQueuedMessage(youngRcpt, new Date());

    const counts = await runRepair();
    expect(counts.messages.started).toBeGreaterThanOrEqual(1);
    expect(counts.bulks.started).toBeGreaterThanOrEqual(1);
    expect(counts.messages.failed + counts.bulks.failed).toBe(0);

    expect(await h.result(emailId)).toMatchObject({ status: 'sent', provider: 'ses' });
    expect(h.ses.messages.filter((m) => m.destination.includes(rcpt))).toHaveLength(1);
    expect(await bulkResult(h, bulkId)).toMatchObject({ status: 'completed', sent: 3 });
    expect(exactlyOnce(h.ses.messages, 'crashed-bulk', [0, 1, 2])).toEqual([]);

    const [young] = await h.db.select().from(messages).where(eq(messages.id, youngId));
    expect(young!.status).toBe('queued');
    expect(h.ses.messages.filter((m) => m.destination.includes(youngRcpt))).toHaveLength(0);
    await h.db.delete(messages).where(eq(messages.id, youngId));
  });

  it('counts a queued row whose workflow exists without starting it again', async () => {
    // A row still `queued` while its workflow exists: started here, but its first step has not run
    // (the run is terminated before any worker task, so the row keeps `queued`).
    const rcpt = `existing-${randomUUID().slice(0, 8)}@example.com`;
    const id = await insertQueuedMessage(rcpt, longAgo());
    const handle = await h.client.workflow.start('sendEmail', {
      taskQueue: `nobody-polls-${randomUUID()}`,
      workflowId: emailWorkflowId(id),
      args: [{ messageId: id, attachments: [], policy: { sesMaxAttempts: 1, smtpMaxAttempts: 1 } }],
    });
    const counts = await runRepair();
    expect(counts.messages.existing).toBeGreaterThanOrEqual(1);
    const d = await handle.describe();
    expect(d.runId).toBe(handle.firstExecutionRunId);
    expect(d.taskQueue).not.toBe(h.taskQueue);
    await handle.terminate('test done');
    await h.db.delete(messages).where(eq(messages.id, id));
  });
});
