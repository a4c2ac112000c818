/**
 * dbt's YAML selectors: `selectors.yml` in the project's root, used with `--selector <name>` (and
 * its `default: true` selector by a command given no -s/--exclude/--selector). A definition is
 * translated into the -s/--exclude expressions Vigil evaluates, exactly: a string is one atom, a
 * method/value mapping one atom with its graph operators, `union:` several -s expressions,
 * `intersection:` one comma expression (distributed over the unions in it), an `exclude:` of the
 * top-level union/intersection (or method/value) --exclude, `method: selector` the other
 * definition. What that cannot express (an exclude below the top level, indirect_selection modes
 * that differ, Jinja) is an error at its file:line, never a different selection.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { diag, didYouMean, ProjectError, UsageError, type Diagnostic } from '../errors.js';
import { INDIRECT_SELECTION, SELECTOR_METHODS, type IndirectSelection } from '../compile/selector.js';
import { parseYaml } from './yaml-source.js';
import { SELECTORS_FILE } from './paths.js';

/** What a YAML selector selects, as the flags that select the same. */
export interface YamlSelection {
  select: string[];
  exclude: string[];
  /** the definition's indirect_selection (every atom's), when it sets one */
  indirectSelection?: IndirectSelection;
  /** the -s expressions that are parts of an intersection distributed over a union: one may select nothing while the whole selects something */
  parts?: string[];
}

type Path = ReadonlyArray<PropertyKey>;
type Def =
  | { kind: 'atom'; text: string; mode?: IndirectSelection; at: Path; exclude?: Def[] }
  | { kind: 'union' | 'intersection'; items: Def[]; at: Path; exclude?: Def[]; excludeAt?: Path };

class SelectorsFileError extends Error {
  constructor(
    message: string,
    readonly at: Path,
    readonly hint?: string,
    /** at the key of `at` (an unknown key), not its value */
    readonly atKey = false,
  ) {
    super(message);
  }
}

