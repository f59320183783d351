// Preloaded into a benchmark's worker (`node --import`, P4 only) when MEM_PROBE_FILE is set: appends
// process.memoryUsage() every second as a JSON line, so a case can split RSS into the V8 heap, memory
// outside it (Buffers, the Temporal core) and the rest. Never part of the production image.
import { appendFileSync } from 'node:fs';

const file = process.env.MEM_PROBE_FILE;
if (file) {
  const mb = (n) => Math.round((n / 2 ** 20) * 10) / 10;
  setInterval(() => {
    const m = process.memoryUsage();
    const line = {
      t: Date.now(),
      rss: mb(m.rss),
      heapTotal: mb(m.heapTotal),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      arrayBuffers: mb(m.arrayBuffers),
    };
    appendFileSync(file, JSON.stringify(line) + '\n');
  }, 1_000).unref();
}
