/**
 * What `vigil demo` may replace: the tables it creates carry a comment (DEMO_MARK); a table of
 * the same name without it is someone's data, refused unless --force, with the views its
 * replacement would drop (Postgres' `drop ... cascade`) named — unless it has no comment and
 * exactly the demo's columns (an earlier `vigil demo`'s, from before the mark). A copy `vigil sync`
 * keeps of another target's table has no comment and, for the application's own tables, the
 * demo's columns: it is the demo's only when the table it copies carries the mark.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Relation } from '../adapters/dialect.js';
import { UsageError } from '../errors.js';
import { droppedViewsPhrase } from '../format.js';

/** The comment on every table `vigil demo` creates. */
export const DEMO_MARK = 'vigil demo data';

/** The tables `vigil demo` creates (generate-demo.ts), in creation order. */
export const DEMO_TABLES: readonly string[] = Object.freeze(['ai_audit_logs', 'workflows', 'audit_trails', 'usage_log', 'audit_events', 'market_snapshots', 'workspace_data_snapshots']);

const name = (r: Relation) => `${r.schema}.${r.identifier}`;

/**
 * The columns of each demo table, in order, as generate-demo.ts creates them (a test holds the
 * two together): a table of a demo name with exactly these columns and no comment at all was
 * made by a `vigil demo` from before the mark, and is replaced as the demo's own.
 */
export const DEMO_COLUMNS: Readonly<Record<string, string>> = Object.freeze({
  ai_audit_logs: 'id,workflow_id,capability,provider,model,response_status,request_metadata,response_metadata,workspace_snapshot_id,created_at',
  workflows: 'id,owner,team,created_at,last_accessed_at',
  audit_trails: 'id,message_id,project_id,model,context_layers,tokens,cost,timestamp,created_at,updated_at',
  usage_log: 'id,customer_id,api_key_id,model,operation,risk_score,allowed,reason,meta,created_at',
  audit_events:
    'audit_id,event_type,timestamp,timestamp_ms,actor_type,actor_id,actor_name,actor_ip_address,actor_user_agent,actor_session_id,target_type,target_id,target_name,target_metadata,action_verb,action_description,action_status,action_error,context_tenant_id,context_project_id,context_request_id,context_parent_audit_id,data_before,data_after,data_changes,data_metadata,ai_agent_type,ai_model,ai_prompt_tokens,ai_completion_tokens,ai_confidence_score,ai_reasoning,ai_tools_used,ai_execution_time_ms,compliance_regulations_checked,compliance_traffic_light,compliance_issues_found,compliance_critical_issues,compliance_findings,security_encryption_used,security_data_classification,security_retention_period_days,security_pii_detected,performance_response_time_ms,performance_db_query_time_ms,performance_external_api_time_ms,performance_memory_used_mb,created_at',
  market_snapshots: 'id,market,source,as_of,captured_at,payload',
  workspace_data_snapshots: 'id,workflow_id,market_snapshot_id,row_count,metadata,created_at',
});

/**
 * A table of the demo's names that `vigil sync` fills from another target: `from` is where the
 * table it copies is (`app:raw`, the table of the same name there); `demo` says whether that
 * table carries DEMO_MARK, or why it could not be read.
 */
export interface SyncedCopy {
  from: string;
  demo: boolean | string;
}

/** Views a replacement dropped, said: `replacing raw.workflows dropped ...`; '' when none. */
export function droppedViews(table: Relation, views: Relation[]): string {
  return views.length ? `replacing ${name(table)} ${droppedViewsPhrase(views.length)}: ${views.map(name).join(', ')}; create ${views.length === 1 ? 'it' : 'them'} again` : '';
}

/**
 * Check the demo tables already in `schema` of `target` (`where`: e.g. "app:raw"): a view of
 * such a name is refused; a table without DEMO_MARK is refused unless `force`. Returns the
 * warnings to print when `force` replaces such tables.
 */
export async function checkDemoTables(target: Adapter, schema: string, where: string, force: boolean, copyOf?: (table: string) => Promise<SyncedCopy | undefined>): Promise<string[]> {
  const views: string[] = [];
  const foreign: Array<{ rel: Relation; dependents: Relation[]; copy?: string }> = [];
  for (const t of DEMO_TABLES) {
    const rel = { schema, identifier: t };
    const kind = await target.relationExists(rel);
    if (!kind) continue;
    if (kind === 'view') {
      views.push(name(rel));
      continue;
    }
    // (undefined: the warehouse keeps no comment Vigil reads)
    const comment = target.tableComment ? await target.tableComment(rel) : undefined;
    if (comment === DEMO_MARK) continue;
    // a copy vigil sync keeps: the demo's when what it copies is (vigil demo --target app, then
    // vigil sync); else the application's rows, which the demo replaced without a word (was so)
    const copy = await copyOf?.(t);
    if (copy?.demo === true) continue;
    if (copy) {
      const copyWhy = copy.demo === false ? `copies vigil sync keeps of the tables of these names in ${copy.from}, which vigil demo did not create` : `copies vigil sync keeps of the tables of these names in ${copy.from}, which could not be read to tell whether vigil demo created them: ${copy.demo}`;
      foreign.push({ rel, dependents: (await target.dependentViews?.(rel)) ?? [], copy: copyWhy });
      continue;
    }
    // an earlier vigil demo's table (no comment, exactly the demo's columns): the demo's own
    if (comment !== undefined && !comment && (await target.columns(rel)).map((c) => c.name).join(',') === DEMO_COLUMNS[t]) continue;
    foreign.push({ rel, dependents: (await target.dependentViews?.(rel)) ?? [] });
  }
  if (views.length) throw new UsageError(`vigil demo creates tables, and ${where} has views of their names: ${views.join(', ')}; give another --schema (or demo.schema in project.yaml), or drop or rename ${views.length === 1 ? 'it' : 'them'}`);
  if (!foreign.length) return [];
  const entry = (f: (typeof foreign)[number]) => `${name(f.rel)}${f.dependents.length ? ` (and the ${f.dependents.length === 1 ? 'view' : 'views'} replacing it would drop: ${f.dependents.map(name).join(', ')})` : ''}`;
  // the copies listed once per reason: `raw.a, raw.b (copies vigil sync keeps of ... in app:raw, ...)`
  const copies = [...new Set(foreign.map((f) => f.copy).filter((c): c is string => !!c))];
  const listed = [...foreign.filter((f) => !f.copy).map(entry), ...copies.map((c) => `${foreign.filter((f) => f.copy === c).map(entry).join(', ')} (${c})`)];
  const why = target.tableComment ? `not created by vigil demo (no '${DEMO_MARK}' comment)` : `not known to be vigil demo's (${target.type} keeps no table comment Vigil reads)`;
  if (!force) {
    throw new UsageError(
      `vigil demo replaces its tables, and ${where} has ${foreign.length === 1 ? 'a table' : 'tables'} of their names ${why}: ${listed.join(', ')}; their rows would be lost. Give another --schema (or demo.schema in project.yaml), or --force to replace them`,
    );
  }
  return foreign.map((f) => `--force: replacing ${name(f.rel)}, ${f.copy ? `one of the ${f.copy}` : why}`);
}
