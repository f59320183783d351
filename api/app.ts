import type { Logger } from 'pino';
import type { Context } from 'hono';
import { httpInstrumentationMiddleware } from '@hono/otel';
import { trace } from '@opentelemetry/api';
import { requestId, type RequestIdVariables } from 'hono/request-id';
import { routePath } from 'hono/route';
import { bearerAuth, keyStore, type AuthEnv } from './auth.js';
import { consoleRoutes, type ConsoleDeps } from './console/app.js';
import { docsRoutes } from './docs.js';
import { ApiError, handleError } from './errors.js';
import { router } from './router.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { bulkRoutes, type BulkRoutesDeps } from './routes/bulk.js';
import { codecRoutes, type CodecRoutesDeps } from './routes/codec.js';
import { emailFormRoutes, type EmailFormDeps } from './routes/email-form.js';
import { emailRoutes } from './routes/emails.js';
import { healthRoutes, type HealthRoutesDeps } from './routes/health.js';
import { sesV2Routes, type SesV2Deps } from './routes/ses-v2.js';
import { sesWebhookRoutes, type SesWebhookDeps } from './routes/ses-webhook.js';
import { suppressionRoutes } from './routes/suppressions.js';
import { webhookEndpointRoutes, type WebhookEndpointRoutesDeps } from './routes/webhook-endpoints.js';

const ignore = { unexpected: () => {}, unavailable: () => {} };

export interface AppDeps
  extends
    EmailFormDeps,
    Omit<SesV2Deps, 'logger'>,
    BulkRoutesDeps,
    HealthRoutesDeps,
    WebhookEndpointRoutesDeps,
    Omit<SesWebhookDeps, 'logger'>,
    Pick<CodecRoutesDeps, 'payloadCodec'>,
    Pick<ConsoleDeps, 'console'> {
  logger: Pick<Logger, 'error'> & Partial<Pick<Logger, 'info' | 'warn'>>;
  /** Each request a server span (continuing a caller's `traceparent`): the process registered a tracer provider. */
  traced?: boolean;
}

/** The whole HTTP API; tests call `createApp(deps).request(...)`, the server entry listens. */
export function createApp(deps: AppDeps) {
  const app = router<{ Variables: RequestIdVariables & Partial<AuthEnv['Variables']> }>();
  // What every line about a request carries: its id (the caller's X-Request-Id, or a new one,
  // answered in the same header) and its route's pattern — never the raw path, which can hold an
  // address (`/v1/suppressions/{email}`).
  const about = (c: Context<{ Variables: RequestIdVariables }>) => ({
    requestId: c.get('requestId'),
    route: routePath(c, -1),
  });
  if (deps.traced) {
    app.use('*', httpInstrumentationMiddleware({ captureActiveRequests: false }));
    // The middleware records the full URL, and a path or query can hold an address
    // (`/v1/suppressions/{email}`, `?to=`): the span keeps the route's pattern instead.
    app.use('*', async (c, next) => {
      try {
        await next();
      } finally {
        trace.getActiveSpan()?.setAttribute('url.full', `${new URL(c.req.url).origin}${routePath(c, -1)}`);
      }
    });
  }
  app.use('*', requestId());
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    deps.logger.info?.(
      {
        ...about(c),
        method: c.req.method,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
        tenant: c.get('tenantId'),
        ...c.get('sendIds'),
      },
      'request',
    );
  });
  app.onError((err, c) =>
    handleError(err, c, {
      unexpected: (e) => deps.logger.error({ err: e, ...about(c) }, 'unhandled error'),
      // An outage is not a bug: no stack per refused request. The logger's serializer keeps a
      // database error to its class and code (drizzle's message quotes every bound value).
      unavailable: (e, dependency) => deps.logger.error({ dependency, err: e, ...about(c) }, 'dependency unavailable'),
    }),
  );
  app.notFound((c) => handleError(new ApiError('not_found', `no route ${c.req.method} ${c.req.path}`), c, ignore));

  app.route('/', healthRoutes(deps));
  // Signed by SNS, not by an API key: mounted before the bearer check.
  app.route('/v1/webhooks/ses', sesWebhookRoutes(deps));
  const keys = keyStore(deps.db, deps.apiKeys);
  app.use('/v1/*', bearerAuth(deps.db, keys));
  app.route('/v1/api-keys', apiKeyRoutes(deps));
  app.route('/v1/suppressions', suppressionRoutes(deps));
  app.route('/v1/emails', emailRoutes(deps));
  app.route('/v1/bulk', bulkRoutes(deps));
  app.route('/v1/webhook-endpoints', webhookEndpointRoutes(deps));
  // Drop-in ingresses: other services' shapes onto the same accept path.
  app.route('/api/email', emailFormRoutes(deps));
  // Signed with AWS Signature Version 4 (SES_ACCESS_KEYS), not bearer keys.
  app.route('/v2/email', sesV2Routes(deps));
  // Its own authentication: a bearer key, or the console's session from the Temporal Web UI.
  app.route('/codec', codecRoutes({ ...deps, temporalUiUrl: deps.console.temporalUiUrl }));

  // The document is generated from the routes' own schemas: what validates a request documents it.
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Mailroom API', version: '1' },
    security: [{ bearer: [] }],
  });
  app.route('/docs', docsRoutes());
  // HTML for people, outside the API document; its own sign-in, the same queries and controls.
  app.route('/console', consoleRoutes({ ...deps, keys }));
  return app;
}
