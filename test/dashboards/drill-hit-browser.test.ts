/**
 * A chart click opens the drill-down of what is drawn under the pointer, in headless Chromium
 * with real mouse clicks: inside each band of a stacked area chart (found with isPointInFill on
 * the band's path), on each line of a line chart (a point of its stroke), on each series of a
 * stacked bar chart, each slice of a donut and each row of a heatmap. zrender's SSR output made
 * the stroke-only line paths catch clicks over the whole region their outline encloses, so a
 * click inside a band opened another series' page (render.ts strokeHitsOnly).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { findChromium } from '../../src/dashboards/screenshot.js';
import { sharedBrowser } from '../support/browser.js';

const chromium = findChromium();
if (!chromium) console.warn('drill-hit-browser.test.ts: browser tests SKIPPED: no Chromium at /usr/bin/chromium, /usr/bin/chromium-browser or $VIGIL_CHROMIUM (apt-get install chromium)');

// four kinds over 12 days, apart in size, rising to a hump mid-way and wavy: a line's outline
// then encloses the region between it and the chord of its ends, over the bands below it. For the
// line chart, \`m\`: the smallest series (drawn last) high at both ends and 0 between, over the others
const MODEL = `select k.kind, cast('2026-03-01' as date) + cast(d.i as integer) as date,
  (k.w * 30 + case when d.i between 4 and 8 then k.w * 50 else 0 end + ((d.i * 7 + k.w * 3) % 9) * 4)::bigint as n,
  (case when k.kind <> 'delta' then k.w * 30 + ((d.i * 5 + k.w) % 7) * 4 when d.i in (0, 11) then 300 else 0 end)::bigint as m
from (values ('alpha', 4), ('beta', 3), ('gamma', 2), ('delta', 1)) k(kind, w), range(12) d(i)`;

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });
const drill = { tab: 'detail', filters: { kind: '{{ kind }}' } };
const byDay = [{ column: 'date', role: 'x' }, { column: 'kind', role: 'series' }];
const n = [{ name: 'n', column: 'n', agg: 'sum', format: 'integer' }];
const DASHBOARD = {
  name: 'd',
  title: 'Hits',
  filters: [{ name: 'kind', type: 'select', column: 'kind', default: null }],
  tabs: [
    {
      name: 'charts',
      title: 'Charts',
      tiles: [
        { id: 'stacked_area', type: 'area', title: 'Stacked area', model: 'kinds', stacked: true, dimensions: byDay, measures: n, drilldown: drill, layout: L(0, 0, 6, 5) },
        { id: 'lines', type: 'line', title: 'Lines', model: 'kinds', dimensions: byDay, measures: [{ name: 'm', column: 'm', agg: 'sum' }], drilldown: drill, layout: L(6, 0, 6, 5) },
        { id: 'stacked_bars', type: 'bar', title: 'Stacked bars', model: 'kinds', stacked: true, dimensions: byDay, measures: n, drilldown: drill, layout: L(0, 5, 6, 5) },
        { id: 'overlaid_area', type: 'area', title: 'Area', model: 'kinds', dimensions: byDay, measures: n, drilldown: drill, layout: L(6, 5, 6, 5) },
        { id: 'donut', type: 'donut', title: 'Donut', model: 'kinds', dimensions: [{ column: 'kind' }], measures: n, drilldown: drill, layout: L(0, 10, 6, 5) },
        { id: 'heatmap', type: 'heatmap', title: 'Heatmap', model: 'kinds', dimensions: [{ column: 'date', role: 'x' }, { column: 'kind', role: 'y' }], measures: n, drilldown: drill, layout: L(6, 10, 6, 5) },
      ],
    },
    { name: 'detail', title: 'Detail', tiles: [{ id: 'rows', type: 'table', title: 'Rows', model: 'kinds', dimensions: [{ column: 'kind' }], measures: n, layout: L(0, 0, 12, 4) }] },
  ],
};

interface Target {
  x: number;
  y: number;
  /** The page the element drawn under (x, y) opens, as written in the tile's click map. */
  href: string;
  what: string;
}

