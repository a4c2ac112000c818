/**
 * `vigil check` on Postgres needs the target's server (Postgres has no offline analyzer), and
 * must not get in anyone's way there. Everything happens in one transaction that is always
 * rolled back, in scratch schemas of its own (`vigil_check_<random>_<n>_<schema>` for each schema
 * the project uses): sources become empty tables from their declared columns, models empty tables
 * (`CREATE TABLE ... AS <model> WITH NO DATA`) or views, an incremental model's run on its empty
 * table is the adapter's own (incrementalWrite: staging, on_schema_change, DELETE, INSERT), and
 * queries are PREPAREd, which resolves names and types without running them (their columns are
 * read from a cursor declared for them and never fetched from). The names of the relations made
 * there (sources, seeds, models, snapshots) are pointed at the scratch schemas in the SQL, and error
 * positions and scratch names mapped back. No existing relation of the project is read, replaced or
 * locked (a table the project does not declare, named in a model's SQL, is read as the build
 * reads it); nothing is committed (not even Vigil's helper functions,
 * created in the transaction when the server does not have them yet).
 */
import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import { WarehouseError } from '../../errors.js';
import type { MaterializeRequest } from '../adapter.js';
import { cutToBytes, type Relation } from '../dialect.js';
import { declaredType, typeFamily } from '../type-family.js';
import type { CheckColumn, Checker, CheckOutcome } from '../warehouse.js';
import { dedicatedConnection, helpersInTransaction, incrementalWrite, pgError, PostgresAdapter, underSavepoint } from './postgres-adapter.js';
import type { PostgresTargetConfig } from './postgres-config.js';

/** SQL with some schema names replaced, and the way back from a position in it to one in the original. */
interface Remapped {
  text: string;
  original(pos: { line: number; column?: number }): { line: number; column?: number };
}

export class PostgresChecker implements Checker {
  readonly engine = 'the target Postgres, in scratch schemas of a transaction that is rolled back';
  readonly concurrency = 1;
  private seq = 0;
  private readonly prefix = `vigil_check_${randomBytes(3).toString('hex')}_`;
  /** real schema -> scratch schema */
  private readonly schemas = new Map<string, string>();
  /** real schema -> the relations made in its scratch schema (what `"schema"."name"` is pointed there for) */
  private readonly relations = new Map<string, Set<string>>();

  private constructor(
    private readonly db: PostgresAdapter,
    private readonly c: PoolClient,
  ) {}

  static open(cfg: PostgresTargetConfig): Promise<PostgresChecker> {
    return dedicatedConnection(cfg, 'begin', async (db, c) => {
      await c.query("begin; set local lock_timeout = '3s'");
      // the helpers models call, for this transaction only, when the server does not have them
      // (a role that may not create them checks without them: a model calling one fails, with PG_HELPERS_HINT)
      await helpersInTransaction(c);
      return new PostgresChecker(db, c);
    });
  }

  /** Run `sql` under a savepoint: a failure rolls back only this statement. */
  private async step(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>> {
    return (await underSavepoint(this.c, 'vigil_check', () => this.c.query(sql, params))).rows;
  }

  /** The scratch schema standing for `rel`'s schema (created on first use), where `rel` is made. */
  private async scratch(rel: Relation): Promise<string> {
    const schema = rel.schema;
    if (!this.relations.has(schema)) this.relations.set(schema, new Set());
    this.relations.get(schema)!.add(rel.identifier);
    let s = this.schemas.get(schema);
    if (!s) {
      // (numbered: two long names that share their first characters are two scratch schemas;
      // cut as Postgres cuts it, to 63 bytes at a character's end: the name in its messages is
      // this one, which unscratch() maps back — was: cut at 63 characters, so a multi-byte
      // schema's scratch name was longer than Postgres kept, and its messages named the scratch schema)
      s = cutToBytes(`${this.prefix}${this.schemas.size + 1}_${schema}`, this.db.dialect.maxIdentifierBytes ?? 63);
      await this.step(`create schema ${this.db.dialect.quoteIdent(s)}`);
      this.schemas.set(schema, s);
    }
    return s;
  }

  /** `message` with every scratch schema's name replaced by the schema it stands for. */
  private unscratch(message: string): string {
    for (const [real, s] of [...this.schemas].sort((a, b) => b[1].length - a[1].length)) message = message.replaceAll(s, real);
    return message;
  }

  /**
   * `sql` with `"schema".` of every relation made in a scratch schema pointing at that scratch
   * schema; any other `"x"."y"` is left as written (`"raw"."id"` of a table aliased "raw" is a
   * column, not a relation of the schema raw).
   */
  private remap(sql: string): Remapped {
    const edits: Array<{ at: number; delta: number }> = [];
    let out = '';
    let last = 0;
    for (const m of sql.matchAll(/"((?:[^"]|"")+)"\.(?="((?:[^"]|"")+)")/g)) {
      const schema = m[1].replace(/""/g, '"');
      const scratch = this.schemas.get(schema);
      if (!scratch || !this.relations.get(schema)?.has(m[2].replace(/""/g, '"'))) continue;
      const replacement = `${this.db.dialect.quoteIdent(scratch)}.`;
      out += sql.slice(last, m.index) + replacement;
      edits.push({ at: out.length, delta: replacement.length - m[0].length });
      last = m.index! + m[0].length;
    }
    const text = out + sql.slice(last);
    return {
      text,
      original(pos) {
        const lines = text.split('\n');
        let index = lines.slice(0, pos.line - 1).reduce((n, l) => n + l.length + 1, 0) + (pos.column ?? 1) - 1;
        for (const e of edits) if (e.at <= index) index -= e.delta;
        const before = sql.slice(0, index);
        return { line: before.split('\n').length, column: pos.column === undefined ? undefined : index - before.lastIndexOf('\n') };
      },
    };
  }

