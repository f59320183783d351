import { createRoute, z } from '@hono/zod-openapi';
import { count, inArray, sql } from 'drizzle-orm';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { loggableError } from '../../config/logger.js';
import { Gauge, Registry } from 'prom-client';
import { collectProcessMetrics, register } from '../../metrics/metrics.js';
import type { Db } from '../../db/create-db.js';
import { circuitReport, type ProviderEndpoints } from '../../db/circuits.js';
import { bulkRecipients, bulks, messages, providers, type MessageStatus } from '../../db/schema.js';
import { keyChecker } from '../auth.js';
import { registerEventLoopDelay } from '../event-loop-delay.js';
import { router } from '../router.js';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: unknown }> {
  try {
    await withTimeout(probe(), 2_000);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err };
  }
}

/** What an operator's `/ready` says of a failed check: the error's class and code, never its text. */
function reason(err: unknown): string {
  const e = loggableError(err);
  return [e.class, e.code].filter((v) => v !== undefined).join(' ') || 'failed';
}

export interface HealthRoutesDeps {
  db: Db;
  temporal: Client;
  apiKeys: string[];
  /** The providers' endpoints, whose circuits operators see. */
  providerEndpoints: ProviderEndpoints;
  /** Where a failed check's detail goes. */
  logger: Pick<Logger, 'error'> & Partial<Pick<Logger, 'warn'>>;
}

/** The providers' circuits as Prometheus gauges, read from the database at each scrape, and the event-loop delay. */
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
  registerEventLoopDelay(registry);
  registerQueueMetrics(db, registry);
  collectProcessMetrics();
  // The counters (accepted, outcomes, provider calls…) live in the process's default registry.
  return Registry.merge([registry, register]);
}

const waiting: MessageStatus[] = ['queued', 'sending'];

/** What is waiting, read from the database at each scrape (indexed: status, created_at). */
function registerQueueMetrics(db: Db, registry: Registry) {
  const oldest = new Gauge({
    name: 'mailroom_oldest_waiting_seconds',
    help: 'Age of the oldest single send in a status that should not last: queued (not started) or sending (in a provider call); 0 when none.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows = await db
        .select({
          status: messages.status,
          age: sql<number>`extract(epoch from now() - min(${messages.createdAt}))::float8`.mapWith(Number),
        })
        .from(messages)
        .where(inArray(messages.status, waiting))
        .groupBy(messages.status);
      for (const status of waiting) oldest.set({ status }, 0);
      for (const r of rows) oldest.set({ status: r.status }, Math.max(0, r.age ?? 0));
    },
  });
  const recipients = new Gauge({
    name: 'mailroom_bulk_recipients',
    help: 'Recipients of running and paused bulks, by status (pending, sending, sent, failed, …).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const open = db
        .select({ id: bulks.id })
        .from(bulks)
        .where(inArray(bulks.status, ['running', 'paused']));
      const rows = await db
        .select({ status: bulkRecipients.status, n: count() })
        .from(bulkRecipients)
        .where(inArray(bulkRecipients.bulkId, open))
        .groupBy(bulkRecipients.status);
      recipients.reset();
      for (const r of rows) recipients.set({ status: r.status }, r.n);
    },
  });
}

const Check = z.object({
  ok: z.boolean(),
  error: z
    .string()
    .optional()
    .openapi({ description: "Why not: the error's class and code (its detail is in the API's log)" }),
});
const Circuit = z.object({
  state: z.enum(['closed', 'open']).openapi({
    description: '`open`: sends go to the other provider, and this one gets one probe per CIRCUIT_PROBE_SECONDS',
  }),
  endpoint: z.string(),
  failures: z.number().int().openapi({ description: 'Failures counted toward opening' }),
  lastFailure: z.string().nullable(),
  lastChangeAt: z.string().nullable(),
  nextProbeAt: z.string().nullable(),
  opens: z.number().int(),
});
const Readiness = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z
      .object({ database: Check, temporal: Check })
      .optional()
      .openapi({ description: 'With an API key: each dependency the API needs' }),
    providers: z.object({ ses: Circuit, smtp: Circuit }).optional().openapi({
      description: "With an API key: each provider's circuit. An open circuit does not make the API unready.",
    }),
  })
  .openapi('Readiness');

