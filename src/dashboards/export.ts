/**
 * `vigil dashboards export`: compiled dashboards as files for BI tools. Pure and deterministic
 * (sorted JSON keys, stable order, no timestamps, trailing newline), so the exports can be
 * committed and diffed.
 *
 * - `looker`: `<dashboard>.dashboard.lookml` (LookML dashboard, `layout: newspaper`), plus the
 *   LookML the elements need: `<model>.view.lkml` per model read (sql_table_name, a dimension
 *   or dimension_group per column used, every measure used) and `<project>.model.lkml` (one
 *   explore per model). LookML dashboards have no tabs we can rely on, so the tabs are stacked
 *   vertically, each under a full-width `type: text` element with the tab's title.
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
 * A tile whose own filters constrain a dashboard filter's column keeps its own window (e.g.
 * "Interactions (24h)") and does not listen to that filter — as Vigil's own SQL does for the
 * date range; in Looker a listening tile would have its own filter replaced.
 */
import { GAUGE_BELOW, gaugeBands, niceCeil } from './gauge-bands.js';
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { dialectOf } from '../adapters/index.js';
import type { Dialect } from '../adapters/dialect.js';
import type { DashboardFilter, Tile, TileType } from './schema.js';
import type { CompiledDashboard, CompiledField, CompiledTile } from './types.js';

export type ExportFormat = 'looker' | 'metabase' | 'json';

/** Relative file path -> content. */
export function exportDashboards(ds: CompiledDashboard[], format: ExportFormat): Map<string, string> {
  const sorted = [...ds].sort((a, b) => cmp(a.dashboard.name, b.dashboard.name));
  switch (format) {
    case 'looker':
      return exportLooker(sorted);
    case 'metabase':
      return exportMetabase(sorted);
    case 'json':
      return exportJson(sorted);
    default:
      throw new Error(`unknown export format '${String(format)}' (use looker, metabase or json)`);
  }
}

/** Vigil grid units -> the 24-column grids of Looker (newspaper) and Metabase. */
export const GRID_SCALE = 2;
/** Height of the text element that heads each tab in a LookML dashboard (Looker rows). */
export const LOOKER_TAB_HEADING_HEIGHT = 2;

// ---------------------------------------------------------------------------------------------
// shared helpers

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with object keys sorted at every level (arrays keep their order), 2-space indent, final newline. */
export function stableJson(v: unknown): string {
  return JSON.stringify(sortKeys(v), null, 2) + '\n';
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort(cmp)) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

const human = (s: string) => s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

function allTiles(d: CompiledDashboard): CompiledTile[] {
  return d.tabs.flatMap((t) => t.tiles);
}

/** The dashboard filters a tile listens to: those that apply to it, unless it filters the column itself. */
export function listenedFilters(d: CompiledDashboard, t: CompiledTile): DashboardFilter[] {
  return d.dashboard.filters.filter((f) => t.appliesFilters.includes(f.name) && !t.tile.filters.some((x) => x.column === f.column));
}

type ColumnKind = 'date' | 'timestamp' | 'number' | 'yesno' | 'string';

function kindOfType(dataType: string): ColumnKind {
  const t = dataType.toLowerCase();
  if (/^date$/.test(t)) return 'date';
  if (/timestamp|datetime|^time/.test(t)) return 'timestamp';
  if (/bool/.test(t)) return 'yesno';
  if (/int|double|float|numeric|decimal|real|number|money/.test(t)) return 'number';
  return 'string';
}

