/**
 * PostgreSQL's SQL spelling. Pure: used by the compiler and by the Postgres adapter.
 * Results are meant to match DuckDB's exactly on the same data (the parity test checks the
 * shipped marts row by row), so numbers are double precision where DuckDB's are DOUBLE.
 *
 * @example postgresDialect.percentile('duration_ms', 0.95)
 *   // percentile_disc(0.95) within group (order by duration_ms)
 */
import { bindEvalTimeStandard, checkDatePart, checkFraction, jsonNumberSql, quoteIdentStandard, relationStandard, standardSpelling, type CanonicalType, type DatePart, type Dialect, type NumberSpelling } from '../dialect.js';

const TYPES: Record<CanonicalType, string> = { string: 'text', int: 'bigint', float: 'double precision', bool: 'boolean', timestamp: 'timestamptz', date: 'date', json: 'jsonb' };

/** Schema holding the helper functions the adapter installs (see postgres-adapter.ts). */
export const PG_HELPER_SCHEMA = 'vigil_internal';

const NUMBERS: NumberSpelling = { matches: (t, re) => `(${t} ~ '${re}')`, group: (t, re) => `substring(${t} from '${re}')`, double: 'double precision', int: 'integer' };

function key(k: string): string {
  return `'${k.replace(/'/g, "''")}'`;
}

/** Truncate both ends to the unit and count the units between: DuckDB's date_diff semantics. */
function diffIn(part: DatePart, a: string, b: string): string {
  const secs: Partial<Record<DatePart, number>> = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 };
  const s = secs[part];
  if (s) {
    const t = (x: string) => `extract(epoch from date_trunc('${part}', cast(${x} as timestamp)))`;
    return `cast(round((${t(b)} - ${t(a)}) / ${s}) as bigint)`;
  }
  const months = (x: string) => `(extract(year from ${x}) * 12 + extract(month from ${x}) - 1)`;
  if (part === 'month') return `cast(${months(b)} - ${months(a)} as bigint)`;
  if (part === 'quarter') return `cast(floor(${months(b)} / 3) - floor(${months(a)} / 3) as bigint)`;
  return `cast(extract(year from ${b}) - extract(year from ${a}) as bigint)`;
}

/**
 * A JSON array of arrays (`expr`, text; `[[1,2],[3,4]]`) as a text[] of as many dimensions, any
 * number Postgres allows (6): one nested ARRAY(...) per level, chosen by the '[' it starts with.
 * A Postgres array column holds values of any dimensions, whatever it declares.
 */
function nestedTextArray(expr: string): string {
  const level = (k: number, j: string): string => (k === 1 ? `array(select jsonb_array_elements_text(${j}))` : `array(select ${level(k - 1, `e${k}`)} from jsonb_array_elements(${j}) as t${k}(e${k}))`);
  const when = [2, 3, 4, 5, 6].map((k) => `when ${k} then ${level(k, `cast(${expr} as jsonb)`)}`).join(' ');
  return `(case length(${expr}) - length(ltrim(${expr}, '[')) ${when} end)`;
}

