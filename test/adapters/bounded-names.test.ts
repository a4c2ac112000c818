/**
 * The names Vigil makes from a model's name (a scratch table beside it, an ephemeral model's CTE)
 * where the warehouse keeps a bounded name (Postgres: 63 bytes): within the bound, at a
 * character's end, and two long names alike in their first bytes still two names.
 */
import { describe, expect, it } from 'vitest';
import { ephemeralCte, scratchIdentifier } from '../../src/adapters/dialect.js';

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
