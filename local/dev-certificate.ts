// Dev mode's certificate for SMTP submission's STARTTLS: self-signed, for 127.0.0.1 and localhost,
// made once and kept, so a client told to trust it keeps working across restarts.
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { newEcKey, openssl } from './openssl.js';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** The certificate and key in `dir`, made there first if missing. */
export function devCertificate(dir: string): CertificateFiles {
  const files = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
  if (existsSync(files.certFile) && existsSync(files.keyFile)) return files;
  mkdirSync(dir, { recursive: true });
  openssl(dir, [
    ...['req', '-x509', ...newEcKey, '-days', '3650', '-keyout', 'key.pem', '-out', 'cert.pem'],
    ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
  ]);
  chmodSync(files.keyFile, 0o600);
  return files;
}
