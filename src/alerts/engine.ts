/**
 * The pure heart of alerting: rows in, instances and state transitions out. No I/O.
 *
 * - `judge()` applies a rule's condition to the rows its query returned at time `at`, and
 *   groups them into instances (one per distinct `group_by` labels; active when any of its
 *   rows meets the condition).
 * - `advance()` moves each instance through inactive -> pending -> firing -> resolved (with
 *   `for` and `keep_firing_for`), and keeps the alert-level `error` and `nodata` instances:
 *   a query that fails raises an error instance instead of passing silently, and never
 *   resolves the instances that were firing.
 */
import { createHash } from 'node:crypto';
import nunjucks from 'nunjucks';
import { addPyTests, installJinjaCompat, PRINTED_FUNCTION } from '../compile/jinja-compat.js';
import { unbox } from '../compile/py-values.js';
import { didYouMean } from '../errors.js';
import { redact } from '../secrets.js';
import type { AlertRule, Severity } from './schema.js';
import { durationMs, formatDuration, isActive, toEpochMs, type ActiveHours } from './time.js';

// summaries, details and links get nunjucks' Jinja additions (list slices, dict methods, True/None)
installJinjaCompat();

/** Whether a rule's rows are the sync state: `sync_state: true`, or its shorthand `condition: { type: freshness, sync: true }`. */
export function readsSyncState(rule: Pick<AlertRule, 'sync_state' | 'condition'>): boolean {
  return !!rule.sync_state || (rule.condition.type === 'freshness' && !!rule.condition.sync);
}

export type Json = string | number | boolean | null;
export type InstanceKind = 'row' | 'error' | 'nodata';
export type InstanceStatus = 'pending' | 'firing' | 'resolved';

export interface InstanceState {
  key: string;
  alert: string;
  kind: InstanceKind;
  labels: Record<string, string>;
  status: InstanceStatus;
  activeSince: string;
  firedAt?: string;
  resolvedAt?: string;
  lastActiveAt: string;
  /** Consecutive evaluations the condition held. */
  consecutive: number;
  /** The row that made it active (with derived values like ratio, age). */
  values: Record<string, Json>;
  /** Per receiver: the last notification queued for this instance. */
  notified: Record<string, { at: string; action: 'trigger' | 'resolve' }>;
}

export interface RuleRuntime {
  lastEvaluatedAt?: string;
  status: 'ok' | 'error' | 'nodata' | 'outside_active_hours';
  error?: string;
  /** new_value: each value seen, when Vigil first saw it, and whether it was announced (vs learned quietly). */
  seen?: Record<string, { first: string; announced: boolean }>;
}

export interface Judged {
  key: string;
  kind: InstanceKind;
  labels: Record<string, string>;
  active: boolean;
  values: Record<string, Json>;
}

export interface Transition {
  instance: InstanceState;
  from: InstanceStatus | 'inactive';
  to: InstanceStatus | 'inactive';
}

export interface RuleContext {
  rule: AlertRule;
  activeHours?: ActiveHours;
}

/** The labels every instance of a rule carries. */
export function baseLabels(rule: AlertRule): Record<string, string> {
  return { alertname: rule.name, severity: rule.severity, ...rule.labels };
}

