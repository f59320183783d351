import { Hono } from 'hono';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { and, asc, eq, gt } from 'drizzle-orm';
import { z } from 'zod';
import { countRecipients } from '../../db/bulk-counts.js';
import { bulkRecipients, bulks, recipientStatuses } from '../../db/schema.js';
import { bulkWorkflowId, cancelUpdate, pauseUpdate, resumeUpdate } from '../../workflows/contracts.js';
import { acceptBulk, type BulkDeps } from '../accept-bulk.js';
import { parseBulkRequest, type BulkLimits } from '../bulk-request.js';
import type { AuthEnv } from '../auth.js';
import { ApiError, fromRequestError } from '../errors.js';
import { firstIssue } from '../fields.js';
import { idempotencyKeyOf, uuidPattern } from '../idempotency.js';
import { limitBody, readValidated } from '../read-body.js';

export interface BulkRoutesDeps extends BulkDeps {
  bulkLimits: BulkLimits;
}

const listQuery = z.strictObject({
  status: z.enum(recipientStatuses).optional(),
  cursor: z.coerce.number().int().min(-1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const controls = { pause: pauseUpdate, resume: resumeUpdate, cancel: cancelUpdate } as const;

export function bulkRoutes(deps: BulkRoutesDeps) {
  // Attachments (base64) plus about 1 KB a recipient.
  const maxBody = Math.ceil((deps.bulkLimits.maxMessageBytes * 4) / 3) + deps.bulkLimits.maxBulkRecipients * 1024;

  async function findBulk(id: string, apiKeyId: string) {
    const notFound = new ApiError('not_found', `no bulk ${id}`, 'id');
    if (!uuidPattern.test(id)) throw notFound;
    const [bulk] = await deps.db
      .select()
      .from(bulks)
      .where(and(eq(bulks.id, id), eq(bulks.apiKeyId, apiKeyId)));
    if (!bulk) throw notFound;
    return bulk;
  }

  const app = new Hono<AuthEnv>()
    .post('/', limitBody(maxBody), async (c) => {
      const idempotencyKey = idempotencyKeyOf(c.req.header('idempotency-key'));
      const request = await readValidated(c, (raw) => parseBulkRequest(raw.body, raw.files, deps.bulkLimits), {
        csvField: 'recipients',
      });
      return c.json(await acceptBulk(deps, request, c.get('apiKeyId'), idempotencyKey), 202);
    })
    .get('/:id', async (c) => {
      const bulk = await findBulk(c.req.param('id'), c.get('apiKeyId'));
      const counts = await countRecipients(deps.db, bulk.id);
      return c.json({
        id: bulk.id,
        status: bulk.status,
        status_reason: bulk.statusReason,
        workflow_id: bulk.workflowId,
        ...counts,
        rate_per_second: bulk.ratePerSecond,
        created_at: bulk.createdAt.toISOString(),
        started_at: bulk.startedAt?.toISOString() ?? null,
        finished_at: bulk.finishedAt?.toISOString() ?? null,
      });
    })
    .get('/:id/recipients', async (c) => {
      const bulk = await findBulk(c.req.param('id'), c.get('apiKeyId'));
      const q = listQuery.safeParse(c.req.query());
      if (!q.success) throw fromRequestError(firstIssue(q.error));
      const { status, cursor, limit } = q.data;
      const rows = await deps.db
        .select()
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
      return c.json({
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
      });
    });

  for (const [action, update] of Object.entries(controls)) {
    app.post(`/:id/${action}`, async (c) => {
      const bulk = await findBulk(c.req.param('id'), c.get('apiKeyId'));
      try {
        const progress = await deps.temporal.workflow.getHandle(bulkWorkflowId(bulk.id)).executeUpdate(update);
        return c.json({ id: bulk.id, ...progress });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError)
          throw new ApiError(
            'bulk_finished',
            `bulk ${bulk.id} is ${bulk.status}; it can no longer be ${action}d`,
            'id',
          );
        throw err;
      }
    });
  }
  return app;
}
