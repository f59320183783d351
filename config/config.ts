import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const optionalString = z.string().trim().optional();
const commaList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  );

/** `id:key`, the key 32 bytes in base64 (`openssl rand -base64 32`); the message never shows the key. */
const payloadKey = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}:/, 'each entry is `id:base64-key`, the id of letters, digits, `_`, `.` or `-`')
  .refine((v) => Buffer.from(v.slice(v.indexOf(':') + 1), 'base64').length === 32, {
    message: 'each key must be 32 bytes in base64 (openssl rand -base64 32)',
  });

/**
 * Every setting Mailroom reads, all from the environment. Defaults make `npm run dev` work on a
 * laptop; production sets the URLs. `.env.example` and the README's table document each one.
 */
const schema = z.object({
  /** HTTP port of the API. */
  PORT: int(0, 65535).default(3000),
  /**
   * Comma-separated API keys accepted as `Authorization: Bearer <key>`: admins (every scope) of the
   * `default` tenant; other keys are made with `POST /v1/api-keys`. Dev mode makes one when empty.
   */
  API_KEYS: commaList,
  /**
   * Keys that encrypt every payload Mailroom exchanges with Temporal (AES-256-GCM): `id:base64`,
   * comma-separated. The first encrypts; every one decrypts, so a key is rotated by putting a new
   * one first and keeping the old while histories it encrypted are kept. API and workers need the
   * same list. Dev mode makes one when empty; production refuses to start without one unless
   * PAYLOAD_PLAINTEXT=true.
   */
  PAYLOAD_KEYS: commaList.pipe(z.array(payloadKey)),
  /** The explicit choice to keep Temporal payloads (subjects, addresses, summaries) in plaintext: no PAYLOAD_KEYS. */
  PAYLOAD_PLAINTEXT: bool.default(false),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where dev mode keeps its state (Temporal db, PGlite, S3 objects). */
  DATA_DIR: z.string().default('.data'),

  /** Postgres URL. Unset in dev mode: an embedded PGlite database in DATA_DIR. */
  DATABASE_URL: optionalString,

  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /**
   * TLS to the Temporal frontend, trusting the system's CAs (Temporal Cloud). Implied by any of the
   * TEMPORAL_TLS_* files and by TEMPORAL_API_KEY.
   */
  TEMPORAL_TLS: bool.default(false),
  /** PEM CA that signed the frontend's certificate, for a cluster with a private CA. */
  TEMPORAL_TLS_CA_FILE: optionalString,
  /** PEM client certificate (mTLS, e.g. Temporal Cloud with certificates); with TEMPORAL_TLS_KEY_FILE. */
  TEMPORAL_TLS_CERT_FILE: optionalString,
  /** PEM private key of TEMPORAL_TLS_CERT_FILE. */
  TEMPORAL_TLS_KEY_FILE: optionalString,
  /** The name the frontend's certificate is checked against (SNI), when it differs from TEMPORAL_ADDRESS's host. */
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  /** API key for the Temporal frontend (Temporal Cloud API keys), sent as a bearer token over TLS. */
  TEMPORAL_API_KEY: optionalString,
  /** Task queue of the send workflows and their activities. */
  TEMPORAL_TASK_QUEUE: z.string().default('mailroom'),
  /** Dev mode only: Temporal Web UI port. */
  TEMPORAL_UI_PORT: int(1, 65535).default(8233),
  /** Temporal Web UI base URL: the console links each send and bulk to its workflow there. Default: http://localhost:<TEMPORAL_UI_PORT>. */
  TEMPORAL_UI_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  /** How long a console sign-in lasts. Sessions are signed with the API key itself: removing the key ends them too. */
  CONSOLE_SESSION_HOURS: int(1, 24 * 30).default(12),

  /** S3-compatible endpoint; unset means AWS S3 (or, in dev mode, a local S3 server). */
  S3_ENDPOINT: optionalString,
  S3_BUCKET: z.string().default('mailroom-attachments'),
  S3_REGION: z.string().default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool.optional(),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,

  /** AWS region of SES. Unset in dev mode (with no SES_ENDPOINT): a local SES v2 emulator. */
  AWS_REGION: optionalString,
  /** SES v2 endpoint override (an emulator or a VPC endpoint). */
  SES_ENDPOINT: optionalString,
  /** Optional SES configuration set for event publishing. */
  SES_CONFIGURATION_SET: optionalString,
  /** SES request timeout; a hung connection counts as a transient failure. */
  SES_TIMEOUT_MS: int(100).default(10_000),
  /** SES attempts on throttling/5xx/network errors before failing over to SMTP. */
  SES_MAX_ATTEMPTS: int(1).default(5),
  /** First retry delay of a provider call (SES or SMTP); doubles each attempt, with full jitter. */
  RETRY_BASE_MS: int(1).default(1_000),
  /** Upper bound of one retry delay. */
  RETRY_MAX_MS: int(1).default(60_000),

  /** SMTP fallback, e.g. smtp://user:pass@host:587. Unset in dev mode: a local SMTP sink. */
  SMTP_URL: optionalString,
  /** Budget of each SMTP phase (connect, greeting, each reply): a hung relay ends before the activity does. */
  SMTP_TIMEOUT_MS: int(100).default(15_000),
  /** SMTP attempts before the send is recorded as failed. */
  SMTP_MAX_ATTEMPTS: int(1).default(8),
  /** PEM file of the CA(s) the relay's certificate chains to (a private relay), read when the worker starts. */
  SMTP_TLS_CA_FILE: optionalString,
  /** Reuse SMTP connections across sends (SMTP_URL's `?pool=` wins). */
  SMTP_POOL: bool.default(true),
  /** Pooled SMTP connections per worker process (SMTP_URL's `?maxConnections=` wins). */
  SMTP_MAX_CONNECTIONS: int(1).default(5),
  /** Messages over one pooled connection before it is replaced (SMTP_URL's `?maxMessages=` wins). */
  SMTP_MAX_MESSAGES: int(1).default(100),

  /** The provider every send tries first; the other is its fallback (`smtp`: an SMTP relay first, SES when it cannot). */
  PRIMARY_PROVIDER: z.enum(['ses', 'smtp']).default('ses'),
  /** Provider failures (5xx, timeouts, unreachable), with no success between them, that open its circuit… */
  CIRCUIT_FAILURES: int(1).default(5),
  /** …within this many seconds of the first. */
  CIRCUIT_WINDOW_SECONDS: int(1).default(30),
  /** While a circuit is open its provider gets one probe send per this many seconds; a success closes it. */
  CIRCUIT_PROBE_SECONDS: int(1).default(10),

  /**
   * SMTP submission (587 in production) for senders that only speak SMTP: STARTTLS, then AUTH with an
   * API key as the password. Unset: no SMTP listener (dev mode picks a free port).
   */
  SMTP_SUBMISSION_PORT: int(0, 65535).optional(),
  /** PEM certificate (chain) STARTTLS presents on SMTP_SUBMISSION_PORT, read when the API starts; dev mode makes a self-signed one. */
  SMTP_SUBMISSION_TLS_CERT_FILE: optionalString,
  /** PEM private key of SMTP_SUBMISSION_TLS_CERT_FILE. */
  SMTP_SUBMISSION_TLS_KEY_FILE: optionalString,

  /** The sender of `POST /api/email/send` (the email_server form API); its `sender_name` sets only the display name. */
  COMPAT_FROM_ADDRESS: optionalString,
  /**
   * Credentials of the SES v2-compatible endpoint (`/v2/email/…`, AWS Signature Version 4), as
   * comma-separated `ACCESS_KEY_ID:SECRET` pairs; each pair is its own tenant. Dev mode makes one when empty.
   */
  SES_ACCESS_KEYS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const pairs: { accessKeyId: string; secret: string }[] = [];
      for (const [i, entry] of v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .entries()) {
        const colon = entry.indexOf(':');
        const accessKeyId = entry.slice(0, colon);
        const secret = entry.slice(colon + 1);
        // Never echo the entry: it holds a secret.
        if (colon < 0 || !/^[A-Za-z0-9]{4,128}$/.test(accessKeyId))
          ctx.addIssue({
            code: 'custom',
            message: `pair ${i + 1} must be ACCESS_KEY_ID:SECRET, the id 4-128 letters/digits`,
          });
        else if (secret.length < 16 || /\s/.test(secret))
          ctx.addIssue({
            code: 'custom',
            message: `pair ${i + 1}: the secret must be at least 16 characters, no spaces`,
          });
        else if (pairs.some((p) => p.accessKeyId === accessKeyId))
          ctx.addIssue({ code: 'custom', message: `access key id ${accessKeyId} appears more than once` });
        else pairs.push({ accessKeyId, secret });
      }
      return pairs;
    }),

  /** Most recipients (to + cc + bcc) in one message. */
  MAX_RECIPIENTS: int(1).default(50),
  /** Most bytes of one request: body and attachments. */
  MAX_MESSAGE_BYTES: int(1024).default(10 * 1024 * 1024),
  /** Most attachments in one message. */
  MAX_ATTACHMENTS: int(0).default(10),
  /** How far ahead `scheduled_at` may be. A scheduled send is a running workflow until then. */
  MAX_SCHEDULE_AHEAD_DAYS: int(1).default(30),

  /** Task queue of bulk batch sends; its rate limit is enforced by the Temporal server across workers. */
  BULK_TASK_QUEUE: z.string().default('mailroom-bulk'),
  /** SES sending quota (messages per second) shared by every send of every worker, single sends first; with real SES, GetAccount gives it. */
  SES_MAX_SEND_RATE: z.coerce.number().positive().default(14),
  /** Recipients per bulk batch activity. */
  BULK_BATCH_SIZE: int(1).default(100),
  /** Most recipients in one bulk request (JSON list or CSV rows). */
  BULK_MAX_RECIPIENTS: int(1).default(100_000),
  /**
   * Most bytes of one bulk request body, refused with 413 before it is read: room for
   * MAX_MESSAGE_BYTES of attachments in base64 (≈ 13.4 MB) and 100,000 recipients of ≈ 100 bytes.
   * Parsing a body is synchronous (JSON.parse of 10 MB of recipients holds the event loop for
   * hundreds of milliseconds on 2 cores): larger lists belong in several bulks.
   */
  BULK_MAX_BODY_BYTES: int(1024).default(24 * 1024 * 1024),
  /** Batches per workflow run before continue-as-new (keeps every run's history small). */
  BULK_BATCHES_PER_RUN: int(1).default(250),

  /** SNS topics whose SES events POST /v1/webhooks/ses accepts (comma-separated ARNs); any other topic is refused. */
  SNS_TOPIC_ARNS: commaList,
  /**
   * Dev and tests only: a loopback `host:port` whose signing certificates (and SubscribeURLs) are
   * trusted besides SNS's own hosts, served over HTTPS with a certificate from SNS_LOCAL_CA_FILE.
   * Refused with real SES (AWS_REGION without SES_ENDPOINT).
   */
  SNS_LOCAL_CERT_HOST: optionalString,
  /** Dev and tests only: the local CA (PEM) SNS_LOCAL_CERT_HOST's TLS certificate chains to. */
  SNS_LOCAL_CA_FILE: optionalString,
  /** Reputation breaker: a running bulk pauses when bounces exceed this share of its last BREAKER_WINDOW deliveries… */
  BREAKER_BOUNCE_RATE: z.coerce.number().min(0).max(1).default(0.05),
  /** …or complaints exceed this share. */
  BREAKER_COMPLAINT_RATE: z.coerce.number().min(0).max(1).default(0.001),
  /** Deliveries the breaker judges at once; fewer than 200 would trip on noise. */
  BREAKER_WINDOW: int(200).default(200),

  /** A send still `queued` this long after its request is started by the repair (same workflow id). */
  REPAIR_AFTER_SECONDS: int(1).default(60),
  /** How often the repair schedule (a Temporal Schedule the worker creates) looks for them. */
  REPAIR_INTERVAL_SECONDS: int(1).default(60),

  /**
   * Webhook endpoints may target loopback, private, link-local and other non-public addresses.
   * Off in production (a tenant must not reach the network Mailroom runs in); dev mode turns it on.
   */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: bool.default(false),
  /** One webhook POST, connect to response headers; past it the attempt is retried. */
  WEBHOOK_TIMEOUT_MS: int(100).default(10_000),
  /** First delay before a failed webhook delivery is retried; doubles each attempt… */
  WEBHOOK_RETRY_INITIAL_MS: int(1).default(5_000),
  /** …up to this delay… */
  WEBHOOK_RETRY_MAX_MS: int(1).default(3_600_000),
  /** …for this long after the event, then the delivery is given up (`failed`). */
  WEBHOOK_RETRY_WINDOW_SECONDS: int(1).default(86_400),
  /** An endpoint is disabled once it has failed this many delivery attempts in a row… */
  WEBHOOK_DISABLE_AFTER_FAILURES: int(1).default(10),
  /** …and has been failing, with no success, for at least this long. */
  WEBHOOK_DISABLE_AFTER_SECONDS: int(0).default(86_400),
  /** Most webhook endpoints per API key. */
  WEBHOOK_MAX_ENDPOINTS: int(1).default(20),

  /** Worker: a workflow bundle built by `npm run build` (dist/workflow-bundle.js); unset: bundle at start. */
  WORKFLOW_BUNDLE_PATH: optionalString,
  /** Worker: open workflows kept in memory (sticky cache); bounds RSS under a backlog of open sends. */
  WORKER_MAX_CACHED_WORKFLOWS: int(0).default(250),
  /** Worker: Prometheus `GET /metrics` (Mailroom's and the Temporal SDK's metrics) on this port; 0 picks a free one. */
  WORKER_METRICS_PORT: int(0).default(9464),

  // OpenTelemetry traces: the standard variables. These decide whether tracing starts; the OTLP
  // exporter reads the rest of OTEL_* (headers, timeouts, OTEL_BSP_*) itself.
  /** OTLP/HTTP collector base URL (`http://collector:4318`); traces go to `<url>/v1/traces`. Unset: no tracing. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString,
  /** OTLP/HTTP URL for traces only, used as is (`http://collector:4318/v1/traces`). */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalString,
  /** `none` turns tracing off; `otlp` (the default) is the only exporter. */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).optional(),
  /** `true` turns tracing off whatever else is set. */
  OTEL_SDK_DISABLED: bool.default(false),
  /** The traces' `service.name`. Default: `mailroom-api` for the API, `mailroom-worker` for a worker. */
  OTEL_SERVICE_NAME: optionalString,
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment once at start-up; the error names each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`PORT=`) means unset, as .env.example says, not the number 0.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const result = schema
    .superRefine(localSnsTrust)
    .superRefine(payloadEncryption)
    .superRefine(submissionTls)
    .superRefine(temporalClientCertificate)
    .safeParse(set);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

