/**
 * Node selection with dbt's grammar: `name`, `+name` (with ancestors), `name+` (with
 * descendants), `n+name` / `name+n` (n generations), `@name` (descendants and their
 * ancestors), `tag:x`, `path:models/marts` or a bare path, `file:orders.sql` or a bare file name,
 * `fqn:project.folder.name` or a bare one (a name, a folder, the project), `package:`, `source:raw.table`,
 * `test_name:unique`, `test_type:generic`, `resource_type:`, `dashboard:overview`, `config.<key>:value` (`config.meta.owner:x`), `*` globs;
 * space-separated values are a union, comma-joined atoms an intersection. Pure.
 */
import { RELATION_CONFIGS, withoutPositions, type Manifest, type ManifestNode, type SourceNode } from './manifest.js';
import type { Policy } from '../project/schema.js';
import { didYouMean } from '../errors.js';
import { CONFIG_CHOICES } from '../project/config-choices.js';
import { canonicalJson } from '../stable-json.js';
import { needsMasking, policyOf } from './policy.js';

export interface SelectionResult {
  ids: Set<string>;
  /** Ids matched by --exclude (so eager test selection can leave them out too). */
  excluded: Set<string>;
  /** --indirect-selection, when not eager: `ids` holds the tests that mode selects (withTests adds none). */
  indirect?: IndirectSelection;
  /**
   * Selector atoms that matched nothing, with a hint when one is close; `note` says why an
   * expression whose parts each match ends empty; `says` replaces "matched nothing"; `disabled`
   * and `why` say why it matched nothing (a disabled node; a resource type Vigil has none of).
   */
  unmatched: Array<{ atom: string; hint?: string; note?: string; says?: string; disabled?: string; why?: string; /** the whole message, in place of "selector '<atom>' ..." */ text?: string; /** an --exclude without -s that leaves nothing of the project (a command that runs some kinds only decides by them: plan()) */ wholeProject?: true }>;
}

/** The resource types of Vigil's nodes (`resource_type:`, `vigil ls --resource-type`). */
export const RESOURCE_TYPES = ['model', 'seed', 'snapshot', 'test', 'unit_test', 'source', 'exposure'];
/** dbt's resource types that no Vigil project has: `resource_type:analysis` selects nothing, and says why. */
const DBT_ONLY_TYPES = ['analysis', 'operation', 'macro', 'doc', 'metric', 'semantic_model', 'saved_query', 'group', 'fixture'];

function allNodes(m: Manifest): ManifestNode[] {
  return [...Object.values(m.nodes), ...Object.values(m.sources), ...Object.values(m.exposures ?? {})];
}

/**
 * A glob as a regular expression, as dbt's fnmatch: `*` any characters, `?` one, `[abc]`, `[a-z]`
 * and `[!a]` one of a set (a `[` without its `]` is itself). With `path`, as dbt's Path.glob: `*`
 * and `?` stay within a folder, `**` crosses folders (any number of them, none too).
 */
export function globToRe(glob: string, path = false): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && path && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += path ? '[^/]*' : '.*';
    else if (c === '?') re += path ? '[^/]' : '.';
    else if (c === '[') {
      // (a `]` first in the set, or after `!`, is one of its characters)
      let j = i + 1;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      const end = glob.indexOf(']', j);
      const body = end < 0 ? '' : glob.slice(i + 1, end);
      const set = `[${body.startsWith('!') ? '^' : ''}${body.replace(/^!/, '').replace(/[\\\]^]/g, '\\$&')}]`;
      if (end < 0 || !validRe(set)) re += '\\[';
      else {
        re += set;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const out = new RegExp('^' + re + '$');
  // (V8 compiles a pattern on its first use: one too large to compile fails there, not above)
  try {
    out.test('');
  } catch {
    throw new SelectorError(`'${glob.length > 60 ? `${glob.slice(0, 60)}…` : glob}' is too long to match (${glob.length} characters)`);
  }
  return out;
}

function validRe(re: string): boolean {
  try {
    new RegExp(re);
    return true;
  } catch {
    return false;
  }
}

/** A path and the folders it is in: dbt's path: selects a node whose file or a folder of it the glob matches. */
function pathAndFolders(file: string): string[] {
  const out = [file];
  for (let i = file.lastIndexOf('/'); i > 0; i = file.lastIndexOf('/', i - 1)) out.push(file.slice(0, i));
  return out;
}

/** The properties YAML that describes a model, seed or snapshot (dbt's patch_path), when one does. */
const propertiesFile = (n: ManifestNode): string | undefined => ('properties_file' in n ? n.properties_file : undefined);

/** The file name of a path. */
const baseName = (file: string) => file.slice(file.lastIndexOf('/') + 1);

/** `path:`'s glob, from the project's root, as dbt's Path.glob (`./` and a trailing `/` dropped). */
const pathGlob = (value: string) => globToRe(value.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, ''), true);

/** `file:`: a file's name, or that name without its type (`file:orders`), as dbt's file: */
const fileMatches = (file: string, re: RegExp) => re.test(baseName(file)) || re.test(baseName(file).replace(/\.[^.]*$/, ''));

/**
 * The method of a spec: its own, or for a bare value dbt's default: a path when it has a `/`, a
 * file name when it ends in a file type (`orders.sql`, `raw_customers.csv`), else fqn (which a
 * bare value widens to a node's name, a dashboard's, and a source's `raw.table` — not the
 * table's name alone: dbt's fqn method does not look at sources).
 */
function methodOf(spec: string): { method: string; value: string; bare: boolean } {
  const colon = spec.indexOf(':');
  if (colon > 0) return { method: spec.slice(0, colon), value: spec.slice(colon + 1), bare: false };
  return { method: /[/\\]/.test(spec) ? 'path' : /\.(sql|csv|py|ya?ml|json)$/i.test(spec) ? 'file' : 'fqn', value: spec, bare: true };
}

/** A node's fqn (a manifest from before Vigil wrote fqn: the project and its name). */
function fqnOf(m: Manifest, n: ManifestNode): string[] | undefined {
  if (n.resource_type === 'source' || n.resource_type === 'exposure' || n.resource_type === 'unit_test') return undefined;
  return n.fqn ?? [m.metadata.project, n.name];
}

/**
 * dbt's fqn match: the selector is the node's name, or the first parts of its fqn (dots in a name
 * split it too) from the project or from the folder under it, a part with a glob matching the rest.
 */
