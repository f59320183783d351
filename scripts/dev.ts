// `npm run dev`: the whole platform in one terminal, on embedded defaults for whatever is not configured.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { createDb } from '../db/create-db.js';
import { listen } from '../api/listen.js';
import { devCertificate } from '../local/dev-certificate.js';
import { freePort } from '../local/free-port.js';
import { LocalSns } from '../local/local-sns.js';
import { localS3Credentials, startLocalS3 } from '../local/s3-server.js';
import { SesStandIn } from '../local/ses-stand-in.js';
import { SmtpSink } from '../local/smtp-sink.js';
import { startTemporalDevServer } from '../local/temporal-dev-server.js';
import { startTracing } from '../telemetry/tracing.js';
import { temporalClient } from '../temporal/client.js';
import { temporalConnectionOptions } from '../temporal/connection.js';
import { activityDepsFromConfig } from '../worker/clients.js';
import { createWorkers } from '../worker/create-worker.js';
import { temporalLogger } from '../worker/temporal-logger.js';
import { ensureRepairScheduleEventually, repairScheduleSettings } from '../worker/repair-schedule.js';
import { resolveTemporalCli } from './temporal-cli.mjs';

const env = { ...process.env };
const base = loadConfig(env);
const logger = createLogger(base);
// Before anything of the SDK's native side starts (the worker's connection, a downloaded dev server).
Runtime.install({ logger: temporalLogger(logger, base.LOG_LEVEL) });
const dataDir = resolve(base.DATA_DIR);
mkdirSync(dataDir, { recursive: true });
const say = (m: string) => console.log(`[dev] ${m}`);
const stops: (() => Promise<unknown>)[] = [];

// A stable dev key, so curl commands keep working across restarts.
if (base.API_KEYS.length === 0) {
  const keyFile = join(dataDir, 'dev-api-key');
  if (!existsSync(keyFile))
    writeFileSync(keyFile, `mr_dev_${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  env.API_KEYS = readFileSync(keyFile, 'utf8').trim();
}

// The same for the SES v2-compatible endpoint: one access key pair, kept across restarts.
if (base.SES_ACCESS_KEYS.length === 0) {
  const pairFile = join(dataDir, 'dev-ses-access-key');
  if (!existsSync(pairFile)) {
    const id = `AKIAMRDEV${randomBytes(8).toString('hex').toUpperCase().slice(0, 11)}`;
    writeFileSync(pairFile, `${id}:${randomBytes(30).toString('base64url')}\n`, { mode: 0o600 });
  }
  env.SES_ACCESS_KEYS = readFileSync(pairFile, 'utf8').trim();
}

// A stable payload key too: the Temporal history in DATA_DIR stays readable after a restart. It
// lives next to that history (deleting .data deletes both).
if (base.PAYLOAD_KEYS.length === 0 && !base.PAYLOAD_PLAINTEXT) {
  const keyFile = join(dataDir, 'dev-payload-key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, `dev-1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  env.PAYLOAD_KEYS = readFileSync(keyFile, 'utf8').trim();
}

// Dev mode's receivers are on this machine (a local test server, a tunnel's local end).
env.WEBHOOK_ALLOW_PRIVATE_TARGETS ||= 'true';
// The email_server form API needs a sender; the local SES accepts any.
env.COMPAT_FROM_ADDRESS ||= 'noreply@mailroom.local';

let temporalUi: string | undefined;
if (!process.env.TEMPORAL_ADDRESS) {
  say('starting the Temporal dev server…');
  const server = await startTemporalDevServer({
    cliPath: await resolveTemporalCli({ log: say }),
    dbFile: join(dataDir, 'temporal.db'),
    port: 7233,
    uiPort: base.TEMPORAL_UI_PORT,
    logFile: join(dataDir, 'temporal.log'),
    codecEndpoint: `http://localhost:${base.PORT}/codec`,
  });
  stops.push(server.stop);
  env.TEMPORAL_ADDRESS = server.address;
  temporalUi = server.uiUrl;
  // The console links each send to its workflow in this UI.
  if (temporalUi) env.TEMPORAL_UI_URL ||= temporalUi;
}

if (!base.S3_ENDPOINT) {
  mkdirSync(join(dataDir, 's3'), { recursive: true });
  const s3 = await startLocalS3({ directory: join(dataDir, 's3'), port: 4569, bucket: base.S3_BUCKET });
  stops.push(s3.close);
  Object.assign(env, {
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: localS3Credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: localS3Credentials.secretAccessKey,
  });
}

let mailViewer: string | undefined;
let sesCredentials: { accessKeyId: string; secretAccessKey: string } | undefined;
let simulator: { ses: SesStandIn; sns: LocalSns } | undefined;
if (!base.SES_ENDPOINT && !base.AWS_REGION) {
  // CommonJS with `exports.default`: require() gives the same answer under every loader.
  const startSesEmulator = createRequire(import.meta.url)('aws-ses-v2-local').default as (o: object) => Promise<Server>;
  const server = await startSesEmulator({ host: '127.0.0.1', port: 8005 });
  stops.push(() => new Promise((r) => server.close(r)));
  mailViewer = 'http://127.0.0.1:8005';
  // In front of the emulator (which keeps and shows the mail): the SES mailbox simulator, whose
  // events reach the webhook signed by a local SNS that only this dev config trusts.
  const sns = await LocalSns.start({ dir: join(dataDir, 'sns'), port: 8007 });
  const ses = await SesStandIn.start({ port: 8006, forwardTo: mailViewer });
  stops.push(
    () => ses.close(),
    () => sns.close(),
  );
  simulator = { ses, sns };
  env.SES_ENDPOINT = ses.endpoint;
  Object.assign(env, sns.env, { SNS_TOPIC_ARNS: [base.SNS_TOPIC_ARNS, sns.topicArn].flat().join(',') });
  sesCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };
}

