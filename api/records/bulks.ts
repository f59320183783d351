// The read side of bulks and the operator's controls, shared by /v1/bulk… and the console.
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { countRecipients } from '../../db/bulk-counts.js';
import type { Db } from '../../db/create-db.js';
import { bulks, type BulkStatus } from '../../db/schema.js';
import { bulkWorkflowId, cancelUpdate, pauseUpdate, resumeUpdate } from '../../workflows/contracts.js';
import { ApiError } from '../errors.js';
import { uuidPattern } from '../idempotency.js';
import { newestFirst, page } from './newest-first.js';

export type BulkRow = typeof bulks.$inferSelect;

export interface BulkFilters {
  status?: BulkStatus;
  created_after?: string;
  created_before?: string;
  /** The id of the last row of the previous page. */
  cursor?: string;
  limit: number;
}

export const bulkSummary = (b: BulkRow) => ({
  id: b.id,
  status: b.status,
  status_reason: b.statusReason,
  total: b.total,
  rate_per_second: b.ratePerSecond,
  created_at: b.createdAt.toISOString(),
  started_at: b.startedAt?.toISOString() ?? null,
  finished_at: b.finishedAt?.toISOString() ?? null,
});

/** The tenant's bulk, or a 404 naming `id`. */
export async function findBulk(db: Db, id: string, tenantId: string): Promise<BulkRow> {
  const notFound = new ApiError('not_found', `no bulk ${id}`, 'id');
  if (!uuidPattern.test(id)) throw notFound;
  const [bulk] = await db
    .select()
    .from(bulks)
    .where(and(eq(bulks.id, id), eq(bulks.tenantId, tenantId)));
  if (!bulk) throw notFound;
  return bulk;
}

/** A page of the tenant's bulks, newest first. */
export async function listBulks(db: Db, tenantId: string, q: BulkFilters) {
  const after = q.cursor ? await findBulk(db, q.cursor, tenantId).catch(() => undefined) : undefined;
  const paging = newestFirst({ table: bulks, createdAt: bulks.createdAt, id: bulks.id }, q, after);
  const rows = await db
    .select()
    .from(bulks)
    .where(and(eq(bulks.tenantId, tenantId), q.status ? eq(bulks.status, q.status) : undefined, ...paging.where))
    .orderBy(...paging.orderBy)
    .limit(q.limit);
  return page(rows, q.limit, bulkSummary);
}

/** A bulk with its exact counts (one snapshot: they add up to total). */
export async function bulkRecord(db: Db, bulk: BulkRow) {
  return { ...bulkSummary(bulk), workflow_id: bulk.workflowId, ...(await countRecipients(db, bulk.id)) };
}

export const bulkControls = { pause: pauseUpdate, resume: resumeUpdate, cancel: cancelUpdate } as const;
export type BulkControl = keyof typeof bulkControls;

/** Pause, resume or cancel through the workflow's update; a finished bulk is a 409. */
export async function controlBulk(temporal: Client, bulk: BulkRow, action: BulkControl) {
  try {
    const progress = await temporal.workflow.getHandle(bulkWorkflowId(bulk.id)).executeUpdate(bulkControls[action]);
    return { id: bulk.id, ...progress };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError)
      throw new ApiError('bulk_finished', `bulk ${bulk.id} is ${bulk.status}; it can no longer be ${action}d`, 'id');
    throw err;
  }
}
