/**
 * Hostile runtime values — quotes, backslashes, `$1`, `?`, NUL-free unicode, newlines,
 * `'); drop table x; --` — through every path that sends them to a warehouse as bind
 * parameters, on each warehouse, read back unchanged:
 *
 * 1. the alert state JSON document (`warehouseStore` + `StateStore.lock/save/unlock/read`);
 * 2. silence comments, authors and matcher values (`StateStore.update`), still matching;
 * 3. label values from an alert query's rows (`evaluateAlerts`: instances, new_value's seen
 *    values, the outbox), and the sync stream names a freshness rule reads back;
 * 4. sync cursors and keys (`syncStreams` from a real Postgres source whose TEXT primary keys
 *    are the hostile values, batches of 2 so every keyset bound is one of them, a composite-key
 *    table, then a delta run, a --full-refresh and a failing stream), with an unusual stream name
 *    (source and table names with quotes, `/`, glob characters); the row whose key holds a quoted
 *    CR LF starts a batch's CSV file.
 *
 * DuckDB (a file in a temp dir) and Postgres (inject('pgUrl')) run the SQL; BigQuery is the
 * REAL client against the loopback fake, which does not run SQL: there every hostile value must
 * travel as a positional query parameter byte-for-byte, never in the SQL text, and every
 * statement parses as GoogleSQL. On DuckDB and Postgres every SQL text sent to the driver is
 * recorded too, and must not contain a hostile value either.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDBConnection } from '@duckdb/node-api';
import { parse } from 'sql-parser-cst';
import type { Adapter } from '../../src/adapters/adapter.js';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { BigQueryAdapter } from '../../src/adapters/bigquery/bigquery-adapter.js';
import { ALERT_STATE_TABLE, warehouseStore, type StateDoc } from '../../src/alerts/state.js';
import { evaluateAlerts, type CompiledRule } from '../../src/alerts/evaluate.js';
import { AlertSchema, RoutesFileSchema } from '../../src/alerts/schema.js';
import { instanceKey, type InstanceState } from '../../src/alerts/engine.js';
import type { Silence } from '../../src/alerts/routing.js';
import { syncStreams, type StreamResult } from '../../src/sync/run-sync.js';
import type { SourceNode } from '../../src/compile/manifest.js';
import { STATE_TABLE, type SyncReader } from '../../src/sync/sync-types.js';
import { fakeBigQueryClient, useFakeBigQuery, type blockNonLoopbackConnections, type FakeBigQuery, type FakeField, type FakeRequest } from '../support/fake-bigquery.js';
import { uniqueSchema } from '../support/postgres.js';
import { removeDir } from '../helpers.js';

// ------------------------------------------------------------------------------ the values

const HOSTILE = [
  "'); drop table x; --",
  '$1',
  '$2::text',
  '?',
  "a'b",
  "it''s doubled",
  'back\\slash',
  'trailing backslash\\',
  '\\',
  '"dq"',
  '`bq ident`',
  'ümlaut ✓ 🚀 中文 e\u0301 \u200b\u202e',
  'line1\nline2',
  'cr\r\nlf',
  'tab\tsep',
  '\\.',
  '',
  '  padded  ',
  'NULL',
  '%s {{ x }} ${x} $$ $tag$',
  '/* c */ -- d',
  '\\x00 \\u0000',
  'comma,"quote"',
];
const CRLF = 'cr\r\nlf';
/** Values long and odd enough that their presence in a SQL text can only mean they were spliced into it. */
const DISTINCT = HOSTILE.filter((v) => v.length >= 4 && v !== 'NULL');

/** An unusual source name and table name: the stream is `source.table`, the table is an identifier everywhere. */
const ODD_SOURCE = "src'); drop table y; -- /?*[x] $1 ü";
const ODD_TABLE = "ev'nts \"q\" $1 ü/?*[a]";

const AT = new Date('2026-03-10T12:00:00.000Z');
const T = '2026-01-01 10:00:00+00';

const url = inject('pgUrl');
let client: pg.Client;
const dirs: string[] = [];

// ------------------------------------------------------------------------------ SQL text recorder

/** Every SQL text this process sent to Postgres (pg.Client) and DuckDB (DuckDBConnection), parameters aside. */
const sqlTexts: string[] = [];
const pgQuery = pg.Client.prototype.query;
const duckRun = DuckDBConnection.prototype.run;
const duckRead = DuckDBConnection.prototype.runAndReadAll;

function expectNoValueInSql(texts: string[], values: string[]): void {
  for (const v of values) {
    const hit = texts.find((t) => t.includes(v));
    expect(hit, `${JSON.stringify(v)} is in the SQL text: ${hit?.slice(0, 300)}`).toBeUndefined();
  }
}

beforeAll(async () => {
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const a = args[0] as string | { text?: string } | undefined;
    sqlTexts.push(typeof a === 'string' ? a : String(a?.text ?? ''));
    return (pgQuery as (...x: unknown[]) => unknown).apply(this, args);
  } as typeof pgQuery;
  DuckDBConnection.prototype.run = function (this: DuckDBConnection, sql: string, ...rest: unknown[]) {
    sqlTexts.push(sql);
    return (duckRun as (...x: unknown[]) => unknown).apply(this, [sql, ...rest]);
  } as typeof duckRun;
  DuckDBConnection.prototype.runAndReadAll = function (this: DuckDBConnection, sql: string, ...rest: unknown[]) {
    sqlTexts.push(sql);
    return (duckRead as (...x: unknown[]) => unknown).apply(this, [sql, ...rest]);
  } as typeof duckRead;
  client = new pg.Client(url);
  await client.connect();
  await client.query("set timezone = 'UTC'");
});
afterAll(async () => {
  await client?.end();
  pg.Client.prototype.query = pgQuery;
  DuckDBConnection.prototype.run = duckRun;
  DuckDBConnection.prototype.runAndReadAll = duckRead;
  dirs.forEach(removeDir);
});

const qi = (id: string) => `"${id.replace(/"/g, '""')}"`;
const sorted = (xs: string[]) => [...xs].sort();

// ------------------------------------------------------------------------------ (1) (2) the state document