export const postgresDialect: Dialect = {
  ...standardSpelling,
  name: 'postgres',
  // NAMEDATALEN - 1
  maxIdentifierBytes: 63,
  // MaxHeapAttributeNumber
  maxTableColumns: 1600,
  type: (t) => TYPES[t],
  jsonParam: (i) => `cast($${i} as jsonb)`,
  // json elements are JSON of their own ('[1,2]' in a jsonb[]): one level, whatever their text starts with
  jsonTextArray: (expr, _dims, _column, json = false) =>
    `(case when (${expr}) is null then null ${json ? '' : `when left(${expr}, 2) = '[[' then ${nestedTextArray(expr)} `}else array(select jsonb_array_elements_text(cast(${expr} as jsonb))) end)`,
  // json: jsonb's equality (keys in any order, no whitespace); types without `=` (xml, point...) or
  // whose `=` compares something else (box, circle: their areas): their text
  comparable: (expr, type) => {
    const m = /^(json|xml|point|line|lseg|box|path|polygon|circle)((?:\[\])*)$/i.exec(type.trim());
    return m ? `cast(${expr} as ${m[1].toLowerCase() === 'json' ? 'jsonb' : 'text'}${m[2]})` : expr;
  },
  // (a url's options may set the session's TimeZone: current_date is the day there)
  bindEvalTime: (sql, at) => bindEvalTimeStandard(sql, at, true),
  utcDate: (expr) => `cast((${expr}) at time zone 'UTC' as date)`,
  // Postgres to Postgres: the source's own type
  syncColumnType: (pgType) => pgType,
  sha256Hex: (expr) => `encode(sha256(convert_to(cast(${expr} as text), 'UTF8')), 'hex')`,
  unquotedName: (name) => name.toLowerCase(),
  // a principal is a role, as pg_roles spells it (quoted in the statements: no case folding)
  principalProblem: (p) =>
    // PUBLIC is every role (and never revoked by Vigil, which manages named roles only); the others are no role either
    ['public', 'current_user', 'current_role', 'session_user', 'none'].includes(p)
      ? `'${p}' is not a role but a key word of Postgres${p === 'public' ? ' (PUBLIC: every role, which Vigil would grant and never revoke)' : ''}: name the roles`
      : /^[a-z_][a-z0-9_$]*$/.test(p) && p.length <= 63
        ? undefined
        : `'${p}' is not a Postgres role name: lower-case letters, digits, _ and $, starting with a letter or _, at most 63 characters`,
  grantSelect: (rel, _kind, principals) => `grant select on table ${relationStandard(rel)} to ${principals.map(quoteIdentStandard).join(', ')}`,
  revokeSelect: (rel, _kind, principals) => `revoke select on table ${relationStandard(rel)} from ${principals.map(quoteIdentStandard).join(', ')}`,
  // (cast to json: a text column holding JSON has no ->>; a json column's cast is none, so a
  // staging model repeating it pays nothing — jsonb's cast parsed the document again each time,
  // ~50 % slower, and failed on a number beyond numeric's range, which json_number reads as NULL)
  json_number: (col, k) => jsonNumberSql(`(cast(${col} as json) ->> ${key(k)})`, NUMBERS),
  json_text: (col, k) => `(cast(${col} as json) ->> ${key(k)})`,
  json_has: (col, k) => `coalesce(cast(${col} as jsonb) ? ${key(k)}, false)`,
  percentile: (expr, f) => `percentile_disc(${checkFraction(f)}) within group (order by ${expr})`,
  // percentile_cont is not a window function in Postgres: aggregate the frame into an array
  // and take its median with a helper function the adapter installs
  rolling_median: (expr, partitionBy, orderBy, n) =>
    `${PG_HELPER_SCHEMA}.median(array_agg(cast(${expr} as double precision)) over (partition by ${partitionBy} order by ${orderBy} rows between ${Math.trunc(n)} preceding and 1 preceding))`,
  safe_divide: (a, b) => `(cast(${a} as double precision) / nullif(${b}, 0))`,
  type_float: () => 'double precision',
  sampleOrder: (expr: string, seed: number) => `md5(cast(${expr} as text) || ':${seed}')`,
  date_trunc: (part: DatePart, expr) => `date_trunc('${checkDatePart(part)}', ${expr})`,
  dateadd: (part: DatePart, n, expr) => `(${expr} + (${n}) * interval '1 ${checkDatePart(part)}')`,
  datediff: (part: DatePart, a, b) => diffIn(checkDatePart(part), a, b),
  date_spine: (start, end) => `select cast(d as date) as date from generate_series(cast(${start} as timestamp), cast(${end} as timestamp), interval '1 day') as g(d)`,
  createTableAs(rel, sql) {
    return `create table ${this.relation(rel)} as\n${sql}`;
  },
};

/** The body of `vigil_internal.median`, as `pg_proc.prosrc` keeps it. */
const PG_MEDIAN_BODY = ' select percentile_cont(0.5) within group (order by v) from unnest($1) as u(v) ';

/** SQL the adapter runs, when PG_HELPERS_PRESENT_SQL says no, once per connection pool to install the helper functions. */
export const PG_HELPERS_SQL = `create schema if not exists ${PG_HELPER_SCHEMA};
grant usage on schema ${PG_HELPER_SCHEMA} to public;
create or replace function ${PG_HELPER_SCHEMA}.median(double precision[]) returns double precision
  language sql immutable parallel safe
  as $$${PG_MEDIAN_BODY}$$;`;

/**
 * Whether the helper functions are there as PG_HELPERS_SQL makes them: then nothing is created or
 * replaced, and a role that may not (no CREATE on the database, not the function's owner) connects.
 * Read from the catalog by name: to_regprocedure() fails for a role without usage on the schema.
 */
export const PG_HELPERS_PRESENT_SQL = `select coalesce((select p.prosrc = '${PG_MEDIAN_BODY}' from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace where n.nspname = '${PG_HELPER_SCHEMA}' and p.proname = 'median' and p.proargtypes = '1022'::oidvector), false) as ok`;

/** What to add to Postgres' "function vigil_internal.median(...) does not exist" or "permission denied for schema vigil_internal" (the role could not install it, or may not use it). */
export const PG_HELPERS_HINT = `(Vigil installs ${PG_HELPER_SCHEMA}.median when it connects; this connection's role may not create it, or may not use its schema: a role that owns the database, or may create schemas in it, can run once (it lets every role use the schema):\n${PG_HELPERS_SQL})`;
