// The providers' circuit breakers: one state per provider endpoint in Postgres, shared by every
// worker. First the breaker itself, as two workers would use it, against the real database; then
// whole sends through two worker processes with the SES stand-in failing.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { inject } from 'vitest';
import { createProviderHealth, type CircuitSettings } from '../../activities/provider-health.js';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { readCircuits, type ProviderEndpoints } from '../../db/circuits.js';
import type { ProviderOutcome } from '../../delivery/outcome.js';
import { providerEndpoints } from '../../config/config.js';
import { emailWorkflowId } from '../../workflows/contracts.js';
import { startFaults, type Faults } from '../support/faults.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';

const quiet = { info: () => {}, warn: () => {} };
const failure503: ProviderOutcome = { kind: 'transient', code: 'ServiceUnavailable', message: 'Service unavailable.' };
const accepted: ProviderOutcome = { kind: 'accepted', providerMessageId: 'x' };

describe('the shared circuit breaker (two workers, one database)', () => {
  let handle: DbHandle;
  beforeAll(async () => {
    handle = await createDb({ url: inject('databaseUrl'), maxConnections: 4 });
  });
  afterAll(() => handle.close());

  const endpoints = (): ProviderEndpoints => ({ ses: `ses-${randomUUID()}`, smtp: `smtp-${randomUUID()}` });
  const settings = (s: Partial<CircuitSettings> = {}): CircuitSettings => ({
    failures: 3,
    windowMs: 60_000,
    probeMs: 60_000,
    refreshMs: 0,
    ...s,
  });
  const twoWorkers = (e: ProviderEndpoints, s: CircuitSettings, atFloor = false) => {
    const quota = { slowDown: () => Promise.resolve(atFloor) };
    return [
      createProviderHealth(handle.db, e, s, quota, quiet),
      createProviderHealth(handle.db, e, s, quota, quiet),
    ] as const;
  };

  it('writes nothing while calls succeed, and opens once for both workers after the failures add up', async () => {
    const e = endpoints();
    const [w1, w2] = twoWorkers(e, settings());
    for (let i = 0; i < 10; i++) {
      expect(await w1.admit('ses')).toEqual({ ok: true });
      expect(await w1.report('ses', accepted)).toBeUndefined();
    }
    expect(await readCircuits(handle.db, e)).toEqual([]);

    expect(await w1.report('ses', failure503)).toBeUndefined();
    expect(await w2.report('ses', failure503)).toBeUndefined();
    const reason = await w1.report('ses', failure503);
    expect(reason).toContain('SES ServiceUnavailable: Service unavailable.');
    await w2.report('ses', failure503); // a worker still finishing a call it started before

    const [row] = await readCircuits(handle.db, e);
    expect(row).toMatchObject({ provider: 'ses', state: 'open', opens: 1 });
    for (const w of [w1, w2]) expect(await w.admit('ses')).toMatchObject({ ok: false });
    // SMTP has its own circuit.
    expect(await w2.admit('smtp')).toEqual({ ok: true });
  });

  it('needs the failures without a success between them', async () => {
    const e = endpoints();
    const [w1, w2] = twoWorkers(e, settings());
    await w1.report('ses', failure503);
    await w2.report('ses', failure503);
    await w1.report('ses', accepted);
    await w2.report('ses', failure503);
    await w1.report('ses', failure503);
    const [row] = await readCircuits(handle.db, e);
    expect(row).toMatchObject({ state: 'closed', failures: 2, opens: 0 });
  });

  it('never counts a rejection, an SMTP reply about one mailbox, or throttling above the floor', async () => {
    const e = endpoints();
    const [w1] = twoWorkers(e, settings({ failures: 1 }));
    for (let i = 0; i < 5; i++) {
      await w1.report('ses', { kind: 'rejected', code: 'MessageRejected', message: 'Email address is not verified.' });
      await w1.report('smtp', { kind: 'transient', code: '450', message: 'mailbox busy' });
      await w1.report('ses', { kind: 'transient', code: 'TooManyRequestsException', message: 'x', throttled: true });
    }
    expect(await readCircuits(handle.db, e)).toEqual([]);
    // The same throttling once the shared pace is at its floor: SES is failing us.
    const [atFloor] = twoWorkers(e, settings({ failures: 1 }), true);
    expect(
      await atFloor.report('ses', {
        kind: 'transient',
        code: 'TooManyRequestsException',
        message: 'x',
        throttled: true,
      }),
    ).toContain('TooManyRequestsException');
  });

  it('lets one probe through per interval across workers, and a successful probe closes it for both', async () => {
    const e = endpoints();
    const [w1, w2] = twoWorkers(e, settings({ failures: 1, probeMs: 300 }));
    await w1.report('ses', failure503);
    await w2.admit('ses'); // w2 learns it is open
    const [opened] = await readCircuits(handle.db, e);
    await new Promise((r) => setTimeout(r, opened!.probeAt!.getTime() - Date.now() + 50));

    const admissions = await Promise.all([w1, w2, w1, w2, w1, w2].map((w) => w.admit('ses')));
    const probes = admissions.filter((a) => a.ok);
    expect(probes).toEqual([{ ok: true, probe: true }]);

    const prober = admissions.findIndex((a) => a.ok) % 2 === 0 ? w1 : w2;
    const other = prober === w1 ? w2 : w1;
    await prober.report('ses', accepted);
    expect(await readCircuits(handle.db, e)).toMatchObject([{ state: 'closed', failures: 0, opens: 1 }]);
    expect(await prober.admit('ses')).toEqual({ ok: true });
    await vi.waitFor(async () => expect(await other.admit('ses')).toEqual({ ok: true }));
  });

  it('keeps answering from what it knows when its database is away, and never throws', async () => {
    const away = await createDb({ url: 'postgres://postgres@127.0.0.1:1/nowhere', maxConnections: 1 });
    try {
      const w = createProviderHealth(
        away.db,
        endpoints(),
        settings({ failures: 1 }),
        { slowDown: async () => false },
        quiet,
      );
      expect(await w.admit('ses')).toEqual({ ok: true });
      expect(await w.report('ses', failure503)).toBeUndefined();
      expect(await w.report('ses', accepted)).toBeUndefined();
    } finally {
      await away.close();
    }
  });
});

