/**
 * A table of broken projects run through the real CLI: each must print the exact
 * file:line:col and message, exit with the documented code, and never print a stack trace.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeProject, removeDir, vigil } from '../helpers.js';

const OK_MODEL = 'select 1 as id';
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

interface Case {
  name: string;
  files: Record<string, string>;
  args?: string[];
  code: number;
  /** Every line must appear in stderr (or stdout for runtime errors). */
  expect: string[];
}

const cases: Case[] = [
  {
    name: 'typo in ref',
    files: { 'models/ai_audit_daily.sql': OK_MODEL, 'models/daily.sql': "select *\nfrom {{ ref('ai_audit_daily') }}\njoin\n  {{ ref('ai_audit_dayly') }} using (id)\n" },
    code: 2,
    expect: ["models/daily.sql:4:6: error: ref('ai_audit_dayly') not found — did you mean 'ai_audit_daily'? [E_REF]"],
  },
  {
    name: 'cycle',
    files: { 'models/a.sql': "select * from {{ ref('b') }}", 'models/b.sql': "select * from {{ ref('c') }}", 'models/c.sql': "select * from {{ ref('a') }}" },
    code: 2,
    expect: ['error: dependency cycle: a -> b -> c -> a [E_CYCLE]'],
  },
  {
    name: 'duplicate model',
    files: { 'models/staging/events.sql': OK_MODEL, 'models/marts/events.sql': OK_MODEL },
    code: 2,
    expect: ["models/staging/events.sql:1:1: error: two models are named 'events': models/marts/events.sql and models/staging/events.sql [E_DUPLICATE]"],
  },
  {
    name: 'unclosed if',
    files: { 'models/a.sql': "select 1 as id\n{% if var('x', true) %}\n  , 2 as y\n" },
    code: 2,
    expect: ['models/a.sql:2:1: error: unclosed {% if %}: expected {% endif %} before the end of the file [E_TEMPLATE]'],
  },
  {
    name: 'bad YAML syntax',
    files: { 'models/a.sql': OK_MODEL, 'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n     tests: [not_null]\n' },
    code: 2,
    expect: ['models/a.yml:5:'],
  },
  {
    name: 'YAML of the wrong shape',
    files: { 'models/a.sql': OK_MODEL, 'models/a.yml': 'models:\n  - name: a\n    descripton: typo\n    columns:\n      - name: 7\n' },
    code: 2,
    expect: ["models/a.yml:3:5: error: models[0].descripton: unknown key 'descripton' [E_SCHEMA]", 'models/a.yml:5:15: error: models[0].columns[0].name: Invalid input: expected string, received number [E_SCHEMA]'],
  },
  {
    name: 'unknown config key',
    files: { 'models/a.sql': "{{ config(\n    materialized='table',\n    partiton_by='day'\n) }}\nselect 1 as id" },
    code: 2,
    expect: ["models/a.sql:3:5: error: unknown config key 'partiton_by' [E_CONFIG]", "hint: did you mean 'partition_by'?"],
  },
  {
    name: 'missing env var',
    files: { 'models/a.sql': "select '{{ env_var('VIGIL_TEST_UNSET_VAR') }}' as id" },
    code: 2,
    expect: ['models/a.sql:1:12: error: environment variable VIGIL_TEST_UNSET_VAR is not set [E_ENV_VAR]'],
  },
  {
    name: 'bad project.yaml',
    files: { 'project.yaml': 'name: fixture\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    shema: analytics\n', 'models/a.sql': OK_MODEL },
    args: ['run'],
    code: 2,
    expect: ["project.yaml:6:5: error: targets.dev.shema: unknown key 'shema' — did you mean 'schema'? [E_TARGET]"],
  },
  {
    name: 'unknown target',
    files: { 'models/a.sql': OK_MODEL },
    args: ['compile', '--target', 'prod'],
    code: 2,
    expect: ["error: target 'prod' is not defined in project.yaml [E_TARGET]"],
  },
  {
    name: 'runtime SQL error names the model file and the compiled SQL line',
    files: { 'models/a.sql': OK_MODEL, 'models/b.sql': "{{ config(materialized='table') }}\nselect id,\n  no_such_column\nfrom {{ ref('a') }}" },
    args: ['run'],
    code: 1,
    expect: ['ERROR creating table analytics.b', 'models/b.sql (compiled SQL: target/compiled/fixture/models/b.sql:3:3)', 'Referenced column "no_such_column" not found'],
  },
  {
    name: 'bad flag value',
    files: { 'models/a.sql': OK_MODEL },
    args: ['run', '--threads', 'many'],
    code: 2,
    expect: ["error: --threads must be a whole number between 1 and 64, got 'many'"],
  },
];

describe('invalid projects', () => {
  it.each(cases)('$name', (c) => {
    const dir = makeProject(c.files);
    dirs.push(dir);
    const r = vigil(dir, c.args ?? ['compile']);
    const all = r.stdout + r.stderr;
    for (const e of c.expect) expect(all).toContain(e);
    expect(r.code).toBe(c.code);
    expect(all).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
    expect(all).not.toContain('internal error');
  });
});
