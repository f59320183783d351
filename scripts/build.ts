// `npm run build`: what production runs. Compiles the API, the worker and the migration script to
// dist/ (plain `node`, no tsx at run time), copies the SQL migrations next to them, and writes the
// worker's pre-built workflow bundle, dist/workflow-bundle.js (WORKFLOW_BUNDLE_PATH; the compiled
// worker uses it by default), so the worker never runs webpack at start.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflows } from '../worker/create-worker.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const started = Date.now();

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
cpSync(join(root, 'db', 'migrations'), join(dist, 'db', 'migrations'), { recursive: true });
const bundle = await bundleWorkflows();
writeFileSync(join(dist, 'workflow-bundle.js'), bundle.code);
console.log(
  `built dist/ (workflow bundle ${(bundle.code.length / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
