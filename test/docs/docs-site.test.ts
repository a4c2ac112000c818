/**
 * `vigil docs generate` and `vigil docs serve` on the shipped project (demo data, built), then the
 * site in headless Chromium (Debian's, via playwright-core): every page loads with no console
 * error, the lineage graph renders with a box per node, search finds a column, clicking a node of
 * the graph opens its page, and column lineage links a mart's column to the source column.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { findChromium } from '../../src/dashboards/screenshot.js';
import { sharedBrowser } from '../support/browser.js';

const chromium = findChromium();
if (!chromium) console.warn('docs-site.test.ts: browser tests SKIPPED: no Chromium at /usr/bin/chromium (apt-get install chromium)');

let dir: string;
let gen: { code: number; stdout: string; stderr: string };
let server: ChildProcess | undefined;
let url = '';

beforeAll(async () => {
  dir = makeProject({}, false);
  for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  expect(vigil(dir, ['demo', '--rows', '5000', '--days', '10']).code).toBe(0);
  expect(vigil(dir, ['build']).code).toBe(0);
  gen = vigil(dir, ['docs', 'generate']);
}, 180_000);
afterAll(() => {
  server?.kill('SIGTERM');
  if (dir) removeDir(dir);
});

const manifest = () => JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
const docsJson = () => JSON.parse(readFileSync(join(dir, 'target/docs/docs.json'), 'utf8'));

describe('vigil docs generate', () => {
  it('writes a page per node, dashboard and alert, with the counts it prints', () => {
    expect(gen.code, gen.stdout + gen.stderr).toBe(0);
    const m = manifest();
    const nodes = Object.keys(m.nodes).length + Object.keys(m.sources).length + Object.keys(m.exposures).length;
    const alerts = ['alerts/ai_audit.yaml', 'alerts/compliance.yaml'].reduce((n, f) => n + readFileSync(join(dir, f), 'utf8').match(/^ {2}- name: /gm)!.length, 0);
    const pages = readdirSync(join(dir, 'target/docs/nodes')).filter((f) => f.endsWith('.html'));
    expect(pages.length).toBe(nodes + alerts);
    expect(gen.stdout).toContain(`Wrote target/docs/: ${pages.length + 1} pages`);
    expect(gen.stdout).toMatch(/Column lineage: (\d+) of (\d+) model and snapshot columns traced/);
    for (const id of Object.keys(m.nodes)) expect(existsSync(join(dir, 'target/docs/nodes', `${id.replace(/[^\w.-]/g, '_')}.html`)), id).toBe(true);
  });

  it('descriptions come with doc() resolved, columns with warehouse types, policies and tests', () => {
    const d = docsJson();
    const src = d.nodes.find((n: { id: string }) => n.id === 'source.ai_audit.raw.ai_audit_logs');
    const cap = src.columns.find((c: { name: string }) => c.name === 'capability');
    expect(cap.description).toMatch(/^The copilot feature invoked/);
    expect(cap.type).toBe('VARCHAR');
    expect(src.columns.find((c: { name: string }) => c.name === 'request_metadata').meta).toEqual({ pii: 'possible', policy: 'never selected into marts' });
    expect(src.columns.find((c: { name: string }) => c.name === 'id').tests.map((t: { name: string }) => t.name).sort()).toEqual(['not_null', 'unique']);
    expect(d.overview).toMatch(/^Analytics and alerts over the audit logs/);
    const html = readFileSync(join(dir, 'target/docs/nodes/source.ai_audit.raw.ai_audit_logs.html'), 'utf8');
    expect(html).toContain('The copilot feature invoked (e.g. <code>draft</code>');
    expect(html).not.toContain('doc(');
  });

  it("column lineage traces a mart's columns through staging to the source", () => {
    const d = docsJson();
    const byId = new Map(d.nodes.map((n: { id: string }) => [n.id, n]));
    const daily = byId.get('model.ai_audit.ai_audit_daily') as { columns: Array<{ name: string; from: Array<{ node: string; column: string }>; how: string }> };
    const cap = daily.columns.find((c) => c.name === 'capability')!;
    expect(cap.from).toEqual([{ node: 'model.ai_audit.stg_ai_audit_logs', column: 'capability' }]);
    const stg = byId.get('model.ai_audit.stg_ai_audit_logs') as typeof daily;
    expect(stg.columns.find((c) => c.name === 'capability')!.from).toEqual([{ node: 'source.ai_audit.raw.ai_audit_logs', column: 'capability' }]);
    // and downstream: the source column knows what is derived from it
    const src = byId.get('source.ai_audit.raw.ai_audit_logs') as { columns: Array<{ name: string; used_by: Array<{ node: string }> }> };
    expect(src.columns.find((c) => c.name === 'capability')!.used_by.map((u) => u.node)).toContain('model.ai_audit.stg_ai_audit_logs');
  });

  it('without the warehouse (--empty-catalog) types come from YAML; a broken project is exit 2', () => {
    const r = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(r.code, r.stderr).toBe(0);
    const cap = docsJson().nodes.find((n: { id: string }) => n.id === 'source.ai_audit.raw.ai_audit_logs').columns.find((c: { name: string }) => c.name === 'capability');
    expect(cap.type).toBeUndefined();
    expect(cap.declared_type).toBe('varchar');
    // a project never built: nothing is created to read its types (was: .vigil/dev.duckdb made)
    const fresh = makeProject({
      'models/a.sql': "select id from {{ source('raw', 'ev') }}",
      'models/src.yml': 'sources:\n  - name: raw\n    tables:\n      - name: ev\n',
      'models/overview.md': '{% docs __overview__ %}\n# Audit analytics\nWhat it <b>is</b>.\n{% enddocs %}\n',
    });
    try {
      const f = vigil(fresh, ['docs', 'generate']);
      expect(f.code, f.stdout + f.stderr).toBe(0);
      expect(existsSync(join(fresh, '.vigil'))).toBe(false);
      expect(f.stderr).toContain('2 of 2 relations are not built in dev');
      expect(f.stdout).toMatch(/Wrote target\/docs\/: 3 pages/);
      // every link to a column's row lands on a row: a source that declares no columns is linked as a page (was: #col-id, no such row)
      const pagesDir = join(fresh, 'target/docs/nodes');
      const frags: string[] = [];
      for (const file of readdirSync(pagesDir)) {
        for (const m of readFileSync(join(pagesDir, file), 'utf8').matchAll(/href="(?:\.\.\/nodes\/|)([^"#/]+\.html)#([^"]+)"/g)) {
          frags.push(m[2]);
          expect(readFileSync(join(pagesDir, m[1]), 'utf8'), `${file} -> ${m[1]}#${m[2]}`).toContain(`id="${m[2]}"`);
        }
      }
      expect(readFileSync(join(pagesDir, readdirSync(pagesDir).find((x) => x.startsWith('model.'))!), 'utf8')).toMatch(/href="[^"]*source\.[^"]*ev\.html">raw\.ev\.id</);
      // the overview's markdown heading is a heading (was: a literal '#'), its text escaped
      expect(readFileSync(join(fresh, 'target/docs/index.html'), 'utf8')).toContain('<h2>Audit analytics</h2>\n<p>What it &lt;b&gt;is&lt;/b&gt;.</p>');
    } finally {
      removeDir(fresh);
    }
    const broken = makeProject({ 'models/a.sql': "select * from {{ ref('nope') }}" });
    try {
      const b = vigil(broken, ['docs', 'generate']);
      expect(b.code).toBe(2);
      expect(b.stderr).toContain("ref('nope') not found");
      const s = vigil(broken, ['docs', 'serve']);
      expect(s.code).toBe(2);
      expect(s.stderr).toContain('run vigil docs generate first');
    } finally {
      removeDir(broken);
    }
    // the full site again for the browser tests
    expect(vigil(dir, ['docs', 'generate']).code).toBe(0);
    // an address this machine does not have: one line, exit 2 (was: a stack trace, exit 3)
    const far = vigil(dir, ['docs', 'serve', '--host', '10.254.254.254', '--port', '0']);
    expect(far.code, far.stderr).toBe(2);
    expect(far.stderr).toContain('error: cannot listen on 10.254.254.254:0: no such local address');
    expect(far.stderr).not.toMatch(/\n\s+at /);
    // an empty or blank host (an unset variable) is refused, as serve's --listen '' (was: every interface, http://:8080/)
    for (const host of ['', ' ']) {
      const none = vigil(dir, ['docs', 'serve', '--host', host, '--port', '0']);
      expect(none.code, none.stdout).toBe(2);
      expect(none.stderr).toBe(`error: --host is ${host ? 'only spaces' : 'empty'}: give an address to listen on (127.0.0.1; 0.0.0.0 or :: for every interface)\n`);
    }
  });
});

describe('vigil docs generate: a source on a seed\'s table, and columns whose names differ only in spelling', () => {
  it("a model's columns trace to the source it names, not the seed loaded into the same table; every column has its own row id", () => {
    const p = makeProject({
      'seeds/ev.csv': 'event_id,user_id\n1,u1\n',
      'seeds/ev.yml': 'seeds:\n  - name: ev\n    config: { schema: raw }\n',
      'models/src.yml': 'sources:\n  - name: app\n    schema: raw\n    tables:\n      - name: events\n        identifier: ev\n        columns:\n          - name: event_id\n          - name: user_id\n',
      'models/m.sql': `select event_id as "a b", user_id as "a_b", event_id as "a.b" from {{ source('app', 'events') }}\n`,
    });
    try {
      const g = vigil(p, ['docs', 'generate', '--empty-catalog']);
      expect(g.code, g.stdout + g.stderr).toBe(0);
      const nodes = JSON.parse(readFileSync(join(p, 'target/docs/docs.json'), 'utf8')).nodes as Array<{ id: string; columns: Array<{ name: string; from: unknown[]; used_by: unknown[] }> }>;
      const col = (id: string, name: string) => nodes.find((n) => n.id === id)!.columns.find((c) => c.name === name)!;
      // (was: from seed.fixture.ev, and the source's columns used by nothing)
      expect(col('model.fixture.m', 'a_b').from).toEqual([{ node: 'source.fixture.app.events', column: 'user_id' }]);
      expect(col('source.fixture.app.events', 'user_id').used_by).toEqual([{ node: 'model.fixture.m', column: 'a_b' }]);
      // one row id per column (was: "a b" and a_b both col-a_b), and search lands on the column's own row
      const html = readFileSync(join(p, 'target/docs/nodes/model.fixture.m.html'), 'utf8');
      const ids = [...html.matchAll(/<tr id="(col-[^"]+)"><td><strong>([^<]+)</g)].map((x) => [x[1], x[2]]);
      expect(ids).toHaveLength(3);
      expect(new Set(ids.map((x) => x[0])).size).toBe(3);
      const search = JSON.parse(readFileSync(join(p, 'target/docs/search.js'), 'utf8').replace(/^window\.VIGIL_SEARCH = /, '').replace(/;\s*$/, '')) as Array<{ n: string; u: string }>;
      for (const [id, name] of ids) expect(search.find((e) => e.n === `m.${name}`)?.u, name).toBe(`nodes/model.fixture.m.html#${id}`);
    } finally {
      removeDir(p);
    }
  });
});

describe.skipIf(!chromium)('the docs site in headless Chromium, served by vigil docs serve', () => {
  beforeAll(async () => {
    server = spawn(process.execPath, [join(REPO, 'bin/vigil.js'), 'docs', 'serve', '--port', '0'], { cwd: dir });
    url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const t = setTimeout(() => reject(new Error(`docs serve did not start: ${buf}`)), 20_000);
      server!.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(buf);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
    });
  }, 30_000);

  it('serves the files, and nothing outside the site', async () => {
    const index = await fetch(url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect((await fetch(`${url}search.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${url}..%2F..%2Fproject.yaml`)).status).toBe(404);
    expect((await fetch(`${url}nodes/nope.html`)).status).toBe(404);
    // a path through a file: not found, and the server still answers
    expect((await fetch(`${url}index.html/x`)).status).toBe(404);
    expect((await fetch(url)).status).toBe(200);
    // revalidated on each load: unchanged -> 304 (the browser keeps its copy), changed -> 200
    const first = await fetch(`${url}search.js`);
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('cache-control')).toBe('no-cache');
    expect(etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
    const again = await fetch(`${url}search.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const file = join(dir, 'target/docs/search.js');
    const text = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, `${text}\n`);
      const changed = await fetch(`${url}search.js`, { headers: { 'if-none-match': etag } });
      expect(changed.status).toBe(200);
      expect(await changed.text()).toBe(`${text}\n`);
    } finally {
      writeFileSync(file, text);
    }
  });

  it('every page loads with no console error; the graph renders; search finds a column; a click opens the node', async () => {
    const browser = await sharedBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(`${page.url()}: ${m.text()}`));
      page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
      await page.goto(url);
      const d = docsJson();
      const inGraph = d.nodes.filter((n: { kind: string }) => n.kind !== 'test' && n.kind !== 'unit_test');
      expect(await page.locator('svg[aria-label="lineage graph"] a[data-node]').count()).toBe(inGraph.length);
      const box = await page.locator('svg[aria-label="lineage graph"] rect').first().boundingBox();
      expect(box!.width).toBeGreaterThan(100);

      // search: a column of a mart, by name
      await page.fill('#search', 'deviation_st');
      const hits = page.locator('#results a');
      await hits.first().waitFor();
      expect(await hits.allInnerTexts()).toContainEqual(expect.stringMatching(/^column\s*ai_audit_capability_anomalies\.deviation_state/));
      await page.fill('#search', 'request_metadata');
      await hits.first().waitFor();
      expect(await hits.first().innerText()).toMatch(/column\s*raw\.ai_audit_logs\.request_metadata/);
      await hits.first().click();
      await page.waitForURL(/nodes\/source\.ai_audit\.raw\.ai_audit_logs\.html#col-request_metadata$/);
      expect(await page.locator('#col-request_metadata').innerText()).toContain('pii: possible');

      // a click on a node of the graph opens its page
      await page.goto(url);
      await page.locator('svg[aria-label="lineage graph"] a[data-node="model.ai_audit.ai_audit_daily"]').click();
      await page.waitForURL(/nodes\/model\.ai_audit\.ai_audit_daily\.html$/);
      expect(await page.locator('h1').innerText()).toContain('ai_audit_daily');
      expect(await page.locator('svg[aria-label="column lineage"]').count()).toBe(1);
      expect(await page.locator('#col-capability a[href*="stg_ai_audit_logs"]').count()).toBeGreaterThan(0);

      // every page
      const pages = ['', ...readdirSync(join(dir, 'target/docs/nodes')).map((f) => `nodes/${f}`)];
      for (const p of pages) {
        const res = await page.goto(url + p);
        expect(res!.status(), p).toBe(200);
        expect(await page.locator('h1').count(), p).toBeGreaterThan(0);
      }
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
    // (some 220 pages one after another: 50-80 s on a quiet 2-core machine, 120-180 s loaded)
  }, 400_000);
});
