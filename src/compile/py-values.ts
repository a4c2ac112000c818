/**
 * Python's values as Jinja (and so dbt) has them, where JavaScript's differ in what a template
 * prints:
 *
 * - a float that is a whole number (`1.0`, `7 | float`, `10 / 5`) prints with its `.0`: a
 *   PyFloat (a number that says it is a float). Only whole, non-zero floats are boxed: a zero
 *   float (falsy in Python, an object is not) and any fraction are plain numbers;
 * - a tuple (`('a', 'b')`) is a list marked as one: it prints as Python prints a tuple;
 * - a list or a dict printed (`{{ d }}`, `'x' ~ d`, `| join`) reads as Python's repr
 *   (`{'a': 1}`, `['x', 'y']`), never JavaScript's `[object Object]` or `x,y`;
 * - Python's operators (`['a'] + ['b']` a list, `'x' * 3`, `-7 % 3` is 2, `'%s' % x`; `1 + 'a'`
 *   Python's TypeError), ordering and negative indexes.
 */
import nunjucks from 'nunjucks';
import { pyFormat } from './py-format.js';
import { PyFloat, pyFloat, pyFloatRepr } from './py-float.js';

const SafeString = (nunjucks as unknown as { runtime: { SafeString: new (s: string) => object } }).runtime.SafeString;

export { floatsAsWritten, PyFloat, pyFloat, pyFloatRepr, yamlNumber } from './py-float.js';

/** A PyFloat's number; anything else as it is. */
export const unbox = (v: unknown): unknown => (v instanceof PyFloat ? v.value : v);

/** Whether `v` is a float in Python's sense (a PyFloat, or a number with a fraction). */
const isFloat = (v: unknown): boolean => v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));

/** A number to Python's arithmetic: a bool is an int (True + 1 is 2), a PyFloat its number; undefined for anything else. */
const arithNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : v instanceof PyFloat ? v.value : typeof v === 'boolean' ? Number(v) : undefined);

/** What a JavaScript string is to Python's operators: a string, or a macro's output (a SafeString). */
const textOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : v instanceof SafeString ? String(v) : undefined);

/** A class whose instances Python names otherwise than `object` in a TypeError (`this`: a Relation). */
export const PY_TYPE_NAME = Symbol('pyTypeName');

/** Python's name of a value's type, as a TypeError names it. */
export function pyType(v: unknown): string {
  if (v === null) return 'NoneType';
  if (v === undefined) return 'Undefined';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof PyFloat) return 'float';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (textOf(v) !== undefined) return 'str';
  if (Array.isArray(v)) return isTuple(v) ? 'tuple' : 'list';
  if (isPlainObject(v)) return 'dict';
  if (typeof v === 'function') return 'function';
  return (v as Record<symbol, string>)[PY_TYPE_NAME] ?? 'object';
}

/** 2^53: a JavaScript number holds every integer to it (either sign) exactly; past it, not each one, where Python's int is exact. */
export const EXACT_INT_LIMIT = 2 ** 53;

/** What each message about an integer past 2^53 says (template-env.ts places them by it). */
export const PAST_EXACT = 'past 2^53, where a number is no longer exact';


/**
 * The error for making text of `v` (printed, `~`, `| string`, `| join`, `'%s' %`, `'%d' %`,
 * `.format`, `| tojson`, a list's or a dict's text) when it is an integer past 2^53: the digits
 * a number has there may not be the value Python's exact int has (`2**60` is 1152921504606846976
 * to Python, 1152921504606847000 in JavaScript's text). Undefined for any other value; a float
 * is a float in Python too, and a whole float is a PyFloat. `printed`: worded for a value a
 * template prints itself (`{{ 2**60 }}`).
 */
export function inexactInt(v: unknown, printed = false): string | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) <= EXACT_INT_LIMIT) return undefined;
  return `${printed ? `an integer it prints is ${PAST_EXACT}: it would print` : `an integer made text is ${PAST_EXACT}: it would read`} ${v}, which may not be the value (Python's int is exact): compute it in SQL, or write the value as a string`;
}

/** inexactInt's error thrown, for a value about to be made text. */
export function requireExactInt(v: unknown): void {
  const inexact = inexactInt(v);
  if (inexact) throw new Error(inexact);
}

