// R4b: oversized and pathological input (1 MB addresses, display names of spaces, deep JSON, huge
// CSVs, template bombs) against a real API process, one request at a time, while /health is probed
// without pause. Per request: the API's own event-loop delay (monitorEventLoopDelay, read from
// /metrics, which resets it) and the slowest /health probe that overlapped it. Every request must
// get a 4xx naming a field; nothing may start a workflow or write a row.
import { API_KEY, startStack, type Stack } from '../support/stack.js';
import { bulkBody, smallEmail } from '../support/bulk.js';
import { verdict, type CaseContext } from '../support/report.js';

const TARGET_MS = 100;

interface Hostile {
  name: string;
  path: '/v1/emails' | '/v1/bulk';
  body: string | FormData;
  /** The field the 4xx must name (or a field under it), when it is known. */
  field?: string;
}

const spaces = (n: number) => ' '.repeat(n);
const list = (n: number, v: unknown = 0) => Array.from({ length: n }, () => v);

function deep(levels: number): string {
  return '['.repeat(levels) + '1' + ']'.repeat(levels);
}

function csvForm(csv: string, extra: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries({ from: 'news@example.com', subject: 'Hi', text: 'Hello', ...extra }))
    form.set(k, v);
  form.set('recipients', new Blob([csv], { type: 'text/csv' }), 'list.csv');
  return form;
}

