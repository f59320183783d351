import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { unavailableDependency, type Dependency } from './dependency-errors.js';

/** Every error the API can answer with, and its HTTP status. */
export const errorStatus = {
  validation_error: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  idempotency_conflict: 409,
  bulk_finished: 409,
  send_started: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  service_unavailable: 503,
  internal_error: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorStatus;

/** Thrown by handlers; the one error handler turns it into `{error: {code, message, field?}}`. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    /** Extra machine-readable detail, e.g. `{ rejected: [{index, reason}] }`. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const badField = (field: string, message: string) => new ApiError('validation_error', message, field);

export function errorBody(code: ErrorCode, message: string, field?: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(field ? { field } : {}), ...details } };
}

/** Seconds a client is asked to wait before repeating a request refused with 503. */
export const RETRY_AFTER_SECONDS = 5;

const dependencyNames: Record<Dependency, string> = {
  database: 'the database',
  temporal: 'Temporal',
  storage: 'attachment storage (S3)',
};

/**
 * A 503 naming the dependency that failed. `details` may add e.g. the id of a stored send; `cause`
 * (the dependency's own error) is logged, never answered.
 */
export function unavailable(
  dependency: Dependency,
  o: { message?: string; details?: Record<string, unknown>; cause?: unknown } = {},
) {
  const err = new ApiError(
    'service_unavailable',
    o.message ?? `${dependencyNames[dependency]} is unavailable; retry later`,
    undefined,
    { dependency, ...o.details },
  );
  if (o.cause !== undefined) err.cause = o.cause;
  return err;
}

export interface ErrorLog {
  /** An error no handler expected: a bug, logged with its stack, answered 500. */
  unexpected(err: Error): void;
  /** A dependency outage, answered 503. */
  unavailable(err: Error, dependency: Dependency): void;
}

export function handleError(err: Error, c: Context, log: ErrorLog) {
  if (!(err instanceof ApiError)) {
    const dependency = unavailableDependency(err);
    if (dependency) err = unavailable(dependency, { cause: err });
  }
  if (err instanceof ApiError) {
    if (err.code === 'service_unavailable') {
      const dependency = err.details?.dependency as Dependency | undefined;
      if (dependency && err.cause instanceof Error) log.unavailable(err.cause, dependency);
      c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    }
    return c.json(errorBody(err.code, err.message, err.field, err.details), errorStatus[err.code]);
  }
  // Hono's own guards (e.g. the body limit) throw HTTPException; keep their status, use our envelope.
  if (err instanceof HTTPException && err.status < 500) {
    const code: ErrorCode = err.status === 413 ? 'payload_too_large' : 'validation_error';
    return c.json(errorBody(code, err.message || 'bad request', err.status === 413 ? 'body' : undefined), err.status);
  }
  log.unexpected(err);
  return c.json(errorBody('internal_error', 'internal error'), 500);
}

/** A validation failure from the request parsers, as the API reports it. */
export function fromRequestError(err: { field: string; message: string; tooLarge: boolean; rejected?: unknown[] }) {
  return new ApiError(
    err.tooLarge ? 'payload_too_large' : 'validation_error',
    err.message,
    err.field,
    err.rejected ? { rejected: err.rejected } : undefined,
  );
}
