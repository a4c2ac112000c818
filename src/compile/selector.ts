/**
 * Node selection with dbt's grammar: `name`, `+name` (with ancestors), `name+` (with
 * descendants), `n+name` / `name+n` (n generations), `@name` (descendants and their
 * ancestors), `tag:x`, `path:models/marts` or a bare path, `source:raw.table`,
 * `test_type:unique`, `resource_type:`, `dashboard:overview`, `config.<key>:value`, `*` globs;
 * space-separated values are a union, comma-joined atoms an intersection. Pure.
 */
import type { Manifest, ManifestNode } from './manifest.js';
import { didYouMean } from '../errors.js';
import { canonicalJson } from '../stable-json.js';

export interface SelectionResult {
  ids: Set<string>;
  /** Ids matched by --exclude (so eager test selection can leave them out too). */
  excluded: Set<string>;
  /** Selector atoms that matched nothing, with a hint when one is close. */
  unmatched: Array<{ atom: string; hint?: string; note?: string }>;
}

function allNodes(m: Manifest): ManifestNode[] {
  return [...Object.values(m.nodes), ...Object.values(m.sources), ...Object.values(m.exposures ?? {})];
}

export function globToRe(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

function parents(m: Manifest, id: string): string[] {
  const n = m.nodes[id] ?? m.exposures?.[id];
  return n ? n.depends_on : [];
}

/** Children, dashboards included (they are not in child_map: nothing executes them). */
function children(m: Manifest, id: string): string[] {
  const out = m.child_map[id] ?? [];
  const ex = Object.values(m.exposures ?? {}).filter((e) => e.depends_on.includes(id));
  return ex.length ? [...out, ...ex.map((e) => e.unique_id)] : out;
}

/** The tests (data and unit) of the nodes of `ids`: those that depend on one of them. */
function testsOf(m: Manifest, ids: Set<string>): string[] {
  const out: string[] = [];
  for (const n of Object.values(m.nodes)) {
    if (n.resource_type === 'test' && n.depends_on.some((d) => ids.has(d))) out.push(n.unique_id);
    else if (n.resource_type === 'unit_test' && ids.has(n.attached_to)) out.push(n.unique_id);
  }
  return out;
}

function closure(start: Iterable<string>, next: (id: string) => string[]): Set<string> {
  const out = new Set<string>();
  const stack = [...start];
  while (stack.length) {
    const id = stack.pop()!;
    for (const n of next(id)) {
      if (!out.has(n)) {
        out.add(n);
        stack.push(n);
      }
    }
  }
  return out;
}

/** The methods `-s` knows, for messages and did-you-means. */
export const SELECTOR_METHODS = ['name', 'tag', 'path', 'source', 'test_type', 'resource_type', 'dashboard', 'exposure', 'config.<key>', 'state', 'result'] as const;

/** A selector mistake: exit 2 with its message (UsageError in the CLI). */
export class SelectorError extends Error {}

/** `@name`, `2+name+1`, `+tag:x+`: the graph operators around an atom's method:value. */
interface Atom {
  raw: string;
  spec: string;
  /** ancestors: generations (Infinity for a plain +), 0 for none */
  up: number;
  down: number;
  /** @: the descendants and every ancestor of them */
  at: boolean;
}

function parseAtom(raw: string): Atom {
  const m = /^(@)?(?:(\d*)\+)?(.*?)(?:\+(\d*))?$/.exec(raw)!;
  const [, at, upN, spec, downN] = m;
  if (!spec) throw new SelectorError(`selector '${raw}' names nothing: a model, tag:x, path:models/x, ... between its graph operators`);
  if (at && (upN !== undefined || raw.startsWith('@+'))) throw new SelectorError(`selector '${raw}': @ already takes the ancestors of every descendant; drop the +`);
  const gens = (n: string | undefined) => (n === undefined ? 0 : n === '' ? Infinity : Number(n));
  return { raw, spec, up: gens(upN), down: gens(downN), at: !!at };
}

/** `raw` with its method:value replaced, graph operators kept (for a did-you-mean). */
function withSpec(a: Atom, spec: string): string {
  return a.raw.slice(0, a.raw.length - a.raw.replace(/^@|^\d*\+/, '').length) + spec + a.raw.slice(a.raw.indexOf(a.spec) + a.spec.length);
}

/** The nearest spec that would match something: a node name, or the value of a source:/tag: selector. */
function hintFor(spec: string, nodes: ReturnType<typeof allNodes>): string | undefined {
  const colon = spec.indexOf(':');
  if (colon < 0) return didYouMean(spec, nodes.map((n) => n.name));
  const method = spec.slice(0, colon);
  const value = spec.slice(colon + 1);
  const of = (f: (n: ReturnType<typeof allNodes>[number]) => unknown[]): string[] => [...new Set(nodes.flatMap(f).filter((v): v is string => typeof v === 'string'))];
  const values =
    method === 'source'
      ? of((n) => (n.resource_type === 'source' ? [n.source_name, `${n.source_name}.${n.name}`] : []))
      : method === 'tag'
        ? of((n) => ('tags' in n && Array.isArray(n.tags) ? n.tags : []))
        : method === 'resource_type'
          ? of((n) => [n.resource_type])
          : method === 'test_type'
            ? [...of((n) => (n.resource_type === 'test' ? [n.test_type] : [])), 'generic', 'singular', 'unit', 'data']
            : method === 'dashboard' || method === 'exposure'
              ? of((n) => (n.resource_type === 'exposure' ? [n.name] : []))
              : method.startsWith('config.')
                ? of((n) => configCandidates((n as { config?: Record<string, unknown> }).config?.[method.slice('config.'.length)]))
                : [];
  const hit = didYouMean(value, values);
  return hit === undefined ? undefined : `${method}:${hit}`;
}

/** The texts configValueMatches() compares a config value by (the candidates of a did-you-mean). */
function configCandidates(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.flatMap(configCandidates);
  return [typeof v === 'object' ? JSON.stringify(v) : String(v)];
}

function configValueMatches(v: unknown, re: RegExp): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.some((x) => configValueMatches(x, re));
  if (typeof v === 'object') return re.test(JSON.stringify(v));
  return re.test(String(v));
}