export function instanceKey(alert: string, groupLabels: Record<string, string>, kind: InstanceKind = 'row'): string {
  const g = Object.keys(groupLabels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(groupLabels[k])}`)
    .join(',');
  return `${alert}{${g}}${kind === 'row' ? '' : `#${kind}`}`;
}

/** A stable PagerDuty dedup_key for an instance (same instance, same key, across runs and machines). */
export function dedupKey(key: string): string {
  return `vigil-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

function toJson(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) {
    const iso = v.toISOString();
    // DATE columns arrive as UTC midnight: show them as dates
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

function num(v: unknown): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = typeof v === 'bigint' ? Number(v) : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function median(xs: number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The numbers in `column` of the `days` rows before row `idx` (time-ordered rows of one instance). */
function preceding(ordered: Array<Record<string, Json>>, idx: number, days: number, column: string): number[] {
  return ordered.slice(idx - days, idx).map((p) => num(p[column])).filter((n): n is number => n !== undefined);
}

/** The mean and the sample standard deviation (n - 1), as SQL's stddev_samp computes it. */
function meanStddev(xs: number[]): { mean: number; stddev: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, stddev: Math.sqrt(variance) };
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Judge the rows of one evaluation. `rows` are the query's result (time-filtered to <= at
 * here when the rule has `time:`). Returns the instances seen this time; ones not returned
 * are inactive. `runtime.seen` is updated for new_value rules.
 */
export function judge(ctx: RuleContext, rawRows: Array<Record<string, unknown>>, at: Date, runtime: RuleRuntime): { instances: Judged[]; noData: boolean } {
  const { rule } = ctx;
  const c = rule.condition;
  const atMs = at.getTime();
  let rows = rawRows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, toJson(v)])) as Record<string, Json>);
  if (rule.time) rows = rows.filter((r) => (toEpochMs(r[rule.time!]) ?? -Infinity) <= atMs);
  const base = baseLabels(rule);

  // new_value groups by its column too; sync state rows are one instance per stream unless told otherwise
  const groupBy = c.type === 'new_value' && !rule.group_by.includes(c.column) ? [...rule.group_by, c.column] : rule.group_by.length || !readsSyncState(rule) ? rule.group_by : ['stream'];
  const groups = new Map<string, { labels: Record<string, string>; rows: Array<Record<string, Json>> }>();
  for (const r of rows) {
    const g: Record<string, string> = {};
    // label values come from data and go into the state, which is written through the one
    // redaction path: redacted here, where they are made, so the state read back names the same
    // instances (a value holding a URL's password, or equal to a secret's value, was redacted
    // on the way to the state only: the next run saw another instance, resolved and re-fired it)
    for (const col of groupBy) g[col] = r[col] === null || r[col] === undefined ? '' : redact(String(r[col]));
    const key = instanceKey(rule.name, g);
    let e = groups.get(key);
    if (!e) groups.set(key, (e = { labels: g, rows: [] }));
    e.rows.push(r);
  }

  if (c.type === 'no_data') {
    // like absent_over_time: one instance per group the rows name whose newest row is older than
    // the window; with no rows at all (no group to name), one instance for the whole rule
    const windowMs = durationMs(c.window);
    const silent = (label: Record<string, string>, rs: Array<Record<string, Json>>): Judged => {
      let last: number | undefined;
      for (const r of rs) {
        const t = toEpochMs(r[c.column]);
        if (t !== undefined && t <= atMs && (last === undefined || t > last)) last = t;
      }
      const active = last === undefined || atMs - last > windowMs;
      const values: Record<string, Json> = {
        last_seen_at: last === undefined ? null : new Date(last).toISOString(),
        window: c.window,
        silence_for: last === undefined ? 'ever' : formatDuration(atMs - last),
      };
      return { key: instanceKey(rule.name, label), kind: 'row', labels: { ...base, ...label }, active, values };
    };
    const instances = groups.size ? [...groups.values()].map((g) => silent(g.labels, g.rows)) : [silent({}, [])];
    return { instances, noData: false };
  }

  const instances: Judged[] = [];
  const seen = (runtime.seen ??= {});
  const bootstrapping = c.type === 'new_value' && runtime.lastEvaluatedAt === undefined && Object.keys(seen).length === 0;

  for (const [key, g] of groups) {
    let activeBest: Record<string, Json> | undefined;
    let fallback: Record<string, Json> | undefined;
    let active = false;
    const ordered = rule.time ? [...g.rows].sort((a, b) => (toEpochMs(a[rule.time!]) ?? 0) - (toEpochMs(b[rule.time!]) ?? 0)) : g.rows;
    ordered.forEach((r, idx) => {
      const v: Record<string, Json> = { ...r };
      let on = false;
      switch (c.type) {
        case 'sql':
          on = true;
          break;
        case 'threshold': {
          const x = num(r[c.column]);
          if (x === undefined) break;
          on = c.op === '>' ? x > c.value : c.op === '>=' ? x >= c.value : c.op === '<' ? x < c.value : c.op === '<=' ? x <= c.value : c.op === '==' ? x === c.value : x !== c.value;
          v.threshold = c.value;
          break;
        }
        case 'anomaly': {
          const x = num(r[c.value]);
          const b = c.baseline ? num(r[c.baseline]) : idx < c.days! ? undefined : median(preceding(ordered, idx, c.days!, c.value));
          if (x === undefined || b === undefined || b < c.min_baseline || b <= 0) break;
          const ratio = x / b;
          const spike = (c.direction === 'spike' || c.direction === 'both') && ratio > c.spike_ratio;
          const drop = (c.direction === 'drop' || c.direction === 'both') && ratio < c.drop_ratio;
          on = spike || drop;
          Object.assign(v, { baseline: round(b), ratio: round(ratio, 3), delta_percent: round((ratio - 1) * 100, 1), direction: spike ? 'spike' : drop ? 'drop' : 'normal' });
          break;
        }
        case 'zscore': {
          let z: number | undefined;
          if (c.zscore) z = num(r[c.zscore]);
          else if (idx >= c.days!) {
            const x = num(r[c.value!]);
            const prev = preceding(ordered, idx, c.days!, c.value!);
            const { mean, stddev } = meanStddev(prev);
            if (x !== undefined && prev.length >= 2 && stddev > 0 && mean >= c.min_baseline) {
              z = (x - mean) / stddev;
              Object.assign(v, { mean: round(mean), stddev: round(stddev) });
            }
          }
          if (z === undefined || !Number.isFinite(z)) break;
          const spike = (c.direction === 'spike' || c.direction === 'both') && z > c.threshold;
          const drop = (c.direction === 'drop' || c.direction === 'both') && z < -c.threshold;
          on = spike || drop;
          Object.assign(v, { zscore: round(z, 2), direction: spike ? 'spike' : drop ? 'drop' : 'normal' });
          break;
        }
        case 'freshness': {
          const t = toEpochMs(r[c.column ?? 'last_synced_at']);
          const age = t === undefined ? Infinity : atMs - t;
          // source_freshness: the stream's own limit (its source's freshness error_after) where it declares one
          const own = c.source_freshness ? num(r.source_error_after_seconds) : undefined;
          on = age > (own !== undefined ? own * 1000 : durationMs(c.max_age));
          Object.assign(v, { age: t === undefined ? 'never' : formatDuration(age), age_seconds: t === undefined ? null : Math.round(age / 1000), max_age: own !== undefined ? formatDuration(own * 1000) : c.max_age });
          break;
        }
        case 'new_value':
          break; // judged per value, below
      }
      // the values shown: the latest row when time-ordered, else the first; an active one first
      if (on && (!activeBest || rule.time)) activeBest = v;
      if (!fallback || rule.time) fallback = v;
      active ||= on;
    });
    if (c.type === 'new_value') {
      const val = g.labels[c.column];
      const known = seen[val];
      if (known) active = known.announced && atMs - Date.parse(known.first) < durationMs(c.window);
      else {
        // never seen: new when its first row is inside the window (with time:), or, without
        // time:, unless this is the first evaluation (which learns the existing values quietly)
        const firstData = rule.time ? Math.min(...g.rows.map((r) => toEpochMs(r[rule.time!]) ?? Infinity)) : undefined;
        // (a value whose time is NULL cannot be dated: it is learned quietly)
        active = firstData !== undefined ? Number.isFinite(firstData) && atMs - firstData < durationMs(c.window) : !bootstrapping;
        seen[val] = { first: at.toISOString(), announced: active };
      }
      const vals = activeBest ?? fallback;
      if (vals) vals.first_seen_by_vigil = seen[val].first;
    }
    instances.push({ key, kind: 'row', labels: { ...base, ...g.labels }, active, values: activeBest ?? fallback ?? {} });
  }
  const noData = rows.length === 0;
  return { instances, noData };
}

