/**
 * What `vigil compile` leaves under target/compiled/ through the real CLI: every compiled file
 * present with its node's SQL after each compile (one deleted or edited by hand is written again),
 * an incremental model's second SQL at a path no model's compiled file can have, and project files
 * saved with a byte order mark compiled without it (it reached Postgres as a syntax error).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { existsSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';
import type { Manifest, ModelNode } from '../../src/compile/manifest.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const project = (files: Record<string, string>) => {
  const dir = makeProject(files);
  dirs.push(dir);
  return dir;
};
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')) as Manifest;
const BOM = '\uFEFF';

describe('target/compiled/', () => {
  it('a compiled file deleted or edited by hand is written again by the next compile (was: left missing or edited, the manifest pointing at it)', () => {
    const dir = project({ 'models/lp.sql': 'select 1 as id', 'models/other.sql': "select * from {{ ref('lp') }}" });
    expect(vigil(dir, ['compile']).code).toBe(0);
    const file = join(dir, manifestOf(dir).nodes['model.fixture.lp'].compiled_path);
    expect(file).toBe(join(dir, 'target/compiled/fixture/models/lp.sql'));
    const sql = readFileSync(file, 'utf8');
    rmSync(file);
    expect(vigil(dir, ['compile']).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(sql);
    writeFileSync(file, 'select 2 as id\n');
    expect(vigil(dir, ['compile']).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(sql);
    // a whole folder of them too
    rmSync(join(dir, 'target/compiled/fixture/models'), { recursive: true });
    expect(vigil(dir, ['compile']).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(sql);
  });

  it("the compiled files of a model deleted, renamed or disabled and of a removed test go, with the folders they leave empty; one edited by hand stays (was: left behind, read as current beside the renamed model's)", () => {
    const dir = project({
      'models/a.sql': 'select 1 as id',
      'models/sub/b.sql': "select * from {{ ref('a') }}",
      'models/c.sql': 'select 3 as id',
      'models/d.sql': 'select 4 as id',
      'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests: [unique]\n',
    });
    expect(vigil(dir, ['compile']).code).toBe(0);
    const compiled = (p: string) => join(dir, 'target/compiled/fixture', p);
    for (const p of ['models/a.sql', 'models/sub/b.sql', 'models/c.sql', 'models/d.sql', 'models/a.yml/unique_a_id.sql']) expect(existsSync(compiled(p)), p).toBe(true);
    // b renamed, c disabled, d deleted (its compiled file edited by hand first), the test removed
    renameSync(join(dir, 'models/sub/b.sql'), join(dir, 'models/b2.sql'));
    writeFileSync(join(dir, 'models/c.sql'), '{{ config(enabled=false) }}\nselect 3 as id');
    rmSync(join(dir, 'models/d.sql'));
    writeFileSync(compiled('models/d.sql'), '-- my notes\n');
    writeFileSync(join(dir, 'models/a.yml'), 'models:\n  - name: a\n');
    const r = vigil(dir, ['compile']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(compiled('models/b2.sql'))).toBe(true);
    expect(existsSync(compiled('models/sub/b.sql'))).toBe(false);
    expect(existsSync(compiled('models/sub'))).toBe(false);
    expect(existsSync(compiled('models/c.sql'))).toBe(false);
    expect(existsSync(compiled('models/a.yml'))).toBe(false);
    expect(readFileSync(compiled('models/d.sql'), 'utf8')).toBe('-- my notes\n');
    expect(readFileSync(compiled('models/a.sql'), 'utf8')).toBe('select 1 as id\n');
  });

  it("a same-size edit in the timestamp tick of the last compile is compiled, of a model and of a seed (was: the old SQL and checksum, from the cached stamp, until vigil clean)", () => {
    const dir = project({ 'models/ev.sql': 'select count(*) as events', 'seeds/s.csv': 'id\n1\n' });
    expect(vigil(dir, ['compile']).code).toBe(0);
    // each file modified at the moment the cache was saved (as a 1 s or 2 s file system stamps an
    // edit in the same tick), compiled once so, then edited keeping its size and that time
    const at = statSync(join(dir, 'target/.cache/compile.bin')).mtime;
    const files = { 'models/ev.sql': ['count(*)', 'count(1)'], 'seeds/s.csv': ['1', '2'] };
    for (const f of Object.keys(files)) utimesSync(join(dir, f), at, at);
    expect(vigil(dir, ['compile']).code).toBe(0);
    const before = manifestOf(dir);
    for (const [f, [a, b]] of Object.entries(files)) {
      writeFileSync(join(dir, f), readFileSync(join(dir, f), 'utf8').replace(a, b));
      utimesSync(join(dir, f), at, at);
    }
    expect(vigil(dir, ['compile']).code).toBe(0);
    const after = manifestOf(dir);
    expect((after.nodes['model.fixture.ev'] as ModelNode).compiled_sql).toBe('select count(1) as events');
    expect(after.nodes['seed.fixture.s'].checksum).not.toBe(before.nodes['seed.fixture.s'].checksum);
  });

  it("an incremental model's incremental SQL and a model named `<model>.incremental` are two files (were: one path, the last written won)", () => {
    const dir = project({
      'models/inc.sql': "{{ config(materialized='incremental') }}\nselect 1 as id{% if is_incremental() %} where 1 = 0{% endif %}",
      'models/inc.incremental.sql': 'select 2 as id',
    });
    expect(vigil(dir, ['compile']).code).toBe(0);
    const m = manifestOf(dir);
    const inc = m.nodes['model.fixture.inc'] as ModelNode;
    const other = m.nodes['model.fixture.inc.incremental'] as ModelNode;
    const paths = [inc.compiled_path, inc.compiled_path_incremental, other.compiled_path];
    expect(new Set(paths).size).toBe(3);
    expect(inc.compiled_path_incremental).toBe('target/compiled/fixture/models/inc@incremental.sql');
    expect(readFileSync(join(dir, inc.compiled_path_incremental!), 'utf8')).toBe('\nselect 1 as id where 1 = 0\n');
    expect(readFileSync(join(dir, other.compiled_path), 'utf8')).toBe('select 2 as id\n');
    expect(readFileSync(join(dir, inc.compiled_path), 'utf8')).toBe('\nselect 1 as id\n');
  });

  it("a model selector naming a disabled model says it is disabled (was: did you mean 's1'?)", () => {
    const dir = project({ 'models/s1.sql': 'select 1 as id', 'models/s2.sql': '{{ config(enabled=false) }}\nselect 1 as id' });
    for (const args of [['ls', '-s', 's2'], ['ls', '--exclude', 's2']]) {
      const r = vigil(dir, args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("selector 's2' matched nothing: model 's2' (models/s2.sql) is disabled (enabled: false)");
      expect(r.stderr).not.toContain('did you mean');
    }
  });
});

describe('a byte order mark at the start of a project file', () => {
  const files = {
    'models/m.sql': `${BOM}select 1 as id`,
    'models/m.yml': `${BOM}models:\n  - name: m\n    columns:\n      - name: id\n        tests: [unique]\n`,
    'macros/one.sql': `${BOM}{% macro one() %}1{% endmacro %}`,
    'tests/none_negative.sql': `${BOM}select * from {{ ref('m') }} where id < {{ one() }} - 1`,
    'snapshots/snap.sql': `${BOM}{% snapshot snap %}{{ config(strategy='check', unique_key='id', check_cols='all') }}select * from {{ ref('m') }}{% endsnapshot %}`,
  };
  it('is not in the compiled SQL (was: kept, a character DuckDB passed over)', () => {
    const dir = project(files);
    const r = vigil(dir, ['compile']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const n of Object.values(manifestOf(dir).nodes)) {
      if (!('compiled_sql' in n)) continue;
      expect(n.compiled_sql.includes(BOM), n.unique_id).toBe(false);
      expect(readFileSync(join(dir, n.compiled_path), 'utf8').includes(BOM), n.compiled_path).toBe(false);
    }
  });
  it('builds on Postgres (was: syntax error at or near "\\uFEFF")', () => {
    const schema = uniqueSchema('bom');
    const dir = project({ 'project.yaml': pgProjectYaml(schema), ...files });
    const r = vigil(dir, ['build'], { VIGIL_TEST_PG_URL: inject('pgUrl') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/OK=4 WARN=0 ERROR=0/);
  });
});
