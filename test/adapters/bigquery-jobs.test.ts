/**
 * BigQuery writes happen once: the adapter's job running (run(): one job id per submission, the
 * insert retried and looked up under that id, the SAME job polled for its results, a new job only
 * after BigQuery says the previous one failed with a retryable reason) with the REAL
 * @google-cloud/bigquery client against the loopback fake, which counts how many times each
 * statement actually ran. Plus `vigil build --target prod` through the CLI.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BigQuery } from '@google-cloud/bigquery';
import { BigQueryAdapter } from '../../src/adapters/bigquery/bigquery-adapter.js';
import { WarehouseError } from '../../src/errors.js';
import { fakeBigQueryClient, useFakeBigQuery, type blockNonLoopbackConnections, type FakeBigQuery } from '../support/fake-bigquery.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeProject, removeDir, VIGIL, vigilAsync } from '../helpers.js';

const P = 'vigil-test';
const T = 20_000; // nothing here may wait on the network or on default back-off

let fake: FakeBigQuery;
let guard: ReturnType<typeof blockNonLoopbackConnections>;
const dirs: string[] = [];
const cfg = { type: 'bigquery' as const, project: P, dataset: 'analytics', location: 'US' };

const started = useFakeBigQuery();
beforeAll(() => {
  ({ fake, guard } = started);
});
afterAll(() => dirs.forEach(removeDir));

let mark = 0;
beforeEach(() => {
  mark = fake.requests.length;
});
const since = () => fake.requests.slice(mark);
const insertsOf = (re: RegExp) => since().filter((r) => r.method === 'POST' && r.path === `/bigquery/v2/projects/${P}/jobs` && re.test(r.body?.configuration?.query?.query ?? ''));

/** An adapter on the real client, with short waits, that records what it tells onRetry. */
async function adapter(opts: { client?: BigQuery; patienceMs?: number } = {}) {
  const bq = await BigQueryAdapter.open(cfg, 2, opts.client ?? (await fakeBigQueryClient(fake, { projectId: P, location: 'US' })));
  bq.retry = { ...bq.retry, initialDelayMs: 10, maxDelayMs: 40, pollPatienceMs: opts.patienceMs ?? 5_000 };
  const retries: string[] = [];
  bq.onRetry = (m) => retries.push(m);
  return { bq, retries };
}

async function rejection(p: Promise<unknown>): Promise<WarehouseError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WarehouseError);
    return e as WarehouseError;
  }
  throw new Error('expected a rejection');
}

const rel = (identifier: string) => ({ database: P, schema: 'analytics', identifier });
const incrementalTable = (name: string) =>
  fake.addTable(P, 'analytics', name, { fields: [{ name: 'day', type: 'DATE' }, { name: 'k', type: 'STRING' }, { name: 'n', type: 'INTEGER' }], timePartitioning: { type: 'DAY', field: 'day' }, labels: { tool: 'vigil' } });
const mergeRequest = (name: string) => ({
  kind: 'incremental' as const,
  relation: rel(name),
  sql: 'select 1',
  incrementalSql: 'select day, k, n from src',
  uniqueKey: ['day', 'k'],
  fullRefresh: false,
  config: { partition_by: { field: 'day', data_type: 'date' } },
});

