/**
 * Unit tests on a Postgres target run on the target Postgres, as dbt runs them on the warehouse
 * (docs/models.md#unit-tests): the model's SQL in Postgres' spelling over the given rows as CTEs,
 * one connection, each test in a transaction rolled back — nothing created, nothing kept. Was: in
 * an in-memory DuckDB, where `val / 3` is 3.333… and passed a test Postgres (3) fails. The
 * output, the diff and the exit codes are the DuckDB runner's. A BigQuery target keeps DuckDB and
 * says so once.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { uniqueSchema, withPgClient } from '../support/postgres.js';
import { makeProject, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const env = () => ({ DATABASE_URL: inject('pgUrl') });

const admin = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => withPgClient(inject('pgUrl'), fn);

const projectYaml = (schema: string) => `name: unitpg
default_target: pg
targets:
  pg:
    type: postgres
    url: "{{ env_var('DATABASE_URL') }}"
    schema: ${schema}
  prod:
    type: bigquery
    project: p
    dataset: d
`;

const PROPS = `models:
  - name: src
    columns:
      - name: val
        data_type: integer
      - name: amount
        data_type: numeric(10,2)
      - name: doc
        data_type: text
      - name: tags
        data_type: text[]
      - name: ts
        data_type: timestamptz
`;

const GIVEN = ['{ val: 10, amount: 1.25, doc: \'{"a": 5, "s": "x"}\', tags: [a, "b c"], ts: "2026-01-01 10:00:00+00" }'];
const unit = (expectRows: string, given = GIVEN) => `unit_tests:
  - name: pg_math
    model: m
    given:
      - input: ref('src')
        rows:
${given.map((g) => `          - ${g}\n`).join('')}    expect:
      rows:
        - ${expectRows}
`;

function project(schema: string, expectRows: string, given?: string[]): string {
  const dir = makeProject({
    'project.yaml': projectYaml(schema),
    'models/src.sql': `select 10 as val, cast(1.25 as numeric(10,2)) as amount, '{"a": 5}' as doc, array['a'] as tags, now() as ts`,
    'models/m.sql': `select val / 3 as third, 7 / 2 as half, amount * 3 as amount3, {{ json_number('doc', 'a') }} as a, {{ json_text('doc', 's') }} as s, array_length(tags, 1) as n_tags, tags[2] as tag2, extract(hour from ts) as h from {{ ref('src') }}`,
    'models/schema.yml': PROPS,
    'models/u.yml': unit(expectRows, given),
  });
  dirs.push(dir);
  return dir;
}

/** The target schema, when a run created it (unit tests alone create nothing). */
const leftovers = (schema: string) => admin(async (c) => (await c.query('select nspname from pg_namespace where nspname = $1', [schema])).rows.map((r) => r.nspname as string));

