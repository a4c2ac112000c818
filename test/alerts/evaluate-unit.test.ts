import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { evaluateAlerts, OUTBOX_RULE, pruneOutbox, resolveIntegration } from '../../src/alerts/evaluate.js';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { loadProject } from '../../src/project/load-project.js';
import { loadAlerts } from '../../src/alerts/load-alerts.js';
import { fileStore } from '../../src/alerts/state.js';
import { makeProject, removeDir } from '../helpers.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { emptyState } from '../../src/alerts/state.js';
import type { OutboxEntry } from '../../src/alerts/notify.js';
import { AlertSchema, ReceiverSchema } from '../../src/alerts/schema.js';

describe('receivers', () => {
  it('a fractional rate becomes one message per window', () => {
    const rc = ReceiverSchema.parse({ name: 's', slack: { webhook_url_env: 'S_URL', rate_per_second: 0.5 } });
    const r = resolveIntegration(rc, 'slack', { S_URL: 'https://hooks.example/x' });
    expect(typeof r === 'string' ? r : r.limiter).toEqual({ limit: 1, ms: 2000 });
    const pd = ReceiverSchema.parse({ name: 'p', pagerduty: { routing_key_env: 'K' } });
    const p = resolveIntegration(pd, 'pagerduty', { K: 'x'.repeat(32) });
    expect(typeof p === 'string' ? p : p.limiter).toEqual({ limit: 120, ms: 60_000 });
    expect(resolveIntegration(pd, 'pagerduty', {})).toContain('environment variable K');
    // server_env holding a URL: an https:// one gives its host; another scheme is refused, not mangled into https://http//...
    const srv = ReceiverSchema.parse({ name: 'p', pagerduty: { routing_key_env: 'K', server_env: 'PD_SERVER' } });
    const https = resolveIntegration(srv, 'pagerduty', { K: 'x'.repeat(32), PD_SERVER: 'https://127.0.0.1:19557/' });
    expect(typeof https === 'string' ? https : https.target).toMatchObject({ server: '127.0.0.1:19557' });
    const problem = "PagerDuty's Events API is reached as https://<server>/v2/enqueue: give its host (events.pagerduty.com, events.eu.pagerduty.com, host:port) or an https:// URL without a path";
    expect(resolveIntegration(srv, 'pagerduty', { K: 'x'.repeat(32), PD_SERVER: 'http://127.0.0.1:19557' })).toBe(`environment variable PD_SERVER of receiver 'p' is 'http://127.0.0.1:19557': ${problem}`);
    // a path would be posted under (was: https://127.0.0.1:19557/v2/enqueue/v2/enqueue)
    for (const v of ['127.0.0.1:19557/v2/enqueue', 'https://127.0.0.1:19557/v2/enqueue']) {
      expect(resolveIntegration(srv, 'pagerduty', { K: 'x'.repeat(32), PD_SERVER: v })).toBe(`environment variable PD_SERVER of receiver 'p' is '${v}': ${problem}`);
    }
  });
});

describe('the built-in outbox alert', () => {
  it('is written out as the alert schema reads it: valid, with every default it would add', () => {
    // evaluate.ts spells it out so that an evaluation loads no zod; the schema must leave it as it is
    expect(AlertSchema.parse(structuredClone(OUTBOX_RULE))).toEqual(OUTBOX_RULE);
    const { timeout: _t, links: _l, ...without } = OUTBOX_RULE;
    expect(AlertSchema.parse(without)).toEqual(OUTBOX_RULE);
  });
});

describe('pruneOutbox', () => {
  it('never drops a pending or uncertain entry, however many sent ones there are', () => {
    const doc = emptyState();
    const at = new Date('2026-03-10T00:00:00Z');
    const e = (i: number, status: OutboxEntry['status']): OutboxEntry => ({ id: `e${i}`, receiver: 'r', type: 'slack', createdAt: at.toISOString(), sentAt: status === 'sent' ? at.toISOString() : undefined, status, attempts: 1, items: [] });
    doc.outbox = [e(0, 'pending'), e(1, 'uncertain'), ...Array.from({ length: 3000 }, (_, i) => e(i + 2, 'sent'))];
    pruneOutbox(doc, at);
    expect(doc.outbox.filter((x) => x.status !== 'sent').map((x) => x.id)).toEqual(['e0', 'e1']);
    expect(doc.outbox.filter((x) => x.status === 'sent')).toHaveLength(2000);
    pruneOutbox(doc, new Date('2026-03-20T00:00:00Z'));
    expect(doc.outbox.map((x) => x.id)).toEqual(['e0', 'e1']);
  });
});

