/**
 * `vigil dashboards render` writes a page per drill-down target, end to end on DuckDB, with
 * values that are hard to put in a file name or a query: quotes, slashes, unicode, two values
 * that differ only in case, and more values than the cap (50 per tile). Each page's tiles are
 * filtered in SQL; every link of the site resolves to a file and an anchor; --base-url and
 * project.yaml's dashboards.base_url make the links absolute and link app routes; bad values
 * are refused with exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { valueSlug } from '../../src/dashboards/site.js';
import { escapeHtml } from '../../src/dashboards/render.js';

// (an empty text and the text 'null' are values too: their pages are filtered to them, and their chips say so, not "All")
const WEIRD = ["o'brien", 'a/b', 'café ☕', 'Code_Review', 'code_review', '<b>&"x"</b>', '', 'null'];
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
// the weird values first (largest n), then 60 plain ones: 50 pages per tile, 18 left out
const MODEL = [
  ...WEIRD.map((v, i) => `select ${sqlString(v)} as capability, ${1000 - i} as n, current_date as date`),
  "select 'cap' || lpad(cast(i as varchar), 2, '0') as capability, 100 + i as n, current_date as date from range(60) t(i)",
].join('\nunion all\n');

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });
const DASHBOARD = {
  name: 'd',
  title: 'Drill fixture',
  filters: [
    { name: 'date_range', type: 'date_range', column: 'date', default: '7d' },
    { name: 'capability', label: 'Capability', type: 'select', column: 'capability', default: null },
  ],
  tabs: [
    {
      name: 'top',
      title: 'Top',
      tiles: [
        { id: 'list', type: 'table', title: 'All', model: 'caps', dimensions: [{ column: 'capability' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], sort: [{ field: 'n', dir: 'desc' }], limit: 100, drilldown: { tab: 'detail', filters: { capability: '{{ capability }}' } }, links: [{ label: 'Open', url: '/items/{{ capability }}' }], layout: L(0, 0, 6, 6) },
        { id: 'bars', type: 'bar', title: 'Bars', model: 'caps', dimensions: [{ column: 'capability' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], drilldown: { tab: 'detail', filters: { capability: '{{ capability }}' } }, layout: L(6, 0, 6, 6) },
      ],
    },
    {
      name: 'detail',
      title: 'Detail',
      tiles: [{ id: 'rows', type: 'table', title: 'Rows', model: 'caps', dimensions: [{ column: 'capability' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 0, 12, 4) }],
    },
  ],
};

const PROJECT = `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n`;

/** Every html file under `dir`, as paths relative to it. */
function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.html'))
    .map((f) => f.split('\\').join('/'))
    .sort();
}

