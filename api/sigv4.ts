// AWS Signature Version 4, checked the way AWS checks it: the request is rebuilt from what arrived
// (method, path, query, the headers the client says it signed, the body's bytes) and signed again
// with the secret of the presented access key by @smithy/signature-v4, the AWS SDK's own signer.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** How far X-Amz-Date may be from our clock, either way (AWS: 5 minutes). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface AccessKey {
  accessKeyId: string;
  secret: string;
}

export interface SignedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

/** Why a request is refused, in the error types AWS answers with (all 403). */
export type SigV4Failure = {
  type:
    | 'MissingAuthenticationTokenException'
    | 'IncompleteSignatureException'
    | 'UnrecognizedClientException'
    | 'InvalidSignatureException';
  message: string;
};

export type SigV4Result = { accessKeyId: string; signedHeaders: Set<string> } | { error: SigV4Failure };

const authorization =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request\s*,\s*SignedHeaders=([a-z0-9;_-]+)\s*,\s*Signature=([0-9a-f]+)\s*$/i;
const amzDate = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const incomplete = (message: string): { error: SigV4Failure } => ({
  error: { type: 'IncompleteSignatureException', message },
});
const invalid = (message: string): { error: SigV4Failure } => ({
  error: { type: 'InvalidSignatureException', message },
});
const mismatch = invalid(
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret ' +
    'Access Key and signing method. Consult the service documentation for details.',
);

/** `20240101T000000Z` of a time, as AWS writes it in its messages. */
const longDate = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/**
 * A verifier for the given keys and service (the signing name, `ses` for SES v2). Any region is
 * accepted: the client's region is part of what it signed.
 */
export function sigV4Verifier(keys: AccessKey[], service: string) {
  const signers = new Map(
    keys.map((k) => [
      k.accessKeyId,
      new SignatureV4({
        credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secret },
        region: 'us-east-1',
        service,
        sha256: Hash.bind(null, 'sha256'),
        // The body's hash is ours to compute (below), never taken from the client's header.
        applyChecksum: false,
      }),
    ]),
  );

  return async function verify(req: SignedRequest, now = Date.now()): Promise<SigV4Result> {
    const header = req.headers.get('authorization');
    if (!header)
      return { error: { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' } };
    const auth = authorization.exec(header);
    if (!auth)
      return incomplete(
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' (AWS4-HMAC-SHA256).",
      );
    const [, accessKeyId, scopeDate, region, scopeService, signedList, signature] = auth as unknown as string[];
    const signedHeaders = new Set(signedList!.toLowerCase().split(';'));
    if (!signedHeaders.has('host') || !signedHeaders.has('x-amz-date'))
      return incomplete("SignedHeaders must include 'host' and 'x-amz-date'.");
    const date = amzDate.exec(req.headers.get('x-amz-date') ?? '');
    if (!date) return incomplete("The request needs an 'X-Amz-Date' header as YYYYMMDD'T'HHMMSS'Z'.");
    const [, y, mo, d, h, mi, s] = date.map(Number) as number[];
    const signedAt = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
    if (Number.isNaN(signedAt)) return incomplete("'X-Amz-Date' is not a valid date.");
    const at = date[0]!;
    if (signedAt < now - MAX_CLOCK_SKEW_MS)
      return invalid(
        `Signature expired: ${at} is now earlier than ${longDate(now - MAX_CLOCK_SKEW_MS)} (${longDate(now)} - 5 min.)`,
      );
    if (signedAt > now + MAX_CLOCK_SKEW_MS)
      return invalid(
        `Signature not yet current: ${at} is still later than ${longDate(now + MAX_CLOCK_SKEW_MS)} (${longDate(now)} + 5 min.)`,
      );
    if (scopeDate !== at.slice(0, 8))
      return invalid(
        `Date in Credential scope does not match YYYYMMDD from 'X-Amz-Date': '${scopeDate}' != '${at.slice(0, 8)}'`,
      );
    if (scopeService !== service) return invalid(`Credential should be scoped to correct service: '${service}'.`);
    const signer = signers.get(accessKeyId!);
    if (!signer)
      return {
        error: {
          type: 'UnrecognizedClientException',
          message: 'The security token included in the request is invalid.',
        },
      };

    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = req.headers.get(name);
      if (value === null) return mismatch;
      headers[name] = value;
    }
    // A client-sent payload hash is only a claim: the signature must cover the bytes that arrived.
    if ('x-amz-content-sha256' in headers)
      headers['x-amz-content-sha256'] = createHash('sha256').update(req.body).digest('hex');
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of req.url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : [prev, v].flat();
    }
    const signed = await signer.sign(
      new HttpRequest({
        method: req.method,
        protocol: req.url.protocol,
        hostname: req.url.hostname,
        path: req.url.pathname,
        query,
        headers,
        body: req.body,
      }),
      {
        signingDate: new Date(signedAt),
        signingRegion: region,
        signingService: scopeService,
        signableHeaders: signedHeaders,
      },
    );
    const expected = /Signature=([0-9a-f]+)$/.exec(signed.headers.authorization ?? '')?.[1] ?? '';
    const presented = signature!.toLowerCase();
    if (expected.length !== presented.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(presented)))
      return mismatch;
    return { accessKeyId: accessKeyId!, signedHeaders };
  };
}