describe('bindEvalTime', () => {
  it('binds current_date/current_timestamp/now() in each dialect, and leaves look-alike identifiers alone', () => {
    const at = new Date('2026-03-10T18:00:00Z');
    expect(duckDbDialect.bindEvalTime('select current_date, current_timestamp, now(), current_date_x from t', at)).toBe(
      "select cast('2026-03-10' as date), cast('2026-03-10T18:00:00.000Z' as timestamptz), cast('2026-03-10T18:00:00.000Z' as timestamptz), current_date_x from t",
    );
    expect(bigQueryDialect.bindEvalTime('select CURRENT_DATE(), CURRENT_TIMESTAMP()', at)).toBe("select DATE '2026-03-10', TIMESTAMP '2026-03-10T18:00:00.000Z'");
  });

  it("DuckDB: every spelling of its clock is --at's moment when run (was: current_date(), today(), localtimestamp, get_current_timestamp() read the wall clock), and a literal, a quoted name or a comment that spells one is kept (was: 'current_date' rewritten into a syntax error)", async () => {
    const at = new Date('2020-01-02T03:04:05.678Z');
    const sql = `select cast(current_date() as varchar) as a, cast(today() as varchar) as b, cast(current_timestamp as varchar) as c, cast(localtimestamp as varchar) as d,
      cast(get_current_timestamp() as varchar) as e, cast(now() as varchar) as f, cast(current_date as varchar) as g, cast(transaction_timestamp() as varchar) as h,
      cast(current_localtimestamp() as varchar) as i, cast(localtime as varchar) as j, cast(get_current_time() as varchar) as k, cast(current_time as varchar) as l,
      'current_date now() ''today()''' as lit, "current_date" as quoted -- current_timestamp
      from (select 1 as "current_date") /* localtimestamp */`;
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'main' }, '/tmp', 1);
    try {
      const [row] = await duck.query<Record<string, unknown>>(duckDbDialect.bindEvalTime(sql, at));
      expect(row).toEqual({
        a: '2020-01-02', b: '2020-01-02', g: '2020-01-02',
        c: '2020-01-02 03:04:05.678+00', e: '2020-01-02 03:04:05.678+00', f: '2020-01-02 03:04:05.678+00', h: '2020-01-02 03:04:05.678+00',
        d: '2020-01-02 03:04:05.678', i: '2020-01-02 03:04:05.678',
        j: '03:04:05.678', k: '03:04:05.678+00', l: '03:04:05.678+00',
        lit: "current_date now() 'today()'", quoted: 1,
      });
    } finally {
      await duck.close();
    }
    expect(duckDbDialect.bindEvalTime("select $$current_date$$, E'it\\'s current_date', x.now_ok, t.current_date from t -- now()", at)).toBe("select $$current_date$$, E'it\\'s current_date', x.now_ok, t.current_date from t -- now()");
  });

  it("DuckDB and Postgres: a comment nests (/* a /* b */ c */ is one comment), so an apostrophe in one is no string that hides the clock after it (was: current_date left to the wall clock)", async () => {
    const at = new Date('2020-01-02T03:04:05.678Z');
    const sql = "select /* the day /* (today's) */ it's */ cast(current_date as varchar) as d, cast(now() as varchar) as n /* a /* b */ current_date */";
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'main' }, '/tmp', 1);
    try {
      expect(await duck.query<Record<string, unknown>>(duckDbDialect.bindEvalTime(sql, at))).toEqual([{ d: '2020-01-02', n: '2020-01-02 03:04:05.678+00' }]);
    } finally {
      await duck.close();
    }
    // (the comment is kept as written; BigQuery's do not nest)
    expect(duckDbDialect.bindEvalTime(sql, at)).toContain("/* the day /* (today's) */ it's */ cast(");
    expect(bigQueryDialect.bindEvalTime("select /* a /* b */ CURRENT_DATE", at)).toBe("select /* a /* b */ DATE '2020-01-02'");
  });

  it("BigQuery: CURRENT_* with or without parentheses and with a time zone (was: only CURRENT_DATE() and CURRENT_TIMESTAMP() bound; bare CURRENT_DATE read the wall clock); literals and comments kept", () => {
    const at = new Date('2026-03-10T18:00:00Z');
    const ts = "TIMESTAMP '2026-03-10T18:00:00.000Z'";
    expect(bigQueryDialect.bindEvalTime("select CURRENT_DATE, current_timestamp, CURRENT_DATE('Asia/Tokyo'), CURRENT_DATETIME(), CURRENT_TIME( \"America/Los_Angeles\" ), 'CURRENT_DATE', \"\"\"it's CURRENT_DATE()\"\"\", `current_date` # CURRENT_DATE\nfrom t", at)).toBe(
      `select DATE '2026-03-10', ${ts}, DATE(${ts}, 'Asia/Tokyo'), DATETIME(${ts}), TIME(${ts}, "America/Los_Angeles" ), 'CURRENT_DATE', \"\"\"it's CURRENT_DATE()\"\"\", \`current_date\` # CURRENT_DATE\nfrom t`,
    );
  });

  it("BigQuery: SAFE.CURRENT_DATE() and the other SAFE. spellings are bound too (was: the wall clock); a zoned call keeps SAFE., a qualified name is kept", () => {
    const at = new Date('2026-03-10T18:00:00Z');
    const ts = "TIMESTAMP '2026-03-10T18:00:00.000Z'";
    expect(bigQueryDialect.bindEvalTime("select SAFE.CURRENT_DATE(), safe . current_timestamp(), SAFE.CURRENT_DATETIME, SAFE.CURRENT_DATE('Asia/Tokyo'), t.safe.current_date from t", at)).toBe(
      `select DATE '2026-03-10', ${ts}, DATETIME(${ts}), SAFE.DATE(${ts}, 'Asia/Tokyo'), t.safe.current_date from t`,
    );
  });
});

