/**
 * `vigil sync` when a database connection is lost mid-run (its backends terminated again and again,
 * as a restarting server or a failover does), against a real PostgreSQL server: the failure says
 * WHICH side's connection it was, the source database's or the target's (was: "Client has
 * encountered a connection error and is not queryable" or "terminating connection due to
 * administrator command" alone, the two sides often the same kind of server), and the next run
 * copies every row once.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, syncTargetRows, vigilProcessAsync, vigil } from '../helpers.js';
import { fileClient } from '../support/pg-client.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** `url` with its connections named `name` (application_name), so that only they are terminated. */
function named(name: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', name);
  return u.toString();
}

/**
 * Once a backend named `name` runs a COPY (the rows being read or written), terminate the backends
 * named `name` every 30 ms until `done` settles; how many were terminated.
 */
async function terminateUntil(name: string, done: Promise<unknown>): Promise<number> {
  let over = false;
  void done.finally(() => (over = true));
  while (!over && !(await client.query(`select 1 from pg_stat_activity where application_name = $1 and state = 'active' and query ilike 'copy%'`, [name])).rows.length) await new Promise((ok) => setTimeout(ok, 20));
  let n = 0;
  while (!over) {
    const r = await client.query(`select pg_terminate_backend(pid) as t from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()`, [name]);
    n += r.rows.filter((x: { t: boolean }) => x.t).length;
    await new Promise((ok) => setTimeout(ok, 30));
  }
  return n;
}

describe.each(['source', 'target'] as const)('vigil sync, the %s connection lost mid-run', (side) => {
  it(`says it was the ${side}'s, exit 1; the next run copies every row once`, async () => {
    const src = uniqueSchema('lost_src');
    const dest = uniqueSchema('lost_dst');
    await client.query(`create schema ${src};
      create table ${src}.ev (id bigint primary key, v text, created_at timestamptz not null); create index on ${src}.ev (created_at, id);
      insert into ${src}.ev select i, repeat('x', 100), timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' from generate_series(1, 200000) i`);
    const tag = `vigil_${side}_${src}`.slice(0, 60);
    // the target Postgres (its connections the ones terminated when side = target), or DuckDB
    const targetKind = side === 'target' ? 'postgres' : 'duckdb';
    const dir = makeProject({
      'project.yaml':
        targetKind === 'postgres'
          ? `name: lost\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "{{ env_var('WH_URL') }}", schema: analytics }\n  app: { type: postgres, url: "{{ env_var('APP_URL') }}", schema: analytics }\n`
          : `name: lost\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  app: { type: postgres, url: "{{ env_var('APP_URL') }}", schema: analytics }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: ${targetKind === 'postgres' ? dest : 'raw'}\n    sync: { from: app, schema: ${src} }\n    tables:\n      - name: ev\n        sync: { primary_key: id, cursor: created_at, batch_size: 20000 }\n`,
    });
    dirs.push(dir);
    const env = { WH_URL: named(side === 'target' ? tag : 'vigil_other'), APP_URL: named(side === 'source' ? tag : 'vigil_other') };
    const run = vigilProcessAsync(dir, ['sync'], env);
    const terminated = await terminateUntil(tag, run);
    const r = await run;
    expect(terminated).toBeGreaterThan(0);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const said = side === 'source' ? "lost the connection to the source database 'app'" : "lost the connection to the target 'wh'";
    expect(r.stdout).toContain(said);
    expect(r.stdout).not.toContain(side === 'source' ? 'the target' : 'the source database');
    expect(r.stdout).not.toMatch(/\n\s+at /);
    const rel = `${targetKind === 'postgres' ? dest : 'raw'}`;
    // the failure kept in the state table says so too (dashboards read last_error); when the
    // target's connection was lost, the failure may not have been recorded: its connection was gone
    const [state] = await syncTargetRows(targetKind, dir, client, `select last_status, last_error from ${rel}.vigil_sync_state where stream = 'raw.ev'`);
    if (side === 'source') expect(state).toMatchObject({ last_status: 'error', last_error: expect.stringContaining(said) });
    // nothing lost, nothing doubled: the next run (no connection terminated) completes the copy
    const again = vigil(dir, ['sync'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const [copy] = await syncTargetRows(targetKind, dir, client, `select cast(count(*) as varchar) as n, cast(count(distinct id) as varchar) as d, cast(sum(id) as varchar) as s from ${rel}.ev`);
    expect(copy).toEqual({ n: '200000', d: '200000', s: String((200000 * 200001) / 2) });
  });
});

it("a Postgres target that cannot be reached is named (was: 'could not connect to Postgres', the project having two Postgres targets)", () => {
  const dir = makeProject({
    'project.yaml': `name: lost\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "postgres://postgres@127.0.0.1:1/none", schema: analytics }\n  app: { type: postgres, url: "{{ env_var('APP_URL') }}", schema: analytics }\n`,
    'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: app }\n    tables:\n      - name: ev\n        sync: { primary_key: id, cursor: created_at }\n`,
  });
  dirs.push(dir);
  const r = vigil(dir, ['sync'], { APP_URL: url });
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).toContain("could not connect to Postgres (target 'wh'): connect ECONNREFUSED 127.0.0.1:1");
});
