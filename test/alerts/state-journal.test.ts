/**
 * The alert state in the warehouse during delivery (src/alerts/state.ts saveProgress): each
 * notification's marks (`sending` before its request, the outcome after) are one small journal
 * line, not the whole state written again and read back, so a burst of N messages costs
 * O(N) and not O(N x state). Read on DuckDB and Postgres: what a next run sees mid-delivery (the
 * lines applied), a lock lost meanwhile (the line refused), lines left on a body an earlier
 * version replaced (skipped), states earlier versions wrote (no journal; lines in the `journal`
 * column the version before kept them in), a burst passing 128 KB of lines (no whole write), a
 * line's row whose version never followed, and kill -9 of a real run mid-burst. The lines are
 * rows of `vigil_alert_state_journal` (src/run/cas-document.ts).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import type { Adapter } from '../../src/adapters/adapter.js';
import { deliverOutbox, type EvalContext } from '../../src/alerts/evaluate.js';
import { ALERT_STATE_TABLE, StateStore, warehouseStore } from '../../src/alerts/state.js';
import type { CasBackend, CasDocument } from '../../src/run/cas-document.js';
import type { OutboxEntry } from '../../src/alerts/notify.js';
import type { InstanceState } from '../../src/alerts/engine.js';
import { ReceiverSchema, type RoutesFile } from '../../src/alerts/schema.js';
import { DEFAULT_POLICY, type SlackMessage } from '../../src/alerts/delivery/types.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startFakePagerDuty } from '../support/fake-pagerduty.js';
import { makeProject, removeDir, vigilProcessAsync, VIGIL } from '../helpers.js';
import { uniqueSchema, withPgClient } from '../support/postgres.js';

const dirs: string[] = [];
let hook: FakeSlack;
beforeAll(async () => {
  hook = await startFakeSlack();
});
afterAll(async () => {
  await hook?.close();
  dirs.forEach(removeDir);
});

const AT = '2026-03-10T18:00:00.000Z';

function instances(n: number): Record<string, InstanceState> {
  const out: Record<string, InstanceState> = {};
  for (let i = 0; i < n; i++) {
    const key = `many{id="${i}"}`;
    out[key] = { key, alert: 'many', kind: 'row', labels: { alertname: 'many', severity: 'warning', id: String(i) }, status: 'firing', activeSince: AT, firedAt: AT, lastActiveAt: AT, consecutive: 1, values: { id: i, val: 1, note: 'x'.repeat(100) }, notified: { [`hook\troute`]: { at: AT, action: 'trigger' } } };
  }
  return out;
}

/** `n` webhook messages of 20 instances each, as planNotifications makes them. */
function entries(n: number, prefix = 'e'): OutboxEntry[] {
  return Array.from({ length: n }, (_, k) => ({
    id: `${prefix}-${String(k).padStart(4, '0')}`,
    receiver: 'hook',
    type: 'slack' as const,
    createdAt: AT,
    status: 'pending' as const,
    attempts: 0,
    items: Array.from({ length: 20 }, (_, j) => ({ instance: `many{id="${k * 20 + j}"}`, alert: 'many', action: 'trigger' as const, labels: { id: String(k * 20 + j) }, summary: `id ${k * 20 + j}` })),
    body: { text: `part ${k}`, blocks: Array.from({ length: 20 }, (_, j) => ({ type: 'section', text: { type: 'mrkdwn', text: `id ${k * 20 + j} ${'y'.repeat(200)}` } })) } as unknown as SlackMessage,
  }));
}

/** The real adapter, counting the characters its statements send as parameters and read back. */
function counting(a: Adapter): { adapter: Adapter; io: { sent: number; read: number; whole: number } } {
  const io = { sent: 0, read: 0, whole: 0 };
  const adapter = new Proxy(a, {
    get(t, p) {
      const v = Reflect.get(t, p) as unknown;
      if (typeof v !== 'function') return v;
      const f = v as (sql: string, params?: unknown[]) => Promise<unknown>;
      if (p !== 'execute' && p !== 'executeCounted' && p !== 'query') return f.bind(t);
      return async (sql: string, params: unknown[] = []) => {
        io.sent += params.reduce<number>((n, x) => n + String(x ?? '').length, 0);
        // (the whole document written: the compare-and-set that replaces the body)
        if (/\bbody\s*=/.test(sql)) io.whole++;
        const r = await f.call(t, sql, params);
        if (p === 'query') io.read += JSON.stringify(r, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)).length;
        return r;
      };
    },
  });
  return { adapter, io };
}

function context(store: StateStore, adapter: Adapter): EvalContext {
  const routes = { receivers: [ReceiverSchema.parse({ name: 'hook', slack: { webhook_url_env: 'HOOK_URL', rate_per_second: 1000 } })] } as unknown as RoutesFile;
  return { rules: [], routes, adapter, store, files: {} as never, sources: [], env: { HOOK_URL: hook.url }, out: () => {}, err: () => {} };
}

const rel = (a: Adapter, schema: string) => a.dialect.relation({ schema, identifier: ALERT_STATE_TABLE });

const journalRel = (a: Adapter, schema: string) => a.dialect.relation({ schema, identifier: `${ALERT_STATE_TABLE}_journal` });

