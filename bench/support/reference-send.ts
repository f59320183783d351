// P7's three single-send paths and what they cost, all on the stack's one dev server:
//   Mailroom  — POST /v1/emails through the API and worker processes, done when the row is `sent`;
//   reference — the minimal one-workflow-one-activity send (reference-workflows.ts) on its own
//               worker and task queue in the bench process, SES SendEmail through the AWS SDK to the
//               same stand-in and one INSERT per message (also with the activity run locally);
//   peer      — BullMQ, one job per message (direct-send.ts, MODE=peer).
// Plus the meters around each run: CPU of the processes, the dev server's persistence requests.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import postgres from 'postgres';
import { createSesClient } from '../../delivery/ses.js';
import { temporalDataConverter } from '../../temporal/data-converter.js';
import { API_KEY, benchPayloadEncryption, type Stack } from './stack.js';
import { spawnProc } from './processes.js';
import { percentile } from './report.js';
import type { ReferenceInput } from './reference-workflows.js';

export const REFERENCE_QUEUE = 'p7-reference';
const referenceWorkflows = fileURLToPath(
  new URL(`./reference-workflows${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

export interface SendRun {
  n: number;
  startedAt: number;
  /** When the last start (POST, workflow start) returned. */
  acceptedAt: number;
  /** The last message's outcome row. */
  endedAt: number;
  /** Messages per second from the first start to the last outcome row. */
  rate: number;
  /** Per message: start call begun → outcome row written, ms, sorted. */
  latencies: number[];
  p50: number;
  p99: number;
  /** Outcome rows that are not `sent` (Mailroom) at the end. */
  notSent: number;
}

/** From each message's start time and outcome time (ms since the epoch). */
function summarize(
  n: number,
  startedAt: number,
  acceptedAt: number,
  done: { begun: number; at: number }[],
  notSent = 0,
): SendRun {
  const latencies = done.map((d) => d.at - d.begun).sort((a, b) => a - b);
  const endedAt = done.reduce((m, d) => Math.max(m, d.at), 0);
  return {
    n,
    startedAt,
    acceptedAt,
    endedAt,
    rate: n / ((endedAt - startedAt) / 1000),
    latencies,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    notSent,
  };
}

/** `concurrency` loops calling start(i) for i = 0..n-1; returns when each start was begun. */
async function startAll(n: number, concurrency: number, start: (i: number) => Promise<void>) {
  const begun = new Array<number>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        begun[i] = Date.now();
        await start(i);
      }
    }),
  );
  return { begun, acceptedAt: Date.now() };
}

async function until(what: string, timeoutMs: number, done: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** n POST /v1/emails, `concurrency` in flight; done when every row has an outcome. */
export async function runMailroom(stack: Stack, n: number, concurrency: number, tag: string, timeoutMs = 600_000) {
  const ids = new Array<string>(n);
  const startedAt = Date.now();
  const { begun, acceptedAt } = await startAll(n, concurrency, async (i) => {
    const res = await fetch(`${stack.apiUrl}/v1/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: 'Bench <bench@example.com>',
        to: `${tag}-${i}@example.com`,
        subject: `Hello Person ${i}`,
        text: `Hi Person ${i}, you are number ${i}`,
        html: `<p>Hi Person ${i}, you are number ${i}</p>`,
      }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 202 || !body.id) throw new Error(`POST /v1/emails answered ${res.status}`);
    ids[i] = body.id;
  });
  await until(`Mailroom ${tag}`, timeoutMs, async () => {
    const [r] =
      await stack.sql`select count(*)::int as done from messages where id = any(${ids}) and status in ('sent', 'failed', 'unknown')`;
    return r!.done === n;
  });
  const rows = await stack.sql<{ id: string; status: string; at: number }[]>`
    select id, status, extract(epoch from coalesce(sent_at, updated_at)) * 1000 as at from messages where id = any(${ids})`;
  const index = new Map(ids.map((id, i) => [id, i]));
  const done = rows.map((r) => ({ begun: begun[index.get(r.id)!]!, at: Number(r.at) }));
  return { ...summarize(n, startedAt, acceptedAt, done, rows.filter((r) => r.status !== 'sent').length), ids };
}

