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

  it("names of other scopes or of other relations are not one name: columns of two relations, of two CTEs, a UNION's branches, two subqueries (was: refused, though Postgres builds them, each its own column)", () => {
    // two relations' columns, each read by its own long name: two columns
    expect(pairs(`select a.${A}1 as one, b.${A}2 as two from a join b on a.id = b.id`)).toEqual([]);
    expect(pairs(`select "a"."${A}1" as one, "b" . "${A}2" as two from a join b using (id)`)).toEqual([]);
    // two CTEs, each aliasing its own column; two subqueries; a UNION's second branch (its names are the first's)
    expect(pairs(`with x as (select 1 as id, 5 as ${A}1), y as (select 1 as id, 6 as ${A}2) select x.${A}1 as p, y.${A}2 as q from x join y using (id)`)).toEqual([]);
    expect(pairs(`select * from (select 1 as ${A}1) s, (select 2 as ${A}2) t`)).toEqual([]);
    expect(pairs(`select 1 as ${A}1 union all select 2 as ${A}2`)).toEqual([]);
    expect(pairs(`(select 1 as ${A}1) except (select 2 as ${A}2)`)).toEqual([]);
    // but within one SELECT, and one relation's columns, still one name
    expect(pairs(`select x from (select 1 as ${A}1, 2 as ${A}2) s union all select 1`)).toEqual([[`${A}1`, `${A}2`, 'a'.repeat(63), 'a']]);
    expect(pairs(`select t.${A}1 as x, T.${A}2 as y from t`)).toEqual([[`${A}1`, `${A}2`, 'a'.repeat(63), 'a']]);
    expect(pairs(`select count(*) as n, ${A}1 from t group by ${A}2`)).toEqual([[`${A}1`, `${A}2`, 'a'.repeat(63), 'a']]);
    // a function's parentheses are no query of their own
    expect(pairs(`select coalesce(${A}1, 0) as x, sum((${A}2)) over (partition by id) as y from t`)).toEqual([[`${A}1`, `${A}2`, 'a'.repeat(63), 'a']]);
    expect(pairs(`select x from t where id in (select ${A}1 from u) and ${A}2 > 0`)).toEqual([]);
  });
});
