/**
 * The alert state in the warehouse during delivery (src/alerts/state.ts saveProgress): each
 * notification's marks (`sending` before its request, the outcome after) are one small journal
 * line, not the whole state written again and read back, so a burst of N messages costs
 * O(N) and not O(N x state). Read on DuckDB and Postgres: what a next run sees mid-delivery (the
 * lines applied), a lock lost meanwhile (the line refused), lines left on a body an earlier
 * version replaced (skipped), and a state an earlier version wrote (no journal column: it
 * loads, delivers, and gets the column).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
import { makeProject, removeDir } from '../helpers.js';
import { uniqueSchema } from '../support/postgres.js';

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
function counting(a: Adapter): { adapter: Adapter; io: { sent: number; read: number } } {
  const io = { sent: 0, read: 0 };
  const adapter = new Proxy(a, {
    get(t, p) {
      const v = Reflect.get(t, p) as unknown;
      if (typeof v !== 'function') return v;
      const f = v as (sql: string, params?: unknown[]) => Promise<unknown>;
      if (p !== 'execute' && p !== 'executeCounted' && p !== 'query') return f.bind(t);
      return async (sql: string, params: unknown[] = []) => {
        io.sent += params.reduce<number>((n, x) => n + String(x ?? '').length, 0);
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

async function journalOf(a: Adapter, schema: string): Promise<string | null> {
  const rows = await a.query<{ journal: unknown }>(`select journal from ${rel(a, schema)}`);
  return rows[0].journal === null ? null : String(rows[0].journal);
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
  // 101 saves (a mark before and after each message, one at the end): each the lines of what
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
  // the marks went to the journal column, added for them
  expect(await journalOf(a, schema)).toMatch(/"id":"old-0000"/);
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

describe('delivery marks are journal lines in the warehouse state', () => {
  it('on DuckDB', async () => {
    const dir = makeProject({});
    dirs.push(dir);
    const a = await DuckDbAdapter.open({ type: 'duckdb', path: 'j.duckdb', schema: 'analytics' } as never, dir);
    try {
      await marksAreLines(a, 's1');
      await lostLockAndStaleLines(a, 's2');
      await fromEarlierVersion(a, 's3');
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
    } finally {
      await a.close();
    }
  });
});
