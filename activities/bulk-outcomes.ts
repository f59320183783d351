// A bulk batch's recipient outcomes, written to the ledger a group at a time: one
// `UPDATE … FROM (VALUES …)` per flush instead of one UPDATE per recipient.
import { sendOutcomes } from '../metrics/metrics.js';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { mapUnmappedEvents } from '../db/provider-events.js';
import type { Provider } from '../db/schema.js';
import { retryWrite } from './infra-faults.js';

/** What a provider's answer (or a compose failure) made of one recipient. */
export interface RecipientOutcome {
  seq: number;
  status: 'sent' | 'failed' | 'pending' | 'unknown';
  /** Always written (`null` clears it). */
  error: string | null;
  /** Left as they are when undefined. */
  attempts?: number;
  smtpAttempts?: number;
  provider?: Provider;
  providerMessageId?: string;
  /** Adds one to `unknown_outcomes` (a call that never answered). */
  unknownOutcome?: boolean;
}

export interface OutcomeWriterOptions {
  db: Db;
  bulkId: string;
  /** Only rows still leased to this attempt, and still `sending`, take an outcome. */
  lease: string;
  /** A buffered outcome is written at most this long after it was recorded… */
  flushMs: number;
  /** …or as soon as this many are buffered. */
  flushRows: number;
  /** A failed write is retried this long before its rows are given up (they stay `sending`). */
  budgetMs: number;
  /** Called once per write given up: its rows stay `sending`, so the next attempt counts them unknown. */
  onLost(err: Error, seqs: number[]): void;
}

/**
 * Buffers outcomes and writes them in groups, one write at a time. A row stays `sending` until its
 * outcome is written: if the worker dies in between, the next attempt finds it `sending` and counts
 * its call as unknown, exactly as for a call still in flight — the window only grows by the flush
 * interval. `settled()` writes everything buffered and resolves once every write has landed or
 * been given up; a batch awaits it before it completes.
 */
export function createOutcomeWriter(o: OutcomeWriterOptions) {
  let buffer: RecipientOutcome[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  /** Recorded, not yet written (buffered or in a write under way). */
  let unwritten = 0;
  let roomWaiters: (() => void)[] = [];

  const write = async (rows: RecipientOutcome[]) => {
    const values = sql.join(
      rows.map(
        (r) =>
          sql`(${r.seq}::int, ${r.status}::text, ${r.attempts ?? null}::int, ${r.smtpAttempts ?? null}::int, ${r.provider ?? null}::text, ${r.providerMessageId ?? null}::text, ${r.error}::text, ${r.unknownOutcome ? 1 : 0}::int)`,
      ),
      sql`, `,
    );
    const at = new Date().toISOString();
    const accepted = rows.flatMap((r) =>
      r.status === 'sent' && r.provider === 'ses' && r.providerMessageId ? [r.providerMessageId] : [],
    );
    try {
      await retryWrite(
        () =>
          o.db
            .execute(
              sql`
            update bulk_recipients as r set
              status = v.status,
              attempts = coalesce(v.attempts, r.attempts),
              smtp_attempts = coalesce(v.smtp_attempts, r.smtp_attempts),
              provider = coalesce(v.provider, r.provider),
              provider_message_id = coalesce(v.provider_message_id, r.provider_message_id),
              error = v.error,
              unknown_outcomes = r.unknown_outcomes + v.unknown_outcome,
              updated_at = ${at}::timestamptz
            from (values ${values}) as v(seq, status, attempts, smtp_attempts, provider, provider_message_id, error, unknown_outcome)
            where r.bulk_id = ${o.bulkId} and r.seq = v.seq and r.lease = ${o.lease} and r.status = 'sending'`,
            )
            // Events that beat this write are applied now (retried with it: the update is idempotent).
            .then(() => mapUnmappedEvents(o.db, accepted)),
        o.budgetMs,
      );
      for (const r of rows) sendOutcomes.inc({ kind: 'bulk', status: r.status, provider: r.provider ?? 'none' });
    } catch (err) {
      o.onLost(
        err as Error,
        rows.map((r) => r.seq),
      );
    } finally {
      unwritten -= rows.length;
      const waiters = roomWaiters;
      roomWaiters = [];
      for (const w of waiters) w();
    }
  };

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return;
    const rows = buffer;
    buffer = [];
    writing = writing.then(() => write(rows));
  };

  return {
    /** Buffers one outcome; it is written within flushMs (or at once when flushRows are waiting). */
    record(outcome: RecipientOutcome) {
      buffer.push(outcome);
      unwritten++;
      if (buffer.length >= o.flushRows) flush();
      else timer ??= setTimeout(flush, o.flushMs);
    },
    /** Outcomes recorded and not yet written. */
    get unwritten() {
      return unwritten;
    },
    /** Resolves once fewer than `limit` outcomes are unwritten (backpressure while the database is slow). */
    async room(limit: number): Promise<void> {
      while (unwritten >= limit) await new Promise<void>((resolve) => roomWaiters.push(resolve));
    },
    /** Writes what is buffered now and resolves when every write so far has landed or been given up. */
    async settled(): Promise<void> {
      flush();
      await writing;
    },
  };
}
