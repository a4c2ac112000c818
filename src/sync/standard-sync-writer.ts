/**
 * The sync writer for warehouses that spell the state table like standard SQL with
 * `INSERT ... ON CONFLICT` and run a batch in one connection's transaction (DuckDB,
 * Postgres): the state table and the questions asked of it. Each such warehouse extends it
 * with its own bulk load (`applyBatch`) and `reset`. Every runtime value is a bind parameter.
 */
import type { Adapter } from '../adapters/adapter.js';
import { WarehouseError } from '../errors.js';
import type { Relation, SqlParam } from '../adapters/dialect.js';
import { columnChanges, normalizeState, retypedColumns, runOwner, STATE_TABLE, SyncConflict, type BatchFile, type ColumnChanges, type BatchInfo, type RunStatus, type StreamState, type SyncColumn, type SyncWriter } from './sync-types.js';

/**
 * Columns of the state table added after it was first made, each to an older table by the next
 * sync (ensureState): `run_owner` (who runs a `running` stream), `cursor_zone` (the source's
 * TimeZone a `timestamp` or `date` cursor's wall time is in: `vigil sync status` reads the cursor
 * as an instant by it), `cursor_column` (the source column the saved cursor was read from: a
 * stream whose `cursor:` names another one starts again from the beginning), `key_columns` (the
 * `primary_key` the copy was last found to hold no NULL in: another one is looked for again),
 * `source_identity` (the source table the cursor was read from: one dropped and created again, or
 * emptied and refilled, is refused by a delta run).
 */
const ADDED_COLUMNS = ['run_owner', 'cursor_zone', 'cursor_column', 'key_columns', 'source_identity'] as const;

export abstract class StandardSyncWriter implements SyncWriter {
  /** The columns added since the state table was first made that each state table (by schema and name) has (`run_owner`, `cursor_zone`) */
  private added = new Map<string, Set<string>>();
  constructor(protected readonly db: Adapter) {}

  abstract applyBatch(rel: Relation, columns: SyncColumn[], files: AsyncIterable<BatchFile>, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: () => BatchInfo): Promise<BatchInfo>;
  abstract reset(rel: Relation, stateRel: Relation, stream: string): Promise<void>;

  protected columnType(c: SyncColumn): string {
    return this.db.dialect.syncColumnType(c.pgType);
  }

  /** The state table of `schema` (or another of its shape: `identifier`, REFILL_TABLE), made or brought up to date. */
  async ensureState(schema: string, identifier = STATE_TABLE): Promise<void> {
    const t = (x: Parameters<Adapter['dialect']['type']>[0]) => this.db.dialect.type(x);
    await this.db.ensureSchema(schema);
    const rel = { schema, identifier };
    await this.db.execute(
      `create table if not exists ${this.db.dialect.relation(rel)} (stream ${t('string')} primary key, cursor_value ${t('timestamp')}, cursor_id ${t('string')}, rows_synced ${t('int')} not null default 0,
  last_synced_at ${t('timestamp')}, source_max_cursor ${t('timestamp')}, last_status ${t('string')}, last_error ${t('string')}, consecutive_failures integer not null default 0,
  last_run_rows ${t('int')}, last_run_at ${t('timestamp')}, run_owner ${t('string')}, cursor_zone ${t('string')}, cursor_column ${t('string')}, key_columns ${t('string')}, source_identity ${t('string')})`,
    );
    // (asked first: an ALTER waits for every open transaction on the table, a batch of another stream's run)
    const has = await this.addedColumns(rel);
    for (const column of ADDED_COLUMNS.filter((c) => !has.has(c))) {
      try {
        await this.db.execute(`alter table ${this.db.dialect.relation(rel)} add column if not exists ${column} ${t('string')}`);
        has.add(column);
      } catch (e) {
        // a role that writes the state table but does not own it (Postgres: 'must be owner'): synced without the column
        if ((e as { cause?: { code?: string } }).cause?.code !== '42501') throw e;
        return;
      }
    }
  }

  /** A timestamp parameter holding the reader's text (a cursor, the source's maximum); Postgres' own form by default. */
  protected cursorParam(index: number): string {
    return this.db.dialect.timestampParam(index);
  }

