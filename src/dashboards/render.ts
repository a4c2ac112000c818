/**
 * `vigil dashboards render`: one static HTML page per dashboard. No JavaScript is needed to view
 * it: charts are rendered here, server-side, to inline SVG with Apache ECharts (SSR mode), KPI and
 * table tiles are plain HTML, the tabs are sections with anchors and a bar of links.
 *
 * Pure apart from ECharts: the same dashboard and data give byte-identical output, except
 * `meta.generatedAt` (ECharts numbers the ids inside each SVG with a process-wide counter; they
 * are renamed per tile, which also keeps the ids of the many SVGs on one page distinct).
 */
import { GAUGE_BELOW, gaugeBands, niceCeil } from './gauge-bands.js';
import * as echarts from 'echarts/core';
import type { EChartsCoreOption } from 'echarts/core';
import { BarChart, BoxplotChart, GaugeChart, HeatmapChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TitleComponent, VisualMapContinuousComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { CategoryColors, OTHER_COLOR, PALETTE } from './category-colors.js';
import type { Aggregation } from './schema.js';
import type { CompiledDashboard, CompiledField, CompiledTile, TileData } from './types.js';
import { legacyLinks, tabAnchor, type PageLinks } from './site.js';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VIGIL_VERSION } from '../version.js';
import { absoluteHttpUrl, loneLinkField, safeColor, safeUrl } from './safe-values.js';
import { instantField, isDate, isTimestamp, TABLE_ROWS_SHOWN, windowStartMs } from './tile-sql.js';
import { ExactNumber, exactJson, jsonValue, PreciseTime, valueText } from '../adapters/adapter.js';
import { maxOf, minOf } from '../extremes.js';
import { wallMs } from '../time/zoned.js';

/** This renderer's code, as a stamp: drawings kept by tile-cache.ts are valid only for it. */
export function renderStamp(): string {
  const st = statSync(fileURLToPath(import.meta.url));
  return `${VIGIL_VERSION}:${st.size}:${Math.round(st.mtimeMs)}`;
}

echarts.use([
  LineChart,
  BarChart,
  PieChart,
  HeatmapChart,
  BoxplotChart,
  ScatterChart,
  GaugeChart,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TitleComponent,
  VisualMapContinuousComponent,
  SVGRenderer,
]);

