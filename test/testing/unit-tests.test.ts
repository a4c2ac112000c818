/**
 * Unit tests of models: the pure pieces (CSV, typed given CTEs, diffs), the compiler's bad-input
 * errors at their YAML line, and the runner on a real in-memory DuckDB, end to end via the CLI.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { compileProject } from '../../src/compile/compile-project.js';
import { lossyValue, parseCsv, readCsv, rowsSelect, type UnitTestNode } from '../../src/testing/unit-tests.js';
import { diffRows, intervalValue, jsonValue, namedInWhere, UnitRunner } from '../../src/testing/unit-runner.js';
import { makeProject, projectFiles, removeDir, REPO, vigil } from '../helpers.js';
import { loadProject } from '../../src/project/load-project.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

describe('pure pieces', () => {
  it('parses CSV with quotes, escaped quotes and empty fields as NULL', () => {
    expect(parseCsv('a,b,c\n1,"x, ""y""",\n2,,z\n')).toEqual([
      { a: '1', b: 'x, "y"', c: null },
      { a: '2', b: null, c: 'z' },
    ]);
    expect(parseCsv('a\r\n""\r\n')).toEqual([{ a: '' }]);
  });

  it('readCsv: each row\'s line, and the rows of more or fewer fields than the header', () => {
    expect(readCsv('a,b\n1,"x\ny"\n\n2\n3,4,5\n')).toEqual({
      rows: [{ a: '1', b: 'x\ny' }, { a: '2', b: null }, { a: '3', b: '4' }],
      lines: [2, 5, 6],
      ragged: [{ row: 1, line: 5, fields: 1, header: ['a', 'b'] }, { row: 2, line: 6, fields: 3, header: ['a', 'b'] }],
      twice: [],
    });
    expect(readCsv('\nid,n, id\n1,2,3\n').twice).toEqual([{ name: 'id', column: 3, first: 1, line: 2 }]);
  });

  it('types given rows from the declared columns (in DuckDB\'s spelling) and fills the rest with typed NULLs', () => {
    const sql = rowsSelect([{ id: 1, name: "o'k", tags: ['a', "b'c"] }], [
      { name: 'id', data_type: 'bigint' },
      { name: 'name', data_type: 'varchar' },
      { name: 'tags', data_type: 'text[]' },
      { name: 'at', data_type: 'timestamptz' },
      // Postgres types DuckDB lacks or spells otherwise: what `vigil sync` lands them as
      { name: 'ip', data_type: 'inet' },
      { name: 'doc', data_type: 'jsonb' },
    ]);
    expect(sql).toBe(
      `select cast(v."id" as BIGINT) as "id", cast(v."name" as VARCHAR) as "name", cast(v."tags" as text[]) as "tags", cast(NULL as TIMESTAMPTZ) as "at", cast(NULL as VARCHAR) as "ip", cast(NULL as JSON) as "doc"\nfrom (values\n  (1, 'o''k', ['a', 'b''c'])\n) as v("id", "name", "tags")`,
    );
    // a column given values of two kinds: each cast in its row
    expect(rowsSelect([{ name: 1 }, { name: 'abc' }, { name: null }], [{ name: 'name', data_type: 'varchar' }])).toBe(
      `select cast(v."name" as VARCHAR) as "name"\nfrom (values\n  (cast(1 as VARCHAR)),\n  (cast('abc' as VARCHAR)),\n  (NULL)\n) as v("name")`,
    );
    expect(rowsSelect([], [{ name: 'id', data_type: 'bigint' }])).toBe('select cast(NULL as BIGINT) as "id" from (select 1) as v where false');
  });

  it('namedInWhere: a column expect.where names itself, not qualified, quoted as text, commented out or read by a subquery from its own relation', () => {
    expect(namedInWhere('totl_ms > 0', 'totl_ms')).toBe(true);
    expect(namedInWhere('"totl_ms" > 0 and (n + 1) > 2', 'totl_ms')).toBe(true);
    expect(namedInWhere('n in (select w from other) or TOTL_MS > 0', 'totl_ms')).toBe(true);
    expect(namedInWhere('o.totl_ms > 0', 'totl_ms')).toBe(false);
    expect(namedInWhere("name = 'totl_ms' -- totl_ms\n/* totl_ms */", 'totl_ms')).toBe(false);
    expect(namedInWhere('n in (select v from other as o where (v > 1))', 'v')).toBe(false);
    expect(namedInWhere('exists (with a as (select 1) select v from a)', 'v')).toBe(false);
    expect(namedInWhere('total_ms > 0', 'ms')).toBe(false);
  });

  it('lossyValue: what a cast would round or misread instead of refusing', () => {
    expect(lossyValue(7.5, 'BIGINT')).toMatch(/^7\.5 is not a whole number, which BIGINT holds \(a cast would round it\)$/);
    expect(lossyValue('8.4', 'INTEGER')).toMatch(/would round it/);
    // (was: '"1.0" is not a whole number', which it is)
    expect(lossyValue('1.0', 'INTEGER')).toBe('"1.0" is written with a fraction, which INTEGER does not hold: write 1');
    expect(lossyValue('-12.00', 'BIGINT')).toBe('"-12.00" is written with a fraction, which BIGINT does not hold: write -12');
    expect(lossyValue(0, 'BOOLEAN')).toBe('0 is not true or false, which BOOLEAN holds');
    // (were silent: 1.009 kept as 1.01, a date's time of day cut off, a tenth of a microsecond rounded)
    expect(lossyValue(1.009, 'DECIMAL(10,2)')).toBe('1.009 has 3 decimals, which DECIMAL(10,2) keeps 2 of (a cast would round it)');
    // a bare numeric is DuckDB's decimal(18,3) where unit tests run (was: 0.0004 silently 0.000, whatever the target keeps)
    expect(lossyValue(0.0004, 'numeric')).toBe("0.0004 has 4 decimals, which numeric keeps 3 of (a cast would round it): unit tests run on DuckDB, where a bare numeric is decimal(18,3); declare the column's scale (e.g. numeric(38,9), BigQuery's NUMERIC)");
    expect(lossyValue(0.004, 'numeric')).toBeUndefined();
    expect(lossyValue(1.5, 'decimal(10)')).toBe('1.5 has 1 decimal, which decimal(10) keeps 0 of (a cast would round it)');
    expect(lossyValue('2026-02-03 23:59:59', 'DATE')).toBe('"2026-02-03 23:59:59" has a time of day, which DATE does not hold (a cast would cut it off)');
    expect(lossyValue('2026-01-01 00:00:00.0000001', 'TIMESTAMP')).toMatch(/finer than microseconds/);
    expect(lossyValue(9007199254740993, 'BIGINT')).toMatch(/past 2\^53/);
    // (were silent: a decimal's or an untyped column's YAML integer past 2^53, rounded as it was read)
    expect(lossyValue(12345678901234567891, 'DECIMAL(38,0)', '12345678901234567891')).toBe("12345678901234567891 is past 2^53, where a YAML number is no longer exact (it is rounded as it is read, to 12345678901234567000): quote it ('12345678901234567891')");
    expect(lossyValue(12345678901234567891, undefined)).toMatch(/past 2\^53/);
    expect(lossyValue(12345678901234567891, 'DOUBLE')).toBeUndefined();
    expect(lossyValue('12345678901234567891', 'DECIMAL(38,0)')).toBeUndefined();
    for (const [v, t] of [[8, 'BIGINT'], ['-12', 'SMALLINT'], [true, 'BOOLEAN'], ['False', 'BOOLEAN'], [7.5, 'DOUBLE'], ['x', 'VARCHAR'], [null, 'BIGINT'], [3, 'DECIMAL(10,2)'], ['1.010', 'DECIMAL(10,2)'], [1.5, 'DECIMAL(10,2)'], ['2026-02-03', 'DATE'], ['2026-02-03 00:00:00', 'DATE'], ['2024-01-01T00:00:00Z', 'DATE'], ['2024-01-01 00:00:00+00', 'DATE'], ['2026-01-01 00:00:00.123456', 'TIMESTAMP'], ['2026-01-01 00:00:00.123456789', 'TIMESTAMP_NS']] as const) expect(lossyValue(v, t), `${v} ${t}`).toBeUndefined();
  });

  it("lossyValue: a text longer than a varchar(n)/char(n), a fraction finer than a timestamp(p)/time(p) keeps (was: Postgres' cast cut 'USA' to 'US' and a test expecting 'USA' of a model producing 'US' passed)", () => {
    expect(lossyValue('USA', 'character varying(2)')).toBe('"USA" is 3 characters long, which character varying(2) holds 2 of (a cast would cut it off)');
    expect(lossyValue('USAX', 'character(3)')).toBe('"USAX" is 4 characters long, which character(3) holds 3 of (a cast would cut it off)');
    expect(lossyValue(123, 'varchar(2)')).toMatch(/is 3 characters long/);
    expect(lossyValue('2026-01-01 10:00:00.7', 'timestamp(0) without time zone')).toBe('"2026-01-01 10:00:00.7" has 1 digit of a second, which timestamp(0) without time zone keeps 0 of (a cast would round it)');
    expect(lossyValue('10:00:00.1234', 'time(3) without time zone')).toMatch(/has 4 digits of a second, which time\(3\) without time zone keeps 3 of/);
    expect(lossyValue('2026-01-01 10:00:00.5', 'TIMESTAMP_S')).toMatch(/keeps 0 of/);
    for (const [v, t] of [['US', 'character varying(2)'], ['US ', 'character(2)'], ['ÄÖ', 'varchar(2)'], ['USA', 'VARCHAR'], ['USA', 'text'], ['2026-01-01 10:00:01.000', 'timestamp(0) without time zone'], ['2026-01-01 10:00:00.123', 'timestamp(3) with time zone'], ['2026-01-01 10:00:00.123', 'TIMESTAMP_MS'], ['10:00:00.123456', 'TIME']] as const) expect(lossyValue(v, t), `${v} ${t}`).toBeUndefined();
  });

  it('diffs rows: missing, extra and changed cells; numbers within tolerance; order when asked', () => {
    const cols = ['k', 'v'];
    expect(diffRows([{ k: 'a', v: 1 }], [{ k: 'a', v: '1.0000000001' }], cols, false, 1e-6)).toEqual([]);
    expect(diffRows([{ k: 'a', v: 1 }, { k: 'b', v: 2 }], [{ k: 'a', v: 1.5 }, { k: 'c', v: 9 }], cols, false, 1e-9)).toEqual([
      'missing rows (expected, not produced):',
      '  {k: b, v: 2}',
      'extra rows (produced, not expected):',
      '  {k: c, v: 9}',
      'changed cells:',
      '  row {k: a}: v expected 1, got 1.5',
    ]);
    expect(diffRows([{ k: 'a' }, { k: 'b' }], [{ k: 'b' }, { k: 'a' }], ['k'], false, 0)).toEqual([]);
    expect(diffRows([{ k: 'a' }, { k: 'b' }], [{ k: 'b' }, { k: 'a' }], ['k'], true, 0)).toEqual(['row 1: k expected a, got b', 'row 2: k expected b, got a']);
    // an empty string, padding or the text 'null' are shown quoted (an empty string read as nothing)
    expect(diffRows([{ k: '' }, { k: ' a' }, { k: 'null' }], [{ k: 'x' }, { k: 'a' }, { k: null }], ['k'], true, 0)).toEqual(['row 1: k expected "", got x', 'row 2: k expected " a", got a', 'row 3: k expected "null", got null']);
  });

  it('pairs expected rows with produced ones as a whole, not first fit: a row listing fewer columns does not take the row another needs (was: a FAIL with a valid pairing)', () => {
    const cols = ['id', 'cat'];
    const actual = [{ id: 1, cat: 'a' }, { id: 1, cat: 'b' }];
    expect(diffRows([{ id: 1 }, { id: 1, cat: 'a' }], actual, cols, false, 0)).toEqual([]);
    expect(diffRows([{ id: 1 }, { id: 1, cat: 'b' }], actual, cols, false, 0)).toEqual([]);
    // a chain: each row's first fit is the one the next row needs
    const chain = [{ id: 1, cat: 'a', n: 1 }, { id: 1, cat: 'b', n: 2 }, { id: 2, cat: 'b', n: 3 }];
    expect(diffRows([{ cat: 'b' }, { id: 1 }, { n: 1 }], chain, ['id', 'cat', 'n'], false, 0)).toEqual([]);
    // no pairing of all: as many as can be are paired, the rest shown as before
    expect(diffRows([{ id: 1 }, { id: 1, cat: 'a' }, { id: 1, cat: 'a' }], actual, cols, false, 0)).toEqual(['missing rows (expected, not produced):', '  {id: 1, cat: a}']);
    expect(diffRows([{ id: 1, cat: 'a' }, { id: 1 }, { id: 2, cat: 'c' }], [...actual, { id: 2, cat: 'd' }], cols, false, 0)).toEqual(['changed cells:', '  row {id: 2}: cat expected c, got d']);
  });

  it('finds the rows an expected row may equal in an index of the exact columns, not by comparing every pair (10,000 rows each took 40 s), with the same pairing', () => {
    // counts the cell comparisons: cellEq asks the float columns' set once per compared cell
    let asked = 0;
    class Counting extends Set<string> {
      override has(c: string) {
        asked++;
        return super.has(c);
      }
    }
    const n = 1000;
    const rows = Array.from({ length: n }, (_, i) => ({ id: i, cat: `c${i % 7}`, x: i / 3 }));
    const shuffled = [...rows].reverse().map((r) => ({ ...r, x: r.x + 1e-12 }));
    expect(diffRows(rows, shuffled, ['id', 'cat', 'x'], false, 1e-9, new Counting(['x']))).toEqual([]);
    // was n * n * 3 = 3,000,000
    expect(asked).toBeLessThan(20 * n);
    // a float out of the tolerance still differs, NULL equals only NULL
    expect(diffRows([{ id: 1, x: 0.5 }, { id: null, x: 1 }], [{ id: 1, x: 0.6 }, { id: null, x: 1 }], ['id', 'x'], false, 1e-9, new Set(['x']))).toEqual(['changed cells:', '  row {id: 1}: x expected 0.5, got 0.6']);
    expect(diffRows([{ id: 1 }], [{ id: null }], ['id'], false, 0, new Set())).toEqual(['missing rows (expected, not produced):', '  {id: 1}', 'extra rows (produced, not expected):', '  {id: null}']);
    // rows listing different columns are indexed on theirs: the whole pairing, as without the index
    const actual = [{ id: 1, cat: 'a' }, { id: 1, cat: 'b' }];
    expect(diffRows([{ id: 1 }, { id: 1, cat: 'a' }], actual, ['id', 'cat'], false, 0, new Set())).toEqual([]);
    const chain = [{ id: 1, cat: 'a', n: 1 }, { id: 1, cat: 'b', n: 2 }, { id: 2, cat: 'b', n: 3 }];
    expect(diffRows([{ cat: 'b' }, { id: 1 }, { n: 1 }], chain, ['id', 'cat', 'n'], false, 0, new Set())).toEqual([]);
    expect(diffRows([{ id: 1 }, { id: 1, cat: 'a' }, { id: 1, cat: 'a' }], actual, ['id', 'cat'], false, 0, new Set())).toEqual(['missing rows (expected, not produced):', '  {id: 1, cat: a}']);
    // many equal rows: one more expected than produced
    const same = Array.from({ length: 2000 }, () => ({ k: 'a' }));
    expect(diffRows([...same, { k: 'a' }], same, ['k'], false, 0, new Set())).toEqual(['missing rows (expected, not produced):', '  {k: a}']);
  });

  it('shows at most 50 rows of each kind in a diff and counts the rest (was: every row, 5,000 lines for 5,000 changed rows)', () => {
    const DIFF_ROWS = 50;
    const n = 500;
    const expected = Array.from({ length: n }, (_, i) => ({ id: i, v: i * 2 + 1 }));
    const actual = Array.from({ length: n }, (_, i) => ({ id: i, v: i * 2 }));
    const lines = diffRows(expected, actual, ['id', 'v'], false, 0, new Set());
    expect(lines.filter((l) => l.startsWith('  row {id: ')).length).toBe(DIFF_ROWS);
    expect(lines[lines.length - 1]).toBe(`... and ${n - DIFF_ROWS} more expected rows not produced (missing, or changed into one of the extra rows: the diff pairs the first ${DIFF_ROWS})`);
    expect(lines).toContain(`  ... and ${n - 2 * DIFF_ROWS} more extra rows`);
    expect(lines.length).toBeLessThanOrEqual(2 * DIFF_ROWS + 5);
    const ordered = diffRows(expected, actual, ['id', 'v'], true, 0, new Set());
    expect(ordered).toHaveLength(DIFF_ROWS + 1);
    expect(ordered[0]).toBe('row 1: v expected 1, got 0');
    expect(ordered[DIFF_ROWS]).toBe(`... and ${n - DIFF_ROWS} more rows differ`);
    // a missing row past the shown ones in order too
    expect(diffRows([...expected.slice(0, 60), ...actual.slice(60)], actual, ['id', 'v'], true, 0, new Set())).toHaveLength(DIFF_ROWS + 1);
  });
});

