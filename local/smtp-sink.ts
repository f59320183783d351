import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SmtpMail {
  from: string;
  to: string[];
  raw: Buffer;
  at: number;
}

/**
 * Where in a session a test control applies: `CONNECT` is the greeting, `AUTH` the reply to the
 * login, `MAIL`/`RCPT` the replies to MAIL FROM and RCPT TO, `DATA` the final reply after the
 * message data (the one that says whether the relay took the message).
 */
export type SinkStage = 'CONNECT' | 'AUTH' | 'MAIL' | 'RCPT' | 'DATA';

export type SinkAction =
  /** Answer with this SMTP code (and text) instead of accepting. */
  | { reply: number; message?: string }
  /** Close the connection without answering. At `DATA` the message is kept first (see below). */
  | { drop: true }
  /** Answer as usual, but only after `delayMs` (`Infinity`: never; the client has to give up). */
  | { delayMs: number };

export interface SinkRuleOptions {
  /** `RCPT` only: the recipients the rule is for (default: every recipient). */
  to?: string | string[];
  /** How many times the rule applies before it is used up (default: until `reset()`). */
  times?: number;
}

interface Rule {
  stage: SinkStage;
  action: SinkAction;
  to?: Set<string>;
  times: number;
}

export interface SmtpSinkOptions {
  port?: number;
  onMail?: (mail: SmtpMail) => void;
  /**
   * Require AUTH (PLAIN or LOGIN) with these credentials, like a submission relay: a wrong
   * password gets `535`, MAIL FROM before a login gets `530`. Without `starttls`, AUTH is offered
   * in clear text, so a test can see whether a client would send its password over it.
   */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS, like a submission relay on 587. */
  starttls?: boolean;
  /** Implicit TLS from the first byte, like a relay on 465 (`smtps://`). */
  secure?: boolean;
  /**
   * The certificate (PEM) for `starttls` and `secure`; default: smtp-server's built-in one for
   * localhost, self-signed and expired, which a client that checks certificates refuses.
   */
  tls?: { key: string; cert: string };
}

/**
 * An SMTP server that accepts everything and keeps what it receives: the dev-mode fallback target
 * and the tests' SMTP peer. By default it has no auth and no TLS.
 *
 * Tests make it behave like a real relay with the controls below: `reply(stage, code)` answers a
 * code at a stage (`RCPT` for given recipients), `dropAt(stage)` closes the connection without an
 * answer, `delayAt(stage, ms)` answers late; `failNext(code…)` answers the next messages' data
 * with those codes; `hangUp()` ends the open sessions as a relay's idle timeout does. When the
 * connection is dropped or the reply held after the message data, the message is kept in `mails`
 * anyway: a relay that lost the connection at that point may well have queued it, and a test
 * double should show the worst case (a resend is a duplicate).
 */
export class SmtpSink {
  readonly mails: SmtpMail[] = [];
  /** Usernames of every AUTH attempt, right or wrong (never the passwords). */
  readonly authAttempts: string[] = [];
  private opened = 0;
  private readonly events = new EventEmitter();
  private rules: Rule[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
    private readonly scheme: 'smtp' | 'smtps',
  ) {}

