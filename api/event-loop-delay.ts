import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * `mailroom_event_loop_delay_seconds{stat}`: how long the API's event loop was held since the
 * previous scrape — every request waits behind a synchronous parse, so its max is the worst
 * delay any one request imposed on the others. The first scrape starts the measurement.
 */
export function registerEventLoopDelay(registry: Registry) {
  let histogram: IntervalHistogram | undefined;
  const gauge = new Gauge({
    name: 'mailroom_event_loop_delay_seconds',
    help: 'Event-loop delay of the API process since the previous scrape (stat: max, p99, mean).',
    labelNames: ['stat'] as const,
    registers: [registry],
    collect() {
      if (!histogram) {
        histogram = monitorEventLoopDelay({ resolution: 10 });
        histogram.enable();
      }
      const seen = histogram.count > 0;
      gauge.set({ stat: 'max' }, seen ? histogram.max / 1e9 : 0);
      gauge.set({ stat: 'p99' }, seen ? histogram.percentile(99) / 1e9 : 0);
      gauge.set({ stat: 'mean' }, seen ? histogram.mean / 1e9 : 0);
      histogram.reset();
    },
  });
}
