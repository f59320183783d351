// What a provider call can end in. Only a provider's answer (or its silence after the request went
// out) produces one of these; our own database or object-store errors never do.

/** A recipient the provider refused while accepting the message for the others (SMTP RCPT 5xx). */
export interface RecipientRejection {
  address: string;
  code: string;
  message: string;
}

export type ProviderOutcome =
  /** The provider took the message. `rejectedRecipients` lists any it refused individually. */
  | { kind: 'accepted'; providerMessageId: string; rejectedRecipients?: RecipientRejection[] }
  /** The provider refused this message for good: never retried, never failed over. */
  | { kind: 'rejected'; code: string; message: string }
  /** Throttling (`throttled`), 5xx, a 4xx reply: retry with backoff, then fail over. */
  | { kind: 'transient'; code: string; message: string; throttled?: true }
  /** The provider cannot take mail now and did not see this one (unreachable, auth, TLS, paused): fail over now. */
  | { kind: 'unavailable'; code: string; message: string }
  /** The request may have reached the provider (timeout or reset after it was sent): never resent silently. */
  | { kind: 'unknown'; code: string; message: string };

export type ProviderFailure = Exclude<ProviderOutcome, { kind: 'accepted' }>;

/** Socket errors raised before any byte of a request could leave: the provider never saw it. */
export const unreachable = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A provider error's message as recorded (capped: it lands in the ledger and the history). */
export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1000);
export type OutcomeKind = ProviderOutcome['kind'];
