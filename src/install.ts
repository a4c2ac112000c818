/**
 * Where this Vigil runs from: the folder of the vigil-analytics package (its package.json), a
 * checkout of the Vigil repository or the package npm installed; and the pages of its
 * documentation named so the reader finds them (docRef).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null | undefined;

/** The real path of the folder above this code whose package.json is vigil-analytics' (undefined when there is none). */
export function installRoot(): string | undefined {
  if (root === undefined) {
    root = null;
    for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
      const pkg = join(d, 'package.json');
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'vigil-analytics') {
        root = realpathSync(d);
        break;
      }
      if (dirname(d) === d) break;
    }
  }
  return root ?? undefined;
}

/**
 * A page of Vigil's documentation (`alerts.md`, `governance.md#retention`) as a message, --help
 * or a written file names it: `docs/<page>` when Vigil runs from its own repository (src/ beside
 * docs/: that path is the page there), else the page in the installed package, which ships
 * docs/ — relative to `from` (default: the current folder) when it is below it
 * (`node_modules/vigil-analytics/docs/alerts.md`), else absolute. (Was: `docs/alerts.md` from the
 * installed package too, a path only the Vigil repository has.)
 */
export function docRef(page: string, from = process.cwd()): string {
  const r = installRoot();
  if (!r || existsSync(join(r, 'src'))) return `docs/${page}`;
  const [file, anchor] = page.split('#');
  const abs = join(r, 'docs', file);
  const rel = relative(from, abs);
  return `${rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs}${anchor === undefined ? '' : `#${anchor}`}`;
}
