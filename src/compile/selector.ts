/**
 * Node selection with dbt's grammar: `name`, `+name` (with ancestors), `name+` (with
 * descendants), `tag:x`, `path:models/marts`, `source:raw.table`, `test_type:unique`,
 * `dashboard:overview`, `*` globs; space-separated values are a union, comma-joined atoms an
 * intersection. Pure.
 */
import type { Manifest, ManifestNode } from './manifest.js';
import { didYouMean } from '../errors.js';

export interface SelectionResult {
  ids: Set<string>;
  /** Ids matched by --exclude (so eager test selection can leave them out too). */
  excluded: Set<string>;
  /** Selector atoms that matched nothing, with a hint when one is close. */
  unmatched: Array<{ atom: string; hint?: string }>;
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

function matchAtom(m: Manifest, nodes: ManifestNode[], spec: string): Set<string> {
  const out = new Set<string>();
  const colon = spec.indexOf(':');
  const method = colon > 0 ? spec.slice(0, colon) : 'name';
  const value = colon > 0 ? spec.slice(colon + 1) : spec;
  const re = globToRe(value);
  for (const n of nodes) {
    let hit = false;
    switch (method) {
      case 'name':
        hit = re.test(n.name) || (n.resource_type === 'source' && re.test(`${n.source_name}.${n.name}`));
        break;
      case 'tag':
        hit = n.tags.some((t) => re.test(t));
        break;
      case 'path': {
        const v = value.replace(/\/+$/, '');
        hit = n.file === v || n.file.startsWith(v + '/') || re.test(n.file);
        break;
      }
      case 'source':
        hit = n.resource_type === 'source' && (re.test(n.source_name) || re.test(`${n.source_name}.${n.name}`));
        break;
      case 'test_type':
        hit = n.resource_type === 'test' && re.test(n.test_type);
        break;
      case 'resource_type':
        hit = re.test(n.resource_type);
        break;
      case 'dashboard':
      case 'exposure':
        hit = n.resource_type === 'exposure' && re.test(n.name);
        break;
      default:
        throw new Error(`unknown selector method '${method}:' (use name, tag:, path:, source:, test_type:, resource_type:, dashboard:)`);
    }
    if (hit) out.add(n.unique_id);
  }
  return out;
}

/** Select node ids. Throws Error with a readable message for an unknown method. */
export function selectNodes(m: Manifest, select: string[] | undefined, exclude: string[] | undefined): SelectionResult {
  const nodes = allNodes(m);
  const unmatched: SelectionResult['unmatched'] = [];
  const evalExpr = (exprs: string[]): Set<string> => {
    const union = new Set<string>();
    for (const expr of exprs.flatMap((e) => e.split(/\s+/)).filter(Boolean)) {
      let inter: Set<string> | undefined;
      for (const rawAtom of expr.split(',')) {
        const up = rawAtom.startsWith('+');
        const down = rawAtom.endsWith('+');
        const spec = rawAtom.replace(/^\+/, '').replace(/\+$/, '');
        const base = matchAtom(m, nodes, spec);
        if (!base.size) unmatched.push({ atom: rawAtom, hint: spec.includes(':') ? undefined : didYouMean(spec, nodes.map((n) => n.name)) });
        const set = new Set(base);
        if (up) for (const a of closure(base, (id) => parents(m, id))) set.add(a);
        if (down) for (const d of closure(base, (id) => children(m, id))) set.add(d);
        inter = inter ? new Set([...inter].filter((x) => set.has(x))) : set;
      }
      for (const id of inter ?? []) union.add(id);
    }
    return union;
  };
  const ids = select && select.length ? evalExpr(select) : new Set(nodes.map((n) => n.unique_id));
  const excluded = exclude && exclude.length ? evalExpr(exclude) : new Set<string>();
  for (const id of excluded) ids.delete(id);
  return { ids, excluded, unmatched };
}
