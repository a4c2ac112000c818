/**
 * The I/O surface every warehouse adapter implements, and the materialization request
 * the executor hands it. Dialects (pure SQL spelling) live beside, in dialect.ts.
 */
import type { CanonicalType, DecimalType, Dialect, Relation, SqlParam } from './dialect.js';
import type { SyncReader, SyncWriter } from '../sync/sync-types.js';
import type { Warehouse } from './warehouse.js';
import type { GrantPlan, GrantRequest } from './grants.js';
import { createHash } from 'node:crypto';
import { WarehouseError } from '../errors.js';
import { typeFamily } from './type-family.js';

export interface Column {
  name: string;
  data_type: string;
}

export type Row = Record<string, unknown>;

/** A foreign key referencing a table: `Adapter.referencingKeys`. */
export interface ReferencingKey {
  constraint: string;
  /** the referencing table */
  table: Relation;
  /** its columns, in the key's order, and the referenced table's columns they match */
  columns: string[];
  refColumns: string[];
  onDelete: 'cascade' | 'set null' | 'set default' | 'restrict' | 'no action';
}

/**
 * A number exactly as the warehouse holds it, where a JavaScript number would not (a DECIMAL's
 * digits, an integer past 2^53): `vigil show` prints its text, and in JSON as a number.
 */
export class ExactNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Rows for people to read (`vigil show`), with their columns (known with no row too). */
export interface Preview {
  /** `time`: a date or a timestamp; `type`: the warehouse's name of the type (where the adapter knows them) */
  columns: Array<{ name: string; numeric: boolean; time?: boolean; type?: string }>;
  rows: Row[];
}

/**
 * A timestamp with digits a Date does not hold (DuckDB's and Postgres' microseconds): a Date to
 * the millisecond, and `iso`, the instant in UTC to the digit ('2026-11-20T10:00:00.123456Z').
 * `query` returns one only where a plain Date would lose digits; what compares values again (a
 * dashboard's drill-down and raw-rows pages) reads `iso`.
 */
export class PreciseTime extends Date {
  constructor(
    ms: number,
    readonly iso: string,
  ) {
    super(ms);
  }
}

/**
 * An integer's text as DuckDB's reader hands BIGINT: a number while it is exact, a bigint past
 * 2^53 (Number() rounds silently); text that is no integer (a numeric's '1.5') as a number.
 */
export function exactInteger(v: string): number | bigint {
  const n = Number(v);
  return Number.isSafeInteger(n) || !/^-?\d+$/.test(v) ? n : BigInt(v);
}

/** A timestamp from a whole number of milliseconds and the digits below them ('456' of .123456). */
export function preciseTime(ms: number, below: string): Date {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime()) || !/[1-9]/.test(below)) return d;
  return new PreciseTime(ms, `${d.toISOString().slice(0, -1)}${below.replace(/0+$/, '')}Z`);
}

/**
 * A value read from a warehouse as JSON can carry it, numbers exact: an integer past 2^53 and
 * BigQuery's NUMERIC (the client's Big) as ExactNumber, BigQuery's DATE, DATETIME, TIME and
 * TIMESTAMP as their text (the client's .value), times in ISO (to the digit), bytes in base64;
 * in lists and structs too.
 */
export function jsonValue(v: unknown): unknown {
  if (v instanceof ExactNumber) return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : new ExactNumber(v.toString());
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v instanceof PreciseTime) return v.iso;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (!v || typeof v !== 'object') return v;
  if (v.constructor?.name === 'Big') return new ExactNumber((v as { toFixed(): string }).toFixed());
  // (by the class: a struct of one field named value is a struct; a TIMESTAMP's .value has
  // nanosecond digits, zeros past the µs BigQuery keeps)
  if (/^(BigQuery(Date|Datetime|Time|Timestamp)|Geography)$/.test(v.constructor?.name ?? '')) return String((v as { value: unknown }).value).replace(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6})000Z$/, '$1Z');
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
}

/** A value as one text: jsonValue's text, or its JSON (exactJson: an exact number its digits, a list or struct `[1,2]`). */
export function valueText(v: unknown): string {
  const j = jsonValue(v);
  return typeof j === 'string' ? j : exactJson(j);
}

/** JSON.stringify of a jsonValue, an ExactNumber written as the number it is (not `{"text":...}`). */
export function exactJson(v: unknown, space?: number): string {
  const mark = `\u0000vigil-${Math.random().toString(36).slice(2)}:`;
  const text = JSON.stringify(v, (_k, x: unknown) => (x instanceof ExactNumber ? `${mark}${x.text}` : x), space);
  const escaped = JSON.stringify(mark).slice(1, -1);
  return text.replace(new RegExp(`"${escaped.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(-?[0-9][0-9.eE+-]*)"`, 'g'), '$1');
}

export interface MaterializeRequest {
  kind: 'view' | 'table' | 'incremental';
  relation: Relation;
  /** The full-build SELECT. */
  sql: string;
  /** The SELECT with is_incremental() true (incremental models only). */
  incrementalSql?: string;
  uniqueKey?: string[];
  strategy?: 'append' | 'merge' | 'delete+insert' | 'insert_overwrite';
  fullRefresh: boolean;
  onSchemaChange?: 'ignore' | 'fail' | 'append_new_columns';
  /** The model's config, for warehouse-specific options (BigQuery partitioning, clustering, labels). */
  config?: Record<string, unknown>;
  /** Where each config key is written (`models/x.sql:1:33`), for an error about one. */
  configAt?: Record<string, { file: string; line?: number; column?: number }>;
  /** Documentation that warehouses which store it (BigQuery) put on the table and its columns. */
  description?: string;
  columns?: Array<{ name: string; description?: string }>;
  /** Statements run before the model's, in its transaction where the warehouse has them (transaction: false: before it begins). */
  preHooks?: Hook[];
  /** Statements run after the model's (on the built relation), in the same transaction (transaction: false: after it commits). */
  postHooks?: Hook[];
  /** Who may read the built relation (docs/governance.md#grants); an adapter that applies them itself says so in its result. */
  grants?: GrantRequest;
  /**
   * Incremental models: how the published SELECT masks each column (maskingRecord). Recorded in
   * the table's comment; an incremental run into a table recorded with other masking is refused.
   */
  masking?: Record<string, string>;
}

/** A hook statement (pre_hook, post_hook, on_run_start, on_run_end) and where it is written. */
export interface Hook {
  kind: 'pre_hook' | 'post_hook' | 'on_run_start' | 'on_run_end';
  sql: string;
  /** file:line of its definition */
  origin: string;
  /** false: run outside the model's transaction, a pre_hook before it begins, a post_hook after it commits (absent: in it) */
  transaction?: false;
  /**
   * An incremental model's hook as it renders with is_incremental() true, when that is other text
   * than `sql` (its full build's): run by a build that appends to the table (hooksOfRun).
   */
  sql_incremental?: string;
}

