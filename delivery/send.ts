import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Transporter } from 'nodemailer';
import type { Provider } from '../db/schema.js';
import type { DeliveryPolicy } from '../workflows/contracts.js';
import { failovers, providerCallSeconds, providerCalls } from '../metrics/metrics.js';
import type { Circuits } from './circuit.js';
import { countCall, failsOverNow, usableProviders, type ProviderTally } from './ladder.js';
import type { ProviderOutcome } from './outcome.js';
import { sendViaSes, type OutgoingMessage } from './ses.js';
import { sendViaSmtp } from './smtp.js';

export interface Providers {
  /** Built with `maxAttempts: 1` (createSesClient): the SDK must never re-send on its own. */
  ses: SESv2Client;
  smtp: Transporter;
  sesConfigurationSet?: string;
  /** The providers' circuit breakers, shared by every worker. */
  circuits: Circuits;
}

const tracer = trace.getTracer('mailroom');

/**
 * One call to one provider. Only the provider's answer, or its silence, becomes the outcome.
 * Traced as `ses.send` / `smtp.send` (a no-op without a registered tracer provider) with bounded
 * attributes only: the outcome's kind and the provider's error code, never an address or the
 * provider's message text, which can quote one.
 */
export async function sendThrough(p: Omit<Providers, 'circuits'>, provider: Provider, m: OutgoingMessage) {
  return tracer.startActiveSpan(`${provider}.send`, { kind: SpanKind.CLIENT }, async (span) => {
    try {
      const timer = providerCallSeconds.startTimer({ provider });
      const outcome = await (provider === 'ses' ? sendViaSes(p.ses, m, p.sesConfigurationSet) : sendViaSmtp(p.smtp, m));
      timer({ outcome: outcome.kind });
      providerCalls.inc({ provider, outcome: outcome.kind });
      span.setAttributes({
        'mailroom.provider': provider,
        'mailroom.outcome': outcome.kind,
        ...(outcome.kind === 'accepted' ? {} : { 'mailroom.error_code': outcome.code }),
      });
      if (outcome.kind !== 'accepted') span.setStatus({ code: SpanStatusCode.ERROR });
      return outcome;
    } finally {
      span.end();
    }
  });
}

/** Where one call goes, and why when it is not where the failover rule would send it. */
export interface Call {
  provider: Provider;
  /** Set when the call skipped the ladder's first choice: that provider's circuit is open, and why. */
  routedBy?: string;
}

export interface LadderHooks {
  /** Runs before each provider call (an intent row): if it throws, no provider is called. */
  beforeCall?(call: Call): Promise<void>;
  /** Runs after each provider call with its outcome (the record). */
  afterCall?(call: Call, outcome: ProviderOutcome): Promise<void>;
}

export type LadderResult =
  | { provider: Provider; outcome: ProviderOutcome; tally: ProviderTally }
  /** Both providers' attempts were already spent: nothing was called. */
  | { provider?: undefined; outcome?: undefined; tally: ProviderTally };

const circuitOpen = (provider: Provider, reason: string) => `${provider.toUpperCase()} circuit open: ${reason}`;

/**
 * The first call of an attempt: the failover rule's first choice unless its circuit is open and
 * the next provider's is not. When every usable provider's circuit is open, the rule alone decides.
 */
async function firstCall(p: Providers, tally: ProviderTally, policy: DeliveryPolicy): Promise<Call | undefined> {
  const [first, second] = usableProviders(tally, policy);
  if (!first) return undefined;
  const admission = await p.circuits.admit(first);
  if (admission.ok) return { provider: first };
  if (second && (await p.circuits.admit(second)).ok)
    return { provider: second, routedBy: circuitOpen(first, admission.reason) };
  return { provider: first };
}

/**
 * Delivers one message as far as it can go now: the chosen provider, and the next one straight
 * after when the primary says it is unavailable or the call's failure opened its circuit. Returns
 * the last call's outcome; the caller decides what a `transient` means for it (retry later) and
 * records the rest. Shared by single and bulk sends.
 */
export async function deliverNow(
  p: Providers,
  m: OutgoingMessage,
  tally: ProviderTally,
  policy: DeliveryPolicy,
  hooks: LadderHooks = {},
): Promise<LadderResult> {
  let call = await firstCall(p, tally, policy);
  while (call) {
    await hooks.beforeCall?.(call);
    const { provider } = call;
    const outcome = await sendThrough(p, provider, m);
    tally = countCall(tally, provider, outcome, policy);
    const openReason = await p.circuits.report(provider, outcome);
    await hooks.afterCall?.(call, outcome);
    if (failsOverNow(provider, outcome, policy)) call = await firstCall(p, tally, policy);
    else if (openReason && outcome.kind === 'transient')
      call = await admittedOther(p, provider, openReason, tally, policy);
    else call = undefined;
    if (!call) return { provider, outcome, tally };
    if (call.provider !== provider) failovers.inc({ from: provider, to: call.provider });
  }
  return { tally };
}

/** After a failure that left `from`'s circuit open: another usable provider, if its circuit admits a call. */
async function admittedOther(
  p: Providers,
  from: Provider,
  reason: string,
  tally: ProviderTally,
  policy: DeliveryPolicy,
): Promise<Call | undefined> {
  const other = usableProviders(tally, policy).find((x) => x !== from);
  if (other && (await p.circuits.admit(other)).ok) return { provider: other, routedBy: circuitOpen(from, reason) };
  return undefined;
}
