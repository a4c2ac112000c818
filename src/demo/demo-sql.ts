/**
 * The demo generator's SQL vocabulary (DuckDB, the offline engine): literals, and seeded
 * per-row random streams. A stream's values derive from `hash(xor(<row hash>, <salt>))`, the salt
 * a 64-bit constant per named stream (FNV-1a of its name), so streams are independent and the
 * same options always give the same rows.
 */
import { offlineDialect } from '../adapters/index.js';

// the generator's SQL is the offline engine's (DuckDB's)
export const lit = (v: string | number | null): string => offlineDialect().literal(v);
export const strList = (xs: readonly string[]): string => `[${xs.map((x) => lit(x)).join(', ')}]`;

/** 64-bit FNV-1a of a stream name. */
export function fnv1a64(name: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(name, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/** The stream's salt as a UBIGINT literal. */
export const salt = (name: string): string => `${fnv1a64(name)}::UBIGINT`;

/** A uniform double in [0, 1) for the named stream, from the per-row base hash column `key`. */
export function U(key: string, stream: string): string {
  return `((hash(xor(${key}, ${salt(stream)})) >> 11)::DOUBLE / 9007199254740992.0)`;
}

/** A stable unsigned 64-bit value for the named stream (for ids and references). */
export function H(key: string, stream: string): string {
  return `hash(xor(${key}, ${salt(stream)}))`;
}

/** `case when u < c1 then 'a' when u < c2 then 'b' ... else 'last' end` over normalised weights. */
export function pick(u: string, items: Array<[string, number]>): string {
  const total = items.reduce((a, [, w]) => a + w, 0);
  let cum = 0;
  const whens = items.slice(0, -1).map(([v, w]) => {
    cum += w / total;
    return `when ${u} < ${cum.toFixed(6)} then ${lit(v)}`;
  });
  return `case ${whens.join(' ')} else ${lit(items[items.length - 1][0])} end`;
}

/** `case <col> when 'a' then 1 ... else <dflt> end` */
export function byKey(col: string, m: Record<string, number>, dflt: number): string {
  return `case ${col} ${Object.entries(m).map(([k, v]) => `when ${lit(k)} then ${v}`).join(' ')} else ${dflt} end`;
}

/** A random element of a string list (1-based list indexing). */
export function choose(u: string, xs: readonly string[]): string {
  return `${strList(xs)}[1 + floor(${u} * ${xs.length})::INTEGER]`;
}

