/**
 * `vigil dashboards render` keeps values as the warehouse has them, end to end on DuckDB and
 * Postgres: a timestamp's microseconds reach the drill-down and raw-rows queries (10:00:00.123456
 * is not 10:00:00.123); text that looks like a date stays text (two values are two categories);
 * integers past 2^53 are shown to the last digit in KPIs, their compare line and tables; a link
 * whose field is NULL or empty is no link. Also: a raw-rows page without `day` claims no order,
 * and a heatmap's colour scale writes no "[object Object]" into its SVG.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });

// a and c in the same millisecond, b on a whole second
const EVENTS = `select * from (values
  ('a', cast('2026-11-20 10:00:00.123456' as timestamp), 1),
  ('c', cast('2026-11-20 10:00:00.123999' as timestamp), 4),
  ('b', cast('2026-11-19 09:00:00' as timestamp), 2)
) t(k, ts, n)`;
const RELEASES = `select * from (values ('2026-11-19', 5), ('2026-11-20', 7), ('2026-11-20 00:00', 100), ('2026-11-20 01:00+05', 1), ('v1', 3), ('00123', 2)) t(release_tag, n)`;
const WORKSPACES = `select * from (values
  ('w1', cast(10 as bigint), 'x', date '2026-11-20'),
  ('w2', cast(9007199254740993 as bigint), null, date '2026-11-20'),
  ('w3', cast(123456789012345678 as bigint), 'z', date '2026-11-20'),
  ('w4', cast(5 as bigint), '', date '2026-11-20'),
  ('w5', cast(9007199254740995 as bigint), 'p', date '2026-11-19')
) t(w, n, workspace_name, day)`;

const sumN = { name: 'n', column: 'n', agg: 'sum' };
const DASHBOARD = {
  name: 'h',
  title: 'H',
  filters: [{ name: 'at', type: 'select', column: 'ts', default: null }],
  tabs: [
    {
      name: 'a',
      title: 'A',
      tiles: [
        { id: 'events', type: 'table', title: 'Events', model: 'e', dimensions: [{ column: 'ts' }, { column: 'k' }], measures: [sumN], drilldown: { tab: 'b', filters: { at: '{{ ts }}' } }, raw_rows: { model: 'e', match: { ts: '{{ ts }}' }, columns: ['k', 'ts'] }, layout: L(0, 0, 6, 4) },
        { id: 'rel_bar', type: 'bar', title: 'Releases', model: 'rel', dimensions: [{ column: 'release_tag' }], measures: [sumN], layout: L(6, 0, 6, 4) },
        { id: 'rel_table', type: 'table', title: 'Releases', model: 'rel', dimensions: [{ column: 'release_tag' }], measures: [sumN], sort: [{ field: 'n', dir: 'desc' }], layout: L(0, 4, 6, 4) },
        { id: 'total', type: 'kpi', title: 'Total', model: 'ws', measures: [sumN], layout: L(6, 4, 3, 2) },
        { id: 'today', type: 'kpi', title: 'Today', model: 'ws', measures: [{ ...sumN, format: 'integer' }], filters: [{ column: 'day', op: '>=', value: 'today' }], compare: 'previous_period', layout: L(9, 4, 3, 2) },
        { id: 'ws_table', type: 'table', title: 'Workspaces', model: 'ws', dimensions: [{ column: 'w' }], measures: [sumN], sort: [{ field: 'w', dir: 'asc' }], links: [{ label: 'Open', url: 'https://x.example/{{ workspace_name }}' }], layout: L(0, 8, 6, 4) },
        { id: 'heat', type: 'heatmap', title: 'Heat', model: 'ws', dimensions: [{ column: 'day', role: 'x' }, { column: 'w', role: 'y' }], measures: [{ name: 'rows', column: '*', agg: 'count' }], layout: L(6, 8, 6, 4) },
      ],
    },
    { name: 'b', title: 'B', tiles: [{ id: 'detail', type: 'table', title: 'Detail', model: 'e', dimensions: [{ column: 'k' }, { column: 'ts' }], measures: [sumN], layout: L(0, 0, 6, 4) }] },
  ],
};
// the links' table keeps its workspace_name (the links read it)
(DASHBOARD.tabs[0].tiles[5].dimensions as Array<{ column: string }>).push({ column: 'workspace_name' });

const yml = (model: string, cols: Array<[string, string]>) => `models:\n  - name: ${model}\n    columns:\n${cols.map(([c, t]) => `      - { name: ${c}, data_type: ${t} }\n`).join('')}`;
const FILES = {
  'models/e.sql': EVENTS,
  'models/e.yml': yml('e', [['k', 'varchar'], ['ts', 'timestamp'], ['n', 'integer']]),
  'models/rel.sql': RELEASES,
  'models/rel.yml': yml('rel', [['release_tag', 'varchar'], ['n', 'integer']]),
  'models/ws.sql': WORKSPACES,
  'models/ws.yml': yml('ws', [['w', 'varchar'], ['n', 'bigint'], ['workspace_name', 'varchar'], ['day', 'date']]),
  'dashboards/h.json': JSON.stringify(DASHBOARD, null, 2),
};

/** A tile's block of a page. */
function tileBlock(html: string, id: string): string {
  const i = html.indexOf(`data-tile="${id}"`);
  expect(i, id).toBeGreaterThan(0);
  const j = html.indexOf(' data-tile="', i + 10);
  return html.slice(i, j < 0 ? undefined : j);
}

