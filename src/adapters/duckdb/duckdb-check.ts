/**
 * `vigil check` on DuckDB: an in-memory DuckDB holds empty tables created from the declared
 * columns; every model is built into it with the adapter's own statements (so the exact DDL and,
 * for incremental models, the incremental path run too, on no rows), and queries are bound with
 * DESCRIBE, which resolves names and types without running anything.
 */
import { WarehouseError } from '../../errors.js';
import type { MaterializeRequest } from '../adapter.js';
import type { Relation } from '../dialect.js';
import { offlineType, typeFamily } from '../type-family.js';
import type { CheckColumn, Checker, CheckOutcome } from '../warehouse.js';
import { DuckDbAdapter } from './duckdb-adapter.js';

export class DuckDbChecker implements Checker {
  readonly engine = 'an in-memory DuckDB';
  readonly concurrency = 1;
  private constructor(private readonly db: DuckDbAdapter) {}

  static async open(root: string): Promise<DuckDbChecker> {
    return new DuckDbChecker(await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'main' }, root, 1));
  }

  async declare(rel: Relation, columns: CheckColumn[]): Promise<Array<{ column: string; message: string }>> {
    const d = this.db.dialect;
    const problems: Array<{ column: string; message: string }> = [];
    columns = columns.map((c) => ({ ...c, type: offlineType(c.type, this.db.dialect) }));
    for (const c of columns) {
      try {
        await this.db.query(`select cast(null as ${c.type}) as v`);
      } catch (e) {
        problems.push({ column: c.name, message: `'${c.type}' is not a DuckDB type (${(e as Error).message.split('\n')[0]})` });
      }
    }
    if (problems.length) return problems;
    await this.db.ensureSchema(rel.schema);
    await this.db.execute(`create or replace table ${d.relation({ schema: rel.schema, identifier: rel.identifier })} (${columns.map((c) => `${d.quoteIdent(c.name)} ${c.type}`).join(', ')})`);
    return [];
  }

  async query(sql: string): Promise<CheckOutcome> {
    const executed = `describe\n${sql}`;
    try {
      const rows = await this.db.query<{ column_name: string; column_type: string }>(executed);
      return { ok: true, columns: rows.map((r) => ({ name: r.column_name, type: r.column_type })) };
    } catch (e) {
      return outcome(e, executed);
    }
  }

  async statement(sql: string): Promise<CheckOutcome> {
    // prepared: bound (names, types, operators), not run
    const executed = `prepare vigil_check_statement as\n${sql}`;
    try {
      await this.db.execute(executed);
      await this.db.execute('deallocate vigil_check_statement');
    } catch (e) {
      return outcome(e, executed);
    }
    return { ok: true, columns: [] };
  }

  async model(req: MaterializeRequest): Promise<CheckOutcome> {
    const q = await this.query(req.sql);
    if (!q.ok) return q;
    // what `vigil build` runs, on empty inputs: the full build, then (incremental) an update
    const rel = { schema: req.relation.schema, identifier: req.relation.identifier };
    try {
      await this.db.ensureSchema(rel.schema);
      await this.db.materialize({ ...req, relation: rel, fullRefresh: true });
      // (the table is empty, and the adapter fills an empty table from the full query: the next
      // run's query, its is_incremental() branch, is given as the query; none under full_refresh:
      // true, which rebuilds on every run)
      if (req.kind === 'incremental' && !req.fullRefresh) await this.db.materialize({ ...req, relation: rel, fullRefresh: false, sql: req.incrementalSql ?? req.sql });
    } catch (e) {
      return { ...outcome(e, ''), columns: q.columns } as CheckOutcome;
    }
    return q;
  }

  sameType(declared: string, inferred: string): boolean {
    return typeFamily(declared, 'local') === typeFamily(inferred, 'local');
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function outcome(e: unknown, sql: string): CheckOutcome {
  if (e instanceof WarehouseError) return { ok: false, message: e.message.split('\n')[0], sql: e.sql || sql, position: e.position };
  return { ok: false, message: e instanceof Error ? e.message : String(e), sql };
}
