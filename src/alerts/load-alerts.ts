/**
 * Read alerts/*.yaml, alerts/routes.yaml and alerts/tests/*.yaml, validate them (zod,
 * errors at file:line:col) and check what can be checked without a warehouse: cron
 * expressions, time zones, active hours, duplicate names, receivers named by routes, the
 * columns a condition reads when the alert reads a documented model.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import { listFiles, readProjectText, type ProjectFiles } from '../project/load-project.js';
import { parseYaml, validateYaml, withMergeKeys, type YamlSource } from '../project/yaml-source.js';
import { AlertFileSchema, AlertTestFileSchema, RoutesFileSchema, type AlertRule, type AlertTest, type MatchersIn, type RouteIn, type RoutesFile } from './schema.js';
import { columnKinds, compileTemplate, groupColumns, messageTemplates, otherTemplateTags, placeTemplate, readsSyncState, templateProblems, unknownFilters } from './engine.js';
import { SYNC_STATE_COLUMN_NAMES, SYNC_STATE_COLUMNS } from './sync-state.js';
import { cronProblem, timezoneHint, timezoneProblem } from '../time/schedule.js';
import { parseActiveHours, type ActiveHours } from './time.js';
import { durationMs } from '../time/duration.js';
import { parseTimestamp } from '../time/timestamp.js';
import { fromMaps, parseMatchers, regexProblem } from './matchers.js';
import { knownLabelNames, unknownLabelName, unknownRouteMatcher } from './label-names.js';
import { compileInterval } from './time-intervals.js';
import { PII_QUERY_HINT, type PiiQuery } from '../check/pii-lineage.js';
import { docRef } from '../install.js';

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
  /** The columns of its rows, when known before its query runs (a documented model, the sync state rows). */
  columns?: string[];
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

/**
 * `tolerate` (evaluate, run-scheduler, serve): a label routes.yaml names that no rule produces is
 * a warning, not an error that would stop every evaluation (a rule renamed must not silence the
 * paging path); an inhibit rule whose `equal:` names one is left out (it would mute every target).
 * `vigil alerts check` and `alerts test` keep them errors.
 */
