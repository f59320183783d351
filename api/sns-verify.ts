// Verifying SNS messages: sns-validator checks the signature (SignatureVersion 1 and 2) with the
// certificate it fetches from SigningCertURL, which must be an SNS host. Dev and tests add one
// loopback host and trust its CA (config refuses that next to real SES).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import MessageValidator from 'sns-validator';

export interface SnsSettings {
  /** Topics whose messages are accepted. */
  topicArns: string[];
  /** Dev/test: a loopback host:port trusted besides SNS's hosts (see config SNS_LOCAL_CERT_HOST). */
  localCertHost?: string;
  /** Dev/test: the CA (PEM file) that host's TLS certificate chains to. */
  localCaFile?: string;
}

/** A message that is not SNS's, or not for us: answered 403. */
export class SnsRefused extends Error {}
/** The signing certificate could not be fetched: not the sender's fault, answered 503 so SNS retries. */
export class SnsCertUnavailable extends Error {}

// The validator's own words for a message that fails verification (everything else it reports is
// the certificate fetch failing).
const refusals = [/missing required keys/, /invalid domain/, /signature version/, /signature is invalid/];

const snsHosts = String.raw`sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface SnsMessage {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  SubscribeURL?: string;
  [key: string]: unknown;
}

export function createSnsVerifier(s: SnsSettings) {
  const hostPattern = new RegExp(`^(${snsHosts}${s.localCertHost ? `|${escape(s.localCertHost)}` : ''})$`);
  const validator = new MessageValidator(hostPattern);
  const topics = new Set(s.topicArns);
  const agent = s.localCaFile
    ? new https.Agent({ ca: [...rootCertificates, readFileSync(s.localCaFile, 'utf8')] })
    : https.globalAgent;
  // sns-validator fetches certificates with https.get and no agent of its own, so the local CA can
  // only reach it through the global agent. Only ever with SNS_LOCAL_CA_FILE (dev, tests), and it
  // adds that CA to the public roots rather than replacing them.
  if (s.localCaFile) https.globalAgent = agent;

  /** A trusted SNS URL (certificate, SubscribeURL): HTTPS on an SNS host, or the local one. */
  const trustedUrl = (raw: unknown) => {
    try {
      const url = new URL(String(raw));
      return url.protocol === 'https:' && hostPattern.test(url.host);
    } catch {
      return false;
    }
  };

  return {
    /** The verified message, or SnsRefused / SnsCertUnavailable. Nothing is trusted before this. */
    async verify(body: Record<string, unknown>): Promise<SnsMessage> {
      if (typeof body.TopicArn !== 'string' || !topics.has(body.TopicArn))
        throw new SnsRefused(
          topics.size === 0
            ? 'no SNS topic is accepted (SNS_TOPIC_ARNS is empty)'
            : 'TopicArn is not an accepted topic',
        );
      if (typeof body.Signature !== 'string' || body.Signature === '')
        throw new SnsRefused('the message is not signed');
      const verified = await new Promise<Record<string, unknown>>((resolve, reject) =>
        // A copy: the validator renames Lambda-style keys in place.
        validator.validate({ ...body }, (err, message) => (err ? reject(err) : resolve(message!))),
      ).catch((err: Error) => {
        if (refusals.some((r) => r.test(err.message))) throw new SnsRefused(err.message);
        if (err.message.includes('PEM') || err.message.includes('DECODER'))
          throw new SnsRefused(`SigningCertURL is not a certificate: ${err.message}`);
        throw new SnsCertUnavailable(`could not fetch the SNS signing certificate: ${err.message}`);
      });
      for (const key of ['Type', 'MessageId', 'TopicArn', 'Message'] as const)
        if (typeof verified[key] !== 'string') throw new SnsRefused(`${key} must be a string`);
      return verified as SnsMessage;
    },

    /** Confirms a subscription by GETting its SubscribeURL, which must be an SNS host too. */
    async confirm(subscribeUrl: unknown): Promise<void> {
      if (!trustedUrl(subscribeUrl)) throw new SnsRefused('SubscribeURL is not an SNS URL');
      await new Promise<void>((resolve, reject) => {
        const req = https.get(String(subscribeUrl), { agent, timeout: 10_000 }, (res) => {
          res.resume();
          if (res.statusCode === 200) resolve();
          else reject(new SnsCertUnavailable(`SubscribeURL answered ${res.statusCode}`));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (err) => reject(new SnsCertUnavailable(`could not reach SubscribeURL: ${err.message}`)));
      });
    },
  };
}

export type SnsVerifier = ReturnType<typeof createSnsVerifier>;
