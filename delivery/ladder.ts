import type { Provider } from '../db/schema.js';
import type { DeliveryPolicy } from '../workflows/contracts.js';
import type { ProviderOutcome } from './outcome.js';

/** Provider calls already made for one message (or one bulk recipient). */
export interface ProviderTally {
  ses: number;
  smtp: number;
  /** The primary said it cannot take mail now: the rest of this message's attempts go to the fallback. */
  primaryUnavailable?: boolean;
}

/** The configured order: the primary (SES unless the policy says SMTP), then the other. */
export function providerOrder(policy: DeliveryPolicy): [Provider, Provider] {
  return policy.primary === 'smtp' ? ['smtp', 'ses'] : ['ses', 'smtp'];
}

const attemptsAllowed = (provider: Provider, policy: DeliveryPolicy) =>
  provider === 'ses' ? policy.sesMaxAttempts : policy.smtpMaxAttempts;

/**
 * The one failover rule: the providers this message may still go to, best first. The primary
 * while it has attempts left and has not said it is unavailable, then the fallback while it has
 * attempts left; empty means both are spent and the message has failed.
 */
export function usableProviders(t: ProviderTally, policy: DeliveryPolicy): Provider[] {
  const [primary, fallback] = providerOrder(policy);
  const usable: Provider[] = [];
  if (!t.primaryUnavailable && t[primary] < attemptsAllowed(primary, policy)) usable.push(primary);
  if (t[fallback] < attemptsAllowed(fallback, policy)) usable.push(fallback);
  return usable;
}

export const chooseProvider = (t: ProviderTally, policy: DeliveryPolicy): Provider | undefined =>
  usableProviders(t, policy)[0];

export function countCall(
  t: ProviderTally,
  provider: Provider,
  outcome: ProviderOutcome,
  policy: DeliveryPolicy,
): ProviderTally {
  return {
    ses: t.ses + (provider === 'ses' ? 1 : 0),
    smtp: t.smtp + (provider === 'smtp' ? 1 : 0),
    primaryUnavailable:
      t.primaryUnavailable || (provider === providerOrder(policy)[0] && outcome.kind === 'unavailable'),
  };
}

/** The primary being unavailable is the one answer that moves on to the fallback at once. */
export const failsOverNow = (provider: Provider, outcome: ProviderOutcome, policy: DeliveryPolicy) =>
  provider === providerOrder(policy)[0] && outcome.kind === 'unavailable';
