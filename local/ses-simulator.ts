// What SES publishes (event publishing format) for mail to its mailbox simulator addresses.
import { randomUUID } from 'node:crypto';
import type { SesMessage } from './ses-stand-in.js';

const simulator = /^(success|bounce|complaint|suppressionlist)(\+[^@]*)?@simulator\.amazonses\.com$/i;

export interface SesEventRecord {
  eventType: 'Send' | 'Delivery' | 'Bounce' | 'Complaint';
  mail: Record<string, unknown>;
  [key: string]: unknown;
}

/** The events, in the order SES sends them; none when no recipient is a simulator address. */
export function simulatedEvents(message: SesMessage): SesEventRecord[] {
  const by = {
    success: [] as string[],
    bounce: [] as string[],
    complaint: [] as string[],
    suppressionlist: [] as string[],
  };
  for (const address of message.destination) {
    const kind = simulator.exec(address)?.[1]?.toLowerCase() as keyof typeof by | undefined;
    if (kind) by[kind].push(address);
  }
  const simulated = Object.values(by).some((list) => list.length > 0);
  if (!simulated) return [];
  const at = (ms: number) => new Date(message.at + ms).toISOString();
  const mail = {
    timestamp: at(0),
    source: message.from ?? '',
    sendingAccountId: '000000000000',
    messageId: message.messageId,
    destination: message.destination,
    headersTruncated: false,
    tags: {},
  };
  const events: SesEventRecord[] = [{ eventType: 'Send', mail, send: {} }];
  const delivered = [...by.success, ...by.complaint];
  if (delivered.length > 0)
    events.push({
      eventType: 'Delivery',
      mail,
      delivery: {
        timestamp: at(800),
        processingTimeMillis: 800,
        recipients: delivered,
        smtpResponse: '250 2.6.0 Message received',
        reportingMTA: 'a8-1.smtp-out.amazonses.com',
      },
    });
  const bounced = [
    ...by.bounce.map((emailAddress) => ({ emailAddress, sub: 'General', code: 'smtp; 550 5.1.1 user unknown' })),
    ...by.suppressionlist.map((emailAddress) => ({
      emailAddress,
      sub: 'OnAccountSuppressionList',
      code: 'Amazon SES did not send the message to this address because it is on the suppression list for your account.',
    })),
  ];
  // SES reports each bounce subtype in its own event.
  for (const sub of ['General', 'OnAccountSuppressionList']) {
    const list = bounced.filter((b) => b.sub === sub);
    if (list.length === 0) continue;
    events.push({
      eventType: 'Bounce',
      mail,
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: sub,
        bouncedRecipients: list.map((b) => ({
          emailAddress: b.emailAddress,
          action: 'failed',
          status: '5.1.1',
          diagnosticCode: b.code,
        })),
        timestamp: at(900),
        feedbackId: `${randomUUID()}-000000`,
        reportingMTA: 'dns; a8-1.smtp-out.amazonses.com',
      },
    });
  }
  if (by.complaint.length > 0)
    events.push({
      eventType: 'Complaint',
      mail,
      complaint: {
        complainedRecipients: by.complaint.map((emailAddress) => ({ emailAddress })),
        timestamp: at(1500),
        feedbackId: `${randomUUID()}-000000`,
        complaintFeedbackType: 'abuse',
        userAgent: 'Amazon SES Mailbox Simulator',
      },
    });
  return events;
}
