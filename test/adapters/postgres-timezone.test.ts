/**
 * The TimeZone of a Postgres target's sessions, on a real database whose own default is
 * Asia/Tokyo (ALTER DATABASE ... SET timezone): UTC unless the url's `options` set one, which
 * then wins for the models' SQL (was: overridden by Vigil's UTC, without a word); Vigil's own
 * state (sync cursors, seeds) reads and writes the same times whatever the session's zone.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { optionSetting, PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { postgresDialect } from '../../src/adapters/postgres/postgres-dialect.js';
import { PostgresSyncWriter } from '../../src/adapters/postgres/postgres-sync.js';
import { STATE_TABLE } from '../../src/sync/sync-types.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, vigil } from '../helpers.js';

const serverUrl = inject('pgUrl');
const dbName = uniqueSchema('vigil_tz');
/** the url of the Tokyo database, with `options` when given */
const urlOf = (options?: string) => {
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  if (options !== undefined) u.searchParams.set('options', options);
  return u.toString();
};
const adapters: PostgresAdapter[] = [];
const dirs: string[] = [];
const open = async (options?: string) => {
  const a = await PostgresAdapter.open({ type: 'postgres', url: urlOf(options), schema: 'analytics' }, 2);
  adapters.push(a);
  return a;
};
const admin = async (sql: string) => {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
};

beforeAll(async () => {
  await admin(`create database ${dbName}`);
  await admin(`alter database ${dbName} set timezone = 'Asia/Tokyo'`);
});
afterAll(async () => {
  for (const a of adapters) await a.close().catch(() => undefined);
  dirs.forEach(removeDir);
  await admin(`drop database if exists ${dbName} with (force)`);
});

