/**
 * Source names longer than Postgres keeps (63 bytes, NAMEDATALEN - 1), against a real PostgreSQL
 * server. Postgres cuts such a name to its first 63 bytes without an error, so two source tables
 * alike in those bytes are one table there: `vigil sync` copied the application's one table into
 * both streams' copies (DuckDB) or twice into one (Postgres), and on a Postgres target the second
 * source's models read the first's rows, all with exit 0. Now each long name is an error at its
 * line, exit 2, saying the name Postgres makes of it and which other source has that name.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueSchema, SYNC_TARGETS as TARGETS } from '../support/postgres.js';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { fileClient } from '../support/pg-client.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];

afterAll(() => dirs.forEach(removeDir));

/** 60 bytes, then `_2023x` / `_2024x`: 66 bytes each, alike in their first 63 (`..._20`). */
const STEM = 'a'.repeat(60);
const Y23 = `${STEM}_2023x`;
const Y24 = `${STEM}_2024x`;
const CUT = `${STEM}_20`;

const sourcesYaml = (dest: string, src: string, sync: boolean) =>
  `sources:\n  - name: raw\n    schema: ${dest}\n${sync ? `    sync: { from: app, schema: ${src} }\n` : ''}    tables:\n` +
  [['y2023', Y23], ['y2024', Y24]].map(([name, id]) => `      - name: ${name}\n        identifier: ${id}\n${sync ? '        sync: { primary_key: id, cursor: created_at }\n' : ''}`).join('');

const refused = (stderr: string, side: string) => {
  expect(stderr).toMatch(/models\/sources\.yml:\d+:21: error: source raw\.y2023: /);
  expect(stderr).toContain(`error: source raw.y2023: table name '${Y23}' is 66 bytes long; postgres keeps 63 bytes of a name: in ${side} it names '${CUT}' [E_NAME]`);
  expect(stderr).toMatch(new RegExp(`models/sources\\.yml:\\d+:\\d+: error: source raw\\.y2024: table name '${Y24}' is 66 bytes long; postgres keeps 63 bytes of a name: in ${side} it names '${CUT}', as source raw\\.y2023 \\(models/sources\\.yml:\\d+\\) does \\[E_NAME\\]`));
};

describe.each(['duckdb', 'postgres'] as const)('vigil sync into %s: two source tables alike in their first 63 bytes', (kind) => {
  it("are refused at their lines, exit 2, nothing copied (was: exit 0, the application's one table copied for both)", async () => {
    const src = uniqueSchema('long_src');
    const dest = uniqueSchema('long_dst');
    // the application's table: Postgres names it by the first 63 bytes of what is written
    await client.query(`create schema ${src}; create table ${src}."${CUT}" (id int primary key, v text, created_at timestamptz not null default now()); insert into ${src}."${CUT}" values (1, 'only 2023', now() - interval '1 hour')`);
    const dir = makeProject({ 'project.yaml': TARGETS[kind], 'models/sources.yml': sourcesYaml(dest, src, true) });
    dirs.push(dir);
    const r = vigil(dir, ['sync'], { DATABASE_URL: url });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    refused(r.stderr, kind === 'postgres' ? 'the target' : 'app, which vigil sync reads');
    expect(r.stdout + r.stderr).not.toMatch(/at Object|\n\s+at /);
    // nothing was written to the target
    if (kind === 'postgres') expect((await client.query(`select 1 from pg_namespace where nspname = $1`, [dest])).rowCount).toBe(0);
  });
});

it("a Postgres target: two sources alike in their first 63 bytes are refused at compile, exit 2 (was: both models OK, the 2024 model reading the 2023 table's rows)", async () => {
  const dest = uniqueSchema('long_read');
  await client.query(`create schema ${dest}; create table ${dest}."${CUT}" (y int); insert into ${dest}."${CUT}" values (2023)`);
  const dir = makeProject({
    'project.yaml': TARGETS.postgres,
    'models/sources.yml': sourcesYaml(dest, dest, false),
    'models/m2023.sql': "select * from {{ source('raw', 'y2023') }}",
    'models/m2024.sql': "select * from {{ source('raw', 'y2024') }}",
  });
  dirs.push(dir);
  const r = vigil(dir, ['run'], { DATABASE_URL: url });
  expect(r.code, r.stdout + r.stderr).toBe(2);
  refused(r.stderr, 'the target');
  expect(r.stdout).not.toContain('OK created');
  // the name it keeps is accepted (63 bytes), and a DuckDB target keeps the long names
  const fits = makeProject({ 'project.yaml': TARGETS.postgres, 'models/sources.yml': `sources:\n  - name: raw\n    schema: ${dest}\n    tables:\n      - name: y2023\n        identifier: ${CUT}\n`, 'models/m2023.sql': "select * from {{ source('raw', 'y2023') }}" });
  dirs.push(fits);
  expect(vigil(fits, ['compile'], { DATABASE_URL: url }).code).toBe(0);
  const duck = makeProject({ 'project.yaml': TARGETS.duckdb, 'models/sources.yml': sourcesYaml('raw', 'raw', false) });
  dirs.push(duck);
  const c = vigil(duck, ['compile'], { DATABASE_URL: url });
  expect(c.code, c.stdout + c.stderr).toBe(0);
});
