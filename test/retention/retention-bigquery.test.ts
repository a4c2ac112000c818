/**
 * Retention on BigQuery, through the real @google-cloud/bigquery client against the loopback
 * fake: the plan's count (rows and partitions), the run log, and one DELETE per 31-day range of
 * the partition column, each bounded by constants on it so BigQuery prunes the other partitions.
 * The statements are golden (test/fixtures/golden/retention-bigquery.sql; UPDATE_GOLDEN=1 rewrites
 * it) and each parses with sql-parser-cst's BigQuery grammar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'sql-parser-cst';
import { BigQueryAdapter } from '../../src/adapters/bigquery/bigquery-adapter.js';
import { applyEntry, countAffected, cutoffOf, ensureLog, logRelation, rangeStatements, type PlanEntry } from '../../src/retention/retention.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { fakeBigQueryClient, useFakeBigQuery, type FakeBigQuery } from '../support/fake-bigquery.js';
import { makeProject, removeDir, REPO, vigilAsync } from '../helpers.js';

const P = 'vigil-retention';
const GOLDEN = join(REPO, 'test/fixtures/golden/retention-bigquery.sql');
let fake: FakeBigQuery;
const started = useFakeBigQuery();
beforeAll(() => {
  fake = started.fake;
});

const sqlOf = (r: { body?: { query?: string; configuration?: { query?: { query?: string; queryParameters?: unknown[] } }; queryParameters?: unknown[] } }) => r.body?.configuration?.query?.query ?? r.body?.query;
const paramsOf = (r: { body?: { configuration?: { query?: { queryParameters?: Array<{ parameterValue: { value: unknown } }> } }; queryParameters?: Array<{ parameterValue: { value: unknown } }> } }) =>
  (r.body?.configuration?.query?.queryParameters ?? r.body?.queryParameters ?? []).map((p) => p.parameterValue.value);

describe('vigil retention on BigQuery', () => {
  it('plan counts rows and partitions; apply deletes by partition-pruned ranges, oldest first, logging each', async () => {
    fake.addDataset(P, 'raw', { location: 'US' });
    fake.addDataset(P, 'analytics', { location: 'US' });
    fake.addTable(P, 'raw', 'usage_log', { fields: [{ name: 'id', type: 'STRING' }, { name: 'created_at', type: 'TIMESTAMP' }], timePartitioning: { type: 'DAY', field: 'created_at' } });
    fake.onQuery(/count\(distinct/, { rows: [{ n: 5000, parts: 70, oldest: '2026-06-24 08:00:00+00', newest: '2026-09-01 23:59:00+00' }] });
    fake.onQuery(/^select count\(\*\) as n from/, { rows: [{ n: 2000 }] });
    // (every range holds rows)
    fake.onQuery(/^select distinct .* from `vigil-retention`\.`raw`\.`usage_log`/, { rows: [{ r: 0 }, { r: 1 }, { r: 2 }] });
    const bq = await BigQueryAdapter.open({ type: 'bigquery', project: P, dataset: 'analytics', location: 'US' } as never, 1, await fakeBigQueryClient(fake, { projectId: P, location: 'US' }));
    const mark = fake.requests.length;
    const asOf = new Date('2026-12-01T00:00:00Z');
    const { cutoff } = cutoffOf(asOf, '90d', '30d');
    const base = { unique_id: 'source.ai_audit.raw.usage_log', table: 'raw.usage_log', target: 'prod', apply_to: 'warehouse' as const, relation: { database: P, schema: 'raw', identifier: 'usage_log' }, column: 'created_at', keep: '90d', override_days: null, minimum: '30d', batch_size: 50_000, as_of: asOf.toISOString(), cutoff: cutoff.toISOString(), override_floor: null, below_minimum: false, at: { file: 'models/sources.yml', line: 1 } };
    const counted = await countAffected(bq, base, true);
    expect(counted).toEqual({ rows: 5000, partitions: 70, oldest: '2026-06-24 08:00:00+00', newest: '2026-09-01 23:59:00+00' });
    const e: PlanEntry = { ...base, ...counted };
    const ranges = rangeStatements(bq.dialect, e);
    // 2026-06-24 .. 2026-09-01: three ranges of 31 days from the first affected day's midnight
    expect(ranges.map((r) => [r.from, r.to])).toEqual([
      ['2026-06-24T00:00:00.000Z', '2026-07-25T00:00:00.000Z'],
      ['2026-07-25T00:00:00.000Z', '2026-08-25T00:00:00.000Z'],
      ['2026-08-25T00:00:00.000Z', '2026-09-25T00:00:00.000Z'],
    ]);
    const log = logRelation('analytics', P);
    await ensureLog(bq, log);
    const lines: string[] = [];
    const r = await applyEntry(bq, e, 6000, { runId: 'run-1', actor: 'golden', log, out: (l) => lines.push(l) });
    expect(r).toEqual({ deleted: 6000, stopped: false }); // the fake answers 2,000 for every range's count (and the count before apply 6,000: none appeared)
    expect(lines).toHaveLength(3);

    const sent = fake.requests.slice(mark).filter((q) => q.method === 'POST' && sqlOf(q));
    const statements = sent.map((q) => sqlOf(q)!);
    const deletes = sent.filter((q) => /^delete from/.test(sqlOf(q)!));
    expect(deletes.map(paramsOf)).toEqual(ranges.map((x) => [x.from, x.to, e.cutoff]));
    for (const d of deletes) expect(sqlOf(d)).toMatch(/^delete from `vigil-retention`\.`raw`\.`usage_log` where `created_at` >= TIMESTAMP\(\?\) and `created_at` < TIMESTAMP\(\?\) and `created_at` < TIMESTAMP\(\?\)$/);
    for (const s of statements) expect(() => parse(s, { dialect: 'bigquery', paramTypes: ['?'] }), s).not.toThrow();
    const text = statements.join(';\n\n') + ';\n';
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    expect(existsSync(GOLDEN), 'run with UPDATE_GOLDEN=1').toBe(true);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));

    // rows that came after apply counted 5,000: a DELETE takes no limit here, so the range that
    // would pass 5,000 is not deleted, and the rows are said (was: every range deleted, 6,000)
    const capMark = fake.requests.length;
    const capped = await applyEntry(bq, e, 5000, { runId: 'run-2', actor: 'golden', log, out: () => {} });
    expect(capped).toEqual({ deleted: 4000, stopped: false, appeared: 1000 });
    const capSent = fake.requests.slice(capMark).filter((q) => q.method === 'POST' && sqlOf(q));
    expect(capSent.filter((q) => /^delete from/.test(sqlOf(q)!))).toHaveLength(2);
    expect(capSent.filter((q) => /^update .* set status = \?/.test(sqlOf(q)!)).map(paramsOf)[0][0]).toBe('error');
    await bq.close();
  });
});

describe('vigil retention on BigQuery: DATE and DATETIME columns (the CLI against the fake)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));
  const project = (p: string) =>
    makeProject({
      'project.yaml': `name: rtbq\ndefault_target: prod\nretention: { minimum: 1d }\ntargets:\n  prod: { type: bigquery, project: ${p}, dataset: analytics, location: US }\n`,
      'models/sources.yml': `sources:
  - name: raw
    tables:
      - name: ev_date
        retention: { column: day, keep: 90d }
      - name: ev_dt
        retention: { column: ts, keep: 90d }
`,
    });
  const setUp = (p: string) => {
    fake.addDataset(p, 'raw', { location: 'US' });
    fake.addDataset(p, 'analytics', { location: 'US' });
    fake.addTable(p, 'raw', 'ev_date', { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'day', type: 'DATE' }] });
    fake.addTable(p, 'raw', 'ev_dt', { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'ts', type: 'DATETIME' }] });
  };
  const env = () => ({ VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' });

  it("every statement compares in the column's own type (was: `day` < TIMESTAMP(?), which BigQuery refuses for a DATE or a DATETIME), a day goes only when it is wholly past the cutoff, and apply deletes (was: read the day '2025-01-01' as an Invalid Date, sent no DELETE and said OK)", async () => {
    const P = 'vigil-rt-date';
    setUp(P);
    // the plan's count (with partitions) and apply's count again
    fake.onQuery(/^select count\(\*\) as n, .* from `raw`\.`ev_date`/, { rows: [{ n: 5, parts: 2, oldest: '2025-01-01', newest: '2025-01-02' }] });
    fake.onQuery(/^select count\(\*\) as n, .* from `raw`\.`ev_dt`/, { rows: [{ n: 3, parts: 2, oldest: '2025-01-01 10:00:00', newest: '2025-02-03 11:30:00' }] });
    fake.onQuery(/^select count\(\*\) as n from `raw`\.`ev_date` where/, { rows: [{ n: 5 }] });
    fake.onQuery(/^select count\(\*\) as n from `raw`\.`ev_dt` where/, { rows: [{ n: 1 }] });
    fake.onQuery(/^select distinct .* from `raw`\.`ev_dt` where/, { rows: [{ r: 0 }, { r: 1 }] });
    const dir = project(P);
    dirs.push(dir);
    const mark = fake.requests.length;
    const plan = await vigilAsync(dir, ['retention', 'plan', '--at', '2025-06-01T12:00:00Z'], env());
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    const apply = await vigilAsync(dir, ['retention', 'apply'], env());
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/OK raw\.ev_date: deleted 5 rows/);
    expect(apply.stdout).toMatch(/OK raw\.ev_dt: deleted 2 rows/); // (the fake counts 1 in each of its two ranges)
    const sent = fake.requests.slice(mark).filter((q) => q.method === 'POST' && sqlOf(q) && /`raw`/.test(sqlOf(q)!));
    const byTable = (t: string) => sent.filter((q) => sqlOf(q)!.includes(`\`raw\`.\`${t}\``));
    // the cutoff 2025-03-03T12:00:00Z: a DATE compares with its day (2025-03-02 is the last day wholly before it), a DATETIME with its UTC wall clock
    const dateDeletes = byTable('ev_date').filter((q) => /^delete from/.test(sqlOf(q)!));
    expect(dateDeletes.map((q) => sqlOf(q))).toEqual(['delete from `raw`.`ev_date` where `day` >= cast(? as DATE) and `day` < cast(? as DATE) and `day` < cast(? as DATE)']);
    expect(dateDeletes.map(paramsOf)).toEqual([['2025-01-01', '2025-02-01', '2025-03-03']]);
    const dtDeletes = byTable('ev_dt').filter((q) => /^delete from/.test(sqlOf(q)!));
    expect(dtDeletes.map((q) => sqlOf(q))[0]).toBe('delete from `raw`.`ev_dt` where `ts` >= cast(? as DATETIME) and `ts` < cast(? as DATETIME) and `ts` < cast(? as DATETIME)');
    expect(dtDeletes.map(paramsOf)).toEqual([
      ['2025-01-01 00:00:00.000', '2025-02-01 00:00:00.000', '2025-03-03 12:00:00.000'],
      ['2025-02-01 00:00:00.000', '2025-03-04 00:00:00.000', '2025-03-03 12:00:00.000'],
    ]);
    for (const q of sent) expect(sqlOf(q)).not.toMatch(/TIMESTAMP\(\?\)/);
    // and Google's analyzer (as vigil check runs it) takes every one of them against the tables' types
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const a = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, P).addTable([P, 'raw', 'ev_date'], [{ name: 'id', type: T.INT64 }, { name: 'day', type: T.DATE }]).addTable([P, 'raw', 'ev_dt'], [{ name: 'id', type: T.INT64 }, { name: 'ts', type: T.DATETIME }]), lo);
    try {
      for (const q of sent) expect(await a.analyze(sqlOf(q)!, { params: paramsOf(q).map(() => 'STRING' as const) }), sqlOf(q)).toMatchObject({ ok: true });
      // (the analyzer does refuse what was sent before)
      expect(await a.analyze('select count(*) as n from `raw`.`ev_date` where `day` < TIMESTAMP(?)', { params: ['STRING'] })).toMatchObject({ ok: false, message: expect.stringMatching(/DATE, TIMESTAMP/) });
    } finally {
      await a.release();
    }
  }, 180_000);

  it('a source that is a view in BigQuery: an error at its YAML line, exit 2, before anything is counted (was: planned, then a DELETE on the view)', async () => {
    const P = 'vigil-rt-view';
    setUp(P);
    fake.addTable(P, 'raw', 'ev_view', { type: 'VIEW', fields: [{ name: 'id', type: 'INTEGER' }, { name: 'ts', type: 'TIMESTAMP' }] });
    const dir = makeProject({
      'project.yaml': `name: rtbq\ndefault_target: prod\nretention: { minimum: 1d }\ntargets:\n  prod: { type: bigquery, project: ${P}, dataset: analytics, location: US }\n`,
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: ev_view\n        retention: { column: ts, keep: 90d }\n',
    });
    dirs.push(dir);
    const mark = fake.requests.length;
    const plan = await vigilAsync(dir, ['retention', 'plan', '--at', '2025-06-01T12:00:00Z'], env());
    expect(plan.code, plan.stdout + plan.stderr).toBe(2);
    expect(plan.stderr).toMatch(/models\/sources\.yml:5:\d+: error: source raw\.ev_view: raw\.ev_view is a view in target 'prod': retention deletes rows from a table \[E_RETENTION\]/);
    expect(plan.stderr).not.toMatch(/\n\s+at /);
    expect(fake.requests.slice(mark).some((q) => /count\(/.test(sqlOf(q) ?? ''))).toBe(false);
  }, 60_000);

  it("a bound apply cannot read fails the table, exit 1, nothing deleted (was: no range to delete in, \"deleted 0 rows\", success)", async () => {
    const P = 'vigil-rt-bad';
    setUp(P);
    // a warehouse printing a value this reader does not know
    fake.onQuery(/^select count\(\*\) as n, .* from `raw`\.`ev_date`/, { rows: [{ n: 5, parts: 2, oldest: 'sometime in 2025', newest: '2025-01-02' }] });
    const dir = project(P);
    dirs.push(dir);
    expect((await vigilAsync(dir, ['retention', 'plan', '--at', '2025-06-01T12:00:00Z'], env())).code).toBe(0);
    const mark = fake.requests.length;
    const apply = await vigilAsync(dir, ['retention', 'apply'], env());
    expect(apply.code, apply.stdout + apply.stderr).toBe(1);
    expect(apply.stdout + apply.stderr).toMatch(/'sometime in 2025' is not a time Vigil can read/);
    expect(apply.stdout).not.toMatch(/deleted 0 rows/);
    expect(fake.requests.slice(mark).some((q) => /^delete from/.test(sqlOf(q) ?? ''))).toBe(false);
  }, 60_000);
});

describe('vigil retention on BigQuery: a per-row period (override_days) of any numeric type', () => {
  it("Google's analyzer takes the condition for INT64, NUMERIC and FLOAT64 periods on TIMESTAMP, DATETIME and DATE columns (was: INTERVAL (n) DAY with a NUMERIC or FLOAT64 n, refused)", async () => {
    const { retentionPredicate } = await import('../../src/retention/retention.js');
    const { bigQueryDialect } = await import('../../src/adapters/bigquery/bigquery-dialect.js');
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const periods = { d_int: T.INT64, d_num: T.NUMERIC, d_float: T.FLOAT64 };
    const at = { ts: T.TIMESTAMP, dt: T.DATETIME, day: T.DATE };
    const a = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, P).addTable([P, 'raw', 'ev'], [...Object.entries(at), ...Object.entries(periods)].map(([name, type]) => ({ name, type }))), lo);
    try {
      for (const [column, column_type] of [['ts', 'TIMESTAMP'], ['dt', 'DATETIME'], ['day', 'DATE']]) {
        for (const override of Object.keys(periods)) {
          const p = retentionPredicate(bigQueryDialect, { column, column_type, override_days: override, cutoff: '2025-03-01T00:00:00.000Z', override_floor: '2025-05-25T00:00:00.000Z', as_of: '2025-06-01T00:00:00.000Z' });
          const sql = `select count(*) as n from \`raw\`.\`ev\` where ${p.sql}`;
          expect(await a.analyze(sql, { params: p.params.map(() => 'STRING' as const) }), sql).toMatchObject({ ok: true });
        }
      }
    } finally {
      await a.release();
    }
  }, 120_000);
});

describe('vigil retention on BigQuery: a model that requires a partition filter', () => {
  it("the count and every range's count and DELETE carry the partition column's keep-every-row filter when it is not the retention column, and Google's analyzer with BigQuery's require_partition_filter rule takes them (was: no predicate on the partition column, refused)", async () => {
    const { countStatement, retentionTables } = await import('../../src/retention/retention.js');
    const { bigQueryDialect } = await import('../../src/adapters/bigquery/bigquery-dialect.js');
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    // the model's config reaches the plan entry as the project says it (retentionTables)
    const node = { resource_type: 'model', unique_id: 'model.p.events', name: 'events', file: 'models/events.sql', relation: { database: P, schema: 'analytics', identifier: 'events' }, config: { materialized: 'incremental', partition_by: { field: 'day', data_type: 'date' }, require_partition_filter: true, retention: { column: 'created_at', keep: '90d' } } };
    const [t] = retentionTables({ nodes: { [node.unique_id]: node }, sources: {} } as never, new Set([node.unique_id]));
    expect(t.partition).toEqual({ partition_by: { field: 'day', data_type: 'date' }, require_partition_filter: true });
    const asOf = new Date('2026-12-01T00:00:00Z');
    const e: PlanEntry = { unique_id: t.unique_id, table: t.name, target: 'prod', apply_to: 'warehouse', relation: t.relation, column: 'created_at', column_type: 'TIMESTAMP', keep: '90d', override_days: null, minimum: '30d', batch_size: 50_000, as_of: asOf.toISOString(), cutoff: cutoffOf(asOf, '90d', '30d').cutoff.toISOString(), override_floor: null, below_minimum: false, at: { file: 'models/events.sql' }, rows: 10, oldest: '2026-06-24 08:00:00+00', newest: '2026-07-01 00:00:00+00', partition: t.partition };
    const count = countStatement(bigQueryDialect, e, true);
    const range = rangeStatements(bigQueryDialect, e);
    expect(range).toHaveLength(1);
    const statements = [count, { sql: range[0].count, params: range[0].params }, { sql: range[0].delete, params: range[0].params }];
    for (const st of statements) expect(st.sql).toContain('where (`day` IS NULL OR `day` IS NOT NULL) and `created_at`');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const a = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, P).addTable([P, 'analytics', 'events'], [{ name: 'day', type: T.DATE }, { name: 'created_at', type: T.TIMESTAMP }, { name: 'id', type: T.INT64 }]), lo);
    a.requirePartitionFilter.set(`${P}.analytics.events`, { need: [['day']] });
    try {
      for (const st of statements) expect(await a.analyze(st.sql, { params: st.params.map(() => 'STRING' as const), reads: true }), st.sql).toMatchObject({ ok: true });
      // the rule holds: the same count without the filter is refused
      const bare = countStatement(bigQueryDialect, { ...e, partition: undefined }, true);
      expect(await a.analyze(bare.sql, { params: bare.params.map(() => 'STRING' as const), reads: true })).toMatchObject({ ok: false, message: expect.stringMatching(/partition/i) });
    } finally {
      await a.release();
    }
  }, 120_000);
});

describe('vigil retention on BigQuery: a sparse table', () => {
  it("apply sends a count, a DELETE and a log update for the ranges that hold rows only, found by one query (was: for every 31-day range from the oldest row to the newest: ~1,900 jobs for 5 rows from 1970 to 2024); the ranges it deletes are those that hold the rows, bounded as before", async () => {
    const { heldRangesStatement } = await import('../../src/retention/retention.js');
    const P = 'vigil-rt-sparse';
    fake.addDataset(P, 'raw', { location: 'US' });
    fake.addDataset(P, 'analytics', { location: 'US' });
    fake.addTable(P, 'raw', 'sparse', { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'created_at', type: 'TIMESTAMP' }], timePartitioning: { type: 'DAY', field: 'created_at' } });
    const rows = ['1970-01-01T10:00:00Z', '1970-01-20T00:00:00Z', '1999-12-31T23:59:59Z', '2024-05-31T00:00:00Z', '2024-06-01T12:00:00Z'];
    const asOf = new Date('2026-12-01T00:00:00Z');
    const base = { unique_id: 'source.x.raw.sparse', table: 'raw.sparse', target: 'prod', apply_to: 'warehouse' as const, relation: { database: P, schema: 'raw', identifier: 'sparse' }, column: 'created_at', column_type: 'TIMESTAMP', keep: '90d', override_days: null, minimum: '30d', batch_size: 50_000, as_of: asOf.toISOString(), cutoff: cutoffOf(asOf, '90d', '30d').cutoff.toISOString(), override_floor: null, below_minimum: false, at: { file: 'models/sources.yml', line: 1 } };
    const e: PlanEntry = { ...base, rows: rows.length, partitions: 4, oldest: '1970-01-01 10:00:00+00', newest: '2024-06-01 12:00:00+00' };
    const all = rangeStatements(bigQueryDialect, e);
    expect(all.length).toBeGreaterThan(600);
    // the range each row is in, as the ranges bound them
    const holding = [...new Set(rows.map((r) => all.findIndex((x) => x.from <= new Date(r).toISOString() && new Date(r).toISOString() < x.to)))];
    expect(holding).toHaveLength(3);

    // Google's reference implementation (the analyzer's evaluator) runs the query over those rows: the ranges that hold them
    const held = heldRangesStatement(bigQueryDialect, e);
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const cols = [{ name: 'id', type: T.INT64 }, { name: 'created_at', type: T.TIMESTAMP }];
    const cat = new ZetaCatalog(srv.z, lo, P).addTable([P, 'raw', 'sparse'], cols);
    const a = new ZetaAnalyzer(srv, cat, lo);
    try {
      expect(await a.analyze(held.sql, { params: held.params.map(() => 'STRING' as const) }), held.sql).toMatchObject({ ok: true });
    } finally {
      await a.release();
    }
    let i = 0;
    const literal = held.sql.replace(/\?/g, () => `'${String(held.params[i++])}'`).replace('`vigil-rt-sparse`.`raw`.`sparse`', 'sparse');
    const api = (srv.z.ZetaSQLClient as { API: Record<string, (r: unknown, cb: (e: unknown, a: unknown) => void) => void> }).API;
    const found = await new Promise<number[]>((res, rej) =>
      api.evaluateQuery(
        { sql: `SELECT ARRAY(${literal} ORDER BY r)`, options: { languageOptions: lo }, simpleCatalog: new ZetaCatalog(srv.z, lo, P).addTable(['sparse'], cols).toProto(), tableContent: { sparse: { tableData: { row: rows.map((r, k) => ({ cell: [{ int64Value: String(k) }, { timestampValue: { seconds: String(Date.parse(r) / 1000) } }] })) } } } },
        (err, r) => (err ? rej(err) : res(((r as { content: { tableData: { row: Array<{ cell: Array<{ arrayValue?: { element?: Array<{ int64Value: string }> } }> }> } } }).content.tableData.row[0].cell[0].arrayValue?.element ?? []).map((x) => Number(x.int64Value)))),
      ),
    );
    expect(found).toEqual(holding);

    // apply against the fake, which answers the query as the evaluator did
    fake.onQuery(/^select distinct .* from `vigil-rt-sparse`\.`raw`\.`sparse`/, { rows: found.map((r) => ({ r })) });
    fake.onQuery(/^select count\(\*\) as n from `vigil-rt-sparse`\.`raw`\.`sparse` where/, { rows: [{ n: 1 }] });
    const bq = await BigQueryAdapter.open({ type: 'bigquery', project: P, dataset: 'analytics', location: 'US' } as never, 1, await fakeBigQueryClient(fake, { projectId: P, location: 'US' }));
    const log = logRelation('analytics', P);
    await ensureLog(bq, log);
    const mark = fake.requests.length;
    const r = await applyEntry(bq, e, rows.length, { runId: 'run-sparse', actor: 't', log, out: () => {} });
    expect(r.stopped).toBe(false);
    const jobs = fake.requests.slice(mark).filter((q) => q.method === 'POST' && sqlOf(q) && !q.body?.configuration?.dryRun);
    // the log's line, the held ranges' query, a count, a DELETE and a log update for each of 3 ranges, the log's status
    expect(jobs).toHaveLength(1 + 1 + 3 * 3 + 1);
    const deletes = jobs.filter((q) => /^delete from/.test(sqlOf(q)!));
    expect(deletes.map(paramsOf)).toEqual(holding.map((k) => [all[k].from, all[k].to, e.cutoff]));
    expect(deletes.map((q) => sqlOf(q))).toEqual(holding.map((k) => all[k].delete));
    await bq.close();
  }, 120_000);
});

describe('a service account that may not keep the lease table (BigQuery)', () => {
  it("streamLocker: BigQuery's accessDenied on the lease table is warned once and the streams go on without leases (was: the command failed on it)", async () => {
    const Q = 'vigil-nolease';
    fake.addDataset(Q, 'analytics', { location: 'US' });
    fake.onQuery(/^create table if not exists `analytics`\.`vigil_serve_leases`/, { error: { httpStatus: 403, reason: 'accessDenied', message: 'Access Denied: Dataset vigil-nolease:analytics: Permission bigquery.tables.create denied on dataset vigil-nolease:analytics' } });
    const bq = await BigQueryAdapter.open({ type: 'bigquery', project: Q, dataset: 'analytics', location: 'US' } as never, 1, await fakeBigQueryClient(fake, { projectId: Q, location: 'US' }));
    const { streamLocker } = await import('../../src/sync/stream-lock.js');
    const warned: string[] = [];
    try {
      const locker = streamLocker(bq, 'analytics', 'vigil sync', { leaseMs: 60_000, warn: (l) => warned.push(l), doing: 'syncing', beside: 'a retention apply or a serve job may run beside this sync' });
      for (const s of ['raw.a', 'raw.b']) await (await locker([s], () => {})).release();
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/^warning: cannot hold stream leases in analytics\.vigil_serve_leases \(accessDenied: Access Denied: Dataset vigil-nolease:analytics: Permission bigquery\.tables\.create denied on dataset vigil-nolease:analytics\): syncing without them — a retention apply or a serve job may run beside this sync; grant CREATE on schema analytics to /);
      // any other failure is the command's, as before
      fake.onQuery(/^create table if not exists `analytics`\.`vigil_serve_leases`/, { error: { httpStatus: 400, reason: 'invalidQuery', message: 'Syntax error' } });
      const other = streamLocker(bq, 'analytics', 'vigil sync', { leaseMs: 60_000, warn: (l) => warned.push(l), doing: 'syncing', beside: '' });
      await expect(other(['raw.a'], () => {})).rejects.toThrow(/invalidQuery/);
    } finally {
      await bq.close();
    }
  });
});
