/**
 * The warehouse side of `vigil sync`: create the raw table and the state table, and apply a
 * batch — stage the CSV, replace rows by primary key, and move the stream's cursor — in ONE
 * transaction, so a crash at any moment leaves either the whole batch with its cursor or
 * neither. DuckDB, Postgres and BigQuery targets.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Adapter } from '../adapters/adapter.js';
import { literalStandard, type Relation } from '../adapters/dialect.js';
import { DuckDbAdapter } from '../adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter, pgError } from '../adapters/postgres/postgres-adapter.js';
import { BigQueryAdapter, bqError } from '../adapters/bigquery/bigquery-adapter.js';
import { WarehouseError } from '../errors.js';

export interface SyncColumn {
  name: string;
  /** Postgres type as format_type() prints it */
  pgType: string;
}

export interface StreamState {
  stream: string;
  cursor_value: string | null;
  cursor_id: string | null;
  rows_synced: number;
  last_synced_at: string | null;
  source_max_cursor: string | null;
  last_status: string | null;
  last_error: string | null;
  consecutive_failures: number;
}

export interface BatchInfo {
  rows: number;
  /** the last row's cursor (text, exact) and primary key (text; JSON array for composite keys) */
  lastCursor: string | null;
  lastId: string | null;
}

export const STATE_TABLE = 'vigil_sync_state';

/** Map a Postgres column type to the warehouse's. */
export function duckType(pgType: string): string {
  const t = pgType.toLowerCase();
  if (t === 'bigint') return 'BIGINT';
  if (t === 'integer') return 'INTEGER';
  if (t === 'smallint') return 'SMALLINT';
  if (t === 'double precision') return 'DOUBLE';
  if (t === 'real') return 'FLOAT';
  if (t.startsWith('numeric')) return t.includes('(') ? t.replace('numeric', 'DECIMAL').toUpperCase() : 'DOUBLE';
  if (t === 'boolean') return 'BOOLEAN';
  if (t === 'json' || t === 'jsonb') return 'JSON';
  if (t === 'timestamp with time zone') return 'TIMESTAMPTZ';
  if (t.startsWith('timestamp')) return 'TIMESTAMP';
  if (t === 'date') return 'DATE';
  return 'VARCHAR';
}

export interface SyncWriter {
  /** The state table alone: failures are recorded even when the source cannot be read. */
  ensureState(schema: string): Promise<void>;
  ensureTables(rel: Relation, columns: SyncColumn[]): Promise<void>;
  readState(stateRel: Relation, stream: string): Promise<StreamState | undefined>;
  /** Whether the table holds any row (an empty one needs no replacing). */
  hasRows(rel: Relation): Promise<boolean>;
  /** Stage `csvFile`, delete (when `replace`) + insert by `pk`, update the stream's state: one transaction. */
  applyBatch(rel: Relation, columns: SyncColumn[], csvFile: string, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: BatchInfo): Promise<BatchInfo>;
  recordRun(stateRel: Relation, stream: string, status: 'success' | 'error', error: string | null, sourceMax: string | null): Promise<void>;
  /** --full-refresh: empty the table and forget the stream's cursor, in one transaction. */
  reset(rel: Relation, stateRel: Relation, stream: string): Promise<void>;
}

const STATE_COLUMNS = `stream varchar primary key, cursor_value timestamptz, cursor_id varchar, rows_synced bigint not null default 0,
  last_synced_at timestamptz, source_max_cursor timestamptz, last_status varchar, last_error varchar, consecutive_failures integer not null default 0,
  last_run_rows bigint, last_run_at timestamptz`;

const lit = literalStandard;

/** What both warehouses spell the same: the state table and the questions asked of it. */
abstract class StandardSyncWriter implements SyncWriter {
  constructor(protected readonly db: Adapter) {}

  /** The warehouse type of a source column. */
  protected abstract columnType(c: SyncColumn): string;
  abstract applyBatch(rel: Relation, columns: SyncColumn[], csvFile: string, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: BatchInfo): Promise<BatchInfo>;
  abstract reset(rel: Relation, stateRel: Relation, stream: string): Promise<void>;

  async ensureState(schema: string): Promise<void> {
    await this.db.ensureSchema(schema);
    await this.db.execute(`create table if not exists ${this.db.dialect.relation({ schema, identifier: STATE_TABLE })} (${STATE_COLUMNS})`);
  }

