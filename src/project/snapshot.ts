/**
 * Project snapshots: what a successful compile produced (the manifest; the compiled alert
 * rules), kept in target/.cache/<name>.bin and used again while nothing it depended on changed,
 * so `vigil ls` and `vigil alerts evaluate` skip loading YAML, validating and compiling.
 *
 * It stands only when all of these are as they were: Vigil's version and build; the target and --vars
 * asked for; project.yaml, selectors.yml, every file under the project's folders (paths.ts
 * SOURCE_FOLDERS: model, macro, test, seed, snapshot, dashboard and alerts) and every fixture file a
 * unit test read, wherever it is (path, size, modification time; one not there is stamped so); and
 * every environment variable the compile read, compared by a SHA-256 of its value (a compile that
 * read a secret writes no snapshot at all). A file modified within RACY_MS of the stamps (paths.ts:
 * an edit in the same timestamp tick keeps size and modification time) is stamped with a SHA-1 of
 * its content too. Nothing here imports the compiler.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { VIGIL_VERSION } from '../version.js';
import { findProjectRoot, listFiles, PROJECT_FILE, SELECTORS_FILE, SOURCE_FOLDERS, stampHolds } from './paths.js';

/** 4: fixtures stamped, and files modified near the stamps hashed */
const FORMAT = 4;
/** Each kind of snapshot in its own file: `project` (the manifest), `alerts` (the compiled rules), `dashboards` (the compiled tiles). */
export type SnapshotName = 'project' | 'alerts' | 'dashboards';
const fileOf = (name: SnapshotName) => join('target', '.cache', `${name}.bin`);

/** What the command asked for: a snapshot of another target or other vars does not answer it. */
export interface SnapshotKey {
  target?: string;
  vars?: string;
}

/**
 * The folders whose files are stamped (with project.yaml): a project that moves any of them
 * elsewhere (`paths:` in project.yaml) keeps no snapshot, so the folders are known before
 * project.yaml is read.
 */
export const SNAPSHOT_DIRS: Readonly<Record<string, string>> = { ...Object.fromEntries(SOURCE_FOLDERS.map((k) => [k, k])), target: 'target' };
const STAMPED: string[] = [...SOURCE_FOLDERS];

/** Whether a project's folders are the ones snapshots stamp. */
export function snapshotFolders(paths: Record<string, string | undefined>): boolean {
  return Object.entries(SNAPSHOT_DIRS).every(([k, d]) => (paths[k] ?? d) === d);
}

interface Stored<T> {
  format: number;
  key: string;
  /** `path\tsize\tmtime` of each file, one per line (`path\t-`: not there), `\tsha1:<hex>` after it for a file modified near the stamps */
  stamps: string;
  /** the fixture files the compile's unit tests read (relative to the root), stamped after the folders' files */
  fixtures: string[];
  /** [name, SHA-256 of name and value] of each environment variable the compile read */
  env: Array<[string, string]>;
  value: T;
}

/**
 * This build of Vigil: a rebuilt CLI (a developer's, with a compiler that changed but not its
 * version) keeps no old snapshot (nor cache: yaml-cache.ts). The bundle's own hash, which
 * scripts/build.mjs writes over the placeholder below (an install that gives every file one fixed
 * time — Nix, Bazel, reproducible images — made two builds one key); run from the sources, the
 * file's time.
 */
const BUILD_ID: string = 'vigil-build-id:0000000000000000000000000000000000000000';
export const BUILD = (() => {
  if (!/^vigil-build-id:0+$/.test(BUILD_ID)) return BUILD_ID;
  try {
    return statSync(fileURLToPath(import.meta.url)).mtimeMs;
  } catch {
    return 0;
  }
})();
const keyOf = (k: SnapshotKey) => JSON.stringify([VIGIL_VERSION, BUILD, k.target ?? null, k.vars ?? null]);
/** (node:crypto is loaded only when a compile read the environment: a few ms of every `vigil ls`) */
const envHasher = async () => {
  const { createHash } = await import('node:crypto');
  return (name: string, value: string | undefined) => createHash('sha256').update(`${name}\0${value === undefined ? '\u0000unset' : value}`).digest('hex');
};

/** A file's SHA-1 (node:crypto is loaded only for a file that needs it: a few ms of every `vigil ls`). */
let crypto: typeof import('node:crypto') | undefined;
const sha1Of = (abs: string) => (crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).createHash('sha1').update(readFileSync(abs)).digest('hex');

/** The files stamped: project.yaml, selectors.yml (the compile warns of one), everything under `dirs`, and `extra` (fixtures). */
const stampedFiles = (root: string, dirs: string[], extra: string[] = []) => [PROJECT_FILE, SELECTORS_FILE, ...[...new Set(dirs)].flatMap((d) => listFiles(root, d, /./)), ...extra];

/**
 * One line per file, with size and modification time; with a SHA-1 of the content too for each
 * file `hashed` names (by path and modification time).
 */
