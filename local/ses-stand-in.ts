import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { LocalSns } from './local-sns.js';
import { simulatedEvents } from './ses-simulator.js';

export type SesFault = 'throttle' | 'error500' | 'error503' | 'reject' | 'paused';

export interface SesMessage {
  messageId: string;
  from?: string;
  /** The envelope recipients (`Destination.ToAddresses`). */
  destination: string[];
  raw: Buffer;
  at: number;
}

// What real SES answers for each fault: status and the `x-amzn-errortype` the SDK turns into an error class.
const faults: Record<SesFault, [number, string, string]> = {
  throttle: [429, 'TooManyRequestsException', 'Maximum sending rate exceeded.'],
  error500: [500, 'InternalFailure', 'Internal failure.'],
  error503: [503, 'ServiceUnavailable', 'Service unavailable.'],
  reject: [400, 'MessageRejected', 'Email address is not verified.'],
  paused: [400, 'SendingPausedException', 'Sending is paused for this account.'],
};

/**
 * A small SES v2 HTTP server for tests and benchmarks: it answers `SendEmail` (Raw) and
 * `GetAccount` as SES does, records what it accepts, and can be told to throttle, fail, reject
 * or go down, which the SES emulators cannot.
 */
export class SesStandIn {
  readonly messages: SesMessage[] = [];
  /** Every SendEmail request, including the ones answered with a fault. */
  requests = 0;
  /** When each SendEmail request arrived (epoch ms), in order. */
  readonly requestTimes: number[] = [];
  maxSendRate = 14;
  private readonly events = new EventEmitter();
  private script: SesFault[] = [];
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  /** SendEmail requests waiting at the gate (see hold()). */
  held = 0;
  private rates: Partial<Record<SesFault, number>> = {};
  /** Requests answered TooManyRequestsException because they exceeded the enforced rate. */
  throttled = 0;
  private bucket: { rate: number; tokens: number; at: number } | undefined;
  private readonly sockets = new Set<Socket>();
  private server: Server;
  private simulator: { sns: LocalSns; webhookUrl: string } | undefined;
  /** SNS notifications the mailbox simulator posted, and the webhook's answers. */
  readonly notifications: { type: string; status: number }[] = [];

  private constructor(
    private listenPort: number,
    private readonly random: () => number,
    private readonly forwardTo: string | undefined,
  ) {
    this.server = this.createServer();
  }

  /** `forwardTo`: an SES endpoint (dev mode's emulator) that receives every accepted message too. */
  static async start(opts: { port?: number; random?: () => number; forwardTo?: string } = {}): Promise<SesStandIn> {
    const s = new SesStandIn(opts.port ?? 0, opts.random ?? Math.random, opts.forwardTo);
    await s.up();
    return s;
  }

  /**
   * The SES mailbox simulator: a message to `success@`, `bounce@`, `complaint@` or
   * `suppressionlist@simulator.amazonses.com` (labels allowed: `bounce+x@…`) is followed by the
   * events SES would publish for it, as SNS notifications signed by `sns`, POSTed to `webhookUrl`.
   */
  simulate(o: { sns: LocalSns; webhookUrl: string }) {
    this.simulator = o;
  }

  /** Resolves once `count` simulator notifications have been answered by the webhook. */
  waitForNotifications(count: number): Promise<void> {
    return this.waitFor(() => this.notifications.length >= count);
  }

  get endpoint() {
    return `http://127.0.0.1:${this.listenPort}`;
  }

  /** The next requests fail, in order, with these faults. */
  failNext(...f: SesFault[]) {
    this.script.push(...f);
  }

  /**
   * Enforces `maxSendRate` as SES does: a token bucket refilled at that rate holding half a
   * second of sends, so a short burst passes and anything faster than the rate is throttled.
   */
  enforceRate() {
    this.bucket = { rate: this.maxSendRate, tokens: this.maxSendRate / 2, at: Date.now() };
  }

  /** A token for one send, if the enforced rate has one. */
  private withinRate(): boolean {
    const b = this.bucket;
    if (!b) return true;
    const now = Date.now();
    b.tokens = Math.min(Math.max(1, b.rate / 2), b.tokens + ((now - b.at) * b.rate) / 1000);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Every request fails with each fault at this probability (e.g. `{throttle: 0.3}`). */
  setFaultRates(rates: Partial<Record<SesFault, number>>) {
    this.rates = rates;
  }

  /**
   * Holds SendEmail requests unanswered until release(). A request whose caller disconnects while
   * held is never accepted: what SES does with a request that never fully arrived.
   */
  hold() {
    this.gate ??= new Promise((resolve) => (this.openGate = resolve));
  }

  release() {
    this.openGate?.();
    this.gate = this.openGate = undefined;
  }

  /** Resolves once `count` requests are waiting at the gate. */
  waitForHeld(count: number): Promise<void> {
    return this.waitFor(() => this.held >= count);
  }

  /** Stops listening and drops open connections: callers see ECONNREFUSED. */
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server = this.createServer();
  }

