import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SendMessageResult } from '../activities/delivery.js';
import type { OutcomeInput } from '../activities/ledger.js';
import {
  cancelSendUpdate,
  DeliveryErrorType,
  mailStatusKey,
  rescheduleUpdate,
  PermanentInfrastructureErrorType,
  sendStatusQuery,
  type SendEmailInput,
  type SendEmailResult,
  type SendPhase,
} from './contracts.js';

// Database and S3 steps: an outage there must stall the send, never fail it, so no attempt limit.
// Only a fault retrying cannot fix (PermanentInfrastructureError) ends them, after a few attempts.
const store = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

function errorOf(err: unknown): { type?: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
  return { message: err instanceof Error ? err.message : String(err) };
}

/** Histories recorded before the one delivery core keep replaying on their old path. */
const DELIVERY_CORE_PATCH = 'delivery-core-v1';
/** Histories recorded before the first attempt ran as one local activity keep their shape. */
const SEND_FLOOR_PATCH = 'send-floor-v1';

/**
 * One message, one workflow (`email-<id>`). The first attempt composes, delivers (SES, SMTP when
 * SES cannot) and records in one local activity: the happy path is one workflow task. When it
 * cannot finish (a transient provider answer, our own database or S3 fault, a worker lost in the
 * middle), the durable path takes over: the MIME composed once into S3, delivery retried by
 * Temporal with backoff, the outcome recorded by its own step. The result is the final outcome.
 */
export async function sendEmail(input: SendEmailInput): Promise<SendEmailResult> {
  const { messageId, policy } = input;
  let phase: SendPhase = 'queued';
  let provider: 'ses' | 'smtp' | undefined;
  setHandler(sendStatusQuery, () => ({ phase, provider }));
  const setPhase = (next: SendPhase) => {
    phase = next;
    upsertSearchAttributes([{ key: mailStatusKey, value: next }]);
  };
  const finish = async (
    { attempt, ...result }: Omit<OutcomeInput, 'messageId'>,
    recorded = false,
  ): Promise<SendEmailResult> => {
    if (!recorded) await store.recordOutcome({ messageId, ...result, ...(attempt ? { attempt } : {}) });
    provider = result.provider;
    setPhase(result.status);
    return { messageId, ...result };
  };
  // Only inputs with a send window take this path, and no history recorded before scheduled
  // sends has one: those replay unchanged without a patch.
  if (input.scheduledAt !== undefined || input.notAfter !== undefined) {
    if (input.scheduledAt !== undefined) phase = 'scheduled'; // its search attribute was set at start
    const stopped = await awaitSendWindow(input, () => phase === 'cancelled');
    if (stopped) {
      const error =
        stopped === 'expired' ? `not started by not_after (${new Date(input.notAfter!).toISOString()})` : undefined;
      const result = await finish({ status: stopped, ...(error ? { error } : {}) });
      // The cancel update answers once the send is recorded cancelled, i.e. now.
      await condition(allHandlersFinished);
      return result;
    }
  }

  // SES, then SMTP (whose every phase may take the timeout), then the outcome writes.
  const deliveryTimeout = `${6 * (policy.providerTimeoutMs ?? 15_000) + 30_000} ms`;

  // Provider answers decide the outcome inside `deliver`; its attempts only ever repeat for a
  // provider's transient answer or for our own database/S3 faults, which spend no provider call.
  const durably = async (attemptOffset: number) => {
    const delivery = proxyActivities<Activities>({
      startToCloseTimeout: deliveryTimeout,
      summary: 'deliver (SES, SMTP failover)',
      retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: [] },
    });
    try {
      const mime = await store.prepareSend({ messageId, attachments: input.attachments });
      setPhase('sending');
      return await finish(
        await delivery.deliver({ messageId, mime, policy, ...(attemptOffset ? { attemptOffset } : {}) }),
      );
    } catch (err) {
      const e = errorOf(err);
      if (e.type !== PermanentInfrastructureErrorType) throw err;
      return finish({ status: 'failed', error: e.message });
    }
  };

  if (patched(SEND_FLOOR_PATCH)) {
    const first = proxyLocalActivities<Activities>({
      startToCloseTimeout: deliveryTimeout,
      summary: 'send (compose, SES, SMTP failover, record)',
      retry: { maximumAttempts: 1 },
    });
    phase = 'sending';
    let result: SendMessageResult | undefined;
    try {
      result = await first.sendMessage({ messageId, attachments: input.attachments, policy });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('first attempt did not finish; continuing on the durable path', {
        messageId,
        error: errorOf(err).message,
      });
    }
    if (result && result.status !== 'retry') {
      const { recorded, ...outcome } = result;
      return finish(outcome, recorded);
    }
    if (result) {
      log.info('first attempt answered transiently; retrying on the durable path', { messageId, error: result.error });
      await sleep(result.retryInMs);
    }
    return durably(1);
  }
  if (patched(DELIVERY_CORE_PATCH)) return durably(0);

  // Before delivery-core-v1: one activity per provider, failover decided here.
  const ses = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    summary: 'deliver via SES',
    retry: {
      maximumAttempts: policy.sesMaxAttempts,
      nonRetryableErrorTypes: [DeliveryErrorType.Rejected, DeliveryErrorType.Unavailable],
    },
  });
  const smtp = proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    summary: 'deliver via SMTP (failover)',
    retry: {
      maximumAttempts: policy.smtpMaxAttempts,
      nonRetryableErrorTypes: [DeliveryErrorType.Rejected],
    },
  });

  await store.markSending({ messageId });
  setPhase('sending');
  const mime = await store.composeMime({ messageId, attachments: input.attachments });

  let delivered: { provider: 'ses' | 'smtp'; providerMessageId: string };
  try {
    delivered = await ses.sendViaSes({ messageId, mime });
  } catch (err) {
    const sesError = errorOf(err);
    if (sesError.type === DeliveryErrorType.Rejected)
      return finish({ status: 'failed', error: `SES rejected the message: ${sesError.message}` });
    log.warn('SES could not deliver; failing over to SMTP', { messageId, error: sesError.message });
    try {
      delivered = await smtp.sendViaSmtp({ messageId, mime });
    } catch (smtpErr) {
      return finish({ status: 'failed', error: `SES: ${sesError.message}; SMTP: ${errorOf(smtpErr).message}` });
    }
  }
  return finish({ status: 'sent', ...delivered });
}