function matchAtom(m: Manifest, nodes: ManifestNode[], spec: string, state?: Manifest): Set<string> {
  const out = new Set<string>();
  const colon = spec.indexOf(':');
  // a bare path (`models/staging`, `models/x.sql`) selects by path, as in dbt
  const method = colon > 0 ? spec.slice(0, colon) : /[/\\]|\.(sql|ya?ml|json)$/.test(spec) ? 'path' : 'name';
  const value = colon > 0 ? spec.slice(colon + 1) : spec;
  if (!value) throw new SelectorError(`selector '${spec}': ${method}: needs a value`);
  const re = globToRe(value);
  if (method === 'result') throw new SelectorError(`selector '${spec}': result: is not supported; vigil retry re-runs what failed or was skipped in the last run`);
  if (method === 'state') {
    if (!state) throw new SelectorError(`selector '${spec}': state: compares with a previous run's manifest: pass --state <folder with its manifest.json> (e.g. a copy of target/ from the last deploy)`);
    if (!STATE_VALUES.includes(value)) {
      const hint = didYouMean(value, STATE_VALUES);
      throw new SelectorError(`selector '${spec}': unknown state '${value}'${hint ? ` — did you mean 'state:${hint}'?` : ''} (state:${STATE_VALUES.join(', state:')})`);
    }
    for (const n of nodes) if (stateMatches(m, state, n, value)) out.add(n.unique_id);
    return out;
  }
  const configKey = method.startsWith('config.') ? method.slice('config.'.length) : undefined;
  if (method.startsWith('config.') && !configKey) throw new SelectorError(`selector '${spec}': config. needs a key, e.g. config.materialized:table`);
  const known = ['name', 'tag', 'path', 'source', 'test_type', 'resource_type', 'dashboard', 'exposure'];
  if (!configKey && !known.includes(method)) {
    const hint = didYouMean(method.split('.')[0], [...known, 'config', 'state', 'result']);
    throw new SelectorError(`unknown selector method '${method}:'${hint ? ` — did you mean '${hint === 'config' ? 'config.<key>' : hint}:'?` : ''} (methods: ${SELECTOR_METHODS.join(', ')})`);
  }
  for (const n of nodes) {
    let hit = false;
    if (configKey) {
      hit = 'config' in n && configValueMatches((n.config as Record<string, unknown>)[configKey], re);
    } else
      switch (method) {
        case 'name':
          hit = re.test(n.name) || (n.resource_type === 'source' && re.test(`${n.source_name}.${n.name}`));
          break;
        case 'tag':
          hit = n.tags.some((t) => re.test(t));
          break;
        case 'path': {
          const v = value.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
          hit = n.file === v || n.file.startsWith(v + '/') || globToRe(v).test(n.file);
          break;
        }
        case 'source':
          hit = n.resource_type === 'source' && (re.test(n.source_name) || re.test(`${n.source_name}.${n.name}`));
          break;
        case 'test_type':
          // a generic test's own name (unique, not_null...), or dbt's kinds: generic, singular, data (both), unit
          hit = (n.resource_type === 'test' && (re.test(n.test_type) || re.test('data') || (n.test_type !== 'singular' && re.test('generic')))) || (n.resource_type === 'unit_test' && re.test('unit'));
          break;
        case 'resource_type':
          hit = re.test(n.resource_type);
          break;
        case 'dashboard':
        case 'exposure':
          hit = n.resource_type === 'exposure' && re.test(n.name);
          break;
      }
    if (hit) out.add(n.unique_id);
  }
  return out;
}

