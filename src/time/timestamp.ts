/**
 * The one timestamp grammar of Vigil's flags (--at, --now, --since, --until): ISO 8601, a date
 * (`2026-11-22`) or a date and time (`2026-11-22T09:00`, `2026-11-22 09:00:00.5`), with an
 * offset (`Z`, `+02:00`, `-0700`) or without one — then it is UTC, never the machine's zone
 * (the same command gives the same answer on a laptop in Berlin and a CI runner in Oregon).
 */
import { zoneOffsetMs } from './zoned.js';

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The instant `text` names, or an Error naming `what` and the grammar. */
export function parseTimestamp(what: string, text: string): Date | Error {
  const m = ISO_RE.exec(text.trim());
  const bad = () => new Error(`${what} must be an ISO 8601 timestamp like 2026-11-22T09:00:00Z or 2026-11-22 (UTC unless it has an offset like +02:00), got '${text}'`);
  if (!m) return bad();
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', off = 'Z'] = m;
  const offset = off.toUpperCase() === 'Z' ? 'Z' : off.length === 3 ? `${off}:00` : off.includes(':') ? off : `${off.slice(0, 3)}:${off.slice(3)}`;
  const ms = frac ? `.${frac.slice(1, 4).padEnd(3, '0')}` : '';
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${ms}${offset}`);
  if (Number.isNaN(date.getTime())) return bad();
  // reject dates that overflow (2026-02-31 would be March 3rd)
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return bad();
  return date;
}

/**
 * The instant (epoch ms) of wall time `text` ('2026-12-06 02:00:00.123', an offset it carries
 * ignored) in IANA zone `zone`, as Postgres reads `text::timestamp at time zone zone` but for the
 * hour a DST change repeats or skips (either offset may be taken: what `vigil sync status` says
 * of a lag is the one use). Undefined when the text or the zone is not understood.
 */
export function wallTimeMs(text: string, zone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?)?/.exec(text.trim());
  if (!m) return undefined;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)) + Math.round(Number(m[7] ?? 0) * 1000);
  const first = zoneOffsetMs(zone, wall);
  if (first === undefined) return undefined;
  const second = zoneOffsetMs(zone, wall - first)!;
  return wall - second;
}
