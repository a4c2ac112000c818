/**
 * Tests of the fake BigQuery server (test/support/fake-bigquery.ts) driven by the REAL
 * `@google-cloud/bigquery` client: query jobs with typed rows, dry runs, the jobs.insert body,
 * jobs.query, tables/datasets get and insert, job-level and HTTP errors shaped like BigQuery's,
 * the client's own retries (503, 429 with Retry-After), the static bearer token, and that no
 * connection ever leaves 127.0.0.1 (a guard fails stray connects at once; tests time out fast).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BigQuery } from '@google-cloud/bigquery';
import { blockNonLoopbackConnections, fakeBigQueryClient, startFakeBigQuery, type FakeBigQuery } from './fake-bigquery.js';

const P = 'vigil-test';
const T = 10_000; // per-test timeout: nothing here may wait on the network or on default back-off

let fake: FakeBigQuery;
let bq: BigQuery;
let guard: ReturnType<typeof blockNonLoopbackConnections>;

beforeAll(async () => {
  guard = blockNonLoopbackConnections();
  fake = await startFakeBigQuery();
  bq = await fakeBigQueryClient(fake, { projectId: P });
});

afterAll(async () => {
  await fake?.close();
  guard?.restore();
});

beforeEach(() => {
  fake.requests.length = 0;
});

type ApiErr = Error & { code?: number; errors?: Array<{ reason?: string; message?: string; location?: string; domain?: string }> };

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
    fake.onQuery((sql) => sql.includes('big_table'), { totalBytesProcessed: 123_456_789 });
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
    const meta = job.metadata as { statistics: { totalBytesProcessed: string; query: { totalBytesProcessed: string } }; status: { state: string } };
    expect(meta.statistics.totalBytesProcessed).toBe('123456789');
    expect(meta.statistics.query.totalBytesProcessed).toBe('123456789');
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
