/**
 * Hooks, run for real on DuckDB and Postgres: pre_hook/post_hook from the project's defaults,
 * the model's properties and config() (all of them, in that order, rendered with `this` and
 * `model`), on_run_start before the first node and on_run_end after the last. A model's hooks
 * run in its transaction: a failing post_hook fails the node at the hook's file:line, leaves the
 * previous table as it was, and skips what reads the model. Those with transaction: false (dbt's
 * mapping, before_begin(), after_commit()) run before it begins or after it commits.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import type { Adapter } from '../../src/adapters/adapter.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

interface Warehouse {
  name: string;
  target: (schema: string) => string;
  env: () => Record<string, string>;
  open: (dir: string, schema: string) => Promise<Adapter>;
  /** a statement granting read access on {{ this }}, and the query telling whether it was granted */
  grant?: { hook: string; granted: (schema: string, table: string) => string };
  /** a statement the warehouse refuses inside a transaction (after the build's statements) */
  outsideOnly: string;
}

const WAREHOUSES: Warehouse[] = [
  {
    name: 'DuckDB',
    target: (schema) => `type: duckdb\n    path: .vigil/dev.duckdb\n    schema: ${schema}`,
    env: () => ({}),
    open: (dir, schema) => DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema }, dir, 1),
    // "Cannot CHECKPOINT: the current transaction has transaction local changes"
    outsideOnly: 'checkpoint',
  },
  {
    name: 'Postgres',
    target: (schema) => `type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}`,
    env: () => ({ DATABASE_URL: inject('pgUrl') }),
    open: (_dir, schema) => PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema }, 1),
    grant: {
      hook: 'grant select on {{ this }} to public',
      granted: (schema, table) => `select count(*)::int as n from information_schema.role_table_grants where grantee = 'PUBLIC' and table_schema = '${schema}' and table_name = '${table}' and privilege_type = 'SELECT'`,
    },
    // "VACUUM cannot run inside a transaction block": dbt's reason for transaction: false
    outsideOnly: 'vacuum analyze {{ this }}',
  },
];

function project(w: Warehouse, schema: string, extra: Record<string, string>): string {
  const dir = makeProject({
    'project.yaml': `name: hooks
default_target: dev
targets:
  dev:
    ${w.target(schema)}
defaults:
  post_hook: "insert into ${schema}.hook_log select '{{ this.name }}', 'defaults post_hook', {{ model.name | length }}"
on_run_start:
  - "create schema if not exists ${schema}"
  - "create table if not exists ${schema}.hook_log (model varchar(100), what varchar(100), n int)"
on_run_end: "insert into ${schema}.hook_log select 'run', 'on_run_end', 0"
`,
    ...extra,
  });
  dirs.push(dir);
  return dir;
}

async function rows<T>(w: Warehouse, dir: string, schema: string, sql: string): Promise<T[]> {
  const db = await w.open(dir, schema);
  try {
    return await db.query<T & Record<string, unknown>>(sql);
  } finally {
    await db.close();
  }
}

