/**
 * DuckDB's SQL spelling. Pure: used by the compiler and by the DuckDB adapter.
 *
 * @example duckDbDialect.percentile('duration_ms', 0.95)
 *   // quantile_disc(duration_ms, 0.95)
 */
import { checkDatePart, checkFraction, jsonNumberSql, standardSpelling, type CanonicalType, type DatePart, type Dialect, type NumberSpelling } from '../dialect.js';

const TYPES: Record<CanonicalType, string> = { string: 'VARCHAR', int: 'BIGINT', float: 'DOUBLE', bool: 'BOOLEAN', timestamp: 'TIMESTAMPTZ', date: 'DATE', json: 'JSON' };

/** A Postgres column type (`format_type()`) as DuckDB stores it. */
export function duckDbTypeOf(pgType: string): string {
  const t = pgType.toLowerCase();
  if (t.endsWith('[]')) return `${duckDbTypeOf(t.slice(0, -2))}[]`;
  if (t === 'uuid') return 'UUID';
  if (t === 'bigint') return 'BIGINT';
  if (t === 'integer') return 'INTEGER';
  if (t === 'smallint') return 'SMALLINT';
  if (t === 'double precision') return 'DOUBLE';
  if (t === 'real') return 'FLOAT';
  if (t.startsWith('numeric')) {
    // DECIMAL(p,s) holds 38 digits at most, 0 <= s <= p; any other numeric (no precision, wider,
    // a negative scale) its exact text (as a DOUBLE, 9007199254740993 became 9007199254740992)
    const m = /^numeric\((\d+),(-?\d+)\)$/.exec(t);
    const [p, s] = m ? [Number(m[1]), Number(m[2])] : [0, -1];
    return p <= 38 && s >= 0 && s <= p ? `DECIMAL(${p},${s})` : 'VARCHAR';
  }
  if (t === 'boolean') return 'BOOLEAN';
  if (t === 'json' || t === 'jsonb') return 'JSON';
  if (t === 'timestamp with time zone') return 'TIMESTAMPTZ';
  if (t.startsWith('timestamp')) return 'TIMESTAMP';
  if (t === 'date') return 'DATE';
  return 'VARCHAR';
}

function jsonPath(key: string): string {
  return `'$."${key.replace(/["\\]/g, (c) => '\\' + c).replace(/'/g, "''")}"'`;
}

const NUMBERS: NumberSpelling = { matches: (t, re) => `regexp_matches(${t}, '${re}')`, group: (t, re) => `regexp_extract(${t}, '${re}', 1)`, double: 'double', int: 'integer' };

export const duckDbDialect: Dialect = {
  ...standardSpelling,
  name: 'duckdb',
  type: (t) => TYPES[t],
  jsonParam: (i) => `cast($${i} as JSON)`,
  jsonTextArray: (expr, dims = 1, column, json = false) => {
    const read = `cast(from_json(${expr}, '${'['.repeat(dims)}"VARCHAR"${']'.repeat(dims)}') as VARCHAR${'[]'.repeat(dims)})`;
    // json elements are JSON of their own ('[1,2]' in a jsonb[]): their text tells no depth
    if (json) return read;
    // from_json reads an array nested deeper as text ('[1,2]', a 2-D value in a 1-D list) and
    // one nested less as NULLs: a value with other dimensions than the copy's list type fails instead
    const depth = `(length(${expr}) - length(ltrim(${expr}, '[')))`;
    const what = column ? `column ${column.replace(/'/g, "''")}` : 'an array column';
    const refused = `error('${what}: a ' || cast(${depth} as varchar) || '-dimensional array, where the copy''s list type has ${dims} dimension${dims === 1 ? '' : 's'} (the source column''s declared ones when the copy was made; Postgres does not hold values to them): make the values match it, or declare the dimensions they have in the source (int[][] for 2) and drop the copy to sync it again')`;
    const fits = `starts_with(${expr}, '${'['.repeat(dims)}') and not starts_with(${expr}, '${'['.repeat(dims + 1)}')`;
    return `(case when ${expr} is null or ${expr} = '[]' or (${fits}) then ${read} else ${refused} end)`;
  },
  syncColumnType: duckDbTypeOf,
  json_number: (col, key) => jsonNumberSql(`json_extract_string(${col}, ${jsonPath(key)})`, NUMBERS),
  json_text: (col, key) => `json_extract_string(${col}, ${jsonPath(key)})`,
  json_has: (col, key) => `coalesce(json_exists(${col}, ${jsonPath(key)}), false)`,
  percentile: (expr, f) => `quantile_disc(${expr}, ${checkFraction(f)})`,
  rolling_median: (expr, partitionBy, orderBy, n) =>
    `median(${expr}) over (partition by ${partitionBy} order by ${orderBy} rows between ${Math.trunc(n)} preceding and 1 preceding)`,
  safe_divide: (a, b) => `(cast(${a} as double) / nullif(${b}, 0))`,
  type_float: () => 'double',
  sampleOrder: (expr: string, seed: number) => `hash(${expr}, ${seed})`,
  sha256Hex: (expr) => `sha256(cast(${expr} as varchar))`,
  date_trunc: (part: DatePart, expr) => `date_trunc('${checkDatePart(part)}', ${expr})`,
  dateadd: (part: DatePart, n, expr) => `(${expr} + (${n}) * interval '1 ${checkDatePart(part)}')`,
  // date_diff('week') counts whole 7-day spans elapsed (Saturday to Monday: 0); the helper counts
  // the Monday week boundaries crossed, as Postgres' and BigQuery's spellings do (WEEK(MONDAY))
  datediff: (part: DatePart, a, b) => {
    const p = checkDatePart(part);
    return p === 'week' ? `(date_diff('day', date_trunc('week', ${a}), date_trunc('week', ${b})) // 7)` : `date_diff('${p}', ${a}, ${b})`;
  },
  date_spine: (start, end) => `select cast(unnest(generate_series(cast(${start} as timestamp), cast(${end} as timestamp), interval 1 day)) as date) as date`,
  createTableAs(rel, sql) {
    return `create or replace table ${this.relation(rel)} as\n${sql}`;
  },
};
