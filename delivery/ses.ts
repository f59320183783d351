import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { errorText, unreachable, type ProviderFailure, type ProviderOutcome } from './outcome.js';

export interface SesSettings {
  region: string;
  endpoint?: string;
  timeoutMs: number;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * SDK retries are off on purpose: the SDK would re-send SendEmail on 429/5xx/dropped connections
 * by itself, and a request that reached SES before the connection dropped becomes a duplicate mail
 * nobody counted. Temporal retries instead, after checking the delivery ledger. Without
 * `throwOnRequestTimeout` the SDK only warns when `requestTimeout` passes and keeps waiting.
 */
export function createSesClient(s: SesSettings): SESv2Client {
  return new SESv2Client({
    region: s.region,
    endpoint: s.endpoint,
    credentials: s.credentials,
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: s.timeoutMs,
      connectionTimeout: Math.min(s.timeoutMs, 5_000),
      throwOnRequestTimeout: true,
    },
  });
}

export interface OutgoingMessage {
  /** The SMTP envelope: SES's `Destination` (so Bcc reaches its recipients without a header). */
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

/** One SendEmail (Raw) call. Never throws for what SES (or its silence) said: that is the outcome. */
export async function sendViaSes(
  ses: SESv2Client,
  m: OutgoingMessage,
  configurationSet?: string,
): Promise<ProviderOutcome> {
  try {
    const out = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: m.envelope.from,
        Destination: { ToAddresses: m.envelope.to },
        Content: { Raw: { Data: m.raw } },
        ConfigurationSetName: configurationSet,
      }),
    );
    return { kind: 'accepted', providerMessageId: out.MessageId ?? '' };
  } catch (err) {
    return classifySesError(err);
  }
}

// SES v2 error names (the SDK's `err.name`). Anything SES answered that is not listed is treated
// as transient: a retry is cheap, a wrongly permanent failure loses mail.
const sesRejected = new Set(['MessageRejected', 'BadRequestException', 'InvalidParameterValue']);
const sesUnavailable = new Set([
  'AccountSuspendedException',
  'SendingPausedException',
  'MailFromDomainNotVerifiedException',
  'NotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
]);
/** SES's answers for going over the account's sending rate (or its daily quota). */
const sesThrottling = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'LimitExceededException',
]);

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function classifySesError(err: unknown): ProviderFailure {
  const name = err instanceof Error ? err.name : 'Error';
  const message = errorText(err);
  const net = networkCode(err);
  const answered =
    typeof (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode === 'number';
  if (sesRejected.has(name)) return { kind: 'rejected', code: name, message };
  if (sesUnavailable.has(name)) return { kind: 'unavailable', code: name, message };
  if (net && unreachable.has(net)) return { kind: 'unavailable', code: net, message };
  if (name === 'TimeoutError' && /did not establish a connection/.test(message))
    return { kind: 'unavailable', code: 'ConnectTimeout', message };
  // No HTTP answer after the connection was up: the request may have reached SES and been sent.
  if (!answered && (name === 'TimeoutError' || net === 'ECONNRESET' || net === 'EPIPE' || net === 'ETIMEDOUT'))
    return { kind: 'unknown', code: net ?? name, message };
  if (sesThrottling.has(name)) return { kind: 'transient', code: name, message, throttled: true };
  return { kind: 'transient', code: net ?? name, message };
}
