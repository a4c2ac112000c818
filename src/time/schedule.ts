/**
 * Schedules: an IANA time zone and a cron expression (5 fields, or 6 with seconds first), checked
 * the way the scheduler (croner) will read them. Used by `vigil serve`'s schedules and the
 * alert rules' `schedule:`.
 */
import { Cron } from 'croner';
import { didYouMean } from '../errors.js';

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
  try {
    const c = new Cron(expr, { timezone, paused: true });
    if (!c.nextRun()) return `cron '${expr}' never fires`;
    return undefined;
  } catch (e) {
    return `cron '${expr}': ${fieldProblem(parts) ?? (e as Error).message.replace(/^CronPattern: /, '')}`;
  }
}

/**
 * The field of a refused cron expression at fault, said with what the user wrote and the values it
 * takes (croner's messages count day-of-month and month from 0: `0 0 0 * *` was "day: -1").
 */
function fieldProblem(parts: string[]): string | undefined {
  const spec = parts.length === 6 ? [{ name: 'seconds', min: 0, max: 59 }, ...CRON_FIELDS] : CRON_FIELDS;
  for (let i = 0; i < parts.length; i++) {
    const alone = parts.map((p, k) => (k === i ? p : '*')).join(' ');
    let why: string;
    try {
      new Cron(alone, { paused: true });
      continue;
    } catch (e) {
      why = (e as Error).message.replace(/^CronPattern: /, '');
    }
    const { name, min, max, names } = spec[i];
    const range = `${min}–${max}${names ? `, or ${names}` : ''}`;
    const field = parts[i];
    // the numbers of each list item, past a step (/5) or an nth weekday (#2)
    const numbers = field.split(',').flatMap((item) => item.split(/[/#]/)[0].match(/\d+/g) ?? []);
    const out = numbers.find((n) => Number(n) < min || Number(n) > max);
    if (out !== undefined) return `${name} ${out === field ? out : `'${field}': ${out}`} is out of range (${range})`;
    if (/^Invalid value for |illegal characters/.test(why)) return `${name} '${field}' is not valid (${range})`;
    return `${name} '${field}': ${why} (${range})`;
  }
  return undefined;
}
