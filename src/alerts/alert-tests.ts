/**
 * `vigil alerts test`: promtool-style offline tests. Each test gives rows for the relations an
 * alert reads, then a sequence of evaluation times, and expects the instances' states and the
 * notifications each evaluation queues. Runs on an in-memory DuckDB with the real engine,
 * routing and payload builders; state lives in memory; nothing is sent.
 */
import type { Adapter } from '../adapters/adapter.js';
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import type { ColumnInfo, Manifest } from '../compile/manifest.js';
import { parseCsv, parseInput, readCsv, rowsSelect, seedColumns, type Scalar } from '../testing/unit-tests.js';
import { stringTextAt } from '../project/yaml-source.js';
import { advance, inActiveHours, judge, type InstanceState } from './engine.js';
import { fetchRows, templateProblemsOf, type CompiledRule } from './evaluate.js';
import type { LoadedTest } from './load-alerts.js';
import { planNotifications, type OutboxEntry } from './notify.js';
import type { RoutesFile } from './schema.js';
import { emptyState } from './state.js';
import { SYNC_STATE_COLUMNS } from './sync-state.js';
import { parseTimestamp } from '../time/timestamp.js';

export interface AlertTestResult {
  name: string;
  file: string;
  line: number;
  ok: boolean;
  failures: string[];
}

type Given = Record<string, Array<Record<string, Scalar>> | string>;

/** The relation a given names, and its columns: a model's documented ones, a seed's as `vigil seed` loads it, a snapshot's documented ones. */
function relationFor(key: string, manifest: Manifest, root: string): { rel: { schema: string; identifier: string }; columns: ColumnInfo[] } | string {
  const input = parseInput(key);
  if (input?.kind === 'ref') {
    // what ref() reads: a model, a seed or a snapshot
    const readable = Object.values(manifest.nodes).flatMap((n) => (n.resource_type === 'model' || n.resource_type === 'seed' || n.resource_type === 'snapshot' ? [n] : []));
    const m = readable.find((n) => n.name === input.name);
    if (!m) {
      const hint = didYouMean(input.name, readable.map((n) => n.name));
      return `ref('${input.name}') is not a model, seed or snapshot of this project${hint ? ` — did you mean '${hint}'?` : ''}`;
    }
    if (!m.relation) return `ref('${input.name}') is ephemeral: give the relations it reads instead`;
    // a seed's columns are its CSV's, typed as it loads them (column_types, else its values), as in unit tests
    return { rel: { schema: m.relation.schema, identifier: m.relation.identifier }, columns: m.resource_type === 'seed' ? seedColumns(m, root) : m.columns };
  }
  if (input?.kind === 'source') {
    const n = Object.values(manifest.sources).find((x) => x.source_name === input.source && x.name === input.table);
    if (!n) {
      const hint = didYouMean(`${input.source}.${input.table}`, Object.values(manifest.sources).map((x) => `${x.source_name}.${x.name}`));
      return `source('${input.source}', '${input.table}') is not declared${hint ? ` — did you mean source('${hint.split('.')[0]}', '${hint.split('.').slice(1).join('.')}')?` : ''}`;
    }
    return { rel: { schema: n.relation.schema, identifier: n.relation.identifier }, columns: n.columns };
  }
  return `'${key}' is not ref('model'), ref('seed'), ref('snapshot'), source('source', 'table') or vigil_sync_state`;
}

/** A given written as one line naming a .csv file: the fixture's path (from the project root); else undefined (rows, or CSV text). */
function fixturePath(rowsIn: unknown): string | undefined {
  return typeof rowsIn === 'string' && !rowsIn.includes('\n') && /\.csv$/i.test(rowsIn.trim()) ? rowsIn.trim() : undefined;
}

