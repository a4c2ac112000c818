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
import { ABSENCE_FILTERS, addPyTests, installJinjaCompat, jinjaCycler, PRINTED_FUNCTION, STRING_MEMBERS } from '../compile/jinja-compat.js';
import { unbox } from '../compile/py-values.js';
import { didYouMean } from '../errors.js';
import { ExactNumber, exactJson, jsonValue } from '../adapters/adapter.js';
import { redact, redactStrings } from '../secrets.js';
import { alertCompile, clearMemberMiss, INSTANCE_MAPS, memberMiss, type MemberMiss } from './template-strict.js';
import type { AlertRule, Severity } from './schema.js';
import { activeSince, activeWithin, durationMs, formatDuration, isActive, toEpochMs, type ActiveHours } from './time.js';
import { minOf } from '../extremes.js';
import { cutText, fairShares } from '../format.js';

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
  /** keep_firing_for: the first evaluation that found the condition off while firing (Prometheus' KeepFiringSince); absent while it holds. */
  keepFiringSince?: string;
  /** Consecutive evaluations the condition held. */
  consecutive: number;
  /** The row that made it active (with derived values like ratio, age). */
  values: Record<string, Json>;
  /**
   * Per receiver: the last notification queued for this instance. dropped: the id of a trigger
   * given up with `vigil alerts outbox --drop` before it reached the receiver, with no trigger of
   * the same firing that did: its resolve is not sent (the receiver never heard of the alert).
   * left: when a message of its group left it out (it was silenced or inhibited): the receiver
   * no longer sees it firing, so it is new to the group again (its resolve is still sent).
   */
  notified: Record<string, { at: string; action: 'trigger' | 'resolve'; dropped?: string; left?: string }>;
}

export interface RuleRuntime {
  lastEvaluatedAt?: string;
  status: 'ok' | 'error' | 'nodata' | 'outside_active_hours';
  error?: string;
  /** new_value: each value seen, when Vigil first saw it, and whether it was announced (vs learned quietly); absent until a query of the rule first worked. */
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
  // an integer past 2^53 as its digits: a label (an id) exact, a threshold reads the number
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) {
    const iso = v.toISOString();
    // DATE columns arrive as UTC midnight: show them as dates
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  // (±Infinity and NaN as their text, as jsonValue gives them: JSON, and so the state, has no such number)
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  // the warehouses' own values as vigil show reads them (adapter.ts): BigQuery's DATE, DATETIME
  // and TIMESTAMP their text, NUMERIC its digits; a list or a struct as JSON (was: "[object Object]")
  const j = jsonValue(v);
  if (j instanceof ExactNumber) return j.text;
  return j === null || typeof j === 'string' || typeof j === 'number' || typeof j === 'boolean' ? j : exactJson(j);
}

/**
 * A value as the number a condition compares: ±Infinity included (a float's, or the text
 * 'Infinity' as toJson keeps it); NaN for a float NaN (or the text 'NaN'); undefined for NULL and
 * for a value that is no number (text 'abc'). The conditions take NaN as no value, as NULL
 * (it meets no comparison, docs/alerts.md).
 */
function num(v: unknown): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isNaN(n)) return n;
  return typeof v === 'number' || (typeof v === 'string' && /^\s*[+-]?nan\s*$/i.test(v)) ? NaN : undefined;
}

/** A number the conditions can judge: not NULL, not NaN (±Infinity is). */
const judged = (x: number | undefined): x is number => x !== undefined && !Number.isNaN(x);

/** A derived value as the state keeps it: ±Infinity and NaN as their text (JSON has no such number), as toJson keeps a row's. */
const derived = (x: number): Json => (Number.isFinite(x) ? x : String(x));

/** The longest text value an instance keeps (state, notifications, templates, history); longer ones are cut with `…`. */
export const VALUE_TEXT_MAX = 4096;
/** The texts of one instance's values together: past it, the longest are cut further (each to an equal share). */
export const VALUES_TEXT_MAX = 32768;

/**
 * An instance's values as it keeps them: each text at most VALUE_TEXT_MAX characters, and all
 * its texts together at most VALUES_TEXT_MAX (the short ones whole, the long ones cut to an equal
 * share of what is left), so a row holding a 600 KB column neither grows the state nor makes a
 * PagerDuty event past its 512 KB. Numbers, booleans and NULLs are kept as they are. `keep`: the
 * columns the rule's links read (linkColumns), cut at VALUE_TEXT_MAX only, never to a share — a
 * link cut in the middle is a broken link (and one cut at all is not sent: links() in notify.ts).
 */
export function boundValues(values: Record<string, Json>, keep: ReadonlySet<string> = new Set()): Record<string, Json> {
  const texts = Object.entries(values).filter((e): e is [string, string] => typeof e[1] === 'string');
  const kept = texts.filter(([k]) => keep.has(k)).reduce((n, [, t]) => n + Math.min(t.length, VALUE_TEXT_MAX), 0);
  const shared = texts.filter(([k]) => !keep.has(k));
  const shares = new Map(fairShares(shared.map(([, t]) => t.length), VALUES_TEXT_MAX - kept, VALUE_TEXT_MAX).map((n, i) => [shared[i][0], n]));
  let cut: Record<string, Json> | undefined;
  for (const [k, t] of texts) {
    const max = shares.get(k) ?? VALUE_TEXT_MAX;
    if (t.length > max) (cut ??= { ...values })[k] = cutText(t, Math.max(1, max));
  }
  return cut ?? values;
}

/** The names a rule's link templates read (their symbols, and the keys of `labels`/`values` they name: templateUses): the values boundValues keeps whole. */
export function linkColumns(rule: Pick<AlertRule, 'links'>): Set<string> {
  const names = new Set<string>();
  for (const tpl of Object.values(rule.links ?? {})) for (const n of [...symbolsOf(tpl), ...templateUses(tpl).named]) names.add(n);
  return names;
}

