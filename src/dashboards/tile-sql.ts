/**
 * The SQL of a dashboard tile: its measures, filters, time windows and drill-down filter values,
 * in the target's dialect. Its own module: `vigil dashboards render` compiles the drill-down
 * pages' tiles with it from the snapshot without loading the dashboards' YAML schema (zod) or
 * the YAML readers (compile-dashboards.ts validates the files and calls it too).
 */
import type { Dialect } from '../adapters/dialect.js';
import type { DashboardFilter, Measure, ResolvedTile, Tile } from './schema.js';
import type { CompiledRawRows } from './raw-rows.js';
import type { CompiledField, CompiledTile } from './types.js';
import { wallMs } from '../time/zoned.js';

const AGG_LABEL: Record<string, string> = { sum: 'Total', avg: 'Average', min: 'Min', max: 'Max', count: 'Count', count_distinct: 'Distinct', median: 'Median', p50: 'P50', p90: 'P90', p95: 'P95', p99: 'P99', ratio: 'Rate', share: 'Share', weighted_avg: 'Weighted avg', age_minutes: 'Minutes since', oldest_age_minutes: 'Minutes since (oldest)', none: '' };
const PCT: Record<string, number> = { median: 0.5, p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

export function measureName(m: Measure): string {
  return m.name ?? (m.agg === 'none' ? m.column : `${m.agg}_${m.column === '*' ? 'rows' : m.column}`);
}

/** A name made readable, as a label: "error_rate" -> "Error rate" (default labels; the exports' titles). */
export const human = (s: string): string => s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** A field in a drill-down value: {{ column }}. */
export const DRILL_TEMPLATE_RE = /\{\{\s*([A-Za-z_]\w*)\s*\}\}/g;

/** A relative time value: "today", "-7d" (days back from today) or "-24h" (hours back from now). */
export const RELATIVE_RE = /^(?:today|-(\d+)([dh]))$/;

/** Hours the window of a relative value spans up to now: -1d = yesterday and today (48h), -24h = 24h, today = 24h. */
function relativeHours(v: string): number {
  const m = RELATIVE_RE.exec(v)!;
  if (v === 'today') return 24;
  return m[2] === 'h' ? Number(m[1]) : (Number(m[1]) + 1) * 24;
}

/** The start of a relative window, moved back by `shiftHours` (the previous period). */
function relativeDate(v: unknown, dialect: Dialect, shiftHours: number, colType: string | undefined): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = RELATIVE_RE.exec(v);
  if (!m) return undefined;
  if (v !== 'today' && m[2] === 'h') return dialect.dateadd('hour', -(Number(m[1]) + shiftHours), dialect.current_timestamp());
  const days = (v === 'today' ? 0 : Number(m[1])) + Math.round(shiftHours / 24);
  return dialect.dateBound(days ? dialect.dateadd('day', -days, dialect.current_date()) : dialect.current_date(), colType);
}

/** A table tile on the site shows at most this many rows; its query reads no more (a `limit` above it is for the exports). */
export const TABLE_ROWS_SHOWN = 500;

export const isTimestamp = (type: string | undefined): boolean => /timestamp|datetime/i.test(type ?? '');
export const isDate = (type: string | undefined): boolean => /^date$/i.test(type ?? '');

/**
 * Whether a field's dates are instants, which a session in a zone other than UTC reads at its wall
 * time (render.ts keyOf, a raw-rows day: site.ts): a timestamptz, and a period of a date (Postgres'
 * date_trunc of a date is a timestamptz, the zone's midnight); a date, or a timestamp without time
 * zone, is a wall time.
 */
export function instantField(f: Pick<CompiledField, 'type' | 'granularity'> | undefined): boolean {
  return /timestamptz|with time zone/i.test(f?.type ?? '') || (f?.granularity !== undefined && isDate(f.type));
}

