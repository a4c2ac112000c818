/**
 * `vigil sync` when the SOURCE table is not the one the saved cursor was read from, against a real
 * PostgreSQL server, into DuckDB and into Postgres: dropped and created again, or TRUNCATEd (its id
 * sequence restarted) and refilled with rows stamped before the saved cursor. A delta run refuses
 * such a stream, exit 2, naming the ways out; `--mode full` reads it from the beginning with the
 * cursor forgotten, `--full-refresh` makes the copy the table. Was: exit 0, the copy keeping the
 * rows the source no longer had and never reading the new ones. VACUUM FULL and CLUSTER (a new
 * file, the same rows) are no replacement: synced as before.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueSchema, SYNC_TARGETS as TARGETS } from '../support/postgres.js';
import { makeProject, removeDir, vigil, duckRows as duck, syncTargetRows } from '../helpers.js';
import { fileClient } from '../support/pg-client.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];

afterAll(() => dirs.forEach(removeDir));

const sync = (dir: string, args: string[] = []) => vigil(dir, ['sync', ...args], { DATABASE_URL: url });

type Target = keyof typeof TARGETS;

function project(target: Target, dest: string, src: string): string {
  const dir = makeProject({
    'project.yaml': TARGETS[target],
    'models/sources.yml': `sources:\n  - name: raw\n    schema: ${dest}\n    sync: { from: app, schema: ${src} }\n    tables:\n      - name: ev\n        sync: { primary_key: id, cursor: created_at }\n`,
  });
  dirs.push(dir);
  return dir;
}

const target = (kind: Target, dir: string, sql: string) => syncTargetRows(kind, dir, client, sql);

const copyRows = async (kind: Target, dir: string, dest: string) => (await target(kind, dir, `select cast(id as varchar) as id, v from ${dest}.ev order by id`)).map((r) => `${r.id}:${r.v}`);
const sourceRows = async (src: string) => (await client.query(`select id, v from ${src}.ev order by id`)).rows.map((r) => `${r.id}:${r.v}`);
const stateOf = async (kind: Target, dir: string, dest: string) => (await target(kind, dir, `select cast(cursor_value as varchar) as c, cursor_id, rows_synced, source_identity from ${dest}.vigil_sync_state where stream = 'raw.ev'`))[0];

const TABLE = (src: string) => `create table ${src}.ev (id serial primary key, v text, created_at timestamptz not null default now()); create index on ${src}.ev (created_at, id);`;

/** The source: 5 rows stamped 2 hours ago, one a minute. */
async function setup(src: string): Promise<void> {
  await client.query(`create schema ${src}; ${TABLE(src)}
    insert into ${src}.ev (v, created_at) select 'a' || i, now() - interval '2 hours' + i * interval '1 minute' from generate_series(1, 5) i`);
}

/** Rows `prefix`1..n stamped 3 hours ago: before the saved cursor, past any lookback. */
const refill = (src: string, prefix: string, n: number) => `insert into ${src}.ev (v, created_at) select '${prefix}' || i, now() - interval '3 hours' + i * interval '1 minute' from generate_series(1, ${n}) i`;

