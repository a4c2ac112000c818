/**
 * The shipped incremental ai_audit_daily, through the real CLI on DuckDB and Postgres: after
 * source changes inside its lookback, an incremental build holds what a full refresh does. Was
 * (a merge by day x capability x provider, its window counted back from max(date)): a group
 * whose only row moved to another provider stayed beside it (assert_daily_totals_match_staging
 * failed, exit 1, the table already written), and one future-dated row moved the window past
 * the days still filling, whose late rows were never counted.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { makeProject, removeDir, REPO, vigil } from '../helpers.js';
import { queryOnce } from '../support/pg-client.js';
import { uniqueSchema } from '../support/postgres.js';

const dirs: string[] = [];
const databases: string[] = [];
afterAll(async () => {
  dirs.forEach(removeDir);
  for (const db of databases) await queryOnce(inject('pgUrl'), `drop database if exists ${db} with (force)`);
});

const DAY = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);
const COLS = 'workflow_id, capability, provider, model, response_status, request_metadata, response_metadata, workspace_snapshot_id';
/** a row copied from the first demo row with its own id, provider (NULL: its own) and time */
const copyRow = (id: number, provider: string | null, at: string) =>
  `insert into raw.ai_audit_logs (id, ${COLS}, created_at) select ${id}, ${COLS.replace('provider', provider ? `'${provider}'` : 'provider')}, cast('${at}' as timestamptz) from raw.ai_audit_logs where id = (select min(id) from raw.ai_audit_logs)`;
const DAILY = `select cast(date as varchar) as date, capability, provider, interaction_count, workspace_count, error_count, cast(error_rate as decimal(18, 9)) as error_rate,
  cast(avg_latency_ms as decimal(18, 6)) as avg_latency_ms, p50_latency_ms, p90_latency_ms, p95_latency_ms, p99_latency_ms, max_latency_ms, success_count
  from analytics.ai_audit_daily order by date, capability, provider`;

interface Warehouse {
  target: string[];
  env: Record<string, string>;
  exec: (sql: string) => Promise<void>;
  rows: (sql: string) => Promise<unknown[]>;
}

async function duckdb(dir: string): Promise<Warehouse> {
  const open = () => DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
  // (opened per statement: the CLI needs the file between them)
  const use = async <T>(fn: (db: DuckDbAdapter) => Promise<T>) => {
    const db = await open();
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  return { target: [], env: {}, exec: (sql) => use((db) => db.execute(sql)).then(() => undefined), rows: (sql) => use((db) => db.query(sql)) };
}

async function postgres(): Promise<Warehouse> {
  // a database of its own: the shipped project's app target writes schemas raw and analytics
  const db = uniqueSchema('daily_incr');
  await queryOnce(inject('pgUrl'), `create database ${db}`);
  databases.push(db);
  const url = new URL(inject('pgUrl'));
  url.pathname = `/${db}`;
  return { target: ['--target', 'app'], env: { DATABASE_URL: url.toString() }, exec: (sql) => queryOnce(url.toString(), sql).then(() => undefined), rows: (sql) => queryOnce(url.toString(), sql) };
}

describe.each([
  ['duckdb', (dir: string) => duckdb(dir)],
  ['postgres', () => postgres()],
])('ai_audit_daily incremental = full refresh (%s)', (_name, connect) => {
  it('after a group emptied inside the lookback, a future-dated row, then late rows for today', async () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    const w = await connect(dir);
    const cli = (args: string[]) => {
      const r = vigil(dir, [...args, ...w.target], w.env);
      expect(r.code, `vigil ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
      return r;
    };
    cli(['demo', '--rows', '3000', '--days', '10']);
    // yesterday's only row of provider 'solo': a group of its own
    await w.exec(copyRow(900000001, 'solo', `${day(-1)} 12:00:00+00`));
    cli(['build', '-s', '+ai_audit_daily', '--full-refresh']);
    // the row moves to the demo's provider (its group empties), and a row 15 days ahead arrives
    await w.exec(`update raw.ai_audit_logs set provider = (select provider from raw.ai_audit_logs where id = (select min(id) from raw.ai_audit_logs)) where id = 900000001`);
    await w.exec(copyRow(900000002, null, `${day(15)} 08:00:00+00`));
    const first = cli(['build', '-s', 'ai_audit_daily']);
    expect(first.stdout).toMatch(/OK overwrote \d+ partitions with \d+ rows \(\d+ deleted\) in analytics\.ai_audit_daily/);
    expect(Number(((await w.rows(`select count(*) as n from analytics.ai_audit_daily where provider = 'solo'`)) as Array<{ n: unknown }>)[0].n)).toBe(0);
    // late rows for today, after the future day is in the table
    for (let i = 0; i < 5; i++) await w.exec(copyRow(900000010 + i, null, `${day(0)} 00:0${i}:00+00`));
    cli(['build', '-s', 'ai_audit_daily']);
    const incremental = await w.rows(DAILY);
    cli(['run', '-s', 'ai_audit_daily', '--full-refresh']);
    expect(incremental).toEqual(await w.rows(DAILY));
  }, 240_000);
});
