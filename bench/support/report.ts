// Tables, machine facts and the JSON/Markdown outputs shared by `npm run bench` and `npm run chaos`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';
import { root } from './processes.js';

export type Verdict = 'PASS' | 'MISS' | 'INFO' | 'FAIL';

export interface Row {
  metric: string;
  value: number | string;
  unit?: string;
  baseline?: number | string;
  /** value / baseline (or as the case defines it). */
  ratio?: number;
  target?: string;
  verdict?: Verdict;
}

export interface CaseResult {
  id: string;
  title: string;
  rows: Row[];
  notes: string[];
  seconds: number;
  error?: string;
  data?: Record<string, unknown>;
}

export interface Facts {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  temporalCli: string;
  postgres: string;
  mode: string;
}

export async function machineFacts(mode: string, postgresVersion: string): Promise<Facts> {
  const cli = await resolveTemporalCli({ install: false });
  let temporalCli = 'unknown';
  try {
    temporalCli = cli ? execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim() : 'not found';
  } catch {
    // a CLI that cannot say its version is reported as unknown
  }
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    temporalCli,
    postgres: postgresVersion,
    mode,
  };
}

export const round = (n: number, digits = 2) => {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

const fmt = (v: unknown) =>
  v === undefined ? '' : typeof v === 'number' ? String(round(v, Math.abs(v) >= 100 ? 0 : 2)) : String(v);

export function tableLines(rows: Row[]): string[] {
  const head = ['metric', 'value', 'baseline', 'ratio', 'target', 'verdict'];
  const cells = rows.map((r) => [
    r.metric,
    `${fmt(r.value)}${r.unit ? ` ${r.unit}` : ''}`,
    fmt(r.baseline),
    r.ratio === undefined ? '' : `${fmt(r.ratio)}×`,
    r.target ?? '',
    r.verdict ?? '',
  ]);
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...cells.map((c) => `| ${c.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`),
  ];
}

export function printCase(c: CaseResult) {
  console.log(`\n## ${c.id} — ${c.title} (${round(c.seconds, 1)} s)`);
  if (c.error) console.log(`ERROR: ${c.error}`);
  console.log(tableLines(c.rows).join('\n'));
  for (const n of c.notes) console.log(`- ${n}`);
}

export function markdown(name: string, facts: Facts, cases: CaseResult[]): string {
  const lines = [
    `# ${name} — ${facts.date}`,
    '',
    `Machine: ${facts.cores} cores (${facts.cpuModel}), ${facts.memoryGb} GB; Node ${facts.node}; ${facts.temporalCli}; ${facts.postgres}; mode: ${facts.mode}.`,
  ];
  for (const c of cases) {
    lines.push('', `## ${c.id} — ${c.title} (${round(c.seconds, 1)} s)`, '');
    if (c.error) lines.push(`**Error:** ${c.error}`, '');
    lines.push(...tableLines(c.rows));
    if (c.notes.length) lines.push('', ...c.notes.map((n) => `- ${n}`));
  }
  return lines.join('\n') + '\n';
}

export function writeOutputs(name: string, facts: Facts, cases: CaseResult[]) {
  const dir = join(root, 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  const stamp = facts.date.replace(/[:.]/g, '-');
  const json = join(dir, `${name}-${stamp}.json`);
  const md = join(dir, `${name}-${stamp}.md`);
  writeFileSync(json, JSON.stringify({ facts, cases }, null, 2));
  writeFileSync(md, markdown(name, facts, cases));
  return { json, md };
}

export function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'MISS';
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs the selected cases in order, each bounded in time, and collects their results. */
export async function runCases(
  name: string,
  all: { id: string; title: string; full?: boolean; run: (ctx: CaseContext) => Promise<void> }[],
  argv: string[],
  postgresVersion: () => Promise<string>,
) {
  const full = argv.includes('--full');
  const quick = argv.includes('--quick');
  const wanted = argv.filter((a) => !a.startsWith('--')).map((a) => a.toUpperCase());
  const selected = all.filter((c) => (wanted.length ? wanted.includes(c.id.toUpperCase()) : !c.full || full));
  const facts = await machineFacts(full ? 'full' : quick ? 'quick' : 'default', await postgresVersion());
  console.log(
    `${name}: ${selected.map((c) => c.id).join(', ')} — ${facts.cores} cores, Node ${facts.node}, ${facts.temporalCli}`,
  );
  const results: CaseResult[] = [];
  for (const c of selected) {
    const result: CaseResult = { id: c.id, title: c.title, rows: [], notes: [], seconds: 0 };
    const started = Date.now();
    try {
      await c.run({ full, quick, result, row: (r) => result.rows.push(r), note: (n) => result.notes.push(n) });
    } catch (err) {
      result.error = (err as Error).stack ?? String(err);
    }
    result.seconds = (Date.now() - started) / 1000;
    printCase(result);
    results.push(result);
    writeOutputs(name, facts, results);
  }
  const out = writeOutputs(name, facts, results);
  console.log(`\nwrote ${out.json}\n      ${out.md}`);
  return results;
}

export interface CaseContext {
  full: boolean;
  quick: boolean;
  result: CaseResult;
  row(r: Row): void;
  note(n: string): void;
}

/** Rejects after ms: every case is bounded in time. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
    }),
  ]);
}
