// The SMTP provider's test peers: the real SMTP sink and real nodemailer transports, closed when
// the test ends.
import type { Transporter } from 'nodemailer';
import { onTestFinished } from 'vitest';
import { createSmtpTransport, type SmtpMessage, type SmtpSettings } from '../../delivery/smtp.js';
import { SmtpSink, type SmtpSinkOptions } from '../../local/smtp-sink.js';

const raw = Buffer.from(
  'From: Mailroom <sender@mailroom.test>\r\nTo: a@x.test, b@x.test\r\nSubject: Hello\r\n' +
    'Message-ID: <smtp-provider-test@mailroom.test>\r\n\r\nHello over SMTP.\r\n',
);

/** A composed message and its envelope, as the delivery core hands them to sendViaSmtp. */
export const testMessage = (to = ['a@x.test', 'b@x.test']): SmtpMessage => ({
  envelope: { from: 'sender@mailroom.test', to },
  raw,
});

export async function startSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const sink = await SmtpSink.start(opts);
  onTestFinished(() => sink.close());
  return sink;
}

/** createSmtpTransport with a short timeout (2 s unless given). */
export function smtpTransport(url: string, settings: Partial<Omit<SmtpSettings, 'url'>> = {}): Transporter {
  const transport = createSmtpTransport({ url, timeoutMs: 2_000, ...settings });
  onTestFinished(() => transport.close());
  return transport;
}

/** Options nodemailer resolved for a transport (the pool's or the single connection's). */
export const transportOptions = (t: Transporter) =>
  (t as unknown as { transporter: { options: Record<string, unknown> } }).transporter.options;
