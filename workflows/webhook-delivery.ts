import { isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { WebhookDeliveryInput, WebhookDeliveryResult } from './webhook-contracts.js';

// The record written when retries end: a database outage stalls it, never loses it.
const store = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One event to one endpoint (`webhook-<event>-<endpoint>`): the signed POST is an activity that
 * Temporal retries with exponential backoff until it is delivered, refused for good, or the
 * retry window (24 h by default) has passed; then the delivery is recorded `failed`.
 */
export async function deliverWebhook(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const { eventId, endpointId, policy } = input;
  const post = proxyActivities<Activities>({
    summary: `POST ${input.eventType}`,
    // Above the POST's own timeout, so an attempt ends by its answer (or its lack), not by Temporal.
    startToCloseTimeout: `${policy.timeoutMs + 5_000} ms`,
    scheduleToCloseTimeout: `${policy.windowMs} ms`,
    retry: {
      initialInterval: `${policy.initialMs} ms`,
      backoffCoefficient: 2,
      maximumInterval: `${Math.max(policy.maxMs, policy.initialMs)} ms`,
    },
  });
  try {
    return await post.postWebhook({ eventId, endpointId });
  } catch (err) {
    if (isCancellation(err)) throw err;
    return store.giveUpWebhook({ eventId, endpointId });
  }
}
