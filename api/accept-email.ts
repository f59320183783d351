import { sendsAccepted } from '../metrics/metrics.js';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { attachments, messages } from '../db/schema.js';
import type { ObjectStore } from '../storage/object-store.js';
import { startMessageWorkflow, startStoredMessage, type StartSettings } from '../sends/start-workflows.js';
import { emailWorkflowId } from '../workflows/contracts.js';
import { insertOrTakeBack, startOrKeepQueued, storeUploads } from './accept-steps.js';
import { assertSameRequest, idFor, sha256 } from './idempotency.js';
import { attachmentDigests, attachmentRows } from './store-attachments.js';
import { assertSenderAllowed, type Principal } from './principal.js';
import type { SendRequest } from './send-request.js';

/** The clients the accept path uses, and where and how its workflows run. */
export interface AcceptDeps extends StartSettings {
  db: Db;
  temporal: Client;
  objects: ObjectStore;
}

export interface Accepted {
  id: string;
  status: string;
}

function requestHash(r: SendRequest): string {
  const { attachments: files, raw, ...fields } = r;
  return sha256(
    JSON.stringify({ ...fields, attachments: attachmentDigests(files), ...(raw ? { raw: sha256(raw) } : {}) }),
  );
}

/** What goes to S3: the attachments, or a raw message's bytes (which are not an attachment). */
const uploadsOf = (r: SendRequest) =>
  r.raw ? [{ filename: 'message.eml', contentType: 'message/rfc822', bytes: r.raw }] : r.attachments;

/**
 * Stores the message (attachments to S3, rows to Postgres) and starts its workflow. Input has been
 * validated before this is called, so nothing here runs for bad input. A failed start leaves the
 * row `queued` (503 with its id); see accept-steps.ts for what each failure leaves behind. A From
 * outside the key's sender domains is refused here, for every ingress, before anything is stored.
 */
export async function acceptEmail(
  deps: AcceptDeps,
  r: SendRequest,
  principal: Principal,
  idempotencyKey: string | undefined,
): Promise<Accepted> {
  assertSenderAllowed(principal, r.from);
  const { tenantId } = principal;
  const hash = requestHash(r);
  const id = idFor(tenantId, idempotencyKey);

  if (idempotencyKey) {
    const existing = await findByKey(deps.db, tenantId, idempotencyKey);
    if (existing) return replay(deps, existing, hash);
  }

  const uploads = await storeUploads(deps.objects, 'messages', id, hash, uploadsOf(r));
  const attachmentRefs = r.raw ? [] : uploads.refs;
  const inserted = await insertOrTakeBack(deps.db, uploads, 'email', id, async (tx) => {
    const rows = await tx
      .insert(messages)
      .values({
        id,
        tenantId,
        idempotencyKey,
        requestHash: hash,
        workflowId: emailWorkflowId(id),
        from: r.from,
        to: r.to,
        cc: r.cc,
        bcc: r.bcc,
        replyTo: r.replyTo,
        subject: r.subject,
        html: r.html,
        text: r.text,
        headers: r.headers,
        tags: r.tags,
        scheduledAt: r.scheduledAt,
        notAfter: r.notAfter,
        rawMimeKey: r.raw ? uploads.refs[0]!.key : null,
      })
      .onConflictDoNothing()
      .returning({ id: messages.id });
    if (rows.length === 0) return false;
    if (attachmentRefs.length > 0) {
      await tx.insert(attachments).values(attachmentRows(attachmentRefs).map((row) => ({ messageId: id, ...row })));
    }
    return true;
  });
  if (!inserted) {
    // A concurrent request with the same key won the insert: answer as for a repeat.
    const existing = idempotencyKey ? await findByKey(deps.db, tenantId, idempotencyKey) : undefined;
    if (!existing) throw new Error(`message ${id} collided but cannot be found`);
    return replay(deps, existing, hash);
  }

  await startOrKeepQueued('email', id, () => startMessageWorkflow(deps.temporal, deps, { ...r, id }, attachmentRefs));
  sendsAccepted.inc({ kind: 'single' });
  // Started: its durable timer exists, and its first step marks the row `scheduled`.
  return { id, status: r.scheduledAt ? 'scheduled' : 'queued' };
}

async function findByKey(db: Db, tenantId: string, key: string) {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), eq(messages.idempotencyKey, key)));
  return row;
}

async function replay(deps: AcceptDeps, existing: typeof messages.$inferSelect, hash: string): Promise<Accepted> {
  assertSameRequest(existing.requestHash, hash);
  if (existing.status === 'queued') {
    // The first request may have stored the message and not started its workflow (a failed start,
    // a crash): start it now; if it runs already, this changes nothing.
    await startOrKeepQueued('email', existing.id, () => startStoredMessage(deps.db, deps.temporal, deps, existing));
  }
  return { id: existing.id, status: existing.status };
}