function payloadEncryption(c: z.infer<typeof schema>, ctx: z.RefinementCtx) {
  const ids = c.PAYLOAD_KEYS.map((k) => k.slice(0, k.indexOf(':')));
  if (new Set(ids).size !== ids.length)
    ctx.addIssue({ code: 'custom', path: ['PAYLOAD_KEYS'], message: 'each key id may appear once' });
  if (c.PAYLOAD_PLAINTEXT && ids.length > 0)
    ctx.addIssue({ code: 'custom', path: ['PAYLOAD_PLAINTEXT'], message: 'cannot be true while PAYLOAD_KEYS is set' });
}

// Trusting a local signing certificate lets whoever runs that host forge SES events: only for a
// loopback host, with its CA named, and never next to real SES.
function localSnsTrust(c: z.infer<typeof schema>, ctx: z.RefinementCtx) {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (!c.SNS_LOCAL_CERT_HOST) {
    if (c.SNS_LOCAL_CA_FILE) issue('SNS_LOCAL_CA_FILE', 'only meaningful with SNS_LOCAL_CERT_HOST');
    return;
  }
  if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/.test(c.SNS_LOCAL_CERT_HOST))
    issue('SNS_LOCAL_CERT_HOST', 'must be a loopback host:port (127.0.0.1:8443); SNS itself needs no setting');
  if (!c.SNS_LOCAL_CA_FILE) issue('SNS_LOCAL_CA_FILE', 'is required with SNS_LOCAL_CERT_HOST');
  if (c.AWS_REGION && !c.SES_ENDPOINT)
    issue(
      'SNS_LOCAL_CERT_HOST',
      'is for dev and tests: it cannot be set with real SES (AWS_REGION without SES_ENDPOINT)',
    );
}

