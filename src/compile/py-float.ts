/**
 * A float that is a whole number, as Python has it: it prints with its `.0` (py-values.ts says
 * where Python's values differ from JavaScript's). Its own module, with no import: `--vars` is
 * read on every command's start.
 */
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

/** A YAML number as Python has it: one written as a float (`1.0`, `2.5e3`; `written`: its text) is a float, printing `1.0`. */
export function yamlNumber(v: number, written: string | undefined): number | PyFloat {
  return written !== undefined && /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(written) && /[.eE]/.test(written) ? pyFloat(v) : v;
}

/** A YAML value with each number written as a float (`1.0`, `2.5e+3`) a PyFloat, as dbt has it (`written`: the text of the scalar at a path under it). */
export function floatsAsWritten(value: unknown, written: (path: PropertyKey[]) => string | undefined, path: PropertyKey[] = []): unknown {
  if (typeof value === 'number') return yamlNumber(value, written(path));
  if (Array.isArray(value)) return value.map((x, i) => floatsAsWritten(x, written, [...path, i]));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, floatsAsWritten(x, written, [...path, k])]));
  return value;
}

