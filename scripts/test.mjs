// `npm test`: the whole vitest suite once per Node in MAILROOM_TEST_NODES (see scripts/node22.mjs):
// the machine's Node, then Node 22. Each pass is a separate `vitest run` with its own global setup
// (Temporal dev server on free ports, a database named after its pid), one after the other.
// Arguments go to both passes: `npm test -- test/unit` runs only the unit tests, twice.
// Then, once, on the machine's Node: the production tier (vitest.production.config.ts, the real
// Temporal server on Postgres), unless arguments chose some tests or MAILROOM_TEST_PRODUCTION=0.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE22_VERSION, resolveNode22, testPasses } from './node22.mjs';
import { productionTier } from './temporal-server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const log = (m) => console.error(`[test] ${m}`);

let passes;
try {
  passes = testPasses();
} catch (err) {
  log(err.message);
  process.exit(2);
}

// Ctrl-C reaches vitest directly (same process group); a SIGTERM sent to npm only is passed on.
// Either way no further pass starts.
let child;
let stopped;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopped = signal;
    if (signal === 'SIGTERM') child?.kill(signal);
  });
}

/** One `vitest run` to its end: its exit code (1 when it could not start or was killed). */
async function vitestRun(node, args) {
  child = spawn(node, [vitest, 'run', ...args], { cwd: root, stdio: 'inherit' });
  return new Promise((resolve) => {
    child.on('error', (err) => {
      log(err.message);
      resolve(1);
    });
    child.on('close', (c, s) => resolve(c ?? (s ? 1 : 0)));
  });
}

const results = [];
for (const [i, pass] of passes.entries()) {
  const node = pass === 'current' ? process.execPath : resolveNode22({ install: false });
  if (!node) {
    log(
      `no Node ${NODE22_VERSION} in .cache/node22: run "node scripts/bootstrap.mjs --test" (npm test's pretest) or set MAILROOM_TEST_NODES=current`,
    );
    process.exit(2);
  }
  const version = pass === 'current' ? process.version : `v${NODE22_VERSION}`;
  log(`pass ${i + 1}/${passes.length}: Node ${version} (${node})`);
  const started = Date.now();
  // vitest's forked test workers run on process.execPath, so the whole pass is on this Node.
  const code = await vitestRun(node, process.argv.slice(2));
  results.push({ name: `Node ${version}`, code, seconds: Math.round((Date.now() - started) / 1000) });
  if (stopped) break;
}

if (!stopped && process.argv.length <= 2 && productionTier()) {
  log(
    `production tier: the real Temporal server on Postgres, Node ${process.version} (MAILROOM_TEST_PRODUCTION=0 skips it)`,
  );
  const started = Date.now();
  const code = await vitestRun(process.execPath, ['--config', join(root, 'vitest.production.config.ts')]);
  results.push({ name: 'production tier', code, seconds: Math.round((Date.now() - started) / 1000) });
}

for (const r of results) {
  log(`${r.name}: ${r.code === 0 ? 'passed' : `failed (exit ${r.code})`} in ${r.seconds} s`);
}
if (stopped) process.exit(stopped === 'SIGINT' ? 130 : 143);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
