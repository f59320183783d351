import pino from 'pino';
import type { Config } from './config.js';

// Fields that hold secrets, message content or addresses, wherever a log line carries them (at
// the top or one object down: `{ body: { to } }`, `{ headers: { authorization } }`).
const privateFields = [
  'authorization',
  'cookie',
  'apiKey',
  'api_key',
  'key',
  'secret',
  'password',
  'token',
  'html',
  'text',
  'subject',
  'from',
  'to',
  'cc',
  'bcc',
  'reply_to',
  'replyTo',
  'recipients',
  'data',
  'content',
  'raw',
  'mime',
  'params',
  'parameters',
  'query',
];
export const redactPaths = [
  ...privateFields,
  ...privateFields.map((f) => `*.${f}`),
  '*.headers.authorization',
  '*.headers.cookie',
  'attachments[*].content',
  '*.attachments[*].content',
];

type ErrorNode = Error & Record<string, unknown>;

function chainOf(err: unknown): ErrorNode[] {
  const out: ErrorNode[] = [];
  for (let e = err; e instanceof Error && out.length < 8 && !out.includes(e as ErrorNode); e = e.cause)
    out.push(e as ErrorNode);
  return out;
}

const className = (e: ErrorNode) =>
  e.constructor?.name && e.constructor.name !== 'Error' ? e.constructor.name : e.name;

/**
 * A database error, in any of its wrappings: drizzle's DrizzleQueryError (its message is the SQL
 * and every bound value: bodies, Bcc addresses), postgres.js's PostgresError and PGlite's error
 * (their `detail` quotes the offending value).
 */
function isDatabaseError(chain: ErrorNode[]) {
  return chain.some(
    (e) =>
      ['DrizzleQueryError', 'PostgresError', 'DatabaseError'].includes(className(e)) ||
      'severity' in e ||
      ('query' in e && 'params' in e),
  );
}

/**
 * What a log line may say about an error. A database error: its class and code only (a SQLSTATE,
 * or postgres.js's / the socket's code), never its message, whose text comes from the query. Any
 * other error: class, code and message, and the stack for a bug.
 */
export function loggableError(err: unknown): Record<string, unknown> {
  const chain = chainOf(err);
  if (chain.length === 0) return { message: String(err) };
  const code = chain.map((e) => e.code).find((c) => typeof c === 'string' || typeof c === 'number');
  if (isDatabaseError(chain))
    return { dependency: 'postgres', class: chain.map(className).join(' < '), ...(code ? { code } : {}) };
  const top = chain[0]!;
  return { class: className(top), ...(code ? { code } : {}), message: top.message, stack: top.stack };
}

/** The one logger; request and send logs are its children, carrying messageId. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { service: 'mailroom' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      // `err` and `error` are errors, whatever a call site passes: never a database error's text.
      serializers: {
        err: (e: unknown) => (e instanceof Error ? loggableError(e) : e),
        error: (e: unknown) => (e instanceof Error ? loggableError(e) : e),
      },
    },
    destination,
  );
}
