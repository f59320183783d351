// Starts what every integration test shares, once per `npm test`: a Temporal dev server on free
// ports with throwaway state, a fresh Postgres database with the migrations applied, and the
// workflow bundle. Per-file parts (S3, SES, SMTP stand-ins, the worker) live in test/support/harness.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startTemporalDevServer } from '../local/temporal-dev-server.js';
import { resolveTemporalCli } from '../scripts/temporal-cli.mjs';
import { bundleWorkflows } from '../worker/create-worker.js';
import { freePort } from '../local/free-port.js';
import { createTestDatabase } from './support/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    databaseUrl: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-test-'));
  const cliPath = await resolveTemporalCli();
  if (!cliPath) throw new Error('the Temporal CLI is required for the tests (see README: Temporal CLI)');
  const [temporal, bundle] = await Promise.all([
    startTemporalDevServer({
      cliPath,
      dbFile: join(dir, 'temporal.db'),
      port: await freePort(),
      logFile: join(dir, 'temporal.log'),
    }),
    bundleWorkflows(),
  ]);
  const workflowBundlePath = join(dir, 'workflows.js');
  writeFileSync(workflowBundlePath, bundle.code);

  const db = await createTestDatabase('mailroom_test', { migrate: true });

  project.provide('temporalAddress', temporal.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('databaseUrl', db.url);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await temporal.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  };
}
