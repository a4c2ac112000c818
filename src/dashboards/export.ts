/**
 * `vigil dashboards export`: compiled dashboards as files for BI tools. Pure and deterministic
 * (sorted JSON keys, stable order, no timestamps, trailing newline), so the exports can be
 * committed and diffed.
 *
 * - `looker`: `<dashboard>.dashboard.lookml` (LookML dashboard, `layout: newspaper`), plus the
 *   LookML the elements need: `<model>.view.lkml` per model read (sql_table_name, a dimension
 *   or dimension_group per column used, every measure used) and `<project>.model.lkml` (one
 *   explore per model). LookML dashboards have no tabs we can rely on, so the tabs are stacked
 *   vertically, each under a full-width `type: text` element with the tab's title. Names are
 *   Looker's (a-z, 0-9, _: lookerName), the warehouse's quoted in the SQL; two things that would
 *   get one name are refused (exit 2), never written over each other.
 * - `metabase`: `<dashboard>.metabase.json`, the payloads of `POST /api/card` (native SQL for
 *   the target) and of `POST /api/dashboard` + `PUT /api/dashboard/:id` (parameters, tabs,
 *   dashcards). Dashboard filters become basic SQL variables inside optional clauses, so every
 *   card's SQL is valid with the filter empty (the clause disappears):
 *     date_range `d`  -> number variable {{d}} "last N days" (default N from "7d"):
 *                        [[and "date" >= current_date - (N - 1) days]]  (today included, as Vigil)
 *     select `p`      -> text variable {{p}}: [[and "provider" in ({{p}})]]
 *   (Field-filter tags would need Metabase's field ids, which only exist in a live instance.)
 * - `json`: `<dashboard>.json`, the normalized definition (schema defaults applied) and each
 *   tile's compiled SQL.
 *
 * Grids: Vigil's is 12 columns; Looker's newspaper and Metabase's are 24. Columns and rows are
 * both doubled, keeping each tile's aspect ratio (a KPI of h 2 becomes 4 rows, a chart of h 4
 * becomes 8: the usual sizes in both tools).
 *
 * A tile whose own filters constrain a dashboard filter's column does not listen to that filter;
 * for a date range, only a relative window of its own (e.g. "Interactions (24h)") does that, as
 * in Vigil's own SQL. In Looker a listening element has its own filter on the field replaced.
 */
import { WAREHOUSES } from '../adapters/index.js';
import { typeFamily } from '../adapters/type-family.js';
import { diag, ProjectError, type Diagnostic } from '../errors.js';
import { GAUGE_BELOW, gaugeBands, niceCeil } from './gauge-bands.js';
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { dialectOf } from '../adapters/index.js';
import type { Dialect } from '../adapters/dialect.js';
import type { DashboardFilter, Tile, TileType } from './schema.js';
import { rawRowFields } from './raw-rows.js';
import { loneLinkField } from './safe-values.js';
import { appRouteUrl, isAppRoute } from './base-url.js';
import type { CompiledDashboard, CompiledField, CompiledTile } from './types.js';
import { compileTileWithClauses, human, keepsOwnWindow, measureSql, ownWindow } from './tile-sql.js';
import { stableJson } from '../stable-json.js';
import { counted } from '../format.js';

export type ExportFormat = 'looker' | 'metabase' | 'json';

export interface ExportOptions {
  /** looker: the model's `connection:` (default: the project's name). */
  lookerConnection?: string;
  /** metabase: the id of the Metabase database the cards query (required: Metabase refuses a card without one). */
  metabaseDatabase?: number;
  /** metabase: the collection the cards and dashboards go into (default: the project's name). */
  collection?: string;
  /**
   * looker: project.yaml `dashboards.base_url` (checked, ending in '/'): root-relative tile links
   * (app routes) are exported under it when it is an http(s) URL, as the site links them.
   */
  baseUrl?: string;
}

/**
 * The longest file name an export writes, in bytes: 255 (ext4, APFS, NTFS...) less the
 * `.<pid>.tmp` the writer names the file while writing it (project/artifacts.ts; a pid has up to
 * 7 digits). A model's name (a LookML view's file) may be longer than a file name can be; the
 * names of dashboards and tiles have at most 63 characters (schema.ts).
 */
export const MAX_EXPORT_FILE_NAME = 255 - '.1234567.tmp'.length;

/** Why a file an export writes cannot have this name, if it cannot. */
export function exportFileNameProblem(file: string): string | undefined {
  const n = Buffer.byteLength(file);
  return n > MAX_EXPORT_FILE_NAME ? `the file ${file.length > 60 ? `${file.slice(0, 40)}…${file.slice(-20)}` : file}, a name of ${n} bytes: a file name can have at most ${MAX_EXPORT_FILE_NAME} here` : undefined;
}

/** Relative file path -> content. */
export function exportDashboards(ds: CompiledDashboard[], format: ExportFormat, opts: ExportOptions = {}): Map<string, string> {
  const sorted = [...ds].sort((a, b) => cmp(a.dashboard.name, b.dashboard.name));
  switch (format) {
    case 'looker':
      return exportLooker(sorted, opts);
    case 'metabase':
      return exportMetabase(sorted, opts);
    case 'json':
      return exportJson(sorted);
    default:
      throw new Error(`unknown export format '${String(format)}' (use looker, metabase or json)`);
  }
}

/** A target of the project: its name and warehouse type (for exportWarnings). */
export interface ProjectTarget {
  name: string;
  type: string;
}

/** What reads an export's SQL, per format (the dialect warning's words). */
const SQL_READER: Record<ExportFormat, { what: string; reader: (title: string) => string }> = {
  looker: { what: 'this LookML is', reader: (t) => `a Looker connection on ${t}` },
  metabase: { what: "this Metabase export's cards are", reader: (t) => `a Metabase database on ${t}` },
  json: { what: "this JSON export's SQL is", reader: (t) => `a BI tool on ${t}` },
};

/**
 * What an export should say on stderr (never an error). Every format: SQL written for another
 * warehouse than the project's production BI warehouse (`bi.production`: dev on DuckDB, prod on
 * BigQuery — `--target <that target>` writes its SQL). LookML also: a Looker connection named for
 * another warehouse (`bi.names` of its adapter: "bigquery_prod", "analytics_bq"), and the app-route
 * links it leaves out without an http(s) base URL (once, all of them).
 */
export function exportWarnings(ds: CompiledDashboard[], format: ExportFormat, opts: ExportOptions, project: { target: string; targets: ProjectTarget[] }): string[] {
  if (!ds.length) return [];
  const out: string[] = [];
  const dialect = ds[0].dialect;
  const connection = opts.lookerConnection ?? ds[0].project;
  const others = WAREHOUSES.filter((w) => w.dialect.name !== dialect);
  const named = format === 'looker' ? others.find((w) => w.bi.names?.test(connection)) : undefined;
  const wh = named ?? others.find((w) => w.bi.production && project.targets.some((t) => t.type === w.type));
  if (wh) {
    const title = wh.bi.title;
    const theirs = project.targets.filter((t) => t.type === wh.type).map((t) => t.name).sort();
    const why = named ? `the Looker connection '${connection}' is named for ${title}` : `the project's ${title} target${theirs.length === 1 ? ' is' : 's are'} ${theirs.join(', ')}`;
    const fix = theirs.length ? `export with --target ${theirs[0]}` : `export with --target <a ${title} target> (this project has none yet: add one to project.yaml, e.g. prod)`;
    const r = SQL_READER[format];
    out.push(`warning: ${r.what} written in ${dialect} SQL (target ${project.target}), but ${why}: ${r.reader(title)} needs ${title} SQL — ${fix}`);
  }
  if (format === 'looker' && !lookerBase(opts.baseUrl)) {
    const routes = ds.flatMap((d) => allTiles(d).flatMap((t) => t.tile.links.filter((l) => isAppRoute(l.url)).map((l) => `${d.dashboard.name}/${t.tile.id}: '${l.label}' (${l.url})`)));
    if (routes.length)
      out.push(`warning: LookML: ${routes.length === 1 ? 'an app-route link is' : `${routes.length} app-route links are`} not exported (${routes.join(', ')}): Looker would open ${routes.length === 1 ? 'it' : 'them'} on its own host; ${appRouteFix(opts.baseUrl)} (each dashboard file lists ${routes.length === 1 ? 'it' : 'them'} under "Not carried")`);
  }
  return out;
}

/** The base URL app routes are exported under in LookML: an http(s) one (a path would be read on Looker's host). */
const lookerBase = (base: string | undefined) => (base && /^https?:\/\//i.test(base) ? base : undefined);
const appRouteFix = (base: string | undefined) => (base ? `the base URL (${base}) is a path, which Looker would read on its own host too: give the app's http(s) URL (--base-url, or dashboards.base_url in project.yaml)` : "give the app's http(s) URL with --base-url or dashboards.base_url in project.yaml");

/** Vigil grid units -> the 24-column grids of Looker (newspaper) and Metabase. */
export const GRID_SCALE = 2;
/** Height of the text element that heads each tab in a LookML dashboard (Looker rows). */
export const LOOKER_TAB_HEADING_HEIGHT = 2;

// ---------------------------------------------------------------------------------------------
// shared helpers

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A map that refuses a second value for a key (generated names: a second writer is a bug, never an overwrite). */
function setOnce<V>(m: Map<string, V>, key: string, value: V, what: string): void {
  if (m.has(key)) throw new Error(`export: ${what} '${key}' generated twice`);
  m.set(key, value);
}

function allTiles(d: CompiledDashboard): CompiledTile[] {
  return d.tabs.flatMap((t) => t.tiles);
}

/** The dashboard filters a tile listens to: those that apply to it, unless it filters the column itself (a date range: unless it keeps its own window there). */
export function listenedFilters(d: CompiledDashboard, t: CompiledTile): DashboardFilter[] {
  return d.dashboard.filters.filter((f) => t.appliesFilters.includes(f.name) && !(f.type === 'date_range' ? keepsOwnWindow(t.tile, f) : t.tile.filters.some((x) => x.column === f.column)));
}

type ColumnKind = 'date' | 'timestamp' | 'number' | 'yesno' | 'string';

/**
 * A declared type's kind, by its family (adapters/type-family.ts, as the dashboard checks read
 * it): a time of day, an interval, an array or a struct is no date, timestamp or number (was: a
 * `time` a Looker dimension group its timeframes cannot be cut from, an `interval` or an
 * `integer[]` a number, its Metabase filter a number variable the warehouse cannot compare).
 */
function kindOfType(dataType: string): ColumnKind {
  const f = typeFamily(dataType, 'local');
  if (f === 'date') return 'date';
  if (f === 'instant' || f === 'local') return 'timestamp';
  if (f === 'bool') return 'yesno';
  // (Postgres' money too: an amount, summed and compared as one — its family is its own)
  if (f === 'int' || f === 'float' || f === 'numeric' || f === 'money') return 'number';
  return 'string';
}

const isRelativeDate = (v: unknown) => typeof v === 'string' && (v === 'today' || /^-\d+d$/.test(v));

/** A date range's value ("7d": the last 7 days, today included) as Looker's filter expression ("7 days"); undefined for anything else. */
export function lookerDays(v: unknown): string | undefined {
  const n = /^(\d+)d$/.exec(String(v ?? ''))?.[1];
  return n ? `${n} ${n === '1' ? 'day' : 'days'}` : undefined;
}
const NUMERIC_AGGS = new Set(['sum', 'avg', 'median', 'p50', 'p90', 'p95', 'p99', 'ratio', 'share', 'weighted_avg']);

/**
 * The kind of every column the dashboards use, per model: the declared data_type when the
 * compiler passed it (CompiledTile.columnTypes), else inferred — a column with a granularity, an
 * age_minutes measure, a date range filter or a relative date filter is temporal (a date when
 * named like `date`/`day`, else a timestamp); one filtered with true/false is a yesno; an
 * aggregated column, one compared with a number or plotted raw on a scatter/box is a number;
 * anything else a string.
 */
function columnKinds(ds: CompiledDashboard[]): (model: string, column: string) => ColumnKind {
  const declared = new Map<string, Map<string, string>>();
  const temporal = new Map<string, Set<string>>();
  const numeric = new Map<string, Set<string>>();
  const yesno = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, model: string, col: string) => {
    if (!m.has(model)) m.set(model, new Set());
    m.get(model)!.add(col);
  };
  for (const d of ds) {
    for (const t of allTiles(d)) {
      const declare = (model: string, types: Record<string, string> | undefined) => {
        for (const [c, ty] of Object.entries(types ?? {})) {
          if (!declared.has(model)) declared.set(model, new Map());
          if (!declared.get(model)!.has(c)) declared.get(model)!.set(c, ty);
        }
      };
      declare(t.model, t.columnTypes);
      // the model a raw-row action reads (its explore link)
      if (t.rawRows) declare(t.rawRows.model, t.rawRows.columnTypes);
      for (const f of t.fields) {
        if (f.granularity || f.agg === 'age_minutes' || f.agg === 'oldest_age_minutes') add(temporal, t.model, f.column);
        if (f.kind === 'measure' && f.agg && NUMERIC_AGGS.has(f.agg)) add(numeric, t.model, f.column);
        if (f.kind === 'measure' && f.other) add(numeric, t.model, f.other);
        // raw values plotted on an axis (scatter, box) are numbers
        if (isRaw(f) && ['scatter', 'box'].includes(t.tile.type)) add(numeric, t.model, f.column);
      }
      for (const f of t.tile.filters) {
        if (isRelativeDate(f.value)) add(temporal, t.model, f.column);
        else if (typeof f.value === 'boolean') add(yesno, t.model, f.column);
        else if (typeof f.value === 'number') add(numeric, t.model, f.column);
      }
      for (const f of d.dashboard.filters) if (f.type === 'date_range' && t.appliesFilters.includes(f.name)) add(temporal, t.model, f.column);
    }
  }
  return (model, column) => {
    const ty = declared.get(model)?.get(column);
    if (ty) return kindOfType(ty);
    if (temporal.get(model)?.has(column)) return /(^|_)(date|day)$/i.test(column) ? 'date' : 'timestamp';
    if (yesno.get(model)?.has(column)) return 'yesno';
    if (numeric.get(model)?.has(column)) return 'number';
    return 'string';
  };
}

