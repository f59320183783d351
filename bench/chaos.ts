// `npm run chaos [-- --full|--quick] [R1 R3 …]`: crashes, restarts, provider faults, hostile and pathological input,
// infrastructure faults through Toxiproxy (R7–R10) and (with --full) a 10-minute soak. Each case is
// bounded in time and cleans up after itself.
import postgres from 'postgres';
import { r1, r2 } from './cases/r-crash.js';
import { r3 } from './cases/r-faults.js';
import { r7, r8, r9, r10 } from './cases/r-infra.js';
import { r4 } from './cases/r4-hostile.js';
import { r4b } from './cases/r4b-pathological.js';
import { r11 } from './cases/r11-schedule.js';
import { r6 } from './cases/r6-soak.js';
import { runCases } from './support/report.js';
import { adminUrl } from './support/stack.js';

const cases = [
  { id: 'R1', title: 'worker SIGKILLed three times mid-bulk (5,000 at 200/s)', run: r1 },
  { id: 'R2', title: 'Temporal dev server stopped and restarted mid-bulk', run: r2 },
  { id: 'R3', title: 'provider faults: 30% throttle + 10% 500, then 5% rejects', run: r3 },
  { id: 'R4', title: 'hostile input on /v1/emails and /v1/bulk', run: r4 },
  {
    id: 'R4b',
    title: 'oversized and pathological input; event-loop delay per request while /health is probed',
    run: r4b,
  },
  { id: 'R7', title: 'Postgres cut 4 s twice during 150 single sends and a 1,500-recipient bulk', run: r7 },
  { id: 'R8', title: 'S3 down 5 s mid-bulk (bulk with an attachment; single sends composing)', run: r8 },
  { id: 'R9', title: 'SES answers held 15 s, then connections reset after the request went out', run: r9 },
  { id: 'R10', title: 'API SIGKILLed between insert and start; the repair schedule starts the sends', run: r10 },
  { id: 'R11', title: 'scheduled sends with every worker down past not_after: expired, nothing sent', run: r11 },
  { id: 'R6', title: 'soak at 200 req/s on /v1/emails (10 min with --full)', run: r6, full: true },
];

async function postgresVersion() {
  const sql = postgres(adminUrl, { max: 1 });
  const [row] = await sql`show server_version`;
  await sql.end();
  return `PostgreSQL ${row!.server_version}`;
}

await runCases('chaos', cases, process.argv.slice(2), postgresVersion);
process.exit(0);