  static async start(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
    let sink!: SmtpSink;
    const disabledCommands = [...(opts.starttls ? [] : ['STARTTLS']), ...(opts.auth ? [] : ['AUTH'])];
    const server = new SMTPServer({
      authOptional: !opts.auth,
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: !opts.starttls && !opts.secure,
      disabledCommands,
      secure: opts.secure ?? false,
      ...opts.tls,
      logger: false,
      size: 50 * 1024 * 1024,
      onConnect(session, callback) {
        sink.opened++;
        sink.apply('CONNECT', session, callback);
      },
      onAuth(auth, session, callback) {
        sink.authAttempts.push(auth.username ?? '');
        sink.apply('AUTH', session, (err) => {
          if (err) return callback(err);
          if (auth.username !== opts.auth?.user || auth.password !== opts.auth?.pass)
            return callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
          callback(null, { user: auth.username });
        });
      },
      onMailFrom(_address, session, callback) {
        sink.apply('MAIL', session, callback);
      },
      onRcptTo(address, session, callback) {
        sink.apply('RCPT', session, callback, address.address);
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const keep = () => {
            const mail: SmtpMail = {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: Buffer.concat(chunks),
              at: Date.now(),
            };
            sink.mails.push(mail);
            opts.onMail?.(mail);
            sink.events.emit('mail');
          };
          sink.apply('DATA', session, callback, undefined, keep);
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    sink = new SmtpSink(server, (server.server.address() as AddressInfo).port, opts.secure ? 'smtps' : 'smtp');
    return sink;
  }

  /** Connections ever opened to the sink: how a test sees whether a client reuses them. */
  get connectionsOpened() {
    return this.opened;
  }

  /** `smtp://127.0.0.1:port`, or `smtps://…` for a `secure` sink. */
  get url() {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** The URL with credentials in it (`smtp://user:pass@127.0.0.1:port`), percent-encoded. */
  urlWith(user: string, pass: string) {
    return `${this.scheme}://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${this.port}`;
  }

  /** Answers the data of the next messages with these codes, one message each. */
  failNext(...codes: number[]) {
    for (const code of codes) this.reply('DATA', code, { times: 1 });
  }

  /** Answers `code` at `stage` instead of accepting (e.g. `reply('RCPT', 550, { to: 'b@x.test' })`). */
  reply(stage: SinkStage, code: number, opts: SinkRuleOptions & { message?: string } = {}) {
    this.addRule(stage, { reply: code, message: opts.message }, opts);
  }

  /** Closes the connection at `stage` without answering (at `DATA`: after the message data arrived). */
  dropAt(stage: SinkStage, opts: SinkRuleOptions = {}) {
    this.addRule(stage, { drop: true }, opts);
  }

  /** Holds the answer at `stage` for `ms` (`Infinity`: never answers). */
  delayAt(stage: SinkStage, ms: number, opts: SinkRuleOptions = {}) {
    this.addRule(stage, { delayMs: ms }, opts);
  }

  /**
   * Ends every open session the way a relay ends idle ones after its timeout: `421`, then the
   * connection is closed.
   */
  hangUp() {
    for (const connection of this.server.connections) {
      connection.send(421, '4.4.2 Idle timeout, closing connection');
      connection.close();
    }
  }

  /** Forgets every control: the sink accepts everything again. */
  reset() {
    this.rules = [];
  }

  /** Resolves once `count` mails have arrived in total. */
  waitForMails(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.mails.length >= count) {
          this.events.off('mail', check);
          resolve();
        }
      };
      this.events.on('mail', check);
      check();
    });
  }

  close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Held sessions would keep server.close() waiting for its own 30 s grace period.
    for (const connection of this.server.connections) connection.close();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private addRule(stage: SinkStage, action: SinkAction, opts: SinkRuleOptions) {
    const to = opts.to === undefined ? undefined : new Set([opts.to].flat().map((a) => a.toLowerCase()));
    if (to && stage !== 'RCPT') throw new Error('SmtpSink: `to` only applies to RCPT');
    this.rules.push({ stage, action, to, times: opts.times ?? Infinity });
  }

  /** The first rule for this stage (and recipient), used up by one. */
  private take(stage: SinkStage, address?: string): SinkAction | undefined {
    const rule = this.rules.find(
      (r) => r.stage === stage && (!r.to || (address !== undefined && r.to.has(address.toLowerCase()))),
    );
    if (!rule) return undefined;
    if (--rule.times <= 0) this.rules.splice(this.rules.indexOf(rule), 1);
    return rule.action;
  }

  /**
   * Runs the control for `stage`, if any, around the normal answer (`callback()` accepts).
   * `received` runs when the message data is in and the relay counts as having it.
   */
  private apply(
    stage: SinkStage,
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
    address?: string,
    received?: () => void,
  ) {
    const action = this.take(stage, address);
    if (action && 'reply' in action) {
      const message = action.message ?? `sink says ${action.reply}`;
      return callback(Object.assign(new Error(message), { responseCode: action.reply }));
    }
    received?.();
    if (!action) return callback();
    if ('drop' in action) {
      for (const connection of this.server.connections) if (connection.session === session) connection.close();
      return;
    }
    if (!Number.isFinite(action.delayMs)) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, action.delayMs);
    this.timers.add(timer);
  }
}
