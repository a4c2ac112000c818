/**
 * dbt's data-test thresholds and stored failures (docs/models.md#thresholds-and-stored-failures):
 * fail_calc, warn_if, error_if and limit computed as dbt's default__get_test_sql does, the status
 * and run_results' failures as dbt's test runner gives them; store_failures / store_failures_as
 * replacing a table or view in <target schema>_dbt_test__audit each run, PII masked in it as in a
 * failing test's sample; on DuckDB and a real PostgreSQL. Invalid values refused at file:line;
 * `vigil init --from-dbt` keeps them.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileProject } from '../../src/compile/compile-project.js';
import { selectNodes } from '../../src/compile/selector.js';
import type { TestNode } from '../../src/compile/manifest.js';
import { convertPropertiesYaml, Findings } from '../../src/project/from-dbt.js';
import { parse } from 'yaml';
import pg from 'pg';
import { parse as parseSql } from 'sql-parser-cst';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { failureStoreStatements } from '../../src/run/executor.js';
import { limitedSql, testResultSql } from '../../src/compile/test-results-config.js';
import { uniqueSchema, withPgClient } from '../support/postgres.js';
import { BASIC_PROJECT_YAML, duckRows, makeProject, projectFiles, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

// ---- refused at file:line (the pure compiler)

const MODEL = { 'models/m.sql': 'select 1 as id, -1 as amount' };
const yml = (test: string) => ({ 'models/schema.yml': `models:\n  - name: m\n    columns:\n      - name: amount\n        tests:\n          - ${test}\n` });

describe('thresholds and stored failures: what the compiler refuses', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['warn_if in words', 'not_null: { warn_if: ">ten" }', /warn_if must be a comparison and a number.*got ">ten"/],
    ['error_if ==', 'not_null: { error_if: "== 0" }', /error_if must be a comparison/],
    ['warn_if a bare number', 'not_null: { warn_if: 5 }', /warn_if must be a comparison.*got 5/],
    ['error_if in config:', 'not_null: { config: { error_if: "between one and 2" } }', /error_if must be a comparison/],
    // (dbt's docs write ranges: `between 5 and 10`; one holding no number is no threshold)
    ['error_if a range backwards', 'not_null: { error_if: "between 10 and 5" }', /error_if: between 10 and 5 holds no number \(the low end first\)/],
    // (was: 'not between 10 and 5 holds no number', when it holds every one: the test always warned)
    ['warn_if a not-between range backwards', 'not_null: { warn_if: "not between 10 and 5" }', /warn_if: not between 10 and 5 is every number \(between 10 and 5 holds none: the low end first\)/],
    ['limit negative', 'not_null: { limit: -1 }', /limit must be a whole number of rows, 0 or more, got -1/],
    ['limit a fraction', 'not_null: { limit: 1.5 }', /limit must be a whole number/],
    ['fail_calc empty', 'not_null: { fail_calc: "" }', /fail_calc must be an SQL expression/],
    ['fail_calc two statements', 'not_null: { fail_calc: "count(*); drop table m" }', /fail_calc is one SQL expression: it may not hold ';'/],
    // (a comment would hide the threshold written after it on the line)
    ['fail_calc with a comment', 'not_null: { fail_calc: "sum(amount) -- total" }', /fail_calc is one SQL expression: it may not hold ';' or a comment/],
    // replaced each run: a relation of the project's own would be dropped (the model m; Vigil's state)
    ['stored in a model\'s relation', 'not_null: { name: m, store_failures: true, schema: analytics }', /stores its failures in analytics\.m, replaced each run: that is the relation of model 'm', which the test would drop/],
    ['stored as a Vigil table', 'not_null: { name: vigil_sync_state, store_failures_as: table, schema: analytics }', /that is the relation of Vigil's own tables/],
    ['store_failures a string', 'not_null: { store_failures: "yes" }', /store_failures is true or false, got "yes"/],
    ['store_failures_as in capitals', 'not_null: { store_failures_as: Table }', /store_failures_as must be 'table', 'view' or 'ephemeral', got "Table"/],
    ['store_failures_as incremental', 'not_null: { store_failures_as: incremental }', /store_failures_as must be/],
    ['schema two words', 'not_null: { store_failures: true, schema: "a b" }', /schema \(where the test's failures are stored\) must be one name/],
    // a template is rendered, as dbt renders it, and what it renders is checked as written text is
    ['fail_calc a template rendering a comment', `not_null: { fail_calc: "{{ 'sum(amount) -' ~ '- total' }}" }`, /fail_calc is one SQL expression: it may not hold ';' or a comment/],
    ['limit a template rendering text', `not_null: { limit: "{{ 'ten' }}" }`, /limit must be a whole number of rows, 0 or more, got "ten"/],
    ['severity a template rendering another word', `not_null: { severity: "{{ 'fatal' }}" }`, /severity must be 'warn' or 'error', got 'fatal'/],
    ['a config reading a relation', `not_null: { warn_if: "{{ '>' ~ ref('m') }}" }`, /not_null: warn_if is a config: its template may read target, var\(\) and env_var\(\), not a secret or a relation/],
  ];
  it.each(cases)('%s: an error at the test, exit-2 kind (E_TEST)', (_what, test, message) => {
    const r = compileProject(projectFiles({ models: MODEL, yml: yml(test) }), { env: {} });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'E_TEST', file: 'models/schema.yml', line: 6 });
    expect(errors[0].message).toMatch(message);
  });

  it('a singular test: its config() refused at its line, a misspelt key with a did-you-mean', () => {
    const bad = compileProject(projectFiles({ models: MODEL, tests: { 'tests/t.sql': "{{ config(warn_if='>x') }}\nselect * from {{ ref('m') }}" } }), { env: {} });
    expect(bad.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([{ code: 'E_CONFIG', file: 'tests/t.sql', line: 1, message: expect.stringMatching(/warn_if must be a comparison/) }]);
    const typo = compileProject(projectFiles({ models: MODEL, tests: { 'tests/t.sql': "{{ config(stor_failures=true) }}\nselect * from {{ ref('m') }}" } }), { env: {} });
    expect(typo.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([{ code: 'E_CONFIG', hint: "did you mean 'store_failures'?" }]);
  });

  it('two tests named alike but in case store into one DuckDB table: refused at the second (was: "already exists", then each run one replaced the other)', () => {
    const r = compileProject(
      projectFiles({ models: MODEL, yml: { 'models/schema.yml': `models:\n  - name: m\n    columns:\n      - name: amount\n        tests:\n          - not_null: { name: Neg, store_failures: true }\n          - expression_is_true: { name: neg, expression: ">= 0", store_failures_as: view }\n` } }),
      { env: {} },
    );
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([{ code: 'E_DUPLICATE', file: 'models/schema.yml', line: 7, message: expect.stringMatching(/tests 'Neg' \(models\/schema\.yml:6\) and 'neg' store their failures in the same relation, analytics_dbt_test__audit\.neg/) }]);
    // not stored by one of them: no relation shared
    const ok = compileProject(
      projectFiles({ models: MODEL, yml: { 'models/schema.yml': `models:\n  - name: m\n    columns:\n      - name: amount\n        tests:\n          - not_null: { name: Neg, store_failures: true }\n          - expression_is_true: { name: neg, expression: ">= 0" }\n` } }),
      { env: {} },
    );
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it("a test's schema: is a config, as dbt's: config.schema selects it (dbt's default dbt_test__audit), and a change of it is state:modified", () => {
    const at = (schema: string) => compileProject(projectFiles({ models: MODEL, yml: yml(`not_null: { store_failures: true, schema: ${schema} }`) }), { env: {} }).manifest;
    const was = at('audit1');
    const now = at('audit2');
    const id = Object.keys(now.nodes).find((k) => k.startsWith('test.'))!;
    expect([...selectNodes(now, ['state:modified'], undefined, was).ids]).toEqual([id]);
    expect([...selectNodes(now, ['state:modified'], undefined, now).ids]).toEqual([]);
    expect([...selectNodes(now, ['config.schema:audit2'], undefined).ids]).toEqual([id]);
    const plain = compileProject(projectFiles({ models: MODEL, yml: yml('not_null') }), { env: {} }).manifest;
    expect([...selectNodes(plain, ['config.schema:dbt_test__audit'], undefined).ids]).toEqual([Object.keys(plain.nodes).find((k) => k.startsWith('test.'))]);
  });

  it('a name longer than Postgres keeps is refused when the failures are stored (cut, two tests would share a table)', () => {
    const projectYaml = 'name: fixture\ndefault_target: pg\ntargets:\n  pg:\n    type: postgres\n    url: postgres://u@127.0.0.1:5432/db\n    schema: analytics\n';
    const long = `t_${'x'.repeat(70)}`;
    const r = compileProject(projectFiles({ projectYaml, models: MODEL, yml: yml(`not_null: { name: ${long}, store_failures: true }`) }), { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([{ code: 'E_NAME', file: 'models/schema.yml', message: expect.stringMatching(/postgres keeps 63 bytes/) }]);
    // not stored: the name is no table's
    const ok = compileProject(projectFiles({ projectYaml, models: MODEL, yml: yml(`not_null: { name: ${long}, warn_if: ">2" }`) }), { env: {} });
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    // the audit schema too: <target schema>_dbt_test__audit of a 48-byte target schema is 64 bytes,
    // which Postgres cut (was: stored in the cut schema, the message naming the uncut one)
    const longTarget = projectYaml.replace('schema: analytics', `schema: ${'s'.repeat(48)}`);
    const schemaLong = compileProject(projectFiles({ projectYaml: longTarget, models: MODEL, yml: yml('not_null: { store_failures: true }') }), { env: {} });
    expect(schemaLong.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([{ code: 'E_NAME', file: 'models/schema.yml', line: 6, message: expect.stringMatching(new RegExp(`schema '${'s'.repeat(48)}_dbt_test__audit' \\(64 bytes\\), and postgres keeps 63 bytes`)) }]);
    // 47 bytes: 63, kept; a schema: of its own is what counts
    expect(compileProject(projectFiles({ projectYaml: projectYaml.replace('schema: analytics', `schema: ${'s'.repeat(47)}`), models: MODEL, yml: yml('not_null: { store_failures: true }') }), { env: {} }).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(compileProject(projectFiles({ projectYaml: longTarget, models: MODEL, yml: yml('not_null: { store_failures: true, schema: audit }') }), { env: {} }).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('the configs are configs: the same test with other thresholds keeps its unique_id; the node keeps them, the audit relation dbt names', () => {
    const a = compileProject(projectFiles({ models: MODEL, yml: yml('not_null') }), { env: {} });
    const b = compileProject(projectFiles({ models: MODEL, yml: yml('not_null: { fail_calc: "sum(amount)", warn_if: "> 1", error_if: "!= 0", limit: 3, store_failures: true }') }), { env: {} });
    const ta = Object.values(a.manifest.nodes).find((n) => n.resource_type === 'test') as TestNode;
    const tb = Object.values(b.manifest.nodes).find((n) => n.resource_type === 'test') as TestNode;
    expect(tb.unique_id).toBe(ta.unique_id);
    expect(ta).not.toHaveProperty('store_failures_as');
    expect(tb).toMatchObject({ fail_calc: 'sum(amount)', warn_if: '> 1', limit: 3, store_failures_as: 'table', audit_relation: { schema: 'analytics_dbt_test__audit', identifier: 'not_null_m_amount' } });
    // the default (!= 0) is no config of its own
    expect(tb).not.toHaveProperty('error_if');
  });
});

describe("configs written as templates are rendered when the test compiles, as dbt's test builder renders them (was: refused, 'severity must be ...', or a template sent to the warehouse)", () => {
  const TWO_TARGETS = `${BASIC_PROJECT_YAML}  prod:\n    type: duckdb\n    path: .vigil/prod.duckdb\n    schema: analytics\nvars:\n  max_bad: 4\n`;
  const test = `not_null:
              config:
                severity: "{{ 'error' if target.name == 'prod' else 'warn' }}"
                error_if: ">{{ var('max_bad', 10) }}"
                limit: "{{ var('max_bad') * 2 }}"
                store_failures: "{{ target.name == 'prod' }}"
                fail_calc: "count(distinct {{ var('key', 'amount') }})"`;
  const compiled = (target: string, vars?: Record<string, unknown>) => {
    const r = compileProject(projectFiles({ projectYaml: TWO_TARGETS, models: MODEL, yml: yml(test) }), { env: {}, target, ...(vars ? { vars } : {}) });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return Object.values(r.manifest.nodes).find((n) => n.resource_type === 'test') as TestNode;
  };
  it('each to the value of its target and vars: text, a number, a boolean (its Python literal)', () => {
    const dev = compiled('dev');
    expect(dev).toMatchObject({ severity: 'warn', error_if: '>4', limit: 8, fail_calc: 'count(distinct amount)' });
    expect(dev).not.toHaveProperty('store_failures_as');
    const prod = compiled('prod', { max_bad: 1, key: 'id' });
    expect(prod).toMatchObject({ severity: 'error', error_if: '>1', limit: 2, fail_calc: 'count(distinct id)', store_failures_as: 'table' });
    // the same test: its unique_id does not follow its configs; the vars its configs read are state:modified.vars
    expect(prod.unique_id).toBe(dev.unique_id);
    expect(Object.keys(prod.vars ?? {}).sort()).toEqual(['key', 'max_bad']);
  });
  it('a misspelt name in one is an error at its line, with a did-you-mean', () => {
    const r = compileProject(projectFiles({ models: MODEL, yml: yml(`not_null: { severity: "{{ 'error' if targt.name == 'prod' else 'warn' }}" }`) }), { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([{ code: 'E_TEMPLATE', file: 'models/schema.yml', line: 6, message: expect.stringMatching(/'targt' is undefined — did you mean 'target'\?/) }]);
  });
  it('one rendering none (which dbt leaves unset) is an error that says so, not a SQL one', () => {
    const r = compileProject(projectFiles({ models: MODEL, yml: yml(`not_null: { severity: "{{ 'warn' if target.name == 'ci' else none }}" }`) }), { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([{ file: 'models/schema.yml', line: 6, message: expect.stringMatching(/not_null's severity needs a value here \(dbt would leave the config unset\)/), hint: expect.stringContaining("('error')") }]);
  });
  it("tags rendering a list are its tags, as dbt's native rendering gives the list (was: one tag \"['daily', 'pii']\" no selector spells); a list of numbers is an error at its line", () => {
    const tagsOf = (tags: string, vars?: Record<string, unknown>) => {
      const r = compileProject(projectFiles({ models: MODEL, yml: yml(`not_null: { tags: "${tags}" }`) }), { env: {}, ...(vars ? { vars } : {}) });
      return { errors: r.diagnostics.filter((d) => d.severity === 'error'), tags: (Object.values(r.manifest.nodes).find((n) => n.resource_type === 'test') as TestNode | undefined)?.tags };
    };
    expect(tagsOf("{{ ['daily', 'pii'] }}")).toEqual({ errors: [], tags: ['daily', 'pii'] });
    expect(tagsOf("{{ var('test_tags') }}", { test_tags: ['nightly', "it's"] })).toEqual({ errors: [], tags: ['nightly', "it's"] });
    // one tag stays its text (a number too: it prints as the text '2026' would)
    expect(tagsOf("{{ 'dai' ~ 'ly' }}")).toEqual({ errors: [], tags: ['daily'] });
    expect(tagsOf('{{ 2026 }}')).toEqual({ errors: [], tags: ['2026'] });
    expect(tagsOf("{{ [1, 'a'] }}").errors).toMatchObject([{ code: 'E_TEST', file: 'models/schema.yml', line: 6, message: "not_null: tags must render to a tag or a list of tags (text), got [1, 'a']" }]);
  });
  it('a secret env_var in one is refused, its value nowhere in the message', () => {
    const r = compileProject(projectFiles({ models: MODEL, yml: yml(`not_null: { limit: "{{ env_var('DB_PASSWORD') }}" }`) }), { env: { DB_PASSWORD: '97531' } });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toMatchObject([{ code: 'E_TEST', line: 6, message: expect.stringMatching(/limit is a config: its template may read target, var\(\) and env_var\(\), not a secret/) }]);
    expect(JSON.stringify(r.diagnostics)).not.toContain('97531');
  });
});

// ---- run: DuckDB and Postgres, one project each

const SEED = 'id,email,amount\n1,a@x.com,5\n2,,7\n3,c@x.com,-1\n4,d@x.com,-2\n5,,-3\n';
/** [name, test arguments, status, failures (run_results), rows stored (undefined: nothing stored), kind stored] */
type Case = [string, string, 'pass' | 'warn' | 'fail' | 'error', number | undefined, number | undefined, ('table' | 'view')?];
const NEG = 'expression: "amount >= 0"';
const CASES: Case[] = [
  ['plain', `${NEG}`, 'fail', 3, undefined],
  ['warn_band', `${NEG}, warn_if: ">1", error_if: ">=5"`, 'warn', 3, undefined],
  ['error_band', `${NEG}, error_if: ">2"`, 'fail', 3, undefined],
  // under both thresholds: pass, and dbt's failures of a pass are 0
  ['under_both', `${NEG}, warn_if: ">5", error_if: ">3"`, 'pass', 0, undefined],
  // severity: warn: error_if does not count (dbt's runner checks it only under severity error)
  ['warn_sev_error_if', `${NEG}, severity: warn, error_if: ">0"`, 'warn', 3, undefined],
  ['warn_sev_high', `${NEG}, severity: warn, warn_if: ">10"`, 'pass', 0, undefined],
  ['sum_calc', `${NEG}, fail_calc: "sum(amount)", error_if: "<-5"`, 'fail', -6, undefined],
  ['sum_calc_ok', `${NEG}, config: { fail_calc: "sum(amount)", error_if: "<-10", warn_if: "<-7" }`, 'pass', 0, undefined],
  // sum() over no rows is NULL: dbt refuses the result, so does Vigil (an error, not a pass)
  ['sum_null', `${NEG}, fail_calc: "sum(amount)", where: "amount > 100"`, 'error', undefined, undefined],
  ['limited', `${NEG}, limit: 2, store_failures: true`, 'fail', 2, 2, 'table'],
  ['stored', `${NEG}, store_failures: true, severity: warn`, 'warn', 3, 3, 'table'],
  ['stored_view', `${NEG}, store_failures_as: view, severity: warn`, 'warn', 3, 3, 'view'],
  // a passing test keeps an empty table, as dbt's
  ['stored_pass', `expression: "amount > -100", store_failures: true`, 'pass', 0, 0, 'table'],
  ['ephemeral_wins', `${NEG}, store_failures: true, store_failures_as: ephemeral, severity: warn`, 'warn', 3, undefined],
  ['as_wins', `${NEG}, store_failures: false, store_failures_as: table, severity: warn`, 'warn', 3, 3, 'table'],
  // a negative number right after != (Postgres read `!=-6` as one operator, `!=-`: the test was an error)
  ['minus_threshold', `${NEG}, fail_calc: "sum(amount)", warn_if: "!=-6", error_if: "!=-6"`, 'pass', 0, undefined],
  // ranges, as dbt's docs write them (were refused: "must be a comparison and a number")
  ['range_warn', `${NEG}, warn_if: "between 1 and 5", error_if: "not between 0 and 10"`, 'warn', 3, undefined],
  ['range_fail', `${NEG}, error_if: "BETWEEN 3 AND 3"`, 'fail', 3, undefined],
  ['range_pass', `${NEG}, fail_calc: "sum(amount)", warn_if: "not between -6 and -6", error_if: "between -100 and -7"`, 'pass', 0, undefined],
];

