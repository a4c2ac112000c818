/**
 * The contracts between `vigil sync`'s loop (run-sync.ts) and the warehouses: a SyncReader
 * reads a source table in keyset batches into CSV files, a SyncWriter applies each batch with
 * its cursor in one transaction. Each warehouse folder implements the side it supports.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Dialect, Relation } from '../adapters/dialect.js';
import type { SourceNode } from '../compile/manifest.js';
import { hostname } from 'node:os';
import { pidAlive, PROC_START, PROCESS_STARTED, procStart } from '../run/cas-document.js';
import { diag, ProjectError } from '../errors.js';

export const STATE_TABLE = 'vigil_sync_state';

export type RunStatus = 'success' | 'error' | 'interrupted';

export interface SyncColumn {
  name: string;
  /**
   * Postgres type as format_type() prints it; a user-defined type as one every target has (an
   * enum as text, a domain as its base type: PostgresSyncReader.describe)
   */
  pgType: string;
  /** the source's own type, when pgType is not it: the reader's key casts compare with it */
  sourceType?: string;
  /** declared NOT NULL in the source */
  notNull?: boolean;
}

/**
 * An array column (`text[]`, `integer[]` as format_type() prints them). Arrays travel through
 * the batch files as JSON arrays and each writer converts them back (Dialect.jsonTextArray).
 */
export const isArrayColumn = (c: SyncColumn): boolean => c.pgType.endsWith('[]');

/**
 * Column `c`'s value in a batch file (`expr`, as loaded) as the column's type in dialect `d`:
 * arrays from their JSON text (Dialect.jsonTextArray), every other column as it is. The one
 * conversion the sync writers and `vigil demo`'s exact-type loads share. `dims`: an array's
 * dimensions, if not the declared ones (those of the copy's list type on DuckDB).
 */
export function fromBatchValue(d: Pick<Dialect, 'jsonTextArray' | 'syncColumnType'>, c: SyncColumn, expr: string, dims = arrayDims(c.pgType)): string {
  if (!isArrayColumn(c)) return expr;
  const type = c.pgType.replace(/(\[\])+$/, '[]'.repeat(dims));
  return `cast(${d.jsonTextArray(expr, dims, `${c.name} (${c.pgType})`, /^jsonb?\[/.test(c.pgType))} as ${d.syncColumnType(type)})`;
}

/** The dimensions of array type `pgType` (`integer[][]`: 2); 0 for any other type. */
export function arrayDims(pgType: string): number {
  return /(\[\])*$/.exec(pgType)![0].length / 2;
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
  /** who runs the stream while `last_status` is 'running' (runOwner's JSON); absent in a state table older than it */
  run_owner?: string | null;
}

/** This process as the owner of a running sync: `{"host","pid","started","proc_start"}` (cas-document.ts's terms). */
export function runOwner(): string {
  return JSON.stringify({ host: hostname(), pid: process.pid, started: PROCESS_STARTED, ...(PROC_START ? { proc_start: PROC_START } : {}) });
}

/**
 * A state's `last_status` as `vigil sync status` says it: a 'running' one with who runs it, and
 * whether that process is gone (on this host: a run killed by kill -9, or a machine that
 * rebooted, leaves 'running' behind until the stream's next run).
 */
export function statusText(st: Pick<StreamState, 'last_status' | 'run_owner'>): string {
  if (st.last_status !== 'running' || !st.run_owner) return st.last_status ?? '?';
  let o: { host?: string; pid?: number; proc_start?: string };
  try {
    o = JSON.parse(st.run_owner) as typeof o;
  } catch {
    return 'running';
  }
  if (typeof o.pid !== 'number' || typeof o.host !== 'string') return 'running';
  if (o.host !== hostname()) return `running (pid ${o.pid} on host ${o.host}: not this host, not checked)`;
  // the same pid, started at another time, is another process
  const alive = pidAlive(o.pid) && (!o.proc_start || !procStart(o.pid) || procStart(o.pid) === o.proc_start);
  return alive ? `running (pid ${o.pid} on ${o.host})` : `interrupted (pid ${o.pid} on ${o.host} ended mid-run; the next run continues from the cursor)`;
}

