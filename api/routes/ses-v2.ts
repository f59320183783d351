// `/v2/email/…`: the SES v2 API as the AWS SDK speaks it (SendEmail, GetAccount), for senders
// written against SES. An adapter only: each recipient of a SendEmail becomes one send through the
// accept path of `POST /v1/emails`; answers and errors are SES's (`{message}` + x-amzn-ErrorType).
import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { and, count, eq, gt } from 'drizzle-orm';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { messages } from '../../db/schema.js';
import { startStoredMessage } from '../../sends/start-workflows.js';
import { acceptEmail, type Accepted } from '../accept-email.js';
import { startOrKeepQueued } from '../accept-steps.js';
import { sesPrincipal } from '../auth.js';
import type { Principal } from '../principal.js';
import { scanJson } from '../duplicate-keys.js';
import { ApiError, handleError, type ErrorCode } from '../errors.js';
import { RequestError } from '../fields.js';
import { idFor } from '../idempotency.js';
import { limitBody } from '../read-body.js';
import { router } from '../router.js';
import { SesSendEmail, sesSendRequests } from '../ses-request.js';
import type { SendRequest } from '../send-request.js';
import { sigV4Verifier, type AccessKey } from '../sigv4.js';
import type { EmailRoutesDeps } from './emails.js';

export interface SesV2Deps extends EmailRoutesDeps {
  /** `SES_ACCESS_KEYS`: each pair is a tenant (`ses_<access key id>`). */
  sesAccessKeys: AccessKey[];
  /** `SES_MAX_SEND_RATE`, answered by GetAccount. */
  sesMaxSendRate: number;
  logger: Pick<Logger, 'error'>;
}

type SesEnv = { Variables: { principal: Principal; sesBody: Uint8Array; sesCallId: string | undefined } };

/** An answer in SES's error shape: the SDK raises the class named by x-amzn-ErrorType. */
export class SesError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (err: RequestError) =>
  err.tooLarge
    ? new SesError(400, 'MessageRejected', err.message)
    : new SesError(400, 'BadRequestException', err.message);

/** Our error codes as SES answers them. 503 is retried by the SDK (5xx), 4xx are not. */
const sesErrors: Record<ErrorCode, [ContentfulStatusCode, string]> = {
  validation_error: [400, 'BadRequestException'],
  invalid_json: [400, 'BadRequestException'],
  unsupported_media_type: [400, 'BadRequestException'],
  // SES refuses an oversized message as MessageRejected (400): the SDK raises that class.
  payload_too_large: [400, 'MessageRejected'],
  unauthorized: [403, 'AccessDeniedException'],
  rate_limited: [429, 'TooManyRequestsException'],
  forbidden: [403, 'AccessDeniedException'],
  not_found: [404, 'NotFoundException'],
  idempotency_conflict: [409, 'ConflictException'],
  bulk_finished: [409, 'ConflictException'],
  send_started: [409, 'ConflictException'],
  service_unavailable: [503, 'ServiceUnavailable'],
  internal_error: [500, 'InternalServiceErrorException'],
};

function sesAnswer(c: Context, status: ContentfulStatusCode, type: string, message: string) {
  c.header('x-amzn-ErrorType', type);
  return c.json({ message }, status);
}

const SesErrorBody = z.object({ message: z.string() }).openapi('SesError');
const sesError = (description: string) => ({
  description: `${description}; the type is in the \`x-amzn-ErrorType\` header`,
  content: { 'application/json': { schema: SesErrorBody } },
});
const sesErrorResponses = {
  400: sesError('`BadRequestException` naming the field (or an unsupported one), `MessageRejected` when too large'),
  403: sesError(
    '`UnrecognizedClientException` (unknown access key), `InvalidSignatureException` (wrong signature, or ' +
      'X-Amz-Date more than 5 minutes off), `MissingAuthenticationTokenException`, `IncompleteSignatureException`',
  ),
  503: sesError('`ServiceUnavailable`: a dependency is down; the AWS SDK retries it'),
};
const security = [{ 'aws-sigv4': [] }];

