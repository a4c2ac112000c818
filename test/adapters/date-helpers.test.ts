/**
 * The date helpers (`date_trunc`, `datediff`) give one answer on every warehouse: a week starts on
 * Monday (ISO 8601, as DuckDB's and Postgres' date_trunc start it), and datediff counts the
 * boundaries of the part crossed between the two values (Saturday to Monday: 1 week; Dec 31 to
 * Jan 1: 1 day, month, quarter and year). DuckDB and Postgres on the real engines, BigQuery's
 * spelling through Google's reference implementation (ZetaSQL analyzes and evaluates it offline, in UTC as BigQuery).
 * Was: datediff('week', Sat, Mon) 0 on DuckDB (its date_diff counts whole 7-day spans), 1 on
 * Postgres; BigQuery's WEEK is WEEK(SUNDAY): date_trunc('week') started on Sunday there, and
 * datediff('week', Sun, Mon) was 0.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { postgresDialect } from '../../src/adapters/postgres/postgres-dialect.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { DATE_PARTS, type DatePart, type Dialect } from '../../src/adapters/dialect.js';
import { REPO } from '../helpers.js';
import { uniqueSchema } from '../support/postgres.js';

/** [first, second] as UTC date-times: Saturdays, Sundays, Mondays, month, quarter and year edges, both directions */
const PAIRS: Array<[string, string]> = [
  ['2024-01-06 10:00:00', '2024-01-08 09:00:00'], // Sat -> Mon
  ['2024-01-07 23:59:59', '2024-01-08 00:00:00'], // Sun -> Mon, a second apart
  ['2024-01-06 00:00:00', '2024-01-07 00:00:00'], // Sat -> Sun
  ['2024-01-08 00:00:00', '2024-01-14 23:00:00'], // Mon -> Sun of the same week
  ['2024-01-08 12:00:00', '2024-01-06 12:00:00'], // Mon -> Sat, backwards
  ['2023-12-31 23:59:30', '2024-01-01 00:00:10'], // Sun Dec 31 -> Mon Jan 1
  ['2024-12-29 08:00:00', '2025-01-06 07:00:00'], // Sun -> Mon eight days later, over the year end (ISO week 1 of 2025 starts Dec 30)
  ['2020-12-31 00:00:00', '2021-01-04 00:00:00'], // Thu -> Mon: ISO year 2020 has 53 weeks
  ['2024-03-31 10:00:00', '2024-04-01 09:00:00'], // quarter edge
  ['2024-02-29 00:00:00', '2025-02-28 00:00:00'], // leap day, a year less a day
  ['2024-01-10 10:59:59', '2024-01-10 11:00:01'], // an hour boundary, two seconds apart
];
const SUB_DAY: DatePart[] = ['second', 'minute', 'hour'];
const DAY_PARTS = DATE_PARTS.filter((p) => !SUB_DAY.includes(p));

/** The reference: both values truncated to the part (weeks from Monday), the parts between counted. */
function truncate(part: DatePart, iso: string): Date {
  const d = new Date(iso.replace(' ', 'T') + 'Z');
  const [y, m] = [d.getUTCFullYear(), d.getUTCMonth()];
  switch (part) {
    case 'second':
      return new Date(Math.floor(d.getTime() / 1000) * 1000);
    case 'minute':
      return new Date(Math.floor(d.getTime() / 60_000) * 60_000);
    case 'hour':
      return new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000);
    case 'day':
      return new Date(Date.UTC(y, m, d.getUTCDate()));
    case 'week':
      return new Date(Date.UTC(y, m, d.getUTCDate() - ((d.getUTCDay() + 6) % 7)));
    case 'month':
      return new Date(Date.UTC(y, m, 1));
    case 'quarter':
      return new Date(Date.UTC(y, m - (m % 3), 1));
    case 'year':
      return new Date(Date.UTC(y, 0, 1));
  }
}
function diff(part: DatePart, a: string, b: string): number {
  const [x, y] = [truncate(part, a), truncate(part, b)];
  const months = (t: Date) => t.getUTCFullYear() * 12 + t.getUTCMonth();
  const unit: Partial<Record<DatePart, number>> = { second: 1e3, minute: 6e4, hour: 36e5, day: 864e5, week: 7 * 864e5 };
  if (unit[part]) return Math.round((y.getTime() - x.getTime()) / unit[part]!);
  if (part === 'month') return months(y) - months(x);
  if (part === 'quarter') return Math.floor(months(y) / 3) - Math.floor(months(x) / 3);
  return y.getUTCFullYear() - x.getUTCFullYear();
}
const day = (iso: string) => iso.slice(0, 10);

