/**
 * The masking policy: the one place that decides how a column may be shown (docs/governance.md).
 * Pure. Compile wraps a model's SELECT with `maskedSelect` to publish it; the dashboards' raw-row
 * action asks `withheldBecause`; the PII lineage check and the `no_unmasked_pii` test ask
 * `isPii` / `policyOf`; an incremental table records `maskingRecord`.
 *
 * A column's policy is its YAML `policy:` (mask, hash, redact, drop); a column marked PII
 * (`meta: { pii: ... }` or `meta: { content: ... }`, any value but false / no / none) or named
 * like prompt or response content (CONTENT_COLUMNS) without one is masked.
 *
 * Semantics, the same on every warehouse:
 * - mask: the text '****' (NULL stays NULL); the column becomes text.
 * - hash: the lowercase hex SHA-256 of the value as text (NULL stays NULL): equal values hash
 *   alike on DuckDB, Postgres and BigQuery for text and integers, so joins across warehouses work.
 * - redact: NULL (of the text type).
 * - drop: the column is not published.
 */
import type { Dialect } from '../adapters/dialect.js';
import { editDistance } from '../errors.js';
import type { ColumnInfo, Manifest, ModelNode } from './manifest.js';
import { queryReads } from './manifest.js';
import type { Policy } from '../project/schema.js';

export { POLICIES, type Policy } from '../project/schema.js';
export { CONTENT_COLUMNS, declassified, isPii, needsMasking, piiMark, policyOf, undeclaredContent } from './policy.js';
import { CONTENT_COLUMNS, declassified, isPii, marked, piiMark, policyOf } from './policy.js';

/** What `mask` shows instead of a value. */
export const MASK_TEXT = '****';

/**
 * A column meta key that looks meant as the PII mark but is not read as one (meta is free-form,
 * and keys are compared exactly): a case variant of `pii` or `content` (`PII`: almost surely the
 * mark), or a near miss of `pii` (`pi`, `ppi`, `contains_pii`) set to a marking value. Undefined
 * for any other key, and when the column has the mark itself.
 */
export function piiKeyNearMiss(key: string, meta: Record<string, unknown>): { meant: 'pii' | 'content'; caseOnly: boolean } | undefined {
  if ('pii' in meta || 'content' in meta) return undefined;
  const low = key.toLowerCase();
  if (low === 'pii' || low === 'content') return { meant: low, caseOnly: true };
  // (a near miss set to false marks nothing either way)
  if (marked(meta[key]) && (/(^|[_-])pii([_-]|$)/.test(low) || (low.length <= 4 && editDistance(low, 'pii') <= 1))) return { meant: 'pii', caseOnly: false };
  return undefined;
}

/** Why the column is masked, for messages: its policy and where it comes from. */
export function policyReason(c: Pick<ColumnInfo, 'name' | 'meta' | 'policy'>): string | undefined {
  if (c.policy) return `its YAML gives it policy: ${c.policy}`;
  const mark = piiMark(c);
  if (mark) return `its YAML marks it ${mark}`;
  if (CONTENT_COLUMNS.includes(c.name.toLowerCase()) && !declassified(c)) return 'it holds prompt or response content';
  return undefined;
}

/** The expression publishing `column` under `policy` (undefined for drop). */
export function maskExpr(policy: Policy, column: string, dialect: Dialect): string | undefined {
  const q = dialect.quoteIdent(column);
  switch (policy) {
    case 'mask':
      return `case when ${q} is null then null else ${dialect.literal(MASK_TEXT)} end`;
    case 'hash':
      return dialect.sha256Hex ? dialect.sha256Hex(q) : `sha256(cast(${q} as varchar))`;
    case 'redact':
      return `cast(null as ${dialect.type('string')})`;
    case 'drop':
      return undefined;
  }
}

/** How the published SELECT shows each column it masks (mask, hash, redact; `drop` publishes none): what an incremental table records it was built with. */
export function maskingRecord(columns: ColumnInfo[]): Record<string, Policy> {
  const out: Record<string, Policy> = {};
  for (const c of columns) {
    const p = policyOf(c);
    if (p && p !== 'drop') out[c.name] = p;
  }
  return out;
}

/**
 * The published SELECT of a model with policies: exactly its declared columns (an allow-list:
 * a column the SQL returns but the YAML does not declare is not published), each through its
 * policy, read from the model's own SELECT. The first line holds the list; the model's SQL starts
 * on the second.
 */
export function maskedSelect(columns: ColumnInfo[], inner: string, dialect: Dialect): string {
  const list = columns.flatMap((c) => {
    const p = policyOf(c);
    const q = dialect.quoteIdent(c.name);
    if (!p) return [q];
    const e = maskExpr(p, c.name, dialect);
    return e === undefined ? [] : [`${e} as ${q}`];
  });
  return `select ${list.length ? list.join(', ') : dialect.literal(null) + ' as ' + dialect.quoteIdent('__vigil_no_columns')} from (\n${inner}\n) as __vigil_unmasked`;
}

/**
 * The raw-row action (dashboards) never selects a column with a policy: its values are masked,
 * hashed, empty or absent in the relation, and a person debugging rows needs none of them. The
 * reason, or undefined when the column may be shown.
 */
export function withheldBecause(c: Pick<ColumnInfo, 'name' | 'meta' | 'policy'>): string | undefined {
  return policyOf(c) ? policyReason(c) : undefined;
}

/**
 * What the `no_unmasked_pii` test checks on a model's published relation: each masked column
 * holds only what its policy produces (mask: '****', hash: 64 hex characters, redact: NULL), and
 * the relation has no column named like a dropped column, a PII column of anything upstream
 * (transitively) or prompt/response content — unless this model masks or declassifies it.
 */
export function piiChecks(node: ModelNode, manifest: Manifest, dialect: Dialect): { masked: Array<{ column: string; policy: 'mask' | 'hash' | 'redact' }>; forbidden: string[]; catalog?: string } {
  const masked: Array<{ column: string; policy: 'mask' | 'hash' | 'redact' }> = [];
  const allowed = new Set<string>();
  const forbidden = new Set(CONTENT_COLUMNS);
  for (const c of node.columns) {
    const p = policyOf(c);
    if (p === 'drop') forbidden.add(c.name.toLowerCase());
    else if (p) {
      masked.push({ column: c.name, policy: p });
      allowed.add(c.name.toLowerCase());
    } else if (declassified(c)) allowed.add(c.name.toLowerCase());
  }
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    const n = manifest.nodes[id] ?? manifest.sources[id];
    if (!n || !('columns' in n)) return;
    for (const c of n.columns ?? []) if (isPii(c)) forbidden.add(c.name.toLowerCase());
    for (const d of queryReads(n)) visit(d);
  };
  queryReads(node).forEach(visit);
  return { masked, forbidden: [...forbidden].filter((f) => !allowed.has(f)).sort(), catalog: node.relation ? dialect.catalogColumns?.(node.relation) : undefined };
}