async function load(adapter: Adapter, given: Given, manifest: Manifest, readFixture: (p: string) => string | undefined, root: string): Promise<string | undefined> {
  for (const [key, rowsIn] of Object.entries(given)) {
    // the sync state a sync_state: true (or freshness sync: true) rule reads, in the schema of the
    // first synced source, typed as the rule sees it (SYNC_STATE_COLUMNS)
    const syncSchema = Object.values(manifest.sources).find((x) => x.sync)?.relation.schema;
    const r =
      key.trim() === 'vigil_sync_state'
        ? syncSchema
          ? { rel: { schema: syncSchema, identifier: 'vigil_sync_state' }, columns: SYNC_STATE_COLUMNS }
          : 'no source has a sync: block, so there is no sync state to give'
        : relationFor(key, manifest, root);
    if (typeof r === 'string') return `given ${key}: ${r}`;
    let rows: Array<Record<string, Scalar>>;
    const fixture = fixturePath(rowsIn);
    if (fixture !== undefined) {
      // a CSV fixture file, relative to the project root
      const text = readFixture(fixture);
      if (text === undefined) return `given ${key}: fixture file ${fixture} not found (paths are relative to the project root)`;
      rows = parseCsv(text);
    } else rows = typeof rowsIn === 'string' ? parseCsv(rowsIn) : rowsIn;
    const declared = new Set(r.columns.map((c) => c.name));
    const unknown = [...new Set(rows.flatMap((x) => Object.keys(x)))].filter((c) => declared.size && !declared.has(c));
    if (unknown.length) return `given ${key}: column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not declared (declared: ${[...declared].join(', ')})`;
    await adapter.ensureSchema(r.rel.schema);
    try {
      await adapter.execute(`create or replace table ${adapter.dialect.relation(r.rel)} as ${rowsSelect(rows, r.columns)}`);
    } catch (e) {
      return `given ${key}: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

/**
 * The givens of a test that cannot be loaded, before any test runs (exit 2): an empty one of a
 * relation whose columns are not documented has no column to create its table with; a CSV row
 * with more or fewer fields than its header (its values would land in other columns, or read
 * NULL), or a header naming a column twice, at its line (in the YAML, or in its fixture file), as a unit test's is.
 */
export function givenProblems(t: LoadedTest, manifest: Manifest, root: string, readFixture: (p: string) => string | undefined = () => undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const check = (given: Given | undefined, at: (string | number)[]) => {
    for (const [key, rowsIn] of Object.entries(given ?? {})) {
      if (typeof rowsIn === 'string') {
        const fixture = fixturePath(rowsIn);
        const text = fixture !== undefined ? readFixture(fixture) : rowsIn;
        const first = fixture !== undefined ? 1 : stringTextAt(t.yaml, [...at, key]).line;
        const csv = text === undefined ? undefined : readCsv(text);
        for (const x of csv?.ragged ?? [])
          out.push(diag('E_ALERT_TEST', `test '${t.test.name}': given ${key}: CSV row ${x.row + 1} has ${x.fields} field${x.fields === 1 ? '' : 's'}, its header ${x.header.length} (${x.header.join(', ')})`, { file: fixture ?? t.file, line: first + x.line - 1 }, 'quote a value that holds a comma ("a, b"); an empty field is NULL'));
        // (a name the header has twice: each row would keep the last column's value, the other's dropped)
        for (const x of csv?.twice ?? [])
          out.push(diag('E_ALERT_TEST', `test '${t.test.name}': given ${key}: CSV header names column '${x.name}' twice (columns ${x.first} and ${x.column}): a row would keep only the last one's value`, { file: fixture ?? t.file, line: first + x.line - 1 }));
      }
      const empty = Array.isArray(rowsIn) ? rowsIn.length === 0 : typeof rowsIn === 'string' && fixturePath(rowsIn) === undefined && parseCsv(rowsIn).length === 0;
      if (!empty || key.trim() === 'vigil_sync_state') continue;
      const r = relationFor(key, manifest, root);
      if (typeof r === 'string' || r.columns.length) continue;
      out.push(diag('E_ALERT_TEST', `test '${t.test.name}': cannot type an empty given ${key}: document the ${parseInput(key)?.kind === 'source' ? "source table's" : "model's"} columns (or give one row)`, { file: t.file, ...t.yaml.locate([...at, key]) }));
    }
  };
  check(t.test.given, [...t.path, 'given']);
  t.test.evaluations.forEach((ev, i) => check(ev.given, [...t.path, 'evaluations', i, 'given']));
  return out;
}

