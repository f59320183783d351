// A stand-in for the SNS side of SES event publishing, for dev mode and tests: a local CA, a
// signing certificate it issued, an HTTPS server that serves that certificate (what SNS's
// SigningCertURL points at) and confirms subscriptions, and messages signed exactly as SNS signs
// them (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA over the same canonical string).
import { createSign, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { issueCertificate, makeCa } from './openssl.js';

export type SnsEnvelope = Record<string, string>;

const CERT_PATH = '/SimpleNotificationService-local.pem';
const DEFAULT_TOPIC = 'arn:aws:sns:us-east-1:000000000000:mailroom-local-ses-events';

// The keys SNS signs, in this order, each as `key\nvalue\n` when present (see sns-validator).
const signedKeys = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
} as const;

/** Makes (once per directory) the CA, the HTTPS certificate for 127.0.0.1 and the RSA signing certificate. */
function ensureCertificates(dir: string) {
  mkdirSync(dir, { recursive: true });
  if (existsSync(join(dir, 'signing.pem'))) return;
  const days = 825;
  makeCa(dir, '/CN=Mailroom local SNS CA (dev and tests only)', days);
  issueCertificate(dir, {
    name: 'tls',
    subject: '/CN=127.0.0.1',
    days,
    extensions: [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'extendedKeyUsage=serverAuth',
    ],
  });
  // SNS signs with RSA; so does this.
  issueCertificate(dir, {
    name: 'signing',
    subject: '/CN=sns.local (Mailroom dev and tests only)',
    days,
    newKey: ['-newkey', 'rsa:2048', '-nodes'],
  });
}

export class LocalSns {
  /** Subscriptions confirmed through SubscribeURL (their tokens). */
  readonly confirmed: string[] = [];

  private constructor(
    private readonly server: Server,
    private readonly signingKey: string,
    readonly caFile: string,
    readonly topicArn: string,
  ) {}

  /**
   * Certificates in `dir` (made on first use: dev keeps them under .data/, tests in a temp
   * directory), served over HTTPS on 127.0.0.1:`port` (0: any free port).
   */
  static async start(o: { dir: string; port?: number; topicArn?: string }): Promise<LocalSns> {
    ensureCertificates(o.dir);
    const read = (f: string) => readFileSync(join(o.dir, f), 'utf8');
    const signingCert = read('signing.pem');
    let sns: LocalSns | undefined;
    const server = createServer({ key: read('tls.key'), cert: read('tls.pem') }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://local');
      if (req.method === 'GET' && url.pathname === CERT_PATH) {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' });
        return res.end(signingCert);
      }
      if (req.method === 'GET' && url.pathname === '/' && url.searchParams.get('Action') === 'ConfirmSubscription') {
        sns?.confirmed.push(url.searchParams.get('Token') ?? '');
        res.writeHead(200, { 'content-type': 'text/xml' });
        return res.end('<ConfirmSubscriptionResponse/>');
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
    });
    sns = new LocalSns(server, read('signing.key'), join(o.dir, 'ca.pem'), o.topicArn ?? DEFAULT_TOPIC);
    return sns;
  }

  /** What SNS_LOCAL_CERT_HOST names: the host:port serving the signing certificate. */
  get certHost() {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The config that makes Mailroom trust this stand-in (dev and tests only). */
  get env(): Record<string, string> {
    return { SNS_TOPIC_ARNS: this.topicArn, SNS_LOCAL_CERT_HOST: this.certHost, SNS_LOCAL_CA_FILE: this.caFile };
  }

  /** A signed Notification carrying `message`; fields may be overridden before signing. */
  notification(message: string, o: { signatureVersion?: '1' | '2'; fields?: SnsEnvelope } = {}): SnsEnvelope {
    return this.sign({
      Type: 'Notification',
      MessageId: randomUUID(),
      TopicArn: this.topicArn,
      Message: message,
      Timestamp: new Date().toISOString(),
      SignatureVersion: o.signatureVersion ?? '2',
      SigningCertURL: `https://${this.certHost}${CERT_PATH}`,
      UnsubscribeURL: `https://${this.certHost}/?Action=Unsubscribe`,
      ...o.fields,
    });
  }

  /** A signed SubscriptionConfirmation whose SubscribeURL is this server. */
  subscriptionConfirmation(): SnsEnvelope {
    const token = randomUUID();
    return this.sign({
      Type: 'SubscriptionConfirmation',
      MessageId: randomUUID(),
      Token: token,
      TopicArn: this.topicArn,
      Message: `You have chosen to subscribe to the topic ${this.topicArn}.`,
      SubscribeURL: `https://${this.certHost}/?Action=ConfirmSubscription&Token=${token}`,
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      SigningCertURL: `https://${this.certHost}${CERT_PATH}`,
    });
  }

  /** Signs the envelope's canonical string with the signing key, as SNS does. */
  sign(envelope: SnsEnvelope): SnsEnvelope {
    const keys = signedKeys[envelope.Type === 'SubscriptionConfirmation' ? 'SubscriptionConfirmation' : 'Notification'];
    const canonical = keys
      .filter((k) => envelope[k] !== undefined)
      .map((k) => `${k}\n${envelope[k]}\n`)
      .join('');
    const signer = createSign(envelope.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
    signer.update(canonical, 'utf8');
    return { ...envelope, Signature: signer.sign(this.signingKey, 'base64') };
  }

  /** POSTs an envelope to a webhook as SNS does (JSON as text/plain); the response status. */
  static async post(url: string, envelope: SnsEnvelope): Promise<number> {
    // SNS retries a delivery that got no answer (its HTTP delivery policy); so does this, a few
    // times, e.g. when a kept-alive connection was closed by the server just as it was reused.
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': envelope.Type ?? '' },
          body: JSON.stringify(envelope),
        });
        await res.body?.cancel();
        return res.status;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
