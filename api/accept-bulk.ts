import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { bulkAttachments, bulkRecipients, bulks } from '../db/schema.js';
import { attachmentPrefix, type ObjectStore } from '../storage/object-store.js';
import {
  bulkIdKey,
  bulkSendWorkflowType,
  bulkTotalKey,
  bulkWorkflowId,
  mailKindKey,
  mailStatusKey,
  type AttachmentRef,
  type BulkSendInput,
  type DeliveryPolicy,
} from '../workflows/contracts.js';
import type { bulkSend } from '../workflows/bulk-send.js';
import type { BulkRequest } from './bulk-request.js';
import { ApiError } from './errors.js';
import { startOnce } from './start-once.js';
import type { Rejection } from './fields.js';
import { assertSameRequest, idFor, sha256 } from './idempotency.js';
import { attachmentDigests, attachmentRows, refsFromRows, storeAttachments } from './store-attachments.js';

export interface BulkDeps {
  db: Db;
  temporal: Client;
  objects: ObjectStore;
  taskQueue: string;
  bulkTaskQueue: string;
  bulkBatchSize: number;
  bulkBatchesPerRun: number;
  policy: DeliveryPolicy;
}

export interface AcceptedBulk {
  id: string;
  status: string;
  total: number;
  accepted: number;
  rejected: Rejection[];
}

// Rows per INSERT: well under Postgres' 65,535 bind parameters at 5 columns a row.
const INSERT_CHUNK = 5_000;

/** Stores the bulk (attachments once in S3, recipients in Postgres) and starts its workflow. */
export async function acceptBulk(
  deps: BulkDeps,
  r: BulkRequest,
  apiKeyId: string,
  idempotencyKey: string | undefined,
): Promise<AcceptedBulk> {
  const { attachments: files, rejected, ...fields } = r;
  const hash = sha256(JSON.stringify({ ...fields, attachments: attachmentDigests(files) }));
  const id = idFor(apiKeyId, idempotencyKey);
  const answer = (bulkId: string, status: string, total: number): AcceptedBulk => ({
    id: bulkId,
    status,
    total,
    accepted: total,
    rejected,
  });

  if (idempotencyKey) {
    const [existing] = await deps.db
      .select()
      .from(bulks)
      .where(and(eq(bulks.apiKeyId, apiKeyId), eq(bulks.idempotencyKey, idempotencyKey)));
    if (existing) {
      assertSameRequest(existing.requestHash, hash);
      if (existing.status === 'queued')
        await startBulk(deps, existing, r.ratePerSecond, await refsOf(deps.db, existing.id));
      return answer(existing.id, existing.status, existing.total);
    }
  }

  const refs = await storeAttachments(deps.objects, attachmentPrefix('bulks', id, hash), files);
  const total = r.recipients.length;
  await deps.db.transaction(async (tx) => {
    await tx.insert(bulks).values({
      id,
      apiKeyId,
      idempotencyKey,
      requestHash: hash,
      workflowId: bulkWorkflowId(id),
      from: r.from,
      replyTo: r.replyTo,
      subject: r.subject,
      html: r.html,
      text: r.text,
      headers: r.headers,
      total,
      ratePerSecond: r.ratePerSecond,
    });
    if (refs.length > 0)
      await tx.insert(bulkAttachments).values(attachmentRows(refs).map((row) => ({ bulkId: id, ...row })));
    for (let i = 0; i < total; i += INSERT_CHUNK) {
      await tx.insert(bulkRecipients).values(
        r.recipients.slice(i, i + INSERT_CHUNK).map((rcpt, j) => ({
          bulkId: id,
          seq: i + j,
          email: rcpt.email,
          name: rcpt.name ?? null,
          data: rcpt.data,
        })),
      );
    }
  });

  try {
    await startBulk(deps, { id, total, subject: r.subject }, r.ratePerSecond, refs);
  } catch (err) {
    await deps.db.delete(bulks).where(eq(bulks.id, id));
    await deps.objects.deletePrefix(`bulks/${id}/`).catch(() => {});
    throw new ApiError('service_unavailable', `could not start the bulk: ${(err as Error).message}`);
  }
  return answer(id, 'queued', total);
}

async function refsOf(db: Db, bulkId: string): Promise<AttachmentRef[]> {
  return refsFromRows(await db.select().from(bulkAttachments).where(eq(bulkAttachments.bulkId, bulkId)));
}

async function startBulk(
  deps: BulkDeps,
  { id, total, subject }: { id: string; total: number; subject: string },
  ratePerSecond: number | undefined,
  attachments: AttachmentRef[],
) {
  const input: BulkSendInput = {
    bulkId: id,
    total,
    attachments,
    ratePerSecond,
    batchSize: deps.bulkBatchSize,
    batchesPerRun: deps.bulkBatchesPerRun,
    sendQueue: deps.bulkTaskQueue,
    policy: deps.policy,
  };
  await startOnce<typeof bulkSend>(deps.temporal, bulkSendWorkflowType, {
    taskQueue: deps.taskQueue,
    workflowId: bulkWorkflowId(id),
    args: [input],
    staticSummary: `bulk: ${subject.slice(0, 80)} → ${total} recipient(s)`,
    typedSearchAttributes: [
      { key: mailKindKey, value: 'bulk' },
      { key: mailStatusKey, value: 'queued' },
      { key: bulkIdKey, value: id },
      { key: bulkTotalKey, value: total },
    ],
  });
}