/** A relative lower bound of a tile's window on a column (CompiledTile.windowFrom): "-6d", "-24h", "today"; `after` when the filter is `>`. */
export interface WindowFrom {
  column: string;
  value: string;
  after?: true;
}

const DAY_MS = 86_400_000;

/**
 * The first moment a window reads of its column when evaluated at `at`: what the SQL of
 * relativeDate computes in the session's zone (`zone`; none: UTC): current_date - N for "-Nd",
 * current_date for "today", now - N hours for "-Nh" — as a wall clock of that zone, in epoch ms as
 * if it were UTC (the session's days are then UTC days). A column of type date holds whole days:
 * the first day at or after a bound of hours (the day after, past `>`), the day after a bound of
 * days past `>`.
 */
export function windowStartMs(w: WindowFrom, at: number, type: string | undefined, zone?: string): number | undefined {
  const m = RELATIVE_RE.exec(w.value);
  if (!m) return undefined;
  const today = Math.floor(wallMs(at, zone) / DAY_MS) * DAY_MS;
  const bound = w.value === 'today' ? today : m[2] === 'h' ? wallMs(at - Number(m[1]) * 3_600_000, zone) : today - Number(m[1]) * DAY_MS;
  if (!isDate(type)) return bound;
  const day = Math.ceil(bound / DAY_MS) * DAY_MS;
  return w.after && day === bound ? day + DAY_MS : day;
}

/**
 * Where a relative window ends: now, or `shiftHours` before now (the previous period "to date").
 * A timestamp column stops at the evaluation time, so a render `--at` a past moment does not read
 * rows written after it; a date column at today. Undefined when the column's type is unknown.
 * A window of days (`byDays`: "today", "-6d") moves back by days, as its start does: the same
 * wall-clock time that many days before in the session's zone (a Postgres url may set one), so
 * "same hours yesterday" after a 25-hour or 23-hour day is yesterday's 00:00-00:30, not the 90 or
 * the -30 minutes 24 hours back reach (as UTC days have no DST, the same 24 hours on DuckDB).
 */
function windowEnd(col: string, type: string | undefined, dialect: Dialect, shiftHours: number, byDays = false): string | undefined {
  const back = byDays && shiftHours % 24 === 0 ? dialect.dateadd('day', -shiftHours / 24, dialect.current_timestamp()) : dialect.dateadd('hour', -shiftHours, dialect.current_timestamp());
  if (isTimestamp(type)) return `${col} < ${shiftHours ? back : dialect.current_timestamp()}`;
  if (isDate(type) && !shiftHours) return `${col} <= ${dialect.current_date()}`;
  return undefined;
}

/** How a KPI's previous period is cut (see `compare` in schema.ts). */
interface Shift {
  hours: number;
  /** previous_period_to_date: the previous period stops at the same point of its length as this one (now). */
  toDate: boolean;
  /** The column of the KPI's window (KpiWindow.column): a window on another column moves back whole. */
  column: string;
}
const NO_SHIFT: Shift = { hours: 0, toDate: false, column: '' };

/** The time window of a KPI: its own relative filter, else the dashboard's date_range default. */
export interface KpiWindow {
  column: string;
  /** "today", "-24h", "-6d" */
  value: string;
  hours: number;
  type: string | undefined;
}

/** "today so far", "last 24 hours", "last 7 days (today included)" — the window as a reader says it. */
export function windowText(w: KpiWindow): string {
  if (w.value === 'today') return isTimestamp(w.type) ? 'today so far' : 'today';
  if (w.value.endsWith('h')) return `last ${w.hours} hours`;
  const days = w.hours / 24;
  return days === 2 ? 'yesterday and today' : `last ${days} days (today included)`;
}

/** What a KPI's change compares with, as a reader says it. */
export function compareText(w: KpiWindow, compare: 'previous_period' | 'previous_period_to_date'): string {
  if (compare === 'previous_period_to_date') return w.value === 'today' ? 'same hours yesterday' : w.value.endsWith('h') ? `the ${w.hours} hours before` : `same time ${w.hours / 24} days earlier`;
  if (w.value === 'today') return 'yesterday (whole day)';
  return w.value.endsWith('h') ? `the ${w.hours} hours before` : `the ${w.hours / 24} days before`;
}

