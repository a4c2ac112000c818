/**
 * The one duration grammar of Vigil, for every flag and every YAML key: a number and a unit,
 * repeated — `30s`, `15m`, `1h30m`, `2d`, `1w`, `1y`, `1.5h`, `500ms`. Units: ms, s, m, h, d, w,
 * y (365 days, as in Prometheus and Alertmanager).
 * Anything else (a bare number, `1 hour`, `P1D`) is refused with what was expected.
 */
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

export const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/;
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

/** Milliseconds, or an Error naming `what` (a flag or a key) and the grammar. */
export function parseDuration(what: string, text: string, opts: { min?: number } = {}): number | Error {
  const ms = durationMs(text);
  if (Number.isNaN(ms)) return new Error(`${what} must be ${DURATION_HELP}, got '${text}'`);
  if (opts.min !== undefined && ms < opts.min) return new Error(`${what} must be at least ${formatDuration(opts.min)}, got '${text}'`);
  return ms;
}

/** The zod type of every duration in YAML. */
export const Duration = z.string().refine((v) => !Number.isNaN(durationMs(v)), { message: `must be ${DURATION_HELP}` });

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
