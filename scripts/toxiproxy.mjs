// Finds the Toxiproxy server (the fault proxy of the integration tests and chaos runs), building
// it with Go when missing. Plain Node built-ins only: the bootstrap runs this before npm packages.
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, executable, goInstall } from './temporal-cli.mjs';

export const TOXIPROXY_VERSION = 'v2.12.0';
const suffix = process.platform === 'win32' ? '.exe' : '';
/** Where the built server lives: the same git-ignored cache as the Temporal CLI. */
export const toxiproxyCachePath = join(cacheDir, `toxiproxy-server${suffix}`);

/**
 * In order: TOXIPROXY_SERVER_PATH, the project cache, `go install` (its binary is named `server`,
 * so it is built into a GOBIN of its own and moved into the cache as `toxiproxy-server`).
 * Returns undefined when neither is there and install is false or Go is missing.
 */
export async function resolveToxiproxyServer({ install = true, log = (m) => console.error(m) } = {}) {
  const explicit = process.env.TOXIPROXY_SERVER_PATH;
  if (explicit) {
    if (!executable(explicit)) throw new Error(`TOXIPROXY_SERVER_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  if (executable(toxiproxyCachePath)) return toxiproxyCachePath;
  if (!install) return undefined;
  mkdirSync(cacheDir, { recursive: true });
  // Inside the cache directory, so the final rename stays on one file system.
  const gobin = mkdtempSync(join(cacheDir, '.toxiproxy-build-'));
  try {
    const built = await goInstall({
      pkg: `github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}`,
      what: `the Toxiproxy server ${TOXIPROXY_VERSION}`,
      gobin,
      binary: `server${suffix}`,
      log,
    });
    if (!built) return undefined;
    renameSync(built, toxiproxyCachePath);
    log(`  Toxiproxy server ready: ${toxiproxyCachePath}`);
    return toxiproxyCachePath;
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}