/** How a stream's table and its source's columns differ (SyncWriter.ensureTables). */
export interface ColumnChanges {
  added: SyncColumn[];
  gone: string[];
  /** the table was created by this call */
  created?: boolean;
  /** numeric columns the copy holds as another type than the source's now maps to (`copyType`: the copy's) */
  retyped?: Array<{ column: SyncColumn; copyType: string; type: string }>;
}

/**
 * Whether the copy's type of a numeric column `c` (`copyType`, as the warehouse lists it) differs
 * from the type the source's column now maps to (`type`): a numeric(5,2) widened to numeric(12,4)
 * would be rounded into DECIMAL(5,2) without a word, and so would a numeric copied into a DOUBLE
 * before such numerics were copied as text. Only numerics are compared: other types are spelt differently
 * by a warehouse's catalog and by its DDL (TIMESTAMPTZ, TIMESTAMP WITH TIME ZONE), and a value
 * the copy's type cannot hold fails its batch.
 */
export function numericRetyped(c: SyncColumn, copyType: string, type: string): boolean {
  const norm = (t: string) => t.toLowerCase().replace(/\s+/g, '').replace(/^decimal/, 'numeric');
  const [a, b] = [norm(copyType), norm(type)];
  return [a, b, c.pgType].some((t) => t.startsWith('numeric')) && a !== b;
}

/**
 * The order a stream is read in and its keyset position: the cursor, then the primary key's
 * columns, the cursor left out of them when the key holds it (a time-partitioned table's key
 * must: `primary key (id, created_at)` reads in (created_at, id)).
 */
export function keyColumns(cursor: string, primaryKey: string[]): string[] {
  return [cursor, ...primaryKey.filter((k) => k !== cursor)];
}

/** The primary key's values of a key tuple in keyColumns' order (`last`, `upto`). */
export function primaryKeyOf(cursor: string, primaryKey: string[], tuple: string[]): string[] {
  const order = keyColumns(cursor, primaryKey);
  return primaryKey.map((k) => tuple[order.indexOf(k)]);
}

/**
 * The columns of `columns` that a copy with `columnType` holds as text although the source has
 * them as numbers: a `numeric` without precision, or wider than the warehouse's decimals
 * (DuckDB: 38 digits; BigQuery: BIGNUMERIC's 38 integer and 38 fractional), kept exact as its
 * text rather than rounded.
 */
export function numbersAsText(columns: SyncColumn[], columnType: (pgType: string) => string): SyncColumn[] {
  return columns.filter((c) => /^numeric\b/.test(c.pgType) && !/^(big)?(numeric|decimal)/i.test(columnType(c.pgType)));
}

/** Which of the source's `columns` the table's (`existing`) lacks, and which it has beyond them; names compared case-insensitively. */
export function columnChanges(existing: string[], columns: SyncColumn[]): ColumnChanges {
  const have = new Set(existing.map((n) => n.toLowerCase()));
  const want = new Set(columns.map((c) => c.name.toLowerCase()));
  return { added: existing.length ? columns.filter((c) => !have.has(c.name.toLowerCase())) : [], gone: existing.filter((n) => !want.has(n.toLowerCase())) };
}

export interface BatchInfo {
  rows: number;
  /** the last row's cursor (text, exact) and primary key (text; JSON array for composite keys) */
  lastCursor: string | null;
  lastId: string | null;
  /**
   * The stream's state as this run left it (or found it): its `rows_synced` (every batch adds its
   * rows) and its `cursor_id`, which is the one the run found (while a pass behind the cursor
   * leaves it as it is) or the last key this run committed (once it moved it): either of the two.
   * A writer that can moves the cursor only while the state still says so, and otherwise rolls
   * the batch back (SyncConflict): another run of the same stream committed in between.
   */
  fence?: { rowsSynced: number; cursorIds: [string | null, string | null] };
}

