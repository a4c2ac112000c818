/**
 * Grants, pure (docs/governance.md#grants): what to grant and revoke so that a relation's readers
 * are what the config says, and the dialect's statements for it. Adapters that apply grants in
 * the build's own transaction (Postgres) and the executor (the others) share them.
 */
import type { Adapter } from './adapter.js';
import type { Dialect, Relation } from './dialect.js';

/** A model's `grants:` as a build applies it. */
export interface GrantRequest {
  select: string[];
  /** replace (default): revoke the grants not listed; add: only grant */
  mode?: 'replace' | 'add';
}

export interface GrantPlan {
  grant: string[];
  revoke: string[];
  /** grants_mode add: the privileges of the relation the build replaced, granted again on the new one */
  carried?: Privilege[];
  /** Postgres: revoked principals that held a grant made by another grantee (with its grant option): those grantors */
  grantedBy?: Record<string, string[]>;
  /** Postgres: revoked principals whose own grants (made with their grant option) went with them (`cascade`) */
  cascade?: string[];
  /** Postgres: principals the config keeps whose grant option was revoked (`cascade`), to remove a grant made through it */
  grantOption?: string[];
  /** Postgres: revoked principals that held SELECT on some columns (`grant select (email) ...`): those columns */
  columns?: Record<string, string[]>;
}

/** A privilege a role other than the owner holds on a relation (grantee `public`: every role). */
export interface Privilege {
  grantee: string;
  /** as the warehouse names it: SELECT, INSERT, ... */
  privilege: string;
  grantable: boolean;
  /** (Postgres) a column privilege, `grant select (id) ...` (pg_attribute.attacl): on this column only */
  column?: string;
}


/**
 * What to grant and revoke so that `current` becomes `wanted` (mode replace) or includes it (mode
 * add). `key`: a principal as the warehouse tells them apart (Dialect.principalKey): one that
 * differs only so is held already, neither granted nor revoked.
 */
export function planGrants(current: string[], wanted: string[], mode: 'replace' | 'add' = 'replace', key: (p: string) => string = (p) => p): GrantPlan {
  const have = new Set(current.map(key));
  const want = new Set(wanted.map(key));
  return {
    grant: [...new Set(wanted)].filter((p) => !have.has(key(p))).sort(),
    revoke: mode === 'add' ? [] : [...new Set(current)].filter((p) => !want.has(key(p))).sort(),
  };
}

/** The statements of a plan for `rel`, in the order they run (revokes first). */
export function grantStatements(dialect: Dialect, rel: Relation, kind: 'table' | 'view', plan: GrantPlan): string[] {
  if (!dialect.grantSelect || !dialect.revokeSelect) return [];
  return [...(plan.revoke.length ? [dialect.revokeSelect(rel, kind, plan.revoke)] : []), ...(plan.grant.length ? [dialect.grantSelect(rel, kind, plan.grant)] : [])];
}

/**
 * Make the grants on `rel` what the config says, by the adapter's statements (a warehouse without
 * transactions: BigQuery); returns what changed, for the progress line.
 */
export async function applyGrants(adapter: Adapter, rel: Relation, kind: 'table' | 'view', wanted: string[], mode: 'replace' | 'add' = 'replace'): Promise<GrantPlan> {
  if (!adapter.currentGrantees) throw new Error(`${adapter.type} cannot read the grants of a relation`);
  const d = adapter.dialect;
  const plan = planGrants(await adapter.currentGrantees(rel), wanted, mode, d.principalKey ? (p) => d.principalKey!(p) : undefined);
  for (const sql of grantStatements(adapter.dialect, rel, kind, plan)) await adapter.execute(sql);
  return plan;
}
