/**
 * Unit tests of the pure compile core: template functions, configs, refs, sources,
 * ephemeral CTEs, is_incremental, macros, the render cache and diagnostics.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DBT_DEFAULT_SCHEMA_MACRO } from '../../src/compile/template-env.js';
import { compileProject, type RenderCache } from '../../src/compile/compile-project.js';
import type { ModelNode, TestNode } from '../../src/compile/manifest.js';
import { loadProject } from '../../src/project/load-project.js';
import { BASIC_PROJECT_YAML, makeProject, projectFiles, removeDir, vigil } from '../helpers.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { partitionField } from '../../src/adapters/adapter.js';
import { piiChecks } from '../../src/compile/masking.js';

const SOURCES = `sources:
  - name: raw
    schema: raw
    tables:
      - name: events
        columns:
          - name: id
            tests: [unique]
`;

function compile(opts: Parameters<typeof projectFiles>[0], env: Record<string, string> = {}, cache?: RenderCache) {
  return compileProject(projectFiles(opts), { env, cache });
}
const model = (r: ReturnType<typeof compile>, name: string) => r.manifest.nodes[`model.fixture.${name}`] as ModelNode;
const errors = (r: ReturnType<typeof compile>) => r.diagnostics.filter((d) => d.severity === 'error');
/** A data test by its name (a generic test's unique_id ends with its hash: test.<project>.<name>.<hash>). */
const testNamed = (m: { nodes: Record<string, unknown> }, name: string) => Object.values(m.nodes).find((n) => (n as TestNode).resource_type === 'test' && (n as TestNode).name === name) as TestNode;
/** A generic test's unique_id without its hash. */
const withoutHash = (id: string) => id.replace(/^(test\.[^.]+\.[^.]+)\.[0-9a-f]{10}$/, '$1');
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

