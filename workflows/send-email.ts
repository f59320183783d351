import {
  ActivityFailure,
  ApplicationFailure,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  DeliveryErrorType,
  mailStatusKey,
  sendStatusQuery,
  type SendEmailInput,
  type SendEmailResult,
  type SendPhase,
} from './contracts.js';

// Database and S3 steps: an outage there must stall the send, never fail it, so no attempt limit.
const store = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

function errorOf(err: unknown): { type?: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
  return { message: err instanceof Error ? err.message : String(err) };
}

/**
 * One message, one workflow (`email-<id>`): compose the MIME once, send it through SES, fail over
 * to SMTP when SES cannot deliver, and record the outcome. The result is the final outcome.
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

  // Retry delays come from the activities (exponential with jitter, via nextRetryDelay);
  // the policies here bound how many attempts each provider gets.
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

  const fail = async (error: string): Promise<SendEmailResult> => {
    await store.recordOutcome({ messageId, status: 'failed', error });
    setPhase('failed');
    return { messageId, status: 'failed', error };
  };

  let delivered: { provider: 'ses' | 'smtp'; providerMessageId: string };
  try {
    delivered = await ses.sendViaSes({ messageId, mime });
  } catch (err) {
    const sesError = errorOf(err);
    if (sesError.type === DeliveryErrorType.Rejected) return fail(`SES rejected the message: ${sesError.message}`);
    log.warn('SES could not deliver; failing over to SMTP', { messageId, error: sesError.message });
    try {
      delivered = await smtp.sendViaSmtp({ messageId, mime });
    } catch (smtpErr) {
      return fail(`SES: ${sesError.message}; SMTP: ${errorOf(smtpErr).message}`);
    }
  }

  provider = delivered.provider;
  await store.recordOutcome({ messageId, status: 'sent', ...delivered });
  setPhase('sent');
  return { messageId, status: 'sent', ...delivered };
}
