/**
 * Accepted means done: every key the model config schema accepts is walked, and each has a
 * test of its documented effect — in the manifest, in what a real (in-memory) DuckDB holds
 * after a run, or in the statements the BigQuery adapter builds. A key added to the schema
 * without an effect test here fails the first test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject } from '../../src/compile/compile-project.js';
import type { Manifest, ModelNode } from '../../src/compile/manifest.js';
import { selectNodes } from '../../src/compile/selector.js';
import { MODEL_CONFIG_KEYS } from '../../src/project/schema.js';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { BigQueryAdapter } from '../../src/adapters/bigquery/bigquery-adapter.js';
import { executeRun, materializeRequest } from '../../src/run/executor.js';
import { projectFiles } from '../helpers.js';
import { applyEntry, cutoffOf, ensureLog, logRelation, retentionTables } from '../../src/retention/retention.js';
import { planGrants } from '../../src/run/grants.js';

const open: DuckDbAdapter[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

function compile(models: Record<string, string>, extra: { yml?: Record<string, string>; projectYaml?: string } = {}): Manifest {
  const r = compileProject(projectFiles({ models, ...extra }), { env: {} });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.manifest;
}
const node = (m: Manifest, name: string) => m.nodes[`model.fixture.${name}`] as ModelNode;

/** A fresh in-memory DuckDB, and a way to run the compiled project on it. */
async function duck() {
  const db = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'analytics' }, '/nonexistent', 1);
  open.push(db);
  const run = async (m: Manifest, fullRefresh = false) => {
    const s = await executeRun(m, db, { command: 'run', threads: 1, fullRefresh, out: () => {} });
    return s.results;
  };
  return { db, run };
}

function bigQueryScript(config: string): string {
  const r = compileProject(projectFiles({ projectYaml: `name: fixture\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: p, dataset: analytics, location: US }\n`, models: { 'models/t.sql': `{{ config(${config}) }}\nselect 1 as id, date '2026-01-01' as d` } }), { env: {} });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return new BigQueryAdapter({} as never, r.target!.config as never).buildScript(materializeRequest(node(r.manifest, 't'), false));
}

const INCR = (config: string) => `{{ config(materialized='incremental', ${config}) }}
select * from (values (1, 'a'), (2, 'b')) as v(id, x)
{% if is_incremental() %}union all select 3, 'c'{% endif %}`;

