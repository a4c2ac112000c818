/**
 * `vigil sync` and the stream's key against a real PostgreSQL server, into DuckDB and Postgres:
 * a copy dropped (or emptied) while the state has a cursor is read again from the beginning; a
 * key the source lets be NULL, or does not hold unique, is refused at its line (a view's rows
 * with a NULL key are left out and counted); a misspelt table, key or cursor is exit 2 with a
 * did-you-mean and no failure recorded; a key naming a column twice is refused by the schema.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueSchema, SYNC_TARGETS as TARGETS } from '../support/postgres.js';
import { makeProject, removeDir, vigil, duckRows } from '../helpers.js';
import { fileClient } from '../support/pg-client.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];

afterAll(() => dirs.forEach(removeDir));

type Target = keyof typeof TARGETS;

function project(target: Target, dest: string, src: string, tables: string): string {
  const dir = makeProject({ 'project.yaml': TARGETS[target], 'models/sources.yml': `sources:\n  - name: raw\n    schema: ${dest}\n    sync: { from: app, schema: ${src} }\n    tables:\n${tables}` });
  dirs.push(dir);
  return dir;
}

const sync = (dir: string, args: string[] = []) => vigil(dir, ['sync', ...args], { DATABASE_URL: url });

/** A query of the copy's warehouse: DuckDB's file, or the Postgres server. */
async function copy<T extends Record<string, unknown>>(target: Target, dir: string, sql: string): Promise<T[]> {
  return target === 'postgres' ? ((await client.query(sql)).rows as T[]) : duckRows<T>(dir, sql);
}

