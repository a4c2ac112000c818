/**
 * Files under target/: compiled SQL, manifest.json, run_results.json, and the render cache
 * that lets a recompile skip every model whose inputs did not change.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { holdsSecret, redact, redactionVersion, redactStrings } from '../secrets.js';
import { basename, dirname, join, sep } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { RenderCache } from '../compile/compile-project.js';
import type { Manifest } from '../compile/manifest.js';
import type { ProjectFiles } from './load-project.js';

/**
 * 3: a stamp is kept only for a file older than RACY_MS at the compile (paths.ts): a cache of 2 may hold stamps of files edited since within their tick.
 * 4: a secret's stamp is 'secret' (envStamp): a cache of 3 holds a hash of its value, which
 * outlived the upgrade in the entry of a model deleted since (entries are never pruned).
 */
const CACHE_VERSION = 4;

export interface CacheFile {
  version: number;
  renders: RenderCache;
  /** compiled_path -> what was last written there: its sha1 and size */
  written: Map<string, { sha1: string; size: number }>;
  /**
   * The modification time of the cache file, read when it is loaded or saved (after the files it
   * records were written): a file of the same time or newer may have changed since. (The file
   * system's clock, not Date.now(): Linux stamps files with a coarse clock a few ms behind it.)
   */
  savedAtMs?: number;
  /**
   * The key (cli/commands.ts piiCheckKey) of the last compile whose PII check of the models had
   * nothing to say: a compile of the same manifest by the same build is not checked again.
   */
  piiClean?: string;
}

function cachePath(files: ProjectFiles): string {
  return join(files.root, files.paths.target, '.cache', 'compile.bin');
}

export function loadCache(files: ProjectFiles): CacheFile {
  const p = cachePath(files);
  if (existsSync(p)) {
    try {
      const c = deserialize(readFileSync(p)) as CacheFile;
      if (c.version === CACHE_VERSION) return { ...c, savedAtMs: statSync(p).mtimeMs };
    } catch {
      // a corrupt cache is only a slower compile
    }
  }
  return { version: CACHE_VERSION, renders: new Map(), written: new Map() };
}

export function saveCache(files: ProjectFiles, cache: CacheFile): void {
  const p = cachePath(files);
  // (a compiled file a run wrote over is not as the cache wrote it: not recorded so)
  for (const path of ranOver) cache.written.delete(path);
  if (atomicWrite(p, serialize({ ...cache, savedAtMs: undefined }))) cache.savedAtMs = statSync(p).mtimeMs;
}

/**
 * Compiled files a run wrote over with the SQL it runs (a unit test's givens typed by the
 * warehouse): the next compile writes its own again — in --watch too, whose cache recorded the
 * compile's text there (the run's stayed, also for a later `vigil compile`, the cache saved after it).
 */
const ranOver = new Set<string>();

/** Write the SQL a run executes over a node's compiled file (`path` relative to the root), as a compile's is redacted. */
export function writeRunSql(files: ProjectFiles, path: string, sql: string): void {
  writeProjectFile(join(files.root, path), `${sql}\n`);
  ranOver.add(path);
}

/**
 * The one way Vigil writes a file under the project (target/, .vigil/, exports): text through
 * redact() (no secret value reaches disk), binary data (the render cache) only when it holds no
 * secret. Replaced atomically: a reader sees the old file or the new one. Returns whether it wrote.
 */
export function writeProjectFile(path: string, data: string | Buffer, opts: { atomic?: boolean; mkdir?: boolean; /** the text went through redact() already (manifestJson) */ redacted?: boolean } = {}): boolean {
  let body: string | Buffer = data;
  if (typeof data === 'string') body = opts.redacted ? data : redact(data);
  else if (holdsSecret(data)) {
    rmSync(path, { force: true });
    return false;
  }
  if (opts.mkdir !== false) mkdirSync(dirname(path), { recursive: true });
  if (opts.atomic === false) {
    try {
      writeFileSync(path, body);
    } catch (e) {
      throw naming(e, path);
    }
    return true;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, body);
    renameSync(tmp, path);
  } catch (e) {
    // (a full disk, a folder in the way): nothing half-written is left behind
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* the original error says what went wrong */
    }
    throw naming(e, path);
  }
  return true;
}

