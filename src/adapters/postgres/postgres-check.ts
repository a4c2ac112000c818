/**
 * `vigil check` on Postgres needs the target's server (Postgres has no offline analyzer): one
 * transaction that is always rolled back. Sources and models become empty relations inside it
 * (`CREATE TABLE ... (declared columns)`, `CREATE TABLE ... AS <model> WITH NO DATA`, views), and
 * queries are PREPAREd, which resolves names and types without running them. Replacing a
 * relation that exists takes its lock until the rollback: `lock_timeout` keeps that short, and a
 * busy relation is reported instead of waited for. Nothing is committed.
 */
import type { PoolClient } from 'pg';
import { WarehouseError } from '../../errors.js';
import type { MaterializeRequest } from '../adapter.js';
import type { Relation } from '../dialect.js';
import { declaredType, typeFamily } from '../type-family.js';
import type { CheckColumn, Checker, CheckOutcome } from '../warehouse.js';
import { pgError, PostgresAdapter } from './postgres-adapter.js';
import type { PostgresTargetConfig } from './postgres-config.js';

export class PostgresChecker implements Checker {
  readonly engine = 'the target Postgres, in a transaction that is rolled back';
  readonly concurrency = 1;
  private seq = 0;
  private constructor(
    private readonly db: PostgresAdapter,
    private readonly c: PoolClient,
  ) {}

  static async open(cfg: PostgresTargetConfig): Promise<PostgresChecker> {
    const db = await PostgresAdapter.open(cfg, 1);
    const c = await db.pool.connect();
    await c.query("begin; set local lock_timeout = '3s'");
    return new PostgresChecker(db, c);
  }

  /** Run `sql` under a savepoint: a failure rolls back only this statement. */
  private async step(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>> {
    await this.c.query('savepoint vigil_check');
    try {
      const r = await this.c.query(sql, params);
      await this.c.query('release savepoint vigil_check');
      return r.rows;
    } catch (e) {
      await this.c.query('rollback to savepoint vigil_check');
      throw e;
    }
  }

  private async columnsOf(rel: string): Promise<CheckColumn[]> {
    const rows = await this.step('select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a where a.attrelid = cast($1 as regclass) and a.attnum > 0 and not a.attisdropped order by a.attnum', [rel]);
    return rows.map((r) => ({ name: String(r.name), type: String(r.type) }));
  }

  private async replace(rel: Relation, create: string): Promise<void> {
    const d = this.db.dialect;
    const name = d.relation(rel);
    await this.step(d.createSchema(rel.schema));
    const kind = (await this.step('select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2', [rel.schema, rel.identifier]))[0]?.relkind;
    if (kind) await this.step(`drop ${kind === 'v' ? 'view' : kind === 'm' ? 'materialized view' : 'table'} ${name} cascade`);
    await this.step(create);
  }

  private failure(e: unknown, sql: string): CheckOutcome {
    const w = e instanceof WarehouseError ? e : undefined;
    const message = (w?.message ?? (e as Error).message).split('\n')[0];
    if (/lock timeout|canceling statement due to lock timeout/i.test(message)) return { ok: false, message: `a relation it replaces is in use (${message}); run vigil check against a target nobody reads while it runs`, sql };
    return { ok: false, message, sql: w?.sql || sql, position: w?.position };
  }

  private async run(sql: string): Promise<void> {
    try {
      await this.step(sql);
    } catch (e) {
      throw pgError(e, sql);
    }
  }

  async declare(rel: Relation, columns: CheckColumn[]): Promise<Array<{ column: string; message: string }>> {
    const problems: Array<{ column: string; message: string }> = [];
    columns = columns.map((c) => ({ ...c, type: declaredType(c.type, this.db.dialect, 'local') }));
    for (const c of columns) {
      try {
        await this.step(`select cast(null as ${c.type}) as v`);
      } catch (e) {
        problems.push({ column: c.name, message: `'${c.type}' is not a Postgres type (${(e as Error).message.split('\n')[0]})` });
      }
    }
    if (problems.length) return problems;
    const d = this.db.dialect;
    await this.replace(rel, `create table ${d.relation(rel)} (${columns.map((c) => `${d.quoteIdent(c.name)} ${c.type}`).join(', ')})`);
    return [];
  }

  async query(sql: string): Promise<CheckOutcome> {
    const name = `vigil_check_${++this.seq}`;
    const executed = `prepare ${name} as\n${sql}`;
    try {
      await this.run(executed);
      await this.step(`deallocate ${name}`);
      return { ok: true, columns: [] };
    } catch (e) {
      return this.failure(e, executed);
    }
  }

  async model(req: MaterializeRequest): Promise<CheckOutcome> {
    const d = this.db.dialect;
    const rel = d.relation(req.relation);
    const create = req.kind === 'view' ? `create view ${rel} as\n${req.sql}` : `create table ${rel} as\n${req.sql}\nwith no data`;
    try {
      await this.replace(req.relation, create);
    } catch (e) {
      return this.failure(pgError(e, create), create);
    }
    if (req.kind === 'incremental' && req.incrementalSql) {
      const inc = await this.query(req.incrementalSql);
      if (!inc.ok) return inc;
    }
    return { ok: true, columns: await this.columnsOf(rel) };
  }

  sameType(declared: string, inferred: string): boolean {
    return typeFamily(declared, 'local') === typeFamily(inferred, 'local');
  }

  async close(): Promise<void> {
    await this.c.query('rollback').catch(() => undefined);
    this.c.release();
    await this.db.close();
  }
}