/** The journal's lines in their table (one row each), in order; null when there are none. */
async function journalOf(a: Adapter, schema: string): Promise<string | null> {
  const rows = await a.query<{ line: unknown }>(`select line from ${journalRel(a, schema)} order by seq`);
  return rows.length ? rows.map((r) => String(r.line)).join('') : null;
}

async function marksAreLines(a: Adapter, schema: string) {
  const { adapter, io } = counting(a);
  const store = await warehouseStore(adapter, schema);
  const doc = await store.lock('test');
  Object.assign(doc.instances, instances(1000));
  doc.outbox.push(...entries(50));
  await store.save(doc);
  const stateChars = JSON.stringify(doc).length;
  expect(stateChars).toBeGreaterThan(300_000);
  io.sent = io.read = 0;
  const before = hook.messages.length;
  const summary = await deliverOutbox(context(store, adapter), doc, DEFAULT_POLICY);
  expect(summary).toMatchObject({ sent: 50, pending: 0, uncertain: 0, errors: [] });
  expect(hook.messages.length - before).toBe(50);
  // 51 saves (a mark before each message, with the outcome of the one before; the last outcome): each the lines of what
  // changed, nothing read back (was: the whole state each time, 101 x 0.8 MB sent and as much read)
  expect(io.sent).toBeLessThan(stateChars / 4);
  expect(io.read).toBe(0);

  // a run that starts now (this one killed before releasing the lock) sees every mark
  const next = await warehouseStore(a, schema);
  const seen = await next.read();
  expect(seen.outbox.map((e) => `${e.status}:${e.attempts}:${e.body === undefined}`)).toEqual(doc.outbox.map(() => 'sent:1:true'));
  expect(seen.outbox.map((e) => e.sentAt)).toEqual(doc.outbox.map((e) => e.sentAt));
  expect(seen.outbox[7].items).toEqual(doc.outbox[7].items);
  expect(Object.keys(seen.instances)).toHaveLength(1000);
  expect(seen.lock?.until).toBe(doc.lock?.until);
  expect(await journalOf(a, schema)).toMatch(/"status":"sent"/);

  // released: one whole write, the journal folded in and cleared
  await store.unlock(doc);
  expect(await journalOf(a, schema)).toBeNull();
  const after = await next.read();
  expect(after.lock).toBeUndefined();
  expect(after.outbox.map((e) => e.status)).toEqual(doc.outbox.map(() => 'sent'));
}

/**
 * A burst whose lines pass 128 KB: the journal is rows, one per line, so no line rewrites the
 * lines before it and none of them is folded into a whole write mid-delivery (was: a `journal`
 * column rewritten at each line and folded into the document every 128 KB — with 20,000 firing
 * instances 90 writes of a 29 MB state, 2.6 GB, 480 s). Counted: statements replacing the body,
 * and the characters sent per save, whatever the size of the state.
 */
async function burstCostsItsLines(a: Adapter, schema: string) {
  const { adapter, io } = counting(a);
  const store = await warehouseStore(adapter, schema);
  const doc = await store.lock('test');
  Object.assign(doc.instances, instances(2000));
  doc.outbox.push(...entries(400, 'b'));
  await store.save(doc);
  const stateChars = JSON.stringify(doc).length;
  expect(stateChars).toBeGreaterThan(1_000_000);
  io.sent = io.read = io.whole = 0;
  const before = hook.messages.length;
  const summary = await deliverOutbox(context(store, adapter), doc, DEFAULT_POLICY);
  expect(summary).toMatchObject({ sent: 400, pending: 0, uncertain: 0, errors: [] });
  expect(hook.messages.length - before).toBe(400);
  // 402 saves (each message's outcome goes with the next one's `sending` mark; was 801): the lines
  // alone (the old journal passed 128 KB twice: 2 whole writes of the state mid-delivery)
  expect(io.whole).toBe(0);
  expect(io.sent).toBeLessThan(801 * 1500);
  expect(io.read).toBe(0);
  const lines = (await journalOf(a, schema))!.split('\n').filter(Boolean);
  expect(lines).toHaveLength(402);
  expect(lines.join('\n').length).toBeGreaterThan(2 * 128 * 1024);
  // what the next run reads: every mark, in order
  const seen = await (await warehouseStore(a, schema)).read();
  expect(seen.outbox.map((e) => `${e.status}:${e.attempts}:${e.body === undefined}`)).toEqual(doc.outbox.map(() => 'sent:1:true'));
  // released: one whole write, and the rows it folded in dropped
  await store.unlock(doc);
  expect(io.whole).toBe(1);
  expect(await journalOf(a, schema)).toBeNull();
  expect((await (await warehouseStore(a, schema)).read()).outbox.map((e) => e.status)).toEqual(doc.outbox.map(() => 'sent'));
}

/**
 * The new layout's own crash window: a line's row inserted, the process killed before the
 * version moved (or its compare-and-set lost). The row is not read as written: the next run sees
 * the entry as the last durable save left it, and the next whole write drops the row.
 */
