/**
 * A table of broken projects run through the real CLI: each must print the exact
 * file:line:col and message, exit with the documented code, and never print a stack trace.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { COUNTS_ALERT, makeProject, removeDir, vigil } from '../helpers.js';

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
  /** How many `error:` lines: one per root cause. */
  errors?: number;
  env?: Record<string, string>;
}

const TAB_YAML = 'models:\n  - name: a\n    description: >\n\t    two lines\n      of text\n    columns:\n      - name: id\n';
const DASHBOARD = JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'k', type: 'kpi', title: 'K', model: 'a', measures: [{ column: 'id', agg: 'sum' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] });

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
    name: 'a column declared twice in YAML, for a model, a source table, a seed and a snapshot (was: accepted silently)',
    files: {
      'models/m.sql': OK_MODEL,
      'seeds/s.csv': 'id\n1\n',
      'snapshots/snap.sql': "{% snapshot snap %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select 1 as id{% endsnapshot %}",
      'models/schema.yml':
        'models:\n  - name: m\n    columns:\n      - name: id\n        data_type: bigint\n      - name: id\n        data_type: varchar\n        meta: { pii: true }\n' +
        'sources:\n  - name: app\n    tables:\n      - name: t\n        columns:\n          - name: id\n          - name: ID\n' +
        'seeds:\n  - name: s\n    columns:\n      - name: id\n        tests: [unique]\n      - name: id\n' +
        'snapshots:\n  - name: snap\n    columns:\n      - name: id\n      - name: id\n',
    },
    code: 2,
    expect: [
      "models/schema.yml:6:15: error: column 'id' of model 'm' is declared twice (also at line 4) [E_DUPLICATE]",
      "models/schema.yml:15:19: error: column 'ID' of source app.t is declared twice (also at line 14, as 'id': unquoted, one column to the warehouse) [E_DUPLICATE]",
      "models/schema.yml:21:15: error: column 'id' of seed 's' is declared twice (also at line 19) [E_DUPLICATE]",
      "models/schema.yml:26:15: error: column 'id' of snapshot 'snap' is declared twice (also at line 25) [E_DUPLICATE]",
      'hint: keep one entry per column, with all its data_type, meta and tests',
    ],
    errors: 4,
  },
  {
    name: 'an unclosed {{ in a call (nunjucks failed on a null token: no position)',
    files: { 'models/a.sql': "select 1 as id\n{{ config(materialized='table'\n" },
    code: 2,
    expect: ["models/a.sql:2:1: error: {{ is not closed: expected }} before the end of the file (and the ( after config is not closed either) [E_TEMPLATE]"],
  },
  {
    name: 'an unclosed {# comment',
    files: { 'models/a.sql': 'select 1 as id {# note\n' },
    code: 2,
    expect: ['models/a.sql:1:16: error: {# is not closed: expected #} before the end of the file [E_TEMPLATE]'],
  },
  {
    name: 'a tag typo',
    files: { 'models/a.sql': 'select 1 as id\n{% sett x = 1 %}\n' },
    code: 2,
    expect: ["models/a.sql:2:4: error: unknown block tag: sett — did you mean 'set'? [E_TEMPLATE]"],
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
    expect: ["models/a.yml:3:5: error: models[0].descripton: unknown key 'descripton' — did you mean 'description'? [E_SCHEMA]", 'models/a.yml:5:15: error: models[0].columns[0].name: Invalid input: expected string, received number [E_SCHEMA]'],
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
    name: 'typos in project.yaml keys and choices get the nearest name',
    files: { 'project.yaml': 'name: fixture\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\nalerts:\n  histroy: false\n  state: fiel\n', 'models/a.sql': OK_MODEL },
    args: ['run'],
    code: 2,
    expect: ["project.yaml:7:3: error: alerts.histroy: unknown key 'histroy' — did you mean 'history'? [E_SCHEMA]", "project.yaml:8:10: error: alerts.state: 'fiel' is not one of 'warehouse', 'file' — did you mean 'file'? [E_SCHEMA]"],
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
  // ---- issue 11: nothing silent
  {
    name: 'an undefined variable is an error, not an empty string',
    files: { 'models/a.sql': "select 1 as x, '{{ reporter_role }}' as r" },
    code: 2,
    expect: ["models/a.sql:1:20: error: 'reporter_role' is undefined [E_TEMPLATE]"],
    errors: 1,
  },
  {
    name: 'an unknown attribute of target names the ones it has',
    files: { 'models/a.sql': "select '{{ target.dataset }}' as d" },
    code: 2,
    expect: ["models/a.sql:1:18: error: 'target' has no attribute 'dataset' (it has name, type, schema, database) [E_TEMPLATE]"],
  },
  {
    name: 'a typo in an attribute of this',
    files: { 'models/a.sql': 'select {{ this.nme }} as d' },
    code: 2,
    expect: ["models/a.sql:1:15: error: 'this' has no attribute 'nme' — did you mean 'name'? [E_TEMPLATE]"],
  },
  {
    name: 'an unknown macro: file:line:col and a did-you-mean among macros and helpers',
    files: { 'models/a.sql': "select\n  {{ count_iff('x > 1') }} as d" },
    code: 2,
    expect: ["models/a.sql:2:6: error: unknown function or macro 'count_iff' — did you mean 'count_if'? (macros are defined in macros/*.sql) [E_TEMPLATE]"],
    errors: 1,
  },
  {
    name: 'regex metacharacters in a source name',
    files: { 'models/a.sql': "select * from {{ source('raw(', 'x') }}" },
    code: 2,
    expect: ["models/a.sql:1:18: error: source('raw(', 'x') not found [E_SOURCE]"],
  },
  {
    name: 'a ref typo is one error (its unit test adds no second one with a wrong hint)',
    files: { 'models/stg_workflows.sql': OK_MODEL, 'models/b.sql': "select * from {{ ref('stg_workflow') }}", 'models/b.yml': 'unit_tests:\n  - name: u\n    model: b\n    given: []\n    expect: { rows: [] }\n' },
    code: 2,
    expect: ["models/b.sql:1:18: error: ref('stg_workflow') not found — did you mean 'stg_workflows'? [E_REF]"],
    errors: 1,
  },
  {
    name: 'an unset variable in a target is one error (not also an empty url, nor target.type in templates)',
    files: {
      'project.yaml': `name: fixture\ndefault_target: app\ntargets:\n  app:\n    type: postgres\n    url: "{{ env_var('VIGIL_TEST_UNSET_URL') }}"\n`,
      'models/a.sql': "select '{{ target.type }}' as t",
    },
    code: 2,
    expect: ["project.yaml:6:10: error: target 'app': environment variable VIGIL_TEST_UNSET_URL is not set [E_ENV_VAR]"],
    errors: 1,
  },
  ...(
    [
      ['postgress://vigil:pw-in-url@localhost/app', "url has the scheme 'postgress://' (did you mean 'postgres://'?)"],
      ['localhost:5432/app', 'url is not a connection URL (no postgres:// in front)'],
      ['host=localhost dbname=app password=pw-in-url', 'url is a keyword/value connection string, which the driver does not read'],
      ['postgres://vigil:pw-in-url@localhost:54x2/app', 'url is not a valid URL'],
    ] as const
  ).map(([url, message]): Case => ({
    // the driver read each of these without a word as localhost:5432 (or under another scheme)
    name: `a Postgres url the driver would misread is an error at its line: ${url.replace('pw-in-url', '***')}`,
    files: {
      'project.yaml': `name: fixture\ndefault_target: app\ntargets:\n  app:\n    type: postgres\n    url: "{{ env_var('VIGIL_TEST_PG_URL') }}"\n`,
      'models/a.sql': OK_MODEL,
    },
    env: { VIGIL_TEST_PG_URL: url },
    code: 2,
    expect: [`project.yaml:6:10: error: targets.app.url: ${message}`],
    errors: 1,
  })),
  {
    // a source, seed or snapshot is stored and read as it is: a policy there masked nothing
    name: 'a policy on a source, seed or snapshot column is a warning at its line (it masks nothing; the column stays PII)',
    files: {
      'models/a.sql': OK_MODEL,
      'seeds/people.csv': 'id,ssn\n1,111\n',
      'models/props.yml': 'sources:\n  - name: app\n    tables:\n      - name: users\n        columns:\n          - name: email\n            policy: drop\nseeds:\n  - name: people\n    columns:\n      - name: ssn\n        policy: mask\n',
    },
    code: 0,
    expect: [
      "models/props.yml:7:21: warning: column 'email' of source app.users: policy: drop masks nothing here — a policy applies to a model's published relation; a source is stored and read as it is (the column is taken as PII) [W_MASKING]",
      "models/props.yml:12:17: warning: column 'ssn' of seed 'people': policy: mask masks nothing here",
      'hint: write meta: { pii: true } instead',
    ],
    errors: 0,
  },
  {
    // (was two: also "primary_key: expected a string or a list, got undefined undefined")
    name: 'a misspelt required key is one error, its did-you-mean; left out, it is required',
    files: {
      'models/a.sql': OK_MODEL,
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: events\n        sync: { primery_key: id, cursor: created_at }\n      - name: trails\n        sync: { cursor: created_at }\n',
    },
    code: 2,
    expect: [
      "models/sources.yml:5:17: error: sources[0].tables[0].sync.primery_key: unknown key 'primery_key' — did you mean 'primary_key'? [E_SCHEMA]",
      'models/sources.yml:7:15: error: sources[0].tables[1].sync.primary_key: is required (a string or a list) [E_SCHEMA]',
    ],
    errors: 2,
  },
  {
    // (combination_of_columns: date crashed the compile with a stack trace, exit 3; where: false was dropped)
    name: "a generic test's arguments of the wrong shape are errors at their line",
    files: {
      'models/a.sql': 'select 1 as id, current_date as d',
      'models/a.yml': 'models:\n  - name: a\n    tests:\n      - unique_combination_of_columns: { combination_of_columns: d }\n    columns:\n      - name: id\n        tests:\n          - not_null: { where: false }\n          - accepted_values: { values: [1, {k: 1}] }\n',
    },
    code: 2,
    expect: [
      'models/a.yml:4:66: error: unique_combination_of_columns: combination_of_columns must be a list of one or more column names, got "d" [E_TEST]',
      'models/a.yml:8:32: error: not_null: where must be a SQL condition (a non-empty string), got false [E_TEST]',
      'models/a.yml:9:44: error: accepted_values: values are strings, numbers or booleans; value 2 is {"k":1} [E_TEST]',
    ],
    errors: 3,
  },
  {
    // (was "Nothing to do", exit 0: a CI step whose selection ran no test passed)
    name: 'vigil test whose selection runs no test is exit 2, naming what it selected',
    files: { 'models/a.sql': OK_MODEL, 'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests: [unique]\n' },
    args: ['test', '--unit', '-s', 'test_type:unique'],
    code: 2,
    expect: ['error: the selection selects 1 test (unique_a_id), and vigil test runs unit tests (--unit): nothing to run'],
    errors: 1,
  },
  {
    // (the second became my_test_2 without a word: -s my_test selected one of them)
    name: 'two generic tests given one name is an error at the second',
    files: { 'models/a.sql': OK_MODEL, 'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - unique: { name: my_test }\n          - not_null: { name: my_test }\n' },
    code: 2,
    expect: ["models/a.yml:7:31: error: not_null: a test named 'my_test' exists already (models/a.yml:6) [E_DUPLICATE]"],
    errors: 1,
  },
  {
    // (the generated one became not_null_a_id_2: -s not_null_a_id selected the named test)
    name: "a test's name: that is the name generated for another test is an error at the name, naming that test",
    files: { 'models/a.sql': OK_MODEL, 'models/a.yml': 'models:\n  - name: a\n    tests:\n      - expression_is_true: { expression: "id > 0", name: not_null_a_id }\n    columns:\n      - name: id\n        tests:\n          - not_null\n          - unique: { config: { name: not_null_a_id } }\n' },
    code: 2,
    expect: [
      "models/a.yml:4:59: error: expression_is_true: name 'not_null_a_id' is the name of the test at models/a.yml:8 (a test without name: is named after what it tests) [E_DUPLICATE]",
      'hint: give this test another name: -s not_null_a_id selects that one',
      "models/a.yml:9:39: error: unique: name 'not_null_a_id' is the name of the test at models/a.yml:8",
    ],
    errors: 2,
  },
  {
    // (data_tests: was dropped without a word where tests: was also given; a source table ran both, placing data_tests: at the wrong lines)
    name: 'tests: and data_tests: both given is an error at the second, on a model, a column, a seed, a snapshot, a source table and its column (as in dbt)',
    files: {
      'models/a.sql': OK_MODEL,
      'seeds/s.csv': 'id\n1\n',
      'snapshots/snap.sql': "{% snapshot snap %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select 1 as id{% endsnapshot %}",
      'models/a.yml':
        'models:\n  - name: a\n    data_tests: [unique_combination_of_columns: { combination_of_columns: [id] }]\n    tests: [expression_is_true: { expression: "id > 0" }]\n    columns:\n      - name: id\n        tests: [not_null]\n        data_tests: [unique]\n' +
        'seeds:\n  - name: s\n    tests: [expression_is_true: { expression: "id > 0" }]\n    data_tests: [expression_is_true: { expression: "id < 9" }]\n' +
        'snapshots:\n  - name: snap\n    columns:\n      - name: id\n        tests: [not_null]\n        data_tests: [unique]\n' +
        'sources:\n  - name: raw\n    tables:\n      - name: t\n        tests: [expression_is_true: { expression: "id > 0" }]\n        data_tests: [expression_is_true: { expression: "id < 9" }]\n        columns:\n          - name: id\n            data_tests: [unique]\n            tests: [not_null]\n',
    },
    code: 2,
    expect: [
      "models/a.yml:4:5: error: model 'a': both tests: and data_tests: are given (data_tests: at line 3) [E_PROPS]",
      'hint: keep one list: data_tests: is the name dbt 1.8 gave tests:',
      "models/a.yml:8:9: error: column 'id' of model 'a': both tests: and data_tests: are given (tests: at line 7) [E_PROPS]",
      "models/a.yml:12:5: error: seed 's': both tests: and data_tests: are given (tests: at line 11) [E_PROPS]",
      "models/a.yml:18:9: error: column 'id' of snapshot 'snap': both tests: and data_tests: are given (tests: at line 17) [E_PROPS]",
      "models/a.yml:24:9: error: source raw.t: both tests: and data_tests: are given (tests: at line 23) [E_PROPS]",
      "models/a.yml:28:13: error: column 'id' of source raw.t: both tests: and data_tests: are given (data_tests: at line 27) [E_PROPS]",
    ],
    errors: 6,
  },
  {
    // dbt_utils writes `where not (<column> <expression>)` under a column: this one read `where not (amount amount >= 0)`
    name: 'expression_is_true under a column whose expression starts with the column is an error at the expression',
    files: { 'models/a.sql': 'select 1 as amount', 'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: amount\n        tests:\n          - expression_is_true: { expression: "amount >= 0" }\n          - expression_is_true: { expression: ">= 0" }\n          - expression_is_true: { expression: "is not null and amount between 0 and {{ 9 }}" }\n          - expression_is_true: { expression: "coalesce(amount, 0) >= 0" }\n          - expression_is_true: { expression: "(amount >= 0)" }\n          - expression_is_true: { expression: "not (amount < 0)" }\n          - expression_is_true: { expression: \'{{ "amount" }} >= 0\' }\n          - expression_is_true: { expression: "notnull" }\n          - expression_is_true: { expression: "not in (-1, -2)" }\n' },
    code: 2,
    expect: [
      "models/a.yml:6:47: error: expression_is_true under column 'amount': the test writes the column before the expression (where not (amount <expression>)), and this one starts with it [E_TEST]",
      `hint: write what follows the column (expression: ">= 0"), or declare the test under the model's tests: to write a whole condition`,
      "models/a.yml:9:47: error: expression_is_true under column 'amount': the test writes the column before the expression (where not (amount <expression>)), so the expression starts with an operator or a predicate (>= 0, between 0 and 1, is not null, not in (...)); this one starts with 'coalesce(amount,' [E_TEST]",
      "models/a.yml:10:47: error: expression_is_true under column 'amount': the test writes the column before the expression (where not (amount <expression>)), so the expression starts with an operator or a predicate (>= 0, between 0 and 1, is not null, not in (...)); this one starts with '(amount' [E_TEST]",
      "models/a.yml:11:47: error: expression_is_true under column 'amount': the test writes the column before the expression (where not (amount <expression>)), so the expression starts with an operator or a predicate (>= 0, between 0 and 1, is not null, not in (...)); this one starts with 'not' [E_TEST]",
      "models/a.yml:12:47: error: expression_is_true under column 'amount': the test writes the column before the expression (where not (amount <expression>)), so the expression starts with an operator or a predicate (>= 0, between 0 and 1, is not null, not in (...)); this one starts with 'amount' [E_TEST]",
    ],
    errors: 5,
  },
  {
    // (the one beside the arguments won silently)
    name: "a test's severity given beside its arguments and in its config, differently, is an error",
    files: { 'models/a.sql': OK_MODEL, 'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - unique: { severity: warn, config: { severity: error } }\n          - not_null: { severity: warn, config: { severity: warn } }\n' },
    code: 2,
    expect: ['models/a.yml:6:59: error: unique: severity is given twice, "warn" and "error" in config: [E_TEST]'],
    errors: 1,
  },
  {
    name: 'a tab in YAML indentation is one error at its line',
    files: { 'models/a.sql': OK_MODEL, 'models/a.yml': TAB_YAML },
    code: 2,
    expect: ['models/a.yml:4:1: error: a tab in the indentation: YAML indents with spaces only [E_YAML]'],
    errors: 1,
  },
  {
    name: 'a YAML syntax error is reported alone (no dashboard warnings it caused)',
    files: { 'models/a.sql': OK_MODEL, 'models/a.yml': 'models:\n  - name: a\n  bad: [unclosed\n', 'dashboards/d.json': DASHBOARD },
    code: 2,
    expect: ['models/a.yml:3:'],
    errors: 1,
  },
  {
    name: "a singular test's config() is checked",
    files: { 'models/a.sql': OK_MODEL, 'tests/t.sql': "{{ config(severity='wran') }}\nselect 1 from {{ ref('a') }} where false" },
    code: 2,
    expect: ["tests/t.sql:1:11: error: config severity: 'wran' is not one of 'error', 'warn' — did you mean 'warn'? [E_CONFIG]"],
  },
  {
    name: 'a key a source table does not use is rejected',
    files: { 'models/a.sql': OK_MODEL, 'models/s.yml': 'sources:\n  - name: raw\n    tables:\n      - name: e\n        expiry: {days: 7}\n' },
    code: 2,
    expect: ["models/s.yml:5:9: error: sources[0].tables[0].expiry: unknown key 'expiry' [E_SCHEMA]"],
  },
  {
    // one typo in a sources file: its line, not also a "not found" for each model, data test and
    // unit test reading a table that file declares (the file is left out until it validates)
    name: 'a typo in a sources file is one error, not one per use',
    files: {
      'models/s.yml': 'sources:\n  - name: raw\n    tables:\n      - name: e\n        sync: { primary_key: id, cursor: ts, batch_sise: 10 }\n      - name: f\n',
      'models/a.sql': "select * from {{ source('raw', 'e') }}",
      'models/b.sql': "select * from {{ source('raw', 'f') }}",
      'models/c.yml': "models:\n  - name: b\n    columns:\n      - name: id\n        tests:\n          - relationships: { to: \"source('raw', 'e')\", field: id }\n",
      'models/u.yml': "unit_tests:\n  - name: t\n    model: b\n    given:\n      - input: source('raw', 'f')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ id: 1 }]\n",
      // a source declared nowhere is still reported
      'models/d.sql': "select * from {{ source('raw', 'g') }}",
    },
    code: 2,
    expect: ["models/s.yml:5:46: error: sources[0].tables[0].sync.batch_sise: unknown key 'batch_sise' — did you mean 'batch_size'? [E_SCHEMA]", "models/d.sql:1:18: error: source('raw', 'g') not found"],
    errors: 2,
  },
  {
    name: 'a view that reads a secret',
    files: { 'models/a.sql': "select 1 as x where '{{ env_var('VIGIL_SECRET_TEST') }}' <> ''" },
    env: { VIGIL_SECRET_TEST: 'a-secret-value' },
    code: 2,
    expect: ["models/a.sql:1:25: error: model 'a' is a view and reads the secret VIGIL_SECRET_TEST"],
  },
  {
    // a variable secret by its name alone may hold no secret (PASS as a word: an exam's pass mark): the hint says how out (was: only "materialize as a table, or read it in a hook")
    name: 'a view that reads a variable secret by its name',
    files: { 'models/a.sql': "select {{ env_var('EXAM_PASS_MARK') }} as pass_mark" },
    env: { EXAM_PASS_MARK: '50' },
    code: 2,
    expect: ["models/a.sql:1:11: error: model 'a' is a view and reads the secret EXAM_PASS_MARK", "or read EXAM_PASS_MARK in a hook; EXAM_PASS_MARK is a secret by its name (docs/models.md#secrets): if it holds none, rename it"],
  },
  {
    // its restricted companion is a view of the model's unmasked SQL (was: built, the value in the view's definition)
    name: 'a table whose restricted companion reads a secret',
    files: {
      'seeds/people.csv': 'id,email\n1,a@x.com\n',
      'models/sec1.sql': `{{ config(materialized='table', restricted={'grants': {'select': ['auditor']}}) }}\nselect id, '{{ env_var("H17_API_TOKEN") }}' as t, email from {{ ref('people') }}`,
      'models/sec1.yml': 'models:\n  - name: sec1\n    columns:\n      - name: id\n      - name: t\n      - name: email\n        policy: hash\n',
    },
    args: ['build'],
    env: { H17_API_TOKEN: 'tok_ABCDEF123456' },
    code: 2,
    expect: [
      "models/sec1.sql:2:16: error: model 'sec1' has a restricted companion (sec1__restricted, a view of its SQL) and reads the secret H17_API_TOKEN: the warehouse would store its value in the view's definition [E_SECRET]",
      "hint: read H17_API_TOKEN in a hook, or take restricted: out of the config of 'sec1'",
      'nothing was run',
    ],
    errors: 1,
  },
  {
    name: 'hooks on an ephemeral model',
    files: { 'models/a.sql': "{{ config(materialized='ephemeral', post_hook='select 1') }}\nselect 1 as x" },
    code: 2,
    expect: ["models/a.sql:1:37: error: model 'a' is ephemeral (inlined where it is used, never built): its hooks would never run [E_CONFIG]"],
  },
  {
    // (was: accepted and never applied, without a word)
    name: 'grants on an ephemeral model',
    files: { 'models/a.sql': "{{ config(materialized='ephemeral', grants={'select': ['reader']}) }}\nselect 1 as x" },
    code: 2,
    expect: ["models/a.sql:1:37: error: model 'a' is ephemeral (inlined where it is used, never built): its grants would never be applied [E_CONFIG]"],
    errors: 1,
  },
  {
    // (unique_key there was warned of; these were not)
    name: 'incremental-only keys on a table model are warnings at their line',
    files: { 'models/a.sql': "{{ config(materialized='table', incremental_strategy='merge', on_schema_change='fail', full_refresh=false) }}\nselect 1 as x" },
    code: 0,
    expect: [
      "models/a.sql:1:33: warning: incremental_strategy is set but model 'a' is materialized as table; it only applies to incremental models [W_CONFIG]",
      "models/a.sql:1:63: warning: on_schema_change is set but model 'a' is materialized as table",
      "models/a.sql:1:88: warning: full_refresh is set but model 'a' is materialized as table",
    ],
    errors: 0,
  },
  {
    name: 'a function printed without its call (ref, a macro): an error at it, never its code in the SQL',
    files: {
      'models/a.sql': 'select 1 as x',
      'models/b.sql': "select x\nfrom {{ ref }}",
      'models/c.sql': "{% if true %}select {{ is_incremental }} as y{% endif %}",
      // nunjucks' own renderer (a for loop): the position of the printed function, not of an earlier call (the expression's, as the fast renderer's: was the {{'s)
      'models/d.sql': "{% for i in [1] %}{{ ref('a') }}{% endfor %}\nselect\n  {{ ref }} as z",
    },
    code: 2,
    expect: [
      "models/b.sql:2:9: error: 'ref' is a function: call it (ref(...)); printed, it would put its code into the SQL",
      "models/c.sql:1:24: error: 'is_incremental' is a function: call it (is_incremental(...)); printed, it would put its code into the SQL",
      "models/d.sql:3:6: error: 'ref' is a function: call it (ref(...)); printed, it would put its code into the SQL",
    ],
    errors: 3,
  },
  {
    name: 'a selector that selects nothing (typo): exit 2 with the nearest name',
    files: { 'models/stg_workflows.sql': OK_MODEL },
    args: ['build', '-s', 'stg_workflow'],
    code: 2,
    expect: ["error: selector 'stg_workflow' matched nothing — did you mean 'stg_workflows'?", 'pass --allow-empty'],
  },
  {
    name: 'a tag that selects nothing',
    files: { 'models/a.sql': OK_MODEL },
    args: ['build', '-s', 'tag:nope'],
    code: 2,
    expect: ["error: selector 'tag:nope' matched nothing"],
  },
  {
    name: 'a typo in a resource_type, a config value or a dashboard: the nearest value that selects something',
    files: {
      'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as x",
      'dashboards/ops.json': JSON.stringify({ name: 'ops', title: 'Ops', tabs: [{ name: 'main', title: 'Main', tiles: [{ id: 't', type: 'table', title: 'T', model: 'a', dimensions: [{ column: 'x' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] }),
    },
    args: ['ls', '-s', 'config.materialized:tabel', '-s', 'dashboard:osp'],
    code: 2,
    expect: ["selector 'config.materialized:tabel' matched nothing — did you mean 'config.materialized:table'?", "selector 'dashboard:osp' matched nothing — did you mean 'dashboard:ops'?"],
  },
  {
    // (a resource type no node can have: refused as such, before what the other selectors match)
    name: 'a typo in a resource_type: unknown, with the nearest type and the list',
    files: { 'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as x" },
    args: ['ls', '-s', 'resource_type:modle', '-s', 'config.materialized:tabel'],
    code: 2,
    expect: ["error: selector 'resource_type:modle': unknown resource type 'modle' — did you mean 'resource_type:model'? (resource types: model, seed, snapshot, test, unit_test, source, exposure)"],
  },
  {
    name: 'an unknown selector method: the list and a did-you-mean',
    files: { 'models/a.sql': OK_MODEL },
    args: ['build', '-s', 'stat:modified'],
    code: 2,
    expect: ["error: unknown selector method 'stat:' — did you mean 'state:'? (methods: name, fqn, package, tag, path, file, source, test_name, test_type, unit_test, resource_type, dashboard, exposure, config.<key>, state)"],
  },
  {
    name: 'state: selection says what it needs',
    files: { 'models/a.sql': OK_MODEL },
    args: ['build', '-s', 'state:modified'],
    code: 2,
    expect: ["error: selector 'state:modified': state: compares with a previous run's manifest: pass --state <folder with its manifest.json>"],
  },
  {
    name: 'a single-value flag given twice: --project-dir before and after the command (was: the last kept without a word)',
    files: { 'models/a.sql': OK_MODEL },
    args: ['--project-dir', '.', 'ls', '--project-dir', '..'],
    code: 2,
    errors: 1,
    expect: ['error: --project-dir given twice (. and ..): give it once'],
  },
  {
    name: 'a single-value flag given twice: -t twice (was: the last kept without a word)',
    files: { 'models/a.sql': OK_MODEL },
    args: ['ls', '-t', 'app', '-t', 'dev'],
    code: 2,
    errors: 1,
    expect: ['error: --target given twice (app and dev): give it once'],
  },
  {
    name: 'a single-value flag given twice: -t and --target (was: the last kept without a word)',
    files: { 'models/a.sql': OK_MODEL },
    args: ['compile', '-t', 'dev', '--target', 'prod'],
    code: 2,
    errors: 1,
    expect: ['error: --target given twice (dev and prod): give it once'],
  },
  {
    name: 'a single-value flag given twice: --threads twice (was: the last kept without a word)',
    files: { 'models/a.sql': OK_MODEL },
    args: ['run', '--threads', '2', '--threads', '3'],
    code: 2,
    errors: 1,
    expect: ['error: --threads given twice (2 and 3): give it once'],
  },
  {
    name: 'a single-value flag given twice: show --output twice (was: the last kept without a word)',
    files: { 'models/a.sql': OK_MODEL },
    args: ['show', '--output', 'json', '--output', 'csv', '-s', 'a'],
    code: 2,
    errors: 1,
    expect: ['error: --output given twice (json and csv): give it once'],
  },
  {
    name: 'a single-value flag given twice: compile --state twice (was: the last kept without a word)',
    files: { 'models/a.sql': OK_MODEL },
    args: ['compile', '--state', 'a', '--state', 'b'],
    code: 2,
    errors: 1,
    expect: ['error: --state given twice (a and b): give it once'],
  },
  {
    name: 'a single-value flag given twice: sync --mode twice (was: the last kept without a word)',
    files: { 'models/a.sql': OK_MODEL },
    args: ['sync', '--mode', 'full', '--mode', 'delta'],
    code: 2,
    errors: 1,
    expect: ['error: --mode given twice (full and delta): give it once'],
  },
  {
    name: 'flags meant to repeat still do, and a flag given twice with the same value is taken',
    files: { 'models/a.sql': OK_MODEL, 'models/b.sql': OK_MODEL },
    args: ['ls', '-s', 'a', '-s', 'b', '--exclude', 'x', '--exclude', 'y', '--allow-empty', '--resource-type', 'model', '--resource-type', 'seed', '-t', 'dev', '--target', 'dev', '--output', 'name'],
    code: 0,
    expect: ['a\nb\n'],
  },
  {
    name: 'sync --since with --lookback (was: the lookback ignored without a word)',
    files: { 'models/a.sql': OK_MODEL },
    args: ['sync', '--since', '2026-01-01', '--mode', 'full', '--lookback', '1h'],
    code: 2,
    expect: ['error: --since and --lookback both say where the run starts: give one'],
  },
  {
    name: 'a duration flag with a typo',
    files: { 'models/a.sql': OK_MODEL },
    args: ['sync', '--mode', 'full', '--lookback', '1h30x'],
    code: 2,
    expect: ["error: --lookback must be a duration like 30s, 15m, 1h30m, 2d or 1w (units ms, s, m, h, d, w, y), got '1h30x'"],
  },
  {
    name: 'paths.target inside models/ (compiled SQL would be read back as models)',
    files: { 'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb }\npaths:\n  target: models/out\n', 'models/a.sql': OK_MODEL },
    code: 2,
    expect: ["project.yaml:6:11: error: paths.target: 'models/out' overlaps the models folder (models): Vigil writes and cleans it [E_PATHS]"],
  },
  {
    name: 'paths.target outside the project',
    files: { 'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb }\npaths:\n  target: ../elsewhere\n', 'models/a.sql': OK_MODEL },
    code: 2,
    expect: ["paths.target: '../elsewhere' is not a folder inside the project"],
  },
  {
    name: 'a dashboard written in YAML (was: left out without a word)',
    files: { 'models/a.sql': OK_MODEL, 'dashboards/ops.yaml': 'name: ops\n' },
    code: 2,
    expect: ['dashboards/ops.yaml:1:1: error: dashboards/ops.yaml: dashboards are JSON files (dashboards/*.json): this one would not be read [E_DASHBOARD]'],
  },
  {
    name: "a properties file in tests/ but tests/unit/ (dbt's singular test properties; was: left out without a word, its severity: error never applied, exit 0); other YAML there is no error",
    files: { 'models/a.sql': OK_MODEL, 'tests/t.sql': "{{ config(severity='warn') }}\nselect * from {{ ref('a') }}", 'tests/props.yml': 'data_tests:\n  - name: t\n    config:\n      severity: error\n', 'tests/unit/u.yml': 'unit_tests: []\n', 'tests/cassettes/http.yaml': 'version: 1\ninteractions: []\n' },
    args: ['test'],
    code: 2,
    expect: ['tests/props.yml:1:1: error: tests/props.yml: properties files under tests/ are read only in tests/unit/ (unit tests): this one would not be read [E_SCHEMA]'],
    errors: 1,
  },
  {
    name: "a template in a source's schema (dbt renders it; was a relation named as written, exit 0)",
    files: { 'models/a.sql': "select * from {{ source('raw', 'orders') }}", 'models/src.yml': "sources:\n  - name: raw\n    schema: \"{{ var('raw_schema', 'raw') }}\"\n    tables:\n      - name: orders\n" },
    code: 2,
    expect: ["models/src.yml:3:13: error: source raw.orders: schema '{{ var('raw_schema', 'raw') }}' is a template, which Vigil does not render in sources YAML: it would name a relation as written [E_SOURCE]"],
  },
  {
    name: "a template in a source's freshness filter or loaded_at_field (was: sent to the warehouse as written, a parser error at freshness time)",
    files: {
      'models/a.sql': "select * from {{ source('raw', 'orders') }}",
      'models/src.yml': "sources:\n  - name: raw\n    loaded_at_field: \"{{ var('ts_col', 'loaded_at') }}\"\n    tables:\n      - name: orders\n        freshness:\n          warn_after: { count: 1, period: hour }\n          filter: \"{{ var('x', 'true') }}\"\n",
    },
    code: 2,
    expect: [
      "models/src.yml:3:22: error: source raw.orders: loaded_at_field '{{ var('ts_col', 'loaded_at') }}' is a template, which Vigil does not render in sources YAML: it would reach the warehouse as written [E_SOURCE]",
      "models/src.yml:8:19: error: source raw.orders: freshness filter '{{ var('x', 'true') }}' is a template, which Vigil does not render in sources YAML: it would reach the warehouse as written [E_SOURCE]",
      'hint: write the filter itself: Vigil renders templates in models, macros and hooks, not in sources YAML',
    ],
    errors: 2,
  },
  {
    name: "an unknown target is one error, not also the project's generate_schema_name blamed for the empty schema",
    files: {
      'macros/generate_schema_name.sql': '{% macro generate_schema_name(custom_schema_name, node) -%}\n    {{ default__generate_schema_name(custom_schema_name, node) }}\n{%- endmacro %}\n',
      'seeds/raw_orders.csv': 'id\n1\n',
      'models/a.sql': "select * from {{ ref('raw_orders') }}",
    },
    args: ['build', '--target', 'nope'],
    code: 2,
    expect: ["project.yaml:4:3: error: target 'nope' is not defined in project.yaml [E_TARGET]"],
    errors: 1,
  },
  {
    name: "an unset variable in a target is one error, not also the project's generate_schema_name blamed",
    files: {
      'project.yaml': `name: fixture\ndefault_target: app\ntargets:\n  app:\n    type: postgres\n    url: "{{ env_var('VIGIL_TEST_UNSET_URL') }}"\n`,
      'macros/generate_schema_name.sql': '{% macro generate_schema_name(custom_schema_name, node) -%}\n    {{ target.schema }}\n{%- endmacro %}\n',
      'models/a.sql': OK_MODEL,
    },
    code: 2,
    expect: ["project.yaml:6:10: error: target 'app': environment variable VIGIL_TEST_UNSET_URL is not set [E_ENV_VAR]"],
    errors: 1,
  },
  {
    name: 'an empty project.yaml',
    files: { 'project.yaml': '# nothing yet\n', 'models/a.sql': OK_MODEL },
    code: 2,
    expect: ['project.yaml:1:1: error: project.yaml is empty: it holds no mapping [E_SCHEMA]', 'hint: it needs at least name: and targets:'],
  },
  {
    name: 'an impossible timestamp, even with nothing to evaluate',
    files: { 'models/a.sql': OK_MODEL },
    args: ['alerts', 'evaluate', '--at', '2026-02-30T00:00'],
    code: 2,
    expect: ['error: --at'],
  },
  {
    name: "labels with the key 'tool', Vigil's own (was: silently replaced by tool=vigil), in a model's config and in the target",
    files: {
      'project.yaml': 'name: fixture\ndefault_target: prod\ntargets:\n  prod:\n    type: bigquery\n    project: p\n    dataset: analytics\n    labels: { tool: airflow }\n',
      'models/l.sql': "{{ config(materialized='table', labels={'team': 'data', 'tool': 'other'}) }}\nselect 1 as x\n",
    },
    code: 2,
    expect: [
      "project.yaml:8:21: error: targets.prod.labels.tool: label key 'tool' is Vigil's own (every job, table and view Vigil creates carries tool=vigil, which would replace the value written here): use another key",
      "models/l.sql:1:33: error: config labels.tool: label key 'tool' is Vigil's own (every job, table and view Vigil creates carries tool=vigil, which would replace the value written here): use another key [E_CONFIG]",
    ],
  },
  {
    name: 'partition_by granularity with data_type int64 (was: accepted, and did nothing)',
    files: { 'models/p.sql': "{{ config(materialized='table',\n  partition_by={'field': 'id', 'data_type': 'int64', 'granularity': 'month', 'range': {'start': 0, 'end': 100, 'interval': 10}}) }}\nselect 1 as id\n" },
    code: 2,
    errors: 1,
    expect: ["models/p.sql:2:3: error: config partition_by.granularity: applies to date, timestamp and datetime partitions only (as in dbt-bigquery); an int64 partition is cut by its range: remove it [E_CONFIG]"],
  },
];

describe('commands that read what a build made, on a DuckDB target never built', () => {
  it.each(['dashboards render --out site', 'dashboards validate --warehouse'])('vigil %s: exit 2 naming the missing file, and no empty database file made (was: created, every query "does not exist")', (line) => {
    const args = line.split(' ');
    const dir = makeProject({
      'models/counts.sql': "select 'chat' as capability, 11 as n",
      'alerts/a.yaml': COUNTS_ALERT,
      'dashboards/d.json': DASHBOARD.replace('"model":"a"', '"model":"counts"').replace('"column":"id"', '"column":"n"'),
    });
    dirs.push(dir);
    const r = vigil(dir, args);
    expect(r.stderr).toContain('target dev has no database yet (.vigil/dev.duckdb does not exist): nothing was built there. Run vigil build first');
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, '.vigil', 'dev.duckdb'))).toBe(false);
    // once built, the same command runs
    expect(vigil(dir, ['build']).code).toBe(0);
    expect(vigil(dir, args).stderr).not.toContain('no database yet');
  });

  it('vigil alerts evaluate --dry-run evaluates on an empty database without making the file (a rule of no model runs; one reading a model says it is missing)', () => {
    const dir = makeProject({ 'models/counts.sql': "select 'chat' as capability, 11 as n", 'alerts/a.yaml': `${COUNTS_ALERT}  - name: plain\n    severity: info\n    query: select 'x' as k, 20 as n\n    group_by: [k]\n    condition: { type: threshold, column: n, op: ">", value: 10 }\n    summary: plain\n` });
    dirs.push(dir);
    const r = vigil(dir, ['alerts', 'evaluate', '--dry-run']);
    expect(r.stdout).toMatch(/plain +1 firing/);
    expect(r.stdout).toMatch(/many +ERROR .*counts/);
    expect(existsSync(join(dir, '.vigil', 'dev.duckdb'))).toBe(false);
  });
});

describe('invalid projects', () => {
  it.each(cases)('$name', (c) => {
    const dir = makeProject(c.files);
    dirs.push(dir);
    const r = vigil(dir, c.args ?? ['compile'], c.env);
    const all = r.stdout + r.stderr;
    for (const e of c.expect) expect(all).toContain(e);
    if (c.errors !== undefined) expect(all.match(/(^|: )error: /gm) ?? [], all).toHaveLength(c.errors);
    expect(r.code).toBe(c.code);
    expect(all).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
    expect(all).not.toContain('internal error');
    expect(all).not.toContain('pw-in-url');
  });
});