const ATOM_KEYS = ['method', 'value', 'parents', 'parents_depth', 'children', 'children_depth', 'childrens_parents', 'indirect_selection', 'exclude'];
const SELECTOR_KEYS = ['name', 'description', 'definition', 'default'];
/** The methods a YAML selector may name: Vigil's, config.<key>, and selector (another definition). */
const METHODS = [...SELECTOR_METHODS.filter((m) => m !== 'config.<key>'), 'selector'];
const JINJA = /\{\{|\{%/;
/** More -s expressions than an intersection of unions may distribute into. */
const MAX_EXPRESSIONS = 256;

export interface SelectorsFile {
  /** the selectors' names, in the file's order */
  names: string[];
  /** the name of the selector with default: true, if one has it */
  defaultName?: string;
  /** what is wrong with the file, each at its line (as warnings for the compile) */
  problems: Diagnostic[];
  /** a ProjectError (exit 2) when the file as a whole cannot be read (its syntax, its shape) or its default is unclear (two, or in Jinja): before the default is looked for */
  check(): void;
  /** the flags selector `name` stands for; a ProjectError (exit 2) at the file's lines when it cannot be used */
  resolve(name: string, indirect?: IndirectSelection): YamlSelection;
}

/** The project's selectors.yml, read and checked; undefined when the project has none. */
export function readSelectorsFile(root: string): SelectorsFile | undefined {
  const abs = join(root, SELECTORS_FILE);
  if (!statSync(abs, { throwIfNoEntry: false })?.isFile()) return undefined;
  const text = readFileSync(abs, 'utf8').replace(/^\uFEFF/, '');
  // (a command reads it twice: the --selector hook, then loadProject for its warnings; parsed once)
  if (lastRead?.text !== text) lastRead = { text, file: parseSelectorsFile(text) };
  return lastRead.file;
}

/** The last text parseSelectorsFile read, and what it made of it (pure: the text decides). */
let lastRead: { text: string; file: SelectorsFile } | undefined;

export function parseSelectorsFile(text: string): SelectorsFile {
  const diagnostics: Diagnostic[] = [];
  const y = parseYaml(text, SELECTORS_FILE, diagnostics);
  const problems: Diagnostic[] = [...diagnostics];
  const at = (p: Path, atKey = false) => (y ? y.locate(p, atKey) : { line: 1, column: 1 });
  const problem = (e: SelectorsFileError) => diag('E_SELECTORS', e.message, { file: SELECTORS_FILE, ...at(e.at, e.atKey) }, e.hint);
  /** problems of the file as a whole: every use of it stops at them */
  const fileProblems: Diagnostic[] = [...diagnostics];
  const byName = new Map<string, { index: number; definition: unknown }>();
  const names: string[] = [];
  let defaultName: string | undefined;
  const fail = (e: SelectorsFileError) => {
    const d = problem(e);
    problems.push(d);
    fileProblems.push(d);
  };
  /** problems of the default: (in Jinja, two of them): a command looking for the default stops at them, --selector <name> does not */
  const defaultProblems: Diagnostic[] = [];
  const failDefault = (e: SelectorsFileError) => {
    const d = problem(e);
    problems.push(d);
    defaultProblems.push(d);
  };
  const root = y?.value;
  if (y && root !== null && root !== undefined) {
    if (!isMap(root)) fail(new SelectorsFileError(`${SELECTORS_FILE} must be a mapping with a selectors: list`, []));
    else {
      for (const k of Object.keys(root)) if (k !== 'selectors') fail(unknownKey(k, ['selectors'], [k], `${SELECTORS_FILE} has one key, selectors:`));
      const list = root.selectors;
      if (!Array.isArray(list)) fail(new SelectorsFileError('selectors: must be a list of selectors (each with name: and definition:)', ['selectors']));
      else
        list.forEach((s, i) => {
          const p = ['selectors', i];
          if (!isMap(s)) return fail(new SelectorsFileError('a selector must be a mapping with name: and definition:', p));
          for (const k of Object.keys(s)) if (!SELECTOR_KEYS.includes(k)) fail(unknownKey(k, SELECTOR_KEYS, [...p, k], `a selector's keys: ${SELECTOR_KEYS.join(', ')}`));
          if (typeof s.name !== 'string' || !s.name.trim()) return fail(new SelectorsFileError('a selector needs a name: (a string)', s.name === undefined ? p : [...p, 'name']));
          if (JINJA.test(s.name)) return fail(jinja([...p, 'name']));
          if (byName.has(s.name)) return fail(new SelectorsFileError(`selector '${s.name}' is defined twice (first at line ${at(['selectors', byName.get(s.name)!.index, 'name']).line})`, [...p, 'name'], 'give each selector its own name'));
          if (s.description !== undefined && typeof s.description !== 'string') fail(new SelectorsFileError('description: must be a string', [...p, 'description']));
          if (s.definition === undefined || s.definition === null) fail(new SelectorsFileError(`selector '${s.name}' has no definition:`, p, "definition: 'tag:nightly', or method:/value:, union: or intersection:"));
          byName.set(s.name, { index: i, definition: s.definition });
          names.push(s.name);
          if (s.default === undefined || s.default === false) return;
          if (typeof s.default === 'string' && JINJA.test(s.default)) return failDefault(new SelectorsFileError(`default: written in Jinja: Vigil does not render ${SELECTORS_FILE}, so it cannot tell whether '${s.name}' is the default`, [...p, 'default'], `write default: true or false; for a default in one target only, leave default: out and give --selector ${s.name} in that target's jobs`));
          if (s.default !== true) return failDefault(new SelectorsFileError(`default: must be true or false, got ${JSON.stringify(s.default)}`, [...p, 'default']));
          if (defaultName !== undefined) return failDefault(new SelectorsFileError(`selectors '${defaultName}' and '${s.name}' are both default: true: one selector may be the default`, [...p, 'default'], 'keep default: true on one of them'));
          defaultName = s.name;
        });
    }
  }

  const parse = (name: string, stack: string[]): Def => {
    const s = byName.get(name)!;
    return parseDef(s.definition, ['selectors', s.index, 'definition'], [...stack, name], (other, p) => {
      if (!byName.has(other)) {
        const hint = didYouMean(other, names);
        throw new SelectorsFileError(`method: selector names '${other}', which is no selector of ${SELECTORS_FILE}${hint ? ` — did you mean '${hint}'?` : ''}`, p);
      }
      if ([...stack, name].includes(other)) throw new SelectorsFileError(`selector '${other}' includes itself: ${[...stack, name, other].join(' → ')}`, p, 'a selector may include another only when that one does not include it back');
      return parse(other, [...stack, name]);
    });
  };
  const resolved = new Map<string, YamlSelection | Diagnostic>();
  const resolve = (name: string, indirect?: IndirectSelection): YamlSelection | Diagnostic => {
    const key = `${name}\0${indirect ?? ''}`;
    if (!resolved.has(key)) {
      try {
        resolved.set(key, translate(parse(name, []), indirect));
      } catch (e) {
        if (!(e instanceof SelectorsFileError)) throw e;
        resolved.set(key, problem(e));
      }
    }
    return resolved.get(key)!;
  };
  // every selector checked now, so the compile says what is wrong with one not used today
  if (!fileProblems.length) for (const n of names) {
    const r = resolve(n);
    if ('severity' in r && !problems.some((d) => d.line === r.line && d.message === r.message)) problems.push(r);
  }
  return {
    names,
    defaultName,
    problems,
    check() {
      if (fileProblems.length || defaultProblems.length) throw new ProjectError([...fileProblems, ...defaultProblems]);
    },
    resolve(name, indirect) {
      if (fileProblems.length) throw new ProjectError(fileProblems);
      // (an empty name was "no selector of that name — did you mean '<the shortest>'?")
      if (!name.trim()) throw new UsageError(`--selector is empty: give the name of a selector of ${SELECTORS_FILE} (its selectors: ${names.join(', ') || 'none'})`);
      if (!byName.has(name)) {
        const hint = didYouMean(name, names);
        throw new UsageError(`--selector ${name}: ${SELECTORS_FILE} has no selector of that name${hint ? ` — did you mean '${hint}'?` : ''} (its selectors: ${names.join(', ') || 'none'})`);
      }
      const r = resolve(name, indirect);
      if ('severity' in r) throw new ProjectError([r]);
      return r;
    },
  };
}

function isMap(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function unknownKey(k: string, known: string[], at: Path, what: string): SelectorsFileError {
  const hint = didYouMean(k, known);
  return new SelectorsFileError(`unknown key '${k}'${hint ? ` — did you mean '${hint}'?` : ''}`, at, what, true);
}

const jinja = (at: Path) =>
  new SelectorsFileError(
    `Jinja in ${SELECTORS_FILE} is not rendered by Vigil`,
    at,
    'write the value out; for a selection that depends on the target, define one selector per target and give --selector in that job',
  );

/** One definition (`at`: where it is), with the selectors `method: selector` names parsed by `include`. */
function parseDef(v: unknown, at: Path, stack: string[], include: (name: string, at: Path) => Def): Def {
  if (typeof v === 'string') return { kind: 'atom', text: atomText(v, undefined, at), at };
  if (!isMap(v)) throw new SelectorsFileError('a definition is a string (tag:nightly), a method:/value: mapping, union: or intersection:', at);
  const keys = Object.keys(v);
  const op = keys.includes('union') ? 'union' : keys.includes('intersection') ? 'intersection' : undefined;
  if (op) {
    const other = keys.find((k) => k !== op);
    if (other) throw new SelectorsFileError(other === 'union' || other === 'intersection' ? 'union: and intersection: in one mapping: write one of them (an item of it may be the other)' : `'${other}' beside ${op}: (a ${op}: mapping has that one key; an exclude is an item of its list: - exclude: [...])`, [...at, other], undefined, true);
    const list = v[op];
    if (!Array.isArray(list)) throw new SelectorsFileError(`${op}: must be a list`, [...at, op]);
    if (!list.length) throw new SelectorsFileError(`${op}: is empty: it would select nothing`, [...at, op]);
    const items: Def[] = [];
    let exclude: Def[] | undefined;
    let excludeAt: Path | undefined;
    list.forEach((item, i) => {
      const p = [...at, op, i];
      if (isMap(item) && 'exclude' in item) {
        const extra = Object.keys(item).find((k) => k !== 'exclude');
        // (dbt takes such an item for the exclude of the whole list and drops the rest of it without a word)
        if (extra) throw new SelectorsFileError(`'${extra}' beside exclude: in an item of ${op}: — an item with exclude: is the exclude of the whole ${op} (dbt drops what is beside it)`, [...p, extra], `write the exclude as its own item (- exclude: [...]) and '${extra}' in another item`, true);
        if (exclude) throw new SelectorsFileError(`a second exclude: in one ${op}: (dbt refuses it too)`, p, 'put everything to exclude in one exclude: list');
        exclude = parseExcludes(item.exclude, [...p, 'exclude'], stack, include);
        excludeAt = [...p, 'exclude'];
      } else items.push(parseDef(item, p, stack, include));
    });
    if (!items.length) throw new SelectorsFileError(`${op}: holds only an exclude: there is nothing to exclude from`, [...at, op]);
    return { kind: op, items, at, ...(exclude ? { exclude, excludeAt } : {}) };
  }
  // dbt's shorthand: one key, the method, and its value (`tag: nightly`)
  const dict: Record<string, unknown> = keys.length === 1 && keys[0] !== 'method' && keys[0] !== 'exclude' && !ATOM_KEYS.includes(keys[0]) ? { method: keys[0], value: v[keys[0]] } : v;
  const shorthand = dict !== v;
  const named = keys.filter((k) => !ATOM_KEYS.includes(k));
  if (!keys.includes('method') && named.length === 1 && keys.length > 1 && (METHODS.includes(named[0]) || named[0].startsWith('config.'))) throw new SelectorsFileError(`'${named[0]}: ...' beside ${keys.filter((k) => k !== named[0]).join(', ')}: the one-key form (${named[0]}: value) takes nothing else`, [...at, named[0]], `write method: ${named[0]} and value: with the other keys`, true);
  // (dbt 0.21's greedy:, which dbt 1.x ignores without a word: what it became)
  if ('greedy' in dict) throw new SelectorsFileError("unknown key 'greedy' — dbt 0.21's, which dbt 1.x ignores: it became indirect_selection:", [...at, 'greedy'], 'greedy: true is indirect_selection: eager (the default); greedy: false, indirect_selection: cautious', true);
  for (const k of Object.keys(dict)) if (!ATOM_KEYS.includes(k)) throw unknownKey(k, [...ATOM_KEYS, 'union', 'intersection'], [...at, k], 'a definition is a string, union:, intersection:, or method: and value: with parents, parents_depth, children, children_depth, childrens_parents, indirect_selection, exclude');
  if (dict.method === undefined || dict.value === undefined) throw new SelectorsFileError(`a method: needs its value: (and a value: its method:)`, at, 'method: tag\n  value: nightly');
  const p = (k: string) => (shorthand ? [...at, keys[0]] : [...at, k]);
  if (typeof dict.method !== 'string') throw new SelectorsFileError('method: must be a string', p('method'));
  if (JINJA.test(dict.method)) throw jinja(p('method'));
  const method = dict.method;
  if (!METHODS.includes(method) && !/^config\.[^\s:]+$/.test(method)) {
    const hint = didYouMean(method, METHODS);
    throw new SelectorsFileError(`unknown selector method '${method}'${hint ? ` — did you mean '${hint}'?` : ''}`, shorthand ? [...at, keys[0]] : p('method'), `Vigil's methods: ${[...METHODS, 'config.<key>'].join(', ')}`);
  }
  if (!['string', 'number', 'boolean'].includes(typeof dict.value)) throw new SelectorsFileError('value: must be a string', p('value'));
  const value = String(dict.value);
  if (JINJA.test(value)) throw jinja(p('value'));
  if (method === 'selector') {
    const extra = Object.keys(dict).find((k) => k !== 'method' && k !== 'value');
    if (extra) throw new SelectorsFileError(`'${extra}' with method: selector: the selector named is included as it is`, [...at, extra], 'put the graph operators or the exclude in that selector, or define another', true);
    return include(value, p('value'));
  }
  const flag = (k: string): boolean => {
    const x = dict[k];
    if (x === undefined) return false;
    if (typeof x !== 'boolean') throw new SelectorsFileError(`${k}: must be true or false`, p(k));
    return x;
  };
  const depth = (k: string, needs: string, given: boolean): string => {
    const x = dict[k];
    if (x === undefined) return '';
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new SelectorsFileError(`${k}: must be a whole number of generations`, p(k));
    if (!given) throw new SelectorsFileError(`${k}: without ${needs}: true selects no ${needs}`, p(k), `add ${needs}: true (dbt ignores ${k} without it)`);
    // (dbt takes a depth of 0 for none given — every generation — where -s '0+x' is none)
    if (x === 0) throw new SelectorsFileError(`${k}: 0 — dbt reads it as no limit (every generation), -s reads ${needs === 'parents' ? "'0+x'" : "'x+0'"} as none`, p(k), `for every generation leave ${k} out; for none leave ${needs}: true out`);
    return String(x);
  };
  const parents = flag('parents');
  const children = flag('children');
  const at2 = flag('childrens_parents');
  const up = depth('parents_depth', 'parents', parents);
  const down = depth('children_depth', 'children', children);
  if (at2 && (parents || children)) throw new SelectorsFileError('childrens_parents: true takes every descendant and its ancestors already: drop parents:/children:', p('childrens_parents'));
  let mode: IndirectSelection | undefined;
  if (dict.indirect_selection !== undefined) {
    const m = dict.indirect_selection;
    if (typeof m !== 'string' || !(INDIRECT_SELECTION as readonly string[]).includes(m)) {
      const hint = typeof m === 'string' ? didYouMean(m, INDIRECT_SELECTION) : undefined;
      throw new SelectorsFileError(`indirect_selection: must be one of ${INDIRECT_SELECTION.join(', ')}${hint ? ` — did you mean '${hint}'?` : ''}`, p('indirect_selection'));
    }
    mode = m as IndirectSelection;
  }
  const spec = atomText(value, method, p('value'));
  const text = `${at2 ? '@' : ''}${parents ? `${up}+` : ''}${spec}${children ? `+${down}` : ''}`;
  const exclude = dict.exclude === undefined ? undefined : parseExcludes(dict.exclude, [...at, 'exclude'], stack, include);
  return { kind: 'atom', text, at, ...(mode ? { mode } : {}), ...(exclude ? { exclude } : {}) };
}

function parseExcludes(v: unknown, at: Path, stack: string[], include: (name: string, at: Path) => Def): Def[] {
  if (!Array.isArray(v)) throw new SelectorsFileError('exclude: must be a list of definitions', at);
  if (!v.length) throw new SelectorsFileError('exclude: is empty', at);
  return v.map((x, i) => parseDef(x, [...at, i], stack, include));
}

/**
 * One atom as Vigil's grammar reads it: `method:value` (or a string as written). A value that the
 * grammar would read as more than one atom or with graph operators is refused: dbt reads it as one
 * value, so it would select something else.
 */
function atomText(value: string, method: string | undefined, at: Path): string {
  const v = value.trim();
  if (JINJA.test(v)) throw jinja(at);
  if (!v) throw new SelectorsFileError('an empty selector', at);
  if (/[\s,]/.test(v)) throw new SelectorsFileError(`'${v}' is more than one selector: a definition string is one, as in dbt`, at, 'for a union write union: [a, b]; for an intersection, intersection: [a, b]');
  if (method === undefined) {
    // (a method Vigil has not, said here at its line rather than when the selection is evaluated)
    const named = /^(?:@|\d*\+)?([^:]+):/.exec(v)?.[1];
    if (named === 'selector') throw new SelectorsFileError(`'${v}': another selector is included with method: selector`, at, `method: selector\n  value: ${v.slice(v.indexOf(':') + 1)}`);
    if (named !== undefined && !METHODS.includes(named) && !/^config\.\S+$/.test(named)) {
      const hint = didYouMean(named, METHODS);
      throw new SelectorsFileError(`unknown selector method '${named}'${hint ? ` — did you mean '${hint}'?` : ''}`, at, `Vigil's methods: ${[...METHODS.filter((m) => m !== 'selector'), 'config.<key>'].join(', ')}`);
    }
    return v;
  }
  if (/^@|^\d*\+|\+\d*$/.test(v)) throw new SelectorsFileError(`value '${v}' has graph operators: the value of a method: is the value alone`, at, 'write parents: true / children: true (parents_depth:, children_depth:) or childrens_parents: true');
  return `${method}:${v}`;
}

/** The flags a definition stands for: its conjunctions as -s expressions, its top-level exclude as --exclude. */
function translate(d: Def, indirect: IndirectSelection | undefined): YamlSelection {
  const atoms: Array<Extract<Def, { kind: 'atom' }>> = [];
  let distributed: Path | undefined;
  /** the definition as a union of intersections (`split`: one of several an intersection of unions came to) */
  type Term = { atoms: string[]; split: boolean };
  const dnf = (x: Def, top: boolean): Term[] => {
    if (x.exclude && !top) {
      const where = x.kind === 'atom' ? [...x.at, 'exclude'] : x.excludeAt!;
      throw new SelectorsFileError(
        'an exclude: below the top level of a definition: Vigil selects with one -s and one --exclude, which cannot express it',
        where,
        'move it to the top-level union:/intersection: when excluding it from the whole selection is what you mean (the same when no other part selects what it excludes), or write the selection without it',
      );
    }
    if (x.kind === 'atom') {
      atoms.push(x);
      return [{ atoms: [x.text], split: false }];
    }
    const parts = x.items.map((i) => dnf(i, false));
    if (x.kind === 'union') return parts.flat();
    let out: Term[] = [{ atoms: [], split: false }];
    for (const part of parts) {
      if (part.length > 1 && !distributed) distributed = x.at;
      out = out.flatMap((t) => part.map((q) => ({ atoms: [...t.atoms, ...q.atoms], split: t.split || q.split || part.length > 1 })));
      if (out.length > MAX_EXPRESSIONS) throw new SelectorsFileError(`this intersection of unions comes to more than ${MAX_EXPRESSIONS} -s expressions`, x.at, 'write it with fewer alternatives');
    }
    return out;
  };
  const expr = (t: Term) => [...new Set(t.atoms)].join(',');
  const terms = dnf(d, true);
  const select = terms.map(expr);
  const parts = terms.filter((t) => t.split).map(expr);
  const exclude = (d.exclude ?? []).flatMap((e) => dnf(e, false)).map(expr);
  // one mode for the selection: each atom's own, else --indirect-selection, else eager (dbt's)
  const modeOf = (a: (typeof atoms)[number]) => a.mode ?? indirect ?? 'eager';
  const mode = atoms.length ? modeOf(atoms[0]) : (indirect ?? 'eager');
  const other = atoms.find((a) => modeOf(a) !== mode);
  if (other)
    throw new SelectorsFileError(
      `indirect_selection: ${modeOf(other)} here, ${mode} for '${atoms[0].text}'${atoms[0].mode ? '' : indirect ? ' (--indirect-selection)' : ' (the default)'}: Vigil selects the tests of a selection with one mode`,
      other.mode ? [...other.at, 'indirect_selection'] : other.at,
      'give every part of the definition the same indirect_selection (or give it on the command line with --indirect-selection)',
    );
  // (distributing an intersection over a union is exact for sets and eager tests; the other modes decide by what each whole part reaches)
  if (distributed && mode !== 'eager') throw new SelectorsFileError(`an intersection with a union in it under indirect_selection: ${mode}: Vigil can express it only with eager`, distributed, 'write the intersection of each alternative as its own union item');
  return { select, exclude, ...(mode !== 'eager' || indirect ? { indirectSelection: mode } : {}), ...(parts.length ? { parts } : {}) };
}