  /** Run `original` (remapped to the scratch schemas); a failure comes back positioned in `original`. */
  private async run(original: string): Promise<Array<Record<string, unknown>>> {
    const r = this.remap(original);
    try {
      return await this.step(r.text);
    } catch (e) {
      const w = pgError(e, r.text);
      const message = this.unscratch(w.message.split('\n')[0]);
      throw new WarehouseError(message, original, { cause: e, position: w.position && r.original(w.position) });
    }
  }

  private failure(e: unknown, sql: string): CheckOutcome {
    const w = e instanceof WarehouseError ? e : undefined;
    const message = this.unscratch((w?.message ?? (e as Error).message).split('\n')[0]);
    return { ok: false, message, sql: w?.sql || sql, position: w?.position };
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
    try {
      await this.scratch(rel);
      // declared again (a seed filling a source's table, as vigil build loads it): the later one stands, as on DuckDB
      await this.run(`drop table if exists ${d.relation(rel)}`);
      await this.run(`create table ${d.relation(rel)} (${columns.map((c) => `${d.quoteIdent(c.name)} ${c.type}`).join(', ')})`);
    } catch (e) {
      return [{ column: '', message: this.unscratch((e as Error).message.split('\n')[0]) }];
    }
    return [];
  }

  async query(sql: string): Promise<CheckOutcome> {
    return (await this.prepared(sql)) ?? { ok: true, columns: await this.resultColumns(sql) };
  }

  async statement(sql: string): Promise<CheckOutcome> {
    return (await this.prepared(sql)) ?? { ok: true, columns: [] };
  }

  /** `sql` prepared: planned (names, types, operators), not run; its failure, or undefined. */
  private async prepared(sql: string): Promise<CheckOutcome | undefined> {
    const name = `vigil_check_${++this.seq}`;
    const executed = `prepare ${name} as\n${sql}`;
    try {
      await this.run(executed);
      await this.step(`deallocate ${name}`);
    } catch (e) {
      return this.failure(e, executed);
    }
    return undefined;
  }

  /**
   * The columns `sql` returns: a cursor declared for it (planned, not run) and a FETCH of no row
   * describe them. None when the cursor cannot be declared (an error only the planner raises,
   * as 1/0 folded: the PREPARE above is what the check reports).
   */
  private async resultColumns(sql: string): Promise<CheckColumn[]> {
    const cursor = `vigil_check_${++this.seq}`;
    await this.c.query('savepoint vigil_check');
    try {
      await this.c.query(`declare ${cursor} no scroll cursor for\n${this.remap(sql).text}`);
      const { fields } = await this.c.query(`fetch forward 0 from ${cursor}`);
      const types = await this.c.query('select format_type(t.oid, t.mod) as type from unnest(cast($1 as oid[]), cast($2 as int[])) with ordinality as t(oid, mod, i) order by t.i', [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)]);
      await this.c.query('rollback to savepoint vigil_check');
      return fields.map((f, i) => ({ name: f.name, type: String(types.rows[i].type) }));
    } catch {
      await this.c.query('rollback to savepoint vigil_check');
      return [];
    }
  }

  async model(req: MaterializeRequest): Promise<CheckOutcome> {
    const d = this.db.dialect;
    const rel = d.relation(req.relation);
    const create = req.kind === 'view' ? d.createView(req.relation, req.sql) : `${d.createTableAs(req.relation, req.sql)}\nwith no data`;
    try {
      await this.scratch(req.relation);
      await this.run(create);
    } catch (e) {
      return this.failure(e, create);
    }
    if (req.kind === 'incremental' && !req.fullRefresh) {
      // the next run, on the empty table: what `vigil build` sends then (the incremental SELECT,
      // unique_key / partition_by in the DELETE, on_schema_change); none under full_refresh: true,
      // which rebuilds on every run
      let last = '';
      const run = (sql: string) => ((last = sql), this.run(sql));
      const io = { run: async (sql: string) => (await run(sql)).length, rows: run, columns: async (r: string) => (await this.step(COLUMNS_SQL, [this.remap(r).text])) as Array<{ name: string; type: string }> };
      try {
        await incrementalWrite(io, { ...req, fullRefresh: false }, rel, d.quoteIdent(`__vigil_check_incr_${++this.seq}`), req.incrementalSql ?? req.sql);
      } catch (e) {
        return this.failure(e, last);
      }
    }
    const scratchRel = d.relation({ ...req.relation, schema: this.schemas.get(req.relation.schema)! });
    const cols = await this.step(COLUMNS_SQL, [scratchRel]);
    return { ok: true, columns: cols.map((r) => ({ name: String(r.name), type: String(r.type) })) };
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

/** A relation's columns ($1, as SQL names it) with their types as Postgres spells them. */
const COLUMNS_SQL = 'select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum';