/** Another run of the stream committed since this run read its state: this batch was rolled back. */
export class SyncConflict extends Error {}

/** A batch file as a writer loads it. */
export interface BatchFile {
  path: string;
  /** the rows it holds */
  rows?: number;
  /** bytes of its longest record, newline included; measured for `ascii` files (SourceBatch) */
  longestRecord?: number;
}

/**
 * The longest record of a CSV stream, fed chunk by chunk: exact for a record longer than the
 * chunks, an upper bound within one chunk otherwise (the chunks are socket reads of ~10-64 KB;
 * what matters is whether a record needs a larger read buffer, MBs). It jumps from quote to
 * quote with memchr (Buffer.indexOf): a newline inside a quoted value does not end the record,
 * and between two quotes only the first and the last newline matter. A chunk with no quote
 * costs two or three calls; a value holding newlines (a multi-line prompt) a few per row.
 */
export class RecordMeter {
  private longest = 0;
  /** bytes of the record read so far */
  private open = 0;
  private quoted = false;
  constructor(private readonly quote: number) {}

  add(chunk: Buffer): void {
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      if (this.quoted) {
        // a doubled quote (an escaped one) closes and opens again
        const q = chunk.indexOf(this.quote, i);
        if (q < 0) {
          this.open += len - i;
          return;
        }
        this.open += q + 1 - i;
        this.quoted = false;
        i = q + 1;
        continue;
      }
      let q = chunk.indexOf(this.quote, i);
      if (q < 0) q = len;
      // the newlines in [i, q) end records
      const first = chunk.indexOf(0x0a, i);
      if (first < 0 || first >= q) this.open += q - i;
      else {
        const last = chunk.lastIndexOf(0x0a, q - 1);
        this.longest = Math.max(this.longest, this.open + first - i + 1, last - first);
        this.open = q - 1 - last;
      }
      if (q === len) return;
      this.open++;
      this.quoted = true;
      i = q + 1;
    }
  }

  /** the longest record so far, one not yet ended by a newline included */
  get max(): number {
    return Math.max(this.longest, this.open);
  }
}

export interface SyncWriter {
  /** The state table alone: failures are recorded even when the source cannot be read. */
  ensureState(schema: string): Promise<void>;
  /**
   * The state table, and the stream's table with the source's columns: created, or — when the
   * source has gained columns since — those added (`added`; rows synced before hold NULL there).
   * `gone`: columns the table has that the source no longer has (kept; new rows hold NULL).
   */
  ensureTables(rel: Relation, columns: SyncColumn[]): Promise<ColumnChanges>;
  readState(stateRel: Relation, stream: string): Promise<StreamState | undefined>;
  /** Whether the table holds any row (an empty one needs no replacing). */
  hasRows(rel: Relation): Promise<boolean>;
  /**
   * How this warehouse's CSV loader takes `timestamp with time zone` values: `iso-z` (the
   * default: '2026-01-01T10:00:00.123000Z', formatted by the source with to_char) or `sql-offset`
   * (the source's own output in UTC, '2026-01-01 10:00:00.123+00': nothing formatted on the source,
   * which makes its COPY ~15 % cheaper). Both are exact to the microsecond.
   */
  readonly timestamps?: TimestampText;
  /** How this warehouse's CSV loader takes the batch files' separators (CsvSeparators); default `rfc4180`. */
  readonly separators?: CsvSeparators;
  /** How this warehouse's CSV loader takes a date or timestamp before year 1 (BcText); default `after-date`. */
  readonly bcDates?: BcText;
  /**
   * In how many files the source writes each batch, when this warehouse loads them one by one
   * as they arrive (all in the batch's transaction): it starts loading sooner and waits less.
   * Unset: a batch is one file.
   */
  readonly filesPerBatch?: number;
  /**
   * Stage the batch's files (`files`: at least one, loaded as they arrive), delete (when
   * `replace`) + insert by `pk`, update the stream's state with `batch()` (asked once every
   * file is loaded): one transaction.
   */
  applyBatch(rel: Relation, columns: SyncColumn[], files: AsyncIterable<BatchFile>, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: () => BatchInfo): Promise<BatchInfo>;
  /**
   * How a run ended, with the rows it committed (`last_run_rows`): `interrupted` (stopped between
   * batches, SIGTERM) keeps the failure count and the last success time; only `success` sets
   * `last_synced_at`.
   */
  recordRun(stateRel: Relation, stream: string, status: RunStatus, error: string | null, sourceMax: string | null, rows: number): Promise<void>;
  /** --full-refresh: empty the table and forget the stream's cursor, in one transaction. */
  reset(rel: Relation, stateRel: Relation, stream: string): Promise<void>;
}

