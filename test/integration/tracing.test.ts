// One trace from the HTTP request to the provider call: the API and a worker run as their own
// processes, as an operator runs them, exporting over OTLP/HTTP to a real receiver.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { spawnApi, spawnWorker, type WorkerProcess } from '../support/worker-process.js';

let h: Harness;
let receiver: OtlpReceiver;
let worker: WorkerProcess;
let api: WorkerProcess;
let apiUrl: string;
beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  h = await startHarness({ worker: false });
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    // Spans leave within 50 ms of ending rather than the default 5 s.
    OTEL_BSP_SCHEDULE_DELAY: '50',
  };
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  worker = spawnWorker({ ...h.workerEnv(), ...otel });
  api = spawnApi({ ...h.workerEnv(), ...otel, PORT: String(port) });
  await Promise.all([worker.ready, api.ready]);
});
afterAll(async () => {
  await Promise.all([worker?.kill('SIGTERM'), api?.kill('SIGTERM')]);
  await h?.close();
  await receiver?.close();
});

const SERVER = 2;

describe('tracing', () => {
  it('links one POST to its provider call in one trace: request, workflow start, workflow, activity, SES call', async () => {
    // The caller's own trace: the API continues it rather than starting one.
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const email = validEmail({ subject: `Tracing subject ${randomBytes(4).toString('hex')}` });
    const res = await fetch(`${apiUrl}/v1/emails`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      body: JSON.stringify(email),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(await h.result(id)).toMatchObject({ status: 'sent', provider: 'ses' });

    const named = (spans: ReceivedSpan[], name: string) => spans.find((s) => s.traceId === traceId && s.name === name);
    const wanted = [
      'StartWorkflow:sendEmail',
      'RunWorkflow:sendEmail',
      'StartActivity:sendMessage',
      'RunActivity:sendMessage',
      'ses.send',
    ];
    const spans = await receiver.until(
      (all) =>
        all.some((s) => s.traceId === traceId && s.kind === SERVER && s.name.startsWith('POST')) &&
        wanted.every((n) => named(all, n)),
    );
    const server = spans.find((s) => s.traceId === traceId && s.kind === SERVER && s.name.startsWith('POST'))!;
    const [start, run, schedule, activity, call] = wanted.map((n) => named(spans, n)!);

    expect(server).toMatchObject({ service: 'mailroom-api', parentSpanId: callerSpanId, name: 'POST /v1/emails' });
    expect(server.attributes).toMatchObject({ 'http.route': '/v1/emails', 'http.response.status_code': 202 });
    expect(start).toMatchObject({ service: 'mailroom-api', parentSpanId: server.spanId });
    expect(run).toMatchObject({ service: 'mailroom-worker', parentSpanId: start!.spanId });
    expect(schedule).toMatchObject({ service: 'mailroom-worker', parentSpanId: run!.spanId });
    expect(activity).toMatchObject({ service: 'mailroom-worker', parentSpanId: schedule!.spanId });
    expect(call).toMatchObject({ service: 'mailroom-worker', parentSpanId: activity!.spanId });
    expect(call!.attributes).toEqual({ 'mailroom.provider': 'ses', 'mailroom.outcome': 'accepted' });

    // Nothing exported by either process names the recipient or quotes the subject.
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain(email.to);
    expect(exported).not.toContain(email.subject);
    expect(exported).not.toContain('example.com');
    // Workflow spans carry the workflow's ids and names, not its search attributes or memo.
    expect(Object.keys(run!.attributes).sort()).toEqual(
      ['attempt', 'namespace', 'runId', 'taskQueue', 'workflowId', 'workflowType'].sort(),
    );
  });

  it('keeps an address in the URL out of the request span: the route pattern stands for the URL', async () => {
    const traceId = randomBytes(16).toString('hex');
    const address = `traced-${randomBytes(4).toString('hex')}@example.org`;
    const res = await fetch(`${apiUrl}/v1/suppressions/${encodeURIComponent(address)}?to=${address}`, {
      method: 'DELETE',
      headers: {
        authorization: `Bearer ${API_KEY}`,
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
    });
    expect(res.status).toBeLessThan(500);
    const spans = await receiver.until((all) => all.some((s) => s.traceId === traceId && s.kind === SERVER));
    const server = spans.find((s) => s.traceId === traceId && s.kind === SERVER)!;
    expect(server.attributes).toMatchObject({
      'url.full': `${apiUrl}/v1/suppressions/:email`,
      'http.route': '/v1/suppressions/:email',
    });
    // The refusal stays visible by its type; its message ("<address> is not suppressed") does not leave.
    const events = (server.raw as { events: { name: string; attributes: { key: string }[] }[] }).events;
    expect(events).toEqual([
      expect.objectContaining({ name: 'exception', attributes: [expect.objectContaining({ key: 'exception.type' })] }),
    ]);
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain(address);
    expect(exported).not.toContain(encodeURIComponent(address));
  });
});
