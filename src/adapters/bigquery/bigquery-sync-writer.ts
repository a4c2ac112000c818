/**
 * `vigil sync` into BigQuery: each batch is a CSV load job into `<table>__vigil_stage`
 * (WRITE_TRUNCATE), then ONE multi-statement transaction merges it into the table by primary
 * key and moves the cursor. A crash between the load and the transaction leaves only the
 * stage, which the rerun replaces. Stream names, cursors and keys are query parameters.
 */
import type { Relation, SqlParam } from '../dialect.js';
import { columnChanges, fromBatchValue, isArrayColumn, normalizeState, retypedColumns, type BatchFile, type ColumnChanges, type BatchInfo, type RunStatus, type StreamState, type SyncColumn, type SyncWriter } from '../../sync/sync-types.js';
import { STATE_TABLE } from '../../sync/sync-types.js';
import type { BigQueryAdapter } from './bigquery-adapter.js';

export class BigQuerySyncWriter implements SyncWriter {
  /** "v" and "V" are one column in BigQuery */
  readonly namesIgnoreCase = true;
  constructor(private readonly db: BigQueryAdapter) {}

  private rel(r: Relation): string {
    return this.db.dialect.relation({ database: this.db.cfg.project, ...r });
  }

  /** The schemas whose state table has `cursor_zone` (added since: a table an older Vigil made gets it in ensureState). */
  private zoned = new Set<string>();

  /** Whether the state table of `schema` has `cursor_zone` (one an older Vigil made has not, until its next sync). */
  private async hasZone(schema: string): Promise<boolean> {
    if (!this.zoned.has(schema) && (await this.db.columns({ schema, identifier: STATE_TABLE })).some((c) => c.name.toLowerCase() === 'cursor_zone')) this.zoned.add(schema);
    return this.zoned.has(schema);
  }

  async ensureState(schema: string): Promise<void> {
    await this.db.ensureSchema(schema);
    const rel = this.rel({ schema, identifier: STATE_TABLE });
    await this.createState(rel);
    // cursor_zone: the source's TimeZone a timestamp cursor's wall time is in (status reads the
    // cursor in it; source_max_cursor is an instant). A table an older Vigil made gets it here
    if (!(await this.hasZone(schema))) {
      await this.db.execute(`ALTER TABLE ${rel} ADD COLUMN IF NOT EXISTS cursor_zone STRING`);
      this.zoned.add(schema);
    }
  }

  /** A table of the state table's shape (the state table, REFILL_TABLE), unless it exists. */
  private async createState(rel: string): Promise<void> {
    await this.db.execute(
      `CREATE TABLE IF NOT EXISTS ${rel} (stream STRING NOT NULL, cursor_value TIMESTAMP, cursor_id STRING, rows_synced INT64, last_synced_at TIMESTAMP, source_max_cursor TIMESTAMP, last_status STRING, last_error STRING, consecutive_failures INT64, last_run_rows INT64, last_run_at TIMESTAMP, cursor_zone STRING)`,
    );
  }

  async ensureTables(rel: Relation, columns: SyncColumn[]): Promise<ColumnChanges> {
    await this.ensureState(rel.schema);
    const created = (await this.db.columns(rel)).length === 0;
    await this.db.execute(`CREATE TABLE IF NOT EXISTS ${this.rel(rel)} (${columns.map((c) => `${this.db.dialect.quoteIdent(c.name)} ${this.db.dialect.syncColumnType(c.pgType)}`).join(', ')})`);
    const existing = await this.db.columns(rel);
    const changes = columnChanges(existing.map((c) => c.name), columns);
    if (changes.added.length) await this.db.execute(`ALTER TABLE ${this.rel(rel)} ${changes.added.map((c) => `ADD COLUMN IF NOT EXISTS ${this.db.dialect.quoteIdent(c.name)} ${this.db.dialect.syncColumnType(c.pgType)}`).join(', ')}`);
    // a column the copy cannot hold exactly (a copy made when every numeric was NUMERIC: 29 integer and 9 fractional digits)
    const retyped = retypedColumns(existing, columns, (c) => this.db.dialect.syncColumnType(c.pgType), { bareTimestamp: 'instant', bareNumeric: { int: 29, frac: 9 } });
    return { ...changes, created, retyped };
  }

