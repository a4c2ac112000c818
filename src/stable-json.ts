/**
 * JSON with object keys sorted at every level (arrays keep their order): the same value written
 * in another key order is the same text. One helper for hashes, state comparison and exports.
 */
import { createHash } from 'node:crypto';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort(cmp)) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** Compact, for hashes and comparisons. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

/** A hash of the value, the same for the same value in any key order (checksums of definitions). */
export function canonicalHash(v: unknown): string {
  return createHash('sha1').update(canonicalJson(v)).digest('hex');
}

/** 2-space indent and a final newline, for files people read and diff. */
export function stableJson(v: unknown): string {
  return JSON.stringify(sortKeys(v), null, 2) + '\n';
}
