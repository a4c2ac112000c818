/**
 * YAML with positions: parse a document once and map any value path
 * (['models', 2, 'columns', 0, 'name']) back to `line:col`. Zod issues are
 * turned into Diagnostics at the exact node they are about.
 */
import { parseWithPointers, Kind, type YAMLNode } from '@stoplight/yaml';
import type { Node } from 'yaml';
import { yamlLib } from './yaml-lib.js';
import type { ZodType } from 'zod';
import { diag, type Diagnostic } from '../errors.js';
import { explainIssues, showPath } from './issues.js';

export interface YamlSource {
  file: string;
  value: unknown;
  /** Position of the node at `path`, or of its nearest existing ancestor. */
  locate(path: ReadonlyArray<PropertyKey>, atKey?: boolean): { line: number; column: number };
  /** The scalar at `path` as written (`source`), and whether it is a block scalar (`|` or `>`); undefined for anything else. */
  scalarAt(path: ReadonlyArray<PropertyKey>): { source: string; block: boolean } | undefined;
  /** The document's text (withMergeKeys reads how a `<<` key is written). */
  text?: string;
}

/**
 * A text with an explicit tag (`!!str 12`, `!Ref x`), a tab or a block scalar that keeps its
 * trailing lines (`|+`) goes to the yaml package: the fast parser reads `!!str 12` as a number,
 * lets a tab in an indentation pass with a warning and drops the kept blank lines. (Over-matching
 * only costs speed: a `!` after a space inside a string sends the file the slow way.)
 */
