/**
 * Python's ways of making text of a value, as Jinja has them:
 *
 * - `round()` (the `round` filter) and `%.2f`: on the float's exact binary value, a tie to the even
 *   digit (`2.5 | round` is 2.0, `2.675 | round(2)` is 2.67: 2.675 is 2.67499999... in binary);
 * - printf-style `%` formatting of a string (`'%s-%s' % ('a', 'b')`, `'%05.1f' % x`);
 * - `str.format` (`'{}-{:03d}'.format(a, n)`), with the same number formatting;
 * - `json.dumps` as the `tojson` filter calls it (htmlsafe_json_dumps: keys sorted, `", "` and
 *   `": "`, non-ASCII and `< > & '` as \u escapes).
 */
import nunjucks from 'nunjucks';
import { isPlainObject, isTuple, NAMESPACE, NO_ELSE, PyFloat, pyFloat, pyRepr, pyStr, pyType, requireExactInt } from './py-values.js';
import { dateTimeMember } from './py-datetime.js';

const { SafeString } = nunjucks.runtime;

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

/**
 * A number for %d, %f, ...: an int, a bool or a float; anything else is Python's TypeError. An
 * int past 2^53 written as an integer is an error; as a float (`%f`, `%e`, `%g`) it is what
 * Python's float() of it is.
 */
function formatNumber(v: unknown, conv: string, integer: boolean): number {
  const x = v instanceof PyFloat ? v.value : typeof v === 'boolean' ? Number(v) : v;
  if (typeof x === 'number' && !(v instanceof PyFloat) && 'diuxXo'.includes(conv)) requireExactInt(x);
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
      // (by characters, as Python counts them: '%.1s' of an emoji is the emoji, not half of it)
      if (precision !== undefined) body = [...body].slice(0, precision).join('');
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
    // (the width in characters: '%5s' of an emoji pads it with 4 spaces, as Python's)
    const pad = width - sign.length - [...body].length;
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
    requireExactInt(x);
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

/** Python's `format(v, spec)` of a value as `str.format` calls it for one field (`spec` already has its nested fields filled in). */
function formatField(v: unknown, spec: string): string {
  const text = typeof v === 'string' ? v : v instanceof SafeString ? String(v) : undefined;
  // run_started_at (its text, a datetime to dbt): datetime.__format__ is its strftime
  if (text !== undefined && spec) {
    const strf = dateTimeMember(text, 'strftime');
    if (typeof strf === 'function') return String(strf(spec));
  }
  const type = pyType(v);
  if (!spec) return text ?? (v === null ? 'None' : String(pyStr(v)));
  const isNumber = typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat;
  if (text === undefined && !isNumber) throw new Error(`TypeError: unsupported format string passed to ${type}.__format__`);
  const m = /^(?:(.)?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?(.)?$/s.exec(spec);
  // (a fill without an align is no fill: `x5` is not a spec)
  if (!m || (m[1] !== undefined && m[2] === undefined)) throw new Error(`ValueError: Invalid format specifier '${spec}' for object of type '${type}'`);
  const [, fill0, align0, sign0, z, alt, zero, w, grouping, prec, conv0] = m;
  if (z) throw new Error(`the 'z' option of a format spec ('${spec}') is not supported in Vigil's str.format`);
  const width = w ? Number(w) : 0;
  const precision = prec === undefined ? undefined : Number(prec);
  let fill = fill0 ?? (zero ? '0' : ' ');
  let align = align0;
  if (text !== undefined) {
    const conv = conv0 ?? 's';
    if (conv !== 's') throw new Error(`ValueError: Unknown format code '${conv}' for object of type 'str'`);
    if (sign0) throw new Error('ValueError: Sign not allowed in string format specifier');
    if (alt) throw new Error('ValueError: Alternate form (#) not allowed in string format specifier');
    if (grouping) throw new Error(`ValueError: Cannot specify '${grouping}' with 's'.`);
    if (align === '=') throw new Error("ValueError: '=' alignment not allowed in string format specifier");
    return pad('', precision === undefined ? text : [...text].slice(0, precision).join(''), width, fill, align ?? '<');
  }
  const float = v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));
  const x = v instanceof PyFloat ? v.value : Number(v);
  const conv = conv0 ?? '';
  if (!float && (conv === '' || 'bcdoxX'.includes(conv))) requireExactInt(x);
  if (conv === 'n') throw new Error(`the format code 'n' (the locale's separators) is not supported in Vigil's str.format: use 'd', 'g' or ',' ('${spec}')`);
  if (conv === '' || (!float && 'bcdoxX'.includes(conv))) {
    if (!float && precision !== undefined) throw new Error('ValueError: Precision not allowed in integer format specifier');
    // (Python's is 'g' with a digit after the point, switching to an exponent a digit earlier)
    if (float && precision !== undefined) throw new Error(`a float's format spec with a precision and no type ('${spec}') is not supported in Vigil's str.format: give the type ('.${precision}g', '.${precision}f')`);
  } else if (!'eEfFgG%'.includes(conv)) throw new Error(`ValueError: Unknown format code '${conv}' for object of type '${type}'`);
  if (grouping && zero && !align0 && fill0 === undefined) throw new Error(`zero padding with a thousands separator ('${spec}') is not supported in Vigil's str.format: format the number, then pad it`);
  if (grouping === ',' && 'boxXc'.includes(conv) && conv) throw new Error(`ValueError: Cannot specify ',' with '${conv}'.`);
  let body: string;
  let prefix = '';
  if (conv === 'c') {
    if (sign0) throw new Error("ValueError: Sign not allowed with integer format specifier 'c'");
    if (alt) throw new Error("ValueError: Alternate form (#) not allowed with integer format specifier 'c'");
    body = String.fromCodePoint(x);
  } else if (!float && (conv === '' || conv === 'd')) body = group(BigInt(Math.abs(x)).toString(), grouping, 3);
  else if ('boxX'.includes(conv) && conv) {
    body = group(BigInt(Math.abs(x)).toString(conv === 'b' ? 2 : conv === 'o' ? 8 : 16), grouping, 4);
    if (conv === 'X') body = body.toUpperCase();
    if (alt) prefix = `0${conv === 'X' ? 'X' : conv}`;
  } else if (conv === '') body = Number.isFinite(x) ? String(pyStr(v instanceof PyFloat ? v : x)).replace(/^-/, '') : numberBody(x, 'f', undefined, false);
  else {
    const pct = conv === '%';
    body = numberBody(pct ? x * 100 : x, pct ? 'f' : conv, precision, !!alt) + (pct ? '%' : '');
    if (grouping && Number.isFinite(x)) body = body.replace(/^\d+/, (d) => group(d, grouping, 3));
  }
  if (conv === '' && grouping && Number.isFinite(x)) body = body.replace(/^\d+/, (d) => group(d, grouping, 3));
  const sign = x < 0 || Object.is(x, -0) ? '-' : sign0 === '+' ? '+' : sign0 === ' ' ? ' ' : '';
  if (zero && !align0) {
    fill = fill0 ?? '0';
    align = '=';
  }
  return pad(sign + prefix, body, width, fill, align ?? '>');
}

