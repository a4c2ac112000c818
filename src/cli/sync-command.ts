/**
 * `vigil sync` and `vigil sync status`. What they need of the project (its sources with a sync
 * block, the folders and targets of project.yaml, the target) comes from the project snapshot
 * while it stands, as for `vigil ls` (project/snapshot.ts): no YAML parsed, no model compiled,
 * ~0.3 s less per run of the shipped project. Otherwise the project is compiled and the snapshot
 * kept. Nothing here imports the compiler.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Relation } from '../adapters/dialect.js';
import type { ResolvedTarget } from '../compile/compile-project.js';
import type { Manifest, SourceNode } from '../compile/manifest.js';
import { hostname } from 'node:os';
import { diag, didYouMean, formatDiagnostic, ProjectError, UsageError, WarehouseBusyError, type Diagnostic } from '../errors.js';
import { counted } from '../format.js';
import type { ProjectFiles } from '../project/load-project.js';
import { findProjectRoot } from '../project/paths.js';
import { readSnapshot } from '../project/snapshot.js';
import { VIGIL_VERSION } from '../version.js';
import { wallTimeMs } from '../time/timestamp.js';
import { toEpochMs } from '../alerts/time.js';
import { formatDuration } from '../time/duration.js';
import { durationFlag, open, openWhenFree, projectFromSnapshot, projectSnapshot, timestampFlag, type Common } from './command-kit.js';
import type { ProjectSnapshot } from './ls-command.js';
import { err, out } from './output.js';
import { select } from './selection.js';
import type { RetentionLogs } from '../sync/run-sync.js';

/** The project as a sync sees it. */
export interface SyncProject {
  files: ProjectFiles;
  target: ResolvedTarget;
  manifest: Manifest;
  /** answered from the project snapshot: `files` holds project.yaml's settings, not its positions */
  fromSnapshot?: boolean;
  /** the compile's warnings kept in the snapshot, for the caller to print (a compile prints its own) */
  warnings?: Diagnostic[];
}

/** From the project snapshot while it stands, else compiled. */
export async function syncProject(o: Common): Promise<SyncProject> {
  const root = findProjectRoot(o.projectDir);
  const snap = root ? await readSnapshot<ProjectSnapshot>(root, 'project', o) : undefined;
  if (root && snap) {
    const p = await projectFromSnapshot(root, snap, o);
    if (p) return { ...p, manifest: snap.manifest, fromSnapshot: true, warnings: snap.warnings };
  }
  return compiledProject(o);
}

/** Compiled, and the project snapshot kept for the next sync (or `vigil ls`). */
async function compiledProject(o: Common): Promise<SyncProject> {
  const { compileForCommand, keepSnapshot } = await import('./commands.js');
  const c = compileForCommand(o, { writeArtifacts: false, snapshot: true });
  await keepSnapshot('project', c, o, c.snapshot, () => projectSnapshot(c));
  return { files: c.files, target: c.target, manifest: c.result.manifest };
}

/**
 * syncSetup for `vigil sync`. A source target that does not resolve from the snapshot (an
 * environment variable unset, say) is reported by the compiled path, at its line in project.yaml.
 */
async function prepare(o: Common, threads: number, waitMs: number | undefined) {
  const c = await syncProject(o);
  try {
    const setup = await syncSetup(c, o, () => openTarget(c, threads, waitMs));
    printKept(c);
    return { c, ...setup };
  } catch (e) {
    if (!c.fromSnapshot || !(e instanceof ProjectError)) throw e;
    const full = await compiledProject(o);
    return { c: full, ...(await syncSetup(full, o, () => openTarget(full, threads, waitMs))) };
  }
}

/**
 * The target, waiting for a DuckDB file another process holds as long as for a held stream
 * (--wait; default LOCK_WAIT_MS, or serve.lease if shorter): on a DuckDB file the file is every
 * stream's lock (was: --wait accepted and the run failed at once, "in use by another process").
 * Said once; still held then, the file's error says how long it was waited for.
 */
