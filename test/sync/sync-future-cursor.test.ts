/**
 * `vigil sync` and a cursor value in the future (a row stamped '9999-12-31', or two days ahead),
 * against a real PostgreSQL server, into DuckDB and into Postgres: the row is synced, the cursor
 * stops at the source's clock, and later inserts and updates still arrive (was: the row became
 * the cursor, every later delta read from 9999-12-30 23:55 and missed everything, saying OK). A
 * cursor an older Vigil left in the future is moved back by the next run.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueSchema, SYNC_TARGETS as TARGETS } from '../support/postgres.js';
import { makeProject, removeDir, vigil, duckRows as duck } from '../helpers.js';
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

/** One query of the target's copy or state, as text. */
async function target(kind: Target, dir: string, sql: string): Promise<Array<Record<string, string>>> {
  if (kind === 'duckdb') return duck<Record<string, string>>(dir, sql);
  return (await client.query(sql)).rows as Array<Record<string, string>>;
}

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
