/**
 * Registry of the pure SQL dialects, by target type. Importing this never loads a
 * database driver: the compiler uses it to render models for any warehouse.
 */
import type { Dialect } from './dialect.js';
import { duckDbDialect } from './duckdb/duckdb-dialect.js';
import { postgresDialect } from './postgres/postgres-dialect.js';
import { bigQueryDialect } from './bigquery/bigquery-dialect.js';

/** Target types a project may name. Adapters not yet built are reported when used. */
export const KNOWN_ADAPTERS = ['duckdb', 'postgres', 'bigquery'];

const DIALECTS: Partial<Record<Dialect['name'], Dialect>> = { duckdb: duckDbDialect, postgres: postgresDialect, bigquery: bigQueryDialect };

export function getDialect(name: Dialect['name']): Dialect {
  return DIALECTS[name] ?? duckDbDialect;
}

export function hasDialect(name: string): boolean {
  return name in DIALECTS;
}
