/**
 * Hands out send slots `1000 / ratePerSecond` ms apart, starting no earlier than `startAt`; the
 * next free slot is carried from batch to batch, so the pace stays exact across batches.
 */
export function createPacer(ratePerSecond: number, startAt: number) {
  const interval = 1000 / ratePerSecond;
  let slot = Math.max(Date.now(), startAt);
  return {
    /** Resolves when the next slot starts, or at once on abort. */
    ready(signal?: AbortSignal): Promise<void> {
      const wait = slot - Date.now();
      return wait > 0 ? delay(wait, signal) : Promise.resolve();
    },
    /** Uses the next slot, or a later moment (`at`, epoch ms) another pace decided. */
    take(at = slot) {
      slot = Math.max(slot, at) + interval;
    },
    /** When the next unused slot starts (epoch ms). */
    get nextSlot() {
      return slot;
    },
  };
}

/** Resolves after `ms` (at once when it is not positive), or at once on abort. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