describe('the TimeZone of a Postgres target', () => {
  it("the url's options read as the server reads them: -c name=value, -cname=value, --name=value, the last one, any case", () => {
    expect(optionSetting('-c TimeZone=Asia/Tokyo', 'TimeZone')).toBe('Asia/Tokyo');
    expect(optionSetting('-c search_path=x -ctimezone=Europe/Berlin', 'TimeZone')).toBe('Europe/Berlin');
    expect(optionSetting('--TIMEZONE=UTC -c timezone=America/New_York', 'timezone')).toBe('America/New_York');
    expect(optionSetting('-c application_name=a\\ timezone=x', 'timezone')).toBeUndefined();
    expect(optionSetting('-c statement_timeout=5s', 'timezone')).toBeUndefined();
    expect(optionSetting('', 'timezone')).toBeUndefined();
  });

  it("no TimeZone in the url: UTC, not the database's; one in the url's options: that one, for a model's table and a preview (was: UTC, the url's overridden)", async () => {
    const plain = await open();
    expect(await plain.query("select current_setting('TimeZone') as tz")).toEqual([{ tz: 'UTC' }]);
    expect(await plain.zoneOfDatabase()).toBe('Asia/Tokyo');
    const tokyo = await open('-c TimeZone=Asia/Tokyo');
    const berlin = await open('-c search_path=public -c timezone=Europe/Berlin');
    expect(await berlin.query("select current_setting('TimeZone') as tz, current_setting('search_path') as sp")).toEqual([{ tz: 'Europe/Berlin', sp: 'public' }]);
    // (the session styles Vigil needs hold beside it)
    expect(await tokyo.query("select current_setting('DateStyle') as ds")).toEqual([{ ds: 'ISO, YMD' }]);
    await tokyo.ensureSchema('analytics');
    await tokyo.materialize({ kind: 'table', relation: { schema: 'analytics', identifier: 'zoned' }, sql: "select current_setting('TimeZone') as tz, cast(timestamptz '2026-03-10 18:00:00+00' as date) as day", fullRefresh: false });
    const [row] = await plain.query<{ tz: string; day: Date }>('select tz, day from analytics.zoned');
    expect({ tz: row.tz, day: row.day.toISOString().slice(0, 10) }).toEqual({ tz: 'Asia/Tokyo', day: '2026-03-11' });
    expect((await tokyo.preview("select current_setting('TimeZone') as tz")).rows).toEqual([{ tz: 'Asia/Tokyo' }]);
  });

  it("an alert's current_date is the session's day at --at: in the url's zone as its models see it, in UTC without one", async () => {
    const at = new Date('2026-03-10T18:00:00Z');
    const day = async (a: PostgresAdapter) => (await a.query<{ d: Date }>(postgresDialect.bindEvalTime('select current_date as d', at)))[0].d.toISOString().slice(0, 10);
    expect(await day(await open())).toBe('2026-03-10');
    expect(await day(await open('-c TimeZone=Asia/Tokyo'))).toBe('2026-03-11');
  });

  it("every spelling of Postgres' clock is --at's moment, in the session's zone where it has one (was: current_timestamp(0), localtimestamp, statement_timestamp(), current_time read the wall clock); literals kept", async () => {
    const at = new Date('2026-03-10T18:00:05.678Z');
    const sql = `select to_char(current_timestamp(0) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') as a, to_char(statement_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') as b,
      to_char(localtimestamp, 'YYYY-MM-DD HH24:MI:SS.MS') as c, to_char(localtimestamp(1), 'YYYY-MM-DD HH24:MI:SS.MS') as d, localtime::text as e, current_time(0)::text as f,
      transaction_timestamp() = now() as g, to_char(current_date, 'YYYY-MM-DD') as h, 'now() current_date' || $q$ localtime $q$ || E'\\'current_time' as lit`;
    const row = async (a: PostgresAdapter) => (await a.query<Record<string, unknown>>(postgresDialect.bindEvalTime(sql, at)))[0];
    expect(await row(await open())).toEqual({ a: '2026-03-10 18:00:06.000', b: '2026-03-10 18:00:05.678', c: '2026-03-10 18:00:05.678', d: '2026-03-10 18:00:05.700', e: '18:00:05.678', f: '18:00:06+00', g: true, h: '2026-03-10', lit: "now() current_date localtime 'current_time" });
    expect(await row(await open('-c TimeZone=Asia/Tokyo'))).toEqual({ a: '2026-03-10 18:00:06.000', b: '2026-03-10 18:00:05.678', c: '2026-03-11 03:00:05.678', d: '2026-03-11 03:00:05.700', e: '03:00:05.678', f: '03:00:06+09', g: true, h: '2026-03-11', lit: "now() current_date localtime 'current_time" });
  });

  it("retention's per-row cutoff of a date column is its UTC day in any session (R12: the url's zone made it the next day there)", async () => {
    const { retentionPredicate } = await import('../../src/retention/retention.js');
    const e = { column: 'd', column_type: 'date', override_days: 'keep_days', cutoff: '2026-01-01T00:00:00.000Z', override_floor: '2026-03-20T00:00:00.000Z', as_of: '2026-03-10T18:00:00.000Z' };
    const { sql, params } = retentionPredicate(postgresDialect, e);
    const deleted = async (a: PostgresAdapter) => {
      const rows = await a.query<{ d: string }>(`select to_char(d, 'YYYY-MM-DD') as d from (values (date '2026-03-08', 1), (date '2026-03-09', 1), (date '2026-03-10', 1)) as t(d, keep_days) where ${sql} order by d`, params);
      return rows.map((r) => r.d);
    };
    // as_of less one day is 2026-03-09T18:00Z: the 9th is not wholly before it in UTC (kept), the 8th is
    expect(await deleted(await open())).toEqual(['2026-03-08']);
    expect(await deleted(await open('-c TimeZone=Asia/Tokyo'))).toEqual(['2026-03-08']);
  });

  it("the sync state's times are the same text in any session: a cursor without offset is UTC (was: the url's zone, so a zone set after a sync moved every such cursor)", async () => {
    const schema = uniqueSchema('tz_state');
    const tokyo = await open('-c TimeZone=Asia/Tokyo');
    const utc = await open();
    const stateRel = { schema, identifier: STATE_TABLE };
    const w = new PostgresSyncWriter(tokyo);
    await w.ensureState(schema);
    await tokyo.execute(`insert into ${schema}.${STATE_TABLE} (stream, cursor_value) values ('s', timestamptz '9999-01-01 00:00:00+00')`);
    await w.clampCursor(stateRel, 's', '2026-01-01 10:00:00.5');
    await w.recordRun(stateRel, 's', 'success', null, '2026-01-01 09:00:00', 3);
    const read = await w.readState(stateRel, 's');
    expect({ cursor: read?.cursor_value, max: read?.source_max_cursor }).toEqual({ cursor: '2026-01-01 10:00:00.5+00', max: '2026-01-01 09:00:00+00' });
    // as a UTC session reads it
    expect(await new PostgresSyncWriter(utc).readState(stateRel, 's')).toEqual(read);
    // an offset given is kept
    await w.recordRun(stateRel, 's', 'success', null, '2026-01-01 09:00:00+05:30', 3);
    expect((await w.readState(stateRel, 's'))?.source_max_cursor).toBe('2026-01-01 03:30:00+00');
  });

  it('a seed timestamp without offset loads as UTC whatever zone the url set', async () => {
    const tokyo = await open('-c TimeZone=Asia/Tokyo');
    const dir = makeProject({}, false);
    dirs.push(dir);
    const file = join(dir, 'ts.csv');
    writeFileSync(file, '2026-01-01 10:00:00\n');
    const schema = uniqueSchema('tz_seed');
    await tokyo.loadTable({ relation: { schema, identifier: 'ts' }, columns: [{ name: 'at', type: 'timestamp' }], file });
    const [r] = await tokyo.query<{ at: Date }>(`select at from ${schema}.ts`);
    expect(r.at.toISOString()).toBe('2026-01-01T10:00:00.000Z');
  });

  it('vigil show: the TimeZone of the url (as psql shows it); UTC without one', () => {
    const dir = makeProject({
      'project.yaml': `name: tz\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "{{ env_var('TZ_URL') }}", schema: ${uniqueSchema('tz_run')} }\n`
    }, false);
    dirs.push(dir);
    const show = (url: string) => vigil(dir, ['show', '--inline', "select current_setting('TimeZone') as tz", '--output', 'json'], { TZ_URL: url });
    const zoned = show(urlOf('-c TimeZone=Asia/Tokyo'));
    expect(zoned.code, zoned.stderr).toBe(0);
    expect(zoned.stdout).toContain('Asia/Tokyo');
    const plain = show(urlOf());
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('UTC');
    expect(plain.stdout).not.toContain('Asia/Tokyo');
  });
});
