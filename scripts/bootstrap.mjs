// Runs before `npm run dev` and `npm test`: installs what a fresh clone lacks. Node built-ins only.
// `--test` (npm test's pretest) also installs the Toxiproxy server the fault-injection tests use,
// Node 22 for the suite's second pass (scripts/test.mjs), Debian's Chromium for the browser
// tests (playwright-core downloads no browser) and, unless MAILROOM_TEST_PRODUCTION=0, the real
// Temporal server and its SQL tool for the production tier. `--production` (npm run
// test:production's pretest) installs only what that tier needs.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveNode22, testPasses } from './node22.mjs';
import { resolveTemporalCli } from './temporal-cli.mjs';
import { productionTier, resolveTemporalServer } from './temporal-server.mjs';
import { resolveToxiproxyServer } from './toxiproxy.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (m) => console.error(`[bootstrap] ${m}`);

// npm writes node_modules/.package-lock.json on every install: older than the lockfile means stale.
// A node_modules that is a symlink (a git worktree sharing another checkout's) is left alone:
// `npm ci` empties the directory it points to before replacing the link.
const modules = join(root, 'node_modules');
const installed = join(modules, '.package-lock.json');
const lock = join(root, 'package-lock.json');
const linked = lstatSync(modules, { throwIfNoEntry: false })?.isSymbolicLink();
if (linked) {
  if (!existsSync(installed)) log('node_modules is a symlink to an incomplete install: not running npm ci through it');
} else if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  log('installing npm packages (npm ci)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

try {
  const cli = await resolveTemporalCli({ log });
  if (cli) log(`Temporal CLI: ${cli}`);
  else log('no Temporal CLI and no Go toolchain: the Temporal SDK will try to download the dev server');
} catch (err) {
  log(err.message);
  process.exit(1);
}

if (process.argv.includes('--test')) {
  try {
    const server = await resolveToxiproxyServer({ log });
    if (!server) throw new Error('no Toxiproxy server and no Go toolchain (set TOXIPROXY_SERVER_PATH or install Go)');
    log(`Toxiproxy server: ${server}`);
    if (testPasses().includes('22')) log(`Node 22: ${resolveNode22({ log })}`);
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
}

if (process.argv.includes('--production') || (process.argv.includes('--test') && productionTier())) {
  try {
    const found = await resolveTemporalServer({ log });
    if (!found) throw new Error('no Temporal server and no Go toolchain (install Go, or set TEMPORAL_SERVER_DIR)');
    log(`Temporal server: ${found.server}`);
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
}

const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
if (process.argv.includes('--test') && !onPath('chromium') && !onPath('chromium-browser')) {
  // As root with apt (CI, a fresh machine): about 2 minutes and a 146 MB download, once.
  if (onPath('apt-get') && process.getuid?.() === 0) {
    log('installing Chromium for the browser tests (apt-get, first time only)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env, stdio: 'inherit' });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
      install();
    }
  }
  if (!onPath('chromium')) log('no Chromium: the browser tests will be skipped (apt-get install chromium)');
}
