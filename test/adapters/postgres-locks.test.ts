/**
 * Builds and seed loads on Postgres while other sessions read (a BI tool): real reader sessions
 * (node `pg` clients of their own) against the real server, the build's swap never failing
 * because of them (no deadlock), a reader never queued behind a build's long wait, a wait past a
 * moment said naming who holds the lock, and a wait statement_timeout_ms cuts said as that wait.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, VIGIL } from '../helpers.js';

const url = inject('pgUrl');
const dirs: string[] = [];
const clients: pg.Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  dirs.forEach(removeDir);
});

async function session(name: string, options?: string): Promise<pg.Client & { pid: number }> {
  const c = new pg.Client({ connectionString: url, application_name: name, ...(options ? { options } : {}) });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  const pid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
  return Object.assign(c, { pid });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait (polling, at most `ms`) until `check` holds; whether it did. */
async function until(check: () => Promise<boolean>, ms = 20_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(25)) if (await check()) return true;
  return false;
}

/** Whether a backend of `app` waits for a lock. */
const waitingForLock = (c: pg.Client, app: string) => async () => (await c.query("select count(*)::int as n from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'", [app])).rows[0].n > 0;

describe('builds on Postgres while BI tools read', () => {
  it('the swap locks only the views that read nothing but the table: a view joining another table leaves that table alone (LOCK on a view locks all it reads; was: the other table held ACCESS EXCLUSIVE for the whole swap)', async () => {
    const schema = uniqueSchema('pgl_viewlock');
    const b = await PostgresAdapter.open({ type: 'postgres', url, schema, application_name: 'r17-builder' }, 1);
    const watcher = await session('r17-watch');
    try {
      await b.ensureSchema(schema);
      const req = { kind: 'table' as const, relation: { schema, identifier: 'm' }, sql: 'select i as id from generate_series(1, 100) as i', fullRefresh: false };
      await b.materialize(req);
      await b.materialize({ kind: 'table', relation: { schema, identifier: 'dim' }, sql: 'select i as id, i * 2 as two from generate_series(1, 100) as i', fullRefresh: false });
      await b.materialize({ kind: 'view', relation: { schema, identifier: 'v_only' }, sql: `select * from ${schema}.m`, fullRefresh: false });
      await b.materialize({ kind: 'view', relation: { schema, identifier: 'v_join' }, sql: `select m.id, d.two from ${schema}.m m join ${schema}.dim d using (id)`, fullRefresh: false });
      // a writer holds dim (not m): locking v_join would wait for it
      const writer = await session('r17-writer');
      await writer.query('begin');
      await writer.query(`lock table ${schema}.dim in row exclusive mode`);
      const r = await Promise.race([b.materialize(req).then(() => 'built'), sleep(8000).then(() => 'waited')]);
      const waitedFor = (await watcher.query("select count(*)::int as n from pg_stat_activity where application_name = 'r17-builder' and wait_event_type = 'Lock'")).rows[0].n;
      await writer.query('commit');
      expect([r, waitedFor]).toEqual(['built', 0]);
    } finally {
      await b.close();
    }
  }, 60_000);

  it('a table rebuilt while one session reads it and another polls a view on it: the build succeeds, no reader sees a deadlock, and the wait is said naming the reader (was: "deadlock detected [SQLSTATE 40P01]", the build failed)', async () => {
    const schema = uniqueSchema('pgl_deadlock');
    const lines: string[] = [];
    const b = await PostgresAdapter.open({ type: 'postgres', url, schema, application_name: 'i96-builder' }, 1);
    b.onRetry = (m) => lines.push(m);
    const watcher = await session('i96-watch');
    try {
      await b.ensureSchema(schema);
      const req = { kind: 'table' as const, relation: { schema, identifier: 't_big' }, sql: 'select i as id from generate_series(1, 20000) as i', fullRefresh: false };
      await b.materialize(req);
      await b.materialize({ kind: 'view', relation: { schema, identifier: 'v_on_t' }, sql: `select * from ${schema}.t_big`, fullRefresh: false });
      const reader = await session('i96-reader');
      await reader.query('begin');
      await reader.query(`select count(*) from ${schema}.t_big`);
      const building = b.materialize(req).then(
        (r) => ({ ok: true as const, message: r.message }),
        (e: Error) => ({ ok: false as const, message: e.message }),
      );
      // a BI tool polling the view every 20 ms, its errors kept
      const poller = await session('i96-poller');
      const pollErrors: string[] = [];
      let polling = true;
      const polled = (async () => {
        while (polling) {
          await poller.query(`select count(*) from ${schema}.v_on_t`).catch((e: Error & { code?: string }) => pollErrors.push(`${e.code}: ${e.message}`));
          await sleep(20);
        }
      })();
      expect(await until(waitingForLock(watcher, 'i96-builder'))).toBe(true);
      // the poller queued behind the build (or gone past it), then the reader's long query ends
      // after the poller's deadlock check has passed: the build would be the one to see the cycle
      await until(waitingForLock(watcher, 'i96-poller'), 3000);
      await sleep(1500);
      // (the build says its wait once it passes a moment: the reader holds on until then)
      await until(async () => lines.some((l) => /^waiting /.test(l)));
      await reader.query('commit');
      const r = await building;
      polling = false;
      await polled;
      expect(r, lines.join('\n')).toEqual({ ok: true, message: 'created table' });
      // never a deadlock, and the view never missing: the cascade's drop and its re-creation are
      // in the swap's transaction (was: 42P01, relation "v_on_t" does not exist, once the swap committed)
      expect(pollErrors).toEqual([]);
      expect(lines.join('\n')).toMatch(new RegExp(`waiting \\(\\d+\\.\\ds so far\\) for the lock on ${schema}\\.t_big to swap the rebuilt table in, held by backend pid ${reader.pid}, i96-reader`));
    } finally {
      await b.close();
    }
  });

  it('a deadlock the lock order cannot prevent (a reader holding a table whose foreign key references the rebuilt one, then reading it) retries the swap, said in one line; the reader goes on (was: the build failed with 40P01)', async () => {
    const schema = uniqueSchema('pgl_retry');
    const lines: string[] = [];
    const b = await PostgresAdapter.open({ type: 'postgres', url, schema, application_name: 'i96-builder2' }, 1);
    b.onRetry = (m) => lines.push(m);
    const watcher = await session('i96-watch2');
    try {
      await b.ensureSchema(schema);
      const req = { kind: 'table' as const, relation: { schema, identifier: 'parent' }, sql: 'select i as id from generate_series(1, 100) as i', fullRefresh: false };
      await b.materialize(req);
      await b.execute(`alter table ${schema}.parent add primary key (id)`);
      await b.execute(`create table ${schema}.child (id int references ${schema}.parent (id))`);
      // this reader's own deadlock check waits 10 s: the build's (1 s) finds the cycle
      const reader = await session('i96-reader2', '-c deadlock_timeout=10s');
      await reader.query('begin');
      await reader.query(`select count(*) from ${schema}.child`);
      const building = b.materialize(req).then(
        (r) => ({ ok: true as const, message: r.message, keys: r.droppedKeys }),
        (e: Error) => ({ ok: false as const, message: e.message, keys: undefined }),
      );
      // the drop waits for the child table the reader holds; the reader then reads the rebuilt table
      expect(await until(waitingForLock(watcher, 'i96-builder2'))).toBe(true);
      const read = await reader.query(`select count(*)::int as n from ${schema}.parent`).then(
        (x) => `rows ${x.rows[0].n}`,
        (e: Error) => e.message,
      );
      expect(read).toBe('rows 100');
      await reader.query('commit');
      const r = await building;
      expect(r.ok, r.message).toBe(true);
      expect(r.keys).toEqual([{ constraint: 'child_id_fkey', on: { schema, identifier: 'child' } }]);
      expect(lines.filter((l) => /deadlock/.test(l))).toEqual([expect.stringMatching(new RegExp(`^${schema}\\.parent: a deadlock with another session \\(backend pid ${reader.pid}\\) ended the swap of the rebuilt table: swapping it in again \\(1 of 3\\)$`))]);
    } finally {
      await b.close();
    }
  });

  it('a reader arriving while a build waits for a long reader is not queued behind the build (was: every new reader stalled until the long one ended)', async () => {
    const schema = uniqueSchema('pgl_queue');
    const b = await PostgresAdapter.open({ type: 'postgres', url, schema, application_name: 'i96-builder3' }, 1);
    const watcher = await session('i96-watch3');
    let stop = async (): Promise<unknown> => undefined;
    try {
      await b.ensureSchema(schema);
      const req = { kind: 'table' as const, relation: { schema, identifier: 't' }, sql: 'select i as id from generate_series(1, 1000) as i', fullRefresh: false };
      await b.materialize(req);
      const long = await session('i96-long');
      stop = () => long.query('rollback');
      await long.query('begin');
      await long.query(`select count(*) from ${schema}.t`);
      const building = b.materialize(req);
      expect(await until(waitingForLock(watcher, 'i96-builder3'))).toBe(true);
      // while the long reader still holds the table and the build still waits
      const late = await session('i96-late');
      const answered = await Promise.race([late.query(`select count(*)::int as n from ${schema}.t`).then((x) => x.rows[0].n as number), sleep(20_000).then(() => 'still queued')]);
      expect(answered).toBe(1000);
      await long.query('commit');
      expect((await building).message).toBe('created table');
    } finally {
      await stop().catch(() => undefined);
      await b.close();
    }
  });

  it('two first loads of one seed at once both succeed, its rows once (was: duplicate key value violates unique constraint "pg_type_typname_nsp_index")', async () => {
    const schema = uniqueSchema('pgl_seed');
    const dir = makeProject({ 'project.yaml': 'name: x\n' });
    dirs.push(dir);
    const file = join(dir, 'big.csv');
    writeFileSync(file, Array.from({ length: 50_000 }, (_, i) => `${i},name ${i}`).join('\n') + '\n');
    const one = await PostgresAdapter.open({ type: 'postgres', url, schema }, 1);
    const two = await PostgresAdapter.open({ type: 'postgres', url, schema }, 1);
    try {
      await one.ensureSchema(schema);
      for (const round of [1, 2, 3]) {
        const load = (a: PostgresAdapter) => a.loadTable({ relation: { schema, identifier: `seed_${round}` }, columns: [{ name: 'id', type: 'int' }, { name: 'name', type: 'string' }], file });
        expect(await Promise.allSettled([load(one), load(two)])).toEqual([
          { status: 'fulfilled', value: 50_000 },
          { status: 'fulfilled', value: 50_000 },
        ]);
        expect(await one.query(`select count(*)::int as n, count(distinct id)::int as d from ${schema}.seed_${round}`)).toEqual([{ n: 50_000, d: 50_000 }]);
      }
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('vigil build waiting for a lock on Postgres', () => {
  /** `vigil` run in the background: its output so far, and its exit. */
  function background(dir: string, args: string[]) {
    const child = spawn(process.execPath, [VIGIL, ...args], { cwd: dir, env: { ...process.env, VIGIL_TEST_PG_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (b: Buffer) => (out.stdout += b));
    child.stderr.on('data', (b: Buffer) => (out.stderr += b));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { out, exited, child };
  }

  it("a reader holding the table: the wait is said in one line naming it, and statement_timeout_ms cutting it names the lock and the reader, not the model's SQL (was: silent, then 'canceling statement due to statement timeout')", async () => {
    const schema = uniqueSchema('pgl_cli');
    const project = (timeout: string) => `name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "{{ env_var('VIGIL_TEST_PG_URL') }}", schema: ${schema}${timeout} }\n`;
    const dir = makeProject({ 'project.yaml': project(''), 'models/t_big.sql': "{{ config(materialized='table') }}\nselect 1 as x" });
    dirs.push(dir);
    const first = background(dir, ['build', '-s', 't_big']);
    expect(await first.exited, first.out.stdout + first.out.stderr).toBe(0);
    writeFileSync(join(dir, 'project.yaml'), project(', statement_timeout_ms: 3000'));
    const reader = await session('i96-bi');
    await reader.query('begin');
    await reader.query(`select count(*), 'a literal' from ${schema}.t_big`);
    try {
      const r = background(dir, ['build', '-s', 't_big']);
      expect(await r.exited, r.out.stdout + r.out.stderr).toBe(1);
      const said = r.out.stderr.split('\n').filter((l) => /waiting \(/.test(l));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(new RegExp(`^  waiting \\(\\d+\\.\\ds so far\\) for the lock on ${schema}\\.t_big to swap the rebuilt table in, held by backend pid ${reader.pid}, i96-bi( from [0-9.:a-f]+)?, idle in transaction for \\d+\\.\\ds, its last query: select count\\(\\*\\), '…' from ${schema}\\.t_big$`));
      expect(r.out.stdout).toMatch(new RegExp(`waited \\d+\\.\\ds for the lock on ${schema}\\.t_big to swap the rebuilt table in \\(held by backend pid ${reader.pid}, i96-bi.*\\), and the target's statement_timeout_ms cut the wait: the old table is kept`));
      expect(r.out.stdout).not.toContain('canceling statement');
      expect(r.out.stdout + r.out.stderr).not.toContain('a literal');
    } finally {
      await reader.query('rollback');
    }
  });

  it('another build holding the relation (a killed build\'s backend): the wait is said naming it, and the build goes on once it is gone (was: silent)', async () => {
    const schema = uniqueSchema('pgl_adv');
    const dir = makeProject({ 'project.yaml': `name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "{{ env_var('VIGIL_TEST_PG_URL') }}", schema: ${schema} }\n`, 'models/m.sql': "{{ config(materialized='table') }}\nselect 1 as x" });
    dirs.push(dir);
    const orphan = await session('i96-orphan');
    await orphan.query('select pg_advisory_lock(hashtextextended($1, 0))', [`vigil:${schema}.m`]);
    const r = background(dir, ['build', '-s', 'm']);
    const said = await until(async () => /waiting \(/.test(r.out.stderr), 30_000);
    await orphan.query('select pg_advisory_unlock_all()');
    expect(await r.exited, r.out.stdout + r.out.stderr).toBe(0);
    expect(said, r.out.stderr).toBe(true);
    expect(r.out.stderr).toMatch(new RegExp(`waiting \\(\\d+\\.\\ds so far\\) for another build or load of ${schema}\\.m to finish, held by backend pid ${orphan.pid}, i96-orphan`));
  });

  it("a build killed (kill -9) mid-query: its backend ends within seconds, and the next build does not wait for it (was: the backend ran the model's query to its end, holding the relation's lock)", async () => {
    const schema = uniqueSchema('pgl_killed');
    const dir = makeProject({ 'project.yaml': `name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "{{ env_var('VIGIL_TEST_PG_URL') }}", schema: ${schema} }\n`, 'models/slow.sql': "{{ config(materialized='table') }}\nselect 1 as x from pg_sleep(60)" });
    dirs.push(dir);
    const watcher = await session('h122-watch');
    const running = async () => (await watcher.query("select pid from pg_stat_activity where query like $1 and pid <> pg_backend_pid()", [`%${schema}%pg_sleep(60)%`])).rows.map((x) => x.pid as number);
    const r = background(dir, ['build', '-s', 'slow']);
    try {
      expect(await until(async () => (await running()).length > 0, 30_000), r.out.stdout + r.out.stderr).toBe(true);
      r.child.kill('SIGKILL');
      await r.exited;
      expect(await until(async () => (await running()).length === 0, 5_000)).toBe(true);
    } finally {
      for (const pid of await running()) await watcher.query('select pg_terminate_backend($1)', [pid]);
    }
  }, 60_000);
});
