/**
 * What `compileDashboards()` (compile-dashboards.ts) produces from dashboards/*.json, and what
 * the renderer (render.ts) and the exporters (export-*.ts) consume.
 */
import type { Aggregation, Dashboard, ResolvedTile } from './schema.js';
import type { CompiledRawRows } from './raw-rows.js';
import type { WindowFrom } from './tile-sql.js';

export interface CompiledField {
  /** Output column name of the tile's query. */
  name: string;
  label: string;
  kind: 'dimension' | 'measure';
  /** The model column it reads (for measures: the aggregated column; '*' for count(*)). */
  column: string;
  agg?: Aggregation;
  /** ratio: denominator; weighted_avg: weight. */
  other?: string;
  format?: string;
  /** Which way is good news (a measure's `better`). */
  better?: 'higher' | 'lower';
  granularity?: 'day' | 'week' | 'month';
  role?: 'x' | 'series' | 'y';
  /** The declared data_type of its column (render.ts, from columnTypes): text is a date only in a date or timestamp field. */
  type?: string;
}

export interface CompiledTile {
  /** The tile, its links resolved to URL templates (project link templates filled in). */
  tile: ResolvedTile;
  tab: string;
  /** The model the tile reads, and its relation spelled for the target (e.g. "analytics"."ai_audit_daily"). */
  model: string;
  relation: string;
  fields: CompiledField[];
  /** The tile's query for the target, with the dashboard filters' defaults applied.
   * current_date/current_timestamp stand for the time it runs (bound with bindEvalTime). */
  sql: string;
  /** A table with a limit: its rows without the limit, counted (the tile says "first 50 of 560 rows"). */
  countSql?: string;
  /** countSql runs only when the rows reach this many (a box or scatter of raw rows: its limit); unset, beside the rows (a table). */
  countFrom?: number;
  /** The same query without the dashboard filters (for BI tools that apply their own). */
  sqlUnfiltered: string;
  /** kpi with compare — the same query over the previous period. */
  previousSql?: string;
  /** kpi: its time window as a reader says it ("today so far") and what the change compares with ("same hours yesterday"). */
  window?: { text: string; compare?: string };
  /** The previous period without the dashboard filters (a KPI whose window is its own filter): Metabase's trend card. */
  previousSqlUnfiltered?: string;
  /** The tile reads `vigil_sync_state` (this relation): before the first sync it does not exist, which is "not synced yet", not a failure. */
  syncState?: { database?: string; schema: string; identifier: string };
  /** Dashboard filters that apply to this tile (its model has the column). */
  appliesFilters: string[];
  /** A condition the warehouse requires on every read of the model (BigQuery's
   * require_partition_filter), kept to compile the tile again with other filter values. */
  readFilter?: string;
  /** Optional (export.ts): the declared data_type of the model's columns (models/*.yml or the
   * warehouse catalog), e.g. { date: 'date', provider: 'varchar' }. The Looker export uses it
   * for dimension types (dimension_group for date/timestamp, number, yesno); without it the
   * types are inferred from granularities, date filters and measures. */
  columnTypes?: Record<string, string>;
  /** table: each row's raw rows (raw-rows.ts). */
  rawRows?: CompiledRawRows;
  /** The column of type date whose window the query ends at today (tile-sql.ts): a render `--at`
   * a past moment reads that day as its table was built, and the tile says so. */
  dayWindow?: string;
  /** The relative lower bounds of its windows, by column (tile-sql.ts: its own, a date range's
   * default): a chart's first period that starts before its column's bound is partial (render.ts). */
  windowFrom?: WindowFrom[];
  /** The line of the tile's `id` in its dashboard file (where the exporters report it). */
  line?: number;
  /** Where its file names the column of each field (by field name), and of each raw-rows column
   * (its `raw_rows.columns` entry, else `raw_rows`): where the PII check reports them. */
  columnsAt?: Record<string, { line: number; column: number }>;
  rawColumnsAt?: Record<string, { line: number; column: number }>;
  /** Where its file names each column it filters or ranks on without showing it (its filters,
   * `top_n`, the dashboard filters it is the first tile of its model to reach), and each column its raw rows
   * match or take the day of without listing it: the Looker export makes every one a field
   * (a dimension in the view's drill set), so the PII check reads them too. */
  namedAt?: Record<string, { line: number; column: number }>;
  rawNamedAt?: Record<string, { line: number; column: number }>;
}

export interface CompiledDashboard {
  dashboard: Dashboard;
  /** dashboards/overview.json */
  file: string;
  tabs: Array<{ name: string; title: string; tiles: CompiledTile[] }>;
  /** Models it reads (names), sorted. */
  models: string[];
  /** Warehouse dialect the SQL is written for. */
  dialect: string;
  /** dbt-style project name (Looker model name, Metabase collection). */
  project: string;
}

/** A tile's data after querying the target. */
export type TileData =
  | { ok: true; rows: Array<Record<string, unknown>>; previous?: Record<string, unknown>; seconds: number; /** when it was read (ISO): a period still running then is drawn as partial */ at?: string; /** `at` is a past moment (render --at): a table's day of `at` (a date) holds what its build computed, perhaps later rows */ past?: boolean; /** the TimeZone of the session that read it (Adapter.sessionZone) when not UTC: the days its current_date and date_trunc read */ zone?: string; /** the rows there were without the tile's limit (countSql) */ total?: number }
  | { ok: false; error: string };