export type TimestampText = 'iso-z' | 'sql-offset';

/**
 * How a date or timestamp before year 1 is written: `trailing` as Postgres writes it
 * ('0044-03-15 12:00:00+00 BC'), or `after-date` ('0044-03-15 (BC) 12:00:00+00'), as DuckDB
 * writes and reads it: DuckDB reads the trailing ' BC' as no era at all (44 BC became AD 44, a
 * timestamptz NULL, a timestamp failed its batch). BigQuery holds no such value and refuses either.
 */
export type BcText = 'trailing' | 'after-date';

/** SQL (Postgres and DuckDB alike): text `expr` in the `trailing` form as the `after-date` one; any other text as it is. */
export const bcAfterDate = (expr: string): string => `regexp_replace(${expr}, '^([^ ]+)(.*) BC$', '\\1 (BC)\\2')`;

/**
 * How a batch file separates fields and quotes them. `rfc4180`: ',' and '"', which every CSV
 * reader takes. `ascii`: the ASCII unit separator (0x1F) between fields and the record separator
 * (0x1E) as the quote. Text and JSON hardly ever hold either (JSON cannot: Postgres writes them
 * as \u001f), so nearly nothing is quoted and no '"' is doubled: the file is ~7 % smaller and
 * DuckDB reads it ~20 % faster (docs/benchmarks.md). A value holding one is still quoted, and a
 * 0x1E doubled, by the same CSV rules, so every value arrives intact.
 */
export type CsvSeparators = 'rfc4180' | 'ascii';

/** The separator and quote characters of `s`. */
export function csvSeparators(s: CsvSeparators | undefined): { delimiter: string; quote: string } {
  return s === 'ascii' ? { delimiter: '\x1f', quote: '\x1e' } : { delimiter: ',', quote: '"' };
}

/** One source table as `vigil sync` reads it. */
export interface StreamSpec {
  /** `source.table`, for messages */
  stream: string;
  schema: string;
  table: string;
  cursor: string;
  primaryKey: string[];
  /** where the stream is declared, for messages */
  declaredAt: string;
  /** the same as a place: the table's file and line, and the lines of its key and cursor */
  at?: { file: string; line: number; primary_key?: number; cursor?: number };
  /** how the batch's timestamptz values are written (the writer's `timestamps`); default `iso-z` */
  timestamps?: TimestampText;
  /** how the batch files separate and quote fields (the writer's `separators`); default `rfc4180` */
  separators?: CsvSeparators;
  /** how the batch's dates and timestamps before year 1 are written (the writer's `bcDates`); default `after-date` */
  bcDates?: BcText;
}

/**
 * A stream the project declares wrongly for its source (a table or column that is not there, a
 * key that is no key): exit 2 at the stream's `key` line (default: the table's), not a failure of
 * the stream — its state is left as it is.
 */
export function streamProblem(spec: StreamSpec, message: string, key?: 'primary_key' | 'cursor', hint?: string): ProjectError {
  const at = spec.at;
  return new ProjectError([diag('E_SYNC', `stream ${spec.stream}: ${message}`, at ? { file: at.file, line: (key && at[key]) || at.line } : {}, hint)]);
}

