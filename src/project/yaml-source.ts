/**
 * YAML with positions: parse a document once, keep the LineCounter, and map any
 * value path (['models', 2, 'columns', 0, 'name']) back to `line:col`. Zod issues are
 * turned into Diagnostics at the exact node they are about.
 */
import { parseDocument, LineCounter, isMap, isSeq, isScalar, isPair, type Node, type Document } from 'yaml';
import type { ZodType } from 'zod';
import { diag, didYouMean, type Diagnostic } from '../errors.js';

export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  value: unknown;
  /** Position of the node at `path`, or of its nearest existing ancestor. */
  locate(path: ReadonlyArray<PropertyKey>, atKey?: boolean): { line: number; column: number };
}

export function parseYaml(text: string, file: string, diagnostics: Diagnostic[]): YamlSource | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    // one error per root cause: the parser's first (what follows it is mostly its echo), or the
    // tab in an indentation at or before it, which makes the parser report a cascade
    const first = lines.linePos(doc.errors[0].pos[0]);
    const tab = text.split('\n').findIndex((l) => /^ *\t/.test(l));
    if (tab >= 0 && tab + 1 <= first.line) {
      const col = text.split('\n')[tab].indexOf('\t') + 1;
      diagnostics.push(diag('E_YAML', 'a tab in the indentation: YAML indents with spaces only', { file, line: tab + 1, column: col }, 'replace the tab with spaces'));
    } else diagnostics.push(diag('E_YAML', doc.errors[0].message.split('\n')[0], { file, line: first.line, column: first.col }, 'fix the YAML syntax'));
    return undefined;
  }
  const locate = (path: ReadonlyArray<PropertyKey>, atKey = false) => {
    let node: unknown = doc.contents;
    let pos = offsetOf(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(key));
        if (!pair) break;
        pos = offsetOf(pair.key) ?? pos;
        node = pair.value;
        // point at the value when it exists (e.g. a wrong type), otherwise at the key
        const vp = offsetOf(node);
        if (vp !== undefined && !(atKey && i === path.length - 1)) pos = vp;
      } else if (isSeq(node) && typeof key === 'number') {
        const item = node.items[key];
        if (item === undefined) break;
        node = item;
        pos = offsetOf(node) ?? pos;
      } else break;
    }
    const lp = lines.linePos(pos);
    return { line: lp.line, column: lp.col };
  };
  return { file, doc, lines, value: doc.toJS(), locate };
}

function offsetOf(n: unknown): number | undefined {
  const r = (n as Node | undefined)?.range;
  return r ? r[0] : undefined;
}

/** Validate a YAML source with zod; every issue becomes a `file:line:col: path: message` diagnostic. */
export function validateYaml<T>(src: YamlSource, schema: ZodType<T>, diagnostics: Diagnostic[], basePath: PropertyKey[] = []): T | undefined {
  let value: unknown = src.value;
  for (const k of basePath) value = (value as Record<PropertyKey, unknown>)?.[k as string];
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const p of explainIssues(schema, value, r.error.issues)) {
    const path = [...basePath, ...p.path];
    diagnostics.push(diag('E_SCHEMA', `${showPath(path) || '(document)'}: ${p.message}`, { file: src.file, ...src.locate(path, p.key) }));
  }
  return undefined;
}

/**
 * zod's issues about `value` (which `schema` refused) as Vigil words them, one per problem, each
 * at its path into `value` (`key`: the path ends at a key, not a value): an unknown key names the
 * nearest key the schema has there, a value that is not one of a choice lists the choices and the
 * nearest one.
 */
export function explainIssues(schema: unknown, value: unknown, issues: ReadonlyArray<{ code: string; path: PropertyKey[]; message: string }>): Array<{ path: PropertyKey[]; key: boolean; message: string }> {
  const out: Array<{ path: PropertyKey[]; key: boolean; message: string }> = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of (issue as unknown as { keys: string[] }).keys) {
        // a typo in a key: the nearest key the schema has there
        const hint = didYouMean(k, keysAt(schema, issue.path));
        out.push({ path: [...issue.path, k], key: true, message: `unknown key '${k}'${hint ? ` — did you mean '${hint}'?` : ''}` });
      }
      continue;
    }
    let message = issue.message;
    const values = (issue as { values?: unknown[] }).values;
    if (issue.code === 'invalid_value' && Array.isArray(values)) {
      // a typo in a choice: the nearest allowed value
      const allowed = values.filter((v): v is string => typeof v === 'string');
      let got: unknown = value;
      for (const seg of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[seg as string];
      const hint = typeof got === 'string' ? didYouMean(got, allowed) : undefined;
      if (allowed.length) message = `'${String(got)}' is not one of ${allowed.map((v) => `'${v}'`).join(', ')}${hint ? ` — did you mean '${hint}'?` : ''}`;
    }
    out.push({ path: [...issue.path], key: false, message });
  }
  return out;
}

type ZodDef = { type?: string; innerType?: unknown; in?: unknown; out?: unknown; getter?: () => unknown; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown; options?: unknown[] };
const defOf = (s: unknown): ZodDef | undefined => (s as { _zod?: { def?: ZodDef } } | undefined)?._zod?.def;

/** Past wrappers (optional, default, nullable, lazy, pipes...) to the schema that holds the value. */
function unwrap(s: unknown): unknown[] {
  for (let i = 0; i < 20; i++) {
    const d = defOf(s);
    if (!d) return [];
    if (d.type === 'union') return (d.options ?? []).flatMap(unwrap);
    if (d.type === 'lazy' && d.getter) s = d.getter();
    else if (d.type === 'pipe') s = d.in;
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