/**
 * The model's hooks as this build runs them: rendered as its SQL is, with is_incremental() true
 * when the build appends to the existing table (`appends`: it runs incrementalSql), false when
 * it builds the table (first run, --full-refresh, an empty table filled from the full query).
 */
export function hooksOfRun<R extends Pick<MaterializeRequest, 'preHooks' | 'postHooks'>>(req: R, appends: boolean): R {
  const pick = (hooks: Hook[] | undefined) => hooks?.map(({ sql_incremental, ...h }) => (appends && sql_incremental !== undefined ? { ...h, sql: sql_incremental } : h));
  return { ...req, preHooks: pick(req.preHooks), postHooks: pick(req.postHooks) };
}

/** A hook's statement failed: the message names the hook and where it is written. */
export class HookError extends WarehouseError {
  constructor(
    readonly hook: Hook,
    cause: unknown,
  ) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    super(`${hook.kind} (${hook.origin}) failed: ${msg}`, hook.sql, { cause, position: cause instanceof WarehouseError ? cause.position : undefined });
    this.name = 'HookError';
  }
}

/** Run hooks in order with `run`; the first failure is a HookError. */
export async function runHooks(hooks: Hook[] | undefined, run: (sql: string) => Promise<unknown>): Promise<void> {
  for (const h of hooks ?? []) {
    try {
      await run(h.sql);
    } catch (e) {
      throw new HookError(h, e);
    }
  }
}

/** The model's pre-hooks, its build, its post-hooks: the body of a materialization. */
export async function withHooks<T>(req: Pick<MaterializeRequest, 'preHooks' | 'postHooks'>, run: (sql: string) => Promise<unknown>, build: () => Promise<T>): Promise<T> {
  await runHooks(req.preHooks, run);
  const r = await build();
  await runHooks(req.postHooks, run);
  return r;
}

/**
 * The model's hooks around its transaction, in dbt's order: pre-hooks with transaction: false
 * first, each on its own (autocommit); then `tx` given the other hooks (the transaction: its
 * pre-hooks, the build, its post-hooks); post-hooks with transaction: false once `tx` has
 * returned (committed): a failed build runs none of those.
 */
export async function aroundTransaction<T>(req: Pick<MaterializeRequest, 'preHooks' | 'postHooks'>, run: (sql: string) => Promise<unknown>, tx: (inside: Pick<MaterializeRequest, 'preHooks' | 'postHooks'>) => Promise<T>): Promise<T> {
  const inside = (h: Hook) => h.transaction !== false;
  await runHooks(req.preHooks?.filter((h) => !inside(h)), run);
  const r = await tx({ preHooks: req.preHooks?.filter(inside), postHooks: req.postHooks?.filter(inside) });
  await runHooks(req.postHooks?.filter((h) => !inside(h)), run);
  return r;
}

export function hasHooks(req: Pick<MaterializeRequest, 'preHooks' | 'postHooks'>): boolean {
  return !!(req.preHooks?.length || req.postHooks?.length);
}

/** A foreign-key constraint `constraint` of the table `on`, dropped with the table it references (Postgres' `drop ... cascade`). */
export interface DroppedKey {
  constraint: string;
  on: Relation;
}

export interface MaterializeResult {
  /** e.g. "created view", "created table", "inserted 120 rows" */
  message: string;
  rows?: number;
  /** Something the run should say beside its result (new rows whose unique key holds a NULL). */
  warning?: string;
  /** An incremental table that held no row, filled from the model's whole query (not its is_incremental() rows), as a first run is. */
  refilled?: boolean;
  /** Views the build dropped with the relation they read (Postgres' `drop ... cascade`): gone until they are built again. */
  dropped?: Relation[];
  /** Foreign keys of other tables referencing the rebuilt table, which the same cascade dropped (Postgres). */
  droppedKeys?: DroppedKey[];
  /** The request's grants, applied in the build's transaction: what changed. Absent: not applied (the executor applies them). */
  grants?: GrantPlan;
}

/** A table to create and fill from a CSV file (RFC 4180 quoting, empty unquoted field = NULL; LF or CRLF). */
export interface LoadRequest {
  relation: Relation;
  /** Called once the bulk load runs on the warehouse's side, so the caller may keep its own thread busy meanwhile. */
  onStarted?: () => void;
  /** Called with the views the load dropped with the table they read (Postgres' `drop ... cascade`, the columns changed): gone until they are built again. */
  onDropped?: (views: Relation[], keys: DroppedKey[]) => void;
  /**
   * `decimal`: the column's exact type, which `type` (float) stands for elsewhere; `pgType`: the
   * column's type as the application's database (Postgres) spells it, `integer` where `type` (int)
   * would be a bigint, each warehouse spelling it as sync does (dialect.ts loadColumnType).
   */
  columns: Array<{ name: string; type: CanonicalType; decimal?: DecimalType; pgType?: string }>;
  /** RFC 4180 CSV whose records end in LF, or CRLF where `newline` says so; a quoted field may hold any line break. */
  file: string;
  /** How every record of `file` ends (default LF); CRLF only to an adapter that `loadsCrlf` (else seeds with CRLF are rewritten first: seed-csv.ts). */
  newline?: '\n' | '\r\n';
  /** The file's first line is a header, skipped (default: no header). */
  header?: boolean;
  /** The field separator, one character (default ','). */
  delimiter?: string;
  /** At least the bytes of `file`'s longest record, where the caller knows them: a warehouse whose reader bounds a record (DuckDB's read_csv: 2,000,000 bytes) is told to take it. */
  maxRecordBytes?: number;
  /** Declared where the warehouse enforces keys (and used for the indexes a sync reads by). */
  primaryKey?: string[];
  /** Secondary indexes, where the warehouse has them: column lists. */
  indexes?: string[][];
}

/** What building a model would process (Adapter.estimate), for `vigil build --dry-run`. */
export interface Estimate {
  /** every statement's bytes, summed */
  bytesProcessed: number;
  /** what the warehouse would bill for them, each statement on its own (BigQuery on-demand: rounded up to the MB, minimums per statement and table); absent: bytesProcessed */
  bytesBilled?: number;
  /** a view: the bytes its query reads each time it is read */
  viewReads?: number;
  /** counted without the pruning only the run knows */
  upperBound?: boolean;
  /** a script's statements, each dry-run on its own (a limit such as maximum_bytes_billed holds each to itself); absent: one statement */
  statements?: Array<{ what: string; bytes: number; billed?: number }>;
}

