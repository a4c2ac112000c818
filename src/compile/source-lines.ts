/**
 * Which line of a template produced a line of its rendering, so an error the warehouse or the
 * analyzer reports in compiled SQL points at the model file the user edits. Templates keep
 * their plain SQL lines as they are, so the two texts are aligned on equal lines (a longest
 * common subsequence); the lines between two aligned ones are matched to the template lines
 * between, each template line a pattern whose template code stands for any text (so a macro
 * call that renders several lines takes them all, a loop's body each iteration), and a line
 * left unmatched is placed by its distance from the aligned one before. The column is kept only
 * where the rendered line starts as the template line does, or ends as it does (counted from the end).
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
  const upper = after ? after[0] - 1 : t.length - 1;
  const lower = before ? before[0] + 1 : 0;
  // the template lines between the aligned ones, matched as patterns (their template code
  // standing for any text, over several rendered lines) against the rendered lines between
  const block = gapBlocks(template, lower, upper, r, before ? before[1] + 1 : 0, after ? after[1] - 1 : r.length - 1).get(n);
  const guess = before ? before[0] + (n - before[1]) : n;
  const line = block ? block.line : Math.max(lower, Math.min(guess, upper, t.length - 1));
  // the column holds up to where the rendered line starts to differ (e.g. at a {{ ref() }}),
  // on the first line a template line renders to
  if (block && !block.first) return { line: line + 1 };
  const a = t[line] ?? '';
  const b = r[n] ?? '';
  let same = 0;
  while (same < a.length && same < b.length && a[same] === b[same]) same++;
  if (pos.column === undefined || pos.column - 1 <= same) return { line: line + 1, ...(pos.column !== undefined ? { column: pos.column } : {}) };
  // and from where they end alike (the text after a {{ source() }} on the line), counted from the end
  let tail = 0;
  while (tail < a.length - same && tail < b.length - same && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const fromEnd = b.length - (pos.column - 1);
  return { line: line + 1, ...(fromEnd > 0 && fromEnd <= tail ? { column: a.length - fromEnd + 1 } : {}) };
}

const TAG = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g;
/** the widest gap matched line by line (template lines x rendered lines), and the most lines one template line renders to */
const MAX_GAP = 10_000;
const MAX_BLOCK = 100;
/** the most characters the matching compares in one gap (~50 ms) */
const MAX_WORK = 20_000_000;

/**
 * A template line as a pattern: its text outside template code, in pieces the code separates
 * (whitespace left out: code may trim it, {%- -%}); whether it holds code, and whether it holds
 * an expression (`{{ }}`, which may render to several lines).
 */
interface LinePattern {
  pieces: string[];
  code: boolean;
  expression: boolean;
  literal: number;
}

function linePatterns(template: string): LinePattern[] {
  // every character inside template code (tags may span lines)
  const code = new Uint8Array(template.length);
  const expr = new Uint8Array(template.length);
  for (const m of template.matchAll(TAG)) {
    code.fill(1, m.index, m.index + m[0].length);
    if (m[0].startsWith('{{')) expr.fill(1, m.index, m.index + m[0].length);
  }
  const out: LinePattern[] = [];
  let start = 0;
  for (const line of template.split('\n')) {
    const p: LinePattern = { pieces: [''], code: false, expression: false, literal: 0 };
    let lastCode = false;
    for (let i = 0; i < line.length; i++) {
      const c = code[start + i] === 1;
      if (c) {
        p.code = true;
        p.expression ||= expr[start + i] === 1;
        if (!lastCode) p.pieces.push('');
      } else if (!/\s/.test(line[i])) {
        p.pieces[p.pieces.length - 1] += line[i];
        p.literal++;
      }
      lastCode = c;
    }
    out.push(p);
    start += line.length + 1;
  }
  return out;
}

/** Whether `text` (whitespace left out) is the line's pieces with anything in place of its code. */
function matches(p: LinePattern, text: string): boolean {
  const ps = p.pieces;
  if (!p.code) return text === ps[0];
  // a line of {% %} or {# #} alone renders blank (or nothing)
  if (!p.expression && !p.literal) return text === '';
  const first = ps[0];
  const last = ps[ps.length - 1];
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  // the pieces between, leftmost first (any text matches code)
  let at = first.length;
  const end = text.length - last.length;
  for (let k = 1; k < ps.length - 1; k++) {
    if (!ps[k]) continue;
    const found = text.indexOf(ps[k], at);
    if (found < 0 || found + ps[k].length > end) return false;
    at = found + ps[k].length;
  }
  return true;
}