const SLOW_PATH = /(^|[\s[{,:-])!|\t|[|>][1-9]?\+/;

/**
 * Parse one YAML document (YAML 1.2 core schema, unique keys). The values and positions come from
 * @stoplight/yaml (yaml-ast-parser, a fork of js-yaml that keeps positions): ~5x faster than the
 * yaml package's document, which a project with 160 KB of YAML paid on every command (~190 ms).
 * A text that parser has anything to say about — an error, a warning, a duplicate key — or that
 * uses tags or tabs is read by the yaml package as before, so every syntax error is worded and
 * placed as it always was (test/compile/yaml-source.test.ts compares the two on every YAML file
 * of the repository and on edge cases; `how` forces one path there).
 */
export function parseYaml(text: string, file: string, diagnostics: Diagnostic[], how: 'auto' | 'fast' | 'slow' = 'auto'): YamlSource | undefined {
  return read(text, file, diagnostics, how).source;
}

/**
 * The places of a document's nodes, as the fast parser gave them: only what `locate` and
 * `scalarAt` walk (kinds, offsets, keys), plain data that can be kept between runs
 * (yaml-cache.ts). null: an empty document. The parser's own nodes have these fields too.
 */
export interface YamlTree {
  kind: number;
  startPosition: number;
  endPosition: number;
  mappings?: Array<{ key: { value: unknown; startPosition: number } | null; value: YamlTree | null }>;
  items?: Array<YamlTree | null>;
  /** an alias' anchored node (the parser's own nodes only: not kept between runs) */
  value?: YamlTree | null;
}

/** Whether path[i] is looked up past the alias of a merge key: `<<` just before it, or `<<` and an index of its list. */
function underMerge(path: ReadonlyArray<PropertyKey>, i: number): boolean {
  return path[i - 1] === '<<' || (typeof path[i - 1] === 'number' && path[i - 2] === '<<');
}

/** parseYaml, and when the fast parser read the text cleanly, its tree reduced to a YamlTree (to keep with the value). */
export function parseYamlKeeping(text: string, file: string, diagnostics: Diagnostic[], how: 'auto' | 'fast' | 'slow' = 'auto'): { source?: YamlSource; tree?: YamlTree | null } {
  const r = read(text, file, diagnostics, how);
  return { source: r.source, tree: r.clean ? treeOf(r.ast) : undefined };
}

/**
 * Files whose text was parsed ahead (a dashboard, by loadProject through the YAML cache: its JSON
 * as YAML for the places of its nodes), with the text parsed: `keptSource` gives the YamlSource
 * only while the file holds that text, and only a text the fast parser read cleanly (nothing to
 * report) is put here, so parsing it again would say nothing either.
 */
const parsedAhead = new WeakMap<object, { text: string; source: YamlSource }>();

export function keepSource(file: { text: string }, source: YamlSource): void {
  parsedAhead.set(file, { text: file.text, source });
}

export function keptSource(file: { text: string }): YamlSource | undefined {
  const k = parsedAhead.get(file);
  return k && k.text === file.text ? k.source : undefined;
}

/** One document through the fast parser (its nodes walked as they are), or the yaml package. */
function read(text: string, file: string, diagnostics: Diagnostic[], how: 'auto' | 'fast' | 'slow'): { source?: YamlSource; ast?: YAMLNode; clean?: boolean } {
  if (how === 'fast' || (how === 'auto' && !SLOW_PATH.test(text))) {
    const r = parseWithPointers<unknown>(text, { ignoreDuplicateKeys: false });
    if (r.diagnostics.length === 0 && text.includes('&')) {
      const loop = aliasInsideItsAnchor(r.ast as unknown as YamlTree | undefined);
      if (loop) return { source: void selfHeld(loop.name, lineIndex(text)(loop.at), file, diagnostics) };
    }
    if (r.diagnostics.length === 0 || how === 'fast') {
      return { source: yamlFromTree(file, text, (r.ast ?? null) as unknown as YamlTree | null, r.data ?? null), ast: r.ast, clean: r.diagnostics.length === 0 };
    }
  }
  return { source: slowSource(text, file, diagnostics) };
}

/** The first alias written inside the node its anchor names (`a: &x {b: [*x]}`, `<<: *x` under &x): its name and offset. */
function aliasInsideItsAnchor(n: (YamlTree & { referencesAnchor?: string }) | null | undefined): { name: string; at: number } | undefined {
  if (!n) return undefined;
  if (n.kind === Kind.ANCHOR_REF) {
    const t = n.value;
    return t && t.startPosition <= n.startPosition && n.startPosition < t.endPosition ? { name: n.referencesAnchor ?? '', at: n.startPosition - 1 } : undefined;
  }
  for (const x of n.mappings?.map((m) => m.value) ?? n.items ?? []) {
    const found = aliasInsideItsAnchor(x);
    if (found) return found;
  }
  return undefined;
}

/** A value that holds itself (an alias inside its own anchor): Go's yaml, Alertmanager's, refuses it ("anchor 'x' value contains itself"), and no value is read. */
function selfHeld(name: string, at: { line: number; column: number }, file: string, diagnostics: Diagnostic[]): undefined {
  diagnostics.push(diag('E_YAML', `the alias *${name} is inside the value its anchor &${name} names: a value cannot hold (or merge) itself`, { file, ...at }, `anchor a mapping beside this one (- &base {...}) and alias that`));
  return undefined;
}

function treeOf(n: YAMLNode | null | undefined): YamlTree | null {
  if (!n) return null;
  const t: YamlTree = { kind: n.kind, startPosition: n.startPosition, endPosition: n.endPosition };
  if (n.kind === Kind.MAP) t.mappings = n.mappings.map((m) => ({ key: m.key ? { value: m.key.value, startPosition: m.key.startPosition } : null, value: treeOf(m.value) }));
  else if (n.kind === Kind.SEQ) t.items = n.items.map((x) => treeOf(x));
  return t;
}

/** Offsets to 1-based line and column. */
function lineIndex(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  };
}

/** The YamlSource of a text the fast parser read: its value and tree (fresh, or kept by yaml-cache.ts). */
export function yamlFromTree(file: string, text: string, ast: YamlTree | null, value: unknown): YamlSource {
  const pos = lineIndex(text);
  // where a node is missing (an empty document, `key:` with nothing, a `-` with nothing) the yaml
  // package places the empty value itself: those few lookups ask it (parsed once, on first need)
  let slow: YamlSource | undefined;
  const viaSlow = () => (slow ??= slowSource(text, file, [])!);
  // an alias is placed at its `*`, and a path does not go through it (as with the yaml package)
  const startOf = (n: YamlTree) => (n.kind === Kind.ANCHOR_REF ? n.startPosition - 1 : n.startPosition);
  /** the node at `path` (undefined when the path goes past what exists), the offset locate reports, or undefined where an empty value is on the way */
  const walk = (path: ReadonlyArray<PropertyKey>, atKey: boolean): { node: YamlTree | undefined; at: number } | undefined => {
    if (!ast || value === null) return undefined;
    let node: YamlTree | undefined = ast;
    let at = startOf(ast);
    for (let i = 0; i < path.length && node; i++) {
      const key = path[i];
      // the mapping a merge key (`<<: *a`, `<<: [*a, *b]`) names: a path through it goes on in the anchored text
      if (node.kind === Kind.ANCHOR_REF && underMerge(path, i)) {
        const target: YamlTree | null | undefined = node.value;
        if (!target) return undefined;
        node = target;
        at = startOf(node);
      }
      if (node.kind === Kind.MAP) {
        const pair: NonNullable<YamlTree['mappings']>[number] | undefined = node.mappings!.find((m) => m.key && String(m.key.value) === String(key));
        if (!pair?.key) return { node: undefined, at };
        at = pair.key.startPosition;
        if (!pair.value) return atKey && i === path.length - 1 ? { node: undefined, at } : undefined;
        // point at the value (e.g. a wrong type), or at the key when asked for it
        if (!(atKey && i === path.length - 1)) at = startOf(pair.value);
        node = pair.value;
      } else if (node.kind === Kind.SEQ && typeof key === 'number') {
        if (key >= node.items!.length) return { node: undefined, at };
        const item: YamlTree | null = node.items![key];
        if (!item) return undefined;
        at = startOf(item);
        node = item;
      } else return { node: undefined, at };
    }
    return { node, at };
  };
  return {
    file,
    value,
    text,
    locate: (path, atKey = false) => {
      const w = walk(path, atKey);
      return w ? pos(w.at) : viaSlow().locate(path, atKey);
    },
    scalarAt: (path) => {
      const w = walk(path, false);
      if (!w) return viaSlow().scalarAt(path);
      if (w.node?.kind !== Kind.SCALAR) return undefined;
      const source = text.slice(w.node.startPosition, w.node.endPosition).replace(/\s+$/, '');
      return { source, block: /^[|>]/.test(source) };
    },
  };
}

/** The yaml package's document: the wording and place of syntax errors, and the files the fast parser does not take. */
function slowSource(text: string, file: string, diagnostics: Diagnostic[]): YamlSource | undefined {
  const { parseDocument, LineCounter, isMap, isSeq, isScalar, isPair, isAlias, visit } = yamlLib();
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
    } else {
      const e = doc.errors[0];
      // a second merge key in one mapping (Go's yaml.v2 takes it; YAML's keys are unique): the list form merges both
      const twoMerges = e.code === 'DUPLICATE_KEY' && /^<<\s*:/.test(text.slice(e.pos[0]));
      diagnostics.push(diag('E_YAML', twoMerges ? 'two merge keys (<<) in one mapping: a key is written once' : e.message.split('\n')[0], { file, line: first.line, column: first.col }, twoMerges ? 'merge several mappings with one key and a list: <<: [*one, *two] (the earlier one wins a key both have)' : 'fix the YAML syntax'));
    }
    return undefined;
  }
  // an alias before its anchor (`b: *x` with no `&x` above it), placed at the alias (was: 1:1); one inside its own anchor (a value holding itself)
  let unresolved: { at: number; name: string } | undefined;
  let loop: { at: number; name: string } | undefined;
  visit(doc, {
    Alias(_k, n) {
      const t = n.resolve(doc);
      const at = n.range?.[0] ?? 0;
      if (!t) unresolved = { at, name: n.source };
      else if (t.range && t.range[0] <= at && at < t.range[2]) loop = { at, name: n.source };
      else return undefined;
      return visit.BREAK;
    },
  });
  if (loop) {
    const lp = lines.linePos(loop.at);
    return selfHeld(loop.name, { line: lp.line, column: lp.col }, file, diagnostics);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    const lp = lines.linePos(unresolved?.at ?? 0);
    diagnostics.push(diag('E_YAML', (e as Error).message.split('\n')[0], { file, line: lp.line, column: lp.col }, 'define the anchor (&name) before the alias (*name)'));
    return undefined;
  }
  const walk = (path: ReadonlyArray<PropertyKey>, atKey: boolean) => {
    let node: unknown = doc.contents;
    let pos = offsetOf(node) ?? 0;
    let complete = true;
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      // the mapping a merge key names (as in the fast parser's walk)
      if (isAlias(node) && underMerge(path, i)) {
        node = node.resolve(doc);
        pos = offsetOf(node) ?? pos;
      }
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(key));
        if (!pair) {
          complete = false;
          break;
        }
        pos = offsetOf(pair.key) ?? pos;
        node = pair.value;
        // point at the value when it exists (e.g. a wrong type), otherwise at the key
        const vp = offsetOf(node);
        if (vp !== undefined && !(atKey && i === path.length - 1)) pos = vp;
      } else if (isSeq(node) && typeof key === 'number') {
        const item = node.items[key];
        if (item === undefined) {
          complete = false;
          break;
        }
        node = item;
        pos = offsetOf(node) ?? pos;
      } else {
        complete = false;
        break;
      }
    }
    return { node: complete ? node : undefined, pos };
  };
  return {
    file,
    value,
    text,
    locate: (path, atKey = false) => {
      const lp = lines.linePos(walk(path, atKey).pos);
      return { line: lp.line, column: lp.col };
    },
    scalarAt: (path) => {
      const n = walk(path, false).node;
      if (!isScalar(n) || !n.range) return undefined;
      return { source: text.slice(n.range[0], n.range[1]).replace(/\s+$/, ''), block: n.type === 'BLOCK_LITERAL' || n.type === 'BLOCK_FOLDED' };
    },
  };
}