  /** A time column of the state table as the text its state is read back in (the same in every session of the warehouse). */
  protected timeText(column: string): string {
    return `cast(${column} as varchar)`;
  }

  /** Which of ADDED_COLUMNS the state table has (a table made by an older vigil has not, until its next sync). */
  private async addedColumns(stateRel: Relation): Promise<Set<string>> {
    const key = `${stateRel.schema}.${stateRel.identifier}`;
    let has = this.added.get(key);
    if (!has) {
      const names = new Set((await this.db.columns(stateRel)).map((c) => c.name.toLowerCase()));
      has = new Set(ADDED_COLUMNS.filter((c) => names.has(c)));
      this.added.set(key, has);
    }
    return has;
  }

  /** Whether the state table has `run_owner`. */
  private async hasOwner(stateRel: Relation): Promise<boolean> {
    return (await this.addedColumns(stateRel)).has('run_owner');
  }

  /** The statement that marks the stream `running` by this process (runOwner), its cursor and counts as they are: a run that commits its batches elsewhere (a refill). */
  protected async runningState(stateRel: Relation, stream: string): Promise<{ sql: string; params: SqlParam[] }> {
    const d = this.db.dialect;
    const owned = await this.hasOwner(stateRel);
    return {
      sql: `insert into ${d.relation(stateRel)} (stream, last_status, last_run_at${owned ? ', run_owner' : ''}) values (${d.param(1)}, 'running', now()${owned ? `, ${d.param(2)}` : ''})
         on conflict (stream) do update set last_status = 'running', last_run_at = excluded.last_run_at${owned ? ', run_owner = excluded.run_owner' : ''}`,
      params: [stream, ...(owned ? [runOwner()] : [])],
    };
  }

  async ensureTables(rel: Relation, columns: SyncColumn[]): Promise<ColumnChanges> {
    const d = this.db.dialect;
    await this.ensureState(rel.schema);
    const created = (await this.db.columns(rel)).length === 0;
    await this.db.execute(`create table if not exists ${d.relation(rel)} (${columns.map((c) => `${d.quoteIdent(c.name)} ${this.columnType(c)}`).join(', ')})`);
    const existing = await this.db.columns(rel);
    const changes = columnChanges(existing.map((c) => c.name), columns);
    for (const c of changes.added) await this.db.execute(`alter table ${d.relation(rel)} add column if not exists ${d.quoteIdent(c.name)} ${this.columnType(c)}`);
    return { ...changes, created, retyped: retypedColumns(existing, columns, (c) => this.columnType(c), { bareTimestamp: 'local' }) };
  }

  async readState(stateRel: Relation, stream: string): Promise<StreamState | undefined> {
    const rows = await this.db.query<Record<string, unknown>>(
      `select stream, ${this.timeText('cursor_value')} as cursor_value, cursor_id, rows_synced, ${this.timeText('last_synced_at')} as last_synced_at, ${this.timeText('source_max_cursor')} as source_max_cursor, last_status, last_error, consecutive_failures${[...(await this.addedColumns(stateRel))].map((c) => `, ${c}`).join('')} from ${this.db.dialect.relation(stateRel)} where stream = ${this.db.dialect.param(1)}`,
      [stream],
    );
    return rows[0] ? normalizeState(rows[0]) : undefined;
  }

  async hasRows(rel: Relation): Promise<boolean> {
    return (await this.db.query(`select 1 from ${this.db.dialect.relation(rel)} limit 1`)).length > 0;
  }

  async newestRows(rel: Relation, cursor: string, key: string[], n: number): Promise<string[][]> {
    const d = this.db.dialect;
    const cols = [cursor, ...key];
    const rows = await this.db.query<Record<string, unknown>>(
      `select ${cols.map((c, i) => `cast(${d.quoteIdent(c)} as varchar) as c${i}`).join(', ')} from ${d.relation(rel)} where ${cols.map((c) => `${d.quoteIdent(c)} is not null`).join(' and ')} order by ${cols.map((c) => `${d.quoteIdent(c)} desc`).join(', ')} limit ${n}`,
    );
    return rows.map((r) => cols.map((_, i) => String(r[`c${i}`])));
  }

