/**
 * The kind of value a SQL type holds, whatever its spelling: `bigint`, `INT64` and `integer`
 * are all `int`; `timestamptz` and BigQuery's `TIMESTAMP` an `instant`; DuckDB's `timestamp`
 * and BigQuery's `DATETIME` a `local` date-time. Contracts (declared column types against the
 * types a checker infers) compare kinds, not widths: a count declared `integer` that comes
 * out `BIGINT` is fine, a `varchar` that comes out `DOUBLE` is not.
 */
import type { CanonicalType, Dialect } from './dialect.js';

export type TypeFamily = string;

/**
 * `bareTimestamp`: what a plain `timestamp` means in the vocabulary being read — BigQuery's
 * TIMESTAMP is an instant, DuckDB's and Postgres' `timestamp` has no time zone.
 */
export function typeFamily(type: string, bareTimestamp: 'instant' | 'local'): TypeFamily {
  // (once per spelling: a unit test's givens ask it for every cell)
  const key = `${bareTimestamp}:${type}`;
  let family = families.get(key);
  if (family === undefined) {
    if (families.size >= 5000) families.clear();
    families.set(key, (family = familyOf(type, bareTimestamp)));
  }
  return family;
}
const families = new Map<string, TypeFamily>();

function familyOf(type: string, bareTimestamp: 'instant' | 'local'): TypeFamily {
  const t = type.trim().toLowerCase().replace(/\s+/g, ' ');
  const array = /^array\s*<(.*)>$/.exec(t) ?? /^(.*)\[\]$/.exec(t);
  if (array) return `array<${typeFamily(array[1], bareTimestamp)}>`;
  if (/^(struct|row|record)\b/.test(t)) return 'struct';
  // without its parameters: numeric(10, 2), timestamp(3) with time zone
  const base = t.replace(/\s*\([^)]*\)/, '').trim();
  if (/^(tinyint|smallint|int|integer|bigint|hugeint|int2|int4|int8|int16|int32|int64|byteint|long|short|signed|serial|bigserial|utinyint|usmallint|uinteger|ubigint|uhugeint)$/.test(base)) return 'int';
  if (/^(double|double precision|float|float4|float8|float32|float64|real)$/.test(base)) return 'float';
  if (/^(numeric|decimal|bignumeric|bigdecimal|number)$/.test(base)) return 'numeric';
  if (/^(varchar|text|string|char|character|character varying|bpchar|nvarchar|name|citext)$/.test(base)) return 'string';
  if (/^(bool|boolean|logical)$/.test(base)) return 'bool';
  if (base === 'date') return 'date';
  if (/^(timestamptz|timestamp with time zone|timestamp_tz)$/.test(base)) return 'instant';
  if (/^(datetime|timestamp without time zone|timestamp_ns|timestamp_ms|timestamp_s)$/.test(base)) return 'local';
  if (base === 'timestamp') return bareTimestamp;
  if (/^(time|time without time zone|timetz|time with time zone)$/.test(base)) return 'time';
  if (/^(json|jsonb)$/.test(base)) return 'json';
  if (/^(bytes|blob|bytea|binary|varbinary)$/.test(base)) return 'bytes';
  if (base === 'interval') return 'interval';
  if (base === 'uuid') return 'uuid';
  if (/^(inet|cidr)$/.test(base)) return 'inet';
  return base;
}

/**
 * The length a text type declares — `varchar(32)`, `character varying(10)`, `char(3)`,
 * `bpchar(3)`, `nvarchar(5)`, BigQuery's `string(5)` — as a count of characters; undefined for any
 * other type (text without a length, or not text).
 */
export function textLength(type: string): number | undefined {
  const m = /^\s*(?:varchar|nvarchar|char|bpchar|character(?:\s+varying)?|string)\s*\(\s*(\d+)\s*\)\s*$/i.exec(type);
  return m ? Number(m[1]) : undefined;
}

/**
 * The digits of a second a date-time type keeps: DuckDB's TIMESTAMP_S / _MS / _NS 0, 3, 9; a
 * precision written (`timestamp(3)`, `time(0)`, `timestamptz(3)`) that many; else microseconds, 6.
 */
export function secondDigits(type: string): number {
  return /_ns\b/i.test(type) ? 9 : /_ms\b/i.test(type) ? 3 : /_s\b/i.test(type) ? 0 : Number(/\(\s*(\d+)\s*\)/.exec(type)?.[1] ?? 6);
}

const CANONICAL_OF: Record<string, CanonicalType> = { int: 'int', float: 'float', string: 'string', bool: 'bool', instant: 'timestamp', date: 'date', json: 'json' };

/**
 * A declared column type in `dialect`'s spelling: the common kinds through `Dialect.type`
 * (so `double` is `double precision` on Postgres, `INT64` is `BIGINT` on DuckDB), anything
 * else as written (the warehouse says whether it knows it).
 */
export function declaredType(declared: string, dialect: Pick<Dialect, 'type'>, bareTimestamp: 'instant' | 'local'): string {
  const canonical = CANONICAL_OF[typeFamily(declared, bareTimestamp)];
  return canonical ? dialect.type(canonical) : declared;
}

/**
 * A declared column type as the offline engine (DuckDB, `dialect`) creates it: the common kinds
 * in its spelling (`declaredType`: jsonb is JSON), Postgres' inet and cidr — which DuckDB has no
 * built-in type for and `vigil sync` lands as text — as VARCHAR, anything else as written. Used
 * where DuckDB stands in for the target (`vigil check` on DuckDB, unit tests).
 */
export function offlineType(declared: string, dialect: Pick<Dialect, 'type'>): string {
  return typeFamily(declared, 'local') === 'inet' ? 'VARCHAR' : declaredType(declared, dialect, 'local');
}