function fqnMatches(fqn: string[], selector: string): boolean {
  const matches = (f: string[]) => {
    if (f[f.length - 1] === selector) return true;
    const flat = f.flatMap((x) => x.split('.'));
    const parts = selector.split('.');
    if (flat.length < parts.length) return false;
    for (let i = 0; i < parts.length; i++) {
      if (/[*?[\]]/.test(parts[i])) return globToRe(parts.slice(i).join('.')).test(flat.slice(i).join('.'));
      if (flat[i] !== parts[i]) return false;
    }
    return true;
  };
  return matches(fqn) || matches(fqn.slice(1));
}

/**
 * A node's parents for selection: what it depends on but what it only waits for (a source test's
 * filling seed, TestNode.waits_for: the test goes with its source, as dbt's source tests — eager
 * test selection and `+test` leave the seed out; the seed's descendants have the test: children()).
 */
export function selectionParents(n: { depends_on: string[]; waits_for?: string[] }): string[] {
  return n.waits_for?.length ? n.depends_on.filter((d) => !n.waits_for!.includes(d)) : n.depends_on;
}

function parents(m: Manifest, id: string): string[] {
  const n = m.nodes[id] ?? m.exposures?.[id];
  return n ? selectionParents(n) : [];
}

/**
 * Children, dashboards included (they are not in child_map: nothing executes them); a test that
 * waits for it too (a source's test, of the seed that fills the source): the graph operators of
 * the seed (`seed+`, `@seed`, `state:modified+`) reach the tests of the data it loads, though
 * selecting the seed alone brings none of them (testsOf).
 */
function children(m: Manifest, id: string): string[] {
  const out = m.child_map[id] ?? [];
  const ex = Object.values(m.exposures ?? {}).filter((e) => e.depends_on.includes(id));
  return ex.length ? [...out, ...ex.map((e) => e.unique_id)] : out;
}