  async readState(stateRel: Relation, stream: string): Promise<StreamState | undefined> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT stream, CAST(cursor_value AS STRING) AS cursor_value, cursor_id, rows_synced, CAST(last_synced_at AS STRING) AS last_synced_at, CAST(source_max_cursor AS STRING) AS source_max_cursor, last_status, last_error, consecutive_failures${(await this.hasZone(stateRel.schema)) ? ', cursor_zone' : ''} FROM ${this.rel(stateRel)} WHERE stream = ?`,
      [stream],
    );
    return rows[0] ? normalizeState(rows[0]) : undefined;
  }

  async hasRows(rel: Relation): Promise<boolean> {
    return (await this.db.query(`SELECT 1 AS one FROM ${this.rel(rel)} LIMIT 1`)).length > 0;
  }

  /**
   * Upsert the stream's row. `set`/`insert` values are SQL expressions over `S` (the parameters,
   * selected as columns) and `T` (the current row), so every runtime value stays a parameter.
   */
  private stateMerge(stateRel: Relation, values: Record<string, SqlParam>, set: Record<string, string>, insert: Record<string, string>): { sql: string; params: SqlParam[] } {
    const names = Object.keys(values);
    return {
      sql: `MERGE ${this.rel(stateRel)} AS T
USING (SELECT ${names.map((n) => `? AS ${n}`).join(', ')}) AS S
ON T.stream = S.stream
WHEN MATCHED THEN UPDATE SET ${Object.entries(set).map(([k, v]) => `${k} = ${v}`).join(', ')}
WHEN NOT MATCHED THEN INSERT (stream, ${Object.keys(insert).join(', ')}) VALUES (S.stream, ${Object.values(insert).join(', ')})`,
      params: Object.values(values),
    };
  }

  async applyBatch(rel: Relation, columns: SyncColumn[], files: AsyncIterable<BatchFile>, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, info: () => BatchInfo): Promise<BatchInfo> {
    const d = this.db.dialect;
    const q = (s: string) => d.quoteIdent(s);
    const stage = { schema: rel.schema, identifier: `${rel.identifier}__vigil_stage` };
    // array columns arrive as JSON text (postgres-sync.ts): loaded as STRING, converted on the way in
    const stageColumns = columns.map((c) => ({ name: c.name, type: isArrayColumn(c) ? 'STRING' : d.syncColumnType(c.pgType) }));
    // one file per batch (no filesPerBatch): one load job, which replaces what a crashed run left
    let loads = 0;
    for await (const file of files) await this.db.loadCsv(stage, stageColumns, file.path, loads++ === 0 ? 'WRITE_TRUNCATE' : 'WRITE_APPEND');
    const batch = info();
    const cols = columns.map((c) => q(c.name));
    const from = (c: SyncColumn) => fromBatchValue(d, c, `S.${q(c.name)}`);
    const merge = replace
      ? `MERGE ${this.rel(rel)} AS T
USING ${this.rel(stage)} AS S
ON ${pk.map((k) => `T.${q(k)} = S.${q(k)}`).join(' AND ')}
WHEN MATCHED THEN UPDATE SET ${columns.map((c) => `${q(c.name)} = ${from(c)}`).join(', ')}
WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${columns.map(from).join(', ')})`
      : `INSERT INTO ${this.rel(rel)} (${cols.join(', ')}) SELECT ${columns.map(from).join(', ')} FROM ${this.rel(stage)} AS S`;
    // the cursor only moves forward (a full or --since pass behind it, stopped, left it where it
    // stopped); last_synced_at is set by the run's success (recordRun), not by a batch
    const ahead = 'T.cursor_value IS NULL OR TIMESTAMP(S.cursor_value) >= T.cursor_value';
    const common = { source_max_cursor: 'TIMESTAMP(S.source_max)', last_status: "'running'", last_run_at: 'CURRENT_TIMESTAMP()' };
    const state = this.stateMerge(
      stateRel,
      { stream, cursor_value: batch.lastCursor, cursor_id: batch.lastId, batch_rows: batch.rows, source_max: sourceMax },
      { ...common, cursor_value: `IF(${ahead}, TIMESTAMP(S.cursor_value), T.cursor_value)`, cursor_id: `IF(${ahead}, S.cursor_id, T.cursor_id)`, rows_synced: 'COALESCE(T.rows_synced, 0) + S.batch_rows' },
      { ...common, cursor_value: 'TIMESTAMP(S.cursor_value)', cursor_id: 'S.cursor_id', rows_synced: 'S.batch_rows', consecutive_failures: '0' },
    );
    // the rows and the cursor move together: one multi-statement transaction
    await this.db.execute(`BEGIN TRANSACTION;\n${merge};\n${state.sql};\nCOMMIT TRANSACTION`, state.params);
    return batch;
  }

  async recordRun(stateRel: Relation, stream: string, status: RunStatus, error: string | null, sourceMax: string | null, rows: number, cursorZone?: string | null): Promise<void> {
    // (undefined: the run never read the cursor's zone; the one recorded stays)
    const zone: Record<string, string> = cursorZone !== undefined && this.zoned.has(stateRel.schema) ? { cursor_zone: 'S.zone' } : {};
    const state = this.stateMerge(
      stateRel,
      { stream, status, error, source_max: sourceMax, run_rows: rows, ...(zone.cursor_zone ? { zone: cursorZone ?? null } : {}) },
      {
        ...zone,
        last_run_rows: 'S.run_rows',
        last_status: 'S.status',
        last_error: 'S.error',
        consecutive_failures: status === 'error' ? 'COALESCE(T.consecutive_failures, 0) + 1' : status === 'interrupted' ? 'COALESCE(T.consecutive_failures, 0)' : '0',
        last_run_at: 'CURRENT_TIMESTAMP()',
        ...(status === 'success' ? { last_synced_at: 'CURRENT_TIMESTAMP()' } : {}),
        source_max_cursor: 'COALESCE(TIMESTAMP(S.source_max), T.source_max_cursor)',
      },
      { ...zone, last_status: 'S.status', last_error: 'S.error', consecutive_failures: status === 'error' ? '1' : '0', last_run_at: 'CURRENT_TIMESTAMP()', ...(status === 'success' ? { last_synced_at: 'CURRENT_TIMESTAMP()' } : {}), rows_synced: '0', source_max_cursor: 'TIMESTAMP(S.source_max)', last_run_rows: 'S.run_rows' },
    );
    await this.db.execute(state.sql, state.params);
  }

  async beginRefill(rel: Relation, into: Relation, stateRel: Relation, refillState: Relation, stream: string, columns: SyncColumn[]): Promise<void> {
    const cols = columns.map((c) => this.db.dialect.quoteIdent(c.name)).join(', ');
    await this.createState(this.rel(refillState));
    // the synced columns in the copy's types, and nothing else of it (no default, no description)
    await this.db.execute(`CREATE OR REPLACE TABLE ${this.rel(into)} AS SELECT ${cols} FROM ${this.rel(rel)} WHERE FALSE`);
    await this.db.execute(`DELETE FROM ${this.rel(refillState)} WHERE stream = ?`, [stream]);
    // the stream runs (vigil sync status), its cursor as it was
    const running = this.stateMerge(stateRel, { stream }, { last_status: "'running'", last_run_at: 'CURRENT_TIMESTAMP()' }, { last_status: "'running'", last_run_at: 'CURRENT_TIMESTAMP()', rows_synced: '0', consecutive_failures: '0' });
    await this.db.execute(running.sql, running.params);
  }

  async finishRefill(rel: Relation, into: Relation, stateRel: Relation, refillState: Relation, stream: string, columns: SyncColumn[]): Promise<void> {
    const [s, r] = [this.rel(stateRel), this.rel(refillState)];
    const cols = columns.map((c) => this.db.dialect.quoteIdent(c.name)).join(', ');
    // one transaction: readers (snapshot isolation) see the old rows until it commits; the
    // refill's cursor goes with them (none where it read no row: the source had none to read);
    // by name, so a column the sync does not fill gets its default
    await this.db.execute(
      `BEGIN TRANSACTION;
