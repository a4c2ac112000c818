/**
 * zod's issues in Vigil's words (a did-you-mean for an unknown key or choice) and paths as
 * Vigil prints them. Apart from the YAML reader: resolving a target from the project snapshot
 * needs these and not the YAML libraries.
 */
import { didYouMean } from '../errors.js';

/**
 * Another tool's word for one of Vigil's choices, where spelling alone would point elsewhere
 * (`pie` is nearest to `kpi`): a chart type as Looker, Metabase or ECharts names it.
 */
const CHOICE_SYNONYMS: Record<string, string> = { pie: 'donut', doughnut: 'donut', ring: 'donut', boxplot: 'box', single_value: 'kpi', number: 'kpi', scalar: 'kpi', progress: 'gauge', column: 'bar', histogram: 'bar' };

/**
 * zod's issues about `value` (which `schema` refused) as Vigil words them, one per problem, each
 * at its path into `value` (`key`: the path ends at a key, not a value): an unknown key names the
 * nearest key the schema has there, a value that is not one of a choice lists the choices and the
 * nearest one.
 */
export function explainIssues(schema: unknown, value: unknown, issues: ReadonlyArray<{ code: string; path: PropertyKey[]; message: string }>): Array<{ path: PropertyKey[]; key: boolean; message: string }> {
  const out: Array<{ path: PropertyKey[]; key: boolean; message: string }> = [];
  /** keys an unknown key's did-you-mean names: their "is required" is the same mistake, said once */
  const misspelt = new Set<string>();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of (issue as unknown as { keys: string[] }).keys) {
        // a typo in a key: the nearest key the schema has there
        const keys = keysAt(schema, issue.path);
        // a key of another kind of the same block (a union's other option: condition type sql has
        // no value:, threshold has): no did-you-mean pointing at itself
        if (keys.includes(k)) {
          let here: unknown = value;
          for (const seg of issue.path) here = (here as Record<PropertyKey, unknown> | undefined)?.[seg as string];
          const kind = here && typeof here === 'object' && typeof (here as { type?: unknown }).type === 'string' ? ` with type: ${(here as { type: string }).type}` : '';
          out.push({ path: [...issue.path, k], key: true, message: `unknown key '${k}': not a key of this block${kind} (other kinds have it)` });
          continue;
        }
        // a key of the enclosing block written one level too deep (`time:` inside an alert's `condition:`)
        const up = enclosing(issue.path);
        if (up && issue.path.length && keysAt(schema, up).includes(k)) {
          out.push({ path: [...issue.path, k], key: true, message: `unknown key '${k}': it is a key of ${up.length ? showPath(up) : 'the top level'}, not of ${String(issue.path.at(-1))}: move it up a level` });
          continue;
        }
        const hint = didYouMean(k, keys);
        if (hint) misspelt.add(JSON.stringify([...issue.path, hint]));
        const dbt = hint ? undefined : DBT_KEYS[k];
        out.push({ path: [...issue.path, k], key: true, message: `unknown key '${k}'${hint ? ` — did you mean '${hint}'?` : dbt ? ` (${dbt})` : ''}` });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.message === 'Invalid input') {
      // one of several shapes (a column name or a mapping): the shape the value has, explained
      // at its own key; "Invalid input" said nothing of which key or why
      const options = ((issue as { errors?: Array<Array<{ code: string; path: PropertyKey[]; message: string; expected?: string }>> }).errors ?? []).filter((o) => o.length);
      const inside = options.find((o) => o.every((i) => i.path.length > 0 || i.code !== 'invalid_type'));
      if (inside) {
        out.push(...explainIssues(schema, value, inside.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))));
        continue;
      }
      let got: unknown = value;
      for (const seg of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[seg as string];
      const kinds = [...new Set(options.flatMap((o) => o.map((i) => i.expected).filter((e): e is string => !!e)))].map((e) => KIND_WORDS[e] ?? e);
      if (kinds.length) {
        out.push({ path: [...issue.path], key: false, message: got === undefined ? `is required (${kinds.join(' or ')})` : `expected ${kinds.join(' or ')}, got ${Array.isArray(got) ? 'a list' : got === null ? 'null' : typeof got === 'object' ? 'a mapping' : `${typeof got} ${JSON.stringify(got)}`}` });
        continue;
      }
    }
    if (issue.code === 'invalid_key') {
      // a mapping's key its key schema refuses: that schema's message (zod: "Invalid key in record")
      const inner = ((issue as { issues?: Array<{ message: string }> }).issues ?? []).map((i) => i.message);
      out.push({ path: [...issue.path], key: true, message: `invalid key '${String(issue.path.at(-1))}'${inner.length ? `: ${inner.join('; ')}` : ''}` });
      continue;
    }
    let message = issue.message;
    // a key left out: said as such (zod: "Invalid input: expected string, received undefined")
    if (issue.code === 'invalid_type' && / received undefined$/.test(message)) message = `is required (${KIND_WORDS[String((issue as { expected?: string }).expected)] ?? (issue as { expected?: string }).expected})`;
    // an empty key (`tests:` with nothing under it, the entries commented out) where a list or a
    // mapping goes: said as such, with the two ways out (dbt 1.7+ refuses it too: "None is not of type 'array'")
    const expected = (issue as { expected?: string }).expected;
    if (issue.code === 'invalid_type' && / received null$/.test(message) && (expected === 'array' || expected === 'object' || expected === 'record'))
      message = `is empty (null): ${KIND_WORDS[expected]} goes here — remove the key, or write ${expected === 'array' ? '[]' : '{}'} for none`;
    // `{amount: numeric(10,2)}`: in a { } mapping the comma ended the value, leaving a key `2)`
    // with no value — said, with the fix (was only "expected string, received null" at `2)`)
    const last = issue.path.at(-1);
    if (issue.code === 'invalid_type' && / received null$/.test(message) && typeof last === 'string' && /^[^(]*\)\s*$/.test(last))
      message += ` — '${last}' is the end of a value a comma cut in two: in a { } mapping a comma ends the value, so quote it ('numeric(10,2)')`;
    // a choice (an enum, a union's `type:`): its values; zod's "Invalid discriminator value" gave no did-you-mean
    const values = issue.code === 'invalid_value' ? (issue as { values?: unknown[] }).values : issue.code === 'invalid_union' && (issue as { discriminator?: string }).discriminator ? (issue as { options?: unknown[] }).options : undefined;
    if (Array.isArray(values)) {
      // a typo in a choice: the nearest allowed value; none given: required
      const allowed = values.filter((v): v is string => typeof v === 'string');
      let got: unknown = value;
      for (const seg of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[seg as string];
      const hint = typeof got === 'string' ? (allowed.includes(CHOICE_SYNONYMS[got.toLowerCase()]) ? CHOICE_SYNONYMS[got.toLowerCase()] : didYouMean(got, allowed)) : undefined;
      const choices = allowed.map((v) => `'${v}'`).join(', ');
      if (allowed.length) message = got === undefined ? `is required (one of ${choices})` : `${typeof got === 'string' ? `'${got}'` : JSON.stringify(got)} is not one of ${choices}${hint ? ` — did you mean '${hint}'?` : ''}`;
    }
    out.push({ path: [...issue.path], key: false, message });
  }
  return out.filter((o) => o.key || !o.message.startsWith('is required') || !misspelt.has(JSON.stringify(o.path)));
}

