import { sendsAccepted } from '../metrics/metrics.js';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { bulkAttachments, bulkRecipients, bulks } from '../db/schema.js';
import { startBulkWorkflow, startStoredBulk } from '../sends/start-workflows.js';
import { bulkWorkflowId } from '../workflows/contracts.js';
import type { AcceptDeps } from './accept-email.js';
import { insertOrTakeBack, startOrKeepQueued, storeUploads } from './accept-steps.js';
import type { BulkRequest } from './bulk-request.js';
import type { Rejection } from './fields.js';
import { assertSameRequest, idFor, sha256 } from './idempotency.js';
import { assertSenderAllowed, type Principal } from './principal.js';
import { attachmentDigests, attachmentRows } from './store-attachments.js';

/** A bulk's accept needs what a single send's does (the bulk queue and batch sizes included). */
export type BulkDeps = AcceptDeps;

export interface AcceptedBulk {
  id: string;
  status: string;
  total: number;
  accepted: number;
  rejected: Rejection[];
}

// Rows per INSERT: well under Postgres' 65,535 bind parameters at 5 columns a row.
const INSERT_CHUNK = 5_000;

/**
 * Stores the bulk (attachments once in S3, recipients in Postgres) and starts its workflow. As for
 * a single send, a failed start leaves the bulk `queued` (503 with its id), and a concurrent
 * request with the same key answers as a repeat. A From outside the key's sender domains is refused
 * before anything is stored.
 */
export async function acceptBulk(
  deps: BulkDeps,
  r: BulkRequest,
  principal: Principal,
  idempotencyKey: string | undefined,
): Promise<AcceptedBulk> {
  assertSenderAllowed(principal, r.from);
  const { tenantId } = principal;
  const { attachments: files, rejected, ...fields } = r;
  const hash = sha256(JSON.stringify({ ...fields, attachments: attachmentDigests(files) }));
  const id = idFor(tenantId, idempotencyKey);
  const answer = (bulkId: string, status: string, total: number): AcceptedBulk => ({
    id: bulkId,
    status,
    total,
    accepted: total,
    rejected,
  });
  const replay = async (existing: typeof bulks.$inferSelect) => {
    assertSameRequest(existing.requestHash, hash);
    if (existing.status === 'queued') {
      // Stored by an earlier request whose start failed or never happened: start it now.
      await startOrKeepQueued('bulk', existing.id, () => startStoredBulk(deps.db, deps.temporal, deps, existing));
    }
    return answer(existing.id, existing.status, existing.total);
  };

  if (idempotencyKey) {
    const existing = await findByKey(deps.db, tenantId, idempotencyKey);
    if (existing) return replay(existing);
  }

  const uploads = await storeUploads(deps.objects, 'bulks', id, hash, files);
  const total = r.recipients.length;
  const inserted = await insertOrTakeBack(deps.db, uploads, 'bulk', id, async (tx) => {
    const rows = await tx
      .insert(bulks)
      .values({
        id,
        tenantId,
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
        scheduledAt: r.scheduledAt,
        notAfter: r.notAfter,
      })
      // A concurrent request with the same key (so the same id) inserts nothing and replays.
      .onConflictDoNothing()
      .returning({ id: bulks.id });
    if (rows.length === 0) return false;
    if (uploads.refs.length > 0)
      await tx.insert(bulkAttachments).values(attachmentRows(uploads.refs).map((row) => ({ bulkId: id, ...row })));
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
    return true;
  });
  if (!inserted) {
    const existing = idempotencyKey ? await findByKey(deps.db, tenantId, idempotencyKey) : undefined;
    if (!existing) throw new Error(`bulk ${id} collided but cannot be found`);
    return replay(existing);
  }

  await startOrKeepQueued('bulk', id, () =>
    startBulkWorkflow(
      deps.temporal,
      deps,
      {
        id,
        total,
        subject: r.subject,
        ratePerSecond: r.ratePerSecond,
        scheduledAt: r.scheduledAt,
        notAfter: r.notAfter,
      },
      uploads.refs,
    ),
  );
  sendsAccepted.inc({ kind: 'bulk' });
  // Started: its durable timer exists, and its first step marks the row `scheduled`.
  return answer(id, r.scheduledAt ? 'scheduled' : 'queued', total);
}

async function findByKey(db: Db, tenantId: string, key: string) {
  const [row] = await db
    .select()
    .from(bulks)
    .where(and(eq(bulks.tenantId, tenantId), eq(bulks.idempotencyKey, key)));
  return row;
}
