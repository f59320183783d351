import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { and, asc, eq, gt, lt, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../db/create-db.js';
import { bulks, messages } from '../db/schema.js';
import { startStoredBulk, startStoredMessage, type StartSettings } from '../sends/start-workflows.js';
import { bulkWorkflowId, emailWorkflowId } from '../workflows/contracts.js';

export interface RepairDeps {
  db: Db;
  /** A client on the worker's own connection: the repair starts workflows as the API does. */
  temporal: Client;
  /** The same settings the API starts sends with (queues, batch sizes, delivery policy). */
  starts: StartSettings;
}

export interface RepairInput {
  /** Only sends `queued` for longer than this: younger ones are still in their accept request. */
  olderThanSeconds: number;
}

export interface RepairKindCounts {
  /** Rows `queued` longer than the threshold. */
  found: number;
  /** Rows that had no workflow: started now. */
  started: number;
  /** Rows whose workflow exists (it has not reached its first step yet, or ended before it). */
  existing: number;
  /** Rows whose check or start failed; the next run tries again. */
  failed: number;
}

export interface RepairCounts {
  messages: RepairKindCounts;
  bulks: RepairKindCounts;
}

// Rows read per query; the whole backlog is walked, page by page, heartbeating in between.
const PAGE = 200;

/**
 * The repair schedule's one activity: every send row still `queued` past the threshold is started
 * with its own workflow id and the input the API would have given it. Starting is idempotent (one
 * id, one run, ever), so a row whose workflow exists is only counted. Returns counts, never content.
 */
export function createRepairActivities({ db, temporal, starts }: RepairDeps) {
  async function repairOne(workflowId: string, start: () => Promise<void>, counts: RepairKindCounts) {
    try {
      try {
        await temporal.workflow.getHandle(workflowId).describe();
        counts.existing++;
        return;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      await start();
      counts.started++;
    } catch (err) {
      counts.failed++;
      log.warn('repair could not start a queued send', { workflowId, error: err });
    }
  }

  /** Pages through `queued` rows older than the threshold, in id order (stable under inserts). */
  async function walk<Row extends { id: string }>(
    page: (after: string) => Promise<Row[]>,
    each: (row: Row) => Promise<void>,
  ) {
    let after = '';
    for (;;) {
      const rows = await page(after);
      for (const row of rows) await each(row);
      Context.current().heartbeat();
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  const stale = (status: PgColumn, createdAt: PgColumn, id: PgColumn, after: string, seconds: number): SQL =>
    and(eq(status, 'queued'), lt(createdAt, sql`now() - make_interval(secs => ${seconds})`), gt(id, after))!;

  return {
    async startQueuedSends({ olderThanSeconds }: RepairInput): Promise<RepairCounts> {
      const zero = (): RepairKindCounts => ({ found: 0, started: 0, existing: 0, failed: 0 });
      const counts: RepairCounts = { messages: zero(), bulks: zero() };

      await walk(
        (after) =>
          db
            .select({ id: messages.id, to: messages.to, cc: messages.cc, bcc: messages.bcc, subject: messages.subject })
            .from(messages)
            .where(stale(messages.status, messages.createdAt, messages.id, after, olderThanSeconds))
            .orderBy(asc(messages.id))
            .limit(PAGE),
        async (m) => {
          counts.messages.found++;
          await repairOne(emailWorkflowId(m.id), () => startStoredMessage(db, temporal, starts, m), counts.messages);
        },
      );
      await walk(
        (after) =>
          db
            .select({ id: bulks.id, total: bulks.total, subject: bulks.subject, ratePerSecond: bulks.ratePerSecond })
            .from(bulks)
            .where(stale(bulks.status, bulks.createdAt, bulks.id, after, olderThanSeconds))
            .orderBy(asc(bulks.id))
            .limit(PAGE),
        async (b) => {
          counts.bulks.found++;
          await repairOne(bulkWorkflowId(b.id), () => startStoredBulk(db, temporal, starts, b), counts.bulks);
        },
      );

      if (counts.messages.found + counts.bulks.found > 0) log.info('repaired queued sends', { ...counts });
      return counts;
    },
  };
}