/**
 * The I/O surface of a connected warehouse. Runtime values (state documents, labels, cursors,
 * comments) always travel as bind parameters: `dialect.param(i)` in the SQL, `params[i - 1]`.
 */
export interface Adapter {
  readonly warehouse: Warehouse;
  readonly type: string;
  readonly dialect: Dialect;
  /** How many statements can usefully run at once. */
  readonly maxConcurrency: number;
  execute(sql: string, params?: SqlParam[]): Promise<void>;
  /**
   * Ask the warehouse to stop the statements running now, which would run on without this process
   * (BigQuery's jobs): what was asked to stop, for people (a job id each). Absent where a statement
   * ends with the process (DuckDB, Postgres: a session's transaction rolls back).
   */
  cancelRunning?(): Promise<string[]>;
  /** Run one DML statement: the rows it changed, or undefined when the warehouse does not say (absent: never says). */
  executeCounted?(sql: string, params?: SqlParam[]): Promise<number | undefined>;
  query<T extends Row = Row>(sql: string, params?: SqlParam[]): Promise<T[]>;
  /**
   * The TimeZone this adapter's sessions read `current_date`, `date_trunc` and `::date` of a
   * timestamp with time zone in (Postgres: the one the url's `options` set, else UTC), as the
   * warehouse names it; absent: UTC (DuckDB's sessions set it, BigQuery has no other).
   */
  sessionZone?(): Promise<string>;
  /**
   * A query's rows as the warehouse spells them (`vigil show`): numbers exact (ExactNumber where
   * a JavaScript number is not; NaN and infinities as text), dates, times, timestamps and
   * intervals as the warehouse's own text, to the microsecond. Without it, `query`'s values.
   */
  preview?(sql: string): Promise<Preview>;
  /** Whether `preview` names the columns of a result without rows, at the cost of planning it (BigQuery's names none, and each preview is a job): alert evaluation checks an empty result's columns where it does. */
  readonly previewNamesEmpty?: boolean;
  relationExists(rel: Relation): Promise<'table' | 'view' | null>;
  /** A table's comment (Postgres, DuckDB: COMMENT ON TABLE; BigQuery: its description); null without one. */
  tableComment?(rel: Relation): Promise<string | null>;
  /** Set a table's comment (`vigil demo` marks its tables with it). */
  commentTable?(rel: Relation, comment: string): Promise<void>;
  /** Set a view's comment (Vigil marks its restricted companions with it: run/companions.ts); absent where Vigil does not mark them (BigQuery). */
  commentView?(rel: Relation, comment: string): Promise<void>;
  /** The views of `schema` and their comments (null without one), read from the catalog each time. */
  viewComments?(schema: string): Promise<Array<{ identifier: string; comment: string | null }>>;
  /** Of `roles`, those that are no role of the warehouse (Postgres' pg_roles; PUBLIC is one); absent where grantees are not checked before a build. */
  missingRoles?(roles: string[]): Promise<string[]>;
  /** The views dropping `rel` drops with it (Postgres' `drop ... cascade`); absent where a drop leaves the views. */
  dependentViews?(rel: Relation): Promise<Relation[]>;
  columns(rel: Relation): Promise<Column[]>;
  /**
   * The columns of every relation of `schema`, by its identifier as `key` spells it: one catalog
   * query for a schema's relations (`vigil docs generate`), where asking each one scans the
   * catalog each time (DuckDB: 2,000 relations read in 11.6 s). Absent where `columns` is cheap.
   */
  schemaColumns?(schema: string): Promise<{ key: (identifier: string) => string; columns: Map<string, Column[]> }>;
  ensureSchema(schema: string): Promise<void>;
  materialize(req: MaterializeRequest): Promise<MaterializeResult>;
  /** Replace `req.relation` with a table holding the file's rows; returns the row count. */
  loadTable(req: LoadRequest): Promise<number>;
  /** loadTable reads a file whose records end in CRLF (`LoadRequest.newline`) as it is. */
  readonly loadsCrlf?: boolean;
  /**
   * Replace `to` with the table `from` (dropped as a name), in one transaction; cheap, so seeds
   * may be loaded speculatively into a staging table while their file is still being checked.
   */
  replaceTable?(from: Relation, to: Relation): Promise<void>;
  /** How `vigil sync` writes into this warehouse. */
  syncWriter(): SyncWriter;
  /** How `vigil sync` reads from this warehouse, when it can be a sync source (`capabilities.syncSource`). */
  syncReader?(): SyncReader;
  /** Bytes a statement would process, without running it (`capabilities.dryRun`), and what the warehouse would bill for them (absent: the same). */
  dryRun?(sql: string): Promise<{ bytesProcessed: number; bytesBilled?: number }>;
  /** Bytes building `req` would process: every statement the build sends, not only its SELECT (`vigil build --dry-run`). */
  estimate?(req: MaterializeRequest): Promise<Estimate>;
  /** --defer (DuckDB): read another database file under `alias`, read-only, also in later sessions. */
  attachReadOnly?(file: string, alias: string): Promise<void>;
  /**
   * `vigil retention apply` (warehouses with transactions): delete at most `limit` rows matching
   * `where` (bind parameters `params`; `where` is checked again on the rows deleted, so a row a
   * concurrent writer changed since the batch was picked is left alone), then run the statement `then(deleted)` gives (the run's
   * log), in one transaction; the rows deleted. Without it, retention deletes by ranges of the
   * timestamp column, one statement each (BigQuery: partition-pruned).
   */
  deleteBatch?(rel: Relation, where: string, params: SqlParam[], limit: number, then: (deleted: number) => { sql: string; params: SqlParam[] }): Promise<number>;
  /**
   * The foreign keys of tables (this one too) that reference `rel`'s rows, with what a DELETE of a
   * referenced row does to the rows referencing it (Postgres' `pg_constraint`). `vigil retention`
   * says what its deletes reach besides the rows it plans, and the keys that will refuse them
   * (DuckDB's: `duckdb_constraints()`, none with an action). Absent: no foreign key acts on a
   * delete (BigQuery's are not enforced).
   */
  referencingKeys?(rel: Relation): Promise<ReferencingKey[]>;
  /**
   * Run `fn` holding the lock materialize() takes on `rel` (two processes writing one relation run
   * one after the other), the statements `fn` sends through the adapter it is given in one
   * transaction, committed when it returns, rolled back when it throws (Postgres; `vigil
   * snapshot`). Absent: no such lock (DuckDB: one process writes a database file).
   */
  exclusive?<T>(rel: Relation, fn: (adapter: Adapter) => Promise<T>): Promise<T>;
  /** Who may read `rel` besides its owner (`capabilities.grants`): role names, IAM members. */
  currentGrantees?(rel: Relation): Promise<string[]>;
  /** Told, one line each, when a statement is retried or its result polled again, or waits for a lock past a moment (Postgres: who holds it) (the CLI prints it). */
  onRetry?: (message: string) => void;
  close(): Promise<void>;
}