function literalOf(v: unknown, dialect: Dialect): string {
  return dialect.literal(v === undefined ? null : (v as string | number | boolean | null));
}

/** A measure's label: its own, else the aggregation and the column ("Total interaction count"); a chart's series are named by it. */
export function measureLabel(m: Measure): string {
  return m.label ?? `${AGG_LABEL[m.agg]} ${human(m.column === '*' ? 'rows' : m.column).toLowerCase()}`.trim();
}

/** A measure's aggregate expression (exported for the Looker top-N ranking, export.ts). */
export function measureSql(m: Measure, q: (c: string) => string, dialect: Dialect): string {
  const c = m.column === '*' ? '*' : q(m.column);
  switch (m.agg) {
    case 'sum':
      return `sum(${c})`;
    case 'avg':
      return `avg(${c})`;
    case 'min':
      return `min(${c})`;
    case 'max':
      return `max(${c})`;
    case 'count':
      return `count(${c})`;
    case 'count_distinct':
      return `count(distinct ${c})`;
    case 'median':
    case 'p50':
    case 'p90':
    case 'p95':
    case 'p99':
      return dialect.percentile(c, PCT[m.agg]);
    case 'ratio':
      return dialect.safe_divide(`sum(${c})`, `sum(${q(m.denominator!)})`);
    case 'share':
      return `avg(case when ${c} then 1.0 else 0.0 end)`;
    case 'weighted_avg':
      return dialect.safe_divide(`sum(${c} * ${q(m.weight!)})`, `sum(${q(m.weight!)})`);
    // whole minutes elapsed (not minute boundaries crossed: 10:00:58 to 10:03:03 is 2 minutes, not 3)
    case 'age_minutes':
      return `floor(${dialect.datediff('second', `max(${c})`, dialect.current_timestamp())} / 60)`;
    case 'oldest_age_minutes':
      return `floor(${dialect.datediff('second', `min(${c})`, dialect.current_timestamp())} / 60)`;
    case 'none':
      return c;
  }
}

/** The WHERE conditions of a tile: its own filters, then the dashboard filters' defaults that apply. */
function conditions(tile: Tile, filters: DashboardFilter[], dialect: Dialect, appliesTo: (f: DashboardFilter) => boolean, withDashboard: boolean, shift: Shift, types: Record<string, string>): { where: string[]; applies: string[] } {
  const shiftHours = shift.hours;
  const q = (c: string) => dialect.quoteIdent(c);
  const where: string[] = [];
  for (const f of tile.filters) {
    const col = q(f.column);
    if (f.op === 'is null' || f.op === 'is not null') {
      where.push(`${col} ${f.op}`);
      continue;
    }
    if (f.op === 'in' || f.op === 'not in') {
      const list = (Array.isArray(f.value) ? f.value : [f.value]).map((v) => literalOf(v, dialect)).join(', ');
      where.push(`${col} ${f.op} (${list})`);
      continue;
    }
    const rel = relativeDate(f.value, dialect, shiftHours, types[f.column]);
    if (rel && (f.op === '>=' || f.op === '>')) where.push(windowSql(col, `${col} ${f.op} ${rel}`, f.value as string, types[f.column], dialect, shift, f.column === shift.column));
    else where.push(`${col} ${f.op} ${rel ?? literalOf(f.value, dialect)}`);
  }
  const applies: string[] = [];
  for (const f of filters) {
    if (!appliesTo(f)) continue;
    applies.push(f.name);
    if (!withDashboard || f.default === undefined || f.default === null) continue;
    const col = q(f.column);
    if (f.type === 'date_range') {
      if (keepsOwnWindow(tile, f)) continue; // the tile's own window wins (e.g. "last 24h" KPIs)
      const from = rangeFrom(f.default);
      const start = relativeDate(from, dialect, shiftHours, types[f.column])!;
      where.push(windowSql(col, `${col} >= ${start}`, from, types[f.column], dialect, shift, f.column === shift.column));
    } else where.push(`${col} = ${literalOf(f.default, dialect)}`);
  }
  return { where, applies };
}