/** When the rule should be judged at all: inside its active hours. */
export function inActiveHours(ctx: RuleContext, at: Date): boolean {
  return !ctx.activeHours || isActive(ctx.activeHours, at);
}

/**
 * Advance the instances of one rule after an evaluation. `outcome` is what the evaluation
 * produced: judged instances, or an error. Mutates `instances` (the rule's slice of the
 * state) and returns the transitions.
 */
export function advance(
  ctx: RuleContext,
  instances: Record<string, InstanceState>,
  outcome: { judged: Judged[]; noData: boolean } | { error: string },
  at: Date,
): Transition[] {
  const { rule } = ctx;
  const iso = at.toISOString();
  const out: Transition[] = [];
  const mine = Object.values(instances).filter((i) => i.alert === rule.name);
  const special = (kind: 'error' | 'nodata', active: boolean, values: Record<string, Json>) => {
    const key = instanceKey(rule.name, {}, kind);
    const cur = instances[key];
    if (active && !cur) {
      const inst: InstanceState = { key, alert: rule.name, kind, labels: { ...baseLabels(rule), vigil_state: kind }, status: 'firing', activeSince: iso, firedAt: iso, lastActiveAt: iso, consecutive: 1, values, notified: {} };
      instances[key] = inst;
      out.push({ instance: inst, from: 'inactive', to: 'firing' });
    } else if (active && cur) {
      cur.values = values;
      cur.lastActiveAt = iso;
      cur.consecutive++;
      if (cur.status === 'resolved') {
        Object.assign(cur, { status: 'firing', activeSince: iso, firedAt: iso, resolvedAt: undefined });
        out.push({ instance: cur, from: 'resolved', to: 'firing' });
      }
    } else if (!active && cur && cur.status === 'firing') {
      cur.status = 'resolved';
      cur.resolvedAt = iso;
      out.push({ instance: cur, from: 'firing', to: 'resolved' });
    }
  };

  if ('error' in outcome) {
    // the rule's own instances keep their state: an unknown answer is not a resolve
    special('error', true, { error: outcome.error });
    return out;
  }
  special('error', false, {});
  const nodataOn = outcome.noData && (rule.on_no_data ?? 'ok') === 'nodata';
  special('nodata', nodataOn, { message: 'the query returned no rows' });

  const forN = typeof rule.for === 'number' ? Math.max(1, rule.for) : 1;
  const forMs = typeof rule.for === 'string' ? durationMs(rule.for) : 0;
  const keepMs = rule.keep_firing_for ? durationMs(rule.keep_firing_for) : 0;
  const judged = new Map(outcome.judged.map((j) => [j.key, j]));

  for (const j of outcome.judged) {
    if (!j.active) continue;
    let cur = instances[j.key];
    if (!cur || cur.status === 'resolved') {
      const from = cur ? ('resolved' as const) : ('inactive' as const);
      cur = instances[j.key] = { key: j.key, alert: rule.name, kind: 'row', labels: j.labels, status: 'pending', activeSince: iso, lastActiveAt: iso, consecutive: 0, values: j.values, notified: cur?.notified ?? {} };
      out.push({ instance: cur, from, to: 'pending' });
    }
    cur.consecutive++;
    cur.values = j.values;
    cur.labels = j.labels;
    cur.lastActiveAt = iso;
    if (cur.status === 'pending' && cur.consecutive >= forN && at.getTime() - Date.parse(cur.activeSince) >= forMs) {
      cur.status = 'firing';
      cur.firedAt = iso;
      // one transition per evaluation: replace inactive->pending by inactive->firing
      const t = out.find((x) => x.instance === cur && x.to === 'pending');
      if (t) t.to = 'firing';
      else out.push({ instance: cur, from: 'pending', to: 'firing' });
    }
  }
  for (const cur of mine) {
    if (cur.kind !== 'row') continue;
    const j = judged.get(cur.key);
    if (j?.active) continue;
    if (cur.status === 'pending') {
      delete instances[cur.key];
      out.push({ instance: cur, from: 'pending', to: 'inactive' });
    } else if (cur.status === 'firing') {
      if (j) cur.values = { ...cur.values, ...j.values };
      if (keepMs && at.getTime() - Date.parse(cur.lastActiveAt) < keepMs) continue;
      cur.status = 'resolved';
      cur.resolvedAt = iso;
      out.push({ instance: cur, from: 'firing', to: 'resolved' });
    }
  }
  return out;
}

