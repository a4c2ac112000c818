/**
 * Read alerts/*.yaml, alerts/routes.yaml and alerts/tests/*.yaml, validate them (zod,
 * errors at file:line:col) and check what can be checked without a warehouse: cron
 * expressions, time zones, active hours, duplicate names, receivers named by routes, the
 * columns a condition reads when the alert reads a documented model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import nunjucks from 'nunjucks';
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import { listFiles, type ProjectFiles } from '../project/load-project.js';
import { parseYaml, validateYaml, type YamlSource } from '../project/yaml-source.js';
import { AlertFileSchema, AlertTestFileSchema, RoutesFileSchema, type AlertRule, type AlertTest, type RouteIn, type RoutesFile } from './schema.js';
import { parseActiveHours, type ActiveHours } from './time.js';

export interface LoadedRule {
  rule: AlertRule;
  file: string;
  yaml: YamlSource;
  /** Path of the rule inside the file (['alerts', i]). */
  path: (string | number)[];
  /** The templated SQL to compile, and where it starts in the file. */
  queryText?: string;
  queryAt: { line: number; column: number; indent?: number };
  activeHours?: ActiveHours;
}

export interface LoadedTest {
  test: AlertTest;
  file: string;
  yaml: YamlSource;
  path: (string | number)[];
}

export interface AlertProject {
  rules: LoadedRule[];
  routes?: RoutesFile;
  routesYaml?: YamlSource;
  routesFile: string;
  tests: LoadedTest[];
  diagnostics: Diagnostic[];
}

export function loadAlerts(files: ProjectFiles, opts: { tests?: boolean } = {}): AlertProject {
  const ds: Diagnostic[] = [];
  const dir = files.paths.alerts;
  const routesFile = `${dir}/routes.yaml`;
  const rules: LoadedRule[] = [];
  const byName = new Map<string, LoadedRule>();
  const models = modelColumns(files);

  for (const path of listFiles(files.root, dir, /\.ya?ml$/)) {
    if (path.startsWith(`${dir}/tests/`) || /\/routes\.ya?ml$/.test(path)) continue;
    const text = readFileSync(join(files.root, path), 'utf8');
    const y = parseYaml(text, path, ds);
    if (!y || y.value == null) continue;
    const data = validateYaml(y, AlertFileSchema, ds);
    if (!data) continue;
    data.alerts.forEach((rule, i) => {
      const at = (...p: (string | number)[]) => ({ file: path, ...y.locate(['alerts', i, ...p]) });
      const prev = byName.get(rule.name);
      if (prev) {
        ds.push(diag('E_ALERT', `alert '${rule.name}' is defined twice (also in ${prev.file}:${prev.yaml.locate(prev.path).line})`, at('name'), 'alert names must be unique: they are the key of the alert state'));
        return;
      }
      const lr: LoadedRule = { rule, file: path, yaml: y, path: ['alerts', i], queryAt: { line: 1, column: 1 } };
      checkRule(lr, text, at, models, ds);
      byName.set(rule.name, lr);
      rules.push(lr);
    });
  }

  let routes: RoutesFile | undefined;
  let routesYaml: YamlSource | undefined;
  const routesPath = [routesFile, `${dir}/routes.yml`].find((p) => existsSync(join(files.root, p)));
  if (routesPath) {
    routesYaml = parseYaml(readFileSync(join(files.root, routesPath), 'utf8'), routesPath, ds);
    if (routesYaml) routes = validateYaml(routesYaml, RoutesFileSchema, ds);
    if (routes && routesYaml) checkRoutes(routes, routesYaml, ds);
  }

  const tests: LoadedTest[] = [];
  for (const path of opts.tests === false ? [] : listFiles(files.root, `${dir}/tests`, /\.ya?ml$/)) {
    const y = parseYaml(readFileSync(join(files.root, path), 'utf8'), path, ds);
    if (!y || y.value == null) continue;
    const data = validateYaml(y, AlertTestFileSchema, ds);
    if (!data) continue;
    data.tests.forEach((test, i) => {
      if (!byName.has(test.alert)) {
        const hint = didYouMean(test.alert, byName.keys());
        ds.push(diag('E_ALERT_TEST', `test '${test.name}': alert '${test.alert}' not found${hint ? ` — did you mean '${hint}'?` : ''}`, { file: path, ...y.locate(['tests', i, 'alert']) }));
        return;
      }
      tests.push({ test, file: path, yaml: y, path: ['tests', i] });
    });
  }
  return { rules, routes, routesYaml, routesFile: routesPath ?? routesFile, tests, diagnostics: ds };
}

function modelColumns(files: ProjectFiles): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of files.properties) for (const model of p.data.models ?? []) if (model.columns?.length) m.set(model.name, model.columns.map((c) => c.name));
  return m;
}

