/**
 * Retention as configuration (docs/governance.md#retention): which tables have a `retention:`
 * config, what a plan counts (cutoff, rows, oldest and newest affected timestamps) and how
 * apply deletes exactly what the plan computed — in batches, each committed with its line of
 * the run log `vigil_retention_log`. The cutoff is fixed in the plan (an instant, not "90 days
 * ago"): a rerun of the same plan after a crash deletes only what is left before it.
 *
 * Warehouse-neutral: the spelling comes from the dialect, the batch from `Adapter.deleteBatch`
 * (rowid / ctid in one transaction) or, without it, one DELETE per range of the timestamp column
 * (BigQuery: partition-pruned).
 */
import { userInfo } from 'node:os';
import { columnNamed, createOwnTable, type Adapter } from '../adapters/adapter.js';
import type { CanonicalType, Dialect, Relation, SqlParam } from '../adapters/dialect.js';
import { typeFamily } from '../adapters/type-family.js';
import type { ColumnInfo, Manifest, WrittenAt } from '../compile/manifest.js';
import { diag, didYouMean, isPermissionDenied, WarehouseError, type Diagnostic } from '../errors.js';
import { durationBefore } from '../time/duration.js';

export const RETENTION_LOG_TABLE = 'vigil_retention_log';
export const PLAN_FILE = 'retention_plan.json';
/** The shortest `keep` apply accepts without --force when project.yaml says nothing. */
export const DEFAULT_MINIMUM = '30d';
export const DEFAULT_BATCH_SIZE = 50_000;
/** BigQuery (no deleteBatch): days of the timestamp column one DELETE statement covers. */
export const RANGE_DAYS = 31;

/** A table with a retention config, and where its rows are deleted. */
export interface RetentionTable {
  unique_id: string;
  /** raw.usage_log (a source table) or the model's name */
  name: string;
  kind: 'source' | 'model';
  /** `warehouse`: the target's relation; `source`: the table in the database `vigil sync` reads (apply_to: source) */
  apply_to: 'warehouse' | 'source';
  /** the target name whose database holds the rows (undefined: the command's target) */
  source_target?: string;
  relation: Relation;
  column: string;
  keep: string;
  override_days?: string;
  batch_size: number;
  at: WrittenAt;
  /** a model's partitioning when it requires a partition filter (BigQuery's require_partition_filter): every statement carries Dialect.readFilter */
  partition?: PartitionConfig;
}

/** The config Dialect.readFilter reads: partition_by, and require_partition_filter set. */
export type PartitionConfig = {
  partition_by: unknown;
  require_partition_filter: true;
};

/** One table of a plan: everything apply needs, fixed. */
export interface PlanEntry {
  unique_id: string;
  table: string;
  /** the target whose database the rows are deleted in */
  target: string;
  apply_to: 'warehouse' | 'source';
  relation: Relation;
  column: string;
  /** the column's type in the warehouse, as plan found it (apply reads it again): the bounds are compared in it */
  column_type?: string;
  keep: string;
  override_days: string | null;
  minimum: string;
  batch_size: number;
  /** the instant the plan was computed for */
  as_of: string;
  /** rows whose column is before this go (rows with an override: their own cutoff) */
  cutoff: string;
  /** with override_days: no row is deleted at or after this (as_of minus the project minimum), whatever its value */
  override_floor: string | null;
  rows: number;
  /** warehouses with partitions: the days (partitions) holding affected rows */
  partitions?: number;
  oldest: string | null;
  newest: string | null;
  /** keep is shorter than the project minimum: apply needs --force */
  below_minimum: boolean;
  at: WrittenAt;
  /** not written to the plan: the project's config at plan and at apply (RetentionTable.partition) */
  partition?: PartitionConfig;
}

export interface RetentionPlan {
  vigil_version: string;
  generated_at: string;
  /** the command's target (the warehouse) */
  target: string;
  as_of: string;
  minimum: string;
  tables: PlanEntry[];
}

