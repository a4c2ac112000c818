/**
 * --defer with --state, through the real CLI, as dbt defines it: what a run does not build is
 * read where the state's run built it, unless this target has it (--favor-state: always the
 * state's). DuckDB with the production build in another file (attached read-only), and Postgres
 * with production in another schema of the same database.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { uniqueSchema } from '../support/postgres.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const MODELS = {
  // where each row was built: the value tells which target's relation a query read
  'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as id, '{{ target.name }}' as built_in",
  'models/b.sql': "select id, built_in from {{ ref('a') }}",
  'models/c.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('a') }}",
  'models/d.sql': "select built_in from {{ ref('c') }}",
  'models/schema.yml': 'models:\n  - name: b\n    columns:\n      - name: built_in\n        tests: [not_null]\n',
};

function read(dir: string, model: string, env: Record<string, string> = {}, target?: string): string {
  const r = vigil(dir, ['show', '--inline', `select built_in from {{ ref('${model}') }}`, '--output', 'json', ...(target ? ['--target', target] : [])], env);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Array<{ built_in: string }>)[0].built_in;
}

function scenario(dir: string, env: Record<string, string>, devTarget: string, prodTarget: string) {
  const b0 = vigil(dir, ['build', '--target', prodTarget], env);
  expect(b0.code, b0.stdout + b0.stderr).toBe(0);
  cpSync(join(dir, 'target'), join(dir, 'prod-state'), { recursive: true });

  // a is not built here and not in dev: b and d (through the ephemeral c) read production's a
  const b1 = vigil(dir, ['build', '-s', 'b', 'd', '--defer', '--state', 'prod-state', '--target', devTarget], env);
  expect(b1.code, b1.stdout + b1.stderr).toBe(0);
  expect(b1.stdout).toMatch(new RegExp(`Deferred to the state's target '${prodTarget}' \\(1 relation`));
  expect(b1.stdout).toMatch(/^ {2}a: /m);
  expect(b1.stdout).toContain('PASS not_null_b_built_in');
  expect(read(dir, 'b', env, devTarget)).toBe(prodTarget);
  expect(read(dir, 'd', env, devTarget)).toBe(prodTarget);

  // once dev has its own a, dev's is read; --favor-state reads production's anyway
  expect(vigil(dir, ['run', '-s', 'a', '--target', devTarget], env).code).toBe(0);
  const b2 = vigil(dir, ['run', '-s', 'b', '--defer', '--state', 'prod-state', '--target', devTarget], env);
  expect(b2.code, b2.stderr).toBe(0);
  expect(b2.stdout).toContain('Deferred nothing');
  expect(read(dir, 'b', env, devTarget)).toBe(devTarget);
  const b3 = vigil(dir, ['run', '-s', 'b', '--defer', '--favor-state', '--state', 'prod-state', '--target', devTarget], env);
  expect(b3.code, b3.stderr).toBe(0);
  expect(read(dir, 'b', env, devTarget)).toBe(prodTarget);

  // without --defer nothing is deferred: b reads dev's a
  expect(vigil(dir, ['run', '-s', 'b', '--state', 'prod-state', '--target', devTarget], env).code).toBe(0);
  expect(read(dir, 'b', env, devTarget)).toBe(devTarget);

  // a new model neither the state has nor this target, read by what the run builds: named before
  // the run, with what reads it (was: "Deferred nothing: every relation this run reads is built by
  // it or exists in this target", then "new_m does not exist")
  writeFileSync(join(dir, 'models/new_m.sql'), 'select 1 as id');
  writeFileSync(join(dir, 'models/new_c.sql'), "{{ config(materialized='table') }}\nselect n.id, a.built_in from {{ ref('new_m') }} as n, {{ ref('a') }} as a");
  const missing = vigil(dir, ['build', '-s', 'new_c', '--defer', '--state', 'prod-state', '--target', devTarget], env);
  expect(missing.code, missing.stdout + missing.stderr).toBe(1);
  expect(missing.stdout).not.toContain('Deferred nothing');
  expect(missing.stdout).toMatch(/\nwarning: 1 relation this run reads is not built by it, not in this target and not deferred \(nothing in the state to read instead\): what reads it will fail\n {2}new_m \(\S*new_m\S*\): not in the state's manifest; read by new_c; vigil build -s new_m builds it here\n/);
  expect(missing.stdout).toMatch(/ERROR creating table \S*new_c/);
  // with it in this target there is nothing to say
  expect(vigil(dir, ['run', '-s', 'new_m', '--target', devTarget], env).code).toBe(0);
  const built = vigil(dir, ['build', '-s', 'new_c', '--defer', '--state', 'prod-state', '--target', devTarget], env);
  expect(built.code, built.stdout + built.stderr).toBe(0);
  expect(built.stdout).toContain('Deferred nothing: every relation this run reads is built by it or exists in this target');
  expect(built.stdout).not.toContain('warning');
}

describe('--defer', () => {
  it('DuckDB: production in another file, attached read-only', () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  prod: { type: duckdb, path: .vigil/prod.duckdb, schema: analytics }\n',
      ...MODELS,
    });
    dirs.push(dir);
    scenario(dir, {}, 'dev', 'prod');
    // the production file was only read
    expect(read(dir, 'b', {}, 'prod')).toBe('prod');
  });

  it('vigil retry repeats the deferral of the run it retries', () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  prod: { type: duckdb, path: .vigil/prod.duckdb, schema: analytics }\n',
      ...MODELS,
      'models/e.sql': "{% if var('break_e', false) %}select no_such_column{% else %}select built_in from {{ ref('a') }}{% endif %}",
    });
    dirs.push(dir);
    expect(vigil(dir, ['build', '--target', 'prod']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'prod-state'), { recursive: true });
    const failed = vigil(dir, ['run', '-s', 'e', '--defer', '--state', 'prod-state', '--vars', '{break_e: true}']);
    expect(failed.code, failed.stdout).toBe(1);
    // retry keeps the run's --vars (it fails again the same way) unless given others
    const same = vigil(dir, ['retry']);
    expect(same.code, same.stdout).toBe(1);
    expect(same.stdout).toContain("with the flags of that run: --state");
    expect(same.stdout).toContain("--defer --vars '{break_e: true}'");
    const again = vigil(dir, ['retry', '--vars', '{break_e: false}']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain("Deferred to the state's target 'prod' (1 relation");
    expect(read(dir, 'e')).toBe('prod');
  });

  it('Postgres: production in another schema of the same database', () => {
    const prod = uniqueSchema('defer_prod');
    const dev = uniqueSchema('defer_dev');
    const dir = makeProject({
      'project.yaml': `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: postgres, url: "{{ env_var('VIGIL_TEST_PG_URL') }}", schema: ${dev} }\n  prod: { type: postgres, url: "{{ env_var('VIGIL_TEST_PG_URL') }}", schema: ${prod} }\n`,
      ...MODELS,
    });
    dirs.push(dir);
    scenario(dir, { VIGIL_TEST_PG_URL: inject('pgUrl') }, 'dev', 'prod');
  });

  it('mistakes are usage errors, before anything is built', () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  prod: { type: duckdb, path: .vigil/prod.duckdb, schema: analytics }\n',
      ...MODELS,
    });
    dirs.push(dir);
    const noState = vigil(dir, ['build', '--defer']);
    expect(noState.code).toBe(2);
    expect(noState.stderr).toContain('--defer');
    expect(noState.stderr).toContain('--state <dir>');
    const noDefer = vigil(dir, ['build', '--favor-state', '--state', 'x']);
    expect(noDefer.code).toBe(2);
    expect(noDefer.stderr).toContain('add --defer');
    expect(vigil(dir, ['compile', '--target', 'prod']).code).toBe(0);
    cpSync(join(dir, 'target'), join(dir, 'st'), { recursive: true });
    // the state's DuckDB file was never built
    const missing = vigil(dir, ['build', '-s', 'b', '--defer', '--state', 'st']);
    expect(missing.code, missing.stdout).toBe(2);
    expect(missing.stderr).toContain("the state's target 'prod' is the DuckDB file .vigil/prod.duckdb, which does not exist here");
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    // a state built for a target this project.yaml does not have
    const m = JSON.parse(readFileSync(join(dir, 'st/manifest.json'), 'utf8'));
    m.metadata.target = 'staging';
    writeFileSync(join(dir, 'st/manifest.json'), JSON.stringify(m));
    const unknown = vigil(dir, ['build', '-s', 'b', '--defer', '--state', 'st']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("built for target 'staging'");
    expect(vigil(dir, ['seed', '--defer', '--state', 'st']).code).toBe(2); // seed reads nothing: no such flag
  });
});