/**
 * Rendered lines `r0..r1` assigned to template lines `t0..t1` (both inclusive). Each template line
 * takes a run of consecutive rendered lines its pattern matches as a whole (one line for plain
 * SQL, a blank one for a {% %} line, one or more for a line with {{ }}), in order, keeping as
 * much of the template's text as possible, then as many template lines, in the fewest rendered
 * lines (a loop's body repeats: its first iteration is the one matched). A rendered line left
 * over just before a run whose line starts with {{ }} (a macro's output starting with a newline),
 * or just after one whose line ends with it, is that code's output. By rendered line: its
 * template line, and whether it is the first line of the run.
 */
function gapBlocks(template: string, t0: number, t1: number, r: string[], r0: number, r1: number): Map<number, { line: number; first: boolean }> {
  const out = new Map<number, { line: number; first: boolean }>();
  const nt = t1 - t0 + 1;
  const nr = r1 - r0 + 1;
  if (nt <= 0 || nr <= 0 || nt * nr > MAX_GAP) return out;
  const pats = linePatterns(template).slice(t0, t1 + 1);
  // the rendered lines without white space, once; and a bound on the characters compared in all
  // (a macro rendering thousands of long lines: the guess below is the answer, not seconds of this)
  const flat = r.slice(r0, r1 + 1).map((x) => x.replace(/\s+/g, ''));
  let work = 0;
  const lines = template.split('\n');
  // a loop repeats its body: after its {% endfor %} line the match may go on at the line after its {% for %}
  const again = new Map<number, number>();
  const open: number[] = [];
  for (let i = 0; i < nt; i++) {
    const line = lines[t0 + i] ?? '';
    if (/^\s*\{%-?\s*for\b[\s\S]*%\}\s*$/.test(line)) open.push(i);
    else if (/^\s*\{%-?\s*endfor\s*-?%\}\s*$/.test(line) && open.length) again.set(i, open.pop()! + 1);
  }
  // best[i][j]: the best score for template lines i.. and rendered lines j.. (computed by
  // descending j, then i: every step consumes a rendered line or moves to a later template line)
  const w = nr + 1;
  const best = new Float64Array((nt + 1) * w);
  const choice = new Int32Array((nt + 1) * w).fill(-1);
  const next = new Int32Array((nt + 1) * w);
  for (let j = nr; j >= 0; j--) {
    for (let i = nt - 1; i >= 0; i--) {
      const p = pats[i];
      let score = best[(i + 1) * w + j];
      let pick = -1; // the template line is matched by no rendered line
      let after = i + 1;
      // rendered line j is left over (it costs: a line some template line explains is better)
      if (j < nr && best[i * w + j + 1] - 2 > score) {
        score = best[i * w + j + 1] - 2;
        pick = -2;
      }
      const most = p.expression ? Math.min(nr - j, MAX_BLOCK) : Math.min(nr - j, 1);
      let text = '';
      for (let k = 0; k < most; k++) {
        text += flat[j + k];
        work += text.length;
        if (work > MAX_WORK) return new Map();
        // (text that no longer starts as the line does matches no longer run of it)
        if (!text.startsWith(p.pieces[0].slice(0, text.length)) ) break;
        if (!matches(p, text)) continue;
        // the template's own text first, then a template line matched, in the fewest rendered lines
        const gain = p.literal * 1000 + 10 - (k + 1);
        for (const to of again.has(i) ? [i + 1, again.get(i)!] : [i + 1]) {
          const s = gain + best[to * w + j + k + 1];
          if (s > score) {
            score = s;
            pick = k;
            after = to;
          }
        }
      }
      best[i * w + j] = score;
      choice[i * w + j] = pick;
      next[i * w + j] = after;
    }
  }
  const runs: Array<{ line: number; from: number; to: number }> = [];
  for (let i = 0, j = 0; i < nt && j < nr; ) {
    const c = choice[i * w + j];
    if (c === -1) i++;
    else if (c === -2) j++;
    else {
      runs.push({ line: t0 + i, from: r0 + j, to: r0 + j + c });
      i = next[i * w + j];
      j += c + 1;
    }
  }
  runs.forEach((run, k) => {
    const p = pats[run.line - t0];
    const last = p.pieces[p.pieces.length - 1];
    // left over lines before it (back to the previous run) / after it (up to the next one)
    if (p.expression && p.pieces[0] === '') run.from = k ? Math.max(runs[k - 1].to + 1, run.from) : r0;
    if (p.expression && last === '' && p.pieces.length > 1) run.to = k + 1 < runs.length ? runs[k + 1].from - 1 : r1;
  });
  for (const run of runs) for (let n = run.from; n <= run.to; n++) if (!out.has(n)) out.set(n, { line: run.line, first: n === run.from });
  return out;
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
