/**
 * `vigil sync` and a cursor value in the future (a row stamped '9999-12-31', or two days ahead),
 * against a real PostgreSQL server, into DuckDB and into Postgres: the row is synced, the cursor
 * stops at the source's clock, and later inserts and updates still arrive (was: the row became
 * the cursor, every later delta read from 9999-12-30 23:55 and missed everything, saying OK). A
 * cursor an older Vigil left in the future is moved back by the next run. A cursor without time
 * zone holding the local time of a database whose TimeZone is east of UTC is compared with that
 * local time, not with UTC's (was: hours of rows "in the future", said each run and read again).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { uniqueSchema, SYNC_TARGETS as TARGETS, openExplained } from '../support/postgres.js';
import { makeProject, removeDir, vigil, duckRows as duck, syncTargetRows } from '../helpers.js';
import { fileClient } from '../support/pg-client.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];

afterAll(() => dirs.forEach(removeDir));

const sync = (dir: string, args: string[] = []) => vigil(dir, ['sync', ...args], { DATABASE_URL: url });

type Target = keyof typeof TARGETS;

/** A project syncing `src`.upd into `dest` of the target. */
function project(target: Target, dest: string, src: string): string {
  const dir = makeProject({
    'project.yaml': TARGETS[target],
    'models/sources.yml': `sources:\n  - name: raw\n    schema: ${dest}\n    sync: { from: app, schema: ${src} }\n    tables:\n      - name: upd\n        sync: { primary_key: id, cursor: updated_at }\n`,
  });
  dirs.push(dir);
  return dir;
}

const target = (kind: Target, dir: string, sql: string) => syncTargetRows(kind, dir, client, sql);

/** The copy's rows (id, v), and the state's cursor, as text. */
async function copyOf(kind: Target, dir: string, dest: string) {
  const rows = await target(kind, dir, `select cast(id as varchar) as id, v from ${dest}.upd order by id`);
  const [st] = await target(kind, dir, `select cast(cursor_value as varchar) as c from ${dest}.vigil_sync_state where stream = 'raw.upd'`);
  return { rows: rows.map((r) => `${r.id}:${r.v}`), cursor: st.c };
}

async function sourceRows(src: string): Promise<string[]> {
  return (await client.query(`select id, v from ${src}.upd order by id`)).rows.map((r) => `${r.id}:${r.v}`);
}

async function setup(src: string): Promise<void> {
  await client.query(`create schema ${src};
    create table ${src}.upd (id int primary key, v text, updated_at timestamptz not null);
    create index on ${src}.upd (updated_at, id);
    insert into ${src}.upd select i, 'v' || i, now() - interval '1 hour' + i * interval '1 second' from generate_series(1, 3) i`);
}

