/**
 * `vigil sync` and where a pass starts, against a real PostgreSQL server into DuckDB:
 * - a `timestamp` (without time zone) cursor in a database whose TimeZone is not UTC: the nightly
 *   repair (`--mode full --lookback`) and `--since` start at the instant they name, as the
 *   database's wall time (was: the UTC wall time, compared with the local one — west of UTC the
 *   repair missed the hours of the offset), and the newest row's time the state keeps
 *   (`source_max_cursor`: status, /health, the latency alert) is the instant (was: the local wall
 *   time taken for UTC, "8h old" on fresh rows in America/Los_Angeles);
 * - a state an older Vigil wrote for such a cursor goes on without a row lost or doubled;
 * - a `--since` later than the stream's cursor reads from the cursor (was: the rows in between
 *   skipped for good, the cursor moved past them, exit 0);
 * - `--wait` on a DuckDB file another process holds waits for it (was: failed at once).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { join } from 'node:path';
import { uniqueSchema, SYNC_TARGETS } from '../support/postgres.js';
import { makeProject, removeDir, vigil, duckRows as duck } from '../helpers.js';
import { fileClient } from '../support/pg-client.js';
import { streamHealth } from '../../src/serve/health.js';
import { readStreamStates } from '../../src/sync/sync-types.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];

afterAll(() => dirs.forEach(removeDir));

/** A database of its own whose TimeZone is `zone` (what an application's localtimestamp defaults write), and a client of it. */
function zonedDatabase(zone: string) {
  const db = uniqueSchema('zoned');
  const u = new URL(url);
  u.pathname = `/${db}`;
  const app = new pg.Client(u.toString());
  return {
    url: u.toString(),
    app,
    async open() {
      await client.query(`create database ${db}`);
      await client.query(`alter database ${db} set timezone = '${zone}'`);
      await app.connect();
      expect((await app.query('show timezone')).rows[0].TimeZone).toBe(zone);
    },
    async close() {
      await app.end().catch(() => undefined);
      await client.query(`drop database if exists ${db} with (force)`);
    },
  };
}

function project(table: string, sync: string, schema = 'app'): string {
  const dir = makeProject({
    'project.yaml': SYNC_TARGETS.duckdb,
    'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: ${schema} }\n    tables:\n      - name: ${table}\n        sync: ${sync}\n`,
  });
  dirs.push(dir);
  return dir;
}

async function copied(dir: string, table: string): Promise<{ n: number; d: number; ids: number[] }> {
  const [r] = await duck<{ n: number; d: number }>(dir, `select count(*)::int as n, count(distinct id)::int as d from raw.${table}`);
  const ids = (await duck<{ id: number }>(dir, `select id::int as id from raw.${table} order by id`)).map((x) => x.id);
  return { ...r, ids };
}

async function state(dir: string, stream: string) {
  const [st] = await duck<{ c: string; m: string }>(dir, `select cast(cursor_value as varchar) as c, cast(source_max_cursor as varchar) as m from raw.vigil_sync_state where stream = '${stream}'`);
  return st;
}

const epoch = (t: string) => new Date(t.replace(' ', 'T').replace(/\+00$/, 'Z')).getTime();

