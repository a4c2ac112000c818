/**
 * `vigil show`: one node's SQL or an inline query, run against the target through the real CLI,
 * printed as a table, JSON or CSV; on DuckDB and on a real Postgres. Mistakes are usage or
 * project errors (exit 2) with file:line and a did-you-mean; an unbuilt parent is named.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';
import { queryOnce } from '../support/pg-client.js';
import { toCsv, toTable } from '../../src/cli/show-command.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const MODELS = {
  'models/orders.sql': `{{ config(materialized='table') }}
select * from (values
  (1, 'Ann', 120.5, date '2026-01-02', 'line one
line two'),
  (2, 'Bob, Jr.', 7, date '2026-01-03', 'say "hi"'),
  (3, 'Cy', null, date '2026-01-04', null)
) as t(order_id, customer, amount, ordered_on, note)`,
  'models/big_orders.sql': "select order_id, customer, amount from {{ ref('orders') }} where amount > {{ var('min_amount', 100) }} order by order_id",
  'models/schema.yml': `models:
  - name: orders
    columns:
      - name: order_id
        data_tests: [unique]
`,
  'tests/no_negative.sql': "select * from {{ ref('orders') }} where amount < 10",
  // a source reading what the model built (so the test needs no loader)
  'models/sources.yml': `sources:
  - name: built
    schema: analytics
    tables:
      - name: built_orders
        identifier: orders
`,
};

function project(extra: Record<string, string> = {}): string {
  const dir = makeProject({ ...MODELS, ...extra });
  dirs.push(dir);
  return dir;
}

describe('vigil show on DuckDB', () => {
  const dir = project();
  it('builds first, then previews a model from its compiled SQL as an aligned table', () => {
    expect(vigil(dir, ['run']).code).toBe(0);
    const r = vigil(dir, ['show', '-s', 'orders']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      '| order_id | customer | amount | ordered_on | note              |',
      '| -------- | -------- | ------ | ---------- | ----------------- |',
      '|        1 | Ann      |  120.5 | 2026-01-02 | line one⏎line two |',
      '|        2 | Bob, Jr. |    7.0 | 2026-01-03 | say "hi"          |',
      '|        3 | Cy       |   NULL | 2026-01-04 | NULL              |',
    ]);
    expect(r.stderr).toMatch(/^Previewing model orders on dev \(duckdb\): 3 rows in \d/m);
  });

  it('--limit, and says when there are more rows', () => {
    const r = vigil(dir, ['show', '-s', 'orders', '--limit', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(4);
    expect(r.stderr).toContain('2 rows (the first 2; --limit N for more)');
  });

  it('a table of more rows than a call takes arguments (was: exit 3, "Maximum call stack size exceeded" at 130,000)', () => {
    const r = vigil(dir, ['show', '--inline', 'select range as n from range(200000)', '--limit', '200000']);
    expect(r.code, r.stderr.slice(0, 500)).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(200_002);
    expect(lines[0]).toBe('| n      |');
    expect(lines[200_001]).toBe('| 199999 |');
  });

  it('--output json keeps types; --output csv quotes as RFC 4180', () => {
    const j = vigil(dir, ['show', '-s', 'orders', '--output', 'json']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual([
      { order_id: 1, customer: 'Ann', amount: 120.5, ordered_on: '2026-01-02', note: 'line one\nline two' },
      { order_id: 2, customer: 'Bob, Jr.', amount: 7, ordered_on: '2026-01-03', note: 'say "hi"' },
      { order_id: 3, customer: 'Cy', amount: null, ordered_on: '2026-01-04', note: null },
    ]);
    const c = vigil(dir, ['show', '-s', 'orders', '--output', 'csv']);
    expect(c.stdout).toBe('order_id,customer,amount,ordered_on,note\n1,Ann,120.5,2026-01-02,"line one\nline two"\n2,"Bob, Jr.",7.0,2026-01-03,"say ""hi"""\n3,Cy,,2026-01-04,\n');
  });

  it('--inline compiles refs and vars against the project; a test shows its failing rows; a source its table', () => {
    const r = vigil(dir, ['show', '--inline', "select customer, amount from {{ ref('orders') }} where amount >= {{ var('cut') }} order by amount", '--vars', '{cut: 7}', '--output', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('customer,amount\n"Bob, Jr.",7.0\nAnn,120.5\n');
    expect(r.stderr).toContain('Previewing the inline query');
    const t = vigil(dir, ['show', '-s', 'no_negative', '--output', 'csv']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.split('\n')[1]).toMatch(/^2,"Bob, Jr.",7\.0,/);
    const big = vigil(dir, ['show', '-s', 'big_orders', '--vars', '{min_amount: 5}', '--output', 'csv']);
    expect(big.stdout).toBe('order_id,customer,amount\n1,Ann,120.5\n2,"Bob, Jr.",7.0\n');
    const src = vigil(dir, ['show', '-s', 'source:built.built_orders', '--limit', '1', '--output', 'json']);
    expect(src.code, src.stderr).toBe(0);
    expect(JSON.parse(src.stdout)).toHaveLength(1);
    expect(src.stderr).toContain('Previewing source built.built_orders');
  });

  it('values as DuckDB holds them (were: a DECIMAL(38,6) rounded to 17 digits, a TIME as microseconds, an INTERVAL as an object, NaN and infinities as null, timestamps cut to ms, no CSV header for no rows)', () => {
    const q = "select 12345678901234567890.123456::decimal(38,6) as d, 7::decimal(4,1) as d1, 9007199254740993::bigint as big, time '12:34:56.123456' as t, interval '1 day 2 hours 3 minutes' as iv, 'nan'::double as n, '-inf'::double as ninf, date '2026-01-02' as dt, timestamptz '2026-01-02 03:04:05.123456+00' as tz, timestamp '2026-01-02 03:04:05.5' as ts";
    const j = vigil(dir, ['show', '--inline', q, '--output', 'json']);
    expect(j.code, j.stderr).toBe(0);
    // JSON numbers have no precision limit: the digits are written as they are
    expect(j.stdout).toContain('"d": 12345678901234567890.123456,');
    expect(j.stdout).toContain('"big": 9007199254740993,');
    expect(JSON.parse(j.stdout)[0]).toMatchObject({ d1: 7, t: '12:34:56.123456', iv: '1 day 02:03:00', n: 'NaN', ninf: '-Infinity', dt: '2026-01-02', tz: '2026-01-02 03:04:05.123456+00', ts: '2026-01-02 03:04:05.5' });
    const c = vigil(dir, ['show', '--inline', q, '--output', 'csv']);
    expect(c.stdout).toBe('d,d1,big,t,iv,n,ninf,dt,tz,ts\n12345678901234567890.123456,7.0,9007199254740993,12:34:56.123456,1 day 02:03:00,NaN,-Infinity,2026-01-02,2026-01-02 03:04:05.123456+00,2026-01-02 03:04:05.5\n');
    const t = vigil(dir, ['show', '--inline', 'select 1.5::decimal(9,2) as amount union all select 10']);
    expect(t.stdout.trim().split('\n')).toEqual(['| amount |', '| ------ |', '|   1.50 |', '|  10.00 |']);
    // a 4-byte FLOAT as its shortest decimal; an empty string told from NULL in CSV
    const f = vigil(dir, ['show', '--inline', "select 0.1::float as f, 3.4028235e38::float as big, '' as e, null::varchar as n", '--output', 'csv']);
    expect(f.stdout).toBe('f,big,e,n\n0.1,3.4028235e+38,"",\n');
    // no rows: the columns all the same
    const none = vigil(dir, ['show', '--inline', "select 1 as a, 'x' as b where false", '--output', 'csv']);
    expect(none.stdout).toBe('a,b\n');
    expect(vigil(dir, ['show', '--inline', "select 1 as a, 'x' as b where false"]).stdout.trim().split('\n')).toEqual(['| a | b |', '| - | - |']);
  });

  it("an infinite DATE is infinity / -infinity, as an infinite timestamp is, in every output and in a test's failing rows (was: 5881580-07-11, 5877642-06-24 (BC); the failing rows an error)", () => {
    const q = "select 'infinity'::date as d, '-infinity'::date as d2, ['-infinity'::date, date '2026-01-02'] as l, 'infinity'::timestamp as t";
    const c = vigil(dir, ['show', '--inline', q, '--output', 'csv']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe('d,d2,l,t\ninfinity,-infinity,"[""-infinity"",""2026-01-02""]",infinity\n');
    expect(vigil(dir, ['show', '--inline', q]).stdout.trim().split('\n')[2]).toBe('| infinity | -infinity | ["-infinity","2026-01-02"] | infinity |');
    expect(JSON.parse(vigil(dir, ['show', '--inline', q, '--output', 'json']).stdout)[0]).toEqual({ d: 'infinity', d2: '-infinity', l: ['-infinity', '2026-01-02'], t: 'infinity' });
    // a test's failing rows are read by query(), not the preview
    const d = makeProject({ 'tests/forever.sql': "select 'infinity'::date as d, '-infinity'::timestamptz as t\n" });
    dirs.push(d);
    const t = vigil(d, ['test']);
    expect(t.code, t.stdout + t.stderr).toBe(1);
    expect(t.stdout).toMatch(/FAIL 1 forever/);
    expect(t.stdout).toMatch(/infinity +\| -infinity/);
  });

  it('exact numbers in a LIST, STRUCT, MAP or UNION as their digits, in every output as in --output json (were: text in json, {"text":...} nowhere, "1.50" in quotes)', () => {
    const q = "select [1.50::decimal(10,2), 2.25] as l, {'h': 170141183460469231731687303715884105727::hugeint, 'b': 9007199254740993::bigint, 's': 'x'} as s, [[1::bigint]] as ll, map {'k': 0.5::decimal(3,2)} as m, union_value(d := 1.5::decimal(4,1)) as u, [0.1::float] as f, [interval 1 day] as iv";
    const j = vigil(dir, ['show', '--inline', q, '--output', 'json']);
    expect(j.code, j.stderr).toBe(0);
    expect(j.stdout.replace(/\s+/g, '')).toBe('[{"l":[1.50,2.25],"s":{"h":170141183460469231731687303715884105727,"b":9007199254740993,"s":"x"},"ll":[[1]],"m":[{"key":"k","value":0.50}],"u":{"tag":"d","value":1.5},"f":[0.1],"iv":["1day"]}]');
    const c = vigil(dir, ['show', '--inline', q, '--output', 'csv']);
    expect(c.stdout.split('\n')[1]).toBe('"[1.50,2.25]","{""h"":170141183460469231731687303715884105727,""b"":9007199254740993,""s"":""x""}",[[1]],"[{""key"":""k"",""value"":0.50}]","{""tag"":""d"",""value"":1.5}",[0.1],"[""1 day""]"');
    const t = vigil(dir, ['show', '--inline', "select [1.50::decimal(10,2), 2.25] as l, {'b': 9007199254740993::bigint} as s"]);
    expect(t.stdout.trim().split('\n')[2]).toBe('| [1.50,2.25] | {"b":9007199254740993} |');
  });

  it("an INTERVAL reads as DuckDB's own cast to text spells it", () => {
    const ivs = ["interval '0 seconds'", "interval '1 day 2 hours 3 minutes'", "interval '14 months 3 days'", "interval '-1 year -2 months'", "interval '1.5 seconds'", "interval '-90 minutes'", "interval '1 month -1 day 00:00:00.000001'", "interval '100 hours'", "interval '12 months'", "interval '-1 day 01:00:00'"];
    const r = vigil(dir, ['show', '--inline', ivs.map((iv) => `select ${iv} as iv, cast(${iv} as varchar) as text`).join(' union all '), '--limit', '100', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ iv: string; text: string }>;
    expect(rows).toHaveLength(ivs.length);
    for (const row of rows) expect(row.iv).toBe(row.text);
  });

  it('mistakes: exit 2 with what to do, never a stack trace', () => {
    const neither = vigil(dir, ['show']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('what should it show?');
    const both = vigil(dir, ['show', '-s', 'orders', '--inline', 'select 1']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
    const many = vigil(dir, ['show', '-s', 'orders+']);
    expect(many.code).toBe(2);
    expect(many.stderr).toMatch(/show looks at one node; the selection has 4: model big_orders, model orders, test no_negative, test unique_orders_order_id/);
    const typo = vigil(dir, ['show', '-s', 'ordres']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("did you mean 'orders'");
    for (const bad of ['0', '-1', 'ten', '2.5']) {
      const l = vigil(dir, ['show', '-s', 'orders', '--limit', bad]);
      expect(l.code, bad).toBe(2);
      expect(l.stderr).toContain('--limit must be a whole number');
    }
    const ref = vigil(dir, ['show', '--inline', "select * from {{ ref('order') }}"]);
    expect(ref.code).toBe(2);
    expect(ref.stderr).toMatch(/--inline:1:\d+: error: ref\('order'\) not found — did you mean 'orders'\?/);
    const undef = vigil(dir, ['show', '--inline', 'select {{ no_such_thing }}']);
    expect(undef.code).toBe(2);
    expect(undef.stderr).toMatch(/--inline:1:\d+: error: .*no_such_thing/);
    const fmt = vigil(dir, ['show', '-s', 'orders', '--output', 'xml']);
    expect(fmt.code).toBe(2);
    for (const x of [neither, both, many, typo, ref, undef, fmt]) expect(x.stderr).not.toMatch(/\n\s+at /);
  });

  it('a parent that was never built is named, with the command that builds it (exit 1)', () => {
    const fresh = project();
    const r = vigil(fresh, ['show', '-s', 'big_orders']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hint: 'orders' is not built in target dev: vigil build -s orders");
    // show only reads: the database file of a project never built is not created (was: .vigil/dev.duckdb made)
    expect(existsSync(join(fresh, '.vigil'))).toBe(false);
    // through an ephemeral model (was: a bare Catalog Error)
    const eph = project({ 'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('orders') }}", 'models/via.sql': "select * from {{ ref('eph') }}" });
    const v = vigil(eph, ['show', '-s', 'via']);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain("hint: 'orders' is not built in target dev: vigil build -s orders");
  });

  it("what only a model's hook reads is not named as unbuilt: show runs its SQL, not its hooks (was: hint 'orders' is not built, for a mistake in the model's own SQL)", () => {
    const fresh = project({ 'models/hooked.sql': "{{ config(materialized='table', post_hook=\"delete from {{ ref('orders') }} where false\") }}\nselect 1 as a,\n  no_such_col" });
    const r = vigil(fresh, ['show', '-s', 'hooked']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no_such_col/);
    expect(r.stderr).not.toContain("'orders' is not built");
    expect(r.stderr).toContain('error: models/hooked.sql (compiled SQL: target/compiled/fixture/models/hooked.sql');
  });

  it("a warehouse error names the model's file and its compiled SQL at the line:column, whose LINE n is the compiled SQL's (was: LINE 3 for line 2, no file named)", () => {
    const p = project({ 'models/bad.sql': "select order_id,\n  no_such_col\nfrom {{ ref('orders') }}" });
    expect(vigil(p, ['run', '-s', 'orders']).code).toBe(0);
    const r = vigil(p, ['show', '-s', 'bad']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: models/bad.sql (compiled SQL: target/compiled/fixture/models/bad.sql:2:3)\n');
    expect(r.stderr).toMatch(/LINE 2: {3}no_such_col/);
    // the file it names holds the SQL that ran, as after a build
    expect(readFileSync(join(p, 'target/compiled/fixture/models/bad.sql'), 'utf8')).toMatch(/^select order_id,\n {2}no_such_col\nfrom "analytics"\."orders"\n$/);
    // a tab in a value is shown as ␉ in the table (was: printed raw, the columns out of line)
    const t = vigil(p, ['show', '--inline', "select 'a' || chr(9) || 'b' as x, 1 as n"]);
    expect(t.stdout.trim().split('\n')).toEqual(['| x   | n |', '| --- | - |', '| a␉b | 1 |']);
  });

  it('only reads: a statement smuggled into --inline cannot write (was: a table created)', () => {
    const dir = project();
    expect(vigil(dir, ['run']).code).toBe(0);
    const r = vigil(dir, ['show', '--inline', 'select 1 as a) t; create table analytics.smuggled as select 1 as a; select * from (select 1']);
    expect(r.code).toBe(1);
    // refused before any statement runs (the file is opened read-only all the same)
    expect(r.stderr).toMatch(/the query is more than one statement/);
    expect(vigil(dir, ['show', '--inline', "select count(*) as n from information_schema.tables where table_name = 'smuggled'", '--output', 'csv']).stdout).toBe('n\n0\n');
  });

  it("refuses a query of more than one statement before any runs, as on Postgres (was: DuckDB ran each — a COPY ... TO wrote its file — and showed the last one's rows, exit 0)", () => {
    const dir = project();
    expect(vigil(dir, ['run']).code).toBe(0);
    const out = join(dir, 'smuggled.csv');
    const r = vigil(dir, ['show', '--inline', `select 1 as a) t; copy (select 42 as n) to '${out}'; select 2 as b from (select 1`]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: the query is more than one statement \(a ';' ends one\): a preview runs one query, so nothing was run/);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    // one statement with a trailing ';' is still one
    expect(vigil(dir, ['show', '--inline', 'select 1 as a;', '--output', 'csv']).stdout).toBe('a\n1\n');
  });
});

describe('vigil show and secrets', () => {
  const TOKEN = 'tok_ABCDEFGH123';
  const env = { MY_API_TOKEN: TOKEN };
  it("sends a secret's value, not its placeholder, and prints it redacted (was: the placeholder sent: length 21, not equal)", () => {
    const dir = project({ 'models/sec.sql': `{{ config(materialized='table') }}\nselect length('{{ env_var("MY_API_TOKEN") }}') as l, '{{ env_var("MY_API_TOKEN") }}' = '${TOKEN}' as eq` });
    expect(vigil(dir, ['run', '-s', 'sec'], env).code).toBe(0);
    const built = vigil(dir, ['show', '--inline', "select * from {{ ref('sec') }}", '--output', 'csv'], env);
    expect(built.stdout).toBe('l,eq\n15,true\n');
    // the model previewed from its compiled SQL as run built it
    const r = vigil(dir, ['show', '-s', 'sec', '--output', 'csv'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('l,eq\n15,true\n');
    // selected as data: printed as all output is, redacted, in every format; the table in line,
    // a long cell redacted before it is cut (no part of the value shown)
    const q = `select '{{ env_var('MY_API_TOKEN') }}' as x, '${'y'.repeat(50)}{{ env_var('MY_API_TOKEN') }}' as long`;
    const t = vigil(dir, ['show', '--inline', q], env);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.trim().split('\n')).toEqual([
      `| x                       | long${' '.repeat(56)} |`,
      `| ----------------------- | ${'-'.repeat(60)} |`,
      `| <redacted:MY_API_TOKEN> | ${'y'.repeat(50)}<redacted… |`,
    ]);
    for (const output of ['csv', 'json']) {
      const o = vigil(dir, ['show', '--inline', q, '--output', output], env);
      expect(o.code, o.stderr).toBe(0);
      expect(o.stdout).toContain('<redacted:MY_API_TOKEN>');
      expect(o.stdout + o.stderr).not.toContain('tok_');
      expect(o.stdout).not.toContain('⟦secret');
    }
    // a warehouse error quoting the value shows the placeholder again
    const e = vigil(dir, ['show', '--inline', "select cast('{{ env_var('MY_API_TOKEN') }}' as int) as n"], env);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain("Could not convert string '⟦secret:MY_API_TOKEN⟧' to INT32");
    expect(e.stderr).not.toContain('tok_');
  });
});

describe('vigil show on Postgres', () => {
  it('the same preview through a real Postgres', () => {
    const schema = uniqueSchema('show');
    const dir = project({
      'project.yaml': pgProjectYaml(schema),
      'models/orders.sql': `{{ config(materialized='table') }}
select * from (values (1, 'Ann', 120.5, date '2026-01-02'), (2, 'Bob', 7, date '2026-01-03')) as t(order_id, customer, amount, ordered_on)`,
    });
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
    expect(vigil(dir, ['run', '-s', 'orders'], env).code).toBe(0);
    const r = vigil(dir, ['show', '--inline', "select order_id, customer, amount, ordered_on from {{ ref('orders') }} order by order_id", '--output', 'csv'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('order_id,customer,amount,ordered_on\n1,Ann,120.5,2026-01-02\n2,Bob,7,2026-01-03\n');
    expect(r.stderr).toContain('on pg (postgres)');
    // values as Postgres spells them (were: numeric rounded to a double, timestamps cut to ms, an interval an object, NaN as null)
    const q = "select 12345678901234567890.123456::numeric(38,6) as d, 9007199254740993::int8 as big, time '12:34:56.123456' as t, interval '1 day 2 hours 3 minutes' as iv, 'NaN'::float8 as n, 'Infinity'::float8 as inf, date '2026-01-02' as dt, timestamptz '2026-01-02 03:04:05.123456+00' as tz, 2.5::float8 as f, 3 as i, true as b, array[1, 2] as l, '{\"a\": 1}'::jsonb as j";
    const j = vigil(dir, ['show', '--inline', q, '--output', 'json'], env);
    expect(j.code, j.stderr).toBe(0);
    expect(j.stdout).toContain('"d": 12345678901234567890.123456,');
    expect(j.stdout).toContain('"big": 9007199254740993,');
    expect(JSON.parse(j.stdout)[0]).toMatchObject({ t: '12:34:56.123456', iv: '1 day 02:03:00', n: 'NaN', inf: 'Infinity', dt: '2026-01-02', tz: '2026-01-02 03:04:05.123456+00', f: 2.5, i: 3, b: true, l: [1, 2], j: '{"a": 1}' });
    // arrays are lists, as DuckDB's (were Postgres' text: "{1,2}"); int8[] and numeric[] items
    // exact numbers, as a lone int8 or numeric (were: text, "1.50" in quotes)
    const aq = "select array[1, 9007199254740993]::int8[] as a, array[1.50, 2.5, 'NaN']::numeric[] as b, array[date '2026-01-02'] as d, array[array[0.10], array[2]]::numeric[] as m, array['1.5'] as t";
    const arrays = vigil(dir, ['show', '--inline', aq, '--output', 'json'], env);
    expect(arrays.stdout.replace(/\s+/g, '')).toBe('[{"a":[1,9007199254740993],"b":[1.50,2.5,"NaN"],"d":["2026-01-02"],"m":[[0.10],[2]],"t":["1.5"]}]');
    const arraysCsv = vigil(dir, ['show', '--inline', aq, '--output', 'csv'], env);
    expect(arraysCsv.stdout).toBe('a,b,d,m,t\n"[1,9007199254740993]","[1.50,2.5,""NaN""]","[""2026-01-02""]","[[0.10],[2]]","[""1.5""]"\n');
    const none = vigil(dir, ['show', '--inline', "select 1 as a, 'x' as b where false", '--output', 'csv'], env);
    expect(none.stdout).toBe('a,b\n');
    // two columns of one name: both shown, the second as DuckDB names it (was: the first dropped)
    expect(vigil(dir, ['show', '--inline', 'select 1 as a, 2 as a', '--output', 'csv'], env).stdout).toBe('a,a_1\n1,2\n');
    // an error's LINE is the compiled SQL's, its file named (was: LINE 2 for line 1)
    writeFileSync(join(dir, 'models/bad.sql'), "select no_such_col from {{ ref('orders') }}");
    const bad = vigil(dir, ['show', '-s', 'bad'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: models/bad.sql (compiled SQL: target/compiled/fixture/models/bad.sql:1:8)\n');
    expect(bad.stderr).toMatch(/LINE 1: .*no_such_col/);
  });
});

describe('vigil show on Postgres only reads', () => {
  it("a statement smuggled into --inline is refused before any runs, and a query that writes (a function) is rolled back: exit 1, said plainly (was: the DELETE ran, then a stack trace, exit 3)", async () => {
    const url = inject('pgUrl');
    const schema = uniqueSchema('show_ro');
    const dir = project({ 'project.yaml': pgProjectYaml(schema), 'models/keep.sql': "{{ config(materialized='table') }}\nselect 1 as x union all select 2" });
    const env = { VIGIL_TEST_PG_URL: url };
    expect(vigil(dir, ['run', '-s', 'keep'], env).code).toBe(0);
    await queryOnce(url, `create function ${schema}.smuggle() returns int language sql as 'delete from ${schema}.keep; select 1'`);
    const count = () => vigil(dir, ['show', '--inline', "select count(*) as n from {{ ref('keep') }}", '--output', 'csv'], env).stdout;
    expect(count()).toBe('n\n2\n');
    const r = vigil(dir, ['show', '--inline', `select 1 as x) s; delete from ${schema}.keep; select 1 as y from (select 1`], env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: the query is more than one statement \(a ';' ends one\): a preview runs one query, so nothing was run/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    const w = vigil(dir, ['show', '--inline', `select ${schema}.smuggle() as n`], env);
    expect(w.code, w.stderr).toBe(1);
    expect(w.stderr).toMatch(/error: the query writes, and a preview only reads .*: nothing was changed \(cannot execute DELETE in a read-only transaction/);
    expect(count()).toBe('n\n2\n');
  });
});

describe('formatting', () => {
  it('cuts long cells in the table only, right-aligns numeric columns, prints big integers exactly', () => {
    const long = 'x'.repeat(100);
    const t = toTable([{ id: 12345678901234567890n, s: long }]);
    expect(t).toContain('| 12345678901234567890 | ' + 'x'.repeat(59) + '… |');
    expect(toCsv([{ id: 12345678901234567890n, s: long }])).toBe(`id,s\n12345678901234567890,${long}`);
    expect(toTable([])).toBe('(no rows)');
  });

  it('shows control characters as their symbols in the table, so the columns stay in line (a tab was printed raw)', () => {
    expect(toTable([{ 'a\tb': 'x\ty', c: 'bell\u0007\r\nend\u007f' }]).split('\n')).toEqual([
      '| a␉b | c          |',
      '| --- | ---------- |',
      '| x␉y | bell␇⏎end␡ |',
    ]);
    // CSV and JSON keep the values whole
    expect(toCsv([{ x: 'a\tb' }])).toBe('x\na\tb');
  });

  it('escapes | in the table as a Markdown table does (was: printed raw, a column more in that row)', () => {
    expect(toTable([{ 'i|j': 'a|b', n: 'x\ny' }]).split('\n')).toEqual(['| i\\|j | n   |', '| ---- | --- |', '| a\\|b | x⏎y |']);
    // through the CLI
    const r = vigil(project(), ['show', '--inline', "select 'a|b' as i, 'c' || chr(10) || 'd' as n"]);
    expect(r.stdout.trim().split('\n')).toEqual(['| i    | n   |', '| ---- | --- |', '| a\\|b | c⏎d |']);
    // a long cell is cut before the escape, which stays whole
    expect(toTable([{ s: 'x'.repeat(58) + '|||' }]).split('\n')[2]).toBe(`| ${'x'.repeat(58)}\\|… |`);
  });
});