/** The reference's worker in this process: default options, its own task queue. */
export async function startReferenceWorker(stack: Stack) {
  const sql = postgres(stack.dbUrl, { max: 10, onnotice: () => {} });
  await sql`create table if not exists p7_reference (tag text not null, i int not null, message_id text not null, at timestamptz not null default clock_timestamp(), primary key (tag, i))`;
  const ses = createSesClient({
    region: 'us-east-1',
    endpoint: stack.ses.endpoint,
    timeoutMs: 5_000,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const activities = {
    async referenceDeliver({ tag, i }: ReferenceInput): Promise<string> {
      const email = `${tag}-${i}@example.com`;
      const raw = await new MailComposer({
        from: 'Bench <bench@example.com>',
        to: email,
        subject: `Hello Person ${i}`,
        text: `Hi Person ${i}, you are number ${i}`,
        html: `<p>Hi Person ${i}, you are number ${i}</p>`,
      })
        .compile()
        .build();
      const out = await ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'bench@example.com',
          Destination: { ToAddresses: [email] },
          Content: { Raw: { Data: raw } },
        }),
      );
      const messageId = out.MessageId ?? '';
      await sql`insert into p7_reference (tag, i, message_id) values (${tag}, ${i}, ${messageId}) on conflict do nothing`;
      return messageId;
    },
  };
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  const worker = await Worker.create({
    connection,
    taskQueue: REFERENCE_QUEUE,
    // The stack's client starts these too: the same converter, and the same cost as Mailroom's sends.
    dataConverter: temporalDataConverter(benchPayloadEncryption),
    workflowsPath: referenceWorkflows,
    activities,
  });
  const running = worker.run();
  return {
    sql,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      ses.destroy();
      await sql.end({ timeout: 5 });
    },
  };
}

/** n reference workflows started with the Temporal client, `concurrency` starts in flight; done
 * when every message has its row (as Mailroom's POST returns after the start). */
export async function runReference(
  client: Client,
  sql: postgres.Sql,
  o: { n: number; concurrency: number; tag: string; workflowType: 'referenceSend' | 'referenceSendLocal' },
  timeoutMs = 600_000,
) {
  const startedAt = Date.now();
  const { begun, acceptedAt } = await startAll(o.n, o.concurrency, async (i) => {
    await client.workflow.start(o.workflowType, {
      taskQueue: REFERENCE_QUEUE,
      workflowId: `p7-${o.tag}-${i}`,
      args: [{ tag: o.tag, i }],
    });
  });
  await until(`reference ${o.tag}`, timeoutMs, async () => {
    const [r] = await sql`select count(*)::int as done from p7_reference where tag = ${o.tag}`;
    return r!.done === o.n;
  });
  const rows = await sql<
    { i: number; at: number }[]
  >`select i, extract(epoch from at) * 1000 as at from p7_reference where tag = ${o.tag}`;
  return summarize(
    o.n,
    startedAt,
    acceptedAt,
    rows.map((r) => ({ begun: begun[r.i]!, at: Number(r.at) })),
  );
}

/** BullMQ job per message (direct-send.ts MODE=peer) in its own process: messages/s. */
export async function runPeer(stack: Stack, n: number, concurrency: number, tag: string) {
  const p = spawnProc({
    name: 'peer',
    command: process.execPath,
    args: ['--import', 'tsx', 'bench/support/direct-send.ts'],
    env: {
      MODE: 'peer',
      N: String(n),
      CONCURRENCY: String(concurrency),
      TAG: tag,
      SES_ENDPOINT: stack.ses.endpoint,
      DATABASE_URL: stack.dbUrl,
    },
  });
  let out = '';
  p.child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => void p.kill('SIGKILL'), 600_000);
  await p.exited;
  clearTimeout(timer);
  const line = out.split('\n').find((l) => l.startsWith('{"result"'));
  if (!line) throw new Error(`BullMQ peer printed no result:\n${out.slice(-2000)}`);
  const r = JSON.parse(line).result as { startedAt: number; endedAt: number; rows: number };
  return { ...r, rate: n / ((r.endedAt - r.startedAt) / 1000) };
}

