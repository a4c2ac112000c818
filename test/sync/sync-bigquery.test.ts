/**
 * `vigil sync` from a real Postgres into BigQuery — the real client against the loopback fake:
 * each batch is a CSV load job into a stage table and then ONE transaction that merges it by
 * primary key and moves the cursor; every statement parses as GoogleSQL.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { parse } from 'sql-parser-cst';
import { blockNonLoopbackConnections, startFakeBigQuery, type FakeBigQuery } from '../support/fake-bigquery.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, REPO, vigilAsync } from '../helpers.js';

const url = inject('pgUrl');
let client: pg.Client;
let fake: FakeBigQuery;
let guard: ReturnType<typeof blockNonLoopbackConnections>;
const dirs: string[] = [];

beforeAll(async () => {
  guard = blockNonLoopbackConnections();
  fake = await startFakeBigQuery();
  client = new pg.Client(url);
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await fake?.close();
  guard?.restore();
  dirs.forEach(removeDir);
});

describe('vigil sync into BigQuery', () => {
  it('loads each batch, then merges it and moves the cursor in one transaction', async () => {
    const s = uniqueSchema('sync_bq');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, payload jsonb, note text, created_at timestamptz not null);
      insert into ${s}.events select i, jsonb_build_object('n', i), 'note ' || i, timestamptz '2026-01-01 10:00:00+00' + (i / 3) * interval '1 second' from generate_series(1, 7) i;`);
    const dir = makeProject({
      'project.yaml': `name: synctest\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: vigil-sync, dataset: analytics, location: EU }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at, batch_size: 3 }\n`,
    });
    dirs.push(dir);
    const env = { DATABASE_URL: url, VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const start = fake.requests.length;
    const r = await vigilAsync(dir, ['sync'], env);
    expect(r.stdout).toMatch(/OK raw\.events: 7 rows in 3 batches/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const reqs = fake.requests.slice(start);
    const loads = reqs.filter((q) => q.body?.configuration?.load);
    expect(loads).toHaveLength(3);
    const load = loads[0].body.configuration.load;
    expect(load.sourceFormat).toBe('CSV');
    expect(load.writeDisposition).toBe('WRITE_TRUNCATE');
    expect(load.destinationTable).toMatchObject({ projectId: 'vigil-sync', datasetId: 'raw', tableId: 'events__vigil_stage' });
    expect(load.schema.fields).toEqual([
      { name: 'id', type: 'INT64' },
      { name: 'payload', type: 'JSON' },
      { name: 'note', type: 'STRING' },
      { name: 'created_at', type: 'TIMESTAMP' },
    ]);
    const uploads = loads.map((q) => String((q as { upload?: string }).upload ?? '').trim().split('\n').length);
    expect(uploads.reduce((a, b) => a + b, 0)).toBe(7);
    const queries = reqs.map((q) => q.body?.configuration?.query?.query as string | undefined).filter((x): x is string => !!x);
    const txReqs = reqs.filter((q) => String(q.body?.configuration?.query?.query ?? '').startsWith('BEGIN TRANSACTION'));
    const txs = txReqs.map((q) => q.body.configuration.query.query as string);
    expect(txs).toHaveLength(3);
    // the target was empty: plain inserts; the state row moves to the batch's last key in the same script
    expect(txs[0]).toMatch(/INSERT INTO `vigil-sync`\.`raw`\.`events` \(`id`, `payload`, `note`, `created_at`\) SELECT .* FROM `vigil-sync`\.`raw`\.`events__vigil_stage`/);
    // (only forward: a pass behind the cursor keeps it; last_synced_at is set by the run's success, not here)
    expect(txs[0]).toMatch(/MERGE `vigil-sync`\.`raw`\.`vigil_sync_state` AS T[\s\S]*WHEN MATCHED THEN UPDATE SET [^\n]*cursor_value = IF\(T\.cursor_value IS NULL OR TIMESTAMP\(S\.cursor_value\) >= T\.cursor_value, TIMESTAMP\(S\.cursor_value\), T\.cursor_value\), cursor_id = IF\([^\n]*, S\.cursor_id, T\.cursor_id\)/);
    expect(txs[0]).not.toContain('last_synced_at');
    // stream, cursor and key travel as typed positional parameters, not as SQL text
    const params = (q: (typeof txReqs)[number]) => (q.body.configuration.query.queryParameters as Array<{ parameterType: { type: string }; parameterValue: { value: string } }>).map((p) => [p.parameterType.type, p.parameterValue?.value]);
    expect(txReqs[0].body.configuration.query.parameterMode).toMatch(/^positional$/i);
    expect(params(txReqs[0]).slice(0, 4)).toEqual([['STRING', 'raw.events'], ['STRING', '2026-01-01 10:00:01+00'], ['STRING', '3'], ['INT64', 3]]);
    expect(params(txReqs[2])[2]).toEqual(['STRING', '7']);
    expect(txs[0]).not.toContain('10:00:01');
    for (const q of queries) expect(() => parse(q, { dialect: 'bigquery', paramTypes: ['?'] }), q.slice(0, 80)).not.toThrow();
    // the state keeps the cursor's zone (a timestamptz cursor: none), as on DuckDB and Postgres:
    // status reads a timestamp cursor's wall time in it (was: no such column on BigQuery, so
    // status took the wall time for UTC against source_max_cursor's instant)
    expect(queries.find((q) => q.startsWith('CREATE TABLE IF NOT EXISTS `vigil-sync`.`raw`.`vigil_sync_state`'))).toContain('cursor_zone STRING');
    const run = queries.filter((q) => q.startsWith('MERGE `vigil-sync`.`raw`.`vigil_sync_state`') && q.includes('last_status = S.status'));
    expect(run.length).toBeGreaterThan(0);
    expect(run[run.length - 1]).toMatch(/WHEN MATCHED THEN UPDATE SET cursor_zone = S\.zone,/);
    expect(guard.blocked).toEqual([]);
  });

  it('--full-refresh of a copy that holds rows refills a table beside it and swaps it in with the cursor in one transaction; a delta drops a refill a killed run left (was: DELETE at once, readers saw the copy refill batch by batch)', async () => {
    const s = uniqueSchema('sync_bq_refill');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, note text, created_at timestamptz not null);
      insert into ${s}.events select i, 'n' || i, timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 5) i;`);
    const dir = makeProject({
      'project.yaml': `name: synctest\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: vigil-refill, dataset: analytics, location: EU }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at, batch_size: 2 }\n`,
    });
    dirs.push(dir);
    const env = { DATABASE_URL: url, VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    // the copy holds rows (the fake keeps none: it answers the question as BigQuery would)
    fake.onQuery((q) => q.startsWith('SELECT 1 AS one FROM `vigil-refill`.`raw`.`events` LIMIT 1'), { rows: [{ one: 1 }] });
    const queriesOf = (from: number) => fake.requests.slice(from).map((q) => q.body?.configuration?.query?.query as string | undefined).filter((x): x is string => !!x);
    const start = fake.requests.length;
    const r = await vigilAsync(dir, ['sync', '--full-refresh'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('raw.events: --full-refresh refills raw.events__vigil_refill; raw.events keeps its rows for its readers until the refill is complete');
    expect(r.stdout).toContain('raw.events: raw.events refilled: 5 rows, swapped in');
    const queries = queriesOf(start);
    for (const q of queries) expect(() => parse(q, { dialect: 'bigquery', paramTypes: ['?'] }), q.slice(0, 80)).not.toThrow();
    // the copy is never emptied on its own: only inside the swap's transaction
    const T = '`vigil-refill`.`raw`';
    expect(queries.filter((q) => q.includes(`DELETE FROM ${T}.\`events\` WHERE TRUE`))).toHaveLength(1);
    expect(queries).toContain(`CREATE OR REPLACE TABLE ${T}.\`events__vigil_refill\` AS SELECT \`id\`, \`note\`, \`created_at\` FROM ${T}.\`events\` WHERE FALSE`);
    const batches = queries.filter((q) => q.startsWith('BEGIN TRANSACTION') && q.includes(`INSERT INTO ${T}.\`events__vigil_refill\``));
    expect(batches).toHaveLength(3);
    // each batch moves the refill's cursor, not the stream's
    for (const b of batches) expect(b).toContain(`MERGE ${T}.\`vigil_sync_refill\` AS T`), expect(b).not.toContain('vigil_sync_state');
    const swap = queries.find((q) => q.startsWith('BEGIN TRANSACTION') && q.includes(`DELETE FROM ${T}.\`events\` WHERE TRUE`))!;
    expect(swap.split(';\n').map((x) => x.split(' ').slice(0, 3).join(' '))).toEqual(['BEGIN TRANSACTION', 'DELETE FROM `vigil-refill`.`raw`.`events`', 'INSERT INTO `vigil-refill`.`raw`.`events`', 'UPDATE `vigil-refill`.`raw`.`vigil_sync_state` SET', 'MERGE `vigil-refill`.`raw`.`vigil_sync_state` AS', 'DELETE FROM `vigil-refill`.`raw`.`vigil_sync_refill`', 'COMMIT TRANSACTION']);
    expect(swap).toContain(`INSERT INTO ${T}.\`events\` (\`id\`, \`note\`, \`created_at\`) SELECT \`id\`, \`note\`, \`created_at\` FROM ${T}.\`events__vigil_refill\``);
    // the stream says it runs while the refill does
    expect(queries.some((q) => q.startsWith(`MERGE ${T}.\`vigil_sync_state\``) && q.includes("last_status = 'running'") && queries.indexOf(q) < queries.indexOf(batches[0]))).toBe(true);
    expect(queries.indexOf(`DROP TABLE IF EXISTS ${T}.\`events__vigil_refill\``)).toBeGreaterThan(queries.indexOf(swap));
    expect(queries.indexOf(swap)).toBeGreaterThan(queries.indexOf(batches[2]));
    // a refill left behind (a killed run): the next delta drops it
    fake.addTable('vigil-refill', 'raw', 'events__vigil_refill', { fields: [{ name: 'id', type: 'INT64' }] });
    const at = fake.requests.length;
    const d = await vigilAsync(dir, ['sync'], env);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.stdout).toContain('dropped raw.events__vigil_refill, left by a --full-refresh that did not finish (killed?)');
    expect(queriesOf(at)).toContain(`DROP TABLE IF EXISTS ${T}.\`events__vigil_refill\``);
  });

  it('a failed load job fails the stream before any transaction: the cursor does not move, the failure is counted', async () => {
    const s = uniqueSchema('sync_bq_fail');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, payload jsonb, note text, created_at timestamptz not null);
      insert into ${s}.events values (1, null, 'x', now());`);
    const dir = makeProject({
      'project.yaml': `name: synctest\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: vigil-sync2, dataset: analytics, location: EU }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n`,
    });
    dirs.push(dir);
    fake.onLoad({ table: /events__vigil_stage/, error: { reason: 'invalid', message: 'Error while reading data, error message: CSV table encountered too many errors' }, times: 1 });
    const start = fake.requests.length;
    const env = { DATABASE_URL: url, VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const r = await vigilAsync(dir, ['sync'], env);
    expect(r.stdout).toMatch(/ERROR raw\.events: invalid: Error while reading data/);
    expect(r.code).toBe(1);
    const queries = fake.requests.slice(start).map((q) => q.body?.configuration?.query?.query as string | undefined).filter((x): x is string => !!x);
    expect(queries.some((q) => q.startsWith('BEGIN TRANSACTION'))).toBe(false);
    const failure = fake.requests.slice(start).find((q) => String(q.body?.configuration?.query?.query ?? '').includes('consecutive_failures = COALESCE(T.consecutive_failures, 0) + 1'));
    expect(failure?.body.configuration.query.query).toMatch(/last_status = S\.status, last_error = S\.error/);
    const values = (failure?.body.configuration.query.queryParameters as Array<{ parameterValue: { value?: string } }>).map((p) => p.parameterValue?.value);
    expect(values.slice(0, 2)).toEqual(['raw.events', 'error']);
    expect(values[2]).toMatch(/^invalid: Error while reading data/);
  });

  it('numeric(p,s) lands as NUMERIC(p, s) when it holds at most 29 integer and 9 fractional digits, else BIGNUMERIC(p, s) up to 38 and 38, else (and a numeric without precision) as STRING, exact, with the warning (was: NUMERIC for every numeric: 30 integer digits failed every batch, numeric(20,12) lost digits)', async () => {
    const s = uniqueSchema('sync_bq_num');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, created_at timestamptz not null, a numeric(10,2), b numeric(20,12), f numeric(29,0), g numeric(30,0), e numeric(38,38), c numeric(80,0), d numeric);
      insert into ${s}.events values (1, now(), 12345678.91, 12345678.123456789012, 99999999999999999999999999999, 123456789012345678901234567890, 0.12345678901234567890123456789012345678, 1${'0'.repeat(70)}, 0.1234567890123456789)`);
    const { dir, env, start } = eventsToBigQuery(s, 'vigil-sync-num');
    const r = await vigilAsync(dir, ['sync'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/raw\.events: warning: c \(numeric\(80,0\)\), d \(numeric\) are copied into raw\.events as text, exact/);
    const reqs = fake.requests.slice(start);
    const create = reqs.map((q) => q.body?.configuration?.query?.query as string | undefined).find((q) => q?.startsWith('CREATE TABLE IF NOT EXISTS `vigil-sync-num`.`raw`.`events`'))!;
    expect(create).toBe('CREATE TABLE IF NOT EXISTS `vigil-sync-num`.`raw`.`events` (`id` INT64, `created_at` TIMESTAMP, `a` NUMERIC(10, 2), `b` BIGNUMERIC(20, 12), `f` NUMERIC(29, 0), `g` BIGNUMERIC(30, 0), `e` BIGNUMERIC(38, 38), `c` STRING, `d` STRING)');
    // the load job's schema spells the parameters as the API has them
    const load = reqs.find((q) => q.body?.configuration?.load)!;
    expect(load.body.configuration.load.schema.fields.slice(2)).toEqual([
      { name: 'a', type: 'NUMERIC', precision: '10', scale: '2' },
      { name: 'b', type: 'BIGNUMERIC', precision: '20', scale: '12' },
      { name: 'f', type: 'NUMERIC', precision: '29', scale: '0' },
      { name: 'g', type: 'BIGNUMERIC', precision: '30', scale: '0' },
      { name: 'e', type: 'BIGNUMERIC', precision: '38', scale: '38' },
      { name: 'c', type: 'STRING' },
      { name: 'd', type: 'STRING' },
    ]);
    expect(String((load as { upload?: string }).upload)).toContain(',12345678.91,12345678.123456789012,99999999999999999999999999999,123456789012345678901234567890,0.12345678901234567890123456789012345678,1' + '0'.repeat(70) + ',0.1234567890123456789');
    // and BigQuery's own analyzer takes every type of the table
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const a = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, 'vigil-sync-num'), lo);
    expect(await a.analyze(create)).toMatchObject({ ok: true });
    expect(await a.analyze(create.replace('NUMERIC(29, 0)', 'NUMERIC(30, 0)'))).toMatchObject({ ok: false, message: expect.stringMatching(/P must be between 1 and 29/) });
    await a.release();
    // a copy made when every numeric was NUMERIC: each run says which of its columns round
    fake.addTable('vigil-sync-num', 'raw', 'events', { fields: ['id:INTEGER', 'created_at:TIMESTAMP', 'a:NUMERIC', 'b:NUMERIC', 'f:NUMERIC', 'g:NUMERIC', 'e:NUMERIC', 'c:NUMERIC', 'd:NUMERIC'].map((x) => ({ name: x.split(':')[0], type: x.split(':')[1] })) });
    const old = await vigilAsync(dir, ['sync'], env);
    expect(old.code, old.stdout + old.stderr).toBe(0);
    expect(old.stdout).toContain("raw.events: warning: b (numeric(20,12)) lands in raw.events's NUMERIC column (a new copy makes it BIGNUMERIC(20, 12): the source's type changed, or the copy is older than that rule), which rounds or refuses its values; drop raw.events and sync again");
    expect(old.stdout).toContain("raw.events: warning: d (numeric) lands in raw.events's NUMERIC column (a new copy makes it STRING");
    // vigil check reads a synced source's declared numeric as sync lands it
    const { bigQueryTypeOfSynced } = await import('../../src/adapters/bigquery/bigquery-check.js');
    expect(['numeric(10,2)', 'decimal(20, 12)', 'NUMERIC(30,0)', 'numeric(80,0)', 'numeric'].map(bigQueryTypeOfSynced)).toEqual(['NUMERIC(10, 2)', 'BIGNUMERIC(20, 12)', 'BIGNUMERIC(30, 0)', 'STRING', 'STRING']);
  }, 120_000);

  it("a timestamptz 'infinity' leaves the source as 'infinity', which BigQuery cannot hold, as the timestamp and date columns' do (was: an empty field, so it landed as NULL, exit 0)", async () => {
    const s = uniqueSchema('sync_bq_inf');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, created_at timestamptz not null, t timestamptz, ts timestamp, d date);
      insert into ${s}.events values (1, '2026-01-01 10:00:00+00', 'infinity', 'infinity', 'infinity'), (2, '2026-01-01 10:00:01+00', '-infinity', '-infinity', '-infinity'), (3, '2026-01-01 10:00:02+00', '2026-03-15 10:00:00.123456+00', '2026-03-15 10:00:00', '2026-03-15'), (4, '2026-01-01 10:00:03+00', null, null, null)`);
    const { dir, env, start } = eventsToBigQuery(s, 'vigil-sync-inf');
    // (the fake loads any text; BigQuery refuses the load, failing the batch: a value is never turned into NULL on the way)
    const r = await vigilAsync(dir, ['sync'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const load = fake.requests.slice(start).find((q) => q.body?.configuration?.load)!;
    expect(String((load as { upload?: string }).upload).trim().split('\n').map((l) => l.split(',').slice(2))).toEqual([
      ['infinity', 'infinity', 'infinity'],
      ['-infinity', '-infinity', '-infinity'],
      ['2026-03-15T10:00:00.123456Z', '2026-03-15 10:00:00', '2026-03-15'],
      ['', '', ''],
    ]);
  }, 120_000);

  it('a load job that fails with backendError, or an upload answered 503, is loaded again as a new job: the stream succeeds, the stage holds the rows once, one transaction (was: the stream failed)', async () => {
    const s = uniqueSchema('sync_bq_retry');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, note text, created_at timestamptz not null);
      insert into ${s}.events select i, 'n' || i, timestamptz '2026-01-01 10:00:00+00' + i * interval '1 second' from generate_series(1, 4) i;`);
    const dir = makeProject({
      'project.yaml': `name: synctest\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: vigil-sync-retry, dataset: analytics, location: EU }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n`,
    });
    dirs.push(dir);
    const env = { DATABASE_URL: url, VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const stage = async () => (await (await fetch(`${fake.url}/bigquery/v2/projects/vigil-sync-retry/datasets/raw/tables/events__vigil_stage`, { headers: { authorization: 'Bearer fake-token' } })).json()) as { numRows?: string };
    for (const [i, error] of [
      { reason: 'backendError', message: 'Backend error. Please try again.' },
      { reason: 'backendError', message: 'Service unavailable', httpStatus: 503 },
    ].entries()) {
      if (i === 1) await client.query(`update ${s}.events set note = 'again', created_at = now() where id = 4`);
      fake.onLoad({ table: /events__vigil_stage/, error, times: 1 });
      const start = fake.requests.length;
      const r = await vigilAsync(dir, ['sync'], env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(i === 0 ? /OK raw\.events: 4 rows/ : /OK raw\.events: /);
      expect(r.stderr).toMatch(i === 0 ? /retrying BigQuery job vigil_\w+: the load job failed with backendError \(a failed job changes nothing\), loading the file again as a new job/ : /retrying BigQuery job vigil_\w+: the upload failed \(503\) and BigQuery has no job under its id: nothing was loaded, loading the file again as a new job/);
      const reqs = fake.requests.slice(start);
      const uploads = reqs.filter((q) => q.body?.configuration?.load).map((q) => String((q as { upload?: string }).upload));
      expect(uploads).toHaveLength(2);
      expect(uploads[1]).toBe(uploads[0]);
      expect(reqs.filter((q) => String(q.body?.configuration?.query?.query ?? '').startsWith('BEGIN TRANSACTION'))).toHaveLength(1);
      expect(Number((await stage()).numRows)).toBe(uploads[1].trim().split('\n').length);
    }
    // the upload's answer lost after BigQuery created the job, which runs on: waited for by its id,
    // never loaded a second time (a second job could land after the appends that follow it)
    await client.query(`update ${s}.events set note = 'third', created_at = now() where id = 3`);
    fake.onLoad({ table: /events__vigil_stage/, loseAnswer: 503, runningPolls: 2, times: 1 });
    const start = fake.requests.length;
    const r = await vigilAsync(dir, ['sync'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // (the fake runs no MERGE: the copy stays empty, so each sync reads from the beginning)
    expect(r.stdout).toMatch(/OK raw\.events: 4 rows/);
    expect(r.stderr).toMatch(/BigQuery load job vigil_\w+: 503; the job is RUNNING, looking again in/);
    expect(r.stderr).not.toMatch(/loading the file again/);
    const loads = fake.requests.slice(start).filter((q) => q.body?.configuration?.load);
    expect(loads).toHaveLength(1);
    expect(Number((await stage()).numRows)).toBe(String((loads[0] as { upload?: string }).upload).trim().split('\n').length);
  }, 60_000);
});

/** A project syncing `schema`.events (key id, cursor created_at) into BigQuery project `project` on the fake; `start`: the fake's requests so far. */
function eventsToBigQuery(schema: string, project: string) {
  const dir = makeProject({
    'project.yaml': `name: synctest\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: ${project}, dataset: analytics, location: EU }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
    'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: ${schema} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n`,
  });
  dirs.push(dir);
  const env = { DATABASE_URL: url, VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
  return { dir, env, start: fake.requests.length };
}
