// Mailroom's own Prometheus metrics, one definition each, in prom-client's default registry: the
// API and each worker serve it (GET /metrics, WORKER_METRICS_PORT). Labels are bounded sets
// (kind, provider, outcome class, status), never an address or an id.
import { collectDefaultMetrics, Counter, Histogram, register } from 'prom-client';

export { register };

/** Node's own (RSS, heap, event loop, GC), once per process. */
let defaults = false;
export function collectProcessMetrics() {
  if (defaults) return;
  defaults = true;
  collectDefaultMetrics({ register });
}

export const sendsAccepted = new Counter({
  name: 'mailroom_sends_accepted_total',
  help: 'Sends accepted and started (single: messages; bulk: bulks), by kind.',
  labelNames: ['kind'] as const,
});

export const sendOutcomes = new Counter({
  name: 'mailroom_send_outcomes_total',
  help: 'Final outcomes recorded (single sends and bulk recipients), by kind, status and provider.',
  labelNames: ['kind', 'status', 'provider'] as const,
});

export const providerCalls = new Counter({
  name: 'mailroom_provider_calls_total',
  help: 'Provider calls by provider and outcome (accepted, rejected, transient, unavailable, unknown).',
  labelNames: ['provider', 'outcome'] as const,
});

export const providerCallSeconds = new Histogram({
  name: 'mailroom_provider_call_duration_seconds',
  help: 'How long one provider call took, by provider and outcome.',
  labelNames: ['provider', 'outcome'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

export const failovers = new Counter({
  name: 'mailroom_failovers_total',
  help: 'Deliveries that went on to the other provider right after a call, by from and to.',
  labelNames: ['from', 'to'] as const,
});

export const providerEventsReceived = new Counter({
  name: 'mailroom_provider_events_total',
  help: 'Provider events received (SES through SNS), by type.',
  labelNames: ['type'] as const,
});

export const suppressionsAdded = new Counter({
  name: 'mailroom_suppressions_added_total',
  help: 'Addresses added to a suppression list, by reason.',
  labelNames: ['reason'] as const,
});
