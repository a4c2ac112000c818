/**
 * The static site's pages and links (`vigil dashboards render`). Pure.
 *
 * Besides one page per dashboard (`overview.html`, its tabs as sections), the site has a page
 * for each place a drill-down leads: the target tab with the dashboard filters the drill-down
 * sets, e.g. `capability/capability--capability=code_review.html` (dashboard folder, then
 * `<tab>--<filter>=<value>`). The values come from the source tile's rows, at most
 * DRILL_PAGE_CAP distinct pages per tile. A value that is not a plain lowercase word
 * (quotes, slashes, spaces, capitals, unicode...) is spelled as a slug and a hash of the value:
 * `capability=o-brien-s-tool~3f2a9c01d4`. Values equal to the target's defaults are left out of
 * the name; a drill-down that sets only defaults opens the dashboard's own page.
 *
 * Links between pages are relative (the site works from file:// and any static server), or
 * absolute under a base URL (`--base-url`, project.yaml `dashboards: { base_url }`), which is
 * also where root-relative tile links (app routes such as `/workspaces/{{ workspace_id }}`) go.
 */
import { fileNamePart, safeFileName } from '../file-names.js';
import type { DashboardFilter } from './schema.js';
import type { CompiledDashboard, CompiledTile } from './types.js';
import { instantField, type FilterValue } from './tile-sql.js';
import { rawRowValues } from './raw-rows.js';
import { PreciseTime } from '../adapters/adapter.js';

export { checkBaseUrl } from './base-url.js';
import { appRouteUrl } from './base-url.js';

/** At most this many drill-down pages per source tile (distinct filter values). */
export const DRILL_PAGE_CAP = 50;

/** A page of the site: a dashboard's own page, or a tab with drill-down filter values set. */
export interface SitePage {
  dashboard: string;
  /** The tab a filtered page shows (all tabs on a dashboard's own page). */
  tab?: string;
  /** Filter values that differ from the dashboard's defaults, by filter name. */
  values: Record<string, FilterValue>;
  /** Its path under the site root (posix). */
  file: string;
}

/** What a drill-down from one row sets: filter name -> value; undefined when a field it needs is empty. */
export function drillValues(tile: CompiledTile['tile'], row: Record<string, unknown>): Record<string, FilterValue> | undefined {
  const dd = tile.drilldown;
  if (!dd) return undefined;
  const out: Record<string, FilterValue> = {};
  for (const [name, tpl] of Object.entries(dd.filters)) {
    const exact = /^\s*\{\{\s*([A-Za-z_]\w*)\s*\}\}\s*$/.exec(tpl);
    if (exact) {
      const v = scalar(row[exact[1]]);
      if (v === undefined) return undefined;
      out[name] = v;
      continue;
    }
    let missing = false;
    out[name] = tpl.replace(/\{\{\s*([A-Za-z_]\w*)\s*\}\}/g, (_m, col: string) => {
      const v = scalar(row[col]);
      if (v === undefined) missing = true;
      return v === undefined ? '' : String(v);
    });
    if (missing) return undefined;
  }
  return out;
}

/**
 * A row's value as a filter value: dates as YYYY-MM-DD (or an ISO time, to the digit the
 * warehouse has: 10:00:00.123456, not a Date's .123), big integers as numbers when exact.
 */
