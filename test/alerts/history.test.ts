/**
 * The alert history (src/alerts/history.ts): fired and resolved instances become rows of
 * vigil_alert_events exactly once — the events of an evaluation, a run killed before or after
 * writing them, the same rows on DuckDB and Postgres, statements BigQuery parses — and the
 * shipped model ai_audit_incidents reads them through the built-in source vigil.alert_events.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'sql-parser-cst';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import type { Adapter } from '../../src/adapters/adapter.js';
import { alertEvents, statusSnapshot, writeAlertEvents, ALERT_EVENTS_TABLE, EVENT_ID_INDEX, type AlertEvent } from '../../src/alerts/history.js';
import type { InstanceState } from '../../src/alerts/engine.js';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { uniqueSchema } from '../support/postgres.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const T0 = new Date('2026-03-10T18:00:00Z');
const inst = (key: string, status: InstanceState['status'], firedAt?: string, extra: Partial<InstanceState> = {}): InstanceState => ({
  key,
  alert: key.replace(/\{.*$/, ''),
  kind: 'row',
  labels: { alertname: key.replace(/\{.*$/, ''), severity: 'warning', capability: 'search' },
  status,
  activeSince: firedAt ?? T0.toISOString(),
  ...(firedAt ? { firedAt } : {}),
  lastActiveAt: T0.toISOString(),
  consecutive: 1,
  values: { capability: 'search', n: 3 },
  notified: {},
  ...extra,
});
const ctx = { project: 'p', host: 'h' };
const describeIt = (i: InstanceState) => `summary of ${i.key}`;

describe('alertEvents: what changed in one evaluation', () => {
  it('a new firing instance, a resolved one, a pending one (nothing), one that re-fired, one forgotten', () => {
    // the values they fired with (the evaluation that resolves b sees n: 3)
    const fired = { values: { capability: 'search', n: 9 } };
    const before = statusSnapshot({
      'a{x="1"}': inst('a{x="1"}', 'firing', '2026-03-10T10:00:00.000Z'),
      'b{x="1"}': inst('b{x="1"}', 'firing', '2026-03-10T11:00:00.000Z', fired),
      'd{x="1"}': inst('d{x="1"}', 'firing', '2026-03-10T09:00:00.000Z', fired),
      'e{x="1"}': inst('e{x="1"}', 'firing', '2026-03-10T08:00:00.000Z', fired),
    });
    const after = {
      // a: still firing, same incident: no event
      'a{x="1"}': inst('a{x="1"}', 'firing', '2026-03-10T10:00:00.000Z'),
      // b: resolved now
      'b{x="1"}': inst('b{x="1"}', 'resolved', '2026-03-10T11:00:00.000Z', { resolvedAt: T0.toISOString() }),
      // c: new
      'c{x="1"}': inst('c{x="1"}', 'firing', T0.toISOString()),
      // p: pending (not an incident yet)
      'p{x="1"}': inst('p{x="1"}', 'pending'),
      // d: resolved and fired again within the run: two events
      'd{x="1"}': inst('d{x="1"}', 'firing', T0.toISOString()),
      // e: gone from the state
    };
    const ev = alertEvents(before, after, T0, describeIt, ctx);
    const brief = ev.map((e) => `${e.instance} ${e.status} ${e.fired_at} ${e.resolved_at ?? '-'}`).sort();
    expect(brief).toEqual(
      [
        `b{x="1"} resolved 2026-03-10T11:00:00.000Z ${T0.toISOString()}`,
        `c{x="1"} firing ${T0.toISOString()} -`,
        `d{x="1"} firing ${T0.toISOString()} -`,
        `d{x="1"} resolved 2026-03-10T09:00:00.000Z ${T0.toISOString()}`,
        `e{x="1"} resolved 2026-03-10T08:00:00.000Z ${T0.toISOString()}`,
      ].sort(),
    );
    const c = ev.find((e) => e.instance === 'c{x="1"}')!;
    expect(c).toMatchObject({ alert: 'c', severity: 'warning', summary: 'summary of c{x="1"}', project: 'p', evaluated_by: 'h' });
    expect(JSON.parse(c.labels)).toMatchObject({ capability: 'search' });
    expect(JSON.parse(c.row_values)).toEqual({ capability: 'search', n: 3 });
    // a resolved row is the instance's: its severity and labels, the values it last fired with
    // (was: '' and {} for one forgotten from the state, as every resolved one is)
    for (const key of ['b{x="1"}', 'd{x="1"}', 'e{x="1"}']) {
      const r = ev.find((e) => e.instance === key && e.status === 'resolved')!;
      expect(r, key).toMatchObject({ alert: key[0], severity: 'warning', summary: `summary of ${key}` });
      expect(JSON.parse(r.labels), key).toEqual({ alertname: key[0], severity: 'warning', capability: 'search' });
      expect(JSON.parse(r.row_values), key).toEqual({ capability: 'search', n: 9 });
    }
    // ids: one per instance, incident and status; the same event computed twice has the same id
    expect(new Set(ev.map((e) => e.event_id)).size).toBe(ev.length);
    expect(alertEvents(before, after, T0, describeIt, ctx).map((e) => e.event_id)).toEqual(ev.map((e) => e.event_id));
  });
});

const EVENTS: AlertEvent[] = [
  { event_id: 'e1', event_at: '2026-03-10T18:00:00.000Z', status: 'firing', alert: 'a', severity: 'critical', instance: 'a{capability="search"}', fired_at: '2026-03-10T18:00:00.000Z', resolved_at: null, summary: "it's 5 > 4 ☃", labels: '{"alertname":"a","capability":"search"}', row_values: '{"n":5,"date":"2026-03-09"}', project: 'p', evaluated_by: 'h' },
  { event_id: 'e2', event_at: '2026-03-11T18:00:00.000Z', status: 'resolved', alert: 'a', severity: 'critical', instance: 'a{capability="search"}', fired_at: '2026-03-10T18:00:00.000Z', resolved_at: '2026-03-11T18:00:00.000Z', summary: 'ok', labels: '{"alertname":"a","capability":"search"}', row_values: '{}', project: 'p', evaluated_by: 'h' },
];

/** The table's rows as comparable values: timestamps as ISO text, JSON parsed. */
async function readBack(a: Adapter, schema: string): Promise<Array<Record<string, unknown>>> {
  const rows = await a.query(`select * from ${a.dialect.relation({ schema, identifier: ALERT_EVENTS_TABLE })} order by event_id`);
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : (k === 'labels' || k === 'row_values') && v !== null ? JSON.parse(typeof v === 'string' ? v : JSON.stringify(v)) : v]),
    ),
  );
}
const expected = EVENTS.map((e) => ({ ...e, labels: JSON.parse(e.labels), row_values: JSON.parse(e.row_values) }));

