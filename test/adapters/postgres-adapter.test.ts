/**
 * The Postgres adapter against a real server (inject('pgUrl')): materializations with atomic
 * swaps, incremental runs, every dialect helper giving DuckDB's answer, and the parity test —
 * the shipped marts built on Postgres and on DuckDB from the same demo data, row by row.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkout, PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { PG_HELPERS_SQL, postgresDialect } from '../../src/adapters/postgres/postgres-dialect.js';
import { PostgresChecker } from '../../src/adapters/postgres/postgres-check.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, REPO, vigil, VIGIL } from '../helpers.js';
import { spawn } from 'node:child_process';
import { runSnapshot } from '../../src/run/snapshot.js';
import type { SnapshotNode } from '../../src/compile/manifest.js';

const url = inject('pgUrl');
let db: PostgresAdapter;
const dirs: string[] = [];

beforeAll(async () => {
  db = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
});
afterAll(async () => {
  await db?.close();
  dirs.forEach(removeDir);
});

describe('PostgresAdapter', () => {
  it("a schema is listed once for the relations asked of at once, and again after a rebuild only when the rebuild dropped views (was: one listing per relation asked, and per table rebuilt: docs generate timed out on a schema of 20,000 tables)", async () => {
    const schema = uniqueSchema('pgt_listing');
    const a = await PostgresAdapter.open({ type: 'postgres', url, schema }, 2);
    try {
      await a.ensureSchema(schema);
      for (let i = 0; i < 5; i++) await a.execute(`create table ${schema}.t${i} (x int)`);
      const spy = vi.spyOn(a, 'query');
      const listings = () => spy.mock.calls.filter(([sql]) => /from pg_class c join pg_namespace n/.test(String(sql))).length;
      const kinds = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => a.relationExists({ schema, identifier: `t${i}` })));
      expect(kinds).toEqual(['table', 'table', 'table', 'table', 'table', null]);
      expect(listings()).toBe(1);
      // a table rebuilt with nothing reading it: the cache stands
      await a.materialize({ kind: 'table', relation: { schema, identifier: 't0' }, sql: 'select 1 as x', fullRefresh: false });
      expect(await a.relationExists({ schema, identifier: 't1' })).toBe('table');
      expect(listings()).toBe(1);
      // one a view reads: rebuilt with cascade, the view gone: listed again
      await a.execute(`create view ${schema}.v as select * from ${schema}.t0`);
      await a.materialize({ kind: 'table', relation: { schema, identifier: 't0' }, sql: 'select 2 as y', fullRefresh: false });
      expect(await a.relationExists({ schema, identifier: 'v' })).toBeNull();
      expect(listings()).toBe(2);
    } finally {
      await a.close();
    }
  });

  it('views and tables; a failing rebuild leaves the previous table readable', async () => {
    const schema = uniqueSchema('pgt_mat');
    const rel = { schema, identifier: 'm' };
    await db.ensureSchema(schema);
    await db.materialize({ kind: 'view', relation: rel, sql: 'select 1 as a', fullRefresh: false });
    expect(await db.relationExists(rel)).toBe('view');
    // a view whose columns change cannot be "create or replace"d in Postgres: replaced outright
    await db.materialize({ kind: 'view', relation: rel, sql: "select 'x' as b", fullRefresh: false });
    expect(await db.query(`select b from ${schema}.m`)).toEqual([{ b: 'x' }]);
    await db.materialize({ kind: 'table', relation: rel, sql: 'select generate_series(1, 3) as i', fullRefresh: false });
    expect(await db.relationExists(rel)).toBe('table');
    await expect(db.materialize({ kind: 'table', relation: rel, sql: 'select i, 1 / (i - 2) as boom from generate_series(1, 3) as i', fullRefresh: false })).rejects.toThrow(/division by zero/);
    expect(await db.query(`select count(*) as n from ${schema}.m`)).toEqual([{ n: 3 }]);
    expect((await db.columns(rel)).map((c) => c.name)).toEqual(['i']);
  });

  it("two columns of one name (select * of a join: a failing test's sample) are id and id_1, as DuckDB names them (was: one value of the two, the other lost)", async () => {
    const rows = await db.query("select * from (select 1 as id, 'a' as v) a cross join (select 2 as id, 'b' as v, 3 as id_1) b");
    expect(rows).toEqual([{ id: 1, v: 'a', id_1: 2, v_1: 'b', id_1_1: 3 }]);
  });

  it('a text of two statements (an alert rule\'s query) gives the last one\'s rows, as DuckDB does (was: no rows, the rule passing unsaid)', async () => {
    expect(await db.query('select 5 as m; select 7 as m')).toEqual([{ m: 7 }]);
    expect(await db.query('select 1 as x where false')).toEqual([]);
    expect(await db.query('select $1::int as p', [7])).toEqual([{ p: 7 }]);
  });

  it("a DATE and a TIMESTAMP without zone come back as UTC whatever the process's zone (were: read in it: under TZ=Asia/Tokyo a date was the evening before)", async () => {
    const was = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo';
    try {
      expect(new Date(2026, 0, 1).getTimezoneOffset()).toBe(-540);
      const [r] = await db.query<Record<string, Date>>("select date '2026-01-02' as d, timestamp '2026-01-02 03:04:05.678' as ts, timestamptz '2026-01-02 03:04:05+00' as tz");
      expect({ d: r.d.toISOString(), ts: r.ts.toISOString(), tz: r.tz.toISOString() }).toEqual({ d: '2026-01-02T00:00:00.000Z', ts: '2026-01-02T03:04:05.678Z', tz: '2026-01-02T03:04:05.000Z' });
      // what the driver's own parsers keep: infinity, and years before 1 AD
      const [x] = await db.query<Record<string, unknown>>("select 'infinity'::date as inf, '0044-03-15 BC'::date as bc");
      expect(x.inf).toBe(Infinity);
      expect(x.bc).toBeInstanceOf(Date);
    } finally {
      if (was === undefined) delete process.env.TZ;
      else process.env.TZ = was;
    }
  });

  it('a rebuild that drops the views reading the table (cascade) names those this run does not build again (was: gone without a word)', () => {
    const schema = uniqueSchema('pg_cascade_named'.replace(/^pg_/, ''));
    const dir = makeProject({
      'project.yaml': pgProjectYaml(schema),
      'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as x",
      'models/b.sql': "select x from {{ ref('a') }}",
      'models/c.sql': "select x from {{ ref('b') }}",
    });
    dirs.push(dir);
    const env = { VIGIL_TEST_PG_URL: url };
    const all = vigil(dir, ['run'], env);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    const again = vigil(dir, ['run'], env);
    expect(again.stdout).not.toContain('warning');
    // the views are made again as they were, unless the rebuilt table lacks what they read (x here)
    writeFileSync(join(dir, 'models/a.sql'), "{{ config(materialized='table') }}\nselect 1 as x2");
    writeFileSync(join(dir, 'models/b.sql'), "select x2 as x from {{ ref('a') }}");
    const one = vigil(dir, ['run', '-s', 'a'], env);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(`warning: rebuilding it dropped 2 views that read it (Postgres' drop ... cascade), not rebuilt by this run: ${schema}.b, ${schema}.c; vigil run -s a+ builds them again`);
    expect(vigil(dir, ['run'], env).code).toBe(0);
    writeFileSync(join(dir, 'models/a.sql'), "{{ config(materialized='table') }}\nselect 1 as x");
    writeFileSync(join(dir, 'models/b.sql'), "select x from {{ ref('a') }}");
    const some = vigil(dir, ['run', '-s', 'a', 'b'], env);
    expect(some.stdout).toContain(`warning: rebuilding it dropped the view that reads it (Postgres' drop ... cascade), not rebuilt by this run: ${schema}.c; vigil run -s a+ builds it again`);
  });

  it("a table rebuilt (or switched to a view, or a view whose columns changed) keeps the views that read it, their options, comments and grants: a reader never finds them missing (was: dropped by the cascade until the run built them again, and for good after 'run -s a', a failing parent or Ctrl-C)", async () => {
    const schema = uniqueSchema('pgt_keep_views');
    const role = uniqueSchema('pgt_keep_reader');
    await db.execute(`create role "${role}"`);
    try {
      await db.ensureSchema(schema);
      const a = { kind: 'table' as const, relation: { schema, identifier: 'a' }, sql: 'select 1 as x, 2 as y', fullRefresh: false };
      await db.materialize(a);
      await db.execute(`create view ${schema}.b with (security_barrier = true) as select x from ${schema}.a`);
      await db.execute(`create view ${schema}.c as select x + 1 as x1 from ${schema}.b`);
      await db.execute(`comment on view ${schema}.b is 'the x of a'`);
      await db.execute(`comment on column ${schema}.b.x is 'an x'`);
      await db.execute(`grant select on ${schema}.b, ${schema}.c to "${role}"`);
      const state = () =>
        db.query(
          `select c.relname as name, c.relkind as kind, c.reloptions::text as options, obj_description(c.oid, 'pg_class') as comment, col_description(c.oid, 1) as col, has_table_privilege('${role}', c.oid, 'select') as readable
             from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = '${schema}' and c.relname in ('b', 'c') order by 1`,
        );
      const before = await state();
      expect(before).toEqual([
        { name: 'b', kind: 'v', options: '{security_barrier=true}', comment: 'the x of a', col: 'an x', readable: true },
        { name: 'c', kind: 'v', options: null, comment: null, col: null, readable: true },
      ]);
      // a rebuilt as a table (with a column more), then as a view, then a view without y
      for (const sql of ['select 3 as x, 4 as y, 5 as z', null, 'select 6 as x']) {
        const r = await db.materialize(sql === null ? { ...a, kind: 'view', sql: 'select 3 as x, 4 as y' } : { ...a, sql });
        expect(r.dropped).toBeUndefined();
        expect(await state()).toEqual(before);
      }
      expect(await db.query(`select x1 from ${schema}.c`)).toEqual([{ x1: 7 }]);
      // what the views read is gone: dropped as before, and said
      const gone = await db.materialize({ ...a, sql: 'select 7 as w' });
      expect(gone.dropped).toEqual([
        { schema, identifier: 'b' },
        { schema, identifier: 'c' },
      ]);
      expect(await state()).toEqual([]);
    } finally {
      await db.execute(`drop schema if exists ${schema} cascade`);
      await db.execute(`drop role if exists "${role}"`);
    }
  });

  it("a rebuild keeps a view's column grants, keeps the views beside one it cannot make again (a materialized view), and two tables a view joins rebuilt at once wait, never deadlock (was: the column grant lost without a word; every view dropped for a materialized view; a deadlock each time, the swap tried again after a second)", async () => {
    const schema = uniqueSchema('pgt_keep_more');
    const role = uniqueSchema('pgt_keep_col');
    const lines: string[] = [];
    const a4 = await PostgresAdapter.open({ type: 'postgres', url, schema }, 4);
    a4.onRetry = (l) => lines.push(l);
    await db.execute(`create role "${role}"`);
    try {
      await db.ensureSchema(schema);
      const t = (identifier: string, sql: string) => ({ kind: 'table' as const, relation: { schema, identifier }, sql, fullRefresh: false });
      await db.materialize(t('a', 'select 1 as x, 2 as y'));
      await db.materialize(t('b', 'select 1 as x'));
      await db.execute(`create view ${schema}.v as select x, y from ${schema}.a`);
      await db.execute(`grant select (x) on ${schema}.v to "${role}"`);
      await db.execute(`create materialized view ${schema}.m as select x from ${schema}.a`);
      await db.execute(`create view ${schema}.on_m as select x from ${schema}.m`);
      await db.execute(`create view ${schema}.j as select a.x from ${schema}.a join ${schema}.b using (x)`);
      const r = await db.materialize(t('a', 'select 1 as x, 2 as y, 3 as z'));
      // the materialized view and the view reading it dropped and said; the others kept, grants and all
      expect(r.dropped).toEqual([
        { schema, identifier: 'm' },
        { schema, identifier: 'on_m' },
      ]);
      expect(await db.query(`select has_column_privilege('${role}', '${schema}.v', 'x', 'select') as x, has_column_privilege('${role}', '${schema}.v', 'y', 'select') as y`)).toEqual([{ x: true, y: false }]);
      expect(await db.query(`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = '${schema}' and c.relkind = 'v' order by 1`)).toEqual([{ name: 'j' }, { name: 'v' }]);
      // a and b (which j joins) rebuilt at once: one waits for the other
      for (let i = 0; i < 5; i++) {
        const both = await Promise.all([a4.materialize(t('a', 'select 1 as x, 2 as y')), a4.materialize(t('b', 'select 1 as x'))]);
        expect(both.map((x) => x.dropped)).toEqual([undefined, undefined]);
      }
      expect(lines.filter((l) => /deadlock/.test(l))).toEqual([]);
      expect(await db.query(`select x from ${schema}.j`)).toEqual([{ x: 1 }]);
    } finally {
      await a4.close();
      await db.execute(`drop schema if exists ${schema} cascade`);
      await db.execute(`drop role if exists "${role}"`);
    }
  });

  it("a rebuild names the foreign keys of other tables the cascade dropped, and a view not of the project without 'builds it again' (was: the keys gone without a word, and 'vigil run -s pk+ builds it again' for a materialized view of the application's)", async () => {
    const schema = uniqueSchema('cascade_fk');
    const app = uniqueSchema('cascade_app');
    const dir = makeProject({
      'project.yaml': pgProjectYaml(schema),
      'models/pk.sql': "{{ config(materialized='table', post_hook='alter table {{ this }} add primary key (id)') }}\nselect 1 as id",
      'models/pk_view.sql': "select id from {{ ref('pk') }}",
    });
    dirs.push(dir);
    const env = { VIGIL_TEST_PG_URL: url };
    const all = vigil(dir, ['run'], env);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    await db.execute(`create schema ${app}`);
    await db.execute(`create table ${app}.child (id int constraint child_pk_fk references ${schema}.pk (id))`);
    await db.execute(`create materialized view ${app}.mv as select * from ${schema}.pk`);
    const one = vigil(dir, ['run', '-s', 'pk'], env);
    expect(one.code, one.stdout + one.stderr).toBe(0);
    // (pk_view, made again as it was beside the materialized view that cannot be: kept, not said)
    expect(one.stdout).not.toContain(`${schema}.pk_view`);
    expect(await db.query(`select id from ${schema}.pk_view`)).toEqual([{ id: 1 }]);
    expect(one.stdout).toContain(`warning: rebuilding it dropped the view that reads it (Postgres' drop ... cascade), not a model of this project: ${app}.mv; re-create it\n`);
    expect(one.stdout).toContain(`warning: rebuilding it dropped the foreign key of other tables referencing it (Postgres' drop ... cascade): constraint child_pk_fk on ${app}.child; re-create it (alter table ... add constraint ... foreign key)`);
    expect(one.stdout).not.toContain(`${app}.mv; vigil run`);
    // (gone indeed)
    expect(await db.query(`select conname from pg_constraint where conrelid = '${app}.child'::regclass`)).toEqual([]);
  });

  it("a foreign key of a model this run builds again (its post_hook adds it back) is not said to be dropped (R12: 're-create it' on every run though it was there after)", async () => {
    const schema = uniqueSchema('cascade_fk_own');
    const dir = makeProject({
      'project.yaml': pgProjectYaml(schema),
      'models/customers.sql': "{{ config(materialized='table', post_hook='alter table {{ this }} add primary key (id)') }}\nselect 1 as id",
      'models/orders.sql': "{{ config(materialized='table', post_hook=\"alter table {{ this }} add constraint orders_cust_fk foreign key (customer_id) references {{ ref('customers') }} (id)\") }}\nselect 1 as customer_id",
    });
    dirs.push(dir);
    const env = { VIGIL_TEST_PG_URL: url };
    const first = vigil(dir, ['run'], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const again = vigil(dir, ['run'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout, again.stdout + again.stderr).not.toContain('orders_cust_fk');
    expect(await db.query(`select conname from pg_constraint where conrelid = '${schema}.orders'::regclass and contype = 'f'`)).toEqual([{ conname: 'orders_cust_fk' }]);
    // only customers rebuilt: orders' key is gone, and said
    const one = vigil(dir, ['run', '-s', 'customers'], env);
    expect(one.stdout).toContain(`constraint orders_cust_fk on ${schema}.orders; re-create it`);
  });

  it("statement_timeout_ms cutting the wait for another build's lock is said as that wait, naming who holds it (was: 'canceling statement due to statement timeout', as if the model's SQL were slow)", async () => {
    const schema = uniqueSchema('lock_wait');
    const dir = makeProject({
      'project.yaml': `name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "{{ env_var('VIGIL_TEST_PG_URL') }}", schema: ${schema}, statement_timeout_ms: 500 }\n`,
      'models/slow.sql': "{{ config(materialized='table') }}\nselect 1 as x",
    });
    dirs.push(dir);
    // another build of the relation, as lockRelation takes it, held by a client of its own
    const other = await checkout(db.pool);
    try {
      await other.query('select pg_advisory_lock(hashtextextended($1, 0))', [`vigil:${schema}.slow`]);
      const pid = (await other.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      const r = vigil(dir, ['run'], { VIGIL_TEST_PG_URL: url });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`waited \\d+\\.\\ds for another build of ${schema}\\.slow \\(backend pid ${pid}, vigil(?: from [0-9.:a-f]+)?, idle for \\d+\\.\\ds, its last query: select pg_backend_pid\\(\\) as pid\\) to finish, and the target's statement_timeout_ms cut the wait: nothing was built`));
      expect(r.stdout).not.toContain('canceling statement');
    } finally {
      await other.query('select pg_advisory_unlock_all()');
      other.release();
    }
  });

  it("a connection the server ends while a model builds fails that model, not the process (was: an unhandled error event killed vigil, and vigil serve with every schedule; a sync's reader holds its client the same way)", async () => {
    const schema = uniqueSchema('conn_killed');
    const dir = makeProject({ 'project.yaml': pgProjectYaml(schema), 'models/slow.sql': "{{ config(materialized='table') }}\nselect 1 as x from pg_sleep(60)", 'models/other.sql': 'select 1 as y' });
    dirs.push(dir);
    const child = spawn(process.execPath, [VIGIL, 'run', '--threads', '1', '-s', 'slow'], { cwd: dir, env: { ...process.env, VIGIL_TEST_PG_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b));
    child.stderr.on('data', (b: Buffer) => (text += b));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // the backend running the model's query, ended as a restart or an admin would end it
    let killed = 0;
    for (const deadline = Date.now() + 30_000; !killed && Date.now() < deadline; ) {
      const r = await db.query<{ n: number }>("select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid()", [`%${schema}%pg_sleep(60)%`]);
      killed = r[0].n;
      if (!killed) await new Promise((res) => setTimeout(res, 100));
    }
    expect(killed, text).toBe(1);
    expect(await exited, text).toBe(1);
    expect(text).toMatch(/ERROR creating table .*slow/);
    expect(text).toMatch(/terminating connection due to administrator command|Connection terminated/);
    expect(text).not.toMatch(/Unhandled 'error' event|\n\s+at /);
  });

  it("sessions read dates in ISO whatever the url's options say, in the url's TimeZone where it sets one; the url's other options are kept (was: a url or role DateStyle 'SQL, DMY' broke every delta sync's cursor)", async () => {
    const sep = url.includes('?') ? '&' : '?';
    const styled = await PostgresAdapter.open({ type: 'postgres', url: `${url}${sep}options=${encodeURIComponent('-c DateStyle=SQL,DMY -c TimeZone=Asia/Kolkata -c statement_timeout=4321')}`, schema: 'analytics' }, 1, { helpers: false });
    try {
      const [r] = await styled.query<Record<string, string>>("select current_setting('DateStyle') as ds, current_setting('TimeZone') as tz, current_setting('statement_timeout') as st, cast(timestamptz '2026-03-15 10:00:00+00' as varchar) as t, date '2026-03-15' as d");
      // (the url's TimeZone is the models': postgres-timezone.test.ts)
      expect(r).toMatchObject({ ds: 'ISO, YMD', tz: 'Asia/Kolkata', st: '4321ms', t: '2026-03-15 15:30:00+05:30' });
      expect((r.d as unknown as Date).toISOString()).toBe('2026-03-15T00:00:00.000Z');
    } finally {
      await styled.close();
    }
  });

  it('two builds of one relation at once (two processes): one after the other, nothing doubled (was: every key inserted twice; two first builds, "already exists")', async () => {
    const schema = uniqueSchema('pgt_race');
    await db.ensureSchema(schema);
    await db.execute(`create table ${schema}.src as select i as id from generate_series(1, 3) as i`);
    const other = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 1);
    try {
      // the post_hook holds each build's transaction open long enough for the other to start
      const req = { kind: 'incremental' as const, relation: { schema, identifier: 'inc' }, sql: `select id from ${schema}.src`, incrementalSql: `select id from ${schema}.src`, uniqueKey: ['id'], fullRefresh: false, postHooks: [{ kind: 'post_hook' as const, sql: 'select pg_sleep(0.4)', origin: 'test' }] };
      // two first builds, then two incremental runs
      for (let round = 0; round < 2; round++) await Promise.all([db.materialize(req), other.materialize(req)]);
      expect(await db.query(`select id, count(*) as n from ${schema}.inc group by id order by id`)).toEqual([1, 2, 3].map((id) => ({ id, n: 1 })));
    } finally {
      await other.close();
    }
  });

  it('a build whose catalog cache is older than another process\'s build of the relation runs on what is there now (was: "relation already exists" [42P07], the cache said none and only a wait re-read it)', async () => {
    const schema = uniqueSchema('pgt_stale');
    await db.ensureSchema(schema);
    await db.execute(`create table ${schema}.src as select i as id from generate_series(1, 3) as i`);
    const req = { kind: 'incremental' as const, relation: { schema, identifier: 'inc' }, sql: `select id from ${schema}.src`, incrementalSql: `select id from ${schema}.src where id > 2`, uniqueKey: ['id'], fullRefresh: false };
    const other = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 1);
    try {
      // this process's cache: no inc yet; another builds it (and is done: no lock to wait on)
      expect(await db.relationExists(req.relation)).toBeNull();
      await other.materialize(req);
      const r = await db.materialize(req);
      expect(r.message).toMatch(/^merged 1 rows \(replacing 1\)/);
      expect(await db.query(`select id, count(*) as n from ${schema}.inc group by id order by id`)).toEqual([1, 2, 3].map((id) => ({ id, n: 1 })));
    } finally {
      await other.close();
    }
  });

  it('two runs of one snapshot at once (two processes): one after the other, one current version per key, each counting its own (was: the changed row versioned twice, both current forever; "2 new versions" for 1)', async () => {
    const schema = uniqueSchema('pgt_snap_race');
    await db.ensureSchema(schema);
    await db.execute(`create table ${schema}.cust (id int, name text, upd timestamp); insert into ${schema}.cust values (1, 'a', '2026-01-01'), (2, 'b', '2026-01-01')`);
    // the query sleeps as it reads, so the two runs overlap
    const node = {
      name: 'cust_ts',
      relation: { schema, identifier: 'cust_ts' },
      compiled_sql: `select * from ${schema}.cust where length(cast(pg_sleep(0.3) as text)) >= 0`,
      config: { unique_key: 'id', strategy: 'timestamp', updated_at: 'upd', invalidate_hard_deletes: true, tags: [] },
    } as unknown as SnapshotNode;
    const [one, two] = await Promise.all([1, 2].map(() => PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 1)));
    try {
      await runSnapshot(db, node);
      await db.execute(`update ${schema}.cust set name = 'a2', upd = '2026-01-02' where id = 1`);
      const said = (await Promise.all([runSnapshot(one, node), runSnapshot(two, node)])).map((r) => r.message);
      expect(said.sort()).toEqual(['0 new versions, 0 deleted', '1 new version, 0 deleted']);
      expect(await db.query(`select id, name, dbt_valid_to is null as current from ${schema}.cust_ts order by id, dbt_valid_from`)).toEqual([
        { id: 1, name: 'a', current: false },
        { id: 1, name: 'a2', current: true },
        { id: 2, name: 'b', current: true },
      ]);
      // nothing left beside it (the column probes: each run's own, dropped)
      expect(await db.query('select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 order by 1', [schema])).toEqual([{ relname: 'cust' }, { relname: 'cust_ts' }]);
      // and a later run in the same process finds the table it made (was: its catalog cache said none: "already exists")
      expect((await runSnapshot(db, node)).message).toBe('0 new versions, 0 deleted');
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it("incremental_strategy 'merge': a key the new rows hold more than once fails the model, naming how many and one, the table unchanged: one in the table, as Postgres' own MERGE fails, and a new one, which a MERGE inserts twice so that the next run holding it fails (was: inserted twice, as by the MERGE); delete+insert keeps all of them", async () => {
    const schema = uniqueSchema('pgt_merge_dup');
    await db.ensureSchema(schema);
    await db.execute(`create table ${schema}.src (k text, v int); insert into ${schema}.src values ('a', 1), ('b', 2)`);
    const req = { kind: 'incremental' as const, relation: { schema, identifier: 'inc' }, sql: `select k, v from ${schema}.src`, uniqueKey: ['k'], strategy: 'merge' as const, fullRefresh: false };
    await db.materialize(req);
    const table = () => db.query(`select k, v from ${schema}.inc order by k, v`);
    const mergeSql = `merge into ${schema}.copy as t using ${schema}.src as s on t.k = s.k when matched then update set v = s.v when not matched then insert (k, v) values (s.k, s.v)`;
    const realMerge = async () => {
      await db.execute(`drop table if exists ${schema}.copy; create table ${schema}.copy as select * from ${schema}.inc`);
      await db.execute(mergeSql);
      return db.query(`select k, v from ${schema}.copy order by k, v`);
    };
    // 'a' (in the table) twice, 'c' (new) twice
    await db.execute(`delete from ${schema}.src; insert into ${schema}.src values ('a', 10), ('a', 11), ('c', 30), ('c', 31), ('b', 20)`);
    await expect(realMerge()).rejects.toThrow(/MERGE command cannot affect row a second time/);
    await expect(db.materialize(req)).rejects.toThrow(`incremental_strategy 'merge' into "${schema}"."inc": unique_key (k) values held by more than one new row: 2 (e.g. a)`);
    expect(await table()).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
    // a new key twice: Postgres' MERGE inserts both, and its next run with the same rows fails on them
    await db.execute(`delete from ${schema}.src where k = 'a'`);
    expect(await realMerge()).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 20 }, { k: 'c', v: 30 }, { k: 'c', v: 31 }]);
    await db.execute(`delete from ${schema}.src where k = 'b'; insert into ${schema}.src values ('c', 32)`);
    await expect(db.execute(mergeSql)).rejects.toThrow(/MERGE command cannot affect row a second time/);
    await db.execute(`delete from ${schema}.src where v = 32; insert into ${schema}.src values ('b', 20)`);
    // Vigil refuses it on the first run, the table unchanged
    await expect(db.materialize(req)).rejects.toThrow(`incremental_strategy 'merge' into "${schema}"."inc": unique_key (k) values held by more than one new row: 1 (e.g. c)`);
    expect(await table()).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
    // delete+insert (the default) replaces a key with all its new rows, as dbt's does
    await db.materialize({ ...req, strategy: undefined });
    expect(await table()).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 20 }, { k: 'c', v: 30 }, { k: 'c', v: 31 }]);
  });

  it("incremental_strategy 'merge' over a key the table already holds twice: its first build (and --full-refresh) warns, naming how many keys and one, and a later merge replaces both stored rows by its one new row and says so, as on DuckDB and BigQuery (was: no word, and BigQuery kept two updated rows)", async () => {
    const schema = uniqueSchema('pgt_stored_dup');
    await db.ensureSchema(schema);
    await db.execute(`create table ${schema}.src (k text, v int); insert into ${schema}.src values ('a', 1), ('a', 2), ('b', 3), ('c', 4), ('c', 5), (null, 6), (null, 7)`);
    const req = { kind: 'incremental' as const, relation: { schema, identifier: 'inc' }, sql: `select k as "K", v from ${schema}.src`, incrementalSql: `select k as "K", v * 10 as v from ${schema}.src where k in ('a', 'b') and v <> 2 union all select 'd', 90`, uniqueKey: ['K'], strategy: 'merge' as const, fullRefresh: false };
    const first = await db.materialize(req);
    expect(first.message).toBe('created incremental table');
    expect(first.warning).toBe(`"${schema}"."inc" was built with 2 unique_key (K) values held by more than one row (e.g. a): a first build stores the query's rows as they are, and a later merge holding such a key replaces all of its rows by one new row; deduplicate the model's query (a unique test on the key finds them)`);
    const r = await db.materialize(req);
    expect(r.message).toBe('merged 3 rows (replacing 3) into');
    expect(r.warning).toBe(`"${schema}"."inc" held 1 unique_key (K) value of the new rows in more than one row (e.g. a): the merge replaced its rows by its one new row (the duplicates came from the first build, an append, delete+insert or another tool; a unique test on the key finds the others)`);
    expect(await db.query(`select "K" as k, v from ${schema}.inc order by 1, 2`)).toEqual([{ k: 'a', v: 10 }, { k: 'b', v: 30 }, { k: 'c', v: 4 }, { k: 'c', v: 5 }, { k: 'd', v: 90 }, { k: null, v: 6 }, { k: null, v: 7 }]);
    expect((await db.materialize({ ...req, fullRefresh: true })).warning).toMatch(/was built with 2 unique_key \(K\) values held by more than one row \(e\.g\. a\)/);
    // no duplicate: no word
    await db.execute(`delete from ${schema}.src where v in (2, 5)`);
    expect((await db.materialize({ ...req, fullRefresh: true })).warning).toBeUndefined();
    expect((await db.materialize(req)).warning).toBeUndefined();
    // delete+insert keeps a key's rows as the new rows give them: nothing said
    await db.execute(`insert into ${schema}.src values ('a', 2)`);
    expect((await db.materialize({ ...req, relation: { schema, identifier: 'di' }, strategy: 'delete+insert' as const })).warning).toBeUndefined();
  });

  it('a generic test on a column named like a key word tests the column (was: `where user is null` read current_user, and not_null always passed)', () => {
    const schema = uniqueSchema('pgt_kw');
    const dir = makeProject({
      'project.yaml': pgProjectYaml(schema),
      'models/kw.sql': 'select cast(null as int) as "user", 1 as "order"',
      'models/kw.yml': 'models:\n  - name: kw\n    columns:\n      - name: user\n        tests: [not_null]\n      - name: order\n        tests: [not_null, unique]\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['build'], { VIGIL_TEST_PG_URL: url });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL 1 not_null_kw_user/);
    expect(r.stdout).toMatch(/PASS not_null_kw_order/);
    expect(r.stdout).toMatch(/PASS unique_kw_order/);
  });

  it('incremental: delete+insert on unique_key, append, full refresh, schema change', async () => {
    const schema = uniqueSchema('pgt_inc');
    await db.ensureSchema(schema);
    await db.execute(`create table ${schema}.src as select i as id, i * 10 as v from generate_series(0, 4) as i`);
    const req = { kind: 'incremental' as const, relation: { schema, identifier: 'inc' }, sql: `select id, v from ${schema}.src`, incrementalSql: `select id, v from ${schema}.src where id >= 3`, uniqueKey: ['id'], fullRefresh: false };
    await db.materialize(req);
    await db.execute(`update ${schema}.src set v = v + 1 where id = 4; insert into ${schema}.src values (5, 50)`);
    expect((await db.materialize(req)).rows).toBe(3);
    expect(await db.query(`select id, v from ${schema}.inc order by id`)).toEqual([0, 10, 20, 30, 41, 50].map((v, id) => ({ id, v })));
    await db.materialize({ ...req, fullRefresh: true });
    expect(await db.query(`select count(*) as n from ${schema}.inc`)).toEqual([{ n: 6 }]);
    await expect(db.materialize({ ...req, incrementalSql: `select id, v, 1 as extra from ${schema}.src`, onSchemaChange: 'fail' })).rejects.toThrow(/new columns extra/);
    await db.materialize({ ...req, incrementalSql: `select id, v, 1 as extra from ${schema}.src where id = 5`, onSchemaChange: 'append_new_columns' });
    expect(await db.query(`select id, extra from ${schema}.inc where id >= 4 order by id`)).toEqual([
      { id: 4, extra: null },
      { id: 5, extra: 1 },
    ]);
  });

  it('incremental: a table that holds no row (built by --empty) is filled from the full query, in place', async () => {
    const schema = uniqueSchema('pgt_inc_empty');
    await db.ensureSchema(schema);
    await db.execute(`create table ${schema}.src as select i as id from generate_series(1, 3) as i`);
    await db.execute(`create table ${schema}.inc (id integer); create view ${schema}.reader as select * from ${schema}.inc`);
    const req = { kind: 'incremental' as const, relation: { schema, identifier: 'inc' }, sql: `select id from ${schema}.src`, incrementalSql: `select id from ${schema}.src where id > (select max(id) from ${schema}.inc)`, uniqueKey: ['id'], fullRefresh: false };
    await db.materialize(req);
    // filled, and the view reading it still stands (no drop ... cascade)
    expect(await db.query(`select id from ${schema}.reader order by id`)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('a table whose name is 63 bytes (all Postgres keeps) is rebuilt in place (was: its scratch name, cut to 63, was its own: dropped, and the build failed)', async () => {
    const schema = uniqueSchema('pgt_long');
    await db.ensureSchema(schema);
    const rel = { schema, identifier: 't'.repeat(63) };
    const near = { schema, identifier: `${'t'.repeat(62)}u` };
    await db.materialize({ kind: 'table', relation: near, sql: "select 'near' as who", fullRefresh: false });
    await db.materialize({ kind: 'table', relation: rel, sql: 'select 1 as i', fullRefresh: false });
    await db.materialize({ kind: 'table', relation: rel, sql: 'select 2 as i', fullRefresh: false });
    expect(await db.query(`select i from ${postgresDialect.relation(rel)}`)).toEqual([{ i: 2 }]);
    expect(await db.query(`select who from ${postgresDialect.relation(near)}`)).toEqual([{ who: 'near' }]);
    // nothing left beside them
    expect(await db.query('select count(*) as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1', [schema])).toEqual([{ n: 2 }]);
  });

  it('insert_overwrite replaces whole partitions (the day, the month), as BigQuery does (was: only rows with an equal partition value)', async () => {
    const schema = uniqueSchema('pgt_io');
    await db.ensureSchema(schema);
    const first = "select timestamp '2026-01-02 09:00' as ts, 'old' as v union all select timestamp '2026-01-01 09:00', 'keep' union all select timestamp '2026-02-02 09:00', 'feb'";
    const next = "select timestamp '2026-01-02 12:00' as ts, 'new' as v";
    const cases: Array<[string, unknown, string[]]> = [
      ['by_day', { field: 'ts', data_type: 'timestamp', granularity: 'day' }, ['keep', 'new', 'feb']],
      ['by_date', 'date(ts)', ['keep', 'new', 'feb']],
      ['by_month', { field: 'ts', data_type: 'timestamp', granularity: 'month' }, ['new', 'feb']],
    ];
    for (const [name, partition_by, kept] of cases) {
      const req = { kind: 'incremental' as const, relation: { schema, identifier: name }, sql: first, incrementalSql: next, strategy: 'insert_overwrite' as const, config: { partition_by }, fullRefresh: false };
      await db.materialize(req);
      await db.materialize(req);
      expect((await db.query<{ v: string }>(`select v from ${schema}.${name} order by ts`)).map((r) => r.v), name).toEqual(kept);
    }
  });

  it('delete+insert matches keys with =, as dbt-postgres, DuckDB and BigQuery: a NULL key matches nothing, and the result says so (was: is not distinct from, a nested loop over the table)', async () => {
    const schema = uniqueSchema('pgt_nullkey');
    await db.ensureSchema(schema);
    const req = { kind: 'incremental' as const, relation: { schema, identifier: 'nk' }, sql: "select 1 as a, 'x' as b union all select null, 'y'", uniqueKey: ['a'], fullRefresh: false };
    expect((await db.materialize(req)).warning).toBeUndefined();
    const r = await db.materialize(req);
    expect(r.warning).toBe('1 new row has a NULL in unique_key (a): such a key matches no row, so it is added again on every run (a not_null test on the key finds them)');
    expect(await db.query(`select a, b from ${schema}.nk order by b, a`)).toEqual([{ a: 1, b: 'x' }, { a: null, b: 'y' }, { a: null, b: 'y' }]);
  });

  it("unique_key and partition_by name the table's column whatever their case, as unquoted SQL reads them (was: column t.ID does not exist on every incremental run)", async () => {
    const schema = uniqueSchema('pgt_keycase');
    await db.ensureSchema(schema);
    await db.execute(`create table ${schema}.src as select i as id, i * 10 as v, date '2026-01-01' + i as d from generate_series(1, 3) as i`);
    const req = { kind: 'incremental' as const, relation: { schema, identifier: 'inc' }, sql: `select id, v, d from ${schema}.src`, incrementalSql: `select id, v + 1 as v, d from ${schema}.src where id >= 2`, uniqueKey: ['ID'], fullRefresh: false };
    await db.materialize(req);
    await db.materialize(req);
    expect(await db.query(`select id, v from ${schema}.inc order by id`)).toEqual([{ id: 1, v: 10 }, { id: 2, v: 21 }, { id: 3, v: 31 }]);
    const io = { ...req, relation: { schema, identifier: 'io' }, uniqueKey: undefined, strategy: 'insert_overwrite' as const, config: { partition_by: 'D' } };
    await db.materialize(io);
    await db.materialize(io);
    expect(await db.query(`select id, v from ${schema}.io order by id`)).toEqual([{ id: 1, v: 10 }, { id: 2, v: 21 }, { id: 3, v: 31 }]);
  });

  it('a view dropped by a cascade is known gone: switched to a table in the same run (was: view "b" does not exist, from the catalog cache)', async () => {
    const schema = uniqueSchema('pgt_cascade');
    await db.ensureSchema(schema);
    const a = { kind: 'table' as const, relation: { schema, identifier: 'a' }, sql: 'select 1 as x', fullRefresh: false };
    const b = { kind: 'view' as const, relation: { schema, identifier: 'b' }, sql: `select x from ${schema}.a`, fullRefresh: false };
    await db.materialize(a);
    await db.materialize(b);
    // the next run: a rebuilt (drop table a cascade drops the view b), then b as a table
    await db.materialize(a);
    await db.materialize({ ...b, kind: 'table' });
    expect(await db.relationExists(b.relation)).toBe('table');
    expect(await db.query(`select x from ${schema}.b`)).toEqual([{ x: 1 }]);
    // and a view that a view rebuild dropped (its columns changed: drop view ... cascade)
    const c = { kind: 'view' as const, relation: { schema, identifier: 'c' }, sql: `select x from ${schema}.b`, fullRefresh: false };
    await db.materialize(c);
    await db.materialize({ ...b, kind: 'view', sql: 'select 1 as y, 2 as x' });
    await db.materialize({ ...c, kind: 'incremental' });
    expect(await db.query(`select x from ${schema}.c`)).toEqual([{ x: 2 }]);
  });

  it('errors carry the SQL line, like DuckDB', async () => {
    const e = (await db.execute('select 1,\n  no_such_column\nfrom (select 1) t').catch((x: unknown) => x)) as Error;
    expect(e.message).toMatch(/column "no_such_column" does not exist/);
    expect(e.message).toMatch(/LINE 2: no_such_column/);
  });

  it("a role that may not create the helper function connects when it is there, and where it is not, a query calling it says what to run (was: every connection of such a role failed: 'must be owner of function median', 'permission denied for database')", async () => {
    const role = uniqueSchema('pgt_role');
    const database = uniqueSchema('pgt_db');
    await db.execute(`create role "${role}" login password 'vigil_role_pw'`);
    const as = (dbName?: string) => {
      const u = new URL(url);
      u.username = role;
      u.password = 'vigil_role_pw';
      if (dbName) u.pathname = `/${dbName}`;
      return u.toString();
    };
    try {
      await db.execute(`grant usage on schema vigil_internal to "${role}"`);
      const shared = await PostgresAdapter.open({ type: 'postgres', url: as(), schema: 'analytics' }, 1);
      try {
        expect(await shared.query('select vigil_internal.median(array[1, 2, 4]::float8[]) as m')).toEqual([{ m: 2 }]);
      } finally {
        await shared.close();
      }
      // a database without the helper, where the role may not create a schema
      await db.execute(`create database "${database}"`);
      const fresh = await PostgresAdapter.open({ type: 'postgres', url: as(database), schema: 'analytics' }, 1);
      try {
        expect(await fresh.query('select 1 as one')).toEqual([{ one: 1 }]);
        const e = (await fresh.query('select vigil_internal.median(array[1]::float8[]) as m').catch((x: unknown) => x)) as Error;
        expect(e.message).toMatch(/schema "vigil_internal" does not exist/);
        expect(e.message).toContain("this connection's role may not create it");
        expect(e.message).toContain('create or replace function vigil_internal.median(double precision[])');
      } finally {
        await fresh.close();
      }
      // an owner runs what the hint says: the role (granted nothing itself) uses the helper
      const owner = new URL(url);
      owner.pathname = `/${database}`;
      const admin = await PostgresAdapter.open({ type: 'postgres', url: owner.toString(), schema: 'analytics' }, 1, { helpers: false });
      try {
        await admin.execute(PG_HELPERS_SQL);
        // and gives the role a schema of its own to build in (the role may not create schemas)
        await admin.execute(`create schema app; grant usage, create on schema app to "${role}"`);
      } finally {
        await admin.close();
      }
      const later = await PostgresAdapter.open({ type: 'postgres', url: as(database), schema: 'analytics' }, 1);
      try {
        expect(await later.query('select vigil_internal.median(array[1, 3]::float8[]) as m')).toEqual([{ m: 2 }]);
        // a schema that is there is not created again (was: permission denied for database: every run failed)
        await later.ensureSchema('app');
        await later.materialize({ kind: 'table', relation: { schema: 'app', identifier: 't' }, sql: 'select 1 as x', fullRefresh: false });
        expect(await later.query('select x from app.t')).toEqual([{ x: 1 }]);
        await expect(later.ensureSchema('other')).rejects.toThrow(/permission denied for database/);
      } finally {
        await later.close();
      }
      // vigil check's transaction goes on without them too
      const checker = await PostgresChecker.open({ type: 'postgres', url: as(database), schema: 'analytics' });
      try {
        expect(await checker.query('select 1 as one')).toMatchObject({ ok: true });
      } finally {
        await checker.close();
      }
    } finally {
      await db.execute(`drop database if exists "${database}"`);
      await db.execute(`revoke usage on schema vigil_internal from "${role}"`);
      await db.execute(`drop role "${role}"`);
    }
  });
});

describe('dialect helpers give the same answers on Postgres and DuckDB', () => {
  const cases: Array<[string, (d: typeof postgresDialect) => string]> = [
    ['json_number', (d) => `select ${d.json_number('j', 'n')} as v from (select cast(x as ${d.name === 'postgres' ? 'jsonb' : 'json'}) as j from (values ('{"n": 1.5}'), ('{"n": "abc"}'), ('{}'), ('{"n": "2e3"}')) as t(x)) s`],
    ['json_text', (d) => `select ${d.json_text('j', 'status')} as v from (select cast(x as ${d.name === 'postgres' ? 'jsonb' : 'json'}) as j from (values ('{"status": "ok"}'), ('{}')) as t(x)) s`],
    ['json_has', (d) => `select ${d.json_has('j', 'k')} as v from (select cast(x as ${d.name === 'postgres' ? 'jsonb' : 'json'}) as j from (values ('{"k": null}'), ('{}')) as t(x)) s`],
    ['percentile', (d) => `select ${d.percentile('x', 0.95)} as v, ${d.percentile('x', 0.5)} as w from (values (1.0), (2.0), (3.0), (4.0), (5.0), (6.0), (7.0), (8.0), (9.0), (10.0), (null)) as t(x)`],
    ['rolling_median', (d) => `select ${d.rolling_median('x', 'g', 'i', 3)} as v from (values (1, 'a', 10), (2, 'a', 20), (3, 'a', 30), (4, 'a', 5), (5, 'a', 50)) as t(i, g, x) order by i`],
    ['datediff', (d) => `select ${['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'].map((p) => `${d.datediff(p as never, "cast('2025-12-31 23:59:30' as timestamp)", "cast('2026-01-01 00:00:10' as timestamp)")} as ${p}`).join(', ')}`],
    ['dateadd + date_trunc + to_date', (d) => `select cast(${d.to_date(d.dateadd('hour', 25, d.date_trunc('hour', "cast('2026-01-01 10:45:00' as timestamp)")))} as varchar) as v`],
    ['safe_divide + count_if', (d) => `select ${d.safe_divide(d.count_if('x > 1'), 'count(*)')} as v, ${d.safe_divide('1', '0')} as w from (values (1), (2), (3), (4)) as t(x)`],
    ['date_spine', (d) => `select cast(date as varchar) as v from (${d.date_spine("cast('2026-01-30' as date)", "cast('2026-02-02' as date)")}) s order by 1`],
  ];
  it.each(cases)('%s', async (_name, sql) => {
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'analytics' }, process.cwd(), 1);
    try {
      const norm = (rows: Array<Record<string, unknown>>) => JSON.parse(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
      const expected = norm(await duck.query(sql(duckDbDialect as typeof postgresDialect)));
      const actual = norm(await db.query(sql(postgresDialect)));
      expect(actual).toEqual(expected);
    } finally {
      await duck.close();
    }
  });
});

describe('parity: the shipped marts on Postgres and DuckDB', () => {
  it('builds on both from the same demo data and every mart matches row by row', async () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    const schema = uniqueSchema('parity');
    // the Postgres target writes its marts and reads the demo from its own schemas
    const yaml = readFileSync(join(dir, 'project.yaml'), 'utf8').replace(/  app:\n    type: postgres\n    url: "\{\{ env_var\('DATABASE_URL'\) \}\}"\n    schema: analytics/, `  app:\n    type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}_marts`);
    writeFileSync(join(dir, 'project.yaml'), yaml);
    writeFileSync(join(dir, 'models/sources.yml'), readFileSync(join(dir, 'models/sources.yml'), 'utf8').replace('    schema: raw\n', `    schema: ${schema}_raw\n`));
    const env = { DATABASE_URL: url };
    const demo = ['demo', '--rows', '20000', '--days', '21', '--now', '2026-11-20T10:30:00Z', '--schema', `${schema}_raw`];
    expect(vigil(dir, [...demo, '--target', 'app'], env).code).toBe(0);
    expect(vigil(dir, demo, env).code).toBe(0);
    const pgBuild = vigil(dir, ['build', '--target', 'app'], env);
    expect(pgBuild.stdout).toMatch(/ERROR=0 SKIP=0/);
    expect(pgBuild.code, pgBuild.stdout).toBe(0);
    const duckBuild = vigil(dir, ['build'], env);
    expect(duckBuild.code, duckBuild.stdout).toBe(0);
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const marts: Array<[string, string]> = [
        ['ai_audit_daily', 'date, capability, provider'],
        ['ai_audit_workspace_stats', 'workspace_id, date'],
        ['ai_audit_capability_anomalies', 'date, capability'],
        ['ai_cost_daily', 'date, model'],
        ['ai_governance_daily', 'date, model, operation'],
        ['ai_audit_provenance_daily', 'date, capability'],
      ];
      for (const [t, keys] of marts) {
        const cols = (await duck.columns({ schema: 'analytics', identifier: t })).map((c) => c.name);
        // both sides render each cell as text the same way; numbers compared after rounding
        const pick = (d: 'duck' | 'pg') =>
          cols.map((c) => `case when ${c} is null then null else ${d === 'duck' ? `cast(${c} as varchar)` : `${c}::text`} end as ${c}`).join(', ');
        const a = await duck.query(`select ${pick('duck')} from analytics.${t} order by ${keys}`);
        const b = await db.query(`select ${pick('pg')} from ${schema}_marts.${t} order by ${keys}`);
        const norm = (v: unknown) => {
          if (v === null || v === undefined) return null;
          const s = String(v);
          if (/^(true|false)$/.test(s)) return s;
          if (/^\d{4}-\d\d-\d\d[ T]\d/.test(s)) return new Date(s.replace(' ', 'T').replace(/\+00(:00)?$/, 'Z')).toISOString();
          const n = Number(s);
          return Number.isFinite(n) && s.trim() !== '' ? Number(n.toPrecision(12)) : s;
        };
        expect(b.length, t).toBe(a.length);
        expect(a.length, t).toBeGreaterThan(10);
        const rows = (xs: Array<Record<string, unknown>>) => xs.map((r) => cols.map((c) => norm(r[c])));
        expect(rows(b), t).toEqual(rows(a));
      }
    } finally {
      await duck.close();
    }
  });
});

describe('client_connection_check_interval where the server or a pooler refuses it', () => {
  /**
   * A proxy to the test server that answers a startup packet carrying the setting as `refusal`
   * does (Postgres 13: 42704 unrecognized configuration parameter; PgBouncer 1.20+: 08P01
   * unsupported startup parameter in options), and passes every other connection through.
   */
  async function refusingProxy(code: string, message: string) {
    const { createServer, connect } = await import('node:net');
    const target = new URL(url);
    const seen: boolean[] = [];
    const server = createServer((client) => {
      client.once('data', (first: Buffer) => {
        const asked = first.includes('client_connection_check_interval');
        seen.push(asked);
        if (asked) {
          const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'latin1');
          const len = Buffer.alloc(4);
          len.writeInt32BE(fields.length + 4);
          client.end(Buffer.concat([Buffer.from('E'), len, fields]));
          return;
        }
        const up = connect(Number(target.port || 5432), target.hostname);
        up.write(first);
        client.pipe(up).pipe(client);
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxied = new URL(url);
    proxied.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    return { url: proxied.toString(), seen, close: () => new Promise((r) => server.close(r)) };
  }

  it.each([
    ['Postgres 13', '42704', 'unrecognized configuration parameter "client_connection_check_interval"'],
    ['PgBouncer 1.20+', '08P01', 'unsupported startup parameter in options: client_connection_check_interval'],
  ])('%s: connected again without it, once, keeping the other settings (TimeZone UTC)', async (_what, code, message) => {
    const proxy = await refusingProxy(code, message);
    try {
      const a = await PostgresAdapter.open({ type: 'postgres', url: proxy.url, schema: 'analytics' }, 2, { helpers: false });
      try {
        expect(await a.query('select current_setting($1) as tz, current_setting($2) as cci', ['TimeZone', 'client_connection_check_interval'])).toEqual([{ tz: 'UTC', cci: '0' }]);
      } finally {
        await a.close();
      }
      expect(proxy.seen).toEqual([true, false]);
    } finally {
      await proxy.close();
    }
  });
});
