import { z } from 'zod';
import type { Hono } from 'hono';
import { messageStatuses } from '../../db/schema.js';
import { emailRecord, findEmail, listEmails } from '../records/emails.js';
import type { ConsoleDeps, ConsoleEnv } from './app.js';
import { Choice, page, Status, Time, WorkflowLink } from './layout.js';
import { blank, parseQuery } from './query.js';

const PAGE_SIZE = 25;

const SendsQuery = z.object({
  status: z.preprocess(blank, z.enum(messageStatuses).optional()),
  to: z.preprocess(blank, z.string().trim().max(320).optional()),
  cursor: z.preprocess(blank, z.string().max(100).optional()),
});

export function sendPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps) {
  app.get('/sends', async (c) => {
    const q = parseQuery(SendsQuery, c.req.query());
    const { data, next_cursor } = await listEmails(deps.db, c.get('tenantId'), { ...q, limit: PAGE_SIZE });
    const older = next_cursor
      ? `/console/sends?${new URLSearchParams({ ...(q.status ? { status: q.status } : {}), ...(q.to ? { to: q.to } : {}), cursor: next_cursor })}`
      : undefined;
    return page(c, 200, {
      title: 'Sends',
      section: 'sends',
      viewer: c.get('viewer'),
      children: (
        <>
          <h1>Sends</h1>
          <form class="filters" method="get" action="/console/sends" role="search">
            <Choice label="Status" name="status" options={messageStatuses} value={q.status} />
            <label>
              Recipient
              <input type="search" name="to" value={q.to ?? ''} placeholder="ana@example.com" maxlength={320} />
            </label>
            <button type="submit">Filter</button>
            {(q.status || q.to) && <a href="/console/sends">Clear</a>}
          </form>
          {data.length === 0 ? (
            <p>No sends{q.status || q.to ? ' match these filters' : ' yet'}.</p>
          ) : (
            <div class="table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Subject</th>
                    <th scope="col">Status</th>
                    <th scope="col">To</th>
                    <th scope="col">Created</th>
                    <th scope="col">Provider</th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((m) => (
                    <tr>
                      <td>
                        <a href={`/console/sends/${m.id}`}>{m.subject || '(no subject)'}</a>
                      </td>
                      <td>
                        <Status value={m.status} />
                      </td>
                      <td>{m.to.join(', ')}</td>
                      <td>
                        <Time at={m.created_at} />
                      </td>
                      <td>{m.provider ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="pager">
            {q.cursor && <a href="/console/sends">Newest</a>} {older && <a href={older}>Older sends →</a>}
          </p>
        </>
      ),
    });
  });

  app.get('/sends/:id', async (c) => {
    const m = await emailRecord(deps.db, await findEmail(deps.db, c.req.param('id'), c.get('tenantId')));
    return page(c, 200, {
      title: `Send ${m.id}`,
      section: 'sends',
      viewer: c.get('viewer'),
      children: (
        <>
          <p>
            <a href="/console/sends">← Sends</a>
          </p>
          <h1>{m.subject || '(no subject)'}</h1>
          <dl>
            <dt>Status</dt>
            <dd>
              <Status value={m.status} />
            </dd>
            {m.last_error && (
              <>
                <dt>Last error</dt>
                <dd>{m.last_error}</dd>
              </>
            )}
            <dt>Id</dt>
            <dd>
              <code>{m.id}</code>
            </dd>
            <dt>Workflow</dt>
            <dd>
              <WorkflowLink settings={deps.console} id={m.workflow_id} />
            </dd>
            <dt>From</dt>
            <dd>{m.from}</dd>
            <dt>To</dt>
            <dd>{m.to.join(', ')}</dd>
            {m.cc.length > 0 && (
              <>
                <dt>Cc</dt>
                <dd>{m.cc.join(', ')}</dd>
              </>
            )}
            {m.bcc.length > 0 && (
              <>
                <dt>Bcc</dt>
                <dd>{m.bcc.join(', ')}</dd>
              </>
            )}
            <dt>Provider</dt>
            <dd>
              {m.provider ?? '—'} {m.provider_message_id && <code>{m.provider_message_id}</code>}
            </dd>
            <dt>Created</dt>
            <dd>
              <Time at={m.created_at} />
            </dd>
            {m.scheduled_at && (
              <>
                <dt>Scheduled for</dt>
                <dd>
                  <Time at={m.scheduled_at} />
                  {m.not_after && (
                    <>
                      {' '}
                      (not after <Time at={m.not_after} />)
                    </>
                  )}
                </dd>
              </>
            )}
            <dt>Sent</dt>
            <dd>
              <Time at={m.sent_at} />
            </dd>
            {Object.keys(m.tags).length > 0 && (
              <>
                <dt>Tags</dt>
                <dd>
                  {Object.entries(m.tags)
                    .map(([k, v]) => `${k}: ${v}`)
                    .join(', ')}
                </dd>
              </>
            )}
            {m.attachments.length > 0 && (
              <>
                <dt>Attachments</dt>
                <dd>{m.attachments.map((a) => `${a.filename} (${a.content_type}, ${a.size} B)`).join(', ')}</dd>
              </>
            )}
          </dl>

          <h2>Attempts ({m.attempts.length})</h2>
          {m.attempts.length === 0 ? (
            <p>None yet.</p>
          ) : (
            <div class="table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">At</th>
                    <th scope="col">Provider</th>
                    <th scope="col">#</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {m.attempts.map((a) => (
                    <tr>
                      <td>
                        <Time at={a.at} />
                      </td>
                      <td>{a.provider}</td>
                      <td>{a.attempt}</td>
                      <td>
                        <Status value={a.outcome} />
                      </td>
                      <td>
                        {[
                          a.error_code,
                          a.error_message,
                          a.provider_message_id && `message id ${a.provider_message_id}`,
                          a.routed_by && `routed: ${a.routed_by}`,
                          ...a.rejected_recipients.map((r) => `refused ${r.address}: ${r.code} ${r.message}`),
                        ]
                          .filter(Boolean)
                          .join(' · ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}

          <h2>Provider events ({m.events.length})</h2>
          {m.events.length === 0 ? (
            <p>None received.</p>
          ) : (
            <div class="table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">At</th>
                    <th scope="col">Type</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {m.events.map((e) => (
                    <tr>
                      <td>
                        <Time at={e.at} />
                      </td>
                      <td>
                        {e.type}
                        {e.subtype && ` (${e.subtype})`}
                      </td>
                      <td>
                        <pre>{JSON.stringify(e.details, null, 1)}</pre>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}

          <h2>Suppressed recipients ({m.suppressed_recipients.length})</h2>
          {m.suppressed_recipients.length === 0 ? (
            <p>None: no recipient was on the suppression list at send time.</p>
          ) : (
            <ul>
              {m.suppressed_recipients.map((r) => (
                <li>{r}</li>
              ))}
            </ul>
          )}
        </>
      ),
    });
  });
}
