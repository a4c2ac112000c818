/**
 * The project snapshot behind `vigil ls`: answered without reading the project again while the
 * files' stamps, the target, --vars and the environment variables the compile read are
 * unchanged; compiled again as soon as one of them changes; never kept when a secret was read.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const SNAPSHOT = 'target/.cache/project.bin';
const relations = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; relation?: { identifier: string } })
    .filter((n) => n.relation)
    .map((n) => `${n.name}=${n.relation!.identifier}`);

describe('project snapshot (vigil ls)', () => {
  it('answers from the snapshot while file stamps hold, and compiles again when one changes', () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id\n',
      'models/schema.yml': 'models:\n  - name: a\n    description: first\n',
    });
    dirs.push(dir);
    // whole seconds: a stamp set again later compares equal
    const yml = join(dir, 'models/schema.yml');
    const then = new Date('2026-01-01T00:00:00Z');
    utimesSync(yml, then, then);
    const first = vigil(dir, ['ls']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('a\n');
    expect(existsSync(join(dir, SNAPSHOT))).toBe(true);
    // the YAML broken with the same size and modification time: not read again (like make)
    const st = statSync(yml);
    writeFileSync(yml, 'models:\n  - name: a\n   description: first\n'.padEnd(st.size, ' '));
    utimesSync(yml, then, then);
    expect(statSync(yml).size).toBe(st.size);
    const cached = vigil(dir, ['ls']);
    expect(cached.code, cached.stderr).toBe(0);
    expect(cached.stdout).toBe('a\n');
    // touched: read again, and the broken YAML is reported at its line
    utimesSync(yml, new Date(), new Date(Date.now() + 5000));
    const fresh = vigil(dir, ['ls']);
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toMatch(/models\/schema\.yml:3:/);
    // fixed, and a new model: listed
    writeFileSync(yml, 'models:\n  - name: a\n    description: fixed\n');
    writeFileSync(join(dir, 'models/b.sql'), 'select 2 as id\n');
    expect(vigil(dir, ['ls']).stdout).toBe('a\nb\n');
    expect(vigil(dir, ['ls']).stdout).toBe('a\nb\n');
  });

  it("a same-size edit in the timestamp tick of the snapshot is seen: a file modified that near it is stamped with its content's hash (was: answered from the snapshot, git's racy case)", () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id\n',
      'models/schema.yml': 'models:\n  - name: a\n    description: first\n',
    });
    dirs.push(dir);
    const yml = join(dir, 'models/schema.yml');
    // whole seconds, as a 1 s file system stamps: the edit below lands in the same tick
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    utimesSync(yml, now, now);
    expect(vigil(dir, ['ls']).stdout).toBe('a\n');
    expect(existsSync(join(dir, SNAPSHOT))).toBe(true);
    const size = statSync(yml).size;
    writeFileSync(yml, 'models:\n  - name: a\n   description: first\n'.padEnd(size, ' '));
    utimesSync(yml, now, now);
    const r = vigil(dir, ['ls']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\/schema\.yml:3:/);
  });

  it("a unit test's fixture outside the stamped folders is stamped: moved away, the listing fails as a cold one does (was: the snapshot answered, exit 0)", () => {
    const dir = makeProject({
      'models/events.sql': 'select 1 as id\n',
      'models/unit.yml': "unit_tests:\n  - name: ut_events\n    model: events\n    given: []\n    expect:\n      fixture: fixtures/ev.csv\n",
      'fixtures/ev.csv': 'id\n1\n',
    });
    dirs.push(dir);
    // (a fixture modified just before a compile keeps no snapshot: it may change after being read)
    const then = new Date('2026-01-01T00:00:00Z');
    utimesSync(join(dir, 'fixtures/ev.csv'), then, then);
    const c = vigil(dir, ['ls', '--resource-type', 'unit_test']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe('ut_events\n');
    expect(existsSync(join(dir, SNAPSHOT))).toBe(true);
    renameSync(join(dir, 'fixtures/ev.csv'), join(dir, 'fixtures/ev_old.csv'));
    const gone = vigil(dir, ['ls', '--resource-type', 'unit_test']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/E_UNIT|fixtures\/ev\.csv/);
    renameSync(join(dir, 'fixtures/ev_old.csv'), join(dir, 'fixtures/ev.csv'));
    expect(vigil(dir, ['ls', '--resource-type', 'unit_test']).stdout).toBe('ut_events\n');
    expect(vigil(dir, ['ls', '--resource-type', 'unit_test']).stdout).toBe('ut_events\n');
  });

  it("the build's id that keys every cache is the hash of the bundle's files, stamped by scripts/build.mjs (was: the bundle file's time, which installs giving every file one fixed time share between builds)", async () => {
    const { createHash } = await import('node:crypto');
    const { readdirSync } = await import('node:fs');
    const dist = join(REPO, 'dist');
    const files = readdirSync(dist).filter((f) => f.endsWith('.js')).sort();
    const texts = new Map(files.map((f) => [f, readFileSync(join(dist, f), 'utf8')]));
    const stamped = [...texts].flatMap(([f, t]) => [...t.matchAll(/["']vigil-build-id:([0-9a-f]{40})["']/g)].map((m) => [f, m[1]] as const));
    expect(stamped).toHaveLength(1);
    const [file, id] = stamped[0];
    expect(id).not.toMatch(/^0+$/);
    // the hash of the files as they were built, the placeholder in place
    const hash = createHash('sha1');
    for (const f of files) hash.update(f).update('\0').update(f === file ? texts.get(f)!.split(`vigil-build-id:${id}`).join(`vigil-build-id:${'0'.repeat(40)}`) : texts.get(f)!).update('\0');
    expect(hash.digest('hex')).toBe(id);
  });

  it('a different target, --vars or value of an environment variable the compile read: compiled again', () => {
    const dir = makeProject({
      'project.yaml': `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  other: { type: duckdb, path: .vigil/other.duckdb, schema: elsewhere }\nvars:\n  suffix: v1\n`,
      'models/a.sql': "{{ config(alias='a_' ~ env_var('VIGIL_TEST_ALIAS', 'x') ~ '_' ~ var('suffix')) }}\nselect 1 as id\n",
    });
    dirs.push(dir);
    const ls = (args: string[] = [], env: Record<string, string> = {}) => {
      const r = vigil(dir, ['ls', '--output', 'json', ...args], env);
      expect(r.code, r.stderr).toBe(0);
      return relations(r.stdout);
    };
    expect(ls()).toEqual(['a=a_x_v1']);
    expect(ls([], { VIGIL_TEST_ALIAS: 'y' })).toEqual(['a=a_y_v1']);
    expect(ls([], { VIGIL_TEST_ALIAS: 'y' })).toEqual(['a=a_y_v1']);
    expect(ls(['--vars', '{suffix: v2}'], { VIGIL_TEST_ALIAS: 'y' })).toEqual(['a=a_y_v2']);
    expect(ls([], { VIGIL_TEST_ALIAS: 'y' })).toEqual(['a=a_y_v1']);
    const other = vigil(dir, ['ls', '--output', 'json', '--target', 'other']);
    expect(other.stdout).toMatch(/"schema":"elsewhere"/);
    expect(vigil(dir, ['ls', '--output', 'json']).stdout).toMatch(/"schema":"analytics"/);
  });

  it('a compile that read a secret keeps no snapshot', () => {
    const dir = makeProject({ 'models/a.sql': "{{ config(materialized='table') }}\nselect '{{ env_var('VIGIL_TEST_PASSWORD') }}' as p\n" });
    dirs.push(dir);
    const r = vigil(dir, ['ls'], { VIGIL_TEST_PASSWORD: 'hunter2-very-secret' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('a\n');
    expect(existsSync(join(dir, SNAPSHOT))).toBe(false);
  });

  it('a compile that read run_started_at keeps no snapshot (its result holds for that run only)', () => {
    const dir = makeProject({ 'models/a.sql': "select '{{ run_started_at }}' as started\n" });
    dirs.push(dir);
    expect(vigil(dir, ['ls']).code).toBe(0);
    expect(existsSync(join(dir, SNAPSHOT))).toBe(false);
  });

  it('a project whose folders are elsewhere (paths: in project.yaml) keeps none', () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\npaths: { models: sql }\n',
      'sql/a.sql': 'select 1 as id\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['ls']);
    expect(r.stdout).toBe('a\n');
    expect(existsSync(join(dir, SNAPSHOT))).toBe(false);
  });

  it('the shipped project: every listing from the snapshot is the listing a compile gives, state: selectors included', () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    // a previous manifest for state: selectors, then a change of a model's body, config and contract
    expect(vigil(dir, ['compile']).code).toBe(0);
    mkdirSync(join(dir, 'prev'));
    cpSync(join(dir, 'target/manifest.json'), join(dir, 'prev/manifest.json'));
    const daily = join(dir, 'models/marts/ai_audit_daily.sql');
    writeFileSync(daily, readFileSync(daily, 'utf8').replace(/\n*$/, '\n-- edited\n'));
    const yml = join(dir, 'models/marts/marts.yml');
    const declared = '      - name: workspace_count\n        data_type: bigint\n';
    expect(readFileSync(yml, 'utf8')).toContain(declared);
    writeFileSync(yml, readFileSync(yml, 'utf8').replace(declared, '      - name: workspace_count\n        data_type: hugeint\n'));
    const listings = [
      ['ls'],
      ['ls', '--output', 'json'],
      ['ls', '--output', 'path', '--resource-type', 'test'],
      ['ls', '-s', 'path:models/staging', '+ai_audit_daily+', '--output', 'json'],
      ['ls', '-s', 'config.materialized:incremental', 'test_type:unique', 'resource_type:unit_test'],
      ['ls', '-s', 'state:modified', '--state', 'prev'],
      ['ls', '-s', 'state:modified.contract', '--state', 'prev'],
      ['ls', '-s', 'state:modified.body+', '--state', 'prev', '--output', 'json'],
    ];
    const compiled = listings.map((args) => {
      rmSync(join(dir, SNAPSHOT), { force: true });
      const r = vigil(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(existsSync(join(dir, SNAPSHOT))).toBe(true);
      return r.stdout;
    });
    expect(compiled[0].split('\n').length).toBeGreaterThan(100);
    expect(compiled[5]).toContain('ai_audit_daily');
    // the model, and its tests as dbt ls lists them (eager indirect selection)
    const contract = compiled[6].trim().split('\n');
    expect(contract[0]).toBe('ai_audit_daily');
    expect(contract).toContain('not_null_ai_audit_daily_date');
    // what only a build reads is not kept: the compiled SQL of a model is not in the snapshot
    const kept = deserialize(readFileSync(join(dir, SNAPSHOT))) as { value: { manifest: { nodes: Record<string, Record<string, unknown>> } } };
    const nodes = Object.values(kept.value.manifest.nodes);
    expect(nodes.length).toBeGreaterThan(100);
    expect(nodes.filter((n) => 'compiled_sql' in n || 'givens' in n).map((n) => n.unique_id)).toEqual([]);
    listings.forEach((args, i) => {
      const r = vigil(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout, args.join(' ')).toBe(compiled[i]);
    });
  });
});
