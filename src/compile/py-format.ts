/**
 * Python's ways of making text of a value, as Jinja has them:
 *
 * - `round()` (the `round` filter) and `%.2f`: on the float's exact binary value, a tie to the even
 *   digit (`2.5 | round` is 2.0, `2.675 | round(2)` is 2.67: 2.675 is 2.67499999... in binary);
 * - printf-style `%` formatting of a string (`'%s-%s' % ('a', 'b')`, `'%05.1f' % x`);
 * - `json.dumps` as the `tojson` filter calls it (htmlsafe_json_dumps: keys sorted, `", "` and
 *   `": "`, non-ASCII and `< > & '` as \u escapes).
 */
import { isPlainObject, isTuple, PyFloat, pyFloat, pyRepr, pyStr, pyType } from './py-values.js';

/** A finite number's exact decimal value: |x| = digits / 10^scale. */
function exactDecimal(x: number): { digits: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (biased) mantissa |= 1n << 52n;
  const exp = (biased || 1) - 1075;
  return exp >= 0 ? { digits: mantissa << BigInt(exp), scale: 0 } : { digits: mantissa * 5n ** BigInt(-exp), scale: -exp };
}

/** `digits / 10^scale` rounded to `places` decimal places (negative: tens, hundreds), a tie to even: the result times 10^places. */
function roundDecimal(digits: bigint, scale: number, places: number): bigint {
  if (places >= scale) return digits * 10n ** BigInt(places - scale);
  const unit = 10n ** BigInt(scale - places);
  const q = digits / unit;
  const twice = (digits % unit) * 2n;
  return twice > unit || (twice === unit && q % 2n === 1n) ? q + 1n : q;
}

const isInt = (v: unknown): boolean => typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v));

/** Python's round(x, places): an int stays an int, a float gives a float. */
export function pyRound(v: unknown, places = 0): unknown {
  const x = v instanceof PyFloat ? v.value : typeof v === 'boolean' ? Number(v) : v;
  if (typeof x !== 'number') throw new Error(`a number is required, not ${pyType(v)}`);
  if (!Number.isInteger(places)) throw new Error(`precision must be an int, not ${pyType(places)}`);
  if (!Number.isFinite(x)) return x;
  const int = isInt(v);
  if (int && places >= 0) return x;
  const { digits, scale } = exactDecimal(x);
  const q = roundDecimal(digits, scale, places);
  const r = Math.sign(x) * Number(`${q}e${-places}`);
  return int ? r : pyFloat(r);
}

/** A finite number's |x| with `places` digits after the point, as Python's `%.Nf` writes it. */
function fixed(x: number, places: number): string {
  const { digits, scale } = exactDecimal(x);
  const s = roundDecimal(digits, scale, places).toString().padStart(places + 1, '0');
  return places ? `${s.slice(0, -places)}.${s.slice(-places)}` : s;
}

/** |x| with `places` digits after the first significant one: its digits and its power of ten. */
function scientific(x: number, places: number): { digits: string; exp: number } {
  if (x === 0) return { digits: '0'.repeat(places + 1), exp: 0 };
  const { digits, scale } = exactDecimal(x);
  let exp = digits.toString().length - 1 - scale;
  let q = roundDecimal(digits, scale, places - exp).toString();
  // (9.99 to one place: 10.0, a power of ten more)
  if (q.length > places + 1) q = roundDecimal(digits, scale, places - ++exp).toString();
  return { digits: q, exp };
}