describe('compileProject', () => {
  it('resolves ref() and source() to relations and records dependencies', () => {
    const r = compile({
      yml: { 'models/sources.yml': SOURCES },
      models: {
        'models/stg.sql': "select * from {{ source('raw', 'events') }}",
        'models/mart.sql': "{{ config(materialized='table', schema='marts') }}\nselect * from {{ ref('stg') }}",
      },
    });
    expect(errors(r)).toEqual([]);
    expect(model(r, 'stg').compiled_sql).toBe('select * from "raw"."events"');
    expect(model(r, 'mart').compiled_sql).toBe('\nselect * from "analytics"."stg"'); // config() line kept blank: compiled lines match the source
    expect(model(r, 'mart').relation).toEqual({ schema: 'marts', identifier: 'mart' });
    expect(model(r, 'mart').depends_on).toEqual(['model.fixture.stg']);
    expect(model(r, 'stg').depends_on).toEqual(['source.fixture.raw.events']);
    expect(r.order.indexOf('model.fixture.stg')).toBeLessThan(r.order.indexOf('model.fixture.mart'));
  });

  it('a ref to a model whose alias is set resolves to the alias', () => {
    const r = compile({ models: { 'models/a.sql': "{{ config(alias='a_v2') }}select 1 as x", 'models/b.sql': "select * from {{ ref('a') }}" } });
    expect(model(r, 'b').compiled_sql).toBe('select * from "analytics"."a_v2"');
  });

  it('reports an unknown ref with file, line, column and a did-you-mean', () => {
    const r = compile({ models: { 'models/ai_audit_daily.sql': 'select 1', 'models/x.sql': "select 1\nfrom\n    {{ ref('ai_audit_dayly') }}" } });
    expect(errors(r)).toMatchObject([{ code: 'E_REF', file: 'models/x.sql', line: 3, column: 8, message: "ref('ai_audit_dayly') not found — did you mean 'ai_audit_daily'?" }]);
    // the two-argument form too (was: at 1:1)
    const two = compile({ models: { 'models/ai_audit_daily.sql': 'select 1', 'models/x.sql': "select 1\nfrom\n    {{ ref('fixture', 'ai_audit_dayly') }}" } });
    expect(errors(two)).toMatchObject([{ code: 'E_REF', file: 'models/x.sql', line: 3, column: 8 }]);
  });

  it('reports every problem at once', () => {
    const r = compile({
      models: {
        'models/a.sql': "select * from {{ ref('nope1') }}",
        'models/b.sql': "{{ config(materialzed='table') }} select * from {{ ref('nope2') }}",
        'models/c.sql': "select '{{ env_var('VIGIL_TEST_MISSING') }}'",
      },
    });
    expect(errors(r).map((d) => d.code).sort()).toEqual(['E_CONFIG', 'E_ENV_VAR', 'E_REF', 'E_REF']);
  });

  it('reports cycles as a -> b -> a', () => {
    const r = compile({ models: { 'models/a.sql': "select * from {{ ref('b') }}", 'models/b.sql': "select * from {{ ref('a') }}" } });
    const cyc = errors(r).find((d) => d.code === 'E_CYCLE');
    expect(cyc?.message).toMatch(/^dependency cycle: (a -> b -> a|b -> a -> b)$/);
  });

  it('reports duplicate model names with both paths', () => {
    const r = compile({ models: { 'models/one/x.sql': 'select 1', 'models/two/x.sql': 'select 2' } });
    expect(errors(r)[0]).toMatchObject({ code: 'E_DUPLICATE', file: 'models/two/x.sql' });
    expect(errors(r)[0].message).toContain('models/one/x.sql');
  });

  it('properties for a model that does not exist are an error with a did-you-mean (their tests would be dropped)', () => {
    const r = compile({ models: { 'models/orders.sql': 'select 1 as id' }, yml: { 'models/props.yml': 'models:\n  - name: order\n    columns:\n      - name: id\n        tests: [not_null]\n' } });
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatchObject({ code: 'E_PROPS', file: 'models/props.yml', line: 2 });
    expect(errors(r)[0].message).toBe("properties for model 'order' but there is no models/**/order.sql — did you mean 'orders'?");
  });

  it("arguments ref(), source() and config() do not take are errors, not ignored (dbt's versioned refs among them)", () => {
    for (const [sql, message] of [
      ["select * from {{ ref('b', version=2) }}", /ref\(\) takes no version=: Vigil has no model versions; write ref\('model'\)/],
      ["select * from {{ ref('b', v=2) }}", /ref\(\) takes no v=/],
      // two arguments are dbt's (package, model): a version by position is no model name (was: ref('b'))
      ["select * from {{ ref('b', 2) }}", /^ref\('b', 2\): with two arguments ref\(\) takes the project's name and a model name, both strings \(as dbt reads them: package, model\); Vigil has no model versions \(docs\/models\.md\); write ref\('b'\)$/],
      ["select * from {{ ref('b', none) }}", /^ref\('b', None\): with two arguments ref\(\) takes the project's name and a model name, both strings \(as dbt reads them: package, model\); write ref\('b'\)$/],
      ["select * from {{ source('raw', 'events', 'x') }}", /source\(\) takes two strings/],
      ["{{ config('table') }}select 1 as id", /config\(\) takes keyword arguments, e\.g\. config\(materialized='table'\); got "table"/],
    ] as const) {
      const r = compile({ yml: { 'models/sources.yml': SOURCES }, models: { 'models/b.sql': 'select 1 as id', 'models/a.sql': sql } });
      expect(errors(r).map((e) => e.message).join('\n'), sql).toMatch(message);
    }
    // at the call's file:line:col
    expect(errors(compile({ models: { 'models/b.sql': 'select 1 as id', 'models/a.sql': "select 1 as x\nunion all select * from {{ ref('b', 2) }}" } }))[0]).toMatchObject({ code: 'E_TEMPLATE', file: 'models/a.sql', line: 2 });
    // dbt's dict form of config() still works
    const ok = compile({ models: { 'models/a.sql': "{{ config({'materialized': 'table'}) }}select 1 as id" } });
    expect(errors(ok)).toEqual([]);
    expect(model(ok, 'a').config.materialized).toBe('table');
  });

  it('on_schema_change compiles without a warning on every warehouse (BigQuery applies it too: test/adapters/bigquery-adapter.test.ts)', () => {
    const files = projectFiles({
      projectYaml: 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: p, dataset: analytics }\n',
      models: { 'models/a.sql': "{{ config(materialized='incremental',\n  on_schema_change='append_new_columns') }}select 1 as id" },
    });
    const r = compileProject(files, { env: {} });
    expect(r.diagnostics).toEqual([]);
    expect(model(r, 'a').config.on_schema_change).toBe('append_new_columns');
    expect(compile({ models: { 'models/a.sql': "{{ config(materialized='incremental', on_schema_change='fail') }}select 1 as id" } }).diagnostics).toEqual([]);
  });

  describe("dbt's generate_schema_name and generate_alias_name, when the project defines them", () => {
    // dbt's default (Vigil's built-in default__generate_schema_name), as a project's own generate_schema_name
    const DBT_DEFAULT = DBT_DEFAULT_SCHEMA_MACRO.replace('macro default__generate_schema_name', 'macro generate_schema_name');
    const withFiles = (macros: Record<string, string>, models: Record<string, string>) => ({
      ...projectFiles({ macros, models }),
      seeds: [{ path: 'seeds/countries.csv', text: 'code\nde\n' }],
      snapshots: [{ path: 'snapshots/snap.sql', text: "{% snapshot snap_a %}\n{{ config(schema='history', unique_key='id', strategy='check', check_cols=['id']) }}\nselect * from {{ ref('a') }}\n{% endsnapshot %}\n{% snapshot snap_legacy %}\n{{ config(target_schema='snapshots', unique_key='id', strategy='check', check_cols=['id']) }}\nselect * from {{ ref('a') }}\n{% endsnapshot %}\n" }],
    });
    const rel = (r: ReturnType<typeof compile>, uid: string) => (r.manifest.nodes[uid] as { relation: { schema: string; identifier: string } }).relation;

    it("dbt's default: a custom schema is appended to the target's; no custom schema is the target's; {{ this }} follows; a legacy target_schema stays as written", () => {
      const r = compileProject(withFiles({ 'macros/generate_schema_name.sql': DBT_DEFAULT }, { 'models/a.sql': 'select 1 as id', 'models/staging/b.sql': "{{ config(schema='staging') }}select '{{ this }}' as me" }), { env: {} });
      expect(errors(r)).toEqual([]);
      expect(rel(r, 'model.fixture.a').schema).toBe('analytics');
      expect(rel(r, 'model.fixture.b').schema).toBe('analytics_staging');
      expect((r.manifest.nodes['model.fixture.b'] as ModelNode).compiled_sql).toContain('"analytics_staging"."b"');
      expect(rel(r, 'snapshot.fixture.snap_a').schema).toBe('analytics_history');
      expect(rel(r, 'snapshot.fixture.snap_legacy').schema).toBe('snapshots');
      expect(rel(r, 'seed.fixture.countries').schema).toBe('analytics');
      // without the macro: Vigil's own default, the schema as written
      const plain = compileProject(withFiles({}, { 'models/a.sql': 'select 1 as id', 'models/staging/b.sql': "{{ config(schema='staging') }}select 1 as id" }), { env: {} });
      expect(rel(plain, 'model.fixture.b').schema).toBe('staging');
    });

    it('the macros see the node (resource_type, fqn, config, tags); generate_alias_name names the table', () => {
      const macros = {
        'macros/naming.sql': `{% macro generate_schema_name(custom_schema_name, node) -%}
{%- if node.resource_type == 'seed' -%}seed_data{%- elif 'finance' in node.tags -%}{{ node.fqn[1] }}_{{ node.config.materialized }}{%- else -%}{{ custom_schema_name or target.schema }}{%- endif -%}
{%- endmacro %}
{% macro generate_alias_name(custom_alias_name, node) -%}
{%- if custom_alias_name -%}{{ custom_alias_name }}{%- else -%}{{ node.resource_type[0] }}_{{ node.name }}{%- endif -%}
{%- endmacro %}
`,
      };
      const r = compileProject(withFiles(macros, { 'models/a.sql': "{{ config(alias='alpha') }}select 1 as id", 'models/fin/b.sql': "{{ config(materialized='table', tags=['finance']) }}select 1 as id" }), { env: {} });
      expect(errors(r)).toEqual([]);
      expect(rel(r, 'model.fixture.a')).toMatchObject({ schema: 'analytics', identifier: 'alpha' });
      expect(rel(r, 'model.fixture.b')).toMatchObject({ schema: 'fin_table', identifier: 'm_b' });
      expect(rel(r, 'seed.fixture.countries')).toMatchObject({ schema: 'seed_data', identifier: 's_countries' });
      expect(rel(r, 'snapshot.fixture.snap_a')).toMatchObject({ schema: 'history', identifier: 's_snap_a' });
    });

    it("dbt's own naming macros are there to call (default__generate_schema_name, generate_schema_name_for_env, default__generate_alias_name), as is exceptions.raise_compiler_error", () => {
      const env = `{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if node.resource_type == 'seed' -%}{{ default__generate_schema_name(custom_schema_name, node) }}
    {%- else -%}{{ generate_schema_name_for_env(custom_schema_name, node) }}{%- endif -%}
{%- endmacro %}
{% macro generate_alias_name(custom_alias_name, node) -%}
    {%- if node.name == 'forbidden' -%}{{ exceptions.raise_compiler_error('no model may be called ' ~ node.name) }}{%- endif -%}
    {{ default__generate_alias_name(custom_alias_name, node) }}
{%- endmacro %}
`;
      const files = (prod: boolean) => ({
        ...withFiles({ 'macros/naming.sql': env }, { 'models/a.sql': "{{ config(schema='marts', alias='alpha') }}select 1 as id" }),
        ...(prod ? { project: { ...projectFiles({}).project, default_target: 'prod', targets: { prod: { type: 'duckdb', path: '.vigil/p.duckdb', schema: 'analytics' } } } as never } : {}),
      });
      const dev = compileProject(files(false), { env: {} });
      expect(errors(dev)).toEqual([]);
      expect(rel(dev, 'model.fixture.a')).toMatchObject({ schema: 'analytics', identifier: 'alpha' });
      expect(rel(dev, 'seed.fixture.countries')).toMatchObject({ schema: 'analytics' });
      const prod = compileProject(files(true), { env: {} });
      expect(errors(prod)).toEqual([]);
      expect(rel(prod, 'model.fixture.a')).toMatchObject({ schema: 'marts', identifier: 'alpha' });
      const stopped = compileProject({ ...files(false), models: [{ path: 'models/forbidden.sql', text: 'select 1 as id' }] }, { env: {} });
      expect(errors(stopped)[0]).toMatchObject({ code: 'E_TEMPLATE', file: 'macros/naming.sql', line: 6 });
      expect(errors(stopped)[0].message).toContain('no model may be called forbidden (exceptions.raise_compiler_error)');
    });

    it("a project's own default__generate_schema_name replaces dbt's built-in, also where vigil init --from-dbt's generate_schema_name calls it", async () => {
      const { DBT_DEFAULT_SCHEMA_NAME } = await import('../../src/project/from-dbt.js');
      const plain = compileProject(withFiles({ 'macros/generate_schema_name.sql': DBT_DEFAULT_SCHEMA_NAME }, { 'models/a.sql': "{{ config(schema='marts') }}select 1 as id" }), { env: {} });
      expect(errors(plain)).toEqual([]);
      expect(rel(plain, 'model.fixture.a').schema).toBe('analytics_marts');
      const own = compileProject(
        withFiles({ 'macros/generate_schema_name.sql': DBT_DEFAULT_SCHEMA_NAME, 'macros/own.sql': '{% macro default__generate_schema_name(custom_schema_name, node) -%}\nmine_{{ custom_schema_name or target.schema }}\n{%- endmacro %}\n' }, { 'models/a.sql': "{{ config(schema='marts') }}select 1 as id" }),
        { env: {} },
      );
      expect(errors(own)).toEqual([]);
      expect(rel(own, 'model.fixture.a').schema).toBe('mine_marts');
    });

    it("node.path and node.fqn are within the resource's folder, also where paths: nests it; a seed's and a snapshot's config.materialized is seed, snapshot", () => {
      const naming = "{% macro generate_schema_name(custom_schema_name, node) -%}\n{{ node.fqn | join('__') }}__{{ node.config.materialized }}\n{%- endmacro %}\n";
      const f = withFiles({ 'macros/n.sql': naming }, {});
      const nested = { ...f, paths: { ...f.paths, models: 'transform/models' }, models: [{ path: 'transform/models/marts/core/a.sql', text: 'select 1 as id' }] };
      const r = compileProject(nested, { env: {} });
      expect(errors(r)).toEqual([]);
      expect(rel(r, 'model.fixture.a').schema).toBe('fixture__marts__core__a__view');
      expect(rel(r, 'seed.fixture.countries').schema).toBe('fixture__countries__seed');
      // (a {% snapshot %} block's fqn has its file's name, as dbt's: snapshots/snap.sql holds snap_a)
      expect(rel(r, 'snapshot.fixture.snap_a').schema).toBe('fixture__snap__snap_a__snapshot');
    });

    it('generate_database_name is not called: a warning at its definition says so', () => {
      const r = compileProject(withFiles({ 'macros/db.sql': '\n{% macro generate_database_name(custom_database_name, node) -%}\n{{ target.database }}\n{%- endmacro %}\n' }, { 'models/a.sql': 'select 1 as id' }), { env: {} });
      expect(r.diagnostics).toEqual([expect.objectContaining({ severity: 'warn', code: 'W_MACRO', file: 'macros/db.sql', line: 2, message: expect.stringMatching(/^macro 'generate_database_name' is not called by Vigil/) })]);
    });

    it("an error in the macro is reported in the macro's file at its line; an answer that is not one name is an error naming the node", () => {
      const broken = compileProject(withFiles({ 'macros/generate_schema_name.sql': '{% macro generate_schema_name(custom_schema_name, node) -%}\n{{ target.schem }}\n{%- endmacro %}\n' }, { 'models/a.sql': 'select 1 as id' }), { env: {} });
      expect(errors(broken)[0]).toMatchObject({ code: 'E_TEMPLATE', file: 'macros/generate_schema_name.sql', line: 2 });
      expect(errors(broken)[0].message).toMatch(/^generate_schema_name for (model|seed|snapshot) '\w+': 'target\.schem' is undefined/);
      const wordy = compileProject(withFiles({ 'macros/generate_schema_name.sql': '{% macro generate_schema_name(custom_schema_name, node) %}\n  schema is {{ target.schema }}\n{% endmacro %}\n' }, { 'models/a.sql': "\n{{ config(schema='x') }}select 1 as id" }), { env: {} });
      // the same wrong answer for every node: said once, at the first node it named
      expect(errors(wordy)).toEqual([expect.objectContaining({ code: 'E_CONFIG', message: expect.stringMatching(/^generate_schema_name \(macros\/generate_schema_name\.sql\) gave 'schema is analytics' for (seed|model|snapshot) '\w+': a schema name is one word of letters, digits, _ and -$/) })]);
      const wordyModel = compileProject({ ...withFiles({ 'macros/generate_schema_name.sql': '{% macro generate_schema_name(custom_schema_name, node) %}\n  {{ node.name }} in {{ target.schema }}\n{% endmacro %}\n' }, { 'models/a.sql': "\n{{ config(schema='x') }}select 1 as id" }), seeds: [], snapshots: [] }, { env: {} });
      expect(errors(wordyModel)).toEqual([expect.objectContaining({ code: 'E_CONFIG', file: 'models/a.sql', line: 2, message: "generate_schema_name (macros/generate_schema_name.sql) gave 'a in analytics' for model 'a': a schema name is one word of letters, digits, _ and -" })]);
      // a macro that fails fails the same way for every node: said once
      expect(errors(broken)).toHaveLength(1);
    });
  });

  it("insert_overwrite without a partition column is an error at compile, not at the second run", () => {
    const r = compile({ models: { 'models/a.sql': "{{ config(materialized='incremental',\n  incremental_strategy='insert_overwrite') }}select current_date as day" } });
    expect(errors(r)).toEqual([expect.objectContaining({ code: 'E_CONFIG', file: 'models/a.sql', line: 2, message: "model 'a': incremental_strategy 'insert_overwrite' replaces the partitions the new rows touch, so it needs partition_by" })]);
    const odd = compile({ models: { 'models/a.sql': "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by='1 + 2') }}select current_date as day" } });
    expect(errors(odd).map((d) => d.message)).toEqual([expect.stringMatching(/needs partition_by naming a column$/)]);
    // set in properties YAML or project.yaml: the error is at that line
    const inYaml = compile({ models: { 'models/a.sql': "{{ config(materialized='incremental') }}select current_date as day" }, yml: { 'models/props.yml': 'models:\n  - name: a\n    config:\n      incremental_strategy: insert_overwrite\n' } });
    expect(errors(inYaml)).toEqual([expect.objectContaining({ code: 'E_CONFIG', file: 'models/props.yml', line: 4 })]);
    const inProject = compileProject(projectFiles({ projectYaml: `${BASIC_PROJECT_YAML}models:\n  fixture:\n    +materialized: incremental\n    +incremental_strategy: insert_overwrite\n`, models: { 'models/a.sql': 'select current_date as day' } }), { env: {} });
    expect(errors(inProject)).toEqual([expect.objectContaining({ code: 'E_CONFIG', file: 'project.yaml', line: 11 })]);
    for (const pb of ["'day'", "'date(ts)'", "{'field': 'day', 'data_type': 'date'}"]) {
      expect(errors(compile({ models: { 'models/a.sql': `{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=${pb}) }}select current_date as day, now() as ts` } })), pb).toEqual([]);
    }
  });

  it("project.yaml vars fill in env_var() as dbt's dbt_project.yml does (a secret as its placeholder); other templates there are errors", () => {
    const files = (vars: string) =>
      projectFiles({ projectYaml: `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb }\nvars:\n${vars}`, models: { 'models/a.sql': "{{ config(materialized='table') }}select '{{ var('region') }}' as r, '{{ var('tok', '') }}' as t" } });
    const ok = compileProject(files("  region: \"{{ env_var('VIGIL_T_REGION', 'eu') }}\"\n  tok: \"{{ env_var('VIGIL_SECRET_T_TOK') }}\"\n"), { env: { VIGIL_T_REGION: 'us', VIGIL_SECRET_T_TOK: 'hunter22hunter' } });
    expect(errors(ok)).toEqual([]);
    expect(model(ok, 'a').compiled_sql).toBe("select 'us' as r, '\u27E6secret:VIGIL_SECRET_T_TOK\u27E7' as t");
    const dflt = compileProject(files("  region: \"{{ env_var('VIGIL_T_REGION', 'eu') }}\"\n"), { env: {} });
    expect(model(dflt, 'a').compiled_sql).toContain("'eu' as r");
    const unset = compileProject(files("  region: \"{{ env_var('VIGIL_T_REGION') }}\"\n"), { env: {} });
    expect(errors(unset)[0]).toMatchObject({ code: 'E_ENV_VAR', file: 'project.yaml', line: 6, message: 'vars.region: environment variable VIGIL_T_REGION is not set' });
    const other = compileProject(files("  region: \"{{ target.name }}\"\n"), { env: {} });
    expect(errors(other)[0]).toMatchObject({ code: 'E_VAR', file: 'project.yaml', line: 6 });
    // --vars replaces it (its variable need not be set); a number as the default; {{- -}}
    expect(errors(compileProject(files("  region: \"{{ env_var('VIGIL_T_REGION') }}\"\n"), { env: {}, vars: { region: 'x' } }))).toEqual([]);
    expect(model(compileProject(files("  region: \"{{- env_var('VIGIL_T_REGION', 5) -}}\"\n"), { env: {} }), 'a').compiled_sql).toContain("'5' as r");
  });

  it("a target's nested values fill in env_var() (BigQuery's labels, Postgres' ssl): the rendered label is checked at its line, an unset variable is E_ENV_VAR there (was: the template text sent as the label of every job and table)", () => {
    const bq = (labels: string) => projectFiles({ projectYaml: `name: fixture\ndefault_target: prod\ntargets:\n  prod:\n    type: bigquery\n    project: p\n    dataset: analytics\n    labels:\n      layer: mart\n      team: "${labels}"\n`, models: { 'models/a.sql': 'select 1 as x' } });
    const ok = compileProject(bq("{{ env_var('VIGIL_T_TEAM', 'data') }}"), { env: { VIGIL_T_TEAM: 'growth' } });
    expect(errors(ok)).toEqual([]);
    expect(ok.target!.config.labels).toEqual({ layer: 'mart', team: 'growth' });
    expect(compileProject(bq("{{ env_var('VIGIL_T_TEAM', 'data') }}"), { env: {} }).target!.config.labels).toEqual({ layer: 'mart', team: 'data' });
    expect(errors(compileProject(bq("{{ env_var('VIGIL_T_TEAM') }}"), { env: {} }))).toEqual([
      expect.objectContaining({ code: 'E_ENV_VAR', file: 'project.yaml', line: 10, message: "target 'prod': environment variable VIGIL_T_TEAM is not set" }),
    ]);
    // the value as rendered is one BigQuery must take (lowercase): said at compile, at its line
    expect(errors(compileProject(bq("{{ env_var('VIGIL_T_TEAM') }}"), { env: { VIGIL_T_TEAM: 'Data Platform' } }))).toEqual([
      expect.objectContaining({ code: 'E_TARGET', file: 'project.yaml', line: 10, message: "targets.prod.labels.team: label value 'Data Platform' is not one BigQuery takes (lowercase letters, digits, _ and -, at most 63): e.g. 'data_platform'" }),
    ]);
    // a template other than env_var() is no label either
    expect(errors(compileProject(bq("{{ var('team') }}"), { env: {} })).map((d) => [d.code, d.line])).toEqual([['E_TARGET', 10]]);
    // a secret is no label: BigQuery keeps it on every job, table and view (was: sent as the label)
    const secret = compileProject(bq("{{ env_var('VIGIL_T_TEAM_KEY') }}"), { env: { VIGIL_T_TEAM_KEY: '0123456789abcdef0123456789abcdef' } });
    expect(errors(secret)).toEqual([
      expect.objectContaining({ code: 'E_TARGET', file: 'project.yaml', line: 10, message: 'targets.prod.labels.team: reads the secret VIGIL_T_TEAM_KEY: the warehouse would keep its value as a label of every job, table and view' }),
    ]);
    expect(secret.target).toBeUndefined();
    // any warehouse, any depth
    const pgYaml = "name: fixture\ndefault_target: app\ntargets:\n  app:\n    type: postgres\n    url: postgres://u@h/db\n    ssl:\n      ca: \"{{ env_var('VIGIL_T_CA') }}\"\n";
    const pgOk = compileProject(projectFiles({ projectYaml: pgYaml, models: { 'models/a.sql': 'select 1 as x' } }), { env: { VIGIL_T_CA: '/etc/ca.pem' } });
    expect(pgOk.target!.config.ssl).toEqual({ ca: '/etc/ca.pem' });
    expect(errors(compileProject(projectFiles({ projectYaml: pgYaml, models: { 'models/a.sql': 'select 1 as x' } }), { env: {} }))).toEqual([expect.objectContaining({ code: 'E_ENV_VAR', line: 8 })]);
  });

  it("accepted_values' arguments are checked at their line (quote: flase was taken for true, values: [] failed at run time); severity in any case, as dbt", () => {
    const props = (test: string) => ({ 'models/p.yml': `models:\n  - name: orders\n    columns:\n      - name: status\n        tests:\n          - ${test}\n` });
    const run = (test: string) => compile({ models: { 'models/orders.sql': "select 'a' as status" }, yml: props(test) });
    expect(errors(run('accepted_values: { values: [a], quote: flase }'))[0]).toMatchObject({ code: 'E_TEST', line: 6, message: 'accepted_values: quote is true or false, got "flase"' });
    expect(errors(run('accepted_values: { values: [] }'))[0]).toMatchObject({ code: 'E_TEST', message: 'accepted_values: values must be a list of one or more values, got []' });
    // a template's text is no list: said why, with what to write instead
    expect(errors(run(`accepted_values: { values: "{{ var('statuses') }}" }`))[0]).toMatchObject({ code: 'E_TEST', hint: expect.stringContaining('a template here is not rendered into a list') });
    const ok = run('accepted_values: { values: [a], quote: false, severity: WARN }');
    expect(errors(ok)).toEqual([]);
    expect(Object.values(ok.manifest.nodes).find((n) => n.resource_type === 'test')).toMatchObject({ severity: 'warn' });
  });

  it("dbt's arguments: (1.10 on) and test_name: forms compile as the same tests as the top-level form (was: 'unknown argument arguments', a schema error for test_name:)", () => {
    const props = (tests: string) => ({ 'models/p.yml': `models:\n  - name: orders\n    columns:\n      - name: status\n        data_tests:\n${tests}` });
    const run = (tests: string) => compile({ models: { 'models/orders.sql': "select 'a' as status", 'models/ref_status.sql': "select 'a' as status" }, yml: props(tests) });
    const nodes = (r: ReturnType<typeof run>) => Object.values(r.manifest.nodes).filter((n) => n.resource_type === 'test').map((n) => ({ ...n, line: undefined }));
    const flat = run(`          - accepted_values: { values: [a, b], quote: true, config: { severity: warn } }\n          - relationships: { to: "ref('ref_status')", field: status }\n          - accepted_values: { name: named_av, values: [c] }\n`);
    const nested = run(`          - accepted_values:\n              arguments: { values: [a, b], quote: true }\n              config: { severity: warn }\n          - relationships:\n              arguments:\n                to: "ref('ref_status')"\n                field: status\n          - test_name: accepted_values\n            name: named_av\n            arguments: { values: [c] }\n`);
    expect(errors(flat)).toEqual([]);
    expect(errors(nested)).toEqual([]);
    // the same unique_ids, names, SQL, configs and dependencies
    expect(nodes(nested)).toEqual(nodes(flat));
    expect(nodes(nested).map((n) => n.name).sort()).toEqual(['accepted_values_orders_status', 'named_av', 'relationships_orders_status']);
    // a mistake under arguments: is found at its own line there
    const at = (tests: string) => errors(run(tests)).map((e) => [e.line, e.message, e.hint]);
    expect(at(`          - accepted_values:\n              arguments:\n                valeus: [a]\n`)).toEqual([[8, "accepted_values: unknown argument 'valeus'", expect.stringMatching(/^did you mean 'values'\?/)]]);
    expect(at(`          - accepted_values:\n              arguments:\n                values: [a]\n                severity: warn\n`)).toEqual([[9, 'accepted_values: severity is not an argument of the test: it is a config, written under config: (config: { severity: ... })', undefined]]);
    expect(at(`          - accepted_values:\n              values: [b]\n              arguments:\n                values: [a]\n`)).toEqual([[9, 'accepted_values: values is given twice, under arguments: and beside it', "keep the one under arguments: (dbt's form since 1.10)"]]);
    expect(at(`          - accepted_values:\n              arguments: [a]\n`)).toEqual([[7, 'accepted_values: arguments must be a mapping of the test\'s arguments (arguments: { <argument>: <value> }), got ["a"]', undefined]]);
    expect(at(`          - test_name: accepted_values\n            arguments:\n              values: [a, yes]\n`)).toEqual([[8, expect.stringMatching(/^accepted_values: yes is true to dbt \(YAML 1\.1\)/), undefined]]);
    expect(at(`          - test_name: acepted_values\n            arguments: { values: [a] }\n`)).toEqual([[6, "unknown test 'acepted_values'", "did you mean 'accepted_values'?"]]);
  });

  it("a model file name a selector cannot spell is an error; a ref typo is never 'fixed' to the model itself", () => {
    const r = compile({ models: { 'models/my model.sql': 'select 1 as id' } });
    expect(errors(r)[0]).toMatchObject({ code: 'E_MODEL', file: 'models/my model.sql', message: "model file name 'my model' has white space in it: -s my model could not select it" });
    // names dbt takes stay fine
    const ok = compile({ models: { 'models/my-model.sql': 'select 1 as id', 'models/2023_sales.sql': "select * from {{ ref('my-model') }}" } });
    expect(errors(ok)).toEqual([]);
    const self = compile({ models: { 'models/c.sql': "select * from {{ ref('cc') }}" } });
    expect(errors(self)[0].message).toBe("ref('cc') not found");
  });

  it('ref() to a disabled model is an error at the call (its table would be stale); a disabled model may ref another', () => {
    const r = compile({ models: { 'models/base.sql': '{{ config(enabled=false) }}select 1 as id', 'models/a.sql': "select *\nfrom {{ ref('base') }}", 'models/off.sql': "{{ config(enabled=false) }}select * from {{ ref('base') }}" } });
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatchObject({ code: 'E_REF', file: 'models/a.sql', line: 2, column: 9 });
    expect(errors(r)[0].message).toBe("ref('base'): model 'base' is disabled (enabled=false), so nothing builds it");
    // a disabled seed: said as such, not "no model or seed is named"
    const seed = compileProject(
      { ...projectFiles({ models: { 'models/a.sql': "select *\nfrom {{ ref('countries') }}" }, yml: { 'seeds/countries.yml': 'seeds:\n  - name: countries\n    config:\n      enabled: false\n' } }), seeds: [{ path: 'seeds/countries.csv', text: 'code\nfr\n' }] },
      { env: {} },
    );
    expect(errors(seed)).toEqual([expect.objectContaining({ code: 'E_REF', file: 'models/a.sql', line: 2, message: "ref('countries'): seed 'countries' (seeds/countries.csv) is disabled (enabled: false), so nothing loads it" })]);
  });

  it("a test that reads a disabled model or seed is disabled with it, as in dbt and as a disabled model's own tests are (was: run on the stale relation; relationships to: one was an error); a hook reading one is an error", () => {
    const base = { 'models/base.sql': '{{ config(enabled=false) }}select 1 as id', 'models/a.sql': 'select 1 as id, 1 as base_id' };
    const r = compileProject(
      {
        ...projectFiles({
          models: base,
          yml: {
            'models/props.yml': "models:\n  - name: a\n    columns:\n      - name: base_id\n        tests:\n          - relationships: { to: ref('base'), field: id }\n          - not_null: { where: \"base_id in (select id from {{ ref('base') }})\" }\n          - unique: { where: \"base_id in (select code from {{ ref('countries') }})\" }\n      - name: id\n        tests: [unique]\n",
            'seeds/countries.yml': 'seeds:\n  - name: countries\n    config:\n      enabled: false\n',
          },
          tests: { 'tests/stale.sql': "select * from {{ ref('a') }} join {{ ref('base') }} using (id)" },
        }),
        seeds: [{ path: 'seeds/countries.csv', text: 'code\nfr\n' }],
      },
      { env: {} },
    );
    expect(errors(r)).toEqual([]);
    expect(Object.keys(r.manifest.nodes).filter((id) => id.startsWith('test.')).map(withoutHash)).toEqual(['test.fixture.unique_a_id']);
    expect(Object.fromEntries(Object.entries(r.manifest.disabled ?? {}).map(([id, d]) => [withoutHash(id), d]))).toMatchObject({
      'test.fixture.relationships_a_base_id': { resource_type: 'test', file: 'models/props.yml', because: "it reads model 'base', which is disabled" },
      'test.fixture.not_null_a_base_id': { because: "it reads model 'base', which is disabled" },
      'test.fixture.unique_a_base_id': { because: "it reads seed 'countries', which is disabled" },
      'test.fixture.stale': { file: 'tests/stale.sql', because: "it reads model 'base', which is disabled" },
    });
    // through the CLI: the build runs none of them; a selector naming one says why it is disabled
    const dir = makeProject({ ...base, 'tests/stale.sql': "select * from {{ ref('a') }} join {{ ref('base') }} using (id)", 'models/props.yml': "models:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - not_null: { where: \"id in (select id from {{ ref('base') }})\" }\n" });
    dirs.push(dir);
    const built = vigil(dir, ['build']);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    expect(built.stdout).toContain('1 model, 0 tests');
    // said, as dbt warns: tests that no longer run
    expect(built.stderr).toContain("tests/stale.sql:1:38: warning: test 'stale' is disabled: it reads model 'base', which is disabled [W_TEST]");
    expect(built.stderr).toMatch(/models\/props\.yml:6:\d+: warning: test 'not_null_a_id' is disabled: it reads model 'base', which is disabled \[W_TEST\]/);
    const ls = vigil(dir, ['ls', '-s', 'stale', 'not_null_a_id']);
    expect(ls.code).toBe(2);
    expect(ls.stderr).toContain("selector 'stale' matched nothing: test 'stale' (tests/stale.sql) is disabled (it reads model 'base', which is disabled)");
    expect(ls.stderr).toContain("selector 'not_null_a_id' matched nothing: test 'not_null_a_id' (models/props.yml) is disabled (it reads model 'base', which is disabled)");
    // a hook is the model's own statement: refused, as the model's ref() would be
    const hook = compile({ models: { ...base, 'models/h.sql': "{{ config(post_hook=\"delete from {{ this }} where id in (select id from {{ ref('base') }})\") }}select 1 as id" } });
    expect(errors(hook)).toEqual([expect.objectContaining({ code: 'E_REF', file: 'models/h.sql', line: 1, message: "ref('base'): model 'base' is disabled (enabled=false), so nothing builds it" })]);
  });

  it("two synced sources landing in one table (two sources with one schema): an error at the second stream's line, naming both (was: both synced OK, each one's batches replacing the other's rows by key); sources that only read one table may share it", () => {
    const two = `sources:
  - name: raw
    schema: raw
    sync: { from: dev, schema: app }
    tables:
      - name: events
        sync: { primary_key: id, cursor: created_at }
  - name: raw2
    schema: raw
    sync: { from: dev, schema: app2 }
    tables:
      - name: events
        sync: { primary_key: id, cursor: created_at }
`;
    const r = compile({ yml: { 'models/sources.yml': two } });
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatchObject({ code: 'E_DUPLICATE', file: 'models/sources.yml', line: 12 });
    expect(errors(r)[0].message).toContain("source 'raw2.events' and source 'raw.events' (models/sources.yml) are synced into the same table");
    // one of them only reads the table (no sync), or each lands in its own schema: no error
    expect(errors(compile({ yml: { 'models/sources.yml': two.replace('    sync: { from: dev, schema: app2 }\n', '').replace(/(raw2[\s\S]*)        sync: \{ primary_key: id, cursor: created_at \}\n/, '$1') } }))).toEqual([]);
    expect(errors(compile({ yml: { 'models/sources.yml': two.replace('  - name: raw2\n    schema: raw\n', '  - name: raw2\n    schema: raw2\n') } }))).toEqual([]);
    // a synced table named as the sync's own state table: its copy would be that table (was: its
    // columns added to the state table, and every batch failed on its NOT NULL stream, exit 1)
    const state = compile({ yml: { 'models/sources.yml': two.replace('      - name: events\n', '      - name: vigil_sync_state\n') } });
    expect(errors(state)[0]).toMatchObject({ code: 'E_NAME', file: 'models/sources.yml', line: 6 });
    expect(errors(state)[0].message).toContain("source 'raw.vigil_sync_state': a synced table named 'vigil_sync_state' would be copied into");
  });

  it('two nodes that would build one table are an error at the one an alias moved, naming both (a model over a source too)', () => {
    const r = compile({ models: { 'models/a.sql': "\n{{ config(alias='B') }}select 1 as id", 'models/b.sql': 'select 2 as id' } });
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatchObject({ code: 'E_DUPLICATE', file: 'models/a.sql', line: 2, column: 11 });
    expect(errors(r)[0].message).toContain("model 'a' and model 'b' (models/b.sql) are the same table");
    // over a source's table: an error where vigil sync fills it, a warning where a source may read what the model builds
    const synced = SOURCES.replace('    schema: raw\n', '    schema: raw\n    sync: { from: dev }\n').replace('      - name: events\n', '      - name: events\n        sync: { primary_key: id, cursor: id }\n');
    const s = compile({ yml: { 'models/sources.yml': synced }, models: { 'models/c.sql': "{{ config(schema='raw', alias='events') }}select 1 as id" } });
    expect(errors(s)[0]).toMatchObject({ code: 'E_DUPLICATE', file: 'models/c.sql' });
    expect(errors(s)[0].message).toContain("source 'raw.events'");
    // on BigQuery the nodes' relations name the project, a source's may not: the same table all the same
    // (the source's sync.from names a target of the project: one that names none is an error of its own since H170)
    const bq = compileProject(projectFiles({ projectYaml: 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: p, dataset: analytics }\n  dev: { type: postgres, url: "postgres://u@h:5432/d" }\n', yml: { 'models/sources.yml': synced }, models: { 'models/c.sql': "{{ config(schema='raw', alias='events') }}select 1 as id" } }), { env: {} });
    expect(errors(bq)[0]).toMatchObject({ code: 'E_DUPLICATE', file: 'models/c.sql' });
    const plain = compile({ yml: { 'models/sources.yml': SOURCES }, models: { 'models/c.sql': "{{ config(schema='raw', alias='events') }}select 1 as id" } });
    expect(errors(plain)).toEqual([]);
    expect(plain.diagnostics.find((d) => d.code === 'W_RELATION')?.message).toMatch(/model 'c' builds the table source 'raw\.events' .* reads/);
    // another schema, another table; a restricted companion's name is taken too
    expect(errors(compile({ models: { 'models/a.sql': "{{ config(schema='other', alias='b') }}select 1 as id", 'models/b.sql': 'select 2 as id' } }))).toEqual([]);
    const c = compile({ models: { 'models/a.sql': "{{ config(materialized='table', restricted={}) }}select 1 as id", 'models/a__restricted.sql': 'select 2 as id' } });
    expect(errors(c).map((e) => e.message).join('\n')).toMatch(/restricted companion of model 'a'.*same table|same table.*restricted companion/);
  });

  it('config() called twice adds hooks and tags, each hook at its own line, and merges meta; meta merges across levels (as dbt)', () => {
    const r = compile({
      projectYaml: `${BASIC_PROJECT_YAML}models:\n  fixture:\n    +meta: { owner: ann, tier: 1 }\n`,
      yml: { 'models/m.yml': 'models:\n  - name: m\n    config:\n      meta: { b: 2 }\n' },
      models: { 'models/m.sql': "{{ config(post_hook='select 1', tags=['x'], meta={'c': 3}) }}\n{{ config(post_hook='select 2', tags=['y'], meta={'tier': 2}) }}\nselect 1 as a" },
    });
    expect(errors(r)).toEqual([]);
    const m = model(r, 'm');
    expect(m.post_hooks?.map((h) => [h.sql, h.origin])).toEqual([['select 1', 'models/m.sql:1'], ['select 2', 'models/m.sql:2']]);
    expect(m.config.tags).toEqual(['x', 'y']);
    expect(m.config.meta).toEqual({ owner: 'ann', tier: 2, b: 2, c: 3 });
  });

  it("a ref() in a model's hook makes it a parent of the model, as dbt counts it (was: no edge, so with threads a post_hook adding a foreign key ran before the referenced table was rebuilt, whose drop took the key away); a cycle through a hook and a hook's ref() of its own model are errors at the hook", () => {
    const customers = "{{ config(materialized='table') }}\nselect 1 as id, 'a@b.c' as email";
    const orders = "{{ config(materialized='table', post_hook=\"alter table {{ this }} add foreign key (customer_id) references {{ ref('customers') }} (id)\") }}\nselect 1 as customer_id, 'x' as email";
    const r = compile({ yml: { 'models/c.yml': 'models:\n  - name: customers\n    columns:\n      - name: email\n        meta: { pii: true }\n' }, models: { 'models/customers.sql': customers, 'models/orders.sql': orders } });
    expect(errors(r)).toEqual([]);
    const o = model(r, 'orders');
    expect(o.depends_on).toEqual(['model.fixture.customers']);
    expect(o.hook_depends_on).toEqual(['model.fixture.customers']);
    expect(r.order.indexOf('model.fixture.customers')).toBeLessThan(r.order.indexOf('model.fixture.orders'));
    // its columns come from its SQL alone: the parent's PII column does not make its own one PII
    expect(piiChecks(o, r.manifest, duckDbDialect).forbidden).not.toContain('email');
    // read by its SQL too: no hook_depends_on
    const both = compile({ models: { 'models/customers.sql': customers, 'models/orders.sql': orders.replace('select 1 as customer_id', "select id as customer_id from {{ ref('customers') }}") } });
    expect(model(both, 'orders').depends_on).toEqual(['model.fixture.customers']);
    expect(model(both, 'orders').hook_depends_on).toBeUndefined();
    // a cycle only the hook closes
    const cyc = compile({ models: { 'models/customers.sql': "{{ config(materialized='table') }}\n{{ config(post_hook=\"delete from {{ ref('orders') }}\") }}\nselect 1 as id", 'models/orders.sql': orders } });
    expect(errors(cyc)).toEqual([expect.objectContaining({ code: 'E_CYCLE', file: 'models/customers.sql', line: 2, message: expect.stringMatching(/^dependency cycle through a hook: (customers -> orders -> customers|orders -> customers -> orders)/) })]);
    // its own model, by ref()
    const self = compile({ models: { 'models/orders.sql': "{{ config(materialized='table', pre_hook=\"delete from {{ ref('orders') }}\") }}\nselect 1 as id" } });
    expect(errors(self)).toEqual([expect.objectContaining({ code: 'E_REF', file: 'models/orders.sql', line: 1, message: "ref('orders') in a pre_hook of 'orders' itself: a hook names its own model with {{ this }}" })]);
  });

  it("a ref() in a hook project.yaml gives every model (defaults:, a folder's +post_hook) is an error at the model it refs with a hint that leaves that model out, which compiles (was: hint 'write {{ this }} instead of the ref()', which would make every model write into itself)", () => {
    const projectYaml = `${BASIC_PROJECT_YAML}defaults:\n  post_hook: "insert into {{ ref('audit_log') }} select '{{ model.name }}'"\n`;
    const models = { 'models/audit_log.sql': "{{ config(materialized='table') }}\nselect 'x' as name", 'models/a.sql': 'select 1 as a' };
    const r = compile({ projectYaml, models });
    expect(errors(r)).toEqual([
      expect.objectContaining({
        code: 'E_REF',
        file: 'project.yaml',
        line: 9,
        message: "ref('audit_log') in a post_hook project.yaml gives every model it configures, 'audit_log' included: a hook's ref() of its own model would make the model its own parent",
        hint: "leave 'audit_log' out: {% if model.name != 'audit_log' %}...{% endif %} around the statement",
      }),
    ]);
    // the hint, followed: the others build after audit_log, audit_log's hook renders empty
    const guarded = compile({ projectYaml: projectYaml.replace('"insert', `"{% if model.name != 'audit_log' %}insert`).replace(`}}'"`, `}}'{% endif %}"`), models });
    expect(errors(guarded)).toEqual([]);
    expect(model(guarded, 'a').hook_depends_on).toEqual(['model.fixture.audit_log']);
    expect(model(guarded, 'audit_log').depends_on).toEqual([]);
    // a model audit_log reads gets the hook too: a cycle, whose hint leaves that model out
    const cyc = compile({ projectYaml: projectYaml.replace('"insert', `"{% if model.name != 'audit_log' %}insert`).replace(`}}'"`, `}}'{% endif %}"`), models: { ...models, 'models/audit_log.sql': "{{ config(materialized='table') }}\nselect 'x' as name from {{ ref('a') }}" } });
    expect(errors(cyc)).toEqual([expect.objectContaining({ code: 'E_CYCLE', file: 'project.yaml', line: 9, hint: "project.yaml gives the hook every model, 'a' included: leave it out, {% if model.name != 'a' %}...{% endif %} around the statement, or move the statement into on_run_end" })]);
    // a folder's +post_hook: the same
    const folder = compile({ projectYaml: `${BASIC_PROJECT_YAML}models:\n  +post_hook: "insert into {{ ref('audit_log') }} select 1"\n`, models });
    expect(errors(folder)).toEqual([expect.objectContaining({ code: 'E_REF', file: 'project.yaml', hint: "leave 'audit_log' out: {% if model.name != 'audit_log' %}...{% endif %} around the statement" })]);
  });

  it("the meta property of a model, seed, snapshot is its config.meta, as dbt moves it there (was: dropped); both is an error at the line, as in dbt; a source's meta is its source_meta", () => {
    const dir = makeProject({
      'models/m.sql': "{{ config(meta={'c': 3}) }}\nselect 1 as a",
      'models/n.sql': 'select 1 as a',
      'models/m.yml': 'models:\n  - name: m\n    meta: { b: 2, c: 0 }\n  - name: n\n    meta: { owner: ann }\n',
      'seeds/s.csv': 'id\n1\n',
      'seeds/s.yml': 'seeds:\n  - name: s\n    meta: { owner: bob }\n',
      'snapshots/snap.sql': "{% snapshot snap %}{{ config(strategy='check', unique_key='a', check_cols='all', meta={'c': 3}) }}select * from {{ ref('n') }}{% endsnapshot %}",
      'snapshots/snap.yml': "snapshots:\n  - name: snap\n    meta: { b: 2, c: 0 }\n  - name: ysnap\n    relation: ref('n')\n    meta: { owner: cy }\n    config: { strategy: check, unique_key: a, check_cols: all }\n",
      'models/src.yml': 'sources:\n  - name: raw\n    meta: { loader: fivetran }\n    tables:\n      - name: t\n        meta: { pii: true }\n',
    });
    dirs.push(dir);
    const r = compileProject(loadProject(dir), { env: {} });
    expect(errors(r)).toEqual([]);
    const node = (id: string) => r.manifest.nodes[id] as { config: { meta?: unknown } };
    expect(node('model.fixture.m').config.meta).toEqual({ b: 2, c: 3 });
    expect(node('model.fixture.n').config.meta).toEqual({ owner: 'ann' });
    expect(node('seed.fixture.s').config.meta).toEqual({ owner: 'bob' });
    expect(node('snapshot.fixture.snap').config.meta).toEqual({ b: 2, c: 3 });
    expect(node('snapshot.fixture.ysnap').config.meta).toEqual({ owner: 'cy' });
    expect(r.manifest.sources['source.fixture.raw.t']).toMatchObject({ meta: { pii: true }, source_meta: { loader: 'fivetran' } });
    const both = compile({
      yml: { 'models/m.yml': 'models:\n  - name: m\n    meta: { b: 2 }\n    config:\n      meta: { a: 1 }\n' },
      models: { 'models/m.sql': 'select 1 as a' },
    });
    expect(errors(both).map((d) => [d.code, d.file, d.line, d.message])).toEqual([['E_PROPS', 'models/m.yml', 3, "model 'm': meta is given both as a property and in config:"]]);
  });

  it("`this` in an ephemeral model is its CTE's name (was the internal __this__); this.schema of one is an error at its line", () => {
    const r = compile({
      models: {
        'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect '{{ this.name }}' as n, {{ this }}.x from t",
        'models/m.sql': "select * from {{ ref('eph') }}",
        'models/eph2.sql': "{{ config(materialized='ephemeral') }}\n\nselect '{{ this.schema }}' as s",
      },
    });
    expect(model(r, 'm').compiled_sql).toContain(`select '__vigil_eph_eph' as n, "__vigil_eph_eph".x from t`);
    expect(errors(r).map((d) => [d.code, d.file, d.line, d.message])).toEqual([['E_TEMPLATE', 'models/eph2.sql', 3, "this.schema of the ephemeral model 'eph2': an ephemeral model is a CTE, which has no schema"]]);
  });

  it('a macro defined twice in one file is E_DUPLICATE at the second (the last silently won)', () => {
    const r = compile({ macros: { 'macros/m.sql': '{% macro a() %}1{% endmacro %}\n\n{% macro a() %}2{% endmacro %}\n' }, models: { 'models/m.sql': 'select {{ a() }} as x' } });
    expect(errors(r).map((d) => [d.code, d.file, d.line, d.column])).toEqual([['E_DUPLICATE', 'macros/m.sql', 3, 10]]);
    expect(errors(r)[0].message).toMatch(/macro 'a' is defined twice in this file \(first at line 1\)/);
  });

  it('a project.yaml var past 2^53 is refused at its line, with its digits as written (was rounded: 1234567890123456800)', () => {
    // (a float written as one past 2^53, 1.0e20, is no rounded integer: kept)
    const r = compile({ projectYaml: `${BASIC_PROJECT_YAML}vars:\n  ok: 9007199254740991\n  big_id: 1234567890123456789\n  big_float: 1.0e20\n`, models: { 'models/m.sql': "select {{ var('big_id') }} as x, {{ var('big_float') }} as y" } });
    expect(errors(r).map((d) => [d.code, d.file, d.line, d.message])).toEqual([['E_VAR', 'project.yaml', 10, "vars.big_id: 1234567890123456789 is past 2^53, where a YAML number is no longer exact (it is rounded as it is read, to 1234567890123456800): quote it ('1234567890123456789')"]]);
  });

  it('a missing var() or env_var() of a near name that is set says which', () => {
    const r = compileProject(projectFiles({ projectYaml: `${BASIC_PROJECT_YAML}vars:\n  start_date: '2024-01-01'\n`, models: { 'models/m.sql': "select '{{ var('start_dat') }}', '{{ env_var('VIGIL_REGOIN') }}'" } }), { env: { VIGIL_REGION: 'eu' } });
    expect(errors(r).map((d) => d.message)).toEqual(["var('start_dat') is not defined — did you mean 'start_date'?", "environment variable VIGIL_REGOIN is not set — did you mean 'VIGIL_REGION'?"]);
  });

  it('var() reads project vars, --vars overrides, defaults, and reports a missing var', () => {
    const files = projectFiles({
      projectYaml: 'name: fixture\ntargets: { dev: { type: duckdb } }\nvars: { ratio: 1.75 }\n',
      models: { 'models/a.sql': "select {{ var('ratio') }} as r, {{ var('other', 7) }} as o" },
    });
    expect((compileProject(files, { env: {} }).manifest.nodes['model.fixture.a'] as ModelNode).compiled_sql).toBe('select 1.75 as r, 7 as o');
    expect((compileProject(files, { env: {}, vars: { ratio: 2 } }).manifest.nodes['model.fixture.a'] as ModelNode).compiled_sql).toBe('select 2 as r, 7 as o');
    const r = compile({ models: { 'models/a.sql': "select\n {{ var('missing_var') }}" } });
    expect(errors(r)[0]).toMatchObject({ code: 'E_VAR', line: 2, column: 5 });
  });

  it("BigQuery's table options where they would be dropped or refused are errors at their line (were compiled and sent, or silently ignored)", () => {
    const bqYaml = 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: p, dataset: analytics }\n';
    const one = (sql: string, projectYaml?: string) => {
      const r = compileProject(projectFiles({ ...(projectYaml ? { projectYaml } : {}), models: { 'models/m.sql': sql } }), { env: {} });
      return r.diagnostics.map((d) => `${d.severity} ${d.line}: ${d.message}`);
    };
    expect(one("{{ config(materialized='view',\n cluster_by=['a'], require_partition_filter=true) }}\nselect 1 as a")).toEqual([
      "error 2: model 'm' is a view: cluster_by applies to tables only (it would be ignored)",
      "error 2: model 'm' is a view: require_partition_filter applies to tables only (it would be ignored)",
    ]);
    // an ephemeral model builds nothing to label (was: accepted and ignored)
    expect(one("{{ config(materialized='ephemeral',\n labels={'layer': 'staging'}) }}\nselect 1 as a")).toEqual(["error 2: model 'm' is ephemeral (inlined where it is used, never built): labels applies to tables and views only (it would be ignored)"]);
    expect(one("{{ config(materialized='view', labels={'layer': 'staging'}) }}\nselect 1 as a")).toEqual([]);
    expect(one("{{ config(materialized='table',\n partition_expiration_days=3) }}\nselect 1 as a")).toEqual(["error 2: model 'm': partition_expiration_days applies to a partitioned table; set partition_by"]);
    // partition_by as BigQuery's DDL takes it, spaced or quoted, is a partitioning (was: "applies to a
    // partitioned table; set partition_by", and its merge and Vigil's own reads lacked the partition filter)
    for (const pb of ["'date( created_at )'", "'timestamp_trunc(`created_at`, day)'", "'`d`'"]) {
      expect(one(`{{ config(materialized='table', partition_by=${pb},\n require_partition_filter=true, partition_expiration_days=30) }}\nselect current_timestamp as created_at, current_date as d`), pb).toEqual([]);
    }
    expect(partitionField('date( created_at )')).toBe('created_at');
    expect(partitionField('`d`')).toBe('d');
    expect(one("{{ config(materialized='table', partition_by='d', partition_expiration_days=-3) }}\nselect current_date as d")[0]).toMatch(/partition_expiration_days is a number of days above 0/);
    // an integer-range partition has no time to expire by (BigQuery: time-unit and ingestion-time partitioning only; was: accepted)
    const intRange = "{'field': 'id', 'data_type': 'int64', 'range': {'start': 0, 'end': 1000, 'interval': 10}}";
    for (const pb of [intRange, "'range_bucket(id, generate_array(0, 1000, 10))'"]) {
      expect(one(`{{ config(materialized='table', partition_by=${pb},\n partition_expiration_days=30) }}\nselect 1 as id`), pb).toEqual([
        "error 2: model 'm': partition_expiration_days applies to a table partitioned by time (a DATE, TIMESTAMP or DATETIME column, or ingestion time); partition_by here is an integer range, whose partitions have no time to expire by (BigQuery documents partition expiration for time-unit and ingestion-time partitioning only)",
      ]);
    }
    expect(one("{{ config(materialized='table', partition_by={'field': 'd', 'data_type': 'date'}, partition_expiration_days=30) }}\nselect current_date as d")).toEqual([]);
    expect(one("{{ config(materialized='table', labels={'Bad Label': 'x'}) }}\nselect 1 as a")[0]).toMatch(/label key 'Bad Label' is not one BigQuery takes .*e\.g\. 'bad_label'/);
    expect(one('select 1 as a', bqYaml.replace('dataset: analytics }', 'dataset: analytics, labels: { team: Data Platform } }'))[0]).toMatch(/label value 'Data Platform' is not one BigQuery takes .*e\.g\. 'data_platform'/);
    // a label from the environment is checked as rendered (here its default)
    expect(one('select 1 as a', bqYaml.replace('dataset: analytics }', `dataset: analytics, labels: { team: "{{ env_var('VIGIL_T_TEAM', 'data') }}" } }`))).toEqual([]);
    // delete+insert is not a BigQuery strategy (it ran as a MERGE, which fails on duplicate keys); fine on DuckDB
    const di = "{{ config(materialized='incremental', unique_key='a', incremental_strategy='delete+insert') }}\nselect 1 as a";
    expect(one(di, bqYaml)[0]).toMatch(/^error 1: model 'm': incremental_strategy 'delete\+insert' is not one target 'prod' \(bigquery\) runs: merge, insert_overwrite, append/);
    expect(one(di)).toEqual([]);
    // append ignores a unique_key: said
    expect(one("{{ config(materialized='incremental', unique_key='a', incremental_strategy='append') }}\nselect 1 as a")).toEqual([expect.stringMatching(/^warn 1: model 'm': unique_key has no effect with incremental_strategy 'append'/)]);
    // so does insert_overwrite, which replaces whole partitions (as dbt-bigquery), on every warehouse; at the key's line (was: silent)
    for (const yaml of [undefined, bqYaml]) {
      expect(one("{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by={'field': 'd'},\n unique_key='a') }}\nselect 1 as a, current_date as d", yaml)).toEqual([
        "warn 2: model 'm': unique_key has no effect with incremental_strategy 'insert_overwrite' (every run replaces whole partitions, the ones its new rows are in, whatever their keys; the key is not used, as in dbt-bigquery)",
      ]);
    }
    expect(one("{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by={'field': 'd'}) }}\nselect 1 as a, current_date as d")).toEqual([]);
    // partition_by, a column name or a mapping: what is wrong in it, not "Invalid input"
    const pb = (v: string) => one(`{{ config(materialized='table', partition_by=${v}) }}\nselect current_date as d`).filter((x) => x.startsWith('error'));
    expect(pb("{'field': 'd', 'data_type': 'dat'}")).toEqual(["error 1: config partition_by.data_type: 'dat' is not one of 'date', 'timestamp', 'datetime', 'int64' — did you mean 'date'?"]);
    expect(pb('42')).toEqual(['error 1: config partition_by: expected a string or a mapping, got number 42']);
    expect(pb("['d']")).toEqual(['error 1: config partition_by: expected a string or a mapping, got a list']);
    // one root cause: the misspelt key (its "field is required" was the same mistake said twice)
    expect(pb("{'fild': 'd'}")).toEqual(["error 1: config partition_by.fild: unknown key 'fild' — did you mean 'field'?"]);
    expect(pb("{'data_type': 'date'}")).toEqual(['error 1: config partition_by.field: is required (a string)']);
    // from a folder or the defaults they pass views by (one folder setting for tables and views, as in dbt)
    expect(one("{{ config(materialized='view') }}\nselect 1 as a", 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb }\nmodels:\n  +cluster_by: a\n  +require_partition_filter: false\n')).toEqual([]);
    // a table with all of them is fine
    expect(one("{{ config(materialized='table', partition_by='d', cluster_by='a', require_partition_filter=true, partition_expiration_days=30, labels={'team': 'data-platform'}) }}\nselect 1 as a, current_date as d", bqYaml)).toEqual([]);
  });

  it("an empty unique_key is an error at its line, as [] is (was: compiled, and every incremental run failed with a parser error)", () => {
    const one = (key: string) => errors(compile({ models: { 'models/m.sql': `{{ config(materialized='incremental',\n unique_key=${key}) }}\nselect 1 as a` } })).map((d) => `${d.line}: ${d.message}`);
    expect(one("''")).toEqual(['2: config unique_key: is empty: name a column, or a list of columns']);
    expect(one("['a', '']")).toEqual(['2: config unique_key[1]: is empty: name a column']);
    expect(one('[]')).toHaveLength(1);
    expect(one("'a'")).toEqual([]);
  });

  it("a model's unique_key written as an SQL expression, as dbt takes one, is an error at its line, as a snapshot's is (was: compiled, the first build made the table and failed, every later run failed binding a column of that name)", () => {
    const one = (cfg: string) => errors(compile({ models: { 'models/m.sql': `{{ config(materialized='incremental',\n ${cfg}) }}\nselect 1 as id, current_date as d` } })).map((d) => `${d.line}: ${d.message}`);
    const said = (k: string) => [`2: model 'm': unique_key '${k}' is an expression (dbt takes one; here a key is a column or a list of columns): list the columns it combines, unique_key=['a', 'b'], or select the expression as a column in the query`];
    expect(one(`unique_key="id || '-' || d"`)).toEqual(said("id || '-' || d"));
    expect(one("unique_key='id, d'")).toEqual(said('id, d'));
    expect(one("unique_key=['id', 'cast(d as varchar)']")).toEqual(said('cast(d as varchar)'));
    expect(one("unique_key=['id', 'd']")).toEqual([]);
    // (append does not use the key: warned about, not refused)
    expect(one("unique_key='id, d', incremental_strategy='append'")).toEqual([]);
  });

  it("unique_key none (dbt's None, var('uk', none)) is no key: as if not set, in config(), properties YAML, a folder and defaults:, and over an outer level's key, as dbt's config() clobbers it (was: 'expected a string or a list, got null')", () => {
    const projectYaml = `${BASIC_PROJECT_YAML}defaults:\n  unique_key: id\nmodels:\n  nokey:\n    +unique_key: null\n`;
    const r = compileProject(
      projectFiles({
        projectYaml,
        models: {
          'models/inline.sql': "{{ config(materialized='incremental', unique_key=none) }}\nselect 1 as id",
          'models/by_var.sql': "{{ config(materialized='incremental', unique_key=var('uk', none)) }}\nselect 1 as id",
          'models/in_yaml.sql': "{{ config(materialized='incremental') }}\nselect 1 as id",
          'models/nokey/in_folder.sql': "{{ config(materialized='incremental') }}\nselect 1 as id",
          'models/keyed.sql': "{{ config(materialized='incremental') }}\nselect 1 as id",
          // none beside a table or append: nothing to warn about (a key would be)
          'models/a_table.sql': "{{ config(materialized='table', unique_key=none) }}\nselect 1 as id",
          'models/appended.sql': "{{ config(materialized='incremental', incremental_strategy='append', unique_key=none) }}\nselect 1 as id",
        },
        yml: { 'models/props.yml': 'models:\n  - name: in_yaml\n    config:\n      unique_key: null\n' },
      }),
      { env: {} },
    );
    expect(r.diagnostics).toEqual([]);
    for (const name of ['inline', 'by_var', 'in_yaml', 'in_folder', 'a_table', 'appended']) expect('unique_key' in model(r, name).config, name).toBe(false);
    expect(model(r, 'keyed').config.unique_key).toBe('id');
    // --vars gives the key where the var is set
    expect(model(compileProject(projectFiles({ models: { 'models/by_var.sql': "{{ config(materialized='incremental', unique_key=var('uk', none)) }}\nselect 1 as id" } }), { env: {}, vars: { uk: 'id' } }), 'by_var').config.unique_key).toBe('id');
  });

  it("a relation or schema name longer than Postgres keeps (63 bytes) is an error at compile on a Postgres target only (was: Postgres cut it, and the build dropped its own table or another model's)", () => {
    const pgYaml = "name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: 'postgres://h/db', schema: analytics }\n";
    const long = 'm'.repeat(64);
    const models = {
      [`models/${long}.sql`]: 'select 1 as a',
      'models/aliased.sql': `{{ config(materialized='table',\n alias='${'é'.repeat(32)}') }}\nselect 1 as a`,
      'models/schemad.sql': `{{ config(schema='${'s'.repeat(64)}') }}\nselect 1 as a`,
      [`models/${'k'.repeat(63)}.sql`]: 'select 1 as a',
    };
    const r = compileProject(projectFiles({ projectYaml: pgYaml, models }), { env: {} });
    expect(errors(r).map((d) => `${d.code} ${d.file}:${d.line}: ${d.message}`)).toEqual([
      `E_NAME models/${long}.sql:1: model '${long}': relation name '${long}' is 64 bytes long; postgres keeps 63 bytes of a name (it would cut it, and the build would write over whatever has the cut name)`,
      // 32 characters of two bytes each
      `E_NAME models/aliased.sql:2: model 'aliased': relation name '${'é'.repeat(32)}' is 64 bytes long; postgres keeps 63 bytes of a name (it would cut it, and the build would write over whatever has the cut name)`,
      `E_NAME models/schemad.sql:1: model 'schemad': schema name '${'s'.repeat(64)}' is 64 bytes long; postgres keeps 63 bytes of a name (it would cut it, and the build would write over whatever has the cut name)`,
    ]);
    // DuckDB keeps any length
    expect(errors(compileProject(projectFiles({ models }), { env: {} }))).toEqual([]);
  });

  it("a model, seed or snapshot whose relation has Vigil's scratch infix __vigil_ (any case) is an error at compile on every warehouse (was: building 'hk' on Postgres dropped the table of the model hk__vigil_tmp, both OK)", () => {
    const pgYaml = "name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: 'postgres://h/db', schema: analytics }\n";
    const models = {
      'models/hk.sql': "{{ config(materialized='table') }} select 1 as id",
      'models/hk__vigil_tmp.sql': "{{ config(materialized='table') }} select 42 as answer",
      'models/aliased.sql': "{{ config(materialized='table',\n alias='hk__VIGIL_columns_0a1b2c3d') }}\nselect 1 as a",
      'models/vigil_fine.sql': 'select 1 as a',
    };
    const snapshots = [{ path: 'snapshots/s.sql', text: "{% snapshot s__vigil_tmp %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect * from {{ ref('hk') }}\n{% endsnapshot %}\n" }];
    for (const projectYaml of [pgYaml, undefined]) {
      const r = compileProject({ ...projectFiles({ projectYaml, models }), snapshots }, { env: {} });
      expect(errors(r).map((d) => `${d.code} ${d.file}:${d.line}: ${d.message}`).sort()).toEqual([
        "E_NAME models/aliased.sql:2: model 'aliased': relation name 'hk__VIGIL_columns_0a1b2c3d' has '__VIGIL_' in it, which Vigil keeps for the scratch tables it makes and drops beside a relation (a build of 'hk' would drop this table)",
        "E_NAME models/hk__vigil_tmp.sql:1: model 'hk__vigil_tmp': relation name 'hk__vigil_tmp' has '__vigil_' in it, which Vigil keeps for the scratch tables it makes and drops beside a relation (a build of 'hk' would drop this table)",
        "E_NAME snapshots/s.sql:1: snapshot 's__vigil_tmp': relation name 's__vigil_tmp' has '__vigil_' in it, which Vigil keeps for the scratch tables it makes and drops beside a relation (a build of 's' would drop this table)",
      ]);
    }
    // a seed, through the CLI: exit 2
    const dir = makeProject({ 'seeds/hk__vigil_backup.csv': 'id\n1\n', 'models/m.sql': 'select 1 as a' });
    const cli = vigil(dir, ['compile']);
    removeDir(dir);
    expect(cli.code, cli.stdout + cli.stderr).toBe(2);
    expect(cli.stderr).toContain("seeds/hk__vigil_backup.csv:1:1: error: seed 'hk__vigil_backup': relation name 'hk__vigil_backup' has '__vigil_' in it");
  });

  it("a unique_key, partition_by or snapshot column longer than Postgres keeps (63 bytes) is an error at its config on a Postgres target only (was: the first build failed, every later run passed with the key cut)", () => {
    const pgYaml = "name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: 'postgres://h/db', schema: analytics }\n";
    const k = 'k'.repeat(64);
    const models = {
      'models/inc.sql': `{{ config(materialized='incremental',\n unique_key=['id', '${k}']) }}\nselect 1 as id, 2 as ${k}`,
      'models/parts.sql': `{{ config(materialized='incremental', incremental_strategy='insert_overwrite',\n partition_by={'field': '${'p'.repeat(64)}', 'data_type': 'date'}) }}\nselect current_date as ${'p'.repeat(64)}`,
      'models/fits.sql': `{{ config(materialized='incremental', unique_key='${'k'.repeat(63)}') }}\nselect 1 as ${'k'.repeat(63)}`,
      'models/tbl.sql': `{{ config(materialized='table') }}\nselect 1 as id`,
    };
    const snapshots = [{ path: 'snapshots/s.sql', text: `{% snapshot snap %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='${'u'.repeat(64)}') }}\nselect * from {{ ref('tbl') }}\n{% endsnapshot %}\n` }];
    const r = compileProject({ ...projectFiles({ projectYaml: pgYaml, models }), snapshots }, { env: {} });
    const said = (col: string) => `names the column '${col.slice(0, 40)}...', 64 bytes long; postgres keeps 63 bytes of a name (it would cut it: the first build fails on it, later ones pass with the cut name)`;
    expect(errors(r).map((d) => `${d.code} ${d.file}:${d.line}: ${d.message}`).sort()).toEqual([
      `E_CONFIG models/inc.sql:2: model 'inc': unique_key ${said(k)}`,
      `E_CONFIG models/parts.sql:2: model 'parts': partition_by ${said('p'.repeat(64))}`,
      `E_CONFIG snapshots/s.sql:1: snapshot 'snap': updated_at ${said('u'.repeat(64))}`,
    ]);
    // DuckDB keeps any length
    expect(errors(compileProject({ ...projectFiles({ models }), snapshots }, { env: {} }))).toEqual([]);
  });

  it("a dataset name BigQuery refuses (letters, digits and _ only) is an error at the target's dataset line or the schema config, exit 2 (was: compiled and checked clean)", () => {
    const bqYaml = (dataset: string) => `name: fixture\ndefault_target: prod\ntargets:\n  prod:\n    type: bigquery\n    project: p\n    dataset: ${dataset}\n`;
    const models = {
      'models/spaced.sql': "{{ config(materialized='table',\n schema='my schema') }}\nselect 1 as a",
      'models/dashed.sql': "{{ config(schema='raw-copy') }}\nselect 1 as a",
      'models/fine.sql': "{{ config(schema='Marts_2') }}\nselect 1 as a",
    };
    const r = compileProject(projectFiles({ projectYaml: bqYaml('analytics'), models }), { env: {} });
    expect(errors(r).map((d) => `${d.code} ${d.file}:${d.line}: ${d.message}`)).toEqual([
      "E_NAME models/spaced.sql:2: model 'spaced': BigQuery refuses the dataset name 'my schema': a dataset name is letters, digits and _, at most 1,024 characters",
      "E_NAME models/dashed.sql:1: model 'dashed': BigQuery refuses the dataset name 'raw-copy': a dataset name is letters, digits and _, at most 1,024 characters",
    ]);
    // the target's own dataset, also from the environment
    for (const [dataset, env] of [['analytics-prod', {}], ["\"{{ env_var('VIGIL_T_DS') }}\"", { VIGIL_T_DS: 'analytics prod' }], ['d'.repeat(1025), {}]] as const) {
      const t = compileProject(projectFiles({ projectYaml: bqYaml(dataset), models: { 'models/m.sql': 'select 1 as a' } }), { env });
      expect(errors(t).map((d) => `${d.code} ${d.file}:${d.line}`)).toEqual(['E_TARGET project.yaml:7']);
      expect(errors(t)[0].message).toMatch(/^target 'prod': BigQuery refuses the dataset name '.*': a dataset name is letters, digits and _, at most 1,024 characters/);
    }
    // DuckDB and Postgres schemas are not BigQuery datasets
    expect(errors(compileProject(projectFiles({ models }), { env: {} }))).toEqual([]);
    // through the CLI: exit 2
    const dir = makeProject({ 'project.yaml': bqYaml('analytics-prod'), 'models/m.sql': 'select 1 as a' }, false);
    const cli = vigil(dir, ['compile']);
    removeDir(dir);
    expect(cli.stderr + cli.stdout).toMatch(/project\.yaml:7:\d+: error: target 'prod': BigQuery refuses the dataset name 'analytics-prod'.*\n\s+hint: e\.g\. dataset: analytics_prod/);
    expect(cli.code).toBe(2);
  });

  it("a dict closed right before the tag's end or another brace is one tag, as in Jinja (was: nunjucks ended the tag at the first }} and failed)", () => {
    for (const fastPath of [true, false]) {
      const r = compileProject(
        projectFiles({
          projectYaml: 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: p, dataset: analytics }\n',
          models: { 'models/m.sql': "{{ config(materialized='table', partition_by={'field': 'id', 'data_type': 'int64', 'range': {'start': 0, 'end': 100, 'interval': 10}}) }}\nselect 1 as id\n{% set d = {'a': {'b': '}}'}} %}-- {{ d.a.b }}" } }),
        { env: {}, fastPath },
      );
      expect(errors(r), `fast path: ${fastPath}`).toEqual([]);
      const m = model(r, 'm');
      expect(m.config.partition_by).toEqual({ field: 'id', data_type: 'int64', range: { start: 0, end: 100, interval: 10 } });
      expect(m.compiled_sql.trimEnd()).toBe('\nselect 1 as id\n-- }}');
    }
  });

  it("dbt habits Vigil has not are said as such: a {% test %} block, config(pre-hook=...) (were: did you mean 'set'?, unknown config key 'undefined')", () => {
    const t = compile({ macros: { 'macros/even.sql': '{% test is_even(model, column_name) %}\nselect 1\n{% endtest %}' }, models: { 'models/a.sql': 'select 1 as x' } });
    expect(errors(t)[0].message).toMatch(/^unknown block tag: test: dbt's custom generic test \(\{% test %\}\) is not supported: write the check as a singular test/);
    const h = compile({ models: { 'models/a.sql': "{{ config(materialized='table', pre-hook=\"select 1\") }}\nselect 1 as x" } });
    expect(errors(h)).toEqual([expect.objectContaining({ line: 1, column: 33, message: "config key 'pre-hook' is not a name (Jinja reads it as a subtraction): write pre_hook=" })]);
  });

  it("a config error in a file's second snapshot block is at that block's line (was: the first block's)", () => {
    const files = { ...projectFiles({ models: { 'models/c.sql': 'select 1 as id, 2 as v' } }), snapshots: [{ path: 'snapshots/s.sql', text: "{% snapshot a %}\n{{ config(unique_key='id', strategy='check', check_cols='all', bogus=1) }}\nselect * from {{ ref('c') }}\n{% endsnapshot %}\n\n{% snapshot b %}\n{{ config(unique_key='id', strategy='check', check_cols='all', bogus=1) }}\nselect * from {{ ref('c') }}\n{% endsnapshot %}\n" }] };
    expect(errors(compileProject(files, { env: {} })).map((d) => `${d.line}: ${d.message}`)).toEqual(["2: snapshot 'a': unknown config key 'bogus'", "7: snapshot 'b': unknown config key 'bogus'"]);
  });

  it('a --vars key nothing reads is an error with a did-you-mean (was: a typo built silently with the default)', () => {
    const files = projectFiles({
      projectYaml: 'name: fixture\ntargets: { dev: { type: duckdb } }\nvars: { ratio: 1.75 }\n',
      models: { 'models/a.sql': "select {{ var('ratio') }} as r, {{ var('spike_ratio', 7) }} as o", 'models/b.sql': "{% set k = 'in_branch' %}{% if target.name == 'prod' %}{{ var(k) }}{% endif %}select 1 as x" },
    });
    const typo = compileProject(files, { env: {}, vars: { spike_ratoi: 2 } });
    expect(errors(typo)).toEqual([expect.objectContaining({ code: 'E_VAR', message: "--vars: 'spike_ratoi' is read by no model, macro, test, snapshot or hook (did you mean 'spike_ratio'?)" })]);
    const none = compileProject(files, { env: {}, vars: { zzz: 1 } });
    expect(errors(none)[0].hint).toContain('the vars read here: ratio, spike_ratio');
    // declared in project.yaml, read by a model, named in a branch not taken, or read by an inline query: fine
    for (const vars of [{ ratio: 2 }, { spike_ratio: 3 }, { in_branch: 1 }]) expect(errors(compileProject(files, { env: {}, vars }))).toEqual([]);
    const q = compileProject(files, { env: {}, vars: { cut: 7 }, queries: [{ key: 'inline', file: '--inline', text: "select {{ var('cut') }} as c", line: 1, column: 1 }] });
    expect(errors(q)).toEqual([]);
    // a project.yaml hook reads vars too
    const hooked = projectFiles({ projectYaml: 'name: fixture\ntargets: { dev: { type: duckdb } }\non_run_start:\n  - "select {{ var(\'batch_id\', 0) }}"\n', models: { 'models/a.sql': 'select 1 as x' } });
    expect(errors(compileProject(hooked, { env: {}, vars: { batch_id: 3 } }))).toEqual([]);
    // a name in a properties file or project.yaml that is no template's (a column, a test, a
    // target key) is not a read (was: every YAML value, made JSON, counted as a quoted name: a
    // typo that is a column's name built with the default, exit 0)
    const yml = projectFiles({
      projectYaml: "name: fixture\ntargets: { dev: { type: duckdb, schema: analytics } }\nvars: { payment_methods: [a] }\n",
      models: { 'models/a.sql': "select 'a' as payment_method, 1 as order_id where 'a' in ({{ var('payment_methods') | join(',') }})" },
      yml: { 'models/a.yml': "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: payment_method\n        tests: [not_null]\n      - name: order_id\n        tests:\n          - not_null:\n              config:\n                where: \"order_id > {{ var('min_order', 0) }}\"\n" },
    });
    for (const k of ['payment_method', 'schema']) expect(errors(compileProject(yml, { env: {}, vars: { [k]: 1 } })).map((d) => d.message), k).toEqual([expect.stringMatching(new RegExp(`^--vars: '${k}' is read by no model`))]);
    // a var a test's where: reads is read
    expect(errors(compileProject(yml, { env: {}, vars: { min_order: 2 } }))).toEqual([]);
  });

  it('env_var() reads the environment and names the missing variable', () => {
    const ok = compile({ models: { 'models/a.sql': "select '{{ env_var('VIGIL_T') }}' as v" } }, { VIGIL_T: 'hello' });
    expect(model(ok, 'a').compiled_sql).toBe("select 'hello' as v");
    const bad = compile({ models: { 'models/a.sql': "select '{{ env_var('VIGIL_T') }}' as v" } });
    expect(errors(bad)[0]).toMatchObject({ code: 'E_ENV_VAR', file: 'models/a.sql', line: 1, column: 12 });
    expect(errors(bad)[0].message).toContain('VIGIL_T');
  });

  it('is_incremental() renders both variants for incremental models, and {{ this }} is the model itself', () => {
    const r = compile({
      models: {
        'models/inc.sql':
          "{{ config(materialized='incremental', unique_key='id') }}\nselect * from {{ ref('src') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}",
        'models/src.sql': 'select 1 as id',
      },
    });
    const n = model(r, 'inc');
    expect(n.compiled_sql).not.toContain('where');
    expect(n.compiled_sql_incremental).toContain('where id > (select max(id) from "analytics"."inc")');
  });

  it('inlines ephemeral models as CTEs built from the compiled node, transitively and in order', () => {
    const r = compile({
      models: {
        'models/e1.sql': "{{ config(materialized='ephemeral') }}select 1 as id;",
        'models/e2.sql': "{{ config(materialized='ephemeral') }}with x as (select * from {{ ref('e1') }}) select * from x",
        'models/m.sql': "with y as (select * from {{ ref('e2') }}) select * from y as t",
      },
    });
    expect(errors(r)).toEqual([]);
    const sql = model(r, 'm').compiled_sql;
    expect(sql).toBe(
      'with "__vigil_eph_e1" as (\nselect 1 as id\n),\n"__vigil_eph_e2" as (\nwith x as (select * from "__vigil_eph_e1") select * from x\n)\nselect * from (\nwith y as (select * from "__vigil_eph_e2") select * from y as t\n) as __vigil_model',
    );
    expect(model(r, 'e1').relation).toBeNull();
  });

  it("drops a `;` followed only by comments before wrapping (an ephemeral's CTE, a model's subquery): `select 1; -- note` (was: the `;` kept, a syntax error)", () => {
    const r = compile({
      models: {
        'models/e1.sql': "{{ config(materialized='ephemeral') }}select 1 as id; -- note\n/* more */\n",
        'models/m.sql': "select * from {{ ref('e1') }}",
      },
    });
    expect(errors(r)).toEqual([]);
    expect(model(r, 'm').compiled_sql).toBe('with "__vigil_eph_e1" as (\nselect 1 as id\n)\nselect * from (\nselect * from "__vigil_eph_e1"\n) as __vigil_model');
    // a `;` inside a literal that ends the SQL is the literal's
    const lit = compile({ models: { 'models/e1.sql': "{{ config(materialized='ephemeral') }}select 'a; -- b' as id", 'models/m.sql': "select * from {{ ref('e1') }}" } });
    expect(model(lit, 'm').compiled_sql).toContain("select 'a; -- b' as id\n");
    // a quote in a comment or a quoted name before it is no literal's (was: counted, the `;` kept: a syntax error)
    const quoted = compile({
      models: {
        'models/e1.sql': "{{ config(materialized='ephemeral') }}-- the customer's orders\nselect 1 as id; -- note\n",
        'models/e2.sql': "{{ config(materialized='ephemeral') }}select 2 as \"it's\";\n/* done */",
        'models/m.sql': "select * from {{ ref('e1') }}, {{ ref('e2') }}",
      },
    });
    expect(errors(quoted)).toEqual([]);
    expect(model(quoted, 'm').compiled_sql).toContain("-- the customer's orders\nselect 1 as id\n),");
    expect(model(quoted, 'm').compiled_sql).toContain('select 2 as "it\'s"\n)');
  });

  it('user macros are compiled once and available in every model', () => {
    const r = compile({
      macros: { 'macros/m.sql': "{% macro cents(col) %}({{ col }} * 100){% endmacro %}{% macro is_err(c) %}{{ c }} <> 'success'{% endmacro %}" },
      models: { 'models/a.sql': "select {{ cents('price') }} as c, {{ count_if(is_err('status')) }} as e from t" },
    });
    expect(model(r, 'a').compiled_sql).toBe("select (price * 100) as c, count(*) filter (where status <> 'success') as e from t");
  });

  it('dialect helpers produce DuckDB SQL', () => {
    const r = compile({
      models: {
        'models/a.sql':
          "select {{ json_number('m', 'durationMs') }}, {{ json_text('m', 'status') }}, {{ json_has('m', 'k') }}, {{ percentile('x', 0.95) }}, {{ safe_divide('a', 'b') }}, {{ date_trunc('hour', 'ts') }}, {{ dateadd('day', -1, 'd') }}, {{ datediff('day', 'a', 'b') }}, {{ rolling_median('n', 'cap', 'date', 7) }}",
      },
    });
    expect(model(r, 'a').compiled_sql).toBe(
      `select ${duckDbDialect.json_number('m', 'durationMs')}, ` +
        "json_extract_string(m, '$.\"status\"'), coalesce(json_exists(m, '$.\"k\"'), false), quantile_disc(x, 0.95), (cast(a as double) / nullif(b, 0)), date_trunc('hour', ts), (d + (-1) * interval '1 day'), date_diff('day', a, b), median(n) over (partition by cap order by date rows between 7 preceding and 1 preceding)",
    );
  });

  it('a bad date part in a helper is a template error with its line', () => {
    const r = compile({ models: { 'models/a.sql': "select 1,\n  {{ date_trunc('fortnight', 'ts') }}" } });
    expect(errors(r)[0]).toMatchObject({ code: 'E_TEMPLATE', file: 'models/a.sql', line: 2 });
    expect(errors(r)[0].message).toContain("unknown date part 'fortnight'");
  });

  it('template syntax errors carry the line', () => {
    const r = compile({ models: { 'models/a.sql': "select 1\n\n   {{ foo( }}" } });
    expect(errors(r)[0]).toMatchObject({ code: 'E_TEMPLATE', line: 3 });
  });

  it('config comes from project defaults < YAML < config(), and bad values are reported', () => {
    const r = compile({
      projectYaml: 'name: fixture\ntargets: { dev: { type: duckdb } }\ndefaults: { materialized: table, tags: [core] }\n',
      yml: { 'models/p.yml': 'models:\n  - name: a\n    config: { materialized: view, tags: [yml] }\n  - name: b\n' },
      models: { 'models/a.sql': 'select 1', 'models/b.sql': "{{ config(tags=['inline']) }}select 1", 'models/c.sql': "{{ config(materialized='tabel') }}select 1" },
    });
    expect(model(r, 'a').config.materialized).toBe('view');
    expect(model(r, 'a').tags).toEqual(['core', 'yml']);
    expect(model(r, 'b').config.materialized).toBe('table');
    expect(model(r, 'b').tags).toEqual(['core', 'inline']);
    expect(errors(r)[0]).toMatchObject({ code: 'E_CONFIG', file: 'models/c.sql', line: 1, column: 11 });
  });

  it('generic tests compile into queries that return failing rows', () => {
    const r = compile({
      yml: {
        'models/sources.yml': SOURCES,
        'models/p.yml': `models:
  - name: a
    tests:
      - unique_combination_of_columns: { combination_of_columns: [d, c] }
    columns:
      - name: id
        tests:
          - not_null
          - accepted_values: { values: [x, "y'z"], severity: warn }
          - relationships: { to: "source('raw', 'events')", field: id }
`,
      },
      models: { 'models/a.sql': 'select 1 as id' },
    });
    expect(errors(r)).toEqual([]);
    const t = (name: string) => testNamed(r.manifest, name);
    expect(t('not_null_a_id').compiled_sql).toBe('select *\nfrom "analytics"."a" as t\nwhere id is null');
    expect(t('accepted_values_a_id').severity).toBe('warn');
    expect(t('accepted_values_a_id').compiled_sql).toContain("not in ('x', 'y''z')");
    expect(t('relationships_a_id').depends_on).toEqual(['model.fixture.a', 'source.fixture.raw.events']);
    expect(t('unique_combination_of_columns_a_d_c').compiled_sql).toContain('group by d, c');
    expect(t('unique_raw_events_id').attached_to).toBe('source.fixture.raw.events');
  });

  it("expression_is_true under a column writes the column before the expression, as dbt_utils does (was: `where not (>= 0)`, a parser error at run); on the model, the expression alone", () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id, 5 as amount union all select 2, -3',
      'models/a.yml': 'models:\n  - name: a\n    tests:\n      - expression_is_true: { expression: "amount > -10 and id > 0" }\n    columns:\n      - name: amount\n        tests:\n          - expression_is_true: { expression: ">= 0" }\n          - expression_is_true: { expression: "> -10", name: amount_floor }\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL 1 expression_is_true_a_amount /);
    expect(r.stdout).toMatch(/PASS amount_floor /);
    expect(r.stdout).toMatch(/PASS expression_is_true_a /);
    const manifest = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    expect(testNamed(manifest, 'expression_is_true_a_amount').compiled_sql).toBe('select *\nfrom "analytics"."a" as t\nwhere not (amount >= 0)');
    expect(testNamed(manifest, 'expression_is_true_a').compiled_sql).toBe('select *\nfrom "analytics"."a" as t\nwhere not (amount > -10 and id > 0)');
  });

  it("accepted_values writes each value as dbt's macro prints it (Python's str): True, 1.0, None (was: 'true', '1', 'null'); quote: false the same text", () => {
    const r = compile({
      yml: {
        'models/p.yml': `models:
  - name: a
    columns:
      - name: v
        tests:
          - accepted_values: { values: [true, 1.0, 2.50, 1.0e+3, 3, "1.0", null] }
          - accepted_values: { values: [false, 1.0], quote: false, name: unquoted }
          - accepted_values: { config: { values: [2.0] }, name: in_config }
`,
      },
      models: { 'models/a.sql': 'select 1 as v' },
    });
    expect(errors(r)).toEqual([]);
    const sql = (name: string) => testNamed(r.manifest, name).compiled_sql;
    expect(sql('accepted_values_a_v')).toContain("v not in ('True', '1.0', '2.5', '1000.0', '3', '1.0', 'None')");
    expect(sql('unquoted')).toContain('v not in (False, 1.0)');
    expect(sql('in_config')).toContain("v not in ('2.0')");
  });

  it("accepted_values refuses a value dbt (YAML 1.1) reads as another: yes is 'True' there, 0755 '493', 1e3 the text '1e3' when quoted (was: 'yes', '755', '1000.0' tested without a word)", () => {
    const r = compile({
      yml: {
        'models/p.yml': `models:
  - name: a
    columns:
      - name: v
        tests:
          - accepted_values: { values: [ok, 'yes', "on", true, 7] }
          - accepted_values: { values: [ok, yes], name: y }
          - accepted_values: { config: { values: [0755] }, name: octal }
          - accepted_values: { values: [1e3], name: sci }
          - accepted_values: { values: [1e3], quote: false, name: sci_unquoted }
`,
      },
      models: { 'models/a.sql': 'select 1 as v' },
    });
    expect(errors(r).map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`)).toEqual([
      "models/p.yml:7:45: accepted_values: yes is true to dbt (YAML 1.1) but the text 'yes' to Vigil (YAML 1.2): write true (as dbt reads it) or 'yes' (the text)",
      'models/p.yml:8:51: accepted_values: 0755 is 493 to dbt (YAML 1.1) but 755 to Vigil (YAML 1.2): write 493 (as dbt reads it) or 755',
      "models/p.yml:9:41: accepted_values: 1e3 is the text '1e3' to dbt (YAML 1.1) but 1000 to Vigil (YAML 1.2): write '1e3' (as dbt reads it) or 1000",
    ]);
  });

  it("accepted_values refuses an integer past 2^53, which reading rounds (was: 9007199254740993 tested as '9007199254740992', and 12345678901234567890 an internal error); quoted, or a float, it is the value written", () => {
    const r = compile({
      yml: {
        'models/p.yml': `models:
  - name: a
    columns:
      - name: v
        tests:
          - accepted_values: { values: [1, 9007199254740993] }
          - accepted_values: { config: { values: [-12345678901234567890] }, quote: false, name: neg }
          - accepted_values: { values: [0x2E000000000001], name: hex }
          - accepted_values: { values: ['9007199254740993', 9007199254740991, 1.0e+20, 0x1E000000000001], name: exact }
`,
      },
      models: { 'models/a.sql': 'select 1 as v' },
    });
    expect(errors(r).map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`)).toEqual([
      "models/p.yml:6:44: accepted_values: 9007199254740993 is past 2^53, where a YAML number is no longer exact (it is rounded as it is read, to 9007199254740992): quote it ('9007199254740993')",
      "models/p.yml:7:51: accepted_values: -12345678901234567890 is past 2^53, where a YAML number is no longer exact (it is rounded as it is read, to -12345678901234567000): quote it ('-12345678901234567890')",
      // (quoted as written, '0x2E000000000001' would be tested: dbt's PyYAML reads the int 12947848928690177 and prints it in decimal)
      "models/p.yml:8:41: accepted_values: 0x2E000000000001 is past 2^53, where a YAML number is no longer exact (it is rounded as it is read, to 12947848928690176): quote it ('12947848928690177') — the integer dbt reads 0x2E000000000001 as (PyYAML), printed as dbt prints it",
    ]);
    expect(testNamed(r.manifest, 'exact').compiled_sql).toContain("v not in ('9007199254740993', '9007199254740991', '1e+20', '8444249301319681')");
  });

  it("accepted_values: a timestamp dbt prints otherwise than written is an error at its line, and a zero written as a float prints as Python's (PyYAML 6: '2024-01-01 10:00:00+00:00', '0.0', '-0.0'; was: the text as written and '0', tested without a word)", () => {
    const r = compile({
      yml: {
        'models/p.yml': `models:
  - name: a
    columns:
      - name: v
        tests:
          - accepted_values: { values: [ok, 2024-01-01T10:00:00Z] }
          - accepted_values: { config: { values: [2024-1-5 10:00:00.5] }, name: frac }
          - accepted_values: { values: [2024-01-01T10:00:00Z, 2024-01-01T10:00:00Z], quote: false, name: unquoted }
          - accepted_values: { values: [2024-01-01, 2024-01-01 10:00:00, 2024-1-5, '2024-01-01T10:00:00Z'], name: same }
          - accepted_values: { values: [0.0, -0.0, 0, -0, 0.5], name: zeros }
`,
      },
      models: { 'models/a.sql': 'select 1 as v' },
    });
    expect(errors(r).map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`)).toEqual([
      "models/p.yml:6:45: accepted_values: 2024-01-01T10:00:00Z is a datetime to dbt (YAML 1.1), printed '2024-01-01 10:00:00+00:00', but the text '2024-01-01T10:00:00Z' to Vigil (YAML 1.2): write '2024-01-01 10:00:00+00:00' (as dbt prints it) or '2024-01-01T10:00:00Z' (quoted: the text as written, to both)",
      "models/p.yml:7:51: accepted_values: 2024-1-5 10:00:00.5 is a datetime to dbt (YAML 1.1), printed '2024-01-05 10:00:00.500000', but the text '2024-1-5 10:00:00.5' to Vigil (YAML 1.2): write '2024-01-05 10:00:00.500000' (as dbt prints it) or '2024-1-5 10:00:00.5' (quoted: the text as written, to both)",
    ]);
    expect(testNamed(r.manifest, 'same').compiled_sql).toContain("v not in ('2024-01-01', '2024-01-01 10:00:00', '2024-1-5', '2024-01-01T10:00:00Z')");
    expect(testNamed(r.manifest, 'zeros').compiled_sql).toContain("v not in ('0.0', '-0.0', '0', '0', '0.5')");
  });

  it('an empty tests: (entries commented out) is said as such, with the way out (was: "expected array, received null")', () => {
    const r = compile({
      yml: { 'models/p.yml': 'models:\n  - name: a\n    tests:\n    #  - unique\n    columns:\n      - name: v\n        data_tests:\n' },
      models: { 'models/a.sql': 'select 1 as v' },
    });
    expect(errors(r).map((d) => `${d.file}:${d.line}: ${d.message}`).sort()).toEqual([
      'models/p.yml:3: models[0].tests: is empty (null): a list goes here — remove the key, or write [] for none',
      'models/p.yml:7: models[0].columns[0].data_tests: is empty (null): a list goes here — remove the key, or write [] for none',
    ]);
  });

  it("a data test's SQL arguments are templates, as in dbt: var, env_var, ref rendered (a ref a dependency); an unknown var is an error at its YAML line, with the nearest name", () => {
    const projectYaml = `${BASIC_PROJECT_YAML}vars:\n  min_id: 5\n  region: eu\n`;
    const yml = (where: string) => `models:
  - name: a
    tests:
      - expression_is_true: { expression: "id >= {{ var('min_id') }}" }
    columns:
      - name: id
        tests:
          - not_null: { where: "${where}" }
          - accepted_values:
              values: [1, "{{ env_var('VIGIL_TEST_OTHER_ID', '2') }}"]
              quote: false
              config:
                where: |
                  id in (select id from {{ ref('b') }})
                  and '{{ var("region") }}' = 'eu'
`;
    const r = compile({ projectYaml, models: { 'models/a.sql': 'select 1 as id', 'models/b.sql': 'select 1 as id' }, yml: { 'models/p.yml': yml("id > {{ var('min_id', 0) }}") } });
    expect(errors(r)).toEqual([]);
    const t = (name: string) => testNamed(r.manifest, name);
    expect(t('not_null_a_id').compiled_sql).toBe('select *\nfrom (select * from "analytics"."a" where id > 5) as t\nwhere id is null');
    expect(t('expression_is_true_a').compiled_sql).toContain('where not (id >= 5)');
    expect(t('accepted_values_a_id').compiled_sql).toContain(`from (select * from "analytics"."a" where id in (select id from "analytics"."b")\nand 'eu' = 'eu') as t`);
    expect(t('accepted_values_a_id').compiled_sql).toContain('not in (1, 2)');
    expect(t('accepted_values_a_id').depends_on).toEqual(['model.fixture.a', 'model.fixture.b']);

    const bad = compile({ projectYaml, models: { 'models/a.sql': 'select 1 as id' }, yml: { 'models/p.yml': yml("id > {{ var('min_idd') }}").replace("ref('b')", "ref('aa')").replace('var("region")', 'env_var("VIGIL_TEST_UNSET_X")') } });
    expect(errors(bad).map((d) => [d.code, d.file, d.line, d.column, d.message])).toEqual([
      ['E_VAR', 'models/p.yml', 8, 41, "var('min_idd') is not defined — did you mean 'min_id'?"],
      ['E_ENV_VAR', 'models/p.yml', 15, 27, 'environment variable VIGIL_TEST_UNSET_X is not set'],
      ['E_REF', 'models/p.yml', 14, 44, "ref('aa') not found — did you mean 'a'?"],
    ]);
  });

  it("a column's tags are those of its tests, as dbt applies them (was: accepted and ignored, tag:x matched nothing)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,email\n1,a@x.com\n',
      'seeds/seeds.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        tags: [piitag]\n        tests: [unique, { not_null: { tags: [own] } }]\n      - name: id\n        tests: [unique]\n',
      'models/a.sql': "select id from {{ ref('people') }}",
      'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tags: [piitag, keys]\n        tests: [not_null]\n',
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: events\n        columns:\n          - name: id\n            tags: [piitag]\n            tests: [not_null]\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['ls', '-s', 'tag:piitag']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['not_null_a_id', 'not_null_people_email', 'not_null_raw_events_id', 'unique_people_email']);
    expect(vigil(dir, ['ls', '-s', 'tag:own']).stdout.trim()).toBe('not_null_people_email');
    expect(vigil(dir, ['ls', '-s', 'tag:keys']).stdout.trim()).toBe('not_null_a_id');
    expect(vigil(dir, ['compile']).code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    expect(testNamed(manifest, 'not_null_people_email').tags).toEqual(['own', 'piitag']);
    expect(testNamed(manifest, 'unique_people_id').tags).toEqual([]);
  });

  it('reports unknown tests and unknown test arguments at their YAML line', () => {
    const r = compile({
      yml: { 'models/p.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - not_nul\n          - accepted_values: { valuez: [1] }\n' },
      models: { 'models/a.sql': 'select 1 as id' },
    });
    expect(errors(r)).toMatchObject([
      { code: 'E_TEST', file: 'models/p.yml', line: 6, message: "unknown test 'not_nul'", hint: "did you mean 'not_null'?" },
      { code: 'E_TEST', file: 'models/p.yml', line: 7, message: "accepted_values: unknown argument 'valuez'", hint: "did you mean 'values'? accepted_values takes: values, quote, severity, where, name, tags, config, fail_calc, warn_if, error_if, limit, store_failures, store_failures_as, schema" },
    ]);
    // one under config: at its own line (was: the test's line)
    const inConfig = compile({
      yml: { 'models/p.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - not_null:\n              config:\n                severity: warn\n                error_iff: ">10"\n' },
      models: { 'models/a.sql': 'select 1 as id' },
    });
    expect(errors(inConfig)).toMatchObject([{ code: 'E_TEST', file: 'models/p.yml', line: 9, message: "not_null: unknown argument 'error_iff'" }]);
  });

  it('reuses cached renders when nothing changed and re-renders what did', () => {
    const cache: RenderCache = new Map();
    const models = { 'models/a.sql': 'select 1 as x', 'models/b.sql': "select * from {{ ref('a') }}" };
    const first = compile({ models }, {}, cache);
    expect(first.cacheHits).toBe(0);
    const second = compile({ models }, {}, cache);
    expect(second.cacheHits).toBe(2);
    expect(model(second, 'b').compiled_sql).toBe(model(first, 'b').compiled_sql);
    const third = compile({ models: { ...models, 'models/a.sql': "{{ config(alias='a2') }}select 1 as x" } }, {}, cache);
    expect(third.cacheHits).toBe(1);
    // b was not re-rendered but its ref still resolves to a's new alias
    expect(model(third, 'b').compiled_sql).toBe('select * from "analytics"."a2"');
  });

  it('a cached render is not reused when an env var it read has changed', () => {
    const cache: RenderCache = new Map();
    const models = { 'models/a.sql': "select '{{ env_var('VIGIL_X', 'd') }}' as v" };
    compile({ models }, { VIGIL_X: 'one' }, cache);
    const r = compile({ models }, { VIGIL_X: 'two' }, cache);
    expect(r.cacheHits).toBe(0);
    expect(model(r, 'a').compiled_sql).toBe("select 'two' as v");
  });

  it('an unknown target names the targets that exist', () => {
    // (a model reading Vigil's own tables is no second error: source('vigil', ...) is declared without a target too)
    const r = compileProject(projectFiles({ models: { 'models/a.sql': 'select 1', 'models/b.sql': "select * from {{ source('vigil', 'alert_events') }}" } }), { env: {}, target: 'prdo' });
    expect(errors(r).map((d) => d.code)).toEqual(['E_TARGET']);
    expect(errors(r)[0]).toMatchObject({ code: 'E_TARGET', file: 'project.yaml' });
    expect(errors(r)[0].message).toContain("target 'prdo' is not defined");
  });
});

describe('render cache with file stamps', () => {
  it('does not read a file whose size and modification time are unchanged, and does read a changed one', () => {
    const cache: RenderCache = new Map();
    let reads = 0;
    const file = (path: string, text: string, mtimeMs: number) => {
      let read: string | undefined;
      return {
        path,
        stamp: { size: text.length, mtimeMs },
        get text() {
          if (read === undefined) {
            reads++;
            read = text;
          }
          return read;
        },
      };
    };
    const files = (aText: string, aTime: number) => {
      const f = projectFiles({});
      f.models = [file('models/a.sql', aText, aTime), file('models/b.sql', "select * from {{ ref('a') }}", 1)];
      return f;
    };
    compileProject(files('select 1 as x', 1), { env: {}, cache });
    expect(reads).toBe(2);
    reads = 0;
    const again = compileProject(files('select 1 as x', 1), { env: {}, cache });
    expect(reads).toBe(0);
    expect(again.cacheHits).toBe(2);
    expect((again.manifest.nodes['model.fixture.b'] as ModelNode).compiled_sql).toBe('select * from "analytics"."a"');
    reads = 0;
    const changed = compileProject(files('select 2 as x', 2), { env: {}, cache });
    expect(reads).toBe(1);
    expect(changed.cacheHits).toBe(1);
    expect((changed.manifest.nodes['model.fixture.a'] as ModelNode).compiled_sql).toBe('select 2 as x');
  });

  it("a file modified within RACY_MS of the compile is read again however its stamp looks: an edit in the same timestamp tick keeps size and mtime (was: the old SQL, git's racy case)", () => {
    const cache: RenderCache = new Map();
    const now = Date.now();
    const files = (a: string, seed: string) => {
      const f = projectFiles({});
      f.models = [{ path: 'models/a.sql', text: a, stamp: { size: a.length, mtimeMs: now } }];
      f.seeds = [{ path: 'seeds/s.csv', text: seed, stamp: { size: seed.length, mtimeMs: now } }];
      return f;
    };
    const first = compileProject(files('select 1 as x', 'id\n1\n'), { env: {}, cache });
    expect((first.manifest.nodes['model.fixture.a'] as ModelNode).compiled_sql).toBe('select 1 as x');
    // the same size and modification time, another text: read, not taken from the stamp
    const edited = compileProject(files('select 2 as x', 'id\n2\n'), { env: {}, cache });
    expect((edited.manifest.nodes['model.fixture.a'] as ModelNode).compiled_sql).toBe('select 2 as x');
    const seedSum = (r: typeof first) => (r.manifest.nodes['seed.fixture.s'] as { checksum?: string }).checksum;
    expect(seedSum(first)).toMatch(/\w/);
    expect(seedSum(edited)).not.toBe(seedSum(first));
    // a file older than that keeps its stamp (the 10,000 models of a recompile are not read)
    expect(cache.get('models/a.sql')?.stamp).toBeUndefined();
    const old = projectFiles({});
    old.models = [{ path: 'models/a.sql', text: 'select 3 as x', stamp: { size: 13, mtimeMs: now - 10_000 } }];
    compileProject(old, { env: {}, cache });
    expect(cache.get('models/a.sql')?.stamp).toMatchObject({ size: 13, mtimeMs: now - 10_000 });
  });
});

describe('partition_by', () => {
  it('takes data_type and granularity in any case; int64 needs its range, and a range needs int64', () => {
    const ok = compile({ models: { 'models/h.sql': "{{ config(materialized='table', partition_by={'field': 'hour', 'data_type': 'TIMESTAMP', 'granularity': 'Day'}) }}\nselect 1 as hour" } });
    expect(errors(ok)).toEqual([]);
    expect(model(ok, 'h').config.partition_by).toEqual({ field: 'hour', data_type: 'timestamp', granularity: 'day' });
    const ranged = compile({ models: { 'models/h.sql': "{{ config(materialized='table', partition_by={'field': 'n', 'data_type': 'int64', 'range': {'start': 0, 'end': 100, 'interval': 10} }) }}\nselect 1 as n" } });
    expect(errors(ranged)).toEqual([]);
    // (nested dicts need a space before the template's closing braces: `} }) }}`)
    for (const pb of ["{'field': 'n', 'data_type': 'int64'}", "{'field': 'd', 'range': {'start': 0, 'end': 100, 'interval': 10} }"]) {
      const bad = compile({ models: { 'models/h.sql': `{{ config(materialized='table', partition_by=${pb}) }}\nselect 1 as n` } });
      expect(errors(bad).map((d) => d.message)).toEqual([expect.stringMatching(/data_type: int64 goes with range: \{ start, end, interval \}/)]);
    }
  });
});

describe('the template context dbt users expect', () => {
  it('this and its parts, model, target, execute', () => {
    const r = compile({
      models: {
        'models/m.sql': [
          "{{ config(materialized='table', schema='marts', alias='m_v2') }}",
          "select '{{ this }}' as rel, '{{ this.schema }}' as s, '{{ this.identifier }}' as i, '{{ this.name }}' as n, '{{ this.database }}' as d,",
          "  '{{ model.name }}' as model_name, '{{ model.path }}' as model_path,",
          "  '{{ target.name }}' as t, '{{ target.type }}' as ty, '{{ target.schema }}' as ts, '{{ target.database }}' as td,",
          "  {% if execute %}1{% else %}0{% endif %} as executed",
        ].join('\n'),
      },
    });
    expect(errors(r)).toEqual([]);
    expect(model(r, 'm').compiled_sql).toBe(
      "\nselect '\"marts\".\"m_v2\"' as rel, 'marts' as s, 'm_v2' as i, 'm_v2' as n, 'dev' as d,\n  'm' as model_name, 'models/m.sql' as model_path,\n  'dev' as t, 'duckdb' as ty, 'analytics' as ts, 'dev' as td,\n  1 as executed",
    );
  });

  it('run_started_at and invocation_id: the run\'s, and a model reading them is rendered again every run', () => {
    const cache: RenderCache = new Map();
    const files = () => projectFiles({ models: { 'models/m.sql': "select '{{ run_started_at }}' as at, '{{ invocation_id }}' as id", 'models/n.sql': 'select 1 as x' } });
    const a = compileProject(files(), { env: {}, cache });
    const b = compileProject(files(), { env: {}, cache });
    expect(errors(a)).toEqual([]);
    expect(b.cacheHits).toBe(1); // n only
    expect((a.manifest.nodes['model.fixture.m'] as ModelNode).compiled_sql).toMatch(/^select '\d{4}-\d\d-\d\dT[\d:.]+Z' as at, '[0-9a-f-]{36}' as id$/);
    expect((a.manifest.nodes['model.fixture.m'] as ModelNode).compiled_sql).not.toBe((b.manifest.nodes['model.fixture.m'] as ModelNode).compiled_sql);
  });

  it("run_started_at has dbt's datetime members (strftime, isoformat, year...) in both renderers, and is still its ISO text to print, slice and string methods; a member or directive it has not is an error at its line (was: 'has no method strftime')", () => {
    const r = compile({
      models: {
        'models/m.sql': "select '{{ run_started_at }}' as at, '{{ run_started_at.strftime(\"%Y-%m-%d %H\") }}' as d, {{ run_started_at.year }} as y, '{{ run_started_at[:10] }}' as day, '{{ run_started_at.isoformat() }}' as iso, '{{ run_started_at.upper() }}' as u",
        // (a for loop: nunjucks' own renderer, not the fast path)
        'models/n.sql': "{% for i in [1] %}select '{{ run_started_at }}' as at, '{{ run_started_at.strftime('%Y-%m-%d %H') }}' as d, {{ run_started_at.month }} as mo{% endfor %}",
      },
    });
    expect(errors(r)).toEqual([]);
    const m = /^select '([^']+)' as at, '([^']+)' as d, (\d+) as y, '([^']+)' as day, '([^']+)' as iso, '([^']+)' as u$/.exec(model(r, 'm').compiled_sql);
    expect(m, model(r, 'm').compiled_sql).not.toBeNull();
    const at = new Date(m![1]);
    expect(m![1]).toBe(at.toISOString());
    expect(m![2]).toBe(`${m![1].slice(0, 10)} ${m![1].slice(11, 13)}`);
    expect(Number(m![3])).toBe(at.getUTCFullYear());
    expect(m![4]).toBe(m![1].slice(0, 10));
    expect(m![5]).toBe(`${m![1].slice(0, 23)}000+00:00`.replace(/\.000000\+/, '+'));
    expect(m![6]).toBe(m![1].toUpperCase());
    const n = /^select '([^']+)' as at, '([^']+)' as d, (\d+) as mo$/.exec(model(r, 'n').compiled_sql);
    expect(n, model(r, 'n').compiled_sql).not.toBeNull();
    expect(n![2]).toBe(`${n![1].slice(0, 10)} ${n![1].slice(11, 13)}`);
    expect(Number(n![3])).toBe(new Date(n![1]).getUTCMonth() + 1);
    // still a string to tests, filters, indexing and config() values, in both renderers (R11)
    const text = compile({
      models: {
        'models/t.sql': "{% macro q(v) %}{% if v is string %}'{{ v }}'{% else %}{{ v }}{% endif %}{% endmacro %}{{ config(alias='t_' ~ run_started_at[:4], meta={'built': run_started_at}) }}select {{ q(run_started_at) }} as a, '{{ run_started_at is string }}' as s, '{{ run_started_at | first }}{{ run_started_at[0] }}' as f, '{{ run_started_at | reverse }}' as r, {{ run_started_at | list | length }} as n",
        'models/u.sql': "{% for i in [1] %}select '{{ run_started_at is string }}' as s, '{{ run_started_at | first }}{{ run_started_at[0] }}' as f, {{ run_started_at | list | length }} as n{% endfor %}",
      },
    });
    expect(errors(text)).toEqual([]);
    const t = model(text, 't');
    const iso = /^select '([^']+)' as a/.exec(t.compiled_sql)?.[1] ?? '';
    expect(iso).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(t.compiled_sql).toBe(`select '${iso}' as a, 'True' as s, '22' as f, '${[...iso].reverse().join('')}' as r, 24 as n`);
    expect(t.config.meta).toEqual({ built: iso });
    expect(t.relation?.identifier).toBe(`t_${iso.slice(0, 4)}`);
    expect(model(text, 'u').compiled_sql).toBe("select 'True' as s, '22' as f, 24 as n");
    const bad = compile({
      models: {
        'models/a.sql': "select 1 as x,\n  '{{ run_started_at.strftme('%Y') }}' as d",
        'models/b.sql': "select 1 as x,\n\n  '{{ run_started_at.strftime('%Y-%Q') }}' as d",
        'models/c.sql': "{% for i in [1] %}select '{{ run_started_at.strftime('%Q') }}' as d{% endfor %}",
      },
    });
    const e = Object.fromEntries(errors(bad).map((d) => [d.file, `${d.line}: ${d.message}`]));
    expect(e['models/a.sql']).toMatch(/^2: 'run_started_at' has no (method|attribute) 'strftme' — did you mean 'strftime'\?/);
    expect(e['models/b.sql']).toMatch(/^3: .*strftime: '%Q' is not a directive of Python's strftime/);
    expect(e['models/c.sql']).toMatch(/^1: .*strftime: '%Q' is not a directive of Python's strftime/);
  });

  it("a generic test's unique_id is test.<project>.<name>.<hash of its definition>, whatever other tests there are and the order files are read in (was: test.<project>.<name>, and a test met first took the name: _2 by file order)", () => {
    const AB = 'models:\n  - name: a_b\n    columns:\n      - name: c\n        tests: [not_null, { accepted_values: { values: [x] } }, { accepted_values: { values: [y], severity: warn } }]\n';
    const A = 'models:\n  - name: a\n    columns:\n      - name: b_c\n        tests: [not_null]\n';
    const models = { 'models/a_b.sql': 'select 1 as c', 'models/a.sql': 'select 1 as b_c' };
    /** each test's unique_id and name by what it tests (its node, column and arguments) */
    const tests = (r: ReturnType<typeof compile>) =>
      Object.fromEntries(
        Object.values(r.manifest.nodes)
          .filter((n): n is TestNode => n.resource_type === 'test')
          .map((n) => [`${n.test_type} ${n.attached_to} ${n.column} ${n.compiled_sql.match(/in \((.*)\)/)?.[1] ?? ''}`, [n.unique_id, n.name]]),
      );
    const one = compile({ models, yml: { 'models/1.yml': AB, 'models/2.yml': A } });
    expect(errors(one)).toEqual([]);
    const ids = tests(one);
    expect(ids).toEqual({
      'not_null model.fixture.a_b c ': [expect.stringMatching(/^test\.fixture\.not_null_a_b_c\.[0-9a-f]{10}$/), expect.stringMatching(/^not_null_a_b_c_[0-9a-f]{10}$/)],
      'not_null model.fixture.a b_c ': [expect.stringMatching(/^test\.fixture\.not_null_a_b_c\.[0-9a-f]{10}$/), expect.stringMatching(/^not_null_a_b_c_[0-9a-f]{10}$/)],
      "accepted_values model.fixture.a_b c 'x'": [expect.stringMatching(/^test\.fixture\.accepted_values_a_b_c\.[0-9a-f]{10}$/), expect.stringMatching(/^accepted_values_a_b_c_[0-9a-f]{10}$/)],
      "accepted_values model.fixture.a_b c 'y'": [expect.stringMatching(/^test\.fixture\.accepted_values_a_b_c\.[0-9a-f]{10}$/), expect.stringMatching(/^accepted_values_a_b_c_[0-9a-f]{10}$/)],
    });
    // each name ends with its unique_id's hash; four distinct ids
    for (const [id, name] of Object.values(ids)) expect(name.endsWith(`_${id.split('.').pop()}`)).toBe(true);
    expect(new Set(Object.values(ids).map(([id]) => id)).size).toBe(4);
    // the files and models read in the other order: the same ids and names
    const swapped = compile({ models: { 'models/a.sql': models['models/a.sql'], 'models/a_b.sql': models['models/a_b.sql'] }, yml: { 'models/1.yml': A, 'models/2.yml': AB } });
    expect(tests(swapped)).toEqual(ids);
    // the test on a.b_c gone, and the first accepted_values: the others keep their unique_ids, and their own names back
    const fewer = compile({ models, yml: { 'models/1.yml': AB.replace('{ accepted_values: { values: [x] } }, ', '') } });
    expect(errors(fewer)).toEqual([]);
    expect(tests(fewer)).toEqual({
      'not_null model.fixture.a_b c ': [ids['not_null model.fixture.a_b c '][0], 'not_null_a_b_c'],
      "accepted_values model.fixture.a_b c 'y'": [ids["accepted_values model.fixture.a_b c 'y'"][0], 'accepted_values_a_b_c'],
    });
    // a name the tests named alike share is taken: a `name:` or a singular test of it is refused
    const taken = compile({ models, yml: { 'models/1.yml': AB, 'models/2.yml': A.replace('[not_null]', '[{ unique: { name: not_null_a_b_c } }]') } });
    expect(errors(taken)).toEqual([expect.objectContaining({ code: 'E_DUPLICATE', file: 'models/2.yml', message: expect.stringContaining("name 'not_null_a_b_c' is the name of the test at models/1.yml:5") })]);
    // the same test twice (its configs aside) would be one unique_id: an error at the second
    const twice = compile({ models, yml: { 'models/1.yml': 'models:\n  - name: a\n    columns:\n      - name: b_c\n        tests:\n          - not_null\n          - not_null: { where: "b_c > 0" }\n' } });
    expect(errors(twice)).toEqual([expect.objectContaining({ code: 'E_DUPLICATE', file: 'models/1.yml', line: 7, message: expect.stringContaining('this test is the test at models/1.yml:6 again') })]);
    // given a name of its own, it is another test
    const named = compile({ models, yml: { 'models/1.yml': 'models:\n  - name: a\n    columns:\n      - name: b_c\n        tests:\n          - not_null\n          - not_null: { where: "b_c > 0", name: positive_b_c_present }\n' } });
    expect(errors(named)).toEqual([]);
    expect(Object.keys(named.manifest.nodes).filter((id) => id.startsWith('test.')).map(withoutHash).sort()).toEqual(['test.fixture.not_null_a_b_c', 'test.fixture.positive_b_c_present']);
  });

  it('a singular test takes its name once: a second file of that name, or a generic test of it, is an error (as in dbt), not renamed _2', () => {
    const two = compile({ models: { 'models/m.sql': 'select 1 as x' }, tests: { 'tests/a/dup.sql': "select * from {{ ref('m') }} where x < 0", 'tests/b/dup.sql': "select * from {{ ref('m') }} where x > 9" } });
    expect(errors(two)).toEqual([expect.objectContaining({ code: 'E_DUPLICATE', file: 'tests/b/dup.sql', line: 1, message: "singular test 'dup' has the name of another test (tests/a/dup.sql): -s dup could not tell them apart" })]);
    const generic = compile({
      models: { 'models/m.sql': 'select 1 as x' },
      yml: { 'models/m.yml': 'models:\n  - name: m\n    columns:\n      - name: x\n        tests: [not_null]\n' },
      tests: { 'tests/not_null_m_x.sql': "select * from {{ ref('m') }} where x is null" },
    });
    expect(errors(generic)).toEqual([expect.objectContaining({ code: 'E_DUPLICATE', file: 'tests/not_null_m_x.sql', message: "singular test 'not_null_m_x' has the name of another test (models/m.yml:5): -s not_null_m_x could not tell them apart" })]);
  });

  it('a singular test with no query (empty, or comments only) is an error at the file, not a parser error in the wrapper at run time', () => {
    for (const text of ['', '-- to do\n/* later */\n', "{{ config(severity='warn') }}\n-- nothing yet\n"]) {
      const r = compile({ models: { 'models/m.sql': 'select 1 as x' }, tests: { 'tests/t.sql': text } });
      expect(errors(r), JSON.stringify(text)).toEqual([expect.objectContaining({ code: 'E_TEST', file: 'tests/t.sql', line: 1, message: "singular test 't' holds no query: a singular test is a SELECT of the rows that fail it" })]);
    }
    // disabled: nothing to say
    expect(errors(compile({ models: { 'models/m.sql': 'select 1 as x' }, tests: { 'tests/t.sql': '{{ config(enabled=false) }}' } }))).toEqual([]);
  });

  it('model. outside a model is an error, not an empty string', () => {
    const r = compile({ models: { 'models/m.sql': 'select 1 as x' }, tests: { 'tests/t.sql': "select * from {{ ref('m') }} where '{{ model.name }}' = ''" } });
    expect(errors(r)).toEqual([expect.objectContaining({ file: 'tests/t.sql', line: 1, message: expect.stringMatching(/model\.name is only defined while a model renders/) })]);
  });
});
