/**
 * BigQuery's SQL spelling (GoogleSQL). Pure: used by the compiler; the BigQuery adapter (I/O,
 * jobs, dry runs) is a later piece of the BigQuery issue. Every statement shape is parsed with
 * sql-parser-cst in the tests, and the shipped project's BigQuery SQL is checked in as golden.
 *
 * Exact percentiles: BigQuery has no aggregate PERCENTILE_DISC, so `percentile` picks the
 * ceil(f * n)-th value of the sorted non-null values — percentile_disc's definition, as DuckDB
 * and Postgres compute it. `rolling_median` aggregates the window frame into an array and takes
 * its median with `vigil_internal.median(ARRAY<FLOAT64>)`, a SQL UDF the adapter creates
 * (PERCENTILE_CONT cannot take a window frame).
 */
import { checkDatePart, checkFraction, jsonNumberSql, mapSqlCode, type CanonicalType, type DatePart, type Dialect, type NumberSpelling, type Relation, type SqlLexis } from '../dialect.js';
import { partitionField } from '../adapter.js';

/** BigQuery's literals: '...' and "..." (tripled too) with backslash escapes; `names`; # comments. */
const BQ_LEXIS: SqlLexis = { strings: `'"`, identQuote: '`', backslash: true, hashComments: true };
// (each also with the SAFE. prefix, which GoogleSQL accepts on any scalar function: a bound
// literal needs none; a zoned call keeps it, so a bad zone still reads NULL)
const BQ_CLOCK = {
  timestamp: /(?<![\w.])(?:SAFE\s*\.\s*)?CURRENT_TIMESTAMP(?:\s*\(\s*\))?(?![\w(])/gi,
  /** without a zone: UTC's */
  bare: /(?<![\w.])(?:SAFE\s*\.\s*)?CURRENT_(DATE|DATETIME|TIME)(?:\s*\(\s*\))?(?![\w(])/gi,
  /** with a zone argument (a literal, after this code): the argument and its ')' follow as written */
  zoned: /(?<![\w.])(SAFE\s*\.\s*)?CURRENT_(DATE|DATETIME|TIME)\s*\(\s*(?!\))/gi,
};

const TYPES: Record<CanonicalType, string> = { string: 'STRING', int: 'INT64', float: 'FLOAT64', bool: 'BOOL', timestamp: 'TIMESTAMP', date: 'DATE', json: 'JSON' };

/** A Postgres column type (`format_type()`) as BigQuery stores it. */
export function bigQueryTypeOf(pgType: string): string {
  const t = pgType.toLowerCase();
  if (t.endsWith('[]')) return `ARRAY<${bigQueryTypeOf(t.slice(0, -2))}>`;
  if (t === 'bigint' || t === 'integer' || t === 'smallint') return 'INT64';
  if (t === 'double precision' || t === 'real') return 'FLOAT64';
  if (t.startsWith('numeric')) {
    // NUMERIC(P, S) holds at most 29 integer and 9 fractional digits, BIGNUMERIC(P, S) 38 and 38;
    // any other numeric (no precision, wider, a negative scale) its exact text: never rounded
    const m = /^numeric\((\d+),(-?\d+)\)$/.exec(t);
    const [p, s] = m ? [Number(m[1]), Number(m[2])] : [0, -1];
    if (s < 0 || s > p) return 'STRING';
    if (s <= 9 && p - s <= 29) return `NUMERIC(${p}, ${s})`;
    return s <= 38 && p - s <= 38 ? `BIGNUMERIC(${p}, ${s})` : 'STRING';
  }
  if (t === 'boolean') return 'BOOL';
  if (t === 'json' || t === 'jsonb') return 'JSON';
  // (with a precision: timestamp(3) with time zone)
  if (/^timestamp(\(\d+\))? with time zone$/.test(t)) return 'TIMESTAMP';
  if (t.startsWith('timestamp')) return 'DATETIME';
  if (t === 'date') return 'DATE';
  return 'STRING';
}

/** A column of a BigQuery schema (`TableFieldSchema`), as tables.get and a dry run's `statistics.query.schema` give it. */
export interface BqField {
  name: string;
  type: string;
  mode?: string;
  fields?: BqField[];
  precision?: string;
  scale?: string;
  maxLength?: string;
  rangeElementType?: { type: string };
}

/** The REST API's legacy type names, in GoogleSQL's DDL spelling. */
const DDL_NAMES: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', RECORD: 'STRUCT' };

/**
 * A schema field's type as DDL writes it (`ALTER TABLE ... ADD COLUMN c <type>`): legacy names
 * mapped (INTEGER -> INT64, RECORD -> STRUCT<...>), REPEATED as ARRAY<...>, parameters kept
 * (NUMERIC(10, 2), STRING(20), RANGE<DATE>). Two fields of the same type give the same text.
 */
export function bigQueryDdlType(f: BqField): string {
  const base = f.type.toUpperCase();
  const t = DDL_NAMES[base] ?? base;
  let s: string;
  if (t === 'STRUCT') s = `STRUCT<${(f.fields ?? []).map((x) => `${quote(x.name)} ${bigQueryDdlType(x)}`).join(', ')}>`;
  else if (t === 'RANGE') s = `RANGE<${(f.rangeElementType?.type ?? 'DATE').toUpperCase()}>`;
  else if (f.precision !== undefined) s = `${t}(${f.precision}${f.scale !== undefined ? `, ${f.scale}` : ''})`;
  else if (f.maxLength !== undefined) s = `${t}(${f.maxLength})`;
  else s = t;
  return f.mode?.toUpperCase() === 'REPEATED' ? `ARRAY<${s}>` : s;
}

export const BQ_HELPER_DATASET = 'vigil_internal';

const quote = (id: string) => `\`${id.replace(/[`\\]/g, (c) => '\\' + c)}\``;