async function rowWithoutVersion(a: Adapter, schema: string) {
  const store = await warehouseStore(a, schema);
  const doc = await store.lock('test');
  doc.outbox.push(...entries(2, 'k'));
  await store.save(doc);
  doc.outbox[0].status = 'sending';
  doc.outbox[0].attempts = 1;
  await store.saveProgress(doc);
  const [{ version }] = await a.query<{ version: unknown }>(`select version from ${rel(a, schema)}`);
  // the next line's row, its UPDATE never run
  const line = JSON.stringify({ b: JSON.parse((await journalOf(a, schema))!.split('\n')[0]).b, w: 'never-settled', outbox: [{ ...doc.outbox[0], items: undefined, body: undefined, status: 'sent', hasBody: false }] }) + '\n';
  await a.execute(`insert into ${journalRel(a, schema)} (id, seq, line) values ('state', ${a.dialect.param(1)}, ${a.dialect.param(2)})`, [Number(version) + 1, line]);
  const seen = await (await warehouseStore(a, schema)).read();
  expect(seen.outbox.map((e) => `${e.id}:${e.status}`)).toEqual(['k-0000:sending', 'k-0001:pending']);
  expect(seen.writeId).not.toBe('never-settled');
  await store.unlock(doc);
  expect(await journalOf(a, schema)).toBeNull();
}

/** A state an earlier version wrote with its lines in a `journal` column (killed mid-delivery): they are read, and the next whole write clears them. */
async function fromJournalColumn(a: Adapter, schema: string) {
  const d = a.dialect;
  await a.ensureSchema(schema);
  await a.execute(`create table ${rel(a, schema)} (id ${d.type('string')} primary key, version ${d.type('int')} not null, body ${d.type('string')} not null, updated_at ${d.type('timestamp')}, journal ${d.type('string')})`);
  const body = { format: 1, instances: {}, rules: {}, silences: [], outbox: entries(2, 'c'), groups: {}, writeId: 'body-of-old' };
  const marks = (id: string, status: string) => ({ id, receiver: 'hook', type: 'slack', createdAt: AT, status, attempts: 1, hasBody: status !== 'sent' });
  const journal = [JSON.stringify({ b: 'body-of-old', w: 'l1', outbox: [marks('c-0000', 'sending')] }), JSON.stringify({ b: 'body-of-old', w: 'l2', outbox: [marks('c-0000', 'sent')] }), JSON.stringify({ b: 'body-of-old', w: 'l3', outbox: [marks('c-0001', 'sending')] })].join('\n') + '\n';
  await a.execute(`insert into ${rel(a, schema)} (id, version, body, updated_at, journal) values ('state', 12, ${d.param(1)}, ${d.current_timestamp()}, ${d.param(2)})`, [JSON.stringify(body), journal]);
  const store = await warehouseStore(a, schema);
  expect((await store.read()).outbox.map((e) => `${e.id}:${e.status}:${e.body === undefined}`)).toEqual(['c-0000:sent:true', 'c-0001:sending:false']);
  // the run that follows: the message in flight is held (a webhook), the sent one not sent again
  const doc = await store.lock('test');
  const [{ journal: cleared }] = await a.query<{ journal: unknown }>(`select journal from ${rel(a, schema)}`);
  expect(cleared).toBeNull();
  const before = hook.messages.length;
  expect(await deliverOutbox(context(store, a), doc, DEFAULT_POLICY)).toMatchObject({ sent: 0, uncertain: 1 });
  expect(hook.messages.length - before).toBe(0);
  await store.unlock(doc);
  expect((await store.read()).outbox.map((e) => `${e.id}:${e.status}`)).toEqual(['c-0000:sent', 'c-0001:uncertain']);
}

async function lostLockAndStaleLines(a: Adapter, schema: string) {
  // a lease of 1 ms: taken over by the next run at once
  const first = await warehouseStore(a, schema, 1);
  const doc = await first.lock('first');
  doc.outbox.push(...entries(3, 'f'));
  await first.save(doc);
  doc.outbox[0].status = 'sending';
  doc.outbox[0].attempts = 1;
  await first.saveProgress(doc);
  await new Promise((r) => setTimeout(r, 5));
  const second = await warehouseStore(a, schema);
  const taken = await second.lock('second');
  // the mark the first run journaled is what the second finds
  expect(taken.outbox[0].status).toBe('sending');
  // the first may not mark anything more: the line is refused, not applied over the second's state
  doc.outbox[1].status = 'sending';
  await expect(first.saveProgress(doc)).rejects.toThrow(/lost the alert state lock/);
  expect((await second.read()).outbox[1].status).toBe('pending');
  taken.outbox[1].status = 'sent';
  delete taken.outbox[1].body;
  await second.saveProgress(taken);
  expect((await second.read()).outbox[1].status).toBe('sent');
  // an earlier version replaces the body without clearing the journal: its lines belong to the old body, and are skipped
  const older = { ...taken, lock: undefined, writeId: 'older-version', outbox: taken.outbox.map((e) => ({ ...e, status: 'pending' as const })) };
  await a.execute(`update ${rel(a, schema)} set version = version + 1, body = ${a.dialect.param(1)}`, [JSON.stringify(older)]);
  expect(await journalOf(a, schema)).toMatch(/"status":"sent"/);
  const read = await second.read();
  expect(read.outbox.map((e) => e.status)).toEqual(['pending', 'pending', 'pending']);
  expect(read.writeId).toBe('older-version');
}

