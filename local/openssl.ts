// The openssl CLI, for throwaway certificates (Node parses certificates but cannot issue them).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** A CA in `dir` (ca.pem, ca.key) that issueCertificate signs with. */
export function makeCa(dir: string, subject: string, days: number) {
  openssl(dir, [
    ...['req', '-x509', ...newEcKey, '-days', String(days), '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', subject],
    ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  ]);
}

/**
 * `<name>.key` and `<name>.pem` in `dir`: a new key (P-256 unless `newKey` says otherwise) and its
 * certificate for `subject`, signed by makeCa's CA in the same directory, with `extensions`
 * (openssl extension lines: names, key usage) when given.
 */
export function issueCertificate(
  dir: string,
  o: { name: string; subject: string; days: number; extensions?: string[]; newKey?: string[] },
) {
  const { name } = o;
  openssl(dir, ['req', ...(o.newKey ?? newEcKey), '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', o.subject]);
  if (o.extensions) writeFileSync(join(dir, `${name}.ext`), `${o.extensions.join('\n')}\n`);
  openssl(dir, [
    ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
    ...['-days', String(o.days), ...(o.extensions ? ['-extfile', `${name}.ext`] : []), '-out', `${name}.pem`],
  ]);
}
