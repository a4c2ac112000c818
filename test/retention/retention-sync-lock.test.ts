/**
 * `vigil retention apply` of a synced stream's warehouse copy and `vigil sync` of that stream take
 * turns (the stream's lease, src/sync/stream-lock.ts), on a real Postgres warehouse fed from a
 * real Postgres source: a full sync running while apply deletes never copies back what apply
 * deleted (it read the retention log once, as it started), row by row; a stream another holds
 * makes apply refuse (exit 1, nothing deleted) and sync leave it (exit 1), naming the holder; and
 * apply never deletes more rows than it set out to — rows matching the plan that came while it
 * ran are left and said (was: batch after batch until a short one, 415,000 of a plan of 400,000).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { applyEntry, countAffected, ensureLog, logRelation, RETENTION_LOG_TABLE, type PlanEntry } from '../../src/retention/retention.js';
import { JobLeases } from '../../src/serve/lease.js';
import { uniqueSchema } from '../support/postgres.js';
import { fileClient } from '../support/pg-client.js';
import { makeProject, removeDir, VIGIL, vigil } from '../helpers.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** A source `app` (schema `src`) with raw.big synced into the Postgres warehouse's schema `wh`; retention keeps 12h. */
function project(src: string, wh: string, extra = ''): string {
  const dir = makeProject({
    'project.yaml': `name: locktest\ndefault_target: wh\nretention: { minimum: 1h }\n${extra}targets:\n  wh: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${wh} }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${src} }\n`,
    'models/sources.yml': `sources:\n  - name: raw\n    schema: ${wh}\n    sync: { from: app, schema: ${src} }\n    tables:\n      - name: big\n        sync: { primary_key: id, cursor: created_at, batch_size: 5000 }\n        retention: { column: created_at, keep: 12h }\n`,
  });
  dirs.push(dir);
  return dir;
}

/** `old` rows a day old (a millisecond apart) and `recent` ones in the last hours. */
async function source(src: string, old: number, recent: number): Promise<void> {
  await client.query(`create schema ${src}; create table ${src}.big (id bigint primary key, created_at timestamptz not null, note text);
    create index on ${src}.big (created_at, id);
    insert into ${src}.big select i, now() - interval '1 day' - i * interval '1 millisecond', 'old ' || i from generate_series(1, ${old}) i;
    insert into ${src}.big select ${old} + i, now() - interval '3 hours' + i * interval '1 millisecond', 'new ' || i from generate_series(1, ${recent}) i`);
}

const env = { DATABASE_URL: url };
type Row = { id: string; created_at: string; note: string };
const rows = async (schema: string, where = 'true') => (await client.query<Row>(`select id::text, created_at::text, note from ${schema}.big where ${where} order by id`)).rows;

