import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { historyFromJson } from '../support/history-json.js';
import { replay } from '../support/replay.js';

// Histories recorded from earlier versions of the code (test/integration/replay.test.ts and
// test/integration/bulk-replay.test.ts with RECORD_HISTORIES=1) must replay against the current
// workflow code: a change that would break running workflows on deploy fails here first.
const dir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
// Per workflow type, a deliberately reordered version of it: proof the replay check can fail.
const reorderedWorkflows: Record<string, string> = {
  sendEmail: fileURLToPath(new URL('../fixtures/workflows/reordered-send-email.ts', import.meta.url)),
  bulkSend: fileURLToPath(new URL('../fixtures/workflows/reordered-bulk-send.ts', import.meta.url)),
};

function loadFixtures() {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  return files.sort().map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: historyFromJson(JSON.parse(readFileSync(join(dir, f), 'utf8'))),
  }));
}

type Fixture = ReturnType<typeof loadFixtures>[number];
/** The workflow type a history belongs to, from its first event (the run's start). */
const workflowTypeOf = (f: Fixture) =>
  f.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;

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

  it('finds the committed bulk fixtures, one per bulk control path and both ends of a continue-as-new', () => {
    const names = loadFixtures().map((f) => f.workflowId);
    expect(names).toEqual(
      expect.arrayContaining([
        'bulk-completed',
        'bulk-paused-resumed',
        'bulk-cancelled',
        'bulk-continued-as-new-first-run',
        'bulk-continued-as-new-final-run',
        'bulk-deferred-retry',
      ]),
    );
  });

  it('has a reordered counterpart for the workflow type of every fixture', () => {
    // A fixture of a new workflow type would otherwise escape the negative test below unnoticed.
    for (const f of loadFixtures()) expect(Object.keys(reorderedWorkflows), f.workflowId).toContain(workflowTypeOf(f));
  });

  it('replays every fixture against the current workflow code without a determinism error', async () => {
    const fixtures = loadFixtures();
    expect(fixtures.length).toBeGreaterThan(0);
    // The bundle global setup built from the current workflows/ at the start of this run.
    const results = await replay({ workflowBundle: { codePath: inject('workflowBundlePath') } }, fixtures);
    expect(results).toEqual(fixtures.map((f) => ({ workflowId: f.workflowId, error: undefined })));
  });

  it.each(Object.entries(reorderedWorkflows))(
    'fails the replay of every %s fixture against a workflow that reorders its activities',
    async (workflowType, reorderedWorkflow) => {
      const fixtures = loadFixtures().filter((f) => workflowTypeOf(f) === workflowType);
      expect(fixtures.length).toBeGreaterThan(0);
      const results = await replay({ workflowsPath: reorderedWorkflow }, fixtures);
      expect(results.map((r) => r.workflowId)).toEqual(fixtures.map((f) => f.workflowId));
      for (const r of results) expect(r.error, r.workflowId).toMatch(/^DeterminismViolationError: /);
    },
  );
});
