/**
 * Masking and grants on a real PostgreSQL, with real roles that log in (docs/governance.md):
 * the `compliance` role reads the masked relation and not its restricted companion, the
 * `auditor` role reads the restricted companion (unmasked) and not the masked table, `sre`
 * reads only the view it was granted; a grantee removed from the config loses access on the
 * next build (the view keeps its grants across `create or replace`, so only the revoke takes
 * them away); a second build changes no grant; grants_mode: add leaves a grant in place, also
 * one made outside Vigil on a relation a build drops and makes again.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { uniqueSchema, withPgClient } from '../support/postgres.js';
import { makeProject, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
const suffix = `${process.pid.toString(36)}_${randomBytes(2).toString('hex')}`;
const ROLES = { compliance: `compliance_${suffix}`, sre: `sre_${suffix}`, auditor: `auditor_${suffix}`, outside: `outside_${suffix}` };
const PASSWORD = 'vigil_role_pw';
/** sha256('a@x.com') as lowercase hex: what `policy: hash` publishes on every warehouse (test/compile/masking.test.ts checks DuckDB's) */
const SHA256_A = '478abec7430569163161dfea8513b8ce89d05f559456a26e945c66e1fe55a29d';

const admin = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => withPgClient(inject('pgUrl'), fn);

/** Connect as `role` and run `sql`: its rows, or the error Postgres gave. */
async function as(role: string, sql: string): Promise<{ rows: Array<Record<string, unknown>> } | { error: string }> {
  const url = new URL(inject('pgUrl'));
  url.username = role;
  url.password = PASSWORD;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    return { rows: (await c.query(sql)).rows };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await admin(async (c) => {
    for (const r of Object.values(ROLES)) await c.query(`create role "${r}" login password '${PASSWORD}'`);
  });
});
afterAll(async () => {
  dirs.forEach(removeDir);
  await admin(async (c) => {
    for (const r of Object.values(ROLES)) await c.query(`drop owned by "${r}"; drop role if exists "${r}"`).catch(() => undefined);
  });
});

/** A Postgres project in `schema` whose roles read the relations they are granted (Postgres asks for USAGE on the schema too). */
const projectYaml = (name: string, schema: string) => `name: ${name}
default_target: pg
targets:
  pg:
    type: postgres
    url: "{{ env_var('DATABASE_URL') }}"
    schema: ${schema}
on_run_start:
  - "create schema if not exists ${schema}"
  - "grant usage on schema ${schema} to ${Object.values(ROLES).join(', ')}"
`;

function project(schema: string, opsGrants: string, opsMode = '', more: Record<string, string> = {}): string {
  const dir = makeProject({
    ...more,
    'project.yaml': projectYaml('gov', schema),
    'seeds/people.csv': 'id,email,prompt,note,n\n1,a@x.com,hello there,ok,5\n2,,secret,fine,7\n',
    'models/people_pub.sql': `select id, email, prompt, note, n from {{ ref('people') }}`,
    'models/ops_daily.sql': `select count(*) as people from {{ ref('people_pub') }}`,
    'models/schema.yml': `models:
  - name: people_pub
    config:
      materialized: table
      grants: { select: [${ROLES.compliance}] }
      restricted: { grants: { select: [${ROLES.auditor}] } }
    columns:
      - name: id
      - name: email
        policy: hash
      - name: prompt
        meta: { pii: true }
      - name: note
        policy: redact
      - name: n
        policy: drop
  - name: ops_daily
    config:
      materialized: view
      grants: { select: [${opsGrants}] }${opsMode ? `\n      grants_mode: ${opsMode}` : ''}
`,
  });
  dirs.push(dir);
  return dir;
}

const env = () => ({ DATABASE_URL: inject('pgUrl') });
const denied = (r: Awaited<ReturnType<typeof as>>) => ('error' in r ? r.error : `read ${JSON.stringify(r.rows)}`);

