/**
 * What `vigil dashboards render` draws, read back from the page: charts keep apart values whose
 * short labels match (two days a year apart, two times in one minute) and label them so they
 * can be told apart; tables show booleans as true / false; a threshold's label is shown on KPI
 * and gauge tiles. End to end on DuckDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });

// four days, two a year apart, with sums 100, 50, 1, 2 and rates 10..40 %; four times of one day,
// two of them in the same minute
const DAYS = `select * from (values
  (date '2025-11-19', 100, 0.1, true, timestamp '2026-11-19 10:00:05'),
  (date '2025-11-20', 50, 0.2, false, timestamp '2026-11-19 10:00:40'),
  (date '2026-11-19', 1, 0.3, true, timestamp '2026-11-19 10:01:00'),
  (date '2026-11-20', 2, 0.4, false, timestamp '2026-11-19 10:02:00')
) t(day, v, r, flag, ts)`;
// one year, whole minutes: the labels the shipped dashboards have always had
const RECENT = `select * from (values
  (date '2026-11-19', 3, timestamp '2026-11-19 10:00:00'),
  (date '2026-11-20', 4, timestamp '2026-11-19 11:00:00')
) t(day, v, ts)`;

const sumV = { name: 'v', column: 'v', agg: 'sum' };
const DASHBOARD = {
  name: 'd',
  title: 'Values',
  tabs: [
    {
      name: 't',
      title: 'T',
      tiles: [
        { id: 'years', type: 'bar', title: 'By day', model: 'days', dimensions: [{ column: 'day', role: 'x' }], measures: [sumV, { name: 'r', column: 'r', agg: 'avg', format: 'percent' }], layout: L(0, 0, 6, 4) },
        { id: 'seconds', type: 'bar', title: 'By time', model: 'days', dimensions: [{ column: 'ts', role: 'x' }], measures: [sumV], layout: L(6, 0, 6, 4) },
        { id: 'heat', type: 'heatmap', title: 'Heat', model: 'days', dimensions: [{ column: 'day', role: 'x' }, { column: 'flag', role: 'y' }], measures: [sumV], layout: L(0, 4, 12, 4) },
        { id: 'recent_days', type: 'bar', title: 'Recent days', model: 'recent', dimensions: [{ column: 'day', role: 'x' }], measures: [sumV], layout: L(0, 8, 6, 4) },
        { id: 'recent_times', type: 'bar', title: 'Recent times', model: 'recent', dimensions: [{ column: 'ts', role: 'x' }], measures: [sumV], layout: L(6, 8, 6, 4) },
        { id: 'tbl', type: 'table', title: 'Table', model: 'days', dimensions: [{ column: 'day' }, { column: 'flag' }], measures: [sumV], sort: [{ field: 'day', dir: 'asc' }], layout: L(0, 12, 6, 4) },
        { id: 'rate', type: 'kpi', title: 'Rate', model: 'days', measures: [{ name: 'r', column: 'r', agg: 'avg', format: 'percent' }], thresholds: [{ value: 0.05, color: '#D92D20', label: '5 % target' }, { value: 0.5, color: '#7a1d14' }], layout: L(6, 12, 3, 2) },
        { id: 'dial', type: 'gauge', title: 'Dial', model: 'days', measures: [sumV], max: 300, thresholds: [{ value: 100, color: '#12B76A', label: 'fresh' }, { value: 200, color: '#F79009', label: 'late' }, { value: 300, color: '#D92D20', label: 'stale' }], layout: L(9, 12, 3, 4) },
      ],
    },
  ],
};

const PROJECT = `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n`;
const COLUMNS = (model: string, cols: string[]) => `models:\n  - name: ${model}\n    columns:\n${cols.map((c) => `      - name: ${c}\n`).join('')}`;

/** A tile's block of a page. */
function tileBlock(html: string, id: string): string {
  const i = html.indexOf(`data-tile="${id}"`);
  expect(i, id).toBeGreaterThan(0);
  const j = html.indexOf(' data-tile="', i + 10);
  return html.slice(i, j < 0 ? undefined : j);
}

