import { describe, expect, it } from 'vitest';
import { ConfigError, consoleSettings, deliveryPolicy, limits, loadConfig } from '../../config/config.js';

const errorOf = (env: Record<string, string>): Error => {
  try {
    loadConfig(env);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
};

describe('loadConfig', () => {
  it('has defaults that make dev mode work with an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      API_KEYS: [],
      LOG_LEVEL: 'info',
      DATA_DIR: '.data',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'mailroom',
      S3_BUCKET: 'mailroom-attachments',
      S3_REGION: 'us-east-1',
      SES_TIMEOUT_MS: 10_000,
      SES_MAX_ATTEMPTS: 5,
      SMTP_MAX_ATTEMPTS: 8,
      RETRY_BASE_MS: 1_000,
      RETRY_MAX_MS: 60_000,
      MAX_RECIPIENTS: 50,
      MAX_MESSAGE_BYTES: 10 * 1024 * 1024,
      MAX_ATTACHMENTS: 10,
    });
    for (const unset of [
      'DATABASE_URL',
      'S3_ENDPOINT',
      'AWS_REGION',
      'SES_ENDPOINT',
      'SMTP_URL',
      'S3_FORCE_PATH_STYLE',
    ])
      expect(c[unset as keyof typeof c], unset).toBeUndefined();
  });

  it('bounds the worker cache and leaves the workflow bundle unset by default', () => {
    const c = loadConfig({});
    expect(c.WORKER_MAX_CACHED_WORKFLOWS).toBe(250);
    expect(c.WORKFLOW_BUNDLE_PATH).toBeUndefined();
    expect(
      loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '40', WORKFLOW_BUNDLE_PATH: ' dist/workflow-bundle.js ' }),
    ).toMatchObject({ WORKER_MAX_CACHED_WORKFLOWS: 40, WORKFLOW_BUNDLE_PATH: 'dist/workflow-bundle.js' });
    expect(errorOf({ WORKER_MAX_CACHED_WORKFLOWS: '-1' }).message).toMatch(/^\s+WORKER_MAX_CACHED_WORKFLOWS: /m);
  });

  it('reads only the environment it is given', () => {
    expect(loadConfig({ PORT: '8080', MAX_RECIPIENTS: '7' })).toMatchObject({ PORT: 8080, MAX_RECIPIENTS: 7 });
  });

  it.each(['abc', '70000', '-1', '80.5'])('rejects PORT=%s with an error naming PORT', (port) => {
    const err = errorOf({ PORT: port });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^\s+PORT: /m);
  });

  it('names every bad variable in one error', () => {
    const err = errorOf({ PORT: 'x', LOG_LEVEL: 'loud', S3_FORCE_PATH_STYLE: 'yes', MAX_MESSAGE_BYTES: '100' });
    for (const name of ['PORT', 'LOG_LEVEL', 'S3_FORCE_PATH_STYLE', 'MAX_MESSAGE_BYTES'])
      expect(err.message).toMatch(new RegExp(`^\\s+${name}: `, 'm'));
  });

  it('splits API_KEYS on commas, trimming and dropping empty entries', () => {
    expect(loadConfig({ API_KEYS: ' key-a, key-b ,,key-c, ' }).API_KEYS).toEqual(['key-a', 'key-b', 'key-c']);
    expect(loadConfig({ API_KEYS: 'only' }).API_KEYS).toEqual(['only']);
    expect(loadConfig({ API_KEYS: ' , ' }).API_KEYS).toEqual([]);
  });

  it('reads SES_ACCESS_KEYS as ACCESS_KEY_ID:SECRET pairs, naming a bad pair by position and never echoing it', () => {
    expect(loadConfig({}).SES_ACCESS_KEYS).toEqual([]);
    expect(
      loadConfig({ SES_ACCESS_KEYS: ' AKIA1:secret/with+chars=0123, AKIA2:another-secret-456789 ' }).SES_ACCESS_KEYS,
    ).toEqual([
      { accessKeyId: 'AKIA1', secret: 'secret/with+chars=0123' },
      { accessKeyId: 'AKIA2', secret: 'another-secret-456789' },
    ]);
    for (const bad of [
      'AKIA1',
      'AK/1:secret-0123456789ab',
      'AKIA1:short',
      'AKIA1:secret-0123456789ab,AKIA1:secret-0123456789cd',
    ]) {
      const err = errorOf({ SES_ACCESS_KEYS: bad });
      expect(err.message).toMatch(/^\s+SES_ACCESS_KEYS: /m);
      expect(err.message).not.toMatch(/secret-0123456789/);
    }
  });

  it('treats an empty or blank optional URL as unset and trims a set one', () => {
    const config = loadConfig({ DATABASE_URL: '   ', SMTP_URL: '' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SMTP_URL).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: ' postgres://db/mailroom ' }).DATABASE_URL).toBe('postgres://db/mailroom');
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads S3_FORCE_PATH_STYLE=%s as %s', (value, expected) => {
    expect(loadConfig({ S3_FORCE_PATH_STYLE: value }).S3_FORCE_PATH_STYLE).toBe(expected);
  });

  it('pools SMTP connections by default (5 per worker, 100 messages each) and has no CA file', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ SMTP_POOL: true, SMTP_MAX_CONNECTIONS: 5, SMTP_MAX_MESSAGES: 100 });
    expect(c.SMTP_TLS_CA_FILE).toBeUndefined();
    expect(
      loadConfig({
        SMTP_POOL: 'false',
        SMTP_MAX_CONNECTIONS: '1',
        SMTP_MAX_MESSAGES: '20',
        SMTP_TLS_CA_FILE: ' /etc/mailroom/relay-ca.pem ',
      }),
    ).toMatchObject({
      SMTP_POOL: false,
      SMTP_MAX_CONNECTIONS: 1,
      SMTP_MAX_MESSAGES: 20,
      SMTP_TLS_CA_FILE: '/etc/mailroom/relay-ca.pem',
    });
    const err = errorOf({ SMTP_POOL: 'yes', SMTP_MAX_CONNECTIONS: '0', SMTP_MAX_MESSAGES: 'many' });
    for (const name of ['SMTP_POOL', 'SMTP_MAX_CONNECTIONS', 'SMTP_MAX_MESSAGES'])
      expect(err.message).toMatch(new RegExp(`^\\s+${name}: `, 'm'));
  });

  it('enforces the lower bounds of limits and retry settings', () => {
    expect(errorOf({ MAX_MESSAGE_BYTES: '1023' }).message).toContain('MAX_MESSAGE_BYTES');
    expect(errorOf({ SES_MAX_ATTEMPTS: '0' }).message).toContain('SES_MAX_ATTEMPTS');
    expect(errorOf({ SES_TIMEOUT_MS: '99' }).message).toContain('SES_TIMEOUT_MS');
    expect(loadConfig({ MAX_ATTACHMENTS: '0' }).MAX_ATTACHMENTS).toBe(0);
  });

  it('treats an empty PORT or MAX_ATTACHMENTS as unset, as .env.example promises', () => {
    expect(loadConfig({ PORT: '', MAX_ATTACHMENTS: '' })).toMatchObject({ PORT: 3000, MAX_ATTACHMENTS: 10 });
  });
});

