import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import PQueue from 'p-queue';
import type { Db } from '../db/create-db.js';
import { bulkRecipients, bulks } from '../db/schema.js';
import { suppressedSql } from '../db/suppressions.js';
import { composeMime, loadAttachments, messageIdHeader, type AttachmentFile } from '../delivery/compose.js';
import { chooseProvider } from '../delivery/ladder.js';
import { deliverNow, type Providers } from '../delivery/send.js';
import { bareAddress, formatAddress } from '../mail/addresses.js';
import { compileTemplates, TemplateError, type RenderFor } from '../mail/templates.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { AttachmentRef, DeliveryPolicy } from '../workflows/contracts.js';
import type { RetryTiming } from './delivery.js';
import { createPacer, delay } from './pacer.js';
import type { SendQuota } from './send-quota.js';
import { createOutcomeWriter, type RecipientOutcome } from './bulk-outcomes.js';
import { isMissingObject } from './infra-faults.js';
import { backoffWithJitter } from './backoff.js';

export interface BulkSendDeps extends Providers {
  db: Db;
  quota: SendQuota;
  objects: ObjectStore;
  sesRetry: RetryTiming;
}

export interface BatchInput {
  bulkId: string;
  /** Recipient seq range [fromSeq, toSeq). */
  fromSeq: number;
  toSeq: number;
  ratePerSecond: number;
  /** The first send may not start before this (epoch ms). */
  startAt: number;
  attachments: AttachmentRef[];
  policy: DeliveryPolicy;
}

type Row = typeof bulkRecipients.$inferSelect;

// Sends in flight at once inside a batch: the pace decides when each starts, this bounds the
// overlap when the provider is slow.
const MAX_IN_FLIGHT = 32;
// Rows are marked `sending` a few at a time just before their slots: one write per ~50 ms of sends.
const MARK_AHEAD_MS = 50;
// A provider's answer is worth waiting for the database: outcome writes retry this long.
const RECORD_BUDGET_MS = 120_000;
// Outcomes are written in groups: one UPDATE per this many ms of answers, or per this many rows.
// A recipient stays `sending` until its outcome is written, so this widens the window in which a
// worker crash leaves a call counted as unknown (and resent once) by at most OUTCOME_FLUSH_MS.
const OUTCOME_FLUSH_MS = 20;
const OUTCOME_FLUSH_ROWS = 50;
// Dispatch waits while this many outcomes are unwritten (a slow database), so the rows `sending`
// at any time stay bounded: in flight plus unwritten.
const MAX_UNWRITTEN = 2 * OUTCOME_FLUSH_ROWS;
// Unanswered provider calls a recipient may have before it is held instead of sent again: one
// resend covers a worker crash or a blip; a provider that keeps swallowing answers gets no more.
const MAX_UNKNOWN_OUTCOMES = 2;
const SUPPRESSED = 'on the suppression list: not sent';
// A missing attachment object gets this many batch attempts before its recipients fail.
const MISSING_ATTACHMENT_ATTEMPTS = 3;

/**
 * A bulk accepted before the template subset existed may use what it now refuses: each recipient
 * fails with that reason, rather than the batch retrying a compile that can never succeed.
 */
function compileOrRefuse(bulk: Parameters<typeof compileTemplates>[0]): RenderFor {
  try {
    return compileTemplates(bulk);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    return () => {
      throw err;
    };
  }
}