describe('BigQuery statements run once', () => {
  it('the result fetch fails after the job finished: the same job is polled again, the MERGE ran once and materialize() succeeds with its row count', { timeout: T }, async () => {
    incrementalTable('inc_fetch');
    const merge = /MERGE `vigil-test`\.`analytics`\.`inc_fetch`/;
    // RUNNING at insert (as BigQuery answers), then 6 failed result fetches once DONE: the client's own
    // 3 retries absorb 4 of them and give up, run() polls again, the client absorbs the last 2
    fake.onQuery(merge, { runningPolls: 1, numDmlAffectedRows: 3, failPolls: { times: 6, with: 503, on: 'getQueryResults' } });
    const { bq, retries } = await adapter();
    const r = await bq.materialize(mergeRequest('inc_fetch'));
    expect(r).toEqual({ message: 'merged 3 rows into', rows: 3 });
    expect(fake.executions(merge)).toBe(1);
    const inserts = insertsOf(merge);
    expect(inserts).toHaveLength(1);
    const jobId = inserts[0].body.jobReference.jobId as string;
    expect(jobId).toMatch(/^vigil_[a-z0-9]+_[a-z0-9]+$/);
    expect(retries).toEqual([`retrying BigQuery job ${jobId}: results fetch failed (503), the job is DONE, polling again in 0.01 s`]);
    // nothing but the same job was asked about
    const polled = since().filter((q) => q.method === 'GET' && /\/(queries|jobs)\//.test(q.path));
    expect(polled.every((q) => q.path.endsWith(`/${jobId}`))).toBe(true);
    expect(polled.filter((q) => q.path.includes('/queries/')).length).toBe(1 + 6 + 1); // jobComplete:false, 6 failures, the rows
  });

  it('the result fetch and jobs.get both lose their connection: execute() and query() poll the same job until they answer', { timeout: T }, async () => {
    const append = /^INSERT INTO `vigil-test`\.`analytics`\.`events_reset`/;
    fake.onQuery(append, { numDmlAffectedRows: 2, failPolls: { times: 10, with: 'reset' } });
    const { bq, retries } = await adapter();
    await expect(bq.executeCounted('INSERT INTO `vigil-test`.`analytics`.`events_reset` (n) SELECT 1')).resolves.toBe(2);
    expect(fake.executions(append)).toBe(1);
    expect(insertsOf(append)).toHaveLength(1);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatch(/^retrying BigQuery job vigil_\w+: results fetch failed \(ECONNRESET\), polling again in 0\.01 s$/);

    fake.onQuery(/FROM rows_after_503/, { rows: [{ n: 1 }, { n: 2 }], failPolls: { times: 5, with: 503, on: 'getQueryResults' } });
    expect(await bq.query('SELECT n FROM rows_after_503')).toEqual([{ n: 1 }, { n: 2 }]);
    expect(fake.executions(/FROM rows_after_503/)).toBe(1);
  });

  it('the jobs.insert answer is lost after BigQuery took the job: one execution, no error, no second job', { timeout: T }, async () => {
    const append = /^INSERT INTO `vigil-test`\.`analytics`\.`append_lost`/;
    fake.onQuery(append, { loseInsertAnswer: 503, times: 1 });
    fake.onQuery(/^INSERT INTO `vigil-test`\.`analytics`\.`append_reset`/, { loseInsertAnswer: 'reset', times: 1 });
    const { bq, retries } = await adapter();
    await expect(bq.execute('INSERT INTO `vigil-test`.`analytics`.`append_lost` (n) SELECT 1')).resolves.toBeUndefined();
    await expect(bq.execute('INSERT INTO `vigil-test`.`analytics`.`append_reset` (n) SELECT 1')).resolves.toBeUndefined();
    expect(fake.executions(append)).toBe(1);
    expect(fake.executions(/append_reset/)).toBe(1);
    // the client retried the insert with the same job id and got 409: run() waited for that job
    const ids = insertsOf(append).map((q) => q.body.jobReference.jobId);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    expect(retries).toEqual([]);

    // without the client's own retries the insert fails for run(): it looks the job up and waits for it
    const { bq: bare, retries: bareRetries } = await adapter({ client: await fakeBigQueryClient(fake, { projectId: P, location: 'US', retryOptions: { autoRetry: false } }) });
    fake.onQuery(/append_bare/, { loseInsertAnswer: 503, times: 1 });
    await expect(bare.execute('INSERT INTO `vigil-test`.`analytics`.`append_bare` (n) SELECT 1')).resolves.toBeUndefined();
    expect(fake.executions(/append_bare/)).toBe(1);
    expect(insertsOf(/append_bare/)).toHaveLength(1);
    expect(bareRetries).toEqual([]);
  });

  it('jobs.insert keeps failing and the job does not exist: it is submitted again under the SAME job id', { timeout: T }, async () => {
    const stmt = /^INSERT INTO `vigil-test`\.`analytics`\.`append_down`/;
    fake.onQuery(stmt, { error: { httpStatus: 503, reason: 'backendError', message: 'Backend error' }, times: 4 }); // 1 + the client's 3 retries
    const { bq, retries } = await adapter();
    await expect(bq.execute('INSERT INTO `vigil-test`.`analytics`.`append_down` (n) SELECT 1')).resolves.toBeUndefined();
    const ids = insertsOf(stmt).map((q) => q.body.jobReference.jobId);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(1);
    expect(fake.executions(stmt)).toBe(1);
    expect(retries).toEqual([`retrying BigQuery job ${ids[0]}: jobs.insert failed (503) and the job does not exist, submitting it again with the same job id in 0.01 s`]);
    // the lookup that decided it
    expect(since().some((q) => q.method === 'GET' && q.path.endsWith(`/jobs/${ids[0]}`))).toBe(true);

    // a 403 rateLimitExceeded on insert (the client does not retry it) is handled the same way
    fake.onQuery(/append_limited/, { error: { httpStatus: 403, reason: 'rateLimitExceeded', message: 'Exceeded rate limits: too many concurrent queries' }, times: 1 });
    await expect(bq.execute('INSERT INTO `vigil-test`.`analytics`.`append_limited` (n) SELECT 1')).resolves.toBeUndefined();
    expect(new Set(insertsOf(/append_limited/).map((q) => q.body.jobReference.jobId)).size).toBe(1);
    expect(retries[1]).toMatch(/jobs\.insert failed \(403 rateLimitExceeded\) and the job does not exist/);
  });

  it('a job DONE with a retryable error changed nothing: the statement runs again as a NEW job and succeeds once', { timeout: T }, async () => {
    incrementalTable('inc_flaky');
    const merge = /MERGE `vigil-test`\.`analytics`\.`inc_flaky`/;
    fake.onQuery(merge, { error: { httpStatus: 500, reason: 'backendError', message: 'Error encountered during execution. Retrying may solve the problem.' }, as: 'job', times: 1 });
    const { bq, retries } = await adapter();
    await expect(bq.materialize(mergeRequest('inc_flaky'))).resolves.toMatchObject({ message: expect.stringMatching(/^merged \d+ rows into$/) });
    const ids = fake.executedJobIds(merge);
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect(fake.executedJobIds(merge, { outcome: 'failed' })).toEqual([ids[0]]);
    expect(fake.executions(merge, { outcome: 'succeeded' })).toBe(1);
    expect(retries).toEqual([`retrying BigQuery job ${ids[0]}: the job failed with backendError (a failed job changes nothing), running the statement again as a new job in 0.01 s`]);

    // the failure found while polling (insert answered RUNNING, then getQueryResults failed, jobs.get said why)
    const late = /^INSERT INTO `vigil-test`\.`analytics`\.`late_fail`/;
    fake.onQuery(late, { error: { httpStatus: 500, reason: 'jobBackendError', message: 'The job encountered an internal error during execution' }, as: 'job', runningPolls: 1, times: 2 });
    await expect(bq.execute('INSERT INTO `vigil-test`.`analytics`.`late_fail` (n) SELECT 1')).resolves.toBeUndefined();
    expect(fake.executions(late, { outcome: 'failed' })).toBe(2);
    expect(fake.executions(late, { outcome: 'succeeded' })).toBe(1);
    expect(new Set(fake.executedJobIds(late)).size).toBe(3);
    expect(retries.slice(1).map((m) => m.replace(/vigil_\w+/, 'ID'))).toEqual([
      'retrying BigQuery job ID: the job failed with jobBackendError (a failed job changes nothing), running the statement again as a new job in 0.01 s',
      'retrying BigQuery job ID: the job failed with jobBackendError (a failed job changes nothing), running the statement again as a new job in 0.02 s',
    ]);
  });

  it('a script that failed with a retryable error after one of its INSERTs took effect is not run again (its INSERT would run twice); a transaction or a temp table before the failure is', { timeout: T }, async () => {
    // a post-hook of two statements: the first INSERT ran, the second failed with backendError
    const hook = 'INSERT INTO `vigil-test`.`analytics`.`audit_a` (n) SELECT 1;\nINSERT INTO `vigil-test`.`analytics`.`audit_b` (n) SELECT 1';
    const backend = { httpStatus: 500, reason: 'backendError', message: 'Error encountered during execution. Retrying may solve the problem.' };
    fake.onQuery((q) => q === hook, { error: backend, as: 'job', failedStatement: 2, times: 1 });
    const { bq, retries } = await adapter();
    // before: the script ran again as a new job, and audit_a got its row twice
    const e = await rejection(bq.execute(hook));
    const [jobId] = fake.executedJobIds((q) => q === hook);
    expect(fake.executions((q) => q === hook)).toBe(1);
    expect(e.message).toBe(`backendError: ${backend.message}\n(job ${jobId})\n(a multi-statement script: its INSERT statement before the failing one took effect: it was not run again, which would repeat them; check job ${jobId} in the console)`);
    expect(retries).toEqual([]);

    // its children cannot be listed (a role without bigquery.jobs.list): not known, not run again
    fake.onQuery((q) => q === hook, { error: backend, as: 'job', failedStatement: 2, times: 1 });
    fake.refuseJobList = true;
    try {
      const unknown = await rejection(bq.execute(hook));
      expect(unknown.message).toMatch(/\n\(a multi-statement script: its statements before the failing one may have taken effect \(its child jobs could not be listed\): it was not run again/);
    } finally {
      fake.refuseJobList = false;
    }
    expect(fake.executions((q) => q === hook)).toBe(2);

    // one transaction (sync's): rolled back as a whole, run again
    const tx = 'BEGIN TRANSACTION;\nINSERT INTO `vigil-test`.`analytics`.`tx_a` (n) SELECT 1;\nINSERT INTO `vigil-test`.`analytics`.`tx_b` (n) SELECT 1;\nCOMMIT TRANSACTION';
    fake.onQuery((q) => q === tx, { error: backend, as: 'job', failedStatement: 3, times: 1 });
    await expect(bq.execute(tx)).resolves.toBeUndefined();
    expect(fake.executions((q) => q === tx)).toBe(2);

    // an incremental script failing at its MERGE after its temp table and DECLARE: run again
    incrementalTable('inc_script_flaky');
    const merge = /MERGE `vigil-test`\.`analytics`\.`inc_script_flaky`/;
    fake.onQuery(merge, { error: backend, as: 'job', failedStatement: 3, times: 1 });
    await expect(bq.materialize(mergeRequest('inc_script_flaky'))).resolves.toMatchObject({ message: expect.stringMatching(/^merged \d+ rows into$/) });
    expect(fake.executions(merge, { outcome: 'succeeded' })).toBe(1);
    expect(retries).toHaveLength(2);
  });

  it('retryable job errors are resubmitted a bounded number of times, then reported', { timeout: T }, async () => {
    fake.onQuery(/always_down/, { error: { httpStatus: 500, reason: 'internalError', message: 'An internal error occurred and the request could not be completed.' }, as: 'job' });
    const { bq, retries } = await adapter();
    bq.retry.maxResubmits = 2;
    const e = await rejection(bq.execute('INSERT INTO always_down SELECT 1'));
    const ids = fake.executedJobIds(/always_down/);
    expect(ids).toHaveLength(3);
    expect(e.message).toBe(`internalError: An internal error occurred and the request could not be completed.\n(job ${ids[2]})`);
    expect(retries).toHaveLength(2);
  });

  it('a job that fails for good: a clear WarehouseError with the reason, the SQL line, the position and the job id; it ran once', { timeout: T }, async () => {
    const sql = 'INSERT INTO t (n)\nSELECT nn FROM src';
    fake.onQuery((q) => q === sql, { error: { httpStatus: 400, reason: 'invalidQuery', message: 'Unrecognized name: nn at [2:8]', location: 'query' }, as: 'job', runningPolls: 1 });
    const { bq, retries } = await adapter();
    const e = await rejection(bq.execute(sql));
    const [jobId] = fake.executedJobIds((q) => q === sql);
    expect(fake.executions((q) => q === sql)).toBe(1);
    expect(e.message).toBe(`invalidQuery: Unrecognized name: nn at [2:8]\nLINE 2: SELECT nn FROM src\n(job ${jobId})`);
    expect(e.position).toEqual({ line: 2, column: 8 });
    expect(e.sql).toBe(sql);
    expect(retries).toEqual([]);

    // refused at insert (HTTP 400): nothing ran, no retry, the job id is still named
    fake.onQuery(/FROM refused/, { error: { httpStatus: 400, reason: 'invalidQuery', message: 'Syntax error: Unexpected keyword FROM at [1:8]', location: 'query' }, as: 'http' });
    const refused = await rejection(bq.execute('SELECT FROM refused'));
    expect(refused.message).toMatch(/^invalidQuery: Syntax error: Unexpected keyword FROM at \[1:8\]\nLINE 1: SELECT FROM refused\n\(job vigil_\w+\)$/);
    expect(refused.position).toEqual({ line: 1, column: 8 });
    expect(fake.executions(/FROM refused/)).toBe(0);
    expect(insertsOf(/FROM refused/)).toHaveLength(1);
  });

  it('results that keep failing beyond the bound: an error naming the job and saying the statement may have completed; never a second job', { timeout: T }, async () => {
    const merge = /^MERGE `vigil-test`\.`analytics`\.`never_answers`/;
    fake.onQuery(merge, { failPolls: { times: 10_000, with: 503, on: 'getQueryResults' } });
    const { bq, retries } = await adapter({ patienceMs: 1_000 });
    const sql = 'MERGE `vigil-test`.`analytics`.`never_answers` AS T USING (SELECT 1 AS k) AS S ON T.k = S.k WHEN NOT MATCHED THEN INSERT (k) VALUES (S.k)';
    const e = await rejection(bq.execute(sql));
    const [jobId] = fake.executedJobIds(merge);
    expect(e.message).toMatch(
      new RegExp(`^BigQuery job ${jobId}: its results could not be fetched for [\\d.]+ s \\(503\\); the job was DONE at the last look\\. The statement may have completed: it was NOT run again\\. Check job ${jobId} in the console before running it again\\.$`),
    );
    expect(e.sql).toBe(sql);
    expect(fake.executions(merge)).toBe(1);
    expect(insertsOf(merge)).toHaveLength(1);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    for (const m of retries) expect(m).toMatch(new RegExp(`^retrying BigQuery job ${jobId}: results fetch failed \\(503\\), the job is DONE, polling again in 0\\.0[124] s$`));

    // jobs.get failing as well: the state is unknown, still never resubmitted
    fake.onQuery(/lost_in_the_dark/, { failPolls: { times: 10_000, with: 'reset' } });
    const dark = await rejection(bq.execute('INSERT INTO lost_in_the_dark SELECT 1'));
    expect(dark.message).toMatch(/^BigQuery job vigil_\w+: its results could not be fetched for [\d.]+ s \(ECONNRESET\); the job was in an unknown state at the last look\. The statement may have completed: it was NOT run again\./);
    expect(insertsOf(/lost_in_the_dark/)).toHaveLength(1);
  });

  it('a long job whose results fetch fails now and then: the patience counts from the last answer, not the first failure; the INSERT is not reported failed while it runs', { timeout: T }, async () => {
    const append = /^INSERT INTO `vigil-test`\.`analytics`\.`slow_append`/;
    // RUNNING for a while (each jobComplete:false held 100 ms, as BigQuery holds the request); the
    // 1st and the 6th results fetch fail (403 rateLimitExceeded: the client does not retry it), 400 ms apart
    fake.onQuery(append, { numDmlAffectedRows: 4, runningPolls: 8, runningHoldMs: 100, failRunningPolls: { at: [1, 6], with: { httpStatus: 403, reason: 'rateLimitExceeded', message: 'Exceeded rate limits: too many api requests per user per method' } } });
    const { bq, retries } = await adapter({ patienceMs: 300 });
    // before: the second failure came 400 ms after the first, past the 300 ms patience: the build
    // failed saying the statement may have completed while the job was answering and ran on
    await expect(bq.executeCounted('INSERT INTO `vigil-test`.`analytics`.`slow_append` (n) SELECT 1')).resolves.toBe(4);
    expect(fake.executions(append)).toBe(1);
    expect(insertsOf(append)).toHaveLength(1);
    expect(retries).toHaveLength(2);
    for (const m of retries) expect(m).toMatch(/^retrying BigQuery job vigil_\w+: results fetch failed \(403 rateLimitExceeded\), the job is RUNNING, polling again in 0\.01 s$/);
  });

  it('a load whose upload answer was lost and that runs longer than the patience is waited for while BigQuery answers: loaded once, never given up on while running', { timeout: T }, async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vigil-bq-load-')), 'rows.csv');
    dirs.push(dirname(file));
    writeFileSync(file, '1\n2\n3\n');
    fake.addDataset(P, 'analytics');
    // the job runs on for 12 jobs.get polls (about 0.4 s at 10..40 ms apart), the patience 100 ms
    fake.onLoad({ table: 'analytics.slow_load', loseAnswer: 503, runningPolls: 12, times: 1 });
    const { bq, retries } = await adapter({ patienceMs: 100 });
    // before: given up on after 100 ms with the upload's 503, while jobs.get kept saying RUNNING
    await expect(bq.loadCsv(rel('slow_load'), [{ name: 'n', type: 'INT64' }], file, 'WRITE_TRUNCATE')).resolves.toBe(3);
    const uploads = since().filter((q) => q.path.startsWith('/upload/') && q.body?.configuration?.load?.destinationTable?.tableId === 'slow_load');
    expect(uploads).toHaveLength(1);
    expect(retries.length).toBeGreaterThanOrEqual(4);
    for (const m of retries) expect(m).toMatch(/^BigQuery load job vigil_\w+: 503; the job is RUNNING, looking again in 0\.0[124] s$/);
  });

  it('a load into a dataset in a single region, the target without a location, whose upload answer was lost: the job is looked up in its dataset\'s location and waited for, never loaded a second time (was: jobs.get without a location said 404, and the file was loaded again beside the running job)', { timeout: T }, async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vigil-bq-load-')), 'rows.csv');
    dirs.push(dirname(file));
    writeFileSync(file, '1\n2\n3\n');
    fake.addDataset(P, 'tokyo', { location: 'asia-northeast1' });
    fake.onLoad({ table: 'tokyo.regional_append', loseAnswer: 503, runningPolls: 3, times: 1 });
    const bq = await BigQueryAdapter.open({ ...cfg, location: undefined }, 2, await fakeBigQueryClient(fake, { projectId: P }));
    bq.retry = { ...bq.retry, initialDelayMs: 10, maxDelayMs: 40, pollPatienceMs: 1_000 };
    const retries: string[] = [];
    bq.onRetry = (m) => retries.push(m);
    await expect(bq.loadCsv({ database: P, schema: 'tokyo', identifier: 'regional_append' }, [{ name: 'n', type: 'INT64' }], file, 'WRITE_APPEND')).resolves.toBe(3);
    const uploads = since().filter((q) => q.path.startsWith('/upload/') && q.body?.configuration?.load?.destinationTable?.tableId === 'regional_append');
    expect(uploads).toHaveLength(1);
    for (const m of retries) expect(m).toMatch(/^BigQuery load job vigil_\w+: 503; the job is RUNNING, looking again in 0\.0[124] s$/);
    // jobs.get asked where the job is
    expect(since().filter((q) => q.method === 'GET' && /\/jobs\/vigil_/.test(q.path)).map((q) => q.query.location)).toEqual(expect.arrayContaining(['asia-northeast1']));
  });

  it("a query in a dataset in a single region, the target without a location, whose jobs.insert answer was lost: found where it runs and waited for, run once, no error (was: looked up without a location, 404; after the client's retry got 409 the results were asked without a location: \"Not found: Job\", exit 1, though the statement had run)", { timeout: T }, async () => {
    fake.addDataset(P, 'osaka', { location: 'asia-northeast2' });
    const stmt = (t: string) => `INSERT INTO \`${P}\`.\`osaka\`.\`${t}\` (n) SELECT 1`;
    const noLocation = { ...cfg, location: undefined };
    // the client retries the insert itself: 409, the job is found in the dataset's location
    fake.onQuery(/`osaka`\.`lost_409`/, { loseInsertAnswer: 503, times: 1 });
    const bq = await BigQueryAdapter.open(noLocation, 2, await fakeBigQueryClient(fake, { projectId: P }));
    bq.retry = { ...bq.retry, initialDelayMs: 10, maxDelayMs: 40, pollPatienceMs: 1_000 };
    await expect(bq.execute(stmt('lost_409'))).resolves.toBeUndefined();
    expect(fake.executions(/`osaka`\.`lost_409`/)).toBe(1);
    expect(fake.job(P, insertsOf(/lost_409/)[0].body.jobReference.jobId)?.jobReference.location).toBe('asia-northeast2');
    // without the client's retries: looked up where it runs, waited for, not submitted again
    fake.onQuery(/`osaka`\.`lost_bare`/, { loseInsertAnswer: 503, times: 1 });
    const bare = await BigQueryAdapter.open(noLocation, 2, await fakeBigQueryClient(fake, { projectId: P, retryOptions: { autoRetry: false } }));
    bare.retry = { ...bare.retry, initialDelayMs: 10, maxDelayMs: 40, pollPatienceMs: 1_000 };
    const retries: string[] = [];
    bare.onRetry = (m) => retries.push(m);
    await expect(bare.execute(stmt('lost_bare'))).resolves.toBeUndefined();
    expect(fake.executions(/`osaka`\.`lost_bare`/)).toBe(1);
    expect(insertsOf(/lost_bare/)).toHaveLength(1);
    expect(retries).toEqual([]);
    expect(since().filter((q) => q.method === 'GET' && /\/jobs\/vigil_/.test(q.path)).map((q) => q.query.location)).toContain('asia-northeast2');
  });

  it('dry runs are unaffected: no job runs, a 503 is retried by the client, errors are as before', { timeout: T }, async () => {
    fake.onQuery(/FROM dry_table/, { totalBytesProcessed: 2 ** 30 });
    fake.onQuery(/FROM dry_table/, { error: { httpStatus: 503, reason: 'backendError', message: 'Backend error' }, times: 1 });
    const { bq, retries } = await adapter();
    expect(await bq.dryRun('SELECT * FROM dry_table')).toEqual({ bytesProcessed: 2 ** 30, bytesBilled: 2 ** 30 });
    const sent = insertsOf(/FROM dry_table/);
    expect(sent).toHaveLength(2);
    expect(sent.every((q) => q.body.configuration.dryRun === true)).toBe(true);
    expect(fake.executions(/FROM dry_table/)).toBe(0);
    expect(since().filter((q) => q.method === 'GET')).toEqual([]); // a dry run fetches nothing
    fake.onQuery(/FROM dry_missing/, { error: { httpStatus: 404, reason: 'notFound', message: 'Not found: Table vigil-test:analytics.dry_missing was not found in location US' } });
    await expect(bq.dryRun('SELECT * FROM dry_missing')).rejects.toThrow(/^notFound: Not found: Table .*\n\(an upstream model may not be built yet\)$/);
    expect(retries).toEqual([]);
  });

  it('nothing tried to leave the loopback', () => {
    expect(guard.blocked).toEqual([]);
  });
});

