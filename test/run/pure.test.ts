/** Pure helpers of the run layer: freshness thresholds, error line mapping, summaries. */
import { describe, expect, it } from 'vitest';
import { freshnessStatus, humanAge, limitSeconds } from '../../src/run/freshness.js';
import { compiledLine, summarize } from '../../src/run/executor.js';

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
});

describe('executor helpers', () => {
  it("maps DuckDB's LINE n to the compiled file's line", () => {
    expect(compiledLine('Binder Error: x\n\nLINE 4: select nope', 1)).toBe(3);
    expect(compiledLine('no line info', 1)).toBeUndefined();
  });
  it('summarizes statuses', () => {
    const r = (status: string) => ({ status }) as never;
    expect(summarize({ results: [r('success'), r('pass'), r('warn'), r('fail'), r('error'), r('skipped')], elapsed: 1.234, unmatched: [], ok: false })).toBe(
      'Finished 6 nodes in 1.23s: OK=2 WARN=1 ERROR=2 SKIP=1 TOTAL=6',
    );
  });
});
