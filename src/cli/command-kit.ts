/**
 * The light half of the commands' shared code: options every command has, flag parsing, opening
 * the adapter, and the project as a command answered from its snapshot sees it. Nothing here
 * loads the YAML readers or the compiler, so a command that answers from the snapshot (`vigil
 * alerts evaluate`) starts without them; commands.ts (which compiles) builds on it.
 */
import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import { UsageError, WarehouseBusyError, type Diagnostic } from '../errors.js';
import type { CompileResult, ResolvedTarget } from '../compile/compile-project.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { YamlSource } from '../project/yaml-source.js';
import { writeProjectFile } from '../project/artifacts.js';
import { snapshotBytes, snapshotFolders, snapshotPath, type SnapshotName, type SnapshotStart } from '../project/snapshot.js';
import { parseDuration } from '../time/duration.js';
import { parseTimestamp } from '../time/timestamp.js';
import { isSecret } from '../secrets.js';
import type { Adapter } from '../adapters/adapter.js';
import { err, pathFlag, shownPath } from './output.js';
import { lsManifest, type ProjectSnapshot } from './ls-command.js';
import { blankSelector, globToRe, SelectorError, type IndirectSelection } from '../compile/selector.js';

export interface Common {
  projectDir: string;
  target?: string;
  vars?: string;
  select?: string[];
  exclude?: string[];
  /** --allow-empty: a selector atom that matches nothing is a warning, not an error */
  allowEmpty?: boolean;
  /** --state: a folder holding a previous run's manifest.json, for state: selectors */
  state?: string;
  /** --indirect-selection (ls, compile, test, build): which tests selecting what they test selects */
  indirectSelection?: IndirectSelection;
}

/**
 * Keep `value` as snapshot `name` of what was compiled from `start` (project/snapshot.ts).
 * The snapshot's place is fixed (target/.cache): a project that moves its folders keeps none,
 * and neither does a compile that read run_started_at (its result holds for that run only).
 */
export async function keepSnapshot(name: SnapshotName, c: { files: ProjectFiles; result: CompileResult }, o: Common, start: SnapshotStart | undefined, value: () => unknown): Promise<void> {
  if (!start || !snapshotFolders(c.files.paths) || c.result.volatile) return;
  const bytes = await snapshotBytes(c.files.root, o, start, value(), isSecret, c.files.fixturesRead);
  try {
    if (bytes) writeProjectFile(snapshotPath(c.files.root, name), bytes);
  } catch {
    /* a read-only checkout: no snapshot, only a slower next start */
  }
}

/**
 * The resolved target, to keep in a snapshot beside what was compiled for it: the snapshot
 * stands only while project.yaml, --target and every environment variable the compile read are
 * as they were (and none of those variables was a secret), so the target resolves the same.
 * Undefined when a value of its config could be a secret under the one rule of secrets.ts (a
 * key like `password` or `credentials`, a URL with a password): such a target is resolved again
 * on every use and never written down.
 */
export function keptTarget(t: ResolvedTarget): ResolvedTarget | undefined {
  const secretIn = (key: string, v: unknown): boolean =>
    typeof v === 'string' ? isSecret(key, v) : v !== null && typeof v === 'object' && Object.entries(v).some(([k, x]) => secretIn(Array.isArray(v) ? key : k, x));
  return Object.entries(t.config).some(([k, v]) => secretIn(k, v)) ? undefined : t;
}

/** What a compile leaves in the project snapshot (ls-command.ts ProjectSnapshot). */
export function projectSnapshot(c: { files: ProjectFiles; result: CompileResult; target: ResolvedTarget }): ProjectSnapshot {
  return { manifest: lsManifest(c.result.manifest), warnings: c.result.diagnostics.filter((x) => x.severity === 'warn'), project: c.files.project, paths: c.files.paths, target: keptTarget(c.target) };
}

/**
 * The project as a command answered from a snapshot sees it: project.yaml's settings and the
 * folders, no files, no YAML documents. The target is the one kept with the snapshot
 * (keptTarget), or else resolved again (resolve-target.ts loads zod for the warehouses'
 * schemas); undefined when it no longer resolves — the full path then reports why, at its line,
 * so the diagnostics here need no positions.
 */
export async function projectFromSnapshot(root: string, snap: { project: ProjectFiles['project']; paths: ProjectFiles['paths']; target?: ResolvedTarget }, o: Pick<Common, 'target'>): Promise<{ files: ProjectFiles; target: ResolvedTarget } | undefined> {
  const noPositions: YamlSource = { file: 'project.yaml', value: snap.project, locate: () => ({ line: 1, column: 1 }), scalarAt: () => undefined };
  const files = {
    root,
    project: snap.project,
    paths: snap.paths,
    projectYaml: noPositions,
    models: [],
    macros: [],
    singularTests: [],
    properties: [],
    diagnostics: [],
  } as unknown as ProjectFiles;
  if (snap.target) return { files, target: snap.target };
  const { resolveTarget } = await import('../compile/resolve-target.js');
  const ds: Diagnostic[] = [];
  const target = resolveTarget(files, { target: o.target, env: process.env }, ds);
  return target && !ds.length ? { files, target } : undefined;
}