export function createBulkSendActivities(deps: BulkSendDeps) {
  const { db } = deps;

  /**
   * Sends one range of a bulk's recipients, each its own copy, paced at ratePerSecond. The range is
   * leased to this attempt: a recipient is `sending` only once it is handed to a provider, and
   * every mark is conditional on the lease, so an attempt Temporal gave up on cannot overwrite its
   * successor's work. Database and S3 faults throw (Temporal retries the batch); they never decide
   * a recipient's outcome or spend its provider attempts.
   */
  async function sendBulkBatch(input: BatchInput): Promise<{ nextSendAt: number }> {
    const ctx = Context.current();
    // Heartbeats on a timer: liveness must not depend on sends being dispatched.
    const beat = setInterval(() => ctx.heartbeat(), 1_000);
    try {
      return await runBatch(ctx, input);
    } finally {
      clearInterval(beat);
    }
  }

  async function runBatch(ctx: Context, input: BatchInput): Promise<{ nextSendAt: number }> {
    const { attempt, activityId, workflowExecution } = ctx.info;
    const signal = ctx.cancellationSignal;
    // Setup before the claim: nothing is claimed or spent while the database or S3 is away.
    const [bulk] = await db.select().from(bulks).where(eq(bulks.id, input.bulkId));
    if (!bulk) throw ApplicationFailure.nonRetryable(`bulk ${input.bulkId} is not in the database`, 'BulkMissing');
    const render = compileOrRefuse(bulk);
    let files: AttachmentFile[] | string;
    try {
      files = await loadAttachments(deps.objects, input.attachments);
    } catch (err) {
      if (!isMissingObject(err) || attempt < MISSING_ATTACHMENT_ATTEMPTS) throw err;
      files = 'an attachment is missing from the object store';
    }
    const fromAddress = bareAddress(bulk.from);

    const lease = `${workflowExecution?.runId ?? ''}/${activityId}/${attempt}`;
    const range = and(
      eq(bulkRecipients.bulkId, input.bulkId),
      gte(bulkRecipients.seq, input.fromSeq),
      lt(bulkRecipients.seq, input.toSeq),
    );
    // Rows still `sending` were handed to a provider by an attempt that never reported back: their
    // outcome is unknown. They are sent again once (the bulk policy), counted in unknown_outcomes;
    // a second unknown holds the recipient.
    const rows = (
      await db
        .update(bulkRecipients)
        .set({
          status: sql`case when ${bulkRecipients.status} = 'sending' and ${bulkRecipients.unknownOutcomes} >= ${MAX_UNKNOWN_OUTCOMES - 1} then 'unknown' else 'claimed' end`,
          lease,
          unknownOutcomes: sql`${bulkRecipients.unknownOutcomes} + (case when ${bulkRecipients.status} = 'sending' then 1 else 0 end)`,
          updatedAt: new Date(),
        })
        .where(and(range, inArray(bulkRecipients.status, ['pending', 'claimed', 'sending'])))
        .returning()
    )
      .filter((r) => r.status === 'claimed')
      .sort((a, b) => a.seq - b.seq);
    const mine = (seqs: number[]) =>
      and(eq(bulkRecipients.bulkId, input.bulkId), inArray(bulkRecipients.seq, seqs), eq(bulkRecipients.lease, lease));

    let deferred = 0;
    let lastError: string | undefined;
    let stopped: unknown;
    const outcomes = createOutcomeWriter({
      db,
      bulkId: input.bulkId,
      lease,
      flushMs: OUTCOME_FLUSH_MS,
      flushRows: OUTCOME_FLUSH_ROWS,
      budgetMs: RECORD_BUDGET_MS,
      onLost(err, seqs) {
        // Those rows stay `sending`: the next attempt counts each as an unanswered call.
        stopped ??= err;
        log.error('could not record recipient outcomes', { bulkId: input.bulkId, seqs, error: err });
      },
    });
    /** The outcome is written with the next flush; until then the row stays `sending`. */
    const settle = (row: Row, status: RecipientOutcome['status'], set: Omit<RecipientOutcome, 'seq' | 'status'>) => {
      if (status === 'pending') {
        deferred++;
        lastError = set.error ?? undefined;
      }
      outcomes.record({ seq: row.seq, status, ...set });
    };

    // Once per batch: everything about the message that is the same for every recipient.
    const common = { from: bulk.from, replyTo: bulk.replyTo, headers: bulk.headers };

    /** Composes and sends one copy; resolves when the provider answered (the outcome is buffered). */
    async function deliverRow(row: Row): Promise<void> {
      let raw: Buffer;
      try {
        if (typeof files === 'string') throw new Error(files);
        const mail = render({ email: row.email, name: row.name, data: row.data });
        const to = formatAddress({ address: row.email, ...(row.name ? { name: row.name } : {}) });
        const fields = { ...common, to: [to], ...mail };
        raw = await composeMime(fields, files, messageIdHeader(`${input.bulkId}.${row.seq}`, fromAddress));
      } catch (err) {
        const reason = err instanceof TemplateError ? err.message : `could not compose: ${(err as Error).message}`;
        return settle(row, 'failed', { error: reason });
      }
      const tally = { ses: row.attempts - row.smtpAttempts, smtp: row.smtpAttempts };
      const {
        provider,
        outcome,
        tally: after,
      } = await deliverNow(deps, { envelope: { from: fromAddress, to: [row.email] }, raw }, tally, input.policy);
      const counts = { attempts: after.ses + after.smtp, smtpAttempts: after.smtp };
      if (!outcome) return settle(row, 'failed', { ...counts, error: 'no provider attempts left' });
      if (outcome.kind === 'accepted')
        return settle(row, 'sent', { ...counts, provider, providerMessageId: outcome.providerMessageId, error: null });
      const error = `${provider.toUpperCase()} ${outcome.code}: ${outcome.message}`;
      if (outcome.kind === 'rejected') return settle(row, 'failed', { ...counts, provider, error });
      if (outcome.kind === 'unknown') {
        const held = row.unknownOutcomes + 1 >= MAX_UNKNOWN_OUTCOMES;
        return settle(row, held ? 'unknown' : 'pending', {
          ...counts,
          unknownOutcome: true,
          error: `${error} (no answer: may have been delivered; ${held ? 'held, not sent again' : 'sent again'})`,
        });
      }
      if (!chooseProvider(after, input.policy))
        return settle(row, 'failed', {
          ...counts,
          provider,
          error: `gave up after ${counts.attempts} attempts: ${error}`,
        });
      return settle(row, 'pending', { ...counts, error });
    }

    const queue = new PQueue({ concurrency: MAX_IN_FLIGHT });
    const pacer = createPacer(input.ratePerSecond, input.startAt);
    const chunkSize = Math.max(1, Math.min(MAX_IN_FLIGHT, Math.ceil((input.ratePerSecond * MARK_AHEAD_MS) / 1000)));
    let dispatched = 0;
    while (dispatched < rows.length && stopped === undefined) {
      await pacer.ready(signal);
      if (signal.aborted) break;
      await queue.onSizeLessThan(1);
      await outcomes.room(MAX_UNWRITTEN);
      const chunk = rows.slice(dispatched, dispatched + chunkSize);
      let marked: Set<number>;
      let slots: number[];
      try {
        // The account's quota, shared with single sends (which go first) and every other batch.
        slots = await deps.quota.bulk(chunk.length, signal);
        if (signal.aborted) break;
        // The suppression check rides on the statement that hands the rows to a provider: checked
        // immediately before their calls, at no extra round trip. Suppressed rows are final here.
        const suppressed = suppressedSql(bulk.tenantId, sql`${bulkRecipients}.${sql.identifier('email')}`);
        const out = await db
          .update(bulkRecipients)
          .set({
            status: sql`case when ${suppressed} then 'suppressed' else 'sending' end`,
            error: sql`case when ${suppressed} then ${SUPPRESSED} else ${bulkRecipients.error} end`,
            updatedAt: new Date(),
          })
          .where(and(mine(chunk.map((r) => r.seq)), eq(bulkRecipients.status, 'claimed')))
          .returning({ seq: bulkRecipients.seq, status: bulkRecipients.status });
        marked = new Set(out.filter((r) => r.status === 'sending').map((r) => r.seq));
      } catch (err) {
        stopped = err; // the database is away: stop dispatching, settle what is in flight
        break;
      }
      dispatched += chunk.length;
      for (const [i, row] of chunk.entries()) {
        if (!marked.has(row.seq)) continue; // taken over by a later attempt
        // A row marked `sending` is always handed over: a pause takes effect at the next chunk.
        await pacer.ready();
        await delay(slots[i]! - Date.now());
        pacer.take(slots[i]);
        void queue
          .add(() => deliverRow(row))
          .catch((err: Error) => {
            // Not a provider answer (deliverNow classifies those): the row stays `sending`, and the
            // next attempt counts it unknown.
            stopped ??= err;
            log.error('could not send a recipient', { bulkId: input.bulkId, seq: row.seq, error: err });
          });
      }
    }
    // Sends already handed to a provider finish and are recorded, even when cancelled: every
    // outcome is written (or given up after RECORD_BUDGET_MS) before the batch ends.
    await queue.onIdle();
    await outcomes.settled();

    if (signal.aborted || stopped !== undefined) {
      // Claimed rows never handed to a provider go back as they were: nothing was attempted for them.
      await db
        .update(bulkRecipients)
        .set({ status: 'pending', lease: null })
        .where(and(range, eq(bulkRecipients.lease, lease), eq(bulkRecipients.status, 'claimed')))
        .catch(() => {}); // still leased rows are re-claimed by the next attempt anyway
      if (stopped !== undefined) throw stopped;
      throw new CancelledFailure('batch interrupted by pause or cancel');
    }

    if (deferred > 0 || bulk.statusReason) {
      await db
        .update(bulks)
        .set({
          statusReason: deferred > 0 ? `waiting to retry ${deferred} recipient(s): ${lastError}` : null,
          updatedAt: new Date(),
        })
        .where(eq(bulks.id, input.bulkId));
    }
    if (deferred > 0) {
      log.warn('batch deferred recipients', { bulkId: input.bulkId, deferred, attempt });
      throw ApplicationFailure.create({
        type: 'BatchDeferred',
        message: `${deferred} recipient(s) deferred: ${lastError}`,
        nextRetryDelay: backoffWithJitter(attempt, deps.sesRetry.baseMs, deps.sesRetry.maxMs),
      });
    }
    return { nextSendAt: pacer.nextSlot };
  }

  return { sendBulkBatch };
}