const ids = async (target: Target, dir: string, table: string) => (await copy<{ id: number }>(target, dir, `select id from ${table} order by id`)).map((r) => Number(r.id));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('vigil sync: the copy and its key', () => {
  it.each(['duckdb', 'postgres'] as const)("a copy dropped (or emptied) in the %s target is read again from the beginning (was: from the saved cursor, the copy kept 1 row of 101, exit 0)", async (target) => {
    const s = uniqueSchema('sync_redo');
    const dest = target === 'duckdb' ? 'raw' : uniqueSchema('sync_redo_raw');
    await client.query(`create schema ${s};
      create table ${s}.num_t (id int primary key, created_at timestamptz not null, d numeric(5,2));
      insert into ${s}.num_t select g, timestamptz '2026-11-01 00:00:00+00' + g * interval '1 hour', g / 10.0 from generate_series(1, 100) g`);
    const dir = project(target, dest, s, `      - name: num_t\n        sync: { primary_key: id, cursor: created_at, batch_size: 30 }\n`);
    expect(sync(dir, ['-s', 'source:raw.num_t']).code).toBe(0);
    expect(await ids(target, dir, `${dest}.num_t`)).toEqual(range(1, 100));
    // what the schema-change warning says: drop the copy and sync again
    await copy(target, dir, `drop table ${dest}.num_t`);
    await client.query(`insert into ${s}.num_t values (101, timestamptz '2026-11-01 00:00:00+00' + 101 * interval '1 hour', 1)`);
    const r = sync(dir, ['-s', 'source:raw.num_t']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`raw\\.num_t: ${dest}\\.num_t is new but the state has a cursor \\(2026-11-05 04:00:00\\+00\\): the stream starts again from the beginning`));
    expect(r.stdout).toMatch(/reading \w+\.num_t from the beginning/);
    expect(r.stdout).toMatch(/OK raw\.num_t: 101 rows in 4 batches/);
    expect(await ids(target, dir, `${dest}.num_t`)).toEqual(range(1, 101));
    // emptied (every row deleted) with a cursor in the state: the same
    await copy(target, dir, `delete from ${dest}.num_t`);
    const e = sync(dir, ['-s', 'source:raw.num_t', '--mode', 'full', '--lookback', '1h']);
    expect(e.code, e.stdout + e.stderr).toBe(0);
    expect(e.stdout).toMatch(/num_t is empty but the state has a cursor \(2026-11-05 05:00:00\+00\): the stream starts again from the beginning \(not from the --mode full window\)/);
    expect(await ids(target, dir, `${dest}.num_t`)).toEqual(range(1, 101));
    // and then deltas as before: from the cursor, nothing said
    const d = sync(dir, ['-s', 'source:raw.num_t']);
    expect(d.stdout).not.toMatch(/starts again/);
    expect(d.stdout).toMatch(/reading \w+\.num_t from created_at >= 2026-11-05 04:55:00\+00/);
    const [st] = await copy<{ f: number; s: string }>(target, dir, `select consecutive_failures as f, last_status as s from ${dest}.vigil_sync_state`);
    expect(st).toMatchObject({ f: 0, s: 'success' });
  });

  it("a key column the source lets be NULL is refused at its line, exit 2, no failure recorded (was: NULL-key rows doubled on every run, or lost at a batch edge); a view's NULL-key rows are left out and counted", async () => {
    const s = uniqueSchema('sync_nullkey');
    await client.query(`create schema ${s};
      create table ${s}.nk3_t (ext text unique, created_at timestamptz not null, v int);
      insert into ${s}.nk3_t select case when g % 2 = 0 then 'e' || g end, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', g from generate_series(1, 6) g;
      create table ${s}.nk2_t (id int not null, tenant text, created_at timestamptz not null, unique (tenant, id));
      insert into ${s}.nk2_t select g, case when g % 2 = 0 then 't' end, timestamptz '2026-01-01 00:00:00+00' from generate_series(1, 6) g;
      create view ${s}.nk3_v as select * from ${s}.nk3_t;
      create view ${s}.nk2_v as select * from ${s}.nk2_t`);
    const dir = project(
      'duckdb',
      'raw',
      s,
      `      - name: nk3_t\n        sync: { primary_key: ext, cursor: created_at, batch_size: 2 }\n      - name: nk2_t\n        sync:\n          primary_key: [tenant, id]\n          cursor: created_at\n          batch_size: 2\n      - name: nk3_v\n        sync: { primary_key: ext, cursor: created_at, batch_size: 2 }\n      - name: nk2_v\n        sync: { primary_key: [tenant, id], cursor: created_at, batch_size: 2 }\n`,
    );
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`models/sources.yml:7: error: stream raw.nk3_t: primary_key 'ext' may be NULL in ${s}.nk3_t`);
    expect(r.stderr).toContain(`models/sources.yml:10: error: stream raw.nk2_t: primary_key 'tenant' may be NULL in ${s}.nk2_t`);
    expect(r.stdout).toMatch(/ERROR raw\.nk3_t: stream raw\.nk3_t: primary_key 'ext' may be NULL .* \(models\/sources\.yml:7\)/);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    // the views: their NULL-key rows are said and left out; the rest arrives once, run after run
    expect(r.stdout).toMatch(new RegExp(`raw\\.nk3_v: warning: 3 rows of ${s}\\.nk3_v have a NULL in the primary key \\(ext\\) and are not synced \\(models/sources\\.yml:13\\)`));
    expect(r.stdout).toMatch(/OK raw\.nk3_v: 3 rows/);
    expect(r.stdout).toMatch(/OK raw\.nk2_v: 3 rows/);
    expect(sync(dir).code).toBe(2);
    expect(await copy('duckdb', dir, 'select ext, v from raw.nk3_v order by v')).toEqual([{ ext: 'e2', v: 2 }, { ext: 'e4', v: 4 }, { ext: 'e6', v: 6 }]);
    expect(await ids('duckdb', dir, 'raw.nk2_v')).toEqual([2, 4, 6]);
    // no copy made, and no failure counted for the refused streams
    const st = await copy<{ stream: string; f: number }>('duckdb', dir, 'select stream, consecutive_failures as f from raw.vigil_sync_state order by stream');
    expect(st.map((x) => [x.stream, x.f])).toEqual([
      ['raw.nk2_v', 0],
      ['raw.nk3_v', 0],
    ]);
  });

  it.each(['duckdb', 'postgres'] as const)('a key the source does not hold unique is refused at its line into %s, exit 2 (was: rows sharing it replaced each other, 4 rows lost, exit 0); a key holding a unique one is taken', async (target) => {
    const s = uniqueSchema('sync_dup');
    const dest = target === 'duckdb' ? 'raw' : uniqueSchema('sync_dup_raw');
    await client.query(`create schema ${s};
      create table ${s}.dup_t (id int primary key, created_at timestamptz not null, user_id int not null);
      insert into ${s}.dup_t select g, timestamptz '2026-01-01 00:00:00+00', g % 3 from generate_series(1, 12) g;
      create table ${s}.dup2 (like ${s}.dup_t including all);
      insert into ${s}.dup2 select * from ${s}.dup_t;
      create table ${s}.inc_t (id int not null, created_at timestamptz not null, v int);
      create unique index on ${s}.inc_t (id) include (v);
      create unique index on ${s}.inc_t (id, v, created_at) where v > 0;
      insert into ${s}.inc_t select g, timestamptz '2026-01-01 00:00:00+00', g from generate_series(1, 5) g`);
    const dir = project(
      target,
      dest,
      s,
      `      - name: dup_t\n        sync: { primary_key: user_id, cursor: created_at, batch_size: 2 }\n      - name: dup2\n        identifier: dup2\n        sync: { primary_key: [user_id, id], cursor: created_at, batch_size: 5 }\n      - name: inc_t\n        sync: { primary_key: id, cursor: created_at, batch_size: 2 }\n`,
    );
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`models/sources.yml:7: error: stream raw.dup_t: primary_key (user_id) is not unique in ${s}.dup_t: no primary key or unique index holds only its columns`);
    expect(r.stdout).toMatch(/OK raw\.dup2: 12 rows/);
    expect(r.stdout).toMatch(/OK raw\.inc_t: 5 rows/);
    expect(await ids(target, dir, `${dest}.dup2`)).toEqual(range(1, 12));
    expect((await copy<{ n: number }>(target, dir, `select count(*) as n from ${dest}.vigil_sync_state where stream = 'raw.dup_t'`))[0].n).toEqual(target === 'duckdb' ? 0n : '0');
  });

  it('a misspelt key, cursor or table is exit 2 at its line with a did-you-mean, no failure recorded (was: exit 1, counted in consecutive_failures)', async () => {
    const s = uniqueSchema('sync_typo');
    await client.query(`create schema ${s};
      create table ${s}.ev (id int primary key, created_at timestamptz not null, v int);
      insert into ${s}.ev select g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', g from generate_series(1, 3) g;
      create table ${s}.ev_one (like ${s}.ev including all);
      create table ${s}.ev_two (like ${s}.ev including all)`);
    // (each stream a table of its own: two streams of one copy are refused before any runs)
    const dir = project('duckdb', 'raw', s, `      - name: ev\n        sync: { primary_key: id, cursor: created_at }\n      - name: e1\n        identifier: ev_one\n        sync:\n          primary_key: [idd]\n          cursor: created_at\n      - name: e2\n        identifier: ev_two\n        sync: { primary_key: id, cursor: create_at }\n      - name: evv\n        sync: { primary_key: id, cursor: created_at }\n`);
    for (let run = 0; run < 2; run++) {
      const r = sync(dir);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stdout).toMatch(/OK raw\.ev: 3 rows/);
      expect(r.stderr).toContain(`models/sources.yml:11: error: stream raw.e1: primary_key column 'idd' is not in ${s}.ev_one — did you mean 'id'? [E_SYNC]\n  hint: ${s}.ev_one has: id, created_at, v`);
      expect(r.stderr).toContain(`models/sources.yml:15: error: stream raw.e2: cursor column 'create_at' is not in ${s}.ev_two — did you mean 'created_at'? [E_SYNC]`);
      expect(r.stderr).toContain(`models/sources.yml:16: error: stream raw.evv: table ${s}.evv does not exist in the source database — did you mean 'ev'? [E_SYNC]`);
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    }
    const st = await copy<{ stream: string }>('duckdb', dir, 'select stream from raw.vigil_sync_state order by stream');
    expect(st.map((x) => x.stream)).toEqual(['raw.ev']);
  });

  it('a primary_key naming a column twice is refused at its line (was: taken, and advised into an index on (created_at, id, id))', () => {
    const dir = project('duckdb', 'raw', 'app', `      - name: ev\n        sync:\n          primary_key:\n            - id\n            - id\n          cursor: created_at\n`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(/models\/sources\.yml:10(:\d+)?: error: .*primary_key.*names 'id' twice: each column of the key once/);
  });
});
