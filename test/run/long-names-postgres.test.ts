/**
 * Names Vigil makes from a model's name, on a real PostgreSQL target, which keeps 63 bytes of a
 * name and cuts a longer one without an error. An ephemeral model is inlined as the CTE
 * `__vigil_eph_<name>`: two ephemeral models of more than 51 bytes alike in their first 51 were
 * one CTE name there, and every model, data test and unit test reading both failed with
 * Postgres' own "WITH query name ... specified more than once". Such a CTE name is now cut with
 * a hash of the model's name (ephemeralCte), as the scratch tables beside a relation are.
 */
import { afterAll, expect, inject, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueSchema } from '../support/postgres.js';
import { fileClient } from '../support/pg-client.js';
import { makeProject, removeDir, vigil } from '../helpers.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

// 56 bytes each, alike in their first 52: `__vigil_eph_` + 51 bytes is all Postgres keeps of the CTE name
const ONE = `${'e'.repeat(52)}_one`;
const TWO = `${'e'.repeat(52)}_two`;
// multi-byte: 30 characters of 2 bytes, alike in their first 29
const UML1 = `${'ä'.repeat(29)}x`;
const UML2 = `${'ä'.repeat(29)}y`;

it('two ephemeral models whose CTE names Postgres would cut alike build, test and unit-test as two CTEs (was: exit 1, "WITH query name ... specified more than once")', async () => {
  const schema = uniqueSchema('long_eph');
  const eph = (v: number) => `{{ config(materialized='ephemeral') }}\nselect ${v} as x`;
  const dir = makeProject({
    'project.yaml': `name: longeph\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${schema} }\n`,
    [`models/${ONE}.sql`]: eph(1),
    [`models/${TWO}.sql`]: eph(2),
    [`models/${UML1}.sql`]: eph(3),
    [`models/${UML2}.sql`]: eph(4),
    'models/both.sql': `{{ config(materialized='table') }}\nselect x from {{ ref('${ONE}') }} union all select x from {{ ref('${TWO}') }}\nunion all select x from {{ ref('${UML1}') }} union all select x from {{ ref('${UML2}') }}`,
    'models/both.yml': [
      'models:',
      `  - name: ${ONE}`,
      '    columns:',
      '      - name: x',
      `        tests: [not_null, { relationships: { to: "ref('${TWO}')", field: x, config: { where: 'x = 2' } } }]`,
      '  - name: both',
      '    columns:',
      '      - name: x',
      "        tests: [unique, { accepted_values: { values: [1, 2, 3, 4], quote: false } }]",
      'unit_tests:',
      '  - name: both_unions_its_parents',
      '    model: both',
      '    given: []',
      '    expect:',
      '      rows: [{x: 1}, {x: 2}, {x: 3}, {x: 4}]',
      '',
    ].join('\n'),
  });
  dirs.push(dir);
  const r = vigil(dir, ['build'], { DATABASE_URL: url });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).not.toContain('specified more than once');
  expect(r.stdout).toContain('OK=6 WARN=0 ERROR=0 SKIP=0 TOTAL=6');
  expect((await client.query(`select x from ${schema}.both order by x`)).rows.map((x) => x.x)).toEqual([1, 2, 3, 4]);
  // the CTE names in the compiled SQL: each within 63 bytes, four of them
  const compiled = readFileSync(join(dir, 'target/compiled/longeph/models/both.sql'), 'utf8');
  const ctes = [...new Set([...compiled.matchAll(/"(__vigil_eph_[^"]+)"/g)].map((m) => m[1]))];
  expect(ctes).toHaveLength(4);
  for (const c of ctes) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(63);
  // the lineage of the docs still reads each CTE as its ephemeral model
  const docs = vigil(dir, ['docs', 'generate'], { DATABASE_URL: url });
  expect(docs.code, docs.stdout + docs.stderr).toBe(0);
  const page = readFileSync(join(dir, 'target/docs/nodes/model.longeph.both.html'), 'utf8');
  for (const parent of [ONE, TWO, UML1, UML2]) expect(page).toContain(`.html#col-x">${parent}.x</a>`);
});

it("a declared column longer than Postgres keeps (63 bytes) is an error at its line on a Postgres target, naming the column Postgres would make and the other declared column cut alike (was: build and its tests OK on the cut column, while vigil check said the column was missing)", async () => {
  const schema = uniqueSchema('long_col');
  const C = 'c'.repeat(60);
  const yaml = (target: string) => `name: longcol\ndefault_target: t\ntargets:\n  t: ${target}\n`;
  const files = {
    'models/cols.sql': `{{ config(materialized='table') }}\nselect 1 as ${C}_2023x`,
    'models/cols.yml': `models:\n  - name: cols\n    columns:\n      - name: ${C}_2023x\n        data_type: integer\n        tests: [not_null]\n      - name: ${C}_2024x\n`,
  };
  const dir = makeProject({ 'project.yaml': yaml(`{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${schema} }`), ...files });
  dirs.push(dir);
  const r = vigil(dir, ['build'], { DATABASE_URL: url });
  expect(r.code, r.stdout + r.stderr).toBe(2);
  expect(r.stderr).toContain(`models/cols.yml:4:15: error: column '${C}_2023x' of model 'cols' is 66 bytes long; postgres keeps 63 bytes of a name: it names the column '${C}_20' [E_NAME]`);
  expect(r.stderr).toContain(`models/cols.yml:7:15: error: column '${C}_2024x' of model 'cols' is 66 bytes long; postgres keeps 63 bytes of a name: it names the column '${C}_20', as '${C}_2023x' (line 4) does [E_NAME]`);
  expect((await client.query('select 1 from pg_namespace where nspname = $1', [schema])).rowCount).toBe(0);
  // DuckDB keeps the names as written
  const duck = makeProject({ 'project.yaml': yaml('{ type: duckdb, path: .vigil/dev.duckdb, schema: analytics }'), ...files });
  dirs.push(duck);
  const d = vigil(duck, ['compile']);
  expect(d.code, d.stdout + d.stderr).toBe(0);
});