/** Digits with a separator every `every` from the right. */
function group(digits: string, sep: string | undefined, every: number): string {
  if (!sep) return digits;
  const re = new RegExp(`\\B(?=(\\d{${every}})+$)`, 'g');
  return every === 3 ? digits.replace(re, sep) : digits.replace(new RegExp(`\\B(?=([0-9a-fA-F]{${every}})+$)`, 'g'), sep);
}

/** `head` (a sign and a 0x) and `body` padded to `width` with `fill` as `align` says (`=`: between the two). */
function pad(head: string, body: string, width: number, fill: string, align: string): string {
  const n = width - [...head].length - [...body].length;
  if (n <= 0) return head + body;
  if (align === '<') return head + body + fill.repeat(n);
  if (align === '=') return head + fill.repeat(n) + body;
  if (align === '^') return fill.repeat(Math.floor(n / 2)) + head + body + fill.repeat(n - Math.floor(n / 2));
  return fill.repeat(n) + head + body;
}

/** Python's ascii(): repr() with what is past ASCII as \x, \u or \U escapes. */
function pyAscii(v: unknown): string {
  return pyRepr(v).replace(/[^\x00-\x7f]/gu, (c) => {
    const n = c.codePointAt(0)!;
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : n < 0x10000 ? `\\u${n.toString(16).padStart(4, '0')}` : `\\U${n.toString(16).padStart(8, '0')}`;
  });
}

/**
 * Python's `str.format(*args, **kwargs)`: fields `{}` (numbered automatically), `{0}`, `{name}`,
 * with `[index]` / `[key]` and `.attribute` (a namespace()'s; a dict has none, as in Python),
 * a conversion `!s`, `!r`, `!a`, a format spec (fill, align `<>=^`, sign, `#`, `0`, width, `,`
 * or `_`, precision, the types s b c d o x X e E f F g G %; a nested `{}` in it), and `{{` `}}`.
 * What Vigil cannot do exactly (the locale's `n`, a float's precision without a type, zero
 * padding with a separator) is an error naming it; Python's own errors are Python's.
 */
