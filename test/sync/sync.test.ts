/**
 * `vigil sync` against a real PostgreSQL server (inject('pgUrl')) into DuckDB: initial load,
 * delta, ties on the cursor across batch edges, a late-committing concurrent transaction,
 * updates on an updated_at stream, kill -9 mid-run, and every bad input.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { cpSync, existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { deserialize } from 'node:v8';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { startClonedPostgres, uniqueSchema, withPgClient } from '../support/postgres.js';
import { syncStreams } from '../../src/sync/run-sync.js';
import type { SyncReader } from '../../src/sync/sync-types.js';
import type { SourceNode } from '../../src/compile/manifest.js';
import { makeProject, removeDir, VIGIL, vigil, vigilAsync, duckRows as duck } from '../helpers.js';
import { fileClient } from '../support/pg-client.js';
import { readDuckDbReadOnly } from '../support/duckdb-reader.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];

afterAll(() => dirs.forEach(removeDir));

function project(srcSchema: string, opts: { batch?: number; lookback?: string; extraTables?: string } = {}): string {
  const dir = makeProject({
    'project.yaml': `name: synctest
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }
`,
    'models/sources.yml': `sources:
  - name: raw
    schema: raw
    sync: { from: app, schema: ${srcSchema} }
    tables:
      - name: events
        sync: { primary_key: id, cursor: created_at, batch_size: ${opts.batch ?? 3}, lookback: ${opts.lookback ?? '5m'} }
      - name: trails
        sync: { primary_key: id, cursor: updated_at, batch_size: 100 }
${opts.extraTables ?? ''}`,
  });
  dirs.push(dir);
  return dir;
}

async function setupSource(schema: string): Promise<void> {
  await client.query(`create schema ${schema};
    create table ${schema}.events (id bigint primary key, payload jsonb, note text, created_at timestamptz not null);
    create index on ${schema}.events (created_at, id);
    create table ${schema}.trails (id text primary key, cost double precision, updated_at timestamptz not null);`);
}

/** The source tables, trails holding t1..tn, one second apart from 2026-01-01. */
async function trailsSource(schema: string, n: number): Promise<void> {
  await setupSource(schema);
  await client.query(`insert into ${schema}.trails select 't' || i, i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' from generate_series(1, ${n}) i`);
}

const sync = (dir: string, args: string[] = []) => vigil(dir, ['sync', ...args], { DATABASE_URL: url });

