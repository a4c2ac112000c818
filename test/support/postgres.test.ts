/**
 * Tests of the test-suite PostgreSQL harness: the server started by the global setup is a
 * real PostgreSQL that round-trips jsonb and timestamptz, isolates tests by schema, and
 * serves concurrent transactions on separate connections.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { uniqueSchema } from './postgres.js';

const url = inject('pgUrl');
const schema = uniqueSchema('harness');
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
});

afterAll(async () => {
  await admin?.query(`drop schema if exists "${schema}" cascade`);
  await admin?.end();
});

describe('test PostgreSQL server', () => {
  it('is a real PostgreSQL with the vigil_test database', async () => {
    const { rows } = await admin.query<{ version: string; db: string }>('select version() as version, current_database() as db');
    expect(rows[0].version).toMatch(/PostgreSQL/);
    if (!process.env.DATABASE_URL) expect(rows[0].db).toBe('vigil_test');
  });

  it('round-trips rows with jsonb and timestamptz in a per-test schema', async () => {
    await admin.query(
      `create table "${schema}".events (id int primary key, payload jsonb not null, at timestamptz not null)`,
    );
    const at = new Date('2024-03-01T12:34:56.789Z');
    await admin.query(`insert into "${schema}".events values ($1, $2, $3), ($4, $5, $6)`, [
      1, JSON.stringify({ tool: 'copilot', tokens: [1, 2, 3], nested: { ok: true } }), at,
      2, JSON.stringify({ tool: 'chat', tokens: [] }), '2024-03-01 14:34:56.789+02',
    ]);
    const { rows } = await admin.query<{ id: number; payload: unknown; at: Date }>(
      `select id, payload, at from "${schema}".events order by id`,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0].payload).toEqual({ tool: 'copilot', tokens: [1, 2, 3], nested: { ok: true } });
    expect(rows[0].at).toBeInstanceOf(Date);
    expect(rows[0].at.toISOString()).toBe(at.toISOString());
    expect(rows[1].at.toISOString()).toBe(at.toISOString()); // same instant, other offset
    const { rows: q } = await admin.query(`select payload->>'tool' as tool from "${schema}".events where payload @> '{"nested":{"ok":true}}'`);
    expect(q).toEqual([{ tool: 'copilot' }]);
  });

  it('gives unique, valid schema names', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueSchema('Some-Prefix!')));
    expect(names.size).toBe(100);
    for (const n of names) expect(n).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
    expect(uniqueSchema('x'.repeat(100)).length).toBeLessThanOrEqual(63);
  });

  it('runs transactions on two connections concurrently', async () => {
    await admin.query(`create table "${schema}".counters (name text primary key, n int not null)`);
    await admin.query(`insert into "${schema}".counters values ('a', 0), ('b', 0)`);
    const a = new pg.Client({ connectionString: url });
    const b = new pg.Client({ connectionString: url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      await Promise.all([a.query('begin'), b.query('begin')]);
      // Both transactions are open at the same time, on different backends.
      const [pa, pb] = await Promise.all([a.query('select pg_backend_pid() as p'), b.query('select pg_backend_pid() as p')]);
      expect(pa.rows[0].p).not.toBe(pb.rows[0].p);
      await Promise.all([
        a.query(`update "${schema}".counters set n = n + 1 where name = 'a'`),
        b.query(`update "${schema}".counters set n = n + 10 where name = 'b'`),
      ]);
      // Isolation: neither sees the other's uncommitted write.
      const seenByA = await a.query(`select n from "${schema}".counters where name = 'b'`);
      expect(seenByA.rows[0].n).toBe(0);
      const { rows: active } = await admin.query(
        `select count(*)::int as n from pg_stat_activity where pid = any($1) and state = 'idle in transaction'`,
        [[pa.rows[0].p, pb.rows[0].p]],
      );
      expect(active[0].n).toBe(2);
      await Promise.all([a.query('commit'), b.query('commit')]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
    const { rows } = await admin.query(`select name, n from "${schema}".counters order by name`);
    expect(rows).toEqual([{ name: 'a', n: 1 }, { name: 'b', n: 10 }]);
  });
});
