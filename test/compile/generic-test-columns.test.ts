/**
 * A generic test's column named like a key word of one of the warehouses is quoted in its SQL,
 * in that warehouse's spelling; other names are written as the YAML has them, unless the column
 * says `quote: true` (dbt's), on a real Postgres too.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { uniqueSchema } from '../support/postgres.js';
import { genericTestSql } from '../../src/compile/generic-tests.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { postgresDialect } from '../../src/adapters/postgres/postgres-dialect.js';

const notNull = (column: string, dialect: typeof duckDbDialect) => genericTestSql({ test: 'not_null', relation: 't0', column, args: {}, dialect } as never);

describe('generic test columns named like key words', () => {
  it("are quoted: Postgres' user, DuckDB's at, BigQuery's hash, range and rows (were: where hash is null, a syntax error on BigQuery)", () => {
    for (const [column, dialect, quoted] of [
      ['user', postgresDialect, '"user"'],
      ['at', duckDbDialect, '"at"'],
      ['hash', bigQueryDialect, '`hash`'],
      ['range', bigQueryDialect, '`range`'],
      ['rows', bigQueryDialect, '`rows`'],
    ] as const) {
      expect(notNull(column, dialect), `${column} on ${dialect.name}`).toMatch(new RegExp(`where ${quoted.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')} is null$`));
    }
    // an ordinary name, or an expression, as written
    expect(notNull('amount', bigQueryDialect)).toMatch(/where amount is null$/);
    expect(notNull('ID', postgresDialect)).toMatch(/where ID is null$/);
  });
});

describe('unique_combination_of_columns with a column named like a key word', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  it("quotes it as the single-column tests do (was: group by day, user: Postgres' current_user, every user's rows false duplicates)", () => {
    const sql = (dialect: typeof duckDbDialect) => genericTestSql({ test: 'unique_combination_of_columns', relation: 't0', args: { combination_of_columns: ['day', 'user', 'lower(name)'] }, dialect } as never);
    expect(sql(postgresDialect)).toBe('select day, "user", lower(name), count(*) as n_records\nfrom t0 as t\ngroup by day, "user", lower(name)\nhaving count(*) > 1');
    expect(sql(bigQueryDialect)).toContain('group by day, `user`, lower(name)');
    const schema = uniqueSchema('kw_combo');
    const dir = makeProject({
      'project.yaml': `name: q\ndefault_target: pg\ntargets:\n  pg:\n    type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}\n`,
      'models/uc.sql': `select * from (values (1, 'a'), (1, 'b'), (2, 'a')) as v(day, "user")`,
      'models/schema.yml': 'models:\n  - name: uc\n    tests:\n      - unique_combination_of_columns: { combination_of_columns: [day, user] }\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['build', '-s', 'uc'], { DATABASE_URL: inject('pgUrl') });
    expect(r.stdout).toMatch(/PASS unique_combination_of_columns_uc_day_user\b/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe('generic test columns named like a function called without parentheses', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  it("are quoted in every dialect, in any case: Postgres' current_schema, current_catalog, ..., BigQuery's current_datetime (were: current_schema and current_datetime unquoted, the function tested)", () => {
    const words = ['current_catalog', 'current_date', 'current_role', 'current_schema', 'current_time', 'current_timestamp', 'current_user', 'localtime', 'localtimestamp', 'session_user', 'system_user', 'user', 'current_datetime'];
    for (const w of words) {
      for (const [dialect, q] of [[postgresDialect, '"'], [duckDbDialect, '"'], [bigQueryDialect, '`']] as const) {
        expect(notNull(w, dialect), `${w} on ${dialect.name}`).toMatch(new RegExp(`where ${q}${w}${q} is null$`));
        // (unquoted, Postgres folds CURRENT_SCHEMA to the function's name too)
        expect(notNull(w.toUpperCase(), dialect), `${w.toUpperCase()} on ${dialect.name}`).toMatch(new RegExp(`where ${q}${w}${q} is null$`));
      }
    }
  });

  it('on Postgres, not_null, unique and accepted_values on a column named current_schema test the column (was: current_schema(), not_null passed over a NULL, unique and accepted_values failed with the schema)', () => {
    const schema = uniqueSchema('kw_col');
    const dir = makeProject({
      'project.yaml': `name: q\ndefault_target: pg\ntargets:\n  pg:\n    type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}\n`,
      'models/kw.sql': `select * from (values (1, 'x', 'a'), (2, 'y', 'b'), (3, cast(null as varchar), 'c')) as v(id, "current_schema", "current_catalog")`,
      'models/schema.yml': 'models:\n  - name: kw\n    columns:\n      - name: current_schema\n        tests: [not_null, unique, { accepted_values: { values: [x, y] } }]\n      - name: CURRENT_CATALOG\n        tests: [not_null, unique, { accepted_values: { values: [a, b, c] } }]\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['build', '-s', 'kw'], { DATABASE_URL: inject('pgUrl') });
    expect(r.stdout).toMatch(/FAIL 1 not_null_kw_current_schema\b/);
    expect(r.stdout).toMatch(/PASS unique_kw_current_schema\b/);
    expect(r.stdout).toMatch(/PASS accepted_values_kw_current_schema\b/);
    for (const t of ['not_null', 'unique', 'accepted_values']) expect(r.stdout).toMatch(new RegExp(`PASS ${t}_kw_CURRENT_CATALOG\\b`));
    expect(r.code, r.stdout + r.stderr).toBe(1);
  });
});

describe("a column's quote: true (dbt's)", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  it('a column whose name is no plain identifier (`my col`), without it: the error of its tests says to quote it, on DuckDB; a plain or mixed-case name there (DuckDB reads names without their case) gets no hint (was: the parser error alone)', () => {
    const dir = makeProject({
      'models/m.sql': 'select 1 as "my col", 2 as "MyCol"',
      'models/schema.yml': 'models:\n  - name: m\n    columns:\n      - name: my col\n        tests: [not_null]\n      - name: MyCol\n        tests: [not_null]\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ERROR test not_null_m_my_col[^\n]*\n[^\n]*\n[^\n]*syntax error at or near "col"/);
    expect(r.stdout).toContain(`hint: the test writes the column my col unquoted, as dbt does; if that is the column's name, give the column quote: true in its YAML, and the test writes it "my col"`);
    expect(r.stdout).toMatch(/PASS not_null_m_MyCol\b/);
    expect(r.stdout.match(/hint: the test writes/g)).toHaveLength(1);
    // with quote: true, the test passes
    writeFileSync(join(dir, 'models/schema.yml'), readFileSync(join(dir, 'models/schema.yml'), 'utf8').replace('- name: my col\n', '- name: my col\n        quote: true\n'));
    const quoted = vigil(dir, ['build']);
    expect(quoted.stdout).toMatch(/PASS not_null_m_my_col\b/);
    expect(quoted.code, quoted.stdout + quoted.stderr).toBe(0);
  });

  it('the hint is under an error the unquoted column makes only: not under a relation not built, nor a where: naming another column (was: under every error of the test, pointing away from what went wrong)', () => {
    const dir = makeProject({
      'models/m.sql': 'select 1 as "my-col", 2 as status',
      'models/schema.yml': 'models:\n  - name: m\n    columns:\n      - name: my-col\n        tests:\n          - not_null\n          - not_null:\n              name: nn_where\n              config: { where: "statsu = 1" }\n',
    });
    dirs.push(dir);
    // not built yet: the relation is what is missing
    const unbuilt = vigil(dir, ['test']);
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.stdout).toMatch(/ERROR test not_null_m_my_col[^\n]*\n[^\n]*\n[^\n]*Catalog Error: Table with name[^\n]*does not exist/);
    expect(unbuilt.stdout).not.toContain('hint: the test writes');
    const shown = vigil(dir, ['show', '-s', 'not_null_m_my_col']);
    expect(shown.code).toBe(1);
    expect(shown.stderr).not.toContain('hint: the test writes');
    // built: `my-col` is read as my minus col, a column "my" not found, said; the where's own
    // mistake (statsu) is not the column's
    const built = vigil(dir, ['build']);
    expect(built.code).toBe(1);
    expect(built.stdout).toMatch(/ERROR test not_null_m_my_col[^\n]*\n[^\n]*\n[^\n]*Referenced column "my" not found[\s\S]*?hint: the test writes the column my-col unquoted/);
    expect(built.stdout).toMatch(/ERROR test nn_where[^\n]*\n[^\n]*\n[^\n]*Referenced column "statsu" not found/);
    expect(built.stdout.match(/hint: the test writes/g)).toHaveLength(1);
  });

  it('writes its name quoted in every generic test, in each dialect', () => {
    const sql = (test: string, dialect: typeof duckDbDialect, args: Record<string, unknown> = {}) => genericTestSql({ test, relation: 't0', column: 'ID', quoteColumn: true, args, toRelation: 't1', dialect } as never);
    expect(sql('not_null', postgresDialect)).toMatch(/where "ID" is null$/);
    expect(sql('not_null', bigQueryDialect)).toMatch(/where `ID` is null$/);
    expect(sql('unique', duckDbDialect)).toBe('select "ID" as unique_field, count(*) as n_records\nfrom t0 as t\nwhere "ID" is not null\ngroup by "ID"\nhaving count(*) > 1');
    expect(sql('accepted_values', postgresDialect, { values: ['a'] })).toContain(`where "ID" is not null and "ID" not in ('a')`);
    expect(sql('relationships', postgresDialect, { to: "ref('p')", field: 'id' })).toContain('from (select "ID" as from_field from t0 as t where "ID" is not null) as child');
    expect(sql('expression_is_true', postgresDialect, { expression: '> 0' })).toMatch(/where not \("ID" > 0\)$/);
  });

  it('on Postgres, a mixed-case column is tested under its own name; the tests keep dbt\'s names (was: quote refused as an unknown key, and without it column "id" does not exist)', () => {
    const schema = uniqueSchema('quote_col');
    const dir = makeProject({
      'project.yaml': `name: q\ndefault_target: pg\ntargets:\n  pg:\n    type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}\n`,
      'models/m.sql': 'select 1 as "ID", 2 as n union all select 2 as "ID", 2 as n',
      'models/schema.yml': 'models:\n  - name: m\n    columns:\n      - name: ID\n        quote: true\n        tests: [unique, not_null]\n      - name: n\n        tests: [not_null]\n',
    });
    dirs.push(dir);
    const env = { DATABASE_URL: inject('pgUrl') };
    const r = vigil(dir, ['build'], env);
    expect(r.stdout).toMatch(/PASS unique_m_ID\b/);
    expect(r.stdout).toMatch(/PASS not_null_m_ID\b/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // without it, the name is case-folded, as dbt writes it: the test fails at the warehouse
    writeFileSync(join(dir, 'models/schema.yml'), readFileSync(join(dir, 'models/schema.yml'), 'utf8').replace('        quote: true\n', ''));
    const folded = vigil(dir, ['test'], env);
    expect(folded.stdout).toMatch(/ERROR unique_m_ID[^\n]*\n[^\n]*column "id" does not exist/);
    // ... and the error says why and what to write (was: Postgres' own HINT alone, naming another column)
    expect(folded.stdout).toContain(`hint: the test writes the column ID unquoted, as dbt does (postgres reads it as id); if that is the column's name, give the column quote: true in its YAML, and the test writes it "ID"`);
    expect(folded.code).toBe(1);
    // vigil show of the test says so too
    const shown = vigil(dir, ['show', '-s', 'not_null_m_ID'], env);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain('hint: the test writes the column ID unquoted, as dbt does (postgres reads it as id)');
    expect(shown.stderr).not.toMatch(/\n\s+at /);
    // a value that is no boolean is refused at its line
    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: m\n    columns:\n      - name: ID\n        quote: yes please\n');
    const bad = vigil(dir, ['compile'], env);
    expect(bad.stderr).toMatch(/models\/schema\.yml:5:\d+: error: .*quote/);
    expect(bad.code).toBe(2);
  });
});

describe('relationships of a column expression, or to a field expression', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  it("read each in its own relation, as dbt's macro does (select <column> as from_field, <field> as to_field), on DuckDB and Postgres (was: child.lower(code), a warehouse error where dbt's test ran)", () => {
    const schema = uniqueSchema('rel_expr');
    const dir = makeProject({
      'project.yaml': `name: q\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n  pg:\n    type: postgres\n    url: "{{ env_var('DATABASE_URL') }}"\n    schema: ${schema}\n`,
      'models/parent.sql': "select 'A' as code, 1 as id union all select 'B', 2",
      'models/child.sql': "select 'a' as code, 10 as pid union all select 'c', 20 union all select null, null",
      'models/schema.yml': `models:
  - name: child
    columns:
      - name: lower(code)
        tests:
          - relationships: { to: ref('parent'), field: lower(code) }
      - name: pid
        tests:
          - relationships: { to: ref('parent'), field: id * 10, name: scaled }
`,
    });
    dirs.push(dir);
    for (const target of ['dev', 'pg']) {
      const r = vigil(dir, ['build', '-t', target], { DATABASE_URL: inject('pgUrl') });
      // 'c' has no parent 'C', 20 is parent 2's id * 10, the NULLs are no children (as in dbt)
      expect(r.stdout, target).toMatch(/FAIL 1 relationships_child_lower_code_ [^\n]*\n[^\n]*\n\s+from_field\n\s+-+\n\s+c\n/);
      expect(r.stdout, target).toMatch(/PASS scaled\b/);
      expect(r.stdout, target).toContain('OK=3 WARN=0 ERROR=1');
      expect(r.code, target).toBe(1);
    }
  });
});
