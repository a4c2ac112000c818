/**
 * `vigil serve` end to end against a real PostgreSQL source (inject('pgUrl')): the Prometheus
 * scrape parsed by a text-format parser, /health flipping to 503 when the source stops being
 * synced, SIGTERM in the middle of a sync losing nothing (row by row), and two serve
 * processes sharing one Postgres target running each slot of each job once.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { JobLeases } from '../../src/serve/lease.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { killAll, startServe, waitFor } from '../support/serve.js';
import { startFakePagerDuty } from '../support/fake-pagerduty.js';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { fileClient } from '../support/pg-client.js';
import { holdDuckDb } from '../support/duckdb-reader.js';
import pg from 'pg';

const url = inject('pgUrl');
/** Prometheus' own exposition parser and linter (Debian's prometheus package) */
const PROMTOOL = '/usr/bin/promtool';
if (!existsSync(PROMTOOL)) console.warn(`serve.test.ts: the promtool check is SKIPPED — ${PROMTOOL} not found (apt-get install prometheus)`);
const client = fileClient(url);
const dirs: string[] = [];

afterAll(() => {
  killAll();
  dirs.forEach(removeDir);
});

function project(src: string, opts: { target?: string; schedules: string; serve?: string; batch?: number; models?: Record<string, string>; table?: string }): string {
  const dir = makeProject({
    'project.yaml': `name: servetest
default_target: dev
targets:
  dev: ${opts.target ?? '{ type: duckdb, path: .vigil/dev.duckdb, schema: analytics }'}
  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }
serve:
  listen: 127.0.0.1:0
${opts.serve ?? ''}
schedules:
${opts.schedules}
`,
    'models/sources.yml': `sources:
  - name: raw
    schema: raw_${src}
    sync: { from: app, schema: ${src} }
    tables:
      - name: events
        sync: { primary_key: id, cursor: created_at, batch_size: ${opts.batch ?? 1000} }
${opts.table ?? ''}`,
    ...opts.models,
  });
  dirs.push(dir);
  return dir;
}
/**
 * The environment of a serve whose wall clock steps forward `ms` at each SIGUSR2
 * (test/support/clock-step.mjs): a wait on the wall clock (group_wait, a silence) is over at once.
 */
const clockStep = (ms: number) => ({ NODE_OPTIONS: `--import ${pathToFileURL(join(import.meta.dirname, '../support/clock-step.mjs')).href}`, VIGIL_TEST_CLOCK_STEP_MS: String(ms) });
/** `vigil serve` with the test database as the application's */
const serve = (dir: string, args: string[] = []) => startServe(dir, args, { DATABASE_URL: url });

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

/**
 * GET /metrics: checked by Prometheus' own parser (promtool check metrics: exit 1 on a parse
 * error, 3 on lint problems, of which only prom-client's default nodejs_* gauges may have any),
 * and read with a JS text-format parser (which keeps no labels on histograms: those are read
 * from the text).
 */
async function scrape(base: string): Promise<{ families: Map<string, Family>; text: string }> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  if (existsSync(PROMTOOL)) {
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).not.toBe(1);
    const lint = (check.stdout + check.stderr).split('\n').filter((l) => l.trim() && !l.startsWith('nodejs_'));
    expect(lint).toEqual([]);
  }
  const families = parsePrometheusTextFormat(text) as Family[];
  return { families: new Map(families.map((f) => [f.name, f])), text };
}

const sample = (scraped: { families: Map<string, Family> }, name: string, labels: Record<string, string>): number | undefined => {
  const s = scraped.families.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return s ? Number(s.value ?? s.count) : undefined;
};

async function health(base: string): Promise<{ status: number; body: { status: string; streams: Array<{ stream: string; ok: boolean; problem?: string; consecutive_failures: number; sync_lag_seconds: number | null; last_synced_at: string | null }>; jobs: Array<{ job: string; last_run: { status: string; finished_at: string } | null; last_success_at: string | null }>; problems: string[] } }> {
  const res = await fetch(`${base}/health`);
  return { status: res.status, body: await res.json() };
}

async function source(schema: string, rows: number, sql = `jsonb_build_object('durationMs', i % 997, 'prompt', repeat('x', 200))`): Promise<void> {
  await client.query(`create schema ${schema}; create table ${schema}.events (id bigint primary key, payload jsonb, note text, created_at timestamptz not null)`);
  if (rows) await client.query(`insert into ${schema}.events select i, ${sql}, 'n' || i, now() - interval '1 hour' + (i / 50) * interval '1 millisecond' from generate_series(1, ${rows}) i`);
}