async function writesOnce(a: Adapter, schema: string) {
  expect(await writeAlertEvents(a, schema, EVENTS.slice(0, 1))).toEqual({ written: 1, already: 0 });
  // a run that died before saving that the event was written writes it again: it is found, not doubled
  expect(await writeAlertEvents(a, schema, EVENTS)).toEqual({ written: 1, already: 1 });
  expect(await writeAlertEvents(a, schema, EVENTS)).toEqual({ written: 0, already: 2 });
  const got = await readBack(a, schema);
  expect(got.map((r) => ({ ...r, event_at: new Date(String(r.event_at)).toISOString(), fired_at: new Date(String(r.fired_at)).toISOString(), resolved_at: r.resolved_at === null ? null : new Date(String(r.resolved_at)).toISOString() }))).toEqual(expected);
}

describe('writeAlertEvents writes each event once, every column kept', () => {
  it('on DuckDB', async () => {
    const dir = makeProject({});
    dirs.push(dir);
    const a = await DuckDbAdapter.open({ type: 'duckdb', path: 'h.duckdb', schema: 'analytics' } as never, dir);
    try {
      await writesOnce(a, 'analytics');
    } finally {
      await a.close();
    }
  });
  it('on Postgres', async () => {
    const a = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: 'analytics' }, 1);
    try {
      const schema = uniqueSchema('alert_history');
      await writesOnce(a, schema);
      // JSON stays JSON (jsonb), timestamps stay timestamptz
      const types = await a.query<{ column_name: string; data_type: string }>(`select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`, [schema, ALERT_EVENTS_TABLE]);
      expect(Object.fromEntries(types.map((t) => [t.column_name, t.data_type]))).toMatchObject({ labels: 'jsonb', row_values: 'jsonb', fired_at: 'timestamp with time zone', event_id: 'text' });
    } finally {
      await a.close();
    }
  });
  it('on BigQuery: statements BigQuery parses, every value a parameter', async () => {
    const statements: Array<{ sql: string; params: unknown[] }> = [];
    let exists = false;
    const adapter = {
      type: 'bigquery',
      warehouse: { capabilities: { primaryKeys: false } },
      dialect: bigQueryDialect,
      async relationExists() {
        return exists ? 'table' : null;
      },
      async ensureSchema() {},
      async execute(sql: string, params: unknown[] = []) {
        statements.push({ sql, params });
        if (/^create table/i.test(sql)) exists = true;
      },
      async query(sql: string, params: unknown[] = []) {
        statements.push({ sql, params });
        return [];
      },
    } as unknown as Adapter;
    expect(await writeAlertEvents(adapter, 'analytics', EVENTS)).toEqual({ written: 2, already: 0 });
    expect(statements.map((s) => s.sql.split(' ').slice(0, 2).join(' '))).toEqual(['create table', 'select event_id', 'insert into']);
    for (const s of statements) {
      expect(() => parse(s.sql, { dialect: 'bigquery', paramTypes: ['?'] }), s.sql).not.toThrow();
      expect(s.sql.match(/\?/g)?.length ?? 0, s.sql).toBe(s.params.length);
      expect(s.sql).not.toContain('☃');
    }
    expect(statements[0].sql).toContain('`labels` JSON');
    expect(statements[2].sql).toContain('PARSE_JSON(?)');
    expect(statements[2].sql).toContain('TIMESTAMP(?)');
  });
});

