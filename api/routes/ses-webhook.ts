import { createRoute, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { BreakerSettings } from '../../config/config.js';
import { tripBreaker } from '../../db/breaker.js';
import type { Db } from '../../db/create-db.js';
import { emitProviderEvents } from '../../activities/outcome-events.js';
import type { EmitEvent } from '../../activities/webhooks.js';
import { mapUnmappedEvents, parseSesEvent, recordEvent } from '../../db/provider-events.js';
import { bulkWorkflowId, pauseSignal } from '../../workflows/contracts.js';
import { ApiError, badField } from '../errors.js';
import { limitBody } from '../read-body.js';
import { errorResponse, router } from '../router.js';
import { createSnsVerifier, SnsCertUnavailable, SnsRefused, type SnsSettings } from '../sns-verify.js';

export interface SesWebhookDeps {
  db: Db;
  temporal: Client;
  sns: SnsSettings;
  breaker: BreakerSettings;
  /** Tells the tenant's webhook endpoints (email.delivered, email.bounced, email.complained). */
  emitEvent: EmitEvent;
  logger: Pick<Logger, 'error'> & Partial<Pick<Logger, 'info' | 'warn'>>;
}

// SNS messages are at most 256 KB; JSON escaping of the SES record inside them adds some.
const MAX_BODY = 512 * 1024;

const Received = z
  .object({
    status: z.enum(['stored', 'duplicate', 'ignored', 'confirmed']).openapi({
      description:
        '`stored`: a new event, applied; `duplicate`: this SNS MessageId was stored before; ' +
        '`ignored`: a verified message we do not track (opens, clicks, unsubscribe confirmations); ' +
        '`confirmed`: the subscription was confirmed',
    }),
  })
  .openapi('SnsReceived');

const route = createRoute({
  method: 'post',
  path: '/',
  summary: 'Receive SES events from an SNS topic',
  description:
    'The HTTPS endpoint of an SNS subscription (configuration set → SNS topic → this URL). No API key: every ' +
    'message must carry a valid SNS signature (SignatureVersion 1 or 2, certificate from an SNS host) and come ' +
    'from a topic in `SNS_TOPIC_ARNS`. Subscription confirmations are confirmed; notifications are stored once ' +
    'per SNS MessageId and applied to the send with that provider message id.',
  middleware: [limitBody(MAX_BODY)] as const,
  request: {
    // SNS posts JSON as text/plain; read and verified by the handler.
    body: { content: { 'text/plain': { schema: z.string().openapi({ description: 'An SNS message (JSON)' }) } } },
  },
  responses: {
    200: { description: 'Received', content: { 'application/json': { schema: Received } } },
    400: errorResponse('Not JSON, or a verified notification that is not an SES event; `field` names the culprit'),
    403: errorResponse('Unsigned, forged, or from a topic not in SNS_TOPIC_ARNS: nothing stored'),
    413: errorResponse('Too large'),
    503: errorResponse('The signing certificate, the database or Temporal could not be reached: SNS retries'),
  },
});

/** POST /v1/webhooks/ses: SES event publishing through SNS. Mounted outside the bearer-auth `/v1`. */
export function sesWebhookRoutes(deps: SesWebhookDeps) {
  const sns = createSnsVerifier(deps.sns);

  return router().openapi(route, async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw new ApiError('invalid_json', 'request body is not valid JSON', 'body');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badField('body', 'body must be an SNS message object');
    let message;
    try {
      message = await sns.verify(body as Record<string, unknown>);
    } catch (err) {
      if (err instanceof SnsRefused) throw new ApiError('forbidden', err.message, 'Signature');
      if (err instanceof SnsCertUnavailable) throw new ApiError('service_unavailable', err.message, 'SigningCertURL');
      throw err;
    }

    if (message.Type === 'SubscriptionConfirmation') {
      try {
        await sns.confirm(message.SubscribeURL);
      } catch (err) {
        if (err instanceof SnsRefused) throw new ApiError('forbidden', err.message, 'SubscribeURL');
        throw new ApiError('service_unavailable', (err as Error).message, 'SubscribeURL');
      }
      deps.logger.info?.({ topic: message.TopicArn }, 'SNS subscription confirmed');
      return c.json({ status: 'confirmed' as const }, 200);
    }
    if (message.Type !== 'Notification') return c.json({ status: 'ignored' as const }, 200);

    let record: unknown;
    try {
      record = JSON.parse(message.Message);
    } catch {
      throw badField('Message', 'Message is not JSON: not an SES event');
    }
    const event = parseSesEvent(record);
    if ('invalid' in event) throw badField(event.invalid.field, event.invalid.message);
    if ('ignored' in event) return c.json({ status: 'ignored' as const }, 200);

    // One transaction: the event, its effects and the breaker's trip are stored together, and a
    // pause signal that cannot be sent rolls them back, so SNS's retry does it all again.
    const stored = await deps.db.transaction(async (tx) => {
      const stored = await recordEvent(tx, message.MessageId, event);
      if (stored.bulkId && (event.type === 'bounce' || event.type === 'complaint')) {
        const reason = await tripBreaker(tx, stored.bulkId, deps.breaker);
        if (reason) await pauseBulk(stored.bulkId, reason);
      }
      return stored;
    });
    // Its send's outcome may have been written while this was in flight (the outcome write looks
    // for unmapped events only after its own write): look again now that the event is committed.
    if (stored.unmapped) await mapUnmappedEvents(deps.db, [event.providerMessageId]);
    // Also for a duplicate: SNS retries a message we answered 503 after storing it, when the
    // emit failed. Each event is emitted under its own id, so a repeat is delivered once.
    await emitProviderEvents(deps.db, deps.emitEvent, event.providerMessageId);
    return c.json({ status: stored.duplicate ? ('duplicate' as const) : ('stored' as const) }, 200);
  });

  async function pauseBulk(bulkId: string, reason: string) {
    try {
      await deps.temporal.workflow.getHandle(bulkWorkflowId(bulkId)).signal(pauseSignal);
      deps.logger.warn?.({ bulkId, reason }, 'reputation breaker paused a bulk');
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err; // the bulk has ended: nothing to pause
    }
  }
}
