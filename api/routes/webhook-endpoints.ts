import { randomUUID } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { and, count, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { WebhookSettings } from '../../config/config.js';
import type { Db } from '../../db/create-db.js';
import { webhookDeliveries, webhookDeliveryStatuses, webhookEndpoints } from '../../db/schema.js';
import { newSigningSecret, webhookEventTypes } from '../../webhooks/events.js';
import { webhookUrlProblem } from '../../webhooks/target.js';
import { scopedRoute, type AuthEnv } from '../auth.js';
import { ApiError, badField } from '../errors.js';
import { uuidPattern } from '../idempotency.js';
import { limitBody } from '../read-body.js';
import { errorResponse, router, unavailableResponse } from '../router.js';
import { IdParam } from './common.js';

export interface WebhookEndpointRoutesDeps {
  db: Db;
  webhooks: Pick<WebhookSettings, 'allowPrivateTargets' | 'maxEndpoints'>;
}

const EventType = z.enum(webhookEventTypes).openapi('WebhookEventType');

const CreateEndpoint = z
  .strictObject({
    url: z.string().openapi({
      description:
        'http(s), at most 2048 characters, no credentials; not a loopback, private or internal address ' +
        '(unless the server allows private targets)',
      example: 'https://example.com/hooks/mailroom',
    }),
    events: z
      .array(EventType)
      .min(1)
      .max(webhookEventTypes.length)
      .openapi({ description: 'The event types this endpoint receives' }),
  })
  .openapi('WebhookEndpointCreate');

// Stats cover this window: enough to see an endpoint's current trouble without scanning its history.
const STATS_HOURS = 24;

const Endpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(EventType),
    enabled: z.boolean(),
    disabled_reason: z
      .string()
      .nullable()
      .openapi({ description: 'Why Mailroom disabled the endpoint (it kept failing, or answered 410)' }),
    disabled_at: z.string().nullable(),
    consecutive_failures: z.number().int().openapi({ description: 'Failed delivery attempts since the last success' }),
    failing_since: z.string().nullable(),
    last_success_at: z.string().nullable(),
    last_failure_at: z.string().nullable(),
    created_at: z.string(),
    deliveries: z
      .object(Object.fromEntries(webhookDeliveryStatuses.map((s) => [s, z.number().int()])))
      .openapi({ description: `Deliveries of events from the last ${STATS_HOURS} h, by status` }),
  })
  .openapi('WebhookEndpoint');

const CreatedEndpoint = Endpoint.extend({
  secret: z.string().openapi({
    description: 'The Standard Webhooks signing secret (`whsec_…`). Shown only in this answer: store it now.',
  }),
}).openapi('WebhookEndpointCreated');

const Delivery = z
  .object({
    event_id: z.string().openapi({ description: 'The `webhook-id` header of every attempt' }),
    event_type: EventType,
    status: z.enum(webhookDeliveryStatuses).openapi({
      description: '`skipped`: the endpoint was disabled before the event reached it',
    }),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    delivered_at: z.string().nullable(),
  })
  .openapi('WebhookDelivery');

const EndpointDetail = Endpoint.extend({
  recent_deliveries: z.array(Delivery).openapi({ description: 'The latest 20, newest first' }),
}).openapi('WebhookEndpointDetail');

type EndpointRow = typeof webhookEndpoints.$inferSelect;
type Stats = Record<(typeof webhookDeliveryStatuses)[number], number>;

const iso = (d: Date | null) => d?.toISOString() ?? null;
const view = (e: EndpointRow, deliveries: Stats) => ({
  id: e.id,
  url: e.url,
  events: e.eventTypes as (typeof webhookEventTypes)[number][],
  enabled: e.enabled,
  disabled_reason: e.disabledReason,
  disabled_at: iso(e.disabledAt),
  consecutive_failures: e.consecutiveFailures,
  failing_since: iso(e.failingSince),
  last_success_at: iso(e.lastSuccessAt),
  last_failure_at: iso(e.lastFailureAt),
  created_at: e.createdAt.toISOString(),
  deliveries,
});

const unauthorized = errorResponse('Missing or invalid API key');
const notFound = errorResponse('No such endpoint for this API key');

/** Each endpoint's deliveries of the last STATS_HOURS, by status. */
async function stats(db: Db, endpointIds: string[]): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  for (const id of endpointIds) out.set(id, Object.fromEntries(webhookDeliveryStatuses.map((s) => [s, 0])) as Stats);
  if (endpointIds.length === 0) return out;
  const rows = await db
    .select({ endpointId: webhookDeliveries.endpointId, status: webhookDeliveries.status, n: count() })
    .from(webhookDeliveries)
    .where(
      and(
        inArray(webhookDeliveries.endpointId, endpointIds),
        gt(webhookDeliveries.createdAt, sql`now() - make_interval(hours => ${STATS_HOURS})`),
      ),
    )
    .groupBy(webhookDeliveries.endpointId, webhookDeliveries.status);
  for (const r of rows) out.get(r.endpointId)![r.status] = r.n;
  return out;
}