  /** Listens again on the same port. */
  up(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listenPort, '127.0.0.1', () => {
        this.listenPort = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Resolves once `count` SendEmail requests have arrived in total, answered or not. */
  waitForRequests(count: number): Promise<void> {
    return this.waitFor(() => this.requests >= count);
  }

  /** Resolves once `count` messages have been accepted in total. */
  waitForMessages(count: number): Promise<void> {
    return this.waitFor(() => this.messages.length >= count);
  }

  private waitFor(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (done()) {
          this.events.off('change', check);
          resolve();
        }
      };
      this.events.on('change', check);
      check();
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private createServer(): Server {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return server;
  }

  private pickFault(): SesFault | undefined {
    const scripted = this.script.shift();
    if (scripted) return scripted;
    let roll = this.random();
    for (const [fault, p] of Object.entries(this.rates) as [SesFault, number][]) {
      if (roll < p) return fault;
      roll -= p;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const json = (status: number, body: unknown, errorType?: string) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-amzn-requestid': randomUUID(),
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/v2/email/account') {
      return json(200, {
        SendQuota: { Max24HourSend: 1_000_000, MaxSendRate: this.maxSendRate, SentLast24Hours: this.messages.length },
        SendingEnabled: true,
        ProductionAccessEnabled: true,
      });
    }
    if (req.method !== 'POST' || req.url !== '/v2/email/outbound-emails') {
      return json(404, { message: `no route ${req.method} ${req.url}` }, 'NotFoundException');
    }
    this.requests++;
    this.requestTimes.push(Date.now());
    this.events.emit('change');
    if (this.gate) {
      this.held++;
      this.events.emit('change');
      await this.gate;
      this.held--;
      if (req.socket.destroyed || res.destroyed) return;
    }
    let fault = this.pickFault();
    if (!fault && !this.withinRate()) {
      this.throttled++;
      fault = 'throttle';
    }
    if (fault) {
      const [status, type, message] = faults[fault];
      return json(status, { message }, type);
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      FromEmailAddress?: string;
      Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
      Content?: { Raw?: { Data?: string } };
    };
    const data = body.Content?.Raw?.Data;
    if (!data) return json(400, { message: 'Only Raw content is supported by this stand-in' }, 'BadRequestException');
    const d = body.Destination ?? {};
    const message: SesMessage = {
      messageId: `0100${randomUUID().replace(/-/g, '')}-000000`,
      from: body.FromEmailAddress,
      destination: [...(d.ToAddresses ?? []), ...(d.CcAddresses ?? []), ...(d.BccAddresses ?? [])],
      raw: Buffer.from(data, 'base64'),
      at: Date.now(),
    };
    if (this.forwardTo) {
      const forwarded = await fetch(`${this.forwardTo}${req.url}`, {
        method: 'POST',
        // The emulator wants a credential, any: the request's own.
        headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? 'local' },
        body: Buffer.concat(chunks),
      }).catch((err: Error) => err);
      if (forwarded instanceof Error || !forwarded.ok) {
        const why = forwarded instanceof Error ? forwarded.message : `${forwarded.status} ${await forwarded.text()}`;
        return json(503, { message: `forwarding to ${this.forwardTo} failed: ${why}` }, 'ServiceUnavailable');
      }
      message.messageId = ((await forwarded.json()) as { MessageId: string }).MessageId;
    }
    this.messages.push(message);
    this.events.emit('change');
    json(200, { MessageId: message.messageId });
    if (this.simulator) res.once('finish', () => void this.notify(message, this.simulator!));
  }

  /** Posts the message's simulated events in order (Send first), each once the previous was answered. */
  private async notify(message: SesMessage, sim: { sns: LocalSns; webhookUrl: string }) {
    for (const event of simulatedEvents(message)) {
      const status = await LocalSns.post(sim.webhookUrl, sim.sns.notification(JSON.stringify(event))).catch(() => 0);
      this.notifications.push({ type: event.eventType, status });
      this.events.emit('change');
    }
  }
}