function stampsOf(root: string, files: string[], hashed: (f: string, mtimeMs: number) => boolean): string {
  const lines: string[] = [];
  for (const f of files) {
    const abs = join(root, f);
    const st = statSync(abs, { throwIfNoEntry: false });
    // (a folder named selectors.yml is no file the project reads: was EISDIR, an internal error)
    lines.push(!st?.isFile() ? `${f}\t-` : hashed(f, st.mtimeMs) ? `${f}\t${st.size}\t${st.mtimeMs}\tsha1:${sha1Of(abs)}` : `${f}\t${st.size}\t${st.mtimeMs}`);
  }
  return lines.join('\n');
}

/** The files `stamps` holds a hash of: the same are hashed to compare with them. */
function hashedIn(stamps: string): (f: string) => boolean {
  if (!stamps.includes('\tsha1:')) return () => false;
  const files = new Set(stamps.split('\n').flatMap((l) => (l.includes('\tsha1:') ? [l.slice(0, l.indexOf('\t'))] : [])));
  return (f) => files.has(f);
}

/** The snapshot's value when it still stands for `key` under `root`, else undefined. */
export async function readSnapshot<T>(root: string, name: SnapshotName, key: SnapshotKey, env: NodeJS.ProcessEnv = process.env): Promise<T | undefined> {
  let s: Stored<T>;
  try {
    s = deserialize(readFileSync(join(root, fileOf(name)))) as Stored<T>;
  } catch {
    return undefined; // none, or unreadable: only a slower start
  }
  if (s.format !== FORMAT || s.key !== keyOf(key)) return undefined;
  if (s.env.length) {
    const envHash = await envHasher();
    if (!s.env.every(([name, h]) => envHash(name, env[name]) === h)) return undefined;
  }
  if (!Array.isArray(s.fixtures) || stampsOf(root, stampedFiles(root, STAMPED, s.fixtures), hashedIn(s.stamps)) !== s.stamps) return undefined;
  return s.value;
}

/** What a compile whose result may be kept starts from: the files' stamps before it reads anything, and the environment to compile with (recorded). */
export interface SnapshotStart {
  before: string;
  /** when `before` was taken (Date.now()) */
  at: number;
  env: NodeJS.ProcessEnv;
  envRead: Map<string, string | undefined>;
}

/** Call before loading the project (undefined: there is no project to stamp). */
export function startSnapshot(projectDir: string): SnapshotStart | undefined {
  const root = findProjectRoot(projectDir);
  if (!root) return undefined;
  const at = Date.now();
  const before = stampsOf(root, stampedFiles(root, STAMPED), (_f, mtimeMs) => !stampHolds(mtimeMs, at));
  const { env, read } = recordingEnv(process.env);
  return { before, at, env, envRead: read };
}

/**
 * Keep `value` as the snapshot for `key`. `start.before`: the stamps taken before the compile read
 * anything (startSnapshot); a file that changed while it ran means no snapshot (its stamp would
 * vouch for content the compile did not see). `fixtures`: the fixture files the compile read
 * (ProjectFiles.fixturesRead), stamped now: one modified near the start means no snapshot either
 * (it may have changed after the compile read it). `start.envRead`: the variables the compile read.
 * Returns the bytes to write (the caller writes them through the one file-writing path), or
 * undefined when no snapshot may be kept.
 */
export async function snapshotBytes<T>(root: string, key: SnapshotKey, start: SnapshotStart, value: T, isSecret: (name: string, value: string) => boolean, fixtures: Iterable<string> = []): Promise<Buffer | undefined> {
  for (const [name, v] of start.envRead) if (v !== undefined && isSecret(name, v)) return undefined;
  if (stampsOf(root, stampedFiles(root, STAMPED), hashedIn(start.before)) !== start.before) return undefined;
  const fixed = [...new Set(fixtures)].sort();
  const racy = (f: string) => {
    const st = statSync(join(root, f), { throwIfNoEntry: false });
    return st !== undefined && !stampHolds(st.mtimeMs, start.at);
  };
  if (fixed.some(racy)) return undefined;
  const fixtureStamps = stampsOf(root, fixed, () => false);
  const envHash = await envHasher();
  const stamps = fixed.length ? `${start.before}\n${fixtureStamps}` : start.before;
  const stored: Stored<T> = { format: FORMAT, key: keyOf(key), stamps, fixtures: fixed, env: [...start.envRead].map(([n, v]) => [n, envHash(n, v)]), value };
  return serialize(stored);
}

export function snapshotPath(root: string, name: SnapshotName): string {
  return join(root, fileOf(name));
}

/** process.env seen through a recorder: which variables a compile read, and what they held. */
function recordingEnv(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; read: Map<string, string | undefined> } {
  const read = new Map<string, string | undefined>();
  const proxy = new Proxy(env, {
    get(t, p) {
      if (typeof p === 'string') read.set(p, t[p]);
      return t[p as string];
    },
    has(t, p) {
      if (typeof p === 'string') read.set(p, t[p]);
      return p in t;
    },
    ownKeys(t) {
      // a compile that lists the environment depends on all of it: record every variable
      for (const k of Object.keys(t)) read.set(k, t[k]);
      return Reflect.ownKeys(t);
    },
  });
  return { env: proxy, read };
}
