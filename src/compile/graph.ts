/**
 * The dependency graph of nodes: cycle detection (reported as `a -> b -> a`) and a
 * deterministic topological order. Pure.
 */

export interface Graph {
  /** node -> the nodes it depends on (only nodes inside the graph) */
  parents: Map<string, string[]>;
  /** node -> the nodes that depend on it */
  children: Map<string, string[]>;
}

export function buildGraph(deps: Map<string, string[]>): Graph {
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const id of deps.keys()) {
    parents.set(id, []);
    children.set(id, []);
  }
  for (const [id, ps] of deps) {
    for (const p of ps) {
      if (!parents.has(p)) continue;
      parents.get(id)!.push(p);
      children.get(p)!.push(id);
    }
  }
  return { parents, children };
}

/** Every cycle found, each as the list of nodes along it with the first repeated at the end. */
export function findCycles(g: Graph): string[][] {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  const cycles: string[][] = [];
  const seen = new Set<string>();
  for (const start of [...g.parents.keys()].sort()) {
    if (color.get(start)) continue;
    // iterative DFS keeping the path, so deep graphs don't overflow the stack
    const stack: Array<{ id: string; i: number }> = [{ id: start, i: 0 }];
    const path: string[] = [start];
    color.set(start, GREY);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const ps = g.parents.get(top.id)!;
      if (top.i < ps.length) {
        const next = ps[top.i++];
        const c = color.get(next) ?? WHITE;
        if (c === WHITE) {
          color.set(next, GREY);
          stack.push({ id: next, i: 0 });
          path.push(next);
        } else if (c === GREY) {
          const from = path.indexOf(next);
          // path follows "depends on" edges: a -> b means a.sql calls ref('b')
          const cyc = path.slice(from).concat(next);
          const key = [...cyc.slice(1)].sort().join('|');
          if (!seen.has(key)) {
            seen.add(key);
            cycles.push(cyc);
          }
        }
      } else {
        color.set(top.id, BLACK);
        stack.pop();
        path.pop();
      }
    }
  }
  return cycles;
}

/** Kahn's algorithm; ties broken by id for stable output. Nodes on cycles are left out. */
export function topoSort(g: Graph): string[] {
  const indeg = new Map<string, number>();
  for (const [id, ps] of g.parents) indeg.set(id, ps.length);
  const ready = [...indeg].filter(([, d]) => d === 0).map(([id]) => id).sort();
  const out: string[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    out.push(id);
    const newly: string[] = [];
    for (const c of g.children.get(id)!) {
      const d = indeg.get(c)! - 1;
      indeg.set(c, d);
      if (d === 0) newly.push(c);
    }
    if (newly.length) {
      ready.push(...newly);
      ready.sort();
    }
  }
  return out;
}

export function ancestors(g: Graph, id: string, acc = new Set<string>()): Set<string> {
  const stack = [...(g.parents.get(id) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    if (acc.has(p)) continue;
    acc.add(p);
    stack.push(...(g.parents.get(p) ?? []));
  }
  return acc;
}

export function descendants(g: Graph, id: string, acc = new Set<string>()): Set<string> {
  const stack = [...(g.children.get(id) ?? [])];
  while (stack.length) {
    const c = stack.pop()!;
    if (acc.has(c)) continue;
    acc.add(c);
    stack.push(...(g.children.get(c) ?? []));
  }
  return acc;
}

/**
 * The models and snapshots of a manifest, parents first (a compile result's `order` holds the
 * models alone): what column lineage traces, a snapshot's columns feeding the models that read it.
 */
export function modelsAndSnapshotsInOrder(nodes: Record<string, { resource_type: string; depends_on: string[] }>): string[] {
  const deps = new Map<string, string[]>();
  for (const [id, n] of Object.entries(nodes)) if (n.resource_type === 'model' || n.resource_type === 'snapshot') deps.set(id, n.depends_on);
  return topoSort(buildGraph(deps));
}
