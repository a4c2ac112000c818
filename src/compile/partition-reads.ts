/**
 * What Vigil's own reads of a model must filter (Dialect.readFilter's config): BigQuery refuses a
 * query over a `require_partition_filter` table without a filter on its partition column, and
 * over a view that reads such a table unfiltered too (it inlines the view: the filter is due on
 * the column the view selects it as). Compile cannot see what a view selects; its YAML columns
 * say it: a view reading such a model (through views and ephemeral models) and declaring a column
 * of the partition column's name is filtered on it. `vigil check` analyzes what the view really
 * selects and reports a read that lacks the filter (docs/bigquery.md).
 */
import { partitionField } from '../adapters/adapter.js';
import type { ModelNode } from './manifest.js';
import { queryReads } from './manifest.js';

type Nodes = Record<string, { resource_type: string; depends_on?: string[]; hook_depends_on?: string[]; config?: Record<string, unknown> }>;

/** The config to give Dialect.readFilter for a read of `node` (its own, unless it is such a view). */
export function partitionReadConfig(nodes: Nodes, node: Pick<ModelNode, 'config' | 'columns' | 'depends_on' | 'hook_depends_on'>): Record<string, unknown> | undefined {
  const config = node.config as Record<string, unknown> | undefined;
  if (config?.materialized !== 'view') return config;
  const fields: string[] = [];
  const seen = new Set<string>();
  const walk = (deps: string[] | undefined) => {
    for (const id of deps ?? []) {
      const n = nodes[id];
      if (seen.has(id) || n?.resource_type !== 'model') continue;
      seen.add(id);
      const c = n.config ?? {};
      if (c.materialized === 'view' || c.materialized === 'ephemeral') walk(queryReads(n));
      else if (c.require_partition_filter === true) {
        const field = partitionField(c.partition_by);
        if (field) fields.push(field);
      }
    }
  };
  walk(queryReads(node));
  const declared = new Set(node.columns.map((c) => c.name.toLowerCase()));
  const field = fields.find((f) => declared.has(f.toLowerCase()));
  return field ? { ...config, partition_by: field, require_partition_filter: true } : config;
}
