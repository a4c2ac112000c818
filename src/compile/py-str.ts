/**
 * Python's `str` methods, as a template calls them on a string (`'a,b'.rsplit(',', 1)`,
 * `name.ljust(10)`, `code.zfill(5)`): the same results as Python's, by characters (code points)
 * as Python counts them, not JavaScript's UTF-16 units (an emoji is one character: its width,
 * its position in `find()`), and Python's errors where Python raises one. A method Python's str
 * has and this record not is an error where it is called (jinja-compat.ts noMethod), never
 * another value. Keyword arguments are put in place by jinja-compat.ts pyMethods
 * (PY_STR_KEYWORDS: the methods that take any by name).
 */
import nunjucks from 'nunjucks';
import { hasAstral, isPlainObject, isTuple, NAMESPACE, pyType, tuple } from './py-values.js';

const { SafeString } = nunjucks.runtime;

/** A string, or a macro's output, as its text; undefined for anything else. */
const textOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : v instanceof SafeString ? String(v) : undefined);

/** Python's white space (str.split(), strip(), isspace()): JavaScript's \s less U+FEFF, with U+001C..U+001F and U+0085. */
const WS = '\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
const isWs = (c: string): boolean => WS.includes(c);

/** The line boundaries of str.splitlines(). */
const LINE_BREAKS = '\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029';

/** A string's characters (code points): Python's indexes and lengths count these. */
const chars = (s: string): string[] => (hasAstral(s) ? [...s] : s.split(''));
const charCount = (s: string): number => (hasAstral(s) ? [...s].length : s.length);

/** An argument that must be a str (Python's TypeError, after `what`, for anything else). */
function str(v: unknown, what = ''): string {
  const t = textOf(v);
  if (t === undefined) throw new Error(`${what}must be str, not ${pyType(v)}`);
  return t;
}

/** An argument that must be an int (a bool is one, as in Python; a float is not, 2.0 neither). */
function int(v: unknown): number {
  if (typeof v === 'boolean') return Number(v);
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new Error(`'${pyType(v)}' object cannot be interpreted as an integer`);
}

/** A separator that may be none (split, rsplit): undefined for none. */
function sepOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const t = textOf(v);
  if (t === undefined) throw new Error(`must be str or None, not ${pyType(v)}`);
  if (t === '') throw new Error('empty separator');
  return t;
}

/** A slice's bounds as Python's find/count/startswith take them: none for the ends, negative from the end, clamped. */
function bounds(n: number, start: unknown, end: unknown): [number, number, boolean] {
  const at = (v: unknown, dflt: number) => {
    if (v === undefined || v === null) return dflt;
    const x = int(v);
    return x < 0 ? Math.max(0, x + n) : Math.min(x, n);
  };
  const [a, b] = [at(start, 0), at(end, n)];
  const raw = start === undefined || start === null ? 0 : int(start);
  // (a start past the end, of the string or of the slice, finds nothing, not even '': Python's
  // -1 / 0 / False: 'abc'.find('', 4) and 'abc'.find('', 2, 1) alike)
  return [a, b, raw > n || a > b];
}

/** `s[a:b]` by characters. */
const sliceChars = (s: string, a: number, b: number): string => (hasAstral(s) ? [...s].slice(a, b).join('') : s.slice(a, b));

/** The position (in characters) of a UTF-16 index into `s`. */
const charIndex = (s: string, unit: number): number => (unit > 0 && hasAstral(s) ? [...s.slice(0, unit)].length : unit);

/** Python's find / rfind: -1 when absent. */
function find(s: string, sub: unknown, start: unknown, end: unknown, right: boolean): number {
  const x = str(sub);
  const [a, b, past] = bounds(charCount(s), start, end);
  if (past) return -1;
  const part = sliceChars(s, a, b);
  const at = right ? part.lastIndexOf(x) : part.indexOf(x);
  return at < 0 ? -1 : a + charIndex(part, at);
}

/** Python's strip / lstrip / rstrip (white space, or any of `chars`). */
export function pyStrip(s: string, chars?: unknown, left = true, right = true): string {
  const set = chars === undefined || chars === null ? undefined : textOf(chars);
  if (set === undefined && chars !== undefined && chars !== null) throw new Error(`strip arg must be None or str, not ${pyType(chars)}`);
  const strip = (c: string) => (set === undefined ? isWs(c) : set.includes(c));
  const cs = [...s];
  let i = 0;
  let j = cs.length;
  if (left) while (i < j && strip(cs[i])) i++;
  if (right) while (j > i && strip(cs[j - 1])) j--;
  return cs.slice(i, j).join('');
}

