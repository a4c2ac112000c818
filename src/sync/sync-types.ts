/**
 * The contracts between `vigil sync`'s loop (run-sync.ts) and the warehouses: a SyncReader
 * reads a source table in keyset batches into CSV files, a SyncWriter applies each batch with
 * its cursor in one transaction. Each warehouse folder implements the side it supports.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Dialect, Relation } from '../adapters/dialect.js';
import type { SourceNode } from '../compile/manifest.js';
import { hostname } from 'node:os';
import { onThisHost, processGone, thisProcess } from '../run/cas-document.js';
import { diag, ProjectError } from '../errors.js';
import { typeFamily } from '../adapters/type-family.js';

export const STATE_TABLE = 'vigil_sync_state';
/** The progress of `--full-refresh` runs refilling a table beside the copy (SyncWriter.beginRefill), in the state table's shape. */
export const REFILL_TABLE = 'vigil_sync_refill';

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
  /** a `timestamp` or `date` cursor: the source's TimeZone its wall time (`cursor_value`, written as UTC) is in; NULL for a timestamptz one, absent in a state table older than it */
  cursor_zone?: string | null;
  /** the source column the saved cursor was read from (the stream's `cursor:` then); NULL when not recorded yet, absent in a state table older than it (and on BigQuery) */
  cursor_column?: string | null;
  /** the stream's `primary_key` (a JSON array) when a run last found the copy holding no row with a NULL in it; NULL when not recorded yet, absent in a state table older than it (and on BigQuery) */
  key_columns?: string | null;
  /** the source table the saved cursor was read from (SyncReader.tableIdentity's text); NULL when not recorded yet, absent in a state table older than it (and on BigQuery) */
  source_identity?: string | null;
}

/** This process as the owner of a running sync: `{"host","pid","started","proc_start"}` (cas-document.ts's terms). */
export function runOwner(): string {
  return JSON.stringify(thisProcess());
}

/**
 * A state's `last_status` as `vigil sync status` says it: a 'running' one with who runs it, and
 * whether that process is gone (on this host: a run killed by kill -9, or a machine that
 * rebooted, leaves 'running' behind until the stream's next run). A 'running' one that names no
 * owner cannot be checked: an older Vigil recorded none (nor does a role that could not add
 * run_owner to the state table), and its run killed stays 'running'.
 */
export function statusText(st: Pick<StreamState, 'last_status' | 'run_owner'>): string {
  if (st.last_status === 'running' && !st.run_owner) return 'running or interrupted (no owner recorded: started by an older Vigil, or by a role that could not add run_owner to the state table; not checked, and if it was interrupted the next sync continues from the cursor)';
  if (st.last_status !== 'running' || !st.run_owner) return st.last_status ?? '?';
  let o: { host?: string; pid?: number; proc_start?: string; ns?: string };
  try {
    o = JSON.parse(st.run_owner) as typeof o;
  } catch {
    return 'running';
  }
  if (typeof o.pid !== 'number' || typeof o.host !== 'string') return 'running';
  if (!onThisHost({ host: o.host, ns: o.ns })) return `running (pid ${o.pid} on host ${o.host}${o.host === hostname() ? ' in another PID namespace (a container)' : ''}: not this host, not checked)`;
  // (the same pid, started at another time, is another process)
  return !processGone({ host: o.host, pid: o.pid, proc_start: o.proc_start, ns: o.ns }) ? `running (pid ${o.pid} on ${o.host})` : `interrupted (pid ${o.pid} on ${o.host} ended mid-run; the next run continues from the cursor)`;
}

/** How a stream's table and its source's columns differ (SyncWriter.ensureTables). */
export interface ColumnChanges {
  added: SyncColumn[];
  gone: string[];
  /** the table was created by this call */
  created?: boolean;
  /** columns whose copy's type (`copyType`) cannot hold every value of the type the source's now maps to (`type`): retypedColumns */
  retyped?: Array<{ column: SyncColumn; copyType: string; type: string }>;
}

