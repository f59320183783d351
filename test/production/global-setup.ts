// The production tier's one-time setup (`npm run test:production`): the real Temporal server and
// its SQL tool (built with Go on first use), Mailroom compiled as the Dockerfile compiles it
// (`npm run build` → dist/), Mailroom's database migrated, and Temporal's two databases created and
// migrated by the SQL tool. The server itself is started by the test file, which also restarts it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import {
  temporalDatabases,
  temporalServerSpec,
  type TemporalDatabases,
  type TemporalServerSpec,
} from '../../local/temporal-server.js';
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';
import { resolveTemporalServer } from '../../scripts/temporal-server.mjs';
import { adminUrl, createTestDatabase } from '../support/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalServer: TemporalServerSpec;
  }
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-production-'));
  const log = (m: string) => console.error(`[production] ${m}`);
  const [binaries, cli] = [await resolveTemporalServer({ log }), await resolveTemporalCli({ log })];
  if (!binaries) throw new Error('the Temporal server needs Go to build (see README: Tests), or TEMPORAL_SERVER_DIR');
  if (!cli) throw new Error('the Temporal CLI is required (see README: The Temporal CLI)');

  // `npm run build`, without npm: the code under test is what the image would run.
  const built = Date.now();
  await run(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: root });
  log(`built dist/ in ${((Date.now() - built) / 1000).toFixed(0)} s`);

  const db = await createTestDatabase('mailroom_production', { migrate: true });
  let temporalDb: TemporalDatabases;
  try {
    temporalDb = await temporalDatabases({
      sqlTool: binaries.sqlTool,
      schemaDir: binaries.schemaDir,
      adminUrl,
      prefix: 'temporal',
    });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const spec = await temporalServerSpec({
    ...temporalDb,
    server: binaries.server,
    logFile: join(dir, 'temporal-server.log'),
  });

  project.provide('temporalServer', spec);
  project.provide('temporalAddress', spec.address);
  project.provide('temporalCliPath', cli);
  project.provide('databaseUrl', db.url);
  project.provide('workflowBundlePath', join(root, 'dist', 'workflow-bundle.js'));

  return async () => {
    await Promise.all([temporalDb.drop(), db.drop()]);
    rmSync(dir, { recursive: true, force: true });
  };
}