const MODELS = {
  'models/src.sql': "{{ config(materialized='ephemeral') }}select 1 as id",
  'models/base.sql': 'select 1 as id, 2.5 as amount',
  'models/m.sql': "select b.id, b.amount * {{ var('factor', 2) }} as doubled, {{ current_date() }} as today from {{ ref('base') }} as b",
};
const PROPS = `models:
  - name: base
    columns:
      - { name: id, data_type: bigint }
      - { name: amount, data_type: double }
  - name: m
    columns:
      - { name: id, data_type: bigint }
      - { name: doubled, data_type: double }
      - { name: today, data_type: date }
`;

function unitErrors(unit: string) {
  const r = compileProject(projectFiles({ models: MODELS, yml: { 'models/p.yml': PROPS, 'models/u.yml': unit } }), { env: {} });
  return r.diagnostics.filter((d) => d.severity === 'error');
}

describe('intervals compare by their length, as the warehouses compare them (was: a false FAIL, 24 hours against 1 day)', () => {
  const LITERALS = ['1 day', '24 hours', '86400 seconds', '1 month', '30 days', '720 hours', '1 year', '12 months', '360 days', '1 day 1 second', '25 hours', '-1 day', '-24 hours', '1 day -1 hours', '23 hours', '0 seconds', '1.5 seconds', '1500 milliseconds', '-1 month 30 days', '2 years 3 months 4 days 05:06:07.89'];
  const pairs = (equal: (i: number, j: number) => boolean) => LITERALS.flatMap((a, i) => LITERALS.map((b, j) => `${a} ${equal(i, j) ? '=' : '<>'} ${b}`));

  it("DuckDB's = and the unit tests' comparison agree on every pair", async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const sel = LITERALS.map((l, i) => `interval '${l}' as i${i}`).join(', ');
    const values = (await c.runAndReadAll(`select ${sel}`)).getRowObjectsJson()[0];
    const eq = (await c.runAndReadAll(`select ${LITERALS.flatMap((_, i) => LITERALS.map((_, j) => `interval '${LITERALS[i]}' = interval '${LITERALS[j]}' as e${i}_${j}`)).join(', ')}`)).getRowObjectsJson()[0];
    c.closeSync();
    const key = (i: number) => intervalValue(values[`i${i}`] as never);
    expect(pairs((i, j) => key(i) === key(j))).toEqual(pairs((i, j) => eq[`e${i}_${j}`] === true));
  });

  it("Postgres' = and the unit tests' comparison agree on every pair (its text output, as the runner reads it)", async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: inject('pgUrl') });
    await client.connect();
    try {
      const values = (await client.query(`select ${LITERALS.map((l, i) => `interval '${l}'::text as i${i}`).join(', ')}`)).rows[0];
      const eq = (await client.query(`select ${LITERALS.flatMap((_, i) => LITERALS.map((_, j) => `interval '${LITERALS[i]}' = interval '${LITERALS[j]}' as e${i}_${j}`)).join(', ')}`)).rows[0];
      const key = (i: number) => intervalValue(values[`i${i}`]);
      expect(pairs((i, j) => key(i) === key(j))).toEqual(pairs((i, j) => eq[`e${i}_${j}`] === true));
      // one form per length, as Postgres' justify_interval writes it
      expect(LITERALS.map((_, i) => key(i))).toEqual((await client.query(`select ${LITERALS.map((l, i) => `justify_interval(interval '${l}')::text as i${i}`).join(', ')}`)).rows.map((r) => LITERALS.map((_, i) => r[`i${i}`]))[0].map((v: string) => intervalValue(v)));
    } finally {
      await client.end();
    }
  });

  it('end to end: 24 hours passes against 1 day; 25 hours fails, shown by length', () => {
    const dir = makeProject({
      'project.yaml': 'name: iv\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: dev.duckdb, schema: main }\n',
      'models/m.sql': "select interval '1 day' as d, interval '1 month' as mo, 1 as k",
      'models/m.yml': "unit_tests:\n  - name: same\n    model: m\n    expect:\n      rows:\n        - { d: '24 hours', mo: '30 days', k: 1 }\n  - name: longer\n    model: m\n    expect:\n      rows:\n        - { d: '25 hours', mo: '30 days', k: 1 }\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('OK=1');
    expect(r.stdout + r.stderr).toContain('FAIL longer');
    expect(r.stdout + r.stderr).toContain('d expected 1 day 01:00:00, got 1 day');
  });
});

describe("JSON compares by its value, as Postgres' jsonb = does (was: as text, a false FAIL on a key order or a space; DuckDB's JSON was a VARCHAR)", () => {
  it('jsonValue: one form per value; text that is no JSON, or a number a double would round, as it is', () => {
    expect(jsonValue('{"b": [1, 2.0], "a" : {"y": null, "x": "s p"}}')).toBe('{"a":{"x":"s p","y":null},"b":[1,2]}');
    expect(jsonValue('{"a":1}')).toBe(jsonValue('{ "a": 1.0 }'));
    expect(jsonValue('{"a":1}')).not.toBe(jsonValue('{"a":"1"}'));
    expect(jsonValue('not json')).toBe('not json');
    expect(jsonValue('{"n": 9007199254740993}')).toBe('{"n": 9007199254740993}');
    expect(jsonValue('{"n": "9007199254740993"}')).toBe('{"n":"9007199254740993"}');
    expect(jsonValue(null)).toBeNull();
  });

  it("end to end on DuckDB: another key order and spacing pass, another value fails", () => {
    const unit = (built: string) => `unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, doc: '{"a": 1, "b": [1, 2]}' }]\n    expect:\n      rows: [{ id: 1, doc: '{"b":[1,2],"a":1}', built: '${built}' }]\n`;
    const dir = makeProject({
      'models/base.sql': `select 1 as id, cast('{}' as json) as doc`,
      'models/m.sql': "select id, doc, json_object('k', id) as built from {{ ref('base') }}",
      'models/p.yml': 'models:\n  - name: base\n    columns:\n      - { name: id, data_type: integer }\n      - { name: doc, data_type: json }\n',
      'models/u.yml': unit('{"k": 1}'),
    });
    dirs.push(dir);
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.stdout).toMatch(/PASS unit m::t/);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    writeFileSync(join(dir, 'models/u.yml'), unit('{"k": 2}'));
    const bad = vigil(dir, ['test', '--unit']);
    expect(bad.stdout).toContain('built expected {"k":2}, got {"k":1}');
    expect(bad.code).toBe(1);
  });
});

describe('unit test compile errors name the file and line', () => {
  it.each([
    [
      'a given for a ref the model does not read',
      "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: []\n      - input: ref('src')\n        rows: []\n    expect: { rows: [] }\n",
      { line: 7, message: "given ref('src'): 'm' does not read it (without is_incremental)" },
    ],
    [
      'a given value its declared type would round (a fraction for a bigint)',
      "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 1.5, amount: 3 }\n    expect: { rows: [] }\n",
      { line: 7, message: "given ref('base'): id: 1.5 is not a whole number, which BIGINT holds (a cast would round it)" },
    ],
    [
      'a given value that is no number at all for a bigint',
      "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 'one' }\n    expect: { rows: [] }\n",
      { line: 7, message: 'given ref(\'base\'): id: "one" is not a whole number, which BIGINT holds (a cast would refuse it)' },
    ],
    [
      'a frozen clock that is no time',
      "unit_tests:\n  - name: t\n    model: m\n    now: '2026-02-30T00:00:00Z'\n    given:\n      - input: ref('base')\n        rows: []\n    expect: { rows: [] }\n",
      { line: 4, message: "unit test 't': now must be an ISO 8601 timestamp like 2026-11-22T09:00:00Z or 2026-11-22 (UTC unless it has an offset like +02:00), got '2026-02-30T00:00:00Z'" },
    ],
    [
      'a var the model does not read (a typo)',
      "unit_tests:\n  - name: t\n    model: m\n    vars:\n      factr: 3\n    given:\n      - input: ref('base')\n        rows: []\n    expect: { rows: [] }\n",
      { line: 5, message: "vars: 'm' does not read var 'factr' when this test renders it — did you mean 'factor'?" },
    ],
    [
      'a ref with no given rows',
      'unit_tests:\n  - name: t\n    model: m\n    expect: { rows: [] }\n',
      { line: 2, message: "unit test 't': m reads ref('base') but the test gives no rows for it" },
    ],
    [
      'an unknown model',
      'unit_tests:\n  - name: t\n    model: mm\n    expect: { rows: [] }\n',
      { line: 3, message: "unit test 't': model 'mm' not found — did you mean 'm'?" },
    ],
  ])('%s', (_name, unit, want) => {
    const errs = unitErrors(unit);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ code: 'E_UNIT', file: 'models/u.yml', ...want });
  });
});

