/**
 * Alertmanager's time intervals (`time_intervals:` at the top of routes.yaml, named by a
 * route's `mute_time_intervals` / `active_time_intervals`): each named entry is a list of
 * intervals; an interval holds when every field it gives holds (a missing field is "any").
 *
 *   times: [{ start_time: '09:00', end_time: '17:00' }]   start inclusive, end exclusive, 00:00–24:00
 *   weekdays: ['monday:friday', 'saturday']
 *   days_of_month: ['1:5', '-3:-1']                       negative: from the end of the month
 *   months: ['january:march', '12']
 *   years: ['2026:2027']
 *   location: 'Europe/Berlin'                              default UTC
 *
 * Their YAML schema is in schema.ts: this module (an evaluation's) loads no zod.
 */
import type { NamedTimeInterval, TimeIntervalIn } from './schema.js';
import { zonedParts } from '../time/zoned.js';

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

interface Range {
  from: number;
  to: number;
}

interface Compiled {
  times?: Range[];
  weekdays?: Range[];
  days?: Range[];
  months?: Range[];
  years?: Range[];
  location: string;
}

function minutes(t: string): number | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(t);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min !== 0)) return undefined;
  return h * 60 + min;
}

function named(v: string, names: string[], offset: number): number | undefined {
  const i = names.indexOf(v.toLowerCase());
  if (i >= 0) return i + offset;
  return INTEGER.test(v) ? Number(v) : undefined;
}

/** An integer as Go's strconv.Atoi reads it: `5`, `05`, `+5`, `-5`. */
const INTEGER = /^[-+]?\d+$/;

function ranges(items: string[] | undefined, parse: (v: string) => number | undefined, what: string, check: (r: Range) => string | undefined): Range[] | string | undefined {
  if (!items) return undefined;
  const out: Range[] = [];
  for (const item of items) {
    const [a, b, extra] = item.split(':');
    if (extra !== undefined) return `${what} '${item}' is not a value or a range 'a:b'`;
    // no spaces around the ends, as Alertmanager reads them ('monday : friday' is refused there)
    const from = parse(a);
    const to = b === undefined ? from : parse(b);
    if (from === undefined || to === undefined) return `${what} '${item}' is not valid`;
    const bad = check({ from, to });
    if (bad) return `${what} '${item}': ${bad}`;
    out.push({ from, to });
  }
  return out;
}

/** Validate and compile one interval; a message when it is not valid. */
export function compileInterval(ti: TimeIntervalIn): Compiled | string {
  // `Local` is the machine's own zone, as in Alertmanager
  // (an empty location is UTC, as in Alertmanager)
  const c: Compiled = { location: ti.location === 'Local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : ti.location || 'UTC' };
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: c.location }).resolvedOptions().timeZone;
  } catch {
    return `location '${c.location}' is not a known time zone`;
  }
  // zone names are exact in Alertmanager (Go reads the zone's file): 'utc' is refused there
  if (resolved !== c.location && resolved.toLowerCase() === c.location.toLowerCase()) return `location '${c.location}' is not a known time zone (did you mean '${resolved}'?)`;
  if (ti.times) {
    c.times = [];
    for (const t of ti.times) {
      const from = minutes(t.start_time);
      const to = minutes(t.end_time);
      if (from === undefined || to === undefined) return `times: '${t.start_time}'–'${t.end_time}' must be HH:MM between 00:00 and 24:00`;
      if (from >= to) return `times: start_time ${t.start_time} must be before end_time ${t.end_time}`;
      c.times.push({ from, to });
    }
  }
  const order = (r: Range) => (r.from > r.to ? 'the start comes after the end' : undefined);
  // weekdays by name only, as Alertmanager has them
  const wd = ranges(ti.weekdays, (v) => (WEEKDAYS.includes(v.toLowerCase()) ? WEEKDAYS.indexOf(v.toLowerCase()) : undefined), 'weekday', order);
  // as Alertmanager checks a range's ends: a negative start needs a negative end, and a negative
  // day counts back from the shortest month's end (28 days): '1:-1' (the whole month) and
  // '25:-3' are ranges, '26:-3' is not (in February it would end before it starts)
  const day28 = (d: number) => (d < 0 ? 28 + d : d);
  const dm = ranges(ti.days_of_month, (v) => (INTEGER.test(v) ? Number(v) : undefined), 'day of month', (r) =>
    r.from === 0 || r.to === 0 || Math.abs(r.from) > 31 || Math.abs(r.to) > 31
      ? 'days are 1..31 or -31..-1'
      : r.from < 0 && r.to > 0
        ? 'a range that starts from the end of the month must end from it too (a negative end)'
        : day28(r.from) > day28(r.to)
          ? 'the start comes after the end in some months (a negative day counts from the end of a 28-day February)'
          : undefined,
  );
  const mo = ranges(ti.months, (v) => named(v, MONTHS, 1), 'month', (r) => (r.from < 1 || r.to > 12 ? 'months are 1..12 or january..december' : order(r)));
  const yr = ranges(ti.years, (v) => (/^\+?\d{4}$/.test(v) ? Number(v) : undefined), 'year', order);
  for (const r of [wd, dm, mo, yr]) if (typeof r === 'string') return r;
  c.weekdays = wd as Range[] | undefined;
  c.days = dm as Range[] | undefined;
  c.months = mo as Range[] | undefined;
  c.years = yr as Range[] | undefined;
  return c;
}

function parts(at: Date, tz: string) {
  // (a location is checked when the interval is compiled: Intl knows it)
  const p = zonedParts(at, tz)!;
  return { year: p.year, month: p.month, day: p.day, minute: p.hour * 60 + p.minute, weekday: p.weekday };
}

const inRanges = (rs: Range[] | undefined, v: number) => !rs || rs.some((r) => v >= r.from && v <= r.to);

export function intervalHolds(c: Compiled, at: Date): boolean {
  const p = parts(at, c.location);
  if (c.times && !c.times.some((r) => p.minute >= r.from && p.minute < r.to)) return false;
  if (!inRanges(c.weekdays, p.weekday)) return false;
  if (c.days) {
    const inMonth = new Date(Date.UTC(p.year, p.month, 0)).getUTCDate();
    const norm = (d: number) => (d < 0 ? inMonth + d + 1 : d);
    if (!c.days.some((r) => p.day >= norm(r.from) && p.day <= norm(r.to))) return false;
  }
  if (!inRanges(c.months, p.month)) return false;
  if (!inRanges(c.years, p.year)) return false;
  return true;
}

/** Whether the named interval list holds at `at` (any of its intervals). */
export function namedHolds(list: NamedTimeInterval | undefined, at: Date): boolean {
  if (!list) return false;
  return list.time_intervals.some((ti) => {
    const c = compileInterval(ti);
    return typeof c !== 'string' && intervalHolds(c, at);
  });
}
