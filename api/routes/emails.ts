import { z } from '@hono/zod-openapi';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { messages, messageStatuses, providerEventTypes } from '../../db/schema.js';
import { acceptEmail, type AcceptDeps } from '../accept-email.js';
import { scopedRoute, type AuthEnv } from '../auth.js';
import { ApiError } from '../errors.js';
import { idempotencyKeyOf } from '../idempotency.js';
import { emailRecord, findEmail, listEmails } from '../records/emails.js';
import { limitStreamedBody, readValidated } from '../read-body.js';
import type { Limits } from '../fields.js';
import { errorResponse, router, unavailableResponse } from '../router.js';
import { parseSendRequest, sendEmailBody } from '../send-request.js';
import { jsonBounds, sendWindow } from '../fields.js';
import { cancelSendUpdate, emailWorkflowId, rescheduleUpdate } from '../../workflows/contracts.js';
import {
  Accepted,
  createdRange,
  IdempotencyKeyHeader,
  IdParam,
  listPage,
  pageLimit,
  sendUnavailable,
} from './common.js';

export interface EmailRoutesDeps extends AcceptDeps {
  limits: Limits;
}

const Attempt = z
  .object({
    provider: z.enum(['ses', 'smtp']),
    attempt: z.number().int(),
    outcome: z.string().openapi({
      description:
        '`pending` while in flight, `sent`, `retryable_error`, `unavailable`, `rejected`, `unknown` (no answer), `error`',
    }),
    provider_message_id: z.string().nullable(),
    error_code: z.string().nullable(),
    error_message: z.string().nullable(),
    rejected_recipients: z
      .array(z.object({ address: z.string(), code: z.string(), message: z.string() }))
      .openapi({ description: 'Recipients the provider refused while it accepted the message for the others' }),
    routed_by: z
      .string()
      .nullable()
      .openapi({
        description:
          'Set when the call skipped the first-choice provider because its circuit was open, e.g. ' +
          '`SES circuit open: since … after 5 failure(s); last: SES ServiceUnavailable: …`',
      }),
    at: z.string(),
  })
  .openapi('Attempt');

const status = z.enum(messageStatuses).openapi({
  description:
    '`unknown`: a provider may have the message but never answered: held, not resent (Reset the workflow to send again)',
});

/** What a listing shows of each send; the full record adds content details and attempts. */
const EmailSummary = z
  .object({
    id: z.string(),
    status,
    from: z.string(),
    to: z.array(z.string()),
    subject: z.string(),
    tags: z.record(z.string(), z.string()),
    provider: z.enum(['ses', 'smtp']).nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    sent_at: z.string().nullable(),
    scheduled_at: z.string().nullable(),
    not_after: z.string().nullable(),
  })
  .openapi('EmailSummary');

const Email = EmailSummary.extend({
  workflow_id: z.string(),
  cc: z.array(z.string()),
  bcc: z.array(z.string()),
  provider_message_id: z.string().nullable(),
  last_error: z.string().nullable(),
  attachments: z.array(
    z.object({ filename: z.string(), content_type: z.string(), size: z.number(), sha256: z.string() }),
  ),
  attempts: z.array(Attempt),
  suppressed_recipients: z
    .array(z.string())
    .openapi({ description: 'Recipients left out of the envelope: on the suppression list at send time' }),
  events: z
    .array(
      z.object({
        type: z.enum(providerEventTypes),
        subtype: z.string().nullable().openapi({ description: 'e.g. `Permanent/General` for a bounce' }),
        at: z.string().openapi({ description: 'When the provider says it happened' }),
        details: z.record(z.string(), z.unknown()),
      }),
    )
    .openapi({ description: 'Provider events (SES through SNS), oldest first' }),
}).openapi('Email');

const tagFilter = /^[A-Za-z0-9_-]{1,256}:[A-Za-z0-9_-]{1,256}$/;
const ListQuery = z.strictObject({
  status: z.enum(messageStatuses).optional(),
  to: z
    .string()
    .max(320)
    .optional()
    .openapi({ description: 'A recipient address (To, Cc or Bcc), matched exactly, case-insensitively' }),
  tag: z
    .string()
    .regex(tagFilter, 'tag must be name:value')
    .optional()
    .openapi({ description: 'A tag as `name:value`' }),
  ...createdRange,
  cursor: z.string().optional().openapi({ description: '`next_cursor` of the previous page' }),
  limit: pageLimit,
});

