// `POST /api/email/send`: the email_server form API, for senders written against that service. An
import { emailWorkflowId } from '../../workflows/contracts.js';
// adapter only: the form's fields become a SendRequest, validated and accepted as `POST /v1/emails`.
import { createRoute, z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { acceptEmail } from '../accept-email.js';
import { bearerAuth, keyStore, requireScope, type AuthEnv } from '../auth.js';
import { ApiError, badField } from '../errors.js';
import type { AttachmentUpload } from '../fields.js';
import { formatAddress } from '../../mail/addresses.js';
import { asApiError, fileUpload, limitStreamedBody, readForm } from '../read-body.js';
import { router } from '../router.js';
import { parseSendRequest } from '../send-request.js';
import type { EmailRoutesDeps } from './emails.js';

export interface EmailFormDeps extends EmailRoutesDeps {
  apiKeys: string[];
  /** The sender every form send goes out as; `sender_name` only sets its display name. */
  compatFromAddress?: string;
}

/** Our field names → the form's, so an error's `data` names what the caller sent. */
const formField: Record<string, string> = {
  from: 'sender_name',
  to: 'receiver',
  subject: 'title',
  html: 'content',
  attachments: 'attachment',
};
const toFormField = (field: string | undefined) => {
  if (!field) return null;
  const [head, ...rest] = field.split(/(?=[[.])/);
  return `${formField[head!] ?? head}${rest.join('')}`;
};

/**
 * email_server's envelope on every answer of these routes, errors included:
 * `{code, message, data}`, with the HTTP status as `code` and `Param is invalid` for bad input.
 */
const envelope = createMiddleware(async (c, next) => {
  await next();
  if (c.res.status < 400) return;
  const status = c.res.status as ContentfulStatusCode;
  const body = (await c.res.json().catch(() => ({}))) as { error?: { message?: string; field?: string } };
  const invalid = status === 400 || status === 413;
  c.res = c.json(
    {
      code: status,
      message: invalid ? 'Param is invalid' : (body.error?.message ?? 'error'),
      data: toFormField(body.error?.field),
    },
    status,
  );
});

const FormAnswer = z
  .object({
    code: z.number().int().openapi({ description: 'The HTTP status: 200, or 400 for bad input' }),
    message: z.string().openapi({ examples: ['success', 'Param is invalid'] }),
    data: z
      .string()
      .nullable()
      .openapi({ description: 'On success the Mailroom id (`GET /v1/emails/{id}`); on 400 the form field at fault' }),
  })
  .openapi('EmailServerAnswer');

// Documentation only: the handler reads the form itself (files, repeated fields), so the schema
// is a plain OpenAPI object that the router does not validate against.
const FormBody: { type: 'object'; required: string[]; properties: Record<string, object> } = {
  type: 'object',
  required: ['title', 'content', 'receiver'],
  properties: {
    title: { type: 'string', description: 'Subject' },
    content: { type: 'string', description: 'HTML body' },
    sender_name: { type: 'string', description: 'Display name of COMPAT_FROM_ADDRESS' },
    receiver: { type: 'string', description: 'Comma-separated addresses, all in To' },
    receiver_name: { type: 'string', description: 'Comma-separated display names, matched to `receiver` by position' },
    'attachment[]': { type: 'array', items: { type: 'string', format: 'binary' } },
  },
};

const answer = (description: string) => ({ description, content: { 'application/json': { schema: FormAnswer } } });

const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim());

export function emailFormRoutes(deps: EmailFormDeps) {
  const maxBody = deps.limits.maxMessageBytes + 256 * 1024;
  const app = router<AuthEnv>();
  // Outside the envelope, an auth failure would answer in the API's own shape.
  app.use('*', envelope, bearerAuth(deps.db, keyStore(deps.db, deps.apiKeys)), requireScope('send'));
  return app.openapi(
    createRoute({
      method: 'post',
      path: '/send',
      summary: 'Send one email (email_server form API)',
      description:
        'A drop-in for senders written against email_server: the form becomes one send, as `POST /v1/emails` ' +
        'with `from` = `sender_name <COMPAT_FROM_ADDRESS>`, `subject` = `title`, `html` = `content`, ' +
        '`to` = `receiver` (named by `receiver_name`) and the `attachment[]` files. Every answer, errors ' +
        'included, is `{code, message, data}`. No Idempotency-Key: a repeated post is a second send.',
      tags: ['Drop-in ingresses'],
      middleware: [limitStreamedBody(maxBody)] as const,
      request: { body: { required: true, content: { 'multipart/form-data': { schema: FormBody } } } },
      responses: {
        200: answer('Accepted: `data` is the id'),
        400: answer('Bad input: `data` names the form field'),
        401: answer('Missing or invalid API key'),
        413: answer('Too large'),
        503: answer('A dependency is unreachable, or COMPAT_FROM_ADDRESS is not set; nothing was sent'),
      },
    }),
    async (c) => {
      const sender = deps.compatFromAddress;
      if (!sender)
        throw new ApiError('service_unavailable', 'the form API needs COMPAT_FROM_ADDRESS (the sender address)');
      const request = await asApiError(async () => {
        if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('multipart/form-data'))
          throw new ApiError('unsupported_media_type', 'send multipart/form-data', 'Content-Type');
        const { form } = await readForm(c);
        const text = (name: string) => {
          const v = form[name];
          if (v === undefined) return undefined;
          if (typeof v !== 'string') throw badField(name, `${name} must be one text field`);
          return v;
        };
        const files: AttachmentUpload[] = [];
        for (const name of ['attachment', 'attachment[]']) {
          const values = form[name] === undefined ? [] : [form[name]].flat();
          for (const v of values) {
            const field = `attachment[${files.length}]`;
            files.push(await fileUpload(v, field, `${field} must be a file`));
          }
        }
        const receivers = text('receiver');
        const names = list(text('receiver_name'));
        const senderName = text('sender_name')?.trim();
        return parseSendRequest(
          {
            from: formatAddress({ name: senderName, address: sender }),
            to:
              receivers === undefined
                ? undefined
                : list(receivers).map((a, i) => formatAddress({ name: names[i], address: a })),
            subject: text('title'),
            html: text('content'),
          },
          files,
          deps.limits,
        );
      });
      const accepted = await acceptEmail(deps, request, c.get('principal'), undefined);
      c.set('sendIds', { messageId: accepted.id, workflowId: emailWorkflowId(accepted.id) });
      return c.json({ code: 200, message: 'success', data: accepted.id }, 200);
    },
  );
}
