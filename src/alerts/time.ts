/**
 * Time for alerts: durations (the one grammar, time/duration.ts), active hours ("Mon-Fri 08:00-19:00
 * America/Los_Angeles") judged in their own time zone, and cron schedules (croner).
 */

export { durationMs, formatDuration } from '../time/duration.js';
import { prepareZone, wallSpans, zonedParts } from '../time/zoned.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface ActiveHours {
  days: Set<number>;
  startMin: number;
  endMin: number;
  timeZone: string;
  text: string;
}

/** Parse "Mon-Fri 08:00-19:00 America/Los_Angeles" (days optional: every day; zone optional: UTC). */
export function parseActiveHours(text: string): ActiveHours | string {
  const m = /^\s*(?:([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+)?(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})(?:\s+(\S+))?\s*$/.exec(text);
  if (!m) return `'${text}' is not like "Mon-Fri 08:00-19:00 America/Los_Angeles"`;
  const days = new Set<number>();
  if (m[1]) {
    const a = DAYS.indexOf(m[1].toLowerCase());
    const b = m[2] ? DAYS.indexOf(m[2].toLowerCase()) : a;
    if (a < 0 || b < 0) return `unknown day in '${text}' (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)`;
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  } else for (let d = 0; d < 7; d++) days.add(d);
  const startMin = Number(m[3]) * 60 + Number(m[4]);
  const endMin = Number(m[5]) * 60 + Number(m[6]);
  if (Number(m[4]) > 59 || Number(m[6]) > 59 || startMin > 24 * 60 || endMin > 24 * 60 || startMin >= endMin) return `'${text}': the hours must be HH:MM-HH:MM with the start before the end`;
  const timeZone = m[7] ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    return `'${text}': unknown time zone '${timeZone}' (use an IANA name like America/Los_Angeles)`;
  }
  return { days, startMin, endMin, timeZone, text };
}

/**
 * Make the formatters of these active hours' time zones now: the first one costs ICU's start-up
 * (~20 ms), which an evaluation spends while its warehouse opens rather than before its queries.
 */
export function prepareActiveHours(hours: Array<ActiveHours | undefined>): void {
  for (const h of hours) if (h) prepareZone(h.timeZone);
}

export function isActive(h: ActiveHours, at: Date): boolean {
  // (the zone is checked by parseActiveHours: Intl knows it)
  const p = zonedParts(at, h.timeZone)!;
  const min = p.hour * 60 + p.minute;
  return h.days.has(p.weekday) && min >= h.startMin && min < h.endMin;
}

/**
 * When the active period holding `at` began (today's start of the hours, in their zone: the
 * clocks' jump over a start they skip, the pass of a repeated start that holds `at`), as epoch
 * milliseconds; undefined when `at` is outside them.
 */
export function activeSince(h: ActiveHours, at: Date): number | undefined {
  if (!isActive(h, at)) return undefined;
  const p = zonedParts(at, h.timeZone)!;
  const t = at.getTime();
  return wallSpans(h.timeZone, Date.UTC(p.year, p.month - 1, p.day), h.startMin, h.endMin).find(([a, b]) => a <= t && t < b)?.[0];
}

/**
 * How much of (`from`, `to`] (epoch milliseconds) lies inside the active hours, in their zone:
 * each active day's period counted back from `to`, stopped once above `enough` (a silence that
 * began long ago is not measured to its start). A day the clocks change counts the hours its
 * wall clock shows (time/zoned.ts, wallSpans): a repeated hour twice, a skipped one not at all.
 */
export function activeWithin(h: ActiveHours, from: number, to: number, enough: number): number {
  const p = zonedParts(to, h.timeZone)!;
  let total = 0;
  for (let k = 0; total <= enough; k++) {
    const day = Date.UTC(p.year, p.month - 1, p.day - k);
    const spans = wallSpans(h.timeZone, day, h.startMin, h.endMin);
    if (Math.max(...spans.map(([, b]) => b), day + h.endMin * 60_000 - 14 * 3_600_000) <= from) break;
    if (h.days.has(new Date(day).getUTCDay())) for (const [a, b] of spans) total += Math.max(0, Math.min(b, to) - Math.max(a, from));
  }
  return total;
}

/** A cell value as epoch milliseconds (Date, ISO string, DuckDB timestamp text, date 'YYYY-MM-DD' as UTC midnight). */
export function toEpochMs(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const s = String(v).trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return Date.parse(`${s}T00:00:00Z`);
  // "2026-01-01 10:00:00[.123][+00]" -> ISO, UTC unless an offset is given
  let iso = s.replace(' ', 'T');
  if (/[+-]\d{2}$/.test(iso)) iso += ':00';
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(iso)) iso += 'Z';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}