/** The fill of ljust / rjust / center: exactly one character. */
function fillOf(v: unknown): string {
  if (v === undefined) return ' ';
  const t = textOf(v);
  if (t === undefined) throw new Error(`The fill character must be a unicode character, not ${pyType(v)}`);
  if (charCount(t) !== 1) throw new Error('The fill character must be exactly one character long');
  return t;
}

/** Python's str.split (`right`: rsplit), by `sep` or, without one, by runs of white space. */
function split(s: string, sepArg: unknown, maxArg: unknown, right: boolean): string[] {
  const sep = sepOf(sepArg);
  // (none is no maxsplit in Python either: `.split(',', none)` is its TypeError)
  const max = maxArg === undefined ? -1 : int(maxArg);
  if (sep !== undefined) {
    const parts = s.split(sep);
    if (max < 0 || parts.length - 1 <= max) return parts;
    return right ? [parts.slice(0, parts.length - max).join(sep), ...parts.slice(parts.length - max)] : [...parts.slice(0, max), parts.slice(max).join(sep)];
  }
  // runs of white space, none at the ends; past maxsplit the rest whole (its white space inside
  // and at the far end kept: '  a  b '.split(None, 1) is ['a', 'b '])
  const cs = chars(right ? [...s].reverse().join('') : s);
  const out: string[] = [];
  let i = 0;
  while (i < cs.length) {
    while (i < cs.length && isWs(cs[i])) i++;
    if (i >= cs.length) break;
    if (max >= 0 && out.length === max) {
      out.push(cs.slice(i).join(''));
      break;
    }
    const from = i;
    while (i < cs.length && !isWs(cs[i])) i++;
    out.push(cs.slice(from, i).join(''));
  }
  return right ? out.reverse().map((w) => [...w].reverse().join('')) : out;
}

/** Python's str.title(): a cased character after an uncased one upper (title) case, the others lower. */
const CASED = /[\p{Lu}\p{Ll}\p{Lt}]/u;
/** Title case where it is not upper case (the digraphs; ß is Ss). */
const TITLE: Record<string, string> = { ß: 'Ss', Ǆ: 'ǅ', ǆ: 'ǅ', ǅ: 'ǅ', Ǉ: 'ǈ', ǉ: 'ǈ', ǈ: 'ǈ', Ǌ: 'ǋ', ǌ: 'ǋ', ǋ: 'ǋ', Ǳ: 'ǲ', ǳ: 'ǲ', ǲ: 'ǲ' };
const titleChar = (c: string): string => TITLE[c] ?? c.toUpperCase();

function title(s: string): string {
  let out = '';
  let prevCased = false;
  for (const c of s) {
    out += prevCased ? c.toLowerCase() : titleChar(c);
    prevCased = CASED.test(c);
  }
  return out;
}

/** The arguments a str method needs at least (Python's TypeError below it); at most: the function's parameters. */
const REQUIRED: Record<string, number> = { replace: 2 };
for (const m of ['startswith', 'endswith', 'removeprefix', 'removesuffix', 'partition', 'rpartition', 'join', 'find', 'rfind', 'index', 'rindex', 'count', 'ljust', 'rjust', 'center', 'zfill']) REQUIRED[m] = 1;

/** `f` refusing fewer or more arguments than Python's str.`name` takes (was: `'a'.lower(1)` and `.split(',', 1, 2)` took the extra silently). */
function arity(name: string, f: (this: string, ...a: unknown[]) => unknown): (this: string, ...a: unknown[]) => unknown {
  const [min, max] = [REQUIRED[name] ?? 0, f.length];
  return function (this: string, ...a: unknown[]) {
    if (a.length > max || a.length < min) {
      const takes = max === 0 ? 'no arguments' : min === max ? `exactly ${max} argument${max === 1 ? '' : 's'}` : a.length > max ? `at most ${max} argument${max === 1 ? '' : 's'}` : `at least ${min} argument${min === 1 ? '' : 's'}`;
      throw new Error(`str.${name}() takes ${takes} (${a.length} given)`);
    }
    return f.apply(this, a);
  };
}

