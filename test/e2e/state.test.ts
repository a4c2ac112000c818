/**
 * --state and state: selectors, through the real CLI: a previous run's manifest saved, then each
 * kind of change (body, config, contract, an upstream macro, a seed's content, a new model)
 * selected as dbt selects it, and `vigil build -s state:modified+` building only those.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const FILES = {
  'macros/cents.sql': '{% macro cents(col) %}cast({{ col }} * 100 as bigint){% endmacro %}\n{% macro twice(col) %}{{ cents(col) }} * 2{% endmacro %}\n',
  'seeds/rates.csv': 'k,v\na,1\n',
  'models/a.sql': 'select 1 as id, 2.5 as amount',
  'models/b.sql': "select id, {{ twice('amount') }} as c from {{ ref('a') }}",
  'models/c.sql': "select * from {{ ref('b') }}",
  'models/d.sql': "select * from {{ ref('rates') }}",
  'models/schema.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        data_type: integer\n',
};

/**
 * The project test/fixtures/state-c838cdd/manifest.json is the manifest of, as Vigil c838cdd
 * (2026-12-02) compiled it: a synced source table leaving batch_size to its default (200000
 * then), one declaring it, two macros in one file.
 */
const OLD_PROJECT = {
  'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  app: { type: postgres, url: "postgres://nobody@127.0.0.1:1/app", schema: analytics }\n',
  'macros/util.sql': '{% macro cents(col) %}cast({{ col }} * 100 as bigint){% endmacro %}\n{% macro label(col) %}upper({{ col }}){% endmacro %}\n',
  'models/a.sql': "select id, {{ cents('amount') }} as c from {{ source('raw', 'orders') }}\n",
  'models/b.sql': "select id from {{ source('raw', 'events') }}\n",
  'models/sources.yml': 'sources:\n  - name: raw\n    schema: raw\n    sync: { from: app }\n    tables:\n      - name: orders\n        sync: { primary_key: id, cursor: updated_at }\n        columns:\n          - name: id\n            tests: [not_null]\n      - name: events\n        sync: { primary_key: id, cursor: ts, batch_size: 1000 }\n',
};