function checkRule(lr: LoadedRule, text: string, at: (...p: (string | number)[]) => { file: string; line: number; column: number }, models: Map<string, string[]>, ds: Diagnostic[]): void {
  const { rule, yaml } = lr;
  const c = rule.condition;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: rule.schedule.timezone });
  } catch {
    ds.push(diag('E_ALERT', `alert '${rule.name}': schedule time zone '${rule.schedule.timezone}' is unknown`, at('schedule'), 'use an IANA name like UTC or America/Los_Angeles'));
  }
  for (const key of ['summary', 'details', 'description'] as const) {
    const t = rule[key];
    if (t) checkTemplate(t, `${key}`, rule.name, at(key), ds);
  }
  for (const [k, t] of Object.entries(rule.links)) checkTemplate(t, `links.${k}`, rule.name, at('links', k), ds);
  try {
    new Cron(rule.schedule.cron, { timezone: rule.schedule.timezone, paused: true });
  } catch (e) {
    ds.push(diag('E_ALERT', `alert '${rule.name}': schedule '${rule.schedule.cron}' (${rule.schedule.timezone}) is not valid: ${(e as Error).message}`, at('schedule'), 'a five-field cron like "*/15 * * * *", and an IANA time zone'));
  }
  if (rule.active_hours) {
    const h = parseActiveHours(rule.active_hours);
    if (typeof h === 'string') ds.push(diag('E_ALERT', `alert '${rule.name}': active_hours ${h}`, at('active_hours')));
    else lr.activeHours = h;
  }
  const sync = c.type === 'freshness' && c.sync;
  const sources = [rule.query ? 'query' : '', rule.model ? 'model' : '', sync ? 'condition.sync' : ''].filter(Boolean);
  if (sources.length !== 1) {
    ds.push(diag('E_ALERT', `alert '${rule.name}': needs exactly one of query:, model: or a freshness condition with sync: true${sources.length ? ` (has ${sources.join(' and ')})` : ''}`, at(rule.query ? 'query' : 'name')));
    return;
  }
  if (rule.where && !rule.model) ds.push(diag('E_ALERT', `alert '${rule.name}': where: filters a model: only goes with model:`, at('where'), 'put the filter inside query: instead'));
  if (c.type === 'anomaly' && !!c.baseline === !!c.days) ds.push(diag('E_ALERT', `alert '${rule.name}': an anomaly condition needs either baseline: (a column) or days: (a rolling median computed over the rows)`, at('condition')));
  if (c.type === 'anomaly' && c.days && !rule.time) ds.push(diag('E_ALERT', `alert '${rule.name}': condition.days needs time: (the column that orders the rows)`, at('condition', 'days')));
  if (c.type === 'freshness' && !!c.column === !!c.sync) ds.push(diag('E_ALERT', `alert '${rule.name}': a freshness condition needs either column: or sync: true`, at('condition')));
  if (rule.query) {
    const pos = yaml.locate([...lr.path, 'query']);
    // a block scalar (query: |) starts on the next line, indented
    const node = yaml.doc.getIn([...lr.path, 'query'], true) as { type?: string } | undefined;
    const block = node?.type === 'BLOCK_LITERAL' || node?.type === 'BLOCK_FOLDED';
    const indent = block ? (/^( *)\S/m.exec(text.split('\n').slice(pos.line).join('\n'))?.[1].length ?? 0) : 0;
    lr.queryAt = block ? { line: pos.line + 1, column: indent + 1, indent } : pos;
    lr.queryText = rule.query;
  } else if (rule.model) {
    const cols = models.get(rule.model);
    if (cols) {
      const used: Array<[string, (string | number)[]]> = [];
      for (const [k, v] of Object.entries(c)) if (['column', 'value', 'baseline'].includes(k) && typeof v === 'string') used.push([v, ['condition', k]]);
      rule.group_by.forEach((g, i) => used.push([g, ['group_by', i]]));
      if (rule.time) used.push([rule.time, ['time']]);
      for (const [col, p] of used) {
        if (!cols.includes(col)) {
          const hint = didYouMean(col, cols);
          ds.push(diag('E_ALERT', `alert '${rule.name}': column '${col}' not in ${rule.model}${hint ? ` — did you mean '${hint}'?` : ''}`, at(...p), hint ? undefined : `columns: ${cols.join(', ')}`));
        }
      }
    }
    lr.queryText = `select * from {{ ref('${rule.model}') }}${rule.where ? `\nwhere ${rule.where}` : ''}`;
    lr.queryAt = yaml.locate([...lr.path, rule.where ? 'where' : 'model']);
  }
}

const templates = new nunjucks.Environment(null, { autoescape: false });

/** Summary, details and links are nunjucks templates: a syntax error is reported here, not in a page. */
function checkTemplate(text: string, what: string, rule: string, loc: { file: string; line: number; column: number }, ds: Diagnostic[]): void {
  try {
    // parse now (eagerly: the 4th argument, missing from the typings), render at evaluation
    (nunjucks.compile as unknown as (src: string, env: nunjucks.Environment, path?: string, eager?: boolean) => unknown)(text, templates, undefined, true);
  } catch (e) {
    const msg = (e as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? String(e);
    ds.push(diag('E_ALERT', `alert '${rule}': ${what} is not a valid template: ${msg}`, loc, 'templates use {{ column }}, filters like {{ x | round(1) }}'));
  }
}

function checkRoutes(routes: RoutesFile, y: YamlSource, ds: Diagnostic[]): void {
  const names = new Set<string>();
  routes.receivers.forEach((r, i) => {
    if (names.has(r.name)) ds.push(diag('E_ROUTES', `receiver '${r.name}' is defined twice`, { file: y.file, ...y.locate(['receivers', i, 'name']) }));
    names.add(r.name);
  });
  if (!routes.route.receiver) ds.push(diag('E_ROUTES', 'the root route needs a receiver: (the default for alerts no child route matches)', { file: y.file, ...y.locate(['route']) }));
  const walk = (r: RouteIn, path: (string | number)[]) => {
    if (r.receiver && !names.has(r.receiver)) {
      const hint = didYouMean(r.receiver, names);
      ds.push(diag('E_ROUTES', `receiver '${r.receiver}' is not defined${hint ? ` — did you mean '${hint}'?` : ''}`, { file: y.file, ...y.locate([...path, 'receiver']) }, hint ? undefined : `receivers: ${[...names].join(', ')}`));
    }
    r.routes?.forEach((c, i) => walk(c, [...path, 'routes', i]));
  };
  walk(routes.route, ['route']);
}