describe.each(WAREHOUSES)('hooks on $name', (w) => {
  it('run in order with this and model; on_run_start before everything, on_run_end after', async () => {
    const schema = uniqueSchema('hooks_order');
    const dir = project(w, schema, {
      'models/orders.sql': `{{ config(materialized='table', pre_hook="create table if not exists {{ this.schema }}.made_by_pre_hook as select 1 as x", post_hook=["insert into {{ this.schema }}.hook_log select '{{ this.identifier }}', 'config post_hook ' || (select count(*) from {{ this }}), 0"${w.grant ? `, "${w.grant.hook}"` : ''}]) }}
select 1 as id union all select 2`,
      'models/orders.yml': `models:\n  - name: orders\n    config:\n      post_hook: "insert into {{ this.schema }}.hook_log select '{{ model.name }}', 'properties post_hook', 0"\n`,
      'models/later.sql': `select * from {{ ref('orders') }}`,
    });
    const r = vigil(dir, ['build'], w.env());
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/on_run_start 1 of 2 OK project\.yaml:11/);
    expect(r.stdout).toMatch(/on_run_end 1 of 1 OK project\.yaml:13/);
    expect(r.stdout).toMatch(/Finished 2 nodes \(and 3 run hooks\)/);
    expect(r.code).toBe(0);
    const log = await rows<{ model: string; what: string; n: number }>(w, dir, schema, `select model, what, n from ${schema}.hook_log`);
    // hooks add up: defaults, then properties, then config(); the post_hooks see the built table
    expect(log.map((x) => `${x.model}: ${x.what}`)).toEqual([
      'orders: defaults post_hook',
      'orders: properties post_hook',
      'orders: config post_hook 2',
      'later: defaults post_hook',
      'run: on_run_end',
    ]);
    expect(Number(log[0].n)).toBe('orders'.length);
    expect(await rows(w, dir, schema, `select x from ${schema}.made_by_pre_hook`)).toEqual([{ x: 1 }]);
    if (w.grant) expect(Number((await rows<{ n: number }>(w, dir, schema, w.grant.granted(schema, 'orders')))[0].n)).toBe(1);
    // the manifest holds each rendered hook with where it is written
    const node = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).nodes['model.hooks.orders'];
    expect(node.pre_hooks).toEqual([{ kind: 'pre_hook', sql: `create table if not exists ${schema}.made_by_pre_hook as select 1 as x`, origin: 'models/orders.sql:1' }]);
    expect(node.post_hooks.map((h: { origin: string }) => h.origin)).toEqual(['project.yaml:9', 'models/orders.yml:4', 'models/orders.sql:1', ...(w.grant ? ['models/orders.sql:1'] : [])]);
  });

  it('a failing post_hook fails the node at its file:line, keeps the previous table, skips what reads it', async () => {
    const schema = uniqueSchema('hooks_fail');
    const dir = project(w, schema, {
      'models/orders.sql': `{{ config(materialized='table') }}\nselect 1 as id`,
      'models/later.sql': `{{ config(materialized='table') }}\nselect * from {{ ref('orders') }}`,
    });
    expect(vigil(dir, ['build'], w.env()).code).toBe(0);
    // now orders gets a second row and a post_hook that fails after the table was rebuilt
    writeFileSync(join(dir, 'models/orders.sql'), `{{ config(materialized='table',\n  post_hook="insert into {{ this }} (id) values ('not a number')") }}\nselect 1 as id union all select 2`);
    const r = vigil(dir, ['build'], w.env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ERROR creating table .*orders/);
    expect(r.stdout).toContain('models/orders.sql:2 (post_hook of models/orders.sql)');
    expect(r.stdout).toMatch(/SKIP table .*later \(upstream orders failed\)/);
    expect(r.stdout).not.toMatch(/\n\s+at /);
    // rolled back with the hook: the table is the previous one
    expect(await rows(w, dir, schema, `select id from ${schema}.orders order by id`)).toEqual([{ id: 1 }]);
    // on_run_end ran even though a node failed
    expect((await rows<{ what: string }>(w, dir, schema, `select what from ${schema}.hook_log where model = 'run'`)).length).toBe(2);
  });

  it('transaction: false (a mapping, before_begin(), after_commit()): pre-hooks before the transaction begins, post-hooks after it commits, each in written order (was: refused)', async () => {
    const schema = uniqueSchema('hooks_outside');
    const log = (what: string) => `insert into ${schema}.hook_log select '{{ this.name }}', '${what}', 0`;
    const dir = project(w, schema, {
      'models/orders.sql': `{{ config(materialized='table',
  pre_hook=["${log('config pre, in')}", before_begin("${log('config pre, before begin')}")],
  post_hook=[after_commit("${log('config post, after commit')}"), "${log('config post, in')}"]) }}
select 1 as id union all select 2`,
      'models/orders.yml': `models:
  - name: orders
    config:
      pre_hook: {sql: "${log('properties pre, before begin')}", transaction: false}
      post_hook:
        - sql: "${w.outsideOnly}"
          transaction: false
        - sql: "insert into ${schema}.hook_log select '{{ this.name }}', 'properties post, after commit ' || (select count(*) from {{ this }}), 0"
          transaction: false
        - sql: "${log('properties post, in (transaction: true)')}"
          transaction: true
`,
    });
    const r = vigil(dir, ['build'], w.env());
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    const rows2 = await rows<{ what: string }>(w, dir, schema, `select what from ${schema}.hook_log where model = 'orders'`);
    // (a table without order: the inserts of one session come back in the order they ran)
    expect(rows2.map((x) => x.what)).toEqual([
      'properties pre, before begin',
      'config pre, before begin',
      'config pre, in',
      'defaults post_hook',
      'properties post, in (transaction: true)',
      'config post, in',
      'properties post, after commit 2',
      'config post, after commit',
    ]);
    // the manifest says which hooks run outside the transaction (absent: in it)
    const node = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).nodes['model.hooks.orders'];
    expect(node.pre_hooks.map((h: { origin: string; transaction?: boolean }) => [h.origin, h.transaction])).toEqual([['models/orders.yml:4', false], ['models/orders.sql:2', undefined], ['models/orders.sql:2', false]]);
    expect(node.post_hooks.map((h: { transaction?: boolean }) => h.transaction)).toEqual([undefined, false, false, undefined, false, undefined]);
    expect(node.post_hooks[1].sql).toBe(w.outsideOnly.replace('{{ this }}', `"${schema}"."orders"`));
  });

  it('a failed build: a before_begin pre-hook stays, the transaction\'s pre-hook is rolled back, no after_commit post-hook runs', async () => {
    const schema = uniqueSchema('hooks_outside_fail');
    const log = (what: string) => `insert into ${schema}.hook_log select '{{ this.name }}', '${what}', 0`;
    const dir = project(w, schema, {
      'models/orders.sql': `{{ config(materialized='table', pre_hook=[before_begin("${log('before begin')}"), "${log('in the transaction')}"], post_hook=after_commit("${log('after commit')}")) }}
select cast('not a number' as int) as id`,
    });
    const r = vigil(dir, ['build'], w.env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ERROR creating table .*orders/);
    const what = (await rows<{ model: string; what: string }>(w, dir, schema, `select model, what from ${schema}.hook_log`)).map((x) => `${x.model}: ${x.what}`);
    expect(what).toEqual(['orders: before begin', 'run: on_run_end']);
  });

  it('a failing after_commit post-hook fails the node and says the build stays (it committed)', async () => {
    const schema = uniqueSchema('hooks_outside_post');
    const dir = project(w, schema, {
      'models/orders.sql': `{{ config(materialized='table') }}\nselect 1 as id`,
      'models/later.sql': `select * from {{ ref('orders') }}`,
    });
    expect(vigil(dir, ['build'], w.env()).code).toBe(0);
    writeFileSync(join(dir, 'models/orders.sql'), `{{ config(materialized='table',\n  post_hook=after_commit("insert into {{ this }} (id) values ('not a number')")) }}\nselect 1 as id union all select 2`);
    const r = vigil(dir, ['build'], w.env());
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('models/orders.sql:2 (post_hook of models/orders.sql, run after the build committed: the build of orders stays)');
    expect(r.stdout).toMatch(/SKIP view .*later \(upstream orders failed\)/);
    expect(r.stdout).not.toMatch(/\n\s+at /);
    expect(await rows(w, dir, schema, `select id from ${schema}.orders order by id`)).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('a failing on_run_start hook: no node runs, on_run_end still does, exit 1', async () => {
    const schema = uniqueSchema('hooks_start');
    const dir = project(w, schema, { 'models/orders.sql': `select 1 as id` });
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace(`  - "create table if not exists`, `  - "select * from no_such_table_anywhere"\n  - "create table if not exists`));
    const r = vigil(dir, ['run'], w.env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/on_run_start 2 of 3 ERROR project\.yaml:12/);
    expect(r.stdout).toMatch(/no_such_table_anywhere/);
    expect(r.stdout).toMatch(/SKIP view .*orders \(an on_run_start hook failed\)/);
    expect(r.stdout).toMatch(/on_run_end 1 of 1 ERROR/); // its log table was never created
    expect(r.stdout).not.toMatch(/\n\s+at /);
  });

  it("on_run_start may write to the schemas the run's nodes build in: they are made first, as dbt does (was: 'Schema ... does not exist' on a fresh database, every node skipped)", async () => {
    const schema = uniqueSchema('hooks_schemas');
    const other = `${schema}_x`;
    const dir = project(w, schema, {
      'models/orders.sql': `select 1 as id`,
      'models/elsewhere.sql': `{{ config(schema='${other}') }}\nselect 2 as id`,
    });
    // no hook makes a schema (the converted dbt project's on-run-start has none)
    writeFileSync(
      join(dir, 'project.yaml'),
      readFileSync(join(dir, 'project.yaml'), 'utf8')
        .replace(`  - "create schema if not exists ${schema}"\n`, '')
        .replace(`on_run_end:`, `  - "create table if not exists ${other}.audit (m varchar(10))"\non_run_end:`),
    );
    const r = vigil(dir, ['build'], w.env());
    expect(r.stdout).toMatch(/on_run_start 1 of 2 OK/);
    expect(r.stdout).toMatch(/on_run_start 2 of 2 OK/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await rows<{ model: string }>(w, dir, schema, `select model from ${schema}.hook_log order by model`)).map((x) => x.model)).toEqual(['elsewhere', 'orders', 'run']);
    expect(await rows(w, dir, schema, `select count(*)::int as n from ${other}.audit`)).toEqual([{ n: 0 }]);
  });

  it("an incremental model's hooks see the is_incremental() its build runs with, as dbt renders them in the materialization; on_run_end's is false (was: always false, a 'full build only' pre-hook ran on every run)", async () => {
    const schema = uniqueSchema('hooks_incr');
    const dir = project(w, schema, {
      'models/hkd.sql': `{{ config(materialized='incremental', unique_key='id',
  pre_hook="{% if not is_incremental() %}delete from {{ this.schema }}.hkd_audit{% else %}select 1{% endif %}",
  post_hook=["insert into {{ this.schema }}.hkd_audit select {{ var('batch') }}", "insert into {{ this.schema }}.hook_log select 'hkd', '{{ is_incremental() }}', {{ var('batch') }}"]) }}
select {{ var('batch') }} as id`,
    });
    writeFileSync(
      join(dir, 'project.yaml'),
      readFileSync(join(dir, 'project.yaml'), 'utf8')
        .replace(/defaults:\n  post_hook: .*\n/, 'vars:\n  batch: 0\n')
        .replace(`(model varchar(100), what varchar(100), n int)"`, `(model varchar(100), what varchar(100), n int)"\n  - "create table if not exists ${schema}.hkd_audit (b int)"`)
        .replace(`on_run_end: "insert into ${schema}.hook_log select 'run', 'on_run_end', 0"`, `on_run_end: "insert into ${schema}.hook_log select 'run', '{{ is_incremental() }}', 0"`),
    );
    const build = (batch: number, ...flags: string[]) => {
      const r = vigil(dir, ['run', '-s', 'hkd', '--vars', `{batch: ${batch}}`, ...flags], w.env());
      expect(r.code, r.stdout + r.stderr).toBe(0);
    };
    for (const batch of [1, 2, 3]) build(batch);
    expect(await rows(w, dir, schema, `select id from ${schema}.hkd order by id`)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    // the full-build pre-hook ran once, on the first run
    expect(await rows(w, dir, schema, `select b from ${schema}.hkd_audit order by b`)).toEqual([{ b: 1 }, { b: 2 }, { b: 3 }]);
    // a full refresh is no incremental run: its hooks render with is_incremental() false
    build(4, '--full-refresh');
    expect(await rows(w, dir, schema, `select b from ${schema}.hkd_audit order by b`)).toEqual([{ b: 4 }]);
    const log = await rows<{ model: string; what: string; n: number }>(w, dir, schema, `select model, what, n from ${schema}.hook_log`);
    expect(log.map((x) => `${x.model} ${Number(x.n)}: ${x.what}`)).toEqual(['hkd 1: False', 'run 0: False', 'hkd 2: True', 'run 0: False', 'hkd 3: True', 'run 0: False', 'hkd 4: False', 'run 0: False']);
    // the manifest holds both texts of a hook whose is_incremental() renders other text
    const node = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).nodes['model.hooks.hkd'];
    expect(node.pre_hooks).toEqual([{ kind: 'pre_hook', sql: `delete from ${schema}.hkd_audit`, sql_incremental: 'select 1', origin: 'models/hkd.sql:2' }]);
    expect(node.post_hooks).toEqual([
      { kind: 'post_hook', sql: `insert into ${schema}.hkd_audit select 4`, origin: 'models/hkd.sql:3' },
      { kind: 'post_hook', sql: `insert into ${schema}.hook_log select 'hkd', 'False', 4`, sql_incremental: `insert into ${schema}.hook_log select 'hkd', 'True', 4`, origin: 'models/hkd.sql:3' },
    ]);
  });
});