/**
 * A relative window's conditions: from its start (`from`, already moved back by the shift) to
 * now. In a KPI's previous period, its own window (`own`: on the column of the KPI's window)
 * ends where this one starts, or, to date, at the same point of its length; any other window of
 * its query (a dashboard date range on another column) moves back whole, its end as its start.
 */
function windowSql(col: string, from: string, value: string, type: string | undefined, dialect: Dialect, shift: Shift, own: boolean): string {
  if (!shift.hours) {
    const end = windowEnd(col, type, dialect, 0);
    return end ? `${from} and ${end}` : from;
  }
  if (own && !shift.toDate) return `${from} and ${col} < ${relativeDate(value, dialect, 0, type)}`;
  const byDays = RELATIVE_RE.exec(value)?.[2] !== 'h';
  // a window of days not cut at an hour (a date column, a type not declared; or, in the whole
  // previous period, any column) ends the whole days of the shift back (as relativeDate moves its
  // start), the day it ends in included (was: `and undefined` to date; and, for the whole previous
  // period, the end of its own start: `d >= current_date - 30 and d < current_date - 29` under a
  // KPI of the last 24 hours, its rows a day a month back, the previous value empty)
  const days = Math.round(shift.hours / 24);
  const dayEnd = `${col} < ${dialect.dateBound(1 - days ? dialect.dateadd('day', 1 - days, dialect.current_date()) : dialect.current_date(), type)}`;
  if (shift.toDate) return `${from} and ${windowEnd(col, type, dialect, shift.hours, byDays) ?? dayEnd}`;
  return `${from} and ${byDays ? dayEnd : `${col} < ${dialect.dateadd('hour', -shift.hours, dialect.current_timestamp())}`}`;
}

/** What a tile reads: its model's name, its relation spelled for the target, and a filter the warehouse requires on every read. */
interface TileSource {
  name: string;
  relation: string;
  readFilter?: string;
  /** the model is vigil_sync_state (syncStateModel): this relation, which may not exist yet */
  syncState?: { database?: string; schema: string; identifier: string };
}

/**
 * `types`: the model's declared data_type per column; `appliesTo`: whether a dashboard filter
 * reaches the tile; `optional`: clauses the SQL without the dashboard filters (`sqlUnfiltered`,
 * `previousSqlUnfiltered`) gets in its WHERE after the tile's own conditions (else in a
 * `where 1 = 1`), each on a line of its own and not joined by `and`: Metabase's optional
 * clauses `[[and ...]]` carry their own (compileTileWithClauses).
 */