// SMTP submission never takes a password in clear text, so it cannot listen without a certificate.
function submissionTls(c: z.infer<typeof schema>, ctx: z.RefinementCtx) {
  const files = ['SMTP_SUBMISSION_TLS_CERT_FILE', 'SMTP_SUBMISSION_TLS_KEY_FILE'] as const;
  for (const name of files) {
    if (c.SMTP_SUBMISSION_PORT !== undefined && !c[name])
      ctx.addIssue({ code: 'custom', path: [name], message: 'is required with SMTP_SUBMISSION_PORT (STARTTLS)' });
    if (c.SMTP_SUBMISSION_PORT === undefined && c[name])
      ctx.addIssue({ code: 'custom', path: [name], message: 'only meaningful with SMTP_SUBMISSION_PORT' });
  }
}

function temporalClientCertificate(c: z.infer<typeof schema>, ctx: z.RefinementCtx) {
  const [cert, key] = ['TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE'] as const;
  if (!c[cert] !== !c[key])
    ctx.addIssue({
      code: 'custom',
      path: [c[cert] ? key : cert],
      message: `${cert} and ${key} go together (the client certificate and its key)`,
    });
}

/** How POST /v1/webhooks/ses decides what to trust. */
export function snsSettings(config: Config) {
  return {
    topicArns: config.SNS_TOPIC_ARNS,
    localCertHost: config.SNS_LOCAL_CERT_HOST,
    localCaFile: config.SNS_LOCAL_CA_FILE,
  };
}

