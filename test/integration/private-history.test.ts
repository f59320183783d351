// What Temporal stores of a send: encrypted payloads, To/Cc search attributes and never the Bcc,
// while the API still shows everything and the codec endpoint (the Web UI's and the CLI's way in)
// decrypts for whoever holds a key or a console session.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { emailWorkflowId, mailRecipientsKey } from '../../workflows/contracts.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';

const UI_ORIGIN = 'https://temporal-ui.example.test';
let h: Harness;
let server: ServerType;
let apiUrl: string;

beforeAll(async () => {
  h = await startHarness({ env: { TEMPORAL_UI_URL: UI_ORIGIN } });
  // A real port: the Temporal CLI calls the codec endpoint over HTTP.
  server = await new Promise<ServerType>((resolve) => {
    const s: ServerType = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  await h?.close();
});

const unique = randomUUID().slice(0, 8);
const secret = {
  subject: `Confidential merger ${unique}`,
  text: `the body text ${unique}`,
  html: `<p>the html body ${unique}</p>`,
  bcc: `hidden-${unique}@example.com`,
  cc: `copied-${unique}@example.com`,
};
const body = validEmail({ ...secret });
let id: string;

/**
 * `temporal workflow show --output json` of the send, every payload's bytes (base64 there) decoded
 * and joined: what an operator with the CLI reads.
 */
async function shownByCli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    inject('temporalCliPath'),
    [
      ...['workflow', 'show', '--workflow-id', emailWorkflowId(id), '--output', 'json'],
      ...['--address', h.config.TEMPORAL_ADDRESS, '--namespace', h.config.TEMPORAL_NAMESPACE, ...args],
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const out: string[] = [];
  JSON.parse(stdout, (key, value) => {
    if ((key === 'data' || key === 'encoding') && typeof value === 'string')
      out.push(Buffer.from(value, 'base64').toString());
    return value;
  });
  return out.join('\n');
}

const codec = (path: string, body: unknown, headers: Record<string, string>) =>
  h.app.request(`/codec/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('a send in Temporal', () => {
  beforeAll(async () => {
    const res = await h.send(body);
    expect(res.status).toBe(202);
    id = res.body.id as string;
    expect(await h.result(id)).toMatchObject({ status: 'sent' });
  });

  it('leaves no subject, body or Bcc address in the workflow history, its metadata or its search attributes', async () => {
    const handle = h.client.workflow.getHandle(emailWorkflowId(id));
    const history = Buffer.from(proto.temporal.api.history.v1.History.encode(await handle.fetchHistory()).finish());
    const { raw, typedSearchAttributes } = await handle.describe();
    const description = Buffer.from(
      proto.temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse.encode(raw).finish(),
    );
    for (const stored of [history, description])
      for (const plaintext of [secret.subject, secret.text, secret.html, secret.bcc])
        expect(stored.includes(Buffer.from(plaintext)), plaintext).toBe(false);
    // Recipients stay findable by To and Cc, never by Bcc.
    expect(typedSearchAttributes.get(mailRecipientsKey)?.sort()).toEqual([body.to, secret.cc].sort());
    // What `temporal workflow show` prints without the codec: key ids and ciphertext.
    const shown = await shownByCli();
    expect(shown).toContain('binary/encrypted');
    for (const plaintext of [secret.subject, secret.text, secret.html, secret.bcc])
      expect(shown).not.toContain(plaintext);
  });

  it('still shows the subject and Bcc through the API, and delivers the body to every recipient', async () => {
    expect(await h.status(id)).toMatchObject({ subject: secret.subject, cc: [secret.cc], bcc: [secret.bcc] });
    const [copy] = h.ses.messages.filter((m) => m.destination.includes(body.to));
    expect(copy?.destination.sort()).toEqual([body.to, secret.cc, secret.bcc].sort());
    expect(copy!.raw.toString()).toContain(secret.text);
  });

  it('decrypts a payload of that history through the codec endpoint for an API key, as the CLI does', async () => {
    const history = await h.client.workflow.getHandle(emailWorkflowId(id)).fetchHistory();
    const summary = history.events?.[0]?.userMetadata?.summary;
    expect(summary).toBeDefined();
    const encoded = {
      metadata: Object.fromEntries(
        Object.entries(summary!.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(summary!.data!).toString('base64'),
    };
    const res = await codec('decode', { payloads: [encoded] }, { authorization: `Bearer ${API_KEY}` });
    expect(res.status).toBe(200);
    const [decoded] = ((await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] })
      .payloads;
    expect(Buffer.from(decoded!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(decoded!.data, 'base64').toString())).toContain(secret.subject);

    // The real CLI speaks the same protocol to the same endpoint.
    expect(await shownByCli('--codec-endpoint', `${apiUrl}/codec`, '--codec-auth', `Bearer ${API_KEY}`)).toContain(
      secret.subject,
    );
  });
});

describe('the codec endpoint', () => {
  const payload = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: 'InBsYWluIg==' };

  it('refuses a caller with neither an API key nor a console session', async () => {
    expect((await codec('decode', { payloads: [payload] }, {})).status).toBe(401);
    expect((await codec('decode', { payloads: [payload] }, { authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('answers the Web UI: its preflight, and a decode with the console session cookie, for the UI origin only', async () => {
    const preflight = (origin: string) =>
      h.app.request('/codec/decode', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace',
        },
      });
    const ok = await preflight(UI_ORIGIN);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/x-namespace/i);
    expect((await preflight('https://evil.example.test')).headers.get('access-control-allow-origin')).not.toBe(
      'https://evil.example.test',
    );

    const signIn = await h.app.request('/console/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ key: API_KEY, next: '/console/sends' }),
    });
    expect(signIn.headers.getSetCookie().some((c) => /Path=\/codec/.test(c))).toBe(true);
    const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
    const [encoded] = ((await (await codec('encode', { payloads: [payload] }, { cookie })).json()) as any).payloads;
    expect(Buffer.from(encoded.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    const res = await codec('decode', { payloads: [encoded] }, { cookie, origin: UI_ORIGIN, 'x-namespace': 'default' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(((await res.json()) as any).payloads).toEqual([payload]);
  });

  it('names a payload that does not decrypt', async () => {
    const [encoded] = (
      (await (await codec('encode', { payloads: [payload] }, { authorization: `Bearer ${API_KEY}` })).json()) as any
    ).payloads;
    const tampered = {
      ...encoded,
      data: Buffer.from(Buffer.from(encoded.data, 'base64').reverse()).toString('base64'),
    };
    const res = await codec('decode', { payloads: [payload, tampered] }, { authorization: `Bearer ${API_KEY}` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({ code: 'validation_error', field: 'payloads[1]' });
  });
});
