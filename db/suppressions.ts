// The suppression list: per tenant (API key), lowercased bare addresses. One predicate,
// `suppressedSql`, is the check every send makes before a provider call — single sends through
// `suppressedAmong`, bulk batches inside the very UPDATE that hands recipients to a provider.
import { suppressionsAdded } from '../metrics/metrics.js';
import { and, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from './create-db.js';
import { suppressions, type SuppressionReason } from './schema.js';

type Executor = Pick<Db, 'insert'>;

/** Whether `email` (any case) is on `tenantId`'s list: the one suppression check, as SQL. */
export const suppressedSql = (tenantId: SQL | string, email: SQL) =>
  sql`exists (select 1 from ${suppressions} s where s.api_key_id = ${tenantId} and s.email = lower(${email}))`;

/**
 * Which of these addresses are suppressed for the tenant of a message (its row's api_key_id) or
 * of a given key; lowercased. A database error throws: an unchecked address is never sent to.
 */
export async function suppressedAmong(
  db: Pick<Db, 'select'>,
  owner: { messageId: string } | { tenantId: string },
  addresses: string[],
): Promise<Set<string>> {
  if (addresses.length === 0) return new Set();
  const tenant =
    'tenantId' in owner ? owner.tenantId : sql`(select api_key_id from messages where id = ${owner.messageId})`;
  const list = sql`array[${sql.join(
    addresses.map((a) => sql`${a}`),
    sql`, `,
  )}]::text[]`;
  const rows = await db
    .select({ address: sql<string>`lower(a.address)` })
    .from(sql`unnest(${list}) as a(address)`)
    .where(suppressedSql(tenant, sql`a.address`));
  return new Set([...rows].map((r) => r.address));
}

export interface NewSuppression {
  tenantId: string;
  email: string;
  reason: SuppressionReason;
  source: string;
}

/** Adds addresses; one already listed keeps its first reason. Returns the ones added. */
export async function addSuppressions(db: Executor, entries: NewSuppression[]): Promise<string[]> {
  if (entries.length === 0) return [];
  const rows = await db
    .insert(suppressions)
    .values(entries.map((e) => ({ ...e, email: e.email.trim().toLowerCase() })))
    .onConflictDoNothing()
    .returning({ email: suppressions.email });
  const reasonOf = new Map(entries.map((e) => [e.email.trim().toLowerCase(), e.reason]));
  for (const r of rows) suppressionsAdded.inc({ reason: reasonOf.get(r.email) ?? 'unknown' });
  return rows.map((r) => r.email);
}

export async function removeSuppression(db: Db, tenantId: string, email: string): Promise<boolean> {
  const rows = await db
    .delete(suppressions)
    .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.email, email.trim().toLowerCase())))
    .returning({ email: suppressions.email });
  return rows.length > 0;
}

/** The last row of a page: its created_at as Postgres prints it (microseconds, which a Date would lose). */
export interface SuppressionCursor {
  at: string;
  email: string;
}

/** A page of a tenant's list, newest first; the cursor is the last row of the previous page. */
export function listSuppressions(
  db: Db,
  tenantId: string,
  o: { reason?: SuppressionReason; email?: string; after?: SuppressionCursor; limit: number },
) {
  return db
    .select({
      email: suppressions.email,
      reason: suppressions.reason,
      source: suppressions.source,
      createdAt: suppressions.createdAt,
      at: sql<string>`${suppressions.createdAt}::text`,
    })
    .from(suppressions)
    .where(
      and(
        eq(suppressions.tenantId, tenantId),
        o.reason ? eq(suppressions.reason, o.reason) : undefined,
        o.email ? eq(suppressions.email, o.email.trim().toLowerCase()) : undefined,
        o.after
          ? or(
              sql`${suppressions.createdAt} < ${o.after.at}::timestamptz`,
              and(sql`${suppressions.createdAt} = ${o.after.at}::timestamptz`, lt(suppressions.email, o.after.email)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(suppressions.createdAt), desc(suppressions.email))
    .limit(o.limit);
}
