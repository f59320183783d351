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

/** Silence this long from `go install` (no download, no package built) means a hung connection. */
const STALL_MS = 4 * 60_000;
const ATTEMPTS = 3;

/**
 * `go install -v <pkg>` with GOBIN=gobin, printing progress every 15 s. Resolves the path of the
 * built binary `gobin/<binary>`, or undefined when there is no Go toolchain; rejects when the
 * build fails. A download that hangs (go has no timeout of its own) is killed after STALL_MS of
 * silence and the install started again; what it had fetched stays in Go's module cache.
 */
export async function goInstall({ pkg, what, gobin, binary, log }) {
  const go = onPath(process.platform === 'win32' ? 'go.exe' : 'go');
  if (!go) return undefined;
  log(`Building ${what} with Go into ${gobin} (first time only; takes a few minutes)…`);
  for (let attempt = 1; ; attempt++) {
    const result = await goInstallOnce({ go, pkg, what, gobin, binary, log });
    if (!result.stalled) return result.built;
    if (attempt === ATTEMPTS) throw new Error(`go install of ${what} stalled ${ATTEMPTS} times`);
    log(`  go install stalled (no output for ${STALL_MS / 60_000} min): starting it again`);
  }
}

function goInstallOnce({ go, pkg, what, gobin, binary, log }) {
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['install', '-v', pkg], {
      env: { ...process.env, GOBIN: gobin },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let lines = 0;
    let tail = '';
    let stalled = false;
    const started = Date.now();
    let heard = started;
    const seconds = () => Math.round((Date.now() - started) / 1000);
    const progress = setInterval(() => {
      log(`  go install: ${lines} packages built, ${seconds()} s`);
      if (Date.now() - heard > STALL_MS) {
        stalled = true;
        child.kill('SIGKILL');
      }
    }, 15_000);
    child.stderr.on('data', (chunk) => {
      const text = chunk.toString();
      heard = Date.now();
      tail = (tail + text).slice(-4000);
      lines += text.split('\n').length - 1;
    });
    child.on('error', (err) => {
      clearInterval(progress);
      reject(err);
    });
    // Killed for its silence: done when it exits, not when its pipe closes (a child it started
    // may still hold the pipe).
    child.on('exit', () => {
      if (!stalled) return;
      clearInterval(progress);
      resolve({ stalled: true });
    });
    child.on('close', (code) => {
      if (stalled) return;
      clearInterval(progress);
      const built = join(gobin, binary);
      if (code === 0 && executable(built)) {
        log(`  ${what} built: ${built} (${seconds()} s)`);
        resolve({ built });
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
