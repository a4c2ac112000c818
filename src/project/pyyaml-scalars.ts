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
export function yaml11Only(src: Pick<YamlSource, 'scalarAt'>, value: unknown, path: PropertyKey[] = [], out: Yaml11Only[] = []): Yaml11Only[] {
  if (Array.isArray(value)) value.forEach((x, i) => yaml11Only(src, x, [...path, i], out));
  else if (value && typeof value === 'object') for (const [k, x] of Object.entries(value)) yaml11Only(src, x, [...path, k], out);
  else {
    const written = src.scalarAt(path)?.source;
    // (quoted, a block scalar, a tag: read alike)
    if (written === undefined || /^['"|>!&*]/.test(written)) return out;
    // (one dbt reads as text that YAML 1.2 reads as a number, 1e3, renders as the same number;
    // -0 is 0 to both, whatever Object.is says)
    const dbt = dbtPlainScalar(written);
    if (typeof dbt !== 'string' && dbt !== value && !(Number.isNaN(dbt) && Number.isNaN(value))) out.push({ path, written, dbt, yaml12: value });
  }
  return out;
}

/** A value spelled so that YAML 1.2 reads it so: `false`, `493`, `'no'`. */
const spell = (v: unknown): string => (typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : v === null ? 'null' : Number.isNaN(v) ? '.nan' : v === Infinity ? '.inf' : v === -Infinity ? '-.inf' : String(v));
const shown = (v: unknown): string => (typeof v === 'string' ? `the text '${v}'` : spell(v));

/** What to say of one: `no is false to dbt (YAML 1.1) but the text 'no' to Vigil (YAML 1.2): write false (as dbt reads it) or 'no' (the text)`. */
export function sayYaml11Only(d: Yaml11Only): string {
  return `${d.written} is ${shown(d.dbt)} to dbt (YAML 1.1) but ${shown(d.yaml12)} to Vigil (YAML 1.2): write ${spell(d.dbt)} (as dbt reads it) or ${spell(d.yaml12)}${typeof d.yaml12 === 'string' ? ' (the text)' : ''}`;
}