const isRelativeDate = (v: unknown) => typeof v === 'string' && (v === 'today' || /^-\d+d$/.test(v));
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
      for (const [c, ty] of Object.entries(t.columnTypes ?? {})) {
        if (!declared.has(t.model)) declared.set(t.model, new Map());
        if (!declared.get(t.model)!.has(c)) declared.get(t.model)!.set(c, ty);
      }
      for (const f of t.fields) {
        if (f.granularity || f.agg === 'age_minutes') add(temporal, t.model, f.column);
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

interface LookerMeasure {
  name: string;
  label?: string;
  type: string;
  sql?: string;
  percentile?: number;
  format?: string;
  /** Only there for another measure's sql: hidden in the field picker. */
  hidden: boolean;
}

interface LookerView {
  model: string;
  relation: string;
  dialect: Dialect;
  /** column -> label (dimensions and dimension groups). */
  columns: Map<string, string | undefined>;
  measures: Map<string, LookerMeasure>;
}

const PERCENTILES: Record<string, number> = { p50: 50, p90: 90, p95: 95, p99: 99 };

function lookerQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A value inside a Looker string filter expression: , % _ ^ " and a leading - escaped with ^. */
function lookerEscape(v: string): string {
  return v.replace(/[\^,%_"]/g, (c) => `^${c}`).replace(/^-/, '^-');
}

function lookerDate(v: unknown): string {
  if (v === 'today') return 'today';
  const m = typeof v === 'string' ? /^-(\d+)([dh])$/.exec(v) : null;
  if (m) return `${m[1]} ${m[2] === 'h' ? 'hour' : 'day'}${m[1] === '1' ? '' : 's'} ago`;
  return String(v).replace(/^(\d{4})-(\d{2})-(\d{2})/, '$1/$2/$3');
}

/** A tile filter as a Looker filter expression for a field of this kind. */
export function lookerFilterExpression(op: string, value: unknown, kind: ColumnKind): string {
  const list = (Array.isArray(value) ? value : [value]).map((v) => (v === null ? 'NULL' : String(v)));
  if (op === 'is null') return 'NULL';
  if (op === 'is not null') return kind === 'string' ? '-NULL' : 'NOT NULL';
  if (kind === 'yesno') {
    const yes = value === true || value === 'true' || value === 'yes' || value === 'Yes';
    return (op === '!=') !== yes ? 'Yes' : 'No';
  }
  if (kind === 'date' || kind === 'timestamp') {
    const d = lookerDate(value);
    if (op === '>=' || op === '>') return value === 'today' ? 'today' : `after ${d}`;
    if (op === '<' || op === '<=') return `before ${d}`;
    if (op === '!=') return `not ${d}`;
    return d;
  }
  if (kind === 'number') {
    if (op === 'in') return list.join(', ');
    if (op === 'not in') return `NOT ${list.join(', ')}`;
    if (op === '!=') return `NOT ${list[0]}`;
    if (op === '=') return list[0];
    return `${op}${list[0]}`;
  }
  if (op === 'in') return list.map(lookerEscape).join(',');
  if (op === 'not in') return list.map((v) => `-${lookerEscape(v)}`).join(',');
  if (op === '!=') return `-${lookerEscape(list[0])}`;
  if (op === '=') return lookerEscape(list[0]);
  // Looker strings have no ordering operators: the nearest is the raw comparison
  return `${op}${list[0]}`;
}

function exportLooker(ds: CompiledDashboard[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!ds.length) return out;
  const project = ds[0].project;
  const kindOf = columnKinds(ds);
  const views = new Map<string, LookerView>();

  const viewOf = (t: CompiledTile, dialect: Dialect): LookerView => {
    let v = views.get(t.model);
    if (!v) {
      v = { model: t.model, relation: t.relation, dialect, columns: new Map(), measures: new Map() };
      views.set(t.model, v);
    }
    return v;
  };
  const addColumn = (v: LookerView, col: string, label?: string) => {
    if (!v.columns.has(col) || (v.columns.get(col) === undefined && label)) v.columns.set(col, label);
  };
  const isTemporal = (model: string, col: string) => ['date', 'timestamp'].includes(kindOf(model, col));
  /** The Looker field a column is shown as (dimension groups: the timeframe). */
  const dimRef = (model: string, col: string, granularity?: string) => {
    if (!isTemporal(model, col)) return `${model}.${col}`;
    const tf = granularity ? TIMEFRAME[granularity] : kindOf(model, col) === 'date' ? 'date' : 'time';
    return `${model}.${col}_${tf}`;
  };
  /** The Looker field a column is filtered on (dimension groups: the date). */
  const filterRef = (model: string, col: string) => (isTemporal(model, col) ? `${model}.${col}_date` : `${model}.${col}`);

  /** Field names a view's dimensions take (a dimension group takes one per timeframe). */
  const dimensionNames = (v: LookerView): Set<string> => {
    const names = new Set<string>();
    for (const col of v.columns.keys()) {
      if (isTemporal(v.model, col)) for (const tf of ['raw', 'time', 'date', 'week', 'month']) names.add(`${col}_${tf}`);
      else names.add(col);
    }
    return names;
  };

  // 1. every column the elements read, so measure names can avoid them
  for (const d of ds) {
    const dialect = dialectOf(d.dialect);
    for (const t of allTiles(d)) {
      const v = viewOf(t, dialect);
      for (const f of t.fields) if (f.kind === 'dimension' || isRaw(f)) addColumn(v, f.column, f.label);
      for (const f of t.tile.filters) addColumn(v, f.column);
      for (const f of listenedFilters(d, t)) addColumn(v, f.column);
    }
    // a filter's own field (applies_to models without tiles have no view: no field)
    for (const f of d.dashboard.filters) {
      const t = allTiles(d).find((x) => x.appliesFilters.includes(f.name));
      if (t) addColumn(viewOf(t, dialect), f.column);
    }
  }

  // 2. measures: CompiledField.name, unless a dimension or a different measure already has it
  const measureRef = new Map<string, string>();
  const signature = (m: Omit<LookerMeasure, 'name' | 'label' | 'hidden' | 'format'>) => JSON.stringify([m.type, m.sql ?? '', m.percentile ?? '']);
  const defineMeasure = (v: LookerView, wanted: string, m: Omit<LookerMeasure, 'name' | 'hidden'>, hidden: boolean): string => {
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
  const measureFor = (v: LookerView, f: CompiledField): string => {
    const key = `${v.model}\u0000${f.name}\u0000${f.agg}\u0000${f.column}\u0000${f.other ?? ''}`;
    const known = measureRef.get(key);
    if (known) return known;
    const base = { label: f.label, format: f.format };
    let name: string;
    switch (f.agg) {
      case 'min':
      case 'max':
        // Looker's min/max measures are numeric; the latest date or time is a `type: date` measure
        if (['date', 'timestamp'].includes(kindOf(v.model, f.column))) {
          name = defineMeasure(v, f.name, { ...base, type: 'date', sql: `${f.agg.toUpperCase()}(${col(v, f.column)})` }, false);
          break;
        }
        name = defineMeasure(v, f.name, { ...base, type: f.agg, sql: col(v, f.column) }, false);
        break;
      case 'sum':
      case 'count_distinct':
      case 'median':
        name = defineMeasure(v, f.name, { ...base, type: f.agg, sql: col(v, f.column) }, false);
        break;
      case 'avg':
        name = defineMeasure(v, f.name, { ...base, type: 'average', sql: col(v, f.column) }, false);
        break;
      case 'p50':
      case 'p90':
      case 'p95':
      case 'p99':
        name = defineMeasure(v, f.name, { ...base, type: 'percentile', percentile: PERCENTILES[f.agg], sql: col(v, f.column) }, false);
        break;
      case 'count':
        name = f.column === '*' ? defineMeasure(v, f.name, { ...base, type: 'count' }, false) : defineMeasure(v, f.name, { ...base, type: 'number', sql: `COUNT(${col(v, f.column)})` }, false);
        break;
      case 'ratio': {
        const num = defineMeasure(v, `sum_${f.column}`, { type: 'sum', sql: col(v, f.column) }, true);
        const den = defineMeasure(v, `sum_${f.other}`, { type: 'sum', sql: col(v, f.other!) }, true);
        name = defineMeasure(v, f.name, { ...base, type: 'number', sql: v.dialect.safe_divide(`\${${num}}`, `\${${den}}`) }, false);
        break;
      }
      case 'weighted_avg': {
        const num = defineMeasure(v, `sum_${f.column}_x_${f.other}`, { type: 'sum', sql: `${col(v, f.column)} * ${col(v, f.other!)}` }, true);
        const den = defineMeasure(v, `sum_${f.other}`, { type: 'sum', sql: col(v, f.other!) }, true);
        name = defineMeasure(v, f.name, { ...base, type: 'number', sql: v.dialect.safe_divide(`\${${num}}`, `\${${den}}`) }, false);
        break;
      }
      case 'age_minutes':
        name = defineMeasure(v, f.name, { ...base, type: 'number', sql: v.dialect.datediff('minute', `MAX(${col(v, f.column)})`, v.dialect.current_timestamp()) }, false);
        break;
      case 'share':
        name = defineMeasure(v, f.name, { ...base, type: 'average', sql: `CASE WHEN ${col(v, f.column)} THEN 1.0 ELSE 0.0 END` }, false);
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
    return `${t.model}.${measureFor(views.get(t.model)!, f)}`;
  };

  // 3. dashboards
  for (const d of ds) {
    const dash = d.dashboard;
    const filters = dash.filters.flatMap((f) => {
      const t = allTiles(d).find((x) => x.appliesFilters.includes(f.name));
      const base: Record<string, unknown> = { name: f.name, title: f.label ?? human(f.name), type: 'field_filter' };
      if (f.type === 'date_range') {
        const n = /^(\d+)d$/.exec(String(f.default ?? ''))?.[1];
        if (n) base.default_value = `${n} ${n === '1' ? 'day' : 'days'}`;
        base.allow_multiple_values = true;
        base.required = false;
        base.ui_config = { type: 'relative_timeframes', display: 'inline' };
      } else {
        if (f.default !== undefined && f.default !== null) base.default_value = lookerEscape(String(f.default));
        base.allow_multiple_values = true;
        base.required = false;
        base.ui_config = { type: 'tag_list', display: 'popover' };
      }
      if (t) Object.assign(base, { model: d.project, explore: t.model, field: filterRef(t.model, f.column) });
      return [base];
    });

    const elements: Array<Record<string, unknown>> = [];
    let top = 0;
    for (const tab of d.tabs) {
      elements.push({ name: `tab_${tab.name}`, type: 'text', title_text: tab.title, row: top, col: 0, width: 12 * GRID_SCALE, height: LOOKER_TAB_HEADING_HEIGHT });
      top += LOOKER_TAB_HEADING_HEIGHT;
      for (const t of tab.tiles) {
        const tile = t.tile;
        const e: Record<string, unknown> = { name: tile.id, title: tile.title, type: LOOKER_TYPES[tile.type], model: d.project, explore: t.model };
        e.fields = t.fields.map((f) => fieldRef(t, f));
        const pivots = seriesDims(t).map((f) => fieldRef(t, f));
        if (pivots.length) e.pivots = pivots;
        if (tile.filters.length) {
          const fs: Record<string, string> = {};
          for (const f of tile.filters) {
            const ref = filterRef(t.model, f.column);
            const expr = lookerFilterExpression(f.op, f.value, kindOf(t.model, f.column));
            // two conditions on one field (a window's start and end): one expression (Looker's AND, as in ">=1 AND <=5")
            fs[ref] = fs[ref] ? `${fs[ref]} AND ${expr}` : expr;
          }
          e.filters = fs;
        }
        const byName = new Map(t.fields.map((f) => [f.name, f]));
        const sorts = tile.sort.flatMap((s) => (byName.has(s.field) ? [`${fieldRef(t, byName.get(s.field)!)} ${s.dir}`] : []));
        if (sorts.length) e.sorts = sorts;
        const limit = tile.limit ?? (t.fields.some(isRaw) ? 5000 : undefined);
        if (limit !== undefined) e.limit = limit;
        const listen: Record<string, string> = {};
        for (const f of listenedFilters(d, t)) listen[f.name] = filterRef(t.model, f.column);
        if (Object.keys(listen).length) e.listen = listen;
        if (tile.type === 'area' && tile.stacked !== false && pivots.length) e.stacking = 'normal';
        else if (tile.stacked) e.stacking = 'normal';
        if (tile.type === 'donut') e.inner_radius = 50;
        if (tile.description) e.note = { text: tile.description, state: 'collapsed', display: 'hover' };
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
    const header = `# Generated by \`vigil dashboards export --format looker\` from ${d.file}: edit that file, not this one.\n# Tabs (${d.tabs.map((t) => t.title).join(', ')}) are stacked top to bottom, each under a text element with its title.\n`;
    out.set(`${dash.name}.dashboard.lookml`, header + lookmlYaml([doc]));
  }

  // 4. views and the model
  for (const v of [...views.values()].sort((a, b) => cmp(a.model, b.model))) out.set(`${v.model}.view.lkml`, viewLookml(v, kindOf));
  const explores = [...views.keys()].sort(cmp).map((m) => `explore: ${m} {}\n`);
  out.set(
    `${project}.model.lkml`,
    `# Generated by \`vigil dashboards export --format looker\`. The connection is named after the Vigil project: rename it to your Looker connection.\nconnection: ${lookerQuote(project)}\n\ninclude: "/**/*.view.lkml"\ninclude: "/**/*.dashboard"\n\n${explores.join('\n')}`,
  );
  return out;
}

function lookmlYaml(v: unknown): string {
  const doc = new YAML.Document(v);
  YAML.visit(doc, {
    Seq(_, node) {
      if (node.items.every((i) => YAML.isScalar(i))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, indentSeq: false, flowCollectionPadding: false });
}

const VALUE_FORMAT: Record<string, string> = { percent: 'percent_1', usd: 'usd', integer: 'decimal_0', number: 'decimal_2' };

function viewLookml(v: LookerView, kindOf: (model: string, column: string) => ColumnKind): string {
  const lines: string[] = [`# Generated by \`vigil dashboards export --format looker\`: the fields the dashboards read.`, `view: ${v.model} {`, `  sql_table_name: ${v.relation} ;;`];
  const q = (c: string) => `\${TABLE}.${v.dialect.quoteIdent(c)}`;
  for (const c of [...v.columns.keys()].sort(cmp)) {
    const kind = kindOf(v.model, c);
    const label = v.columns.get(c);
    lines.push('');
    if (kind === 'date' || kind === 'timestamp') {
      lines.push(`  dimension_group: ${c} {`, `    type: time`);
      if (kind === 'date') lines.push(`    datatype: date`, `    convert_tz: no`, `    timeframes: [raw, date, week, month]`);
      else lines.push(`    timeframes: [raw, time, date, week, month]`);
    } else {
      lines.push(`  dimension: ${c} {`, `    type: ${kind}`);
    }
    if (label) lines.push(`    label: ${lookerQuote(label)}`);
    lines.push(`    sql: ${q(c)} ;;`, `  }`);
  }
  for (const m of [...v.measures.values()].sort((a, b) => cmp(a.name, b.name))) {
    lines.push('', `  measure: ${m.name} {`, `    type: ${m.type}`);
    if (m.percentile !== undefined) lines.push(`    percentile: ${m.percentile}`);
    if (m.label) lines.push(`    label: ${lookerQuote(m.label)}`);
    if (m.hidden) lines.push(`    hidden: yes`);
    if (m.format && VALUE_FORMAT[m.format]) lines.push(`    value_format_name: ${VALUE_FORMAT[m.format]}`);
    if (m.sql) lines.push(`    sql: ${m.sql} ;;`);
    lines.push(`  }`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
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
export function metabaseFilter(f: DashboardFilter, dialect: Dialect, kind: ColumnKind): { tagType: 'number' | 'text'; clause: string; parameterType: string; sectionId: string; default?: unknown[]; label: string } {
  const col = dialect.quoteIdent(f.column);
  const label = f.label ?? human(f.name);
  if (f.type === 'date_range') {
    const n = /^(\d+)d$/.exec(String(f.default ?? ''))?.[1];
    // the last N days, today included: the same window as Vigil's own "7d"
    const start = dialect.dateadd('day', `-({{${f.name}}} - 1)`, dialect.current_date());
    return { tagType: 'number', clause: `[[and ${col} >= ${start}]]`, parameterType: 'number/=', sectionId: 'number', default: n ? [Number(n)] : undefined, label: `${label} (last N days)` };
  }
  const numeric = kind === 'number';
  return {
    tagType: numeric ? 'number' : 'text',
    clause: `[[and ${col} in ({{${f.name}}})]]`,
    parameterType: numeric ? 'number/=' : 'string/=',
    sectionId: numeric ? 'number' : 'string',
    default: f.default === undefined || f.default === null ? undefined : [f.default],
    label,
  };
}

/**
 * The tile's unfiltered SQL with the optional clauses added to its WHERE (or a `where 1 = 1`
 * added after its FROM). Relies on the compiler's layout: `from <relation>` on a line of its own,
 * then `where <condition>` with further conditions on lines starting `  and `.
 */
export function injectClauses(sql: string, relation: string, clauses: string[]): string {
  if (!clauses.length) return sql;
  const lines = sql.split('\n');
  const from = lines.findIndex((l) => l === `from ${relation}`);
  if (from < 0) throw new Error(`cannot add dashboard filters to a tile query: no line 'from ${relation}' in:\n${sql}`);
  let at = from + 1;
  const extra = clauses.map((c) => `  ${c}`);
  if (lines[at]?.startsWith('where ')) {
    at++;
    while (lines[at]?.startsWith('  ')) at++;
  } else extra.unshift('where 1 = 1');
  return [...lines.slice(0, at), ...extra, ...lines.slice(at)].join('\n');
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
      break;
    case 'donut':
      Object.assign(vs, { 'pie.dimension': dims[0]?.name, 'pie.metric': measures[0]?.name, 'pie.show_legend': true });
      break;
    case 'heatmap': {
      const y = seriesDims(t)[0] ?? dims[1];
      Object.assign(vs, { 'table.pivot': true, 'table.pivot_column': y?.name, 'table.cell_column': measures[0]?.name });
      vs['table.column_formatting'] = [{ columns: [measures[0]?.name], type: 'range', colors: ['#ffffff', '#509EE3'], min_type: null, max_type: null }];
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

function exportMetabase(ds: CompiledDashboard[]): Map<string, string> {
  const out = new Map<string, string>();
  const kindOf = columnKinds(ds);
  for (const d of ds) {
    const dialect = dialectOf(d.dialect);
    const dash = d.dashboard;
    const cards: Array<Record<string, unknown>> = [];
    const dashcards: Array<Record<string, unknown>> = [];
    const withTabs = d.tabs.length > 1;
    d.tabs.forEach((tab, ti) => {
      for (const t of tab.tiles) {
        const listened = listenedFilters(d, t);
        const tags: Record<string, unknown> = {};
        const clauses: string[] = [];
        const mappings: Array<Record<string, unknown>> = [];
        for (const f of listened) {
          const mf = metabaseFilter(f, dialect, kindOf(t.model, f.column));
          clauses.push(mf.clause);
          tags[f.name] = { id: stableUuid(`${dash.name}/${t.tile.id}/${f.name}`), name: f.name, 'display-name': mf.label, type: mf.tagType, required: false };
          mappings.push({ parameter_id: f.name, card_ref: cards.length, target: ['variable', ['template-tag', f.name]] });
        }
        const ref = cards.length;
        cards.push({
          name: t.tile.title,
          description: t.tile.description ?? null,
          display: METABASE_DISPLAY[t.tile.type],
          dataset_query: { type: 'native', database: null, native: { query: injectClauses(t.sqlUnfiltered, t.relation, clauses), 'template-tags': tags } },
          visualization_settings: visualizationSettings(t),
          vigil_tile: `${tab.name}.${t.tile.id}`,
        });
        const g = grid(t.tile.layout);
        dashcards.push({
          id: -(ref + 1),
          card_ref: ref,
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
    const payload = {
      import_notes:
        'POST /api/card for each of cards (set dataset_query.database and collection_id; drop vigil_tile), ' +
        'POST /api/dashboard with dashboard.name and description, then PUT /api/dashboard/:id with parameters, tabs and dashcards, ' +
        'replacing each card_ref (an index into cards) with the created card_id, also inside parameter_mappings. ' +
        'Negative ids ask Metabase to create the tab or dashcard. Dashboard filters are basic SQL variables in [[optional clauses]]: ' +
        'a date range is "last N days" (today included), a select is text matched with IN.',
      source: d.file,
      dialect: d.dialect,
      cards,
      dashboard: {
        name: dash.title,
        description: dash.description ?? null,
        parameters,
        tabs: withTabs ? d.tabs.map((t, i) => ({ id: -(i + 1), name: t.title })) : [],
        dashcards,
      },
    };
    out.set(`${dash.name}.metabase.json`, stableJson(payload));
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
    out.set(`${d.dashboard.name}.json`, stableJson({ definition: d.dashboard, source: d.file, project: d.project, dialect: d.dialect, models: d.models, tiles }));
  }
  return out;
}