// ---- annotations

const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
addPyTests(env);
// `{{ delta_percent | signed }}`: +12.5 / -3 / 0, for deltas in messages
// (a whole float, PyFloat, prints as Python does: +25.0)
env.addFilter('signed', (v: unknown) => (typeof unbox(v) === 'number' && (unbox(v) as number) > 0 ? `+${v}` : String(v ?? '')));

type TemplateContext = Record<string, unknown>;
const contextOf = (inst: Pick<InstanceState, 'labels' | 'values' | 'alert'>, rule?: AlertRule): TemplateContext => ({ ...inst.values, labels: inst.labels, values: inst.values, alert: inst.alert, severity: rule?.severity ?? inst.labels.severity });

/**
 * Render a summary/details/link template over an instance's labels and values. A name the
 * template uses that the instance does not have (a typo, a column the query lost) is shown as
 * written, `{{ capabilty }}`, never as empty text; `unknownTemplateNames` says which.
 */
export function renderTemplate(template: string, inst: Pick<InstanceState, 'labels' | 'values' | 'alert'> & { kind?: InstanceState['kind'] }, rule?: AlertRule): string {
  try {
    const ctx = contextOf(inst, rule);
    for (const n of missingNames(template, ctx)) {
      const mk = mapKey(n);
      // (an error or no-data instance has only the rule's labels: a row's keys are absent on purpose)
      if (mk) {
        if (inst.kind === undefined || inst.kind === 'row') ctx[mk[0]] = { ...(ctx[mk[0]] as Record<string, unknown>), [mk[1]]: `{{ ${n} }}` };
      } else ctx[n] = `{{ ${n} }}`;
    }
    return env.renderString(template, ctx);
  } catch (e) {
    const message = (e as Error).message.includes(PRINTED_FUNCTION) ? 'a value it prints is a function: call it, with ()' : (e as Error).message.split('\n').pop()?.trim();
    return `${template} (template error: ${message})`;
  }
}