export function pyStrFormat(fmt: string, args: unknown[], kwargs: Record<string, unknown>): string {
  let auto = 0;
  let numbering: 'auto' | 'manual' | undefined;
  const lookup = (field: string): unknown => {
    const m = /^([^.[]*)((?:\.[^.[]+|\[[^\]]+\])*)$/.exec(field);
    if (!m) throw new Error(`ValueError: bad format field '{${field}}'`);
    const [, name, rest] = m;
    let v: unknown;
    if (name === '' || /^\d+$/.test(name)) {
      const now = name === '' ? 'auto' : 'manual';
      if (numbering && numbering !== now) throw new Error(now === 'auto' ? 'ValueError: cannot switch from manual field specification to automatic field numbering' : 'ValueError: cannot switch from automatic field numbering to manual field specification');
      numbering = now;
      const i = name === '' ? auto++ : Number(name);
      if (i >= args.length) throw new Error(`IndexError: Replacement index ${i} out of range for positional args tuple`);
      v = args[i];
    } else {
      // (Python's KeyError; not worded as one: a method's error is placed as such, template-env.ts)
      if (!Object.hasOwn(kwargs, name)) throw new Error(`str.format(): no keyword argument '${name}' (Python's KeyError; it was given ${Object.keys(kwargs).length ? Object.keys(kwargs).join(', ') : 'none'})`);
      v = kwargs[name];
    }
    for (const [, attr, index] of rest.matchAll(/\.([^.[]+)|\[([^\]]+)\]/g)) {
      if (attr !== undefined) {
        // a number's real and imaginary parts (`{0.real}`; a bool's are an int's; a float's imag,
        // 0.0, is 0 here: a zero float is the int 0 to Vigil, py-float.ts)
        if ((attr === 'real' || attr === 'imag') && (typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat)) {
          v = attr === 'imag' ? 0 : typeof v === 'boolean' ? Number(v) : v;
          continue;
        }
        if (!(isPlainObject(v) && (v as Record<symbol, unknown>)[NAMESPACE] === true && Object.hasOwn(v, attr))) throw new Error(`AttributeError: '${pyType(v)}' object has no attribute '${attr}' (in the format field {${field}}${isPlainObject(v) ? `: a dict's item is {${field.slice(0, field.length - rest.length)}[${attr}]}` : ''})`);
        v = (v as Record<string, unknown>)[attr];
      } else {
        const key = /^\d+$/.test(index) ? Number(index) : index;
        if (Array.isArray(v) || typeof v === 'string') {
          if (typeof key !== 'number') throw new Error(`TypeError: ${pyType(v)} indices must be integers or slices, not str`);
          if (key >= v.length) throw new Error(`IndexError: ${pyType(v)} index out of range`);
          v = [...(v as ArrayLike<unknown>) as unknown[]][key];
        } else if (isPlainObject(v)) {
          if (!Object.hasOwn(v, String(key))) throw new Error(`str.format(): the dict has no key '${String(key)}' (Python's KeyError, in the format field {${field}})`);
          // Python looks up the int 0 for [0]; a dict here keeps each key as text ({0: 'z'} and
          // {'0': 'z'} are one dict), so which one it has is not known
          if (typeof key === 'number') throw new Error(`str.format(): {${field}} looks up the int ${key} in a dict (Python's rule for digits), and Vigil's dict keys are text: its key '${key}' may have been the int or the text (KeyError: ${key} in Python then): take the item out first, '{}'.format(d[${key}]) or '{}'.format(d['${key}'])`);
          v = v[String(key)];
        } else throw new Error(`TypeError: '${pyType(v)}' object is not subscriptable`);
      }
    }
    if (v === undefined || v === NO_ELSE) throw new Error(`the value of the format field {${field}} is undefined: it would print nothing (give it with | default(...))`);
    return v;
  };
  const render = (s: string, depth: number): string => {
    let out = '';
    let i = 0;
    while (i < s.length) {
      const c = s[i];
      if (c === '}') {
        if (s[i + 1] !== '}') throw new Error("ValueError: Single '}' encountered in format string");
        out += '}';
        i += 2;
        continue;
      }
      if (c !== '{') {
        out += c;
        i++;
        continue;
      }
      if (s[i + 1] === '{') {
        out += '{';
        i += 2;
        continue;
      }
      // the field, to its closing brace (a spec may hold nested fields: {:{w}})
      let j = i + 1;
      let nested = 0;
      let bracket = false;
      for (; j < s.length; j++) {
        if (bracket) {
          if (s[j] === ']') bracket = false;
        } else if (s[j] === '[' && nested === 0) bracket = true;
        else if (s[j] === '{') nested++;
        else if (s[j] === '}') {
          if (nested === 0) break;
          nested--;
        }
      }
      if (j >= s.length) throw new Error(depth ? 'ValueError: unmatched \'{\' in format spec' : "ValueError: Single '{' encountered in format string");
      const inner = s.slice(i + 1, j);
      i = j + 1;
      const m = /^((?:[^![:]|\[[^\]]*\])*)(?:!(.?))?(?::([\s\S]*))?$/.exec(inner);
      if (!m) throw new Error("ValueError: expected ':' after conversion specifier");
      const [, field, conversion, rawSpec = ''] = m;
      if (depth > 1) throw new Error('ValueError: Max string recursion exceeded');
      let v = lookup(field);
      if (conversion !== undefined) {
        if (conversion === 's') v = v === null ? 'None' : String(pyStr(v));
        else if (conversion === 'r') v = pyRepr(v);
        else if (conversion === 'a') v = pyAscii(v);
        else throw new Error(conversion ? `ValueError: Unknown conversion specifier ${conversion}` : 'ValueError: end of string while looking for conversion specifier');
      }
      out += formatField(v, rawSpec.includes('{') ? render(rawSpec, depth + 1) : rawSpec);
    }
    return out;
  };
  return render(fmt, 0);
}
