// SMTP submission (RFC 6409), for senders that only speak SMTP. An adapter only: each message is
// read as a raw send (api/raw-request.ts) and accepted as `POST /v1/emails` accepts one.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { parseAddress } from '../mail/addresses.js';
import { acceptEmail, type AcceptDeps } from './accept-email.js';
import type { AppDeps } from './app.js';
import type { Db } from '../db/create-db.js';
import { keyStore } from './auth.js';
import type { Principal } from './principal.js';
import { countRequest } from './rate-limit.js';
import { unavailableDependency } from './dependency-errors.js';
import { ApiError } from './errors.js';
import { RequestError, type Limits } from './fields.js';
import { parseRawSend } from './raw-request.js';

export interface SmtpSubmissionDeps extends AcceptDeps {
  apiKeys: string[];
  limits: Limits;
  logger: AppDeps['logger'];
}

export interface SmtpSubmissionOptions {
  port: number;
  /** Default: every interface, as the HTTP API listens. */
  host?: string;
  /** PEM certificate (chain) and key that STARTTLS presents. */
  tls: { cert: string | Buffer; key: string | Buffer };
}

export interface SmtpSubmission {
  port: number;
  close(): Promise<void>;
}

/**
 * Who an SMTP password is: the password is an API key, resolved exactly as the HTTP API resolves
 * its bearer token (the username is not looked at), and it needs the `send` scope.
 */
export function smtpPrincipalResolver(db: Db, keys: string[]): (password: string) => Promise<Principal | undefined> {
  const store = keyStore(db, keys);
  return async (password) => {
    const found = await store.authenticate(`Bearer ${password}`);
    return 'error' in found || !found.scopes.includes('send') ? undefined : found;
  };
}

/** An error smtp-server answers with this reply code (enhanced status codes are added from it). */
const reply = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

/**
 * What the client is told when a message could not be accepted. Only bad input is permanent
 * (5xx): an outage, or anything we did not expect, is 451 so the client keeps the message and
 * tries again, never a 250 for a message that is not stored and started.
 */
function refusal(err: unknown, logger: AppDeps['logger']): Error {
  if (err instanceof Error && 'responseCode' in err) return err;
  if (err instanceof RequestError) return reply(554, err.message);
  if (err instanceof ApiError && err.code !== 'service_unavailable' && err.code !== 'internal_error')
    return reply(554, err.message);
  const dependency =
    err instanceof ApiError ? (err.details?.dependency as string | undefined) : unavailableDependency(err);
  if (dependency) {
    const cause = err instanceof ApiError && err.cause instanceof Error ? err.cause : (err as Error);
    logger.error({ dependency, error: cause?.message, path: 'smtp' }, 'dependency unavailable');
    return reply(451, `Temporarily unable to accept the message (${dependency} unavailable); try again later`);
  }
  logger.error({ err, path: 'smtp' }, 'unhandled error');
  return reply(451, 'Local error in processing; try again later');
}

/** Starts the submission listener; resolves once it listens. */
export async function startSmtpSubmission(
  deps: SmtpSubmissionDeps,
  opts: SmtpSubmissionOptions,
): Promise<SmtpSubmission> {
  const principalOf = smtpPrincipalResolver(deps.db, deps.apiKeys);
  const maxBytes = deps.limits.maxMessageBytes;

  async function accept(raw: Buffer, session: SMTPServerSession): Promise<string> {
    // Every address was checked at RCPT TO; one spelling each of what normalizes alike (IDN, case).
    const envelopeTo = [
      ...new Map(session.envelope.rcptTo.map((r) => normalized(r.address)).map((a) => [a.toLowerCase(), a])).values(),
    ];
    const principal = session.user as Principal;
    // The key's per-minute limit counts messages here, as it counts requests over HTTP.
    if (principal.rateLimitPerMinute !== null) {
      const rate = await countRequest(deps.db, principal.keyId, principal.rateLimitPerMinute);
      if (!rate.allowed) throw reply(451, `Rate limit of this key reached; try again in ${rate.resetSeconds} s`);
    }
    const message = await parseRawSend(raw, randomUUID(), { field: 'message', envelopeTo }, deps.limits);
    const accepted = await acceptEmail(deps, message.request, principal, undefined);
    return accepted.id;
  }

  function onData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (err?: Error | null, message?: string) => void,
  ) {
    // Never more than the limit in memory: past it the rest is read and dropped.
    let chunks: Buffer[] = [];
    let kept = 0;
    let tooBig = false;
    stream.on('data', (chunk: Buffer) => {
      if (tooBig) return;
      kept += chunk.length;
      if (kept > maxBytes) {
        tooBig = true;
        chunks = [];
      } else chunks.push(chunk);
    });
    // The client went away before the end of the data: there is nothing to accept or answer.
    stream.once('error', () => {});
    stream.once('end', () => {
      // `rejectOversized` makes smtp-server answer 552 5.3.4 itself; this error only ends the transaction.
      if (tooBig || stream.sizeExceeded) return callback(reply(552, `Message exceeds the limit of ${maxBytes} bytes`));
      accept(Buffer.concat(chunks), session)
        .then(
          (id) => callback(null, `Ok: queued as ${id}`),
          (err: unknown) => callback(refusal(err, deps.logger)),
        )
        .catch((err: unknown) => deps.logger.error({ err, path: 'smtp' }, 'unhandled error'));
    });
  }

  const server = new SMTPServer({
    banner: 'Mailroom ESMTP submission',
    secure: false,
    ...opts.tls,
    // Credentials only inside TLS, and nothing sent without them.
    allowInsecureAuth: false,
    authOptional: false,
    authMethods: ['PLAIN', 'LOGIN'],
    hideENHANCEDSTATUSCODES: false,
    size: maxBytes,
    rejectOversized: true,
    // 452 4.5.3 for each recipient past the limit, as RFC 5321 (4.5.3.1.10) has it: the client
    // sends them in another transaction.
    maxRecipients: deps.limits.maxRecipients,
    logger: false,
    onAuth(auth, _session, callback) {
      principalOf(auth.password ?? '').then(
        (principal) =>
          principal
            ? callback(null, { user: principal })
            : callback(reply(535, 'Authentication credentials invalid (an API key with the send scope)')),
        // The database could not say: a temporary failure, so the client tries again.
        (err: unknown) => callback(refusal(err, deps.logger)),
      );
    },
    onRcptTo(address, _session, callback) {
      const parsed = parseAddress(address.address);
      if ('error' in parsed) return callback(reply(550, `${address.address.slice(0, 100)} ${parsed.error}`));
      callback();
    },
    onData,
  });
  // A client's failed handshake or reset connection: its own problem, never the process's.
  server.on('error', (err) => deps.logger.warn?.({ error: err.message, path: 'smtp' }, 'SMTP connection error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An RCPT TO address, checked before it was accepted, in the form the API stores (IDN as ASCII). */
function normalized(address: string): string {
  const parsed = parseAddress(address);
  return 'error' in parsed ? address : parsed.address;
}