export function loadAlerts(files: ProjectFiles, opts: { tests?: boolean; tolerate?: boolean } = {}): AlertProject {
  const ds: Diagnostic[] = [];
  const dir = files.paths.alerts;
  const routesFile = `${dir}/routes.yaml`;
  const rules: LoadedRule[] = [];
  const byName = new Map<string, LoadedRule>();
  const models = modelColumns(files);

  for (const path of listFiles(files.root, dir, /\.ya?ml$/)) {
    if (path.startsWith(`${dir}/tests/`) || /\/routes\.ya?ml$/.test(path)) continue;
    const text = readProjectText(join(files.root, path));
    const y = parseYaml(text, path, ds);
    if (!y || y.value == null) continue;
    const data = validateYaml(y, AlertFileSchema, ds);
    if (!data) continue;
    data.alerts.forEach((own, i) => {
      // the file's defaults, under what the rule says itself
      const d = data.defaults ?? {};
      const rule = { ...own, fields: own.fields ?? d.fields, pagerduty: d.pagerduty || own.pagerduty ? { ...d.pagerduty, ...own.pagerduty } : undefined };
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
  // (a rule that did not load leaves its labels unknown: the routes' labels are judged once the
  // rules load; a project without rules yet has nothing to judge them by: route-test, as amtool, routes any labels)
  const rulesLoaded = rules.length > 0 && !ds.some((d) => d.severity === 'error');
  if (routesPath) {
    const r = parseRoutes(readProjectText(join(files.root, routesPath)), routesPath);
    ds.push(...r.diagnostics);
    routes = r.routes;
    routesYaml = r.yaml;
    if (routes && r.yaml && rulesLoaded) {
      const found: Diagnostic[] = [];
      const muting = checkRouteLabels(routes, r.yaml, rules.map((x) => x.rule), found);
      if (!opts.tolerate) {
        ds.push(...found);
        if (found.length) routes = undefined;
      } else {
        ds.push(...found.map((d) => ({ ...d, severity: 'warn' as const, message: `${d.message}${muting.said.has(d) ? ' (this inhibit rule is left out until fixed: it would mute every target)' : ''}` })));
        if (muting.rules.size) routes = { ...routes, inhibit_rules: routes.inhibit_rules.filter((_, i) => !muting.rules.has(i)) };
      }
    }
  }

  const tests: LoadedTest[] = [];
  for (const path of opts.tests === false ? [] : listFiles(files.root, `${dir}/tests`, /\.ya?ml$/)) {
    const y = parseYaml(readProjectText(join(files.root, path)), path, ds);
    if (!y || y.value == null) continue;
    const data = validateYaml(y, AlertTestFileSchema, ds);
    if (!data) continue;
    data.tests.forEach((test, i) => {
      if (!byName.has(test.alert)) {
        const hint = didYouMean(test.alert, byName.keys());
        ds.push(diag('E_ALERT_TEST', `test '${test.name}': alert '${test.alert}' not found${hint ? ` — did you mean '${hint}'?` : ''}`, { file: path, ...y.locate(['tests', i, 'alert']) }));
        return;
      }
      // the state goes forward only, as `evaluate --at` before the last evaluation is refused: an
      // evaluation before the one above it (a mistyped date) would judge a history that cannot happen
      test.evaluations.forEach((ev, k) => {
        const prev = k ? parseTimestamp('at', test.evaluations[k - 1].at) : undefined;
        const at = parseTimestamp('at', ev.at);
        if (prev instanceof Date && at instanceof Date && at.getTime() < prev.getTime())
          ds.push(diag('E_ALERT_TEST', `test '${test.name}': evaluations[${k}] at ${ev.at} is before evaluations[${k - 1}] at ${test.evaluations[k - 1].at}: the evaluations of a test go forward in time, as the state does`, { file: path, ...y.locate(['tests', i, 'evaluations', k, 'at']) }));
      });
      // a notification expected at a receiver routes.yaml does not have can never be queued: the
      // test failed as a mismatch (exit 1), the misspelt name among the queued ones
      if (routes) {
        const receivers = routes.receivers.map((r) => r.name);
        test.evaluations.forEach((ev, k) =>
          (ev.notifications ?? []).forEach((n, j) => {
            if (n.receiver === undefined || receivers.includes(n.receiver)) return;
            const hint = didYouMean(n.receiver, receivers);
            ds.push(diag('E_ALERT_TEST', `test '${test.name}': receiver '${n.receiver}' is not in ${routesPath}${hint ? ` — did you mean '${hint}'?` : ''}`, { file: path, ...y.locate(['tests', i, 'evaluations', k, 'notifications', j, 'receiver']) }, `receivers: ${receivers.join(', ')}`));
          }),
        );
      }
      // a test that checks nothing passes whatever the rule does (promtool reads a test without
      // exp_alerts as "no alert": here, expect: [] says it)
      if (!test.evaluations.some((ev) => ev.expect !== undefined || ev.notifications !== undefined)) {
        ds.push(diag('E_ALERT_TEST', `test '${test.name}': none of its evaluations has expect: or notifications:, so it checks nothing and would pass whatever the rule does`, { file: path, ...y.locate(['tests', i, 'name']) }, 'give the last evaluation expect: (the instances not inactive; expect: [] for none) or notifications: (notifications: [] for none)'));
        return;
      }
      tests.push({ test, file: path, yaml: y, path: ['tests', i] });
    });
  }
  return { rules, routes, routesYaml, routesFile: routesPath ?? routesFile, tests, diagnostics: ds };
}

/**
 * The rules' compiled queries for the PII check (check/pii-lineage.ts): every column of an
 * alert's rows reaches its notifications (PagerDuty's custom_details holds the whole row, labels
 * and templates read columns) and the alert state, so one carrying live PII is an error at the
 * line of the query that names it (else the query's first).
 */
export function alertPiiQueries(rules: Array<Pick<LoadedRule, 'rule' | 'file' | 'queryText' | 'queryAt'>>, compiled: Record<string, { sql: string; depends_on: string[] }>): PiiQuery[] {
  return rules.flatMap((r) => {
    const q = compiled[r.rule.name];
    if (!q || !r.rule.enabled) return [];
    const lines = (r.queryText ?? '').split('\n');
    const where = (column: string | undefined) => {
      const name = column?.replace(/[^A-Za-z0-9_]/g, '');
      const re = name ? new RegExp(`\\b${name}\\b`, 'i') : undefined;
      const i = re ? lines.findIndex((l) => re.test(l)) : -1;
      if (i < 0) return { file: r.file, line: r.queryAt.line, column: r.queryAt.column };
      return { file: r.file, line: r.queryAt.line + i, column: (i === 0 ? r.queryAt.column : (r.queryAt.indent ?? 0) + 1) + lines[i].search(re!) };
    };
    return [{ id: `alert.${r.rule.name}`, sql: q.sql, depends_on: q.depends_on, checked: { what: `alert '${r.rule.name}'`, where, hint: PII_QUERY_HINT } }];
  });
}

function modelColumns(files: ProjectFiles): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of files.properties) for (const model of p.data.models ?? []) if (model.columns?.length) m.set(model.name, model.columns.map((c) => c.name));
  return m;
}

function checkRule(lr: LoadedRule, text: string, at: (...p: (string | number)[]) => { file: string; line: number; column: number }, models: Map<string, string[]>, ds: Diagnostic[]): void {
  const { rule, yaml } = lr;
  const c = rule.condition;
  if (timezoneProblem(rule.schedule.timezone)) {
    const hint = timezoneHint(rule.schedule.timezone);
    ds.push(diag('E_ALERT', `alert '${rule.name}': schedule time zone '${rule.schedule.timezone}' is unknown${hint ? ` — did you mean '${hint}'?` : ''}`, at('schedule'), hint ? undefined : 'use an IANA name like UTC or America/Los_Angeles'));
  }
  for (const t of messageTemplates(rule)) {
    const loc = at(...t.path);
    checkTemplate(t.text, t.where, rule.name, loc, ds);
    placeTemplate(rule, t.text, `${loc.file}:${loc.line}`);
  }
  // the row's columns, where known before the query runs (else `alerts check --warehouse` asks the query)
  lr.columns = readsSyncState(rule) ? [...SYNC_STATE_COLUMN_NAMES, ...(c.type === 'freshness' && c.source_freshness ? ['source_error_after_seconds'] : [])] : rule.model && !rule.query ? models.get(rule.model) : undefined;
  checkTemplateNames(lr, lr.columns, ds);
  // checked as vigil serve's schedules are (a cron that never fires, 0 9 31 2 *, is an error too)
  const cron = timezoneProblem(rule.schedule.timezone) ? undefined : cronProblem(rule.schedule.cron, rule.schedule.timezone);
  if (cron) {
    const why = cron.replace(`cron '${rule.schedule.cron}'`, 'it').replace(/^it: /, '');
    ds.push(diag('E_ALERT', `alert '${rule.name}': schedule '${rule.schedule.cron}' (${rule.schedule.timezone}) is not valid: ${why}`, at('schedule'), 'a five-field cron like "*/15 * * * *", and an IANA time zone'));
  }
  if (rule.active_hours) {
    const h = parseActiveHours(rule.active_hours);
    if (typeof h === 'string') ds.push(diag('E_ALERT', `alert '${rule.name}': active_hours ${h}`, at('active_hours')));
    else lr.activeHours = h;
  }
  const shorthand = c.type === 'freshness' && !!c.sync;
  const sources = [rule.query ? 'query' : '', rule.model ? 'model' : '', rule.sync_state ? 'sync_state' : '', shorthand ? 'condition.sync' : ''].filter(Boolean);
  if (sources.length !== 1) {
    const both = rule.sync_state && shorthand;
    ds.push(
      diag(
        'E_ALERT',
        `alert '${rule.name}': needs exactly one of query:, model:, sync_state: true or a freshness condition with sync: true${sources.length ? ` (has ${sources.join(' and ')})` : ''}`,
        at(...(rule.query ? ['query'] : rule.model ? ['model'] : rule.sync_state ? ['sync_state'] : ['name'])),
        both ? 'condition.sync: true already reads the sync state: remove sync_state:, or write column: last_synced_at instead of sync: true' : undefined,
      ),
    );
    return;
  }
  // alertname and severity are the rule's: a label or a group_by column of that name would
  // replace them (routing, silences and PagerDuty's severity read the label)
  for (const k of ['alertname', 'severity'] as const) {
    const set = k === 'alertname' ? `name: (${rule.name})` : `severity: (${rule.severity})`;
    if (rule.labels && k in rule.labels) ds.push(diag('E_ALERT', `alert '${rule.name}': labels.${k} would replace the ${k} the rule's ${set} gives`, at('labels', k), k === 'severity' ? 'set severity: instead' : 'the rule name is the alertname'));
    const gi = rule.group_by.indexOf(k);
    if (gi >= 0) ds.push(diag('E_ALERT', `alert '${rule.name}': group_by '${k}' would replace the ${k} the rule's ${set} gives with a column's values`, at('group_by', gi), `rename the column in the query (e.g. select ${k} as source_${k})`));
  }
  // a label the instances' own would replace (a group_by column's values; vigil_state, the error and
  // nodata instances'), or written as a template (Prometheus templates label values, Vigil does
  // not): accepted, it would have no effect, or be the literal '{{ ... }}'
  const groups = groupColumns(rule);
  for (const [k, v] of Object.entries(rule.labels ?? {})) {
    if (groups.includes(k)) ds.push(diag('E_ALERT', `alert '${rule.name}': labels.${k} would be replaced by the values of the instance column '${k}' (each instance's own)`, at('labels', k), `remove it from labels:, or rename the column in the query`));
    else if (k === 'vigil_state') ds.push(diag('E_ALERT', `alert '${rule.name}': labels.vigil_state is Vigil's: its error and nodata instances carry it (vigil_state="error", "nodata")`, at('labels', k), 'choose another label name'));
    if (/\{\{|\{%/.test(v)) ds.push(diag('E_ALERT', `alert '${rule.name}': labels.${k} is a template ('${v}'): label values are not templated (they make the instance), so it would be that text as written`, at('labels', k), 'put the column in group_by: to label each instance with its value, and read it in summary: or fields:'));
  }
  if (durationMs(rule.timeout) <= 0) ds.push(diag('E_ALERT', `alert '${rule.name}': timeout ${rule.timeout} would stop every evaluation at once: it must be more than 0s`, at('timeout')));
  if (rule.where && !rule.model) ds.push(diag('E_ALERT', `alert '${rule.name}': where: filters a model: only goes with model:`, at('where'), 'put the filter inside query: instead'));
  if (c.type === 'anomaly' && !!c.baseline === !!c.days) ds.push(diag('E_ALERT', `alert '${rule.name}': an anomaly condition needs either baseline: (a column) or days: (a rolling median computed over the rows)`, at('condition')));
  if (c.type === 'anomaly' && c.days && !rule.time) ds.push(diag('E_ALERT', `alert '${rule.name}': condition.days needs time: (the column that orders the rows)`, at('condition', 'days')));
  if (c.type === 'zscore' && !!c.zscore === !!(c.value || c.days))
    ds.push(diag('E_ALERT', `alert '${rule.name}': a zscore condition needs either zscore: (a column holding the z-score) or value: and days: (computed over the rows)`, at('condition')));
  else if (c.type === 'zscore' && !c.zscore && !(c.value && c.days)) ds.push(diag('E_ALERT', `alert '${rule.name}': a zscore condition computed over the rows needs both value: and days:`, at('condition', c.value ? 'value' : 'days')));
  else if (c.type === 'zscore' && c.days && !rule.time) ds.push(diag('E_ALERT', `alert '${rule.name}': condition.days needs time: (the column that orders the rows)`, at('condition', 'days')));
  // keys with a default (the ratios, min_baseline) hide whether the rule wrote them: the YAML says
  const writtenInCondition = (key: string) => {
    let v: unknown = yaml.value;
    for (const seg of [...lr.path, 'condition']) v = (v as Record<string | number, unknown> | null | undefined)?.[seg];
    return !!v && typeof v === 'object' && Object.hasOwn(v, key);
  };
  if (c.type === 'anomaly') {
    for (const [key, only] of [
      ['drop_ratio', 'spike'],
      ['spike_ratio', 'drop'],
    ] as const) {
      if (c.direction === only && writtenInCondition(key))
        ds.push(diag('E_ALERT', `alert '${rule.name}': condition.${key} has no effect with direction: ${only} (it judges ${key === 'drop_ratio' ? 'drops' : 'spikes'})`, at('condition', key), `remove it, or set direction: both`));
    }
  }
  if (c.type === 'anomaly') {
    // a spike is above the baseline, a drop below it: a ratio on the wrong side of 1 fires on ordinary rows
    if (c.direction !== 'drop' && c.spike_ratio <= 1)
      ds.push(diag('E_ALERT', `alert '${rule.name}': condition.spike_ratio ${c.spike_ratio} must be above 1 (a spike is a value above spike_ratio x the baseline: with ${c.spike_ratio}, ordinary values are spikes)`, at('condition', 'spike_ratio'), 'e.g. spike_ratio: 1.75 (75 % above the baseline)'));
    if (c.direction !== 'spike' && c.drop_ratio >= 1)
      ds.push(diag('E_ALERT', `alert '${rule.name}': condition.drop_ratio ${c.drop_ratio} must be below 1 (a drop is a value below drop_ratio x the baseline: with ${c.drop_ratio}, ordinary values are drops)`, at('condition', 'drop_ratio'), 'e.g. drop_ratio: 0.4 (60 % below the baseline)'));
  }
  if ((c.type === 'new_value' || c.type === 'no_data') && !(durationMs(c.window) > 0))
    ds.push(diag('E_ALERT', `alert '${rule.name}': condition.window ${c.window} must be more than 0s (${c.type === 'new_value' ? 'a value would never be new' : 'every evaluation would find the rows silent'})`, at('condition', 'window'), c.type === 'new_value' ? 'e.g. window: 24h (the default)' : 'e.g. window: 1d'));
  if (c.type === 'freshness' && !(durationMs(c.max_age) > 0))
    ds.push(diag('E_ALERT', `alert '${rule.name}': condition.max_age ${c.max_age} must be more than 0s (every evaluation would find the newest row late)`, at('condition', 'max_age'), 'e.g. max_age: 15m'));
  if (c.type === 'zscore' && c.zscore && writtenInCondition('min_baseline'))
    ds.push(diag('E_ALERT', `alert '${rule.name}': condition.min_baseline has no effect with zscore: (a column): it bounds the mean computed from value: and days:`, at('condition', 'min_baseline'), 'remove it, or filter small volumes in the query'));
  if (c.type === 'freshness' && rule.sync_state && !c.column) ds.push(diag('E_ALERT', `alert '${rule.name}': a freshness condition on sync_state rows needs column: (${timestampsOf(SYNC_STATE_COLUMNS).join(', ')})`, at('condition')));
  else if (c.type === 'freshness' && !!c.column === !!c.sync) ds.push(diag('E_ALERT', `alert '${rule.name}': a freshness condition needs either column: or sync: true`, at('condition')));
  if (c.type === 'freshness' && c.source_freshness && !readsSyncState(rule))
    ds.push(diag('E_ALERT', `alert '${rule.name}': source_freshness: true judges sync state rows by their source's freshness; this rule reads a query`, at('condition', 'source_freshness'), 'use it with sync_state: true (or sync: true), or remove it'));
  if (readsSyncState(rule)) {
    // the sync state rows have fixed columns: a typo is an error now, not a silent "0 firing" later
    checkColumns(lr, SYNC_STATE_COLUMN_NAMES, 'the sync state rows', at, ds);
    const types = new Map(SYNC_STATE_COLUMNS.map((col) => [col.name, col.data_type]));
    // time: and the column of freshness / no_data are timestamps; threshold, anomaly and zscore compare numbers
    for (const { column: col, kind, key } of columnKinds(rule)) {
      const type = types.get(col);
      const wants = kind === 'number' ? 'integer' : 'timestamptz';
      if (type && type !== wants) ds.push(diag('E_ALERT', `alert '${rule.name}': column '${col}' of the sync state rows is not ${wants === 'integer' ? 'a number' : 'a timestamp'}`, at(...key), `${wants === 'integer' ? 'numbers' : 'timestamps'}: ${SYNC_STATE_COLUMNS.filter((x) => x.data_type === wants).map((x) => x.name).join(', ')}`));
    }
  }
  if (rule.query) {
    const pos = yaml.locate([...lr.path, 'query']);
    // a block scalar (query: |) starts on the next line, indented
    const block = yaml.scalarAt([...lr.path, 'query'])?.block ?? false;
    const indent = block ? (/^( *)\S/m.exec(text.split('\n').slice(pos.line).join('\n'))?.[1].length ?? 0) : 0;
    lr.queryAt = block ? { line: pos.line + 1, column: indent + 1, indent } : pos;
    lr.queryText = rule.query;
  } else if (rule.model) {
    const cols = models.get(rule.model);
    if (cols) checkColumns(lr, cols, rule.model, at, ds);
    lr.queryText = `select * from {{ ref('${rule.model}') }}${rule.where ? `\nwhere ${rule.where}` : ''}`;
    lr.queryAt = yaml.locate([...lr.path, rule.where ? 'where' : 'model']);
  }
}

/** The columns a rule reads from its rows, and where each is written: the condition's, group_by, time. */
function columnsRead(rule: AlertRule): Array<[string, (string | number)[]]> {
  const used: Array<[string, (string | number)[]]> = [];
  for (const [k, v] of Object.entries(rule.condition)) if (['column', 'value', 'baseline', 'zscore'].includes(k) && typeof v === 'string') used.push([v, ['condition', k]]);
  rule.group_by.forEach((g, i) => used.push([g, ['group_by', i]]));
  if (rule.time) used.push([rule.time, ['time']]);
  return used;
}

/** Each column the rule reads must be one of `cols` (of a documented model, or of the sync state rows). */
function checkColumns(lr: LoadedRule, cols: string[], what: string, at: (...p: (string | number)[]) => { file: string; line: number; column: number }, ds: Diagnostic[]): void {
  const { rule } = lr;
  for (const [col, p] of columnsRead(rule)) {
    if (cols.includes(col)) continue;
    const hint = didYouMean(col, cols);
    ds.push(diag('E_ALERT', `alert '${rule.name}': column '${col}' not in ${what}${hint ? ` — did you mean '${hint}'?` : ''}`, at(...p), hint ? undefined : `columns: ${cols.join(', ')}`));
  }
}

const timestampsOf = (cols: Array<{ name: string; data_type?: string }>) => cols.filter((c) => c.data_type === 'timestamptz').map((c) => c.name);

/** Summary, details and links are nunjucks templates: a syntax error is reported here, not in a page. */
function checkTemplate(text: string, what: string, rule: string, loc: { file: string; line: number; column: number }, ds: Diagnostic[]): void {
  try {
    // parse now, render at evaluation
    compileTemplate(text);
  } catch (e) {
    const msg = (e as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? String(e);
    ds.push(diag('E_ALERT', `alert '${rule}': ${what} is not a valid template: ${msg}`, loc, 'templates use {{ column }}, filters like {{ x | round(1) }}'));
    return;
  }
  for (const tag of otherTemplateTags(text)) ds.push(diag('E_ALERT', `alert '${rule}': ${what} uses {% ${tag} %}, which templates do not have: a template is its own text, there is no other template to read`, loc, 'write the text (or a runbook link) in the template itself; a {% macro %} in it may be called there'));
  for (const f of unknownFilters(text)) ds.push(diag('E_ALERT', `alert '${rule}': ${what} uses filter '${f.name}', which templates do not have${f.hint ? ` — did you mean '${f.hint}'?` : ''}`, loc, f.hint ? undefined : 'filters: Jinja\'s (round, default, upper, join, ...) and signed'));
}

/**
 * A name a rule's templates read that its instances cannot have (`columns`: its rows', when
 * known; labels and template variables always are) or an attribute of a value that has none
 * (`alert.name`): an error at the template, with the nearest name.
 */
export function checkTemplateNames(lr: Pick<LoadedRule, 'rule' | 'file' | 'yaml' | 'path'>, columns: string[] | undefined, ds: Diagnostic[]): void {
  const { rule } = lr;
  for (const t of messageTemplates(rule)) {
    for (const p of templateProblems(t.text, rule, columns)) {
      const loc = { file: lr.file, ...lr.yaml.locate([...lr.path, ...t.path]) };
      const why = p.why ?? 'which its instances do not have';
      ds.push(diag('E_ALERT', `alert '${rule.name}': ${t.where} reads '${p.name}', ${why}${p.hint ? ` — did you mean '${p.hint}'?` : ''}`, loc, p.help ?? (p.hint || p.attribute ? undefined : "a name that may be missing needs a guard: {% if x is defined %}, {{ x | default('-') }} or {{ x or y }}")));
    }
  }
}

/**
 * Parse and validate a routes file: Alertmanager's route, inhibit_rules and time_intervals
 * vocabulary with Alertmanager's own rules (the root route has a receiver and neither
 * matchers nor continue nor time intervals; every receiver and time interval a route names
 * exists; `...` in group_by stands alone), plus Vigil's receivers. `routes` is undefined when
 * anything is wrong.
 */
export function parseRoutes(text: string, file: string): { routes?: RoutesFile; yaml?: YamlSource; diagnostics: Diagnostic[] } {
  const ds: Diagnostic[] = [];
  const y = parseYaml(text, file, ds);
  if (!y) return { diagnostics: ds };
  // merge keys merged and nulls unset as Alertmanager's YAML reader (Go's yaml.v2) does it
  const m = mergedAsAlertmanager(y, ds);
  if (m !== y && ds.some((d) => d.severity === 'error')) return { yaml: m, diagnostics: ds };
  const routes = validateYaml({ ...m, value: alertmanagerNulls(matchValuesAsWritten(m.value, m)) }, RoutesFileSchema, ds);
  if (!routes) return { yaml: m, diagnostics: ds };
  checkRoutes(routes, m, ds);
  return { routes: ds.some((d) => d.severity === 'error') ? undefined : routes, yaml: m, diagnostics: ds };
}

const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Alertmanager's matchers lists: a merged one and the one written add up (its reader appends each to the route's matchers). */
const MATCHER_LISTS = ['matchers', 'source_matchers', 'target_matchers'];

/**
 * The document with its YAML merge keys (`<<: *defaults`) merged as Alertmanager's reader merges
 * them into its types: label maps (`match:`...) unioned, matchers lists appended, the rest
 * replaced in the order written (compared with amtool in test/alerts/routing-amtool.test.ts).
 */
export function mergedAsAlertmanager(y: YamlSource, ds: Diagnostic[]): YamlSource {
  return withMergeKeys(y, (k) => (Object.hasOwn(LABEL_MAPS, k) ? 'union' : MATCHER_LISTS.includes(k) ? 'append' : undefined), ds);
}

/**
 * A key of Alertmanager's with no value (`continue: ~`, `group_by:`, `group_wait: ~`,
 * `matchers: ~`, `inhibit_rules: ~`) is unset, as Go's yaml leaves the field: inherited from the
 * parent route, or the default (test/alerts/routing-amtool.test.ts compares with amtool). The
 * receivers and outbox_alert_after are Vigil's: an empty one there is still an error to fix.
 */
function alertmanagerNulls(value: unknown): unknown {
  if (!isMapping(value)) return value;
  const { receivers, outbox_alert_after, ...am } = value;
  const out = withoutNulls(am) as Record<string, unknown>;
  if ('receivers' in value) out.receivers = receivers;
  if ('outbox_alert_after' in value) out.outbox_alert_after = outbox_alert_after;
  return out;
}

/**
 * The label names routes.yaml reads — matchers of routes and inhibit rules, `group_by`, an
 * inhibit rule's `equal` — must be ones the rules produce (all of the project's rules, whatever
 * `-s` selects), and an `alertname=` a rule's name: a typo would match only the empty string
 * (`equal: [teem]`: equal on every pair of alerts, so every target is muted), or group nothing.
 */
function checkRouteLabels(routes: RoutesFile, y: YamlSource, rules: AlertRule[], ds: Diagnostic[]): { rules: Set<number>; said: Set<Diagnostic> } {
  /** inhibit rules whose equal: names a label no rule has (equal on every pair of alerts), and what says so */
  const mutesAll = { rules: new Set<number>(), said: new Set<Diagnostic>() };
  const known = knownLabelNames(rules);
  const err = (path: (string | number)[], message: string): Diagnostic => {
    const d = diag('E_ROUTES', message, { file: y.file, ...y.locate(path) }, 'routes.yaml reads the labels alert rules produce: alertname, severity, their labels, their group_by columns (' + docRef('alerts.md#routing-alertsroutesyaml') + ')');
    ds.push(d);
    return d;
  };
  const matchers = (path: (string | number)[], r: { match?: MatchersIn; match_re?: Record<string, string>; matchers?: string[] }, keys: [string, string, string]) => {
    const [matchKey, reKey, listKey] = keys;
    for (const [k, v] of Object.entries(r.match ?? {})) for (const m of fromMaps({ [k]: v })) {
      const p = unknownRouteMatcher(m, rules, known);
      if (p) err([...path, matchKey, k], `${matchKey}: ${p}`);
    }
    for (const [k, v] of Object.entries(r.match_re ?? {})) {
      const p = unknownRouteMatcher({ name: k, op: '=~', value: v }, rules, known);
      if (p) err([...path, reKey, k], `${reKey}: ${p}`);
    }
    (r.matchers ?? []).forEach((s, i) => {
      const ms = parseMatchers(s);
      if (typeof ms === 'string') return;
      for (const m of ms) {
        const p = unknownRouteMatcher(m, rules, known);
        if (p) err([...path, listKey, i], `matcher ${s}: ${p}`);
      }
    });
  };
  const walk = (r: RouteIn, path: (string | number)[]) => {
    (r.group_by ?? []).forEach((l, i) => {
      const p = l === '...' ? undefined : unknownLabelName(l, known);
      if (p) err([...path, 'group_by', i], `group_by: ${p}`);
    });
    matchers(path, r, ['match', 'match_re', 'matchers']);
    r.routes?.forEach((c, i) => walk(c, [...path, 'routes', i]));
  };
  walk(routes.route, ['route']);
  routes.inhibit_rules.forEach((r, i) => {
    matchers(['inhibit_rules', i], { match: r.source_match, match_re: r.source_match_re, matchers: r.source_matchers }, ['source_match', 'source_match_re', 'source_matchers']);
    matchers(['inhibit_rules', i], { match: r.target_match, match_re: r.target_match_re, matchers: r.target_matchers }, ['target_match', 'target_match_re', 'target_matchers']);
    r.equal.forEach((l, j) => {
      const p = unknownLabelName(l, known);
      if (p) {
        mutesAll.said.add(err(['inhibit_rules', i, 'equal', j], `equal: ${p}`));
        mutesAll.rules.add(i);
      }
    });
  });
  return mutesAll;
}

/**
 * The values YAML read, with the label values of match maps as written (`match`, `match_re`, an
 * inhibit rule's `source_match`...; the items of a `match:` list too): Alertmanager reads `1.50`,
 * `010`, `0x1F`, `True` and `.inf` as those strings, where YAML 1.2 reads numbers and booleans.
 * A copy; `y.value` is left as read. Also what `import-alertmanager` copies.
 */
export function matchValuesAsWritten(value: unknown, y: Pick<YamlSource, 'scalarAt'>): unknown {
  if (!isMapping(value)) return value;
  const out = structuredClone(value);
  const fix = (holder: Record<string | number, unknown>, key: string | number, path: (string | number)[]) => {
    const read = holder[key];
    if (read === null || typeof read === 'string' || (typeof read === 'object' && !(read instanceof Date))) return;
    const written = y.scalarAt(path);
    // (an explicit tag is not part of the value: `!!int 5` is 5)
    if (written && !written.block) holder[key] = written.source.replace(/^!\S*\s+/, '');
  };
  const fixMap = (m: unknown, path: (string | number)[]) => {
    if (!isMapping(m)) return;
    for (const [k, v] of Object.entries(m)) {
      if (Array.isArray(v)) v.forEach((_x, i) => fix(v as unknown[] as Record<number, unknown>, i, [...path, k, i]));
      else fix(m, k, [...path, k]);
    }
  };
  const walk = (r: unknown, path: (string | number)[]) => {
    if (!isMapping(r)) return;
    fixMap(r.match, [...path, 'match']);
    fixMap(r.match_re, [...path, 'match_re']);
    if (Array.isArray(r.routes)) r.routes.forEach((c, i) => walk(c, [...path, 'routes', i]));
  };
  walk(out.route, ['route']);
  if (Array.isArray(out.inhibit_rules)) {
    out.inhibit_rules.forEach((r, i) => {
      if (isMapping(r)) for (const k of ['source_match', 'target_match', 'source_match_re', 'target_match_re']) fixMap(r[k], ['inhibit_rules', i, k]);
    });
  }
  return out;
}

/** Label maps: a label with no value is '' in an equality one (Go's yaml: a string's zero value); Alertmanager refuses one in a regex one. */
const LABEL_MAPS: Record<string, 'equal' | 'regex'> = { match: 'equal', source_match: 'equal', target_match: 'equal', match_re: 'regex', source_match_re: 'regex', target_match_re: 'regex' };

/**
 * The configuration as Alertmanager's loader (Go's yaml) reads it: a key with no value
 * (`group_wait:`, `group_by:`, `continue:`) leaves its field unset — inherited from the parent
 * route, or the default — as if it were not written. A label of a `match:` map with no value is
 * the empty string (`match: {severity: }` matches the alerts without a severity, as `severity=""`
 * does), not a label left out: that would match every alert. One of a `match_re:` map, which
 * Alertmanager refuses ("invalid regexp value"), stays null: the converted file is refused too.
 */
export function withoutNulls(v: unknown, labels?: 'equal' | 'regex'): unknown {
  if (Array.isArray(v)) return v.map((x) => withoutNulls(x));
  if (!v || typeof v !== 'object' || labels === 'regex') return v;
  if (labels === 'equal') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === null ? '' : x]));
  return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === null ? [] : [[k, withoutNulls(x, Object.hasOwn(LABEL_MAPS, k) ? LABEL_MAPS[k] : undefined)]])));
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