describe('retention apply and sync of one stream take turns (Postgres warehouse)', () => {
  it('a --mode full sync running while apply deletes: apply waits for it (or it for apply), and afterwards no row before the cutoff is in the copy, row by row; the log counts what left the copy (was: 320,000 rows before the cutoff back, apply "deleted" more than the copy held)', async () => {
    const src = uniqueSchema('lock_src');
    const wh = uniqueSchema('lock_wh');
    await source(src, 150_000, 3_000);
    const dir = project(src, wh);
    const first = vigil(dir, ['sync'], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect((await client.query(`select count(*)::int as n from ${wh}.big`)).rows).toEqual([{ n: 153_000 }]);

    // the full sync, a process of its own; plan and apply once its first batch is in
    const full = spawn(process.execPath, [VIGIL, 'sync', '--mode', 'full'], { cwd: dir, env: { ...process.env, ...env } });
    let fullOut = '';
    const fullDone = new Promise<number>((resolve) => full.on('close', (code) => resolve(code ?? -1)));
    await new Promise<void>((resolve) => {
      full.stdout.on('data', (b: Buffer) => {
        fullOut += b.toString();
        if (/raw\.big: batch 1,/.test(fullOut)) resolve();
      });
      full.on('close', () => resolve());
    });
    full.stderr.on('data', (b: Buffer) => (fullOut += b.toString()));
    const plan = vigil(dir, ['retention', 'plan'], env);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    const entry = JSON.parse(readFileSync(join(dir, 'target/retention_plan.json'), 'utf8')).tables[0];
    expect(entry.rows).toBe(150_000);
    const before = Number((await client.query(`select count(*) as n from ${wh}.big`)).rows[0].n);
    const apply = vigil(dir, ['retention', 'apply'], env);
    const fullCode = await fullDone;
    expect(fullCode, fullOut).toBe(0);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/OK raw\.big: deleted 150,000 rows/);

    // the copy holds exactly the source's rows at or after the cutoff, each as the source has it
    const cutoff = entry.cutoff as string;
    const kept = await rows(src, `created_at >= '${cutoff}'`);
    expect(kept).toHaveLength(3_000);
    expect(await rows(wh)).toEqual(kept);
    const [log] = (await client.query(`select planned_rows::int as planned, rows_deleted::int as deleted, status from ${wh}.vigil_retention_log`)).rows;
    const after = Number((await client.query(`select count(*) as n from ${wh}.big`)).rows[0].n);
    expect(log).toEqual({ planned: 150_000, deleted: before - after, status: 'success' });
    expect(log.deleted).toBe(150_000);
    // and a later sync leaves them out too
    expect(vigil(dir, ['sync', '--mode', 'full'], env).code).toBe(0);
    expect(await rows(wh)).toEqual(kept);
  });

  it('a stream another holds (a serve job, another sync): apply refuses after its wait, exit 1, nothing deleted; sync leaves the stream, exit 1, no failure counted; both name the holder', async () => {
    const src = uniqueSchema('lock_busy_src');
    const wh = uniqueSchema('lock_busy_wh');
    await source(src, 200, 20);
    const dir = project(src, wh, 'serve: { lease: 10s }\n');
    expect(vigil(dir, ['sync'], env).code).toBe(0);
    expect(vigil(dir, ['retention', 'plan'], env).code).toBe(0);
    const db = await PostgresAdapter.open({ type: 'postgres', url, schema: wh }, 1);
    const holder = new JobLeases(wh, 60_000);
    try {
      expect((await holder.holdStreams(db, ['raw.big'], 'sync_nightly_full', { waitMs: 0, pollMs: 10 })).ok).toBe(true);
      const held = new RegExp(`stream raw\\.big, held by job sync_nightly_full on ${hostname().replace(/\./g, '\\.')} \\(pid ${process.pid}\\) since [^,]+, still after 10s`);
      const apply = vigil(dir, ['retention', 'apply'], env);
      expect(apply.code, apply.stdout + apply.stderr).toBe(1);
      expect(apply.stdout).toMatch(/waits for stream raw\.big, held by job sync_nightly_full/);
      expect(apply.stderr).toMatch(held);
      expect(apply.stderr).toMatch(/nothing was deleted; run vigil retention apply again once it is done/);
      expect(apply.stderr).not.toMatch(/\n\s+at /);
      expect((await client.query(`select count(*)::int as n from ${wh}.big`)).rows).toEqual([{ n: 220 }]);
      // --wait: how long (0: not at all); apply as long as given, past the 10s default
      const sync = vigil(dir, ['sync', '--wait', '0s'], env);
      expect(sync.code, sync.stdout + sync.stderr).toBe(1);
      expect(sync.stdout).toMatch(new RegExp(`${held.source.replace(/, still after 10s$/, '')} \\(not waited for: --wait 0s\\)`));
      expect(sync.stdout).not.toMatch(/waits for stream/);
      const longer = vigil(dir, ['retention', 'apply', '--wait', '12s'], env);
      expect(longer.code, longer.stdout + longer.stderr).toBe(1);
      expect(longer.stdout).toMatch(/waits for stream raw\.big, .* \(at most 12s\)/);
      expect(longer.stderr).toMatch(/, still after 12s: nothing was deleted/);
      expect(vigil(dir, ['sync', '--wait', '5x'], env)).toMatchObject({ code: 2 });
      expect(vigil(dir, ['sync', 'status', '--wait', '1s'], env)).toMatchObject({ code: 2 });
      expect(sync.stdout).toMatch(/ERROR raw\.big: .*: not synced \(run vigil sync again once it is done\)/);
      expect((await client.query(`select last_status, consecutive_failures from ${wh}.vigil_sync_state`)).rows).toEqual([{ last_status: 'success', consecutive_failures: 0 }]);
    } finally {
      await holder.releaseStreams(db, ['raw.big']);
      await db.close();
    }
    // given back: both go, and each gives the stream back when done
    const apply = vigil(dir, ['retention', 'apply'], env);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/OK raw\.big: deleted 200 rows/);
    expect(vigil(dir, ['sync'], env).code).toBe(0);
    expect(await rows(wh)).toEqual(await rows(src, "note like 'new %'"));
  });

  it('apply deletes no more than it set out to: rows matching the plan that came meanwhile are left, counted, and the log line says error (was: deleted until a short batch)', async () => {
    const s = uniqueSchema('lock_cap');
    await client.query(`create schema ${s}; create table ${s}.ev (id bigint primary key, created_at timestamptz not null);
      insert into ${s}.ev select i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute' from generate_series(1, 170) i`);
    const db = await PostgresAdapter.open({ type: 'postgres', url, schema: s }, 1);
    try {
      const log = logRelation(s);
      await ensureLog(db, log);
      const e: PlanEntry = { unique_id: 'source.x.raw.ev', table: 'raw.ev', target: 'wh', apply_to: 'warehouse', relation: { schema: s, identifier: 'ev' }, column: 'created_at', column_type: 'timestamp with time zone', keep: '30d', override_days: null, minimum: '1d', batch_size: 40, as_of: '2026-06-01T00:00:00.000Z', cutoff: '2026-05-02T00:00:00.000Z', override_floor: null, rows: 100, oldest: null, newest: null, below_minimum: false, at: { file: 'models/sources.yml', line: 1 } };
      // apply counted 100 rows before it began; 70 more came since (all 170 are before the cutoff)
      const lines: string[] = [];
      const r = await applyEntry(db, e, 100, { runId: 'run-cap', actor: 't', log, out: (l) => lines.push(l) });
      expect(r).toEqual({ deleted: 100, stopped: false, appeared: 70 });
      expect(lines.at(-1)).toMatch(/batch 3, 100 of 100 rows deleted \(100%\)/);
      expect((await countAffected(db, e, false)).rows).toBe(70);
      expect((await db.query(`select rows_deleted::int as d, planned_rows::int as p, status from ${s}.vigil_retention_log`))).toEqual([{ d: 100, p: 100, status: 'error' }]);
    } finally {
      await db.close();
    }
  });
});

