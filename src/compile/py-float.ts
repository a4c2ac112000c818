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
    return pyFloatRepr(this.value);
  }
  toJSON(): number {
    return this.value;
  }
}

/** `n` as a Python float: boxed when it is a whole number JavaScript would print without `.0`. */
export function pyFloat(n: number): number | PyFloat {
  return Number.isInteger(n) && n !== 0 ? new PyFloat(n) : n;
}

/**
 * A float as Python's repr() prints it: the shortest digits that read back as it (JavaScript's
 * too), `.0` on a whole number, and an exponent (`1e+20`, `1.5e-05`) from 1e16 up and below 1e-4,
 * where JavaScript prints every digit (`100000000000000000000`, `0.000015`).
 */
export function pyFloatRepr(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  const abs = Math.abs(n);
  if (abs !== 0 && (abs >= 1e16 || abs < 1e-4)) {
    const [mantissa, exp] = n.toExponential().split('e');
    const e = Number(exp);
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return Number.isInteger(n) ? `${n}.0` : String(n);
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

