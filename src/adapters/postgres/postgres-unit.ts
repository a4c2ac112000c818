/**
 * Unit tests of models on the target Postgres, as dbt runs them on the warehouse: one connection,
 * each test in a transaction that is always rolled back. The tests' given rows are CTEs of the
 * compiled query, so nothing is created; Vigil's helper functions, when the server does not have
 * them yet, are created inside that transaction and rolled back with it. Each statement runs under
 * a savepoint: a failing one (a given that does not cast) leaves the test's next statements able
 * to run.
 */
import type { PoolClient } from 'pg';
import type { UnitResultSet, UnitSession } from '../warehouse.js';
import { dedicatedConnection, helpersInTransaction, pgError, PostgresAdapter, underSavepoint } from './postgres-adapter.js';
import type { PostgresTargetConfig } from './postgres-config.js';
import { PG_HELPER_SCHEMA, PG_HELPERS_PRESENT_SQL } from './postgres-dialect.js';

/** bool, int2, int4, oid, float4, float8: parsed; every other value as the server spells it (exact numbers, ISO times in UTC). */
function parse(oid: number): (v: string) => unknown {
  if (oid === 16) return (v) => v === 't';
  if (oid === 21 || oid === 23 || oid === 26) return Number;
  // (NaN and the infinities as text, as DuckDB's JSON has them)
  if (oid === 700 || oid === 701) return (v) => (Number.isFinite(Number(v)) ? Number(v) : v);
  return (v) => v;
}

export class PostgresUnitSession implements UnitSession {
  readonly engine = 'the target Postgres (in a transaction rolled back after each test)';
  private seq = 0;
  /** format_type of (oid, typmod), asked of the server once each */
  private readonly typeNames = new Map<string, string>();

  private constructor(
    private readonly db: PostgresAdapter,
    private readonly c: PoolClient,
    private readonly helpersPresent: boolean,
  ) {}

  static open(cfg: PostgresTargetConfig): Promise<PostgresUnitSession> {
    return dedicatedConnection(cfg, PG_HELPERS_PRESENT_SQL, async (db, c) => new PostgresUnitSession(db, c, Boolean((await c.query(PG_HELPERS_PRESENT_SQL)).rows[0]?.ok)));
  }

  async isolated<T>(fn: () => Promise<T>): Promise<T> {
    await this.c.query('begin');
    try {
      if (!this.helpersPresent) await helpersInTransaction(this.c);
      return await fn();
    } finally {
      await this.c.query('rollback');
    }
  }

  /** `sql` under a savepoint of its own: a failure rolls back only this statement. */
  private async step<R>(sql: string, run: () => Promise<R>): Promise<R> {
    try {
      return await underSavepoint(this.c, `vigil_unit_${++this.seq}`, run);
    } catch (e) {
      const err = pgError(e, sql);
      // (a test reports its error's first line: the helpers' hint said there, in short)
      if (err.message.includes(PG_HELPER_SCHEMA) && err.message.includes('(Vigil installs')) {
        err.message = err.message.replace(/\n|$/, ` — Vigil's helper functions are not on this server and this role may not create them: \`vigil build\` on this target says how to install them once\n`);
      }
      throw err;
    }
  }

  async query(sql: string): Promise<UnitResultSet> {
    const r = await this.step(sql, () => this.c.query({ text: sql, rowMode: 'array', types: { getTypeParser: parse } as never }));
    const names = r.fields.map((f) => f.name);
    const rows = (r.rows as unknown[][]).map((values) => Object.fromEntries(names.map((n, i) => [n, values[i]])));
    return { names, types: await this.typesOf(r.fields), rows };
  }

  /** Each column's type as `format_type` writes it (`numeric(10,2)`, `timestamp with time zone`, `text[]`). */
  private async typesOf(fields: Array<{ dataTypeID: number; dataTypeModifier: number }>): Promise<string[]> {
    const key = (f: { dataTypeID: number; dataTypeModifier: number }) => `${f.dataTypeID}:${f.dataTypeModifier}`;
    const missing = [...new Map(fields.filter((f) => !this.typeNames.has(key(f))).map((f) => [key(f), f])).values()];
    if (missing.length) {
      const sql = 'select format_type(o, nullif(m, -1)) as t from unnest(cast($1 as oid[]), cast($2 as int[])) with ordinality as u(o, m, i) order by i';
      const r = await this.step(sql, () => this.c.query(sql, [missing.map((f) => f.dataTypeID), missing.map((f) => f.dataTypeModifier)]));
      missing.forEach((f, i) => this.typeNames.set(key(f), String(r.rows[i].t)));
    }
    return fields.map((f) => this.typeNames.get(key(f))!);
  }

  async columnsOf(sql: string): Promise<string[] | undefined> {
    const bound = `select * from (\n${sql}\n) as __vigil_bound limit 0`;
    return this.step(bound, () => this.c.query(bound)).then(
      (r) => r.fields.map((f) => f.name),
      () => undefined,
    );
  }

  async castError(value: string, type: string): Promise<string | undefined> {
    const sql = `select cast(${value} as ${type})`;
    return this.step(sql, () => this.c.query(sql)).then(
      () => undefined,
      (e: unknown) => (e as Error).message.split('\n')[0],
    );
  }

  async close(): Promise<void> {
    this.c.release();
    await this.db.close();
  }
}