describe('hooks that cannot work are compile errors at their line', () => {
  const cases: Array<{ name: string; files: Record<string, string>; message: RegExp; at: string }> = [
    {
      name: 'an undefined variable in a hook',
      files: { 'models/a.sql': `{{ config(materialized='table', post_hook="grant select on {{ this }} to {{ reporter_role }}") }}\nselect 1 as x` },
      message: /'reporter_role' is undefined/,
      at: 'models/a.sql:1',
    },
    {
      name: '`this` in on_run_start',
      files: { 'project.yaml': `name: h\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\non_run_start:\n  - "analyze {{ this }}"\n`, 'models/a.sql': 'select 1 as x' },
      message: /`this` is the model being built: it exists only in a model and its pre_hook\/post_hook/,
      at: 'project.yaml:6',
    },
    {
      name: 'hooks on an ephemeral model',
      files: { 'models/a.sql': `{{ config(materialized='ephemeral', post_hook="select 1") }}\nselect 1 as x` },
      message: /model 'a' is ephemeral \(inlined where it is used, never built\): its hooks would never run/,
      at: 'models/a.sql:1',
    },
    {
      name: 'a ref typo in a hook',
      files: { 'models/a.sql': `{{ config(materialized='table') }}\nselect 1 as x`, 'models/a.yml': `models:\n  - name: a\n    config:\n      post_hook: "insert into {{ ref('audit_lg') }} select 1"\n`, 'models/audit_log.sql': `{{ config(materialized='table') }}\nselect 1 as x` },
      message: /ref\('audit_lg'\) not found — did you mean 'audit_log'\?/,
      at: 'models/a.yml:4',
    },
    {
      name: "a mistyped key in a hook's mapping (properties YAML)",
      files: { 'models/a.sql': `{{ config(materialized='table') }}\nselect 1 as x`, 'models/a.yml': `models:\n  - name: a\n    config:\n      post_hook:\n        - "select 1"\n        - {sql: "vacuum {{ this }}", transation: false}\n` },
      message: /models\[0\]\.config\.post_hook\[1\]\.transation: unknown key 'transation' — did you mean 'transaction'\?/,
      at: 'models/a.yml:6',
    },
    {
      name: "a hook's mapping without sql (config())",
      files: { 'models/a.sql': `{{ config(materialized='table', post_hook={'transaction': False}) }}\nselect 1 as x` },
      message: /config post_hook\.sql: is required \(a string\)/,
      at: 'models/a.sql:1',
    },
    {
      name: "a hook's sql that is not text (project defaults)",
      files: { 'project.yaml': `name: h\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\ndefaults:\n  post_hook: {sql: 42}\n`, 'models/a.sql': 'select 1 as x' },
      message: /defaults\.post_hook\.sql: .*expected string, received number/,
      at: 'project.yaml:6',
    },
    {
      name: "a hook's transaction that is not true or false (folder config), at its own line",
      files: { 'project.yaml': `name: h\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\nmodels:\n  +pre_hook:\n    - sql: "select 1"\n      transaction: "no"\n`, 'models/a.sql': 'select 1 as x' },
      message: /models: \+pre_hook\[0\]\.transaction: .*expected boolean, received string/,
      at: 'project.yaml:8',
    },
    {
      name: 'after_commit() with two statements',
      files: { 'models/a.sql': `{{ config(materialized='table', post_hook=after_commit('select 1', 'select 2')) }}\nselect 1 as x` },
      message: /after_commit\(\) takes one statement/,
      at: 'models/a.sql:1',
    },
    {
      name: 'before_begin() with a mistyped keyword',
      files: { 'models/a.sql': `{{ config(materialized='table', pre_hook=before_begin(sq='select 1')) }}\nselect 1 as x` },
      message: /before_begin\(sql\) has no argument 'sq' — did you mean 'sql'\?/,
      at: 'models/a.sql:1',
    },
  ];
  it.each(cases)('$name', ({ files, message, at }) => {
    const dir = makeProject(files);
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(at);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('project and folder hooks pass ephemeral models by', () => {
  it('a project-wide post_hook runs for the built models and skips an ephemeral one, as in dbt (was: an error no config could undo)', () => {
    const dir = makeProject({
      'project.yaml': `name: h\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\non_run_start:\n  - "create schema if not exists analytics"\n  - "create table if not exists analytics.hook_log (model varchar)"\nmodels:\n  +post_hook: "insert into analytics.hook_log values ('{{ this.identifier }}')"\n`,
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as x",
      'models/t.sql': "{{ config(materialized='table') }}\nselect x from {{ ref('eph') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(vigil(dir, ['show', '--inline', 'select model from analytics.hook_log order by model', '--output', 'csv']).stdout).toBe('model\nt\n');
  });
});
