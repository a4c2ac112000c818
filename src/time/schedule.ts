/**
 * Schedules: an IANA time zone and a cron expression (5 fields, or 6 with seconds first), checked
 * the way the scheduler (croner) will read them. Used by `vigil serve`'s schedules and the
 * alert rules' `schedule:`.
 */
import { Cron } from 'croner';
import { didYouMean } from '../errors.js';

/** What a scheduler asks of a clock: its next slot after a time, its latest slots at or before one. */
export interface Clock {
  nextRun(after?: Date): Date | null;
  previousRuns(n: number, from?: Date): Date[];
}

/**
 * The slots of several crons taken together: serve's alerts job without cron wakes every minute
 * and at each slot of a rule whose cron has seconds (`*\/10 * * * * *`), as run-scheduler runs
 * each rule on its own cron, without waking every second for it.
 */
export class UnionClock implements Clock {
  constructor(private readonly clocks: Clock[]) {}

  nextRun(after?: Date): Date | null {
    const next = this.clocks.map((c) => c.nextRun(after)).filter((d): d is Date => !!d);
    return next.length ? new Date(Math.min(...next.map((d) => d.getTime()))) : null;
  }

  previousRuns(n: number, from?: Date): Date[] {
    const times = [...new Set(this.clocks.flatMap((c) => c.previousRuns(n, from)).map((d) => d.getTime()))];
    return times
      .sort((a, b) => b - a)
      .slice(0, n)
      .map((t) => new Date(t));
  }
}

/**
 * croner's options for a schedule Vigil keeps (serve's jobs, the alert rules' `schedule:`), so
 * that it runs as Vixie cron runs it:
 * - daylight saving: a job without a `*` or a step in its seconds, minutes and hours is a
 *   fixed-time job — `30 2,14 * * *` and `0 1-3 * * *` too, not only `30 2 * * *` — so a time the
 *   clocks skip runs right after the gap and a time they repeat runs once. croner's default took
 *   a list or a range for an interval job: the 02:30 of `30 2,14 * * *` in Europe/Berlin did not
 *   run on the spring-forward day, and the 01:00 of `0 1,13 * * *` in America/New_York ran twice
 *   on the fall-back day. (`*\/30 * * * *` stays an interval job: both passes of a repeated hour.)
 * - day of month and day of week: either one matching is enough only when both are restricted,
 *   i.e. neither starts with `*` (crontab(5)); `0 0 *\/2 * 1` runs on the Mondays that are odd days
 *   of the month. croner's default took either for any field but a bare `*`: every other day and
 *   every Monday.
 */
export function cronOptions(expr: string): { fixedTimeRule: 'no-wildcard'; domAndDow?: true } {
  const f = expr.trim().split(/\s+/);
  const [dom, dow] = f.length === 6 ? [f[3], f[5]] : f.length === 5 ? [f[2], f[4]] : [];
  const unrestricted = (x: string | undefined) => x !== undefined && /^[*?]/.test(x);
  return { fixedTimeRule: 'no-wildcard', ...(unrestricted(dom) || unrestricted(dow) ? { domAndDow: true as const } : {}) };
}

/** A schedule's clock: `expr` in `timezone`, as serve and the alert scheduler run it (cronOptions). */
export function cronClock(expr: string, timezone: string): Cron {
  return new Cron(expr, { timezone, paused: true, ...cronOptions(expr) });
}

/** A time zone's problem, or undefined when the runtime knows it. */
export function timezoneProblem(tz: string): string | undefined {
  // (a DateTimeFormat for a zone costs ~3 ms: each rule and schedule names one)
  if (!zoneProblems.has(tz)) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      zoneProblems.set(tz, undefined);
    } catch {
      const hint = timezoneHint(tz);
      zoneProblems.set(tz, `unknown time zone '${tz}'${hint ? ` — did you mean '${hint}'?` : ' (an IANA name such as UTC or America/Los_Angeles)'}`);
    }
  }
  return zoneProblems.get(tz);
}
const zoneProblems = new Map<string, string | undefined>();

