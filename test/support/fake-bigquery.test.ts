/**
 * Tests of the fake BigQuery server (test/support/fake-bigquery.ts) driven by the REAL
 * `@google-cloud/bigquery` client: query jobs with typed rows, dry runs, the jobs.insert body,
 * jobs.query, tables/datasets get and insert, job-level and HTTP errors shaped like BigQuery's,
 * the client's own retries (503, 429 with Retry-After), the static bearer token, and that no
 * connection ever leaves 127.0.0.1 (a guard fails stray connects at once; tests time out fast).
 * Load jobs from a local file: the multipart upload, jobs.get polling, the destination table, job errors.
 * Scripted job trouble: RUNNING polls, failing result fetches / jobs.get after the job ran, a lost
 * jobs.insert answer (409 on the client's retry), and `executions()` counting how often a statement ran.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BigQuery } from '@google-cloud/bigquery';
import { blockNonLoopbackConnections, fakeBigQueryClient, startFakeBigQuery, type FakeBigQuery } from './fake-bigquery.js';

const P = 'vigil-test';
const T = 10_000; // per-test timeout: nothing here may wait on the network or on default back-off

let fake: FakeBigQuery;
let bq: BigQuery;
let guard: ReturnType<typeof blockNonLoopbackConnections>;
let dir: string;

beforeAll(async () => {
  guard = blockNonLoopbackConnections();
  fake = await startFakeBigQuery();
  bq = await fakeBigQueryClient(fake, { projectId: P });
  dir = await mkdtemp(join(tmpdir(), 'vigil-fake-bq-'));
});

afterAll(async () => {
  await fake?.close();
  guard?.restore();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.requests.length = 0;
});

type ApiErr = Error & { code?: number | string; errors?: Array<{ reason?: string; message?: string; location?: string; domain?: string }>; response?: unknown };

async function rejection(p: Promise<unknown>): Promise<ApiErr> {
  try {
    await p;
  } catch (e) {
    return e as ApiErr;
  }
  throw new Error('expected a rejection');
}

const insertsOf = () => fake.requests.filter((r) => r.method === 'POST' && r.path === `/bigquery/v2/projects/${P}/jobs`);

describe('fake BigQuery with the real client', () => {
  it('runs a query job and maps typed rows the way the client does', { timeout: T }, async () => {
    fake.onQuery(/FROM events/, {
      fields: [
        { name: 'n', type: 'INTEGER' },
        { name: 'x', type: 'FLOAT' },
        { name: 's', type: 'STRING' },
        { name: 'b', type: 'BOOLEAN' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'd', type: 'DATE' },
        { name: 'j', type: 'JSON' },
      ],
      rows: [
        { n: 42, x: 1.5, s: 'copilot', b: true, ts: '2024-03-01T12:34:56.789123Z', d: '2024-03-01', j: { tool: 'chat', tokens: [1, 2] } },
        { n: -7, x: null, s: null, b: false, ts: new Date('2024-03-02T00:00:00.000Z'), d: null, j: null },
      ],
      totalBytesProcessed: 2048,
    });
    const [job] = await bq.createQueryJob({ query: 'SELECT *\nFROM events', location: 'EU', useLegacySql: false });
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.location).toBe('EU');
    const [rows] = await job.getQueryResults();
    expect(rows).toHaveLength(2);
    const [r0, r1] = rows;
    expect(r0.n).toBe(42);
    expect(r0.x).toBe(1.5);
    expect(r0.s).toBe('copilot');
    expect(r0.b).toBe(true);
    expect(r0.ts.constructor.name).toBe('BigQueryTimestamp');
    expect(r0.ts.value).toBe('2024-03-01T12:34:56.789123000Z'); // µs survive (int64 µs on the wire); the client prints ns
    expect(r0.d.constructor.name).toBe('BigQueryDate');
    expect(r0.d.value).toBe('2024-03-01');
    expect(r0.j).toBe('{"tool":"chat","tokens":[1,2]}'); // JSON stays a string unless parseJSON
    expect(r1).toMatchObject({ n: -7, x: null, s: null, b: false, d: null, j: null });
    expect(r1.ts.value).toBe('2024-03-02T00:00:00.000Z'); // PreciseDate prints only the digits it needs

    const [parsed] = await job.getQueryResults({ parseJSON: true });
    expect(parsed[0].j).toEqual({ tool: 'chat', tokens: [1, 2] });

    const [meta] = await job.getMetadata();
    expect(meta.status.state).toBe('DONE');
    expect(meta.statistics.totalBytesProcessed).toBe('2048');

    const seen = fake.requests.map((r) => `${r.method} ${r.path}`);
    expect(seen).toEqual([
      `POST /bigquery/v2/projects/${P}/jobs`,
      `GET /bigquery/v2/projects/${P}/queries/${job.id}`,
      `GET /bigquery/v2/projects/${P}/queries/${job.id}`,
      `GET /bigquery/v2/projects/${P}/jobs/${job.id}`,
    ]);
    expect(fake.requests[1].query).toMatchObject({ location: 'EU', 'formatOptions.useInt64Timestamp': 'true' });
    expect(fake.requests[3].query).toMatchObject({ location: 'EU' });
    expect(fake.job(P, job.id!)).toMatchObject({ jobReference: { projectId: P, jobId: job.id, location: 'EU' } });
  });

  it('sends a static bearer token on every request', { timeout: T }, async () => {
    await bq.createQueryJob({ query: 'SELECT 1' });
    await bq.dataset('nope').exists();
    expect(fake.requests.length).toBeGreaterThan(1);
    for (const r of fake.requests) expect(r.headers.authorization).toBe('Bearer fake-token');
  });

  it('records labels, location, maximumBytesBilled, dryRun, jobTimeoutMs and priority in jobs.insert; a dry run returns bytes', { timeout: T }, async () => {
    fake.onQuery((sql) => sql.includes('big_table'), { totalBytesProcessed: 123_456_789, referencedTables: ['vigil-test.raw.big_table'] });
    const [job] = await bq.createQueryJob({
      query: 'SELECT * FROM big_table',
      location: 'EU',
      labels: { tool: 'vigil', model: 'daily_usage' },
      dryRun: true,
      maximumBytesBilled: '1000000000',
      jobTimeoutMs: 60_000,
      priority: 'BATCH',
      useLegacySql: false,
    });
    const meta = job.metadata as { statistics: { totalBytesProcessed: string; query: { totalBytesProcessed: string; referencedTables?: unknown } }; status: { state: string } };
    expect(meta.statistics.totalBytesProcessed).toBe('123456789');
    expect(meta.statistics.query.totalBytesProcessed).toBe('123456789');
    // (JobStatistics2.referencedTables: TableReferences)
    expect(meta.statistics.query.referencedTables).toEqual([{ projectId: 'vigil-test', datasetId: 'raw', tableId: 'big_table' }]);
    expect(meta.status.state).toBe('DONE');

    const inserts = insertsOf();
    expect(inserts).toHaveLength(1);
    expect(fake.requests).toHaveLength(1); // a dry run fetches no results
    expect(inserts[0].body).toMatchObject({
      configuration: {
        query: { query: 'SELECT * FROM big_table', useLegacySql: false, maximumBytesBilled: '1000000000', priority: 'BATCH' },
        dryRun: true,
        labels: { tool: 'vigil', model: 'daily_usage' },
        jobTimeoutMs: '60000',
      },
      jobReference: { projectId: P, location: 'EU' },
    });
    expect(inserts[0].body.jobReference.jobId).toBe(job.id);
  });

  it('serves bigquery.query() through jobs.query (POST .../queries)', { timeout: T }, async () => {
    fake.onQuery(/FROM tools/, { rows: [{ tool: 'copilot', n: 3 }] });
    const [rows] = await bq.query({ query: 'SELECT tool, count(*) n FROM tools', location: 'US', labels: { tool: 'vigil' } });
    expect(rows).toEqual([{ tool: 'copilot', n: 3 }]);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /bigquery/v2/projects/${P}/queries`]);
    expect(fake.requests[0].body).toMatchObject({ query: 'SELECT tool, count(*) n FROM tools', useLegacySql: false, location: 'US', labels: { tool: 'vigil' }, formatOptions: { useInt64Timestamp: true } });
  });

  it('pages getQueryResults with maxResults/pageToken', { timeout: T }, async () => {
    fake.onQuery(/FROM paged/, { rows: Array.from({ length: 5 }, (_, i) => ({ i })) });
    const [job] = await bq.createQueryJob({ query: 'SELECT i FROM paged' });
    // with autoPaginate (the default) the paginator follows pageToken until the end
    const [all] = await job.getQueryResults();
    expect(all.map((r) => r.i)).toEqual([0, 1, 2, 3, 4]);
    // page by page; note that with autoPaginate, maxResults caps the TOTAL rows returned
    const [page1, next] = await job.getQueryResults({ maxResults: 2, autoPaginate: false });
    expect(page1.map((r) => r.i)).toEqual([0, 1]);
    expect(next).toMatchObject({ pageToken: 'fake-page-2' });
    const [page2] = await job.getQueryResults({ ...next, autoPaginate: false });
    expect(page2.map((r) => r.i)).toEqual([2, 3]);
    const [capped] = await job.getQueryResults({ maxResults: 3 });
    expect(capped.map((r) => r.i)).toEqual([0, 1, 2]);
    expect(fake.requests.filter((r) => r.path.includes('/queries/')).map((r) => `${r.query.maxResults ?? '-'}/${r.query.pageToken ?? '-'}`)).toEqual([
      '-/-',
      '2/-',
      '2/fake-page-2',
      '3/-',
    ]);
  });

  it('answers tables.get 404 for unknown tables, and metadata for tables and views', { timeout: T }, async () => {
    fake.addTable(P, 'analytics', 'daily_usage', {
      fields: [
        { name: 'day', type: 'DATE', mode: 'REQUIRED' },
        { name: 'tool', type: 'STRING' },
        { name: 'n', type: 'INTEGER' },
      ],
      timePartitioning: { type: 'DAY', field: 'day' },
      clustering: { fields: ['tool'] },
    });
    fake.addTable(P, 'analytics', 'v_usage', {
      type: 'VIEW',
      fields: [{ name: 'tool', type: 'STRING' }],
      view: { query: 'SELECT tool FROM `vigil-test.analytics.daily_usage`' },
    });
    const ds = bq.dataset('analytics');

    const err = await rejection(ds.table('missing').get());
    expect(err.code).toBe(404);
    expect(err.errors?.[0]).toMatchObject({ reason: 'notFound', domain: 'global' });
    expect(err.message).toBe(`Not found: Table ${P}:analytics.missing`);
    expect((await ds.table('missing').exists())[0]).toBe(false);
    expect((await rejection(bq.dataset('nodata').table('t').getMetadata())).message).toBe(`Not found: Dataset ${P}:nodata`);

    const [tableMeta] = await ds.table('daily_usage').getMetadata();
    expect(tableMeta).toMatchObject({
      type: 'TABLE',
      tableReference: { projectId: P, datasetId: 'analytics', tableId: 'daily_usage' },
      schema: { fields: [{ name: 'day', type: 'DATE', mode: 'REQUIRED' }, { name: 'tool', type: 'STRING' }, { name: 'n', type: 'INTEGER' }] },
      timePartitioning: { type: 'DAY', field: 'day' },
      clustering: { fields: ['tool'] },
    });
    const [view, viewMeta] = (await ds.table('v_usage').get()) as unknown as [unknown, Record<string, unknown>] // typed as an HTTP response; it is the metadata;
    expect((view as { id: string }).id).toBe('v_usage');
    expect(viewMeta).toMatchObject({ type: 'VIEW', schema: { fields: [{ name: 'tool', type: 'STRING' }] }, view: { query: expect.stringContaining('daily_usage'), useLegacySql: false } });
    expect(viewMeta.timePartitioning).toBeUndefined();
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toContain(`GET /bigquery/v2/projects/${P}/datasets/analytics/tables/daily_usage`);
  });

  it('gets datasets (404 when unknown) and creates them (autoCreate, create, 409 when existing)', { timeout: T }, async () => {
    expect((await rejection(bq.dataset('staging').getMetadata())).code).toBe(404);
    fake.requests.length = 0;

    const [ds, meta] = await bq.dataset('staging').get({ autoCreate: true, location: 'EU' } as never);
    expect(ds.id).toBe('staging');
    expect(meta).toMatchObject({ datasetReference: { datasetId: 'staging', projectId: P }, location: 'EU' });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /bigquery/v2/projects/${P}/datasets/staging`,
      `POST /bigquery/v2/projects/${P}/datasets`,
    ]);
    expect(fake.requests[1].body).toMatchObject({ datasetReference: { datasetId: 'staging' }, location: 'EU' });

    expect((await bq.dataset('staging').exists())[0]).toBe(true);
    const dup = await rejection(bq.dataset('staging').create());
    expect(dup.code).toBe(409);
    expect(dup.errors?.[0].reason).toBe('duplicate');

    fake.addDataset(P, 'marts', { location: 'US' });
    const [, martsMeta] = (await bq.dataset('marts').get({ autoCreate: true })) as unknown as [unknown, { location: string }];
    expect(martsMeta.location).toBe('US');
    const [created] = await bq.dataset('fresh').create();
    expect(created.id).toBe('fresh');
  });

  it('reports an invalidQuery job error (DONE with errorResult) with reason, location and [line:col]', { timeout: T }, async () => {
    const message = 'Syntax error: Unexpected identifier "FORM" at [3:5]';
    fake.onQuery(/FORM/, { error: { httpStatus: 400, reason: 'invalidQuery', message, location: 'query' } });
    const err = await rejection(bq.createQueryJob({ query: 'SELECT\n  tool\n    FORM events' }));
    expect(err.errors?.[0]).toMatchObject({ reason: 'invalidQuery', message, location: 'query' });
    expect(err.message).toBe(message);
    expect(err.code).toBeUndefined(); // a 200 jobs.insert whose job failed: no HTTP code
    const job = fake.job(P, insertsOf()[0].body.jobReference.jobId);
    expect(job.status).toMatchObject({ state: 'DONE', errorResult: { reason: 'invalidQuery', location: 'query', message } });

    // the job's results answer with the job's error as an HTTP error
    const resultsErr = await rejection(bq.job(job.jobReference.jobId).getQueryResults());
    expect(resultsErr.code).toBe(400);
    expect(resultsErr.errors?.[0].reason).toBe('invalidQuery');

    // the same error as an HTTP 400 from jobs.insert, and from jobs.query
    fake.onQuery(/FROM typo_http/, { error: { httpStatus: 400, reason: 'invalidQuery', message, location: 'query' }, as: 'http' });
    const httpErr = await rejection(bq.createQueryJob({ query: 'SELECT x FROM typo_http' }));
    expect(httpErr.code).toBe(400);
    expect(httpErr.errors?.[0]).toMatchObject({ reason: 'invalidQuery', message, location: 'query', domain: 'global' });
    const queryErr = await rejection(bq.query('SELECT x\nFROM\n    FORM'));
    expect(queryErr.code).toBe(400);
    expect(queryErr.errors?.[0].reason).toBe('invalidQuery');
  });

  it('lets the client retry one 503 by itself, with the same job id', { timeout: T }, async () => {
    fake.onQuery(/FROM flaky/, { rows: [{ ok: true }] });
    fake.onQuery(/FROM flaky/, { error: { httpStatus: 503, reason: 'backendError', message: 'Error encountered during execution. Retrying may solve the problem.' }, times: 1 });
    const [job] = await bq.createQueryJob({ query: 'SELECT true ok FROM flaky' });
    const [rows] = await job.getQueryResults();
    expect(rows).toEqual([{ ok: true }]);
    const inserts = insertsOf();
    expect(inserts).toHaveLength(2);
    expect(inserts[1].body.jobReference.jobId).toBe(inserts[0].body.jobReference.jobId);
  });

  it('lets the client retry one 429 (it ignores Retry-After and uses its own back-off)', { timeout: T }, async () => {
    fake.onQuery(/FROM busy/, { status429RetryAfterSeconds: 30, times: 1 });
    const started = Date.now();
    const [job] = await bq.createQueryJob({ query: 'SELECT 1 FROM busy' });
    expect(job.metadata.status.state).toBe('DONE');
    expect(Date.now() - started).toBeLessThan(5_000); // not 30 s
    expect(insertsOf()).toHaveLength(2);
  });

  it('does not retry a 403 rateLimitExceeded (the client retries by HTTP status only); it gives up after 3 retries of 5xx', { timeout: T }, async () => {
    fake.onQuery(/FROM quota/, { error: { httpStatus: 403, reason: 'rateLimitExceeded', message: 'Exceeded rate limits: too many concurrent queries for this project_and_region.' }, times: 1 });
    const err = await rejection(bq.createQueryJob({ query: 'SELECT 1 FROM quota' }));
    expect(err.code).toBe(403);
    expect(err.errors?.[0].reason).toBe('rateLimitExceeded');
    expect(insertsOf()).toHaveLength(1);
    await bq.createQueryJob({ query: 'SELECT 1 FROM quota' }); // `times` used up: the default answer
    fake.requests.length = 0;

    fake.onQuery(/FROM down/, { error: { httpStatus: 500, reason: 'backendError', message: 'Backend error' } });
    const down = await rejection(bq.createQueryJob({ query: 'SELECT 1 FROM down' }));
    expect(down.code).toBe(500);
    expect(insertsOf()).toHaveLength(4);
  });

  it('honours a custom retryOptions (autoRetry off)', { timeout: T }, async () => {
    const noRetry = await fakeBigQueryClient(fake, { projectId: P, retryOptions: { autoRetry: false } });
    fake.onQuery(/FROM once/, { error: { httpStatus: 503, reason: 'backendError', message: 'Backend error' }, times: 1 });
    expect((await rejection(noRetry.createQueryJob({ query: 'SELECT 1 FROM once' }))).code).toBe(503);
    expect(insertsOf()).toHaveLength(1);
  });

  it('never left 127.0.0.1, and the guard fails a stray connection at once', { timeout: T }, async () => {
    expect(guard.blocked).toEqual([]);
    expect(guard.attempts.length).toBeGreaterThan(0);
    for (const a of guard.attempts) expect(a).toMatch(/^(127\.0\.0\.1|localhost|::1):\d+$/);
    const started = Date.now();
    await expect(fetch('http://203.0.113.7/computeMetadata/v1/')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(guard.blocked).toEqual(['203.0.113.7:80']);
    guard.blocked.length = 0;
  });
});

describe('fake BigQuery load jobs (local file upload) with the real client', () => {
  const CSV = '2024-03-01,copilot,3\n2024-03-01,cursor,5\n2024-03-02,copilot,7\n';
  const FIELDS = [
    { name: 'day', type: 'DATE', mode: 'REQUIRED' },
    { name: 'tool', type: 'STRING', mode: 'NULLABLE' },
    { name: 'n', type: 'INTEGER', mode: 'NULLABLE' },
  ];
  const UPLOAD_PATH = `/upload/bigquery/v2/projects/${P}/jobs`;
  const uploadsOf = () => fake.requests.filter((r) => r.method === 'POST' && r.path === UPLOAD_PATH);
  let n = 0;
  async function csvFile(content = CSV): Promise<string> {
    const file = join(dir, `usage-${++n}.csv`);
    await writeFile(file, content);
    return file;
  }
  // Operation#promise() is typed Promise<unknown>; it resolves [metadata] once the job is DONE (rejects on errorResult)
  const settled = async (job: { promise(): Promise<unknown> }) => ((await job.promise()) as [Record<string, any>])[0];
  const loadOpts = (extra: Record<string, unknown> = {}) => ({
    sourceFormat: 'CSV',
    schema: { fields: FIELDS },
    writeDisposition: 'WRITE_TRUNCATE',
    createDisposition: 'CREATE_IF_NEEDED',
    location: 'EU',
    ...extra,
  });

  it('table.load(localCsv) uploads multipart to {apiEndpoint}/upload/bigquery/v2, polls jobs.get, creates the table', { timeout: T }, async () => {
    fake.addDataset(P, 'raw', { location: 'EU' });
    const file = await csvFile();
    const [meta] = await bq.dataset('raw').table('usage').load(file, loadOpts());
    expect(meta.status).toEqual({ state: 'DONE' });
    expect(meta.statistics?.load?.outputRows).toBe('3');
    expect(meta.jobReference).toMatchObject({ projectId: P, location: 'EU' });
    expect(meta.configuration?.jobType).toBe('LOAD');

    const jobId = meta.jobReference!.jobId!;
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${UPLOAD_PATH}`, `GET /bigquery/v2/projects/${P}/jobs/${jobId}`]);
    const [up, poll] = fake.requests;
    expect(up.query).toEqual({ uploadType: 'multipart' }); // no prettyPrint: the upload bypasses Service.request
    expect(up.headers['content-type']).toMatch(/^multipart\/related; boundary=\S+$/);
    expect(up.headers.authorization).toBe('Bearer fake-token');
    expect(up.upload).toBe(CSV);
    expect(up.body).toEqual({
      configuration: {
        load: {
          destinationTable: { projectId: P, datasetId: 'raw', tableId: 'usage' },
          sourceFormat: 'CSV',
          schema: { fields: FIELDS },
          writeDisposition: 'WRITE_TRUNCATE',
          createDisposition: 'CREATE_IF_NEEDED',
          location: 'EU', // the client puts a load's `location` HERE for local files, not in jobReference
        },
      },
      jobReference: { jobId, projectId: P }, // jobReference.location is the Table object's location (unset here)
    });
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(poll.query).toMatchObject({ location: 'EU' }); // the job's location comes from the answer
    expect(fake.job(P, jobId)).toMatchObject({ configuration: { load: { sourceFormat: 'CSV' } }, status: { state: 'DONE' } });

    const [tableMeta] = await bq.dataset('raw').table('usage').getMetadata();
    expect(tableMeta).toMatchObject({
      tableReference: { projectId: P, datasetId: 'raw', tableId: 'usage' },
      schema: { fields: FIELDS },
      numRows: '3',
      location: 'EU',
      type: 'TABLE',
    });

    // WRITE_TRUNCATE replaces schema and rows; WRITE_APPEND adds rows; skipLeadingRows skips a header line
    const two = await csvFile('day,tool\n2024-03-03,copilot\n\n2024-03-04,cursor\n');
    const narrow = FIELDS.slice(0, 2);
    const [m2] = await bq.dataset('raw').table('usage').load(two, loadOpts({ schema: { fields: narrow }, skipLeadingRows: 1 }));
    expect(m2.statistics?.load?.outputRows).toBe('2');
    expect((await bq.dataset('raw').table('usage').getMetadata())[0]).toMatchObject({ schema: { fields: narrow }, numRows: '2' });
    await bq.dataset('raw').table('usage').load(two, loadOpts({ schema: undefined, skipLeadingRows: 1, writeDisposition: 'WRITE_APPEND' }));
    expect((await bq.dataset('raw').table('usage').getMetadata())[0]).toMatchObject({ schema: { fields: narrow }, numRows: '4' });
    expect(guard.blocked).toEqual([]);
  });

  it('table.createLoadJob(localPath, metadata) resolves with the Job; jobs.get serves it; jobId/jobPrefix are honoured', { timeout: T }, async () => {
    fake.addDataset(P, 'raw', { location: 'EU' });
    const file = await csvFile();
    const [job, meta] = await bq.dataset('raw', { location: 'EU' }).table('events').createLoadJob(file, {
      sourceFormat: 'CSV',
      schema: { fields: FIELDS },
      writeDisposition: 'WRITE_TRUNCATE',
      jobPrefix: 'vigil_load_',
    });
    expect(job.id).toMatch(/^vigil_load_[0-9a-f-]{36}$/);
    expect(job.location).toBe('EU');
    expect(meta).toMatchObject({ status: { state: 'DONE' }, statistics: { load: { outputRows: '3', inputFiles: '1' } } });
    const [up] = uploadsOf();
    // with a location on the Dataset/Table object it goes to jobReference AND configuration.load
    expect(up.body.jobReference).toEqual({ jobId: job.id, projectId: P, location: 'EU' });
    expect(up.body.configuration.load).toMatchObject({ location: 'EU', destinationTable: { tableId: 'events' } });
    expect(fake.requests).toHaveLength(1); // createLoadJob does not poll

    const [polled] = await job.getMetadata();
    expect(polled).toMatchObject({ status: { state: 'DONE' }, configuration: { load: { sourceFormat: 'CSV', writeDisposition: 'WRITE_TRUNCATE' } } });
    expect(await settled(job)).toMatchObject({ statistics: { load: { outputRows: '3' } } });
    expect((await bq.dataset('raw').table('events').exists())[0]).toBe(true);
    const pinned = await bq.dataset('raw').table('pinned').createLoadJob(file, { schema: { fields: FIELDS }, jobId: 'load_fixed_1' });
    expect(pinned[0].id).toBe('load_fixed_1');
    const [, empty] = await bq.dataset('raw').table('pinned').createLoadJob(await csvFile(''), loadOpts());
    expect(empty.statistics?.load?.outputRows).toBe('0');
    expect(uploadsOf().at(-1)?.upload).toBe('');
    expect(guard.blocked).toEqual([]);
  });

  it('surfaces a forced load error (job DONE with errorResult): load() rejects with the reason, createLoadJob resolves', { timeout: T }, async () => {
    fake.addDataset(P, 'raw', { location: 'EU' });
    const message = 'Error while reading data, error message: CSV table encountered too many errors, giving up. Rows: 1; errors: 1. Please look into the errors[] collection for more details.';
    fake.onLoad({ error: { reason: 'invalid', message }, times: 2 });
    const file = await csvFile();

    const err = await rejection(bq.dataset('raw').table('broken').load(file, loadOpts()));
    expect(err.errors?.[0]).toMatchObject({ reason: 'invalid', message });
    expect(err.message).toBe(message);
    expect(err.code).toBeUndefined(); // a job error, not an HTTP one
    expect(fake.requests.map((r) => r.method)).toEqual(['POST', 'GET']); // found by polling jobs.get
    expect((await bq.dataset('raw').table('broken').exists())[0]).toBe(false);

    // createLoadJob does NOT reject on a failed job: check metadata.status.errorResult (or poll: job.promise())
    const [job, meta] = await bq.dataset('raw').table('broken').createLoadJob(file, loadOpts());
    expect(meta.status).toMatchObject({ state: 'DONE', errorResult: { reason: 'invalid', message } });
    expect((await rejection(job.promise())).errors?.[0].reason).toBe('invalid');

    // `times` used up: the next load succeeds
    const [ok] = await bq.dataset('raw').table('broken').load(file, loadOpts());
    expect(ok.status?.state).toBe('DONE');
    expect(guard.blocked).toEqual([]);
  });

  it('fails loads the way BigQuery does: missing dataset (HTTP 404), no schema / CREATE_NEVER (job errors), an upload 503 is not retried', { timeout: T }, async () => {
    fake.addDataset(P, 'raw', { location: 'EU' });
    const file = await csvFile();
    const noDs = await rejection(bq.dataset('nowhere').table('t').load(file, loadOpts()));
    expect(noDs.code).toBe(404);
    expect(noDs.message).toBe(`Not found: Dataset ${P}:nowhere`);

    const wrongLoc = await rejection(bq.dataset('raw', { location: 'US' }).table('t').load(file, loadOpts()));
    expect(wrongLoc.code).toBe(404);

    const noSchema = await rejection(bq.dataset('raw').table('fresh').load(file, loadOpts({ schema: undefined })));
    expect(noSchema.errors?.[0]).toMatchObject({ reason: 'invalid', message: 'No schema specified on job or table.' });
    const never = await rejection(bq.dataset('raw').table('fresh').load(file, loadOpts({ createDisposition: 'CREATE_NEVER' })));
    expect(never.errors?.[0]).toMatchObject({ reason: 'notFound', message: `Not found: Table ${P}:raw.fresh` });

    fake.requests.length = 0;
    fake.onLoad({ table: 'raw.flaky', error: { httpStatus: 503, reason: 'backendError', message: 'Backend error' }, times: 1 });
    const down = await rejection(bq.dataset('raw').table('flaky').load(file, loadOpts()));
    expect(down.code).toBe(503);
    expect(uploadsOf()).toHaveLength(1); // makeWritableStream sends with maxRetries 0 and no retry-request
    expect(guard.blocked).toEqual([]);
  });

  it('lets a load job stay RUNNING for some polls; the table appears when it is DONE', { timeout: T }, async () => {
    fake.addDataset(P, 'raw', { location: 'EU' });
    fake.onLoad({ table: /^raw\.slow$/, runningPolls: 1, times: 1 });
    const file = await csvFile();
    const [job, meta] = await bq.dataset('raw').table('slow').createLoadJob(file, loadOpts());
    expect(meta.status).toEqual({ state: 'RUNNING' });
    expect((await bq.dataset('raw').table('slow').exists())[0]).toBe(false);
    const done = await settled(job); // polls every 500 ms
    expect(done).toMatchObject({ status: { state: 'DONE' }, statistics: { load: { outputRows: '3' } } });
    expect(fake.requests.filter((r) => r.path.endsWith(`/jobs/${job.id}`))).toHaveLength(2);
    expect((await bq.dataset('raw').table('slow').exists())[0]).toBe(true);
    expect(guard.blocked).toEqual([]);
  });
});

describe('fake BigQuery scripted job trouble with the real client', () => {
  const noRetry = () => fakeBigQueryClient(fake, { projectId: P, retryOptions: { autoRetry: false } });
  const pollsOf = (jobId: string) => fake.requests.filter((r) => r.method === 'GET' && (r.path.endsWith(`/queries/${jobId}`) || r.path.endsWith(`/jobs/${jobId}`)));

  it('fails getQueryResults N times with an HTTP status after the job ran; the client retries 3 times, then rejects', { timeout: T }, async () => {
    fake.onQuery(/FROM fetch_503/, { rows: [{ n: 1 }], failPolls: { times: 5, with: 503, on: 'getQueryResults' } });
    const [job] = await bq.createQueryJob({ query: 'SELECT n FROM fetch_503' });
    expect(job.metadata.status).toEqual({ state: 'DONE' });
    expect(fake.executions(/FROM fetch_503/)).toBe(1);
    const err = await rejection(job.getQueryResults());
    expect(err.code).toBe(503);
    expect(err.errors?.[0].reason).toBe('backendError');
    expect(pollsOf(job.id!)).toHaveLength(4); // 1 + the client's 3 retries
    // jobs.get is not scripted to fail here
    expect((await job.getMetadata())[0].status.state).toBe('DONE');
    const [rows] = await job.getQueryResults(); // 1 failure left, absorbed by the client's retry
    expect(rows).toEqual([{ n: 1 }]);
    expect(fake.executions(/FROM fetch_503/)).toBe(1);
    expect(insertsOf()).toHaveLength(1);
  });

  it('drops the connection of jobs.get and getQueryResults (FetchError ECONNRESET) or answers a 403 rateLimitExceeded the client does not retry', { timeout: T }, async () => {
    const client = await noRetry();
    fake.onQuery(/FROM fetch_reset/, { rows: [{ n: 2 }], failPolls: { times: 2, with: 'reset' } });
    const [job] = await client.createQueryJob({ query: 'SELECT n FROM fetch_reset' });
    const reset = await rejection(job.getMetadata());
    expect(reset.code).toBe('ECONNRESET');
    expect(reset.errors).toBeUndefined();
    expect((await rejection(job.getQueryResults())).code).toBe('ECONNRESET');
    expect((await job.getQueryResults())[0]).toEqual([{ n: 2 }]);

    fake.onQuery(/FROM fetch_403/, { failPolls: { times: 1, with: { httpStatus: 403, reason: 'rateLimitExceeded', message: 'Exceeded rate limits: too many api requests' } } });
    const [job2] = await bq.createQueryJob({ query: 'SELECT 1 FROM fetch_403' });
    const limited = await rejection(job2.getQueryResults()); // the default client: not retried (by status only)
    expect(limited.code).toBe(403);
    expect(limited.errors?.[0].reason).toBe('rateLimitExceeded');
    expect(pollsOf(job2.id!)).toHaveLength(1);
    expect(fake.executions(/FROM fetch_(reset|403)/)).toBe(2);
  });

  it('loses the jobs.insert answer after storing the job: the client retries with the same id and gets 409; the statement ran once', { timeout: T }, async () => {
    fake.onQuery(/INSERT INTO lost_503/, { loseInsertAnswer: 503 });
    const dup = await rejection(bq.createQueryJob({ query: 'INSERT INTO lost_503 VALUES (1)', jobId: 'vigil_lost_1' }));
    expect(dup.code).toBe(409); // with a jobId given the client passes the 409 on
    expect(dup.errors?.[0].reason).toBe('duplicate');
    expect(insertsOf().map((r) => r.body.jobReference.jobId)).toEqual(['vigil_lost_1', 'vigil_lost_1']);
    expect(fake.job(P, 'vigil_lost_1').status.state).toBe('DONE');
    expect(fake.executions(/INSERT INTO lost_503/)).toBe(1);

    // with a client-generated id the client swallows the 409: jobs.get, and resolves with the job
    fake.requests.length = 0;
    fake.onQuery(/INSERT INTO lost_reset/, { loseInsertAnswer: 'reset' });
    const [job] = await bq.createQueryJob({ query: 'INSERT INTO lost_reset VALUES (1)' });
    expect(job.metadata.status.state).toBe('DONE');
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /bigquery/v2/projects/${P}/jobs`,
      `POST /bigquery/v2/projects/${P}/jobs`,
      `GET /bigquery/v2/projects/${P}/jobs/${job.id}`,
    ]);
    expect(fake.executions(/INSERT INTO lost_reset/)).toBe(1);
  });

  it('keeps a query job RUNNING for some polls (getQueryResults jobComplete:false, jobs.get RUNNING); it counts as executed once DONE; numDmlAffectedRows', { timeout: T }, async () => {
    fake.onQuery(/FROM slow_query/, { rows: [{ n: 3 }], runningPolls: 2, numDmlAffectedRows: 4 });
    const [job] = await bq.createQueryJob({ query: 'SELECT n FROM slow_query' });
    expect(job.metadata.status).toEqual({ state: 'RUNNING' });
    expect((await job.getMetadata())[0].status.state).toBe('RUNNING');
    expect(fake.executions(/FROM slow_query/)).toBe(0);
    const [rows, , answer] = (await job.getQueryResults()) as unknown as [unknown[], unknown, { numDmlAffectedRows?: string }];
    expect(rows).toEqual([{ n: 3 }]); // one jobComplete:false, then the rows
    expect(answer.numDmlAffectedRows).toBe('4'); // the last page's answer comes third
    expect(pollsOf(job.id!).map((r) => r.path.includes('/queries/'))).toEqual([false, true, true]);
    expect(fake.executions(/FROM slow_query/)).toBe(1);
    expect((await job.getMetadata())[0].statistics.query.numDmlAffectedRows).toBe('4');
  });

  it('a job DONE with a retryable errorResult, then a new job that succeeds; executions by outcome', { timeout: T }, async () => {
    fake.onQuery(/MERGE flaky_job/, { error: { httpStatus: 500, reason: 'backendError', message: 'Error encountered during execution. Retrying may solve the problem.' }, as: 'job', times: 1 });
    const failed = await rejection(bq.createQueryJob({ query: 'MERGE flaky_job T USING s ON FALSE', jobId: 'vigil_flaky_1' }));
    expect(failed.errors?.[0].reason).toBe('backendError');
    expect((failed.response as { status: { errorResult: { reason: string } } }).status.errorResult.reason).toBe('backendError');
    const [ok] = await bq.createQueryJob({ query: 'MERGE flaky_job T USING s ON FALSE', jobId: 'vigil_flaky_2' });
    expect(ok.metadata.status).toEqual({ state: 'DONE' });
    expect(fake.executions(/MERGE flaky_job/)).toBe(2);
    expect(fake.executions(/MERGE flaky_job/, { outcome: 'failed' })).toBe(1);
    expect(fake.executions(/MERGE flaky_job/, { outcome: 'succeeded' })).toBe(1);
    expect(fake.executedJobIds((sql) => sql.startsWith('MERGE flaky_job'))).toEqual(['vigil_flaky_1', 'vigil_flaky_2']);

    // the same failure while RUNNING first: insert answers RUNNING, getQueryResults then the job's HTTP error
    fake.onQuery(/MERGE late_fail/, { error: { httpStatus: 500, reason: 'jobBackendError', message: 'The job failed' }, as: 'job', runningPolls: 1, times: 1 });
    const [late] = await bq.createQueryJob({ query: 'MERGE late_fail T USING s ON FALSE' });
    expect(late.metadata.status.state).toBe('RUNNING');
    const lateErr = await rejection(late.getQueryResults()); // jobComplete:false once, then the error
    expect(lateErr.code).toBe(500);
    expect((await late.getMetadata())[0].status.errorResult.reason).toBe('jobBackendError');
    expect(fake.executions(/MERGE late_fail/, { outcome: 'failed' })).toBe(1);
    expect(guard.blocked).toEqual([]);
  });
});
