// Starts what every integration test shares, once per `npm test`: a Temporal dev server on free
// ports with throwaway state, a fresh Postgres database with the migrations applied, and the
// workflow bundle. Per-file parts (S3, SES, SMTP stand-ins, the worker) live in test/support/harness.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { createDb } from '../db/create-db.js';
import { startTemporalDevServer } from '../local/temporal-dev-server.js';
import { resolveTemporalCli } from '../scripts/temporal-cli.mjs';
import { bundleWorkflows } from '../worker/create-worker.js';
import { freePort } from '../local/free-port.js';

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

  // A database of its own per run: tests never see another run's rows, and it is dropped after.
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const dbName = `mailroom_test_${process.pid}_${Date.now()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const migrated = await createDb({ url: url.toString(), maxConnections: 1 });
  await migrated.migrate();
  await migrated.close();

  project.provide('temporalAddress', temporal.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('databaseUrl', url.toString());
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await temporal.stop();
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  };
}
