// What a circuit breaker needs from delivery: the rule for which answers count against a provider,
// and the interface the ladder consults. The shared, database-backed breaker that implements it
// is activities/provider-health.ts.
import type { Provider } from '../db/schema.js';
import type { ProviderOutcome } from './outcome.js';

/** Whether a call may go to a provider now: its circuit is closed, or open with this call as its probe. */
export type Admission = { ok: true; probe?: boolean } | { ok: false; reason: string };

export interface Circuits {
  /** Consulted before each call; answers from a cached state unless this call would be a probe. */
  admit(provider: Provider): Promise<Admission>;
  /** Each call's outcome; resolves to why the provider's circuit is open after it (undefined: closed). Never throws. */
  report(provider: Provider, outcome: ProviderOutcome): Promise<string | undefined>;
}

/** No breaker: every provider is always admitted (unit tests, tools). */
export const noCircuits: Circuits = {
  admit: () => Promise.resolve({ ok: true }),
  report: () => Promise.resolve(undefined),
};

/**
 * Answers that say the provider itself is failing: 5xx and other transient answers, timeouts and
 * resets (unknown), unreachable or refusing us (unavailable). Not a rejection of one message, not
 * throttling (that lowers the pace instead: see send-quota.ts), not an SMTP 4xx about one mailbox.
 * Our own database or S3 faults never reach here: they are not provider outcomes.
 */
export function countsAgainstProvider(provider: Provider, o: ProviderOutcome): boolean {
  switch (o.kind) {
    case 'accepted':
    case 'rejected':
      return false;
    case 'unavailable':
    case 'unknown':
      return true;
    case 'transient':
      if (o.throttled) return false;
      // SMTP: 421 is the relay saying it is shutting the channel; other 4xx replies are per message
      // (greylisting, a full mailbox). A non-numeric code is the connection failing.
      return provider === 'ses' || o.code === '421' || !/^\d+$/.test(o.code);
  }
}
