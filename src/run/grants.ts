/**
 * Grants (docs/governance.md#grants): after a model is built, the principals its config names
 * may read it, and — unless `grants_mode: add` — no one else: grants not in the config are
 * revoked, as dbt does ("the grants on its view or table match exactly the grants you have
 * configured"). A model without `grants:` is left as it is. The owner's own privileges are never
 * touched. A warehouse with transactions applies them in the build's transaction
 * (`MaterializeResult.grants`); for the others the executor applies them here, after the build.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Relation } from '../adapters/dialect.js';
import { grantStatements, planGrants, type GrantPlan } from '../adapters/grants.js';

export { grantStatements, planGrants, type GrantPlan } from '../adapters/grants.js';

/** Make the grants on `rel` what the config says; returns what changed, for the progress line. */
export async function applyGrants(adapter: Adapter, rel: Relation, kind: 'table' | 'view', wanted: string[], mode: 'replace' | 'add' = 'replace'): Promise<GrantPlan> {
  if (!adapter.currentGrantees) throw new Error(`${adapter.type} cannot read the grants of a relation`);
  const d = adapter.dialect;
  const plan = planGrants(await adapter.currentGrantees(rel), wanted, mode, d.principalKey ? (p) => d.principalKey!(p) : undefined);
  for (const sql of grantStatements(adapter.dialect, rel, kind, plan)) await adapter.execute(sql);
  return plan;
}

/** `granted select to a, b; revoked c; carried over select to a, d from the replaced relation` — empty when nothing changed. */
export function describeGrants(plan: GrantPlan): string {
  const carried = new Map<string, string[]>();
  for (const p of plan.carried ?? []) carried.set(p.privilege.toLowerCase(), [...(carried.get(p.privilege.toLowerCase()) ?? []), p.grantee]);
  const kept = [...carried].map(([privilege, grantees]) => `${privilege} to ${[...new Set(grantees)].join(', ')}`).join(' and ');
  // (Postgres) a revoked principal's grants made with its grant option went with it; one that held a grant made by another grantee says by whom
  // a column grant says which columns
  const revoked = plan.revoke.map((p) => `${p}${plan.columns?.[p] ? ` (select on column${plan.columns[p].length === 1 ? '' : 's'} ${plan.columns[p].join(', ')})` : ''}${plan.cascade?.includes(p) ? ' with cascade (the grants it made went with it)' : ''}${plan.grantedBy?.[p] ? ` (granted by ${plan.grantedBy[p].join(', ')})` : ''}`);
  const options = plan.grantOption?.length ? `revoked the grant option of ${plan.grantOption.join(', ')} with cascade (the grants made with it went with it)` : '';
  return [plan.grant.length ? `granted select to ${plan.grant.join(', ')}` : '', revoked.length ? `revoked ${revoked.join(', ')}` : '', options, kept ? `carried over ${kept} from the replaced relation` : ''].filter(Boolean).join('; ');
}