/**
 * Where a warehouse error points in the compiled SQL it came from: the error's position is
 * relative to the statement that was executed (DDL, a MERGE script) and the compiled SQL sits
 * somewhere inside it, possibly more than once (a statement may read it twice); the
 * occurrence that spans the error's line is the one that failed.
 */
export function compiledPosition(executedSql: string, position: { line: number; column?: number } | undefined, compiledSql: string): { line: number; column?: number } | undefined {
  if (!position || !compiledSql) return undefined;
  const body = compiledSql.replace(/\s+$/, '');
  const span = body.split('\n').length;
  let from = 0;
  for (;;) {
    const at = executedSql.indexOf(body, from);
    if (at < 0) break;
    const startLine = executedSql.slice(0, at).split('\n').length;
    const startCol = at - executedSql.lastIndexOf('\n', at - 1);
    if (position.line >= startLine && position.line < startLine + span) {
      const line = position.line - startLine + 1;
      const column = position.column === undefined ? undefined : line === 1 ? Math.max(1, position.column - startCol + 1) : position.column;
      return { line, column };
    }
    from = at + 1;
  }
  // the error is in the statement around the compiled SQL (its DDL), not in the model's own SQL
  return undefined;
}

/**
 * A warehouse error's message with its `LINE n:` (line `executed` of the statement run, which
 * wraps the compiled SQL in DDL) said as the compiled SQL's line `compiled`, the line the
 * message's `compiled SQL: file:line` names; DuckDB's caret under it kept in place.
 */
export function atCompiledLine(message: string, executed: number, compiled: number): string {
  return message.replace(new RegExp(`^LINE ${executed}: (.*)(\\n( *)\\^)?`, 'm'), (_all, text: string, caretLine?: string, spaces?: string) => {
    const shift = String(compiled).length - String(executed).length;
    return `LINE ${compiled}: ${text}${caretLine === undefined ? '' : `\n${' '.repeat(Math.max(0, spaces!.length + shift))}^`}`;
  });
}

