/**
 * An incremental model whose query no longer selects a column its table has, through the built
 * CLI on a real DuckDB and a real Postgres: on_schema_change ignore (the default) fails the node,
 * as dbt's run does, and append_new_columns fails when the run replaces stored rows (delete+insert
 * on unique_key), leaving the table as it was (was: exit 0, the column NULL in every re-inserted
 * row); append_new_columns appending leaves it NULL in the new rows only. run_results.json
 * carries the message the progress line shows (was: "inserted 5 rows into", the relation cut).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';
import { queryOnce } from '../support/pg-client.js';
import { duckRows, makeProject, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const SEED = 'id,k2,val,updated_at\n1,a,10,2026-01-01\n2,b,20,2026-01-02\n3,c,30,2026-01-03\n4,d,40,2026-01-04\n5,e,50,2026-01-05\n';
const model = (config: string, cols: string) => `{{ config(materialized='incremental'${config}) }}\nselect ${cols} from {{ ref('src') }}\n`;

interface Warehouse {
  name: string;
  project: () => { dir: string; env: Record<string, string>; schema: string };
  rows: (dir: string, sql: string) => Promise<Array<Record<string, unknown>>>;
}

const duckdb: Warehouse = {
  name: 'DuckDB',
  project: () => ({ dir: makeProject({ 'seeds/src.csv': SEED, 'models/.keep': '' }), env: {}, schema: 'analytics' }),
  rows: (dir, sql) => duckRows(dir, sql),
};

const postgres: Warehouse = {
  name: 'Postgres',
  project: () => {
    const schema = uniqueSchema('incr_cols');
    return { dir: makeProject({ 'project.yaml': pgProjectYaml(schema), 'seeds/src.csv': SEED, 'models/.keep': '' }), env: { VIGIL_TEST_PG_URL: inject('pgUrl') }, schema };
  },
  rows: (_dir, sql) => queryOnce(inject('pgUrl'), sql),
};

describe.each([duckdb, postgres])('a column the incremental query no longer selects ($name)', (w) => {
  const setup = (config: string) => {
    const p = w.project();
    dirs.push(p.dir);
    writeFileSync(join(p.dir, 'models/osc.sql'), model(config, 'id, val, k2'));
    const built = vigil(p.dir, ['build'], p.env);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    return p;
  };
  const vals = (dir: string, schema: string) => w.rows(dir, `select cast(id as integer) as id, cast(val as integer) as val from ${schema}.osc order by id, val nulls last`);
  const before = [10, 20, 30, 40, 50].map((val, i) => ({ id: i + 1, val }));

  it.each([
    ['ignore (the default)', ", unique_key='id'", 'ignore', 'writing without it would leave it NULL in the rows this run adds and erase its values in the rows it replaces'],
    ['append_new_columns, replacing rows on unique_key', ", unique_key='id', on_schema_change='append_new_columns'", 'append_new_columns', 'the rows this run replaces would lose their values in it'],
  ])('%s: the node fails (exit 1) naming the column and the ways out; the table keeps its values', async (_n, config, policy, why) => {
    const { dir, env, schema } = setup(config);
    writeFileSync(join(dir, 'models/osc.sql'), model(config, 'id, k2'));
    const r = vigil(dir, ['run', '-s', 'osc'], env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain(`ERROR creating incremental ${schema}.osc`);
    expect(r.stdout).toMatch(new RegExp(`the model no longer selects column val of "${schema}"\\."osc" \\(on_schema_change: ${policy}\\): ${why}; select it again, or run with --full-refresh to rebuild the table without it`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await vals(dir, schema)).toEqual(before);
    // the ways out: selecting it again, or --full-refresh (the table rebuilt without it)
    writeFileSync(join(dir, 'models/osc.sql'), model(config, 'id, val, k2'));
    expect(vigil(dir, ['run', '-s', 'osc'], env).code).toBe(0);
    writeFileSync(join(dir, 'models/osc.sql'), model(config, 'id, k2'));
    const rebuilt = vigil(dir, ['run', '-s', 'osc', '--full-refresh'], env);
    expect(rebuilt.code, rebuilt.stdout + rebuilt.stderr).toBe(0);
    expect((await w.rows(dir, `select * from ${schema}.osc order by id`)).map((x) => Object.keys(x))[0]).toEqual(['id', 'k2']);
  });

  it('append_new_columns appending (no unique_key): the column stays, NULL in the new rows only; run_results.json says what the progress line says', async () => {
    const { dir, env, schema } = setup(", on_schema_change='append_new_columns'");
    writeFileSync(join(dir, 'models/osc.sql'), model(", on_schema_change='append_new_columns'", 'id, k2'));
    const r = vigil(dir, ['run', '-s', 'osc'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`1 of 1 OK inserted 5 rows into ${schema}\\.osc \\[`));
    expect(await vals(dir, schema)).toEqual(before.flatMap((x) => [x, { id: x.id, val: null }]));
    const results = JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8')).results;
    expect(results.map((x: { name: string; message: string }) => [x.name, x.message])).toEqual([['osc', `inserted 5 rows into ${schema}.osc`]]);
  });
});

describe.each([duckdb, postgres])("run_results.json's adapter_response.rows_affected ($name)", (w) => {
  it('an incremental run, a seed and a snapshot carry the rows the warehouse wrote; a view or a table created whole carries none (was: never written, though docs/bigquery.md promised it)', () => {
    const p = w.project();
    dirs.push(p.dir);
    writeFileSync(join(p.dir, 'models/inc.sql'), model(", unique_key='id'", 'id, val'));
    writeFileSync(join(p.dir, 'models/v.sql'), "select * from {{ ref('src') }}");
    writeFileSync(join(p.dir, 'models/t.sql'), "{{ config(materialized='table') }}\nselect * from {{ ref('src') }}");
    mkdirSync(join(p.dir, 'snapshots'), { recursive: true });
    writeFileSync(join(p.dir, 'snapshots/s.sql'), "{% snapshot s %}{{ config(unique_key='id', strategy='check', check_cols=['val']) }}select id, val from {{ ref('src') }}{% endsnapshot %}\n");
    const affected = () => Object.fromEntries((JSON.parse(readFileSync(join(p.dir, 'target/run_results.json'), 'utf8')).results as Array<{ name: string; adapter_response?: unknown }>).map((x) => [x.name, x.adapter_response]));
    const b = vigil(p.dir, ['build'], p.env);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(affected()).toEqual({ src: { rows_affected: 5 }, inc: undefined, v: undefined, t: undefined, s: { rows_affected: 5 } });
    // an incremental run: the rows it inserted (replacing the stored ones of their keys); a snapshot's new versions
    writeFileSync(join(p.dir, 'seeds/src.csv'), `${SEED}6,f,60,2026-01-06\n`.replace('1,a,10', '1,a,11'));
    const r = vigil(p.dir, ['build'], p.env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(affected()).toMatchObject({ src: { rows_affected: 6 }, inc: { rows_affected: 6 }, s: { rows_affected: 2 } });
    expect(affected().t).toBeUndefined();
  });
});

describe.each([duckdb, postgres])('a column whose type changed under on_schema_change ignore / append_new_columns ($name)', (w) => {
  const retyped = (phase: number) => `{{ config(materialized='incremental', on_schema_change=var('osc')) }}\n${phase === 1 ? "select 1 as id, 10 as amount, cast('2026-01-01' as date) as d" : phase === 2 ? "select 2 as id, 3.7 as amount, cast('2026-01-02 13:45:00' as timestamp) as d" : "select 3 as id, 4.0 as amount, cast('2026-01-03 00:00:00' as timestamp) as d"}\n`;
  it.each(['ignore', 'append_new_columns'])('%s: a value the table\'s type would change (3.7 into an integer, a time into a date) fails the node naming it, the table unchanged (was: 4 and the day stored, exit 0); values it keeps are written', async (osc) => {
    const p = w.project();
    dirs.push(p.dir);
    const vars = ['--vars', `{osc: ${osc}}`];
    writeFileSync(join(p.dir, 'models/ty.sql'), retyped(1));
    expect(vigil(p.dir, ['run', ...vars], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/ty.sql'), retyped(2));
    const r = vigil(p.dir, ['run', ...vars], p.env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`the model's columns changed type and "${p.schema}"\\."ty" would store other values than it selects \\(on_schema_change: ${osc}\\): amount \\([^:]* -> integer: 1 row, e\\.g\\. 3\\.7 -> 4\\), d \\([^:]* -> date: 1 row, e\\.g\\. 2026-01-02 13:45:00 -> 2026-01-02\\); cast them to the table's type in the model, or run with --full-refresh`, 'i'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const rows = () => w.rows(p.dir, `select cast(id as integer) as id, cast(amount as varchar) as amount from ${p.schema}.ty order by id`);
    expect(await rows()).toEqual([{ id: 1, amount: '10' }]);
    // a retyped column whose values the table's type keeps (4.0, a midnight) is written as before
    writeFileSync(join(p.dir, 'models/ty.sql'), retyped(3));
    const ok = vigil(p.dir, ['run', ...vars], p.env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(await rows()).toEqual([{ id: 1, amount: '10' }, { id: 3, amount: '4' }]);
  });
});

describe.each([duckdb, postgres])('a nested column whose element type changed under on_schema_change ignore / append_new_columns ($name)', (w) => {
  const phase = (sql: string) => `{{ config(materialized='incremental', on_schema_change=var('osc')) }}\n${sql}\n`;
  it.each(['ignore', 'append_new_columns'])("%s: [1.5, 2] into an integer[] column fails the node naming it, the table unchanged (was: exit 0, stored as [2, 2]); a list the element type keeps is written", async (osc) => {
    const p = w.project();
    dirs.push(p.dir);
    const vars = ['--vars', `{osc: ${osc}}`];
    writeFileSync(join(p.dir, 'models/li.sql'), phase('select 1 as id, array[1, 2] as li'));
    expect(vigil(p.dir, ['run', ...vars], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/li.sql'), phase('select 2 as id, array[1.5, 2] as li'));
    const r = vigil(p.dir, ['run', ...vars], p.env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`the model's column changed type and "${p.schema}"\\."li" would store other values than it selects \\(on_schema_change: ${osc}\\): li \\([^:]* -> integer\\[\\]: 1 row, e\\.g\\. [[{]1\\.5, ?2(\\.0)?[\\]}] -> [[{]2, ?2[\\]}]\\); cast it to the table's type in the model, or run with --full-refresh`, 'i'));
    const rows = () => w.rows(p.dir, `select cast(id as integer) as id, cast(li as varchar) as li from ${p.schema}.li order by id`);
    const one = w === duckdb ? '[1, 2]' : '{1,2}';
    expect(await rows()).toEqual([{ id: 1, li: one }]);
    writeFileSync(join(p.dir, 'models/li.sql'), phase('select 3 as id, array[4.0, 5] as li'));
    const ok = vigil(p.dir, ['run', ...vars], p.env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(await rows()).toEqual([{ id: 1, li: one }, { id: 3, li: w === duckdb ? '[4, 5]' : '{4,5}' }]);
  });

  if (w === duckdb) it("a struct's field, a map's value, a fixed-size array's element: {'a': 1.5} into a STRUCT(a INTEGER) column, {1=2.5} into a MAP(INTEGER, INTEGER) one and [1.5, 2] into an INTEGER[2] one fail the node, as a struct field the table's has not does (was: exit 0, stored as {'a': 2}, {1=3} and [2, 2], the field dropped)", async () => {
    const p = w.project();
    dirs.push(p.dir);
    writeFileSync(join(p.dir, 'models/st.sql'), phase("select 1 as id, {'a': 1} as st, map([1], [2]) as mp, [1, 2]::INTEGER[2] as fa"));
    expect(vigil(p.dir, ['run', '--vars', '{osc: ignore}'], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/st.sql'), phase("select 2 as id, {'a': 1.5} as st, map([1], [2.5]) as mp, [1.5, 2]::DECIMAL(2,1)[2] as fa"));
    const r = vigil(p.dir, ['run', '--vars', '{osc: ignore}'], p.env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/st \(STRUCT\(a DECIMAL\(2,1\)\) -> STRUCT\(a INTEGER\): 1 row, e\.g\. \{'a': 1\.5\} -> \{'a': 2\}\)/);
    expect(r.stdout).toMatch(/fa \(DECIMAL\(2,1\)\[2\] -> INTEGER\[2\]: 1 row, e\.g\. \[1\.5, 2\.0\] -> \[2, 2\]\)/);
    expect(r.stdout).toMatch(/mp \(MAP\(INTEGER, DECIMAL\(2,1\)\) -> MAP\(INTEGER, INTEGER\): 1 row, e\.g\. \{1=2\.5\} -> \{1=3\}\)/);
    expect(await w.rows(p.dir, `select cast(id as integer) as id from ${p.schema}.st order by id`)).toEqual([{ id: 1 }]);
    // a field the table's struct has not: the write dropped it without a word
    writeFileSync(join(p.dir, 'models/st.sql'), phase("select 3 as id, {'a': 1, 'b': 2} as st, map([1], [2]) as mp, [1, 2]::INTEGER[2] as fa"));
    const field = vigil(p.dir, ['run', '--vars', '{osc: append_new_columns}'], p.env);
    expect(field.code, field.stdout + field.stderr).toBe(1);
    expect(field.stdout).toMatch(/st \(STRUCT\(a INTEGER, b INTEGER\) -> STRUCT\(a INTEGER\): 1 row, e\.g\. \{'a': 1, 'b': 2\} -> \{'a': 1\}\)/);
    expect(await w.rows(p.dir, `select cast(id as integer) as id from ${p.schema}.st order by id`)).toEqual([{ id: 1 }]);
  });

  it("a list whose kept value the model's type cannot hold back ([9.6] as a decimal(2,1)[] kept as [10] in an integer[]) fails saying `-> [10]`, and DuckDB's element past the table's type ([3000000000] into an integer[]) as `-> [NULL]` (was: the check query's own error, DuckDB's \"Conversion Error ... LINE 1: select count(case when cast(\", Postgres' \"cannot hold a value of the new rows ... numeric field overflow\", which the table can)", async () => {
    const p = w.project();
    dirs.push(p.dir);
    const pg = w === postgres;
    writeFileSync(join(p.dir, 'models/bk.sql'), phase('select 1 as id, array[cast(1 as integer)] as li'));
    expect(vigil(p.dir, ['run', '--vars', '{osc: ignore}'], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/bk.sql'), phase('select 2 as id, array[cast(9.6 as decimal(2,1))] as li'));
    const back = vigil(p.dir, ['run', '--vars', '{osc: ignore}'], p.env);
    expect(back.code, back.stdout + back.stderr).toBe(1);
    expect(back.stdout).toMatch(pg ? /li \(numeric\(2,1\)\[\] -> integer\[\]: 1 row, e\.g\. \{9\.6\} -> \{10\}\); cast it/ : /li \(DECIMAL\(2,1\)\[\] -> INTEGER\[\]: 1 row, e\.g\. \[9\.6\] -> \[10\]\); cast it/);
    expect(back.stdout).not.toMatch(/select count\(case when|cannot hold/);
    if (!pg) {
      writeFileSync(join(p.dir, 'models/bk.sql'), phase('select 3 as id, array[cast(3000000000 as bigint)] as li'));
      const big = vigil(p.dir, ['run', '--vars', '{osc: ignore}'], p.env);
      expect(big.code, big.stdout + big.stderr).toBe(1);
      expect(big.stdout).toMatch(/li \(BIGINT\[\] -> INTEGER\[\]: 1 row, e\.g\. \[3000000000\] -> \[NULL\]\); cast it/);
      expect(big.stdout).not.toMatch(/select count\(case when/);
    }
    expect(await w.rows(p.dir, `select cast(id as integer) as id from ${p.schema}.bk order by id`)).toEqual([{ id: 1 }]);
  });
});

describe.each([duckdb, postgres])('a column widened in the model that the table kept narrow ($name)', (w) => {
  const phase = (sql: string) => `{{ config(materialized='incremental') }}\n${sql}\n`;
  it('a bigint value past the integer column fails the node naming the column, the types and the ways out (was: the cast-loss query\'s own error, "integer out of range" / "Conversion Error ... LINE 1: select count(case when cast(", no column said); one that fits is written', async () => {
    const p = w.project();
    dirs.push(p.dir);
    writeFileSync(join(p.dir, 'models/wd.sql'), phase('select 1 as id, cast(1 as integer) as n'));
    expect(vigil(p.dir, ['run'], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/wd.sql'), phase('select 2 as id, cast(3000000000 as bigint) as n'));
    const r = vigil(p.dir, ['run'], p.env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`the model's column changed type and "${p.schema}"\\."wd" (would store other values than it selects|cannot hold a value of the new rows)[^\\n]*\\bn \\(bigint -> integer[):][^\\n]*; cast it to the table's type in the model, or run with --full-refresh to rebuild the table with the new type`, 'i'));
    expect(r.stdout).not.toMatch(/select count\(case when/);
    const rows = () => w.rows(p.dir, `select cast(id as integer) as id, cast(n as bigint) as n from ${p.schema}.wd order by id`);
    expect((await rows()).map((x) => Number(x.id))).toEqual([1]);
    writeFileSync(join(p.dir, 'models/wd.sql'), phase('select 3 as id, cast(5 as bigint) as n'));
    const ok = vigil(p.dir, ['run'], p.env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect((await rows()).map((x) => Number(x.id))).toEqual([1, 3]);
  });
});

describe('a failure whose way out is --full-refresh, of a model with full_refresh: false (DuckDB)', () => {
  it('says that full_refresh: false keeps --full-refresh from rebuilding it, at its file:line (was: "run with --full-refresh", which failed the same way)', () => {
    const p = duckdb.project();
    dirs.push(p.dir);
    writeFileSync(join(p.dir, 'models/osc.sql'), model(", unique_key='id', full_refresh=false", 'id, val, k2'));
    expect(vigil(p.dir, ['build'], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/osc.sql'), model(", unique_key='id', full_refresh=false", 'id, k2'));
    const r = vigil(p.dir, ['run', '-s', 'osc', '--full-refresh'], p.env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('or run with --full-refresh to rebuild the table without it\n    (full_refresh: false in its config (models/osc.sql:1) keeps --full-refresh from rebuilding it: take it out for that run)');
  });
});

describe.each([duckdb, postgres])('a float column into a decimal one: the cast-loss check reads a float to its 15 digits ($name)', (w) => {
  const phase = (sql: string) => `{{ config(materialized='incremental') }}\n${sql}\n`;
  it("1.1 * 3 (3.3000000000000003 as a double) into a decimal(18,3) is written 3.300, not a failure (was: \"3.3000000000000003 -> 3.300\", the node failed); 1.0005 into it still fails", async () => {
    const p = w.project();
    dirs.push(p.dir);
    writeFileSync(join(p.dir, 'models/fl.sql'), phase('select 1 as id, cast(2.5 as decimal(18,3)) as amount'));
    expect(vigil(p.dir, ['run'], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/fl.sql'), phase('select 2 as id, cast(1.1 as double precision) * 3 as amount'));
    const r = vigil(p.dir, ['run'], p.env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = () => w.rows(p.dir, `select cast(id as integer) as id, cast(amount as varchar) as amount from ${p.schema}.fl order by id`);
    expect(await rows()).toEqual([{ id: 1, amount: '2.500' }, { id: 2, amount: '3.300' }]);
    writeFileSync(join(p.dir, 'models/fl.sql'), phase('select 3 as id, cast(1.0005 as double precision) as amount'));
    const lossy = vigil(p.dir, ['run'], p.env);
    expect(lossy.code, lossy.stdout + lossy.stderr).toBe(1);
    expect(lossy.stdout).toMatch(/amount \([^:]* -> (decimal|numeric)\(18, ?3\): 1 row, e\.g\. 1\.0005 -> 1\.00[01]\)/i);
    expect(await rows()).toEqual([{ id: 1, amount: '2.500' }, { id: 2, amount: '3.300' }]);
    // a whole double past 15 digits (2^60) into a bigint is written as it is: kept
    writeFileSync(join(p.dir, 'models/big.sql'), phase('select cast(1 as bigint) as v'));
    expect(vigil(p.dir, ['run', '-s', 'big'], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/big.sql'), phase('select cast(1152921504606846976 as double precision) as v'));
    const big = vigil(p.dir, ['run', '-s', 'big'], p.env);
    expect(big.code, big.stdout + big.stderr).toBe(0);
    expect(await w.rows(p.dir, `select cast(v as varchar) as v from ${p.schema}.big order by v`)).toEqual([{ v: '1' }, { v: '1152921504606846976' }]);
  });
});

describe('a column whose kind changed: DuckDB casts text into a date and an integer into a boolean, and the cast-loss check reads them back (DuckDB)', () => {
  const phase = (sql: string) => `{{ config(materialized='incremental') }}\n${sql}\n`;
  it("'2026-01-02 10:30' into a date column and 2 into a boolean one fail the node, the table unchanged (was: exit 0, stored as 2026-01-02 and true); values the cast keeps are written", async () => {
    const p = duckdb.project();
    dirs.push(p.dir);
    writeFileSync(join(p.dir, 'models/kinds.sql'), phase("select 1 as id, date '2026-01-01' as day, true as flag"));
    expect(vigil(p.dir, ['run'], p.env).code).toBe(0);
    const rows = () => duckRows(p.dir, `select cast(id as integer) as id, cast(day as varchar) as day, flag from ${p.schema}.kinds order by id`);
    writeFileSync(join(p.dir, 'models/kinds.sql'), phase("select 2 as id, '2026-01-02 10:30' as day, true as flag"));
    const day = vigil(p.dir, ['run'], p.env);
    expect(day.code, day.stdout + day.stderr).toBe(1);
    expect(day.stdout).toContain('day (VARCHAR -> DATE: 1 row, e.g. 2026-01-02 10:30 -> 2026-01-02)');
    writeFileSync(join(p.dir, 'models/kinds.sql'), phase("select 2 as id, date '2026-01-02' as day, 2 as flag"));
    const flag = vigil(p.dir, ['run'], p.env);
    expect(flag.code, flag.stdout + flag.stderr).toBe(1);
    expect(flag.stdout).toContain('flag (INTEGER -> BOOLEAN: 1 row, e.g. 2 -> true)');
    expect(await rows()).toEqual([{ id: 1, day: '2026-01-01', flag: true }]);
    // what the cast keeps: the text of a date, 1 as a boolean
    writeFileSync(join(p.dir, 'models/kinds.sql'), phase("select 2 as id, '2026-01-02' as day, 1 as flag"));
    const kept = vigil(p.dir, ['run'], p.env);
    expect(kept.code, kept.stdout + kept.stderr).toBe(0);
    expect(await rows()).toEqual([{ id: 1, day: '2026-01-01', flag: true }, { id: 2, day: '2026-01-02', flag: true }]);
  });

  it("text of an instant in another spelling ('2026-01-02T10:30:00Z', ISO 8601 as JSON gives it) into a timestamp column is written: the same instant, though its text reads back otherwise (was: failed the node, '2026-01-02T10:30:00Z -> 2026-01-02 10:30:00'); an offset the cast drops still fails", async () => {
    const p = duckdb.project();
    dirs.push(p.dir);
    writeFileSync(join(p.dir, 'models/ts.sql'), phase("select 1 as id, timestamp '2026-01-01 09:00:00' as seen, date '2026-01-01' as day"));
    expect(vigil(p.dir, ['run'], p.env).code).toBe(0);
    const rows = () => duckRows(p.dir, `select cast(id as integer) as id, cast(seen as varchar) as seen, cast(day as varchar) as day from ${p.schema}.ts order by id`);
    writeFileSync(join(p.dir, 'models/ts.sql'), phase("select 2 as id, '2026-01-02T10:30:00Z' as seen, '2026-01-02T00:00:00Z' as day"));
    const iso = vigil(p.dir, ['run'], p.env);
    expect(iso.code, iso.stdout + iso.stderr).toBe(0);
    expect(await rows()).toEqual([{ id: 1, seen: '2026-01-01 09:00:00', day: '2026-01-01' }, { id: 2, seen: '2026-01-02 10:30:00', day: '2026-01-02' }]);
    // DuckDB's cast into a TIMESTAMP drops a +02 offset (10:30 local, not 08:30 UTC): a changed instant
    writeFileSync(join(p.dir, 'models/ts.sql'), phase("select 3 as id, '2026-01-03T10:30:00+02' as seen, '2026-01-03' as day"));
    const offset = vigil(p.dir, ['run'], p.env);
    expect(offset.code, offset.stdout + offset.stderr).toBe(1);
    expect(offset.stdout).toContain('seen (VARCHAR -> TIMESTAMP: 1 row, e.g. 2026-01-03T10:30:00+02 -> 2026-01-03 10:30:00)');
    // and text that is no instant at all is said as such
    writeFileSync(join(p.dir, 'models/ts.sql'), phase("select 4 as id, 'soon' as seen, '2026-01-04' as day"));
    const junk = vigil(p.dir, ['run'], p.env);
    expect(junk.code, junk.stdout + junk.stderr).toBe(1);
    expect(junk.stdout).toContain('seen (VARCHAR -> TIMESTAMP: 1 row, e.g. soon -> NULL)');
    expect((await rows()).map((r) => r.id)).toEqual([1, 2]);
  });
});

describe.each([duckdb, postgres])('append_new_columns adding a unique_key column to a table that holds rows ($name)', (w) => {
  it('fails the node naming the column, the table unchanged (was: exit 0, the column NULL in every stored row, so none was replaced and every id was stored twice); an empty table is filled', async () => {
    const p = w.project();
    dirs.push(p.dir);
    const osc = ", on_schema_change='append_new_columns'";
    writeFileSync(join(p.dir, 'models/nk.sql'), model(`, unique_key='id'${osc}`, 'id, val'));
    expect(vigil(p.dir, ['build'], p.env).code).toBe(0);
    writeFileSync(join(p.dir, 'models/nk.sql'), model(`, unique_key=['id', 'k2']${osc}`, 'id, val, k2'));
    const r = vigil(p.dir, ['run', '-s', 'nk'], p.env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('unique_key column k2 is new to ');
    expect(r.stdout).toContain('this run would replace none of them and store their keys twice; nothing was changed. Run with --full-refresh');
    const rows = () => w.rows(p.dir, `select cast(id as integer) as id from ${p.schema}.nk order by id`);
    expect(await rows()).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
    // a table that holds no row has no stored row to keep: the run fills it
    writeFileSync(join(p.dir, 'models/nk.sql'), model(`, unique_key='id'${osc}`, 'id, val'));
    expect(vigil(p.dir, ['run', '-s', 'nk', '--full-refresh'], p.env).code).toBe(0);
    await w.rows(p.dir, `delete from ${p.schema}.nk`);
    writeFileSync(join(p.dir, 'models/nk.sql'), model(`, unique_key=['id', 'k2']${osc}`, 'id, val, k2'));
    const filled = vigil(p.dir, ['run', '-s', 'nk'], p.env);
    expect(filled.code, filled.stdout + filled.stderr).toBe(0);
    expect(await rows()).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
  });
});