/** A state as the version before the journal wrote it: a table without the column, a notification pending. */
async function fromEarlierVersion(a: Adapter, schema: string) {
  const d = a.dialect;
  await a.ensureSchema(schema);
  await a.execute(`create table ${rel(a, schema)} (id ${d.type('string')} primary key, version ${d.type('int')} not null, body ${d.type('string')} not null, updated_at ${d.type('timestamp')})`);
  const body = JSON.stringify({
    format: 1,
    instances: { 'many{id="0"}': instances(1)['many{id="0"}'] },
    rules: { many: { status: 'ok', lastEvaluatedAt: AT } },
    silences: [],
    outbox: [{ ...entries(1, 'old')[0], items: entries(1)[0].items.slice(0, 1) }, { id: 'done', receiver: 'hook', type: 'slack', createdAt: AT, status: 'sent', sentAt: AT, attempts: 1, items: [] }],
    groups: {},
    writeId: '0123456789abcdef',
  });
  await a.execute(`insert into ${rel(a, schema)} (id, version, body, updated_at) values ('state', 7, ${d.param(1)}, ${d.current_timestamp()})`, [body]);
  const store = await warehouseStore(a, schema);
  const read = await store.read();
  expect(read.outbox.map((e) => `${e.id}:${e.status}`)).toEqual(['old-0000:pending', 'done:sent']);
  const doc = await store.lock('test');
  const before = hook.messages.length;
  expect(await deliverOutbox(context(store, a), doc, DEFAULT_POLICY)).toMatchObject({ sent: 1, errors: [] });
  expect(hook.messages.length - before).toBe(1);
  // the marks went to the journal table, made for them; the old table is as it was
  expect(await journalOf(a, schema)).toMatch(/"id":"old-0000"/);
  expect((await a.columns({ schema, identifier: ALERT_STATE_TABLE })).map((c) => c.name.toLowerCase())).not.toContain('journal');
  expect((await warehouseStore(a, schema).then((s) => s.read())).outbox.map((e) => `${e.id}:${e.status}`)).toEqual(['old-0000:sent', 'done:sent']);
  await store.unlock(doc);
  expect(await journalOf(a, schema)).toBeNull();
}

/**
 * A burst against a long outbox (sent entries are kept a week): each save finds what changed in
 * time linear in the outbox, cheaply (was: every entry stringified at every save, n saves x the
 * outbox: 1,250 messages of 25,000 instances spent 16 s of 72 there). In memory: the store's own work.
 */
describe('delivery marks against a long outbox', () => {
  it('400 saves over 3,000 kept entries: each line the one entry marked, found without stringifying the outbox at each save', async () => {
    let cur: CasDocument = { version: 0, body: '' };
    const lines: string[] = [];
    const backend: CasBackend = {
      get: async () => cur,
      init: async (body) => void (cur = { version: 0, body }),
      cas: async (expected, body) => (expected === cur.version ? ((cur = { version: expected + 1, body }), 'won') : 'lost'),
      append: async (expected, line) => (expected === cur.version ? (lines.push(line), (cur = { ...cur, version: expected + 1, journal: (cur.journal ?? '') + line }), 'won') : 'lost'),
      close: async () => {},
    };
    const store = new StateStore(backend, 'memory');
    await backend.init(JSON.stringify({ format: 1, instances: {}, rules: {}, silences: [], outbox: [], groups: {} }));
    const doc = await store.lock('test');
    const kept = entries(3000, 'old').map((e) => ({ ...e, status: 'sent' as const, sentAt: AT, attempts: 1, items: e.items.slice(0, 1), body: undefined }));
    doc.outbox.push(...kept, ...entries(200, 'new'));
    await store.save(doc);
    const fresh = doc.outbox.slice(3000);
    // every JSON.stringify of the burst counted: the lines and the whole writes, not each entry at each save
    const stringify = JSON.stringify;
    let calls = 0;
    JSON.stringify = ((...a: Parameters<typeof stringify>) => (calls++, stringify(...a))) as typeof stringify;
    try {
      for (const e of fresh) {
        e.status = 'sending';
        e.attempts = 1;
        await store.saveProgress(doc);
        e.status = 'sent';
        e.sentAt = AT;
        delete e.body;
        await store.saveProgress(doc);
      }
    } finally {
      JSON.stringify = stringify;
    }
    expect(calls).toBeLessThan(fresh.length * 2 * 10);
    const marked = lines.map((l) => (JSON.parse(l) as { outbox: Array<{ id: string; status: string; hasBody: boolean }> }).outbox.map((o) => `${o.id}:${o.status}:${o.hasBody}`));
    expect(marked.length).toBeGreaterThan(100);
    expect(marked.every((m) => m.length === 1)).toBe(true);
    expect(marked.slice(-2)).toEqual([['new-0199:sending:true'], ['new-0199:sent:false']]);
    // a field that is not a mark's string, number or boolean is written again, never missed
    (fresh[0] as unknown as Record<string, unknown>).extra = { a: 1 };
    await store.saveProgress(doc);
    expect(lines.at(-1)).toContain('"id":"new-0000"');
  });
});

