/**
 * Retention on BigQuery, through the real @google-cloud/bigquery client against the loopback
 * fake: the plan's count (rows and partitions), the run log, and one DELETE per 31-day range of
 * the partition column, each bounded by constants on it so BigQuery prunes the other partitions.
 * The statements are golden (test/fixtures/golden/retention-bigquery.sql; UPDATE_GOLDEN=1 rewrites
 * it) and each parses with sql-parser-cst's BigQuery grammar.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'sql-parser-cst';
import { BigQueryAdapter } from '../../src/adapters/bigquery/bigquery-adapter.js';
import { applyEntry, countAffected, cutoffOf, ensureLog, logRelation, rangeStatements, type PlanEntry } from '../../src/retention/retention.js';
import { fakeBigQueryClient, useFakeBigQuery, type FakeBigQuery } from '../support/fake-bigquery.js';
import { REPO } from '../helpers.js';

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
    const r = await applyEntry(bq, e, 5000, { runId: 'run-1', actor: 'golden', log, out: (l) => lines.push(l) });
    expect(r).toEqual({ deleted: 6000, stopped: false }); // the fake answers 2,000 for every range's count
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
    await bq.close();
  });
});