describe('vigil build --target prod against the loopback BigQuery', () => {
  it("an incremental model's MERGE runs once although its result fetch failed", { timeout: 60_000 }, async () => {
    const project = 'vigil-jobs-cli';
    const dir = makeProject(
      {
        'project.yaml': `name: jobs\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: "{{ env_var('BQ_PROJECT') }}", dataset: analytics, location: US }\n`,
        'models/daily_counts.sql': "{{ config(materialized='incremental', unique_key='k') }}\nselect 'a' as k, 1 as n\n",
      },
      false,
    );
    dirs.push(dir);
    fake.addTable(project, 'analytics', 'daily_counts', { fields: [{ name: 'k', type: 'STRING' }, { name: 'n', type: 'INTEGER' }], labels: { tool: 'vigil' } });
    const merge = (q: string) => q.includes(`MERGE \`${project}\`.\`analytics\`.\`daily_counts\``);
    // a 403 rateLimitExceeded on the results: the client does not retry it (by HTTP status only), so
    // run() sees it; before, the statement was submitted again as a new job and ran twice
    fake.onQuery(merge, { numDmlAffectedRows: 1, failPolls: { times: 1, with: { httpStatus: 403, reason: 'rateLimitExceeded', message: 'Exceeded rate limits: too many api requests per user per method' }, on: 'getQueryResults' } });
    const env = { BQ_PROJECT: project, VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const r = await vigilAsync(dir, ['build', '--target', 'prod'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/OK merged 1 rows into vigil-jobs-cli\.analytics\.daily_counts/);
    expect(fake.executions(merge)).toBe(1);
    const inserts = fake.requests.filter((q) => q.method === 'POST' && q.path === `/bigquery/v2/projects/${project}/jobs` && merge(q.body?.configuration?.query?.query ?? ''));
    expect(inserts).toHaveLength(1);
    expect(fake.requests.filter((q) => q.path.endsWith(`/queries/${inserts[0].body.jobReference.jobId}`)).length).toBe(2);
  });

  it('Ctrl-C twice while a job runs: jobs.cancel is sent for it (it would run on in BigQuery), the job is named, exit 130', { timeout: 60_000 }, async () => {
    const project = 'vigil-jobs-cancel';
    const dir = makeProject(
      {
        'project.yaml': `name: jobs\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: "${project}", dataset: analytics, location: US }\n`,
        'models/slow_table.sql': "{{ config(materialized='table') }}\nselect 1 as n\n",
      },
      false,
    );
    dirs.push(dir);
    const ctas = (q: string) => q.includes(`CREATE OR REPLACE TABLE \`${project}\`.\`analytics\`.\`slow_table\``);
    fake.onQuery(ctas, { runningPolls: 1_000_000, runningHoldMs: 50 });
    const env = { ...process.env, VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const child = spawn(process.execPath, [VIGIL, 'build', '--target', 'prod'], { cwd: dir, env });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.resume();
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const inserted = () => fake.requests.find((q) => q.method === 'POST' && q.path === `/bigquery/v2/projects/${project}/jobs` && ctas(q.body?.configuration?.query?.query ?? ''));
    for (let i = 0; i < 300 && !inserted(); i++) await new Promise((r) => setTimeout(r, 50));
    const jobId = inserted()?.body.jobReference.jobId as string;
    expect(jobId).toMatch(/^vigil_/);
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    const code = await closed;
    expect(code, stderr).toBe(130);
    // before: the process exited at once and the job ran on in BigQuery, unnamed
    expect(fake.requests.filter((q) => q.method === 'POST' && q.path === `/bigquery/v2/projects/${project}/jobs/${jobId}/cancel`)).toHaveLength(1);
    expect(stderr).toContain(`asked the warehouse to cancel job ${jobId}: a job may still complete`);
  });
});
