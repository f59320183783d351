// The API reference page, served entirely by the API: Swagger UI's files come from the installed
// swagger-ui-dist package, so `/docs` renders on a host with no outbound network.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';

const require = createRequire(import.meta.url);
const distDir = dirname(require.resolve('swagger-ui-dist/package.json'));
const { version } = require('swagger-ui-dist/package.json') as { version: string };

/** Where the page's assets live; the package version in the path lets browsers cache them for good. */
export const docsAssetsPath = `/docs/assets/${version}`;

// Only these files are served: the package also holds source maps and an example index page.
const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

// In a file of ours rather than inline, so the page's CSP can forbid inline scripts.
// validatorUrl: null, or Swagger UI shows a badge fetched from validator.swagger.io.
const initScript = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
`;

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Mailroom API</title>
  <link rel="stylesheet" href="${docsAssetsPath}/swagger-ui.css">
  <link rel="icon" type="image/png" href="${docsAssetsPath}/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${docsAssetsPath}/swagger-ui-bundle.js"></script>
  <script src="${docsAssetsPath}/init.js"></script>
</body>
</html>
`;

/** Same-origin only: a belt to the braces of serving every file ourselves. */
export const selfOnlyCsp =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
  "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const cached = new Map<string, Promise<Buffer>>();
function asset(name: string): Promise<Buffer> {
  let file = cached.get(name);
  if (!file) {
    file = readFile(join(distDir, name));
    // A failed read is not cached: the next request tries again.
    file.catch(() => cached.delete(name));
    cached.set(name, file);
  }
  return file;
}

/** GET /docs and its assets. */
export function docsRoutes() {
  const immutable = { 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' };
  return new Hono()
    .get('/', (c) => c.html(page, 200, { 'content-security-policy': selfOnlyCsp, 'cache-control': 'no-cache' }))
    .get(`/assets/${version}/init.js`, (c) =>
      c.body(initScript, 200, { 'content-type': 'text/javascript; charset=utf-8', ...immutable }),
    )
    .get(`/assets/${version}/:file`, async (c) => {
      const type = assets[c.req.param('file')];
      if (!type) return c.notFound();
      const body = await asset(c.req.param('file'));
      return c.body(new Uint8Array(body), 200, { 'content-type': type, ...immutable });
    });
}
