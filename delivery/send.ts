import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Transporter } from 'nodemailer';
import type { Provider } from '../db/schema.js';
import type { DeliveryPolicy } from '../workflows/contracts.js';
import { chooseProvider, countCall, failsOverNow, type ProviderTally } from './ladder.js';
import type { ProviderOutcome } from './outcome.js';
import { sendViaSes, type OutgoingMessage } from './ses.js';
import { sendViaSmtp } from './smtp.js';

export interface Providers {
  /** Built with `maxAttempts: 1` (createSesClient): the SDK must never re-send on its own. */
  ses: SESv2Client;
  smtp: Transporter;
  sesConfigurationSet?: string;
}

/** One call to one provider. Only the provider's answer, or its silence, becomes the outcome. */
export function sendThrough(p: Providers, provider: Provider, m: OutgoingMessage): Promise<ProviderOutcome> {
  return provider === 'ses' ? sendViaSes(p.ses, m, p.sesConfigurationSet) : sendViaSmtp(p.smtp, m);
}

export interface LadderHooks {
  /** Runs before each provider call (an intent row): if it throws, no provider is called. */
  beforeCall?(provider: Provider): Promise<void>;
  /** Runs after each provider call with its outcome (the record). */
  afterCall?(provider: Provider, outcome: ProviderOutcome): Promise<void>;
}

export type LadderResult =
  | { provider: Provider; outcome: ProviderOutcome; tally: ProviderTally }
  /** Both providers' attempts were already spent: nothing was called. */
  | { provider?: undefined; outcome?: undefined; tally: ProviderTally };

/**
 * Delivers one message as far as it can go now: the chosen provider, and SMTP straight after when
 * SES says it is unavailable. Returns the last call's outcome; the caller decides what a
 * `transient` means for it (retry later) and records the rest. Shared by single and bulk sends.
 */
export async function deliverNow(
  p: Providers,
  m: OutgoingMessage,
  tally: ProviderTally,
  policy: DeliveryPolicy,
  hooks: LadderHooks = {},
): Promise<LadderResult> {
  for (;;) {
    const provider = chooseProvider(tally, policy);
    if (!provider) return { tally };
    await hooks.beforeCall?.(provider);
    const outcome = await sendThrough(p, provider, m);
    tally = countCall(tally, provider, outcome);
    await hooks.afterCall?.(provider, outcome);
    if (!failsOverNow(provider, outcome) || !chooseProvider(tally, policy)) return { provider, outcome, tally };
  }
}