  async heldRows(rel: Relation, columns: SyncColumn[], cursor: string, key: string[], rows: string[][]): Promise<Set<number>> {
    const d = this.db.dialect;
    const cols = [cursor, ...key];
    const type = (n: string) => {
      const c = columns.find((x) => x.name === n);
      return c ? this.columnType(c) : d.type('string');
    };
    const held = new Set<number>();
    // one join of the rows (a VALUES list) with the copy per 500 rows (was: an EXISTS branch per
    // row, 100 a statement: ~250 ms a statement on DuckDB, 14-17 s for a VACUUM FULL of 300 partitions)
    for (let from = 0; from < rows.length; from += 500) {
      const params: SqlParam[] = [];
      const values = rows.slice(from, from + 500).map((r, j) => {
        const vals = cols.map((c, i) => {
          params.push(r[i]);
          return `cast(${d.param(params.length)} as ${type(c)})`;
        });
        return `(${from + j}, ${vals.join(', ')})`;
      });
      const sql = `select distinct v.i from (values ${values.join(', ')}) as v(i, ${cols.map((_, i) => `c${i}`).join(', ')}) join ${d.relation(rel)} t on ${cols.map((c, i) => `t.${d.quoteIdent(c)} = v.c${i}`).join(' and ')}`;
      for (const r of await this.db.query<{ i: unknown }>(sql, params)) held.add(Number(r.i));
    }
    return held;
  }

  async clampCursor(stateRel: Relation, stream: string, clock: string): Promise<void> {
    const d = this.db.dialect;
    await this.db.execute(`update ${d.relation(stateRel)} set cursor_value = ${this.cursorParam(2)} where stream = ${d.param(1)} and cursor_value > ${this.cursorParam(2)}`, [stream, clock]);
  }

  async forgetCursor(stateRel: Relation, stream: string, cursorColumn: string): Promise<void> {
    const d = this.db.dialect;
    await this.db.execute(`update ${d.relation(stateRel)} set cursor_value = null, cursor_id = null, cursor_column = ${d.param(2)} where stream = ${d.param(1)}`, [stream, cursorColumn]);
  }

  async recordRun(stateRel: Relation, stream: string, status: RunStatus, error: string | null, sourceMax: string | null, rows: number, cursorZone?: string | null, recorded?: { cursor: string; key: string; identity?: string | null }): Promise<void> {
    const d = this.db.dialect;
    const s = d.relation(stateRel);
    const p = (i: number) => d.param(i);
    const owner = (await this.hasOwner(stateRel)) ? ' run_owner = null,' : '';
    // (undefined: the run did not get to read it — the one recorded stays)
    const zone = cursorZone !== undefined && (await this.addedColumns(stateRel)).has('cursor_zone');
    // (undefined: the run did not check it, or its cursor is not of this column — the one recorded stays)
    const has = await this.addedColumns(stateRel);
    const extra = [
      ...(zone ? [['cursor_zone', cursorZone ?? null] as const] : []),
      ...(recorded && has.has('cursor_column') ? [['cursor_column', recorded.cursor] as const] : []),
      ...(recorded && has.has('key_columns') ? [['key_columns', recorded.key] as const] : []),
      ...(recorded?.identity !== undefined && has.has('source_identity') ? [['source_identity', recorded.identity] as const] : []),
    ];
    await this.db.execute(
      `insert into ${s} (stream, last_status, last_error, consecutive_failures, last_run_at, last_synced_at, source_max_cursor, last_run_rows${extra.map(([c]) => `, ${c}`).join('')})
       values (${p(1)}, ${p(2)}, ${p(3)}, ${status === 'error' ? 1 : 0}, now(), ${status === 'success' ? 'now()' : 'NULL'}, ${this.cursorParam(4)}, ${p(5)}${extra.map((_, i) => `, ${p(6 + i)}`).join('')})
       on conflict (stream) do update set last_status = excluded.last_status, last_error = excluded.last_error,${owner}${extra.map(([c]) => ` ${c} = excluded.${c},`).join('')} consecutive_failures = ${status === 'error' ? `${s}.consecutive_failures + 1` : status === 'interrupted' ? `${s}.consecutive_failures` : '0'},
         last_run_at = excluded.last_run_at, last_synced_at = coalesce(excluded.last_synced_at, ${s}.last_synced_at), source_max_cursor = coalesce(excluded.source_max_cursor, ${s}.source_max_cursor), last_run_rows = excluded.last_run_rows`,
      [stream, status, error, sourceMax, rows, ...extra.map(([, v]) => v)],
    );
  }

