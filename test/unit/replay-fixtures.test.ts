import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { historyFromJson } from '../support/history-json.js';

// Histories recorded from earlier versions of the code (test/integration/replay.test.ts with
// RECORD_HISTORIES=1) must replay against the current workflow code: a change that would break
// running workflows on deploy fails here first.
const dir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const reorderedWorkflow = fileURLToPath(new URL('../fixtures/workflows/reordered-send-email.ts', import.meta.url));

function loadFixtures() {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  return files.sort().map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: historyFromJson(JSON.parse(readFileSync(join(dir, f), 'utf8'))),
  }));
}

async function replay(options: ReplayWorkerOptions, fixtures: ReturnType<typeof loadFixtures>) {
  const results: { workflowId: string; error?: string }[] = [];
  for await (const r of Worker.runReplayHistories(options, fixtures))
    results.push({ workflowId: r.workflowId, error: r.error ? `${r.error.name}: ${r.error.message}` : undefined });
  return results.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}

beforeAll(() => {
  // A determinism failure is expected below; keep the core's log to real problems.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
});

describe('replay of committed workflow histories', () => {
  it('finds the committed fixtures, one per send path', () => {
    const names = loadFixtures().map((f) => f.workflowId);
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(
      expect.arrayContaining(['ses-ok', 'ses-throttled-then-ok', 'ses-down-smtp-ok', 'ses-rejected-failed']),
    );
  });

  it('replays every fixture against the current workflow code without a determinism error', async () => {
    const fixtures = loadFixtures();
    expect(fixtures.length).toBeGreaterThan(0);
    // The bundle global setup built from the current workflows/ at the start of this run.
    const results = await replay({ workflowBundle: { codePath: inject('workflowBundlePath') } }, fixtures);
    expect(results).toEqual(fixtures.map((f) => ({ workflowId: f.workflowId, error: undefined })));
  });

  it('fails the replay of every fixture against a workflow that reorders its activities', async () => {
    const fixtures = loadFixtures();
    expect(fixtures.length).toBeGreaterThan(0);
    const results = await replay({ workflowsPath: reorderedWorkflow }, fixtures);
    expect(results.map((r) => r.workflowId)).toEqual(fixtures.map((f) => f.workflowId));
    for (const r of results) expect(r.error, r.workflowId).toMatch(/^DeterminismViolationError: /);
  });
});