/** A table's body rows, as the texts of their cells. */
const cells = (block: string) => [...block.slice(block.indexOf('<tbody>')).matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, '')));

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const targets = [
  { name: 'DuckDB', project: () => `name: h7\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n`, env: (): Record<string, string> => ({}) },
  { name: 'Postgres', project: () => pgProjectYaml(uniqueSchema('exact')), env: (): Record<string, string> => ({ VIGIL_TEST_PG_URL: inject('pgUrl') }) },
];

describe.each(targets)('rendered values on $name', ({ project, env }) => {
  let dir: string;
  let site: string;
  let html: string;
  const page = (file: string) => readFileSync(join(site, file), 'utf8');
  beforeAll(() => {
    dir = makeProject({ 'project.yaml': project(), ...FILES });
    const b = vigil(dir, ['build'], env());
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', '2026-11-20T12:00:00Z'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    site = join(dir, 'site');
    html = page('h.html');
  }, 120_000);
  afterAll(() => removeDir(dir));

  it('drills into a timestamp with microseconds: its own page and raw rows, apart from one in the same millisecond', () => {
    const pages = readdirSync(join(site, 'h')).filter((f) => f.endsWith('.html')).sort();
    expect(pages).toEqual(['b--at=2026-11-19t09-00-00-000z~00287a97f3.html', expect.stringMatching(/^b--at=2026-11-20t10-00-00-123456z~/), expect.stringMatching(/^b--at=2026-11-20t10-00-00-123999z~/)]);
    for (const [k, digits] of [['a', '123456'], ['c', '123999'], ['b', '']] as const) {
      const file = pages.find((f) => (digits ? f.includes(digits) : f.includes('2026-11-19')))!;
      expect(cells(tileBlock(page(`h/${file}`), 'detail')).map((r) => r[0]), file).toEqual([k]);
    }
    const raws = readdirSync(join(site, 'h', 'rows')).sort();
    expect(raws).toHaveLength(3);
    const raw = page(`h/rows/${raws.find((f) => f.includes('123456'))}`);
    expect(unescape(/<pre id="raw-sql">([^<]*)<\/pre>/.exec(raw)![1])).toContain(`where "ts" = '2026-11-20T10:00:00.123456Z'`);
    expect(cells(raw).map((r) => r[0])).toEqual(['a']);
  });

  it('a raw-rows page without a day column claims no order (its query has none)', () => {
    const raw = page(`h/rows/${readdirSync(join(site, 'h', 'rows')).find((f) => f.includes('2026-11-19'))}`);
    expect(unescape(raw)).not.toContain('order by');
    expect(cells(raw).map((r) => r[0])).toEqual(['b']);
    expect(raw).toContain('>1 row. Prompt');
    expect(raw).not.toContain('newest first');
  });

  it('keeps text that looks like a date as text: categories and cells are the values', () => {
    const bar = tileBlock(html, 'rel_bar');
    const labels = [...bar.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1]));
    for (const v of ['2026-11-19', '2026-11-20', '2026-11-20 00:00', '2026-11-20 01:00+05', 'v1', '00123']) expect(labels, v).toContain(v);
    expect(labels).not.toContain('107');
    expect(cells(tileBlock(html, 'rel_table')).map((r) => r.map(unescape))).toEqual([
      ['2026-11-20 00:00', '100'],
      ['2026-11-20', '7'],
      ['2026-11-19', '5'],
      ['v1', '3'],
      ['00123', '2'],
      ['2026-11-20 01:00+05', '1'],
    ]);
  });

  it('shows integers past 2^53 to the last digit: KPIs, their previous value, table cells', () => {
    expect(tileBlock(html, 'total')).toContain('>141,471,187,521,827,681<');
    const today = tileBlock(html, 'today');
    expect(today).toContain('>132,463,988,267,086,686<');
    expect(today).toContain('vs 9,007,199,254,740,995 yesterday');
    expect(cells(tileBlock(html, 'ws_table')).map((r) => r[2])).toEqual(['10', '9,007,199,254,740,993', '123,456,789,012,345,678', '5', '9,007,199,254,740,995']);
  });

  it('a link whose field is NULL or empty is no link: the label as text', () => {
    const block = tileBlock(html, 'ws_table');
    const links = cells(block).map((r) => r[r.length - 1]);
    expect(links).toEqual(['Open', 'Open', 'Open', 'Open', 'Open']);
    const raw = [...block.matchAll(/<td class="links">([\s\S]*?)<\/td>/g)].map((m) => m[1]);
    expect(raw[0]).toBe('<a href="https://x.example/x">Open</a>');
    expect(raw[1]).toBe('<span title="no workspace_name in this row">Open</span>');
    expect(raw[3]).toBe('<span title="no workspace_name in this row">Open</span>');
    expect(block).not.toContain('href="https://x.example/"');
  });

  it("a heatmap's colour scale writes no object into the SVG's styles", () => {
    const heat = tileBlock(html, 'heat');
    expect(heat).toContain('<svg');
    expect(heat).not.toContain('[object Object]');
  });
});
