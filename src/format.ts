/**
 * Formatting numbers and text for people, shared by commands.
 */

/** 1536 -> '1.50 KiB' */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 2)} ${i === 0 ? 'B' : `${units[i][0]}iB`}`;
}

/** 1 -> '1 row', 1500 -> '1,500 rows' (`many`: the plural when it is not `word` + s). */
export function counted(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}

/** `dropped the view that reads it (Postgres' drop ... cascade)`, or `dropped 3 views that read it (...)`: a build's, a load's or the demo's. */
export function droppedViewsPhrase(n: number): string {
  return `dropped ${n === 1 ? 'the view' : `${n} views`} that ${n === 1 ? 'reads' : 'read'} it (Postgres' drop ... cascade)`;
}

/** `text` as one word of a POSIX shell command line: as it is when plain, else single-quoted (`O'Brien` -> `'O'\''Brien'`). */
export function shellWord(text: string): string {
  return /^[\w/.:@+=%,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** (made on first use: every command imports this module, and few cut a text) */
let graphemes: Intl.Segmenter | undefined;

/**
 * Cut to `max` UTF-16 units, the last one an ellipsis; never inside a character as people see it
 * (a grapheme cluster): a flag, an emoji sequence joined by ZWJ, a letter with its combining marks
 * go whole or not at all (was: 🇫🇷 cut to 🇫, 👩‍💻 to 👩 and a dangling joiner). A single cluster
 * longer than the cut (a letter under hundreds of marks) is cut where a code point ends.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  // the clusters around the cut: from an ASCII character after another before it (one always
  // starts there, but a line feed after a carriage return; not after any character: a prepended
  // mark such as U+0600 joins the digit after it), else from 256 units before; a boundary depends
  // on what precedes it and on the code point after it only, so the text up to the cut's next one is enough
  let from = Math.max(0, cut - 256);
  let known = from === 0;
  for (let i = cut; i > from; i--) {
    const c = text.charCodeAt(i);
    if (c < 0x80 && c !== 0x0a && text.charCodeAt(i - 1) < 0x80) {
      [from, known] = [i, true];
      break;
    }
  }
  let boundary = -1;
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (const { index } of graphemes.segment(text.slice(from, cut + 2))) {
    if (from + index > cut) break;
    if (index > 0 || known) boundary = from + index;
  }
  // (none: one cluster longer than that, cut where a code point ends)
  if (boundary > 0) cut = boundary;
  return `${text.slice(0, cut)}…`;
}

/**
 * How long each of these texts may stay so that together they take at most `total` characters,
 * each at most `each` (one for all, or one per text): the short ones whole, the long ones an
 * equal share of what the short ones leave.
 */
export function fairShares(lengths: number[], total: number, each: number | number[]): number[] {
  const cap = (i: number) => (typeof each === 'number' ? each : each[i]);
  const want = (i: number) => Math.min(lengths[i], cap(i));
  const order = lengths.map((_, i) => i).sort((a, b) => want(a) - want(b));
  const out = new Array<number>(lengths.length);
  let left = Math.max(0, total);
  order.forEach((i, k) => {
    out[i] = Math.max(0, Math.min(cap(i), Math.floor(left / (order.length - k))));
    left -= Math.min(lengths[i], out[i]);
  });
  return out;
}
