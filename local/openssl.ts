// The openssl CLI, for throwaway certificates (Node parses certificates but cannot issue them).
import { execFileSync } from 'node:child_process';

/** P-256 keys: made in milliseconds, where RSA keys take seconds on a busy machine. */
export const newEcKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function openssl(cwd: string, args: string[]) {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed (local certificates need the openssl CLI): ${stderr || String(err)}`, {
      cause: err,
    });
  }
}
