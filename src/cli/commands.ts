/**
 * What each CLI command does, between parsing (program.ts) and the core: load and compile
 * the project, open the adapter, run, print and write target/ artifacts. Loaded lazily
 * so `vigil --help` stays fast.
 */
import { createHash } from 'node:crypto';
import { join, resolve as resolvePath } from 'node:path';
import { diag, formatDiagnostic, hasErrors, ProjectError, UsageError, WarehouseError } from '../errors.js';
import { inexactInteger, yamlLib } from '../project/yaml-lib.js';
import { sayYaml11Only, yaml11Only } from '../project/pyyaml-scalars.js';
import { floatsAsWritten } from '../compile/py-float.js';
import { parseYaml } from '../project/yaml-source.js';
import { loadProject, SOURCE_FOLDERS, type ProjectFiles } from '../project/load-project.js';
import { sourceFolderPaths } from '../project/paths.js';
import { compileProject, VIGIL_VERSION, type CompileResult, type ResolvedTarget } from '../compile/compile-project.js';
import { STATE_FORMAT } from '../version.js';
import { resolveTarget } from '../compile/resolve-target.js';
import { loadCache, manifestJson, saveCache, writeCompileArtifacts, writeProjectFile, writeRunSql, writeTargetJson, type CacheFile } from '../project/artifacts.js';
import { BUILD, startSnapshot, type SnapshotStart } from '../project/snapshot.js';
import { indirectLeaves, SelectorError, selectNodes, selectorExprs, withTests, type IndirectSelection } from '../compile/selector.js';
import { environmentSecrets, redact } from '../secrets.js';
import type { Adapter, Estimate } from '../adapters/adapter.js';
import type { Relation } from '../adapters/dialect.js';
import type { ModelNode, SeedNode, SnapshotNode } from '../compile/manifest.js';
import type { BuiltColumns, UnitTestNode } from '../testing/unit-tests.js';

import { err, filledFlag, out } from './output.js';
import { checkUnmatched, defaultYamlSelector, keepStateBeforeCompile, loadStateManifest, select } from './selection.js';
export { err, out, checkUnmatched, loadStateManifest, select };
import { durationFlag, keepSnapshot, open, parseAt, projectSnapshot, timestampFlag, type Common } from './command-kit.js';
import { counted, shellWord } from '../format.js';
export { durationFlag, keepSnapshot, open, parseAt, timestampFlag, type Common };

/**
 * The secret whose value a --vars scalar holds (`--vars "{pin: $VIGIL_SECRET_PIN}"`): the messages
 * below show how YAML read it, a form of it redact() does not know (01234567 as 342391 and 1234567,
 * 20 digits rounded to their first 17).
 */
function secretIn(written: string): string | undefined {
  // (the longest: the secret the scalar is, not one whose digits are inside it)
  return environmentSecrets(process.env)
    .filter(([, x]) => written.includes(x))
    .sort((a, b) => b[1].length - a[1].length)[0]?.[0];
}

/** What to say of a --vars scalar holding secret `name` that is read otherwise than written: the reason only, never a reading of it. */
function secretReadOtherwise(name: string, why: string): string {
  return `the value of the secret ${name} ${why}: quote it ('$${name}') to pass it as written`;
}

export function parseVars(v: string | undefined): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  // (an unset variable, --vars "$VARS", would silently build with every default)
  filledFlag('--vars', v, "a mapping, e.g. --vars '{anomaly_spike_ratio: 2}' ('{}' for none)");
  let parsed: unknown;
  try {
    parsed = yamlLib().parse(v);
  } catch (e) {
    throw new UsageError(`--vars is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--vars must be a mapping, e.g. --vars '{anomaly_spike_ratio: 2}'`);
  // an integer past 2^53 was rounded as it was read: refused, with its digits as written
  const exact = (x: unknown, path: string[]): void => {
    if (Array.isArray(x)) x.forEach((y, i) => exact(y, [...path, String(i)]));
    else if (x && typeof x === 'object') for (const [k, y] of Object.entries(x)) exact(y, [...path, k]);
    else if (inexactInteger(x)) {
      let digits: unknown = yamlLib().parse(v, { intAsBigInt: true });
      for (const p of path) digits = (digits as Record<string, unknown>)?.[p];
      // (a float written as one, 1.0e20, reads as a float: nothing was rounded)
      if (typeof digits === 'bigint') {
        const secret = secretIn(String(digits));
        throw new UsageError(`--vars: ${path.join('.')}: ${secret ? secretReadOtherwise(secret, 'is an integer past 2^53, where a YAML number is no longer exact') : inexactInteger(x, String(digits))}`);
      }
    }
  };
  exact(parsed, []);
  // a dbt habit (`{flag: no}`: false to dbt, the text 'no' here) would silently be another value
  const src = parseYaml(v, '--vars', []);
  const [odd] = src ? yaml11Only(src, src.value) : [];
  if (odd) {
    const secret = secretIn(odd.written);
    throw new UsageError(`--vars: ${odd.path.join('.')}: ${secret ? secretReadOtherwise(secret, 'is one value to dbt (YAML 1.1) and another to Vigil (YAML 1.2)') : sayYaml11Only(odd)}`);
  }
  // 1.0 is a float to dbt, and prints so
  return floatsAsWritten(parsed, (path) => src?.scalarAt(path)?.source) as Record<string, unknown>;
}

/** The tests `vigil test` runs, as --unit or --data chose them (`both`: neither given). */
function testsRun(unit: 'only' | 'exclude' | undefined, both: string): string {
  return unit === 'only' ? 'unit tests (--unit)' : unit === 'exclude' ? 'data tests (--data)' : both;
}

export interface Compiled {
  files: ProjectFiles;
  result: CompileResult;
  target: ResolvedTarget;
  /** with `snapshot`: the files' stamps before the compile, and the environment variables it read */
  snapshot?: SnapshotStart;
  /** compileChecked's: the PII check passed (runExecute does not check it again) */
  piiChecked?: boolean;
}

type CompileOptions = { writeArtifacts?: boolean; empty?: boolean; snapshot?: boolean; files?: ProjectFiles; cache?: CacheFile; saveCache?: boolean; incremental?: boolean };

/** Load, compile (reusing the render cache), write artifacts, print warnings; throw on errors. */
/**
 * `snapshot`: also keep the manifest as the project snapshot (project/snapshot.ts), for commands
 * that can answer from it next time (`vigil ls`).
 */
export function compileForCommand(o: Common, opts: CompileOptions = {}): Compiled & { written: number } {
  const c = compileOnly(o, opts);
  return { ...c.compiled, written: keepCompile(o, opts, c) };
}

/**
 * compileForCommand with the compile-time PII check (checkPii) before anything is written: a
 * project it refuses leaves target/ (manifest, compiled SQL) as it was, as a compile error does.
 * What `vigil compile`, `run` and `build` use.
 */
export async function compileChecked(o: Common, opts: CompileOptions = {}): Promise<Compiled & { written: number }> {
  const c = compileOnly(o, opts);
  await checkPii(c.compiled, [], c.cache);
  return { ...c.compiled, piiChecked: true, written: keepCompile(o, opts, c) };
}