/** The index on vigil_alert_events' event_id, as Postgres' catalog has it (undefined: none). */
async function eventIdIndex(a: Adapter, schema: string): Promise<{ unique: boolean } | undefined> {
  const rows = await a.query<{ def: string }>(`select indexdef as def from pg_indexes where schemaname = $1 and tablename = $2`, [schema, ALERT_EVENTS_TABLE]);
  const def = rows.map((r) => String(r.def)).find((d) => /event_id/i.test(d));
  return def === undefined ? undefined : { unique: /create unique index/i.test(def) };
}

/** `n` events of one evaluation, as alertEvents makes them. */
const many = (n: number, from = 0): AlertEvent[] => Array.from({ length: n }, (_, i) => ({ ...EVENTS[0], event_id: `m${from + i}`, instance: `a{id="${from + i}"}` }));

/** The real adapter, keeping the statements it runs. */
function recording(a: Adapter): { adapter: Adapter; statements: string[] } {
  const statements: string[] = [];
  const adapter = new Proxy(a, {
    get(t, p) {
      const v = Reflect.get(t, p) as unknown;
      if (typeof v !== 'function') return v;
      const f = v as (sql: string, params?: unknown[]) => Promise<unknown>;
      if (p !== 'execute' && p !== 'query') return f.bind(t);
      return (sql: string, params?: unknown[]) => (statements.push(sql), f.call(t, sql, params));
    },
  });
  return { adapter, statements };
}

/**
 * Each write looks up the ids it is about to insert (`event_id in (...)`). On Postgres an index
 * on event_id keeps that a lookup however long the history (was: none, a scan of the whole
 * table per 100 events): new tables get a unique one; a table an earlier version created gets
 * it at the next write; one holding an id twice gets a plain one, with a warning once, and
 * writes go on.
 */
async function indexesEventIds(a: Adapter, schema: string) {
  const rel = a.dialect.relation({ schema, identifier: ALERT_EVENTS_TABLE });
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  // a new table
  expect(await writeAlertEvents(a, schema, EVENTS.slice(0, 1), warn)).toEqual({ written: 1, already: 0 });
  expect(await eventIdIndex(a, schema)).toEqual({ unique: true });
  await expect(a.execute(`insert into ${rel} (event_id, event_at, status, alert, instance, fired_at) select event_id, event_at, status, alert, instance, fired_at from ${rel}`)).rejects.toThrow(/duplicate|unique|constraint/i);
  // a table as an earlier version left it: no index, an event id twice (written by something else)
  await a.execute(`drop index ${a.dialect.relation({ schema, identifier: EVENT_ID_INDEX })}`);
  expect(await eventIdIndex(a, schema)).toBeUndefined();
  await a.execute(`insert into ${rel} (event_id, event_at, status, alert, instance, fired_at) select event_id, event_at, status, alert, instance, fired_at from ${rel}`);
  expect(await writeAlertEvents(a, schema, EVENTS, warn)).toEqual({ written: 1, already: 1 });
  expect(await eventIdIndex(a, schema)).toEqual({ unique: false });
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/holds an event_id more than once .*not unique/);
  // said once: the next writes find the index there
  expect(await writeAlertEvents(a, schema, EVENTS, warn)).toEqual({ written: 0, already: 2 });
  expect(warnings).toHaveLength(1);
  // the duplicates gone and the plain index dropped, the next write makes it unique
  await a.execute(`drop index ${a.dialect.relation({ schema, identifier: EVENT_ID_INDEX })}`);
  await a.execute(`delete from ${rel}`);
  expect(await writeAlertEvents(a, schema, EVENTS, warn)).toEqual({ written: 2, already: 0 });
  expect(await eventIdIndex(a, schema)).toEqual({ unique: true });
  expect(warnings).toHaveLength(1);
}

