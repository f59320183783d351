import { z } from '@hono/zod-openapi';
import { bulkWorkflowId } from '../../workflows/contracts.js';
import { and, asc, eq, gt } from 'drizzle-orm';
import { bulkRecipients, bulkStatuses, recipientStatuses } from '../../db/schema.js';
import { acceptBulk, type BulkDeps } from '../accept-bulk.js';
import { bulkBody, parseBulkRequest, recipientSchema, type BulkLimits } from '../bulk-request.js';
import { scopedRoute, type AuthEnv } from '../auth.js';
import { idempotencyKeyOf } from '../idempotency.js';
import { bulkControls, bulkRecord, controlBulk, findBulk, listBulks, type BulkControl } from '../records/bulks.js';
import { jsonBounds } from '../fields.js';
import { limitStreamedBody, readValidated } from '../read-body.js';
import { MAX_DATA_ITEMS } from '../../mail/recipient-data.js';
import { MAX_TEMPLATE_BYTES } from '../../mail/templates.js';
import { errorResponse, router, unavailableResponse } from '../router.js';
import { createdRange, IdempotencyKeyHeader, IdParam, listPage, pageLimit, sendUnavailable } from './common.js';

export interface BulkRoutesDeps extends BulkDeps {
  bulkLimits: BulkLimits;
}

const BulkAccepted = z
  .object({
    id: z.string(),
    status: z.string(),
    total: z.number().int(),
    accepted: z.number().int(),
    rejected: z.array(z.object({ index: z.number().int(), reason: z.string() })),
  })
  .openapi('BulkAccepted');

