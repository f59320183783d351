import { defineConfig } from 'vitest/config';

// `npm run test:production`: the production topology (real Temporal server on Postgres, the
// compiled API and two compiled workers as processes). Its own files and global setup; `npm test`'s
// vitest run never includes them (vitest.config.ts), scripts/test.mjs runs this config after it.
export default defineConfig({
  test: {
    pool: 'forks',
    globalSetup: ['./test/production/global-setup.ts'],
    include: ['test/production/**/*.test.ts'],
    testTimeout: 120_000,
    // Cold, the global setup builds the server with Go (some 4 minutes) and compiles dist/.
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