/** One silence per hostile value (comment, author and matcher); only the first is active at AT. */
function hostileSilences(): Silence[] {
  return HOSTILE.map((v, i) => ({
    id: `sil-${i}`,
    matchers: [{ label: 'who', op: '=', value: v }],
    startsAt: '2026-03-01T00:00:00.000Z',
    endsAt: i === 0 ? '2026-04-01T00:00:00.000Z' : '2026-03-02T00:00:00.000Z',
    comment: v,
    createdBy: v,
    createdAt: '2026-03-01T00:00:00.000Z',
  }));
}

function hostileInstance(alert: string, v: string): InstanceState {
  const key = instanceKey(alert, { who: v });
  return { key, alert, kind: 'row', labels: { alertname: alert, severity: 'error', who: v }, status: 'firing', activeSince: AT.toISOString(), firedAt: AT.toISOString(), lastActiveAt: AT.toISOString(), consecutive: 1, values: { who: v, n: 1 }, notified: {} };
}

/** The document without its write id and lock (what a read after unlock must equal). */
const content = (d: StateDoc) => {
  const { writeId: _w, lock: _l, ...rest } = d;
  return rest;
};

/**
 * (1) and (2) on one warehouse: silences through update(), then a document full of hostile
 * values through lock/save/unlock; the stored body is the saved JSON byte-for-byte, and reading
 * it back from the warehouse gives exactly what was written.
 */
async function stateRoundTrip(adapter: Adapter, schema: string, storedBody: () => Promise<string>): Promise<void> {
  const store = await warehouseStore(adapter, schema);
  await store.update('vigil alerts silence', (doc) => {
    doc.silences.push(...hostileSilences());
  });
  // (read back through the store: each read is a query; a second store on the same adapter could
  // see the adapter's catalog from before the table existed)
  const afterSilence = await store.read();
  expect(afterSilence.silences).toEqual(hostileSilences());

  const doc = await store.lock('bind-parameters test');
  doc.rules.hostile = { status: 'error', error: HOSTILE.join('\n'), seen: Object.fromEntries(HOSTILE.map((v) => [v, { first: AT.toISOString(), announced: true }])) };
  doc.instances = Object.fromEntries(HOSTILE.map((v) => hostileInstance('hostile', v)).map((i) => [i.key, i]));
  doc.outbox.push({
    id: 'out-1',
    receiver: 'pd',
    type: 'slack',
    createdAt: AT.toISOString(),
    status: 'pending',
    attempts: 0,
    lastError: HOSTILE.join(' '),
    items: HOSTILE.map((v) => ({ instance: instanceKey('hostile', { who: v }), alert: 'hostile', action: 'trigger', labels: { who: v }, summary: v })),
    body: { text: HOSTILE.join('\n') } as never,
  });
  await store.save(doc);
  // the stored document is the saved one, byte for byte
  expect(await storedBody()).toBe(JSON.stringify(doc));
  await store.unlock(doc);

  const back = await store.read();
  expect(back.lock).toBeUndefined();
  expect(content(back)).toEqual(content(doc));
  expect(Object.keys(back.instances).sort()).toEqual(HOSTILE.map((v) => instanceKey('hostile', { who: v })).sort());
  expect(Object.values(back.instances).map((i) => i.labels.who).sort()).toEqual(sorted(HOSTILE));
  expect(Object.keys(back.rules.hostile.seen!).sort()).toEqual(sorted(HOSTILE));
  expect(back.silences.map((s) => [s.comment, s.createdBy, s.matchers[0].value])).toEqual(HOSTILE.map((v) => [v, v, v]));
}

// ------------------------------------------------------------------------------ (3) label values from query rows

function compiled(over: Record<string, unknown>, sql: string | undefined): CompiledRule {
  const rule = AlertSchema.parse({ severity: 'error', ...over });
  return { rule, sql, file: 'alerts/hostile.yaml', yaml: undefined as never, path: ['alerts', 0], queryAt: { line: 1, column: 1 } };
}

/** Receivers whose secrets are not set: notifications stay pending in the outbox (in the state document). */
const ROUTES = RoutesFileSchema.parse({ receivers: [{ name: 'pd', pagerduty: { routing_key_env: 'VIGIL_BIND_TEST_UNSET_KEY' } }], route: { receiver: 'pd' } });

/**
 * (3): an alert query returns every hostile value as the `who` label (group_by), another rule
 * learns them as new_value's seen values; evaluated, saved, read back from the warehouse. The
 * silence on the first value (stored before, through the state) keeps exactly its instance
 * from being notified; every other instance is in the outbox with its label and summary intact.
 */