  /**
   * A batch's last step, inside its transaction: the rows loaded (`inserted`) must be the rows the
   * source read (`batch()`, asked once every file is loaded); then the cursor moves.
   */
  protected async finishBatch(run: (sql: string, params?: SqlParam[]) => Promise<number>, inserted: number, stateRel: Relation, stream: string, sourceMax: string | null, batch: () => BatchInfo): Promise<BatchInfo> {
    const info = batch();
    if (inserted !== info.rows) throw new WarehouseError(`batch of ${info.rows} rows from the source loaded ${inserted} rows; nothing was committed`, '');
    const state = this.batchState(stateRel, stream, sourceMax, info, await this.hasOwner(stateRel));
    // (0 rows: the state row says another run moved the cursor — its commit came first)
    if ((await run(state.sql, state.params)) === 0) throw new SyncConflict(`stream ${stream}: another vigil sync of this stream committed a batch since this run read its cursor (two syncs of it at once?): this run's batch is rolled back, nothing doubled; the other run goes on`);
    return info;
  }

  /** The state upsert that moves the cursor with a batch: run it inside the batch's transaction. `owned`: the table has run_owner. */
  protected batchState(stateRel: Relation, stream: string, sourceMax: string | null, batch: BatchInfo, owned: boolean): { sql: string; params: SqlParam[] } {
    const d = this.db.dialect;
    const s = d.relation(stateRel);
    const p = (i: number) => d.param(i);
    // the cursor only moves forward: a full or --since pass reads from behind it, and stopped
    // there (kill -9, SIGTERM, a failure) it left the cursor where it stopped — the next delta
    // read everything from that point again. last_synced_at is the last successful run's
    // (recordRun): a run that commits batches and then fails is no sync for /health.
    const ahead = `${s}.cursor_value is null or excluded.cursor_value >= ${s}.cursor_value`;
    // 'running' says who runs it (runOwner): a run killed by kill -9 leaves it, and `vigil sync
    // status` tells such a run, gone, from one still going
    const owner = owned ? [', run_owner', `, ${p(6)}`, ', run_owner = excluded.run_owner'] : ['', '', ''];
    const f = owned ? 7 : 6;
    return {
      sql: `insert into ${s} (stream, cursor_value, cursor_id, rows_synced, source_max_cursor, last_status, last_error, consecutive_failures, last_run_at${owner[0]})
           values (${p(1)}, ${this.cursorParam(2)}, ${p(3)}, ${p(4)}, ${this.cursorParam(5)}, 'running', null, 0, now()${owner[1]})
           on conflict (stream) do update set cursor_value = case when ${ahead} then excluded.cursor_value else ${s}.cursor_value end,
             cursor_id = case when ${ahead} then excluded.cursor_id else ${s}.cursor_id end,
             rows_synced = ${s}.rows_synced + excluded.rows_synced,
             source_max_cursor = excluded.source_max_cursor, last_status = 'running'${owner[2]}${batch.fence ? `
           where ${s}.rows_synced = ${p(f)} and (${s}.cursor_id is not distinct from ${p(f + 1)} or ${s}.cursor_id is not distinct from ${p(f + 2)})` : ''}`,
      params: [stream, batch.lastCursor, batch.lastId, batch.rows, sourceMax, ...(owned ? [runOwner()] : []), ...(batch.fence ? [batch.fence.rowsSynced, batch.fence.cursorIds[0], batch.fence.cursorIds[1]] : [])],
    };
  }
}
