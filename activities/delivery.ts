import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Db } from '../db/create-db.js';
import type { Provider } from '../db/schema.js';
import { chooseProvider, providerOrder, type ProviderTally } from '../delivery/ladder.js';
import type { ProviderOutcome, RecipientRejection } from '../delivery/outcome.js';
import { deliverNow, sendThrough, type Providers } from '../delivery/send.js';
import type { OutgoingMessage } from '../delivery/ses.js';
import type { ObjectStore } from '../storage/object-store.js';
import { DeliveryErrorType, type AttachmentRef, type DeliveryPolicy } from '../workflows/contracts.js';
import { composeMessage, envelopeOf, messageRow, type ComposedMime } from './compose-mime.js';
import {
  attemptsOf,
  findDelivery,
  markSending,
  recordAttempt,
  writeOutcome,
  type AttemptKey,
  type AttemptRecord,
} from './ledger.js';
import { isMissingObject, permanentInfrastructureError, retryWrite } from './infra-faults.js';
import { backoffWithJitter } from './backoff.js';
import { dropSuppressed } from './suppression-check.js';
import type { SendQuota } from './send-quota.js';
import { emitSendOutcome } from './outcome-events.js';
import type { EmitEvent } from './webhooks.js';

export interface RetryTiming {
  baseMs: number;
  maxMs: number;
}

export interface DeliveryDeps extends Providers {
  db: Db;
  /** The SES account's quota, shared with bulks (single sends go first). */
  quota: SendQuota;
  objects: ObjectStore;
  sesRetry: RetryTiming;
  smtpRetry: RetryTiming;
  /** Webhook events of the outcomes this module records. */
  emitEvent: EmitEvent;
}

export interface DeliverInput {
  messageId: string;
  mime: ComposedMime;
  policy: DeliveryPolicy;
  /** Attempts already made in this run before this activity's first (the first, local, try). */
  attemptOffset?: number;
}

export interface SendMessageInput {
  messageId: string;
  attachments: AttachmentRef[];
  policy: DeliveryPolicy;
}

/** What one single send ended in, and the provider call that decided it (for the record step). */
export interface DeliveryResult {
  /** `suppressed`: every recipient is on the tenant's suppression list; no provider was called. */
  status: 'sent' | 'failed' | 'unknown' | 'suppressed';
  /** The provider that took the message, or (unknown) may have it; a failure's error names its provider. */
  provider?: Provider;
  providerMessageId?: string;
  rejectedRecipients?: RecipientRejection[];
  error?: string;
  /** The deciding call, when its ledger write did not land (the record step writes it). */
  attempt?: AttemptRecord;
}

/** A transient answer: try again after `retryInMs`. */
export interface RetryLater {
  status: 'retry';
  error: string;
  retryInMs: number;
}

/** The first attempt's result; `recorded` says whether the outcome is already in the database. */
export type SendMessageResult = RetryLater | (DeliveryResult & { recorded: boolean });

const describe = (provider: Provider, o: Exclude<ProviderOutcome, { kind: 'accepted' }>) =>
  `${provider.toUpperCase()} ${o.code}: ${o.message}`;

const outcomeColumn = {
  rejected: 'rejected',
  transient: 'retryable_error',
  unavailable: 'unavailable',
  unknown: 'unknown',
} as const;

function toRecord(key: Omit<AttemptRecord, 'outcome'>, o: ProviderOutcome): AttemptRecord {
  if (o.kind === 'accepted')
    return {
      ...key,
      outcome: 'sent',
      providerMessageId: o.providerMessageId,
      rejectedRecipients: o.rejectedRecipients,
    };
  return { ...key, outcome: outcomeColumn[o.kind], errorCode: o.code, errorMessage: o.message };
}

// How long an outcome write may retry in process before it is left to the workflow's record step.
const RECORD_BUDGET_MS = 5_000;