/**
 * For each distinct page a tile's marked elements open, up to three points where that element is
 * the topmost marked one drawn: by geometry (isPointInFill, isPointInStroke), not by the browser's
 * hit testing (which is under test). Inside a fill, at a quarter, half and three quarters across
 * it, the middle of the points inside it whose neighbors 2px around are too (off its edges); on a
 * stroke-only path, points of the stroke no other marked element is drawn at.
 */
function targets(page: Page, tile: string): Promise<Target[]> {
  return page.evaluate((tileId) => {
    const t = document.querySelector(`[data-tile="${tileId}"]`)!;
    const m = JSON.parse(t.getAttribute('data-drill')!) as { s?: Array<string | null>; c?: Array<string | null>; p?: Record<string, string> };
    const marked = [...t.querySelectorAll('svg [data-s], svg [ecmeta_series_index]')].filter(
      (e): e is SVGGeometryElement => e instanceof SVGGeometryElement && e.getAttribute('ecmeta_ssr_type') !== 'legend' && !e.hasAttribute('ecmeta_silent'),
    );
    const painted = (v: string | null) => v != null && v !== 'none' && v !== 'transparent';
    const at = (e: SVGGeometryElement, x: number, y: number) => {
      const q = new DOMPoint(x, y).matrixTransform(e.getScreenCTM()!.inverse());
      return (painted(e.getAttribute('fill')) && e.isPointInFill(q)) || (painted(e.getAttribute('stroke')) && e.getAttribute('stroke-opacity') !== '0' && e.isPointInStroke(q));
    };
    const top = (x: number, y: number) => {
      if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) return null;
      for (let k = marked.length - 1; k >= 0; k--) if (at(marked[k], x, y)) return marked[k];
      return null;
    };
    const hrefOf = (e: Element) => {
      if (e.hasAttribute('data-s')) return m.s?.[+e.getAttribute('data-s')!] ?? null;
      const s = e.getAttribute('ecmeta_series_index')!;
      const i = e.getAttribute('ecmeta_data_index')!;
      return m.p?.[`${s}:${i}`] ?? m.s?.[+s] ?? m.c?.[+i] ?? null;
    };
    const out: Array<{ x: number; y: number; href: string; what: string }> = [];
    const done = new Set<string>();
    for (const e of marked) {
      const href = hrefOf(e);
      if (!href || done.has(href)) continue;
      const what = `${e.hasAttribute('data-s') ? `data-s=${e.getAttribute('data-s')}` : `series ${e.getAttribute('ecmeta_series_index')}, item ${e.getAttribute('ecmeta_data_index')}`} (fill ${e.getAttribute('fill')})`;
      const before = out.length;
      if (painted(e.getAttribute('fill'))) {
        // at a quarter, half and three quarters across, the middle of the run of points inside it
        const r = e.getBoundingClientRect();
        for (const fx of [0.25, 0.5, 0.75]) {
          const x = r.left + r.width * fx;
          const run: number[] = [];
          for (let j = 1; j < 48; j++) {
            const y = r.top + (r.height * j) / 48;
            if ([[0, 0], [2, 0], [-2, 0], [0, 2], [0, -2]].every(([dx, dy]) => top(x + dx, y + dy) === e)) run.push(y);
          }
          if (run.length) out.push({ x, y: run[Math.floor(run.length / 2)], href, what });
        }
      } else {
        // points of the stroke at about a quarter, half and three quarters of its length
        const ctm = e.getScreenCTM()!;
        const len = e.getTotalLength();
        for (const k0 of [10, 20, 30]) {
          for (let k = k0; k < k0 + 10; k++) {
            const p = e.getPointAtLength((len * k) / 40).matrixTransform(ctm);
            if (top(p.x, p.y) === e && marked.every((o) => o === e || !at(o, p.x, p.y))) {
              out.push({ x: p.x, y: p.y, href, what });
              break;
            }
          }
        }
      }
      if (out.length > before) done.add(href);
    }
    return out;
  }, tile);
}