describe('derived settings', () => {
  it('hands the workflow its retry budgets, the longest provider timeout, and the API its limits', () => {
    const c = loadConfig({
      SES_MAX_ATTEMPTS: '3',
      SMTP_MAX_ATTEMPTS: '4',
      SES_TIMEOUT_MS: '7000',
      SMTP_TIMEOUT_MS: '9000',
      MAX_RECIPIENTS: '5',
      MAX_ATTACHMENTS: '6',
      PRIMARY_PROVIDER: 'smtp',
    });
    expect(deliveryPolicy(c)).toEqual({
      primary: 'smtp',
      sesMaxAttempts: 3,
      smtpMaxAttempts: 4,
      providerTimeoutMs: 9000,
    });
    expect(limits(c)).toEqual({
      maxRecipients: 5,
      maxMessageBytes: 10 * 1024 * 1024,
      maxAttachments: 6,
      maxScheduleAheadMs: 30 * 86_400_000,
    });
  });
});

describe('SES events settings', () => {
  const local = { SNS_LOCAL_CERT_HOST: '127.0.0.1:8007', SNS_LOCAL_CA_FILE: '/tmp/ca.pem' };

  it('takes a topic allowlist and the breaker defaults the issue names (5%, 0.1%, 200)', () => {
    const c = loadConfig({ SNS_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:1:a, arn:aws:sns:eu-west-1:1:b' });
    expect(c.SNS_TOPIC_ARNS).toEqual(['arn:aws:sns:eu-west-1:1:a', 'arn:aws:sns:eu-west-1:1:b']);
    expect(c).toMatchObject({ BREAKER_BOUNCE_RATE: 0.05, BREAKER_COMPLAINT_RATE: 0.001, BREAKER_WINDOW: 200 });
    expect(errorOf({ BREAKER_WINDOW: '199' }).message).toContain('BREAKER_WINDOW');
  });

  it('trusts a local signing-certificate host only on loopback, with its CA, and never with real SES', () => {
    expect(loadConfig(local).SNS_LOCAL_CERT_HOST).toBe('127.0.0.1:8007');
    expect(loadConfig({ ...local, AWS_REGION: 'eu-west-1', SES_ENDPOINT: 'http://127.0.0.1:8006' })).toBeTruthy();
    expect(errorOf({ ...local, AWS_REGION: 'eu-west-1' }).message).toMatch(/SNS_LOCAL_CERT_HOST: .*real SES/);
    expect(errorOf({ ...local, SNS_LOCAL_CERT_HOST: 'sns.example.com:443' }).message).toContain('loopback');
    expect(errorOf({ SNS_LOCAL_CERT_HOST: '127.0.0.1:8007' }).message).toContain('SNS_LOCAL_CA_FILE');
    expect(errorOf({ SNS_LOCAL_CA_FILE: '/tmp/ca.pem' }).message).toContain('SNS_LOCAL_CA_FILE');
  });
});

describe('SMTP submission settings', () => {
  const tls = {
    SMTP_SUBMISSION_TLS_CERT_FILE: '/etc/mailroom/cert.pem',
    SMTP_SUBMISSION_TLS_KEY_FILE: '/etc/mailroom/key.pem',
  };

  it('listens only when SMTP_SUBMISSION_PORT is set, and then only with a certificate and key for STARTTLS', () => {
    expect(loadConfig({}).SMTP_SUBMISSION_PORT).toBeUndefined();
    expect(loadConfig({ SMTP_SUBMISSION_PORT: '587', ...tls })).toMatchObject({ SMTP_SUBMISSION_PORT: 587, ...tls });
    const missing = errorOf({ SMTP_SUBMISSION_PORT: '587' }).message;
    expect(missing).toMatch(/SMTP_SUBMISSION_TLS_CERT_FILE: is required with SMTP_SUBMISSION_PORT/);
    expect(missing).toMatch(/SMTP_SUBMISSION_TLS_KEY_FILE: is required with SMTP_SUBMISSION_PORT/);
    expect(errorOf(tls).message).toMatch(/SMTP_SUBMISSION_TLS_CERT_FILE: only meaningful with SMTP_SUBMISSION_PORT/);
    expect(errorOf({ SMTP_SUBMISSION_PORT: '70000', ...tls }).message).toMatch(/^\s+SMTP_SUBMISSION_PORT: /m);
  });
});

describe('console settings', () => {
  it('links to the Temporal Web UI on TEMPORAL_UI_PORT unless TEMPORAL_UI_URL says where it is', () => {
    expect(consoleSettings(loadConfig({ TEMPORAL_UI_PORT: '9233' }))).toMatchObject({
      temporalUiUrl: 'http://localhost:9233',
      temporalNamespace: 'default',
      sessionHours: 12,
    });
    expect(consoleSettings(loadConfig({ TEMPORAL_UI_URL: 'https://temporal.example.com/' })).temporalUiUrl).toBe(
      'https://temporal.example.com',
    );
    expect(errorOf({ TEMPORAL_UI_URL: 'javascript:alert(1)' }).message).toContain('TEMPORAL_UI_URL');
    expect(errorOf({ CONSOLE_SESSION_HOURS: '0' }).message).toContain('CONSOLE_SESSION_HOURS');
  });
});
