/**
 * Grants (docs/governance.md#grants): after a model is built, the principals its config names
 * may read it, and — unless `grants_mode: add` — no one else Vigil did not leave alone: grants
 * not in the config are revoked, as dbt does ("the grants on its view or table match exactly the
 * grants you have configured"). A model without `grants:` is left as it is. The owner's own
 * privileges are never touched. The statements are the dialect's (grantSelect / revokeSelect);
 * the current grantees are the adapter's (`currentGrantees`).
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Relation } from '../adapters/dialect.js';

export interface GrantPlan {
  grant: string[];
  revoke: string[];
}

/** What to grant and revoke so that `current` becomes `wanted` (mode replace) or includes it (mode add). Pure. */
export function planGrants(current: string[], wanted: string[], mode: 'replace' | 'add' = 'replace'): GrantPlan {
  const have = new Set(current);
  const want = new Set(wanted);
  return {
    grant: [...want].filter((p) => !have.has(p)).sort(),
    revoke: mode === 'add' ? [] : [...have].filter((p) => !want.has(p)).sort(),
  };
}

/** The statements of a plan for `rel`, in the order they run (revokes first). Pure. */
export function grantStatements(adapter: Pick<Adapter, 'dialect'>, rel: Relation, kind: 'table' | 'view', plan: GrantPlan): string[] {
  const d = adapter.dialect;
  if (!d.grantSelect || !d.revokeSelect) return [];
  return [...(plan.revoke.length ? [d.revokeSelect(rel, kind, plan.revoke)] : []), ...(plan.grant.length ? [d.grantSelect(rel, kind, plan.grant)] : [])];
}

/** Make the grants on `rel` what the config says; returns what changed, for the progress line. */
export async function applyGrants(adapter: Adapter, rel: Relation, kind: 'table' | 'view', wanted: string[], mode: 'replace' | 'add' = 'replace'): Promise<GrantPlan> {
  if (!adapter.currentGrantees) throw new Error(`${adapter.type} cannot read the grants of a relation`);
  const plan = planGrants(await adapter.currentGrantees(rel), wanted, mode);
  for (const sql of grantStatements(adapter, rel, kind, plan)) await adapter.execute(sql);
  return plan;
}

/** `granted select to a, b; revoked c` — empty when nothing changed. */
export function describeGrants(plan: GrantPlan): string {
  return [plan.grant.length ? `granted select to ${plan.grant.join(', ')}` : '', plan.revoke.length ? `revoked ${plan.revoke.join(', ')}` : ''].filter(Boolean).join('; ');
}