function compileOnly(o: Common, opts: CompileOptions): { compiled: Compiled; cache: CacheFile } {
  // a snapshot is kept under the files' stamps from before anything was read
  const start = opts.snapshot ? startSnapshot(o.projectDir) : undefined;
  // (`--watch` hands in what it re-read and the render cache it keeps in memory)
  const files = opts.files ?? loadProject(o.projectDir, { keepYaml: opts.saveCache !== false });
  const cache = opts.cache ?? loadCache(files);
  const result = compileProject(files, { target: o.target, env: start?.env ?? process.env, vars: parseVars(o.vars), cache: cache.renders, empty: opts.empty, incremental: opts.incremental });
  for (const d of result.diagnostics.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
  if (hasErrors(result.diagnostics) || !result.target) throw new ProjectError(result.diagnostics.filter((x) => x.severity === 'error'));
  return { compiled: { files, result, target: result.target, snapshot: start }, cache };
}

/** Write the compile's artifacts and the render cache (as opts say); the compiled files written. */
function keepCompile(o: Common, opts: CompileOptions, { compiled: { files, result }, cache }: { compiled: Compiled; cache: CacheFile }): number {
  // (`--state target`: the state is the manifest this compile is about to overwrite)
  if (opts.writeArtifacts !== false) keepStateBeforeCompile(o.state, join(files.root, files.paths.target));
  const written = opts.writeArtifacts !== false ? writeCompileArtifacts(files, result.manifest, cache).written : 0;
  if (opts.saveCache !== false) saveCache(files, cache);
  return written;
}

/**
 * The compile-time PII check (check/pii-lineage.ts): a column marked PII that reaches a published
 * relation unmasked is an error at the column's YAML line (or the model's SQL), before anything
 * is built; `queries` (alerts', dashboard tiles') are checked with the models. Warnings (lineage
 * it could not trace) are printed.
 */
export async function checkPii(c: Pick<Compiled, 'files' | 'result' | 'target'>, queries: import('../check/pii-lineage.js').PiiQuery[] = [], cache?: CacheFile): Promise<void> {
  const { piiLineage, hasPii } = await import('../check/pii-lineage.js');
  if (!hasPii(c.result.manifest)) return;
  // the models' check alone, as the last compile that found nothing to say about it checked it:
  // nothing to check again (the lineage opens DuckDB and parses every model's SQL)
  const key = cache && !queries.length ? piiCheckKey(c, (await import('../seeds/seed-csv.js')).seedHeaderNames) : undefined;
  if (key !== undefined && cache!.piiClean === key) return;
  const { dialectOf } = await import('../adapters/index.js');
  const where: import('../check/pii-lineage.js').ColumnLocator = (m, column) => {
    const pf = c.files.properties.find((p) => p.path === m.properties_file);
    const mi = pf?.data.models?.findIndex((x) => x.name === m.name) ?? -1;
    const ci = column === undefined || mi < 0 ? -1 : (pf!.data.models![mi].columns ?? []).findIndex((x) => x.name.toLowerCase() === column.toLowerCase());
    if (pf && ci >= 0) return { file: pf.path, ...pf.yaml.locate(['models', mi, 'columns', ci, 'name']) };
    const text = c.files.models.find((f) => f.path === m.file)?.text ?? '';
    const lines = text.split('\n');
    const at = column === undefined ? -1 : lines.findIndex((l) => new RegExp(`\\b${column.replace(/[^A-Za-z0-9_]/g, '')}\\b`, 'i').test(l));
    return { file: m.file, line: at >= 0 ? at + 1 : 1, column: 1 };
  };
  const ds = (await piiLineage(c.result.manifest, dialectOf(c.target.type), { where, root: c.files.root, queries })).diagnostics;
  // (only a check with nothing to say is kept: a warning is said on every compile, at its place now)
  if (key !== undefined && !ds.length) cache!.piiClean = key;
  for (const d of ds.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
  if (hasErrors(ds)) throw new ProjectError(ds.filter((x) => x.severity === 'error'));
}

/**
 * What the models' PII check reads, hashed: this build of Vigil (its checker, DuckDB's parser), the
 * target's engine and the whole manifest as manifest.json writes it (every node's SQL, columns,
 * policies and reads; a seed's checksum of its CSV) and each seed's CSV header as the check reads
 * it: a seed's checksum is the one kept with its file's size and time while they are unchanged, so
 * a header renamed in place (`prompx` to `prompt`, a copy that keeps the time) left the key as it
 * was and a leak unchecked. manifestJson keeps each part's text for the write that follows, so the
 * key costs one hash and each seed's header, as seedHeaderNames reads it (its file's first 4 KB).
 */
function piiCheckKey(c: Pick<Compiled, 'files' | 'result' | 'target'>, headerOf: typeof import('../seeds/seed-csv.js').seedHeaderNames): string {
  const h = createHash('sha256').update(`${VIGIL_VERSION}\0${BUILD}\0${String(c.target.type)}\0`).update(manifestJson(c.result.manifest));
  for (const n of Object.values(c.result.manifest.nodes)) if (n.resource_type === 'seed') h.update(`\0${n.unique_id}\0${JSON.stringify(headerOf(join(c.files.root, n.file), n.config) ?? null)}`);
  return h.digest('hex');
}

/** planRun with the selection checked as select() checks it. */
export async function plan(manifest: CompileResult['manifest'], o: Omit<Parameters<typeof import('../run/executor.js').planRun>[1], 'state'> & Pick<Common, 'allowEmpty' | 'state'> & { stateManifest?: CompileResult['manifest'] }) {
  const { planRun } = await import('../run/executor.js');
  let p;
  const state = o.stateManifest ?? loadStateManifest(o.state, manifest.metadata.project);
  try {
    p = planRun(manifest, { ...o, state });
  } catch (e) {
    if (e instanceof SelectorError) throw new UsageError(e.message);
    throw e;
  }
  // (a command that runs some kinds of node only: whether an --exclude left it nothing is
  // checkSomethingToRun's, by those kinds — `vigil seed --exclude tag:slow` in a project without
  // seeds has nothing to do, whatever the tag excludes)
  checkUnmatched(RUNS[o.command] ? p.unmatched.filter((u) => !u.wholeProject) : p.unmatched, o.allowEmpty, p.selected.size);
  if (!p.nodes.length && !o.allowEmpty) checkSomethingToRun(manifest, p.selected, o, () => planRun(manifest, { ...o, exclude: undefined, state }), () => planRun(manifest, { ...o, state, indirectSelection: 'eager' }));
  return p;
}

/** What each command that runs nodes runs, as its "nothing to run" error says it. */
const RUNS: Partial<Record<string, (unit: 'only' | 'exclude' | undefined) => string>> = {
  seed: () => 'seeds',
  run: () => 'models (not ephemeral ones)',
  snapshot: () => 'snapshots',
  test: (unit) => testsRun(unit, 'data and unit tests'),
  build: () => 'seeds, models (not ephemeral ones), snapshots and tests',
};

/** `n kinds (a, b, c, ...)` of node ids, by kind (a generic test by its name: its unique_id ends with a hash). */
function describeIds(manifest: CompileResult['manifest'], ids: Iterable<string>): string {
  const kinds = new Map<string, string[]>();
  for (const id of ids) {
    const kind = id.split('.')[0];
    kinds.set(kind, [...(kinds.get(kind) ?? []), manifest.nodes[id]?.name ?? id.split('.').slice(2).join('.')]);
  }
  return [...kinds].map(([k, names]) => `${names.length} ${k}${names.length === 1 ? '' : 's'} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''})`).join(', ');
}

/**
 * A selection with nothing the command runs, planned (`selected`: what -s/--exclude select): a
 * usage error (exit 2) when it is a mistake — `vigil seed -s a_model`, `vigil build -s
 * an_ephemeral_model`, a test run whose selection has no test; or an --exclude that takes all the
 * command would run (`vigil seed --exclude resource_type:seed`, with -s or without), which
 * `withoutExclude` (the plan without --exclude) tells. A project that simply has none of what the
 * command runs (`vigil seed` without seeds, no -s) is none: "Nothing to do", exit 0, as dbt. `vigil
 * serve` checks its schedules with it at start (plan()).
 */
function checkSomethingToRun(
  manifest: CompileResult['manifest'],
  selected: Set<string>,
  o: { command: string; select?: string[]; exclude?: string[]; ids?: string[]; unit?: 'only' | 'exclude'; indirectSelection?: IndirectSelection },
  withoutExclude: () => { nodes: Array<{ unique_id: string }> },
  /** the plan under eager: what another --indirect-selection left out, said */
  eagerPlan?: () => { nodes: Array<{ unique_id: string }> },
): void {
  // (vigil test too: a CI step whose selection ran no test passed with "Nothing to do", exit 0)
  // (vigil build too: `-s an_ephemeral_model`, `-s a_source_without_tests` said "Nothing to do", exit 0)
  const runs = RUNS[o.command]?.(o.unit);
  if (!runs || o.ids) return;
  // (-s/--exclude from selectors.yml's default selector: the project's selection, which the command
  // line did not give — `vigil seed` under a default selecting models is "Nothing to do", exit 0, as dbt)
  if (defaultYamlSelector() !== undefined) return;
  const allowEmpty = '\n(nothing was run; pass --allow-empty to go on when a selection has nothing to run)';
  // an --exclude that takes all the command would run: named (a state: one may, when nothing changed)
  // (nor with a state: selection, which may select nothing the command runs when only what the
  // --exclude takes changed: `-s state:modified+ --exclude tag:slow` in a CI step)
  const excludes = selectorExprs(o.exclude ?? []);
  if (excludes.length && !excludes.some((x) => x.includes('state:')) && !selectorExprs(o.select ?? []).some((x) => x.includes('state:'))) {
    const would = withoutExclude().nodes.map((n) => n.unique_id);
    if (would.length) {
      const by = excludes.filter((x) => {
        const r = selectNodes(manifest, undefined, [x], undefined, o.indirectSelection);
        return would.some((id) => r.excluded.has(id));
      });
      const of = o.select?.length ? 'the selection' : 'the project';
      throw new UsageError(`--exclude ${by.map((x) => `'${x}'`).join(' ')} excludes all vigil ${o.command} would run of ${of} (${describeIds(manifest, would)}): nothing to run${allowEmpty}`);
    }
  }
  // (nor a state: selection: what it selects is what changed — a dashboard alone, say — which is
  // no mistake of the command line: "Nothing to do", exit 0, as when nothing changed)
  if (o.select?.length && selected.size && !selectorExprs(o.select).some((x) => x.includes('state:'))) {
    // (`vigil test -s c --indirect-selection cautious`, c's tests reading another model: said
    // which tests the mode left, not as if c had none)
    const mode = o.indirectSelection;
    const left = mode && mode !== 'eager' && eagerPlan ? eagerPlan().nodes.map((n) => n.unique_id) : [];
    throw new UsageError(`the selection selects ${describeIds(manifest, selected)}, and vigil ${o.command} runs ${runs}: nothing to run${left.length ? `; ${indirectLeaves(manifest, mode!, left)}` : ''}${allowEmpty}`);
  }
}

export async function runCompile(o: Common): Promise<void> {
  const t0 = performance.now();
  // (PII checked before target/ is written: a refused project leaves the last manifest there)
  const { result, files } = await compileChecked(o);
  // (what the selection selects, each resource type; the tests counted are those `vigil test` would run of it)
  const ids = withTests(result.manifest, select(result.manifest, o));
  const count = (type: string) => [...ids].filter((id) => (result.manifest.nodes[id] ?? result.manifest.sources[id] ?? result.manifest.exposures?.[id])?.resource_type === type).length;
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  // (models and tests always, as before; the others when the selection has some)
  const others = ([['unit_test', 'unit test'], ['seed', 'seed'], ['snapshot', 'snapshot'], ['source', 'source'], ['exposure', 'dashboard']] as const).map(([t, w]) => [count(t), w] as const).filter(([k]) => k);
  out(`Compiled ${[n(count('model'), 'model'), n(count('test'), 'test'), ...others.map(([k, w]) => n(k, w))].join(', ')} for target ${result.target!.name} (${result.target!.type}) in ${((performance.now() - t0) / 1000).toFixed(2)}s -> ${files.paths.target}/manifest.json`);
}

/**
 * --defer: where the state's run built what this run does not build (src/run/defer.ts). The
 * state's target is looked up in project.yaml by name: it must be the same warehouse type and
 * readable from this connection (another DuckDB file is attached read-only).
 */
async function deferTo(c: Compiled, o: Common & { favorState?: boolean }, executed: Array<{ unique_id: string }>, adapter: Adapter): Promise<CompileResult['manifest']> {
  const state = loadStateManifest(o.state, c.result.manifest.metadata.project)!;
  const ds: import('../errors.js').Diagnostic[] = [];
  const stateTarget = resolveTarget(c.files, { target: state.metadata.target, env: process.env }, ds);
  if (!stateTarget) {
    throw new UsageError(`--defer: the state's manifest was built for target '${state.metadata.target}', ${ds.length ? `which cannot be used here: ${ds[0].message}` : 'which project.yaml does not define'}; Vigil needs it to know where the state's relations are`);
  }
  if (stateTarget.type !== c.target.type) throw new UsageError(`--defer: the state's target '${stateTarget.name}' is ${stateTarget.type} and this run's '${c.target.name}' is ${c.target.type}: a ${c.target.type} query cannot read ${stateTarget.type} tables`);
  let stateDatabase: string | undefined;
  const { getWarehouse } = await import('../adapters/index.js');
  const how = getWarehouse(c.target.type)!.deferral?.(c.target.config, stateTarget.config, { root: c.files.root, there: stateTarget.name });
  if (how && 'refuse' in how) throw new UsageError(`--defer: ${how.refuse}`);
  if (how) {
    if (!adapter.attachReadOnly) throw new UsageError(`--defer: target '${c.target.name}' (${c.target.type}) cannot attach the state's database`);
    await adapter.attachReadOnly(how.attach, how.as);
    stateDatabase = how.as;
  }
  const { deferManifest } = await import('../run/defer.js');
  const r = await deferManifest(c.result.manifest, new Set(executed.map((n) => n.unique_id)), state, {
    dialect: adapter.dialect,
    favorState: !!o.favorState,
    stateDatabase,
    exists: async (rel) => (await adapter.relationExists(rel)) !== null,
  });
  if (r.deferred.length) {
    out(`Deferred to the state's target '${stateTarget.name}' (${r.deferred.length} relation${r.deferred.length === 1 ? '' : 's'} not built here${o.favorState ? '' : ' and not in this target'}):`);
    for (const d of r.deferred) out(`  ${d.name}: ${d.to}`);
  } else if (!r.unreadable.length) out(`Deferred nothing: every relation this run reads ${o.favorState ? 'is built by it or, not in the state, exists in this target' : 'is built by it or exists in this target'}`);
  // what is neither built, nor here, nor in the state: said before the run, whose nodes reading it
  // fail at the warehouse (the others are built, as dbt does; an on_run_start hook may create it)
  if (r.unreadable.length) {
    const why = { 'not in the state': "not in the state's manifest", 'ephemeral in the state': "ephemeral in the state's manifest", "the state's relation is this one": "the state's manifest puts it at this same relation" } as const;
    out(`warning: ${counted(r.unreadable.length, 'relation')} this run reads ${r.unreadable.length === 1 ? 'is' : 'are'} not built by it, not in this target and not deferred (nothing in the state to read instead): what reads ${r.unreadable.length === 1 ? 'it' : 'them'} will fail`);
    for (const u of r.unreadable) out(`  ${u.name} (${u.relation}): ${why[u.why]}; read by ${u.readBy.slice(0, 3).join(', ')}${u.readBy.length > 3 ? ', ...' : ''}; vigil build -s ${u.name} builds it here`);
  }
  return r.manifest;
}

/** The flags of a run that do not go together (exit 2): checked before anything is compiled (`--watch`: before watching). */
export function checkRunFlags(o: { defer?: boolean; favorState?: boolean; state?: string; unit?: boolean; data?: boolean }): void {
  if (o.favorState && !o.defer) throw new UsageError('--favor-state changes what --defer does; add --defer (and --state <dir>)');
  if (o.defer && !o.state) throw new UsageError("--defer reads what this run does not build from a previous run's relations: give that run's manifest with --state <dir>");
  if (o.unit && o.data) throw new UsageError('--unit and --data together select nothing; use one of them, or neither for both');
}

type ExecuteOptions = Common & { threads: number; fullRefresh?: boolean; failFast?: boolean; unit?: boolean; data?: boolean; dryRun?: boolean; check?: boolean; empty?: boolean; defer?: boolean; favorState?: boolean; signal?: AbortSignal; /** before each node starts (executeRun's checkpoint) */ checkpoint?: () => boolean | void; compiled?: Compiled; stateManifest?: CompileResult['manifest']; /** `vigil retry`: exactly these nodes, in place of -s/--exclude */ ids?: string[] };

/**
 * What run_results.json says of an invocation that did not write its results (yet): `started`,
 * written before its first node (a process killed mid-run leaves it: `vigil retry` re-runs the
 * nodes it planned), or `failed`, when it stopped before any node ran (the warehouse could not be
 * opened, --defer refused, the project did not compile): `vigil retry` then has nothing to retry.
 */
export interface UnfinishedRun {
  invocation: 'started' | 'failed';
  error?: string;
  planned?: string[];
  /** `started`: the process running it (a run still going, e.g. vigil serve's build, is not retried beside it) */
  process?: { pid: number; host: string; proc_start?: string };
}

/** The flags of a run as a command line gives them again (`vigil retry`'s messages): each value a shell word. */
function flagsOf(args: RunArgs | undefined, target?: string): string[] {
  return [target !== undefined && `-t ${shellWord(target)}`, args?.full_refresh && '--full-refresh', args?.empty && '--empty', args?.state && `--state ${shellWord(args.state)}`, args?.defer && '--defer', args?.favor_state && '--favor-state', args?.vars !== undefined && `--vars ${shellWord(args.vars)}`].filter((x): x is string => !!x);
}

/** run_results.json's metadata of this invocation (`target`: its name). */
function runMetadata(command: string, target: string | undefined, o: ExecuteOptions) {
  // (state_format: the layout of its unique_ids, as a manifest's: `vigil retry` knows an older one)
  return { vigil_version: VIGIL_VERSION, state_format: STATE_FORMAT, command, ...(target === undefined ? {} : { target }), generated_at: new Date().toISOString(), ...runArgs(o) };
}

/** Where an invocation of runExecute is: what it knows to write run_results.json with, and whether it wrote its own. */
interface Invocation { files?: ProjectFiles; target?: string; written?: boolean }

export async function runExecute(command: 'seed' | 'snapshot' | 'run' | 'test' | 'build', o: ExecuteOptions): Promise<import('../run/executor.js').RunSummary | undefined> {
  if (o.dryRun) {
    if (o.check) await (await import('./check-commands.js')).runCheck(o);
    checkRunFlags(o);
    await runDryRun(o, command);
    return undefined;
  }
  // (a misuse of the flags is refused before anything is recorded: the last run's results stay)
  checkRunFlags(o);
  // a run that stops before its nodes ran leaves run_results.json saying so, not the last
  // invocation's results (which `vigil retry` would repeat, maybe on another target: a
  // `vigil build -t ci || vigil retry` went green with ci never built)
  const at: Invocation = {};
  try {
    return await execute(command, o, at);
  } catch (e) {
    if (!at.written) recordStopped(command, o, at, e);
    throw e;
  }
}

/** run_results.json of an invocation that stopped before any node ran (best effort: a project that cannot be read is left alone). */
function recordStopped(command: string, o: ExecuteOptions, at: Invocation, e: unknown): void {
  try {
    const files = at.files ?? loadProject(o.projectDir);
    const target = at.target ?? o.target ?? files.project.default_target ?? Object.keys(files.project.targets ?? {})[0];
    const error = redact(e instanceof ProjectError ? e.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n') : e instanceof Error ? e.message : String(e));
    // (a retry's nodes stay planned: the next retry runs them, not nothing)
    const stopped: UnfinishedRun = { invocation: 'failed', error, ...(o.ids ? { planned: o.ids } : {}) };
    writeTargetJson(files, 'run_results.json', { metadata: runMetadata(command, target, o), elapsed_time: 0, success: false, ...stopped, results: [] });
  } catch {
    // (the project itself could not be read, or target/ not written: nothing to record it in)
  }
}

async function execute(command: 'seed' | 'snapshot' | 'run' | 'test' | 'build', o: ExecuteOptions, at: Invocation): Promise<import('../run/executor.js').RunSummary | undefined> {
  if (o.check) {
    // type-check first: a problem stops here (exit 2), before anything is built or billed
    const { runCheck } = await import('./check-commands.js');
    await runCheck(o);
  }
  const unit = o.unit ? ('only' as const) : o.data ? ('exclude' as const) : undefined;
  // (`--watch` compiles itself and hands the result over)
  // PII that reaches a published relation unmasked stops the run before anything is built or
  // written (exit 2)
  // (--check ran it already, on the same project: once is enough, ~0.8 s on the shipped project cold)
  const pii = (command === 'run' || command === 'build') && !o.check;
  let c = o.compiled ?? (pii ? await compileChecked(o, { empty: o.empty }) : compileForCommand(o, { empty: o.empty }));
  at.files = c.files;
  at.target = c.target.name;
  if (pii && !c.piiChecked) await checkPii(c);
  const { executeRun, failureLine, summarize } = await import('../run/executor.js');
  const planned = await plan(c.result.manifest, { command, select: o.select, exclude: o.exclude, ids: o.ids, unit, allowEmpty: o.allowEmpty, state: o.state, stateManifest: o.stateManifest, indirectSelection: o.indirectSelection });
  // Ctrl-C (SIGINT) or SIGTERM (timeout, docker stop, systemd, Kubernetes): no new node starts, the
  // running ones finish, run_results.json is written, exit 130 (143 for SIGTERM); a second one
  // stops at once. Listening from before run_results.json says `started`, so a signal while unit
  // tests are checked, seeds read or the warehouse opens is not lost (it left that `started`, exit
  // 130 and no results). A caller with its own `signal`, `vigil serve`, handles the signals itself
  const interrupt = new AbortController();
  const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
  // the warehouse once open: a second signal asks it to stop what it runs (BigQuery's jobs run on
  // without this process) before exiting, for at most 10 s; a third exits at once
  const live: { adapter?: Adapter; cancelling?: boolean } = {};
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupt.signal.aborted) {
      const cancel = live.cancelling ? undefined : live.adapter?.cancelRunning?.();
      if (!cancel) process.exit(SIGNAL_EXIT[sig]);
      live.cancelling = true;
      const timer = new Promise<string[]>((r) => setTimeout(() => r([]), 10_000).unref());
      void Promise.race([cancel, timer])
        .then((ids) => {
          for (const id of ids) err(`asked the warehouse to cancel job ${id}: a job may still complete; check it before running its model again`);
        })
        .catch(() => undefined)
        .finally(() => process.exit(SIGNAL_EXIT[sig]));
      return;
    }
    interrupt.abort(sig);
    err(`\n${sig === 'SIGINT' ? 'interrupted' : `stopped (${sig})`}: no new node starts; waiting for the running ones (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to stop at once)`);
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  const stopListening = () => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  };
  // (the relay is taken off when the run ends: a long-lived caller's signal — build --watch, serve —
  // gathered one per run, and Node warned of a listener leak after ten)
  const relay = () => interrupt.abort(o.signal!.reason);
  if (o.signal?.aborted) interrupt.abort(o.signal.reason);
  else if (o.signal) o.signal.addEventListener('abort', relay, { once: true });
  else {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
  }
  let unitRunner: import('../testing/unit-runner.js').UnitRunner | undefined;
  let unitNote: string | undefined;
  let opening: Promise<Adapter> | undefined;
  let seedLoader: import('../seeds/load-seeds.js').SeedLoader | undefined;
  let adapter: Adapter | undefined;
  try {
    // the invocation, before anything runs: a process killed mid-run (kill -9, a lost machine)
    // leaves this, which `vigil retry` knows as a run that did not finish (not the one before it)
    if (planned.nodes.length) {
      const { hostname } = await import('node:os');
      const { PROC_START } = await import('../run/cas-document.js');
      const started: UnfinishedRun = { invocation: 'started', planned: planned.nodes.map((n) => n.unique_id), process: { pid: process.pid, host: hostname(), ...(PROC_START ? { proc_start: PROC_START } : {}) } };
      writeTargetJson(c.files, 'run_results.json', { metadata: runMetadata(command, c.target.name, o), elapsed_time: 0, success: false, ...started, results: [] });
    }
    const count = (t: string) => planned.nodes.filter((n) => n.resource_type === t).length;
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    const only = command === 'seed' || command === 'snapshot';
    const parts = [
      ...(count('seed') || command === 'seed' ? [plural(count('seed'), 'seed')] : []),
      ...(count('snapshot') || command === 'snapshot' ? [plural(count('snapshot'), 'snapshot')] : []),
      ...(only ? [] : [plural(count('model'), 'model'), plural(count('test'), 'test')]),
      ...(count('unit_test') ? [plural(count('unit_test'), 'unit test')] : []),
    ];
    // the unit tests' mistakes DuckDB finds (a given value that does not cast, an expect column the
    // model does not produce) stop the run before anything runs too (exit 2)
    // (on the target when its warehouse runs them, Postgres; else an in-memory DuckDB, said once below)
    if (count('unit_test')) {
      const { UnitRunner } = await import('../testing/unit-runner.js');
      const { getWarehouse, OFFLINE_ENGINE, unitSessionOf } = await import('../adapters/index.js');
      const session = unitSessionOf(c.target, c.files.root);
      if (!session && c.target.type !== OFFLINE_ENGINE) {
        const title = getWarehouse(c.target.type)?.bi.title ?? c.target.type;
        unitNote = `note: unit tests run on an in-memory DuckDB, not on ${title}: the helpers are tested in DuckDB's spelling, and SQL written for ${title} itself runs with DuckDB's semantics (docs/models.md#unit-tests)`;
      }
      // given values typed from their inputs' relations in the target, as dbt types them (a value that
      // does not fit its type stops the run; a column of no known type is said, at its test)
      // (typed on copies, which this run runs: the compile's nodes stay as it made them, as the next
      // compile makes them — a long-lived caller, build --watch, compares its next compile with this
      // one, and the warehouse's types made every unit test differ on every full compile)
      const units = planned.nodes.filter((n): n is UnitTestNode => n.resource_type === 'unit_test').map((t) => ({ ...t, givens: t.givens.map((g) => ({ ...g })) }));
      const m = c.result.manifest;
      c = { ...c, result: { ...c.result, manifest: { ...m, nodes: { ...m.nodes, ...Object.fromEntries(units.map((t) => [t.unique_id, t])) } } } };
      const { typeGivens } = await import('../testing/unit-tests.js');
      const built = await builtColumnsOf(c, units);
      const untyped = new Map(units.map((t) => [t, t.compiled_sql]));
      // what this run (re)builds: a given of one of them is typed by its relation as the last build
      // left it, and a key that relation lacks is no error (its SQL may add the column this run)
      const rebuilt = new Set(command === 'test' ? [] : planned.nodes.filter((n) => n.resource_type === 'model' || n.resource_type === 'seed' || n.resource_type === 'snapshot').map((n) => n.unique_id));
      const typing = units.flatMap((t) => typeGivens(t, built, rebuilt));
      const unreadable = typing.filter((x) => x.code === 'E_UNIT_UNREADABLE');
      // (the target is there and could not be read: a failure of this run, exit 1, not of the project)
      if (unreadable.length) throw new WarehouseError(`${unreadable.map((d) => `${d.file}:${d.line}: ${d.message}`).join('\n')}\n  hint: ${unreadable[0].hint}`, '');
      for (const d of typing.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
      if (hasErrors(typing)) throw new ProjectError(typing.filter((x) => x.severity === 'error'));
      // the file an error names (compiled_path) holds the SQL that runs: typed here, after the compile
      // wrote it untyped (redacted, as every compiled file; the next compile writes its own again)
      for (const t of units) if (t.compiled_sql !== untyped.get(t)) writeRunSql(c.files, t.compiled_path, t.compiled_sql);
      // (closed by the finally below, as on every way out of the run)
      unitRunner = new UnitRunner(session);
      const problems = await unitRunner.preflight(units);
      if (problems.length) throw new ProjectError(problems);
    }
    // every seed is read and checked before anything runs: a bad file stops the run with nothing
    // loaded. The warehouse opens meanwhile; DuckDB loads each file speculatively while it is checked
    if (count('seed')) {
      const { prepareSeeds } = await import('../seeds/load-seeds.js');
      opening = open(c, Math.min(o.threads, planned.nodes.length));
      opening.catch(() => {}); // awaited below; a failure to open is reported there
      const { getWarehouse } = await import('../adapters/index.js');
      try {
        seedLoader = await prepareSeeds(c.files, planned.nodes, getWarehouse(c.target.type)?.capabilities.speculativeLoads ? opening : undefined);
      } catch (e) {
        await opening.then((a) => a.close()).catch(() => {});
        throw e;
      }
    }
    out(`vigil ${VIGIL_VERSION} ${command}: target ${c.target.name} (${c.target.type}), ${parts.join(', ')}, ${plural(o.threads, 'thread')}`);
    if (unitNote) out(unitNote);
    if (!planned.nodes.length) {
      // (no selection: the project has none of what the command runs — as dbt, exit 0)
      const none: Record<string, string> = { build: 'seeds, models (other than ephemeral ones), snapshots or tests', run: 'models (other than ephemeral ones)', test: testsRun(unit, 'data or unit tests'), seed: 'seeds', snapshot: 'snapshots' };
      // (--allow-empty: a selection of nodes the command does not run says so, not "no nodes match")
      const said = o.ids
        ? `none of the nodes to retry is one vigil ${command} runs now`
        : o.select?.length || o.exclude?.length
          ? planned.selected.size
            ? `the selection holds no ${none[command] ?? 'nodes to run'}`
            : 'no nodes match the selection'
          : `the project has no ${none[command] ?? 'nodes to run'}`;
      out(`Nothing to do: ${said}.`);
      // (its own results, none: `vigil retry` has nothing to retry, as dbt's empty run_results)
      at.written = true;
      writeTargetJson(c.files, 'run_results.json', { metadata: runMetadata(command, c.target.name, o), elapsed_time: 0, success: true, results: [] });
      return undefined;
    }
    // unit tests run in their own in-memory DuckDB; the warehouse is opened only when needed
    const needsWarehouse = planned.nodes.some((n) => n.resource_type !== 'unit_test');
    adapter = needsWarehouse ? await (opening ?? open(c, Math.min(o.threads, planned.nodes.length))) : undefined;
    live.adapter = adapter;
    const manifest = o.defer && adapter ? await deferTo(c, o, planned.nodes, adapter) : c.result.manifest;
    const s = await executeRun(manifest, adapter, { command, select: o.select, exclude: o.exclude, ids: o.ids, state: o.stateManifest ?? loadStateManifest(o.state, c.result.manifest.metadata.project), unit, unitRunner, seedLoader: seedLoader?.load, root: c.files.root, threads: o.threads, fullRefresh: !!o.fullRefresh, empty: !!o.empty, deferred: !!o.defer, failFast: o.failFast, out, signal: interrupt.signal, checkpoint: o.checkpoint, plan: planned });
    out('');
    out(summarize(s));
    const failed = s.results.filter((r) => r.status === 'error' || r.status === 'fail');
    if (failed.length) {
      out(`\n${failed.length} failure${failed.length === 1 ? '' : 's'}:`);
      for (const r of failed) out(`  ${r.status === 'fail' ? 'FAIL' : 'ERROR'} ${r.name}: ${failureLine(r)}`);
    }
    at.written = true;
    writeTargetJson(c.files, 'run_results.json', {
      metadata: runMetadata(command, c.target.name, o),
      elapsed_time: s.elapsed,
      success: s.ok,
      results: s.results.map(({ sample, ...r }) => ({ ...r, sample: sample ? JSON.parse(JSON.stringify(sample, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))) : undefined })),
    });
    if (!s.ok) process.exitCode = s.interrupted ? (SIGNAL_EXIT[String(interrupt.signal.reason)] ?? 130) : 1;
    return s;
  } finally {
    stopListening();
    o.signal?.removeEventListener('abort', relay);
    await seedLoader?.cleanup();
    await unitRunner?.close().catch(() => undefined);
    await adapter?.close();
  }
}

/**
 * The columns of the relations unit tests' givens stand for, as the target holds them (dbt reads
 * them there: get_columns_in_relation), for typeGivens; or why they were not read. The target is
 * opened read-only, only when its warehouse runs unit tests itself (Postgres) or its database is a
 * local file that exists (DuckDB: a project never built is not created by a unit test run);
 * BigQuery's is not reached.
 */
async function builtColumnsOf(c: Compiled, units: UnitTestNode[]): Promise<(of: string) => BuiltColumns> {
  const ids = [...new Set(units.flatMap((t) => t.givens.flatMap((g) => (g.typing ? [g.typing.of] : []))))];
  if (!ids.length) return () => ({ why: '' });
  const { getWarehouse } = await import('../adapters/index.js');
  const { existsSync } = await import('node:fs');
  const w = getWarehouse(c.target.type);
  const local = w?.localFiles?.(c.target.config) ?? [];
  const named = `target ${c.target.name}`;
  const m = c.result.manifest;
  // (an ephemeral model has no relation, built or not: its declared types are all there are)
  const relationOf = (id: string) => {
    const n = m.nodes[id] ?? m.sources[id];
    return n && 'relation' in n ? n.relation : null;
  };
  const ephemeral = (id: string): BuiltColumns => ({ why: `${m.nodes[id]?.name ?? id} has no relation (ephemeral)`, ephemeral: true });
  if (!w?.unitSession && !(local.length && existsSync(resolvePath(c.files.root, local[0])))) {
    const why = w?.localFiles ? `${named} has no database file yet (${local[0] ?? 'in memory'})` : `unit tests do not read ${w?.bi.title ?? c.target.type}`;
    return (of) => (relationOf(of) ? { why } : ephemeral(of));
  }
  let adapter: Adapter;
  try {
    adapter = await open(c, 1, { readOnly: true });
  } catch (e) {
    const why = `${named} could not be read: ${redact((e instanceof Error ? e.message : String(e)).split('\n')[0])}`;
    return () => ({ why, unreadable: true });
  }
  const got = new Map<string, BuiltColumns>();
  try {
    for (const id of ids) {
      const rel = relationOf(id);
      if (!rel) got.set(id, ephemeral(id));
      else {
        const cols = await adapter.columns(rel).catch(() => []);
        got.set(id, cols.length ? { columns: cols } : { why: `${(m.nodes[id] ?? m.sources[id]).name} is not built in ${named}` });
      }
    }
  } finally {
    await adapter.close();
  }
  return (of) => got.get(of) ?? { why: '' };
}

export async function runLs(o: Common & { resourceType?: string[]; output: 'name' | 'path' | 'json' | 'selector' }): Promise<void> {
  const c = compileForCommand(o, { writeArtifacts: false, snapshot: true });
  const { printLs } = await import('./ls-command.js');
  await keepSnapshot('project', c, o, c.snapshot, () => projectSnapshot(c));
  printLs(c.result.manifest, o);
}

export async function runFreshness(o: Common): Promise<void> {
  const c = compileForCommand(o, { writeArtifacts: false });
  const { checkFreshness } = await import('../run/freshness.js');
  const { ids } = select(c.result.manifest, o);
  const selected = Object.values(c.result.manifest.sources).filter((s) => ids.has(s.unique_id));
  // (dbt: a table without limits — `freshness: null` on it, or none on it or its source — is not
  // checked; it was queried, and a missing column failed the command)
  const limited = (s: (typeof selected)[number]) => !!(s.freshness?.warn_after || s.freshness?.error_after);
  const sources = selected.filter((s) => s.loaded_at_field && limited(s));
  // freshness limits without the column they are measured on: said, not left out without a word
  for (const s of selected) if (!s.loaded_at_field && limited(s)) err(`warning: source ${s.source_name}.${s.name} (${s.file}:${s.line}) has freshness: but no loaded_at_field: not checked`);
  if (!sources.length) {
    const none = 'no selected source has a loaded_at_field and freshness limits (warn_after or error_after): add them to a source in models/**/*.yml';
    // a selection the command has nothing to do for is an error, as for every command (--allow-empty: a note)
    if (!o.allowEmpty) throw new UsageError(none);
    out(`Nothing to check: ${none}.`);
    return;
  }
  const adapter = await open(c, 1, { readOnly: true });
  try {
    const results = await checkFreshness(sources, adapter);
    results.forEach((r, i) => out(`${i + 1} of ${results.length} ${r.status.toUpperCase()} freshness of ${r.source}: ${r.message}`));
    writeTargetJson(c.files, 'sources.json', { metadata: { vigil_version: VIGIL_VERSION, generated_at: new Date().toISOString() }, results });
    const bad = results.filter((r) => r.status === 'error' || r.status === 'runtime error' || r.status === 'no data');
    const warn = results.filter((r) => r.status === 'warn').length;
    out(`\nFinished: ${results.length - bad.length - warn} PASS, ${warn} WARN, ${bad.length} ERROR`);
    if (bad.length) process.exitCode = 1;
  } finally {
    await adapter.close();
  }
}

export async function runDemo(o: Common & { rows: number; days: number; seed: number; scenario: string; schema?: string; now?: string; auditEvents?: number; force?: boolean }): Promise<void> {
  const files = loadProject(o.projectDir);
  const ds: ReturnType<typeof diag>[] = [];
  const target = resolveTarget(files, { target: o.target, env: process.env }, ds);
  if (!target) throw new ProjectError(ds);
  // what the project builds incrementally from the demo's tables (demo-dependents.ts): the
  // manifest says; a project that does not compile leaves them to --full-refresh
  const vars = parseVars(o.vars);
  let compiled: CompileResult | undefined;
  try {
    compiled = compileProject(files, { target: o.target, env: process.env, vars, cache: loadCache(files).renders });
    if (hasErrors(compiled.diagnostics)) compiled = undefined;
  } catch (e) {
    if (!(e instanceof ProjectError)) throw e;
  }
  const now = o.now === undefined ? new Date() : timestampFlag('--now', o.now);
  const schema = o.schema ?? files.project.demo?.schema ?? 'raw';
  const { getWarehouse, openOfflineEngine } = await import('../adapters/index.js');
  const { generateDemo, validateDemoOptions } = await import('../demo/generate-demo.js');
  const t0 = performance.now();
  const opts = { schema, rows: o.rows, days: o.days, seed: o.seed, scenario: o.scenario as never, now, auditEvents: o.auditEvents };
  validateDemoOptions(opts);
  out(`Generating demo data (${o.rows.toLocaleString('en-US')} audit rows over ${counted(o.days, 'day')}, seed ${o.seed}, scenario ${o.scenario}) into ${target.name}:${schema}`);
  let tables: Array<{ table: string; rows: number }>;
  const { builtFromDemo, dropBuiltFromDemo } = await import('../demo/demo-dependents.js');
  const { DEMO_TABLES } = await import('../demo/demo-guard.js');
  const stale = compiled && builtFromDemo(compiled.manifest, schema, DEMO_TABLES);
  const adapter = await open({ files, target }, 2);
  // the source targets opened to read the mark of a table a copy here is made from
  const sourceAdapters = new Map<string, Promise<Adapter>>();
  try {
    // tables of the demo's names it did not create are someone's data: refused unless --force
    const { checkDemoTables, droppedViews, DEMO_MARK } = await import('../demo/demo-guard.js');
    // the tables of those names `vigil sync` copies into this schema from another target: the
    // demo's own only when the table they copy is
    const copied = new Map<string, { from: string; rel: Relation }>();
    for (const s of Object.values(compiled?.manifest.sources ?? {})) {
      if (s.sync && s.sync.from !== target.name && s.relation?.schema === schema && DEMO_TABLES.includes(s.relation.identifier)) copied.set(s.relation.identifier, { from: s.sync.from, rel: { schema: s.sync.schema, identifier: s.relation.identifier } });
    }
    const copyOf = async (table: string) => {
      const c = copied.get(table);
      if (!c) return undefined;
      const source = `${c.from}:${c.rel.schema}`;
      try {
        let a = sourceAdapters.get(c.from);
        if (!a) {
          const fds: ReturnType<typeof diag>[] = [];
          const from = resolveTarget(files, { target: c.from, env: process.env }, fds);
          if (!from) return { from: source, demo: fds.map((d) => d.message).join('; ') };
          sourceAdapters.set(c.from, (a = open({ files, target: from }, 1)));
        }
        const adapterOfSource = await a;
        return { from: source, demo: adapterOfSource.tableComment ? (await adapterOfSource.tableComment(c.rel)) === DEMO_MARK : 'its warehouse keeps no table comment Vigil reads' };
      } catch (e) {
        return { from: source, demo: redact(e instanceof Error ? e.message.split('\n')[0] : String(e)) };
      }
    };
    for (const w of await checkDemoTables(adapter, schema, `${target.name}:${schema}`, !!o.force, copyOf)) err(`warning: ${w}`);
    if (getWarehouse(target.type)!.capabilities.duckdbSql) tables = await generateDemo(adapter, opts, (m) => out(`  ${m}`));
    else {
      // generated in the offline engine (the same rows as for a DuckDB target), then loaded
      const { loadDemoTables } = await import('../demo/load-demo.js');
      const engine = await openOfflineEngine(files.root, schema);
      try {
        tables = await generateDemo(engine, opts, (m) => out(`  ${m}`));
        await loadDemoTables(engine, schema, adapter, schema, tables.map((t) => t.table), (m) => out(`  ${m}`), (t, views) => err(`warning: ${droppedViews(t, views)}`));
      } finally {
        await engine.close();
      }
    }
    if (stale) await dropBuiltFromDemo(adapter, stale, (m) => out(`  ${m}`));
  } finally {
    await adapter.close();
    for (const a of sourceAdapters.values()) await a.then((x) => x.close(), () => undefined);
  }
  const total = tables.reduce((a, t) => a + t.rows, 0);
  // the tables `vigil sync` copies from this target (sync.from): the copies, and what is built
  // from them in the target they land in, hold the earlier demo's rows
  const synced = !!compiled && Object.values(compiled.manifest.sources).some((s) => s.sync?.from === target.name && s.relation?.schema === schema && DEMO_TABLES.includes(s.relation.identifier));
  // the command as this shell runs it (was: `vigil build`, not on the PATH of an npm install)
  const { vigilCommand } = await import('./init-command.js');
  const vigil = vigilCommand(process.cwd());
  const next = synced
    ? `${vigil} sync --full-refresh && ${vigil} build --full-refresh (vigil sync copies these tables from target ${target.name}: a delta sync would keep the earlier demo's rows in the copies, and incremental models what they built from them)`
    : `${vigil} build${stale ? '' : ' --full-refresh (the project does not compile, so the incremental models and snapshots built from earlier demo data could not be found: they keep what they have)'}`;
  out(`Done: ${tables.length} tables, ${total.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(2)}s. Next: ${next}`);
}

/**
 * What a dry run's `Not found: Table p:d.t` / `Not found: Dataset p:d` names: a model, seed or
 * snapshot Vigil builds (`built`: the dry run cannot know its bytes yet) or anything else — a
 * source, or a relation nothing declares — which the build would fail on (`problem`).
 * `earlier`: what this run builds before the node.
 */
function missingRelation(manifest: CompileResult['manifest'], id: string, message: string, project: string | undefined, earlier: Set<string>): { built?: string; problem?: string } | undefined {
  const m = /Not found: Table (.+):([A-Za-z0-9_]+)\.(.+?)(?: was not found in location \S+)?$/.exec(message) ?? /Not found: Dataset (.+):([A-Za-z0-9_]+)(?: was not found in location \S+)?$/.exec(message);
  if (!m) return undefined;
  const [, p, dataset, table] = m;
  const at = (r: Relation | null | undefined) => !!r && (r.database ?? project) === p && r.schema === dataset && (table === undefined || r.identifier === table);
  // what the node reads, through ephemeral models and views
  const upstream = new Set<string>();
  for (const stack = [...(manifest.nodes[id]?.depends_on ?? [])]; stack.length; ) {
    const u = stack.pop()!;
    if (upstream.has(u)) continue;
    upstream.add(u);
    stack.push(...(manifest.nodes[u]?.depends_on ?? []));
  }
  const sources = Object.values(manifest.sources).filter((s) => at(s.relation)).sort((a, b) => Number(upstream.has(b.unique_id)) - Number(upstream.has(a.unique_id)));
  const nodes = Object.values(manifest.nodes).filter((x): x is ModelNode | SeedNode | SnapshotNode => (x.resource_type === 'model' || x.resource_type === 'seed' || x.resource_type === 'snapshot') && at(x.relation));
  const built = nodes.find((x) => upstream.has(x.unique_id)) ?? nodes[0];
  const source = sources[0];
  // a missing dataset holding a source the node reads: that source is missing whatever Vigil builds
  if (built && !(table === undefined && source && upstream.has(source.unique_id))) {
    const when = earlier.has(built.unique_id) ? 'which this run builds first' : 'which this run does not build (build it first)';
    return { built: `${built.resource_type} ${built.name}, ${when}` };
  }
  if (source) return { problem: `reads source ${source.source_name}.${source.name} (${source.file}:${source.line}), ${table === undefined ? 'whose dataset' : 'which'} does not exist in BigQuery` };
  return { problem: `reads ${table === undefined ? `dataset ${p}:${dataset}` : `${p}:${dataset}.${table}`}, which no model, seed, snapshot or source declares and which does not exist in BigQuery` };
}

/** `vigil build --dry-run`: every selected model as a BigQuery dry-run job, in DAG order. */
async function runDryRun(o: Common & { fullRefresh?: boolean; defer?: boolean; favorState?: boolean }, command: 'seed' | 'snapshot' | 'run' | 'test' | 'build' = 'run'): Promise<void> {
  const c = compileForCommand(o);
  const { getWarehouse, WAREHOUSES } = await import('../adapters/index.js');
  if (!getWarehouse(c.target.type)!.capabilities.dryRun) {
    throw new UsageError(`--dry-run needs a warehouse that estimates bytes (${WAREHOUSES.filter((w) => w.capabilities.dryRun).map((w) => w.type).join(', ')}); target '${c.target.name}' is ${c.target.type}`);
  }
  const planned = await plan(c.result.manifest, { command: 'run', select: o.select, exclude: o.exclude, allowEmpty: o.allowEmpty, state: o.state });
  const order = c.result.order.filter((id) => planned.nodes.some((n) => n.unique_id === id));
  const adapter = await open(c, 1);
  const manifest = o.defer ? await deferTo(c, o, planned.nodes, adapter) : c.result.manifest;
  const { formatBytes } = await import('../format.js');
  const { materializeRequest } = await import('../run/executor.js');
  const price = (c.target.config.price_per_tib_usd as number | undefined) ?? 6.25;
  const max = c.target.config.maximum_bytes_billed as number | undefined;
  let total = 0;
  let billed = 0;
  let refused = 0;
  let unknown = 0;
  out(`vigil ${VIGIL_VERSION} dry run: target ${c.target.name} (${c.target.type}${c.target.database ? `, project ${c.target.database}` : ''}), ${counted(order.length, 'model')}; nothing is built`);
  for (const [i, id] of order.entries()) {
    const n = manifest.nodes[id];
    if (n.resource_type !== 'model' || !n.relation) continue;
    const rel = [n.relation.schema, n.relation.identifier].join('.');
    const sql = n.config.materialized === 'incremental' && !o.fullRefresh && n.compiled_sql_incremental ? n.compiled_sql_incremental : n.compiled_sql;
    const t0 = performance.now();
    try {
      // what the build sends (an incremental run's script: its temp table's query, its DECLARE's, its MERGE's), else its query
      const { bytesProcessed, bytesBilled, viewReads, upperBound, statements }: Estimate = adapter.estimate ? await adapter.estimate(materializeRequest(n, !!o.fullRefresh)) : await adapter.dryRun!(sql);
      total += bytesProcessed;
      // what on-demand pricing bills (each statement rounded up, with its minimums: the adapter's), priced below
      billed += bytesBilled ?? bytesProcessed;
      // BigQuery holds each job, each statement of a script, to maximum_bytes_billed on its own:
      // the script's total is the estimate, its largest statement what the limit is held against
      const atMost = upperBound ? 'at most ' : '';
      const billedOf = (x: { bytes: number; billed?: number }) => x.billed ?? x.bytes;
      const largest = statements && statements.length > 1 ? statements.reduce((a, b) => (billedOf(b) > billedOf(a) ? b : a)) : undefined;
      // (held against the bytes billed, with their minimums, as BigQuery holds it)
      const over = max !== undefined && (largest ? billedOf(largest) : bytesBilled ?? bytesProcessed) > max;
      if (over) refused++;
      // a view's DDL processes and bills nothing: what its query reads is said apart
      const bytes = viewReads !== undefined ? `${formatBytes(bytesProcessed)} (a view: its query reads ${formatBytes(viewReads)} each time it is read)` : `${atMost}${formatBytes(bytesProcessed)} processed, ${atMost}${formatBytes(bytesBilled ?? bytesProcessed)} billed`;
      const parts = largest ? ` in ${statements!.length} statements, the largest ${largest.what}: ${atMost}${formatBytes(billedOf(largest))} billed` : '';
      out(`${i + 1} of ${order.length} ${over ? 'REFUSED' : 'OK'} ${rel}: ${bytes}${parts}${over ? ` (over maximum_bytes_billed ${formatBytes(max)}${largest ? ', which BigQuery holds each statement to' : ''})` : ''} [${((performance.now() - t0) / 1000).toFixed(2)}s]`);
    } catch (e) {
      const msg = (e as Error).message;
      const missing = /^notFound:/.test(msg) ? missingRelation(manifest, id, msg.split('\n')[0], c.target.database, new Set(order.slice(0, i))) : undefined;
      if (missing?.built) {
        unknown++;
        out(`${i + 1} of ${order.length} UNKNOWN ${rel}: reads a relation that does not exist yet: ${missing.built} (${msg.split('\n')[0]})`);
      } else if (missing?.problem) {
        refused++;
        out(`${i + 1} of ${order.length} ERROR ${rel}: ${n.file} ${missing.problem}: ${msg.split('\n')[0].replace(/^notFound: /, '')}`);
      } else {
        refused++;
        out(`${i + 1} of ${order.length} ERROR ${rel}: ${n.file} (compiled SQL: ${n.compiled_path})\n  ${msg.split('\n').join('\n  ')}`);
      }
    }
  }
  // on-demand pricing charges the bytes billed, not those processed (docs/bigquery.md)
  const cost = (billed / 2 ** 40) * price;
  out(`\nTotal: ${formatBytes(total)} processed, ${formatBytes(billed)} billed (each statement rounded up to the MiB, at least 10 MiB per table it reads), about $${cost.toFixed(cost < 1 ? 4 : 2)} at $${price}/TiB on-demand${unknown ? `; ${unknown} model(s) read relations not built yet, so their bytes are unknown` : ''}`);
  if (command === 'build') {
    // what `vigil build` runs besides the models, which BigQuery bills too: not in the total
    // (with the build's --indirect-selection: the tests it would run, not eager's)
    const whole = await plan(c.result.manifest, { command: 'build', select: o.select, exclude: o.exclude, allowEmpty: true, state: o.state, indirectSelection: o.indirectSelection });
    const others = (['test', 'snapshot', 'seed'] as const).map((t) => [t, whole.nodes.filter((x) => x.resource_type === t).length] as const).filter(([, k]) => k > 0);
    // (a seed is a load job, which BigQuery does not bill: said so, not counted among the billed)
    const billedOthers = others.filter(([t]) => t !== 'seed');
    const seeds = others.find(([t]) => t === 'seed')?.[1];
    if (others.length)
      out(
        `Not estimated: ${[...(billedOthers.length ? [`the ${billedOthers.map(([t, k]) => counted(k, t === 'test' ? 'data test' : t)).join(', ')} vigil build also runs (BigQuery bills their queries too)`] : []), ...(seeds ? [`${billedOthers.length ? 'its' : 'the'} ${counted(seeds, 'seed')} (loaded by load jobs, which BigQuery bills no bytes for; their hooks' queries aside)`] : [])].join('; ')}; the total is the models'.`,
      );
  }
  if (refused) process.exitCode = 1;
}

/** `vigil debug`: the target's config, then each of its warehouse's checks, one line each. */
export async function runDebug(o: Common): Promise<void> {
  const files = loadProject(o.projectDir);
  const ds: ReturnType<typeof diag>[] = [];
  const target = resolveTarget(files, { target: o.target, env: process.env }, ds);
  out(`vigil ${VIGIL_VERSION} debug: project ${files.project.name} in ${files.root}`);
  if (!target) {
    out(`  FAIL target ${o.target ?? files.project.default_target ?? Object.keys(files.project.targets)[0]}: its config in project.yaml has problems`);
    throw new ProjectError(ds);
  }
  out(`  OK   target ${target.name}: ${target.type}, schema ${target.schema}${target.database ? `, project ${target.database}` : ''} (project.yaml is valid)`);
  const { getWarehouse } = await import('../adapters/index.js');
  const w = getWarehouse(target.type)!;
  let failed = 0;
  let usage = false;
  for await (const step of w.debug?.(target.config, { root: files.root, threads: 1, target: target.name }) ?? []) {
    out(`  ${step.ok ? 'OK  ' : 'FAIL'} ${step.check}: ${step.detail.split('\n').join('\n         ')}`);
    if (!step.ok) {
      failed++;
      usage ||= !!step.usage;
    }
  }
  out(failed ? `\n${failed} check${failed === 1 ? '' : 's'} failed` : '\nAll checks passed.');
  if (failed) process.exitCode = usage ? 2 : 1;
}

/** `vigil clean`: remove the target folder and `clean_targets` (folders inside the project, never the project itself, its sources, what git tracks or a repository inside them). */
export async function runClean(o: Common): Promise<void> {
  const { existsSync, readdirSync, realpathSync, rmSync, statSync } = await import('node:fs');
  const { isAbsolute, join, relative, resolve: resolvePath } = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  /** Files under `rel` that git tracks in the repository holding that folder (none without git, outside a repository or when it is not there). */
  const trackedFiles = (root: string, rel: string): string[] => {
    if (!existsSync(resolvePath(root, rel))) return [];
    const r = spawnSync('git', ['ls-files', '-z'], { cwd: resolvePath(root, rel), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return r.status === 0 && r.stdout ? r.stdout.split('\0').filter(Boolean).map((f) => join(rel, f)) : [];
  };
  /** The first `.git` (a repository, a worktree's or submodule's link file) under `rel`, without following symbolic links; undefined when none. */
  const gitInside = (root: string, rel: string): string | undefined => {
    const todo = [rel];
    for (let at = todo.pop(); at !== undefined; at = todo.pop()) {
      let entries;
      try {
        entries = readdirSync(resolvePath(root, at), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (e.name === '.git') return join(at, e.name);
        if (e.isDirectory()) todo.push(join(at, e.name));
      }
    }
    return undefined;
  };
  const files = loadProject(o.projectDir);
  const wanted = [files.paths.target, ...(files.project.clean_targets ?? [])];
  const problems: string[] = [];
  const targets: string[] = [];
  // where a path really is: through a symlink (`lnk/sub` with lnk -> /elsewhere) it is not
  // under the project, whatever its text says
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const root = real(files.root);
  const own = sourceFolderPaths(files.paths).map((f) => real(resolvePath(files.root, f)));
  for (const t of [...new Set(wanted)]) {
    const abs = real(resolvePath(files.root, t));
    const rel = relative(root, abs);
    const what = t === files.paths.target ? `the target folder '${t}'` : `clean_targets: '${t}'`;
    let inner: string | undefined;
    if (isAbsolute(t) || !rel || rel.startsWith('..') || isAbsolute(rel)) problems.push(`${what} is not a folder inside the project${abs !== resolvePath(files.root, t) ? ` (it is ${abs}, through a symbolic link)` : ''}: vigil clean removes only what is under ${files.root}`);
    else if (own.some((p) => p === abs || p.startsWith(abs + '/'))) problems.push(`${what} holds the project's own files (models, macros, tests, alerts, dashboards, seeds or snapshots): not removed`);
    // (a folder inside one of them: its models or seeds are the project's too)
    else if ((inner = SOURCE_FOLDERS.find((_k, i) => abs.startsWith(own[i] + '/')))) problems.push(`${what} is inside the project's ${inner} folder (${files.paths[inner as (typeof SOURCE_FOLDERS)[number]] ?? inner}): its files are the project's own, not removed`);
    else if (rel.split(/[\\/]/).includes('.git')) problems.push(`${what} is (or is in) a git repository's own folder: not removed`);
    // a repository, a worktree or a submodule inside: its uncommitted work would go with it
    else if ((inner = gitInside(root, rel))) problems.push(`${what} holds a git repository or worktree (${inner}): not removed`);
    else {
      // what version control keeps is the project's, whatever the folder is called
      const tracked = trackedFiles(root, rel);
      if (tracked.length) problems.push(`${what} holds files tracked by git (${tracked.slice(0, 3).join(', ')}${tracked.length > 3 ? ', ...' : ''}): not removed${t === files.paths.target ? ' (untrack them: git rm --cached)' : ''}`);
      else targets.push(rel);
    }
  }
  if (problems.length) throw new UsageError(problems.join('\n       '));
  let removed = 0;
  const absent: string[] = [];
  for (const rel of targets) {
    const abs = resolvePath(root, rel);
    if (!existsSync(abs)) {
      absent.push(rel);
      continue;
    }
    if (!statSync(abs).isDirectory()) {
      err(`warning: ${rel} is a file, not a folder: left alone`);
      continue;
    }
    rmSync(abs, { recursive: true, force: true });
    out(`Removed ${rel}/`);
    removed++;
  }
  // (a file left alone is there: said above, not "not there")
  if (!removed) out(`Nothing to clean${absent.length ? ` (${absent.map((t) => `${t}/`).join(', ')} not there)` : ''}.`);
}

/** What `vigil retry` repeats of a run (as dbt's run_results.json `args`): its state, defer, full refresh, --empty and --vars. */
interface RunArgs { state?: string; defer?: boolean; favor_state?: boolean; full_refresh?: boolean; empty?: boolean; vars?: string; vars_redacted?: boolean; threads?: number; fail_fast?: boolean }

function runArgs(o: Common & { threads?: number; failFast?: boolean; fullRefresh?: boolean; empty?: boolean; defer?: boolean; favorState?: boolean }): { args?: RunArgs } {
  const args: RunArgs = {};
  if (o.threads !== undefined) args.threads = o.threads;
  if (o.failFast) args.fail_fast = true;
  if (o.state) Object.assign(args, { state: resolvePath(process.cwd(), o.state), defer: !!o.defer, favor_state: !!o.favorState, full_refresh: !!o.fullRefresh });
  else if (o.fullRefresh) args.full_refresh = true;
  if (o.empty) args.empty = true;
  // a var holding a secret's value is not written (run_results.json is redacted): retry then asks for --vars again
  if (o.vars !== undefined) {
    if (redact(o.vars) === o.vars) args.vars = o.vars;
    else args.vars_redacted = true;
  }
  return Object.keys(args).length ? { args } : {};
}

/** `vigil retry`: the last run/test/build/seed again, for what failed or was skipped in target/run_results.json. */
export async function runRetry(o: Common & { threads: number; failFast?: boolean; /** --threads given to retry (not its default) */ threadsGiven?: boolean }): Promise<void> {
  const { existsSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const files = loadProject(o.projectDir);
  const path = join(files.root, files.paths.target, 'run_results.json');
  if (!existsSync(path)) throw new UsageError(`no ${files.paths.target}/run_results.json: nothing ran here yet (vigil retry re-runs what failed in the last run, build, test or seed)`);
  let last: Partial<UnfinishedRun> & { metadata?: { command?: string; target?: string; generated_at?: string; state_format?: number; args?: RunArgs }; results?: Array<{ unique_id?: string; name: string; resource_type: string; status: string }> };
  try {
    last = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${files.paths.target}/run_results.json is not valid JSON (${(e as Error).message}); run the command again instead`);
  }
  const command = last.metadata?.command;
  if (command !== 'run' && command !== 'test' && command !== 'build' && command !== 'seed' && command !== 'snapshot') throw new UsageError(`${files.paths.target}/run_results.json is from '${command ?? 'an unknown command'}', which vigil retry cannot repeat`);
  const on = last.metadata?.target === undefined ? '' : ` on target ${last.metadata.target}`;
  if (last.invocation === 'failed' && !last.planned?.length) {
    // (dbt retry runs nothing then, exit 0; here exit 1: `vigil build -t ci || vigil retry` must
    // not go green for a build that built nothing)
    const args = last.metadata?.args;
    const flags = flagsOf(args, last.metadata?.target).join(' ');
    const vars = args?.vars_redacted ? ' and its --vars (not recorded: they hold a secret)' : '';
    err(`error: the last vigil ${command}${on} (${last.metadata?.generated_at ?? 'at an unknown time'}) failed before any node ran:\n  ${(last.error ?? 'no reason recorded').split('\n').join('\n  ')}\nNothing to retry: run it again (vigil ${command}${flags ? ` ${flags}` : ''}, with its selection${vars}).`);
    process.exitCode = 1;
    return;
  }
  // a run that did not finish (its process was killed), or a retry that failed before any node:
  // what it planned and did not record as done, as results to retry
  const notDone = (id: string) => ({ unique_id: id, name: id.split('.').slice(2).join('.'), resource_type: id.split('.')[0], status: 'skipped' });
  let again = (last.results ?? []).filter((r) => r.resource_type !== 'operation' && (r.status === 'error' || r.status === 'fail' || r.status === 'skipped'));
  if (last.invocation === 'failed') {
    // a retry that failed before any node ran: its nodes (the failures of the run before) again
    again = (last.planned ?? []).map(notDone);
    out(`The last retry of a ${command}${on} (${last.metadata?.generated_at ?? 'at an unknown time'}) failed before any node ran (${(last.error ?? 'no reason recorded').split('\n')[0]}); its ${counted(again.length, 'node')} are retried.`);
  } else if (last.invocation === 'started') {
    // still running (vigil serve's build, another terminal's): not retried beside it
    const p = last.process;
    if (p && p.host === (await import('node:os')).hostname() && p.pid !== process.pid) {
      // (a stopped one too — SIGSTOP, continued later, would run its nodes beside the retry — but not a zombie: it ended)
      const { processGone } = await import('../run/cas-document.js');
      if (!processGone(p)) {
        err(`error: the last vigil ${command}${on} (started ${last.metadata?.generated_at ?? 'at an unknown time'}) is still running (pid ${p.pid}, e.g. vigil serve's job): nothing is retried beside it; retry once it is done`);
        process.exitCode = 1;
        return;
      }
    }
    const done = new Set((last.results ?? []).filter((r) => r.status === 'success' || r.status === 'pass' || r.status === 'warn').map((r) => r.unique_id));
    again = [...again, ...(last.planned ?? []).filter((id) => !done.has(id)).map(notDone)];
    out(`The last ${command}${on} (started ${last.metadata?.generated_at ?? 'at an unknown time'}) did not finish: its process ended before it recorded its results (killed?); the ${counted(again.length, 'node')} it did not record as done are retried.`);
  }
  if (!again.length) {
    // a --target or --vars given is checked all the same (a typo there was exit 0)
    if (o.target !== undefined || o.vars !== undefined) compileForCommand({ ...o, target: o.target ?? last.metadata?.target }, { writeArtifacts: false });
    out(`Nothing to retry: the last ${command} (${last.metadata?.generated_at ?? 'at an unknown time'}) had no failure and skipped nothing.`);
    return;
  }
  // (by unique_id, as dbt retry: a model and a test of one name, a source's test and a model's)
  const unnamed = again.find((r) => typeof r.unique_id !== 'string');
  if (unnamed) throw new UsageError(`${files.paths.target}/run_results.json does not say which node each result is (no unique_id: written by an older Vigil), so vigil retry cannot tell ${unnamed.name} from another node of that name; run the ${command} again instead`);
  // as dbt retry does: the flags of the run being retried (--state, --defer, --full-refresh,
  // --empty, --vars, --threads, --fail-fast); --vars and --threads given to retry replace the
  // stored ones, --fail-fast adds
  const args = last.metadata?.args ?? {};
  if (args.vars_redacted && o.vars === undefined) throw new UsageError(`the last ${command} ran with --vars holding a secret's value, which ${files.paths.target}/run_results.json does not keep: give the same --vars to vigil retry`);
  const threads = !o.threadsGiven && args.threads !== undefined ? args.threads : o.threads;
  const run = { ...o, threads, failFast: o.failFast || args.fail_fast, target: o.target ?? last.metadata?.target, state: args.state, defer: args.defer, favorState: args.favor_state, fullRefresh: args.full_refresh, empty: args.empty, vars: o.vars ?? args.vars };
  // a node the project no longer has (deleted or renamed since; a generic test whose arguments
  // changed is another test, as in dbt) is said and left out (as a
  // selector it matched nothing, and the retry of the rest stopped at exit 2)
  const compiled = command === 'run' || command === 'build' ? await compileChecked(run, { empty: run.empty }) : compileForCommand(run, { empty: run.empty });
  const nodes = compiled.result.manifest.nodes;
  const wanted = [...new Map(again.map((r) => [r.unique_id!, r])).values()];
  // each said by its name; by its unique_id where another of them has that name
  // (as the project names it now: a generic test named alike to another one is named with its hash)
  const nameOf = (r: (typeof wanted)[number]) => nodes[r.unique_id!]?.name ?? r.name;
  const said = (r: (typeof wanted)[number]) => (wanted.filter((x) => nameOf(x) === nameOf(r)).length > 1 ? r.unique_id! : nameOf(r));
  // an older Vigil's ids of generic tests were their names (test.<project>.<name>), which another
  // test may have now (a test added beside it took the name, the failed one became _2): a failed
  // generic test of such a run cannot be told (a singular test's id is its file's name, still)
  if ((last.metadata?.state_format ?? 1) < 3) {
    const unknown = wanted.filter((r) => r.resource_type === 'test' && !(nodes[r.unique_id!]?.resource_type === 'test' && (nodes[r.unique_id!] as { test_type?: string }).test_type === 'singular'));
    if (unknown.length) throw new UsageError(`${files.paths.target}/run_results.json was written by an older Vigil, whose ids of generic tests were their names (another test may have that name now), so vigil retry cannot tell which test ${unknown.map((r) => r.name).join(', ')} ${unknown.length === 1 ? 'is' : 'are'}; run the ${command} again instead`);
  }
  const gone = wanted.filter((r) => !nodes[r.unique_id!]);
  const retried = wanted.filter((r) => nodes[r.unique_id!]);
  if (gone.length) out(`No longer in the project, not retried: ${gone.map(said).join(', ')}`);
  if (!retried.length) {
    out(`Nothing to retry: what failed or was skipped in the last ${command} is no longer in the project.`);
    return;
  }
  out(`Retrying ${retried.length} node${retried.length === 1 ? '' : 's'} of the last ${command} (${last.metadata?.generated_at ?? ''}): ${retried.map(said).join(', ')}`);
  const kept = [args.full_refresh && '--full-refresh', args.empty && '--empty', args.state && `--state ${shellWord(args.state)}`, args.defer && '--defer', o.vars === undefined && args.vars !== undefined && `--vars ${shellWord(args.vars)}`, !o.threadsGiven && args.threads !== undefined && args.threads !== o.threads && `--threads ${args.threads}`, !o.failFast && args.fail_fast && '--fail-fast'].filter(Boolean);
  if (kept.length) out(`  with the flags of that ${command}: ${kept.join(' ')}`);
  // exactly those nodes: no test is added for what they select (dbt retry runs the unique_ids alone),
  // nor one the run's --exclude left out
  await runExecute(command, { ...run, select: undefined, exclude: undefined, ids: retried.map((r) => r.unique_id!), compiled });
}
