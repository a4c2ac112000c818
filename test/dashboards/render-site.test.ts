/**
 * `vigil dashboards render` over several renders of one project (DuckDB): a category keeps its
 * color on every page and from one render to the next (target/.cache/category-colors.json); a
 * table cut at its limit says how many rows there were; the pages an earlier render wrote and
 * this one did not are removed (a deleted dashboard or tab, a --select), and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC_PROJECT_YAML, makeProject, removeDir, vigil, vigilProcess } from '../helpers.js';
import { readDuckDbReadOnly } from '../support/duckdb-reader.js';

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });
const CAPS = ['chat', 'classify', 'draft', 'extract', 'summarize'];
const model = (caps: string[]) => caps.map((c, i) => `select '${c}' as capability, ${10 + i} as n, current_date - 1 as date`).join('\nunion all\n');

const bars = (id: string) => ({ id, type: 'bar', title: 'By capability', model: 'caps', dimensions: [{ column: 'date', role: 'x' }, { column: 'capability', role: 'series' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 0, 6, 4) });
const D = {
  name: 'd',
  title: 'D',
  filters: [{ name: 'capability', type: 'select', column: 'capability', default: null }],
  tabs: [
    {
      name: 'top',
      title: 'Top',
      tiles: [
        { ...bars('by_cap'), drilldown: { tab: 'detail', filters: { capability: '{{ capability }}' } } },
        { id: 'list', type: 'table', title: 'Largest', model: 'caps', dimensions: [{ column: 'capability' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], sort: [{ field: 'n', dir: 'desc' }], limit: 3, layout: L(6, 0, 6, 4) },
      ],
    },
    { name: 'detail', title: 'Detail', tiles: [bars('detail_bars')] },
  ],
};
const E = { name: 'e', title: 'E', tabs: [{ name: 'all', title: 'All', tiles: [{ id: 'rows', type: 'table', title: 'Rows', model: 'caps', dimensions: [{ column: 'capability' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 0, 12, 4) }] }] };

/** A tile's block of a page. */
function tileBlock(html: string, id: string): string {
  const i = html.indexOf(`data-tile="${id}"`);
  expect(i, id).toBeGreaterThan(0);
  const j = html.indexOf(' data-tile="', i + 10);
  return html.slice(i, j < 0 ? undefined : j);
}

/** The color of a category's legend item in a drawn chart. */
const colorOf = (html: string, cap: string) => new RegExp(`fill="(#[0-9a-f]{6})"[^>]*>\\s*</path>\\s*<text[^>]*>${cap}<`).exec(html)?.[1] ?? new RegExp(`<path[^>]*fill="(#[0-9a-f]{6})"[^>]*/>\\s*<text[^>]*>${cap}<`).exec(html)?.[1];

const pages = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => f.split('\\').join('/')).filter((f) => f.endsWith('.html')).sort();

describe('a render whose warehouse cannot be opened', () => {
  it('says why in one line, exit 1, no stack trace (was: an unhandled rejection while the renderer loaded: the stack and its causes, with the SQL Vigil sent)', () => {
    const dir = makeProject({
      'project.yaml': `${BASIC_PROJECT_YAML}  pg:\n    type: postgres\n    url: postgres://postgres:pw@127.0.0.1:1/none\n    schema: analytics\n`,
      'models/caps.sql': model(CAPS),
      'models/caps.yml': 'models:\n  - name: caps\n    columns:\n      - name: capability\n      - name: n\n      - name: date\n        data_type: date\n',
      'dashboards/e.json': JSON.stringify(E, null, 2),
    });
    try {
      const r = vigilProcess(dir, ['dashboards', 'render', '--out', 'site', '-t', 'pg']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain("error: could not connect to Postgres (target 'pg'): connect ECONNREFUSED 127.0.0.1:1");
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr).not.toContain('Node.js v');
    } finally {
      removeDir(dir);
    }
  });
});

