// Emitting an event to a tenant's webhook endpoints: one durable delivery workflow per endpoint.
import type { Client } from '@temporalio/client';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { WebhookSettings } from '../config/config.js';
import type { Db } from '../db/create-db.js';
import { webhookDeliveries, webhookEndpoints, webhookEvents } from '../db/schema.js';
import { startOnce } from '../sends/start-workflows.js';
import {
  subjectOf,
  webhookEventId,
  webhookPayload,
  type WebhookEventData,
  type WebhookEventType,
} from '../webhooks/events.js';
import type { deliverWebhook } from '../workflows/webhook-delivery.js';
import {
  webhookDeliveryWorkflowId,
  webhookDeliveryWorkflowType,
  type WebhookDeliveryInput,
} from '../workflows/webhook-contracts.js';

export interface EventEmitterDeps {
  db: Db;
  temporal: Client;
  /** The queue the delivery workflows and their activities run on: the main one. */
  taskQueue: string;
  webhooks: Pick<WebhookSettings, 'timeoutMs' | 'retry'>;
}

export interface EmitOptions {
  /**
   * What tells this event apart from the subject's other events of the same type; default: the
   * subject (`email_id` / `bulk_id`), for events a subject has once. A bounce per recipient, say,
   * passes the provider's notification id. The same key is the same event: delivered once.
   */
  key?: string;
  /** When it happened: the payload's `timestamp`. Default: now. */
  at?: Date;
}

export interface Emitted {
  eventId: string;
  /** Endpoints the event goes to (enabled, subscribed to the type). */
  endpoints: number;
}

/**
 * Emits an event: the tenant's enabled endpoints subscribed to its type each get a delivery
 * workflow. Safe to call again (a retried activity, a repeated request): the same event is stored
 * and delivered once. Throws when the database or Temporal cannot take it, so the caller's retry
 * carries it; it returns once every delivery is durably started.
 */
export type EmitEvent = <T extends WebhookEventType>(
  tenant: string,
  type: T,
  data: WebhookEventData<T>,
  o?: EmitOptions,
) => Promise<Emitted>;

export function createEventEmitter({ db, temporal, taskQueue, webhooks }: EventEmitterDeps): EmitEvent {
  const policy = { timeoutMs: webhooks.timeoutMs, ...webhooks.retry };
  return async (tenant, type, data, o = {}) => {
    const eventId = webhookEventId(tenant, type, o.key ?? subjectOf(data));
    const endpoints = await db
      .select({ id: webhookEndpoints.id })
      .from(webhookEndpoints)
      .where(
        and(
          eq(webhookEndpoints.tenantId, tenant),
          eq(webhookEndpoints.enabled, true),
          sql`${webhookEndpoints.eventTypes} @> ${JSON.stringify([type])}::jsonb`,
        ),
      );
    if (endpoints.length === 0) return { eventId, endpoints: 0 };
    const ids = endpoints.map((e) => e.id);
    await db.transaction(async (tx) => {
      await tx
        .insert(webhookEvents)
        .values({ id: eventId, tenantId: tenant, type, payload: webhookPayload(type, data, o.at ?? new Date()) })
        .onConflictDoNothing();
      await tx
        .insert(webhookDeliveries)
        .values(ids.map((endpointId) => ({ eventId, endpointId, eventType: type })))
        .onConflictDoNothing();
    });
    // Only deliveries still pending: one that ended stays ended, even once Temporal has forgotten its workflow.
    const pending = await db
      .select({ endpointId: webhookDeliveries.endpointId })
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.eventId, eventId),
          inArray(webhookDeliveries.endpointId, ids),
          eq(webhookDeliveries.status, 'pending'),
        ),
      );
    await Promise.all(
      pending.map(({ endpointId }) => {
        const input: WebhookDeliveryInput = { eventId, endpointId, eventType: type, policy };
        return startOnce<typeof deliverWebhook>(temporal, webhookDeliveryWorkflowType, {
          taskQueue,
          workflowId: webhookDeliveryWorkflowId(eventId, endpointId),
          args: [input],
          staticSummary: `${type} → webhook endpoint ${endpointId}`,
        });
      }),
    );
    return { eventId, endpoints: ids.length };
  };
}