/** Deterministic UUID-shaped id (Metabase template tag ids). */
function stableUuid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Series dimensions of a tile: explicit role 'series', else the second dimension of a two-dimension chart/heatmap. */
function seriesDims(t: CompiledTile): CompiledField[] {
  const dims = t.fields.filter((f) => f.kind === 'dimension');
  const explicit = dims.filter((f) => f.role === 'series');
  if (explicit.length) return explicit;
  if (dims.length === 2 && ['line', 'area', 'bar', 'heatmap'].includes(t.tile.type)) return [dims.find((f) => f.role !== 'x' && f !== dims[0]) ?? dims[1]];
  return [];
}

/** Row-level fields (agg none) are columns, not aggregates. */
const isRaw = (f: CompiledField) => f.kind === 'measure' && f.agg === 'none';

function grid(l: Tile['layout']) {
  return { col: l.x * GRID_SCALE, row: l.y * GRID_SCALE, width: l.w * GRID_SCALE, height: l.h * GRID_SCALE };
}

function tabHeight(tiles: CompiledTile[]): number {
  return Math.max(0, ...tiles.map((t) => (t.tile.layout.y + t.tile.layout.h) * GRID_SCALE));
}

// ---------------------------------------------------------------------------------------------
// Looker

export const LOOKER_TYPES: Record<TileType, string> = {
  kpi: 'single_value',
  line: 'looker_line',
  area: 'looker_area',
  bar: 'looker_column',
  donut: 'looker_pie',
  // no heatmap in Looker's built-in charts: a table pivoted on the second dimension
  heatmap: 'looker_grid',
  box: 'looker_boxplot',
  scatter: 'looker_scatter',
  table: 'looker_grid',
  // no built-in gauge: the value
  gauge: 'single_value',
};

const TIMEFRAME: Record<string, string> = { day: 'date', week: 'week', month: 'month' };

/** Pivot columns Looker draws when the pivoted column has no `top_n` (element `column_limit`; Looker's own cap is 200). */
export const LOOKER_PIVOT_LIMIT = 50;

interface LookerLink {
  label: string;
  url: string;
}

interface LookerMeasure {
  name: string;
  label?: string;
  type: string;
  sql?: string;
  percentile?: number;
  format?: string;
  /** Only there for another measure's sql: hidden in the field picker. */
  hidden: boolean;
  /** A filtered measure (a KPI's current or previous period): field -> Looker filter expression. */
  filters?: Array<[string, string]>;
  links?: LookerLink[];
}

interface LookerView {
  model: string;
  /** The view's (and explore's) Looker name (lookerName of the model). */
  name: string;
  relation: string;
  dialect: Dialect;
  /** column -> label (dimensions and dimension groups). */
  columns: Map<string, string | undefined>;
  /** column -> its Looker field name (lookerName; a dimension group's timeframes add _date, ...). */
  fields: Map<string, string>;
  /** column -> the first tile that reads it (where a clash is reported). */
  sources: Map<string, LookerOwner>;
  measures: Map<string, LookerMeasure>;
  /** column -> links (tile `links` and drill-downs), on the dimension. */
  links: Map<string, LookerLink[]>;
}

/** A tile's top-N ranking: a derived table joined to its model's explore, filtered on `in_top_n`. */
interface LookerTopN {
  name: string;
  model: string;
  column: string;
  sql: string;
}

/** What asks for a generated LookML name, and where (a tile's line in its dashboard file). */
interface LookerOwner {
  what: string;
  file?: string;
  line?: number;
  /** The name it was made from (a model, a column), when it was made from one. */
  from?: string;
}

/**
 * A Looker identifier for a name: Looker's views and fields take a-z, 0-9 and _, starting with a
 * letter. Lower-cased, any other character as _, and `prefix` before a name that starts otherwise
 * (`1st` -> `f_1st`, `_id` -> `f_id`). Different names can map to one: the exporter refuses that.
 */
export function lookerName(name: string, prefix: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  // yes and no are LookML's booleans: a field named so reads as true/false in a list (`fields: [yes]`)
  if (s === 'yes' || s === 'no') return `${prefix}_${s}`;
  return /^[a-z]/.test(s) ? s : `${prefix}${s.startsWith('_') ? '' : '_'}${s}`;
}

/**
 * Why a warehouse name (a column, a relation) cannot be written into a LookML `sql:` block, if it
 * cannot: `;;` ends the block, `${` is a LookML substitution and `{{`/`{%` Liquid, which Looker
 * reads inside quoted identifiers too — no escape makes them text there.
 */
export function lookerSqlNameProblem(name: string): string | undefined {
  if (name.includes(';;')) return "';;', which ends a LookML sql block";
  if (name.includes('${')) return "'${', which Looker reads as a reference to a LookML field";
  const liquid = ['{{', '{%'].find((x) => name.includes(x));
  if (liquid) return `'${liquid}', which Looker reads as Liquid`;
  return undefined;
}

const PERCENTILES: Record<string, number> = { p50: 50, p90: 90, p95: 95, p99: 99 };

function lookerQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A value inside a Looker string filter expression: , % _ ^ " and a leading - escaped with ^. */
function lookerEscape(v: string): string {
  return v.replace(/[\^,%_"]/g, (c) => `^${c}`).replace(/^-/, '^-');
}

/**
 * Why a string value cannot be matched literally by a Looker string filter expression, if it
 * cannot: NULL and EMPTY are keywords there (`-NULL` reads "is not null"), no escape makes them
 * text; Looker trims the spaces around a value; an empty expression is no filter at all.
 */
function lookerLiteralProblem(v: string): string | undefined {
  if (/^(null|empty)$/i.test(v)) return `'${v}' is a keyword in Looker string filters (NULL, EMPTY), which no escape turns into text`;
  if (v === '') return 'an empty value is no filter in Looker';
  if (v.trim() !== v) return `Looker trims the spaces around '${v}'`;
  return undefined;
}

/** A day a date filter compares with: an absolute date (UTC midnight) or a number of days from today ("-7d": -7). */
type FilterDay = { date: Date } | { offset: number };

function filterDay(v: unknown, relative: boolean): FilterDay | undefined {
  if (typeof v !== 'string') return undefined;
  if (relative && v === 'today') return { offset: 0 };
  const rel = relative ? /^-(\d+)d$/.exec(v) : null;
  if (rel) return { offset: -Number(rel[1]) };
  const abs = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!abs) return undefined;
  const date = new Date(Date.UTC(Number(abs[1]), Number(abs[2]) - 1, Number(abs[3])));
  // 2024-02-30 is no day
  return date.toISOString().slice(0, 10) === v ? { date } : undefined;
}

const nextDay = (d: FilterDay, n = 1): FilterDay => ('date' in d ? { date: new Date(d.date.getTime() + n * 86_400_000) } : { offset: d.offset + n });
const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;
const slashDate = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '/');

/** The day itself ("2024/05/01", "today", "3 days ago"). */
function lookerOn(d: FilterDay): string | undefined {
  if ('date' in d) return slashDate(d.date);
  if (d.offset === 0) return 'today';
  return d.offset < 0 ? `${days(-d.offset)} ago` : d.offset === 1 ? 'tomorrow' : undefined;
}

/**
 * From the start of the day on (Looker's `after` includes its day). Relative: `after N days
 * ago`; from today on is `today` (Vigil's relative windows end now, and rows from the future are
 * taken to be none). Undefined where Looker has no phrase for it.
 */
function lookerAfter(d: FilterDay): string | undefined {
  if ('date' in d) return `after ${slashDate(d.date)}`;
  if (d.offset < 0) return `after ${days(-d.offset)} ago`;
  if (d.offset === 0) return 'today';
  return `after ${days(d.offset)} from now`;
}

/** Up to the start of the day (Looker's `before` excludes its day). Undefined where Looker has no phrase for it. */
function lookerBefore(d: FilterDay): string | undefined {
  if ('date' in d) return `before ${slashDate(d.date)}`;
  if (d.offset < 0) return `before ${days(-d.offset)} ago`;
  // no "before today" in Looker's grammar ("0 days ago" is not documented)
  return d.offset > 0 ? `before ${days(d.offset)} from now` : undefined;
}

/** `after A` and `before B` (absolute) on one date field as Looker's range `A to B` (A included, B not). */
function lookerDateRange(a: string, b: string): string | undefined {
  const abs = (s: string, w: string) => new RegExp(`^${w} (\\d{4}/\\d{2}/\\d{2}(?: [\\d:]+)?)$`).exec(s)?.[1];
  const from = abs(a, 'after') ?? abs(b, 'after');
  const to = abs(a, 'before') ?? abs(b, 'before');
  return from && to ? `${from} to ${to}` : undefined;
}

/** A Looker filter expression, or why none selects the rows the site's SQL selects (the export lists it as not carried). */
export type LookerFilter = { expr: string } | { why: string };

const NO_PHRASE = "Looker's date filter expressions have no phrase for it";

/**
 * A tile filter (tile-sql.ts `conditions`) as a Looker filter expression for a field of this
 * kind, selecting the rows the site's SQL selects, or why there is none. Looker's date filters:
 * `after D` is on or after D, `before D` strictly before, commas are OR; a relative window
 * (">= -7d", "today") ends now on the site, with no end in Looker (rows from the future are taken
 * to be none). Strings have no ordering in Looker, and NULL/EMPTY are keywords.
 */
export function lookerFilterExpression(op: string, value: unknown, kind: ColumnKind): LookerFilter {
  const values = Array.isArray(value) ? value : [value];
  const list = values.map((v) => (v === null ? 'NULL' : String(v)));
  if (op === 'is null') return { expr: 'NULL' };
  if (op === 'is not null') return { expr: kind === 'string' ? '-NULL' : 'NOT NULL' };
  // SQL's `in (..., null)` never matches the null, `not in (..., null)` matches no row
  if (op === 'not in' && values.some((v) => v === null)) return { why: 'not in with a null in its list selects no rows' };
  const kept = op === 'in' ? values.filter((v) => v !== null) : values;
  if (op === 'in' && !kept.length) return { why: 'in with only nulls selects no rows' };
  if (kind === 'yesno') {
    const yes = value === true || value === 'true' || value === 'yes' || value === 'Yes';
    return { expr: (op === '!=') !== yes ? 'Yes' : 'No' };
  }
  if (kind === 'date' || kind === 'timestamp') {
    if (typeof value === 'string' && /^-\d+h$/.test(value)) return { why: `Looker starts hour windows at the hour, not ${value.slice(1)} before now` };
    // lists hold values, never relative days (the site's SQL compares them as written)
    const relative = op !== 'in' && op !== 'not in';
    // an instant ("2024-05-01 12:00:00") bounds a timestamp: on or after it, strictly before it
    const instant = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)$/.exec(value) : null;
    if (instant && kind === 'timestamp' && (op === '>=' || op === '<')) return { expr: `${op === '>=' ? 'after' : 'before'} ${instant[1]}/${instant[2]}/${instant[3]} ${instant[4]}` };
    const ds = kept.map((v) => filterDay(v, relative));
    if (ds.some((x) => !x)) return { why: `${NO_PHRASE} (${JSON.stringify(value)} is not a date like "2024-05-01", "today" or "-7d")` };
    const day = ds[0]!;
    if (kind === 'timestamp' && op !== '>=' && op !== '<') return { why: `a timestamp compared with ${op} to midnight of a day: Looker's date filters start and end at a day, not strictly after or on midnight` };
    const one = (s: string | undefined): LookerFilter => (s ? { expr: s } : { why: NO_PHRASE });
    switch (op) {
      case '>=':
        return one(lookerAfter(day));
      case '>':
        return one(lookerAfter(nextDay(day)));
      case '<':
        return one(lookerBefore(day));
      case '<=':
        return one(lookerBefore(nextDay(day)));
      case '=':
        return one(lookerOn(day));
      case 'in': {
        const on = ds.map((x) => lookerOn(x!));
        return on.every(Boolean) ? { expr: [...new Set(on)].join(',') } : { why: NO_PHRASE };
      }
      case '!=':
      case 'not in': {
        // the days between the listed ones: before the first, ranges between, from the day after the last
        const sorted = [...new Map(ds.map((x) => [lookerOn(x!) ?? '', x!])).values()];
        if (sorted.some((x) => 'offset' in x)) {
          if (sorted.length !== 1) return { why: NO_PHRASE };
          const before = lookerBefore(sorted[0]);
          const after = lookerAfter(nextDay(sorted[0]));
          return before && after && after !== 'today' ? { expr: `${before},${after}` } : { why: NO_PHRASE };
        }
        const dates = sorted.map((x) => (x as { date: Date }).date).sort((a, b) => a.getTime() - b.getTime());
        const parts = [`before ${slashDate(dates[0])}`];
        for (let i = 0; i + 1 < dates.length; i++) {
          const from = new Date(dates[i].getTime() + 86_400_000);
          if (from < dates[i + 1]) parts.push(`${slashDate(from)} to ${slashDate(dates[i + 1])}`);
        }
        parts.push(`after ${slashDate(new Date(dates[dates.length - 1].getTime() + 86_400_000))}`);
        return { expr: parts.join(',') };
      }
      default:
        return { why: NO_PHRASE };
    }
  }
  if (kind === 'number') {
    if (op === 'in') return { expr: list.join(', ') };
    if (op === 'not in') return { expr: `NOT ${list.join(', ')}` };
    if (op === '!=') return { expr: `NOT ${list[0]}` };
    if (op === '=') return { expr: list[0] };
    return { expr: `${op}${list[0]}` };
  }
  if (!['=', '!=', 'in', 'not in'].includes(op)) return { why: `Looker string filters have no ordering (${op})` };
  const strs = kept.map(String);
  const bad = strs.map(lookerLiteralProblem).find(Boolean);
  if (bad) return { why: bad };
  // Looker's "is not" may keep the nulls the site's SQL (<>, not in) leaves out: -NULL says so (negatives are ANDed)
  if (op === '!=' || op === 'not in') return { expr: [...strs.map((v) => `-${lookerEscape(v)}`), '-NULL'].join(',') };
  return { expr: strs.map(lookerEscape).join(',') };
}