function hostiles(): Hostile[] {
  const e = smallEmail() as Record<string, unknown>;
  const b = bulkBody(3, 'p') as Record<string, any>;
  const email = (name: string, over: Record<string, unknown>, field?: string): Hostile => ({
    name,
    path: '/v1/emails',
    body: JSON.stringify({ ...e, ...over }),
    field,
  });
  const bulk = (name: string, over: Record<string, unknown>, field?: string): Hostile => ({
    name,
    path: '/v1/bulk',
    body: JSON.stringify({ ...b, ...over }),
    field,
  });
  const one = (over: Record<string, unknown>) => [{ email: 'one@example.com', name: 'One', data: { n: 1 }, ...over }];
  const a100 = list(100, 1);
  const rows = (n: number) => `email,name\n${Array.from({ length: n }, (_, i) => `r${i}@example.com,R`).join('\n')}\n`;
  return [
    email('1 MB address in from', { from: `${'a'.repeat(1 << 20)}@example.com` }, 'from'),
    email('1 MB address in to[1]', { to: ['ok@example.com', `${'a'.repeat(1 << 20)}@example.com`] }, 'to[1]'),
    email('from: a + 64 KB of spaces + b', { from: `a${spaces(64 * 1024)}b` }, 'from'),
    email('to: a + 200 KB of spaces + b <x@example.com>', { to: `a${spaces(200_000)}b <x@example.com>` }, 'to'),
    email('cc: 1 MB of spaces', { cc: [spaces(1 << 20)] }, 'cc[0]'),
    email('quoted display name of 300k escapes', { from: `"${'\\"'.repeat(300_000)}" <a@example.com>` }, 'from'),
    email('40 reply_to of 300 KB each', { reply_to: list(40, `N${spaces(300_000)}N <r@example.com>`) }, 'reply_to[0]'),
    email('1 MB subject', { subject: 's'.repeat(1 << 20) }, 'subject'),
    email('1 MB header value', { headers: { 'X-Big': 'v'.repeat(1 << 20) } }, 'headers.X-Big'),
    email(
      'X-SES-SOURCE-ARN header',
      { headers: { 'X-SES-SOURCE-ARN': 'arn:aws:ses:us-east-1:1:identity/x' } },
      'headers.X-SES-SOURCE-ARN',
    ),
    email('100,000 headers', { headers: Object.fromEntries(list(100_000).map((_, i) => [`X-H${i}`, 'v'])) }, 'headers'),
    email(
      '1 MB attachment content_type',
      {
        attachments: [{ filename: 'a.txt', content: 'aGk=', content_type: `text/${'x'.repeat(1 << 20)}` }],
      },
      'attachments[0].content_type',
    ),
    {
      name: '500,000 unknown keys (6 MB of JSON)',
      path: '/v1/emails',
      body: `{${list(500_000)
        .map((_, i) => `"k${i}":1`)
        .join(',')},${JSON.stringify(e).slice(1)}`,
      field: 'body',
    },
    bulk('1 MB recipient email', { recipients: one({ email: `${'a'.repeat(1 << 20)}@example.com` }) }, 'recipients[0]'),
    bulk('1 MB from', { from: `N${spaces(1 << 20)}N <news@example.com>` }, 'from'),
    bulk('data nested 100,000 levels', {}, 'recipients[0]'),
    bulk('data list of 1,000,000 items', { recipients: one({ data: { n: 1, l: list(1_000_000) } }) }, 'recipients[0]'),
    bulk('data of 5 MB', { recipients: one({ data: { n: 1, s: 'x'.repeat(5 << 20) } }) }, 'recipients[0]'),
    bulk(
      'template: nested #each 100³',
      {
        recipients: one({ data: { n: 1, a: a100 } }),
        html: '{{#each data.a}}{{#each ../data.a}}{{#each ../../data.a}}x{{/each}}{{/each}}{{/each}}',
      },
      'recipients[0]',
    ),
    bulk(
      'template: #each × 100 of two 15 KB strings',
      {
        recipients: one({ data: { n: 1, a: a100, s: 'y'.repeat(15_000) } }),
        text: '{{#each data.a}}{{../data.s}}{{../data.s}}{{/each}}',
      },
      'recipients[0]',
    ),
    bulk('template: 1,000,000 tags', { html: '{{name}}'.repeat(1_000_000) }, 'html'),
    bulk('template: 20,000 tags in 100 KB', { html: '{{a}}'.repeat(20_000) }, 'html'),
    bulk(
      'template: #if nested 3,000 deep',
      { html: `${'{{#if name}}'.repeat(3000)}${'{{/if}}'.repeat(3000)}` },
      'html',
    ),
    bulk('template: 20 MB html', { html: 'h'.repeat(20 << 20) }, 'html'),
    bulk(
      'template: lookup/log/with/partial',
      { html: '{{#with data}}{{lookup . "n"}}{{log "x"}}{{> p}}{{/with}}' },
      'html',
    ),
    bulk(
      '100,000 recipients, the last invalid (strict)',
      {
        recipients: [
          ...Array.from({ length: 99_999 }, (_, i) => ({ email: `r${i}@example.com`, name: 'R', data: { n: i } })),
          { email: 'broken', name: 'R', data: { n: 0 } },
        ],
      },
      'recipients[99999]',
    ),
    {
      name: 'CSV of 1,000,000 rows (row cap 100,000)',
      path: '/v1/bulk',
      body: csvForm(rows(1_000_000)),
      field: 'recipients',
    },
    {
      name: 'CSV header of 100,000 columns',
      path: '/v1/bulk',
      body: csvForm(
        `email,${list(100_000)
          .map((_, i) => `c${i}`)
          .join(',')}\n`,
      ),
      field: 'recipients',
    },
    {
      name: 'CSV with a 10 MB cell',
      path: '/v1/bulk',
      body: csvForm(`email,note\na@example.com,${'z'.repeat(10 << 20)}\n`),
      field: 'recipients',
    },
    bulk('body over BULK_MAX_BODY_BYTES (25 MB)', { html: 'z'.repeat(25 << 20) }, 'body'),
  ];
}

// The nested-data body is written by hand: JSON.stringify would recurse 100,000 levels.
function withDeepData(h: Hostile): Hostile {
  if (h.name !== 'data nested 100,000 levels') return h;
  const b = bulkBody(1, 'deep') as Record<string, any>;
  const body = JSON.stringify({ ...b, recipients: [{ email: 'd@example.com', name: 'D', data: { n: 1, d: 0 } }] });
  return { ...h, body: body.replace('"d":0', `"d":${deep(100_000)}`) };
}

/** /health, probed back to back; each probe's start and end. */
function startProber(url: string) {
  const probes: { start: number; end: number }[] = [];
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const start = performance.now();
      try {
        await (await fetch(`${url}/health`)).arrayBuffer();
      } catch {
        // counted as a slow probe below: its end is when it failed
      }
      probes.push({ start, end: performance.now() });
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    /** The slowest probe that overlapped [from, to]. */
    worst(from: number, to: number) {
      let worst = 0;
      for (const p of probes) if (p.end >= from && p.start <= to) worst = Math.max(worst, p.end - p.start);
      return worst;
    },
    async close() {
      stop = true;
      await done;
    },
  };
}

async function loopDelayMs(stack: Stack): Promise<number> {
  const text = await (await fetch(`${stack.apiUrl}/metrics`)).text();
  const m = /mailroom_event_loop_delay_seconds\{stat="max"\} ([\d.e+-]+)/.exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
}