DELETE FROM ${this.rel(rel)} WHERE TRUE;
INSERT INTO ${this.rel(rel)} (${cols}) SELECT ${cols} FROM ${this.rel(into)};
UPDATE ${s} SET cursor_value = NULL, cursor_id = NULL, rows_synced = 0 WHERE stream = ?;
MERGE ${s} AS T
USING (SELECT stream, cursor_value, cursor_id, rows_synced FROM ${r} WHERE stream = ?) AS S
ON T.stream = S.stream
WHEN MATCHED THEN UPDATE SET cursor_value = S.cursor_value, cursor_id = S.cursor_id, rows_synced = S.rows_synced
WHEN NOT MATCHED THEN INSERT (stream, cursor_value, cursor_id, rows_synced) VALUES (S.stream, S.cursor_value, S.cursor_id, S.rows_synced);
DELETE FROM ${r} WHERE stream = ?;
COMMIT TRANSACTION`,
      [stream, stream, stream],
    );
    // (DDL ends a BigQuery transaction: after it; a table left by a failure here is dropped by the next run)
    await this.db.execute(`DROP TABLE IF EXISTS ${this.rel(into)}`);
  }

  async dropRefill(into: Relation, refillState: Relation, stream: string): Promise<void> {
    await this.db.execute(`DROP TABLE IF EXISTS ${this.rel(into)}`);
    if (await this.db.relationExists(refillState)) await this.db.execute(`DELETE FROM ${this.rel(refillState)} WHERE stream = ?`, [stream]);
  }

  async clampCursor(stateRel: Relation, stream: string, clock: string): Promise<void> {
    await this.db.execute(`UPDATE ${this.rel(stateRel)} SET cursor_value = TIMESTAMP(?) WHERE stream = ? AND cursor_value > TIMESTAMP(?)`, [clock, stream, clock]);
  }

  async reset(rel: Relation, stateRel: Relation, stream: string): Promise<void> {
    await this.db.execute(
      `BEGIN TRANSACTION;
DELETE FROM ${this.rel(rel)} WHERE TRUE;
UPDATE ${this.rel(stateRel)} SET cursor_value = NULL, cursor_id = NULL, rows_synced = 0 WHERE stream = ?;
COMMIT TRANSACTION`,
      [stream],
    );
  }
}