  async ensureTables(rel: Relation, columns: SyncColumn[]): Promise<void> {
    const d = this.db.dialect;
    await this.ensureState(rel.schema);
    await this.db.execute(`create table if not exists ${d.relation(rel)} (${columns.map((c) => `${d.quoteIdent(c.name)} ${this.columnType(c)}`).join(', ')})`);
  }

  async readState(stateRel: Relation, stream: string): Promise<StreamState | undefined> {
    const rows = await this.db.query<Record<string, unknown>>(
      `select stream, cast(cursor_value as varchar) as cursor_value, cursor_id, rows_synced, cast(last_synced_at as varchar) as last_synced_at, cast(source_max_cursor as varchar) as source_max_cursor, last_status, last_error, consecutive_failures from ${this.db.dialect.relation(stateRel)} where stream = ${lit(stream)}`,
    );
    return rows[0] ? normalizeState(rows[0]) : undefined;
  }

  async hasRows(rel: Relation): Promise<boolean> {
    return (await this.db.query(`select 1 from ${this.db.dialect.relation(rel)} limit 1`)).length > 0;
  }

  async recordRun(stateRel: Relation, stream: string, status: 'success' | 'error', error: string | null, sourceMax: string | null): Promise<void> {
    const s = this.db.dialect.relation(stateRel);
    const failures = status === 'error' ? `${s}.consecutive_failures + 1` : '0';
    await this.db.execute(
      `insert into ${s} (stream, last_status, last_error, consecutive_failures, last_run_at, last_synced_at, source_max_cursor) values (${lit(stream)}, '${status}', ${lit(error)}, ${status === 'error' ? 1 : 0}, now(), ${status === 'success' ? 'now()' : 'NULL'}, ${lit(sourceMax)})
       on conflict (stream) do update set last_status = excluded.last_status, last_error = excluded.last_error, consecutive_failures = ${failures},
         last_run_at = excluded.last_run_at, last_synced_at = coalesce(excluded.last_synced_at, ${s}.last_synced_at), source_max_cursor = coalesce(excluded.source_max_cursor, ${s}.source_max_cursor)`,
    );
  }
}

class DuckDbSyncWriter extends StandardSyncWriter {
  private tuned = false;
  constructor(protected readonly db: DuckDbAdapter) {
    super(db);
  }

  protected columnType(c: SyncColumn): string {
    return duckType(c.pgType);
  }

  async applyBatch(rel: Relation, columns: SyncColumn[], csvFile: string, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: BatchInfo): Promise<BatchInfo> {
    const d = this.db.dialect;
    const q = (s: string) => d.quoteIdent(s);
    const target = d.relation(rel);
    const colSpec = `{${columns.map((c) => `'${c.name.replace(/'/g, "''")}': '${duckType(c.pgType)}'`).join(', ')}}`;
    const csv = `read_csv(${lit(csvFile)}, header = false, auto_detect = false, columns = ${colSpec}, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false)`;
    const cols = columns.map((x) => q(x.name)).join(', ');
    return this.db.withConnection(async (c) => {
      const run = async (sql: string) => {
        try {
          return await c.run(sql);
        } catch (e) {
          throw new WarehouseError(e instanceof Error ? e.message : String(e), sql, { cause: e });
        }
      };
      if (!this.tuned) {
        // bound DuckDB's buffer pool during a sync: batches stream through, nothing needs to stay cached
        await run("set memory_limit = '256MB'");
        this.tuned = true;
      }
      await run('begin transaction');
      try {
        let inserted: number;
        if (replace) {
          await run(`create or replace temp table __vigil_stage as select * from ${csv}`);
          const keys = pk.map(q);
          const tuple = keys.length === 1 ? keys[0] : `(${keys.join(', ')})`;
          await run(`delete from ${target} where ${tuple} in (select ${keys.join(', ')} from __vigil_stage)`);
          inserted = (await run(`insert into ${target} (${cols}) select ${cols} from __vigil_stage`)).rowsChanged;
          await run('drop table __vigil_stage');
        } else {
          // nothing to replace: straight from the file into the table
          inserted = (await run(`insert into ${target} (${cols}) select ${cols} from ${csv}`)).rowsChanged;
        }
        if (inserted !== batch.rows) throw new WarehouseError(`batch of ${batch.rows} rows from the source loaded ${inserted} rows; nothing was committed`, '');
        await run(
          `insert into ${d.relation(stateRel)} (stream, cursor_value, cursor_id, rows_synced, last_synced_at, source_max_cursor, last_status, last_error, consecutive_failures, last_run_rows, last_run_at)
           values (${lit(stream)}, ${lit(batch.lastCursor)}, ${lit(batch.lastId)}, ${batch.rows}, now(), ${lit(sourceMax)}, 'running', null, 0, ${batch.rows}, now())
           on conflict (stream) do update set cursor_value = excluded.cursor_value, cursor_id = excluded.cursor_id,
             rows_synced = ${d.relation(stateRel)}.rows_synced + excluded.rows_synced, last_synced_at = excluded.last_synced_at,
             source_max_cursor = excluded.source_max_cursor, last_status = 'running'`,
        );
        await run('commit');
        return batch;
      } catch (e) {
        await c.run('rollback').catch(() => undefined);
        throw e;
      }
    });
  }

  async reset(rel: Relation, stateRel: Relation, stream: string): Promise<void> {
    await this.db.withConnection(async (c) => {
      await c.run('begin transaction');
      try {
        await c.run(`delete from ${this.db.dialect.relation(rel)}`);
        await c.run(`update ${this.db.dialect.relation(stateRel)} set cursor_value = null, cursor_id = null, rows_synced = 0 where stream = ${lit(stream)}`);
        await c.run('commit');
      } catch (e) {
        await c.run('rollback').catch(() => undefined);
        throw new WarehouseError((e as Error).message, 'reset', { cause: e });
      }
    });
  }
}