/** A tile's block of a page. */
function tileBlock(html: string, id: string): string {
  const i = html.indexOf(`data-tile="${id}"`);
  expect(i, id).toBeGreaterThan(0);
  const j = html.indexOf(' data-tile="', i + 10);
  return html.slice(i, j < 0 ? undefined : j);
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

describe('drill-down pages, rendered', () => {
  let dir: string;
  let r: { code: number; stdout: string; stderr: string };
  beforeAll(() => {
    dir = makeProject({
      'project.yaml': PROJECT,
      'models/caps.sql': MODEL,
      'models/caps.yml': 'models:\n  - name: caps\n    columns:\n      - name: capability\n      - name: n\n      - name: date\n        data_type: date\n',
      'dashboards/d.json': JSON.stringify(DASHBOARD, null, 2),
    });
    expect(vigil(dir, ['build']).code).toBe(0);
    // an earlier render's page for a value that is gone, and a file of the user's
    mkdirSync(join(dir, 'site', 'd'), { recursive: true });
    writeFileSync(join(dir, 'site', 'd', 'detail--capability=gone.html'), 'old');
    writeFileSync(join(dir, 'site', 'd', 'notes.txt'), 'mine');
    r = vigil(dir, ['dashboards', 'render', '--out', 'site']);
  }, 120_000);
  afterAll(() => dir && removeDir(dir));

  it('writes one page per value up to the cap, and names the values it left out', () => {
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const pages = htmlFiles(join(dir, 'site'));
    const drill = pages.filter((p) => p.startsWith('d/'));
    expect(drill.length).toBe(50);
    for (const p of drill) expect(p).toMatch(/^d\/detail--capability=[a-z0-9_.~-]+\.html$/);
    for (const v of WEIRD) expect(drill, v).toContain(`d/detail--capability=${valueSlug(v)}.html`);
    expect(r.stdout).toMatch(/50 drill-down pages in site\/d\//);
    const left = Array.from({ length: 18 }, (_, i) => `cap${String(17 - i).padStart(2, '0')}`);
    expect(r.stderr).toContain(`warning: dashboards/d.json: tile list: drill-down pages for 50 values, the most at the top of the tile; left out 18: ${left.join(', ')}`);
    expect(r.stderr).toContain('warning: dashboards/d.json: tile bars: drill-down pages for 50 values');
    // the earlier render's page is gone; the user's file is not
    expect(existsSync(join(dir, 'site', 'd', 'detail--capability=gone.html'))).toBe(false);
    expect(readFileSync(join(dir, 'site', 'd', 'notes.txt'), 'utf8')).toBe('mine');
  });

  it("each page's tiles are filtered in SQL to its value, and its chip says so with a way back", () => {
    for (const v of WEIRD) {
      const html = readFileSync(join(dir, 'site', 'd', `detail--capability=${valueSlug(v)}.html`), 'utf8');
      const rows = tileBlock(html, 'rows');
      const cells = [...rows.matchAll(/<tr><td>(.*?)<\/td>/g)].map((m) => unescape(m[1]));
      expect(cells, v).toEqual([v]);
      // (was: "Capability All" on the pages of '' and 'null', their tiles filtered to them)
      expect(html).toContain(`<span class="chip set" data-filter="capability"><span class="k">Capability</span>${escapeHtml(v === '' ? '(empty)' : v)} <a class="clear" href="../d.html#tab-detail"`);
      expect(html).not.toContain('Capability: All');
      expect(html).toContain('✕ clear</a>');
      // only the target tab is on it; the other tab links to the dashboard's own page
      expect(html).toContain('id="tab-detail"');
      expect(html).not.toContain('id="tab-top"');
      expect(html).toContain('<a href="../d.html#tab-top">Top</a>');
    }
  });

  it('table rows and bars link to their page; a value left out by the cap has none; app routes are text without a base URL', () => {
    const html = readFileSync(join(dir, 'site', 'd.html'), 'utf8');
    const list = tileBlock(html, 'list');
    expect(list).toContain(`<tr data-href="${escapeHtml(`d/detail--capability=${valueSlug("o'brien")}.html#tab-detail`)}"><td><a class="drill-link" href="${escapeHtml(`d/detail--capability=${valueSlug("o'brien")}.html#tab-detail`)}">o&#39;brien</a></td>`);
    expect(list).toMatch(/<tr><td>cap00<\/td>/);
    expect(list).not.toMatch(/href="[^"]*cap00/);
    expect(list).toContain('title="an app route: set dashboards.base_url in project.yaml (or --base-url) to link it">Open</span>');
    expect(list).not.toContain('/items/');
    expect(r.stderr).toContain("warning: dashboards/d.json: tile list: link 'Open' (/items/{{ capability }}) is an app route");
    // the bar chart: a click on a bar opens its category's page (data-drill, by category index)
    const bars = tileBlock(html, 'bars');
    const m = /data-drill="([^"]+)"/.exec(bars);
    expect(m).not.toBeNull();
    const map = JSON.parse(unescape(m![1])) as { c: Array<string | null> };
    expect(map.c.filter(Boolean).length).toBe(50);
    expect(map.c).toContain(`d/detail--capability=${valueSlug('a/b')}.html#tab-detail`);
    // the empty text is a category named "(empty)", with its page (was: a bar with a blank label)
    expect(bars).toMatch(/<text[^>]*>\(empty\)<\/text>/);
    expect(map.c).toContain(`d/detail--capability=${valueSlug('')}.html#tab-detail`);
    expect(bars).toContain('ecmeta_data_index');
    expect(html).toContain('<script>');
  });

  it('every link of the site resolves to a file, and every #anchor to an element of it', () => {
    const site = join(dir, 'site');
    let checked = 0;
    for (const page of htmlFiles(site)) {
      const html = readFileSync(join(site, page), 'utf8');
      const hrefs = [...html.matchAll(/\s(?:href|data-href)="([^"]*)"/g)].map((x) => unescape(x[1]));
      for (const d of html.matchAll(/data-drill="([^"]+)"/g)) hrefs.push(...JSON.stringify(JSON.parse(unescape(d[1]))).match(/"[^"]+\.html#[^"]+"/g)?.map((s) => JSON.parse(s) as string) ?? []);
      for (const href of hrefs) {
        if (/^(https?|data):/.test(href)) continue; // (data: the page's empty icon)
        const [path, anchor] = href.split('#');
        const file = path ? resolve(dirname(join(site, page)), decodeURIComponent(path)) : join(site, page);
        expect(relative(site, file), `${page}: ${href}`).not.toMatch(/^\.\./);
        expect(existsSync(file), `${page}: ${href}`).toBe(true);
        if (anchor) expect(readFileSync(file, 'utf8'), `${page}: ${href}`).toContain(`id="${anchor}"`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('--base-url makes them absolute under it and links app routes; a bad one is refused', () => {
    const abs = vigil(dir, ['dashboards', 'render', '--out', 'site-abs', '--base-url', 'https://bi.example.com/ai']);
    expect(abs.code, abs.stderr).toBe(0);
    expect(abs.stderr).not.toContain('app route');
    const html = readFileSync(join(dir, 'site-abs', 'd.html'), 'utf8');
    expect(html).toContain('href="https://bi.example.com/ai/items/cap59"');
    expect(html).toContain(`href="https://bi.example.com/ai/d/detail--capability=${valueSlug('a/b')}.html#tab-detail"`);
    const page = readFileSync(join(dir, 'site-abs', 'd', 'detail--capability=cap59.html'), 'utf8');
    expect(page).toContain('<a class="clear" href="https://bi.example.com/ai/d.html#tab-detail"');
    const index = readFileSync(join(dir, 'site-abs', 'index.html'), 'utf8');
    expect(index).toContain('href="https://bi.example.com/ai/d.html#tab-top"');
    // no relative link is left
    for (const p of htmlFiles(join(dir, 'site-abs'))) {
      for (const m of readFileSync(join(dir, 'site-abs', p), 'utf8').matchAll(/\shref="([^"]*)"/g)) expect(m[1], p).toMatch(/^(https:\/\/bi\.example\.com\/ai\/|https:\/\/|#tab-|data:,$)/);
    }
    for (const bad of ['ftp://bi.example.com/', 'bi.example.com', 'https://x/?q=1']) {
      const b = vigil(dir, ['dashboards', 'render', '--out', 'site-bad', '--base-url', bad]);
      expect(b.code, bad).toBe(2);
      expect(b.stderr).toMatch(/--base-url: /);
      expect(b.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir, 'site-bad'))).toBe(false);
  });

  it('--out or --png-dir naming a file (or a folder under one): exit 2 at once, nothing rendered, no stack trace', () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    for (const [args, line] of [
      [['dashboards', 'render', '--out', 'a-file'], "error: --out a-file: that is a file, not a folder"],
      [['dashboards', 'render', '--out', 'a-file/site'], 'error: --out a-file/site: a-file is a file, not a folder'],
      [['dashboards', 'render', '--out', 'site-png', '--png-dir', 'a-file'], "error: --png-dir a-file: that is a file, not a folder"],
      [['dashboards', 'export', '--format', 'json', '--out', 'a-file'], "error: --out a-file: that is a file, not a folder"],
    ] as Array<[string[], string]>) {
      const r = vigil(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim(), args.join(' ')).toBe(line);
      expect(r.stdout, args.join(' ')).not.toContain('Queried');
    }
    expect(existsSync(join(dir, 'site-png'))).toBe(false);
    // a folder where an exported file goes: named (not the temporary file it wrote first), nothing left behind
    mkdirSync(join(dir, 'exp', 'd.json'), { recursive: true });
    const blocked = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'exp']);
    expect(blocked.code).toBe(2);
    expect(blocked.stderr.trim()).toBe('error: cannot rename exp/d.json: a folder is where a file should be (EISDIR)');
    expect(readdirSync(join(dir, 'exp'))).toEqual(['d.json']);
  });

  it('an empty or blank --out or --png-dir: exit 2 at once (was: the site written into the project root over its index.html, main.json into the root, the PNGs into target/screenshots)', () => {
    writeFileSync(join(dir, 'index.html'), 'mine');
    for (const [args, line] of [
      [['dashboards', 'render', '--out', ''], "error: --out is empty: give a path ('.' for the working folder)"],
      [['dashboards', 'render', '--out', '  '], "error: --out is only spaces: give a path ('.' for the working folder)"],
      [['dashboards', 'render', '--out=', '--png'], "error: --out is empty: give a path ('.' for the working folder)"],
      [['dashboards', 'render', '--out', 'site-empty-png', '--png-dir', ''], "error: --png-dir is empty: give a path ('.' for the working folder)"],
      [['dashboards', 'export', '--format', 'json', '--out', ''], "error: --out is empty: give a path ('.' for the working folder)"],
      [['dashboards', 'export', '--format', 'looker', '--out', ' '], "error: --out is only spaces: give a path ('.' for the working folder)"],
    ] as Array<[string[], string]>) {
      const r = vigil(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim(), args.join(' ')).toBe(line);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toBe('mine');
    for (const f of ['d.html', 'd.json', 'fixture.model.lkml', 'site-empty-png', '  ', ' ', join('target', 'screenshots')]) expect(existsSync(join(dir, f)), f).toBe(false);
  });

  it("project.yaml's dashboards.base_url does the same; a bad value or an unknown key is an error at its line", () => {
    writeFileSync(join(dir, 'project.yaml'), `${PROJECT}dashboards:\n  base_url: /ai\n`);
    const ok = vigil(dir, ['dashboards', 'render', '--out', 'site-yaml']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(join(dir, 'site-yaml', 'd.html'), 'utf8')).toContain('href="/ai/items/cap59"');
    // the flag wins
    const flag = vigil(dir, ['dashboards', 'render', '--out', 'site-yaml', '--base-url', 'https://other.example/']);
    expect(readFileSync(join(dir, 'site-yaml', 'd.html'), 'utf8'), flag.stderr).toContain('href="https://other.example/items/cap59"');
    writeFileSync(join(dir, 'project.yaml'), `${PROJECT}dashboards:\n  base_url: "ftp://x/"\n`);
    const bad = vigil(dir, ['dashboards', 'render', '--out', 'site-yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^project\.yaml:6:\d+: error: dashboards\.base_url: 'ftp:\/\/x\/' is not an http\(s\) URL/m);
    writeFileSync(join(dir, 'project.yaml'), `${PROJECT}dashboards:\n  baseurl: /ai\n`);
    const unknown = vigil(dir, ['dashboards', 'render', '--out', 'site-yaml']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^project\.yaml:6:\d+: error: dashboards\.baseurl: unknown key 'baseurl'/m);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    writeFileSync(join(dir, 'project.yaml'), PROJECT);
  });
});

describe('names too long for a file', () => {
  it('a drill-down setting several filters to long values gets a page whose name fits, and its link resolves; a name over 63 characters is refused at its line (was: ENAMETOOLONG, an internal error with a stack trace, exit 3)', () => {
    const long = (i: number) => `${'f'.repeat(60)}_${i}`;
    const value = (i: number) => `A long value ${i} ${'x'.repeat(80)}`;
    const cols = [1, 2, 3];
    const D2 = {
      name: 'd',
      title: 'Long',
      filters: cols.map((i) => ({ name: long(i), type: 'select', column: `c${i}`, default: null })),
      tabs: [
        { name: 'top', title: 'Top', tiles: [{ id: 'list', type: 'table', title: 'All', model: 'wide', dimensions: cols.map((i) => ({ column: `c${i}` })), measures: [{ name: 'n', column: 'n', agg: 'sum' }], drilldown: { tab: 'detail', filters: Object.fromEntries(cols.map((i) => [long(i), `{{ c${i} }}`])) }, layout: L(0, 0, 12, 4) }] },
        { name: 'detail', title: 'Detail', tiles: [{ id: 'rows', type: 'table', title: 'Rows', model: 'wide', dimensions: [{ column: 'c1' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 0, 12, 4) }] },
      ],
    };
    const dir = makeProject({
      'project.yaml': PROJECT,
      'models/wide.sql': `select ${cols.map((i) => `${sqlString(value(i))} as c${i}`).join(', ')}, 1 as n`,
      'models/wide.yml': `models:\n  - name: wide\n    columns:\n${cols.map((i) => `      - name: c${i}\n`).join('')}      - name: n\n`,
      'dashboards/d.json': JSON.stringify(D2, null, 2),
    });
    try {
      expect(vigil(dir, ['build']).code).toBe(0);
      const r = vigil(dir, ['dashboards', 'render', '--out', 'site']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const html = readFileSync(join(dir, 'site', 'd.html'), 'utf8');
      const href = unescape(/class="drill-link" href="([^"#]+)#tab-detail"/.exec(html)?.[1] ?? '');
      expect(href).toMatch(/^d\/detail--f{60}_1=a-long-value-1-x+~[0-9a-f]{16}\.html$/);
      expect(Buffer.byteLength(href.split('/')[1])).toBeLessThanOrEqual(200);
      const page = readFileSync(join(dir, 'site', decodeURIComponent(href)), 'utf8');
      expect(page).toContain(escapeHtml(value(1)));
      // a tile id of 64 characters: refused at its line, nothing rendered
      writeFileSync(join(dir, 'dashboards', 'd.json'), JSON.stringify({ ...D2, tabs: [{ ...D2.tabs[0], tiles: [{ ...D2.tabs[0].tiles[0], id: 't'.repeat(64) }] }, D2.tabs[1]] }, null, 2));
      const x = vigil(dir, ['dashboards', 'render', '--out', 'site2']);
      expect(x.code, x.stdout + x.stderr).toBe(2);
      expect(x.stderr).toMatch(/^dashboards\/d\.json:\d+:\d+: error: tabs\[0\]\.tiles\[0\]\.id: must be at most 63 characters/m);
      expect(x.stderr).not.toMatch(/\n\s+at |internal error/);
      expect(existsSync(join(dir, 'site2'))).toBe(false);
    } finally {
      removeDir(dir);
    }
  }, 120_000);
});