describe.each(['duckdb', 'postgres'] as const)('vigil sync into %s: a cursor value in the future', (kind) => {
  const dest = (name: string) => (kind === 'duckdb' ? 'raw' : uniqueSchema(name));

  it("a row stamped '9999-12-31' is synced, said, and read again by every run; the cursor stays at the source's clock, so later inserts and updates arrive (was: the cursor became 9999-12-31 and every later row was missed, each run saying OK)", async () => {
    const src = uniqueSchema('fut_src');
    const to = dest('fut_dst');
    await setup(src);
    const dir = project(kind, to, src);
    expect(sync(dir).code).toBe(0);
    await client.query(`update ${src}.upd set v = 'future', updated_at = '9999-12-31' where id = 2`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = await copyOf(kind, dir, to);
    expect(after.rows).toEqual(await sourceRows(src));
    // an insert and an update after it: both arrive, the future row neither lost nor doubled
    await client.query(`insert into ${src}.upd values (4, 'new', now()); update ${src}.upd set v = 'changed', updated_at = now() where id = 1`);
    const next = sync(dir);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toMatch(/raw\.upd: reading \w+\.upd from updated_at >= \d{4}-/);
    expect(next.stdout).not.toMatch(/from updated_at >= 9999/);
    expect((await copyOf(kind, dir, to)).rows).toEqual(['1:changed', '2:future', '3:v3', '4:new']);
    expect(await sourceRows(src)).toEqual(['1:changed', '2:future', '3:v3', '4:new']);
    // (the cursor stopped at the source's clock)
    expect(after.cursor.startsWith('9999')).toBe(false);
    // (said, at the stream)
    expect(r.stdout).toMatch(/raw\.upd: warning: 1 row of \w+\.upd has updated_at after the source's clock \(\d{4}-\d\d-\d\d [\d:.]+\+00; the latest 9999-12-31 00:00:00\+00\) \(models\/sources\.yml:\d+\): synced, but the cursor stops at the source's clock, so every run reads it again; the cursor column should hold no time in the future/);
    // two days ahead is in the future too
    await client.query(`update ${src}.upd set v = 'soon', updated_at = now() + interval '2 days' where id = 3`);
    const soon = sync(dir);
    expect(soon.stdout).toMatch(/raw\.upd: warning: 2 rows of \w+\.upd have updated_at after the source's clock/);
    await client.query(`insert into ${src}.upd values (5, 'later', now())`);
    expect(sync(dir).code).toBe(0);
    const last = await copyOf(kind, dir, to);
    expect(last.rows).toEqual(['1:changed', '2:future', '3:soon', '4:new', '5:later']);
    expect(new Date(last.cursor.replace(' ', 'T').replace(/\+00$/, 'Z')).getTime()).toBeLessThan(Date.now() + 60_000);
    // status judges the lag by the cursor at the source's clock, not by 9999-12-31
    const status = vigil(dir, ['sync', 'status'], { DATABASE_URL: url });
    expect(status.stdout).toMatch(/raw\.upd: success, [\d,]+ rows read, last synced \d+s ago, cursor \d{4}-/);
    expect(status.stdout).not.toContain('9999');
  });

  it('a cursor an older Vigil left in the future is moved back to the source\'s clock by the next run, said, and the rows it missed arrive', async () => {
    const src = uniqueSchema('fut_old');
    const to = dest('fut_old_dst');
    await setup(src);
    const dir = project(kind, to, src);
    expect(sync(dir).code).toBe(0);
    // as an older Vigil left it: the cursor at a future row's time
    await client.query(`update ${src}.upd set updated_at = '9999-12-31' where id = 2`);
    const stateSql = `update ${to}.vigil_sync_state set cursor_value = cast('9999-12-31 00:00:00+00' as timestamptz), source_max_cursor = cast('9999-12-31 00:00:00+00' as timestamptz) where stream = 'raw.upd'`;
    if (kind === 'duckdb') await duck(dir, stateSql);
    else await client.query(stateSql);
    await client.query(`insert into ${src}.upd values (4, 'missed', now())`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = await copyOf(kind, dir, to);
    expect(after.rows).toEqual(await sourceRows(src));
    expect(after.cursor.startsWith('9999')).toBe(false);
    expect(r.stdout).toMatch(/raw\.upd: warning: the saved cursor \(9999-12-31 00:00:00\+00\) is after the source's clock \([^)]+\): a row stamped in the future became the cursor, and the delta runs since read from there; moved back to the source's clock, so this run reads from its lookback before it/);
    expect(r.stdout).not.toMatch(/from updated_at >= 9999/);
    // said once: the next run finds the cursor where it belongs
    expect(sync(dir).stdout).not.toContain('the saved cursor');
  });
});

describe('vigil sync: a timestamp cursor without time zone, in a database whose TimeZone is east of UTC', () => {
  const db = uniqueSchema('tokyo');
  const tokyoUrl = (() => {
    const u = new URL(url);
    u.pathname = `/${db}`;
    return u.toString();
  })();
  const app = new pg.Client(tokyoUrl);
  afterAll(async () => {
    await app.end().catch(() => undefined);
    await client.query(`drop database if exists ${db} with (force)`);
  });

  it("is compared with the database's own local time (its TimeZone setting): rows stamped with its localtimestamp are not said to be in the future and a delta reads only its lookback window; a row really ahead is still said, and the cursor stops at the local clock", async () => {
    await client.query(`create database ${db}`);
    await client.query(`alter database ${db} set timezone = 'Asia/Tokyo'`);
    await app.connect();
    // (an application writing the database's local time: a now() / localtimestamp default)
    expect((await app.query('show timezone')).rows[0].TimeZone).toBe('Asia/Tokyo');
    await app.query(`create schema app;
      create table app.upd (id int primary key, v text, updated_at timestamp not null);
      create index on app.upd (updated_at, id);
      insert into app.upd select i, 'v' || i, localtimestamp - interval '3 hours' + i * interval '1 minute' from generate_series(1, 170) i`);
    const dir = makeProject({
      'project.yaml': TARGETS.duckdb,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: app }\n    tables:\n      - name: upd\n        sync: { primary_key: id, cursor: updated_at }\n`,
    });
    dirs.push(dir);
    const run = () => vigil(dir, ['sync'], { DATABASE_URL: tokyoUrl });
    const first = run();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).not.toContain("after the source's clock");
    // the cursor is the newest row (10 minutes ago, Tokyo time), not the UTC clock 9 hours behind it
    const [st] = await duck<{ c: string }>(dir, `select cast(cursor_value as varchar) as c from raw.vigil_sync_state where stream = 'raw.upd'`);
    const newest = String((await app.query(`select max(updated_at)::text as m from app.upd`)).rows[0].m);
    expect(st.c.slice(0, 19)).toBe(newest.slice(0, 19));
    await app.query(`insert into app.upd values (171, 'new', localtimestamp)`);
    const second = run();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).not.toContain("after the source's clock");
    // its lookback (the 6 rows of the 5 minutes up to the cursor) and the new row (was: all 171 again, at every run)
    expect(second.stdout).toMatch(/OK raw\.upd: 7 rows in 1 batch/);
    // a row really in the future (two days ahead of the local clock): said, synced, and the cursor stops at the local clock
    await app.query(`insert into app.upd values (172, 'future', localtimestamp + interval '2 days')`);
    const third = run();
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.stdout).toMatch(/raw\.upd: warning: 1 row of app\.upd has updated_at after the source's clock \(\d{4}-\d\d-\d\d [\d:.]+ Asia\/Tokyo; the latest \d{4}-/);
    const [after] = await duck<{ c: string }>(dir, `select cast(cursor_value as varchar) as c from raw.vigil_sync_state where stream = 'raw.upd'`);
    const local = String((await app.query(`select localtimestamp::text as t`)).rows[0].t);
    expect(after.c.slice(0, 19) <= local.slice(0, 19)).toBe(true);
    expect(after.c.slice(0, 19) > newest.slice(0, 19)).toBe(true);
    expect((await duck<{ n: bigint }>(dir, `select count(*) as n from raw.upd`))[0].n).toBe(172n);
  });
});

describe("the source's clock against the cursor (cursorBounds): what it costs the source", () => {
  it('an unindexed table (or a view) is read once for the newest value and the rows ahead (was: twice, two full scans per run); an indexed one only through its (cursor, key) index', async () => {
    const s = uniqueSchema('bounds_plan');
    await client.query(`create schema ${s};
      create table ${s}.plain (id bigint primary key, updated_at timestamptz not null);
      create table ${s}.indexed (id bigint primary key, updated_at timestamptz not null);
      create index on ${s}.indexed (updated_at, id);
      insert into ${s}.plain select i, now() - interval '1 day' + i * interval '1 second' from generate_series(1, 5000) i;
      insert into ${s}.indexed select * from ${s}.plain;
      insert into ${s}.plain values (0, '9999-12-31'); insert into ${s}.indexed values (0, '9999-12-31');
      analyze ${s}.plain; analyze ${s}.indexed`);
    // the server's plan of every statement the reader runs, sent to it as a notice (auto_explain)
    const { db, plans } = await openExplained(url);
    const reader = db.syncReader!();
    try {
      const bounds = async (table: string) => {
        const spec = { stream: `raw.${table}`, schema: s, table, cursor: 'updated_at', primaryKey: ['id'], declaredAt: 'models/sources.yml:1' };
        const columns = await reader.describe(spec);
        plans.length = 0;
        const b = await reader.cursorBounds(spec, columns, null);
        return { b, plans: plans.filter((p) => p.includes(`${s}.${table}`) || p.includes(`"${s}"."${table}"`)) };
      };
      const plain = await bounds('plain');
      expect(plain.b.ahead).toEqual({ rows: 1, latest: '9999-12-31 00:00:00+00' });
      expect(plain.b.max).not.toBeNull();
      expect(plain.plans.join('\n').match(/Seq Scan on plain/g), plain.plans.join('\n---\n')).toHaveLength(1);
      const indexed = await bounds('indexed');
      expect(indexed.b).toMatchObject({ ahead: { rows: 1, latest: '9999-12-31 00:00:00+00' }, max: plain.b.max });
      expect(indexed.plans.length).toBeGreaterThan(0);
      expect(indexed.plans.join('\n'), indexed.plans.join('\n---\n')).not.toMatch(/Seq Scan/);
      expect(indexed.plans.join('\n')).toMatch(/Index Only Scan/);
    } finally {
      await reader.release();
      await db.close();
    }
  });
});
