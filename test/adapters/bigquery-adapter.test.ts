/**
 * The BigQuery adapter with the REAL @google-cloud/bigquery client against a loopback server
 * that answers as BigQuery's REST API does: the job requests it sends (SQL, dry run, labels,
 * location, limits), materializations, each error reason, retries, and `vigil build --dry-run`
 * through the CLI.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BigQueryAdapter } from '../../src/adapters/bigquery/bigquery-adapter.js';
import { ExactNumber } from '../../src/adapters/adapter.js';
import { fakeBigQueryClient, useFakeBigQuery, type blockNonLoopbackConnections, type FakeBigQuery } from '../support/fake-bigquery.js';
import { makeProject, removeDir, REPO, vigilAsync } from '../helpers.js';

let fake: FakeBigQuery;
let guard: ReturnType<typeof blockNonLoopbackConnections>;
const dirs: string[] = [];
/** The labels a table this target's incremental model built carries (its options unchanged since: an incremental run sends no ALTER). */
const BUILT = { team: 'data', tool: 'vigil' };
const cfg = { type: 'bigquery' as const, project: 'vigil-test', dataset: 'analytics', location: 'US', labels: { team: 'data' }, maximum_bytes_billed: undefined as number | undefined };

const started = useFakeBigQuery();
beforeAll(() => {
  ({ fake, guard } = started);
});
afterAll(() => dirs.forEach(removeDir));

async function adapter(over: Partial<typeof cfg> = {}) {
  return BigQueryAdapter.open({ ...cfg, ...over }, 2, await fakeBigQueryClient(fake, { projectId: 'vigil-test', location: 'US' }));
}
const jobs = () => fake.requests.filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path));
const lastJob = () => jobs().at(-1)!.body;

let mark = 0;
beforeEach(() => {
  mark = fake.requests.length;
});
const since = () => fake.requests.slice(mark);

