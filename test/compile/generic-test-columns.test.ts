/**
 * A generic test's column named like a key word of one of the warehouses is quoted in its SQL,
 * in that warehouse's spelling; other names are written as the YAML has them.
 */
import { describe, expect, it } from 'vitest';
import { genericTestSql } from '../../src/compile/generic-tests.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { postgresDialect } from '../../src/adapters/postgres/postgres-dialect.js';

const notNull = (column: string, dialect: typeof duckDbDialect) => genericTestSql({ test: 'not_null', relation: 't0', column, args: {}, dialect } as never);

describe('generic test columns named like key words', () => {
  it("are quoted: Postgres' user, DuckDB's at, BigQuery's hash, range and rows (were: where hash is null, a syntax error on BigQuery)", () => {
    for (const [column, dialect, quoted] of [
      ['user', postgresDialect, '"user"'],
      ['at', duckDbDialect, '"at"'],
      ['hash', bigQueryDialect, '`hash`'],
      ['range', bigQueryDialect, '`range`'],
      ['rows', bigQueryDialect, '`rows`'],
    ] as const) {
      expect(notNull(column, dialect), `${column} on ${dialect.name}`).toMatch(new RegExp(`where ${quoted.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')} is null$`));
    }
    // an ordinary name, or an expression, as written
    expect(notNull('amount', bigQueryDialect)).toMatch(/where amount is null$/);
    expect(notNull('ID', postgresDialect)).toMatch(/where ID is null$/);
  });
});
