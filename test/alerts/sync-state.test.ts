/**
 * `sync_state: true`: rules over the sync state rows (one per synced stream). Their validation
 * (one data source only; a column the rows do not have is an error at its line, with a
 * did-you-mean), and the shipped seed-000 rules (stalled, failing, data latency) evaluated
 * against a sync state table the real DuckDB sync writer keeps, next to the freshness
 * shorthand; an older state table without a column; and the shipped inhibitions between them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { loadProject } from '../../src/project/load-project.js';
import { loadAlerts, parseRoutes } from '../../src/alerts/load-alerts.js';
import { evaluateAlerts, fetchRows, type CompiledRule } from '../../src/alerts/evaluate.js';
import { fileStore } from '../../src/alerts/state.js';
import { AlertSchema } from '../../src/alerts/schema.js';
import { baseLabels, instanceKey, judge, type InstanceState } from '../../src/alerts/engine.js';
import { inhibitedBy } from '../../src/alerts/routing.js';
import { SYNC_STATE_COLUMN_NAMES } from '../../src/alerts/sync-state.js';
import { STATE_TABLE } from '../../src/sync/sync-types.js';
import type { SourceNode } from '../../src/compile/manifest.js';
import { makeProject, REPO, removeDir } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const SOURCES = `sources:
  - name: raw
    schema: raw
    sync: { from: app, schema: public }
    tables:
      - name: events
        sync: { primary_key: id, cursor: created_at }
`;

/** The diagnostics of an alerts file, as `file:line:col: message [hint]`. */
function check(alerts: string): string[] {
  const dir = makeProject({ 'models/sources.yml': SOURCES, 'alerts/a.yaml': alerts });
  dirs.push(dir);
  return loadAlerts(loadProject(dir)).diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}${d.hint ? ` [${d.hint}]` : ''}`);
}

describe('sync_state: true, validated at load time', () => {
  it('a valid rule: no query to compile, group_by defaults to the stream', () => {
    const dir = makeProject({
      'models/sources.yml': SOURCES,
      'alerts/a.yaml': `alerts:
  - name: failing
    severity: critical
    sync_state: true
    condition: { type: threshold, column: consecutive_failures, op: ">", value: 3 }
    summary: "{{ stream }}: {{ last_error }}"
