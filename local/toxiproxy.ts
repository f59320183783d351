// Toxiproxy for tests and benchmarks: a real TCP fault proxy between Mailroom and Postgres, S3,
// SES, SMTP or Temporal. startToxiproxy() runs the server (scripts/toxiproxy.mjs finds or builds
// it) on a free loopback port; each proxy listens on a free port of its own and can be cut,
// restored, or given toxics (latency, timeout, reset_peer, limit_data…).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Toxiproxy, type Proxy, type ToxicDirection, type ToxicType } from 'toxiproxy-node-client';
import { resolveToxiproxyServer } from '../scripts/toxiproxy.mjs';
import { freePort } from './free-port.js';

export interface ToxicOptions {
  /** Defaults to the type plus a counter; pass one to remove or replace the toxic by name. */
  name?: string;
  /** `downstream` (default): upstream → client, e.g. answers; `upstream`: client → upstream, e.g. requests. */
  stream?: ToxicDirection;
  /** Share of connections affected, 0..1 (default 1). */
  toxicity?: number;
}

export interface FaultProxy {
  readonly name: string;
  /** host:port the proxy forwards to. */
  readonly upstream: string;
  /** host:port clients connect to instead of the upstream. */
  readonly listen: string;
  readonly port: number;
  /** `url` with its host and port replaced by this proxy's (postgres://…, http://…, smtp://…). */
  url(url: string): string;
  /** Disables the proxy: open connections are closed and new ones refused (ECONNREFUSED). */
  cut(): Promise<void>;
  /** Enables the proxy again on the same port (toxics are kept; see heal()). */
  restore(): Promise<void>;
  /** Cuts the proxy, and restores it after ms (a timer: the outage is the point). */
  outage(ms: number): Promise<void>;
  addToxic<T extends object>(type: ToxicType, attributes: T, o?: ToxicOptions): Promise<string>;
  /** Delays data by ms (± jitter). Downstream: answers come late. */
  latency(ms: number, o?: ToxicOptions & { jitter?: number }): Promise<string>;
  /** Stops all data; closes the connection after ms (0: holds it open until the toxic is removed). */
  timeout(ms: number, o?: ToxicOptions): Promise<string>;
  /**
   * Resets the connection (TCP RST) ms after the first data in the stream's direction. Downstream
   * with 0: the request reached the upstream, its answer is replaced by a reset.
   */
  resetPeer(ms?: number, o?: ToxicOptions): Promise<string>;
  /** Closes the connection once `bytes` have passed in the stream's direction. */
  limitData(bytes: number, o?: ToxicOptions): Promise<string>;
  removeToxic(name: string): Promise<void>;
  /** Removes every toxic of this proxy. */
  clearToxics(): Promise<void>;
  /** Enabled, no toxics. */
  heal(): Promise<void>;
}

export interface ToxiproxyServer {
  /** The server's HTTP API, http://127.0.0.1:<port>. */
  readonly url: string;
  readonly pid: number;
  /** The toxiproxy-node-client client, for anything the helpers do not cover. */
  readonly client: Toxiproxy;
  /** Creates a proxy to `upstream` (host:port) listening on a free loopback port. */
  createProxy(name: string, upstream: string): Promise<FaultProxy>;
  /** Heals every proxy created here. */
  healAll(): Promise<void>;
  /** Kills the server (every proxy and connection goes with it). */
  stop(): Promise<void>;
}

/** host:port of a URL, with the scheme's default port when it has none. */
export function hostPort(url: string): string {
  const u = new URL(url);
  const defaults: Record<string, string> = { 'postgres:': '5432', 'postgresql:': '5432', 'http:': '80', 'smtp:': '25' };
  const port = u.port || defaults[u.protocol];
  if (!port) throw new Error(`no port in ${url}`);
  return `${u.hostname}:${port}`;
}

export interface StartToxiproxyOptions {
  /** The server's own log (one line per connection); discarded when omitted. */
  logFile?: string;
  /** Build the server with Go when it is missing (default true; `npm test` builds it beforehand). */
  install?: boolean;
}

export async function startToxiproxy(o: StartToxiproxyOptions = {}): Promise<ToxiproxyServer> {
  const binary = await resolveToxiproxyServer({ install: o.install ?? true });
  if (!binary)
    throw new Error('the Toxiproxy server is required (npm test installs it; needs Go or TOXIPROXY_SERVER_PATH)');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ['-host', '127.0.0.1', '-port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: o.logFile ? 'info' : 'error' },
  });
  let tail = '';
  const log = o.logFile ? createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  const onData = (chunk: Buffer) => {
    log?.write(chunk);
    tail = (tail + chunk.toString()).slice(-4_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running()) {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    }
    log?.end();
  };

  const client = new Toxiproxy(url);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (!running()) throw new Error(`toxiproxy-server exited (${child.exitCode ?? child.signalCode}):\n${tail}`);
    try {
      await client.getVersion();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`toxiproxy-server at ${url} did not answer: ${(err as Error).message}\n${tail}`, {
          cause: err,
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const proxies: FaultProxy[] = [];
  return {
    url,
    pid: child.pid!,
    client,
    async createProxy(name, upstream) {
      const listenPort = await freePort();
      const proxy = await client.createProxy({ name, upstream, listen: `127.0.0.1:${listenPort}`, enabled: true });
      const p = faultProxy(proxy, listenPort);
      proxies.push(p);
      return p;
    },
    async healAll() {
      await Promise.all(proxies.map((p) => p.heal()));
    },
    stop,
  };
}

function faultProxy(proxy: Proxy, port: number): FaultProxy {
  const listen = `127.0.0.1:${port}`;
  const base = { name: proxy.name, upstream: proxy.upstream, listen };
  const setEnabled = async (enabled: boolean) => {
    await proxy.update({ ...base, enabled });
  };
  let counter = 0;
  const self: FaultProxy = {
    ...base,
    port,
    url(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      const out = u.toString();
      // URL adds a '/' path to http://host:port; keep the caller's form.
      return u.pathname === '/' && !url.endsWith('/') && out.endsWith('/') ? out.slice(0, -1) : out;
    },
    cut: () => setEnabled(false),
    restore: () => setEnabled(true),
    async outage(ms) {
      await self.cut();
      await new Promise((r) => setTimeout(r, ms));
      await self.restore();
    },
    async addToxic(type, attributes, o = {}) {
      const name = o.name ?? `${type}_${++counter}`;
      await proxy.addToxic({
        name,
        type,
        stream: o.stream ?? 'downstream',
        toxicity: o.toxicity ?? 1,
        attributes,
      });
      return name;
    },
    latency: (ms, o = {}) => self.addToxic('latency', { latency: ms, jitter: o.jitter ?? 0 }, o),
    timeout: (ms, o) => self.addToxic('timeout', { timeout: ms }, o),
    resetPeer: (ms = 0, o) => self.addToxic('reset_peer', { timeout: ms }, o),
    limitData: (bytes, o) => self.addToxic('limit_data', { bytes }, o),
    async removeToxic(name) {
      await proxy.api.delete(`${proxy.getPath()}/toxics/${name}`);
    },
    async clearToxics() {
      const { data } = await proxy.api.get<{ name: string }[]>(`${proxy.getPath()}/toxics`);
      await Promise.all(data.map((t) => self.removeToxic(t.name)));
    },
    async heal() {
      await self.restore();
      await self.clearToxics();
    },
  };
  return self;
}
