/**
 * The largest and smallest of many numbers. `Math.max(...xs)` passes one argument per element and
 * overflows the call stack past ~120,000 of them (`vigil show --limit 130000`: "Maximum call stack
 * size exceeded"); these loop.
 */

/** The largest of `xs`, or `empty` when there are none (Math.max's -Infinity by default). */
export function maxOf(xs: Iterable<number>, empty = -Infinity): number {
  let m = -Infinity;
  let any = false;
  for (const x of xs) {
    any = true;
    if (x > m || Number.isNaN(x)) m = x;
    if (Number.isNaN(m)) return NaN;
  }
  return any ? m : empty;
}

/** The smallest of `xs`, or `empty` when there are none (Math.min's Infinity by default). */
export function minOf(xs: Iterable<number>, empty = Infinity): number {
  let m = Infinity;
  let any = false;
  for (const x of xs) {
    any = true;
    if (x < m || Number.isNaN(x)) m = x;
    if (Number.isNaN(m)) return NaN;
  }
  return any ? m : empty;
}