export function emailRoutes(deps: EmailRoutesDeps) {
  // Base64 inflates attachments by 4/3; the JSON around them gets a fixed allowance.
  const maxBody = Math.ceil((deps.limits.maxMessageBytes * 4) / 3) + 256 * 1024;
  const bounds = jsonBounds(deps.limits, { bodyChars: deps.limits.maxMessageBytes, maxItems: 1_000 });
  const app = router<AuthEnv>();
  app.openAPIRegistry.register('SendEmail', sendEmailBody);

  return app
    .openapi(
      scopedRoute('send', {
        method: 'post',
        path: '/',
        summary: 'Send one email',
        description:
          'Validates, stores attachments in S3 and starts one durable workflow (`email-<id>`). ' +
          'Send the same `Idempotency-Key` again to get the same id without a second send. ' +
          'Also accepts multipart/form-data with the same fields and files under `attachments`.',
        middleware: [limitStreamedBody(maxBody)] as const,
        request: {
          headers: IdempotencyKeyHeader,
          // Read and validated by readValidated (JSON or multipart, size limits, duplicate keys).
          body: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/SendEmail' } },
              'multipart/form-data': { schema: { type: 'object' } },
            },
          },
        },
        responses: {
          202: { description: 'Accepted and queued', content: { 'application/json': { schema: Accepted } } },
          400: errorResponse('Invalid input; `field` names the culprit'),
          401: errorResponse('Missing or invalid API key'),
          403: errorResponse(
            'The key lacks the `send` scope (`field: "Authorization"`), or the From domain is not one of the ' +
              'key\'s `from_domains` (`field: "from"`); nothing is stored',
          ),
          409: errorResponse('Idempotency-Key reused with a different request'),
          413: errorResponse('Too large'),
          415: errorResponse('Unsupported content type'),
          503: sendUnavailable,
        },
      }),
      async (c) => {
        const idempotencyKey = idempotencyKeyOf(c.req.header('idempotency-key'));
        const request = await readValidated(c, (raw) => parseSendRequest(raw.body, raw.files, deps.limits), {
          json: bounds,
        });
        const accepted = await acceptEmail(deps, request, c.get('principal'), idempotencyKey);
        c.set('sendIds', { messageId: accepted.id, workflowId: emailWorkflowId(accepted.id) });
        return c.json(accepted, 202);
      },
    )
    .openapi(
      scopedRoute('read', {
        method: 'get',
        path: '/',
        summary: 'List sends, newest first',
        description: "Filters combine. Pages by `cursor` (the previous page's `next_cursor`; null on the last page).",
        request: { query: ListQuery },
        responses: {
          200: { description: 'A page', content: { 'application/json': { schema: listPage(EmailSummary) } } },
          400: errorResponse('Invalid filter; `field` names it'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        return c.json(await listEmails(deps.db, c.get('tenantId'), c.req.valid('query')), 200);
      },
    )
    .openapi(
      scopedRoute('read', {
        method: 'get',
        path: '/{id}',
        summary: 'One email: status, provider, provider message id, every attempt',
        request: { params: IdParam },
        responses: {
          200: { description: 'The email', content: { 'application/json': { schema: Email } } },
          404: errorResponse('No such email for this API key'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const m = await findEmail(deps.db, c.req.valid('param').id, c.get('tenantId'));
        return c.json(await emailRecord(deps.db, m), 200);
      },
    )
    .openapi(
      scopedRoute('send', {
        method: 'post',
        path: '/{id}/cancel',
        summary: 'Cancel a scheduled send before its time',
        description:
          "The workflow's `cancelSend` update: accepted only while the send waits for its `scheduled_at`, " +
          'answered once it is recorded `cancelled`. Nothing is sent.',
        request: { params: IdParam },
        responses: {
          200: {
            description: 'Cancelled',
            content: { 'application/json': { schema: z.object({ id: z.string(), status: z.literal('cancelled') }) } },
          },
          404: errorResponse('No such email for this API key'),
          409: errorResponse('The send is not scheduled (any more): it has started, finished or was cancelled'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const m = await findEmail(deps.db, c.req.valid('param').id, c.get('tenantId'));
        await whileScheduled(m, 'cancelled', (h) => h.executeUpdate(cancelSendUpdate));
        return c.json({ id: m.id, status: 'cancelled' as const }, 200);
      },
    )
    .openapi(
      scopedRoute('send', {
        method: 'patch',
        path: '/{id}',
        summary: 'Reschedule a scheduled send',
        description:
          "The workflow's `reschedule` update: accepted only while the send waits; answered with the new time " +
          'once it is recorded. A time already past sends it now. It must stay before `not_after`.',
        request: {
          params: IdParam,
          body: {
            required: true,
            content: {
              'application/json': {
                schema: z.strictObject({ scheduled_at: sendWindow.scheduled_at.unwrap() }),
              },
            },
          },
        },
        responses: {
          200: {
            description: 'Rescheduled',
            content: {
              'application/json': {
                schema: z.object({ id: z.string(), status: z.literal('scheduled'), scheduled_at: z.string() }),
              },
            },
          },
          400: errorResponse('Invalid time; `field` names it'),
          404: errorResponse('No such email for this API key'),
          409: errorResponse('The send is not scheduled (any more)'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const m = await findEmail(deps.db, c.req.valid('param').id, c.get('tenantId'));
        const at = new Date(c.req.valid('json').scheduled_at);
        if (at.getTime() > Date.now() + deps.limits.maxScheduleAheadMs)
          throw new ApiError('validation_error', 'scheduled_at is too far ahead', 'scheduled_at');
        if (m.notAfter && at > m.notAfter)
          throw new ApiError('validation_error', 'scheduled_at must be before not_after', 'scheduled_at');
        const { scheduledAt } = await whileScheduled(m, 'rescheduled', (h) =>
          h.executeUpdate(rescheduleUpdate, { args: [at.toISOString()] }),
        );
        return c.json({ id: m.id, status: 'scheduled' as const, scheduled_at: scheduledAt }, 200);
      },
    );

  /** Runs an update that only a waiting scheduled send accepts; its refusal is a 409. */
  async function whileScheduled<T>(
    m: typeof messages.$inferSelect,
    what: string,
    update: (h: ReturnType<typeof deps.temporal.workflow.getHandle>) => Promise<T>,
  ): Promise<T> {
    try {
      return await update(deps.temporal.workflow.getHandle(emailWorkflowId(m.id)));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError)
        throw new ApiError('send_started', `email ${m.id} is not scheduled; it can no longer be ${what}`, 'id');
      throw err;
    }
  }
}