async function evaluateHostileLabels(adapter: Adapter, schema: string, labelsRelation: string): Promise<void> {
  const store = await warehouseStore(adapter, schema);
  await store.update('vigil alerts silence', (d) => {
    d.silences.push(...hostileSilences());
  });
  const sql = `select who, n from ${labelsRelation}`;
  const rules = [
    compiled({ name: 'hostile_rows', condition: { type: 'sql' }, group_by: ['who'], summary: 'fired: {{ labels.who }}' }, sql),
    compiled({ name: 'hostile_new', condition: { type: 'new_value', column: 'who' }, summary: 'new: {{ labels.who }}' }, sql),
  ];
  const summary = await evaluateAlerts(
    { rules, knownRules: new Set(rules.map((r) => r.rule.name)), routes: ROUTES, adapter, store, files: { project: { name: 'bind' } } as never, sources: [], env: {}, out: () => {}, err: () => {} },
    { at: AT, dryRun: false, command: 'vigil alerts evaluate' },
  );
  expect(summary.outcomes.map((o) => [o.rule, o.status, o.error])).toEqual([
    ['hostile_rows', 'ok', undefined],
    ['hostile_new', 'ok', undefined],
  ]);
  // the active silence matches exactly the instance whose label is its (hostile) matcher value
  // (hostile_new's instance of that value too, when its first evaluation announces: see the report)
  expect(summary.suppressed.map((s) => s.instance).filter((k) => k.startsWith('hostile_rows{'))).toEqual([instanceKey('hostile_rows', { who: HOSTILE[0] })]);
  for (const s of summary.suppressed) expect([instanceKey('hostile_rows', { who: HOSTILE[0] }), instanceKey('hostile_new', { who: HOSTILE[0] })]).toContain(s.instance);
  for (const s of summary.suppressed) expect(s.reason).toContain(`silenced by sil-0 until 2026-04-01T00:00:00.000Z (${HOSTILE[0]})`);

  const back = await store.read();
  expect(back.lock).toBeUndefined();
  const inst = Object.values(back.instances).filter((i) => i.alert === 'hostile_rows');
  expect(inst.map((i) => i.labels.who).sort()).toEqual(sorted(HOSTILE));
  for (const i of inst) {
    expect(i.key).toBe(instanceKey('hostile_rows', { who: i.labels.who }));
    expect(i.values.who).toBe(i.labels.who);
    expect(i.status).toBe('firing');
  }
  // new_value's first evaluation learns every value quietly, each as a key of the document
  expect(Object.keys(back.rules.hostile_new.seen ?? {}).sort()).toEqual(sorted(HOSTILE));
  expect(Object.values(back.instances).filter((i) => i.alert === 'hostile_new')).toEqual([]);
  const items = back.outbox.flatMap((e) => e.items).filter((i) => i.alert === 'hostile_rows');
  expect(back.outbox.every((e) => e.status === 'pending' && /VIGIL_BIND_TEST_UNSET_KEY/.test(e.lastError ?? ''))).toBe(true);
  expect(items.map((i) => i.labels.who).sort()).toEqual(sorted(HOSTILE.slice(1)));
  for (const i of items) {
    expect(i.summary).toBe(`fired: ${i.labels.who}`);
    expect(i.instance).toBe(instanceKey('hostile_rows', { who: i.labels.who }));
  }
  const bodies = back.outbox.filter((e) => e.items[0].alert === 'hostile_rows').map((e) => (e.body as { payload: { summary: string } }).payload);
  expect(bodies.map((b) => b.summary).sort()).toEqual(sorted(HOSTILE.slice(1).map((v) => `fired: ${v}`)));
  expect(back.silences).toEqual(hostileSilences());
}

// ------------------------------------------------------------------------------ (4) sync

/** The source tables: the odd-named one keyed by the hostile values (TEXT), and a composite-key one. */
async function setupSource(schema: string, table: string): Promise<void> {
  await client.query(`create schema ${qi(schema)}`);
  await client.query(`create table ${qi(schema)}.${qi(table)} (id text primary key, note text, doc jsonb, created_at timestamptz not null)`);
  await client.query(`create table ${qi(schema)}.pairs (a text, b text, note text, created_at timestamptz not null, primary key (a, b))`);
  // most rows tie on created_at: the keyset bounds are the hostile keys themselves; the value
  // holding a quoted CR LF is the first row of the first batch (its CSV file starts with it)
  for (const [i, v] of HOSTILE.entries()) {
    await client.query(`insert into ${qi(schema)}.${qi(table)} values ($1, $2, $3, cast($4 as timestamptz) - make_interval(days => $5))`, [v, `note ${v}`, JSON.stringify({ k: v, i }), T, v === CRLF ? 2 : i % 7 === 3 ? 1 : 0]);
  }
  const parts = HOSTILE.slice(0, 5);
  for (const a of parts) for (const b of parts) await client.query(`insert into ${qi(schema)}.pairs values ($1, $2, $3, $4)`, [a, b, `${a}|${b}`, T]);
}

/** New rows past the cursor, and one existing row moved forward with a new note: the delta run's work. */
async function changeSource(schema: string, table: string): Promise<void> {
  for (const v of HOSTILE.slice(0, 9)) await client.query(`insert into ${qi(schema)}.${qi(table)} values ($1, $2, $3, cast($4 as timestamptz) + interval '1 hour')`, [`${v} #2`, v, JSON.stringify([v]), T]);
  await client.query(`update ${qi(schema)}.${qi(table)} set note = $1, created_at = created_at + interval '2 hours' where id = $2`, [`changed ${HOSTILE[4]}`, HOSTILE[4]]);
  // moved back to just inside the lookback: the first row the delta run reads (a replaced row)
  await client.query(`update ${qi(schema)}.${qi(table)} set note = $1, created_at = cast($2 as timestamptz) - interval '4 minutes' where id = $3`, [`changed ${CRLF}`, T, CRLF]);
  await client.query(`insert into ${qi(schema)}.pairs values ($1, $2, 'late', cast($3 as timestamptz) + interval '1 hour')`, [HOSTILE[6], HOSTILE[7], T]);
}

function syncNode(sourceName: string, table: string, targetSchema: string, sourceSchema: string, primaryKey: string[], batch: number): SourceNode {
  return {
    unique_id: `source.bind.${sourceName}.${table}`,
    resource_type: 'source',
    name: table,
    source_name: sourceName,
    file: 'models/sources.yml',
    line: 1,
    relation: { schema: targetSchema, identifier: table },
    columns: [],
    tags: [],
    sync: { from: 'app', schema: sourceSchema, primary_key: primaryKey, cursor: 'created_at', batch_size: batch, lookback_seconds: 300 },
  };
}

const streamOf = (n: SourceNode) => `${n.source_name}.${n.name}`;

/** The source rows as text, keyed the way the target is compared. */
async function sourceRows(schema: string, table: string): Promise<string[]> {
  const r = await client.query(`select id, note, doc::text as doc, (extract(epoch from created_at) * 1000000)::bigint::text as t from ${qi(schema)}.${qi(table)}`);
  return r.rows.map((x) => JSON.stringify([x.id, x.note, JSON.parse(x.doc), x.t])).sort();
}
async function sourcePairs(schema: string): Promise<string[]> {
  const r = await client.query(`select a, b, note, (extract(epoch from created_at) * 1000000)::bigint::text as t from ${qi(schema)}.pairs`);
  return r.rows.map((x) => JSON.stringify([x.a, x.b, x.note, x.t])).sort();
}

/** The key of the last row in (cursor, key) order: what the stream's cursor_id must be, exactly. */
async function lastKey(schema: string, table: string, pk: string[]): Promise<string> {
  const r = await client.query({ text: `select ${pk.map(qi).join(', ')} from ${qi(schema)}.${qi(table)} order by created_at desc, ${pk.map((k) => `${qi(k)} desc`).join(', ')} limit 1`, rowMode: 'array' });
  const row = r.rows[0] as string[];
  return pk.length === 1 ? row[0] : JSON.stringify(row);
}