export function sesV2Routes(deps: SesV2Deps) {
  // Raw Data is base64 (4/3 of the message) inside JSON.
  const maxBody = Math.ceil((deps.limits.maxMessageBytes * 4) / 3) + 256 * 1024;
  const verify = sigV4Verifier(deps.sesAccessKeys, 'ses');
  const app = router<SesEnv>();
  app.openAPIRegistry.registerComponent('securitySchemes', 'aws-sigv4', {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description:
      'AWS Signature Version 4 (service `ses`, any region) with a pair of SES_ACCESS_KEYS: point an AWS SDK ' +
      'SESv2Client at Mailroom as its `endpoint`.',
  });
  app.openAPIRegistry.register('SesSendEmailRequest', SesSendEmail);

  app.onError(async (err, c) => {
    if (err instanceof SesError) return sesAnswer(c, err.status, err.type, err.message);
    if (err instanceof RequestError) err = new ApiError('validation_error', err.message, err.field);
    // The API's own handling (outages → 503 with Retry-After, logging), then SES's shape.
    const res = handleError(err, c, {
      unexpected: (e) => deps.logger.error({ err: e, path: c.req.path }, 'unhandled error'),
      unavailable: (e, dependency) =>
        deps.logger.error({ dependency, error: e.message, path: c.req.path }, 'dependency unavailable'),
    });
    const { error } = (await res.json()) as { error: { code: ErrorCode; message: string } };
    const [status, type] = sesErrors[error.code];
    return sesAnswer(c, status, type, error.message);
  });

  app.use('*', async (c, next) => {
    c.header('x-amzn-RequestId', randomUUID());
    await next();
  });
  app.use('*', limitBody(maxBody, 'MAX_MESSAGE_BYTES'));
  app.use(
    '*',
    createMiddleware<SesEnv>(async (c, next) => {
      const body = new Uint8Array(await c.req.arrayBuffer());
      const result = await verify({ method: c.req.method, url: new URL(c.req.url), headers: c.req.raw.headers, body });
      if ('error' in result) throw new SesError(403, result.error.type, result.error.message);
      c.set('principal', sesPrincipal(result.accessKeyId));
      c.set('sesBody', body);
      // The AWS SDK's id of one call, the same on each of its retries; trusted only when signed.
      const invocation = c.req.header('amz-sdk-invocation-id');
      const signed = result.signedHeaders.has('amz-sdk-invocation-id');
      c.set('sesCallId', signed && invocation && /^[\x21-\x7e]{1,100}$/.test(invocation) ? invocation : undefined);
      await next();
    }),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/account',
      summary: 'GetAccount (SES v2): the sending quota',
      description:
        '`MaxSendRate` is SES_MAX_SEND_RATE (shared by every sender of this Mailroom), `Max24HourSend` that ' +
        'rate for a day, `SentLast24Hours` the sends this access key had accepted in the last 24 hours.',
      tags: ['Drop-in ingresses'],
      security,
      responses: {
        200: {
          description: 'The account',
          content: {
            'application/json': {
              schema: z.object({
                SendQuota: z.object({
                  Max24HourSend: z.number(),
                  MaxSendRate: z.number(),
                  SentLast24Hours: z.number(),
                }),
                SendingEnabled: z.boolean(),
                ProductionAccessEnabled: z.boolean(),
                EnforcementStatus: z.string(),
                DedicatedIpAutoWarmupEnabled: z.boolean(),
              }),
            },
          },
        },
        403: sesErrorResponses[403],
        503: sesErrorResponses[503],
      },
    }),
    async (c) => {
      const [row] = await deps.db
        .select({ n: count() })
        .from(messages)
        .where(
          and(
            eq(messages.tenantId, c.get('principal').tenantId),
            gt(messages.createdAt, new Date(Date.now() - 86_400_000)),
          ),
        );
      return c.json(
        {
          SendQuota: {
            Max24HourSend: deps.sesMaxSendRate * 86_400,
            MaxSendRate: deps.sesMaxSendRate,
            SentLast24Hours: row?.n ?? 0,
          },
          SendingEnabled: true,
          ProductionAccessEnabled: true,
          EnforcementStatus: 'HEALTHY',
          DedicatedIpAutoWarmupEnabled: false,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/outbound-emails',
      summary: 'SendEmail (SES v2): one copy per recipient',
      description:
        'Every To, Cc and Bcc address gets its own copy, addressed to it alone: one send each, through the ' +
        'accept path of `POST /v1/emails` (same validation). `MessageId` is the id of the first copy; every ' +
        'copy is tagged `ses_request=<MessageId>`. A retry of the same AWS SDK call (its signed ' +
        '`amz-sdk-invocation-id`) sends no copy twice. `Content.Template` and other SES fields are refused by name.',
      tags: ['Drop-in ingresses'],
      security,
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/SesSendEmailRequest' } } },
        },
      },
      responses: {
        200: {
          description: 'Accepted: every copy is stored and its workflow started',
          content: { 'application/json': { schema: z.object({ MessageId: z.string() }) } },
        },
        ...sesErrorResponses,
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      const tenant = principal.tenantId;
      const body = await parseJson(c.get('sesBody'));
      // Without a signed invocation id there is nothing to recognise a retry by: a fresh call id.
      const callId = c.get('sesCallId') ?? randomUUID();
      const keyOf = (i: number) => `ses:${callId}:${i}`;
      const messageId = idFor(tenant, keyOf(0));
      let copies: SendRequest[];
      try {
        copies = await sesSendRequests(body, messageId, deps.limits);
      } catch (err) {
        throw err instanceof RequestError ? badRequest(err) : err;
      }
      // One at a time: when a dependency fails midway, the copies before it are stored and the
      // SDK's retry (same call id) finds them instead of sending them again.
      for (const [i, copy] of copies.entries()) await acceptCopy(copy, principal, keyOf(i));
      return c.json({ MessageId: messageId }, 200);
    },
  );

  // Any other SES operation: refused by name rather than a bare 404 the SDK cannot classify.
  app.all('/*', (c) => {
    throw new SesError(
      400,
      'BadRequestException',
      `${c.req.method} ${c.req.path} is not supported: Mailroom implements SendEmail and GetAccount of SES v2`,
    );
  });

  async function acceptCopy(copy: SendRequest, principal: Principal, key: string): Promise<Accepted> {
    try {
      return await acceptEmail(deps, copy, principal, key);
    } catch (err) {
      // A raw message without a Date header gets one when accepted, so a retry of the same call
      // differs by that header alone: the copy the first attempt stored is the one to keep.
      if (!(copy.raw && err instanceof ApiError && err.code === 'idempotency_conflict')) throw err;
      const [stored] = await deps.db
        .select()
        .from(messages)
        .where(and(eq(messages.tenantId, principal.tenantId), eq(messages.idempotencyKey, key)));
      if (!stored) throw err;
      if (stored.status === 'queued')
        await startOrKeepQueued('email', stored.id, () => startStoredMessage(deps.db, deps.temporal, deps, stored));
      return { id: stored.id, status: stored.status };
    }
  }

  return app;
}

async function parseJson(bytes: Uint8Array): Promise<unknown> {
  const text = Buffer.from(bytes).toString('utf8');
  const scan = await scanJson(text);
  if (scan.bound) throw new SesError(400, 'BadRequestException', `${scan.bound.path || 'body'} ${scan.bound.message}`);
  if (scan.duplicate !== undefined)
    throw new SesError(400, 'BadRequestException', `${scan.duplicate} appears more than once`);
  try {
    return JSON.parse(text);
  } catch {
    throw new SesError(400, 'BadRequestException', 'the request body is not valid JSON');
  }
}
