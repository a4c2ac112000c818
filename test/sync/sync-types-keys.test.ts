/**
 * `vigil sync`'s column types and key order against a real PostgreSQL server: numerics DuckDB's
 * DECIMAL cannot hold arrive as their exact text, a failed conversion names its column, a key
 * that holds the cursor is read in (cursor, rest of the key), a view is told to index its base
 * table, and user-defined types (enum, domain, composite) reach a Postgres target.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueSchema, SYNC_TARGETS as TARGETS } from '../support/postgres.js';
import { makeProject, removeDir, vigil, duckRows as duck } from '../helpers.js';
import { fileClient } from '../support/pg-client.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];

afterAll(() => dirs.forEach(removeDir));


function project(target: keyof typeof TARGETS, dest: string, src: string, tables: string): string {
  const dir = makeProject({ 'project.yaml': TARGETS[target], 'models/sources.yml': `sources:\n  - name: raw\n    schema: ${dest}\n    sync: { from: app, schema: ${src} }\n    tables:\n${tables}` });
  dirs.push(dir);
  return dir;
}

const sync = (dir: string, args: string[] = []) => vigil(dir, ['sync', ...args], { DATABASE_URL: url });

describe('vigil sync: types and keys', () => {
  it('a numeric without precision or wider than 38 digits arrives in DuckDB as its exact text, said once when the copy is created (was: a DOUBLE, 9007199254740993 -> 9007199254740992; numeric(40,2) failed every run)', async () => {
    const s = uniqueSchema('sync_num');
    await client.query(`create schema ${s};
      create table ${s}.nums (id int primary key, created_at timestamptz not null, n numeric, w numeric(40,2), d numeric(10,2), a numeric[], da numeric(6,2)[]);
      insert into ${s}.nums values
        (1, '2026-01-01 10:00:00+00', 9007199254740993, 12345678901234567890123456789012345678.91, 1.25, '{9007199254740993,0.1234567890123456789,NaN}', '{1.50,2.25}'),
        (2, '2026-01-01 10:00:01+00', 0.1234567890123456789, -1.10, null, null, null),
        (3, '2026-01-01 10:00:02+00', 'NaN', null, -99999999.99, '{}', '{}')`);
    const dir = project('duckdb', 'raw', s, `      - name: nums\n        sync: { primary_key: id, cursor: created_at, batch_size: 2 }\n`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/raw\.nums: warning: n \(numeric\), w \(numeric\(40,2\)\), a \(numeric\[\]\) are copied into raw\.nums as text/);
    const cols = ['n', 'w', 'd', 'a', 'da'];
    const src = (await client.query(`select id, ${cols.map((c) => `${c}::text as ${c}`).join(', ')} from ${s}.nums order by id`)).rows;
    const dst = await duck<Record<string, unknown>>(dir, `select id, n, w, cast(d as varchar) as d, a, cast(da as varchar[]) as da from raw.nums order by id`);
    // Postgres prints arrays as {..}: compared element by element
    const arr = (v: unknown) => (v === null ? null : Array.isArray(v) ? v.map(String) : String(v).slice(1, -1).split(',').filter(Boolean));
    expect(dst.map((x) => [x.id, x.n, x.w, x.d, arr(x.a), arr(x.da)])).toEqual(src.map((x) => [x.id, x.n, x.w, x.d, arr(x.a), arr(x.da)]));
    const types = await duck<{ column_name: string; data_type: string }>(dir, `select column_name, data_type from information_schema.columns where table_schema = 'raw' and table_name = 'nums' order by ordinal_position`);
    expect(types.map((t) => t.data_type)).toEqual(['INTEGER', 'TIMESTAMP WITH TIME ZONE', 'VARCHAR', 'VARCHAR', 'DECIMAL(10,2)', 'VARCHAR[]', 'DECIMAL(6,2)[]']);
    // said when the copy is created, not on every run
    const again = sync(dir);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toContain('as text');
  });

  it('a numeric widened in the source (numeric(5,2) -> numeric(12,4)) is said on every run, naming both types (was: rounded into DECIMAL(5,2) without a word)', async () => {
    const s = uniqueSchema('sync_wide');
    await client.query(`create schema ${s};
      create table ${s}.w (id int primary key, created_at timestamptz not null, d numeric(5,2));
      insert into ${s}.w values (1, '2026-01-01 10:00:00+00', 1.25)`);
    const dir = project('duckdb', 'raw', s, `      - name: w\n        sync: { primary_key: id, cursor: created_at }\n`);
    const first = sync(dir);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).not.toContain('changed type');
    await client.query(`alter table ${s}.w alter column d type numeric(12,4); insert into ${s}.w values (2, '2026-01-01 10:00:01+00', 1.2345)`);
    for (let i = 0; i < 2; i++) {
      const r = sync(dir);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/raw\.w: warning: d \(numeric\(12,4\)\) lands in raw\.w's DECIMAL\(5,2\) column \(a new copy makes it DECIMAL\(12,4\): the source's type changed, or the copy is older than that rule\), which rounds or refuses its values; drop raw\.w and sync again \(--full-refresh empties the table but keeps its column types\) \(models\/sources\.yml:\d+\)/);
    }
  });

  it.each(['duckdb', 'postgres'] as const)('%s: a column retyped in the source so that the copy cannot hold its values (real -> double precision, date -> timestamp, integer -> bigint, varchar(5) -> text, timestamptz -> timestamp) is said on every run, naming both types; one the copy holds (integer -> smallint) is not (was: real and date rounded without a word)', async (kind) => {
    const s = uniqueSchema('sync_retype');
    const dest = kind === 'duckdb' ? 'raw' : uniqueSchema('sync_retype_dst');
    await client.query(`create schema ${s};
      create table ${s}.rt (id int primary key, created_at timestamptz not null, r real, d date, i integer, v varchar(5), t timestamptz, k integer);
      insert into ${s}.rt values (1, '2026-01-01 10:00:00+00', 1.5, '2026-01-01', 1, 'abc', '2026-01-01 10:00:00+00', 1)`);
    const dir = project(kind, dest, s, `      - name: rt\n        sync: { primary_key: id, cursor: created_at }\n`);
    const first = sync(dir);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).not.toContain('lands in');
    await client.query(`alter table ${s}.rt alter column r type double precision, alter column d type timestamp, alter column i type bigint, alter column v type text, alter column t type timestamp, alter column k type smallint;
      insert into ${s}.rt values (2, '2026-01-01 10:00:01+00', 0.1, '2026-01-02 10:30:00', 2, 'abcd', '2026-01-02 10:30:00', 2)`);
    const said = (col: string, type: string, copy: string, now: string) => new RegExp(`raw\\.rt: warning: ${col} \\(${type}\\) lands in ${dest}\\.rt's ${copy} column \\(a new copy makes it ${now}: the source's type changed, or the copy is older than that rule\\), which rounds or refuses its values; drop ${dest}\\.rt and sync again \\(--full-refresh empties the table but keeps its column types\\) \\(models/sources\\.yml:\\d+\\)`);
    const expected =
      kind === 'duckdb'
        ? [said('r', 'double precision', 'FLOAT', 'DOUBLE'), said('d', 'timestamp without time zone', 'DATE', 'TIMESTAMP'), said('i', 'bigint', 'INTEGER', 'BIGINT'), said('t', 'timestamp without time zone', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP')]
        : [said('r', 'double precision', 'real', 'double precision'), said('d', 'timestamp without time zone', 'date', 'timestamp without time zone'), said('i', 'bigint', 'integer', 'bigint'), said('v', 'text', 'character varying\\(5\\)', 'text'), said('t', 'timestamp without time zone', 'timestamp with time zone', 'timestamp without time zone')];
    for (let run = 0; run < 2; run++) {
      const r = sync(dir);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      for (const re of expected) expect(r.stdout).toMatch(re);
      expect(r.stdout.match(/lands in/g)).toHaveLength(expected.length);
      // (varchar(5) -> text: DuckDB's VARCHAR holds any text; integer -> smallint: the copy's integer holds it)
      expect(r.stdout).not.toMatch(/warning: k \(/);
    }
  });

  it("a value DuckDB cannot convert (NaN in a numeric(10,2)) fails its batch naming the column, without the row (was: 'CSV Error on Line: 1' alone)", async () => {
    const s = uniqueSchema('sync_nan');
    await client.query(`create schema ${s};
      create table ${s}.m (id int primary key, created_at timestamptz not null, secret text, n102 numeric(10,2));
      insert into ${s}.m values (1, '2026-01-01 10:00:00+00', 'alice@example.com', 'NaN')`);
    const dir = project('duckdb', 'raw', s, `      - name: m\n        sync: { primary_key: id, cursor: created_at }\n`);
    const r = sync(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Error when converting column "n102". Could not convert string "NaN" to 'DECIMAL'`);
    const [st] = await duck<{ e: string }>(dir, `select last_error as e from raw.vigil_sync_state`);
    expect(st.e).toMatch(/^Conversion Error: CSV Error on Line: 1; Error when converting column "n102"\. Could not convert string "NaN" to 'DECIMAL'$/);
    expect(r.stdout + st.e).not.toContain('alice');
  });

  it('a failing value of a table with PII is masked in the error and in last_error, which dashboards read (was: the row value kept in the state table)', async () => {
    const s = uniqueSchema('sync_piierr');
    await client.query(`create schema ${s};
      create table ${s}.p (id int primary key, created_at timestamptz not null, ssn text, n102 numeric(10,2));
      insert into ${s}.p values (1, '2026-01-01 10:00:00+00', '111-22-3333', 1.5)`);
    const dir = project('duckdb', 'raw', s, `      - name: p\n        sync: { primary_key: id, cursor: created_at }\n        columns:\n          - name: ssn\n            meta: { pii: true }\n`);
    expect(sync(dir).code).toBe(0);
    // the source's column now holds text: the copy's DECIMAL refuses it, quoting the value
    await client.query(`alter table ${s}.p alter column n102 type text; insert into ${s}.p values (2, '2026-01-01 10:00:01+00', '222-33-4444', '333-44-5555')`);
    const r = sync(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Could not convert string \\?"\*\*\*\*\\?" \(11 characters\) to DECIMAL.*n102.*values the warehouse quoted are masked: it reads PII — raw\.p\.ssn/);
    const [st] = await duck<{ e: string }>(dir, `select last_error as e from raw.vigil_sync_state`);
    expect(st.e).toMatch(/"\*\*\*\*\\?" \(11 characters\)/);
    expect(r.stdout + r.stderr + st.e).not.toContain('333-44-5555');
  });

  it('a primary key holding the cursor (a time-partitioned table) is read in (cursor, rest of the key) with its index, no false warning (was: "no index on (created_at, id, created_at)"); a view is told to index its base table', async () => {
    const s = uniqueSchema('sync_part');
    await client.query(`create schema ${s};
      create table ${s}.part (id int, created_at timestamptz not null, v text, primary key (id, created_at)) partition by range (created_at);
      create table ${s}.part_2026 partition of ${s}.part for values from ('2026-01-01') to ('2027-01-01');
      create index on ${s}.part (created_at, id);
      insert into ${s}.part select i, timestamptz '2026-01-01 10:00:00+00' + (i / 3) * interval '1 second', 'v' || i from generate_series(1, 20) i;
      create view ${s}.v_ev as select id, created_at, v from ${s}.part`);
    const dir = project('duckdb', 'raw', s, `      - name: part\n        sync: { primary_key: [id, created_at], cursor: created_at, batch_size: 4 }\n      - name: v_ev\n        sync: { primary_key: id, cursor: created_at, batch_size: 4 }\n`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/raw\.part: warning/);
    expect(r.stdout).toMatch(/raw\.v_ev: warning: \w+\.v_ev has no index on \(created_at, id\): every batch sorts the rows left to read \(models\/sources\.yml:\d+\); \(a view: index its base table\)/);
    expect(r.stdout).not.toContain('create index');
    for (const t of ['part', 'v_ev']) {
      const rows = await duck<{ id: number; v: string }>(dir, `select id, v from raw.${t} order by id`);
      expect(rows.map((x) => [x.id, x.v])).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1, `v${i + 1}`]));
    }
    // the state keeps the last row's primary key, in the key's order
    const [st] = await duck<{ id: string }>(dir, `select cursor_id as id from raw.vigil_sync_state where stream = 'raw.part'`);
    expect(JSON.parse(st.id)[0]).toBe('20');
  });

  it('enum, domain and composite columns reach a Postgres target as text or the base type; an enum in the key still reads in batches (was: type "mood" does not exist, on every run)', async () => {
    const s = uniqueSchema('sync_udt');
    const dest = uniqueSchema('sync_udt_raw');
    await client.query(`create schema ${s};
      create type ${s}.mood as enum ('sad', 'ok', 'happy');
      create domain ${s}.cents as numeric(10,2) check (value >= 0);
      create domain ${s}.stamp as timestamptz;
      create type ${s}.pair as (a int, b text);
      create table ${s}.u (kind ${s}.mood, id int, created_at ${s}.stamp not null, price ${s}.cents, moods ${s}.mood[], p ${s}.pair, primary key (kind, id));
      create index on ${s}.u (created_at, kind, id);
      insert into ${s}.u select (array['sad','ok','happy'])[1 + i % 3]::${s}.mood, i, timestamptz '2026-01-01 10:00:00+00' + (i / 4) * interval '1 second', i + 0.5, array['ok', 'happy']::${s}.mood[], row(i, 'b' || i)::${s}.pair from generate_series(1, 10) i`);
    const dir = project('postgres', dest, s, `      - name: u\n        sync: { primary_key: [kind, id], cursor: created_at, batch_size: 3 }\n`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/warning/);
    const types = (await client.query(`select column_name as c, data_type as t from information_schema.columns where table_schema = $1 and table_name = 'u' order by ordinal_position`, [dest])).rows;
    expect(types).toEqual([
      { c: 'kind', t: 'text' }, { c: 'id', t: 'integer' }, { c: 'created_at', t: 'timestamp with time zone' }, { c: 'price', t: 'numeric' }, { c: 'moods', t: 'ARRAY' }, { c: 'p', t: 'text' },
    ]);
    const q = (schema: string) => `select kind::text, id, created_at, price::text, moods::text, p::text from ${schema}.u order by id`;
    expect((await client.query(q(dest))).rows).toEqual((await client.query(q(s))).rows);
    // into DuckDB too: the domain over numeric(10,2) is a DECIMAL(10,2) there
    const toDuck = project('duckdb', 'raw', s, `      - name: u\n        sync: { primary_key: [kind, id], cursor: created_at, batch_size: 3 }\n`);
    const d = sync(toDuck);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const dt = await duck<{ t: string }>(toDuck, `select data_type as t from information_schema.columns where table_schema = 'raw' and table_name = 'u' and column_name = 'price'`);
    expect(dt).toEqual([{ t: 'DECIMAL(10,2)' }]);
    expect((await duck<{ n: bigint }>(toDuck, 'select count(*) as n from raw.u'))[0].n).toBe(10n);
  });

  it("money lands as the exact numeric it casts to, in DuckDB and Postgres (was: the session's locale text '$1,234.56' in a VARCHAR, and a money column in a Postgres target that reads it by its own lc_monetary)", async () => {
    const s = uniqueSchema('sync_money');
    const dest = uniqueSchema('sync_money_raw');
    await client.query(`create schema ${s};
      create domain ${s}.price as money;
      create table ${s}.m (id int primary key, created_at timestamptz not null, amount money, fee ${s}.price, parts money[]);
      insert into ${s}.m values (1, '2026-01-01 10:00:00+00', 1234.56, 0.5, array[1.25, -3]::money[]), (2, '2026-01-01 10:00:01+00', -92233720368547758.08, 92233720368547758.07, null), (3, '2026-01-01 10:00:02+00', null, null, '{}')`);
    const want = (await client.query(`select id, amount::numeric::text as amount, fee::numeric::text as fee, parts::numeric[]::text as parts from ${s}.m order by id`)).rows;
    const toDuck = project('duckdb', 'raw', s, `      - name: m\n        sync: { primary_key: id, cursor: created_at, batch_size: 2 }\n`);
    const d = sync(toDuck);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const types = await duck<{ c: string; t: string }>(toDuck, `select column_name as c, data_type as t from information_schema.columns where table_schema = 'raw' and table_name = 'm' and column_name in ('amount', 'fee', 'parts') order by ordinal_position`);
    expect(types).toEqual([{ c: 'amount', t: 'DECIMAL(19,2)' }, { c: 'fee', t: 'DECIMAL(19,2)' }, { c: 'parts', t: 'DECIMAL(19,2)[]' }]);
    const got = await duck<{ id: number; amount: string | null; fee: string | null; parts: string | null }>(toDuck, `select id, cast(amount as varchar) as amount, cast(fee as varchar) as fee, cast(parts as varchar) as parts from raw.m order by id`);
    expect(got.map((r) => [r.id, r.amount, r.fee])).toEqual(want.map((r) => [r.id, r.amount, r.fee]));
    expect(got.map((r) => r.parts)).toEqual(['[1.25, -3.00]', null, '[]']);
    const toPg = project('postgres', dest, s, `      - name: m\n        sync: { primary_key: id, cursor: created_at, batch_size: 2 }\n`);
    const p = sync(toPg);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect((await client.query(`select id, amount::text as amount, fee::text as fee, parts::text as parts from ${dest}.m order by id`)).rows).toEqual(want);
    expect((await client.query(`select data_type as t from information_schema.columns where table_schema = $1 and table_name = 'm' and column_name = 'amount'`, [dest])).rows).toEqual([{ t: 'numeric' }]);
  });
});