/** Nodes `gens` steps away through `next` (Infinity: all of them). */
function walk(start: Iterable<string>, next: (id: string) => string[], gens: number): Set<string> {
  if (gens === Infinity) return closure(start, next);
  const out = new Set<string>();
  let frontier = [...start];
  for (let g = 0; g < gens && frontier.length; g++) {
    const nextFrontier: string[] = [];
    for (const id of frontier) for (const n of next(id)) if (!out.has(n)) (out.add(n), nextFrontier.push(n));
    frontier = nextFrontier;
  }
  return out;
}

/**
 * Select node ids with dbt's grammar: `name`, `+name`, `name+`, `2+name+1`, `@name`, methods
 * (`tag:`, `path:` or a bare path, `source:`, `test_type:`, `resource_type:`, `dashboard:`,
 * `config.<key>:`), globs; spaces for a union, commas for an intersection. Throws SelectorError
 * for what it cannot understand; atoms that matched nothing come back in `unmatched`.
 */
export function selectNodes(m: Manifest, select: string[] | undefined, exclude: string[] | undefined, state?: Manifest): SelectionResult {
  const nodes = allNodes(m);
  const unmatched: SelectionResult['unmatched'] = [];
  const evalExpr = (exprs: string[]): Set<string> => {
    // an empty selector (`-s ""`, `-s "$UNSET"` in a CI script) is a mistake, not "nothing":
    // it selected nothing and the command said OK
    const blank = exprs.find((e) => !e.trim());
    if (blank !== undefined) throw new SelectorError(`selector '${blank}' is empty: give what to select (a name, tag:x, path:..., state:modified+), or leave the flag out to select everything`);
    const union = new Set<string>();
    for (const expr of exprs.flatMap((e) => e.split(/\s+/)).filter(Boolean)) {
      let inter: Set<string> | undefined;
      const atoms = expr.split(',');
      let quiet = false;
      for (const rawAtom of atoms) {
        if (!rawAtom) throw new SelectorError(`selector '${expr}': an empty part between commas (a,b is an intersection of a and b)`);
        const a = parseAtom(rawAtom);
        const base = matchAtom(m, nodes, a.spec, state);
        // state: that matches nothing means nothing changed: not a typo
        if (a.spec.startsWith('state:')) quiet = true;
        else if (!base.size) {
          const hint = hintFor(a.spec, nodes);
          unmatched.push({ atom: rawAtom, hint: hint && withSpec(a, hint) });
          quiet = true;
        }
        const set = new Set(base);
        if (a.up) for (const x of walk(base, (id) => parents(m, id), a.up)) set.add(x);
        if (a.down || a.at) for (const x of walk(base, (id) => children(m, id), a.at ? Infinity : a.down)) set.add(x);
        if (a.at) for (const x of closure([...set], (id) => parents(m, id))) set.add(x);
        // in an intersection each part takes the tests of what it selects (dbt's eager indirect
        // selection): `orders,test_type:unique` is the unique tests of orders
        if (atoms.length > 1) for (const t of testsOf(m, set)) set.add(t);
        inter = inter ? new Set([...inter].filter((x) => set.has(x))) : set;
      }
      if (atoms.length > 1 && !quiet && !inter?.size) unmatched.push({ atom: expr, note: 'each part selects something, together nothing' });
      for (const id of inter ?? []) union.add(id);
    }
    return union;
  };
  const ids = select && select.length ? evalExpr(select) : new Set(nodes.map((n) => n.unique_id));
  const excluded = exclude && exclude.length ? evalExpr(exclude) : new Set<string>();
  // the tests of what is excluded go with it (dbt's eager indirect selection): `--exclude m`
  // does not run m's data tests or unit tests
  if (excluded.size) for (const t of testsOf(m, excluded)) excluded.add(t);
  for (const id of excluded) ids.delete(id);
  return { ids, excluded, unmatched };
}

