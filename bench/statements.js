// What vigil runs for a manifest, spelled out plainly for the benchmark baselines.

/** Models to build in dependency order, as the executor would run them one at a time (ephemerals are inlined, not built). */
export function dependencyOrder(all) {
  const models = all.filter((m) => m.resource_type === 'model');
  const byId = new Map(models.map((m) => [m.unique_id, m]));
  const order = [];
  const seen = new Set();
  const visit = (m) => {
    if (seen.has(m.unique_id)) return;
    seen.add(m.unique_id);
    for (const d of m.depends_on) if (byId.has(d)) visit(byId.get(d));
    if (m.config.materialized !== 'ephemeral') order.push(m);
  };
  models.forEach(visit);
  return order;
}

/** The full-build DDL of a model. */
export function ddlFor(node) {
  const rel = `"${node.relation.schema}"."${node.relation.identifier}"`;
  return node.config.materialized === 'view' ? `create or replace view ${rel} as\n${node.compiled_sql}` : `create or replace table ${rel} as\n${node.compiled_sql}`;
}
