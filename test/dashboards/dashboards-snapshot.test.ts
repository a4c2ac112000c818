/**
 * The dashboards snapshot behind `vigil dashboards render`: the second render of an unchanged
 * project compiles nothing and draws the same pages; a dashboard file that changed is read
 * again at once (a mistake in it is reported, exit 2); a compile that read a secret keeps none.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil, vigilLoading } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const dashboard = (title: string) =>
  JSON.stringify({ name: 'd', title, tabs: [{ name: 't', title: 'T', tiles: [{ id: 'k', type: 'kpi', title: 'Interactions', model: 'counts', measures: [{ column: 'n', agg: 'sum' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] });

const FILES = {
  'models/counts.sql': "select 'chat' as capability, 12 as n union all select 'draft', 30",
  'models/counts.yml': 'models:\n  - name: counts\n    columns:\n      - name: capability\n      - name: n\n',
};

describe('dashboards snapshot', () => {
  it('renders from the snapshot while the files hold, and reads a changed dashboard again', () => {
    const dir = makeProject({
      'project.yaml': `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: "{{ env_var('VIGIL_TEST_DB', '.vigil/dev.duckdb') }}", schema: analytics }\n`,
      ...FILES,
      'dashboards/d.json': dashboard('Copilot usage'),
    });
    dirs.push(dir);
    expect(vigil(dir, ['build']).code).toBe(0);
    const render = (env: Record<string, string> = {}) => vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', '2026-11-01T00:00:00Z'], env);
    const page = () => readFileSync(join(dir, 'site', 'd.html'), 'utf8');
    const first = render();
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(dir, 'target/.cache/dashboards.bin'))).toBe(true);
    const html = page();
    expect(html).toContain('Copilot usage');
    expect(html).toMatch(/>\s*42\s*</);

    // the dashboard file rewritten with the same size and time: the snapshot still answers
    const file = join(dir, 'dashboards/d.json');
    const then = new Date('2026-01-01T00:00:00Z');
    utimesSync(file, then, then);
    expect(render().code).toBe(0);
    expect(page()).toBe(html);
    const size = statSync(file).size;
    writeFileSync(file, dashboard('Copilot usagE').padEnd(size, ' '));
    utimesSync(file, then, then);
    expect(render().code).toBe(0);
    expect(page()).toBe(html); // (the old title: the file was not read)
    // touched: read again
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(render().code).toBe(0);
    expect(page()).toContain('Copilot usagE');
    // a mistake in it is reported at once
    writeFileSync(file, dashboard('x').replace('"kpi"', '"kpj"'));
    const bad = render();
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/dashboards\/d\.json:1:\d+: error: tabs\[0\]\.tiles\[0\]\.type/);
    // the target reads an environment variable: another value, another database — not the snapshot's answer
    writeFileSync(file, dashboard('Copilot usage'));
    expect(render().code).toBe(0);
    // (a database never built there: said before any tile is queried)
    const other = render({ VIGIL_TEST_DB: '.vigil/other.duckdb' });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('target dev has no database yet (.vigil/other.duckdb does not exist)');
  });

  it('a render from the snapshot loads neither the compiler nor zod: the drill-down tiles are compiled by tile-sql.ts alone', () => {
    const drill = JSON.stringify({
      name: 'd',
      title: 'D',
      filters: [{ name: 'cap', type: 'select', column: 'capability' }],
      tabs: [
        {
          name: 't',
          title: 'T',
          tiles: [
            { id: 'k', type: 'kpi', title: 'Interactions', model: 'counts', measures: [{ column: 'n', agg: 'sum' }], layout: { x: 0, y: 0, w: 4, h: 2 } },
            { id: 'b', type: 'bar', title: 'By capability', model: 'counts', dimensions: [{ column: 'capability' }], measures: [{ column: 'n', agg: 'sum' }], drilldown: { tab: 't', filters: { cap: '{{ capability }}' } }, layout: { x: 4, y: 0, w: 8, h: 4 } },
          ],
        },
      ],
    });
    const dir = makeProject({ ...FILES, 'dashboards/d.json': drill });
    dirs.push(dir);
    expect(vigil(dir, ['build']).code).toBe(0);
    const render = () => vigilLoading(dir, ['dashboards', 'render', '--out', 'site', '--at', '2026-11-01T00:00:00Z']);
    const first = render();
    expect(first.code, first.stderr).toBe(0);
    for (const f of ['src/dashboards/compile-dashboards.ts', 'node_modules/zod']) expect(first.sources, f).toContain(f);
    const second = render();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/drill-down pages/);
    expect(readFileSync(join(dir, 'site', 'd', 't--cap=draft.html'), 'utf8')).toMatch(/>\s*30\s*</);
    expect(second.sources).toContain('src/dashboards/tile-sql.ts');
    for (const f of ['src/dashboards/compile-dashboards.ts', 'src/dashboards/schema.ts', 'src/project/yaml-source.ts', 'src/compile/compile-project.ts', 'node_modules/zod']) expect(second.sources, f).not.toContain(f);
  });

  it('a target whose config reads a secret: no snapshot is kept', () => {
    const dir = makeProject({
      'project.yaml': `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: "{{ env_var('VIGIL_TEST_DB_PASSWORD') }}.duckdb", schema: analytics }\n`,
      ...FILES,
      'dashboards/d.json': dashboard('D'),
    });
    dirs.push(dir);
    const env = { VIGIL_TEST_DB_PASSWORD: 'hunter2-not-for-disk' };
    expect(vigil(dir, ['build'], env).code).toBe(0);
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'target/.cache/dashboards.bin'))).toBe(false);
  });
});
