// The attempts of one webhook delivery, and the endpoint's health they add up to.
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { and, eq, sql } from 'drizzle-orm';
import type { WebhookSettings } from '../config/config.js';
import type { Db } from '../db/create-db.js';
import { webhookDeliveries, webhookEndpoints, webhookEvents, type WebhookDeliveryStatus } from '../db/schema.js';
import { postSigned, type PostOutcome } from '../webhooks/post.js';
import { WebhookRetryErrorType, type WebhookDeliveryResult } from '../workflows/webhook-contracts.js';
import { retryWrite } from './infra-faults.js';

export interface WebhookDeliveryDeps {
  db: Db;
  webhooks: Pick<WebhookSettings, 'allowPrivateTargets' | 'timeoutMs' | 'retry' | 'disableAfter'>;
}

interface DeliveryKey {
  eventId: string;
  endpointId: string;
}

// After the POST answered, its record retries in process this long: a database blip must not
// make Temporal repeat a POST that was delivered.
const RECORD_BUDGET_MS = 5_000;

export function createWebhookDeliveryActivities({ db, webhooks }: WebhookDeliveryDeps) {
  const pk = ({ eventId, endpointId }: DeliveryKey) =>
    and(eq(webhookDeliveries.eventId, eventId), eq(webhookDeliveries.endpointId, endpointId));

  async function settle(
    key: DeliveryKey,
    status: WebhookDeliveryStatus,
    attempt: number,
    o: { statusCode?: number; error?: string },
  ): Promise<WebhookDeliveryResult> {
    const now = new Date();
    await db
      .update(webhookDeliveries)
      .set({
        status,
        attempts: sql`greatest(${webhookDeliveries.attempts}, ${attempt})`,
        lastStatusCode: o.statusCode ?? null,
        lastError: o.error ?? null,
        updatedAt: now,
        ...(status === 'delivered' ? { deliveredAt: now } : {}),
      })
      .where(and(pk(key), eq(webhookDeliveries.status, 'pending')));
    return { status: status === 'pending' ? 'failed' : status, attempts: attempt, error: o.error ?? null };
  }

  /**
   * A failed attempt counts against its endpoint; the endpoint is disabled, saying why, when it
   * answered 410 or has failed `disableAfter.failures` attempts in a row over at least
   * `disableAfter.ms`. Returns the reason when this attempt disabled it.
   */
  async function countFailure(endpointId: string, outcome: Exclude<PostOutcome, { kind: 'delivered' }>) {
    const [counted] = await db
      .update(webhookEndpoints)
      .set({
        consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1`,
        failingSince: sql`coalesce(${webhookEndpoints.failingSince}, now())`,
        lastFailureAt: sql`now()`,
      })
      .where(eq(webhookEndpoints.id, endpointId))
      .returning({ failures: webhookEndpoints.consecutiveFailures, since: webhookEndpoints.failingSince });
    if (!counted) return undefined;
    const gone = outcome.kind === 'rejected' && outcome.gone;
    const reason = gone
      ? `the endpoint answered ${outcome.error}`
      : `${counted.failures} delivery attempts failed in a row since ${counted.since?.toISOString()}; last: ${outcome.error}`;
    // The database's clock decides how long it has been failing, as it set failing_since.
    const [disabled] = await db
      .update(webhookEndpoints)
      .set({ enabled: false, disabledReason: reason, disabledAt: sql`now()` })
      .where(
        and(
          eq(webhookEndpoints.id, endpointId),
          eq(webhookEndpoints.enabled, true),
          gone
            ? sql`true`
            : sql`${webhookEndpoints.consecutiveFailures} >= ${webhooks.disableAfter.failures}
                  and ${webhookEndpoints.failingSince} <= now() - make_interval(secs => ${webhooks.disableAfter.ms / 1000})`,
        ),
      )
      .returning({ id: webhookEndpoints.id });
    if (disabled) log.warn('webhook endpoint disabled', { endpointId, reason });
    return disabled ? reason : undefined;
  }

  /** Writes an attempt's answer; `retry` when the delivery stays pending for a later attempt. */
  async function record(
    key: DeliveryKey,
    attempt: number,
    outcome: PostOutcome,
  ): Promise<WebhookDeliveryResult | 'retry'> {
    if (outcome.kind === 'delivered') {
      await db
        .update(webhookEndpoints)
        .set({ consecutiveFailures: 0, failingSince: null, lastSuccessAt: sql`now()` })
        .where(eq(webhookEndpoints.id, key.endpointId));
      return settle(key, 'delivered', attempt, { statusCode: outcome.status });
    }
    const disabled = (await countFailure(key.endpointId, outcome)) !== undefined;
    const error = disabled ? `${outcome.error}; endpoint disabled` : outcome.error;
    const final = outcome.kind === 'rejected' || disabled;
    const result = await settle(key, final ? 'failed' : 'pending', attempt, { statusCode: outcome.status, error });
    return final ? result : 'retry';
  }

  return {
    /**
     * One signed POST of an event to an endpoint. Delivered, refused for good, or the endpoint
     * gone or disabled: the delivery's final result. Worth retrying: throws, for Temporal to retry
     * with the workflow's backoff (or after the receiver's `Retry-After`).
     */
    async postWebhook(key: DeliveryKey): Promise<WebhookDeliveryResult> {
      const { attempt } = Context.current().info;
      const [row] = await db
        .select({
          status: webhookDeliveries.status,
          attempts: webhookDeliveries.attempts,
          lastError: webhookDeliveries.lastError,
          payload: webhookEvents.payload,
          url: webhookEndpoints.url,
          secret: webhookEndpoints.secret,
          enabled: webhookEndpoints.enabled,
          disabledReason: webhookEndpoints.disabledReason,
        })
        .from(webhookDeliveries)
        .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
        .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
        .where(pk(key));
      // Deleted with its endpoint: nothing more to deliver, nowhere to record it.
      if (!row) return { status: 'skipped', attempts: attempt - 1, error: 'endpoint deleted' };
      if (row.status !== 'pending') return { status: row.status, attempts: row.attempts, error: row.lastError };
      if (!row.enabled)
        return settle(key, 'skipped', row.attempts, { error: `endpoint disabled: ${row.disabledReason}` });

      const outcome = await postSigned({
        url: row.url,
        secret: row.secret,
        eventId: key.eventId,
        payload: row.payload,
        timeoutMs: webhooks.timeoutMs,
        allowPrivateTargets: webhooks.allowPrivateTargets,
      });
      const result = await retryWrite(() => record(key, attempt, outcome), RECORD_BUDGET_MS);
      if (result !== 'retry') {
        if (result.status === 'failed') log.warn('webhook delivery failed', { ...key, attempt, error: result.error });
        return result;
      }
      // record() asks for another attempt only after a `retry` answer.
      const { error, retryAfterMs } = outcome as Extract<PostOutcome, { kind: 'retry' }>;
      log.info('webhook delivery attempt failed; retrying', { ...key, attempt, error });
      throw ApplicationFailure.create({
        type: WebhookRetryErrorType,
        message: error,
        ...(retryAfterMs !== undefined ? { nextRetryDelay: Math.min(retryAfterMs, webhooks.retry.maxMs) } : {}),
      });
    },

    /** Retries ran out (the window passed): the delivery is `failed`, with its last error. */
    async giveUpWebhook(key: DeliveryKey): Promise<WebhookDeliveryResult> {
      const [row] = await db
        .update(webhookDeliveries)
        .set({
          status: 'failed',
          lastError: sql`'retries ended; last: ' || coalesce(${webhookDeliveries.lastError}, 'no answer')`,
          updatedAt: new Date(),
        })
        .where(and(pk(key), eq(webhookDeliveries.status, 'pending')))
        .returning({ attempts: webhookDeliveries.attempts, lastError: webhookDeliveries.lastError });
      if (row) return { status: 'failed', attempts: row.attempts, error: row.lastError };
      const [current] = await db
        .select({
          status: webhookDeliveries.status,
          attempts: webhookDeliveries.attempts,
          error: webhookDeliveries.lastError,
        })
        .from(webhookDeliveries)
        .where(pk(key));
      if (!current) return { status: 'skipped', attempts: 0, error: 'endpoint deleted' };
      return {
        status: current.status === 'pending' ? 'failed' : current.status,
        attempts: current.attempts,
        error: current.error,
      };
    },
  };
}
