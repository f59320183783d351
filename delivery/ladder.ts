import type { Provider } from '../db/schema.js';
import type { DeliveryPolicy } from '../workflows/contracts.js';
import type { ProviderOutcome } from './outcome.js';

/** Provider calls already made for one message (or one bulk recipient). */
export interface ProviderTally {
  ses: number;
  smtp: number;
  /** SES said it cannot take mail now: the rest of this message's attempts go to SMTP. */
  sesUnavailable?: boolean;
}

/**
 * The one failover rule: SES while it has attempts left and has not said it is unavailable, then
 * SMTP while it has attempts left; undefined means both are spent and the message has failed.
 */
export function chooseProvider(t: ProviderTally, policy: DeliveryPolicy): Provider | undefined {
  if (!t.sesUnavailable && t.ses < policy.sesMaxAttempts) return 'ses';
  if (t.smtp < policy.smtpMaxAttempts) return 'smtp';
  return undefined;
}

export function countCall(t: ProviderTally, provider: Provider, outcome: ProviderOutcome): ProviderTally {
  return {
    ses: t.ses + (provider === 'ses' ? 1 : 0),
    smtp: t.smtp + (provider === 'smtp' ? 1 : 0),
    sesUnavailable: t.sesUnavailable || (provider === 'ses' && outcome.kind === 'unavailable'),
  };
}

/** SES being unavailable is the one answer that moves on to the next provider at once. */
export const failsOverNow = (provider: Provider, outcome: ProviderOutcome) =>
  provider === 'ses' && outcome.kind === 'unavailable';
