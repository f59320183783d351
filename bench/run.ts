// `npm run bench [-- --full|--quick] [P1 P3 …]`: throughput, latency, pacing, scale, failover and
// the attachment path, each as a ratio against a baseline measured in the same run.
import postgres from 'postgres';
import { p1 } from './cases/p1-throughput.js';
import { p2 } from './cases/p2-accept.js';
import { p3 } from './cases/p3-pacing.js';
import { p4 } from './cases/p4-scale.js';
import { p5 } from './cases/p5-failover.js';
import { p5b } from './cases/p5b-breaker.js';
import { p6 } from './cases/p6-attachments.js';
import { p7 } from './cases/p7-single.js';
import { p8 } from './cases/p8-shared-quota.js';
import { runCases } from './support/report.js';
import { adminUrl } from './support/stack.js';

const cases = [
  { id: 'P1', title: 'bulk throughput (10,000 recipients, uncapped)', run: p1 },
  { id: 'P2', title: 'API accept (POST /v1/emails under load)', run: p2 },
  { id: 'P3', title: 'pacing precision (28/s, two workers)', run: p3 },
  { id: 'P4', title: 'scale (1k, 10k; 100k with --full)', run: p4 },
  { id: 'P5', title: 'failover latency (SES down, SES back)', run: p5 },
  { id: 'P5b', title: 'circuit breaker (SES 503 for 40 s, 60 single sends at 3/s)', run: p5b },
  { id: 'P6', title: 'attachment path (5 MB)', run: p6 },
  { id: 'P7', title: 'single-send throughput (1,000 POSTs)', run: p7 },
  { id: 'P8', title: 'one SES quota: a bulk at full quota + 200 single sends', run: p8 },
];

async function postgresVersion() {
  const sql = postgres(adminUrl, { max: 1 });
  const [row] = await sql`show server_version`;
  await sql.end();
  return `PostgreSQL ${row!.server_version}`;
}

await runCases('bench', cases, process.argv.slice(2), postgresVersion);
process.exit(0);