export const STATE_VALUES = ['new', 'old', 'modified', 'unmodified', 'modified.body', 'modified.configs', 'modified.relation', 'modified.contract', 'modified.macros'];

/** The configs that name where a node is written: state:modified.relation, not .configs (as in dbt). */
const RELATION_CONFIGS = ['database', 'schema', 'alias', 'target_database', 'target_schema'];

function configParts(n: { config?: unknown } | undefined): { relation: string; rest: string } {
  const c = { ...((n?.config ?? {}) as Record<string, unknown>) };
  const relation: Record<string, unknown> = {};
  for (const k of RELATION_CONFIGS) {
    if (k in c) relation[k] = c[k];
    delete c[k];
  }
  return { relation: canonicalJson(relation), rest: canonicalJson(c) };
}

/**
 * dbt's state comparison against a previous manifest, for models, seeds, snapshots, sources, data
 * tests and unit tests: new (not there before) and old; modified.body (its file changed; a
 * generic test's definition, a unit test's definition and fixtures); .configs (other than where
 * it is written); .relation (the configured database/schema/alias, as written: not the relation
 * a target or a generate_schema_name macro makes of them, so a state from another target
 * compares); .contract (columns and their declared types); .macros (a macro it calls, directly
 * or not, changed); `modified` is any of these or new, `unmodified` none of them.
 */
function stateMatches(m: Manifest, state: Manifest, n: ManifestNode, what: string): boolean {
  if (n.resource_type === 'exposure') return false;
  const old = n.resource_type === 'source' ? state.sources?.[n.unique_id] : state.nodes?.[n.unique_id];
  if (what === 'new' || what === 'old') return (what === 'new') === !old;
  if (!old) return what === 'modified';
  const body = () => (n.resource_type === 'source' ? canonicalJson({ ...n, file: undefined, line: undefined, relation: undefined }) !== canonicalJson({ ...old, file: undefined, line: undefined, relation: undefined }) : 'checksum' in n && 'checksum' in old && n.checksum !== old.checksum);
  // (split once for .configs and .relation both)
  let parts: [ReturnType<typeof configParts>, ReturnType<typeof configParts>] | undefined;
  const split = () => (parts ??= [configParts(n as { config?: unknown }), configParts(old as { config?: unknown })]);
  const configs = () => n.resource_type !== 'source' && split()[0].rest !== split()[1].rest;
  const relation = () => n.resource_type !== 'source' && split()[0].relation !== split()[1].relation;
  const columnsOf = (x: object) => ('columns' in x && Array.isArray(x.columns) ? (x.columns as Array<{ name: string; data_type?: string }>).map((c) => [c.name, c.data_type ?? null]) : []);
  const contract = () => canonicalJson(columnsOf(n)) !== canonicalJson(columnsOf(old));
  const macros = () => {
    const used = n.resource_type === 'model' ? (n.depends_on_macros ?? []) : [];
    return used.some((x) => m.macros?.[x] !== state.macros?.[x]);
  };
  if (what === 'modified.body') return body();
  if (what === 'modified.configs') return configs();
  if (what === 'modified.relation') return relation();
  if (what === 'modified.contract') return contract();
  if (what === 'modified.macros') return macros();
  const modified = body() || configs() || relation() || contract() || macros();
  return what === 'unmodified' ? !modified : modified;
}