/**
 * A KPI's own relative window as two Looker filter expressions, this period and the one before
 * (of the same length, ending where this one starts): "-1d" (yesterday and today) is
 * "1 day ago for 2 days" against "3 days ago for 2 days"; "-24h" is "24 hours ago for 24 hours"
 * against "48 hours ago for 24 hours" (Looker starts hour windows at the hour); "today" against
 * "yesterday". The timeframe is `date` for days, `time` for hours.
 */
export function lookerPeriods(value: string): { timeframe: 'date' | 'time'; current: string; previous: string } | undefined {
  if (value === 'today') return { timeframe: 'date', current: 'today', previous: 'yesterday' };
  const m = /^-(\d+)([dh])$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (k: number, u: string) => `${k} ${u}${k === 1 ? '' : 's'}`;
  if (m[2] === 'h') return { timeframe: 'time', current: `${unit(n, 'hour')} ago for ${unit(n, 'hour')}`, previous: `${unit(2 * n, 'hour')} ago for ${unit(n, 'hour')}` };
  return { timeframe: 'date', current: `${unit(n, 'day')} ago for ${unit(n + 1, 'day')}`, previous: `${unit(2 * n + 1, 'day')} ago for ${unit(n + 1, 'day')}` };
}

/** Looker's conditional formatting rule for a Vigil comparison (its `between` includes both ends). */
function lookerFormattingRule(op: string, value: number): { type: string; value: number | number[] } {
  switch (op) {
    case '>':
      return { type: 'greater than', value };
    case '<':
      return { type: 'less than', value };
    case '=':
      return { type: 'equal to', value };
    case '!=':
      return { type: 'not equal to', value };
    case '>=':
      return { type: 'between', value: [value, Number.MAX_SAFE_INTEGER] };
    default:
      return { type: 'between', value: [-Number.MAX_SAFE_INTEGER, value] };
  }
}

/** `{{ field }}` in a Vigil URL template, as Liquid in a LookML link on `own` (`{{ value }}`) or another field of the row. */
function lookerLinkUrl(template: string, own: string, refOf: (name: string) => string | undefined, encoded = true): string {
  const encode = encoded ? ' | url_encode' : '';
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, name: string) => {
    if (name === own) return `{{ value${encode} }}`;
    const ref = refOf(name);
    return ref ? `{{ ${ref}._value${encode} }}` : m;
  });
}

/** A box tile of raw values (agg none): the site computes each box's five numbers from the rows (render.ts box). */
const boxOfRows = (t: CompiledTile) => t.tile.type === 'box' && t.fields.some(isRaw);

/** The five numbers of a box, as the exports compute them from raw values. */
const BOX_FIVE = [
  { suffix: 'min', label: 'min', fraction: 0, looker: { type: 'min' } },
  { suffix: 'p25', label: '25th percentile', fraction: 0.25, looker: { type: 'percentile', percentile: 25 } },
  { suffix: 'median', label: 'median', fraction: 0.5, looker: { type: 'median' } },
  { suffix: 'p75', label: '75th percentile', fraction: 0.75, looker: { type: 'percentile', percentile: 75 } },
  { suffix: 'max', label: 'max', fraction: 1, looker: { type: 'max' } },
] as const;

const dimsOf = (t: CompiledTile) => t.fields.filter((f) => f.kind === 'dimension').map((f) => f.label ?? f.column).join(', ') || 'all rows';
const measureLabels = (t: CompiledTile) => t.fields.filter((f) => f.kind === 'measure').map((f) => f.label ?? f.name).join(', ');

/** How a tile of a kind Looker has no chart for (heatmap, box, gauge) is exported (the dashboard file's header says it). */
function lookerMapping(t: CompiledTile): string | undefined {
  const id = `${t.tile.id} (${t.tile.type})`;
  const m = t.fields.find((f) => f.kind === 'measure');
  switch (t.tile.type) {
    case 'heatmap': {
      const y = seriesDims(t)[0];
      return `${id}: a table (looker_grid) pivoted on ${y?.label ?? y?.column}, one row per ${t.fields.find((f) => f.kind === 'dimension' && f !== y)?.label ?? 'x'}, the cells ${m?.label ?? m?.name}, without the color scale`;
    }
    case 'box': {
      const raw = t.fields.find(isRaw);
      if (raw)
        return `${id}: a box plot (looker_boxplot) of ${raw.label ?? raw.name} per ${dimsOf(t)}, its five numbers (min, 25th percentile, median, 75th percentile, max) as measures computed by Looker over every row of the window (the site computes them from the first ${counted(t.tile.limit ?? 5000, 'row')})`;
      return `${id}: a column chart (looker_column) of ${measureLabels(t)} per ${dimsOf(t)} (Looker's box plot takes the five numbers min, 25th percentile, median, 75th percentile and max, which these measures are not)`;
    }
    case 'gauge':
      return `${id}: a single value (single_value)${t.tile.thresholds.length ? ", its color the gauge's band it falls in" : ''}, without the dial`;
    default:
      return undefined;
  }
}

/** Liquid's replace chain escaping Looker's filter-expression characters in a field's value (`^` first: it is the escape). */
const LOOKER_ESCAPE_LIQUID = ['^', ',', '%', '_', '"'].map((c) => ` | replace: '${c}', '^${c}'`).join('');

/**
 * A drill-down or raw-row filter value, a Vigil template over the row ("{{ capability }}",
 * "{{ provider }}/{{ model }}", or text), as Liquid in a Looker URL whose filter expression
 * matches it literally, URL-encoded: in a Looker string filter `,` is OR, `%` and `_` are
 * wildcards, a leading `-` negates and `^` escapes. One field is Looker's own `filterable_value`
 * ("the value of the field formatted for use as a filter in a Looker URL"), another field of the
 * row its `_filterable_value`; text is escaped here, and a field beside text with a Liquid
 * replace chain (a leading `-` escaped when the value starts the expression).
 */