/** Every source row equals its target row, and there are no extra rows: compared as text. */
async function expectInSync(dir: string, schema: string, table = 'events'): Promise<number> {
  const cols = table === 'events' ? ['id', 'payload', 'note', 'created_at'] : ['id', 'cost', 'updated_at'];
  const src = (await client.query(`select ${cols.map((c) => (c === 'payload' ? `${c}::text as ${c}` : c === 'created_at' || c === 'updated_at' ? `to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US') as ${c}` : `${c}::text as ${c}`)).join(', ')} from ${schema}.${table} order by id`)).rows;
  const dst = await duck(dir, `select ${cols.map((c) => (c === 'created_at' || c === 'updated_at' ? `strftime(${c}, '%Y-%m-%d %H:%M:%S.%f') as ${c}` : `cast(${c} as varchar) as ${c}`)).join(', ')} from raw.${table} order by ${table === 'events' ? 'id' : 'id'}`);
  const norm = (r: Record<string, unknown>) =>
    cols.map((c) => (r[c] === null ? null : c === 'payload' ? JSON.stringify(JSON.parse(String(r[c]))) : c === 'cost' ? String(Number(r[c])) : String(r[c]))).join('|');
  expect(dst.map(norm)).toEqual(src.map(norm));
  return src.length;
}

describe('vigil sync', () => {
  it('initial load, then deltas; ties on created_at across batch edges are neither lost nor doubled', async () => {
    const s = uniqueSchema('sync_basic');
    await setupSource(s);
    // 10 rows share one timestamp with batch_size 3: every batch edge falls inside the tie
    await client.query(`insert into ${s}.events select i, jsonb_build_object('durationMs', i, 'status', 'success'), 'n' || i, timestamptz '2026-01-01 10:00:00+00' from generate_series(1, 10) i`);
    await client.query(`insert into ${s}.events select i, null, null, timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(11, 20) i`);
    await client.query(`insert into ${s}.trails values ('a', 1.5, '2026-01-01 00:00:00+00'), ('b', 2.5, '2026-01-01 00:00:01+00')`);
    const dir = project(s);
    const r = sync(dir);
    expect(r.stdout).toMatch(/OK raw\.events: 20 rows in 7 batches/);
    // trails has no index on (updated_at, id): said, with the statement that makes one
    expect(r.stdout).toMatch(/raw\.trails: warning: \w+\.trails has no index on \(updated_at, id\): every batch sorts the rows left to read \(models\/sources\.yml:\d+\); create index on \w+\.trails \(updated_at, id\)/);
    expect(r.stdout).not.toMatch(/raw\.events: warning/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await expectInSync(dir, s)).toBe(20);
    expect(await expectInSync(dir, s, 'trails')).toBe(2);
    // delta: new rows, plus the lookback window re-read, and still no duplicates
    await client.query(`insert into ${s}.events select i, '{"k": "v"}', 'late', timestamptz '2026-01-01 10:00:20+00' from generate_series(21, 25) i`);
    expect(sync(dir).code).toBe(0);
    expect(await expectInSync(dir, s)).toBe(25);
    const [st] = await duck<{ rows_synced: bigint; cursor: string; status: string; f: number }>(dir, `select rows_synced, strftime(cursor_value, '%H:%M:%S') as cursor, last_status as status, consecutive_failures as f from raw.vigil_sync_state where stream = 'raw.events'`);
    expect(st).toMatchObject({ cursor: '10:00:20', status: 'success', f: 0 });
    const status = vigil(dir, ['sync', 'status'], { DATABASE_URL: url });
    expect(status.stdout).toMatch(/raw\.events: success, \d+ rows read, last synced \d+s ago, cursor 2026-01-01 10:00:20/);
    // --full-refresh empties the table (an empty copy in its place) and reads everything again:
    // same rows, same column types, and a view on the table still reads it
    await (async () => {
      const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
      try {
        await db.execute('create view raw.events_v as select id, payload from raw.events');
      } finally {
        await db.close();
      }
    })();
    const full = sync(dir, ['--full-refresh']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(full.stdout).toMatch(/OK raw\.events: 25 rows/);
    expect(await expectInSync(dir, s)).toBe(25);
    expect(await duck(dir, "select data_type from information_schema.columns where table_schema = 'raw' and table_name = 'events' order by ordinal_position")).toEqual([
      { data_type: 'BIGINT' },
      { data_type: 'JSON' },
      { data_type: 'VARCHAR' },
      { data_type: 'TIMESTAMP WITH TIME ZONE' },
    ]);
    expect(await duck(dir, 'select count(*)::int as n from raw.events_v')).toEqual([{ n: 25 }]);
  });

  it('picks up a row whose transaction committed late with an earlier timestamp (within lookback)', async () => {
    const s = uniqueSchema('sync_late');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, null, null, now() - interval '10 minutes' + i * interval '1 second' from generate_series(1, 5) i`);
    const dir = project(s, { lookback: '5m' });
    expect(sync(dir).code).toBe(0);
    // a concurrent writer stamps its row 1 minute ago but commits only after the next sync ran
    const writer = new pg.Client(url);
    await writer.connect();
    await writer.query('begin');
    await writer.query(`insert into ${s}.events values (100, null, 'late commit', now() - interval '1 minute')`);
    await client.query(`insert into ${s}.events values (101, null, 'on time', now())`);
    expect(sync(dir).code).toBe(0);
    expect(await duck(dir, 'select id::int as id from raw.events where id >= 100 order by id')).toEqual([{ id: 101 }]);
    await writer.query('commit');
    await writer.end();
    expect(sync(dir).code).toBe(0);
    expect(await expectInSync(dir, s)).toBe(7);
  });

  it('a row stamped before the lookback window is only recovered by --mode full --lookback', async () => {
    const s = uniqueSchema('sync_repair');
    await setupSource(s);
    await client.query(`insert into ${s}.events values (1, null, null, now())`);
    const dir = project(s, { lookback: '1m' });
    const first = sync(dir);
    expect(first.code).toBe(0);
    // (one of a thing is said in the singular: was "1 rows")
    expect(first.stdout).toMatch(/OK raw\.events: 1 row in 1 batch \[/);
    expect(first.stdout).toMatch(/Finished 2 streams in [\d.]+s: 1 row, 0 failed/);
    await client.query(`insert into ${s}.events values (2, null, 'backdated', now() - interval '3 hours')`);
    expect(sync(dir).code).toBe(0);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: 1 }]);
    const repair = sync(dir, ['--mode', 'full', '--lookback', '24h']);
    expect(repair.code).toBe(0);
    expect(await expectInSync(dir, s)).toBe(2);
  });

  it('updates on an updated_at stream replace the row', async () => {
    const s = uniqueSchema('sync_upd');
    await setupSource(s);
    await client.query(`insert into ${s}.trails values ('a', 1, now() - interval '1 hour'), ('b', 2, now() - interval '1 hour')`);
    const dir = project(s);
    expect(sync(dir).code).toBe(0);
    await client.query(`update ${s}.trails set cost = 9.75, updated_at = now() where id = 'a'`);
    expect(sync(dir).code).toBe(0);
    expect(await expectInSync(dir, s, 'trails')).toBe(2);
    expect(await duck(dir, "select cost from raw.trails where id = 'a'")).toEqual([{ cost: 9.75 }]);
  });

  it("a stream whose cursor: changes column (created_at to updated_at) starts again from the beginning, the copy keeping its rows: the rows updated since they were copied arrive (was: the saved created_at taken for an updated_at, their old versions kept, exit 0)", async () => {
    const s = uniqueSchema('sync_cursor_col');
    await client.query(`create schema ${s};
      create table ${s}.trails (id text primary key, cost double precision, created_at timestamptz not null, updated_at timestamptz not null);
      create index on ${s}.trails (updated_at, id);
      insert into ${s}.trails select 't' || i, i, now() - interval '10 days' + i * interval '1 day', now() - interval '10 days' + i * interval '1 day' from generate_series(1, 9) i;
      create table ${s}.events (id bigint primary key, payload jsonb, note text, created_at timestamptz not null)`);
    const dir = project(s);
    const yml = join(dir, 'models/sources.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('cursor: updated_at, batch_size: 100', 'cursor: created_at, batch_size: 100'));
    expect(sync(dir, ['-s', 'source:raw.trails']).code).toBe(0);
    // rows updated after they were copied (a day ago and more: before the saved created_at cursor)
    await client.query(`update ${s}.trails set cost = 99, updated_at = created_at + interval '12 hours' where id in ('t2', 't5')`);
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('cursor: created_at, batch_size: 100', 'cursor: updated_at, batch_size: 100'));
    const r = sync(dir, ['-s', 'source:raw.trails']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/raw\.trails: the saved cursor \([^)]+\) is a value of created_at, and the stream's cursor is now updated_at \(models\/sources\.yml:\d+\): it starts again from the beginning, replacing the copy's rows by key/);
    expect(r.stdout).toContain('raw.trails: reading ' + s + '.trails from the beginning');
    expect(await duck(dir, "select id, cost from raw.trails where id in ('t2', 't5') order by id")).toEqual([{ id: 't2', cost: 99 }, { id: 't5', cost: 99 }]);
    expect(await expectInSync(dir, s, 'trails')).toBe(9);
    // the state now names updated_at: the next run is a delta again
    const again = sync(dir, ['-s', 'source:raw.trails']);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('starts again');
    expect(again.stdout).toContain('from updated_at >=');
  });

  it("the files of one batch read one snapshot: a row whose cursor moves while the batch is read arrives once", async () => {
    const s = uniqueSchema('sync_snap');
    await trailsSource(s, 8);
    const db = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-snap-'));
    dirs.push(dir);
    const reader = db.syncReader!();
    try {
      const spec = { stream: 'raw.trails', schema: s, table: 'trails', cursor: 'updated_at', primaryKey: ['id'], declaredAt: 'models/sources.yml:1', timestamps: 'sql-offset' as const, separators: 'ascii' as const };
      const columns = await reader.describe(spec);
      // (the text id, the first column, leaves quoted: a byte order mark it starts with is kept)
      const ids = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\x1f')[0].replace(/^\x1e(.*)\x1e$/, '$1'));
      // a batch of 8 in two files of 4: between the two reads, t2 is updated (its cursor moves past both)
      const a = await reader.readBatch(spec, columns, { lower: null, after: null }, 4, join(dir, 'a.csv'), false);
      await client.query(`update ${s}.trails set cost = 99, updated_at = timestamptz '2026-01-01 00:00:07.5+00' where id = 't2'`);
      const b = await reader.readBatch(spec, columns, { lower: null, after: a.upto }, 4, join(dir, 'b.csv'), true);
      expect([...ids(a.file), ...ids(b.file)]).toEqual(['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8']);
      // a later batch reads a new snapshot: it sees the row where it moved (the next run's
      // lookback re-reads it there, and its delete-by-key replaces the old version)
      const d = await reader.readBatch(spec, columns, { lower: null, after: a.upto }, 8, join(dir, 'd.csv'), true);
      expect(ids(d.file)).toEqual(['t5', 't6', 't7', 't2', 't8']);
    } finally {
      await reader.release();
      await db.close();
    }
  });

  /** The stream `raw.trails` of `schema`, as syncStreams takes it. */
  const trails = (schema: string, dest = 'raw', batch = 4): SourceNode => ({
    unique_id: 'source.synctest.raw.trails',
    resource_type: 'source',
    name: 'trails',
    source_name: 'raw',
    file: 'models/sources.yml',
    line: 1,
    relation: { schema: dest, identifier: 'trails' },
    columns: [],
    tags: [],
    sync: { from: 'app', schema, primary_key: ['id'], cursor: 'updated_at', batch_size: batch, lookback_seconds: 300 },
  });
  /** A reader of the source that runs `after` once, when its first file has been read. */
  const readerWith = (db: PostgresAdapter, after: () => Promise<void>): SyncReader => {
    const r = db.syncReader!();
    const read = r.readBatch.bind(r);
    let first = true;
    r.readBatch = async (...args) => {
      const b = await read(...args);
      if (first) {
        first = false;
        await after();
      }
      return b;
    };
    return r;
  };
  const quiet = { mode: 'delta' as const, fullRefresh: false, out: () => undefined };

  it('a first load reads one snapshot: a row updated between two of its batches arrives once (was: twice, its old version never deleted)', async () => {
    const s = uniqueSchema('sync_first');
    await trailsSource(s, 8);
    const src = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-first-'));
    dirs.push(dir);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: 'w.duckdb', schema: 'raw' }, dir, 1);
    try {
      // batches of 4: once the first file is read, t2 moves past t7 (an update in the application)
      const reader = readerWith(src, async () => void (await client.query(`update ${s}.trails set cost = 99, updated_at = timestamptz '2026-01-01 00:00:07.5+00' where id = 't2'`)));
      const [r] = await syncStreams([trails(s)], new Map([['app', reader]]), db, quiet);
      expect(r).toMatchObject({ status: 'success', rows: 8 });
      const ids = async () => (await db.query<{ id: string; cost: number }>('select id, cost from raw.trails order by id, cost')).map((x) => `${x.id}:${x.cost}`);
      expect(await ids()).toEqual(['t1:1', 't2:2', 't3:3', 't4:4', 't5:5', 't6:6', 't7:7', 't8:8']);
      // the next run (the table has rows: a snapshot per batch, deletes by key) takes the update
      const [r2] = await syncStreams([trails(s)], new Map([['app', src.syncReader!()]]), db, quiet);
      expect(r2.status).toBe('success');
      expect(await ids()).toEqual(['t1:1', 't2:99', 't3:3', 't4:4', 't5:5', 't6:6', 't7:7', 't8:8']);
    } finally {
      await db.close();
      await src.close();
    }
  });

  it("a first load's snapshot stops the cursor at the snapshot's clock, not a later file's: a row committed during a load longer than the lookback is read by the next run (was: a row stamped in the future moved the cursor to the last file's clock, past the rows committed meanwhile, lost)", async () => {
    const s = uniqueSchema('sync_first_clock');
    await trailsSource(s, 8);
    await client.query(`insert into ${s}.trails values ('t9', 9, '9999-12-31')`);
    const src = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-first-clock-'));
    dirs.push(dir);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: 'w.duckdb', schema: 'raw' }, dir, 1);
    const node = trails(s);
    const stream = { ...node, sync: { ...node.sync!, lookback_seconds: 1 } };
    try {
      // once the load's first file is read (its snapshot taken), a row is committed, stamped
      // now; the load goes on for longer than the lookback
      const reader = readerWith(src, async () => {
        await client.query(`insert into ${s}.trails values ('late', 10, clock_timestamp())`);
        await new Promise((r) => setTimeout(r, 2500));
      });
      const [r] = await syncStreams([stream], new Map([['app', reader]]), db, quiet);
      expect(r).toMatchObject({ status: 'success', rows: 9 });
      const [r2] = await syncStreams([stream], new Map([['app', src.syncReader!()]]), db, quiet);
      expect(r2.status).toBe('success');
      expect((await db.query<{ id: string }>('select id from raw.trails order by id')).map((x) => x.id)).toEqual(['late', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9']);
    } finally {
      await db.close();
      await src.close();
    }
  });

  it('a full pass stopped behind the cursor leaves the cursor where it was; a run that commits batches and then fails is no successful sync (were: the cursor moved back to where the pass stopped, every batch refreshed last_synced_at, last_run_rows kept its first batch)', async () => {
    const s = uniqueSchema('sync_behind');
    await trailsSource(s, 12);
    const src = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-behind-'));
    dirs.push(dir);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: 'w.duckdb', schema: 'raw' }, dir, 1);
    const state = async () =>
      (await db.query<Record<string, unknown>>('select cast(cursor_value as varchar) as c, cursor_id as id, rows_synced::int as n, last_run_rows::int as r, last_status as st, cast(last_synced_at as varchar) as at from raw.vigil_sync_state'))[0];
    try {
      const [r1] = await syncStreams([trails(s)], new Map([['app', src.syncReader!()]]), db, quiet);
      expect(r1).toMatchObject({ status: 'success', rows: 12 });
      const s1 = await state();
      expect(s1).toMatchObject({ id: 't12', n: 12, r: 12, st: 'success' });
      // a full pass (from the beginning), stopped once its first batch is in
      const stop = new AbortController();
      const [r2] = await syncStreams([trails(s)], new Map([['app', readerWith(src, async () => stop.abort())]]), db, { ...quiet, mode: 'full', signal: stop.signal });
      expect(r2).toMatchObject({ status: 'interrupted', rows: 4 });
      expect(r2.message).toContain('this pass is not resumed');
      expect(await state()).toEqual({ ...s1, n: 16, r: 4, st: 'interrupted' });
      // a full pass that commits a batch, then loses its source
      const failing = src.syncReader!();
      const read = failing.readBatch.bind(failing);
      let calls = 0;
      failing.readBatch = async (...args) => {
        if (++calls === 2) throw new Error("connection lost"); // (one file per batch here: trails has no (cursor, key) index)
        return read(...args);
      };
      const [r3] = await syncStreams([trails(s)], new Map([['app', failing]]), db, { ...quiet, mode: 'full' });
      expect(r3).toMatchObject({ status: 'error', rows: 4 });
      expect(await state()).toEqual({ ...s1, n: 20, r: 4, st: 'error' });
      expect((await db.query<{ n: number }>('select count(*)::int as n from raw.trails'))[0].n).toBe(12);
    } finally {
      await db.close();
      await src.close();
    }
  });

  it("a batch read while the run's lease ran out (vigil serve's checkpoint says so) is not written; one read while a stop was asked for otherwise (SIGTERM) is (was since 0ca5b4df: any stop during the read dropped it)", async () => {
    const s = uniqueSchema('sync_lease_read');
    await trailsSource(s, 12);
    const src = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-lease-read-'));
    dirs.push(dir);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: 'w.duckdb', schema: 'raw' }, dir, 1);
    try {
      // the lease runs out while the first batch is read: the serve's checkpoint aborts and says so
      const stop = new AbortController();
      let gone = false;
      const checkpoint = () => {
        if (gone) stop.abort('lease');
        return gone;
      };
      const [r] = await syncStreams([trails(s)], new Map([['app', readerWith(src, async () => void (gone = true))]]), db, { ...quiet, signal: stop.signal, checkpoint });
      expect(r).toMatchObject({ status: 'interrupted', rows: 0 });
      expect(await db.query<{ n: number }>("select count(*)::int as n from information_schema.tables where table_name = 'trails'").then(async (t) => (t[0].n ? (await db.query<{ n: number }>('select count(*)::int as n from raw.trails'))[0].n : 0))).toBe(0);
      // the same stop without the lease gone (a SIGTERM): the batch read is written, then it stops
      const term = new AbortController();
      const [r2] = await syncStreams([trails(s)], new Map([['app', readerWith(src, async () => term.abort())]]), db, { ...quiet, signal: term.signal, checkpoint: () => false });
      expect(r2).toMatchObject({ status: 'interrupted', rows: 4 });
    } finally {
      await db.close();
      await src.close();
    }
  });

  it('timestamps with a precision (Prisma\'s timestamptz(3)) are cursors and keep their zone in DuckDB (were: refused as a cursor, copied as TIMESTAMP without zone)', async () => {
    const s = uniqueSchema('sync_prec');
    await client.query(`create schema ${s}; create table ${s}.prec (id text primary key, updated_at timestamptz(3) not null, seen timestamp(0)); insert into ${s}.prec values ('a', timestamptz '2026-01-01 10:00:00.123+02', timestamp '2026-01-01 08:00:01')`);
    const src = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-prec-'));
    dirs.push(dir);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: 'w.duckdb', schema: 'raw' }, dir, 1);
    try {
      const node = { ...trails(s), name: 'prec', relation: { schema: 'raw', identifier: 'prec' } };
      const [r] = await syncStreams([node], new Map([['app', src.syncReader!()]]), db, quiet);
      expect(r, r.message).toMatchObject({ status: 'success', rows: 1 });
      expect(await db.query("select typeof(updated_at) as t, typeof(seen) as u, strftime(updated_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%g') as v from raw.prec")).toEqual([{ t: 'TIMESTAMP WITH TIME ZONE', u: 'TIMESTAMP', v: '2026-01-01 08:00:00.123' }]);
    } finally {
      await db.close();
      await src.close();
    }
  });

  it('two syncs of one stream at once into Postgres: the batch of the later committer is rolled back, nothing doubled, the state is the winner\'s', async () => {
    const s = uniqueSchema('sync_race');
    const dest = uniqueSchema('sync_race_raw');
    await trailsSource(s, 10);
    const src = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 4);
    const wh = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 4);
    try {
      // run A reads its first file; meanwhile run B syncs the whole stream (both found the table empty)
      let b: Awaited<ReturnType<typeof syncStreams>> = [];
      const reader = readerWith(src, async () => void (b = await syncStreams([trails(s, dest)], new Map([['app', src.syncReader!()]]), wh, quiet)));
      const [a] = await syncStreams([trails(s, dest)], new Map([['app', reader]]), wh, quiet);
      expect(b[0]).toMatchObject({ status: 'success', rows: 10 });
      expect(a.status).toBe('error');
      // (said so: vigil serve syncs such a stream once more instead of failing its job)
      expect(a.conflict).toBe(true);
      expect(b[0].conflict).toBeUndefined();
      expect(a.message).toMatch(/^stream raw\.trails: another vigil sync of this stream committed a batch since this run read its cursor .*nothing doubled/);
      expect((await client.query(`select count(*)::int as n, count(distinct id)::int as d from ${dest}.trails`)).rows).toEqual([{ n: 10, d: 10 }]);
      // the loser wrote nothing in the state: B's success stands
      expect((await client.query(`select rows_synced::int as n, last_status, consecutive_failures as f from ${dest}.vigil_sync_state`)).rows).toEqual([{ n: 10, last_status: 'success', f: 0 }]);
    } finally {
      await wh.close();
      await src.close();
    }
  });

  it('a column added to the source is added to the table (it was: every later run failed), a renamed one is one gone and one new; --mode full fills the rows synced before', async () => {
    const s = uniqueSchema('sync_cols');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, null, 'n' || i, now() - interval '2 hours' + i * interval '10 minutes' from generate_series(1, 5) i`);
    const dir = project(s);
    expect(sync(dir, ['-s', 'source:raw.events']).code).toBe(0);
    await client.query(`alter table ${s}.events add column tokens integer default 7; alter table ${s}.events rename column note to memo; insert into ${s}.events values (6, null, 'm6', now(), 60)`);
    const r = sync(dir, ['-s', 'source:raw.events']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('raw.events: new in the source: memo (text), tokens (integer); added to raw.events, where the rows synced before hold NULL until vigil sync --mode full (or --full-refresh) reads them again');
    expect(r.stdout).toContain('raw.events: no longer in the source: note; kept in raw.events, NULL in the rows synced from now on (a renamed column is one gone and one new)');
    const rows = () => duck<{ id: bigint; note: string | null; memo: string | null; tokens: number | null }>(dir, 'select id, note, memo, tokens from raw.events order by id');
    expect((await rows()).map((x) => [Number(x.id), x.note, x.memo, x.tokens])).toEqual([
      // (row 5 is within the 5-minute lookback of the cursor: read again, in the new shape)
      [1, 'n1', null, null], [2, 'n2', null, null], [3, 'n3', null, null], [4, 'n4', null, null], [5, null, 'n5', 7], [6, null, 'm6', 60],
    ]);
    const full = sync(dir, ['-s', 'source:raw.events', '--mode', 'full']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(full.stdout).not.toContain('new in the source');
    expect((await rows()).map((x) => [Number(x.id), x.memo, x.tokens])).toEqual([[1, 'n1', 7], [2, 'n2', 7], [3, 'n3', 7], [4, 'n4', 7], [5, 'n5', 7], [6, 'm6', 60]]);
  });

  it("a primary_key changed to a column added after rows were copied: refused at the key's line, exit 2, nothing read; --full-refresh reads the copy again (was: --mode full copied every row again beside its old copy, which no delete by key matched, exit 0)", async () => {
    const s = uniqueSchema('sync_newkey');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, null, 'n' || i, now() - interval '2 hours' + i * interval '10 minutes' from generate_series(1, 5) i`);
    const dir = project(s);
    expect(sync(dir, ['-s', 'source:raw.events']).code).toBe(0);
    // the application gets a uuid key; the stream follows it
    await client.query(`alter table ${s}.events add column uid uuid not null default gen_random_uuid(); alter table ${s}.events drop constraint events_pkey; alter table ${s}.events add primary key (uid)`);
    const yml = join(dir, 'models/sources.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('primary_key: id, cursor: created_at', 'primary_key: uid, cursor: created_at'));
    const count = async () => Number((await duck<{ n: bigint }>(dir, 'select count(*) as n from raw.events'))[0].n);
    for (const args of [['--mode', 'full'], []]) {
      const r = sync(dir, ['-s', 'source:raw.events', ...args]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/models\/sources\.yml:\d+: error: stream raw\.events: raw\.events holds 5 rows with a NULL in primary_key \(uid\) .*nothing was synced \[E_SYNC\]/);
      expect(r.stderr).toContain('vigil sync --full-refresh -s source:raw.events');
      expect(await count()).toBe(5);
    }
    const full = sync(dir, ['-s', 'source:raw.events', '--full-refresh']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(await count()).toBe(5);
    expect(sync(dir, ['-s', 'source:raw.events', '--mode', 'full']).code).toBe(0);
    expect(await count()).toBe(5);
    expect(await duck(dir, 'select count(*) as n from raw.events where uid is null')).toEqual([{ n: 0n }]);
  });

  it('kill -9 in the middle of a run, then a rerun: the target equals the source', async () => {
    const s = uniqueSchema('sync_kill');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, jsonb_build_object('durationMs', i % 997, 'prompt', repeat('x', 200)), 'n' || i, timestamptz '2026-01-01 00:00:00+00' + (i / 7) * interval '1 second' from generate_series(1, 60000) i`);
    const dir = project(s, { batch: 2000 });
    const child = spawn(process.execPath, [VIGIL, 'sync'], { cwd: dir, env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    await new Promise<void>((resolveKill) => {
      child.stdout.on('data', (b: Buffer) => {
        seen += b.toString();
        if (/batch 4,/.test(seen) && !child.killed) {
          child.kill('SIGKILL');
        }
      });
      child.on('exit', () => resolveKill());
    });
    expect(seen).toMatch(/batch 4,/);
    expect(seen).not.toMatch(/Finished/);
    const rerun = sync(dir);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(await expectInSync(dir, s)).toBe(60000);
  });

  it("vigil sync status while a sync holds the DuckDB file: says the sync runs (its pid and command), exit 0 (was: exit 1, 'in use by another process')", async () => {
    const s = uniqueSchema('sync_busy');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, null, 'n' || i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' from generate_series(1, 20000) i`);
    const dir = project(s, { batch: 1000 });
    const child = spawn(process.execPath, [VIGIL, 'sync', '-s', 'source:raw.events'], { cwd: dir, env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    // held still mid-run (SIGSTOP), so the status below meets it running, whatever the machine's speed
    await new Promise<void>((paused) => {
      let seen = '';
      child.stdout.on('data', (b: Buffer) => {
        seen += b.toString();
        if (/batch 1,/.test(seen) && !child.killed) {
          child.kill('SIGSTOP');
          paused();
        }
      });
    });
    try {
      const st = vigil(dir, ['sync', 'status'], { DATABASE_URL: url });
      expect(st.code, st.stdout + st.stderr).toBe(0);
      expect(st.stdout).toMatch(new RegExp(`^running \\(pid ${child.pid} on [^:]+: vigil sync -s source:raw\\.events\\): it holds \\.vigil/dev\\.duckdb while it runs, so the streams' cursors, rows and failures can be read when it ends`));
      expect(st.stderr).not.toContain('in use');
    } finally {
      child.kill('SIGCONT');
    }
    expect(await exited).toBe(0);
    // once it ended: the state as always
    expect(vigil(dir, ['sync', 'status'], { DATABASE_URL: url }).stdout).toMatch(/raw\.events: success, 20,000 rows read/);
  });

  it("vigil sync status beside a BI tool reading the DuckDB file: the streams' state, exit 0 (was: exit 1, 'in use by another process': it opened the file to write); never synced: no database file made", async () => {
    const s = uniqueSchema('sync_reader');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, null, 'n' || i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' from generate_series(1, 300) i`);
    const dir = project(s);
    const never = vigil(dir, ['sync', 'status'], { DATABASE_URL: url });
    expect(never.code, never.stdout + never.stderr).toBe(0);
    expect(never.stdout).toMatch(/raw\.events: never synced/);
    expect(existsSync(join(dir, '.vigil', 'dev.duckdb'))).toBe(false);
    expect(sync(dir).code).toBe(0);
    const reader = await readDuckDbReadOnly(join(dir, '.vigil', 'dev.duckdb'));
    try {
      const st = vigil(dir, ['sync', 'status'], { DATABASE_URL: url });
      expect(st.code, st.stdout + st.stderr).toBe(0);
      expect(st.stdout).toMatch(/raw\.events: success, 300 rows read/);
    } finally {
      reader.kill();
    }
  });

  // (a sync.from naming no target is refused by every command since H170, at the source's from: line: vigil check passed it)
  it("sync.from naming no target, or a target sync cannot read from: exit 2 at its YAML line (was: at project.yaml's targets, or no place)", () => {
    const dir = makeProject({
      'project.yaml': 'name: synctest\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  app: { type: postgres, url: "postgres://u@127.0.0.1:1/x", schema: analytics }\n',
      'models/sources.yml': 'sources:\n  - name: raw\n    sync: { from: ap }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n  - name: raw2\n    sync: { from: dev }\n    tables:\n      - name: ev2\n        sync: { primary_key: id, cursor: created_at }\n',
    });
    dirs.push(dir);
    const typo = sync(dir, ['-s', 'source:raw.events']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/models\/sources\.yml:3:\d+: error: source 'raw': sync\.from 'ap' is not a target in project\.yaml — did you mean 'app'\? \[E_TARGET\]/);
    expect(vigil(dir, ['compile']).code).toBe(2);
    writeFileSync(join(dir, 'models/sources.yml'), readFileSync(join(dir, 'models/sources.yml'), 'utf8').replace('from: ap }', 'from: app }'));
    const duck = sync(dir, ['-s', 'source:raw2.ev2']);
    expect(duck.code).toBe(2);
    expect(duck.stderr).toContain("models/sources.yml:10: error: stream raw2.ev2: sync.from 'dev' is a duckdb target; vigil sync reads from postgres targets [E_TARGET]");
  });

  it.each([
    ['an unknown source table', { extraTables: '      - name: nope\n        sync: { primary_key: id, cursor: created_at }\n' }, /ERROR raw\.nope: stream raw\.nope: table \w+\.nope does not exist in the source database; check the table name and the source's sync\.schema \(models\/sources\.yml:\d+\)/],
    ['a misspelt source table', { extraTables: '      - name: trials\n        sync: { primary_key: id, cursor: updated_at }\n' }, /ERROR raw\.trials: stream raw\.trials: table \w+\.trials does not exist in the source database — did you mean 'trails'\? \(models\/sources\.yml:\d+\)/],
    // (a table of its own: two streams of one copy are refused before any runs)
    ['an unknown column', { extraTables: '      - name: evts\n        identifier: events_b\n        sync: { primary_key: idd, cursor: created_at }\n' }, /ERROR raw\.evts: stream raw\.evts: primary_key column 'idd' is not in \w+\.events_b — did you mean 'id'\?/],
    ['a cursor that is not a timestamp', { extraTables: '      - name: evts2\n        identifier: events_b\n        sync: { primary_key: id, cursor: note }\n' }, /ERROR raw\.evts2: stream raw\.evts2: cursor column 'note' is text, not a timestamp/],
  ])('%s: a one-line error naming the stream, at its line; the other streams still run; exit 2 (the project is wrong: was exit 1, counted as a failure of the stream)', async (_n, opts, re) => {
    const s = uniqueSchema('sync_bad');
    await setupSource(s);
    await client.query(`create table ${s}.events_b (like ${s}.events including all)`);
    const dir = project(s, opts);
    const r = sync(dir);
    expect(r.stdout).toMatch(re);
    expect(r.stdout).toMatch(/OK raw\.events/);
    expect(r.stderr).toMatch(/models\/sources\.yml:\d+: error: stream raw\.\w+: .*\[E_SYNC\]/);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a source table with columns "v" and "V": on DuckDB, whose names ignore case, a project error at the stream\'s line naming both and the way out, exit 2, nothing written or counted (was: "Column with name V already exists!" on every run, counted as a failure)', async () => {
    const s = uniqueSchema('sync_case');
    await setupSource(s);
    await client.query(`create table ${s}.cc (id int primary key, v text, "V" text, created_at timestamptz not null); insert into ${s}.cc values (1, 'lower', 'upper', now())`);
    const dir = project(s, { extraTables: '      - name: cc\n        sync: { primary_key: id, cursor: created_at }\n' });
    for (let run = 0; run < 2; run++) {
      const r = sync(dir);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stdout).toMatch(/OK raw\.events/);
      expect(r.stderr).toMatch(new RegExp(`models/sources\\.yml:10: error: stream raw\\.cc: columns "v" and "V" of ${s}\\.cc would be one column in the duckdb copy, whose column names ignore case: nothing was synced \\[E_SYNC\\]`));
      expect(r.stderr).toContain('sync a view in the source that renames one of them');
      expect(r.stdout + r.stderr).not.toMatch(/already exists|\n\s+at /);
    }
    // no failure counted, no copy made
    expect(await duck(dir, "select count(*)::int as n from raw.vigil_sync_state where stream = 'raw.cc'")).toEqual([{ n: 0 }]);
    expect(await duck(dir, "select count(*)::int as n from information_schema.tables where table_schema = 'raw' and table_name = 'cc'")).toEqual([{ n: 0 }]);
  });

  it('rows of several MB (a long prompt in JSON, a text holding newlines and both separators) arrive whole: the read buffer and memory grow for them', async () => {
    const s = uniqueSchema('sync_long');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, jsonb_build_object('durationMs', i), 'n' || i, timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 20) i`);
    // 6 MB of JSON, and 5 MB of text whose lines hold the batch files' separator and quote (0x1F, 0x1E)
    await client.query(`insert into ${s}.events values (21, jsonb_build_object('prompt', repeat('why? ', 1200000)), repeat(E'line \x1f with \x1e "quotes"\n', 200000), timestamptz '2026-01-01 10:00:21+00')`);
    await client.query(`insert into ${s}.events select i, null, 'after', timestamptz '2026-01-01 10:00:21+00' + i * interval '1 second' from generate_series(22, 30) i`);
    const dir = project(s, { batch: 100 });
    const r = sync(dir, ['-s', 'source:raw.events']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/OK raw\.events: 30 rows in 1 batch/);
    expect(await expectInSync(dir, s)).toBe(30);
    const [long] = await duck<{ p: number; n: number }>(dir, 'select length(payload::varchar)::int as p, length(note)::int as n from raw.events where id = 21');
    expect(long).toEqual({ p: 6_000_014, n: 4_600_000 });
    // a target that sets its own memory_limit keeps it: too small for the row (10 MB with both values), the batch fails and says why
    const small = project(s, { batch: 100 });
    writeFileSync(join(small, 'project.yaml'), readFileSync(join(small, 'project.yaml'), 'utf8').replace('schema: analytics }', 'schema: analytics, memory_limit: 24MB }'));
    const failed = sync(small, ['-s', 'source:raw.events']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/ERROR raw\.events: a row of 10 MB did not load \(DuckDB had the target's memory_limit; such a row needs ~10 times its size: set a larger memory_limit in the target\): Out of Memory Error/);
  });

  it('wide rows (1,500 JSON values of 100 KB): DuckDB gets its default memory for them, and every value arrives', async () => {
    const s = uniqueSchema('sync_wide');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, jsonb_build_object('p', repeat(md5(i::text), 3200)), 'n', timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 1500) i`);
    const dir = project(s, { batch: 245760 });
    const r = sync(dir, ['-s', 'source:raw.events']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/OK raw\.events: 1,500 rows in 1 batch/);
    const [src] = (await client.query(`select md5(string_agg(md5(payload::text), '' order by id)) as m from ${s}.events`)).rows;
    expect(await duck(dir, "select md5(string_agg(md5(payload::varchar), '' order by id)) as m from raw.events")).toEqual([{ m: src.m }]);
  });

  it("rows without a cursor value (NULL) or stamped 'infinity' are never read: the run says how many, at the stream, and a later row still arrives", async () => {
    const s = uniqueSchema('sync_nullcur');
    await setupSource(s);
    await client.query(`alter table ${s}.events alter column created_at drop not null;
      insert into ${s}.events select i, null, null, case when i > 3 then timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' end from generate_series(1, 8) i;
      insert into ${s}.events values (9, null, null, 'infinity')`);
    const dir = project(s);
    const r = sync(dir, ['-s', 'source:raw.events']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/raw\.events: warning: 4 rows of \w+\.events have no created_at \(NULL, or 'infinity', which would stop every later row\) and are not synced \(models\/sources\.yml:\d+\); the cursor column should be NOT NULL and finite/);
    expect(r.stdout).toMatch(/OK raw\.events: 5 rows/);
    // the 'infinity' row did not become the cursor: a later row still arrives (it stalled the stream)
    await client.query(`insert into ${s}.events values (10, null, null, timestamptz '2026-01-02 10:00:00+00')`);
    expect(sync(dir, ['-s', 'source:raw.events']).code).toBe(0);
    expect((await duck<{ id: bigint }>(dir, 'select id from raw.events order by id')).map((x) => Number(x.id))).toEqual([4, 5, 6, 7, 8, 10]);
    // NOT NULL and finite: nothing to say, and nothing counted
    await client.query(`delete from ${s}.events where created_at is null or created_at = 'infinity'; alter table ${s}.events alter column created_at set not null`);
    expect(sync(dir, ['-s', 'source:raw.events']).stdout).not.toMatch(/warning/);
  });

  it('a role that may only read the source is enough, and the source database gets nothing created in it', async () => {
    const db = uniqueSchema('sync_ro_db');
    const role = uniqueSchema('reader');
    await client.query(`create database ${db}`);
    const src = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: `/${db}` }).toString() });
    await src.connect();
    try {
      await src.query(`create schema app; create table app.events (id bigint primary key, payload jsonb, note text, created_at timestamptz not null); create index on app.events (created_at, id);
        insert into app.events select i, null, 'n', timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 5) i;
        create role ${role} login password 'ro-Pw-7'; revoke create on schema public from public; grant usage on schema app to ${role}; grant select on app.events to ${role};`);
      const dir = project('app');
      const roUrl = Object.assign(new URL(url), { username: role, password: 'ro-Pw-7', pathname: `/${db}` }).toString();
      const r = vigil(dir, ['sync', '-s', 'source:raw.events'], { DATABASE_URL: roUrl });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/OK raw\.events: 5 rows/);
      // no schema, function or table of Vigil's in the application's database
      expect((await src.query("select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname not in ('information_schema', 'public', 'app') order by 1")).rows).toEqual([]);
    } finally {
      await src.end();
      await client.query(`drop database ${db} with (force)`);
      await client.query(`drop role ${role}`);
    }
  });

  it('a state: selector that matches nothing means nothing changed: "Nothing to do", exit 0, as for build (was exit 2 in a slim-CI step); a changed source is synced', async () => {
    const s = uniqueSchema('sync_state');
    await setupSource(s);
    const dir = project(s);
    expect(vigil(dir, ['compile'], { DATABASE_URL: url }).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev-target'), { recursive: true });
    const unchanged = sync(dir, ['-s', 'state:modified', '--state', 'prev-target']);
    expect([unchanged.code, unchanged.stdout, unchanged.stderr]).toEqual([0, 'Nothing to do: no nodes match the selection (its state: selectors match nothing: nothing changed).\n', '']);
    const yml = join(dir, 'models/sources.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('batch_size: 3,', 'batch_size: 4,'));
    const changed = sync(dir, ['-s', 'state:modified', '--state', 'prev-target']);
    expect(changed.code, changed.stdout + changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/OK raw\.events/);
  });

  it('answers from the project snapshot while the project is unchanged; an edit, or a source target that no longer resolves, goes through the compile', async () => {
    const s = uniqueSchema('sync_snap');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, null, null, timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 8) i`);
    const dir = project(s);
    // whole seconds: a stamp set back later compares equal
    const yml = join(dir, 'models/sources.yml');
    const then = new Date('2026-01-01T00:00:00Z');
    utimesSync(yml, then, then);
    const first = sync(dir);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/raw\.events: reading \S+ from the beginning in batches of 3\n/);
    const snapshot = join(dir, 'target/.cache/project.bin');
    expect(existsSync(snapshot)).toBe(true);
    // the source's URL (with its password) is read by the sync, never by the compile: not in the snapshot
    // (read as the snapshot's values: V8 writes a string as UTF-16 or Latin-1 as it holds it, so its bytes may not show 'app')
    const held = JSON.stringify(deserialize(readFileSync(snapshot)));
    expect(held.includes(url) || readFileSync(snapshot).includes(url)).toBe(false);
    expect(held).toContain('"from":"app"');
    // batch_size 3 -> 4 with the same size and modification time: not read again (like make), so
    // the run is the snapshot's: batches of 3
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('batch_size: 3,', 'batch_size: 4,'));
    utimesSync(yml, then, then);
    await client.query(`insert into ${s}.events select i, null, null, timestamptz '2026-01-01 11:00:00+00' + i * interval '1 second' from generate_series(9, 16) i`);
    const cached = sync(dir, ['--full-refresh', '-s', 'source:raw.events']);
    expect(cached.code, cached.stdout + cached.stderr).toBe(0);
    expect(cached.stdout).toMatch(/in batches of 3\n[\s\S]*OK raw\.events: 16 rows in 6 batches/);
    const status = vigil(dir, ['sync', 'status', '-s', 'source:raw.events'], { DATABASE_URL: url });
    expect(status.stdout).toMatch(/raw\.events: success, 16 rows/);
    // the selection and the target are the ones given after `status` (`sync` has the same flags)
    expect(status.stdout).not.toMatch(/raw\.trails/);
    expect(vigil(dir, ['sync', 'status', '-s', 'source:raw.trails'], { DATABASE_URL: url }).stdout).toMatch(/^raw\.trails: success, 0 rows read, last synced \d+s ago, cursor -\n$/);
    const typo = vigil(dir, ['sync', 'status', '-s', 'source:raw.event'], { DATABASE_URL: url });
    expect([typo.code, typo.stderr]).toEqual([2, expect.stringMatching(/selector 'source:raw\.event' matched nothing — did you mean 'source:raw\.events'\?/)]);
    // a selection its --exclude empties: said so, by sync and by status alike; with --allow-empty, that it holds no synced table
    for (const cmd of [['sync'], ['sync', 'status']]) {
      const none = vigil(dir, [...cmd, '-s', 'source:raw.events', '--exclude', 'source:raw.events'], { DATABASE_URL: url });
      expect([none.code, none.stderr]).toEqual([2, "error: selector 'source:raw.events' selects only what --exclude 'source:raw.events' excludes\n(nothing was run; pass --allow-empty to go on when a selector selects nothing)\n"]);
      const allowed = vigil(dir, [...cmd, '-s', 'source:raw.events', '--exclude', 'source:raw.events', '--allow-empty'], { DATABASE_URL: url });
      expect([allowed.code, allowed.stdout]).toEqual([0, expect.stringContaining('Nothing to do: the selection holds no source table with a sync block.\n')]);
    }
    // --full-refresh reads everything again: a window with it emptied the copy and refilled part of it (exit 0, status success)
    for (const w of [['--since', '2026-01-01'], ['--mode', 'full', '--lookback', '1h']]) {
      const partial = vigil(dir, ['sync', '--full-refresh', ...w], { DATABASE_URL: url });
      expect([partial.code, partial.stderr]).toEqual([2, expect.stringMatching(/^error: --full-refresh empties each copy and reads everything again: it takes no --(since|lookback)/)]);
    }
    const runOnly = vigil(dir, ['sync', 'status', '--full-refresh'], { DATABASE_URL: url });
    expect([runOnly.code, runOnly.stderr]).toEqual([2, 'error: --full-refresh: an option of vigil sync, not of vigil sync status\n']);
    const target = vigil(dir, ['sync', 'status', '-t', 'nope'], { DATABASE_URL: url });
    expect([target.code, target.stderr]).toEqual([2, expect.stringMatching(/nope/)]);
    // touched: compiled again
    utimesSync(yml, new Date(), new Date(Date.now() + 5000));
    const fresh = sync(dir, ['--full-refresh', '-s', 'source:raw.events']);
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    expect(fresh.stdout).toMatch(/in batches of 4\n[\s\S]*OK raw\.events: 16 rows in 4 batches/);
    expect(await expectInSync(dir, s)).toBe(16);
    // the snapshot stands again, but the source's URL does not resolve: the error is the compile's, at its line
    const unset = vigil(dir, ['sync'], { DATABASE_URL: undefined });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/^project\.yaml:5:31: error: target 'app': environment variable DATABASE_URL is not set/m);
  });

  it('an unreachable database or wrong credentials: clear error, cursor untouched, failures counted', async () => {
    const s = uniqueSchema('sync_down');
    await setupSource(s);
    await client.query(`insert into ${s}.events values (1, null, null, now())`);
    const dir = project(s);
    expect(sync(dir).code).toBe(0);
    const before = await duck(dir, "select cast(cursor_value as varchar) as c from raw.vigil_sync_state where stream = 'raw.events'");
    const bad = new URL(url);
    bad.password = 'wrong-password';
    for (let i = 0; i < 3; i++) {
      const r = vigil(dir, ['sync'], { DATABASE_URL: bad.toString() });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/source database 'app': could not connect to Postgres \(target 'app'\): password authentication failed/);
      expect(r.stdout + r.stderr).not.toContain('wrong-password');
    }
    const down = new URL(url);
    down.port = '1';
    const r = vigil(dir, ['sync'], { DATABASE_URL: down.toString() });
    expect(r.stdout + r.stderr).toMatch(/ECONNREFUSED|could not connect/);
    expect(r.code).toBe(1);
    const after = await duck<{ c: string; f: number; status: string; e: string }>(dir, "select cast(cursor_value as varchar) as c, consecutive_failures as f, last_status as status, last_error as e from raw.vigil_sync_state where stream = 'raw.events'");
    expect(after[0].c).toBe(before[0].c);
    expect(after[0].f).toBe(4);
    expect(after[0].status).toBe('error');
    // the state says why (alerts and /health show it), not only that it could not be opened
    expect(after[0].e).toMatch(/^stream raw\.events: the source database 'app' could not be opened: .*(ECONNREFUSED|could not connect)/);
  });
});

describe('vigil sync into a Postgres target, and the whole pipeline', () => {
  it('syncs into a Postgres warehouse with the same guarantees', async () => {
    const s = uniqueSchema('sync_pgt');
    const dest = uniqueSchema('sync_pgt_raw');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, jsonb_build_object('n', i), 'x', timestamptz '2026-01-01 10:00:00+00' + (i / 4) * interval '1 second' from generate_series(1, 25) i`);
    const dir = makeProject({
      'project.yaml': `name: synctest\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: ${dest}\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at, batch_size: 4 }\n`,
    });
    dirs.push(dir);
    expect(sync(dir).code).toBe(0);
    await client.query(`update ${s}.events set note = 'changed', created_at = created_at + interval '1 day' where id = 3`);
    await client.query(`insert into ${s}.events values (26, null, null, timestamptz '2026-01-02 10:00:00+00')`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const src = (await client.query(`select id, note, created_at from ${s}.events order by id`)).rows;
    const dst = (await client.query(`select id, note, created_at from ${dest}.events order by id`)).rows;
    expect(dst).toEqual(src);
    const st = (await client.query(`select rows_synced::int as n, consecutive_failures as f, last_status from ${dest}.vigil_sync_state`)).rows;
    // rows_synced counts rows written: 25, then the 5-minute lookback re-reads all 25 plus row 26
    expect(st).toEqual([{ n: 51, f: 0, last_status: 'success' }]);
    // --full-refresh of a copy that holds rows: refilled beside it (the refill test below) and
    // swapped in after a TRUNCATE (a new file for the table: no dead rows left behind) ...
    const fileOf = async () => (await client.query(`select pg_relation_filenode('${dest}.events')::text as f`)).rows[0].f as string;
    const f0 = await fileOf();
    const full = sync(dir, ['--full-refresh']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(await fileOf()).not.toBe(f0);
    expect((await client.query(`select id, note, created_at from ${dest}.events order by id`)).rows).toEqual(src);
    // ... unless a reader holds the table: after 1 s it deletes instead, and the reader is not disturbed
    const reader = new pg.Client(url);
    await reader.connect();
    try {
      await reader.query('begin');
      expect((await reader.query(`select count(*)::int as n from ${dest}.events`)).rows).toEqual([{ n: 26 }]);
      const f1 = await fileOf();
      const held = await vigilAsync(dir, ['sync', '--full-refresh'], { DATABASE_URL: url });
      expect(held.code, held.stdout + held.stderr).toBe(0);
      expect(await fileOf()).toBe(f1);
      expect((await reader.query(`select count(*)::int as n from ${dest}.events`)).rows).toEqual([{ n: 26 }]);
    } finally {
      await reader.query('rollback').catch(() => undefined);
      await reader.end();
    }
    expect((await client.query(`select id, note, created_at from ${dest}.events order by id`)).rows).toEqual(src);
  });

  it("a Postgres target whose copy would be the source table itself (the warehouse is the application's database, the copies land in the source's schema): exit 2 at the stream, the application's rows untouched, nothing created there (was: OK, each batch deleted and re-inserted the source's rows, cascading to the rows referencing them)", async () => {
    const s = uniqueSchema('sync_self');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, null, 'x', timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 10) i;
      create table ${s}.child (id int primary key, event_id bigint references ${s}.events (id) on delete cascade);
      insert into ${s}.child select i, i from generate_series(1, 10) i`);
    const dir = makeProject({
      'project.yaml': `name: synctest\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: ${s}\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n`,
    });
    dirs.push(dir);
    for (const args of [[], ['--full-refresh']]) {
      const r = sync(dir, args);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/models\/sources\.yml:6: error: stream raw\.events: its copy \S+\.events in the postgres target is \S+\.events of the source database itself/);
    }
    expect((await client.query(`select count(*)::int as n from ${s}.child`)).rows).toEqual([{ n: 10 }]);
    expect((await client.query(`select count(*)::int as n from ${s}.events`)).rows).toEqual([{ n: 10 }]);
    expect((await client.query(`select tablename from pg_tables where schemaname = $1 order by 1`, [s])).rows.map((r) => r.tablename)).toEqual(['child', 'events', 'trails']);
  });

  it("the copy its source table, the source's role not allowed pg_control_system() and the target's allowed it: still refused (was: one side told the server by its system identifier, the other by its start time, and the stream deleted and re-inserted the application's rows)", async () => {
    const tag = uniqueSchema('selfpriv').toLowerCase();
    const db = `${tag}_db`;
    const role = `${tag}_app`;
    await client.query(`create database ${db}`);
    await client.query(`create role ${role} login password 'app'`);
    const at = (user: string | undefined, password: string | undefined) => {
      const u = new URL(url);
      u.pathname = `/${db}`;
      if (user) [u.username, u.password] = [user, password ?? ''];
      return u.toString();
    };
    try {
      await withPgClient(at(undefined, undefined), (c) =>
        c.query(`revoke execute on function pg_control_system() from public;
          create schema app; grant usage on schema app to ${role};
          create table app.events (id bigint primary key, note text, created_at timestamptz not null);
          insert into app.events select i, 'v1', timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 10) i;
          grant select on app.events to ${role}`),
      );
      const dir = makeProject({
        'project.yaml': `name: synctest\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "{{ env_var('WH_URL') }}", schema: analytics }\n  app: { type: postgres, url: "{{ env_var('APP_URL') }}", schema: analytics }\n`,
        'models/sources.yml': `sources:\n  - name: raw\n    schema: app\n    sync: { from: app, schema: app }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n`,
      });
      dirs.push(dir);
      const r = vigil(dir, ['sync'], { WH_URL: at(undefined, undefined), APP_URL: at(role, 'app') });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/models\/sources\.yml:6: error: stream raw\.events: its copy app\.events in the postgres target is app\.events of the source database itself/);
    } finally {
      await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [db]);
      await client.query(`drop database if exists ${db}`);
      await client.query(`drop role if exists ${role}`);
    }
  });

  it("the source a replica (a copy of the files) of the Postgres target, the copy its table: refused as the table itself, the target's rows untouched (was: two servers by their start times, each batch deleted the primary's rows and wrote the replica's older ones)", async () => {
    const { first, clone } = await startClonedPostgres(async (u) => {
      await withPgClient(u, (c) =>
        c.query(`create schema app;
          create table app.events (id bigint primary key, note text, created_at timestamptz not null);
          create index on app.events (created_at, id);
          insert into app.events select i, 'v1', timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 10) i`),
      );
    });
    try {
      // the primary moves on; its replica lags
      await withPgClient(first.url, (c) => c.query(`update app.events set note = 'v2'`));
      const dir = makeProject({
        'project.yaml': `name: synctest\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "{{ env_var('PRIMARY_URL') }}", schema: analytics }\n  replica: { type: postgres, url: "{{ env_var('REPLICA_URL') }}", schema: analytics }\n`,
        'models/sources.yml': `sources:\n  - name: raw\n    schema: app\n    sync: { from: replica, schema: app }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n`,
      });
      dirs.push(dir);
      const r = vigil(dir, ['sync'], { PRIMARY_URL: first.url, REPLICA_URL: clone.url });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/models\/sources\.yml:6: error: stream raw\.events: its copy app\.events in the postgres target is app\.events of the source database itself/);
      expect(await withPgClient(first.url, async (c) => (await c.query(`select note, count(*)::int as n from app.events group by note`)).rows)).toEqual([{ note: 'v2', n: 10 }]);
    } finally {
      await clone.stop();
      await first.stop();
    }
  });

  it('--full-refresh of a copy BI tools and builds read: refilled beside it and swapped in by one transaction; stopped, failed or killed, the copy keeps its rows and cursor (was: emptied at once, a build meanwhile read a partial copy)', async () => {
    const s = uniqueSchema('sync_refill');
    const dest = uniqueSchema('sync_refill_raw');
    await setupSource(s);
    await client.query(`insert into ${s}.events select i, jsonb_build_object('n', i), 'x', timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 6000) i`);
    const dir = makeProject({
      'project.yaml': `name: synctest\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: ${dest}\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at, batch_size: 500 }\n`,
    });
    dirs.push(dir);
    expect(sync(dir).code).toBe(0);
    const count = async () => Number((await client.query(`select count(*) as n from ${dest}.events`)).rows[0].n);
    const state = async () => (await client.query(`select cursor_value::text as c, rows_synced::int as n from ${dest}.vigil_sync_state`)).rows[0] as { c: string; n: number };
    const refill = async () => (await client.query(`select to_regclass('${dest}.events__vigil_refill')::text as t`)).rows[0].t as string | null;
    const before = await state();
    // columns of the copy's own that the sync does not fill: a default, a generated and an
    // identity column keep working through every refill (was: a refill made like the copy wrote
    // NULL into them, or failed on every run)
    await client.query(`alter table ${dest}.events add column loaded_at timestamptz default now(), add column id2 bigint generated always as (id * 2) stored, add column seq bigint generated always as identity`);
    const own = async () => (await client.query(`select count(*)::int as n, count(loaded_at)::int as loaded, count(*) filter (where id2 = id * 2)::int as twice, count(distinct seq)::int as seqs from ${dest}.events`)).rows[0];
    const status = () => vigil(dir, ['sync', 'status'], { DATABASE_URL: url }).stdout;
    const lastRunRows = async () => (await client.query(`select last_run_rows::int as n from ${dest}.vigil_sync_state`)).rows[0].n as number;
    // rows gone from the source: what a full refresh is for
    await client.query(`delete from ${s}.events where id > 5000`);
    /** `vigil sync --full-refresh`, stopped (SIGSTOP) after its second batch: `during` sees the copy then; `then` ends it. */
    const refreshing = async (during: () => Promise<void>, then: 'SIGCONT' | 'SIGTERM' | 'SIGKILL') => {
      const child = spawn(process.execPath, [VIGIL, 'sync', '--full-refresh'], { cwd: dir, env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
      let seen = '';
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      await new Promise<void>((res) => {
        child.stdout.on('data', (b: Buffer) => {
          seen += b.toString();
          if (/batch 2,/.test(seen) && !child.killed) {
            child.kill('SIGSTOP');
            res();
          }
        });
        void exited.then(() => res());
      });
      await during();
      expect(seen).toMatch(/--full-refresh refills .*events__vigil_refill; .*events keeps its rows for its readers/);
      if (then !== 'SIGCONT') child.kill(then);
      child.kill('SIGCONT');
      const code = await exited;
      return { code, seen };
    };
    // killed: the copy as it was, and the next run (a delta) drops what it left
    const killed = await refreshing(async () => {
      expect(await count()).toBe(6000);
      expect(await refill()).not.toBeNull();
      // the stream says it runs, and who runs it (was: "success", the refill's progress unseen)
      expect(status()).toMatch(/raw\.events: running \(pid \d+ on /);
    }, 'SIGKILL');
    expect(killed.code).toBeNull();
    expect([await count(), await state()]).toEqual([6000, before]);
    expect(status()).toMatch(/raw\.events: interrupted \(pid \d+ on .* ended mid-run; the next run continues from the cursor\)/);
    const delta = sync(dir);
    expect(delta.code, delta.stdout + delta.stderr).toBe(0);
    expect(delta.stdout).toContain(`dropped ${dest}.events__vigil_refill, left by a --full-refresh that did not finish (killed?)`);
    expect([await count(), await refill()]).toEqual([6000, null]);
    // stopped (SIGTERM): dropped at once, the copy and its cursor as they were
    const stopped = await refreshing(async () => expect(await count()).toBe(6000), 'SIGTERM');
    expect(stopped.seen).toMatch(/the refill is dropped: .*events keeps its rows and its cursor from before this run/);
    expect([await count(), await refill(), (await state()).c]).toEqual([6000, null, before.c]);
    // (the copy took none of the rows the dropped refill read)
    expect(await lastRunRows()).toBe(0);
    // let through: readers see the whole old copy until the swap, then the source as it is
    const done = await refreshing(async () => expect(await count()).toBe(6000), 'SIGCONT');
    expect(done.code, done.seen).toBe(0);
    expect(done.seen).toContain('events refilled: 5,000 rows, swapped in');
    expect([await count(), await refill()]).toEqual([5000, null]);
    expect(await own()).toEqual({ n: 5000, loaded: 5000, twice: 5000, seqs: 5000 });
    expect(await lastRunRows()).toBe(5000);
    expect(status()).toMatch(/raw\.events: success, /);
    const after = await state();
    expect(after.n).toBe(5000);
    expect((await client.query(`select count(*)::int as n from ${dest}.vigil_sync_refill`)).rows).toEqual([{ n: 0 }]);
    const src = (await client.query(`select id, note, created_at from ${s}.events order by id`)).rows;
    expect((await client.query(`select id, note, created_at from ${dest}.events order by id`)).rows).toEqual(src);
    // a later delta goes on from the refill's cursor: a new row arrives once
    await client.query(`insert into ${s}.events values (9001, null, 'new', now())`);
    expect(sync(dir).code).toBe(0);
    expect(await count()).toBe(5001);
  });

  it("a source whose sessions default to DateStyle 'SQL, DMY' and New York time: timestamps to the microsecond, dates and local timestamps arrive exactly, in DuckDB and in Postgres", async () => {
    // the writers read Postgres' own timestamp text ('2026-01-01 10:00:00.123456+00'): the
    // sync's COPY sets UTC and ISO for itself, whatever the server or the role defaults to
    const s = uniqueSchema('sync_styles');
    const dest = uniqueSchema('sync_styles_raw');
    await client.query(`create table ${s}.events (id bigint primary key, d date, local_at timestamp, seen_at timestamptz, created_at timestamptz not null)`.replace(`${s}.events`, `${s}.events`).replace(/^/, `create schema ${s}; `));
    await client.query(`insert into ${s}.events values
      (1, '2026-03-15', '2026-03-15 23:59:59.999999', '2026-03-15 23:30:00.000001+00', '2026-01-01 10:00:00.123456+00'),
      (2, '1999-12-31', '2000-01-01 00:00:00', 'infinity', '2026-01-01 10:00:00.5+05:30'),
      (3, null, null, null, '2026-07-01 03:00:00.000007-04')`);
    const u = new URL(url);
    u.searchParams.set('options', '-c DateStyle=SQL,DMY -c TimeZone=America/New_York');
    const sources = (schema: string) => `sources:\n  - name: raw\n    schema: ${schema}\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at, batch_size: 2 }\n`;
    const expected = (await client.query(`select id::text, d::text, to_char(local_at, 'YYYY-MM-DD HH24:MI:SS.US') as local_at, case when seen_at = 'infinity' then 'infinity' else to_char(seen_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') end as seen_at, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as created_at from ${s}.events order by id`)).rows;
    expect(expected[0]).toEqual({ id: '1', d: '2026-03-15', local_at: '2026-03-15 23:59:59.999999', seen_at: '2026-03-15 23:30:00.000001', created_at: '2026-01-01 10:00:00.123456' });

    const toDuck = makeProject({ 'project.yaml': `name: synctest\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`, 'models/sources.yml': sources('raw') });
    const toPg = makeProject({ 'project.yaml': `name: synctest\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`, 'models/sources.yml': sources(dest) });
    dirs.push(toDuck, toPg);
    for (const dir of [toDuck, toPg]) {
      const r = vigil(dir, ['sync'], { DATABASE_URL: u.toString() });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/OK raw\.events: 3 rows in 2 batches/);
    }
    const inDuck = await duck<Record<string, string | null>>(
      toDuck,
      `select cast(id as varchar) as id, cast(d as varchar) as d, strftime(local_at, '%Y-%m-%d %H:%M:%S.%f') as local_at, case when isinf(seen_at) then 'infinity' else strftime(seen_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f') end as seen_at, strftime(created_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f') as created_at from raw.events order by id`,
    );
    expect(inDuck).toEqual(expected);
    const inPg = (await client.query(`select id::text, d::text, to_char(local_at, 'YYYY-MM-DD HH24:MI:SS.US') as local_at, case when seen_at = 'infinity' then 'infinity' else to_char(seen_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') end as seen_at, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as created_at from ${dest}.events order by id`)).rows;
    expect(inPg).toEqual(expected);
  });

  it('vigil demo --target app, vigil sync, vigil build: the marts count every source row', async () => {
    const raw = uniqueSchema('pipeline_raw');
    const dir = project(raw);
    // the shipped project's sources, reading from and landing in this test's schemas
    const { cpSync, readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { REPO } = await import('../helpers.js');
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    writeFileSync(join(dir, 'models/sources.yml'), readFileSync(join(REPO, 'models/sources.yml'), 'utf8').replace('sync: { from: app }', `sync: { from: app, schema: ${raw} }`));
    const env = { DATABASE_URL: url };
    expect(vigil(dir, ['demo', '--target', 'app', '--rows', '20000', '--days', '10', '--schema', raw], env).code).toBe(0);
    const r = vigil(dir, ['sync'], env);
    expect(r.stdout + r.stderr).toMatch(/OK raw\.ai_audit_logs: 20,000 rows/);
    expect(r.code, r.stdout).toBe(0);
    const b = vigil(dir, ['build'], env);
    expect(b.stdout).toMatch(/ERROR=0 SKIP=0/);
    expect(b.code, b.stdout).toBe(0);
    expect(await duck(dir, 'select sum(interaction_count)::int as n from analytics.ai_audit_daily')).toEqual([{ n: 20000 }]);
  });
});
