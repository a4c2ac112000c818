/**
 * `run_started_at` as dbt users write it: dbt's is a Python `datetime` in UTC, read as
 * `{{ run_started_at.strftime('%Y-%m-%d') }}`, `.isoformat()`, `.year`... Vigil's prints as its
 * ISO 8601 text (`2026-01-01T10:00:00.000Z`, docs/models.md) and is text to every filter, slice
 * and string method as before; the datetime members below are what it has besides. A directive
 * or member Python's datetime does not have is an error, never printed as empty or as itself.
 */
import nunjucks from 'nunjucks';
import { didYouMean } from '../errors.js';
import { PY_TYPE_NAME } from './py-values.js';

const SafeString = (nunjucks as unknown as { runtime: { SafeString: new (s: string) => object } }).runtime.SafeString;

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The day of the year, 1-based (%j). */
function dayOfYear(d: Date): number {
  return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

/** The ISO 8601 year and week (%G, %V): the week holding the year's first Thursday is week 1. */
function isoWeek(d: Date): { year: number; week: number } {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const first = Date.UTC(t.getUTCFullYear(), 0, 1);
  return { year: t.getUTCFullYear(), week: Math.ceil(((t.getTime() - first) / 86_400_000 + 1) / 7) };
}

/** %U (weeks starting Sunday) and %W (starting Monday): days before the year's first such day are week 0. */
function weekOfYear(d: Date, mondayFirst: boolean): number {
  const wd = mondayFirst ? (d.getUTCDay() + 6) % 7 : d.getUTCDay();
  return Math.floor((dayOfYear(d) - 1 - wd + 7) / 7);
}

/** Python's strftime directives (the C standard's, as CPython documents them), for a UTC datetime. */
const DIRECTIVES: Record<string, (d: Date) => string> = {
  a: (d) => DAYS[d.getUTCDay()].slice(0, 3),
  A: (d) => DAYS[d.getUTCDay()],
  w: (d) => String(d.getUTCDay()),
  d: (d) => pad(d.getUTCDate()),
  b: (d) => MONTHS[d.getUTCMonth()].slice(0, 3),
  B: (d) => MONTHS[d.getUTCMonth()],
  m: (d) => pad(d.getUTCMonth() + 1),
  y: (d) => pad(d.getUTCFullYear() % 100),
  Y: (d) => pad(d.getUTCFullYear(), 4),
  H: (d) => pad(d.getUTCHours()),
  I: (d) => pad(d.getUTCHours() % 12 || 12),
  p: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
  M: (d) => pad(d.getUTCMinutes()),
  S: (d) => pad(d.getUTCSeconds()),
  f: (d) => pad(d.getUTCMilliseconds() * 1000, 6),
  z: () => '+0000',
  Z: () => 'UTC',
  j: (d) => pad(dayOfYear(d), 3),
  U: (d) => pad(weekOfYear(d, false)),
  W: (d) => pad(weekOfYear(d, true)),
  c: (d) => `${DIRECTIVES.a(d)} ${DIRECTIVES.b(d)} ${String(d.getUTCDate()).padStart(2, ' ')} ${DIRECTIVES.X(d)} ${d.getUTCFullYear()}`,
  x: (d) => `${DIRECTIVES.m(d)}/${DIRECTIVES.d(d)}/${DIRECTIVES.y(d)}`,
  X: (d) => `${DIRECTIVES.H(d)}:${DIRECTIVES.M(d)}:${DIRECTIVES.S(d)}`,
  G: (d) => pad(isoWeek(d).year, 4),
  u: (d) => String(d.getUTCDay() || 7),
  V: (d) => pad(isoWeek(d).week),
  '%': () => '%',
};

/** Python's `datetime.strftime(format)` of a UTC instant. */
export function strftime(d: Date, format: unknown): string {
  if (typeof format !== 'string' && !(format instanceof SafeString)) throw new Error(`strftime() argument 1 must be str, not ${format === undefined ? 'nothing' : typeof format}`);
  return String(format).replace(/%(.?)/g, (all, c: string) => {
    const f = DIRECTIVES[c];
    if (!f) throw new Error(`strftime: '${all}' is not a directive of Python's strftime (${c ? `it has %${Object.keys(DIRECTIVES).join(', %')}` : 'a format cannot end with %'})`);
    return f(d);
  });
}

const TIMESPECS = ['auto', 'hours', 'minutes', 'seconds', 'milliseconds', 'microseconds'];

/** The members a PyDateTime has besides a string's: Python datetime's, read-only. */
export const DATETIME_MEMBERS = ['strftime', 'isoformat', 'timestamp', 'weekday', 'isoweekday', 'year', 'month', 'day', 'hour', 'minute', 'second', 'microsecond'];

/** A UTC instant that prints as its ISO 8601 text and has Python datetime's members. */
export class PyDateTime extends (SafeString as unknown as new (s: string) => { toString(): string }) {
  readonly [PY_TYPE_NAME] = 'datetime.datetime';
  readonly #at: Date;
  constructor(at: Date) {
    super(at.toISOString());
    this.#at = new Date(at.getTime());
  }
  strftime(format: unknown): string {
    return strftime(this.#at, format);
  }
  /** Python's isoformat() of an aware UTC datetime: `2026-01-01T10:00:00.123000+00:00`. */
  isoformat(sep: unknown = 'T', timespec: unknown = 'auto'): string {
    if (typeof sep !== 'string' || sep.length !== 1) throw new Error('isoformat: sep must be one character');
    if (typeof timespec !== 'string' || !TIMESPECS.includes(timespec)) throw new Error(`isoformat: unknown timespec ${JSON.stringify(timespec)} (it takes ${TIMESPECS.join(', ')})`);
    const d = this.#at;
    const us = d.getUTCMilliseconds() * 1000;
    const spec = timespec === 'auto' ? (us ? 'microseconds' : 'seconds') : timespec;
    const parts = [DIRECTIVES.H(d), DIRECTIVES.M(d), DIRECTIVES.S(d)].slice(0, spec === 'hours' ? 1 : spec === 'minutes' ? 2 : 3).join(':');
    const frac = spec === 'milliseconds' ? `.${pad(d.getUTCMilliseconds(), 3)}` : spec === 'microseconds' ? `.${pad(us, 6)}` : '';
    return `${DIRECTIVES.Y(d)}-${DIRECTIVES.m(d)}-${DIRECTIVES.d(d)}${sep}${parts}${frac}+00:00`;
  }
  timestamp(): number {
    return this.#at.getTime() / 1000;
  }
  weekday(): number {
    return (this.#at.getUTCDay() + 6) % 7;
  }
  isoweekday(): number {
    return this.#at.getUTCDay() || 7;
  }
  get year(): number {
    return this.#at.getUTCFullYear();
  }
  get month(): number {
    return this.#at.getUTCMonth() + 1;
  }
  get day(): number {
    return this.#at.getUTCDate();
  }
  get hour(): number {
    return this.#at.getUTCHours();
  }
  get minute(): number {
    return this.#at.getUTCMinutes();
  }
  get second(): number {
    return this.#at.getUTCSeconds();
  }
  get microsecond(): number {
    return this.#at.getUTCMilliseconds() * 1000;
  }
}

/** Whether `key` is one of a PyDateTime's own members (looked up before its text's). */
export const isDateTimeMember = (obj: unknown, key: unknown): obj is PyDateTime => obj instanceof PyDateTime && typeof key === 'string' && DATETIME_MEMBERS.includes(key);

/** The did-you-mean of a member a PyDateTime has not. */
export const dateTimeHint = (key: string): string | undefined => didYouMean(key, DATETIME_MEMBERS);