function runProject(projectYaml: string): string {
  const dir = makeProject({
    'project.yaml': projectYaml,
    'seeds/people.csv': SEED,
    'seeds/people.yml': `seeds:
  - name: people
    columns:
      - name: email
        meta: { pii: true }
    tests:
${CASES.map(([name, args]) => `      - expression_is_true: { name: ${name}, ${args} }`).join('\n')}
`,
    'tests/single.sql': "{{ config(store_failures=true, warn_if='>1', error_if='>4') }}\nselect id, email from {{ ref('people') }} where amount < 0\n",
  });
  dirs.push(dir);
  return dir;
}

function results(dir: string): Map<string, { status: string; failures?: number | null; message: string }> {
  const rr = JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8')) as { results: Array<{ unique_id: string; status: string; failures?: number | null; message: string }> };
  return new Map(rr.results.map((r) => [r.unique_id.split('.')[2], r]));
}

const engines: Array<{ name: string; project: () => { yaml: string; audit: string; env: Record<string, string> }; rows: (dir: string, sql: string) => Promise<Array<Record<string, unknown>>>; kind: (dir: string, schema: string, table: string) => Promise<string | undefined> }> = [
  {
    name: 'duckdb',
    project: () => ({ yaml: 'name: fx\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n', audit: 'analytics_dbt_test__audit', env: {} }),
    rows: (dir, sql) => duckRows(dir, sql),
    kind: async (dir, schema, table) => (await duckRows<{ t: string }>(dir, `select table_type as t from information_schema.tables where table_schema = '${schema}' and table_name = '${table}'`))[0]?.t,
  },
  {
    name: 'postgres',
    project: () => {
      const schema = uniqueSchema('thr');
      return { yaml: `name: fx\ndefault_target: pg\ntargets:\n  pg:\n    type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}\n`, audit: `${schema}_dbt_test__audit`, env: { DATABASE_URL: inject('pgUrl') } };
    },
    rows: (_dir, sql) => withPgClient(inject('pgUrl'), async (c: pg.Client) => (await c.query(sql)).rows),
    kind: (_dir, schema, table) => withPgClient(inject('pgUrl'), async (c: pg.Client) => (await c.query(`select table_type as t from information_schema.tables where table_schema = $1 and table_name = $2`, [schema, table])).rows[0]?.t),
  },
];

