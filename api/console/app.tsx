// The operator console: server-rendered pages over the same queries and controls as the JSON API,
// for the signed-in API key's own records only.
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { Client } from '@temporalio/client';
import type { ConsoleSettings } from '../../config/config.js';
import type { ProviderEndpoints } from '../../db/circuits.js';
import type { Db } from '../../db/create-db.js';
import { countAgainstLimit, setPrincipal, type AuthEnv, type KeyStore } from '../auth.js';
import { assertScope, type Principal } from '../principal.js';
import { limitBody } from '../read-body.js';
import { unavailableDependency } from '../dependency-errors.js';
import { ApiError, errorStatus, unavailable, RETRY_AFTER_SECONDS } from '../errors.js';
import { bulkPages } from './bulks.js';
import { page, type Viewer } from './layout.js';
import { sendPages } from './sends.js';
import { consoleScript, scriptName } from './script.js';
import { SESSION_COOKIE, sessionSigner } from './session.js';
import { settingsPages } from './settings.js';
import { SignIn } from './sign-in.js';

export interface ConsoleDeps {
  db: Db;
  temporal: Client;
  /** API_KEYS, whose sessions are signed with secrets derived from them. */
  apiKeys: string[];
  keys: KeyStore;
  providerEndpoints: ProviderEndpoints;
  console: ConsoleSettings;
  logger: { error(obj: unknown, msg?: string): void };
}

export type ConsoleEnv = { Variables: AuthEnv['Variables'] & { viewer: Viewer } };
export type ConsoleContext = Context<ConsoleEnv>;

/** Only a path of the console itself: never an open redirect. */
const safeNext = (next: unknown) =>
  typeof next === 'string' && /^\/console(\/[\w\-./?=&%]*)?$/.test(next) && !next.includes('//')
    ? next
    : '/console/sends';

export function consoleRoutes(deps: ConsoleDeps) {
  const signer = sessionSigner(deps.apiKeys);
  const ttlSeconds = deps.console.sessionHours * 3600;
  const app = new Hono<ConsoleEnv>();

  // The session is sent to the console and to the codec endpoint (the Temporal Web UI decrypting
  // payloads from a signed-in browser), nowhere else.
  const cookiePaths = ['/console', '/codec'];
  const cookieOptions = (c: Context, path: string) => ({
    path,
    httpOnly: true,
    sameSite: 'Strict' as const,
    // Behind a TLS-terminating proxy the app sees http; the header can only make the cookie stricter.
    secure: new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https',
  });

  app.onError(async (err, c) => {
    const dependency = err instanceof ApiError ? undefined : unavailableDependency(err);
    const known = err instanceof ApiError ? err : dependency ? unavailable(dependency, { cause: err }) : undefined;
    if (!known) deps.logger.error({ err, path: c.req.path }, 'unhandled error');
    else if (dependency) deps.logger.error({ dependency, err, path: c.req.path }, 'dependency unavailable');
    if (known?.code === 'service_unavailable') c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    const status = known ? errorStatus[known.code] : 500;
    const viewer = c.get('viewer');
    return page(c, status, {
      title: 'Error',
      viewer,
      children: (
        <>
          <h1>{known ? `${status}: ${known.code.replace(/_/g, ' ')}` : 'Something went wrong'}</h1>
          <p class="notice error" role="alert">
            {known ? known.message : 'An unexpected error; it has been logged.'}
          </p>
          <p>
            <a href="/console/sends">Back to the console</a>
          </p>
        </>
      ),
    });
  });

  // Console forms are a few fields: nothing larger is read, signed in or not.
  app.use('*', limitBody(16 * 1024));

  app.get(`/assets/${scriptName}`, (c) =>
    c.body(consoleScript, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    }),
  );

  app.get('/sign-in', (c) =>
    page(c, 200, { title: 'Sign in', children: <SignIn next={safeNext(c.req.query('next'))} /> }),
  );

  app.post('/sign-in', async (c) => {
    // Login CSRF: a form posted from another site must not sign the browser in to the attacker's key.
    const origin = c.req.header('origin');
    if (origin && origin !== new URL(c.req.url).origin) throw new ApiError('forbidden', 'cross-site sign-in refused');
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    const key = typeof form.key === 'string' ? form.key.trim() : '';
    if (!key) return page(c, 400, { title: 'Sign in', children: <SignIn next={next} error="Enter an API key." /> });
    const checked = await deps.keys.authenticate(`Bearer ${key}`);
    if ('error' in checked)
      return page(c, 401, { title: 'Sign in', children: <SignIn next={next} error="That API key is not valid." /> });
    if (!checked.scopes.includes('read'))
      return page(c, 403, {
        title: 'Sign in',
        children: <SignIn next={next} error="That API key lacks the read scope the console needs." />,
      });
    const { cookie } = signer.issue(checked.keyId, ttlSeconds);
    for (const path of cookiePaths)
      setCookie(c, SESSION_COOKIE, cookie, { ...cookieOptions(c, path), maxAge: ttlSeconds });
    return c.redirect(next, 303);
  });

  /** The key's tenant and what it may do, for the pages and controls; every page needs `read`. */
  const signedIn = async (c: ConsoleContext, principal: Principal) => {
    setPrincipal(c, principal);
    await countAgainstLimit(c, deps.db, principal);
    assertScope(principal, 'read');
  };

  // Every route below needs a signed-in key: a session cookie, or a bearer key for scripts.
  app.use(
    '*',
    createMiddleware<ConsoleEnv>(async (c, next) => {
      const header = c.req.header('authorization');
      if (header !== undefined) {
        const key = await deps.keys.authenticate(header);
        if ('error' in key) throw new ApiError('unauthorized', key.error);
        // A browser never sends this header by itself, so a bearer request cannot be forged cross-site.
        c.set('viewer', {});
        await signedIn(c, key);
        return next();
      }
      const session = signer.verify(getCookie(c, SESSION_COOKIE));
      // A revoked key's session ends with it: its key is looked up on every request.
      const principal = session && (await deps.keys.byKeyId(session.keyId));
      if (!session || !principal) {
        if (c.req.method === 'GET' || c.req.method === 'HEAD')
          return c.redirect(`/console/sign-in?next=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}`, 303);
        throw new ApiError('unauthorized', 'sign in first');
      }
      c.set('viewer', { csrf: session.csrf });
      await signedIn(c, principal);
      if (c.req.method === 'POST') {
        const form = await c.req.parseBody();
        if (!signer.csrfMatches(session, form.csrf))
          throw new ApiError('forbidden', 'the form is stale or was not sent by this console; reload and try again');
      }
      return next();
    }),
  );

  app.post('/sign-out', (c) => {
    for (const path of cookiePaths) deleteCookie(c, SESSION_COOKIE, cookieOptions(c, path));
    return c.redirect('/console/sign-in', 303);
  });
  app.get('/', (c) => c.redirect('/console/sends', 303));
  sendPages(app, deps);
  bulkPages(app, deps);
  settingsPages(app, deps);
  app.all('*', (c) => {
    throw new ApiError('not_found', `no page ${c.req.path}`);
  });
  return app;
}