/** The reputation breaker's thresholds. */
export function breakerSettings(config: Config) {
  return {
    bounceRate: config.BREAKER_BOUNCE_RATE,
    complaintRate: config.BREAKER_COMPLAINT_RATE,
    window: config.BREAKER_WINDOW,
  };
}
export type BreakerSettings = ReturnType<typeof breakerSettings>;

/** Settings the workflow needs at run time travel in its input (workflows cannot read config). */
export function deliveryPolicy(config: Config) {
  return {
    primary: config.PRIMARY_PROVIDER,
    sesMaxAttempts: config.SES_MAX_ATTEMPTS,
    smtpMaxAttempts: config.SMTP_MAX_ATTEMPTS,
    providerTimeoutMs: Math.max(config.SES_TIMEOUT_MS, config.SMTP_TIMEOUT_MS),
  };
}

/** Where the console links a workflow id to. */
export function consoleSettings(config: Config) {
  return {
    temporalUiUrl: config.TEMPORAL_UI_URL ?? `http://localhost:${config.TEMPORAL_UI_PORT}`,
    temporalNamespace: config.TEMPORAL_NAMESPACE,
    sessionHours: config.CONSOLE_SESSION_HOURS,
  };
}
export type ConsoleSettings = ReturnType<typeof consoleSettings>;