function jsonPath(key: string): string {
  return `'$."${key.replace(/["\\]/g, (c) => '\\\\' + c).replace(/'/g, "\\'")}"'`;
}

const NUMBERS: NumberSpelling = { matches: (t, re) => `REGEXP_CONTAINS(${t}, '${re}')`, group: (t, re) => `REGEXP_EXTRACT(${t}, '${re}')`, double: 'FLOAT64', int: 'INT64' };

/**
 * The date parts in GoogleSQL. A week starts on Monday, as DuckDB's and Postgres' date_trunc
 * start it (ISO 8601): BigQuery's bare WEEK is WEEK(SUNDAY).
 */
const PART: Record<DatePart, string> = { second: 'SECOND', minute: 'MINUTE', hour: 'HOUR', day: 'DAY', week: 'WEEK(MONDAY)', month: 'MONTH', quarter: 'QUARTER', year: 'YEAR' };

export const bigQueryDialect: Dialect = {
  lexis: BQ_LEXIS,
  /**
   * `quoted` names as DuckDB's "quoted" ones, outside string literals and comments: its parser
   * then reads the rest of most statements (parsing needs no function to exist).
   */
  parsableSql(sql: string): string {
    // and SAFE_CAST(x AS T) as DuckDB's TRY_CAST (the same lineage)
    return sql.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|--[^\n]*|\/\*[\s\S]*?\*\/|`([^`]*)`|\bSAFE_CAST\s*\(/gi, (m, name: string | undefined) =>
      name !== undefined ? `"${name.replace(/"/g, '""')}"` : /^SAFE_CAST/i.test(m) ? 'TRY_CAST(' : m,
    );
  },
  name: 'bigquery',
  // (a table's schema: https://cloud.google.com/bigquery/quotas#table_limits)
  maxTableColumns: 10000,
  groupByReadsAliases: true,
  quoteIdent: quote,
  relation(rel: Relation) {
    return [rel.database, rel.schema, rel.identifier]
      .filter((p): p is string => !!p)
      .map(quote)
      .join('.');
  },
  param: () => '?',
  type: (t) => TYPES[t],
  sha256Hex: (expr) => `TO_HEX(SHA256(CAST(${expr} AS STRING)))`,
  catalogColumns(rel: Relation) {
    return `SELECT column_name FROM ${[rel.database, rel.schema].filter((p): p is string => !!p).map(quote).join('.')}.INFORMATION_SCHEMA.COLUMNS WHERE table_name = ${this.literal(rel.identifier)}`;
  },
  // IAM members: user:, group:, serviceAccount: an e-mail address; domain: a domain
  // https://cloud.google.com/bigquery/docs/authorized-views: a view's readers need its sources, unless it is authorized
  viewReadersNeedInputs: true,
  // table/view and column descriptions are written in OPTIONS (description=...)
  persistsDescriptions: true,
  principalProblem: (p) =>
    /^(user|group|serviceAccount):[^\s@"`]+@[^\s@"`]+\.[^\s@"`]+$/.test(p) || /^domain:[A-Za-z0-9.-]+\.[A-Za-z]+$/.test(p)
      ? undefined
      : `'${p}' is not a BigQuery member: write user:name@example.com, group:team@example.com, serviceAccount:sa@project.iam.gserviceaccount.com or domain:example.com`,
  // IAM stores an e-mail member and a domain in lower case (OBJECT_PRIVILEGES lists
  // group:analysts@example.com for group:Analysts@Example.com): compared so; principal: and
  // principalSet: identifiers as written
  principalKey: (p) => {
    const m = /^(user|group|serviceAccount|domain):(.*)$/.exec(p);
    return m ? `${m[1]}:${m[2].toLowerCase()}` : p;
  },
  grantSelect(rel: Relation, kind: 'table' | 'view', principals: string[]) {
    return `GRANT \`roles/bigquery.dataViewer\` ON ${kind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(rel)} TO ${principals.map((p) => `"${p}"`).join(', ')}`;
  },
  revokeSelect(rel: Relation, kind: 'table' | 'view', principals: string[]) {
    return `REVOKE \`roles/bigquery.dataViewer\` ON ${kind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(rel)} FROM ${principals.map((p) => `"${p}"`).join(', ')}`;
  },
  // JSON, ARRAY, STRUCT and GEOGRAPHY have no equality in BigQuery ("Grouping is not defined for
  // arguments of type JSON"): compared, and grouped, as their JSON text
  comparable: (expr, type) => (/^\s*(JSON|ARRAY|STRUCT|GEOGRAPHY)\b/i.test(type) ? `TO_JSON_STRING(${expr})` : expr),
  syncColumnType: bigQueryTypeOf,
  timestampParam: () => 'TIMESTAMP(?)',
  jsonParam: () => 'PARSE_JSON(?)',
  jsonTextArray: (expr) => `JSON_VALUE_ARRAY(${expr})`,
  cross_join_unnest: (expr, name) => `CROSS JOIN UNNEST(${expr}) AS ${quote(name)}`,
  // CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_DATETIME and CURRENT_TIME, with or without their
  // parentheses (BigQuery takes both) and with a time zone argument, kept as written: the
  // evaluation time's day, datetime or time in that zone (only in code: a literal is kept)
  bindEvalTime(sql, at) {
    const iso = at.toISOString();
    const ts = `TIMESTAMP '${iso}'`;
    return mapSqlCode(
      sql,
      (code) =>
        code
          .replace(BQ_CLOCK.timestamp, ts)
          .replace(BQ_CLOCK.bare, (_m, fn: string) => (fn.toUpperCase() === 'DATE' ? `DATE '${iso.slice(0, 10)}'` : `${fn.toUpperCase()}(${ts})`))
          .replace(BQ_CLOCK.zoned, (_m, safe: string | undefined, fn: string) => `${safe ? 'SAFE.' : ''}${fn.toUpperCase()}(${ts}, `),
      BQ_LEXIS,
    );
  },
  // BigQuery will not compare a TIMESTAMP column with a DATE
  dateBound: (expr, columnType) => (/timestamp/i.test(columnType ?? '') ? `TIMESTAMP(${expr})` : expr),
  readFilter(config, alias) {
    if (config?.require_partition_filter !== true) return undefined;
    const field = partitionField(config.partition_by);
    if (!field) return undefined;
    const col = `${alias ? `${alias}.` : ''}${quote(field)}`;
    // dbt-bigquery's predicate for the same purpose: names only the partition column (so it
    // counts as a partition filter), keeps every row, and holds for any column type
    return `(${col} IS NULL OR ${col} IS NOT NULL)`;
  },
  literal(v) {
    if (v === null) return 'NULL';
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
    if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
    return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  },
  json_number: (col, key) => jsonNumberSql(`JSON_VALUE(${col}, ${jsonPath(key)})`, NUMBERS),
  json_text: (col, key) => `JSON_VALUE(${col}, ${jsonPath(key)})`,
  // JSON_QUERY of a STRING reads a key holding JSON null as SQL NULL, of the JSON type as JSON
  // null (GoogleSQL's JSON functions): the document is taken as JSON first, so a present key is
  // there whatever it holds, as DuckDB's json_exists and Postgres' ? say. TO_JSON keeps a JSON
  // value and makes a STRING a JSON string, whose text LAX_STRING gives back to PARSE_JSON
  // (SAFE: text that is no JSON has no key; 'round': a number past a double's precision is no error)
  json_has: (col, key) =>
    `(JSON_QUERY(COALESCE(SAFE.PARSE_JSON(LAX_STRING(TO_JSON(${col})), wide_number_mode => 'round'), TO_JSON(${col})), ${jsonPath(key)}) IS NOT NULL)`,
  percentile: (expr, f) =>
    `ARRAY_AGG(${expr} IGNORE NULLS ORDER BY ${expr})[SAFE_OFFSET(GREATEST(CAST(CEIL(${checkFraction(f)} * COUNT(${expr})) AS INT64) - 1, 0))]`,
  rolling_median: (expr, partitionBy, orderBy, n) =>
    `${quote(BQ_HELPER_DATASET)}.median(ARRAY_AGG(CAST(${expr} AS FLOAT64) IGNORE NULLS) OVER (PARTITION BY ${partitionBy} ORDER BY ${orderBy} ROWS BETWEEN ${Math.trunc(n)} PRECEDING AND 1 PRECEDING))`,
  count_if: (cond) => `COUNTIF(${cond})`,
  safe_divide: (a, b) => `SAFE_DIVIDE(${a}, ${b})`,
  type_float: () => 'FLOAT64',
  sampleOrder: (expr, seed) => `FARM_FINGERPRINT(CONCAT(CAST(${expr} AS STRING), ':${seed}'))`,
  date_trunc: (part: DatePart, expr) => `TIMESTAMP_TRUNC(${expr}, ${PART[checkDatePart(part)]})`,
  // (an INTERVAL's WEEK is 7 days, and takes no weekday)
  dateadd: (part: DatePart, n, expr) => `(${expr} + INTERVAL (${n}) ${checkDatePart(part).toUpperCase()})`,
  datediff: (part: DatePart, a, b) => {
    const p = checkDatePart(part);
    if (p === 'second' || p === 'minute' || p === 'hour') return `TIMESTAMP_DIFF(TIMESTAMP_TRUNC(${b}, ${PART[p]}), TIMESTAMP_TRUNC(${a}, ${PART[p]}), ${PART[p]})`;
    return `DATE_DIFF(DATE(${b}), DATE(${a}), ${PART[p]})`;
  },
  to_date: (expr) => `DATE(${expr})`,
  date_spine: (start, end) => `SELECT d AS date FROM UNNEST(GENERATE_DATE_ARRAY(DATE(${start}), DATE(${end}))) AS d`,
  current_timestamp: () => 'CURRENT_TIMESTAMP()',
  current_date: () => 'CURRENT_DATE()',
  createSchema: (schema) => `CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`,
  alterColumnType: (relation, column, type) => `ALTER TABLE ${relation} ALTER COLUMN ${column} SET DATA TYPE ${type}`,
  createView(rel, sql) {
    return `CREATE OR REPLACE VIEW ${this.relation(rel)} AS\n${sql}`;
  },
  createTableAs(rel, sql) {
    return `CREATE OR REPLACE TABLE ${this.relation(rel)} AS\n${sql}`;
  },
};

/** The UDF `rolling_median` calls; the adapter creates it in the target project. */
export function bigQueryHelpersSql(project: string | undefined): string {
  const ds = [project, BQ_HELPER_DATASET].filter(Boolean).map((p) => quote(p!)).join('.');
  return `CREATE SCHEMA IF NOT EXISTS ${ds};
CREATE OR REPLACE FUNCTION ${ds}.median(a ARRAY<FLOAT64>) RETURNS FLOAT64 AS ((
  SELECT IF(MOD(ARRAY_LENGTH(s), 2) = 1, s[OFFSET(DIV(ARRAY_LENGTH(s), 2))], (s[OFFSET(DIV(ARRAY_LENGTH(s), 2) - 1)] + s[OFFSET(DIV(ARRAY_LENGTH(s), 2))]) / 2)
  FROM (SELECT ARRAY(SELECT v FROM UNNEST(a) AS v ORDER BY v) AS s)
  WHERE ARRAY_LENGTH(s) > 0
));`;
}
