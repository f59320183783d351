// Suppressions, webhook endpoints and provider health: what shapes delivery besides the sends.
import { z } from 'zod';
import type { Hono } from 'hono';
import { circuitReport } from '../../db/circuits.js';
import { providers, suppressionReasons } from '../../db/schema.js';
import { listSuppressions, removeSuppression } from '../../db/suppressions.js';
import { ApiError } from '../errors.js';
import { assertScope } from '../principal.js';
import { decodeCursor, encodeCursor } from '../routes/suppressions.js';
import { listWebhookEndpoints } from '../routes/webhook-endpoints.js';
import type { ConsoleDeps, ConsoleEnv } from './app.js';
import { Choice, CsrfField, page, Status, Time } from './layout.js';
import { blank, parseQuery } from './query.js';

const PAGE_SIZE = 50;
const SuppressionsQuery = z.object({
  reason: z.preprocess(blank, z.enum(suppressionReasons).optional()),
  cursor: z.preprocess(blank, z.string().max(1000).optional()),
});

export function settingsPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps) {
  app.get('/suppressions', async (c) => {
    const q = parseQuery(SuppressionsQuery, c.req.query());
    const rows = await listSuppressions(deps.db, c.get('tenantId'), {
      reason: q.reason,
      after: q.cursor ? decodeCursor(q.cursor) : undefined,
      limit: PAGE_SIZE,
    });
    const last = rows[rows.length - 1];
    const older =
      rows.length === PAGE_SIZE && last
        ? `/console/suppressions?${new URLSearchParams({ ...(q.reason ? { reason: q.reason } : {}), cursor: encodeCursor(last) })}`
        : undefined;
    const viewer = c.get('viewer');
    const removed = c.req.query('removed');
    return page(c, 200, {
      title: 'Suppressions',
      section: 'suppressions',
      viewer,
      children: (
        <>
          <h1>Suppressions</h1>
          <p class="muted">
            Addresses this key never mails: hard bounces and complaints add themselves. Removing one lets it be mailed
            again.
          </p>
          {removed && (
            <p class="notice" role="status">
              {removed} was removed from the list.
            </p>
          )}
          <form class="filters" method="get" action="/console/suppressions">
            <Choice label="Reason" name="reason" options={suppressionReasons} value={q.reason} />
            <button type="submit">Filter</button>
          </form>
          {rows.length === 0 ? (
            <p>No suppressed addresses.</p>
          ) : (
            <div class="table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Address</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Source</th>
                    <th scope="col">Since</th>
                    <th scope="col">
                      <span class="muted">Action</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((s) => (
                    <tr>
                      <td>{s.email}</td>
                      <td>{s.reason}</td>
                      <td>{s.source}</td>
                      <td>
                        <Time at={s.createdAt.toISOString()} />
                      </td>
                      <td>
                        <form
                          class="inline"
                          method="post"
                          action="/console/suppressions/remove"
                          data-confirm={`Mail ${s.email} again?`}
                        >
                          <CsrfField viewer={viewer} />
                          <input type="hidden" name="email" value={s.email} />
                          <button type="submit" class="secondary" aria-label={`Remove ${s.email}`}>
                            Remove
                          </button>
                        </form>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="pager">
            {q.cursor && <a href="/console/suppressions">Newest</a>} {older && <a href={older}>Older →</a>}
          </p>
        </>
      ),
    });
  });

  app.post('/suppressions/remove', async (c) => {
    assertScope(c.get('principal'), 'manage');
    const { email } = await c.req.parseBody();
    if (typeof email !== 'string' || !email || email.length > 320)
      throw new ApiError('validation_error', 'email is required', 'email');
    if (!(await removeSuppression(deps.db, c.get('tenantId'), email)))
      throw new ApiError('not_found', `${email} is not suppressed`, 'email');
    return c.redirect(`/console/suppressions?${new URLSearchParams({ removed: email })}`, 303);
  });

  app.get('/webhooks', async (c) => {
    const endpoints = await listWebhookEndpoints(deps.db, c.get('tenantId'));
    return page(c, 200, {
      title: 'Webhooks',
      section: 'webhooks',
      viewer: c.get('viewer'),
      children: (
        <>
          <h1>Webhook endpoints</h1>
          <p class="muted">
            Created and deleted through <code>/v1/webhook-endpoints</code>; signing secrets are never shown again.
          </p>
          {endpoints.length === 0 ? (
            <p>No endpoints.</p>
          ) : (
            <div class="table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">URL</th>
                    <th scope="col">State</th>
                    <th scope="col">Events</th>
                    <th scope="col">Failures</th>
                    <th scope="col">Last success / failure</th>
                    <th scope="col">Deliveries (24 h)</th>
                  </tr>
                </thead>
                <tbody>
                  {endpoints.map((e) => (
                    <tr>
                      <td>{e.url}</td>
                      <td>
                        <Status value={e.enabled ? 'enabled' : 'disabled'} />
                        {e.disabled_reason && <div>{e.disabled_reason}</div>}
                      </td>
                      <td>{e.events.join(', ')}</td>
                      <td>
                        {e.consecutive_failures}
                        {e.failing_since && (
                          <div class="muted">
                            since <Time at={e.failing_since} />
                          </div>
                        )}
                      </td>
                      <td>
                        <Time at={e.last_success_at} /> / <Time at={e.last_failure_at} />
                      </td>
                      <td>
                        {Object.entries(e.deliveries)
                          .filter(([, n]) => n > 0)
                          .map(([s, n]) => `${n} ${s}`)
                          .join(', ') || 'none'}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      ),
    });
  });

  app.get('/providers', async (c) => {
    const report = await circuitReport(deps.db, deps.providerEndpoints);
    return page(c, 200, {
      title: 'Providers',
      section: 'providers',
      viewer: c.get('viewer'),
      children: (
        <>
          <h1>Provider health</h1>
          <p class="muted">
            Each provider's circuit, shared by every worker. While one is open, sends go to the other provider and the
            open one gets a probe now and then. The same report as <code>/ready</code> with an API key.
          </p>
          <div class="table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Circuit</th>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Failures</th>
                  <th scope="col">Last failure</th>
                  <th scope="col">Changed</th>
                  <th scope="col">Next probe</th>
                  <th scope="col">Opened</th>
                </tr>
              </thead>
              <tbody>
                {providers.map((p) => {
                  const r = report[p];
                  return (
                    <tr>
                      <th scope="row">{p.toUpperCase()}</th>
                      <td>
                        <Status value={r.state} />
                      </td>
                      <td>{r.endpoint}</td>
                      <td>{r.failures}</td>
                      <td>{r.lastFailure ?? '—'}</td>
                      <td>
                        <Time at={r.lastChangeAt} />
                      </td>
                      <td>
                        <Time at={r.nextProbeAt} />
                      </td>
                      <td>{r.opens} times</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      ),
    });
  });
}