describe('sends through two worker processes while SES fails', () => {
  let h: Harness;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    h = await startHarness({
      worker: false,
      env: { CIRCUIT_FAILURES: '3', CIRCUIT_PROBE_SECONDS: '1', SES_MAX_ATTEMPTS: '5', SES_MAX_SEND_RATE: '100' },
    });
    workers = [spawnWorker(h.workerEnv()), spawnWorker(h.workerEnv())];
    await Promise.all(workers.map((w) => w.ready));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    await h?.close();
  });

  const sendOne = async () => {
    const res = await h.send(validEmail());
    expect(res.status).toBe(202);
    return { id: res.body.id as string, result: await h.result(res.body.id) };
  };
  const circuit = async () => {
    const res = await h.app.request('/ready', { headers: { authorization: `Bearer ${API_KEY}` } });
    return ((await res.json()) as { providers: Record<string, Record<string, unknown>> }).providers;
  };

  afterEach(() => h.ses.setFaultRates({}));

  it('opens once for both, sends go straight to SMTP, SES gets only its probes, and SES is used again after recovery', async () => {
    h.ses.setFaultRates({ error503: 1 });
    const started = Date.now();
    const firstWave = [];
    for (let i = 0; i < 6; i++) firstWave.push(...(await Promise.all([sendOne(), sendOne()])));
    for (const { result } of firstWave) expect(result).toMatchObject({ status: 'sent', provider: 'smtp' });
    // Without the breaker: 12 sends × 5 SES attempts. With it: the 3 failures that opened it, the
    // 2 sends in flight, one call per worker that had not yet seen it open, one probe per second.
    expect(h.ses.requests).toBeLessThanOrEqual(3 + 2 + 2 + Math.ceil((Date.now() - started) / 1000));

    const view = await circuit();
    expect(view.ses).toMatchObject({ state: 'open', opens: 1 });
    expect(view.ses!.lastFailure).toContain('ServiceUnavailable');
    expect(view.smtp).toMatchObject({ state: 'closed' });
    const metrics = await (await h.app.request('/metrics')).text();
    expect(metrics).toContain('mailroom_provider_circuit_open{provider="ses"} 1');
    expect(metrics).toContain('mailroom_provider_circuit_open{provider="smtp"} 0');
    // Unauthenticated callers see readiness, not the providers.
    expect(await (await h.app.request('/ready')).json()).not.toHaveProperty('providers');

    // A send after it opened went to SMTP without asking SES, and its attempt says why: once a
    // refresh period (1 s) has passed since it opened, no worker's cached state predates it.
    const openedAt = Date.parse(view.ses!.lastChangeAt as string);
    await new Promise((r) => setTimeout(r, Math.max(0, openedAt + 1_100 - Date.now())));
    const later = await sendOne();
    expect(later.result).toMatchObject({ status: 'sent', provider: 'smtp' });
    const { attempts } = await h.status(later.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ provider: 'smtp', outcome: 'sent' });
    expect(attempts[0].routed_by).toMatch(/^SES circuit open: since .* ServiceUnavailable/);

    // While it stays open, SES sees one probe per interval from both workers together.
    const probesFrom = h.ses.requests;
    const until = Date.now() + 3_500;
    while (Date.now() < until) await Promise.all([sendOne(), sendOne()]);
    const probes = h.ses.requestTimes.slice(probesFrom);
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(probes.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < probes.length; i++) expect(probes[i]! - probes[i - 1]!).toBeGreaterThan(700);
    expect((await circuit()).ses).toMatchObject({ state: 'open', opens: 1 });

    // Recovery: the next probe succeeds and closes it; from then on sends use SES again.
    h.ses.setFaultRates({});
    await vi.waitFor(
      async () => {
        await sendOne();
        expect((await circuit()).ses).toMatchObject({ state: 'closed' });
      },
      { timeout: 10_000, interval: 50 },
    );
    await vi.waitFor(async () => expect((await sendOne()).result.provider).toBe('ses'), { timeout: 5_000 });
    const after = await Promise.all(Array.from({ length: 6 }, sendOne));
    for (const { result } of after) expect(result).toMatchObject({ status: 'sent', provider: 'ses' });
  });

  it('is not opened by rejections', async () => {
    // Whatever the test before left, start from a closed circuit.
    await vi.waitFor(
      async () => {
        await sendOne();
        expect((await circuit()).ses).toMatchObject({ state: 'closed' });
      },
      { timeout: 10_000, interval: 50 },
    );
    h.ses.setFaultRates({ reject: 1 });
    try {
      const rejected = await Promise.all(Array.from({ length: 6 }, sendOne));
      for (const { result } of rejected) expect(result).toMatchObject({ status: 'failed' });
      expect((await circuit()).ses).toMatchObject({ state: 'closed', failures: 0 });
    } finally {
      h.ses.setFaultRates({});
    }
  });
});

