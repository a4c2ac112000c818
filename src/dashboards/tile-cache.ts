/**
 * Drawn tiles kept between renders (`target/.cache/dashboard-tiles.json`): a tile whose
 * definition, query result and (for charts with categories, which can mark a partial period)
 * evaluation time are unchanged is not drawn again — ECharts' SVG drawing is most of a render's
 * time on small marts. The key is a hash of all of that plus a stamp of the renderer's own code
 * (`renderStamp`), so a new Vigil never reuses an old drawing. A failed tile is never kept.
 * Within one render, the same tile with the same rows on several pages (a drill-down page's tile
 * that its filter does not reach, or that comes out the same) is drawn once.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeProjectFile } from '../project/artifacts.js';
import type { CompiledDashboard, CompiledTile, TileData } from './types.js';

/** Drawings kept, at most (the oldest go first). */
const MAX_ENTRIES = 2000;

interface CacheFile {
  stamp: string;
  tiles: Record<string, string>;
}

const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

export class TileCache {
  private readonly old: Map<string, string>;
  private readonly used = new Map<string, string>();
  private readonly dashKeys = new WeakMap<CompiledDashboard, string>();
  /** drawings kept from an earlier render, drawn now, and drawn earlier in this render (the same tile and rows on another page) */
  hits = 0;
  misses = 0;
  shared = 0;

  private constructor(
    private readonly file: string,
    private readonly stamp: string,
    tiles: Record<string, string>,
  ) {
    this.old = new Map(Object.entries(tiles));
  }

  /** The cache in `file`, empty when missing, unreadable or written by another renderer. */
  static open(file: string, stamp: string): TileCache {
    let tiles: Record<string, string> = {};
    try {
      if (existsSync(file)) {
        const doc = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
        if (doc.stamp === stamp && doc.tiles && typeof doc.tiles === 'object') tiles = doc.tiles;
      }
    } catch {
      // a damaged cache is an empty one
    }
    return new TileCache(file, stamp, tiles);
  }

  private key(d: CompiledDashboard, ct: CompiledTile, data: Extract<TileData, { ok: true }>, context: string): string {
    let dk = this.dashKeys.get(d);
    if (dk === undefined) this.dashKeys.set(d, (dk = createHash('sha256').update(json([d.dashboard, d.file])).digest('hex')));
    // only a chart with categories can have a partial (still running) period that depends on when it
    // was read, or a tile over a table of dates read --at a moment already gone (its day "as built")
    const when = ct.fields.some((f) => f.kind === 'dimension') || ct.dayWindow ? [data.at, !!data.past] : null;
    const { sql: _sql, sqlUnfiltered: _u, previousSql: _p, previousSqlUnfiltered: _pu, countSql: _c, ...shape } = ct;
    // (and the session's zone, any tile: a table's timestamptz cells and raw-rows days are its wall times)
    return createHash('sha256').update(json([this.stamp, dk, context, shape, data.rows, data.previous ?? null, when, data.total ?? null, ...(data.zone ? [data.zone] : [])])).digest('hex');
  }

  /**
   * The tile's drawing: kept from an earlier render or from another page of this one, or drawn
   * now by `draw` (and kept). `context`: anything else the drawing depends on (what its links
   * depend on: the site's base URL; a drill-down tile's page and the pages of the site).
   */
  html(d: CompiledDashboard, ct: CompiledTile, data: TileData | undefined, context: string, draw: () => string): string {
    if (!data?.ok) return draw();
    const k = this.key(d, ct, data, context);
    let html = this.used.get(k);
    if (html !== undefined) {
      this.shared++;
      return html;
    }
    html = this.old.get(k);
    if (html === undefined) {
      html = draw();
      this.misses++;
    } else this.hits++;
    this.used.set(k, html);
    return html;
  }

  /** Writes the drawings used this time first, then the older ones, up to MAX_ENTRIES; nothing when every drawing was kept and used. */
  save(): void {
    if (!this.misses && this.used.size === this.old.size) return;
    const tiles: Record<string, string> = Object.fromEntries(this.used);
    let n = this.used.size;
    for (const [k, v] of this.old) {
      if (n >= MAX_ENTRIES) break;
      if (!(k in tiles)) {
        tiles[k] = v;
        n++;
      }
    }
    writeProjectFile(this.file, JSON.stringify({ stamp: this.stamp, tiles } satisfies CacheFile));
  }
}