/** Python's exact result of an int operation, as a bigint (`y` is 0 only where JavaScript's result is not finite). */
function exactIntArith(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '**': return a ** b;
    case '//': {
      const q = a / b;
      return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
    }
    default: {
      const r = a % b;
      return r !== 0n && r < 0n !== b < 0n ? r + b : r;
    }
  }
}

/**
 * `r`, JavaScript's result of the int operation `x op y`, when it is Python's: an error when it is
 * not, which only happens past 2^53 (`2**53 + 1` is 9007199254740993 to Python, 9007199254740992
 * here: printed, compared or computed on, it would be another number, silently). Checked where the
 * result or an operand is past 2^53 - 1; a result that is not finite is refused where it prints.
 */
function exactIntResult(op: string, x: number, y: number, r: number): number {
  if (!Number.isFinite(r) || (Math.abs(r) < EXACT_INT_LIMIT && Math.abs(x) < EXACT_INT_LIMIT && Math.abs(y) < EXACT_INT_LIMIT)) return r;
  const exact = exactIntArith(op, BigInt(x), BigInt(y));
  if (exact === BigInt(r)) return r;
  const digits = exact.toString();
  const value = digits.replace(/^-/, '').length > 40 ? `an integer of ${digits.replace(/^-/, '').length} digits` : `the integer ${digits}`;
  throw new Error(`${BigInt(x)} ${op} ${BigInt(y)} is ${value} to Python, ${PAST_EXACT} (here it would be ${r}): compute it in SQL, or write the value as a string`);
}

/** Python's arithmetic on two numbers: a float in gives a float out, `/` always a float, `%` and `//` floor. */
function numberArith(op: string, x: number, y: number, float: boolean, exact = true): unknown {
  let r: number;
  switch (op) {
    case '+': r = x + y; break;
    case '-': r = x - y; break;
    case '*': r = x * y; break;
    case '/': return pyFloat(x / y);
    // the remainder has the divisor's sign (-7 % 3 is 2); by zero: NaN, refused where it prints
    case '%': r = x % y; if (r !== 0 && r < 0 !== y < 0) r += y; break;
    case '//': r = Math.floor(x / y); break;
    // an int to a negative int's power is a float (2 ** -1 is 0.5, 1 ** -1 is 1.0)
    case '**': r = Math.pow(x, y); float ||= y < 0; break;
    default: throw new Error(`unknown operator ${op}`);
  }
  if (float) return pyFloat(r);
  // (an int has no negative zero: `0 * -1` is 0, as Python's, where JavaScript's is -0, which `'%+d'` printed as -0)
  return r === 0 ? 0 : exact ? exactIntResult(op, x, y, r) : r;
}

/**
 * Python's operators (`+ - * / % // **`), as Jinja has them: on numbers (numberArith); `+` joins two
 * strings, two lists or two tuples, `*` repeats one by an int, a string's `%` formats
 * (py-format.ts); anything else is Python's TypeError (`1 + 'a'`). `strict` false: on anything
 * but numbers, JavaScript's operator, as before (alert templates, whose row values may be numbers as text),
 * and an int result past 2^53 is not checked (exactIntResult: a row's number is JavaScript's).
 */