describe('an SMTP relay as the primary, SES as its fallback', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { PRIMARY_PROVIDER: 'smtp', CIRCUIT_FAILURES: '2', CIRCUIT_PROBE_SECONDS: '60' } });
  });
  afterAll(() => h?.close());

  it('sends through the relay, fails over to SES when the relay refuses us, then skips the relay while its circuit is open', async () => {
    const healthy = await h.send(validEmail());
    expect(await h.result(healthy.body.id)).toMatchObject({ status: 'sent', provider: 'smtp' });
    expect(h.ses.messages).toHaveLength(0);

    h.smtp.reply('CONNECT', 554, { message: 'no service here' });
    h.smtp.hangUp(); // the pooled connection of the first send: the next ones must connect anew
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await h.send(validEmail());
      ids.push(res.body.id);
      expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });
    }
    const attempts = await Promise.all(ids.map(async (id) => (await h.status(id)).attempts as any[]));
    // The two that opened the circuit: the relay refused (unavailable), SES took it at once.
    for (const a of attempts.slice(0, 2))
      expect(a.map((x) => [x.provider, x.outcome])).toEqual([
        ['smtp', 'unavailable'],
        ['ses', 'sent'],
      ]);
    // After: straight to SES, saying why.
    for (const a of attempts.slice(2)) {
      expect(a).toHaveLength(1);
      expect(a[0]).toMatchObject({ provider: 'ses', outcome: 'sent' });
      expect(a[0].routed_by).toMatch(/^SMTP circuit open: .*554/);
    }
  });
});

describe('our own faults', () => {
  let h: Harness;
  let faults: Faults;
  beforeAll(async () => {
    faults = await startFaults();
    // One counted failure would open it: any of these faults counted as SES failing would show.
    h = await startHarness({ proxy: faults.proxy, worker: false, env: { CIRCUIT_FAILURES: '1' } });
  });
  afterAll(async () => {
    await h?.close();
    await faults?.close();
  });

  const longestPendingAttempt = async (id: string) => {
    const { raw } = await h.client.workflow.getHandle(emailWorkflowId(id)).describe();
    return Math.max(0, ...(raw.pendingActivities ?? []).map((a) => a.attempt ?? 0));
  };

  it('never open a circuit: S3 away before the call, Postgres away after it; every send goes through SES', async () => {
    const attachments = [{ filename: 'a.txt', content: Buffer.from('attached').toString('base64') }];
    const withFile = await Promise.all([1, 2, 3].map(() => h.send(validEmail({ attachments }))));
    const plain = await Promise.all([1, 2, 3].map(() => h.send(validEmail())));
    for (const r of [...withFile, ...plain]) expect(r.status).toBe(202);

    await faults.s3.cut();
    await h.startWorker();
    for (const r of plain) expect(await h.result(r.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });
    // The attachments are out of reach: those sends wait, and call no provider.
    await expect.poll(() => longestPendingAttempt(withFile[0]!.body.id), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await faults.s3.restore();
    for (const r of withFile) expect(await h.result(r.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });

    // SES takes three more, and the database goes away before their outcomes are written.
    h.ses.hold();
    const late = await Promise.all([1, 2, 3].map(() => h.send(validEmail())));
    await h.ses.waitForHeld(3);
    await faults.postgres.cut();
    h.ses.release();
    await expect.poll(() => longestPendingAttempt(late[0]!.body.id), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await faults.postgres.restore();
    for (const r of late) expect(await h.result(r.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });

    expect(h.ses.requests).toBe(9);
    expect(h.smtp.mails).toHaveLength(0);
    expect((await readCircuits(h.db, providerEndpoints(h.config))).filter((c) => c.failures > 0)).toEqual([]);
  }, 180_000);
});