describe('a given key the YAML of a model does not list', () => {
  it("is a column of the given at compile, whatever its likeness to a listed one: the built relation judges it when the tests run (was: 'amout' — did you mean 'amount'?, and 'created_at' refused for 'updated_at', exit 2 for every command)", () => {
    const r = compileProject(projectFiles({ models: MODELS, yml: { 'models/p.yml': PROPS, 'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 1, amout: 3, created_at: x, Created_At: y }\n          - { id: 2, CREATED_AT: z }\n    expect: { rows: [] }\n" } }), { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([expect.objectContaining({ line: 7, message: "given ref('base'): 'created_at' and 'Created_At' are both column 'created_at' (column names are matched whatever their case, as dbt matches them)" })]);
    const ok = compileProject(projectFiles({ models: MODELS, yml: { 'models/p.yml': PROPS, 'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 1, amout: 3, created_at: x }\n          - { id: 2, CREATED_AT: z }\n    expect: { rows: [] }\n" } }), { env: {} });
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const t = Object.values(ok.manifest.nodes).find((n) => n.resource_type === 'unit_test') as UnitTestNode;
    // (one column per name whatever its case: CREATED_AT is the created_at of the first row)
    expect(t.givens[0].typing).toMatchObject({ undeclared: ['amout', 'created_at'], rows: [{ id: 1, amout: 3, created_at: 'x' }, { id: 2, created_at: 'z' }] });
  });
});

describe("dbt's spelling of a unit test", () => {
  it('rows given as a map (not a list of rows) say what rows are', () => {
    const r = compileProject(projectFiles({ models: MODELS, yml: { 'models/p.yml': PROPS, 'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: { id: 1, amount: 2 }\n    expect: { rows: [] }\n" } }), { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([expect.objectContaining({ file: 'models/u.yml', line: 6, message: expect.stringContaining('rows are a list of rows, each a map of column to value ([{ id: 1, name: a }]), or CSV text with format: csv') })]);
  });

  it("overrides: is refused with Vigil's keys named", () => {
    const r = compileProject(projectFiles({ models: MODELS, yml: { 'models/p.yml': PROPS, 'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    overrides:\n      vars: { factor: 3 }\n    given:\n      - input: ref('base')\n        rows: []\n    expect: { rows: [] }\n" } }), { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([expect.objectContaining({ file: 'models/u.yml', line: 4, message: "unit_tests[0].overrides: unknown key 'overrides' (dbt's unit-test overrides: are vars:, env_vars:, is_incremental: and now: here)" })]);
  });
});

describe("a given without rows, as dbt reads one", () => {
  it("a seed's given without rows is the seed's CSV, as dbt's (was: no rows, and a test of the seed's rows failed); any other input's is an error at its line, exit 2 (was: no rows, and a test expecting none passed where dbt refuses it)", () => {
    const dir = makeProject({
      // (its delimiter is the seed's: the rows are read as vigil seed reads them)
      'seeds/tiers.csv': 'code;name;rank\nA;Gold;1\nB;;2\n',
      'seeds/tiers.yml': "seeds:\n  - name: tiers\n    config: { delimiter: ';' }\n",
      'models/base.sql': "select 1 as id, 'A' as code",
      'models/m.sql': "select b.id, t.name, t.rank from {{ ref('base') }} as b left join {{ ref('tiers') }} as t on t.code = b.code",
      'tests/unit/m.yml': "unit_tests:\n  - name: from_seed\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, code: A }, { id: 2, code: B }]\n      - input: ref('tiers')\n    expect:\n      rows: [{ id: 1, name: Gold, rank: 1 }, { id: 2, name: null, rank: 2 }]\n",
    });
    dirs.push(dir);
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/PASS unit m::from_seed/);
    // a model's given without rows: dbt's "rows which do not match format dict", said at the given
    writeFileSync(join(dir, 'tests/unit/m.yml'), "unit_tests:\n  - name: no_rows\n    model: m\n    given:\n      - input: ref('base')\n      - input: ref('tiers')\n        rows: []\n    expect:\n      rows: []\n");
    const bad = vigil(dir, ['test', '--unit']);
    expect(bad.code, bad.stdout + bad.stderr).toBe(2);
    expect(bad.stderr).toContain("tests/unit/m.yml:5:");
    expect(bad.stderr).toContain("given ref('base'): no rows and no fixture");
    // a seed the model reads and the test does not give at all is the seed's CSV too, as dbt's
    // docs say (was: "reads ref('tiers') but the test gives no rows for it", exit 2)
    writeFileSync(join(dir, 'tests/unit/m.yml'), "unit_tests:\n  - name: seed_not_given\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, code: A }, { id: 2, code: B }]\n    expect:\n      rows: [{ id: 1, name: Gold, rank: 1 }, { id: 2, name: null, rank: 2 }]\n");
    const implicit = vigil(dir, ['test', '--unit']);
    expect(implicit.code, implicit.stdout + implicit.stderr).toBe(0);
    expect(implicit.stdout).toMatch(/PASS unit m::seed_not_given/);
  });

  it("a seed's CSV read as a given is the seed's data, not the test author's: its PII columns are masked in a failing diff and run_results.json (it was printed as it is)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,email\n1,alice@example.com\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n',
      'models/base.sql': 'select 1 as id',
      'models/m.sql': "{{ config(materialized='table') }}\nselect b.id, p.email, length(p.email) as n from {{ ref('base') }} as b join {{ ref('people') }} as p on p.id = b.id",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ id: 1, email: x, n: 1 }]\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    // (n, the email's length, is derived from it: masked too)
    expect(r.stdout).toContain('extra rows (produced, not expected):\n      {id: 1, email: ****, n: ****}');
    expect(r.stdout + r.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8')).not.toContain('alice');
    // reached through an ephemeral parent, renamed and in an expression: masked too (was: shown,
    // the inlined parent's CTE hiding the seed's relation from what the test was seen to read)
    writeFileSync(join(dir, 'models/eph.sql'), "{{ config(materialized='ephemeral') }}\nselect id, email as mail from {{ ref('people') }}");
    writeFileSync(join(dir, 'models/m.sql'), "{{ config(materialized='table') }}\nselect b.id, e.mail as contact, upper(e.mail) as up from {{ ref('base') }} as b join {{ ref('eph') }} as e on e.id = b.id");
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ id: 1, contact: x, up: y }]\n");
    const eph = vigil(dir, ['test', '--unit']);
    expect(eph.code, eph.stdout + eph.stderr).toBe(1);
    expect(eph.stdout).toContain('extra rows (produced, not expected):\n      {id: 1, contact: ****, up: ****}');
    expect(eph.stdout + eph.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8')).not.toMatch(/alice/i);
  });

  it("a seed's CSV read as a given is what vigil seed loads (`null`, `\"\"` and a blank are NULL, a timestamp without a zone is UTC), and a CSV vigil seed refuses (a ragged row, an empty file) is refused at its line (was: 'null' and '' as text, and a test passed on rows the seed cannot load)", async () => {
    const dir = makeProject({
      'seeds/tiers.csv': 'code,name,n,at\nA,null,7,2026-01-01 10:00\nB,"",NULL,2026-01-01T10:00:00+01:00\nC, ,2,\n',
      'models/base.sql': "select 'A' as code",
      'models/m.sql': "select b.code, t.name, t.n, t.at from {{ ref('base') }} as b join {{ ref('tiers') }} as t on t.code = b.code",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ code: A }, { code: B }, { code: C }]\n    expect:\n      rows: [{ code: A, name: null, n: 7, at: '2026-01-01 10:00:00Z' }, { code: B, name: null, n: null, at: '2026-01-01 09:00:00Z' }, { code: C, name: null, n: 2, at: null }]\n",
    });
    dirs.push(dir);
    const unit = () => {
      const r = compileProject(loadProject(dir), { env: {} });
      return { errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.line}: ${d.message}`), node: Object.values(r.manifest.nodes).find((n) => n.resource_type === 'unit_test') as UnitTestNode | undefined };
    };
    const ok = unit();
    expect(ok.errors).toEqual([]);
    const runner = new UnitRunner();
    try {
      expect(await runner.run(ok.node!)).toEqual({ status: 'pass', message: 'pass' });
    } finally {
      await runner.close();
    }
    writeFileSync(join(dir, 'seeds/tiers.csv'), 'code,name,n,at\nA,Gold,1,,extra\n');
    expect(unit().errors).toEqual(["seeds/tiers.csv:2: given ref('tiers'): the seed's CSV, its given, does not load (as vigil seed says): a ragged row: 5 fields where the header has 4 (quote fields that hold the delimiter (\",\"), or set delimiter: in the seed's config)"]);
    writeFileSync(join(dir, 'seeds/tiers.csv'), '');
    expect(unit().errors).toEqual(["seeds/tiers.csv:1: given ref('tiers'): the seed's CSV, its given, does not load (as vigil seed says): the file is empty: a seed needs a header line with its column names"]);
  });

  it("a test's checksum: a seed's CSV read as its given, and the seed's config that reads it, are in it; an expect of a fixture's is as before rows: became required (was: another, so state:modified picked it after the upgrade)", () => {
    const dir = makeProject({
      'seeds/tiers.csv': 'code,name\nA,Gold\n',
      'models/base.sql': "select 'A' as code",
      'models/m.sql': "select b.code, t.name from {{ ref('base') }} as b join {{ ref('tiers') }} as t on t.code = b.code",
      'tests/fixtures/m_expect.csv': 'code,name\nA,Gold\n',
      'models/u.yml': "unit_tests:\n  - name: by_fixture\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ code: A }]\n      - input: ref('tiers')\n        rows: [{ code: A, name: Gold }]\n    expect:\n      fixture: m_expect\n  - name: from_seed\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ code: A }]\n    expect:\n      rows: [{ code: A, name: Gold }]\n",
    });
    dirs.push(dir);
    const sums = () => {
      const r = compileProject(loadProject(dir), { env: {} });
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      return Object.fromEntries(Object.values(r.manifest.nodes).flatMap((n) => (n.resource_type === 'unit_test' ? [[n.name, n.checksum]] : [])));
    };
    const first = sums();
    // (what the code before these changes gave it)
    expect(first.by_fixture).toBe('474b29fa24807d8e463c8f96ae7c01dc0a5fc9b8');
    writeFileSync(join(dir, 'seeds/tiers.csv'), 'code,name\nA,Silver\n');
    const edited = sums();
    expect(edited.by_fixture).toBe(first.by_fixture);
    expect(edited.from_seed).not.toBe(first.from_seed);
    writeFileSync(join(dir, 'seeds/tiers.yml'), 'seeds:\n  - name: tiers\n    config: { column_types: { name: varchar(10) } }\n');
    const typed = sums();
    expect(typed.by_fixture).toBe(first.by_fixture);
    expect(typed.from_seed).not.toBe(edited.from_seed);
  });

  it("an expect without rows or fixture is an error, as in dbt (was: no rows expected: a model producing none passed); rows beside a fixture are an error (was: the rows dropped silently, the fixture's compared)", () => {
    const unit = (given: string, expect: string) => compileProject(projectFiles({ models: MODELS, yml: { 'models/p.yml': PROPS, 'models/u.yml': `unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n${given}    expect:\n${expect}` } }), { env: {} }).diagnostics.filter((d) => d.severity === 'error');
    expect(unit('        rows: []\n', '      where: id > 0\n')).toEqual([expect.objectContaining({ file: 'models/u.yml', line: 8, message: 'expect: no rows and no fixture: nothing says what the model should produce', hint: 'write rows: [] to expect no rows' })]);
    expect(unit('        rows: [{ id: 1 }]\n        fixture: tests/unit/fixtures/base.csv\n', '      rows: []\n')).toEqual([expect.objectContaining({ file: 'models/u.yml', line: 7, message: "given ref('base'): rows and a fixture: one of them is the rows, the other would be dropped" })]);
    expect(unit('        rows: []\n', '      rows: [{ id: 1 }]\n      fixture: tests/unit/fixtures/m.csv\n')).toEqual([expect.objectContaining({ file: 'models/u.yml', line: 9, message: 'expect: rows and a fixture: one of them is the rows, the other would be dropped' })]);
    // the same tests with rows only compile
    expect(unit('        rows: []\n', '      rows: []\n')).toEqual([]);
  });
});

describe('a number written as a float for a text column', () => {
  it("is refused in expect, as its text is not dbt's (was: s: 1.0 compared as '1', a PASS where dbt, casting Python's 1.0, compares '1.0' and fails); as written with its text, or an integer, it is compared", async () => {
    const run = async (expected: string) => {
      const r = compileProject(projectFiles({
        models: { 'models/base.sql': 'select 1 as id', 'models/txt.sql': "select id, cast(id as varchar) as s from {{ ref('base') }}" },
        yml: { 'models/p.yml': 'models:\n  - name: base\n    columns:\n      - { name: id, data_type: bigint }\n', 'models/u.yml': `unit_tests:\n  - name: t\n    model: txt\n    given:\n      - input: ref('base')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ id: 1, s: ${expected} }]\n` },
      }), { env: {} });
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const runner = new UnitRunner();
      try {
        return await runner.run(Object.values(r.manifest.nodes).find((n) => n.resource_type === 'unit_test') as UnitTestNode);
      } finally {
        runner.close();
      }
    };
    expect(await run('1.0')).toEqual({ status: 'error', message: "models/u.yml:8: expect: row 1, s: 1.0 is a float, which as VARCHAR is '1' here and '1.0' in dbt (Python's float): quote the text meant ('1' or '1.0')" });
    // (1e16 is no float to PyYAML, which wants a point and a signed exponent: dbt's is the text
    // '1e16', not '1e+16' as this said; 1.0e+16 is its float 1e+16)
    expect(await run('1e16')).toEqual({ status: 'error', message: "models/u.yml:8: expect: row 1, s: 1e16 is the text '1e16' to dbt (YAML 1.1 reads no number without a point or with an unsigned exponent) but the number 10000000000000000 here, '10000000000000000' as VARCHAR: quote the text meant ('1e16' or '10000000000000000')" });
    expect(await run('1.0e+16')).toMatchObject({ status: 'error', message: expect.stringContaining("'1e+16' in dbt (Python's float)") });
    // (15e-1: 1.5 here, whose text is Python's float's too, but the text '15e-1' to dbt)
    expect(await run('15e-1')).toMatchObject({ status: 'error', message: expect.stringContaining("15e-1 is the text '15e-1' to dbt") });
    expect(await run("'1'")).toEqual({ status: 'pass', message: 'pass' });
    expect(await run('1')).toEqual({ status: 'pass', message: 'pass' });
    expect(await run("'1.0'")).toMatchObject({ status: 'fail' });
  });

  it("is refused in a given, for a text column declared or built (was: name: 1.0 given as '1', where dbt gives '1.0')", () => {
    const dir = makeProject({
      'models/base.sql': "select 1 as id, 'x' as name, 'y' as code",
      'models/base.yml': 'models:\n  - name: base\n    columns:\n      - { name: code, data_type: varchar }\n',
      'models/m.sql': "select id, name || '!' as shout, code from {{ ref('base') }}",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, code: 2.0 }]\n    expect:\n      rows: [{ id: 1 }]\n",
    });
    dirs.push(dir);
    // declared: at compile
    const declared = vigil(dir, ['test', '--unit']);
    expect(declared.code, declared.stdout + declared.stderr).toBe(2);
    expect(declared.stderr).toContain("models/u.yml:6:");
    expect(declared.stderr).toContain("given ref('base'): code: 2.0 is a float, which as VARCHAR is '2' here and '2.0' in dbt (Python's float)");
    // built: typed from the warehouse when the tests run (USER_ID-style keys are the column)
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, NAME: 1.0 }]\n    expect:\n      rows: [{ id: 1, shout: '1!' }]\n");
    expect(vigil(dir, ['run']).code).toBe(0);
    const built = vigil(dir, ['test', '--unit']);
    expect(built.code, built.stdout + built.stderr).toBe(2);
    expect(built.stderr).toContain("given ref('base'): name: 1.0 is a float, which as VARCHAR is '1' here and '1.0' in dbt (Python's float): quote the text meant ('1' or '1.0') (its type in the warehouse)");
    writeFileSync(join(dir, 'models/u.yml'), readFileSync(join(dir, 'models/u.yml'), 'utf8').replace('NAME: 1.0', "NAME: '1'"));
    expect(vigil(dir, ['test', '--unit']).code).toBe(0);
  });
});

describe("YAML 1.1 spellings in a unit test's rows", () => {
  it("are an error at the cell, as in vars: (was: yes given and expected as the text 'yes', a PASS where dbt reads true, gives 'true' and fails)", () => {
    const errs = (given: string, expected: string) =>
      compileProject(projectFiles({ models: MODELS, yml: { 'models/p.yml': PROPS, 'models/u.yml': `unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [${given}]\n    expect:\n      rows: [${expected}]\n` } }), { env: {} }).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);
    expect(errs('{ id: 1, amount: 010 }', '{ id: 1, today: yes }')).toEqual([
      "6: given ref('base'): row 1, amount: 010 is 8 to dbt (YAML 1.1) but 10 to Vigil (YAML 1.2): write 8 (as dbt reads it) or 10",
      "8: expect: row 1, today: yes is true to dbt (YAML 1.1) but the text 'yes' to Vigil (YAML 1.2): write true (as dbt reads it) or 'yes' (the text)",
    ]);
    // quoted, or spelt alike in both: no error
    expect(errs("{ id: 1, amount: 10 }", "{ id: 1, today: 'yes' }")).toEqual([]);
  });
});

describe('unit tests of models without declared columns', () => {
  const errs = (unit: string, env: Record<string, string> = {}) =>
    compileProject(
      projectFiles({
        models: {
          'models/raw.sql': "select 1 as id, 'gold' as tier",
          'models/gold.sql': "select id from {{ ref('raw') }} where tier = '{{ env_var('VIGIL_TIER', 'gold') }}'",
          'models/inc.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect id from {{ ref('raw') }}\n{% if is_incremental() %}where id not in (select id from {{ this }}){% endif %}",
        },
        yml: { 'models/u.yml': unit },
      }),
      { env },
    ).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);
  it('a given column spelt two ways across rows is an error (was: two columns, NULL where it was misspelt); a column some rows leave out is fine', () => {
    expect(errs("unit_tests:\n  - name: t\n    model: gold\n    given:\n      - input: ref('raw')\n        rows:\n          - { id: 1, tier: gold }\n          - { id: 2, teir: gold }\n          - { id: 3, tier: silver }\n    expect: { rows: [{ id: 1 }] }\n")).toEqual([
      "8: given ref('raw'): column 'teir' in 1 of 3 rows, 'tier' in the others — a misspelling of 'tier'?",
    ]);
    expect(errs("unit_tests:\n  - name: t\n    model: gold\n    given:\n      - input: ref('raw')\n        rows:\n          - { id: 1, tier: gold }\n          - { id: 2 }\n    expect: { rows: [{ id: 1 }] }\n")).toEqual([]);
  });
  it('is_incremental with no rows for `this` and no declared columns is an error (was: a stand-in column, and a binder error or a filter bound to the wrong column)', () => {
    expect(errs("unit_tests:\n  - name: t\n    model: inc\n    is_incremental: true\n    given:\n      - input: ref('raw')\n        rows: [{ id: 1, tier: gold }]\n    expect: { rows: [{ id: 1 }] }\n").join('\n')).toMatch(/inc reads \{\{ this \}\} but the test gives no rows for it, and 'inc' declares no columns/);
    expect(errs("unit_tests:\n  - name: t\n    model: inc\n    is_incremental: true\n    given:\n      - input: ref('raw')\n        rows: [{ id: 1, tier: gold }]\n      - input: this\n        rows: [{ id: 0 }]\n    expect: { rows: [{ id: 1 }] }\n")).toEqual([]);
  });
  it('an env_vars key the model does not read is an error with a did-you-mean, as vars are', () => {
    expect(errs("unit_tests:\n  - name: t\n    model: gold\n    env_vars: { VIGIL_TEIR: silver }\n    given:\n      - input: ref('raw')\n        rows: [{ id: 1, tier: silver }]\n    expect: { rows: [{ id: 1 }] }\n")).toEqual([
      "4: env_vars: 'gold' does not read the environment variable 'VIGIL_TEIR' when this test renders it — did you mean 'VIGIL_TIER'?",
    ]);
    expect(errs("unit_tests:\n  - name: t\n    model: gold\n    env_vars: { VIGIL_TIER: silver }\n    given:\n      - input: ref('raw')\n        rows: [{ id: 1, tier: silver }]\n    expect: { rows: [{ id: 1 }] }\n")).toEqual([]);
  });
});

describe('running unit tests', () => {
  const compileOne = (unit: string): UnitTestNode => {
    const r = compileProject(projectFiles({ models: MODELS, yml: { 'models/p.yml': PROPS, 'models/u.yml': unit } }), { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return Object.values(r.manifest.nodes).find((n) => n.resource_type === 'unit_test') as UnitTestNode;
  };

  it('passes, and honours vars and the frozen clock', async () => {
    const runner = new UnitRunner();
    const t = compileOne(
      "unit_tests:\n  - name: t\n    model: m\n    now: '2026-05-04T10:00:00Z'\n    vars: { factor: 3 }\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 1, amount: 2 }\n          - { id: 2 }\n    expect:\n      rows:\n        - { id: 1, doubled: 6, today: '2026-05-04' }\n        - { id: 2, doubled: null, today: '2026-05-04' }\n",
    );
    expect(await runner.run(t)).toEqual({ status: 'pass', message: 'pass' });
    runner.close();
  });

  it('a value that does not cast is an error at the given line', async () => {
    const runner = new UnitRunner();
    const t = compileOne("unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 1, amount: 'one' }\n    expect: { rows: [] }\n");
    const r = await runner.run(t);
    expect(r.status).toBe('error');
    expect(r.message).toMatch(/^models\/u\.yml:5: given ref\('base'\): Conversion Error: .*one/);
    runner.close();
  });

  it('a mistake in expect.where is said at its line, not blamed on the model', async () => {
    const runner = new UnitRunner();
    const t = compileOne("unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, amount: 2 }]\n    expect:\n      where: doubld > 1\n      rows: [{ id: 1, doubled: 4 }]\n");
    const r = await runner.run(t);
    expect(r.status).toBe('error');
    expect(r.message).toMatch(/^models\/u\.yml:8: expect\.where: Binder Error: .*doubld/);
    runner.close();
  });

  it("an expected value the model's column type would round or misread is an error, not a pass", async () => {
    const runner = new UnitRunner();
    for (const [row, said] of [
      ['{ id: 1.5, doubled: 4 }', 'expect: row 1, id: 1.5 is not a whole number, which BIGINT holds (a cast would round it)'],
      ["{ id: '1.4', doubled: 4 }", 'expect: row 1, id: "1.4" is not a whole number, which BIGINT holds (a cast would round it)'],
    ] as const) {
      const t = compileOne(`unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, amount: 2 }]\n    expect:\n      rows: [${row}]\n`);
      expect(await runner.run(t)).toEqual({ status: 'error', message: `models/u.yml:8: ${said}` });
    }
    // the same test with the value the column holds passes
    expect(await runner.run(compileOne("unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, amount: 2 }]\n    expect:\n      rows: [{ id: 1, doubled: 4 }]\n"))).toEqual({ status: 'pass', message: 'pass' });
    runner.close();
  });

  it('a failing expectation prints a diff with the file and line', async () => {
    const runner = new UnitRunner();
    const t = compileOne("unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows: [{ id: 1, amount: 2 }]\n    expect:\n      rows: [{ id: 1, doubled: 5 }]\n");
    const r = await runner.run(t);
    expect(r).toEqual({ status: 'fail', message: 'models/u.yml:2: m on the given rows differs from expect:\n    changed cells:\n      row {id: 1}: doubled expected 5, got 4' });
    runner.close();
  });
});

describe('unit tests through the CLI', () => {
  it("an expect column the YAML does not declare but the model produces is compared (was: refused at compile, the declared list taken for all columns); one it does not produce is said before anything runs, at its row (exit 2)", () => {
    const dir = makeProject({
      'models/a.sql': "select 1 as id, 'x' as name",
      'models/b.sql': "select * from {{ ref('a') }}",
      'models/b.yml': 'models:\n  - name: b\n    columns:\n      - name: id\n',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: ref('a')\n        rows: [{ id: 1, name: y }]\n    expect:\n      rows: [{ id: 1, name: y }]\n",
    });
    dirs.push(dir);
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // (said before anything runs, the model's SQL bound on DuckDB: exit 2 at the row)
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: ref('a')\n        rows: [{ id: 1, name: y }]\n    expect:\n      rows: [{ id: 1, nick: y }]\n");
    const bad = vigil(dir, ['test', '--unit']);
    expect(bad.stderr).toContain("models/u.yml:8: error: expect: 'b' does not produce column 'nick' [E_UNIT]\n  hint: b produces: id, name");
    expect(bad.code).toBe(2);
    // a misspelt one: its nearest (was: the columns listed, none suggested)
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: ref('a')\n        rows: [{ id: 1, name: y }]\n    expect:\n      rows: [{ id: 1, nmae: y }]\n");
    const typo = vigil(dir, ['test', '--unit']);
    expect(typo.stderr).toContain("models/u.yml:8: error: expect: 'b' does not produce column 'nmae' — did you mean 'name'? [E_UNIT]");
    expect(typo.code).toBe(2);
  });

  it("given cells are typed from the input's relation in the target, as dbt types them (was: CSV cells compared as text, max('10.5', '9') = '9' passed; a CASE mixing them with 0 failed to bind); with no relation built, a warning at the given; a database another process holds, an error (was: a warning, and the values text)", async () => {
    const dir = makeProject({
      'models/pay.sql': "select 1 as order_id, 'coupon' as method, cast(10.5 as decimal(10,2)) as amount, 3 as n",
      'models/max_pay.sql': "select order_id, max(amount) as max_amount, sum(case when method = 'coupon' then amount else 0 end) as coupon from {{ ref('pay') }} group by order_id",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: max_pay\n    given:\n      - input: ref('pay')\n        format: csv\n        rows: |\n          order_id,method,amount\n          2,coupon,10.5\n          2,gift,9\n    expect:\n      rows: [{ order_id: 2, max_amount: 9, coupon: 10.5 }]\n",
    });
    dirs.push(dir);
    // nothing built: today's text values, said at the given (and no database file made)
    const before = vigil(dir, ['test', '--unit']);
    expect(before.stderr).toContain("models/u.yml:5: warning: unit test 't': given ref('pay'): no type is known for order_id, amount (target dev has no database file yet (.vigil/dev.duckdb), and no data_type is declared): their values are text (order_id \"2\", amount \"10.5\")");
    expect(before.stderr).toContain('build it first (vigil run -s pay, or vigil build --empty)');
    expect(existsSync(join(dir, '.vigil/dev.duckdb'))).toBe(false);
    expect(vigil(dir, ['run', '-s', 'pay']).code).toBe(0);
    // built: amount is a decimal, order_id an integer: max is 10.5, and the expectation of 9 fails
    const typed = vigil(dir, ['test', '--unit']);
    expect(typed.stderr).not.toContain('W_UNIT_UNTYPED');
    expect(typed.stdout).toContain('row {order_id: 2, coupon: 10.5}: max_amount expected 9, got 10.5');
    expect(typed.code).toBe(1);
    writeFileSync(join(dir, 'models/u.yml'), readFileSync(join(dir, 'models/u.yml'), 'utf8').replace('max_amount: 9', 'max_amount: 10.5'));
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // the file held by another process (vigil serve, a BI tool): the types cannot be read, and the
    // test is not run on text values whose outcome differs (exit 1, nothing passed or failed)
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; const db = await DuckDBInstance.create(${JSON.stringify(join(dir, '.vigil/dev.duckdb'))}); console.log('held'); setInterval(() => db, 1000);`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve, reject) => (holder.stdout!.once('data', () => resolve()), holder.once('exit', () => reject(new Error('the holder could not open the file')))));
      const held = vigil(dir, ['test', '--unit']);
      expect(held.code, held.stdout + held.stderr).toBe(1);
      expect(held.stderr).toMatch(/models\/u\.yml:5: unit test 't': given ref\('pay'\): the types of order_id, amount are read from the built input, and target dev could not be read: .*: its values would be compared as text/);
      expect(held.stdout).not.toMatch(/PASS|FAIL/);
    } finally {
      const gone = new Promise((resolve) => (holder.exitCode !== null || holder.signalCode !== null ? resolve(undefined) : holder.once('exit', resolve)));
      holder.kill('SIGKILL');
      await gone;
    }
    // dict rows whose values are strings are typed the same way, and a value the warehouse's type
    // would round is refused at its row
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: max_pay\n    given:\n      - input: ref('pay')\n        rows:\n          - { order_id: '2', method: coupon, amount: '10.5' }\n          - { order_id: '2.5', method: gift, amount: '9' }\n    expect:\n      rows: [{ order_id: 2, max_amount: 10.5, coupon: 10.5 }]\n");
    const lossy = vigil(dir, ['test', '--unit']);
    expect(lossy.stderr).toContain('models/u.yml:8: error: given ref(\'pay\'): order_id: "2.5" is not a whole number, which BIGINT holds (a cast would round it) (its type in the warehouse) [E_UNIT]');
    expect(lossy.code).toBe(2);
  });

  it("a timestamp with its zone given to a column of no known type is said to be text (was: no warning: max('2026-01-01 23:00:00-05', '2026-01-02 01:00:00+00') passed as text); an ephemeral input is not told to be built", () => {
    const dir = makeProject({
      'models/ev.sql': "{{ config(materialized='ephemeral') }}select 1 as id, cast('2026-01-01 10:00:00+00' as timestamptz) as at",
      'models/last.sql': "select max(at) as last_at from {{ ref('ev') }}",
      'models/other.sql': 'select 1 as x',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: last\n    given:\n      - input: ref('ev')\n        rows:\n          - { id: 1, at: '2026-01-01 23:00:00-05' }\n          - { id: 2, at: '2026-01-02 01:00:00+00' }\n    expect:\n      rows: [{ last_at: '2026-01-02 01:00:00+00' }]\n",
    });
    dirs.push(dir);
    for (const built of [false, true]) {
      // (the database file there, or not yet)
      if (built) expect(vigil(dir, ['run', '-s', 'other']).code).toBe(0);
      expect(existsSync(join(dir, '.vigil/dev.duckdb'))).toBe(built);
      const r = vigil(dir, ['test', '--unit']);
      expect(r.stderr).toContain(`models/u.yml:5: warning: unit test 't': given ref('ev'): no type is known for at (ev has no relation (ephemeral), and no data_type is declared): their values are text (at "2026-01-01 23:00:00-05")`);
      expect(r.stderr).toContain('hint: dbt casts given values to the input\'s column types in the warehouse: declare data_type on its columns');
      expect(r.stderr).not.toContain('vigil run -s ev');
    }
  });

  it("a snapshot given values of no known type is told to be built by vigil snapshot (was: 'vigil run -s s', which runs nothing for a snapshot)", () => {
    const dir = makeProject({
      'snapshots/s.sql': "{% snapshot s %}\n{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='at') }}\nselect 1 as id, cast('2026-01-01' as timestamp) as at\n{% endsnapshot %}\n",
      'models/cur.sql': "select id from {{ ref('s') }} where dbt_valid_to is null",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: cur\n    given:\n      - input: ref('s')\n        rows:\n          - { id: 1, dbt_valid_to: '2026-01-02' }\n    expect:\n      rows: []\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stderr).toContain("no type is known for dbt_valid_to");
    expect(r.stderr).toContain('build it first (vigil snapshot -s s, or vigil build --empty)');
  });

  it("a column named as an object's method (constructor, toString) that some rows leave out is a column like another (was: a stack trace, v.replace is not a function); a CSV expect of __proto__ is compared (was: a PASS on any value, DuckDB)", () => {
    const dir = makeProject({
      'models/a.sql': "select 1 as id, 'ferrari' as constructor, 'x' as note",
      'models/b.sql': "select id, constructor, note as \"toString\", id as \"__proto__\" from {{ ref('a') }}",
      'models/u.yml':
        "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: ref('a')\n        rows:\n          - { id: 1, constructor: mclaren, note: n }\n          - { id: 2 }\n    expect:\n      rows:\n        - { id: 1, constructor: mclaren, toString: n }\n        - { id: 2 }\n" +
        "  - name: p\n    model: b\n    given:\n      - input: ref('a')\n        rows: [{ id: 1, constructor: c, note: n }]\n    expect:\n      format: csv\n      rows: |\n        __proto__\n        2\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr + r.stdout).not.toContain('TypeError');
    expect(r.stdout).toMatch(/PASS unit b::t/);
    expect(r.stdout).toMatch(/FAIL unit b::p/);
    expect(r.stdout).toContain('{__proto__: 1}');
    expect(r.code).toBe(1);
  });

  it("a model ending in ';' and a comment is unit tested as vigil run builds it (was: ERROR syntax error at or near ';', and vigil build skipped the model)", () => {
    const dir = makeProject({
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id; -- the ids\n",
      'models/m.sql': "select id * 2 as twice from {{ ref('eph') }}; /* done */\n-- the end; really\n",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given: []\n    expect:\n      rows: [{ twice: 2 }]\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.stdout).toMatch(/PASS unit m::t/);
    expect(r.stdout).toMatch(/OK created view main\.m|OK created view \w+\.m/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it("run_results.json gives a unit test dbt's failures: 0 when it passes, 1 when it fails (was: no failures)", () => {
    const dir = makeProject({
      'models/two.sql': 'select 1 as id',
      'models/u.yml': 'unit_tests:\n  - name: ok\n    model: two\n    given: []\n    expect:\n      rows: [{ id: 1 }]\n  - name: bad\n    model: two\n    given: []\n    expect:\n      rows: [{ id: 2 }]\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const results = JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8')).results as Array<{ name: string; status: string; failures?: number }>;
    expect(results.map(({ name, status, failures }) => ({ name, status, failures })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'bad', status: 'fail', failures: 1 },
      { name: 'ok', status: 'pass', failures: 0 },
    ]);
  });

  it("unit tests carry only their own tags (was: a hidden 'unit' tag: -s tag:unit selected every unit test, and a model tagged unit pulled them all in); test_type:unit selects them", () => {
    const dir = makeProject({
      'models/two.sql': 'select 1 as id',
      'models/one.sql': "{{ config(tags=['unit']) }}select 1 as id",
      'models/u.yml': 'unit_tests:\n  - name: ok\n    model: two\n    given: []\n    expect:\n      rows: [{ id: 1 }]\n  - name: mine\n    model: two\n    tags: [nightly]\n    given: []\n    expect:\n      rows: [{ id: 1 }]\n',
    });
    dirs.push(dir);
    expect(vigil(dir, ['ls', '-s', 'tag:unit']).stdout.trim()).toBe('one');
    expect(vigil(dir, ['ls', '-s', 'tag:nightly']).stdout.trim()).toBe('mine');
    expect(vigil(dir, ['ls', '-s', 'test_type:unit']).stdout.trim().split('\n').sort()).toEqual(['mine', 'ok']);
  });

  it('expect rows that list fewer columns pair with the produced rows as a whole (was: FAIL "row {id: 1}: cat expected a, got b" though every row had its match)', () => {
    const dir = makeProject({
      'models/two.sql': "select 1 as id, 'a' as cat union all select 1, 'b'",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: two\n    given: []\n    expect:\n      rows: [{ id: 1 }, { id: 1, cat: a }]\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stdout).toMatch(/PASS unit two::t/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('a model that reads no ref or source is unit-tested too (was: a syntax error, "with" with no CTE)', () => {
    const dir = makeProject({
      'models/consts.sql': "select '007' as zip",
      'models/u.yml': "unit_tests:\n  - name: c\n    model: consts\n    given: []\n    expect:\n      rows: [{ zip: '007' }]\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stdout).toMatch(/PASS unit consts::c/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('text that reads as a number compares as text, a bigint exactly, a float within the tolerance (were: 007 = 7, 12345678901234567890 = 12345678901234567000, 2^53+1 = 2^53)', () => {
    const unit = (zip: string, account: string, big: string, price: string) =>
      `unit_tests:\n  - name: z\n    model: zips\n    given:\n      - input: ref('a')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ zip: '${zip}', account_no: '${account}', big: '${big}', price: ${price} }]\n`;
    const dir = makeProject({
      'models/a.sql': 'select 1 as id',
      'models/zips.sql': "select '007' as zip, '12345678901234567890' as account_no, cast(9007199254740993 as bigint) as big, cast(1.5 as double) as price from {{ ref('a') }}",
      'models/u.yml': unit('7', '12345678901234567000', '9007199254740992', '1.5000000001'),
    });
    dirs.push(dir);
    const bad = vigil(dir, ['test', '--unit']);
    expect(bad.stdout).toMatch(/FAIL unit zips::z/);
    expect(bad.stdout).toContain('{zip: 7, account_no: 12345678901234567000, big: 9007199254740992, price: 1.5000000001}');
    expect(bad.stdout).toContain('{zip: 007, account_no: 12345678901234567890, big: 9007199254740993, price: 1.5}');
    expect(bad.code).toBe(1);
    // each of the three alone fails; the price within the tolerance is no difference
    for (const [z, a, b] of [['7', '12345678901234567890', '9007199254740993'], ['007', '12345678901234567000', '9007199254740993'], ['007', '12345678901234567890', '9007199254740992']]) {
      writeFileSync(join(dir, 'models/u.yml'), unit(z, a, b, '1.5000000001'));
      expect(vigil(dir, ['test', '--unit']).code, `${z} ${a} ${b}`).toBe(1);
    }
    writeFileSync(join(dir, 'models/u.yml'), unit('007', '12345678901234567890', '9007199254740993', '1.5000000001'));
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // unquoted, a bigint past 2^53 was rounded by the YAML reader: said, not compared
    writeFileSync(join(dir, 'models/u.yml'), unit('007', '12345678901234567890', '9007199254740993', '1.5').replace("big: '9007199254740993'", 'big: 9007199254740993'));
    const unquoted = vigil(dir, ['test', '--unit']);
    expect(unquoted.stdout).toContain('big: 9007199254740992 is past 2^53, where a YAML number is no longer exact');
    expect(unquoted.code).toBe(1);
  });

  it('reads tests/unit/*.yml and CSV fixture files, and lists unit tests', () => {
    const dir = makeProject({
      'models/base.sql': 'select 1 as id, 2.5 as amount',
      'models/m.sql': "select id, amount * 2 as doubled from {{ ref('base') }}",
      'models/p.yml': PROPS.replace(/      - \{ name: today, data_type: date \}\n/, ''),
      'tests/unit/fixtures/base.csv': 'id,amount\n1,2\n2,\n',
      'tests/unit/m.yml': "unit_tests:\n  - name: doubles_amounts\n    model: m\n    given:\n      - input: ref('base')\n        fixture: tests/unit/fixtures/base.csv\n    expect:\n      rows:\n        - { id: 1, doubled: 4 }\n        - { id: 2, doubled: null }\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stdout).toMatch(/1 of 1 PASS unit m::doubles_amounts/);
    expect(r.code).toBe(0);
    expect(vigil(dir, ['ls', '--resource-type', 'unit_test']).stdout.trim()).toBe('doubles_amounts');
    writeFileSync(join(dir, 'tests/unit/m.yml'), readFileSync(join(dir, 'tests/unit/m.yml'), 'utf8').replace('base.csv', 'nope.csv'));
    const bad = vigil(dir, ['test', '--unit']);
    expect(bad.stderr).toContain('tests/unit/m.yml:6:');
    expect(bad.stderr).toContain('fixture file tests/unit/fixtures/nope.csv not found');
    expect(bad.code).toBe(2);
  });

  it("a given for a seed takes the seed's CSV columns, typed as vigil seed loads them (column_types), whatever its YAML lists", () => {
    const dir = makeProject({
      'seeds/countries.csv': 'code,name,population\nFR,France,68000000\n',
      'seeds/countries.yml': 'seeds:\n  - name: countries\n    config:\n      column_types: { population: bigint }\n    columns:\n      - name: code\n        tests: [not_null]\n',
      'models/big.sql': "select code, name, population > 60000000 as is_big from {{ ref('countries') }}",
      'tests/unit/big.yml': "unit_tests:\n  - name: big_ones\n    model: big\n    given:\n      - input: ref('countries')\n        rows: [{ code: FR, name: France, population: 70000000 }]\n    expect:\n      rows: [{ code: FR, is_big: true }]\n",
    });
    dirs.push(dir);
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/PASS unit big::big_ones/);
    // a CSV column misspelled: its nearest; a fraction for the bigint of column_types: refused
    writeFileSync(join(dir, 'tests/unit/big.yml'), readFileSync(join(dir, 'tests/unit/big.yml'), 'utf8').replace('name: France, population: 70000000', 'nme: France, population: 7.5'));
    const bad = vigil(dir, ['test', '--unit']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("given ref('countries'): column 'nme' is not declared for it — did you mean 'name'?");
    expect(bad.stderr).toContain("given ref('countries'): population: 7.5 is not a whole number, which BIGINT holds (a cast would round it)");
  });

  it("a given for a seed without column_types is typed as vigil seed infers its columns: a fraction or text for its integer column is refused at its row (was: untyped, 10.7 passed)", () => {
    const dir = makeProject({
      'seeds/src.csv': 'id,amount,day\n1,10,2026-01-01\n2,20,2026-01-02\n',
      'models/m.sql': "select id, amount * {{ var('v', 1) }} as amount from {{ ref('src') }}",
      'tests/unit/m.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('src')\n        rows:\n          - { id: 2, amount: 10.7 }\n    expect:\n      rows: [{ id: 2, amount: 10.7 }]\n",
    });
    dirs.push(dir);
    const bad = vigil(dir, ['test', '--unit']);
    expect(bad.code, bad.stdout + bad.stderr).toBe(2);
    expect(bad.stderr).toContain("tests/unit/m.yml:7:");
    expect(bad.stderr).toContain("given ref('src'): amount: 10.7 is not a whole number, which BIGINT holds (a cast would round it)");
    writeFileSync(join(dir, 'tests/unit/m.yml'), readFileSync(join(dir, 'tests/unit/m.yml'), 'utf8').replace('{ id: 2, amount: 10.7 }\n', "{ id: abc, amount: 10 }\n"));
    const text = vigil(dir, ['test', '--unit']);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain(`given ref('src'): id: "abc" is not a whole number, which BIGINT holds (a cast would refuse it)`);
    // whole numbers pass, and the date column is a DATE (a given timestamp's time of day is refused)
    writeFileSync(join(dir, 'tests/unit/m.yml'), "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('src')\n        rows: [{ id: 2, amount: 10 }]\n    expect:\n      rows: [{ id: 2, amount: 10 }]\n");
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    writeFileSync(join(dir, 'tests/unit/m.yml'), "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('src')\n        rows: [{ id: 2, day: '2026-01-01 10:00:00' }]\n    expect:\n      rows: []\n");
    expect(vigil(dir, ['test', '--unit']).stderr).toContain('day: "2026-01-01 10:00:00" has a time of day, which DATE does not hold');
  });

  it('vigil test --unit runs without opening the warehouse; a failing unit test in build skips its model and everything downstream', () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    // the warehouse cannot be opened at all: unit tests must not care
    const yaml = readFileSync(join(dir, 'project.yaml'), 'utf8');
    writeFileSync(join(dir, 'project.yaml'), yaml.replace('path: .vigil/dev.duckdb', 'path: /proc/vigil-no-such-dir/dev.duckdb'));
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stdout).toMatch(/29 of 29 PASS unit /);
    expect(r.code, r.stdout + r.stderr).toBe(0);

    writeFileSync(join(dir, 'project.yaml'), yaml);
    expect(vigil(dir, ['demo', '--rows', '5000', '--days', '10']).code).toBe(0);
    // break the percentile: p95 becomes a continuous percentile
    const daily = join(dir, 'models/marts/ai_audit_daily.sql');
    writeFileSync(daily, readFileSync(daily, 'utf8').replace("{{ percentile('duration_ms', 0.95) }}", 'quantile_cont(duration_ms, 0.95)'));
    const b = vigil(dir, ['build']);
    expect(b.code).toBe(1);
    expect(b.stdout).toMatch(/FAIL unit ai_audit_daily::daily_latency_percentiles_are_percentile_disc/);
    expect(b.stdout).toMatch(/p95_latency_ms expected 190, got 190\.5/);
    expect(b.stdout).toMatch(/SKIP incremental analytics\.ai_audit_daily \(upstream daily_latency_percentiles_are_percentile_disc failed\)/);
    expect(b.stdout).toMatch(/SKIP table analytics\.ai_audit_capability_anomalies/);
    expect(b.stdout).toMatch(/OK created view analytics\.stg_ai_audit_logs/);
  });
});

describe('unit tests: what is compared, and what is refused before anything runs', () => {
  it('decimals compare exactly, as their type holds them (were: compared as doubles, 12345678901234567891 = 12345678901234567890); an unquoted integer past 2^53 is refused for a decimal or an untyped column', () => {
    const unit = (big: string, cents: string) =>
      `unit_tests:\n  - name: d\n    model: dec\n    given:\n      - input: ref('a')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ big: '${big}', cents: '${cents}' }]\n`;
    const dir = makeProject({
      'models/a.sql': 'select 1 as id',
      'models/dec.sql': "select cast('12345678901234567891' as decimal(38,0)) as big, cast('1234567890123456.67' as decimal(20,2)) as cents from {{ ref('a') }}",
      'models/u.yml': unit('12345678901234567890', '1234567890123456.67'),
    });
    dirs.push(dir);
    const big = vigil(dir, ['test', '--unit']);
    expect(big.stdout).toContain('big expected 12345678901234567890, got 12345678901234567891');
    expect(big.code).toBe(1);
    writeFileSync(join(dir, 'models/u.yml'), unit('12345678901234567891', '1234567890123456.66'));
    const cents = vigil(dir, ['test', '--unit']);
    expect(cents.stdout).toContain('cents expected 1234567890123456.66, got 1234567890123456.67');
    expect(cents.code).toBe(1);
    writeFileSync(join(dir, 'models/u.yml'), unit('12345678901234567891', '1234567890123456.67'));
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // given: an unquoted integer past 2^53 for a decimal(38,0), and for a column of no declared type
    writeFileSync(join(dir, 'models/p.yml'), 'models:\n  - name: a\n    columns:\n      - { name: id, data_type: "decimal(38,0)" }\n');
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: d\n    model: dec\n    given:\n      - input: ref('a')\n        rows:\n          - { id: 12345678901234567891 }\n    expect:\n      rows: []\n");
    const given = vigil(dir, ['test', '--unit']);
    expect(given.stderr).toContain("models/u.yml:7:19: error: given ref('a'): id: 12345678901234567891 is past 2^53, where a YAML number is no longer exact (it is rounded as it is read, to 12345678901234567000): quote it ('12345678901234567891')");
    expect(given.code).toBe(2);
    writeFileSync(join(dir, 'models/p.yml'), 'models: []\n');
    const untyped = vigil(dir, ['test', '--unit']);
    expect(untyped.stderr).toContain("given ref('a'): id: 12345678901234567891 is past 2^53");
    expect(untyped.code).toBe(2);
  });

  it('expect rows that name no column are rows all the same: their count is compared (were: [{}] passed on no rows, [{}, {}] on one row said "extra rows")', () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "select id from {{ ref('a') }}",
      'models/a.yml': 'models:\n  - name: a\n    columns:\n      - { name: id, data_type: integer }\n',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: ref('a')\n        rows: []\n    expect:\n      rows: [{}]\n",
    });
    dirs.push(dir);
    const none = vigil(dir, ['test', '--unit']);
    expect(none.stdout).toContain('b on the given rows differs from expect:\n    missing rows (expected, not produced):\n      {}');
    expect(none.code).toBe(1);
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: ref('a')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{}, {}]\n");
    const one = vigil(dir, ['test', '--unit']);
    expect(one.stdout).toContain('missing rows (expected, not produced):\n      {}');
    expect(one.stdout).not.toContain('extra rows');
    expect(one.code).toBe(1);
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: ref('a')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{}]\n");
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it("an expect column the model produces is not refused for its YAML declaring a close name only (was: at compile, 'amounts' — did you mean 'amount'?)", () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id',
      'models/am.sql': "select id, id * 10 as amount, id * 100 as amounts from {{ ref('a') }}",
      'models/am.yml': 'models:\n  - name: am\n    columns:\n      - name: amount\n        description: the amount\n',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: am\n    given:\n      - input: ref('a')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ id: 1, amount: 10, amounts: 100 }]\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stdout).toMatch(/PASS unit am::t/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it("a given value that does not cast to its column's type is said at its row before anything runs, exit 2 (was: an error while the build ran, after seeds and models)", () => {
    const dir = makeProject({
      'seeds/s.csv': 'id\n1\n',
      'models/base.sql': "select id, 1.5 as amount, timestamp '2026-01-01' as ts from {{ ref('s') }}",
      'models/m.sql': "select id, amount, ts from {{ ref('base') }}",
      'models/p.yml': 'models:\n  - name: base\n    columns:\n      - { name: id, data_type: integer }\n      - { name: amount, data_type: "decimal(10,2)" }\n      - { name: ts, data_type: timestamp }\n',
      'tests/unit/fx/base.csv': 'id,amount,ts\n1,2.50,2026-01-01\n2,x,2026-01-01\n',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 1, amount: 2 }\n          - { id: 2, amount: 'abc' }\n          - { id: 3, ts: '2026-02-30' }\n    expect:\n      rows: []\n  - name: f\n    model: m\n    given:\n      - input: ref('base')\n        fixture: tests/unit/fx/base.csv\n    expect:\n      rows: []\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.stderr).toContain(`models/u.yml:8: error: given ref('base'): amount: "abc" does not cast to decimal(10,2) [E_UNIT]`);
    expect(r.stderr).toContain(`models/u.yml:9: error: given ref('base'): ts: "2026-02-30" does not cast to timestamp [E_UNIT]`);
    expect(r.stderr).toContain(`tests/unit/fx/base.csv:3: error: given ref('base'): amount: "x" does not cast to decimal(10,2) [E_UNIT]`);
    expect(r.code).toBe(2);
    // nothing ran: no seed loaded, no model built
    expect(r.stdout).not.toMatch(/\bOK\b/);
  });

  it("a list given for an INTEGER[] column is refused for an item a cast would round, at its row, exit 2 (was: [1.5, 2.5, 2] read as [2, 3, 2] on DuckDB, where Postgres refuses it)", () => {
    const dir = makeProject({
      'models/base.sql': 'select 1 as id, [1, 2] as xs',
      'models/m.sql': "select id, list_sum(xs) as s from {{ ref('base') }}",
      'models/p.yml': 'models:\n  - name: base\n    columns:\n      - { name: id, data_type: integer }\n      - { name: xs, data_type: "integer[]" }\n',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 1, xs: [1, 2] }\n          - { id: 2, xs: [1.5, 2.5, 2] }\n    expect:\n      rows:\n        - { id: 1, s: 3 }\n        - { id: 2, s: 7 }\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stderr).toContain("models/u.yml:8:26: error: given ref('base'): xs: item 1: 1.5 is not a whole number, which integer holds (a cast would round it) [E_UNIT]");
    expect(r.stderr).not.toContain('u.yml:7');
    expect(r.code).toBe(2);
    expect(lossyValue([1, '2', null], 'INTEGER[]')).toBeUndefined();
    expect(lossyValue(['a', 'bcd'], 'character varying(2)[]')).toBe('item 2: "bcd" is 3 characters long, which character varying(2) holds 2 of (a cast would cut it off)');
  });

  it("a text column given a number in one row and text in another takes both, each cast to the column's type (was: Could not convert string 'abc' to INT32: one VALUES typed the column from its first row)", () => {
    const dir = makeProject({
      'models/base.sql': "select 1 as id, 'x' as name",
      'models/m.sql': "select id, upper(name) as name from {{ ref('base') }}",
      'models/p.yml': 'models:\n  - name: base\n    columns:\n      - { name: id, data_type: integer }\n      - { name: name, data_type: varchar }\n',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    given:\n      - input: ref('base')\n        rows:\n          - { id: 1, name: 1 }\n          - { id: 2, name: abc }\n    expect:\n      rows:\n        - { id: 1, name: '1' }\n        - { id: 2, name: ABC }\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS .*\bt\b/);
  });

  it("a now: the model does not read is an error: SQL's own current_date is not frozen (was: ignored, the result following the wall clock)", () => {
    const errs = (models: Record<string, string>) =>
      compileProject(projectFiles({ models: { ...MODELS, ...models }, yml: { 'models/p.yml': PROPS, 'models/u.yml': "unit_tests:\n  - name: t\n    model: m\n    now: '2026-05-04T10:00:00Z'\n    given:\n      - input: ref('base')\n        rows: []\n    expect: { rows: [] }\n" } }), { env: {} })
        .diagnostics.filter((d) => d.severity === 'error')
        .map((d) => `${d.line}: ${d.message} (${d.hint})`);
    expect(errs({ 'models/m.sql': "select b.id, current_date as today from {{ ref('base') }} as b" })).toEqual([
      "4: now: 'm' does not call {{ current_date() }} or {{ current_timestamp() }} when this test renders it, so the frozen clock changes nothing (SQL's own current_date, current_timestamp and now() read the wall clock, never the frozen one: write the helpers, or remove now:)",
    ]);
    expect(errs({ 'models/m.sql': "select b.id, {{ current_timestamp() }} as at from {{ ref('base') }} as b" })).toEqual([]);
    // read through an ephemeral parent the test inlines
    expect(errs({ 'models/eph.sql': "{{ config(materialized='ephemeral') }}select id, {{ current_date() }} as today from {{ ref('base') }}", 'models/m.sql': "select * from {{ ref('eph') }}" })).toEqual([]);
  });

  it("each test renders with its own frozen clock, tests of the same vars sharing one environment (each clock read, in the model and in a macro; one test's now not another's)", () => {
    const tests = [
      ['t1', "now: '2026-05-04T10:00:00Z'"],
      ['t2', "now: '2026-06-01T00:00:00Z'"],
      ['t3', ''],
      ['t4', "now: '2026-05-04T10:00:00Z'\n    vars: { factor: 3 }"],
      ['t5', "now: '2027-01-02T03:04:05Z'\n    vars: { factor: 3 }"],
      ['t6', "now: '2026-06-01T00:00:00Z'"],
    ];
    const unit = `unit_tests:\n${tests.map(([n, extra]) => `  - name: ${n}\n    model: m\n${extra ? `    ${extra}\n` : ''}    given:\n      - input: ref('base')\n        rows: []\n    expect: { rows: [] }\n`).join('')}`;
    const files = projectFiles({ models: { ...MODELS, 'models/m.sql': "select b.id, {{ var('factor', 2) }} as f, {{ current_date() }} as today, {{ stamp() }} as at from {{ ref('base') }} as b" }, yml: { 'models/p.yml': PROPS, 'models/u.yml': unit } });
    files.macros = [{ path: 'macros/stamp.sql', text: '{% macro stamp() %}{{ current_timestamp() }}{% endmacro %}' }];
    const r = compileProject(files, { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const sql = (n: string) => (r.manifest.nodes[`unit_test.fixture.${n}`] as UnitTestNode).compiled_sql.replace(/^[\s\S]*select \* from \(\n/, '').replace(/\n\) as __vigil_model$/, '');
    const row = (f: number, now: string) => `select b.id, ${f} as f, cast(cast('${now}' as timestamptz) as date) as today, cast('${now}' as timestamptz) as at from "__vigil_given_0" as b`;
    expect(sql('t1')).toBe(row(2, '2026-05-04T10:00:00Z'));
    expect(sql('t2')).toBe(row(2, '2026-06-01T00:00:00Z'));
    expect(sql('t3')).toBe(row(2, '2026-01-01T00:00:00Z'));
    expect(sql('t4')).toBe(row(3, '2026-05-04T10:00:00Z'));
    expect(sql('t5')).toBe(row(3, '2027-01-02T03:04:05Z'));
    expect(sql('t6')).toBe(row(2, '2026-06-01T00:00:00Z'));
  });

  it("a macro file that reads the frozen clock as it loads (a top-level set) holds its own test's clock, not the first test's (was: the environment shared, a test without now: given another test's time)", () => {
    const unit = `unit_tests:\n${[['t1', "now: '2026-05-04T10:00:00Z'"], ['t2', ''], ['t3', "now: '2027-01-02T03:04:05Z'"]].map(([n, extra]) => `  - name: ${n}\n    model: m\n${extra ? `    ${extra}\n` : ''}    given:\n      - input: ref('base')\n        rows: []\n    expect: { rows: [] }\n`).join('')}`;
    const files = projectFiles({ models: { ...MODELS, 'models/m.sql': "select b.id, {{ loaded_at() }} as at from {{ ref('base') }} as b" }, yml: { 'models/p.yml': PROPS, 'models/u.yml': unit } });
    files.macros = [{ path: 'macros/loaded.sql', text: '{% set at_load = current_timestamp() %}{% macro loaded_at() %}{{ at_load }} /* {{ current_date() }} */{% endmacro %}' }];
    const r = compileProject(files, { env: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const at = (n: string) => /select b\.id, (.*) as at from/.exec((r.manifest.nodes[`unit_test.fixture.${n}`] as UnitTestNode).compiled_sql)?.[1];
    const row = (now: string) => `cast('${now}' as timestamptz) /* cast(cast('${now}' as timestamptz) as date) */`;
    expect(at('t1')).toBe(row('2026-05-04T10:00:00Z'));
    expect(at('t2')).toBe(row('2026-01-01T00:00:00Z'));
    expect(at('t3')).toBe(row('2027-01-02T03:04:05Z'));
  });

  it('a CSV row of more or fewer fields than its header is an error at its line (was: taken, its values in other columns or NULL)', () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id, 2 as n',
      'models/b.sql': "select id, n from {{ ref('a') }}",
      'tests/unit/fx/a.csv': 'id,n\n1,2\n2\n3,4,5\n',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: ref('a')\n        format: csv\n        rows: |\n          id,n\n          1,2\n          2,3,4\n    expect:\n      rows: []\n  - name: e\n    model: b\n    given:\n      - input: ref('a')\n        rows: []\n    expect:\n      format: csv\n      rows: |\n        id,n\n        1\n  - name: f\n    model: b\n    given:\n      - input: ref('a')\n        fixture: tests/unit/fx/a.csv\n    expect:\n      rows: []\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stderr).toContain("models/u.yml:10: error: given ref('a'): CSV row 2 has 3 fields, its header 2 (id, n) [E_UNIT]");
    expect(r.stderr).toContain('models/u.yml:22: error: expect: CSV row 1 has 1 field, its header 2 (id, n) [E_UNIT]');
    expect(r.stderr).toContain("tests/unit/fx/a.csv:3: error: given ref('a'): CSV row 2 has 1 field, its header 2 (id, n) [E_UNIT]");
    expect(r.stderr).toContain("tests/unit/fx/a.csv:4: error: given ref('a'): CSV row 3 has 3 fields, its header 2 (id, n) [E_UNIT]");
    expect(r.code).toBe(2);
  });

  it('a CSV header naming a column twice is an error at its line (was: the last column kept, the other dropped: an expect of id 2 passed on id 1)', () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id, 2 as n',
      'models/b.sql': "select id, n from {{ ref('a') }}",
      'tests/unit/fx/a.csv': 'id,n,n\n1,2,3\n',
      'models/u.yml': "unit_tests:\n  - name: e\n    model: b\n    given:\n      - input: ref('a')\n        rows: [{ id: 1, n: 2 }]\n    expect:\n      format: csv\n      rows: |\n        id,n,id\n        2,2,1\n  - name: f\n    model: b\n    given:\n      - input: ref('a')\n        fixture: tests/unit/fx/a.csv\n    expect:\n      rows: [{ id: 1, n: 3 }]\n",
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stderr).toContain("models/u.yml:10: error: expect: CSV header names column 'id' twice (columns 1 and 3): a row would keep only the last one's value [E_UNIT]");
    expect(r.stderr).toContain("tests/unit/fx/a.csv:1: error: given ref('a'): CSV header names column 'n' twice (columns 2 and 3): a row would keep only the last one's value [E_UNIT]");
    expect(r.stdout).not.toContain('PASS');
    expect(r.code).toBe(2);
  });

  it("a unit test of a disabled model is disabled with it, as dbt does (was: model 'off' not found, exit 2)", () => {
    const dir = makeProject({
      'models/off.sql': "{{ config(enabled=false) }}select 1 as id",
      'models/on.sql': 'select 1 as id',
      'models/u.yml': 'unit_tests:\n  - name: t_off\n    model: off\n    given: []\n    expect:\n      rows: [{ id: 1 }]\n  - name: t_on\n    model: on\n    given: []\n    expect:\n      rows: [{ id: 1 }]\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stdout).toMatch(/1 of 1 PASS unit on::t_on/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(vigil(dir, ['ls', '--resource-type', 'unit_test']).stdout.trim()).toBe('t_on');
    const ls = vigil(dir, ['ls', '-s', 't_off']);
    expect(ls.stderr).toContain("selector 't_off' matched nothing: unit_test 't_off' (models/u.yml) is disabled (its model 'off' has enabled: false)");
    expect(ls.code).toBe(2);
  });
});

describe('unit tests against what the warehouse holds of their inputs', () => {
  const STG = "select 1 as event_id, 'u1' as user_id, 7 as duration_ms, cast('2026-01-01 00:00:00+00' as timestamptz) as occurred_at";
  const TOTALS = "select user_id, count(*) as n, sum(duration_ms) as total_ms from {{ ref('stg_events') }} where duration_ms >= {{ var('min_ms', 0) }} group by user_id";
  const test = (rows: string, expectRows = '[]', extra = '') => `unit_tests:\n  - name: t\n    model: user_totals\n    vars: { min_ms: 5 }\n    given:\n      - input: ref('stg_events')\n        rows:\n${rows}    expect:\n${extra}      rows: ${expectRows}\n`;

  it("a given key that is no column of the built input is an error at its row with a did-you-mean, exit 2 (was: a column of the given alone, the real one NULL, and the test passed); one in another case is the column, as dbt lower-cases both (was: NULL)", () => {
    const dir = makeProject({ 'models/stg_events.sql': STG, 'models/user_totals.sql': TOTALS, 'models/u.yml': test('          - { user_id: a, duraton_ms: 1 }\n          - { user_id: b, duraton_ms: 100 }\n') });
    dirs.push(dir);
    expect(vigil(dir, ['run', '-s', 'stg_events']).code).toBe(0);
    const typo = vigil(dir, ['test', '--unit', '-s', 'user_totals']);
    expect(typo.stderr).toContain("models/u.yml:8: error: given ref('stg_events'): column 'duraton_ms' is not one of its columns in the warehouse — did you mean 'duration_ms'? [E_UNIT]\n  hint: its columns: event_id, user_id, duration_ms, occurred_at");
    expect(typo.stderr).toContain('models/u.yml:9: error:');
    expect(typo.stdout).not.toMatch(/PASS/);
    expect(typo.code).toBe(2);
    // USER_ID and Duration_MS are user_id and duration_ms: b's 100 passes the filter, a's 1 does not
    writeFileSync(join(dir, 'models/u.yml'), test('          - { USER_ID: a, duration_ms: 1 }\n          - { USER_ID: b, Duration_MS: 100 }\n', '[{ user_id: b, n: 1, total_ms: 100 }]'));
    const cased = vigil(dir, ['test', '--unit', '-s', 'user_totals']);
    expect(cased.stdout).toMatch(/PASS unit user_totals::t/);
    expect(cased.code, cased.stdout + cased.stderr).toBe(0);
    // two spellings of one column in a row
    writeFileSync(join(dir, 'models/u.yml'), test('          - { user_id: a, USER_ID: b, duration_ms: 1 }\n'));
    const twice = vigil(dir, ['test', '--unit', '-s', 'user_totals']);
    expect(twice.stderr).toContain("models/u.yml:8: error: given ref('stg_events'): 'user_id' and 'USER_ID' are both column 'user_id'");
    expect(twice.code).toBe(2);
  });

  it("the same for `this` of a built incremental model and for a source in the warehouse without declared columns", () => {
    const dir = makeProject({
      'models/src.yml': 'sources:\n  - name: app\n    schema: analytics\n    tables:\n      - name: stg_events\n',
      'models/stg_events.sql': STG,
      'models/inc.sql': "{{ config(materialized='incremental', unique_key='user_id') }}\nselect user_id, duration_ms from {{ source('app', 'stg_events') }}\n{% if is_incremental() %}where duration_ms > (select max(duration_ms) from {{ this }}){% endif %}\n",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: inc\n    is_incremental: true\n    given:\n      - input: source('app', 'stg_events')\n        rows: [{ user_id: a, duration_ms: 5 }]\n      - input: this\n        rows: [{ user_id: a, duraton_ms: 9 }]\n    expect:\n      rows: []\n",
    });
    dirs.push(dir);
    // (the source is the model's view: built first)
    expect(vigil(dir, ['run', '-s', 'stg_events']).code).toBe(0);
    const inc = vigil(dir, ['run', '-s', 'inc']);
    expect(inc.code, inc.stdout + inc.stderr).toBe(0);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stderr).toContain("models/u.yml:9: error: given this: column 'duraton_ms' is not one of its columns in the warehouse — did you mean 'duration_ms'? [E_UNIT]");
    expect(r.code).toBe(2);
    writeFileSync(join(dir, 'models/u.yml'), readFileSync(join(dir, 'models/u.yml'), 'utf8').replace('[{ user_id: a, duration_ms: 5 }]', '[{ user_id: a, durationms: 5 }]').replace('duraton_ms: 9', 'duration_ms: 9'));
    const src = vigil(dir, ['test', '--unit']);
    expect(src.stderr).toContain("models/u.yml:7: error: given source('app', 'stg_events'): column 'durationms' is not one of its columns in the warehouse — did you mean 'duration_ms'? [E_UNIT]");
    expect(src.code).toBe(2);
  });

  it("a model reading a snapshot is unit tested with rows given for ref('the_snapshot'), typed and checked by its table, as dbt does (was: 'no such model or seed', after 'the test gives no rows for it': no such model could be unit tested)", () => {
    const dir = makeProject({
      'seeds/customers.csv': 'id,name,updated_at\n1,ann,2026-01-01 00:00:00\n',
      'snapshots/snap.sql': "{% snapshot customers_snap %}\n{{ config(target_schema='snaps', unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ ref('customers') }}\n{% endsnapshot %}\n",
      'models/current_customers.sql': "select id, name from {{ ref('customers_snap') }} where dbt_valid_to is null",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: current_customers\n    given:\n      - input: ref('customers_snap')\n        rows:\n          - { id: 1, name: ann, dbt_valid_to: '2026-01-02 00:00:00' }\n          - { id: 1, name: ann2, dbt_valid_to: null }\n    expect:\n      rows: [{ id: 1, name: ann2 }]\n",
    });
    dirs.push(dir);
    const first = vigil(dir, ['test', '--unit']);
    expect(first.stdout, first.stdout + first.stderr).toMatch(/PASS unit current_customers::t/);
    expect(first.code).toBe(0);
    // once the snapshot is built, its table's columns type the given and judge its keys
    expect(vigil(dir, ['seed']).code).toBe(0);
    expect(vigil(dir, ['snapshot']).code).toBe(0);
    expect(vigil(dir, ['test', '--unit']).code).toBe(0);
    writeFileSync(join(dir, 'models/u.yml'), readFileSync(join(dir, 'models/u.yml'), 'utf8').replace('dbt_valid_to: null', 'dbt_valid_too: null'));
    const typo = vigil(dir, ['test', '--unit']);
    expect(typo.stderr).toContain("models/u.yml:8: error: given ref('customers_snap'): column 'dbt_valid_too' is not one of its columns in the warehouse — did you mean 'dbt_valid_to'? [E_UNIT]");
    expect(typo.code).toBe(2);
    // a ref of no such node names the three kinds a given may be
    writeFileSync(join(dir, 'models/u.yml'), readFileSync(join(dir, 'models/u.yml'), 'utf8').replace("input: ref('customers_snap')", "input: ref('customers_snp')"));
    expect(vigil(dir, ['test', '--unit']).stderr).toContain("given ref('customers_snp'): no such model, seed or snapshot — did you mean 'customers_snap'?");
  });

  it("the SQL file a failing unit test names holds the SQL that ran, its givens typed from the warehouse (was: the compile's untyped SQL, which failed differently: VARCHAR compared with TIMESTAMP WITH TIME ZONE)", async () => {
    const dir = makeProject({
      'models/stg_events.sql': STG,
      'models/recent.sql': "select user_id, no_such_column from {{ ref('stg_events') }} where occurred_at > cast('2026-01-01 00:00:00+00' as timestamptz)",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: recent\n    given:\n      - input: ref('stg_events')\n        rows: [{ user_id: a, occurred_at: '2026-02-01 00:00:00+00' }]\n    expect:\n      rows: [{ user_id: a }]\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['run', '-s', 'stg_events']).code).toBe(0);
    const r = vigil(dir, ['test', '--unit', '-s', 'recent']);
    expect(r.code).toBe(1);
    const path = /\(SQL: ([^)]+)\)/.exec(r.stdout)?.[1];
    expect(path, r.stdout).toBe('target/compiled/fixture/models/u.yml/unit/t.sql');
    const sql = readFileSync(join(dir, path!), 'utf8');
    expect(sql).toContain('cast(v."occurred_at" as TIMESTAMPTZ)');
    // the file fails as the test did, on the model's own mistake, not on the comparison
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      await expect(conn.run(sql)).rejects.toThrow(/no_such_column/);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  it("a fixture: given by name is dbt's: a CSV file of that name under tests/fixtures (was: 'fixture file stg_fix not found'); a name of none has a did-you-mean", () => {
    const dir = makeProject({
      'models/stg_events.sql': STG,
      'models/user_totals.sql': TOTALS,
      'tests/fixtures/events/stg_fix.csv': 'user_id,duration_ms\na,1\nb,100\n',
      'models/u.yml': "unit_tests:\n  - name: t\n    model: user_totals\n    vars: { min_ms: 5 }\n    given:\n      - input: ref('stg_events')\n        format: csv\n        fixture: stg_fix\n    expect:\n      rows: [{ user_id: b, n: 1, total_ms: 100 }]\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['run', '-s', 'stg_events']).code).toBe(0);
    const ok = vigil(dir, ['test', '--unit']);
    expect(ok.stdout).toMatch(/PASS unit user_totals::t/);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    writeFileSync(join(dir, 'models/u.yml'), readFileSync(join(dir, 'models/u.yml'), 'utf8').replace('fixture: stg_fix', 'fixture: stg_fx'));
    const bad = vigil(dir, ['test', '--unit']);
    expect(bad.stderr).toContain("models/u.yml:8:18: error: given ref('stg_events'): fixture file stg_fx not found (a path relative to the project root, or the name of a CSV file in tests/fixtures/ without .csv, as in dbt) — did you mean 'stg_fix'? [E_UNIT]");
    expect(bad.code).toBe(2);
  });

  it("expect.where naming a column the model does not produce is an error at its line with a did-you-mean, exit 2 (was: a run error, exit 1); a source of no such table has one too", () => {
    const dir = makeProject({
      'models/src.yml': 'sources:\n  - name: app\n    schema: analytics\n    tables:\n      - name: events\n',
      'models/stg_events.sql': STG.replace("select 1 as event_id", "select 1 as event_id from {{ source('app', 'events') }}, (select 1 as event_id").replace(' as occurred_at', ' as occurred_at)'),
      'models/user_totals.sql': TOTALS,
      'models/u.yml': test('          - { user_id: b, duration_ms: 100 }\n', '[{ user_id: b, n: 1, total_ms: 100 }]', '      where: "totl_ms > 0"\n'),
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit', '-s', 'user_totals']);
    expect(r.stderr).toContain("models/u.yml:10: error: expect.where: 'user_totals' does not produce column 'totl_ms' — did you mean 'total_ms'? [E_UNIT]\n  hint: user_totals produces: user_id, n, total_ms");
    expect(r.code).toBe(2);
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: s\n    model: stg_events\n    given:\n      - input: source('app', 'event')\n        rows: [{ x: 1 }]\n    expect:\n      rows: []\n");
    const src = vigil(dir, ['test', '--unit']);
    expect(src.stderr).toContain("given source('app', 'event'): no such source — did you mean source('app', 'events')? [E_UNIT]");
    expect(src.code).toBe(2);
  });
  it("expect.where: a column a subquery in it reads from its own relation is not blamed on the model (was: 'user_totals' does not produce column 'v', exit 2); the database's message is the test's error", () => {
    const dir = makeProject({
      'models/stg_events.sql': STG,
      'models/user_totals.sql': TOTALS,
      'models/u.yml': test('          - { user_id: b, duration_ms: 100 }\n', '[]', '      where: "n in (select v from range(3) as r(w)) -- not totl_ms"\n'),
    });
    dirs.push(dir);
    const r = vigil(dir, ['test', '--unit', '-s', 'user_totals']);
    expect(r.stderr).not.toMatch(/does not produce column/);
    expect(r.stdout).toMatch(/ERROR unit user_totals::t/);
    expect(r.stdout).toMatch(/Referenced column "v" not found/);
    expect(r.code).toBe(1);
    // one the where names itself, beside the subquery: the model's
    writeFileSync(join(dir, 'models/u.yml'), test('          - { user_id: b, duration_ms: 100 }\n', '[]', '      where: "n in (select w from range(3) as r(w)) and \\"totl_ms\\" > 0"\n'));
    const own = vigil(dir, ['test', '--unit', '-s', 'user_totals']);
    expect(own.stderr).toContain("models/u.yml:10: error: expect.where: 'user_totals' does not produce column 'totl_ms' — did you mean 'total_ms'? [E_UNIT]");
    expect(own.code).toBe(2);
  });
});

describe("unit tests: an input whose YAML lists some of its columns (dbt's jaffle-shop)", () => {
  const STG = "select 's1' as supply_uuid, 1 as product_id, 4.5 as supply_cost";
  const COSTS = "select product_id, sum(supply_cost) as supply_cost from {{ ref('stg_supplies') }} group by product_id";
  const files = (rows: string) => ({
    'models/stg_supplies.sql': STG,
    'models/stg_supplies.yml': 'models:\n  - name: stg_supplies\n    columns:\n      - name: supply_uuid\n',
    'models/costs.sql': COSTS,
    'models/u.yml': `unit_tests:\n  - name: t\n    model: costs\n    given:\n      - input: ref('stg_supplies')\n        rows:\n${rows}    expect:\n      rows: [{ product_id: 1, supply_cost: 9.5 }]\n`,
  });

  it('a given key its YAML does not list is a column of the given, before and after the input is built (was: "not declared for it", exit 2 for every command, vigil run too); one that misspells a listed column is refused once the input is built, and said when it is not', () => {
    const dir = makeProject(files('          - { product_id: 1, supply_cost: 4.5 }\n          - { product_id: 1, supply_cost: 5 }\n'));
    dirs.push(dir);
    // not built: the given's keys are its columns
    const fresh = vigil(dir, ['test', '--unit']);
    expect(fresh.stdout + fresh.stderr).toMatch(/PASS unit costs::t/);
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    // built: judged by the warehouse's columns
    const built = vigil(dir, ['build']);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    expect(built.stdout).toMatch(/PASS unit costs::t/);
    // a key misspelling the listed column: refused when the tests run, by the built relation (was: at compile, by its likeness to the listed one)
    writeFileSync(join(dir, 'models/u.yml'), files('          - { supply_uid: x, product_id: 1, supply_cost: 9.5 }\n')['models/u.yml']);
    const near = vigil(dir, ['test', '--unit']);
    expect(near.stderr).toContain("models/u.yml:7: error: given ref('stg_supplies'): column 'supply_uid' is not one of its columns in the warehouse — did you mean 'supply_uuid'? [E_UNIT]\n  hint: its columns: supply_uuid, product_id, supply_cost");
    expect(near.code).toBe(2);
    // not built: nothing to judge it by, so it is the given's own column, a letter off the listed one said
    const unbuilt = makeProject(files('          - { supply_uid: x, product_id: 1, supply_cost: 9.5 }\n'));
    dirs.push(unbuilt);
    const guess = vigil(unbuilt, ['test', '--unit']);
    expect(guess.stderr).toContain("models/u.yml:5: warning: unit test 't': given ref('stg_supplies'): 'supply_uid' (did you mean 'supply_uuid'?) is not listed in its YAML, and its relation is not there to check against (target dev has no database file yet (.vigil/dev.duckdb)): taken as the given's own column [W_UNIT_UNDECLARED]");
    expect(guess.stdout).toMatch(/PASS unit costs::t/);
    expect(guess.code, guess.stdout + guess.stderr).toBe(0);
    // a key that is no column of the built relation, far from any listed one: refused when the tests run
    writeFileSync(join(dir, 'models/u.yml'), files('          - { product_id: 1, cost: 9.5 }\n')['models/u.yml']);
    const far = vigil(dir, ['test', '--unit']);
    expect(far.stderr).toContain("error: given ref('stg_supplies'): column 'cost' is not one of its columns in the warehouse");
    expect(far.code).toBe(2);
  });

  it("a real column the YAML does not list is never refused for its likeness to a listed one (was: at compile, 'created_at' — did you mean 'updated_at'?, exit 2 for compile, run and build); once built, a key that is none of its columns is refused with a did-you-mean from the relation's columns", () => {
    const dir = makeProject({
      'models/stg.sql': "select 1 as id, 'a' as name, cast('2024-01-02' as date) as updated_at, cast('2024-01-01' as date) as created_at, 7 as product_id",
      'models/stg.yml': 'models:\n  - name: stg\n    columns:\n      - name: updated_at\n',
      'models/recent.sql': "select id, name, created_at, product_id from {{ ref('stg') }} where created_at >= '2024-01-01'",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: recent\n    given:\n      - input: ref('stg')\n        rows:\n          - { id: 1, name: a, created_at: '2024-01-01', product_id: 7 }\n          - { id: 2, name: b, created_at: '2023-12-31', product_id: 8 }\n    expect:\n      rows: [{ id: 1, name: a, product_id: 7 }]\n",
    });
    dirs.push(dir);
    const compiled = vigil(dir, ['compile']);
    expect(compiled.stderr).not.toMatch(/not declared/);
    expect(compiled.code, compiled.stdout + compiled.stderr).toBe(0);
    // not built: the given's keys are its columns
    const fresh = vigil(dir, ['test', '--unit']);
    expect(fresh.stdout).toMatch(/PASS unit recent::t/);
    expect(fresh.stderr).not.toMatch(/W_UNIT_UNDECLARED/);
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    const run = vigil(dir, ['run']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // built: typed by the warehouse
    const built = vigil(dir, ['test', '--unit']);
    expect(built.stdout).toMatch(/PASS unit recent::t/);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    // a misspelling: its did-you-mean and the hint from the relation's columns (was: 'declared columns: updated_at, id', id listed nowhere)
    writeFileSync(join(dir, 'models/u.yml'), readFileSync(join(dir, 'models/u.yml'), 'utf8').replace("created_at: '2023-12-31'", "creatd_at: '2023-12-31'"));
    const typo = vigil(dir, ['test', '--unit']);
    expect(typo.stderr).toContain("models/u.yml:8: error: given ref('stg'): column 'creatd_at' is not one of its columns in the warehouse — did you mean 'created_at'? [E_UNIT]\n  hint: its columns: id, name, updated_at, created_at, product_id");
    expect(typo.code).toBe(2);
  });

  it("vigil build types a given of an input it rebuilds by the last build's relation, and a key that relation lacks is a column of the given with a warning (was: 'not one of its columns in the warehouse', exit 2, nothing built: the column could never be added); vigil test, which rebuilds nothing, still refuses it", () => {
    const STG2 = "select 1 as id, 'a' as name";
    const dir = makeProject({
      'models/stg.sql': STG2,
      'models/priced.sql': "select id, name from {{ ref('stg') }}",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: priced\n    given:\n      - input: ref('stg')\n        rows: [{ id: 1, name: a }]\n    expect:\n      rows: [{ id: 1, name: a }]\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['run']).code).toBe(0);
    // the parent gains a column, the child and its unit test use it
    writeFileSync(join(dir, 'models/stg.sql'), `${STG2}, 5 as discount`);
    writeFileSync(join(dir, 'models/priced.sql'), "select id, name, discount * 2 as twice from {{ ref('stg') }}");
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: priced\n    given:\n      - input: ref('stg')\n        rows: [{ id: 1, name: a, discount: 7 }]\n    expect:\n      rows: [{ id: 1, twice: 14 }]\n");
    const stale = vigil(dir, ['test', '--unit']);
    expect(stale.stderr).toContain("models/u.yml:6: error: given ref('stg'): column 'discount' is not one of its columns in the warehouse");
    expect(stale.code).toBe(2);
    const build = vigil(dir, ['build']);
    expect(build.stderr).toContain("models/u.yml:5: warning: unit test 't': given ref('stg'): column 'discount' is not in its relation yet (as the last build left it); this run rebuilds it: taken as a column of the given, typed as written [W_UNIT_REBUILT]\n  hint: its relation's columns: id, name");
    expect(build.stdout).toMatch(/PASS unit priced::t/);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    // built now: no warning, typed by the warehouse
    const again = vigil(dir, ['build']);
    expect(again.stderr).not.toMatch(/W_UNIT_REBUILT/);
    expect(again.stdout).toMatch(/PASS unit priced::t/);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    // a misspelling of a column the relation has is said with its did-you-mean, in the warning
    writeFileSync(join(dir, 'models/u.yml'), "unit_tests:\n  - name: t\n    model: priced\n    given:\n      - input: ref('stg')\n        rows: [{ id: 1, naem: a, discount: 7 }]\n    expect:\n      rows: [{ id: 1, twice: 14 }]\n");
    const typo = vigil(dir, ['build']);
    expect(typo.stderr).toContain("warning: unit test 't': given ref('stg'): column 'naem' is not in its relation yet (as the last build left it); this run rebuilds it: taken as a column of the given, typed as written ('naem' — did you mean 'name'?) [W_UNIT_REBUILT]");
    expect(typo.code, typo.stdout + typo.stderr).toBe(0);
  });

  it("a given key in another case than the built relation's column is that column alone in the typed given (was: the column and a NULL \"PRODUCT_ID\" beside it, both in a select *)", () => {
    const dir = makeProject({
      'models/stg.sql': "select 1 as id, 7 as product_id",
      'models/stg.yml': 'models:\n  - name: stg\n    columns:\n      - name: id\n',
      'models/everything.sql': "select * from {{ ref('stg') }}",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: everything\n    given:\n      - input: ref('stg')\n        rows: [{ id: 1, PRODUCT_ID: 9 }]\n    expect:\n      rows: [{ id: 1, product_id: 9 }]\n",
    });
    dirs.push(dir);
    expect(vigil(dir, ['run']).code).toBe(0);
    const r = vigil(dir, ['test', '--unit']);
    expect(r.stdout).toMatch(/PASS unit everything::t/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const sql = readFileSync(join(dir, 'target/compiled/fixture/models/u.yml/unit/t.sql'), 'utf8');
    expect(sql).toContain('cast(v."product_id" as BIGINT) as "product_id"');
    expect(sql).not.toMatch(/PRODUCT_ID/);
  });
});