/** 2,500 events, 500 of them written before: looked up 1,000 ids a statement (was: 100), each written once. */
async function looksUpInThousands(a: Adapter, schema: string) {
  expect(await writeAlertEvents(a, schema, many(500))).toEqual({ written: 500, already: 0 });
  const { adapter, statements } = recording(a);
  expect(await writeAlertEvents(adapter, schema, many(2500))).toEqual({ written: 2000, already: 500 });
  expect(statements.filter((s) => /^select event_id/.test(s))).toHaveLength(3);
  const rel = a.dialect.relation({ schema, identifier: ALERT_EVENTS_TABLE });
  expect(await a.query(`select event_id from ${rel} group by event_id having count(*) > 1`)).toEqual([]);
  expect(Number((await a.query<{ n: unknown }>(`select count(*) as n from ${rel}`))[0].n)).toBe(2500);
}

describe('each write looks up the event ids it is about to insert, cheaply however long the history', () => {
  it('on Postgres: through a unique index on event_id, added to an older table, a plain one where ids repeat', async () => {
    const a = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: 'analytics' }, 1);
    try {
      await indexesEventIds(a, uniqueSchema('alert_history_index'));
      await looksUpInThousands(a, uniqueSchema('alert_history_probe'));
    } finally {
      await a.close();
    }
  });
  it('on DuckDB: no index (a scan of the column costs less than keeping one up to date), 1,000 ids a look-up', async () => {
    const dir = makeProject({});
    dirs.push(dir);
    const a = await DuckDbAdapter.open({ type: 'duckdb', path: 'h.duckdb', schema: 'analytics' } as never, dir);
    try {
      await looksUpInThousands(a, 'analytics');
      expect(await a.query(`select index_name from duckdb_indexes() where table_name = '${ALERT_EVENTS_TABLE}'`)).toEqual([]);
    } finally {
      await a.close();
    }
  });
});