export function pyArith(op: string, a: unknown, b: unknown, strict = true): unknown {
  if (op === 'neg') {
    const n = arithNumber(b);
    if (n !== undefined) return numberArith('-', 0, n, isFloat(b), strict);
    // (a NULL too, in alert templates: JavaScript's -null is 0, a value the row does not have)
    if (strict || unbox(b) === null) throw new Error(`bad operand type for unary -: '${pyType(b)}'`);
    return -(unbox(b) as number);
  }
  const x = arithNumber(a);
  const y = arithNumber(b);
  if (x !== undefined && y !== undefined) return numberArith(op, x, y, isFloat(a) || isFloat(b), strict);
  // a NULL operand is Python's TypeError in alert templates too: JavaScript's `null * 100` is 0,
  // and a NULL error rate would read "0%" in a page
  if (!strict && (unbox(a) === null || unbox(b) === null)) throw new Error(`unsupported operand type(s) for ${op}: '${pyType(a)}' and '${pyType(b)}'`);
  if (!strict) return jsArith(op, unbox(a), unbox(b));
  const sa = textOf(a);
  const sb = textOf(b);
  if (op === '+') {
    if (sa !== undefined && sb !== undefined) return sa + sb;
    if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) return isTuple(a) ? tuple([...a, ...b]) : [...a, ...b];
    if (sa !== undefined || Array.isArray(a)) throw new Error(`can only concatenate ${pyType(a)} (not "${pyType(b)}") to ${pyType(a)}${sa !== undefined ? ' (to join values as text, use ~)' : ''}`);
  } else if (op === '*') {
    // a string, list or tuple repeated by an int (either side)
    const [s, n, count] = x === undefined ? [a, b, y] : [b, a, x];
    if (textOf(s) !== undefined || Array.isArray(s)) {
      if (count === undefined || !Number.isInteger(count) || n instanceof PyFloat) throw new Error(`can't multiply sequence by non-int of type '${pyType(n)}'`);
      const times = Math.max(0, count);
      if (textOf(s) !== undefined) return textOf(s)!.repeat(times);
      const items = Array.from({ length: times }, () => s as unknown[]).flat();
      return isTuple(s) ? tuple(items) : items;
    }
  } else if (op === '%' && sa !== undefined) {
    return pyFormat(sa, b);
  }
  throw new Error(`unsupported operand type(s) for ${op}: '${pyType(a)}' and '${pyType(b)}'${op === '+' && sb !== undefined ? ' (to join values as text, use ~)' : ''}`);
}

/** The start of the messages of Python's TypeErrors above, of py-format.ts and of a slice's (jinja-compat.ts), raised at the expression's position. */
export const PY_ERROR_RE = /^(?:unsupported operand type|can only concatenate|can't multiply sequence|bad operand type|not enough arguments for format|not all arguments converted|incomplete format|unsupported format character|format requires a mapping|KeyError: '|%\w format|must be real number|%c requires|a '\*' width|a dict's key must be|argument of type '\w+' is not iterable|'.+?' is an? \w+: a \{% for %\} over it fails|'[<>]=?' not supported between instances|too many values to unpack|not enough values to unpack|cannot unpack non-iterable|TypeError: '\w+' object is not subscriptable \(a list|TypeError: unhashable type: 'slice'|TypeError: slice indices must|ValueError: slice step cannot be zero)/;

/** JavaScript's operator, as templates had it before (alert templates, on anything but numbers). */
function jsArith(op: string, x: unknown, y: unknown): unknown {
  const [a, b] = [x as number, y as number];
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    case '%': return a % b;
    case '//': return Math.floor(a / b);
    case '**': return Math.pow(a, b);
    default: throw new Error(`unknown operator ${op}`);
  }
}

/** Python's ordering of two values (sorted(), groupby, dictsort): numbers, strings, lists or tuples item by item; anything else is its TypeError. */
export function pyCompare(a: unknown, b: unknown): number {
  const x = arithNumber(a);
  const y = arithNumber(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  const s = textOf(a);
  const t = textOf(b);
  if (s !== undefined && t !== undefined) return s < t ? -1 : s > t ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = pyCompare(a[i], b[i]);
      if (c) return c;
    }
    return Math.sign(a.length - b.length);
  }
  throw new Error(`'<' not supported between instances of '${pyType(a)}' and '${pyType(b)}'`);
}

/** Python's index of a list, a tuple or a string: a negative one counts from the end (`[1, 2, 3][-1]` is 3). */
export function pyIndex(obj: unknown, key: unknown): unknown {
  return typeof key === 'number' && key < 0 && Number.isInteger(key) && (Array.isArray(obj) || typeof obj === 'string') ? obj.length + key : key;
}

/** Whether a string holds a character past U+FFFF (two UTF-16 units: JavaScript's index and length count each). */
export const hasAstral = (s: string): boolean => /[\uD800-\uDFFF]/.test(s);

/**
 * Python's `s[i]` of a string holding a character past U+FFFF: by characters, as its length
 * (the `length` filter) and its slices count them (JavaScript's `'😀a'[1]` is half the emoji, a
 * lone surrogate in the SQL, and `s[s | length - 1]` was not the last character). Undefined when
 * `key` is not an int or the string has no such character (indexed as JavaScript does, alike).
 */
export function astralItem(obj: unknown, key: unknown): { item: string | undefined } | undefined {
  if (typeof obj !== 'string' || typeof key !== 'number' || !Number.isInteger(key) || !hasAstral(obj)) return undefined;
  const chars = [...obj];
  return { item: chars[key < 0 ? key + chars.length : key] };
}

