/**
 * `vigil demo` never replaces a table it did not create: a table of a demo table's name without
 * the demo's comment is refused (exit 2, naming it and the views its replacement would drop),
 * left as it was; --force replaces it and names the views Postgres' cascade dropped. In a real
 * Postgres (the application database) and a real DuckDB file (the dev target).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, projectFiles, removeDir, vigil } from '../helpers.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { builtFromDemo } from '../../src/demo/demo-dependents.js';
import { DEMO_COLUMNS, DEMO_TABLES } from '../../src/demo/demo-guard.js';

const url = inject('pgUrl');
let client: pg.Client;
const dirs: string[] = [];
const demo = ['demo', '--rows', '100', '--days', '3', '--now', '2026-03-02T12:00:00Z'];

function project(): string {
  const dir = makeProject({
    'project.yaml': `name: p\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: public }\n`,
  });
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  client = new pg.Client(url);
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  for (const d of dirs) removeDir(d);
});

describe('vigil demo --target app (Postgres)', () => {
  it("refuses to replace the application's own tables, then with --force names the views it dropped", async () => {
    const raw = uniqueSchema('demo_guard');
    await client.query(`create schema ${raw}; create table ${raw}.workflows (id bigint primary key, name text); insert into ${raw}.workflows values (1, 'precious');
      create view ${raw}.my_report as select count(*) from ${raw}.workflows; create table ${raw}.audit_events (id int); create view ${raw}.ae_view as select * from ${raw}.audit_events`);
    const dir = project();
    const refused = vigil(dir, [...demo, '--target', 'app', '--schema', raw], { DATABASE_URL: url });
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`${raw}.workflows (and the view replacing it would drop: ${raw}.my_report), ${raw}.audit_events (and the view replacing it would drop: ${raw}.ae_view); their rows would be lost`);
    expect(refused.stderr).toContain('--force to replace them');
    expect(refused.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    // nothing touched: the row, both views, and no demo table beside them
    expect((await client.query(`select name from ${raw}.workflows`)).rows).toEqual([{ name: 'precious' }]);
    expect((await client.query(`select table_name from information_schema.tables where table_schema = $1 order by 1`, [raw])).rows.map((r) => r.table_name)).toEqual(['ae_view', 'audit_events', 'my_report', 'workflows']);

    const forced = vigil(dir, [...demo, '--target', 'app', '--schema', raw, '--force'], { DATABASE_URL: url });
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(forced.stderr).toContain(`warning: --force: replacing ${raw}.workflows, not created by vigil demo`);
    // (a view the new table can serve is created again as it was, in the load's transaction: kept, nothing to say)
    expect(forced.stderr).not.toContain(`${raw}.my_report`);
    expect((await client.query(`select count(*)::int as n from ${raw}.my_report`)).rows).toEqual([{ n: expect.any(Number) }]);
    expect(forced.stderr).toContain(`warning: replacing ${raw}.audit_events dropped the view that reads it (Postgres' drop ... cascade): ${raw}.ae_view; create it again`);
    const marks = await client.query(`select c.relname, obj_description(c.oid, 'pg_class') as mark from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r' order by 1`, [raw]);
    expect(marks.rows.length).toBe(7);
    expect(marks.rows.every((r) => r.mark === 'vigil demo data')).toBe(true);

    // its own tables again: replaced without asking, a view on one named as dropped
    await client.query(`create view ${raw}.ae_view as select * from ${raw}.audit_events`);
    const again = vigil(dir, [...demo, '--target', 'app', '--schema', raw], { DATABASE_URL: url });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stderr).not.toContain('--force');
    expect(again.stderr).toContain(`warning: replacing ${raw}.audit_events dropped the view that reads it (Postgres' drop ... cascade): ${raw}.ae_view; create it again`);
  }, 60_000);

  it("makes the same column types as the DuckDB demo: an INTEGER stays integer (was: bigint, and every sync warned that it lands in raw's INTEGER column)", async () => {
    const raw = uniqueSchema('demo_types');
    const dir = project();
    const duck = vigil(dir, [...demo, '--schema', raw]);
    expect(duck.code, duck.stdout + duck.stderr).toBe(0);
    const app = vigil(dir, [...demo, '--target', 'app', '--schema', raw], { DATABASE_URL: url });
    expect(app.code, app.stdout + app.stderr).toBe(0);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    const duckTypes = await db.query<{ t: string; c: string; ty: string }>(`select table_name as t, column_name as c, data_type as ty from information_schema.columns where table_schema = '${raw}' and data_type in ('INTEGER', 'BIGINT') order by 1, 2`);
    await db.close();
    const pgTypes = (await client.query(`select table_name as t, column_name as c, data_type as ty from information_schema.columns where table_schema = $1 and data_type in ('integer', 'bigint') order by 1, 2`, [raw])).rows;
    // the columns sync would warn of (the DuckDB copy, and sources.yml, say integer)
    expect(duckTypes.find((r) => r.t === 'audit_trails' && r.c === 'context_layers')?.ty).toBe('INTEGER');
    expect(pgTypes.map((r) => `${r.t}.${r.c} ${r.ty}`)).toEqual(duckTypes.map((r) => `${r.t}.${r.c} ${r.ty.toLowerCase()}`));
  }, 90_000);

  it('refuses a view of a demo table’s name, --force or not', async () => {
    const raw = uniqueSchema('demo_guard_v');
    await client.query(`create schema ${raw}; create view ${raw}.usage_log as select 1 as id`);
    const r = vigil(project(), [...demo, '--target', 'app', '--schema', raw, '--force'], { DATABASE_URL: url });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`app:${raw} has views of their names: ${raw}.usage_log`);
  });
});

describe('vigil demo (DuckDB)', () => {
  it('refuses to replace a table of the dev database it did not create; --force replaces it', async () => {
    const dir = project();
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    await db.execute(`create schema raw; create table raw.workflows (id bigint, name varchar); insert into raw.workflows values (1, 'precious')`);
    await db.close();
    const refused = vigil(dir, demo);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain("dev:raw has a table of their names not created by vigil demo (no 'vigil demo data' comment): raw.workflows; their rows would be lost");
    const look = async (sql: string) => {
      const d = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
      try {
        return await d.query(sql);
      } finally {
        await d.close();
      }
    };
    expect(await look('select id, name from raw.workflows')).toEqual([{ id: 1n, name: 'precious' }]);
    expect(await look(`select table_name from duckdb_tables() where schema_name = 'raw' order by 1`)).toEqual([{ table_name: 'workflows' }]);

    const forced = vigil(dir, [...demo, '--force']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(forced.stderr).toContain('warning: --force: replacing raw.workflows, not created by vigil demo');
    const marks = await look(`select table_name, comment from duckdb_tables() where schema_name = 'raw' order by 1`);
    expect(marks.length).toBe(7);
    expect(marks.every((r) => r.comment === 'vigil demo data')).toBe(true);
    // its own tables: replaced again without asking
    const again = vigil(dir, demo);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    // the guard knows the demo's columns as the generator makes them
    const cols = await look(`select table_name as t, string_agg(column_name, ',' order by ordinal_position) as c from information_schema.columns where table_schema = 'raw' group by 1 order by 1`);
    expect(Object.fromEntries(cols.map((r) => [r.t, r.c]))).toEqual(Object.fromEntries(Object.entries(DEMO_COLUMNS).sort()));
    // an earlier vigil demo's tables (no comment: from before the mark) are the demo's own (was: refused after the upgrade)
    await look(DEMO_TABLES.map((t) => `comment on table raw.${t} is null`).join('; '));
    const upgraded = vigil(dir, demo);
    expect(upgraded.code, upgraded.stdout + upgraded.stderr).toBe(0);
    expect((await look(`select count(*)::int as n from duckdb_tables() where schema_name = 'raw' and comment = 'vigil demo data'`))[0]).toEqual({ n: 7 });
    // with the demo's columns but another comment, or another table's columns: someone's, refused
    await look(`comment on table raw.workflows is 'crm export'`);
    expect(vigil(dir, demo).code).toBe(2);
  }, 90_000);

  it("refuses to replace the copy vigil sync keeps of the application's table, which has the demo's columns and no comment (was: replaced without a word, the next delta mixing the app's new rows into the demo's); a copy of demo data is the demo's own", async () => {
    const app = uniqueSchema('demo_synced');
    const dir = makeProject({
      'project.yaml': `name: p\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: public }\n`,
      'models/sources.yml': `sources:\n  - name: raw\n    schema: raw\n    sync: { from: app, schema: ${app} }\n    tables:\n      - name: workflows\n        sync: { primary_key: id, cursor: last_accessed_at }\n`,
    });
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    // the application's table: the demo's columns, no mark, its own rows
    expect(vigil(dir, [...demo, '--target', 'app', '--schema', app], env).code).toBe(0);
    await client.query(`comment on table ${app}.workflows is null; insert into ${app}.workflows (id, owner, team, created_at, last_accessed_at) values ('precious', 'alice', 'crm', now(), now())`);
    const synced = vigil(dir, ['sync'], env);
    expect(synced.code, synced.stdout + synced.stderr).toBe(0);
    const precious = async () => {
      const d = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
      try {
        return (await d.query<{ n: number }>(`select count(*)::int as n from raw.workflows where id = 'precious'`))[0].n;
      } finally {
        await d.close();
      }
    };
    expect(await precious()).toBe(1);
    const refused = vigil(dir, demo, env);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`raw.workflows (copies vigil sync keeps of the tables of these names in app:${app}, which vigil demo did not create); their rows would be lost`);
    expect(await precious()).toBe(1);
    // the source unreadable (DATABASE_URL unset): refused too, saying why
    const unknown = vigil(dir, demo, { DATABASE_URL: '' });
    expect(unknown.code, unknown.stdout + unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('which could not be read to tell whether vigil demo created them');
    // a copy of the demo's table (vigil demo --target app, then vigil sync): replaced without asking
    await client.query(`comment on table ${app}.workflows is 'vigil demo data'`);
    const again = vigil(dir, demo, env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(await precious()).toBe(0);
  }, 90_000);
});

describe('what a new demo drops (builtFromDemo)', () => {
  it("an incremental model whose hook alone reads the demo's data is not dropped: its rows come from its SQL (was: dropped by vigil demo with its history, once a hook's ref() became a parent)", () => {
    const r = compileProject(
      projectFiles({
        yml: { 'models/sources.yml': 'sources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: ai_audit_logs\n  - name: app\n    schema: app\n    tables:\n      - name: events\n' },
        models: {
          'models/stg.sql': "select * from {{ source('raw', 'ai_audit_logs') }}",
          'models/from_demo.sql': "{{ config(materialized='incremental') }}\nselect * from {{ ref('stg') }}",
          'models/history.sql': "{{ config(materialized='incremental', post_hook=\"delete from {{ ref('stg') }} where false\") }}\nselect * from {{ source('app', 'events') }}",
        },
      }),
      { env: {} },
    );
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.manifest.nodes['model.fixture.history'].depends_on).toContain('model.fixture.stg');
    expect(builtFromDemo(r.manifest, 'raw', DEMO_TABLES).map((b) => b.name)).toEqual(['from_demo']);
  });
});
