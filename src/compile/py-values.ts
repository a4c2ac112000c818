/**
 * Python's values as Jinja (and so dbt) has them, where JavaScript's differ in what a template
 * prints:
 *
 * - a float that is a whole number (`1.0`, `7 | float`, `10 / 5`) prints with its `.0`: a
 *   PyFloat (a number that says it is a float). Only whole, non-zero floats are boxed: a zero
 *   float (falsy in Python, an object is not) and any fraction are plain numbers;
 * - a tuple (`('a', 'b')`) is a list marked as one: it prints as Python prints a tuple;
 * - a list or a dict printed (`{{ d }}`, `'x' ~ d`, `| join`) reads as Python's repr
 *   (`{'a': 1}`, `['x', 'y']`), never JavaScript's `[object Object]` or `x,y`.
 */
import nunjucks from 'nunjucks';

const SafeString = (nunjucks as unknown as { runtime: { SafeString: new (s: string) => object } }).runtime.SafeString;

/** A float whose value is a whole number: arithmetic and comparisons see the number, printing sees `2.0`. */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return `${this.value}.0`;
  }
  toJSON(): number {
    return this.value;
  }
}

/** `n` as a Python float: boxed when it is a whole number JavaScript would print without `.0`. */
export function pyFloat(n: number): number | PyFloat {
  return Number.isInteger(n) && n !== 0 && Math.abs(n) < 1e16 ? new PyFloat(n) : n;
}

/** A PyFloat's number; anything else as it is. */
export const unbox = (v: unknown): unknown => (v instanceof PyFloat ? v.value : v);

/** Whether `v` is a float in Python's sense (a PyFloat, or a number with a fraction). */
const isFloat = (v: unknown): boolean => v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));

/** Python's arithmetic on numbers: a float in gives a float out, `/` always a float. Anything else: JavaScript's operator (`+` joins strings). */
export function pyArith(op: string, a: unknown, b: unknown): unknown {
  const x = unbox(a) as number;
  const y = unbox(b) as number;
  let r: number;
  switch (op) {
    case '+': r = x + y; break;
    case '-': r = x - y; break;
    case '*': r = x * y; break;
    case '/': return typeof x === 'number' && typeof y === 'number' ? pyFloat(x / y) : x / y;
    case '%': r = x % y; break;
    case '//': r = Math.floor(x / y); break;
    case '**': r = Math.pow(x, y); break;
    default: throw new Error(`unknown operator ${op}`);
  }
  return typeof r === 'number' && (isFloat(a) || isFloat(b)) ? pyFloat(r) : r;
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

/** Python's repr() of a string: single quotes unless it holds one and no double quote. */
function reprString(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
}

/** Python's repr() of a value: what a list or a dict shows of its items. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return reprString(v);
  if (v instanceof SafeString) return reprString(String(v));
  if (Array.isArray(v)) {
    const items = v.map(pyRepr);
    return isTuple(v) ? `(${items.join(', ')}${items.length === 1 ? ',' : ''})` : `[${items.join(', ')}]`;
  }
  if (isPlainObject(v)) return `{${Object.entries(v).map(([k, x]) => `${reprString(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

/**
 * What a template prints for a value that is not a string: Python's str() for a list, a tuple
 * or a dict (its repr) and for a whole float (`2.0`); JavaScript's text for the rest (numbers,
 * booleans as SQL reads them: `true`).
 */
export function pyStr(v: unknown): unknown {
  if (typeof v === 'string') return v;
  if (v instanceof PyFloat) return v.toString();
  if (Array.isArray(v) || isPlainObject(v)) return pyRepr(v);
  return v;
}