describe('vigil sync: a timestamp cursor without time zone in a database west of UTC (America/Los_Angeles)', () => {
  const z = zonedDatabase('America/Los_Angeles');
  beforeAll(async () => {
    await z.open();
    await z.app.query('create schema app');
  });
  afterAll(() => z.close());

  /** app.`table` (created_at: the database's localtimestamp by default), 100 rows of the last 2 hours, synced with a lookback of 2 s. */
  async function synced(table: string) {
    await z.app.query(`create table app.${table} (id bigint primary key, created_at timestamp not null default localtimestamp, payload text);
      create index on app.${table} (created_at, id);
      insert into app.${table} (id, created_at) select i, localtimestamp - interval '2 hours' + i * interval '1 minute' from generate_series(1, 100) i`);
    const dir = project(table, '{ primary_key: id, cursor: created_at, lookback: 2s }');
    const run = (args: string[] = []) => vigil(dir, ['sync', '-s', `source:raw.${table}`, ...args], { DATABASE_URL: z.url });
    const first = run();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    return { dir, run };
  }

  it("source_max_cursor is the newest row's instant (the wall time read in the database's TimeZone): /health finds it fresh, status shows the cursor's zone and no lag", async () => {
    const { dir } = await synced('lt_max');
    // the newest row's time as an instant: minutes old, not 8 hours (the zone's offset)
    const st = await state(dir, 'raw.lt_max');
    const newest = Number((await z.app.query(`select extract(epoch from max(created_at) at time zone 'America/Los_Angeles') * 1000 as ms from app.lt_max`)).rows[0].ms);
    expect(Math.abs(epoch(st.m) - newest)).toBeLessThan(1);
    // /health judges the stream fresh (was: 503, "newest source row 28800s old")
    const { DuckDbAdapter } = await import('../../src/adapters/duckdb/duckdb-adapter.js');
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const [{ state: s }] = await readStreamStates(db, [{ source_name: 'raw', name: 'lt_max', relation: { schema: 'raw', identifier: 'lt_max' }, sync: {} } as never]);
      expect(streamHealth(s!, Date.now(), { maxSyncAgeMs: 3600_000, maxDataLagMs: 3600_000 }).problem).toBeUndefined();
      expect(s!.cursor_zone).toBe('America/Los_Angeles');
    } finally {
      await db.close();
    }
    // status: the cursor as the wall time it is, and no lag (was: "28800s behind")
    const status = vigil(dir, ['sync', 'status'], { DATABASE_URL: z.url });
    expect(status.stdout).toMatch(/raw\.lt_max: success, 100 rows read, last synced \d+s ago, cursor \d{4}-\d\d-\d\d [\d:.]+ America\/Los_Angeles, 0s behind the source's newest row/);
  });

  it("--mode full --lookback 1h and --since re-read the last hour of the source's own clock, as its wall time, and say both (was: from the UTC wall time, 8 hours later: the late row never recovered)", async () => {
    const { dir, run } = await synced('lt');
    // a row committed late with an old stamp (40 minutes ago, local time), after newer ones: the delta's 2 s lookback misses it
    await z.app.query(`insert into app.lt (id) select i from generate_series(101, 103) i`);
    expect(run().code).toBe(0);
    await z.app.query(`insert into app.lt (id, created_at) values (999, localtimestamp - interval '40 minutes')`);
    expect(run().code).toBe(0);
    expect((await copied(dir, 'lt')).ids).not.toContain(999);
    // the repair: the last hour of the source's clock, as its wall time (was: 'from created_at >= <UTC instant>', 0 rows)
    const repair = run(['--mode', 'full', '--lookback', '1h']);
    expect(repair.code, repair.stdout + repair.stderr).toBe(0);
    const after = await copied(dir, 'lt');
    expect(after.ids).toContain(999);
    expect(after).toMatchObject({ n: 104, d: 104 });
    expect(repair.stdout).toMatch(/raw\.lt: reading app\.lt from created_at >= \d{4}-\d\d-\d\d [\d:.]+ America\/Los_Angeles \(--lookback 1h \(from \d{4}-\d\d-\d\d [\d:.]+\+00, the source's clock less it\)\)/);
    // --since an instant (UTC, as every timestamp flag): the same window
    await z.app.query(`insert into app.lt (id, created_at) values (998, localtimestamp - interval '30 minutes')`);
    expect(run().code).toBe(0);
    const s2 = run(['--since', new Date(Date.now() - 3600_000).toISOString()]);
    expect(s2.code, s2.stdout + s2.stderr).toBe(0);
    expect(await copied(dir, 'lt')).toMatchObject({ n: 105, d: 105 });
    expect(s2.stdout).toMatch(/raw\.lt: reading app\.lt from created_at >= \d{4}-\d\d-\d\d [\d:.]+ America\/Los_Angeles \(--since \d{4}-\d\d-\d\d [\d:.]+\+00\)/);
  });
});

describe('vigil sync: a state an older Vigil wrote for a timestamp cursor in a database east of UTC (Asia/Tokyo)', () => {
  const z = zonedDatabase('Asia/Tokyo');
  afterAll(() => z.close());

  it('goes on from its cursor (the wall time, kept as written): no row lost, none doubled, nothing read beyond the lookback; source_max_cursor becomes the instant', async () => {
    await z.open();
    await z.app.query(`create schema app;
      create table app.up (id bigint primary key, created_at timestamp not null default localtimestamp);
      create index on app.up (created_at, id);
      insert into app.up (id, created_at) select i, localtimestamp - interval '3 hours' + i * interval '1 minute' from generate_series(1, 170) i`);
    const dir = project('up', '{ primary_key: id, cursor: created_at, lookback: 5m }');
    const run = () => vigil(dir, ['sync'], { DATABASE_URL: z.url });
    expect(run().code).toBe(0);
    // the state as an older Vigil left it: the cursor (the wall time, written as UTC — as now) and
    // source_max_cursor the wall time written as UTC too; no cursor_zone column
    const wall = String((await z.app.query(`select max(created_at)::text as m from app.up`)).rows[0].m);
    await duck(dir, `update raw.vigil_sync_state set source_max_cursor = cast('${wall}+00' as timestamptz) where stream = 'raw.up'`);
    await duck(dir, `alter table raw.vigil_sync_state drop column if exists cursor_zone`);
    const old = await state(dir, 'raw.up');
    expect(old.c.slice(0, 19)).toBe(wall.slice(0, 19));
    // new rows after it (a cursor read as an instant would start 9 hours later and skip them), one backdated within the lookback
    await z.app.query(`insert into app.up (id) select i from generate_series(171, 175) i;
      insert into app.up (id, created_at) values (176, localtimestamp - interval '2 minutes')`);
    const r = run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // its lookback (the 6 rows of the 5 minutes up to the cursor) and the 6 new ones: not all 176 again
    expect(r.stdout).toMatch(/OK raw\.up: 12 rows in 1 batch/);
    expect(await copied(dir, 'up')).toMatchObject({ n: 176, d: 176 });
    const st = await state(dir, 'raw.up');
    const newest = Number((await z.app.query(`select extract(epoch from max(created_at) at time zone 'Asia/Tokyo') * 1000 as ms from app.up`)).rows[0].ms);
    expect(Math.abs(epoch(st.m) - newest)).toBeLessThan(1);
    expect(st.c.slice(0, 19)).toBe(String((await z.app.query(`select max(created_at)::text as m from app.up`)).rows[0].m).slice(0, 19));
    const status = vigil(dir, ['sync', 'status'], { DATABASE_URL: z.url });
    expect(status.stdout).toMatch(/raw\.up: success, [\d,]+ rows read, last synced \d+s ago, cursor \d{4}-\d\d-\d\d [\d:.]+ Asia\/Tokyo, 0s behind the source's newest row/);
  });
});

describe('vigil sync --since later than the saved cursor', () => {
  it('reads from the cursor (less its lookback), says so, and no row between them is skipped (was: 1 row, exit 0, and the row before --since never copied)', async () => {
    const s = uniqueSchema('since_gap');
    await client.query(`create schema ${s}; create table ${s}.gap (id bigint primary key, created_at timestamptz not null); create index on ${s}.gap (created_at, id);
      insert into ${s}.gap values (1, now() - interval '5 hours')`);
    const dir = project('gap', '{ primary_key: id, cursor: created_at }', s);
    const run = (args: string[] = []) => vigil(dir, ['sync', ...args], { DATABASE_URL: url });
    expect(run().code).toBe(0);
    await client.query(`insert into ${s}.gap values (2, now() - interval '3 hours'), (3, now() - interval '1 hour')`);
    const r = run(['--mode', 'delta', '--since', new Date(Date.now() - 2 * 3600_000).toISOString()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await copied(dir, 'gap')).ids).toEqual([1, 2, 3]);
    expect(r.stdout).toMatch(/OK raw\.gap: 3 rows in 1 batch/);
    expect(r.stdout).toMatch(/raw\.gap: --since \d{4}-\d\d-\d\d [\d:.]+\+00 is after where this stream's delta starts \(its cursor \d{4}-\d\d-\d\d [\d:.]+\+00 less its lookback\): reading from there, so no row after the cursor is skipped/);
    // a --since before the cursor reads from it, as always
    const back = run(['--since', new Date(Date.now() - 6 * 3600_000).toISOString()]);
    expect(back.stdout).toMatch(/OK raw\.gap: 3 rows in 1 batch/);
    expect(back.stdout).not.toContain('is after where');
    // so does the repair's window when the stream fell behind it
    await client.query(`insert into ${s}.gap values (4, now() - interval '50 minutes'), (5, now() - interval '5 minutes')`);
    const repair = run(['--mode', 'full', '--lookback', '10m']);
    expect(await copied(dir, 'gap')).toMatchObject({ n: 5, d: 5 });
    expect(repair.stdout).toMatch(/raw\.gap: --lookback 10m \(from [^)]+\) is after where this stream's delta starts/);
  });
});

describe('vigil sync --wait on a DuckDB file another process holds', () => {
  /** A process holding the project's DuckDB file for `ms` (until killed when undefined); resolved once it holds it. */
  async function holder(dir: string, ms?: number): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
    const code = `const { DuckDBInstance } = await import('@duckdb/node-api'); const db = await DuckDBInstance.create('.vigil/dev.duckdb'); console.log('held'); ${ms === undefined ? 'setInterval(() => {}, 1000);' : `setTimeout(() => { db.closeSync(); process.exit(0); }, ${ms});`}`;
    // (resolved from this repository's node_modules: run from its folder, on the project's file)
    const child = spawn(process.execPath, ['--input-type=module', '-e', code.replace("'.vigil/dev.duckdb'", JSON.stringify(join(dir, '.vigil/dev.duckdb')))], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    await new Promise<void>((held, failed) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('held') && held());
      child.on('exit', () => failed(new Error('the holder ended before it held the file')));
    });
    return { child, exited };
  }

  it('waits for the file to be free, saying so once, then syncs; still held after the wait: exit 1 naming it', async () => {
    const s = uniqueSchema('wait_file');
    await client.query(`create schema ${s}; create table ${s}.ev (id bigint primary key, created_at timestamptz not null); insert into ${s}.ev select i, now() - i * interval '1 minute' from generate_series(1, 10) i`);
    const dir = project('ev', '{ primary_key: id, cursor: created_at }', s);
    expect(vigil(dir, ['sync'], { DATABASE_URL: url }).code).toBe(0);
    const held = await holder(dir);
    try {
      const r = vigil(dir, ['sync', '-s', 'source:raw.ev', '--wait', '1s'], { DATABASE_URL: url });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/waits for \.vigil\/dev\.duckdb, in use by another process .*: at most 1s \(--wait\)/);
      expect(r.stderr).toMatch(/\.vigil\/dev\.duckdb is in use by another process.* — still after waiting 1s \(--wait\)/);
    } finally {
      held.child.kill('SIGKILL');
      await held.exited;
    }
    const brief = await holder(dir, 2000);
    const r = vigil(dir, ['sync', '-s', 'source:raw.ev', '--wait', '30s'], { DATABASE_URL: url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/waits for \.vigil\/dev\.duckdb, in use by another process.*: at most 30s \(--wait\)/);
    expect(r.stdout).toMatch(/OK raw\.ev: /);
    expect(await brief.exited).toBe(0);
  });
});

describe('vigil sync: a timestamp cursor retyped timestamptz in the source (a database east of UTC, Asia/Tokyo)', () => {
  const z = zonedDatabase('Asia/Tokyo');
  afterAll(() => z.close());

  it("the saved cursor (Tokyo's wall time) is moved back to the instant it was, said, and the rows written since the last run arrive (was: read as a UTC instant 9 hours ahead, moved back to the clock, and the rows before its lookback never read, exit 0)", async () => {
    await z.open();
    await z.app.query(`create schema app;
      create table app.rt (id bigint primary key, created_at timestamp not null default localtimestamp);
      create index on app.rt (created_at, id);
      insert into app.rt (id, created_at) select i, localtimestamp - interval '1 hour' + i * interval '1 minute' from generate_series(1, 3) i`);
    const dir = project('rt', '{ primary_key: id, cursor: created_at, lookback: 5m }');
    const run = () => vigil(dir, ['sync'], { DATABASE_URL: z.url });
    expect(run().code).toBe(0);
    // rows after the cursor, written before the next run's lookback; then the application's
    // migration makes the column a timestamptz (its session's Tokyo time: the same instants)
    await z.app.query(`insert into app.rt (id, created_at) select i, localtimestamp - interval '30 minutes' + i * interval '1 minute' from generate_series(4, 6) i;
      alter table app.rt alter column created_at type timestamptz`);
    const r = run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await copied(dir, 'rt')).toMatchObject({ n: 6, d: 6 });
    expect(r.stdout).toMatch(/raw\.rt: the saved cursor \(\d{4}-\d\d-\d\d [\d:.]+ Asia\/Tokyo\) was the wall time of Asia\/Tokyo, and app\.rt's created_at is now an instant .*: moved back to \d{4}-\d\d-\d\d [\d:.]+\+00, so no row written since the last run is skipped/);
    // the zone is recorded: the next run says nothing of it
    expect(run().stdout).not.toMatch(/the saved cursor/);
  });
});
