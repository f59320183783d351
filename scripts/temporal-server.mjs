// Finds the real Temporal server and its SQL schema tool (the production-topology tests run them
// on Postgres), building both with Go when missing. Plain Node built-ins only: the bootstrap runs
// this before npm packages.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, executable, goInstall, onPath } from './temporal-cli.mjs';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const suffix = process.platform === 'win32' ? '.exe' : '';
/**
 * One directory per version: `server` and `sql` (the names `go install` gives them; Toxiproxy's
 * binary is also `server`, so they get a GOBIN of their own) and `schema/postgresql/v12`, copied
 * from the module source so the cache works after Go's module cache is cleaned.
 */
export const temporalServerDir = join(cacheDir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);

function complete(dir) {
  return (
    executable(join(dir, `server${suffix}`)) &&
    executable(join(dir, `sql${suffix}`)) &&
    existsSync(join(dir, 'schema', 'postgresql', 'v12', 'temporal', 'versioned')) &&
    existsSync(join(dir, 'schema', 'postgresql', 'v12', 'visibility', 'versioned'))
  );
}

const layout = (dir) => ({
  server: join(dir, `server${suffix}`),
  sqlTool: join(dir, `sql${suffix}`),
  schemaDir: join(dir, 'schema', 'postgresql', 'v12'),
});

/**
 * `{ server, sqlTool, schemaDir }`: TEMPORAL_SERVER_DIR (a directory laid out like the cache), the
 * project cache, or `go install` of both into the cache (some 4 minutes cold, once). Undefined
 * when neither is there and install is false or Go is missing.
 */
export async function resolveTemporalServer({ install = true, log = (m) => console.error(m) } = {}) {
  const explicit = process.env.TEMPORAL_SERVER_DIR;
  if (explicit) {
    if (!complete(explicit))
      throw new Error(
        `TEMPORAL_SERVER_DIR=${explicit} lacks server, sql or schema/postgresql/v12/{temporal,visibility}`,
      );
    return layout(explicit);
  }
  if (complete(temporalServerDir)) return layout(temporalServerDir);
  if (!install) return undefined;
  mkdirSync(cacheDir, { recursive: true });
  // Built aside and renamed into place: an interrupted build never looks complete.
  const staging = mkdtempSync(join(cacheDir, '.temporal-server-build-'));
  try {
    for (const [pkg, binary] of [
      ['go.temporal.io/server/cmd/server', 'server'],
      ['go.temporal.io/server/cmd/tools/sql', 'sql'],
    ]) {
      const built = await goInstall({
        pkg: `${pkg}@${TEMPORAL_SERVER_VERSION}`,
        what: `the Temporal ${binary === 'sql' ? 'SQL schema tool' : 'server'} ${TEMPORAL_SERVER_VERSION}`,
        gobin: staging,
        binary: `${binary}${suffix}`,
        log,
      });
      if (!built) return undefined;
    }
    cpSync(join(moduleSource(), 'schema', 'postgresql', 'v12'), join(staging, 'schema', 'postgresql', 'v12'), {
      recursive: true,
    });
    chmodSync(staging, 0o755);
    rmSync(temporalServerDir, { recursive: true, force: true });
    renameSync(staging, temporalServerDir);
    log(`  Temporal server ready: ${temporalServerDir}`);
    return layout(temporalServerDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** go.temporal.io/server's source in Go's module cache, where `go install pkg@version` left it. */
function moduleSource() {
  const go = onPath(`go${suffix}`);
  const r = spawnSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`go env GOMODCACHE failed: ${r.stderr}`);
  return join(r.stdout.trim(), 'go.temporal.io', `server@${TEMPORAL_SERVER_VERSION}`);
}

/**
 * Whether `npm test` ends with the production tier (`npm run test:production`) and its bootstrap
 * builds the server: yes unless MAILROOM_TEST_PRODUCTION=0.
 */
export function productionTier() {
  return process.env.MAILROOM_TEST_PRODUCTION !== '0';
}