describe('BigQueryAdapter on the real client', () => {
  it('query jobs carry the SQL, location, labels, limits and standard SQL; rows come back', async () => {
    fake.onQuery(/select 42/, { rows: [{ answer: 42, name: 'x' }], fields: [{ name: 'answer', type: 'INTEGER' }, { name: 'name', type: 'STRING' }] });
    const bq = await adapter({ maximum_bytes_billed: 10 ** 12 });
    const rows = await bq.query('select 42 as answer');
    expect(rows).toEqual([{ answer: 42, name: 'x' }]);
    const body = lastJob();
    expect(body.configuration.query.query).toBe('select 42 as answer');
    expect(body.configuration.query.useLegacySql).toBe(false);
    expect(body.configuration.query.maximumBytesBilled).toBe(String(10 ** 12));
    expect(body.configuration.labels).toEqual({ team: 'data', tool: 'vigil' });
    expect(body.jobReference.location).toBe('US');
    expect(body.configuration.dryRun).toBeFalsy();
  });

  it("preview (vigil show): values as BigQuery spells them — NUMERIC's digits, TIMESTAMP to the µs, DATE and TIME as text, NaN as text (were: the client's wrapper objects, Big, null)", async () => {
    fake.onQuery(/select preview/, {
      rows: [{ d: '12345678901234567890.123456', ts: '2026-01-02T03:04:05.123456Z', day: '2026-01-02', t: '12:34:56.123456', f: 'NaN', n: 3, s: 'x' }],
      fields: [{ name: 'd', type: 'BIGNUMERIC' }, { name: 'ts', type: 'TIMESTAMP' }, { name: 'day', type: 'DATE' }, { name: 't', type: 'TIME' }, { name: 'f', type: 'FLOAT' }, { name: 'n', type: 'INTEGER' }, { name: 's', type: 'STRING' }],
    });
    const bq = await adapter();
    const p = await bq.preview('select preview');
    expect(p.columns).toEqual([
      { name: 'd', numeric: true },
      { name: 'ts', numeric: false },
      { name: 'day', numeric: false },
      { name: 't', numeric: false },
      { name: 'f', numeric: false },
      { name: 'n', numeric: true },
      { name: 's', numeric: false },
    ]);
    expect(p.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])))).toEqual([{ d: '12345678901234567890.123456', ts: '2026-01-02T03:04:05.123456Z', day: '2026-01-02', t: '12:34:56.123456', f: 'NaN', n: '3', s: 'x' }]);
    expect(p.rows[0].d).toBeInstanceOf(ExactNumber);
  });

  it("preview only reads: a script (a statement smuggled in after a ';') or a DML is refused after its dry run, and never runs (was: run as a script, the DELETE with it)", async () => {
    const bq = await adapter();
    const smuggled = 'select * from (select 1 as x) s;\ndelete from analytics.keep where true;\nselect * from (select 1\n) as vigil_show limit 6';
    await expect(bq.preview(smuggled)).rejects.toThrow("the query is more than one statement (a ';' ends one): a preview runs one SELECT and only reads, so nothing was run");
    await expect(bq.preview('delete from analytics.keep where true')).rejects.toThrow('the query is a DELETE statement: a preview runs one SELECT and only reads');
    // each sent only as a dry run
    expect(since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path)).map((r) => r.body.configuration.dryRun)).toEqual([true, true]);
    expect(since().some((r) => /\/queries$/.test(r.path))).toBe(false);
  });

  it('INT64 past 2^53 (FARM_FINGERPRINT ids): read exactly — a bigint from query(), its digits in preview (was: the client threw "outside the range of safe integer")', async () => {
    fake.onQuery(/select fingerprint/, {
      rows: [{ id: '-7079256474011520491', small: '42', neg: '-3' }],
      fields: [{ name: 'id', type: 'INTEGER' }, { name: 'small', type: 'INTEGER' }, { name: 'neg', type: 'INT64' }],
    });
    const bq = await adapter();
    const rows = await bq.query('select fingerprint');
    expect(rows).toEqual([{ id: -7079256474011520491n, small: 42, neg: -3 }]);
    const p = await bq.preview('select fingerprint');
    expect(p.columns.map((c) => c.numeric)).toEqual([true, true, true]);
    expect(String(p.rows[0].id)).toBe('-7079256474011520491');
    expect(p.rows[0].id).toBeInstanceOf(ExactNumber);
    expect(p.rows[0].small).toBe(42);
  });

  it('dry runs report the bytes a statement would process, and what on-demand pricing bills for them: rounded up to the MiB, at least 10 MiB per table it references (statistics.query.referencedTables) and per statement; nothing for a statement reading no table (was: the bytes processed alone)', async () => {
    const MiB = 2 ** 20;
    fake.onQuery(/from big_table/, { totalBytesProcessed: 5 * 2 ** 30, referencedTables: ['vigil-test.raw.big_table'] });
    fake.onQuery(/from small_a join small_b/, { totalBytesProcessed: 1.5 * MiB, referencedTables: ['vigil-test.raw.small_a', 'vigil-test.raw.small_b'] });
    fake.onQuery(/from mid/, { totalBytesProcessed: 25 * MiB + 1, referencedTables: ['vigil-test.raw.mid'] });
    const bq = await adapter();
    expect(await bq.dryRun('select * from big_table')).toEqual({ bytesProcessed: 5 * 2 ** 30, bytesBilled: 5 * 2 ** 30 });
    expect(lastJob().configuration.dryRun).toBe(true);
    expect(await bq.dryRun('select * from small_a join small_b')).toEqual({ bytesProcessed: 1.5 * MiB, bytesBilled: 20 * MiB });
    expect(await bq.dryRun('select * from mid')).toEqual({ bytesProcessed: 25 * MiB + 1, bytesBilled: 26 * MiB });
    expect(await bq.dryRun('select 1')).toEqual({ bytesProcessed: 0, bytesBilled: 0 });
    // DDL the reference says processes nothing (CREATE VIEW, CREATE TABLE, DROP): free, whatever it references
    fake.onQuery(/^CREATE OR REPLACE VIEW/, { totalBytesProcessed: 0, referencedTables: ['vigil-test.raw.mid'] });
    expect(await bq.dryRun('CREATE OR REPLACE VIEW analytics.v AS select * from mid')).toEqual({ bytesProcessed: 0, bytesBilled: 0 });
    // a query that reads nothing (an empty table, partitions pruned to none) bills no minimum (was: 10 MiB)
    fake.onQuery(/from empty_t/, { totalBytesProcessed: 0, referencedTables: ['vigil-test.raw.empty_t'] });
    expect(await bq.dryRun('select * from empty_t')).toEqual({ bytesProcessed: 0, bytesBilled: 0 });
  });

  it('relationExists: 404 is no relation, a VIEW is a view; columns from the table schema', async () => {
    fake.addTable('vigil-test', 'analytics', 'v', { type: 'VIEW', fields: [{ name: 'a', type: 'INTEGER' }] });
    const bq = await adapter();
    expect(await bq.relationExists({ database: 'vigil-test', schema: 'analytics', identifier: 'nope' })).toBeNull();
    expect(await bq.relationExists({ database: 'vigil-test', schema: 'analytics', identifier: 'v' })).toBe('view');
    expect(await bq.columns({ database: 'vigil-test', schema: 'analytics', identifier: 'v' })).toEqual([{ name: 'a', data_type: 'INT64' }]);
  });

  it('a table whose partitioning changed is dropped and recreated; options and column descriptions are set', async () => {
    fake.addTable('vigil-test', 'analytics', 'daily', { fields: [{ name: 'day', type: 'DATE' }, { name: 'n', type: 'INTEGER' }], timePartitioning: { type: 'DAY', field: 'created' } });
    const bq = await adapter();
    const r = await bq.materialize({
      kind: 'table',
      relation: { database: 'vigil-test', schema: 'analytics', identifier: 'daily' },
      sql: 'select current_date() as day, 1 as n',
      fullRefresh: false,
      config: { partition_by: 'day', cluster_by: ['n'] },
      description: 'Daily counts',
      columns: [{ name: 'day', description: 'UTC day' }],
    });
    expect(r.message).toBe('recreated table');
    const sql = lastJob().configuration.query.query as string;
    expect(sql).toMatch(/^DROP TABLE IF EXISTS `vigil-test`\.`analytics`\.`daily`;\nCREATE OR REPLACE TABLE `vigil-test`\.`analytics`\.`daily`\nPARTITION BY `day`\nCLUSTER BY `n`\nOPTIONS\(description='Daily counts', labels=\[\('team', 'data'\), \('tool', 'vigil'\)\]\)\nAS\n/);
    expect(sql).toContain("ALTER TABLE `vigil-test`.`analytics`.`daily` ALTER COLUMN `day` SET OPTIONS(description='UTC day')");
  });

  it('a changed granularity or integer range is a changed partitioning (dropped first); the same spec in another spelling is not', async () => {
    const bq = await adapter();
    const build = async (identifier: string, partition_by: unknown) => {
      const r = await bq.materialize({ kind: 'table', relation: { database: 'vigil-test', schema: 'analytics', identifier }, sql: 'select 1 as x', fullRefresh: false, config: { partition_by } });
      return { message: r.message, sql: lastJob().configuration.query.query as string };
    };
    const drop = (t: string) => `DROP TABLE IF EXISTS \`vigil-test\`.\`analytics\`.\`${t}\`;\nCREATE OR REPLACE TABLE`;
    // DAY -> MONTH on the same column (BigQuery: "Cannot replace a table with a different partitioning spec")
    fake.addTable('vigil-test', 'analytics', 'by_day', { fields: [{ name: 'created_date', type: 'DATE' }], timePartitioning: { type: 'DAY', field: 'created_date' } });
    const month = await build('by_day', { field: 'created_date', data_type: 'date', granularity: 'month' });
    expect(month.sql.startsWith(drop('by_day')), month.sql).toBe(true);
    expect(month.sql).toContain('PARTITION BY DATE_TRUNC(`created_date`, MONTH)');
    expect(month.message).toBe('recreated table');
    // HOUR -> DAY on a timestamp column
    fake.addTable('vigil-test', 'analytics', 'by_hour', { fields: [{ name: 'ts', type: 'TIMESTAMP' }], timePartitioning: { type: 'HOUR', field: 'ts' } });
    expect((await build('by_hour', { field: 'ts', data_type: 'timestamp' })).sql.startsWith(drop('by_hour'))).toBe(true);
    // an integer range 0..100 step 10 -> 0..1000 step 100 (the REST API gives the bounds as strings)
    fake.addTable('vigil-test', 'analytics', 'by_n', { fields: [{ name: 'n', type: 'INTEGER' }], rangePartitioning: { field: 'n', range: { start: '0', end: '100', interval: '10' } } });
    const range = await build('by_n', { field: 'n', data_type: 'int64', range: { start: 0, end: 1000, interval: 100 } });
    expect(range.sql.startsWith(drop('by_n')), range.sql).toBe(true);
    expect(range.sql).toContain('PARTITION BY RANGE_BUCKET(`n`, GENERATE_ARRAY(0, 1000, 100))');
    // ingestion-time partitioning (no field) -> none
    fake.addTable('vigil-test', 'analytics', 'ingested', { fields: [{ name: 'x', type: 'INTEGER' }], timePartitioning: { type: 'DAY' } });
    expect((await build('ingested', undefined)).sql.startsWith(drop('ingested'))).toBe(true);
    // the same spec: replaced in place, whichever way partition_by spells it
    fake.addTable('vigil-test', 'analytics', 'same', { fields: [{ name: 'Created_Date', type: 'DATE' }, { name: 'n', type: 'INTEGER' }, { name: 'ts', type: 'TIMESTAMP' }], timePartitioning: { type: 'MONTH', field: 'Created_Date' } });
    for (const p of [{ field: 'created_date', granularity: 'MONTH' }, 'date_trunc(created_date, month)']) {
      const same = await build('same', p);
      expect(same.sql, JSON.stringify(p)).toMatch(/^CREATE OR REPLACE TABLE/);
      expect(same.message).toBe('created table');
    }
    fake.addTable('vigil-test', 'analytics', 'same_range', { fields: [{ name: 'n', type: 'INTEGER' }], rangePartitioning: { field: 'n', range: { start: '0', end: '100', interval: '10' } } });
    expect((await build('same_range', { field: 'n', data_type: 'int64', range: { start: 0, end: 100, interval: 10 } })).sql).toMatch(/^CREATE OR REPLACE TABLE/);
  });

  it('clustering compared case-insensitively, as BigQuery compares column names: a table clustered by User_Id is not recreated for cluster_by user_id (was: recreated on every build); another column or order is', async () => {
    fake.addTable('vigil-test', 'analytics', 'clustered', { fields: [{ name: 'User_Id', type: 'STRING' }, { name: 'Day', type: 'DATE' }], clustering: { fields: ['User_Id', 'Day'] } });
    const bq = await adapter();
    const build = async (cluster_by: unknown) => {
      const r = await bq.materialize({ kind: 'table', relation: { database: 'vigil-test', schema: 'analytics', identifier: 'clustered' }, sql: 'select 1 as x', fullRefresh: false, config: { cluster_by } });
      return { message: r.message, sql: lastJob().configuration.query.query as string };
    };
    const same = await build(['user_id', 'day']);
    expect(same.message).toBe('created table');
    expect(same.sql).toMatch(/^CREATE OR REPLACE TABLE/);
    expect((await build(['day', 'user_id'])).message).toBe('recreated table');
    fake.addTable('vigil-test', 'analytics', 'clustered', { fields: [{ name: 'User_Id', type: 'STRING' }], clustering: { fields: ['User_Id'] } });
    expect((await build('USER_ID')).message).toBe('created table');
  });

  it('tables, views and incremental tables carry the target\'s labels, the model\'s and tool=vigil, as jobs do (was: tool=vigil on jobs only)', async () => {
    const bq = await adapter();
    const rel = (identifier: string) => ({ database: 'vigil-test', schema: 'analytics', identifier });
    const ddl = async (kind: 'table' | 'view' | 'incremental', identifier: string, labels?: Record<string, string>) => {
      await bq.materialize({ kind, relation: rel(identifier), sql: 'select 1 as x', fullRefresh: false, ...(kind === 'incremental' ? { uniqueKey: ['x'] } : {}), config: labels ? { labels } : {} });
      const body = lastJob();
      expect(body.configuration.labels).toEqual({ team: 'data', tool: 'vigil' });
      return body.configuration.query.query as string;
    };
    expect(await ddl('table', 'labelled_t', { layer: 'mart' })).toMatch(/^CREATE OR REPLACE TABLE `vigil-test`\.`analytics`\.`labelled_t`\nOPTIONS\(labels=\[\('team', 'data'\), \('layer', 'mart'\), \('tool', 'vigil'\)\]\)\nAS\n/);
    expect(await ddl('view', 'labelled_v')).toMatch(/^CREATE OR REPLACE VIEW `vigil-test`\.`analytics`\.`labelled_v`\nOPTIONS\(labels=\[\('team', 'data'\), \('tool', 'vigil'\)\]\)\nAS\n/);
    expect(await ddl('incremental', 'labelled_i', { team: 'growth' })).toMatch(/^CREATE OR REPLACE TABLE `vigil-test`\.`analytics`\.`labelled_i`\nOPTIONS\(labels=\[\('team', 'growth'\), \('tool', 'vigil'\)\]\)\nAS\n/);
    // a target without labels: tool=vigil alone
    const bare = await adapter({ labels: undefined } as never);
    await bare.materialize({ kind: 'view', relation: rel('labelled_bare'), sql: 'select 1 as x', fullRefresh: false });
    expect(lastJob().configuration.query.query).toMatch(/\nOPTIONS\(labels=\[\('tool', 'vigil'\)\]\)\nAS\n/);
  });

  it("hooks are jobs of their own around the build's; transaction: false is accepted and ordered as dbt orders it (before_begin pre-hooks first, after_commit post-hooks last)", async () => {
    const bq = await adapter();
    const hook = (kind: 'pre_hook' | 'post_hook', sql: string, transaction?: false) => ({ kind, sql, origin: 'models/h.sql:1', ...(transaction === false ? { transaction } : {}) });
    await bq.materialize({
      kind: 'table',
      relation: { database: 'vigil-test', schema: 'analytics', identifier: 'hooked' },
      sql: 'select 1 as x',
      fullRefresh: false,
      preHooks: [hook('pre_hook', 'select "pre, in"'), hook('pre_hook', 'select "pre, before begin"', false)],
      postHooks: [hook('post_hook', 'select "post, after commit"', false), hook('post_hook', 'select "post, in"')],
    });
    const sent = since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path) && !r.body.configuration.dryRun).map((r) => r.body.configuration.query.query as string);
    expect(sent.map((q) => /^select "(.*)"$/.exec(q)?.[1] ?? (/CREATE OR REPLACE TABLE/.test(q) ? 'build' : q))).toEqual(['pre, before begin', 'pre, in', 'build', 'post, in', 'post, after commit']);
  });

  it("an incremental model's hooks run as they render with the build's is_incremental(): their full-build text when the table is created or --full-refresh, sql_incremental when the build writes into the table (was: the full-build text always)", async () => {
    const bq = await adapter();
    const relation = { database: 'vigil-test', schema: 'analytics', identifier: 'inc_hooked' };
    const hook = (kind: 'pre_hook' | 'post_hook', what: string) => ({ kind, sql: `select "${what} full"`, sql_incremental: `select "${what} incremental"`, origin: 'models/inc_hooked.sql:1' });
    const hooksSent = async (fullRefresh: boolean) => {
      const before = since().length;
      await bq.materialize({ kind: 'incremental', relation, sql: 'select 1 as x', incrementalSql: 'select 2 as x', fullRefresh, preHooks: [hook('pre_hook', 'pre')], postHooks: [hook('post_hook', 'post')] });
      return since().slice(before).filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path) && !r.body.configuration.dryRun).flatMap((r) => /^select "(.*)"$/.exec(r.body.configuration.query.query as string)?.[1] ?? []);
    };
    // no table yet: created, the full-build hooks
    expect(await hooksSent(false)).toEqual(['pre full', 'post full']);
    fake.addTable('vigil-test', 'analytics', 'inc_hooked', { fields: [{ name: 'x', type: 'INT64' }] });
    expect(await hooksSent(false)).toEqual(['pre incremental', 'post incremental']);
    expect(await hooksSent(true)).toEqual(['pre full', 'post full']);
  });

  it('incremental merge on the unique key, pruned by the partition column', async () => {
    fake.addTable('vigil-test', 'analytics', 'inc', { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }, { name: 'n', type: 'INTEGER' }], timePartitioning: { type: 'DAY', field: 'day' } });
    const bq = await adapter();
    await bq.materialize({
      kind: 'incremental',
      relation: { database: 'vigil-test', schema: 'analytics', identifier: 'inc' },
      sql: 'select 1',
      incrementalSql: 'select day, k, n from src',
      uniqueKey: ['day', 'k'],
      fullRefresh: false,
      config: { partition_by: { field: 'day', data_type: 'date' } },
    });
    const sql = lastJob().configuration.query.query as string;
    // the model's SQL runs once, into the script's temp table; the lowest day and the MERGE read it
    expect(sql).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS \(\nselect day, k, n from src\n\);\nBEGIN\nDECLARE vigil_null_keys DEFAULT \(SELECT IF\([^\n]*\);\nDECLARE vigil_min DEFAULT \(SELECT MIN\(`day`\) FROM vigil_new_rows\);\nDECLARE vigil_stored_dups DEFAULT \(SELECT AS STRUCT [^\n]* AND T\.`day` >= vigil_min GROUP BY T\.`day`, T\.`k` HAVING COUNT\(\*\) > 1\)\);\nIF vigil_stored_dups\.n > 0 THEN\nMERGE [^;]*;\nELSE\nMERGE `vigil-test`\.`analytics`\.`inc` AS T\nUSING vigil_new_rows AS S\n/);
    expect(sql.split('select day, k, n from src')).toHaveLength(2);
    expect(sql).toContain('ON T.`day` = S.`day` AND T.`k` = S.`k` AND T.`day` >= vigil_min');
    expect(sql).toMatch(/\);\nEND IF;\nSELECT vigil_null_keys AS vigil_null_keys, vigil_stored_dups\.n AS vigil_stored_dups, vigil_stored_dups\.key AS vigil_stored_dup_key;\nEND$/);
    expect(sql).toContain('WHEN MATCHED THEN UPDATE SET `day` = S.`day`, `k` = S.`k`, `n` = S.`n`');
  });

  it("an incremental run sets the options the config now gives on the existing table before its write (description, labels, partition_expiration_days, require_partition_filter, column descriptions), and says so; a table that has them is sent no ALTER (was: ignored, \"merged\", the MERGE alone)", async () => {
    const rel = { database: 'vigil-test', schema: 'analytics', identifier: 'inc_opts' };
    const fields = [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }, { name: 'n', type: 'INTEGER' }];
    fake.addTable('vigil-test', 'analytics', 'inc_opts', { fields, timePartitioning: { type: 'DAY', field: 'day' }, labels: { team: 'data', tool: 'vigil' }, description: 'Old' });
    fake.onQuery(/from src_opts/, { numDmlAffectedRows: 3 });
    const bq = await adapter();
    const req = {
      kind: 'incremental' as const,
      relation: rel,
      sql: 'select 1',
      incrementalSql: 'select day, k, n from src_opts',
      uniqueKey: ['k'],
      fullRefresh: false,
      config: { partition_by: { field: 'day', data_type: 'date' }, partition_expiration_days: 30, require_partition_filter: true, labels: { layer: 'mart' } },
      description: 'Daily counts',
      columns: [{ name: 'n', description: 'How many' }],
    };
    const r = await bq.materialize(req);
    expect(r.message).toBe('set description, labels, partition_expiration_days 30, require_partition_filter true, the description of n as the config now says, then merged 3 rows into');
    const sent = since().filter((q) => q.method === 'POST' && /\/jobs$/.test(q.path)).map((q) => q.body.configuration.query.query as string);
    expect(sent).toHaveLength(3);
    expect(sent[0]).toBe("ALTER TABLE `vigil-test`.`analytics`.`inc_opts` SET OPTIONS(description='Daily counts', labels=[('team', 'data'), ('layer', 'mart'), ('tool', 'vigil')], partition_expiration_days=30, require_partition_filter=true)");
    expect(sent[1]).toBe("ALTER TABLE `vigil-test`.`analytics`.`inc_opts` ALTER COLUMN `n` SET OPTIONS(description='How many')");
    // the write after it carries the filter a require_partition_filter table wants: the table and the config agree
    expect(sent[2]).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS [\s\S]*\nMERGE `vigil-test`\.`analytics`\.`inc_opts` AS T\n/);
    expect(sent[2]).toContain('ON T.`k` = S.`k` AND (T.`day` IS NULL OR T.`day` IS NOT NULL)\n');
    // a table whose options are the config's: only the write
    fake.addTable('vigil-test', 'analytics', 'inc_opts', {
      fields: [...fields.slice(0, 2), { ...fields[2], description: 'How many' }],
      timePartitioning: { type: 'DAY', field: 'day', expirationMs: '2592000000' },
      requirePartitionFilter: true,
      labels: { tool: 'vigil', layer: 'mart', team: 'data', vigil_masking: 'kept' },
      description: 'Daily counts',
    });
    const at = fake.requests.length;
    expect((await bq.materialize(req)).message).toBe('merged 3 rows into');
    expect(fake.requests.slice(at).filter((q) => q.method === 'POST' && /\/jobs$/.test(q.path)).map((q) => q.body.configuration.query.query)).toEqual([expect.stringMatching(/^CREATE TEMP TABLE vigil_new_rows AS [\s\S]*\nMERGE /)]);
    // options taken out of the config are cleared (the masking label is the table's record: kept),
    // but a partition expiration: a table created without one in its config takes its dataset's
    // default (defaultPartitionExpirationMs), which an incremental run must not clear (was: =NULL)
    const cleared = await bq.materialize({ ...req, config: { partition_by: { field: 'day', data_type: 'date' } }, description: undefined, columns: [] });
    expect(cleared.message).toMatch(/^set description, labels, require_partition_filter false as the config now says, then merged/);
    expect(fake.requests.filter((q) => q.method === 'POST' && /\/jobs$/.test(q.path)).map((q) => q.body.configuration.query.query).find((q: string) => q.startsWith('ALTER TABLE') && q.includes('NULL'))).toBe(
      "ALTER TABLE `vigil-test`.`analytics`.`inc_opts` SET OPTIONS(description=NULL, labels=[('team', 'data'), ('vigil_masking', 'kept'), ('tool', 'vigil')], require_partition_filter=false)",
    );
  });

  it("an incremental run whose config changes the table's partitioning or clustering is refused before anything runs, naming the key where it is written and --full-refresh (was: ignored, the table kept its old layout); --full-refresh rebuilds it", async () => {
    const rel = { database: 'vigil-test', schema: 'analytics', identifier: 'inc_layout' };
    fake.addTable('vigil-test', 'analytics', 'inc_layout', { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }], timePartitioning: { type: 'DAY', field: 'day' }, clustering: { fields: ['k'] }, labels: { team: 'data', tool: 'vigil' } });
    const bq = await adapter();
    const req = (config: Record<string, unknown>, fullRefresh = false) => ({
      kind: 'incremental' as const,
      relation: rel,
      sql: 'select day, k from src_layout',
      incrementalSql: 'select day, k from src_layout',
      uniqueKey: ['k'],
      fullRefresh,
      config,
      configAt: { partition_by: { file: 'models/inc_layout.sql', line: 2, column: 5 }, cluster_by: { file: 'models/inc_layout.yml', line: 7, column: 19 } },
      preHooks: [{ kind: 'pre_hook' as const, sql: 'select "pre"', origin: 'models/inc_layout.sql:1' }],
    });
    const at = fake.requests.length;
    await expect(bq.materialize(req({ partition_by: { field: 'day', data_type: 'date', granularity: 'month' }, cluster_by: 'k' }))).rejects.toThrow(
      /^partition_by \(models\/inc_layout\.sql:2:5\) says PARTITION BY DATE_TRUNC\(`day`, MONTH\), but `vigil-test`\.`analytics`\.`inc_layout` is partitioned by DAY of day: BigQuery cannot change a table's partitioning in place.*nothing was run\. Run with --full-refresh/,
    );
    await expect(bq.materialize(req({ partition_by: 'day', cluster_by: ['day', 'k'] }))).rejects.toThrow(/^cluster_by \(models\/inc_layout\.yml:7:19\) says CLUSTER BY day, k, but `vigil-test`\.`analytics`\.`inc_layout` is clustered by k: BigQuery cannot change a table's clustering in place/);
    // no job at all: not the pre-hook, not the write
    expect(fake.requests.slice(at).filter((q) => q.method === 'POST')).toEqual([]);
    // the same layout (cluster_by in another case) runs; --full-refresh rebuilds a changed one
    expect((await bq.materialize(req({ partition_by: 'day', cluster_by: 'K' }))).message).toMatch(/merged .* rows into$/);
    expect((await bq.materialize(req({ partition_by: 'day', cluster_by: ['day', 'k'] }, true))).message).toBe('recreated incremental table');
  });

  it("grants: IAM e-mail members compared case-insensitively, as IAM stores them lower-cased (OBJECT_PRIVILEGES lists group:analysts@example.com for group:Analysts@Example.com): no REVOKE and GRANT of a member that only differs in case (was: both on every build, the group without access in between); other members still granted and revoked", async () => {
    const { applyGrants, describeGrants } = await import('../../src/run/grants.js');
    const rel = { database: 'vigil-test', schema: 'analytics', identifier: 'granted' };
    fake.onQuery(/OBJECT_PRIVILEGES/, { rows: [{ grantee: 'group:analysts@example.com' }, { grantee: 'domain:example.com' }, { grantee: 'user:former@example.com' }], fields: [{ name: 'grantee', type: 'STRING' }] });
    const bq = await adapter();
    const dcl = () => since().filter((q) => q.method === 'POST' && /\/jobs$/.test(q.path)).map((q) => q.body.configuration.query.query as string).filter((q) => /^(GRANT|REVOKE)/.test(q));
    const same = await applyGrants(bq, rel, 'table', ['group:Analysts@Example.com', 'domain:Example.COM', 'user:former@example.com']);
    expect(same).toEqual({ grant: [], revoke: [] });
    expect(describeGrants(same)).toBe('');
    expect(dcl()).toEqual([]);
    mark = fake.requests.length;
    const changed = await applyGrants(bq, rel, 'table', ['group:Analysts@Example.com', 'user:New@Example.com']);
    expect(changed).toEqual({ grant: ['user:New@Example.com'], revoke: ['domain:example.com', 'user:former@example.com'] });
    expect(dcl()).toEqual([
      'REVOKE `roles/bigquery.dataViewer` ON TABLE `vigil-test`.`analytics`.`granted` FROM "domain:example.com", "user:former@example.com"',
      'GRANT `roles/bigquery.dataViewer` ON TABLE `vigil-test`.`analytics`.`granted` TO "user:New@Example.com"',
    ]);
  });

  it("grants: a target without a location reads OBJECT_PRIVILEGES in the region of the table's dataset (was: always region-us — a table in asia-northeast1 had no grantees there, and every build granted them again)", async () => {
    const { applyGrants } = await import('../../src/run/grants.js');
    fake.addDataset('vigil-test', 'tokyo_grants', { location: 'asia-northeast1' });
    fake.onQuery(/`region-asia-northeast1`\.INFORMATION_SCHEMA\.OBJECT_PRIVILEGES/, { rows: [{ grantee: 'group:analysts@example.com' }], fields: [{ name: 'grantee', type: 'STRING' }] });
    fake.onQuery(/`region-us`\.INFORMATION_SCHEMA\.OBJECT_PRIVILEGES/, { rows: [], fields: [{ name: 'grantee', type: 'STRING' }] });
    const bq = await BigQueryAdapter.open({ type: 'bigquery', project: 'vigil-test', dataset: 'analytics' }, 2, await fakeBigQueryClient(fake, { projectId: 'vigil-test' }));
    const done = await applyGrants(bq, { database: 'vigil-test', schema: 'tokyo_grants', identifier: 't' }, 'table', ['group:analysts@example.com']);
    expect(done).toEqual({ grant: [], revoke: [] });
  });

  it('a key without the partition column is not pruned (a stored row in an older partition was not matched: its key inserted twice); require_partition_filter gets a filter keeping every row', async () => {
    fake.addTable('vigil-test', 'analytics', 'latest', { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }, { name: 'n', type: 'INTEGER' }], timePartitioning: { type: 'DAY', field: 'day' } });
    const bq = await adapter();
    const req = { kind: 'incremental' as const, relation: { database: 'vigil-test', schema: 'analytics', identifier: 'latest' }, sql: 'select 1', incrementalSql: 'select max(day) as day, k, count(*) as n from src group by k', uniqueKey: ['k'], fullRefresh: false };
    await bq.materialize({ ...req, config: { partition_by: { field: 'day', data_type: 'date' } } });
    const plain = lastJob().configuration.query.query as string;
    expect(plain).not.toContain('vigil_min');
    expect(plain).toMatch(/\nON T\.`k` = S\.`k`\nWHEN MATCHED/);
    await bq.materialize({ ...req, config: { partition_by: { field: 'day', data_type: 'date' }, require_partition_filter: true } });
    const required = lastJob().configuration.query.query as string;
    expect(required).not.toContain('vigil_min');
    expect(required).toContain('ON T.`k` = S.`k` AND (T.`day` IS NULL OR T.`day` IS NOT NULL)\n');
  });

  it('insert_overwrite: the partitions to replace without NULL (BigQuery refuses an array holding one), and the MERGE only when there is one to replace, else the new rows inserted', async () => {
    fake.addTable('vigil-test', 'analytics', 'ow', { fields: [{ name: 'day', type: 'DATE' }, { name: 'n', type: 'INTEGER' }], timePartitioning: { type: 'DAY', field: 'day' }, requirePartitionFilter: true, labels: BUILT });
    fake.onQuery(/from src_ow/, { dmlStats: { inserted: 2 } });
    const bq = await adapter();
    const r = await bq.materialize({ kind: 'incremental', relation: { database: 'vigil-test', schema: 'analytics', identifier: 'ow' }, sql: 'select 1', incrementalSql: 'select day, n from src_ow', strategy: 'insert_overwrite', fullRefresh: false, config: { partition_by: 'day', require_partition_filter: true } });
    expect(r).toEqual({ message: "overwrote the new rows' partitions with 2 rows (0 deleted) in", rows: 2 });
    const script = lastJob().configuration.query.query as string;
    // the model's SQL runs once, into the script's temp table: the partitions and the rows written are from the same evaluation
    expect(script).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS \(\nselect day, n from src_ow\n\);\nBEGIN\nDECLARE vigil_partitions DEFAULT \(SELECT ARRAY_AGG\(DISTINCT `day` IGNORE NULLS\) FROM vigil_new_rows\);\nIF IFNULL\(ARRAY_LENGTH\(vigil_partitions\), 0\) > 0 THEN\nMERGE `vigil-test`\.`analytics`\.`ow` AS T\nUSING vigil_new_rows AS S\n/);
    expect(script).toMatch(/\nWHEN NOT MATCHED BY SOURCE AND T\.`day` IN UNNEST\(vigil_partitions\) THEN DELETE\n[^;]*;\nELSE\nINSERT INTO `vigil-test`\.`analytics`\.`ow` \(`day`, `n`\)\nSELECT `day`, `n` FROM vigil_new_rows;\nEND IF;\nEND$/);
    expect(script.split('select day, n from src_ow')).toHaveLength(2);
  });

  it('an incremental table records its masking in a label; a run with other masking is refused before anything is sent (its pre-hooks too: was run, then refused), the same runs on', async () => {
    const rel = (identifier: string) => ({ database: 'vigil-test', schema: 'analytics', identifier });
    const req = (identifier: string, masking: Record<string, string>) => ({ kind: 'incremental' as const, relation: rel(identifier), sql: 'select 1 as id, email', incrementalSql: 'select id, email from src_masked', uniqueKey: ['email'], fullRefresh: false, masking });
    const bq = await adapter();
    await bq.materialize({ ...req('masked_new', { email: 'hash' }), fullRefresh: true });
    expect(lastJob().configuration.query.query).toContain("labels=[('team', 'data'), ('vigil_masking', '");
    const digest = /\('vigil_masking', '([0-9a-f]{16})'\)/.exec(lastJob().configuration.query.query)![1];
    // built without masking (label none), now hashing email: refused, no job sent (was: merged, the stored rows unmasked)
    fake.addTable('vigil-test', 'analytics', 'masked_inc', { fields: [{ name: 'id', type: 'INT64' }, { name: 'email', type: 'STRING' }], labels: { ...BUILT, vigil_masking: 'none' } });
    mark = fake.requests.length;
    // its pre-hooks too, in and out of the model's transaction (BigQuery has none: a hook's job would stay done)
    const preHooks = [
      { kind: 'pre_hook' as const, sql: 'delete from `vigil-test`.`analytics`.`masked_inc` where true', origin: 'models/m.sql:1' },
      { kind: 'pre_hook' as const, sql: 'delete from `vigil-test`.`analytics`.`audit` where true', origin: 'models/m.sql:1', transaction: false as const },
    ];
    await expect(bq.materialize({ ...req('masked_inc', { email: 'hash' }), preHooks })).rejects.toThrow(
      'the masking of `vigil-test`.`analytics`.`masked_inc` changed since it was built (its label vigil_masking records other policies than the model\'s: email (policy: hash)); its stored rows keep the masking they were written with (an incremental run would mix both, and a unique_key on such a column would not match them): run with --full-refresh to rebuild it',
    );
    expect(since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path))).toEqual([]);
    // built with the same masking: merged
    fake.addTable('vigil-test', 'analytics', 'masked_same', { fields: [{ name: 'id', type: 'INT64' }, { name: 'email', type: 'STRING' }], labels: { ...BUILT, vigil_masking: digest } });
    fake.onQuery(/from src_masked/, { numDmlAffectedRows: 1 });
    expect((await bq.materialize(req('masked_same', { email: 'hash' }))).message).toBe('merged 1 rows into');
  });

  describe("on_schema_change: the query's schema from its dry run against the table's", () => {
    const rel = (identifier: string) => ({ database: 'vigil-test', schema: 'analytics', identifier });
    const tableFields = [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }, { name: 'n', type: 'INTEGER' }];
    const incremental = (identifier: string, onSchemaChange: 'ignore' | 'fail' | 'append_new_columns' | undefined, from: string) =>
      ({ kind: 'incremental' as const, relation: rel(identifier), sql: 'select 1', incrementalSql: `select * from ${from}`, uniqueKey: ['day', 'k'], fullRefresh: false, config: { partition_by: { field: 'day', data_type: 'date' } }, onSchemaChange });
    const sent = () => since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path)).map((r) => ({ dryRun: !!r.body.configuration.dryRun, sql: r.body.configuration.query.query as string }));

    it('append_new_columns adds the new columns (legacy names, REPEATED and RECORD in DDL spelling) after the DECLAREs, in the same script as the MERGE that writes them', async () => {
      fake.addTable('vigil-test', 'analytics', 'grow', { fields: tableFields, timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT });
      fake.onQuery(/from src_grow/, {
        fields: [...tableFields, { name: 'tags', type: 'STRING', mode: 'REPEATED' }, { name: 'meta', type: 'RECORD', fields: [{ name: 'a', type: 'INTEGER' }, { name: 'ok', type: 'BOOLEAN' }] }, { name: 'cost', type: 'NUMERIC', precision: '10', scale: '2' }],
        numDmlAffectedRows: 3,
      });
      const bq = await adapter();
      const r = await bq.materialize(incremental('grow', 'append_new_columns', 'src_grow'));
      expect(r).toEqual({ message: 'added columns tags, meta, cost and merged 3 rows into', rows: 3 });
      const jobsSent = sent();
      expect(jobsSent.map((j) => j.dryRun)).toEqual([true, false]);
      expect(jobsSent[0].sql).toBe('select * from src_grow');
      const script = jobsSent[1].sql;
      const alter = 'ALTER TABLE `vigil-test`.`analytics`.`grow` ADD COLUMN IF NOT EXISTS `tags` ARRAY<STRING>, ADD COLUMN IF NOT EXISTS `meta` STRUCT<`a` INT64, `ok` BOOL>, ADD COLUMN IF NOT EXISTS `cost` NUMERIC(10, 2)';
      expect(script).toContain(alter);
      expect(script.indexOf('DECLARE vigil_min')).toBeLessThan(script.indexOf(alter));
      expect(script.indexOf(alter)).toBeLessThan(script.indexOf('\nMERGE '));
      expect(script).toContain('WHEN MATCHED THEN UPDATE SET `day` = S.`day`, `k` = S.`k`, `n` = S.`n`, `tags` = S.`tags`, `meta` = S.`meta`, `cost` = S.`cost`');
    });

    it("append_new_columns: a column the query no longer selects is left out of the write; names match the table's case-insensitively (no ALTER)", async () => {
      fake.addTable('vigil-test', 'analytics', 'shrink', { fields: tableFields, labels: BUILT });
      fake.onQuery(/from src_shrink/, { fields: [{ name: 'DAY', type: 'DATE' }, { name: 'k', type: 'STRING' }], numDmlAffectedRows: 1 });
      const bq = await adapter();
      const r = await bq.materialize({ ...incremental('shrink', 'append_new_columns', 'src_shrink'), uniqueKey: [], config: {} });
      expect(r.message).toBe('inserted 1 rows into');
      const script = sent()[1].sql;
      expect(script).toBe('INSERT INTO `vigil-test`.`analytics`.`shrink` (`day`, `k`)\nSELECT `day`, `k` FROM (\nselect * from src_shrink\n)');
    });

    it('append_new_columns: a column the query no longer selects is refused, nothing written, where insert_overwrite would erase it in the partitions it replaces (was: rewritten NULL); a merge keeps stored values and goes ahead', async () => {
      fake.addTable('vigil-test', 'analytics', 'shrink_ow', { fields: tableFields, timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT });
      fake.onQuery(/from src_shrink_ow/, { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }], numDmlAffectedRows: 1 });
      const bq = await adapter();
      await expect(bq.materialize({ ...incremental('shrink_ow', 'append_new_columns', 'src_shrink_ow'), strategy: 'insert_overwrite' })).rejects.toThrow(
        'the model no longer selects column n of `vigil-test`.`analytics`.`shrink_ow` (on_schema_change: append_new_columns): the rows this run replaces would lose their values in it; select it again, or run with --full-refresh to rebuild the table without it',
      );
      expect(sent().map((j) => j.dryRun)).toEqual([true]);
      mark = fake.requests.length;
      expect((await bq.materialize(incremental('shrink_ow', 'append_new_columns', 'src_shrink_ow'))).message).toBe('merged 1 rows into');
      expect(sent()[1].sql).toContain('WHEN MATCHED THEN UPDATE SET `day` = S.`day`, `k` = S.`k`\n');
    });

    it('append_new_columns adding a unique_key column to a table that holds rows is refused, nothing written (was: added, NULL in every stored row, so the MERGE matched none and stored each key twice); an empty table takes it', async () => {
      fake.addTable('vigil-test', 'analytics', 'grow_key', { fields: tableFields, timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT, numRows: 5 });
      fake.onQuery(/from src_grow_key/, { fields: [...tableFields, { name: 'k2', type: 'STRING' }], numDmlAffectedRows: 1 });
      const bq = await adapter();
      await expect(bq.materialize({ ...incremental('grow_key', 'append_new_columns', 'src_grow_key'), uniqueKey: ['day', 'k', 'k2'] })).rejects.toThrow(
        'unique_key column k2 is new to `vigil-test`.`analytics`.`grow_key` (on_schema_change: append_new_columns): its stored rows would hold NULL in it, which matches no new row, so this run would replace none of them and store their keys twice; nothing was changed. Run with --full-refresh to rebuild the table with it',
      );
      expect(sent().map((j) => j.dryRun)).toEqual([true]);
      fake.addTable('vigil-test', 'analytics', 'grow_key_empty', { fields: tableFields, timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT, numRows: 0 });
      fake.onQuery(/from src_grow_key_empty/, { fields: [...tableFields, { name: 'k2', type: 'STRING' }], numDmlAffectedRows: 1 });
      expect((await bq.materialize({ ...incremental('grow_key_empty', 'append_new_columns', 'src_grow_key_empty'), uniqueKey: ['day', 'k', 'k2'] })).message).toBe('added column k2 and merged 1 rows into');
    });

    it('fail refuses new, removed and retyped columns before anything is written, naming each', async () => {
      fake.addTable('vigil-test', 'analytics', 'strict', { fields: tableFields, timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT });
      fake.onQuery(/from src_strict/, { fields: [{ name: 'day', type: 'DATE' }, { name: 'n', type: 'FLOAT' }, { name: 'extra', type: 'STRING' }] });
      const bq = await adapter();
      await expect(bq.materialize(incremental('strict', 'fail', 'src_strict'))).rejects.toThrow(
        "the model's columns differ from `vigil-test`.`analytics`.`strict` (on_schema_change: fail): new columns extra; columns no longer selected: k; types changed: n INT64 -> FLOAT64; run with --full-refresh to rebuild it",
      );
      expect(sent().map((j) => j.dryRun)).toEqual([true]);
      // the same columns (legacy and DDL names alike, a table's type parameters aside) pass
      fake.addTable('vigil-test', 'analytics', 'same', { fields: [...tableFields, { name: 'cost', type: 'NUMERIC', precision: '10', scale: '2' }], timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT });
      fake.onQuery(/from src_same/, { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }, { name: 'n', type: 'INT64' }, { name: 'cost', type: 'NUMERIC' }], numDmlAffectedRows: 2 });
      expect((await bq.materialize(incremental('same', 'fail', 'src_same'))).message).toBe('merged 2 rows into');
    });

    it('ignore (the default) costs no dry run and writes the table\'s columns; with maximum_bytes_billed one dry run serves both', async () => {
      fake.addTable('vigil-test', 'analytics', 'quiet', { fields: tableFields, timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT });
      fake.onQuery(/from src_quiet/, { fields: [...tableFields, { name: 'new_one', type: 'STRING' }], numDmlAffectedRows: 4, totalBytesProcessed: 100 });
      const bq = await adapter();
      await bq.materialize(incremental('quiet', undefined, 'src_quiet'));
      expect(sent().map((j) => j.dryRun)).toEqual([false]);
      expect(sent()[0].sql).not.toContain('new_one');
      mark = fake.requests.length;
      const capped = await adapter({ maximum_bytes_billed: 10 ** 9 });
      await capped.materialize(incremental('quiet', 'append_new_columns', 'src_quiet'));
      expect(sent().map((j) => j.dryRun)).toEqual([true, false]);
      expect(sent()[1].sql).toContain('ADD COLUMN IF NOT EXISTS `new_one` STRING');
    });
  });

  it("--dry-run of append_new_columns writes the columns the build writes: a column the query no longer selects is left out, as the build leaves it out (was: the table's columns, `legacy` = S.`legacy`, which Google's analyzer refuses: the dry run failed while the build ran)", async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const rel = { database: 'vigil-test', schema: 'analytics', identifier: 'dropped' };
    fake.addTable('vigil-test', 'analytics', 'dropped', { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }, { name: 'legacy', type: 'STRING' }], timePartitioning: { type: 'DAY', field: 'day' } });
    fake.onQuery(/from `vigil-test`\.`analytics`\.`src_dropped`/, { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }], numDmlAffectedRows: 1 });
    const bq = await adapter();
    const req = { kind: 'incremental' as const, relation: rel, sql: 'select 1', incrementalSql: 'select day, k from `vigil-test`.`analytics`.`src_dropped`', uniqueKey: ['day', 'k'], fullRefresh: false, config: { partition_by: { field: 'day', data_type: 'date' } }, onSchemaChange: 'append_new_columns' as const };
    const est = await bq.estimate(req);
    const dryMerge = since().map((r) => r.body?.configuration?.query?.query as string).filter((q) => /^MERGE /.test(q ?? ''));
    expect(dryMerge).toHaveLength(1);
    mark = fake.requests.length;
    await bq.materialize(req);
    const script = jobs().at(-1)!.body.configuration.query.query as string;
    expect(script).not.toContain('legacy');
    // the build's MERGE, with the temp table read as its query and the partition bound the run computes kept open, is the dry run's
    const buildMerge = /\nELSE\n(MERGE [\s\S]*);\nEND IF;\nSELECT vigil_null_keys AS vigil_null_keys, [^\n]*;\nEND$/.exec(script)![1].replace(/\bvigil_new_rows\b/, `(\n${req.incrementalSql}\n)`).replace('T.`day` >= vigil_min', '(T.`day` IS NULL OR T.`day` IS NOT NULL)');
    expect(dryMerge[0]).toBe(buildMerge);
    // and Google's analyzer takes it (it refused the table's columns: "Name legacy not found inside S")
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const a = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, 'vigil-test').addTable(['vigil-test', 'analytics', 'dropped'], [{ name: 'day', type: T.DATE }, { name: 'k', type: T.STRING }, { name: 'legacy', type: T.STRING }]).addTable(['vigil-test', 'analytics', 'src_dropped'], [{ name: 'day', type: T.DATE }, { name: 'k', type: T.STRING }]), lo);
    try {
      expect(await a.script(dryMerge[0]), dryMerge[0]).toMatchObject({ ok: true });
    } finally {
      await a.release();
    }
    expect(est.statements?.map((x) => x.what)).toEqual(['the query filling its temp table', 'its key check', 'its DECLARE', 'its search for keys the table holds twice', 'its MERGE']);
  });

  it("an insert_overwrite's rows are those it inserted, its MERGE's deleted ones said apart (BigQuery's dmlStats): 3 stored rows replaced by 2 were reported as 'merged 5 rows', rows_affected 5 (numDmlAffectedRows counts both); a merge says how many it replaced", async () => {
    const bq = await adapter();
    fake.addTable('vigil-test', 'analytics', 'ow_counted', { fields: [{ name: 'day', type: 'DATE' }, { name: 'n', type: 'INTEGER' }], timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT });
    fake.onQuery(/from src_ow_counted/, { dmlStats: { inserted: 2, deleted: 3 } });
    const ow = { kind: 'incremental' as const, relation: { database: 'vigil-test', schema: 'analytics', identifier: 'ow_counted' }, sql: 'select 1', incrementalSql: 'select day, n from src_ow_counted', strategy: 'insert_overwrite' as const, fullRefresh: false, config: { partition_by: 'day' } };
    expect(await bq.materialize(ow)).toEqual({ message: "overwrote the new rows' partitions with 2 rows (3 deleted) in", rows: 2 });
    // the script's parent has no count of its own: the MERGE child's dmlStats (5 affected: 2 inserted, 3 deleted)
    const parent = fake.job('vigil-test', jobs().at(-1)!.body.jobReference.jobId);
    expect(parent.statistics.query.numDmlAffectedRows).toBeUndefined();
    // without dmlStats only the total is known: said as such, no row count claimed
    fake.onQuery(/from src_ow_counted/, { numDmlAffectedRows: 5 });
    expect(await bq.materialize(ow)).toEqual({ message: 'deleted and inserted 5 rows (together) in', rows: undefined });
    // a merge: 4 new rows, 3 of them replacing stored ones
    fake.addTable('vigil-test', 'analytics', 'mg_counted', { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }], labels: BUILT });
    fake.onQuery(/from src_mg_counted/, { dmlStats: { inserted: 1, updated: 3 } });
    expect(await bq.materialize({ kind: 'incremental', relation: { database: 'vigil-test', schema: 'analytics', identifier: 'mg_counted' }, sql: 'select 1', incrementalSql: 'select day, k from src_mg_counted', uniqueKey: ['k'], fullRefresh: false })).toEqual({ message: 'merged 4 rows (replacing 3) into', rows: 4 });
  });

  it("a script's row count is its child jobs' (jobs.list?parentJobId=): a partitioned merge says what it merged; without the permission to list, it says it does not know", async () => {
    fake.addTable('vigil-test', 'analytics', 'counted', { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }], timePartitioning: { type: 'DAY', field: 'day' }, labels: BUILT });
    fake.onQuery(/from src_counted/, { numDmlAffectedRows: 7 });
    const bq = await adapter();
    const req = { kind: 'incremental' as const, relation: { database: 'vigil-test', schema: 'analytics', identifier: 'counted' }, sql: 'select 1', incrementalSql: 'select day, k from src_counted', uniqueKey: ['day', 'k'], fullRefresh: false, config: { partition_by: { field: 'day', data_type: 'date' } } };
    const r = await bq.materialize(req);
    expect(r).toEqual({ message: 'merged 7 rows into', rows: 7 });
    const script = jobs().at(-1)!;
    const parent = fake.job('vigil-test', script.body.jobReference.jobId);
    expect(parent.statistics.query.statementType).toBe('SCRIPT');
    expect(parent.statistics.query.numDmlAffectedRows).toBeUndefined();
    expect(since().some((q) => q.method === 'GET' && /\/jobs$/.test(q.path) && q.query?.parentJobId === script.body.jobReference.jobId)).toBe(true);
    fake.refuseJobList = true;
    try {
      expect(await bq.materialize(req)).toEqual({ message: 'merged an unknown number of rows into', rows: undefined });
    } finally {
      fake.refuseJobList = false;
    }
  });

  it('--dry-run estimates an incremental merge as the script it runs: the query filling the temp table, the DECLARE\'s query, then the MERGE over every partition, the temp table read as its query (was: its SELECT alone, half or less of what it processes); a view is built for nothing', async () => {
    fake.addTable('vigil-test', 'analytics', 'est', { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }], timePartitioning: { type: 'DAY', field: 'day' } });
    // (BigQuery dry-runs no CREATE TEMP TABLE: its query is dry-run alone)
    fake.onQuery(/^select day, k from src_est$/, { totalBytesProcessed: 30, referencedTables: ['vigil-test.analytics.src_est'] });
    fake.onQuery(/^SELECT \(SELECT MIN\(`day`\) FROM \(\nselect day, k from src_est\n\)\)$/, { totalBytesProcessed: 100, referencedTables: ['vigil-test.analytics.src_est'] });
    // (its key check reads the new rows' keys: counted as the query filling the temp table)
    fake.onQuery(/^SELECT \(SELECT IF\(COUNTIF\([\s\S]* FROM \(\nselect day, k from src_est\n\) GROUP BY `day`, `k`\)\)$/, { totalBytesProcessed: 20, referencedTables: ['vigil-test.analytics.src_est'] });
    // (its search for keys the table holds twice reads the table's keys and the new rows')
    fake.onQuery(/^SELECT \(SELECT AS STRUCT COUNT\(\*\) AS n, [\s\S]* FROM `vigil-test`\.`analytics`\.`est` AS T JOIN \(\nselect day, k from src_est\n\) AS S ON /, { totalBytesProcessed: 50, referencedTables: ['vigil-test.analytics.est', 'vigil-test.analytics.src_est'] });
    // (a dry run cannot prune by the value the DECLARE computes: the merge is counted over every partition, an upper bound)
    fake.onQuery(/^MERGE `vigil-test`\.`analytics`\.`est` AS T[\s\S]*ON T\.`day` = S\.`day` AND T\.`k` = S\.`k` AND \(T\.`day` IS NULL OR T\.`day` IS NOT NULL\)\nWHEN MATCHED/, { totalBytesProcessed: 250, referencedTables: ['vigil-test.analytics.est', 'vigil-test.analytics.src_est'] });
    const bq = await adapter({ maximum_bytes_billed: 300 });
    const req = { kind: 'incremental' as const, relation: { database: 'vigil-test', schema: 'analytics', identifier: 'est' }, sql: 'select day, k from src_est_full', incrementalSql: 'select day, k from src_est', uniqueKey: ['day', 'k'], fullRefresh: false, config: { partition_by: { field: 'day', data_type: 'date' } } };
    // each statement billed on its own: at least 10 MiB per table it references
    const MiB = 2 ** 20;
    expect(await bq.estimate(req)).toEqual({ bytesProcessed: 450, bytesBilled: 70 * MiB, upperBound: true, statements: [{ what: 'the query filling its temp table', bytes: 30, billed: 10 * MiB }, { what: 'its key check', bytes: 20, billed: 10 * MiB }, { what: 'its DECLARE', bytes: 100, billed: 10 * MiB }, { what: 'its search for keys the table holds twice', bytes: 50, billed: 20 * MiB }, { what: 'its MERGE', bytes: 250, billed: 20 * MiB }] });
    const sent = since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path));
    expect(sent.every((r) => r.body.configuration.dryRun === true)).toBe(true);
    expect(sent.map((r) => (r.body.configuration.query.query as string).split('\n')[0])).toEqual(['select day, k from src_est', expect.stringMatching(/^SELECT \(SELECT IF\(COUNTIF\(/), 'SELECT (SELECT MIN(`day`) FROM (', expect.stringMatching(/^SELECT \(SELECT AS STRUCT /), 'MERGE `vigil-test`.`analytics`.`est` AS T']);
    // maximum_bytes_billed refuses early by the query's own dry run (not the upper bound: BigQuery holds every job of the script to the limit itself)
    fake.onQuery(/^select day, k from src_est$/, { totalBytesProcessed: 400 });
    await expect(bq.materialize(req)).rejects.toThrow(/would bill 10\.00 MiB \(400 B processed; BigQuery bills at least 10 MiB for each table a query reads\), over maximum_bytes_billed \(300 B\)/);
    expect(since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path)).every((r) => r.body.configuration.dryRun === true)).toBe(true);
    // --full-refresh: the table's query; a view: nothing to build, what its query reads said apart
    fake.onQuery(/^select day, k from src_est_full$/, { totalBytesProcessed: 40 });
    expect(await bq.estimate({ ...req, fullRefresh: true })).toEqual({ bytesProcessed: 40, bytesBilled: 10 * MiB });
    // (CREATE VIEW processes nothing: billed nothing)
    expect(await bq.estimate({ ...req, kind: 'view' })).toEqual({ bytesProcessed: 0, bytesBilled: 0, viewReads: 40 });
  });

  it("--dry-run of a merge into a table partitioned by text (timestamp_trunc(created_at, hour)): the keep-every-partition filter holds for its TIMESTAMP column (was: `created_at >= DATE '0001-01-01'`, which BigQuery refuses)", async () => {
    fake.addTable('vigil-test', 'analytics', 'est_ts', { fields: [{ name: 'created_at', type: 'TIMESTAMP' }, { name: 'k', type: 'STRING' }], timePartitioning: { type: 'HOUR', field: 'created_at' } });
    const bq = await adapter();
    const req = { kind: 'incremental' as const, relation: { database: 'vigil-test', schema: 'analytics', identifier: 'est_ts' }, sql: 'select 1', incrementalSql: 'select created_at, k from src_est_ts', uniqueKey: ['created_at', 'k'], fullRefresh: false, config: { partition_by: 'timestamp_trunc(created_at, hour)' } };
    expect(await bq.estimate(req)).toMatchObject({ upperBound: true });
    const merge = since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path) && /^MERGE /.test(r.body.configuration.query.query)).map((r) => r.body.configuration.query.query as string);
    expect(merge).toHaveLength(1);
    expect(merge[0]).toContain('ON T.`created_at` = S.`created_at` AND T.`k` = S.`k` AND (T.`created_at` IS NULL OR T.`created_at` IS NOT NULL)\nWHEN MATCHED');
  });

  it("maximum_bytes_billed is held against the bytes billed, as BigQuery holds it: a query reading 1 KiB of two tables bills 20 MiB, over a 15 MiB limit (was: OK by its 1 KiB processed, then BigQuery's 'Query exceeded limit for bytes billed')", async () => {
    fake.onQuery(/from tiny_a join tiny_b/, { totalBytesProcessed: 1024, referencedTables: ['vigil-test.analytics.tiny_a', 'vigil-test.analytics.tiny_b'] });
    const MiB = 2 ** 20;
    const bq = await adapter({ maximum_bytes_billed: 15 * MiB });
    await expect(bq.materialize({ kind: 'table', relation: { database: 'vigil-test', schema: 'analytics', identifier: 't' }, sql: 'select * from tiny_a join tiny_b using (k)', fullRefresh: false })).rejects.toThrow(
      /would bill 20\.00 MiB \(1\.00 KiB processed; BigQuery bills at least 10 MiB for each table a query reads\), over maximum_bytes_billed \(15\.00 MiB\); refused before running/,
    );
    expect(since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path)).every((r) => r.body.configuration.dryRun === true)).toBe(true);
    // under a 25 MiB limit it runs
    const roomy = await adapter({ maximum_bytes_billed: 25 * MiB });
    await roomy.materialize({ kind: 'table', relation: { database: 'vigil-test', schema: 'analytics', identifier: 't' }, sql: 'select * from tiny_a join tiny_b using (k)', fullRefresh: false });
    expect(since().some((r) => r.method === 'POST' && /\/jobs$/.test(r.path) && r.body.configuration.dryRun !== true)).toBe(true);
  });

  it('a model over maximum_bytes_billed is refused before it runs', async () => {
    fake.onQuery(/from huge/, { totalBytesProcessed: 3 * 2 ** 40 });
    const bq = await adapter({ maximum_bytes_billed: 2 ** 40 });
    await expect(bq.materialize({ kind: 'table', relation: { database: 'vigil-test', schema: 'analytics', identifier: 'h' }, sql: 'select * from huge', fullRefresh: false })).rejects.toThrow(
      /would bill 3\.00 TiB, over maximum_bytes_billed \(1\.00 TiB\); refused before running/,
    );
    const sent = since().filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path));
    expect(sent.every((r) => r.body.configuration.dryRun === true)).toBe(true);
  });

  it.each([
    [{ httpStatus: 400, reason: 'invalidQuery', message: 'Syntax error: Unexpected identifier "form" at [2:3]', location: 'query' }, /^invalidQuery: Syntax error: Unexpected identifier "form" at \[2:3\]\nLINE 2: form t\n\(job [\w-]+\)/],
    [{ httpStatus: 404, reason: 'notFound', message: 'Not found: Table vigil-test:analytics.upstream was not found in location US' }, /^notFound: Not found: Table .*\n\(job [\w-]+\)\n\(an upstream model may not be built yet\)/],
    [{ httpStatus: 403, reason: 'accessDenied', message: 'Access Denied: Project vigil-test: User does not have bigquery.jobs.create permission' }, /^accessDenied: .*\n[\s\S]*Data Editor and Job User/],
    [{ httpStatus: 403, reason: 'quotaExceeded', message: 'Quota exceeded: Your project exceeded quota for free query bytes scanned' }, /^quotaExceeded: Quota exceeded/],
  ])('maps %o to a clear error with the SQL line and the job id', async (error, re) => {
    fake.onQuery(/^select 1\nform t$/, { error, times: 1 });
    const bq = await adapter();
    await expect(bq.execute('select 1\nform t')).rejects.toThrow(re);
  });

  it('rate limits and backend errors are retried with backoff (the client itself does not retry a 403 rateLimitExceeded)', async () => {
    fake.onQuery(/select 'retry me'/, { error: { httpStatus: 403, reason: 'rateLimitExceeded', message: 'Exceeded rate limits' }, times: 1 });
    fake.onQuery(/select 'and me'/, { error: { httpStatus: 503, reason: 'backendError', message: 'Backend error' }, times: 2 });
    const bq = await adapter();
    await expect(bq.execute("select 'retry me'")).resolves.toBeUndefined();
    await expect(bq.execute("select 'and me'")).resolves.toBeUndefined();
  });

  it('nothing tried to leave the loopback', () => {
    expect(guard.blocked).toEqual([]);
  });
});