const BulkSummary = z
  .object({
    id: z.string(),
    status: z.enum(bulkStatuses),
    status_reason: z.string().nullable().openapi({ description: 'Why a bulk is not progressing, or was paused' }),
    total: z.number().int(),
    rate_per_second: z.number().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .openapi('BulkSummary');

const Bulk = BulkSummary.extend({
  workflow_id: z.string(),
  sent: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  pending: z.number().int(),
  unknown: z.number().int().openapi({ description: 'Recipients held after two unanswered provider calls' }),
  bounced: z.number().int().openapi({ description: 'Sent, then reported by the provider as a hard bounce' }),
  complained: z.number().int().openapi({ description: 'Sent, then reported by the recipient as spam' }),
  suppressed: z
    .number()
    .int()
    .openapi({ description: 'On the suppression list when their turn came: never handed to a provider' }),
  possible_duplicates: z.number().int().openapi({
    description: 'Sent recipients one of whose provider calls never answered: each may hold two copies',
  }),
}).openapi('Bulk');

const Recipient = z
  .object({
    index: z.number().int(),
    email: z.string(),
    name: z.string().nullable(),
    status: z.enum(recipientStatuses),
    attempts: z.number().int(),
    unknown_outcomes: z.number().int(),
    provider: z.enum(['ses', 'smtp']).nullable(),
    provider_message_id: z.string().nullable(),
    error: z.string().nullable(),
    at: z.string().nullable(),
  })
  .openapi('BulkRecipient');

const Progress = z
  .object({
    id: z.string(),
    phase: z.enum(['running', 'paused', 'cancelling', 'cancelled', 'completed']),
    cursor: z.number().int().openapi({ description: 'Recipients dispatched so far' }),
    total: z.number().int(),
    ratePerSecond: z.number(),
    run: z.number().int().openapi({ description: 'How many times the workflow has continued as new' }),
  })
  .openapi('BulkProgress');

const RecipientsQuery = z.strictObject({
  status: z.enum(recipientStatuses).optional(),
  cursor: z.coerce.number().int().min(-1).optional().openapi({ description: 'The last index of the previous page' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const ListQuery = z.strictObject({
  status: z.enum(bulkStatuses).optional(),
  ...createdRange,
  cursor: z.string().optional().openapi({ description: '`next_cursor` of the previous page' }),
  limit: pageLimit,
});

export function bulkRoutes(deps: BulkRoutesDeps) {
  const app = router<AuthEnv>();
  const bounds = jsonBounds(deps.bulkLimits, {
    bodyChars: MAX_TEMPLATE_BYTES,
    // The longest lists a bulk holds: its recipients, a recipient's data.
    maxItems: Math.max(deps.bulkLimits.maxBulkRecipients, MAX_DATA_ITEMS),
  });
  app.openAPIRegistry.register('SendBulk', bulkBody);
  app.openAPIRegistry.register('BulkRecipientInput', recipientSchema);
  app
    .openapi(
      scopedRoute('send', {
        method: 'post',
        path: '/',
        summary: 'Send one message to many recipients, an individual copy each',
        description:
          'Subject, html and text are Handlebars templates ({{name}}, {{email}}, {{data.x}}), checked against every ' +
          'recipient at submission. `mode: strict` refuses the request if any recipient is invalid (listed in ' +
          '`error.rejected`); `lenient` skips them and lists them in `rejected`. Recipients may also be uploaded ' +
          'as a CSV file (`email,name,<data columns>`) in multipart/form-data. Starts the workflow `bulk-<id>`.',
        middleware: [limitStreamedBody(deps.bulkLimits.maxBulkBodyBytes, 'BULK_MAX_BODY_BYTES')] as const,
        request: {
          headers: IdempotencyKeyHeader,
          // Read and validated by readValidated (JSON or multipart with a CSV, size limits, duplicate keys).
          body: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/SendBulk' } },
              'multipart/form-data': { schema: { type: 'object' } },
            },
          },
        },
        responses: {
          202: { description: 'Accepted', content: { 'application/json': { schema: BulkAccepted } } },
          400: errorResponse('Invalid input; `field` names the culprit, `rejected` lists bad recipients'),
          401: errorResponse('Missing or invalid API key'),
          403: errorResponse(
            'The key lacks the `send` scope (`field: "Authorization"`), or the From domain is not one of the ' +
              'key\'s `from_domains` (`field: "from"`); nothing is stored',
          ),
          409: errorResponse('Idempotency-Key reused with a different request'),
          413: errorResponse(
            'Body over BULK_MAX_BODY_BYTES (24 MiB by default), or attachments over MAX_MESSAGE_BYTES',
          ),
          503: sendUnavailable,
        },
      }),
      async (c) => {
        const idempotencyKey = idempotencyKeyOf(c.req.header('idempotency-key'));
        const request = await readValidated(c, (raw) => parseBulkRequest(raw.body, raw.files, deps.bulkLimits), {
          json: bounds,
          csvField: 'recipients',
          csvMaxRows: deps.bulkLimits.maxBulkRecipients,
        });
        const accepted = await acceptBulk(deps, request, c.get('principal'), idempotencyKey);
        c.set('sendIds', { bulkId: accepted.id, workflowId: bulkWorkflowId(accepted.id) });
        return c.json(accepted, 202);
      },
    )
    .openapi(
      scopedRoute('read', {
        method: 'get',
        path: '/',
        summary: 'List bulks, newest first',
        description:
          "Each bulk's counts are in `GET /v1/bulk/{id}`. Pages by `cursor` (the previous page's `next_cursor`).",
        request: { query: ListQuery },
        responses: {
          200: { description: 'A page', content: { 'application/json': { schema: listPage(BulkSummary) } } },
          400: errorResponse('Invalid filter; `field` names it'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        return c.json(await listBulks(deps.db, c.get('tenantId'), c.req.valid('query')), 200);
      },
    )
    .openapi(
      scopedRoute('read', {
        method: 'get',
        path: '/{id}',
        summary:
          'Status and exact counts: total = sent + failed + cancelled + pending + unknown + bounced + complained + suppressed',
        request: { params: IdParam },
        responses: {
          200: { description: 'The bulk', content: { 'application/json': { schema: Bulk } } },
          404: errorResponse('No such bulk for this API key'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const bulk = await findBulk(deps.db, c.req.valid('param').id, c.get('tenantId'));
        return c.json(await bulkRecord(deps.db, bulk), 200);
      },
    )
    .openapi(
      scopedRoute('read', {
        method: 'get',
        path: '/{id}/recipients',
        summary: 'Per-recipient outcomes, paged by `cursor` (the last index of the previous page)',
        request: { params: IdParam, query: RecipientsQuery },
        responses: {
          200: {
            description: 'A page',
            content: {
              'application/json': {
                schema: z.object({ data: z.array(Recipient), next_cursor: z.number().int().nullable() }),
              },
            },
          },
          404: errorResponse('No such bulk for this API key'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const bulk = await findBulk(deps.db, c.req.valid('param').id, c.get('tenantId'));
        const { status, cursor, limit } = c.req.valid('query');
        // Not `data`: up to 16 KB a row the page does not show.
        const rows = await deps.db
          .select({
            seq: bulkRecipients.seq,
            email: bulkRecipients.email,
            name: bulkRecipients.name,
            status: bulkRecipients.status,
            attempts: bulkRecipients.attempts,
            unknownOutcomes: bulkRecipients.unknownOutcomes,
            provider: bulkRecipients.provider,
            providerMessageId: bulkRecipients.providerMessageId,
            error: bulkRecipients.error,
            updatedAt: bulkRecipients.updatedAt,
          })
          .from(bulkRecipients)
          .where(
            and(
              eq(bulkRecipients.bulkId, bulk.id),
              gt(bulkRecipients.seq, cursor ?? -1),
              status ? eq(bulkRecipients.status, status) : undefined,
            ),
          )
          .orderBy(asc(bulkRecipients.seq))
          .limit(limit);
        return c.json(
          {
            data: rows.map((r) => ({
              index: r.seq,
              email: r.email,
              name: r.name,
              status: r.status,
              attempts: r.attempts,
              unknown_outcomes: r.unknownOutcomes,
              provider: r.provider,
              provider_message_id: r.providerMessageId,
              error: r.error,
              at: r.updatedAt?.toISOString() ?? null,
            })),
            next_cursor: rows.length === limit ? rows[rows.length - 1]!.seq : null,
          },
          200,
        );
      },
    );

  for (const action of Object.keys(bulkControls) as BulkControl[]) {
    app.openapi(
      scopedRoute('send', {
        method: 'post',
        path: `/{id}/${action}`,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} a bulk (the workflow's \`${action}\` signal, as an update)`,
        request: { params: IdParam },
        responses: {
          200: { description: 'The new progress', content: { 'application/json': { schema: Progress } } },
          404: errorResponse('No such bulk for this API key'),
          409: errorResponse('The bulk has finished'),
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const bulk = await findBulk(deps.db, c.req.valid('param').id, c.get('tenantId'));
        return c.json(await controlBulk(deps.temporal, bulk, action), 200);
      },
    );
  }
  return app;
}