/** The column a `partition_by` config partitions on: a bare name, `{ field }`, or the column inside an expression. */
export function partitionField(p: unknown): string | undefined {
  if (!p) return undefined;
  // (quoted or not, spaced as BigQuery's DDL takes it: `day`, date( created_at ), timestamp_trunc(`ts`, day))
  if (typeof p === 'string') return /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? p : (/^\s*`([A-Za-z_][A-Za-z0-9_]*)`\s*$/.exec(p) ?? /\(\s*`?([A-Za-z_][A-Za-z0-9_]*)/.exec(p))?.[1];
  return (p as { field?: string }).field;
}

/** A `partition_by` as BigQuery partitions a table: its column, cut to a time unit or into integer ranges (neither: by its values). */
export interface PartitionSpec {
  field: string;
  granularity?: 'hour' | 'day' | 'month' | 'year';
  range?: { start: number; end: number; interval: number };
}

/**
 * What a `partition_by` config means: `{ field, data_type, granularity, range }` as dbt-bigquery
 * reads it (data_type date by default, granularity day), or BigQuery's PARTITION BY expressions
 * written as text: `col`, `date(col)`, `timestamp_trunc(col, month)` (and datetime_, date_),
 * `range_bucket(col, generate_array(0, 100, 10))`. Another expression: by its column's values.
 */
export function partitionSpec(p: unknown): PartitionSpec | undefined {
  const field = partitionField(p);
  if (!field) return undefined;
  if (typeof p === 'object') {
    const o = p as { data_type?: string; granularity?: string; range?: PartitionSpec['range'] };
    if ((o.data_type ?? 'date').toLowerCase() === 'int64') return o.range ? { field, range: o.range } : { field };
    // neither a type nor a granularity: by the column's values (for a DATE column, its days; a
    // text column, partitioned so on DuckDB or Postgres, failed in date_trunc on every incremental run)
    if (o.data_type === undefined && o.granularity === undefined) return { field };
    return { field, granularity: (o.granularity ?? 'day').toLowerCase() as PartitionSpec['granularity'] };
  }
  const s = String(p).trim();
  if (/^date\s*\(\s*[A-Za-z_]\w*\s*\)$/i.test(s)) return { field, granularity: 'day' };
  const trunc = /^(?:timestamp|datetime|date)_trunc\s*\(\s*[A-Za-z_]\w*\s*,\s*(hour|day|month|year)\s*\)$/i.exec(s);
  if (trunc) return { field, granularity: trunc[1].toLowerCase() as PartitionSpec['granularity'] };
  // (an interval not above 0 is an error at compile: BigQuery's GENERATE_ARRAY takes no step of 0)
  const range = /^range_bucket\s*\(\s*[A-Za-z_]\w*\s*,\s*generate_array\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)\s*\)$/i.exec(s);
  if (range) return { field, range: { start: Number(range[1]), end: Number(range[2]), interval: Number(range[3]) } };
  return { field };
}

/**
 * The partition a row is in, in the SQL DuckDB and Postgres share (`column`: the partition
 * column as the statement names it): the time unit it falls in, or BigQuery's RANGE_BUCKET (the
 * number of range bounds at or below the value); else the value itself.
 */
export function partitionKeySql(spec: PartitionSpec, column: string): string {
  if (spec.range) {
    const { start, end, interval } = spec.range;
    const bounds = Math.floor((end - start) / interval) + 1;
    return `least(greatest(floor((${column} - ${start}) / ${interval}.0) + 1, 0), ${bounds})`;
  }
  return spec.granularity ? `date_trunc('${spec.granularity}', ${column})` : column;
}

/**
 * insert_overwrite on DuckDB and Postgres: delete from `rel` the rows in the partitions the new
 * rows (staged in `staged`) are in; an integer range by its values, as dbt-bigquery and Vigil's
 * BigQuery adapter replace it (only the stored rows whose value is among the new rows', not the
 * rest of their RANGE_BUCKET).
 */
export function partitionDeleteSql(rel: string, staged: string, spec: PartitionSpec, column: string): string {
  const key = spec.range ? column : partitionKeySql(spec, column);
  return `delete from ${rel} where ${key} in (select ${key} from ${staged})`;
}

/**
 * A column as the table spells it: `name` itself, else the one column whose name differs from it
 * only in case (SQL folds an unquoted name: dbt's unique_key='ID' reads the column id); else `name`.
 */
export function columnNamed(name: string, columns: string[]): string {
  if (columns.includes(name)) return name;
  const same = columns.filter((c) => c.toLowerCase() === name.toLowerCase());
  return same.length === 1 ? same[0] : name;
}

/**
 * on_schema_change: fail, as dbt has it: the incremental rows' columns against the table's, by
 * name and type (`fold`: names compared case-insensitively, as the warehouse reads them). A
 * message naming what differs (new, gone, retyped), or undefined when they match.
 */
export function schemaChangeFailure(rel: string, table: Array<{ name: string; type: string }>, incoming: Array<{ name: string; type: string }>, fold = false): string | undefined {
  const key = (n: string) => (fold ? n.toLowerCase() : n);
  const have = new Map(table.map((c) => [key(c.name), c.type]));
  const now = new Map(incoming.map((c) => [key(c.name), c.type]));
  const added = incoming.filter((c) => !have.has(key(c.name))).map((c) => c.name);
  const gone = table.filter((c) => !now.has(key(c.name))).map((c) => c.name);
  const retyped = incoming.filter((c) => have.has(key(c.name)) && have.get(key(c.name))!.toLowerCase() !== c.type.toLowerCase()).map((c) => `${c.name} ${have.get(key(c.name))} -> ${c.type}`);
  if (!added.length && !gone.length && !retyped.length) return undefined;
  const parts = [added.length ? `new columns ${added.join(', ')}` : '', gone.length ? `columns no longer selected: ${gone.join(', ')}` : '', retyped.length ? `types changed: ${retyped.join(', ')}` : ''].filter(Boolean);
  return `the model's columns differ from ${rel} (on_schema_change: fail): ${parts.join('; ')}; run with --full-refresh to rebuild it`;
}

/**
 * on_schema_change ignore and append_new_columns when the model no longer selects columns the
 * table has (`gone`): ignore fails, as dbt's (its insert names the table's columns);
 * append_new_columns keeps them (as dbt's) and fails only when the run replaces stored rows
 * (`replaces`), whose values in them would be lost. A message naming them and the ways out, or
 * undefined when the write may go ahead (append_new_columns appending: NULL in the new rows).
 */
export function droppedColumnsFailure(rel: string, gone: string[], policy: 'ignore' | 'append_new_columns', replaces: boolean): string | undefined {
  if (!gone.length || (policy === 'append_new_columns' && !replaces)) return undefined;
  const them = gone.length === 1 ? 'it' : 'them';
  const why = policy === 'ignore' ? `writing without ${them} would leave ${them} NULL in the rows this run adds${replaces ? ` and erase ${gone.length === 1 ? 'its' : 'their'} values in the rows it replaces` : ''}` : `the rows this run replaces would lose their values in ${them}`;
  return `the model no longer selects column${gone.length === 1 ? '' : 's'} ${gone.join(', ')} of ${rel} (on_schema_change: ${policy}): ${why}; select ${them} again, or run with --full-refresh to rebuild the table without ${them}`;
}

/**
 * on_schema_change append_new_columns adding (`added`: the new rows' columns the table has not) a
 * column the run replaces by — a unique_key column, insert_overwrite's partition column — to a
 * table that holds rows: every stored row would hold NULL in it, which matches no new row, so the
 * run would replace none of them and store each of their keys twice. The failure, or undefined.
 */
export function newReplaceColumnFailure(rel: string, added: string[], replace: { keys: string[] } | { partition: PartitionSpec } | undefined): string | undefined {
  if (!replace || !added.length) return undefined;
  const by = 'keys' in replace ? replace.keys : [replace.partition.field];
  const fresh = by.filter((k) => added.some((a) => a.toLowerCase() === k.toLowerCase()));
  if (!fresh.length) return undefined;
  const one = fresh.length === 1;
  const what = 'keys' in replace ? 'unique_key' : "insert_overwrite's partition_by";
  return `${what} column${one ? '' : 's'} ${fresh.join(', ')} ${one ? 'is' : 'are'} new to ${rel} (on_schema_change: append_new_columns): its stored rows would hold NULL in ${one ? 'it' : 'them'}, which matches no new row, so this run would replace none of them and store ${'keys' in replace ? 'their keys' : 'their partitions'} twice; nothing was changed. Run with --full-refresh to rebuild the table with ${one ? 'it' : 'them'}`;
}

/** Kinds of values that compare across their types (typeFamily): numbers; dates and date-times; text. */
const CAST_COMPARABLE = [['int', 'float', 'numeric'], ['date', 'local', 'instant'], ['string']];

/**
 * Scalar kinds a DuckDB INSERT casts between (text into a date, an integer into a boolean): a
 * value such a cast changes is found by casting it back (castLossSql).
 */
const CAST_ACROSS = ['int', 'float', 'numeric', 'date', 'local', 'instant', 'string', 'bool', 'time'];

/** A list (array) type's innermost element family, else the type's own (typeFamily). */
const leafFamily = (t: string): string => {
  let f = typeFamily(t, 'local');
  for (let m = /^array<(.*)>$/.exec(f); m; m = /^array<(.*)>$/.exec(f)) f = m[1];
  return f;
};

/** A list (array, DuckDB's fixed-size INTEGER[2] too), struct or map type: its values are compared whole, read back (castLossSql). */
const isNested = (t: string) => {
  const f = typeFamily(t, 'local');
  return f.startsWith('array<') || f === 'struct' || /^\s*map\s*\(/i.test(t) || /\[\d+\]\s*$/.test(t);
};

/**
 * on_schema_change ignore and append_new_columns: the columns the table (`table`) and the new rows
 * (`incoming`) both have with another type, of kinds whose values compare (castLossSql): the
 * write casts the new values to the table's type (`stored`). `fold`: names case-insensitively.
 * `across`: the write casts between kinds too (DuckDB's INSERT: '2026-01-02 10:30' into a date
 * is 2026-01-02, 2 into a boolean true; Postgres' refuses all but into text), so those are in.
 */
export function retypedColumns(table: Array<{ name: string; type: string }>, incoming: Array<{ name: string; type: string }>, fold = false, across = false): Array<{ name: string; stored: string; now: string }> {
  const key = (n: string) => (fold ? n.toLowerCase() : n);
  const have = new Map(table.map((c) => [key(c.name), c.type]));
  const group = (t: string) => CAST_COMPARABLE.findIndex((g) => g.includes(typeFamily(t, 'local')));
  const scalar = (t: string) => CAST_ACROSS.includes(typeFamily(t, 'local'));
  // (a list whose elements are of such kinds, a struct, a map: the write casts their elements as
  // it casts a column, [1.5, 2] into an integer[] is [2, 2] on both; Postgres only between arrays
  // whose elements compare, DuckDB's between any nested types)
  const leafGroup = (t: string) => CAST_COMPARABLE.findIndex((g) => g.includes(leafFamily(t)));
  const nested = (c: { stored: string; now: string }) => isNested(c.stored) && isNested(c.now) && (across || (leafGroup(c.stored) >= 0 && leafGroup(c.stored) === leafGroup(c.now)));
  return incoming
    .filter((c) => have.has(key(c.name)) && have.get(key(c.name))!.toLowerCase() !== c.type.toLowerCase())
    .map((c) => ({ name: c.name, stored: have.get(key(c.name))!, now: c.type }))
    .filter((c) => (group(c.stored) >= 0 && group(c.stored) === group(c.now)) || (across && scalar(c.stored) && scalar(c.now)) || nested(c));
}

/**
 * How many of the new rows (staged in `staged`) hold a value the table's type changes as the
 * write casts it (3.7 into an integer is 4, a timestamp into a date loses its time, text into
 * varchar(3) is cut), per retyped column (`n<i>`), and one of them as text, `value -> written`
 * (`e<i>`). `quote` names a column as the statement does, `text` is the dialect's string type.
 * `floatDigits`: a float column's values to the 15 digits a double holds (as Postgres casts one
 * to numeric): a float going into an exact type keeps its value when it is written as that too
 * (1.1 * 3, the double 3.3000000000000003, written 3.300 into a decimal(18,3)); 1.0005 does not.
 * `tryCast`: the dialect has try_cast (DuckDB), so a value the table's type cannot hold at all
 * (3000000000 into an integer) is said as `3000000000 -> NULL`; without it the query fails
 * (castOverflowFailure).
 */
export function castLossSql(staged: string, retyped: Array<{ name: string; stored: string; now?: string }>, quote: (name: string) => string, text: string, floatDigits?: (col: string) => string, tryCast = false): string {
  const parts = retyped.flatMap((c, i) => {
    const col = quote(c.name);
    const exact = ['int', 'numeric'].includes(typeFamily(c.stored, 'local'));
    // (a value of another kind — text into a date, an integer into a boolean, on DuckDB — compares
    // as it reads back: '2026-01-02 10:30' is kept as 2026-01-02, 2 as true, which reads back as
    // 1; text that is no such value, 'abc' into an integer, is said as `abc -> NULL`)
    const kind = (t: string) => CAST_COMPARABLE.findIndex((g) => g.includes(typeFamily(t, 'local')));
    // (a list, struct or map compares whole, as it reads back: [1.5, 2] kept as [2, 2] reads back
    // as [2, 2]. Compared exactly: a float list into a decimal one is not read to 15 digits.
    // A kept value the model's type cannot hold back, [9.6] as a decimal(2,1)[] kept as [10], was
    // changed: DuckDB's try_cast says it (and [3000000000] into an integer[], `-> [NULL]`) rather
    // than the query failing; Postgres, whose nested retypes are arrays of one kind, compares both
    // as an array of that kind's widest type instead of casting back)
    if (c.now !== undefined && isNested(c.stored) && isNested(c.now)) {
      const kept = `${tryCast ? 'try_cast' : 'cast'}(${col} as ${c.stored})`;
      const wide = `${['numeric', 'timestamptz', text][CAST_COMPARABLE.findIndex((g) => g.includes(leafFamily(c.stored)))] ?? text}[]`;
      const lossy = tryCast ? `try_cast(${kept} as ${c.now}) is distinct from ${col}` : `cast(${kept} as ${wide}) is distinct from cast(${col} as ${wide})`;
      return [`count(case when ${lossy} then 1 end) as n${i}`, `min(case when ${lossy} then cast(${col} as ${text}) || ' -> ' || coalesce(cast(${kept} as ${text}), 'NULL') end) as e${i}`];
    }
    const across = c.now !== undefined && (kind(c.stored) < 0 || kind(c.stored) !== kind(c.now));
    const written = `${across || tryCast ? 'try_cast' : 'cast'}(${col} as ${c.stored})`;
    // (a float is kept when the written value is it, or it to 15 digits: 2^60 as a double into a bigint is kept too)
    // (text into a date or date-time compares as the instant it reads as, not as its text read back:
    // '2026-01-02T10:30:00Z' into a timestamp is 2026-01-02 10:30:00, the same instant, kept;
    // '2026-01-02 10:30' into a date and '... +02' into a timestamp, whose offset the cast drops, are not)
    const instantText = across && typeFamily(c.now!, 'local') === 'string' && ['date', 'local', 'instant'].includes(typeFamily(c.stored, 'local'));
    const lossy = instantText
      ? `(${written} is distinct from try_cast(${col} as timestamp with time zone) or (${written} is null and ${col} is not null))`
      : across ? `cast(${written} as ${c.now}) is distinct from ${col}` : `${written} is distinct from ${col}${floatDigits && c.now !== undefined && exact && typeFamily(c.now, 'local') === 'float' ? ` and ${written} is distinct from ${floatDigits(col)}` : ''}`;
    return [`count(case when ${lossy} then 1 end) as n${i}`, `min(case when ${lossy} then cast(${col} as ${text}) || ' -> ' || coalesce(cast(${written} as ${text}), 'NULL') end) as e${i}`];
  });
  return `select ${parts.join(', ')} from ${staged}`;
}

/**
 * castLossSql's answer (`row`) as the model's failure, or undefined when no value changes: the
 * write would store other values than the model's without a word (BigQuery refuses most such
 * assignments, a FLOAT64 into an INT64; dbt's DuckDB and Postgres runs cast them).
 */
export function castLossFailure(rel: string, policy: 'ignore' | 'append_new_columns', retyped: Array<{ name: string; stored: string; now: string }>, row: Row | undefined): string | undefined {
  const lost = retyped.map((c, i) => ({ ...c, n: Number(row?.[`n${i}`] ?? 0), e: row?.[`e${i}`] })).filter((c) => c.n > 0);
  if (!lost.length) return undefined;
  const said = lost.map((c) => `${c.name} (${c.now} -> ${c.stored}: ${c.n} row${c.n === 1 ? '' : 's'}, e.g. ${String(c.e)})`).join(', ');
  return `the model's column${lost.length === 1 ? '' : 's'} changed type and ${rel} would store other values than it selects (on_schema_change: ${policy}): ${said}; cast ${lost.length === 1 ? 'it' : 'them'} to the table's type in the model, or run with --full-refresh to rebuild the table with the new type`;
}

/**
 * castLossSql's query failing where the dialect has no try_cast (Postgres, a data exception:
 * 3000000000 into an integer is "integer out of range"): a new value the table's type of a retyped
 * column cannot hold, said as the model's failure with the columns it may be in (`reason`: the
 * warehouse's message).
 */
export function castOverflowFailure(rel: string, policy: 'ignore' | 'append_new_columns', retyped: Array<{ name: string; stored: string; now: string }>, reason: string): string {
  const one = retyped.length === 1;
  const said = retyped.map((c) => `${c.name} (${c.now} -> ${c.stored})`).join(', ');
  return `the model's column${one ? '' : 's'} changed type and ${rel} cannot hold a value of the new rows (on_schema_change: ${policy}): ${one ? '' : 'one of '}${said}: ${reason}; cast ${one ? 'it' : 'them'} to the table's type in the model, or run with --full-refresh to rebuild the table with the new type`;
}

/** The line of an incremental table's comment that records the masking it was built with. */
const MASKING_LINE = 'vigil masking: ';

/** The masking recorded in a table's comment; undefined when none is (a table built by something else, or before Vigil recorded it). */
export function recordedMasking(comment: string | null | undefined): Record<string, string> | undefined {
  const line = comment?.split('\n').find((l) => l.startsWith(MASKING_LINE));
  if (!line) return undefined;
  try {
    const v: unknown = JSON.parse(line.slice(MASKING_LINE.length));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}

/** A masking record as JSON, its columns in order. */
const maskingJson = (masking: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(masking).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

/**
 * `comment` with its masking line set to `masking` (the rest, e.g. a post-hook's comment, kept);
 * undefined when it already holds that line: the comment is written only when the record
 * changes (Postgres lets only a table's owner comment on it, and a role that may write to an
 * incremental table need not own it).
 */
export function withMaskingLine(comment: string | null | undefined, masking: Record<string, string>): string | undefined {
  const lines = (comment ?? '').split('\n');
  const line = MASKING_LINE + maskingJson(masking);
  if (lines.includes(line)) return undefined;
  const rest = lines.filter((l) => !l.startsWith(MASKING_LINE)).join('\n');
  return rest ? `${rest}\n${line}` : line;
}

/**
 * The masking an incremental run leaves recorded: the model's (`now`), and for each column of the
 * table the new rows do not write (`unwritten`: one the model no longer publishes, e.g. now
 * `policy: drop`) what `built` recorded for it: its stored rows keep that masking, so a later run
 * publishing the column otherwise is still refused. Names case-insensitively.
 */
export function maskingAfterRun(built: Record<string, string> | undefined, now: Record<string, string>, unwritten: string[]): Record<string, string> {
  const out = { ...now };
  const gone = new Set(unwritten.map((c) => c.toLowerCase()));
  const has = new Set(Object.keys(now).map((c) => c.toLowerCase()));
  for (const [c, p] of Object.entries(built ?? {})) if (gone.has(c.toLowerCase()) && !has.has(c.toLowerCase())) out[c] = p;
  return out;
}

/** A masking record in 16 hex digits (names lower-cased), 'none' when it masks nothing: where only a short value fits (a BigQuery label). */
export function maskingDigest(masking: Record<string, string>): string {
  if (!Object.keys(masking).length) return 'none';
  return createHash('sha256')
    .update(maskingJson(Object.fromEntries(Object.entries(masking).map(([k, v]) => [k.toLowerCase(), v]))))
    .digest('hex')
    .slice(0, 16);
}

/**
 * An incremental run into a table built with other masking (`built`, from its comment) than the
 * model's now: its stored rows keep the old masking, and a unique_key on such a column no longer
 * matches them. Compared on the columns both the table and the new rows have (`columns`; names
 * case-insensitively). A message naming what changed, or undefined when nothing did.
 */
export function maskingChangeFailure(rel: string, built: Record<string, string>, now: Record<string, string>, columns: string[]): string | undefined {
  const fold = (m: Record<string, string>) => new Map(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]));
  const before = fold(built);
  const after = fold(now);
  const shown = (p: string | undefined) => (p ? `policy: ${p}` : 'unmasked');
  const changed = columns.filter((c) => before.get(c.toLowerCase()) !== after.get(c.toLowerCase())).map((c) => `${c} (${shown(before.get(c.toLowerCase()))} -> ${shown(after.get(c.toLowerCase()))})`);
  if (!changed.length) return undefined;
  return `the masking of ${rel} changed since it was built: ${changed.join(', ')}; its stored rows keep the masking they were written with (an incremental run would mix both, and a unique_key on such a column would not match them): run with --full-refresh to rebuild it`;
}

/**
 * What an incremental run replaces: the rows whose unique key equals a new row's (merge,
 * delete+insert; a key holding a NULL equals nothing, as in dbt), or the rows in the partitions
 * the new rows are in (insert_overwrite); nothing for append.
 */
export function replaceBy(req: MaterializeRequest): { keys: string[] } | { partition: PartitionSpec } | undefined {
  const strategy = req.strategy ?? (req.uniqueKey?.length ? 'delete+insert' : 'append');
  if (strategy === 'append') return undefined;
  if (strategy === 'insert_overwrite') {
    const partition = partitionSpec(req.config?.partition_by);
    if (!partition) throw new Error('incremental_strategy insert_overwrite needs partition_by (the column whose partitions are replaced)');
    return { partition };
  }
  return req.uniqueKey?.length ? { keys: req.uniqueKey } : undefined;
}

/**
 * What an incremental run on DuckDB or Postgres did, as its message says it (the relation follows):
 * `inserted` new rows, after deleting the `deleted` stored rows they replace (`replace`: by
 * unique_key, or the `partitions` they are in; undefined: an append, which deletes nothing).
 */
export function incrementalMessage(replace: ReturnType<typeof replaceBy>, inserted: number, deleted: number, partitions = 0): string {
  if (replace && 'partition' in replace && partitions) return `overwrote ${partitions} partition${partitions === 1 ? '' : 's'} with ${inserted} rows (${deleted} deleted) in`;
  if (replace && 'keys' in replace && deleted) return `merged ${inserted} rows (replacing ${deleted}) into`;
  return `inserted ${inserted} rows into`;
}

/** insert_overwrite: how many partitions the new rows (staged in `staged`) are in (a NULL partition value is none). */
export function partitionCountSql(staged: string, spec: PartitionSpec, column: string): string {
  return `select count(distinct ${partitionKeySql(spec, column)}) as n from ${staged}`;
}

/** How many of the new rows (staged in `rel`) have a NULL in a key column (`keys`: as the statement names them). */
export function nullKeysSql(rel: string, keys: string[]): string {
  return `select count(*) as n from ${rel} where ${keys.map((k) => `${k} is null`).join(' or ')}`;
}

/** The line a run adds when `n` new rows have a NULL in their unique key: they match no row (as in dbt), so they are added again on every run. */
export function nullKeyWarning(n: number, keys: string[]): string {
  return `${n} new row${n === 1 ? ' has' : 's have'} a NULL in unique_key (${keys.join(', ')}): such a key matches no row, so ${n === 1 ? 'it is' : 'they are'} added again on every run (a not_null test on the key finds them)`;
}

/**
 * incremental_strategy 'merge' with a unique_key (DuckDB, Postgres): the keys that more than one
 * of the new rows (staged in `staged`) holds — `n`, how many, and `key`, one of them as text.
 * A merge writes one row per key: a MERGE (BigQuery's, Postgres 15+'s, which dbt-postgres runs)
 * fails on such a key when the table holds it, and inserts it twice when not, so that the next
 * run holding it fails (or, on a stored key held twice, updates both). Refused whether or not the
 * table holds it, on every warehouse alike (BigQuery: mergeDuplicatesMessage in its script).
 * `keys` as the statements name them, `text` the dialect's string type. (A key holding a NULL
 * matches nothing: never counted here, nullKeysSql counts it.)
 */
export function mergeDuplicatesSql(staged: string, keys: string[], text: string): string {
  const part = (k: string) => `cast(s.${k} as ${text})`;
  const key = keys.length === 1 ? part(keys[0]) : `'(' || ${keys.map(part).join(` || ', ' || `)} || ')'`;
  return `select count(*) as n, min(k) as key from (select ${key} as k from ${staged} as s where ${keys.map((k) => `s.${k} is not null`).join(' and ')} group by ${keys.map((k) => `s.${k}`).join(', ')} having count(*) > 1) as d`;
}

/**
 * The failure of a merge whose new rows hold a unique_key value more than once (`n` of them, e.g.
 * `key`): as text, or with SQL's placeholders in their place (BigQuery's FORMAT). `delete` says
 * whether the warehouse runs delete+insert (BigQuery does not).
 */
export function mergeDuplicatesMessage(rel: string, keys: string[], n: string, key: string, deleteInsert = true): string {
  return `incremental_strategy 'merge' into ${rel}: unique_key (${keys.join(', ')}) values held by more than one new row: ${n} (e.g. ${key}); a merge writes one row per key (a MERGE fails on such a key the table holds, and stores a new one twice, so that the next run fails); nothing was changed. Make the key unique in the model's new rows (deduplicate its query)${deleteInsert ? ", or use incremental_strategy 'delete+insert' to replace a key's stored rows by all of them" : ''}`;
}

/**
 * incremental_strategy 'merge' (DuckDB, Postgres): the keys of the new rows (staged in `staged`,
 * each key once: mergeDuplicatesSql refused the others) that the table `rel` holds in more than
 * one row — `n`, how many, and `key`, one of them as text. The merge replaces all of a key's
 * stored rows by its one new row, on every warehouse (BigQuery: its script's
 * vigil_stored_dups), and says so (storedDuplicatesWarning). `keys` as the statements name them.
 */
export function storedDuplicatesSql(rel: string, staged: string, keys: string[], text: string): string {
  const part = (k: string) => `cast(t.${k} as ${text})`;
  const key = keys.length === 1 ? part(keys[0]) : `'(' || ${keys.map(part).join(` || ', ' || `)} || ')'`;
  return `select count(*) as n, min(k) as key from (select min(${key}) as k from ${rel} as t join ${staged} as s on ${keys.map((k) => `t.${k} = s.${k}`).join(' and ')} group by ${keys.map((k) => `t.${k}`).join(', ')} having count(*) > 1) as d`;
}

/**
 * The line a merge adds when the table held `n` of its new rows' keys in more than one row (e.g.
 * `key`): each such key's stored rows were replaced by its one new row, on every warehouse alike
 * (a BigQuery MERGE alone would update them all and keep the duplicates).
 */
export function storedDuplicatesWarning(rel: string, keys: string[], n: number, key: string): string {
  return `${rel} held ${n} unique_key (${keys.join(', ')}) value${n === 1 ? '' : 's'} of the new rows in more than one row (e.g. ${key}): the merge replaced ${n === 1 ? 'its rows' : "each one's rows"} by its one new row (the duplicates came from the first build, an append, delete+insert or another tool; a unique test on the key finds the others)`;
}

/**
 * The line a first build (or --full-refresh) of an incremental model with incremental_strategy
 * 'merge' adds when the built table holds `n` unique_key values in more than one row (e.g. `key`):
 * stored as the query gave them, as dbt does, and a later merge holding such a key replaces its
 * rows by one (storedDuplicatesWarning).
 */
export function builtDuplicatesWarning(rel: string, keys: string[], n: number, key: string): string {
  return `${rel} was built with ${n} unique_key (${keys.join(', ')}) value${n === 1 ? '' : 's'} held by more than one row (e.g. ${key}): a first build stores the query's rows as they are, and a later merge holding such a key replaces all of its rows by one new row; deduplicate the model's query (a unique test on the key finds them)`;
}

/** A `{ n, key }` answer (mergeDuplicatesSql's, storedDuplicatesSql's) as a warning made by `say`, or undefined when n is 0. */
export function duplicatesWarning(found: { n: unknown; key: unknown } | undefined, say: (n: number, key: string) => string): string | undefined {
  const n = Number(found?.n ?? 0);
  return n ? say(n, String(found!.key)) : undefined;
}

/** Warnings of one run as its result carries them: one line each, under the model's OK line. */
export function joinWarnings(...warnings: Array<string | undefined>): { warning?: string } {
  const w = warnings.filter(Boolean).join('\n  warning: ');
  return w ? { warning: w } : {};
}

/** mergeDuplicatesSql's answer as the model's failure, or undefined when there is none. */
export function mergeDuplicatesFailure(rel: string, keys: string[], found: { n: unknown; key: unknown } | undefined): string | undefined {
  const n = Number(found?.n ?? 0);
  if (!n) return undefined;
  return mergeDuplicatesMessage(rel, keys, String(n), String(found!.key));
}

/**
 * Create one of Vigil's own tables (`columns`: its DDL column list), its schema first, unless it
 * is there. Two first runs creating it at once both come through: Postgres' `if not exists` is
 * not atomic, and the loser fails on its catalog's unique index while the table is there (as
 * ensureSchema does for schemas).
 */
export async function createOwnTable(adapter: Adapter, rel: Relation, columns: string): Promise<void> {
  await adapter.ensureSchema(rel.schema);
  try {
    await adapter.execute(`create table if not exists ${adapter.dialect.relation(rel)} (${columns})`);
  } catch (e) {
    if (!/already exists|duplicate key/.test((e as Error).message)) throw e;
  }
}
