/**
 * `vigil compile --watch` / `vigil run|build|test --watch`: one long-lived process that keeps
 * the render cache in memory, recompiles when a file of the project changes (models, macros,
 * tests and their fixtures, YAML, docs blocks, seeds, snapshots, dashboards, project.yaml),
 * writes the manifest and the compiled files that changed, and — for run/build/test — runs what
 * changed and what depends on it (dbt's `state:modified+` against the compile of the last run
 * that started), within the selection given. A compile error, or PII the compile-time check refuses (compile, run,
 * build), is shown and the process goes on watching; the last good manifest stays. A mistake of
 * the command line in the first round (a selector that selects nothing, -t, a --vars key nothing
 * reads, flags that do not go together) is exit 2, as without --watch: no edit of a file fixes it.
 */
import chokidar from 'chokidar';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { formatDiagnostic, ProjectError, UsageError } from '../errors.js';
import { patchCompile, type CompileResult } from '../compile/compile-project.js';
import { findProjectRoot, loadProject, reloadProject, type ProjectFiles } from '../project/load-project.js';
import { EDITOR_TEMP, PROJECT_FILE, realPath, SELECTORS_FILE, SOURCE_FOLDERS, sourceFolderPaths, toPosix } from '../project/paths.js';
import { getWarehouse } from '../adapters/index.js';
import { loadCache, saveCache, writeCompileArtifacts, type CacheFile } from '../project/artifacts.js';
import { selectNodes, selectorExprs } from '../compile/selector.js';
import { yamlSelectorAgain } from './selection.js';
import { checkPii, checkRunFlags, compileForCommand, err, out, parseVars, runExecute, select, type Common, type Compiled } from './commands.js';
import { counted } from '../format.js';

type Manifest = CompileResult['manifest'];

/** Paths under the project that never feed a compile (written by Vigil, or not ours; an editor's temporary files: EDITOR_TEMP). */
const IGNORED = /^(\.git|node_modules|\.vigil|\.cache)(\/|$)/;
/** How long a round of files removed only waits for the addition of a move's other half (onChange). */
const MOVE_WAIT_MS = 150;
/**
 * chokidar (3.6) drops, not postpones, a path's event that comes soon after the last it reported:
 * a change within 50 ms of the last change (a save 30 ms after a save), a removal within 100 ms.
 * A round's files are looked at again once this long has passed since the last event of each
 * (recheckSoon): a file that is not as it was when the round read it makes another round.
 */
const RECHECK_AFTER_MS = 110;

/**
 * What a file is on disk, as far as a stat tells (inode, size, modification and change times in
 * nanoseconds): a save changes it (a rename over the file, its inode). A folder is always the same
 * (what changes in it is reported for its files).
 */
