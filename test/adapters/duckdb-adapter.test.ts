/**
 * The DuckDB adapter against a real DuckDB database: every materialization, atomic
 * replacement, incremental strategies and schema changes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { removeDir, REPO } from '../helpers.js';
import { WarehouseError } from '../../src/errors.js';
import { runSnapshot } from '../../src/run/snapshot.js';
import type { SnapshotNode } from '../../src/compile/manifest.js';

let dir: string;
let db: DuckDbAdapter;
const rel = (identifier: string) => ({ schema: 'analytics', identifier });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-duck-'));
  db = await DuckDbAdapter.open({ type: 'duckdb', path: 'x.duckdb', schema: 'analytics' }, dir, 2);
  await db.ensureSchema('analytics');
});
afterEach(async () => {
  await db.close();
  removeDir(dir);
});

describe('DuckDbAdapter', () => {
  it('a schema is listed once for the relations asked of at once, and again after a failed build dropped what the cache knew (was: one listing per relation asked: docs generate of 2,000 built models took 50 s, 17 s now)', async () => {
    for (let i = 0; i < 5; i++) await db.execute(`create table analytics.t${i} (x int)`);
    const spy = vi.spyOn(db, 'query');
    const listings = () => spy.mock.calls.filter(([sql]) => /from information_schema\.tables where table_catalog = current_database\(\) and lower\(table_schema\) = lower\(\$1\)$/.test(String(sql))).length;
    const kinds = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => db.relationExists(rel(`t${i}`))));
    expect(kinds).toEqual(['table', 'table', 'table', 'table', 'table', null]);
    expect(listings()).toBe(1);
    expect(await db.relationExists(rel('T1'))).toBe('table');
    expect(listings()).toBe(1);
    // a build with a failing hook drops the schema's cache: listed again, once
    await expect(db.materialize({ kind: 'table', relation: rel('t0'), sql: 'select 1 as x', fullRefresh: false, preHooks: [{ kind: 'pre_hook', sql: 'select * from no_such_table', origin: 'models/t0.sql:1' }] })).rejects.toThrow(/no_such_table/);
    expect(await Promise.all([db.relationExists(rel('t0')), db.relationExists(rel('t9'))])).toEqual(['table', null]);
    expect(listings()).toBe(2);
  });

  it('a relation created while a listing of its schema is under way is not lost from the cache when the listing ends (a seed loaded during a build was then "not built" until the next failure)', async () => {
    await db.execute('create table analytics.y (x int)');
    const file = join(dir, 'x.csv');
    writeFileSync(file, '1\n');
    // the listing's answer is read from DuckDB at once and handed back only after the load: the order
    // a build's concurrent nodes may run in, made certain
    const query = db.query.bind(db);
    let read!: () => void;
    const wasRead = new Promise<void>((r) => (read = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    vi.spyOn(db, 'query').mockImplementation((async (sql: string, params?: unknown[]) => {
      const rows = await query(sql, params as never);
      if (!held && /from information_schema\.tables/.test(sql)) {
        held = true;
        read();
        await gate;
      }
      return rows;
    }) as typeof db.query);
    const asked = db.relationExists(rel('y'));
    await wasRead;
    await db.loadTable({ relation: rel('x'), columns: [{ name: 'a', type: 'int' }], file });
    release();
    expect(await asked).toBe('table');
    expect(await db.relationExists(rel('x'))).toBe('table');
  });

  it("docs generate's catalog read lists a schema's columns once, not one catalog scan per relation (was: 2,000 built relations read in 11.6 s, growing with the square)", async () => {
    const { readCatalog } = await import('../../src/cli/docs-commands.js');
    for (let i = 0; i < 6; i++) await db.execute(`create table analytics.t${i} (x int, "Y${i}" varchar)`);
    await db.execute('create view analytics."V" as select 1 as a');
    const spy = vi.spyOn(db, 'query');
    const scans = () => spy.mock.calls.filter(([sql]) => /from information_schema\.columns/.test(String(sql))).length;
    const rels: Array<[string, ReturnType<typeof rel>]> = [...[0, 1, 2, 3, 4, 5].map((i) => [`m${i}`, rel(`t${i}`)] as [string, ReturnType<typeof rel>]), ['v', rel('v')], ['gone', rel('gone')]];
    const { catalog, missing } = await readCatalog(db, rels);
    expect(missing).toBe(1);
    expect(catalog.get('m3')).toEqual([{ name: 'x', data_type: 'INTEGER' }, { name: 'Y3', data_type: 'VARCHAR' }]);
    // (the view named "V", asked as v: DuckDB's names are case-insensitive)
    expect(catalog.get('v')).toEqual([{ name: 'a', data_type: 'INTEGER' }]);
    expect(scans()).toBe(1);
  });

  it('a damaged database file (truncated, or another program\'s) is refused with what to do about it (was: DuckDB\'s message alone)', async () => {
    const { truncateSync } = await import('node:fs');
    await db.execute('create table analytics.t as select * from range(10000)');
    await db.close();
    truncateSync(join(dir, 'x.duckdb'), 8000);
    const truncated = await DuckDbAdapter.open({ type: 'duckdb', path: 'x.duckdb', schema: 'analytics' }, dir, 1).then(() => undefined, (e: Error) => e);
    expect(truncated).toBeInstanceOf(WarehouseError);
    expect(truncated!.message).toMatch(/^could not open DuckDB database x\.duckdb: .*\n  hint: the file is not a DuckDB database this version can read .*Move it aside \(mv x\.duckdb x\.duckdb\.damaged\)/s);
    writeFileSync(join(dir, 'y.duckdb'), 'not a database at all, some other program\'s file');
    const other = await DuckDbAdapter.open({ type: 'duckdb', path: 'y.duckdb', schema: 'analytics' }, dir, 1).then(() => undefined, (e: Error) => e);
    expect(other!.message).toMatch(/not a valid DuckDB database file.*\n  hint: the file is not a DuckDB database/s);
    db = await DuckDbAdapter.open({ type: 'duckdb', path: 'z.duckdb', schema: 'analytics' }, dir, 1);
  });

  it('a damaged write-ahead log beside a sound database file: the log moved aside, not the database (was: "move the database aside", its checkpointed tables, alert state and sync cursors thrown away)', async () => {
    const { readFileSync, renameSync } = await import('node:fs');
    await db.execute('create table analytics.kept as select * from range(10)');
    await db.execute('checkpoint');
    await db.close();
    // (changes since the checkpoint left in the log: no checkpoint at close or on its size)
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(join(dir, 'x.duckdb'));
    const c = await inst.connect();
    await c.run('pragma disable_checkpoint_on_shutdown');
    await c.run("set wal_autocheckpoint = '1TB'");
    await c.run('insert into analytics.kept select range + 100 from range(1000)');
    c.closeSync();
    inst.closeSync();
    const wal = join(dir, 'x.duckdb.wal');
    const b = readFileSync(wal);
    const at = Math.floor(b.length / 2);
    for (let k = 0; k < 16; k++) b[at + k] ^= 0xff;
    writeFileSync(wal, b);
    const err = await DuckDbAdapter.open({ type: 'duckdb', path: 'x.duckdb', schema: 'analytics' }, dir, 1).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(WarehouseError);
    expect(err!.message).toMatch(/Corrupt WAL.*\n  hint: the database's write-ahead log x\.duckdb\.wal is damaged, not the database\. Move the log aside \(mv x\.duckdb\.wal x\.duckdb\.wal\.damaged\)/s);
    expect(err!.message).not.toMatch(/mv x\.duckdb x\.duckdb\.damaged/);
    // what the hint says does what it says: the database opens, as of its checkpoint
    renameSync(wal, `${wal}.damaged`);
    db = await DuckDbAdapter.open({ type: 'duckdb', path: 'x.duckdb', schema: 'analytics' }, dir, 1);
    expect(Number((await db.query<{ n: unknown }>('select count(*) as n from analytics.kept'))[0].n)).toBe(10);
  });

  it('creates views and tables, and switches a view to a table and back', async () => {
    await db.materialize({ kind: 'view', relation: rel('m'), sql: 'select 1 as a', fullRefresh: false });
    expect(await db.relationExists(rel('m'))).toBe('view');
    await db.materialize({ kind: 'table', relation: rel('m'), sql: 'select 2 as a', fullRefresh: false });
    expect(await db.relationExists(rel('m'))).toBe('table');
    expect(await db.query('select a from analytics.m')).toEqual([{ a: 2 }]);
    await db.materialize({ kind: 'view', relation: rel('m'), sql: 'select 3 as a', fullRefresh: false });
    expect(await db.relationExists(rel('m'))).toBe('view');
    expect(await db.columns(rel('m'))).toEqual([{ name: 'a', data_type: 'INTEGER' }]);
  });

  it("a snapshot run's steps commit together: one stopped between inserting the new versions and closing those they supersede leaves the history as it was, never a key with two current versions (was: both current until the next run)", async () => {
    await db.execute('create table analytics.cust (id int, name varchar, upd timestamp)');
    await db.execute("insert into analytics.cust values (1, 'a', '2026-01-01'), (2, 'b', '2026-01-01')");
    const node = {
      name: 'cust_ts',
      relation: rel('cust_ts'),
      compiled_sql: 'select * from analytics.cust',
      config: { unique_key: 'id', strategy: 'timestamp', updated_at: 'upd', invalidate_hard_deletes: true, tags: [] },
    } as unknown as SnapshotNode;
    // (each run in a process of its own, as `vigil snapshot` runs: the file opened again)
    const again = async () => {
      await db.close();
      db = await DuckDbAdapter.open({ type: 'duckdb', path: 'x.duckdb', schema: 'analytics' }, dir, 2);
    };
    await runSnapshot(db, node);
    await again();
    await db.execute("update analytics.cust set name = 'a2', upd = '2026-01-02' where id = 1");
    const history = () => db.query('select id, name, dbt_valid_to is null as current from analytics.cust_ts order by id, dbt_valid_from');
    const before = await history();
    // the process stopped (a kill, a failure) at the close: the statement after the insert fails
    const run = DuckDbAdapter.run.bind(DuckDbAdapter);
    const spy = vi.spyOn(DuckDbAdapter, 'run').mockImplementation((c, sql, params) => (/^update .* set "dbt_valid_to" = x\.next_from/.test(sql) ? Promise.reject(new WarehouseError('stopped', sql)) : run(c, sql, params)));
    try {
      await expect(runSnapshot(db, node)).rejects.toThrow('stopped');
    } finally {
      spy.mockRestore();
    }
    await again();
    expect(await history()).toEqual(before);
    // the next run versions the change once
    expect((await runSnapshot(db, node)).message).toBe('1 new version, 0 deleted');
    expect(await history()).toEqual([
      { id: 1, name: 'a', current: false },
      { id: 1, name: 'a2', current: true },
      { id: 2, name: 'b', current: true },
    ]);
  });

  it('a failing rebuild leaves the previous table readable', async () => {
    await db.materialize({ kind: 'table', relation: rel('t'), sql: 'select * from range(3) r(i)', fullRefresh: false });
    await expect(db.materialize({ kind: 'table', relation: rel('t'), sql: "select i, error('boom at row ' || i) as e from range(5) r(i)", fullRefresh: false })).rejects.toThrow(/boom/);
    expect(await db.query('select count(*)::int as n from analytics.t')).toEqual([{ n: 3 }]);
  });

  it('a failing switch from view to table leaves the view in place', async () => {
    await db.materialize({ kind: 'view', relation: rel('v'), sql: 'select 1 as a', fullRefresh: false });
    await expect(db.materialize({ kind: 'table', relation: rel('v'), sql: 'select no_such_col', fullRefresh: false })).rejects.toThrow(/no_such_col/);
    expect(await db.relationExists(rel('v'))).toBe('view');
    expect(await db.query('select a from analytics.v')).toEqual([{ a: 1 }]);
  });

  it('incremental: first run builds, later runs delete+insert on unique_key, --full-refresh rebuilds', async () => {
    await db.execute('create table src as select i as id, i * 10 as v from range(5) r(i)');
    const req = {
      kind: 'incremental' as const,
      relation: rel('inc'),
      sql: 'select id, v from src',
      incrementalSql: 'select id, v from src where id >= 3',
      uniqueKey: ['id'],
      fullRefresh: false,
    };
    expect((await db.materialize(req)).message).toBe('created incremental table');
    await db.execute('update src set v = v + 1 where id = 4');
    await db.execute('insert into src values (5, 50)');
    const r = await db.materialize(req);
    expect(r.rows).toBe(3); // ids 3, 4, 5
    const rows = await db.query<{ id: bigint; v: bigint }>('select id::int as id, v::int as v from analytics.inc order by id');
    expect(rows).toEqual([
      { id: 0, v: 0 },
      { id: 1, v: 10 },
      { id: 2, v: 20 },
      { id: 3, v: 30 },
      { id: 4, v: 41 },
      { id: 5, v: 50 },
    ]);
    await db.execute('delete from src where id = 0');
    await db.materialize({ ...req, fullRefresh: true });
    expect(await db.query('select count(*)::int as n from analytics.inc')).toEqual([{ n: 5 }]);
  });

  it('incremental append without a key only adds rows; composite keys work', async () => {
    await db.execute('create table src as select i as a, i % 2 as b from range(4) r(i)');
    const base = { kind: 'incremental' as const, relation: rel('app'), sql: 'select a, b from src', incrementalSql: 'select a, b from src where a >= 2', fullRefresh: false };
    await db.materialize(base);
    await db.materialize(base);
    expect(await db.query('select count(*)::int as n from analytics.app')).toEqual([{ n: 6 }]);
    await db.materialize({ ...base, relation: rel('ck'), uniqueKey: ['a', 'b'], strategy: 'merge' });
    await db.materialize({ ...base, relation: rel('ck'), uniqueKey: ['a', 'b'], strategy: 'merge' });
    expect(await db.query('select count(*)::int as n from analytics.ck')).toEqual([{ n: 4 }]);
  });

  it("incremental_strategy 'merge': a key the new rows hold more than once fails the model, naming how many and one of them, the table unchanged — one the table holds (a MERGE fails) and a new one (a MERGE inserts it twice, and the next run holding it fails) alike, as on Postgres and BigQuery (was: a new key held twice inserted twice); NULL keys are no duplicates: counted in the warning", async () => {
    await db.execute("create table src (k varchar, j int, v int); insert into src values ('a', 1, 1), ('b', 1, 2)");
    const req = { kind: 'incremental' as const, relation: rel('mg'), sql: 'select k, j, v from src', uniqueKey: ['k', 'j'], strategy: 'merge' as const, fullRefresh: false };
    await db.materialize(req);
    const table = () => db.query('select k, j, v from analytics.mg order by k, v');
    await db.execute("delete from src; insert into src values ('a', 1, 10), ('a', 1, 11), ('b', 1, 20), ('c', 1, 30), ('c', 1, 31)");
    const e = await db.materialize(req).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WarehouseError);
    expect((e as Error).message).toMatch(/^incremental_strategy 'merge' into "analytics"\."mg": unique_key \(k, j\) values held by more than one new row: 2 \(e\.g\. \(a, 1\)\); .*nothing was changed\. Make the key unique in the model's new rows \(deduplicate its query\), or use incremental_strategy 'delete\+insert'/);
    expect(await table()).toEqual([{ k: 'a', j: 1, v: 1 }, { k: 'b', j: 1, v: 2 }]);
    // the new key 'c' twice alone: refused too (it was inserted twice)
    await db.execute("delete from src where k = 'a'");
    await expect(db.materialize(req)).rejects.toThrow(/unique_key \(k, j\) values held by more than one new row: 1 \(e\.g\. \(c, 1\)\)/);
    expect(await table()).toEqual([{ k: 'a', j: 1, v: 1 }, { k: 'b', j: 1, v: 2 }]);
    await db.execute('delete from src where v = 31');
    expect((await db.materialize(req)).message).toMatch(/^merged 2 rows \(replacing 1\)/);
    expect(await table()).toEqual([{ k: 'a', j: 1, v: 1 }, { k: 'b', j: 1, v: 20 }, { k: 'c', j: 1, v: 30 }]);
    // two rows with the same key but a NULL part: no key, so no duplicate — inserted, and said
    await db.execute("insert into src values ('d', null, 40), ('d', null, 41)");
    const r = await db.materialize(req);
    expect(r.warning).toBe('2 new rows have a NULL in unique_key (k, j): such a key matches no row, so they are added again on every run (a not_null test on the key finds them)');
    expect(await db.query("select count(*)::int as n from analytics.mg where k = 'd'")).toEqual([{ n: 2 }]);
  });

  it("incremental_strategy 'merge' over a key the table already holds twice: its first build warns (naming how many keys and one), and a later merge replaces both stored rows by its one new row and says so — the rows and the words BigQuery's script gives (was: no word at either, and BigQuery's MERGE kept two updated rows); delete+insert says nothing", async () => {
    await db.execute("create table src (k varchar, j int, v int); insert into src values ('a', 1, 1), ('a', 1, 2), ('b', 1, 3), ('c', 1, 4), ('c', 1, 5), ('n', null, 6), ('n', null, 7)");
    const req = { kind: 'incremental' as const, relation: rel('sd'), sql: 'select k, j, v from src', incrementalSql: "select k, j, v * 10 as v from src where k in ('a', 'b') and v <> 2 union all select 'd', 1, 90", uniqueKey: ['k', 'j'], strategy: 'merge' as const, fullRefresh: false };
    const first = await db.materialize(req);
    expect(first.message).toBe('created incremental table');
    expect(first.warning).toBe('"analytics"."sd" was built with 2 unique_key (k, j) values held by more than one row (e.g. (a, 1)): a first build stores the query\'s rows as they are, and a later merge holding such a key replaces all of its rows by one new row; deduplicate the model\'s query (a unique test on the key finds them)');
    const r = await db.materialize(req);
    expect(r.message).toBe('merged 3 rows (replacing 3) into');
    expect(r.warning).toBe('"analytics"."sd" held 1 unique_key (k, j) value of the new rows in more than one row (e.g. (a, 1)): the merge replaced its rows by its one new row (the duplicates came from the first build, an append, delete+insert or another tool; a unique test on the key finds the others)');
    // 'a' once (the new row), 'c' (not in the new rows) twice as it was, the NULL keys kept
    expect(await db.query('select k, j, v from analytics.sd order by k, v')).toEqual([{ k: 'a', j: 1, v: 10 }, { k: 'b', j: 1, v: 30 }, { k: 'c', j: 1, v: 4 }, { k: 'c', j: 1, v: 5 }, { k: 'd', j: 1, v: 90 }, { k: 'n', j: null, v: 6 }, { k: 'n', j: null, v: 7 }]);
    // --full-refresh is a first build: checked again
    expect((await db.materialize({ ...req, fullRefresh: true })).warning).toMatch(/^"analytics"\."sd" was built with 2 unique_key \(k, j\) values/);
    // delete+insert keeps a key's rows as the new rows give them: nothing said
    const di = { ...req, relation: rel('sd_di'), strategy: 'delete+insert' as const };
    expect((await db.materialize(di)).warning).toBeUndefined();
    expect((await db.materialize(di)).warning).toBeUndefined();
  });

  it('incremental schema changes: ignore drops new columns, append_new_columns adds them, fail refuses', async () => {
    await db.materialize({ kind: 'incremental', relation: rel('s'), sql: 'select 1 as a', fullRefresh: false });
    const next = { kind: 'incremental' as const, relation: rel('s'), sql: 'select 2 as a, 3 as b', fullRefresh: false };
    await expect(db.materialize({ ...next, onSchemaChange: 'fail' })).rejects.toThrow(/on_schema_change: fail\): new columns b;/);
    // as dbt's fail: a column no longer selected, or of another type, is a change too (its values
    // would be NULL, or cast)
    await expect(db.materialize({ ...next, sql: 'select 2 as z', onSchemaChange: 'fail' })).rejects.toThrow(/new columns z; columns no longer selected: a;/);
    await expect(db.materialize({ ...next, sql: "select 'x' as a", onSchemaChange: 'fail' })).rejects.toThrow(/types changed: a INTEGER -> VARCHAR;/);
    await db.materialize({ ...next, onSchemaChange: 'ignore' });
    expect((await db.columns(rel('s'))).map((c) => c.name)).toEqual(['a']);
    await db.materialize({ ...next, onSchemaChange: 'append_new_columns' });
    expect(await db.query('select a, b from analytics.s order by a')).toEqual([
      { a: 1, b: null },
      { a: 2, b: null },
      { a: 2, b: 3 },
    ]);
  });

  it('insert_overwrite replaces whole partitions, as BigQuery partitions the table (was: only the rows whose partition column equalled a new row\'s)', async () => {
    const first = "select timestamp '2026-01-02 09:00' as ts, 'old' as v union all select timestamp '2026-01-01 09:00', 'keep' union all select timestamp '2026-02-02 09:00', 'feb'";
    const next = "select timestamp '2026-01-02 12:00' as ts, 'new' as v";
    const day = { field: 'ts', data_type: 'timestamp', granularity: 'day' };
    for (const [name, partition_by] of [['by_day', day], ['by_date', 'date(ts)'], ['by_trunc', 'timestamp_trunc(ts, day)']] as const) {
      const req = { kind: 'incremental' as const, relation: rel(name), sql: first, incrementalSql: next, strategy: 'insert_overwrite' as const, config: { partition_by }, fullRefresh: false };
      await db.materialize(req);
      await db.materialize(req);
      expect(await db.query(`select v from analytics.${name} order by ts`), name).toEqual([{ v: 'keep' }, { v: 'new' }, { v: 'feb' }]);
    }
    // by month: the whole month of January
    const month = { kind: 'incremental' as const, relation: rel('by_month'), sql: first, incrementalSql: next, strategy: 'insert_overwrite' as const, config: { partition_by: { ...day, granularity: 'month' } }, fullRefresh: false };
    await db.materialize(month);
    await db.materialize(month);
    expect(await db.query('select v from analytics.by_month order by ts')).toEqual([{ v: 'new' }, { v: 'feb' }]);
    // neither data_type nor granularity: by the column's values, whatever its type (a text column failed in date_trunc)
    const byText = { kind: 'incremental' as const, relation: rel('by_region'), sql: "select 'eu' as region, 1 as n union all select 'us', 2", incrementalSql: "select 'eu' as region, 3 as n", strategy: 'insert_overwrite' as const, config: { partition_by: { field: 'region' } }, fullRefresh: false };
    await db.materialize(byText);
    await db.materialize(byText);
    expect(await db.query('select region, n::int as n from analytics.by_region order by region')).toEqual([{ region: 'eu', n: 3 }, { region: 'us', n: 2 }]);
    // integer ranges: by the values, as dbt-bigquery replaces them (and Vigil's BigQuery adapter):
    // 11 in 19's bucket and 150 in 200's are kept (were: replaced with their RANGE_BUCKET)
    const ranged = {
      kind: 'incremental' as const,
      relation: rel('by_range'),
      sql: "select 11 as n, 'old' as v union all select 25, 'keep' union all select 150, 'high' union all select -5, 'low'",
      incrementalSql: "select 19 as n, 'new' as v union all select 200, 'higher'",
      strategy: 'insert_overwrite' as const,
      config: { partition_by: { field: 'n', data_type: 'int64', range: { start: 0, end: 100, interval: 10 } } },
      fullRefresh: false,
    };
    await db.materialize(ranged);
    await db.materialize(ranged);
    expect(await db.query('select n::int as n, v from analytics.by_range order by n')).toEqual([
      { n: -5, v: 'low' },
      { n: 11, v: 'old' },
      { n: 19, v: 'new' },
      { n: 25, v: 'keep' },
      { n: 150, v: 'high' },
      { n: 200, v: 'higher' },
    ]);
    // a value stored again is replaced, once
    await db.materialize({ ...ranged, incrementalSql: "select 11 as n, 'again' as v" });
    expect(await db.query("select v from analytics.by_range where n = 11")).toEqual([{ v: 'again' }]);
  });

  it('a unique key holding a NULL matches no row (as in dbt, and on BigQuery and Postgres): the row is added again, and the result says so', async () => {
    const req = { kind: 'incremental' as const, relation: rel('nk'), sql: "select 1 as a, 'x' as b union all select null, 'y'", uniqueKey: ['a'], fullRefresh: false };
    expect((await db.materialize(req)).warning).toBeUndefined();
    const r = await db.materialize(req);
    expect(r.warning).toBe('1 new row has a NULL in unique_key (a): such a key matches no row, so it is added again on every run (a not_null test on the key finds them)');
    expect(await db.query('select a, b from analytics.nk order by b, a')).toEqual([{ a: 1, b: 'x' }, { a: null, b: 'y' }, { a: null, b: 'y' }]);
  });

  it('a column renamed only in case is the same column, as DuckDB reads names (was: NULL written into it, or "already exists" with append_new_columns)', async () => {
    await db.materialize({ kind: 'incremental', relation: rel('cs'), sql: 'select 1 as id, 10 as "Total"', fullRefresh: false });
    const next = { kind: 'incremental' as const, relation: rel('cs'), sql: 'select 2 as id, 20 as total', fullRefresh: false };
    await db.materialize(next);
    await db.materialize({ ...next, sql: 'select 3 as id, 30 as total', onSchemaChange: 'append_new_columns' });
    await db.materialize({ ...next, sql: 'select 4 as id, 40 as TOTAL', onSchemaChange: 'fail' });
    expect((await db.columns(rel('cs'))).map((c) => c.name)).toEqual(['id', 'Total']);
    expect(await db.query('select id, "Total" as t from analytics.cs order by id')).toEqual([1, 2, 3, 4].map((id) => ({ id, t: id * 10 })));
  });

  it('a schema or relation named in another case is the same one, as DuckDB looks names up: an incremental model runs incrementally into it (was: not found, rebuilt whole by create or replace on every run, full_refresh: false too, then "its columns: " empty)', async () => {
    await db.ensureSchema('Marts');
    const first = { kind: 'incremental' as const, relation: { schema: 'Marts', identifier: 'Sec' }, sql: 'select 1 as id union all select 2', incrementalSql: 'select 3 as id', uniqueKey: ['id'], fullRefresh: false };
    expect((await db.materialize(first)).message).toBe('created incremental table');
    // (a new process: nothing cached)
    await db.close();
    db = await DuckDbAdapter.open({ type: 'duckdb', path: 'x.duckdb', schema: 'analytics' }, dir, 2);
    const again = { ...first, relation: { schema: 'marts', identifier: 'sec' }, sql: 'select 3 as id' };
    expect(await db.relationExists(again.relation)).toBe('table');
    expect((await db.materialize(again)).message).toBe('inserted 1 rows into');
    expect(await db.columns(again.relation)).toEqual([{ name: 'id', data_type: 'INTEGER' }]);
    expect(await db.query('select id from marts.sec order by id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('warehouse errors carry the failing SQL', async () => {
    const e = await db.execute('select * from nope_table').catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'WarehouseError', sql: 'select * from nope_table' });
    expect((e as Error).message).toMatch(/nope_table/);
  });
});

describe('duckError', () => {
  it("takes the column from DuckDB's caret, also when it shows a window of a long line", async () => {
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'main' }, REPO, 1);
    try {
      const long = "select 1 as a,\n  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' as b, nosuch_col + 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' as c\nfrom range(3)";
      const e1 = await db.query(long).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(WarehouseError);
      expect((e1 as WarehouseError).position).toEqual({ line: 2, column: long.split('\n')[1].indexOf('nosuch_col') + 1 });
      const e2 = await db.query('select nosuch from range(3)').catch((e: unknown) => e);
      expect((e2 as WarehouseError).position).toEqual({ line: 1, column: 8 });
    } finally {
      await db.close();
    }
  });
});

describe('a sync into DuckDB', () => {
  // the settings DuckDB has while it loads a batch: what the target sets, else the sync's own
  const loadOneBatch = async (cfg: { threads?: number; memory_limit?: string }) => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-tuning-'));
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: 'x.duckdb', schema: 'raw', ...cfg }, dir, 1);
    try {
      const w = db.syncWriter();
      const rel = { schema: 'raw', identifier: 't' };
      const columns = [{ name: 'id', pgType: 'bigint' }, { name: 'at', pgType: 'timestamp with time zone' }];
      await w.ensureTables(rel, columns);
      const csv = join(dir, 'batch.csv');
      writeFileSync(csv, '1\x1f2026-11-01 00:00:00+00\n2\x1f2026-11-01 00:01:00+00\n');
      const files = (async function* () {
        yield { path: csv };
      })();
      await w.applyBatch(rel, columns, files, ['id'], { schema: 'raw', identifier: 'vigil_sync_state' }, 'raw.t', null, false, () => ({ rows: 2, lastCursor: '2026-11-01 00:01:00+00', lastId: '2' }));
      const [s] = await db.query<{ threads: number; mem: string; n: number }>("select current_setting('threads') as threads, current_setting('memory_limit') as mem, (select count(*) from raw.t) as n");
      return { threads: Number(s.threads), mem: String(s.mem), rows: Number(s.n) };
    } finally {
      await db.close();
      removeDir(dir);
    }
  };

  it('leaves a core to the source and keeps a small buffer pool, unless the target sets threads or memory_limit', async () => {
    const tuned = await loadOneBatch({});
    const threads = Math.max(1, availableParallelism() - 1);
    // 96 MiB, and 16 MiB for each thread beyond the first
    expect(tuned).toEqual({ threads, mem: `${96 + 16 * (threads - 1)}.0 MiB`, rows: 2 });
    const ownThreads = await loadOneBatch({ threads: 3 });
    expect(ownThreads).toEqual({ threads: 3, mem: '128.0 MiB', rows: 2 });
    const own = await loadOneBatch({ threads: 3, memory_limit: '300MB' });
    expect(own.threads).toBe(3);
    expect(own.mem).toMatch(/^28[0-9](\.\d+)? MiB$/); // DuckDB shows 300 MB in MiB
    expect(own.rows).toBe(2);
  });
});