class PostgresSyncWriter extends StandardSyncWriter {
  constructor(protected readonly db: PostgresAdapter) {
    super(db);
  }

  protected columnType(c: SyncColumn): string {
    return c.pgType;
  }

  async applyBatch(rel: Relation, columns: SyncColumn[], csvFile: string, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: BatchInfo): Promise<BatchInfo> {
    const { from: copyFrom } = await import('pg-copy-streams');
    const d = this.db.dialect;
    const q = (s: string) => d.quoteIdent(s);
    const target = d.relation(rel);
    const cols = columns.map((x) => q(x.name)).join(', ');
    const client = await this.db.pool.connect();
    const run = async (sql: string) => {
      try {
        return await client.query(sql);
      } catch (e) {
        throw pgError(e, sql);
      }
    };
    const copyInto = async (rel: string) => {
      try {
        const stream = client.query(copyFrom(`copy ${rel} (${cols}) from stdin with (format csv)`));
        await pipeline(createReadStream(csvFile), stream);
        return Number((stream as unknown as { rowCount: number }).rowCount ?? 0);
      } catch (e) {
        throw pgError(e, `copy ${rel} from stdin`);
      }
    };
    try {
      await run('begin');
      try {
        let inserted: number;
        if (replace) {
          await run(`create temp table __vigil_stage (like ${target}) on commit drop`);
          await copyInto('__vigil_stage');
          const keys = pk.map(q);
          await run(`delete from ${target} as t using __vigil_stage as s where ${keys.map((k) => `t.${k} = s.${k}`).join(' and ')}`);
          inserted = (await run(`insert into ${target} (${cols}) select ${cols} from __vigil_stage`)).rowCount ?? 0;
        } else inserted = await copyInto(target);
        if (inserted !== batch.rows) throw new WarehouseError(`batch of ${batch.rows} rows from the source loaded ${inserted} rows; nothing was committed`, '');
        const s = d.relation(stateRel);
        await run(
          `insert into ${s} (stream, cursor_value, cursor_id, rows_synced, last_synced_at, source_max_cursor, last_status, consecutive_failures, last_run_rows, last_run_at)
           values (${lit(stream)}, ${lit(batch.lastCursor)}, ${lit(batch.lastId)}, ${batch.rows}, now(), ${lit(sourceMax)}, 'running', 0, ${batch.rows}, now())
           on conflict (stream) do update set cursor_value = excluded.cursor_value, cursor_id = excluded.cursor_id, rows_synced = ${s}.rows_synced + excluded.rows_synced,
             last_synced_at = excluded.last_synced_at, source_max_cursor = excluded.source_max_cursor, last_status = 'running'`,
        );
        await run('commit');
        return batch;
      } catch (e) {
        await client.query('rollback').catch(() => undefined);
        throw e;
      }
    } finally {
      client.release();
    }
  }

  async reset(rel: Relation, stateRel: Relation, stream: string): Promise<void> {
    await this.db.execute(`begin; delete from ${this.db.dialect.relation(rel)}; update ${this.db.dialect.relation(stateRel)} set cursor_value = null, cursor_id = null, rows_synced = 0 where stream = ${lit(stream)}; commit;`);
  }
}

