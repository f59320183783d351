// A real HTTP receiver of webhooks on a loopback port: records every request as it arrived (raw
// body, headers) and answers as the test says; can go down (connections refused) and come back.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { EventEmitter } from 'node:events';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What the receiver answered. */
  status: number;
}

const flat = (h: IncomingHttpHeaders) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));

export class WebhookReceiver {
  readonly requests: Received[] = [];
  /** The answer to each request (by default 200); may wait, e.g. for the test to act first. */
  reply: (r: Omit<Received, 'status'>) => number | Promise<number> = () => 200;
  private readonly arrivals = new EventEmitter();

  private server = createServer();
  private boundPort = 0;

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.listen(0);
    return receiver;
  }

  get port() {
    return this.boundPort;
  }

  url(path = '/hook') {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests carrying this `webhook-id`. */
  deliveriesOf(eventId: string) {
    return this.requests.filter((r) => r.headers['webhook-id'] === eventId);
  }

  /** The first request (already received or still to come) that matches. */
  next(match: (r: Received) => boolean = () => true): Promise<Received> {
    const found = this.requests.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const on = (r: Received) => {
        if (!match(r)) return;
        this.arrivals.off('request', on);
        resolve(r);
      };
      this.arrivals.on('request', on);
    });
  }

  /** Stops listening: new connections are refused until `up()`. */
  async down(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    this.server = createServer();
    await this.listen(this.port);
  }

  close() {
    return this.server.listening ? this.down() : Promise.resolve();
  }

  private async listen(port: number) {
    this.server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request = { path: req.url ?? '', headers: flat(req.headers), body: Buffer.concat(chunks).toString() };
        void Promise.resolve(this.reply(request)).then((status) => {
          const received = { ...request, status };
          this.requests.push(received);
          res.writeHead(status).end();
          this.arrivals.emit('request', received);
        });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.boundPort = (this.server.address() as { port: number }).port;
  }
}