describe('delivery marks against a long outbox, through deliverOutbox', () => {
  it("each save looks at the entries the delivery changed, not at the kept ones (was: every entry compared at each of the 401 saves)", async () => {
    let cur: CasDocument = { version: 0, body: '' };
    const backend: CasBackend = {
      get: async () => cur,
      init: async (body) => void (cur = { version: 0, body }),
      cas: async (expected, body) => (expected === cur.version ? ((cur = { version: expected + 1, body }), 'won') : 'lost'),
      append: async (expected, line) => (expected === cur.version ? ((cur = { ...cur, version: expected + 1, journal: (cur.journal ?? '') + line }), 'won') : 'lost'),
      close: async () => {},
    };
    const store = new StateStore(backend, 'memory');
    await backend.init(JSON.stringify({ format: 1, instances: {}, rules: {}, silences: [], outbox: [], groups: {} }));
    const doc = await store.lock('test');
    // the kept entries count every read of their fields
    let reads = 0;
    const kept = entries(3000, 'old').map((e) => new Proxy({ ...e, status: 'sent' as const, sentAt: AT, attempts: 1, items: e.items.slice(0, 1), body: undefined }, { get: (t, k, r) => (reads++, Reflect.get(t, k, r)) }));
    doc.outbox.push(...kept, ...entries(200, 'new'));
    await store.save(doc);
    reads = 0;
    const before = hook.messages.length;
    expect(await deliverOutbox(context(store, undefined as never), doc, DEFAULT_POLICY)).toMatchObject({ sent: 200, errors: [] });
    expect(hook.messages.length - before).toBe(200);
    // a few passes of the delivery itself over the outbox (pending ones, blocked ones), none per save
    expect(reads).toBeLessThan(kept.length * 20);
    // and every mark is in the journal: what a run killed now would read
    const seen = await store.read();
    expect(seen.outbox.slice(3000).map((e) => `${e.status}:${e.attempts}:${e.body === undefined}`)).toEqual(doc.outbox.slice(3000).map(() => 'sent:1:true'));
    expect(seen.outbox.slice(0, 3000).every((e) => e.status === 'sent')).toBe(true);
  });
});

describe('delivery marks are journal lines in the warehouse state', () => {
  it('on DuckDB', async () => {
    const dir = makeProject({});
    dirs.push(dir);
    const a = await DuckDbAdapter.open({ type: 'duckdb', path: 'j.duckdb', schema: 'analytics' } as never, dir);
    try {
      await marksAreLines(a, 's1');
      await lostLockAndStaleLines(a, 's2');
      await fromEarlierVersion(a, 's3');
      await rowWithoutVersion(a, 's5');
      await fromJournalColumn(a, 's6');
    } finally {
      await a.close();
    }
  });
  it('on Postgres', async () => {
    const a = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: 'analytics' }, 2);
    try {
      await marksAreLines(a, uniqueSchema('journal'));
      await lostLockAndStaleLines(a, uniqueSchema('journal'));
      await fromEarlierVersion(a, uniqueSchema('journal'));
      await rowWithoutVersion(a, uniqueSchema('journal'));
      await fromJournalColumn(a, uniqueSchema('journal'));
    } finally {
      await a.close();
    }
  });
});

/** The real adapter, running `before(sql)` ahead of each statement it is given (another process's steps in between). */
function interleaved(a: Adapter, before: (sql: string) => Promise<void> | void): Adapter {
  return new Proxy(a, {
    get(t, p) {
      const v = Reflect.get(t, p) as unknown;
      if (typeof v !== 'function') return v;
      const f = v as (sql: string, params?: unknown[]) => Promise<unknown>;
      if (p !== 'execute' && p !== 'executeCounted' && p !== 'query') return f.bind(t);
      return async (sql: string, params?: unknown[]) => {
        await before(sql);
        return f.call(t, sql, params);
      };
    },
  });
}

/**
 * A reader (`alerts status`, a dry run, a run waiting for the lock) reads the body, then its
 * lines: the holder's next whole write and its compact() came between the two. The reader sees
 * the state as it is, the message sent (was: the body it read without the lines compact() had
 * deleted, the sent message pending, its marks as never made).
 */
async function readerAcrossCompact(a: Adapter, schema: string) {
  const holder = await warehouseStore(a, schema);
  const doc = await holder.lock('test');
  doc.outbox.push(...entries(2, 'r'));
  await holder.save(doc);
  const e = doc.outbox[0];
  Object.assign(e, { status: 'sent', attempts: 1, sentAt: AT });
  delete e.body;
  await holder.saveProgress(doc, [e]);
  let between = true;
  const reader = await warehouseStore(
    interleaved(a, async (sql) => {
      if (between && /^select line from /.test(sql)) {
        between = false;
        // the holder releases the lock: the body now holds the marks, their rows deleted
        await holder.unlock(doc);
        expect(await journalOf(a, schema)).toBeNull();
      }
    }),
    schema,
  );
  const seen = await reader.read();
  expect(between).toBe(false);
  expect(seen.outbox.map((x) => `${x.id}:${x.status}:${x.body === undefined}`)).toEqual(['r-0000:sent:true', 'r-0001:pending:false']);
  expect(seen.lock).toBeUndefined();
}

/**
 * Delivery marks an entry again while the line of its previous mark is being written (a lane's
 * send answered meanwhile): the next save writes the new mark (was: the entry's marks were taken
 * as written after the append's await, so the new one compared equal to itself and was never
 * written: a crash before the lock's release left the message `sending`, resent or held).
 */