async function openTarget(c: SyncProject, threads: number, waitMs: number | undefined): Promise<Adapter> {
  const { LOCK_WAIT_MS, lockLeaseMs } = await import('../sync/stream-lock.js');
  const wait = waitMs ?? Math.min(LOCK_WAIT_MS, lockLeaseMs(c.files));
  let said = false;
  try {
    return await openWhenFree(c, threads, {
      waitMs: wait,
      busy: (e) => {
        if (!said) out(`waits for ${String(c.target.config.path ?? 'the DuckDB file')}, in use by another process${e.holder ? ` (${e.holder})` : ''}: at most ${formatDuration(wait)} (--wait)`);
        said = true;
      },
    });
  } catch (e) {
    if (!(e instanceof WarehouseBusyError)) throw e;
    throw new WarehouseBusyError(`${e.message}${wait ? ` — still after waiting ${formatDuration(wait)} (--wait)` : ' (not waited for: --wait 0s)'}`, e.holder, { cause: e.cause ?? e }, e.pid);
  }
}

/** The source tables with a sync block that the selection flags choose (a selector that matches nothing is an error). */
export function selectedStreams(manifest: Manifest, o: Common): SourceNode[] {
  const { ids } = select(manifest, o);
  const synced = Object.values(manifest.sources).filter((s) => s.sync);
  const streams = synced.filter((s) => ids.has(s.unique_id));
  if (streams.length) return streams;
  // a state: selector that matches nothing (the only selector that may, without --allow-empty):
  // nothing changed, no error — as for build (was exit 2 in a slim-CI step `sync -s state:modified`)
  if (synced.length && !ids.size && o.select?.length && !o.allowEmpty) throw new NothingSelected('no nodes match the selection (its state: selectors match nothing: nothing changed)');
  // (--allow-empty: a note and exit 0, as for every command)
  if (synced.length && o.allowEmpty) throw new NothingSelected('the selection holds no source table with a sync block');
  throw new UsageError(synced.length ? 'the selection holds no source table with a sync block' : 'no source table has a sync block (sync: { primary_key, cursor } under a table, and sync: { from: <postgres target> } on its source)');
}

/** A selection with nothing to sync, given --allow-empty: said, exit 0. */
class NothingSelected extends Error {}

/** `run`, or the note that the selection holds nothing to sync (--allow-empty). */
async function unlessNothing(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (!(e instanceof NothingSelected)) throw e;
    out(`Nothing to do: ${e.message}.`);
  }
}

/** The snapshot's warnings, as the compile that kept them printed them. */
function printKept(c: SyncProject): void {
  for (const d of c.warnings ?? []) err(formatDiagnostic(d));
}

/**
 * What a sync needs: the selected streams, their source databases (one that cannot be opened is
 * a problem for its streams, not for the others) and the target (`openTarget`). Whatever was
 * opened is closed again when a later step fails.
 */
export async function syncSetup(c: SyncProject, o: Common, openTarget: () => Promise<Adapter>) {
  const streams = selectedStreams(c.manifest, o);
  const { getWarehouse, openAdapter, WAREHOUSES } = await import('../adapters/index.js');
  const { resolveTarget } = await import('../compile/resolve-target.js');
  const { logRelation } = await import('../retention/retention.js');
  const froms = new Map<string, Adapter>();
  // where each source database's retention log is (apply_to: source writes it in the target's schema)
  const fromLogs = new Map<string, Relation>();
  const problems: string[] = [];
  const sourceErrors = new Map<string, string>();
  try {
    for (const from of new Set(streams.map((s) => s.sync!.from))) {
      // said at the stream that reads from it (its sources YAML), not at project.yaml's targets
      const first = streams.find((s) => s.sync!.from === from)!;
      const where = { file: first.file, line: first.line };
      const targets = Object.keys(c.files.project.targets);
      if (!targets.includes(from)) {
        const hint = didYouMean(from, targets);
        throw new ProjectError([diag('E_TARGET', `stream ${first.source_name}.${first.name}: sync.from '${from}' is not a target in project.yaml${hint ? ` — did you mean '${hint}'?` : ''}`, where, `targets: ${targets.join(', ')}`)]);
      }
      const ds: ReturnType<typeof diag>[] = [];
      const t = resolveTarget(c.files, { target: from, env: process.env }, ds);
      if (!t) throw new ProjectError(ds);
      if (!getWarehouse(t.type)!.capabilities.syncSource) {
        const sources = WAREHOUSES.filter((w) => w.capabilities.syncSource).map((w) => w.type);
        throw new ProjectError([diag('E_TARGET', `stream ${first.source_name}.${first.name}: sync.from '${from}' is a ${t.type} target; vigil sync reads from ${sources.join(' or ')} targets`, where, 'sync.from names the application database the rows are copied from')]);
      }
      try {
        // read only: the application's database gets nothing created in it (no helper functions)
        froms.set(from, await openAdapter(t, c.files.root, 2, { readOnly: true }));
        fromLogs.set(from, logRelation(t.schema, t.database));
      } catch (e) {
        sourceErrors.set(from, (e as Error).message.split('\n')[0]);
        problems.push(`source database '${from}': ${sourceErrors.get(from)}`);
      }
    }
    const target = await openTarget();
    const retentionLogs: RetentionLogs = { from: new Map([...froms].map(([n, a]) => [n, { adapter: a, log: fromLogs.get(n)! }])), to: logRelation(c.target.schema, c.target.database), target: c.target.name, minimum: c.files.project.retention?.minimum };
    return { streams, froms, problems, sourceErrors, target, retentionLogs };
  } catch (e) {
    for (const f of froms.values()) await f.close().catch(() => {});
    throw e;
  }
}

