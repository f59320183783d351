import type { Db } from '../db/create-db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createBulkRecordActivities } from './bulk-records.js';
import { createBulkSendActivities } from './bulk-send.js';
import { createComposeActivities } from './compose-mime.js';
import { createDeliveryActivities, type DeliveryDeps } from './delivery.js';
import { createRecordActivities } from './records.js';
import { createRepairActivities, type RepairDeps } from './repair.js';
import { createSendQuota } from './send-quota.js';
import { createProviderHealth, type CircuitSettings } from './provider-health.js';
import type { ProviderEndpoints } from '../db/circuits.js';
import type { WebhookSettings } from '../config/config.js';
import { createWebhookDeliveryActivities } from './webhook-delivery.js';
import { createEventEmitter } from './webhooks.js';

export type ActivityDeps = Omit<DeliveryDeps, 'quota' | 'circuits' | 'emitEvent'> & {
  db: Db;
  objects: ObjectStore;
  /** Messages per second SES allows: caps every bulk's pace and the bulk queue's rate limit. */
  sesMaxSendRate: number;
  /** Each provider's endpoint: the SES quota and each circuit breaker are kept per endpoint. */
  endpoints: ProviderEndpoints;
  circuitSettings: CircuitSettings;
  /** Outbound webhooks: the retry policy each delivery gets, SSRF rule, when an endpoint is disabled. */
  webhooks: WebhookSettings;
};

/** What createWorkers adds from its own Temporal connection and config: the repair's start client. */
export type WorkerAddedDeps = Omit<RepairDeps, 'db'>;

/** Every activity the worker registers, built from the dependencies the composition root made. */
export function createActivities(base: ActivityDeps & WorkerAddedDeps) {
  const quota = createSendQuota(base.db, base.endpoints.ses, base.sesMaxSendRate);
  const circuits = createProviderHealth(base.db, base.endpoints, base.circuitSettings, quota);
  // Outcome-recording activities emit their webhook events; delivery workflows run on the main queue.
  const emitEvent = createEventEmitter({ ...base, taskQueue: base.starts.taskQueue });
  const deps = { ...base, quota, circuits, emitEvent };
  return {
    ...createRecordActivities(deps),
    ...createComposeActivities(deps),
    ...createDeliveryActivities(deps),
    ...createBulkRecordActivities(deps),
    ...createBulkSendActivities(deps),
    ...createRepairActivities(deps),
    ...createWebhookDeliveryActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