/** Python's str methods (`this` the string), each taking as many arguments as Python's (arity). */
export const PY_STR_METHODS: Record<string, (this: string, ...a: unknown[]) => unknown> = {
  lower() { return this.toLowerCase(); },
  upper() { return this.toUpperCase(); },
  swapcase() {
    let out = '';
    for (const c of this) out += /\p{Lu}|\p{Lt}/u.test(c) ? c.toLowerCase() : /\p{Ll}/u.test(c) ? c.toUpperCase() : c;
    return out;
  },
  title() { return title(this); },
  capitalize() {
    const [first, ...rest] = [...this];
    return first === undefined ? '' : titleChar(first) + rest.join('').toLowerCase();
  },
  strip(c?: unknown) { return pyStrip(this, c); },
  lstrip(c?: unknown) { return pyStrip(this, c, true, false); },
  rstrip(c?: unknown) { return pyStrip(this, c, false, true); },
  startswith(p: unknown, start?: unknown, end?: unknown) { return affix(this, p, start, end, 'startswith'); },
  endswith(p: unknown, start?: unknown, end?: unknown) { return affix(this, p, start, end, 'endswith'); },
  removeprefix(p: unknown) {
    const x = str(p, 'removeprefix() argument ');
    return x && this.startsWith(x) ? this.slice(x.length) : this;
  },
  removesuffix(p: unknown) {
    const x = str(p, 'removesuffix() argument ');
    return x && this.endsWith(x) ? this.slice(0, this.length - x.length) : this;
  },
  split(sep?: unknown, maxsplit?: unknown) { return split(this, sep, maxsplit, false); },
  rsplit(sep?: unknown, maxsplit?: unknown) { return split(this, sep, maxsplit, true); },
  splitlines(keepends?: unknown) {
    // (keepends an int or a bool, as Python's: none or '' is its TypeError)
    const keep = keepends !== undefined && int(keepends) !== 0;
    const out: string[] = [];
    let line = '';
    const cs = chars(this);
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      if (!LINE_BREAKS.includes(c)) {
        line += c;
        continue;
      }
      const brk = c === '\r' && cs[i + 1] === '\n' ? (i++, '\r\n') : c;
      out.push(keep ? line + brk : line);
      line = '';
    }
    if (line) out.push(line);
    return out;
  },
  partition(sep: unknown) { return partition(this, sep, false); },
  rpartition(sep: unknown) { return partition(this, sep, true); },
  replace(old: unknown, now: unknown, count?: unknown) {
    const [a, b] = [str(old, 'replace() argument 1 '), str(now, 'replace() argument 2 ')];
    const n = count === undefined ? -1 : int(count);
    if (a === '') {
      const cs = chars(this);
      const times = n < 0 ? cs.length + 1 : Math.min(n, cs.length + 1);
      let out = '';
      for (let i = 0; i <= cs.length; i++) out += (i < times ? b : '') + (cs[i] ?? '');
      return out;
    }
    const parts = this.split(a);
    const k = n < 0 ? parts.length - 1 : Math.min(n, parts.length - 1);
    return parts.slice(0, k + 1).join(b) + (k + 1 < parts.length ? a + parts.slice(k + 1).join(a) : '');
  },
  join(items: unknown) {
    const text = textOf(items);
    const list = text !== undefined ? [...text] : Array.isArray(items) ? items : isPlainObject(items) && !(NAMESPACE in items) ? Object.keys(items) : undefined;
    if (list === undefined) throw new Error('can only join an iterable');
    return list
      .map((x, i) => {
        const t = textOf(x);
        if (t === undefined) throw new Error(`sequence item ${i}: expected str instance, ${pyType(x)} found`);
        return t;
      })
      .join(this);
  },
  find(sub: unknown, start?: unknown, end?: unknown) { return find(this, sub, start, end, false); },
  rfind(sub: unknown, start?: unknown, end?: unknown) { return find(this, sub, start, end, true); },
  index(sub: unknown, start?: unknown, end?: unknown) {
    const at = find(this, sub, start, end, false);
    if (at < 0) throw new Error('substring not found');
    return at;
  },
  rindex(sub: unknown, start?: unknown, end?: unknown) {
    const at = find(this, sub, start, end, true);
    if (at < 0) throw new Error('substring not found');
    return at;
  },
  count(sub: unknown, start?: unknown, end?: unknown) {
    const x = str(sub);
    const [a, b, past] = bounds(charCount(this), start, end);
    if (past) return 0;
    const part = sliceChars(this, a, b);
    return x === '' ? charCount(part) + 1 : part.split(x).length - 1;
  },
  ljust(width: unknown, fill?: unknown) { return justify(this, width, fill, 'l'); },
  rjust(width: unknown, fill?: unknown) { return justify(this, width, fill, 'r'); },
  center(width: unknown, fill?: unknown) { return justify(this, width, fill, 'c'); },
  zfill(width: unknown) {
    const pad = int(width) - charCount(this);
    if (pad <= 0) return this;
    const sign = this[0] === '+' || this[0] === '-' ? this[0] : '';
    return sign + '0'.repeat(pad) + this.slice(sign.length);
  },
  isdigit() { return /^[\p{Nd}\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089]+$/u.test(this); },
  isdecimal() { return /^\p{Nd}+$/u.test(this); },
  isalpha() { return /^\p{L}+$/u.test(this); },
  isalnum() { return /^[\p{L}\p{N}]+$/u.test(this); },
  islower() { return /\p{Lowercase}/u.test(this) && !/[\p{Lu}\p{Lt}]/u.test(this); },
  isupper() { return /\p{Uppercase}/u.test(this) && !/[\p{Ll}\p{Lt}]/u.test(this); },
  isspace() { return this.length > 0 && [...this].every(isWs); },
};
for (const [name, f] of Object.entries(PY_STR_METHODS)) PY_STR_METHODS[name] = arity(name, f);