const EFFECTS: Record<string, () => Promise<void> | void> = {
  async materialized() {
    const m = compile({ 'models/t.sql': "{{ config(materialized='table') }}\nselect 1 as x", 'models/e.sql': "{{ config(materialized='ephemeral') }}\nselect 2 as y", 'models/v.sql': "select * from {{ ref('e') }}" });
    const { db, run } = await duck();
    await run(m);
    expect(await db.relationExists({ schema: 'analytics', identifier: 't' })).toBe('table');
    expect(await db.relationExists({ schema: 'analytics', identifier: 'v' })).toBe('view');
    expect(node(m, 'e').relation).toBeNull();
    expect(node(m, 'v').compiled_sql).toContain('"__vigil_eph_e" as (');
  },
  schema() {
    expect(node(compile({ 'models/t.sql': "{{ config(schema='marts') }}\nselect 1 as x" }), 't').relation).toEqual({ schema: 'marts', identifier: 't' });
  },
  alias() {
    expect(node(compile({ 'models/t.sql': "{{ config(alias='t_v2') }}\nselect 1 as x" }), 't').relation).toEqual({ schema: 'analytics', identifier: 't_v2' });
  },
  tags() {
    const m = compile({ 'models/t.sql': "{{ config(tags=['nightly']) }}\nselect 1 as x", 'models/u.sql': 'select 1 as x' });
    expect([...selectNodes(m, ['tag:nightly'], undefined).ids]).toEqual(['model.fixture.t']);
  },
  enabled() {
    const m = compile({ 'models/t.sql': '{{ config(enabled=false) }}\nselect 1 as x', 'models/u.sql': 'select 1 as x' });
    expect(m.nodes['model.fixture.t']).toBeUndefined();
    expect(m.nodes['model.fixture.u']).toBeDefined();
  },
  async unique_key() {
    // the incremental rows replace the rows with the same key
    const { db, run } = await duck();
    await run(compile({ 'models/t.sql': `{{ config(materialized='incremental', unique_key='id') }}\nselect * from (values (1, {% if is_incremental() %}'new'{% else %}'old'{% endif %})) as v(id, x)` }));
    await run(compile({ 'models/t.sql': `{{ config(materialized='incremental', unique_key='id') }}\nselect * from (values (1, {% if is_incremental() %}'new'{% else %}'old'{% endif %})) as v(id, x)` }));
    expect(await db.query('select id, x from analytics.t')).toEqual([{ id: 1, x: 'new' }]);
    // none (dbt's None, var('uk', none)) is no key, over a folder's: the incremental rows are added beside the stored ones
    const { db: db2, run: run2 } = await duck();
    const none = compile({ 'models/t.sql': `{{ config(materialized='incremental', unique_key=var('uk', none)) }}\nselect * from (values (1, {% if is_incremental() %}'new'{% else %}'old'{% endif %})) as v(id, x)` }, { projectYaml: 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\nmodels:\n  +unique_key: id\n' });
    await run2(none);
    await run2(none);
    expect(await db2.query('select id, x from analytics.t order by x desc')).toEqual([{ id: 1, x: 'old' }, { id: 1, x: 'new' }]);
  },
  async incremental_strategy() {
    // append: the incremental rows are added as they are, even with a unique_key
    const { db, run } = await duck();
    const m = compile({ 'models/t.sql': INCR("unique_key='id', incremental_strategy='append'") });
    await run(m);
    await run(m);
    expect(Number((await db.query<{ n: bigint }>('select count(*) as n from analytics.t'))[0].n)).toBe(2 + 3);
  },
  async on_schema_change() {
    const { run } = await duck();
    await run(compile({ 'models/t.sql': "{{ config(materialized='incremental', on_schema_change='fail') }}\nselect 1 as id" }));
    const r = await run(compile({ 'models/t.sql': "{{ config(materialized='incremental', on_schema_change='fail') }}\nselect 1 as id, 2 as extra" }));
    expect(r[0].status).toBe('error');
    expect(r[0].message).toMatch(/the model's columns differ from .* \(on_schema_change: fail\): new columns extra;/);
  },
  async full_refresh() {
    // full_refresh=false: --full-refresh runs the model incrementally all the same
    const { db, run } = await duck();
    const m = compile({ 'models/t.sql': INCR('full_refresh=false') });
    await run(m);
    await run(m, true);
    expect(Number((await db.query<{ n: bigint }>('select count(*) as n from analytics.t'))[0].n)).toBe(5);
    // full_refresh=true: rebuilt from scratch on every run, without the flag (dbt; it was accepted and did nothing)
    const always = compile({ 'models/t.sql': INCR('full_refresh=true') });
    await run(always);
    await run(always);
    expect(Number((await db.query<{ n: bigint }>('select count(*) as n from analytics.t'))[0].n)).toBe(2);
  },
  async pre_hook() {
    const { db, run } = await duck();
    await run(compile({ 'models/t.sql': `{{ config(materialized='table', pre_hook="create table analytics.made_by_hook as select 42 as answer") }}\nselect 1 as x` }));
    expect(await db.query('select answer from analytics.made_by_hook')).toEqual([{ answer: 42 }]);
  },
  async post_hook() {
    const { db, run } = await duck();
    await run(compile({ 'models/t.sql': `{{ config(materialized='table', post_hook="create table analytics.copy as select * from {{ this }}") }}\nselect 7 as x` }));
    expect(await db.query('select x from analytics.copy')).toEqual([{ x: 7 }]);
  },
  meta() {
    // for what reads the manifest (catalogs, exporters): kept as written
    const m = compile({ 'models/t.sql': "{{ config(meta={'owner': 'data-platform', 'pii': false}) }}\nselect 1 as x" });
    expect(node(m, 't').config.meta).toEqual({ owner: 'data-platform', pii: false });
  },
  async retention() {
    // vigil retention plan/apply delete the model's rows older than keep (test/retention/ runs the CLI)
    const { db, run } = await duck();
    const m = compile({ 'models/t.sql': `{{ config(materialized='incremental', retention={'column': 'ts', 'keep': '1y'}) }}\nselect * from (values (1, timestamp '2024-12-01 23:00:00'), (2, timestamp '2024-12-02 00:00:00')) as v(id, ts)` });
    await run(m);
    const [t] = retentionTables(m, new Set(['model.fixture.t']));
    expect(t).toMatchObject({ kind: 'model', column: 'ts', keep: '1y', relation: { schema: 'analytics', identifier: 't' } });
    const asOf = new Date('2025-12-02T00:00:00Z');
    const { cutoff } = cutoffOf(asOf, t.keep, '30d');
    const e = { ...t, table: t.name, target: 'dev', override_days: null, minimum: '30d', as_of: asOf.toISOString(), cutoff: cutoff.toISOString(), override_floor: null, below_minimum: false, rows: 1, oldest: null, newest: null };
    await ensureLog(db, logRelation('analytics'));
    await applyEntry(db, e, 1, { runId: 'r', actor: 'test', log: logRelation('analytics'), out: () => {} });
    expect(await db.query('select id from analytics.t')).toEqual([{ id: 2 }]);
  },
  description() {
    const m = compile({ 'models/t.sql': "{{ config(description='Daily rollup') }}\nselect 1 as x" });
    expect(node(m, 't').description).toBe('Daily rollup');
    expect(bigQueryScript("materialized='table', description='Daily rollup'")).toContain("description='Daily rollup'");
  },
  async partition_by() {
    // insert_overwrite replaces the partitions the new rows touch (DuckDB), PARTITION BY on BigQuery
    const { db, run } = await duck();
    const m = compile({
      'models/t.sql': `{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by='d') }}
select * from (values (date '2026-01-01', {% if is_incremental() %}10{% else %}1{% endif %}), (date '2026-01-02', 2)) as v(d, n)
{% if is_incremental() %}where d = date '2026-01-01'{% endif %}`,
    });
    await run(m);
    await run(m);
    expect(await db.query("select strftime(d, '%Y-%m-%d') as d, n from analytics.t order by d")).toEqual([
      { d: '2026-01-01', n: 10 },
      { d: '2026-01-02', n: 2 },
    ]);
    expect(bigQueryScript("materialized='table', partition_by={'field': 'd', 'data_type': 'date'}")).toMatch(/^PARTITION BY `d`$/m);
  },
  cluster_by() {
    expect(bigQueryScript("materialized='table', cluster_by=['id']")).toMatch(/^CLUSTER BY `id`$/m);
  },
  labels() {
    expect(bigQueryScript("materialized='table', labels={'team': 'data'}")).toContain("OPTIONS(labels=[('team', 'data'), ('tool', 'vigil')])");
  },
  partition_expiration_days() {
    expect(bigQueryScript("materialized='table', partition_by={'field': 'd', 'data_type': 'date'}, partition_expiration_days=30")).toMatch(/partition_expiration_days\s*=\s*30/i);
  },
  require_partition_filter() {
    expect(bigQueryScript("materialized='table', partition_by={'field': 'd', 'data_type': 'date'}, require_partition_filter=true")).toMatch(/require_partition_filter\s*=\s*true/i);
  },
  // grants on a real Postgres: test/run/governance-postgres.test.ts; here what DuckDB (no access control) does with them
  async grants() {
    const m = compile({ 'models/t.sql': "{{ config(grants={'select': ['compliance']}) }}\nselect 1 as x", 'models/u.sql': "{{ config(grants={'select': ['sre']}) }}\nselect 1 as x" });
    expect(node(m, 't').config.grants).toEqual({ select: ['compliance'] });
    const { db } = await duck();
    const lines: string[] = [];
    const s = await executeRun(m, db, { command: 'run', threads: 1, fullRefresh: false, out: (l) => lines.push(l) });
    expect(s.ok).toBe(true);
    // said once per run, naming the models; nothing granted
    expect(lines.filter((l) => /no access control/.test(l))).toEqual(['warning: duckdb has no access control: the grants of 2 models (t, u) are not applied, and a restricted companion is readable by whoever can open the database']);
    // dbt's +select adds to what the outer levels grant (was: refused, its did-you-mean 'select' replacing them: the folder's readers revoked);
    // select replaces them, at any level
    const levels = compile(
      {
        'models/marts/plus.sql': "{{ config(grants={'+select': ['finance']}) }}\nselect 1 as x",
        'models/marts/yaml_plus.sql': 'select 1 as x',
        'models/marts/own.sql': "{{ config(grants={'select': ['sre']}) }}\nselect 1 as x",
        'models/marts/inherits.sql': 'select 1 as x',
      },
      {
        projectYaml: 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: ":memory:", schema: analytics }\ndefaults:\n  grants: { select: [everyone] }\nmodels:\n  marts:\n    +grants: { +select: [bi] }\n',
        yml: { 'models/marts/marts.yml': 'models:\n  - name: plus\n    config:\n      grants: { +select: [audit] }\n  - name: yaml_plus\n    config:\n      grants: { +select: [audit] }\n' },
      },
    );
    expect(node(levels, 'plus').config.grants).toEqual({ select: ['everyone', 'bi', 'audit', 'finance'] });
    expect(node(levels, 'yaml_plus').config.grants).toEqual({ select: ['everyone', 'bi', 'audit'] });
    expect(node(levels, 'own').config.grants).toEqual({ select: ['sre'] });
    expect(node(levels, 'inherits').config.grants).toEqual({ select: ['everyone', 'bi'] });
    const both = compileProject(projectFiles({ models: { 'models/t.sql': "{{ config(grants={'select': ['a'], '+select': ['b']}) }}\nselect 1 as x" } }), { env: {} });
    expect(both.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual(["config grants: takes select (the principals: replaces what an outer level grants) or +select (added to what the outer levels grant, as dbt's +), one of them"]);
  },
  grants_mode() {
    expect(node(compile({ 'models/t.sql': "{{ config(grants={'select': ['a']}, grants_mode='add') }}\nselect 1 as x" }), 't').config.grants_mode).toBe('add');
    expect(planGrants(['a', 'b'], ['a', 'c'], 'add')).toEqual({ grant: ['c'], revoke: [] });
    expect(planGrants(['a', 'b'], ['a', 'c'])).toEqual({ grant: ['c'], revoke: ['b'] });
  },
  async restricted() {
    const m = compile(
      { 'models/t.sql': "{{ config(materialized='table', restricted={'grants': {'select': ['auditor']} }) }}\nselect 1 as id, 'a@x.com' as email" },
      { yml: { 'models/t.yml': 'models:\n  - name: t\n    columns:\n      - name: id\n      - name: email\n        meta: { pii: true }\n' } },
    );
    expect(node(m, 't').restricted).toMatchObject({ relation: { schema: 'analytics', identifier: 't__restricted' }, grants: ['auditor'] });
    const { db, run } = await duck();
    await run(m);
    expect(await db.query('select id, email from analytics.t')).toEqual([{ id: 1, email: '****' }]);
    expect(await db.query('select id, email from analytics.t__restricted')).toEqual([{ id: 1, email: 'a@x.com' }]);
    expect(await db.relationExists({ schema: 'analytics', identifier: 't__restricted' })).toBe('view');
  },
};

describe('every accepted model config key does what its documentation says', () => {
  it('the effects below cover exactly the keys the schema accepts', () => {
    expect(Object.keys(EFFECTS).sort()).toEqual([...MODEL_CONFIG_KEYS].sort());
  });
  it.each(Object.keys(EFFECTS))('%s', async (key) => {
    await EFFECTS[key]();
  });
  it('a key the schema does not accept is an error with a did-you-mean, in config() and in YAML', () => {
    const r = compileProject(projectFiles({ models: { 'models/t.sql': "{{ config(materialised='table') }}\nselect 1 as x" } }), { env: {} });
    expect(r.diagnostics).toMatchObject([{ code: 'E_CONFIG', file: 'models/t.sql', line: 1, message: "unknown config key 'materialised'", hint: "did you mean 'materialized'?" }]);
    const y = compileProject(projectFiles({ models: { 'models/t.sql': 'select 1 as x' }, yml: { 'models/t.yml': 'models:\n  - name: t\n    config:\n      retention: 7d\n' } }), { env: {} });
    expect(y.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([{ file: 'models/t.yml', line: 4 }]);
  });
});
