// A circuit breaker per provider endpoint, shared by every worker through one Postgres row each.
// When SES fails, a fleet of workers each learning the outage on its own multiplies the load on
// the failing provider and delays every message by the whole retry ladder: the first workers'
// failures open the circuit for all of them. The hot path reads a cached copy of the rows and
// touches the database only on failures, on a success after failures, and for probes.
import { log } from '@temporalio/activity';
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { describeOpen, readCircuits, type CircuitRow, type ProviderEndpoints } from '../db/circuits.js';
import { providerHealth, type Provider } from '../db/schema.js';
import { countsAgainstProvider, type Admission, type Circuits } from '../delivery/circuit.js';
import type { ProviderOutcome } from '../delivery/outcome.js';
import type { SendQuota } from './send-quota.js';

export interface CircuitSettings {
  /** Provider failures, with no success between them, that open a circuit… */
  failures: number;
  /** …within this long of the first of them. */
  windowMs: number;
  /** While open, the provider gets one probe per this long; the first success closes it. */
  probeMs: number;
  /** How stale the cached state may get before a call refreshes it (in the background). */
  refreshMs: number;
}

export function createProviderHealth(
  db: Db,
  endpoints: ProviderEndpoints,
  settings: CircuitSettings,
  quota: Pick<SendQuota, 'slowDown'>,
  /** The activity's logger; another outside an activity (tests). */
  logger: Pick<typeof log, 'info' | 'warn'> = log,
): Circuits {
  const cache = new Map<Provider, CircuitRow>();
  let fetchedAt = 0;
  let refreshing: Promise<void> | undefined;
  const key = (p: Provider) => and(eq(providerHealth.provider, p), eq(providerHealth.account, endpoints[p]));
  const since = (ms: number) => sql`now() - ${ms} * interval '1 millisecond'`;
  const probeLater = sql`now() + ${settings.probeMs} * interval '1 millisecond'`;
  const openReason = (row: CircuitRow | undefined) => (row?.state === 'open' ? describeOpen(row) : undefined);

  function refresh(): Promise<void> {
    refreshing ??= readCircuits(db, endpoints)
      .then((rows) => {
        fetchedAt = Date.now();
        for (const row of rows) cache.set(row.provider, row);
      })
      .catch((err: Error) => {
        // The last known state serves for another period: a database outage must not make every
        // call wait for a query that will fail.
        fetchedAt = Date.now();
        logger.warn('could not read provider circuits; using the last known', { error: err });
      })
      .finally(() => (refreshing = undefined));
    return refreshing;
  }

  async function admit(provider: Provider): Promise<Admission> {
    // The cached state is never older than refreshMs: a call that finds it older waits for the
    // refresh (one query per period per worker, shared by the calls waiting), so a circuit another
    // worker opened reaches every call at most one period later, busy or idle.
    if (Date.now() - fetchedAt > settings.refreshMs) await refresh();
    const row = cache.get(provider);
    if (row?.state !== 'open') return { ok: true };
    if (row.probeAt && row.probeAt.getTime() > Date.now()) return { ok: false, reason: describeOpen(row) };
    try {
      // Half-open: the one worker whose update moves the probe time on sends the probe.
      const [claimed] = await db
        .update(providerHealth)
        .set({ probeAt: probeLater })
        .where(and(key(provider), eq(providerHealth.state, 'open'), lte(providerHealth.probeAt, sql`now()`)))
        .returning();
      if (claimed) {
        cache.set(provider, claimed);
        logger.info('probing a provider whose circuit is open', { provider });
        return { ok: true, probe: true };
      }
      await refresh();
    } catch (err) {
      logger.warn('could not claim a provider probe', { provider, error: err });
    }
    const now = cache.get(provider)!;
    return now.state === 'open' ? { ok: false, reason: describeOpen(now) } : { ok: true };
  }

  async function recordSuccess(provider: Provider) {
    const row = cache.get(provider);
    if (!row || (row.state === 'closed' && row.failures === 0)) return; // the hot path: no write
    const [after] = await db
      .update(providerHealth)
      .set({
        state: 'closed',
        failures: 0,
        probeAt: null,
        changedAt: sql`case when ${providerHealth.state} = 'open' then now() else ${providerHealth.changedAt} end`,
      })
      .where(key(provider))
      .returning();
    if (after) cache.set(provider, after);
    if (row.state === 'open') logger.info('provider circuit closed: a call succeeded', { provider });
  }

  async function recordFailure(provider: Provider, failure: string) {
    const t = providerHealth;
    const inWindow = sql`${t.windowStartedAt} > ${since(settings.windowMs)}`;
    const counted = sql`(case when ${inWindow} then ${t.failures} + 1 else 1 end)`;
    const opens = sql`(${t.state} = 'closed' and ${counted} >= ${settings.failures})`;
    const opensAtOnce = settings.failures <= 1;
    const [after] = await db
      .insert(t)
      .values({
        provider,
        account: endpoints[provider],
        failures: 1,
        reason: failure,
        ...(opensAtOnce ? { state: 'open', probeAt: probeLater, changedAt: sql`now()`, opens: 1 } : {}),
      })
      .onConflictDoUpdate({
        target: [t.provider, t.account],
        set: {
          failures: counted,
          windowStartedAt: sql`case when ${inWindow} then ${t.windowStartedAt} else now() end`,
          reason: failure,
          state: sql`case when ${opens} then 'open' else ${t.state} end`,
          probeAt: sql`case when ${opens} then ${probeLater} else ${t.probeAt} end`,
          changedAt: sql`case when ${opens} then now() else ${t.changedAt} end`,
          opens: sql`${t.opens} + (case when ${opens} then 1 else 0 end)`,
        },
      })
      .returning();
    if (!after) return undefined;
    if (after.opens > (cache.get(provider)?.opens ?? 0) && after.state === 'open')
      logger.warn('provider circuit opened', { provider, failures: after.failures, reason: failure });
    cache.set(provider, after);
    return openReason(after);
  }

  return {
    admit,
    async report(provider: Provider, outcome: ProviderOutcome) {
      try {
        if (outcome.kind === 'accepted') {
          await recordSuccess(provider);
          return undefined;
        }
        // Throttling first lowers the shared pace; only throttling at its floor counts as SES failing.
        const counts =
          outcome.kind === 'transient' && outcome.throttled
            ? provider === 'ses' && (await quota.slowDown())
            : countsAgainstProvider(provider, outcome);
        if (!counts) return openReason(cache.get(provider));
        return await recordFailure(
          provider,
          `${provider.toUpperCase()} ${outcome.code}: ${outcome.message}`.slice(0, 500),
        );
      } catch (err) {
        // The breaker is advice: its database being away never changes a send's outcome.
        logger.warn('could not record provider health', { provider, error: err });
        return openReason(cache.get(provider));
      }
    },
  };
}
