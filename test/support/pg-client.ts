/**
 * A test file's own connection to the run's PostgreSQL (inject('pgUrl')), in UTC: connected
 * before the file's tests and closed after them. An afterAll the file registers later runs
 * before it closes (vitest runs after-hooks as a stack): it may still use the connection.
 */
import { afterAll, beforeAll } from 'vitest';
import pg from 'pg';

export function fileClient(url: string): pg.Client {
  const client = new pg.Client(url);
  beforeAll(async () => {
    await client.connect();
    await client.query("set timezone = 'UTC'");
  });
  afterAll(async () => {
    await client.end();
  });
  return client;
}

/** `sql`'s rows on a connection of its own, opened and closed around it. */
export async function queryOnce(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}
