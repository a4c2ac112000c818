/**
 * Hooks, run for real on DuckDB and Postgres: pre_hook/post_hook from the project's defaults,
 * the model's properties and config() (all of them, in that order, rendered with `this` and
 * `model`), on_run_start before the first node and on_run_end after the last. A model's hooks
 * run in its transaction: a failing post_hook fails the node at the hook's file:line, leaves the
 * previous table as it was, and skips what reads the model.
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
}

const WAREHOUSES: Warehouse[] = [
  {
    name: 'DuckDB',
    target: (schema) => `type: duckdb\n    path: .vigil/dev.duckdb\n    schema: ${schema}`,
    env: () => ({}),
    open: (dir, schema) => DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema }, dir, 1),
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