describe('unit tests on a Postgres target', () => {
  it("run on the target Postgres: Postgres' integer division passes, DuckDB's fails with the diff (was: the reverse, on an in-memory DuckDB); nothing is created", async () => {
    const schema = uniqueSchema('unit_pg');
    // Postgres' values: integer division, numeric exactly, json through the helpers, a text[] given as a list
    const dir = project(schema, '{ third: 3, half: 3, amount3: 3.75, a: 5, s: x, n_tags: 2, tag2: "b c", h: 10 }');
    const ok = vigil(dir, ['test', '--unit'], env());
    expect(ok.stdout + ok.stderr).toMatch(/1 of 1 PASS unit m::pg_math/);
    expect(ok.stdout).not.toMatch(/note: unit tests run on/);
    expect(ok.code).toBe(0);
    // `vigil test --unit` created nothing: not even the target schema
    expect(await leftovers(schema)).toEqual([]);

    // DuckDB's values are no values of the columns Postgres produces (bigint)
    writeFileSync(join(dir, 'models/u.yml'), unit('{ third: 3.3333333333333335, half: 3.5, amount3: 3.75, a: 5, s: x, n_tags: 2, tag2: "b c", h: 10 }'));
    const duck = vigil(dir, ['test', '--unit'], env());
    expect(duck.stdout).toContain('ERROR unit m::pg_math');
    expect(duck.stdout).toContain('models/u.yml:9: expect: row 1, third: 3.3333333333333335 is not a whole number, which bigint holds (a cast would round it)');
    expect(duck.code).toBe(1);

    // a wrong value fails with the runner's diff, skips the model, exit 1
    writeFileSync(join(dir, 'models/u.yml'), unit('{ third: 4, half: 4, amount3: 3.75, a: 5, s: x, n_tags: 2, tag2: "b c", h: 10 }'));
    const bad = vigil(dir, ['build'], env());
    expect(bad.stdout).toMatch(/FAIL unit m::pg_math/);
    expect(bad.stdout).toContain('models/u.yml:2: m on the given rows differs from expect:\n    changed cells:\n      row {amount3: 3.75, a: 5, s: x, n_tags: 2, tag2: b c, h: 10}: third expected 4, got 3; half expected 4, got 3');
    expect(bad.stdout).toMatch(new RegExp(`SKIP view ${schema}\\.m \\(upstream pg_math failed\\)`));
    expect(bad.code).toBe(1);
  });

  it('a given value that does not cast, an expect column the model does not produce: said at their line before anything runs (exit 2); a decimal compares exactly', async () => {
    const schema = uniqueSchema('unit_pg_pre');
    const dir = project(schema, '{ third: 3 }', ["{ val: 1, amount: 'abc' }", '{ val: 2 }', "{ ts: '2026-02-30 10:00:00+00', amount: 2, tags: [x] }"]);
    const cast = vigil(dir, ['build'], env());
    // each row with a value that does not cast, at its line, in Postgres' type names
    expect(cast.stderr).toContain(`models/u.yml:7: error: given ref('src'): amount: "abc" does not cast to numeric(10,2) [E_UNIT]`);
    expect(cast.stderr).toContain(`models/u.yml:9: error: given ref('src'): ts: "2026-02-30 10:00:00+00" does not cast to timestamptz [E_UNIT]`);
    expect(cast.stderr).not.toContain('models/u.yml:8');
    expect(cast.code).toBe(2);
    // nothing ran: the target schema was never created
    expect(await leftovers(schema)).toEqual([]);

    writeFileSync(join(dir, 'models/u.yml'), unit('{ thrid: 3 }', ['{ val: 10 }']));
    const col = vigil(dir, ['test', '--unit'], env());
    expect(col.stderr).toMatch(/models\/u\.yml:10: error: expect: 'm' does not produce column 'thrid' — did you mean 'third'\? \[E_UNIT\]/);
    expect(col.code).toBe(2);

    // numeric(10,2) * 3 is exact on Postgres: 3.75, not 3.7500000001
    writeFileSync(join(dir, 'models/u.yml'), unit("{ amount3: '3.76' }", ['{ amount: 1.25 }']));
    const dec = vigil(dir, ['test', '--unit'], env());
    expect(dec.stdout).toContain('missing rows (expected, not produced):\n      {amount3: 3.76}\n    extra rows (produced, not expected):\n      {amount3: 3.75}');
    expect(dec.code).toBe(1);
    // and by value: 3.00 is 3 (Postgres' numeric keeps its operands' scale: 1.00 * 3 is 3.00)
    writeFileSync(join(dir, 'models/u.yml'), unit('{ amount3: 3 }', ['{ amount: 1 }']));
    const scale = vigil(dir, ['test', '--unit'], env());
    expect(scale.stdout + scale.stderr).toMatch(/PASS unit m::pg_math/);
    expect(scale.code).toBe(0);
  });

  it("the helpers Postgres needs installed (rolling_median: vigil_internal.median) are there for the test, and a model's own SQL error is the model's", () => {
    const schema = uniqueSchema('unit_pg_helpers');
    const dir = makeProject({
      'project.yaml': projectYaml(schema),
      'models/pts.sql': 'select 1 as d, 10.0 as v',
      'models/med.sql': `select d, {{ rolling_median('v', '1', 'd', 2) }} as med from {{ ref('pts') }}`,
      'models/broken.sql': `select no_such_column from {{ ref('pts') }}`,
      'models/schema.yml': 'models:\n  - name: pts\n    columns:\n      - { name: d, data_type: integer }\n      - { name: v, data_type: double precision }\n',
      'models/u.yml': `unit_tests:
  - name: med
    model: med
    given:
      - input: ref('pts')
        rows: [{ d: 1, v: 10 }, { d: 2, v: 20 }, { d: 3, v: 40 }]
    expect:
      rows: [{ d: 1, med: null }, { d: 2, med: 10 }, { d: 3, med: 15 }]
  - name: broken
    model: broken
    given:
      - input: ref('pts')
        rows: [{ d: 1 }]
    expect:
      rows: []
`,
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit'], env());
    expect(r.stdout).toMatch(/PASS unit med::med/);
    expect(r.stdout).toMatch(/ERROR unit broken::broken[^\n]*\n\s+models\/u\.yml:9: model broken failed on the given rows \(SQL: target\/compiled\/unitpg\/models\/u\.yml\/unit\/broken\.sql\): column "no_such_column" does not exist/);
    expect(r.code).toBe(1);
  });

  it("given CSV cells are cast to the input's column types in the target Postgres once it is built (was: text: max('10.5', '9') = '9' passed)", () => {
    const schema = uniqueSchema('unit_pg_typed');
    const dir = makeProject({
      'project.yaml': projectYaml(schema),
      'models/pay.sql': 'select 1 as order_id, cast(10.5 as numeric(10,2)) as amount',
      'models/max_pay.sql': "select order_id, max(amount) as max_amount from {{ ref('pay') }} group by order_id",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: max_pay\n    given:\n      - input: ref('pay')\n        format: csv\n        rows: |\n          order_id,amount\n          2,10.5\n          2,9\n    expect:\n      rows: [{ order_id: 2, max_amount: 9 }]\n",
    });
    dirs.push(dir);
    const before = vigil(dir, ['test', '--unit'], env());
    expect(before.stderr).toContain(`models/u.yml:5: warning: unit test 't': given ref('pay'): no type is known for order_id, amount (pay is not built in target pg, and no data_type is declared)`);
    expect(vigil(dir, ['run', '-s', 'pay'], env()).code).toBe(0);
    const typed = vigil(dir, ['test', '--unit'], env());
    expect(typed.stderr).not.toContain('W_UNIT_UNTYPED');
    expect(typed.stdout).toContain('row {order_id: 2}: max_amount expected 9, got 10.5');
    expect(typed.code).toBe(1);
  });

  it("a given key that is no column of the built input is an error at its row, exit 2 (was: the real column NULL, and the test passed); one in another case is the column (was: NULL)", () => {
    const schema = uniqueSchema('unit_pg_keys');
    const unitOf = (rows: string, expectRows: string) => `unit_tests:\n  - name: t\n    model: totals\n    given:\n      - input: ref('ev')\n        rows: ${rows}\n    expect:\n      rows: ${expectRows}\n`;
    const dir = makeProject({
      'project.yaml': projectYaml(schema),
      'models/ev.sql': "select 'u1' as user_id, 7 as duration_ms",
      'models/totals.sql': "select user_id, sum(duration_ms) as total_ms from {{ ref('ev') }} where duration_ms >= 5 group by user_id",
      'models/u.yml': unitOf('[{ user_id: a, duraton_ms: 1 }]', '[]'),
    });
    dirs.push(dir);
    expect(vigil(dir, ['run', '-s', 'ev'], env()).code).toBe(0);
    const typo = vigil(dir, ['test', '--unit'], env());
    expect(typo.stderr).toContain("models/u.yml:6: error: given ref('ev'): column 'duraton_ms' is not one of its columns in the warehouse — did you mean 'duration_ms'? [E_UNIT]");
    expect(typo.code).toBe(2);
    writeFileSync(join(dir, 'models/u.yml'), unitOf('[{ USER_ID: a, duration_ms: 1 }, { USER_ID: b, duration_ms: 10 }]', '[{ user_id: b, total_ms: 10 }]'));
    const cased = vigil(dir, ['test', '--unit'], env());
    expect(cased.stdout).toMatch(/PASS unit totals::t/);
    expect(cased.code, cased.stdout + cased.stderr).toBe(0);
  });

  it("a column name longer than Postgres keeps (63 bytes), given and expected (declaring one is refused at compile), is the name Postgres cuts it to, as the built input's and the model's are (was: the given's CTE had the written name and the input's cut one, one column twice: 'column reference ... is ambiguous'); two keys one name once cut: an error at the row", () => {
    const schema = uniqueSchema('unit_pg_long');
    const long = 'c'.repeat(64);
    const accents = 'é'.repeat(32); // 64 bytes: cut to 31 characters (62 bytes), never inside one
    const unitOf = (rows: string, expectRows: string) => `unit_tests:\n  - name: t\n    model: plus\n    given:\n      - input: ref('wide')\n        rows: ${rows}\n    expect:\n      rows: ${expectRows}\n`;
    const dir = makeProject({
      'project.yaml': projectYaml(schema),
      'models/wide.sql': `select 1 as "${long}", 2 as "${accents}", 3 as "Order"`,
      'models/plus.sql': `select "${long}" + 1 as "${long}", "${accents}" as "${accents}", "Order" from {{ ref('wide') }}`,
      'models/u.yml': unitOf(`[{ "${long}": 1, "${accents}": 5, Order: 7 }]`, `[{ "${long}": 2, "${accents}": 5, Order: 7 }]`),
    });
    dirs.push(dir);
    expect(vigil(dir, ['run', '-s', 'wide'], env()).code).toBe(0);
    const r = vigil(dir, ['test', '--unit'], env());
    expect(r.stdout).not.toContain('ambiguous');
    expect(r.stdout).toMatch(/PASS unit plus::t/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // the comparison still compares: a wrong expected value fails
    writeFileSync(join(dir, 'models/u.yml'), unitOf(`[{ "${long}": 1, Order: 7 }]`, `[{ "${long}": 3, Order: 7 }]`));
    const wrong = vigil(dir, ['test', '--unit'], env());
    expect(wrong.stdout).toContain(`${'c'.repeat(63)} expected 3, got 2`);
    expect(wrong.code).toBe(1);
    // two keys that differ only after the 63rd byte are one column to Postgres
    writeFileSync(join(dir, 'models/u.yml'), unitOf(`[{ "${long}": 1, "${'c'.repeat(63)}x": 2 }]`, '[]'));
    const twice = vigil(dir, ['test', '--unit'], env());
    expect(twice.stderr).toMatch(/models\/u\.yml:6:\d+: error: given ref\('wide'\): columns 'c{64}' and 'c{63}x' are one column to postgres, which keeps 63 bytes of a name \(both are 'c{63}'\) \[E_UNIT\]/);
    expect(twice.code).toBe(2);
    // and so are two expect keys, as two given keys are (was: merged, the last one's value
    // compared, the first's dropped: a test that expected 2 and 99 passed on 2 alone)
    writeFileSync(join(dir, 'models/u.yml'), unitOf(`[{ "${long}": 1, Order: 7 }]`, `[{ "${long}": 99, "${'c'.repeat(63)}x": 2, Order: 7 }]`));
    const expectTwice = vigil(dir, ['test', '--unit'], env());
    expect(expectTwice.stderr).toMatch(/models\/u\.yml:8:\d+: error: expect: columns 'c{64}' and 'c{63}x' are one column to postgres, which keeps 63 bytes of a name \(both are 'c{63}'\) \[E_UNIT\]/);
    expect(expectTwice.stdout).not.toMatch(/PASS unit plus::t/);
    expect(expectTwice.code).toBe(2);
    // in a CSV block, at the header's line
    writeFileSync(join(dir, 'models/u.yml'), unitOf(`[{ "${long}": 1, Order: 7 }]`, `[]`).replace(/    expect:\n      rows: \[\]\n/, `    expect:\n      format: csv\n      rows: |\n        ${long},${'c'.repeat(63)}x,Order\n        99,2,7\n`));
    const csvTwice = vigil(dir, ['test', '--unit'], env());
    expect(csvTwice.stderr).toMatch(/models\/u\.yml:11: error: expect: columns 'c{64}' and 'c{63}x' are one column to postgres/);
    expect(csvTwice.code).toBe(2);
  });

  it("an expected value its column's varchar(n) or timestamp(p) would cut or round is an error, not a match (was: 'USA' cast to varchar(2) is 'US', and a model producing 'US' passed)", () => {
    const schema = uniqueSchema('unit_pg_len');
    const unitOf = (expectRows: string) => `unit_tests:\n  - name: t\n    model: cc\n    given:\n      - input: ref('src')\n        rows: [{ code: USA, ts: '2026-01-01 10:00:00.7' }]\n    expect:\n      rows: ${expectRows}\n`;
    const dir = makeProject({
      'project.yaml': projectYaml(schema),
      'models/src.sql': "select 'USA' as code, cast('2026-01-01 10:00:00' as timestamp) as ts",
      'models/cc.sql': "select cast(code as varchar(2)) as code2, cast(ts as timestamp(0)) as ts0 from {{ ref('src') }}",
      'models/schema.yml': 'models:\n  - name: src\n    columns:\n      - { name: code, data_type: text }\n      - { name: ts, data_type: timestamp }\n',
      'models/u.yml': unitOf('[{ code2: USA }]'),
    });
    dirs.push(dir);
    const cut = vigil(dir, ['test', '--unit'], env());
    expect(cut.stdout).toContain('ERROR unit cc::t');
    expect(cut.stdout).toContain('models/u.yml:8: expect: row 1, code2: "USA" is 3 characters long, which character varying(2) holds 2 of (a cast would cut it off)');
    expect(cut.code).toBe(1);
    writeFileSync(join(dir, 'models/u.yml'), unitOf("[{ ts0: '2026-01-01 10:00:00.7' }]"));
    const rounded = vigil(dir, ['test', '--unit'], env());
    expect(rounded.stdout).toContain('expect: row 1, ts0: "2026-01-01 10:00:00.7" has 1 digit of a second, which timestamp(0) without time zone keeps 0 of (a cast would round it)');
    expect(rounded.code).toBe(1);
    writeFileSync(join(dir, 'models/u.yml'), unitOf("[{ code2: US, ts0: '2026-01-01 10:00:01' }]"));
    const ok = vigil(dir, ['test', '--unit'], env());
    expect(ok.stdout).toMatch(/PASS unit cc::t/);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it("json compares by its value (was: as text: json_build_object's {\"k\" : 1} failed against {\"k\": 1})", () => {
    const schema = uniqueSchema('unit_pg_json');
    const unitOf = (k: number) => `unit_tests:\n  - name: t\n    model: j\n    given:\n      - input: ref('src')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ id: 1, built: '{"b": [1, 2], "k": ${k}}' }]\n`;
    const dir = makeProject({
      'project.yaml': projectYaml(schema),
      'models/src.sql': 'select 1 as id',
      'models/j.sql': "select id, json_build_object('k', id, 'b', json_build_array(1, 2)) as built from {{ ref('src') }}",
      'models/schema.yml': 'models:\n  - name: src\n    columns:\n      - { name: id, data_type: integer }\n',
      'models/u.yml': unitOf(1),
    });
    dirs.push(dir);
    const ok = vigil(dir, ['test', '--unit'], env());
    expect(ok.stdout).toMatch(/PASS unit j::t/);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    writeFileSync(join(dir, 'models/u.yml'), unitOf(2));
    const bad = vigil(dir, ['test', '--unit'], env());
    expect(bad.stdout).toContain('built expected {"b":[1,2],"k":2}, got {"b":[1,2],"k":1}');
    expect(bad.code).toBe(1);
  });

  it('a BigQuery target keeps the in-memory DuckDB, and says so once', () => {
    const dir = project(uniqueSchema('unit_bq'), '{ third: 3.3333333333333335, half: 3.5 }', ['{ val: 10 }']);
    const r = vigil(dir, ['test', '--unit', '--target', 'prod']);
    expect(r.stdout.match(/note: unit tests run on an in-memory DuckDB, not on BigQuery/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/PASS unit m::pg_math/);
    expect(r.code).toBe(0);
  });
});
