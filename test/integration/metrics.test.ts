// What an operator's Prometheus scrapes: the worker's metrics port (Mailroom's counters and the
// Temporal SDK's own metrics) and the API's /metrics, after a real send through a worker process.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, validEmail, type Harness } from '../support/harness.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';

let h: Harness;
let worker: WorkerProcess;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  worker = spawnWorker(h.workerEnv());
  await worker.ready;
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await h?.close();
});

/** `name{labels} value` lines of a Prometheus text page, as a map. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('metrics', () => {
  it("count a send where it happened: accepted by the API, delivered by the worker, with the SDK's metrics", async () => {
    const res = await h.send(validEmail());
    expect(res.status).toBe(202);
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });

    const running = worker.logLines().find((l) => l.msg === 'worker running');
    const port = running?.metricsPort;
    expect(port).toEqual(expect.any(Number));
    const page = await fetch(`http://127.0.0.1:${String(port)}/metrics`);
    expect(page.status).toBe(200);
    const text = await page.text();
    const w = samples(text);
    expect(w.get('mailroom_provider_calls_total{provider="ses",outcome="accepted"}')).toBe(1);
    expect(w.get('mailroom_send_outcomes_total{kind="single",status="sent",provider="ses"}')).toBe(1);
    expect(w.get('mailroom_provider_call_duration_seconds_count{provider="ses",outcome="accepted"}')).toBe(1);
    expect(w.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    // The Temporal SDK's own, from its Runtime: workflow completions on this worker's task queue.
    const completed = [...w].filter(([k]) => k.startsWith('temporal_workflow_completed_total{'));
    expect(completed.some(([k, v]) => k.includes(`task_queue="${h.taskQueue}"`) && v >= 1)).toBe(true);
    // Labels are bounded: no address or id ever becomes one.
    expect(text).not.toContain(res.body.id);
    expect(text).not.toContain('@example.com');

    // The worker's lines about this send name it: the activities' own and the SDK's.
    await vi.waitFor(() => expect(worker.logLines().some((l) => l.msg === 'delivery attempt')).toBe(true));
    const about = worker.logLines().filter((l) => JSON.stringify(l).includes(res.body.id));
    expect(about.length).toBeGreaterThan(0);
    for (const line of about) expect(line).toMatchObject({ workflowId: `email-${res.body.id}` });
    expect(about.find((l) => l.msg === 'delivery attempt')).toMatchObject({
      messageId: res.body.id,
      status: 'sent',
      provider: 'ses',
    });

    const api = samples(await (await h.app.request('/metrics')).text());
    expect(api.get('mailroom_sends_accepted_total{kind="single"}')).toBe(1);
    expect(api.get('mailroom_oldest_waiting_seconds{status="queued"}')).toBeGreaterThanOrEqual(0);
    expect(api.has('mailroom_provider_circuit_open{provider="ses"}')).toBe(true);
  });
});