/**
 * Waits, on a durable timer, until the send may go out. The reschedule and cancel updates are
 * accepted only while it waits; their validators run in the same activation as the wait, so an
 * update either lands before the send starts or is refused: never both. Returns why the send
 * stops instead (`cancelled`, or `expired` when it could not start by `notAfter`, e.g. workers
 * were down), or undefined to send now.
 */
async function awaitSendWindow(
  input: SendEmailInput,
  recordedCancelled: () => boolean,
): Promise<'cancelled' | 'expired' | undefined> {
  const { messageId, notAfter } = input;
  let scheduledAt = input.scheduledAt ?? 0;
  let waiting = true;
  let cancelled = false;
  // One write at a time, in the order decided: a reschedule's write lands after the ones before it.
  let writes = Promise.resolve();
  const record = (at?: number) =>
    (writes = writes.then(() =>
      store.recordSchedule({ messageId, ...(at !== undefined ? { scheduledAt: new Date(at).toISOString() } : {}) }),
    ));
  const stillWaiting = () => {
    if (!waiting || cancelled) throw new Error('the send has started or been cancelled');
  };
  setHandler(
    rescheduleUpdate,
    async (at) => {
      scheduledAt = Date.parse(at);
      await record(scheduledAt);
      return { scheduledAt: new Date(scheduledAt).toISOString() };
    },
    {
      validator: (at) => {
        stillWaiting();
        const ms = Date.parse(at);
        if (!Number.isFinite(ms)) throw new Error('scheduled_at is not a date-time');
        if (notAfter !== undefined && ms > notAfter) throw new Error('scheduled_at is after not_after');
      },
    },
  );
  setHandler(
    cancelSendUpdate,
    async () => {
      cancelled = true;
      await condition(recordedCancelled);
      return { status: 'cancelled' as const };
    },
    { validator: stillWaiting },
  );
  if (input.scheduledAt !== undefined) await record();
  // A reschedule moves the deadline: wake on it, on a cancel, or when the time comes.
  for (;;) {
    const due = scheduledAt;
    if (due <= Date.now()) break;
    await condition(() => cancelled || scheduledAt !== due, due - Date.now());
    if (cancelled) break;
  }
  waiting = false;
  if (cancelled) return 'cancelled';
  // A reschedule to a time already past is answered (its write done) before the send goes on.
  await condition(allHandlersFinished);
  // Workflow time is when this task runs: a timer that fired while no worker was up runs late.
  if (notAfter !== undefined && Date.now() > notAfter) return 'expired';
  return undefined;
}