/** `vigil ls -s <selector> --state prev` in `dir` (of one resource type): the names it lists. */
function stateLs(dir: string) {
  return (s: string, type = 'all'): string[] => {
    const r = vigil(dir, ['ls', '-s', s, '--state', 'prev', ...(type === 'all' ? [] : ['--resource-type', type])]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim().split('\n').filter(Boolean);
  };
}

/** The models `vigil ls -s <sel> --state prev` lists. */
function ls(dir: string, sel: string) {
  return stateLs(dir)(sel, 'model');
}

describe('state: selection', () => {
  it('each kind of change, and build -s state:modified+ builds only what changed and what reads it', () => {
    const dir = makeProject(FILES);
    dirs.push(dir);
    expect(vigil(dir, ['build']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    expect(ls(dir, 'state:modified')).toEqual([]);

    writeFileSync(join(dir, 'models/c.sql'), "select id from {{ ref('b') }}"); // body
    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    columns:\n      - name: id\n        data_type: bigint\n'); // contract
    writeFileSync(join(dir, 'macros/cents.sql'), FILES['macros/cents.sql'].replace('* 100', '* 1000')); // a macro b reaches through twice()
    writeFileSync(join(dir, 'seeds/rates.csv'), 'k,v\na,2\n'); // a seed's content
    writeFileSync(join(dir, 'models/e.sql'), 'select 3 as id'); // new
    expect(ls(dir, 'state:modified.body')).toEqual(['c']);
    expect(ls(dir, 'state:modified.contract')).toEqual(['a']);
    expect(ls(dir, 'state:modified.macros')).toEqual(['b']);
    expect(ls(dir, 'state:new')).toEqual(['e']);
    expect(vigil(dir, ['ls', '-s', 'state:modified', '--state', 'prev', '--resource-type', 'seed']).stdout.trim()).toBe('rates');
    expect(ls(dir, 'state:modified')).toEqual(['a', 'b', 'c', 'e']);
    expect(ls(dir, 'state:modified+')).toEqual(['a', 'b', 'c', 'd', 'e']);

    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    config: { materialized: table }\n    columns:\n      - name: id\n        data_type: integer\n');
    expect(ls(dir, 'state:modified.configs')).toEqual(['a']);

    const b = vigil(dir, ['build', '-s', 'state:modified.body+', '--state', 'prev']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    // the changed model c, and the seed whose content changed with d that reads it
    expect(b.stdout).toContain('1 seed, 2 models, 0 tests');
    expect(b.stdout).toMatch(/OK created view analytics\.c/);
    expect(b.stdout).toMatch(/OK loaded seed analytics\.rates/);
    expect(b.stdout).not.toMatch(/analytics\.(a|b|e) /);
  });

  it('a macro is compared by its own text, as dbt checksums each macro: a change to one macro of a file modifies only what calls it (was: what called any macro of the file)', () => {
    const dir = makeProject({ ...FILES, 'macros/cents.sql': `${FILES['macros/cents.sql']}{% macro label(x) %}upper({{ x }}){% endmacro %}\n`, 'models/f.sql': "select {{ label(\"'a'\") }} as l" });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const text = readFileSync(join(dir, 'macros/cents.sql'), 'utf8');
    writeFileSync(join(dir, 'macros/cents.sql'), text.replace('* 100', '* 1000'));
    expect(ls(dir, 'state:modified.macros')).toEqual(['b']);
    writeFileSync(join(dir, 'macros/cents.sql'), text.replace('upper(', 'lower('));
    expect(ls(dir, 'state:modified.macros')).toEqual(['f']);
    // text outside any macro (a comment) modifies nothing
    writeFileSync(join(dir, 'macros/cents.sql'), `{# money helpers #}\n${text}`);
    expect(ls(dir, 'state:modified')).toEqual([]);
    // but a top-level {% set %} the file's macros may read changes them all
    writeFileSync(join(dir, 'macros/cents.sql'), `{% set unit = 100 %}\n${text}`);
    expect(ls(dir, 'state:modified.macros')).toEqual(['b', 'f']);
  });

  it('data tests, unit tests and snapshots are compared too; where a node is written is modified.relation, not .configs', () => {
    const dir = makeProject({
      ...FILES,
      'models/schema.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
      'models/u.yml': "unit_tests:\n  - name: ua\n    model: c\n    given:\n      - input: ref('b')\n        rows: [{ id: 1, c: 5 }]\n    expect:\n      rows: [{ id: 1, c: 5 }]\n",
      'tests/a_positive.sql': "select * from {{ ref('a') }} where id < 0",
      'snapshots/s.sql': "{% snapshot s %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select * from {{ ref('a') }}{% endsnapshot %}\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const sel = stateLs(dir);
    expect(sel('state:modified')).toEqual([]);
    expect(sel('state:new')).toEqual([]);
    expect(sel('state:old', 'test')).toEqual(['a_positive', 'not_null_a_id']);

    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\n'); // a new test on an unchanged model
    writeFileSync(join(dir, 'tests/a_positive.sql'), "select * from {{ ref('a') }} where id <= 0"); // a singular test's query
    writeFileSync(join(dir, 'models/u.yml'), readFileSync(join(dir, 'models/u.yml'), 'utf8').replace('expect:\n      rows: [{ id: 1, c: 5 }]', 'expect:\n      rows: [{ id: 1, c: 6 }]')); // a unit test's expectation
    writeFileSync(join(dir, 'snapshots/s.sql'), readFileSync(join(dir, 'snapshots/s.sql'), 'utf8').replace('select *', 'select id')); // a snapshot's query
    writeFileSync(join(dir, 'models/c.sql'), "{{ config(alias='c_v2') }}select * from {{ ref('b') }}"); // where c is written
    writeFileSync(join(dir, 'models/d.sql'), "{{ config(materialized='table') }}select * from {{ ref('rates') }}"); // how d is written

    expect(sel('state:new')).toEqual(['unique_a_id']);
    expect(sel('state:modified.body', 'test')).toEqual(['a_positive']);
    expect(sel('state:modified', 'unit_test')).toEqual(['ua']);
    expect(sel('state:modified', 'snapshot')).toEqual(['s']);
    // c, and its unit test: ls lists the tests of what it selects, as dbt ls does (eager indirect selection)
    expect(sel('state:modified.relation')).toEqual(['c', 'ua']);
    expect(sel('state:modified.configs')).toEqual(['d']);
    expect(sel('state:modified', 'model')).toEqual(['c', 'd']);
    expect(sel('state:unmodified', 'model')).toEqual(['a', 'b']);
    expect(sel('state:modified', 'test')).toEqual(['a_positive', 'unique_a_id']);
    // and the tests of what is unmodified or old, modified or new themselves or not: ls lists the
    // tests of what it selects, as dbt ls does (eager indirect selection)
    expect(sel('state:unmodified', 'test')).toEqual(['a_positive', 'not_null_a_id', 'unique_a_id']);
    expect(sel('state:old', 'test')).toEqual(['a_positive', 'not_null_a_id', 'unique_a_id']);

    // a state written before tests had checksums: old tests are not called modified
    const prev = JSON.parse(readFileSync(join(dir, 'prev/manifest.json'), 'utf8')) as { nodes: Record<string, { checksum?: string }> };
    for (const n of Object.values(prev.nodes)) if (n.checksum && !('columns' in n)) delete n.checksum;
    writeFileSync(join(dir, 'prev/manifest.json'), JSON.stringify(prev));
    expect(sel('state:modified', 'test')).toEqual(['unique_a_id']);
  });

  it("sources: a changed schema or identifier is modified and .relation, a description is not; a singular test or snapshot calling a changed macro is .macros; ls lists the tests of a modified model (were: the reverse for sources, models only for macros, no tests)", () => {
    const SRC = 'sources:\n  - name: raw\n    schema: main\n    tables:\n      - name: t1\n        columns:\n          - name: id\n      - name: t2\n';
    const dir = makeProject({
      ...FILES,
      'models/schema.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
      'models/src.yml': SRC,
      'tests/neg.sql': "select * from {{ ref('a') }} where {{ cents('amount') }} < 0",
      'snapshots/s.sql': "{% snapshot s %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select id, {{ twice('amount') }} as x from {{ ref('a') }}{% endsnapshot %}\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const sel = stateLs(dir);
    // descriptions of the source, its table and a column: no change (dbt: description changes are not changes)
    writeFileSync(join(dir, 'models/src.yml'), SRC.replace('    schema: main\n', '    description: Raw data.\n    schema: main\n').replace('      - name: t1\n', '      - name: t1\n        description: The first table.\n').replace('          - name: id\n', '          - name: id\n            description: Its key.\n'));
    expect(sel('state:modified')).toEqual([]);
    // where a table is: its identifier, then its source's schema
    writeFileSync(join(dir, 'models/src.yml'), SRC.replace('      - name: t1\n', '      - name: t1\n        identifier: t1_v2\n'));
    expect(sel('state:modified')).toEqual(['raw.t1']);
    expect(sel('state:modified.relation')).toEqual(['raw.t1']);
    expect(sel('state:modified.body')).toEqual([]);
    writeFileSync(join(dir, 'models/src.yml'), SRC.replace('schema: main', 'schema: landing'));
    expect(sel('state:modified.relation')).toEqual(['raw.t1', 'raw.t2']);
    writeFileSync(join(dir, 'models/src.yml'), SRC);
    expect(sel('state:modified')).toEqual([]);

    // a macro the singular test calls, and one the snapshot reaches through twice()
    writeFileSync(join(dir, 'macros/cents.sql'), FILES['macros/cents.sql'].replace('* 100', '* 1000'));
    expect(sel('state:modified.macros')).toEqual(['b', 's', 'neg']);
    expect(sel('state:modified', 'test')).toEqual(['neg']);
    expect(sel('state:modified', 'snapshot')).toEqual(['s']);
    writeFileSync(join(dir, 'macros/cents.sql'), FILES['macros/cents.sql']);

    // a's body: its tests are listed with it, as vigil test -s state:modified runs them
    writeFileSync(join(dir, 'models/a.sql'), 'select 1 as id, 3.5 as amount');
    expect(sel('state:modified', 'test')).toEqual(['neg', 'not_null_a_id']);
    const t = vigil(dir, ['compile', '-s', 'state:modified', '--state', 'prev']);
    expect(t.stdout).toContain('Compiled 1 model, 2 tests');
  });

  it("a macro called from a hook written in YAML, a folder's config or the project's defaults, or from a generic test's where, is .macros of its node (was: only config()'s hooks, in the model's file)", () => {
    const dir = makeProject({
      'project.yaml': "name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\ndefaults:\n  post_hook: \"{{ default_hook() }}\"\nmodels:\n  fixture:\n    tiered:\n      +pre_hook: \"{{ folder_hook() }}\"\n",
      'macros/m.sql': '{% macro hook_macro() %}select 1{% endmacro %}\n{% macro default_hook() %}select 10{% endmacro %}\n{% macro folder_hook() %}select 20{% endmacro %}\n{% macro my_filter() %}one > 0{% endmacro %}\n{% macro unused() %}1{% endmacro %}\n',
      'models/hooky.sql': 'select 1 as one',
      'models/hooky.yml': 'models:\n  - name: hooky\n    config: { post_hook: "{{ hook_macro() }}" }\n    columns:\n      - name: one\n        data_tests:\n          - not_null:\n              where: "{{ my_filter() }}"\n',
      'models/nested.sql': '{{ config(post_hook="{{ hook_macro() }}") }}\nselect 1 as one',
      'models/tiered/t.sql': 'select 1 as one',
    });
    dirs.push(dir);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const sel = stateLs(dir);
    expect(sel('state:modified')).toEqual([]);
    const text = readFileSync(join(dir, 'macros/m.sql'), 'utf8');
    const edit = (from: string, to: string) => writeFileSync(join(dir, 'macros/m.sql'), text.replace(from, to));
    edit('select 1', 'select 2');
    expect(sel('state:modified.macros', 'model')).toEqual(['hooky', 'nested']);
    edit('select 10', 'select 11');
    expect(sel('state:modified.macros', 'model')).toEqual(['hooky', 'nested', 't']);
    edit('select 20', 'select 21');
    expect(sel('state:modified.macros', 'model')).toEqual(['t']);
    edit('one > 0', 'one >= 0');
    expect(sel('state:modified.macros')).toEqual(['not_null_hooky_one']);
    expect(sel('state:modified', 'test')).toEqual(['not_null_hooky_one']);
    edit('{% macro unused() %}1', '{% macro unused() %}2');
    expect(sel('state:modified')).toEqual([]);
  });

  it('--state target: the manifest the last compile wrote, read before this one overwrites it (was: this compile\'s own, so nothing was modified, exit 0)', () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id', 'models/b.sql': "select * from {{ ref('a') }}", 'models/c.sql': 'select 3 as id' });
    dirs.push(dir);
    // no manifest there yet: said (was: compared with the one this build wrote: "Nothing to do")
    const first = vigil(dir, ['build', '-s', 'state:modified+', '--state', 'target']);
    expect(first.code).toBe(2);
    expect(first.stderr).toContain('--state target: no manifest.json there');
    expect(vigil(dir, ['build']).code).toBe(0);
    writeFileSync(join(dir, 'models/a.sql'), 'select 2 as id');
    const b = vigil(dir, ['build', '-s', 'state:modified+', '--state', 'target']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('OK created view analytics.a');
    expect(b.stdout).toContain('OK created view analytics.b');
    expect(b.stdout).not.toContain('analytics.c');
    // that build's manifest is the state now: nothing modified since
    expect(vigil(dir, ['build', '-s', 'state:modified+', '--state', 'target']).stdout).toContain('Nothing to do');
    writeFileSync(join(dir, 'models/c.sql'), 'select 4 as id');
    const r = vigil(dir, ['run', '-s', 'state:modified', '--state', 'target']);
    expect(r.stdout).toContain('1 of 1 OK created view analytics.c');
    writeFileSync(join(dir, 'models/c.sql'), 'select 5 as id');
    expect(vigil(dir, ['compile', '-s', 'state:modified', '--state', 'target']).stdout).toContain('Compiled 1 model,');
    // (--state given as the target folder's absolute path is the same folder)
    writeFileSync(join(dir, 'models/b.sql'), "select id from {{ ref('a') }}");
    expect(vigil(dir, ['run', '-s', 'state:modified', '--state', join(dir, 'target')]).stdout).toContain('1 of 1 OK created view analytics.b');
  });

  it('modified.relation compares config() as written: a schema made of the target is the same on another target (was: modified, prod\'s s_prod against dev\'s s_dev)', () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: dev.duckdb, schema: analytics }\n  prod: { type: duckdb, path: prod.duckdb, schema: analytics }\n',
      'models/m.sql': "{{ config(schema='s_' ~ target.name,\n  materialized='table') }}\nselect 1 as id",
      'models/n.sql': "{{ config(alias='n_' ~ target.name) }}select 1 as id",
      'snapshots/s.sql': "{% snapshot s %}{{ config(unique_key='id', strategy='check', check_cols='all', target_schema='snap_' ~ target.name) }}select 1 as id{% endsnapshot %}\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['compile', '--target', 'prod']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    expect(stateLs(dir)('state:modified')).toEqual([]);
    // the text changed: modified, on any target (white space is not a change)
    writeFileSync(join(dir, 'models/m.sql'), "{{ config(schema = 't_' ~  target.name, materialized='table') }}\nselect 1 as id");
    writeFileSync(join(dir, 'models/n.sql'), "{{ config(alias = 'n_' ~ target.name) }}select 1 as id");
    expect(ls(dir, 'state:modified.relation')).toEqual(['m']);
    // a state that has not the text (written before it was kept): the values are compared
    const prev = JSON.parse(readFileSync(join(dir, 'prev/manifest.json'), 'utf8')) as { nodes: Record<string, { unrendered_config?: unknown }> };
    for (const node of Object.values(prev.nodes)) delete node.unrendered_config;
    writeFileSync(join(dir, 'prev/manifest.json'), JSON.stringify(prev));
    expect(ls(dir, 'state:modified.relation')).toEqual(['m', 'n']);
    expect(stateLs(dir)('state:modified.relation', 'snapshot')).toEqual(['s']);
  });

  it("a data test's severity and where are .configs, not .body, as dbt keeps them in a test's config; a singular test's config() changes its file too: both (was: .body, and .configs empty); its tags are no change", () => {
    const tests = (unique: string, values: string, notNull: string) => `models:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - ${notNull}\n          - unique: { config: { severity: ${unique} } }\n          - accepted_values: { values: ${values} }\n`;
    const dir = makeProject({ ...FILES, 'models/schema.yml': tests('warn', '[1], where: "id > 0"', 'not_null'), 'tests/a_positive.sql': "{{ config(severity='warn') }}\nselect * from {{ ref('a') }} where id < 0" });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const sel = stateLs(dir);
    writeFileSync(join(dir, 'models/schema.yml'), tests('error', '[1], where: "id > 1"', 'not_null: { tags: [nightly] }'));
    writeFileSync(join(dir, 'tests/a_positive.sql'), "{{ config(severity='error') }}\nselect * from {{ ref('a') }} where id < 0");
    expect(sel('state:modified.configs', 'test')).toEqual(['a_positive', 'accepted_values_a_id', 'unique_a_id']);
    expect(sel('state:modified.body', 'test')).toEqual(['a_positive']);
    // an argument is what the test is (its unique_id's hash, as dbt's): another test, new — which
    // state:modified holds — not a .body change of the one that was
    writeFileSync(join(dir, 'models/schema.yml'), tests('error', '[1, 2], where: "id > 1"', 'not_null: { tags: [nightly] }'));
    expect(sel('state:modified.body', 'test')).toEqual(['a_positive']);
    expect(sel('state:new', 'test')).toEqual(['accepted_values_a_id']);
    expect(sel('state:modified', 'test')).toEqual(['a_positive', 'accepted_values_a_id', 'unique_a_id']);
    // --state may name the manifest itself (was: "no manifest.json there")
    const file = vigil(dir, ['ls', '-s', 'state:modified.configs', '--state', 'prev/manifest.json', '--resource-type', 'test']);
    expect(file.code, file.stderr).toBe(0);
    // (accepted_values_a_id is another test now: new, not modified)
    expect(file.stdout.trim().split('\n')).toEqual(['a_positive', 'unique_a_id']);
  });

  it("tags and meta are no change of a model, snapshot, seed or test (dbt: metadata, not how it is built), wherever they are written; any other config is .configs (was: a tag added modified the model and all downstream)", () => {
    const dir = makeProject({
      ...FILES,
      'models/schema.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
      'snapshots/s.sql': "{% snapshot s %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select id from {{ ref('a') }}{% endsnapshot %}\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const sel = stateLs(dir);
    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    config: { tags: [finance], meta: { owner: ana } }\n    columns:\n      - name: id\n        data_tests: [{ not_null: { config: { tags: [nightly] } } }]\nseeds:\n  - name: rates\n    config: { tags: [ref_data], meta: { owner: bo } }\n');
    writeFileSync(join(dir, 'models/c.sql'), "{{ config(tags=['hourly'], meta={'team': 'core'}) }}\nselect * from {{ ref('b') }}");
    writeFileSync(join(dir, 'snapshots/s.sql'), "{% snapshot s %}{{ config(unique_key='id', strategy='check', check_cols='all', tags=['snap']) }}select id from {{ ref('a') }}{% endsnapshot %}\n");
    expect(sel('state:modified.configs')).toEqual([]);
    // (c's and s's files changed: their body, as dbt checksums the file)
    expect(sel('state:modified')).toEqual(['c', 's']);
    expect(sel('state:modified.body')).toEqual(['c', 's']);
    expect(sel('state:modified+', 'model')).toEqual(['c']);
    // another config is
    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    config: { tags: [finance], materialized: table }\n    columns:\n      - name: id\n        data_tests: [{ not_null: { config: { tags: [nightly], severity: warn } } }]\n');
    expect(sel('state:modified.configs')).toEqual(['a', 'not_null_a_id']);
  });

  it('a test added on another model whose generated name is alike is new, and the test that was is not (was: not_null_a_b_c state:modified, the one that was state:new as not_null_a_b_c_2)', () => {
    const yml = 'models:\n  - name: a_b\n    columns:\n      - name: c\n        tests: [not_null]\n';
    const dir = makeProject({ 'models/a_b.sql': 'select cast(null as int) as c', 'models/a.sql': 'select 1 as b_c', 'models/z.yml': yml });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    writeFileSync(join(dir, 'models/z.yml'), `${yml}  - name: a\n    columns:\n      - name: b_c\n        tests: [not_null]\n`);
    const json = vigil(dir, ['ls', '--resource-type', 'test', '--output', 'json']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; depends_on: string[] });
    const onA = json.find((t) => t.depends_on.includes('model.fixture.a'))!.name;
    expect(onA).toMatch(/^not_null_a_b_c_[0-9a-f]{10}$/);
    const sel = stateLs(dir);
    expect(sel('state:new', 'test')).toEqual([onA]);
    expect(sel('state:modified', 'test')).toEqual([onA]);
    // (the test on a_b.c is the one it was, though its name now ends with its hash)
    expect(sel('state:modified.body', 'test')).toEqual([]);
  });

  it("a --state of format 2, whose generic tests' ids were their names: its tests are matched by their definition (was: format 2 was this one; now every test would be new)", () => {
    const dir = makeProject({ ...FILES, 'models/schema.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null, unique, { accepted_values: { values: [1] } }, { accepted_values: { values: [2] } }]\n' });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    mkdirSync(join(dir, 'prev'));
    // as the Vigil of format 2 wrote it: test.<project>.<name> (the second accepted_values: _2)
    const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    m.metadata.state_format = 2;
    const seen = new Set<string>();
    m.nodes = Object.fromEntries(
      Object.entries(m.nodes as Record<string, { resource_type: string; name: string; unique_id: string }>).map(([id, n]) => {
        if (n.resource_type !== 'test') return [id, n];
        let name = id.split('.')[2];
        if (seen.has(name)) name = `${name}_2`;
        seen.add(name);
        return [`test.fixture.${name}`, { ...n, unique_id: `test.fixture.${name}`, name }];
      }),
    );
    writeFileSync(join(dir, 'prev/manifest.json'), JSON.stringify(m));
    const r = vigil(dir, ['ls', '-s', 'state:modified', '--state', 'prev']);
    expect([r.code, r.stdout]).toEqual([0, '']);
    expect(r.stderr).toMatch(/^note: --state prev: its manifest was written by an older Vigil \(\S+, state format 2; this is \S+, format 4\): .*not compared exactly: generic data tests, matched by their definition/);
    const sel = stateLs(dir);
    expect(sel('state:new', 'test')).toEqual([]);
    // an argument changed: that test is new
    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null, unique, { accepted_values: { values: [1] } }, { accepted_values: { values: [3] } }]\n');
    const now = sel('state:new', 'test');
    expect(now).toEqual([expect.stringMatching(/^accepted_values_a_id_[0-9a-f]{10}$/)]);
    expect(sel('state:modified', 'test')).toEqual(now);
  });

  it("a source's sync block: a line added above it is no change (was: every synced source modified, its sync lines moved); what it declares is, retention's column too", () => {
    const SRC = 'sources:\n  - name: raw\n    schema: raw\n    sync: { from: app }\n    tables:\n      - name: t1\n        sync: { primary_key: id, cursor: updated_at }\n      - name: t2\n        sync: { primary_key: id, cursor: ts }\n        retention: { column: ts, keep: 90d }\n';
    const dir = makeProject({ 'project.yaml': OLD_PROJECT['project.yaml'], 'models/sources.yml': SRC });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const sel = stateLs(dir);
    writeFileSync(join(dir, 'models/sources.yml'), `# a comment\n\n${SRC}`);
    expect(sel('state:modified')).toEqual([]);
    writeFileSync(join(dir, 'models/sources.yml'), `# a comment\n${SRC.replace('cursor: updated_at }', 'cursor: updated_at, batch_size: 1000 }')}`);
    expect(sel('state:modified')).toEqual(['raw.t1']);
    writeFileSync(join(dir, 'models/sources.yml'), `# a comment\n${SRC.replace('column: ts', 'column: id')}`);
    expect(sel('state:modified')).toEqual(['raw.t2']);
  });

  it('a --state manifest of format 1 that kept one checksum per macro (ce5d3ec, as every Vigil from 290baa0): macros compared per macro, unchanged ones not modified (was: compared per file, every caller of a macro of a two-macro file modified)', () => {
    const dir = makeProject(OLD_PROJECT);
    dirs.push(dir);
    cpSync(join(REPO, 'test/fixtures/state-ce5d3ec'), join(dir, 'prev'), { recursive: true });
    const sel = stateLs(dir);
    expect(sel('state:modified')).toEqual([]);
    // the other macro of a's macro file: a calls only cents, so nothing is modified
    writeFileSync(join(dir, 'macros/util.sql'), OLD_PROJECT['macros/util.sql'].replace('upper', 'lower'));
    expect(sel('state:modified.macros')).toEqual([]);
    // its own macro: modified
    writeFileSync(join(dir, 'macros/util.sql'), OLD_PROJECT['macros/util.sql'].replace('* 100', '* 1000'));
    expect(sel('state:modified.macros')).toEqual(['a']);
  });

  it('a --state manifest an older Vigil wrote (c838cdd: per-file macro checksums, resolved sync defaults): unchanged files are not modified, one note says so; what changed still is (was: every synced source and every model calling a macro modified)', () => {
    const dir = makeProject(OLD_PROJECT);
    dirs.push(dir);
    cpSync(join(REPO, 'test/fixtures/state-c838cdd'), join(dir, 'prev'), { recursive: true });
    const r = vigil(dir, ['ls', '-s', 'state:modified', '--state', 'prev']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const notes = r.stderr.split('\n').filter(Boolean);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^note: --state prev: its manifest was written by an older Vigil \(0\.1\.0, state format 1; this is \S+, format 4\): what only the format or a default changed is not a modification; not compared exactly: a sync setting a source table leaves to its default .*; macros, when that manifest kept one checksum per macro file.*; generic data tests, matched by their definition.*; vars \(that manifest did not record which vars each node read/);
    const sel = stateLs(dir);
    // a declared sync setting that changed is modified
    writeFileSync(join(dir, 'models/sources.yml'), OLD_PROJECT['models/sources.yml'].replace('batch_size: 1000', 'batch_size: 2000'));
    expect(sel('state:modified')).toEqual(['raw.events']);
    writeFileSync(join(dir, 'models/sources.yml'), OLD_PROJECT['models/sources.yml']);
    // a macro of the file a's macro is in: compared per file, as that manifest kept them
    writeFileSync(join(dir, 'macros/util.sql'), OLD_PROJECT['macros/util.sql'].replace('upper', 'lower'));
    expect(sel('state:modified.macros')).toEqual(['a']);
    // a manifest of this Vigil: no note
    expect(vigil(dir, ['compile']).code).toBe(0);
    const same = vigil(dir, ['ls', '-s', 'state:modified', '--state', 'target']);
    expect(same.stderr).toBe('');
  });

  it('nothing modified is not an error; mistakes about --state are usage errors', () => {
    const dir = makeProject(FILES);
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const none = vigil(dir, ['build', '-s', 'state:modified+', '--state', 'prev']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toContain('Nothing to do');
    const noFlag = vigil(dir, ['ls', '-s', 'state:modified']);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toContain('pass --state');
    const missing = vigil(dir, ['ls', '-s', 'state:modified', '--state', 'nowhere']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--state nowhere: no manifest.json there');
    writeFileSync(join(dir, 'prev/manifest.json'), '{"metadata": {"dbt_version": "1.8"}, "nodes": {}}');
    const dbt = vigil(dir, ['ls', '-s', 'state:modified', '--state', 'prev']);
    expect(dbt.code).toBe(2);
    expect(dbt.stderr).toContain('not a Vigil manifest');
    const typo = vigil(dir, ['ls', '-s', 'state:modifed', '--state', 'prev']);
    expect(typo.code).toBe(2);
  });

  it('a column listed to describe or test it is no change: its new tests are state:new; a declared type, or a column a model with policies publishes, is .contract (was: the model and all downstream modified)', () => {
    const dir = makeProject(FILES);
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const state = stateLs(dir);
    writeFileSync(join(dir, 'models/schema.yml'), `${FILES['models/schema.yml']}  - name: b\n    description: B.\n    columns:\n      - name: c\n        description: Cents twice.\n      - name: id\n        tests: [not_null]\n`);
    expect(state('state:modified+', 'model')).toEqual([]);
    expect(state('state:modified.contract')).toEqual([]);
    expect(state('state:modified')).toEqual(['not_null_b_id']);
    expect(state('state:new')).toEqual(['not_null_b_id']);
    // DuckDB writes no description: none is .persisted_descriptions
    expect(state('state:modified.persisted_descriptions')).toEqual([]);
    // a declared type is
    writeFileSync(join(dir, 'models/schema.yml'), `${FILES['models/schema.yml']}  - name: b\n    columns:\n      - name: c\n        data_type: bigint\n`);
    expect(state('state:modified.contract')).toEqual(['b']);
    // a model with policies publishes exactly its declared columns: one more listed, or a policy, is
    writeFileSync(join(dir, 'models/schema.yml'), `${FILES['models/schema.yml']}  - name: b\n    columns:\n      - name: c\n        policy: hash\n`);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true, force: true });
    writeFileSync(join(dir, 'models/schema.yml'), `${FILES['models/schema.yml']}  - name: b\n    columns:\n      - name: c\n        policy: hash\n      - name: id\n        description: The id.\n`);
    expect(state('state:modified.contract')).toEqual(['b']);
    writeFileSync(join(dir, 'models/schema.yml'), `${FILES['models/schema.yml']}  - name: b\n    columns:\n      - name: c\n        policy: mask\n`);
    expect(state('state:modified.contract')).toEqual(['b']);
  });

  it('BigQuery writes model and column descriptions: a changed one is .persisted_descriptions, as dbt with persist_docs', () => {
    const dir = makeProject({ ...FILES, 'project.yaml': 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: p, dataset: analytics }\n' });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const state = stateLs(dir);
    writeFileSync(join(dir, 'models/schema.yml'), `${FILES['models/schema.yml']}  - name: b\n    columns:\n      - name: id\n        tests: [not_null]\n`);
    expect(state('state:modified', 'model')).toEqual([]);
    writeFileSync(join(dir, 'models/schema.yml'), `${FILES['models/schema.yml']}  - name: b\n    description: B.\n  - name: c\n    columns:\n      - name: id\n        description: The id.\n`);
    expect(state('state:modified.persisted_descriptions')).toEqual(['b', 'c']);
    expect(state('state:modified', 'model')).toEqual(['b', 'c']);
    expect(state('state:modified.contract')).toEqual([]);
  });

  it("a model moved to another folder is state:modified (its fqn, as dbt's same_fqn), not .body (was: nothing, though -s <folder>.<name> selects it now)", () => {
    const dir = makeProject(FILES);
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    mkdirSync(join(dir, 'models/marts'));
    renameSync(join(dir, 'models/c.sql'), join(dir, 'models/marts/c.sql'));
    const state = stateLs(dir);
    expect(state('state:modified')).toEqual(['c']);
    expect(state('state:modified.body')).toEqual([]);
    expect(state('state:unmodified', 'model')).toEqual(['a', 'b', 'd']);
  });
  it("a changed value of a var a node reads is state:modified.vars — project vars, --vars, a call's default, in a hook, a generic test's where, a singular test, a snapshot — and not plain state:modified, as dbt's default (was: state:modified counted it, with no way out)", () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\nvars:\n  threshold: 0.8\n  other: 1\n  m: {a: 1, b: 2}\n',
      'models/a.sql': "select {{ var('threshold') }} as t",
      'models/b.sql': "select {{ var('other') }} as o",
      'models/c.sql': "select {{ var('with_default', 3) }} as w",
      'models/d.sql': "select {{ var('m')['a'] }} as x",
      'models/h.sql': "{{ config(materialized='table', post_hook=\"select {{ var('hook_var', 1) }}\") }}\nselect 1 as id",
      'models/plain.sql': 'select 1 as id',
      'models/schema.yml': "models:\n  - name: b\n    columns:\n      - name: o\n        tests:\n          - not_null:\n              where: \"o > {{ var('min_o', 0) }}\"\n",
      'tests/t_below.sql': "select * from {{ ref('plain') }} where id > {{ var('threshold') }}",
      'snapshots/snap.sql': "{% snapshot s %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect id from {{ ref('plain') }} where id < {{ var('cap', 10) }}\n{% endsnapshot %}\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const sel = (s: string, vars?: string) => {
      const r = vigil(dir, ['ls', '-s', s, '--state', 'prev', ...(vars ? ['--vars', vars] : [])]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').filter(Boolean);
    };
    expect(sel('state:modified')).toEqual([]);
    expect(sel('state:modified.vars')).toEqual([]);
    // --vars with the values the state had, a default given as it is: no change
    expect(sel('state:modified.vars', '{other: 1, with_default: 3, hook_var: 1, cap: 10}')).toEqual([]);
    // a project var: the model and the singular test that read it (and, as ever, the model's tests)
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('threshold: 0.8', 'threshold: 0.9'));
    expect(sel('state:modified.vars')).toEqual(['a', 't_below']);
    expect(sel('state:modified.body')).toEqual([]);
    expect(sel('state:modified.configs')).toEqual([]);
    // plain state:modified leaves vars out (dbt's state_modified_compare_vars, off by default): a
    // --vars run_date or a default changing every run does not modify all that reads it
    expect(sel('state:modified')).toEqual([]);
    expect(sel('state:modified+')).toEqual([]);
    expect(sel('state:unmodified')).toEqual(expect.arrayContaining(['a', 't_below']));
    expect(sel('state:modified', '{other: 2, with_default: 4, hook_var: 2, cap: 11}')).toEqual([]);
    // both: a union
    expect(sel('state:modified+ state:modified.vars+')).toEqual(['a', 't_below']);
    writeFileSync(join(dir, 'models/c.sql'), "select {{ var('with_default', 3) }} as w, 1 as z");
    expect(sel('state:modified+ state:modified.vars+')).toEqual(['a', 'c', 't_below']);
    expect(sel('state:modified+')).toEqual(['c']);
    writeFileSync(join(dir, 'models/c.sql'), "select {{ var('with_default', 3) }} as w");
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('threshold: 0.9', 'threshold: 0.8'));
    // --vars over a project var, over a default, in a hook, in a generic test's where, in a snapshot
    expect(sel('state:modified.vars', '{other: 2}')).toEqual(['b', 'not_null_b_o']);
    expect(sel('state:modified.vars', '{with_default: 4}')).toEqual(['c']);
    expect(sel('state:modified.vars', '{hook_var: 2}')).toEqual(['h']);
    expect(sel('state:modified.vars', '{min_o: 1}')).toEqual(['not_null_b_o']);
    expect(sel('state:modified.vars', '{cap: 11}')).toEqual(['s']);
    // a mapping's keys in another order are the same value (Python's dict equality)
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('m: {a: 1, b: 2}', 'm: {b: 2, a: 1}'));
    expect(sel('state:modified.vars')).toEqual([]);
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('m: {b: 2, a: 1}', 'm: {b: 3, a: 1}'));
    expect(sel('state:modified.vars')).toEqual(['d']);
    // the manifest holds a hash of each value, never the value
    const m = JSON.parse(readFileSync(join(dir, 'prev/manifest.json'), 'utf8')) as { nodes: Record<string, { vars?: Record<string, string> }> };
    expect(Object.keys(m.nodes['model.fixture.a'].vars!)).toEqual(['threshold']);
    expect(m.nodes['model.fixture.a'].vars!.threshold).toMatch(/^[0-9a-f]{16}$/);
    expect(m.nodes['model.fixture.plain'].vars).toBeUndefined();
    // a state of an earlier layout recorded no vars: unknown, no modification (and the note says so)
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('m: {b: 3, a: 1}', 'm: {a: 1, b: 2}').replace('threshold: 0.8', 'threshold: 0.9'));
    for (const n of Object.values(m.nodes)) delete n.vars;
    // (and its snapshot's fqn without its file's name, as that layout wrote it)
    (m.nodes['snapshot.fixture.s'] as { fqn?: string[] }).fqn = ['fixture', 's'];
    (m as unknown as { metadata: { state_format: number } }).metadata.state_format = 3;
    writeFileSync(join(dir, 'prev/manifest.json'), JSON.stringify(m));
    const old = vigil(dir, ['ls', '-s', 'state:modified.vars', '--state', 'prev']);
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout).toBe('');
    expect(old.stderr).toContain('vars (that manifest did not record which vars each node read');
    expect(sel('state:modified.vars')).toEqual([]);
  });

  it("a seed's CSV edited: build -s state:modified+ reloads it and runs the tests of the source it fills, on the data just loaded; -s the seed alone and --exclude it leave them with the source (was: state:modified+ never tested the new data)", () => {
    const dir = makeProject({
      'seeds/countries.csv': 'code,name\nfr,France\nde,Germany\n',
      'models/sources.yml': 'sources:\n  - name: ref_data\n    schema: analytics\n    tables:\n      - name: countries\n        columns:\n          - name: code\n            tests: [not_null, unique]\n',
      'models/m.sql': "select * from {{ source('ref_data', 'countries') }}",
    });
    dirs.push(dir);
    expect(vigil(dir, ['build']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const state = stateLs(dir);
    const TESTS = ['not_null_ref_data_countries_code', 'unique_ref_data_countries_code'];
    // a duplicate code: the unique test of the source must catch it
    writeFileSync(join(dir, 'seeds/countries.csv'), 'code,name\nfr,France\nde,Germany\nfr,Francia\n');
    expect(state('state:modified')).toEqual(['countries']);
    expect(state('state:modified+')).toEqual(['m', 'countries', ...TESTS]);
    expect(state('countries+')).toEqual(['m', 'countries', ...TESTS]);
    // the seed alone, and everything but the seed: the tests stay with their source
    expect(state('countries')).toEqual(['countries']);
    const rest = vigil(dir, ['ls', '--exclude', 'countries']);
    expect(rest.stdout.trim().split('\n')).toEqual(expect.arrayContaining(TESTS));
    const b = vigil(dir, ['build', '-s', 'state:modified+', '--state', 'prev']);
    expect(b.code, b.stdout + b.stderr).toBe(1);
    expect(b.stdout).toMatch(/OK loaded seed analytics\.countries \(3 rows\)/);
    expect(b.stdout).toMatch(/FAIL 1 unique_ref_data_countries_code/);
    expect(b.stdout).toMatch(/PASS not_null_ref_data_countries_code/);
  });

  it("a {% snapshot %} block's fqn has its file's name now: against a state of an earlier layout it is no modification; a block moved to another file is", () => {
    const dir = makeProject({ 'models/users.sql': 'select 1 as id', 'snapshots/snap.sql': "{% snapshot users_snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect * from {{ ref('users') }}\n{% endsnapshot %}\n" });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const state = stateLs(dir);
    expect(state('state:modified')).toEqual([]);
    // the state as a Vigil of layout 3 wrote it: the fqn without the file's name
    const m = JSON.parse(readFileSync(join(dir, 'prev/manifest.json'), 'utf8')) as { metadata: { state_format: number }; nodes: Record<string, { fqn?: string[] }> };
    expect(m.nodes['snapshot.fixture.users_snap'].fqn).toEqual(['fixture', 'snap', 'users_snap']);
    m.nodes['snapshot.fixture.users_snap'].fqn = ['fixture', 'users_snap'];
    m.metadata.state_format = 3;
    writeFileSync(join(dir, 'prev/manifest.json'), JSON.stringify(m));
    expect(state('state:modified')).toEqual([]);
    // moved to another file (against a state of this layout): its fqn changed, as dbt's same_fqn
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true, force: true });
    renameSync(join(dir, 'snapshots/snap.sql'), join(dir, 'snapshots/users.sql'));
    expect(state('state:modified')).toEqual(['users_snap']);
    expect(state('state:modified.body')).toEqual([]);
  });

  it('a dashboard (an exposure) is compared too, as dbt compares exposures: a new one is state:new, a changed one state:modified; against a state that kept no checksum of it, by what that state recorded (was: never new nor modified)', () => {
    const board = (title: string, tileTitle = 'N') => JSON.stringify({ name: 'd', title, tabs: [{ name: 't', title: 'T', tiles: [{ id: 'n', type: 'kpi', title: tileTitle, model: 'a', measures: [{ name: 'n', column: 'id', agg: 'count' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] });
    const dir = makeProject({ 'models/a.sql': 'select 1 as id', 'dashboards/d.json': board('D') });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const state = stateLs(dir);
    expect(state('state:modified', 'exposure')).toEqual([]);
    writeFileSync(join(dir, 'dashboards/e.json'), board('E').replace('"name":"d"', '"name":"e"'));
    expect(state('state:new', 'exposure')).toEqual(['e']);
    expect(state('state:modified', 'exposure')).toEqual(['e']);
    writeFileSync(join(dir, 'dashboards/d.json'), board('D', 'Count'));
    expect(state('state:modified', 'exposure')).toEqual(['d', 'e']);
    expect(state('state:modified.body', 'exposure')).toEqual(['d']);
    expect(state('state:modified.configs', 'exposure')).toEqual([]);
    expect(state('state:unmodified', 'exposure')).toEqual([]);
    // what changed is dashboards only: nothing to build, which is no mistake in a CI step
    const built = vigil(dir, ['build', '-s', 'state:modified+', '--state', 'prev']);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toContain('Nothing to do');
    // a state written before manifests kept a dashboard's checksum: its title, models and tiles compared
    const m = JSON.parse(readFileSync(join(dir, 'prev/manifest.json'), 'utf8'));
    for (const e of Object.values(m.exposures) as Array<{ checksum?: string }>) delete e.checksum;
    writeFileSync(join(dir, 'prev/manifest.json'), JSON.stringify(m));
    expect(state('state:modified', 'exposure')).toEqual(['e']);
    writeFileSync(join(dir, 'dashboards/d.json'), board('D2', 'Count'));
    expect(state('state:modified', 'exposure')).toEqual(['d', 'e']);
  });

  it("the shipped dashboards are not modified against a manifest an older Vigil wrote (no checksum, no description, the sync state table among depends_on as a model): what that state recorded is compared (was: all five modified after an upgrade)", () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    const compiled = vigil(dir, ['compile']);
    expect(compiled.code, compiled.stderr).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    type Exp = { checksum?: string; description?: string; depends_on: string[]; sync_state?: unknown; tags: string[] };
    const m = JSON.parse(readFileSync(join(dir, 'prev/manifest.json'), 'utf8')) as { exposures: Record<string, Exp> };
    const older = () => {
      for (const e of Object.values(m.exposures)) {
        delete e.checksum;
        delete e.description;
        if (e.sync_state) e.depends_on.push('model.ai_audit.vigil_sync_state');
        delete e.sync_state;
        e.tags = ['dashboard'];
      }
      writeFileSync(join(dir, 'prev/manifest.json'), JSON.stringify(m));
    };
    older();
    expect(m.exposures['exposure.ai_audit.workspace'].depends_on).toContain('model.ai_audit.vigil_sync_state');
    const state = stateLs(dir);
    expect(state('state:modified', 'exposure')).toEqual([]);
    // what it recorded still counts: a title changed, a tile removed
    const file = join(dir, 'dashboards/workspace.json');
    const board = JSON.parse(readFileSync(file, 'utf8')) as { title: string; tabs: Array<{ tiles: unknown[] }> };
    writeFileSync(file, JSON.stringify({ ...board, title: 'Workspaces' }));
    expect(state('state:modified', 'exposure')).toEqual(['workspace']);
  });

  it("a dashboard's checksum is of its JSON as written, keys sorted, not of the definition Vigil parses it into (its defaults: a Vigil that adds one would make every dashboard of an older state modified); spacing and key order change nothing", async () => {
    const { canonicalHash } = await import('../../src/stable-json.js');
    const text = JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'n', type: 'kpi', title: 'N', model: 'a', measures: [{ name: 'n', column: 'id', agg: 'count' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] });
    const dir = makeProject({ 'models/a.sql': 'select 1 as id', 'dashboards/d.json': text });
    dirs.push(dir);
    expect(vigil(dir, ['compile']).code).toBe(0);
    const checksum = () => (JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).exposures as Record<string, { checksum: string }>)['exposure.fixture.d'].checksum;
    expect(checksum()).toBe(canonicalHash(JSON.parse(text)));
    cpSync(join(dir, 'target'), join(dir, 'prev'), { recursive: true });
    const { tabs, ...rest } = JSON.parse(text);
    writeFileSync(join(dir, 'dashboards/d.json'), JSON.stringify({ tabs, ...rest }, null, 4));
    expect(stateLs(dir)('state:modified', 'exposure')).toEqual([]);
  });
});
