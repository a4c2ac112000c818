/**
 * Where a project is and which files it holds: the walk up to project.yaml and the folder
 * listing, with nothing else imported (`vigil ls` checks its snapshot with these alone).
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';

export const PROJECT_FILE = 'project.yaml';

/**
 * Create the folder a user named (vigil init's), each missing level in turn. Node's recursive
 * mkdirSync loops for ever under a file system that answers ENOENT for a child of a folder that
 * exists (/proc/x: `vigil init /proc/x` hung); one level at a time that is the error it is.
 */
export function makeFolder(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a symbolic link to nothing (or to itself) on the way, which existsSync took for missing:
      // said as such (was: "takes no folder (ENOENT)" for a level below it, or an internal error
      // with a stack trace: ELOOP below a loop, ENOENT when the link is the project folder itself)
      if (code === 'EEXIST') {
        const link = danglingLink(d);
        if (link) throw new UsageError(`cannot mkdir ${d}: ${link}`);
        continue;
      }
      // (its parent is there: the file system takes no folder in it)
      if (code === 'ENOENT') throw new UsageError(`cannot mkdir ${d}: ${dirname(d)} takes no folder (ENOENT): choose a folder on an ordinary file system`);
      throw e;
    }
  }
}

/** What is wrong with `p` when it is a symbolic link that leads to no folder (a missing target, a loop), else undefined. */
function danglingLink(p: string): string | undefined {
  try {
    if (!lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() || existsSync(p)) return undefined;
    return `${p} is a symbolic link to ${readlinkSync(p)}, which leads to no folder (missing, or a loop of links): fix or remove the link`;
  } catch {
    return undefined;
  }
}

/** dbt's YAML selectors, in the project's root: --selector <name> (selectors-file.ts). */
export const SELECTORS_FILE = 'selectors.yml';

/**
 * The folders a project reads its own files from, by their key in project.yaml `paths:` (each
 * folder is that key by default): the one list of them. What the compile lists (listFiles), what
 * `--watch` watches (with project.yaml, selectors.yml and the fixtures unit tests read), what a
 * snapshot stamps, and what `vigil clean`, `paths.target` and a project made inside it keep clear of.
 */
export const SOURCE_FOLDERS = ['models', 'macros', 'tests', 'alerts', 'dashboards', 'seeds', 'snapshots'] as const;
export type SourceFolder = (typeof SOURCE_FOLDERS)[number];

/** Where a project's `paths:` puts each of SOURCE_FOLDERS, in that order (a key not given: its own name). */
export function sourceFolderPaths(paths: Partial<Record<SourceFolder, string>>): string[] {
  return SOURCE_FOLDERS.map((k) => paths[k] ?? k);
}

/**
 * Where a path of the project really is: its real path, through every symbolic link on the way
 * (listFiles reads a folder through a link: `models -> ../shared`), or undefined when nothing is
 * there yet.
 */
export function realPath(abs: string): string | undefined {
  try {
    return realpathSync(abs);
  } catch {
    return undefined;
  }
}

/**
 * How much older than the moment its stamp is taken a file must be for its stamp (size and
 * modification time) to stand for its content: git's "racy git" rule. An edit made after the
 * stamp was taken gets a later modification time, except within the file system's timestamp
 * tick (1 s on HFS+ and ext3, 2 s on FAT) or on a clock a little behind: a file modified that
 * close to the stamp is read and hashed each time (only files just touched: a project's other
 * files keep their stamps). What no stamp rule sees: an edit that keeps the size and sets an older
 * modification time back on purpose (as make and git miss it; `vigil clean` forgets every stamp).
 */
export const RACY_MS = 2000;

/** Whether the stamp of a file modified at `mtimeMs`, taken at `takenAtMs`, may stand for its content (RACY_MS). */
export function stampHolds(mtimeMs: number, takenAtMs: number): boolean {
  return mtimeMs < takenAtMs - RACY_MS;
}

/** A model, macro, test or snapshot file: `.sql` in any case, as dbt finds them (`Orders.SQL` is the model Orders). */
export const SQL_FILE = /\.sql$/i;

/** Walk up from `start` to the folder holding project.yaml. */
export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, PROJECT_FILE))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * A project file's text, without a leading byte order mark (U+FEFF): editors on Windows write one,
 * and in SQL it is a character the warehouse reads (Postgres: syntax error at or near "\uFEFF").
 */
export function readProjectText(abs: string): string {
  const text = readFileSync(abs, 'utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/**
 * An editor's lock, swap or backup file, never a project file: Emacs' lock `.#orders.sql` (a
 * symbolic link to nothing) and autosave `#orders.sql#`, Vim's swap `.orders.sql.swp`, a backup `orders.sql~`.
 */
export const EDITOR_TEMP = /^\.#|^#.*#$|^\..*\.sw[a-p]$|~$/;

/** What `listFiles` found besides files: symbolic links to files (by path, with the file's real path) and links to nothing. */
export interface Listed {
  links?: Map<string, string>;
  dangling?: string[];
}

/** The real path of the file a symbolic link points to; null when it points to nothing (or loops), undefined to a folder. */
export function linkedFile(abs: string): string | null | undefined {
  try {
    return statSync(abs).isFile() ? realpathSync(abs) : undefined;
  } catch {
    return null;
  }
}

/**
 * All files under `dir` (relative to root) whose name matches `re`, sorted for determinism. A
 * symbolic link to a file is listed (dbt reads it; `found.links` says where it points), one to a
 * folder is not walked (as dbt's os.walk), one to nothing is left out (`found.dangling`); an
 * editor's temporary files (EDITOR_TEMP) are left out.
 */
export function listFiles(root: string, dir: string, re: RegExp, found?: Listed): string[] {
  if (!existsSync(join(root, dir))) return [];
  const out: string[] = [];
  // one readdir per folder with file types: Node 20's recursive readdir stats every entry
  const walk = (rel: string) => {
    for (const ent of readdirSync(join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${ent.name}`;
      if (ent.isDirectory()) walk(child);
      else if (!re.test(ent.name) || EDITOR_TEMP.test(ent.name)) continue;
      else if (ent.isFile()) out.push(child);
      else if (ent.isSymbolicLink()) {
        const real = linkedFile(join(root, child));
        if (real === null) found?.dangling?.push(child);
        else if (real !== undefined) {
          out.push(child);
          found?.links?.set(child, real);
        }
      }
    }
  };
  walk(toPosix(dir).replace(/\/+$/, ''));
  found?.dangling?.sort();
  return out.sort();
}