export function lookerFilterLiquid(template: string, own: string, refOf: (name: string) => string | undefined): string {
  const ref = (name: string) => (name === own ? 'value' : refOf(name) ? `${refOf(name)}._value` : undefined);
  const lone = /^\{\{\s*(\w+)\s*\}\}$/.exec(template.trim());
  if (lone && ref(lone[1])) return `{{ ${lone[1] === own ? 'filterable_value' : `${refOf(lone[1])}._filterable_value`} | url_encode }}`;
  const parts = template.split(/(\{\{\s*\w+\s*\}\})/);
  return parts
    .map((part, i) => {
      const first = parts.slice(0, i).every((x) => x === '');
      const name = i % 2 ? /\w+/.exec(part)![0] : undefined;
      const r = name ? ref(name) : undefined;
      if (!r) return encodeURIComponent(first ? lookerEscape(part) : part.replace(/[\^,%_"]/g, (c) => `^${c}`));
      const dash = first ? `{% assign vigil_first = ${r} | slice: 0 %}{% if vigil_first == '-' %}%5E{% endif %}` : '';
      return `${dash}{{ ${r}${LOOKER_ESCAPE_LIQUID} | url_encode }}`;
    })
    .join('');
}

function exportLooker(ds: CompiledDashboard[], opts: ExportOptions): Map<string, string> {
  const out = new Map<string, string>();
  if (!ds.length) return out;
  const project = ds[0].project;
  // the Looker model (the project), views (models) and fields (columns) take Looker identifiers;
  // the warehouse's names stay in the SQL, quoted, and in labels
  const lookerModel = lookerName(project, 'm');
  const connection = opts.lookerConnection ?? project;
  const kindOf = columnKinds(ds);
  const views = new Map<string, LookerView>();
  const topNs = new Map<string, LookerTopN>();
  const tileOwner = (d: CompiledDashboard, t: CompiledTile, what: string): LookerOwner => ({ what, file: d.file, line: t.line });

  const viewOf = (t: Pick<CompiledTile, 'model' | 'relation'>, dialect: Dialect, src: LookerOwner): LookerView => {
    let v = views.get(t.model);
    if (!v) {
      v = { model: t.model, name: lookerName(t.model, 'v'), relation: t.relation, dialect, columns: new Map(), fields: new Map(), sources: new Map([['', src]]), measures: new Map(), links: new Map() };
      views.set(t.model, v);
    }
    return v;
  };
  const addColumn = (v: LookerView, col: string, src: LookerOwner, label?: string) => {
    if (!v.columns.has(col) || (v.columns.get(col) === undefined && label)) v.columns.set(col, label);
    if (!v.sources.has(col)) v.sources.set(col, src);
  };
  const isTemporal = (model: string, col: string) => ['date', 'timestamp'].includes(kindOf(model, col));
  /** The Looker field name of a column (a dimension group's: its name, without a timeframe). */
  const fieldName = (model: string, col: string) => views.get(model)!.fields.get(col)!;
  /** The Looker field a column is shown as (dimension groups: the timeframe). */
  const dimRef = (model: string, col: string, granularity?: string) => {
    const v = views.get(model)!;
    if (!isTemporal(model, col)) return `${v.name}.${fieldName(model, col)}`;
    const tf = granularity ? TIMEFRAME[granularity] : kindOf(model, col) === 'date' ? 'date' : 'time';
    return `${v.name}.${fieldName(model, col)}_${tf}`;
  };
  /** The Looker field a column is filtered on (dimension groups: the date). */
  const filterRef = (model: string, col: string) => `${views.get(model)!.name}.${fieldName(model, col)}${isTemporal(model, col) ? '_date' : ''}`;

  /** Field names a view's dimensions take (a dimension group takes one per timeframe). */
  const dimensionNames = (v: LookerView): Set<string> => {
    const names = new Set<string>();
    for (const [col, name] of v.fields) {
      if (isTemporal(v.model, col)) for (const tf of LOOKER_TIMEFRAMES) names.add(`${name}_${tf}`);
      else names.add(name);
    }
    return names;
  };

  // 1. every column the elements read, so measure names can avoid them
  for (const d of ds) {
    const dialect = dialectOf(d.dialect);
    for (const t of allTiles(d)) {
      const src = (what: string) => tileOwner(d, t, what);
      const v = viewOf(t, dialect, src(`model '${t.model}' (tile '${t.tile.id}')`));
      const add = (c: string, label?: string) => addColumn(v, c, src(`column '${c}' of model '${t.model}' (tile '${t.tile.id}')`), label);
      for (const f of t.fields) if (f.kind === 'dimension' || isRaw(f)) add(f.column, f.label);
      for (const f of t.tile.filters) add(f.column);
      for (const f of listenedFilters(d, t)) add(f.column);
      if (t.tile.top_n) add(t.tile.top_n.column);
      // a raw-row action: the explore of its model, with the columns it shows and filters on
      if (t.rawRows) {
        const rr = t.rawRows;
        const rv = viewOf(rr, dialect, src(`model '${rr.model}' (the raw rows of tile '${t.tile.id}')`));
        for (const c of [...rr.columns, ...Object.keys(rr.match), ...(rr.day ? [rr.day.column] : [])]) addColumn(rv, c, src(`column '${c}' of model '${rr.model}' (the raw rows of tile '${t.tile.id}')`));
      }
    }
    // a filter's own field (applies_to models without tiles have no view: no field)
    for (const f of d.dashboard.filters) {
      const t = allTiles(d).find((x) => x.appliesFilters.includes(f.name));
      if (t) addColumn(viewOf(t, dialect, tileOwner(d, t, `model '${t.model}'`)), f.column, tileOwner(d, t, `column '${f.column}' of model '${t.model}' (filter '${f.name}')`));
    }
  }

  // Looker names: every generated view, field and element name has one owner. Two owners of one
  // name (models my-orders and my_orders; a column 'user name' beside user_name; the top-N tables
  // of tile b__c in dashboard a and tile c in a__b) would be one file or field written over by
  // the other, or two that Looker refuses: said before anything is written
  const owners = new Map<string, LookerOwner>();
  const clashes: Diagnostic[] = [];
  const where = (o: LookerOwner) => (o.file ? ` (${o.file}${o.line ? `:${o.line}` : ''})` : '');
  /** `name` for `o` in `scope` (a view's fields, a dashboard's elements, the views): false when another owner has it. */
  const claim = (scope: string, name: string, what: string, o: LookerOwner, hint: string): boolean => {
    const key = `${scope}\u0000${name}`;
    const first = owners.get(key);
    if (!first) owners.set(key, o);
    else {
      const mapped = [first, o].some((x) => x.from !== undefined && x.from !== name) ? ` (${LOOKER_NAMES})` : '';
      clashes.push(diag('E_EXPORT', `LookML: ${o.what} and ${first.what}${where(first)} would both be the ${what}${mapped}, which can be only one of them`, { file: o.file, line: o.line }, hint));
      return false;
    }
    return true;
  };
  for (const v of views.values()) {
    const ok = claim('view', v.name, `view '${v.name}'`, { ...v.sources.get('')!, from: v.model }, 'rename one of the models');
    const long = exportFileNameProblem(`${v.name}.view.lkml`);
    if (long) clashes.push(diag('E_EXPORT', `LookML: ${v.sources.get('')!.what} would be ${long}`, { file: v.sources.get('')!.file, line: v.sources.get('')!.line }, 'give the model a shorter name'));
    for (const col of v.columns.keys()) {
      const name = lookerName(col, 'f');
      v.fields.set(col, name);
      if (ok) claim(`field ${v.name}`, name, `field '${name}' of view ${v.name}`, { ...v.sources.get(col)!, from: col }, `alias one of the columns in the model (e.g. "${col}" as ${name}_2)`);
    }
  }
  // a top-N ranking: a view of its own, named after its dashboard and tile
  const topNNames = new Map<CompiledTile, string>();
  for (const d of ds) {
    const element = (name: string, o: LookerOwner) => claim(`element ${d.dashboard.name}`, name, `element '${name}' of dashboard ${d.dashboard.name}`, o, 'rename the tile (its id) or the tab');
    for (const tab of d.tabs) {
      // a tab's heading is an element beside the tiles
      element(`tab_${tab.name}`, { what: `the heading of tab '${tab.name}'`, file: d.file });
      for (const t of tab.tiles) {
        element(t.tile.id, tileOwner(d, t, `tile '${t.tile.id}'`));
        if (!t.tile.top_n || !t.fields.some((f) => f.kind === 'measure')) continue;
        const from = `${d.dashboard.name}__${t.tile.id}__top_n`;
        const name = lookerName(from, 'v');
        topNNames.set(t, name);
        const o = tileOwner(d, t, `the top_n of tile '${t.tile.id}' in dashboard '${d.dashboard.name}'`);
        if (!claim('view', name, `view '${name}'`, { ...o, from }, 'rename the tile (its id) or the dashboard')) continue;
        const col = t.tile.top_n.column;
        const field = fieldName(t.model, col);
        claim(`field ${name}`, 'in_top_n', `field 'in_top_n' of view ${name}`, { what: 'its in_top_n dimension' }, '');
        claim(`field ${name}`, field, `field '${field}' of view ${name}`, { ...o, what: `its column '${col}'`, from: col }, `alias the column in the model (e.g. "${col}" as ${field}_value)`);
      }
    }
  }
  // a column named like a timeframe of another column's dimension group (ts_date beside ts) would
  // be a second field of one name, which Looker refuses
  for (const v of views.values()) {
    for (const [col, name] of v.fields) {
      if (isTemporal(v.model, col)) continue;
      const group = [...v.fields].find(([g, gn]) => isTemporal(v.model, g) && LOOKER_TIMEFRAMES.some((tf) => `${gn}_${tf}` === name))?.[0];
      if (!group) continue;
      const src = v.sources.get(col);
      clashes.push(diag('E_EXPORT', `LookML: model '${v.model}' has a column '${col}' and a ${kindOf(v.model, group)} column '${group}', whose dimension group names a field '${name}' too; Looker refuses two fields of one name`, { file: src?.file, line: src?.line }, `alias one of them in the model (e.g. ${col} as ${name}_value)`));
    }
  }
  // names the SQL of the views quotes: Looker reads ;; ${ {{ {% in them whatever the quotes
  // (each said once, at the first tile that reads it)
  const aliasHint = (c: string) => `alias the column in the model (e.g. "${c.replace(/"/g, '""')}" as ${lookerName(c, 'f')})`;
  const sqlNameProblem = (what: string, name: string, o: LookerOwner | undefined, hint: string) => {
    const p = lookerSqlNameProblem(name);
    if (p) clashes.push(diag('E_EXPORT', `LookML: ${what} holds ${p}; Looker has no escape for it in a view's sql`, { file: o?.file, line: o?.line }, hint));
  };
  for (const v of views.values()) {
    const src = v.sources.get('')!;
    sqlNameProblem(`${src.what} is the table ${v.relation}, whose name`, v.relation, src, 'give the model a table name without it (its alias or schema, or the schema of the target)');
    for (const c of v.columns.keys()) sqlNameProblem(v.sources.get(c)?.what ?? `column '${c}' of model '${v.model}'`, c, v.sources.get(c), aliasHint(c));
  }
  // the columns only measures read (sum of a column, a ratio's denominator, a weight)
  const measured = new Set<string>();
  for (const d of ds)
    for (const t of allTiles(d))
      for (const f of t.fields) {
        if (f.kind !== 'measure' || isRaw(f)) continue;
        for (const c of [f.column, ...(f.other ? [f.other] : [])]) {
          const key = `${t.model}\u0000${c}`;
          if (c === '*' || views.get(t.model)!.columns.has(c) || measured.has(key)) continue;
          measured.add(key);
          sqlNameProblem(`column '${c}' of model '${t.model}' (tile '${t.tile.id}')`, c, tileOwner(d, t, ''), aliasHint(c));
        }
      }
  if (clashes.length) throw new ProjectError(clashes);

  // 2. measures: CompiledField.name, unless a dimension or a different measure already has it
  const measureRef = new Map<string, string>();
  const signature = (m: Omit<LookerMeasure, 'name' | 'label' | 'hidden' | 'format' | 'links'>) => JSON.stringify([m.type, m.sql ?? '', m.percentile ?? '', m.filters ?? []]);
  const defineMeasure = (v: LookerView, asked: string, m: Omit<LookerMeasure, 'name' | 'hidden'>, hidden: boolean): string => {
    const wanted = lookerName(asked, 'f');
    const dims = dimensionNames(v);
    const sig = signature(m);
    for (let i = 0; ; i++) {
      const name = i === 0 ? wanted : i === 1 ? `${wanted}_measure` : `${wanted}_measure_${i}`;
      if (dims.has(name)) continue;
      const have = v.measures.get(name);
      if (have && signature(have) !== sig) continue;
      if (have) {
        have.hidden = have.hidden && hidden;
        if (!have.label && m.label) have.label = m.label;
        if (!have.format && m.format) have.format = m.format;
      } else v.measures.set(name, { ...m, name, hidden });
      return name;
    }
  };
  const col = (v: LookerView, c: string) => `\${TABLE}.${v.dialect.quoteIdent(c)}`;
  /** Aggregations a measure's `filters:` applies to (Looker ignores it on type: number, which ratios are built on filtered sums instead). */
  const filterable = (v: LookerView, f: CompiledField) =>
    ['sum', 'avg', 'count_distinct', 'median', 'p50', 'p90', 'p95', 'p99', 'share', 'ratio', 'weighted_avg'].includes(f.agg ?? '') ||
    (f.agg === 'count' && f.column === '*') ||
    ((f.agg === 'min' || f.agg === 'max') && !isTemporal(v.model, f.column));
  /**
   * The measure of a tile field; with `period`, a filtered copy for one period of a KPI's
   * comparison (`<name>_this_period` / `<name>_previous_period`).
   */
  const measureFor = (v: LookerView, f: CompiledField, period?: { suffix: string; field: string; expr: string }): string => {
    const key = `${v.model}\u0000${f.name}\u0000${f.agg}\u0000${f.column}\u0000${f.other ?? ''}\u0000${period ? `${period.field}=${period.expr}` : ''}`;
    const known = measureRef.get(key);
    if (known) return known;
    const base = { label: f.label, format: f.format };
    const filters: Array<[string, string]> | undefined = period ? [[period.field, period.expr]] : undefined;
    const want = (n: string) => (period ? `${n}${period.suffix}` : n);
    const helper = (n: string) => (period ? `${n}${period.suffix}` : n);
    let name: string;
    switch (f.agg) {
      case 'min':
      case 'max':
        // Looker's min/max measures are numeric; the latest date or time is a `type: date` measure
        if (isTemporal(v.model, f.column)) {
          name = defineMeasure(v, want(f.name), { ...base, type: 'date', sql: `${f.agg.toUpperCase()}(${col(v, f.column)})` }, false);
          break;
        }
        name = defineMeasure(v, want(f.name), { ...base, type: f.agg, sql: col(v, f.column), filters }, false);
        break;
      case 'sum':
      case 'count_distinct':
      case 'median':
        name = defineMeasure(v, want(f.name), { ...base, type: f.agg, sql: col(v, f.column), filters }, false);
        break;
      case 'avg':
        name = defineMeasure(v, want(f.name), { ...base, type: 'average', sql: col(v, f.column), filters }, false);
        break;
      case 'p50':
      case 'p90':
      case 'p95':
      case 'p99':
        name = defineMeasure(v, want(f.name), { ...base, type: 'percentile', percentile: PERCENTILES[f.agg], sql: col(v, f.column), filters }, false);
        break;
      case 'count':
        name = f.column === '*' ? defineMeasure(v, want(f.name), { ...base, type: 'count', filters }, false) : defineMeasure(v, want(f.name), { ...base, type: 'number', sql: `COUNT(${col(v, f.column)})` }, false);
        break;
      case 'ratio': {
        const num = defineMeasure(v, helper(`sum_${f.column}`), { type: 'sum', sql: col(v, f.column), filters }, true);
        const den = defineMeasure(v, helper(`sum_${f.other}`), { type: 'sum', sql: col(v, f.other!), filters }, true);
        name = defineMeasure(v, want(f.name), { ...base, type: 'number', sql: v.dialect.safe_divide(`\${${num}}`, `\${${den}}`) }, false);
        break;
      }
      case 'weighted_avg': {
        const num = defineMeasure(v, helper(`sum_${f.column}_x_${f.other}`), { type: 'sum', sql: `${col(v, f.column)} * ${col(v, f.other!)}`, filters }, true);
        const den = defineMeasure(v, helper(`sum_${f.other}`), { type: 'sum', sql: col(v, f.other!), filters }, true);
        name = defineMeasure(v, want(f.name), { ...base, type: 'number', sql: v.dialect.safe_divide(`\${${num}}`, `\${${den}}`) }, false);
        break;
      }
      case 'age_minutes':
      case 'oldest_age_minutes':
        // the site's expression (whole minutes elapsed, not minute boundaries crossed)
        name = defineMeasure(v, want(f.name), { ...base, type: 'number', sql: measureSql({ column: f.column, agg: f.agg }, (c) => col(v, c), v.dialect) }, false);
        break;
      case 'share':
        name = defineMeasure(v, want(f.name), { ...base, type: 'average', sql: `CASE WHEN ${col(v, f.column)} THEN 1.0 ELSE 0.0 END`, filters }, false);
        break;
      default:
        throw new Error(`measure '${f.name}': no LookML for agg '${String(f.agg)}'`);
    }
    measureRef.set(key, name);
    return name;
  };
  /** The Looker field of a tile field. */
  const fieldRef = (t: CompiledTile, f: CompiledField): string => {
    if (f.kind === 'dimension') return dimRef(t.model, f.column, f.granularity);
    if (isRaw(f)) return dimRef(t.model, f.column);
    const v = views.get(t.model)!;
    return `${v.name}.${measureFor(v, f)}`;
  };
  /**
   * Add a link to a column's dimension (not a dimension group: LookML puts links on dimensions and
   * measures), or a measure: the measures the element shows for it (`shown`: a compared KPI's
   * this-period and previous-period measures), else its own.
   */
  const addLink = (t: CompiledTile, f: CompiledField, link: LookerLink, shown?: string[]): boolean => {
    const v = views.get(t.model)!;
    const put = (list: LookerLink[]) => {
      if (!list.some((l) => l.label === link.label && l.url === link.url)) list.push(link);
    };
    if (f.kind === 'dimension' || isRaw(f)) {
      if (isTemporal(t.model, f.column)) return false;
      if (!v.links.has(f.column)) v.links.set(f.column, []);
      put(v.links.get(f.column)!);
      return true;
    }
    for (const name of shown ?? [measureFor(v, f)]) put((v.measures.get(name)!.links ??= []));
    return true;
  };
  /** The field a link hangs on: the first of the URL's fields that can carry one (a non-temporal dimension first). */
  const linkHolder = (t: CompiledTile, names: string[]): CompiledField | undefined => {
    const used = t.fields.filter((f) => names.includes(f.name));
    return used.find((f) => (f.kind === 'dimension' || isRaw(f)) && !isTemporal(t.model, f.column)) ?? used.find((f) => f.kind === 'measure' && !isRaw(f));
  };
  const templateNames = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]);
  const byDashboard = new Map(ds.map((d) => [d.dashboard.name, d]));
  /** What was not carried into LookML, per dashboard (said in the file's header). */
  const dropped = new Map<string, string[]>();
  const drop = (d: CompiledDashboard, what: string) => {
    if (!dropped.has(d.dashboard.name)) dropped.set(d.dashboard.name, []);
    dropped.get(d.dashboard.name)!.push(what);
  };
  /** How tiles of a kind Looker has no chart for were mapped, per dashboard (said in the file's header). */
  const mappings = new Map<string, string[]>();
  const mapped = (d: CompiledDashboard, what: string) => {
    if (!mappings.has(d.dashboard.name)) mappings.set(d.dashboard.name, []);
    mappings.get(d.dashboard.name)!.push(what);
  };

  // 3. dashboards
  for (const d of ds) {
    const dash = d.dashboard;
    const filters = dash.filters.flatMap((f) => {
      const t = allTiles(d).find((x) => x.appliesFilters.includes(f.name));
      const base: Record<string, unknown> = { name: f.name, title: f.label ?? human(f.name), type: 'field_filter' };
      if (f.type === 'date_range') {
        const days = lookerDays(f.default);
        if (days) base.default_value = days;
        base.allow_multiple_values = true;
        base.required = false;
        base.ui_config = { type: 'relative_timeframes', display: 'inline' };
      } else {
        // the default as the element filters say `column = value` (a yesno is Yes/No; NULL, EMPTY
        // and padded text no Looker expression matches literally: left out, and said)
        if (f.default !== undefined && f.default !== null) {
          const lf = lookerFilterExpression('=', f.default, t ? kindOf(t.model, f.column) : 'string');
          if ('expr' in lf) base.default_value = lf.expr;
          else drop(d, `filter ${f.name}: its default ${JSON.stringify(f.default)} (${lf.why})`);
        }
        base.allow_multiple_values = true;
        base.required = false;
        base.ui_config = { type: 'tag_list', display: 'popover' };
      }
      if (t) Object.assign(base, { model: lookerModel, explore: views.get(t.model)!.name, field: filterRef(t.model, f.column) });
      return [base];
    });

    const elements: Array<Record<string, unknown>> = [];
    let top = 0;
    for (const tab of d.tabs) {
      elements.push({ name: `tab_${tab.name}`, type: 'text', title_text: tab.title, row: top, col: 0, width: 12 * GRID_SCALE, height: LOOKER_TAB_HEADING_HEIGHT });
      top += LOOKER_TAB_HEADING_HEIGHT;
      for (const t of tab.tiles) {
        const tile = t.tile;
        const v = views.get(t.model)!;
        const e: Record<string, unknown> = { name: tile.id, title: tile.title, type: LOOKER_TYPES[tile.type], model: lookerModel, explore: v.name };
        // a box of raw values: Looker's box plot takes one row per box with its five numbers (min,
        // 25th percentile, median, 75th percentile, max) as measures; a box of aggregates shows them as columns
        const fiveOf = boxOfRows(t) ? t.fields.find(isRaw)! : undefined;
        if (tile.type === 'box' && !fiveOf) e.type = 'looker_column';
        const mapping = lookerMapping(t);
        if (mapping) mapped(d, mapping);
        // a KPI's comparison: this period and the previous one as two filtered measures, the window off the element's filters
        const own = tile.type === 'kpi' && tile.compare === 'previous_period' ? ownWindow(tile) : undefined;
        const periods = own ? lookerPeriods(own.value) : undefined;
        const measure = t.fields.find((f) => f.kind === 'measure');
        const compared = !!(own && periods && measure && filterable(v, measure) && (periods.timeframe === 'date' || kindOf(t.model, own.column) === 'timestamp'));
        /** The measures the element shows for its measure, when not the measure itself (a comparison's two periods): where its links go. */
        let shownMeasures: string[] | undefined;
        if (compared) {
          const field = `${fieldName(t.model, own!.column)}_${periods!.timeframe}`;
          const cur = measureFor(v, measure!, { suffix: '_this_period', field, expr: periods!.current });
          const prev = measureFor(v, measure!, { suffix: '_previous_period', field, expr: periods!.previous });
          e.fields = [`${v.name}.${cur}`, `${v.name}.${prev}`];
          shownMeasures = [cur, prev];
          Object.assign(e, { show_comparison: true, comparison_type: 'change', show_comparison_label: true, comparison_label: 'vs previous period', comparison_reverse_colors: measure!.better === 'lower' });
        } else {
          if (tile.compare)
            drop(d, `${tile.id}: the comparison with the previous period (${tile.compare === 'previous_period_to_date' ? "cut at the same time of day, which Looker's date filter expressions cannot say" : !own ? "its window is the dashboard's date range, which a measure's filters cannot follow" : 'an aggregation a LookML measure cannot filter'})`);
          e.fields = fiveOf
            ? [...t.fields.filter((f) => f.kind === 'dimension').map((f) => fieldRef(t, f)), ...BOX_FIVE.map((q) => `${v.name}.${defineMeasure(v, `${fiveOf.name}_${q.suffix}`, { label: `${fiveOf.label} (${q.label})`, format: fiveOf.format, sql: col(v, fiveOf.column), ...q.looker }, false)}`)]
            : t.fields.map((f) => fieldRef(t, f));
        }
        // a view field has one label (the first tile's): where this tile labels it otherwise, the
        // element says so (Looker's series_labels; a single value shows the element's title)
        if (!compared && !fiveOf && e.type !== 'single_value') {
          const labels: Record<string, string> = {};
          for (const f of t.fields) {
            const ref = fieldRef(t, f);
            const own = f.kind === 'dimension' || isRaw(f) ? v.columns.get(f.column) : v.measures.get(ref.slice(v.name.length + 1))?.label;
            if (f.label && f.label !== own) labels[ref] = f.label;
          }
          if (Object.keys(labels).length) e.series_labels = labels;
        }
        const pivots = seriesDims(t).map((f) => fieldRef(t, f));
        if (pivots.length) {
          e.pivots = pivots;
          const pivotCols = seriesDims(t).map((f) => f.column);
          // Looker caps pivots: the tile's top_n bounds its column, any other pivot gets Looker's column_limit
          e.column_limit = tile.top_n && pivotCols.includes(tile.top_n.column) ? tile.top_n.n : LOOKER_PIVOT_LIMIT;
        }
        const fs: Record<string, string> = {};
        for (const f of tile.filters) {
          if (compared && f.column === own!.column && f.value === own!.value) continue;
          const ref = filterRef(t.model, f.column);
          // Looker puts the dashboard filter's value in place of the element's own on that field
          const over = listenedFilters(d, t).find((x) => x.column === f.column);
          if (over) {
            drop(d, `${tile.id}: its filter ${f.column} ${f.op}${f.value === undefined ? '' : ` ${JSON.stringify(f.value)}`} (the element listens to ${over.name}, whose value replaces it)`);
            continue;
          }
          const lf = lookerFilterExpression(f.op, f.value, kindOf(t.model, f.column));
          if ('why' in lf) {
            drop(d, `${tile.id}: its filter ${f.column} ${f.op} ${JSON.stringify(f.value)} (${lf.why})`);
            continue;
          }
          const expr = lf.expr;
          // two conditions on one field (a window's start and end): one expression. Numbers and
          // strings: Looker's AND (">=1 AND <=5"); dates have no AND, but a start and an end date are a range
          if (fs[ref] && isTemporal(t.model, f.column)) {
            const range = lookerDateRange(fs[ref], expr);
            if (!range) {
              drop(d, `${tile.id}: its filter ${f.column} ${f.op} ${JSON.stringify(f.value)} (a second condition on a date, which Looker's date filter expressions cannot AND)`);
              continue;
            }
            fs[ref] = range;
          } else fs[ref] = fs[ref] ? `${fs[ref]} AND ${expr}` : expr;
        }
        if (tile.top_n && measure) {
          // the n values with the largest first measure, under the element's own and dashboard filters ({% condition %})
          const name = topNNames.get(t)!;
          const q = (c: string) => v.dialect.quoteIdent(c);
          const conds = [...new Set([...tile.filters.map((f) => f.column), ...listenedFilters(d, t).map((f) => f.column)])].map(
            (c) => `{% condition ${filterRef(t.model, c)} %} ${q(c)} {% endcondition %}`,
          );
          const c = q(tile.top_n.column);
          const sql = [`select ${c} as ${c}`, `from ${t.relation}`, `where 1 = 1${conds.map((x) => `\n      and ${x}`).join('')}`, `group by ${c}`, `order by ${measureSql(tile.measures[0], q, v.dialect)} desc, ${c}`, `limit ${tile.top_n.n}`].join('\n      ');
          setOnce(topNs, name, { name, model: t.model, column: tile.top_n.column, sql }, 'top-N view');
          fs[`${name}.in_top_n`] = 'Yes';
        }
        if (Object.keys(fs).length) e.filters = fs;
        const byName = new Map(t.fields.map((f) => [f.name, f]));
        // (a box of raw values: its rows are the boxes, sorted by their dimensions only)
        const sorts = compared ? [] : tile.sort.flatMap((s) => (byName.has(s.field) && !(fiveOf && isRaw(byName.get(s.field)!)) ? [`${fieldRef(t, byName.get(s.field)!)} ${s.dir}`] : []));
        if (sorts.length) e.sorts = sorts;
        const limit = fiveOf ? undefined : (tile.limit ?? (t.fields.some(isRaw) ? 5000 : undefined));
        if (limit !== undefined) e.limit = limit;
        const listen: Record<string, string> = {};
        for (const f of listenedFilters(d, t)) listen[f.name] = filterRef(t.model, f.column);
        if (Object.keys(listen).length) e.listen = listen;
        if (tile.type === 'area' && tile.stacked !== false && pivots.length) e.stacking = 'normal';
        else if (tile.stacked) e.stacking = 'normal';
        if (tile.type === 'donut') e.inner_radius = 50;
        // the target band and threshold lines as reference lines of the value axis
        const refLines: Array<Record<string, unknown>> = [];
        if (tile.target_band && ['line', 'area', 'bar', 'box', 'scatter'].includes(tile.type)) {
          refLines.push({ reference_type: 'range', range_start: tile.target_band.min, range_end: tile.target_band.max, label: tile.target_band.label ?? 'Target', label_position: 'right', color: TARGET_BAND_COLOR });
        } else if (tile.target_band) drop(d, `${tile.id}: the target band (no value axis on a ${tile.type})`);
        if (['line', 'area', 'bar', 'box', 'scatter'].includes(tile.type)) {
          for (const th of tile.thresholds) refLines.push({ reference_type: 'line', line_value: th.value, label: th.label ?? String(th.value), label_position: 'right', color: th.color });
        }
        if (refLines.length) e.reference_lines = refLines;
        if (tile.bands) drop(d, `${tile.id}: its shaded bands between the lines (Looker draws the lines alone)`);
        // a scatter's log axes: Looker's value axis has a log mode, its scatter's x axis none
        if (tile.scale?.y === 'log') e.y_axis_scale_mode = 'log';
        if (tile.scale?.x === 'log') drop(d, `${tile.id}: its logarithmic x axis (Looker's scatter x axis has no log scale: drawn linear)`);
        // a deterministic sample is SQL Looker's element cannot hold (it has no order by a hash)
        if (tile.sample) drop(d, `${tile.id}: its sample (${tile.sample.rows} rows drawn by a hash of ${tile.sample.key}): Looker reads ${fiveOf ? 'every row of the window' : `the first ${limit ?? 5000} rows of the window`}`);
        // fixed colors are keyed by series or slice names, which Looker keys otherwise (by field, or pivot value and field)
        if (Object.keys(tile.colors ?? {}).length) drop(d, `${tile.id}: its fixed colors (${Object.keys(tile.colors!).join(', ')}): Looker's palette colors them`);
        // conditional formatting: table cells, and a gauge's bands on its value
        const rules: Array<Record<string, unknown>> = [];
        for (const c of tile.conditional_formatting) {
          const f = byName.get(c.field);
          if (!f || (f.kind === 'measure' && !isRaw(f) && compared)) continue;
          rules.push({ ...lookerFormattingRule(c.op, c.value), background_color: c.color, font_color: null, bold: false, italic: false, strikethrough: false, fields: [fieldRef(t, f)] });
        }
        if (tile.type === 'gauge' && measure && tile.thresholds.length) {
          const topValue = Math.max(0, ...tile.thresholds.map((x) => x.value));
          const max = tile.max ?? (measure.format === 'percent' ? 1 : niceCeil(Math.max(topValue * 1.2, 1)));
          const bands = gaugeBands(tile.thresholds, max, GAUGE_BELOW);
          bands.forEach((b, i) => {
            // the last band also takes what lies beyond the scale
            const value = i === bands.length - 1 ? [b.min, Number.MAX_SAFE_INTEGER] : [b.min, b.max];
            rules.push({ type: 'between', value, background_color: null, font_color: b.color, bold: false, italic: false, strikethrough: false, fields: [fieldRef(t, measure)] });
          });
        }
        if (tile.type === 'kpi' && measure && tile.thresholds.length) {
          // the site colors a KPI's value with the highest threshold it reaches: one rule per
          // threshold, from it to the next one up (Looker's between includes both ends: the rules
          // meet only at a threshold itself, where the one listed first — the higher — applies)
          const shown = shownMeasures ? `${v.name}.${shownMeasures[0]}` : fieldRef(t, measure);
          const up = [...tile.thresholds].sort((x, y) => x.value - y.value);
          const bands = up.map((th, i) => ({ type: 'between', value: [th.value, up[i + 1]?.value ?? Number.MAX_SAFE_INTEGER], background_color: null, font_color: th.color, bold: false, italic: false, strikethrough: false, fields: [shown] }));
          rules.push(...bands.reverse());
        }
        if (rules.length) Object.assign(e, { enable_conditional_formatting: true, conditional_formatting_include_totals: false, conditional_formatting_include_nulls: false, conditional_formatting: rules });
        if (tile.description) e.note = { text: tile.description, state: 'collapsed', display: 'hover' };
        // links: each tile link on the row's field it uses, the drill-down as a link to the target dashboard with its filters set
        const refOf = (name: string) => (byName.has(name) ? fieldRef(t, byName.get(name)!) : undefined);
        const link = (f: CompiledField, l: LookerLink) => addLink(t, f, l, f === measure ? shownMeasures : undefined);
        for (const l of tile.links) {
          const names = templateNames(l.url);
          const holder = names.length ? linkHolder(t, names) : undefined;
          if (!holder) {
            drop(d, `${tile.id}: link '${l.label}' (${names.length ? 'its fields are dates only' : 'no field in its URL'})`);
            continue;
          }
          // an app route (/workspaces/{{ workspace_id }}) is the app's, under the base URL as on the
          // site; Looker would resolve a root-relative URL against its own host
          const base = lookerBase(opts.baseUrl);
          if (isAppRoute(l.url) && !base) {
            drop(d, `${tile.id}: link '${l.label}' (${l.url}: an app route, which Looker would open on its own host; ${appRouteFix(opts.baseUrl)})`);
            continue;
          }
          const url = isAppRoute(l.url) ? appRouteUrl(base!, l.url) : l.url;
          // a link that is one field: its value is the URL, not a part of one to encode
          link(holder, { label: l.label, url: lookerLinkUrl(url, holder.name, refOf, !loneLinkField(l.url)) });
        }
        if (tile.drilldown) {
          const dd = tile.drilldown;
          const target = dd.dashboard ? byDashboard.get(dd.dashboard) : d;
          const targetName = dd.dashboard ?? dash.name;
          const names = Object.values(dd.filters).flatMap(templateNames);
          const holder = names.length ? linkHolder(t, names) : t.fields.find((f) => f.kind === 'dimension' && !isTemporal(t.model, f.column)) ?? t.fields.find((f) => f.kind === 'measure' && !isRaw(f));
          if (!holder) drop(d, `${tile.id}: the drill-down (no field to hang its link on)`);
          else {
            const params = Object.entries(dd.filters).map(([fname, tpl]) => {
              const tf = target?.dashboard.filters.find((x) => x.name === fname);
              const title = tf?.label ?? human(fname);
              // a date range as the dashboard's own filter says it ("7d" is "7 days"), anything else matched literally
              const days = tf?.type === 'date_range' ? lookerDays(tpl) : undefined;
              return `${encodeURIComponent(title)}=${days ? encodeURIComponent(days) : lookerFilterLiquid(tpl, holder.name, refOf)}`;
            });
            const tabTitle = target?.tabs.find((x) => x.name === dd.tab)?.title ?? dd.tab;
            link(holder, { label: `Open ${tabTitle}`, url: `/dashboards/${lookerModel}::${targetName}${params.length ? `?${params.join('&')}` : ''}` });
          }
        }
        if (t.rawRows) {
          // the row's raw rows: a link to the explore of their model, filtered to the row (its day as the date of the timestamp)
          const rr = t.rawRows;
          const holder = linkHolder(t, rawRowFields(t));
          if (!holder) drop(d, `${tile.id}: the raw-row action '${rr.label}' (no field of the row that is not a date to hang its link on)`);
          else {
            // matched values literally (Looker's filter syntax escaped), the day as its date
            const f = (col: string, value: string) => `f[${filterRef(rr.model, col)}]=${value}`;
            const params = [
              `fields=${rr.columns.map((c) => dimRef(rr.model, c)).join(',')}`,
              ...Object.entries(rr.match).map(([c, tpl]) => f(c, lookerFilterLiquid(tpl, holder.name, refOf))),
              ...(rr.day ? [f(rr.day.column, lookerLinkUrl(rr.day.value, holder.name, refOf)), `sorts=${dimRef(rr.model, rr.day.column)}+desc`] : []),
              `limit=${rr.limit}`,
            ];
            link(holder, { label: rr.label, url: `/explore/${lookerModel}/${views.get(rr.model)!.name}?${params.join('&')}` });
          }
        }
        const g = grid(tile.layout);
        Object.assign(e, { row: top + g.row, col: g.col, width: g.width, height: g.height });
        elements.push(e);
      }
      top += tabHeight(tab.tiles);
    }

    const doc: Record<string, unknown> = { dashboard: dash.name, title: dash.title };
    if (dash.description) doc.description = dash.description;
    Object.assign(doc, { layout: 'newspaper', preferred_viewer: 'dashboards-next' });
    if (filters.length) doc.filters = filters;
    doc.elements = elements;
    const notCarried = dropped.get(dash.name) ?? [];
    const kinds = mappings.get(dash.name) ?? [];
    const header =
      `# Generated by \`vigil dashboards export --format looker\` from ${d.file}: edit that file, not this one.\n` +
      `# Tabs (${d.tabs.map((t) => t.title).join(', ')}) are stacked top to bottom, each under a text element with its title.\n` +
      (kinds.length ? `# Tiles of a kind Looker has no chart for:\n${kinds.map((x) => `#   - ${x}\n`).join('')}` : '') +
      (notCarried.length ? `# Not carried into LookML:\n${notCarried.map((x) => `#   - ${x}\n`).join('')}` : '');
    setOnce(out, `${dash.name}.dashboard.lookml`, header + lookmlYaml([doc]), 'file');
  }

  // 4. views, the top-N derived tables and the model
  const byView = [...views.values()].sort((a, b) => cmp(a.name, b.name));
  for (const v of byView) setOnce(out, `${v.name}.view.lkml`, viewLookml(v, kindOf), 'file');
  for (const n of [...topNs.values()].sort((a, b) => cmp(a.name, b.name))) setOnce(out, `${n.name}.view.lkml`, topNLookml(n, views.get(n.model)!, kindOf), 'file');
  const explores = byView.map((v) => {
    const joins = [...topNs.values()].filter((n) => n.model === v.model).sort((a, b) => cmp(a.name, b.name));
    if (!joins.length) return `explore: ${v.name} {}\n`;
    const body = joins.map((n) => {
      const f = v.fields.get(n.column)!;
      return `  join: ${n.name} {\n    type: left_outer\n    relationship: many_to_one\n    sql_on: \${${v.name}.${isTemporal(v.model, n.column) ? `${f}_raw` : f}} = \${${n.name}.${f}} ;;\n  }\n`;
    });
    return `explore: ${v.name} {\n${body.join('')}}\n`;
  });
  setOnce(
    out,
    `${lookerModel}.model.lkml`,
    `# Generated by \`vigil dashboards export --format looker\`. ${opts.lookerConnection ? 'The connection is --looker-connection.' : 'The connection is named after the Vigil project: set --looker-connection to your Looker connection.'}\n# The SQL is written for ${ds[0].dialect}: the connection must be a ${ds[0].dialect} database.\nconnection: ${lookerQuote(connection)}\n\ninclude: "/**/*.view.lkml"\ninclude: "/**/*.dashboard"\n\n${explores.join('\n')}`,
    'file',
  );
  return out;
}

/** Why generated names must not clash, as the export's errors say it. */
const LOOKER_NAMES = "Looker's names are a-z, 0-9 and _: the export lower-cases the others and turns any other character into _";

/** The timeframes of the dimension groups the views declare (a date column has no `time`; its names are reserved all the same). */
const LOOKER_TIMEFRAMES = ['raw', 'time', 'date', 'week', 'month'];

/** The range color of a target band (the site draws it green too). */
const TARGET_BAND_COLOR = '#12B76A';

/**
 * A LookML dashboard as YAML. Looker reads it as YAML 1.1, where yes, no, on, off, y and n (any
 * case) are booleans, and 1:20 or 1_000 numbers: written with the 1.1 schema, such strings are
 * quoted (a tab titled `yes` is `title_text: "yes"`, not the boolean).
 */
function lookmlYaml(v: unknown): string {
  const doc = new YAML.Document(v, { version: '1.1' });
  YAML.visit(doc, {
    Seq(_, node) {
      if (node.items.every((i) => YAML.isScalar(i))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, indentSeq: false, flowCollectionPadding: false });
}

const VALUE_FORMAT: Record<string, string> = { percent: 'percent_1', usd: 'usd', integer: 'decimal_0', number: 'decimal_2' };

function linkLines(links: LookerLink[] | undefined): string[] {
  return (links ?? []).flatMap((l) => [`    link: {`, `      label: ${lookerQuote(l.label)}`, `      url: ${lookerQuote(l.url)}`, `    }`]);
}

function viewLookml(v: LookerView, kindOf: (model: string, column: string) => ColumnKind): string {
  const lines: string[] = [`# Generated by \`vigil dashboards export --format looker\`: the fields the dashboards read.`, `view: ${v.name} {`];
  // a name Looker would not take is the model's label (the field names likewise)
  if (v.name !== v.model) lines.push(`  label: ${lookerQuote(v.model)}`);
  lines.push(`  sql_table_name: ${v.relation} ;;`);
  const q = (c: string) => `\${TABLE}.${v.dialect.quoteIdent(c)}`;
  const name = (c: string) => v.fields.get(c)!;
  const cols = [...v.columns.keys()].sort((a, b) => cmp(name(a), name(b)));
  const temporal = (c: string) => ['date', 'timestamp'].includes(kindOf(v.model, c));
  for (const c of cols) {
    const kind = kindOf(v.model, c);
    const label = v.columns.get(c) ?? (name(c) !== c ? c : undefined);
    lines.push('');
    if (temporal(c)) {
      lines.push(`  dimension_group: ${name(c)} {`, `    type: time`);
      if (kind === 'date') lines.push(`    datatype: date`, `    convert_tz: no`, `    timeframes: [raw, date, week, month]`);
      else lines.push(`    timeframes: [raw, time, date, week, month]`);
    } else {
      lines.push(`  dimension: ${name(c)} {`, `    type: ${kind}`);
    }
    if (label) lines.push(`    label: ${lookerQuote(label)}`);
    lines.push(`    sql: ${q(c)} ;;`, ...linkLines(v.links.get(c)), `  }`);
  }
  // drilling into a measure lists the rows by the dashboards' dimensions
  const detail = cols.map((c) => (temporal(c) ? `${name(c)}_date` : name(c)));
  if (detail.length) lines.push('', `  set: detail {`, `    fields: [${detail.join(', ')}]`, `  }`);
  for (const m of [...v.measures.values()].sort((a, b) => cmp(a.name, b.name))) {
    lines.push('', `  measure: ${m.name} {`, `    type: ${m.type}`);
    if (m.percentile !== undefined) lines.push(`    percentile: ${m.percentile}`);
    if (m.label) lines.push(`    label: ${lookerQuote(m.label)}`);
    if (m.hidden) lines.push(`    hidden: yes`);
    if (m.format && VALUE_FORMAT[m.format]) lines.push(`    value_format_name: ${VALUE_FORMAT[m.format]}`);
    if (m.sql) lines.push(`    sql: ${m.sql} ;;`);
    if (m.filters?.length) lines.push(`    filters: [${m.filters.map(([f, x]) => `${f}: ${lookerQuote(x)}`).join(', ')}]`);
    if (!m.hidden && detail.length) lines.push(`    drill_fields: [detail*]`);
    lines.push(...linkLines(m.links), `  }`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function topNLookml(n: LookerTopN, v: LookerView, kindOf: (model: string, column: string) => ColumnKind): string {
  const kind = kindOf(n.model, n.column);
  const field = v.fields.get(n.column)!;
  return [
    `# Generated by \`vigil dashboards export --format looker\`: the top-N values of ${v.name}.${field} one element pivots on,`,
    `# ranked under that element's filters; joined to explore ${v.name} and filtered with in_top_n.`,
    `view: ${n.name} {`,
    `  derived_table: {`,
    `    sql: ${n.sql} ;;`,
    `  }`,
    '',
    `  dimension: ${field} {`,
    `    primary_key: yes`,
    `    hidden: yes`,
    `    type: ${kind === 'number' ? 'number' : 'string'}`,
    `    sql: \${TABLE}.${v.dialect.quoteIdent(n.column)} ;;`,
    `  }`,
    '',
    `  dimension: in_top_n {`,
    `    type: yesno`,
    `    sql: \${${field}} IS NOT NULL ;;`,
    `  }`,
    `}`,
  ].join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Metabase

export const METABASE_DISPLAY: Record<TileType, string> = {
  kpi: 'scalar',
  line: 'line',
  area: 'area',
  bar: 'bar',
  donut: 'pie',
  // no heatmap in Metabase: the table pivoted on the second dimension, cells colored by value
  heatmap: 'table',
  // no box plot in Metabase: the measures (e.g. percentiles) as grouped bars per value
  box: 'bar',
  scatter: 'scatter',
  table: 'table',
  gauge: 'gauge',
};

/** A Metabase template tag for a dashboard filter, and the optional clause that uses it. */
export function metabaseFilter(f: DashboardFilter, dialect: Dialect, kind: ColumnKind, columnType?: string): { tagType: 'number' | 'text'; clause: string; parameterType: string; sectionId: string; default?: unknown[]; label: string } {
  const col = dialect.quoteIdent(f.column);
  const label = f.label ?? human(f.name);
  if (f.type === 'date_range') {
    const n = /^(\d+)d$/.exec(String(f.default ?? ''))?.[1];
    // the last N days, today included: the same window as Vigil's own "7d" (a day cast for a
    // timestamp column as the site's window is: BigQuery compares no TIMESTAMP with a DATE)
    const start = dialect.dateBound(dialect.dateadd('day', `-({{${f.name}}} - 1)`, dialect.current_date()), columnType);
    return { tagType: 'number', clause: `[[and ${col} >= ${start}]]`, parameterType: 'number/=', sectionId: 'number', default: n ? [Number(n)] : undefined, label: `${label} (last N days)` };
  }
  const numeric = kind === 'number';
  // a boolean column is compared as its text: Metabase fills a text tag with quoted strings, and
  // BigQuery compares no string with a BOOL (`is_error in ('true')` fails there; DuckDB and
  // Postgres cast it) — the same `true`/`false` on every warehouse
  const subject = kind === 'yesno' ? `(case when ${col} then 'true' when not ${col} then 'false' end)` : col;
  return {
    tagType: numeric ? 'number' : 'text',
    clause: `[[and ${subject} in ({{${f.name}}})]]`,
    parameterType: numeric ? 'number/=' : 'string/=',
    sectionId: numeric ? 'number' : 'string',
    default: f.default === undefined || f.default === null ? undefined : [kind === 'yesno' ? String(f.default) : f.default],
    label: kind === 'yesno' ? `${label} (true or false)` : label,
  };
}

/** How the dialect quotes: whether a backslash escapes in its literals, and its identifiers' quote. */
function sqlQuoting(dialect: Dialect): { backslash: boolean; identQuote: string } {
  return { backslash: dialect.literal('\\') !== "'\\'", identQuote: dialect.quoteIdent('x')[0] };
}

/** The index of the quote closing the quoted identifier that opens at `i` (a doubled quote is part of the name). */
function quotedNameEnd(sql: string, i: number, identQuote: string): number {
  let j = i + 1;
  while (j < sql.length && (sql[j] !== identQuote || sql[j + 1] === identQuote)) j += sql[j] === identQuote ? 2 : 1;
  return j;
}

/**
 * Metabase reads `{{ }}` and `[[ ]]` in a native query as variables and optional clauses, inside
 * string literals too: a tile filter's value `'{{ x }}'` would break the card. In each literal, a
 * doubled brace or bracket is split by concatenation (`'{' || '{ x }' || '}'`), which every
 * dialect reads as the same text. `dialect` says whether a backslash escapes in its literals, and
 * how it quotes identifiers (skipped whole: a quote in a column name starts no literal).
 */
export function metabaseLiterals(sql: string, dialect: Dialect): string {
  if (!/\{\{|\}\}|\[\[|\]\]/.test(sql)) return sql;
  const { backslash, identQuote } = sqlQuoting(dialect);
  let out = '';
  let inStr = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (!inStr && c === identQuote) {
      const j = quotedNameEnd(sql, i, identQuote);
      out += sql.slice(i, j + 1);
      i = j;
      continue;
    }
    if (inStr && backslash && c === '\\') {
      out += c + (sql[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === "'") {
      if (inStr && sql[i + 1] === "'") {
        out += "''";
        i++;
        continue;
      }
      inStr = !inStr;
    } else if (inStr && '{}[]'.includes(c) && sql[i + 1] === c) {
      out += `${c}' || '`;
      continue;
    }
    out += c;
  }
  return out;
}

/**
 * Why a card's SQL cannot go to Metabase as written, if it cannot: a quoted identifier (a column,
 * a table) holding `{{`, `[[`, `]]` or `/*`. Metabase's parser of native queries knows single-quoted
 * literals but not quoted identifiers: it reads those as a variable, the bounds of an optional
 * clause, or a comment that hides the filters' clauses after it — and no concatenation splits an
 * identifier as metabaseLiterals splits a literal. `withClauses`: the card has the dashboard filters' variables.
 */
export function metabaseIdentifierProblem(sql: string, dialect: Dialect, withClauses: boolean): string | undefined {
  // without a variable, a comment or a `]]` changes nothing Metabase sends
  const tokens = withClauses ? ['{{', '[[', ']]', '/*'] : ['{{', '[['];
  const { backslash, identQuote } = sqlQuoting(dialect);
  let inStr = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (!inStr && c === identQuote) {
      const j = quotedNameEnd(sql, i, identQuote);
      const ident = sql.slice(i, j + 1);
      const token = tokens.find((x) => ident.includes(x));
      if (token) return `${ident}, which holds '${token}': Metabase reads that as ${token === '{{' ? 'a variable' : token === '/*' ? 'the start of a comment (the clauses of the dashboard filters after it would be sent unfilled)' : 'a bound of an optional clause'} even between the quotes of a name`;
      i = j;
    } else if (inStr && backslash && c === '\\') i++;
    else if (c === "'") inStr = !inStr;
  }
  return undefined;
}

/**
 * A tile's Metabase query: its SQL without the dashboard filters, `clauses` (Metabase's optional
 * clauses for the dashboard filters) in its WHERE after the tile's own conditions, compiled again
 * from the tile's definition (compileTileWithClauses: no SQL text is searched for its WHERE, which
 * a literal holding a newline would fool); then the literals' braces split (metabaseLiterals).
 * `previous`: the previous period's (a KPI with its own window), else undefined.
 */
function metabaseQuery(t: CompiledTile, clauses: string[], dialect: Dialect): { sql: string; previous?: string } {
  const c = compileTileWithClauses(t, clauses, dialect);
  return { sql: metabaseLiterals(c.sqlUnfiltered, dialect), ...(c.previousSqlUnfiltered ? { previous: metabaseLiterals(c.previousSqlUnfiltered, dialect) } : {}) };
}

function columnSettings(t: CompiledTile): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  for (const f of t.fields) {
    const fmt: Record<string, unknown> = {};
    if (f.format === 'percent') fmt.number_style = 'percent';
    else if (f.format === 'usd') Object.assign(fmt, { number_style: 'currency', currency: 'USD' });
    else if (f.format === 'integer') fmt.decimals = 0;
    else if (f.format === 'ms') fmt.suffix = ' ms';
    else if (f.format === 'minutes') fmt.suffix = ' min';
    if (f.label) fmt.column_title = f.label;
    s[JSON.stringify(['name', f.name])] = fmt;
  }
  return s;
}

function visualizationSettings(t: CompiledTile): Record<string, unknown> {
  const tile = t.tile;
  const dims = t.fields.filter((f) => f.kind === 'dimension');
  const measures = t.fields.filter((f) => f.kind === 'measure');
  const vs: Record<string, unknown> = { column_settings: columnSettings(t) };
  switch (tile.type) {
    case 'line':
    case 'area':
    case 'bar':
    case 'box': {
      const series = seriesDims(t);
      const x = dims.filter((f) => !series.includes(f));
      vs['graph.dimensions'] = [...x, ...series].map((f) => f.name);
      vs['graph.metrics'] = measures.map((f) => f.name);
      if (tile.stacked || (tile.type === 'area' && tile.stacked !== false && series.length)) vs['stackable.stack_type'] = 'stacked';
      if (tile.target_band) Object.assign(vs, { 'graph.show_goal': true, 'graph.goal_value': tile.target_band.max, 'graph.goal_label': tile.target_band.label ?? 'Target' });
      break;
    }
    case 'scatter':
      vs['graph.dimensions'] = [measures[0]?.name];
      vs['graph.metrics'] = measures.slice(1).map((f) => f.name);
      // (Metabase's scatter takes a log scale on either axis)
      if (tile.scale?.x === 'log') vs['graph.x_axis.scale'] = 'log';
      if (tile.scale?.y === 'log') vs['graph.y_axis.scale'] = 'log';
      break;
    case 'donut':
      Object.assign(vs, { 'pie.dimension': dims[0]?.name, 'pie.metric': measures[0]?.name, 'pie.show_legend': true });
      break;
    case 'heatmap': {
      const y = seriesDims(t)[0] ?? dims[1];
      Object.assign(vs, { 'table.pivot': true, 'table.pivot_column': y?.name, 'table.cell_column': measures[0]?.name });
      // white to blue, or to orange where lower is better (risk, errors), as the site's scale
      vs['table.column_formatting'] = [{ columns: [measures[0]?.name], type: 'range', colors: ['#ffffff', measures[0]?.better === 'lower' ? '#E6550D' : '#509EE3'], min_type: null, max_type: null }];
      break;
    }
    case 'gauge': {
      // the site's bands (gauge-bands.ts); without a max, the scale the site gives thresholds alone
      const top = Math.max(0, ...tile.thresholds.map((x) => x.value));
      const max = tile.max ?? (measures[0]?.format === 'percent' ? 1 : niceCeil(Math.max(top * 1.2, 1)));
      vs['gauge.segments'] = gaugeBands(tile.thresholds, max, GAUGE_BELOW).map((b) => ({ min: b.min, max: b.max, color: b.color, label: b.label ?? '' }));
      break;
    }
    default:
      break;
  }
  if (tile.conditional_formatting.length) {
    const cf = tile.conditional_formatting.map((c) => ({ columns: [c.field], type: 'single', operator: c.op, value: c.value, color: c.color, highlight_row: false }));
    vs['table.column_formatting'] = [...((vs['table.column_formatting'] as unknown[]) ?? []), ...cf];
  }
  return vs;
}

/**
 * The line in a card's or dashboard's description that `publish` finds it again by:
 * `(vigil:<project>:<dashboard>/<tile>)`, `(vigil:<project>:<dashboard>)` — the project's name
 * (an identifier) first: two projects publishing into one collection (--collection) each find
 * their own, where an `overview` of one overwrote the other's. Group 1 is the project (absent in
 * the markers of Vigil before 2026-12: `(vigil:<dashboard>/<tile>)`), group 2 the key.
 */
export const METABASE_MARKER = /\(vigil:(?:([A-Za-z_][A-Za-z0-9_]*):)?([A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)?)\)/;

function markedDescription(description: string | undefined, key: string, file: string, project: string): string {
  const mark = `Managed by vigil (vigil:${project}:${key}): edit ${file}, not this copy.`;
  return description ? `${description}\n\n${mark}` : mark;
}

/** One card: its stable key (`<dashboard>/<tile>`) and the body of POST /api/card (collection_id added when the collection is known). */
export interface MetabaseCard {
  key: string;
  tab: string;
  body: Record<string, unknown>;
}

/** A dashcard of PUT /api/dashboard/:id, its card named by key (publish puts the card's id in `card_id`). */
export interface MetabaseDashcard {
  id: number;
  card_key: string;
  dashboard_tab_id: number | null;
  row: number;
  col: number;
  size_x: number;
  size_y: number;
  parameter_mappings: Array<{ parameter_id: string; target: unknown[] }>;
  visualization_settings: Record<string, unknown>;
  series: unknown[];
}

/** Everything `publish` sends for one dashboard, and what `export --format metabase` writes. */
export interface MetabasePlan {
  key: string;
  /** The Vigil project's name: its markers say it. */
  project: string;
  /** The dashboard's file (dashboards/ops.json), for messages. */
  file: string;
  database: number;
  /** POST /api/collection */
  collection: { name: string; description: string };
  cards: MetabaseCard[];
  /** POST /api/dashboard (collection_id added when known) */
  dashboard: { name: string; description: string; parameters: Array<Record<string, unknown>> };
  /** PUT /api/dashboard/:id: negative ids ask Metabase to create the tab or dashcard */
  tabs: Array<{ id: number; name: string }>;
  dashcards: MetabaseDashcard[];
}

/**
 * A box of raw values as Metabase's closest chart (it has no box plot): per box (its dimensions),
 * the five numbers of the first raw measure — min, 25th percentile, median, 75th percentile, max
 * (the warehouse's percentile: a value of the rows, where the site interpolates) — over the rows
 * the site's box reads (the tile's query, its limit included), as grouped bars.
 */
function metabaseBox(t: CompiledTile, dialect: Dialect, rowsSql: string): { sql: string; settings: Record<string, unknown> } {
  const q = (c: string) => dialect.quoteIdent(c);
  const raw = t.fields.find(isRaw)!;
  const dims = t.fields.filter((f) => f.kind === 'dimension');
  const v = q(raw.name);
  const five = BOX_FIVE.map((b) => ({ name: `${raw.name}_${b.suffix}`, label: `${raw.label ?? raw.name} (${b.label})`, sql: b.fraction === 0 ? `min(${v})` : b.fraction === 1 ? `max(${v})` : dialect.percentile(v, b.fraction) }));
  const group = dims.map((f) => q(f.name)).join(', ');
  const sql = [
    `select ${[...dims.map((f) => q(f.name)), ...five.map((x) => `${x.sql} as ${q(x.name)}`)].join(', ')} from (`,
    rowsSql,
    `) as box_rows`,
    ...(group ? [`group by ${group}`, `order by ${group}`] : []),
  ].join('\n');
  const columns = columnSettings(t);
  for (const x of five) columns[JSON.stringify(['name', x.name])] = { ...(columns[JSON.stringify(['name', raw.name])] as object), column_title: x.label };
  delete columns[JSON.stringify(['name', raw.name])];
  const settings: Record<string, unknown> = { column_settings: columns, 'graph.dimensions': dims.map((f) => f.name), 'graph.metrics': five.map((x) => x.name) };
  if (t.tile.target_band) Object.assign(settings, { 'graph.show_goal': true, 'graph.goal_value': t.tile.target_band.max, 'graph.goal_label': t.tile.target_band.label ?? 'Target' });
  return { sql, settings };
}

/** How a tile of a kind Metabase has no chart for (heatmap, box), or its gauge, is exported (the file's `mapped` says it). */
function metabaseMapping(t: CompiledTile): string | undefined {
  const id = `${t.tile.id} (${t.tile.type})`;
  const m = t.fields.find((f) => f.kind === 'measure');
  switch (t.tile.type) {
    case 'heatmap': {
      const y = seriesDims(t)[0] ?? t.fields.filter((f) => f.kind === 'dimension')[1];
      return `${id}: a table pivoted on ${y?.label ?? y?.column}, the cells ${m?.label ?? m?.name} colored from white to ${m?.better === 'lower' ? 'orange (lower is better)' : 'blue'} by value (Metabase has no heatmap)`;
    }
    case 'box': {
      const raw = t.fields.find(isRaw);
      if (raw)
        return `${id}: grouped bars of the min, 25th percentile, median, 75th percentile and max of ${raw.label ?? raw.name} per ${dimsOf(t)}, computed by the card's SQL from the rows the site's box reads (the first ${counted(t.tile.limit ?? 5000, 'row')}) (Metabase has no box plot)`;
      return `${id}: grouped bars of ${measureLabels(t)} per ${dimsOf(t)} (Metabase has no box plot)`;
    }
    case 'gauge':
      return `${id}: Metabase's gauge${t.tile.thresholds.length ? ", its segments the site's bands" : ''}`;
    default:
      return undefined;
  }
}

/**
 * A KPI with `compare: previous_period` and its own window as Metabase's trend card
 * (`smartscalar`): two rows, the previous period and this one, each dated by its start, the
 * value compared with the previous row. Both halves carry the dashboard filters' clauses.
 */
function trendSql(t: CompiledTile, dialect: Dialect, query: { sql: string; previous?: string }): string | undefined {
  const own = ownWindow(t.tile);
  const m = t.fields.find((f) => f.kind === 'measure');
  if (!query.previous || !own || !m) return undefined;
  const hr = /^-(\d+)h$/.exec(own.value);
  const days = own.value === 'today' ? 1 : Number(/^-(\d+)d$/.exec(own.value)?.[1] ?? 0) + 1;
  const start = (k: number) => (hr ? dialect.dateadd('hour', -Number(hr[1]) * k, dialect.current_timestamp()) : dialect.dateadd('day', -(days * k - 1), dialect.current_date()));
  const v = dialect.quoteIdent(m.name);
  const p = dialect.quoteIdent('period');
  return [
    `select ${start(2)} as ${p}, ${v} from (`,
    query.previous,
    `) as previous_period`,
    `union all`,
    `select ${start(1)} as ${p}, ${v} from (`,
    query.sql,
    `) as this_period`,
    `order by 1`,
  ].join('\n');
}

export function metabasePlan(d: CompiledDashboard, opts: ExportOptions, kindOf: (model: string, column: string) => ColumnKind = columnKinds([d])): MetabasePlan {
  if (opts.metabaseDatabase === undefined) throw new Error('metabasePlan: no database id (Metabase refuses a card without one)');
  const dialect = dialectOf(d.dialect);
  const dash = d.dashboard;
  const cards: MetabaseCard[] = [];
  const dashcards: MetabaseDashcard[] = [];
  const problems: Diagnostic[] = [];
  const withTabs = d.tabs.length > 1;
  d.tabs.forEach((tab, ti) => {
    for (const t of tab.tiles) {
      const key = `${dash.name}/${t.tile.id}`;
      const tags: Record<string, unknown> = {};
      const clauses: string[] = [];
      const mappings: MetabaseDashcard['parameter_mappings'] = [];
      for (const f of listenedFilters(d, t)) {
        const mf = metabaseFilter(f, dialect, kindOf(t.model, f.column), t.columnTypes?.[f.column]);
        clauses.push(mf.clause);
        tags[f.name] = { id: stableUuid(`${dash.name}/${t.tile.id}/${f.name}`), name: f.name, 'display-name': mf.label, type: mf.tagType, required: false };
        mappings.push({ parameter_id: f.name, target: ['variable', ['template-tag', f.name]] });
      }
      const query = metabaseQuery(t, clauses, dialect);
      const trend = t.tile.type === 'kpi' && t.tile.compare ? trendSql(t, dialect, query) : undefined;
      const box = boxOfRows(t) ? metabaseBox(t, dialect, query.sql) : undefined;
      const vs = box?.settings ?? visualizationSettings(t);
      const cardSql = trend ?? box?.sql ?? query.sql;
      const bad = metabaseIdentifierProblem(cardSql, dialect, clauses.length > 0);
      if (bad) problems.push(diag('E_EXPORT', `Metabase: the SQL of tile '${t.tile.id}' quotes the name ${bad}`, { file: d.file, line: t.line }, 'alias the column in the model (or rename the table) without it'));
      const kpiMeasure = t.fields.find((f) => f.kind === 'measure');
      // (Metabase draws a rise green: lower-is-better switches the colors)
      if (trend) Object.assign(vs, { 'scalar.field': kpiMeasure!.name, 'scalar.comparisons': [{ id: stableUuid(`${key}/comparison`), type: 'previousValue' }], ...(kpiMeasure!.better === 'lower' ? { 'scalar.switch_positive_negative': true } : {}) });
      cards.push({
        key,
        tab: tab.name,
        body: {
          name: t.tile.title,
          description: markedDescription(t.tile.description, key, d.file, d.project),
          display: trend ? 'smartscalar' : METABASE_DISPLAY[t.tile.type],
          type: 'question',
          dataset_query: { type: 'native', database: opts.metabaseDatabase, native: { query: cardSql, 'template-tags': tags } },
          visualization_settings: vs,
        },
      });
      const g = grid(t.tile.layout);
      dashcards.push({
        id: -cards.length,
        card_key: key,
        dashboard_tab_id: withTabs ? -(ti + 1) : null,
        row: g.row,
        col: g.col,
        size_x: g.width,
        size_y: g.height,
        parameter_mappings: mappings,
        visualization_settings: {},
        series: [],
      });
    }
  });
  const parameters = dash.filters.map((f) => {
    const t = allTiles(d).find((x) => x.appliesFilters.includes(f.name));
    const mf = metabaseFilter(f, dialect, t ? kindOf(t.model, f.column) : 'string');
    const p: Record<string, unknown> = { id: f.name, name: mf.label, slug: f.name, type: mf.parameterType, sectionId: mf.sectionId };
    if (mf.default) p.default = mf.default;
    return p;
  });
  if (problems.length) throw new ProjectError(problems);
  const collection = opts.collection ?? d.project;
  return {
    key: dash.name,
    project: d.project,
    file: d.file,
    database: opts.metabaseDatabase,
    collection: { name: collection, description: `Dashboards of the Vigil project ${d.project}, published by vigil dashboards publish.` },
    cards,
    dashboard: { name: dash.title, description: markedDescription(dash.description, dash.name, d.file, d.project), parameters },
    tabs: withTabs ? d.tabs.map((t, i) => ({ id: -(i + 1), name: t.title })) : [],
    dashcards,
  };
}

/** The plans of several dashboards, column kinds inferred across all of them (as the export does). */
export function metabasePlans(ds: CompiledDashboard[], opts: ExportOptions): MetabasePlan[] {
  const kindOf = columnKinds(ds);
  const problems: Diagnostic[] = [];
  const plans = [...ds]
    .sort((a, b) => cmp(a.dashboard.name, b.dashboard.name))
    .flatMap((d) => {
      try {
        return [metabasePlan(d, opts, kindOf)];
      } catch (e) {
        // every dashboard's problems at once, before anything is written or published
        if (!(e instanceof ProjectError)) throw e;
        problems.push(...e.diagnostics);
        return [];
      }
    });
  if (problems.length) throw new ProjectError(problems);
  return plans;
}

/**
 * What a Metabase export leaves out, per tile: links (a click behavior needs the ids Metabase
 * assigns), drill-downs (the same), raw-row actions (a card per query).
 */
function metabaseNotCarried(d: CompiledDashboard): string[] {
  const out: string[] = [];
  for (const t of allTiles(d)) {
    for (const l of t.tile.links) out.push(`${t.tile.id}: link '${l.label}'`);
    if (t.tile.drilldown) out.push(`${t.tile.id}: the drill-down to ${t.tile.drilldown.dashboard ? `${t.tile.drilldown.dashboard} › ` : ''}${t.tile.drilldown.tab}`);
    if (t.rawRows) out.push(`${t.tile.id}: the raw-row action '${t.rawRows.label}' (${t.rawRows.model})`);
    // a gauge's thresholds are its segments; a number card has no colors, a chart no threshold lines
    if (t.tile.bands) out.push(`${t.tile.id}: its shaded bands between the lines (Metabase draws the lines alone)`);
    // a scatter card gets no goal line here (the line, area, bar and box cards draw the band's upper edge as one)
    if (t.tile.target_band && t.tile.type === 'scatter') out.push(`${t.tile.id}: its target band (${t.tile.target_band.min}–${t.tile.target_band.max})`);
    if (Object.keys(t.tile.colors ?? {}).length) out.push(`${t.tile.id}: its fixed colors (${Object.keys(t.tile.colors!).join(', ')}): Metabase's palette colors them`);
    if (t.tile.thresholds.length && t.tile.type !== 'gauge') out.push(`${t.tile.id}: its thresholds (${t.tile.thresholds.map((x) => x.label ?? String(x.value)).join(', ')}: ${t.tile.type === 'kpi' ? "the color of the value, which Metabase's number cards do not take" : 'lines Metabase draws only as one goal line'})`);
  }
  return out;
}

/** The mappings of a dashboard's tiles (metabaseMapping), in tile order. */
const mappedTiles = (d: CompiledDashboard, of: (t: CompiledTile) => string | undefined): string[] => allTiles(d).flatMap((t) => of(t) ?? []);

function exportMetabase(ds: CompiledDashboard[], opts: ExportOptions): Map<string, string> {
  const out = new Map<string, string>();
  const plans = new Map(metabasePlans(ds, opts).map((p) => [p.key, p]));
  for (const d of ds) {
    const plan = plans.get(d.dashboard.name)!;
    const payload = {
      import_notes:
        'vigil dashboards publish --metabase URL sends these (and finds them again by the "(vigil:...)" line of their descriptions). By hand: ' +
        'POST /api/collection with collection (or reuse one), POST /api/card with each card\'s body plus collection_id, ' +
        'POST /api/dashboard with dashboard plus collection_id, then PUT /api/dashboard/:id with parameters, tabs and dashcards, ' +
        'each dashcard with card_id = the id POST /api/card returned for its card_key (Metabase assigns ids: a file cannot know them) ' +
        'and that card_id in each of its parameter_mappings. Negative ids ask Metabase to create the tab or dashcard. ' +
        'Dashboard filters are basic SQL variables in [[optional clauses]]: a date range is "last N days" (today included), a select is text matched with IN.',
      source: d.file,
      dialect: d.dialect,
      ...(metabaseNotCarried(d).length ? { not_carried: metabaseNotCarried(d) } : {}),
      ...(mappedTiles(d, metabaseMapping).length ? { mapped: mappedTiles(d, metabaseMapping) } : {}),
      database: plan.database,
      collection: plan.collection,
      cards: plan.cards,
      dashboard: { ...plan.dashboard, tabs: plan.tabs, dashcards: plan.dashcards },
    };
    setOnce(out, `${d.dashboard.name}.metabase.json`, stableJson(payload), 'file');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

function exportJson(ds: CompiledDashboard[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of ds) {
    const tiles: Record<string, unknown> = {};
    for (const tab of d.tabs) {
      for (const t of tab.tiles) {
        tiles[t.tile.id] = {
          tab: tab.name,
          model: t.model,
          relation: t.relation,
          fields: t.fields,
          applies_filters: [...t.appliesFilters],
          sql: t.sql,
          sql_unfiltered: t.sqlUnfiltered,
          previous_sql: t.previousSql,
        };
      }
    }
    setOnce(out, `${d.dashboard.name}.json`, stableJson({ definition: d.dashboard, source: d.file, project: d.project, dialect: d.dialect, models: d.models, tiles }), 'file');
  }
  return out;
}
