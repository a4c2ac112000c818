/** Below a gauge's first threshold (and the site's "good" color). */
export const GAUGE_BELOW = '#2f7d32';

/** A round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) at or above n: a scale's end. */
export function niceCeil(n: number): number {
  if (n <= 0) return n;
  const p = Math.pow(10, Math.floor(Math.log10(n)));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= n - 1e-12) return Number((m * p).toPrecision(6));
  return 10 * p;
}

export interface GaugeThreshold {
  value: number;
  color: string;
  label?: string;
}

export interface GaugeBand {
  min: number;
  max: number;
  color: string;
  label?: string;
}

/**
 * A gauge's colored bands, from its thresholds: one rule for the rendered page and for the
 * exports (Metabase's `gauge.segments`), so a BI tool shows the colors the site shows.
 * - The last threshold closes the scale (it is at or above `max`): each color runs up to its
 *   threshold, as gauges usually read — 15 green, 60 orange, 120 red on a 0–120 scale gives
 *   0–15 green, 15–60 orange, 60–120 red.
 * - Otherwise thresholds are lines, as on the other charts: `below` under the first, then each
 *   threshold's color from it up to the next one (or the end of the scale).
 */
export function gaugeBands(thresholds: GaugeThreshold[], max: number, below: string): GaugeBand[] {
  const th = [...thresholds].sort((a, b) => a.value - b.value);
  if (!th.length || !(max > 0)) return [];
  const out: GaugeBand[] = [];
  if (th[th.length - 1].value >= max) {
    let lo = 0;
    for (const t of th) {
      const hi = Math.min(Math.max(t.value, 0), max);
      if (hi > lo) out.push({ min: lo, max: hi, color: t.color, ...(t.label ? { label: t.label } : {}) });
      lo = Math.max(lo, hi);
    }
    return out;
  }
  let lo = 0;
  let cur: { color: string; label?: string } = { color: below };
  for (const t of th) {
    if (t.value > lo && t.value < max) {
      out.push({ min: lo, max: t.value, color: cur.color, ...(cur.label ? { label: cur.label } : {}) });
      lo = t.value;
    }
    cur = t;
  }
  out.push({ min: lo, max, color: cur.color, ...(cur.label ? { label: cur.label } : {}) });
  return out;
}