`,
    });
    dirs.push(dir);
    const a = loadAlerts(loadProject(dir));
    expect(a.diagnostics).toEqual([]);
    expect(a.rules[0].queryText).toBeUndefined();
    const rows = [
      { stream: 'raw.events', consecutive_failures: 4, last_error: 'boom' },
      { stream: 'raw.users', consecutive_failures: 3, last_error: 'bang' },
    ];
    const j = judge({ rule: a.rules[0].rule }, rows, new Date('2026-03-10T12:00:00Z'), { status: 'ok' });
    expect(j.instances.map((i) => [i.labels.stream, i.active])).toEqual([
      ['raw.events', true],
      ['raw.users', false],
    ]);
  });

  it('exactly one data source: query, model, sync_state or the freshness shorthand', () => {
    expect(check(`alerts:\n  - name: a\n    severity: info\n    query: select 1 as x\n    sync_state: true\n    condition: { type: sql }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:4:12: alert 'a': needs exactly one of query:, model:, sync_state: true or a freshness condition with sync: true (has query and sync_state)",
    ]);
    expect(check(`alerts:\n  - name: a\n    severity: info\n    model: counts\n    sync_state: true\n    condition: { type: sql }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:4:12: alert 'a': needs exactly one of query:, model:, sync_state: true or a freshness condition with sync: true (has model and sync_state)",
    ]);
    expect(check(`alerts:\n  - name: a\n    severity: info\n    sync_state: true\n    condition: { type: freshness, sync: true, max_age: 5m }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:4:17: alert 'a': needs exactly one of query:, model:, sync_state: true or a freshness condition with sync: true (has sync_state and condition.sync) [condition.sync: true already reads the sync state: remove sync_state:, or write column: last_synced_at instead of sync: true]",
    ]);
  });

  it('a zscore condition reads a z-score column, or computes one from value: and days: ordered by time:', () => {
    const rule = (cond: string, extra = '') => `alerts:\n  - name: a\n    severity: info\n    query: select 1 as n\n${extra}    condition: { type: zscore${cond} }\n    summary: s\n`;
    expect(check(rule(', zscore: z'))).toEqual([]);
    expect(check(rule(', value: n, days: 7', '    time: d\n'))).toEqual([]);
    expect(check(rule(''))).toEqual(["alerts/a.yaml:5:16: alert 'a': a zscore condition needs either zscore: (a column holding the z-score) or value: and days: (computed over the rows)"]);
    expect(check(rule(', zscore: z, value: n'))).toEqual(["alerts/a.yaml:5:16: alert 'a': a zscore condition needs either zscore: (a column holding the z-score) or value: and days: (computed over the rows)"]);
    expect(check(rule(', value: n'))).toEqual(["alerts/a.yaml:5:39: alert 'a': a zscore condition computed over the rows needs both value: and days:"]);
    expect(check(rule(', value: n, days: 7'))).toEqual(["alerts/a.yaml:5:48: alert 'a': condition.days needs time: (the column that orders the rows)"]);
  });

  it('a column the sync state rows do not have is an error at its line, with a did-you-mean', () => {
    expect(check(`alerts:\n  - name: a\n    severity: info\n    sync_state: true\n    condition: { type: threshold, column: consecutive_failure, op: ">", value: 3 }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:5:43: alert 'a': column 'consecutive_failure' not in the sync state rows — did you mean 'consecutive_failures'?",
    ]);
    expect(check(`alerts:\n  - name: a\n    severity: info\n    sync_state: true\n    group_by: [capability]\n    condition: { type: freshness, column: source_max_cusror, max_age: 1h }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:6:43: alert 'a': column 'source_max_cusror' not in the sync state rows — did you mean 'source_max_cursor'?",
      `alerts/a.yaml:5:16: alert 'a': column 'capability' not in the sync state rows [columns: ${SYNC_STATE_COLUMN_NAMES.join(', ')}]`,
    ]);
    // the shorthand reads the same rows: its group_by is checked too
    expect(check(`alerts:\n  - name: a\n    severity: info\n    group_by: [streem]\n    condition: { type: freshness, sync: true, max_age: 5m }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:4:16: alert 'a': column 'streem' not in the sync state rows — did you mean 'stream'?",
    ]);
  });

  it('a freshness needs a timestamp column, a threshold a number', () => {
    expect(check(`alerts:\n  - name: a\n    severity: info\n    sync_state: true\n    condition: { type: freshness, max_age: 1h }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:5:16: alert 'a': a freshness condition on sync_state rows needs column: (last_synced_at, source_max_cursor, last_run_at)",
    ]);
    expect(check(`alerts:\n  - name: a\n    severity: info\n    sync_state: true\n    condition: { type: freshness, column: consecutive_failures, max_age: 1h }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:5:43: alert 'a': column 'consecutive_failures' of the sync state rows is not a timestamp [timestamps: last_synced_at, source_max_cursor, last_run_at]",
    ]);
    expect(check(`alerts:\n  - name: a\n    severity: info\n    sync_state: true\n    condition: { type: threshold, column: last_synced_at, op: ">", value: 3 }\n    summary: s\n`)).toEqual([
      "alerts/a.yaml:5:43: alert 'a': column 'last_synced_at' of the sync state rows is not a number [numbers: consecutive_failures]",
    ]);
  });
});

// ------------------------------------------------------------------------ a real DuckDB state table

function source(name: string, schema = 'raw'): SourceNode {
  return {
    unique_id: `source.t.raw.${name}`,
    resource_type: 'source',
    name,
    source_name: 'raw',
    file: 'models/sources.yml',
    line: 1,
    relation: { schema, identifier: name },
    columns: [],
    tags: [],
    sync: { from: 'app', schema: 'public', primary_key: ['id'], cursor: 'created_at', batch_size: 1000, lookback_seconds: 0 },
  };
}

describe('the shipped sync rules against the sync state the DuckDB writer keeps', () => {
  let duck: DuckDbAdapter;
  let dir: string;
  let now: Date;
  /** The shipped rules, as `vigil alerts` loads them from alerts/ai_audit.yaml. */
  const shipped = new Map<string, CompiledRule>();
  beforeAll(async () => {
    for (const r of loadAlerts(loadProject(REPO), { tests: false }).rules) shipped.set(r.rule.name, { ...r, sql: undefined });
    dir = makeProject({});
    dirs.push(dir);
    duck = await DuckDbAdapter.open({ type: 'duckdb', path: 'state.duckdb', schema: 'analytics' }, dir, 1);
    const w = duck.syncWriter();
    await w.ensureState('raw');
    const stateRel = { schema: 'raw', identifier: STATE_TABLE };
    now = new Date();
    // events: synced now; its newest source row is 2 hours old
    await w.recordRun(stateRel, 'raw.events', 'success', null, new Date(now.getTime() - 2 * 3600_000).toISOString(), 0);
    // trails: synced once, then four failures in a row; its source was read each time
    await w.recordRun(stateRel, 'raw.trails', 'success', null, now.toISOString(), 0);
    for (let i = 1; i <= 4; i++) await w.recordRun(stateRel, 'raw.trails', 'error', `stream raw.trails: connection refused (try ${i})`, now.toISOString(), 0);
    // users: three failures, never a success, nothing read from the source
    for (let i = 1; i <= 3; i++) await w.recordRun(stateRel, 'raw.users', 'error', "relation \"users\" does not exist", null, 0);
    // raw.orders is declared but missing from the table: never synced
  });
  afterAll(async () => {
    await duck?.close();
  });

  const sources = () => ['events', 'trails', 'users', 'orders'].map((n) => source(n));
  async function firing(names: string[], at: Date): Promise<Record<string, Record<string, string>>> {
    const rules = names.map((n) => shipped.get(n)!);
    const store = fileStore(join(dir, 'alert-state.json'));
    const ev = await evaluateAlerts({ rules, adapter: duck, store, files: { project: { name: 't' } } as never, sources: sources(), env: {}, out: () => {}, err: () => {} }, { at, dryRun: true, command: 'test' });
    expect(ev.outcomes.map((o) => [o.rule, o.status, o.error])).toEqual(names.map((n) => [n, 'ok', undefined]));
    const out: Record<string, Record<string, string>> = {};
    for (const o of ev.outcomes) out[o.rule] = Object.fromEntries(o.transitions.filter((t) => t.to === 'firing').map((t) => [t.instance.labels.stream, `${t.instance.values.age ?? ''}|${t.instance.values.consecutive_failures}|${t.instance.values.last_error ?? ''}`]));
    return out;
  }

  it('every column the rules read is in the writer\'s table, and a never-synced stream has a row', async () => {
    const rows = await fetchRows(duck, shipped.get('ai_audit_sync_failing')!, now, sources());
    expect(rows.map((r) => Object.keys(r))).toEqual(rows.map(() => SYNC_STATE_COLUMN_NAMES));
    expect(rows.find((r) => r.stream === 'raw.orders')).toEqual({ stream: 'raw.orders', last_synced_at: null, source_max_cursor: null, last_status: 'never synced', last_error: null, consecutive_failures: 0, last_run_at: null });
    expect(rows.find((r) => r.stream === 'raw.trails')).toMatchObject({ last_status: 'error', last_error: 'stream raw.trails: connection refused (try 4)', consecutive_failures: 4 });
  });

  it('stalled, failing and data latency fire for the right streams; 3 failures do not', async () => {
    // a minute later: events and trails synced within 15 minutes; users and orders never did
    const at = new Date(now.getTime() + 60_000);
    const f = await firing(['ai_audit_sync_stalled', 'ai_audit_sync_failing', 'ai_audit_sync_data_latency'], at);
    expect(f.ai_audit_sync_stalled).toEqual({ 'raw.users': 'never|3|relation "users" does not exist', 'raw.orders': 'never|0|' });
    expect(f.ai_audit_sync_failing).toEqual({ 'raw.trails': '|4|stream raw.trails: connection refused (try 4)' });
    // events' newest source row is 2h old; users' and orders' source was never read
    expect(f.ai_audit_sync_data_latency).toEqual({ 'raw.events': '2h1m|0|', 'raw.users': 'never|3|relation "users" does not exist', 'raw.orders': 'never|0|' });
    // 16 minutes later, events and trails are stalled too (trails' last success was before its failures)
    const later = await firing(['ai_audit_sync_stalled'], new Date(now.getTime() + 16 * 60_000));
    expect(Object.keys(later.ai_audit_sync_stalled).sort()).toEqual(['raw.events', 'raw.orders', 'raw.trails', 'raw.users']);
  });

  it("data latency judges a stream by its source's own freshness where it declares one (market data every 4 hours is not late after 1)", async () => {
    const at = new Date(now.getTime() + 60_000);
    const rules = [shipped.get('ai_audit_sync_data_latency')!];
    const run = async (events: SourceNode) => {
      const store = fileStore(join(dir, `latency-${Math.random()}.json`));
      const ev = await evaluateAlerts({ rules, adapter: duck, store, files: { project: { name: 't' } } as never, sources: [events, ...['trails', 'users', 'orders'].map((n) => source(n))], env: {}, out: () => {}, err: () => {} }, { at, dryRun: true, command: 'test' });
      return Object.fromEntries(ev.outcomes[0].transitions.filter((t) => t.to === 'firing').map((t) => [t.instance.labels.stream, `${t.instance.values.age}/${t.instance.values.max_age}`]));
    };
    // events' newest source row is 2h1m old: within a 3-hour limit, beyond a 90-minute one (shown as the limit)
    expect(await run({ ...source('events'), freshness: { error_after: { count: 3, period: 'hour' } } })).toEqual({ 'raw.users': 'never/1h', 'raw.orders': 'never/1h' });
    expect(await run({ ...source('events'), freshness: { error_after: { count: 90, period: 'minute' } } })).toEqual({ 'raw.events': '2h1m/1h30m', 'raw.users': 'never/1h', 'raw.orders': 'never/1h' });
    // a source without error_after keeps the rule's 1h
    expect(await run({ ...source('events'), freshness: { warn_after: { count: 3, period: 'hour' } } })).toEqual({ 'raw.events': '2h1m/1h', 'raw.users': 'never/1h', 'raw.orders': 'never/1h' });
    // on a query rule it is refused at load time
    expect(check(`alerts:
  - name: q
    severity: error
    query: "select max(created_at) as t from {{ source('raw', 'events') }}"
    condition: { type: freshness, column: t, max_age: 1h, source_freshness: true }
    summary: s
`)).toEqual([expect.stringMatching(/^alerts\/a\.yaml:5:\d+: alert 'q': source_freshness: true judges sync state rows by their source's freshness; this rule reads a query \[use it with sync_state: true/)]);
  });

  it('the freshness shorthand (condition.sync) reads the same rows', async () => {
    const rule: CompiledRule = { rule: AlertSchema.parse({ name: 'fresh', severity: 'error', condition: { type: 'freshness', sync: true, max_age: '10m' }, summary: 's' }), file: 'a.yaml', yaml: undefined as never, path: ['alerts', 0], queryAt: { line: 1, column: 1 } };
    shipped.set('fresh', rule);
    const f = await firing(['fresh'], new Date(now.getTime() + 11 * 60_000));
    expect(Object.keys(f.fresh).sort()).toEqual(['raw.events', 'raw.orders', 'raw.trails', 'raw.users']);
  });

  it('an older state table without a column: NULL where only shown, an error where the rule judges by it', async () => {
    await duck.ensureSchema('old');
    await duck.execute(`create table old.${STATE_TABLE} (stream varchar primary key, last_synced_at timestamptz, last_status varchar, consecutive_failures integer)`);
    await duck.execute(`insert into old.${STATE_TABLE} values ('raw.events', $1, 'error', 5)`, [now.toISOString()]);
    const rules = ['ai_audit_sync_failing', 'ai_audit_sync_data_latency'].map((n) => shipped.get(n)!);
    const store = fileStore(join(dir, 'alert-state-old.json'));
    const ev = await evaluateAlerts({ rules, adapter: duck, store, files: { project: { name: 't' } } as never, sources: [source('events', 'old')], env: {}, out: () => {}, err: () => {} }, { at: now, dryRun: true, command: 'test' });
    const failing = ev.outcomes[0];
    expect([failing.status, failing.transitions.map((t) => `${t.instance.labels.stream}: ${t.to}, last_error ${t.instance.values.last_error}`)]).toEqual(['ok', ['raw.events: firing, last_error null']]);
    // the latency rule judges by source_max_cursor: its error instance says so, instead of "never" for every stream
    const latency = ev.outcomes[1];
    expect(latency.status).toBe('error');
    expect(latency.error).toBe(`"old"."${STATE_TABLE}" has no column source_max_cursor that the rule reads (made by an older vigil sync?): add it as in docs/sync.md (State and failures)`);
    expect(latency.transitions.map((t) => t.instance.key)).toEqual(['ai_audit_sync_data_latency{}#error']);
  });
});

describe('the shipped routes: a stalled or failing sync mutes the latency of its own stream', () => {
  const routes = parseRoutes(readFileSync(join(REPO, 'alerts/routes.yaml'), 'utf8'), 'alerts/routes.yaml').routes!;
  const rules = new Map(loadAlerts(loadProject(REPO), { tests: false }).rules.map((r) => [r.rule.name, r.rule]));
  const at = new Date('2026-03-10T12:00:00Z').toISOString();
  function firing(alert: string, group: Record<string, string>): InstanceState {
    return { key: instanceKey(alert, group), alert, kind: 'row', labels: { ...baseLabels(rules.get(alert)!), ...group }, status: 'firing', activeSince: at, firedAt: at, lastActiveAt: at, consecutive: 1, values: {}, notified: {} };
  }

  it('equal: [stream]', () => {
    const latencyA = firing('ai_audit_sync_data_latency', { stream: 'raw.a' });
    const latencyB = firing('ai_audit_sync_data_latency', { stream: 'raw.b' });
    for (const cause of ['ai_audit_sync_stalled', 'ai_audit_sync_failing']) {
      const c = firing(cause, { stream: 'raw.a' });
      expect(inhibitedBy(routes, [c, latencyA, latencyB], latencyA)).toBe(c);
      expect(inhibitedBy(routes, [c, latencyA, latencyB], latencyB)).toBeUndefined();
      // the cause itself still pages
      expect(inhibitedBy(routes, [c, latencyA, latencyB], c)).toBeUndefined();
    }
    // a stalled sync also explains missing rows, like the business-hours freshness rule
    const stalled = firing('ai_audit_sync_stalled', { stream: 'raw.ai_audit_logs' });
    const drop = firing('ai_audit_volume_drop', { capability: 'chat' });
    const noLogs = firing('ai_audit_no_logs_business_hours', {});
    expect(inhibitedBy(routes, [stalled, drop, noLogs], drop)).toBe(stalled);
    expect(inhibitedBy(routes, [stalled, drop, noLogs], noLogs)).toBe(stalled);
    expect(inhibitedBy(routes, [firing('ai_audit_sync_failing', { stream: 'raw.ai_audit_logs' }), drop], drop)).toBeUndefined();
  });
});