/** The path of the block around the one at `path` (past list items); undefined at the top. */
function enclosing(path: ReadonlyArray<PropertyKey>): PropertyKey[] | undefined {
  const p = [...path];
  if (typeof p.at(-1) === 'number') return undefined;
  p.pop();
  return p;
}

/** zod's names of kinds, as a YAML author says them. */
const KIND_WORDS: Record<string, string> = { string: 'a string', object: 'a mapping', array: 'a list', number: 'a number', boolean: 'true or false', record: 'a mapping' };

/** Keys of dbt's YAML that Vigil spells otherwise (said where such a key is refused). */
const DBT_KEYS: Record<string, string> = {
  overrides: "dbt's unit-test overrides: are vars:, env_vars:, is_incremental: and now: here",
};

type ZodDef = { type?: string; innerType?: unknown; in?: unknown; out?: unknown; getter?: () => unknown; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown; options?: unknown[] };
const defOf = (s: unknown): ZodDef | undefined => (s as { _zod?: { def?: ZodDef } } | undefined)?._zod?.def;

/** Past wrappers (optional, default, nullable, lazy, pipes...) to the schema that holds the value. */
function unwrap(s: unknown): unknown[] {
  for (let i = 0; i < 20; i++) {
    const d = defOf(s);
    if (!d) return [];
    if (d.type === 'union') return (d.options ?? []).flatMap(unwrap);
    if (d.type === 'lazy' && d.getter) s = d.getter();
    // a pipe holds the value as its input schema takes it; z.preprocess() is a pipe from a
    // transform, and the schema after it is what the value is checked against
    else if (d.type === 'pipe') s = defOf(d.in)?.type === 'transform' ? d.out : d.in;
    else if (d.innerType !== undefined) s = d.innerType;
    else return [s];
  }
  return [];
}

/** The keys the object schema at `path` (an issue's path into the value) accepts; none where it cannot tell. */
export function keysAt(schema: unknown, path: ReadonlyArray<PropertyKey>): string[] {
  let here = unwrap(schema);
  for (const seg of path) {
    here = here.flatMap((s) => {
      const d = defOf(s)!;
      if (d.type === 'object' && typeof seg === 'string' && d.shape && seg in d.shape) return unwrap(d.shape[seg]);
      if (d.type === 'array' && typeof seg === 'number') return unwrap(d.element);
      if (d.type === 'record') return unwrap(d.valueType);
      return [];
    });
  }
  return [...new Set(here.flatMap((s) => (defOf(s)?.type === 'object' ? Object.keys(defOf(s)!.shape ?? {}) : [])))];
}

export function showPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}