describe.each(engines)('thresholds and stored failures on $name', (engine) => {
  const p = engine.project();
  const dir = runProject(p.yaml);
  // two builds: the second replaces the stored failures (never appends to them)
  const first = vigil(dir, ['build'], p.env);
  const second = vigil(dir, ['build'], p.env);

  it('exits 1 (an error-severity test failed), twice, with no stack trace', () => {
    expect(first.code, first.stdout + first.stderr).toBe(1);
    expect(second.code, second.stdout + second.stderr).toBe(1);
    expect(second.stderr).not.toMatch(/\n\s+at /);
  });

  it.each(CASES)('%s: status, failures and stored rows as dbt', async (name, _args, status, failures, stored, kind) => {
    const r = results(dir).get(name)!;
    expect(r.status, r.message).toBe(status);
    if (failures === undefined) expect(r.failures ?? undefined).toBeUndefined();
    else expect(r.failures).toBe(failures);
    const table = await engine.kind(dir, p.audit, name);
    if (stored === undefined) expect(table).toBeUndefined();
    else {
      expect(table).toBe(kind === 'view' ? 'VIEW' : 'BASE TABLE');
      const n = Number((await engine.rows(dir, `select count(*) as n from ${p.audit}.${name}`))[0].n);
      expect(n).toBe(stored);
    }
  });

  it('a stored failure never holds PII: the email is stored as the sample shows it, ****, NULL as NULL', async () => {
    const rows = await engine.rows(dir, `select id, email, amount from ${p.audit}.stored order by id`);
    expect(rows.map((r) => [Number(r.id), r.email, Number(r.amount)])).toEqual([
      [3, '****', -1],
      [4, '****', -2],
      [5, null, -3],
    ]);
    const view = await engine.rows(dir, `select email from ${p.audit}.stored_view where email is not null`);
    expect(view.map((r) => r.email)).toEqual(['****', '****']);
    const single = await engine.rows(dir, `select email from ${p.audit}.single where email is not null`);
    expect(single.map((r) => r.email)).toEqual(['****', '****']);
  });

  it('a singular test: config() thresholds and stored failures, as a generic one', () => {
    expect(results(dir).get('single')).toMatchObject({ status: 'warn', failures: 3 });
  });

  it('the message says the threshold and where the failures are', () => {
    expect(results(dir).get('warn_band')!.message).toMatch(/^3 rows failed, configured to warn if >1 \(seeds\/people\.yml:\d+;/);
    expect(results(dir).get('sum_calc')!.message).toMatch(/^fail_calc sum\(amount\) is -6, configured to fail if <-5/);
    expect(results(dir).get('stored')!.message).toContain(`failures stored in ${p.audit}.stored`);
    expect(results(dir).get('sum_null')!.message).toMatch(/fail_calc sum\(amount\) gave NULL, not a number/);
  });

  it('config.store_failures:true selects the tests that store them', () => {
    const ls = vigil(dir, ['ls', '-s', 'config.store_failures:true', '--output', 'name'], p.env);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trim().split('\n').sort()).toEqual(['as_wins', 'limited', 'single', 'stored', 'stored_pass', 'stored_view']);
  });
});