function checkRoutes(routes: RoutesFile, y: YamlSource, ds: Diagnostic[]): void {
  const at = (path: (string | number)[], key = false) => ({ file: y.file, ...y.locate(path, key) });
  const err = (path: (string | number)[], message: string, hint?: string) => ds.push(diag('E_ROUTES', message, at(path), hint));
  const names = new Set<string>();
  routes.receivers.forEach((r, i) => {
    if (names.has(r.name)) err(['receivers', i, 'name'], `receiver '${r.name}' is defined twice`, 'receiver names are unique (Alertmanager: "notification config name is not unique")');
    names.add(r.name);
  });
  const intervals = new Set<string>();
  for (const key of ['time_intervals', 'mute_time_intervals'] as const) {
    routes[key].forEach((t, i) => {
      if (intervals.has(t.name)) err([key, i, 'name'], `time interval '${t.name}' is defined twice`);
      intervals.add(t.name);
      t.time_intervals.forEach((ti, j) => {
        const c = compileInterval(ti);
        if (typeof c === 'string') err([key, i, 'time_intervals', j], `time interval '${t.name}': ${c}`);
      });
    });
  }
  const matcherProblems = (path: (string | number)[], r: { match?: Record<string, unknown>; match_re?: Record<string, string>; matchers?: string[] }, reKey = 'match_re', listKey = 'matchers', matchKey = 'match') => {
    for (const [key, map] of [
      [matchKey, r.match],
      [reKey, r.match_re],
    ] as const) {
      for (const k of Object.keys(map ?? {})) if (!LABEL.test(k)) err([...path, key, k], `'${k}' is not a label name`);
    }
    for (const [k, v] of Object.entries(r.match_re ?? {})) {
      const bad = regexProblem({ name: k, op: '=~', value: v });
      if (bad) err([...path, reKey, k], bad);
    }
    (r.matchers ?? []).forEach((s, i) => {
      const m = parseMatchers(s);
      if (typeof m === 'string') err([...path, listKey, i], `matcher ${m}`, 'e.g. severity=~"critical|error", env!="prod"');
    });
  };
  const root = routes.route;
  if (!root.receiver) err(['route'], 'the root route needs a receiver: (the default for alerts no child route matches)');
  if (root.match || root.match_re || root.matchers) err(['route', root.matchers ? 'matchers' : root.match ? 'match' : 'match_re'], 'the root route must not have any matchers (it receives every alert; put matchers on a child route)');
  if (root.continue) err(['route', 'continue'], 'the root route cannot have continue: true');
  if (root.mute_time_intervals || root.active_time_intervals) err(['route', root.mute_time_intervals ? 'mute_time_intervals' : 'active_time_intervals'], 'the root route must not have time intervals');
  const walk = (r: RouteIn, path: (string | number)[]) => {
    // Alertmanager's YAML reader takes `continue: yes` as a boolean, but not a quoted "true"
    if (/^["']/.test(y.scalarAt([...path, 'continue'])?.source ?? '')) err([...path, 'continue'], 'continue: must be true or false, not a quoted string (Alertmanager refuses it)');
    if (r.receiver !== undefined && !names.has(r.receiver)) {
      const hint = didYouMean(r.receiver, names);
      err([...path, 'receiver'], `receiver '${r.receiver}' is not defined${hint ? ` — did you mean '${hint}'?` : ''}`, hint ? undefined : `receivers: ${[...names].join(', ')}`);
    }
    if (r.group_by) {
      if (r.group_by.includes('...') && r.group_by.some((l) => l !== '...')) err([...path, 'group_by'], "group_by '...' (every label) cannot be combined with other labels");
      const seen = new Set<string>();
      r.group_by.forEach((l, i) => {
        if (l !== '...' && !LABEL.test(l)) err([...path, 'group_by', i], `'${l}' is not a label name`);
        // ('...' twice is still every label: Alertmanager takes it)
        if (seen.has(l) && l !== '...') err([...path, 'group_by', i], `label '${l}' is twice in group_by`);
        seen.add(l);
      });
    }
    for (const k of ['group_interval', 'repeat_interval'] as const) if (r[k] !== undefined && durationMs(r[k]!) === 0) err([...path, k], `${k} cannot be zero`);
    matcherProblems(path, r);
    for (const k of ['mute_time_intervals', 'active_time_intervals'] as const) {
      (r[k] ?? []).forEach((n, i) => {
        if (!intervals.has(n)) {
          const hint = didYouMean(n, intervals);
          err([...path, k, i], `time interval '${n}' is not defined${hint ? ` — did you mean '${hint}'?` : ''}`, 'define it under time_intervals: at the top of the file');
        }
      });
    }
    r.routes?.forEach((c, i) => walk(c, [...path, 'routes', i]));
  };
  walk(root, ['route']);
  routes.inhibit_rules.forEach((r, i) => {
    matcherProblems(['inhibit_rules', i], { match: r.source_match, match_re: r.source_match_re, matchers: r.source_matchers }, 'source_match_re', 'source_matchers', 'source_match');
    matcherProblems(['inhibit_rules', i], { match: r.target_match, match_re: r.target_match_re, matchers: r.target_matchers }, 'target_match_re', 'target_matchers', 'target_match');
    r.equal.forEach((l, j) => {
      if (!LABEL.test(l)) err(['inhibit_rules', i, 'equal', j], `'${l}' is not a label name`);
    });
  });
}
