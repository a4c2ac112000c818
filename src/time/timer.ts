/**
 * Timers for long waits. A Node timer holds at most 2^31 - 1 ms (24.8 days): a longer one fires
 * after 1 ms (TimeoutOverflowWarning), so a long wait is armed in steps of it.
 */

/** The longest a Node timer waits (2^31 - 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Call `fire` at `at` (epoch ms; at once when past), however far ahead. */
export function timerAt(at: number, fire: () => void): { cancel: () => void } {
  let t: NodeJS.Timeout;
  const arm = () => {
    const wait = at - Date.now();
    t = setTimeout(() => (wait > MAX_TIMER_MS ? arm() : fire()), Math.min(Math.max(0, wait), MAX_TIMER_MS));
  };
  arm();
  return { cancel: () => clearTimeout(t) };
}
