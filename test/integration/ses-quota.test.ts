import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.js';
import { SesStandIn } from '../../local/ses-stand-in.js';
import { createSesClient } from '../../delivery/ses.js';
import { sesMaxSendRate } from '../../worker/clients.js';

let ses: SesStandIn;
beforeAll(async () => {
  ses = await SesStandIn.start();
  ses.maxSendRate = 37;
});
afterAll(() => ses?.close());

const client = () =>
  createSesClient({
    region: 'us-east-1',
    endpoint: ses.endpoint,
    timeoutMs: 2000,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

it("takes the bulk quota from the SES account's MaxSendRate when SES is real", async () => {
  // Configured for real SES (no SES_ENDPOINT); the client still talks to the stand-in's GetAccount.
  expect(await sesMaxSendRate(client(), loadConfig({ AWS_REGION: 'us-east-1', SES_MAX_SEND_RATE: '5' }))).toBe(37);
});

it('uses SES_MAX_SEND_RATE for an SES-compatible endpoint', async () => {
  const config = loadConfig({ SES_ENDPOINT: ses.endpoint, SES_MAX_SEND_RATE: '5' });
  expect(await sesMaxSendRate(client(), config)).toBe(5);
});
