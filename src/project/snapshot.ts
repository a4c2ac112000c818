/**
 * Project snapshots: what a successful compile produced (the manifest; the compiled alert
 * rules), kept in target/.cache/<name>.bin and used again while nothing it depended on changed,
 * so `vigil ls` and `vigil alerts evaluate` skip loading YAML, validating and compiling.
 *
 * It stands only when all of these are as they were: Vigil's version and build; the target and --vars
 * asked for; project.yaml, selectors.yml and every file under the project's model, macro, test, seed,
 * snapshot and dashboard folders (path, size, modification time); and every environment
 * variable the compile read, compared by a SHA-256 of its value (a compile that read a secret
 * writes no snapshot at all). Nothing here imports the compiler.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { VIGIL_VERSION } from '../version.js';
import { findProjectRoot, listFiles, PROJECT_FILE, SELECTORS_FILE } from './paths.js';

const FORMAT = 3;
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
export const SNAPSHOT_DIRS = { models: 'models', macros: 'macros', tests: 'tests', seeds: 'seeds', snapshots: 'snapshots', dashboards: 'dashboards', alerts: 'alerts', target: 'target' } as const;
const STAMPED = Object.values(SNAPSHOT_DIRS).filter((d) => d !== 'target');

/** Whether a project's folders are the ones snapshots stamp. */
export function snapshotFolders(paths: Record<string, string | undefined>): boolean {
  return Object.entries(SNAPSHOT_DIRS).every(([k, d]) => (paths[k] ?? d) === d);
}

interface Stored<T> {
  format: number;
  key: string;
  /** `path\tsize\tmtime` of each file, one per line */
  stamps: string;
  /** [name, SHA-256 of name and value] of each environment variable the compile read */
  env: Array<[string, string]>;
  value: T;
}

/** This build of Vigil: a rebuilt CLI (a developer's, with a compiler that changed but not its version) keeps no old snapshot (nor cache: yaml-cache.ts). */
export const BUILD = (() => {
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

/** One line per file: project.yaml and everything under `dirs`, with size and modification time. */
function stampsOf(root: string, dirs: string[]): string {
  // (selectors.yml: the compile warns of one)
  const files = [PROJECT_FILE, SELECTORS_FILE, ...[...new Set(dirs)].flatMap((d) => listFiles(root, d, /./))];
  const lines: string[] = [];
  for (const f of files) {
    const st = statSync(join(root, f), { throwIfNoEntry: false });
    lines.push(st ? `${f}\t${st.size}\t${st.mtimeMs}` : `${f}\t-`);
  }
  return lines.join('\n');
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
  if (stampsOf(root, STAMPED) !== s.stamps) return undefined;
  return s.value;
}

/** What a compile whose result may be kept starts from: the files' stamps before it reads anything, and the environment to compile with (recorded). */
export interface SnapshotStart {
  before: string;
  env: NodeJS.ProcessEnv;
  envRead: Map<string, string | undefined>;
}

/** Call before loading the project (undefined: there is no project to stamp). */
export function startSnapshot(projectDir: string): SnapshotStart | undefined {
  const root = findProjectRoot(projectDir);
  if (!root) return undefined;
  const before = stampsOf(root, STAMPED);
  const { env, read } = recordingEnv(process.env);
  return { before, env, envRead: read };
}

/**
 * Keep `value` as the snapshot for `key`. `start.before`: the stamps taken before the compile read
 * anything (startSnapshot); a file that changed while it ran means no snapshot (its stamp would
 * vouch for content the compile did not see). `start.envRead`: the variables the compile read.
 * Returns the bytes to write (the caller writes them through the one file-writing path), or
 * undefined when no snapshot may be kept.
 */
export async function snapshotBytes<T>(root: string, key: SnapshotKey, start: SnapshotStart, value: T, isSecret: (name: string, value: string) => boolean): Promise<Buffer | undefined> {
  for (const [name, v] of start.envRead) if (v !== undefined && isSecret(name, v)) return undefined;
  if (stampsOf(root, STAMPED) !== start.before) return undefined;
  const envHash = await envHasher();
  const stored: Stored<T> = { format: FORMAT, key: keyOf(key), stamps: start.before, env: [...start.envRead].map(([n, v]) => [n, envHash(n, v)]), value };
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
