// Finds the `temporal` CLI (the dev server Mailroom runs on), building it with Go when missing.
// Plain Node built-ins only: the bootstrap runs this before any npm package is installed.
// `executable`, `onPath` and `goInstall` are shared with scripts/toxiproxy.mjs.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const root = fileURLToPath(new URL('..', import.meta.url));
/** Git-ignored project cache; `go install` puts the binary here. */
export const cacheDir = join(root, '.cache', 'bin');
const exe = process.platform === 'win32' ? 'temporal.exe' : 'temporal';

export function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * `go install -v <pkg>` with GOBIN=gobin, printing progress every 15 s. Resolves the path of the
 * built binary `gobin/<binary>`, or undefined when there is no Go toolchain; rejects when the
 * build fails.
 */
export function goInstall({ pkg, what, gobin, binary, log }) {
  const go = onPath(process.platform === 'win32' ? 'go.exe' : 'go');
  if (!go) return Promise.resolve(undefined);
  log(`Building ${what} with Go into ${gobin} (first time only; takes a few minutes)…`);
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['install', '-v', pkg], {
      env: { ...process.env, GOBIN: gobin },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let lines = 0;
    let tail = '';
    const started = Date.now();
    const seconds = () => Math.round((Date.now() - started) / 1000);
    const progress = setInterval(() => log(`  go install: ${lines} packages built, ${seconds()} s`), 15_000);
    child.stderr.on('data', (chunk) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      lines += text.split('\n').length - 1;
    });
    child.on('close', () => clearInterval(progress));
    child.on('error', reject);
    child.on('close', (code) => {
      const built = join(gobin, binary);
      if (code === 0 && executable(built)) {
        log(`  ${what} built: ${built} (${seconds()} s)`);
        resolve(built);
      } else reject(new Error(`go install of ${what} failed (exit ${code}):\n${tail}`));
    });
  });
}

/**
 * In order: TEMPORAL_CLI_PATH, `temporal` on PATH, the project cache, `go install` into the cache.
 * Returns undefined when none works; callers then fall back to the SDK's own download.
 */
export async function resolveTemporalCli({ install = true, log = (m) => console.error(m) } = {}) {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!executable(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  const found = onPath(exe);
  if (found) return found;
  const cached = join(cacheDir, exe);
  if (existsSync(cached) && executable(cached)) return cached;
  if (!install) return undefined;
  return goInstall({
    pkg: `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`,
    what: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
    gobin: cacheDir,
    binary: exe,
    log,
  });
}