/** The SES region: AWS_REGION, or any for an SES-compatible endpoint; undefined when neither is set. */
export const sesRegion = (config: Config) => config.AWS_REGION ?? (config.SES_ENDPOINT ? 'us-east-1' : undefined);

/**
 * Each provider's endpoint as its quota and circuit breaker know it: the SES region and endpoint,
 * the SMTP relay's scheme, host and port (never its credentials).
 */
export function providerEndpoints(config: Config): { ses: string; smtp: string } {
  let smtp = '';
  try {
    const url = new URL(config.SMTP_URL ?? '');
    smtp = `${url.protocol}//${url.hostname}${url.port ? `:${url.port}` : ''}`;
  } catch {
    // no or unparseable SMTP_URL: the worker refuses to start without one
  }
  return { ses: `${sesRegion(config) ?? ''} ${config.SES_ENDPOINT ?? 'aws'}`, smtp };
}

export function circuitSettings(config: Config) {
  return {
    failures: config.CIRCUIT_FAILURES,
    windowMs: config.CIRCUIT_WINDOW_SECONDS * 1000,
    probeMs: config.CIRCUIT_PROBE_SECONDS * 1000,
    refreshMs: 1_000,
  };
}

export function limits(config: Config) {
  return {
    maxRecipients: config.MAX_RECIPIENTS,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    maxAttachments: config.MAX_ATTACHMENTS,
    maxScheduleAheadMs: config.MAX_SCHEDULE_AHEAD_DAYS * 86_400_000,
  };
}

/** Webhook delivery: what the API checks, what the emitter puts in each delivery's workflow, what the worker enforces. */
export function webhookSettings(config: Config) {
  return {
    allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    maxEndpoints: config.WEBHOOK_MAX_ENDPOINTS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    retry: {
      initialMs: config.WEBHOOK_RETRY_INITIAL_MS,
      maxMs: config.WEBHOOK_RETRY_MAX_MS,
      windowMs: config.WEBHOOK_RETRY_WINDOW_SECONDS * 1000,
    },
    disableAfter: { failures: config.WEBHOOK_DISABLE_AFTER_FAILURES, ms: config.WEBHOOK_DISABLE_AFTER_SECONDS * 1000 },
  };
}

export type WebhookSettings = ReturnType<typeof webhookSettings>;

/**
 * Whether this process exports traces, and as which service: only when an OTLP endpoint is set and
 * neither OTEL_SDK_DISABLED nor OTEL_TRACES_EXPORTER=none says otherwise.
 */
export function tracingSettings(config: Config, defaultServiceName: string): { serviceName: string } | undefined {
  if (config.OTEL_SDK_DISABLED || config.OTEL_TRACES_EXPORTER === 'none') return undefined;
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT && !config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  return { serviceName: config.OTEL_SERVICE_NAME ?? defaultServiceName };
}