/** How the warehouse spells and means the types a copy may have (holdsExactly). */
export interface TypeVocabulary {
  /** what a plain `timestamp` is: BigQuery's TIMESTAMP an instant, DuckDB's and Postgres' a local date-time */
  bareTimestamp: 'instant' | 'local';
  /** the digits of a `numeric` without precision: BigQuery's NUMERIC 29 integer and 9 fractional ones; unset: any (Postgres) */
  bareNumeric?: { int: number; frac: number };
}

/** A type as holdsExactly compares it: its kind (typeFamily) and, where it has them, its width or length. */
interface TypeShape {
  family: string;
  /** lower case, one space between words, none around parentheses and commas */
  spelling: string;
  /** an integer's bits, a float's mantissa bits */
  bits?: number;
  /** a numeric's integer and fractional digits; `any`: a numeric without limits */
  digits?: { int: number; frac: number } | 'any';
  /** a string's length limit (varchar(n)); a fixed-length char(n) has `fixed` */
  length?: number;
  fixed?: boolean;
  /** a time of day with its zone */
  zone?: boolean;
  /** an array's element type (its dimensions are compared elsewhere: the copy's list type rules) */
  elem?: TypeShape;
}

const INT_BITS: Record<string, number> = { smallint: 16, int2: 16, short: 16, integer: 32, int: 32, int4: 32, int32: 32, signed: 32, bigint: 64, int8: 64, int64: 64, long: 64, hugeint: 128, int128: 128 };
const FLOAT_BITS: Record<string, number> = { real: 24, float4: 24, float: 24, float32: 24, double: 53, 'double precision': 53, float8: 53, float64: 53 };
/** the decimal digits every value of an integer of these bits has room for (int32: 9 of its 10) */
const intDigits = (bits: number) => Math.floor(Math.log10(2 ** (bits - 1)));

function typeShape(type: string, v: TypeVocabulary): TypeShape {
  const spelling = type.trim().toLowerCase().replace(/\s+/g, ' ').replace(/\s*([(),<>])\s*/g, '$1');
  const array = /^array<(.*)>$/.exec(spelling) ?? /^(.*?)(\[\])+$/.exec(spelling);
  if (array) return { family: 'array', spelling: `${array[1]}[]`, elem: typeShape(array[1], v) };
  const family = typeFamily(spelling, v.bareTimestamp);
  const base = spelling.replace(/\(.*$/, '');
  const params = /\(([^)]*)\)/.exec(spelling)?.[1].split(',').map(Number);
  const shape: TypeShape = { family, spelling };
  if (family === 'int') shape.bits = INT_BITS[base];
  if (family === 'float') shape.bits = FLOAT_BITS[base];
  if (family === 'numeric') {
    const big = /^big/.test(base);
    shape.digits = params ? { int: params[0] - (params[1] ?? 0), frac: params[1] ?? 0 } : big ? { int: 38, frac: 38 } : (v.bareNumeric ?? 'any');
  }
  if (family === 'string') {
    if (/^(char|character|bpchar)$/.test(base)) shape.fixed = true;
    else if (params) shape.length = params[0];
  }
  if (family === 'time') shape.zone = /tz|with time zone/.test(spelling);
  return shape;
}

/**
 * Whether every value of a source column that a new copy would hold as `type` lands exactly in a
 * copy's column of `copyType` (both as the warehouse spells them: its catalog, its DDL). Widening
 * the copy already holds is fine: an int column where the copy has BIGINT, real where it has a
 * double, varchar(10) where it has text, a date in a timestamp, anything as text. Anything else
 * it cannot be sure of is not: a double in a FLOAT is rounded, a timestamp in a DATE loses its
 * time of day, a timestamptz in a TIMESTAMP its zone, a bigint or a longer text is refused.
 */
