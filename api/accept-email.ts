import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { attachments, messages } from '../db/schema.js';
import { attachmentPrefix, type ObjectStore } from '../storage/object-store.js';
import {
  emailWorkflowId,
  mailKindKey,
  mailRecipientsKey,
  mailStatusKey,
  sendEmailWorkflowType,
  type AttachmentRef,
  type DeliveryPolicy,
  type SendEmailInput,
} from '../workflows/contracts.js';
import type { sendEmail } from '../workflows/send-email.js';
import { bareAddress } from '../mail/addresses.js';
import { ApiError } from './errors.js';
import { startOnce } from './start-once.js';
import { assertSameRequest, idFor, sha256 } from './idempotency.js';
import { attachmentDigests, attachmentRows, refsFromRows, storeAttachments } from './store-attachments.js';
import type { SendRequest } from './send-request.js';

export interface AcceptDeps {
  db: Db;
  temporal: Client;
  objects: ObjectStore;
  taskQueue: string;
  policy: DeliveryPolicy;
}

export interface Accepted {
  id: string;
  status: string;
}

function requestHash(r: SendRequest): string {
  const { attachments: files, ...fields } = r;
  return sha256(JSON.stringify({ ...fields, attachments: attachmentDigests(files) }));
}

/**
 * Stores the message (attachments to S3, rows to Postgres) and starts its workflow. Input has been
 * validated before this is called, so nothing here runs for bad input.
 */
export async function acceptEmail(
  deps: AcceptDeps,
  r: SendRequest,
  apiKeyId: string,
  idempotencyKey: string | undefined,
): Promise<Accepted> {
  const hash = requestHash(r);
  const id = idFor(apiKeyId, idempotencyKey);

  if (idempotencyKey) {
    const existing = await findByKey(deps.db, apiKeyId, idempotencyKey);
    if (existing) return replay(deps, existing, hash);
  }

  const refs = await storeAttachments(deps.objects, attachmentPrefix('messages', id, hash), r.attachments);

  const inserted = await deps.db.transaction(async (tx) => {
    const rows = await tx
      .insert(messages)
      .values({
        id,
        apiKeyId,
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
      })
      .onConflictDoNothing()
      .returning({ id: messages.id });
    if (rows.length === 0) return false;
    if (refs.length > 0) {
      await tx.insert(attachments).values(attachmentRows(refs).map((row) => ({ messageId: id, ...row })));
    }
    return true;
  });
  if (!inserted) {
    // A concurrent request with the same key won the insert: answer as for a repeat.
    const existing = idempotencyKey ? await findByKey(deps.db, apiKeyId, idempotencyKey) : undefined;
    if (!existing) throw new Error(`message ${id} collided but cannot be found`);
    return replay(deps, existing, hash);
  }

  try {
    await startSend(deps, id, refs, r);
  } catch (err) {
    // Temporal is unreachable: take the message back so the caller's retry is not a duplicate.
    await deps.db.delete(messages).where(eq(messages.id, id));
    await deps.objects.deletePrefix(`messages/${id}/`).catch(() => {});
    throw new ApiError('service_unavailable', `could not start the send: ${(err as Error).message}`);
  }
  return { id, status: 'queued' };
}

async function findByKey(db: Db, apiKeyId: string, key: string) {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.apiKeyId, apiKeyId), eq(messages.idempotencyKey, key)));
  return row;
}

async function replay(deps: AcceptDeps, existing: typeof messages.$inferSelect, hash: string): Promise<Accepted> {
  assertSameRequest(existing.requestHash, hash);
  if (existing.status === 'queued') {
    // The first request may have stored the message and died before starting its workflow.
    const refs = refsFromRows(await deps.db.select().from(attachments).where(eq(attachments.messageId, existing.id)));
    await startSend(deps, existing.id, refs, existing);
  }
  return { id: existing.id, status: existing.status };
}

async function startSend(
  deps: AcceptDeps,
  id: string,
  refs: AttachmentRef[],
  r: Pick<SendRequest, 'to' | 'cc' | 'bcc' | 'subject'>,
): Promise<void> {
  const input: SendEmailInput = { messageId: id, attachments: refs, policy: deps.policy };
  const recipients = [...r.to, ...r.cc, ...r.bcc].map(bareAddress);
  await startOnce<typeof sendEmail>(deps.temporal, sendEmailWorkflowType, {
    taskQueue: deps.taskQueue,
    workflowId: emailWorkflowId(id),
    args: [input],
    staticSummary: `${r.subject.slice(0, 80)} → ${recipients.slice(0, 3).join(', ')}${recipients.length > 3 ? ` +${recipients.length - 3}` : ''}`,
    typedSearchAttributes: [
      { key: mailKindKey, value: 'single' },
      { key: mailStatusKey, value: 'queued' },
      { key: mailRecipientsKey, value: recipients.slice(0, 50) },
    ],
  });
}
