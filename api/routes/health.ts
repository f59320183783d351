import { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import type { Client } from '@temporalio/client';
import { Gauge, Registry } from 'prom-client';
import type { Db } from '../../db/create-db.js';
import { circuitReport, type ProviderEndpoints } from '../../db/circuits.js';
import { providers } from '../../db/schema.js';
import { keyChecker } from '../auth.js';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await withTimeout(probe(), 2_000);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export interface HealthRoutesDeps {
  db: Db;
  temporal: Client;
  apiKeys: string[];
  /** The providers' endpoints, whose circuits operators see. */
  providerEndpoints: ProviderEndpoints;
}

/** The providers' circuits as Prometheus gauges, read from the database at each scrape. */
function providerMetrics(db: Db, endpoints: ProviderEndpoints) {
  const registry = new Registry();
  const labelNames = ['provider'] as const;
  const open = new Gauge({
    name: 'mailroom_provider_circuit_open',
    help: "1 while the provider's circuit is open (sends go to the other provider), else 0.",
    labelNames,
    registers: [registry],
    async collect() {
      const report = await circuitReport(db, endpoints);
      for (const p of providers) {
        const r = report[p];
        open.set({ provider: p }, r.state === 'open' ? 1 : 0);
        failures.set({ provider: p }, r.failures);
        opens.set({ provider: p }, r.opens);
        changed.set({ provider: p }, r.lastChangeAt ? Date.parse(r.lastChangeAt) / 1000 : 0);
      }
    },
  });
  const failures = new Gauge({
    name: 'mailroom_provider_circuit_failures',
    help: 'Provider failures counted toward opening its circuit (reset by a success).',
    labelNames,
    registers: [registry],
  });
  const opens = new Gauge({
    name: 'mailroom_provider_circuit_opens',
    help: "How many times the provider's circuit has opened.",
    labelNames,
    registers: [registry],
  });
  const changed = new Gauge({
    name: 'mailroom_provider_circuit_last_change_timestamp_seconds',
    help: "When the provider's circuit last opened or closed (0: never).",
    labelNames,
    registers: [registry],
  });
  return registry;
}

/**
 * `/health`: the process answers. `/ready`: it can take mail (Temporal and the database answer);
 * with an API key it also shows each provider's circuit. `/metrics`: Prometheus.
 */
export function healthRoutes(deps: HealthRoutesDeps) {
  const { db, temporal } = deps;
  const authorized = keyChecker(deps.apiKeys);
  const metrics = providerMetrics(db, deps.providerEndpoints);
  return new Hono()
    .get('/health', (c) => c.json({ status: 'ok' }))
    .get('/ready', async (c) => {
      const [database, temporalCheck] = await Promise.all([
        check(() => db.execute(sql`select 1`)),
        check(() => temporal.workflowService.getSystemInfo({})),
      ]);
      const ready = database.ok && temporalCheck.ok;
      // An open circuit does not make the API unready: mail is still taken, and goes to the other provider.
      const operator = !('error' in authorized(c.req.header('authorization')));
      const providers =
        operator && database.ok ? await circuitReport(db, deps.providerEndpoints).catch(() => undefined) : undefined;
      return c.json(
        {
          status: ready ? 'ready' : 'not_ready',
          checks: { database, temporal: temporalCheck },
          ...(providers ? { providers } : {}),
        },
        ready ? 200 : 503,
      );
    })
    .get('/metrics', async (c) => {
      try {
        return c.text(await metrics.metrics(), 200, { 'content-type': metrics.contentType });
      } catch (err) {
        return c.text(`# metrics unavailable: ${(err as Error).message}\n`, 503);
      }
    });
}
