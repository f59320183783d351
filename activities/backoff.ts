/** Exponential backoff with full jitter: spreads retries of many sends hitting the same throttle. */
export function backoffWithJitter(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(ceiling * random()));
}