export function compileTile(tile: ResolvedTile, tab: string, src: TileSource, filters: DashboardFilter[], dialect: Dialect, appliesTo: (f: DashboardFilter) => boolean, types: Record<string, string>, rawRows?: CompiledRawRows, optional: string[] = []): CompiledTile {
  const q = (c: string) => dialect.quoteIdent(c);
  const relation = src.relation;
  const fields: CompiledField[] = [];
  const select: string[] = [];
  const group: string[] = [];
  for (const dim of tile.dimensions) {
    const expr = dim.granularity ? dialect.date_trunc(dim.granularity, q(dim.column)) : q(dim.column);
    select.push(`${expr} as ${q(dim.column)}`);
    // BigQuery reads a name in GROUP BY as the SELECT list's alias first: `group by
    // TIMESTAMP_TRUNC(d, DAY)` beside `... as d` truncates the alias, and the select list's
    // expression is "neither grouped nor aggregated"; its position is what it is everywhere
    group.push(dim.granularity && dialect.groupByReadsAliases ? String(select.length) : expr);
    fields.push({ name: dim.column, label: dim.label ?? human(dim.column), kind: 'dimension', column: dim.column, granularity: dim.granularity, role: dim.role });
  }
  for (const m of tile.measures) {
    const name = measureName(m);
    select.push(`${measureSql(m, q, dialect)} as ${q(name)}`);
    fields.push({ name, label: measureLabel(m), kind: 'measure', column: m.column, agg: m.agg, other: m.denominator ?? m.weight, format: m.format, ...(m.better ? { better: m.better } : {}) });
  }
  const rowLevel = tile.measures.some((m) => m.agg === 'none');
  const build = (withDashboard: boolean, shift: Shift) => {
    const { where, applies } = conditions(tile, filters, dialect, appliesTo, withDashboard, shift, types);
    // a warehouse that refuses some reads without a filter (BigQuery's require_partition_filter)
    if (src.readFilter) where.unshift(src.readFilter);
    if (tile.top_n && tile.measures[0]) {
      // the n values of the column with the largest first measure, under the same filters
      const c = q(tile.top_n.column);
      const inner = [`select ${c} from ${relation}`, ...(where.length ? [`where ${where.join(' and ')}`] : []), `group by ${c}`, `order by ${measureSql(tile.measures[0], q, dialect)} desc, ${c}`, `limit ${tile.top_n.n}`].join(' ');
      where.push(`${c} in (select ${c} from (${inner}) as top_n)`);
    }
    const lines = [`select ${select.join(', ')}`, `from ${relation}`];
    const extra = withDashboard ? '' : optional.map((c) => `\n  ${c}`).join('');
    if (where.length || extra) lines.push(`where ${where.length ? where.join('\n  and ') : '1 = 1'}${extra}`);
    if (group.length && !rowLevel) lines.push(`group by ${group.join(', ')}`);
    // a sample is the first rows in the order of a hash: random-looking, the same on every render.
    // A sort on measures ends with the dimensions (one row each): rows that tie come in the same
    // order on every render, and a limit keeps the same ones
    const tieBreak = rowLevel ? [] : tile.dimensions.filter((x) => !tile.sort.some((s) => s.field === x.column)).map((x) => q(x.column));
    const sorts = tile.sample ? [dialect.sampleOrder(q(tile.sample.key), tile.sample.seed)] : tile.sort.length ? [...tile.sort.map((s) => `${q(s.field)} ${s.dir}`), ...tieBreak] : tile.dimensions.length && !rowLevel ? tile.dimensions.map((x) => q(x.column)) : [];
    // a table cut at its limit says how many rows there were: the same rows, counted; so does a
    // box or scatter of raw rows cut at its limit (5,000 unless told), which draws only those
    const counted = (tile.type === 'table' || rowLevel) && !tile.sample ? `select count(*) as ${q('n')} from (\n${lines.join('\n')}\n) as counted` : undefined;
    const unordered = [...lines];
    if (sorts.length) lines.push(`order by ${sorts.join(', ')}`);
    const given = tile.sample?.rows ?? tile.limit ?? (rowLevel ? 5000 : undefined);
    // the site's table reads only the rows it shows (692,000 rows read to show 500 took 714 MB);
    // the exports' SQL (without the dashboard filters) keeps the tile's own limit
    const limit = tile.type === 'table' && withDashboard ? Math.min(given ?? TABLE_ROWS_SHOWN, TABLE_ROWS_SHOWN) : given;
    if (limit) lines.push(`limit ${limit}`);
    // raw rows mostly fewer than their limit, and a table with no limit of its own, are all there
    // are: counted only when they reach it; a table cut at a limit it was given, beside its rows
    const countFrom = limit && counted && ((rowLevel && tile.type !== 'table') || (tile.type === 'table' && withDashboard && tile.limit === undefined)) ? limit : undefined;
    // a sampled table cut to the rows shown: how many its sample draws (at most sample.rows), when it reaches them (was: 500 of a larger sample shown, nothing said)
    if (tile.sample && limit && limit < tile.sample.rows) return { sql: lines.join('\n'), applies, countSql: `select count(*) as ${q('n')} from (\n${unordered.join('\n')}\nlimit ${tile.sample.rows}\n) as counted`, countFrom: limit };
    return { sql: lines.join('\n'), applies, countSql: limit ? counted : undefined, countFrom };
  };
  const main = build(true, NO_SHIFT);
  const dayWindow = dayWindowColumn(tile, filters, appliesTo, types);
  const from = windowFrom(tile, filters, appliesTo);
  let previousSql: string | undefined;
  let previousSqlUnfiltered: string | undefined;
  let window: CompiledTile['window'];
  const w = tile.type === 'kpi' ? kpiWindow(tile, filters, appliesTo, types) : undefined;
  if (w) window = { text: windowText(w) };
  if (w && tile.compare) {
    const shift = { hours: w.hours, toDate: tile.compare === 'previous_period_to_date', column: w.column };
    previousSql = build(true, shift).sql;
    // without the dashboard filters, only a window of the tile's own moves back
    if (ownWindow(tile)) previousSqlUnfiltered = build(false, shift).sql;
    window!.compare = compareText(w, tile.compare);
  }
  return {
    tile,
    tab,
    model: src.name,
    relation,
    fields,
    sql: main.sql,
    ...(main.countSql ? { countSql: main.countSql } : {}),
    ...(main.countFrom ? { countFrom: main.countFrom } : {}),
    sqlUnfiltered: build(false, NO_SHIFT).sql,
    previousSql,
    previousSqlUnfiltered,
    window,
    appliesFilters: main.applies,
    columnTypes: types,
    ...(src.readFilter ? { readFilter: src.readFilter } : {}),
    ...(src.syncState ? { syncState: src.syncState } : {}),
    ...(rawRows ? { rawRows } : {}),
    ...(dayWindow ? { dayWindow } : {}),
    ...(from.length ? { windowFrom: from } : {}),
  };
}

