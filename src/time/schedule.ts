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

/** A cron expression's problem (5 fields, or 6 with seconds first), or undefined. */
export function cronProblem(expr: string, timezone: string): string | undefined {
  const fields = expr.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) return `cron '${expr}' has ${fields} field${fields === 1 ? '' : 's'}: write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`;
  try {
    const c = new Cron(expr, { timezone, paused: true });
    if (!c.nextRun()) return `cron '${expr}' never fires`;
    return undefined;
  } catch (e) {
    return `cron '${expr}': ${(e as Error).message.replace(/^CronPattern: /, '')}`;
  }
}