async function markChangedDuringItsLine(a: Adapter, schema: string) {
  let during: (() => void) | undefined;
  const store = await warehouseStore(
    interleaved(a, (sql) => {
      if (during && /^insert into \S+vigil_alert_state_journal/.test(sql.replace(/"/g, ''))) {
        during();
        during = undefined;
      }
    }),
    schema,
  );
  const doc = await store.lock('test');
  doc.outbox.push(...entries(1, 'm'));
  await store.save(doc);
  const e = doc.outbox[0];
  Object.assign(e, { status: 'sending', attempts: 1, sendingSince: AT });
  during = () => {
    Object.assign(e, { status: 'sent', sentAt: AT });
    delete e.sendingSince;
    delete e.body;
  };
  await store.saveProgress(doc, [e]);
  expect(during).toBeUndefined();
  await store.saveProgress(doc, [e]);
  // what a run that starts now (this one killed before releasing the lock) sees
  const seen = await (await warehouseStore(a, schema)).read();
  expect(seen.outbox.map((x) => `${x.status}:${x.body === undefined}`)).toEqual(['sent:true']);
}

/**
 * A reader that a holder's whole write comes between the body and its lines at every try: after
 * its bounded retries it fails with a clear message (was: the tenth read returned as it was, the
 * body without the lines compact() had deleted: a sent message shown pending).
 */
async function readerOutrunEveryTime(a: Adapter, schema: string) {
  const holder = await warehouseStore(a, schema);
  const doc = await holder.lock('test');
  doc.outbox.push(...entries(14, 'o'));
  await holder.save(doc);
  let k = 0;
  const markNext = async () => {
    const e = doc.outbox[k++];
    Object.assign(e, { status: 'sent', attempts: 1, sentAt: AT });
    delete e.body;
    await holder.saveProgress(doc, [e]);
  };
  await markNext();
  let hooks = 0;
  const reader = await warehouseStore(
    interleaved(a, async (sql) => {
      if (k < doc.outbox.length && /^select line from /.test(sql)) {
        hooks++;
        // the holder's whole write (its compact() deletes the line the reader's body needs), then its next mark
        await holder.save(doc);
        await markNext();
      }
    }),
    schema,
  );
  await expect(reader.read()).rejects.toThrow(/rewritten during each of 10 reads in a row/);
  expect(hooks).toBe(10);
}

describe('a reader across a whole write, and a mark changed while its line is written', () => {
  it('on DuckDB', async () => {
    const dir = makeProject({});
    dirs.push(dir);
    const a = await DuckDbAdapter.open({ type: 'duckdb', path: 'c.duckdb', schema: 'analytics' } as never, dir);
    try {
      await readerAcrossCompact(a, 'c1');
      await markChangedDuringItsLine(a, 'c2');
      await readerOutrunEveryTime(a, 'c3');
    } finally {
      await a.close();
    }
  });
  it('on Postgres', async () => {
    const a = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: 'analytics' }, 2);
    try {
      await readerAcrossCompact(a, uniqueSchema('compact'));
      await markChangedDuringItsLine(a, uniqueSchema('compact'));
    } finally {
      await a.close();
    }
  });
});

describe("a mark retried at the same version (its first UPDATE not applied, its outcome unknown)", () => {
  it('replaces the first row: one line at that version, not two read in either order', async () => {
    const { warehouseCas } = await import('../../src/run/cas-document.js');
    const dir = makeProject({});
    dirs.push(dir);
    const a = await DuckDbAdapter.open({ type: 'duckdb', path: 'r.duckdb', schema: 'analytics' } as never, dir);
    try {
      await a.ensureSchema('s7');
      const backend = await warehouseCas(a, 's7', ALERT_STATE_TABLE, 'state', { journal: true });
      await backend.init('{}');
      const v = (await backend.get())!.version;
      // the first UPDATE "sent", not applied, no count back (as BigQuery may answer): unknown
      const real = a.executeCounted!.bind(a);
      let skip = true;
      a.executeCounted = (async (sql: string, params?: unknown[]) => (skip && /^update /.test(sql) ? ((skip = false), undefined) : real(sql, params as never))) as typeof a.executeCounted;
      expect(await backend.append!(v, 'first\n')).toBe('unknown');
      expect((await backend.get())!.version).toBe(v);
      expect(await backend.append!(v, 'second\n')).toBe('won');
      const now = (await backend.get())!;
      expect(now.version).toBe(v + 1);
      expect(now.journal).toBe('second\n');
    } finally {
      await a.close();
    }
  });
});

describe('a burst of 400 messages (402 marks) whose lines pass 128 KB: no whole write of the state until the lock is released', () => {
  it('on DuckDB', async () => {
    const dir = makeProject({});
    dirs.push(dir);
    const a = await DuckDbAdapter.open({ type: 'duckdb', path: 'b.duckdb', schema: 'analytics' } as never, dir);
    try {
      await burstCostsItsLines(a, 'b1');
    } finally {
      await a.close();
    }
  });
  it('on Postgres', async () => {
    const a = await PostgresAdapter.open({ type: 'postgres', url: inject('pgUrl'), schema: 'analytics' }, 2);
    try {
      await burstCostsItsLines(a, uniqueSchema('burst'));
    } finally {
      await a.close();
    }
  });
});

/**
 * kill -9 of a real `vigil alerts evaluate` in the middle of a burst, its state in DuckDB (the
 * journal's rows holding the marks since the state was last written whole): the next run sends
 * the rest, no PagerDuty incident opened twice (a chunk in flight resent at most: PagerDuty
 * dedups it), no Slack item posted twice (a message in flight held as uncertain).
 */