/** The keys in (cursor, key) order from `lower` on: what the reader's batches must walk through. */
async function keysInOrder(schema: string, table: string, pk: string[], lower: string | null): Promise<string[]> {
  const r = await client.query({
    text: `select ${pk.map(qi).join(', ')} from ${qi(schema)}.${qi(table)}${lower ? ' where created_at >= cast($1 as timestamptz)' : ''} order by created_at, ${pk.map(qi).join(', ')}`,
    values: lower ? [lower] : [],
    rowMode: 'array',
  });
  return (r.rows as string[][]).map((row) => (pk.length === 1 ? row[0] : JSON.stringify(row)));
}

/** The SQL texts of a sync hold no hostile value; the recorder did see the COPY reading its bounds from settings. */
function expectReaderParameterized(texts: string[], distinct: string[]): void {
  expectNoValueInSql(texts, distinct);
  expect(texts.some((t) => t.startsWith('copy (select') && t.includes("current_setting('vigil.u1')"))).toBe(true);
  expect(texts.some((t) => t.startsWith('select set_config($1, $2, true)'))).toBe(true);
}

const lastOfEach = (xs: string[], size: number) => xs.filter((_, i) => i % size === size - 1 || i === xs.length - 1);

async function runSync(reader: SyncReader, target: Adapter, nodes: SourceNode[], fullRefresh = false): Promise<StreamResult[]> {
  const lines: string[] = [];
  const results = await syncStreams(nodes, new Map([['app', reader]]), target, { mode: 'delta', fullRefresh, out: (l) => lines.push(l) });
  expect(results.map((r) => [r.stream, r.status, r.status === 'error' ? r.message : '']), lines.join('\n')).toEqual(nodes.map((n) => [streamOf(n), 'success', '']));
  return results;
}

/**
 * (4) into a warehouse that runs SQL (DuckDB, Postgres): rows and cursor compared with the
 * source after the first sync and after a delta run; `read(sql, params)` queries the target.
 */
async function syncAndCompare(target: Adapter, targetSchema: string, read: (sql: string, params?: string[]) => Promise<Array<Record<string, unknown>>>, targetRows: (table: string) => Promise<string[]>, targetPairs: () => Promise<string[]>): Promise<void> {
  const src = uniqueSchema('bind_src');
  await setupSource(src, ODD_TABLE);
  const pgReader = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
  try {
    const reader = pgReader.syncReader();
    const nodes = [syncNode(ODD_SOURCE, ODD_TABLE, targetSchema, src, ['id'], 2), syncNode(ODD_SOURCE, 'pairs', targetSchema, src, ['a', 'b'], 3)];
    const state = async (n: SourceNode) =>
      (await read(`select cursor_id, rows_synced, last_status from ${target.dialect.relation({ schema: targetSchema, identifier: STATE_TABLE })} where stream = ${target.dialect.param(1)}`, [streamOf(n)])).map((r) => ({
        cursor_id: r.cursor_id,
        rows_synced: Number(r.rows_synced),
        last_status: r.last_status,
      }));
    const count = async (schema: string, table: string, lower: string | null = null) =>
      Number((await client.query(`select count(*)::int as n from ${qi(schema)}.${qi(table)}${lower ? ' where created_at >= cast($1 as timestamptz)' : ''}`, lower ? [lower] : [])).rows[0].n);

    const lower = new Date(Date.parse('2026-01-01T10:00:00Z') - 300_000).toISOString();
    expect((await keysInOrder(src, ODD_TABLE, ['id'], null))[0]).toBe(CRLF);
    const mark = sqlTexts.length;
    const first = await runSync(reader, target, nodes);
    const n1 = await count(src, ODD_TABLE);
    const p1 = await count(src, 'pairs');
    expect(first.map((r) => r.rows)).toEqual([n1, p1]);
    // batches of 2 (and 3): every bound but the last is a full batch's last hostile key
    expect(first.map((r) => r.batches)).toEqual([Math.ceil(n1 / 2), Math.ceil(p1 / 3)]);
    expect(await targetRows(ODD_TABLE)).toEqual(await sourceRows(src, ODD_TABLE));
    expect(await targetPairs()).toEqual(await sourcePairs(src));
    expect(await state(nodes[0])).toEqual([{ cursor_id: await lastKey(src, ODD_TABLE, ['id']), rows_synced: n1, last_status: 'success' }]);
    expect(await state(nodes[1])).toEqual([{ cursor_id: await lastKey(src, 'pairs', ['a', 'b']), rows_synced: p1, last_status: 'success' }]);

    // the delta run: starts 5 minutes behind the saved cursor, replaces re-read rows by key
    await changeSource(src, ODD_TABLE);
    expect((await keysInOrder(src, ODD_TABLE, ['id'], lower))[0]).toBe(CRLF);
    const second = await runSync(reader, target, nodes);
    const n2 = await count(src, ODD_TABLE, lower);
    const p2 = await count(src, 'pairs', lower);
    expect(second.map((r) => r.rows)).toEqual([n2, p2]);
    expect(await targetRows(ODD_TABLE)).toEqual(await sourceRows(src, ODD_TABLE));
    expect(await targetPairs()).toEqual(await sourcePairs(src));
    expect(await state(nodes[0])).toEqual([{ cursor_id: HOSTILE[4], rows_synced: n1 + n2, last_status: 'success' }]);
    expect(await lastKey(src, ODD_TABLE, ['id'])).toBe(HOSTILE[4]);
    expect(await state(nodes[1])).toEqual([{ cursor_id: JSON.stringify([HOSTILE[6], HOSTILE[7]]), rows_synced: p1 + p2, last_status: 'success' }]);

    // --full-refresh: the stream's cursor is forgotten (by name) and everything read again
    const third = await runSync(reader, target, nodes, true);
    const [n3, p3] = [await count(src, ODD_TABLE), await count(src, 'pairs')];
    expect(third.map((r) => r.rows)).toEqual([n3, p3]);
    expect(await targetRows(ODD_TABLE)).toEqual(await sourceRows(src, ODD_TABLE));
    expect(await targetPairs()).toEqual(await sourcePairs(src));
    expect(await state(nodes[0])).toEqual([{ cursor_id: HOSTILE[4], rows_synced: n3, last_status: 'success' }]);
    expect(await state(nodes[1])).toEqual([{ cursor_id: JSON.stringify([HOSTILE[6], HOSTILE[7]]), rows_synced: p3, last_status: 'success' }]);

    // a stream that fails: its error message, which names the odd stream, is stored exactly
    // (its source database could not be opened: a missing table is the project's mistake, exit 2, and not recorded)
    const missing = syncNode(ODD_SOURCE, `no such ${ODD_TABLE}`, targetSchema, src, ['id'], 2);
    const failed = await syncStreams([missing], new Map(), target, { mode: 'delta', fullRefresh: false, out: () => {}, sourceErrors: new Map([['app', `it's down: ${HOSTILE[1]}`]]) });
    expect(failed.map((r) => r.status)).toEqual(['error']);
    expect(failed[0].message).toContain(`stream ${streamOf(missing)}: the source database 'app' could not be opened: it's down: ${HOSTILE[1]}`);
    const failure = await read(`select last_status, last_error, consecutive_failures from ${target.dialect.relation({ schema: targetSchema, identifier: STATE_TABLE })} where stream = ${target.dialect.param(1)}`, [streamOf(missing)]);
    expect(failure.map((r) => ({ ...r, consecutive_failures: Number(r.consecutive_failures) }))).toEqual([{ last_status: 'error', last_error: failed[0].message, consecutive_failures: 1 }]);

    // (3) the stream names come back as labels of a sync freshness rule, exactly; and of a
    // sync_state rule on consecutive failures, with the failing stream's error as it was stored
    const store = await warehouseStore(target, targetSchema);
    const fresh = compiled({ name: 'sync_fresh', condition: { type: 'freshness', sync: true, max_age: '1h' }, summary: '{{ labels.stream }} is stale' }, undefined);
    const failing = compiled({ name: 'sync_failing', sync_state: true, condition: { type: 'threshold', column: 'consecutive_failures', op: '>', value: 0 }, summary: '{{ stream }}: {{ last_error }}' }, undefined);
    const later = new Date(Date.now() + 86_400_000);
    const ev = await evaluateAlerts({ rules: [fresh, failing], adapter: target, store, files: { project: { name: 'bind' } } as never, sources: [...nodes, missing], env: {}, out: () => {}, err: () => {} }, { at: later, dryRun: false, command: 'test' });
    expect(ev.outcomes.map((o) => o.status)).toEqual(['ok', 'ok']);
    const back = await store.read();
    const instances = Object.values(back.instances);
    expect(instances.filter((i) => i.alert === 'sync_fresh').map((i) => i.labels.stream).sort()).toEqual([...nodes, missing].map(streamOf).sort());
    expect(instances.filter((i) => i.alert === 'sync_failing').map((i) => [i.labels.stream, i.values.last_error, Number(i.values.consecutive_failures)])).toEqual([[streamOf(missing), failed[0].message, 1]]);

    // no value, key or stream name was ever part of a SQL text
    expectReaderParameterized(sqlTexts.slice(mark), [...DISTINCT, ...DISTINCT.map((v) => `${v} #2`), ...[...nodes, missing].map(streamOf), failed[0].message]);
  } finally {
    await pgReader.close();
  }
}

