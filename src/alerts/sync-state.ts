/**
 * The sync state as alert rows: `sync_state: true` (and its shorthand, `condition: { type:
 * freshness, sync: true }`) judges one row per synced source stream, read from each target
 * schema's `vigil_sync_state` (written by `vigil sync`, see docs/sync.md).
 */
import type { Adapter } from '../adapters/adapter.js';
import type { ColumnInfo, SourceNode } from '../compile/manifest.js';
import { STATE_TABLE } from '../sync/sync-types.js';
import { errorAfterByStream } from '../run/freshness.js';
import { docRef } from '../install.js';

/**
 * The columns of a sync state row, as rules read them and as `given: vigil_sync_state` rows of
 * the offline tests are typed. Every writer's state table has them all (DuckDB, Postgres,
 * BigQuery); in one an older Vigil made without some, those read as NULL (see syncStateRows).
 */
export const SYNC_STATE_COLUMNS: ColumnInfo[] = [
  { name: 'stream', data_type: 'varchar' },
  /** the last successful batch or run */
  { name: 'last_synced_at', data_type: 'timestamptz' },
  /** the newest cursor value (e.g. created_at) in the source at the last run, as an instant (a timestamp cursor's wall time read in the source's TimeZone) */
  { name: 'source_max_cursor', data_type: 'timestamptz' },
  /** the last run's status (success, error, running while a run is in progress...), or 'never synced' */
  { name: 'last_status', data_type: 'varchar' },
  { name: 'last_error', data_type: 'varchar' },
  { name: 'consecutive_failures', data_type: 'integer' },
  /** the last run, successful or not */
  { name: 'last_run_at', data_type: 'timestamptz' },
];
export const SYNC_STATE_COLUMN_NAMES = SYNC_STATE_COLUMNS.map((c) => c.name);

/**
 * The sync state of every synced source. Where a schema's state table exists, a declared
 * stream missing from it was never synced: it appears with NULLs, last_status 'never synced'
 * and no failures (age "never"). A warehouse where sync never ran at all (no state table) has
 * no rows: nothing to judge. A table made by an older Vigil without some column reads it as
 * NULL, unless the rule judges by it (`needed`): that is an error, never a quiet "0 firing".
 * `sourceLimits`: each row also carries `source_error_after_seconds`, its source table's
 * freshness error_after (NULL when it declares none), for `source_freshness: true`.
 */
export async function syncStateRows(adapter: Adapter, sources: SourceNode[], needed: string[] = [], opts: { sourceLimits?: boolean } = {}): Promise<Array<Record<string, unknown>>> {
  const synced = sources.filter((s) => s.sync);
  const schemas = [...new Set(synced.map((s) => s.relation.schema))];
  const rows: Array<Record<string, unknown>> = [];
  for (const schema of schemas) {
    const rel = { schema, identifier: STATE_TABLE };
    // no columns: no table. A column missing from an older table reads as NULL, unless judged by
    const have = new Set((await adapter.columns(rel)).map((c) => c.name.toLowerCase()));
    if (!have.size) continue;
    if (!have.has('stream')) throw new Error(`${adapter.dialect.relation(rel)} has no column stream: it is not a vigil sync state table`);
    const lacking = needed.filter((c) => !have.has(c));
    if (lacking.length) throw new Error(`${adapter.dialect.relation(rel)} has no column ${lacking.join(', ')} that the rule reads (made by an older vigil sync?): add ${lacking.length > 1 ? 'them' : 'it'} as in ${docRef('sync.md')} (State and failures)`);
    const cols = SYNC_STATE_COLUMN_NAMES.filter((c) => have.has(c));
    const got = await adapter.query(`select ${cols.map((c) => adapter.dialect.quoteIdent(c)).join(', ')} from ${adapter.dialect.relation(rel)}`);
    for (const r of got) rows.push(Object.fromEntries(SYNC_STATE_COLUMN_NAMES.map((c) => [c, r[c] ?? null])));
    const known = new Set(got.map((r) => String(r.stream)));
    for (const s of synced.filter((x) => x.relation.schema === schema)) {
      const stream = `${s.source_name}.${s.name}`;
      if (!known.has(stream)) rows.push({ ...Object.fromEntries(SYNC_STATE_COLUMN_NAMES.map((c) => [c, null])), stream, last_status: 'never synced', consecutive_failures: 0 });
    }
  }
  if (opts.sourceLimits) {
    const limit = errorAfterByStream(synced);
    for (const r of rows) r.source_error_after_seconds = limit.get(String(r.stream)) ?? null;
  }
  return rows;
}
