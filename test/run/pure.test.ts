/** Pure helpers of the run layer: freshness thresholds, error line mapping, summaries. */
import { describe, expect, it } from 'vitest';
import { freshnessStatus, humanAge, limitSeconds, loadedAt } from '../../src/run/freshness.js';
import { summarize } from '../../src/run/executor.js';
import { compiledPosition } from '../../src/adapters/adapter.js';

describe('freshness', () => {
  const f = { warn_after: { count: 15, period: 'minute' as const }, error_after: { count: 1, period: 'hour' as const } };
  it('applies warn and error limits with strict comparisons', () => {
    expect(limitSeconds(f.warn_after)).toBe(900);
    expect(freshnessStatus(900, f)).toBe('pass');
    expect(freshnessStatus(901, f)).toBe('warn');
    expect(freshnessStatus(3600, f)).toBe('warn');
    expect(freshnessStatus(3601, f)).toBe('error');
    expect(freshnessStatus(10 ** 9, undefined)).toBe('pass');
    expect(freshnessStatus(10 ** 9, { error_after: { count: 2, period: 'day' } })).toBe('error');
  });
  it('prints ages for people', () => {
    expect([humanAge(30), humanAge(600), humanAge(7200), humanAge(3 * 86400)]).toEqual(['30s', '10m', '2.0h', '3.0d']);
  });
  it("reads a timestamp or date as the warehouses give it, a naive one (BigQuery's DATETIME) in UTC whatever the machine's zone; text is no timestamp (was: parsed by Date, '12' the year 2001)", () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo';
    try {
      const d = new Date('2026-01-02T03:04:05.123Z');
      expect(loadedAt(d)).toBe(d);
      expect(loadedAt({ value: '2026-01-02T03:04:05.123456' })?.toISOString()).toBe('2026-01-02T03:04:05.123Z');
      expect(loadedAt({ value: '2026-01-02T03:04:05.123456Z' })?.toISOString()).toBe('2026-01-02T03:04:05.123Z');
      expect(loadedAt({ value: '2026-01-02' })?.toISOString()).toBe('2026-01-02T00:00:00.000Z');
      for (const v of ['12', '2026-01-02 03:04:05', 12, 12n, true, { value: '12:00:00' }, new Date(NaN)]) expect(loadedAt(v), String(v)).toBeUndefined();
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});

describe('executor helpers', () => {
  it('maps a position in the executed statement to the compiled SQL inside it', () => {
    const compiled = 'select a,\n  nope\nfrom t';
    // DDL around it: the compiled SQL starts on line 2
    expect(compiledPosition(`create table x as\n${compiled}`, { line: 3, column: 3 }, compiled)).toEqual({ line: 2, column: 3 });
    // on the compiled SQL's first line the column is shifted by where it starts
    expect(compiledPosition(`select count(*) from (${compiled}) as t`, { line: 1, column: 30 }, compiled)).toEqual({ line: 1, column: 8 });
    // a script holding it twice: the occurrence that spans the error's line
    const script = `DECLARE v DEFAULT (SELECT MIN(a) FROM (\n${compiled}\n));\nMERGE x AS T USING (\n${compiled}\n) AS S ON FALSE`;
    expect(compiledPosition(script, { line: 8, column: 3 }, compiled)).toEqual({ line: 2, column: 3 });
    expect(compiledPosition(script, { line: 2, column: 8 }, compiled)).toEqual({ line: 1, column: 8 });
    // an error in the wrapper itself, no position, or SQL that is not there: nothing to point at
    expect(compiledPosition(`create table x as\n${compiled}`, { line: 1, column: 1 }, compiled)).toBeUndefined();
    expect(compiledPosition(`create table x as\n${compiled}`, undefined, compiled)).toBeUndefined();
    expect(compiledPosition('select 1', { line: 1 }, compiled)).toBeUndefined();
  });
  it('summarizes statuses', () => {
    const r = (status: string) => ({ status }) as never;
    expect(summarize({ results: [r('success'), r('pass'), r('warn'), r('fail'), r('error'), r('skipped')], elapsed: 1.234, unmatched: [], ok: false })).toBe(
      'Finished 6 nodes in 1.23s: OK=2 WARN=1 ERROR=2 SKIP=1 TOTAL=6',
    );
  });
});
