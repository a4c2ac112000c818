/**
 * json_number's one rule on every warehouse (dialect.ts jsonNumberSql): a JSON number, or a JSON
 * string whose whole text is one, as a double; NULL for anything else and for a magnitude of 1e308
 * or more; 0 below 1e-307. The same inputs through DuckDB's and Postgres' spellings on the real
 * engines, and BigQuery's through Google's reference implementation (ZetaSQL evaluates it
 * offline). Was: "NaN", "Infinity", "inf", "+5", "1_000" numbers on DuckDB (try_cast) and
 * BigQuery (SAFE_CAST), NULL on Postgres; 1e400 Infinity on DuckDB and a failed statement on
 * Postgres ("out of range for type double precision").
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { postgresDialect } from '../../src/adapters/postgres/postgres-dialect.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import type { Dialect } from '../../src/adapters/dialect.js';
import { REPO } from '../helpers.js';
import { uniqueSchema } from '../support/postgres.js';

/** the value of key `n` (its JSON text; undefined: no key) and what json_number reads */
const CASES: Array<[string | undefined, number | null]> = [
  ['120', 120],
  ['1.5', 1.5],
  ['-0.25', -0.25],
  ['1E+2', 100],
  ['1e16', 1e16],
  ['0.000001', 1e-6],
  ['12345678901234567890123', 1.2345678901234568e22],
  ['9.99e307', 9.99e307],
  ['1e-307', 1e-307],
  ['0e99999', 0],
  ['0.0012e2', 0.12],
  ['123.456e305', 1.23456e307],
  ['100e-309', 1e-307],
  // a string whose whole text is a JSON number
  ['"2e3"', 2000],
  ['"120"', 120],
  ['"1e0000002"', 100],
  ['"0e999999999999"', 0],
  ['"1e-999999999999"', 0],
  ['"1e999999999999"', null],
  // out of range: NULL at and above 1e308, 0 below 1e-307
  ['1e400', null],
  ['-1e400', null],
  ['1e308', null],
  ['0.01e310', null],
  ['1e99999', null],
  ['1.7976931348623157e308', null],
  ['"1e400"', null],
  ['1e-400', 0],
  ['9e-308', 0],
  ['-5e-308', 0],
  ['"1e-99999"', 0],
  ['"1e-400"', 0],
  // not a JSON number
  ['"NaN"', null],
  ['"Infinity"', null],
  ['"-Infinity"', null],
  ['"inf"', null],
  ['"+5"', null],
  ['"1_000"', null],
  ['" 5"', null],
  ['"5 "', null],
  ['"5."', null],
  ['".5"', null],
  ['"007"', null],
  ['"0x10"', null],
  ['"abc"', null],
  ['""', null],
  ['true', null],
  ['null', null],
  ['[1]', null],
  ['{"a": 1}', null],
  [undefined, null],
];
/** numbers BigQuery's JSON type cannot hold (PARSE_JSON: "number overflow") */
const BEYOND_A_DOUBLE = ['1e400', '-1e400', '1e99999'];
const docs = CASES.map(([v]) => (v === undefined ? '{}' : `{"n": ${v}}`));
const expected = CASES.map(([, n]) => n);
const sql = (d: Dialect, json: string) => `select ${d.json_number('j', 'n')} as v from (select i, cast(x as ${json}) as j from (values ${docs.map((x, i) => `(${i}, ${d.literal(x)})`).join(', ')}) as t(i, x)) s order by i`;
const values = (rows: Array<Record<string, unknown>>) => rows.map((r) => (r.v === null ? null : Number(r.v)));

/** json_text and json_has of key `s`, over JSON text held in a column of type `json` (text, json, jsonb...) */
// (`{"s": null}`: a key holding JSON null is there, as DuckDB's json_exists and Postgres' ? say; BigQuery's JSON_QUERY
// of a STRING reads it as SQL NULL: json_has said false there)
const TEXT_DOCS = ['{"s": "x", "n": 5}', '{"n": 1}', '{"s": 7}', '{"s": null}', '{"t": {"s": 1}}', '[1]'];
const TEXT_EXPECTED = [
  { t: 'x', h: true },
  { t: null, h: false },
  { t: '7', h: true },
  { t: null, h: true },
  { t: null, h: false },
  { t: null, h: false },
];
const textSql = (d: Dialect, json: string) =>
  `select ${d.json_text('j', 's')} as t, ${d.json_has('j', 's')} as h from (select i, cast(x as ${json}) as j from (values ${TEXT_DOCS.map((x, i) => `(${i}, ${d.literal(x)})`).join(', ')}) as t(i, x)) s order by i`;