/** The texts of a chart, with where they are drawn. */
function texts(svg: string): Array<{ text: string; x: number; y: number; size: number }> {
  return [...svg.matchAll(/<text\b([^>]*)>([^<]*)<\/text>/g)].map((m) => {
    const t = /transform="translate\(([-\d.]+) ([-\d.]+)\)"/.exec(m[1]);
    return { text: m[2], x: Number(t?.[1] ?? NaN), y: Number(t?.[2] ?? NaN), size: Number(/font-size:(\d+)px/.exec(m[1])?.[1]) };
  });
}

const DATE_LABEL = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d/;
const categories = (svg: string) => texts(svg).filter((t) => DATE_LABEL.test(t.text)).map((t) => t.text);

/** The bars of a chart: their heights by series, in category order, each series divided by its tallest bar. */
function bars(svg: string): number[][] {
  const out: number[][] = [];
  for (const m of svg.matchAll(/<path d="M[-\d.]+ [-\d.]+l[-\d.]+ 0l0 (-?[\d.]+)l[^"]*"[^>]*ecmeta_series_index="(\d+)" ecmeta_data_index="(\d+)" ecmeta_ssr_type="chart"/g)) {
    (out[Number(m[2])] ??= [])[Number(m[3])] = Math.abs(Number(m[1]));
  }
  return out.map((s) => {
    const top = Math.max(...s);
    return s.map((h) => Number((h / top).toFixed(3)));
  });
}

describe('rendered values', () => {
  let dir: string;
  let html: string;
  beforeAll(() => {
    dir = makeProject({
      'project.yaml': PROJECT,
      'models/days.sql': DAYS,
      'models/days.yml': COLUMNS('days', ['day', 'v', 'r', 'flag', 'ts']),
      'models/recent.sql': RECENT,
      'models/recent.yml': COLUMNS('recent', ['day', 'v', 'ts']),
      'dashboards/d.json': JSON.stringify(DASHBOARD, null, 2),
    });
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', '2027-01-01T00:00:00Z']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    html = readFileSync(join(dir, 'site', 'd.html'), 'utf8');
  }, 120_000);
  afterAll(() => dir && removeDir(dir));

  it('two days a year apart are two bars, labelled with their years, each with its own sum and rate (was: one "Nov 19" of 101)', () => {
    const svg = tileBlock(html, 'years');
    expect(categories(svg)).toEqual(['Nov 19, 2025', 'Nov 20, 2025', 'Nov 19, 2026', 'Nov 20, 2026']);
    // sum v 100, 50, 1, 2; avg r 10 %, 20 %, 30 %, 40 %
    expect(bars(svg)).toEqual([
      [1, 0.5, expect.closeTo(0.01, 2), 0.02],
      [0.25, 0.5, expect.closeTo(0.75, 2), 1],
    ]);
  });

  it('two times in one minute are two bars, labelled with their seconds', () => {
    const svg = tileBlock(html, 'seconds');
    expect(categories(svg)).toEqual(['Nov 19 10:00:05', 'Nov 19 10:00:40', 'Nov 19 10:01:00', 'Nov 19 10:02:00']);
    expect(bars(svg)).toEqual([[1, 0.5, expect.closeTo(0.01, 2), 0.02]]);
  });

  it('a heatmap cell is its own day and row', () => {
    const all = texts(tileBlock(html, 'heat'));
    const xs = all.filter((t) => DATE_LABEL.test(t.text));
    const ys = all.filter((t) => t.text === 'true' || t.text === 'false');
    expect(xs.map((t) => t.text)).toEqual(['Nov 19, 2025', 'Nov 20, 2025', 'Nov 19, 2026', 'Nov 20, 2026']);
    // the cells' values (10 px labels), by the column and row they are drawn in
    const cells = Object.fromEntries(
      all
        .filter((t) => t.size === 10)
        .map((t) => [`${xs.find((x) => Math.abs(x.x - t.x) < 1)?.text} ${ys.find((y) => Math.abs(y.y - t.y) < 1)?.text}`, t.text]),
    );
    expect(cells).toEqual({ 'Nov 19, 2025 true': '100', 'Nov 20, 2025 false': '50', 'Nov 19, 2026 true': '1', 'Nov 20, 2026 false': '2' });
  });

  it('days of one year and whole minutes keep their short labels', () => {
    expect(categories(tileBlock(html, 'recent_days'))).toEqual(['Nov 19', 'Nov 20']);
    expect(categories(tileBlock(html, 'recent_times'))).toEqual(['Nov 19 10:00', 'Nov 19 11:00']);
  });

  it('a table shows booleans as true / false (was: 1 / 0)', () => {
    const cells = [...tileBlock(html, 'tbl').matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells).toEqual(['2025-11-19', 'true', '100', '2025-11-20', 'false', '50', '2026-11-19', 'true', '1', '2026-11-20', 'false', '2']);
  });

  it("a KPI lists its labelled thresholds under the value, each in its threshold's color", () => {
    const kpi = tileBlock(html, 'rate');
    expect(kpi).toContain('<div class="kpi-value" style="color:#D92D20">25.0 %</div>');
    expect(kpi).toContain('<div class="kpi-threshold"><span class="th"><i style="border-color:#D92D20"></i>5 % target (5 %)</span></div>');
  });

  it("a gauge names the bands of its labelled thresholds under the dial, in the bands' colors", () => {
    const svg = tileBlock(html, 'dial');
    expect(texts(svg).map((t) => t.text.trim())).toEqual(expect.arrayContaining(['fresh', 'late', 'stale']));
    for (const color of ['#12B76A', '#F79009', '#D92D20']) expect(svg).toMatch(new RegExp(`<text[^>]*fill="${color}"[^>]*>●</text>`));
  });
});

