import type { Db } from '../db/create-db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createComposeActivities } from './compose-mime.js';
import { createDeliveryActivities, type DeliveryDeps } from './delivery.js';
import { createRecordActivities } from './records.js';

export type ActivityDeps = DeliveryDeps & { db: Db; objects: ObjectStore };

/** Every activity the worker registers, built from the dependencies the composition root made. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createRecordActivities(deps),
    ...createComposeActivities(deps),
    ...createDeliveryActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