export interface SourceBatch {
  /** the CSV file written (no header) */
  file: string;
  rows: number;
  /** bytes of the file's longest record, its newline included (RecordMeter): measured for `ascii` files */
  longestRecord?: number;
  /** the key (keyColumns) of the batch's last row when the batch was full: the next batch starts after it */
  upto: string[] | null;
  /** the key (keyColumns) of the batch's last row, as text */
  last: string[] | null;
}

export interface SyncReader {
  /** The table's columns; a clear error when the table, its key or its cursor is missing or unfit. */
  describe(spec: StreamSpec): Promise<SyncColumn[]>;
  /**
   * Whether the source can read the table in (cursor, key) order from an index: without one,
   * every read sorts the rows left to read, so a batch is read as one file, and the run says so.
   * `view`: the table is a view, which has no index of its own (its base table may).
   */
  keyOrdered(spec: StreamSpec): Promise<boolean | 'view'>;
  /**
   * Whether the primary key or a unique index of the table (valid, not partial, on columns only)
   * holds nothing but the stream's key columns: no two rows share a key. `view`: a view, a
   * materialized view or a foreign table, whose key can be neither checked by an index nor
   * (a view's columns) declared NOT NULL.
   */
  uniqueKey(spec: StreamSpec): Promise<boolean | 'view'>;
  /** How many rows have a NULL in a key column that `columns` does not declare NOT NULL: never read. */
  nullKeyRows(spec: StreamSpec, columns: SyncColumn[]): Promise<number>;
  /**
   * How many rows have no cursor value (NULL, or 'infinity', which would stop the stream if read):
   * a keyset read never reaches them (it leaves 'infinity' out), so the run says
   * how many are left behind.
   */
  nullCursorRows(spec: StreamSpec, columns: SyncColumn[]): Promise<number>;
  /** The newest cursor value, as exact text. */
  maxCursor(spec: StreamSpec): Promise<string | null>;
  /** `cursor` (exact text) moved `seconds` back, as exact text. */
  lookbackFrom(cursor: string, seconds: number): Promise<string>;
  /**
   * Read up to `size` rows in (cursor, key) order: from `lower` (cursor >= lower) or strictly
   * after the key tuple `after`, into `file`. The files of one batch read one snapshot of the
   * source (a row is in at most one of them); `endsBatch`: this file is the batch's last (so is
   * a file that comes back short), and the snapshot closes after it.
   */
  readBatch(spec: StreamSpec, columns: SyncColumn[], from: { lower: string | null; after: string[] | null }, size: number, file: string, endsBatch: boolean): Promise<SourceBatch>;
  /** Close a batch's snapshot left open by a run that stopped or failed before its last file. */
  release(): Promise<void>;
}

export function normalizeState(r: Record<string, unknown>): StreamState {
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
    ...(r.run_owner !== undefined ? { run_owner: (r.run_owner as string | null) ?? null } : {}),
  };
}

/**
 * The state of each synced source in the target, in the order given (`state` undefined: never
 * synced, or no state table in its schema yet). One existence check per schema.
 */
export async function readStreamStates(adapter: Adapter, sources: SourceNode[]): Promise<Array<{ stream: string; state?: StreamState }>> {
  const writer = adapter.syncWriter();
  const exists = new Map<string, boolean>();
  const out: Array<{ stream: string; state?: StreamState }> = [];
  for (const s of sources.filter((x) => x.sync)) {
    const stream = `${s.source_name}.${s.name}`;
    const rel = { schema: s.relation.schema, identifier: STATE_TABLE };
    if (!exists.has(rel.schema)) exists.set(rel.schema, !!(await adapter.relationExists(rel)));
    out.push({ stream, state: exists.get(rel.schema) ? await writer.readState(rel, stream) : undefined });
  }
  return out;
}
