/**
 * Grants (docs/governance.md#grants): after a model is built, the principals its config names
 * may read it, and — unless `grants_mode: add` — no one else: grants not in the config are
 * revoked, as dbt does ("the grants on its view or table match exactly the grants you have
 * configured"). A model without `grants:` is left as it is. The owner's own privileges are never
 * touched. The adapter's materialize() applies them (`MaterializeResult.grants`): Postgres in the
 * build's transaction, BigQuery after the build's post-hooks and before those with transaction:
 * false, as dbt orders them; a build that returns none has them applied by the executor, after it.
 */
import type { GrantPlan } from '../adapters/grants.js';

export { applyGrants, grantStatements, planGrants, type GrantPlan } from '../adapters/grants.js';

/** `granted select to a, b; revoked c; carried over select to a, d from the replaced relation` — empty when nothing changed. */
export function describeGrants(plan: GrantPlan): string {
  const carried = new Map<string, string[]>();
  // (a column privilege: `select (id, email) to bi`, its columns with it)
  const columns = new Map<string, string[]>();
  for (const p of plan.carried ?? []) {
    if (p.column !== undefined) columns.set(`${p.privilege.toLowerCase()}\0${p.grantee}`, [...new Set([...(columns.get(`${p.privilege.toLowerCase()}\0${p.grantee}`) ?? []), p.column])]);
    else carried.set(p.privilege.toLowerCase(), [...(carried.get(p.privilege.toLowerCase()) ?? []), p.grantee]);
  }
  for (const [k, cols] of columns) {
    const [privilege, grantee] = k.split('\0');
    const said = `${privilege} (${cols.join(', ')})`;
    carried.set(said, [...(carried.get(said) ?? []), grantee]);
  }
  const kept = [...carried].map(([privilege, grantees]) => `${privilege} to ${[...new Set(grantees)].join(', ')}`).join(' and ');
  // (Postgres) a revoked principal's grants made with its grant option went with it; one that held a grant made by another grantee says by whom
  // a column grant says which columns
  const revoked = plan.revoke.map((p) => `${p}${plan.columns?.[p] ? ` (select on column${plan.columns[p].length === 1 ? '' : 's'} ${plan.columns[p].join(', ')})` : ''}${plan.cascade?.includes(p) ? ' with cascade (the grants it made went with it)' : ''}${plan.grantedBy?.[p] ? ` (granted by ${plan.grantedBy[p].join(', ')})` : ''}`);
  const options = plan.grantOption?.length ? `revoked the grant option of ${plan.grantOption.join(', ')} with cascade (the grants made with it went with it)` : '';
  return [plan.grant.length ? `granted select to ${plan.grant.join(', ')}` : '', revoked.length ? `revoked ${revoked.join(', ')}` : '', options, kept ? `carried over ${kept} from the replaced relation` : ''].filter(Boolean).join('; ');
}