describe('Postgres: a stored failures view the rebuild of its model drops (cascade)', () => {
  it("is no stranger's view to re-create: a build running the test says nothing, a run names the test (was: 'not a model of this project ...; re-create it')", () => {
    const schema = uniqueSchema('thrv');
    const env = { DATABASE_URL: inject('pgUrl') };
    const dir = makeProject({
      'project.yaml': `name: fx\ndefault_target: pg\ntargets:\n  pg:\n    type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}\n`,
      'models/v.sql': "select 1 as id, -1 as amount, 'x' as extra",
      'models/v.yml': 'models:\n  - name: v\n    columns:\n      - name: amount\n        tests:\n          - expression_is_true: { name: negv, expression: ">= 0", store_failures_as: view, severity: warn }\n',
    });
    dirs.push(dir);
    const first = vigil(dir, ['build'], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // a column renamed: Postgres drops the view over it (and the audit view over that) to rebuild it
    writeFileSync(join(dir, 'models/v.sql'), "select 1 as id, -1 as amount, 'x' as extra2");
    const build = vigil(dir, ['build'], env);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    expect(build.stdout).toMatch(/OK created view .*\.v/);
    expect(build.stdout).not.toMatch(/dropped the view/);
    // (a column fewer: dropped again, by a run of the model alone)
    writeFileSync(join(dir, 'models/v.sql'), 'select 1 as id, -1 as amount');
    const run = vigil(dir, ['run'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`dropped the view that reads it (Postgres' drop ... cascade), the stored failures of test negv (store_failures_as: view), not run by this run: ${schema}_dbt_test__audit.negv; vigil test -s negv stores it again`);
    expect(run.stdout).not.toMatch(/not a model of this project/);
  });
});

describe('Postgres: the stored failures replaced in one transaction, as dbt does there', () => {
  it('a create that fails leaves the last run\'s failures (was: dropped first, committed, then the create failed: nothing stored)', async () => {
    const schema = uniqueSchema('thrt');
    const audit = `${schema}_dbt_test__audit`;
    const env = { DATABASE_URL: inject('pgUrl') };
    const dir = makeProject({
      'project.yaml': `name: fx\ndefault_target: pg\ntargets:\n  pg:\n    type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}\n`,
      'models/v.sql': 'select 1 as id, -1 as amount union all select 2, -2',
      'models/v.yml': 'models:\n  - name: v\n    columns:\n      - name: amount\n        tests:\n          - expression_is_true: { name: negt, expression: ">= 0", store_failures: true, severity: warn }\n',
    });
    dirs.push(dir);
    const first = vigil(dir, ['build'], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const stored = async () => withPgClient(inject('pgUrl'), async (c: pg.Client) => (await c.query(`select count(*)::int as n from information_schema.tables where table_schema = $1 and table_name = 'negt'`, [audit])).rows[0].n === 1 ? (await c.query(`select id from ${audit}.negt order by id`)).rows.map((r) => r.id) : undefined);
    expect(await stored()).toEqual([1, 2]);
    // a create in the audit schema refused by the server (an event trigger; the drop before it passes)
    const fn = `${schema}_refuse`;
    await withPgClient(inject('pgUrl'), async (c: pg.Client) => {
      await c.query(`create function public.${fn}() returns event_trigger language plpgsql as $$ declare r record; begin for r in select * from pg_event_trigger_ddl_commands() loop if r.schema_name = '${audit}' then raise exception 'refused by the test'; end if; end loop; end $$`);
      await c.query(`create event trigger ${fn} on ddl_command_end when tag in ('CREATE TABLE AS') execute function public.${fn}()`);
    });
    try {
      const run = vigil(dir, ['test'], env);
      expect(run.stdout + run.stderr).toContain('refused by the test');
      expect(run.code).toBe(1);
    } finally {
      await withPgClient(inject('pgUrl'), async (c: pg.Client) => {
        await c.query(`drop event trigger if exists ${fn}`);
        await c.query(`drop function if exists public.${fn}()`);
      });
    }
    expect(await stored()).toEqual([1, 2]);
  });
});

describe('DuckDB: the stored failures replaced in one transaction too', () => {
  it("a create that fails leaves the last run's failures (was: the drop committed, then the create failed: nothing stored)", async () => {
    const dir = makeProject({
      'project.yaml': 'name: fx\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n',
      'models/v.sql': "select 1 as id, -1 as amount, 'x' as s union all select 2, -2, 'y'",
      // (the where: of the second run fails as its rows are read, not as their columns are named: the drop has run)
      'models/v.yml': `models:\n  - name: v\n    columns:\n      - name: amount\n        tests:\n          - expression_is_true: { name: negt, expression: ">= 0", store_failures: true, severity: warn, where: "{{ var('w', '1 = 1') }}" }\n`,
    });
    dirs.push(dir);
    const first = vigil(dir, ['build']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const stored = async () => (await duckRows<{ id: number }>(dir, 'select id from analytics_dbt_test__audit.negt order by id')).map((r) => Number(r.id));
    expect(await stored()).toEqual([1, 2]);
    const run = vigil(dir, ['test', '--vars', '{w: "cast(s as integer) = 1"}']);
    expect(run.stdout + run.stderr).toContain("Could not convert string 'x'");
    expect(run.code).toBe(1);
    expect(await stored()).toEqual([1, 2]);
  });
});

describe('BigQuery: the statements (offline golden)', () => {
  it('replace the stored failures, the PII column masked; the test query dbt writes; each parses as BigQuery', () => {
    const rows = limitedSql('select id, email from `p`.`analytics`.`people` where amount < 0', 10);
    const plan = failureStoreStatements({
      kind: 'table',
      relation: { database: 'p', schema: 'analytics_dbt_test__audit', identifier: 'neg' },
      rows,
      columns: ['id', 'email'],
      masked: { hidden: new Set(['email']), renamed: new Map() },
      existing: 'view',
      dialect: bigQueryDialect,
    });
    expect(plan.statements).toEqual([
      'drop view if exists `p`.`analytics_dbt_test__audit`.`neg`',
      "create table `p`.`analytics_dbt_test__audit`.`neg` as\nselect `id`, case when `email` is null then null else '****' end as `email`\nfrom (\nselect * from (\nselect id, email from `p`.`analytics`.`people` where amount < 0\n) as vigil_test_limit\nlimit 10\n) as vigil_test",
    ]);
    // masked: counted from the query, not the stored table
    expect(plan.countFrom).toBeUndefined();
    const result = testResultSql(rows, { fail_calc: 'count(distinct id)', warn_if: '>1', error_if: '>=5' });
    expect(result).toBe('select\n  count(distinct id) as failures,\n  count(distinct id) > 1 as should_warn,\n  count(distinct id) >= 5 as should_error\nfrom (\n' + rows + '\n) as vigil_test');
    // dbt's defaults: the count alone (the query of every test without thresholds, as before them)
    expect(testResultSql(rows, {})).toBe('select count(*) as failures from (\n' + rows + '\n) as vigil_test');
    for (const sql of [...plan.statements, result]) expect(() => parseSql(sql, { dialect: 'bigquery' }), sql).not.toThrow();
    // nothing masked, a view: no drop when nothing is there; counted from the view, as dbt counts
    const view = failureStoreStatements({ kind: 'view', relation: { database: 'p', schema: 'a', identifier: 'v' }, rows: 'select 1 as n', columns: ['n'], masked: { hidden: new Set(), renamed: new Map() }, existing: null, dialect: bigQueryDialect });
    expect(view).toEqual({ statements: ['create view `p`.`a`.`v` as\nselect 1 as n'], countFrom: 'select * from `p`.`a`.`v`' });
  });
});

describe('vigil init --from-dbt keeps them', () => {
  it('converts fail_calc, warn_if, error_if, limit, store_failures, store_failures_as, schema; a templated one is kept (Vigil renders it, as dbt), a wrong one listed', () => {
    const f = new Findings();
    const c = convertPropertiesYaml(
      `version: 2
models:
  - name: m
    columns:
      - name: id
        data_tests:
          - not_null:
              config: { store_failures: true, store_failures_as: view, warn_if: ">10", error_if: ">100", fail_calc: "sum(n)", limit: 5, schema: audit }
          - unique:
              warn_if: "> {{ var('n') }}"
              store_failures: true
          - accepted_values:
              values: [1]
              error_if: "== 1"
              severity: "{{ 'ERROR' if target.name == 'PROD' else 'warn' }}"
`,
      'models/props.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    const tests = parse(c.text).models[0].columns[0].data_tests;
    expect(tests[0]).toEqual({ not_null: { config: { store_failures: true, store_failures_as: 'view', warn_if: '>10', error_if: '>100', fail_calc: 'sum(n)', limit: 5, schema: 'audit' } } });
    expect(tests[1]).toEqual({ unique: { warn_if: "> {{ var('n') }}", store_failures: true } });
    // (a template's text as written: lower-casing it changed what it compares, 'PROD')
    expect(tests[2]).toEqual({ accepted_values: { values: [1], severity: "{{ 'ERROR' if target.name == 'PROD' else 'warn' }}" } });
    const nc = f.notConverted.map((x) => `${x.line}: ${x.message}`);
    expect(nc).toContainEqual(expect.stringMatching(/^14: test 'accepted_values': error_if: not converted \(error_if must be a comparison and a number/));
    expect(nc.filter((x) => /warn_if: not converted/.test(x))).toEqual([]);
    // (the kept ones are not listed)
    expect(nc.filter((x) => !x.startsWith('14: ') && /(store_failures|store_failures_as|fail_calc|limit|schema|error_if): not converted/.test(x))).toEqual([]);
  });

  it('a fail_calc dbt renders (a template) is kept: Vigil renders it when it compiles the test (was: taken out and listed, before that kept and sent unrendered)', () => {
    const f = new Findings();
    const c = convertPropertiesYaml(
      `version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n        data_tests:\n          - unique:\n              fail_calc: "count(distinct {{ var('k') }})"\n              store_failures: true\n`,
      'models/props.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    expect(parse(c.text).models[0].columns[0].data_tests).toEqual([{ unique: { fail_calc: "count(distinct {{ var('k') }})", store_failures: true } }]);
    expect(f.notConverted).toEqual([]);
  });
});
