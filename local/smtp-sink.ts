import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SmtpMail {
  from: string;
  to: string[];
  raw: Buffer;
  at: number;
}

/**
 * An SMTP server that accepts everything (no auth, no TLS) and keeps what it receives:
 * the dev-mode fallback target and the tests' SMTP peer. `failNext(code)` answers the next
 * messages with an SMTP error code instead.
 */
export class SmtpSink {
  readonly mails: SmtpMail[] = [];
  private readonly events = new EventEmitter();
  private failures: number[] = [];
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(opts: { port?: number; onMail?: (mail: SmtpMail) => void } = {}): Promise<SmtpSink> {
    let sink!: SmtpSink;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      size: 50 * 1024 * 1024,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const code = sink.failures.shift();
          if (code) {
            const err = Object.assign(new Error(`sink says ${code}`), { responseCode: code });
            return callback(err);
          }
          const mail: SmtpMail = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks),
            at: Date.now(),
          };
          sink.mails.push(mail);
          opts.onMail?.(mail);
          sink.events.emit('mail');
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    sink = new SmtpSink(server, (server.server.address() as AddressInfo).port);
    return sink;
  }

  get url() {
    return `smtp://127.0.0.1:${this.port}`;
  }

  failNext(...codes: number[]) {
    this.failures.push(...codes);
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
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
