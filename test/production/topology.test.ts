// The production topology, without Docker: the real Temporal server (v1.29.1) on Postgres with
// deploy/temporal-server.yaml and deploy/temporal-dynamic-config.yaml, the namespace and search
// attributes created with the `temporal` CLI as the README says, and Mailroom as the Dockerfile runs
// it: the compiled API and two compiled workers, each its own process, on the queues' real names
// (the dynamic config names `mailroom-bulk`). S3, SES and SMTP are the local stand-ins.
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePort } from '../../local/free-port.js';
import { setupNamespace, startTemporalServer, type TemporalServer } from '../../local/temporal-server.js';
import { emailWorkflowId } from '../../workflows/contracts.js';
import { bulkBody, bulkResult, copiesByAddress } from '../support/bulk.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';
import { spawnApi, spawnWorker, type WorkerProcess } from '../support/worker-process.js';

const run = promisify(execFile);
/** SES sends a second; one bulk batch is one second of it. */
const QUOTA = 40;

let temporal: TemporalServer;
let h: Harness;
let env: Record<string, string>;
let api: WorkerProcess;
let apiUrl: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  temporal = await startTemporalServer(inject('temporalServer'));
  await setupNamespace({ cli: inject('temporalCliPath'), address: temporal.address });
  h = await startHarness({
    worker: false,
    env: {
      TEMPORAL_TASK_QUEUE: 'mailroom',
      BULK_TASK_QUEUE: 'mailroom-bulk',
      SES_MAX_SEND_RATE: String(QUOTA),
      BULK_BATCH_SIZE: String(QUOTA),
    },
  });
  env = { ...h.workerEnv(), WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath') };
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  api = spawnApi({ ...env, PORT: String(port) }, { compiled: true });
  workers.push(spawnWorker(env, { compiled: true }), spawnWorker(env, { compiled: true }));
  await Promise.all([api.ready, ...workers.map((w) => w.ready)]);
});

afterAll(async () => {
  await Promise.all([api, ...workers].map((p) => p?.kill('SIGTERM')));
  await h?.close();
  await temporal?.stop();
});