/** The names `template` reads that an instance of `rule` lacks, each with the nearest it has. */
export function unknownTemplateNames(template: string, inst: Pick<InstanceState, 'labels' | 'values' | 'alert'>, rule?: AlertRule): Array<{ name: string; hint?: string }> {
  const ctx = contextOf(inst, rule);
  return missingNames(template, ctx).map((name) => {
    const mk = mapKey(name);
    if (!mk) return { name, hint: didYouMean(name, Object.keys(ctx)) };
    const hint = didYouMean(mk[1], Object.keys((ctx[mk[0]] as Record<string, unknown> | undefined) ?? {}));
    return { name, hint: hint === undefined ? undefined : `${mk[0]}.${hint}` };
  });
}

function missingNames(template: string, ctx: TemplateContext): string[] {
  return [...freeNames(template)].filter((n) => {
    const mk = mapKey(n);
    // (`labels.items` is the dict method nunjucks' Jinja additions give: not a missing key)
    if (mk) return !Object.hasOwn((ctx[mk[0]] as object | undefined) ?? {}, mk[1]) && !DICT_METHODS.has(mk[1]);
    return !Object.hasOwn(ctx, n) && !(n in GLOBALS);
  });
}

const GLOBALS: Record<string, unknown> = { range: 1, cycler: 1, joiner: 1, loop: 1, caller: 1 };
/** Filters that give a value when there is none: what they filter may be missing on purpose. */
const DEFAULT_FILTERS = new Set(['default', 'd']);
/** The methods nunjucks' Jinja additions give a dict (`labels.items()`). */
const DICT_METHODS = new Set(['items', 'keys', 'values', 'get', 'has_key', 'pop', 'popitem', 'setdefault', 'update', 'iteritems', 'iterkeys', 'itervalues']);
/** The maps of an instance a template may print keys of: `labels.capability`, `values.n`. */
const MAPS = new Set(['labels', 'values']);

/** `labels.x` -> ['labels', 'x'] when it names a key of an instance's map. */
function mapKey(name: string): [string, string] | undefined {
  const dot = name.indexOf('.');
  return dot > 0 && MAPS.has(name.slice(0, dot)) ? [name.slice(0, dot), name.slice(dot + 1)] : undefined;
}
const freeNameCache = new Map<string, Set<string>>();

/** A node of a template's parse tree (nunjucks' nodes): the fields this module reads. */
type TemplateNode = { typename?: string; fields?: string[]; children?: TemplateNode[]; value?: unknown; args?: TemplateNode; name?: { value?: unknown }; [k: string]: unknown };

/**
 * Every node under `n`, depth first: `visit` first, then its children and its other fields. A
 * visit that returns false has handled the node's insides itself (it may walk some of them).
 */
function walkTree(n: unknown, visit: (node: TemplateNode) => boolean | void): void {
  if (!n || typeof n !== 'object') return;
  if (Array.isArray(n)) return n.forEach((x) => walkTree(x, visit));
  const node = n as TemplateNode;
  if (visit(node) === false) return;
  if (node.children) walkTree(node.children, visit);
  for (const f of node.fields ?? []) if (f !== 'children') walkTree(node[f], visit);
}

