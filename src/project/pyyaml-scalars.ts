/**
 * Plain scalars as dbt reads them: PyYAML's implicit resolvers (resolver.py) and constructors
 * (constructor.py), YAML 1.1. `no`, `off` are false, `0755` is 493, `1_000` is 1000, `1:30` is
 * 90, while `1e3` (no dot, no exponent sign) and `y` stay strings. Vigil reads YAML 1.2, where
 * `no` is text and `0755` is 755: yaml11Only() finds such scalars in a Vigil YAML (--vars,
 * project.yaml `vars:`), where a dbt habit would silently mean another value. No `yaml` import
 * here: `--vars` is checked on every command's start (dbt-yaml.ts builds the `yaml` package's
 * tags from these).
 */
import type { YamlSource } from './yaml-source.js';

const sexagesimal = (s: string) => s.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);

function pyInt(s: string): number {
  let v = s.replace(/_/g, '');
  const sign = v[0] === '-' ? -1 : 1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  if (v === '0') return 0;
  if (v.startsWith('0b')) return sign * parseInt(v.slice(2), 2);
  if (v.startsWith('0x')) return sign * parseInt(v.slice(2), 16);
  if (v[0] === '0') return sign * parseInt(v, 8);
  if (v.includes(':')) return sign * sexagesimal(v);
  return sign * Number(v);
}

function pyFloat(s: string): number {
  let v = s.replace(/_/g, '').toLowerCase();
  const sign = v[0] === '-' ? -1 : 1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  if (v === '.inf') return sign * Infinity;
  if (v === '.nan') return NaN;
  if (v.includes(':')) return sign * sexagesimal(v);
  return sign * Number(v);
}

/** PyYAML's implicit resolvers (null, bool, int, float), in its order; anything else is a string. */
export const PYYAML_RESOLVERS: Array<{ name: 'null' | 'bool' | 'int' | 'float'; test: RegExp; resolve: (s: string) => unknown }> = [
  { name: 'null', test: /^(?:~|null|Null|NULL|)$/, resolve: () => null },
  { name: 'bool', test: /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/, resolve: (s) => /^(?:yes|true|on)$/i.test(s) },
  { name: 'int', test: /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/, resolve: pyInt },
  { name: 'float', test: /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/, resolve: pyFloat },
];

/** A plain (unquoted) scalar's text as dbt reads it. */
export function dbtPlainScalar(text: string): unknown {
  const r = PYYAML_RESOLVERS.find((x) => x.test.test(text));
  return r ? r.resolve(text) : text;
}

/** A scalar of a Vigil YAML that dbt reads otherwise: where, as written, and the two readings. */
export interface Yaml11Only {
  path: PropertyKey[];
  written: string;
  dbt: unknown;
  yaml12: unknown;
}