describe('vigil serve', () => {
  it('scrapes parse as Prometheus text; /health turns 503 when the source stops being synced, and says why', async () => {
    const s = uniqueSchema('serve_health');
    await source(s, 500);
    // the newest source row is about an hour old: past serve.max_data_lag, within the table's own
    // freshness error_after, which /health judges it by (as the sync-data-latency alert does)
    const dir = project(s, {
      schedules: '  sync_often: { command: sync, cron: "*/2 * * * * *" }',
      serve: '  max_sync_age: 4s\n  max_data_lag: 30m',
      table: '        loaded_at_field: created_at\n        freshness: { error_after: { count: 2, period: hour } }\n',
    });
    const srv = await serve(dir);
    // healthy once the first sync ran
    const ok = await waitFor(async () => {
      const h = await health(srv.base);
      return h.status === 200 && h.body.streams.length === 1 && h.body.streams.every((x) => x.ok) ? h : undefined;
    }, 30_000, srv.log);
    const okAt = Date.now();
    expect(ok.body.status).toBe('ok');
    expect((ok.body.streams[0] as { max_data_lag_seconds?: number }).max_data_lag_seconds).toBe(7200);
    expect((await fetch(`${srv.base}/internal/analytics-sync`)).status).toBe(200);
    // (the job records its result just after the state it wrote is read)
    const m = await waitFor(async () => {
      const x = await scrape(srv.base);
      return sample(x, 'vigil_run_status', { job: 'sync_often' }) !== undefined ? x : undefined;
    }, 10_000, srv.log);
    expect(m.text).toMatch(/^vigil_sync_rows_total\{stream="raw\.events"\} \d+$/m);
    // every source row counted at least once (a delta re-reads its lookback window: more is fine)
    expect(sample(m, 'vigil_sync_rows_total', { stream: 'raw.events' })).toBeGreaterThanOrEqual(500);
    expect(sample(m, 'vigil_run_status', { job: 'sync_often' })).toBe(1);
    expect(sample(m, 'vigil_job_last_success_timestamp_seconds', { job: 'sync_often' })).toBeGreaterThan(Date.now() / 1000 - 30);
    expect(m.families.get('vigil_sync_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(Number(/^vigil_sync_duration_seconds_count\{stream="raw\.events",status="success"\} (\d+)$/m.exec(m.text)?.[1])).toBeGreaterThanOrEqual(1);
    // within the SLO when /health said so, older by the time since (a loaded machine may take seconds)
    expect(sample(m, 'vigil_sync_lag_seconds', { stream: 'raw.events', lag: 'sync' })).toBeLessThan(4 + (Date.now() - okAt) / 1000);
    // the newest source row is about an hour old
    expect(sample(m, 'vigil_sync_lag_seconds', { stream: 'raw.events', lag: 'data' })).toBeGreaterThan(3500);
    for (const name of ['vigil_model_build_duration_seconds', 'vigil_alerts_firing', 'vigil_notifications_total', 'process_resident_memory_bytes']) expect(m.families.has(name), name).toBe(true);

    // the source table goes away (renamed in the application): every sync job fails, and 4 s later
    // the SLO is breached. A stream whose table is not there is the project's mistake, not the
    // source's failure: /health says why through the job's failure, at the stream's line, and the
    // stream's failure count stays (was: counted in the sync state, like an unreachable source)
    await client.query(`alter table ${s}.events rename to events_gone`);
    // (on a loaded machine the 4 s SLO can be breached before the first failing run is recorded:
    // wait for the 503 that also names the job's failure for the missing table)
    const mistake = /^job sync_often failed at [^:]+:[^\n]*raw\.events: stream raw\.events: table \w+\.events does not exist in the source database[^\n]*\(models\/sources\.yml:6\)/;
    const lastRun = (h: Awaited<ReturnType<typeof health>>) => h.body.jobs.find((j) => j.job === 'sync_often')?.last_run;
    const bad = await waitFor(async () => {
      const h = await health(srv.base);
      return h.status === 503 && lastRun(h)?.status === 'error' && h.body.problems.some((p) => mistake.test(p)) ? h : undefined;
    }, 30_000, srv.log);
    expect(bad.body.status).toBe('failing');
    const ev = bad.body.streams.find((x) => x.stream === 'raw.events')!;
    expect(ev.ok).toBe(false);
    expect(ev.problem).toMatch(/raw\.events: last successful sync \d+s ago \(SLO 4s\)/);
    // a run under way when the table went fails reading it: a source's failure, counted (at most
    // that one); the runs after it, the project's mistake, count nothing
    const counted = ev.consecutive_failures;
    expect(counted).toBeLessThanOrEqual(1);
    const later = await waitFor(async () => {
      const h = await health(srv.base);
      return lastRun(h)?.status === 'error' && lastRun(h)!.finished_at > lastRun(bad)!.finished_at ? h : undefined;
    }, 30_000, srv.log);
    expect(later.body.problems.some((p) => mistake.test(p)), later.body.problems.join('\n')).toBe(true);
    expect(later.body.streams.find((x) => x.stream === 'raw.events')!.consecutive_failures).toBe(counted);
    const m2 = await scrape(srv.base);
    expect(sample(m2, 'vigil_run_status', { job: 'sync_often' })).toBe(0);
    expect(sample(m2, 'vigil_sync_consecutive_failures', { stream: 'raw.events' })).toBe(counted);
    expect(sample(m2, 'vigil_job_runs_total', { job: 'sync_often', result: 'error' })).toBeGreaterThanOrEqual(2);
    // and back: the table returns, the next sync succeeds, 200 again
    await client.query(`alter table ${s}.events_gone rename to events`);
    await waitFor(async () => ((await health(srv.base)).status === 200 ? true : undefined), 30_000, srv.log);
    expect((await fetch(`${srv.base}/nope`)).status).toBe(404);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
    expect(srv.log()).toMatch(/serve stopped/);
    expect(srv.log()).toMatch(/sync_often: FAILED after [\d.]+s \(1 in a row; serve keeps running\)/);
    expect(srv.log()).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('SIGTERM between the sync of a build_after job and its build: the run is abandoned, not a success without its build', async () => {
    const s = uniqueSchema('serve_tb');
    await source(s, 200);
    const dir = project(s, { schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *", build_after: true }', models: { 'models/n.sql': "select count(*) as n from {{ source('raw', 'events') }}" } });
    // serve signals itself between the sync and its build
    const srv = await startServe(dir, ['--run-now'], { DATABASE_URL: url, VIGIL_TEST_SIGTERM_BEFORE_BUILD: '1' });
    expect(await srv.exited, srv.log()).toBe(0);
    expect(srv.log()).toMatch(/sync_yearly: stopping before the build of what reads raw\.events; the next run builds it/);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const [lease] = await db.query<{ body: string }>(`select body from analytics.vigil_serve_leases where id = 'job:sync_yearly'`);
      const status = (JSON.parse(lease.body) as { last: { status: string } }).last.status;
      const built = (await db.query(`select 1 from information_schema.tables where table_schema = 'analytics' and table_name = 'n'`)).length > 0;
      // abandoned: its slot is given back (a catch-up at the next start runs it again)
      expect(status).toBe('abandoned');
      expect(built).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('a build after a sync that throws: the job fails, and the streams its sync recorded are not counted failed again', async () => {
    const s = uniqueSchema('serve_bt');
    await source(s, 200);
    const dir = project(s, { schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *", build_after: true }', models: { 'models/n.sql': "select count(*) as n from {{ source('raw', 'events') }}" } });
    const srv = await startServe(dir, ['--run-now'], { DATABASE_URL: url, VIGIL_TEST_BUILD_THROWS: '1' });
    const h = await waitFor(async () => {
      const x = await health(srv.base);
      return x.body.jobs.find((j) => j.job === 'sync_yearly')?.last_run ? x : undefined;
    }, 60_000, srv.log);
    // the job failed (its build did), the stream synced: its count and status are the sync's
    expect(h.body.jobs.find((j) => j.job === 'sync_yearly')!.last_run!.status).toBe('error');
    const ev = h.body.streams.find((x) => x.stream === 'raw.events')!;
    expect(ev.consecutive_failures, JSON.stringify(h.body)).toBe(0);
    expect(ev.ok, JSON.stringify(h.body)).toBe(true);
    expect(sample(await scrape(srv.base), 'vigil_sync_consecutive_failures', { stream: 'raw.events' })).toBe(0);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
    expect(srv.log()).toMatch(/sync_yearly: FAILED after [\d.]+s \(1 in a row; serve keeps running\): the build could not open the warehouse \(test\)/);
  });

  it('SIGTERM in the middle of a sync (30,000 rows in batches of 1,000): the batch in progress commits, serve exits 0, and nothing is lost or doubled', async () => {
    const s = uniqueSchema('serve_term');
    await source(s, 30_000);
    const dir = project(s, { schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *" }', batch: 1000 });
    const srv = await serve(dir, ['--run-now']);
    await waitFor(() => (/batch 4,/.test(srv.log()) ? true : undefined), 60_000, srv.log);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
    expect(srv.log()).toMatch(/SIGTERM: stopping after sync_yearly reaches a safe point/);
    expect(srv.log()).toMatch(/sync_yearly: stopped at a safe point after [\d.]+s: [\d,]+ rows/);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    let partial: number;
    try {
      partial = Number((await db.query<{ n: bigint }>(`select count(*) as n from raw_${s}.events`))[0].n);
      const [st] = await db.query<{ last_status: string; f: number }>(`select last_status, consecutive_failures as f from raw_${s}.vigil_sync_state`);
      // stopped, not failed: nothing for the failure alerts to count
      expect(st).toEqual({ last_status: 'interrupted', f: 0 });
      const lease = await db.query<{ body: string }>(`select body from analytics.vigil_serve_leases where id = 'job:sync_yearly'`);
      expect(JSON.parse(lease[0].body)).toMatchObject({ last: { status: 'abandoned' } });
      expect(JSON.parse(lease[0].body).holder).toBeUndefined();
    } finally {
      await db.close();
    }
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(30_000);
    // the next run goes on from the cursor; then every row equals its source row
    const r = vigil(dir, ['sync'], { DATABASE_URL: url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const src = (await client.query(`select id::text || '|' || payload::text || '|' || note || '|' || to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US') as r from ${s}.events order by id`)).rows.map((x) => x.r as string);
    const db2 = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const dst = await db2.query<{ id: string; payload: string; note: string; t: string }>(`select cast(e.id as varchar) as id, cast(e.payload as varchar) as payload, e.note, strftime(e.created_at, '%Y-%m-%d %H:%M:%S.%f') as t from raw_${s}.events e order by e.id`);
      const norm = (id: string, json: string, note: string, t: string) => `${id}|${JSON.stringify(JSON.parse(json))}|${note}|${t}`;
      const want = src.map((x) => {
        const [id, ...rest] = x.split('|');
        const t = rest.pop()!;
        const note = rest.pop()!;
        return norm(id, rest.join('|'), note, t);
      });
      const got = dst.map((x) => norm(x.id, x.payload, x.note, x.t));
      expect(got.length).toBe(30_000);
      // row by row; only the first differences are shown
      expect(got.filter((g, i) => g !== want[i]).slice(0, 3)).toEqual([]);
    } finally {
      await db2.close();
    }
  });

  it('two serve processes sharing one Postgres target run each slot of each job once', async () => {
    const s = uniqueSchema('serve_two');
    const wh = uniqueSchema('serve_two_wh');
    await source(s, 200);
    const dir = project(s, {
      target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`,
      schedules: '  sync_often: { command: sync, cron: "*/2 * * * * *" }\n  build_often: { command: build, cron: "*/3 * * * * *" }',
      models: { 'models/event_count.sql': "select count(*) as n from {{ source('raw', 'events') }}\n" },
    });
    const a = await serve(dir);
    const b = await serve(dir);
    await new Promise((r) => setTimeout(r, 10_000));
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited, a.log()).toBe(0);
    expect(await b.exited, b.log()).toBe(0);
    const started = (log: string, job: string) => [...log.matchAll(new RegExp(`${job}: \\w+ started for (\\S+)`, 'g'))].map((x) => x[1]);
    for (const job of ['sync_often', 'build_often']) {
      const all = [...started(a.log(), job), ...started(b.log(), job)];
      // each slot ran in exactly one of the two
      expect(new Set(all).size, `${job}:\n${a.log()}\n---\n${b.log()}`).toBe(all.length);
      expect(all.length).toBeGreaterThanOrEqual(2);
    }
    // both woke for the slots: the one that lost said so
    expect(a.log() + b.log()).toMatch(/skipped the run for \S+: (the run for \S+ was already claimed|running on )/);
    const n = (await client.query(`select n::int as n from ${wh}.event_count`)).rows[0].n;
    expect(n).toBe(200);
  });
  it('two serve processes, two jobs syncing one stream at the same slots (a delta and a full, say): they take turns on the stream, and no run fails', async () => {
    const s = uniqueSchema('serve_stream');
    const wh = uniqueSchema('serve_stream_wh');
    await source(s, 6000);
    // both full (each run commits every batch again): two at once, the second to commit a batch failed
    const dir = project(s, {
      target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`,
      schedules: '  sync_one: { command: sync, cron: "*/4 * * * * *", mode: full }\n  sync_two: { command: sync, cron: "*/4 * * * * *", mode: full }',
      batch: 300,
    });
    const a = await serve(dir);
    const b = await serve(dir);
    const logs = () => `${a.log()}\n---\n${b.log()}`;
    await waitFor(() => (/waits for stream raw\.events, held by job sync_(one|two) on /.test(logs()) && /sync_one: OK/.test(logs()) && /sync_two: OK/.test(logs()) ? true : undefined), 60_000, logs);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited, a.log()).toBe(0);
    expect(await b.exited, b.log()).toBe(0);
    expect(logs()).not.toMatch(/FAILED|another vigil sync of this stream/);
    const [copy] = (await client.query(`select count(*)::int as n, count(distinct id)::int as ids from raw_${s}.events`)).rows;
    expect(copy).toEqual({ n: 6000, ids: 6000 });
    const [state] = (await client.query(`select consecutive_failures from raw_${s}.vigil_sync_state where stream = 'raw.events'`)).rows;
    expect(state.consecutive_failures).toBe(0);
  }, 120_000);

  it("a sync job whose stream another job holds waits a few seconds, then is deferred: the queue goes on (the other jobs run meanwhile), and it runs once the stream is free (was: it held the queue for up to a whole lease, again at each retry)", async () => {
    const s = uniqueSchema('serve_defer');
    const wh = uniqueSchema('serve_defer_wh');
    await source(s, 50);
    const dir = project(s, {
      target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`,
      serve: '  lease: 60s',
      schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *" }\n  build_often: { command: build, cron: "*/2 * * * * *" }',
      models: { 'models/one.sql': 'select 1 as n\n' },
    });
    // another job (another serve's, here this test's) holds the stream for a whole lease
    const other = new JobLeases(wh, 60_000);
    const db = await PostgresAdapter.open({ type: 'postgres', url, schema: wh }, 1);
    try {
      expect(await other.holdStreams(db, ['raw.events'], 'sync_nightly_full', { waitMs: 0, pollMs: 100 })).toMatchObject({ ok: true });
      const srv = await serve(dir, ['--run-now']);
      await waitFor(() => (/sync_yearly: deferred after /.test(srv.log()) ? true : undefined), 30_000, srv.log);
      expect(srv.log()).toMatch(/sync_yearly: waits for stream raw\.events, held by job sync_nightly_full on \S+ \(pid \d+\) since \S+ \(at most 5s\)/);
      expect(srv.log()).toMatch(/sync_yearly: deferred after [\d.]+s: stream raw\.events, held by job sync_nightly_full .*, still after 5s: its slot is given back \(the queue goes on meanwhile\), and the job runs again once the stream is free/);
      // the build job runs while the stream is still held
      const builds = () => [...srv.log().matchAll(/build_often: OK/g)].length;
      await waitFor(() => (builds() >= 2 ? true : undefined), 30_000, srv.log);
      expect(srv.log()).not.toMatch(/sync_yearly: (OK|FAILED)/);
      // the holder is done: the sync runs, without its next slot (a year away)
      await other.releaseStreams(db, ['raw.events']);
      await waitFor(() => (/sync_yearly: (OK|FAILED)/.test(srv.log()) ? true : undefined), 30_000, srv.log);
      srv.child.kill('SIGTERM');
      expect(await srv.exited, srv.log()).toBe(0);
      expect(srv.log()).toMatch(/sync_yearly: sync started for \S+ \(catching up: /);
      expect(srv.log()).toMatch(/sync_yearly: OK/);
      expect(srv.log()).not.toMatch(/FAILED/);
    } finally {
      await db.close();
    }
    const [copy] = (await client.query(`select count(*)::int as n from raw_${s}.events`)).rows;
    expect(copy.n).toBe(50);
  }, 120_000);

  it('a sync that meets another vigil sync of its stream (one that takes no lease: an earlier Vigil) runs it once more: OK, not a failure', async () => {
    const s = uniqueSchema('serve_clash');
    const wh = uniqueSchema('serve_clash_wh');
    await source(s, 100);
    const dir = project(s, { target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`, schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *" }' });
    expect(vigil(dir, ['sync'], { DATABASE_URL: url }).code).toBe(0);
    await client.query(`insert into ${s}.events select i, '{}'::jsonb, 'n', now() from generate_series(101, 150) i`);
    // another sync's batch, not committed yet: it holds the stream's state row
    const other = new pg.Client(url);
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`update raw_${s}.vigil_sync_state set rows_synced = rows_synced + 1 where stream = 'raw.events'`);
      const srv = await serve(dir, ['--run-now']);
      // serve's batch waits for that row; then the other commits first
      await waitFor(async () => (await client.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%vigil_sync_state%'`)).rows.length > 0, 60_000, srv.log);
      await other.query('commit');
      await waitFor(() => /sync_yearly: (OK|FAILED)/.test(srv.log()), 60_000, srv.log);
      srv.child.kill('SIGTERM');
      expect(await srv.exited, srv.log()).toBe(0);
      expect(srv.log()).toMatch(/sync_yearly: another vigil sync of raw\.events committed a batch while this one ran \(one that took no lease of it: an earlier Vigil\?\); syncing it once more/);
      expect(srv.log()).toMatch(/sync_yearly: OK/);
      expect(srv.log()).not.toMatch(/FAILED/);
    } finally {
      await other.end();
    }
    const [copy] = (await client.query(`select count(*)::int as n, count(distinct id)::int as ids from raw_${s}.events`)).rows;
    expect(copy).toEqual({ n: 150, ids: 150 });
  }, 120_000);

  it("a sync whose lease of its stream ran out and was taken over, meeting the batch of the job that took it: says so (was: \"one that took no lease of it: an earlier Vigil?\")", async () => {
    const s = uniqueSchema('serve_taken');
    const wh = uniqueSchema('serve_taken_wh');
    await source(s, 100);
    const dir = project(s, { target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`, schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *" }' });
    expect(vigil(dir, ['sync'], { DATABASE_URL: url }).code).toBe(0);
    await client.query(`insert into ${s}.events select i, '{}'::jsonb, 'n', now() from generate_series(101, 150) i`);
    const other = new pg.Client(url);
    await other.connect();
    try {
      // the other job's batch, not committed yet: it holds the stream's state row
      await other.query('begin');
      await other.query(`update raw_${s}.vigil_sync_state set rows_synced = rows_synced + 1 where stream = 'raw.events'`);
      const srv = await serve(dir, ['--run-now']);
      await waitFor(async () => (await client.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%vigil_sync_state%'`)).rows.length > 0, 60_000, srv.log);
      // meanwhile serve's lease of the stream ran out and job sync_nightly_full of another serve took it over
      const taken = { holder: { owner: 'host-b:412:abcd', host: 'host-b', pid: 412, since: new Date().toISOString(), until: new Date(Date.now() + 600_000).toISOString(), lease_ms: 600_000, job: 'sync_nightly_full' } };
      await client.query(`update ${wh}.vigil_serve_leases set body = $1 where id = 'stream:raw.events'`, [JSON.stringify(taken)]);
      await other.query('commit');
      await waitFor(() => /sync_yearly: (OK|FAILED|deferred)/.test(srv.log()), 60_000, srv.log);
      srv.child.kill('SIGTERM');
      expect(await srv.exited, srv.log()).toBe(0);
      expect(srv.log()).toMatch(/sync_yearly: this run's lease of raw\.events ran out \(the run was stopped or stalled past serve\.lease\) and job sync_nightly_full on host-b \(pid 412\) took it over, which committed a batch of it meanwhile/);
      expect(srv.log()).not.toMatch(/an earlier Vigil\?/);
    } finally {
      await other.end();
    }
  }, 120_000);

  it.each(['SIGTERM', 'SIGKILL'] as const)('a run the other serve holds, stopped mid-sync by %s, is caught up by the serve already running within a lease, once: every row, none twice', async (sig) => {
    const s = uniqueSchema(`serve_take_${sig.toLowerCase()}`);
    const wh = uniqueSchema(`serve_take_${sig.toLowerCase()}_wh`);
    await source(s, 30_000);
    const dir = project(s, { target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`, serve: '  lease: 10s', schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *" }', batch: 500 });
    const a = await serve(dir, ['--run-now']);
    await waitFor(() => (/batch 2,/.test(a.log()) ? true : undefined), 60_000, a.log);
    // b starts while a holds the job (it reads the lease at start: a live holder, nothing to catch up yet)
    const b = await serve(dir);
    await waitFor(() => (/ {2}sync_yearly: sync, "0 0 1 1 \*" UTC, next /.test(b.log()) ? true : undefined), 30_000, b.log);
    expect(a.log(), 'a finished before b started: the source is too small for this machine').not.toMatch(/sync_yearly: (OK|FAILED)/);
    a.child.kill(sig);
    expect(await a.exited, a.log()).toBe(sig === 'SIGTERM' ? 0 : 128);
    const stoppedAt = Date.now();
    if (sig === 'SIGTERM') expect(a.log()).toMatch(/sync_yearly: stopped at a safe point/);
    // (was: not before b's own next slot, a year away)
    await waitFor(() => (/sync_yearly: sync started for /.test(b.log()) ? true : undefined), 10_000, b.log);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(b.log()).toMatch(sig === 'SIGTERM' ? /sync_yearly: sync started for \S+ \(catching up: the last run \(\S+ pid \d+\) was stopped before its end\)/ : /sync_yearly: sync started for \S+ \(catching up: the run for \S+ died with its process \(pid \d+ on \S+ is gone\)\)/);
    await waitFor(() => (/sync_yearly: (OK|FAILED)/.test(b.log()) ? true : undefined), 60_000, b.log);
    expect(b.log()).toMatch(/sync_yearly: OK/);
    // once: b ran it once, and no one else
    await new Promise((r) => setTimeout(r, 4000));
    b.child.kill('SIGTERM');
    expect(await b.exited, b.log()).toBe(0);
    expect([...b.log().matchAll(/sync_yearly: sync started/g)].length).toBe(1);
    expect([...a.log().matchAll(/sync_yearly: sync started/g)].length).toBe(1);
    const [copy] = (await client.query(`select count(*)::int as n, count(distinct id)::int as ids from raw_${s}.events`)).rows;
    expect(copy).toEqual({ n: 30_000, ids: 30_000 });
    const differ = (await client.query(`select count(*)::int as n from ${s}.events e full join raw_${s}.events c using (id) where c.id is null or e.id is null or c.payload::jsonb <> e.payload or c.note <> e.note or c.created_at <> e.created_at`)).rows[0].n;
    expect(differ).toBe(0);
    const lease = JSON.parse((await client.query(`select body from ${wh}.vigil_serve_leases where id = 'job:sync_yearly'`)).rows[0].body);
    expect(lease.last.status).toBe('success');
    expect(lease.holder).toBeUndefined();
  });

  it("a serve stopped (SIGSTOP) past its lease while it builds, and continued (SIGCONT) after another serve took the job over, starts no further model: the job never runs twice at once (was: it went on building beside the other, and an incremental model got its rows twice)", async () => {
    const wh = uniqueSchema('serve_stopped_wh');
    const dir = project('serve_stopped', {
      target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`,
      serve: '  lease: 10s',
      schedules: '  build_yearly: { command: build, cron: "0 0 1 1 *" }',
      models: {
        'models/slow.sql': "{{ config(materialized='table') }}\nselect 1 as x from (select pg_sleep(3)) s\n",
        // fails at once, in each run: a's run had a real failure before its lease ran out
        'models/broken.sql': 'select x from (select 1 as y) s\n',
        // one row more at each run that builds it
        'models/runs.sql': "{{ config(materialized='incremental') }}\nselect clock_timestamp() as at, x from {{ ref('slow') }}\n",
      },
    });
    const a = await serve(dir, ['--run-now']);
    await waitFor(() => (/ERROR creating view [^\n]*\.broken /.test(a.log()) ? true : undefined), 30_000, a.log);
    a.child.kill('SIGSTOP');
    try {
      // b starts while a holds the job, and takes it over once a's lease has run out (a renews nothing while stopped)
      const b = await serve(dir);
      await waitFor(() => (/build_yearly: build started for \S+ \(catching up: the run for \S+ lost its lease/.test(b.log()) ? true : undefined), 60_000, b.log);
      expect(a.log(), 'a built runs before it was stopped: the precondition of the test').not.toMatch(/OK (created|inserted)[^\n]*\.runs /);
      a.child.kill('SIGCONT');
      await waitFor(() => (/build_yearly: (OK|FAILED|stopped at a safe point)/.test(a.log()) && /build_yearly: (OK|FAILED)/.test(b.log()) ? true : undefined), 60_000, () => `${a.log()}\n---\n${b.log()}`);
      // a's run failed (broken) before it was stopped for its lease: an error, counted, not a run given back
      expect(a.log()).toMatch(/build_yearly: FAILED after [\d.]+s \(1 in a row; serve keeps running\): (its lease ran out while it ran|lost its lease)[^\n]*1 failed: broken/);
      expect(a.log()).not.toMatch(/OK (created|inserted)[^\n]*\.runs /);
      expect(b.log()).toMatch(/build_yearly: FAILED after [\d.]+s \(1 in a row; serve keeps running\): 3 nodes, 1 failed: broken/);
      // built by one run only
      expect((await client.query(`select count(*)::int as n from ${wh}.runs`)).rows[0].n).toBe(1);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a.exited, a.log()).toBe(0);
      expect(await b.exited, b.log()).toBe(0);
      // b's run is the one recorded; a's run, stopped after b took the job over, wrote nothing of it
      const lease = JSON.parse((await client.query(`select body from ${wh}.vigil_serve_leases where id = 'job:build_yearly'`)).rows[0].body);
      expect(lease.last.status).toBe('error');
      expect(lease.last.by).toBe(`${hostname()} pid ${b.child.pid}`);
      expect(lease.holder).toBeUndefined();
    } finally {
      a.child.kill('SIGCONT');
    }
  }, 120_000);

  it('notifications held by group_wait are sent when due, not at the alerts job\'s next slot (a year away here)', async () => {
    const pd = await startFakePagerDuty();
    try {
      const dir = project('serve_held', {
        schedules: '  alerts: { command: alerts, cron: "0 0 1 1 *" }',
        models: {
          'alerts/a.yaml': 'alerts:\n  - name: always\n    severity: critical\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    summary: "n is {{ n }}"\n',
          'alerts/routes.yaml': 'receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }\nroute:\n  receiver: pd\n  group_wait: 3s\n',
        },
      });
      // (and `--listen :0`, every interface: IPv4 and IPv6 both answer)
      const srv = await startServe(dir, ['--run-now', '--listen', ':0'], { DATABASE_URL: url, PD_KEY: 'R0UT1NGKEY0123456789abcdefSECRET', PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath });
      const port = new URL(srv.base).port;
      expect(srv.base).toBe(`http://[::]:${port}`);
      for (const host of ['127.0.0.1', '[::1]']) expect((await fetch(`http://${host}:${port}/metrics`)).status).toBe(200);
      await waitFor(() => /alerts: OK/.test(srv.log()), 60_000, srv.log);
      expect(srv.log()).toMatch(/held: always\{\} -> pd until/);
      expect(pd.events).toHaveLength(0);
      await waitFor(() => pd.events.length > 0, 30_000, srv.log);
      expect(pd.events.map((e) => e.event_action)).toEqual(['trigger']);
      await waitFor(() => /alerts: sent what group_wait \/ group_interval held: 1 sent/.test(srv.log()), 10_000, srv.log);
      srv.child.kill('SIGTERM');
      expect(await srv.exited, srv.log()).toBe(0);
      expect(pd.events).toHaveLength(1);
    } finally {
      pd.close();
    }
  });

  it("a held notification whose send failed (the DuckDB file held by another process) is tried again shortly, not left to the alerts job's next slot (a year away here)", async () => {
    const pd = await startFakePagerDuty();
    let holder: ChildProcess | undefined;
    try {
      const dir = project('serve_held_retry', {
        schedules: '  alerts: { command: alerts, cron: "0 0 1 1 *" }',
        models: {
          'alerts/a.yaml': 'alerts:\n  - name: always\n    severity: critical\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    summary: "n is {{ n }}"\n',
          'alerts/routes.yaml': 'receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }\nroute:\n  receiver: pd\n  group_wait: 2m\n',
        },
      });
      const srv = await startServe(dir, ['--run-now'], { DATABASE_URL: url, PD_KEY: 'R0UT1NGKEY0123456789abcdefSECRET', PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath, ...clockStep(122_000) });
      await waitFor(() => /alerts: OK/.test(srv.log()), 60_000, srv.log);
      expect(srv.log()).toMatch(/held: always\{\} -> pd until/);
      // another process (a long `vigil build`, a BI tool) takes the file before the held send
      // (group_wait 2m, its end brought on by stepping serve's clock once the file is held: was
      // 8 s of real time, and starting the holder took over 1.2 s on a loaded CI machine)
      holder = await holdDuckDb(join(dir, '.vigil/dev.duckdb'));
      srv.child.kill('SIGUSR2');
      await waitFor(() => /alerts: held notifications not sent: .*trying again in 1s/.test(srv.log()), 30_000, srv.log);
      expect(pd.events).toHaveLength(0);
      holder.kill('SIGKILL');
      // sent at a try after the file is free (1 s, 2 s, 4 s ... apart): was never, until the job's next slot
      await waitFor(() => pd.events.length > 0, 30_000, srv.log);
      await waitFor(() => /alerts: sent what group_wait \/ group_interval held: 1 sent/.test(srv.log()), 10_000, srv.log);
      srv.child.kill('SIGTERM');
      expect(await srv.exited, srv.log()).toBe(0);
      expect(pd.events.map((e) => e.event_action)).toEqual(['trigger']);
    } finally {
      holder?.kill('SIGKILL');
      pd.close();
    }
  }, 120_000);

  it("a firing alert whose silence ends is notified then, not at the alerts job's next slot (a year away here), as run-scheduler does", async () => {
    const pd = await startFakePagerDuty();
    try {
      const dir = project('serve_silence_ends', {
        schedules: '  alerts: { command: alerts, cron: "0 0 1 1 *" }',
        models: {
          'alerts/a.yaml': 'alerts:\n  - name: always\n    severity: critical\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    summary: "n is {{ n }}"\n',
          'alerts/routes.yaml': 'receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }\nroute:\n  receiver: pd\n  group_wait: 0s\n',
        },
      });
      const env = { DATABASE_URL: url, PD_KEY: 'R0UT1NGKEY0123456789abcdefSECRET', PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath };
      // (5 minutes: the silence surely holds while serve starts and evaluates, however loaded the
      // machine; serve's wall clock is then stepped past its end (test/support/clock-step.mjs), as
      // time passing would move it: was a 20 s silence waited out)
      const silence = vigil(dir, ['alerts', 'silence', '--match', 'alertname=always', '--for', '5m', '--comment', 'maintenance'], env);
      expect(silence.code, silence.stderr).toBe(0);
      const ends = Date.now() + 300_000;
      // --run-now evaluates the rule: it fires, silenced; the job's next slot is a year away
      const step = ends - Date.now() + 2000;
      const srv = await startServe(dir, ['--run-now'], { ...env, ...clockStep(step) });
      await waitFor(() => /alerts: OK/.test(srv.log()), 40_000, srv.log);
      // (evaluated while the silence held: nothing sent)
      expect(Date.now(), srv.log()).toBeLessThan(ends);
      expect(pd.events).toHaveLength(0);
      // the silence ends, by serve's clock: now
      const endedAt = Date.now();
      srv.child.kill('SIGUSR2');
      await waitFor(() => pd.events.length > 0, 30_000, srv.log);
      const sentAt = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      srv.child.kill('SIGTERM');
      expect(await srv.exited, srv.log()).toBe(0);
      // (when the silence ended: within the wall-clock look of serve's timers (5 s) and a run, not at the job's next slot)
      expect(sentAt).toBeGreaterThan(endedAt);
      expect(sentAt - endedAt, srv.log()).toBeLessThan(10_000);
      expect(pd.events.map((e) => e.event_action)).toEqual(['trigger']);
    } finally {
      pd.close();
    }
  }, 90_000);

  it('a notification group_wait held when serve stopped is sent when due by the next serve, and once only', async () => {
    const pd = await startFakePagerDuty();
    try {
      const dir = project('serve_held_restart', {
        schedules: '  alerts: { command: alerts }',
        models: {
          'alerts/a.yaml': 'alerts:\n  - name: always\n    severity: critical\n    schedule: "0 0 1 1 *"\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    summary: "n is {{ n }}"\n',
          'alerts/routes.yaml': 'receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }\nroute:\n  receiver: pd\n  group_wait: 8s\n',
        },
      });
      const env = { DATABASE_URL: url, PD_KEY: 'R0UT1NGKEY0123456789abcdefSECRET', PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath };
      // the rule runs once a year: --run-now evaluates it, group_wait holds its notification, serve stops
      const first = await startServe(dir, ['--run-now'], env);
      await waitFor(() => /alerts: OK/.test(first.log()), 60_000, first.log);
      expect(first.log()).toMatch(/held: always\{\} -> pd until/);
      first.child.kill('SIGTERM');
      expect(await first.exited, first.log()).toBe(0);
      expect(pd.events).toHaveLength(0);
      // the next serve has no rule due for a year: it sends the held notification when its time comes
      const second = await startServe(dir, [], env);
      await waitFor(() => pd.events.length > 0, 30_000, second.log);
      // (sent when due, or by the alerts job's own minute if that came first: 'held or was left to retry')
      await waitFor(() => /alerts: (OK in [\d.]+s: no rule due; )?sent what group_wait \/ group_interval held( or was left to retry)?: 1 sent/.test(second.log()), 10_000, second.log);
      second.child.kill('SIGTERM');
      expect(await second.exited, second.log()).toBe(0);
      // and a third finds nothing left to send. Its /health and /metrics know the job's last run
      // (the first serve's, from the warehouse) before it runs the job itself (was: none, until then)
      const third = await startServe(dir, [], env);
      // (read once the start has read the warehouse: it lists the schedules then)
      await waitFor(() => / {2}alerts: alerts, each alert on its own schedule, next /.test(third.log()), 30_000, third.log);
      const job = (await health(third.base)).body.jobs.find((j) => j.job === 'alerts')!;
      expect(job.last_run, third.log()).toMatchObject({ status: 'success' });
      expect(Date.parse(job.last_success_at!)).toBeLessThan(Date.now());
      const m = await scrape(third.base);
      expect(sample(m, 'vigil_run_status', { job: 'alerts' })).toBe(1);
      expect(sample(m, 'vigil_job_last_success_timestamp_seconds', { job: 'alerts' })).toBe(Date.parse(job.last_success_at!) / 1000);
      await new Promise((r) => setTimeout(r, 3000));
      third.child.kill('SIGTERM');
      expect(await third.exited, third.log()).toBe(0);
      expect(third.log()).not.toMatch(/sent what group_wait[^\n]*: [1-9]\d* sent/);
      expect(pd.events.map((e) => e.event_action)).toEqual(['trigger']);
    } finally {
      pd.close();
    }
  });

  it('a notification left pending (no routing key) is sent by the next serve at start, though no rule is due, and once only', async () => {
    const pd = await startFakePagerDuty();
    try {
      const dir = project('serve_pending_restart', {
        schedules: '  alerts: { command: alerts }',
        models: {
          'alerts/a.yaml': 'alerts:\n  - name: always\n    severity: critical\n    schedule: "0 0 1 1 *"\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    summary: "n is {{ n }}"\n',
          'alerts/routes.yaml': 'receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }\nroute:\n  receiver: pd\n  group_wait: 0s\n',
        },
      });
      const env = { DATABASE_URL: url, PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath };
      const first = await startServe(dir, ['--run-now'], env);
      await waitFor(() => /alerts: FAILED.*1 notification not delivered \(pending\)/.test(first.log()), 60_000, first.log);
      first.child.kill('SIGTERM');
      expect(await first.exited, first.log()).toBe(0);
      // the key is set now: the next serve sends it at start (its rule is not due for a year)
      const second = await startServe(dir, [], { ...env, PD_KEY: 'R0UT1NGKEY0123456789abcdefSECRET' });
      await waitFor(() => pd.events.length > 0, 30_000, second.log);
      await new Promise((r) => setTimeout(r, 2000));
      second.child.kill('SIGTERM');
      expect(await second.exited, second.log()).toBe(0);
      expect(pd.events.map((e) => e.event_action)).toEqual(['trigger']);
    } finally {
      pd.close();
    }
  });

  it('a stream removed from or added to sources.yml while serve runs: /health and /metrics follow the project each job compiles', async () => {
    const s = uniqueSchema('serve_streams');
    await source(s, 50);
    for (const t of ['events2', 'events3']) await client.query(`create table ${s}.${t} (like ${s}.events including all); insert into ${s}.${t} select * from ${s}.events`);
    const dir = project(s, { schedules: '  sync_often: { command: sync, cron: "*/2 * * * * *" }', serve: '  max_sync_age: 4s' });
    const sources = (tables: string[]) =>
      `sources:\n  - name: raw\n    schema: raw_${s}\n    sync: { from: app, schema: ${s} }\n    tables:\n${tables.map((t) => `      - name: ${t}\n        sync: { primary_key: id, cursor: created_at }\n`).join('')}`;
    writeFileSync(join(dir, 'models/sources.yml'), sources(['events', 'events2']));
    const srv = await serve(dir);
    const streams = async () => {
      const h = await health(srv.base);
      return { h, names: h.body.streams.map((x) => x.stream).sort().join(' ') };
    };
    await waitFor(async () => {
      const { h, names } = await streams();
      return h.status === 200 && names === 'raw.events raw.events2' ? true : undefined;
    }, 30_000, srv.log);
    // removed: gone from /health at the next run, and its lag no longer grows in /metrics
    writeFileSync(join(dir, 'models/sources.yml'), sources(['events']));
    await waitFor(async () => ((await streams()).names === 'raw.events' ? true : undefined), 15_000, srv.log);
    await new Promise((r) => setTimeout(r, 5000)); // longer than max_sync_age: raw.events2 would breach it
    const after = await streams();
    expect(after.names).toBe('raw.events');
    expect(after.h.status, JSON.stringify(after.h.body)).toBe(200);
    // (the counters and histograms keep what this process did for it)
    expect((await scrape(srv.base)).text).not.toMatch(/^vigil_sync_(lag_seconds|consecutive_failures)\{stream="raw\.events2"/m);
    // added: synced, judged, and measured
    writeFileSync(join(dir, 'models/sources.yml'), sources(['events', 'events3']));
    const added = await waitFor(async () => {
      const { h, names } = await streams();
      const ev3 = h.body.streams.find((x) => x.stream === 'raw.events3') as { judged?: boolean; ok: boolean; sync_lag_seconds: number | null } | undefined;
      return names === 'raw.events raw.events3' && ev3?.judged && ev3.ok && ev3.sync_lag_seconds !== null ? h : undefined;
    }, 30_000, srv.log);
    expect(added.status).toBe(200);
    const m = await scrape(srv.base);
    expect(sample(m, 'vigil_sync_lag_seconds', { stream: 'raw.events3', lag: 'sync' })).toBeLessThan(10);
    expect(sample(m, 'vigil_sync_consecutive_failures', { stream: 'raw.events3' })).toBe(0);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
  });

  it("a stream whose key the source has not (misspelt, or renamed there): /health says so at the stream's line, and no failure is counted in the sync state (a mistake of the project's)", async () => {
    const s = uniqueSchema('serve_typo');
    await source(s, 5);
    const dir = project(s, { schedules: '  sync_often: { command: sync, cron: "*/2 * * * * *" }' });
    writeFileSync(join(dir, 'models/sources.yml'), readFileSync(join(dir, 'models/sources.yml'), 'utf8').replace('primary_key: id,', 'primary_key: idd,'));
    const srv = await serve(dir);
    const h = await waitFor(async () => {
      const x = await health(srv.base);
      return x.body.jobs.some((j) => j.last_run?.status === 'error') ? x : undefined;
    }, 30_000, srv.log);
    expect(h.body.problems.join('\n')).toContain(`raw.events: stream raw.events: primary_key column 'idd' is not in ${s}.events — did you mean 'id'? (models/sources.yml:7)`);
    expect(h.body.streams.map((x) => [x.stream, x.ok, x.consecutive_failures])).toEqual([['raw.events', false, 0]]);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
  });

  it('a long build: /health and /metrics name the job running and since when; SIGTERM skips the rest naming SIGTERM (not Ctrl-C)', async () => {
    const wh = uniqueSchema('serve_slow_wh');
    const dir = project('serve_slow', {
      target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`,
      schedules: '  slow_build: { command: build, cron: "0 0 1 1 *" }',
      models: { 'models/slow.sql': "{{ config(materialized='table') }}\nselect 1 as x from (select pg_sleep(6)) as s\n", 'models/after_slow.sql': "select * from {{ ref('slow') }}\n" },
    });
    const srv = await serve(dir, ['--run-now']);
    const h = await waitFor(async () => {
      const r = (await (await fetch(`${srv.base}/health`)).json()) as { running: { job: string; since: string; seconds: number } | null };
      return r.running?.job === 'slow_build' && /vigil [\d.]+ build: target/.test(srv.log()) ? r : undefined;
    }, 30_000, srv.log);
    expect(Date.parse(h.running!.since)).toBeLessThanOrEqual(Date.now());
    expect(h.running!.seconds).toBeGreaterThanOrEqual(0);
    await new Promise((r) => setTimeout(r, 1000));
    const m = await scrape(srv.base);
    expect(sample(m, 'vigil_job_running_seconds', { job: 'slow_build' })).toBeGreaterThan(0.5);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
    expect(srv.log()).toMatch(/SKIP .*after_slow.* \(interrupted \(SIGTERM\)\)/);
    expect(srv.log()).not.toMatch(/Ctrl-C/);
  });

  it("a warehouse that cannot be read from start: each failed sync run counts in its stream's consecutive failures, its sync lag grows from serve's start, /health says the state could not be read (was: 0 failures and no lag sample, so the alerts operations.md recommends never fired; \"never been synced\"); once it opens, a sync resets them", async () => {
    const s = uniqueSchema('serve_wh_down');
    const name = uniqueSchema('serve_wh_down_db');
    await source(s, 5);
    const at = new URL(url);
    at.pathname = `/${name}`;
    // (the server answers; the database is not there: down, or not yet restored)
    const dir = project(s, { target: `{ type: postgres, url: "${at.href}", schema: analytics }`, schedules: '  sync_delta: { command: sync, cron: "*/2 * * * * *" }' });
    const srv = await serve(dir);
    try {
      const m = await waitFor(async () => {
        const x = await scrape(srv.base);
        return (sample(x, 'vigil_sync_consecutive_failures', { stream: 'raw.events' }) ?? 0) >= 3 ? x : undefined;
      }, 30_000, srv.log);
      expect(srv.log()).toMatch(/sync_delta: FAILED .*could not claim the job in the warehouse: .*does not exist/);
      const lag = sample(m, 'vigil_sync_lag_seconds', { stream: 'raw.events', lag: 'sync' });
      expect(lag).toBeGreaterThan(0);
      // it grows while nothing syncs: `vigil_sync_lag_seconds{lag="sync"} > 900` fires after 15 minutes of it
      await new Promise((r) => setTimeout(r, 1200));
      expect(sample(await scrape(srv.base), 'vigil_sync_lag_seconds', { stream: 'raw.events', lag: 'sync' })).toBeGreaterThan(lag!);
      const down = await health(srv.base);
      expect(down.status).toBe(503);
      expect(down.body.streams[0].consecutive_failures).toBeGreaterThanOrEqual(3);
      expect(down.body.streams[0].problem).toMatch(/^raw\.events: its sync state could not be read from the warehouse \(.*does not exist.*\)$/);
      // the warehouse is back: the next sync succeeds, and the failures counted here are over
      await client.query(`create database ${name}`);
      const up = await waitFor(async () => {
        const h = await health(srv.base);
        return h.status === 200 ? h : undefined;
      }, 30_000, srv.log);
      expect(up.body.streams[0].consecutive_failures).toBe(0);
      expect(up.body.streams[0].sync_lag_seconds).not.toBeNull();
      expect(sample(await scrape(srv.base), 'vigil_sync_consecutive_failures', { stream: 'raw.events' })).toBe(0);
      srv.child.kill('SIGTERM');
      expect(await srv.exited, srv.log()).toBe(0);
    } finally {
      srv.child.kill('SIGKILL');
      await client.query(`drop database if exists ${name} with (force)`);
    }
  }, 90_000);

  it("a replica that skips a slot another ran follows that run in /health and /metrics (was: its own older last success until it ran the job itself)", async () => {
    const s = uniqueSchema('serve_skip');
    const wh = uniqueSchema('serve_skip_wh');
    await source(s, 1);
    // one slot, a few seconds from now (then an hour away)
    // (a minute ahead, brought on by stepping serve's wall clock once the other replica ran it:
    // was 8 s of real time ahead, a race with serve's start on a loaded machine)
    const slot = new Date(Math.ceil((Date.now() + 60_000) / 1000) * 1000);
    const cron = `${slot.getUTCSeconds()} ${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`;
    const dir = project(s, { target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`, schedules: `  b: { command: build, cron: "${cron}" }`, models: { 'models/one.sql': 'select 1 as n\n' } });
    const srv = await startServe(dir, [], { DATABASE_URL: url, ...clockStep(62_000) });
    await waitFor(() => / {2}b: build, /.test(srv.log()), 30_000, srv.log);
    // another replica (this test) claims that slot and runs it successfully first
    const other = new JobLeases(wh, 600_000);
    const db = await PostgresAdapter.open({ type: 'postgres', url, schema: wh }, 1);
    let doc;
    try {
      expect(await other.claim(db, 'b', slot)).toEqual({ ok: true });
      expect(await other.release(db, 'b', 'success')).toBe(true);
      doc = (await other.read(db, 'b'))!;
    } finally {
      await db.close();
    }
    expect(Date.now(), 'the slot passed before the other replica ran it: this machine is too slow for this test').toBeLessThan(slot.getTime());
    srv.child.kill('SIGUSR2');
    await waitFor(() => new RegExp(`b: skipped the run for ${slot.toISOString().replace(/\./g, '\\.')}: the run for \\S+ was already claimed`).test(srv.log()), 30_000, srv.log);
    const h = await health(srv.base);
    const job = h.body.jobs.find((j) => j.job === 'b')!;
    expect(job.last_success_at).toBe(doc.last_success_at);
    const m = await scrape(srv.base);
    expect(sample(m, 'vigil_job_last_success_timestamp_seconds', { job: 'b' })).toBe(Date.parse(doc.last_success_at!) / 1000);
    expect(sample(m, 'vigil_run_status', { job: 'b' })).toBe(1);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
  });

  it("a replica that finds its slot running on another follows that run's end in /health and /metrics: its job's last run and success and the streams' sync state (was: the state read while the other still ran, and `skipped`, for a whole cron period: 503 on this replica alone)", async () => {
    const s = uniqueSchema('serve_follow');
    const wh = uniqueSchema('serve_follow_wh');
    await source(s, 20);
    // one slot, a few seconds from now (then a day away)
    const slot = new Date(Math.ceil((Date.now() + 8000) / 1000) * 1000);
    const cron = `${slot.getUTCSeconds()} ${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`;
    const dir = project(s, { target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`, serve: '  lease: 10s', schedules: `  sync_delta: { command: sync, cron: "${cron}" }` });
    const srv = await serve(dir);
    await waitFor(() => / {2}sync_delta: sync, /.test(srv.log()), 30_000, srv.log);
    // another replica (this test) holds that slot's run while serve wakes for it
    const other = new JobLeases(wh, 600_000);
    const db = await PostgresAdapter.open({ type: 'postgres', url, schema: wh }, 1);
    let doc;
    try {
      expect(await other.claim(db, 'sync_delta', slot)).toEqual({ ok: true });
      expect(Date.now(), 'the slot passed before the other replica claimed it: this machine is too slow for this test').toBeLessThan(slot.getTime());
      await waitFor(() => new RegExp(`sync_delta: skipped the run for ${slot.toISOString().replace(/\./g, '\\.')}: running on `).test(srv.log()), 30_000, srv.log);
      // its run syncs the stream (after serve skipped), then ends
      expect(vigil(dir, ['sync'], { DATABASE_URL: url }).code).toBe(0);
      expect(await other.release(db, 'sync_delta', 'success')).toBe(true);
      doc = (await other.read(db, 'sync_delta'))!;
    } finally {
      await db.close();
    }
    const [state] = (await client.query(`select last_synced_at from raw_${s}.vigil_sync_state where stream = 'raw.events'`)).rows;
    // serve reads the lease again (a third of a lease apart) and sees that run over
    const h = await waitFor(async () => {
      const x = await health(srv.base);
      return x.body.jobs.find((j) => j.job === 'sync_delta')?.last_run?.status === 'success' && x.body.streams.find((t) => t.stream === 'raw.events')?.last_synced_at ? x : undefined;
    }, 30_000, srv.log);
    expect(h.status, JSON.stringify(h.body)).toBe(200);
    const stream = h.body.streams.find((t) => t.stream === 'raw.events')!;
    expect(Date.parse(stream.last_synced_at!)).toBe((state.last_synced_at as Date).getTime());
    const job = h.body.jobs.find((j) => j.job === 'sync_delta')!;
    expect(job.last_success_at).toBe(doc.last_success_at);
    expect(job.last_run!.finished_at).toBe(doc.last!.finished_at);
    const m = await scrape(srv.base);
    expect(sample(m, 'vigil_job_last_success_timestamp_seconds', { job: 'sync_delta' })).toBe(Date.parse(doc.last_success_at!) / 1000);
    expect(sample(m, 'vigil_run_status', { job: 'sync_delta' })).toBe(1);
    // (a data-lag sample only for a stream with a sync known)
    expect(sample(m, 'vigil_sync_lag_seconds', { stream: 'raw.events', lag: 'data' })).toBeGreaterThan(0);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
  }, 90_000);

  it("a sync that meets another vigil sync after committing batches counts the rows of both attempts (was: the first attempt's rows were lost from vigil_sync_rows_total and the log line)", async () => {
    const s = uniqueSchema('serve_twice');
    const wh = uniqueSchema('serve_twice_wh');
    await source(s, 30_000);
    const dir = project(s, { target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`, schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *" }', batch: 500 });
    const srv = await serve(dir, ['--run-now']);
    await waitFor(() => (/batch 2,/.test(srv.log()) ? true : undefined), 60_000, srv.log);
    // another sync (one that takes no lease) commits a batch of the stream: serve's next batch clashes
    await client.query(`update raw_${s}.vigil_sync_state set rows_synced = rows_synced + 1 where stream = 'raw.events'`);
    await waitFor(() => /sync_yearly: (OK|FAILED|deferred)/.test(srv.log()), 60_000, srv.log);
    expect(srv.log(), 'serve finished before the other sync committed: the source is too small for this machine').toMatch(/sync_yearly: another vigil sync of raw\.events committed a batch while this one ran .*; syncing it once more/);
    const rows = Number(/sync_yearly: OK in [\d.]+s: ([\d,]+) rows in 1 stream/.exec(srv.log())?.[1].replace(/,/g, ''));
    // what each attempt committed: its last batch line (the batch that clashed was rolled back, and not said)
    const committed = srv.log().split('syncing it once more').map((part) => Number([...part.matchAll(/raw\.events: batch \d+, ([\d,]+) rows/g)].at(-1)?.[1].replace(/,/g, '') ?? 0));
    expect(committed[0], 'batches 1 and 2 at least were committed before the clash').toBeGreaterThanOrEqual(1000);
    // both attempts' rows (the second re-reads its lookback window: those count again, as documented)
    expect(rows, srv.log()).toBe(committed[0] + committed[1]);
    const m = await scrape(srv.base);
    expect(sample(m, 'vigil_sync_rows_total', { stream: 'raw.events' })).toBe(rows);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
    const [copy] = (await client.query(`select count(*)::int as n, count(distinct id)::int as ids from raw_${s}.events`)).rows;
    expect(copy).toEqual({ n: 30_000, ids: 30_000 });
  }, 120_000);

  it("a sync whose stream lease was taken over mid-run takes it back before syncing it once more: it waits for the job that holds it, and is deferred with the rows it committed counted (was: synced again at once, bound to clash; 0 rows; its duration labelled error)", async () => {
    const s = uniqueSchema('serve_retake');
    const wh = uniqueSchema('serve_retake_wh');
    await source(s, 30_000);
    const dir = project(s, { target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`, schedules: '  sync_yearly: { command: sync, cron: "0 0 1 1 *" }', batch: 500 });
    const srv = await serve(dir, ['--run-now']);
    await waitFor(() => (/batch 2,/.test(srv.log()) ? true : undefined), 60_000, srv.log);
    // serve's lease of the stream ran out and job sync_nightly_full of another serve took it over, and committed a batch
    const taken = { holder: { owner: 'host-b:412:abcd', host: 'host-b', pid: 412, since: new Date().toISOString(), until: new Date(Date.now() + 600_000).toISOString(), lease_ms: 600_000, job: 'sync_nightly_full' } };
    await client.query(`update ${wh}.vigil_serve_leases set body = $1 where id = 'stream:raw.events'`, [JSON.stringify(taken)]);
    await client.query(`update raw_${s}.vigil_sync_state set rows_synced = rows_synced + 1 where stream = 'raw.events'`);
    await waitFor(() => /sync_yearly: (OK|FAILED|deferred)/.test(srv.log()), 60_000, srv.log);
    expect(srv.log(), 'serve finished before the other job committed: the source is too small for this machine').toMatch(/sync_yearly: this run's lease of raw\.events ran out .* took it over, which committed a batch of it meanwhile/);
    expect(srv.log()).toMatch(/sync_yearly: waits for stream raw\.events, held by job sync_nightly_full on host-b \(pid 412\) since \S+ \(at most 5s\)/);
    const line = /sync_yearly: deferred after [\d.]+s: ([\d,]+) rows in 1 stream; stream raw\.events, held by job sync_nightly_full on host-b \(pid 412\) since \S+, which took it over, still after 5s: the run is deferred \(its slot given back\), and the job runs again once the stream is free/.exec(srv.log());
    expect(line, srv.log()).not.toBeNull();
    const rows = Number(line![1].replace(/,/g, ''));
    // batches 1 and 2 at least were committed before the clash
    expect(rows).toBeGreaterThanOrEqual(1000);
    // one sync of the stream: the first attempt (not synced once more beside the job that holds it)
    expect([...srv.log().matchAll(/raw\.events: batch 1,/g)].length).toBe(1);
    const m = await scrape(srv.base);
    expect(sample(m, 'vigil_sync_rows_total', { stream: 'raw.events' })).toBe(rows);
    expect(m.text).toMatch(/^vigil_sync_duration_seconds_count\{stream="raw\.events",status="abandoned"\} 1$/m);
    expect(m.text).not.toMatch(/^vigil_sync_duration_seconds_count\{stream="raw\.events",status="error"\}/m);
    expect(sample(m, 'vigil_job_runs_total', { job: 'sync_yearly', result: 'abandoned' })).toBe(1);
    // the other job is done: the run is caught up, and every row is there once
    await client.query(`update ${wh}.vigil_serve_leases set body = '{}' where id = 'stream:raw.events'`);
    await waitFor(() => (/sync_yearly: (OK|FAILED)/.test(srv.log()) ? true : undefined), 60_000, srv.log);
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
    expect(srv.log()).toMatch(/sync_yearly: sync started for \S+ \(catching up: /);
    expect(srv.log()).toMatch(/sync_yearly: OK/);
    expect(srv.log()).not.toMatch(/FAILED/);
    const [copy] = (await client.query(`select count(*)::int as n, count(distinct id)::int as ids from raw_${s}.events`)).rows;
    expect(copy).toEqual({ n: 30_000, ids: 30_000 });
  }, 120_000);

  it('SIGHUP (a closed terminal, a kill -HUP meant as a reload) stops serve as SIGTERM does: at a safe point, its lease released, exit 0 (was: killed mid-job, exit 129, the lease left held)', async () => {
    const wh = uniqueSchema('serve_hup_wh');
    const dir = project('serve_hup', {
      target: `{ type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }`,
      schedules: '  slow_build: { command: build, cron: "0 0 1 1 *" }',
      models: { 'models/slow.sql': "{{ config(materialized='table') }}\nselect 1 as x from (select pg_sleep(4)) as s\n", 'models/after_slow.sql': "select * from {{ ref('slow') }}\n" },
    });
    const srv = await serve(dir, ['--run-now']);
    await waitFor(() => /vigil [\d.]+ build: target/.test(srv.log()), 30_000, srv.log);
    srv.child.kill('SIGHUP');
    expect(await srv.exited, srv.log()).toBe(0);
    expect(srv.log()).toMatch(/SIGHUP: stopping after slow_build reaches a safe point/);
    expect(srv.log()).toMatch(/SKIP .*after_slow.* \(interrupted \(SIGHUP\)\)/);
    expect(srv.log()).toMatch(/serve stopped\./);
    const lease = JSON.parse((await client.query(`select body from ${wh}.vigil_serve_leases where id = 'job:slow_build'`)).rows[0].body);
    expect(lease.holder).toBeUndefined();
    expect(lease.last.status).toBe('abandoned');
  });

  it("the shipped project's schedules: the delta sync, the build of what reads the new rows, and the alerts, under one serve", async () => {
    const raw = uniqueSchema('serve_shipped');
    const dir = makeProject({});
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    writeFileSync(join(dir, 'models/sources.yml'), readFileSync(join(REPO, 'models/sources.yml'), 'utf8').replace('sync: { from: app }', `sync: { from: app, schema: ${raw} }`));
    // any free port; the alerts' receivers have no credentials here: their notifications stay in the outbox
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('listen: 127.0.0.1:9464', 'listen: 127.0.0.1:0'));
    const env = { DATABASE_URL: url };
    expect(vigil(dir, ['demo', '--target', 'app', '--rows', '5000', '--days', '10', '--schema', raw], env).code).toBe(0);
    const srv = await serve(dir, ['--run-now', '-s', 'x']).catch(() => undefined);
    // (-s is not an option of serve: refused like any unknown flag)
    expect(srv).toBeUndefined();
    const ok = await serve(dir, ['--run-now']);
    await waitFor(() => (/alerts: OK/.test(ok.log()) && /sync_delta: OK/.test(ok.log()) && /sync_nightly_full: (OK|skipped)/.test(ok.log()) && /build_anomalies: (OK|FAILED)/.test(ok.log()) ? true : undefined), 120_000, ok.log);
    const h = await health(ok.base);
    expect(h.status, JSON.stringify(h.body)).toBe(200);
    expect(h.body.streams.map((x) => x.stream).sort()).toEqual(['raw.ai_audit_logs', 'raw.audit_events', 'raw.audit_trails', 'raw.market_snapshots', 'raw.usage_log', 'raw.workflows', 'raw.workspace_data_snapshots']);
    ok.child.kill('SIGTERM');
    expect(await ok.exited, ok.log()).toBe(0);
    expect(ok.log()).toMatch(/sync_delta: building what reads raw\.ai_audit_logs, /);
    // the anomalies are rebuilt on their own schedule too: a day without any log gets no build from the sync
    expect(ok.log()).toMatch(/build_anomalies: OK/);
    expect(ok.log()).toMatch(/alerts: OK in [\d.]+s: \d+ rules, \d+ firing/);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      expect(await db.query('select sum(interaction_count)::int as n from analytics.ai_audit_daily')).toEqual([{ n: 5000 }]);
    } finally {
      await db.close();
    }
    // (its wait above allows 2 minutes: the test's own limit must not cut it at 60 s on a busy machine)
  }, 240_000);
});
