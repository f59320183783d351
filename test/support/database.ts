import postgres from 'postgres';
import { createDb } from '../../db/create-db.js';

/** The Postgres the tests create their databases on (trust auth on the machine's server). */
export const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A database of its own per run, named after the process: tests never see another run's rows,
 * and `drop()` removes it (connections still open included). `migrate`: Mailroom's migrations.
 */
export async function createTestDatabase(prefix: string, o: { migrate?: boolean } = {}) {
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await admin.unsafe(`create database ${name}`);
  if (o.migrate) {
    const migrated = await createDb({ url: url.toString(), maxConnections: 1 });
    await migrated.migrate();
    await migrated.close();
  }
  return {
    name,
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