/** The tenant's endpoints, newest first, with their state and recent delivery counts (GET / and the console). */
export async function listWebhookEndpoints(db: Db, tenantId: string) {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.tenantId, tenantId))
    .orderBy(desc(webhookEndpoints.createdAt));
  const counts = await stats(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => view(r, counts.get(r.id)!));
}

export function webhookEndpointRoutes(deps: WebhookEndpointRoutesDeps) {
  const { db } = deps;

  async function find(id: string, tenantId: string): Promise<EndpointRow> {
    const missing = new ApiError('not_found', `no webhook endpoint ${id}`, 'id');
    if (!uuidPattern.test(id)) throw missing;
    const [row] = await db
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, tenantId)));
    if (!row) throw missing;
    return row;
  }

  return router<AuthEnv>()
    .openapi(
      scopedRoute('manage', {
        method: 'post',
        path: '/',
        summary: 'Create a webhook endpoint',
        description:
          'Events of the listed types are POSTed to `url`, signed per Standard Webhooks (`webhook-id`, ' +
          '`webhook-timestamp`, `webhook-signature`) with the secret this answer shows once.',
        // A URL and a list of event types: anything larger is not a request to read.
        middleware: [limitBody(16 * 1024)] as const,
        request: { body: { required: true, content: { 'application/json': { schema: CreateEndpoint } } } },
        responses: {
          201: { description: 'Created', content: { 'application/json': { schema: CreatedEndpoint } } },
          400: errorResponse('Invalid input; `field` names the culprit'),
          413: errorResponse('Body larger than 16 KiB'),
          401: unauthorized,
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const body = c.req.valid('json');
        const problem = webhookUrlProblem(body.url, deps.webhooks.allowPrivateTargets);
        if (problem) throw badField('url', `url ${problem}`);
        const tenantId = c.get('tenantId');
        const [existing] = await db
          .select({ n: count() })
          .from(webhookEndpoints)
          .where(eq(webhookEndpoints.tenantId, tenantId));
        if ((existing?.n ?? 0) >= deps.webhooks.maxEndpoints)
          throw badField(
            'url',
            `at most ${deps.webhooks.maxEndpoints} webhook endpoints per API key; delete one first`,
          );
        const [row] = await db
          .insert(webhookEndpoints)
          .values({
            id: randomUUID(),
            tenantId,
            url: body.url,
            eventTypes: [...new Set(body.events)],
            secret: newSigningSecret(),
          })
          .returning();
        const created = row!;
        const empty = (await stats(db, [created.id])).get(created.id)!;
        return c.json({ ...view(created, empty), secret: created.secret }, 201);
      },
    )
    .openapi(
      scopedRoute('read', {
        method: 'get',
        path: '/',
        summary: "List this API key's webhook endpoints",
        description: 'Newest first, each with its state and recent delivery counts; secrets are never shown again.',
        responses: {
          200: {
            description: 'The endpoints',
            content: { 'application/json': { schema: z.object({ data: z.array(Endpoint) }) } },
          },
          401: unauthorized,
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        return c.json({ data: await listWebhookEndpoints(db, c.get('tenantId')) }, 200);
      },
    )
    .openapi(
      scopedRoute('read', {
        method: 'get',
        path: '/{id}',
        summary: 'One webhook endpoint, with its latest deliveries',
        request: { params: IdParam },
        responses: {
          200: { description: 'The endpoint', content: { 'application/json': { schema: EndpointDetail } } },
          401: unauthorized,
          404: notFound,
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const endpoint = await find(c.req.valid('param').id, c.get('tenantId'));
        const [counts, recent] = await Promise.all([
          stats(db, [endpoint.id]),
          db
            .select()
            .from(webhookDeliveries)
            .where(eq(webhookDeliveries.endpointId, endpoint.id))
            .orderBy(desc(webhookDeliveries.createdAt))
            .limit(20),
        ]);
        return c.json(
          {
            ...view(endpoint, counts.get(endpoint.id)!),
            recent_deliveries: recent.map((d) => ({
              event_id: d.eventId,
              event_type: d.eventType as (typeof webhookEventTypes)[number],
              status: d.status,
              attempts: d.attempts,
              last_status_code: d.lastStatusCode,
              last_error: d.lastError,
              created_at: d.createdAt.toISOString(),
              delivered_at: iso(d.deliveredAt),
            })),
          },
          200,
        );
      },
    )
    .openapi(
      scopedRoute('manage', {
        method: 'delete',
        path: '/{id}',
        summary: 'Delete a webhook endpoint',
        description: 'Deliveries still retrying stop at their next attempt; nothing more is sent to it.',
        request: { params: IdParam },
        responses: {
          200: {
            description: 'Deleted',
            content: { 'application/json': { schema: z.object({ id: z.string(), deleted: z.literal(true) }) } },
          },
          401: unauthorized,
          404: notFound,
          503: unavailableResponse(),
        },
      }),
      async (c) => {
        const endpoint = await find(c.req.valid('param').id, c.get('tenantId'));
        await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
        return c.json({ id: endpoint.id, deleted: true as const }, 200);
      },
    );
}