describe('a scheduled evaluation at its slot', () => {
  it("is never before the state's last evaluation: an `alerts evaluate` that ran between the slot and the scheduled run (holding the lock, the warehouse file) leaves the scheduled one by the clock (was: at the slot, the state going back — incidents resolving before they fired)", async () => {
    const dir = makeProject({ 'alerts/a.yaml': 'alerts:\n  - name: always\n    severity: critical\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    for: 10m\n    summary: "n is {{ n }}"\n' });
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: 'w.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const loaded = loadAlerts(loadProject(dir), { tests: false });
      expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const rules = loaded.rules.map((r) => ({ ...r, sql: 'select 1 as n' }));
      const store = fileStore(join(dir, 'state.json'));
      const ctx = { rules, adapter: duck, store, files: { project: { name: 't' } } as never, sources: [], env: {}, out: () => {}, err: () => {} };
      const slot = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
      const manual = new Date(slot.getTime() + 30_000);
      const first = await evaluateAlerts(ctx, { at: manual, dryRun: false, command: 'vigil alerts evaluate' });
      expect(first.outcomes.map((o) => [o.rule, o.status, o.error])).toEqual([['always', 'ok', undefined]]);
      await evaluateAlerts(ctx, { at: slot, slot: true, dryRun: false, command: 'vigil alerts run-scheduler' });
      const doc = await store.read();
      expect(Date.parse(doc.rules.always.lastEvaluatedAt!)).toBeGreaterThanOrEqual(manual.getTime());
      // its pending instance is not younger than it was: it started at the manual evaluation
      expect(Object.values(doc.instances).map((i) => i.activeSince)).toEqual([manual.toISOString()]);
      // a slot after the last evaluation is kept
      const next = new Date(Date.now() + 1000);
      await evaluateAlerts(ctx, { at: next, slot: true, dryRun: false, command: 'vigil alerts run-scheduler' });
      expect((await store.read()).rules.always.lastEvaluatedAt).toBe(next.toISOString());
    } finally {
      await duck.close();
      removeDir(dir);
    }
  });
});
