/**
 * The pages `vigil dashboards render` wrote into its output folder, listed there in
 * `.vigil-site.json`. The next render removes the pages of that list it does not write again: a
 * deleted dashboard or tab, a drill-down value that left the data, the dashboards a `--select`
 * left out (the folder then holds the site of that render, which its index lists). Only listed
 * pages that are still Vigil's (they carry its generator mark) are removed, never another file;
 * in a folder without a list, only files named like drill-down and raw-rows pages.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeProjectFile } from '../project/artifacts.js';
import type { CompiledDashboard } from './types.js';

/** The list, in the site's folder. */
export const SITE_LIST = '.vigil-site.json';

/** What every page Vigil writes has in its head (render.ts pageHead, index-page.ts). */
export const GENERATOR_MARK = '<meta name="generator" content="vigil">';

/** A page path as the list holds it: relative, '/'-separated, no '..', an .html file. */
const PAGE_PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[^/\\\0]+(?:\/[^/\\\0]+)*\.html$/;

/** Whether the file begins like a page Vigil wrote (its mark within the first 2 KB). */
function vigilPage(file: string): boolean {
  let fd: number | undefined;
  try {
    if (!statSync(file).isFile()) return false;
    fd = openSync(file, 'r');
    const head = Buffer.alloc(2048);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('utf8').includes(GENERATOR_MARK);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The pages an earlier render listed; undefined when there is no list (a site of an older Vigil, or none). */
function listed(dir: string): string[] | undefined {
  try {
    const doc = JSON.parse(readFileSync(join(dir, SITE_LIST), 'utf8')) as { pages?: unknown };
    return Array.isArray(doc.pages) ? doc.pages.filter((p): p is string => typeof p === 'string' && PAGE_PATH.test(p)) : [];
  } catch {
    return undefined;
  }
}

/**
 * Removes the pages an earlier render wrote into `dir` that this one did not (`written`, paths
 * relative to `dir`), then lists `written` for the next render. Returns the removed pages.
 */
export function replaceSitePages(dir: string, written: Set<string>, ds: CompiledDashboard[]): string[] {
  const list = listed(dir);
  const earlier = list ?? legacyPages(dir, ds);
  const removed: string[] = [];
  const folders = new Set<string>();
  for (const p of earlier) {
    if (written.has(p)) continue;
    const abs = join(dir, ...p.split('/'));
    // (a page named like a drill-down page, in a site without a list, is taken as one, as before)
    if (list ? !vigilPage(abs) : !existsSync(abs)) continue;
    rmSync(abs, { force: true });
    removed.push(p);
    for (let f = dirname(p); f !== '.'; f = dirname(f)) folders.add(f);
  }
  // the folders those pages were in, when nothing else is left in them (deepest first)
  for (const f of [...folders].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(join(dir, ...f.split('/')));
    } catch {
      // not empty (a file of the user's, another page): kept
    }
  }
  writeProjectFile(join(dir, SITE_LIST), `${JSON.stringify({ generator: 'vigil dashboards render', pages: [...written].sort() }, null, 1)}\n`);
  return removed.sort();
}

/**
 * After a render that failed on the way (a full disk): the pages it did write are added to the
 * list, none taken off, so the next render removes those it does not write again (was: unlisted,
 * a drill-down page of a value gone from the data since stayed for good).
 */
export function listWrittenSoFar(dir: string, written: Set<string>, ds: CompiledDashboard[]): void {
  try {
    const pages = new Set([...(listed(dir) ?? legacyPages(dir, ds)), ...written]);
    writeProjectFile(join(dir, SITE_LIST), `${JSON.stringify({ generator: 'vigil dashboards render', pages: [...pages].sort() }, null, 1)}\n`);
  } catch {
    // (the disk that failed the render may fail this too: the render's own error says what happened)
  }
}

/**
 * Without a list (a site rendered by an older Vigil): the drill-down and raw-rows pages named
 * like this render's (`<dashboard>/<tab>--*.html`, `<dashboard>/rows/<tile>--*.html`) in the
 * folders of the dashboards rendered.
 */
function legacyPages(dir: string, ds: CompiledDashboard[]): string[] {
  const out: string[] = [];
  const names = (folder: string): string[] => {
    try {
      return statSync(join(dir, folder)).isDirectory() ? readdirSync(join(dir, folder)) : [];
    } catch {
      return [];
    }
  };
  for (const d of ds) {
    const name = d.dashboard.name;
    const tabs = d.tabs.map((t) => `${t.name}--`);
    for (const n of names(name)) if (n.endsWith('.html') && tabs.some((t) => n.startsWith(t))) out.push(`${name}/${n}`);
    const tiles = d.tabs.flatMap((t) => t.tiles.filter((x) => x.rawRows).map((x) => `${x.tile.id}--`));
    for (const n of names(`${name}/rows`)) if (n.endsWith('.html') && tiles.some((t) => n.startsWith(t))) out.push(`${name}/rows/${n}`);
  }
  return out;
}
