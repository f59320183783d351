// Throwaway certificates for the TLS relay tests, made with the openssl CLI (installed with
// ca-certificates wherever these tests run; Node parses certificates but cannot issue them).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newEcKey, openssl } from '../../local/openssl.js';

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

const newKey = newEcKey;
const serverNames = 'subjectAltName=IP:127.0.0.1,DNS:localhost';

/** A private CA, server and client certificates it signed and a self-signed one, in a fresh temp directory. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-tls-'));
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const pair = (name: string): KeyPair => ({ key: read(`${name}.key`), cert: read(`${name}.pem`) });
  const days = ['-days', '2'];

  openssl(dir, [
    ...['req', '-x509', ...newKey, ...days, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Mailroom Test CA'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  ]);
  openssl(dir, ['req', ...newKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(
    join(dir, 'server.ext'),
    `${serverNames}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(dir, [
    ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', ...days],
    ...['-extfile', 'server.ext', '-out', 'server.pem'],
  ]);
  openssl(dir, ['req', ...newKey, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=mailroom-worker']);
  writeFileSync(
    join(dir, 'client.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  openssl(dir, [
    ...['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', ...days],
    ...['-extfile', 'client.ext', '-out', 'client.pem'],
  ]);
  openssl(dir, [
    ...['req', '-x509', ...newKey, ...days, '-keyout', 'self.key', '-out', 'self.pem', '-subj', '/CN=localhost'],
    ...['-addext', serverNames],
  ]);
  return {
    caFile: join(dir, 'ca.pem'),
    server: pair('server'),
    selfSigned: pair('self'),
    client: { certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