/** Events in one workflow's history. */
export async function historyEvents(client: Client, workflowId: string) {
  const h = await client.workflow.getHandle(workflowId).fetchHistory();
  const names = proto.temporal.api.enums.v1.EventType as unknown as Record<number, string>;
  return (h.events ?? []).map((e) =>
    (names[Number(e.eventType)] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '').toLowerCase(),
  );
}

// ---- meters ----

/** CPU time (user + system) of a live process, ms; 0 once it is gone. */
export function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** Busy and total CPU of the machine (all cores), ms. */
function machineCpuMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3]! + (f[4] ?? 0);
  return { busy: ((total - idle) * 1000) / 100, total: (total * 1000) / 100 };
}

/** The dev server's Prometheus endpoint: `--metrics-port` defaults to a random free port. */
export async function findMetricsUrl(pid: number): Promise<string | undefined> {
  let listing: string;
  try {
    listing = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const ports = listing
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => /127\.0\.0\.1:(\d+)|\*:(\d+)|\]:(\d+)/.exec(l))
    .map((m) => m && (m[1] ?? m[2] ?? m[3]))
    .filter((p): p is string => !!p);
  for (const port of ports) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
      const text = await res.text();
      if (text.includes('persistence_requests')) return `http://127.0.0.1:${port}/metrics`;
    } catch {
      // not the metrics listener
    }
  }
  return undefined;
}

/** persistence_requests (and visibility_…) summed by operation, over namespaces and services. */
async function persistenceByOperation(url: string | undefined): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!url) return out;
  const text = await (await fetch(url)).text();
  for (const line of text.split('\n')) {
    const m = /^(visibility_)?persistence_requests\{([^}]*)\} ([0-9.e+]+)$/.exec(line);
    if (!m) continue;
    const op = /operation="([^"]+)"/.exec(m[2]!)?.[1] ?? '?';
    const key = `${m[1] ? 'visibility:' : ''}${op}`;
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

const readOps = /^(visibility:)?(Get|List|Read|Count|Assert|Scan)/;

export interface Meter {
  stop(n: number): Promise<MeterResult>;
}

export interface MeterResult {
  seconds: number;
  /** CPU ms per message, per named process. */
  cpuMsPerMessage: Record<string, number>;
  /** The whole machine's busy share of its cores over the run (others' processes included). */
  machineBusy: number;
  /** Dev server persistence requests per message: all, writes, and the busiest operations. */
  persistencePerMessage?: { all: number; writes: number; top: [string, number][] };
}

/** CPU of the given processes (this process: pid 0), the machine, and the dev server's persistence. */
export async function meter(pids: Record<string, number>, metricsUrl: string | undefined): Promise<Meter> {
  const t0 = Date.now();
  const self0 = process.cpuUsage();
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? procCpuMs(pid) : 0]));
  const m0 = machineCpuMs();
  const p0 = await persistenceByOperation(metricsUrl);
  return {
    async stop(n) {
      const p1 = await persistenceByOperation(metricsUrl);
      const m1 = machineCpuMs();
      const self = process.cpuUsage(self0);
      const cpuMsPerMessage: Record<string, number> = {};
      for (const [k, pid] of Object.entries(pids))
        cpuMsPerMessage[k] = (pid ? procCpuMs(pid) - cpu0[k]! : (self.user + self.system) / 1000) / n;
      let persistencePerMessage: MeterResult['persistencePerMessage'];
      if (metricsUrl) {
        const diff = [...p1].map(([op, v]) => [op, (v - (p0.get(op) ?? 0)) / n] as [string, number]);
        const all = diff.reduce((a, [, v]) => a + v, 0);
        const writes = diff.filter(([op]) => !readOps.test(op)).reduce((a, [, v]) => a + v, 0);
        const top = diff
          .filter(([, v]) => v >= 0.05)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8);
        persistencePerMessage = { all, writes, top };
      }
      return {
        seconds: (Date.now() - t0) / 1000,
        cpuMsPerMessage,
        machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
        persistencePerMessage,
      };
    },
  };
}
