import { Hono } from 'hono';
import { and, asc, eq } from 'drizzle-orm';
import { readEvents } from '../../db/provider-events.js';
import { attachments, deliveryAttempts, messages } from '../../db/schema.js';
import { acceptEmail, type AcceptDeps } from '../accept-email.js';
import type { AuthEnv } from '../auth.js';
import { ApiError } from '../errors.js';
import { idempotencyKeyOf, uuidPattern } from '../idempotency.js';
import { limitBody, readValidated } from '../read-body.js';
import type { Limits } from '../fields.js';
import { parseSendRequest } from '../send-request.js';

export interface EmailRoutesDeps extends AcceptDeps {
  limits: Limits;
}

export function emailRoutes(deps: EmailRoutesDeps) {
  // Base64 inflates attachments by 4/3; the JSON around them gets a fixed allowance.
  const maxBody = Math.ceil((deps.limits.maxMessageBytes * 4) / 3) + 256 * 1024;

  return new Hono<AuthEnv>()
    .post('/', limitBody(maxBody), async (c) => {
      const idempotencyKey = idempotencyKeyOf(c.req.header('idempotency-key'));
      const request = await readValidated(c, (raw) => parseSendRequest(raw.body, raw.files, deps.limits));
      const accepted = await acceptEmail(deps, request, c.get('apiKeyId'), idempotencyKey);
      return c.json(accepted, 202);
    })
    .get('/:id', async (c) => {
      const id = c.req.param('id');
      const notFound = new ApiError('not_found', `no email ${id}`, 'id');
      if (!uuidPattern.test(id)) throw notFound;
      const [m] = await deps.db
        .select()
        .from(messages)
        .where(and(eq(messages.id, id), eq(messages.apiKeyId, c.get('apiKeyId'))));
      if (!m) throw notFound;
      const [files, attempts, events] = await Promise.all([
        deps.db.select().from(attachments).where(eq(attachments.messageId, id)).orderBy(asc(attachments.position)),
        deps.db
          .select()
          .from(deliveryAttempts)
          .where(eq(deliveryAttempts.messageId, id))
          .orderBy(asc(deliveryAttempts.at), asc(deliveryAttempts.attempt)),
        readEvents(deps.db, id),
      ]);
      return c.json({
        id: m.id,
        status: m.status,
        workflow_id: m.workflowId,
        from: m.from,
        to: m.to,
        cc: m.cc,
        bcc: m.bcc,
        subject: m.subject,
        tags: m.tags,
        provider: m.provider,
        provider_message_id: m.providerMessageId,
        last_error: m.lastError,
        created_at: m.createdAt.toISOString(),
        updated_at: m.updatedAt.toISOString(),
        sent_at: m.sentAt?.toISOString() ?? null,
        attachments: files.map((f) => ({
          filename: f.filename,
          content_type: f.contentType,
          size: f.size,
          sha256: f.sha256,
        })),
        attempts: attempts.map((a) => ({
          provider: a.provider,
          attempt: a.attempt,
          outcome: a.outcome,
          provider_message_id: a.providerMessageId,
          error_code: a.errorCode,
          error_message: a.errorMessage,
          rejected_recipients: a.rejectedRecipients ?? [],
          routed_by: a.routedBy,
          at: a.at.toISOString(),
        })),
        suppressed_recipients: m.suppressedRecipients,
        events,
      });
    });
}