export function holdsExactly(copyType: string, type: string, v: TypeVocabulary): boolean {
  const [copy, src] = [typeShape(copyType, v), typeShape(type, v)];
  return holds(copy, src);
}

function holds(copy: TypeShape, src: TypeShape): boolean {
  if (copy.spelling === src.spelling) return true;
  if (copy.family === 'array' || src.family === 'array') return copy.family === src.family && holds(copy.elem!, src.elem!);
  // text holds any value's text exactly
  if (copy.family === 'string' && !copy.fixed && copy.length === undefined) return true;
  const wider = (a?: number, b?: number) => a !== undefined && b !== undefined && a >= b;
  const digits = (d: TypeShape['digits'], int: number, frac: number) => d === 'any' || (!!d && d.int >= int && d.frac >= frac);
  switch (src.family) {
    case 'int':
      if (copy.family === 'int') return wider(copy.bits, src.bits);
      if (copy.family === 'float') return src.bits !== undefined && wider(copy.bits, src.bits <= 16 ? 24 : src.bits <= 32 ? 53 : Infinity);
      return copy.family === 'numeric' && src.bits !== undefined && digits(copy.digits, intDigits(src.bits) + 1, 0);
    case 'float':
      return copy.family === 'float' && wider(copy.bits, src.bits);
    case 'numeric':
      if (src.digits === 'any' || !src.digits) return copy.family === 'numeric' && copy.digits === 'any';
      if (copy.family === 'numeric') return digits(copy.digits, src.digits.int, src.digits.frac);
      return copy.family === 'int' && copy.bits !== undefined && src.digits.frac === 0 && src.digits.int <= intDigits(copy.bits);
    case 'date':
      return ['date', 'local', 'instant'].includes(copy.family);
    case 'string':
      return copy.family === 'string' && !copy.fixed && !src.fixed && wider(copy.length, src.length);
    case 'json':
      // (json keeps a jsonb's text; jsonb would normalize a json's)
      return copy.family === 'json' && (copy.spelling === 'json' || src.spelling !== 'json');
    case 'time':
      return copy.family === 'time' && copy.zone === src.zone;
    case 'bool':
    case 'local':
    case 'instant':
    case 'uuid':
    case 'bytes':
    case 'interval':
      return copy.family === src.family;
    default:
      return false;
  }
}

/**
 * The source's columns whose copy's column (in `existing`, by name in any case) cannot hold
 * their values exactly (holdsExactly): the source's type changed since the copy was made, or the
 * copy is older than the rule that maps it (a numeric without precision in a DOUBLE; on BigQuery
 * every numeric as NUMERIC). `columnType`: the type a new copy gives a column.
 */