export function scalar(v: unknown): FilterValue | undefined {
  if (v == null) return undefined;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return undefined;
    if (v instanceof PreciseTime) return v.iso;
    const iso = v.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(-Number.MAX_SAFE_INTEGER) ? Number(v) : String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

/** A value as a file-name part: itself when a plain lowercase word, else a slug and a hash (never '='). */
export function valueSlug(v: FilterValue): string {
  return fileNamePart(String(v), (s) => /^[a-z0-9_][a-z0-9_.-]{0,63}$/.test(s) && !s.endsWith('.'));
}

/** Whether `v` is what the filter shows anyway (its default). */
function isDefault(f: DashboardFilter | undefined, v: FilterValue): boolean {
  return f !== undefined && f.default !== undefined && f.default !== null && String(f.default) === String(v);
}

/**
 * The page of one row's raw rows (a table tile's `raw_rows`): `<dashboard>/rows/<tile>--<column>=<value>...html`,
 * columns by name, values spelled as in drill-down pages.
 */
export interface RawPage {
  dashboard: string;
  tile: string;
  values: Record<string, FilterValue>;
  file: string;
}

export function rawPageFor(d: CompiledDashboard, ct: CompiledTile, values: Record<string, FilterValue>): RawPage {
  const keys = Object.keys(values).sort();
  const name = d.dashboard.name;
  return { dashboard: name, tile: ct.tile.id, values, file: `${name}/rows/${safeFileName(`${ct.tile.id}--${keys.map((k) => `${k}=${valueSlug(values[k])}`).join('--')}`, '.html')}` };
}

/** The page a drill-down with these values opens on `target`'s tab. */
export function pageFor(target: CompiledDashboard, tab: string, values: Record<string, FilterValue>): SitePage {
  const defs = new Map(target.dashboard.filters.map((f) => [f.name, f]));
  const set = Object.keys(values)
    .filter((k) => !isDefault(defs.get(k), values[k]))
    .sort();
  const name = target.dashboard.name;
  if (!set.length) return { dashboard: name, values: {}, file: `${name}.html` };
  const kept = Object.fromEntries(set.map((k) => [k, values[k]]));
  return { dashboard: name, tab, values: kept, file: `${name}/${safeFileName(`${tab}--${set.map((k) => `${k}=${valueSlug(values[k])}`).join('--')}`, '.html')}` };
}

/** The anchor of a tab on a page. */
export const tabAnchor = (tab: string) => `tab-${tab}`;

/**
 * How a page links to the rest of the site. render.ts asks it for every link it draws; without
 * one (renderDashboardHtml called alone) it links as it always did: tabs of other dashboards on
 * their pages, no filtered pages.
 */
export interface PageLinks {
  /** This page's path under the site root. */
  readonly file: string;
  /** A link to a file of the site (with an anchor). */
  href(file: string, anchor?: string): string;
  /** A drill-down's target tab without the row's values; undefined when its dashboard is not in the site. */
  target(ct: CompiledTile): string | undefined;
  /** The page a drill-down from this row opens; undefined when there is none (an empty value, or left out by the cap). */
  row(ct: CompiledTile, row: Record<string, unknown>): { href: string; label: string } | undefined;
  /** A root-relative link of a tile (an app route such as /workspaces/42) under the base URL; undefined without one. */
  app(url: string): string | undefined;
  /** The raw-rows page of a table row (`raw_rows`); undefined when there is none (an empty value, or left out by the cap). */
  raw(ct: CompiledTile, row: Record<string, unknown>): { href: string; label: string } | undefined;
}

/** The links of a page at `file`: relative, or absolute under `baseUrl` (ending in '/'). */
export function hrefFrom(file: string, baseUrl: string | undefined, to: string, anchor?: string): string {
  const hash = anchor ? `#${anchor}` : '';
  if (to === file && anchor) return hash;
  if (baseUrl) return `${baseUrl}${to}${hash}`;
  const up = file.split('/').length - 1;
  return `${'../'.repeat(up)}${to}${hash}`;
}

/** Links as a lone dashboard page had them before there were filtered pages. */
export function legacyLinks(d: CompiledDashboard): PageLinks {
  const file = `${d.dashboard.name}.html`;
  return {
    file,
    href: (to, anchor) => hrefFrom(file, undefined, to, anchor),
    target: (ct) => {
      const dd = ct.tile.drilldown!;
      return hrefFrom(file, undefined, `${dd.dashboard ?? d.dashboard.name}.html`, tabAnchor(dd.tab));
    },
    row: () => undefined,
    app: (url) => url,
    raw: () => undefined,
  };
}

/** The label of a drill-down page's values: "code_review", or "capability: x · date: y" for several. */
export function valuesLabel(values: Record<string, FilterValue>): string {
  const keys = Object.keys(values).sort();
  return keys.length === 1 ? String(values[keys[0]]) : keys.map((k) => `${k}: ${String(values[k])}`).join(' · ');
}

/**
 * The set of pages of one render: the dashboards' own pages, and the drill-down pages registered
 * from the source tiles' rows (at most DRILL_PAGE_CAP per tile).
 */
export class Site {
  readonly dashboards: Map<string, CompiledDashboard>;
  readonly pages = new Map<string, SitePage>();
  /** Raw-rows pages by file (a table row's raw rows, `raw_rows`). */
  readonly rawPages = new Map<string, RawPage>();
  /** The TimeZone of the target's sessions when not UTC (walkSite): a raw-rows day of an instant is that zone's day. */
  zone?: string;
  constructor(
    ds: CompiledDashboard[],
    readonly baseUrl: string | undefined,
    readonly cap = DRILL_PAGE_CAP,
  ) {
    this.dashboards = new Map(ds.map((d) => [d.dashboard.name, d]));
    for (const d of ds) this.pages.set(`${d.dashboard.name}.html`, { dashboard: d.dashboard.name, values: {}, file: `${d.dashboard.name}.html` });
  }

  /** The zone a tile's raw-rows day is read in: the session's when its field is an instant there (instantField), as the chart labels it; none for a date or a wall time. */
  private dayZone(ct: CompiledTile): string | undefined {
    const name = ct.rawRows?.day && /\{\{\s*(\w+)\s*\}\}/.exec(ct.rawRows.day.value)?.[1];
    const f = this.zone && name ? ct.fields.find((x) => x.name === name) : undefined;
    if (!f) return undefined;
    const type = f.type ?? Object.entries(ct.columnTypes ?? {}).find(([k]) => k.toLowerCase() === f.column.toLowerCase())?.[1];
    return instantField({ type, granularity: f.granularity }) ? this.zone : undefined;
  }

  /** The dashboard a tile of `d` drills into, when it is part of the site. */
  targetOf(d: CompiledDashboard, ct: CompiledTile): CompiledDashboard | undefined {
    const dd = ct.tile.drilldown;
    return dd ? this.dashboards.get(dd.dashboard ?? d.dashboard.name) : undefined;
  }

  /**
   * The pages a drill-down tile's rows lead to, in order of the rows (a table's order; a chart's
   * series largest first), at most `cap` distinct. Returns the new ones (not registered before),
   * and the labels of the values left out.
   */
  register(d: CompiledDashboard, ct: CompiledTile, rows: Array<Record<string, unknown>>): { added: SitePage[]; leftOut: string[] } {
    const target = this.targetOf(d, ct);
    if (!target) return { added: [], leftOut: [] };
    const tab = ct.tile.drilldown!.tab;
    const seen = new Map<string, SitePage>();
    const leftOut: string[] = [];
    for (const r of rankedRows(ct, rows)) {
      const v = drillValues(ct.tile, r);
      if (!v) continue;
      const p = pageFor(target, tab, v);
      if (seen.has(p.file)) continue;
      if (seen.size >= this.cap) {
        if (!leftOut.includes(valuesLabel(v))) leftOut.push(valuesLabel(v));
        continue;
      }
      seen.set(p.file, p);
    }
    const added: SitePage[] = [];
    for (const p of seen.values()) {
      if (this.pages.has(p.file)) continue;
      this.pages.set(p.file, p);
      added.push(p);
    }
    return { added, leftOut };
  }

  /**
   * The raw-rows pages of a table tile's rows (`raw_rows`), in the rows' order, at most `cap`
   * per tile; returns the new ones and the labels of the rows left out. Only the rows of the
   * dashboard's own page register pages (as for drill-downs).
   */
  registerRaw(d: CompiledDashboard, ct: CompiledTile, rows: Array<Record<string, unknown>>): { added: RawPage[]; leftOut: string[] } {
    const rr = ct.rawRows;
    if (!rr) return { added: [], leftOut: [] };
    const seen = new Map<string, RawPage>();
    const leftOut: string[] = [];
    for (const r of rows) {
      const v = rawRowValues(rr, r, this.dayZone(ct));
      if (!v) continue;
      const p = rawPageFor(d, ct, v);
      if (seen.has(p.file)) continue;
      if (seen.size >= this.cap) {
        leftOut.push(valuesLabel(v));
        continue;
      }
      seen.set(p.file, p);
    }
    const added: RawPage[] = [];
    for (const p of seen.values()) {
      if (this.rawPages.has(p.file)) continue;
      this.rawPages.set(p.file, p);
      added.push(p);
    }
    return { added, leftOut };
  }

  /** How the page at `file` links to the rest of the site. */
  links(from: CompiledDashboard, file: string): PageLinks {
    const base = this.baseUrl;
    return {
      file,
      href: (to, anchor) => hrefFrom(file, base, to, anchor),
      target: (ct) => {
        const target = this.targetOf(from, ct);
        return target ? hrefFrom(file, base, `${target.dashboard.name}.html`, tabAnchor(ct.tile.drilldown!.tab)) : undefined;
      },
      row: (ct, r) => {
        const target = this.targetOf(from, ct);
        const v = target && drillValues(ct.tile, r);
        if (!target || !v) return undefined;
        const p = pageFor(target, ct.tile.drilldown!.tab, v);
        if (!this.pages.has(p.file)) return undefined;
        return { href: hrefFrom(file, base, p.file, tabAnchor(ct.tile.drilldown!.tab)), label: valuesLabel(v) };
      },
      app: (url) => (base ? appRouteUrl(base, url) : undefined),
      raw: (ct, r) => {
        const v = ct.rawRows && rawRowValues(ct.rawRows, r, this.dayZone(ct));
        if (!v) return undefined;
        const p = rawPageFor(from, ct, v);
        return this.rawPages.has(p.file) ? { href: hrefFrom(file, base, p.file), label: valuesLabel(v) } : undefined;
      },
    };
  }
}

/**
 * A drill-down tile's rows in the order its targets are kept under the cap: a table's and a
 * sorted tile's in their order (what the reader sees first), a chart's by the largest first
 * measure of its values (the series drawn, not "Other").
 */
function rankedRows(ct: CompiledTile, rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  if (ct.tile.type === 'table' || ct.tile.sort.length) return rows;
  const m = ct.fields.find((f) => f.kind === 'measure');
  if (!m) return rows;
  const totals = new Map<string, number>();
  const keyOf = (r: Record<string, unknown>) => JSON.stringify(drillValues(ct.tile, r) ?? null);
  for (const r of rows) {
    const n = Number(r[m.name]);
    totals.set(keyOf(r), (totals.get(keyOf(r)) ?? 0) + (Number.isFinite(n) ? Math.abs(n) : 0));
  }
  return rows
    .map((r, i) => ({ r, i, t: totals.get(keyOf(r)) ?? 0 }))
    .sort((a, b) => b.t - a.t || a.i - b.i)
    .map((x) => x.r);
}