const expText = (exp: number, e: string) => `${e}${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;

/** A number for %d, %f, ...: an int, a bool or a float; anything else is Python's TypeError. */
function formatNumber(v: unknown, conv: string, integer: boolean): number {
  const x = v instanceof PyFloat ? v.value : typeof v === 'boolean' ? Number(v) : v;
  if (typeof x === 'number' && (!integer || Number.isInteger(x) && !(v instanceof PyFloat))) return x;
  if (integer) throw new Error(`%${conv} format: an integer is required, not ${pyType(v)}`);
  throw new Error(conv === 'd' || conv === 'i' || conv === 'u' ? `%${conv} format: a real number is required, not ${pyType(v)}` : `must be real number, not ${pyType(v)}`);
}

/** One conversion's text of a number, without its sign: `%d`, `%f`, `%e`, `%g`, `%x`, `%o`. */
function numberBody(x: number, conv: string, precision: number | undefined, alt: boolean): string {
  const lower = conv.toLowerCase();
  if (!Number.isFinite(x)) {
    const t = Number.isNaN(x) ? 'nan' : 'inf';
    return conv === lower || lower === 'x' ? t : t.toUpperCase();
  }
  const a = Math.abs(x);
  switch (lower) {
    case 'd': case 'i': case 'u':
      return BigInt(Math.trunc(a)).toString();
    case 'x': case 'o': {
      const s = BigInt(a).toString(lower === 'x' ? 16 : 8);
      return (alt ? `0${lower === 'x' ? conv : 'o'}` : '') + (conv === 'X' ? s.toUpperCase() : s);
    }
    case 'f': {
      const s = fixed(a, precision ?? 6);
      return alt && !s.includes('.') ? `${s}.` : s;
    }
    case 'e': {
      const p = precision ?? 6;
      const { digits, exp } = scientific(a, p);
      return `${digits[0]}${p || alt ? '.' : ''}${digits.slice(1)}${expText(exp, conv === 'E' ? 'E' : 'e')}`;
    }
    default: {
      // g: fixed where the power of ten is in -4 .. precision - 1, else scientific; no trailing zeros
      const p = precision === undefined ? 6 : Math.max(precision, 1);
      const { exp } = scientific(a, p - 1);
      const s = exp >= -4 && exp < p ? fixed(a, p - 1 - exp) : numberBody(a, conv === 'G' ? 'E' : 'e', p - 1, alt);
      if (alt) return s.includes('.') ? s : `${s}.`;
      const [, mantissa, e = ''] = /^([^eE]*)(.*)$/.exec(s)!;
      return (mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa) + e;
    }
  }
}

/**
 * Python's printf-style `fmt % values`: a tuple gives the values in order, a dict the `%(key)s`
 * ones, anything else is the one value. Flags `-+ #0`, a width, a precision; conversions
 * s r a d i u f F e E g G x X o c and `%%`. A value of the wrong type, too few or too many values,
 * or an unknown conversion is Python's error.
 */
