/**
 * The one duration grammar of Vigil, for every flag and every YAML key: a number and a unit,
 * repeated — `30s`, `15m`, `1h30m`, `2d`, `1w`, `1y`, `1.5h`, `500ms`. Units: ms, s, m, h, d, w,
 * y (365 days, as in Prometheus and Alertmanager).
 * Anything else (a bare number, `1 hour`, `P1D`) is refused with what was expected.
 *
 * A length of time (`durationMs`) counts a year as 365 days. A point that far back in time
 * (`durationBefore`, retention cutoffs) counts years on the calendar instead: 7y before
 * 2026-12-02 is 2019-12-02, not 2019-12-04 (7 × 365 days miss the leap days 2020 and 2024) —
 * a legal retention period of 7 years means the same date 7 years earlier.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

// units largest first, each at most once, as Prometheus and Alertmanager read them (`1h30m`;
// `30m1h` and `1h1h` are refused there, and here)
const N = '\\d+(?:\\.\\d+)?';
export const DURATION_RE = new RegExp(`^(?=\\d)(?:${N}y)?(?:${N}w)?(?:${N}d)?(?:${N}h)?(?:${N}m)?(?:${N}s)?(?:${N}ms)?$`);
/** Number-unit pairs in any order: a duration whose units are only out of order or repeated. */
const LOOSE_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;

export const DURATION_HELP = 'a duration like 30s, 15m, 1h30m, 2d or 1w (units ms, s, m, h, d, w, y)';

/** Milliseconds; NaN when `text` is not a duration. */
export function durationMs(text: string): number {
  const t = text;
  if (!DURATION_RE.test(t)) return NaN;
  let total = 0;
  for (const m of t.matchAll(PART_RE)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}

/** The units a duration names, in its order (`1y6m`: y, m); none when it is not a duration. */
export function durationUnits(text: string): string[] {
  return DURATION_RE.test(text) ? [...text.matchAll(PART_RE)].map((m) => m[2]) : [];
}

/**
 * The longest duration taken: Prometheus' (2^63 nanoseconds, 292 years). Longer ones have no
 * use and overflow dates (a retention cutoff 300,000 years back is not a date).
 */
export const MAX_DURATION_MS = 292 * UNIT_MS.y;
export const MAX_DURATION_HELP = 'at most 292y (as in Prometheus)';

/** What is wrong with `text` as a duration ('must be ...'), or undefined. */
export function durationProblem(text: string): string | undefined {
  const ms = durationMs(text);
  if (Number.isNaN(ms) && LOOSE_RE.test(text)) return `must name its units largest first, each once, like 1h30m (as in Prometheus and Alertmanager)`;
  if (Number.isNaN(ms)) return `must be ${DURATION_HELP}`;
  if (ms > MAX_DURATION_MS) return `must be ${MAX_DURATION_HELP}`;
  return undefined;
}

/** Milliseconds, or an Error naming `what` (a flag or a key) and the grammar. */
export function parseDuration(what: string, text: string, opts: { min?: number } = {}): number | Error {
  const ms = durationMs(text);
  const problem = durationProblem(text);
  if (problem) return new Error(`${what} ${problem}, got '${text}'`);
  if (opts.min !== undefined && ms < opts.min) return new Error(`${what} must be ${opts.min <= 1 ? 'more than 0s' : `at least ${formatDuration(opts.min)}`}, got '${text}'`);
  return ms;
}

/**
 * The instant `text` (a duration) before `at`: years on the calendar (UTC; 29 February goes to
 * 28 February in a year without one), every other unit as its fixed length (a day is 24 hours:
 * in UTC every day is). NaN-dated when `text` is not a duration.
 */
export function durationBefore(at: Date, text: string): Date {
  if (!DURATION_RE.test(text)) return new Date(NaN);
  let years = 0;
  let ms = 0;
  for (const m of text.matchAll(PART_RE)) {
    if (m[2] === 'y' && Number.isInteger(Number(m[1]))) years += Number(m[1]);
    else ms += Number(m[1]) * UNIT_MS[m[2]];
  }
  const d = new Date(at.getTime());
  if (years) {
    const month = d.getUTCMonth();
    d.setUTCFullYear(d.getUTCFullYear() - years);
    // 29 February in a year without one rolled over to 1 March: the last day of February
    if (d.getUTCMonth() !== month) d.setUTCDate(0);
  }
  return new Date(d.getTime() - ms);
}

/**
 * The longest span `text` (a duration) reaches back as durationBefore counts it: each whole year
 * on the calendar, n of them holding at most ceil(n / 4) leap days (7y is up to 2,557 days, not
 * 2,555). NaN when `text` is not a duration.
 */
export function longestDurationMs(text: string): number {
  if (!DURATION_RE.test(text)) return NaN;
  let ms = 0;
  for (const m of text.matchAll(PART_RE)) {
    const n = Number(m[1]);
    ms += n * UNIT_MS[m[2]] + (m[2] === 'y' && Number.isInteger(n) ? Math.ceil(n / 4) * UNIT_MS.d : 0);
  }
  return ms;
}

/** 5400000 -> '1h30m'. */
export function formatDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  return `${Math.floor(h / 24)}d${h % 24 ? `${h % 24}h` : ''}`;
}