/** A date range's default ("7d": the last 7 days, today included) as the relative start of its window: "-6d". */
function rangeFrom(value: unknown): string {
  const n = Number(/^(\d+)d$/.exec(String(value))?.[1] ?? 7);
  return `-${n - 1}d`;
}

/**
 * The relative lower bounds the tile's query reads from (see conditions): its own windows, and
 * the default of each dashboard date range that reaches it ("30d": the last 30 days, today
 * included, from current_date - 29) unless the tile keeps its own window on that column.
 */
function windowFrom(tile: Tile, filters: DashboardFilter[], appliesTo: (f: DashboardFilter) => boolean): WindowFrom[] {
  const out: WindowFrom[] = tile.filters.filter(isWindow).map((x) => ({ column: x.column, value: x.value as string, ...(x.op === '>' ? { after: true as const } : {}) }));
  for (const f of filters) {
    if (f.type !== 'date_range' || f.default === undefined || f.default === null || !appliesTo(f) || keepsOwnWindow(tile, f)) continue;
    out.push({ column: f.column, value: rangeFrom(f.default) });
  }
  return out;
}

/**
 * The column of type date whose relative window the tile's query ends at today (`date <=
 * current_date`, see windowEnd): the tile's own window, else a date range that reaches it. A
 * date cannot be cut at an hour: the day of the evaluation time is read as its table holds it.
 */
function dayWindowColumn(tile: Tile, filters: DashboardFilter[], appliesTo: (f: DashboardFilter) => boolean, types: Record<string, string>): string | undefined {
  const own = tile.filters.find((x) => isWindow(x) && isDate(types[x.column]));
  if (own) return own.column;
  const range = filters.find((f) => f.type === 'date_range' && f.default !== undefined && f.default !== null && appliesTo(f) && !keepsOwnWindow(tile, f) && isDate(types[f.column]));
  return range?.column;
}

