/**
 * Grants on Postgres (docs/governance.md#grants), in the build's transaction: the relation's
 * SELECT readers made what the config says, whoever granted them. Postgres runs a REVOKE only
 * for the grants its role (as the owner: the owner, a superuser or a member of the owner role)
 * made: a grant a grantee made with its grant option stays, with a warning, and `revoke ... from
 * <its grantor>` fails while it exists (2BP01). So the ACL is read with its grantors
 * (aclexplode): a principal the config removes is revoked `cascade` (the grants it made go with
 * it), and one that holds a grant made by another grantee is reached through the owner's grant
 * that chain starts from — a grantee the config keeps loses its grant option there (`revoke grant
 * option for select ... cascade`). Column grants (`grant select (email) on ...`, in
 * pg_attribute.attacl) are readers too: a principal the config removes is revoked the same way
 * (a table's REVOKE revokes the privilege on its columns as well, with their grant options). The
 * ACL is read again after: a reader the config does not name that is still there, or a named one
 * without SELECT on the table, fails the model (nothing committed).
 */
import type { PoolClient } from 'pg';
import { WarehouseError } from '../../errors.js';
import type { GrantPlan, GrantRequest } from '../grants.js';
import { quoteIdentStandard, relationStandard, type Relation } from '../dialect.js';

/** A SELECT of a relation's ACL held by a role other than its owner (PUBLIC is no role Vigil manages). */
export interface SelectGrant {
  grantee: string;
  grantor: string;
  grantable: boolean;
  /** a column grant (`grant select (email) ...`): that column; undefined for the table's */
  column?: string;
}

/**
 * The relation's owner, the role running vigil, and the SELECT grants ($1 schema, $2 name) but the
 * owner's own: the table's (column NULL), then its columns' (pg_attribute.attacl).
 */
const SELECT_ACL_SQL = `select o.rolname as owner, current_user as self, r.rolname as grantee, g.rolname as grantor, a.is_grantable as grantable, null::name as col, 0 as attnum
  from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_roles o on o.oid = c.relowner
  left join lateral aclexplode(c.relacl) a on a.privilege_type = 'SELECT' and a.grantee <> c.relowner
  left join pg_roles r on r.oid = a.grantee left join pg_roles g on g.oid = a.grantor
  where n.nspname = $1 and c.relname = $2
  union all
  select o.rolname, current_user, r.rolname, g.rolname, a.is_grantable, t.attname, t.attnum
  from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_roles o on o.oid = c.relowner
  join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped and t.attacl is not null
  cross join lateral aclexplode(t.attacl) a join pg_roles r on r.oid = a.grantee join pg_roles g on g.oid = a.grantor
  where n.nspname = $1 and c.relname = $2 and a.privilege_type = 'SELECT' and a.grantee <> c.relowner
  order by 7, 3, 4`;

/**
 * The owner of `rel`, the role running vigil (`self`: never revoked — a role that writes an
 * incremental table it does not own reads it too — but a reader like any other when the config
 * names it) and the SELECT grants on it, read on the build's client.
 */
export async function selectGrants(c: PoolClient, rel: Relation): Promise<{ owner: string; self: string; grants: SelectGrant[] }> {
  const rows = (await c.query(SELECT_ACL_SQL, [rel.schema, rel.identifier])).rows as Array<{ owner: string; self: string; grantee: string | null; grantor: string | null; grantable: boolean | null; col: string | null }>;
  return {
    owner: rows[0]?.owner ?? '',
    self: rows[0]?.self ?? '',
    grants: rows.filter((r) => r.grantee !== null && r.grantor !== null).map((r) => ({ grantee: r.grantee!, grantor: r.grantor!, grantable: !!r.grantable, ...(r.col !== null ? { column: r.col } : {}) })),
  };
}

/** The columns of `grants` (column grants) by grantee, in the order read (the table's). */
export function columnsBy(grants: SelectGrant[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const g of grants) if (g.column !== undefined && !out.get(g.grantee)?.includes(g.column)) out.set(g.grantee, [...(out.get(g.grantee) ?? []), g.column]);
  return out;
}

/** What removing the readers the config does not name takes (pure): the statements, and what the progress line says. */
export interface RevokePlan {
  /** the principals revoked, sorted */
  revoke: string[];
  /** revoked principals that held a grant made by another grantee: those grantors */
  grantedBy: Record<string, string[]>;
  /** revoked principals whose own grants (made with their grant option) went with them */
  cascade: string[];
  /** principals the config keeps whose grant option was revoked (cascade), to reach a grant made through it */
  grantOption: string[];
  /** revoked principals that held SELECT on some columns (`grant select (email) ...`): those columns */
  columns: Record<string, string[]>;
  statements: string[];
}

/**
 * The statements that leave `wanted` (and the owner) the only SELECT readers of `rel`, given its
 * `grants` (the table's and its columns') and `owner`: each removed principal's owner-made grant
 * revoked with cascade (a table's REVOKE takes the privilege on its columns too), and for a grant
 * some grantee made, the owner-made grant option its chain starts from.
 */