function labelsMatch(want: Record<string, string>, have: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

export async function runAlertTest(t: LoadedTest, rule: CompiledRule, routes: RoutesFile | undefined, manifest: Manifest, adapter: Adapter, readFixture: (p: string) => string | undefined, root: string): Promise<AlertTestResult> {
  const line = t.yaml.locate(t.path).line;
  const res: AlertTestResult = { name: t.test.name, file: t.file, line, ok: true, failures: [] };
  const fail = (msg: string) => {
    res.ok = false;
    res.failures.push(msg);
  };
  const doc = emptyState();
  let given: Given = t.test.given;
  const templateFailures = new Set<string>();
  const problem = await load(adapter, given, manifest, readFixture, root);
  if (problem) {
    fail(problem);
    return res;
  }
  for (const [i, ev] of t.test.evaluations.entries()) {
    const where = `evaluations[${i}] (at ${ev.at}, ${t.file}:${t.yaml.locate([...t.path, 'evaluations', i]).line})`;
    // the one timestamp grammar (UTC without an offset; checked when the tests load)
    const at = parseTimestamp('at', ev.at);
    if (at instanceof Error) {
      fail(`${where}: ${at.message}`);
      return res;
    }
    if (ev.given) {
      given = { ...given, ...ev.given };
      const p = await load(adapter, ev.given, manifest, readFixture, root);
      if (p) {
        fail(`${where}: ${p}`);
        return res;
      }
    }
    const ctx = { rule: rule.rule, activeHours: rule.activeHours };
    const runtime = (doc.rules[rule.rule.name] ??= { status: 'ok' });
    // exactly as evaluate: outside its active hours what fired resolves
    let outcome: Parameters<typeof advance>[2] = { judged: [], noData: false };
    if (inActiveHours(ctx, at)) {
      try {
        const rows = await fetchRows(adapter, rule, at, Object.values(manifest.sources));
        const j = judge(ctx, rows, at, runtime);
        outcome = { judged: j.instances, noData: j.noData };
      } catch (e) {
        outcome = { error: (e as Error).message.split('\n')[0] };
      }
    }
    runtime.lastEvaluatedAt = at.toISOString();
    const transitions = advance(ctx, doc.instances, outcome, at);
    // a message template reading a name the rows lack (or that cannot render) is what evaluate
    // warns of, shown as written: here, where the rows are the test's, it fails the test (once each)
    const firing = transitions.find((x) => x.to === 'firing' && x.instance.kind === 'row')?.instance;
    for (const w of firing ? templateProblemsOf(rule.rule, firing) : []) {
      if (templateFailures.has(w)) continue;
      templateFailures.add(w);
      fail(`${where}: ${w}`);
    }
    const states = Object.values(doc.instances).map((x: InstanceState) => ({ labels: x.labels, state: x.kind === 'row' ? x.status : x.status === 'resolved' ? 'resolved' : x.kind }));
    let entries: OutboxEntry[] = [];
    if (routes) entries = planNotifications({ instances: doc.instances, rules: new Map([[rule.rule.name, rule.rule]]), routes, silences: [], at, source: 'vigil/test', idPrefix: `t${i}`, groups: (doc.groups ??= {}) }).entries;
    else for (const x of Object.values(doc.instances)) if (x.status === 'resolved') delete doc.instances[x.key];

    if (ev.expect) {
      const left = [...states];
      for (const e of ev.expect) {
        const k = left.findIndex((s) => s.state === e.state && labelsMatch(e.labels, s.labels));
        if (k < 0) fail(`${where}: expected an instance ${fmtLabels(e.labels)} in state ${e.state}; have ${fmtStates(states)}`);
        else left.splice(k, 1);
      }
      for (const s of left) fail(`${where}: unexpected instance ${fmtLabels(s.labels)} in state ${s.state}`);
    }
    if (ev.notifications) {
      const items = entries.flatMap((e) => e.items.map((it) => ({ ...it, receiver: e.receiver })));
      const left = [...items];
      for (const n of ev.notifications) {
        const k = left.findIndex((x) => x.action === n.action && (!n.receiver || n.receiver === x.receiver) && labelsMatch(n.labels, x.labels) && (!n.summary || x.summary.includes(n.summary)));
        if (k < 0) fail(`${where}: expected a ${n.action}${n.receiver ? ` to ${n.receiver}` : ''} ${fmtLabels(n.labels)}${n.summary ? ` with summary containing '${n.summary}'` : ''}; queued: ${items.length ? items.map((x) => `${x.action} to ${x.receiver} ${fmtLabels(x.labels)} '${x.summary}'`).join('; ') : 'nothing'}`);
        else left.splice(k, 1);
      }
      for (const x of left) fail(`${where}: unexpected ${x.action} to ${x.receiver} ${fmtLabels(x.labels)} '${x.summary}'`);
    }
  }
  return res;
}

function fmtLabels(l: Record<string, string>): string {
  const e = Object.entries(l).filter(([k]) => k !== 'alertname' && k !== 'severity');
  return `{${e.map(([k, v]) => `${k}=${v}`).join(', ')}}`;
}

function fmtStates(states: Array<{ labels: Record<string, string>; state: string }>): string {
  return states.length ? states.map((s) => `${fmtLabels(s.labels)} ${s.state}`).join(', ') : 'none';
}
