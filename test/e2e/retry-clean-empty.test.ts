/**
 * `vigil build --empty` (every model built with its columns and no rows), `vigil retry` (the
 * last command again for what failed or was skipped), `vigil clean` (target/ and clean_targets,
 * never the project's own files), through the real CLI on DuckDB.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { BASIC_PROJECT_YAML, makeProject, removeDir, VIGIL, vigil } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function project(extra: Record<string, string> = {}) {
  const dir = makeProject({
    'seeds/raw_orders.csv': 'id,amount\n1,10\n2,20\n',
    'models/orders.sql': "{{ config(materialized='table') }}\nselect id, amount * 2 as doubled from {{ ref('raw_orders') }}",
    'models/totals.sql': "{{ config(materialized='table') }}\nselect sum(doubled) as total, count(*) as n from {{ ref('orders') }}",
    'models/schema.yml': 'models:\n  - name: orders\n    columns:\n      - name: id\n        tests: [unique, not_null]\n',
    ...extra,
  });
  dirs.push(dir);
  return dir;
}
const csv = (dir: string, sql: string) => vigil(dir, ['show', '--inline', sql, '--output', 'csv']).stdout;

describe('vigil build --empty', () => {
  it('builds every model with its columns and no rows; tests pass on the empty tables; a normal build fills them', () => {
    const dir = project();
    const e = vigil(dir, ['build', '--empty']);
    expect(e.code, e.stdout + e.stderr).toBe(0);
    expect(csv(dir, "select count(*) as n from {{ ref('orders') }}")).toBe('n\n0\n');
    expect(csv(dir, "select column_name from information_schema.columns where table_name = 'totals' order by ordinal_position")).toBe('column_name\ntotal\nn\n');
    // no rows even where an aggregate without group by makes one of no input (was: a row n = 0;
    // docs/models.md promises each model built with no rows)
    expect(csv(dir, "select n from {{ ref('totals') }}")).toBe('n\n');
    expect(vigil(dir, ['build']).code).toBe(0);
    expect(csv(dir, "select total, n from {{ ref('totals') }}")).toBe('total,n\n60,2\n');
  });

  it('an incremental model built empty is filled by the next build (its incremental query read max() of nothing: it stayed empty, exit 0)', () => {
    const dir = project({
      'models/inc.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect id, amount from {{ ref('raw_orders') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}",
    });
    expect(vigil(dir, ['build', '--empty']).code).toBe(0);
    expect(csv(dir, "select count(*) as n from {{ ref('inc') }}")).toBe('n\n0\n');
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(csv(dir, "select id, amount from {{ ref('inc') }} order by id")).toBe('id,amount\n1,10\n2,20\n');
    // with rows there, it is incremental again: only the new row comes in
    writeFileSync(join(dir, 'seeds/raw_orders.csv'), 'id,amount\n1,99\n2,20\n3,30\n');
    expect(vigil(dir, ['build']).code).toBe(0);
    expect(csv(dir, "select id, amount from {{ ref('inc') }} order by id")).toBe('id,amount\n1,10\n2,20\n3,30\n');
  });
});

describe('vigil build --empty: the model reads nothing and adds nothing', () => {
  const daily = "{{ config(materialized='incremental', unique_key='day') }}\nselect cast('2024-01-05' as date) as day, count(*) as n, coalesce(sum(amount), 0) as total from {{ ref('raw_orders') }}";

  it('an incremental table that holds rows keeps them (was: its aggregate row of no input merged over them: (day, 0, 0))', () => {
    const dir = project({ 'models/daily.sql': daily });
    expect(vigil(dir, ['build']).code).toBe(0);
    expect(csv(dir, "select n, total from {{ ref('daily') }}")).toBe('n,total\n2,30\n');
    const e = vigil(dir, ['build', '-s', 'daily', '--empty']);
    expect(e.code, e.stdout + e.stderr).toBe(0);
    expect(e.stdout).not.toMatch(/inserted 1 rows|merged 1 rows/);
    expect(csv(dir, "select n, total from {{ ref('daily') }}")).toBe('n,total\n2,30\n');
    // the compiled SQL keeps the template's line numbers
    const compiled = readFileSync(join(dir, 'target/compiled/fixture/models/daily@incremental.sql'), 'utf8').split('\n');
    expect(compiled[1]).toMatch(/^select cast\('2024-01-05' as date\) as day, /);
    expect(compiled).toContain(') as __vigil_empty where 1 = 0');
  });

  it('on Postgres: built with its columns and their types, no rows; an existing table keeps its rows', () => {
    const schema = uniqueSchema('empty_agg');
    const dir = project({ 'project.yaml': pgProjectYaml(schema), 'models/daily.sql': daily });
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
    const e = vigil(dir, ['build', '--empty'], env);
    expect(e.code, e.stdout + e.stderr).toBe(0);
    const show = (sql: string) => vigil(dir, ['show', '--inline', sql, '--output', 'csv'], env).stdout;
    expect(show("select count(*) as n from {{ ref('totals') }}")).toBe('n\n0\n');
    expect(show(`select column_name, data_type from information_schema.columns where table_schema = '${schema}' and table_name = 'daily' order by ordinal_position`)).toBe('column_name,data_type\nday,date\nn,bigint\ntotal,numeric\n');
    expect(show("select count(*) as n from {{ ref('daily') }}")).toBe('n\n0\n');
    expect(vigil(dir, ['build'], env).code).toBe(0);
    expect(vigil(dir, ['build', '-s', 'daily', '--empty'], env).code).toBe(0);
    expect(show("select n, total from {{ ref('daily') }}")).toBe('n,total\n2,30\n');
  });
});

describe('incremental unique_key', () => {
  it('a unique_key the table has not fails the first run and a full refresh, with a did-you-mean (was: OK, and every incremental run after it failed)', () => {
    const dir = project({ 'models/inc.sql': "{{ config(materialized='incremental', unique_key=['id', 'amout']) }}\nselect id, amount from {{ ref('raw_orders') }}" });
    expect(vigil(dir, ['seed']).code).toBe(0);
    for (const args of [['run', '-s', 'inc'], ['run', '-s', 'inc', '--full-refresh']]) {
      const r = vigil(dir, args);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toContain("unique_key 'amout' (did you mean 'amount'?) is not a column of analytics.inc (its columns: id, amount)");
    }
    writeFileSync(join(dir, 'models/inc.sql'), "{{ config(materialized='incremental', unique_key=['id', 'amount']) }}\nselect id, amount from {{ ref('raw_orders') }}");
    expect(vigil(dir, ['run', '-s', 'inc']).code).toBe(0);
    expect(vigil(dir, ['run', '-s', 'inc']).code).toBe(0);
  });

  it("insert_overwrite's partition_by column the table has not fails the first run, with a did-you-mean (was: OK, and every incremental run after it failed with a Binder Error)", () => {
    const dir = project({ 'models/io.sql': "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by={'field': 'dte', 'data_type': 'date'}) }}\nselect id, amount, date '2026-01-01' + cast(id as integer) as dt from {{ ref('raw_orders') }}" });
    expect(vigil(dir, ['seed']).code).toBe(0);
    const r = vigil(dir, ['run', '-s', 'io']);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toContain("partition_by 'dte' (did you mean 'dt'?) is not a column of analytics.io (its columns: id, amount, dt)");
    writeFileSync(join(dir, 'models/io.sql'), "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by={'field': 'dt', 'data_type': 'date'}) }}\nselect id, amount, date '2026-01-01' + cast(id as integer) as dt from {{ ref('raw_orders') }}");
    expect(vigil(dir, ['run', '-s', 'io']).code).toBe(0);
    expect(vigil(dir, ['run', '-s', 'io']).code).toBe(0);
    expect(csv(dir, "select count(*) as n from {{ ref('io') }}")).toBe('n\n2\n');
  });

  it("a unique_key beside insert_overwrite is a warning at its line and is not used: the run replaces partitions and checks no key (was: silent, and a key the table has not failed the first run)", () => {
    const dir = project({ 'models/io.sql': "{{ config(materialized='incremental', incremental_strategy='insert_overwrite',\n    unique_key='nope', partition_by={'field': 'dt', 'data_type': 'date'}) }}\nselect id, amount, date '2026-01-01' + cast(id as integer) as dt from {{ ref('raw_orders') }}" });
    expect(vigil(dir, ['seed']).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const r = vigil(dir, ['run', '-s', 'io']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/models\/io\.sql:2:\d+: warning: model 'io': unique_key has no effect with incremental_strategy 'insert_overwrite' \(every run replaces whole partitions, the ones its new rows are in, whatever their keys; the key is not used, as in dbt-bigquery\) \[W_CONFIG\]/);
      expect(r.stdout).not.toContain("unique_key 'nope'");
    }
    expect(csv(dir, "select count(*) as n from {{ ref('io') }}")).toBe('n\n2\n');
  });

  it('new rows whose unique_key holds a NULL are said under the OK line (they match no row: added again on every run, as in dbt)', () => {
    const dir = project({ 'models/inc.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect case when id = 2 then null else id end as id, amount from {{ ref('raw_orders') }}" });
    expect(vigil(dir, ['seed']).code).toBe(0);
    expect(vigil(dir, ['run', '-s', 'inc']).stdout).not.toContain('warning');
    const r = vigil(dir, ['run', '-s', 'inc']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/OK merged 2 rows \(replacing 1\) into analytics\.inc \[[\d.]+s\]\n  warning: 1 new row has a NULL in unique_key \(id\): such a key matches no row, so it is added again on every run \(a not_null test on the key finds them\)\n/);
    expect(csv(dir, "select count(*) as n from {{ ref('inc') }} where id is null")).toBe('n\n2\n');
  });
});

describe('vigil retry', () => {
  it('re-runs the last build for what failed and what it skipped, nothing else; then there is nothing to retry', () => {
    const dir = project({ 'models/totals.sql': "{{ config(materialized='table') }}\nselect sum(doubled) as total, count(*) as n, cast('x' as int) as boom from {{ ref('orders') }}", 'models/after.sql': "select * from {{ ref('totals') }}" });
    const none = vigil(dir, ['retry']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no target/run_results.json');
    const b = vigil(dir, ['build']);
    expect(b.code).toBe(1);
    expect(b.stdout).toMatch(/ERROR creating table analytics\.totals/);
    expect(b.stdout).toMatch(/SKIP view analytics\.after/);
    writeFileSync(join(dir, 'models/totals.sql'), "{{ config(materialized='table') }}\nselect sum(doubled) as total, count(*) as n from {{ ref('orders') }}");
    const r = vigil(dir, ['retry']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Retrying 2 nodes of the last build \(.*\): (totals, after|after, totals)\n/);
    expect(r.stdout).toContain('build: target dev (duckdb), 2 models, 0 tests');
    expect(r.stdout).not.toMatch(/seed|analytics\.orders/);
    const again = vigil(dir, ['retry']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to retry: the last build');
    // a typo in --target or --vars is one with nothing to retry too (was: exit 0)
    const target = vigil(dir, ['retry', '-t', 'dve']);
    expect([target.code, target.stderr]).toEqual([2, expect.stringContaining("did you mean 'dev'?")]);
    expect(vigil(dir, ['retry', '--vars', '{nope: 1}']).code).toBe(2);
  });

  it('a failed node deleted since is said and left out; the rest is retried (was: exit 2, selector matched nothing, nothing retried)', () => {
    const dir = project({ 'models/totals.sql': "{{ config(materialized='table') }}\nselect cast('x' as int) as boom from {{ ref('orders') }}", 'models/other.sql': "{{ config(materialized='table') }}\nselect cast('y' as int) as boom from {{ ref('orders') }}" });
    writeFileSync(join(dir, 'models/broken.sql'), 'select nope');
    expect(vigil(dir, ['build']).code).toBe(1);
    rmSync(join(dir, 'models/totals.sql'));
    rmSync(join(dir, 'models/broken.sql'));
    const r = vigil(dir, ['retry']);
    expect(r.stdout).toMatch(/No longer in the project, not retried: (totals, broken|broken, totals)\n/);
    expect(r.stdout).toMatch(/Retrying 1 node of the last build \(.*\): other\n/);
    expect(r.stdout).toMatch(/ERROR creating table analytics\.other/);
    expect(r.code).toBe(1);
    rmSync(join(dir, 'models/other.sql'));
    const none = vigil(dir, ['retry']);
    expect(none.stdout).toContain('Nothing to retry: what failed or was skipped in the last build is no longer in the project.');
    expect(none.code).toBe(0);
  });

  it('retries the unique_ids that failed or were skipped, not every node of their names (was: a model named as a failed singular test ran again: an append table doubled)', () => {
    const dir = project({
      'models/foo.sql': "{{ config(materialized='incremental', incremental_strategy='append') }}\nselect id, current_timestamp as loaded_at from {{ ref('raw_orders') }}",
      'tests/foo.sql': "select * from {{ ref('orders') }} where id > 1",
      // a source named as the model orders, whose test passes
      'models/sources.yml': 'sources:\n  - name: raw\n    schema: analytics\n    tables:\n      - name: orders\n        identifier: raw_orders\n        columns:\n          - name: id\n            tests: [not_null]\n',
    });
    const b = vigil(dir, ['build']);
    expect(b.code).toBe(1);
    expect(b.stdout).toMatch(/OK created incremental analytics\.foo|OK .*analytics\.foo/);
    expect(b.stdout).toMatch(/FAIL 1 foo /);
    expect(csv(dir, "select count(*) as n from {{ ref('foo') }}")).toBe('n\n2\n');
    const r = vigil(dir, ['retry']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    // (totals reads orders, which the test reads: it was skipped)
    expect(r.stdout).toMatch(/Retrying 2 nodes of the last build \(.*\): (totals, foo|foo, totals)\n/);
    expect(r.stdout).toContain('build: target dev (duckdb), 1 model, 1 test');
    expect(r.stdout).toMatch(/FAIL 1 foo /);
    expect(r.stdout).toMatch(/SKIP table analytics\.totals \(upstream foo failed\)/);
    expect(csv(dir, "select count(*) as n from {{ ref('foo') }}")).toBe('n\n2\n');
    // a failed model orders: its tests and totals again, not the passing test of the source orders
    writeFileSync(join(dir, 'models/orders.sql'), "{{ config(materialized='table') }}\nselect id, no_such_column as doubled from {{ ref('raw_orders') }}");
    rmSync(join(dir, 'tests/foo.sql'));
    const b2 = vigil(dir, ['build']);
    expect(b2.code).toBe(1);
    expect(b2.stdout).toMatch(/PASS source_not_null_raw_orders_id|PASS not_null_raw_orders_id/);
    writeFileSync(join(dir, 'models/orders.sql'), "{{ config(materialized='table') }}\nselect id, amount * 2 as doubled from {{ ref('raw_orders') }}");
    const r2 = vigil(dir, ['retry']);
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(r2.stdout).toContain('build: target dev (duckdb), 2 models, 2 tests');
    expect(r2.stdout).not.toMatch(/raw_orders_id|analytics\.foo/);
    // two of them of one name are said by their unique_id
    writeFileSync(join(dir, 'tests/orders.sql'), "select * from {{ ref('orders') }} where id > 1");
    writeFileSync(join(dir, 'models/orders.sql'), "{{ config(materialized='table') }}\nselect id, no_such_column as doubled from {{ ref('raw_orders') }}");
    expect(vigil(dir, ['build']).code).toBe(1);
    writeFileSync(join(dir, 'models/orders.sql'), "{{ config(materialized='table') }}\nselect id, amount * 2 as doubled from {{ ref('raw_orders') }}");
    const r3 = vigil(dir, ['retry']);
    expect(r3.stdout).toMatch(/Retrying 5 nodes of the last build \(.*\): .*\bmodel\.fixture\.orders\b/);
    expect(r3.stdout).toMatch(/Retrying .*\btest\.fixture\.orders\b/);
    expect(r3.stdout).toMatch(/FAIL 1 orders /);
  });

  it("runs only what failed or was skipped: not the tests the run's --exclude left out (was: eager indirect selection added them)", () => {
    const dir = project({
      'models/unit.yml': "unit_tests:\n  - name: doubles\n    model: orders\n    given:\n      - input: ref('raw_orders')\n        rows: [{id: 1, amount: 5}]\n    expect:\n      rows: [{id: 1, doubled: 10}]\n",
    });
    expect(vigil(dir, ['seed']).code).toBe(0);
    writeFileSync(join(dir, 'models/orders.sql'), "{{ config(materialized='table') }}\nselect id, no_such_column as doubled from {{ ref('raw_orders') }}");
    const b = vigil(dir, ['build', '-s', 'orders', '--exclude', 'test_type:unique', 'test_type:unit']);
    expect(b.code).toBe(1);
    expect(b.stdout).toContain('build: target dev (duckdb), 1 model, 1 test,');
    writeFileSync(join(dir, 'models/orders.sql'), "{{ config(materialized='table') }}\nselect id, amount * 2 as doubled from {{ ref('raw_orders') }}");
    const r = vigil(dir, ['retry']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Retrying 2 nodes of the last build \(.*\): (orders, not_null_orders_id|not_null_orders_id, orders)\n/);
    expect(r.stdout).toContain('build: target dev (duckdb), 1 model, 1 test,');
    expect(r.stdout).not.toMatch(/unique_orders_id|doubles/);
    expect(r.stdout).toMatch(/TOTAL=2\b/);
  });

  it("retries the generic test that failed, whatever tests are added beside it (was: a test added on a.b_c took the name not_null_a_b_c and its unique_id, retry ran that one, PASS, exit 0; the failing one became _2)", () => {
    const yml = 'models:\n  - name: a_b\n    columns:\n      - name: c\n        tests: [not_null]\n';
    const dir = project({ 'models/a_b.sql': 'select cast(null as int) as c', 'models/a.sql': 'select 1 as b_c', 'models/z.yml': yml });
    const b = vigil(dir, ['build', '-s', 'a', 'a_b']);
    expect(b.code, b.stdout + b.stderr).toBe(1);
    expect(b.stdout).toMatch(/FAIL 1 not_null_a_b_c /);
    const failed = JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8')).results.filter((r: { status: string }) => r.status === 'fail');
    expect(failed.map((r: { unique_id: string }) => r.unique_id)).toEqual([expect.stringMatching(/^test\.fixture\.not_null_a_b_c\.[0-9a-f]{10}$/)]);
    // (a test on a.b_c is named alike: both are named with their hash, and neither takes the other's unique_id)
    writeFileSync(join(dir, 'models/z.yml'), `${yml}  - name: a\n    columns:\n      - name: b_c\n        tests: [not_null]\n`);
    const r = vigil(dir, ['retry']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const hash = failed[0].unique_id.split('.').pop();
    expect(r.stdout).toContain('Retrying 1 node of the last build (');
    expect(r.stdout).toMatch(new RegExp(`: not_null_a_b_c_${hash}\n`));
    expect(r.stdout).toMatch(new RegExp(`FAIL 1 not_null_a_b_c_${hash} `));
    expect(r.stdout).toMatch(/TOTAL=1\b/);
  });

  it('a run_results.json of an older Vigil, whose generic tests were named by their names alone, is not retried for them: exit 2, nothing run', () => {
    const dir = project({ 'models/totals.sql': 'select 1 as id union all select 1', 'models/t.yml': 'models:\n  - name: totals\n    columns:\n      - name: id\n        tests: [unique]\n' });
    expect(vigil(dir, ['build', '-s', 'totals']).code).toBe(1);
    const path = join(dir, 'target/run_results.json');
    const rr = JSON.parse(readFileSync(path, 'utf8'));
    delete rr.metadata.state_format;
    for (const r of rr.results) if (r.resource_type === 'test') r.unique_id = `test.fixture.${r.name}`;
    writeFileSync(path, JSON.stringify(rr));
    const r = vigil(dir, ['retry']);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain('target/run_results.json was written by an older Vigil, whose ids of generic tests were their names (another test may have that name now), so vigil retry cannot tell which test unique_totals_id is; run the build again instead');
  });

  it('a run_results.json without unique_ids (an older Vigil) is said: exit 2, nothing run', () => {
    const dir = project({ 'models/totals.sql': "{{ config(materialized='table') }}\nselect cast('x' as int) as boom from {{ ref('orders') }}" });
    expect(vigil(dir, ['build']).code).toBe(1);
    const path = join(dir, 'target/run_results.json');
    const rr = JSON.parse(readFileSync(path, 'utf8'));
    for (const r of rr.results) delete r.unique_id;
    writeFileSync(path, JSON.stringify(rr));
    const r = vigil(dir, ['retry']);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain('target/run_results.json does not say which node each result is (no unique_id: written by an older Vigil), so vigil retry cannot tell totals from another node of that name; run the build again instead');
  });

  it('a run that failed before any node ran (its warehouse unreachable) is what retry sees: nothing to retry, exit 1, not the older run on another target (was: the older build on dev repeated, exit 0)', () => {
    const yaml = `${BASIC_PROJECT_YAML}  pgci:\n    type: postgres\n    url: postgres://postgres@127.0.0.1:1/nowhere\n    schema: analytics\n`;
    const dir = project({ 'project.yaml': yaml, 'models/totals.sql': "{{ config(materialized='table') }}\nselect cast('x' as int) as boom from {{ ref('orders') }}" });
    expect(vigil(dir, ['build']).code).toBe(1);
    writeFileSync(join(dir, 'models/totals.sql'), "{{ config(materialized='table') }}\nselect sum(doubled) as total from {{ ref('orders') }}");
    const ci = vigil(dir, ['build', '-t', 'pgci', '--threads', '2']);
    expect(ci.code, ci.stdout + ci.stderr).toBe(1);
    const rr = JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8'));
    expect(rr).toMatchObject({ metadata: { command: 'build', target: 'pgci', args: { threads: 2 } }, invocation: 'failed', success: false, results: [] });
    expect(rr.error).toMatch(/ECONNREFUSED|connect/);
    const r = vigil(dir, ['retry']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).not.toMatch(/Retrying|target dev/);
    expect(r.stderr).toMatch(/^error: the last vigil build on target pgci \(.*\) failed before any node ran:\n {2}.*(ECONNREFUSED|connect)/);
    expect(r.stderr).toContain('Nothing to retry: run it again (vigil build -t pgci, with its selection).');
    // a build stopped by its project (a selection naming nothing) is recorded the same way
    expect(vigil(dir, ['build']).code).toBe(0);
    const s = vigil(dir, ['build', '-s', 'totalz']);
    expect(s.code).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8'))).toMatchObject({ metadata: { command: 'build', target: 'dev' }, invocation: 'failed', error: expect.stringContaining('totalz') });
    const r2 = vigil(dir, ['retry']);
    expect([r2.code, r2.stdout]).toEqual([1, '']);
    expect(r2.stderr).toContain('the last vigil build on target dev');
  });

  it('a retry that fails before any node ran keeps its nodes: the next retry runs the first failures (was: nothing to retry); a run with nothing to do leaves nothing to retry; a misused flag leaves the results alone', () => {
    const dir = project({ 'models/totals.sql': "{{ config(materialized='table') }}\nselect cast('x' as int) as boom from {{ ref('orders') }}" });
    expect(vigil(dir, ['build']).code).toBe(1);
    const first = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    // a misused flag: refused before anything is recorded
    expect(vigil(dir, ['build', '--defer']).code).toBe(2);
    expect(readFileSync(join(dir, 'target/run_results.json'), 'utf8')).toBe(first);
    writeFileSync(join(dir, 'models/totals.sql'), "{{ config(materialized='table') }}\nselect sum(doubled) as total from {{ ref('orders') }}");
    // the retry cannot open its warehouse (a folder where the database file was)
    const db = join(dir, '.vigil/dev.duckdb');
    renameSync(db, `${db}.away`);
    mkdirSync(db);
    const r1 = vigil(dir, ['retry']);
    expect(r1.code, r1.stdout + r1.stderr).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8'))).toMatchObject({ invocation: 'failed', planned: ['model.fixture.totals'] });
    rmSync(db, { recursive: true });
    renameSync(`${db}.away`, db);
    const r2 = vigil(dir, ['retry']);
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/The last retry of a build on target dev \(.*\) failed before any node ran \(.*\); its 1 node are retried/);
    expect(r2.stdout).toMatch(/OK created table analytics\.totals/);
    // a run with nothing to do records that (dbt: empty results): nothing to retry after it
    expect(vigil(dir, ['build']).code).toBe(0);
    writeFileSync(join(dir, 'models/totals.sql'), "{{ config(materialized='table') }}\nselect cast('x' as int) as boom from {{ ref('orders') }}");
    expect(vigil(dir, ['build']).code).toBe(1);
    const none = vigil(dir, ['seed', '-s', 'totals', '--allow-empty']);
    expect(none.code, none.stdout + none.stderr).toBe(0);
    expect(none.stdout).toContain('Nothing to do');
    expect(JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8'))).toMatchObject({ metadata: { command: 'seed' }, success: true, results: [] });
    const r3 = vigil(dir, ['retry']);
    expect(r3.code, r3.stdout + r3.stderr).toBe(0);
    expect(r3.stdout).toContain('Nothing to retry');
    expect(r3.stdout).not.toMatch(/Retrying/);
  });

  it('a run killed mid-way (kill -9) leaves run_results.json saying it started: retry re-runs what it did not record as done (was: the run before it, or nothing)', async () => {
    const slow = "{{ config(materialized='table', pre_hook=\"copy (select 1 as started) to 'slow-started.csv'\") }}\nselect count(*) as n from range(0, {{ env_var('VIGIL_TEST_SLOW', '10') }}) as r(i) where i % 7 = 3 and (select count(*) from {{ ref('orders') }}) > 0";
    const dir = project({ 'models/slow.sql': slow, 'models/after_slow.sql': "select * from {{ ref('slow') }}" });
    // an older failed build, which retry must not repeat
    writeFileSync(join(dir, 'models/totals.sql'), "{{ config(materialized='table') }}\nselect cast('x' as int) as boom from {{ ref('orders') }}");
    expect(vigil(dir, ['build', '-s', 'totals']).code).toBe(1);
    writeFileSync(join(dir, 'models/totals.sql'), "{{ config(materialized='table') }}\nselect sum(doubled) as total from {{ ref('orders') }}");
    const child = spawn(process.execPath, [VIGIL, 'build', '--threads', '1'], { cwd: dir, env: { ...process.env, VIGIL_TEST_SLOW: '4000000000' } });
    await new Promise<void>((resolve) => {
      const check = () => (existsSync(join(dir, 'slow-started.csv')) ? resolve() : setTimeout(check, 20));
      check();
    });
    // while it runs (vigil serve's build, another terminal's), retry does not run its nodes beside it
    const busy = vigil(dir, ['retry']);
    expect(busy.code, busy.stdout + busy.stderr).toBe(1);
    expect(busy.stderr).toMatch(new RegExp(`the last vigil build on target dev \\(started .*\\) is still running \\(pid ${child.pid}, `));
    expect(busy.stdout).not.toMatch(/Retrying|OK created/);
    // nor beside it stopped (SIGSTOP; continued later, it would run them again): was retried as "killed?"
    child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 200));
    const stopped = vigil(dir, ['retry']);
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(1);
    expect(stopped.stderr).toMatch(/is still running \(pid \d+, /);
    expect(stopped.stdout).not.toMatch(/Retrying|OK created/);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const rr = JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8'));
    expect(rr).toMatchObject({ metadata: { command: 'build', target: 'dev' }, invocation: 'started', success: false, results: [], process: { pid: child.pid } });
    expect(rr.planned).toEqual(expect.arrayContaining(['model.fixture.slow', 'model.fixture.after_slow', 'model.fixture.totals', 'seed.fixture.raw_orders']));
    const r = vigil(dir, ['retry']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/The last build on target dev \(started .*\) did not finish: .*the 7 nodes it did not record as done are retried/);
    expect(r.stdout).toMatch(/OK created table analytics\.slow|OK .*analytics\.slow/);
    expect(r.stdout).toMatch(/TOTAL=7\b/);
    expect(JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8')).invocation).toBeUndefined();
  }, 180_000);

  it('keeps the --vars and --empty of the run it retries (was: dropped, the retried nodes built with the default vars and full rows)', () => {
    const boom = "{{ config(materialized='table') }}\nselect sum(doubled) * {{ var('mult', 1) }} as total, count(*) as n, cast('x' as int) as boom from {{ ref('orders') }}";
    const dir = project({ 'models/totals.sql': boom });
    expect(vigil(dir, ['build', '--vars', '{mult: 3}']).code).toBe(1);
    writeFileSync(join(dir, 'models/totals.sql'), boom.replace(", cast('x' as int) as boom", ''));
    const r = vigil(dir, ['retry']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("with the flags of that build: --vars '{mult: 3}'");
    expect(csv(dir, "select total from {{ ref('totals') }}")).toBe('total\n180\n');
    // --threads and --fail-fast too (were: retried with 4 threads, no fail-fast); --threads given to retry wins
    writeFileSync(join(dir, 'models/totals.sql'), boom);
    expect(vigil(dir, ['build', '--threads', '1', '--fail-fast']).code).toBe(1);
    const t = vigil(dir, ['retry']);
    expect(t.stdout).toContain('with the flags of that build: --threads 1 --fail-fast');
    expect(t.stdout).toMatch(/^vigil \S+ build: .*, 1 thread$/m);
    const t2 = vigil(dir, ['retry', '--threads', '2']);
    expect(t2.stdout).toContain('with the flags of that build: --fail-fast');
    expect(t2.stdout).toMatch(/^vigil \S+ build: .*, 2 threads$/m);
    // --empty: the retried model is built empty as the run it repeats (failing on a column it has
    // not: with --empty no row is read, so the cast of the first build would fail on none)
    writeFileSync(join(dir, 'models/totals.sql'), boom.replace("cast('x' as int)", 'no_such_column'));
    expect(vigil(dir, ['build', '--empty', '-s', 'totals']).code).toBe(1);
    writeFileSync(join(dir, 'models/totals.sql'), boom.replace(", cast('x' as int) as boom", ''));
    const e = vigil(dir, ['retry']);
    expect(e.code, e.stdout + e.stderr).toBe(0);
    expect(e.stdout).toContain('with the flags of that build: --empty');
    // (no row: not even the one an aggregate without group by makes of no input)
    expect(csv(dir, "select n from {{ ref('totals') }}")).toBe('n\n');
    // a var holding a secret's value is not written to run_results.json: retry asks for it
    const secret = { VIGIL_TEST_API_TOKEN: 'tok-9f8e7d6c5b4a' };
    writeFileSync(join(dir, 'models/totals.sql'), `{# on prod: var('token') #}\n${boom}`);
    expect(vigil(dir, ['build', '--vars', '{mult: 3, token: tok-9f8e7d6c5b4a}'], secret).code).toBe(1);
    expect(readFileSync(join(dir, 'target/run_results.json'), 'utf8')).not.toContain('tok-9f8e7d6c5b4a');
    const s = vigil(dir, ['retry'], secret);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('give the same --vars to vigil retry');
  });
});

describe('vigil clean', () => {
  it('removes target/ and clean_targets; refuses paths outside the project or holding its own files', () => {
    const dir = project();
    expect(vigil(dir, ['compile']).code).toBe(0);
    expect(existsSync(join(dir, 'target/manifest.json'))).toBe(true);
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'project.yaml'), `${'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n'}clean_targets: [logs]\n`);
    const c = vigil(dir, ['clean']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe('Removed target/\nRemoved logs/\n');
    expect(existsSync(join(dir, 'target'))).toBe(false);
    expect(existsSync(join(dir, 'models/orders.sql'))).toBe(true);
    expect(vigil(dir, ['clean']).stdout).toContain('Nothing to clean');
    // a clean_targets entry that is a file is left alone and said so, not called absent (was: "Nothing to clean (target/, notes.txt/ not there).")
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    writeFileSync(join(dir, 'project.yaml'), `${'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n'}clean_targets: [notes.txt]\n`);
    const f = vigil(dir, ['clean']);
    expect([f.code, f.stdout, f.stderr]).toEqual([0, 'Nothing to clean (target/ not there).\n', 'warning: notes.txt is a file, not a folder: left alone\n']);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine\n');
    // a folder inside models/ (was: removed, its models with it, exit 0)
    mkdirSync(join(dir, 'models/staging'));
    writeFileSync(join(dir, 'models/staging/stg.sql'), 'select 1 as id\n');
    writeFileSync(join(dir, 'project.yaml'), `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\nclean_targets: [models/staging]\n`);
    const sub = vigil(dir, ['clean']);
    expect([sub.code, sub.stdout]).toEqual([2, '']);
    expect(sub.stderr).toContain("clean_targets: 'models/staging' is inside the project's models folder (models): its files are the project's own, not removed");
    expect(existsSync(join(dir, 'models/staging/stg.sql'))).toBe(true);
    for (const bad of ['..', '.', '/tmp', 'models', '../elsewhere']) {
      writeFileSync(join(dir, 'project.yaml'), `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\nclean_targets: ['${bad}']\n`);
      const r = vigil(dir, ['clean']);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/clean_targets: '.*' (is not a folder inside the project|holds the project's own files)/);
    }
    expect(existsSync(join(dir, 'models/orders.sql'))).toBe(true);
    // through a symbolic link: where the folder really is counts (was: a folder outside removed)
    const outside = makeProject({ 'sub/keep.txt': 'x' }, false);
    dirs.push(outside);
    symlinkSync(outside, join(dir, 'lnk'));
    symlinkSync(join(dir, 'models'), join(dir, 'alias'));
    for (const bad of ['lnk/sub', 'lnk', 'alias']) {
      writeFileSync(join(dir, 'project.yaml'), `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\nclean_targets: ['${bad}']\n`);
      const r = vigil(dir, ['clean']);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/clean_targets: '.*' (is not a folder inside the project \(it is .*, through a symbolic link\)|holds the project's own files)/);
    }
    expect(existsSync(join(outside, 'sub/keep.txt'))).toBe(true);
    expect(existsSync(join(dir, 'models/orders.sql'))).toBe(true);
  });

  it("refuses snapshots/, a repository's .git and any folder holding files git tracks; an untracked folder goes", () => {
    const dir = project();
    mkdirSync(join(dir, 'snapshots'));
    writeFileSync(join(dir, 'snapshots/s.sql'), "{% snapshot s %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select 1 as id{% endsnapshot %}\n");
    mkdirSync(join(dir, 'docs_src'));
    writeFileSync(join(dir, 'docs_src/notes.md'), 'kept\n');
    mkdirSync(join(dir, 'scratch'));
    writeFileSync(join(dir, 'scratch/tmp.txt'), 'x\n');
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: dir, stdio: 'pipe' });
    git('init', '-q');
    git('add', 'docs_src/notes.md');
    git('commit', '-qm', 'docs');
    const head = 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n';
    for (const [bad, why] of [
      ['snapshots', /holds the project's own files/],
      ['.git', /a git repository's own folder/],
      ['docs_src', /holds files tracked by git \(docs_src\/notes\.md\)/],
    ] as const) {
      writeFileSync(join(dir, 'project.yaml'), `${head}clean_targets: ['${bad}']\n`);
      const r = vigil(dir, ['clean']);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toMatch(why);
    }
    expect(existsSync(join(dir, 'snapshots/s.sql'))).toBe(true);
    expect(existsSync(join(dir, '.git/HEAD'))).toBe(true);
    expect(existsSync(join(dir, 'docs_src/notes.md'))).toBe(true);
    writeFileSync(join(dir, 'project.yaml'), `${head}clean_targets: [scratch]\n`);
    const ok = vigil(dir, ['clean']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(dir, 'scratch'))).toBe(false);
  });

  it('refuses a git worktree or a nested repository inside the folder, and files a nested repository tracks (was: removed with their uncommitted work)', () => {
    const dir = project();
    const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, stdio: 'pipe' });
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'one');
    git(dir, 'branch', 'pages');
    mkdirSync(join(dir, 'target'));
    git(dir, 'worktree', 'add', '-q', 'target/site', 'pages');
    writeFileSync(join(dir, 'target/site/unpublished.md'), 'draft\n');
    const worktree = vigil(dir, ['clean']);
    expect(worktree.code, worktree.stdout).toBe(2);
    expect(worktree.stderr).toBe("error: the target folder 'target' holds a git repository or worktree (target/site/.git): not removed\n");
    expect(readFileSync(join(dir, 'target/site/unpublished.md'), 'utf8')).toBe('draft\n');
    git(dir, 'worktree', 'remove', '--force', 'target/site');
    // a repository of its own, deep inside
    mkdirSync(join(dir, 'target/a/b'), { recursive: true });
    git(join(dir, 'target/a/b'), 'init', '-q');
    writeFileSync(join(dir, 'target/a/b/notes.md'), 'draft\n');
    const nested = vigil(dir, ['clean']);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toContain("the target folder 'target' holds a git repository or worktree (target/a/b/.git): not removed");
    expect(existsSync(join(dir, 'target/a/b/notes.md'))).toBe(true);
    // files a repository nested in the project tracks (the outer one's git ls-files does not list them)
    rmSync(join(dir, 'target'), { recursive: true });
    mkdirSync(join(dir, 'vendor/build'), { recursive: true });
    writeFileSync(join(dir, 'vendor/build/keep.txt'), 'x\n');
    git(join(dir, 'vendor'), 'init', '-q');
    git(join(dir, 'vendor'), 'add', 'build/keep.txt');
    git(join(dir, 'vendor'), 'commit', '-qm', 'v');
    writeFileSync(join(dir, 'project.yaml'), `${readFileSync(join(dir, 'project.yaml'), 'utf8')}clean_targets: [vendor/build]\n`);
    const tracked = vigil(dir, ['clean']);
    expect(tracked.code).toBe(2);
    expect(tracked.stderr).toContain("clean_targets: 'vendor/build' holds files tracked by git (vendor/build/keep.txt): not removed");
    expect(existsSync(join(dir, 'vendor/build/keep.txt'))).toBe(true);
  });

  it('names a target folder that is a symbolic link out of the project as the target folder', () => {
    const dir = project();
    const outside = makeProject({ 'keep.txt': 'x' }, false);
    dirs.push(outside);
    symlinkSync(outside, join(dir, 'target'));
    const r = vigil(dir, ['clean']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: the target folder 'target' is not a folder inside the project \(it is .*, through a symbolic link\)/);
    expect(existsSync(join(outside, 'keep.txt'))).toBe(true);
  });
});