describe.each(['duckdb', 'postgres'] as const)('vigil sync into %s: a source table replaced since the last run', (kind) => {
  const dest = (name: string) => (kind === 'duckdb' ? 'raw' : uniqueSchema(name));

  it('dropped and created again: a delta refuses it, exit 2, the copy and the cursor as they were; --full-refresh makes the copy the new table, and deltas go on from there (was: exit 0, the old rows kept, the new ones never read)', async () => {
    const src = uniqueSchema('repl_drop');
    const to = dest('repl_drop_dst');
    await setup(src);
    const dir = project(kind, to, src);
    expect(sync(dir).code).toBe(0);
    const before = await stateOf(kind, dir, to);
    await client.query(`drop table ${src}.ev; ${TABLE(src)} ${refill(src, 'b', 3)}`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`models/sources\\.yml:6: error: stream raw\\.ev: ${src}\\.ev was dropped and created again \\(another table of its name: oid \\d+, was \\d+\\) since the last run: the copy ${to}\\.ev and the saved cursor \\([^)]+\\) are of the table it was, so a delta would keep rows the source no longer has and miss its rows stamped before the cursor: nothing was synced \\[E_SYNC\\]`));
    expect(before.source_identity).toMatch(/^\d+\/\d+$/);
    expect(r.stderr).toContain('vigil sync --full-refresh -s source:raw.ev makes the copy the table as it is now; vigil sync --mode full -s source:raw.ev reads it all again');
    expect(await copyRows(kind, dir, to)).toEqual(['1:a1', '2:a2', '3:a3', '4:a4', '5:a5']);
    const kept = await stateOf(kind, dir, to);
    expect([kept.c, kept.cursor_id, String(kept.rows_synced), kept.source_identity]).toEqual([before.c, before.cursor_id, String(before.rows_synced), before.source_identity]);
    // (again: refused until a way out is taken)
    expect(sync(dir).code).toBe(2);
    const full = sync(dir, ['--full-refresh', '-s', 'source:raw.ev']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(await copyRows(kind, dir, to)).toEqual(await sourceRows(src));
    expect(await copyRows(kind, dir, to)).toEqual(['1:b1', '2:b2', '3:b3']);
    expect((await stateOf(kind, dir, to)).source_identity).not.toBe(before.source_identity);
    await client.query(`insert into ${src}.ev (v) values ('b4')`);
    const next = sync(dir);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(await copyRows(kind, dir, to)).toEqual(['1:b1', '2:b2', '3:b3', '4:b4']);
  });

  it('TRUNCATE ... RESTART IDENTITY and refilled with rows stamped before the cursor: a delta refuses it, as does a windowed --mode full; --mode full reads it from the beginning with the cursor forgotten, so the next delta reads rows stamped after the new table\'s newest (was: exit 0, ids 1-5 kept in their old versions, the refill never read)', async () => {
    const src = uniqueSchema('repl_trunc');
    const to = dest('repl_trunc_dst');
    await setup(src);
    const dir = project(kind, to, src);
    expect(sync(dir).code).toBe(0);
    await client.query(`truncate ${src}.ev restart identity; ${refill(src, 'b', 7)}`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`stream raw\\.ev: ${src}\\.ev was emptied and refilled \\(TRUNCATE: its storage is new, and the row the saved cursor was taken from, id 5 at [^,]+, is gone\\) since the last run: .* nothing was synced \\[E_SYNC\\]`));
    expect(await copyRows(kind, dir, to)).toEqual(['1:a1', '2:a2', '3:a3', '4:a4', '5:a5']);
    const windowed = sync(dir, ['--mode', 'full', '--lookback', '24h']);
    expect(windowed.code, windowed.stdout + windowed.stderr).toBe(2);
    expect(windowed.stderr).toContain('so a windowed pass would keep rows the source no longer has');
    const full = sync(dir, ['--mode', 'full']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(full.stdout).toMatch(new RegExp(`raw\\.ev: ${src}\\.ev was emptied and refilled .* since the last run: --mode full reads it from the beginning, replacing the copy's rows by key \\(rows the source no longer has stay in ${to}\\.ev: --full-refresh drops them\\)`));
    expect(await copyRows(kind, dir, to)).toEqual(await sourceRows(src));
    // a row stamped after the refill's newest but before the old table's cursor: a delta reads it
    await client.query(`insert into ${src}.ev (v, created_at) values ('b8', now() - interval '150 minutes')`);
    const next = sync(dir);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(await copyRows(kind, dir, to)).toEqual(await sourceRows(src));
    expect((await copyRows(kind, dir, to)).at(-1)).toBe('8:b8');
  });

  it('VACUUM FULL and CLUSTER give the table a new file and keep its rows: no refusal, and deltas go on (a new file alone is checked by the row at the cursor, not taken for a TRUNCATE)', async () => {
    const src = uniqueSchema('repl_vac');
    const to = dest('repl_vac_dst');
    await setup(src);
    const dir = project(kind, to, src);
    expect(sync(dir).code).toBe(0);
    const before = (await stateOf(kind, dir, to)).source_identity;
    await client.query(`vacuum full ${src}.ev`);
    await client.query(`cluster ${src}.ev using ev_pkey`);
    await client.query(`insert into ${src}.ev (v) values ('a6')`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await copyRows(kind, dir, to)).toEqual(await sourceRows(src));
    const after = (await stateOf(kind, dir, to)).source_identity;
    // the same table, its new file recorded
    expect(after.split('/')[0]).toBe(before.split('/')[0]);
    expect(after).not.toBe(before);
  });

  it('the row at the saved cursor deleted, then VACUUM FULL: a new file, the row gone, but the copy\'s newest rows still in the table: no refusal, deltas go on (was: refused as emptied and refilled, exit 2)', async () => {
    const src = uniqueSchema('repl_delvac');
    const to = dest('repl_delvac_dst');
    await setup(src);
    const dir = project(kind, to, src);
    expect(sync(dir).code).toBe(0);
    const before = (await stateOf(kind, dir, to)).source_identity;
    await client.query(`delete from ${src}.ev where id = 5`);
    await client.query(`vacuum full ${src}.ev`);
    await client.query(`insert into ${src}.ev (v) values ('a6')`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // deletes are not propagated: the copy keeps id 5, and reads id 6
    expect(await copyRows(kind, dir, to)).toEqual(['1:a1', '2:a2', '3:a3', '4:a4', '5:a5', '6:a6']);
    const after = (await stateOf(kind, dir, to)).source_identity;
    expect(after.split('/')[0]).toBe(before.split('/')[0]);
    expect(after).not.toBe(before);
    // and a TRUNCATE refilled afterwards is still refused: the refill holds none of the copy's rows
    await client.query(`truncate ${src}.ev restart identity; ${refill(src, 'b', 7)}`);
    const again = sync(dir);
    expect(again.code, again.stdout + again.stderr).toBe(2);
    expect(again.stderr).toContain('was emptied and refilled');
  });

  it('a view dropped and created again (a migration\'s routine) is no replacement: its rows are what they were, and deltas go on', async () => {
    const src = uniqueSchema('repl_view');
    const to = dest('repl_view_dst');
    await setup(src);
    await client.query(`alter table ${src}.ev rename to base; create view ${src}.ev as select * from ${src}.base`);
    const dir = project(kind, to, src);
    expect(sync(dir).code).toBe(0);
    // (its definition and the relations it reads, as a digest: not the view's own oid)
    expect((await stateOf(kind, dir, to)).source_identity).toMatch(/^view\/[0-9a-f]{32}$/);
    await client.query(`drop view ${src}.ev; create view ${src}.ev as select * from ${src}.base; insert into ${src}.base (v) values ('a6')`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await copyRows(kind, dir, to)).toEqual(await sourceRows(src));
  });

  it('a state table made before source_identity gets the column, and a state without one is taken to be of the table as it is (recorded, not refused)', async () => {
    const src = uniqueSchema('repl_old');
    const to = dest('repl_old_dst');
    await setup(src);
    const dir = project(kind, to, src);
    expect(sync(dir).code).toBe(0);
    const drop = `alter table ${to}.vigil_sync_state drop column source_identity`;
    if (kind === 'duckdb') await duck(dir, drop);
    else await client.query(drop);
    await client.query(`insert into ${src}.ev (v) values ('a6')`);
    const r = sync(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await copyRows(kind, dir, to)).toEqual(await sourceRows(src));
    expect((await stateOf(kind, dir, to)).source_identity).toMatch(/^\d+\/\d+$/);
  });
});
