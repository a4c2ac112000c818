/**
 * Which columns a published relation masks, and why: the pure part of the masking policy
 * (masking.ts, which re-exports these), apart so that `vigil ls`'s state comparisons
 * (compile/selector.ts) read it without loading the project's YAML schema (zod).
 */
import type { ColumnInfo } from './manifest.js';
import type { Policy } from '../project/schema.js';

/**
 * Column names that hold prompt or response text: the shipped privacy rule (seed 001: prompt and
 * response content is masked by default) and the response side of it.
 */
export const CONTENT_COLUMNS = ['request_metadata', 'prompt', 'prompt_text', 'messages', 'content', 'completion_text', 'completion', 'response_text'];

/**
 * A meta value that marks PII: any but false / no / none (and absent). A YAML null (`pii: ~`, an
 * empty `pii:`) marks it: the key was written, and a column someone began to mark is not taken
 * for reviewed (only an explicit false declassifies).
 */
export const marked = (v: unknown) => v !== undefined && v !== false && (v === null || !/^(no|none|false)$/i.test(String(v)));

/** The YAML mark that makes a column PII (`meta: { pii: ... }` or `{ content: ... }`), as written; undefined when none. */
export function piiMark(c: Pick<ColumnInfo, 'meta'>): string | undefined {
  for (const key of ['pii', 'content'] as const) if (marked(c.meta?.[key])) return `meta: { ${key}: ${c.meta![key] === null ? '~' : String(c.meta![key])} }`;
  return undefined;
}

/** The column was reviewed and holds no personal data (`meta: { pii: false }`): what it is derived from does not make it PII. */
export function declassified(c: Pick<ColumnInfo, 'meta'> | undefined): boolean {
  const v = c?.meta?.pii;
  return v !== undefined && v !== null && !marked(v);
}

/** PII: marked in YAML, given a policy, or named like prompt or response content. */
export function isPii(c: Pick<ColumnInfo, 'name' | 'meta' | 'policy'>): boolean {
  return !!c.policy || !!piiMark(c) || (CONTENT_COLUMNS.includes(c.name.toLowerCase()) && !declassified(c));
}

/**
 * A column `name` of a relation its YAML does not declare (`declared`: the columns it does), PII by
 * its name alone (prompt or response content): a seed's CSV header, a source's undeclared column.
 */
export function undeclaredContent(name: string, declared: ReadonlyArray<Pick<ColumnInfo, 'name'>>): boolean {
  const n = name.toLowerCase();
  return isPii({ name }) && !declared.some((c) => c.name.toLowerCase() === n);
}

/** The policy the published relation applies to this column; undefined: shown as it is. */
export function policyOf(c: Pick<ColumnInfo, 'name' | 'meta' | 'policy'>): Policy | undefined {
  return c.policy ?? (isPii(c) ? 'mask' : undefined);
}

/** Does the model publish through a mask: one of its declared columns has a policy. */
export function needsMasking(columns: ColumnInfo[]): boolean {
  return columns.some((c) => policyOf(c) !== undefined);
}
