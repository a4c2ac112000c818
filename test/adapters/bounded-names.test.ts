/**
 * The names Vigil makes from a model's name (a scratch table beside it, an ephemeral model's CTE)
 * where the warehouse keeps a bounded name (Postgres: 63 bytes): within the bound, at a
 * character's end, and two long names alike in their first bytes still two names.
 */
import { describe, expect, it } from 'vitest';
import { ephemeralCte, namesAlikeOnceCut, scratchIdentifier } from '../../src/adapters/dialect.js';

const pg = { maxIdentifierBytes: 63 };
const bytes = (s: string) => Buffer.byteLength(s);

describe('bounded generated names', () => {
  it('a short name as it is, on any warehouse', () => {
    expect(scratchIdentifier(pg, 'orders', 'tmp')).toBe('orders__vigil_tmp');
    expect(ephemeralCte(pg, 'orders')).toBe('__vigil_eph_orders');
    expect(scratchIdentifier({}, 'x'.repeat(200), 'tmp')).toBe(`${'x'.repeat(200)}__vigil_tmp`);
  });

  it.each([
    ['scratch', (n: string) => scratchIdentifier(pg, n, 'refill')],
    ['ephemeral', (n: string) => ephemeralCte(pg, n)],
  ])('%s: long names cut within 63 bytes, at a character, told apart by a hash', (_kind, name) => {
    const a = `${'é'.repeat(30)}_2023`;
    const b = `${'é'.repeat(30)}_2024`;
    for (const n of [a, b, 'c'.repeat(64)]) {
      const out = name(n);
      expect(bytes(out)).toBeLessThanOrEqual(63);
      expect(out).not.toContain('\ufffd');
      expect(Buffer.from(out).toString()).toBe(out);
    }
    expect(name(a)).not.toBe(name(b));
  });

  it('keeps the suffix that marks a scratch table', () => {
    expect(scratchIdentifier(pg, 'c'.repeat(64), 'tmp')).toMatch(/^c+_[0-9a-f]{8}__vigil_tmp$/);
    expect(ephemeralCte(pg, 'c'.repeat(64))).toMatch(/^__vigil_eph_c+_[0-9a-f]{8}$/);
  });
});

describe('names of SQL alike in the bytes Postgres keeps (namesAlikeOnceCut)', () => {
  const A = 'a'.repeat(64);
  const lower = (n: string) => n.toLowerCase();
  const pairs = (sql: string) => namesAlikeOnceCut(sql, 63, undefined, lower).map((p) => [p.first.name, p.second.name, p.cut, sql.slice(p.second.at, p.second.at + 1)]);

  it('two words, a quoted name and a word, a name of 63 bytes and a longer one: one pair each, at the second', () => {
    expect(pairs(`select 1 as ${A}1, 2 as ${A}2`)).toEqual([[`${A}1`, `${A}2`, 'a'.repeat(63), 'a']]);
    expect(pairs(`select 1 as "${A}1", 2 as ${A.toUpperCase()}2`)).toEqual([[`${A}1`, `${A}2`, 'a'.repeat(63), 'A']]);
    expect(pairs(`select 1 as ${'a'.repeat(63)}, 2 as "${A}"`)).toEqual([['a'.repeat(63), A, 'a'.repeat(63), '"']]);
    // a quoted name with a doubled quote in it is one name (and a literal's quote no quoted name)
    expect(pairs(`select 'it''s "' as x, 1 as "${A}""x", 2 as "${A}""y"`)).toEqual([[`${A}"x`, `${A}"y`, 'a'.repeat(63), '"']]);
    // multi-byte: cut at a character's end (62 bytes of é), as Postgres cuts
    expect(pairs(`select 1 as "${'é'.repeat(32)}", 2 as "${'é'.repeat(31)}x"`)).toEqual([]);
    expect(pairs(`select 1 as "${'é'.repeat(32)}", 2 as "${'é'.repeat(31)}éx"`)).toEqual([[`${'é'.repeat(32)}`, `${'é'.repeat(31)}éx`, 'é'.repeat(31), '"']]);
  });

  it('one name written twice, in any case, a quoted name whose case differs, literals and comments: none', () => {
    expect(pairs(`select ${A}1 from (select 1 as ${A.toUpperCase()}1) t`)).toEqual([]);
    expect(pairs(`select '${A}2' as "${A}1" -- ${A}3\n/* ${A}4 */`)).toEqual([]);
    expect(pairs(`select 1 as x`)).toEqual([]);
  });
});
