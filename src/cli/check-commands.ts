/**
 * `vigil check` (and `vigil build --check`): compile for the target (models, tests, alert queries,
 * dashboards), run the compile-time PII check, hand everything to the warehouse's checker, print
 * each problem at its file:line:col.
 * Exit 2 when anything is wrong (a project error found before anything ran), 0 otherwise.
 */
import { diag, formatDiagnostic, hasErrors, ProjectError, UsageError, type Diagnostic } from '../errors.js';
import { loadProject, PROJECT_FILE, type ProjectFiles } from '../project/load-project.js';
import type { Manifest } from '../compile/manifest.js';
import type { LoadedRule } from '../alerts/load-alerts.js';
import type { CompiledRule } from '../alerts/evaluate.js';
import { loadCache, saveCache, writeCompileArtifacts } from '../project/artifacts.js';
import { compileProject, VIGIL_VERSION, type ResolvedTarget } from '../compile/compile-project.js';
import type { CheckReport } from '../check/check-project.js';
import { checkPii, err, out, parseVars, select as selectFor, type Common } from './commands.js';
import { checkJobSelection, defaultSelectorNotUsed } from './schedule-selection.js';
import { counted } from '../format.js';

export interface CheckOptions extends Common {
  /** told the first line (target and engine) once the checker is up */
  announce?: (line: string) => void;
}

/** Compile the project for the target and check it; warnings go to stderr, compile errors throw. */
export async function checkDir(o: CheckOptions): Promise<{ report: CheckReport; target: ResolvedTarget; engine: string; seconds: number; reused?: string }> {
  const t0 = performance.now();
  const files = loadProject(o.projectDir, { keepYaml: true });
  const { loadAlerts, alertPiiQueries } = await import('../alerts/load-alerts.js');
  const alerts = loadAlerts(files);
  const queries = alerts.rules.filter((r) => r.queryText && r.rule.enabled).map((r) => ({ key: r.rule.name, file: r.file, text: r.queryText!, ...r.queryAt }));
  const cache = loadCache(files);
  const result = compileProject(files, { target: o.target, env: process.env, vars: parseVars(o.vars), queries, cache: cache.renders });
  const compileDs: Diagnostic[] = [...result.diagnostics, ...alerts.diagnostics, ...(await scheduleProblems(files, result.manifest, alerts.rules))];
  for (const d of compileDs.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
  if (hasErrors(compileDs) || !result.target) throw new ProjectError(compileDs.filter((x) => x.severity === 'error'));
  // the compile-time PII check, as vigil compile and build run it, and of the alert queries and
  // the dashboard tiles as vigil alerts check and dashboards render run it (E_PII: exit 2, nothing written)
  const { dashboardPiiQueries } = await import('../dashboards/compile-dashboards.js');
  const { dialectOf } = await import('../adapters/index.js');
  await checkPii({ files, result, target: result.target }, [...alertPiiQueries(alerts.rules, result.queries), ...dashboardPiiQueries(result.dashboards, result.manifest, dialectOf(result.target.type))]);
  // the compiled files the report points at (as vigil compile writes them)
  writeCompileArtifacts(files, result.manifest, cache);
  saveCache(files, cache);
  const target = result.target;
  const { getWarehouse, revealingChecker } = await import('../adapters/index.js');
  const warehouse = getWarehouse(target.type)!;
  if (!warehouse.checker) throw new UsageError(`vigil check has no checker for ${target.type} targets`);
  const { ids } = selectFor(result.manifest, o);
  const select = (o.select?.length ?? 0) + (o.exclude?.length ?? 0) > 0 ? ids : undefined;
  const checker = revealingChecker(await warehouse.checker(target.config, { root: files.root, threads: 1, partial: select !== undefined, targetPath: files.paths.target }));
  o.announce?.(`vigil ${VIGIL_VERSION} check: target ${target.name} (${target.type}) with ${checker.engine}`);
  const { checkProject } = await import('../check/check-project.js');
  try {
    const report = await checkProject({
      files,
      result,
      checker,
      select,
      alerts: alerts.rules.filter((r) => r.queryText && r.rule.enabled && result.queries[r.rule.name]).map((r) => ({ name: r.rule.name, file: r.file, sql: result.queries[r.rule.name].sql, text: r.queryText!, at: r.queryAt })),
    });
    const seconds = (performance.now() - t0) / 1000;
    await checker.close();
    return { report, target, engine: checker.engine, seconds, reused: checker.reused?.() };
  } catch (e) {
    await checker.close();
    throw e;
  }
}

/**
 * What `vigil serve` would refuse at its start in project.yaml's `schedules:` and `serve:` (a
 * command, cron, time zone or key that does not go with its command; a selection that matches
 * nothing, or nothing its command runs; an alerts job without rules or whose select names none; a
 * sync job selecting no table with a sync block: checkJobSelection, as serve checks it), at its line:
 * vigil check said OK to a project whose serve then would not start (docs/upgrading.md's safe
 * order checks before switching serve over). The sync jobs' source databases (their env vars)
 * are serve's to resolve, not check's.
 */
async function scheduleProblems(files: ProjectFiles, manifest: Manifest, rules: LoadedRule[]): Promise<Diagnostic[]> {
  if (!files.project.schedules && !files.project.serve) return [];
  const { serveConfig } = await import('../serve/config.js');
  const { config, diagnostics } = serveConfig(files);
  const ds = [...diagnostics, ...defaultSelectorNotUsed(files, config?.jobs ?? [])];
  for (const j of config?.jobs ?? []) {
    try {
      await checkJobSelection(manifest, j, async () => ({ rules: rules as CompiledRule[], files }));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      const at = j.select || j.exclude ? ['schedules', j.name, j.select ? 'select' : 'exclude'] : ['schedules', j.name];
      ds.push(diag('E_SCHEDULE', `schedules.${j.name}: ${e.message.replace(/\n\(nothing was run; pass --allow-empty[^)]*\)$/, '')}`, { file: PROJECT_FILE, ...files.projectYaml.locate(at) }));
    }
  }
  return ds;
}

/** Check the project; prints the report and throws a ProjectError (exit 2) when it finds a problem. */
export async function runCheck(o: CheckOptions): Promise<void> {
  const { report, seconds, reused } = await checkDir({ ...o, announce: out });
  if (reused) out(reused);
  const c = report.counts;
  const what = `${counted(c.models, 'model')}, ${counted(c.tests, 'test')}, ${counted(c.alerts, 'alert query', 'alert queries')}, ${counted(c.tiles, 'tile query', 'tile queries')} (${counted(c.statements, 'statement')})${c.skipped ? `; ${c.skipped} not checked because what they read has a problem` : ''}`;
  if (report.diagnostics.length) {
    err(`vigil check found ${report.diagnostics.length} problem${report.diagnostics.length === 1 ? '' : 's'} in ${what} in ${seconds.toFixed(2)}s:\n`);
    throw new ProjectError(report.diagnostics);
  }
  out(`OK: ${what} in ${seconds.toFixed(2)}s`);
}
