// Temporal clusters beyond the dev server: TLS with a private CA, client certificates (mTLS) and
// API keys, configured with TEMPORAL_TLS_* / TEMPORAL_API_KEY. The cluster here is the dev server
// behind a real TLS front that demands all three (test/support/grpc-tls-proxy.ts).
import { readFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config/config.js';
import { temporalConnectionOptions } from '../../temporal/connection.js';
import { startGrpcTlsProxy, type GrpcTlsProxy } from '../support/grpc-tls-proxy.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls-certs.js';

const API_KEY = 'temporal-cloud-style-key';
let certs: TestCertificates;
let proxy: GrpcTlsProxy;
let h: Harness;
let tlsEnv: Record<string, string>;

beforeAll(async () => {
  certs = makeTestCertificates();
  proxy = await startGrpcTlsProxy({
    upstream: inject('temporalAddress'),
    ...certs.server,
    ca: readFileSync(certs.caFile, 'utf8'),
    apiKey: API_KEY,
  });
  tlsEnv = {
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_CA_FILE: certs.caFile,
    TEMPORAL_TLS_CERT_FILE: certs.client.certFile,
    TEMPORAL_TLS_KEY_FILE: certs.client.keyFile,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_API_KEY: API_KEY,
  };
  // The harness's API client and worker connect with temporalConnectionOptions, as the API and
  // worker processes do.
  h = await startHarness({ env: tlsEnv });
});
afterAll(async () => {
  await h?.close();
  await proxy?.close();
  certs?.remove();
});

const options = (env: Record<string, string | undefined>) =>
  temporalConnectionOptions(loadConfig({ ...tlsEnv, ...env }));

describe('Temporal behind TLS, mTLS and an API key', () => {
  it('accepts and delivers a send with every Temporal call made over the authenticated connection', async () => {
    const relayedBefore = proxy.relayed;
    const res = await h.send(validEmail({ subject: 'over mTLS' }));
    expect(res.status).toBe(202);
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });
    expect((await h.status(res.body.id)).status).toBe('sent');
    expect(proxy.relayed).toBeGreaterThan(relayedBefore);
    expect(proxy.refused).toBe(0);
  });

  it('cannot connect without the client certificate', async () => {
    const noCert = options({ TEMPORAL_TLS_CERT_FILE: undefined, TEMPORAL_TLS_KEY_FILE: undefined });
    expect(noCert.tls).toMatchObject({ serverNameOverride: 'localhost' });
    await expect(Connection.connect({ ...noCert, connectTimeout: 5_000 })).rejects.toThrow();
    await expect(NativeConnection.connect(noCert)).rejects.toThrow();
  });

  it('cannot connect without trusting the cluster CA', async () => {
    await expect(
      Connection.connect({ ...options({ TEMPORAL_TLS_CA_FILE: undefined }), connectTimeout: 5_000 }),
    ).rejects.toThrow();
  });

  it('is refused with a wrong API key, and never sends a key without TLS', async () => {
    const refusedBefore = proxy.refused;
    await expect(
      Connection.connect({ ...options({ TEMPORAL_API_KEY: 'wrong' }), connectTimeout: 5_000 }),
    ).rejects.toThrow();
    // The cluster saw the wrong key and refused it (UNAUTHENTICATED).
    expect(proxy.refused).toBeGreaterThan(refusedBefore);

    const plain = temporalConnectionOptions(
      loadConfig({ TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_API_KEY: 'k', PAYLOAD_PLAINTEXT: 'true' }),
    );
    expect(plain).toMatchObject({ tls: true, apiKey: 'k' });
  });

  it('refuses a client certificate without its key at start', () => {
    expect(() => loadConfig({ ...tlsEnv, TEMPORAL_TLS_KEY_FILE: undefined })).toThrow(/TEMPORAL_TLS_KEY_FILE/);
  });
});