export function createDeliveryActivities(deps: DeliveryDeps) {
  const { db, objects } = deps;

  const retryTiming = (provider: Provider) => (provider === 'ses' ? deps.sesRetry : deps.smtpRetry);

  async function readMime(mime: ComposedMime, attempt: number): Promise<Buffer> {
    try {
      return await objects.get(mime.key);
    } catch (err) {
      if (isMissingObject(err)) throw permanentInfrastructureError(`composed message ${mime.key} is missing`, attempt);
      throw err; // S3 unreachable: ours, retried, no provider attempt spent
    }
  }

  /**
   * One delivery attempt of a single send through the provider ladder (SES, then SMTP). Provider
   * answers are the outcome; database and S3 errors throw, spending no provider attempt. Every
   * provider call is written as `pending` first, so a call whose answer was lost (a crash, a
   * timeout after the request left) is found as `unknown` and never resent silently. A transient
   * answer comes back as `retry`, with the delay the caller waits before the next attempt.
   */
  async function deliverOnce(
    messageId: string,
    key: { runId: string; attempt: number },
    policy: DeliveryPolicy,
    load: () => Promise<OutgoingMessage>,
  ): Promise<DeliveryResult | RetryLater> {
    const result = await deliver(messageId, key, policy, load);
    // One line per attempt an operator can search by message or workflow id (the activity's
    // logger adds workflowId). Status and provider only: error text can quote an address.
    log.info('delivery attempt', {
      messageId,
      status: result.status,
      ...('provider' in result && result.provider ? { provider: result.provider } : {}),
    });
    return result;
  }

  async function deliver(
    messageId: string,
    { runId, attempt }: { runId: string; attempt: number },
    policy: DeliveryPolicy,
    load: () => Promise<OutgoingMessage>,
  ): Promise<DeliveryResult | RetryLater> {
    const ledger = await attemptsOf(db, messageId);
    const already = ledger.find((a) => a.outcome === 'sent');
    if (already) {
      log.info('already delivered; not sending again', { messageId, provider: already.provider });
      return { status: 'sent', provider: already.provider, providerMessageId: already.providerMessageId ?? '' };
    }
    // This run's calls are what the failover rule counts (an operator's reset starts afresh).
    const past = ledger.filter((a) => a.runId === runId);
    const open = past.find((a) => a.outcome === 'pending' || a.outcome === 'unknown');
    if (open) {
      const error = `${open.provider.toUpperCase()} call (attempt ${open.attempt}) may have been delivered: its answer never arrived; held, not resent`;
      return {
        status: 'unknown',
        error,
        attempt: {
          messageId,
          provider: open.provider,
          runId,
          attempt: open.attempt,
          ...(open.routedBy ? { routedBy: open.routedBy } : {}),
          outcome: 'unknown',
          errorCode: 'NoAnswer',
          errorMessage: error,
        },
      };
    }
    const tally: ProviderTally = {
      ses: past.filter((a) => a.provider === 'ses').length,
      smtp: past.filter((a) => a.provider === 'smtp').length,
      primaryUnavailable: past.some((a) => a.provider === providerOrder(policy)[0] && a.outcome === 'unavailable'),
    };
    const loaded = await load();
    // Checked now, right before the calls, and again on every retry: an address suppressed since
    // the request (a bounce minutes ago) is not mailed. A database error throws: never unchecked.
    const message = await dropSuppressed(db, messageId, loaded);
    if (!message)
      return { status: 'suppressed', error: 'every recipient is on the suppression list; no provider was called' };

    // The deciding call's record, unless it already landed (then the record step writes only the row).
    let unwritten: AttemptRecord | undefined;
    const result = await deliverNow(deps, message, tally, policy, {
      beforeCall: (call) => openCall({ messageId, runId, attempt, ...call }),
      afterCall: async (call, outcome) => {
        const record = toRecord({ messageId, runId, attempt, ...call }, outcome);
        unwritten = record;
        await retryWrite(() => recordAttempt(db, record), RECORD_BUDGET_MS).then(
          () => (unwritten = undefined),
          (err: Error) => log.warn('attempt record deferred to the record step', { messageId, error: err }),
        );
      },
    });
    const { provider, outcome } = result;
    if (!outcome) return { status: 'failed', error: 'no provider attempts left' };
    const attemptRecord = unwritten ? { attempt: unwritten } : {};
    switch (outcome.kind) {
      case 'accepted':
        return {
          status: 'sent',
          provider,
          providerMessageId: outcome.providerMessageId,
          rejectedRecipients: outcome.rejectedRecipients,
          ...attemptRecord,
        };
      case 'rejected':
        return { status: 'failed', error: `${describe(provider, outcome)} (rejected)`, ...attemptRecord };
      case 'unknown':
        return {
          status: 'unknown',
          provider,
          error: `${describe(provider, outcome)} — may have been delivered; held, not resent`,
          ...attemptRecord,
        };
    }
    if (!chooseProvider(result.tally, policy))
      return { status: 'failed', error: `gave up: ${describe(provider, outcome)}`, ...attemptRecord };
    const { baseMs, maxMs } = retryTiming(provider);
    return {
      status: 'retry',
      error: describe(provider, outcome),
      retryInMs: backoffWithJitter(result.tally[provider], baseMs, maxMs),
    };
  }

  /**
   * Just before a provider call: its SES slot, then its `pending` row. The slot comes first, so a
   * crash while waiting for it does not look like a call in flight; an attempt that timed out (or
   * was cancelled) while it waited calls nobody, since its successor may.
   */
  async function openCall(key: AttemptKey): Promise<void> {
    const { cancellationSignal } = Context.current();
    if (key.provider === 'ses') await deps.quota.single(cancellationSignal);
    cancellationSignal.throwIfAborted();
    await recordAttempt(db, { ...key, outcome: 'pending' });
  }

  /** Where this attempt is: its run and its number (the workflow passes how many came before). */
  function attemptKey(attemptOffset = 0) {
    const { attempt, workflowExecution } = Context.current().info;
    return { runId: workflowExecution?.runId ?? '', attempt: attempt + attemptOffset };
  }

  return {
    /**
     * A single send's first attempt, whole: queued → sending, compose, deliver, record. Run as a
     * local activity, so the happy path costs one workflow task and no activity round trips; the
     * ledger keeps it idempotent. A transient answer returns `retry` (the workflow waits, then
     * continues on the durable path), and any of our own faults throws to that path too.
     */
    async sendMessage({ messageId, attachments, policy }: SendMessageInput): Promise<SendMessageResult> {
      const key = attemptKey();
      await markSending(db, messageId);
      const result = await deliverOnce(messageId, key, policy, async () => {
        const message = await messageRow(db, messageId, key.attempt);
        return { envelope: envelopeOf(message), raw: await composeMessage(objects, message, attachments, key.attempt) };
      });
      if (result.status === 'retry') return result;
      // Left to the workflow's record step (retried by Temporal) if the database, or the webhook
      // event's start in Temporal, does not take it now: the step writes and emits again.
      const record = async () => emitSendOutcome(db, deps.emitEvent, await writeOutcome(db, { messageId, ...result }));
      const recorded = await retryWrite(record, RECORD_BUDGET_MS).then(
        () => true,
        (err: Error) => (log.warn('outcome deferred to the record step', { messageId, error: err }), false),
      );
      return { ...result, recorded };
    },

    /**
     * A single send's attempts after the first: the MIME from S3, the ledger deciding the
     * provider. A transient answer throws, for Temporal to retry after the backoff it names.
     */
    async deliver({ messageId, mime, policy, attemptOffset }: DeliverInput): Promise<DeliveryResult> {
      const key = attemptKey(attemptOffset);
      const result = await deliverOnce(messageId, key, policy, async () => ({
        envelope: mime.envelope,
        raw: await readMime(mime, key.attempt),
      }));
      if (result.status !== 'retry') return result;
      // Retry later through Temporal (the history shows why): the ledger picks the provider then.
      throw ApplicationFailure.create({
        type: DeliveryErrorType.Transient,
        message: result.error,
        nextRetryDelay: result.retryInMs,
      });
    },

    /** Workflows started before `deliver` existed: one SES call per attempt, as they expect. */
    sendViaSes(input: Omit<DeliverInput, 'policy'>) {
      return legacyCall('ses', input);
    },
    /** Workflows started before `deliver` existed: one SMTP call per attempt, as they expect. */
    sendViaSmtp(input: Omit<DeliverInput, 'policy'>) {
      return legacyCall('smtp', input);
    },
  };

  async function legacyCall(provider: Provider, { messageId, mime }: Omit<DeliverInput, 'policy'>) {
    const already = await findDelivery(db, messageId);
    if (already) return already;
    const { runId, attempt } = attemptKey();
    const key = { messageId, provider, runId, attempt };
    const raw = await readMime(mime, attempt);
    await openCall(key);
    const outcome = await sendThrough(deps, provider, { envelope: mime.envelope, raw });
    await retryWrite(() => recordAttempt(db, toRecord(key, outcome)), RECORD_BUDGET_MS);
    if (outcome.kind === 'accepted') return { provider, providerMessageId: outcome.providerMessageId };
    const { baseMs, maxMs } = retryTiming(provider);
    const type = {
      rejected: DeliveryErrorType.Rejected,
      unknown: DeliveryErrorType.Rejected,
      unavailable: DeliveryErrorType.Unavailable,
      transient: DeliveryErrorType.Transient,
    }[outcome.kind];
    // These workflows cannot hold an unknown outcome: it ends them without a resend or failover,
    // and the error says the message may have been delivered.
    const held = outcome.kind === 'unknown' ? 'no answer, may have been delivered, not resent: ' : '';
    throw ApplicationFailure.create({
      type,
      message: held + describe(provider, outcome),
      nonRetryable: type === DeliveryErrorType.Rejected,
      nextRetryDelay: backoffWithJitter(attempt, baseMs, maxMs),
    });
  }
}