async function call(path: string, body?: unknown) {
  const res = await fetch(`${apiUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** SendEmail calls SES accepted from this worker, from its own /metrics. */
async function sesAccepted(w: WorkerProcess): Promise<number> {
  const port = w.logLines().find((l) => l.msg === 'worker running')?.metricsPort;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('mailroom_provider_calls_total{') &&
        l.includes('provider="ses"') &&
        l.includes('outcome="accepted"'),
    );
  return line ? Number(line.split(' ').pop()) : 0;
}

const sesCopiesTo = (address: string) => h.ses.messages.filter((m) => m.destination.includes(address));

/** Every Mailroom process still runs (none crashed on what the test did to the others). */
function expectAllRunning() {
  for (const p of [api, ...workers]) expect(p.child.exitCode ?? p.child.signalCode).toBeNull();
}

it('delivers single sends: sent in the API, one copy each at SES, findable by status and recipient', async () => {
  const bodies = Array.from({ length: 5 }, (_, i) => validEmail({ subject: `production single ${i}` }));
  const ids: string[] = [];
  for (const body of bodies) {
    const res = await call('/v1/emails', body);
    expect(res.status).toBe(202);
    ids.push(res.body.id as string);
  }
  await Promise.all(ids.map((id) => h.result(id)));
  for (const [i, id] of ids.entries()) {
    expect((await call(`/v1/emails/${id}`)).body).toMatchObject({ status: 'sent', provider: 'ses' });
    expect(sesCopiesTo(bodies[i]!.to)).toHaveLength(1);
  }
  // Postgres visibility with Mailroom's search attributes: what an operator filters on in the Web UI.
  const query = `MailStatus = "sent" AND MailRecipients = "${bodies[0]!.to}"`;
  await expect.poll(async () => (await h.client.workflow.count(query)).count, { timeout: 15_000 }).toBe(1);
});

it('paces a bulk polled by both workers at the SES quota, not a partition share of it', async () => {
  const before = h.ses.messages.length;
  const accepted = await Promise.all(workers.map(sesAccepted));
  const res = await call('/v1/bulk', bulkBody(400, 'pace'));
  expect(res.status).toBe(202);
  expect(await bulkResult(h, res.body.id)).toMatchObject({ status: 'completed', sent: 400, failed: 0 });
  const times = h.ses.messages.slice(before).map((m) => m.at);
  expect(times).toHaveLength(400);
  const rate = 399 / ((Math.max(...times) - Math.min(...times)) / 1000);
  // The server splits a queue's rate limit across its partitions, and a bulk has one batch waiting
  // at a time: without deploy/temporal-dynamic-config.yaml (the default 4 partitions) this bulk
  // went at 19/s here, with it at 38/s.
  expect(rate).toBeGreaterThan(QUOTA * 0.75);
  expect(rate).toBeLessThan(QUOTA * 1.3);
  // Both workers poll the bulk queue, at the rate the server enforces for all of them together
  // (one batch a second), and between them sent each copy once. Which one runs a batch is the
  // server's choice: this one often hands every batch to one poller while the other waits.
  const { pollers } = await h.client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: 'mailroom-bulk' },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  expect(pollers.map((p) => p.identity).sort()).toEqual(workers.map((w) => `${w.child.pid}@${hostname()}`).sort());
  expect(pollers.map((p) => p.ratePerSecond)).toEqual([1, 1]);
  const perWorker = (await Promise.all(workers.map(sesAccepted))).map((n, i) => n - accepted[i]!);
  expect(perWorker[0]! + perWorker[1]!).toBe(400);
});

it('delivers a failed send when an operator resets its workflow with the temporal CLI', async () => {
  h.ses.failNext('paused');
  h.smtp.failNext(550);
  const body = validEmail();
  const res = await call('/v1/emails', body);
  await h.result(res.body.id);
  expect((await call(`/v1/emails/${res.body.id}`)).body).toMatchObject({ status: 'failed' });

  await run(inject('temporalCliPath'), [
    ...['workflow', 'reset', '--address', temporal.address, '--workflow-id', emailWorkflowId(res.body.id)],
    ...['--type', 'FirstWorkflowTask', '--reason', 'retry after outage'],
  ]);
  const handle = h.client.workflow.getHandle(emailWorkflowId(res.body.id));
  await expect.poll(async () => (await handle.describe()).status.name, { timeout: 15_000 }).toBe('COMPLETED');
  expect((await call(`/v1/emails/${res.body.id}`)).body).toMatchObject({ status: 'sent', provider: 'ses' });
  expect(sesCopiesTo(body.to)).toHaveLength(1);
});

it('loses no recipient and reports nothing false when a worker is SIGKILLed mid-bulk', async () => {
  const before = h.ses.messages.length;
  const res = await call('/v1/bulk', bulkBody(300, 'kill'));
  await h.ses.waitForMessages(before + 80);
  // Killed with SES calls unanswered: SES may or may not take them as the worker dies.
  h.ses.hold();
  await h.ses.waitForHeld(1);
  await workers[0]!.kill('SIGKILL');
  h.ses.release();
  // As an orchestrator would: a new worker in its place.
  workers[0] = spawnWorker(env, { compiled: true });
  await workers[0].ready;

  const result = await bulkResult(h, res.body.id);
  expect(result).toMatchObject({ status: 'completed', total: 300, sent: 300, failed: 0, pending: 0 });
  expect((await call(`/v1/bulk/${res.body.id}`)).body).toMatchObject({ status: 'completed' });
  const copies = copiesByAddress(h.ses.messages, 'kill');
  expect(copies.size).toBe(300);
  // A second copy only where a call's answer died with the worker, and each one counted.
  const extra = [...copies.values()].reduce((sum, c) => sum + c - 1, 0);
  expect(extra).toBeLessThanOrEqual(result.possible_duplicates ?? 0);
  expectAllRunning();
});

it('completes the sends in flight when the Temporal server restarts on the same database', async () => {
  const before = h.ses.messages.length;
  const bulk = await call('/v1/bulk', bulkBody(200, 'restart'));
  const bodies = Array.from({ length: 5 }, (_, i) => validEmail({ subject: `across a restart ${i}` }));
  const singles = await Promise.all(bodies.map((body) => call('/v1/emails', body)));
  expect([bulk.status, ...singles.map((s) => s.status)]).toEqual(Array(6).fill(202));
  await h.ses.waitForMessages(before + 60);

  await temporal.stop();
  await temporal.start();

  const result = await bulkResult(h, bulk.body.id);
  expect(result).toMatchObject({ status: 'completed', total: 200, sent: 200, failed: 0 });
  expect(copiesByAddress(h.ses.messages, 'restart').size).toBe(200);
  for (const [i, s] of singles.entries()) {
    expect(await h.result(s.body.id)).toMatchObject({ status: 'sent' });
    expect((await call(`/v1/emails/${s.body.id}`)).body).toMatchObject({ status: 'sent' });
    expect(sesCopiesTo(bodies[i]!.to)).toHaveLength(1);
  }
  expectAllRunning();
});