export function retypedColumns(existing: Array<{ name: string; data_type: string }>, columns: SyncColumn[], columnType: (c: SyncColumn) => string, v: TypeVocabulary): NonNullable<ColumnChanges['retyped']> {
  const copyType = new Map(existing.map((c) => [c.name.toLowerCase(), c.data_type]));
  return columns.flatMap((c) => {
    const had = copyType.get(c.name.toLowerCase());
    const type = columnType(c);
    return had && !holdsExactly(had, type, v) ? [{ column: c, copyType: had, type }] : [];
  });
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

/** The source's columns whose names differ only in case ("v", "V"), in groups: one column where names ignore case. */
export function caseClashes(columns: SyncColumn[]): string[][] {
  const byName = new Map<string, string[]>();
  for (const c of columns) byName.set(c.name.toLowerCase(), [...(byName.get(c.name.toLowerCase()) ?? []), c.name]);
  return [...byName.values()].filter((g) => g.length > 1);
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
   * The copy's `n` newest rows by `cursor` (then by key, newest first): each its cursor then its
   * key's values, as text. What a source table given a new file is checked by when the row the
   * saved cursor was taken from is gone (deleted, then VACUUM FULL): a table that still holds one
   * of them, key and cursor alike, is the one the copy was read from.
   */
  newestRows?(rel: Relation, cursor: string, key: string[], n: number): Promise<string[][]>;
  /**
   * Which of `rows` (each its cursor then its key's values, as the source's text: SyncReader.partRowsBefore)
   * the copy holds, key and cursor alike: their indexes. What a partition new since the last run is
   * checked by: its rows stamped before the cursor, which a delta does not read, must be in the copy.
   */
  heldRows?(rel: Relation, columns: SyncColumn[], cursor: string, key: string[], rows: string[][]): Promise<Set<number>>;
  /**
   * How this warehouse's CSV loader takes `timestamp with time zone` values: `iso-z` (the
   * default: '2026-01-01T10:00:00.123000Z', formatted by the source with to_char) or `sql-offset`
   * (the source's own output in UTC, '2026-01-01 10:00:00.123+00': nothing formatted on the source,
   * which makes its COPY ~15 % cheaper). Both are exact to the microsecond.
   */
  readonly timestamps?: TimestampText;
  /** This warehouse's column names ignore case (DuckDB, BigQuery): a source's "v" and "V" would be one column. */
  readonly namesIgnoreCase?: boolean;
  /** How this warehouse's CSV loader takes the batch files' separators (CsvSeparators); default `rfc4180`. */
  readonly separators?: CsvSeparators;
  /** How this warehouse's CSV loader takes a date or timestamp before year 1 (BcText); default `after-date`. */
  readonly bcDates?: BcText;
  /** The latest `timestamp with time zone` this warehouse's copy holds (UTC text), when it is before Postgres' last and a later one would not load as an error (StreamSpec.maxInstant). */
  readonly maxInstant?: string;
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
  recordRun(stateRel: Relation, stream: string, status: RunStatus, error: string | null, sourceMax: string | null, rows: number, cursorZone?: string | null, recorded?: { cursor: string; key: string; identity?: string | null }): Promise<void>;
  /**
   * Forget the stream's cursor (the copy keeps its rows) and record `cursorColumn` as the column
   * the cursor is read from from now on: the stream's `cursor:` names another column than the one
   * the saved cursor was read from. Absent where the state records no cursor column (BigQuery).
   */
  forgetCursor?(stateRel: Relation, stream: string, cursorColumn: string): Promise<void>;
  /** --full-refresh: empty the table and forget the stream's cursor, in one transaction. */
  reset(rel: Relation, stateRel: Relation, stream: string): Promise<void>;
  /**
   * --full-refresh of a copy that holds rows, on a warehouse whose other sessions read it while
   * the run refills it (Postgres, BigQuery; absent: reset() empties it in place — DuckDB, where
   * one process has the file): the refill goes to `into` (scratchIdentifier's `<table>__vigil_refill`), an empty table of the
   * copy's `columns` (the synced ones), with its progress in `refillState` (REFILL_TABLE, the
   * state table's shape: nothing that reads vigil_sync_state sees it); the stream's own state
   * says it runs, its cursor as it was. What a run killed on the way left there is dropped first.
   */
  beginRefill?(rel: Relation, into: Relation, stateRel: Relation, refillState: Relation, stream: string, columns: SyncColumn[]): Promise<void>;
  /**
   * The refill complete: `rel` gets `into`'s rows and the stream's state its cursor and rows,
   * in one transaction that drops `into` and its progress; readers see the copy as it was
   * until that commit.
   */
  finishRefill?(rel: Relation, into: Relation, stateRel: Relation, refillState: Relation, stream: string, columns: SyncColumn[]): Promise<void>;
  /** A refill given up (stopped, failed, or left by a killed run): `into` and its progress dropped, the copy and its cursor as they were. */
  dropRefill?(into: Relation, refillState: Relation, stream: string): Promise<void>;
  /** Move the stream's cursor back to `clock` (the source's, its text) where it is after it. */
  clampCursor(stateRel: Relation, stream: string, clock: string): Promise<void>;
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
  /** the writer's `maxInstant`: a timestamptz after it leaves as text the writer refuses, naming it, never as a value it would load as NULL */
  maxInstant?: string;
  /** the rows the last `vigil retention apply` deleted from the copy: never copied again */
  retired?: RetiredRows;
}

/**
 * The condition of the last retention apply of a stream's warehouse copy (its line of
 * `vigil_retention_log`), on the source's columns: the rows it matches are not copied, so a sync
 * never brings back what retention deleted (docs/sync.md, Retention).
 */
export interface RetiredRows {
  /** the retention column, and the override_days column, as the source spells them */
  column: string;
  overrideDays?: string;
  /** the apply's cutoff and as_of (ISO), and with override_days the floor no row is deleted after (as the apply logged it; a line logged before it was: as_of less the project's retention minimum now) */
  cutoff: string;
  asOf: string;
  overrideFloor: string | null;
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
  /**
   * The cursor the stream keeps after this file, when it is not `last`'s: the source's clock at
   * the read (its text), for a last row stamped after it. A cursor in the future would make every
   * later delta read from there and miss every row written before that time.
   */
  cursor?: string | null;
}

/** Where a stream's cursor values stand against the source's clock (SyncReader.cursorBounds). */
export interface CursorBounds {
  /** the source's clock as the run begins (exact text): for a cursor without time zone, the wall time in `zone` */
  clock: string;
  /** a cursor without time zone (timestamp, date): the database's TimeZone its clock is read in */
  zone?: string;
  /** the newest cursor value at or before `clock` as an instant (UTC text; a wall time read in `zone`): the state's `source_max_cursor` */
  max: string | null;
  /** rows stamped more than a minute after `clock` ('infinity' left out: nullCursorRows), and the latest of them */
  ahead: { rows: number; latest: string | null };
  /** the saved cursor is after `clock` (a future row made it the cursor, before cursors stopped at the clock) */
  savedAhead: boolean;
  /** the saved cursor in this run's terms, where it was saved in others (`savedZone` not the column's zone now) and that reads earlier: the cursor to move back to */
  rezoned?: string;
}

/** Where a `--since` or `--lookback` pass starts (SyncReader.windowStart). */
export interface WindowStart {
  /** in the cursor column's terms (exact text): for a cursor without time zone, the wall time in `zone` */
  lower: string;
  /** the same as an instant (UTC text) */
  instant: string;
  zone?: string;
  /** later than the delta start it was compared with */
  afterDelta: boolean;
}

/** Which relation a stream reads, across runs (SyncReader.tableIdentity). */
export interface TableIdentity {
  relation: string;
  storage: string | null;
  /** a partitioned table's (or an inheritance parent's) tables that hold its rows, by oid, file and name */
  parts?: Array<{ oid: string; storage: string; name: string }>;
}

/** TableIdentity as the state's `source_identity` keeps it: `<oid>/<file>`, `+<oid>:<file>,...` for the parts; `view/<digest>`. */
export function identityText(id: TableIdentity): string {
  return `${id.relation}/${id.storage ?? ''}${id.parts ? `+${id.parts.map((p) => `${p.oid}:${p.storage}`).join(',')}` : ''}`;
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
  /**
   * The source's clock, the newest cursor value at or before it, the rows stamped after it, and
   * whether the stream's `saved` cursor is after it.
   */
  cursorBounds(spec: StreamSpec, columns: SyncColumn[], saved: string | null, savedZone?: string | null): Promise<CursorBounds>;
  /** How many rows from `lower` (cursor >= lower; null: all) `spec.retired` leaves out: what retention deleted from the copy. */
  retiredRows(spec: StreamSpec, columns: SyncColumn[], lower: string | null): Promise<number>;
  /** How many rows up to `upto` (cursor <= upto) `spec.retired` does not leave out: 0 when retention deleted every row a sync copied up to that cursor. */
  keptRows(spec: StreamSpec, columns: SyncColumn[], upto: string): Promise<number>;
  /**
   * Where a `--since` (`from.since`) or `--mode full --lookback` (`from.lookbackSeconds` before the
   * source's clock) pass starts, in the cursor column's terms, and whether that is later than
   * `deltaStart` (where a delta run of the stream starts).
   */
  windowStart(spec: StreamSpec, columns: SyncColumn[], from: { since?: Date; lookbackSeconds?: number }, deltaStart: string | null): Promise<WindowStart>;
  /**
   * Which table the stream reads, across runs: `relation` its database's and its own oid (a table
   * dropped and created again is another), `storage` its file (pg_relation_filenode: TRUNCATE gives
   * it a new one, and so do VACUUM FULL, CLUSTER and a rewriting ALTER TABLE, which keep its rows).
   * A partitioned table (or one with inheritance children) has `parts`: each table that holds its
   * rows (its partitions, at any depth; itself when it holds rows) by oid and file, read by one
   * catalog query however many there are, so that a partition TRUNCATEd, dropped and created again
   * or attached is told. A view is `relation` 'view' and `storage` a digest of its definition and
   * of every relation it reads, at any depth (their oids and files): CREATE OR REPLACE VIEW, or a
   * table it reads TRUNCATEd, dropped and created again or rewritten changes it.
   * Null for a materialized view or a foreign table.
   */
  tableIdentity?(spec: StreamSpec): Promise<TableIdentity | null>;
  /**
   * Of the tables `parts` (TableIdentity parts) of a partitioned source, the newest `perPart` rows
   * of each stamped before `before` (cursor < before; rows retention left out not counted): each
   * its cursor then its key's values, as text (as SyncWriter.newestRows), and the part's name.
   * One query, whatever the number of parts.
   */
  partRowsBefore?(spec: StreamSpec, columns: SyncColumn[], parts: Array<{ oid: string; name: string }>, before: string, perPart: number): Promise<Array<{ part: string; row: string[] }>>;
  /** Whether the table holds the row of primary key `key` (its values as text) with its cursor at or after `cursor` (the state's text): the row the saved cursor was taken from, still there. */
  holdsRow?(spec: StreamSpec, columns: SyncColumn[], cursor: string, key: string[]): Promise<boolean>;
  /** Whether the table holds any of `rows` (each its cursor then its key's values, as text: SyncWriter.newestRows), its key and its cursor alike. */
  holdsAnyRow?(spec: StreamSpec, columns: SyncColumn[], rows: string[][]): Promise<boolean>;
  /** `cursor` (exact text) moved `seconds` back, as exact text. */
  lookbackFrom(cursor: string, seconds: number): Promise<string>;
  /**
   * Which table `schema.table` is, across connections: its server, database and relation (null:
   * none of that name). A warehouse that is a database of the same server tells with it whether a
   * stream's copy would be its source table itself (syncStreams refuses it). `servers`: the names
   * its server goes by (any one shared: the same server, or its replica); `relation`: the database's
   * and the relation's own.
   */
  relationIdentity?(schema: string, table: string): Promise<{ servers: string[]; relation: string } | null>;
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

/** A cursor value as a person reads it: a `timestamp` or `date` cursor's wall time (stored as UTC text) with its source's `zone`; else as stored. */
export function cursorText(value: string, zone: string | null | undefined): string {
  return zone ? `${value.replace(/\+00( BC)?$/, '$1')} ${zone}` : value;
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
    ...(r.cursor_zone !== undefined ? { cursor_zone: (r.cursor_zone as string | null) ?? null } : {}),
    ...(r.cursor_column !== undefined ? { cursor_column: (r.cursor_column as string | null) ?? null } : {}),
    ...(r.key_columns !== undefined ? { key_columns: (r.key_columns as string | null) ?? null } : {}),
    ...(r.source_identity !== undefined ? { source_identity: (r.source_identity as string | null) ?? null } : {}),
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
