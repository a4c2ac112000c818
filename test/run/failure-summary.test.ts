/**
 * The closing summary of a build ("N failures:"): one line per failed node that is whole — a
 * failing data test's first row, a unit test's first differing row under its heading, an error's
 * first line of the warehouse's message — and says "(see above)" where its message goes on,
 * through the real CLI on DuckDB.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeProject, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

describe('the failures summary of a run', () => {
  it("shows each failure's first row or line whole (was: a data test's sample header alone, `: unique_field | n_records`, and a unit test's `missing rows (expected, not produced):` with nothing after it)", () => {
    const dir = makeProject({
      'models/m.sql': 'select 1 as id, cast(null as int) as v union all select 1, null union all select 2, 5',
      'models/one.sql': 'select 1 as id, cast(null as int) as w',
      'models/bad.sql': 'select no_such_column',
      'models/m.yml': [
        'models:',
        '  - name: m',
        '    columns:',
        '      - name: id',
        '        tests: [unique]',
        '      - name: v',
        '        tests: [not_null]',
        '  - name: one',
        '    columns:',
        '      - name: w',
        '        tests: [not_null]',
        'unit_tests:',
        '  - name: ut',
        '    model: one',
        '    given: []',
        '    expect:',
        '      rows: [{id: 2, w: 3}]',
        '',
      ].join('\n'),
    });
    dirs.push(dir);
    const r = vigil(dir, ['build', '--exclude', 'one']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const summary = r.stdout.slice(r.stdout.indexOf('3 failures:'));
    const line = (name: string) => summary.split('\n').find((l) => l.startsWith(`  FAIL ${name}: `) || l.startsWith(`  ERROR ${name}: `));
    expect(line('unique_m_id')).toBe('  FAIL unique_m_id: 1 row failed (models/m.yml:5; query: target/compiled/fixture/models/m.yml/unique_m_id.sql): row {unique_field: 1, n_records: 2}');
    expect(line('not_null_m_v')).toBe('  FAIL not_null_m_v: 2 rows failed (models/m.yml:7; query: target/compiled/fixture/models/m.yml/not_null_m_v.sql): first row {id: 1, v: NULL} ... (see above)');
    expect(line('bad')).toMatch(/^ {2}ERROR bad: models\/bad\.sql \(compiled SQL: target\/compiled\/fixture\/models\/bad\.sql:1:8\) Binder Error: Referenced column "no_such_column" was not found because the FROM clause is missing \.\.\. \(see above\)$/);
    // a unit test: its heading and the first row under it
    const u = vigil(dir, ['build', '-s', 'one']);
    expect(u.code, u.stdout + u.stderr).toBe(1);
    const ut = u.stdout.split('\n').find((l) => l.startsWith('  FAIL ut: '));
    expect(ut).toBe('  FAIL ut: models/m.yml:13: one on the given rows differs from expect: missing rows (expected, not produced): {id: 2, w: 3} ... (see above)');
  });
});
