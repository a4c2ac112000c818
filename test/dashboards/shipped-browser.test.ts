/**
 * The shipped dashboards end to end: demo data (spike scenario) -> vigil build -> vigil dashboards
 * render --png, then each page opened in headless Chromium (Debian's, via playwright-core):
 * every tile present, drawn and non-empty, no console errors, and one non-blank PNG per tab.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { sharedBrowser } from '../support/browser.js';
import { pngStats } from '../support/png-stats.js';
import { findChromium } from '../../src/dashboards/screenshot.js';

const chromium = findChromium();
if (!chromium) console.warn('shipped-browser.test.ts: browser tests SKIPPED: no Chromium at /usr/bin/chromium, /usr/bin/chromium-browser or $VIGIL_CHROMIUM (apt-get install chromium)');

type Json = { name: string; tabs: Array<{ name: string; title: string; tiles: Array<{ id: string; type: string }> }> };
const shipped: Json[] = readdirSync(join(REPO, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(REPO, 'dashboards', f), 'utf8')) as Json);

describe.skipIf(!chromium)('shipped dashboards in headless Chromium', () => {
  let dir: string;
  let render: { code: number; stdout: string; stderr: string };
  beforeAll(() => {
    dir = makeProject({}, false);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    expect(vigil(dir, ['demo', '--rows', '40000', '--days', '21', '--scenario', 'spike']).code).toBe(0);
    expect(vigil(dir, ['build']).code).toBe(0);
    // the spike fires: the alert history has an incident for the Workspace tab's incidents table
    expect(vigil(dir, ['alerts', 'evaluate', '-s', 'ai_audit_volume_spike']).stdout).toContain('History: 1 alert event written to vigil_alert_events.');
    render = vigil(dir, ['dashboards', 'render', '--out', 'site', '--png', '--png-dir', 'shots']);
  }, 180_000);
  afterAll(() => dir && removeDir(dir));

  it('renders every dashboard and tab, with no failed tile', () => {
    expect(render.code, render.stdout + render.stderr).toBe(0);
    expect(render.stdout).toMatch(/Queried 61 tiles and \d+ more for \d+ drill-down pages, \d+ raw-rows quer(y|ies) \(one per page\) in [\d.]+s/);
    for (const d of shipped) expect(existsSync(join(dir, 'site', `${d.name}.html`)), d.name).toBe(true);
    expect(existsSync(join(dir, 'site', 'index.html'))).toBe(true);
    // no object where a string belongs (was: the heatmaps' colour scale, "fill:[object Object]" in its SVG styles)
    for (const d of shipped) expect(readFileSync(join(dir, 'site', `${d.name}.html`), 'utf8'), d.name).not.toContain('[object Object]');
  });

  it('every tile is present, drawn and non-empty, with no console errors', async () => {
    const browser = await sharedBrowser();
    try {
      for (const d of shipped) {
        const page = await browser.newPage({ viewport: { width: 1328, height: 900 } });
        const errors: string[] = [];
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`file://${join(dir, 'site', `${d.name}.html`)}`);
        for (const tab of d.tabs) {
          expect(await page.locator(`#tab-${tab.name}`).count(), `${d.name}#${tab.name}`).toBe(1);
          for (const t of tab.tiles) {
            const tile = page.locator(`[data-tile="${t.id}"]`);
            expect(await tile.count(), `${d.name}.${t.id}`).toBe(1);
            expect(await tile.isVisible(), `${d.name}.${t.id}`).toBe(true);
            const box = await tile.boundingBox();
            expect(box!.width * box!.height, `${d.name}.${t.id}`).toBeGreaterThan(100 * 90);
            const text = (await tile.innerText()).trim();
            expect(text, `${d.name}.${t.id}`).not.toMatch(/No data|Query failed|Could not draw/);
            // the demo is not synced: the sync freshness gauge says so instead of drawing (test/dashboards/sync-freshness.test.ts)
            if (t.id === 'freshness') expect(text).toContain('Not synced yet');
            else if (!['kpi', 'table'].includes(t.type)) expect(await tile.locator('svg').count(), `${d.name}.${t.id} has a chart`).toBeGreaterThan(0);
            if (t.type === 'table') expect(await tile.locator('tbody tr').count(), `${d.name}.${t.id} has rows`).toBeGreaterThan(0);
            // its description whole, on as many lines as it needs (was: cut with "…" on one line)
            const desc = tile.locator('.desc');
            if (await desc.count()) expect(await desc.evaluate((el) => el.scrollHeight <= el.clientHeight + 1 && el.scrollWidth <= el.clientWidth + 1), `${d.name}.${t.id}: its description is cut`).toBe(true);
          }
        }
        expect(errors, d.name).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });

  it('no title, footer, note or KPI line is cut, at phone width (390 px) and at 1280 px: they wrap', async () => {
    const browser = await sharedBrowser();
    try {
      for (const width of [390, 1280]) {
        const page = await browser.newPage({ viewport: { width, height: 844 } });
        for (const d of shipped) {
          await page.goto(`file://${join(dir, 'site', `${d.name}.html`)}`);
          // (the model's name beside a title gives way to it at 1280 px, its end cut; on a phone it goes under the title, whole)
          const cut = await page.evaluate((selector) => {
            const out: string[] = [];
            for (const el of document.querySelectorAll<HTMLElement>(selector)) {
              const tile = el.closest<HTMLElement>('.tile')!;
              const what = `${tile.dataset.tile} ${el.tagName.toLowerCase()}.${el.className} "${el.textContent}"`;
              // cut: wider or taller than its box (an ellipsis, a hidden overflow), or outside its tile (which hides what overflows it)
              if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) out.push(`${what}: cut (${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight})`);
              const r = el.getBoundingClientRect();
              const t = tile.getBoundingClientRect();
              if (r.width && (r.left < t.left - 1 || r.right > t.right + 1 || r.top < t.top - 1 || r.bottom > t.bottom + 1)) out.push(`${what}: outside its tile`);
            }
            return out;
          }, `.tile h3, .tile-foot, .tile-foot .note, .kpi-change, .kpi-window, .kpi-threshold${width < 900 ? ', .tile .model' : ''}`);
          expect(cut, `${d.name} at ${width} px`).toEqual([]);
        }
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });

  it("tiles sized to their content: a short table or a \"No data\" gives back the grid rows it does not need, showing all it holds without scrolling (was: the Cost tab's 4-row table in a tile of 4 grid rows, mostly empty)", async () => {
    const browser = await sharedBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1328, height: 900 } });
      let fitted = 0;
      for (const d of shipped) {
        await page.goto(`file://${join(dir, 'site', `${d.name}.html`)}`);
        const tiles = await page.evaluate(() =>
          [...document.querySelectorAll<HTMLElement>('.tile[data-fit]')].map((t) => {
            const wrap = t.querySelector<HTMLElement>('.table-wrap, .nodata')!;
            const foot = t.querySelector<HTMLElement>('.tile-foot');
            return { id: t.dataset.tile!, fit: Number(t.dataset.fit), height: t.getBoundingClientRect().height, scrolls: wrap.scrollHeight > wrap.clientHeight + 1, footInside: !foot || foot.getBoundingClientRect().bottom <= t.getBoundingClientRect().bottom + 1, rows: t.querySelectorAll('tbody tr').length };
          }),
        );
        for (const t of tiles) {
          fitted++;
          expect(t.scrolls, `${d.name}.${t.id}: its rows do not fit`).toBe(false);
          expect(t.footInside, `${d.name}.${t.id}: its footer is cut`).toBe(true);
        }
        // alone in its rows, it ends with the rows it needs (110 px a grid row, 12 px between rows; a
        // tile beside another that needs them keeps them: tiles side by side keep one height)
        if (d.name === 'cost_governance') {
          const table = tiles.find((t) => t.id === 'cost_table');
          expect(table).toMatchObject({ rows: 4, fit: 2 });
          expect(table!.height).toBeLessThanOrEqual(2 * 110 + 12 + 1);
        }
      }
      expect(fitted).toBeGreaterThan(0);
      await page.close();
    } finally {
      await browser.close();
    }
  });

  it('one non-blank PNG per tab, named after its title; by default under target/, never in the repository', async () => {
    // seed 001's names for the three tabs it specifies
    expect(shipped.flatMap((d) => d.tabs.map((t) => t.title))).toEqual(expect.arrayContaining(['Overview', 'Workspace', 'Capability']));
    const expected = shipped.flatMap((d) => d.tabs.map((t) => `${t.title}.png`)).sort();
    expect(expected).toEqual(expect.arrayContaining(['Overview.png', 'Workspace.png', 'Capability.png']));
    // the default place: target/screenshots (one dashboard, to keep it short)
    const tracked = readdirSync(dir).sort();
    const byDefault = vigil(dir, ['dashboards', 'render', '--out', 'site2', '-s', 'overview', '--png', '--at', '2026-11-01T09:30:00Z']);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(readdirSync(join(dir, 'target', 'screenshots'))).toEqual(['Overview.png']);
    expect(readdirSync(dir).sort()).toEqual([...tracked, 'site2'].sort());
    expect(readFileSync(join(dir, 'site2', 'overview.html'), 'utf8')).toContain('as of <time datetime="2026-11-01T09:30:00.000Z">2026-11-01 09:30 UTC</time>');
    expect(readdirSync(join(dir, 'shots')).sort()).toEqual(expected);
    const browser = await sharedBrowser();
    try {
      const page = await browser.newPage();
      for (const f of expected) {
        const stats = await pngStats(page, join(dir, 'shots', f));
        expect(stats.w, f).toBeGreaterThan(1000);
        expect(stats.h, f).toBeGreaterThan(600);
        expect(stats.colors, f).toBeGreaterThan(50);
      }
    } finally {
      await browser.close();
    }
  });
});