// ------------------------------------------------------------------------------ DuckDB

describe('DuckDB (a real file)', () => {
  let duck: DuckDbAdapter;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bind-'));
    dirs.push(dir);
    duck = await DuckDbAdapter.open({ type: 'duckdb', path: 'bind.duckdb', schema: 'analytics' }, dir, 2);
  });
  afterAll(async () => {
    await duck?.close();
  });

  it('(1)(2) the alert state document, silence comments and authors round-trip unchanged', async () => {
    const mark = sqlTexts.length;
    await stateRoundTrip(duck, 'state_one', async () => String((await duck.query(`select body from state_one.${ALERT_STATE_TABLE} order by version desc limit 1`))[0].body));
    expectNoValueInSql(sqlTexts.slice(mark), DISTINCT);
  });

  it('(3) label values from query rows become instances, seen values and outbox entries unchanged', async () => {
    await duck.ensureSchema('labels');
    await duck.execute('create table labels.hostile_labels (who varchar, n integer)');
    for (const v of HOSTILE) await duck.execute('insert into labels.hostile_labels values ($1, $2)', [v, 1]);
    const mark = sqlTexts.length;
    await evaluateHostileLabels(duck, 'labels', 'labels.hostile_labels');
    expectNoValueInSql(sqlTexts.slice(mark), DISTINCT);
  });

  it('(4) sync: hostile TEXT keys across batch edges, composite keys and an odd stream name; nothing lost or doubled, cursor exact', async () => {
    const rows = async (table: string) =>
      (await duck.query<{ id: string; note: string; doc: string; t: bigint }>(`select id, note, cast(doc as varchar) as doc, epoch_us(created_at) as t from raw.${qi(table)}`)).map((x) => JSON.stringify([x.id, x.note, JSON.parse(x.doc), String(x.t)])).sort();
    const pairs = async () => (await duck.query<{ a: string; b: string; note: string; t: bigint }>('select a, b, note, epoch_us(created_at) as t from raw.pairs')).map((x) => JSON.stringify([x.a, x.b, x.note, String(x.t)])).sort();
    await syncAndCompare(duck, 'raw', (sql, params) => duck.query(sql, params), rows, pairs);
  });
});

// ------------------------------------------------------------------------------ Postgres

