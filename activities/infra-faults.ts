// Our own infrastructure (Postgres, S3) failing under an activity: retried, never a provider outcome.
import { ApplicationFailure } from '@temporalio/activity';
import { PermanentInfrastructureErrorType } from '../workflows/contracts.js';

/**
 * Retries a database write in process for up to `budgetMs`: used for outcome writes right after a
 * provider answered, so a short database blip does not turn into an `unknown` outcome.
 */
export async function retryWrite<T>(write: () => Promise<T>, budgetMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await write();
    } catch (err) {
      if (Date.now() + delay > deadline || signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** S3's answer for a key that is not there: retrying will not make it appear. */
export function isMissingObject(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

// A missing object or row gets a few attempts (a replica may lag), then the send fails with the reason.
const PERMANENT_ATTEMPTS = 3;

/**
 * A fault of ours that retrying cannot fix (a missing attachment object, a message that will not
 * compose): retried a few times, then final, so the workflow records `failed` with the reason
 * instead of retrying for ever.
 */
export function permanentInfrastructureError(message: string, attempt: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: PermanentInfrastructureErrorType,
    message,
    nonRetryable: attempt >= PERMANENT_ATTEMPTS,
  });
}
