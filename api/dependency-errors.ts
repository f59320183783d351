// Which of Mailroom's dependencies an error says is unreachable, if any. The API answers those with
// 503 and Retry-After (the request can be repeated as is), never with 500.
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcServiceError } from '@temporalio/client';

export type Dependency = 'database' | 'temporal' | 'storage';

/** Socket-level failures (Node) and postgres.js's own connection codes. */
const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** Postgres SQLSTATEs that mean "the server cannot serve you now", not "your query is wrong". */
const unavailableSqlStates = /^(08...|57P0[123]|53300|53400)$/;

/** gRPC statuses of a Temporal call that mean the server (or the way to it) is not there. */
const unavailableGrpc = new Set<number>([
  14, // UNAVAILABLE: no connection, or the server is shutting down
  4, // DEADLINE_EXCEEDED: no answer in time (the API's start deadline included)
  8, // RESOURCE_EXHAUSTED: the server sheds load
]);

type Node = Record<string, unknown> & Error;

/** The error, its causes and (for AggregateError, as a dual-stack connect throws) its members. */
function chainOf(err: unknown): Node[] {
  const out: Node[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 16) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || out.includes(e as Node)) continue;
    out.push(e as Node);
    queue.push((e as Node).cause);
    if (e instanceof AggregateError) queue.push(...e.errors);
  }
  return out;
}

const codeOf = (e: Node) => (typeof e.code === 'string' ? e.code : undefined);

/** The AWS SDK adds `$metadata` to every error it throws, network errors included. */
const fromStorage = (e: Node) => typeof e.$metadata === 'object' && e.$metadata !== null;

function temporalUnavailable(chain: Node[]): boolean {
  // An update's RPC gave up waiting: the server (or the way to it) did not answer in time.
  if (chain.some((e) => e instanceof WorkflowUpdateRPCTimeoutOrCancelledError)) return true;
  return chain.some((e) => isGrpcServiceError(e) && unavailableGrpc.has(e.code));
}

function storageUnavailable(chain: Node[]): boolean {
  return chain.some((e) => {
    const status = (e.$metadata as { httpStatusCode?: number }).httpStatusCode;
    return (
      (status !== undefined && status >= 500) ||
      e.name === 'TimeoutError' ||
      e.name === 'RequestTimeout' ||
      chainOf(e).some((c) => connectionCodes.has(codeOf(c) ?? ''))
    );
  });
}

function databaseUnavailable(chain: Node[]): boolean {
  return chain.some((e) => {
    const code = codeOf(e) ?? '';
    return connectionCodes.has(code) || (e.name === 'PostgresError' && unavailableSqlStates.test(code));
  });
}

/**
 * The dependency this error shows to be unavailable, or undefined when the error is something else
 * (a bug, a refused query, a bad configuration), which stays a 500.
 */
export function unavailableDependency(err: unknown): Dependency | undefined {
  const chain = chainOf(err);
  if (chain.length === 0) return undefined;
  if (
    chain.some(
      (e) =>
        e instanceof ServiceError || isGrpcServiceError(e) || e instanceof WorkflowUpdateRPCTimeoutOrCancelledError,
    )
  )
    return temporalUnavailable(chain) ? 'temporal' : undefined;
  const storage = chain.filter(fromStorage);
  if (storage.length > 0) return storageUnavailable(storage) ? 'storage' : undefined;
  // postgres.js tags its errors (fromDatabase), but a socket error reaching here untagged can only
  // be the database driver's too: the other clients above wrap or mark theirs.
  return databaseUnavailable(chain) ? 'database' : undefined;
}