function offsetOf(n: unknown): number | undefined {
  const r = (n as Node | undefined)?.range;
  return r ? r[0] : undefined;
}

/**
 * Where the text of the string at `path` starts, to place a position in it: past the quote of a
 * quoted scalar; a block scalar (`|`, `>`) on its next line, each line shifted by its indentation.
 */
export function stringTextAt(src: YamlSource, path: ReadonlyArray<PropertyKey>): { line: number; column: number; indent?: number } {
  const at = src.locate(path);
  const s = src.scalarAt(path);
  if (s?.block) {
    const indent = /\n( *)\S/.exec(s.source)?.[1].length ?? 0;
    return { line: at.line + 1, column: indent + 1, indent };
  }
  return s && /^["']/.test(s.source) ? { line: at.line, column: at.column + 1 } : at;
}

/** Validate a YAML source with zod; every issue becomes a `file:line:col: path: message` diagnostic. */
export function validateYaml<T>(src: YamlSource, schema: ZodType<T>, diagnostics: Diagnostic[], basePath: PropertyKey[] = []): T | undefined {
  let value: unknown = src.value;
  for (const k of basePath) value = (value as Record<PropertyKey, unknown>)?.[k as string];
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  // an empty file (or one of comments only): said so, not as "expected object, received null"
  if ((value === null || value === undefined) && !basePath.length && r.error.issues.some((i) => i.path.length === 0 && i.code === 'invalid_type')) {
    diagnostics.push(diag('E_SCHEMA', `${src.file} is empty: it holds no mapping`, { file: src.file, line: 1, column: 1 }, src.file === 'project.yaml' ? 'it needs at least name: and targets: (vigil init writes a working one)' : undefined));
    return undefined;
  }
  for (const p of explainIssues(schema, value, r.error.issues)) {
    const path = [...basePath, ...p.path];
    diagnostics.push(diag('E_SCHEMA', `${showPath(path) || '(document)'}: ${p.message}`, { file: src.file, ...src.locate(path, p.key) }));
  }
  return undefined;
}


/**
 * A document with its YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`) merged as Go's yaml.v2
 * merges them into a value (Alertmanager's reader; YAML 1.2 has no merge keys, so the parsers
 * leave `<<` as a key): in the order written — a key after the `<<` replaces the merged one,
 * a merged one replaces a key before it, and of a list of merged mappings the earlier wins — a
 * mapping merging into a mapping key by key, except where `combine` says the key's value is
 * unioned (a Go map: `match:`, one label replaced at a time) or appended to (a list that adds
 * up: `matchers:`). Positions stay those of the text: a merged key is located in the mapping
 * it was written in, under its anchor. A merge of something else than mappings is an error
 * at its line (as in yaml.v2). The document is returned as is when it has no `<<` key.
 */
export function withMergeKeys(src: YamlSource, combine: (key: string) => 'union' | 'append' | undefined, diagnostics: Diagnostic[]): YamlSource {
  if (!hasMergeKey(src.value)) return src;
  /** where each node of the merged value was written: a path of the document (through `<<`) */
  interface Origin {
    at: PropertyKey[];
    kids: Map<PropertyKey, Origin>;
  }
  const isMapping = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
  const starts = src.text === undefined ? [] : [0, ...[...src.text.matchAll(/\n/g)].map((m) => m.index! + 1)];
  /**
   * Whether the `<<` key at `path` is a key like any other, as yaml.v2 reads it: a merge key is
   * written plain without a tag, or tagged `!` or `!!merge` (quoted too); quoted without a tag, or
   * with another tag (`!!str <<`), it is a key (located at the scalar, after its tag and anchor).
   */
  const notMerge = (path: PropertyKey[]): boolean => {
    if (src.text === undefined) return false;
    const { line, column } = src.locate(path, true);
    const at = (starts[line - 1] ?? 0) + column - 1;
    const props = /(?:^|[\s,{[?-])((?:[!&]\S*\s+)+)$/.exec(src.text.slice(starts[line - 1] ?? 0, at))?.[1];
    const tag = props?.split(/\s+/).find((p) => p.startsWith('!'));
    if (tag !== undefined) return tag !== '!' && tag !== '!!merge' && tag !== '!<tag:yaml.org,2002:merge>';
    const c = src.text[at];
    return c === '"' || c === "'";
  };
  const build = (v: unknown, at: PropertyKey[]): [unknown, Origin] => {
    const o: Origin = { at, kids: new Map() };
    if (Array.isArray(v)) {
      return [
        v.map((x, i) => {
          const [xv, xo] = build(x, [...at, i]);
          o.kids.set(i, xo);
          return xv;
        }),
        o,
      ];
    }
    if (!isMapping(v)) return [v, o];
    const out: Record<string, unknown> = {};
    /** x (written at xo) into key k of `into` (written at intoO), as yaml.v2 decodes a value into one already set */
    const put = (into: Record<string, unknown>, intoO: Origin, k: string, x: unknown, xo: Origin) => {
      const how = combine(k);
      const had = into[k];
      const hadO = intoO.kids.get(k);
      if (hadO && how === 'append' && Array.isArray(had) && Array.isArray(x)) {
        x.forEach((_item, j) => hadO.kids.set(had.length + j, xo.kids.get(j)!));
        had.push(...x);
      } else if (hadO && isMapping(had) && isMapping(x)) {
        // a Go map (`combine` says union): its keys replaced one at a time; a struct: field by field
        for (const [sk, sv] of Object.entries(x)) {
          if (how === 'union') {
            had[sk] = sv;
            hadO.kids.set(sk, xo.kids.get(sk)!);
          } else put(had, hadO, sk, sv, xo.kids.get(sk)!);
        }
      } else {
        into[k] = x;
        intoO.kids.set(k, xo);
      }
    };
    for (const [k, x] of Object.entries(v)) {
      // (a quoted "<<", or one tagged !!str, is a key like any other, as yaml.v2 reads it: Alertmanager refuses it, "field << not found")
      if (k !== '<<' || notMerge([...at, '<<'])) {
        const [xv, xo] = build(x, [...at, k]);
        put(out, o, k, xv, xo);
        continue;
      }
      const sources: Array<[unknown, PropertyKey[]]> = Array.isArray(x) ? x.map((m, i) => [m, [...at, '<<', i]] as [unknown, PropertyKey[]]).reverse() : [[x, [...at, '<<']]];
      for (const [m, mat] of sources) {
        if (!isMapping(m)) {
          diagnostics.push(diag('E_YAML', 'a merge key (<<) takes a mapping or a list of mappings (an alias of one: <<: *defaults)', { file: src.file, ...src.locate(mat) }));
          continue;
        }
        const [mv, mo] = build(m, mat);
        for (const [mk, mx] of Object.entries(mv as Record<string, unknown>)) put(out, o, mk, mx, mo.kids.get(mk)!);
      }
    }
    return [out, o];
  };
  const [value, origin] = build(src.value, []);
  /** the document path a path of the merged value was written at */
  const written = (path: ReadonlyArray<PropertyKey>): PropertyKey[] => {
    let o = origin;
    let i = 0;
    for (; i < path.length; i++) {
      const next = o.kids.get(typeof path[i] === 'number' ? path[i] : String(path[i])) ?? o.kids.get(path[i]);
      if (!next) break;
      o = next;
    }
    return [...o.at, ...path.slice(i)];
  };
  return { file: src.file, value, text: src.text, locate: (path, atKey) => src.locate(written(path), atKey), scalarAt: (path) => src.scalarAt(written(path)) };
}

function hasMergeKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasMergeKey);
  if (!v || typeof v !== 'object' || v instanceof Date) return false;
  return Object.entries(v).some(([k, x]) => k === '<<' || hasMergeKey(x));
}
