/**
 * Folder-level configuration (project.yaml `models:`), as dbt users write it: the precedence
 * defaults < folders (outer to inner) < properties YAML < config(), tags and hooks adding up,
 * the dbt habit of the project's name first, and every mistake at its project.yaml line.
 */
import { describe, expect, it } from 'vitest';
import { compileProject } from '../../src/compile/compile-project.js';
import type { ModelNode } from '../../src/compile/manifest.js';
import { projectFiles } from '../helpers.js';

const MODELS = {
  'models/staging/stg_a.sql': 'select 1 as id',
  'models/marts/m1.sql': "select * from {{ ref('stg_a') }}",
  'models/marts/finance/f1.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('m1') }}",
  'models/marts/finance/f2.sql': "select * from {{ ref('m1') }}",
  'models/top.sql': 'select 2 as id',
};

function compile(models: string, yml: Record<string, string> = {}) {
  const projectYaml = `name: shop\ntargets: { dev: { type: duckdb, schema: analytics } }\ndefaults: { tags: [all], pre_hook: "select 'defaults'" }\nmodels:\n${models}`;
  const r = compileProject(projectFiles({ projectYaml, models: MODELS, yml }), { env: {} });
  const node = (n: string) => r.manifest.nodes[`model.shop.${n}`] as ModelNode;
  return { r, node, errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.line}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`) };
}

describe('models: in project.yaml', () => {
  it("a folder's unique_key on a model that is not incremental is not warned of, as dbt ignores it (was: W_CONFIG for every such model, on every command); the model's own still is", () => {
    const warned = (yml: Record<string, string> = {}) =>
      compile(`  marts:\n    +unique_key: id\n    finance:\n      +materialized: incremental\n`, yml)
        .r.diagnostics.filter((d) => d.code === 'W_CONFIG')
        .map((d) => `${d.file}:${d.line}: ${d.message}`);
    // f1 (view, its config()), m1 (a view): the folder's key only; f2 and the finance folder are incremental
    expect(warned()).toEqual([]);
    expect(warned({ 'models/marts/props.yml': 'models:\n  - name: m1\n    config: { unique_key: id }\n' })).toEqual(['models/marts/props.yml:3: unique_key is set but the model is materialized as view; it only applies to incremental models']);
  });
  it('defaults < folders (outer to inner) < properties YAML < config(); tags and hooks add up', () => {
    const { node, errors } = compile(
      `  +materialized: view
  staging:
    +schema: staging
    +tags: [stg]
  marts:
    +materialized: table
    +pre_hook: "select 'marts'"
    finance:
      +materialized: incremental
      +unique_key: id
      +tags: finance
      +pre_hook: "select 'finance'"
`,
      { 'models/marts/props.yml': 'models:\n  - name: f2\n    config: { materialized: table, tags: [props], pre_hook: "select \'props\'" }\n' },
    );
    expect(errors).toEqual([]);
    expect(node('top').config.materialized).toBe('view'); // the root level
    expect(node('stg_a').relation?.schema).toBe('staging');
    expect(node('stg_a').tags).toEqual(['all', 'stg']);
    expect(node('m1').config.materialized).toBe('table');
    expect(node('f1').config.materialized).toBe('view'); // config() wins
    expect(node('f2').config.materialized).toBe('table'); // properties YAML wins over the folder
    expect(node('f2').tags).toEqual(['all', 'finance', 'props']);
    expect(node('f2').pre_hooks?.map((h) => h.sql)).toEqual(["select 'defaults'", "select 'marts'", "select 'finance'", "select 'props'"]);
    expect(node('f2').pre_hooks?.map((h) => h.origin)).toEqual(['project.yaml:3', 'project.yaml:11', 'project.yaml:16', 'models/marts/props.yml:3']);
    // an incremental model from a folder config gets its incremental SQL rendered
    const inc = compile(`  marts:\n    finance:\n      +materialized: incremental\n      +unique_key: id\n`).node('f1');
    expect(inc.config.materialized).toBe('view');
    const f2 = compile(`  marts:\n    finance:\n      +materialized: incremental\n      +unique_key: id\n`).node('f2');
    expect(f2.config.materialized).toBe('incremental');
    expect(f2.compiled_sql_incremental).toBeDefined();
  });

  it("the project's name may come first, as in dbt_project.yml", () => {
    const { node, errors } = compile(`  shop:\n    marts:\n      +materialized: table\n`);
    expect(errors).toEqual([]);
    expect(node('m1').config.materialized).toBe('table');
    expect(node('stg_a').config.materialized).toBe('view');
  });

  it('mistakes are errors at their line: a folder that does not exist, an unknown key, a config without +, a bad value', () => {
    const { errors } = compile(`  stagin:\n    +schema: s\n  marts:\n    +materialised: table\n    finance:\n      tags: [x]\n  +materialized: tabel\n`);
    expect(errors).toEqual([
      "project.yaml:5: models: no folder models/stagin holds a model (did you mean 'staging'?)",
      "project.yaml:8: unknown config key '+materialised' in models: (did you mean '+materialized'?)",
      "project.yaml:10: 'tags' in models: is a config key: write it '+tags' (a key without + names a folder) (+tags: [\"x\"])",
      "project.yaml:11: models: +materialized: 'tabel' is not one of 'view', 'table', 'incremental', 'ephemeral' — did you mean 'table'?",
    ]);
  });

  it('Jinja in a schema, alias or tag is an error at its line: a folder config is read as written (a hook is a template)', () => {
    const { errors, node } = compile(`  staging:\n    +schema: "{{ target.name }}_stg"\n    +tags: [ok, "{% if x %}a{% endif %}"]\n  marts:\n    +alias: "{{ 'x' }}"\n    +post_hook: "select '{{ this }}'"\n`);
    expect(errors).toEqual([
      "project.yaml:6: models: +schema: '{{ target.name }}_stg' is Jinja, which a folder config does not render (it would be the schema as written; only hooks are templates) (set it in the models' config(), where it is rendered: config(schema=...))",
      "project.yaml:7: models: +tags: '{% if x %}a{% endif %}' is Jinja, which a folder config does not render (it would be the tag as written; only hooks are templates) (set it in the models' config(), where it is rendered: config(tags=...))",
      "project.yaml:9: models: +alias: '{{ 'x' }}' is Jinja, which a folder config does not render (it would be the alias as written; only hooks are templates) (set it in the models' config(), where it is rendered: config(alias=...))",
    ]);
    expect(node('m1').config.post_hook).toContain("select '{{ this }}'");
  });

  it('models: that is not a mapping is an error', () => {
    const r = compileProject(projectFiles({ projectYaml: 'name: shop\ntargets: { dev: { type: duckdb } }\nmodels: [staging]\n', models: MODELS }), { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual(['models: must be a mapping of folders (staging:) and +configs (+materialized: view)']);
  });
});
