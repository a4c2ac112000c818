/**
 * `vigil ls --output json` against dbt's `dbt ls --output json`: dbt's keys (package_name,
 * original_file_path, alias, source_name, config with a data test's and a seed's configs) and
 * `--output-keys`; one project for the file.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeProject, removeDir, vigil } from '../helpers.js';

const dir = makeProject({
  'models/orders.sql': "{{ config(materialized='table', alias='fct_orders') }}\nselect 1 as id",
  'models/customers.sql': 'select 1 as id',
  'seeds/rates.csv': 'id;rate\n1;2\n',
  'models/props.yml': [
    'sources:',
    '  - name: raw',
    '    tables: [{ name: events }]',
    'seeds:',
    '  - name: rates',
    "    config: { delimiter: ';', column_types: { rate: double } }",
    'models:',
    '  - name: orders',
    '    columns:',
    '      - name: id',
    '        data_tests:',
    '          - relationships:',
    "              to: ref('customers')",
    '              field: id',
    "              config: { severity: warn, store_failures: true, warn_if: '>10', error_if: '>100', fail_calc: 'sum(1)', limit: 5, where: 'id > 0' }",
    'unit_tests:',
    '  - name: ut_orders',
    '    model: orders',
    '    given: []',
    '    expect: { rows: [{ id: 1 }] }',
    '',
  ].join('\n'),
});
afterAll(() => removeDir(dir));
const lines = (args: string[]) => {
  const r = vigil(dir, ['ls', '--output', 'json', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
};

describe('vigil ls --output json (a hostile check against dbt ls)', () => {
  it("prints dbt's keys beside Vigil's: package_name, original_file_path, alias, source_name, and config with a data test's and a seed's configs (were: none of them)", () => {
    const all = lines([]);
    const by = (name: string) => all.find((l) => l.name === name)!;
    expect(by('orders')).toMatchObject({ unique_id: 'model.fixture.orders', package_name: 'fixture', original_file_path: 'models/orders.sql', file: 'models/orders.sql', alias: 'fct_orders', materialized: 'table', config: { materialized: 'table', alias: 'fct_orders', enabled: true } });
    const test = all.find((l) => l.resource_type === 'test')!;
    expect(test.config).toMatchObject({ severity: 'warn', store_failures: true, warn_if: '>10', error_if: '>100', fail_calc: 'sum(1)', limit: 5, where: 'id > 0', enabled: true });
    expect(test).toMatchObject({ original_file_path: 'models/props.yml', severity: 'warn', depends_on: ['model.fixture.orders', 'model.fixture.customers'] });
    expect(by('rates')).toMatchObject({ resource_type: 'seed', alias: 'rates', config: { delimiter: ';', column_types: { rate: 'double' }, materialized: 'seed' } });
    expect(by('events')).toMatchObject({ resource_type: 'source', source_name: 'raw', package_name: 'fixture', config: { enabled: true } });
    expect(by('ut_orders')).toMatchObject({ resource_type: 'unit_test', model: 'orders', config: { enabled: true, tags: [] } });
    // (fqn only when asked for)
    expect(Object.keys(by('orders'))).not.toContain('fqn');
  });
  it('--output-keys prints only the keys it names, space- or comma-separated or given again; a key it has not is an error with the nearest (was: unknown option)', () => {
    expect(lines(['-s', 'orders', '--resource-type', 'model', '--output-keys', 'name alias'])).toEqual([{ name: 'orders', alias: 'fct_orders' }]);
    expect(lines(['-s', 'orders', '--resource-type', 'model', '--output-keys', 'unique_id,fqn', '--output-keys', 'package_name'])).toEqual([{ unique_id: 'model.fixture.orders', package_name: 'fixture', fqn: ['fixture', 'orders'] }]);
    const typo = vigil(dir, ['ls', '--output', 'json', '--output-keys', 'name configs']);
    expect(typo.code).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toContain("--output-keys: 'configs' is no key of vigil ls --output json — did you mean 'config'?");
    const notJson = vigil(dir, ['ls', '--output-keys', 'name']);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('--output-keys goes with --output json');
  });
});

describe('--indirect-selection on the command line', () => {
  it("vigil ls takes dbt's modes (cautious leaves the relationships test to a model not selected); a command that runs no tests refuses it, naming those that take it", () => {
    expect(lines(['-s', 'orders', '--output-keys', 'name', '--indirect-selection', 'cautious'])).toEqual([{ name: 'orders' }, { name: 'ut_orders' }]);
    expect(lines(['-s', 'orders customers', '--output-keys', 'name', '--indirect-selection', 'cautious']).map((l) => l.name)).toContain('relationships_orders_id');
    const run = vigil(dir, ['run', '--indirect-selection', 'cautious']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('vigil run runs no data or unit tests: --indirect-selection goes with test, build, ls and compile');
    // (vigil retry does run tests: it was said to run none)
    const retry = vigil(dir, ['retry', '--indirect-selection', 'cautious']);
    expect(retry.code).toBe(2);
    expect(retry.stderr).toContain("unknown option '--indirect-selection' (vigil retry re-runs what the last run selected and did not finish (by unique_id, tests too): --indirect-selection goes with test, build, ls and compile)");
    const typo = vigil(dir, ['ls', '--indirect-selection', 'cautios']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("Did you mean 'cautious'?");
  });
});

describe('--resource-type all|default and --exclude-resource-type, as dbt ls takes them', () => {
  it('all and default list every kind; --exclude-resource-type leaves kinds out (were: refused, exit 2); a kind mistyped is still refused with the nearest', () => {
    const kinds = (args: string[]) => [...new Set(lines([...args, '--output-keys', 'resource_type']).map((l) => l.resource_type))].sort();
    expect(kinds(['--resource-type', 'all'])).toEqual(['model', 'seed', 'source', 'test', 'unit_test']);
    expect(kinds(['--resource-type', 'default'])).toEqual(kinds([]));
    expect(kinds(['--exclude-resource-type', 'test', '--exclude-resource-type', 'unit_test'])).toEqual(['model', 'seed', 'source']);
    const typo = vigil(dir, ['ls', '--exclude-resource-type', 'tst']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("Did you mean 'test'?");
    const none = vigil(dir, ['ls', '--exclude-resource-type', 'all']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--exclude-resource-type all leaves out every kind of node');
    // (so does excluding each kind --resource-type keeps: was a warning, exit 0)
    const contradiction = vigil(dir, ['ls', '--resource-type', 'model', '--resource-type', 'seed', '--exclude-resource-type', 'seed', '--exclude-resource-type', 'model']);
    expect(contradiction.code).toBe(2);
    expect(contradiction.stderr).toContain('--resource-type model seed and --exclude-resource-type seed model leave out every kind of node: nothing to list');
  });
});

describe('vigil ls --output selector, as dbt ls prints it', () => {
  it('one selector a node (its fqn, source:, exposure:, unit_test: with the project), each selecting that node alone (was: refused, exit 2)', () => {
    const r = vigil(dir, ['ls', '--output', 'selector']);
    expect(r.code).toBe(0);
    const sels = r.stdout.trim().split('\n');
    expect(sels).toContain('fixture.orders');
    expect(sels).toContain('source:fixture.raw.events');
    expect(sels).toContain('unit_test:fixture.ut_orders');
    const ids = lines(['--output-keys', 'unique_id']).map((l) => l.unique_id);
    const back = sels.map((s) => lines(['-s', s, '--indirect-selection', 'empty', '--output-keys', 'unique_id']).map((l) => l.unique_id));
    expect(back).toEqual(ids.map((id) => [id]));
  });
});