/**
 * `/health`: the process answers. `/ready`: it can take mail (Temporal and the database answer);
 * with an API key it also shows each provider's circuit. `/metrics`: Prometheus.
 */
export function healthRoutes(deps: HealthRoutesDeps) {
  const { db, temporal } = deps;
  const authorized = keyChecker(deps.apiKeys);
  const metrics = providerMetrics(db, deps.providerEndpoints);
  const readiness = { content: { 'application/json': { schema: Readiness } } };
  return router()
    .openapi(
      createRoute({
        method: 'get',
        path: '/health',
        summary: 'Liveness',
        security: [],
        responses: {
          200: {
            description: 'Alive',
            content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
          },
        },
      }),
      (c) => c.json({ status: 'ok' as const }, 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/ready',
        summary: 'Readiness: Temporal and the database answer; with an API key, each provider circuit too',
        description:
          'Without credentials: `status` only. With a valid `Authorization: Bearer <key>`, also each check ' +
          "(and the class and code of a failure) and `providers.ses` / `providers.smtp`: each provider's circuit.",
        security: [{}, { bearer: [] }],
        responses: { 200: { description: 'Ready', ...readiness }, 503: { description: 'Not ready', ...readiness } },
      }),
      async (c) => {
        const [database, temporalCheck] = await Promise.all([
          check(() => db.execute(sql`select 1`)),
          check(() => temporal.workflowService.getSystemInfo({})),
        ]);
        const ready = database.ok && temporalCheck.ok;
        for (const [dependency, r] of [
          ['database', database],
          ['temporal', temporalCheck],
        ] as const)
          if (!r.ok) deps.logger.warn?.({ dependency, err: r.error }, 'not ready');
        const operator = !('error' in authorized(c.req.header('authorization')));
        // Internal error text (hosts, ports, driver messages, a query's values) goes to the log only.
        const shown = (r: { ok: boolean; error?: unknown }) =>
          r.ok ? { ok: true } : { ok: false, error: reason(r.error) };
        // An open circuit does not make the API unready: mail is still taken, and goes to the other provider.
        const providers =
          operator && database.ok ? await circuitReport(db, deps.providerEndpoints).catch(() => undefined) : undefined;
        return c.json(
          {
            status: ready ? ('ready' as const) : ('not_ready' as const),
            ...(operator ? { checks: { database: shown(database), temporal: shown(temporalCheck) } } : {}),
            ...(providers ? { providers } : {}),
          },
          ready ? 200 : 503,
        );
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/metrics',
        summary: 'Prometheus metrics',
        description:
          'Counters of this process: `mailroom_sends_accepted_total{kind}`, `mailroom_send_outcomes_total{kind,status,provider}`, ' +
          '`mailroom_provider_events_total{type}`, `mailroom_suppressions_added_total{reason}` and Node process metrics; ' +
          'read from the database at each scrape: `mailroom_oldest_waiting_seconds{status=queued|sending}`, ' +
          '`mailroom_bulk_recipients{status}` (running and paused bulks), ' +
          '`mailroom_provider_circuit_open{provider}` (1 while open), `mailroom_provider_circuit_failures`, ' +
          '`mailroom_provider_circuit_opens`, `mailroom_provider_circuit_last_change_timestamp_seconds`; ' +
          "`mailroom_event_loop_delay_seconds{stat=max|p99|mean}`, the API process's event-loop delay since the previous scrape.",
        security: [],
        responses: {
          200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
          503: { description: 'The metrics could not be read', content: { 'text/plain': { schema: z.string() } } },
        },
      }),
      async (c) => {
        try {
          return c.text(await metrics.metrics(), 200, { 'content-type': metrics.contentType });
        } catch {
          return c.text('# metrics unavailable\n', 503);
        }
      },
    );
}