/** A template's parse tree; undefined when it does not parse (reported when the rules load). */
function templateTree(template: string): unknown {
  try {
    return (nunjucks as unknown as { parser: { parse: (src: string) => unknown } }).parser.parse(template);
  } catch {
    return undefined;
  }
}

/**
 * The names a template prints as they are: `{{ name }}` or `{{ name | filter }}`, not bound by
 * {% for %} / {% set %}. A name only tested or combined (`{% if x is defined %}`, `{{ a or b }}`)
 * may be missing on purpose (rule defaults shared by rules with other columns) and is left alone.
 */
function freeNames(template: string): Set<string> {
  const known = freeNameCache.get(template);
  if (known) return known;
  const out = new Set<string>();
  type N = TemplateNode;
  const bound = new Set<string>();
  const names = (n: unknown): string[] => (Array.isArray(n) ? n.flatMap(names) : (n as N)?.typename === 'Symbol' ? [String((n as N).value)] : (n as N)?.typename === 'Array' ? ((n as N).children ?? []).flatMap(names) : []);
  /** `labels.x` / `values.x` (or `labels['x']`): the instance's own maps, whose keys are known */
  const keyOf = (n: N): string | undefined => {
    if (n.typename !== 'LookupVal') return undefined;
    const target = n.target as N | undefined;
    const val = n.val as N | undefined;
    if (target?.typename !== 'Symbol' || !MAPS.has(String(target.value)) || val?.typename !== 'Literal' || typeof val.value !== 'string') return undefined;
    return `${String(target.value)}.${val.value}`;
  };
  /** the name an output prints: itself, or the value at the start of a chain of filters */
  const printed = (n: N | undefined): string | undefined => {
    for (let i = 0; n && i < 50; i++) {
      if (n.typename === 'Symbol') return String(n.value);
      const key = keyOf(n);
      if (key !== undefined) return bound.has(key.split('.')[0]) ? undefined : key;
      if (n.typename !== 'Filter') return undefined;
      // `{{ x | default('-') }}`: its absence is handled
      if (DEFAULT_FILTERS.has(String(n.name?.value))) return undefined;
      n = n.args?.children?.[0];
    }
    return undefined;
  };
  /** names read anywhere else (conditions, tests, `or`, arguments): their absence may be handled */
  const guarded = new Set<string>();
  const visit = (node: N): boolean | void => {
    if (node.typename === 'Output') {
      for (const c of node.children ?? []) {
        const name = printed(c);
        if (name !== undefined) {
          if (!bound.has(name)) out.add(name);
        } else walkTree(c, visit);
      }
      return false;
    }
    if (node.typename === 'Symbol') guarded.add(String(node.value));
    const key = keyOf(node);
    if (key !== undefined) guarded.add(key);
    if (node.typename === 'For' || node.typename === 'AsyncEach' || node.typename === 'AsyncAll') for (const x of names(node.name)) bound.add(x);
    if (node.typename === 'Set') for (const x of names(node.targets)) bound.add(x);
  };
  walkTree(templateTree(template), visit);
  for (const g of guarded) out.delete(g);
  freeNameCache.set(template, out);
  return out;
}

/**
 * The filters a template uses that rendering has not (`{{ n | badfilter }}`): nunjucks only
 * finds out when it renders, and the message would go out as its raw template. Checked when the
 * rules load; each with the nearest filter there is.
 */
export function unknownFilters(template: string): Array<{ name: string; hint?: string }> {
  const known = Object.keys((env as unknown as { filters: Record<string, unknown> }).filters);
  const found = new Map<string, string | undefined>();
  walkTree(templateTree(template), (node) => {
    const name = node.name?.value;
    if ((node.typename === 'Filter' || node.typename === 'FilterAsync') && typeof name === 'string' && !known.includes(name)) found.set(name, didYouMean(name, known));
  });
  return [...found].map(([name, hint]) => ({ name, hint }));
}

export function summaryOf(inst: InstanceState, rule: AlertRule): string {
  if (inst.kind === 'error') return `[${rule.name}] could not be evaluated: ${String(inst.values.error ?? 'unknown error')}`;
  if (inst.kind === 'nodata') return `[${rule.name}] no data: the query returned no rows`;
  return renderTemplate(rule.summary, inst, rule);
}

export const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, error: 1, warning: 2, info: 3 };
