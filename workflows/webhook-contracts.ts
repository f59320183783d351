// The webhook delivery workflow's contract, imported by both sides of Temporal (workflow sandbox
// included: only types and plain values here).

export const webhookDeliveryWorkflowType = 'deliverWebhook';
/** One event to one endpoint, ever: a repeated emit starts nothing new. */
export const webhookDeliveryWorkflowId = (eventId: string, endpointId: string) => `webhook-${eventId}-${endpointId}`;

/** Decided by config when the event is emitted (workflows cannot read config). */
export interface WebhookRetryPolicy {
  /** One POST, connect to response headers. */
  timeoutMs: number;
  /** First retry delay; doubles each attempt up to maxMs. */
  initialMs: number;
  maxMs: number;
  /** Retries stop this long after the first attempt was scheduled; the delivery is then `failed`. */
  windowMs: number;
}

export interface WebhookDeliveryInput {
  eventId: string;
  endpointId: string;
  eventType: string;
  policy: WebhookRetryPolicy;
}

export interface WebhookDeliveryResult {
  /** `skipped`: the endpoint was disabled or deleted before the event reached it. */
  status: 'delivered' | 'failed' | 'skipped';
  attempts: number;
  error?: string | null;
}

/** A delivery attempt that may succeed later (5xx, timeout, refused): Temporal retries it. */
export const WebhookRetryErrorType = 'WebhookRetry';
