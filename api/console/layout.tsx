import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ConsoleSettings } from '../../config/config.js';
import { selfOnlyCsp } from '../docs.js';
import { scriptPath } from './script.js';

// Small enough to inline: one request per page, nothing to cache-bust.
const css = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#5b6470;--line:#d0d7de;--accent:#0b5cad;--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;--off:#8c959f}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9aa4ae;--line:#30363d;--accent:#58a6ff;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--off:#6e7681}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--bg);padding:4px 8px}
header{border-bottom:1px solid var(--line);padding:8px 16px}
nav{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:center}
nav a{text-decoration:none;padding:4px 0}
nav a[aria-current=page]{font-weight:600;border-bottom:2px solid var(--accent)}
nav form{margin-left:auto}
main{padding:16px;max-width:1100px}
h1{font-size:1.4rem;margin:0 0 12px}
h2{font-size:1.1rem;margin:24px 0 8px}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
form.filters{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:end;margin-bottom:12px}
label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:2px}
input,select,button{font:inherit;padding:6px 10px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
button{cursor:pointer;background:var(--accent);color:#fff;border-color:var(--accent)}
button.secondary{background:transparent;color:var(--accent)}
button.danger{background:var(--bad);border-color:var(--bad)}
.inline{display:inline}
.actions{display:flex;gap:8px;flex-wrap:wrap;margin:12px 0}
.status{display:inline-block;padding:0 6px;border-radius:4px;border:1px solid currentColor;font-size:.85rem}
.s-sent,.s-delivered,.s-completed,.s-closed{color:var(--ok)}
.s-failed,.s-bounced,.s-complained,.s-rejected,.s-open,.s-disabled{color:var(--bad)}
.s-unknown,.s-paused,.s-delayed,.s-soft_bounced{color:var(--warn)}
.bar{display:flex;height:12px;border-radius:6px;overflow:hidden;background:var(--line);min-width:120px}
.bar span{display:block}
.bar .sent{background:var(--ok)}.bar .failed{background:var(--bad)}.bar .cancelled{background:var(--off)}.bar .other{background:var(--warn)}
.counts{font-size:.85rem;color:var(--muted)}
.notice{border-left:4px solid var(--accent);padding:8px 12px;margin:0 0 12px}
.error{border-left-color:var(--bad)}
.muted{color:var(--muted)}
time{white-space:nowrap}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font-size:.8rem}
.pager{margin-top:12px}
@media (max-width:640px){main{padding:12px}dl{grid-template-columns:1fr}dt{margin-top:6px}}
`;

const sections = [
  ['sends', 'Sends'],
  ['bulks', 'Bulks'],
  ['suppressions', 'Suppressions'],
  ['webhooks', 'Webhooks'],
  ['providers', 'Providers'],
] as const;
export type Section = (typeof sections)[number][0];

export interface Viewer {
  /** Present for a cookie session; forms post it back. Bearer callers need none. */
  csrf?: string;
}

/** The hidden CSRF field every console form carries. */
export const CsrfField = ({ viewer }: { viewer: Viewer }) =>
  viewer.csrf ? <input type="hidden" name="csrf" value={viewer.csrf} /> : null;

function Shell(props: { title: string; section?: Section; viewer?: Viewer; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{props.title} · Mailroom</title>
        <style>{raw(css)}</style>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <nav aria-label="Console">
            <strong>Mailroom</strong>
            {props.viewer &&
              sections.map(([id, label]) => (
                <a href={`/console/${id}`} aria-current={props.section === id ? 'page' : undefined}>
                  {label}
                </a>
              ))}
            <a href="/docs">API docs</a>
            {props.viewer?.csrf && (
              <form class="inline" method="post" action="/console/sign-out">
                <CsrfField viewer={props.viewer} />
                <button class="secondary" type="submit">
                  Sign out
                </button>
              </form>
            )}
          </nav>
        </header>
        <main id="main">{props.children}</main>
        <script src={scriptPath} defer></script>
      </body>
    </html>
  );
}

/**
 * Renders a whole page: no caching (tenant data), and a CSP that lets it load nothing from
 * anywhere but this origin.
 */
export async function page(
  c: Context,
  status: ContentfulStatusCode,
  props: { title: string; section?: Section; viewer?: Viewer; children: Child },
) {
  const body = await (<Shell {...props} />).toString();
  return c.html(`<!doctype html>${body}`, status, {
    'content-security-policy': selfOnlyCsp,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  });
}

/** A timestamp as the server has it, readable and machine-readable. */
export const Time = ({ at }: { at: string | null | undefined }) =>
  at ? <time datetime={at}>{at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time> : <span class="muted">—</span>;

export const Status = ({ value }: { value: string }) => <span class={`status s-${value}`}>{value}</span>;

/** A workflow's page in the Temporal Web UI. */
export const WorkflowLink = ({ settings, id }: { settings: ConsoleSettings; id: string }) => (
  <>
    <a
      href={`${settings.temporalUiUrl}/namespaces/${encodeURIComponent(settings.temporalNamespace)}/workflows/${encodeURIComponent(id)}`}
      rel="noreferrer"
    >
      {id}
    </a>{' '}
    <span class="muted">(Temporal Web UI)</span>
  </>
);

/** A filter's `<select>`: "any" first, then each choice, the current one selected. */
export const Choice = (p: { label: string; name: string; options: readonly string[]; value?: string }) => (
  <label>
    {p.label}
    <select name={p.name}>
      <option value="">any</option>
      {p.options.map((o) => (
        <option value={o} selected={p.value === o}>
          {o}
        </option>
      ))}
    </select>
  </label>
);