describe('Postgres (real)', () => {
  let wh: PostgresAdapter;
  beforeAll(async () => {
    wh = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
  });
  afterAll(async () => {
    await wh?.close();
  });

  it('(1)(2) the alert state document, silence comments and authors round-trip unchanged', async () => {
    const s = uniqueSchema('bind_state');
    const mark = sqlTexts.length;
    await stateRoundTrip(wh, s, async () => String((await client.query(`select body from ${qi(s)}.${ALERT_STATE_TABLE} order by version desc limit 1`)).rows[0].body));
    expectNoValueInSql(sqlTexts.slice(mark), DISTINCT);
  });

  it('(3) label values from query rows become instances, seen values and outbox entries unchanged', async () => {
    const s = uniqueSchema('bind_labels');
    await client.query(`create schema ${s}; create table ${s}.hostile_labels (who text, n int)`);
    for (const v of HOSTILE) await client.query(`insert into ${s}.hostile_labels values ($1, $2)`, [v, 1]);
    const mark = sqlTexts.length;
    await evaluateHostileLabels(wh, s, `${s}.hostile_labels`);
    expectNoValueInSql(sqlTexts.slice(mark), DISTINCT);
  });

  it('(4) sync: hostile TEXT keys across batch edges, composite keys and an odd stream name; nothing lost or doubled, cursor exact', async () => {
    const dest = uniqueSchema('bind_dst');
    const rows = async (table: string) =>
      (await client.query(`select id, note, doc::text as doc, (extract(epoch from created_at) * 1000000)::bigint::text as t from ${qi(dest)}.${qi(table)}`)).rows.map((x) => JSON.stringify([x.id, x.note, JSON.parse(x.doc), x.t])).sort();
    const pairs = async () => (await client.query(`select a, b, note, (extract(epoch from created_at) * 1000000)::bigint::text as t from ${qi(dest)}.pairs`)).rows.map((x) => JSON.stringify([x.a, x.b, x.note, x.t])).sort();
    await syncAndCompare(wh, dest, (sql, params) => wh.query(sql, params), rows, pairs);
  });
});

// ------------------------------------------------------------------------------ BigQuery (the fake)

type Param = { parameterType: { type: string }; parameterValue?: { value?: unknown } };
const paramsOf = (r: FakeRequest): Param[] => (r.body?.configuration?.query?.queryParameters ?? r.body?.queryParameters ?? []) as Param[];
const sqlOf = (r: FakeRequest): string | undefined => r.body?.configuration?.query?.query ?? (r.path.endsWith('/queries') ? r.body?.query : undefined);
const values = (r: FakeRequest) => paramsOf(r).map((p) => p.parameterValue?.value ?? null);

/**
 * Answer the queries `respond` knows (from their SQL and parameters) with rows it computes,
 * e.g. a state table kept from the statements seen so far. The fake records a request before
 * it picks the answer, so the request being answered is the last one recorded.
 */
function answerWith(fake: FakeBigQuery, respond: (sql: string, params: unknown[]) => { rows: Array<Record<string, unknown>>; fields: FakeField[]; numDmlAffectedRows?: number } | undefined): void {
  const shared: { rows?: Array<Record<string, unknown>>; fields?: FakeField[]; numDmlAffectedRows?: number } = {};
  fake.onQuery((sql) => {
    const a = respond(sql, values(fake.requests.at(-1)!));
    if (!a) return false;
    shared.rows = a.rows;
    shared.fields = a.fields;
    shared.numDmlAffectedRows = a.numDmlAffectedRows;
    return true;
  }, shared);
}

/** The alert state table of `dataset`, kept from the INSERT and compare-and-set UPDATEs the store sends (whole documents), and its journal's table (a row per line, then the version moved alone). */
function emulateAlertState(fake: FakeBigQuery, project: string, dataset: string): void {
  let row: { version: number; body: string } | undefined;
  let lines: Array<{ seq: number; line: string }> = [];
  const rel = `\`${dataset}\`.\`${ALERT_STATE_TABLE}\``;
  const jrel = `\`${dataset}\`.\`${ALERT_STATE_TABLE}_journal\``;
  answerWith(fake, (sql, p) => {
    if (sql.includes(jrel)) {
      if (/^create table/i.test(sql)) fake.addTable(project, dataset, `${ALERT_STATE_TABLE}_journal`, { fields: [{ name: 'id', type: 'STRING' }, { name: 'seq', type: 'INT64' }, { name: 'line', type: 'STRING' }] });
      else if (/^insert/i.test(sql)) lines.push({ seq: Number(p[1]), line: String(p[2]) });
      else if (/^delete/i.test(sql)) lines = lines.filter((l) => l.seq > Number(p[1]));
      else if (/^select line/i.test(sql)) return { rows: lines.filter((l) => l.seq <= Number(p[1])).map((l) => ({ line: l.line })), fields: [{ name: 'line', type: 'STRING' }] };
      return { rows: [], fields: [], numDmlAffectedRows: 1 };
    }
    if (!sql.includes(rel)) return undefined;
    if (/^create table/i.test(sql)) fake.addTable(project, dataset, ALERT_STATE_TABLE, { fields: [{ name: 'id', type: 'STRING' }, { name: 'version', type: 'INT64' }, { name: 'body', type: 'STRING' }, { name: 'updated_at', type: 'TIMESTAMP' }] });
    else if (/^insert/i.test(sql)) row ??= { version: 0, body: String(p[1]) };
    else if (/^update \S+ set version = \?, updated_at/i.test(sql)) {
      const hit = !!row && row.version === Number(p[2]);
      if (row && hit) row = { ...row, version: Number(p[0]) };
      return { rows: [], fields: [], numDmlAffectedRows: hit ? 1 : 0 };
    } else if (/^update/i.test(sql)) {
      const hit = !!row && row.version === Number(p[3]);
      if (row && hit) row = { version: Number(p[0]), body: String(p[1]) };
      return { rows: [], fields: [], numDmlAffectedRows: hit ? 1 : 0 };
    } else if (/^select version, body/i.test(sql)) return { rows: row ? [row] : [], fields: [{ name: 'version', type: 'INTEGER' }, { name: 'body', type: 'STRING' }] };
    else if (/^select version from/i.test(sql)) return { rows: row ? [{ version: row.version }] : [], fields: [{ name: 'version', type: 'INTEGER' }] };
    return { rows: [], fields: [] };
  });
}

/** Every query job: its statement parses as GoogleSQL with `?` parameters, one `?` per parameter, and no hostile value is in its text. */
function expectParameterized(reqs: FakeRequest[], distinct: string[]): void {
  const queries = reqs.filter((r) => sqlOf(r) !== undefined);
  expect(queries.length).toBeGreaterThan(0);
  for (const r of queries) {
    const sql = sqlOf(r)!;
    expect(() => parse(sql, { dialect: 'bigquery', paramTypes: ['?'] }), sql.slice(0, 200)).not.toThrow();
    expect(sql.split('?').length - 1, sql.slice(0, 200)).toBe(paramsOf(r).length);
    expect(String(r.body?.configuration?.query?.parameterMode ?? 'positional')).toMatch(/^positional$/i);
  }
  expectNoValueInSql(queries.map((r) => sqlOf(r)!), distinct);
}