describe('lists and structs in tables and KPIs', () => {
  it('as JSON, exact numbers as their digits (were: "1.5,2.25", "[object Object]", a list of one id as the bare id)', () => {
    const dash = {
      name: 'd',
      title: 'Lists',
      tabs: [
        {
          name: 't',
          title: 'T',
          tiles: [
            { id: 'tbl', type: 'table', title: 'Table', model: 'lists', dimensions: [{ column: 'tags' }, { column: 's' }, { column: 'ids' }], measures: [{ name: 'n', column: 'k', agg: 'count' }], layout: L(0, 0, 6, 4) },
            { id: 'rows', type: 'table', title: 'Rows', model: 'lists', measures: [{ name: 'tags', column: 'tags', agg: 'none' }, { name: 's', column: 's', agg: 'none' }], layout: L(6, 0, 6, 4) },
            { id: 'kpi', type: 'kpi', title: 'K', model: 'lists', measures: [{ name: 'm', column: 'ids', agg: 'max' }], layout: L(0, 4, 3, 2) },
          ],
        },
      ],
    };
    const dir = makeProject({
      'project.yaml': PROJECT,
      'models/lists.sql': "select 1 as k, [1.50::decimal(10,2), 2.25] as tags, {'h': 170141183460469231731687303715884105727::hugeint, 'd': 0.5::decimal(3,2)} as s, [9007199254740993::hugeint] as ids",
      'models/lists.yml': COLUMNS('lists', ['k', 'tags', 's', 'ids']),
      'dashboards/d.json': JSON.stringify(dash, null, 2),
    });
    try {
      expect(vigil(dir, ['build']).code).toBe(0);
      const r = vigil(dir, ['dashboards', 'render', '--out', 'site']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const html = readFileSync(join(dir, 'site', 'd.html'), 'utf8');
      const cells = (id: string) => [...tileBlock(html, id).matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1].replace(/&quot;/g, '"'));
      const struct = '{"h":170141183460469231731687303715884105727,"d":0.5}';
      expect(cells('tbl')).toEqual(['[1.5,2.25]', struct, '[9007199254740993]', '1']);
      expect(cells('rows')).toEqual(['[1.5,2.25]', struct]);
      expect(tileBlock(html, 'kpi')).toMatch(/<div class="kpi-value" style="color:#[0-9a-f]+">\[9007199254740993\]<\/div>/);
    } finally {
      removeDir(dir);
    }
  });
});
