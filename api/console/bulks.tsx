import { z } from 'zod';
import type { Hono } from 'hono';
import { bulkStatuses, type BulkStatus } from '../../db/schema.js';
import { ApiError } from '../errors.js';
import { assertScope } from '../principal.js';
import { countRecipients, type RecipientCounts } from '../../db/bulk-counts.js';
import {
  bulkControls,
  bulkRecord,
  controlBulk,
  findBulk,
  listBulks,
  type bulkSummary,
  type BulkControl,
} from '../records/bulks.js';
import type { ConsoleDeps, ConsoleEnv } from './app.js';
import { Choice, CsrfField, page, Status, Time, WorkflowLink, type Viewer } from './layout.js';
import { blank, parseQuery } from './query.js';

const PAGE_SIZE = 25;
const BulksQuery = z.object({
  status: z.preprocess(blank, z.enum(bulkStatuses).optional()),
  cursor: z.preprocess(blank, z.string().max(100).optional()),
});

type BulkView = ReturnType<typeof bulkSummary> & RecipientCounts;

/** What an operator can still do to a bulk in this status (the workflow has the last word). */
function allowedActions(status: BulkStatus): BulkControl[] {
  if (status === 'queued' || status === 'running') return ['pause', 'cancel'];
  if (status === 'paused') return ['resume', 'cancel'];
  if (status === 'scheduled') return ['cancel'];
  return [];
}

const pct = (n: number, total: number) => (total > 0 ? `${((n / total) * 100).toFixed(2)}%` : '0%');

/**
 * A bulk's status and progress: rendered in its pages and, every 2 s while the bulk can still
 * change, fetched again by the console script, which swaps it in.
 */
function Progress({ bulk }: { bulk: BulkView }) {
  const sent = bulk.sent + bulk.bounced + bulk.complained;
  const other = bulk.unknown + bulk.suppressed;
  const extra = [
    bulk.bounced && `${bulk.bounced} bounced`,
    bulk.complained && `${bulk.complained} complained`,
    bulk.unknown && `${bulk.unknown} unknown (held)`,
    bulk.suppressed && `${bulk.suppressed} suppressed`,
    bulk.possible_duplicates && `${bulk.possible_duplicates} possible duplicates`,
  ].filter(Boolean);
  return (
    <div
      class="progress"
      data-bulk={bulk.id}
      data-status={bulk.status}
      data-actions={allowedActions(bulk.status).join(' ')}
      data-progress={`/console/bulks/${bulk.id}/progress`}
    >
      <p>
        <span data-role="status">
          <Status value={bulk.status} />
        </span>
        {bulk.status_reason && <span data-role="reason"> — {bulk.status_reason}</span>}
      </p>
      <div
        class="bar"
        role="img"
        aria-label={`${sent} sent, ${bulk.failed} failed, ${bulk.cancelled} cancelled, ${bulk.pending} pending of ${bulk.total}`}
      >
        <span class="sent" style={`width:${pct(sent, bulk.total)}`}></span>
        <span class="failed" style={`width:${pct(bulk.failed, bulk.total)}`}></span>
        <span class="cancelled" style={`width:${pct(bulk.cancelled, bulk.total)}`}></span>
        <span class="other" style={`width:${pct(other, bulk.total)}`}></span>
      </div>
      <p class="counts" data-role="counts">
        {sent} sent · {bulk.failed} failed · {bulk.cancelled} cancelled · {bulk.pending} pending of {bulk.total}
        {extra.length > 0 && ` (${extra.join(', ')})`}
      </p>
    </div>
  );
}

const labels: Record<BulkControl, string> = { pause: 'Pause', resume: 'Resume', cancel: 'Cancel' };

function Controls({ bulk, viewer }: { bulk: BulkView; viewer: Viewer }) {
  const allowed = allowedActions(bulk.status);
  return (
    <div class="actions">
      {(Object.keys(bulkControls) as BulkControl[]).map((action) => (
        <form
          method="post"
          action={`/console/bulks/${bulk.id}/${action}`}
          data-action={action}
          data-bulk={bulk.id}
          data-confirm={action === 'cancel' ? 'Cancel this bulk? Recipients not yet sent will not be.' : undefined}
          hidden={!allowed.includes(action)}
        >
          <CsrfField viewer={viewer} />
          <button type="submit" class={action === 'cancel' ? 'danger' : undefined}>
            {labels[action]}
          </button>
        </form>
      ))}
    </div>
  );
}