export function runSync(o: Common & { mode: 'delta' | 'full'; since?: string; lookback?: string; fullRefresh?: boolean; wait?: string }): Promise<void> {
  return unlessNothing(() => syncRun(o));
}

async function syncRun(o: Common & { mode: 'delta' | 'full'; since?: string; lookback?: string; fullRefresh?: boolean; wait?: string }): Promise<void> {
  const since = o.since === undefined ? undefined : timestampFlag('--since', o.since);
  if (o.lookback && o.mode !== 'full') throw new UsageError('--lookback goes with --mode full (a delta run already re-reads each stream\'s own lookback)');
  // (the copy emptied, then read back from a point: the rest was gone, and the next delta run
  // went on from the cursor, never reading it again — status said success)
  if (o.fullRefresh && (o.since !== undefined || o.lookback)) throw new UsageError(`--full-refresh empties each copy and reads everything again: it takes no ${o.since !== undefined ? '--since' : '--lookback'} (to re-read a window into the copy as it is, leave --full-refresh out)`);
  // (--since set where the run starts: the lookback was ignored without a word)
  if (o.since !== undefined && o.lookback) throw new UsageError('--since and --lookback both say where the run starts: give one (--since a time, or --lookback a duration back from now)');
  const lookbackSeconds = o.lookback ? durationFlag('--lookback', o.lookback, { min: 1 }) / 1000 : undefined;
  const waitMs = o.wait === undefined ? undefined : durationFlag('--wait', o.wait);
  const { c, streams, froms, problems, sourceErrors, target, retentionLogs } = await prepare(o, 2, waitMs);
  const t0 = performance.now();
  // each stream's lock while it syncs (no retention apply of its copy meanwhile, nor a serve job
  // syncing it), on a connection of its own so that its renewals go while batches load; a DuckDB
  // file has one process at a time: nothing to hold there
  const { getWarehouse } = await import('../adapters/index.js');
  let lockDb: Adapter | undefined;
  try {
    if (!getWarehouse(c.target.type)?.capabilities.singleProcess) lockDb = await open(c, 1);
  } catch (e) {
    for (const f of froms.values()) await f.close().catch(() => {});
    await target.close().catch(() => {});
    throw e;
  }
  try {
    out(`vigil ${VIGIL_VERSION} sync (${o.mode}${o.fullRefresh ? ', full refresh' : ''}): ${streams.length} stream${streams.length === 1 ? '' : 's'} into target ${c.target.name} (${c.target.type})`);
    for (const p of problems) out(`  ERROR ${p}`);
    const { syncStreams } = await import('../sync/run-sync.js');
    const readers = new Map([...froms].map(([name, a]) => [name, a.syncReader!()]));
    // SIGTERM / Ctrl-C: the batch being applied commits, nothing further starts; a second one stops at once
    const { stopBetweenBatches } = await import('./stop-between-batches.js');
    const stop = stopBetweenBatches(err);
    const { streamLocker, lockLeaseMs } = await import('../sync/stream-lock.js');
    // (a role that may not keep the lease table: warned once, synced without leases)
    const locker = lockDb ? streamLocker(lockDb, c.target.schema, 'vigil sync', { leaseMs: lockLeaseMs(c.files), ...(waitMs !== undefined ? { waitMs } : {}), signal: stop.signal, warn: out, doing: 'syncing', beside: 'a retention apply or a serve job may run beside this sync' }) : undefined;
    const lock = locker ? (stream: string) => locker([stream], (line) => out(`  ${stream}: ${line}`)) : undefined;
    let results: Awaited<ReturnType<typeof syncStreams>>;
    try {
      results = await syncStreams(streams, readers, target, { mode: o.mode, since, lookbackSeconds, fullRefresh: !!o.fullRefresh, out, signal: stop.signal, sourceErrors, retentionLogs, lock, targetName: c.target.name });
    } finally {
      stop.dispose();
    }
    out('');
    const label = { success: 'OK', error: 'ERROR', interrupted: 'STOPPED' } as const;
    results.forEach((r, i) => out(`${i + 1} of ${results.length} ${label[r.status]} ${r.stream}: ${r.message} [${r.seconds.toFixed(2)}s${r.rows ? `, ${Math.round(r.rows / Math.max(r.seconds, 1e-3)).toLocaleString('en-US')} rows/s` : ''}]`));
    const failed = results.filter((r) => r.status === 'error').length;
    const rows = results.reduce((a, r) => a + r.rows, 0);
    out(`\nFinished ${counted(results.length, 'stream')} in ${((performance.now() - t0) / 1000).toFixed(2)}s: ${counted(rows, 'row')}, ${failed} failed${stop.signalled() ? `; stopped by ${stop.signalled()}` : ''}`);
    // streams declared wrongly for their source: said at their lines, exit 2 (the others ran)
    const wrong = results.flatMap((r) => r.diagnostics ?? []);
    for (const d of wrong) err(formatDiagnostic(d));
    if (stop.exitCode()) process.exitCode = stop.exitCode();
    else if (wrong.length) process.exitCode = 2;
    else if (failed || problems.length) process.exitCode = 1;
  } finally {
    for (const f of froms.values()) await f.close();
    await target.close();
    await lockDb?.close();
  }
}

