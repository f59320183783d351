import { createServer } from 'node:net';

/**
 * A loopback port nobody listens on right now (tests and benchmarks start servers on it): one the
 * OS picks, or with `below`, a random one under that bound (the OS picks from its ephemeral range,
 * 32768 and up on Linux).
 */
export async function freePort(o: { below?: number } = {}): Promise<number> {
  if (!o.below) return listenOn(0);
  for (let attempt = 0; ; attempt++) {
    const candidate = 10_000 + Math.floor(Math.random() * (o.below - 10_000));
    try {
      return await listenOn(candidate);
    } catch (err) {
      if (attempt >= 50) throw err;
    }
  }
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
