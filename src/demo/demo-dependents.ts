/**
 * What a new `vigil demo` leaves stale: incremental models and snapshots built from the demo's
 * tables keep the rows they hold (an incremental run redoes only its lookback, a snapshot keeps
 * its history), so the next build would mix the earlier demo data with the new one. `vigil demo`
 * drops them, and says so: the next build rebuilds them from the new data, as --full-refresh would.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Relation } from '../adapters/dialect.js';
import { dropTable } from './load-demo.js';
import type { CompileResult } from '../compile/compile-project.js';
import { droppedViewsPhrase } from '../format.js';
import { queryReads } from '../compile/manifest.js';

type Manifest = CompileResult['manifest'];

export interface BuiltFromDemo {
  /** "incremental model" or "snapshot" */
  kind: string;
  name: string;
  relation: Relation;
}

/** The incremental models and snapshots of `manifest` that read (through anything) a source on `schema`.`tables`. */
export function builtFromDemo(manifest: Manifest, schema: string, tables: readonly string[]): BuiltFromDemo[] {
  const lower = (s: string | null | undefined) => (s ?? '').toLowerCase();
  const demo = new Set(Object.values(manifest.sources).filter((s) => s.relation && lower(s.relation.schema) === lower(schema) && tables.some((t) => lower(t) === lower(s.relation!.identifier))).map((s) => s.unique_id));
  if (!demo.size) return [];
  const reads = new Map<string, boolean>();
  const readsDemo = (id: string): boolean => {
    if (demo.has(id)) return true;
    if (reads.has(id)) return reads.get(id)!;
    reads.set(id, false); // (a cycle does not compile; this only ends the walk)
    // (what its SQL reads: its rows come from that; what only its hooks read puts none in it)
    const n = manifest.nodes[id];
    const r = (n?.resource_type === 'model' ? queryReads(n) : (n?.depends_on ?? [])).some(readsDemo);
    reads.set(id, r);
    return r;
  };
  const out: BuiltFromDemo[] = [];
  for (const n of Object.values(manifest.nodes)) {
    if (n.resource_type !== 'snapshot' && !(n.resource_type === 'model' && n.config.materialized === 'incremental')) continue;
    if (n.relation && readsDemo(n.unique_id)) out.push({ kind: n.resource_type === 'snapshot' ? 'snapshot' : 'incremental model', name: n.name, relation: n.relation });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Drop those of `built` that exist in `target`; one line each to `say`. */
export async function dropBuiltFromDemo(target: Adapter, built: BuiltFromDemo[], say: (m: string) => void): Promise<void> {
  const name = (r: Relation) => `${r.schema}.${r.identifier}`;
  for (const b of built) {
    if ((await target.relationExists(b.relation)) !== 'table') continue;
    const views = await dropTable(target, b.relation);
    say(`dropped ${b.kind} ${name(b.relation)}, built from the earlier demo data: the next vigil build builds it again${views.length ? `; ${droppedViewsPhrase(views.length)}: ${views.map(name).join(', ')}` : ''}`);
  }
}