/** A write's error naming the file it was writing: a disk that fills during write() says no path (ENOSPC), and the error line names one. */
function naming(e: unknown, path: string): unknown {
  const x = e as NodeJS.ErrnoException;
  if (e instanceof Error && typeof x.code === 'string' && typeof x.path !== 'string') {
    x.path = path;
    x.syscall ??= 'write';
  }
  return e;
}
const atomicWrite = writeProjectFile;

/** In a long-lived process (--watch): the text last written (or found written) at each path, to skip hashing it again. */
const lastWritten = new WeakMap<CacheFile, Map<string, string>>();

/**
 * Write target/compiled/** and target/manifest.json. A file is written when its content changed,
 * or when it is not as it was written: deleted, or edited (another size, or modified after the
 * cache that records it was saved: a stat each). In --watch, a file this process wrote with the
 * same text is only looked for in its folder's listing (a stat of each of 10,000 files took 40 ms
 * of a 100 ms recompile).
 */
export function writeCompileArtifacts(files: ProjectFiles, manifest: Manifest, cache: CacheFile): { written: number } {
  let written = 0;
  const dirs = new Set<string>();
  let texts = lastWritten.get(cache);
  if (!texts) lastWritten.set(cache, (texts = new Map()));
  const listings = new Map<string, Set<string>>();
  const listed = (abs: string) => {
    const dir = dirname(abs);
    let names = listings.get(dir);
    if (!names) listings.set(dir, (names = new Set(existsSync(dir) ? readdirSync(dir) : [])));
    return names.has(basename(abs));
  };
  const kept = new Set<string>();
  const write = (path: string, sql: string) => {
    kept.add(path);
    if (writeCompiledSql(files, cache, path, sql, { dirs, texts, listed })) written++;
  };
  for (const n of Object.values(manifest.nodes)) {
    if (n.resource_type === 'seed') continue; // its CSV is its source; nothing is compiled
    write(n.compiled_path, n.compiled_sql);
    // what an incremental run executes, so its errors point at a file holding that SQL
    if (n.resource_type === 'model' && n.compiled_sql_incremental !== undefined && n.compiled_path_incremental) write(n.compiled_path_incremental, n.compiled_sql_incremental);
  }
  removeVanished(files, cache, kept, texts);
  writeProjectFile(join(files.root, files.paths.target, 'manifest.json'), manifestJson(manifest), { redacted: true });
  return { written };
}

/**
 * The compiled files an earlier compile wrote for nodes the project no longer has (a model deleted,
 * renamed or moved, disabled; a test or unit test removed): removed, with the folders they leave
 * empty, so target/compiled/ holds what a compile of the project as it is writes (they stayed: after
 * a rename under --watch both the old and the new file, the old one read as current). Only a file
 * this cache records writing under <target>/compiled/ and still as written (its SHA-1): one edited
 * by hand, or a file Vigil never wrote there (the alerts' compiled queries), stays.
 */
function removeVanished(files: ProjectFiles, cache: CacheFile, kept: Set<string>, texts: Map<string, string>): void {
  const under = `${files.paths.target}/compiled/`;
  for (const [path, was] of cache.written) {
    if (kept.has(path)) continue;
    cache.written.delete(path);
    texts.delete(path);
    if (!path.startsWith(under) || path.split('/').includes('..')) continue;
    const abs = join(files.root, path);
    let body: Buffer;
    try {
      body = readFileSync(abs);
    } catch {
      continue; // gone already
    }
    if (createHash('sha1').update(body).digest('hex') !== was.sha1) continue;
    rmSync(abs, { force: true });
    // its folders, while empty, up to target/compiled/ itself (kept)
    const top = join(files.root, files.paths.target, 'compiled');
    for (let dir = dirname(abs); dir.startsWith(top + sep) && existsSync(dir) && readdirSync(dir).length === 0; dir = dirname(dir))
      try {
        rmdirSync(dir);
      } catch {
        break; // (something was written into it meanwhile)
      }
  }
}

