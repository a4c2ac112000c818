/**
 * Timers for long waits. A Node timer holds at most 2^31 - 1 ms (24.8 days): a longer one fires
 * after 1 ms (TimeoutOverflowWarning), so a long wait is armed in steps of it.
 */

/** The longest a Node timer waits (2^31 - 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How often a long wait looks at the wall clock again. Node's timers run on the monotonic clock,
 * which does not count a suspended VM's (or laptop's) sleep, nor move when NTP steps the wall
 * clock: a wait armed for 09:00 at 08:00 fired an hour after it was armed by that clock, hours
 * after 09:00 on the wall after a suspend. croner's own scheduler (`vigil alerts run-scheduler`)
 * looks every 30 s; serve every 5 s — a comparison, no I/O.
 */
export const WALL_CHECK_MS = 5_000;

/** Call `fire` at `at` (epoch ms, by the wall clock; at once when past), however far ahead. */
export function timerAt(at: number, fire: () => void): { cancel: () => void } {
  let t: NodeJS.Timeout;
  const arm = () => {
    const wait = at - Date.now();
    t = setTimeout(() => (at - Date.now() > 0 ? arm() : fire()), Math.min(Math.max(0, wait), WALL_CHECK_MS));
  };
  arm();
  return { cancel: () => clearTimeout(t) };
}