const TUPLE = Symbol('tuple');

/** A list that is a tuple (`(1, 2)`): it prints as `(1, 2)`. */
export function tuple<T>(items: T[]): T[] {
  Object.defineProperty(items, TUPLE, { value: true });
  return items;
}

export const isTuple = (v: unknown): boolean => Array.isArray(v) && (v as unknown as Record<symbol, unknown>)[TUPLE] === true;

/** A mapping as a template has one: an object literal's, YAML's, JSON's (not a class instance: `this`, a date). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * What an inline if without an else gives when its condition is false (`'x' if false`): Jinja's
 * Undefined. It prints as nothing (alone, joined with ~, in a macro's argument), `| default`
 * replaces it, `is defined` is false, it is false to `if`; a filter other than default takes it
 * as ''. (Only where models render: alert templates keep nunjucks' '' for it.)
 */
export class NoElse {
  readonly [PY_TYPE_NAME] = 'Undefined';
  toString(): string {
    return '';
  }
}
export const NO_ELSE = Object.freeze(new NoElse());

/** Marks a namespace() object: a Namespace to Python, true however many attributes it has. */
export const NAMESPACE = Symbol('namespace');

/**
 * Python's truth of a value, `bool(v)`, as Jinja tests it in `if`/`elif`, `not`, `and`/`or`, an
 * inline if, `| default(x, true)`, `select`/`reject`/`selectattr`/`rejectattr` and a loop filter:
 * none, undefined, `false`, 0, an empty string (a macro's empty output too), list, tuple or dict
 * are false; a namespace(), a function, any other object true. (JavaScript's `!!` took `[]` and
 * `{}` for true: `{% if excluded %}` on an empty list put `where status not in ('')` in the SQL.)
 */
export function pyTruth(v: unknown): boolean {
  if (v === undefined || v === null || v === NO_ELSE) return false;
  if (typeof v === 'boolean') return v;
  // (NaN is true in Python too)
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (v instanceof PyFloat) return v.value !== 0;
  if (v instanceof SafeString) return String(v).length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return (v as Record<symbol, unknown>)[NAMESPACE] === true || Object.keys(v).length > 0;
  return true;
}

/** Python's repr() of a string: single quotes unless it holds one and no double quote. */
function reprString(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
}

/**
 * Python's repr() of a value: what a list or a dict shows of its items. An integer past 2^53 in
 * it is an error (inexactInt), unless `exact` is false (a cache key, a message).
 */
export function pyRepr(v: unknown, exact = true): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === NO_ELSE) return 'Undefined';
  if (typeof v === 'string') return reprString(v);
  if (v instanceof SafeString) return reprString(String(v));
  if (Array.isArray(v)) {
    const items = v.map((x) => pyRepr(x, exact));
    return isTuple(v) ? `(${items.join(', ')}${items.length === 1 ? ',' : ''})` : `[${items.join(', ')}]`;
  }
  if (isPlainObject(v)) return `{${Object.entries(v).map(([k, x]) => `${reprString(k)}: ${pyRepr(x, exact)}`).join(', ')}}`;
  // a float with a fraction as Python prints it (`1e-05`, not `0.00001`)
  if (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v)) return pyFloatRepr(v);
  if (exact) requireExactInt(v);
  return String(v);
}

/**
 * What a template prints for a value that is not a string: Python's str() for a list, a tuple
 * or a dict (its repr), a whole float (`2.0`) and a bool (`True`, as dbt prints it: SQL reads
 * it in any case); JavaScript's text for the rest (numbers); none and undefined as they are.
 * Every way a model's template makes text of a value comes here or to pyRepr: an integer past
 * 2^53, alone or in a list or a dict, is an error (inexactInt), unless `exact` is false (alert
 * templates, whose row values are JavaScript's numbers, not Python's ints).
 */
export function pyStr(v: unknown, exact = true): unknown {
  if (typeof v === 'string') return v;
  if (v === NO_ELSE) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof PyFloat) return v.toString();
  if (Array.isArray(v) || isPlainObject(v)) return pyRepr(v, exact);
  if (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v)) return pyFloatRepr(v);
  if (exact) requireExactInt(v);
  return v;
}
