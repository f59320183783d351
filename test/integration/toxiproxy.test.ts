// The fault-injection plumbing itself: the harness talks to Postgres and S3 through Toxiproxy, a cut
// proxy makes them fail, a restored one works again.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFaults, type Faults } from '../support/faults.js';
import { startHarness, type Harness } from '../support/harness.js';

let faults: Faults;
let h: Harness;
beforeAll(async () => {
  faults = await startFaults();
  h = await startHarness({ worker: false, proxy: faults.proxy });
});
afterAll(async () => {
  await faults?.healAll();
  await h?.close();
  await faults?.close();
});

it('routes the database, S3 and SES through the proxies', () => {
  expect(h.config.S3_ENDPOINT).toBe(`http://${faults.s3.listen}`);
  expect(h.config.SES_ENDPOINT).toBe(`http://${faults.ses.listen}`);
  expect(h.workerEnv().DATABASE_URL).toContain(`@${faults.postgres.listen}/`);
});

it('a Postgres query works through the proxy, fails while it is cut, works after restore', async () => {
  // postgres.js answers with an array of rows.
  const one = async () => ((await h.db.execute(sql`select 1 as one`)) as unknown as { one: number }[])[0]?.one;
  expect(await one()).toBe(1);
  await faults.postgres.cut();
  await expect(one()).rejects.toThrow();
  await faults.postgres.restore();
  expect(await one()).toBe(1);
});

it('an S3 get works through the proxy, fails while it is cut, works after restore', async () => {
  await h.objects.put('toxiproxy/probe.txt', Buffer.from('probe'), 'text/plain');
  expect((await h.objects.get('toxiproxy/probe.txt')).toString()).toBe('probe');
  await faults.s3.cut();
  await expect(h.objects.get('toxiproxy/probe.txt')).rejects.toThrow(/ECONNREFUSED|socket|connect/i);
  await faults.s3.restore();
  expect((await h.objects.get('toxiproxy/probe.txt')).toString()).toBe('probe');
});
