/**
 * `vigil alerts ...`: check, evaluate, test, route-test, notify-test, silence(s), status,
 * outbox, run-scheduler. Loaded lazily by program.ts.
 */
import { hostname, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { didYouMean, formatDiagnostic, hasErrors, ProjectError, UsageError, WarehouseBusyError, type Diagnostic } from '../errors.js';
import { redact } from '../secrets.js';
import type { ProjectFiles } from '../project/load-project.js';
import { loadCache, saveCache, writeProjectFile } from '../project/artifacts.js';
import { durationFlag, keepSnapshot, keptTarget, open, openWhenFree, parseAt, projectFromSnapshot, selectGlobs, timestampFlag } from './command-kit.js';
import { err, out } from './output.js';
import type { CompileResult, ResolvedTarget } from '../compile/compile-project.js';
import type { YamlSource } from '../project/yaml-source.js';
import type { Adapter, Preview } from '../adapters/adapter.js';
import type { AlertProject } from '../alerts/load-alerts.js';
import type { CompiledRule, EvalSummary } from '../alerts/evaluate.js';
import type { StateStore } from '../alerts/state.js';
import { durationMs, formatDuration, prepareActiveHours } from '../alerts/time.js';
import { docRef } from '../install.js';
import { DEFAULT_POLICY } from '../alerts/delivery/types.js';


export interface Common {
  projectDir: string;
  target?: string;
  vars?: string;
  stateFile?: string;
}

export interface Setup {
  files: ProjectFiles;
  alerts: AlertProject;
  result: CompileResult;
  target: ResolvedTarget;
  rules: CompiledRule[];
  /** what setting up printed (warnings, tolerated errors): printed again when set up from the snapshot */
  notes: string[];
}

/**
 * `tolerate`: a rule whose query no longer compiles (a renamed model) does not stop the others:
 * it is evaluated as an error instance, so someone hears about it (evaluate, run-scheduler).
 * `pii: false`: no PII check of the queries, for what runs none of them (silences, status, docs).
 */
export async function setupAlerts(o: Common, targetOverride?: { files: ProjectFiles; target: string }, opts: { tests?: boolean; tolerate?: boolean; pii?: boolean } = {}, env: NodeJS.ProcessEnv = process.env): Promise<Setup> {
  // loaded here, not with the module: an evaluation answered from the snapshot needs none of them
  const [{ loadProject }, { compileProject }, { loadAlerts, alertPiiQueries }, { parseVars }] = await Promise.all([
    import('../project/load-project.js'),
    import('../compile/compile-project.js'),
    import('../alerts/load-alerts.js'),
    import('./commands.js'),
  ]);
  const files = targetOverride?.files ?? loadProject(o.projectDir, { keepYaml: true });
  const notes: string[] = [];
  const note = (line: string) => {
    notes.push(line);
    err(line);
  };
  const alerts = loadAlerts(files, opts);
  const queries = alerts.rules.filter((r) => r.queryText).map((r) => ({ key: r.rule.name, file: r.file, text: r.queryText!, ...r.queryAt }));
  // the models' render cache (target/.cache) spares re-rendering unchanged models
  const cache = targetOverride ? undefined : loadCache(files);
  const result = compileProject(files, { target: targetOverride?.target ?? o.target, env, vars: parseVars(o.vars), queries, cache: cache?.renders });
  if (cache) {
    try {
      saveCache(files, cache);
    } catch {
      /* read-only checkout */
    }
  }
  const ds: Diagnostic[] = [...result.diagnostics, ...alerts.diagnostics];
  for (const d of ds.filter((x) => x.severity === 'warn')) note(formatDiagnostic(d));
  const inRule = (r: (typeof alerts.rules)[number], d: Diagnostic) =>
    d.file === r.file && d.line !== undefined && d.line >= r.queryAt.line && d.line <= r.queryAt.line + (r.queryText ?? '').split('\n').length;
  const broken = opts.tolerate ? alerts.rules.filter((r) => r.queryText && !result.queries[r.rule.name]) : [];
  const tolerated = new Set(result.diagnostics.filter((d) => d.severity === 'error' && broken.some((r) => inRule(r, d))));
  const fatal = ds.filter((x) => x.severity === 'error' && !tolerated.has(x));
  if (fatal.length || !result.target) throw new ProjectError(fatal);
  for (const d of tolerated) note(`${formatDiagnostic(d)}\n  (the alert is evaluated as an error instance until this is fixed)`);
  // the PII check of the alert queries (docs/governance.md): a column carrying PII unmasked would
  // reach the notifications. Tolerated, that rule's query is not run: an error instance says why
  const leaks = new Map<string, Diagnostic[]>();
  // the live PII each rule's query reads: the values its warehouse errors quote are masked (evaluate.ts)
  const piiReads = new Map<string, string[]>();
  const { piiLineage, hasPii } = await import('../check/pii-lineage.js');
  if (opts.pii !== false && hasPii(result.manifest)) {
    const { dialectOf } = await import('../adapters/index.js');
    const pii = await piiLineage(result.manifest, dialectOf(result.target.type), { root: files.root, queries: alertPiiQueries(alerts.rules, result.queries) });
    for (const d of pii.diagnostics.filter((x) => x.severity === 'warn')) note(formatDiagnostic(d));
    const errors = pii.diagnostics.filter((x) => x.severity === 'error');
    if (errors.length && !opts.tolerate) throw new ProjectError(errors);
    for (const [id, q] of pii.queries) {
      if (q.reads?.length) piiReads.set(id.slice('alert.'.length), q.reads);
      const es = q.diagnostics.filter((x) => x.severity === 'error');
      if (!es.length) continue;
      leaks.set(id.slice('alert.'.length), es);
      for (const d of es) note(`${formatDiagnostic(d)}\n  (the alert is evaluated as an error instance until this is fixed; its query is not run)`);
    }
  }
  const rules: CompiledRule[] = alerts.rules
    .filter((r) => r.rule.enabled)
    .map((r) => {
      const leak = leaks.get(r.rule.name);
      if (leak) return { ...r, sql: undefined, compileError: `its query carries PII unmasked: ${leak.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('; ')}` };
      const sql = r.queryText ? result.queries[r.rule.name]?.sql : undefined;
      const errs = [...tolerated].filter((d) => inRule(r, d));
      return { ...r, sql, piiReads: piiReads.get(r.rule.name), compileError: r.queryText && sql === undefined ? `its query does not compile: ${errs.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('; ') || 'see vigil alerts check'}` : undefined };
    });
  return { files, alerts, result, target: result.target, rules, notes };
}

/** What the alerts snapshot keeps: everything of a Setup but the YAML documents and the resolved target (it may hold secrets). */
interface AlertsSnapshot {
  project: ProjectFiles['project'];
  paths: ProjectFiles['paths'];
  alerts: Omit<AlertProject, 'routesYaml'>;
  result: Omit<CompileResult, 'target'>;
  /** the target it was compiled for, when it may be kept (command-kit.ts keptTarget) */
  target?: ResolvedTarget;
  rules: CompiledRule[];
  notes: string[];
}

/**
 * setupAlerts for evaluations (evaluate, run-scheduler, serve): from the alerts snapshot
 * (project/snapshot.ts) while nothing it was compiled from changed — no YAML parsed, nothing
 * compiled; the target kept with it (or resolved again: command-kit.ts keptTarget). Otherwise set up in full, and the snapshot
 * kept for next time.
 */
export async function setupAlertsForEvaluation(o: Common): Promise<Setup> {
  const { findProjectRoot } = await import('../project/paths.js');
  const { readSnapshot, startSnapshot } = await import('../project/snapshot.js');
  const root = findProjectRoot(o.projectDir);
  const snap = root ? await readSnapshot<AlertsSnapshot>(root, 'alerts', o) : undefined;
  if (root && snap) {
    const s = await fromAlertsSnapshot(root, snap, o);
    if (s) {
      for (const line of s.notes) err(line);
      return s;
    }
  }
  const start = startSnapshot(o.projectDir);
  const s = await setupAlerts(o, undefined, { tests: false, tolerate: true }, start?.env);
  await keepSnapshot('alerts', s, o, start, (): AlertsSnapshot => ({
    project: s.files.project,
    paths: s.files.paths,
    alerts: { ...omit(s.alerts, 'routesYaml'), rules: s.alerts.rules.map(withoutYaml) },
    result: omit(s.result, 'target'),
    target: keptTarget(s.target),
    rules: s.rules.map(withoutYaml),
    notes: s.notes,
  }));
  return s;
}

function omit<T extends object, K extends keyof T>(o: T, k: K): Omit<T, K> {
  const { [k]: _dropped, ...rest } = o;
  return rest;
}

function withoutYaml<T extends { yaml: YamlSource }>(r: T): T {
  return { ...r, yaml: undefined as unknown as YamlSource };
}

/** A Setup from the snapshot; undefined when the target no longer resolves (then the full path reports why). */
async function fromAlertsSnapshot(root: string, snap: AlertsSnapshot, o: Common): Promise<Setup | undefined> {
  const p = await projectFromSnapshot(root, snap, o);
  if (!p) return undefined;
  const { files, target } = p;
  // nothing an evaluation does asks a rule for a position in its file, and this path loads no YAML reader
  const yamlOf = (file: string): never => {
    throw new Error(`internal: a position in ${file} was asked for on the snapshot path, which reads no YAML`);
  };
  const lazyYaml = <T extends { file: string }>(r: T): T => Object.defineProperty({ ...r }, 'yaml', { get: () => yamlOf(r.file), enumerable: false });
  const loaded = new Map(snap.alerts.rules.map((r) => [r.rule.name, lazyYaml(r)]));
  return {
    files,
    alerts: { ...snap.alerts, rules: [...loaded.values()], get routesYaml() {
      return snap.alerts.routes ? yamlOf(snap.alerts.routesFile) : undefined;
    } } as AlertProject,
    result: { ...snap.result, target },
    target,
    rules: snap.rules.map(lazyYaml),
    notes: snap.notes,
  };
}

/**
 * The rules `select` names. Every pattern must select something (as `dashboards -s`): a typo beside
 * a good name is not silently dropped. `partial`: only a selection matching nothing at all is an
 * error (serve's jobs while it runs: an alert removed since start does not stop the others).
 */
export function selectRules(rules: CompiledRule[], select: string[] | undefined, partial = false): CompiledRule[] {
  if (!select?.length) return rules;
  const KV = /^([A-Za-z_]\w*)=(.*)$/;
  const globs = selectGlobs(select, "an alert's name, a glob, severity=critical, label=value", 'every alert', (s) => !KV.test(s));
  const matches = (r: CompiledRule, s: string, i: number): boolean => {
    const kv = KV.exec(s);
    if (kv) return (kv[1] === 'severity' ? r.rule.severity : r.rule.labels[kv[1]]) === kv[2];
    return globs[i]!.test(r.rule.name);
  };
  const picked = rules.filter((r) => select.some((s, i) => matches(r, s, i)));
  const none = picked.length && partial ? [] : select.filter((s, i) => !rules.some((r) => matches(r, s, i)));
  if (none.length) {
    const hints = none.filter((s) => !/[=*?[]/.test(s)).map((s) => didYouMean(s, rules.map((r) => r.rule.name))).filter((h): h is string => !!h);
    throw new UsageError(`--select ${none.join(' ')} matched no alert${hints.length ? ` — did you mean ${hints.map((h) => `'${h}'`).join(', ')}?` : ''} (alerts: ${rules.map((r) => r.rule.name).join(', ') || 'none'})`);
  }
  return picked;
}

/** As many connections as there are rules to query at once (up to 8). */
function warehouseThreads(s: Setup): number {
  return Math.min(8, Math.max(1, s.rules.length));
}

function openWarehouse(s: Setup, opts: { readOnly?: boolean } = {}): Promise<Adapter> {
  return open(s, warehouseThreads(s), opts);
}

/** A DuckDB file held by another evaluation (its holder's command line says so): that run holds the state. */
function heldByEvaluation(e: unknown): e is WarehouseBusyError {
  // (a dry run holds no state lock and sends nothing: what it holds the file for is waited for as
  // any other holder's, not taken for an evaluation that will send this one's notifications)
  return e instanceof WarehouseBusyError && !!e.holder && /\balerts (evaluate|run-scheduler)\b/.test(e.holder) && !/\s--dry-run\b/.test(e.holder);
}

/**
 * The warehouse for an evaluation. A DuckDB file held by another evaluation means that run
 * holds the state: this one is skipped (exit 0), like a state lock held elsewhere. Held by
 * anything else, it is retried until --wait runs out (a line per attempt), then an error.
 */
async function openBusyAware(s: Setup, waitMs: number, readOnly = false): Promise<Adapter | undefined> {
  try {
    return await openWhenFree(s, warehouseThreads(s), {
      waitMs,
      readOnly,
      busy: (e, delay) => err(`  the warehouse is in use${e.holder ? ` by ${e.holder}` : ''}; retrying in ${(delay / 1000).toFixed(1)} s (--wait)`),
    });
  } catch (e) {
    if (!heldByEvaluation(e)) throw e;
    err(`skipped: another evaluation holds the state (${e.holder}); nothing was evaluated or sent`);
    return undefined;
  }
}

/** Where fired/resolved events go (project.yaml `alerts.history`, on by default): the target schema. */
function historyOf(s: Setup): { schema: string } | undefined {
  return s.files.project.alerts?.history === false ? undefined : { schema: s.target.schema };
}

/** The alert state is a file: --state-file, or `alerts: { state: file }` (docs/alerts.md#state; a state_file without it is refused by the schema). */
function stateInFile(o: Common, s: Setup): boolean {
  return !!o.stateFile || s.files.project.alerts?.state === 'file';
}

/**
 * `existing`: the command only reads or changes a state that must be there (status, silences,
 * outbox, silence --expire): a --state-file that does not exist is a typo far more often than an
 * empty state, so it is refused (exit 2) and nothing is created. Commands that make state
 * (evaluate, silence) create it.
 */
async function openStore(o: Common, s: Setup, adapter: Adapter | undefined, opts: { existing?: boolean } = {}): Promise<StateStore> {
  const { fileStore, warehouseStore } = await import('../alerts/state.js');
  const cfg = s.files.project.alerts ?? {};
  const lease = cfg.lock_lease ? durationMs(cfg.lock_lease) : undefined;
  if (stateInFile(o, s)) {
    // a flag's path is the working folder's, as every path flag; project.yaml's is the project's
    if (o.stateFile) {
      const path = resolve(process.cwd(), o.stateFile);
      // (it was read from the project folder: a state kept there is not silently left for a new, empty one)
      const before = resolve(s.files.root, o.stateFile);
      const { existsSync, statSync } = await import('node:fs');
      // (a folder is no state: was "not valid JSON (EISDIR) ... delete it to start over", exit 1)
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--state-file ${o.stateFile}: that is a folder: give the JSON file that holds (or will hold) the alert state`);
      if (before !== path && !existsSync(path) && existsSync(before))
        throw new UsageError(`--state-file ${o.stateFile}: there is no such file from the working folder (${path}), but ${before} exists: --state-file is read from the working folder, as every path flag (earlier versions read it from the project folder); give --state-file ${before} to keep that state`);
      if (opts.existing && !existsSync(path)) throw new UsageError(`--state-file ${o.stateFile}: no alert state at ${path}${await nearStateFile(path)}; nothing was read or created (vigil alerts evaluate or silence makes a state)`);
      return fileStore(path, lease, { say: err });
    }
    const p = cfg.state_file ?? '.vigil/alert-state.json';
    return fileStore(isAbsolute(p) ? p : join(s.files.root, p), lease, { say: err });
  }
  if (!adapter) throw new Error('internal: warehouse state without an adapter');
  return warehouseStore(adapter, s.target.schema, lease, { say: err });
}


/** ` — did you mean <sibling>?` for a state file named close to a missing one, or where its folder is missing. */
async function nearStateFile(path: string): Promise<string> {
  const { readdirSync, statSync } = await import('node:fs');
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return undefined;
    }
  };
  const dir = dirname(path);
  const here = list(dir);
  if (here) {
    const near = didYouMean(basename(path), here.filter((f) => !f.endsWith('.lock') && statSync(join(dir, f), { throwIfNoEntry: false })?.isFile()));
    return near ? ` — did you mean ${join(dir, near)}?` : '';
  }
  const up = list(dirname(dir));
  const near = up && didYouMean(basename(dir), up.filter((f) => statSync(join(dirname(dir), f), { throwIfNoEntry: false })?.isDirectory()));
  return near ? ` (there is no folder ${dir} — did you mean ${join(dirname(dir), near)}?)` : ` (there is no folder ${dir})`;
}

/**
 * --delivery-timeout: a duration, at most half the state lock's lease (so the lock never runs out
 * mid-send). Without it: the default (60 s; undefined), or half the lease when alerts.lock_lease
 * is shorter than 2 minutes (was: 60 s, which a lease of 1 minute or less never outlasts, so
 * delivery renewed the lease before every request, a state save more per message).
 */
export function deliveryPolicy(value: string | undefined, files: ProjectFiles): number | undefined {
  const lease = files.project.alerts?.lock_lease ? durationMs(files.project.alerts.lock_lease) : 10 * 60_000;
  if (value === undefined) return lease / 2 < DEFAULT_POLICY.deadlineMs ? Math.max(1, Math.floor(lease / 2)) : undefined;
  const ms = durationFlag('--delivery-timeout', value, { min: 1 });
  if (ms > lease / 2) throw new UsageError(`--delivery-timeout ${value} is longer than half the state lock's lease (${formatDuration(lease)}); raise alerts.lock_lease in project.yaml or shorten it`);
  return ms;
}

// ---- check

export async function runAlertsCheck(o: Common & { warehouse?: boolean }): Promise<void> {
  const s = await setupAlerts(o);
  // like `vigil compile` for models: the compiled query of each alert, to read or run by hand
  const dir = join(s.files.root, s.files.paths.target, 'compiled', s.files.project.name, s.files.paths.alerts);
  for (const r of s.rules) if (r.sql !== undefined) writeProjectFile(join(dir, `${r.rule.name}.sql`), r.sql + '\n');
  const problems: string[] = [];
  /** problems of the project's files, at their lines (exit 2); the others (an env var not set, the warehouse refusing a query) exit 1 */
  let projectErrors = 0;
  if (!s.rules.length) out(`warning: no alert rules in ${s.files.paths.alerts}/*.yaml (see ${docRef('alerts.md')}).`);
  out(`Checked ${s.rules.length} alert${s.rules.length === 1 ? '' : 's'} in ${s.files.paths.alerts}/: schemas valid, queries compile for target ${s.target.name} (${s.target.type}).`);
  if (!s.alerts.routes) {
    out(`warning: no ${s.alerts.routesFile}: evaluations keep state but notify nobody.`);
  } else {
    const { resolveIntegration, integrations } = await import('../alerts/evaluate.js');
    const { routeAlert, routedByLabels } = await import('../alerts/routing.js');
    const { baseLabels, groupColumns } = await import('../alerts/engine.js');
    for (const rc of s.alerts.routes.receivers) {
      const kinds = integrations(rc);
      if (!kinds.length) out(`  receiver ${rc.name}: no integration (alerts routed here go nowhere, as in Alertmanager)`);
      for (const kind of kinds) {
        const r = resolveIntegration(rc, kind, process.env);
        if (typeof r === 'string') problems.push(r);
        else out(`  receiver ${rc.name} (${kind}): ${kind === 'pagerduty' ? `routing key from $${rc.pagerduty!.routing_key_env}${rc.pagerduty!.service ? ` (service ${rc.pagerduty!.service})` : ''}` : rc.slack!.bot_token_env ? `bot token from $${rc.slack!.bot_token_env}, channel ${rc.slack!.channel} (exactly once)` : `webhook from $${rc.slack!.webhook_url_env} (on_uncertain: ${rc.slack!.on_uncertain ?? 'hold'})`} — set`);
      }
      // Slack: "You cannot override the default channel (chosen by the user who installed your
      // app) ... when you're using Incoming Webhooks" (api.slack.com/messaging/webhooks); a legacy
      // custom-integration webhook, of the same URL form, still takes it: sent, and said
      if (rc.slack?.webhook_url_env && rc.slack.channel !== undefined) {
        const i = s.alerts.routes.receivers.indexOf(rc);
        const at = s.alerts.routesYaml?.locate(['receivers', i, 'slack', 'channel']);
        out(`  warning: ${s.alerts.routesFile}${at ? `:${at.line}:${at.column}` : ''}: receiver ${rc.name}: channel ${rc.slack.channel} is not where a Slack app's incoming webhook posts: it posts to the channel chosen when the webhook was made (Slack ignores channel; only a legacy custom-integration webhook honours it). Remove channel, or use bot mode (bot_token_env) to choose the channel`);
      }
    }
    const blackhole = new Set(s.alerts.routes.receivers.filter((rc) => !integrations(rc).length).map((rc) => rc.name));
    // the alert about a stuck receiver must reach someone else
    for (const rc of s.alerts.routes.receivers) {
      if (!integrations(rc).length) continue;
      const to = routeAlert(s.alerts.routes, { alertname: 'vigil_alert_outbox_stuck', severity: 'critical', receiver: rc.name }).map((x) => x.receiver);
      if (to.every((x) => x === rc.name || blackhole.has(x)))
        out(`  warning: vigil_alert_outbox_stuck{receiver="${rc.name}"} (notifications to ${rc.name} stuck) routes only to ${rc.name} itself: add a route, e.g. matchers: ['alertname="vigil_alert_outbox_stuck"'] to another receiver`);
    }
    const routedBy = routedByLabels(s.alerts.routes);
    for (const r of s.rules) {
      const to = routeAlert(s.alerts.routes, baseLabels(r.rule)).map((x) => x.receiver);
      // labels whose values the rule's rows give (its group_by columns): a route matching on one
      // sends each instance by its value, which is not known here — the receivers above are
      // those of an instance without them, not a verdict on the rule
      const byRow = groupColumns(r.rule).filter((l) => routedBy.has(l));
      out(`  ${r.rule.name} (${r.rule.severity}) -> ${to.join(', ')}${byRow.length ? ` (routes also match on ${byRow.join(', ')}, which each instance's row gives: try one with vigil alerts route-test alertname=${r.rule.name} ${byRow.map((l) => `${l}=...`).join(' ')})` : ''}`);
      if ((!byRow.length || blackhole.size === s.alerts.routes.receivers.length) && to.every((x) => blackhole.has(x))) {
        projectErrors++;
        problems.push(`alert ${r.rule.name} reaches only receivers without an integration: nobody hears it`);
      }
    }
  }
  if (o.warehouse) {
    const { checkTemplateNames } = await import('../alerts/load-alerts.js');
    const adapter = await openWarehouse(s);
    const { columnsJudgedAt, columnsProbeSql } = await import('../alerts/evaluate.js');
    const { columnKinds, typeCanHold } = await import('../alerts/engine.js');
    try {
      for (const r of s.rules) {
        if (r.sql === undefined) continue;
        let columns: string[];
        let types: Preview['columns'];
        try {
          const sql = columnsProbeSql(r.sql);
          types = adapter.preview ? (await adapter.preview(sql)).columns : (await adapter.query(sql), []);
          columns = types.map((c) => c.name);
        } catch (e) {
          problems.push(`${r.file}: alert ${r.rule.name}: the warehouse refused its query: ${(e as Error).message.split('\n')[0]}`);
          continue;
        }
        // a column the rule reads that the query does not return fails every evaluation: say so
        // now (a warehouse that names no columns for an empty result, BigQuery, is not judged)
        if (!columns.length) continue;
        if (r.columns === undefined) {
          // the names its templates read, against the columns it returns
          const ds: Diagnostic[] = [];
          checkTemplateNames(r, columns, ds);
          for (const d of ds) problems.push(`${d.file}:${d.line}:${d.column}: ${d.message}`);
          projectErrors += ds.length;
        }
        // (each at the key that names it: a column named twice, e.g. group_by and condition, at both)
        for (const { column: col, key } of columnsJudgedAt(r.rule).filter((c) => !columns.includes(c.column))) {
          const hint = didYouMean(col, columns);
          const loc = r.yaml.locate([...r.path, ...key]);
          projectErrors++;
          problems.push(`${r.file}:${loc.line}:${loc.column}: alert ${r.rule.name}: its query returns no column '${col}'${hint ? ` — did you mean '${hint}'?` : ''} (columns: ${columns.join(', ')})`);
        }
        // a column of a type that can never hold the kind: every evaluation would raise the rule's
        // error instance (text passes: evaluation judges its values)
        for (const { column, kind, key } of columnKinds(r.rule)) {
          const t = types.find((c) => c.name === column);
          if (!t || typeCanHold(t, kind)) continue;
          const loc = r.yaml.locate([...r.path, ...key]);
          projectErrors++;
          problems.push(`${r.file}:${loc.line}:${loc.column}: alert ${r.rule.name}: column '${column}' of its query is ${t.type ?? 'of another type'}, not ${kind === 'number' ? 'a number' : 'a timestamp or a date'}: ${key[0] === 'time' ? 'time: orders the rows by it' : `a ${r.rule.condition.type} condition ${kind === 'number' ? 'compares numbers' : 'reads timestamps'}`}; cast it in the query`);
        }
      }
      out(`  queries prepared in the warehouse: ${s.rules.filter((r) => r.sql !== undefined).length}`);
    } finally {
      await adapter.close();
    }
  }
  for (const p of problems) err(`error: ${p}`);
  if (problems.length) {
    err(`\n${problems.length} problem${problems.length === 1 ? '' : 's'} found.`);
    process.exitCode = projectErrors ? 2 : 1;
  } else out('OK');
}

// ---- evaluate

export async function runAlertsEvaluate(o: Common & { select?: string[]; dryRun?: boolean; at?: string; deliveryTimeout?: string; wait?: string }): Promise<void> {
  // flags first: a typo in one is an error even when there is nothing to evaluate
  const at = parseAt(o.at);
  // the state goes forward only, and the runs that go by the clock (the scheduler, vigil serve, evaluate
  // without --at) are not refused: an --at ahead of the clock (2027 for 2026) would have them hold every
  // new alert's notification (group_interval), for: and keep_firing_for until the clock reaches it
  const ahead = 5 * 60_000;
  if (o.at !== undefined && !o.dryRun && at.getTime() > Date.now() + ahead)
    throw new UsageError(
      `--at ${at.toISOString()} is ahead of the clock (${new Date().toISOString()}): the state would record an evaluation the clock has not reached, and the runs that go by the clock (run-scheduler, vigil serve, evaluate without --at) would hold notifications until then; nothing was evaluated or sent. Look at a later time with --dry-run, or in an offline test (vigil alerts test)`,
    );
  const waitMs = o.wait ? durationFlag('--wait', o.wait) : 0;
  const s = await setupAlertsForEvaluation(o);
  const policyMs = deliveryPolicy(o.deliveryTimeout, s.files) ?? NaN;
  const rules = s.rules.length ? selectRules(s.rules, o.select) : [];
  // the driver first; then, while the warehouse opens (DuckDB creates its instance in its own
  // threads), the evaluation's modules and the formatters of the rules' time zones (~45 ms)
  await (await import('../adapters/index.js')).prepareDriver(s.target.type);
  // a dry run only reads: a DuckDB file is opened read-only, beside a BI tool or a vigil show
  // reading it (one not there yet is an empty in-memory database: it made the file); Postgres as
  // the evaluation opens it, its helper functions installed (a rule's rolling_median calls one)
  const opening = openBusyAware(s, waitMs, !!o.dryRun && s.target.type === 'duckdb');
  opening.catch(() => {}); // (a failure is handled where it is awaited, below: not an unhandled rejection meanwhile)
  await new Promise((r) => setImmediate(r)); // the calls above have reached the driver
  const modules = Promise.all([import('../alerts/evaluate.js'), import('../alerts/state.js')]);
  modules.catch(() => {});
  prepareActiveHours(rules.map((r) => r.activeHours));
  const adapter = await opening;
  if (!adapter) return;
  let summary: EvalSummary;
  try {
    const store = await openStore(o, s, adapter);
    if (!s.rules.length) {
      // no rule (all deleted or disabled): nothing to evaluate — unless the state still holds
      // instances (they resolve, as a deleted rule's do) or notifications to deliver
      const doc = await store.read();
      if (!Object.keys(doc.instances).length && !doc.outbox.some((e) => e.status !== 'sent')) {
        out(`No alert rules in ${s.files.paths.alerts}/*.yaml: nothing to evaluate (see ${docRef('alerts.md')}).`);
        return;
      }
      out(`No alert rules in ${s.files.paths.alerts}/*.yaml; the state still holds what earlier rules left: resolving and delivering it.`);
    }
    const [{ evaluateAlerts, describeTransition }, { LockBusyError }] = await modules;
    out(`${o.dryRun ? 'Dry run: evaluating' : 'Evaluating'} ${rules.length} alert${rules.length === 1 ? '' : 's'} on ${s.target.name} (${s.target.type}) at ${at.toISOString()}; state in ${store.description}`);
    try {
      summary = await evaluateAlerts(
        { rules, allRules: s.rules, knownRules: new Set(s.rules.map((r) => r.rule.name)), routes: s.alerts.routes, adapter, store, files: s.files, sources: Object.values(s.result.manifest.sources), env: process.env, out, err, history: historyOf(s) },
        { at, atGiven: o.at !== undefined, dryRun: !!o.dryRun, command: 'vigil alerts evaluate', lockWaitMs: waitMs, policy: Number.isNaN(policyMs) ? DEFAULT_POLICY : { ...DEFAULT_POLICY, deadlineMs: policyMs }, crashAfterSave: process.env.VIGIL_TEST_CRASH_AFTER_SAVE === '1', crashAfterHistory: process.env.VIGIL_TEST_CRASH_AFTER_HISTORY === '1' },
      );
    } catch (e) {
      if (e instanceof LockBusyError) {
        err(`skipped: ${e.message}`);
        return;
      }
      throw e;
    }
    const byName = new Map(rules.map((r) => [r.rule.name, r]));
    const w = Math.max(...rules.map((r) => r.rule.name.length));
    for (const oc of summary.outcomes) {
      const what = oc.status === 'error' ? `ERROR ${oc.error}` : oc.status === 'outside_active_hours' ? 'skipped (outside active hours)' : oc.status === 'nodata' ? 'NO DATA' : `${oc.firing} firing`;
      out(`  ${oc.rule.padEnd(w)}  ${what}  [${oc.seconds.toFixed(2)}s]`);
      for (const t of oc.transitions) out(describeTransition(t, byName));
    }
    for (const x of summary.suppressed) out(`  not notified: ${x.instance}: ${x.reason}`);
    for (const x of summary.held) out(`  held: ${x.instance} -> ${x.receiver} until ${x.until} (its group's group_wait / group_interval)`);
    const counts = (type: string) => summary.queued.filter((e) => e.type === type).length;
    out(`Evaluated ${summary.outcomes.length} alert${summary.outcomes.length === 1 ? '' : 's'} in ${summary.evaluationSeconds.toFixed(3)}s.`);
    out(`Queued ${summary.queued.length} notification${summary.queued.length === 1 ? '' : 's'} (${counts('pagerduty')} PagerDuty, ${counts('slack')} Slack)${s.alerts.routes ? '' : ` — no ${s.alerts.routesFile}, nobody is notified`}.`);
    if (o.dryRun) {
      for (const e of summary.queued) {
        out(`\n--- ${e.type} -> ${e.receiver}: ${e.items.map((i) => `${i.action} ${i.instance}`).join(', ')}`);
        out(JSON.stringify(e.body, null, 2));
      }
      out('\nDry run: nothing was sent and the state was not changed.');
    } else {
      const h = summary.history;
      if (h.written || h.already) out(`History: ${h.written} alert event${h.written === 1 ? '' : 's'} written to vigil_alert_events${h.already ? ` (${h.already} written by an earlier run that stopped before saving it; not written again)` : ''}.`);
      if (h.error) process.exitCode = 1;
      const d = summary.delivery;
      out(`Delivered: ${d.sent} sent, ${d.pending} pending (retried next run), ${d.rejected} rejected${d.uncertain ? `, ${d.uncertain} uncertain (not resent)` : ''}.`);
      for (const e of d.errors) err(`error: ${e}`);
      if (d.pending || d.rejected || d.uncertain) process.exitCode = 1;
    }
    // what is not settled stays in every run's output and exit status until it is
    const open = summary.unsettled;
    if (open.length) {
      err(`${open.length} notification${open.length === 1 ? ' is' : 's are'} not settled:`);
      for (const e of open) err(`  ${e.id} ${e.status} since ${e.createdAt}: ${e.type} ${e.items.map((x) => `${x.action} ${x.instance}`).join(', ')} -> ${e.receiver}${e.lastError ? ` (${e.lastError})` : ''}`);
      if (open.some((e) => e.status === 'uncertain')) err('  settle an uncertain one: look in the channel, then `vigil alerts outbox --retry ID` (send it) or `--drop ID` (it arrived)');
      if (!o.dryRun) process.exitCode = 1;
    }
    if (summary.outcomes.some((x) => x.status === 'error')) process.exitCode = 1;
  } finally {
    await adapter.close();
  }
}

// ---- test

export async function runAlertsTest(o: Common & { select?: string[] }): Promise<void> {
  const { loadProject } = await import('../project/load-project.js');
  const files = loadProject(o.projectDir);
  // alert tests run on the offline engine (an in-memory DuckDB), whatever the default target is
  const { OFFLINE_ENGINE, openAdapter } = await import('../adapters/index.js');
  const base = await setupAlerts(o, { files, target: o.target ?? files.project.default_target ?? Object.keys(files.project.targets)[0] });
  const schema = base.target.schema;
  const testFiles: ProjectFiles = { ...files, project: { ...files.project, targets: { ...files.project.targets, __vigil_alert_tests: { type: OFFLINE_ENGINE, path: ':memory:', schema } } } };
  // (the same queries, for the offline engine: checked for PII above)
  const s = await setupAlerts(o, { files: testFiles, target: '__vigil_alert_tests' }, { pii: false });
  // a selector matching no rule is a mistake, whether or not there are tests
  const selected = o.select?.length ? new Set(selectRules(s.rules, o.select).map((r) => r.rule.name)) : undefined;
  const tests = s.alerts.tests.filter((t) => !selected || selected.has(t.test.alert));
  if (!tests.length) {
    out(`No alert tests found in ${files.paths.alerts}/tests/*.yaml${selected ? ` for ${[...selected].join(', ')}` : ''}.`);
    return;
  }
  const { runAlertTest, givenProblems } = await import('../alerts/alert-tests.js');
  const problems = tests.flatMap((t) => givenProblems(t, s.result.manifest, files.root, (p) => files.readFixture?.(p)));
  if (problems.length) throw new ProjectError(problems);
  const t0 = performance.now();
  let failed = 0;
  for (const [i, t] of tests.entries()) {
    const adapter = await openAdapter(s.target, testFiles.root, 1);
    try {
      const rule = s.rules.find((r) => r.rule.name === t.test.alert)!;
      const r = await runAlertTest(t, rule, s.alerts.routes, s.result.manifest, adapter, (p) => files.readFixture?.(p), files.root);
      out(`${i + 1} of ${tests.length} ${r.ok ? 'PASS' : 'FAIL'} ${t.test.alert}: ${t.test.name}`);
      if (!r.ok) {
        failed++;
        for (const f of r.failures) out(`    ${t.file}:${r.line}: ${f}`);
      }
    } finally {
      await adapter.close();
    }
  }
  out(`\nFinished ${tests.length} alert test${tests.length === 1 ? '' : 's'} in ${((performance.now() - t0) / 1000).toFixed(2)}s: ${tests.length - failed} passed, ${failed} failed`);
  if (failed) process.exitCode = 1;
}

// ---- route-test

export async function runAlertsRouteTest(o: Common & { labels: string[] }): Promise<void> {
  const [{ loadProject }, { loadAlerts }] = await Promise.all([import('../project/load-project.js'), import('../alerts/load-alerts.js')]);
  const files = loadProject(o.projectDir);
  const alerts = loadAlerts(files);
  if (hasErrors(alerts.diagnostics)) throw new ProjectError(alerts.diagnostics);
  if (!alerts.routes) throw new UsageError(`no ${alerts.routesFile}: there is nothing to route to`);
  // each argument one label, read as amtool reads it: the matcher grammar, `=` only (a later one wins)
  const { parseMatchers, parseOneMatcher } = await import('../alerts/matchers.js');
  const labels: Record<string, string> = {};
  for (const l of o.labels ?? []) {
    // read as a matchers string first only to refuse what amtool would read as one value and a
    // person means as two (a bare comma, a closing brace: Vigil is stricter, quote the value)
    const m = parseMatchers(l);
    const eg = `${l.includes(',') ? '; quote a value holding a comma' : ''} (e.g. vigil alerts route-test severity=critical service="web api")`;
    if (typeof m === 'string') throw new UsageError(`${m}${eg}`);
    if (m.length !== 1 || l.trim().startsWith('{')) throw new UsageError(`'${l}': give one label=value per argument, without braces${eg}`);
    // then as amtool reads a label (labels.ParseMatcher): the string's last-piece Unicode trim
    // does not apply (was: `service=x<NBSP>` routed as service=x, `<NBSP>service=x` accepted)
    const one = parseOneMatcher(l);
    if (typeof one === 'string') throw new UsageError(`${one}${eg}`);
    if (one.op !== '=') throw new UsageError(`'${l}': an alert's labels are label=value, not a matcher (${one.op}), as amtool requires`);
    labels[one.name] = one.value;
  }
  const { routeAlert } = await import('../alerts/routing.js');
  const { baseLabels } = await import('../alerts/engine.js');
  const { integrations } = await import('../alerts/evaluate.js');
  const { knownLabelNames, unknownLabelName, unknownLabelValue } = await import('../alerts/label-names.js');
  const rule = alerts.rules.find((r) => r.rule.name === labels.alertname);
  // routed as given (as amtool would), but said: a rule name that is none adds no rule's labels
  const ruleList = alerts.rules.map((r) => r.rule);
  const unknownName = labels.alertname === undefined ? undefined : unknownLabelValue({ name: 'alertname', op: '=', value: labels.alertname }, ruleList);
  if (unknownName) err(`warning: ${unknownName}: routing the labels as given, without a rule's severity and labels`);
  const unknownSeverity = labels.severity === undefined ? undefined : unknownLabelValue({ name: 'severity', op: '=', value: labels.severity }, ruleList);
  if (unknownSeverity) err(`warning: ${unknownSeverity}: routing the labels as given`);
  // a label no rule produces (`severty=critical`): routed as given, as amtool would, but said (was:
  // the root route's receiver printed as the answer, without a word about the misspelt name)
  if (ruleList.length) {
    const known = knownLabelNames(ruleList);
    for (const name of Object.keys(labels)) {
      const unknown = name === 'alertname' ? undefined : unknownLabelName(name, known);
      if (unknown) err(`warning: ${unknown}: routing the labels as given`);
    }
  }
  const all = rule ? { ...baseLabels(rule.rule), ...labels } : labels;
  const routed = routeAlert(alerts.routes, all);
  out(`labels: ${Object.entries(all).map(([k, v]) => `${k}=${v}`).join(' ') || '(none)'}`);
  // Alertmanager's order, one line per matched route (amtool config routes test prints the same receivers)
  for (const r of routed) {
    const rc = alerts.routes.receivers.find((x) => x.name === r.receiver);
    const kinds = (rc ? integrations(rc) : []).map((k) => (k === 'pagerduty' && rc?.pagerduty?.service ? `pagerduty service ${rc.pagerduty.service}` : k));
    out(
      `-> ${r.receiver} (${kinds.join(' + ') || 'no integration: nobody is notified'}) via ${r.path}; group_by ${r.groupBy === '...' ? "['...'] (every label)" : `[${r.groupBy.join(', ')}]`}, group_wait ${formatDuration(r.groupWaitMs)}, group_interval ${formatDuration(r.groupIntervalMs)}, repeat every ${formatDuration(r.repeatMs)}, send_resolved ${rc?.send_resolved ?? true}`,
    );
  }
  out(`receivers: ${routed.map((r) => r.receiver).join(',')}`);
}

// ---- notify-test

export async function runAlertsNotifyTest(o: Common & { receiver: string; deliveryTimeout?: string }): Promise<void> {
  const [{ loadProject }, { loadAlerts }] = await Promise.all([import('../project/load-project.js'), import('../alerts/load-alerts.js')]);
  const files = loadProject(o.projectDir);
  const alerts = loadAlerts(files);
  if (hasErrors(alerts.diagnostics)) throw new ProjectError(alerts.diagnostics);
  const rc = alerts.routes?.receivers.find((r) => r.name === o.receiver);
  if (!rc) throw new UsageError(`receiver '${o.receiver}' is not in ${alerts.routesFile}${alerts.routes ? ` (receivers: ${alerts.routes.receivers.map((r) => r.name).join(', ')})` : ''}`);
  const { resolveIntegration, integrations } = await import('../alerts/evaluate.js');
  const kinds = integrations(rc);
  if (!kinds.length) throw new UsageError(`receiver '${rc.name}' has no integration (pagerduty: or slack:): there is nothing to test`);
  const resolved = kinds.map((k) => resolveIntegration(rc, k, process.env));
  const missing = resolved.find((r): r is string => typeof r === 'string');
  if (missing) throw new UsageError(missing);
  const { pagerDutyEvent, slackMessage } = await import('../alerts/notify.js');
  // (30 s unless given: it holds no state lock, so a short alerts.lock_lease does not refuse a flag never given)
  const ms = o.deliveryTimeout === undefined ? 30_000 : deliveryPolicy(o.deliveryTimeout, files);
  const policy = ms ? { ...DEFAULT_POLICY, deadlineMs: ms } : DEFAULT_POLICY;
  const now = new Date().toISOString();
  const id = randomBytes(4).toString('hex');
  const inst = {
    key: `vigil_notify_test{id="${id}"}`,
    alert: 'vigil_notify_test',
    kind: 'row' as const,
    labels: { alertname: 'vigil_notify_test', severity: 'info', capability: 'notify-test' },
    status: 'firing' as const,
    activeSince: now,
    firedAt: now,
    lastActiveAt: now,
    consecutive: 1,
    values: { delta_percent: 0, window_start: now, window_end: now },
    notified: {},
  };
  const rule = { name: 'vigil_notify_test', severity: 'info' as const, summary: `[TEST] Vigil notification test from ${hostname()} — ignore me`, labels: {}, links: {}, group_by: [], condition: { type: 'sql' as const } } as never;
  const { sendPagerDuty } = await import('../alerts/delivery/pagerduty.js');
  const { sendSlack } = await import('../alerts/delivery/slack.js');
  const { sendSlackBot } = await import('../alerts/delivery/slack-bot.js');
  for (const r of resolved as Exclude<(typeof resolved)[number], string>[]) {
    for (const action of ['trigger', 'resolve'] as const) {
      const it = { inst: { ...inst, status: action === 'trigger' ? ('firing' as const) : ('resolved' as const), resolvedAt: now }, rule, action, groupBy: ['alertname'] };
      const res =
        r.kind === 'pagerduty'
          ? await sendPagerDuty(r.target, pagerDutyEvent(it, `vigil/${files.project.name}@${hostname()}`), policy)
          : r.kind === 'slack-bot'
            ? await sendSlackBot(r.target, slackMessage([it], rc, files.project.name), { id: `${id}-${action}`, since: now, lookFirst: false }, policy)
            : await sendSlack(r.target, slackMessage([it], rc, files.project.name), policy);
      if (res.status !== 'sent') {
        err(`error: ${action} to ${rc.name} (${r.kind}) failed: ${redact(res.error)}`);
        process.exitCode = 1;
        return;
      }
      out(`${action === 'trigger' ? 'sent [TEST] trigger' : 'sent its resolve'} to ${rc.name} (${r.kind}, HTTP ${res.httpStatus}, ${res.attempts} attempt${res.attempts === 1 ? '' : 's'})`);
    }
  }
}

// ---- silences, status, outbox

async function withStore<T>(o: Common, fn: (store: StateStore, s: Setup) => Promise<T>, opts: { existing?: boolean; /** only reads the state (status, the silences' list): a DuckDB file opened read-only, beside a BI tool or a vigil show reading it */ readOnly?: boolean } = {}): Promise<T> {
  const s = await setupAlerts(o, undefined, { tests: false, pii: false, tolerate: true });
  const needsWarehouse = !stateInFile(o, s);
  const adapter = needsWarehouse ? await openWarehouse(s, { readOnly: opts.readOnly }) : undefined;
  try {
    return await fn(await openStore(o, s, adapter, opts), s);
  } finally {
    await adapter?.close();
  }
}

export async function runAlertsSilence(o: Common & { match?: string[]; for?: string; until?: string; comment?: string; author?: string; expire?: string; force?: boolean }): Promise<void> {
  const { parseMatcher, silenceMatchersText } = await import('../alerts/routing.js');
  const { matches } = await import('../alerts/matchers.js');
  // (an unset $ID: was taken for no --expire, and with --match/--for/--comment made a new silence)
  if (o.expire !== undefined && !o.expire.trim()) throw new UsageError('--expire is empty: give the id of a silence (list them with: vigil alerts silences)');
  if (o.expire) {
    // (they were ignored without a word: no new silence made)
    const other = (['match', 'for', 'until', 'comment', 'author', 'force'] as const).filter((k) => (Array.isArray(o[k]) ? o[k]!.length : o[k] !== undefined));
    if (other.length) throw new UsageError(`--expire ends a silence and takes no ${other.map((k) => `--${k}`).join(', ')} (to silence again, run vigil alerts silence --match ... --for ... on its own)`);
    await withStore(o, async (store) => {
      let found: string | undefined;
      let ambiguous: string[] = [];
      await store.update('vigil alerts silence --expire', (doc) => {
        // a whole id, or the start of exactly one (two that start alike: none expired, both named)
        const exact = doc.silences.find((x) => x.id === o.expire);
        const started = doc.silences.filter((x) => x.id.startsWith(o.expire!));
        const sil = exact ?? (started.length === 1 ? started[0] : undefined);
        if (!sil) ambiguous = started.length > 1 ? started.map((x) => x.id) : [];
        else {
          // as Alertmanager: an expired silence stays as it ended (nothing is saved)
          if (Date.parse(sil.endsAt) <= Date.now()) throw new UsageError(`silence ${sil.id} already expired (at ${sil.endsAt})`);
          found = sil.id;
          sil.endsAt = new Date().toISOString();
        }
      });
      if (ambiguous.length) throw new UsageError(`'${o.expire}' starts ${ambiguous.length} silence ids (${ambiguous.join(', ')}): give more of the one to expire; nothing was expired`);
      if (!found) throw new UsageError(`no silence with id '${o.expire}' (list them with: vigil alerts silences)`);
      out(`Expired silence ${found}.`);
    }, { existing: true });
    return;
  }
  if (!o.match?.length) throw new UsageError('--match label=value is required (e.g. --match capability=draft), or --expire <id>');
  if (!o.comment) throw new UsageError('--comment is required: say why, so the next person knows');
  // as Alertmanager, which refuses a silence without createdBy (it was saved with an empty author)
  if (o.author !== undefined && !o.author.trim()) throw new UsageError('--author is empty: give who creates the silence (without --author, your user name)');
  const matchers = o.match.map((m) => {
    const r = parseMatcher(m);
    if (typeof r === 'string') throw new UsageError(`--match ${r}`);
    return r;
  });
  // as Alertmanager: a silence whose every matcher matches the empty string (x=~.*, x="") would
  // mute every alert, those without the label included
  if (matchers.every((m) => matches({ name: m.label, op: m.op, value: m.value }, {}))) throw new UsageError(`--match ${o.match.join(' --match ')} matches every alert (each matcher matches a missing label): at least one must not match the empty string, as in Alertmanager`);
  if (o.until && o.for) throw new UsageError('give --for or --until, not both');
  const start = new Date();
  let end: Date;
  if (o.until) end = timestampFlag('--until', o.until);
  else {
    if (!o.for) throw new UsageError('give --for (a duration like 2h or 30m) or --until (a timestamp)');
    end = new Date(start.getTime() + durationFlag('--for', o.for, { min: 1 }));
  }
  if (end <= start) throw new UsageError('the silence would end before it starts');
  const id = randomBytes(4).toString('hex');
  await withStore(o, async (store, s) => {
    // a label, alertname or severity no rule produces is a typo far more often than a silence made ahead of its rule
    const { unknownMatcherNames } = await import('../alerts/label-names.js');
    const unknown = unknownMatcherNames(
      matchers.map((m) => ({ name: m.label, op: m.op, value: m.value })),
      s.alerts.rules.map((r) => r.rule),
    );
    for (const u of unknown) err(`warning: --match: ${u}`);
    if (unknown.length && !o.force) throw new UsageError(`--match names what no alert rule produces (a typo?): no silence was created; --force creates it anyway`);
    await store.update('vigil alerts silence', (doc) => {
      doc.silences.push({ id, matchers, startsAt: start.toISOString(), endsAt: end.toISOString(), comment: o.comment!, createdBy: o.author ?? safeUser(), createdAt: start.toISOString() });
      // expired silences older than a week are dropped
      doc.silences = doc.silences.filter((x) => Date.parse(x.endsAt) > start.getTime() - 7 * 86_400_000);
    });
  });
  out(`Silence ${id} created: ${silenceMatchersText({ matchers })} until ${end.toISOString()} (${formatDuration(end.getTime() - start.getTime())}) — ${o.comment}`);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export async function runAlertsSilences(o: Common & { all?: boolean }): Promise<void> {
  const { silenceMatchersText } = await import('../alerts/routing.js');
  await withStore(o, async (store) => {
    const doc = await store.read();
    const now = Date.now();
    const list = doc.silences.filter((x) => o.all || Date.parse(x.endsAt) > now);
    if (!list.length) {
      out(o.all ? 'No silences.' : 'No active silences (--all lists expired ones too).');
      return;
    }
    for (const x of list) {
      const state = Date.parse(x.endsAt) <= now ? 'expired' : Date.parse(x.startsAt) > now ? 'pending' : 'active';
      out(`${x.id}  ${state.padEnd(7)}  ${silenceMatchersText(x)}  until ${x.endsAt}  by ${x.createdBy}: ${x.comment}`);
    }
  }, { existing: true, readOnly: true });
}

export async function runAlertsStatus(o: Common): Promise<void> {
  await withStore(o, async (store) => {
    const { describeNotifyKey, outboxNote, undelivered } = await import('../alerts/notify.js');
    const doc = await store.read();
    const inst = Object.values(doc.instances).sort((a, b) => a.key.localeCompare(b.key));
    out(`State in ${store.description}${doc.lock ? ` (locked by ${doc.lock.command} on ${doc.lock.host} until ${doc.lock.until})` : ''}`);
    for (const [name, r] of Object.entries(doc.rules).sort()) out(`  ${name}: ${r.status}${r.error ? ` — ${r.error}` : ''}${r.lastEvaluatedAt ? `, last evaluated ${r.lastEvaluatedAt}` : ''}`);
    out(`${inst.length} instance${inst.length === 1 ? '' : 's'}:`);
    for (const i of inst) {
      // what reached each receiver, and what was queued for it and did not (yet)
      const told: string[] = [];
      const not: string[] = [];
      for (const k of Object.keys(i.notified)) {
        const e = undelivered(i.key, k, doc.outbox);
        const dropped = i.notified[k].dropped;
        if (e) not.push(`${describeNotifyKey(k)}: ${e.status} (${e.id})`);
        else if (dropped && i.notified[k].action === 'trigger') not.push(`${describeNotifyKey(k)}: dropped (${dropped})`);
        else told.push(describeNotifyKey(k));
      }
      out(`  ${i.status.padEnd(8)} ${i.key} since ${i.activeSince}${told.length ? ` notified ${told.join(', ')}` : ''}${not.length ? `${told.length ? ';' : ''} not delivered to ${not.join(', ')}` : ''}`);
    }
    const by = (st: string) => doc.outbox.filter((e) => e.status === st);
    const open = [...by('pending'), ...by('sending'), ...by('uncertain'), ...by('rejected')];
    out(
      `Outbox: ${by('pending').length} pending, ${by('rejected').length} rejected, ${by('sent').length} sent (kept 7 days)${by('uncertain').length ? `, ${by('uncertain').length} uncertain` : ''}${by('sending').length ? `, ${by('sending').length} being sent (or a run died sending it: the next evaluate decides)` : ''}.`,
    );
    for (const e of open) {
      const note = outboxNote(e, doc.outbox);
      out(`  ${e.id} ${e.status} ${e.type} -> ${e.receiver}: ${e.items.map((x) => `${x.action} ${x.instance}`).join(', ')}${note ? ` (${note})` : ''}`);
    }
    const ev = doc.events ?? [];
    if (ev.length) out(`History: ${ev.length} alert event${ev.length === 1 ? '' : 's'} not written to vigil_alert_events yet (the next evaluate writes ${ev.length === 1 ? 'it' : 'them'}), the oldest from ${ev[0].event_at}.`);
  }, { existing: true, readOnly: true });
}

export async function runAlertsOutbox(o: Common & { retry?: string; drop?: string }): Promise<void> {
  // (an unset $ID in a script: it showed the status, exit 0, and nothing was retried or dropped)
  for (const k of ['retry', 'drop'] as const) if (o[k] !== undefined && !o[k]!.trim()) throw new UsageError(`--${k} is empty: give a whole id, or all`);
  if (o.retry && o.drop) throw new UsageError('--retry and --drop together: choose one');
  if (!o.retry && !o.drop) return runAlertsStatus(o);
  await withStore(o, async (store) => {
    const which = (o.retry ?? o.drop)!;
    let n = 0;
    const uncertain: string[] = [];
    let prefixed: string[] = [];
    let quiet: string[] = [];
    let behind: string[] = [];
    const { markDroppedTriggers } = await import('../alerts/notify.js');
    await store.update(`vigil alerts outbox --${o.retry ? 'retry' : 'drop'}`, (doc) => {
      // an id is matched whole: a prefix (a date) would sweep many entries along, uncertain posts
      // included, past the care `all` takes with them
      const hit = (e: (typeof doc.outbox)[number]) => e.status !== 'sent' && (which === 'all' || e.id === which);
      if (which !== 'all') prefixed = doc.outbox.filter((e) => e.status !== 'sent' && e.id !== which && e.id.startsWith(which)).map((e) => e.id);
      if (o.retry) {
        for (const e of doc.outbox) {
          if (!hit(e) || !e.body) continue;
          // an uncertain post may have arrived: resent only when named, after someone looked in
          // the channel — never swept along by `all` (a second post of the same message)
          if (e.status === 'uncertain' && which === 'all') {
            uncertain.push(e.id);
            continue;
          }
          // someone looked in the channel: an uncertain post is sent without looking again
          if (e.status === 'uncertain') e.checked = true;
          e.status = 'pending';
          n++;
        }
      } else {
        const gone = doc.outbox.filter(hit);
        doc.outbox = doc.outbox.filter((e) => !hit(e));
        n = gone.length;
        ({ quiet, behind } = markDroppedTriggers(doc.instances, doc.outbox, gone, new Date()));
      }
    });
    if (uncertain.length) err(`left alone: ${uncertain.length} uncertain notification${uncertain.length === 1 ? '' : 's'} (${uncertain.join(', ')}) may have arrived; look in the channel, then --retry ID (send it again) or --drop ID (it arrived)`);
    if (!n && prefixed.length)
      throw new UsageError(`no unsent outbox entry has the id '${which}'; ${prefixed.length} start with it (${prefixed.slice(0, 5).join(', ')}${prefixed.length > 5 ? ', ...' : ''}): give one whole id, or all`);
    if (!n) throw new UsageError(`no unsent outbox entry matches '${which}'${uncertain.length ? ' that --retry all may resend' : ''} (list them with: vigil alerts status)`);
    out(o.retry ? `${n} notification${n === 1 ? '' : 's'} will be sent by the next vigil alerts evaluate.` : `Dropped ${n} notification${n === 1 ? '' : 's'} from the outbox; they will not be sent.`);
    if (behind.length) out(`${behind.length === 1 ? 'A resolve' : `${behind.length} resolves`} of ${behind.length === 1 ? 'its alert is' : 'their alerts are'} already queued (${behind.join(', ')}) and will be sent: if the receiver never heard of the alert, drop ${behind.length === 1 ? 'it' : 'them'} too (vigil alerts outbox --drop ID).`);
    if (quiet.length) out(`The receiver never heard of ${quiet.length === 1 ? 'this alert' : 'these alerts'}: no resolve will be sent for ${quiet.join(', ')} (a later repeat of the trigger announces ${quiet.length === 1 ? 'it' : 'them'} again).`);
  }, { existing: true });
}

// ---- scheduler

/** The longest wait of run-scheduler before it tries an evaluation that failed again (its rules stay due). */
const RETRY_MAX_MS = 5 * 60_000;
/** The wait before trying a failed scheduled evaluation again, after `previousMs` (0: the first failure): 1 s, 2 s, 4 s ... at most RETRY_MAX_MS. */
export const scheduledRetryMs = (previousMs: number): number => Math.min(RETRY_MAX_MS, previousMs ? previousMs * 2 : 1000);

/** How long a scheduled evaluation waits for the state lock another evaluation holds. */
const SCHEDULED_LOCK_WAIT_MS = 60_000;
/**
 * How long it waits for a DuckDB file another process holds (a `vigil build` from cron, a BI
 * tool, another evaluation), as `vigil serve` does at its start; held longer, the evaluation is
 * skipped or fails, and its rules stay due (run-scheduler tries again, serve at its next tick).
 */
const SCHEDULED_FILE_WAIT_MS = 5000;

/** A scheduled evaluation that found the state held by another evaluation past its wait: nothing was evaluated or sent. */
export class EvaluationSkipped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvaluationSkipped';
  }
}

/**
 * One scheduled evaluation (run-scheduler, and `vigil serve`'s alerts jobs): open the warehouse
 * (per evaluation, so a DuckDB file stays free in between; one another process holds is waited
 * for, up to SCHEDULED_FILE_WAIT_MS or until `signal`), evaluate `rules` with group_wait, deliver,
 * print one line and the problems. Throws when nothing could be evaluated: EvaluationSkipped
 * when another evaluation held the state (the file or the lock) all that time.
 */
export async function evaluateScheduled(
  s: Setup,
  o: Common,
  rules: CompiledRule[],
  opts: { policy: import('../alerts/delivery/types.js').DeliveryPolicy; flushHeld: boolean; command: string; /** the slot of rules on time (by the clock without it, or when the state has evaluated since) */ at?: Date; signal?: AbortSignal; /** added to the line it prints (a late evaluation: the slot it was due for) */ note?: string },
): Promise<EvalSummary & { /** when to look again without a rule due (held groups, silences ending) */ wake: Array<{ until: string }> }> {
  const [{ evaluateAlerts, wakeTimes }, { LockBusyError }] = await Promise.all([import('../alerts/evaluate.js'), import('../alerts/state.js')]);
  const t0 = performance.now();
  // a DuckDB file another process holds is waited for a little (said once)
  let adapter: Adapter;
  try {
    adapter = await openWhenFree(s, warehouseThreads(s), {
      waitMs: SCHEDULED_FILE_WAIT_MS,
      signal: opts.signal,
      busy: (e, _delay, attempt) => {
        if (attempt === 1) err(`${new Date().toISOString()} the warehouse is in use${e.holder ? ` by ${e.holder}` : ''}; waiting for it (up to ${formatDuration(SCHEDULED_FILE_WAIT_MS)})`);
      },
    });
  } catch (e) {
    if (heldByEvaluation(e)) throw new EvaluationSkipped(`another evaluation holds the state (${e.holder}); nothing was evaluated or sent`);
    throw e;
  }
  try {
    const store = await openStore(o, s, adapter);
    let sum: EvalSummary;
    try {
      sum = await evaluateAlerts(
        { rules, allRules: s.rules, knownRules: new Set(s.rules.map((r) => r.rule.name)), routes: s.alerts.routes, adapter, store, files: s.files, sources: Object.values(s.result.manifest.sources), env: process.env, out, err, history: historyOf(s) },
        { at: opts.at ?? new Date(), slot: opts.at !== undefined, dryRun: false, command: opts.command, lockWaitMs: SCHEDULED_LOCK_WAIT_MS, policy: opts.policy, groupWait: true, flushHeld: opts.flushHeld },
      );
    } catch (e) {
      if (e instanceof LockBusyError) throw new EvaluationSkipped(e.message);
      throw e;
    }
    const firing = sum.outcomes.reduce((n, x) => n + x.firing, 0);
    const errors = sum.outcomes.filter((x) => x.status === 'error');
    const what = opts.flushHeld ? 'sent what group_wait / group_interval held' : `evaluated ${rules.map((r) => r.rule.name).join(', ')}${opts.note ? ` (${opts.note})` : ''}: ${firing} firing`;
    out(`${new Date().toISOString()} ${what}: ${sum.queued.length} queued, ${sum.delivery.sent} sent, ${sum.delivery.pending} pending${sum.held.length ? `, ${sum.held.length} held` : ''} [${((performance.now() - t0) / 1000).toFixed(2)}s]`);
    for (const x of sum.held) out(`  held: ${x.instance} -> ${x.receiver} until ${x.until}`);
    for (const e of errors) err(`${new Date().toISOString()} alert ${e.rule} failed: ${e.error} (an error notification was queued)`);
    for (const e of sum.delivery.errors) err(`${new Date().toISOString()} delivery: ${e}`);
    if (sum.unsettled.length) err(`${new Date().toISOString()} ${sum.unsettled.length} notification(s) not settled (${[...new Set(sum.unsettled.map((e) => e.status))].join(', ')}): see vigil alerts status`);
    return { ...sum, wake: wakeTimes(sum) };
  } finally {
    await adapter.close().catch(() => {});
  }
}

/**
 * What a scheduled evaluation left in the state, read without the lock and without a query (a
 * dry run of the flush that sends what group_wait / group_interval held): `due`, something to
 * send now (a held notification whose time came, one to retry); `ready`, a held one whose time
 * came; `held`, those still waiting;
 * `unsettled`, the notifications not delivered yet (as `vigil alerts evaluate` lists them).
 */
export async function peekScheduled(s: Setup, o: Common): Promise<{ due: boolean; ready: boolean; wake: Array<{ until: string }>; unsettled: EvalSummary['unsettled'] }> {
  const { evaluateAlerts, wakeTimes } = await import('../alerts/evaluate.js');
  const adapter = await openWarehouse(s);
  try {
    const store = await openStore(o, s, adapter);
    const quiet = () => {};
    const sum = await evaluateAlerts(
      { rules: [], allRules: s.rules, knownRules: new Set(s.rules.map((r) => r.rule.name)), routes: s.alerts.routes, adapter, store, files: s.files, sources: Object.values(s.result.manifest.sources), env: process.env, out: quiet, err: quiet },
      { at: new Date(), dryRun: true, command: 'peek', groupWait: true, flushHeld: true },
    );
    return { due: sum.queued.length > 0 || sum.unsettled.some((e) => e.status === 'pending' || e.status === 'sending'), ready: sum.queued.length > 0, wake: wakeTimes(sum), unsettled: sum.unsettled };
  } finally {
    await adapter.close().catch(() => {});
  }
}

/** The delivery policy of scheduled evaluations: --delivery-timeout, else the defaults. */
export async function scheduledPolicy(s: Setup, deliveryTimeout: string | undefined): Promise<import('../alerts/delivery/types.js').DeliveryPolicy> {
  const ms = deliveryPolicy(deliveryTimeout, s.files);
  return ms ? { ...DEFAULT_POLICY, deadlineMs: ms } : DEFAULT_POLICY;
}

/** A schedule of alerts (run-scheduler, a serve job) in a project without alert rules is a mistake. */
export function requireRules(s: Pick<Setup, 'rules' | 'files'>): void {
  if (!s.rules.length) throw new UsageError(`no alert rules in ${s.files.paths.alerts}/*.yaml: nothing to schedule (see ${docRef('alerts.md')})`);
}

export async function runAlertsScheduler(o: Common & { select?: string[]; deliveryTimeout?: string }): Promise<void> {
  const s = await setupAlertsForEvaluation(o);
  requireRules(s);
  const rules = selectRules(s.rules, o.select);
  const { Cron } = await import('croner');
  // (daylight saving as serve's jobs follow it: a fixed-time rule runs once, also after a gap)
  const { cronOptions } = await import('../time/schedule.js');
  const policy = await scheduledPolicy(s, o.deliveryTimeout);
  /** the rules due: the slot each has been due since, and how many later slots it missed meanwhile */
  const due = new Map<CompiledRule, { slot: Date; later: number; again?: boolean }>();
  let running: Promise<void> | undefined;
  let stopping = false;
  /** aborted by SIGTERM / SIGINT: an evaluation waiting for the warehouse stops waiting */
  const stopper = new AbortController();
  let flushTimer: NodeJS.Timeout | undefined;
  // an evaluation that failed or was skipped (a DuckDB file another process holds, the state
  // lock another evaluation holds, a server down) leaves its rules due: tried again after 1 s,
  // 2 s, 4 s ... (at most RETRY_MAX_MS apart: a lasting failure, a wrong password, is one line
  // every few minutes, not every minute), or at the next tick, whichever comes first
  let retryTimer: NodeJS.Timeout | undefined;
  let retryMs = 0;
  // notifications held by group_wait / group_interval are sent when they are due, not at the next cron tick
  let heldDue = false;
  let heldTimer: { cancel: () => void } | undefined;
  const { timerAt } = await import('../time/timer.js');
  const wakeForHeld = (held: Array<{ until: string }>) => {
    heldTimer?.cancel();
    if (!held.length || stopping) return;
    // (a group_wait beyond 24.8 days is waited out in steps: a longer timer fired at once, in a loop)
    heldTimer = timerAt(Math.min(...held.map((h) => Date.parse(h.until))) + 50, () => {
      heldDue = true;
      void flush();
    });
  };
  /** `many (due since 2026-...Z, 1 later slot)`: the rules of an evaluation that did not happen */
  const describeDue = (batch: typeof due) =>
    [...batch].map(([r, d]) => `${r.rule.name} (due since ${d.slot.toISOString()}${d.later ? `, ${d.later} later slot${d.later === 1 ? '' : 's'}` : ''})`).join(', ');

  const flush = async () => {
    if (running || (!due.size && !heldDue) || stopping) return;
    clearTimeout(retryTimer);
    retryTimer = undefined;
    const batch = new Map(due);
    const flushHeld = !batch.size;
    const heldWasDue = heldDue;
    due.clear();
    heldDue = false;
    let failed = false;
    // rules an earlier evaluation left due: the line says which slot they were due for
    const late = [...batch].filter(([, d]) => d.again || d.later);
    const note = late.length ? `${late.length < batch.size ? `${late.map(([r]) => r.rule.name).join(', ')}: ` : ''}due since ${new Date(Math.min(...late.map(([, d]) => d.slot.getTime()))).toISOString()}${late.some(([, d]) => d.later) ? `, ${Math.max(...late.map(([, d]) => d.later))} later slot(s) with it` : ''}` : undefined;
    // on time, the rules are evaluated at their slot, as Prometheus evaluates a group at its
    // interval's timestamps rather than when its timer fired: `for: 15m` on a 5-minute schedule
    // fires at the fourth evaluation, not at the fifth when the first one started a few hundred ms
    // later after its slot than the fourth did; a late one (left due, or ticks folded in) by the clock
    const at = batch.size && !late.length ? new Date(Math.max(...[...batch.values()].map((d) => d.slot.getTime()))) : undefined;
    running = (async () => {
      try {
        // a wake with no rule due (a held group's time, a silenced alert looked at again): a run
        // only when something is due; else quietly the next wake
        if (flushHeld) {
          const look = await peekScheduled(s, o).catch(() => undefined);
          if (look && !look.due) {
            wakeForHeld(look.wake);
            return;
          }
        }
        const sum = await evaluateScheduled(s, o, [...batch.keys()], { policy, flushHeld, command: 'vigil alerts run-scheduler', signal: stopper.signal, note, at });
        retryMs = 0;
        // what this run held is not all that is held: another rule's notification may wait too
        // (waking only for this run's dropped the earlier rule's wake-up)
        const peek = await peekScheduled(s, o).catch(() => undefined);
        // (one whose time came while this run ran is sent now, below: not waited for)
        if (peek?.ready) heldDue = true;
        wakeForHeld(peek?.wake ?? sum.wake);
      } catch (e) {
        failed = true;
        // nothing was evaluated: its rules stay due, each for the slot it was due at (a tick of it
        // meanwhile makes it one evaluation still, not two)
        for (const [r, d] of batch) {
          const since = due.get(r);
          due.set(r, { slot: d.slot, later: d.later + (since ? 1 + since.later : 0), again: true });
        }
        if (flushHeld || heldWasDue) heldDue = true;
        const what = e instanceof EvaluationSkipped ? `skipped: ${e.message}` : `evaluation failed: ${redact((e as Error).message)}`;
        const left = batch.size ? describeDue(batch) : 'what group_wait / group_interval held';
        if (stopping) err(`${new Date().toISOString()} ${what}; not evaluated before stopping: ${left}`);
        else {
          retryMs = scheduledRetryMs(retryMs);
          err(`${new Date().toISOString()} ${what} (the scheduler keeps running); still due: ${left} — trying again in ${retryMs / 1000}s`);
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            void flush();
          }, retryMs);
        }
      } finally {
        running = undefined;
        // (after a failure: at the retry, or at a tick before it)
        if (!failed && (due.size || heldDue) && !stopping) void flush();
      }
    })();
    await running;
  };

  const jobs = rules.map(
    (r) =>
      new Cron(r.rule.schedule.cron, { timezone: r.rule.schedule.timezone, protect: true, ...cronOptions(r.rule.schedule.cron) }, (self: InstanceType<typeof Cron>) => {
        const since = due.get(r);
        if (since) since.later++;
        else due.set(r, { slot: self.previousRuns(1, new Date(Date.now() + 1))[0] ?? new Date(), later: 0 }); // (the slot, not the moment the timer fired)
        // alerts due in the same minute are evaluated together, in one lock
        clearTimeout(flushTimer);
        flushTimer = setTimeout(() => void flush(), 200);
      }),
  );
  // (listening before it says it started: a SIGTERM from then on, while the state is read too, stops it cleanly)
  const stopped = new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      out(`${sig}: stopping${running ? ' after the evaluation in progress' : ''}...`);
      for (const j of jobs) j.stop();
      stopper.abort();
      clearTimeout(flushTimer);
      clearTimeout(retryTimer);
      heldTimer?.cancel();
      void (running ?? Promise.resolve()).then(() => resolve());
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  out(`Scheduler started for ${rules.length} alert${rules.length === 1 ? '' : 's'} (Ctrl-C or SIGTERM stops it):`);
  for (const [i, r] of rules.entries()) out(`  ${r.rule.name}: "${r.rule.schedule.cron}" ${r.rule.schedule.timezone}, next ${jobs[i].nextRun()?.toISOString() ?? 'never'}`);
  // notifications an earlier scheduler held (group_wait / group_interval) or left to retry: sent
  // when due, not at the next cron tick of their rule (a year away for a yearly rule); the state
  // lock keeps them from going out twice (as `vigil serve` does at its start)
  try {
    const peek = await peekScheduled(s, o);
    if (peek.due) {
      heldDue = true;
      void flush();
    } else wakeForHeld(peek.wake);
  } catch (e) {
    err(`${new Date().toISOString()} could not read the alert state at start (${redact((e as Error).message.split('\n')[0])}); the next evaluation sends what is due`);
  }

  await stopped;
  out('Scheduler stopped.');
}

// ---- import-alertmanager

export async function runAlertsImport(o: { projectDir: string; file: string; out?: string; force?: boolean; allowPartial?: boolean }): Promise<void> {
  const { existsSync, readFileSync, statSync } = await import('node:fs');
  const src = resolve(process.cwd(), o.file);
  const st = statSync(src, { throwIfNoEntry: false });
  if (!st) throw new UsageError(`${o.file}: no such file`);
  if (st.isDirectory()) throw new UsageError(`${o.file}: that is a folder: give the alertmanager.yml file`);
  const { importAlertmanager } = await import('../alerts/import-alertmanager.js');
  const r = importAlertmanager(readFileSync(src, 'utf8'));
  if (typeof r === 'string') throw new UsageError(`${o.file}: ${r}`);
  // what comes out must load: the same checks as alerts/routes.yaml
  const { parseRoutes } = await import('../alerts/load-alerts.js');
  const check = parseRoutes(r.text, 'the converted routes.yaml');
  if (hasErrors(check.diagnostics)) {
    out(r.text);
    for (const d of check.diagnostics) err(formatDiagnostic(d));
    throw new UsageError(`${o.file} converts into a routes.yaml Vigil refuses (above, with the converted text and its line numbers); fix it in ${o.file} or in the converted file`);
  }
  // a routes.yaml that sends less than Alertmanager sent is not written (nor is the command a
  // success) unless that is what is asked
  const partial = r.lost.length > 0 && !o.allowPartial;
  if (o.out && partial) {
    for (const n of r.lost) err(`not converted: ${n}`);
    throw new UsageError(`${o.file}: ${r.lost.length} of its deliveries would be lost (above); nothing was written. Make those receivers PagerDuty or Slack ones, or pass --allow-partial to write it as it is`);
  }
  if (o.out) {
    const dest = resolve(process.cwd(), o.out);
    // (a folder: was "exists: pass --force", and with --force "cannot write ...: EISDIR")
    if (statSync(dest, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--out ${o.out}: that is a folder: give the file to write (e.g. --out ${join(o.out, 'routes.yaml')})`);
    if (existsSync(dest) && !o.force) throw new UsageError(`${o.out} exists: pass --force to overwrite it, or --out another file`);
    try {
      writeProjectFile(dest, r.text);
    } catch (e) {
      throw new UsageError(`cannot write ${o.out}: ${(e as Error).message}`);
    }
    out(`wrote ${o.out}: ${check.routes!.receivers.length} receivers`);
  } else out(r.text);
  for (const e of r.env) err(`set ${e.name}: ${e.what}`);
  for (const n of r.notConverted) err(`not converted: ${n}`);
  if (partial) {
    err(`error: ${r.lost.length} of its deliveries would be lost (the lines about integrations and configs above); pass --allow-partial to accept that`);
    process.exitCode = 1;
  }
}