/**
 * One compiled SQL file, written by the rule of writeCompileArtifacts (its content changed, or
 * the file is not as it was written). `dirs`, `texts`, `listed`: a full compile's shortcuts (the
 * folders made, the texts this process wrote, the folders' listings); without them, one stat.
 * Returns whether it wrote.
 */
export function writeCompiledSql(files: ProjectFiles, cache: CacheFile, path: string, sql: string, opts: { dirs?: Set<string>; texts?: Map<string, string>; listed?: (abs: string) => boolean } = {}): boolean {
  const abs = join(files.root, path);
  if (ranOver.delete(path)) {
    cache.written.delete(path);
    opts.texts?.delete(path);
  }
  const was = cache.written.get(path);
  if (was && opts.texts?.get(path) === sql && opts.listed?.(abs)) return false;
  const body = sql + '\n';
  const h = createHash('sha1').update(body).digest('hex');
  if (was?.sha1 === h) {
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st && st.size === was.size && st.mtimeMs < (cache.savedAtMs ?? 0)) {
      opts.texts?.set(path, sql);
      return false;
    }
  }
  const dir = dirname(abs);
  if (!opts.dirs?.has(dir)) {
    mkdirSync(dir, { recursive: true });
    opts.dirs?.add(dir);
  }
  // thousands of files: plain writes, directories made once each
  writeProjectFile(abs, body, { atomic: false, mkdir: false });
  cache.written.set(path, { sha1: h, size: Buffer.byteLength(body) });
  opts.texts?.set(path, sql);
  return true;
}

/** Each part of a manifest as redacted JSON, by identity: a recompile that rebuilt a few nodes (--watch) serializes those only. */
let partJson = new WeakMap<object, string>();
let partVersion = -1;

/**
 * The manifest as JSON, redacted: JSON.stringify's text (same keys, same order), put together
 * from its nodes and top-level parts, each serialized and redacted once for as long as the same
 * object is reused (a patched compile keeps every node it did not rebuild).
 */
export function manifestJson(manifest: Manifest): string {
  const version = redactionVersion();
  if (version !== partVersion) {
    partJson = new WeakMap();
    partVersion = version;
  }
  // its strings are redacted, not its text: a secret's digits cut out of a number left a
  // manifest no reader could parse (the text is searched once; redacted again only when it held one)
  const json = (v: unknown): string => {
    const text = JSON.stringify(v);
    return redact(text) === text ? text : JSON.stringify(redactStrings(v));
  };
  const part = (v: object, key?: string): string => {
    let j = partJson.get(v);
    if (j === undefined) partJson.set(v, (j = `${key === undefined ? '' : `${json(key)}:`}${json(v)}`));
    return j;
  };
  const defined = (o: object) => Object.entries(o).filter(([, v]) => v !== undefined && typeof v !== 'function');
  const value = (v: unknown): string => (v !== null && typeof v === 'object' ? part(v) : json(v));
  // each node with its key (its unique_id: a node object is the value of one key only).
  // Concatenated with += (a rope, flattened once when written): Array.join of 10,000 pieces
  // took ~50 ms, the rope well under 1 ms
  let nodes = '{';
  for (const [k, n] of defined(manifest.nodes)) nodes += `${nodes.length > 1 ? ',' : ''}${part(n as object, k)}`;
  nodes += '}';
  let out = '{';
  for (const [k, v] of defined(manifest)) out += `${out.length > 1 ? ',' : ''}${json(k)}:${v === manifest.nodes ? nodes : value(v)}`;
  return `${out}}`;
}

export function writeTargetJson(files: ProjectFiles, name: string, data: unknown): string {
  const p = join(files.root, files.paths.target, name);
  // (its strings redacted, not its text: run_results.json's timings are numbers a secret's digits may be in)
  atomicWrite(p, JSON.stringify(redactStrings(data), null, 2) + '\n', { redacted: true });
  return p;
}