describe('vigil build --dry-run against the loopback BigQuery', () => {
  it('prints bytes per model in DAG order, the total and the on-demand cost; unknown upstreams are reported, not crashed on', async () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    mkdirSync(join(dir, 'seeds'), { recursive: true });
    writeFileSync(join(dir, 'seeds/plan_tiers.csv'), 'tier,seats\nfree,1\n');
    fake.onQuery(/from `raw`\.`ai_audit_logs`/, { totalBytesProcessed: 2 ** 30 });
    // (BigQuery counts a view's reads to the query reading it)
    fake.onQuery(/from `vigil-cli`\.`analytics`\.`stg_ai_audit_logs`/, { totalBytesProcessed: 2 ** 29 });
    fake.onQuery(/from `vigil-cli`\.`analytics`\.`ai_audit_daily`/, { error: { httpStatus: 404, reason: 'notFound', message: 'Not found: Table vigil-cli:analytics.ai_audit_daily was not found in location US' } });
    const env = { AI_AUDIT_BQ_PROJECT: 'vigil-cli', VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    // not spawnSync: the fake server lives in this process and must keep answering
    const r = await vigilAsync(dir, ['build', '--target', 'prod', '--dry-run'], env);
    expect(r.stdout).toMatch(/dry run: target prod \(bigquery, project vigil-cli\), 22 models; nothing is built/);
    // a view costs nothing to create: what its query reads is said, and paid by what reads it
    expect(r.stdout).toMatch(/OK analytics\.stg_ai_audit_logs: 0 B \(a view: its query reads 1\.00 GiB each time it is read\)/);
    expect(r.stdout).toMatch(/UNKNOWN analytics\.ai_audit_capability_anomalies: reads a relation that does not exist yet/);
    expect(r.stdout).toMatch(/Total: [\d.]+ GiB processed, [\d.]+ GiB billed \(each statement rounded up to the MiB, at least 10 MiB per table it reads\), about \$[\d.]+ at \$6\.25\/TiB on-demand; \d+ model\(s\) read relations not built yet/);
    // what build runs besides the models is said to be outside the total (was: nothing said)
    expect(r.stdout).toMatch(/\nNot estimated: the \d+ data tests(, \d+ snapshots?)? vigil build also runs \(BigQuery bills their queries too\); its 1 seed \(loaded by load jobs, which BigQuery bills no bytes for; their hooks' queries aside\); the total is the models'\.\n/);
    // a seed is loaded by a load job, which BigQuery does not bill (was: said billed as the tests' queries)
    expect(r.stdout).not.toMatch(/seeds? vigil build also runs \(BigQuery bills their queries too\)/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const dry = fake.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/projects/vigil-cli/jobs'));
    expect(dry.length).toBe(22);
    expect(dry.every((q) => q.body.configuration.dryRun === true)).toBe(true);
    // the data tests counted are those the build's --indirect-selection runs (was: eager's, always)
    const notEstimated = async (mode: string) => (await vigilAsync(dir, ['build', '--target', 'prod', '--dry-run', '-s', 'stg_ai_audit_logs', '--indirect-selection', mode], env)).stdout.match(/\nNot estimated: .*/)?.[0];
    expect(await notEstimated('eager')).toMatch(/Not estimated: the \d+ data tests? vigil build also runs/);
    expect(await notEstimated('empty')).toBeUndefined();
  });

  it('a SOURCE table that does not exist is an ERROR naming the source and its YAML line, exit 1 (was: UNKNOWN, "not built yet", exit 0); a missing model upstream stays UNKNOWN', async () => {
    const dir = makeProject(
      {
        'project.yaml': 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: vigil-nosrc, dataset: analytics, location: US }\n',
        'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: events\n      - name: users\n',
        'models/a.sql': "{{ config(materialized='table') }}\nselect * from {{ source('raw', 'events') }}",
        'models/b.sql': "select * from {{ ref('a') }}",
        'models/c.sql': "select * from {{ source('raw', 'users') }}",
        'models/d.sql': 'select * from other.undeclared',
      },
      false,
    );
    dirs.push(dir);
    fake.onQuery(/from `raw`\.`events`/, { error: { httpStatus: 404, reason: 'notFound', message: 'Not found: Table vigil-nosrc:raw.events was not found in location US' } });
    fake.onQuery(/from `vigil-nosrc`\.`analytics`\.`a`/, { error: { httpStatus: 404, reason: 'notFound', message: 'Not found: Table vigil-nosrc:analytics.a was not found in location US' } });
    fake.onQuery(/from `raw`\.`users`/, { error: { httpStatus: 404, reason: 'notFound', message: 'Not found: Dataset vigil-nosrc:raw was not found in location US' } });
    fake.onQuery(/from other\.undeclared/, { error: { httpStatus: 404, reason: 'notFound', message: 'Not found: Table vigil-nosrc:other.undeclared was not found in location US' } });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const r = await vigilAsync(dir, ['build', '--dry-run'], env);
    expect(r.stdout).toMatch(/ERROR analytics\.d: models\/d\.sql reads vigil-nosrc:other\.undeclared, which no model, seed, snapshot or source declares and which does not exist in BigQuery/);
    expect(r.stdout).toMatch(/ERROR analytics\.a: models\/a\.sql reads source raw\.events \(models\/sources\.yml:4\), which does not exist in BigQuery: Not found: Table vigil-nosrc:raw\.events/);
    expect(r.stdout).toMatch(/ERROR analytics\.c: models\/c\.sql reads source raw\.users \(models\/sources\.yml:5\), whose dataset does not exist in BigQuery: Not found: Dataset vigil-nosrc:raw/);
    expect(r.stdout).toMatch(/UNKNOWN analytics\.b: reads a relation that does not exist yet: model a, which this run builds first \(notFound: Not found: Table vigil-nosrc:analytics\.a/);
    expect(r.stdout).not.toMatch(/upstream model may not be built yet/);
    expect(r.code, r.stdout + r.stderr).toBe(1);
  });

  it('maximum_bytes_billed is held against each statement of a script, as BigQuery holds each: an insert_overwrite of 1, 1 and 0.5 GiB under a 1.5 GiB limit is OK, its total the estimate (was: REFUSED for the sum, exit 1); one statement over it is REFUSED, named', async () => {
    const dir = makeProject(
      {
        'project.yaml': 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: vigil-cap, dataset: analytics, location: US, maximum_bytes_billed: 1610612736 }\n',
        'models/io.sql': "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by={'field': 'day', 'data_type': 'date'}) }}\nselect day, n from cap_src.events",
      },
      false,
    );
    dirs.push(dir);
    fake.addTable('vigil-cap', 'analytics', 'io', { fields: [{ name: 'day', type: 'DATE' }, { name: 'n', type: 'INTEGER' }], timePartitioning: { type: 'DAY', field: 'day' } });
    const GiB = 2 ** 30;
    fake.onQuery(/^\s*select day, n from cap_src\.events\s*$/, { totalBytesProcessed: GiB });
    fake.onQuery(/^SELECT \(SELECT ARRAY_AGG/, { totalBytesProcessed: GiB });
    fake.onQuery(/^MERGE `vigil-cap`/, { totalBytesProcessed: GiB / 2 });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const ok = await vigilAsync(dir, ['build', '--dry-run'], env);
    expect(ok.stdout).toMatch(/1 of 1 OK analytics\.io: at most 2\.50 GiB processed, at most 2\.50 GiB billed in 3 statements, the largest the query filling its temp table: at most 1\.00 GiB billed \[/);
    expect(ok.stdout).toMatch(/Total: 2\.50 GiB processed, 2\.50 GiB billed/);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    fake.onQuery(/^MERGE `vigil-cap`/, { totalBytesProcessed: 2 * GiB });
    const over = await vigilAsync(dir, ['build', '--dry-run'], env);
    expect(over.stdout).toMatch(/1 of 1 REFUSED analytics\.io: at most 4\.00 GiB processed, at most 4\.00 GiB billed in 3 statements, the largest its MERGE: at most 2\.00 GiB billed \(over maximum_bytes_billed 1\.50 GiB, which BigQuery holds each statement to\)/);
    expect(over.code, over.stdout + over.stderr).toBe(1);
  });

  it("'at most' only where the dry run counts more than the run can: a script with a temp table (a merge pruned by the partition value it computes, an insert_overwrite's partitions); an append's INSERT is exact, a merge is not (its key check and MERGE read the new rows from its temp table) (was: 'at most' for every incremental run into an existing table)", async () => {
    const inc = (cfg: string) => `{{ config(materialized='incremental', ${cfg}) }}\nselect id, day from lbl_src.events`;
    const dir = makeProject(
      {
        'project.yaml': 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: vigil-lbl, dataset: analytics, location: US }\n',
        'models/inc_app.sql': inc("incremental_strategy='append'"),
        'models/inc_mg.sql': inc("unique_key='id', partition_by='day'"),
        'models/inc_plain.sql': inc("unique_key='id'"),
        'models/inc_mgp.sql': inc("unique_key=['id', 'day'], partition_by='day'"),
        'models/inc_io.sql': inc("incremental_strategy='insert_overwrite', partition_by='day'"),
      },
      false,
    );
    dirs.push(dir);
    const fields = [{ name: 'id', type: 'INTEGER' }, { name: 'day', type: 'DATE' }];
    for (const t of ['inc_app', 'inc_mg', 'inc_mgp', 'inc_io']) fake.addTable('vigil-lbl', 'analytics', t, { fields, timePartitioning: { type: 'DAY', field: 'day' } });
    fake.addTable('vigil-lbl', 'analytics', 'inc_plain', { fields });
    fake.onQuery(/lbl_src\.events/, { totalBytesProcessed: 2 ** 30, referencedTables: ['vigil-lbl.lbl_src.events'] });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const r = await vigilAsync(dir, ['build', '--dry-run'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // one statement, as the build sends it
    expect(r.stdout).toMatch(/OK analytics\.inc_app: 1\.00 GiB processed, 1\.00 GiB billed \[/);
    // a temp table, read as the query filling it, and pruning only the run knows
    // (a merge: its search for keys the table holds twice too)
    for (const [m, n] of [['inc_mg', 4], ['inc_plain', 4], ['inc_io', 3], ['inc_mgp', 5]] as const) expect(r.stdout, m).toMatch(new RegExp(`OK analytics\\.${m}: at most ${n}\\.00 GiB processed, at most ${n}\\.00 GiB billed in ${n} statements, the largest [^:]+: at most 1\\.00 GiB billed \\[`));
  });

  it('the cost is priced on the bytes on-demand pricing bills: each statement rounded up to the MiB, at least 10 MiB per table it reads; a view and a statement reading no table bill nothing (was: the bytes processed, 1.5 MiB read from two tables priced as 1.5 MiB, not 20)', async () => {
    const dir = makeProject(
      {
        // $2^20 a TiB: a MiB billed costs $1
        'project.yaml': 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: vigil-bill, dataset: analytics, location: US, price_per_tib_usd: 1048576 }\n',
        'models/t_small.sql': "{{ config(materialized='table') }}\nselect a.id from bill_src.a join bill_src.b using (id)",
        'models/t_mid.sql': "{{ config(materialized='table') }}\nselect * from bill_src.mid",
        'models/t_const.sql': "{{ config(materialized='table') }}\nselect 1 as one",
        'models/v.sql': "{{ config(materialized='view') }}\nselect * from bill_src.mid",
      },
      false,
    );
    dirs.push(dir);
    const MiB = 2 ** 20;
    fake.onQuery(/bill_src\.a join bill_src\.b/, { totalBytesProcessed: 1.5 * MiB, referencedTables: ['vigil-bill.bill_src.a', 'vigil-bill.bill_src.b'] });
    fake.onQuery(/bill_src\.mid/, { totalBytesProcessed: 25 * MiB + 1, referencedTables: ['vigil-bill.bill_src.mid'] });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const r = await vigilAsync(dir, ['build', '--dry-run'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/OK analytics\.t_small: 1\.50 MiB processed, 20\.00 MiB billed \[/);
    expect(r.stdout).toMatch(/OK analytics\.t_mid: 25\.00 MiB processed, 26\.00 MiB billed \[/);
    expect(r.stdout).toMatch(/OK analytics\.t_const: 0 B processed, 0 B billed \[/);
    expect(r.stdout).toMatch(/OK analytics\.v: 0 B \(a view: its query reads 25\.00 MiB each time it is read\) \[/);
    expect(r.stdout).toMatch(/\nTotal: 26\.50 MiB processed, 46\.00 MiB billed \(each statement rounded up to the MiB, at least 10 MiB per table it reads\), about \$46\.00 at \$1048576\/TiB on-demand\n/);
  });

  it("vigil run: an incremental script evaluates the model's SQL once, into its temp table, and takes both the partitions (or the lowest partition value) and the MERGE's rows from it (was: the SQL twice, in two statements: each its own CURRENT_TIMESTAMP() and data, a partition replaced by nothing or a row written twice)", async () => {
    const src = "sources:\n  - name: raw\n    schema: once_raw\n    tables:\n      - name: events\n        columns:\n          - { name: id, data_type: int64 }\n          - { name: created_at, data_type: timestamp }\n          - { name: day, data_type: date }\n";
    const dir = makeProject(
      {
        'project.yaml': 'name: once\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: vigil-once, dataset: analytics, location: US }\n',
        'models/sources.yml': src,
        'models/io.sql': "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by='date(created_at)') }}\nselect id, created_at from {{ source('raw', 'events') }}\n{% if is_incremental() %}where created_at >= timestamp_sub(current_timestamp(), interval 2 day){% endif %}\n",
        'models/mg.sql': "{{ config(materialized='incremental', unique_key=['id', 'day'], partition_by='day', require_partition_filter=true) }}\nselect id, day from {{ source('raw', 'events') }}\n{% if is_incremental() %}where day >= current_date(){% endif %}\n",
      },
      false,
    );
    dirs.push(dir);
    fake.addTable('vigil-once', 'analytics', 'io', { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'created_at', type: 'TIMESTAMP' }], timePartitioning: { type: 'DAY', field: 'created_at' } });
    fake.addTable('vigil-once', 'analytics', 'mg', { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'day', type: 'DATE' }], timePartitioning: { type: 'DAY', field: 'day' } });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const r = await vigilAsync(dir, ['run'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const sent = fake.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/projects/vigil-once/jobs') && !q.body.configuration.dryRun).map((q) => q.body.configuration.query.query as string);
    const job = (table: string) => sent.find((q) => q.includes(`\`vigil-once\`.\`analytics\`.\`${table}\` AS T`))!;
    const io = job('io');
    const mg = job('mg');
    // one evaluation of the model's SQL per job: its FROM (and its clock) once, in the temp table
    expect(io.split('from `once_raw`.`events`')).toHaveLength(2);
    expect(io.split(/current_timestamp\(\)/)).toHaveLength(2);
    expect(io).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS \(\n\nselect id, created_at from `once_raw`\.`events`\nwhere created_at >= timestamp_sub\(current_timestamp\(\), interval 2 day\)\n\);\nBEGIN\nDECLARE vigil_partitions DEFAULT \(SELECT ARRAY_AGG\(DISTINCT date\(created_at\) IGNORE NULLS\) FROM vigil_new_rows\);\nIF [^\n]* THEN\nMERGE `vigil-once`\.`analytics`\.`io` AS T\nUSING vigil_new_rows AS S\n/);
    expect(io).toMatch(/\nSELECT `id`, `created_at` FROM vigil_new_rows;\nEND IF;\nEND$/);
    expect(mg.split('from `once_raw`.`events`')).toHaveLength(2);
    expect(mg.split(/current_date\(\)/)).toHaveLength(2);
    expect(mg).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS \(\n[^;]*\n\);\nBEGIN\nDECLARE vigil_null_keys DEFAULT \(SELECT IF\([^\n]* FROM vigil_new_rows GROUP BY `id`, `day`\)\);\nDECLARE vigil_min DEFAULT \(SELECT MIN\(`day`\) FROM vigil_new_rows\);\nDECLARE vigil_stored_dups DEFAULT [^\n]*;\nIF vigil_stored_dups\.n > 0 THEN\n[\s\S]*\nELSE\nMERGE `vigil-once`\.`analytics`\.`mg` AS T\nUSING vigil_new_rows AS S\nON T\.`id` = S\.`id` AND T\.`day` = S\.`day` AND T\.`day` >= vigil_min\n[\s\S]*;\nEND IF;\nSELECT vigil_null_keys AS vigil_null_keys, [^\n]*;\nEND$/);
  });

  it("vigil run: a merge whose new rows have a NULL in unique_key says how many under its OK line, as on DuckDB and Postgres (the script's result, its last SELECT); a key the new rows hold twice fails the model with the count, nothing written (was: BigQuery inserted NULL-key rows again on every run without a word, and a new key held twice twice)", async () => {
    const dir = makeProject(
      {
        'project.yaml': 'name: nk\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: vigil-nk, dataset: analytics, location: US }\n',
        'models/nk.sql': "{{ config(materialized='incremental', unique_key=['id', 'region']) }}\nselect id, region, n from nk_src.events\n",
      },
      false,
    );
    dirs.push(dir);
    fake.addTable('vigil-nk', 'analytics', 'nk', { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'region', type: 'STRING' }, { name: 'n', type: 'INTEGER' }], numRows: 5 });
    // the script's result: the count its key check made; its MERGE's children counts
    fake.onQuery(/from nk_src\.events/, { rows: [{ vigil_null_keys: 2 }], fields: [{ name: 'vigil_null_keys', type: 'INTEGER' }], dmlStats: { inserted: 3, updated: 1 }, times: 1 });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const r = await vigilAsync(dir, ['run'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const script = jobs().at(-1)!.body.configuration.query.query as string;
    // the key check (a NULL in either part; a key held twice fails the script), before the MERGE; its count the script's last SELECT
    expect(script).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS \(\n\nselect id, region, n from nk_src\.events\n\);\nBEGIN\nDECLARE vigil_null_keys DEFAULT \(SELECT IF\(COUNTIF\(vigil_n > 1 AND NOT vigil_has_null\) > 0, ERROR\(FORMAT\('incremental_strategy \\'merge\\' into `vigil-nk`\.`analytics`\.`nk`: unique_key \(id, region\) values held by more than one new row: %d \(e\.g\. %s\)[^\n]*LOGICAL_OR\(`id` IS NULL OR `region` IS NULL\) AS vigil_has_null[^\n]*FROM vigil_new_rows GROUP BY `id`, `region`\)\);\nDECLARE vigil_stored_dups [^\n]*;\nIF vigil_stored_dups\.n > 0 THEN\nMERGE [^;]*;\nELSE\nMERGE [^;]*;\nEND IF;\nSELECT vigil_null_keys AS vigil_null_keys, vigil_stored_dups\.n AS vigil_stored_dups, vigil_stored_dups\.key AS vigil_stored_dup_key;\nEND$/);
    expect(r.stdout).toMatch(/merged 4 rows \(replacing 1\) into vigil-nk\.analytics\.nk \[[\d.]+s\]\n  warning: 2 new rows have a NULL in unique_key \(id, region\): such a key matches no row, so they are added again on every run \(a not_null test on the key finds them\)\n/);
    // no NULL key: no warning
    fake.onQuery(/\nSELECT vigil_null_keys AS vigil_null_keys, [^\n]*;\nEND$/, { rows: [{ vigil_null_keys: 0 }], fields: [{ name: 'vigil_null_keys', type: 'INTEGER' }], dmlStats: { inserted: 3 }, times: 1 });
    const clean = await vigilAsync(dir, ['run'], env);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/merged 3 rows into vigil-nk\.analytics\.nk/);
    expect(clean.stdout).not.toMatch(/warning/);
    // the key check's ERROR (BigQuery's answer to it): the model fails with it, exit 1
    fake.onQuery(/\nSELECT vigil_null_keys AS vigil_null_keys, [^\n]*;\nEND$/, { error: { httpStatus: 400, reason: 'invalidQuery', message: "incremental_strategy 'merge' into `vigil-nk`.`analytics`.`nk`: unique_key (id, region) values held by more than one new row: 2 (e.g. (1, eu)); a merge writes one row per key" }, as: 'job', failedStatement: 1, times: 1 });
    const dup = await vigilAsync(dir, ['run'], env);
    expect(dup.code).toBe(1);
    expect(dup.stdout).toMatch(/ERROR[^\n]*nk[\s\S]*unique_key \(id, region\) values held by more than one new row: 2 \(e\.g\. \(1, eu\)\)/);
  });

  it("vigil run: a merge's first build (and --full-refresh) says how many unique_key values the built table holds twice, naming one (its script's last SELECT); a later merge over such a key says it replaced its stored rows by its one new row, counted as DuckDB and Postgres count it (was: no word at either, and the MERGE updated both stored rows, keeping two)", async () => {
    const dir = makeProject(
      {
        'project.yaml': 'name: sd\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: vigil-sd, dataset: analytics, location: US }\n',
        'models/sd.sql': "{{ config(materialized='incremental', unique_key=['id', 'region']) }}\nselect id, region, n from sd_src.events\n",
        'models/sd_app.sql': "{{ config(materialized='incremental') }}\nselect id, region, n from sd_src.events\n",
      },
      false,
    );
    dirs.push(dir);
    const fields = [{ name: 'id', type: 'INTEGER' }, { name: 'region', type: 'STRING' }, { name: 'n', type: 'INTEGER' }];
    fake.addTable('vigil-sd', 'analytics', 'sd', { fields, numRows: 5 });
    fake.addTable('vigil-sd', 'analytics', 'sd_app', { fields, numRows: 5 });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    // the build's script ends with the count of keys held twice (BigQuery's answer: its last SELECT)
    fake.onQuery(/^CREATE OR REPLACE TABLE `vigil-sd`\.`analytics`\.`sd`[\s\S]*\nSELECT COUNT\(\*\) AS n, MIN\(vigil_key\) AS key FROM \(SELECT MIN\(CONCAT\('\(', FORMAT\('%t', T\.`id`\), ', ', FORMAT\('%t', T\.`region`\), '\)'\)\) AS vigil_key FROM `vigil-sd`\.`analytics`\.`sd` AS T WHERE T\.`id` IS NOT NULL AND T\.`region` IS NOT NULL GROUP BY TO_JSON_STRING\(T\.`id`\), TO_JSON_STRING\(T\.`region`\) HAVING COUNT\(\*\) > 1\)$/, { rows: [{ n: 2, key: '(1, eu)' }], fields: [{ name: 'n', type: 'INTEGER' }, { name: 'key', type: 'STRING' }], times: 1 });
    const full = await vigilAsync(dir, ['run', '--full-refresh'], env);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(full.stdout).toMatch(/OK created incremental table vigil-sd\.analytics\.sd \[[\d.]+s\]\n  warning: `vigil-sd`\.`analytics`\.`sd` was built with 2 unique_key \(id, region\) values held by more than one row \(e\.g\. \(1, eu\)\): a first build stores the query's rows as they are, and a later merge holding such a key replaces all of its rows by one new row; deduplicate the model's query \(a unique test on the key finds them\)\n/);
    // an append has no key: its build has no check
    const app = jobs().map((j) => j.body.configuration.query.query as string).find((q) => q.startsWith('CREATE OR REPLACE TABLE `vigil-sd`.`analytics`.`sd_app`'))!;
    expect(app).not.toMatch(/vigil_key/);
    // the merge: the script found one key the table held twice, and its MERGE deleted both rows and inserted one
    fake.onQuery(/\nSELECT vigil_null_keys AS vigil_null_keys, [^\n]*;\nEND$/, { rows: [{ vigil_null_keys: 0, vigil_stored_dups: 1, vigil_stored_dup_key: '(1, eu)' }], fields: [{ name: 'vigil_null_keys', type: 'INTEGER' }, { name: 'vigil_stored_dups', type: 'INTEGER' }, { name: 'vigil_stored_dup_key', type: 'STRING' }], dmlStats: { inserted: 2, updated: 1, deleted: 2 }, times: 1 });
    const r = await vigilAsync(dir, ['run', '-s', 'sd'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/merged 3 rows \(replacing 3\) into vigil-sd\.analytics\.sd \[[\d.]+s\]\n  warning: `vigil-sd`\.`analytics`\.`sd` held 1 unique_key \(id, region\) value of the new rows in more than one row \(e\.g\. \(1, eu\)\): the merge replaced its rows by its one new row/);
  });

  it("grants are applied after the build and its post-hooks but before the after_commit (transaction: false) post-hooks, as dbt and the Postgres build order them: a failing after_commit post-hook leaves the new table's grants made, and so does any failing post-hook (no transaction: the table was replaced) (was: applied after every hook, so never — the removed reader kept reading, the new one could not)", async () => {
    const dir = makeProject(
      {
        'project.yaml': 'name: gh\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: vigil-gh, dataset: analytics, location: US }\n',
        'models/g.sql': "{{ config(materialized='table', grants={'select': ['group:new@example.com']}, post_hook=[\"select 'in'\", after_commit(\"select 'after commit'\")]) }}\nselect 1 as id\n",
        // BigQuery has no transaction: a failing post-hook of any kind comes after the table was replaced
        'models/g2.sql': "{{ config(materialized='table', grants={'select': ['group:new@example.com']}, post_hook=\"select 'g2 in'\") }}\nselect 1 as id\n",
      },
      false,
    );
    dirs.push(dir);
    fake.onQuery(/`vigil-gh`\.`region-us`\.INFORMATION_SCHEMA\.OBJECT_PRIVILEGES/, { rows: [{ grantee: 'group:old@example.com' }], fields: [{ name: 'grantee', type: 'STRING' }] });
    fake.onQuery(/select 'after commit'/, { error: { httpStatus: 400, reason: 'invalidQuery', message: 'the after_commit hook failed' } });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    fake.onQuery(/select 'g2 in'/, { error: { httpStatus: 400, reason: 'invalidQuery', message: 'the post-hook failed' } });
    const r = await vigilAsync(dir, ['run', '--threads', '1'], env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('the after_commit hook failed');
    expect(r.stdout).toContain('the post-hook failed');
    const sent = fake.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/projects/vigil-gh/jobs') && !q.body.configuration.dryRun).map((q) => q.body.configuration.query.query as string);
    // each model's statements in the order sent: its build, its hooks, its grants
    const hooksOf: Record<string, string[]> = { g: ['in', 'after commit'], g2: ['g2 in'] };
    const steps = (table: string) =>
      sent.flatMap((q) => {
        const hook = /^select '(.*)'$/.exec(q)?.[1];
        if (hook !== undefined) return hooksOf[table].includes(hook) ? [hook] : [];
        if (!q.includes(`\`analytics\`.\`${table}\``)) return [];
        return /^CREATE OR REPLACE TABLE/.test(q) ? ['build'] : (/^(GRANT|REVOKE)/.exec(q)?.slice(1) ?? []);
      });
    expect(steps('g')).toEqual(['build', 'in', 'REVOKE', 'GRANT', 'after commit']);
    expect(steps('g2')).toEqual(['build', 'g2 in', 'REVOKE', 'GRANT']);
    expect(sent.filter((q) => /^(GRANT|REVOKE)/.test(q) && q.includes('`g`'))).toEqual([
      'REVOKE `roles/bigquery.dataViewer` ON TABLE `vigil-gh`.`analytics`.`g` FROM "group:old@example.com"',
      'GRANT `roles/bigquery.dataViewer` ON TABLE `vigil-gh`.`analytics`.`g` TO "group:new@example.com"',
    ]);
  });

  it('--defer: a model not built here and missing from the CI dataset is read from the state\'s dataset; one that exists is not', async () => {
    const dir = makeProject(
      {
        'project.yaml': 'name: fixture\ndefault_target: ci\ntargets:\n  ci: { type: bigquery, project: vigil-defer, dataset: ci_1, location: US }\n  prod: { type: bigquery, project: vigil-defer, dataset: analytics, location: US }\n',
        'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as id",
        'models/b.sql': "select id from {{ ref('a') }}",
      },
      false,
    );
    dirs.push(dir);
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const compiled = await vigilAsync(dir, ['compile', '--target', 'prod'], env);
    expect(compiled.code, compiled.stderr).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prod-state'), { recursive: true });
    const sent = () => fake.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/projects/vigil-defer/jobs')).map((q) => q.body.configuration.query.query as string);
    const r = await vigilAsync(dir, ['run', '-s', 'b', '--dry-run', '--defer', '--state', 'prod-state'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("Deferred to the state's target 'prod' (1 relation");
    expect(sent().at(-1)).toContain('from `vigil-defer`.`analytics`.`a`');
    // the CI dataset has its own a now: it is read, unless --favor-state
    fake.addTable('vigil-defer', 'ci_1', 'a', { fields: [{ name: 'id', type: 'INTEGER' }] });
    const own = await vigilAsync(dir, ['run', '-s', 'b', '--dry-run', '--defer', '--state', 'prod-state'], env);
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect(own.stdout).toContain('Deferred nothing');
    expect(sent().at(-1)).toContain('from `vigil-defer`.`ci_1`.`a`');
    const favor = await vigilAsync(dir, ['run', '-s', 'b', '--dry-run', '--defer', '--favor-state', '--state', 'prod-state'], env);
    expect(favor.code).toBe(0);
    expect(sent().at(-1)).toContain('from `vigil-defer`.`analytics`.`a`');
  });
});

describe('values read back through vigil show and query()', () => {
  const bqProject = () => {
    const dir = makeProject({ 'project.yaml': 'name: fixture\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: vigil-values, dataset: analytics, location: US }\n' });
    dirs.push(dir);
    return dir;
  };
  const env = () => ({ VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' });

  it('TIMESTAMPs before 1970 with a fraction of a second, alone, in arrays and in structs, to the µs (were: one second late, "1970-01-01T00:00:00.999999Z" for 1969-12-31T23:59:59.999999Z, year 0000 for 0001-01-01T00:00:00.000001Z)', async () => {
    const fields = [
      { name: 'a', type: 'TIMESTAMP' }, { name: 'b', type: 'TIMESTAMP' }, { name: 'c', type: 'TIMESTAMP' }, { name: 'd', type: 'TIMESTAMP' }, { name: 'e', type: 'TIMESTAMP' },
      { name: 'arr', type: 'TIMESTAMP', mode: 'REPEATED' },
      { name: 's', type: 'RECORD', fields: [{ name: 't', type: 'TIMESTAMP' }, { name: 'ts', type: 'TIMESTAMP', mode: 'REPEATED' }] },
      { name: 'rs', type: 'RECORD', mode: 'REPEATED', fields: [{ name: 't', type: 'TIMESTAMP' }] },
    ];
    const row = {
      a: '1969-12-31T23:59:59.999999Z', b: '1900-06-15T12:00:00.5Z', c: '0001-01-01T00:00:00.000001Z', d: '2026-01-02T03:04:05.123456Z', e: '1969-12-31T23:59:59Z',
      arr: ['1969-12-31T23:59:59.999999Z', null, '1970-01-01T00:00:00.000001Z'],
      s: { t: '1969-12-31T23:59:59.000001Z', ts: ['1969-07-20T20:17:40.123456Z'] },
      rs: [{ t: '1960-01-01T00:00:00.25Z' }, { t: null }],
    };
    fake.onQuery(/select pre_epoch/, { fields, rows: [row] });
    // (to the µs when there are µs, else to the ms, as the client spells a TIMESTAMP)
    const want = {
      a: '1969-12-31T23:59:59.999999Z', b: '1900-06-15T12:00:00.500Z', c: '0001-01-01T00:00:00.000001Z', d: '2026-01-02T03:04:05.123456Z', e: '1969-12-31T23:59:59.000Z',
      arr: ['1969-12-31T23:59:59.999999Z', null, '1970-01-01T00:00:00.000001Z'],
      s: { t: '1969-12-31T23:59:59.000001Z', ts: ['1969-07-20T20:17:40.123456Z'] },
      rs: [{ t: '1960-01-01T00:00:00.250Z' }, { t: null }],
    };
    const r = await vigilAsync(bqProject(), ['show', '--inline', 'select pre_epoch', '--output', 'json'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([want]);
    // what alerts, dashboards and sync-state reads get: the same instants in the client's TIMESTAMP .value
    const [q] = await (await adapter()).query('select pre_epoch');
    const value = (v: unknown): unknown => (Array.isArray(v) ? v.map(value) : v && typeof v === 'object' ? ('value' in v ? new Date((v as { value: string }).value.replace(/(\.\d{3})\d*Z$/, '$1Z')).toISOString() : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)]))) : v);
    const ms = (v: unknown): unknown => (typeof v === 'string' ? v.replace(/(\.\d{3})\d*Z$/, '$1Z') : Array.isArray(v) ? v.map(ms) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ms(x)])) : v);
    expect(value(q)).toEqual(ms(want));
    expect((q.a as { value: string }).value).toBe('1969-12-31T23:59:59.999999000Z');
    expect((q.c as { value: string }).value).toBe('0001-01-01T00:00:00.000001000Z');
  });

  it('vigil show --output table and csv: NUMERIC, BIGNUMERIC and INT64 past 2^53 in arrays and structs as their digits, BYTES as base64 once (were: {"text":"1.5"}, """AP8=""" in csv)', async () => {
    const fields = [
      { name: 'amounts', type: 'NUMERIC', mode: 'REPEATED' },
      { name: 's', type: 'RECORD', fields: [{ name: 'total', type: 'BIGNUMERIC' }, { name: 'id', type: 'INTEGER' }, { name: 'n', type: 'INTEGER' }] },
      { name: 'b', type: 'BYTES' },
      { name: 'bs', type: 'BYTES', mode: 'REPEATED' },
      { name: 'w', type: 'RECORD', fields: [{ name: 'value', type: 'STRING' }] },
    ];
    fake.onQuery(/select nested/, { fields, rows: [{ amounts: ['1.5', '-2.25'], s: { total: '12345678901234567890.123456789', id: '9007199254740993', n: '2' }, b: Buffer.from([0, 255]), bs: [Buffer.from([1])], w: { value: 'x' } }] });
    const show = (o: string) => vigilAsync(bqProject(), ['show', '--inline', 'select nested', '--output', o], env());
    const [json, table, csv] = await Promise.all([show('json'), show('table'), show('csv')]);
    for (const r of [json, table, csv]) expect(r.code, r.stdout + r.stderr).toBe(0);
    // (a struct of one field named value stays a struct: was read as a DATE's or TIMESTAMP's wrapper)
    expect(json.stdout.replace(/\s+/g, '')).toBe('[{"amounts":[1.5,-2.25],"s":{"total":12345678901234567890.123456789,"id":9007199254740993,"n":2},"b":"AP8=","bs":["AQ=="],"w":{"value":"x"}}]');
    expect(csv.stdout.trim().split('\n')).toEqual(['amounts,s,b,bs,w', '"[1.5,-2.25]","{""total"":12345678901234567890.123456789,""id"":9007199254740993,""n"":2}",AP8=,"[""AQ==""]","{""value"":""x""}"']);
    // (a cell is cut at 60 characters in the table)
    expect(table.stdout.trim().split('\n')[2]).toBe('| [1.5,-2.25] | {"total":12345678901234567890.123456789,"id":90071992547409… | AP8= | ["AQ=="] | {"value":"x"} |');
  });

  it('dashboards: NUMERIC as its digits, a TIMESTAMP as its text, and lists and structs of them as JSON in tables and KPIs (were: "[object Object]", "1.5,2.25")', async () => {
    const dir = bqProject();
    mkdirSync(join(dir, 'models'), { recursive: true });
    writeFileSync(join(dir, 'models/lists.sql'), 'select 1 as k');
    writeFileSync(join(dir, 'models/lists.yml'), 'models:\n  - name: lists\n    columns:\n' + ['k', 'amount', 'at', 'tags', 's'].map((c) => `      - name: ${c}\n`).join(''));
    const tile = (id: string, type: string, measures: unknown[], y: number) => ({ id, type, title: id, model: 'lists', measures, layout: { x: 0, y, w: 6, h: 4 } });
    const none = (c: string) => ({ name: c, column: c, agg: 'none' });
    mkdirSync(join(dir, 'dashboards'), { recursive: true });
    writeFileSync(join(dir, 'dashboards/d.json'), JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [tile('rows', 'table', ['amount', 'at', 'tags', 's'].map(none), 0), tile('kpi', 'kpi', [{ name: 'm', column: 'amount', agg: 'max' }], 4)] }] }));
    const fields = [
      { name: 'amount', type: 'NUMERIC' },
      { name: 'at', type: 'TIMESTAMP' },
      { name: 'tags', type: 'NUMERIC', mode: 'REPEATED' },
      { name: 's', type: 'RECORD', fields: [{ name: 'id', type: 'INTEGER' }, { name: 'at', type: 'TIMESTAMP' }] },
    ];
    fake.onQuery(/`lists`[\s\S]*limit/i, { fields, rows: [{ amount: '12.5', at: '1969-12-31T23:59:59.5Z', tags: ['1.5', '2.25'], s: { id: '9007199254740993', at: '1969-12-31T23:59:59.999999Z' } }] });
    fake.onQuery(/max\(/i, { fields: [{ name: 'm', type: 'NUMERIC' }], rows: [{ m: '12.5' }] });
    const r = await vigilAsync(dir, ['dashboards', 'render', '--out', 'site'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const html = readFileSync(join(dir, 'site', 'd.html'), 'utf8');
    const block = (id: string) => {
      const at = html.indexOf(`data-tile="${id}"`);
      const next = html.indexOf(' data-tile="', at + 10);
      return html.slice(at, next < 0 ? undefined : next);
    };
    const cells = [...block('rows').matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1].replace(/&quot;/g, '"'));
    expect(cells).toEqual(['12.5', '1969-12-31T23:59:59.500Z', '[1.5,2.25]', '{"id":9007199254740993,"at":"1969-12-31T23:59:59.999999Z"}']);
    expect(block('kpi')).toMatch(/<div class="kpi-value" style="color:#[0-9a-f]+">12\.5<\/div>/);
  });

  it('results are read page after page, after answers that the job is not complete yet, each asking TIMESTAMPs in µs', async () => {
    const stamps = ['1969-12-31T23:59:59.999999Z', '1969-12-31T23:59:59.5Z', '1970-01-01T00:00:00Z', '1950-05-05T05:05:05.050505Z', '2030-01-01T00:00:00.000001Z'];
    fake.onQuery(/select paged/, { fields: [{ name: 'i', type: 'INTEGER' }, { name: 't', type: 'TIMESTAMP' }], rows: stamps.map((t, i) => ({ i, t })), pageRows: 2, runningPolls: 1 });
    const rows = await (await adapter()).query('select paged');
    expect(rows.map((r) => [r.i, (r.t as { value: string }).value])).toEqual([
      [0, '1969-12-31T23:59:59.999999000Z'],
      [1, '1969-12-31T23:59:59.500Z'],
      [2, '1970-01-01T00:00:00.000Z'],
      [3, '1950-05-05T05:05:05.050505000Z'],
      [4, '2030-01-01T00:00:00.000001000Z'],
    ]);
    const reads = since().filter((r) => r.method === 'GET' && r.path.includes('/queries/'));
    expect(reads.map((r) => r.query.pageToken ?? '-')).toEqual(expect.arrayContaining(['fake-page-2', 'fake-page-4']));
    expect(reads.every((r) => r.query['formatOptions.useInt64Timestamp'] === 'true' && r.query.location === 'US')).toBe(true);
  });
});