export function runSyncStatus(o: Common): Promise<void> {
  return unlessNothing(() => syncStatus(o));
}

async function syncStatus(o: Common): Promise<void> {
  const c = await syncProject(o);
  printKept(c);
  const streams = selectedStreams(c.manifest, o);
  let target: Adapter;
  try {
    // only reads the state: a DuckDB file is opened read-only (beside a BI tool or a vigil show
    // reading it; one not there is not created)
    target = await open(c, 1, { readOnly: true });
  } catch (e) {
    // DuckDB: a running sync holds the file, state table and all (one writer, no readers beside
    // it): that is no failure, and its state is there to read once it ends
    const sync = e instanceof WarehouseBusyError && e.pid && /^vigil sync(?! status)\b/.test(e.holder ?? '') ? e : undefined;
    if (!sync) throw e;
    out(`running (pid ${sync.pid} on ${hostname()}: ${sync.holder}): it holds ${String(c.target.config.path ?? 'the DuckDB file')} while it runs, so the streams' cursors, rows and failures can be read when it ends`);
    return;
  }
  try {
    const { cursorText, readStreamStates, statusText } = await import('../sync/sync-types.js');
    const now = Date.now();
    const age = (iso: string | null) => {
      if (!iso) return 'never';
      const s = (now - (toEpochMs(iso) ?? Number.NaN)) / 1000;
      return s < 90 ? `${Math.round(s)}s ago` : s < 5400 ? `${Math.round(s / 60)}m ago` : s < 172800 ? `${(s / 3600).toFixed(1)}h ago` : `${(s / 86400).toFixed(1)}d ago`;
    };
    for (const { stream, state: st } of await readStreamStates(target, streams)) {
      if (!st) {
        out(`${stream}: never synced`);
        continue;
      }
      // a timestamp or date cursor holds the source's wall time (cursor_zone): shown so, and
      // read as an instant there for the lag (source_max_cursor is one; was: the wall time taken for UTC)
      const zone = st.cursor_zone;
      const cursorMs = st.cursor_value ? (zone ? wallTimeMs(st.cursor_value, zone) : toEpochMs(st.cursor_value)) : undefined;
      const lagS = cursorMs !== undefined && st.source_max_cursor ? ((toEpochMs(st.source_max_cursor) ?? Number.NaN) - cursorMs) / 1000 : null;
      const cursor = st.cursor_value ? cursorText(st.cursor_value, zone) : '-';
      out(
        `${stream}: ${statusText(st)}, ${st.rows_synced.toLocaleString('en-US')} rows read, last synced ${age(st.last_synced_at)}, cursor ${cursor}${lagS !== null ? `, ${Math.max(0, Math.round(lagS))}s behind the source's newest row` : ''}${st.consecutive_failures ? `, ${st.consecutive_failures} consecutive failure${st.consecutive_failures === 1 ? '' : 's'}${st.last_error ? `: ${st.last_error}` : ' (the last run was stopped)'}` : ''}`,
      );
    }
  } finally {
    await target.close();
  }
}
