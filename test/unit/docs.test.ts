import { describe, expect, it } from 'vitest';
import { docsAssetsPath, docsRoutes } from '../../api/docs.js';
import { Hono } from 'hono';

const app = new Hono().route('/docs', docsRoutes());

describe('the API reference page', () => {
  it('references only its own assets, under a same-origin-only CSP', async () => {
    const res = await app.request('/docs');
    expect(res.status).toBe(200);
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) expect(ref.startsWith(`${docsAssetsPath}/`)).toBe(true);
    expect(html).not.toMatch(/https?:\/\//);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('serves Swagger UI from the installed package with its content type and a long cache', async () => {
    for (const [file, type] of [
      ['swagger-ui-bundle.js', 'text/javascript'],
      ['swagger-ui.css', 'text/css'],
      ['init.js', 'text/javascript'],
      ['favicon-32x32.png', 'image/png'],
    ]) {
      const res = await app.request(`${docsAssetsPath}/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const init = await (await app.request(`${docsAssetsPath}/init.js`)).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null');
  });

  it('serves nothing else from the package', async () => {
    for (const path of ['index.html', 'package.json', 'swagger-ui-bundle.js.map', '..%2Fpackage.json'])
      expect((await app.request(`${docsAssetsPath}/${path}`)).status, path).toBe(404);
    expect((await app.request('/docs/assets/0.0.0/swagger-ui.css')).status).toBe(404);
  });
});
