// Throwaway certificates for the TLS relay tests, made with the openssl CLI (installed with
// ca-certificates wherever these tests run; Node parses certificates but cannot issue them).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, makeCa, newEcKey, openssl } from '../../local/openssl.js';

export interface KeyPair {
  key: string;
  cert: string;
}

export interface TestCertificates {
  /** A private CA's certificate as a PEM file, what an operator points SMTP_TLS_CA_FILE at. */
  caFile: string;
  /** A certificate for 127.0.0.1 and localhost, signed by that CA. */
  server: KeyPair;
  /** A self-signed certificate for the same names, which nothing trusts. */
  selfSigned: KeyPair;
  /** A client certificate (mTLS) signed by the CA, as files an operator points a client at. */
  client: { certFile: string; keyFile: string };
  /** Deletes the files. */
  remove(): void;
}

const serverNames = 'subjectAltName=IP:127.0.0.1,DNS:localhost';

/** A private CA, server and client certificates it signed and a self-signed one, in a fresh temp directory. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-tls-'));
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const pair = (name: string): KeyPair => ({ key: read(`${name}.key`), cert: read(`${name}.pem`) });
  const days = 2;

  makeCa(dir, '/CN=Mailroom Test CA', days);
  issueCertificate(dir, {
    name: 'server',
    subject: '/CN=localhost',
    days,
    extensions: [serverNames, 'basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=serverAuth'],
  });
  issueCertificate(dir, {
    name: 'client',
    subject: '/CN=mailroom-worker',
    days,
    extensions: ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth'],
  });
  openssl(dir, [
    ...['req', '-x509', ...newEcKey, '-days', String(days), '-keyout', 'self.key', '-out', 'self.pem'],
    ...['-subj', '/CN=localhost', '-addext', serverNames],
  ]);
  return {
    caFile: join(dir, 'ca.pem'),
    server: pair('server'),
    selfSigned: pair('self'),
    client: { certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
