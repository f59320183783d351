// `npm test`: the whole vitest suite once per Node in MAILROOM_TEST_NODES (see scripts/node22.mjs):
// the machine's Node, then Node 22. Each pass is a separate `vitest run` with its own global setup
// (Temporal dev server on free ports, a database named after its pid), one after the other.
// Arguments go to both passes: `npm test -- test/unit` runs only the unit tests, twice.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE22_VERSION, resolveNode22, testPasses } from './node22.mjs';

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
  child = spawn(node, [vitest, 'run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  const code = await new Promise((resolve) => {
    child.on('error', (err) => {
      log(err.message);
      resolve(1);
    });
    child.on('close', (c, s) => resolve(c ?? (s ? 1 : 0)));
  });
  results.push({ version, code, seconds: Math.round((Date.now() - started) / 1000) });
  if (stopped) break;
}

for (const r of results) {
  log(`Node ${r.version}: ${r.code === 0 ? 'passed' : `failed (exit ${r.code})`} in ${r.seconds} s`);
}
if (stopped) process.exit(stopped === 'SIGINT' ? 130 : 143);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