/** Every selected model and source table with a retention config. */
export function retentionTables(manifest: Manifest, ids: Set<string>): RetentionTable[] {
  const out: RetentionTable[] = [];
  for (const s of Object.values(manifest.sources)) {
    const r = s.retention;
    if (!r || !ids.has(s.unique_id)) continue;
    const toSource = r.apply_to === 'source' && r.source;
    out.push({
      unique_id: s.unique_id,
      name: `${s.source_name}.${s.name}`,
      kind: 'source',
      apply_to: toSource ? 'source' : 'warehouse',
      source_target: toSource ? r.source!.target : undefined,
      relation: toSource ? r.source!.relation : s.relation,
      column: r.column,
      keep: r.keep,
      override_days: r.override_days,
      batch_size: r.batch_size ?? DEFAULT_BATCH_SIZE,
      at: r.at,
    });
  }
  for (const n of Object.values(manifest.nodes)) {
    if (n.resource_type !== 'model' || !n.config.retention || !n.relation || !ids.has(n.unique_id)) continue;
    const r = n.config.retention;
    const cfg = n.config as Record<string, unknown>;
    const partition = cfg.require_partition_filter === true && cfg.partition_by !== undefined ? { partition: { partition_by: cfg.partition_by, require_partition_filter: true as const } } : {};
    out.push({ unique_id: n.unique_id, name: n.name, kind: 'model', apply_to: 'warehouse', relation: n.relation, column: r.column, keep: r.keep, override_days: r.override_days, batch_size: r.batch_size ?? DEFAULT_BATCH_SIZE, at: n.retention_at ?? { file: n.file }, ...partition });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The cutoff of `keep` at `asOf`, and whether it is shorter than `minimum`. */
export function cutoffOf(asOf: Date, keep: string, minimum: string): { cutoff: Date; floor: Date; belowMinimum: boolean } {
  const cutoff = durationBefore(asOf, keep);
  const floor = durationBefore(asOf, minimum);
  return { cutoff, floor, belowMinimum: cutoff.getTime() > floor.getTime() };
}

/** The longest per-row period override_days can say, in days (longer is kept as long). */
const MAX_OVERRIDE_DAYS = 700_000;

/** What a retention column holds: instants (timestamptz, BigQuery TIMESTAMP), wall-clock times (timestamp, DATETIME: read as UTC) or days. */
export type ColumnKind = 'instant' | 'local' | 'date';

/** The kind of a column of warehouse type `type` (a bare TIMESTAMP is an instant where the dialect's own timestamps are spelled so: BigQuery). */
export function columnKind(d: Dialect, type: string | undefined): ColumnKind {
  if (!type) return 'instant';
  const f = typeFamily(type, /^timestamp$/i.test(d.type('timestamp')) ? 'instant' : 'local');
  return f === 'local' || f === 'date' ? f : 'instant';
}

/**
 * The `index`-th parameter as a bound on a column of type `type`, in the column's own type
 * (BigQuery compares no DATE or DATETIME with a TIMESTAMP), and the value to bind for instant
 * `iso`: an instant as it is; a date-time as its UTC wall clock; a date as the UTC day the instant
 * falls in, so `day < bound` holds only for days that end at or before the instant (a row of day D
 * goes when the whole day is past the cutoff: none is deleted while part of its day is kept).
 */
function bound(d: Dialect, type: string | undefined, index: number): string {
  const kind = columnKind(d, type);
  // (a type the warehouse's catalog spelled: `DATE`, `timestamp(3) without time zone`)
  return kind === 'instant' ? d.timestampParam(index) : `cast(${d.param(index)} as ${kind === 'date' ? d.type('date') : type!.replace(/[^\w (),]/g, '')})`;
}

function boundValue(d: Dialect, type: string | undefined, iso: string | null): SqlParam {
  const kind = columnKind(d, type);
  if (iso === null || kind === 'instant') return iso;
  const t = new Date(iso).toISOString();
  return kind === 'date' ? t.slice(0, 10) : t.slice(0, 23).replace('T', ' ');
}

/** The rows a plan entry deletes: a condition with bind parameters (the instants of the plan, in the column's type). */
export function retentionPredicate(d: Dialect, e: Pick<PlanEntry, 'column' | 'column_type' | 'override_days' | 'cutoff' | 'override_floor' | 'as_of'>, first = 1): { sql: string; params: SqlParam[] } {
  const col = d.quoteIdent(e.column);
  const b = (i: number) => bound(d, e.column_type, i);
  const v = (iso: string | null) => boundValue(d, e.column_type, iso);
  if (!e.override_days) return { sql: `${col} < ${b(first)}`, params: [v(e.cutoff)] };
  const ov = d.quoteIdent(e.override_days);
  // a row with its own period: older than as_of minus that many days, and never newer than the
  // floor. The period is bounded to ±700,000 days (~1,900 years: within every warehouse's
  // timestamp range back from today): a "keep forever" sentinel such as 2147483647 overflowed the
  // date arithmetic and failed the whole table's plan ("ICU date overflows timestamp range")
  const days = `least(greatest(${ov}, -${MAX_OVERRIDE_DAYS}), ${MAX_OVERRIDE_DAYS})`;
  // a date column: the row's own cutoff is an instant (as_of less a period that may hold part of a
  // day), and its day goes when it is wholly before it: before the cutoff's date
  const date = columnKind(d, e.column_type) === 'date';
  // the period in whole minutes: BigQuery's INTERVAL takes an INT64 only (its analyzer refused a
  // NUMERIC or FLOAT64 column of days), a period may hold part of a day, and DuckDB multiplies an
  // interval by a 32-bit integer (700,000 days are 1,008,000,000 minutes)
  const minutes = `cast(round(cast(${days} as ${d.type('float')}) * 1440) as ${d.type('int')})`;
  // (a date's day in UTC, as the other cutoffs' are bound: a Postgres url may set the session's TimeZone)
  const instant = d.dateadd('minute', `-(${minutes})`, d.timestampParam(first + 2));
  const own = date ? (d.utcDate?.(instant) ?? `cast(${instant} as ${d.type('date')})`) : d.dateadd('minute', `-(${minutes})`, b(first + 2));
  return {
    sql: `((${ov} is null and ${col} < ${b(first)}) or (${ov} is not null and ${col} < ${b(first + 1)} and ${col} < ${own}))`,
    params: [v(e.cutoff), v(e.override_floor), date ? e.as_of : v(e.as_of)],
  };
}

/**
 * What deleting the rows `e` plans does to other rows: the foreign keys referencing its table
 * (Adapter.referencingKeys) whose rows reference a planned row, each said in a line — rows an ON
 * DELETE CASCADE deletes with them, or SET NULL / SET DEFAULT changes, which no plan counts and no
 * log line holds; rows a key without an action protects, on which apply fails. None without
 * planned rows, or on a warehouse whose keys do nothing on a delete.
 */
export async function deleteReach(adapter: Adapter, e: Pick<PlanEntry, 'table' | 'relation' | 'column' | 'column_type' | 'override_days' | 'cutoff' | 'override_floor' | 'as_of'>, rows: number): Promise<string[]> {
  if (!rows || !adapter.referencingKeys) return [];
  const keys = await adapter.referencingKeys(e.relation);
  const d = adapter.dialect;
  const out: string[] = [];
  const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${n === 1 ? word : `${word}s`}`;
  // (the plan's predicate names the planned table's columns unqualified: in the EXISTS, its own)
  const p = retentionPredicate(d, e);
  const plannedName = `deleting the ${plural(rows, 'row')} ${e.table} plans`;
  for (const k of keys) {
    const on = k.columns.map((c, i) => `__vigil_ref.${d.quoteIdent(c)} = __vigil_planned.${d.quoteIdent(k.refColumns[i])}`).join(' and ');
    // a key of the table to itself (parent_id references id) whose action deletes or changes the
    // rows referencing a planned row: those the plan deletes anyway are counted by the plan, not
    // here (was: a chain of 70 planned rows, each referencing the one before, said "also deletes
    // 70 rows" where one more went). Outside the EXISTS, the predicate's columns are the
    // referencing row's own; a row whose column is null is not planned.
    const self = k.table.schema === e.relation.schema && k.table.identifier === e.relation.identifier && k.onDelete !== 'restrict' && k.onDelete !== 'no action';
    const own = self ? retentionPredicate(d, e, p.params.length + 1) : undefined;
    let r: { n: unknown } | undefined;
    try {
      [r] = await adapter.query<{ n: unknown }>(`select count(*) as n from ${d.relation(k.table)} as __vigil_ref where exists (select 1 from ${d.relation(e.relation)} as __vigil_planned where ${on} and ${p.sql})${own ? ` and not coalesce(${own.sql}, false)` : ''}`, [...p.params, ...(own?.params ?? [])]);
    } catch (x) {
      if (!isPermissionDenied(x)) throw x;
      // the key's action runs as the referencing table's owner: a role that may delete the planned
      // rows but not read the referencing table deletes them all the same (was: plan and apply
      // stopped at "permission denied for table ..." where they had run before)
      out.push(`${plannedName} may also reach rows of ${k.table.schema}.${k.table.identifier} that reference them (foreign key ${k.constraint}, ON DELETE ${k.onDelete.toUpperCase()}): this role cannot read ${k.table.schema}.${k.table.identifier} to count them (${x instanceof Error ? x.message.split('\n')[0] : String(x)})`);
      continue;
    }
    const n = Number(r?.n ?? 0);
    if (!n) continue;
    const of = `${plural(n, 'row')} of ${k.table.schema}.${k.table.identifier} that ${n === 1 ? 'references' : 'reference'} them (foreign key ${k.constraint}, ON DELETE ${k.onDelete.toUpperCase()})`;
    const uncounted = 'the plan does not count them, and vigil_retention_log does not log them';
    if (k.onDelete === 'cascade') out.push(`${plannedName} also deletes ${of}, and whatever references those in turn: ${uncounted}`);
    else if (k.onDelete === 'set null' || k.onDelete === 'set default') out.push(`${plannedName} also sets ${k.columns.join(', ')} to ${k.onDelete === 'set null' ? 'NULL' : 'its default'} in ${of}: ${uncounted}`);
    else out.push(`${plannedName} is refused by ${of}: apply fails at the first batch holding a referenced row (the batches before it stay deleted); delete or re-point those rows first`);
  }
  return out;
}

/** Whether a column of type `type` can age rows: a timestamp or a date. */
export function agesRows(type: string): boolean {
  return ['instant', 'local', 'date'].includes(typeFamily(type, 'local'));
}

/** Whether a column of type `type` can hold override_days: any number (a fraction counts to the minute). */
export function holdsDays(type: string): boolean {
  return ['int', 'numeric', 'float'].includes(typeFamily(type, 'local'));
}

/**
 * The column and override column against the warehouse: a table that is not there (or is a
 * view: rows are deleted from a table), a column it does not have, or one that holds no
 * timestamps is a problem at the retention config's line. Also the column's type there (the
 * plan's bounds are compared in it) and the two columns as the warehouse spells them (a name
 * differing only in case is its column: quoted as configured, Postgres found no "TS" for ts).
 */
export async function checkColumns(adapter: Adapter, t: RetentionTable, where: string): Promise<{ problems: Diagnostic[]; columnType?: string; column: string; overrideDays?: string }> {
  const cols = await adapter.columns(t.relation);
  const rel = `${t.relation.schema}.${t.relation.identifier}`;
  const what = t.kind === 'source' ? `source ${t.name}` : `model '${t.name}'`;
  const spelled = { column: t.column, overrideDays: t.override_days };
  if (!cols.length) return { ...spelled, problems: [diag('E_RETENTION', `${what}: table ${rel} does not exist in ${where}`, t.at, t.kind === 'model' ? 'build the model first (vigil build)' : t.apply_to === 'warehouse' ? 'sync it first (vigil sync), or set apply_to: source to clean the source database' : undefined)] };
  if ((await adapter.relationExists(t.relation)) === 'view')
    return { ...spelled, problems: [diag('E_RETENTION', `${what}: ${rel} is a view in ${where}: retention deletes rows from a table`, t.at, 'put retention on the table the view reads')] };
  const ds: Diagnostic[] = [];
  const names = cols.map((x) => x.name);
  const find = (name: string) => cols.find((c) => c.name === columnNamed(name, names));
  const c = find(t.column);
  // a name not found: the table's columns, and the nearest one
  const missing = (key: string, name: string) => {
    const near = didYouMean(name, names);
    return diag('E_RETENTION', `${what}: retention ${key} '${name}' is not a column of ${rel} in ${where} (it has ${names.join(', ')})`, t.at, near ? `did you mean '${near}'?` : undefined);
  };
  if (!c) ds.push(missing('column', t.column));
  else if (!agesRows(c.data_type)) ds.push(diag('E_RETENTION', `${what}: retention column '${t.column}' is ${c.data_type} in ${where}, not a timestamp or date: rows cannot be aged by it`, t.at, 'name a timestamp column'));
  const o = t.override_days ? find(t.override_days) : undefined;
  if (t.override_days) {
    if (!o) ds.push(missing('override_days column', t.override_days));
    else if (!holdsDays(o.data_type)) ds.push(diag('E_RETENTION', `${what}: retention override_days column '${t.override_days}' is ${o.data_type} in ${where}, not a number of days`, t.at));
  }
  return { problems: ds, columnType: c?.data_type, column: c?.name ?? t.column, overrideDays: o?.name ?? t.override_days };
}

/**
 * The predicate a table that requires a partition filter wants on every read (Dialect.readFilter:
 * names the partition column alone, keeps every row), as the first ANDed part of a WHERE; '' for
 * any other table. Without it BigQuery refuses the count and the DELETE of a
 * require_partition_filter table whose partition column is not the retention column.
 */
function partitionFilter(d: Dialect, e: Pick<PlanEntry, 'partition'>): string {
  const f = e.partition ? d.readFilter?.(e.partition) : undefined;
  return f ? `${f} and ` : '';
}

/** The statement countAffected runs (and `vigil check` analyzes). */
export function countStatement(d: Dialect, e: Pick<PlanEntry, 'relation' | 'column' | 'column_type' | 'override_days' | 'cutoff' | 'override_floor' | 'as_of' | 'partition'>, partitions: boolean): { sql: string; params: SqlParam[] } {
  const p = retentionPredicate(d, e);
  const col = d.quoteIdent(e.column);
  const str = d.type('string');
  return {
    sql: `select count(*) as n${partitions ? `, count(distinct ${d.to_date(col)}) as parts` : ''}, cast(min(${col}) as ${str}) as oldest, cast(max(${col}) as ${str}) as newest from ${d.relation(e.relation)} where ${partitionFilter(d, e)}${p.sql}`,
    params: p.params,
  };
}

/** Rows (and partitions) a plan entry's predicate matches now, with the oldest and newest of them. */
export async function countAffected(adapter: Adapter, e: Pick<PlanEntry, 'relation' | 'column' | 'column_type' | 'override_days' | 'cutoff' | 'override_floor' | 'as_of' | 'partition'>, partitions: boolean): Promise<{ rows: number; partitions?: number; oldest: string | null; newest: string | null }> {
  const c = countStatement(adapter.dialect, e, partitions);
  const [r] = await adapter.query<{ n: unknown; parts?: unknown; oldest: string | null; newest: string | null }>(c.sql, c.params);
  return { rows: Number(r?.n ?? 0), ...(partitions ? { partitions: Number(r?.parts ?? 0) } : {}), oldest: r?.oldest ?? null, newest: r?.newest ?? null };
}

/** Who runs it: VIGIL_ACTOR when set (a CI job names itself), else the OS user. */
export function actor(): string {
  if (process.env.VIGIL_ACTOR) return process.env.VIGIL_ACTOR;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The run log's relation in the database of `schema`. */
export function logRelation(schema: string, database?: string): Relation {
  return { ...(database ? { database } : {}), schema, identifier: RETENTION_LOG_TABLE };
}

const LOG_COLUMNS: Array<{ name: string; type: CanonicalType; description: string }> = [
  { name: 'run_id', type: 'string', description: 'The apply run (one id for every table of a run).' },
  { name: 'table_name', type: 'string', description: 'The table with the retention config: raw.usage_log (a source table) or the model\'s name.' },
  { name: 'relation_name', type: 'string', description: 'Where its rows were deleted: schema.table.' },
  { name: 'target_name', type: 'string', description: 'The target whose database the rows were deleted in.' },
  { name: 'column_name', type: 'string', description: 'The retention column.' },
  { name: 'keep', type: 'string', description: 'How long rows are kept (90d, 7y).' },
  { name: 'override_column', type: 'string', description: 'The per-row period column (override_days), if any.' },
  { name: 'as_of', type: 'timestamp', description: 'The instant the plan was computed for.' },
  { name: 'cutoff', type: 'timestamp', description: 'Rows before this went (rows with their own period: as_of less that period).' },
  { name: 'planned_rows', type: 'int', description: 'Rows the plan counted.' },
  { name: 'rows_deleted', type: 'int', description: 'Rows deleted so far (grows with each committed batch).' },
  { name: 'status', type: 'string', description: "'running', 'success', 'interrupted' or 'error'." },
  { name: 'started_at', type: 'timestamp', description: 'When the table\'s apply started.' },
  { name: 'finished_at', type: 'timestamp', description: 'When it ended (NULL while running, or killed).' },
  { name: 'actor', type: 'string', description: 'VIGIL_ACTOR when set, else the OS user.' },
  { name: 'override_floor', type: 'timestamp', description: "With override_days: no row at or after this was deleted, whatever its own period (as_of less the project's retention.minimum at the plan). NULL without override_days, and on lines logged before Vigil recorded it." },
];

/** Columns the log gained after it was first made: added to a log made before them (ensureLog), absent from one only read. */
const LATER_COLUMNS = ['override_floor'];

/** How the built-in source `vigil.retention_log` declares the log (as the alert history's: the same on every target). */
export function retentionLogColumns(): ColumnInfo[] {
  const declared: Partial<Record<CanonicalType, string>> = { string: 'varchar', timestamp: 'timestamptz', int: 'bigint' };
  return LOG_COLUMNS.map((c) => ({ name: c.name, data_type: declared[c.type] ?? c.type, description: c.description }));
}

/**
 * The log, made when missing; a log made by an earlier Vigil gains the columns it lacks (asked
 * first: no DDL on every apply). A role that may not ALTER it (Postgres: only its owner may) goes
 * on without them: `warn` is told which, and why. Returns whether the log has override_floor.
 */
export async function ensureLog(adapter: Adapter, rel: Relation, warn?: (missing: string[], why: string) => void): Promise<boolean> {
  const have = await createLog(adapter, rel);
  const missing = LOG_COLUMNS.filter((x) => LATER_COLUMNS.includes(x.name) && !have.has(x.name));
  try {
    for (const c of missing) {
      await adapter.execute(`alter table ${adapter.dialect.relation(rel)} add column if not exists ${c.name} ${adapter.dialect.type(c.type)}`);
      have.add(c.name);
    }
  } catch (e) {
    if (!isPermissionDenied(e)) throw e;
    warn?.(missing.filter((c) => !have.has(c.name)).map((c) => c.name), (e as Error).message.split('\n')[0]);
  }
  return have.has('override_floor');
}

/**
 * Create the log unless it is there (asked first, by its columns: Postgres' `create table if not
 * exists` needs CREATE on the schema even when the table is there — a role given the log by an
 * owner failed). Never altered here. Returns the columns it has (lower case).
 */
async function createLog(adapter: Adapter, rel: Relation): Promise<Set<string>> {
  const have = await presentColumns(adapter, rel);
  if (have.size) return have;
  await createOwnTable(adapter, rel, LOG_COLUMNS.map((c) => `${c.name} ${adapter.dialect.type(c.type)}`).join(', '));
  return new Set(LOG_COLUMNS.map((c) => c.name));
}

/** The columns `rel` has, lower-cased (none: no such relation). */
async function presentColumns(adapter: Adapter, rel: Relation): Promise<Set<string>> {
  return new Set((await adapter.columns(rel)).map((c) => c.name.toLowerCase()));
}

/** The log's columns a log with the columns `have` holds (one made by an earlier Vigil lacks LATER_COLUMNS until an apply ensures it). */
function heldColumns(have: Set<string>): typeof LOG_COLUMNS {
  return LOG_COLUMNS.filter((c) => !LATER_COLUMNS.includes(c.name) || have.has(c.name));
}

/** The log's columns `rel` has (heldColumns). */
async function logColumns(adapter: Adapter, rel: Relation): Promise<typeof LOG_COLUMNS> {
  return heldColumns(await presentColumns(adapter, rel));
}

/**
 * The log lines of `table` in the database an `apply_to: source` apply deleted in (`from`),
 * written into the warehouse's log (`to`) by `vigil sync`, which does not propagate the deletes:
 * models in the warehouse read when retention last ran in the source. A line already there as it
 * is is left alone; one that changed since (a run that finished) is replaced. Only the columns
 * `to` has are written: it is never altered (the sync's role need not own it); a log made by an
 * earlier Vigil keeps no override_floor until an apply adds it, and `dropped` is told the lines
 * whose floor was left out. Returns the lines written.
 */
export async function copyLogLines(from: Adapter, fromLog: Relation, to: Adapter, toLog: Relation, table: string, dropped?: (lines: number) => void): Promise<number> {
  if (!(await from.relationExists(fromLog))) return 0;
  // (a column the source's log lacks, made by an earlier Vigil, reads as NULL)
  const read = async (a: Adapter, rel: Relation) => {
    const d = a.dialect;
    const cols = await logColumns(a, rel);
    const rows = await a.query<Record<string, unknown>>(`select ${cols.map((c) => `cast(${c.name} as ${d.type('string')}) as ${c.name}`).join(', ')} from ${d.relation(rel)} where table_name = ${d.param(1)}`, [table]);
    return rows.map((r) => Object.fromEntries(LOG_COLUMNS.map((c) => [c.name, r[c.name] === null || r[c.name] === undefined ? null : c.type === 'timestamp' ? parseWarehouseTime(String(r[c.name])).toISOString() : c.type === 'int' ? Number(r[c.name]) : String(r[c.name])])) as Record<string, SqlParam>);
  };
  const fromLines = await read(from, fromLog);
  if (!fromLines.length) return 0;
  const cols = heldColumns(await createLog(to, toLog));
  const lacks = LOG_COLUMNS.filter((c) => !cols.includes(c));
  // each line as the warehouse's log can hold it (compared so: a line whose floor it cannot hold is not written again each sync)
  const lines = fromLines.map((l) => ({ ...l, ...Object.fromEntries(lacks.map((c) => [c.name, null])) }));
  const key = (r: Record<string, SqlParam>) => `${r.run_id}\u0000${r.table_name}`;
  const have = new Map((await read(to, toLog)).map((r) => [key(r), JSON.stringify(r)]));
  const d = to.dialect;
  const log = d.relation(toLog);
  let written = 0;
  let floorless = 0;
  for (const [i, line] of lines.entries()) {
    const was = have.get(key(line));
    if (was === JSON.stringify(line)) continue;
    // (bind parameters in the order they appear: BigQuery's are positional `?`)
    if (was !== undefined) await to.execute(`delete from ${log} where run_id = ${d.param(1)} and table_name = ${d.param(2)}`, [line.run_id, line.table_name]);
    await to.execute(`insert into ${log} (${cols.map((c) => c.name).join(', ')}) values (${cols.map((c, j) => (c.type === 'timestamp' ? d.timestampParam(j + 1) : d.param(j + 1))).join(', ')})`, cols.map((c) => line[c.name]));
    if (lacks.some((c) => fromLines[i][c.name] !== null)) floorless++;
    written++;
  }
  if (floorless) dropped?.(floorless);
  return written;
}

/**
 * The last apply that deleted rows of `table` in `relationName` of target `target` (its line of the
 * log `log`: success, or rows deleted before it stopped), by its plan's time; undefined when none
 * (or no log). What `vigil sync` keeps out of the copy (docs/sync.md).
 */
export async function lastApply(adapter: Adapter, log: Relation, table: string, relationName: string, target: string): Promise<{ column: string; overrideColumn: string | null; asOf: Date; cutoff: Date; overrideFloor: Date | null } | undefined> {
  if (!(await adapter.relationExists(log))) return undefined;
  const d = adapter.dialect;
  const str = d.type('string');
  // (a log made by an earlier Vigil has no override_floor: read as NULL, the line's floor unknown)
  const floor = (await logColumns(adapter, log)).some((c) => c.name === 'override_floor') ? `cast(override_floor as ${str})` : `cast(null as ${str})`;
  const [r] = await adapter.query<{ column_name: string; override_column: string | null; as_of: string; cutoff: string; override_floor: string | null }>(
    `select column_name, override_column, cast(as_of as ${str}) as as_of, cast(cutoff as ${str}) as cutoff, ${floor} as override_floor from ${d.relation(log)} where table_name = ${d.param(1)} and relation_name = ${d.param(2)} and target_name = ${d.param(3)} and (status = 'success' or rows_deleted > 0) order by as_of desc limit 1`,
    [table, relationName, target],
  );
  return r ? { column: r.column_name, overrideColumn: r.override_column ?? null, asOf: parseWarehouseTime(String(r.as_of)), cutoff: parseWarehouseTime(String(r.cutoff)), overrideFloor: r.override_floor === null || r.override_floor === undefined ? null : parseWarehouseTime(String(r.override_floor)) } : undefined;
}

export interface ApplyOptions {
  runId: string;
  actor: string;
  log: Relation;
  out: (line: string) => void;
  /** stop after the batch in progress */
  signal?: AbortSignal;
  /** a test hook: die (SIGKILL) once the first batch is committed */
  crashAfterBatch?: boolean;
  /** the log has no override_floor (made by an earlier Vigil, and this role may not add it: ensureLog) */
  withoutFloor?: boolean;
}

/**
 * Delete what `e` planned, in batches, each committed with the log's running count. Returns the
 * rows deleted and whether it was stopped by the signal. Nothing at or after the plan's cutoff
 * is touched: every statement carries the plan's own predicate. At most `remaining` rows go (what
 * apply counted of the plan before it began): rows matching the plan's predicate beyond them came
 * while it ran (a sync, a backfill), are left, and are returned as `appeared` — the log's line
 * says 'error' then (was: deleted batch after batch until a short one, 415,000 of a plan of 400,000).
 * With `remaining` 0 only the log's line is written: a success, 0 rows deleted.
 */
export async function applyEntry(adapter: Adapter, e: PlanEntry, remaining: number, o: ApplyOptions): Promise<{ deleted: number; stopped: boolean; appeared?: number }> {
  const d = adapter.dialect;
  const log = d.relation(o.log);
  const p = (i: number) => d.param(i);
  const display = `${e.relation.schema}.${e.relation.identifier}`;
  await adapter.execute(
    `insert into ${log} (run_id, table_name, relation_name, target_name, column_name, keep, override_column, as_of, cutoff, planned_rows, rows_deleted, status, started_at, actor${o.withoutFloor ? '' : ', override_floor'}) values (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${d.timestampParam(8)}, ${d.timestampParam(9)}, ${p(10)}, 0, 'running', ${d.timestampParam(11)}, ${p(12)}${o.withoutFloor ? '' : `, ${d.timestampParam(13)}`})`,
    [o.runId, e.table, display, e.target, e.column, e.keep, e.override_days, e.as_of, e.cutoff, e.rows, new Date().toISOString(), o.actor, ...(o.withoutFloor ? [] : [e.override_days ? e.override_floor : null])],
  );
  const finish = (status: 'success' | 'interrupted' | 'error') => adapter.execute(`update ${log} set status = ${p(1)}, finished_at = ${d.timestampParam(2)} where run_id = ${p(3)} and table_name = ${p(4)}`, [status, new Date().toISOString(), o.runId, e.table]);
  // nothing left before the cutoff (none was, or an earlier apply of the plan deleted it): the
  // line says so, a success with 0 rows deleted, and no statement is sent to the table
  if (remaining <= 0) {
    await finish('success');
    return { deleted: 0, stopped: false };
  }
  // (bind parameters in the order they appear: BigQuery's are positional `?`)
  const addRows = (n: number) => ({ sql: `update ${log} set rows_deleted = rows_deleted + ${p(1)} where run_id = ${p(2)} and table_name = ${p(3)}`, params: [n, o.runId, e.table] as SqlParam[] });
  const t0 = performance.now();
  let deleted = 0;
  let batch = 0;
  let stopped = false;
  let appeared = 0;
  const progress = (n: number) => {
    batch++;
    deleted += n;
    const s = (performance.now() - t0) / 1000;
    o.out(`  ${e.table}: batch ${batch}, ${deleted.toLocaleString('en-US')} of ${remaining.toLocaleString('en-US')} rows deleted (${remaining ? Math.min(100, Math.round((deleted / remaining) * 100)) : 100}%) [${s.toFixed(1)}s${deleted ? `, ${Math.round(deleted / Math.max(s, 1e-3)).toLocaleString('en-US')} rows/s` : ''}]`);
    if (o.crashAfterBatch) process.kill(process.pid, 'SIGKILL');
  };
  try {
    if (adapter.deleteBatch) {
      const pred = retentionPredicate(d, e);
      for (;;) {
        if (o.signal?.aborted) {
          stopped = true;
          break;
        }
        const limit = Math.min(e.batch_size, remaining - deleted);
        if (limit <= 0) break;
        const n = await adapter.deleteBatch(e.relation, pred.sql, pred.params, limit, addRows);
        if (n === 0 && batch > 0) break;
        progress(n);
        if (n < limit) break;
      }
      // every row apply set out to delete is gone: any still matching came while it ran
      if (!stopped && deleted >= remaining) appeared = (await countAffected(adapter, e, false)).rows;
    } else {
      const all = rangeStatements(d, e);
      // rows to delete and no range to delete them in: an error, never "deleted 0 rows" and success
      if (!all.length && remaining) throw new WarehouseError(`${e.table}: ${remaining.toLocaleString('en-US')} rows before the cutoff but no range of ${e.column} to delete them in (the plan's oldest: ${e.oldest ?? 'none'}); nothing was deleted`, '');
      // only the ranges that hold rows to delete, from one query (its ranges' numbers): a sparse
      // table, rows decades apart, had a count, a DELETE and a log update sent for each of
      // hundreds of empty ranges. Asked again on each apply: a rerun after a crash finds what is left.
      let ranges = all;
      if (all.length > 1) {
        const h = heldRangesStatement(d, e);
        const held = new Set((await adapter.query<{ r: unknown }>(h.sql, h.params)).map((row) => Number(row.r)));
        ranges = all.filter((_, i) => held.has(i));
      }
      for (const range of ranges) {
        if (o.signal?.aborted) {
          stopped = true;
          break;
        }
        const [c] = await adapter.query<{ n: unknown }>(range.count, range.params);
        const n = Number(c?.n ?? 0);
        // (a DELETE takes no limit here: a range holding more than apply has left to delete is not deleted)
        if (deleted + n > remaining) {
          appeared = deleted + n - remaining;
          break;
        }
        await adapter.execute(range.delete, range.params);
        const u = addRows(n);
        await adapter.execute(u.sql, u.params);
        progress(n);
      }
    }
    await finish(appeared ? 'error' : stopped ? 'interrupted' : 'success');
  } catch (err) {
    await adapter.execute(`update ${log} set status = 'error', finished_at = ${d.timestampParam(1)} where run_id = ${p(2)} and table_name = ${p(3)}`, [new Date().toISOString(), o.runId, e.table]).catch(() => {});
    throw err;
  }
  return { deleted, stopped, ...(appeared ? { appeared } : {}) };
}

/**
 * Without a transactional batch (BigQuery): one DELETE per range of RANGE_DAYS days of the
 * timestamp column, oldest first, each bounded by constants on that column so BigQuery prunes
 * the partitions outside it (a range covering whole partitions deletes them without a scan), and
 * each also carrying the plan's predicate (and, on a table that requires a partition filter, the
 * dialect's read filter). A count of the range comes before its DELETE, for the log.
 */
export function rangeStatements(d: Dialect, e: PlanEntry): Array<{ from: string; to: string; count: string; delete: string; params: SqlParam[] }> {
  if (!e.oldest || !e.rows) return [];
  const oldest = parseWarehouseTime(e.oldest);
  // ranges start at a UTC midnight and stop at the last affected row
  const start = Date.UTC(oldest.getUTCFullYear(), oldest.getUTCMonth(), oldest.getUTCDate());
  const newest = e.newest ? parseWarehouseTime(e.newest).getTime() : Date.parse(e.cutoff);
  const col = d.quoteIdent(e.column);
  const rel = d.relation(e.relation);
  const out: Array<{ from: string; to: string; count: string; delete: string; params: SqlParam[] }> = [];
  for (let from = start; from <= newest; from += RANGE_DAYS * 86_400_000) {
    const to = from + RANGE_DAYS * 86_400_000;
    const pred = retentionPredicate(d, e, 3);
    const where = `${partitionFilter(d, e)}${col} >= ${bound(d, e.column_type, 1)} and ${col} < ${bound(d, e.column_type, 2)} and ${pred.sql}`;
    const [f, t] = [new Date(from).toISOString(), new Date(to).toISOString()];
    out.push({ from: f, to: t, count: `select count(*) as n from ${rel} where ${where}`, delete: `delete from ${rel} where ${where}`, params: [boundValue(d, e.column_type, f), boundValue(d, e.column_type, t), ...pred.params] });
  }
  return out;
}

/**
 * Which of rangeStatements' ranges hold rows the plan deletes: their numbers (0: the first range),
 * one row each, from one query carrying the plan's predicate (and the read filter of a table that
 * requires one).
 */
export function heldRangesStatement(d: Dialect, e: PlanEntry): { sql: string; params: SqlParam[] } {
  const [first] = rangeStatements(d, e);
  const col = d.quoteIdent(e.column);
  const pred = retentionPredicate(d, e, 3);
  const start = boundValue(d, e.column_type, first?.from ?? e.cutoff);
  // (each range is RANGE_DAYS days from the first's UTC midnight: a row's range is its day's)
  const index = `cast(floor(${d.datediff('day', bound(d, e.column_type, 1), col)} / ${RANGE_DAYS}) as ${d.type('int')})`;
  return {
    sql: `select distinct ${index} as r from ${d.relation(e.relation)} where ${partitionFilter(d, e)}${col} >= ${bound(d, e.column_type, 2)} and ${pred.sql}`,
    params: [start, start, ...pred.params],
  };
}

/**
 * A timestamp as a warehouse prints it (`2026-01-01 10:00:00+00`, `2026-01-01 10:00:00.5 UTC`, a
 * date, Postgres' `-infinity` and BC years) as an instant (UTC when it has no zone). A zone only
 * follows a time: the `-01` of `2025-01-01` is its day. Other text is an error, never an Invalid
 * Date (whose comparisons are all false) nor what Date's lenient parser makes of it.
 */
export function parseWarehouseTime(text: string): Date {
  let t = text.trim();
  if (/^[+-]?infinity$/i.test(t)) return new Date(t.startsWith('-') ? -8.64e15 : 8.64e15);
  // BC years, Postgres' (`0044-03-15 10:00:00+00 BC`) and DuckDB's (`0044-03-15 (BC) 10:00:00+00`):
  // 1 BC is the year 0; a year of 5 digits or more (both print 12000-03-15) as ISO's +012000
  const bc = / BC$/.test(t) || /^\d{4,}-\d\d-\d\d \(BC\)/.test(t);
  t = t.replace(/ BC$/, '').replace(/^(\d{4,}-\d\d-\d\d) \(BC\)/, '$1');
  const year = /^(\d{4,})-/.exec(t);
  if (year && (bc || year[1].length > 4)) {
    const y = bc ? 1 - Number(year[1]) : Number(year[1]);
    t = `${y === 0 ? '0000' : `${y < 0 ? '-' : '+'}${String(Math.abs(y)).padStart(6, '0')}`}${t.slice(year[1].length)}`;
  }
  t = t.replace(' UTC', 'Z').replace(' ', 'T');
  const m = /^([+-]\d{6}|\d{4})-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$/.exec(t);
  const at = !m ? undefined : new Date(m[5] ? t.replace(/([+-]\d{2})$/, '$1:00') : m[2] ? `${t}Z` : `${t}T00:00:00Z`);
  if (!at || Number.isNaN(at.getTime())) throw new WarehouseError(`'${text}' is not a time Vigil can read (the oldest or newest row of a retention plan)`, '');
  return at;
}