describe('kill -9 mid-burst, the state in DuckDB: nothing lost, nothing doubled', () => {
  it('200 instances to PagerDuty (parts of 20) and a Slack webhook; killed once PagerDuty has 100', async () => {
    const pd = await startFakePagerDuty();
    try {
      const n = 200;
      const dir = makeProject({
        'project.yaml': `name: burst\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n`,
        'alerts/many.yaml': `alerts:\n  - name: many\n    severity: critical\n    query: select i from range(${n}) t(i)\n    group_by: [i]\n    condition: { type: sql }\n    summary: "instance {{ i }}"\n`,
        'alerts/routes.yaml': `receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER, rate_per_minute: 1200 }\n  - name: slack\n    slack: { webhook_url_env: SLACK_URL, rate_per_second: 2 }\nroute:\n  receiver: pd\n  routes:\n    - { receiver: pd, continue: true }\n    - { receiver: slack }\n`,
      });
      dirs.push(dir);
      const env = { PD_KEY: 'R0UT1NGKEY0123456789abcdefBURST0', PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath, SLACK_URL: hook.url };
      const slackBefore = hook.messages.length;
      const child = spawn(process.execPath, [VIGIL, 'alerts', 'evaluate', '--at', AT], { cwd: dir, env: { ...process.env, ...env } });
      const exited = new Promise((r) => child.on('close', r));
      await new Promise<void>((resolve, reject) => {
        const check = () => (pd.incidents.size >= n / 2 ? resolve() : child.exitCode !== null ? reject(new Error('the run ended before the kill')) : setTimeout(check, 5));
        check();
      });
      child.kill('SIGKILL');
      await exited;
      expect(pd.incidents.size).toBeLessThan(n);
      // killed mid-delivery: marks in the journal's rows, beyond the last whole write
      const a = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' } as never, dir);
      try {
        expect(Number((await a.query<{ n: unknown }>(`select count(*) as n from ${journalRel(a, 'analytics')}`))[0].n)).toBeGreaterThan(0);
      } finally {
        await a.close();
      }
      const next = await vigilProcessAsync(dir, ['alerts', 'evaluate', '--at', AT], env);
      expect([0, 1], next.stderr).toContain(next.code);
      const incidents = [...pd.incidents.values()];
      expect(incidents).toHaveLength(n);
      expect(incidents.every((x) => x.opened === 1)).toBe(true);
      expect(pd.duplicates).toBeLessThanOrEqual(20);
      const ids = hook.messages.slice(slackBefore).flatMap((m) => JSON.stringify(m).match(/vigil-[0-9a-f]{32}/g) ?? []);
      expect(new Set(ids).size).toBe(ids.length);
      // every item posted but those of one message held as uncertain (a webhook cannot tell)
      const held = /(\d+) notifications? (?:is|are) not settled/.exec(next.stderr);
      expect(ids.length + (held ? 20 : 0)).toBeGreaterThanOrEqual(n);
      if (!held) expect(next.code, next.stderr).toBe(0);
      // settled: the journal folded in, its rows gone
      const b = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' } as never, dir);
      try {
        expect(Number((await b.query<{ n: unknown }>(`select count(*) as n from ${journalRel(b, 'analytics')}`))[0].n)).toBe(0);
      } finally {
        await b.close();
      }
    } finally {
      await pd.close();
    }
  }, 120_000);
});

/**
 * A short alerts.lock_lease without --delivery-timeout: delivery's default deadline is cut to half
 * the lease (was: 60 s, which a lease of 1 minute never outlasts, so delivery renewed the lease
 * before every request: a state save more per message, undoing the outcome saved with the next
 * message's mark). Counted by the state's version, which each save moves on, through real runs.
 */
describe('a lock_lease of 1m without --delivery-timeout: as many state saves per message as the default lease', () => {
  it('on DuckDB, 12 webhook messages', async () => {
    const saves = async (lease: string): Promise<number> => {
      const dir = makeProject({
        'project.yaml': `name: lease\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\nalerts: { lock_lease: ${lease} }\n`,
        'alerts/many.yaml': `alerts:\n  - name: many\n    severity: critical\n    query: select i from range(12) t(i)\n    group_by: [i]\n    condition: { type: sql }\n    summary: "instance {{ i }}"\n`,
        'alerts/routes.yaml': `receivers:\n  - name: hook\n    slack: { webhook_url_env: SLACK_URL, rate_per_second: 1000 }\nroute:\n  receiver: hook\n  group_by: [i]\n`,
      });
      dirs.push(dir);
      const before = hook.messages.length;
      const r = await vigilProcessAsync(dir, ['alerts', 'evaluate', '--at', AT], { SLACK_URL: hook.url });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Delivered: 12 sent/);
      expect(hook.messages.length - before).toBe(12);
      const a = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' } as never, dir);
      try {
        return Number((await a.query<{ version: unknown }>(`select version from ${rel(a, 'analytics')}`))[0].version);
      } finally {
        await a.close();
      }
    };
    const usual = await saves('10m');
    // (a mark per message, with the outcome of the one before, and the run's own writes)
    expect(usual).toBeLessThan(12 * 2);
    expect(await saves('1m')).toBe(usual);
  });
});