async function send(stack: Stack, h: Hostile) {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
  if (typeof h.body === 'string') headers['content-type'] = 'application/json';
  try {
    const res = await fetch(`${stack.apiUrl}${h.path}`, { method: 'POST', headers, body: h.body });
    const text = await res.text();
    let error: { field?: string; message?: string } | undefined;
    try {
      error = JSON.parse(text)?.error;
    } catch {
      // not JSON
    }
    return { status: res.status, field: error?.field, message: (error?.message ?? text).slice(0, 140) };
  } catch (err) {
    return { status: 0, field: undefined, message: (err as Error).message };
  }
}

export async function r4b(ctx: CaseContext) {
  const stack = await startStack({ workers: 0 });
  const prober = startProber(stack.apiUrl);
  try {
    // Warm-up (JIT, connections), then the idle noise floor over about as long as one request.
    for (const h of hostiles().slice(0, 3)) await send(stack, h);
    await loopDelayMs(stack);
    const idleFrom = performance.now();
    await new Promise((r) => setTimeout(r, 2_000));
    const idleLoop = await loopDelayMs(stack);
    const idleProbe = prober.worst(idleFrom, performance.now());

    const results: { name: string; status: number; field?: string; loop: number; probe: number; ms: number }[] = [];
    let ok4xx = 0;
    for (const h of hostiles().map(withDeepData)) {
      await loopDelayMs(stack);
      const from = performance.now();
      const r = await send(stack, h);
      const to = performance.now();
      const loop = await loopDelayMs(stack);
      const probe = prober.worst(from, performance.now());
      const named =
        r.status >= 400 &&
        r.status < 500 &&
        !!r.field &&
        (!h.field || r.field === h.field || r.field.startsWith(`${h.field}.`));
      if (named) ok4xx++;
      results.push({ name: h.name, status: r.status, field: r.field, loop, probe, ms: to - from });
      ctx.note(
        `${h.name}: ${r.status} ${r.field ?? '-'}; loop delay ${loop.toFixed(0)} ms, worst /health ${probe.toFixed(0)} ms, ` +
          `request ${(to - from).toFixed(0)} ms${named ? '' : ` — ${r.message}`}`,
      );
    }
    const workflows = (await stack.client.workflow.count()).count;
    const [rows] =
      await stack.sql`select (select count(*) from messages)::int + (select count(*) from bulks)::int + (select count(*) from bulk_recipients)::int + (select count(*) from attachments)::int as c`;
    const n = results.length;
    const worstLoop = results.reduce((a, r) => (r.loop > a.loop ? r : a));
    const worstProbe = results.reduce((a, r) => (r.probe > a.probe ? r : a));
    const over = results.filter((r) => r.loop > TARGET_MS);
    ctx.row({ metric: 'hostile requests', value: n, target: 'info', verdict: 'INFO' });
    ctx.row({
      metric: '4xx naming the expected field',
      value: ok4xx,
      baseline: n,
      ratio: ok4xx / n,
      target: '100%',
      verdict: verdict(ok4xx === n),
    });
    ctx.row({
      metric: `worst event-loop delay of one request (${worstLoop.name})`,
      value: `${worstLoop.loop.toFixed(0)} ms`,
      baseline: `${idleLoop.toFixed(0)} ms idle`,
      target: `≤ ${TARGET_MS} ms`,
      verdict: verdict(worstLoop.loop <= TARGET_MS),
    });
    ctx.row({
      metric: `requests over ${TARGET_MS} ms of event-loop delay`,
      value: over.length,
      baseline: n,
      target: '0',
      verdict: verdict(over.length === 0),
    });
    ctx.row({
      metric: `worst /health latency during one request (${worstProbe.name})`,
      value: `${worstProbe.probe.toFixed(0)} ms`,
      baseline: `${idleProbe.toFixed(0)} ms idle`,
      target: 'info (includes the bench client on the same 2 cores)',
      verdict: 'INFO',
    });
    ctx.row({ metric: 'workflows started', value: workflows, target: '0', verdict: verdict(workflows === 0) });
    ctx.row({ metric: 'rows written', value: rows!.c, target: '0', verdict: verdict(rows!.c === 0) });
    ctx.result.data = { results, idleLoop, idleProbe, workflows, rows: rows!.c };
  } finally {
    await prober.close();
    await stack.close();
  }
}