describe('grants and masking on Postgres', () => {
  it('each role reads exactly what it was granted: masked for compliance, unmasked for the restricted grantee', async () => {
    const schema = uniqueSchema('gov_access');
    const dir = project(schema, `${ROLES.compliance}, ${ROLES.sre}`);
    const r = vigil(dir, ['build'], env());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`OK created table ${schema}\\.people_pub \\(restricted view ${schema}\\.people_pub__restricted; restricted: granted select to ${ROLES.auditor}; granted select to ${ROLES.compliance}\\)`));
    expect(r.stdout).not.toMatch(/no access control/);

    // compliance: the masked table, with the policies applied; not the restricted view
    const masked = await as(ROLES.compliance, `select * from ${schema}.people_pub order by id`);
    expect(masked).toEqual({
      rows: [
        // sha256('a@x.com') as lowercase hex, the same on every warehouse
        { id: '1', email: SHA256_A, prompt: '****', note: null },
        { id: '2', email: null, prompt: '****', note: null },
      ],
    });
    expect(denied(await as(ROLES.compliance, `select * from ${schema}.people_pub__restricted`))).toMatch(/permission denied/);
    expect(await as(ROLES.compliance, `select people from ${schema}.ops_daily`)).toEqual({ rows: [{ people: '2' }] });

    // auditor: the restricted companion, unmasked; not the masked table
    expect(await as(ROLES.auditor, `select id, email, prompt, n from ${schema}.people_pub__restricted order by id`)).toEqual({
      rows: [
        { id: '1', email: 'a@x.com', prompt: 'hello there', n: '5' },
        { id: '2', email: null, prompt: 'secret', n: '7' },
      ],
    });
    expect(denied(await as(ROLES.auditor, `select * from ${schema}.people_pub`))).toMatch(/permission denied/);

    // sre: only the view it was granted
    expect(await as(ROLES.sre, `select people from ${schema}.ops_daily`)).toEqual({ rows: [{ people: '2' }] });
    expect(denied(await as(ROLES.sre, `select * from ${schema}.people_pub`))).toMatch(/permission denied/);
    expect(denied(await as(ROLES.sre, `select * from ${schema}.people_pub__restricted`))).toMatch(/permission denied/);

    // the hash is the same as the warehouse's own sha256 of the text
    const ref = await admin((c) => c.query(`select encode(sha256('a@x.com'::bytea), 'hex') as h`));
    expect((masked as { rows: Array<{ email: string }> }).rows[0].email).toBe(ref.rows[0].h);

    // restricted: taken out of the config: the companion (unmasked, the auditor's grant) goes with it (was: left readable)
    const yml = join(dir, 'models/schema.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace(/\n      restricted: \{[^\n]*\}/, ''));
    const again = vigil(dir, ['run', '-s', 'people_pub'], env());
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain(`dropped the restricted view ${schema}.people_pub__restricted (restricted: is no longer in its config)`);
    expect(denied(await as(ROLES.auditor, `select * from ${schema}.people_pub__restricted`))).toMatch(/does not exist/);
  });

  it('restricted: taken out of a model masked only by PII marks (meta pii, a content column name, no policy:) drops its companion too', async () => {
    const schema = uniqueSchema('gov_marked');
    const restricted = `, restricted={'grants': {'select': ['${ROLES.auditor}']}}`;
    const dir = makeProject({
      'project.yaml': projectYaml('marked', schema),
      'seeds/people.csv': 'id,email\n1,a@x.com\n',
      'models/rc_name.sql': `{{ config(materialized='table'${restricted}) }} select id, email as prompt from {{ ref('people') }}`,
      'models/rc_mark.sql': `{{ config(materialized='table'${restricted}) }} select id, email from {{ ref('people') }}`,
      'models/schema.yml': `models:
  - name: rc_name
    columns:
      - name: id
      - name: prompt
  - name: rc_mark
    columns:
      - name: id
      - name: email
        meta: { pii: true }
`,
    });
    dirs.push(dir);
    const built = vigil(dir, ['build'], env());
    expect(built.code, built.stdout + built.stderr).toBe(0);
    expect(await as(ROLES.auditor, `select prompt from ${schema}.rc_name__restricted`)).toEqual({ rows: [{ prompt: 'a@x.com' }] });
    expect(await as(ROLES.auditor, `select email from ${schema}.rc_mark__restricted`)).toEqual({ rows: [{ email: 'a@x.com' }] });
    for (const m of ['rc_name', 'rc_mark']) writeFileSync(join(dir, `models/${m}.sql`), readFileSync(join(dir, `models/${m}.sql`), 'utf8').replace(restricted, ''));
    const again = vigil(dir, ['run'], env());
    expect(again.code, again.stdout + again.stderr).toBe(0);
    for (const m of ['rc_name', 'rc_mark']) {
      expect(again.stdout).toContain(`dropped the restricted view ${schema}.${m}__restricted (restricted: is no longer in its config)`);
      // (was: still there, granted, the raw emails readable)
      expect(denied(await as(ROLES.auditor, `select * from ${schema}.${m}__restricted`))).toMatch(/does not exist/);
    }
  });

  it('a model renamed, then given an alias: its old restricted companion (unmasked, granted) is named in a warning at every run with how to drop it, not dropped (another target or checkout may build it) (was: left without a word, readable by its old grantees)', async () => {
    const schema = uniqueSchema('gov_rename');
    const dir = project(schema, ROLES.compliance);
    const built = vigil(dir, ['build'], env());
    expect(built.code, built.stdout + built.stderr).toBe(0);
    expect(await as(ROLES.auditor, `select email from ${schema}.people_pub__restricted where id = 1`)).toEqual({ rows: [{ email: 'a@x.com' }] });

    // renamed: people_pub -> people_v2 (file, YAML name, the ref reading it)
    const yml = join(dir, 'models/schema.yml');
    writeFileSync(join(dir, 'models/people_v2.sql'), readFileSync(join(dir, 'models/people_pub.sql'), 'utf8'));
    rmSync(join(dir, 'models/people_pub.sql'));
    writeFileSync(join(dir, 'models/ops_daily.sql'), `select count(*) as people from {{ ref('people_v2') }}`);
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('- name: people_pub', '- name: people_v2'));
    const renamed = vigil(dir, ['run'], env());
    expect(renamed.code, renamed.stdout + renamed.stderr).toBe(0);
    expect(renamed.stdout).toContain(`warning: the restricted view ${schema}.people_pub__restricted shows the unmasked rows of ${schema}.people_pub, which no model of this project builds here any more (renamed, given another alias, removed — or enabled on another target only), to its grantees under no policy: drop it (drop view "${schema}"."people_pub__restricted") unless another target or checkout of the project still builds it`);
    // named, not dropped
    expect(await as(ROLES.auditor, `select email from ${schema}.people_pub__restricted where id = 1`)).toEqual({ rows: [{ email: 'a@x.com' }] });
    await admin((c) => c.query(`drop view ${schema}.people_pub__restricted`));
    expect(await as(ROLES.auditor, `select email from ${schema}.people_v2__restricted where id = 1`)).toEqual({ rows: [{ email: 'a@x.com' }] });
    // the old masked table stays (as dbt leaves orphans), masked
    expect(await as(ROLES.compliance, `select email from ${schema}.people_pub where id = 1`)).toEqual({ rows: [{ email: SHA256_A }] });

    // an alias: people_v2 now builds people_alias (and people_alias__restricted)
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('      materialized: table\n', '      materialized: table\n      alias: people_alias\n'));
    const aliased = vigil(dir, ['run'], env());
    expect(aliased.code, aliased.stdout + aliased.stderr).toBe(0);
    expect(aliased.stdout).toContain(`warning: the restricted view ${schema}.people_v2__restricted shows the unmasked rows of ${schema}.people_v2, which no model of this project builds here any more`);
    expect(aliased.stdout).not.toContain('people_pub__restricted');
    await admin((c) => c.query(`drop view ${schema}.people_v2__restricted`));
    expect(await as(ROLES.auditor, `select email from ${schema}.people_alias__restricted where id = 1`)).toEqual({ rows: [{ email: 'a@x.com' }] });

    // nothing left: a run says nothing of it; a view of another project is not named, an unmarked one is named as unmarked
    await admin((c) => c.query(`create view ${schema}.other__restricted as select 1 as x; comment on view ${schema}.other__restricted is 'vigil restricted companion of ${schema}.other (project elsewhere)'; create table ${schema}.legacy as select 1 as x; create view ${schema}.legacy__restricted as select 1 as x`));
    const quiet = vigil(dir, ['run'], env());
    expect(quiet.code, quiet.stdout + quiet.stderr).toBe(0);
    expect(quiet.stdout).not.toMatch(/warning: the restricted view/);
    expect(quiet.stdout).toContain(`warning: ${schema}.legacy__restricted looks like the restricted companion (unmasked rows) of ${schema}.legacy, which no model of this project builds, but was not marked by Vigil`);
    expect(await admin((c) => c.query(`select count(*)::int as n from pg_views where schemaname = $1 and viewname in ('other__restricted', 'legacy__restricted')`, [schema]))).toMatchObject({ rows: [{ n: 2 }] });
  });

  it('a grantee that is no role fails the model before anything is built, naming the role and its YAML line (was: the model committed, its companion left as before, ERROR)', async () => {
    const schema = uniqueSchema('gov_norole');
    const dir = project(schema, ROLES.compliance);
    expect(vigil(dir, ['build'], env()).code).toBe(0);
    const yml = join(dir, 'models/schema.yml');
    const ghost = `ghost_${suffix}`;
    writeFileSync(yml, readFileSync(yml, 'utf8').replace(`restricted: { grants: { select: [${ROLES.auditor}] } }`, `restricted: { grants: { select: [${ROLES.auditor}, ${ghost}] } }`));
    // the model's SQL changed too: the old rows must stay in both relations
    writeFileSync(join(dir, 'models/people_pub.sql'), `select id, email, prompt, note, n from {{ ref('people') }} where id = 1`);
    const r = vigil(dir, ['run', '-s', 'people_pub'], env());
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toContain(`role '${ghost}' (restricted.grants, models/schema.yml:6) is no role of the warehouse: nothing was built`);
    expect(await admin((c) => c.query(`select count(*)::int as n from ${schema}.people_pub`))).toMatchObject({ rows: [{ n: 2 }] });
    expect(await admin((c) => c.query(`select count(*)::int as n from ${schema}.people_pub__restricted`))).toMatchObject({ rows: [{ n: 2 }] });
  });

  it("a failing after_commit post-hook (the build committed) still makes the restricted companion and its grants what the config says, or drops it when restricted: is gone (was: left as before: a grantee the config removed still read the unmasked rows)", async () => {
    const schema = uniqueSchema('gov_after_commit');
    const dir = project(schema, ROLES.compliance);
    const model = join(dir, 'models/people_pub.sql');
    const yml = join(dir, 'models/schema.yml');
    expect(vigil(dir, ['build'], env()).code).toBe(0);
    expect(await as(ROLES.auditor, `select count(*) as n from ${schema}.people_pub__restricted`)).toEqual({ rows: [{ n: '2' }] });

    // the companion's grantee changes, and an after_commit post-hook fails: the build committed
    writeFileSync(model, `{{ config(post_hook=after_commit("select 1 / 0")) }}\nselect id, email, prompt, note, n from {{ ref('people') }}`);
    writeFileSync(yml, readFileSync(yml, 'utf8').replace(`restricted: { grants: { select: [${ROLES.auditor}] } }`, `restricted: { grants: { select: [${ROLES.sre}] } }`));
    const failed = vigil(dir, ['run', '-s', 'people_pub'], env());
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/run after the build committed: the build of people_pub stays/);
    expect(failed.stdout).toContain(`restricted: granted select to ${ROLES.sre}; revoked ${ROLES.auditor}`);
    expect(denied(await as(ROLES.auditor, `select count(*) as n from ${schema}.people_pub__restricted`))).toMatch(/permission denied/);
    expect(await as(ROLES.sre, `select count(*) as n from ${schema}.people_pub__restricted`)).toEqual({ rows: [{ n: '2' }] });

    // restricted: taken out, the hook failing again: the companion is dropped
    writeFileSync(yml, readFileSync(yml, 'utf8').replace(`      restricted: { grants: { select: [${ROLES.sre}] } }\n`, ''));
    const gone = vigil(dir, ['run', '-s', 'people_pub'], env());
    expect(gone.code).toBe(1);
    expect(gone.stdout).toContain(`dropped the restricted view ${schema}.people_pub__restricted`);
    expect(await admin((c) => c.query(`select to_regclass('${schema}.people_pub__restricted') as r`))).toMatchObject({ rows: [{ r: null }] });
  });

  it('a grantee removed from the config loses access on the next build; an unchanged config changes nothing; grants_mode add keeps it', async () => {
    const schema = uniqueSchema('gov_revoke');
    const dir = project(schema, `${ROLES.compliance}, ${ROLES.sre}`);
    expect(vigil(dir, ['build'], env()).code).toBe(0);
    expect(await as(ROLES.sre, `select people from ${schema}.ops_daily`)).toEqual({ rows: [{ people: '2' }] });

    // the same config again: nothing granted or revoked on the view
    const again = vigil(dir, ['run', '-s', 'ops_daily'], env());
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`OK created view ${schema}\\.ops_daily \\[`));

    // sre removed with grants_mode add: kept
    const yml = join(dir, 'models/schema.yml');
    const text = readFileSync(yml, 'utf8');
    writeFileSync(yml, text.replace(`select: [${ROLES.compliance}, ${ROLES.sre}] }`, `select: [${ROLES.compliance}] }\n      grants_mode: add`));
    const added = vigil(dir, ['run', '-s', 'ops_daily'], env());
    expect(added.code).toBe(0);
    expect(await as(ROLES.sre, `select people from ${schema}.ops_daily`)).toEqual({ rows: [{ people: '2' }] });

    // removed (replace, the default): revoked
    writeFileSync(yml, text.replace(`select: [${ROLES.compliance}, ${ROLES.sre}] }`, `select: [${ROLES.compliance}] }`));
    const revoked = vigil(dir, ['run', '-s', 'ops_daily'], env());
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`OK created view ${schema}\\.ops_daily \\(revoked ${ROLES.sre}\\)`));
    expect(denied(await as(ROLES.sre, `select people from ${schema}.ops_daily`))).toMatch(/permission denied/);
    expect(await as(ROLES.compliance, `select people from ${schema}.ops_daily`)).toEqual({ rows: [{ people: '2' }] });
  });

  it('grants_mode add never revokes: a rebuilt table, a full refresh, a view replaced outright or dropped by a cascade keep the grants made outside Vigil; replace keeps only the config', async () => {
    const schema = uniqueSchema('gov_carry');
    const o = ROLES.outside;
    const add = `config: { grants: { select: [${ROLES.compliance}] }, grants_mode: add }`;
    const dir = makeProject({
      'project.yaml': projectYaml('carry', schema),
      'seeds/src.csv': 'id,k\n1,a\n2,b\n',
      'models/g_tab.sql': `select id, k from {{ ref('src') }}`,
      'models/g_inc.sql': `select id, k from {{ ref('src') }}`,
      'models/g_view.sql': `select id from {{ ref('g_tab') }}`,
      'models/g_swap.sql': `select id, k from {{ ref('src') }}`,
      'models/g_rep.sql': `select id from {{ ref('src') }}`,
      'models/g_bare.sql': `{{ config(materialized='table', grants_mode='add') }}\nselect id from {{ ref('src') }}`,
      'models/schema.yml': `models:
  - name: g_tab
    config: { materialized: table, grants: { select: [${ROLES.compliance}] }, grants_mode: add }
  - name: g_inc
    config: { materialized: incremental, unique_key: id, grants: { select: [${ROLES.compliance}] }, grants_mode: add }
  - name: g_view
    ${add}
  - name: g_swap
    config: { materialized: view, grants: { select: [${ROLES.compliance}] }, grants_mode: add }
  - name: g_rep
    config: { materialized: table, grants: { select: [${ROLES.compliance}] } }
`,
    });
    dirs.push(dir);
    const built = vigil(dir, ['build'], env());
    expect(built.code, built.stdout + built.stderr).toBe(0);
    await admin(async (c) => {
      for (const t of ['g_tab', 'g_inc', 'g_view', 'g_swap', 'g_rep', 'g_bare']) await c.query(`grant select on ${schema}.${t} to ${o}`);
      await c.query(`grant insert on ${schema}.g_tab to ${o}`);
      await c.query(`grant references on ${schema}.g_tab to public`);
      await c.query(`grant select on ${schema}.g_inc to ${ROLES.sre} with grant option`);
    });
    // g_swap loses a column: create or replace view cannot, the view is dropped and made again
    writeFileSync(join(dir, 'models/g_swap.sql'), `select id from {{ ref('src') }}`);
    const r = vigil(dir, ['run', '--full-refresh', '-s', 'g_tab+', 'g_inc', 'g_swap', 'g_rep', 'g_bare'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`OK created table ${schema}.g_tab (carried over insert to ${o} and references to public and select to ${ROLES.compliance}, ${o} from the replaced relation)`);
    expect(r.stdout).toContain(`OK created incremental table ${schema}.g_inc (carried over select to ${ROLES.compliance}, ${o}, ${ROLES.sre} from the replaced relation)`);
    // (g_view, which reads g_tab, is no longer dropped by the swap's cascade: made again as it was, grants and all, in the swap's transaction: nothing to carry)
    expect(r.stdout).toMatch(new RegExp(`OK created view ${schema}\\.g_view \\[`));
    expect(r.stdout).toContain(`OK created view ${schema}.g_swap (carried over select to ${ROLES.compliance}, ${o} from the replaced relation)`);
    // grants_mode add without grants: carried over as with grants: { select: [] } (was: accepted, the grant dropped with the replaced table, nothing said)
    expect(r.stdout).toContain(`OK created table ${schema}.g_bare (carried over select to ${o} from the replaced relation)`);
    // replace (the default): the config is the whole truth, as dbt's; the line says what changed
    // since the replaced table: outside lost it (was: "granted select to compliance", which it had)
    expect(r.stdout).toMatch(new RegExp(`OK created table ${schema}\\.g_rep \\(revoked ${o}\\)`));

    for (const t of ['g_tab', 'g_inc', 'g_view', 'g_swap', 'g_bare']) expect(await as(o, `select count(*)::int as n from ${schema}.${t}`), t).toEqual({ rows: [{ n: 2 }] });
    expect(denied(await as(o, `select * from ${schema}.g_rep`))).toMatch(/permission denied/);
    const held = await admin((c) =>
      c.query(`select has_table_privilege($1, $3, 'INSERT') as ins, has_table_privilege($2, $4, 'SELECT WITH GRANT OPTION') as opt, has_table_privilege($5, $3, 'SELECT') as comp, has_table_privilege('public', $3, 'REFERENCES') as pub`, [o, ROLES.sre, `${schema}.g_tab`, `${schema}.g_inc`, ROLES.compliance]),
    );
    expect(held.rows[0]).toEqual({ ins: true, opt: true, comp: true, pub: true });
  });

  it("grants_mode add never revokes a column privilege either: a rebuilt table and a view replaced outright carry `grant select (id)` over, said; a column the new relation lacks is not granted (was: the role's column access gone with the replaced relation, nothing said)", async () => {
    const schema = uniqueSchema('gov_carry_col');
    const o = ROLES.outside;
    const dir = makeProject({
      'project.yaml': projectYaml('carrycol', schema),
      'models/c_tab.sql': `{{ config(materialized='table', grants_mode='add') }}\nselect 1 as id, 'x' as k`,
      'models/c_view.sql': `{{ config(materialized='view', grants_mode='add') }}\nselect 1 as id, 'x' as k`,
    });
    dirs.push(dir);
    expect(vigil(dir, ['run'], env()).code).toBe(0);
    await admin(async (c) => {
      for (const t of ['c_tab', 'c_view']) await c.query(`grant select (id, k) on ${schema}.${t} to ${o}`);
      await c.query(`grant update (k) on ${schema}.c_tab to ${ROLES.sre}`);
    });
    // the view loses no column: create or replace would keep its grants; it drops k below
    const r = vigil(dir, ['run', '-s', 'c_tab'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`OK created table ${schema}.c_tab (carried over select (id, k) to ${o} and update (k) to ${ROLES.sre} from the replaced relation)`);
    expect(await as(o, `select id::int as id, k from ${schema}.c_tab`)).toEqual({ rows: [{ id: 1, k: 'x' }] });
    // k gone from both: the view is dropped and made again; what was on k is not granted (no column to grant it on), id's is
    writeFileSync(join(dir, 'models/c_tab.sql'), `{{ config(materialized='table', grants_mode='add') }}\nselect 1 as id`);
    writeFileSync(join(dir, 'models/c_view.sql'), `{{ config(materialized='view', grants_mode='add') }}\nselect 1 as id`);
    const dropped = vigil(dir, ['run'], env());
    expect(dropped.code, dropped.stdout + dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain(`OK created table ${schema}.c_tab (carried over select (id) to ${o} from the replaced relation)`);
    expect(dropped.stdout).toContain(`OK created view ${schema}.c_view (carried over select (id) to ${o} from the replaced relation)`);
    for (const t of ['c_tab', 'c_view']) expect(await as(o, `select id::int as id from ${schema}.${t}`), t).toEqual({ rows: [{ id: 1 }] });
  });

  it('a grant a grantee made with its grant option is revoked too (cascade, said on the line), and the ACL holds only the config after (was: "revoked" said on every run, the role still reading)', async () => {
    const schema = uniqueSchema('gov_chain');
    const [sre, bi, comp] = [ROLES.sre, ROLES.outside, ROLES.compliance];
    const yml = (select: string) => `models:\n  - name: ev_inc\n    config: { materialized: incremental, unique_key: id, grants: { select: [${select}] } }\n`;
    const dir = makeProject({ 'project.yaml': projectYaml('chain', schema), 'seeds/src.csv': 'id,k\n1,a\n2,b\n', 'models/ev_inc.sql': `select id, k from {{ ref('src') }}`, 'models/schema.yml': yml(`${sre}, ${bi}`) });
    dirs.push(dir);
    expect(vigil(dir, ['build'], env()).code).toBe(0);
    const acl = async () => (await admin((c) => c.query(`select r.rolname as grantee, g.rolname as grantor, a.is_grantable as opt from pg_class c cross join lateral aclexplode(c.relacl) a join pg_roles r on r.oid = a.grantee join pg_roles g on g.oid = a.grantor where c.oid = to_regclass($1) and a.grantee <> c.relowner and a.privilege_type = 'SELECT' order by 1, 2`, [`${schema}.ev_inc`]))).rows;
    const chain = async () => {
      await admin((c) => c.query(`grant select on ${schema}.ev_inc to ${bi} with grant option`));
      expect(await as(bi, `grant select on ${schema}.ev_inc to ${comp}`)).toEqual({ rows: [] });
      expect(await as(comp, `select count(*)::int as n from ${schema}.ev_inc`)).toEqual({ rows: [{ n: 2 }] });
    };
    await chain();

    // bi stays in the config: comp's grant (bi's) goes through bi's grant option
    const r = vigil(dir, ['run', '-s', 'ev_inc'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`(revoked ${comp} (granted by ${bi}); revoked the grant option of ${bi} with cascade (the grants made with it went with it))`);
    expect(denied(await as(comp, `select * from ${schema}.ev_inc`))).toMatch(/permission denied/);
    expect(await as(bi, `select count(*)::int as n from ${schema}.ev_inc`)).toEqual({ rows: [{ n: 2 }] });
    const owner = (await admin((c) => c.query('select current_user as u'))).rows[0].u as string;
    expect(await acl()).toEqual([{ grantee: bi, grantor: owner, opt: false }, { grantee: sre, grantor: owner, opt: false }].sort((a, b) => a.grantee.localeCompare(b.grantee)));
    // nothing left to change: nothing said
    const again = vigil(dir, ['run', '-s', 'ev_inc'], env());
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/revoked|granted/);

    // bi taken out of the config while it has granted: revoked with cascade (was: "dependent privileges exist [2BP01]")
    await chain();
    writeFileSync(join(dir, 'models/schema.yml'), yml(sre));
    const out = vigil(dir, ['run', '-s', 'ev_inc'], env());
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toContain(`(revoked ${comp} (granted by ${bi}), ${bi} with cascade (the grants it made went with it))`);
    for (const who of [bi, comp]) expect(denied(await as(who, `select * from ${schema}.ev_inc`))).toMatch(/permission denied/);
    expect(await acl()).toEqual([{ grantee: sre, grantor: owner, opt: false }]);
  });

  it('a column grant (grant select (email) ...) is a reader like a table grant: revoked on the restricted companion and on an incremental table, kept with grants_mode add; a configured role holding only one is granted the table (was: kept, build after build, the unmasked columns readable)', async () => {
    const schema = uniqueSchema('gov_colacl');
    const [outside, sre] = [ROLES.outside, ROLES.sre];
    const dir = project(schema, ROLES.compliance, '', {
      'models/ev_inc.sql': `select id, email from {{ ref('people') }}`,
      'models/ev_sre.sql': `select id, email from {{ ref('people') }}`,
      'models/ev_add.sql': `select id, email from {{ ref('people') }}`,
      'models/more.yml': `models:
  - name: ev_inc
    config: { materialized: incremental, unique_key: id, grants: { select: [] } }
  - name: ev_sre
    config: { materialized: incremental, unique_key: id, grants: { select: [${sre}] } }
  - name: ev_add
    config: { materialized: incremental, unique_key: id, grants: { select: [] }, grants_mode: add }
`,
    });
    const built = vigil(dir, ['build'], env());
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const companion = `${schema}.people_pub__restricted`;
    await admin(async (c) => {
      await c.query(`grant select (email, prompt) on ${companion} to ${outside}`);
      await c.query(`grant select (id) on ${schema}.ev_inc to ${outside}`);
      await c.query(`grant select (id) on ${schema}.ev_add to ${outside}`);
      await c.query(`revoke select on ${schema}.ev_sre from ${sre}`);
      await c.query(`grant select (id) on ${schema}.ev_sre to ${sre}`);
    });
    expect(await as(outside, `select email, prompt from ${companion} order by email`)).toEqual({ rows: [{ email: 'a@x.com', prompt: 'hello there' }, { email: null, prompt: 'secret' }] });
    expect(denied(await as(sre, `select email from ${schema}.ev_sre`))).toMatch(/permission denied/);

    const r = vigil(dir, ['run', '-s', 'people_pub', 'ev_inc', 'ev_sre', 'ev_add'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`restricted: revoked ${outside} (select on columns email, prompt)`);
    expect(r.stdout).toContain(`into ${schema}.ev_inc (revoked ${outside} (select on column id))`);
    expect(r.stdout).toContain(`into ${schema}.ev_sre (granted select to ${sre})`);
    expect(denied(await as(outside, `select email from ${companion}`))).toMatch(/permission denied/);
    expect(denied(await as(outside, `select id from ${schema}.ev_inc`))).toMatch(/permission denied/);
    expect(await as(sre, `select email from ${schema}.ev_sre where id = 1`)).toEqual({ rows: [{ email: 'a@x.com' }] });
    // grants_mode add revokes nothing
    expect(await as(outside, `select id from ${schema}.ev_add where id = 1`)).toEqual({ rows: [{ id: '1' }] });
    const columnAcl = await admin((c) => c.query(`select t.attrelid::regclass::text as rel, t.attname as col, r.rolname as grantee from pg_attribute t cross join lateral aclexplode(t.attacl) a join pg_roles r on r.oid = a.grantee where t.attrelid in ($1::regclass, $2::regclass, $3::regclass) and t.attnum > 0 order by 1, 2`, [companion, `${schema}.ev_inc`, `${schema}.ev_add`]));
    expect(columnAcl.rows).toEqual([{ rel: `${schema}.ev_add`, col: 'id', grantee: outside }]);
    // nothing left to change: nothing said
    const again = vigil(dir, ['run', '-s', 'people_pub', 'ev_inc', 'ev_sre'], env());
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/revoked|granted/);
  });

  it("a grant the build's role cannot revoke (it does not own the table) fails the model, nothing changed, instead of saying it was revoked", async () => {
    const schema = uniqueSchema('gov_noown');
    const builder = `builder_${suffix}`;
    const yml = (select: string) => `models:\n  - name: ev_inc\n    config: { materialized: incremental, unique_key: id, grants: { select: [${select}] } }\n`;
    const dir = makeProject({ 'project.yaml': projectYaml('noown', schema), 'seeds/src.csv': 'id,k\n1,a\n', 'models/ev_inc.sql': `select id, k from {{ ref('src') }}`, 'models/schema.yml': yml(`${ROLES.sre}, ${ROLES.compliance}`) });
    dirs.push(dir);
    expect(vigil(dir, ['build'], env()).code).toBe(0);
    await admin(async (c) => {
      await c.query(`create role ${builder} login password '${PASSWORD}'`);
      await c.query(`grant usage on schema ${schema} to ${builder}`);
      await c.query(`grant all on ${schema}.ev_inc, ${schema}.src to ${builder} with grant option`);
    });
    try {
      // the table's owner granted sre: a role that may write to the table (and grant on it) but does not own it cannot revoke that
      writeFileSync(join(dir, 'project.yaml'), projectYaml('noown', schema).replace(/on_run_start:[\s\S]*$/, ''));
      writeFileSync(join(dir, 'models/schema.yml'), yml(ROLES.compliance));
      const url = new URL(inject('pgUrl'));
      url.username = builder;
      url.password = PASSWORD;
      const r = vigil(dir, ['run', '-s', 'ev_inc'], { DATABASE_URL: url.toString() });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`the grants on ${schema}\\.ev_inc could not be made what its config says: ${ROLES.sre} \\(granted by \\w+\\) can still read it`));
      expect(r.stdout).not.toMatch(/revoked/);
      expect(await as(ROLES.sre, `select count(*)::int as n from ${schema}.ev_inc`)).toEqual({ rows: [{ n: 1 }] });
    } finally {
      await admin((c) => c.query(`drop owned by ${builder}; drop role ${builder}`)).catch(() => undefined);
    }
  });

  it("the role running vigil named in grants (a member of the owner's role, not the owner) is granted and kept, run after run (was: 'cannot read it after the grant' on every run)", async () => {
    const schema = uniqueSchema('gov_self');
    const builder = `self_${suffix}`;
    const owner = `own_${suffix}`;
    const yml = `models:\n  - name: ev_inc\n    config: { materialized: incremental, unique_key: id, grants: { select: [${builder}, ${ROLES.sre}] } }\n`;
    const dir = makeProject({ 'project.yaml': projectYaml('self', schema), 'seeds/src.csv': 'id,k\n1,a\n', 'models/ev_inc.sql': `select id, k from {{ ref('src') }}`, 'models/schema.yml': yml.replace(`${builder}, `, '') });
    dirs.push(dir);
    expect(vigil(dir, ['build'], env()).code).toBe(0);
    await admin(async (c) => {
      await c.query(`create role ${owner}`);
      await c.query(`create role ${builder} login password '${PASSWORD}' in role ${owner}`);
      await c.query(`grant usage on schema ${schema} to ${builder}`);
      await c.query(`grant select on ${schema}.src to ${builder}`);
      await c.query(`alter table ${schema}.ev_inc owner to ${owner}`);
    });
    try {
      writeFileSync(join(dir, 'project.yaml'), projectYaml('self', schema).replace(/on_run_start:[\s\S]*$/, ''));
      writeFileSync(join(dir, 'models/schema.yml'), yml);
      const url = new URL(inject('pgUrl'));
      url.username = builder;
      url.password = PASSWORD;
      for (let run = 0; run < 2; run++) {
        const r = vigil(dir, ['run', '-s', 'ev_inc'], { DATABASE_URL: url.toString() });
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).not.toMatch(/revoked/);
      }
      const readers = await admin(async (c) => (await c.query(`select r.rolname as grantee from pg_class t cross join lateral aclexplode(t.relacl) a join pg_roles r on r.oid = a.grantee where t.oid = '${schema}.ev_inc'::regclass and a.privilege_type = 'SELECT' order by 1`)).rows.map((x: { grantee: string }) => x.grantee));
      expect(readers).toEqual([builder, owner, ROLES.sre].sort());
    } finally {
      await admin((c) => c.query(`drop owned by ${builder}; drop owned by ${owner}; drop role ${builder}; drop role ${owner}`)).catch(() => undefined);
    }
  });

  it('a table rebuilt with another grantee says the one it replaced lost access (was: only "granted select to" the new one); an unchanged rebuild says nothing', async () => {
    const schema = uniqueSchema('gov_swap');
    const yml = (select: string) => `models:\n  - name: t_tab\n    config: { materialized: table, grants: { select: [${select}] } }\n`;
    const dir = makeProject({ 'project.yaml': projectYaml('swap', schema), 'seeds/src.csv': 'id\n1\n', 'models/t_tab.sql': `select id from {{ ref('src') }}`, 'models/schema.yml': yml(ROLES.compliance) });
    dirs.push(dir);
    const first = vigil(dir, ['build'], env());
    expect(first.stdout).toContain(`OK created table ${schema}.t_tab (granted select to ${ROLES.compliance})`);
    const same = vigil(dir, ['run', '-s', 't_tab'], env());
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(new RegExp(`OK created table ${schema}\\.t_tab \\[`));
    writeFileSync(join(dir, 'models/schema.yml'), yml(ROLES.sre));
    const r = vigil(dir, ['run', '-s', 't_tab'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`OK created table ${schema}.t_tab (granted select to ${ROLES.sre}; revoked ${ROLES.compliance})`);
    expect(denied(await as(ROLES.compliance, `select * from ${schema}.t_tab`))).toMatch(/permission denied/);
    expect(await as(ROLES.sre, `select count(*)::int as n from ${schema}.t_tab`)).toEqual({ rows: [{ n: 1 }] });
    // a role holding SELECT on a column only of the table the build replaces lost it too: said, as
    // a column grant on a relation kept is (was: nothing said, its access gone without a word)
    await admin((c) => c.query(`grant select (id) on ${schema}.t_tab to ${ROLES.outside}`));
    expect(await as(ROLES.outside, `select id::int as id from ${schema}.t_tab`)).toEqual({ rows: [{ id: 1 }] });
    const col = vigil(dir, ['run', '-s', 't_tab'], env());
    expect(col.code, col.stdout + col.stderr).toBe(0);
    expect(col.stdout).toContain(`OK created table ${schema}.t_tab (revoked ${ROLES.outside} (select on column id))`);
    expect(denied(await as(ROLES.outside, `select id from ${schema}.t_tab`))).toMatch(/permission denied/);
  });

  it("grants are part of the build's transaction: a grant Postgres refuses fails the model and keeps the previous table, readable as before", async () => {
    const schema = uniqueSchema('gov_tx');
    const dir = project(schema, ROLES.compliance);
    expect(vigil(dir, ['build'], env()).code).toBe(0);
    const yml = join(dir, 'models/schema.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace(`grants: { select: [${ROLES.compliance}] }\n      restricted`, `grants: { select: [${ROLES.compliance}, no_such_role_${suffix}] }\n      restricted`));
    writeFileSync(join(dir, 'models/people_pub.sql'), `select id, email, prompt, note, n from {{ ref('people') }} where id = 1`);
    const r = vigil(dir, ['run', '-s', 'people_pub'], env());
    expect(r.code).toBe(1);
    // (asked before the build: a role that does not exist is never sent to a GRANT)
    expect(r.stdout).toMatch(new RegExp(`ERROR creating table ${schema}\\.people_pub[\\s\\S]*role 'no_such_role_${suffix}' \\(grants, models/schema\\.yml:5\\) is no role of the warehouse: nothing was built`));
    // the previous table (two rows), with its grant
    expect(await as(ROLES.compliance, `select count(*)::int as n from ${schema}.people_pub`)).toEqual({ rows: [{ n: 2 }] });
  });

  it('a malformed role name is an error at its YAML line, exit 2, and nothing is built or granted', async () => {
    const schema = uniqueSchema('gov_bad');
    const dir = project(schema, `${ROLES.compliance}, "SRE-Team"`);
    const r = vigil(dir, ['build'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\/schema\.yml:20:\d+: error: grants\.select: 'SRE-Team' is not a Postgres role name/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // PUBLIC is every role, which Vigil would grant and never revoke (was: accepted, and the unmasked view readable by all)
    const pub = vigil(project(schema, `${ROLES.compliance}, public`), ['build'], env());
    expect(pub.code).toBe(2);
    expect(pub.stderr).toMatch(/grants\.select: 'public' is not a role but a key word of Postgres \(PUBLIC: every role/);
    expect(denied(await as(ROLES.compliance, `select * from ${schema}.people_pub`))).toMatch(/does not exist/);
  });
});

describe("failing tests' samples on Postgres", () => {
  it('a test reading a restricted companion or a snapshot by its table name, selected alone, shows the PII masked (was: the addresses printed and in run_results.json unless a test refs the model)', () => {
    const schema = uniqueSchema('gov_sample');
    const dir = project(schema, ROLES.compliance, '', {
      'seeds/seeds.yml': 'seeds:\n  - name: people\n    columns:\n      - { name: email, meta: { pii: true } }\n',
      'snapshots/people_snap.sql': `{% snapshot people_snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect id, email as contact from {{ ref('people') }}\n{% endsnapshot %}\n`,
      'tests/by_companion.sql': `select id, email from ${schema}.people_pub__restricted where email is not null`,
      'tests/by_snapshot.sql': `select id, contact from ${schema}.people_snap where contact is not null`,
      // selected with one of the others, it made the lineage trace people_pub: their samples masked then
      'tests/by_ref.sql': `select id from {{ ref('people_pub') }} where id = 1`,
    });
    for (const step of ['seed', 'run', 'snapshot']) {
      const b = vigil(dir, [step], env());
      expect(b.code, b.stdout + b.stderr).toBe(0);
    }
    for (const t of ['by_snapshot', 'by_companion']) {
      const r = vigil(dir, ['test', '-s', t], env());
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`FAIL 1 ${t}`));
      // the id is shown, the address is not
      expect(r.stdout).toMatch(/\n\s+1 +\| \*\*\*\*\n/);
      const results = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
      expect(results).toContain('"****"');
      expect(r.stdout + r.stderr + results).not.toContain('a@x.com');
    }
  });

  it("a failing unit test's diff masks the PII of rows its model read from the warehouse, and shows rows made of its givens (was: 'extra rows: {id: 1, email: a@x.com}' printed and in run_results.json)", () => {
    const schema = uniqueSchema('gov_unit');
    const dir = project(schema, ROLES.compliance, '', {
      'models/rc_reader.sql': `select id, email from ${schema}.people_pub__restricted`,
      'models/units.yml': `models:
  - name: rc_reader
    columns:
      - name: id
      - name: email
        policy: hash
unit_tests:
  - name: reads_the_warehouse
    model: rc_reader
    given: []
    expect:
      rows:
        - { id: 99, email: x }
  - name: reads_its_givens
    model: people_pub
    given:
      - input: ref('people')
        rows:
          - { id: 7, email: given@fixture.test, prompt: hi, note: n, n: 1 }
    expect:
      rows:
        - { id: 7, email: other@fixture.test }
`,
    });
    for (const step of [['seed'], ['run', '-s', 'people_pub']]) {
      const b = vigil(dir, step, env());
      expect(b.code, b.stdout + b.stderr).toBe(0);
    }
    const r = vigil(dir, ['test', '--unit'], env());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    // read from the warehouse (a relation its SQL names, not given): the id shown, the address masked
    expect(r.stdout).toMatch(/FAIL unit rc_reader::reads_the_warehouse[\s\S]*extra rows \(produced, not expected\):/);
    expect(r.stdout).toContain('  {id: 1, email: ****}\n');
    expect(r.stdout).toContain('  {id: 2, email: null}\n'); // NULL stays NULL
    // the test's own rows: shown as they are
    expect(r.stdout).toContain('email expected other@fixture.test, got given@fixture.test');
    const results = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(results).toContain('given@fixture.test');
    expect(r.stdout + r.stderr + results).not.toContain('a@x.com');
  });
});

describe('PII in warehouse errors on Postgres (docs/governance.md#warehouse-errors)', () => {
  it("a failing model or test reading PII shows the values Postgres quotes masked — `invalid input syntax`, `Key (k)=(...)` — on stdout and in run_results.json; a model reading none keeps them (was: `invalid input syntax for type integer: \"111-22-3333\"` printed and kept)", () => {
    const schema = uniqueSchema('gov_errors');
    const dir = project(schema, ROLES.compliance, '', {
      'seeds/ids.csv': 'id,ssn\n1,111-22-3333\n2,111-22-3333\n',
      'seeds/ids.yml': 'seeds:\n  - name: ids\n    columns:\n      - { name: ssn, meta: { pii: true } }\n',
      'models/cast_ssn.sql': "{{ config(materialized='table') }}\nselect id, cast(ssn as int) as n from {{ ref('ids') }}\n",
      // a unique index over a copy of the PII (masked by its policy in the published relation, not in the build's error)
      'models/ssn_keys.sql': "{{ config(materialized='table', post_hook='create unique index on {{ this }} (k)') }}\nselect ssn as k from {{ ref('ids') }}\n",
      'models/clean.sql': "{{ config(materialized='table') }}\nselect cast('abc-xyz' as int) as n\n",
      'models/errs.yml': 'models:\n  - name: cast_ssn\n    columns:\n      - { name: n, meta: { pii: false } }\n  - name: ssn_keys\n    columns:\n      - { name: k, policy: mask }\n',
      'tests/ssn_dates.sql': "select id from {{ ref('ids') }} where cast(ssn as date) is null",
    });
    const s = vigil(dir, ['seed', '-s', 'ids'], env());
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const r = vigil(dir, ['run', '-s', 'cast_ssn', 'ssn_keys', 'clean'], env());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const results = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(r.stdout + r.stderr + results).not.toContain('111-22-3333');
    expect(r.stdout).toContain('invalid input syntax for type integer: "****" (11 characters) [SQLSTATE 22P02]');
    expect(r.stdout).toMatch(/could not create unique index [^\n]*\n\s+DETAIL: Key \(k\)=\(\*\*\*\*\) is duplicated\./);
    expect(r.stdout).toContain('(values the warehouse quoted are masked: it reads PII — ids.ssn)');
    expect(r.stdout).toContain('invalid input syntax for type integer: "abc-xyz"');
    const t = vigil(dir, ['test', '-s', 'ssn_dates'], env());
    expect(t.code, t.stdout + t.stderr).toBe(1);
    expect(t.stdout + t.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8')).not.toContain('111-22-3333');
    expect(t.stdout).toMatch(/ERROR test ssn_dates[\s\S]*"\*\*\*\*" \(11 characters\)/);
  });
});