/**
 * The journal's table is turned off for the run only when it cannot be made (the role may not
 * create tables). A check-or-create that fails for another reason — here its backend terminated
 * while it ran — is a line that failed: the whole state written instead, said, and the next mark
 * a line again (was: "the journal table ... could not be made", every later mark of the run a
 * whole write of the state).
 */
describe('the journal table check failing once (its backend terminated), on Postgres', () => {
  it('is retried at the next mark, not turned off for the run', async () => {
    const url = inject('pgUrl');
    const app = `H159_journal_${process.pid}`;
    const a = await PostgresAdapter.open({ type: 'postgres', url, schema: 'analytics', application_name: app } as never, 2);
    const schema = uniqueSchema('jcheck');
    const said: string[] = [];
    try {
      const store = await warehouseStore(a, schema, undefined, { say: (m) => said.push(m) });
      const doc = await store.lock('test');
      doc.outbox.push(...entries(2, 'j'));
      await store.save(doc);
      // another session creating the same table, not committed: the run's create waits on it, and is terminated meanwhile
      await withPgClient(url, async (other) => {
        await other.query('begin');
        try {
          await other.query(`create table ${journalRel(a, schema)} (id varchar not null, seq integer not null, line varchar not null)`);
          doc.outbox[0].status = 'sending';
          doc.outbox[0].attempts = 1;
          const first = store.saveProgress(doc, [doc.outbox[0]]);
          await withPgClient(url, async (c) => {
            for (let i = 0; ; i++) {
              const { rows } = await c.query(`select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`, [app]);
              if (rows.length) {
                await c.query('select pg_terminate_backend($1)', [rows[0].pid]);
                break;
              }
              if (i > 200) throw new Error('the journal table check never waited');
              await new Promise((r) => setTimeout(r, 25));
            }
          });
          await first;
        } finally {
          await other.query('rollback');
        }
      });
      // said as a line that failed, the whole state written instead
      expect(said.join('\n')).not.toMatch(/could not be made/);
      expect(said.join('\n')).toMatch(/could not be written as a line of the alert state's journal \(.*terminat.*\); the whole state was written instead/);
      expect((await (await warehouseStore(a, schema)).read()).outbox.map((e) => e.status)).toEqual(['sending', 'pending']);
      // the next mark is a line again
      doc.outbox[0].status = 'sent';
      doc.outbox[1].status = 'sending';
      doc.outbox[1].attempts = 1;
      await store.saveProgress(doc, doc.outbox);
      expect(await journalOf(a, schema)).toMatch(/"status":"sent"/);
      expect((await (await warehouseStore(a, schema)).read()).outbox.map((e) => e.status)).toEqual(['sent', 'sending']);
      await store.unlock(doc);
      expect(await journalOf(a, schema)).toBeNull();
    } finally {
      await a.close();
    }
  });
});

/**
 * A role that may write the state's table but may not create tables (its journal table never
 * made): refused once (Postgres' 42501), the journal turned off for the run, said once; each later
 * mark a whole write without asking for the table again (H159 left only a refusal turning it off:
 * a refusal not recognized would be tried, and said, at every mark).
 */
describe('a role that may not create the journal table, on Postgres', () => {
  it('turns the journal off once for the run, saying so once', async () => {
    const url = inject('pgUrl');
    const schema = uniqueSchema('jdeny');
    const role = `r40_nocreate_${process.pid}`;
    const owner = await PostgresAdapter.open({ type: 'postgres', url, schema } as never, 2);
    try {
      // the state's table made by its owner (an earlier run of a role that could)
      const first = await warehouseStore(owner, schema);
      const doc0 = await first.lock('setup');
      doc0.outbox.push(...entries(3, 'd'));
      await first.save(doc0);
      await first.unlock(doc0);
      await withPgClient(url, async (c) => {
        await c.query(`drop role if exists ${role}`);
        // (with a password: CI's PostgreSQL asks for one)
        await c.query(`create role ${role} login password 'jdeny-Pw-40'`);
        await c.query(`grant usage on schema ${schema} to ${role}`);
        await c.query(`grant select, insert, update, delete on ${rel(owner, schema)} to ${role}`);
      });
      const u = new URL(url);
      u.username = role;
      u.password = 'jdeny-Pw-40';
      const { adapter, io } = counting(await PostgresAdapter.open({ type: 'postgres', url: u.toString(), schema } as never, 2));
      const said: string[] = [];
      try {
        const store = await warehouseStore(adapter, schema, undefined, { say: (m) => said.push(m) });
        const doc = await store.lock('test');
        io.whole = 0;
        for (const e of doc.outbox) {
          e.status = 'sent';
          await store.saveProgress(doc, [e]);
        }
        expect(said).toHaveLength(1);
        expect(said[0]).toMatch(/could not be made: .*permission denied.*; each delivery mark of this run writes the whole alert state instead/);
        expect(io.whole).toBe(3);
        await store.unlock(doc);
        expect((await (await warehouseStore(owner, schema)).read()).outbox.map((e) => e.status)).toEqual(['sent', 'sent', 'sent']);
      } finally {
        await adapter.close();
      }
    } finally {
      await owner.close();
      await withPgClient(url, async (c) => {
        await c.query(`drop schema if exists ${schema} cascade`);
        await c.query(`drop role if exists ${role}`);
      });
    }
  });
});