/** The plain scalars under `path` of `src` (its value `value`) that dbt (YAML 1.1) reads as another boolean, number or null than Vigil (YAML 1.2) does. */
export function yaml11Only(src: Pick<YamlSource, 'scalarAt'>, value: unknown, path: PropertyKey[] = [], out: Yaml11Only[] = [], opts: { /** also one dbt reads as text (1e3): where the value is compared as text, not rendered into SQL */ asText?: boolean } = {}): Yaml11Only[] {
  if (Array.isArray(value)) value.forEach((x, i) => yaml11Only(src, x, [...path, i], out, opts));
  else if (value && typeof value === 'object') for (const [k, x] of Object.entries(value)) yaml11Only(src, x, [...path, k], out, opts);
  else {
    const written = src.scalarAt(path)?.source;
    // (quoted, a block scalar, a tag: read alike)
    if (written === undefined || /^['"|>!&*]/.test(written)) return out;
    // (one dbt reads as text that YAML 1.2 reads as a number, 1e3, renders into SQL as the same
    // number, unless compared as text; -0 is 0 to both, whatever Object.is says)
    // (a timestamp, 2024-1-5 or 2024-01-01T10:00:00Z, is a date or datetime to dbt, which prints it
    // otherwise than written, '2024-01-05', '2024-01-01 10:00:00+00:00': a text compared as text)
    const dbt = opts.asText && typeof value === 'string' && PYYAML_TIMESTAMP_TEST.test(written) ? pyyamlTimestampText(written) : dbtPlainScalar(written);
    if (typeof dbt === 'string' ? opts.asText && dbt !== value : dbt !== value && !(Number.isNaN(dbt) && Number.isNaN(value))) out.push({ path, written, dbt, yaml12: value });
  }
  return out;
}

/** A value spelled so that YAML 1.2 reads it so: `false`, `493`, `'no'`. */
const spell = (v: unknown): string => (typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : v === null ? 'null' : Number.isNaN(v) ? '.nan' : v === Infinity ? '.inf' : v === -Infinity ? '-.inf' : String(v));
const shown = (v: unknown): string => (typeof v === 'string' ? `the text '${v}'` : spell(v));

/** What to say of one: `no is false to dbt (YAML 1.1) but the text 'no' to Vigil (YAML 1.2): write false (as dbt reads it) or 'no' (the text)`. */
export function sayYaml11Only(d: Yaml11Only): string {
  // (a timestamp: a date or datetime to dbt, printed otherwise than written)
  if (typeof d.dbt === 'string' && typeof d.yaml12 === 'string' && PYYAML_TIMESTAMP_TEST.test(d.written)) {
    return `${d.written} is a ${d.dbt.includes(':') ? 'datetime' : 'date'} to dbt (YAML 1.1), printed '${d.dbt}', but the text '${d.yaml12}' to Vigil (YAML 1.2): write ${spell(d.dbt)} (as dbt prints it) or ${spell(d.yaml12)} (quoted: the text as written, to both)`;
  }
  return `${d.written} is ${shown(d.dbt)} to dbt (YAML 1.1) but ${shown(d.yaml12)} to Vigil (YAML 1.2): write ${spell(d.dbt)} (as dbt reads it) or ${spell(d.yaml12)}${typeof d.yaml12 === 'string' ? ' (the text)' : ''}`;
}

/**
 * PyYAML's timestamp resolver (YAML 1.1): a date `2024-01-01`, or a date and time with `T`, `t`
 * or spaces between them, a one- or two-digit month, day and hour, optional fraction and zone
 * (`Z`, `+2`, `-05:30`, after optional spaces).
 */
const PYYAML_TIMESTAMP_TEST = /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;
const PYYAML_TIMESTAMP_PARTS = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$/;

/**
 * A timestamp scalar as dbt renders the value PyYAML makes of it (`{{ var('x') }}`: Python's
 * str() of a date or datetime): `2024-01-01` as written, `2024-01-01T10:00:00Z` as
 * `2024-01-01 10:00:00+00:00`, `2024-1-1 10:00:00.5` as `2024-01-01 10:00:00.500000` (the
 * fraction cut to microseconds, left out when 0). The text as written when Python refuses the
 * date or time (month 13, hour 24, an offset of a day): dbt fails to read that file.
 */
export function pyyamlTimestampText(s: string): string {
  const m = PYYAML_TIMESTAMP_PARTS.exec(s);
  if (!m) return s;
  const [, y, mo, d, h, mi, se, frac, tz, sign, tzh, tzm] = m;
  const p2 = (v: string | number) => String(v).padStart(2, '0');
  const days = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(y) < 1 || Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > days) return s;
  const date = `${y}-${p2(mo)}-${p2(d)}`;
  if (h === undefined) return date;
  if (Number(h) > 23 || Number(mi) > 59 || Number(se) > 59) return s;
  const micro = Number((frac ?? '').slice(0, 6).padEnd(6, '0'));
  let zone = '';
  if (sign) {
    const minutes = Number(tzh) * 60 + Number(tzm ?? 0);
    if (minutes >= 24 * 60) return s;
    zone = minutes === 0 ? '+00:00' : `${sign}${p2(Math.floor(minutes / 60))}:${p2(minutes % 60)}`;
  } else if (tz) zone = '+00:00';
  return `${date} ${p2(h)}:${mi}:${se}${micro ? `.${String(micro).padStart(6, '0')}` : ''}${zone}`;
}

/** PyYAML's timestamp resolver, its value the text dbt renders (pyyamlTimestampText). */
export const PYYAML_TIMESTAMP = { test: PYYAML_TIMESTAMP_TEST, resolve: pyyamlTimestampText };
