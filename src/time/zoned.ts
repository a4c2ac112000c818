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