/** The methods that take keyword arguments, and their names (Python's other str methods take none by name). */
export const PY_STR_KEYWORDS: Record<string, readonly string[]> = { split: ['sep', 'maxsplit'], rsplit: ['sep', 'maxsplit'], splitlines: ['keepends'] };

/** startswith / endswith: a str or a tuple of str (a list is Python's TypeError), in `s[start:end]`. */
function affix(s: string, p: unknown, start: unknown, end: unknown, name: 'startswith' | 'endswith'): boolean {
  if (!isTuple(p) && textOf(p) === undefined) throw new Error(`${name} first arg must be str or a tuple of str, not ${pyType(p)}${Array.isArray(p) ? ` (write the choices as a tuple, in parentheses: .${name}(('a', 'b')))` : ''}`);
  const [a, b, past] = bounds(charCount(s), start, end);
  if (past) return false;
  const part = sliceChars(s, a, b);
  // (a tuple's items in order, as Python tries them: one that is not a str is its TypeError when reached)
  for (const x of isTuple(p) ? (p as unknown[]) : [p]) {
    const t = textOf(x);
    if (t === undefined) throw new Error(`tuple for ${name} must only contain str, not ${pyType(x)}`);
    if (name === 'startswith' ? part.startsWith(t) : part.endsWith(t)) return true;
  }
  return false;
}

/** partition / rpartition: a tuple (head, sep, tail), ('s', '', '') / ('', '', 's') when absent. */
function partition(s: string, sepArg: unknown, right: boolean): unknown[] {
  const sep = str(sepArg);
  if (sep === '') throw new Error('empty separator');
  const at = right ? s.lastIndexOf(sep) : s.indexOf(sep);
  if (at < 0) return tuple(right ? ['', '', s] : [s, '', '']);
  return tuple([s.slice(0, at), sep, s.slice(at + sep.length)]);
}

/** ljust / rjust / center, widths in characters; center puts the odd one as Python's does. */
function justify(s: string, widthArg: unknown, fillArg: unknown, side: 'l' | 'r' | 'c'): string {
  const width = int(widthArg);
  const fill = fillOf(fillArg);
  const marg = width - charCount(s);
  if (marg <= 0) return s;
  if (side === 'l') return s + fill.repeat(marg);
  if (side === 'r') return fill.repeat(marg) + s;
  const left = Math.floor(marg / 2) + (marg & width & 1);
  return fill.repeat(left) + s + fill.repeat(marg - left);
}