let smtpNote = base.SMTP_URL ?? '';
if (!base.SMTP_URL) {
  const outbox = join(dataDir, 'smtp-outbox');
  mkdirSync(outbox, { recursive: true });
  const sink = await SmtpSink.start({
    port: 2525,
    onMail: (m) => writeFileSync(join(outbox, `${new Date(m.at).toISOString().replace(/[:.]/g, '-')}.eml`), m.raw),
  });
  stops.push(() => sink.close());
  env.SMTP_URL = sink.url;
  smtpNote = `${sink.url}  (failover mail is saved in ${outbox})`;
}

// SMTP submission on a free port unless one is configured, with a self-signed certificate unless given one.
env.SMTP_SUBMISSION_PORT ||= String(await freePort());
if (!base.SMTP_SUBMISSION_TLS_CERT_FILE && !base.SMTP_SUBMISSION_TLS_KEY_FILE) {
  const cert = devCertificate(join(dataDir, 'smtp-submission'));
  Object.assign(env, { SMTP_SUBMISSION_TLS_CERT_FILE: cert.certFile, SMTP_SUBMISSION_TLS_KEY_FILE: cert.keyFile });
}

const config = loadConfig(env);
// API and worker in one process: one service name for both.
const tracing = startTracing(config, 'mailroom');
const dbHandle = await createDb(
  config.DATABASE_URL ? { url: config.DATABASE_URL } : { pglitePath: join(dataDir, 'pglite') },
);
await dbHandle.migrate();

const deps = await activityDepsFromConfig(config, dbHandle.db, { sesCredentials });
await deps.objects.ensureBucket();
const workerConnection = await NativeConnection.connect(temporalConnectionOptions(config));
const worker = await createWorkers({
  connection: workerConnection,
  config,
  deps,
  tracing,
});
const workerDone = worker.run();
void ensureRepairScheduleEventually(
  temporalClient(workerConnection, config, tracing),
  repairScheduleSettings(config),
  logger,
);

const connection = await Connection.connect(temporalConnectionOptions(config));
const api = await listen({
  config,
  db: dbHandle.db,
  temporal: temporalClient(connection, config, tracing),
  objects: deps.objects,
  logger,
  tracing,
});

const apiUrl = `http://localhost:${config.PORT}`;
simulator?.ses.simulate({ sns: simulator.sns, webhookUrl: `http://127.0.0.1:${config.PORT}/v1/webhooks/ses` });
console.log(`
Mailroom is running (Ctrl-C stops everything)

  API            ${apiUrl}        docs: ${apiUrl}/docs
  Console        ${apiUrl}/console  (sign in with the API key)
  Metrics        ${apiUrl}/metrics  (the API and the in-process worker: one process in dev mode)
  API key        ${config.API_KEYS[0]}
  SES v2 API     ${apiUrl}  access key ${config.SES_ACCESS_KEYS[0]!.accessKeyId}  secret ${config.SES_ACCESS_KEYS[0]!.secret}
  Temporal UI    ${temporalUi ? `${temporalUi}  (payloads are encrypted: see README, "Reading payloads in the Web UI")` : `(external Temporal at ${config.TEMPORAL_ADDRESS})`}
  Mail viewer    ${mailViewer ? `${mailViewer}  (SES emulator; mail to bounce@simulator.amazonses.com bounces)` : `real SES in ${config.AWS_REGION ?? config.SES_ENDPOINT}`}
  SMTP fallback  ${smtpNote}
  SMTP submit    localhost:${api.smtp?.port}  STARTTLS (certificate: ${config.SMTP_SUBMISSION_TLS_CERT_FILE}), any user, the API key as password
  Database       ${config.DATABASE_URL ? 'DATABASE_URL' : `PGlite in ${join(dataDir, 'pglite')}`}

Send one:
  curl -s ${apiUrl}/v1/emails -H "Authorization: Bearer ${config.API_KEYS[0]}" -H 'Content-Type: application/json' \\
    -d '{"from":"Mailroom <hello@example.com>","to":"ana@example.com","subject":"Hi","text":"It works."}'

Or with the AWS SDK (@aws-sdk/client-sesv2), unchanged but for the endpoint:
  new SESv2Client({ endpoint: '${apiUrl}', region: 'us-east-1',
    credentials: { accessKeyId: '${config.SES_ACCESS_KEYS[0]!.accessKeyId}', secretAccessKey: '${config.SES_ACCESS_KEYS[0]!.secret}' } })
`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  api.http.close();
  void api.smtp?.close();
  worker.shutdown();
  await workerDone.catch(() => {});
  await tracing?.shutdown().catch(() => {});
  deps.smtp.close();
  await Promise.allSettled([workerConnection.close(), connection.close(), dbHandle.close()]);
  for (const stop of stops.reverse()) await stop().catch(() => {});
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