const done: Record<string, string> = {
  pause: 'Paused: the bulk sends nothing more until it is resumed.',
  resume: 'Resumed.',
  cancel: 'Cancelled: recipients not yet sent are cancelled.',
};

export function bulkPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps) {
  app.get('/bulks', async (c) => {
    const q = parseQuery(BulksQuery, c.req.query());
    const { data, next_cursor } = await listBulks(deps.db, c.get('tenantId'), { ...q, limit: PAGE_SIZE });
    const rows = await Promise.all(data.map(async (b) => ({ ...b, ...(await countRecipients(deps.db, b.id)) })));
    const older = next_cursor
      ? `/console/bulks?${new URLSearchParams({ ...(q.status ? { status: q.status } : {}), cursor: next_cursor })}`
      : undefined;
    return page(c, 200, {
      title: 'Bulks',
      section: 'bulks',
      viewer: c.get('viewer'),
      children: (
        <>
          <h1>Bulks</h1>
          <form class="filters" method="get" action="/console/bulks">
            <Choice label="Status" name="status" options={bulkStatuses} value={q.status} />
            <button type="submit">Filter</button>
          </form>
          {rows.length === 0 ? (
            <p>No bulks{q.status ? ' with this status' : ' yet'}.</p>
          ) : (
            <div class="table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Bulk</th>
                    <th scope="col">Progress</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((b) => (
                    <tr>
                      <td>
                        {/* The id's first block is enough to tell bulks apart on a phone; the link names it whole. */}
                        <a href={`/console/bulks/${b.id}`} aria-label={`Bulk ${b.id}`}>
                          {b.id.slice(0, 8)}…
                        </a>
                        <div class="muted">
                          <Time at={b.created_at} />
                        </div>
                      </td>
                      <td>
                        <Progress bulk={b} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="pager">
            {q.cursor && <a href="/console/bulks">Newest</a>} {older && <a href={older}>Older bulks →</a>}
          </p>
        </>
      ),
    });
  });

  app.get('/bulks/:id', async (c) => {
    const row = await findBulk(deps.db, c.req.param('id'), c.get('tenantId'));
    const bulk = await bulkRecord(deps.db, row);
    const notice = done[c.req.query('done') ?? ''];
    return page(c, 200, {
      title: `Bulk ${bulk.id}`,
      section: 'bulks',
      viewer: c.get('viewer'),
      children: (
        <>
          <p>
            <a href="/console/bulks">← Bulks</a>
          </p>
          <h1>{row.subject}</h1>
          {notice && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
          <Progress bulk={bulk} />
          <Controls bulk={bulk} viewer={c.get('viewer')} />
          <dl>
            <dt>Id</dt>
            <dd>
              <code>{bulk.id}</code>
            </dd>
            <dt>Workflow</dt>
            <dd>
              <WorkflowLink settings={deps.console} id={bulk.workflow_id} />
            </dd>
            <dt>From</dt>
            <dd>{row.from}</dd>
            <dt>Rate</dt>
            <dd>{bulk.rate_per_second ? `${bulk.rate_per_second}/s` : 'the SES quota'}</dd>
            <dt>Created</dt>
            <dd>
              <Time at={bulk.created_at} />
            </dd>
            <dt>Started</dt>
            <dd>
              <Time at={bulk.started_at} />
            </dd>
            <dt>Finished</dt>
            <dd>
              <Time at={bulk.finished_at} />
            </dd>
          </dl>
        </>
      ),
    });
  });

  app.get('/bulks/:id/progress', async (c) => {
    const bulk = await bulkRecord(deps.db, await findBulk(deps.db, c.req.param('id'), c.get('tenantId')));
    return c.html(<Progress bulk={bulk} />, 200, { 'cache-control': 'no-store' });
  });

  app.post('/bulks/:id/:action', async (c) => {
    const action = c.req.param('action');
    if (!(action in bulkControls)) throw new ApiError('not_found', `no bulk action ${action}`, 'action');
    assertScope(c.get('principal'), 'send');
    const bulk = await findBulk(deps.db, c.req.param('id'), c.get('tenantId'));
    await controlBulk(deps.temporal, bulk, action as BulkControl);
    return c.redirect(`/console/bulks/${bulk.id}?done=${action}`, 303);
  });
}