/** A minimal RFC 4180 reader (the reader's COPY output): unquoted empty field = NULL. */
function parseCsv(text: string): Array<Array<string | null>> {
  const rows: Array<Array<string | null>> = [];
  let row: Array<string | null> = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            v += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else v += text[i++];
      }
      row.push(v);
    } else {
      let j = i;
      while (j < text.length && text[j] !== ',' && text[j] !== '\n') j++;
      const raw = text.slice(i, j);
      row.push(raw === '' ? null : raw);
      i = j;
    }
    if (text[i] === ',') i++;
    else {
      rows.push(row);
      row = [];
      i++;
    }
  }
  return rows;
}

describe('BigQuery (the real client against the loopback fake)', () => {
  let fake: FakeBigQuery;
  let guard: ReturnType<typeof blockNonLoopbackConnections>;
  const PROJECT = 'vigil-bind';
  const bq = async () => BigQueryAdapter.open({ type: 'bigquery', project: PROJECT, dataset: 'analytics', location: 'US' }, 2, await fakeBigQueryClient(fake, { projectId: PROJECT, location: 'US' }));

  const started = useFakeBigQuery();
  beforeAll(() => {
    ({ fake, guard } = started);
  });

  it('(1)(2) the alert state document, silence comments and authors travel as parameters byte-for-byte', async () => {
    emulateAlertState(fake, PROJECT, 'bind_state');
    const adapter = await bq();
    const start = fake.requests.length;
    const updates = () => fake.requests.slice(start).filter((r) => /^update /i.test(sqlOf(r) ?? ''));
    await stateRoundTrip(adapter, 'bind_state', async () => {
      const last = updates().at(-1)!;
      const p = paramsOf(last);
      expect(p.map((x) => x.parameterType.type)).toEqual(['INT64', 'STRING', 'STRING', 'INT64']);
      return String(p[1].parameterValue?.value);
    });
    const reqs = fake.requests.slice(start);
    expect(updates().length).toBeGreaterThanOrEqual(4);
    // the document is the body parameter: every hostile value inside it, exactly
    const last = JSON.parse(String(values(updates().at(-1)!)[1])) as StateDoc;
    expect(last.silences.map((s) => [s.comment, s.createdBy, s.matchers[0].value])).toEqual(HOSTILE.map((v) => [v, v, v]));
    expectParameterized(reqs, [...DISTINCT, ...DISTINCT.map((v) => JSON.stringify(v).slice(1, -1))]);
    expect(guard.blocked).toEqual([]);
  });

  it('(3) label values from query rows become instances, seen values and outbox entries, all inside the document parameter', async () => {
    emulateAlertState(fake, PROJECT, 'bind_labels');
    fake.onQuery(/`bind_labels`\.`hostile_labels`/, { rows: HOSTILE.map((v) => ({ who: v, n: 1 })), fields: [{ name: 'who', type: 'STRING' }, { name: 'n', type: 'INTEGER' }] });
    const adapter = await bq();
    const start = fake.requests.length;
    await evaluateHostileLabels(adapter, 'bind_labels', adapter.dialect.relation({ schema: 'bind_labels', identifier: 'hostile_labels' }));
    const reqs = fake.requests.slice(start);
    const bodies = reqs.filter((r) => /^update .* body = /i.test(sqlOf(r) ?? '')).map((r) => JSON.parse(String(values(r)[1])) as StateDoc);
    const saved = bodies.find((b) => Object.keys(b.instances).length > 0)!;
    expect(Object.values(saved.instances).filter((i) => i.alert === 'hostile_rows').map((i) => i.labels.who).sort()).toEqual(sorted(HOSTILE));
    expect(Object.keys(saved.rules.hostile_new.seen ?? {}).sort()).toEqual(sorted(HOSTILE));
    expectParameterized(reqs, [...DISTINCT, ...DISTINCT.map((v) => JSON.stringify(v).slice(1, -1))]);
  });

  it('(4) sync: stream name, cursors and hostile keys travel as parameters; batches walk the keys in order, each row loaded once', async () => {
    const src = uniqueSchema('bind_bq_src');
    await setupSource(src, 'events');
    // the sync state table of dataset `raw`, kept from the transactions (readState, hasRows answer from it)
    const cursors = new Map<string, { cursor_value: string; cursor_id: string; rows: number }>();
    answerWith(fake, (sql, p) => {
      // a copy's CREATE TABLE makes the table, with its columns, as BigQuery does (the next run finds it)
      const create = /^CREATE TABLE IF NOT EXISTS `vigil-bind`\.`raw`\.`(\w+)` \(([\s\S]*)\)$/.exec(sql);
      if (create && create[1] !== 'vigil_sync_state') {
        const names = [...create[2].matchAll(/`((?:[^`\\]|\\.)*)` [A-Z]/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
        fake.addTable(PROJECT, 'raw', create[1], { fields: names.map((name) => ({ name, type: 'STRING' })) });
        return { rows: [], fields: [] };
      }
      if (/^BEGIN TRANSACTION;\nDELETE FROM `vigil-bind`\.`raw`\.`\w+` WHERE TRUE;\nUPDATE `vigil-bind`\.`raw`\.`vigil_sync_state` SET cursor_value = NULL/.test(sql) && p.length === 1) {
        cursors.delete(String(p[0])); // reset: the table emptied, the stream's cursor forgotten
        return { rows: [], fields: [] };
      }
      if (sql.startsWith('BEGIN TRANSACTION') && sql.includes('`raw`.`vigil_sync_state`') && p.length === 5) {
        const [stream, cursorValue, cursorId, rows] = p as [string, string, string, number];
        cursors.set(stream, { cursor_value: cursorValue, cursor_id: cursorId, rows: (cursors.get(stream)?.rows ?? 0) + Number(rows) });
        return { rows: [], fields: [] };
      }
      if (/^SELECT stream, CAST\(cursor_value AS STRING\)/.test(sql) && sql.includes('`raw`.`vigil_sync_state`')) {
        const c = cursors.get(String(p[0]));
        const fields = ['stream', 'cursor_value', 'cursor_id', 'rows_synced', 'last_status'].map((name) => ({ name, type: name === 'rows_synced' ? 'INTEGER' : 'STRING' }));
        return { rows: c ? [{ stream: p[0], cursor_value: c.cursor_value, cursor_id: c.cursor_id, rows_synced: c.rows, last_status: 'success' }] : [], fields };
      }
      const has = /^SELECT 1 AS one FROM `vigil-bind`\.`raw`\.`(\w+)` LIMIT 1$/.exec(sql);
      if (has) return { rows: [...cursors.keys()].some((s) => s.endsWith(`.${has[1]}`)) ? [{ one: 1 }] : [], fields: [{ name: 'one', type: 'INTEGER' }] };
      return undefined;
    });
    const adapter = await bq();
    const pgReader = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics' }, 2);
    try {
      const nodes = [syncNode(ODD_SOURCE, 'events', 'raw', src, ['id'], 3), syncNode(ODD_SOURCE, 'pairs', 'raw', src, ['a', 'b'], 4)];
      const sizes = [3, 4];
      const pks = [['id'], ['a', 'b']];

      const check = async (start: number, lower: string | null, replace: boolean) => {
        const reqs = fake.requests.slice(start);
        for (const [k, n] of nodes.entries()) {
          const stream = streamOf(n);
          const txs = reqs.filter((r) => /^BEGIN TRANSACTION;\n(MERGE|INSERT) /.test(sqlOf(r) ?? '') && values(r)[0] === stream);
          const keys = await keysInOrder(src, n.name, pks[k], lower);
          // one transaction per batch; the cursor_id parameter is each batch's last key, byte for byte
          expect(txs.map((r) => values(r)[2])).toEqual(lastOfEach(keys, sizes[k]));
          expect(txs.map((r) => paramsOf(r).map((p) => p.parameterType.type))).toEqual(txs.map(() => ['STRING', 'STRING', 'STRING', 'INT64', 'STRING']));
          for (const r of txs) expect(sqlOf(r)).toMatch(replace ? /^BEGIN TRANSACTION;\nMERGE / : /^BEGIN TRANSACTION;\nINSERT INTO /);
          // every row uploaded exactly once, its key intact through the CSV
          // (a --full-refresh stages into the refill's stage: `<table>__vigil_refill__vigil_stage`)
          const uploads = reqs.filter((r) => r.upload !== undefined && [`${n.name}__vigil_stage`, `${n.name}__vigil_refill__vigil_stage`].includes(r.body?.configuration?.load?.destinationTable?.tableId));
          const loaded = uploads.flatMap((u) => parseCsv(u.upload!)).map((row) => (pks[k].length === 1 ? row[0]! : JSON.stringify([row[0], row[1]])));
          expect(loaded.sort()).toEqual([...keys].sort());
          expect(cursors.get(stream)?.cursor_id).toBe(await lastKey(src, n.name, pks[k]));
          // the stream's own statements carry its name as a parameter too
          expect(reqs.some((r) => /^SELECT stream, CAST/.test(sqlOf(r) ?? '') && values(r)[0] === stream)).toBe(true);
          expect(reqs.some((r) => /^MERGE .*vigil_sync_state/.test(sqlOf(r) ?? '') && values(r)[0] === stream && values(r)[1] === 'success')).toBe(true);
        }
        expectParameterized(reqs, [...DISTINCT, ...DISTINCT.map((v) => `${v} #2`), ...nodes.map(streamOf)]);
      };

      const mark = sqlTexts.length;
      let start = fake.requests.length;
      await runSync(pgReader.syncReader(), adapter, nodes);
      await check(start, null, false);

      await changeSource(src, 'events');
      start = fake.requests.length;
      await runSync(pgReader.syncReader(), adapter, nodes);
      await check(start, new Date(Date.parse('2026-01-01T10:00:00Z') - 300_000).toISOString(), true);
      // --full-refresh of copies that hold rows: refilled beside them, and the swap (one script)
      // names the stream by parameters (its state row, the refill's progress row); everything is read again
      start = fake.requests.length;
      await runSync(pgReader.syncReader(), adapter, nodes, true);
      const swaps = fake.requests.slice(start).filter((r) => /^BEGIN TRANSACTION;\nDELETE FROM/.test(sqlOf(r) ?? ''));
      expect(swaps.map(values)).toEqual(nodes.map((n) => [streamOf(n), streamOf(n), streamOf(n)]));
      await check(start, null, false);

      // a stream that fails: its error message, which names the odd stream, is a parameter
      // (its source database could not be opened: a missing table is the project's mistake, exit 2, and not recorded)
      const missing = syncNode(ODD_SOURCE, 'no_such_table', 'raw', src, ['id'], 3);
      start = fake.requests.length;
      const failed = await syncStreams([missing], new Map(), adapter, { mode: 'delta', fullRefresh: false, out: () => {}, sourceErrors: new Map([['app', `it's down: ${HOSTILE[1]}`]]) });
      expect(failed.map((r) => r.status)).toEqual(['error']);
      expect(failed[0].message).toContain(`stream ${streamOf(missing)}: the source database 'app' could not be opened: it's down: ${HOSTILE[1]}`);
      const recorded = fake.requests.slice(start).filter((r) => /^MERGE .*vigil_sync_state/.test(sqlOf(r) ?? ''));
      expect(recorded.map(values)).toEqual([[streamOf(missing), 'error', failed[0].message, null, 0]]);
      expectParameterized(fake.requests.slice(start), [streamOf(missing), failed[0].message]);

      // nor in what the reader sent to the source Postgres
      expectReaderParameterized(sqlTexts.slice(mark), [...DISTINCT, ...DISTINCT.map((v) => `${v} #2`), ...[...nodes, missing].map(streamOf), failed[0].message]);
      expect(cursors.get(streamOf(nodes[0]))?.cursor_id).toBe(HOSTILE[4]);
      expect(guard.blocked).toEqual([]);
    } finally {
      await pgReader.close();
    }
  });
});