let pg: PostgresAdapter;
beforeAll(async () => {
  pg = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: uniqueSchema('json_number') }, 1, { helpers: false });
});
afterAll(async () => {
  await pg?.close();
});

describe('json_number: one grammar and range on every warehouse', () => {
  it('DuckDB', async () => {
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'analytics' }, process.cwd(), 1);
    try {
      expect(values(await duck.query(sql(duckDbDialect, 'json')))).toEqual(expected);
      // JSON text in a VARCHAR column, as in the JSON type
      expect(values(await duck.query(sql(duckDbDialect, 'varchar')))).toEqual(expected);
      for (const json of ['json', 'varchar']) expect(await duck.query(textSql(duckDbDialect, json)), json).toEqual(TEXT_EXPECTED);
    } finally {
      await duck.close();
    }
  });

  it('Postgres, jsonb and json', async () => {
    expect(values(await pg.query(sql(postgresDialect, 'jsonb')))).toEqual(expected);
    expect(values(await pg.query(sql(postgresDialect, 'json')))).toEqual(expected);
  });

  it('Postgres, a text column holding JSON, as json_has reads it (was: operator does not exist: text ->> unknown)', async () => {
    expect(values(await pg.query(sql(postgresDialect, 'text')))).toEqual(expected);
    expect(values(await pg.query(sql(postgresDialect, 'varchar(200)')))).toEqual(expected);
    for (const json of ['text', 'json', 'jsonb']) expect(await pg.query(textSql(postgresDialect, json)), json).toEqual(TEXT_EXPECTED);
  });

  it("BigQuery (Google's reference implementation)", async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, stopZetaServer } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    try {
      const lo = await bigQueryLanguageOptions(srv);
      const cat = new ZetaCatalog(srv.z, lo, 'p');
      const api = (srv.z.ZetaSQLClient as { API: Record<string, (r: unknown, cb: (e: unknown, a: unknown) => void) => void> }).API;
      const evaluate = (q: string) =>
        new Promise<Array<Array<Record<string, unknown>>>>((res, rej) =>
          api.evaluateQuery({ sql: q, options: { languageOptions: lo }, simpleCatalog: cat.toProto() }, (e, r) =>
            e ? rej(e) : res((r as { content: { tableData: { row?: Array<{ cell: Array<Record<string, unknown>> }> } } }).content.tableData.row?.map((x) => x.cell) ?? []),
          ),
        );
      const read = async (json: (x: string) => string, which: number[]) => {
        const q = `SELECT ${bigQueryDialect.json_number('j', 'n')} AS v FROM UNNEST([${which.map((i) => json(bigQueryDialect.literal(docs[i]))).join(', ')}]) AS j WITH OFFSET AS i ORDER BY i`;
        return (await evaluate(q)).map(([c]) => (c.doubleValue === undefined ? null : Number(c.doubleValue)));
      };
      const all = docs.map((_d, i) => i);
      // JSON text in a STRING, and the JSON type (whose numbers are doubles: JSON_VALUE reads 1e22 as '1e+22')
      expect(await read((x) => x, all)).toEqual(expected);
      const storable = all.filter((i) => !BEYOND_A_DOUBLE.includes(CASES[i][0]!));
      expect(storable.length).toBe(all.length - BEYOND_A_DOUBLE.length);
      expect(await read((x) => `PARSE_JSON(${x}, wide_number_mode => 'round')`, storable)).toEqual(storable.map((i) => expected[i]));
      // json_text and json_has on a STRING holding JSON, as on the JSON type
      for (const json of [(x: string) => x, (x: string) => `PARSE_JSON(${x})`]) {
        const q = `SELECT ${bigQueryDialect.json_text('j', 's')} AS t, ${bigQueryDialect.json_has('j', 's')} AS h FROM UNNEST([${TEXT_DOCS.map((d) => json(bigQueryDialect.literal(d))).join(', ')}]) AS j WITH OFFSET AS i ORDER BY i`;
        const rows = (await evaluate(q)).map(([t, h]) => ({ t: t.stringValue ?? null, h: h.boolValue ?? false }));
        expect(rows, json('x')).toEqual(TEXT_EXPECTED);
      }
    } finally {
      await stopZetaServer(true);
    }
  });
});