export interface RenderMeta {
  generatedAt: string;
  target: string;
  /** The dashboard filters' applied values (defaults), by filter name, shown as chips. */
  filters: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Layout: a 12-column grid, 1280 px wide, 110 px rows. Charts are rendered at the pixel size
// their grid cell has at that width; the SVG scales with the page (viewBox) when it is narrower.

export const GRID_WIDTH = 1280;
export const GRID_COLUMNS = 12;
export const ROW_HEIGHT = 110;
export const GAP = 12;
const PAD_X = 14;
const PAD_Y = 10;
const HEAD_H = 24;
/** A line of a tile's description: it takes as many as its text needs, up to a third of the tile. */
const DESC_H = 16;
const FOOT_H = 20;
/** A further line of a tile's title (13 px, bold), or of its footer (11 px): they wrap, never cut. */
const TITLE_LINE_H = 18;
const FOOT_LINE_H = 15;
/** Page width the screenshots use: the grid plus the page's side padding. */
export const PAGE_WIDTH = GRID_WIDTH + 2 * 24;

const COL_W = (GRID_WIDTH - (GRID_COLUMNS - 1) * GAP) / GRID_COLUMNS;

/** ECharts measures text without a browser using Arial-like widths; Liberation Sans (Debian)
 * and Arial match them, so labels are laid out where they are drawn. */
const CHART_FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif";
const PAGE_FONT = '"Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif';

/** A base-10 logarithmic value axis (scatter `scale`). */
const LOG_AXIS = { type: 'log', logBase: 10, scale: false };

const TEXT = '#1f2937';
const MUTED = '#6b7280';
const AXIS = '#d1d5db';
const SPLIT = '#eef0f3';
const GOOD = GAUGE_BELOW;
const BAD = '#c62828';

/** At most this many series (or donut slices); the rest become "Other" when additive. */
const MAX_SERIES = 10;
/** A table's header row and each of its rows (12 px text, the paddings and border of th and td, with room to spare): what fitRows counts. */
const TABLE_HEAD_H = 30;
const TABLE_ROW_H = 28;

// ---------------------------------------------------------------------------------------------
// Values and formats

/** A cell as a number: numbers, bigints (DuckDB BIGINT), numeric strings (pg numeric/bigint). */
export function toNumber(v: unknown): number | null {
  if (v == null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return null;
    return Number(s);
  }
  return null;
}

/** A cell as a date: Date objects, ISO strings (a zone-less timestamp is read as UTC). */
export function toDate(v: unknown): Date | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (typeof v === 'string') {
    const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/.exec(v.trim());
    if (!m) return null;
    const iso = m[2] ? `${m[1]}T${m[2]}${m[3] ? normalizeZone(m[3]) : 'Z'}` : `${m[1]}T00:00:00Z`;
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

function normalizeZone(z: string): string {
  if (z === 'Z') return z;
  const m = /^([+-]\d{2}):?(\d{2})?$/.exec(z);
  return m ? `${m[1]}:${m[2] ?? '00'}` : 'Z';
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function isMidnight(d: Date): boolean {
  return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0 && d.getUTCMilliseconds() === 0;
}

/** 2026-03-05, or 2026-03-05 14:20 (UTC) when it has a time of day. */
export function formatDate(d: Date): string {
  const day = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  return isMidnight(d) ? day : `${day} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}

/** What a short date label shows besides the day: see dateLabels. */
interface ShortDate {
  year?: boolean;
  seconds?: boolean;
  millis?: boolean;
}

/** Short axis label: "Mar 5", "Mar 2026" (monthly), "Mar 5 14:00"; "Mar 5, 2026", "Mar 5 14:00:05", "Mar 5 14:00:05.250" as `show` asks. */
function formatDateShort(d: Date, granularity?: string, show: ShortDate = {}): string {
  if (granularity === 'month') return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  const day = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}${show.year ? `, ${d.getUTCFullYear()}` : ''}`;
  if (isMidnight(d)) return day;
  const sec = show.seconds || show.millis ? `:${pad2(d.getUTCSeconds())}${show.millis ? `.${String(d.getUTCMilliseconds()).padStart(3, '0')}` : ''}` : '';
  return `${day} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}${sec}`;
}

/**
 * Labels of date categories that tell them apart: with the year when they span more than one
 * calendar year, with seconds when one is not on a whole minute (milliseconds when not on a whole
 * second); otherwise "Mar 5", "Mar 5 14:00".
 */
function dateLabels(dates: Date[], granularity?: string): string[] {
  const show: ShortDate = {
    year: new Set(dates.map((d) => d.getUTCFullYear())).size > 1,
    seconds: dates.some((d) => d.getUTCSeconds() !== 0),
    millis: dates.some((d) => d.getUTCMilliseconds() !== 0),
  };
  return dates.map((d) => formatDateShort(d, granularity, show));
}

const NF0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const NF2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const USD = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function trimFixed(n: number, digits: number): string {
  const s = n.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function formatMinutes(n: number): string {
  const neg = n < 0 ? '-' : '';
  const a = Math.abs(n);
  if (a < 10) return `${neg}${trimFixed(a, 1)} min`;
  if (a < 60) return `${neg}${Math.round(a)} min`;
  const total = Math.round(a);
  if (total < 1440) {
    const h = Math.floor(total / 60);
    const m = total % 60;
    return `${neg}${h} h${m ? ` ${m} min` : ''}`;
  }
  const d = Math.floor(total / 1440);
  const h = Math.floor((total % 1440) / 60);
  return `${neg}${d} d${h ? ` ${h} h` : ''}`;
}

function formatPlainNumber(n: number): string {
  const a = Math.abs(n);
  if (Number.isInteger(n) || a >= 1000) return NF0.format(n);
  if (a >= 1) return NF2.format(n);
  if (a === 0) return '0';
  return String(Number(n.toPrecision(3)));
}

/** An integer a double does not hold (a BIGINT sum past 2^53): as a bigint, to be printed digit for digit. */
function bigInteger(v: unknown): bigint | undefined {
  const b = typeof v === 'bigint' ? v : typeof v === 'string' && /^\s*-?\d{16,}\s*$/.test(v) ? BigInt(v.trim()) : undefined;
  return b !== undefined && !Number.isSafeInteger(Number(b)) ? b : undefined;
}

/** formatValue of an integer past 2^53, exactly: "132,463,988,267,086,686", "$9,007,199,254,740,993.00". */
function formatBigInteger(b: bigint, format: string | undefined): string {
  const neg = b < 0n ? '-' : '';
  const a = b < 0n ? -b : b;
  switch (format) {
    case 'percent':
      return `${b * 100n}.0 %`;
    case 'ms':
      return `${NF0.format(b)} ms`;
    case 'usd':
      return `${neg}$${NF0.format(a)}.00`;
    case 'minutes': {
      const h = (a % 1440n) / 60n;
      return `${neg}${NF0.format(a / 1440n)} d${h ? ` ${h} h` : ''}`;
    }
    default:
      return NF0.format(b);
  }
}

/**
 * A value for people, by the field's format: percent 0.053 → "5.3 %", ms → "1,234 ms",
 * usd → "$1,234.50", integer → "12,345", minutes → "42 min" / "2 h 5 min", date → "2026-03-05".
 * Null is "—"; booleans are true / false (as `vigil show` prints them); text is shown as is
 * (a date only with the format date: see fieldFormat); integers past 2^53 to the last digit.
 */
export function formatValue(v: unknown, format?: string): string {
  if (v == null) return '—';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && !(v instanceof Date)) {
    // BigQuery's DATE and TIMESTAMP as their text, NUMERIC as its digits, bytes in base64; a list
    // or struct as JSON, numbers exact (as vigil show prints one)
    const j = jsonValue(v);
    if (j instanceof ExactNumber) return formatValue(j.text, format);
    return typeof j === 'string' ? formatValue(j, format) : exactJson(j);
  }
  if (v instanceof Date || (format === 'date' && typeof v === 'string')) {
    const d = toDate(v);
    if (d) return formatDate(d);
  }
  if (format === 'text') return String(v);
  const big = bigInteger(v);
  if (big !== undefined) return formatBigInteger(big, format);
  const n = toNumber(v);
  if (n == null) return String(v);
  switch (format) {
    case 'percent':
      return `${(n * 100).toFixed(1)} %`;
    case 'ms':
      return Math.abs(n) < 10 && !Number.isInteger(n) ? `${trimFixed(n, 1)} ms` : `${NF0.format(Math.round(n))} ms`;
    case 'usd': {
      // cents, except under ten cents: two significant digits ($0.012, $0.0047)
      const a = Math.abs(n);
      const s = a > 0 && a < 0.095 ? a.toFixed(Math.min(8, 1 - Math.floor(Math.log10(a)))) : USD.format(a);
      return `${n < 0 ? '-' : ''}$${s}`;
    }
    case 'integer':
      return NF0.format(Math.round(n));
    case 'minutes':
      return formatMinutes(n);
    default:
      return formatPlainNumber(n);
  }
}

function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${trimFixed(n / 1e9, 1)}B`;
  if (a >= 1e6) return `${trimFixed(n / 1e6, 1)}M`;
  if (a >= 1e4) return `${trimFixed(n / 1e3, 0)}k`;
  if (a >= 1e3) return `${trimFixed(n / 1e3, 1)}k`;
  return trimFixed(n, 2);
}

/**
 * A short value for an axis tick: "5 %", "1.5 s", "$12k", "2 h", "12k". `scaleMax`, the top of
 * the axis, keeps one unit along an axis (0.9 s, 1.2 s rather than 900 ms, 1.2 s).
 */
export function formatAxisValue(v: unknown, format?: string, scaleMax?: number): string {
  const n = toNumber(v);
  if (n == null) return v == null ? '' : String(v);
  const top = Math.abs(scaleMax ?? n);
  switch (format) {
    case 'percent':
      return `${trimFixed(n * 100, 2)} %`;
    case 'ms': {
      if (top < 1500) return `${trimFixed(n, 1)} ms`;
      // below 10 ms in seconds with its significant digits: a log axis's 1 ms tick is 0.001 s, not 0 s
      const sec = n / 1000;
      return `${Math.abs(sec) < 0.01 && sec !== 0 ? String(Number(sec.toPrecision(2))) : trimFixed(sec, 2)} s`;
    }
    case 'usd':
      return `${n < 0 ? '-' : ''}$${compact(Math.abs(n))}`;
    case 'minutes':
      return top >= 180 ? `${trimFixed(n / 60, 1)} h` : `${trimFixed(n, 1)} min`;
    default:
      return compact(n);
  }
}

// ---------------------------------------------------------------------------------------------
// HTML helpers

export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}


/** Said of a root-relative link (an app route) drawn without a base URL. */
const APP_ROUTE_NOTE = 'an app route: set dashboards.base_url in project.yaml (or --base-url) to link it';

/** A tile link's URL on this page: safe, and a root-relative one (an app route, /workspaces/42) under the base URL — undefined without one. */
function linkUrl(u: string, links: PageLinks): string | undefined {
  const url = safeUrl(u);
  if (url && url.startsWith('/') && !url.startsWith('//')) return links.app(url);
  return url;
}

/** A link's URL for a row; undefined when a field it needs is empty (NULL or ''): no link, as a drill-down has none. */
function fillTemplate(url: string, row: Record<string, unknown> | undefined): string | undefined {
  // one field: its value is the whole URL, linked only when it is an absolute http(s) one
  const lone = loneLinkField(url);
  if (lone) return absoluteHttpUrl(row?.[lone]);
  let empty = false;
  const filled = url.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, col: string) => {
    const v = row?.[col];
    const d = v instanceof Date ? formatDate(v) : v == null ? '' : String(v);
    if (d === '') empty = true;
    return encodeURIComponent(d);
  });
  return empty ? undefined : filled;
}

/** Why a row's link is its label as text: an empty field, no http(s) URL, or an app route without a base URL. */
function noLinkNote(url: string, row: Record<string, unknown>): string {
  const lone = loneLinkField(url);
  if (lone) return 'no http(s) URL in this row';
  const empty = [...url.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]).find((c) => row[c] == null || String(row[c]) === '');
  return empty ? `no ${empty} in this row` : APP_ROUTE_NOTE;
}

const hasTemplate = (url: string) => /\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/.test(url);

// ---------------------------------------------------------------------------------------------
// Fields

/** Whether a field holds dates: by its granularity, its format, or the declared type of its column. */
function datedField(f: CompiledField | undefined): boolean {
  return !!f && (!!f.granularity || f.format === 'date' || isDate(f.type) || isTimestamp(f.type));
}

/** How a table cell of the field is formatted: its format; a date in a date field; text as is in a text field ('00123' is not 123). */
function fieldFormat(f: CompiledField): string | undefined {
  if (datedField(f) && (!f.format || f.format === 'text')) return 'date';
  return f.format ?? (/char|text|string/i.test(f.type ?? '') ? 'text' : undefined);
}

/**
 * The tile with its fields' declared column types (ct.columnTypes): a dimension's, and that of a
 * measure that returns its column's values (none, min, max).
 */
function typedTile(ct: CompiledTile): CompiledTile {
  const types = ct.columnTypes;
  if (!types) return ct;
  const typeOf = (c: string) => types[c] ?? Object.entries(types).find(([k]) => k.toLowerCase() === c.toLowerCase())?.[1];
  const fields = ct.fields.map((f) => {
    const type = f.kind === 'dimension' || f.agg === 'none' || f.agg === 'min' || f.agg === 'max' ? typeOf(f.column) : undefined;
    return type ? { ...f, type } : f;
  });
  return { ...ct, fields };
}

interface Fields {
  dims: CompiledField[];
  measures: CompiledField[];
  x?: CompiledField;
  series?: CompiledField;
  y?: CompiledField;
}

function fieldsOf(ct: CompiledTile, rows: Array<Record<string, unknown>>): Fields {
  const dims = ct.fields.filter((f) => f.kind === 'dimension');
  let measures = ct.fields.filter((f) => f.kind === 'measure');
  if (measures.length === 0 && rows.length > 0) {
    // no declared measure: plot the numeric columns that are not dimensions
    const dimNames = new Set(dims.map((d) => d.name));
    measures = Object.keys(rows[0])
      .filter((k) => !dimNames.has(k) && rows.some((r) => toNumber(r[k]) != null))
      .map((k) => ({ name: k, label: k, kind: 'measure' as const, column: k }));
  }
  const x = dims.find((d) => d.role === 'x') ?? dims.find((d) => d.role !== 'series' && d.role !== 'y');
  const series = dims.find((d) => d.role === 'series' && d !== x);
  const y = dims.find((d) => d.role === 'y' && d !== x) ?? dims.find((d) => d !== x && d !== series) ?? series;
  return { dims, measures, x, series, y };
}

const ADDITIVE: ReadonlySet<Aggregation | undefined> = new Set<Aggregation | undefined>(['sum', 'count']);

interface Key {
  /** The value itself (dates as ISO times): what tells categories apart, as labels can repeat. */
  id: string;
  label: string;
  sort: number | string;
  kind: 'date' | 'number' | 'text';
}

/** The key of a NULL value: "(none)". */
const NONE_ID = '\u0000none';

function keyOf(v: unknown, f: CompiledField | undefined): Key {
  if (v == null) return { id: NONE_ID, label: '(none)', sort: '', kind: 'text' };
  // an empty text is a value of its own (its drill-down page is filtered to it): named, where a
  // blank label would leave its series without a legend entry (ECharts drops an unnamed one) and
  // its bar or slice without a name
  if (v === '') return { id: '', label: '(empty)', sort: '', kind: 'text' };
  // text is a date only in a date field: '2026-11-20' and '2026-11-20 00:00' of a varchar are two values
  const d = v instanceof Date ? v : typeof v === 'string' && datedField(f) ? toDate(v) : null;
  if (d) {
    // (an instant at the wall time of the session's zone, as its days are: labelled and marked so)
    const sort = wallZone && instantField(f) ? wallMs(d.getTime(), wallZone) : d.getTime();
    return { id: d instanceof PreciseTime ? d.iso : d.toISOString(), label: formatDateShort(sort === d.getTime() ? d : new Date(sort), f?.granularity), sort, kind: 'date' };
  }
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    return { id: String(v), label: f?.format && f.format !== 'text' ? formatValue(v, f.format) : String(v), sort: n, kind: 'number' };
  }
  return { id: String(v), label: String(v), sort: String(v), kind: 'text' };
}

/**
 * The period a date category stands for is not over at `at` (today, this week, this month):
 * its values are partial, and a chart says so instead of showing a drop. Only the last category
 * can be (a later one would lie in the future). Returns its index, or -1.
 */
function partialIndex(keys: Key[], f: CompiledField | undefined, read: ReadAt | undefined): number {
  // (the last date: "(none)" comes after the dates)
  const index = keys.length - (keys[keys.length - 1]?.id === NONE_ID ? 2 : 1);
  const last = keys[index];
  if (read === undefined || !last || last.kind !== 'date' || typeof last.sort !== 'number') return -1;
  // (compared as wall clocks of the session's zone: its days are the periods the SQL read; keyOf)
  const at = wallMs(read.ms, read.zone);
  const start = new Date(last.sort);
  // without a granularity only whole days count as periods (an hourly or raw-timestamp axis is not marked)
  if (!f?.granularity && last.sort % 86_400_000 !== 0) return -1;
  const end = new Date(start);
  if (f?.granularity === 'month') end.setUTCMonth(end.getUTCMonth() + 1);
  else end.setUTCDate(end.getUTCDate() + (f?.granularity === 'week' ? 7 : 1));
  return last.sort <= at && at < end.getTime() ? index : -1;
}

/** The day (its midnight) of a wall time (wallMs). */
const wallDay = (wall: number): Date => new Date(Math.floor(wall / 86_400_000) * 86_400_000);

/** A wall time (wallMs) with its zone: "14:20 UTC", "00:30 Europe/Berlin"; `day`: with its date, "2026-11-20 00:30 Europe/Berlin". */
function wallTime(wall: number, zone: string | undefined, day = false): string {
  const iso = new Date(wall).toISOString();
  return `${day ? `${iso.slice(0, 10)} ` : ''}${iso.slice(11, 16)} ${zone ?? 'UTC'}`;
}

/** The segment of a line into its partial point (`from` the point before it, by category index): shaded, dashed, labelled "partial". */
function partialBand(from: number, to: number, tag = 'partial'): Record<string, unknown> {
  return {
    type: 'line',
    data: [],
    silent: true,
    markArea: {
      silent: true,
      itemStyle: { color: 'rgba(148,163,184,0.16)', borderColor: '#94a3b8', borderWidth: 1, borderType: 'dashed' },
      label: { show: true, position: 'insideTop', color: MUTED, fontSize: 10, formatter: tag },
      data: [[{ xAxis: from }, { xAxis: to }]],
    },
  };
}

/** A bar or heatmap cell of a partial period: faded, with a dashed edge. */
const PARTIAL_ITEM = { opacity: 0.55, borderType: 'dashed', borderColor: '#64748b', borderWidth: 1 };

/** When a tile's rows were read: `ms` (the render's time, or --at), and whether that is a moment already gone (--at). */
export interface ReadAt {
  ms: number;
  past: boolean;
  /** the session's TimeZone when not UTC (TileData.zone): its days are the periods */
  zone?: string;
}

/** The period of `at`, marked on a date axis (partialIndex): its axis tag and its footer note. */
interface Mark {
  index: number;
  tag: string;
  note: string;
  /** a first period cut by its window: from when it is read ("from Oct 14") */
  from?: string;
}

/**
 * The last category when it is the period of `read` (partialIndex). On a column of type date
 * read `--at` a moment already gone, it is not "partial as of then": its rows are what the
 * table's build computed, perhaps with rows written after that moment (a date cannot be cut
 * at an hour). It is marked "as built" instead.
 */
function periodMark(keys: Key[], f: CompiledField | undefined, read: ReadAt | undefined): Mark | undefined {
  const index = partialIndex(keys, f, read);
  if (index < 0) return undefined;
  const label = periodLabel(keys[index], f);
  return read!.past && isDate(f?.type) ? { index, tag: 'as built', note: asBuiltNote(label, read!.ms, read!.zone) } : { index, tag: 'partial', note: `${label} is partial: data as of ${wallTime(wallMs(read!.ms, read!.zone), read!.zone, true)}` };
}

/** A period said in a footer: a week by its first day, "Nov 2 week" (a month's label says it is one: "Nov 2026"). */
const periodLabel = (k: Key, f: CompiledField | undefined): string => (f?.granularity === 'week' ? `${k.label} week` : k.label);

/**
 * The first category when its period starts before the window the tile reads its column from
 * (CompiledTile.windowFrom, as evaluated at `read`): a week, a month or a day cut by the window's
 * start holds only its end, and reads as a dip. Marked "partial", its footer says from when.
 */
function firstMark(keys: Key[], f: CompiledField | undefined, ct: CompiledTile, read: ReadAt | undefined): Mark | undefined {
  const first = keys[0];
  if (read === undefined || !f || !first || first.kind !== 'date' || typeof first.sort !== 'number') return undefined;
  // (as partialIndex: without a granularity only whole days are periods)
  if (!f.granularity && first.sort % 86_400_000 !== 0) return undefined;
  const type = f.type ?? ct.columnTypes?.[f.column];
  const starts = (ct.windowFrom ?? []).filter((w) => w.column === f.column).map((w) => windowStartMs(w, read.ms, type, read.zone)).filter((x) => x !== undefined);
  if (starts.length === 0) return undefined;
  const from = Math.max(...starts);
  if (first.sort >= from) return undefined;
  const d = new Date(from);
  const since = `from ${formatDateShort(d)}${isMidnight(d) ? '' : ` ${read.zone ?? 'UTC'}`}`;
  return { index: 0, tag: 'partial', note: `${periodLabel(first, f)} is partial: ${since}`, from: since };
}

/**
 * The partial periods of a date axis: its first (firstMark) and its last (periodMark). A single
 * category that is both gets one mark: the last's tag, both notes in one.
 */
function periodMarks(keys: Key[], f: CompiledField | undefined, ct: CompiledTile, read: ReadAt | undefined): Mark[] {
  const first = firstMark(keys, f, ct, read);
  const last = periodMark(keys, f, read);
  if (first && last && first.index === last.index) {
    const from = first.from!;
    return [{ ...last, note: last.tag === 'partial' ? last.note.replace(' is partial: ', ` is partial: ${from}, `) : `${last.note}; ${from}` }];
  }
  return [first, last].filter((m) => m !== undefined);
}

/** The period `label` (holding `at`) as a table of dates holds it, said: "Dec 5 as built: daily rows, not cut at 20:00 UTC" (the time in the session's `zone`). */
function asBuiltNote(label: string, at: number, zone?: string): string {
  const wall = wallMs(at, zone);
  // the time alone when the label is the day of `at`
  const when = wallTime(wall, zone, label !== formatDateShort(wallDay(wall)));
  return `${label} as built: daily rows, not cut at ${when}`;
}

/** Distinct values of a column, by value (two days a year apart are two categories): in the order
 * of the rows when the tile has a sort (dates are always chronological), else chronological,
 * numeric or alphabetical. Dates are labelled by dateLabels. */
function distinctKeys(rows: Array<Record<string, unknown>>, f: CompiledField | undefined, keepRowOrder: boolean): Key[] {
  const seen = new Map<string, Key>();
  for (const r of rows) {
    const k = keyOf(f ? r[f.name] : undefined, f);
    if (!seen.has(k.id)) seen.set(k.id, k);
  }
  const keys = [...seen.values()];
  const dates = keys.filter((k) => k.kind === 'date');
  const labels = dateLabels(dates.map((k) => new Date(k.sort as number)), f?.granularity);
  dates.forEach((k, i) => (k.label = labels[i]));
  // dates or numbers in their order, "(none)" after them (as SQL sorts NULLs last), not all by label
  const values = keys.filter((k) => k.id !== NONE_ID);
  const same = values.length > 0 && values.every((k) => k.kind === values[0].kind);
  if (same && values[0].kind !== 'text' && (!keepRowOrder || values[0].kind === 'date')) return [...values.sort((a, b) => (a.sort as number) - (b.sort as number)), ...keys.filter((k) => k.id === NONE_ID)];
  // without a sort of its own a tile's rows come in any order (row-level tiles have no order by)
  else if (!keepRowOrder) keys.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return keys;
}

/** A row's key among `keys` (from distinctKeys: labelled as they are drawn). */
function keyIn(keys: Map<string, Key>, r: Record<string, unknown>, f: CompiledField | undefined): Key {
  const k = keyOf(f ? r[f.name] : undefined, f);
  return keys.get(k.id) ?? k;
}

const byId = (keys: Key[]) => new Map(keys.map((k) => [k.id, k]));

// ---------------------------------------------------------------------------------------------
// ECharts

/**
 * Set while tileHtml asks a chart only for its notes (to size the chart before drawing it once):
 * renderSvg then draws nothing. The chart functions are synchronous, so nothing else runs meanwhile.
 */
let notesOnly = false;

/**
 * The TimeZone of the session a chart's rows were read in (TileData.zone), set while tileHtml
 * draws it: keyOf puts its instants at their wall time there, the days its SQL read them in.
 */
let wallZone: string | undefined;

function renderSvg(option: EChartsCoreOption, width: number, height: number, idPrefix: string): string {
  if (notesOnly) return '';
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(option);
    // zrender's SVG gives every element that is not silent a :hover fill lifted from its own: of a
    // gradient (the heatmap's colour scale) an object, written as "fill:[object Object]". Nothing
    // is hovered in a drawn SVG: such elements are made silent (pointer-events:none).
    const storage = (chart.getZr() as unknown as { storage: { getDisplayList(update?: boolean): Array<{ silent: boolean; style?: { fill?: unknown } }> } }).storage;
    for (const el of storage.getDisplayList(true)) if (el.style?.fill && typeof el.style.fill === 'object') el.silent = true;
    const svg = strokeHitsOnly(chart.renderToSVGString());
    // ids/classes are numbered by a process-wide counter: rename them per tile
    const m = /(?:id|class)="(zr\d+)-/.exec(svg);
    if (!m) return svg;
    // renumber per kind (c0, g3, cls-17...) by first appearance: class numbers are global too
    const next = new Map<string, number>();
    const seen = new Map<string, string>();
    const re = new RegExp(`(["#. ])${m[1]}-(cls-|[a-z]+)(\\d+)`, 'g');
    return svg.replace(re, (_all, before: string, kind: string, n: string) => {
      const key = kind + n;
      let id = seen.get(key);
      if (id == null) {
        const i = next.get(kind) ?? 0;
        next.set(kind, i + 1);
        seen.set(key, (id = `${idPrefix}-${kind}${i}`));
      }
      return before + id;
    });
  } finally {
    chart.dispose();
  }
}

/**
 * zrender's SSR output gives every shape drawn without a fill `pointer-events="visible"`, which
 * makes it catch clicks across the whole region its outline encloses: a line series' path (a
 * stacked area's edge) would then take the clicks inside the bands below it, and open another
 * series' drill-down. A stroke-only shape is hit on its stroke here, as on ECharts' canvas; but
 * for the legend items' hit boxes (fill="none" rectangles meant to be clicked anywhere).
 */
function strokeHitsOnly(svg: string): string {
  return svg.replace(/<(?:path|rect|circle|ellipse|polygon|polyline)\b[^>]*>/g, (tag) =>
    tag.includes(' pointer-events="visible"') && tag.includes(' fill="none"') && !tag.includes(' ecmeta_ssr_type="legend"')
      ? tag.replace(' pointer-events="visible"', ' pointer-events="visibleStroke"')
      : tag,
  );
}

function baseOption(): EChartsCoreOption {
  return {
    animation: false,
    backgroundColor: 'transparent',
    color: PALETTE,
    textStyle: { fontFamily: CHART_FONT, color: TEXT, fontSize: 12 },
  };
}

const approxTextWidth = (s: string, size: number) => s.length * size * 0.54;
/** approxTextWidth a little wide, for text that must fit (a footer's words, a legend's names): capitals and digits are wider than the average. */
const wideTextWidth = (s: string, size: number) => approxTextWidth(s, size) * 1.1;

/**
 * `s` cut with '…' to about `room` px at `size` (a legend item's name: one longer than its tile is
 * wide would run past the tile's edges, cut there with its color and share).
 */
function fitText(s: string, room: number, size: number): string {
  if (wideTextWidth(s, size) <= room) return s;
  const chars = [...s];
  while (chars.length > 1 && wideTextWidth(`${chars.join('')}…`, size) > room) chars.pop();
  return `${chars.join('').trimEnd()}…`;
}

/** A legend across the top; returns its option and the height it takes. */
function topLegend(names: string[], width: number, evenOne = false): { legend: Record<string, unknown>; height: number } {
  if (names.length === 0 || (names.length === 1 && !evenOne)) return { legend: { show: false }, height: 0 };
  // a name wider than the tile is cut with '…' to a row of its own (else it ran past the tile's edge)
  const room = Math.max(40, width - 16 - 14 - 5 - 14);
  const itemW = (n: string) => 14 + 5 + Math.min(wideTextWidth(n, 11), room) + 14;
  let rows = 1;
  let line = 0;
  for (const n of names) {
    const w = itemW(n);
    if (line > 0 && line + w > width - 16) {
      rows++;
      line = 0;
    }
    line += w;
  }
  return {
    legend: { show: true, type: 'plain', top: 0, left: 0, right: 0, itemWidth: 14, itemHeight: 8, itemGap: 14, icon: 'roundRect', textStyle: { fontSize: 11, color: TEXT }, formatter: (n: string) => fitText(n, room, 11), data: names },
    // rows of 12 px with ECharts' itemGap (14) between them: from 3 rows on, more than 20 px a row
    height: Math.max(rows * 20 + 4, rows * 26 - 14 + 8),
  };
}

/** A value axis; `top` is about the largest value drawn on it (for the unit of its labels). */
function valueAxis(format: string | undefined, top: number | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const integer = format === 'integer';
  return {
    type: 'value',
    ...(integer ? { minInterval: 1 } : {}),
    axisLabel: { color: MUTED, fontSize: 11, formatter: (v: number) => formatAxisValue(v, format, top) },
    splitLine: { lineStyle: { color: SPLIT } },
    axisLine: { show: false },
    axisTick: { show: false },
    ...extra,
  };
}

/**
 * A category axis. Along x (`span` = the plot's width), up to 24 text categories all get a label,
 * truncated to their slot (tilted when the slots are narrow); dates and longer lists are thinned
 * by ECharts, but for the last when `keepLast`.
 */
function categoryAxis(labels: string[], extra: Record<string, unknown> = {}, span?: number, keys?: Key[], keepLast = false, keepFirst = false): Record<string, unknown> {
  let axisLabel: Record<string, unknown> = { color: MUTED, fontSize: 11, hideOverlap: true, width: 150, overflow: 'truncate' };
  if (span != null && keys && keys.every((k) => k.kind === 'text') && labels.length <= 24) {
    const slot = span / Math.max(1, labels.length);
    // Arial's lowercase letters are about half an em wide
    const longest = Math.max(...labels.map((l) => l.length * 11 * 0.5));
    axisLabel =
      longest <= slot - 4 || slot >= 80
        ? { ...axisLabel, interval: 0, hideOverlap: false, width: slot - 2 }
        : { ...axisLabel, interval: 0, hideOverlap: false, rotate: 30, width: 110 };
  }
  // (the last label kept when ECharts thins the others out: a partial period's)
  if (keepLast) axisLabel = { ...axisLabel, showMaxLabel: true };
  // (and the first: a period the window starts in the middle of)
  if (keepFirst) axisLabel = { ...axisLabel, showMinLabel: true };
  return {
    type: 'category',
    data: labels,
    axisLabel,
    axisLine: { lineStyle: { color: AXIS } },
    axisTick: { show: false },
    ...extra,
  };
}


interface ChartResult {
  svg: string;
  /** Shown under the chart (what a box shows, series left out). */
  notes: string[];
  /** Where a click on the chart goes (drill-downs): see ClickMap. */
  clicks?: ClickMap;
}

/**
 * Where a click on a drawn chart leads, read by the page's script from the tile's data-drill
 * attribute. ECharts' SSR output marks data items and legend items with ecmeta_series_index and
 * ecmeta_data_index; areas and lines are marked here with data-s (their series). `s`: by series
 * index; `c`: by data (category) index; `p`: by "series:data"; `l`: by legend item (a donut's
 * slices), else the legend follows `s`. null: nothing to open (e.g. "Other").
 */
export interface ClickMap {
  s?: Array<string | null>;
  c?: Array<string | null>;
  p?: Record<string, string>;
  l?: Array<string | null>;
}

/** The page a click on a row's point opens (a drill-down), or undefined. */
type HrefOf = (row: Record<string, unknown>) => string | undefined;

/** The fields a drill-down's values take from the row. */
function drillFields(ct: CompiledTile): string[] {
  const out: string[] = [];
  for (const tpl of Object.values(ct.tile.drilldown?.filters ?? {})) for (const m of tpl.matchAll(/\{\{\s*([A-Za-z_]\w*)\s*\}\}/g)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}

/**
 * Marks the paths drawn in a series' (unique) color — areas, lines — with data-s="<series index>".
 * `fillsOnly` (area charts): the areas alone. An area's edge line runs along the band above it,
 * half its width inside it: a click there is on that band (the page's script looks under an
 * unmarked element for a marked one), not on the series below.
 */
function markSeriesPaths(svg: string, colors: Array<string | undefined>, fillsOnly = false): string {
  const index = new Map<string, number>();
  const dup = new Set<string>();
  colors.forEach((c, i) => {
    if (!c) return;
    const k = c.toLowerCase();
    if (index.has(k)) dup.add(k);
    else index.set(k, i);
  });
  for (const k of dup) index.delete(k);
  return svg.replace(/<path\b([^>]*?)(\/?)>/g, (all, attrs: string, slash: string) => {
    if (attrs.includes('ecmeta_')) return all;
    const fill = /\sfill="([^"]+)"/.exec(attrs)?.[1]?.toLowerCase();
    const stroke = /\sstroke="([^"]+)"/.exec(attrs)?.[1]?.toLowerCase();
    const i = fill && fill !== 'none' ? index.get(fill) : stroke && !fillsOnly ? index.get(stroke) : undefined;
    return i === undefined ? all : `<path${attrs} data-s="${i}"${slash}>`;
  });
}

