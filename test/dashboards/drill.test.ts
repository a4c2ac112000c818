/**
 * Drill-down pages, the pure part: their file names (deterministic, URL-safe, distinct for
 * values that differ only in case or punctuation), the values a row gives a drill-down, the
 * links between pages (relative, or absolute under a base URL), and the target tab's SQL
 * compiled again with the value as a literal of the dialect — on the shipped dashboards, for
 * DuckDB and for BigQuery (parsed by sql-parser-cst's BigQuery grammar).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'sql-parser-cst';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { compileTileWithFilters } from '../../src/dashboards/tile-sql.js';
import { checkBaseUrl, drillValues, hrefFrom, pageFor, Site, valueSlug } from '../../src/dashboards/site.js';
import type { CompiledDashboard } from '../../src/dashboards/types.js';
import { REPO } from '../helpers.js';

const dev = compileProject(loadProject(REPO), { env: {} });
const prod = compileProject(loadProject(REPO), { target: 'prod', env: { AI_AUDIT_BQ_PROJECT: 'vigil-golden' } });
const dash = (ds: CompiledDashboard[], name: string) => ds.find((d) => d.dashboard.name === name)!;
const tileOf = (d: CompiledDashboard, id: string) => d.tabs.flatMap((t) => t.tiles).find((t) => t.tile.id === id)!;

const NASTY = ["o'brien", 'a/b', '../../etc', 'café ☕', 'Code_Review', 'code_review', 'x y', "'; drop table t; --", 'a=b--c=d', '', '.', '-'];

describe('drill-down page names', () => {
  it('are plain for lowercase words, a slug and a hash otherwise; URL-safe, deterministic and distinct', () => {
    expect(valueSlug('code_review')).toBe('code_review');
    expect(valueSlug('gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(valueSlug(42)).toBe('42');
    const slugs = NASTY.map(valueSlug);
    for (const s of slugs) {
      expect(s).toMatch(/^[a-z0-9_.~-]+$/);
      expect(s).not.toMatch(/^\.|\.$/);
      expect(encodeURIComponent(s)).toBe(s);
    }
    expect(new Set(slugs).size).toBe(slugs.length);
    expect(NASTY.map(valueSlug)).toEqual(slugs);
    expect(valueSlug("o'brien")).toMatch(/^o-brien~[0-9a-f]{10}$/);
    expect(valueSlug('Code_Review')).not.toBe(valueSlug('code_review')); // case-insensitive file systems
  });

  it('name the target dashboard folder, the tab and the values that differ from its defaults', () => {
    const cap = dash(dev.dashboards, 'capability');
    expect(pageFor(cap, 'capability', { capability: 'code_review' })).toEqual({ dashboard: 'capability', tab: 'capability', values: { capability: 'code_review' }, file: 'capability/capability--capability=code_review.html' });
    expect(pageFor(cap, 'capability', { date_range: '30d', capability: "o'brien" }).file).toMatch(/^capability\/capability--capability=o-brien~[0-9a-f]{10}--date_range=30d\.html$/);
    // the defaults are the dashboard's own page
    const ws = dash(dev.dashboards, 'workspace');
    expect(pageFor(ws, 'workspace', { date_range: '7d' })).toEqual({ dashboard: 'workspace', values: {}, file: 'workspace.html' });
  });

  it('take a row value typed as it came (a date as YYYY-MM-DD), and none when a value is empty', () => {
    const t = tileOf(dash(dev.dashboards, 'overview'), 'volume_by_capability').tile;
    expect(drillValues(t, { capability: 'chat', date: new Date('2026-03-01T00:00:00Z') })).toEqual({ capability: 'chat' });
    expect(drillValues(t, { capability: null })).toBeUndefined();
    const mixed = { ...t, drilldown: { tab: 'x', filters: { a: '{{ date }}', b: 'cap-{{ capability }}', n: '{{ n }}' } } };
    expect(drillValues(mixed, { date: new Date('2026-03-01T00:00:00Z'), capability: 'chat', n: 7 })).toEqual({ a: '2026-03-01', b: 'cap-chat', n: 7 });
    expect(drillValues(mixed, { date: new Date('2026-03-01T00:00:00Z'), capability: undefined, n: 7 })).toBeUndefined();
  });
});

describe('links', () => {
  it('are relative from where the page is, or absolute under the base URL', () => {
    expect(hrefFrom('overview.html', undefined, 'capability/capability--capability=chat.html', 'tab-capability')).toBe('capability/capability--capability=chat.html#tab-capability');
    expect(hrefFrom('capability/capability--capability=chat.html', undefined, 'capability.html', 'tab-capability')).toBe('../capability.html#tab-capability');
    expect(hrefFrom('overview.html', undefined, 'overview.html', 'tab-overview')).toBe('#tab-overview');
    expect(hrefFrom('overview.html', 'https://bi.example.com/ai/', 'workspace.html', 'tab-workspace')).toBe('https://bi.example.com/ai/workspace.html#tab-workspace');
  });

  it('a site registers at most its cap of pages per tile, in the order of the tile, and names what it left out', () => {
    const site = new Site(dev.dashboards, undefined, 3);
    const ov = dash(dev.dashboards, 'overview');
    const area = tileOf(ov, 'volume_by_capability');
    const rows = ['a', 'b', 'c', 'd', 'e'].flatMap((c, i) => [{ date: new Date('2026-03-01'), capability: c, interactions: 10 * (i + 1) }, { date: new Date('2026-03-02'), capability: c, interactions: 1 }]);
    const { added, leftOut } = site.register(ov, area, rows);
    // a chart keeps its largest series
    expect(added.map((p) => p.values.capability)).toEqual(['e', 'd', 'c']);
    expect(leftOut).toEqual(['b', 'a']);
    const links = site.links(ov, 'overview.html');
    expect(links.row(area, { capability: 'e' })).toEqual({ href: 'capability/capability--capability=e.html#tab-capability', label: 'e' });
    expect(links.row(area, { capability: 'a' })).toBeUndefined();
    // again: nothing new
    expect(site.register(ov, area, rows).added).toEqual([]);
    // a drill-down into a dashboard that is not rendered links nowhere
    const alone = new Site([ov], undefined);
    expect(alone.register(ov, area, rows)).toEqual({ added: [], leftOut: [] });
    expect(alone.links(ov, 'overview.html').target(area)).toBeUndefined();
    // an app route goes under the base URL only
    expect(site.links(ov, 'overview.html').app('/workspaces/1')).toBeUndefined();
    expect(new Site(dev.dashboards, 'https://x.example/app/').links(ov, 'overview.html').app('/workspaces/1')).toBe('https://x.example/app/workspaces/1');
  });

  it('a base URL is http(s) or an absolute path, without query or fragment', () => {
    expect(checkBaseUrl('https://bi.example.com/ai')).toEqual({ url: 'https://bi.example.com/ai/' });
    expect(checkBaseUrl('/dashboards')).toEqual({ url: '/dashboards/' });
    for (const bad of ['', 'ftp://x/', 'bi.example.com', '//cdn.example.com/x', 'https://x/?a=1', '/a#b']) expect(checkBaseUrl(bad), bad).toHaveProperty('error');
    // credentials would be in every link of the site (and never printed: the message leaves them out)
    const creds = checkBaseUrl('https://user:s3cret@bi.example.com/x/');
    expect(creds).toEqual({ error: "'https://bi.example.com/x/' with a user or password in it: the site's links would carry them; leave them out (the server asks for them)" });
  });
});

describe("the target tab's SQL with a drill-down's value", () => {
  it('is the same SQL as compiled when no value is set (every shipped tile, DuckDB and BigQuery)', () => {
    expect(dev.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(prod.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    for (const [ds, dialect] of [[dev.dashboards, duckDbDialect], [prod.dashboards, bigQueryDialect]] as const) {
      for (const d of ds) {
        for (const ct of d.tabs.flatMap((t) => t.tiles)) {
          const again = compileTileWithFilters(ct, d.dashboard.filters, {}, dialect);
          expect(again.sql, ct.tile.id).toBe(ct.sql);
          expect(again.previousSql, ct.tile.id).toBe(ct.previousSql);
        }
      }
    }
  });

  it('binds the value as a quoted literal, reaches only the tiles whose model has the column, and parses on BigQuery', () => {
    for (const [ds, dialect] of [[dev.dashboards, duckDbDialect], [prod.dashboards, bigQueryDialect]] as const) {
      const cap = dash(ds, 'capability');
      for (const v of NASTY.filter(Boolean)) {
        for (const ct of cap.tabs[0].tiles) {
          const f = compileTileWithFilters(ct, cap.dashboard.filters, { capability: v }, dialect);
          expect(f.sql, ct.tile.id).toContain(`${dialect.quoteIdent('capability')} = ${dialect.literal(v)}`);
          if (ct.previousSql) expect(f.previousSql).toContain(dialect.literal(v));
          if (dialect === bigQueryDialect) {
            const cst = parse(bigQueryDialect.bindEvalTime(f.sql, new Date('2026-03-10T18:00:00Z')), { dialect: 'bigquery', includeRange: true });
            // the literal is one string token whose value is the value
            const strings: string[] = [];
            JSON.stringify(cst, (k, x) => (x && x.type === 'string_literal' && strings.push(x.value), x));
            expect(strings, ct.tile.id).toContain(v);
          }
        }
      }
      // a date range, and a filter that does not reach a tile (its SQL unchanged)
      const ws = dash(ds, 'workspace');
      const heat = tileOf(ws, 'activity_heatmap');
      expect(compileTileWithFilters(heat, ws.dashboard.filters, { date_range: '30d' }, dialect).sql).not.toBe(heat.sql);
      const ov = dash(ds, 'overview');
      const active = tileOf(ov, 'active_workspaces_7d');
      expect(active.appliesFilters).not.toContain('capability');
      expect(compileTileWithFilters(active, ov.dashboard.filters, { capability: 'chat' }, dialect).sql).toBe(active.sql);
    }
  });
});
