// Starting a send's workflow: the one way the API (on accept and on an idempotent retry) and the
// repair schedule (for rows left `queued`) do it, so both start the same id with the same input.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowStartOptions } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { deliveryPolicy, type Config } from '../config/config.js';
import type { Db } from '../db/create-db.js';
import { attachments, bulkAttachments } from '../db/schema.js';
import { bareAddress } from '../mail/addresses.js';
import {
  bulkIdKey,
  bulkSendWorkflowType,
  bulkTotalKey,
  bulkWorkflowId,
  emailWorkflowId,
  mailKindKey,
  mailRecipientsKey,
  mailStatusKey,
  sendEmailWorkflowType,
  type AttachmentRef,
  type BulkSendInput,
  type DeliveryPolicy,
  type SendEmailInput,
} from '../workflows/contracts.js';
import type { bulkSend } from '../workflows/bulk-send.js';
import type { sendEmail } from '../workflows/send-email.js';

/** Where and how sends run: decided by config, carried into each workflow's input. */
export interface StartSettings {
  /** The main queue: every workflow, single-send activities. */
  taskQueue: string;
  /** The rate-limited queue of bulk batches. */
  bulkTaskQueue: string;
  bulkBatchSize: number;
  bulkBatchesPerRun: number;
  policy: DeliveryPolicy;
}

export type StartConfig = Pick<
  Config,
  'TEMPORAL_TASK_QUEUE' | 'BULK_TASK_QUEUE' | 'BULK_BATCH_SIZE' | 'BULK_BATCHES_PER_RUN'
> &
  Parameters<typeof deliveryPolicy>[0];

export function startSettings(config: StartConfig): StartSettings {
  return {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    bulkTaskQueue: config.BULK_TASK_QUEUE,
    bulkBatchSize: config.BULK_BATCH_SIZE,
    bulkBatchesPerRun: config.BULK_BATCHES_PER_RUN,
    policy: deliveryPolicy(config),
  };
}

/**
 * How long one start may take. The client's own gRPC retries would wait about 20 s for an
 * unreachable server; a caller waiting on an HTTP answer gets a 503 well before that.
 */
export const START_TIMEOUT_MS = 5_000;

/**
 * Starts a workflow unless it already exists: one id, one run, ever. A repeated request (an
 * idempotency-key retry, the repair schedule) never starts a finished send again, and a running
 * one is left as it is. Throws when Temporal does not answer within START_TIMEOUT_MS (the start
 * may still have reached the server: callers keep the row, and a later start settles it).
 */