/** The IANA time zone nearest to a mistyped one (`Europe/Pariss`: `Europe/Paris`). */
export function timezoneHint(tz: string): string | undefined {
  return didYouMean(tz, Intl.supportedValuesOf('timeZone').concat('UTC'));
}

/** The fields of a cron expression, in order, with the values each takes (5 fields; 6 put seconds first). */
const CRON_FIELDS: Array<{ name: string; min: number; max: number; names?: string }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: 'JAN–DEC' },
  { name: 'day-of-week', min: 0, max: 7, names: 'SUN–SAT' },
];

const NICKNAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** A cron expression's problem (5 fields, 6 with seconds first, or a nickname: @daily), or undefined. */
export function cronProblem(expr: string, timezone: string): string | undefined {
  const parts = expr.trim().split(/\s+/);
  const fields = parts.length;
  // Vixie cron's nicknames, as croner reads them (@reboot is no schedule: not one)
  if (/^@/.test(expr.trim())) {
    const nick = expr.trim().toLowerCase();
    if (!NICKNAMES.includes(nick)) {
      const hint = didYouMean(nick, NICKNAMES);
      return `cron '${expr}' is not a schedule: ${hint ? `did you mean '${hint}'? ` : ''}the nicknames are ${NICKNAMES.join(', ')}`;
    }
    return undefined;
  }
  if (fields < 5 || fields > 6) return `cron '${expr}' has ${fields} field${fields === 1 ? '' : 's'}: write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`;
  // every number against its field's values, as Vixie cron checks them: croner takes a stepped
  // range whose step never reaches a bad end (`1-60/5`, `0 0 1-32/10 * *`)
  const range = outOfRange(parts);
  if (range) return `cron '${expr}': ${range}`;
  try {
    const c = cronClock(expr, timezone);
    if (!c.nextRun()) return `cron '${expr}' never fires`;
    return undefined;
  } catch (e) {
    return `cron '${expr}': ${fieldProblem(parts) ?? (e as Error).message.replace(/^CronPattern: /, '')}`;
  }
}

/** The fields of an expression of `n` fields (6: seconds first). */
const fieldsOf = (n: number) => (n === 6 ? [{ name: 'seconds', min: 0, max: 59 }, ...CRON_FIELDS] : CRON_FIELDS);

/** `name min–max, or NAMES`: the values a field takes, as messages say them. */
const valuesOf = (f: { min: number; max: number; names?: string }) => `${f.min}–${f.max}${f.names ? `, or ${f.names}` : ''}`;

/**
 * The first number of an expression outside its field's values (`minute '1-60/5': 60 is out of
 * range (0–59)`): each list item's numbers, before a step (/5) or an nth weekday (#2).
 */
function outOfRange(parts: string[]): string | undefined {
  const spec = fieldsOf(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const field = parts[i];
    const { name, min, max } = spec[i];
    const numbers = field.split(',').flatMap((item) => item.split(/[/#]/)[0].match(/\d+/g) ?? []);
    const out = numbers.find((n) => Number(n) < min || Number(n) > max);
    if (out !== undefined) return `${name} ${out === field ? out : `'${field}': ${out}`} is out of range (${valuesOf(spec[i])})`;
  }
  return undefined;
}

/**
 * The field of a refused cron expression at fault, said with what the user wrote and the values it
 * takes (croner's messages count day-of-month and month from 0: `0 0 0 * *` was "day: -1").
 */
function fieldProblem(parts: string[]): string | undefined {
  const spec = fieldsOf(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const alone = parts.map((p, k) => (k === i ? p : '*')).join(' ');
    let why: string;
    try {
      new Cron(alone, { paused: true });
      continue;
    } catch (e) {
      why = (e as Error).message.replace(/^CronPattern: /, '');
    }
    const { name } = spec[i];
    const range = valuesOf(spec[i]);
    const field = parts[i];
    if (/^Invalid value for |illegal characters/.test(why)) return `${name} '${field}' is not valid (${range})`;
    return `${name} '${field}': ${why} (${range})`;
  }
  return undefined;
}
