/**
 * Drawings kept between renders (src/dashboards/tile-cache.ts): a tile is drawn again exactly
 * when something its drawing depends on changed — its rows, its definition, the evaluation time
 * for a chart with categories (a partial period) or a tile over a table of dates (its day of a
 * past --at "as built"), or the renderer's code — and a kept drawing
 * is byte for byte the one drawn.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderTileHtml } from '../../src/dashboards/render.js';
import { DashboardSchema, type ResolvedTile } from '../../src/dashboards/schema.js';
import { TileCache } from '../../src/dashboards/tile-cache.js';
import type { CompiledDashboard, CompiledField, TileData } from '../../src/dashboards/types.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-tile-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const L = { x: 0, y: 0, w: 6, h: 4 };
function dashboard(title = 'Daily'): CompiledDashboard {
  const def = DashboardSchema.parse({
    name: 'd',
    title: 'D',
    tabs: [{ name: 't', title: 'T', tiles: [
      { id: 'line', type: 'line', title, model: 'm', dimensions: [{ column: 'day', role: 'x' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L },
      { id: 'kpi', type: 'kpi', title: 'Total', model: 'm', measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L },
    ] }],
  });
  const fields = (id: string): CompiledField[] => [...(id === 'line' ? [{ name: 'day', label: 'day', kind: 'dimension' as const, column: 'day', role: 'x' as const }] : []), { name: 'n', label: 'n', kind: 'measure', column: 'n', agg: 'sum' }];
  return { dashboard: def, file: 'd.json', tabs: [{ name: 't', title: 'T', tiles: def.tabs[0].tiles.map((tile) => ({ tile: tile as ResolvedTile, tab: 't', model: 'm', relation: 'm', fields: fields(tile.id), sql: '', sqlUnfiltered: '', appliesFilters: [] })) }], models: ['m'], dialect: 'duckdb', project: 'p' };
}
const rows = (k: number) => [1, 2, 3].map((i) => ({ day: `2026-03-0${i}`, n: BigInt(i * k) }));
const ok = (r: Array<Record<string, unknown>>, at = '2026-03-03T12:00:00.000Z'): TileData => ({ ok: true, rows: r, seconds: 0.01, at });

describe('TileCache', () => {
  it('draws a tile once while nothing it depends on changes, and returns the same bytes', () => {
    const file = join(dir, 'a.json');
    const d = dashboard();
    const line = d.tabs[0].tiles[0];
    let draws = 0;
    const draw = (data: TileData, dd = d, ct = line) => () => (draws++, renderTileHtml(dd, ct, data));
    const first = TileCache.open(file, 's1');
    const drawn = first.html(d, line, ok(rows(1)), '', draw(ok(rows(1))));
    first.save();
    const again = TileCache.open(file, 's1');
    // the same rows, read again: kept
    expect(again.html(d, line, ok(rows(1)), '', draw(ok(rows(1))))).toBe(drawn);
    expect([draws, again.hits, again.misses]).toEqual([1, 1, 0]);
    // other rows: drawn
    again.html(d, line, ok(rows(2)), '', draw(ok(rows(2))));
    expect(draws).toBe(2);
    // a chart with categories read at another time (its partial period moves): drawn
    again.html(d, line, ok(rows(1), '2026-03-04T12:00:00.000Z'), '', draw(ok(rows(1), '2026-03-04T12:00:00.000Z')));
    expect(draws).toBe(3);
    // a KPI read at another time with the same value: kept
    const kpi = d.tabs[0].tiles[1];
    again.html(d, kpi, ok([{ n: 6n }]), '', draw(ok([{ n: 6n }]), d, kpi));
    again.html(d, kpi, ok([{ n: 6n }], '2026-03-09T00:00:00.000Z'), '', draw(ok([{ n: 6n }], '2026-03-09T00:00:00.000Z'), d, kpi));
    expect(draws).toBe(4);
    // an edited definition: drawn
    const renamed = dashboard('Per day');
    again.html(renamed, renamed.tabs[0].tiles[0], ok(rows(1)), '', draw(ok(rows(1)), renamed, renamed.tabs[0].tiles[0]));
    expect(draws).toBe(5);
    // the same rows on another page, or under another base URL (its links differ): drawn
    again.html(d, line, ok(rows(1)), 'capability/capability--capability=chat.html', draw(ok(rows(1))));
    expect(draws).toBe(6);
  });

  it('a KPI over a table of dates read --at a moment gone says its day as built: drawn again for another moment, or when --at is now', () => {
    const file = join(dir, 'c.json');
    const d = dashboard();
    const kpi = { ...d.tabs[0].tiles[1], dayWindow: 'day' };
    const past = (at: string, isPast = true): TileData => ({ ok: true, rows: [{ n: 6n }], seconds: 0, at, ...(isPast ? { past: true } : {}) });
    let draws = 0;
    const c = TileCache.open(file, 's1');
    const html = (x: TileData) => c.html(d, kpi, x, '', () => (draws++, renderTileHtml(d, kpi, x)));
    expect(html(past('2026-03-03T20:00:00.000Z'))).toContain('Mar 3 as built: daily rows, not cut at 20:00 UTC');
    expect(html(past('2026-03-04T09:15:00.000Z'))).toContain('Mar 4 as built: daily rows, not cut at 09:15 UTC');
    expect(html(past('2026-03-04T09:15:00.000Z', false))).not.toContain('as built');
    expect(html(past('2026-03-04T09:15:00.000Z'))).toContain('Mar 4 as built');
    expect(draws).toBe(3);
  });

  it('a new renderer, a damaged file or a failed tile keeps nothing', () => {
    const file = join(dir, 'b.json');
    const d = dashboard();
    const line = d.tabs[0].tiles[0];
    let draws = 0;
    const draw = () => (draws++, renderTileHtml(d, line, ok(rows(1))));
    const c = TileCache.open(file, 's1');
    c.html(d, line, ok(rows(1)), '', draw);
    c.html(d, line, { ok: false, error: 'boom' }, '', draw);
    c.html(d, line, { ok: false, error: 'boom' }, '', draw);
    expect(draws).toBe(3);
    c.save();
    TileCache.open(file, 's2').html(d, line, ok(rows(1)), '', draw);
    expect(draws).toBe(4);
    writeFileSync(file, '{"stamp": "s1", "tiles": ');
    TileCache.open(file, 's1').html(d, line, ok(rows(1)), '', draw);
    expect(draws).toBe(5);
  });
});