export function planRevokes(rel: Relation, owner: string, grants: SelectGrant[], wanted: string[]): RevokePlan {
  const want = new Set(wanted);
  const table = relationStandard(rel);
  const removed = [...new Set(grants.map((g) => g.grantee))].filter((p) => !want.has(p)).sort();
  const grantedBy: Record<string, string[]> = {};
  const roots = new Set<string>();
  /** the grantees holding the owner's grant option that a grant by `role` derives from */
  const climb = (role: string, seen: Set<string>) => {
    if (seen.has(role)) return;
    seen.add(role);
    for (const g of grants.filter((x) => x.grantee === role && x.grantable)) {
      if (g.grantor === owner) roots.add(role);
      else climb(g.grantor, seen);
    }
  };
  const statements: string[] = [];
  for (const p of removed) {
    const held = grants.filter((g) => g.grantee === p);
    if (held.some((g) => g.grantor === owner)) statements.push(`revoke select on table ${table} from ${quoteIdentStandard(p)} cascade`);
    const others = [...new Set(held.filter((g) => g.grantor !== owner).map((g) => g.grantor))].sort();
    if (others.length) grantedBy[p] = others;
    for (const o of others) climb(o, new Set());
  }
  // a root the config removes is revoked above (cascade); one it keeps keeps SELECT, not the grant option
  const grantOption = [...roots].filter((r) => want.has(r)).sort();
  for (const r of grantOption) statements.push(`revoke grant option for select on table ${table} from ${quoteIdentStandard(r)} cascade`);
  const cascade = removed.filter((p) => grants.some((g) => g.grantor === p));
  const columns = Object.fromEntries([...columnsBy(grants)].filter(([p]) => !want.has(p)));
  return { revoke: removed, grantedBy, cascade, grantOption, columns, statements };
}

/**
 * Make the SELECT readers of `rel` what `req` says (replace: exactly; add: at least), in the
 * caller's transaction on `c`, and check the ACL after: a reader left that the config does not
 * name (a grant this role cannot revoke), or a named one without SELECT, is an error.
 * `run` sends a statement (its errors as WarehouseErrors).
 */
export async function reconcileGrants(c: PoolClient, run: (sql: string) => Promise<unknown>, rel: Relation, req: GrantRequest): Promise<GrantPlan> {
  const mode = req.mode ?? 'replace';
  const before = await selectGrants(c, rel);
  // (the role running vigil is never revoked: kept as if the config named it)
  const revokes: RevokePlan = mode === 'add' ? { revoke: [], grantedBy: {}, cascade: [], grantOption: [], columns: {}, statements: [] } : planRevokes(rel, before.owner, before.grants, [...req.select, before.self]);
  for (const sql of revokes.statements) await run(sql);
  // what the cascades left: a named principal whose only grant went with one is granted again (a
  // column grant is not the table: one who holds only that is granted the table's)
  const table = (grants: SelectGrant[]) => grants.filter((g) => g.column === undefined);
  const held = new Set(table((revokes.statements.length ? await selectGrants(c, rel) : before).grants).map((g) => g.grantee));
  const grant = [...new Set(req.select)].filter((p) => !held.has(p) && p !== before.owner).sort();
  if (grant.length) await run(`grant select on table ${relationStandard(rel)} to ${grant.map(quoteIdentStandard).join(', ')}`);
  const after = await selectGrants(c, rel);
  const readers = new Set(table(after.grants).map((g) => g.grantee));
  const missing = req.select.filter((p) => !readers.has(p) && p !== after.owner);
  const left = mode === 'add' ? [] : after.grants.filter((g) => !req.select.includes(g.grantee) && g.grantee !== after.self);
  const name = `${rel.schema}.${rel.identifier}`;
  if (left.length) {
    const who = left.map((g) => `${g.grantee} (${g.column !== undefined ? `column ${g.column}, ` : ''}granted by ${g.grantor})`).join(', ');
    throw new WarehouseError(
      `the grants on ${name} could not be made what its config says: ${who} can still read it, and this role could not revoke ${left.length === 1 ? 'that grant' : 'those grants'} (Postgres runs a REVOKE only for grants made by the relation's owner, or by the role revoking); nothing was changed\n(run vigil as the owner of ${name}, a member of its role or a superuser, or have the grantor revoke it: revoke select on ${relationStandard(rel)} from ${quoteIdentStandard(left[0].grantee)})`,
      '',
    );
  }
  if (missing.length) throw new WarehouseError(`the grants on ${name} could not be made what its config says: ${missing.join(', ')} cannot read it after the grant (the role running vigil may not grant on it: it is not its owner, nor holds the grant option); nothing was changed`, '');
  return { grant, revoke: revokes.revoke, ...(Object.keys(revokes.columns).length ? { columns: revokes.columns } : {}), ...(Object.keys(revokes.grantedBy).length ? { grantedBy: revokes.grantedBy } : {}), ...(revokes.cascade.length ? { cascade: revokes.cascade } : {}), ...(revokes.grantOption.length ? { grantOption: revokes.grantOption } : {}) };
}
