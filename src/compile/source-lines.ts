/**
 * Which line of a template produced a line of its rendering, so an error the warehouse or the
 * analyzer reports in compiled SQL points at the model file the user edits. Templates keep
 * their plain SQL lines as they are, so the two texts are aligned on equal lines (a longest
 * common subsequence); a rendered line that came out of template code (a macro, a ref) lies
 * between two aligned lines and is placed by its distance from the one before. The column is
 * kept only where the rendered line is the template line unchanged.
 */

/** The template line (1-based) of rendered line `n`, and the column when the line is verbatim. */
export function templatePosition(template: string, rendered: string, pos: { line: number; column?: number }): { line: number; column?: number } {
  const t = template.split('\n').map((l) => l.trimEnd());
  const r = rendered.split('\n').map((l) => l.trimEnd());
  const n = Math.min(Math.max(1, pos.line), r.length) - 1;
  const pairs = align(t, r);
  // the aligned pairs around rendered line n
  let before: [number, number] | undefined;
  let after: [number, number] | undefined;
  for (const p of pairs) {
    if (p[1] <= n) before = p;
    else {
      after = p;
      break;
    }
  }
  if (before && before[1] === n) return { line: before[0] + 1, column: pos.column };
  const guess = before ? before[0] + (n - before[1]) : n;
  const upper = after ? after[0] - 1 : t.length - 1;
  const lower = before ? before[0] + 1 : 0;
  const line = Math.max(lower, Math.min(guess, upper, t.length - 1));
  // the column holds up to where the rendered line starts to differ (e.g. at a {{ ref() }})
  const a = t[line] ?? '';
  const b = r[n] ?? '';
  let same = 0;
  while (same < a.length && same < b.length && a[same] === b[same]) same++;
  return { line: line + 1, ...(pos.column !== undefined && pos.column - 1 <= same ? { column: pos.column } : {}) };
}

/** Indices [template line, rendered line] of a longest common subsequence of equal, non-blank lines. */
function align(a: string[], b: string[]): Array<[number, number]> {
  // trim the equal head and tail first: most renders differ in a few lines only
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < head; i++) pairs.push([i, i]);
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  if (am.length && bm.length && am.length * bm.length <= 4_000_000) {
    const w = bm.length + 1;
    const dp = new Uint32Array((am.length + 1) * w);
    for (let i = am.length - 1; i >= 0; i--) {
      for (let j = bm.length - 1; j >= 0; j--) {
        dp[i * w + j] = am[i] === bm[j] && am[i] !== '' ? dp[(i + 1) * w + j + 1] + 1 : Math.max(dp[(i + 1) * w + j], dp[i * w + j + 1]);
      }
    }
    for (let i = 0, j = 0; i < am.length && j < bm.length; ) {
      if (am[i] === bm[j] && am[i] !== '') {
        pairs.push([head + i, head + j]);
        i++;
        j++;
      } else if (dp[(i + 1) * w + j] >= dp[i * w + j + 1]) i++;
      else j++;
    }
  }
  for (let k = tail; k > 0; k--) pairs.push([a.length - k, b.length - k]);
  return pairs;
}
