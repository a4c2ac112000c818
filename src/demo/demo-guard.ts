/**
 * What `vigil demo` may replace: the tables it creates carry a comment (DEMO_MARK); a table of
 * the same name without it is someone's data, refused unless --force, with the views its
 * replacement would drop (Postgres' `drop ... cascade`) named.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Relation } from '../adapters/dialect.js';
import { UsageError } from '../errors.js';

/** The comment on every table `vigil demo` creates. */
export const DEMO_MARK = 'vigil demo data';

/** The tables `vigil demo` creates (generate-demo.ts), in creation order. */
export const DEMO_TABLES: readonly string[] = Object.freeze(['ai_audit_logs', 'workflows', 'audit_trails', 'usage_log', 'audit_events', 'market_snapshots', 'workspace_data_snapshots']);

const name = (r: Relation) => `${r.schema}.${r.identifier}`;

/** Views a replacement dropped, said: `replacing raw.workflows dropped ...`; '' when none. */
export function droppedViews(table: Relation, views: Relation[]): string {
  return views.length ? `replacing ${name(table)} dropped ${views.length === 1 ? 'the view' : `${views.length} views`} that ${views.length === 1 ? 'reads' : 'read'} it (Postgres' drop ... cascade): ${views.map(name).join(', ')}; create ${views.length === 1 ? 'it' : 'them'} again` : '';
}

/**
 * Check the demo tables already in `schema` of `target` (`where`: e.g. "app:raw"): a view of
 * such a name is refused; a table without DEMO_MARK is refused unless `force`. Returns the
 * warnings to print when `force` replaces such tables.
 */
export async function checkDemoTables(target: Adapter, schema: string, where: string, force: boolean): Promise<string[]> {
  const views: string[] = [];
  const foreign: Array<{ rel: Relation; dependents: Relation[] }> = [];
  for (const t of DEMO_TABLES) {
    const rel = { schema, identifier: t };
    const kind = await target.relationExists(rel);
    if (!kind) continue;
    if (kind === 'view') views.push(name(rel));
    else if (!target.tableComment || (await target.tableComment(rel)) !== DEMO_MARK) foreign.push({ rel, dependents: (await target.dependentViews?.(rel)) ?? [] });
  }
  if (views.length) throw new UsageError(`vigil demo creates tables, and ${where} has views of their names: ${views.join(', ')}; give another --schema (or demo.schema in project.yaml), or drop or rename ${views.length === 1 ? 'it' : 'them'}`);
  if (!foreign.length) return [];
  const listed = foreign.map((f) => `${name(f.rel)}${f.dependents.length ? ` (and the ${f.dependents.length === 1 ? 'view' : 'views'} replacing it would drop: ${f.dependents.map(name).join(', ')})` : ''}`);
  const why = target.tableComment ? `not created by vigil demo (no '${DEMO_MARK}' comment)` : `not known to be vigil demo's (${target.type} keeps no table comment Vigil reads)`;
  if (!force) {
    throw new UsageError(
      `vigil demo replaces its tables, and ${where} has ${foreign.length === 1 ? 'a table' : 'tables'} of their names ${why}: ${listed.join(', ')}; their rows would be lost. Give another --schema (or demo.schema in project.yaml), or --force to replace them`,
    );
  }
  return foreign.map((f) => `--force: replacing ${name(f.rel)}, ${why}`);
}
