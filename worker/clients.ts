import { GetAccountCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { circuitSettings, providerEndpoints, sesRegion, webhookSettings, type Config } from '../config/config.js';
import type { ActivityDeps } from '../activities/index.js';
import { createSesClient, type SesSettings } from '../delivery/ses.js';
import { createSmtpTransport } from '../delivery/smtp.js';
import { createObjectStore, createS3Client, type ObjectStore } from '../storage/object-store.js';

export function s3ClientFromConfig(config: Config) {
  return createS3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    bucket: config.S3_BUCKET,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
  });
}

export function objectStoreFromConfig(config: Config): ObjectStore {
  return createObjectStore(s3ClientFromConfig(config), config.S3_BUCKET);
}

export function retryTimings(config: Config) {
  const timing = { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS };
  return { sesRetry: timing, smtpRetry: timing };
}

/**
 * The SES quota: real SES reports it (GetAccount), an emulator or VPC endpoint has SES_MAX_SEND_RATE.
 */
export async function sesMaxSendRate(ses: SESv2Client, config: Config): Promise<number> {
  if (config.SES_ENDPOINT) return config.SES_MAX_SEND_RATE;
  const account = await ses.send(new GetAccountCommand({}));
  return account.SendQuota?.MaxSendRate ?? config.SES_MAX_SEND_RATE;
}

/** Everything the activities need, built from config (worker entry, dev launcher, tests). */
export async function activityDepsFromConfig(
  config: Config,
  db: ActivityDeps['db'],
  overrides: { sesCredentials?: SesSettings['credentials'] } = {},
): Promise<ActivityDeps> {
  if (!config.SMTP_URL) throw new Error('SMTP_URL is required: SMTP is where mail goes when SES cannot deliver');
  const region = sesRegion(config);
  if (!region) throw new Error('AWS_REGION is required for SES (or SES_ENDPOINT for an SES-compatible endpoint)');
  const ses = createSesClient({
    region,
    endpoint: config.SES_ENDPOINT,
    timeoutMs: config.SES_TIMEOUT_MS,
    credentials: overrides.sesCredentials,
  });
  return {
    db,
    objects: objectStoreFromConfig(config),
    ses,
    sesMaxSendRate: await sesMaxSendRate(ses, config),
    endpoints: providerEndpoints(config),
    circuitSettings: circuitSettings(config),
    smtp: createSmtpTransport({
      url: config.SMTP_URL,
      timeoutMs: config.SMTP_TIMEOUT_MS,
      caFile: config.SMTP_TLS_CA_FILE,
      pool: config.SMTP_POOL,
      maxConnections: config.SMTP_MAX_CONNECTIONS,
      maxMessages: config.SMTP_MAX_MESSAGES,
    }),
    ...retryTimings(config),
    sesConfigurationSet: config.SES_CONFIGURATION_SET,
    webhooks: webhookSettings(config),
  };
}