describe('a render beside a BI tool reading the DuckDB file', () => {
  it('renders and validates against the warehouse, reading the file read-only beside it (was: exit 1, "in use by another process": both opened it to write, and DuckDB lets no writer in beside a reader)', async () => {
    const dir = makeProject({
      'models/caps.sql': model(CAPS),
      'models/caps.yml': 'models:\n  - name: caps\n    columns:\n      - name: capability\n      - name: n\n      - name: date\n        data_type: date\n',
      'dashboards/e.json': JSON.stringify(E, null, 2),
    });
    try {
      expect(vigil(dir, ['build']).code).toBe(0);
      const reader = await readDuckDbReadOnly(join(dir, '.vigil', 'dev.duckdb'));
      try {
        const r = vigilProcess(dir, ['dashboards', 'render', '--out', 'site']);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(tileBlock(readFileSync(join(dir, 'site', 'e.html'), 'utf8'), 'rows')).toContain('summarize');
        const v = vigilProcess(dir, ['dashboards', 'validate', '--warehouse']);
        expect(v.code, v.stdout + v.stderr).toBe(0);
        expect(v.stdout).toContain('every column found');
      } finally {
        reader.kill();
      }
    } finally {
      removeDir(dir);
    }
  }, 120_000);
});

describe('a box or scatter of raw rows cut at its limit', () => {
  it('says so under the chart, with how many rows there were, as a table does (was: drawn from the first 5,000 rows without a word)', () => {
    const raw = (id: string, type: string, x: number, extra: Record<string, unknown> = {}) => ({ id, type, title: id, model: 'many', dimensions: type === 'box' ? [{ column: 'g' }] : [], measures: type === 'box' ? [{ name: 'y', column: 'y', agg: 'none' }] : [{ name: 'x', column: 'x', agg: 'none' }, { name: 'y', column: 'y', agg: 'none' }], layout: L(x, 0, 3, 4), ...extra });
    const F = { name: 'f', title: 'F', tabs: [{ name: 'all', title: 'All', tiles: [raw('box_default', 'box', 0), raw('scatter_default', 'scatter', 3), raw('box_limit', 'box', 6, { limit: 100 }), raw('box_sample', 'box', 9, { sample: { rows: 100, key: 'x' } })] }] };
    const dir = makeProject({
      'models/many.sql': "select i as x, i % 7 as y, case when i % 2 = 0 then 'a' else 'b' end as g from range(6000) as t(i)",
      'models/many.yml': 'models:\n  - name: many\n    columns:\n      - name: x\n        data_type: bigint\n      - name: y\n        data_type: bigint\n      - name: g\n        data_type: varchar\n',
      'dashboards/f.json': JSON.stringify(F, null, 2),
    });
    try {
      expect(vigil(dir, ['build']).code).toBe(0);
      const r = vigil(dir, ['dashboards', 'render', '--out', 'site']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const html = readFileSync(join(dir, 'site', 'f.html'), 'utf8');
      expect(tileBlock(html, 'box_default')).toContain('<span class="note">first 5,000 of 6,000 rows</span>');
      expect(tileBlock(html, 'scatter_default')).toContain('<span class="note">first 5,000 of 6,000 rows</span>');
      expect(tileBlock(html, 'box_limit')).toContain('<span class="note">first 100 of 6,000 rows</span>');
      // a sample says it is one, and is not "the first" rows
      expect(tileBlock(html, 'box_sample')).not.toContain('first ');
    } finally {
      removeDir(dir);
    }
  }, 120_000);
});

/** The project in `dir` built, and its first dashboard's tiles read as a render reads them: their data, and the SQL each query sent. */
async function readTiles(dir: string): Promise<{ data: Array<Record<string, unknown>>; ran: string[] }> {
  const { compileProject } = await import('../../src/compile/compile-project.js');
  const { loadProject } = await import('../../src/project/load-project.js');
  const { DuckDbAdapter } = await import('../../src/adapters/duckdb/duckdb-adapter.js');
  const { TileQueries } = await import('../../src/cli/dashboards-commands.js');
  expect(vigil(dir, ['build']).code).toBe(0);
  const tiles = compileProject(loadProject(dir), { env: {} }).dashboards[0].tabs[0].tiles;
  const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
  const ran: string[] = [];
  const query = db.query.bind(db);
  db.query = ((sql: string) => (ran.push(sql), query(sql))) as typeof db.query;
  try {
    const q = new TileQueries(db, new Date());
    return { data: (await Promise.all(tiles.map((ct) => q.get(ct)))) as unknown as Array<Record<string, unknown>>, ran };
  } finally {
    await db.close();
  }
}

describe('a box or scatter of raw rows under its limit', () => {
  it('runs no count beside its rows: they are all there are (was: a count query of the whole window for each such tile, on every render and drill-down page)', async () => {
    const box = (id: string, model: string, x: number) => ({ id, type: 'box', title: id, model, dimensions: [{ column: 'g' }], measures: [{ name: 'y', column: 'y', agg: 'none' }], layout: L(x, 0, 3, 4), limit: 50 });
    const F = { name: 'f', title: 'F', tabs: [{ name: 'all', title: 'All', tiles: [box('few_rows', 'few', 0), box('many_rows', 'many', 3)] }] };
    const rows = (n: number) => `select i as y, case when i % 2 = 0 then 'a' else 'b' end as g from range(${n}) as t(i)`;
    const dir = makeProject({ 'models/few.sql': rows(10), 'models/many.sql': rows(60), 'dashboards/f.json': JSON.stringify(F, null, 2) });
    try {
      const { data: [few, many], ran } = await readTiles(dir);
      expect(few).toMatchObject({ ok: true, total: 10 });
      expect(many).toMatchObject({ ok: true, total: 60 });
      expect(ran.filter((x) => x.includes('count(*)')).map((x) => /"(few|many)"/.exec(x)?.[1])).toEqual(['many']);
    } finally {
      removeDir(dir);
    }
  }, 120_000);
});

describe('a table of more rows than the site shows', () => {
  it('reads only the 500 it shows and counts the rest; a small one runs no count (was: every row read, 692,000 rows and 714 MB to show 500)', async () => {
    const table = (id: string, model: string, x: number, extra: Record<string, unknown> = {}) => ({ id, type: 'table', title: id, model, dimensions: [{ column: 'g' }], measures: [{ name: 'y', column: 'y', agg: 'sum' }], sort: [{ field: 'y', dir: 'desc' }], layout: L(x, 0, 4, 4), ...extra });
    const F = { name: 'f', title: 'F', tabs: [{ name: 'all', title: 'All', tiles: [table('big', 'many', 0), table('big_limit', 'many', 4, { limit: 1000 }), table('small', 'few', 8)] }] };
    const rows = (n: number) => `select i as y, i as g from range(${n}) as t(i)`;
    const dir = makeProject({ 'models/few.sql': rows(10), 'models/many.sql': rows(2000), 'dashboards/f.json': JSON.stringify(F, null, 2) });
    try {
      const { data: [big, bigLimit, small], ran } = await readTiles(dir);
      for (const d of [big, bigLimit]) {
        expect(d).toMatchObject({ ok: true, total: 2000 });
        // the largest 500, in order
        expect((d.rows as Array<{ y: unknown }>).map((r) => Number(r.y))).toEqual(Array.from({ length: 500 }, (_, i) => 1999 - i));
      }
      expect(small).toMatchObject({ ok: true, total: 10 });
      expect(small.rows).toHaveLength(10);
      // (the two big tables read the same 500 rows: one query, one count)
      expect(ran.filter((x) => x.includes('count(*)')).map((x) => /"(few|many)"/.exec(x)?.[1])).toEqual(['many']);
      expect(ran.filter((x) => /"many"/.test(x) && !x.includes('count(*)'))).toHaveLength(1);
      const r = vigil(dir, ['dashboards', 'render', '--out', 'site']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const html = readFileSync(join(dir, 'site', 'f.html'), 'utf8');
      expect(tileBlock(html, 'big')).toContain('<span class="note">first 500 of 2,000 rows</span>');
      expect(tileBlock(html, 'big')).not.toContain('more rows not shown');
      expect(tileBlock(html, 'small')).not.toContain('first ');
    } finally {
      removeDir(dir);
    }
  }, 120_000);
});

describe('a sampled table of more rows than the site shows', () => {
  it('says how many rows its sample drew, the 500 shown of them (was: 500 of a 1,000-row sample shown, nothing said)', () => {
    const table = { id: 'sampled', type: 'table', title: 'S', model: 'many', measures: [{ name: 'y', column: 'y', agg: 'none' }], sample: { rows: 1000, key: 'y' }, layout: L(0, 0, 6, 4) };
    const small = { ...table, id: 'small_sample', sample: { rows: 300, key: 'y' }, layout: L(6, 0, 6, 4) };
    const F = { name: 'f', title: 'F', tabs: [{ name: 'all', title: 'All', tiles: [table, small] }] };
    const dir = makeProject({ 'models/many.sql': 'select i as y from range(2000) as t(i)', 'dashboards/f.json': JSON.stringify(F, null, 2) });
    try {
      expect(vigil(dir, ['build']).code).toBe(0);
      const r = vigil(dir, ['dashboards', 'render', '--out', 'site']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const html = readFileSync(join(dir, 'site', 'f.html'), 'utf8');
      expect(tileBlock(html, 'sampled')).toContain('<span class="note">first 500 of 1,000 rows</span>');
      expect(tileBlock(html, 'sampled').match(/<tr data-|<tr>/g)?.length).toBe(501);
      expect(tileBlock(html, 'small_sample')).not.toContain('first ');
    } finally {
      removeDir(dir);
    }
  }, 120_000);
});

describe('renders of one site', () => {
  let dir: string;
  const site = () => join(dir, 'site');
  const page = (p: string) => readFileSync(join(site(), p), 'utf8');
  const render = (...args: string[]) => vigil(dir, ['dashboards', 'render', '--out', 'site', ...args]);
  beforeAll(() => {
    dir = makeProject({
      'models/caps.sql': model(CAPS),
      'models/caps.yml': 'models:\n  - name: caps\n    columns:\n      - name: capability\n      - name: n\n      - name: date\n        data_type: date\n',
      'dashboards/d.json': JSON.stringify(D, null, 2),
      'dashboards/e.json': JSON.stringify(E, null, 2),
    });
    expect(vigil(dir, ['build']).code).toBe(0);
  }, 120_000);
  afterAll(() => dir && removeDir(dir));

  it('a category has one color on the dashboard and its drill-down pages, and keeps it when a new one appears (was: recomputed per chart from the names present)', () => {
    const r = render();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const first = new Map(CAPS.map((c) => [c, colorOf(tileBlock(page('d.html'), 'by_cap'), c)]));
    expect(new Set(first.values()).size).toBe(CAPS.length);
    // each drill-down page draws one capability: in its color on the dashboard's page
    for (const c of CAPS) expect(colorOf(tileBlock(page(`d/detail--capability=${c}.html`), 'detail_bars'), c), c).toBe(first.get(c));
    expect(existsSync(join(dir, 'target/.cache/category-colors.json'))).toBe(true);
    // a new capability that hashes to extract's color and sorts first (the old rule moved extract and summarize)
    writeFileSync(join(dir, 'models/caps.sql'), model([...CAPS, 'agent11']));
    expect(vigil(dir, ['build']).code).toBe(0);
    expect(render().code).toBe(0);
    const later = tileBlock(page('d.html'), 'by_cap');
    for (const c of CAPS) expect(colorOf(later, c), c).toBe(first.get(c));
    expect([...first.values()]).not.toContain(colorOf(later, 'agent11'));
    expect(colorOf(tileBlock(page('d/detail--capability=agent11.html'), 'detail_bars'), 'agent11')).toBe(colorOf(later, 'agent11'));
    // the same render again, from the drawings kept: the same colors
    expect(render().code).toBe(0);
    expect(tileBlock(page('d.html'), 'by_cap')).toBe(later);
  });

  it('a table cut at its limit says so, with how many rows there were (was: cut without a word)', () => {
    const list = tileBlock(page('d.html'), 'list');
    expect(list.match(/<tr><td>/g)).toHaveLength(3);
    expect(list).toContain('<span class="note">first 3 of 6 rows</span>');
    // one that is not cut says nothing
    expect(tileBlock(page('e.html'), 'rows')).not.toContain('first ');
  });

  it('removes the pages of a deleted dashboard or tab, and nothing of the user\'s (was: they stayed, with their data)', () => {
    expect(render().code).toBe(0);
    writeFileSync(join(site(), 'mine.html'), '<p>my notes</p>');
    writeFileSync(join(site(), 'd', 'notes.txt'), 'mine');
    expect(pages(site())).toContain('e.html');
    rmSync(join(dir, 'dashboards/e.json'));
    const r = render();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed 1 page an earlier render wrote into site and this one did not: e\.html/);
    expect(pages(site())).not.toContain('e.html');
    expect(page('index.html')).not.toContain('e.html');
    // the Detail tab removed: its drill-down pages go; the folder stays for the user's file in it
    writeFileSync(join(dir, 'dashboards/d.json'), JSON.stringify({ ...D, tabs: [{ ...D.tabs[0], tiles: [bars('by_cap'), D.tabs[0].tiles[1]] }] }, null, 2));
    expect(render().code).toBe(0);
    expect(pages(site())).toEqual(['d.html', 'index.html', 'mine.html']);
    expect(readFileSync(join(site(), 'd', 'notes.txt'), 'utf8')).toBe('mine');
    // a page of the list the user wrote over is theirs now: kept
    writeFileSync(join(dir, 'dashboards/d.json'), JSON.stringify(D, null, 2));
    expect(render().code).toBe(0);
    writeFileSync(join(site(), 'd', 'detail--capability=chat.html'), '<p>mine now</p>');
    rmSync(join(site(), 'd', 'notes.txt'));
    writeFileSync(join(dir, 'dashboards/d.json'), JSON.stringify({ ...D, tabs: [{ ...D.tabs[0], tiles: [bars('by_cap'), D.tabs[0].tiles[1]] }] }, null, 2));
    expect(render().code).toBe(0);
    expect(pages(site())).toEqual(['d.html', 'd/detail--capability=chat.html', 'index.html', 'mine.html']);
  });

  it('--select into the folder of a full site leaves the site of that render: the other dashboards\' pages go with the index\'s links to them', () => {
    writeFileSync(join(dir, 'dashboards/d.json'), JSON.stringify(D, null, 2));
    writeFileSync(join(dir, 'dashboards/e.json'), JSON.stringify(E, null, 2));
    expect(render().code).toBe(0);
    expect(pages(site())).toContain('e.html');
    const r = render('-s', 'd');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('removed 1 page an earlier render wrote into site and this one did not: e.html');
    expect(pages(site())).not.toContain('e.html');
    expect(page('index.html')).toContain('href="d.html"');
    expect(page('index.html')).not.toContain('e.html');
    // the list the next render reads: every page but the user's
    expect(JSON.parse(readFileSync(join(site(), '.vigil-site.json'), 'utf8')).pages).toEqual(pages(site()).filter((p) => p !== 'mine.html'));
  });
});

describe('a window that starts in the middle of the first period of a chart', () => {
  // hourly events from September to December: a date column and a timestamp column
  let row = 0;
  const tile = (id: string, type: string, dims: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) => ({ id, type, title: id, model: 'ev', dimensions: dims, measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 4 * row++, 12, 4), ...extra });
  const W = {
    name: 'w',
    title: 'W',
    filters: [{ name: 'date_range', type: 'date_range', column: 'date', default: '30d' }],
    tabs: [
      {
        name: 'all',
        title: 'All',
        tiles: [
          tile('weekly_line', 'line', [{ column: 'date', granularity: 'week' }]),
          tile('monthly_bar', 'bar', [{ column: 'date', granularity: 'month' }]),
          tile('weekly_heatmap', 'heatmap', [{ column: 'date', granularity: 'week', role: 'x' }, { column: 'ws', role: 'y' }]),
          tile('own_7d', 'bar', [{ column: 'date', granularity: 'week' }], { filters: [{ column: 'date', op: '>=', value: '-7d' }] }),
          tile('daily_24h', 'line', [{ column: 'ts', granularity: 'day' }], { filters: [{ column: 'ts', op: '>=', value: '-24h' }] }),
          tile('month_7d', 'bar', [{ column: 'date', granularity: 'month' }], { filters: [{ column: 'date', op: '>=', value: '-7d' }] }),
        ],
      },
    ],
  };
  let dir: string;
  beforeAll(() => {
    dir = makeProject({
      'models/ev.sql': "select ts, cast(ts as date) as date, 'ws_' || cast(hour(ts) % 3 as varchar) as ws, 1 as n from range(timestamp '2026-05-01', timestamp '2026-12-31', interval 1 hour) as t(ts)",
      'models/ev.yml': 'models:\n  - name: ev\n    columns:\n      - name: ts\n        data_type: timestamp\n      - name: date\n        data_type: date\n      - name: ws\n        data_type: varchar\n      - name: n\n        data_type: integer\n',
      'dashboards/w.json': JSON.stringify(W, null, 2),
    });
    expect(vigil(dir, ['build']).code).toBe(0);
  }, 120_000);
  afterAll(() => dir && removeDir(dir));
  const render = (at: string, env: Record<string, string> = {}) => {
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', at], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return readFileSync(join(dir, 'site', 'w.html'), 'utf8');
  };

  it('marks it partial, from when, as the period still running is (was: drawn short, unmarked: read as a dip)', () => {
    // Thursday Nov 12: the 30 days from Wednesday Oct 14, in the week of Monday Oct 12
    const html = render('2026-11-12T10:00:00Z');
    const weekly = tileBlock(html, 'weekly_line');
    expect(weekly).toContain('<span class="note">Oct 12 week is partial: from Oct 14</span>');
    expect(weekly).toContain('>(partial)<');
    // the line's segment out of it is shaded and labelled, as the one into the last period
    expect(weekly.match(/>partial</g)?.length).toBe(1);
    const monthly = tileBlock(html, 'monthly_bar');
    expect(monthly).toContain('<span class="note">Oct 2026 is partial: from Oct 14</span>');
    expect(monthly).toContain('>(partial)<');
    // its bar faded, as the running month's is
    expect(monthly.match(/<path[^>]*fill-opacity="0\.55"/g)?.length).toBe(2);
    const heat = tileBlock(html, 'weekly_heatmap');
    expect(heat).toContain('<span class="note">Oct 12 week is partial: from Oct 14</span>');
    // the week's column faded (3 workspaces), as the running week's
    expect(heat.match(/<path[^>]*fill-opacity="0\.55"/g)?.length).toBe(6);
    // a tile's own window: -7d from Thursday Nov 5; -24h of a timestamp from Nov 11 10:00
    expect(tileBlock(html, 'own_7d')).toContain('<span class="note">Nov 2 week is partial: from Nov 5</span>');
    expect(tileBlock(html, 'daily_24h')).toContain('<span class="note">Nov 11 is partial: from Nov 11 10:00 UTC</span>');
    // one category, first and last: one mark, its footer says both
    const one = tileBlock(html, 'month_7d');
    expect(one.match(/\((?:partial|as built)\)</g)?.length).toBe(1);
    expect(one).toContain('<span class="note">Nov 2026 as built: daily rows, not cut at 2026-11-12 10:00 UTC; from Nov 5</span>');
    // the same marks in any time zone of the machine (the window is the session's UTC)
    const far = render('2026-11-12T10:00:00Z', { TZ: 'Pacific/Kiritimati' });
    for (const id of ['weekly_line', 'monthly_bar', 'weekly_heatmap', 'own_7d', 'daily_24h', 'month_7d']) expect(tileBlock(far, id), id).toBe(tileBlock(html, id));
  }, 120_000);

  it('does not when the window starts at the start of the period', () => {
    // Tuesday Jun 30: the 30 days from Monday Jun 1, the first of the month
    const html = render('2026-06-30T10:00:00Z');
    for (const id of ['weekly_line', 'monthly_bar', 'weekly_heatmap']) expect(tileBlock(html, id), id).not.toContain('is partial: from');
    expect(tileBlock(html, 'weekly_line')).toContain('>Jun 1<');
    expect(tileBlock(html, 'weekly_line')).not.toContain('>(partial)<');
    // the window of -24h from midnight: the day before is whole
    const midnight = render('2026-06-30T00:00:00Z');
    expect(tileBlock(midnight, 'daily_24h')).not.toContain('is partial: from');
  }, 120_000);
});

describe('a render that fails on the way', () => {
  it('lists the pages it wrote, so the next render removes those it does not write again (was: unlisted, a drill-down page of a value gone from the data stayed for good)', () => {
    const dir = makeProject({
      'models/caps.sql': model(CAPS),
      'models/caps.yml': 'models:\n  - name: caps\n    columns:\n      - name: capability\n      - name: n\n      - name: date\n        data_type: date\n',
      'dashboards/d.json': JSON.stringify(D, null, 2),
    });
    try {
      const site = join(dir, 'site');
      const render = () => vigil(dir, ['dashboards', 'render', '--out', 'site']);
      expect(vigil(dir, ['build']).code).toBe(0);
      expect(render().code).toBe(0);
      // a new capability: its drill-down page is written, then the index cannot be (a folder in its place)
      writeFileSync(join(dir, 'models/caps.sql'), model([...CAPS, 'zeta']));
      expect(vigil(dir, ['build']).code).toBe(0);
      rmSync(join(site, 'index.html'));
      mkdirSync(join(site, 'index.html', 'x'), { recursive: true });
      const failed = render();
      expect(failed.code, failed.stdout + failed.stderr).toBe(2);
      expect(failed.stderr).toMatch(/^error: cannot rename .*index\.html: a folder is where a file should be \(EISDIR\)$/m);
      expect(pages(site)).toContain('d/detail--capability=zeta.html');
      // the capability gone again, the index free: the page the failed render wrote goes
      writeFileSync(join(dir, 'models/caps.sql'), model(CAPS));
      expect(vigil(dir, ['build']).code).toBe(0);
      rmSync(join(site, 'index.html'), { recursive: true });
      const r = render();
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('removed 1 page an earlier render wrote into site and this one did not: d/detail--capability=zeta.html');
      expect(pages(site)).not.toContain('d/detail--capability=zeta.html');
      expect(pages(site)).toContain('d/detail--capability=chat.html');
    } finally {
      removeDir(dir);
    }
  }, 120_000);
});