function normalizeState(r: Record<string, unknown>): StreamState {
  return {
    stream: String(r.stream),
    cursor_value: (r.cursor_value as string | null) ?? null,
    cursor_id: (r.cursor_id as string | null) ?? null,
    rows_synced: Number(r.rows_synced ?? 0),
    last_synced_at: (r.last_synced_at as string | null) ?? null,
    source_max_cursor: (r.source_max_cursor as string | null) ?? null,
    last_status: (r.last_status as string | null) ?? null,
    last_error: (r.last_error as string | null) ?? null,
    consecutive_failures: Number(r.consecutive_failures ?? 0),
  };
}

/** Map a Postgres column type to BigQuery's. */
export function bigQueryType(pgType: string): string {
  const t = pgType.toLowerCase();
  if (t === 'bigint' || t === 'integer' || t === 'smallint') return 'INT64';
  if (t === 'double precision' || t === 'real') return 'FLOAT64';
  if (t.startsWith('numeric')) return 'NUMERIC';
  if (t === 'boolean') return 'BOOL';
  if (t === 'json' || t === 'jsonb') return 'JSON';
  if (t === 'timestamp with time zone') return 'TIMESTAMP';
  if (t.startsWith('timestamp')) return 'DATETIME';
  if (t === 'date') return 'DATE';
  return 'STRING';
}

/**
 * BigQuery: each batch is a CSV load job into `<table>__vigil_stage` (WRITE_TRUNCATE), then ONE
 * multi-statement transaction merges it into the table by primary key and moves the cursor.
 * A crash between the load and the transaction leaves only the stage, which the rerun replaces.
 */
class BigQuerySyncWriter implements SyncWriter {
  constructor(private readonly db: BigQueryAdapter) {}

  private rel(r: Relation): string {
    return this.db.dialect.relation({ database: this.db.cfg.project, ...r });
  }

  async ensureState(schema: string): Promise<void> {
    await this.db.ensureSchema(schema);
    await this.db.execute(
      `CREATE TABLE IF NOT EXISTS ${this.rel({ schema, identifier: STATE_TABLE })} (stream STRING NOT NULL, cursor_value TIMESTAMP, cursor_id STRING, rows_synced INT64, last_synced_at TIMESTAMP, source_max_cursor TIMESTAMP, last_status STRING, last_error STRING, consecutive_failures INT64, last_run_rows INT64, last_run_at TIMESTAMP)`,
    );
  }

  async ensureTables(rel: Relation, columns: SyncColumn[]): Promise<void> {
    await this.ensureState(rel.schema);
    await this.db.execute(`CREATE TABLE IF NOT EXISTS ${this.rel(rel)} (${columns.map((c) => `${this.db.dialect.quoteIdent(c.name)} ${bigQueryType(c.pgType)}`).join(', ')})`);
  }

