/**
 * Drawn tiles kept between renders (`target/.cache/dashboard-tiles.json`): a tile whose
 * definition, query result and (for charts with categories, which can mark a partial period)
 * evaluation time are unchanged is not drawn again — ECharts' SVG drawing is most of a render's
 * time on small marts. The key is a hash of all of that plus a stamp of the renderer's own code
 * (`renderStamp`), so a new Vigil never reuses an old drawing. A failed tile is never kept.
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
  hits = 0;
  misses = 0;

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
    // only a chart with categories can have a partial (still running) period that depends on when it was read
    const when = ct.fields.some((f) => f.kind === 'dimension') ? data.at : null;
    const { sql: _sql, sqlUnfiltered: _u, previousSql: _p, previousSqlUnfiltered: _pu, ...shape } = ct;
    return createHash('sha256').update(json([this.stamp, dk, context, shape, data.rows, data.previous ?? null, when])).digest('hex');
  }

  /** The tile's drawing: kept from an earlier render, or drawn now by `draw` (and kept). `context`: anything else the drawing depends on (its page, the site's base URL). */
  html(d: CompiledDashboard, ct: CompiledTile, data: TileData | undefined, context: string, draw: () => string): string {
    if (!data?.ok) return draw();
    const k = this.key(d, ct, data, context);
    let html = this.used.get(k) ?? this.old.get(k);
    if (html === undefined) {
      html = draw();
      this.misses++;
    } else this.hits++;
    this.used.set(k, html);
    return html;
  }

  /** Writes the drawings used this time first, then the older ones, up to MAX_ENTRIES. */
  save(): void {
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