/**
 * A compiled tile's SQL without the dashboard filters (and its previous period's, for a KPI with
 * its own window), with `clauses` in its WHERE (see `optional` in compileTile): compiled again
 * from the tile's definition, never by editing its SQL text (a literal may hold a newline or
 * `where`). Metabase's cards: its dashboard filters as optional clauses (export.ts).
 */
export function compileTileWithClauses(ct: CompiledTile, clauses: string[], dialect: Dialect): { sqlUnfiltered: string; previousSqlUnfiltered?: string } {
  const c = compileTile(ct.tile, ct.tab, { name: ct.model, relation: ct.relation, readFilter: ct.readFilter, ...(ct.syncState ? { syncState: ct.syncState } : {}) }, [], dialect, () => false, ct.columnTypes ?? {}, ct.rawRows, clauses);
  return { sqlUnfiltered: c.sqlUnfiltered, ...(c.previousSqlUnfiltered ? { previousSqlUnfiltered: c.previousSqlUnfiltered } : {}) };
}

/** A tile filter that is a relative window: a lower bound "-24h", "-7d" or "today". */
const isWindow = (x: Tile['filters'][number]) => (x.op === '>=' || x.op === '>') && typeof x.value === 'string' && RELATIVE_RE.test(x.value);

/** A KPI's own relative window ("-24h", "-7d", "today" as a lower bound), if it has one. */
export function ownWindow(tile: Tile): { column: string; value: string } | undefined {
  const f = tile.filters.find(isWindow);
  return f ? { column: f.column, value: f.value as string } : undefined;
}

/**
 * Whether a tile keeps its own window instead of dashboard filter `f`: `f` is a date range and
 * the tile has a relative window on its column. Any other filter of the tile on that column (an
 * upper bound, `is not null`) is not a window: the date range applies as well.
 */
export function keepsOwnWindow(tile: Tile, f: DashboardFilter): boolean {
  return f.type === 'date_range' && tile.filters.some((x) => x.column === f.column && isWindow(x));
}

/** A KPI's time window: its own relative time filter, else the default of a dashboard date range that reaches it. */
export function kpiWindow(tile: Tile, filters: DashboardFilter[], appliesTo: (f: DashboardFilter) => boolean, types: Record<string, string>): KpiWindow | undefined {
  const own = ownWindow(tile);
  if (own) return { ...own, hours: relativeHours(own.value), type: types[own.column] };
  const dr = filters.find((f) => f.type === 'date_range' && f.default !== undefined && f.default !== null && appliesTo(f));
  const days = dr ? Number(/^(\d+)d$/.exec(String(dr.default))?.[1] ?? 0) : 0;
  return dr && days ? { column: dr.column, value: `-${days - 1}d`, hours: days * 24, type: types[dr.column] } : undefined;
}

/** A value a drill-down gives a dashboard filter: a select's value (typed as the row had it), or a date range like "7d". */
export type FilterValue = string | number | boolean;

/**
 * A compiled tile again, with some dashboard filters set to other values than their defaults
 * (the page a drill-down opens): the values go into the SQL as literals spelled by the dialect
 * (strings quoted, quotes doubled), never as text pasted into the query. Only the filters that
 * apply to the tile (`appliesFilters`) reach it; its SQL is the same as before when none does.
 */
export function compileTileWithFilters(ct: CompiledTile, filters: DashboardFilter[], values: Record<string, FilterValue>, dialect: Dialect): CompiledTile {
  const set = filters.map((f) => (Object.hasOwn(values, f.name) ? { ...f, default: values[f.name] } : f));
  const applies = new Set(ct.appliesFilters);
  return compileTile(ct.tile, ct.tab, { name: ct.model, relation: ct.relation, readFilter: ct.readFilter, ...(ct.syncState ? { syncState: ct.syncState } : {}) }, set, dialect, (f) => applies.has(f.name), ct.columnTypes ?? {}, ct.rawRows);
}