/** One row per pair, every answer as text: datediff of the date-times (all parts), of their dates (day and up), date_trunc of each to a date. */
interface Spelling {
  d: Dialect;
  ts: (iso: string) => string;
  date: (iso: string) => string;
  text: (expr: string) => string;
}
const columns = (s: Spelling, [a, b]: [string, string]) => [
  ...DATE_PARTS.map((p) => s.text(s.d.datediff(p, s.ts(a), s.ts(b)))),
  ...DAY_PARTS.map((p) => s.text(s.d.datediff(p, s.date(day(a)), s.date(day(b))))),
  ...DAY_PARTS.map((p) => s.text(s.d.to_date(s.d.date_trunc(p, s.ts(a))))),
  ...DAY_PARTS.map((p) => s.text(s.d.to_date(s.d.date_trunc(p, s.date(day(b)))))),
];
const expected = PAIRS.map(([a, b]) => [
  ...DATE_PARTS.map((p) => String(diff(p, a, b))),
  ...DAY_PARTS.map((p) => String(diff(p, day(a), day(b)))),
  ...DAY_PARTS.map((p) => truncate(p, a).toISOString().slice(0, 10)),
  ...DAY_PARTS.map((p) => truncate(p, day(b)).toISOString().slice(0, 10)),
]);
const standard = (d: Dialect): Spelling => ({ d, ts: (x) => `cast('${x}' as timestamp)`, date: (x) => `cast('${x}' as date)`, text: (e) => `cast(${e} as varchar)` });
const query = (s: Spelling, pair: [string, string]) => `select ${columns(s, pair).map((c, i) => `${c} as c${i}`).join(', ')}`;

let pg: PostgresAdapter;
beforeAll(async () => {
  pg = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: uniqueSchema('date_helpers') }, 1, { helpers: false });
});
afterAll(async () => {
  await pg?.close();
});

describe('date_trunc and datediff: one answer on every warehouse, weeks from Monday', () => {
  it('the reference itself: Saturday to Monday is one week, Monday to Sunday none', () => {
    expect(diff('week', '2024-01-06 10:00:00', '2024-01-08 09:00:00')).toBe(1);
    expect(diff('week', '2024-01-08 00:00:00', '2024-01-14 23:00:00')).toBe(0);
    expect(truncate('week', '2024-01-07 23:59:59').toISOString().slice(0, 10)).toBe('2024-01-01');
  });

  it('DuckDB', async () => {
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'analytics' }, process.cwd(), 1);
    try {
      const got = [];
      for (const pair of PAIRS) got.push(Object.values((await duck.query(query(standard(duckDbDialect), pair)))[0]));
      expect(got).toEqual(expected);
    } finally {
      await duck.close();
    }
  });

  it('Postgres', async () => {
    const got = [];
    for (const pair of PAIRS) got.push(Object.values((await pg.query(query({ ...standard(postgresDialect), text: (e) => `cast(${e} as text)` }, pair)))[0]));
    expect(got).toEqual(expected);
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
          api.evaluateQuery({ sql: q, options: { languageOptions: lo, defaultTimezone: 'UTC' }, simpleCatalog: cat.toProto() }, (e, r) =>
            e ? rej(e) : res((r as { content: { tableData: { row?: Array<{ cell: Array<Record<string, unknown>> }> } } }).content.tableData.row?.map((x) => x.cell) ?? []),
          ),
        );
      const bq: Spelling = { d: bigQueryDialect, ts: (x) => `TIMESTAMP '${x}+00'`, date: (x) => `DATE '${x}'`, text: (e) => `CAST(${e} AS STRING)` };
      const got = [];
      for (const pair of PAIRS) got.push((await evaluate(query(bq, pair)).then((rows) => rows[0])).map((c) => c.stringValue));
      expect(got).toEqual(expected);
      // the spelling: WEEK(MONDAY), never BigQuery's bare WEEK (WEEK(SUNDAY))
      expect(bigQueryDialect.date_trunc('week', 'x')).toBe('TIMESTAMP_TRUNC(x, WEEK(MONDAY))');
      expect(bigQueryDialect.datediff('week', 'a', 'b')).toBe('DATE_DIFF(DATE(b), DATE(a), WEEK(MONDAY))');
    } finally {
      await stopZetaServer(true);
    }
  });
});
