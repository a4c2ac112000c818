/**
 * Drill-downs of the shipped dashboards in headless Chromium (Debian's, via playwright-core),
 * on demo data: the site served by a small static HTTP server on 127.0.0.1, crawled from
 * index.html — every href (and every page a chart or row click opens) answers 200 and its
 * #anchor exists, the same links resolve as files (file://), and every page written is reached
 * — then real clicks: a series of the Overview's capability area chart and a legend item, a
 * row of the Workspace's incidents table, each landing on the Capability page of that value
 * with its tiles filtered to it; the Active workspaces KPI landing on the Workspace tab at
 * 7 days. With --base-url the links are absolute and the crawl passes the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { findChromium } from '../../src/dashboards/screenshot.js';
import { sharedBrowser } from '../support/browser.js';

const chromium = findChromium();
if (!chromium) console.warn('drill-browser.test.ts: browser tests SKIPPED: no Chromium at /usr/bin/chromium, /usr/bin/chromium-browser or $VIGIL_CHROMIUM (apt-get install chromium)');

/** A static file server for `root` (GET only; 404 for anything that is not a file under it). */
function serve(root: string): Promise<{ server: Server; origin: string }> {
  const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.png': 'image/png', '.txt': 'text/plain' };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

interface Found {
  /** The link as written (attribute or click map). */
  raw: string;
  /** Resolved against the page's URL. */
  url: string;
  what: string;
}

/** Every link of the page: <a href>, table rows' data-href, and the pages its charts' clicks open. */
function linksOf(page: Page): Promise<Found[]> {
  return page.evaluate(() => {
    const out: Array<{ raw: string; url: string; what: string }> = [];
    const add = (raw: string | null, what: string) => raw != null && out.push({ raw, url: new URL(raw, location.href).href, what });
    document.querySelectorAll('a[href]').forEach((a) => add(a.getAttribute('href'), `<a> ${(a.textContent ?? '').trim().slice(0, 40)}`));
    document.querySelectorAll('tr[data-href]').forEach((tr) => add(tr.getAttribute('data-href'), 'row'));
    document.querySelectorAll('[data-drill]').forEach((tile) => {
      const walk = (v: unknown): void => {
        if (typeof v === 'string') add(v, `click in ${tile.getAttribute('data-tile')}`);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(JSON.parse(tile.getAttribute('data-drill')!));
    });
    return out;
  });
}

/**
 * Crawl the site from `start` (an http URL) within `prefix`: every link within it must answer
 * 200 and its #anchor must exist; the same raw links resolved against the page's file:// URL
 * must be files (relative links only). Returns the pages visited (paths under the site) and the
 * problems found.
 */
async function crawl(page: Page, siteDir: string, start: string, prefix: string): Promise<{ pages: string[]; problems: string[]; links: number }> {
  const problems: string[] = [];
  const visited = new Set<string>();
  const ids = new Map<string, Set<string>>();
  const anchors: Array<{ url: string; anchor: string; from: string }> = [];
  const status = new Map<string, number>();
  const queue = [start];
  let links = 0;
  while (queue.length) {
    const url = queue.shift()!;
    if (visited.has(url)) continue;
    visited.add(url);
    const resp = await page.goto(url);
    if (resp?.status() !== 200) {
      problems.push(`${url}: ${resp?.status()}`);
      continue;
    }
    ids.set(url, new Set(await page.evaluate(() => [...document.querySelectorAll('[id]')].map((e) => e.id))));
    const rel = url.slice(prefix.length);
    const fileUrl = pathToFileURL(join(siteDir, ...rel.split('/'))).href;
    for (const l of await linksOf(page)) {
      const target = new URL(l.url);
      const bare = `${target.origin}${target.pathname}`;
      if (!bare.startsWith(prefix)) {
        if (target.origin === new URL(prefix).origin) problems.push(`${rel}: ${l.what} -> ${l.raw}: outside the site`);
        continue; // another site (a runbook on GitHub)
      }
      links++;
      if (!status.has(bare)) status.set(bare, (await page.request.get(bare)).status());
      if (status.get(bare) !== 200) problems.push(`${rel}: ${l.what} -> ${l.raw}: HTTP ${status.get(bare)}`);
      if (target.hash) anchors.push({ url: bare, anchor: decodeURIComponent(target.hash.slice(1)), from: `${rel}: ${l.what} -> ${l.raw}` });
      if (bare.endsWith('.html') && !visited.has(bare)) queue.push(bare);
      // the same link on disk, opened from file://
      if (!/^[a-z]+:/i.test(l.raw) && !l.raw.startsWith('/')) {
        const f = new URL(l.raw, fileUrl);
        if (!existsSync(fileURLToPath(f))) problems.push(`${rel}: ${l.what} -> ${l.raw}: no file ${fileURLToPath(f)}`);
      }
    }
  }
  for (const a of anchors) if (ids.has(a.url) && !ids.get(a.url)!.has(a.anchor)) problems.push(`${a.from}: no #${a.anchor}`);
  return { pages: [...visited].map((u) => u.slice(prefix.length)).sort(), problems, links };
}

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.html'))
    .map((f) => f.split(sep).join('/'))
    .sort();
}

/** The texts drawn in a tile's SVG. */
const svgTexts = (page: Page, tile: string) => page.locator(`[data-tile="${tile}"] svg text`).evaluateAll((els) => els.map((e) => e.textContent ?? ''));

describe.skipIf(!chromium)('drill-downs of the shipped dashboards in headless Chromium', () => {
  let dir: string;
  let site: string;
  let http: { server: Server; origin: string };
  let browser: Browser;
  let render: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    dir = makeProject({}, false);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    expect(vigil(dir, ['demo', '--rows', '40000', '--days', '21', '--scenario', 'spike']).code).toBe(0);
    expect(vigil(dir, ['build']).code).toBe(0);
    render = vigil(dir, ['dashboards', 'render', '--out', 'site']);
    site = join(dir, 'site');
    http = await serve(dir);
    browser = await sharedBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    http?.server.close();
    if (dir) removeDir(dir);
  });

  const newPage = async () => {
    const page = await browser.newPage({ viewport: { width: 1328, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()));
    // (a resource that fails: said with its URL)
    page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
    return { page, errors };
  };

  it('renders the drill-down pages', () => {
    expect(render.code, render.stdout + render.stderr).toBe(0);
    expect(render.stdout).toMatch(/Queried 61 tiles and \d+ more for \d+ drill-down pages, \d+ raw-rows quer(y|ies) \(one per page\) in [\d.]+s \(drawing each as it arrived[^)]*\), assembled \d+ pages in/);
    const pages = htmlFiles(site);
    expect(pages.filter((p) => p.startsWith('capability/capability--capability=')).length).toBeGreaterThanOrEqual(4);
    expect(pages.filter((p) => p.startsWith('cost_governance/governance--model=')).length).toBeGreaterThanOrEqual(2);
  });

  it('no link within the site is broken, over HTTP and as files; every page is reached from index.html', async () => {
    const { page, errors } = await newPage();
    const prefix = `${http.origin}/site/`;
    const r = await crawl(page, site, `${prefix}index.html`, prefix);
    expect(r.problems).toEqual([]);
    expect(r.pages).toEqual(htmlFiles(site));
    expect(r.links).toBeGreaterThan(50);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('a click on a series of the capability area chart, or on its legend, opens the Capability page of that capability, filtered', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${http.origin}/site/overview.html`);
    const tile = page.locator('[data-tile="volume_by_capability"]');
    // the capabilities: the tile's list of its pages
    const menu = await tile.locator('.drill-menu .menu a').evaluateAll((as) => as.map((a) => ({ label: a.textContent!, href: a.getAttribute('href')! })));
    expect(menu.length).toBeGreaterThanOrEqual(4);
    const all = menu.map((m) => m.label);
    const map = JSON.parse((await tile.getAttribute('data-drill'))!) as { s: Array<string | null> };
    const labelOf = (href: string) => menu.find((m) => m.href === href)!.label;

    // a real click inside the largest series' area, where it is the topmost element
    await tile.scrollIntoViewIfNeeded();
    const point = await page.evaluate(() => {
      const t = document.querySelector('[data-tile="volume_by_capability"]')!;
      for (const p of t.querySelectorAll('path[data-s="0"]')) {
        if (p.getAttribute('fill') === 'none') continue;
        const r = p.getBoundingClientRect();
        for (let i = 1; i < 30; i++) for (let j = 1; j < 30; j++) {
          const x = r.left + (r.width * i) / 30;
          const y = r.top + (r.height * j) / 30;
          if (document.elementFromPoint(x, y) === p) return { x, y };
        }
      }
      return null;
    });
    expect(point).not.toBeNull();
    const first = labelOf(map.s[0]!);
    await Promise.all([page.waitForURL(/capability--capability=/), page.mouse.click(point!.x, point!.y)]);
    await expectCapabilityPage(page, first, all);

    // the legend item of the second series
    await page.goto(`${http.origin}/site/overview.html`);
    const second = labelOf(map.s[1]!);
    const legend = page.locator('[data-tile="volume_by_capability"] [ecmeta_ssr_type="legend"][ecmeta_series_index="1"]:not([ecmeta_silent])');
    await legend.scrollIntoViewIfNeeded();
    const box = (await legend.boundingBox())!;
    await Promise.all([page.waitForURL(/capability--capability=/), page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)]);
    await expectCapabilityPage(page, second, all);

    // ✕ clear goes back to the unfiltered Capability page
    await Promise.all([page.waitForURL(/\/site\/capability\.html#tab-capability$/), page.locator('[data-filter="capability"] a.clear').click()]);
    expect(await page.locator('[data-filter="capability"]').innerText()).toMatch(/Capability\s*All/);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  /** Every capability of the data: the Overview area chart's pages. */
  async function allCapabilities(): Promise<string[]> {
    const { page } = await newPage();
    await page.goto(`${http.origin}/site/overview.html`);
    const all = await page.locator('[data-tile="volume_by_capability"] .drill-menu .menu a').allTextContents();
    await page.close();
    expect(all.length).toBeGreaterThanOrEqual(4);
    return all;
  }

  /** The Capability tab filtered to `value`: the URL, the chip, and tiles listing only it among `all`. */
  async function expectCapabilityPage(page: Page, value: string, all: string[]) {
    expect(new URL(page.url()).hash).toBe('#tab-capability');
    expect(decodeURIComponent(new URL(page.url()).pathname)).toMatch(/\/site\/capability\/capability--capability=[a-z0-9_.~-]+\.html$/);
    const chip = await page.locator('[data-filter="capability"]').innerText();
    expect(chip).toContain(value);
    expect(chip).toContain('✕ clear');
    expect(await page.locator('section.tab').count()).toBe(1);
    // tiles by capability show that one only
    for (const id of ['success_vs_failure', 'latency_by_capability']) {
      const texts = await svgTexts(page, id);
      expect(texts, id).toContain(value);
      for (const other of all.filter((x) => x !== value)) expect(texts, `${id} shows ${other}`).not.toContain(other);
    }
  }

  it('a click on a row of the incidents table opens the Capability page of its capability', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${http.origin}/site/workspace.html`);
    const row = page.locator('[data-tile="recent_incidents"] tr[data-href]').first();
    expect(await row.count()).toBe(1);
    const capability = (await row.locator('td').allInnerTexts())[1];
    await row.scrollIntoViewIfNeeded();
    // the date cell: not a link itself, the row opens the page
    await Promise.all([page.waitForURL(/capability--capability=/), row.locator('td').first().click()]);
    await expectCapabilityPage(page, capability, await allCapabilities());
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("a row's Raw logs action opens the rows of its capability and day: no prompt text, the SQL shown and copyable", async () => {
    const { page, errors } = await newPage();
    await page.goto(`${http.origin}/site/capability.html`);
    const rows = page.locator('[data-tile="anomaly_table"] tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    const row = rows.first();
    const cells = await row.locator('td').allInnerTexts();
    const [day, capability] = cells;
    expect(day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // the PagerDuty draft: the row's title, encoded
    expect(await row.locator('a', { hasText: 'PagerDuty incident' }).getAttribute('href')).toBe(`https://example.pagerduty.com/incidents/new?title=${encodeURIComponent(`Volume ${cells[2]}: ${capability} on ${day}`)}`);
    await row.scrollIntoViewIfNeeded();
    await Promise.all([page.waitForURL(/\/site\/capability\/rows\/anomaly_table--capability=.*--created_at=.*\.html$/), row.locator('a.raw-link').click()]);
    // the rows: all of that capability, all on that UTC day, newest first
    const table = page.locator('table[data-raw-rows]');
    const head = await table.locator('thead th').allInnerTexts();
    expect(head).toEqual(['created_at', 'id', 'workspace_id', 'provider', 'model', 'status', 'is_error', 'duration_ms', 'prompt_chars', 'total_tokens']);
    const shown = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThanOrEqual(100);
    for (const r of shown) expect(r[0].slice(0, 10), r.join(' ')).toBe(day);
    expect([...shown.map((r) => r[0])].sort().reverse()).toEqual(shown.map((r) => r[0]));
    // they are the rows of that capability and day in the raw table, and their prompts are nowhere on the page
    const ids = shown.map((r) => Number(r[1]));
    const { DuckDbAdapter } = await import('../../src/adapters/duckdb/duckdb-adapter.js');
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    let truth: Array<Record<string, unknown>>;
    try {
      truth = await db.query(`select id, coalesce(capability, 'unknown') as capability, request_metadata->>'prompt' as prompt from raw.ai_audit_logs where id in (${ids.join(', ')})`);
      const all = await db.query(`select count(*)::int as n from analytics.stg_ai_audit_logs where capability = '${capability.replace(/'/g, "''")}' and created_at >= timestamptz '${day} 00:00:00+00' and created_at < timestamptz '${day} 00:00:00+00' + interval 1 day`);
      expect(shown.length).toBe(Math.min(100, Number(all[0].n)));
    } finally {
      await db.close();
    }
    expect(truth.length).toBe(ids.length);
    const text = await page.locator('body').innerText();
    const html = await page.content();
    for (const t of truth) {
      expect(t.capability).toBe(capability);
      expect(String(t.prompt).length).toBeGreaterThan(10);
      expect(text, 'a prompt on the page').not.toContain(String(t.prompt));
      expect(html).not.toContain(String(t.prompt).slice(0, 30));
    }
    // the SQL, and its Copy button
    const sql = await page.locator('#raw-sql').innerText();
    expect(sql).toContain(`where "capability" = '${capability.replace(/'/g, "''")}'`);
    expect(sql).toContain(`"created_at" >= cast('${day}T00:00:00.000Z' as timestamptz)`);
    expect(sql).toMatch(/order by "created_at" desc\nlimit 100$/);
    const origin = new URL(page.url()).origin;
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    await page.locator('button[data-copy="raw-sql"]').click();
    await expect.poll(() => page.locator('button[data-copy="raw-sql"]').innerText()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(sql);
    // back to the tab it came from
    await Promise.all([page.waitForURL(/\/site\/capability\.html#tab-capability$/), page.locator('.lede a').click()]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the Workspace incidents table has the action too; a row of it opens its page', async () => {
    const pages = htmlFiles(site);
    expect(pages.filter((p) => p.startsWith('capability/rows/anomaly_table--')).length).toBeGreaterThan(0);
    expect(pages.filter((p) => p.startsWith('workspace/rows/recent_incidents--')).length).toBeGreaterThan(0);
    const { page, errors } = await newPage();
    await page.goto(`${http.origin}/site/workspace.html`);
    const row = page.locator('[data-tile="recent_incidents"] tbody tr').first();
    const capability = (await row.locator('td').allInnerTexts())[1];
    await row.scrollIntoViewIfNeeded();
    // the action is a link: it opens the raw rows, not the drill-down the row itself opens
    await Promise.all([page.waitForURL(/\/site\/workspace\/rows\/recent_incidents--/), row.locator('a.raw-link').click()]);
    expect(await page.locator('.chip.set').first().innerText()).toBe(`capability = ${capability}`);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('a click on the Active workspaces KPI opens the Workspace tab at 7 days', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${http.origin}/site/overview.html`);
    await Promise.all([page.waitForURL(/\/site\/workspace\.html#tab-workspace$/), page.locator('[data-tile="active_workspaces_7d"] .kpi-value').click()]);
    expect(await page.locator('[data-filter="date_range"]').innerText()).toMatch(/Date range\s*last 7 days/);
    expect(await page.locator('#tab-workspace').isVisible()).toBe(true);
    // the heatmap's days: at most 7
    const days = new Set((await svgTexts(page, 'activity_heatmap')).flatMap((t) => /^[A-Z][a-z]{2} \d{1,2}(?!\d)/.exec(t) ?? []));
    expect(days.size).toBeGreaterThan(0);
    expect(days.size).toBeLessThanOrEqual(7);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('with --base-url the links are absolute under it, and the crawl finds none broken', async () => {
    const base = `${http.origin}/abs/`;
    const r = vigil(dir, ['dashboards', 'render', '--out', 'abs', '--base-url', base]);
    expect(r.code, r.stderr).toBe(0);
    const { page } = await newPage();
    const c = await crawl(page, join(dir, 'abs'), `${base}index.html`, base);
    // app routes (/workspaces/...) now link under the base URL: not pages of this static site
    expect(c.problems.filter((p) => !/ Open -> http:\/\/127\.0\.0\.1:\d+\/abs\/workspaces\/[^:]+: HTTP 404$/.test(p))).toEqual([]);
    expect(c.problems.length).toBeGreaterThan(0);
    expect(c.pages).toEqual(htmlFiles(join(dir, 'abs')));
    const hrefs = await page.evaluate(() => [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')!));
    expect(hrefs.length).toBeGreaterThan(0);
    for (const h of hrefs) expect(h).toMatch(new RegExp(`^(${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}|https://|#tab-)`));
    await page.close();
  }, 180_000);
});