interface Series {
  name: string;
  data: Array<number | null>;
  measure: CompiledField;
  total: number;
  /** The series dimension's value (its Key id), when the series are values of a dimension. */
  key?: string;
}

/** line / area / bar: categories on x, one series per measure, or per value of the series
 * dimension (x per measure). */
function cartesianSeries(ct: CompiledTile, rows: Array<Record<string, unknown>>, f: Fields, stackedZeroes: boolean) {
  const keepOrder = ct.tile.sort.length > 0;
  const cats: Key[] = f.x ? distinctKeys(rows, f.x, keepOrder) : [{ id: 'Total', label: 'Total', sort: 0, kind: 'text' }];
  const catIndex = new Map(cats.map((c, i) => [c.id, i]));
  const seriesKeys = byId(f.series ? distinctKeys(rows, f.series, true) : []);
  // by value, not label: categories (and series) whose labels match are still apart
  const byKey = new Map<string, Series>();
  const order: string[] = [];
  for (const r of rows) {
    const ci = f.x ? catIndex.get(keyOf(r[f.x.name], f.x).id)! : 0;
    const sk = f.series ? keyIn(seriesKeys, r, f.series) : undefined;
    for (const m of f.measures) {
      const name = sk ? (f.measures.length > 1 ? `${sk.label} · ${m.label}` : sk.label) : m.label;
      const id = `${sk?.id ?? ''}\u0000${m.name}`;
      let s = byKey.get(id);
      if (!s) {
        s = { name, data: cats.map(() => null), measure: m, total: 0, key: sk?.id };
        byKey.set(id, s);
        order.push(id);
      }
      const v = toNumber(r[m.name]);
      if (v == null) continue;
      const prev = s.data[ci];
      s.data[ci] = prev != null && ADDITIVE.has(m.agg) ? prev + v : v;
    }
  }
  let series = order.map((n) => byKey.get(n)!);
  for (const s of series) s.total = s.data.reduce<number>((a, v) => a + Math.abs(v ?? 0), 0);
  const notes: string[] = [];
  if (f.series) {
    series.sort((a, b) => b.total - a.total || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (series.length > MAX_SERIES) {
      const kept = series.slice(0, MAX_SERIES - 1);
      const rest = series.slice(MAX_SERIES - 1);
      if (f.measures.length === 1 && ADDITIVE.has(f.measures[0].agg)) {
        const other: Series = { name: 'Other', data: cats.map((_, i) => rest.reduce<number | null>((a, s) => (s.data[i] == null ? a : (a ?? 0) + (s.data[i] as number)), null)), measure: f.measures[0], total: 0 };
        series = [...kept, other];
        notes.push(`“Other” sums ${rest.length} smaller series`);
      } else {
        series = series.slice(0, MAX_SERIES);
        notes.push(`showing the ${MAX_SERIES} largest of ${order.length} series`);
      }
    }
  }
  if (stackedZeroes) for (const s of series) s.data = s.data.map((v) => v ?? 0);
  return { cats, series, notes };
}

function markers(ct: CompiledTile, format: string | undefined, axis: 'xAxis' | 'yAxis', top?: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const band = ct.tile.target_band;
  if (band) {
    const label = band.label ?? `target ${formatAxisValue(band.min, format, top)}–${formatAxisValue(band.max, format, top)}`;
    out.markArea = {
      silent: true,
      itemStyle: { color: 'rgba(89, 161, 79, 0.13)' },
      label: { show: true, position: axis === 'yAxis' ? 'insideTopLeft' : 'insideTop', color: '#3b7a33', fontSize: 11, formatter: () => label },
      data: [[{ [axis]: band.min }, { [axis]: band.max }]],
    };
  }
  const th = ct.tile.thresholds;
  if (th.length) {
    out.markLine = {
      silent: true,
      symbol: 'none',
      data: th.map((t) => {
        const color = safeColor(t.color) ?? BAD;
        const text = t.label ? `${t.label} (${formatAxisValue(t.value, format, top)})` : formatAxisValue(t.value, format, top);
        return { [axis]: t.value, lineStyle: { color, type: 'dashed', width: 1.5 }, label: { formatter: () => text, position: axis === 'yAxis' ? 'insideEndTop' : 'insideEndBottom', color, fontSize: 11 } };
      }),
    };
  }
  return out;
}

/** The value axis must reach the target band and the thresholds, or they are not drawn. */
function axisMaxFor(ct: CompiledTile, series: Series[], stacked: boolean): number | undefined {
  if (!ct.tile.thresholds.length && !ct.tile.target_band) return undefined;
  let dataMax = 0;
  const n = series[0]?.data.length ?? 0;
  for (let i = 0; i < n; i++) {
    if (stacked) dataMax = Math.max(dataMax, series.reduce((a, s) => a + Math.max(0, s.data[i] ?? 0), 0));
    else for (const s of series) dataMax = Math.max(dataMax, s.data[i] ?? 0);
  }
  return reachMarks(ct, dataMax);
}

/** The values a tile marks on its value axis: its thresholds and the top of its target band. */
const marksOf = (ct: CompiledTile): number[] => [...ct.tile.thresholds.map((t) => t.value), ...(ct.tile.target_band ? [ct.tile.target_band.max] : [])];

/** An axis end above `dataMax` that reaches the tile's highest mark (threshold, target band), rounded; undefined when the data reaches it. */
function reachMarks(ct: CompiledTile, dataMax: number): number | undefined {
  const marks = marksOf(ct);
  if (marks.length === 0) return undefined;
  const m = maxOf(marks);
  return m > dataMax ? niceCeil(m * 1.1) : undefined;
}

/** The tile's own color for a category or series (`colors`), when it sets one. */
function fixedColor(ct: CompiledTile, name: string): string | undefined {
  return safeColor(ct.tile.colors?.[name]);
}

/**
 * `bands`: the area between each line and the next, shaded in the upper line's color (P50–P90,
 * P90–P99). Each band is two stacked, invisible lines — the lower one, then the difference —
 * with the area drawn under the second only; they are not in the legend.
 */
function bandSeries(lines: Array<Record<string, unknown>>, series: Series[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i + 1 < series.length; i++) {
    const lower = series[i].data;
    const upper = series[i + 1].data;
    const color = (lines[i + 1].color as string | undefined) ?? PALETTE[(i + 1) % PALETTE.length];
    const common = { type: 'line', stack: `band${i}`, showSymbol: false, silent: true, lineStyle: { opacity: 0 }, emphasis: { disabled: true }, yAxisIndex: 0, z: 1 };
    out.push({ ...common, name: `band ${i} base`, data: lower.map((v, k) => (v == null || upper[k] == null ? null : v)) });
    out.push({ ...common, name: `band ${i}`, data: lower.map((v, k) => (v == null || upper[k] == null ? null : Math.max(0, (upper[k] as number) - v))), areaStyle: { color, opacity: 0.16 } });
  }
  return out;
}

function lineAreaBar(ct: CompiledTile, rows: Array<Record<string, unknown>>, w: number, h: number, id: string, at: ReadAt | undefined, hrefOf: HrefOf | undefined, colors: CategoryColors): ChartResult {
  const type = ct.tile.type;
  const f = fieldsOf(ct, rows);
  const stacked = !!ct.tile.stacked && (type === 'area' || type === 'bar');
  const { cats, series, notes } = cartesianSeries(ct, rows, f, stacked);
  const horizontal = type === 'bar' && cats.length > 0 && cats.every((c) => c.kind === 'text') && f.x != null;
  // the period still running at render time is not read as a drop, nor the first one when the
  // window starts in its middle: its axis label says "partial", a line's segment into it (out of
  // it, for the first) is shaded, a bar in it is drawn faded with a dashed edge
  const marks = periodMarks(cats, f.x, ct, at);
  const tagAt = new Map(marks.map((m) => [m.index, m.tag]));
  // up to two value axes, by format (e.g. a count and a rate)
  const formats: Array<string | undefined> = [];
  for (const s of series) if (!formats.includes(s.measure.format)) formats.push(s.measure.format);
  const dual = formats.length > 1 && !horizontal;
  const axisOf = (s: Series) => (dual && s.measure.format === formats[1] ? 1 : 0);
  // a legend whenever the series are values of a dimension, even one (which value is it?)
  const { legend, height: legendH } = topLegend(
    series.map((s) => s.name),
    w,
    !!f.series,
  );
  const max = axisMaxFor(ct, series, stacked);
  const manyPoints = cats.length > 24;
  const tops = (horizontal ? [formats[0]] : dual ? formats.slice(0, 2) : [formats[0]]).map((fmt, i) => {
    const on = series.filter((s) => axisOf(s) === i || horizontal);
    let top = 0;
    for (let c = 0; c < cats.length; c++) {
      if (stacked) top = Math.max(top, on.reduce((a, s) => a + Math.max(0, s.data[c] ?? 0), 0));
      else for (const s of on) top = Math.max(top, Math.abs(s.data[c] ?? 0));
    }
    return { fmt, top: i === 0 && max != null ? max : top };
  });
  // series from a series dimension (capabilities, providers...) keep their color on every page and across renders
  // (names new to the book are given theirs in name order, not in the order of their values)
  if (f.series) colors.assign(series.filter((s) => !fixedColor(ct, s.name)).map((s) => [f.series!.column, s.name]));
  const colorOf = series.map((s) => fixedColor(ct, s.name) ?? (f.series ? colors.color(f.series.column, s.name) : s.name === 'Other' ? OTHER_COLOR : undefined));
  const es = series.map((s, i) => {
    const base: Record<string, unknown> = {
      name: s.name,
      type: type === 'bar' ? 'bar' : 'line',
      data: s.data,
      yAxisIndex: horizontal ? undefined : axisOf(s),
      emphasis: { disabled: true },
    };
    const color = colorOf[i];
    if (color) Object.assign(base, { color, itemStyle: { color } });
    if (stacked) base.stack = 'total';
    if (type === 'bar') {
      Object.assign(base, { barMaxWidth: 28, barCategoryGap: '30%' });
      if (horizontal && series.length === 1) base.label = { show: true, position: 'right', color: TEXT, fontSize: 11, formatter: (p: { value: unknown }) => formatValue(p.value, s.measure.format) };
    } else {
      Object.assign(base, { showSymbol: !manyPoints && !stacked, symbolSize: 5, lineStyle: { width: type === 'area' && stacked ? 1 : 2 }, connectNulls: false });
      if (type === 'area') base.areaStyle = { opacity: stacked ? 0.78 : 0.18 };
    }
    if (i === 0) Object.assign(base, markers(ct, s.measure.format, horizontal ? 'xAxis' : 'yAxis', tops[0].top));
    return base;
  });
  const catAxis = categoryAxis(
    cats.map((c, i) => (tagAt.has(i) ? `${c.label}${horizontal ? ' ' : '\n'}(${tagAt.get(i)})` : c.label)),
    horizontal ? { inverse: true, axisLine: { show: false } } : { boundaryGap: type === 'bar' },
    horizontal ? undefined : w - 60 * (dual ? 2 : 1),
    cats,
    tagAt.has(cats.length - 1),
    tagAt.has(0),
  );
  const valAxes = tops.map(({ fmt, top }, i) =>
    valueAxis(fmt, top, { ...(i === 0 && max != null ? { max } : {}), ...(i === 1 ? { splitLine: { show: false } } : {}) }),
  );
  if (ct.tile.bands && type === 'line') es.push(...bandSeries(es, series));
  if (type === 'bar' && marks.length) for (const x of es) x.data = (x.data as Array<number | null>).map((v, i) => (tagAt.has(i) ? { value: v, itemStyle: PARTIAL_ITEM } : v));
  const bands = new Set<number>();
  for (const m of marks) {
    // the segment into the last period, out of the first (one band when they are the same)
    const from = m.index > 0 ? m.index - 1 : 0;
    if (type !== 'bar' && from + 1 < cats.length && !bands.has(from)) {
      bands.add(from);
      es.push({ ...partialBand(from, from + 1, m.tag), yAxisIndex: 0 });
    }
    notes.push(m.note);
  }
  const option: EChartsCoreOption = {
    ...baseOption(),
    legend,
    // (room for the second line of a "(partial)" axis label)
    grid: { left: 4, right: horizontal && series.length === 1 ? 56 : 12, top: legendH + 10, bottom: marks.length && !horizontal ? 16 : 4 },
    xAxis: horizontal ? valAxes[0] : catAxis,
    yAxis: horizontal ? catAxis : valAxes,
    series: es,
  };
  let svg = renderSvg(option, w, h, id);
  let clicks: ClickMap | undefined;
  if (hrefOf) {
    // what a click on a series, a category or a point opens: by the fields the drill-down reads
    const need = drillFields(ct);
    const onlyOf = (names: Array<string | undefined>) => need.length > 0 && need.every((n) => names.includes(n));
    const hrefBy = (key: (r: Record<string, unknown>) => string) => {
      const m = new Map<string, string>();
      for (const r of rows) {
        const k = key(r);
        if (m.has(k)) continue;
        const href = hrefOf(r);
        if (href) m.set(k, href);
      }
      return m;
    };
    const xKey = (r: Record<string, unknown>) => (f.x ? keyOf(r[f.x.name], f.x).id : 'Total');
    const sKey = (r: Record<string, unknown>) => (f.series ? keyOf(r[f.series.name], f.series).id : '');
    if (f.series && onlyOf([f.series.name])) {
      const by = hrefBy(sKey);
      clicks = { s: series.map((x) => (x.key !== undefined ? (by.get(x.key) ?? null) : null)) };
      // areas and lines carry no ECharts metadata: marked by their series' color
      svg = markSeriesPaths(svg, colorOf, type === 'area');
    } else if (onlyOf([f.x?.name])) {
      const by = hrefBy(xKey);
      clicks = { c: cats.map((c) => by.get(c.id) ?? null) };
    } else if (f.x && f.series && onlyOf([f.x.name, f.series.name])) {
      const by = hrefBy((r) => `${sKey(r)}\u0000${xKey(r)}`);
      const p: Record<string, string> = {};
      series.forEach((x, si) => cats.forEach((c, ci) => {
        const href = x.key !== undefined ? by.get(`${x.key}\u0000${c.id}`) : undefined;
        if (href) p[`${si}:${ci}`] = href;
      }));
      clicks = { p };
    }
  }
  return { svg, notes, clicks };
}

function donut(ct: CompiledTile, rows: Array<Record<string, unknown>>, w: number, h: number, id: string, _at: ReadAt | undefined, hrefOf: HrefOf | undefined, colors: CategoryColors): ChartResult {
  const f = fieldsOf(ct, rows);
  const dim = f.x ?? f.dims[0];
  const m = f.measures[0];
  const keys = byId(dim ? distinctKeys(rows, dim, true) : []);
  let items = rows
    .map((r) => ({ name: dim ? keyIn(keys, r, dim).label : m.label, value: toNumber(r[m.name]) ?? 0 }))
    .filter((d) => d.value > 0);
  items.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
  const notes: string[] = [];
  if (items.length > 8) {
    const rest = items.slice(7);
    items = [...items.slice(0, 7), { name: 'Other', value: rest.reduce((a, d) => a + d.value, 0) }];
    notes.push(`“Other” sums ${rest.length} smaller slices`);
  }
  const total = items.reduce((a, d) => a + d.value, 0);
  const share = (v: number) => (total > 0 ? `${((v / total) * 100).toFixed(1)} %` : '');
  // a wide tile: the ring left, the legend right; else the legend under the ring
  const wide = w >= h * 1.3;
  const areaW = wide ? w * 0.55 : w;
  // an item's name is cut with '…' to what its row leaves beside its icon and share (else a long
  // one ran past the tile's edges); under the ring, the items wrap in rows of the tile's width
  const nameRoom = (v: number) => (wide ? w - (areaW / 2 + (Math.min(areaW, h) / 2) * 0.86 + 24) - 12 - 5 - 4 : w - 16 - 10 - 5 - 4) - wideTextWidth(`   ${share(v)}`, wide ? 12 : 11);
  const legendName = new Map(items.map((d) => [d.name, fitText(d.name, Math.max(24, nameRoom(d.value)), wide ? 12 : 11)]));
  let legendRows = 0;
  if (!wide) {
    let line = 0;
    for (const d of items) {
      const iw = 10 + 5 + wideTextWidth(`${legendName.get(d.name)}   ${share(d.value)}`, 11) + 16;
      if (line === 0 || line + iw > w - 16) {
        legendRows++;
        line = 0;
      }
      line += iw;
    }
  }
  // ECharts puts its itemGap (16) between the rows of 12 px: 28 px a row (else from 3 rows on the legend lay over the ring)
  const areaH = wide ? h : h - Math.max(20 * legendRows, 28 * legendRows - 16) - 8;
  // ECharts' radius ['45%', '70%'] of the area's smaller side, a little larger
  const r = (Math.min(areaW, areaH) / 2) * 0.86;
  const cx = wide ? areaW / 2 : w / 2;
  const cy = areaH / 2;
  colors.assign(items.filter((d) => !fixedColor(ct, d.name)).map((d) => [dim?.column ?? '', d.name]));
  const sliceColor = new Map(items.map((d) => [d.name, fixedColor(ct, d.name) ?? colors.color(dim?.column ?? '', d.name)]));
  const legendText = (name: string) => {
    const it = items.find((d) => d.name === name);
    return it ? `${legendName.get(name) ?? name}   ${share(it.value)}` : name;
  };
  const option: EChartsCoreOption = {
    ...baseOption(),
    legend: wide
      ? { orient: 'vertical', left: cx + r + 24, top: 'middle', itemWidth: 12, itemHeight: 12, itemGap: 10, icon: 'circle', textStyle: { fontSize: 12, color: TEXT }, formatter: legendText }
      : { orient: 'horizontal', bottom: 0, left: 'center', width: w - 16, itemWidth: 10, itemHeight: 10, itemGap: 16, icon: 'circle', textStyle: { fontSize: 11, color: TEXT }, formatter: legendText },
    title: {
      text: formatValue(total, m.format === 'percent' ? undefined : m.format),
      subtext: m.label,
      left: cx,
      top: cy - 22,
      textAlign: 'center',
      itemGap: 4,
      textStyle: { fontSize: 18, fontWeight: 'bold', color: TEXT },
      subtextStyle: { fontSize: 11, color: MUTED, width: r * 0.8, overflow: 'truncate' },
    },
    series: [
      {
        type: 'pie',
        radius: [r * (45 / 70), r],
        center: [cx, cy],
        data: items.map((d) => ({ ...d, itemStyle: { color: sliceColor.get(d.name) } })),
        label: { show: false },
        labelLine: { show: false },
        itemStyle: { borderColor: '#fff', borderWidth: 2 },
        emphasis: { disabled: true },
      },
    ],
  };
  let clicks: ClickMap | undefined;
  if (hrefOf && dim && drillFields(ct).every((n) => n === dim.name) && drillFields(ct).length) {
    const by = new Map<string, string>();
    for (const r of rows) {
      const k = keyIn(keys, r, dim).label;
      const href = by.has(k) ? undefined : hrefOf(r);
      if (href) by.set(k, href);
    }
    const l = items.map((d) => by.get(d.name) ?? null);
    clicks = { l, p: Object.fromEntries(l.flatMap((href, i) => (href ? [[`0:${i}`, href]] : []))) };
  }
  return { svg: renderSvg(option, w, h, id), notes, clicks };
}

function heatmap(ct: CompiledTile, rows: Array<Record<string, unknown>>, w: number, h: number, id: string, at?: ReadAt, hrefOf?: HrefOf): ChartResult {
  const f = fieldsOf(ct, rows);
  const m = f.measures[0];
  const xs = distinctKeys(rows, f.x, ct.tile.sort.length > 0);
  let ys = distinctKeys(rows, f.y, ct.tile.sort.length > 0);
  const data: Array<[number, number, number]> = [];
  /** the row of each cell */
  const cellRows: Array<Record<string, unknown>> = [];
  const xi = new Map(xs.map((k, i) => [k.id, i]));
  if (ys.every((k) => k.kind === 'text') && ct.tile.sort.length === 0) {
    // strings: the largest totals first
    const totals = new Map<string, number>();
    for (const r of rows) {
      const k = keyOf(f.y ? r[f.y.name] : undefined, f.y).id;
      totals.set(k, (totals.get(k) ?? 0) + (toNumber(r[m.name]) ?? 0));
    }
    ys = [...ys].sort((a, b) => (totals.get(b.id) ?? 0) - (totals.get(a.id) ?? 0) || (a.label < b.label ? -1 : 1));
  }
  const yi = new Map(ys.map((k, i) => [k.id, i]));
  let min = Infinity;
  let max = -Infinity;
  for (const r of rows) {
    const v = toNumber(r[m.name]);
    if (v == null) continue;
    data.push([xi.get(keyOf(f.x ? r[f.x.name] : undefined, f.x).id)!, yi.get(keyOf(f.y ? r[f.y.name] : undefined, f.y).id)!, v]);
    cellRows.push(r);
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  if (!Number.isFinite(min)) (min = 0), (max = 1);
  if (max === min) max = min + (min === 0 ? 1 : Math.abs(min));
  const gridTop = 6;
  const gridBottom = 58;
  const cellH = (h - gridTop - gridBottom - 20) / Math.max(1, ys.length);
  const cellW = (w - 140) / Math.max(1, xs.length);
  const showLabels = cellH >= 16 && cellW >= 34 && data.length <= 200;
  const cellText = cellLabels(data.map((v) => v[2]), m.format, cellW);
  // a warm scale where lower is better (risk, errors): its darkest cells are the bad ones
  const warm = m.better === 'lower';
  // the period still running at render time (its column, or its row when the dates are the rows, is marked, not read as a drop)
  const marksX = periodMarks(xs, f.x, ct, at);
  const marksY = periodMarks(ys, f.y, ct, at);
  const tagX = new Map(marksX.map((m) => [m.index, m.tag]));
  const tagY = new Map(marksY.map((m) => [m.index, m.tag]));
  const option: EChartsCoreOption = {
    ...baseOption(),
    grid: { left: 4, right: 8, top: gridTop, bottom: gridBottom },
    // (a partial period's label is kept when the others are thinned out)
    xAxis: categoryAxis(
      xs.map((k, i) => (tagX.has(i) ? `${k.label}\n(${tagX.get(i)})` : k.label)),
      { splitArea: { show: false } },
      w - 120,
      xs,
      tagX.has(xs.length - 1),
      tagX.has(0),
    ),
    yAxis: categoryAxis(
      ys.map((k, i) => (tagY.has(i) ? `${k.label} (${tagY.get(i)})` : k.label)),
      { inverse: true, axisLine: { show: false } },
      undefined,
      undefined,
      tagY.has(ys.length - 1),
      tagY.has(0),
    ),
    visualMap: {
      type: 'continuous',
      min,
      max,
      calculable: false,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemWidth: 10,
      itemHeight: Math.min(220, w * 0.4),
      text: [formatAxisValue(max, m.format, max), formatAxisValue(min, m.format, max)],
      textGap: 8,
      textStyle: { fontSize: 11, color: MUTED },
      inRange: { color: warm ? ['#fff5eb', '#fdae6b', '#e6550d', '#a63603'] : ['#f0f5fb', '#9ecae1', '#4292c6', '#08519c'] },
    },
    series: [
      {
        type: 'heatmap',
        // dark cells get white labels
        // the column of a partial period faded, with a dashed edge
        data: data.map((v) => ({ value: v, label: { color: (v[2] - min) / (max - min) > 0.55 ? '#ffffff' : TEXT }, ...(tagX.has(v[0]) || tagY.has(v[1]) ? { itemStyle: PARTIAL_ITEM } : {}) })),
        itemStyle: { borderColor: '#fff', borderWidth: 1 },
        label: { show: showLabels, fontSize: 10, formatter: (p: { value: [number, number, number] }) => cellText(p.value[2]) },
        emphasis: { disabled: true },
      },
    ],
  };
  let clicks: ClickMap | undefined;
  if (hrefOf) {
    const p: Record<string, string> = {};
    cellRows.forEach((r, i) => {
      const href = hrefOf(r);
      if (href) p[`0:${i}`] = href;
    });
    clicks = { p };
  }
  const notes = [...marksX, ...marksY].map((x) => x.note);
  return { svg: renderSvg(option, w, h, id), notes, clicks };
}

/**
 * A heatmap's cell labels, all at one precision: exact ("818", "1,204") when the widest fits a
 * cell, else all in the unit of the largest ("0.8k", "1.2k", "12.3k"), never "1k" beside "818".
 */
function cellLabels(values: number[], format: string | undefined, cellW: number): (v: number) => string {
  const exact = (v: number) => formatValue(v, format);
  if (values.every((v) => approxTextWidth(exact(v), 10) <= cellW - 6)) return exact;
  const top = values.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  // percent, ms, minutes: in the one unit of the scale's top
  if (format && !['number', 'integer', 'usd'].includes(format)) return (v) => formatAxisValue(v, format, top);
  const [div, suffix] = top >= 1e9 ? [1e9, 'B'] : top >= 1e6 ? [1e6, 'M'] : top >= 1e3 ? [1e3, 'k'] : [1, ''];
  return (v) => `${v < 0 ? '-' : ''}${format === 'usd' ? '$' : ''}${trimFixed(Math.abs(v) / div, div === 1 ? 2 : 1)}${suffix}`;
}

/** The quantile a measure stands for, from its aggregation or its name (p95_latency_ms...). */
function quantileRank(f: CompiledField): number | undefined {
  const byAgg: Partial<Record<Aggregation, number>> = { min: 0, max: 1, median: 0.5, p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };
  if (f.agg && byAgg[f.agg] != null) return byAgg[f.agg];
  const s = `${f.name} ${f.column}`.toLowerCase();
  const p = /(?:^|[^a-z0-9])p(\d{1,2})(?:[^0-9]|$)/.exec(s);
  if (p) return Number(p[1]) / 100;
  if (/(?:^|_)min(?:_|$|imum)/.test(s)) return 0;
  if (/(?:^|_)max(?:_|$|imum)/.test(s)) return 1;
  if (/median/.test(s)) return 0.5;
  return undefined;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0];
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * box: with two or more percentile measures (p50/p95/p99 columns, min/max...), each x gets
 * [lowest, q1, median, q3, highest] from them: the lowest and highest are the whiskers, the
 * measure nearest 0.5 is the median, and the nearest measures below and above it bound the box
 * (p50/p95/p99: box p50–p95, whisker to p99). Otherwise the five numbers are computed from the
 * rows' values of the first measure, per x.
 */
function box(ct: CompiledTile, rows: Array<Record<string, unknown>>, w: number, h: number, id: string): ChartResult {
  const f = fieldsOf(ct, rows);
  const ranked = f.measures.map((m) => ({ m, q: quantileRank(m) })).filter((r): r is { m: CompiledField; q: number } => r.q != null);
  ranked.sort((a, b) => a.q - b.q);
  const cats: Key[] = f.x ? distinctKeys(rows, f.x, ct.tile.sort.length > 0) : [{ id: '', label: f.measures[0]?.label ?? '', sort: 0, kind: 'text' }];
  const ci = new Map(cats.map((c, i) => [c.id, i]));
  const boxes: Array<number[] | null> = cats.map(() => null);
  const notes: string[] = [];
  const format = (ranked[0]?.m ?? f.measures[0]).format;
  if (ranked.length >= 2) {
    const lo = ranked[0];
    const hi = ranked[ranked.length - 1];
    const med = ranked.reduce((a, r) => (Math.abs(r.q - 0.5) < Math.abs(a.q - 0.5) ? r : a), lo);
    const below = ranked.filter((r) => r.q > lo.q && r.q < med.q);
    const above = ranked.filter((r) => r.q > med.q && r.q < hi.q);
    const q1 = below.length ? below[below.length - 1] : med;
    const q3 = above.length ? above[0] : med;
    const five = [lo, q1, med, q3, hi];
    for (const r of rows) {
      const i = f.x ? ci.get(keyOf(r[f.x.name], f.x).id)! : 0;
      const vals = five.map((p) => toNumber(r[p.m.name]));
      if (vals.every((v) => v != null)) boxes[i] = vals as number[];
    }
    const name = (r: { m: CompiledField }) => r.m.label;
    notes.push(
      q1 === med && q3 === med
        ? `line ${name(med)}, whiskers ${name(lo)} to ${name(hi)}`
        : `box ${name(q1)} to ${name(q3)}, line ${name(med)}, whiskers ${name(lo)} to ${name(hi)}`,
    );
  } else {
    const m = f.measures[0];
    const groups = cats.map(() => [] as number[]);
    for (const r of rows) {
      const v = toNumber(r[m.name]);
      if (v == null) continue;
      groups[f.x ? ci.get(keyOf(r[f.x.name], f.x).id)! : 0].push(v);
    }
    groups.forEach((g, i) => {
      if (!g.length) return;
      g.sort((a, b) => a - b);
      boxes[i] = [g[0], quantile(g, 0.25), quantile(g, 0.5), quantile(g, 0.75), g[g.length - 1]];
    });
    notes.push(`${m.label}: box p25 to p75, line median, whiskers min to max`);
  }
  const top = Math.max(0, ...boxes.map((b) => (b ? b[4] : 0)));
  const option: EChartsCoreOption = {
    ...baseOption(),
    grid: { left: 4, right: 12, top: 12, bottom: 4 },
    xAxis: categoryAxis(
      cats.map((c) => c.label),
      {},
      w - 60,
      cats,
    ),
    yAxis: valueAxis(format, top, { scale: true }),
    series: [
      {
        type: 'boxplot',
        data: boxes.map((b) => b ?? []),
        boxWidth: [8, 36],
        itemStyle: { color: 'rgba(78, 121, 167, 0.22)', borderColor: PALETTE[0], borderWidth: 1.5 },
        emphasis: { disabled: true },
        ...markers(ct, format, 'yAxis', top),
      },
    ],
  };
  return { svg: renderSvg(option, w, h, id), notes };
}

function scatter(ct: CompiledTile, rows: Array<Record<string, unknown>>, w: number, h: number, id: string): ChartResult {
  const f = fieldsOf(ct, rows);
  let xf: CompiledField | undefined;
  let yf: CompiledField | undefined;
  if (f.measures.length >= 2) [xf, yf] = f.measures;
  else {
    xf = f.dims.find((d) => d.role === 'x') ?? f.dims.find((d) => rows.some((r) => toNumber(r[d.name]) != null));
    yf = f.measures[0];
  }
  const seriesDim = f.series && f.series !== xf ? f.series : undefined;
  const seriesKeys = byId(seriesDim ? distinctKeys(rows, seriesDim, true) : []);
  const groups = new Map<string, Array<[number, number]>>();
  const logX = ct.tile.scale?.x === 'log';
  const logY = ct.tile.scale?.y === 'log';
  let offScale = 0;
  for (const r of rows) {
    const x = xf ? toNumber(r[xf.name]) : null;
    const y = yf ? toNumber(r[yf.name]) : null;
    if (x == null || y == null) continue;
    // a log axis has no place for 0 or below: left out, and counted in the footer
    if ((logX && x <= 0) || (logY && y <= 0)) {
      offScale++;
      continue;
    }
    const k = seriesDim ? keyIn(seriesKeys, r, seriesDim).label : yf!.label;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push([x, y]);
  }
  for (const g of groups.values()) g.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const total = [...groups.values()].reduce((a, g) => a + g.length, 0);
  const maxOf = (i: 0 | 1) => Math.max(0, ...[...groups.values()].flatMap((g) => g.map((p) => Math.abs(p[i]))));
  const names = [...groups.keys()].sort((a, b) => groups.get(b)!.length - groups.get(a)!.length || (a < b ? -1 : 1));
  const { legend, height: legendH } = topLegend(seriesDim ? names : [], w);
  const axisName = { nameLocation: 'middle', nameTextStyle: { color: MUTED, fontSize: 11 } };
  // the target band and thresholds on the y axis, which reaches them (as the Looker export draws them)
  // on a log axis what is at or below 0 has no place: left out (and said, as points are)
  // (a band from 0 or below starts at the lowest point: where a log axis starts)
  const ys = [...groups.values()].flatMap((g) => g.map((p) => p[1]));
  const yLow = minOf(ys);
  const band = ct.tile.target_band;
  const drawable = logY ? { ...ct, tile: { ...ct.tile, thresholds: ct.tile.thresholds.filter((t) => t.value > 0), target_band: band && band.max > 0 ? { ...band, min: band.min > 0 ? band.min : Math.min(band.max, Number.isFinite(yLow) ? yLow : band.max) } : undefined } } : ct;
  const marks = marksOf(drawable);
  // the y axis reaches a mark above the points (rounded as the other charts' axes: axisMaxFor)
  const top = reachMarks(drawable, Math.max(0, ...ys));
  const option: EChartsCoreOption = {
    ...baseOption(),
    legend,
    grid: { left: 8, right: 16, top: legendH + 12, bottom: 8 },
    xAxis: valueAxis(xf?.format, maxOf(0), { ...axisName, name: xf?.label, nameGap: 24, scale: true, splitLine: { lineStyle: { color: SPLIT } }, ...(logX ? LOG_AXIS : {}) }),
    yAxis: valueAxis(yf?.format, Math.max(maxOf(1), ...marks.map(Math.abs)), { ...axisName, name: yf?.label, nameGap: 44, scale: true, ...(logY ? LOG_AXIS : {}), ...(top !== undefined ? { max: top } : {}) }),
    // large: all points of a series as one SVG path (5,000 points: 6x faster, a quarter of the size)
    series: names.map((n, i) => {
      const color = fixedColor(ct, n);
      return { type: 'scatter', name: n, data: groups.get(n), symbolSize: 6, itemStyle: { opacity: 0.6, ...(color ? { color } : {}) }, emphasis: { disabled: true }, large: total > 300, largeThreshold: 300, ...(i === 0 ? markers(drawable, yf?.format, 'yAxis') : {}) };
    }),
  };
  const offMarks = ct.tile.thresholds.length - drawable.tile.thresholds.length + (ct.tile.target_band && !drawable.tile.target_band ? 1 : 0);
  const notes = [
    ...(ct.tile.sample ? [`random sample of ${formatValue(ct.tile.sample.rows, 'integer')} rows (seed ${ct.tile.sample.seed})`] : []),
    ...(offScale ? [`${formatValue(offScale, 'integer')} point${offScale === 1 ? '' : 's'} at or below 0 left out (log scale)`] : []),
    ...(offMarks ? [`${offMarks} threshold${offMarks === 1 ? '' : 's'} or band${offMarks === 1 ? '' : 's'} at or below 0 not drawn (log scale)`] : []),
  ];
  return { svg: renderSvg(option, w, h, id), notes };
}

/** Gauge colors: the bands of gauge-bands.ts; the value in the color of where it falls. */
function gauge(ct: CompiledTile, rows: Array<Record<string, unknown>>, w: number, h: number, id: string): ChartResult {
  const f = fieldsOf(ct, rows);
  const m = f.measures[0];
  const value = toNumber(rows[0]?.[m.name]);
  const th = [...ct.tile.thresholds].sort((a, b) => a.value - b.value);
  const max = ct.tile.max ?? (m.format === 'percent' ? 1 : niceCeil(Math.max(th.length ? th[th.length - 1].value * 1.2 : 0, (value ?? 0) * 1.25, 1)));
  let valueColor = PALETTE[0];
  // the colored bands, as the exports draw them (gauge-bands.ts)
  const colored = th.map((t) => ({ ...t, color: safeColor(t.color) ?? BAD }));
  const bands = gaugeBands(colored, max, GOOD);
  const stops: Array<[number, string]> = bands.map((b) => [b.max / max, b.color]);
  if (th.length && ct.tile.max != null && th[th.length - 1].value >= ct.tile.max) {
    // bands: the value takes the color of the band it is in
    for (const t of colored) if (value != null && value <= t.value && valueColor === PALETTE[0]) valueColor = t.color;
    if (value != null && value > th[th.length - 1].value) valueColor = colored[colored.length - 1].color;
  } else if (th.length) {
    // lines: the color of the last threshold the value reached, green below the first
    for (const t of colored) if (value != null && value >= t.value) valueColor = t.color;
    if (value != null && value < th[0].value) valueColor = GOOD;
  }
  // the bands named by their thresholds' labels, in a line under the dial (as Metabase's gauge.segments name them)
  const named = bands.filter((b) => b.label);
  const keyH = named.length ? 18 : 0;
  const dialH = h - keyH;
  // the dial spans 220°: about 2r wide and 1.35r tall, plus the value under it
  const r = Math.max(30, Math.min(w / 2 - 12, (dialH - 16) / 1.75));
  // (braces would be read as ECharts rich-text markup)
  const plain = (t: string) => t.replace(/\{/g, '(').replace(/\}/g, ')');
  const key = named.length
    ? {
        title: {
          text: named.map((b, i) => `{m${i}|●} ${plain(b.label!)}`).join('   '),
          left: 'center',
          bottom: 0,
          textStyle: { fontSize: 11, color: MUTED, fontWeight: 'normal', width: w - 8, overflow: 'truncate', rich: Object.fromEntries(named.map((b, i) => [`m${i}`, { color: b.color, fontSize: 11 }])) },
        },
      }
    : {};
  const option: EChartsCoreOption = {
    ...baseOption(),
    ...key,
    series: [
      {
        type: 'gauge',
        min: 0,
        max,
        startAngle: 200,
        endAngle: -20,
        radius: r,
        center: [w / 2, (dialH - 1.75 * r) / 2 + r + 4],
        splitNumber: 4,
        progress: { show: th.length === 0, width: 12, itemStyle: { color: PALETTE[0] } },
        axisLine: { lineStyle: { width: 12, color: th.length ? stops : [[1, '#e5e7eb']] } },
        pointer: { show: th.length > 0, length: '58%', width: 4, itemStyle: { color: '#4b5563' } },
        anchor: { show: th.length > 0, showAbove: true, size: 10, itemStyle: { color: '#4b5563' } },
        axisTick: { show: false },
        splitLine: { show: false },
        axisLabel: { distance: 18, fontSize: 11, color: MUTED, formatter: (v: number) => formatAxisValue(v, m.format, max) },
        detail: { valueAnimation: false, offsetCenter: [0, '62%'], fontSize: Math.max(16, Math.min(28, r / 4.5)), fontWeight: 'bold', color: valueColor, formatter: () => formatValue(value, m.format) },
        title: { show: false },
        data: [{ value: value == null ? 0 : Math.min(Math.max(value, 0), max), name: m.label }],
      },
    ],
  };
  return { svg: renderSvg(option, w, h, id), notes: value != null && value > max ? [`above the scale (max ${formatValue(max, m.format)})`] : [] };
}

// ---------------------------------------------------------------------------------------------
// HTML tiles

function kpiHtml(ct: CompiledTile, data: Extract<TileData, { ok: true }>): string {
  const f = fieldsOf(ct, data.rows);
  const [m, ...others] = f.measures;
  const row = data.rows[0];
  const v = toNumber(row[m.name]);
  const shown = formatValue(row[m.name], m.format);
  let color = TEXT;
  for (const t of [...ct.tile.thresholds].sort((a, b) => a.value - b.value)) if (v != null && v >= t.value) color = safeColor(t.color) ?? color;
  // the window the number covers, said once per KPI ("today so far", "last 7 days (today included)")
  const parts = [...(ct.window ? [`<div class="kpi-window">${escapeHtml(ct.window.text)}</div>`] : []), `<div class="kpi-value" style="color:${color}">${escapeHtml(shown)}</div>`];
  if (data.previous && m.name in data.previous) {
    const p = toNumber(data.previous[m.name]);
    const prevText = `vs ${escapeHtml(formatValue(data.previous[m.name], m.format))} ${escapeHtml(ct.window?.compare ?? 'previous period')}`;
    if (v == null || p == null) parts.push(`<div class="kpi-change">${prevText}</div>`);
    else if (p === 0) parts.push(`<div class="kpi-change">${v === 0 ? 'no change' : v > 0 ? '▲ new' : '▼ new'} <span class="muted">${prevText}</span></div>`);
    else {
      // a rate changes by percentage points (2.3 % -> 2.8 % is +0.5 pp), other values by percent
      const pp = m.format === 'percent';
      const change = pp ? (v - p) * 100 : ((v - p) / Math.abs(p)) * 100;
      const rounded = Number(change.toFixed(1));
      const up = rounded > 0;
      // good or bad only by the measure's `better`: without it a change is news, not a verdict
      const cls = rounded === 0 ? 'flat' : !m.better ? 'neutral' : up === (m.better === 'higher') ? 'good' : 'bad';
      const arrow = rounded === 0 ? '=' : up ? '▲' : '▼';
      parts.push(`<div class="kpi-change ${cls}">${arrow} ${escapeHtml(`${Math.abs(rounded).toFixed(1)} ${pp ? 'pp' : '%'}`)} <span class="muted">${prevText}</span></div>`);
    }
  }
  for (const o of others) parts.push(`<div class="kpi-extra">${escapeHtml(o.label)}: <b>${escapeHtml(formatValue(row[o.name], o.format))}</b></div>`);
  // named thresholds, as the charts' threshold lines are labelled: "5 % target (5 %)"
  const named = [...ct.tile.thresholds].sort((a, b) => a.value - b.value).filter((t) => t.label);
  if (named.length) {
    const items = named.map((t) => `<span class="th"><i style="border-color:${safeColor(t.color) ?? BAD}"></i>${escapeHtml(`${t.label} (${formatAxisValue(t.value, m.format)})`)}</span>`);
    parts.push(`<div class="kpi-threshold">${items.join(' ')}</div>`);
  }
  return `<div class="kpi${ct.tile.layout.h >= 2 ? ' tall' : ''}">${parts.join('')}</div>`;
}

function cfMatch(op: string, v: number, ref: number): boolean {
  switch (op) {
    case '>':
      return v > ref;
    case '>=':
      return v >= ref;
    case '<':
      return v < ref;
    case '<=':
      return v <= ref;
    case '=':
      return v === ref;
    case '!=':
      return v !== ref;
    default:
      return false;
  }
}

/** Relative luminance of a hex or rgb() color (undefined for names and hsl()). */
function luminance(c: string): number | undefined {
  let rgb: number[] | undefined;
  const hex = /^#([0-9a-f]{3,8})$/i.exec(c)?.[1];
  if (hex) {
    const full = hex.length <= 4 ? [...hex.slice(0, 3)].map((x) => x + x).join('') : hex.slice(0, 6);
    rgb = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
  } else {
    const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/i.exec(c);
    if (m) rgb = [m[1], m[2], m[3]].map(Number);
  }
  if (!rgb) return undefined;
  const [r, g, b] = rgb.map((v) => {
    const x = v / 255;
    return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** A light color (#FEE4E2) is the cell's background as given; a strong one (#D92D20, red) is
 * tinted for the background, darkened for the text, and marks the cell's left edge. */
function cfStyle(color: string): string {
  const l = luminance(color) ?? (/^(light|pale|lavender|mistyrose|seashell|snow|ivory|honeydew|azure|aliceblue|beige|linen|cornsilk|lemonchiffon|mintcream|oldlace|floralwhite|ghostwhite|whitesmoke|white|pink|bisque|wheat|moccasin|peachpuff|papayawhip|blanchedalmond)/i.test(color) ? 1 : 0);
  if (l > 0.6) return `background-color:${color};color:#7a1d14;font-weight:600`;
  return `background-color:color-mix(in srgb, ${color} 16%, white);box-shadow:inset 3px 0 0 ${color};color:color-mix(in srgb, ${color} 65%, black);font-weight:600`;
}

/** Characters past which a table cell's text wraps (a shorter one keeps to one line). */
const LONG_CELL = 20;

/** table: formatted cells; conditional formatting (the first rule that holds colors the cell);
 * links with {{column}} templates become a column of per-row links. */
function tableHtml(ct: CompiledTile, rows: Array<Record<string, unknown>>, links: PageLinks, zone?: string): string {
  const fields: CompiledField[] = ct.fields.length
    ? ct.fields
    : Object.keys(rows[0]).map((k) => ({ name: k, label: k, kind: 'dimension' as const, column: k }));
  const rowLinks = ct.tile.links.filter((l) => hasTemplate(l.url));
  const numeric = new Map(fields.map((f) => [f.name, f.kind === 'measure' && f.format !== 'text' && f.format !== 'date' && rows.some((r) => toNumber(r[f.name]) != null)]));
  const rules = ct.tile.conditional_formatting;
  const raw = ct.rawRows;
  const head = fields.map((f) => `<th${numeric.get(f.name) ? ' class="num"' : ''}>${escapeHtml(f.label)}</th>`).join('') + (rowLinks.length || raw ? '<th></th>' : '');
  // a drill-down: the cells of the fields it reads link to the row's page (the first cell when it reads none)
  const drilled = ct.tile.drilldown ? drillFields(ct) : [];
  const linkCell = (f: CompiledField, i: number) => (drilled.length ? drilled.includes(f.name) : i === 0);
  const body = rows.slice(0, TABLE_ROWS_SHOWN).map((r) => {
    const target = ct.tile.drilldown ? links.row(ct, r) : undefined;
    const cells = fields.map((f, i) => {
      const v = r[f.name];
      const n = toNumber(v);
      const fmt = fieldFormat(f);
      let attrs = numeric.get(f.name) ? ' class="num"' : '';
      if (n != null) {
        const rule = rules.find((c) => (c.field === f.name || c.field === f.column) && cfMatch(c.op, n, c.value));
        const color = rule && safeColor(rule.color);
        if (color) attrs += ` data-cf="${escapeHtml(color)}" style="${cfStyle(color)}"`;
      }
      // (an instant at its wall time in the session's zone, as a chart labels it: keyOf)
      const shown = formatValue(zone && v instanceof Date && instantField(f) ? new Date(wallMs(v.getTime(), zone)) : v, fmt);
      // a long value wraps (on a line of its own at a word, else anywhere) instead of pushing the
      // later columns and the row's links out of the tile
      if (!numeric.get(f.name) && shown.length > LONG_CELL) attrs += ' class="wrap"';
      const text = escapeHtml(shown);
      return `<td${attrs}>${target && linkCell(f, i) ? `<a class="drill-link" href="${escapeHtml(target.href)}">${text}</a>` : text}</td>`;
    });
    if (rowLinks.length || raw) {
      const cellLinks = rowLinks.map((l) => {
        const filled = fillTemplate(l.url, r);
        const url = filled && linkUrl(filled, links);
        return url ? `<a href="${escapeHtml(url)}">${escapeHtml(l.label)}</a>` : `<span title="${escapeHtml(noLinkNote(l.url, r))}">${escapeHtml(l.label)}</span>`;
      });
      if (raw) {
        // the row's raw rows: a page of the site (registered from the dashboard's own page, at most 50 per tile)
        const page = links.raw(ct, r);
        cellLinks.unshift(page ? `<a class="raw-link" href="${escapeHtml(page.href)}" title="${escapeHtml(`${raw.model}: ${page.label}`)}">${escapeHtml(raw.label)}</a>` : `<span class="muted" title="no page for this row on this site (an empty value, or not a row of the dashboard's own page)">${escapeHtml(raw.label)}</span>`);
      }
      cells.push(`<td class="links">${cellLinks.join(' · ')}</td>`);
    }
    return `<tr${target ? ` data-href="${escapeHtml(target.href)}"` : ''}>${cells.join('')}</tr>`;
  });
  return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

// ---------------------------------------------------------------------------------------------
// The page

function tileBox(ct: CompiledTile): { w: number; h: number } {
  const { w, h } = ct.tile.layout;
  return { w: w * COL_W + (w - 1) * GAP, h: h * ROW_HEIGHT + (h - 1) * GAP };
}

/** `at`: when the data was read (a period still running then is marked partial). */
/** `colors`: the render's category colors (category-colors.ts). */
const CHARTS: Record<string, (ct: CompiledTile, rows: Array<Record<string, unknown>>, w: number, h: number, id: string, at: ReadAt | undefined, hrefOf: HrefOf | undefined, colors: CategoryColors) => ChartResult> = {
  line: lineAreaBar,
  area: lineAreaBar,
  bar: lineAreaBar,
  donut,
  heatmap,
  box,
  scatter,
  gauge,
};

/**
 * One tile's HTML (its chart drawn). renderDashboardHtml calls it for every tile; a caller that
 * queries tiles concurrently can call it as each result arrives, so that drawing overlaps the
 * other queries, and pass the results to renderDashboardHtml as `prerendered`.
 */
export function renderTileHtml(d: CompiledDashboard, ct: CompiledTile, data: TileData | undefined, links?: PageLinks, colors: CategoryColors = new CategoryColors()): string {
  return tileHtml(d, ct, data, new Map(d.tabs.map((t) => [t.name, t.title])), links ?? legacyLinks(d), colors);
}

/**
 * The categories a tile's chart takes colors for from the book (the values of a series
 * dimension, a donut's slices), as [scope, name]: found without drawing and without giving any
 * a color, so that a render can give the new ones theirs together (CategoryColors.assign).
 */
export function tileCategories(ct: CompiledTile, data: TileData | undefined, colors: CategoryColors): Array<[string, string]> {
  const type = ct.tile.type;
  if (!data?.ok || !data.rows.length || !['line', 'area', 'bar', 'donut'].includes(type)) return [];
  const typed = typedTile(ct);
  if (!fieldsOf(typed, data.rows).measures.length) return [];
  notesOnly = true;
  try {
    return colors.collect(() => CHARTS[type](typed, data.rows, 600, 400, 'categories', undefined, undefined, colors));
  } catch {
    return [];
  } finally {
    notesOnly = false;
  }
}

/** The labels of the measures a chart plots that have no value in any row (NULL throughout). */
function noValues(ct: CompiledTile, rows: Array<Record<string, unknown>>): string[] {
  return fieldsOf(ct, rows).measures.filter((m) => !rows.some((r) => toNumber(r[m.name]) != null)).map((m) => m.label);
}

function tileHtml(d: CompiledDashboard, untyped: CompiledTile, data: TileData | undefined, tabTitles: Map<string, string>, links: PageLinks, colors: CategoryColors): string {
  const ct = typedTile(untyped);
  const t = ct.tile;
  const { x, y, w, h } = t.layout;
  const box = tileBox(ct);
  const showDesc = !!t.description && h >= 3;
  // the description wraps onto the lines its text needs (a little more than its width, for the
  // words that do not fit at a line's end); the chart takes the rest
  const descLines = showDesc ? Math.min(Math.floor(box.h / 3 / DESC_H), Math.ceil(approxTextWidth(t.description!, 12) / ((box.w - 2 * PAD_X) * 0.9))) : 0;
  const descH = descLines * DESC_H;
  // the title wraps onto the lines it needs (bold: wider than approxTextWidth's average), never cut;
  // the model's name beside it gives way first
  const titleLines = Math.max(1, Math.ceil((approxTextWidth(t.title, w <= 3 ? 12 : 13) * 1.15) / (box.w - 2 * PAD_X)));
  const headH = HEAD_H + (titleLines - 1) * TITLE_LINE_H;
  const staticLinks = t.links.filter((l) => !hasTemplate(l.url) || (t.type !== 'table' && data?.ok && data.rows.length === 1));
  const drill = t.drilldown;
  const rows = data?.ok ? data.rows : [];
  // a drill-down that reads no field of the row opens one page, whatever is clicked
  const fixed = drill && !drillFields(ct).length ? links.row(ct, {}) : undefined;
  // another dashboard's tab is on that dashboard's page (<name>.html, as the index links them)
  const drillHref = drill ? (fixed?.href ?? links.target(ct)) : undefined;
  // the pages the rows open, in the order of the rows
  const targets = new Map<string, string>();
  if (drill && !fixed) {
    for (const r of rows) {
      const p = links.row(ct, r);
      if (p && !targets.has(p.href)) targets.set(p.href, p.label);
    }
  }
  const footParts: string[] = [];
  /** footParts as text: what the footer's lines are measured by */
  const footTexts: string[] = [];
  if (drill) {
    // "by capability" (values from the row), "date_range 7d" (set as written)
    const cols = Object.entries(drill.filters).map(([k, v]) => (/\{\{/.test(v) ? v.replace(/\{\{\s*([^}]*?)\s*\}\}/g, '$1') : `${k} ${v}`));
    const other = drill.dashboard && drill.dashboard !== d.dashboard.name ? drill.dashboard : undefined;
    const tabTitle = other ? (other === drill.tab ? `${other} dashboard` : `${other} › ${drill.tab}`) : (tabTitles.get(drill.tab) ?? drill.tab);
    const to = drillHref ? `<a href="${escapeHtml(drillHref)}">${escapeHtml(tabTitle)}</a>` : `<span title="not rendered with this site">${escapeHtml(tabTitle)}</span>`;
    // every page a row opens, as plain links (the chart's clicks need the page's script; these do not)
    const menu = targets.size && t.type !== 'table' && t.type !== 'kpi'
      ? ` <details class="drill-menu"><summary>${targets.size} page${targets.size === 1 ? '' : 's'}</summary><div class="menu">${[...targets].map(([href, label]) => `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>`).join('')}</div></details>`
      : '';
    const by = cols.length ? (Object.values(drill.filters).every((v) => /\{\{/.test(v)) ? ` by ${cols.join(', ')}` : `, ${cols.join(', ')}`) : '';
    footParts.push(`<span class="drill">Drill-down: ${to}${escapeHtml(by)}${menu}</span>`);
    footTexts.push(`Drill-down: ${tabTitle}${by}${menu ? ` ${targets.size} pages ▾` : ''}`);
  }
  for (const l of staticLinks) {
    const filled = fillTemplate(l.url, data?.ok ? data.rows[0] : undefined);
    const url = filled && linkUrl(filled, links);
    if (url) {
      footParts.push(`<a class="link" href="${escapeHtml(url)}">${escapeHtml(l.label)} ↗</a>`);
      footTexts.push(`${l.label} ↗`);
    }
  }
  const hrefOf: HrefOf | undefined = drill && !fixed && targets.size ? (r) => links.row(ct, r)?.href : undefined;

  let body: string;
  const notes: string[] = [];
  // read --at a moment already gone from a table of dates: its day of --at is what the build
  // computed (a chart with that day on its date axis marks it there)
  if (data?.ok && data.past && data.at && ct.dayWindow && data.rows.length && !marksDay(ct)) notes.push(asBuiltNote(formatDateShort(wallDay(wallMs(Date.parse(data.at), data.zone))), Date.parse(data.at), data.zone));
  let clicks: ClickMap | undefined;
  // cut at its limit (a table's, or the raw rows of a box or scatter): said, with how many rows there were
  const cut = data?.ok && data.total !== undefined && data.total > data.rows.length ? `first ${formatValue(data.rows.length, 'integer')} of ${formatValue(data.total, 'integer')} rows` : undefined;
  if (!data) body = `<div class="nodata">No data (the tile was not queried)</div>`;
  else if (!data.ok) body = `<div class="error" role="alert"><strong>Query failed</strong><pre>${escapeHtml(data.error)}</pre></div>`;
  else if (data.rows.length === 0) body = `<div class="nodata">${ct.syncState ? `Not synced yet: no ${escapeHtml(ct.relation)} (vigil sync writes it)` : 'No data'}</div>`;
  else if (t.type === 'kpi') {
    body = kpiHtml(ct, data);
    // the number itself opens the drill-down
    const href = fixed?.href ?? (drill ? (links.row(ct, data.rows[0])?.href ?? drillHref) : undefined);
    if (href) body = `<a class="kpi-link" href="${escapeHtml(href)}">${body}</a>`;
  } else if (t.type === 'table') {
    body = tableHtml(ct, data.rows, links, data.zone);
    if (cut) notes.push(cut);
  }
  else if (fieldsOf(ct, data.rows).measures.length === 0) body = `<div class="nodata">No data (no measure to plot)</div>`;
  else if (t.type !== 'gauge' && noValues(ct, data.rows).length === fieldsOf(ct, data.rows).measures.length) {
    // rows, but NULL in every measure: said, as an empty result is, not drawn as empty axes
    body = `<div class="nodata">No values: ${escapeHtml(noValues(ct, data.rows).join(', '))} NULL in every row</div>`;
  } else {
    if (cut) notes.push(cut);
    const empty = t.type === 'gauge' ? [] : noValues(ct, data.rows);
    if (empty.length) notes.push(`no values for ${empty.join(', ')} (NULL in every row)`);
    const chartW = Math.round(box.w - 2 * PAD_X);
    const chartH = (footH: number) => Math.max(40, Math.round(box.h - 2 * PAD_Y - headH - descH - footH - 4));
    try {
      const draw = CHARTS[t.type];
      const at = data.at === undefined ? undefined : { ms: Date.parse(data.at), past: !!data.past, ...(data.zone ? { zone: data.zone } : {}) };
      // the chart's notes ("Other" sums..., partial) go in the footer, on the lines they need: asked
      // first without drawing, so that the chart is drawn once, at its size
      let chartNotes: string[];
      let r: ChartResult;
      wallZone = data.zone;
      try {
        notesOnly = true;
        try {
          chartNotes = draw(ct, data.rows, chartW, chartH(0), `t-${t.id}`, at, hrefOf, colors).notes;
        } finally {
          notesOnly = false;
        }
        const footItems = [...notes, ...chartNotes, ...footTexts];
        r = draw(ct, data.rows, chartW, chartH(footItems.length ? footHeight(footItems, chartW) : 0), `t-${t.id}`, at, hrefOf, colors);
      } finally {
        wallZone = undefined;
      }
      body = `<div class="chart">${r.svg}</div>`;
      notes.push(...r.notes);
      clicks = r.clicks;
    } catch (e) {
      body = `<div class="error" role="alert"><strong>Could not draw the chart</strong><pre>${escapeHtml(e instanceof Error ? e.message : String(e))}</pre></div>`;
    }
  }
  if (t.type === 'table' && drill && targets.size) clicks = {};
  const heading = drillHref ? `<a href="${escapeHtml(drillHref)}">${escapeHtml(t.title)}</a>` : escapeHtml(t.title);
  const tooltip = [t.description, `${ct.relation}${ct.appliesFilters.length ? ` · filters: ${ct.appliesFilters.join(', ')}` : ''}`].filter(Boolean).join('\n');
  const foot = [...notes.map((n) => `<span class="note">${escapeHtml(n)}</span>`), ...footParts];
  const drillAttr = clicks && (t.type === 'table' || Object.values(clicks).some((v) => (Array.isArray(v) ? v.some(Boolean) : v && Object.keys(v).length))) ? ` data-drill="${escapeHtml(JSON.stringify(clicks))}"` : '';
  // the grid rows a short table or a "No data" needs, when fewer than its layout's: the page gives
  // the rest back where no other tile needs them (fitRows)
  const contentH = body.startsWith('<div class="nodata">') ? 40 : t.type === 'table' && data?.ok && data.rows.length <= TABLE_ROWS_SHOWN && !body.includes(' class="wrap"') ? TABLE_HEAD_H + data.rows.length * TABLE_ROW_H + 16 : undefined;
  // (the footer's lines at the tile's width: its height, set on it when more than one line's; the chart was sized for it)
  const footH = foot.length ? footHeight([...notes, ...footTexts], Math.round(box.w - 2 * PAD_X)) : 0;
  const fit = contentH === undefined ? h : Math.min(h, Math.max(1, Math.ceil((2 * PAD_Y + 2 + headH + (showDesc ? descH : 0) + contentH + footH + GAP) / (ROW_HEIGHT + GAP))));
  return [
    // a narrow tile gives its title the whole width (the model is in the title's tooltip): no cut titles
    `<div class="tile${w <= 3 ? ' narrow' : ''}" data-tile="${escapeHtml(t.id)}" data-type="${escapeHtml(t.type)}"${drillAttr}${fit < h ? ` data-fit="${fit}"` : ''} style="grid-column:${x + 1} / span ${w};grid-row:${y + 1} / span ${h}">`,
    `<div class="tile-head"${titleLines > 1 ? ` style="height:${headH}px"` : ''}><h3 title="${escapeHtml(tooltip)}">${heading}</h3><span class="model">${escapeHtml(ct.model)}</span></div>`,
    showDesc ? `<p class="desc" style="height:${descH}px;-webkit-line-clamp:${descLines}">${escapeHtml(t.description)}</p>` : '',
    `<div class="tile-body">${body}</div>`,
    foot.length ? `<div class="tile-foot"${footH > FOOT_H ? ` style="height:${footH}px"` : ''}>${foot.join('')}</div>` : '',
    `</div>`,
  ].join('');
}

/**
 * Tiles sized to their content: a grid row that only the unneeded rows of short tables and "No
 * data" tiles cover (their `data-fit`, tileHtml) is given back — those tiles end sooner and the
 * tiles below move up — so a table of 4 rows in a tile laid out for 30 leaves no empty space. A
 * row that any other tile needs stays (tiles side by side keep one height). The tiles' HTML keeps
 * its layout's rows (a drawing kept between renders too): its grid-row is moved here.
 */
export function fitRows(tiles: Array<{ layout: { y: number; h: number }; html: string }>): { rows: number; html: string[] } {
  const rows = Math.max(1, ...tiles.map((t) => t.layout.y + t.layout.h));
  const fit = tiles.map((t) => Number(/^<div class="tile[^>]*? data-fit="(\d+)"/.exec(t.html)?.[1] ?? t.layout.h));
  // (before[r]: the rows given back above row r)
  const before = [0];
  for (let r = 0; r < rows; r++) {
    const over = tiles.map((t, i) => ({ t, i })).filter(({ t }) => t.layout.y <= r && r < t.layout.y + t.layout.h);
    const back = over.length > 0 && over.every(({ t, i }) => r >= t.layout.y + fit[i]);
    before.push(before[r] + (back ? 1 : 0));
  }
  if (!before[rows]) return { rows, html: tiles.map((t) => t.html) };
  const html = tiles.map(({ layout: { y, h }, html: x }) => x.replace(/grid-row:\d+ \/ span \d+/, `grid-row:${y - before[y] + 1} / span ${h - (before[y + h] - before[y])}`));
  return { rows: rows - before[rows], html };
}

/**
 * The height of a tile footer holding `items` (texts) at `width`: side by side, 12 px apart, on
 * as many lines as they need (an item wider than a line wraps within itself).
 */
function footHeight(items: string[], width: number): number {
  let lines = 1;
  let x = 0;
  for (const s of items) {
    // (the footer's 11 px text, for the words that do not fit at a line's end)
    const iw = wideTextWidth(s, 11);
    if (x > 0 && x + 12 + iw > width) {
      lines++;
      x = 0;
    }
    if (iw > width) {
      lines += Math.ceil(iw / width) - 1;
      x = width;
    } else x += (x > 0 ? 12 : 0) + iw;
  }
  return FOOT_H + (lines - 1) * FOOT_LINE_H;
}

/** Whether the tile's chart has its date window's column on an axis, where periodMark marks the day of --at. */
function marksDay(ct: CompiledTile): boolean {
  return ['line', 'area', 'bar', 'heatmap'].includes(ct.tile.type) && ct.fields.some((f) => f.kind === 'dimension' && f.column === ct.dayWindow && (ct.tile.type === 'heatmap' || f.role !== 'series') && isDate(f.type));
}

/**
 * A filter's value on its chip: 'All' when the page does not filter on it; a value a drill-down
 * set (`set`) is always itself — an empty text as "(empty)", as charts name it, a text 'null' as written — since
 * the page's tiles are filtered to it.
 */
function filterValue(type: string | undefined, v: string | undefined, set = false): string {
  if (v == null) return 'All';
  if (v === '') return set ? '(empty)' : 'All';
  if (v === 'null' && !set) return 'All';
  if (type === 'date_range') {
    const m = /^(\d+)([dwmh])$/.exec(v);
    if (m) return `last ${m[1]} ${{ d: 'day', w: 'week', m: 'month', h: 'hour' }[m[2] as 'd']}${m[1] === '1' ? '' : 's'}`;
  }
  return v;
}

const CSS = `
*{box-sizing:border-box}
html{scroll-behavior:smooth}
body{margin:0;background:#f3f4f6;color:${TEXT};font:14px/1.4 ${PAGE_FONT};-webkit-font-smoothing:antialiased}
a{color:#2563eb;text-decoration:none}a:hover{text-decoration:underline}
.top{background:#fff;border-bottom:1px solid #e5e7eb;padding:18px 24px 0}
.top-row{display:flex;justify-content:space-between;align-items:flex-start;gap:24px;max-width:${GRID_WIDTH}px;margin:0 auto}
h1{font-size:22px;margin:0 0 2px;font-weight:650}
.lede{margin:0;color:${MUTED};font-size:13px}
.meta{color:${MUTED};font-size:12px;text-align:right;white-space:nowrap}
.filters{display:flex;flex-wrap:wrap;gap:8px;margin:12px auto 0;max-width:${GRID_WIDTH}px}
.chip{display:inline-flex;gap:6px;align-items:center;background:#eef2ff;border:1px solid #c7d2fe;color:#3730a3;border-radius:999px;padding:3px 11px;font-size:12px}
.chip .k{color:#6366f1}
.chip.set{background:#e0e7ff;border-color:#818cf8;font-weight:600}
.chip .clear{font-weight:400;color:#4338ca;margin-left:2px}
.drill-menu{display:inline}
.drill-menu summary{display:inline;cursor:pointer;color:#2563eb;list-style:none}
.drill-menu summary::-webkit-details-marker{display:none}
.drill-menu summary::after{content:" ▾"}
.drill-menu[open] .menu{position:fixed;z-index:20;left:50%;top:15vh;transform:translateX(-50%);display:flex;flex-direction:column;gap:3px;max-height:60vh;overflow:auto;background:#fff;border:1px solid #d1d5db;border-radius:8px;box-shadow:0 10px 30px rgba(0,0,0,.18);padding:10px 16px;font-size:12px;white-space:nowrap}
a.kpi-link{display:block;height:100%;color:inherit;text-decoration:none}
a.kpi-link:hover .kpi-value{text-decoration:underline dotted}
a.drill-link{color:inherit;border-bottom:1px dashed #93c5fd}
.tile[data-drill] [ecmeta_ssr_type]:not([ecmeta_silent]),.tile[data-drill] [data-s],tr[data-href]{cursor:pointer}
tr[data-href]:hover td{background:#eff6ff!important}
nav.tabbar{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid #e5e7eb;padding:0 24px}
nav.tabbar .inner{display:flex;gap:4px;max-width:${GRID_WIDTH}px;margin:0 auto}
nav.tabbar a{display:block;padding:10px 14px;color:#374151;font-weight:600;font-size:13px;border-bottom:2px solid transparent}
nav.tabbar a:hover{color:#111827;border-bottom-color:#d1d5db;text-decoration:none}
main{padding:8px 0 24px}
section.tab{max-width:${GRID_WIDTH + 48}px;margin:0 auto;padding:16px 24px 20px;scroll-margin-top:44px;background:#f3f4f6}
.tab-head{display:flex;justify-content:space-between;align-items:baseline;gap:16px;margin:0 0 12px}
h2{font-size:18px;margin:0;font-weight:650}
.tab-context{color:${MUTED};font-size:12px;flex:1;text-align:right}
.tab-asof{color:${MUTED};font-size:12px;white-space:nowrap}
.grid{display:grid;grid-template-columns:repeat(${GRID_COLUMNS},minmax(0,1fr));grid-auto-rows:${ROW_HEIGHT}px;gap:${GAP}px}
.tile{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:${PAD_Y}px ${PAD_X}px;display:flex;flex-direction:column;min-width:0;overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.tile-head{display:flex;justify-content:space-between;align-items:baseline;gap:8px;height:${HEAD_H}px;flex:none}
h3{font-size:13px;line-height:${TITLE_LINE_H}px;font-weight:650;margin:0;overflow-wrap:anywhere;color:#111827;min-width:0;flex:0 1 auto}
h3 a{color:#111827;border-bottom:1px dashed #93c5fd}
.model{font-size:11px;color:#9ca3af;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;min-width:0;flex:0 1000 auto}
.tile.narrow .model{display:none}
.tile.narrow h3{font-size:12px}
.desc{margin:0;font-size:12px;line-height:${DESC_H}px;color:${MUTED};overflow:hidden;display:-webkit-box;-webkit-box-orient:vertical;flex:none}
.tile-body{flex:1;min-height:0;position:relative}
.chart svg{display:block;width:100%;height:auto}
.tile-foot{min-height:${FOOT_H}px;flex:none;display:flex;flex-wrap:wrap;column-gap:12px;align-items:flex-end;align-content:flex-end;font-size:11px;line-height:${FOOT_LINE_H}px;color:${MUTED}}
.tile-foot .link{margin-left:auto}
.note{overflow-wrap:anywhere;min-width:0}
.kpi{display:flex;flex-direction:column;justify-content:center;height:100%}
.kpi-value{font-size:28px;font-weight:700;line-height:1.1;letter-spacing:-.01em;white-space:nowrap}
.kpi.tall .kpi-value{font-size:40px}
.kpi-change{font-size:12px;margin-top:3px;color:${MUTED};overflow-wrap:anywhere}
.kpi.tall .kpi-change{font-size:13px;margin-top:6px}
.kpi-change.good{color:${GOOD}}.kpi-change.bad{color:${BAD}}.kpi-change.neutral{color:${TEXT}}
.kpi-change .muted{color:${MUTED};font-weight:400}
.kpi-extra{font-size:12px;color:${MUTED}}
.kpi-threshold{font-size:12px;color:${MUTED};margin-top:3px;overflow-wrap:anywhere}
.kpi-threshold .th+.th{margin-left:10px}
.kpi-threshold i{display:inline-block;width:14px;border-top:2px dashed;vertical-align:middle;margin-right:5px}
.kpi-window{font-size:12px;color:${MUTED};overflow-wrap:anywhere}
.table-wrap{height:100%;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:12px}
th{position:sticky;top:0;background:#f9fafb;text-align:left;font-weight:600;color:#374151;padding:6px 8px;border-bottom:1px solid #e5e7eb;white-space:nowrap}
td{padding:5px 8px;border-bottom:1px solid #f1f2f4;white-space:nowrap}
td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:10em}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.links{text-align:right}
tbody tr:nth-child(even) td:not([data-cf]){background:#fcfcfd}
.nodata{height:100%;min-height:40px;display:flex;align-items:center;justify-content:center;color:#9ca3af;font-size:13px;background:repeating-linear-gradient(135deg,#fafafa 0 8px,#f4f4f5 8px 16px);border-radius:6px}
.error{height:100%;overflow:auto;background:#fef2f2;border:1px solid #fca5a5;color:#991b1b;border-radius:6px;padding:8px 10px;font-size:12px}
.error pre{margin:4px 0 0;white-space:pre-wrap;word-break:break-word;font:11px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
.muted{color:${MUTED}}.small{font-size:11px}
footer{max-width:${GRID_WIDTH + 48}px;margin:0 auto;padding:0 24px 24px;color:#9ca3af;font-size:11px}
@media (max-width:900px){.grid{grid-template-columns:1fr;grid-template-rows:none!important;grid-auto-rows:auto}.tile{grid-column:auto!important;grid-row:auto!important}.tile-body{flex:none}.tile-head{height:auto!important;min-height:${HEAD_H}px;flex-wrap:wrap;row-gap:0}.model{white-space:normal;overflow-wrap:anywhere}.desc{height:auto!important;display:block}.tile-foot{height:auto!important;padding-top:4px}.kpi{height:auto;padding:6px 0}.table-wrap{max-height:480px}.nodata,.error{min-height:90px}.top-row{flex-direction:column}.meta{text-align:left}.tab-context{display:none}}
@media print{nav.tabbar{position:static}section.tab{break-before:page}}
`;

/**
 * The page of one dashboard. `data` holds each tile's result by tile id; a tile without one
 * shows "No data", a failed query its error (escaped) in a red box. `prerendered`: tiles already
 * drawn with renderTileHtml, by tile id (the others are drawn here).
 */
/** '2026-11-01T09:30:00.000Z' -> '2026-11-01 09:30 UTC' (what the page and its screenshots say the data is as of). */
export function asOf(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** How a page of the site is drawn besides its data: see renderDashboardHtml. */
export interface PageOptions {
  /** Its links to the rest of the site (site.ts); by default a lone page's. */
  links?: PageLinks;
  /** A drill-down page: only this tab is on it. */
  tab?: string;
  /** ...with these dashboard filters set by the drill-down (name -> value): their chips say so, with a link back to the dashboard's own page. */
  applied?: Record<string, string>;
  /** The render's category colors (category-colors.ts); by default the page's own. */
  colors?: CategoryColors;
}

/**
 * Clicks on a chart or a table row of a drill-down tile open the page its data-drill attribute
 * names for the element (ClickMap) — or for the marked element under it (a legend's text lies over
 * its item) — and links (<a>) keep working as links. Only on pages with such
 * a tile: the site stays readable without it (every drill-down page is also a link in the tile's
 * footer).
 */
const DRILL_SCRIPT = `document.addEventListener('click',function(e){var t=e.target;if(!(t instanceof Element)||t.closest('a,summary,details'))return;var tile=t.closest('[data-drill]');if(!tile)return;var m=JSON.parse(tile.getAttribute('data-drill')),href=null;var tr=t.closest('tr[data-href]');if(tr)href=tr.getAttribute('data-href');var sel='[ecmeta_series_index],[data-s]',el=!href&&t.closest(sel);if(!href&&!el){var all=document.elementsFromPoint(e.clientX,e.clientY);for(var k=0;k<all.length;k++)if(all[k].matches(sel)&&tile.contains(all[k])){el=all[k];break;}}if(el){if(el.hasAttribute('data-s'))href=(m.s||[])[+el.getAttribute('data-s')];else{var s=el.getAttribute('ecmeta_series_index'),i=el.getAttribute('ecmeta_data_index');if(el.getAttribute('ecmeta_ssr_type')==='legend')href=m.l?m.l[+i]:(m.s||[])[+s];else href=(m.p||{})[s+':'+i]||(m.s||[])[+s]||(m.c||[])[+i];}}if(href){e.preventDefault();location.href=href;}});`;

export function renderDashboardHtml(d: CompiledDashboard, data: Map<string, TileData>, meta: RenderMeta, prerendered?: Map<string, string>, opts: PageOptions = {}): string {
  const dash = d.dashboard;
  const links = opts.links ?? legacyLinks(d);
  const colors = opts.colors ?? new CategoryColors();
  const tabTitles = new Map(d.tabs.map((t) => [t.name, t.title]));
  const defined = new Map(dash.filters.map((f) => [f.name, f]));
  const shownTabs = opts.tab ? d.tabs.filter((t) => t.name === opts.tab) : d.tabs;
  const applied = opts.applied ?? {};
  const ownPage = `${dash.name}.html`;
  const chips: string[] = [];
  const chipText: string[] = [];
  const chip = (name: string, label: string, v: string) => {
    const set = Object.hasOwn(applied, name);
    // a filter a drill-down set: "Capability code_review ✕ clear" back to the dashboard's own page
    const clear = set ? ` <a class="clear" href="${escapeHtml(links.href(ownPage, tabAnchor(opts.tab ?? d.tabs[0].name)))}" title="the page without this filter">✕ clear</a>` : '';
    chips.push(`<span class="chip${set ? ' set' : ''}" data-filter="${escapeHtml(name)}"><span class="k">${escapeHtml(label)}</span>${escapeHtml(v)}${clear}</span>`);
    chipText.push(`${label}: ${v}`);
  };
  for (const f of dash.filters) chip(f.name, f.label ?? f.name, Object.hasOwn(applied, f.name) ? filterValue(f.type, applied[f.name], true) : filterValue(f.type, meta.filters[f.name]));
  for (const name of Object.keys(meta.filters).sort()) if (!defined.has(name)) chip(name, name, filterValue(undefined, meta.filters[name]));
  // the tab being viewed is underlined (no script: :has() on the targeted section)
  const activeCss = opts.tab
    ? `nav.tabbar a[href="#tab-${opts.tab}"]`
    : d.tabs
        .map((t, i) => {
          const sel = `body:has(#tab-${t.name}:target) nav.tabbar a[href="#tab-${t.name}"]`;
          const first = i === 0 ? `,body:not(:has(section.tab:target)) nav.tabbar a[href="#tab-${t.name}"]` : '';
          return `${sel}${first}`;
        })
        .join(',');
  const css = `${CSS}${activeCss}{color:#1d4ed8;border-bottom-color:#2563eb}\n`;
  let drills = false;
  const sections = shownTabs.map((tab) => {
    const tiles = [...tab.tiles].sort((a, b) => a.tile.layout.y - b.tile.layout.y || a.tile.layout.x - b.tile.layout.x);
    const { rows, html } = fitRows(tiles.map((ct) => ({ layout: ct.tile.layout, html: prerendered?.get(ct.tile.id) ?? tileHtml(d, ct, data.get(ct.tile.id), tabTitles, links, colors) })));
    if (html.some((x) => x.includes(' data-drill="'))) drills = true;
    return [
      `<section class="tab" id="tab-${escapeHtml(tab.name)}" data-tab="${escapeHtml(tab.name)}" data-title="${escapeHtml(tab.title)}">`,
      // as of when: in every tab, so each screenshot of one says it
      `<div class="tab-head"><h2>${escapeHtml(tab.title)}</h2><span class="tab-context">${escapeHtml([dash.title, ...chipText].join(' · '))}</span><span class="tab-asof">as of <time datetime="${escapeHtml(meta.generatedAt)}">${escapeHtml(asOf(meta.generatedAt))}</time></span></div>`,
      `<div class="grid" style="grid-template-rows:repeat(${rows},${ROW_HEIGHT}px)">`,
      ...html,
      `</div></section>`,
    ].join('\n');
  });
  // a drill-down page's other tabs are the dashboard's own (unfiltered)
  const tabHref = (name: string) => (shownTabs.some((t) => t.name === name) ? `#${tabAnchor(name)}` : links.href(ownPage, tabAnchor(name)));
  return [
    ...pageHead(dash.title, css),
    '</head>',
    `<body data-dashboard="${escapeHtml(dash.name)}">`,
    `<header class="top"><div class="top-row"><div><h1>${escapeHtml(dash.title)}</h1>${dash.description ? `<p class="lede">${escapeHtml(dash.description)}</p>` : ''}</div>`,
    `<div class="meta">target <b>${escapeHtml(meta.target)}</b><br>generated ${escapeHtml(meta.generatedAt)}</div></div>`,
    chips.length ? `<div class="filters">${chips.join('')}</div>` : '',
    `<div style="height:14px"></div></header>`,
    `<nav class="tabbar"><div class="inner">${d.tabs.map((t) => `<a href="${escapeHtml(tabHref(t.name))}">${escapeHtml(t.title)}</a>`).join('')}</div></nav>`,
    '<main>',
    ...sections,
    '</main>',
    `<footer>Vigil · ${escapeHtml(d.project)} · ${escapeHtml(d.file)} · models: ${escapeHtml(d.models.join(', '))}</footer>`,
    ...(drills ? [`<script>${DRILL_SCRIPT}</script>`] : []),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The Copy button of a raw-rows page: the SQL to the clipboard (a selection to copy by hand where the clipboard is refused, e.g. file://). */
const COPY_SCRIPT = `document.addEventListener('click',function(e){var b=e.target instanceof Element&&e.target.closest('button[data-copy]');if(!b)return;var el=document.getElementById(b.getAttribute('data-copy'));var text=el.textContent;var done=function(ok){b.textContent=ok?'Copied':'Press Ctrl+C';setTimeout(function(){b.textContent='Copy';},1500);};var sel=function(){var r=document.createRange();r.selectNodeContents(el);var s=getSelection();s.removeAllRanges();s.addRange(r);var ok=false;try{ok=document.execCommand('copy');}catch(x){}done(ok);};if(navigator.clipboard&&window.isSecureContext)navigator.clipboard.writeText(text).then(function(){done(true);},sel);else sel();});`;

/** A raw value as a cell: a time to the second (UTC), numbers as numbers, the rest as text. */
function rawCell(v: unknown): string {
  if (v == null) return '';
  const d = v instanceof Date ? v : undefined;
  if (d) return Number.isNaN(d.getTime()) ? '' : isMidnight(d) ? formatDate(d) : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatValue(v);
  if (typeof v === 'object') return valueText(v);
  return String(v);
}

/** What a raw-rows page shows besides its rows. */
export interface RawRowsPage {
  d: CompiledDashboard;
  ct: CompiledTile;
  /** the row's values by column ({ capability: 'code_review', created_at: '2026-11-19' }) */
  values: Record<string, string | number | boolean>;
  /** the query, in the target's dialect */
  sql: string;
  data: TileData | undefined;
  links: PageLinks;
  generatedAt: string;
  target: string;
}

/**
 * The page of one table row's raw rows (`raw_rows`): the query (copyable), then the rows it
 * returns, newest first when it has a `day`. Content columns are never in it (compile/masking.ts
 * `withheldBecause`).
 */
export function renderRawRowsHtml(p: RawRowsPage): string {
  const rr = p.ct.rawRows!;
  const dash = p.d.dashboard;
  const tabTitle = p.d.tabs.find((t) => t.name === p.ct.tab)?.title ?? p.ct.tab;
  const back = p.links.href(`${dash.name}.html`, tabAnchor(p.ct.tab));
  const conds = [
    ...Object.keys(rr.match).map((c) => `${c} = ${String(p.values[c])}`),
    ...(rr.day ? [`${rr.day.column} on ${String(p.values[rr.day.column])} (${(p.data?.ok && p.data.zone) || 'UTC'})`] : []),
  ];
  const title = `${rr.label}: ${conds.join(', ')}`;
  let body: string;
  const data = p.data;
  if (!data) body = `<div class="nodata">No data (the query was not run)</div>`;
  else if (!data.ok) body = `<div class="error" role="alert"><strong>Query failed</strong><pre>${escapeHtml(data.error)}</pre></div>`;
  else if (!data.rows.length) body = `<div class="nodata">No rows</div>`;
  else {
    const head = rr.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
    const rows = data.rows.map((r) => `<tr>${rr.columns.map((c) => `<td${typeof r[c] === 'number' || typeof r[c] === 'bigint' ? ' class="num"' : ''}>${escapeHtml(rawCell(r[c]))}</td>`).join('')}</tr>`);
    body = `<div class="table-wrap raw"><table data-raw-rows><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  }
  // newest first by the day column; without one the query has no order by, and the page says none
  // cut at its limit: "first 100 of 4,042 rows", as a table tile says it
  const n = data?.ok ? data.rows.length : 0;
  const total = data?.ok ? data.total : undefined;
  const cut = n >= rr.limit && (total === undefined || total > n);
  const rowsText = cut ? (total === undefined ? `first ${formatValue(n, 'integer')} rows` : `first ${formatValue(n, 'integer')} of ${formatValue(total, 'integer')} rows`) : `${formatValue(n, 'integer')} row${n === 1 ? '' : 's'}`;
  const order = rr.day ? ', newest first.' : cut ? ' the warehouse returned.' : '.';
  const count = data?.ok ? `${rowsText}${order}` : '';
  const masked = `Prompt and response content and columns marked as PII are never selected${rr.withheld.length ? ` (withheld from ${rr.model}: ${rr.withheld.join(', ')})` : ''}.`;
  return [
    ...pageHead(`${title} — ${dash.title}`, `${CSS}.raw-page{max-width:${GRID_WIDTH + 48}px;margin:0 auto;padding:16px 24px}.sql-box{position:relative;background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;margin:0 0 16px}.sql-box pre{margin:0;white-space:pre-wrap;word-break:break-word;font:12px/1.5 ui-monospace,"DejaVu Sans Mono",monospace}.sql-box button{position:absolute;top:8px;right:8px;font:12px ${PAGE_FONT};padding:3px 10px;border:1px solid #c7d2fe;background:#eef2ff;color:#3730a3;border-radius:6px;cursor:pointer}.raw-rows{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px}.table-wrap.raw{height:auto;max-height:none}`),
    '</head>',
    `<body data-dashboard="${escapeHtml(dash.name)}" data-raw-tile="${escapeHtml(p.ct.tile.id)}">`,
    `<header class="top"><div class="top-row"><div><h1>${escapeHtml(title)}</h1><p class="lede">Rows of ${escapeHtml(rr.model)} behind a row of <a href="${escapeHtml(back)}">${escapeHtml(`${dash.title} › ${tabTitle} › ${p.ct.tile.title}`)}</a></p></div>`,
    `<div class="meta">target <b>${escapeHtml(p.target)}</b><br>as of <time datetime="${escapeHtml(p.generatedAt)}">${escapeHtml(asOf(p.generatedAt))}</time></div></div>`,
    `<div class="filters">${conds.map((c) => `<span class="chip set">${escapeHtml(c)}</span>`).join('')}</div><div style="height:14px"></div></header>`,
    '<main class="raw-page">',
    `<section class="sql-box" aria-label="SQL"><button type="button" data-copy="raw-sql">Copy</button><pre id="raw-sql">${escapeHtml(p.sql)}</pre></section>`,
    `<section class="raw-rows"><p class="muted small">${escapeHtml(count)} ${escapeHtml(masked)}</p>${body}</section>`,
    '</main>',
    `<footer>Vigil · ${escapeHtml(p.d.project)} · ${escapeHtml(p.d.file)} · tile ${escapeHtml(p.ct.tile.id)} · raw_rows of ${escapeHtml(rr.model)}</footer>`,
    `<script>${COPY_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The start of every page Vigil writes, up to its styles: no icon (a browser would ask a static server for /favicon.ico, a 404 in every site). */
function pageHead(title: string, css: string): string[] {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<link rel="icon" href="data:,">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="vigil">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${css}</style>`,
  ];
}