export function pyFormat(fmt: string, values: unknown): string {
  const list = isTuple(values) ? (values as unknown[]) : undefined;
  const mapping = isPlainObject(values) ? values : undefined;
  let next = 0;
  let keyed = false;
  const take = (): unknown => {
    if (list ? next >= list.length : next > 0) throw new Error('not enough arguments for format string');
    return list ? list[next++] : (next++, values);
  };
  let out = '';
  let i = 0;
  while (i < fmt.length) {
    const at = fmt.indexOf('%', i);
    if (at < 0) {
      out += fmt.slice(i);
      break;
    }
    out += fmt.slice(i, at);
    const m = /^%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.?)/.exec(fmt.slice(at))!;
    const [whole, key, flags, w, prec, conv] = m;
    i = at + whole.length;
    if (!conv) throw new Error('incomplete format');
    if (w === '*' || prec === '*') throw new Error("a '*' width or precision is not supported in Vigil's % formatting: write the number in the format");
    if (conv === '%') {
      out += '%';
      continue;
    }
    if (!'sradiufFeEgGxXoc'.includes(conv)) throw new Error(`unsupported format character '${conv}' (0x${conv.charCodeAt(0).toString(16)}) at index ${i - 1}`);
    let v: unknown;
    if (key !== undefined) {
      if (!mapping) throw new Error('format requires a mapping');
      if (!Object.hasOwn(mapping, key)) throw new Error(`KeyError: '${key}' is not a key of the dict formatted`);
      keyed = true;
      v = mapping[key];
    } else v = take();
    const width = w ? Number(w) : 0;
    const precision = prec === undefined ? undefined : Number(prec || 0);
    let body: string;
    let sign = '';
    let zeros = false;
    if (conv === 's' || conv === 'r' || conv === 'a') {
      // (None as Python prints it: pyStr keeps null, which String() would make 'null')
      body = conv === 's' ? (v === null || v === undefined ? 'None' : String(pyStr(v))) : pyRepr(v);
      if (precision !== undefined) body = body.slice(0, precision);
    } else if (conv === 'c') {
      const code = typeof v === 'number' && Number.isInteger(v) ? v : undefined;
      if (code === undefined && !(typeof v === 'string' && [...v].length === 1)) throw new Error(`%c requires an int or a unicode character, not ${pyType(v)}`);
      body = code === undefined ? String(v) : String.fromCodePoint(code);
    } else {
      const x = formatNumber(v, conv, 'xXo'.includes(conv));
      body = numberBody(x, conv, precision, flags.includes('#'));
      sign = x < 0 || Object.is(x, -0) ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
      zeros = flags.includes('0') && Number.isFinite(x);
      // %d's precision pads with zeros (`'%.3d' % 7` is 007)
      if ('diu'.includes(conv) && precision !== undefined) body = body.padStart(precision, '0');
    }
    const pad = width - sign.length - body.length;
    if (pad <= 0) out += sign + body;
    else if (flags.includes('-')) out += sign + body + ' '.repeat(pad);
    else if (zeros) {
      const prefix = /^0[xXo]/.test(body) ? body.slice(0, 2) : '';
      out += sign + prefix + '0'.repeat(pad) + body.slice(prefix.length);
    } else out += ' '.repeat(pad) + sign + body;
  }
  if (list ? next < list.length : !mapping && next === 0 && !keyed) throw new Error('not all arguments converted during string formatting');
  return out;
}

/** JSON text of a string as Python's json.dumps writes it (ensure_ascii: anything past ASCII as \uXXXX). */
const jsonString = (s: string): string => JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * Jinja's `tojson`: Python's json.dumps with sorted keys (`", "` between items and `": "` after
 * a key; with `indent`, items on lines of their own), then `<`, `>`, `&` and `'` as \u003c,
 * \u003e, \u0026, \u0027 (so the text can sit in a quoted SQL string or HTML).
 */
export function pyJson(v: unknown, indent?: unknown): string {
  const step = typeof indent === 'number' ? ' '.repeat(Math.max(0, indent)) : typeof indent === 'string' ? indent : undefined;
  const dump = (x: unknown, depth: number): string | undefined => {
    if (x === null) return 'null';
    if (x === undefined || typeof x === 'function') return undefined;
    if (typeof x === 'boolean') return String(x);
    if (x instanceof PyFloat) return `${x.value}.0`;
    if (typeof x === 'bigint') return x.toString();
    if (typeof x === 'number') return Number.isNaN(x) ? 'NaN' : !Number.isFinite(x) ? (x > 0 ? 'Infinity' : '-Infinity') : String(x);
    if (typeof x === 'string') return jsonString(x);
    const json = (x as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return dump(json.call(x), depth);
    const items: string[] = [];
    if (Array.isArray(x)) for (const item of x) items.push(dump(item, depth + 1) ?? 'null');
    else if (isPlainObject(x)) {
      for (const k of Object.keys(x).sort()) {
        const item = dump(x[k], depth + 1);
        if (item !== undefined) items.push(`${jsonString(k)}: ${item}`);
      }
    } else return jsonString(String(x));
    const [open, close] = Array.isArray(x) ? ['[', ']'] : ['{', '}'];
    if (!items.length) return open + close;
    if (step === undefined) return open + items.join(', ') + close;
    const inner = '\n' + step.repeat(depth + 1);
    return open + inner + items.join(',' + inner) + '\n' + step.repeat(depth) + close;
  };
  return (dump(v, 0) ?? 'null').replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/'/g, '\\u0027');
}
