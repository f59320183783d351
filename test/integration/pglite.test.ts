import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { messages } from '../../db/schema.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';

// Dev mode (`npm run dev` without DATABASE_URL) runs on an embedded PGlite database: the same
// schema, migrations and queries as Postgres, through the real worker and API.
let dir: string;
let handle: DbHandle;
let h: Harness | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-pglite-'));
  handle = await createDb({ pglitePath: join(dir, 'db') });
  await handle.migrate();
  h = await startHarness({ db: handle });
});
afterAll(async () => {
  await h?.close();
  await handle?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const harness = () => {
  if (!h) throw new Error('the harness is closed');
  return h;
};

const tableNames = async (db: DbHandle['db']) => {
  const res = await db.execute<{ table_name: string }>(
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  // postgres-js returns the rows, PGlite a result object holding them.
  const rows = Array.isArray(res) ? res : (res as unknown as { rows: { table_name: string }[] }).rows;
  return rows.map((r) => r.table_name);
};

describe('dev mode on PGlite', () => {
  it('creates the schema from the committed migrations', async () => {
    expect(await tableNames(handle.db)).toEqual(
      expect.arrayContaining(['attachments', 'delivery_attempts', 'messages']),
    );
  });

  it('sends through the real worker and records the outcome and its attempts', async () => {
    const h = harness();
    h.ses.failNext('throttle');
    const body = validEmail();
    const res = await h.send(body);
    expect(res.status).toBe(202);
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });

    const status = await h.status(res.body.id);
    expect(status).toMatchObject({ id: res.body.id, status: 'sent', provider: 'ses', to: [body.to] });
    expect(status.sent_at).toEqual(expect.any(String));
    expect(status.attempts.map((a: any) => [a.provider, a.attempt, a.outcome, a.error_code])).toEqual([
      ['ses', 1, 'retryable_error', 'TooManyRequestsException'],
      ['ses', 2, 'sent', null],
    ]);
    expect(h.ses.messages.filter((m) => m.destination.includes(body.to))).toHaveLength(1);
  });

  it('applies the migrations a second time without error or data loss', async () => {
    const before = await handle.db.select({ id: messages.id }).from(messages);
    expect(before.length).toBeGreaterThan(0);
    await handle.migrate();
    await handle.migrate();
    expect(await handle.db.select({ id: messages.id }).from(messages)).toEqual(before);
  });

  it('keeps its data across a restart of the embedded database', async () => {
    const before = await handle.db.select({ id: messages.id, status: messages.status }).from(messages);
    await harness().close();
    h = undefined;
    await handle.close();
    handle = await createDb({ pglitePath: join(dir, 'db') });
    await handle.migrate();
    expect(await handle.db.select({ id: messages.id, status: messages.status }).from(messages)).toEqual(before);
  });
});
