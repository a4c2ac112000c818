/**
 * `--defer` (with `--state`): the models, seeds and snapshots a run does not build are read
 * where the state's run built them (e.g. production), as dbt does:
 *
 * - a relation is deferred only when this run does not build it, the state manifest has a
 *   node of the same unique id that has a relation (not ephemeral), and the relation does not
 *   exist in the current target; `--favor-state` defers it even when it exists;
 * - ephemeral models are inlined, so what they read is deferred with the same rule;
 * - the SQL of the nodes this run executes (models, incremental bodies, hooks, snapshots,
 *   tests) is rewritten: each deferred relation, as the dialect renders it, becomes the
 *   state's relation.
 *
 * The state's target must be reachable from this one: the same warehouse type; on DuckDB
 * another database file is attached read-only; on Postgres, another database (or server)
 * cannot be read from this connection and is an error.
 */
import type { Dialect, Relation } from '../adapters/dialect.js';
import type { Manifest, ModelNode } from '../compile/manifest.js';

export interface Deferral {
  unique_id: string;
  name: string;
  /** the relation in this target, as rendered */
  from: string;
  /** the state's relation, as rendered */
  to: string;
}

export interface DeferOptions {
  dialect: Dialect;
  /** defer even when the relation exists in the current target */
  favorState: boolean;
  /** does this relation exist in the current target? */
  exists(rel: Relation): Promise<boolean>;
  /** the state's relations live in this database (DuckDB: the attached state file) */
  stateDatabase?: string;
}

/** A relation the executed nodes read that this run does not build, this target has not, and the state cannot stand in for. */
export interface Unreadable {
  unique_id: string;
  name: string;
  /** the relation in this target, as rendered */
  relation: string;
  /** why the state has none to read instead */
  why: 'not in the state' | 'ephemeral in the state' | "the state's relation is this one";
  /** the names of the executed nodes that read it (through ephemeral models too) */
  readBy: string[];
}

/**
 * Which unbuilt relations the executed nodes read, and the manifest with their SQL pointing at the
 * state's; `unreadable`: those neither built, nor in this target, nor in the state (what reads them fails).
 */
export async function deferManifest(manifest: Manifest, executed: Set<string>, state: Manifest, opts: DeferOptions): Promise<{ manifest: Manifest; deferred: Deferral[]; unreadable: Unreadable[] }> {
  // what the executed nodes read, through ephemeral models (inlined as CTEs)
  const reads = (from: Iterable<string>): Set<string> => {
    const read = new Set<string>();
    const stack = [...from];
    while (stack.length) {
      const n = manifest.nodes[stack.pop()!];
      if (!n || n.resource_type === 'unit_test') continue;
      for (const p of n.depends_on) {
        if (read.has(p)) continue;
        read.add(p);
        const parent = manifest.nodes[p];
        if (parent?.resource_type === 'model' && parent.config.materialized === 'ephemeral') stack.push(p);
      }
    }
    return read;
  };
  const read = reads(executed);

  const deferred: Deferral[] = [];
  const unreadable: Omit<Unreadable, 'readBy'>[] = [];
  const rewrite = new Map<string, string>();
  for (const id of [...read].sort()) {
    if (executed.has(id)) continue;
    const n = manifest.nodes[id];
    const s = state.nodes[id];
    if (!n || (n.resource_type !== 'model' && n.resource_type !== 'seed' && n.resource_type !== 'snapshot') || !n.relation) continue;
    const rel = n.relation;
    let here: boolean | undefined;
    const exists = async () => (here ??= await opts.exists(rel));
    const from = opts.dialect.relation(rel);
    const stateRelation = s && 'relation' in s && s.relation && !(s.resource_type === 'model' && (s as ModelNode).config.materialized === 'ephemeral') ? s.relation : undefined;
    if (!stateRelation) {
      if (!(await exists())) unreadable.push({ unique_id: id, name: n.name, relation: from, why: s ? 'ephemeral in the state' : 'not in the state' });
      continue;
    }
    if (!opts.favorState && (await exists())) continue;
    const to = opts.dialect.relation(opts.stateDatabase ? { ...stateRelation, database: opts.stateDatabase } : stateRelation);
    if (from === to) {
      if (!(await exists())) unreadable.push({ unique_id: id, name: n.name, relation: from, why: "the state's relation is this one" });
      continue;
    }
    rewrite.set(from, to);
    deferred.push({ unique_id: id, name: n.name, from, to });
  }
  // (which executed nodes read each: asked only when there are some)
  const readers = unreadable.length ? [...executed].map((e) => ({ e, read: reads([e]) })) : [];
  const said = unreadable.map((u) => ({ ...u, readBy: readers.filter((r) => r.read.has(u.unique_id)).map((r) => manifest.nodes[r.e]?.name ?? r.e).sort() }));
  if (!rewrite.size) return { manifest, deferred, unreadable: said };

  const swap = (sql: string | undefined): string | undefined => {
    if (sql === undefined) return sql;
    let s = sql;
    for (const [from, to] of rewrite) if (s.includes(from)) s = s.split(from).join(to);
    return s;
  };
  const nodes: Manifest['nodes'] = { ...manifest.nodes };
  for (const id of executed) {
    const n = nodes[id];
    if (!n) continue;
    if (n.resource_type === 'model') {
      nodes[id] = {
        ...n,
        compiled_sql: swap(n.compiled_sql)!,
        compiled_sql_incremental: swap(n.compiled_sql_incremental),
        pre_hooks: n.pre_hooks?.map((h) => ({ ...h, sql: swap(h.sql)!, ...(h.sql_incremental === undefined ? {} : { sql_incremental: swap(h.sql_incremental) }) })),
        post_hooks: n.post_hooks?.map((h) => ({ ...h, sql: swap(h.sql)!, ...(h.sql_incremental === undefined ? {} : { sql_incremental: swap(h.sql_incremental) }) })),
      };
    } else if (n.resource_type === 'snapshot' || n.resource_type === 'test') {
      nodes[id] = { ...n, compiled_sql: swap(n.compiled_sql)! };
    }
  }
  return { manifest: { ...manifest, nodes }, deferred, unreadable: said };
}
