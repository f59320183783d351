// Paging a tenant's listing newest first, shared by the email and bulk listings: the creation-time
// window, the cursor (the last row's position, not an offset) and the next page's cursor.
import { desc, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { ApiError } from '../errors.js';

export interface PageQuery {
  created_after?: string;
  created_before?: string;
  cursor?: string;
  limit: number;
}

interface Listed {
  table: PgTable;
  createdAt: PgColumn;
  id: PgColumn;
}

/**
 * The conditions and order of one page. `cursorRow` is the tenant's row the cursor names (looked
 * up by the caller, which knows the tenant); a cursor naming none is a 400.
 */
export function newestFirst(t: Listed, q: PageQuery, cursorRow: { id: string } | undefined) {
  if (q.cursor && !cursorRow)
    throw new ApiError('validation_error', 'cursor is not a cursor of this listing', 'cursor');
  const where: (SQL | undefined)[] = [
    q.created_after ? gte(t.createdAt, new Date(q.created_after)) : undefined,
    q.created_before ? lt(t.createdAt, new Date(q.created_before)) : undefined,
    // Compared in the database: created_at has microseconds a JS Date would round away.
    cursorRow
      ? sql`(${t.createdAt}, ${t.id}) < (select ${t.createdAt}, ${t.id} from ${t.table} where ${t.id} = ${cursorRow.id})`
      : undefined,
  ];
  return { where, orderBy: [desc(t.createdAt), desc(t.id)] };
}

/** The page and the cursor of the next one (null on the last page). */
export const page = <R extends { id: string }, O>(rows: R[], limit: number, show: (r: R) => O) => ({
  data: rows.map(show),
  next_cursor: rows.length === limit ? rows[rows.length - 1]!.id : null,
});
