import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import nodemailer, { type SMTPPoolOptions, type Transporter } from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import {
  errorText,
  unreachable,
  type ProviderFailure,
  type ProviderOutcome,
  type RecipientRejection,
} from './outcome.js';

export interface SmtpSettings {
  /** e.g. `smtps://user:pass@relay.example.com:465`; its query sets nodemailer options (`?pool=false`). */
  url: string;
  /**
   * The longest the relay may stay silent in any one phase (connect + greeting + TLS, each reply),
   * and the longest a send may wait for a ready session (a free pooled connection, or a new one
   * connected, secured and logged in).
   */
  timeoutMs: number;
  /**
   * A PEM file of the CA(s) the relay's certificate chains to (a private relay), read here, once.
   * They replace Node's public CAs for this relay; certificates are checked either way.
   */
  caFile?: string;
  /** Reuse connections across sends (default: on). The URL's `?pool=` wins. */
  pool?: boolean;
  /** Pooled connections open at once, per process (default: nodemailer's 5). The URL's wins. */
  maxConnections?: number;
  /** Messages over one pooled connection before it is replaced (default: nodemailer's 100). The URL's wins. */
  maxMessages?: number;
}

export interface SmtpMessage {
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

/** How long a send may wait for a ready session on each transport made here (see sendViaSmtp). */
const sessionBudget = new WeakMap<Transporter, number>();

/**
 * A nodemailer transport for the relay in `s.url`, keeping the URL's options, with:
 * - every timeout at most `timeoutMs` (nodemailer's defaults are 2 min to connect and 10 min of
 *   socket silence: far beyond an activity's timeout, so the activity would die before the call);
 * - `requireTLS` whenever the URL carries credentials and is not `smtps:` (nodemailer otherwise
 *   logs in over plain text when the relay offers no STARTTLS);
 * - certificates checked (`tls.rejectUnauthorized`, nodemailer's default, said here so that only
 *   the URL's explicit `tls.rejectUnauthorized=false` turns it off), against `caFile` if given;
 * - a pool of connections unless told otherwise: a TLS handshake and a login per message cost
 *   several round trips, and relays limit connections per account (Microsoft 365: 3);
 * - idle pooled connections closed with QUIT after half of `timeoutMs`, before our socket timer
 *   would cut them and long before a relay's own idle timeout (RFC 5321: at least 5 minutes), so a
 *   relay hardly ever closes one just as a message is handed to it;
 * - `maxRequeues: 0`: a pooled transport would otherwise resend a message by itself when its
 *   connection closed, even after the relay got the data.
 */
export function createSmtpTransport(s: SmtpSettings): Transporter {
  const fromUrl = parseConnectionUrl(s.url) as SMTPPoolOptions;
  const capped = (value: unknown, cap: number) => (typeof value === 'number' && value > 0 ? Math.min(value, cap) : cap);
  const socketTimeout = capped(fromUrl.socketTimeout, s.timeoutMs);
  const options: SMTPPoolOptions = {
    maxConnections: s.maxConnections,
    maxMessages: s.maxMessages,
    ...fromUrl,
    pool: fromUrl.pool ?? s.pool ?? true,
    connectionTimeout: capped(fromUrl.connectionTimeout, s.timeoutMs),
    greetingTimeout: capped(fromUrl.greetingTimeout, s.timeoutMs),
    socketTimeout,
    dnsTimeout: capped(fromUrl.dnsTimeout, s.timeoutMs),
    idleTimeout: capped(fromUrl.idleTimeout, Math.floor(socketTimeout / 2)),
    tls: { rejectUnauthorized: true, ...fromUrl.tls, ...(s.caFile ? { ca: readCaFile(s.caFile) } : {}) },
    maxRequeues: 0,
  };
  if (fromUrl.auth && !fromUrl.secure) options.requireTLS = true;
  const transport = nodemailer.createTransport(options);
  sessionBudget.set(transport, s.timeoutMs);
  return transport;
}

function readCaFile(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the SMTP relay's CA file ${path}: ${errorText(err)}`, { cause: err });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error(`the SMTP relay's CA file ${path} holds no PEM certificate`);
  return pem;
}

/**
 * How far a send got, as `sendViaSmtp` saw it; set on the error as `smtpStage` before it is
 * classified. `session`: connecting, greeting, EHLO, STARTTLS, AUTH (the relay has not seen the
 * message). `envelope`: MAIL FROM, RCPT TO, DATA, the message data going out. `sent`: the whole
 * message went out and only the relay's final reply was missing.
 */
export type SmtpStage = 'session' | 'envelope' | 'sent';

/** The fields nodemailer 10 sets on its errors (see nodemailer/lib/errors), plus our `smtpStage`. */
interface SmtpErrorFields {
  code?: unknown;
  originalCode?: unknown;
  command?: unknown;
  response?: unknown;
  responseCode?: unknown;
  timeoutType?: unknown;
  rejectedErrors?: unknown;
  recipient?: unknown;
  smtpStage?: SmtpStage;
}

interface Progress {
  stage: SmtpStage;
}

/** Sends in flight, found by their envelope object (ours, one per call) from inside nodemailer. */
const inFlight = new WeakMap<object, Progress>();
const watched = new WeakSet<Transporter>();

/**
 * nodemailer asks the message for its stream only once the session is set up (after AUTH; on a
 * pooled connection that is reused, as soon as the connection takes the message), right before
 * MAIL FROM, and that stream ends only once the DATA stream has read all of it, i.e. after the
 * relay answered 354 and the message went out (the terminating dot follows at once). Both are
 * what the classification needs and nodemailer's errors do not say: a dropped connection looks
 * the same before the greeting and after the data.
 */
function watchProgress(smtp: Transporter) {
  if (watched.has(smtp)) return;
  watched.add(smtp);
  smtp.use('stream', (mail, done) => {
    const progress = mail.data.envelope ? inFlight.get(mail.data.envelope) : undefined;
    if (progress)
      mail.message.processFunc((input: Readable) => {
        progress.stage = 'envelope';
        input.once('end', () => (progress.stage = 'sent'));
        return input;
      });
    done();
  });
}

/**
 * One send of the composed MIME to the relay. Never throws for what the relay said (or its silence
 * after the data): that is the outcome. Recipients the relay refused while taking the message for
 * the others are listed in `rejectedRecipients`.
 *
 * On a transport from createSmtpTransport, a send that has no ready session within `timeoutMs`
 * gives up, `unavailable`: a pool queues sends while its connections are busy, and without a
 * bound a send queued behind a relay that times out connection after connection would outlive its
 * activity, which then counts it as unknown though nothing of it was ever sent. It gives up only
 * while still in the `session` stage, so the relay cannot hold any of it.
 */
export async function sendViaSmtp(smtp: Transporter, m: SmtpMessage): Promise<ProviderOutcome> {
  watchProgress(smtp);
  const envelope = { from: m.envelope.from, to: [...m.envelope.to] };
  const progress: Progress = { stage: 'session' };
  inFlight.set(envelope, progress);
  const budget = sessionBudget.get(smtp);
  const giveUp = new AbortController();
  const timer =
    budget === undefined ? undefined : setTimeout(() => progress.stage === 'session' && giveUp.abort(), budget);
  try {
    const info = await smtp.sendMail({ envelope, raw: m.raw, signal: giveUp.signal });
    const rejectedRecipients = recipientRejections(info);
    return {
      kind: 'accepted',
      providerMessageId: providerMessageId(info),
      ...(rejectedRecipients.length ? { rejectedRecipients } : {}),
    };
  } catch (err) {
    if (giveUp.signal.aborted)
      return {
        kind: 'unavailable',
        code: 'ETIMEDOUT',
        message: `no SMTP session ready within ${budget} ms (every pooled connection busy, or the relay slow to connect, secure or log in); nothing was sent`,
      };
    const e = err instanceof Error ? err : new Error(String(err));
    return classifySmtpError(Object.assign(e, { smtpStage: progress.stage }));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The relay's own id for the message: the id in its final reply when nodemailer knows the format,
 * else the reply itself (`250 2.0.0 Ok: queued as 4Xq1…`). nodemailer's `messageId` is not used:
 * for a raw message it is a fresh random id that is in no header.
 */
function providerMessageId(info: { serverMessageId?: unknown; response?: unknown }): string {
  if (typeof info.serverMessageId === 'string' && info.serverMessageId) return info.serverMessageId;
  return typeof info.response === 'string' ? info.response.slice(0, 500) : '';
}

function recipientRejections(info: { rejected?: unknown; rejectedErrors?: unknown }): RecipientRejection[] {
  const rejected = Array.isArray(info.rejected) ? (info.rejected as unknown[]).map(String) : [];
  const errors = Array.isArray(info.rejectedErrors) ? (info.rejectedErrors as (Error & SmtpErrorFields)[]) : [];
  return rejected.map((address) => {
    const e = errors.find((r) => r.recipient === address);
    return {
      address,
      code: typeof e?.responseCode === 'number' ? String(e.responseCode) : String(e?.code ?? 'rejected'),
      message: typeof e?.response === 'string' ? e.response : (e?.message ?? ''),
    };
  });
}

/** nodemailer codes for a session that could not be set up: DNS, proxy, TLS, AUTH, our own config. */
const setupFailures = new Set(['EDNS', 'EPROXY', 'ETLS', 'EREQUIRETLS', 'EAUTH', 'ENOAUTH', 'EOAUTH2', 'ECONFIG']);
/** The commands of setting the session up, as nodemailer names them in `command`. */
const setupCommands = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH\b)/;
/**
 * Answers that say the relay is not set up for us (or we for it), whatever the stage: 530 must
 * STARTTLS / must authenticate, 534 mechanism too weak, 535 bad credentials, 538 encryption
 * required, 503 commands out of sequence (e.g. MAIL before a required AUTH).
 */
const misconfigurationCodes = new Set([503, 530, 534, 535, 538]);
/** Enhanced status codes of the same (RFC 4954, RFC 3463; 5.7.57 is Microsoft 365's "not authenticated"). */
const misconfigurationStatus = /\b5\.7\.(8|9|10|11|57)\b/;
/** "Relay access denied" and its variants: the relay does not relay for us (no or wrong AUTH). */
const relayDenied = /relay(ing)? (access )?(denied|not permitted|not allowed|prohibited)|unable to relay|\b5\.7\.54\b/i;
/** TLS failures Node reports through the socket (a bad certificate during STARTTLS is not ETLS). */
const tlsFailure = /^(ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)_)/;

function looksMisconfigured(reply: number, e: SmtpErrorFields): boolean {
  if (misconfigurationCodes.has(reply)) return true;
  const answers = [e.response, ...(Array.isArray(e.rejectedErrors) ? e.rejectedErrors : []).map((r) => r?.response)];
  return answers.some((a) => typeof a === 'string' && (misconfigurationStatus.test(a) || relayDenied.test(a)));
}

/**
 * What a failed nodemailer send means for this message, by stage:
 * - a 4xx reply at any stage: `transient`;
 * - a 5xx reply that says the relay is not set up for us (530, 534, 535, 538, 503, relay denied),
 *   and any 5xx to the greeting, EHLO, STARTTLS or AUTH: `unavailable` (the relay never judged
 *   this message; fail over or retry, do not fail it);
 * - a 5xx to MAIL FROM, to every RCPT TO, to DATA or after the data: `rejected`;
 * - no reply, after the message data went out (`smtpStage: 'sent'`): `unknown` (the relay may
 *   have queued it);
 * - no reply while setting the session up (refused, DNS, timeouts to connect or greet, TLS, AUTH):
 *   `unavailable`; during the envelope: `transient`.
 * An error without `smtpStage` (not from `sendViaSmtp`) that is not clearly from the session
 * setup is `unknown`: nothing proves the data had not gone out.
 */
export function classifySmtpError(err: unknown): ProviderFailure {
  const e: SmtpErrorFields = typeof err === 'object' && err !== null ? (err as SmtpErrorFields) : {};
  const message = errorText(err);
  const code = typeof e.code === 'string' ? e.code : err instanceof Error ? err.name : 'Error';
  const originalCode = typeof e.originalCode === 'string' ? e.originalCode : undefined;
  const command = typeof e.command === 'string' ? e.command : '';
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;

  if (reply !== undefined && reply >= 400 && reply < 600) {
    const answered = String(reply);
    if (reply < 500) return { kind: 'transient', code: answered, message };
    if (looksMisconfigured(reply, e)) return { kind: 'unavailable', code: answered, message };
    // A 5xx with the connection ("CONN") is the greeting, or a last reply the relay sent as it
    // closed: the stage tells which.
    const duringSetup = command === 'CONN' ? e.smtpStage === undefined || e.smtpStage === 'session' : false;
    if (duringSetup || (command !== 'CONN' && setupCommands.test(command)))
      return { kind: 'unavailable', code: answered, message };
    return { kind: 'rejected', code: answered, message };
  }

  const net = originalCode ?? code;
  if (e.smtpStage === 'sent')
    return { kind: 'unknown', code: net, message: `no reply after the message data was sent: ${message}` };
  if (unreachable.has(net) || setupFailures.has(code) || (originalCode && tlsFailure.test(originalCode)))
    return { kind: 'unavailable', code: net, message };
  // Connecting, the greeting and STARTTLS have their own timers; the socket's idle timer runs
  // alongside with the same budget, so which one fires is a race (code ETIMEDOUT either way).
  const setupTimeout = ['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT'].includes(String(e.timeoutType));
  if (setupTimeout) return { kind: 'unavailable', code: net, message };
  if (e.smtpStage === 'session') return { kind: 'unavailable', code: net, message };
  // What the relay would refuse whatever we retried: no recipients, a bad address, over its SIZE.
  if ((code === 'EENVELOPE' || code === 'EMESSAGE') && command !== 'CONN') return { kind: 'rejected', code, message };
  if (e.smtpStage === 'envelope') return { kind: 'transient', code: net, message };
  if (command && command !== 'CONN' && setupCommands.test(command)) return { kind: 'unavailable', code: net, message };
  return { kind: 'unknown', code: net, message };
}