/** The tests (data and unit) of the nodes of `ids`: those that depend on one of them (selectionParents). */
function testsOf(m: Manifest, ids: Set<string>): string[] {
  const out: string[] = [];
  for (const n of Object.values(m.nodes)) {
    if (n.resource_type === 'test' && selectionParents(n).some((d) => ids.has(d))) out.push(n.unique_id);
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
export const SELECTOR_METHODS = ['name', 'fqn', 'package', 'tag', 'path', 'file', 'source', 'test_name', 'test_type', 'unit_test', 'resource_type', 'dashboard', 'exposure', 'config.<key>', 'state'] as const;

/** The methods matched by name in matchAtom (config.<key> and state: are matched apart). */
const NAMED_METHODS: readonly string[] = SELECTOR_METHODS.filter((x) => x !== 'config.<key>' && x !== 'state');

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
  // (dbt: "'@' prefix and '+' suffix are incompatible")
  if (at && downN !== undefined) throw new SelectorError(`selector '${raw}': @ already takes every descendant; drop the +`);
  const gens = (n: string | undefined) => (n === undefined ? 0 : n === '' ? Infinity : Number(n));
  return { raw, spec, up: gens(upN), down: gens(downN), at: !!at };
}

/** `raw` with its method:value replaced, graph operators kept (for a did-you-mean). */
function withSpec(a: Atom, spec: string): string {
  return a.raw.slice(0, a.raw.length - a.raw.replace(/^@|^\d*\+/, '').length) + spec + a.raw.slice(a.raw.indexOf(a.spec) + a.spec.length);
}

/**
 * The nearest spec that would match something: a node name, a path or a file name, the value of a
 * source:/tag:/... selector, or a config key.
 */
function hintFor(m: Manifest, spec: string, nodes: ReturnType<typeof allNodes>): string | undefined {
  const { method, value, bare } = methodOf(spec);
  const of = (f: (n: ReturnType<typeof allNodes>[number]) => unknown[]): string[] => [...new Set(nodes.flatMap(f).filter((v): v is string => typeof v === 'string'))];
  const key = method.startsWith('config.') ? method.slice('config.'.length) : '';
  if (method === 'name') return didYouMean(value, nodes.map((n) => n.name));
  if (key) {
    // a key no node has: the nearest key (`meta.owner` too), with the value kept
    if (!nodes.some((n) => configAt(selectorConfigOf(n), key.split('.')) !== undefined)) {
      const k = didYouMean(key, of((n) => keyPaths(selectorConfigOf(n))));
      return k === undefined ? undefined : `config.${k}:${value}`;
    }
  }
  // a node's file name under another folder (`models/orders.sql` for models/marts/orders.sql): its path
  const file = method === 'path' && /\.[a-z]+$/i.test(value) ? nodes.find((n) => baseName(n.file) === baseName(value)) : undefined;
  const candidates = (): string[] => {
    // a name, or a folder the fqn names (`staging`, `project.staging`); bare, a dashboard's or
    // unit test's name and a source's `source.table` too (as matchAtom matches them)
    if (method === 'fqn')
      return of((n) => {
        const f = fqnOf(m, n);
        if (!f) return bare ? [n.resource_type === 'source' ? `${n.source_name}.${n.name}` : n.name] : [];
        const folders = f.slice(1, -1).map((_, i, all) => all.slice(0, i + 1).join('.'));
        return [n.name, ...folders, f.join('.')];
      });
    if (method === 'package') return [m.metadata.project];
    if (method === 'path') return of((n) => [...pathAndFolders(n.file), propertiesFile(n)]);
    if (method === 'file') return of((n) => [baseName(n.file)]);
    if (method === 'source') return of((n) => (n.resource_type === 'source' ? (value.split('.').length === 3 ? [`${m.metadata.project}.${n.source_name}.${n.name}`] : [n.source_name, `${n.source_name}.${n.name}`]) : []));
    if (method === 'tag') return of((n) => ('tags' in n && Array.isArray(n.tags) ? n.tags : []));
    if (method === 'resource_type') return RESOURCE_TYPES;
    if (method === 'test_type') return [...of((n) => (n.resource_type === 'test' ? [n.test_type] : [])), 'generic', 'schema', 'singular', 'unit', 'data'];
    if (method === 'test_name') return of((n) => (isGenericTest(n) ? [n.test_type] : []));
    if (method === 'dashboard' || method === 'exposure' || method === 'unit_test')
      return of((n) => (n.resource_type === (method === 'unit_test' ? 'unit_test' : 'exposure') ? (value.includes('.') ? [`${m.metadata.project}.${n.name}`] : [n.name]) : []));
    // the values nodes have, and those the config takes (`table` when no model is one yet)
    if (key) return [...of((n) => configCandidates(configAt(selectorConfigOf(n), key.split('.')))), ...(CONFIG_CHOICES[key] ?? [])];
    return [];
  };
  // another package's name where the project's would match (a dbt CI line of the project
  // `jaffle_shop`: `unit_test:jaffle_shop.ut_orders`, `source:jaffle_shop.raw.events`,
  // `jaffle_shop.marts.orders`): the project's, however far the two names are apart
  const parts = value.split('.');
  const packaged = method === 'fqn' || method === 'source' ? (method === 'source' ? parts.length === 3 : parts.length > 1) : (method === 'dashboard' || method === 'exposure' || method === 'unit_test') && parts.length === 2;
  if (packaged && parts[0] !== m.metadata.project) {
    const swapped = [m.metadata.project, ...parts.slice(1)].join('.');
    if (matchAtom(m, nodes, bare ? swapped : `${method}:${swapped}`).size) return bare ? swapped : `${method}:${swapped}`;
  }
  // (a value that is one, config.materialized:table with no table yet, has no nearer one)
  const hit = file ? file.file : didYouMean(value, candidates().filter((c) => c !== value));
  return hit === undefined ? undefined : bare ? hit : `${method}:${hit}`;
}

/**
 * The config `config.<key>:` and state:modified.configs read: a node's config; a data test's
 * severity, where and tags, which dbt keeps in a test's config (the manifest keeps them beside it,
 * as manifests of older Vigils did: a state from one compares).
 */
function configOf(n: ManifestNode): Record<string, unknown> | undefined {
  if (n.resource_type === 'test')
    return {
      severity: n.severity,
      tags: n.tags,
      ...(n.where !== undefined ? { where: n.where } : {}),
      ...(n.fail_calc !== undefined ? { fail_calc: n.fail_calc } : {}),
      ...(n.warn_if !== undefined ? { warn_if: n.warn_if } : {}),
      ...(n.error_if !== undefined ? { error_if: n.error_if } : {}),
      ...(n.limit !== undefined ? { limit: n.limit } : {}),
      ...(n.store_failures_as !== undefined ? { store_failures: true, store_failures_as: n.store_failures_as } : {}),
      ...(n.custom_schema !== undefined ? { schema: n.custom_schema } : {}),
    };
  return 'config' in n ? (n.config as Record<string, unknown>) : undefined;
}

/**
 * dbt's defaults of the config keys Vigil has too, by resource type (dbt-core's NodeConfig, which
 * seeds' and snapshots' configs extend, SeedConfig, SnapshotConfig, TestConfig, SourceConfig): a
 * manifest holds the keys set (and a model's materialized), dbt's config every key, so
 * `config.enabled:true`, `config.materialized:seed` and `config.on_schema_change:ignore` select
 * what dbt's do. A node's own value wins. (A model's materialized and a test's severity are
 * always set; dashboards and unit tests have no config, as dbt's config: reads none of them.)
 */
const DBT_CONFIG_DEFAULTS: Partial<Record<ManifestNode['resource_type'], Record<string, unknown>>> = {
  model: { enabled: true, on_schema_change: 'ignore' },
  seed: { enabled: true, materialized: 'seed', on_schema_change: 'ignore', delimiter: ',' },
  snapshot: { enabled: true, materialized: 'snapshot', on_schema_change: 'ignore' },
  test: { enabled: true, materialized: 'test', fail_calc: 'count(*)', warn_if: '!= 0', error_if: '!= 0', schema: 'dbt_test__audit' },
  source: { enabled: true },
};

/** dbt's config keys Vigil has no equivalent of: `config.docs.show:true` matching nothing says so. */
const DBT_ONLY_CONFIGS = ['docs', 'contract', 'persist_docs', 'quoting', 'access', 'group', 'packages', 'on_configuration_change', 'sql_header', 'event_time', 'batch_size', 'lookback', 'begin', 'concurrent_batches'];

/** The config `config.<key>:` reads, and `vigil ls --output json` prints: configOf() over dbt's defaults of the node's type. */
export function selectorConfigOf(n: ManifestNode): Record<string, unknown> | undefined {
  const own = configOf(n);
  const defaults = DBT_CONFIG_DEFAULTS[n.resource_type];
  if (!defaults) return own;
  // (a loop, not entries/filter/fromEntries: `vigil ls --output json` and `config.<key>:` call it for every node)
  const out: Record<string, unknown> = { ...defaults };
  if (own) for (const k of Object.keys(own)) if (own[k] !== undefined) out[k] = own[k];
  return out;
}

/** The value at a dotted config key (`meta.owner`), as dbt's _getattr_descend: undefined where a step is no mapping or lacks the key. */
function configAt(c: unknown, keys: string[]): unknown {
  let v = c;
  for (const k of keys) {
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** Every key of a config, those inside a mapping dotted (`meta`, `meta.owner`): the candidates of a did-you-mean. */
function keyPaths(c: unknown, prefix = ''): string[] {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return [];
  return Object.entries(c).flatMap(([k, v]) => [prefix + k, ...keyPaths(v, `${prefix}${k}.`)]);
}

/** The texts configMatcher() compares a config value by (the candidates of a did-you-mean). */
function configCandidates(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.flatMap(configCandidates);
  return [typeof v === 'object' ? JSON.stringify(v) : String(v)];
}

/**
 * dbt's config match of `value`: the config's value, or any element of a list; a boolean as
 * `true`/`false` in any case (`True`); `caseless`: config.severity, which dbt compares in any
 * case. dbt compares by equality; Vigil also as a glob (`config.materialized:incr*`) and a number
 * or a mapping by its text, which dbt never matches: what dbt selects, Vigil does (a value with
 * glob characters, `[a]`, matches itself too), and more only where dbt selects nothing.
 */
function configMatcher(value: string, caseless: boolean): (v: unknown) => boolean {
  const re = globToRe(value);
  const lower = globToRe(value.toLowerCase());
  const is = (text: string, insensitive: boolean) => (insensitive ? text.toLowerCase() === value.toLowerCase() || lower.test(text.toLowerCase()) : text === value || re.test(text));
  const matches = (v: unknown): boolean => {
    if (v === undefined || v === null) return false;
    if (Array.isArray(v)) return v.some(matches);
    if (typeof v === 'object') return is(JSON.stringify(v), false);
    return is(String(v), typeof v === 'boolean' || caseless);
  };
  return matches;
}

function matchAtom(m: Manifest, nodes: ManifestNode[], spec: string, state?: Manifest): Set<string> {
  const out = new Set<string>();
  // a bare path (`models/staging`, `models/x.sql`) selects by path, a bare file name by file, as in dbt
  const { method, value, bare } = methodOf(spec);
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
  if (!configKey && !NAMED_METHODS.includes(method)) {
    // (result: is refused above, whatever its value: not a method to suggest)
    const hint = didYouMean(method.split('.')[0], [...NAMED_METHODS, 'config', 'state']);
    throw new SelectorError(`unknown selector method '${method}:'${hint ? ` — did you mean '${hint === 'config' ? 'config.<key>' : hint}:'?` : ''} (methods: ${SELECTOR_METHODS.join(', ')})`);
  }
  const keys = configKey?.split('.');
  if (keys?.some((k) => !k)) throw new SelectorError(`selector '${spec}': an empty key in config.${configKey} (config.meta.owner:x walks down meta)`);
  if (method === 'resource_type' && !RESOURCE_TYPES.some((t) => re.test(t)) && !DBT_ONLY_TYPES.some((t) => re.test(t))) {
    // (a dashboard is an exposure, as in dbt)
    const hint = value === 'dashboard' ? 'exposure' : didYouMean(value, RESOURCE_TYPES);
    throw new SelectorError(`selector '${spec}': unknown resource type '${value}'${hint ? ` — did you mean 'resource_type:${hint}'?` : ''} (resource types: ${RESOURCE_TYPES.join(', ')})`);
  }
  // as dbt: source_name, source_name.table or package.source_name.table (the package: the project)
  const sourceParts = method === 'source' ? value.split('.').length : 0;
  if (sourceParts > 3)
    throw new SelectorError(`selector '${spec}': invalid source selector: give source:<source>, source:<source>.<table> or source:<package>.<source>.<table>`);
  // as dbt's: unit_test:<name> or unit_test:<package>.<name> (the package: the project); exposure: too
  const named = method === 'unit_test' || method === 'exposure' || method === 'dashboard';
  const unitParts = named ? value.split('.') : [];
  if (unitParts.length > 2) throw new SelectorError(`selector '${spec}': invalid ${method === 'unit_test' ? 'unit test' : method} selector: give ${method}:<name> or ${method}:<package>.<name>`);
  const unitRe = unitParts.length === 2 ? { pkg: globToRe(unitParts[0]), name: globToRe(unitParts[1]) } : { pkg: undefined, name: re };
  const pathRe = method === 'path' ? pathGlob(value) : re;
  const configMatches = keys ? configMatcher(value, configKey === 'severity') : undefined;
  for (const n of nodes) {
    let hit = false;
    if (keys && configMatches) {
      hit = configMatches(configAt(selectorConfigOf(n), keys));
    } else
      switch (method) {
        case 'fqn': {
          // bare: a node's name too, a source's only as `source.table` (dbt's fqn is of non-source nodes)
          const f = fqnOf(m, n);
          hit = (f !== undefined && fqnMatches(f, value)) || (bare && (n.resource_type === 'source' ? re.test(`${n.source_name}.${n.name}`) : re.test(n.name)));
          break;
        }
        case 'package':
          // (one project: every node is of it)
          hit = re.test(m.metadata.project);
          break;
        case 'name':
          hit = nameMatches(n, re);
          break;
        case 'tag':
          hit = n.tags.some((t) => re.test(t));
          break;
        case 'path':
          // its file or a folder of it; or its properties YAML, itself (dbt's patch_path)
          hit = pathAndFolders(n.file).some((p) => pathRe.test(p)) || (!!propertiesFile(n) && pathRe.test(propertiesFile(n)!));
          break;
        case 'file':
          hit = fileMatches(n.file, re);
          break;
        case 'source':
          hit = n.resource_type === 'source' && (re.test(n.source_name) || re.test(`${n.source_name}.${n.name}`) || (sourceParts === 3 && re.test(`${m.metadata.project}.${n.source_name}.${n.name}`)));
          break;
        case 'test_name':
          // dbt's: a generic test by the name of its test (unique, not_null, relationships, ...)
          hit = isGenericTest(n) && (n.test_type === value || re.test(n.test_type));
          break;
        case 'test_type':
          // dbt's kinds: generic (schema, its older name), singular, data (both: dbt's since 1.8), unit;
          // or a generic test's own name (unique, not_null...), which dbt spells test_name:
          hit = (n.resource_type === 'test' && (re.test(n.test_type) || re.test('data') || (n.test_type !== 'singular' && (re.test('generic') || re.test('schema'))))) || (n.resource_type === 'unit_test' && re.test('unit'));
          break;
        case 'resource_type':
          hit = re.test(n.resource_type);
          break;
        case 'dashboard':
        case 'exposure':
        case 'unit_test':
          hit = n.resource_type === (method === 'unit_test' ? 'unit_test' : 'exposure') && unitRe.name.test(n.name) && (!unitRe.pkg || unitRe.pkg.test(m.metadata.project));
          break;
      }
    if (hit) out.add(n.unique_id);
  }
  return out;
}

/** `name:`: a node's name, a source's `source.table` too. */
function nameMatches(n: ManifestNode, re: RegExp): boolean {
  return re.test(n.name) || (n.resource_type === 'source' && re.test(`${n.source_name}.${n.name}`));
}

/**
 * What a name, fqn, path or file selector that matched nothing would have matched but for
 * enabled: false (said instead of a did-you-mean of another node).
 */
function disabledBy(m: Manifest, spec: string): string | undefined {
  const { method, value } = methodOf(spec);
  const re = globToRe(value);
  const pathRe = method === 'path' ? pathGlob(value) : re;
  const matches: Record<string, (d: NonNullable<Manifest['disabled']>[string]) => boolean> = {
    name: (d) => re.test(d.name),
    // (a manifest of an older Vigil kept no fqn of a disabled node: its project and name)
    fqn: (d) => re.test(d.name) || fqnMatches(d.fqn ?? [m.metadata.project, d.name], value),
    path: (d) => pathAndFolders(d.file).some((p) => pathRe.test(p)),
    file: (d) => fileMatches(d.file, re),
  };
  if (!(method in matches)) return undefined;
  const off = Object.values(m.disabled ?? {}).filter(matches[method]);
  if (!off.length) return undefined;
  const d = off[0];
  return `${d.resource_type} '${d.name}' (${d.file}) is disabled (${d.because ?? (d.model ? `its model '${d.model}' has enabled: false` : 'enabled: false')})${off.length > 1 ? ` and ${off.length - 1} more` : ''}`;
}

/**
 * Why a selector of something dbt has and Vigil has not selects nothing: a `resource_type:` of a
 * type no Vigil project has (analysis, macro, ...), a `config.<key>:` of a dbt config Vigil has
 * no equivalent of (`config.docs.show:true`, `config.contract.enforced:false`).
 */
function absentFromVigil(spec: string): string | undefined {
  const { method, value } = methodOf(spec);
  if (method.startsWith('config.')) {
    const key = method.slice('config.'.length).split('.')[0];
    return DBT_ONLY_CONFIGS.includes(key) ? `'${key}' is a dbt config Vigil has no equivalent of (no node has it)` : undefined;
  }
  if (method !== 'resource_type') return undefined;
  const re = globToRe(value);
  const types = DBT_ONLY_TYPES.filter((t) => re.test(t));
  return types.length ? `Vigil has no ${types.join(' or ')} nodes (its resource types: ${RESOURCE_TYPES.join(', ')})` : undefined;
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
/**
 * An empty selector (`-s ""`, `-s "$UNSET"` in a CI script) said as the mistake it is, with what
 * may be selected (`grammar`) and what leaving the flag out selects; undefined when there is none.
 */
export function blankSelector(select: string[], grammar: string, all: string): string | undefined {
  const blank = select.find((e) => !e.trim());
  return blank === undefined ? undefined : `selector '${blank}' is empty: give what to select (${grammar}), or leave the flag out to select ${all}`;
}

/** The expressions of -s/--exclude values: each value's space-separated parts (a union). */
export function selectorExprs(values: string[]): string[] {
  return values.flatMap((e) => e.split(/\s+/)).filter(Boolean);
}

export function selectNodes(m: Manifest, select: string[] | undefined, exclude: string[] | undefined, state?: Manifest, indirect: IndirectSelection = 'eager'): SelectionResult {
  const nodes = allNodes(m);
  const unmatched: SelectionResult['unmatched'] = [];
  const eager = indirect === 'eager';
  /**
   * Each space-separated expression with what it selects; `quiet` when it is said already or may
   * select nothing (state:); `reach` (not eager): what it selects and the tests it reaches but
   * does not select (dbt's indirect nodes, which a union or --exclude may yet complete).
   */
  const evalExprs = (exprs: string[]): Array<{ expr: string; ids: Set<string>; quiet: boolean; reach?: Set<string> }> => {
    // an empty selector (`-s ""`, `-s "$UNSET"` in a CI script) is a mistake, not "nothing":
    // it selected nothing and the command said OK
    const blank = blankSelector(exprs, 'a name, tag:x, path:..., state:modified+', 'everything');
    if (blank) throw new SelectorError(blank);
    const out: Array<{ expr: string; ids: Set<string>; quiet: boolean; reach?: Set<string> }> = [];
    for (const expr of selectorExprs(exprs)) {
      let inter: Set<string> | undefined;
      let reach: Set<string> | undefined;
      const atoms = expr.split(',');
      let quiet = false;
      for (const rawAtom of atoms) {
        if (!rawAtom) throw new SelectorError(`selector '${expr}': an empty part between commas (a,b is an intersection of a and b)`);
        const a = parseAtom(rawAtom);
        const base = matchAtom(m, nodes, a.spec, state);
        // state: that matches nothing means nothing changed: not a typo
        if (a.spec.startsWith('state:')) quiet = true;
        else if (!base.size) {
          const off = disabledBy(m, a.spec);
          const why = off ? undefined : absentFromVigil(a.spec);
          const hint = off || why ? undefined : hintFor(m, a.spec, nodes);
          unmatched.push({ atom: rawAtom, ...(off ? { disabled: off } : why ? { why } : { hint: hint && withSpec(a, hint) }) });
          quiet = true;
        }
        const set = new Set(base);
        if (a.up) for (const x of walk(base, (id) => parents(m, id), a.up)) set.add(x);
        if (a.down || a.at) for (const x of walk(base, (id) => children(m, id), a.at ? Infinity : a.down)) set.add(x);
        if (a.at) for (const x of closure([...set], (id) => parents(m, id))) set.add(x);
        if (eager) {
          // in an intersection each part takes the tests of what it selects (dbt's eager indirect
          // selection): `orders,test_type:unique` is the unique tests of orders
          if (atoms.length > 1) for (const t of testsOf(m, set)) set.add(t);
          inter = inter ? intersect(inter, set) : set;
        } else {
          // each part with the tests its mode selects, and those it reaches (dbt's expand_selection)
          const x = expandTests(m, set, indirect);
          const all = new Set([...x.direct, ...x.indirect]);
          inter = inter ? intersect(inter, x.direct) : x.direct;
          reach = reach ? intersect(reach, all) : all;
        }
      }
      if (!eager && inter && reach) inter = incorporateTests(m, inter, reach, indirect);
      if (atoms.length > 1 && !quiet && !inter?.size) {
        // (another mode: the tests eager takes may be what the intersection was for —
        // `orders,test_type:relationships` under cautious leaves the relationships tests to
        // customers — said, or the mode's doing reads as a typo)
        const left = eager ? [] : [...selectNodes(m, [expr], undefined, state).ids];
        unmatched.push({ atom: expr, note: `each part selects something, together nothing${left.length ? `: ${indirectLeaves(m, indirect, left)}` : ''}` });
        quiet = true;
      }
      out.push({ expr, ids: inter ?? new Set(), quiet, ...(reach ? { reach } : {}) });
    }
    return out;
  };
  const union = (parts: Array<{ ids: Set<string> }>) => new Set(parts.flatMap((p) => [...p.ids]));
  const selected = select && select.length ? evalExprs(select) : undefined;
  let ids = selected ? union(selected) : new Set(nodes.map((n) => n.unique_id));
  // the tests of what is excluded go with it (dbt's eager indirect selection): `--exclude m`
  // does not run m's data tests or unit tests; in another mode, those that mode selects of it
  const excludes = (exclude && exclude.length ? evalExprs(exclude) : []).map((p) => (eager ? { ...p, ids: new Set([...p.ids, ...testsOf(m, p.ids)]) } : p));
  const excluded = union(excludes);
  if (eager) for (const id of excluded) ids.delete(id);
  else {
    // dbt's union and difference of direct and indirect nodes: a test reached by two parts of
    // a union (`-s orders customers` and their relationships test, cautious) is selected by it
    const reachOf = (parts: Array<{ ids: Set<string>; reach?: Set<string> }>) => new Set(parts.flatMap((p) => [...(p.reach ?? p.ids)]));
    const included = incorporateTests(m, ids, selected ? reachOf(selected) : ids, indirect);
    const out = incorporateTests(m, excluded, reachOf(excludes), indirect);
    const gone = reachOf(excludes);
    for (const id of out) gone.add(id);
    const reach = new Set([...(selected ? reachOf(selected) : ids), ...included].filter((id) => !gone.has(id)));
    ids = incorporateTests(m, new Set([...included].filter((id) => !out.has(id))), reach, indirect);
    for (const id of out) excluded.add(id);
  }
  // `-s a --exclude a`: a selection its --exclude empties is a mistake, as an intersection
  // that selects nothing is (said for each expression, naming the --exclude that empties it)
  for (const p of selected ?? []) {
    if (p.quiet || !p.ids.size || ![...p.ids].every((id) => excluded.has(id))) continue;
    const by = excludes.filter((x) => [...p.ids].some((id) => x.ids.has(id))).map((x) => `'${x.expr}'`);
    unmatched.push({ atom: p.expr, says: `selects only what --exclude ${by.join(' ')} excludes` });
  }
  // `--exclude '*'` with no -s: the same mistake, of the whole project (a state: exclude may
  // exclude everything when nothing changed: not one)
  if (!selected && excludes.length && nodes.length && !ids.size && !excludes.some((x) => x.quiet)) {
    const by = excludes.filter((x) => x.ids.size).map((x) => `'${x.expr}'`);
    unmatched.push({ atom: by.join(' '), text: `--exclude ${by.join(' ')} excludes every node of the project: nothing is left to select`, wholeProject: true });
  }
  return { ids, excluded, unmatched, ...(eager ? {} : { indirect }) };
}

const intersect = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => b.has(x)));

/**
 * What --indirect-selection `mode` left of the tests eager selects (`ids`, their unique_ids), for
 * a message: a selection that selects no test under cautious is no typo, and saying only
 * "nothing" sent the user looking for one.
 */
export function indirectLeaves(m: Manifest, mode: IndirectSelection, ids: string[]): string {
  const names = ids.map((id) => m.nodes[id]?.name ?? id);
  const why = mode === 'cautious' ? 'each reads a node not selected' : mode === 'buildable' ? 'each reads a node neither selected nor upstream of one' : 'none is selected itself';
  return `--indirect-selection ${mode} leaves ${names.length === 1 ? 'the test' : `the ${names.length} tests`} eager (the default) selects (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}): ${why}`;
}

/** dbt's --indirect-selection: which tests selecting what they test selects. */
export const INDIRECT_SELECTION = ['eager', 'cautious', 'buildable', 'empty'] as const;
export type IndirectSelection = (typeof INDIRECT_SELECTION)[number];

/**
 * dbt's expand_selection: the selected nodes and the tests of them that `mode` selects (`direct`)
 * — eager: each that reads one of them; cautious: each whose every node read is selected;
 * buildable: each whose every node read is selected, an ancestor of one, or a source; empty:
 * none — and the tests it reaches but leaves (`indirect`), which a union may complete. A unit test
 * reads its model alone: selected with it, but under empty.
 */
function expandTests(m: Manifest, selected: Set<string>, mode: IndirectSelection): { direct: Set<string>; indirect: Set<string> } {
  const direct = new Set(selected);
  const indirect = new Set<string>();
  if (mode === 'empty') return { direct, indirect };
  let near: Set<string> | undefined;
  const buildable = () => (near ??= new Set([...selected, ...closure(selected, (id) => parents(m, id)), ...Object.keys(m.sources)]));
  for (const t of testsOf(m, selected)) {
    if (direct.has(t)) continue;
    const n = m.nodes[t];
    const reads = n.resource_type === 'unit_test' ? [n.attached_to] : selectionParents(n);
    if (mode === 'eager' || reads.every((p) => selected.has(p)) || (mode === 'buildable' && reads.every((p) => buildable().has(p)))) direct.add(t);
    else indirect.add(t);
  }
  return { direct, indirect };
}

/**
 * dbt's incorporate_indirect_nodes: `direct` and each data test of `reach` whose every node read
 * is in it (cautious) or in it or an ancestor of it (buildable).
 */
function incorporateTests(m: Manifest, direct: Set<string>, reach: Set<string>, mode: IndirectSelection): Set<string> {
  if (mode !== 'cautious' && mode !== 'buildable') return direct;
  const out = new Set(direct);
  const near = mode === 'buildable' ? new Set([...direct, ...closure(direct, (id) => parents(m, id))]) : direct;
  for (const id of reach) {
    const n = m.nodes[id];
    if (!direct.has(id) && n?.resource_type === 'test' && selectionParents(n).every((p) => near.has(p))) out.add(id);
  }
  return out;
}

/**
 * The selection with dbt's eager indirect selection: the selected nodes, and the data tests that
 * read one of them and the unit tests of one, unless --exclude excluded them. What `vigil test`
 * and `vigil build` run of a selection, `vigil ls` lists and `vigil compile` counts.
 */
export function withTests(m: Manifest, r: Pick<SelectionResult, 'ids' | 'excluded' | 'indirect'>): Set<string> {
  // (another mode's selection holds the tests it selects already)
  if (r.indirect && r.indirect !== 'eager') return new Set(r.ids);
  const out = new Set(r.ids);
  for (const t of testsOf(m, r.ids)) if (!r.excluded.has(t)) out.add(t);
  return out;
}

export const STATE_VALUES = ['new', 'old', 'modified', 'unmodified', 'modified.body', 'modified.configs', 'modified.relation', 'modified.contract', 'modified.persisted_descriptions', 'modified.macros', 'modified.vars'];

type Columns = Array<{ name: string; data_type?: string; description?: string; meta?: Record<string, unknown>; policy?: Policy }>;
const columnList = (x: object): Columns => ('columns' in x && Array.isArray(x.columns) ? (x.columns as Columns) : []);

/**
 * What .contract compares: the declared types (a column listed with no data_type, to describe or
 * test it, declares none), and for a model with masking policies (its published SELECT lists
 * exactly its declared columns, each through its policy: compile/masking.ts) those columns and
 * their policies.
 */
function contractOf(x: object): string {
  const cols = columnList(x);
  const types = cols.filter((c) => c.data_type !== undefined).map((c) => [c.name, c.data_type]);
  const masks = 'resource_type' in x && x.resource_type === 'model' && 'relation' in x && !!x.relation && needsMasking(cols);
  const published = masks ? cols.map((c) => [c.name, policyOf(c) ?? null]) : null;
  return canonicalJson({ types, published });
}

/**
 * What .persisted_descriptions compares: the descriptions a target writes to the warehouse —
 * BigQuery's table or view and column descriptions of a model (its relation); DuckDB and
 * Postgres write none.
 */
function persistedDescriptions(m: Manifest, x: object): string | undefined {
  if (!m.metadata?.persists_descriptions || !('resource_type' in x) || x.resource_type !== 'model' || !('relation' in x) || !x.relation) return undefined;
  const description = 'description' in x && typeof x.description === 'string' && x.description ? x.description : null;
  return canonicalJson({ description, columns: columnList(x).filter((c) => c.description).map((c) => [c.name, c.description]) });
}

/**
 * The configs that are no change of a node: `tags` and `meta` are metadata, which does not change
 * how it is built or tested (dbt: "Changes to tags and meta ... don't count as modifications";
 * its NodeAndTestConfig compares neither, TestConfig only severity, where and the like).
 */
const NOT_COMPARED_CONFIGS = ['tags', 'meta'];

/** `written`: the config's text as written, where both manifests have it (a model's or snapshot's config()), else its value. */
function configParts(config: Record<string, unknown> | undefined, written: (k: string) => string | undefined): { relation: string; rest: string } {
  const c = { ...(config ?? {}) };
  for (const k of NOT_COMPARED_CONFIGS) delete c[k];
  const relation: Record<string, unknown> = {};
  for (const k of RELATION_CONFIGS) {
    if (k in c) relation[k] = written(k) ?? c[k];
    delete c[k];
  }
  return { relation: canonicalJson(relation), rest: canonicalJson(c) };
}

/**
 * dbt's state comparison against a previous manifest, for models, seeds, snapshots, sources, data
 * tests and unit tests: new (not there before; a generic test whose arguments changed, which its
 * unique_id holds, as in dbt) and old; modified.body (its file changed; a unit test's definition and fixtures; a source's declaration but
 * its descriptions); .configs (other than where it is written, and but tags and meta; a data test's severity and where); .relation (the configured
 * database/schema/alias, as written — config() by its text: not the relation a target
 * or a generate_schema_name macro makes of them, so a state from another target compares; a
 * source's database/schema/identifier);
 * .contract (declared column types; a model with policies: its published columns and policies,
 * contractOf); .persisted_descriptions (the descriptions the target writes: BigQuery's, of a
 * model); .macros (a macro it calls, directly or not, changed); .vars (the value of a var its
 * rendering read changed, as dbt's with state_modified_compare_vars); `modified` is any of these
 * but .vars (dbt's default: that flag off), or new, or moved (its fqn: a file in another folder,
 * as dbt's same_fqn), `unmodified` none of them (a node whose vars alone changed is unmodified).
 */
function stateMatches(m: Manifest, state: Manifest, n: ManifestNode, what: string): boolean {
  if (n.resource_type === 'exposure') return exposureMatches(n, state.exposures?.[n.unique_id], what, state);
  // (a state of an earlier layout recorded less: STATE_FORMAT)
  const format = state.metadata?.state_format ?? 1;
  const old = n.resource_type === 'source' ? state.sources?.[n.unique_id] : (state.nodes?.[n.unique_id] ?? (format < 3 && isGenericTest(n) ? olderGenericTest(m, state, n) : undefined));
  if (what === 'new' || what === 'old') return (what === 'new') === !old;
  if (!old) return what === 'modified';
  const body = () => (n.resource_type === 'source' ? sourceChanged(n, old as SourceNode, format) : 'checksum' in n && 'checksum' in old && n.checksum !== old.checksum);
  // (split once for .configs and .relation both)
  let parts: [ReturnType<typeof configParts>, ReturnType<typeof configParts>] | undefined;
  // (a key config() sets in both is compared as written: `schema='s_' ~ target.name` is the same
  // on every target; a state written before manifests kept the text compares the values)
  const [now, was] = [n, old].map((x) => ('unrendered_config' in x ? x.unrendered_config : undefined) ?? {});
  const written = (mine: Record<string, string>) => (k: string) => (now[k] !== undefined && was[k] !== undefined ? mine[k] : undefined);
  const split = () => (parts ??= [configParts(configOf(n), written(now)), configParts(configOf(old), written(was))]);
  const configs = () => n.resource_type !== 'source' && split()[0].rest !== split()[1].rest;
  // a source's database/schema/identifier as written (a built-in source's follows the target: not compared)
  const relation = () =>
    n.resource_type === 'source' ? !n.meta?.vigil_builtin && canonicalJson(n.relation) !== canonicalJson((old as SourceNode).relation) : split()[0].relation !== split()[1].relation;
  const contract = () => contractOf(n) !== contractOf(old);
  // (compared on the target's warehouse: a state from BigQuery's prod compared on DuckDB's dev writes none)
  const descriptions = () => persistedDescriptions(m, n) !== persistedDescriptions(m, old);
  // (a state written before manifests kept the fqn: not compared; a generic test's name ending
  // it is not: it follows from the test's definition, which its unique_id holds, and from whether
  // another test is named alike — a test added elsewhere is no change of this one)
  const fqnOf = (x: ManifestNode) => ('fqn' in x && x.fqn ? (isGenericTest(x) ? x.fqn.slice(0, -1) : x.fqn) : undefined);
  // (a state of layout 3 or older left a {% snapshot %} block's file name out of its fqn: compared without it)
  const nowFqn = () => {
    const f = fqnOf(n);
    return f && format < 4 && n.resource_type === 'snapshot' && /\.sql$/i.test(n.file) ? [...f.slice(0, -2), f[f.length - 1]] : f;
  };
  const fqn = () => !!fqnOf(n) && !!fqnOf(old) && canonicalJson(nowFqn()) !== canonicalJson(fqnOf(old));
  // (models, snapshots and singular tests record the macros they call)
  // (a state of layout 1 kept one checksum per macro (since 290baa0) or, older, one per macro file:
  // it cannot say which, so a macro is unchanged when its checksum is this project's either way)
  const sameMacro = (x: string) => state.macros?.[x] === m.macros?.[x] || (format < 2 && state.macros?.[x] !== undefined && state.macros[x] === m.macro_files?.[x]);
  const macros = () => ('depends_on_macros' in n ? (n.depends_on_macros ?? []) : []).some((x) => !sameMacro(x));
  // the vars its rendering read and the hashes of their values (a state of layout 3 or older
  // recorded none: unknown, no modification); one read now or then only is a change too
  const varsOf = (x: ManifestNode) => canonicalJson('vars' in x ? (x.vars ?? {}) : {});
  const vars = () => format >= 4 && varsOf(n) !== varsOf(old);
  if (what === 'modified.body') return body();
  if (what === 'modified.configs') return configs();
  if (what === 'modified.relation') return relation();
  if (what === 'modified.contract') return contract();
  if (what === 'modified.persisted_descriptions') return descriptions();
  if (what === 'modified.macros') return macros();
  if (what === 'modified.vars') return vars();
  // (not .vars, as dbt's state_modified_compare_vars defaults to off: a --vars run_date or a
  // default that changes each run would modify every node reading it; -s 'state:modified+
  // state:modified.vars+' selects both)
  const modified = body() || configs() || relation() || contract() || descriptions() || fqn() || macros();
  return what === 'unmodified' ? !modified : modified;
}

/**
 * A dashboard (an exposure) against the state, as dbt compares exposures: new when the state has
 * none of its name, modified (.body) when its definition changed — by its checksum, or, against a
 * state that recorded none, by what that state recorded of it (title, description, the models it
 * reads, its tiles' count). It has no config, relation, contract, macros or vars.
 */
function exposureMatches(n: Extract<ManifestNode, { resource_type: 'exposure' }>, old: Extract<ManifestNode, { resource_type: 'exposure' }> | undefined, what: string, state: Manifest): boolean {
  if (what === 'new' || what === 'old') return (what === 'new') === !old;
  if (!old) return what === 'modified';
  // Compared as that state could record them: an older manifest kept no dashboard's description
  // (one it lacks is not compared), and listed the sync state table its tiles read among the
  // models (`model.<project>.vigil_sync_state`, the one id of no node; sync_state since): then
  // whether the table is read is compared, not in which schema. (Else every shipped dashboard was
  // modified after an upgrade.)
  const oldDeps = old.depends_on.filter((id) => id in (state.nodes ?? {}));
  const oldReadsSync = old.sync_state ?? (oldDeps.length < old.depends_on.length ? true : null);
  const readsSync = old.sync_state === undefined ? (n.sync_state ? true : null) : (n.sync_state ?? null);
  const recorded = (x: typeof n, deps: string[], sync: unknown) => canonicalJson([x.title, old.description === undefined ? null : (x.description ?? null), [...deps].sort(), x.tiles, sync]);
  const body = n.checksum && old.checksum ? n.checksum !== old.checksum : recorded(n, n.depends_on, readsSync) !== recorded(old, oldDeps, oldReadsSync);
  if (what === 'modified' || what === 'modified.body') return body;
  if (what === 'unmodified') return !body;
  return false;
}

function isGenericTest(n: ManifestNode): n is GenericTestNode {
  return n.resource_type === 'test' && n.test_type !== 'singular';
}

type GenericTestNode = Extract<ManifestNode, { resource_type: 'test' }>;
const testsIndex = new WeakMap<Manifest, { byChecksum: Map<string, GenericTestNode>; alike: Map<string, GenericTestNode[]> }>();
/** A manifest's generic tests by checksum, and by test, node and column. */
function genericTests(m: Manifest) {
  let ix = testsIndex.get(m);
  if (!ix) {
    ix = { byChecksum: new Map(), alike: new Map() };
    for (const x of Object.values(m.nodes ?? {})) {
      if (!isGenericTest(x)) continue;
      if (x.checksum) ix.byChecksum.set(x.checksum, x);
      const k = alikeKey(x);
      ix.alike.set(k, [...(ix.alike.get(k) ?? []), x]);
    }
    testsIndex.set(m, ix);
  }
  return ix;
}
const alikeKey = (x: GenericTestNode) => canonicalJson([x.test_type, x.attached_to ?? null, x.column ?? null]);

/**
 * A generic test `n` in a state of layout 1 or 2, whose unique_ids of generic tests were
 * `test.<project>.<name>` (a name another test could take: `_2` by the order met); this layout's
 * end with the hash of the test's definition, which is its checksum in both (STATE_FORMAT 3): the
 * state's test of that checksum. A state written before tests had checksums (c838cdd): the one
 * test of that kind on that node and column, when this project has one too.
 */
function olderGenericTest(m: Manifest, state: Manifest, n: GenericTestNode): ManifestNode | undefined {
  const was = genericTests(state);
  const same = n.checksum ? was.byChecksum.get(n.checksum) : undefined;
  if (same) return same;
  const alike = was.alike.get(alikeKey(n)) ?? [];
  return alike.length === 1 && !alike[0].checksum && genericTests(m).alike.get(alikeKey(n))?.length === 1 ? alike[0] : undefined;
}

/**
 * Whether a source's .body changed: all it declares but where it is written (positions, at any
 * depth), its descriptions (dbt: "description changes are not changes") and its relation
 * (.relation). A sync setting the table leaves to its default is not compared when the state's
 * left it too (a default a newer Vigil changed is no change of the project), nor when a state of
 * layout 1 cannot say (it recorded the resolved value only); one declared on either side is.
 */
function sourceChanged(n: SourceNode, old: SourceNode, format: number): boolean {
  const defaulted = (k: 'batch_size' | 'lookback_seconds') => !!n.sync?.defaults?.includes(k) && (format < 2 || !!old.sync?.defaults?.includes(k));
  const skip = new Set((['batch_size', 'lookback_seconds'] as const).filter(defaulted));
  const contents = (x: SourceNode) => {
    const { description: _d, source_description: _sd, relation: _r, columns, sync, ...rest } = x;
    const declared = sync && Object.fromEntries(Object.entries(sync).filter(([k]) => k !== 'defaults' && !skip.has(k as 'batch_size')));
    return canonicalJson(withoutPositions({ ...rest, sync: declared, columns: (columns ?? []).map(({ description: _cd, ...c }) => c) }));
  };
  return contents(n) !== contents(old);
}
