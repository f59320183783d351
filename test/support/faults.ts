// Fault injection for an integration test file: Toxiproxy between Mailroom and Postgres, the S3
// stand-in and the SES stand-in. Pass `faults.proxy` to startHarness and cut or poison the
// dependencies through `faults.postgres`, `faults.s3`, `faults.ses`:
//
//   const faults = await startFaults();
//   const h = await startHarness({ proxy: faults.proxy });
//   await faults.postgres.cut(); … await faults.postgres.restore();
//   await faults.ses.resetPeer(0); … await faults.healAll();
//   afterAll: await h.close(); await faults.close();
import { hostPort, startToxiproxy, type FaultProxy, type ToxiproxyServer } from '../../local/toxiproxy.js';
import type { Endpoints } from './harness.js';

export interface Faults {
  readonly toxiproxy: ToxiproxyServer;
  /** The harness hook: creates the proxies and hands back the endpoints that go through them. */
  proxy(upstreams: Endpoints): Promise<Endpoints>;
  /** Postgres (the test database's host:port); available once proxy() ran. */
  readonly postgres: FaultProxy;
  /** The S3 stand-in. */
  readonly s3: FaultProxy;
  /** The SES v2 stand-in. */
  readonly ses: FaultProxy;
  /** Every proxy enabled again, no toxics: call between tests that inject faults. */
  healAll(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaults(): Promise<Faults> {
  // `npm test` installs the server beforehand (pretest); no build in the middle of a test run.
  const toxiproxy = await startToxiproxy({ install: false });
  let proxies: { postgres: FaultProxy; s3: FaultProxy; ses: FaultProxy } | undefined;
  const get = (name: keyof NonNullable<typeof proxies>) => {
    if (!proxies) throw new Error(`faults.${name}: pass faults.proxy to startHarness first`);
    return proxies[name];
  };
  return {
    toxiproxy,
    async proxy(upstreams) {
      if (proxies) throw new Error('faults.proxy: one harness per Faults');
      const [postgres, s3, ses] = await Promise.all([
        toxiproxy.createProxy('postgres', hostPort(upstreams.databaseUrl)),
        toxiproxy.createProxy('s3', hostPort(upstreams.s3Endpoint)),
        toxiproxy.createProxy('ses', hostPort(upstreams.sesEndpoint)),
      ]);
      proxies = { postgres, s3, ses };
      return {
        databaseUrl: postgres.url(upstreams.databaseUrl),
        s3Endpoint: s3.url(upstreams.s3Endpoint),
        sesEndpoint: ses.url(upstreams.sesEndpoint),
      };
    },
    get postgres() {
      return get('postgres');
    },
    get s3() {
      return get('s3');
    },
    get ses() {
      return get('ses');
    },
    healAll: () => toxiproxy.healAll(),
    close: () => toxiproxy.stop(),
  };
}
