// P1's baselines, run as their own process like Mailroom's worker (so each gets its own core):
//   ceiling — the SES stand-in driven directly with @aws-sdk/client-sesv2, no orchestration, no db;
//   peer    — BullMQ on the local Redis, one job per recipient, a worker calling the same SES client
//             and writing a `sent` row per recipient in Postgres.
// Both compose each message with nodemailer as Mailroom does. Prints one JSON line when done.
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import postgres from 'postgres';
import { createSesClient } from '../../delivery/ses.js';

const mode = process.env.MODE as 'ceiling' | 'peer';
const n = Number(process.env.N);
const concurrency = Number(process.env.CONCURRENCY ?? 32);
const tag = process.env.TAG!;
const ses = createSesClient({
  region: 'us-east-1',
  endpoint: process.env.SES_ENDPOINT!,
  timeoutMs: 5_000,
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});

async function sendOne(i: number): Promise<string> {
  const email = `${tag}-${i}@example.com`;
  const raw = await new MailComposer({
    from: 'News <news@example.com>',
    to: `Person ${i} <${email}>`,
    subject: `Hello Person ${i}`,
    html: `<p>Hi Person ${i}, you are number ${i}</p>`,
    text: `Hi Person ${i}, you are number ${i}`,
  })
    .compile()
    .build();
  const out = await ses.send(
    new SendEmailCommand({
      FromEmailAddress: 'news@example.com',
      Destination: { ToAddresses: [email] },
      Content: { Raw: { Data: raw } },
    }),
  );
  return out.MessageId ?? '';
}

async function ceiling() {
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await sendOne(next++);
    }),
  );
  return { startedAt, endedAt: Date.now() };
}

async function peer() {
  const redis = () => new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null });
  const name = `peer-${tag}`;
  const sql = postgres(process.env.DATABASE_URL!, { max: concurrency, onnotice: () => {} });
  await sql`create table if not exists peer_sent (email text primary key, message_id text not null, at timestamptz not null default now())`;
  const queue = new Queue(name, { connection: redis() });
  let done = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const worker = new Worker(
    name,
    async (job) => {
      const i = job.data.i as number;
      const messageId = await sendOne(i);
      await sql`insert into peer_sent (email, message_id) values (${`${tag}-${i}@example.com`}, ${messageId}) on conflict do nothing`;
    },
    { connection: redis(), concurrency },
  );
  worker.on('completed', () => {
    if (++done === n) resolveAll();
  });
  worker.on('failed', (_job, err) => console.error('peer job failed', err.message));
  await worker.waitUntilReady();
  const startedAt = Date.now();
  for (let i = 0; i < n; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
        name: 'send',
        data: { i: i + j },
        opts: { removeOnComplete: true, removeOnFail: 1000, attempts: 5, backoff: { type: 'exponential', delay: 200 } },
      })),
    );
  }
  await all;
  const [row] = await sql`select extract(epoch from max(at)) * 1000 as last, count(*)::int as rows from peer_sent`;
  const endedAt = Number(row!.last);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await sql.end();
  return { startedAt, endedAt, rows: row!.rows as number };
}

const result = mode === 'peer' ? await peer() : await ceiling();
console.log(JSON.stringify({ result }));
process.exit(0);
