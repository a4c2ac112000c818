/**
 * What each CLI command does, between parsing (main.ts) and the core: load and compile
 * the project, open the adapter, run, print and write target/ artifacts. Loaded lazily
 * so `vigil --help` stays fast.
 */
import { parse as parseYamlText } from 'yaml';
import { diag, formatDiagnostic, hasErrors, ProjectError, redact, UsageError } from '../errors.js';
import { loadProject, type ProjectFiles } from '../project/load-project.js';
import { compileProject, VIGIL_VERSION, type CompileResult, type ResolvedTarget } from '../compile/compile-project.js';
import { loadCache, saveCache, writeCompileArtifacts, writeTargetJson } from '../project/artifacts.js';
import { selectNodes } from '../compile/selector.js';
import type { Adapter } from '../adapters/adapter.js';

const out = (s: string) => process.stdout.write(redact(s) + '\n');
const err = (s: string) => process.stderr.write(redact(s) + '\n');

interface Common {
  projectDir: string;
  target?: string;
  vars?: string;
  select?: string[];
  exclude?: string[];
}

function parseVars(v: string | undefined): Record<string, unknown> | undefined {
  if (!v) return undefined;
  let parsed: unknown;
  try {
    parsed = parseYamlText(v);
  } catch (e) {
    throw new UsageError(`--vars is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--vars must be a mapping, e.g. --vars '{anomaly_spike_ratio: 2}'`);
  return parsed as Record<string, unknown>;
}

export interface Compiled {
  files: ProjectFiles;
  result: CompileResult;
  target: ResolvedTarget;
}

/** Load, compile (reusing the render cache), write artifacts, print warnings; throw on errors. */
export function compileForCommand(o: Common, opts: { writeArtifacts?: boolean } = {}): Compiled {
  const files = loadProject(o.projectDir);
  const cache = loadCache(files);
  const result = compileProject(files, { target: o.target, env: process.env, vars: parseVars(o.vars), cache: cache.renders });
  for (const d of result.diagnostics.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
  if (hasErrors(result.diagnostics) || !result.target) throw new ProjectError(result.diagnostics.filter((x) => x.severity === 'error'));
  if (opts.writeArtifacts !== false) writeCompileArtifacts(files, result.manifest, cache);
  saveCache(files, cache);
  return { files, result, target: result.target };
}

function warnUnmatched(unmatched: Array<{ atom: string; hint?: string }>): void {
  for (const u of unmatched) err(`warning: selector '${u.atom}' matched nothing${u.hint ? ` — did you mean '${u.hint}'?` : ''}`);
}

export async function runCompile(o: Common): Promise<void> {
  const t0 = performance.now();
  const { result, files } = compileForCommand(o);
  const { ids, unmatched } = selectNodes(result.manifest, o.select, o.exclude);
  warnUnmatched(unmatched);
  const models = Object.values(result.manifest.nodes).filter((n) => n.resource_type === 'model' && ids.has(n.unique_id)).length;
  const tests = Object.values(result.manifest.nodes).filter((n) => n.resource_type === 'test' && ids.has(n.unique_id)).length;
  out(`Compiled ${models} models, ${tests} tests, ${Object.keys(result.manifest.sources).length} sources for target ${result.target!.name} (${result.target!.type}) in ${((performance.now() - t0) / 1000).toFixed(2)}s -> ${files.paths.target}/manifest.json`);
}

async function open(c: Compiled, threads: number): Promise<Adapter> {
  const { openAdapter } = await import('../adapters/index.js');
  return openAdapter(c.target, c.files, threads);
}

export async function runExecute(
  command: 'run' | 'test' | 'build',
  o: Common & { threads: number; fullRefresh?: boolean; failFast?: boolean; unit?: boolean; data?: boolean },
): Promise<void> {
  if (o.unit && o.data) throw new UsageError('--unit and --data together select nothing; use one of them, or neither for both');
  const unit = o.unit ? ('only' as const) : o.data ? ('exclude' as const) : undefined;
  const c = compileForCommand(o);
  const { executeRun, planRun, summarize } = await import('../run/executor.js');
  const plan = planRun(c.result.manifest, { command, select: o.select, exclude: o.exclude, unit });
  warnUnmatched(plan.unmatched);
  const count = (t: string) => plan.nodes.filter((n) => n.resource_type === t).length;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const parts = [plural(count('model'), 'model'), plural(count('test'), 'test'), ...(count('unit_test') ? [plural(count('unit_test'), 'unit test')] : [])];
  out(`vigil ${VIGIL_VERSION} ${command}: target ${c.target.name} (${c.target.type}), ${parts.join(', ')}, ${plural(o.threads, 'thread')}`);
  if (!plan.nodes.length) {
    out('Nothing to do: no nodes match the selection.');
    return;
  }
  // unit tests run in their own in-memory DuckDB; the warehouse is opened only when needed
  const needsWarehouse = plan.nodes.some((n) => n.resource_type !== 'unit_test');
  const adapter = needsWarehouse ? await open(c, Math.min(o.threads, plan.nodes.length)) : undefined;
  const { UnitRunner } = await import('../testing/unit-runner.js');
  const unitRunner = count('unit_test') ? new UnitRunner() : undefined;
  try {
    const s = await executeRun(c.result.manifest, adapter, { command, select: o.select, exclude: o.exclude, unit, unitRunner, threads: o.threads, fullRefresh: !!o.fullRefresh, failFast: o.failFast, out });
    out('');
    out(summarize(s));
    const failed = s.results.filter((r) => r.status === 'error' || r.status === 'fail');
    if (failed.length) {
      out(`\n${failed.length} failure${failed.length === 1 ? '' : 's'}:`);
      for (const r of failed) out(`  ${r.status === 'fail' ? 'FAIL' : 'ERROR'} ${r.name}: ${r.message.split('\n').slice(0, 2).map((l) => l.trim()).join(' ')}`);
    }
    writeTargetJson(c.files, 'run_results.json', {
      metadata: { vigil_version: VIGIL_VERSION, command, target: c.target.name, generated_at: new Date().toISOString() },
      elapsed_time: s.elapsed,
      success: s.ok,
      results: s.results.map(({ sample, ...r }) => ({ ...r, sample: sample ? JSON.parse(JSON.stringify(sample, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))) : undefined })),
    });
    if (!s.ok) process.exitCode = 1;
  } finally {
    unitRunner?.close();
    await adapter?.close();
  }
}

export async function runLs(o: Common & { resourceType?: string; output: 'name' | 'path' | 'json' }): Promise<void> {
  const { result } = compileForCommand(o, { writeArtifacts: false });
  const m = result.manifest;
  const { ids, unmatched } = selectNodes(m, o.select, o.exclude);
  warnUnmatched(unmatched);
  const nodes = [...Object.values(m.nodes), ...Object.values(m.sources)]
    .filter((n) => ids.has(n.unique_id) && (!o.resourceType || n.resource_type === o.resourceType))
    .sort((a, b) => a.unique_id.localeCompare(b.unique_id));
  if (o.output === 'json') {
    for (const n of nodes) {
      const base = { unique_id: n.unique_id, name: n.name, resource_type: n.resource_type, file: n.file, tags: n.tags };
      const extra =
        n.resource_type === 'model'
          ? { materialized: n.config.materialized, relation: n.relation, depends_on: n.depends_on }
          : n.resource_type === 'test'
            ? { test_type: n.test_type, severity: n.severity, depends_on: n.depends_on }
            : n.resource_type === 'unit_test'
              ? { model: n.model, depends_on: n.depends_on }
              : { relation: n.relation };
      out(JSON.stringify({ ...base, ...extra }));
    }
  } else {
    for (const n of nodes) out(o.output === 'path' ? n.file : n.resource_type === 'source' ? `${n.source_name}.${n.name}` : n.name);
  }
}

export async function runFreshness(o: Common): Promise<void> {
  const c = compileForCommand(o, { writeArtifacts: false });
  const { checkFreshness } = await import('../run/freshness.js');
  const { ids, unmatched } = selectNodes(c.result.manifest, o.select, o.exclude);
  warnUnmatched(unmatched);
  const sources = Object.values(c.result.manifest.sources).filter((s) => ids.has(s.unique_id) && s.loaded_at_field);
  if (!sources.length) {
    out('No sources with a loaded_at_field (and freshness limits) are selected; add loaded_at_field and freshness: to a source in models/**/*.yml.');
    return;
  }
  const adapter = await open(c, 1);
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

export async function runDemo(o: Common & { rows: number; days: number; seed: number; scenario: string; schema?: string; now?: string }): Promise<void> {
  const files = loadProject(o.projectDir);
  const { resolveTarget } = await import('../compile/compile-project.js');
  const ds: ReturnType<typeof diag>[] = [];
  const target = resolveTarget(files, { target: o.target, env: process.env }, ds);
  if (!target) throw new ProjectError(ds);
  if (target.type !== 'duckdb' && target.type !== 'postgres') throw new UsageError(`vigil demo writes to DuckDB and Postgres targets; target '${target.name}' is ${target.type}`);
  let now = new Date();
  if (o.now) {
    now = new Date(o.now);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO timestamp like 2026-11-22T12:00:00Z, got '${o.now}'`);
  }
  const schema = o.schema ?? files.project.demo?.schema ?? 'raw';
  const { openAdapter } = await import('../adapters/index.js');
  const { generateDemo } = await import('../demo/generate-demo.js');
  const t0 = performance.now();
  out(`Generating demo data (${o.rows.toLocaleString('en-US')} audit rows over ${o.days} days, seed ${o.seed}, scenario ${o.scenario}) into ${target.name}:${schema}`);
  const opts = { schema, rows: o.rows, days: o.days, seed: o.seed, scenario: o.scenario as never, now };
  let tables: Array<{ table: string; rows: number }>;
  if (target.type === 'duckdb') {
    const adapter = await openAdapter(target, files, 1);
    try {
      tables = await generateDemo(adapter, opts, (m) => out(`  ${m}`));
    } finally {
      await adapter.close();
    }
  } else {
    // generated in an in-memory DuckDB (the same rows as for a DuckDB target), then copied
    const { DuckDbAdapter } = await import('../adapters/duckdb/duckdb-adapter.js');
    const { copyTablesToPostgres } = await import('../demo/copy-to-postgres.js');
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema }, files.root, 1);
    const pg = (await openAdapter(target, files, 2)) as import('../adapters/postgres/postgres-adapter.js').PostgresAdapter;
    try {
      tables = await generateDemo(duck, opts, (m) => out(`  ${m}`));
      await copyTablesToPostgres(duck, schema, pg, schema, tables.map((t) => t.table), (m) => out(`  ${m}`));
    } finally {
      await duck.close();
      await pg.close();
    }
  }
  const total = tables.reduce((a, t) => a + t.rows, 0);
  out(`Done: ${tables.length} tables, ${total.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(2)}s. Next: vigil build`);
}