  async readState(stateRel: Relation, stream: string): Promise<StreamState | undefined> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT stream, CAST(cursor_value AS STRING) AS cursor_value, cursor_id, rows_synced, CAST(last_synced_at AS STRING) AS last_synced_at, CAST(source_max_cursor AS STRING) AS source_max_cursor, last_status, last_error, consecutive_failures FROM ${this.rel(stateRel)} WHERE stream = ${this.db.dialect.literal(stream)}`,
    );
    return rows[0] ? normalizeState(rows[0]) : undefined;
  }

  async hasRows(rel: Relation): Promise<boolean> {
    return (await this.db.query(`SELECT 1 AS one FROM ${this.rel(rel)} LIMIT 1`)).length > 0;
  }

  private stateMerge(stateRel: Relation, set: Record<string, string>, insert: Record<string, string>, stream: string): string {
    const l = (v: string) => this.db.dialect.literal(v);
    return `MERGE ${this.rel(stateRel)} AS T
USING (SELECT ${l(stream)} AS stream) AS S
ON T.stream = S.stream
WHEN MATCHED THEN UPDATE SET ${Object.entries(set).map(([k, v]) => `${k} = ${v}`).join(', ')}
WHEN NOT MATCHED THEN INSERT (stream, ${Object.keys(insert).join(', ')}) VALUES (S.stream, ${Object.values(insert).join(', ')})`;
  }

  async applyBatch(rel: Relation, columns: SyncColumn[], csvFile: string, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: BatchInfo): Promise<BatchInfo> {
    const d = this.db.dialect;
    const q = (s: string) => d.quoteIdent(s);
    const stage = { schema: rel.schema, identifier: `${rel.identifier}__vigil_stage` };
    const table = this.db.client.dataset(stage.schema, { projectId: this.db.cfg.project }).table(stage.identifier);
    try {
      await table.load(csvFile, {
        sourceFormat: 'CSV',
        schema: { fields: columns.map((c) => ({ name: c.name, type: bigQueryType(c.pgType) })) },
        writeDisposition: 'WRITE_TRUNCATE',
        createDisposition: 'CREATE_IF_NEEDED',
        allowQuotedNewlines: true,
        location: this.db.cfg.location,
      } as never);
    } catch (e) {
      throw bqError(e, `load ${csvFile} into ${this.rel(stage)}`);
    }
    const cols = columns.map((c) => q(c.name));
    const l = (v: string | null) => (v === null ? 'NULL' : d.literal(v));
    const ts = (v: string | null) => (v === null ? 'NULL' : `TIMESTAMP(${d.literal(v)})`);
    const merge = replace
      ? `MERGE ${this.rel(rel)} AS T
USING ${this.rel(stage)} AS S
ON ${pk.map((k) => `T.${q(k)} = S.${q(k)}`).join(' AND ')}
WHEN MATCHED THEN UPDATE SET ${cols.map((c) => `${c} = S.${c}`).join(', ')}
WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `S.${c}`).join(', ')})`
      : `INSERT INTO ${this.rel(rel)} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${this.rel(stage)}`;
    const state = this.stateMerge(
      stateRel,
      { cursor_value: ts(batch.lastCursor), cursor_id: l(batch.lastId), rows_synced: `COALESCE(T.rows_synced, 0) + ${batch.rows}`, last_synced_at: 'CURRENT_TIMESTAMP()', source_max_cursor: ts(sourceMax), last_status: "'running'", last_run_rows: String(batch.rows), last_run_at: 'CURRENT_TIMESTAMP()' },
      { cursor_value: ts(batch.lastCursor), cursor_id: l(batch.lastId), rows_synced: String(batch.rows), last_synced_at: 'CURRENT_TIMESTAMP()', source_max_cursor: ts(sourceMax), last_status: "'running'", consecutive_failures: '0', last_run_rows: String(batch.rows), last_run_at: 'CURRENT_TIMESTAMP()' },
      stream,
    );
    // the rows and the cursor move together: one multi-statement transaction
    await this.db.execute(`BEGIN TRANSACTION;
${merge};
${state};
COMMIT TRANSACTION`);
    return batch;
  }

  async recordRun(stateRel: Relation, stream: string, status: 'success' | 'error', error: string | null, sourceMax: string | null): Promise<void> {
    const l = (v: string | null) => (v === null ? 'NULL' : this.db.dialect.literal(v));
    const max = sourceMax === null ? 'NULL' : `TIMESTAMP(${l(sourceMax)})`;
    await this.db.execute(
      this.stateMerge(
        stateRel,
        {
          last_status: l(status),
          last_error: l(error),
          consecutive_failures: status === 'error' ? 'COALESCE(T.consecutive_failures, 0) + 1' : '0',
          last_run_at: 'CURRENT_TIMESTAMP()',
          ...(status === 'success' ? { last_synced_at: 'CURRENT_TIMESTAMP()' } : {}),
          ...(sourceMax !== null ? { source_max_cursor: max } : {}),
        },
        { last_status: l(status), last_error: l(error), consecutive_failures: status === 'error' ? '1' : '0', last_run_at: 'CURRENT_TIMESTAMP()', rows_synced: '0', source_max_cursor: max },
        stream,
      ),
    );
  }

  async reset(rel: Relation, stateRel: Relation, stream: string): Promise<void> {
    await this.db.execute(
      `BEGIN TRANSACTION;
DELETE FROM ${this.rel(rel)} WHERE TRUE;
UPDATE ${this.rel(stateRel)} SET cursor_value = NULL, cursor_id = NULL, rows_synced = 0 WHERE stream = ${this.db.dialect.literal(stream)};
COMMIT TRANSACTION`,
    );
  }
}

export function syncWriterFor(adapter: Adapter): SyncWriter {
  if (adapter instanceof DuckDbAdapter) return new DuckDbSyncWriter(adapter);
  if (adapter instanceof PostgresAdapter) return new PostgresSyncWriter(adapter);
  if (adapter instanceof BigQueryAdapter) return new BigQuerySyncWriter(adapter);
  throw new WarehouseError(`vigil sync cannot write to a ${adapter.type} target yet`, '');
}