function fileState(abs: string): string {
  try {
    const st = statSync(abs, { bigint: true, throwIfNoEntry: false });
    if (!st) return 'missing';
    return st.isDirectory() ? 'folder' : `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return 'unreadable';
  }
}

/** The folder of a path relative to the root (`.` for one in the root). */
const posixDir = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '.');
/** Whether a path relative to the root is under it by its text (`../x` is not). */
const inside = (rel: string) => rel !== '..' && !rel.startsWith('../');

export async function runWatch(
  command: 'compile' | 'run' | 'build' | 'test',
  o: Common & { threads?: number; fullRefresh?: boolean; failFast?: boolean; unit?: boolean; data?: boolean; empty?: boolean; favorState?: boolean },
): Promise<void> {
  // (a --vars typo, flags that do not go together: exit 2 before watching starts)
  parseVars(o.vars);
  checkRunFlags(o);
  let cache: CacheFile | undefined;
  let previous: Manifest | undefined;
  let targetDir = 'target';
  let root = o.projectDir;
  const clock = () => new Date().toTimeString().slice(0, 8);

  // the files as last read: a change re-reads only what changed
  let files: ProjectFiles | undefined;
  /** the warehouse's files in the project (relative paths): written by a build, not edits */
  let own = new Set<string>();
  /**
   * The project's symbolic links to files, by the real path of the file: the links are watched,
   * not the files they point to (chokidar's followSymlinks would walk every linked folder, also
   * those inside the project's folders, which the project does not read), so each such file is
   * watched on its own.
   */
  let linkedTo = new Map<string, string[]>();
  const watchedFiles = new Set<string>();
  /** when watching began: a link, or a linked file, chokidar reports added that is older is no change */
  const watchingSince = Date.now();
  const watchLinks = (f: ProjectFiles) => {
    linkedTo = new Map();
    for (const [rel, real] of f.links ?? []) {
      linkedTo.set(real, [...(linkedTo.get(real) ?? []), rel]);
      if (watchedFiles.has(real)) continue;
      watchedFiles.add(real);
      watcher.add(real);
    }
  };
  /**
   * What is watched: exactly what the project reads — project.yaml, selectors.yml, each of its
   * folders where `paths:` puts them (paths.ts SOURCE_FOLDERS) and each fixture a unit test read,
   * relative to the root (`../shared` for a folder outside it). Under the root they are watched
   * through the root (the other paths there are ignored); a folder whose real path is elsewhere
   * — outside the root (`paths: { models: ../x }`) or through a symbolic link (`models ->
   * ../shared`), which the project reads through — is watched at its real path, in `away`.
   */
  const read = { files: new Set<string>([PROJECT_FILE, SELECTORS_FILE]), folders: new Set<string>(SOURCE_FOLDERS), fixtures: new Set<string>() };
  /**
   * The folders and fixtures under the root the project read before and no longer does (`paths:`
   * changed): chokidar keeps watching them, reporting nothing (`wanted`), so they are there when
   * the project reads them again. Ignored, chokidar let such a folder go the next time it read
   * the root, and did not take it in again when `paths:` came back: a new model in it went unseen.
   */
  const readBefore = { folders: new Set<string>(), fixtures: new Set<string>() };
  /** the places watched at their real path, by that path: the path relative to the root they stand for */
  let away = new Map<string, string>();
  /** the folders under the root a scan of chokidar took in (a folder the project did not read then was not) */
  const scanned = new Set<string>();
  const watchRead = (f: ProjectFiles) => {
    const rootReal = realPath(root) ?? root;
    for (const d of read.folders) readBefore.folders.add(d);
    for (const p of read.fixtures) readBefore.fixtures.add(p);
    read.folders = new Set(sourceFolderPaths(f.paths));
    read.fixtures = new Set(f.fixturesRead ?? []);
    const next = new Map<string, string>();
    const here: string[] = [];
    // each folder, and each fixture's folder (a fixture not there yet is seen when it comes)
    for (const rel of [...read.folders, ...[...read.fixtures].map(posixDir)]) {
      // (not there yet: its nearest folder that is, which sees it come)
      let [abs, at] = [resolve(root, rel), rel];
      let real = realPath(abs);
      while (real === undefined && dirname(abs) !== abs) [abs, at, real] = [dirname(abs), posix.join(at, '..'), realPath(dirname(abs))];
      if (real === undefined) continue;
      if (inside(at) && real === resolve(rootReal, at)) here.push(abs);
      else next.set(real, at);
    }
    for (const [real] of away) if (!next.has(real)) void watcher.unwatch(real);
    const added = [...next.keys()].filter((real) => !away.has(real));
    away = next;
    for (const real of added) watcher.add(real);
    // (a folder under the root that an earlier scan left out, as the project did not read it then)
    for (const abs of here) {
      if (scanned.has(abs)) continue;
      scanned.add(abs);
      watcher.add(abs);
    }
  };
  // the last compile that succeeded, which an edit of model files may patch
  let last: CompileResult | undefined;
  /** the files the last round found gone as it read them (read again in a round of their own) */
  let goneBefore = new Set<string>();

  /** a problem of the command line (-t, a --vars key), which no edit of a file fixes */
  const ofFlags = (d: ProjectError['diagnostics'][number]) =>
    (d.code === 'E_VAR' && d.message.startsWith('--vars')) || (o.target !== undefined && d.code === 'E_TARGET' && d.message.startsWith(`target '${o.target}' is not defined`));
  const refused = (e: ProjectError) => {
    for (const d of e.diagnostics) err(formatDiagnostic(d));
    err(`${clock()} ${e.diagnostics.length} error${e.diagnostics.length === 1 ? '' : 's'}: the last good manifest stays; watching for changes (Ctrl-C stops)`);
  };
  /**
   * Load (or reload `changed`), compile, check PII (not for `test`, as vigil test does not), write
   * the artifacts; undefined (with the problems printed, nothing written) when the project does not
   * compile or the PII check refuses it. In the first round a problem of the command line is thrown.
   */
  const compile = async (changed?: string[], firstRound = false): Promise<{ c: Compiled; ms: number; written: number } | undefined> => {
    const t0 = performance.now();
    let c: Compiled;
    // (what the project reads is known once it compiled: the fixtures its unit tests read, also
    // when the compile failed, as one whose fixture is missing does)
    let loaded: ProjectFiles | undefined;
    try {
      files = loaded = files && changed ? reloadProject(files, changed) : (preloaded ?? loadProject(o.projectDir, { keepYaml: true }));
      preloaded = undefined;
      root = files.root;
      targetDir = files.paths.target;
      watchLinks(files);
      cache ??= loadCache(files);
      // an edit of model files only: redo those models when nothing else can have changed
      const patched = changed && last ? patchCompile(last, files, changed) : undefined;
      if (patched) {
        for (const d of patched.diagnostics.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
        c = { files, result: patched, target: patched.target! };
      }
      // (the render cache goes to disk now and then, saveSoon, not at every keystroke)
      else c = compileForCommand(o, { files, cache, saveCache: false, writeArtifacts: false, empty: o.empty, incremental: true });
      last = c.result;
      // the warehouse's own files in the project (DuckDB's `path: dev.duckdb`): a build writes them
      own = new Set((getWarehouse(c.target.type)?.localFiles?.(c.target.config) ?? []).map((f) => relOf(resolve(root, f))));
    } catch (e) {
      // the next round reads everything again (a project.yaml that failed to load must not be
      // replaced by the copy from before it changed)
      files = undefined;
      last = undefined;
      if (loaded) watchRead(loaded);
      // a file listed and gone before it was read (a folder added, then a file moved into it; a
      // branch checked out): the project changed while it was read, not an error of it — read
      // again in a round of its own (was: "ENOENT: no such file or directory, stat ..." printed
      // as this round's error)
      const x = e as NodeJS.ErrnoException;
      // (once: a file that is gone again when read again is this round's error, not a loop)
      const gone = (x.code === 'ENOENT' || x.code === 'ENOTDIR') && typeof x.path === 'string' ? relsOf(resolve(x.path)).filter((rel) => wanted(rel) && !goneBefore.has(rel)) : [];
      goneBefore = new Set(gone);
      if (gone.length) {
        if (!changedPaths.size) firstEventAt = performance.now();
        for (const rel of gone) changedPaths.add(rel);
        return undefined;
      }
      if (!(e instanceof ProjectError)) throw e;
      if (firstRound && e.diagnostics.some(ofFlags)) throw e;
      refused(e);
      return undefined;
    }
    goneBefore = new Set();
    watchRead(c.files);
    // (checked before anything is written, as vigil compile does; the compile stands, for the next
    // edit to patch)
    if (command !== 'test') {
      try {
        await checkPii(c);
        c = { ...c, piiChecked: true };
      } catch (e) {
        if (!(e instanceof ProjectError)) throw e;
        refused(e);
        return undefined;
      }
    }
    const written = writeCompileArtifacts(c.files, c.result.manifest, cache!).written;
    return { c, ms: performance.now() - t0, written };
  };

  // the render cache goes to disk now and then, not at every keystroke
  let saveTimer: NodeJS.Timeout | undefined;
  const saveSoon = (files: Compiled['files']) => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      try {
        if (cache) saveCache(files, cache);
      } catch {
        /* only a slower next start */
      }
    }, 2000);
  };

  /** aborted by Ctrl-C / SIGTERM: no new node starts in the run under way, and no run starts after */
  const interrupt = new AbortController();
  let interrupted = false;
  /**
   * Nodes an earlier run of this watcher left failed or skipped: the next run takes them again
   * with what changed (a fix to a failing test rebuilt only the test; the table it had held back
   * stayed stale, without a word).
   */
  const pending = new Map<string, string>();
  /**
   * A selector of node `n` alone, for a graph operator after it: its file and its name (`path:F+,name:X+`
   * is X and what depends on it). Its bare name was also an fqn: a model `marts` beside
   * models/marts/ took every model of that folder with it, a `{% snapshot %}` block the other
   * blocks of its file; `name:` alone would take a source table of that name.
   */
  const exactly = (n: { name: string; file?: string }) => (n.file && !/[\s,*?[\]+@:]/.test(n.file) ? `path:${n.file}+,name:${n.name}` : `name:${n.name}`);
  /**
   * Run what changed; false when the run threw (it could not start: the warehouse in use by another
   * process, a connection refused): `previous` then stays, so what changed now runs with the next
   * change (nodes that ran and failed are `pending`).
   */
  const execute = async (c: Compiled, changedOnly: boolean): Promise<boolean> => {
    if (interrupt.signal.aborted) return true;
    if (command === 'compile') {
      // nothing runs, but the selection is checked as vigil compile checks it (a selector that
      // selects nothing is an error: exit 2 in the first round, said in a later one)
      if (o.select || o.exclude) select(c.result.manifest, o);
      return true;
    }
    let selection = o.select;
    if (changedOnly && previous) {
      // what changed, and what depends on it, within the user's selection
      // what changed: its file, configs, columns or macros (dbt's state:modified), or its compiled
      // SQL (a var in project.yaml, an env_var): and what depends on it
      const prev = previous;
      // ... or where it is built (a generate_schema_name / generate_alias_name edit moves tables)
      const relation = (n: unknown) => JSON.stringify((n as { relation?: unknown }).relation ?? null);
      // (models, snapshots and tests alike: a singular test reads vars too)
      const sql = (n: unknown) => (n as { compiled_sql?: string }).compiled_sql;
      const sqlChanged = Object.values(c.result.manifest.nodes)
        .filter((n) => prev.nodes[n.unique_id] && (relation(prev.nodes[n.unique_id]) !== relation(n) || (!(n as { volatile?: boolean }).volatile && sql(prev.nodes[n.unique_id]) !== sql(n))))
        .map((n) => `${exactly(n)}+`);
      const known = new Set([...Object.values(c.result.manifest.nodes)].map((n) => n.name));
      // (and a var it read, in a hook too: plain state:modified leaves vars out, as dbt's default,
      // for a CI's --vars; between two compiles of this watcher a changed var is a change)
      const changedSel = ['state:modified+', 'state:modified.vars+', ...sqlChanged];
      const changed = selectNodes(c.result.manifest, changedSel, undefined, previous);
      // (after the check: what is still pending runs again when something changed, not on its own)
      // (each by its name and type alone: a bare name is also an fqn, so a model `marts` beside
      // models/marts/ took every model of that folder with it, unchanged and not failed)
      changedSel.push(...[...pending].filter(([n]) => known.has(n)).map(([n, type]) => `name:${n},resource_type:${type}`));
      if (!changed.ids.size) {
        out(`${clock()} nothing to ${command}: no node changed`);
        return true;
      }
      // (`-s "a b"` is a union: each part is intersected with what changed)
      const within = o.select?.length ? selectorExprs(o.select) : undefined;
      selection = within ? changedSel.flatMap((m) => within.map((s) => `${m},${s}`)) : changedSel;
    } else if (o.select || o.exclude) select(c.result.manifest, o);
    try {
      // the watcher's own Ctrl-C reaches the run through `signal`, also one that came while the
      // project compiled, before the run listened (it was lost: the whole build ran, exit 0)
      const s = await runExecute(command, { ...o, threads: o.threads ?? 4, select: selection, compiled: c, stateManifest: changedOnly ? previous : undefined, allowEmpty: true, signal: interrupt.signal });
      if (s?.interrupted) interrupted = true;
      for (const r of s?.results ?? []) {
        if (r.resource_type === 'operation') continue;
        if (r.status === 'error' || r.status === 'fail' || r.status === 'skipped') pending.set(r.name, r.resource_type);
        else pending.delete(r.name);
      }
      return true;
    } catch (e) {
      // a mistake of the command line: exit 2 in the first round (said in a later one)
      if (e instanceof UsageError) throw e;
      err(`${clock()} ${(e as Error).message.split('\n')[0]}; watching for changes`);
      return false;
    } finally {
      // a failing run sets the exit code of a one-shot command: not the watcher's
      process.exitCode = undefined;
    }
  };

  // no project at all is a usage error (exit 2), not something to watch for
  if (!findProjectRoot(o.projectDir)) loadProject(o.projectDir);
  root = findProjectRoot(o.projectDir)!;
  // the project read before the watcher starts: its target folder (paths.target) is not watched
  // from the first scan on; the first compile uses what was read here
  let preloaded: ProjectFiles | undefined;
  try {
    preloaded = loadProject(o.projectDir, { keepYaml: true });
    targetDir = preloaded.paths.target;
    read.folders = new Set(sourceFolderPaths(preloaded.paths));
  } catch {
    /* the first compile reports it */
  }
  // ---- each change: the watcher starts before the first compile, so nothing saved meanwhile is missed
  const changedPaths = new Set<string>();
  let firstEventAt = 0;
  /** when each path (relative to the root) last had an event */
  const lastEventAt = new Map<string, number>();
  const rechecks = new Set<NodeJS.Timeout>();
  /**
   * A round's files as they were before it read them, looked at again once chokidar reports each
   * one's events again (RECHECK_AFTER_MS after its last): a save chokidar dropped (two saves 30 ms
   * apart: the round read the first) makes another round, so the last save wins.
   */
  const recheckSoon = (paths: string[]) => {
    const before = new Map(paths.map((rel) => [rel, fileState(join(root, rel))]));
    const due = paths.reduce((m, rel) => Math.max(m, lastEventAt.get(rel) ?? 0), 0) + RECHECK_AFTER_MS;
    const t = setTimeout(
      () => {
        rechecks.delete(t);
        if (interrupt.signal.aborted) return;
        const stale = [...before].filter(([rel, state]) => !changedPaths.has(rel) && fileState(join(root, rel)) !== state).map(([rel]) => rel);
        if (!stale.length) return;
        if (!changedPaths.size) firstEventAt = performance.now();
        for (const rel of stale) changedPaths.add(rel);
        if (!timer) timer = setTimeout(onChange, 0);
      },
      Math.max(0, due - performance.now()),
    );
    rechecks.add(t);
  };
  let timer: NodeJS.Timeout | undefined;
  let busy: Promise<void> | undefined;
  /** one round: compile what changed, then run what changed; changes during a round make another */
  const round = (work: () => Promise<void>) => {
    busy = work()
      .catch((e) => err(`${clock()} ${(e as Error).message}; watching for changes`))
      .finally(() => {
        busy = undefined;
        if (changedPaths.size && !timer) timer = setTimeout(onChange, 0);
      });
  };
  /** when the burst of a round that only removed files was extended (a move's other half awaited) */
  let awaitedMove = false;
  const onChange = () => {
    timer = undefined;
    if (busy || !changedPaths.size) return; // (the round in progress looks again when it ends)
    // a round of files removed only: a move (to another folder, a rename) is seen as a removal and
    // an addition from two folders' watchers, the second later on a busy machine — waited for once,
    // briefly, so a move is one round, not a round missing the file ("ref not found") and another
    if (!awaitedMove && [...changedPaths].every((rel) => !existsSync(join(root, rel)))) {
      awaitedMove = true;
      timer = setTimeout(onChange, MOVE_WAIT_MS);
      return;
    }
    awaitedMove = false;
    const paths = [...changedPaths];
    changedPaths.clear();
    const since = firstEventAt;
    recheckSoon(paths);
    round(async () => {
      const r = await compile(paths);
      // (a YAML selector's selection, read at the start: read again when selectors.yml changed — it
      // stayed what it was, without a word)
      if (r && paths.includes(SELECTORS_FILE)) {
        const again = await yamlSelectorAgain(root);
        if (again?.flags) {
          o.select = again.flags.select;
          o.exclude = again.flags.exclude;
          o.indirectSelection = again.flags.indirectSelection;
          out(`${clock()} ${SELECTORS_FILE} changed: selecting with selector '${again.name}' as it is now`);
        } else if (again) err(`${clock()} ${SELECTORS_FILE} changed: ${again.problem}\n(the selection stays selector '${again.name}' as it was)`);
      }
      if (r) {
        const latency = performance.now() - since;
        const models = Object.values(r.c.result.manifest.nodes).filter((n) => n.resource_type === 'model').length;
        out(`${clock()} ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''} changed: compiled ${counted(models, 'model')} in ${Math.round(r.ms)} ms (${Math.round(latency)} ms after the change), ${counted(r.written, 'compiled file')} rewritten`);
        saveSoon(r.c.files);
        // (the manifest the next change is compared with: this one once its run started)
        if (await execute(r.c, true)) previous = r.c.result.manifest;
      }
    });
  };
  // chokidar, not fs.watch(recursive): on Linux, Node 20's recursive watcher follows each file,
  // and lost a file an editor saved by writing a copy and renaming it over the original (every
  // later edit of it went unseen); chokidar watches the folders
  const relOf = (abs: string) => relative(root, abs).split(sep).join('/');
  const under = (rel: string, dir: string) => rel === dir || rel.startsWith(`${dir}/`);
  const skipped = (rel: string) => rel !== '' && (IGNORED.test(rel) || EDITOR_TEMP.test(rel.slice(rel.lastIndexOf('/') + 1)) || under(rel, targetDir) || [...own].some((f) => under(rel, f)));
  /** whether `rel` (relative to the root) is in those folders or fixtures, or a folder on the way to them */
  const within = (r: { folders: Set<string>; fixtures: Set<string> }, rel: string) =>
    [...r.folders].some((d) => under(rel, d) || under(d, rel)) || [...r.fixtures].some((p) => p === rel || under(posixDir(p), rel));
  /** whether the project reads `rel` (relative to the root), or a folder on the way to what it reads */
  const isRead = (rel: string) => rel === '' || read.files.has(rel) || within(read, rel);
  /** The paths relative to the root that a path chokidar reports stands for: through the root, a folder watched elsewhere, a linked file. */
  const relsOf = (abs: string): string[] => {
    const rels: string[] = [];
    if (abs === root || abs.startsWith(root + sep)) rels.push(relOf(abs));
    for (const [real, rel] of away) if (abs === real || abs.startsWith(real + sep)) rels.push(toPosix(join(rel, relative(real, abs))));
    return rels;
  };
  const wanted = (rel: string) => isRead(rel) && !skipped(rel);
  // (atomic: false — chokidar held a deletion back 100 ms, in case the file came back: a model
  // moved was seen added in one round, deleted in the next, the first a duplicate of itself)
  const watcher = chokidar.watch(root, {
    ignored: (abs: string) => {
      const rels = relsOf(abs);
      return rels.length > 0 && !rels.some((rel) => wanted(rel) || (within(readBefore, rel) && !skipped(rel))) && !watchedFiles.has(abs);
    },
    ignoreInitial: true,
    followSymlinks: false,
    atomic: false,
  });
  watcher.on('all', (event, abs) => {
    // (chokidar reports the project's links added as it starts, and a linked file as it begins to
    // watch it: no change when older than the watching)
    if (event === 'add') {
      try {
        const st = lstatSync(abs);
        if ((st.isSymbolicLink() || watchedFiles.has(abs)) && st.mtimeMs < watchingSince) return;
      } catch {
        /* gone again: a change */
      }
    }
    // (a linked file's change is one of each link to it)
    const rels = [...new Set([...relsOf(abs), ...(linkedTo.get(abs) ?? [])])].filter((rel) => rel && wanted(rel));
    if (!rels.length) return;
    const now = performance.now();
    if (!changedPaths.size) firstEventAt = now;
    for (const rel of rels) (changedPaths.add(rel), lastEventAt.set(rel, now));
    // editors write a file in several steps: wait for the burst to end
    if (!timer) timer = setTimeout(onChange, 15);
  });
  watcher.on('error', (e) => err(`${clock()} watching: ${(e as Error).message}`));
  // what the project reads, as far as known before it compiles (the folders the root's scan takes
  // in; those elsewhere)
  scanned.add(root);
  for (const rel of read.folders) scanned.add(resolve(root, rel));
  if (preloaded) watchRead(preloaded);
  // what is saved from here on is seen: the first compile starts after the folders are watched
  await new Promise<void>((r) => watcher.once('ready', () => r()));

  // ---- until Ctrl-C / SIGTERM (or a usage mistake in the first round: a selector typo, -t or a
  // --vars key no file defines is exit 2)
  let fatal: Error | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping = false;
  const stop = (sig?: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    interrupt.abort(sig);
    void watcher.close();
    clearTimeout(timer);
    for (const t of rechecks) clearTimeout(t);
    void (busy ?? Promise.resolve()).then(() => {
      clearTimeout(saveTimer);
      if (cache && (previous ?? last))
        try {
          saveCache(loadProject(o.projectDir), cache);
        } catch {
          /* ignore */
        }
      resolveStopped();
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  // ---- the first compile (and run): a project that does not compile yet is watched all the same
  round(async () => {
    let first: Awaited<ReturnType<typeof compile>>;
    try {
      first = await compile(undefined, true);
    } catch (e) {
      if (!(e instanceof ProjectError)) throw e;
      fatal = e;
      stop();
      return;
    }
    if (first) {
      const models = Object.values(first.c.result.manifest.nodes).filter((n) => n.resource_type === 'model').length;
      out(`${clock()} compiled ${counted(models, 'model')} in ${Math.round(first.ms)} ms -> ${first.c.files.paths.target}/manifest.json`);
      saveSoon(first.c.files);
      let ran: boolean;
      try {
        ran = await execute(first.c, false);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        fatal = e;
        stop();
        return;
      }
      // (a first build that could not start: the next change builds the whole selection)
      if (ran) previous = first.c.result.manifest;
    }
    out(`${clock()} watching ${relative(process.cwd(), root) || '.'} for changes (Ctrl-C stops)`);
  });

  await stopped;
  if (fatal) throw fatal;
  out(`${clock()} stopped watching.`);
  // a run the Ctrl-C cut short: 130, as a one-shot run (stopped while only watching: 0)
  if (interrupted) process.exitCode = 130;
}