describe('a role that may not keep the lease table (Postgres warehouse)', () => {
  it('sync and retention apply go on without leases, warned once, naming what is lost and the grant (was: ERROR raw.big: permission denied for schema tgt, 0 rows); apply writes a log it may not alter without override_floor (was: must be owner)', async () => {
    // the role owns the copy's schema (`wh`: copy and sync state) and has only USAGE on the target's (`tgt`)
    const src = uniqueSchema('nolease_src');
    const wh = uniqueSchema('nolease_wh');
    const tgt = uniqueSchema('nolease_tgt');
    const role = `i71_nolease_${randomBytes(3).toString('hex')}`;
    await client.query(`create role ${role} login password 'role-Pw-71'; create schema ${wh} authorization ${role}; create schema ${tgt}; grant usage on schema ${tgt} to ${role};
      create schema ${src}; grant usage on schema ${src} to ${role};
      create table ${src}.big (id bigint primary key, created_at timestamptz not null); create table ${src}.small (id bigint primary key, created_at timestamptz not null);
      insert into ${src}.big select i, now() - interval '1 day' - i * interval '1 second' from generate_series(1, 300) i;
      insert into ${src}.big select 300 + i, now() - interval '1 hour' from generate_series(1, 20) i;
      insert into ${src}.small select i, now() - interval '1 hour' from generate_series(1, 5) i;
      grant select on all tables in schema ${src} to ${role}`);
    // the retention log, made once by an owner (an earlier Vigil: no override_floor) in the target's schema, written by the role
    await client.query(`create table ${tgt}.${RETENTION_LOG_TABLE} (run_id varchar, table_name varchar, relation_name varchar, target_name varchar, column_name varchar, keep varchar, override_column varchar, as_of timestamptz, cutoff timestamptz, planned_rows bigint, rows_deleted bigint, status varchar, started_at timestamptz, finished_at timestamptz, actor varchar);
      grant select, insert, update, delete on ${tgt}.${RETENTION_LOG_TABLE} to ${role}`);
    const u = new URL(url);
    u.username = role;
    // (a password: CI's embedded Postgres authenticates with scram-sha-256)
    u.password = 'role-Pw-71';
    const dir = makeProject({
      'project.yaml': `name: noleasetest\ndefault_target: wh\nretention: { minimum: 1h }\ntargets:\n  wh: { type: postgres, url: "{{ env_var('ROLE_URL') }}", schema: ${tgt} }\n  app: { type: postgres, url: "{{ env_var('ROLE_URL') }}", schema: ${src} }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: ${wh}\n    sync: { from: app, schema: ${src} }\n    tables:\n      - name: big\n        sync: { primary_key: id, cursor: created_at }\n        retention: { column: created_at, keep: 12h }\n      - name: small\n        sync: { primary_key: id, cursor: created_at }\n`,
    });
    dirs.push(dir);
    const roleEnv = { ROLE_URL: u.toString() };
    try {
      const sync = vigil(dir, ['sync'], roleEnv);
      expect(sync.code, sync.stdout + sync.stderr).toBe(0);
      expect(sync.stdout).toMatch(/OK raw\.big: /);
      expect(sync.stdout).toMatch(/OK raw\.small: /);
      const warning = new RegExp(`warning: cannot hold stream leases in ${tgt}\\.vigil_serve_leases \\(permission denied for schema ${tgt} \\[SQLSTATE 42501\\]\\): syncing without them — a retention apply or a serve job may run beside this sync; grant CREATE on schema ${tgt} to ${role}, or create the table once as an owner`, 'g');
      expect(sync.stdout.match(warning), sync.stdout).toHaveLength(1);
      expect((await client.query(`select count(*)::int as n from ${wh}.big`)).rows).toEqual([{ n: 320 }]);

      const plan = vigil(dir, ['retention', 'plan'], roleEnv);
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
      const apply = vigil(dir, ['retention', 'apply'], roleEnv);
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      expect(apply.stdout).toMatch(/OK raw\.big: deleted 300 rows/);
      expect(apply.stderr).toMatch(new RegExp(`warning: cannot hold stream leases in ${tgt}\\.vigil_serve_leases \\(permission denied for schema ${tgt} .*\\): deleting without them — a sync of these streams may run meanwhile and copy back what this apply deletes; grant CREATE on schema ${tgt} to ${role}`));
      // the log it may not alter: its line logged without override_floor, said once
      expect(apply.stderr).toMatch(new RegExp(`warning: cannot add override_floor to ${tgt}\\.vigil_retention_log \\(made by an earlier Vigil; must be owner of table vigil_retention_log .*\\): this apply's lines are logged without their override_floor, so a sync of the copy falls back to today's retention\\.minimum for them`));
      expect(apply.stderr).not.toMatch(/\n\s+at /);
      expect((await client.query(`select count(*)::int as n from ${wh}.big`)).rows).toEqual([{ n: 20 }]);
      expect((await client.query(`select status, rows_deleted::int as d from ${tgt}.${RETENTION_LOG_TABLE}`)).rows).toEqual([{ status: 'success', d: 300 }]);
    } finally {
      await client.query(`drop schema ${wh} cascade; drop owned by ${role}; drop role ${role}`);
    }
  });
});