describe.skipIf(!chromium)('a chart click opens the drill-down of what is drawn under the pointer (Chromium, real clicks)', () => {
  let dir: string;
  let browser: Browser;
  let url: string;
  beforeAll(async () => {
    dir = makeProject({
      'models/kinds.sql': `{{ config(materialized='table') }}\n${MODEL}`,
      'models/kinds.yml': 'models:\n  - name: kinds\n    columns:\n      - name: kind\n        data_type: varchar\n      - name: date\n        data_type: date\n      - name: n\n        data_type: bigint\n      - name: m\n        data_type: bigint\n',
      'dashboards/d.json': JSON.stringify(DASHBOARD, null, 2),
    });
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', '2026-03-20T12:00:00Z']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    url = pathToFileURL(join(dir, 'site', 'd.html')).href;
    browser = await sharedBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) removeDir(dir);
  });

  it("a click on a band's edge, inside the band above it, opens the band above's page (the edge line is the band below's, drawn over it)", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 2400 } });
    try {
      await page.goto(url);
      // on each band's top edge mid-way, a quarter pixel up: inside the band above, on the edge's stroke
      const found = await page.evaluate(() => {
        const t = document.querySelector('[data-tile="stacked_area"]')!;
        const m = JSON.parse(t.getAttribute('data-drill')!) as { s: Array<string | null> };
        const paths = [...t.querySelectorAll('svg path')] as SVGPathElement[];
        const color = (p: Element, a: string) => (p.getAttribute(a) ?? '').toLowerCase();
        const bands = paths.filter((p) => p.hasAttribute('data-s') && color(p, 'fill').startsWith('#'));
        const out: Array<{ x: number; y: number; href: string; what: string }> = [];
        const local = (e: SVGGraphicsElement, x: number, y: number) => new DOMPoint(x, y).matrixTransform(e.getScreenCTM()!.inverse());
        for (const edge of paths.filter((p) => color(p, 'fill') === 'none' && color(p, 'stroke').startsWith('#') && !p.hasAttribute('ecmeta_ssr_type') && p.getTotalLength() > 0)) {
          const below = bands.findIndex((b) => color(b, 'fill') === color(edge, 'stroke'));
          if (below < 0) continue;
          const c = edge.getPointAtLength(edge.getTotalLength() / 2).matrixTransform(edge.getScreenCTM()!);
          const x = c.x;
          const y = c.y - 0.25;
          const inside = bands.filter((b) => b.isPointInFill(local(b, x, y)));
          if (inside.length !== 1 || inside[0] === bands[below] || !edge.isPointInStroke(local(edge, x, y))) continue;
          out.push({ x, y, href: m.s[+inside[0].getAttribute('data-s')!]!, what: `edge of band ${bands[below].getAttribute('data-s')}` });
        }
        return out;
      });
      expect(found.length, JSON.stringify(found)).toBeGreaterThanOrEqual(3);
      const wrong: string[] = [];
      for (const f of found) {
        await page.goto(url);
        await Promise.all([page.waitForURL((u) => u.href !== url, { timeout: 15_000 }), page.mouse.click(f.x, f.y)]);
        if (page.url() !== new URL(f.href, url).href) wrong.push(`${f.what} at (${f.x}, ${f.y}): opened ${page.url().slice(url.length - 6)}, not ${f.href}`);
      }
      expect(wrong).toEqual([]);
    } finally {
      await page.close();
    }
  });

  const cases: Array<[string, string, number]> = [
    ['stacked_area', 'inside each band of a stacked area chart', 4],
    ['lines', 'on each line of a line chart', 4],
    ['stacked_bars', 'on each series of a stacked bar chart', 4],
    ['overlaid_area', 'inside the area of each series of an area chart where it is drawn on top', 4],
    ['donut', 'on each slice of a donut', 4],
    ['heatmap', 'on a cell of each row of a heatmap', 4],
  ];
  for (const [tile, what, pages] of cases) {
    it(`a click ${what} opens its own page`, async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 2400 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(url);
        const found = await targets(page, tile);
        // every kind has its page, and a point found where it alone is drawn
        expect(new Set(found.map((f) => f.href)).size, JSON.stringify(found)).toBe(pages);
        const wrong: string[] = [];
        for (const f of found) {
          await page.goto(url);
          const want = new URL(f.href, url).href;
          await Promise.all([page.waitForURL((u) => u.href !== url, { timeout: 15_000 }), page.mouse.click(f.x, f.y)]);
          if (page.url() !== want) wrong.push(`${f.what} at (${Math.round(f.x)}, ${Math.round(f.y)}): opened ${page.url().slice(url.length - 6)}, not ${f.href}`);
        }
        expect(wrong).toEqual([]);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    }, 60_000);
  }
});