function median(xs: number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The numbers in `column` of the `days` rows before row `idx` (time-ordered rows of one instance). */
function preceding(ordered: Array<Record<string, Json>>, idx: number, days: number, column: string): number[] {
  return ordered.slice(idx - days, idx).map((p) => num(p[column])).filter(judged);
}

/**
 * The mean and the sample standard deviation (n - 1), as SQL's stddev_samp computes it. Values
 * all equal have σ exactly 0, as stddev_samp gives it (the sum's rounding left 1.7e-17 for
 * 0.1, 0.1, 0.1: a flat history then fired at z = 5.9e9).
 */
function meanStddev(xs: number[]): { mean: number; stddev: number } {
  if (xs.length && xs.every((x) => x === xs[0])) return { mean: xs[0], stddev: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, stddev: Math.sqrt(variance) };
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** The columns whose values make an instance (its labels besides the rule's). */
export function groupColumns(rule: AlertRule): string[] {
  const c = rule.condition;
  // new_value groups by its column too; sync state rows are one instance per stream unless told otherwise
  return c.type === 'new_value' && !rule.group_by.includes(c.column) ? [...rule.group_by, c.column] : rule.group_by.length || !readsSyncState(rule) ? rule.group_by : ['stream'];
}

/** The values judge() adds to a row's (no_data: its only values), as docs/alerts.md lists them per condition. */
export function derivedValues(rule: AlertRule): string[] {
  const c = rule.condition;
  if (c.type === 'threshold') return ['threshold'];
  if (c.type === 'anomaly') return ['baseline', 'ratio', 'delta_percent', 'direction'];
  if (c.type === 'zscore') return ['zscore', 'direction', 'mean', 'stddev'];
  if (c.type === 'freshness') return ['age', 'age_seconds', 'max_age'];
  if (c.type === 'new_value') return ['first_seen_by_vigil'];
  if (c.type === 'no_data') return ['last_seen_at', 'window', 'silence_for'];
  return [];
}

/** A column a rule judges by, and what its values must be: numbers (threshold, anomaly, zscore) or points in time (freshness, no_data, time:). */
export interface ColumnKind {
  column: string;
  kind: 'number' | 'time';
  /** where the rule names it: ['condition', 'column'], ['time'] */
  key: string[];
}

export function columnKinds(rule: AlertRule): ColumnKind[] {
  const c = rule.condition as Record<string, unknown>;
  const out: ColumnKind[] = rule.time ? [{ column: rule.time, kind: 'time', key: ['time'] }] : [];
  const kind = c.type === 'threshold' || c.type === 'anomaly' || c.type === 'zscore' ? 'number' : c.type === 'freshness' || c.type === 'no_data' ? 'time' : undefined;
  if (kind) for (const k of ['column', 'value', 'baseline', 'zscore']) if (typeof c[k] === 'string') out.push({ column: c[k] as string, kind, key: ['condition', k] });
  if (c.type === 'freshness' && c.sync && !c.column) out.push({ column: 'last_synced_at', kind: 'time', key: ['condition', 'sync'] });
  return out;
}

/**
 * Whether a column of this warehouse type can hold values of the kind (`alerts check
 * --warehouse`): text can (evaluation judges its values), and so can a type the adapter does not
 * name; a number or a boolean is no time, a date or a timestamp no number, and times of day,
 * intervals, bytes, UUIDs, lists and structs neither. A boolean is a number (1 or 0).
 */
export function typeCanHold(t: { numeric: boolean; time?: boolean; type?: string }, kind: ColumnKind['kind']): boolean {
  if (kind === 'number' ? t.numeric : t.time) return true;
  if (t.type === undefined) return true;
  const type = t.type.toUpperCase();
  if (type === 'BOOLEAN' || type === 'BOOL') return kind === 'number';
  if (t.numeric || t.time) return false;
  return !/^(TIME|TIMETZ|TIME WITH TIME ZONE|INTERVAL|BLOB|BYTEA|UUID|BIT|VARBIT)$|^(STRUCT|MAP|UNION)\b|\[\d*\]$/.test(type);
}

/** A value as a message names it: text ('a'), a number (20), a boolean (true), a timestamp (...). */
function describeValue(v: unknown): string {
  const shown = (x: unknown) => redact(String(x)).slice(0, 40);
  if (typeof v === 'string') return `text ('${shown(v)}')`;
  if (typeof v === 'number' || typeof v === 'bigint') return `a number (${shown(v)})`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  if (v instanceof Date) return `a timestamp (${Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString()})`;
  return `a value of another type (${shown(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)))})`;
}

/** Text that is a date or a timestamp (2026-03-01, 2026-03-01 10:00:00+00, ISO), as toEpochMs reads it. */
const isTimeText = (s: string) => /^\d{4}-\d{2}-\d{2}(?:[T ]|$)/.test(s.trim()) && toEpochMs(s) !== undefined;

/**
 * The first value of a column the rule judges by that is not what its condition needs (text in
 * a threshold's column, a number in a freshness column): an error naming the column and the
 * value's type, never a quiet "0 firing" nor an age counted from 1970. NULLs are no data.
 */
export function valueKindProblem(rule: AlertRule, rows: Array<Record<string, unknown>>): string | undefined {
  const kinds = columnKinds(rule);
  for (const r of rows) {
    for (const { column, kind, key } of kinds) {
      const v = r[column];
      if (v === null || v === undefined) continue;
      // judged on the value as judge() reads it: BigQuery's NUMERIC (big.js) as its text, a
      // boolean as 1 or 0 (threshold == 1 on a flag)
      let ok: boolean;
      if (v instanceof Date) ok = kind === 'time' && !Number.isNaN(v.getTime());
      else {
        const j = toJson(v);
        ok = kind === 'number' ? num(j) !== undefined : typeof j === 'string' && isTimeText(j);
      }
      if (ok) continue;
      const why = key[0] === 'time' ? 'time: orders the rows and leaves out those after the evaluation time' : `a ${rule.condition.type} condition ${kind === 'number' ? 'compares numbers' : rule.condition.type === 'freshness' ? 'measures the age of a timestamp' : 'looks for timestamps in its window'}`;
      return `column '${column}' (${key.join('.')}) holds ${describeValue(v)}, not ${kind === 'number' ? 'a number' : 'a timestamp or a date'}: ${why}; cast it in the query`;
    }
  }
  return undefined;
}

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
  const keepWhole = linkColumns(rule);

  const groupBy = groupColumns(rule);
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
    // a rule with active_hours counts the silence inside them: at 08:00 on Monday the weekend is
    // no silence ("no log for 2 hours during business hours" fires at 10:00, not at 08:00)
    const since = ctx.activeHours ? activeSince(ctx.activeHours, at) : undefined;
    const silent = (label: Record<string, string>, rs: Array<Record<string, Json>>): Judged => {
      let last: number | undefined;
      for (const r of rs) {
        const t = toEpochMs(r[c.column]);
        if (t !== undefined && t <= atMs && (last === undefined || t > last)) last = t;
      }
      // (with active_hours: the time inside them since the last row, over every period since it;
      // with no row at all, since the current period began)
      const active = since === undefined ? last === undefined || atMs - last > windowMs : activeWithin(ctx.activeHours!, last ?? since, atMs, windowMs) > windowMs;
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
  // new_value: the first rows judged (a query that worked; not an evaluation skipped outside
  // active hours or failed) are learned quietly
  const bootstrapping = c.type === 'new_value' && runtime.seen === undefined;
  const seen = c.type === 'new_value' ? (runtime.seen ??= {}) : {};

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
          // ±Infinity compares as in SQL (+Inf > 0); NaN, like NULL, meets no comparison
          const x = num(r[c.column]);
          if (!judged(x)) break;
          on = c.op === '>' ? x > c.value : c.op === '>=' ? x >= c.value : c.op === '<' ? x < c.value : c.op === '<=' ? x <= c.value : c.op === '==' ? x === c.value : x !== c.value;
          v.threshold = c.value;
          break;
        }
        case 'anomaly': {
          const x = num(r[c.value]);
          const b = c.baseline ? num(r[c.baseline]) : idx < c.days! ? undefined : median(preceding(ordered, idx, c.days!, c.value));
          if (!judged(x) || !judged(b) || b < c.min_baseline || b <= 0) break;
          const ratio = x / b;
          // (Infinity over an infinite baseline: no ratio)
          if (Number.isNaN(ratio)) break;
          const spike = (c.direction === 'spike' || c.direction === 'both') && ratio > c.spike_ratio;
          const drop = (c.direction === 'drop' || c.direction === 'both') && ratio < c.drop_ratio;
          on = spike || drop;
          Object.assign(v, { baseline: derived(round(b)), ratio: derived(round(ratio, 3)), delta_percent: derived(round((ratio - 1) * 100, 1)), direction: spike ? 'spike' : drop ? 'drop' : 'normal' });
          break;
        }
        case 'zscore': {
          let z: number | undefined;
          if (c.zscore) z = num(r[c.zscore]);
          else if (idx >= c.days!) {
            const x = num(r[c.value!]);
            const prev = preceding(ordered, idx, c.days!, c.value!);
            const { mean, stddev } = meanStddev(prev);
            // (min_baseline only when given: a series of negative values has a negative mean; a
            // history holding ±Infinity has no finite mean or σ, as stddev_samp gives NaN for it: no z-score)
            if (judged(x) && prev.length >= 2 && Number.isFinite(mean) && Number.isFinite(stddev) && stddev > 0 && (c.min_baseline === undefined || mean >= c.min_baseline)) {
              z = (x - mean) / stddev;
              Object.assign(v, { mean: round(mean), stddev: round(stddev) });
            }
          }
          // an infinite value (or z-score column) is infinitely far from the mean; NaN is no value
          if (!judged(z)) break;
          const spike = (c.direction === 'spike' || c.direction === 'both') && z > c.threshold;
          const drop = (c.direction === 'drop' || c.direction === 'both') && z < -c.threshold;
          on = spike || drop;
          Object.assign(v, { zscore: derived(round(z, 2)), direction: spike ? 'spike' : drop ? 'drop' : 'normal' });
          break;
        }
        case 'freshness': {
          const t = toEpochMs(r[c.column ?? 'last_synced_at']);
          const age = t === undefined ? Infinity : atMs - t;
          // source_freshness: the stream's own limit (its source's freshness error_after) where it declares one
          const limit = c.source_freshness ? num(r.source_error_after_seconds) : undefined;
          const own = limit !== undefined && Number.isFinite(limit) ? limit : undefined;
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
        // time:, unless these are the first rows judged (the existing values, learned quietly)
        const firstData = rule.time ? minOf(g.rows.map((r) => toEpochMs(r[rule.time!]) ?? Infinity)) : undefined;
        // (a value whose time is NULL cannot be dated: it is learned quietly)
        active = firstData !== undefined ? Number.isFinite(firstData) && atMs - firstData < durationMs(c.window) : !bootstrapping;
        seen[val] = { first: at.toISOString(), announced: active };
      }
      const vals = activeBest ?? fallback;
      if (vals) vals.first_seen_by_vigil = seen[val].first;
    }
    // the values too, before they are cut (a secret cut in two is found by no search) and rendered
    // into a title, a summary or fields: the message sent first said what its copy in the outbox
    // (through the state's redaction) no longer did
    instances.push({ key, kind: 'row', labels: { ...base, ...g.labels }, active, values: boundValues(redactStrings(activeBest ?? fallback ?? {}), keepWhole) });
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
  const forN = typeof rule.for === 'number' ? Math.max(1, rule.for) : 1;
  const forMs = typeof rule.for === 'string' ? durationMs(rule.for) : 0;
  // the transition this evaluation made of an instance (looked up, not searched for in `out`:
  // a rule with tens of thousands of new instances made that quadratic)
  const made = new Map<InstanceState, Transition>();
  // an instance active in this evaluation: pending from its first, firing once `for:` has passed —
  // the rule's rows, and its error and nodata instances alike
  const activate = (key: string, kind: InstanceState['kind'], labels: InstanceState['labels'], values: Record<string, Json>): InstanceState => {
    let cur = instances[key];
    if (!cur || cur.status === 'resolved') {
      const from = cur ? ('resolved' as const) : ('inactive' as const);
      cur = instances[key] = { key, alert: rule.name, kind, labels, status: 'pending', activeSince: iso, lastActiveAt: iso, consecutive: 0, values, notified: cur?.notified ?? {} };
      const t: Transition = { instance: cur, from, to: 'pending' };
      out.push(t);
      made.set(cur, t);
    }
    cur.consecutive++;
    cur.values = values;
    cur.labels = labels;
    cur.lastActiveAt = iso;
    if (cur.status === 'pending' && cur.consecutive >= forN && at.getTime() - Date.parse(cur.activeSince) >= forMs) {
      cur.status = 'firing';
      cur.firedAt = iso;
      // one transition per evaluation: inactive->pending becomes inactive->firing
      const t = made.get(cur);
      if (t?.to === 'pending') t.to = 'firing';
      else out.push({ instance: cur, from: 'pending', to: 'firing' });
    }
    return cur;
  };
  // the error and nodata instances wait for `for:` too, as Grafana's Error and No Data states honour
  // the pending period (Normal -> Pending -> Error): one failed query does not page a rule that asked
  // for three evaluations in a row; ended while pending, it is silent
  const special = (kind: 'error' | 'nodata', active: boolean, values: Record<string, Json>) => {
    const key = instanceKey(rule.name, {}, kind);
    const cur = instances[key];
    if (active) activate(key, kind, { ...baseLabels(rule), vigil_state: kind }, values);
    else if (cur?.status === 'pending') {
      delete instances[key];
      out.push({ instance: cur, from: 'pending', to: 'inactive' });
    } else if (cur?.status === 'firing') {
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

  // (outside its active hours the rule does not apply: what fired resolves, not held by keep_firing_for)
  const keepMs = rule.keep_firing_for && inActiveHours(ctx, at) ? durationMs(rule.keep_firing_for) : 0;
  const judged = new Map(outcome.judged.map((j) => [j.key, j]));

  for (const j of outcome.judged) {
    if (!j.active) continue;
    delete activate(j.key, 'row', j.labels, j.values).keepFiringSince;
  }
  for (const cur of mine) {
    if (cur.kind !== 'row') continue;
    const j = judged.get(cur.key);
    if (j?.active) continue;
    if (cur.status === 'pending') {
      delete instances[cur.key];
      out.push({ instance: cur, from: 'pending', to: 'inactive' });
    } else if (cur.status === 'firing') {
      // as Prometheus: the hold starts at the first evaluation that finds the condition off (a
      // state without keepFiringSince, an older Vigil's, starts it now)
      if (keepMs) {
        cur.keepFiringSince ??= iso;
        // (held: it keeps the values it last met the condition with, as Prometheus keeps a held
        // alert's last annotations)
        if (at.getTime() - Date.parse(cur.keepFiringSince) < keepMs) continue;
      }
      // it resolves with the values it last fired with (not this evaluation's, which made it
      // resolve): its resolve messages and the history's resolved row tell what the incident was
      delete cur.keepFiringSince;
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
env.addGlobal('cycler', jinjaCycler);
// `{{ delta_percent | signed }}`: +12.5 / -3 / 0, for deltas in messages
// (a whole float, PyFloat, prints as Python does: +25.0)
env.addFilter('signed', (v: unknown) => (typeof unbox(v) === 'number' && (unbox(v) as number) > 0 ? `+${v}` : String(v ?? '')));
// Jinja's round and abs refuse a NULL (Python's TypeError), as its arithmetic does (py-values.ts
// pyArith): nunjucks' gave 0, and a NULL ratio read "0" in a page
for (const [name, why] of [['round', "type NoneType doesn't define __round__ method"], ['abs', "bad operand type for abs(): 'NoneType'"]] as const) {
  const builtin = env.getFilter(name) as (v: unknown, ...args: unknown[]) => unknown;
  env.addFilter(name, (v: unknown, ...args: unknown[]) => {
    if (unbox(v) === null) throw new Error(why);
    return builtin(v, ...args);
  });
}

/**
 * A template compiled once per text (nunjucks' renderString compiles on every call: ~1 ms for
 * a summary, paid per instance and again by each check at load). Throws the compile's error.
 */
const compiled = new Map<string, nunjucks.Template>();
export function compileTemplate(text: string): nunjucks.Template {
  let t = compiled.get(text);
  if (!t) {
    // (the 4th argument, eager, is missing from the typings: compile now, so errors surface here)
    t = alertCompile(() => new (nunjucks.Template as unknown as new (src: string, env: nunjucks.Environment, path: undefined, eager: boolean) => nunjucks.Template)(text, env, undefined, true));
    if (compiled.size >= 2000) compiled.clear();
    compiled.set(text, t);
  }
  return t;
}

type TemplateContext = Record<string, unknown>;
const contextOf = (inst: Pick<InstanceState, 'labels' | 'values' | 'alert'>, rule?: AlertRule): TemplateContext => {
  // (their members are read by key, strictly or not, here: template-strict.ts leaves them alone)
  INSTANCE_MAPS.add(inst.labels);
  INSTANCE_MAPS.add(inst.values);
  return { ...inst.values, labels: inst.labels, values: inst.values, alert: inst.alert, severity: rule?.severity ?? inst.labels.severity };
};

/**
 * The `labels` and `values` a row's template renders with: a key they lack, read where the scan
 * of the template cannot see which (`values['n' ~ 'n']`, `(labels).x`, `{% set l = labels %}`),
 * is an error at render, never ''. The keys the template names are left to the scan (it
 * decided about them: shown as written, or guarded), and so are the maps a guard reads by a
 * computed key (`values[k] | default('-')`).
 */
const strictMaps = new WeakMap<object, { map: string; lenient: ReadonlySet<string> }>();
/** The strict lookup that failed in the render under way. */
let strictMiss: { map: string; key: string; hint?: string } | undefined;
{
  const rt = (nunjucks as unknown as { runtime: { memberLookup: (...a: unknown[]) => unknown } }).runtime;
  const memberLookup = rt.memberLookup;
  rt.memberLookup = function (this: unknown, ...args: unknown[]) {
    const [obj, val] = args;
    const m = args.length < 4 && obj && typeof obj === 'object' ? strictMaps.get(obj) : undefined;
    if (m && (typeof val === 'string' || typeof val === 'number')) {
      const key = String(val);
      if (!Object.hasOwn(obj as object, key) && !DICT_METHODS.has(key) && !m.lenient.has(key)) {
        strictMiss = { map: m.map, key, hint: didYouMean(key, Object.keys(obj as object)) };
        throw new Error(`'${m.map}' has no key '${key}'`);
      }
    }
    return memberLookup.apply(this, args);
  };
}

/** Where each rule's templates are (file:line, by text): named by an error found when one renders. */
const templatePlaces = new WeakMap<AlertRule, Map<string, string>>();
/** Say where `rule`'s template `text` is written (load-alerts.ts). */
export function placeTemplate(rule: AlertRule, text: string, place: string): void {
  let m = templatePlaces.get(rule);
  if (!m) templatePlaces.set(rule, (m = new Map()));
  if (!m.has(text)) m.set(text, place);
}

/** The context of a row's render, its maps strict (an error or no-data instance's stay lenient: a row's keys are absent on purpose). */
function strictContext(template: string, inst: Pick<InstanceState, 'labels' | 'values' | 'alert'> & { kind?: InstanceState['kind'] }, rule?: AlertRule, maps: ReadonlySet<string> = MAPS): TemplateContext {
  const ctx = contextOf(inst, rule);
  if (inst.kind !== undefined && inst.kind !== 'row') return ctx;
  const uses = templateUses(template);
  for (const map of maps) {
    if (uses.guardedMaps.has(map)) continue;
    const copy = { ...(ctx[map] as Record<string, unknown>) };
    strictMaps.set(copy, { map, lenient: uses.named });
    INSTANCE_MAPS.add(copy);
    ctx[map] = copy;
  }
  return ctx;
}

/** The message of a strict lookup's failure, with the nearest key and where the template is. */
function strictMissMessage(miss: NonNullable<typeof strictMiss>, template: string, rule?: AlertRule): string {
  const place = rule && templatePlaces.get(rule)?.get(template);
  return `'${miss.map}' has no key '${miss.key}'${miss.hint !== undefined ? ` — did you mean '${miss.hint}'?` : ''}${place ? ` (${place})` : ''}`;
}

/**
 * Render a summary/details/link template over an instance's labels and values. A name it reads
 * that the instance does not have (a typo, a column the query lost) never becomes empty text or
 * 'undefined', wherever it is read (printed, filtered, an operand, a filter's argument): the
 * `{{ }}` reading it is shown as written, `{{ capabilty | upper }}`; read by a tag
 * (`{% if capabilty %}`), the whole template is, with `(template error: ...)`. Only the guards
 * the docs give let a name be missing: `is defined`, `| default(...)`, `a or b`.
 * `unknownTemplateNames` says which.
 */
export function renderTemplate(template: string, inst: Pick<InstanceState, 'labels' | 'values' | 'alert'> & { kind?: InstanceState['kind'] }, rule?: AlertRule): string {
  return render(template, inst, rule).text;
}

/**
 * Why `template` cannot render for `inst` (what renderTemplate shows after it as `(template
 * error: ...)`); undefined when it renders. The evaluation warns with it.
 */
export function templateError(template: string, inst: Pick<InstanceState, 'labels' | 'values' | 'alert'> & { kind?: InstanceState['kind'] }, rule?: AlertRule): string | undefined {
  return render(template, inst, rule).error;
}

function render(template: string, inst: Pick<InstanceState, 'labels' | 'values' | 'alert'> & { kind?: InstanceState['kind'] }, rule?: AlertRule): { text: string; error?: string } {
  try {
    const ctx = contextOf(inst, rule);
    const missing = missingReads(template, ctx, inst.kind);
    // an error or no-data instance has no row: what reads a row's value is left empty (a link
    // stays a link, to the unfiltered page), a tag sees it undefined — as its label keys
    const rowless = inst.kind !== undefined && inst.kind !== 'row';
    const inTag = rowless ? undefined : missing.find((m) => !m.output);
    if (inTag) return failed(template, `'${inTag.name}' is undefined`);
    let text = template;
    // from the last: the spans before keep their offsets
    const spans = [...new Map(missing.filter((m) => m.output).map((m) => [m.output![0], m.output!])).values()].sort((a, b) => b[0] - a[0]);
    for (const [s, e] of spans) text = `${text.slice(0, s)}${rowless ? '' : `{% raw %}${text.slice(s, e)}{% endraw %}`}${text.slice(e)}`;
    strictMiss = undefined;
    clearMemberMiss();
    return { text: compileTemplate(text).render(strictContext(template, inst, rule)) };
  } catch (e) {
    const message = strictMiss
      ? strictMissMessage(strictMiss, template, rule)
      : memberMiss
        ? memberMissMessage(memberMiss)
        : (e as Error).message.includes(PRINTED_FUNCTION)
          ? 'a value it prints is a function: call it, with ()'
          : ((e as Error).message.split('\n').pop()?.trim() ?? '').replace(/^Error: /, '');
    return failed(template, message);
  }
}

/** A template that cannot render is shown as written, with why: never as empty text. */
const failed = (template: string, error: string) => ({ text: `${template} (template error: ${error})`, error });

const memberMissMessage = (m: MemberMiss) => `'${m.expr}' is undefined: ${m.why}`;

/** What a render of `template` over a stand-in row (each of `values` `value`, each label MARK) found missing: a key of a map, or a member of a value. */
function standInMiss(template: string, rule: AlertRule, labels: string[], values: string[], value: Json, maps: ReadonlySet<string>): { threw?: boolean; key?: NonNullable<typeof strictMiss>; member?: MemberMiss } {
  strictMiss = undefined;
  clearMemberMiss();
  try {
    compileTemplate(template).render(strictContext(template, { alert: rule.name, labels: Object.fromEntries(labels.map((k) => [k, MARK])), values: Object.fromEntries(values.map((k) => [k, value])) }, rule, maps));
  } catch {
    return { threw: true, key: strictMiss, member: memberMiss };
  }
  return {};
}

/**
 * Whether a member a stand-in row's render found missing is missing whatever the row: one read
 * by name (an attribute: a value's type decides, text has its methods only), unless of a dict
 * with a row's value for a key; one by position, of a list the template writes (`[1, 2][5]`).
 */
function alwaysMissing(m: MemberMiss): boolean {
  if (!m.byName) return m.constant;
  const obj = unbox(m.obj);
  return !(obj && typeof obj === 'object' && !Array.isArray(obj) && holdsMark(Object.keys(obj)));
}

/** Whether a value is made of a stand-in row's (MARK in it). */
function holdsMark(v: unknown): boolean {
  const u = unbox(v);
  if (typeof u === 'string') return u.includes(MARK);
  if (Array.isArray(u)) return u.some(holdsMark);
  return !!u && typeof u === 'object' && Object.entries(u).some(([k, x]) => k.includes(MARK) || holdsMark(x));
}

/** The names a template's expressions are made of (`{{ a.b }}`: a). */
function symbolsOf(template: string): string[] {
  const out = new Set<string>();
  walkTree(templateTree(template), (n) => {
    if (n.typename === 'Symbol') out.add(String(n.value));
  });
  return [...out];
}

/** The key of `labels` or `values` a template reads by a computed key (or through a variable) that the instance lacks: found by rendering it. */
function strictReadMiss(template: string, inst: Pick<InstanceState, 'labels' | 'values' | 'alert'>, rule?: AlertRule, maps?: ReadonlySet<string>): NonNullable<typeof strictMiss> | undefined {
  strictMiss = undefined;
  try {
    compileTemplate(template).render(strictContext(template, inst, rule, maps));
  } catch {
    return strictMiss;
  }
  return undefined;
}

/**
 * The names `template` reads that an instance of `rule` lacks, each with the nearest it has (or
 * `why`, for an attribute or an `a or b`) and what is shown in its place (the `{{ }}` as written;
 * undefined: the whole template).
 */
export function unknownTemplateNames(template: string, inst: Pick<InstanceState, 'labels' | 'values' | 'alert'>, rule?: AlertRule): Array<{ name: string; hint?: string; shown?: string; why?: string }> {
  const ctx = contextOf(inst, rule);
  const seen = new Map<string, { name: string; hint?: string; shown?: string; why?: string }>();
  for (const m of missingReads(template, ctx)) {
    if (seen.has(m.name)) continue;
    const shown = m.output && template.slice(...m.output);
    if (m.attribute) {
      seen.set(m.name, { name: m.name, shown, why: `${m.name.slice(0, m.name.lastIndexOf('.'))} has no attribute '${m.name.slice(m.name.lastIndexOf('.') + 1)}'` });
      continue;
    }
    const mk = mapKey(m.name);
    if (!mk) seen.set(m.name, { name: m.name, hint: didYouMean(m.name, Object.keys(ctx)), shown });
    else {
      const hint = didYouMean(mk[1], Object.keys((ctx[mk[0]] as Record<string, unknown> | undefined) ?? {}));
      seen.set(m.name, { name: m.name, hint: hint === undefined ? undefined : `${mk[0]}.${hint}`, shown });
    }
  }
  if (!seen.size) {
    const miss = strictReadMiss(template, inst, rule);
    if (miss) {
      const place = rule && templatePlaces.get(rule)?.get(template);
      seen.set(`${miss.map}.${miss.key}`, { name: `${miss.map}.${miss.key}`, hint: miss.hint === undefined ? undefined : `${miss.map}.${miss.hint}`, why: `read by a computed key${place ? ` at ${place}` : ''}, which its rows do not have` });
    }
  }
  return [...seen.values()];
}

/** The reads of `template` an instance (its context) cannot answer. */
function missingReads(template: string, ctx: TemplateContext, kind?: InstanceState['kind']): Array<Read & { attribute?: boolean }> {
  const uses = templateUses(template);
  const lacks = (n: string): boolean => {
    const mk = mapKey(n);
    // (an error or no-data instance has only the rule's labels: a row's keys are absent on purpose)
    if (mk) return (kind === undefined || kind === 'row') && !Object.hasOwn((ctx[mk[0]] as object | undefined) ?? {}, mk[1]) && !DICT_METHODS.has(mk[1]);
    return !Object.hasOwn(ctx, n);
  };
  const out: Array<Read & { attribute?: boolean }> = uses.reads.filter((r) => lacks(r.name));
  for (const a of uses.attributes) {
    if (lacks(a.of)) continue;
    const mk = mapKey(a.of);
    const v = mk ? (ctx[mk[0]] as Record<string, unknown>)[mk[1]] : ctx[a.of];
    if (!attributeOk(v, a.attr)) out.push({ name: `${a.of}.${a.attr}`, output: a.output, attribute: true });
  }
  return out;
}

/** An instance's values are text, numbers, booleans or NULL: the attributes they have are a string's methods. */
const attributeOk = (v: unknown, attr: string): boolean => typeof v === 'string' && Object.hasOwn(STRING_MEMBERS, attr);

// (True, False and None are names to nunjucks' parser, values at render: Jinja's spellings)
// (Jinja's `joiner()` and `cycler()` too, nunjucks' as Jinja's: a row's column of that name is
// read before them; `caller` outside a macro's body is a name like any other: NUNJUCKS_NAMES)
const GLOBALS: Record<string, unknown> = { range: 1, loop: 1, True: 1, False: 1, None: 1, joiner: 1, cycler: 1 };
/** What a template reads (docs/alerts.md). */
const TEMPLATE_NAMES_HELP = "templates read a row's column, a derived value, labels, values, alert, severity, range(), joiner(), cycler(), and loop in a {% for %}";
/** Names nunjucks has that alert templates do not: why, where the rules load. */
const NUNJUCKS_NAMES: Record<string, string> = {
  caller: 'which is there only in the body of a {% macro %} called by {% call %}',
};
/** What nunjucks' `loop` has inside a {% for %}. */
const LOOP_ATTRIBUTES = ['index', 'index0', 'revindex', 'revindex0', 'first', 'last', 'length'];
/** The methods nunjucks' Jinja additions give a dict (`labels.items()`). */
const DICT_METHODS = new Set(['items', 'keys', 'values', 'get', 'has_key', 'pop', 'popitem', 'setdefault', 'update', 'iteritems', 'iterkeys', 'itervalues']);
/** The maps of an instance a template may print keys of: `labels.capability`, `values.n`. */
const MAPS = new Set(['labels', 'values']);
/** What a template sees besides the row's values (contextOf). */
const TEMPLATE_VARIABLES = ['labels', 'values', 'alert', 'severity'];

/** `labels.x` -> ['labels', 'x'] when it names a key of an instance's map. */
function mapKey(name: string): [string, string] | undefined {
  const dot = name.indexOf('.');
  return dot > 0 && MAPS.has(name.slice(0, dot)) ? [name.slice(0, dot), name.slice(dot + 1)] : undefined;
}

/** A node of a template's parse tree (nunjucks' nodes): the fields this module reads. */
type TemplateNode = { typename?: string; fields?: string[]; children?: TemplateNode[]; value?: unknown; args?: TemplateNode; name?: { value?: unknown }; lineno?: number; colno?: number; [k: string]: unknown };

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

/** The stand-in for every value of a row a template is tried on when the rules are checked. */
const MARK = '\u0000';

/** `(x)` is `x`. */
function ungroup(n: TemplateNode | undefined): TemplateNode | undefined {
  while (n?.typename === 'Group' && n.children?.length === 1) n = n.children[0];
  return n;
}

/** A template's parse tree; undefined when it does not parse (reported when the rules load). */
function templateTree(template: string): unknown {
  try {
    return (nunjucks as unknown as { parser: { parse: (src: string) => unknown } }).parser.parse(template);
  } catch {
    return undefined;
  }
}

/** A read of a name an instance gives: `capability`, or a key of its maps, `labels.team`; `output`: the `{{ }}` it is in (offsets), none in a tag. */
interface Read {
  name: string;
  output?: [number, number];
}
interface TemplateUses {
  /** the names read whose absence nothing handles */
  reads: Read[];
  /** the keys of `labels` / `values` the template names (`labels.team`), guarded or not */
  named: Set<string>;
  /** the maps a guard reads by a computed key (`values[k] | default('-')`): lenient at render */
  guardedMaps: Set<string>;
  /** `alert.name`: an attribute of a name's value (a map's are its keys: `labels.team` is a read) */
  attributes: Array<{ of: string; attr: string; output?: [number, number] }>;
  /** `loop` outside a {% for %}, `loop.indx`: nunjucks renders either as empty text */
  loops: Array<{ name: string; hint?: string; why: string }>;
}
const usesCache = new Map<string, TemplateUses>();

/**
 * The names a template reads, anywhere (printed, operands, filters and their arguments,
 * attribute chains, conditions), not bound by {% for %} / {% set %} / {% macro %}, except where
 * the docs let one be missing: tested by `is defined` / `is undefined` (and read in the branch
 * where it is defined), given `| default(...)`, or an operand of `a or b`.
 */
function templateUses(template: string): TemplateUses {
  const known = usesCache.get(template);
  if (known) return known;
  type N = TemplateNode;
  const uses: TemplateUses = { reads: [], named: new Set(), guardedMaps: new Set(), attributes: [], loops: [] };
  const tree = templateTree(template);
  const bound = new Set<string>();
  const names = (n: unknown): string[] => (Array.isArray(n) ? n.flatMap(names) : (n as N)?.typename === 'Symbol' ? [String((n as N).value)] : (n as N)?.typename === 'Array' || (n as N)?.typename === 'NodeList' ? ((n as N).children ?? []).flatMap(names) : []);
  walkTree(tree, (node) => {
    if (node.typename === 'For' || node.typename === 'AsyncEach' || node.typename === 'AsyncAll') for (const x of names(node.name)) bound.add(x);
    if (node.typename === 'Set') for (const x of names(node.targets)) bound.add(x);
    if (node.typename === 'Macro') {
      // its name, its parameters and those with a default (`b=1`: a keyword's pair)
      const kw = ((node.args as TemplateNode | undefined)?.children ?? []).filter((c) => c.typename === 'KeywordArgs').flatMap((c) => (c.children ?? []).map((p) => p.key));
      for (const x of [...names(node.name), ...names(node.args), ...names(kw)]) bound.add(x);
    }
  });
  /** the name an expression is: a symbol, or `labels.x` / `values.x` (`labels['x']`) */
  const nameOf = (n: N | undefined): string | undefined => {
    if (n?.typename === 'Symbol') {
      const v = String(n.value);
      return bound.has(v) || v in GLOBALS ? undefined : v;
    }
    if (n?.typename === 'FunCall') {
      // `labels.get('team')` without a default reads labels.team as `labels.team` does
      const fn = n.name as N | undefined;
      const target = ungroup(fn?.target as N | undefined);
      const args = (n.args as N | undefined)?.children ?? [];
      const key = args[0];
      if (fn?.typename !== 'LookupVal' || (fn.val as N | undefined)?.value !== 'get' || target?.typename !== 'Symbol' || !MAPS.has(String(target.value)) || bound.has(String(target.value))) return undefined;
      if (args.length !== 1 || key?.typename !== 'Literal' || typeof key.value !== 'string') return undefined;
      uses.named.add(key.value);
      return `${String(target.value)}.${key.value}`;
    }
    if (n?.typename !== 'LookupVal') return undefined;
    // (`(labels).team` is `labels.team`)
    const target = ungroup(n.target as N | undefined);
    const val = n.val as N | undefined;
    if (target?.typename !== 'Symbol' || !MAPS.has(String(target.value)) || bound.has(String(target.value)) || val?.typename !== 'Literal' || typeof val.value !== 'string') return undefined;
    uses.named.add(val.value);
    return `${String(target.value)}.${val.value}`;
  };
  /** the map `n` reads by a computed key (`values['n' ~ 'n']`) */
  const computedMap = (n: N | undefined): string | undefined => {
    if (n?.typename !== 'LookupVal') return undefined;
    const target = ungroup(n.target as N | undefined);
    const val = n.val as N | undefined;
    const map = target?.typename === 'Symbol' ? String(target.value) : undefined;
    return map && MAPS.has(map) && !bound.has(map) && !(val?.typename === 'Literal' && typeof val.value === 'string') ? map : undefined;
  };
  /** a guard's operand: a computed key of a map leaves the map lenient */
  const guarded = (n: N | undefined): void => {
    const map = computedMap(ungroup(n));
    if (map) uses.guardedMaps.add(map);
  };
  const testOf = (n: N): string | undefined => {
    const t = n.right as N | undefined;
    return String(t?.typename === 'FunCall' ? (t.name as N | undefined)?.value : t?.value);
  };
  /** the names known defined where `cond` is `when` */
  const definedIf = (cond: N | undefined, when: boolean): string[] => {
    if (!cond) return [];
    if (cond.typename === 'Not') return definedIf(cond.target as N, !when);
    if (cond.typename === 'Group' && cond.children?.length === 1) return definedIf(cond.children[0], when);
    if (cond.typename === 'Is') {
      const name = nameOf(cond.left as N);
      const t = testOf(cond);
      return name !== undefined && (t === 'defined' || t === 'undefined') && (t === 'defined') === when ? [name] : [];
    }
    if (cond.typename === (when ? 'And' : 'Or')) return [...definedIf(cond.left as N, when), ...definedIf(cond.right as N, when)];
    return [];
  };
  const lines = [0];
  for (let i = 0; i < template.length; i++) if (template[i] === '\n') lines.push(i + 1);
  /** the source of an output `{{ ... }}`, as offsets */
  const spanOf = (node: N): [number, number] | undefined => {
    const start = (lines[node.lineno ?? 0] ?? 0) + (node.colno ?? 0);
    if (!template.startsWith('{{', start)) return undefined;
    const lx = (nunjucks as unknown as { lexer: { lex: (s: string) => { nextToken(): { type: string } | null; index: number } } }).lexer.lex(template.slice(start));
    for (let t = lx.nextToken(); t; t = lx.nextToken()) if (t.type === 'variable-end') return [start, start + lx.index];
    return undefined;
  };
  type Cx = { defined: Set<string>; output?: [number, number]; inLoop?: boolean };
  const loopIsOurs = !bound.has('loop');
  const more = (cx: Cx, defined: string[]): Cx => (defined.length ? { ...cx, defined: new Set([...cx.defined, ...defined]) } : cx);
  const walk = (n: unknown, cx: Cx): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach((x) => walk(x, cx));
    const node = n as N;
    switch (node.typename) {
      case 'Output': {
        const output = spanOf(node);
        for (const c of node.children ?? []) if (c.typename !== 'TemplateData') walk(c, { ...cx, output });
        return;
      }
      case 'For':
      case 'AsyncEach':
      case 'AsyncAll':
        // `loop` is defined in the body only (not in the else: of an empty sequence)
        walk(node.arr, cx);
        walk(node.body, { ...cx, inLoop: true });
        walk(node.else_, { ...cx, inLoop: false });
        return;
      case 'FunCall': {
        const name = nameOf(node);
        if (name === undefined) break;
        if (!cx.defined.has(name)) uses.reads.push({ name, output: cx.output });
        return;
      }
      case 'Macro':
        // `caller` is the {% call %} block's, in a macro's body
        walk(node.args, cx);
        walk(node.body, more(cx, ['caller']));
        return;
      case 'Caller':
        // (a {% call %} block: its name is nunjucks' `caller`, no read)
        walk(node.args, cx);
        walk(node.body, cx);
        return;
      case 'If':
      case 'IfAsync':
      case 'InlineIf':
        walk(node.cond, cx);
        walk(node.body, more(cx, definedIf(node.cond as N, true)));
        walk(node.else_, more(cx, definedIf(node.cond as N, false)));
        return;
      case 'Is': {
        const t = testOf(node);
        if (t === 'defined' || t === 'undefined') guarded(node.left as N);
        // `x is defined` asks what a read would need
        if ((t === 'defined' || t === 'undefined') && nameOf(node.left as N) !== undefined) return;
        walk(node.left, cx);
        if ((node.right as N | undefined)?.typename === 'FunCall') walk((node.right as N).args, cx);
        return;
      }
      case 'And':
        walk(node.left, cx);
        walk(node.right, more(cx, definedIf(node.left as N, true)));
        return;
      case 'Or': {
        const ops: N[] = [];
        const flat = (x: N): void => {
          if (x.typename !== 'Or') ops.push(x);
          else (flat(x.left as N), flat(x.right as N));
        };
        flat(node);
        // a name operand may be missing (defaults shared by rules with other columns: docs/alerts.md)
        let at = cx;
        for (const o of ops) {
          guarded(o);
          if (nameOf(o) === undefined) walk(o, at);
          at = more(at, definedIf(o, false));
        }
        return;
      }
      case 'Filter': {
        const [input, ...rest] = node.args?.children ?? [];
        if (ABSENCE_FILTERS.has(String(node.name?.value))) guarded(input);
        if (!(ABSENCE_FILTERS.has(String(node.name?.value)) && nameOf(input) !== undefined)) walk(input, cx);
        walk(rest, cx);
        return;
      }
      case 'Symbol': {
        if (node.value === 'loop' && loopIsOurs && !cx.inLoop) uses.loops.push({ name: 'loop', why: 'outside a {% for %} loop, where there is no loop (it would show as empty text)' });
        const name = nameOf(node);
        if (name !== undefined && !cx.defined.has(name)) uses.reads.push({ name, output: cx.output });
        return;
      }
      case 'LookupVal': {
        const name = nameOf(node);
        if (name !== undefined) {
          if (!cx.defined.has(name)) uses.reads.push({ name, output: cx.output });
          return;
        }
        walk(node.target, cx);
        const val = node.val as N | undefined;
        const loopTarget = ungroup(node.target as N);
        if (loopTarget?.typename === 'Symbol' && loopTarget.value === 'loop' && loopIsOurs && cx.inLoop && val?.typename === 'Literal' && typeof val.value === 'string' && !LOOP_ATTRIBUTES.includes(val.value)) {
          const hint = didYouMean(val.value, LOOP_ATTRIBUTES);
          uses.loops.push({ name: `loop.${val.value}`, hint: hint && `loop.${hint}`, why: `which a loop has not (it has ${LOOP_ATTRIBUTES.join(', ')})` });
        }
        const of = nameOf(ungroup(node.target as N));
        if (val?.typename === 'Literal' && typeof val.value === 'string') {
          if (of !== undefined && !MAPS.has(of)) uses.attributes.push({ of, attr: val.value, output: cx.output });
        } else walk(val, cx);
        return;
      }
      case 'Dict':
        // a dict's key is an expression, as in Jinja (`{k: 1}` reads k; jinja-compat.ts): a read
        for (const p of (node.children ?? []) as N[]) {
          const key = p.key as N | undefined;
          if (!(key?.typename === 'Literal' && typeof key.value === 'string')) walk(key, cx);
          walk(p.value, cx);
        }
        return;
      case 'Pair':
        // a keyword argument's name: no read
        walk(node.value, cx);
        return;
    }
    if (node.children) walk(node.children, cx);
    for (const f of node.fields ?? []) if (f !== 'children') walk(node[f], cx);
  };
  walk(tree, { defined: new Set() });
  usesCache.set(template, uses);
  return uses;
}

/**
 * What a template may read of an instance of `rule`, as far as the rule says before its query
 * runs: `columns`, the row's columns when they are known (a documented model, the sync state
 * rows); undefined when only the query's result will tell.
 */
export function templateProblems(template: string, rule: AlertRule, columns: string[] | undefined): Array<{ name: string; hint?: string; why?: string; attribute?: boolean; help?: string }> {
  const uses = templateUses(template);
  const labels = [...Object.keys(baseLabels(rule)), ...groupColumns(rule)];
  const values = rule.condition.type === 'no_data' ? derivedValues(rule) : columns && [...columns, ...derivedValues(rule)];
  const top = values && [...values, ...TEMPLATE_VARIABLES];
  const lacks = (n: string): boolean => {
    const mk = mapKey(n);
    if (mk) return !DICT_METHODS.has(mk[1]) && (mk[0] === 'labels' ? !labels.includes(mk[1]) : !!values && !values.includes(mk[1]));
    // (nunjucks' name, unless a column the rules say: a query's column of that name is values.joiner)
    if (Object.hasOwn(NUNJUCKS_NAMES, n)) return !top?.includes(n);
    return !!top && !top.includes(n);
  };
  const hintFor = (n: string): string | undefined => {
    const mk = mapKey(n);
    if (!mk) return top && didYouMean(n, top);
    const h = didYouMean(mk[1], mk[0] === 'labels' ? labels : (values ?? []));
    return h === undefined ? undefined : `${mk[0]}.${h}`;
  };
  const out = new Map<string, { name: string; hint?: string; why?: string; attribute?: boolean; help?: string }>();
  for (const r of uses.reads) if (lacks(r.name) && !out.has(r.name)) out.set(r.name, Object.hasOwn(NUNJUCKS_NAMES, r.name) ? { name: r.name, hint: hintFor(r.name), why: NUNJUCKS_NAMES[r.name], help: TEMPLATE_NAMES_HELP } : { name: r.name, hint: hintFor(r.name) });
  // (no guard makes them read something: no guard hint)
  for (const l of uses.loops) if (!out.has(l.name)) out.set(l.name, { ...l, attribute: true });
  let member: MemberMiss | undefined;
  let row: string[] = [];
  let maps: ReadonlySet<string> = MAPS;
  if (!out.size) {
    // a key computed from constants (`values['n' ~ 'n']`): rendered over a stand-in row, each
    // value MARK; a key made of a value (`values[labels.col]`) has MARK in it and is left to the render.
    // (the row's columns unknown, a `query:`'s: each name the template reads stands in for one)
    row = values ?? symbolsOf(template).filter((n) => !(n in GLOBALS) && !TEMPLATE_VARIABLES.includes(n));
    maps = new Set(values ? MAPS : ['labels']);
    const miss = standInMiss(template, rule, labels, row, MARK, maps);
    if (miss.key && !miss.key.key.includes(MARK)) {
      const name = `${miss.key.map}.${miss.key.key}`;
      out.set(name, { name, hint: miss.key.hint === undefined ? undefined : `${miss.key.map}.${miss.key.hint}`, why: 'a key computed in the template, which its instances do not have' });
    } else if (miss.member) member = miss.member;
  }
  for (const a of uses.attributes) {
    if (lacks(a.of) || Object.hasOwn(STRING_MEMBERS, a.attr)) continue;
    const name = `${a.of}.${a.attr}`;
    const what = a.of === 'alert' ? "the rule's name (text)" : a.of === 'severity' ? "the rule's severity (text)" : mapKey(a.of)?.[0] === 'labels' ? 'a label value (text)' : "a row's value (text, a number or NULL)";
    if (!out.has(name)) out.set(name, { name, why: `but ${a.of} is ${what}, which has no attribute '${a.attr}'`, attribute: true });
  }
  // a member a value has not, whatever the row (`{% for k in labels %}{{ k.nme }}`: a label's name
  // is text; `[1, 2][5]`): over a row of text, and not rendered over one of numbers either
  if (!out.size && member && alwaysMissing(member) && standInMiss(template, rule, labels, row, 0, maps).threw) {
    // (text made of a row's value: the value may be a number, the type is not said)
    const why = typeof unbox(member.obj) === 'string' && holdsMark(member.obj) ? `a value made of the row's has no attribute '${member.key}'${member.hint !== undefined ? ` — did you mean '${member.hint}'?` : ''}` : member.why;
    out.set(member.expr, { name: member.expr, why: `which is always undefined: ${why}`, attribute: true });
  }
  return [...out.values()];
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

/**
 * The tags a template uses that read another template (`{% include %}`, `{% import %}`, `{% from
 * %}`, `{% extends %}`): an alert template is its own text, there is none to read, and each
 * notification would carry the error. Checked when the rules load.
 */
export function otherTemplateTags(template: string): string[] {
  const TAGS: Record<string, string> = { Include: 'include', Import: 'import', FromImport: 'from', Extends: 'extends' };
  const found = new Set<string>();
  walkTree(templateTree(template), (node) => {
    if (node.typename && Object.hasOwn(TAGS, node.typename)) found.add(TAGS[node.typename]);
  });
  return [...found];
}

/** A rule's message templates: where each is (its key, and its path in the rule) and its text. */
export function messageTemplates(rule: AlertRule): Array<{ where: string; path: string[]; text: string }> {
  const out: Array<{ where: string; path: string[]; text: string }> = [];
  for (const key of ['summary', 'title', 'details', 'description'] as const) if (rule[key]) out.push({ where: key, path: [key], text: rule[key]! });
  for (const key of ['fields', 'links', 'pagerduty'] as const) for (const [k, v] of Object.entries(rule[key] ?? {})) if (typeof v === 'string') out.push({ where: `${key}.${k}`, path: [key, k], text: v });
  return out;
}

export function summaryOf(inst: InstanceState, rule: AlertRule): string {
  if (inst.kind === 'error') return `[${rule.name}] could not be evaluated: ${String(inst.values.error ?? 'unknown error')}`;
  if (inst.kind === 'nodata') return `[${rule.name}] no data: the query returned no rows`;
  return renderTemplate(rule.summary, inst, rule);
}

export const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, error: 1, warning: 2, info: 3 };
