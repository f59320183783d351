// The Grafana dashboard and the alerting guide in deploy/ name metrics the code serves: a renamed
// or removed metric fails here instead of leaving an empty panel or an alert that never fires.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const dashboardText = read('deploy/grafana-dashboard.json');
const alerting = read('deploy/alerting.md');

/** Files under `dir` whose name ends with one of `exts`, skipping dependencies, builds and tests. */
function files(dir: string, exts: string[]): string[] {
  const skip = new Set(['node_modules', 'dist', 'test', 'target']);
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || skip.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path, exts);
    return exts.some((x) => e.name.endsWith(x)) ? [path] : [];
  });
}

const histogramSeries = ['_bucket', '_sum', '_count'];

/** Every `mailroom_*` series the code defines: `name: 'mailroom_…'`, plus a histogram's series. */
function mailroomSeries(): Set<string> {
  const names = new Set<string>();
  for (const file of files(root, ['.ts', '.mts', '.js', '.mjs'])) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/name: '(mailroom_[a-z0-9_]+)'/g)) names.add(m[1]!);
    for (const m of text.matchAll(/new Histogram(?:<[^>]*>)?\(\{\s*name: '(mailroom_[a-z0-9_]+)'/g))
      for (const s of histogramSeries) names.add(`${m[1]!}${s}`);
  }
  return names;
}

const referenced = (text: string, prefix: RegExp) => new Set([...text.matchAll(prefix)].map((m) => m[0]));

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

describe('deploy/grafana-dashboard.json and deploy/alerting.md', () => {
  it('reference only mailroom_* metrics the code defines', () => {
    const defined = mailroomSeries();
    // The scan found the definitions (metrics/metrics.ts, api/routes/health.ts, api/event-loop-delay.ts).
    for (const name of [
      'mailroom_sends_accepted_total',
      'mailroom_provider_call_duration_seconds_bucket',
      'mailroom_oldest_waiting_seconds',
      'mailroom_event_loop_delay_seconds',
    ])
      expect(defined, name).toContain(name);
    for (const [file, text] of [
      ['grafana-dashboard.json', dashboardText],
      ['alerting.md', alerting],
    ] as const) {
      const used = referenced(text, /\bmailroom_[a-z0-9_]+/g);
      expect(used.size, file).toBeGreaterThan(5);
      expect(
        [...used].filter((n) => !defined.has(n)),
        `${file} names metrics the code does not define`,
      ).toEqual([]);
    }
  });

  // The Temporal SDK's metric names, from the Core SDK's Rust source that @temporalio/core-bridge
  // ships: counters get `_total` (countersTotalSuffix), histograms no unit suffix (unitSuffix off).
  const sdkCore = join(root, 'node_modules/@temporalio/core-bridge/sdk-core');
  it.skipIf(!existsSync(sdkCore))('reference only temporal_* metrics the installed SDK emits', () => {
    const bases = new Set<string>();
    for (const file of files(sdkCore, ['.rs']).filter((f) => relative(sdkCore, f).includes('telemetry')))
      for (const m of readFileSync(file, 'utf8').matchAll(/"([a-z][a-z0-9_]+)"/g)) bases.add(m[1]!);
    const known = (name: string) =>
      ['', '_total', ...histogramSeries].some(
        (s) => name.endsWith(s) && bases.has(name.slice(9, name.length - s.length)),
      );
    expect(known('temporal_workflow_completed_total')).toBe(true);
    for (const text of [dashboardText, alerting]) {
      const used = [...referenced(text, /\btemporal_[a-z0-9_]+/g)];
      expect(used.filter((n) => !known(n))).toEqual([]);
    }
  });

  it("reference only Node process metrics prom-client's defaults define", () => {
    const defined = new Set<string>();
    for (const file of files(join(root, 'node_modules/prom-client/lib/metrics'), ['.js']))
      for (const m of readFileSync(file, 'utf8').matchAll(/'((?:process|nodejs)_[a-z0-9_]+)'/g)) defined.add(m[1]!);
    expect(defined).toContain('process_resident_memory_bytes');
    for (const text of [dashboardText, alerting]) {
      const used = [...referenced(text, /\b(?:process|nodejs)_[a-z0-9_]+/g)];
      expect(used.filter((n) => !defined.has(n))).toEqual([]);
    }
  });

  it('is a dashboard whose every panel queries the ${datasource} Prometheus variable', () => {
    const dashboard = JSON.parse(dashboardText) as {
      schemaVersion: number;
      templating: { list: { name: string; type: string; query: unknown }[] };
      panels: Panel[];
    };
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const queried = panels.filter((p) => p.type !== 'row');
    expect(queried.length).toBeGreaterThan(10);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    // Panels Grafana ships with: no plugin to install.
    const core = ['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'state-timeline', 'heatmap', 'text'];
    for (const p of queried) {
      expect(core, p.title).toContain(p.type);
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.expr?.trim(), p.title).toBeTruthy();
        expect(t.datasource?.uid ?? '${datasource}', p.title).toBe('${datasource}');
      }
    }
  });

  it('links only to README sections that exist', () => {
    // GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen.
    const anchors = new Set(
      [...read('README.md').matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, '')
          .replace(/\s/g, '-'),
      ),
    );
    const links = [...alerting.matchAll(/\]\(\.\.\/README\.md#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((a) => !anchors.has(a))).toEqual([]);
  });
});
