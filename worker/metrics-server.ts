// The worker's metrics port: Mailroom's own metrics (provider calls, outcomes, process) and the
// Temporal SDK's (task slots, poll and schedule-to-start latencies, sticky cache…) on one scrape.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { collectProcessMetrics, register } from '../metrics/metrics.js';

export interface WorkerMetrics {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on `port` (0: any free one). `temporalMetricsUrl` is the Temporal Runtime's
 * own Prometheus exporter, on loopback, appended to each scrape. A port that cannot be bound is
 * logged, not fatal: the worker's job is sending mail.
 */
export function serveWorkerMetrics(o: {
  port: number;
  temporalMetricsUrl: string;
  logger: Pick<Logger, 'error'>;
}): Promise<WorkerMetrics | undefined> {
  collectProcessMetrics();
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void scrape(o.temporalMetricsUrl).then(
      (text) => res.writeHead(200, { 'content-type': register.contentType }).end(text),
      () => res.writeHead(503).end('# metrics unavailable\n'),
    );
  });
  return new Promise((resolve) => {
    server.once('error', (err) => {
      o.logger.error({ port: o.port, error: err.message }, 'worker metrics port unavailable; metrics are off');
      resolve(undefined);
    });
    server.listen(o.port, '0.0.0.0', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    );
  });
}

async function scrape(temporalMetricsUrl: string): Promise<string> {
  const ours = await register.metrics();
  const sdk = await fetch(temporalMetricsUrl, { signal: AbortSignal.timeout(2_000) })
    .then((r) => (r.ok ? r.text() : `# Temporal SDK metrics: HTTP ${r.status}\n`))
    .catch((err: Error) => `# Temporal SDK metrics unavailable: ${err.message}\n`);
  return `${ours}\n${sdk}`;
}