export async function startOnce<W extends Workflow>(
  temporal: Client,
  workflowType: string,
  options: WorkflowStartOptions<W>,
): Promise<void> {
  try {
    await temporal.withDeadline(Date.now() + START_TIMEOUT_MS, () =>
      temporal.workflow.start<W>(workflowType, {
        ...options,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** What a message's start needs from its row (or its validated request). */
export interface MessageToStart {
  id: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  scheduledAt?: Date | null;
  notAfter?: Date | null;
}

/** The send window as a workflow takes it (epoch ms), empty for a send that goes now. */
export const windowOf = (w: { scheduledAt?: Date | null; notAfter?: Date | null }) => ({
  ...(w.scheduledAt ? { scheduledAt: w.scheduledAt.getTime() } : {}),
  ...(w.notAfter ? { notAfter: w.notAfter.getTime() } : {}),
});

/** Starts `email-<id>`; attachments are the stored refs (see messageAttachmentRefs). */
export async function startMessageWorkflow(
  temporal: Client,
  settings: StartSettings,
  m: MessageToStart,
  attachmentRefs: AttachmentRef[],
): Promise<void> {
  const input: SendEmailInput = {
    messageId: m.id,
    attachments: attachmentRefs,
    policy: settings.policy,
    ...windowOf(m),
  };
  // Search attributes are indexed in plaintext (no codec touches them): Bcc recipients, whom the
  // other recipients must not learn of, stay out of them, and out of the summary too.
  const recipients = [...m.to, ...m.cc].map(bareAddress);
  const bcc = m.bcc.length > 0 ? ` +${m.bcc.length} Bcc` : '';
  const more = recipients.length > 3 ? ` +${recipients.length - 3}` : '';
  await startOnce<typeof sendEmail>(temporal, sendEmailWorkflowType, {
    taskQueue: settings.taskQueue,
    workflowId: emailWorkflowId(m.id),
    args: [input],
    // Encrypted by the payload codec like every payload: the Web UI shows it through the codec endpoint.
    staticSummary: `${m.subject.slice(0, 80)} → ${recipients.slice(0, 3).join(', ')}${more}${bcc}`,
    typedSearchAttributes: [
      { key: mailKindKey, value: 'single' },
      { key: mailStatusKey, value: m.scheduledAt ? 'scheduled' : 'queued' },
      { key: mailRecipientsKey, value: recipients.slice(0, 50) },
    ],
  });
}

/** What a bulk's start needs from its row (or its validated request). */
export interface BulkToStart {
  id: string;
  total: number;
  subject: string;
  /** Requested pace; null or undefined means the SES quota. */
  ratePerSecond: number | null | undefined;
  scheduledAt?: Date | null;
  notAfter?: Date | null;
}

/** Starts `bulk-<id>`; attachments are the stored refs (see bulkAttachmentRefs). */
export async function startBulkWorkflow(
  temporal: Client,
  settings: StartSettings,
  b: BulkToStart,
  attachmentRefs: AttachmentRef[],
): Promise<void> {
  const input: BulkSendInput = {
    bulkId: b.id,
    total: b.total,
    attachments: attachmentRefs,
    ratePerSecond: b.ratePerSecond ?? undefined,
    batchSize: settings.bulkBatchSize,
    batchesPerRun: settings.bulkBatchesPerRun,
    sendQueue: settings.bulkTaskQueue,
    policy: settings.policy,
    ...windowOf(b),
  };
  await startOnce<typeof bulkSend>(temporal, bulkSendWorkflowType, {
    taskQueue: settings.taskQueue,
    workflowId: bulkWorkflowId(b.id),
    args: [input],
    staticSummary: `bulk: ${b.subject.slice(0, 80)} → ${b.total} recipient(s)`,
    typedSearchAttributes: [
      { key: mailKindKey, value: 'bulk' },
      { key: mailStatusKey, value: b.scheduledAt ? 'scheduled' : 'queued' },
      { key: bulkIdKey, value: b.id },
      { key: bulkTotalKey, value: b.total },
    ],
  });
}

interface AttachmentRow {
  position: number;
  objectKey: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
}

/** Stored attachment rows back to the refs a workflow takes, in position order. */
export const refsFromRows = (rows: AttachmentRow[]): AttachmentRef[] =>
  [...rows]
    .sort((a, b) => a.position - b.position)
    .map((f) => ({
      key: f.objectKey,
      filename: f.filename,
      contentType: f.contentType,
      size: f.size,
      sha256: f.sha256,
    }));

export async function messageAttachmentRefs(db: Db, messageId: string): Promise<AttachmentRef[]> {
  return refsFromRows(await db.select().from(attachments).where(eq(attachments.messageId, messageId)));
}

export async function bulkAttachmentRefs(db: Db, bulkId: string): Promise<AttachmentRef[]> {
  return refsFromRows(await db.select().from(bulkAttachments).where(eq(bulkAttachments.bulkId, bulkId)));
}

/** (Re)starts the workflow of a stored message, exactly as its accept did. */
export async function startStoredMessage(db: Db, temporal: Client, settings: StartSettings, m: MessageToStart) {
  await startMessageWorkflow(temporal, settings, m, await messageAttachmentRefs(db, m.id));
}

/** (Re)starts the workflow of a stored bulk, exactly as its accept did. */
export async function startStoredBulk(db: Db, temporal: Client, settings: StartSettings, b: BulkToStart) {
  await startBulkWorkflow(temporal, settings, b, await bulkAttachmentRefs(db, b.id));
}
