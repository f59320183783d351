import { z } from 'zod';
import { bulkBody } from './bulk-request.js';
import { sendEmailBody } from './send-request.js';

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        field: { type: 'string', description: 'The input field at fault (4xx)' },
        dependency: {
          type: 'string',
          enum: ['database', 'temporal', 'storage'],
          description: 'With 503: the dependency that could not be reached',
        },
        id: {
          type: 'string',
          description: 'With 503 on a send: the id of the stored send (still `queued`), to poll or retry with',
        },
      },
      required: ['code', 'message'],
    },
  },
};
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
/** The 503 every route that needs the database or Temporal can answer. */
const unavailableResponse = (
  description = 'A dependency (`error.dependency`) is unreachable; retry after `Retry-After` seconds',
) => ({
  ...errorResponse(description),
  headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } },
});
const sendUnavailable = unavailableResponse(
  'A dependency (`error.dependency`) is unreachable. When `error.id` is present the send is stored and ' +
    '`queued` but not started: repeat with the same `Idempotency-Key` (or poll the id; it is started ' +
    'by the repair schedule). Otherwise nothing was stored. Retry after `Retry-After` seconds.',
);

/** The public contract, generated from the same zod schema that validates requests. */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: { title: 'Mailroom API', version: '1' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        SendEmail: z.toJSONSchema(sendEmailBody, { io: 'input', unrepresentable: 'any' }),
        SendBulk: z.toJSONSchema(bulkBody, { io: 'input', unrepresentable: 'any' }),
        Error: errorSchema,
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/emails': {
        post: {
          summary: 'Send one email',
          description:
            'Validates, stores attachments in S3 and starts one durable workflow (`email-<id>`). ' +
            'Send the same `Idempotency-Key` again to get the same id without a second send. ' +
            'Also accepts multipart/form-data with the same fields and files under `attachments`.',
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/SendEmail' } },
              'multipart/form-data': { schema: { type: 'object' } },
            },
          },
          responses: {
            '202': {
              description: 'Accepted and queued',
              content: {
                'application/json': {
                  schema: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } },
                },
              },
            },
            '400': errorResponse('Invalid input; `field` names the culprit'),
            '401': errorResponse('Missing or invalid API key'),
            '409': errorResponse('Idempotency-Key reused with a different request'),
            '413': errorResponse('Too large'),
            '415': errorResponse('Unsupported content type'),
            '503': sendUnavailable,
          },
        },
      },
      '/v1/emails/{id}': {
        get: {
          summary: 'Status of one email: provider, provider message id, every attempt',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': {
              description:
                'The email. `status`: `queued`, `sending`, `sent`, `failed` or `unknown` (a provider may have it but ' +
                'never answered: held, not resent; Reset the workflow to send again). `attempts[]`: every provider ' +
                'call with `outcome` (`pending` while in flight, `sent`, `retryable_error`, `unavailable`, `rejected`, ' +
                '`unknown`), `error_code`, `error_message`, `rejected_recipients` (recipients refused while the ' +
                'others were accepted) and `routed_by` (set when the call skipped the first-choice provider because ' +
                'its circuit was open, e.g. `SES circuit open: since … after 5 failure(s); last: SES ServiceUnavailable: …`).',
            },
            '404': errorResponse('No such email for this API key'),
            '503': unavailableResponse(),
          },
        },
      },
      '/v1/bulk': {
        post: {
          summary: 'Send one message to many recipients, an individual copy each',
          description:
            'Subject, html and text are Handlebars templates ({{name}}, {{email}}, {{data.x}}), checked against every ' +
            'recipient at submission. `mode: strict` refuses the request if any recipient is invalid (listed in ' +
            '`error.rejected`); `lenient` skips them and lists them in `rejected`. Recipients may also be uploaded ' +
            'as a CSV file (`email,name,<data columns>`) in multipart/form-data. Starts the workflow `bulk-<id>`.',
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/SendBulk' } },
              'multipart/form-data': { schema: { type: 'object' } },
            },
          },
          responses: {
            '202': { description: 'Accepted: `{id, status, total, accepted, rejected: [{index, reason}]}`' },
            '400': errorResponse('Invalid input; `field` names the culprit, `rejected` lists bad recipients'),
            '401': errorResponse('Missing or invalid API key'),
            '409': errorResponse('Idempotency-Key reused with a different request'),
            '413': errorResponse('Too large'),
            '503': sendUnavailable,
          },
        },
      },
      '/v1/bulk/{id}': {
        get: {
          summary: 'Status and exact counts: total = sent + failed + cancelled + pending + unknown',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': {
              description:
                'The bulk: `status`, `status_reason`, the counts — `unknown`: recipients held after two unanswered ' +
                'provider calls — and `possible_duplicates` (sent recipients one of whose provider calls never ' +
                'answered, so they may hold two copies).',
            },
            '404': errorResponse('No such bulk for this API key'),
            '503': unavailableResponse(),
          },
        },
      },
      '/v1/bulk/{id}/recipients': {
        get: {
          summary: 'Per-recipient outcomes, paged by `cursor` (the last index of the previous page)',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            {
              name: 'status',
              in: 'query',
              schema: {
                type: 'string',
                enum: ['pending', 'claimed', 'sending', 'sent', 'failed', 'cancelled', 'unknown'],
              },
            },
            { name: 'cursor', in: 'query', schema: { type: 'integer' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 1000, default: 100 } },
          ],
          responses: { '200': { description: '`{data: [...], next_cursor}`' }, '503': unavailableResponse() },
        },
      },
      ...Object.fromEntries(
        (['pause', 'resume', 'cancel'] as const).map((action) => [
          `/v1/bulk/{id}/${action}`,
          {
            post: {
              summary: `${action[0]!.toUpperCase()}${action.slice(1)} a bulk (the workflow's \`${action}\` signal, as an update)`,
              parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
              responses: {
                '200': { description: 'The new progress: `{phase, cursor, total, ratePerSecond, run}`' },
                '409': errorResponse('The bulk has finished'),
                '503': unavailableResponse(),
              },
            },
          },
        ]),
      ),
      '/health': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'Alive' } } } },
      '/ready': {
        get: {
          summary: 'Readiness: Temporal and the database answer; with an API key, each provider circuit too',
          description:
            'Without credentials: `status` and `checks`. With a valid `Authorization: Bearer <key>` the body also has ' +
            '`providers.ses` and `providers.smtp`: `state` (`closed`, or `open`: sends go to the other provider and ' +
            'this one gets one probe per CIRCUIT_PROBE_SECONDS), `endpoint`, `failures` (counted toward opening), ' +
            '`lastFailure`, `lastChangeAt`, `nextProbeAt` and `opens`. An open circuit does not make the API unready.',
          security: [{}, { bearer: [] }],
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          description:
            '`mailroom_provider_circuit_open{provider}` (1 while open), `mailroom_provider_circuit_failures`, ' +
            '`mailroom_provider_circuit_opens`, `mailroom_provider_circuit_last_change_timestamp_seconds`.',
          security: [],
          responses: { '200': { description: 'Prometheus text format' } },
        },
      },
    },
  };
}
