import {
  ActivityFailure,
  ApplicationFailure,
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
  DeliveryErrorType,
  mailStatusKey,
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
