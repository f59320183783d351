// Migration 0011 on a database written before tenants: every API_KEYS key's rows move to the
// default tenant, and colliding idempotency keys and suppressions cannot make it fail.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { asc, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, expect, it } from 'vitest';
import { migrationsFolder } from '../../db/create-db.js';
import * as schema from '../../db/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-tenant-migration-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The committed migrations up to (not including) `tag`. */
function migrationsBefore(tag: string): string {
  const folder = join(dir, 'before');
  cpSync(migrationsFolder, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  expect(at).toBeGreaterThan(0);
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  return folder;
}

it('moves every key_… row to the default tenant, renaming all but the oldest of colliding idempotency keys', async () => {
  const client = new PGlite();
  const db = drizzle(client, { schema });
  try {
    await migrate(db, { migrationsFolder: migrationsBefore('0011_default_tenant') });
    const a = 'key_aaaaaaaaaaaaaaaa';
    const b = 'key_bbbbbbbbbbbbbbbb';
    const message = (id: string, tenantId: string, idempotencyKey: string | null, createdAt: string) => ({
      id,
      tenantId,
      idempotencyKey,
      requestHash: id,
      workflowId: `email-${id}`,
      from: 'a@example.com',
      to: ['b@example.com'],
      subject: 's',
      text: 't',
      createdAt: new Date(createdAt),
    });
    await db
      .insert(schema.messages)
      .values([
        message('m1', a, 'same', '2026-01-01T00:00:00Z'),
        message('m2', b, 'same', '2026-01-02T00:00:00Z'),
        message('m3', b, 'own', '2026-01-03T00:00:00Z'),
        message('m4', a, null, '2026-01-04T00:00:00Z'),
      ]);
    await db.insert(schema.suppressions).values([
      { tenantId: a, email: 'x@example.com', reason: 'manual', source: 'api', createdAt: new Date('2026-01-01') },
      { tenantId: b, email: 'x@example.com', reason: 'bounce', source: 'ses:1', createdAt: new Date('2026-01-02') },
      { tenantId: b, email: 'y@example.com', reason: 'manual', source: 'api' },
    ]);
    await db
      .insert(schema.webhookEndpoints)
      .values({ id: 'w1', tenantId: b, url: 'https://x.test', eventTypes: [], secret: 's' });

    await migrate(db, { migrationsFolder });

    const rows = await db
      .select({ id: schema.messages.id, tenant: schema.messages.tenantId, key: schema.messages.idempotencyKey })
      .from(schema.messages)
      .orderBy(asc(schema.messages.id));
    expect(rows).toEqual([
      { id: 'm1', tenant: 'default', key: 'same' },
      { id: 'm2', tenant: 'default', key: `${b}:same` },
      { id: 'm3', tenant: 'default', key: 'own' },
      { id: 'm4', tenant: 'default', key: null },
    ]);
    const supp = await db
      .select({
        tenant: schema.suppressions.tenantId,
        email: schema.suppressions.email,
        reason: schema.suppressions.reason,
      })
      .from(schema.suppressions)
      .orderBy(asc(schema.suppressions.email));
    expect(supp).toEqual([
      { tenant: 'default', email: 'x@example.com', reason: 'manual' },
      { tenant: 'default', email: 'y@example.com', reason: 'manual' },
    ]);
    const left = await db.execute(sql`select count(*)::int as n from webhook_endpoints where api_key_id <> 'default'`);
    expect((left.rows[0] as { n: number }).n).toBe(0);
  } finally {
    await client.close();
  }
});
