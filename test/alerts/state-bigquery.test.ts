/**
 * The alert state kept in BigQuery (src/alerts/state.ts on src/run/cas-document.ts), through the
 * REAL @google-cloud/bigquery client and the Vigil BigQuery adapter against the loopback fake
 * (test/support/fake-bigquery.ts, which keeps the state's rows and its journal's as BigQuery
 * would): a delivery mark's UPDATE that committed but whose answer was lost, one refused, a
 * journal table that cannot be made, and the reads of a state no run holds.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BigQueryAdapter } from '../../src/adapters/bigquery/bigquery-adapter.js';
import { warehouseStore, type StateDoc } from '../../src/alerts/state.js';
import type { OutboxEntry } from '../../src/alerts/notify.js';
import { fakeBigQueryClient, useFakeBigQuery, type FakeBigQuery } from '../support/fake-bigquery.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { deliverOutbox, type EvalContext } from '../../src/alerts/evaluate.js';
import { ReceiverSchema, type RoutesFile } from '../../src/alerts/schema.js';
import { DEFAULT_POLICY } from '../../src/alerts/delivery/types.js';

const P = 'vigil-state';
const T = 30_000;
const started = useFakeBigQuery();
let fake: FakeBigQuery;
let mark = 0;
beforeEach(() => {
  fake = started.fake;
  mark = fake.requests.length;
});

/** The statements sent since the test began (jobs.insert), in order. */
const statements = () => fake.requests.slice(mark).filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path) && r.body?.configuration?.query).map((r) => String(r.body.configuration.query.query));
const lines = () => statements().filter((s) => /^insert into \S+vigil_alert_state_journal/.test(s)).length;
const wholeWrites = () => statements().filter((s) => /^update \S+ set version = \?, body = \?/.test(s)).length;
/** the version-only UPDATE of a journal line */
const LINE_UPDATE = /^update \S+vigil_alert_state` set version = \?, updated_at/;

async function open(dataset: string) {
  const bq = await BigQueryAdapter.open({ type: 'bigquery', project: P, dataset, location: 'US' }, 2, await fakeBigQueryClient(started.fake, { projectId: P, location: 'US' }));
  // (short waits: a statement whose results never come is given up on after 300 ms, not 5 min)
  bq.retry = { ...bq.retry, initialDelayMs: 10, maxDelayMs: 40, pollPatienceMs: 300 };
  const said: string[] = [];
  const store = await warehouseStore(bq, dataset, undefined, { say: (m) => said.push(m) });
  return { store, said, bq };
}

const entry = (id: string): OutboxEntry => ({ id, receiver: 'hook', type: 'slack', createdAt: '2026-03-10T18:00:00.000Z', status: 'pending', attempts: 0, items: [], body: { text: id } as never });

/** A run holding the lock with two entries, the first already marked by a journal line. */
async function holding(dataset: string) {
  const { store, said } = await open(dataset);
  const doc: StateDoc = await store.lock('test');
  doc.outbox.push(entry('n1'), entry('n2'));
  await store.save(doc);
  doc.outbox[0].status = 'sending';
  await store.saveProgress(doc);
  return { store, said, doc };
}

describe('delivery marks in BigQuery', () => {
  it("a mark's UPDATE that committed but whose answer was lost (results and jobs.get 503 until given up on) is read back as written, not as the lock lost", { timeout: T }, async () => {
    const { store, said, doc } = await holding('lost_answer');
    fake.onQuery(LINE_UPDATE, { takesEffect: true, failPolls: { times: 10_000, with: 503 }, times: 1 });
    doc.outbox[0].status = 'sent';
    // before: the error turned the journal off and the whole state was written at the version the
    // committed line had moved past: "lost the alert state lock ... this run stops without sending more"
    await store.saveProgress(doc);
    expect(fake.executions(LINE_UPDATE)).toBe(2);
    expect((await store.read()).outbox.map((e) => e.status)).toEqual(['sent', 'pending']);
    // the journal stays on: the next mark is a line, not the whole state
    const whole = wholeWrites();
    doc.outbox[1].status = 'sending';
    await store.saveProgress(doc);
    expect(wholeWrites()).toBe(whole);
    expect(lines()).toBe(3);
    expect(said).toEqual([]);
    await store.unlock(doc);
    const back = await store.read();
    expect(back.lock).toBeUndefined();
    expect(back.outbox.map((e) => e.status)).toEqual(['sent', 'sending']);
  });

  it('a mark refused (a DML quota) is written whole once, said; the next mark is a line again (was: whole writes for the rest of the run, nothing said)', { timeout: T }, async () => {
    const { store, said, doc } = await holding('refused');
    fake.onQuery(LINE_UPDATE, { error: { httpStatus: 403, reason: 'quotaExceeded', message: 'Quota exceeded: Your table exceeded quota for UPDATE, INSERT, MERGE, DELETE DML statements' }, as: 'job', times: 1 });
    doc.outbox[0].status = 'sent';
    const whole = wholeWrites();
    await store.saveProgress(doc);
    expect(wholeWrites()).toBe(whole + 1);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^warning: a delivery mark could not be written as a line of the alert state's journal \(quotaExceeded: Quota exceeded: .*\); the whole state was written instead$/);
    doc.outbox[1].status = 'sending';
    await store.saveProgress(doc);
    expect(wholeWrites()).toBe(whole + 1);
    await store.unlock(doc);
    expect((await store.read()).outbox.map((e) => e.status)).toEqual(['sent', 'sending']);
  });

  it('the journal table cannot be made: said once, every mark then writes the whole state', { timeout: T }, async () => {
    fake.onQuery(/^create table if not exists `nojournal`\.`vigil_alert_state_journal`/, { error: { httpStatus: 403, reason: 'accessDenied', message: 'Access Denied: Dataset vigil-state:nojournal: Permission bigquery.tables.create denied' }, as: 'job' });
    const { store, said } = await open('nojournal');
    const doc = await store.lock('test');
    doc.outbox.push(entry('n1'), entry('n2'));
    await store.save(doc);
    for (const [i, status] of [[0, 'sending'], [0, 'sent'], [1, 'sending']] as const) {
      doc.outbox[i].status = status;
      await store.saveProgress(doc);
    }
    expect(lines()).toBe(0);
    expect(wholeWrites()).toBe(1 + 1 + 3);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^warning: the journal table `nojournal`\.`vigil_alert_state_journal` could not be made: accessDenied: Access Denied: .*; each delivery mark of this run writes the whole alert state instead \(\d+ KB each\)/);
    await store.unlock(doc);
    expect((await store.read()).outbox.map((e) => e.status)).toEqual(['sent', 'sending']);
  });

  it('a state no run holds is read without its journal (no lines can be on its body): one statement, not a failing one before the journal table exists', { timeout: T }, async () => {
    const { store } = await open('idle');
    await store.update('silence', (d) => void d.silences.push({ id: 's', matchers: [], startsAt: '2026-01-01T00:00:00Z', endsAt: '2026-01-02T00:00:00Z', comment: 'x', createdBy: 't', createdAt: '2026-01-01T00:00:00Z' }));
    const before = statements().length;
    expect((await store.read()).silences).toHaveLength(1);
    expect(statements().slice(before)).toEqual([expect.stringMatching(/^select version, body from /)]);
    // held: its lines are read (a lease renewal, a mark)
    const { store: s2, doc } = await holding('idle');
    const n = statements().length;
    expect((await s2.read()).outbox[0].status).toBe('sending');
    expect(statements().slice(n).some((s) => /^select line from /.test(s))).toBe(true);
    await s2.unlock(doc);
  });
});

describe('a delivery in BigQuery', () => {
  let hook: FakeSlack;
  beforeAll(async () => {
    hook = await startFakeSlack();
  });
  afterAll(async () => {
    await hook?.close();
  });

  it("each message's outcome is saved with the next one's `sending` mark: one journal line (two DML statements) a message, not two (four)", { timeout: T }, async () => {
    const { store, bq } = await open('burst');
    const doc = await store.lock('test');
    const n = 10;
    doc.outbox.push(...Array.from({ length: n }, (_, k) => ({ ...entry(`m${k}`), body: { text: `message ${k}` } as never })));
    await store.save(doc);
    const routes = { receivers: [ReceiverSchema.parse({ name: 'hook', slack: { webhook_url_env: 'HOOK_URL', rate_per_second: 1000 } })] } as unknown as RoutesFile;
    const ctx: EvalContext = { rules: [], routes, adapter: bq, store, files: {} as never, sources: [], env: { HOOK_URL: hook.url }, out: () => {}, err: () => {} };
    const before = hook.messages.length;
    const summary = await deliverOutbox(ctx, doc, DEFAULT_POLICY);
    expect(summary).toMatchObject({ sent: n, pending: 0, uncertain: 0, errors: [] });
    expect(hook.messages.length - before).toBe(n);
    // n `sending` marks, the last message's outcome, the delivery's last save (was: 2n + 1)
    expect(lines()).toBe(n + 2);
    expect(wholeWrites()).toBe(2); // the lock and the save before it
    const back = await store.read();
    expect(back.outbox.map((e) => e.status)).toEqual(Array(n).fill('sent'));
    await store.unlock(doc);
  });
});
