/**
 * YAML as dbt reads it: PyYAML's SafeLoader, YAML 1.1. `no`, `off` are false, `0755` is 493,
 * `1_000` is 1000, `1:30` is 90, while `1e3` (no dot, no exponent sign) and `y` stay strings.
 * The `yaml` package's own 1.1 schema differs from PyYAML on several of these (`y`, `1e3`,
 * `08`), so the plain scalars are resolved with PyYAML's resolver patterns and constructors
 * (pyyaml-scalars.ts). A timestamp is read as the text dbt renders PyYAML's date or datetime as
 * (Python's str()): `2024-01-01` and `2024-01-01 10:00:00` as written, `2024-01-01T10:00:00Z` as
 * `2024-01-01 10:00:00+00:00` (which Vigil would read as the text written: a difference).
 */
import { parseDocument, type DocumentOptions, type ParseOptions, type SchemaOptions, type ScalarTag } from 'yaml';
import { parseYaml, type YamlSource } from './yaml-source.js';
import type { Diagnostic } from '../errors.js';
import { PYYAML_RESOLVERS, PYYAML_TIMESTAMP } from './pyyaml-scalars.js';

const tag = (name: string, test: RegExp, resolve: (s: string) => unknown): ScalarTag => ({ tag: `tag:yaml.org,2002:${name}`, default: true, test, resolve: resolve as ScalarTag['resolve'] });

/**
 * PyYAML's implicit resolvers (null, bool, int, float, merge, timestamp); anything else is a
 * string. A timestamp is the text dbt renders its date or datetime as (`2024-01-01T10:00:00Z`:
 * `2024-01-01 10:00:00+00:00`), a string for Vigil.
 */
const PYYAML_TAGS: ScalarTag[] = [...PYYAML_RESOLVERS.map((r) => tag(r.name, r.test, r.resolve)), tag('timestamp', PYYAML_TIMESTAMP.test, PYYAML_TIMESTAMP.resolve)];

/** Options for the `yaml` package that read a text as dbt does (merge keys included, as PyYAML's). */
export const DBT_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = { version: '1.1', schema: 'failsafe', customTags: PYYAML_TAGS, merge: true, resolveKnownTags: false };

/** The value of a dbt YAML text as dbt reads it (undefined for a text that does not parse). */
export function dbtYamlValue(text: string): unknown {
  const doc = parseDocument(text, { ...DBT_YAML_OPTIONS, prettyErrors: false });
  return doc.errors.length ? undefined : doc.toJS({ maxAliasCount: -1 });
}

/** A value dbt reads otherwise than YAML 1.2 (Vigil) does: `no` is false to dbt, 'no' to Vigil. */
export interface ReadingDifference {
  path: Array<string | number>;
  dbt: unknown;
  yaml12: unknown;
}

/** Where the two readings of one text differ (scalars only: the structure is the same). */
export function readingDifferences(dbt: unknown, yaml12: unknown, path: Array<string | number> = [], out: ReadingDifference[] = []): ReadingDifference[] {
  if (Array.isArray(dbt) && Array.isArray(yaml12)) dbt.forEach((x, i) => readingDifferences(x, yaml12[i], [...path, i], out));
  else if (dbt && yaml12 && typeof dbt === 'object' && typeof yaml12 === 'object' && !Array.isArray(dbt) && !Array.isArray(yaml12)) {
    for (const [k, x] of Object.entries(dbt)) if (k in yaml12) readingDifferences(x, (yaml12 as Record<string, unknown>)[k], [...path, k], out);
  } else if (!Object.is(dbt, yaml12) && !(typeof dbt === 'object' || typeof yaml12 === 'object')) out.push({ path, dbt, yaml12 });
  return out;
}

/** A difference as a finding's text: `vars.x: dbt reads false (YAML 1.1), YAML 1.2 'no'`. */
export function showReading(d: ReadingDifference, shownPath: string): string {
  // (two texts: a timestamp, which dbt reads as a date or datetime and renders otherwise than written)
  if (typeof d.dbt === 'string' && typeof d.yaml12 === 'string') {
    return `${shownPath}: dbt reads a ${d.dbt.includes(':') ? 'datetime' : 'date'} here (YAML 1.1), rendered '${d.dbt}', Vigil would read the string '${d.yaml12}' (YAML 1.2): written as the string '${d.dbt}'`;
  }
  const show = (v: unknown) => (typeof v === 'string' ? `the string '${v}'` : String(v));
  return `${shownPath}: dbt reads ${show(d.dbt)} here (YAML 1.1), Vigil would read ${show(d.yaml12)} (YAML 1.2): written as ${show(d.dbt)}`;
}

/** A dbt YAML file with its positions (a broken text is a diagnostic, as `parseYaml` says it), its value as dbt reads it, and where that differs from YAML 1.2. */
export function parseDbtYaml(text: string, file: string, ds: Diagnostic[]): (YamlSource & { differences: ReadingDifference[] }) | undefined {
  const src = parseYaml(text, file, ds);
  if (!src) return undefined;
  const value = dbtYamlValue(text);
  if (value === undefined) return { ...src, differences: [] };
  return { ...src, value, differences: readingDifferences(value, src.value) };
}
