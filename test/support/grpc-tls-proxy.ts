// A TLS front for the Temporal dev server (which speaks only plaintext gRPC), standing in for a
// cluster that demands mTLS and an API key: HTTP/2 over TLS with a required client certificate,
// each gRPC call checked for `authorization: Bearer <key>`, then relayed to the dev server.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface GrpcTlsProxy {
  address: string;
  /** gRPC calls relayed upstream (authenticated ones). */
  relayed: number;
  /** Calls answered UNAUTHENTICATED for a missing or wrong API key. */
  refused: number;
  close(): Promise<void>;
}

export async function startGrpcTlsProxy(o: {
  upstream: string;
  key: string;
  cert: string;
  ca: string;
  apiKey: string;
}): Promise<GrpcTlsProxy> {
  const upstream = http2.connect(`http://${o.upstream}`);
  upstream.on('error', () => {});
  const server = http2.createSecureServer({
    key: o.key,
    cert: o.cert,
    ca: o.ca,
    requestCert: true,
    rejectUnauthorized: true,
    allowHTTP1: false,
  });
  const state = { relayed: 0, refused: 0 };
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (headers.authorization !== `Bearer ${o.apiKey}`) {
      state.refused++;
      // A trailers-only gRPC answer: status 16 UNAUTHENTICATED.
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'bad API key' },
        { endStream: true },
      );
      return;
    }
    state.relayed++;
    const forwarded: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name === ':authority' || name === ':scheme' || name === 'authorization') continue;
      forwarded[name] = value;
    }
    const call = upstream.request(forwarded);
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    let trailers: http2.IncomingHttpHeaders | undefined;
    call.on('trailers', (t) => (trailers = t));
    call.on('response', (h) => {
      stream.respond(h, { waitForTrailers: true });
      call.pipe(stream);
    });
    stream.on('wantTrailers', () => {
      if (trailers) stream.sendTrailers(trailers);
      else stream.close();
    });
    stream.on('close', () => call.close());
    stream.pipe(call);
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    get relayed() {
      return state.relayed;
    },
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        upstream.close();
        server.close(() => resolve());
        // Workers' long polls keep sessions open: closing the server alone would wait for them.
        for (const session of sessions) session.destroy();
      }),
  };
}
