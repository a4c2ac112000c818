/**
 * The wall clock of an instant in an IANA time zone (Intl, one formatter per zone, kept): what
 * alert active hours, Alertmanager time intervals and a sync cursor's wall time are judged by.
 */

/** An instant's wall clock in a zone; `weekday` 0 = Sunday. */
export interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const WEEKDAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** per zone its formatter; null: a zone Intl does not know */
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatterOf(zone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      f = null;
    }
    formatters.set(zone, f);
  }
  return f;
}

/**
 * Make `zone`'s formatter now: the first one costs ICU's start-up (~20 ms), which a caller may
 * rather spend while it waits for something else.
 */
export function prepareZone(zone: string): void {
  formatterOf(zone);
}

/** The wall clock of `at` in `zone`; undefined for a zone Intl does not know (a POSIX `EST5EDT,...` spelling). */
export function zonedParts(at: Date | number, zone: string): ZonedParts | undefined {
  const f = formatterOf(zone);
  if (!f) return undefined;
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return { year: Number(p.year), month: Number(p.month), day: Number(p.day), hour: Number(p.hour), minute: Number(p.minute), second: Number(p.second), weekday: WEEKDAY.indexOf(String(p.weekday)) };
}

/** `zone`'s offset from UTC at epoch `ms`, in ms; undefined for a zone Intl does not know (a POSIX `EST5EDT,...` spelling). */
export function zoneOffsetMs(zone: string, ms: number): number | undefined {
  const p = zonedParts(ms, zone);
  if (!p) return undefined;
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The wall clock of the instant `ms` in `zone` as the epoch ms of that wall time read as UTC
 * (`zone`'s days, weeks and months are then UTC ones: what a session in that zone reads with
 * current_date and date_trunc); `ms` itself without a zone, or for one Intl does not know.
 */
export function wallMs(ms: number, zone: string | undefined): number {
  return zone ? ms + (zoneOffsetMs(zone, ms) ?? 0) : ms;
}

const HOUR = 3_600_000;

/**
 * The instants (epoch ms, each span [from, to)) whose wall clock in `zone` (a zone Intl knows)
 * shows the date `day` (its UTC midnight) between `startMin` (included) and `endMin` (excluded)
 * minutes after midnight — what a wall-clock check of each instant (active hours) holds, as
 * spans: one span, or on the day the clocks go back a span for each pass of a repeated time
 * (`02:00-02:45` in Europe/Berlin on 2026-10-25: 45 minutes twice); a time the clocks skip has
 * no instant (`02:30-04:00` on 2026-03-29 begins at 03:00, when the clocks jump there, not at
 * 03:30). One offset change at most is looked for around the day (no zone has two in two days).
 */
export function wallSpans(zone: string, day: number, startMin: number, endMin: number): Array<[number, number]> {
  const wallStart = day + startMin * 60_000;
  const wallEnd = day + endMin * 60_000;
  // (the date's instants lie within 14 hours before its UTC midnight and 12 after its end)
  let lo = Math.floor((day - 15 * HOUR) / 1000);
  let hi = Math.floor((day + 37 * HOUR) / 1000);
  const before = zoneOffsetMs(zone, lo * 1000)!;
  const after = zoneOffsetMs(zone, hi * 1000)!;
  if (before === after) return [[wallStart - before, wallEnd - before]];
  // the second the offset changes
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoneOffsetMs(zone, mid * 1000) === before) lo = mid;
    else hi = mid;
  }
  const change = hi * 1000;
  const spans: Array<[number, number]> = [];
  const first: [number, number] = [wallStart - before, Math.min(wallEnd - before, change)];
  const second: [number, number] = [Math.max(wallStart - after, change), wallEnd - after];
  if (first[0] < first[1]) spans.push(first);
  if (second[0] < second[1]) {
    if (spans.length && spans[0][1] === second[0]) spans[0] = [spans[0][0], second[1]];
    else spans.push(second);
  }
  return spans;
}