describe('vigil alerts evaluate keeps the history, exactly once, and ai_audit_incidents reads it', () => {
  const NOW = '2026-03-10T18:00:00Z';
  const LATER = '2026-03-13T18:00:00Z';
  // the spike rule's keep_firing_for (1h) holds it from LATER, the first evaluation without it
  const HELD_UNTIL = '2026-03-13T19:00:00Z';
  let dir: string;
  // the spike's events (the built-in vigil_alert_outbox_stuck fires too: nobody is reachable here)
  const SPIKE = ['alerts', 'evaluate', '-s', 'ai_audit_volume_spike', '--at'];
  const events = () => {
    const r = vigil(dir, ['show', '--inline', "select status, alert, severity, instance, fired_at, resolved_at, labels, row_values from {{ source('vigil', 'alert_events') }} where alert = 'ai_audit_volume_spike' order by event_at, status", '--output', 'json', '--limit', '50']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Array<{ status: string; alert: string; severity: string; instance: string; fired_at: string; resolved_at: string | null; labels: unknown; row_values: unknown }>;
  };
  beforeAll(() => {
    dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    expect(vigil(dir, ['demo', '--rows', '40000', '--days', '21', '--scenario', 'spike', '--now', NOW]).code).toBe(0);
    const b = vigil(dir, ['build', '--full-refresh']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
  });

  it('builds before any alert fired: the table is created empty, the incidents view is empty', () => {
    const r = vigil(dir, ['show', '-s', 'ai_audit_incidents', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('runs killed after saving the state (before writing) and after writing (before saving that it did): one event', () => {
    const k1 = vigil(dir, [...SPIKE, NOW], { VIGIL_TEST_CRASH_AFTER_SAVE: '1' });
    expect(k1.code).not.toBe(0);
    expect(events()).toEqual([]);
    expect(vigil(dir, ['alerts', 'status']).stdout).toMatch(/History: 1 alert event not written to vigil_alert_events yet \(the next evaluate writes it\), the oldest from 2026-03-10T18:00:00.000Z/);
    // the next run writes the saved event, and dies before saving that it did
    const k2 = vigil(dir, [...SPIKE, NOW], { VIGIL_TEST_CRASH_AFTER_HISTORY: '1' });
    expect(k2.code).not.toBe(0);
    expect(events().map((e) => `${e.status} ${e.instance}`)).toEqual(['firing ai_audit_volume_spike{capability="summarize"}']);
    // the one after finds it written: not written again
    const r = vigil(dir, [...SPIKE, NOW]);
    expect(r.stdout).toContain('written by an earlier run that stopped before saving it; not written again)');
    expect(events()).toHaveLength(1);
    expect(new Date(events()[0].fired_at).toISOString()).toBe(new Date(NOW).toISOString());
  });

  it('resolving adds one event with the same fired_at; the incident shows resolved with its duration and log volume', () => {
    expect(vigil(dir, [...SPIKE, LATER]).stdout).toContain('ai_audit_volume_spike  1 firing');
    const r = vigil(dir, [...SPIKE, HELD_UNTIL]);
    expect(r.stdout, r.stderr).toMatch(/History: \d+ alert events? written to vigil_alert_events/);
    const ev = events();
    expect(ev.map((e) => e.status)).toEqual(['firing', 'resolved']);
    expect(ev[1].fired_at).toBe(ev[0].fired_at);
    expect(new Date(ev[1].resolved_at!).toISOString()).toBe(new Date(HELD_UNTIL).toISOString());
    // the resolved row is the instance's too: its severity, labels and values (was: '', {} and {})
    const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;
    expect(ev[1].severity).toBe('error');
    expect(json(ev[1].labels)).toEqual(json(ev[0].labels));
    expect(json(ev[1].labels)).toMatchObject({ alertname: 'ai_audit_volume_spike', severity: 'error', capability: 'summarize' });
    expect(json(ev[1].row_values)).toMatchObject({ capability: 'summarize', interaction_count: expect.anything() });
    // the same evaluation again changes nothing
    vigil(dir, [...SPIKE, HELD_UNTIL]);
    expect(events()).toHaveLength(2);
    const inc = vigil(dir, ['show', '-s', 'ai_audit_incidents', '--output', 'json']);
    const rows = (JSON.parse(inc.stdout) as Array<Record<string, unknown>>).filter((x) => x.alert === 'ai_audit_volume_spike');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ alert: 'ai_audit_volume_spike', capability: 'summarize', incident_state: 'resolved', duration_minutes: 3 * 24 * 60 + 60 });
    // its log volume: summarize's interactions from the spike day (the firing row's date) to the day it resolved
    const daily = vigil(dir, ['show', '--inline', "select sum(interaction_count) as n from {{ ref('ai_audit_daily') }} where capability = 'summarize' and date >= date '2026-03-09' and date <= date '2026-03-13'", '--output', 'json']);
    expect(Number(rows[0].interactions)).toBe(Number((JSON.parse(daily.stdout) as Array<{ n: number }>)[0].n));
    expect(Number(rows[0].interactions)).toBeGreaterThan(0);
  });

  it('alerts.history: false writes nothing', () => {
    const y = join(dir, 'project.yaml');
    const orig = readFileSync(y, 'utf8');
    writeFileSync(y, orig.includes('\nalerts:') ? orig.replace('\nalerts:', '\nalerts:\n  history: false') : `${orig}\nalerts:\n  history: false\n`);
    try {
      const before = events().length;
      // the spike fires again, a new incident, written nowhere (on a state of its own: the
      // project's has evaluated LATER, and --at may not go back before it)
      const r = vigil(dir, [...SPIKE, NOW, '--state-file', 'again.json']);
      expect(r.stdout).toMatch(/-> firing \{capability=summarize\}/);
      expect(r.stdout).not.toContain('History:');
      expect(events()).toHaveLength(before);
    } finally {
      writeFileSync(y, orig);
    }
  });
});
