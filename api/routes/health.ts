import { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/create-db.js';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await withTimeout(probe(), 2_000);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** `/health`: the process answers. `/ready`: it can take mail (Temporal and the database answer). */
export function healthRoutes({ db, temporal }: { db: Db; temporal: Client }) {
  return new Hono()
    .get('/health', (c) => c.json({ status: 'ok' }))
    .get('/ready', async (c) => {
      const [database, temporalCheck] = await Promise.all([
        check(() => db.execute(sql`select 1`)),
        check(() => temporal.workflowService.getSystemInfo({})),
      ]);
      const ready = database.ok && temporalCheck.ok;
      return c.json(
        { status: ready ? 'ready' : 'not_ready', checks: { database, temporal: temporalCheck } },
        ready ? 200 : 503,
      );
    });
}
