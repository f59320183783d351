// One signed POST of an event to an endpoint, and what its answer means for the delivery.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import { NonPublicTargetError, publicOnlyLookup, webhookUrlProblem } from './target.js';

/**
 * `delivered`: any 2xx. `retry`: 5xx, 408, 425, 429, timeouts, refused or reset connections, DNS
 * failures. `rejected` (final, never retried): any other 4xx — the receiver has said this request
 * is wrong and the same signed bytes will not become right — a redirect (not followed: the target
 * would escape the URL checks), and a non-public target. `gone` (410) also disables the endpoint.
 */
export type PostOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; status?: number; error: string; retryAfterMs?: number }
  | { kind: 'rejected'; status?: number; error: string; gone?: boolean };

export interface SignedPost {
  url: string;
  secret: string;
  /** The event id: the `webhook-id`, the same on every attempt, so receivers can dedupe. */
  eventId: string;
  payload: string;
  timeoutMs: number;
  allowPrivateTargets: boolean;
}

/** The Standard Webhooks headers for one attempt; the timestamp is the attempt's, as the spec wants. */
export function signatureHeaders(secret: string, eventId: string, payload: string, at: Date) {
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(eventId, at, payload),
  };
}

const retryable = new Set([408, 425, 429]);

function retryAfterMs(res: IncomingMessage): number | undefined {
  const header = res.headers['retry-after'];
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function classify(res: IncomingMessage): PostOutcome {
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  const error = `HTTP ${status}`;
  if (status >= 500 || retryable.has(status)) {
    const after = retryAfterMs(res);
    return { kind: 'retry', status, error, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  if (status === 410) return { kind: 'rejected', status, error: `${error} Gone`, gone: true };
  if (status >= 300 && status < 400) return { kind: 'rejected', status, error: `${error}: redirects are not followed` };
  return { kind: 'rejected', status, error };
}

/** POSTs the payload with its signature; never throws: every way it can end is an outcome. */
export function postSigned(p: SignedPost): Promise<PostOutcome> {
  const problem = webhookUrlProblem(p.url, p.allowPrivateTargets);
  if (problem) return Promise.resolve({ kind: 'rejected', error: `url ${problem}` });
  const url = new URL(p.url);
  const body = Buffer.from(p.payload);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          'user-agent': 'Mailroom-Webhooks/1',
          ...signatureHeaders(p.secret, p.eventId, p.payload, new Date()),
        },
        // Connect, TLS and the answer's headers within the budget; the body is not awaited.
        signal: AbortSignal.timeout(p.timeoutMs),
        ...(p.allowPrivateTargets ? {} : { lookup: publicOnlyLookup }),
      },
      (res) => {
        // The answer's body is never read (nor logged): the status is the answer.
        res.resume();
        res.on('error', () => {});
        resolve(classify(res));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof NonPublicTargetError || err.cause instanceof NonPublicTargetError)
        return resolve({ kind: 'rejected', error: err.message });
      const timedOut = err.name === 'AbortError' || err.name === 'TimeoutError';
      resolve({
        kind: 'retry',
        error: timedOut ? `no answer within ${p.timeoutMs} ms` : `${err.code ?? err.name}: ${err.message}`,
      });
    });
    req.end(body);
  });
}