/** A duration flag (time/duration.ts: 30s, 1h30m, 2d...) in milliseconds; a UsageError otherwise. */
export function durationFlag(flag: string, value: string, opts: { min?: number } = {}): number {
  const ms = parseDuration(flag, value, opts);
  if (ms instanceof Error) throw new UsageError(ms.message);
  return ms;
}

/** A timestamp flag (time/timestamp.ts: ISO 8601, UTC unless it has an offset); a UsageError otherwise. */
export function timestampFlag(flag: string, value: string): Date {
  const d = parseTimestamp(flag, value);
  if (d instanceof Error) throw new UsageError(d.message);
  return d;
}

/**
 * A folder flag (--out DIR, --png-dir DIR): its absolute path (relative to the working folder).
 * A file where the folder or one of its parents should be is a UsageError, not a crash when the
 * command later writes there; a folder that does not exist yet is made by the command. An empty
 * value is a UsageError too (output.ts pathFlag), not the working folder.
 */
export function folderFlag(flag: string, value: string): string {
  const abs = resolve(process.cwd(), pathFlag(flag, value, 'folder'));
  for (let p = abs; ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) continue;
      throw e;
    }
    if (!isDir) throw new UsageError(`${flag} ${value}: ${p === abs ? 'that is a file' : `${shownPath(p)} is a file`}, not a folder`);
    return abs;
  }
}

/** --at: the evaluation time (default: now). */
export function parseAt(at: string | undefined): Date {
  return at === undefined ? new Date() : timestampFlag('--at', at);
}

export async function open(c: { files: ProjectFiles; target: ResolvedTarget }, threads: number, opts: { readOnly?: boolean } = {}): Promise<Adapter> {
  const { openAdapter } = await import('../adapters/index.js');
  const adapter = await openAdapter(c.target, c.files.root, threads, opts);
  adapter.onRetry = (m) => err(`  ${m}`);
  return adapter;
}

/** The local database file of the target when it is not there yet (DuckDB: nothing was built into it); else undefined. */
export async function missingDatabase(c: { files: ProjectFiles; target: ResolvedTarget }): Promise<string | undefined> {
  const { getWarehouse } = await import('../adapters/index.js');
  const file = getWarehouse(c.target.type)?.localFiles?.(c.target.config)[0];
  return file === undefined || existsSync(resolve(c.files.root, file)) ? undefined : file;
}

/**
 * A command that only reads what a build made (dashboards render, validate --warehouse) on a
 * target whose database is a local file not there yet (a project never built, run from the wrong
 * folder, a `path:` typo) is refused (exit 2): opening it created an empty database file and
 * every query failed "does not exist".
 */
export async function requireDatabase(c: { files: ProjectFiles; target: ResolvedTarget }, command: string): Promise<void> {
  const file = await missingDatabase(c);
  if (file === undefined) return;
  throw new UsageError(`${command}: target ${c.target.name} has no database yet (${file} does not exist): nothing was built there. Run vigil build first (vigil demo loads demo data), or check target ${c.target.name}'s path: in project.yaml`);
}

/**
 * `open`, waiting for a DuckDB file another process holds (the one retry of a busy file:
 * `alerts evaluate --wait`, scheduled evaluations, `vigil serve`): tried again after 250 ms,
 * 500 ms, 1 s, then every 2 s, until `waitMs` has passed; then, or once `signal` aborts or
 * `busy` (told of each busy attempt and the wait before the next) returns false, the file's
 * WarehouseBusyError is thrown. Any other error is thrown at once.
 */
export async function openWhenFree(
  c: { files: ProjectFiles; target: ResolvedTarget },
  threads: number,
  opts: { waitMs: number; signal?: AbortSignal; busy?: (e: WarehouseBusyError, delayMs: number, attempt: number) => boolean | void; readOnly?: boolean },
): Promise<Adapter> {
  const deadline = Date.now() + opts.waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await open(c, threads, { readOnly: opts.readOnly });
    } catch (e) {
      if (!(e instanceof WarehouseBusyError) || Date.now() >= deadline || opts.signal?.aborted) throw e;
      const delay = Math.min(2000, 250 * 2 ** (attempt - 1), Math.max(0, deadline - Date.now()));
      if (opts.busy?.(e, delay, attempt) === false) throw e;
      // (an abort ends the wait early, as serve's lease waits: src/serve/lease.ts)
      await sleep(delay, undefined, { signal: opts.signal }).catch(() => undefined);
      if (opts.signal?.aborted) throw e;
    }
  }
}

/**
 * `-s` values naming things by glob (alert rules, dashboards), each one's RegExp (undefined where
 * `isGlob` says a value is none: an alert's `severity=critical`): a blank value (`grammar`: what
 * may be selected; `all`: what leaving the flag out selects), or one too long to match, is a usage error.
 */
export function selectGlobs(select: string[], grammar: string, all: string, isGlob: (s: string) => boolean = () => true): Array<RegExp | undefined> {
  const blank = blankSelector(select, grammar, all);
  if (blank) throw new UsageError(blank);
  try {
    return select.map((s) => (isGlob(s) ? globToRe(s) : undefined));
  } catch (e) {
    throw e instanceof SelectorError ? new UsageError(`--select ${e.message}`) : e;
  }
}
