// Temporal's remote codec protocol, so people read what Temporal stores encrypted: the Web UI
// (from the browser, with the console's session cookie) and `temporal workflow show
// --codec-endpoint <api>/codec --codec-auth 'Bearer <key>'`.
import { createRoute, z } from '@hono/zod-openapi';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { getCookie } from 'hono/cookie';
import { cors } from 'hono/cors';
import { createMiddleware } from 'hono/factory';
import type { Db } from '../../db/create-db.js';
import { keyStore, setPrincipal, type AuthEnv } from '../auth.js';
import { isOperator, type Principal } from '../principal.js';
import { SESSION_COOKIE, sessionSigner } from '../console/session.js';
import { ApiError, badField } from '../errors.js';
import { limitBody } from '../read-body.js';
import { errorResponse, router } from '../router.js';

export interface CodecRoutesDeps {
  /** The API's payload codec; undefined when PAYLOAD_PLAINTEXT chose plaintext (the routes then pass payloads through). */
  payloadCodec: PayloadCodec | undefined;
  db: Db;
  apiKeys: string[];
  /** The Temporal Web UI's origin: the only one whose pages may call these routes from a browser. */
  temporalUiUrl: string;
}

// Temporal's payloads are at most 2 MB (base64 adds a third); the UI sends one event's at a time.
const MAX_BODY_BYTES = 4 * 1024 * 1024;

const JsonPayload = z
  .object({
    metadata: z
      .record(z.string(), z.string())
      .nullish()
      .openapi({ description: 'Metadata values in base64 (`encoding`, `encryption-key-id`)' }),
    data: z.string().nullish().openapi({ description: 'The payload bytes in base64' }),
  })
  .openapi('CodecPayload');
const Payloads = z.object({ payloads: z.array(JsonPayload).max(1000) }).openapi('CodecPayloads');
type JsonPayload = z.infer<typeof JsonPayload>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

const codecRoute = (op: 'decode' | 'encode') =>
  createRoute({
    method: 'post',
    path: `/${op}`,
    summary: op === 'decode' ? 'Decrypt Temporal payloads' : 'Encrypt Temporal payloads',
    description:
      (op === 'decode'
        ? 'Payloads Mailroom encrypted (`encoding: binary/encrypted`) come back as they were; any other passes through. '
        : 'Encrypts with the current key of PAYLOAD_KEYS, as the API and workers do. ') +
      "Temporal's remote codec protocol. A bearer API key, or the console's session cookie from the Temporal Web UI's origin (CORS, credentials).",
    security: [{ bearer: [] }],
    middleware: [limitBody(MAX_BODY_BYTES)] as const,
    request: { body: { required: true, content: { 'application/json': { schema: Payloads } } } },
    responses: {
      200: { description: 'The payloads, in order', content: { 'application/json': { schema: Payloads } } },
      400: errorResponse('Not payloads, or a payload that does not decrypt (`field` names it)'),
      401: errorResponse('Missing or invalid API key or session'),
      403: errorResponse("Not an admin key of the default tenant: payloads hold every tenant's data"),
      413: errorResponse('Too large'),
    },
  });

/**
 * A bearer key (scripts, the CLI) or the console's session cookie (the Web UI in a signed-in
 * browser), of an operator: payloads in Temporal belong to every tenant, so only an admin of the
 * default tenant may decode them.
 */
function operatorKeyOrSession(db: Db, apiKeys: string[]) {
  const keys = keyStore(db, apiKeys);
  const signer = sessionSigner(apiKeys);
  return createMiddleware<AuthEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    let principal: Principal | undefined;
    if (header === undefined) {
      const session = signer.verify(getCookie(c, SESSION_COOKIE));
      principal = session && (await keys.byKeyId(session.keyId));
      if (!principal) throw new ApiError('unauthorized', 'a bearer API key or a console session is required');
    } else {
      const found = await keys.authenticate(header);
      if ('error' in found) throw new ApiError('unauthorized', found.error, 'Authorization');
      principal = found;
    }
    if (!isOperator(principal))
      throw new ApiError('forbidden', 'decoding payloads needs an admin key of the default tenant', 'Authorization');
    setPrincipal(c, principal);
    return next();
  });
}

/** POST /codec/decode, /codec/encode. */
export function codecRoutes(deps: CodecRoutesDeps) {
  const app = router<AuthEnv>();
  // Before the key check: a browser's preflight carries no credentials.
  app.use(
    '*',
    cors({
      origin: deps.temporalUiUrl,
      credentials: true,
      allowMethods: ['POST'],
      allowHeaders: ['content-type', 'x-namespace', 'authorization'],
      maxAge: 600,
    }),
  );
  app.use('*', operatorKeyOrSession(deps.db, deps.apiKeys));
  const run = async (op: 'decode' | 'encode', payloads: JsonPayload[]) => {
    const codec = deps.payloadCodec;
    if (!codec) return payloads;
    // One by one, so a payload that does not decrypt is named.
    return Promise.all(
      payloads.map(async (p, i) => {
        try {
          const [out] = await codec[op]([fromJson(p)]);
          return toJson(out!);
        } catch (err) {
          throw badField(`payloads[${i}]`, `payloads[${i}]: ${(err as Error).message}`);
        }
      }),
    );
  };
  return app
    .openapi(codecRoute('decode'), async (c) =>
      c.json({ payloads: await run('decode', c.req.valid('json').payloads) }, 200),
    )
    .openapi(codecRoute('encode'), async (c) =>
      c.json({ payloads: await run('encode', c.req.valid('json').payloads) }, 200),
    );
}
