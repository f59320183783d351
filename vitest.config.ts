import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native core is not safe in worker threads.
    pool: 'forks',
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // The production tier has its own config and global setup (vitest.production.config.ts).
    exclude: [...configDefaults.exclude, 'test/production/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files share one Temporal dev server and a 2-core machine: one file at a time.
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
