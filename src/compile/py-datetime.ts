/**
 * `run_started_at` as dbt users write it: dbt's is a Python `datetime` in UTC, read as
 * `{{ run_started_at.strftime('%Y-%m-%d') }}`, `.isoformat()`, `.year`... Vigil's is its ISO 8601
 * text (`2026-01-01T10:00:00.000Z`, docs/models.md), a plain string to every test, filter, slice,
 * string method and config() value as before; the datetime members below are looked up on that
 * text (runInstant / dateTimeMember: only on the text of a run's start, not on any string). A
 * directive or member Python's datetime does not have is an error, never printed as empty or as
 * itself.
 */
import nunjucks from 'nunjucks';
import { didYouMean } from '../errors.js';

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
  // CPython hands the format to the C library: on Linux (glibc, where dbt runs) these too
  F: (d) => `${DIRECTIVES.Y(d)}-${DIRECTIVES.m(d)}-${DIRECTIVES.d(d)}`,
  T: (d) => DIRECTIVES.X(d),
  D: (d) => DIRECTIVES.x(d),
  R: (d) => `${DIRECTIVES.H(d)}:${DIRECTIVES.M(d)}`,
  r: (d) => `${DIRECTIVES.I(d)}:${DIRECTIVES.M(d)}:${DIRECTIVES.S(d)} ${DIRECTIVES.p(d)}`,
  e: (d) => String(d.getUTCDate()).padStart(2, ' '),
  k: (d) => String(d.getUTCHours()).padStart(2, ' '),
  l: (d) => String(d.getUTCHours() % 12 || 12).padStart(2, ' '),
  P: (d) => DIRECTIVES.p(d).toLowerCase(),
  C: (d) => pad(Math.floor(d.getUTCFullYear() / 100)),
  g: (d) => pad(isoWeek(d).year % 100),
  h: (d) => DIRECTIVES.b(d),
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  n: () => '\n',
  t: () => '\t',
};

/** Directives `-` does not go with (CPython's own: Python prints '%-f' as it is). */
const NOT_FLAGGED = new Set(['f', 'z', 'Z']);

/** glibc's `-` flag: the number without its padding (`%-d` is 6, not 06); on another directive, nothing. */
const UNPADDED = new Set(['d', 'm', 'H', 'I', 'M', 'S', 'j', 'y', 'U', 'W', 'V', 'G', 'C', 'g', 'e', 'k', 'l', 'Y', 'u', 'w', 's']);

/** Python's `datetime.strftime(format)` of a UTC instant. */
export function strftime(d: Date, format: unknown): string {
  if (typeof format !== 'string' && !(format instanceof SafeString)) throw new Error(`strftime() argument 1 must be str, not ${format === undefined ? 'nothing' : typeof format}`);
  return String(format).replace(/%(-?)(.?)/g, (all, flag: string, c: string) => {
    const f = DIRECTIVES[c];
    // (glibc's `-` on a directive that is not a number prints it as it is; on %f, %z, %Z CPython's
    // own directives, it does not apply: Python prints '%-f' itself)
    if (!f || (flag && NOT_FLAGGED.has(c))) throw new Error(`strftime: '${all}' is not a directive of Python's strftime (${c ? `it has %${Object.keys(DIRECTIVES).join(', %')}, and %-d, %-m... for a number without its padding (not %-f, %-z, %-Z)` : 'a format cannot end with %'})`);
    const v = f(d);
    return flag && UNPADDED.has(c) ? v.replace(/^[0 ]+(?=.)/, '') : v;
  });
}

const TIMESPECS = ['auto', 'hours', 'minutes', 'seconds', 'milliseconds', 'microseconds'];

/** A PyDateTime's members: Python datetime's, read-only; none is a string method. */
export const DATETIME_MEMBERS = ['strftime', 'isoformat', 'timestamp', 'weekday', 'isoweekday', 'year', 'month', 'day', 'hour', 'minute', 'second', 'microsecond'];

/** A UTC instant with Python datetime's members (templates get its ISO text: dateTimeMember). */
export class PyDateTime {
  readonly #at: Date;
  constructor(at: Date) {
    this.#at = new Date(at.getTime());
  }
  toString(): string {
    return this.#at.toISOString();
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

/** The texts of runs' starts (one a compile; the last few kept: a watch compiles again and again), each with its datetime. */
const INSTANTS = new Map<string, PyDateTime>();

/** A run's start as the text templates get (its ISO 8601 text), known to dateTimeMember as a datetime. */
export function runInstant(at: Date): string {
  const text = at.toISOString();
  INSTANTS.delete(text);
  INSTANTS.set(text, new PyDateTime(at));
  if (INSTANTS.size > 16) INSTANTS.delete(INSTANTS.keys().next().value!);
  return text;
}

/** Whether `v` is the text of a run's start (run_started_at). */
export const isRunInstant = (v: unknown): v is string => typeof v === 'string' && INSTANTS.has(v);

/**
 * `key` of the text of a run's start when it is one of a datetime's members (strftime as a
 * function, year as its number); undefined for anything else (its text's own members apply).
 */
export function dateTimeMember(obj: unknown, key: unknown): unknown {
  if (typeof obj !== 'string' || typeof key !== 'string' || !DATETIME_MEMBERS.includes(key)) return undefined;
  const dt = INSTANTS.get(obj);
  if (!dt) return undefined;
  const v = (dt as unknown as Record<string, unknown>)[key];
  return typeof v === 'function' ? (...a: unknown[]) => (v as (...x: unknown[]) => unknown).apply(dt, a) : v;
}

/** The did-you-mean of a member a PyDateTime has not. */
export const dateTimeHint = (key: string): string | undefined => didYouMean(key, DATETIME_MEMBERS);
