// The read side of the providers' circuit breakers (activities/provider-health.ts writes them):
// what the worker's cache loads and what operators see in `GET /ready` and `/metrics`.
import { sql } from 'drizzle-orm';
import type { Db } from './create-db.js';
import { providerHealth, providers, type Provider } from './schema.js';

export type CircuitRow = typeof providerHealth.$inferSelect;

/** Each provider's endpoint (SES region and endpoint, SMTP relay host): a circuit is per endpoint. */
export type ProviderEndpoints = Record<Provider, string>;

/** Every circuit of these endpoints as stored (closed ones without a row are left out). */
export function readCircuits(db: Db, endpoints: ProviderEndpoints): Promise<CircuitRow[]> {
  return db
    .select()
    .from(providerHealth)
    .where(
      sql`(${providerHealth.provider}, ${providerHealth.account}) in (${sql.join(
        providers.map((p) => sql`(${p}, ${endpoints[p]})`),
        sql`, `,
      )})`,
    );
}

/** An open circuit in a sentence: since when, and the failure behind it. */
export function describeOpen(row: CircuitRow): string {
  return `since ${row.changedAt?.toISOString() ?? '?'} after ${row.failures} failure(s); last: ${row.reason ?? '?'}`;
}

/** The circuits' state for operators: every provider, closed when it has no row yet. */
export async function circuitReport(db: Db, endpoints: ProviderEndpoints) {
  const rows = await readCircuits(db, endpoints);
  return Object.fromEntries(
    providers.map((provider) => {
      const row = rows.find((r) => r.provider === provider);
      return [
        provider,
        {
          state: row?.state ?? 'closed',
          endpoint: endpoints[provider],
          failures: row?.failures ?? 0,
          lastFailure: row?.reason ?? null,
          lastChangeAt: row?.changedAt?.toISOString() ?? null,
          nextProbeAt: row?.state === 'open' ? (row.probeAt?.toISOString() ?? null) : null,
          opens: row?.opens ?? 0,
        },
      ];
    }),
  ) as Record<Provider, CircuitStatus>;
}

export interface CircuitStatus {
  state: 'closed' | 'open';
  endpoint: string;
  failures: number;
  lastFailure: string | null;
  lastChangeAt: string | null;
  nextProbeAt: string | null;
  opens: number;
}
