/**
 * Names longer than Postgres keeps (63 bytes) in a model's own SQL and in a data test's column
 * arguments, against a real PostgreSQL server and the real CLI. Postgres cuts such a name to its
 * first 63 bytes without an error: two aliases alike in those bytes failed the build with its raw
 * "column ... specified more than once", two columns read by such names read one column (exit 0),
 * and unique_combination_of_columns of two such columns tested one column and passed. Each is now
 * an error at compile, at its file:line, saying the name Postgres makes of it (exit 2).
 */
import { afterAll, expect, inject, it } from 'vitest';
import { uniqueSchema, pgProjectYaml, withPgClient } from '../support/postgres.js';
import { BASIC_PROJECT_YAML, makeProject, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const env = () => ({ VIGIL_TEST_PG_URL: inject('pgUrl') });

/** 64 bytes; with `1` / `2` after it, two names alike in their first 63 bytes */
const A = 'a'.repeat(64);
const CUT = 'a'.repeat(63);

const schemaExists = (schema: string) => withPgClient(inject('pgUrl'), async (c) => (await c.query('select 1 from pg_namespace where nspname = $1', [schema])).rowCount === 1);

it("two names of a model's SQL alike in their first 63 bytes: an error at the model's line naming both and the cut name, nothing built (was: Postgres' 'column ... specified more than once', or exit 0 reading one column twice)", async () => {
  const schema = uniqueSchema('long_sql');
  const files = {
    'project.yaml': pgProjectYaml(schema),
    'models/base.sql': `select 1 as ${CUT}, 2 as b\n`,
    // two aliases: Postgres refused the table ("specified more than once")
    'models/two_aliases.sql': `{{ config(materialized='table') }}\nselect 1 as ${A}1,\n  2 as "${A}2"\n`,
    // two columns read: both read base's one column, silently
    'models/two_reads.sql': `select ${A}1 as x,\n  ${A}2 as y\nfrom {{ ref('base') }}\n`,
  };
  const dir = makeProject(files);
  dirs.push(dir);
  const r = vigil(dir, ['build'], env());
  expect(r.stderr).toContain(`models/two_aliases.sql:3:8: error: model 'two_aliases': '${A}1' (line 2) and '${A}2' are one name to postgres, which keeps 63 bytes of a name: both are '${CUT}' [E_NAME]`);
  expect(r.stderr).toContain(`models/two_reads.sql:2:3: error: model 'two_reads': '${A}1' (line 1) and '${A}2' are one name to postgres, which keeps 63 bytes of a name: both are '${CUT}' [E_NAME]`);
  expect(r.stdout + r.stderr).not.toContain('specified more than once');
  expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code, r.stdout + r.stderr).toBe(2);
  expect(await schemaExists(schema)).toBe(false);
  // one long name (used twice, in another case) is one column: built, as Postgres names it
  const one = makeProject({ 'project.yaml': pgProjectYaml(uniqueSchema('long_one')), 'models/one.sql': `select ${A}1 from (select 1 as ${A.toUpperCase()}1) as t\n`, 'models/lit.sql': `select '${A}2' as "${A}1"\n` });
  dirs.push(one);
  const ok = vigil(one, ['build'], env());
  expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  // DuckDB keeps the long names apart: no error there
  const duck = makeProject({ 'project.yaml': BASIC_PROJECT_YAML, 'models/two_aliases.sql': files['models/two_aliases.sql'] });
  dirs.push(duck);
  expect(vigil(duck, ['compile']).code).toBe(0);
});

it("long names of two relations, two CTEs or a UNION's branches alike in their first 63 bytes are each their own column: built, each column read (was: refused at compile, though Postgres builds them)", async () => {
  const schema = uniqueSchema('long_scopes');
  const dir = makeProject({
    'project.yaml': pgProjectYaml(schema),
    'models/base_a.sql': `select 1 as id, 10 as ${A}1\n`,
    'models/base_b.sql': `select 1 as id, 20 as ${A}2\n`,
    'models/join_ab.sql': `select a.id,\n  a.${A}1 as one,\n  b.${A}2 as two\nfrom {{ ref('base_a') }} a join {{ ref('base_b') }} b on a.id = b.id\n`,
    'models/ctes.sql': `with x as (select 1 as id, 5 as ${A}1),\ny as (select 1 as id, 6 as ${A}2)\nselect x.id, x.${A}1 as p, y.${A}2 as q from x join y using (id)\n`,
    'models/unioned.sql': `select 1 as ${A}1\nunion all\nselect 2 as ${A}2\n`,
  });
  dirs.push(dir);
  const r = vigil(dir, ['build'], env());
  expect(r.stderr).not.toContain('E_NAME');
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const rows = await withPgClient(inject('pgUrl'), async (c) => [(await c.query(`select one, two from "${schema}".join_ab`)).rows, (await c.query(`select p, q from "${schema}".ctes`)).rows, (await c.query(`select count(*)::int as n from "${schema}".unioned`)).rows]);
  expect(rows).toEqual([[{ one: 10, two: 20 }], [{ p: 5, q: 6 }], [{ n: 2 }]]);
});

it("a data test's column argument longer than 63 bytes (unique_combination_of_columns, relationships' field): an error at its line, not a test of the cut column (was: two such combination columns one column, PASS)", async () => {
  const schema = uniqueSchema('long_test');
  const dir = makeProject({
    'project.yaml': pgProjectYaml(schema),
    'models/p.sql': `select 1 as id, 1 as ${CUT} union all select 1, 2\n`,
    'models/p.yml': `models:\n  - name: p\n    tests:\n      - unique_combination_of_columns:\n          combination_of_columns: [${A}1, ${A}2]\n    columns:\n      - name: id\n        tests:\n          - relationships: { to: "ref('p')", field: ${A}3 }\n`,
  });
  dirs.push(dir);
  const r = vigil(dir, ['build'], env());
  expect(r.stderr).toContain(`models/p.yml:5:36: error: unique_combination_of_columns: column '${A}1' is 65 bytes long; postgres keeps 63 bytes of a name: it names the column '${CUT}' [E_NAME]`);
  expect(r.stderr).toMatch(new RegExp(`models/p\\.yml:5:\\d+: error: unique_combination_of_columns: column '${A}2' is 65 bytes long; postgres keeps 63 bytes of a name: it names the column '${CUT}', as '${A}1' does \\[E_NAME\\]`));
  expect(r.stderr).toMatch(new RegExp(`models/p\\.yml:9:\\d+: error: relationships: column '${A}3' is 65 bytes long`));
  expect(r.stdout).not.toContain('PASS');
  expect(r.code, r.stdout + r.stderr).toBe(2);
  expect(await schemaExists(schema)).toBe(false);
});
