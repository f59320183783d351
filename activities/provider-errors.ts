import { ApplicationFailure } from '@temporalio/activity';
import { DeliveryErrorType } from '../workflows/contracts.js';
import type { AttemptOutcome } from '../db/schema.js';

export interface ClassifiedError {
  type: (typeof DeliveryErrorType)[keyof typeof DeliveryErrorType];
  outcome: AttemptOutcome;
  code: string;
  message: string;
}

// SES v2 error names (the SDK's `err.name`). Anything not listed is treated as transient:
// a retry is cheap, a wrongly permanent failure loses mail.
const sesRejected = new Set(['MessageRejected', 'BadRequestException', 'InvalidParameterValue']);
const sesUnavailable = new Set([
  'AccountSuspendedException',
  'SendingPausedException',
  'MailFromDomainNotVerifiedException',
  'NotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
]);
// Node socket errors that mean nobody is listening: failing over beats waiting.
const unreachable = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const text = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1000);

export function classifySesError(err: unknown): ClassifiedError {
  const name = err instanceof Error ? err.name : 'Error';
  const message = text(err);
  const net = networkCode(err);
  if (sesRejected.has(name)) return { type: DeliveryErrorType.Rejected, outcome: 'rejected', code: name, message };
  if (sesUnavailable.has(name) || (net && unreachable.has(net)))
    return { type: DeliveryErrorType.Unavailable, outcome: 'unavailable', code: net ?? name, message };
  return { type: DeliveryErrorType.Transient, outcome: 'retryable_error', code: net ?? name, message };
}

export function classifySmtpError(err: unknown): ClassifiedError {
  const responseCode = (err as { responseCode?: unknown }).responseCode;
  const message = text(err);
  const code = networkCode(err) ?? (err instanceof Error ? err.name : 'Error');
  // 5xx is the receiving server's final word on this message; 4xx and socket errors may pass.
  if (typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600)
    return { type: DeliveryErrorType.Rejected, outcome: 'rejected', code: String(responseCode), message };
  return {
    type: DeliveryErrorType.Transient,
    outcome: 'retryable_error',
    code: typeof responseCode === 'number' ? String(responseCode) : code,
    message,
  };
}

/** Exponential backoff with full jitter: spreads retries of many sends hitting the same throttle. */
export function backoffWithJitter(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(ceiling * random()));
}

/** The failure Temporal sees: typed for the workflow, with our own jittered retry delay. */
export function toApplicationFailure(c: ClassifiedError, retryDelayMs: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: c.type,
    message: `${c.code}: ${c.message}`,
    nonRetryable: c.type === DeliveryErrorType.Rejected,
    nextRetryDelay: retryDelayMs,
  });
}
