/**
 * A table row's raw-row action (tile key `raw_rows`, schema.ts): the raw rows of a model that
 * match the row — e.g. the audit log rows of the row's capability on the row's day — as a
 * copyable SQL query in the warehouse's dialect and, on the static site, a page per row
 * listing them (render.ts, dashboards-commands.ts). Pure.
 *
 * What may be shown is decided by the masking policy (compile/masking.ts, `withheldBecause`): a
 * column with a policy — marked PII, named like prompt or response content, or given `policy:` —
 * is never selected.
 */
import type { Dialect } from '../adapters/dialect.js';
import type { FilterValue } from './tile-sql.js';
import { scalar } from './site.js';
import type { CompiledTile } from './types.js';
import { wallMs, wallSpans, zoneOffsetMs } from '../time/zoned.js';

/** A raw-row action as compiled: what the SQL of a row needs. */
export interface CompiledRawRows {
  label: string;
  model: string;
  /** the model's relation spelled for the target */
  relation: string;
  /** column -> value template over the tile's row ({{ field }}) */
  match: Record<string, string>;
  /** the timestamp (or date) column whose day is the row's: [day, day + 1) */
  day?: { column: string; value: string; type?: string };
  columns: string[];
  /** the model's declared columns the masking policy withholds (said on the page) */
  withheld: string[];
  limit: number;
  readFilter?: string;
  columnTypes: Record<string, string>;
}

const EXACT = /^\s*\{\{\s*([A-Za-z_]\w*)\s*\}\}\s*$/;
const TEMPLATE = /\{\{\s*([A-Za-z_]\w*)\s*\}\}/g;

/** A row's day: YYYY-MM-DD from a date (or a timestamp's UTC day; an instant's day in `zone`, wallMs); undefined when it is none. */
export function dayOf(v: unknown, zone?: string): string | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : new Date(wallMs(v.getTime(), zone)).toISOString().slice(0, 10);
  if (typeof v === 'string') {
    const m = /^(\d{4}-\d{2}-\d{2})(?:$|[T ])/.exec(v.trim());
    if (m && !Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) return m[1];
  }
  return undefined;
}

/**
 * What one row's raw rows are: the match columns' values and the day, by column name; undefined
 * when the row has no value for a field they need. `zone`: the session's TimeZone when the day's
 * field is an instant there (Site.dayZone): its day is that zone's, as the tile's label is.
 */
export function rawRowValues(rr: CompiledRawRows, row: Record<string, unknown>, zone?: string): Record<string, FilterValue> | undefined {
  const out: Record<string, FilterValue> = {};
  for (const [col, tpl] of Object.entries(rr.match)) {
    const exact = EXACT.exec(tpl);
    if (exact) {
      const v = scalar(row[exact[1]]);
      if (v === undefined) return undefined;
      out[col] = v;
      continue;
    }
    let missing = false;
    out[col] = tpl.replace(TEMPLATE, (_m, f: string) => {
      const v = scalar(row[f]);
      if (v === undefined) missing = true;
      return v === undefined ? '' : String(v);
    });
    if (missing) return undefined;
  }
  if (rr.day) {
    const f = EXACT.exec(rr.day.value)![1];
    const day = dayOf(row[f], zone);
    if (!day) return undefined;
    out[rr.day.column] = day;
  }
  return out;
}

const isTimestamp = (type: string | undefined) => /timestamp|datetime/i.test(type ?? '');

/**
 * The first instant of `day` (YYYY-MM-DD) in the session's `zone` (Adapter.sessionZone), where the
 * tile's `current_date`, `date_trunc` and `::date` put the row's day; UTC midnight without one (or
 * for a zone Intl does not know).
 */
function dayStart(day: string, zone: string | undefined): Date {
  const utc = Date.parse(`${day}T00:00:00Z`);
  if (!zone || zone === 'UTC' || zoneOffsetMs(zone, utc) === undefined) return new Date(utc);
  return new Date(wallSpans(zone, utc, 0, 24 * 60)[0][0]);
}

/** The midnight starting `day` (YYYY-MM-DD; the session zone's, dayStart) as a literal of the dialect: a timestamp for a timestamp column, else a date. */
function dayBound(dialect: Dialect, day: string, type: string | undefined, zone?: string): string {
  // the dialect's own spelling of a fixed instant (the one --at binds current_timestamp to): no session time zone involved
  return isTimestamp(type) ? dialect.bindEvalTime(dialect.current_timestamp(), dayStart(day, zone)) : dialect.bindEvalTime(dialect.current_date(), new Date(`${day}T00:00:00Z`));
}

/** The day after `day` (YYYY-MM-DD). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/**
 * The query of one row's raw rows, in the target's dialect: values as literals (strings quoted,
 * quotes doubled), the day as a range on the bare column (`created_at >= <day> and created_at <
 * <day + 1>`, no function on the column, so a partition or index on it is used), newest first.
 * `until`: a render --at a past moment; a timestamp day column then stops there when it falls
 * before the day's end (the page is "as of" it, as the raw-row tiles' windows are). A date column
 * holds whole days: it cannot be cut.
 */
export function rawRowsSql(rr: CompiledRawRows, values: Record<string, FilterValue>, dialect: Dialect, until?: Date, zone?: string): string {
  const q = (c: string) => dialect.quoteIdent(c);
  const order = rr.day ? `${q(rr.day.column)} desc` : undefined;
  return [`select ${rr.columns.map(q).join(', ')}`, `from ${rr.relation}`, ...rawRowsWhere(rr, values, dialect, until, zone), ...(order ? [`order by ${order}`] : []), `limit ${rr.limit}`].join('\n');
}

/** The rows rawRowsSql selects, counted without its limit (the page says "first 100 of 4,042 rows"). */
export function rawRowsCountSql(rr: CompiledRawRows, values: Record<string, FilterValue>, dialect: Dialect, until?: Date, zone?: string): string {
  return [`select count(*) as ${dialect.quoteIdent('n')}`, `from ${rr.relation}`, ...rawRowsWhere(rr, values, dialect, until, zone)].join('\n');
}

/** The WHERE clause of a row's raw rows (as a list of lines: none without conditions). */
function rawRowsWhere(rr: CompiledRawRows, values: Record<string, FilterValue>, dialect: Dialect, until?: Date, zone?: string): string[] {
  const q = (c: string) => dialect.quoteIdent(c);
  const where: string[] = [];
  if (rr.readFilter) where.push(rr.readFilter);
  for (const col of Object.keys(rr.match)) where.push(`${q(col)} = ${dialect.literal(values[col])}`);
  if (rr.day) {
    const day = String(values[rr.day.column]);
    const c = q(rr.day.column);
    const end = nextDay(day);
    // (--at inside the day, or before it: no row written after that moment)
    const cut = until && isTimestamp(rr.day.type) && until.getTime() < dayStart(end, zone).getTime();
    where.push(`${c} >= ${dayBound(dialect, day, rr.day.type, zone)}`, `${c} < ${cut ? dialect.bindEvalTime(dialect.current_timestamp(), until) : dayBound(dialect, end, rr.day.type, zone)}`);
  }
  return where.length ? [`where ${where.join('\n  and ')}`] : [];
}

/** The fields of the tile a raw-row action reads from the row. */
export function rawRowFields(ct: CompiledTile): string[] {
  const rr = ct.rawRows;
  if (!rr) return [];
  const out: string[] = [];
  for (const tpl of [...Object.values(rr.match), ...(rr.day ? [rr.day.value] : [])]) for (const m of tpl.matchAll(TEMPLATE)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}
