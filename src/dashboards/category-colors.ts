/**
 * Colors of categories (a chart's series from a series dimension, a donut's slices) that stay
 * with their name: on every page of a render and from one render to the next, whatever other
 * names are drawn beside it. A name keeps the color it was first given, kept by `vigil
 * dashboards render` in target/.cache/category-colors.json. No function of the name alone can do
 * this with ten colors: two names that hash alike would share one, and a rule telling them apart
 * by the names present moves one of them when the other appears.
 *
 * A new name gets the palette color its name hashes to, else the next color no name of its scope
 * (the dimension's column: capabilities apart from providers) holds; once all are held, the one
 * held by the fewest names. Names new in one render are given theirs together, in name order
 * (`assign`), so that the order in which tiles are drawn does not matter. "Other" is grey.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeProjectFile } from '../project/artifacts.js';

export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export const OTHER_COLOR = '#c7ccd4';

interface ColorsFile {
  /** Set when the file is first written: drawings kept with these colors (tile-cache.ts) are valid only with it. */
  id: string;
  /** scope -> name -> color */
  scopes: Record<string, Record<string, string>>;
}

/** The palette slot a name hashes to (FNV-1a). */
function slotOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h % PALETTE.length;
}

export class CategoryColors {
  private readonly scopes = new Map<string, Map<string, string>>();
  private changed = false;
  /** While set (`collect`), names asked for are listed here, not given a color. */
  private asked?: Array<[string, string]>;

  constructor(
    /** changes when the colors are given anew (a new file): see ColorsFile.id */
    readonly id: string = randomUUID(),
    saved: ColorsFile['scopes'] = {},
  ) {
    for (const [scope, names] of Object.entries(saved)) if (names && typeof names === 'object') this.scopes.set(scope, new Map(Object.entries(names).filter(([, c]) => PALETTE.includes(c))));
  }

  /** The colors kept in `file`; none when it is missing or damaged (a new id). */
  static open(file: string): CategoryColors {
    try {
      if (existsSync(file)) {
        const doc = JSON.parse(readFileSync(file, 'utf8')) as ColorsFile;
        if (typeof doc.id === 'string' && doc.scopes && typeof doc.scopes === 'object') return new CategoryColors(doc.id, doc.scopes);
      }
    } catch {
      // a damaged file: the colors are given anew
    }
    const fresh = new CategoryColors();
    fresh.changed = true;
    return fresh;
  }

  has(scope: string, name: string): boolean {
    return name === 'Other' || !!this.scopes.get(scope)?.has(name);
  }

  /** The color of `name` in `scope`, given now when it has none. */
  color(scope: string, name: string): string {
    if (name === 'Other') return OTHER_COLOR;
    if (this.asked) {
      this.asked.push([scope, name]);
      return this.scopes.get(scope)?.get(name) ?? PALETTE[slotOf(name)];
    }
    let names = this.scopes.get(scope);
    if (!names) this.scopes.set(scope, (names = new Map()));
    const known = names.get(name);
    if (known) return known;
    const held = new Map<string, number>();
    for (const c of names.values()) held.set(c, (held.get(c) ?? 0) + 1);
    const start = slotOf(name);
    let best = start;
    for (let i = 0; i < PALETTE.length; i++) {
      const slot = (start + i) % PALETTE.length;
      if ((held.get(PALETTE[slot]) ?? 0) < (held.get(PALETTE[best]) ?? 0)) best = slot;
      if (!held.has(PALETTE[slot])) break;
    }
    names.set(name, PALETTE[best]);
    this.changed = true;
    return PALETTE[best];
  }

  /** Gives the names that have no color theirs, in scope and name order. */
  assign(names: Array<[string, string]>): void {
    if (this.asked) return;
    const fresh = names.filter(([s, n]) => !this.has(s, n)).sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
    for (const [s, n] of fresh) this.color(s, n);
  }

  /** The (scope, name) pairs `fn` asks colors for, none of them given one. */
  collect(fn: () => void): Array<[string, string]> {
    const asked: Array<[string, string]> = [];
    this.asked = asked;
    try {
      fn();
    } finally {
      this.asked = undefined;
    }
    return asked;
  }

  /** Writes the colors to `file` when a name was given one (or the file was new). */
  save(file: string): void {
    if (!this.changed) return;
    const scopes = Object.fromEntries([...this.scopes].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, m]) => [s, Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)))]));
    writeProjectFile(file, `${JSON.stringify({ id: this.id, scopes } satisfies ColorsFile, null, 1)}\n`);
    this.changed = false;
  }
}
