/**
 * Accepted means done, as a user who makes typos meets it (H170's sweep): a mistake the project
 * or the command line holds is refused where it is written (exit 2, file:line, the nearest name),
 * never rendered as nothing, as JavaScript's `undefined`, or passed over with exit 0.
 * Table-driven and in-process: the templates through Vigil's own environment (its fast path and
 * nunjucks), the commands through one project in the worker's command host.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASIC_PROJECT_YAML, COUNTS_ALERT, makeProject, removeDir, vigil } from '../helpers.js';
import { dialectOf } from '../../src/adapters/index.js';
import { emptyCalls, TemplateEnv } from '../../src/compile/template-env.js';

function render(src: string, fast: boolean): string {
  const env = new TemplateEnv({ dialect: dialectOf('duckdb'), vars: {}, env: {}, target: { name: 'dev' }, project: 'shop' });
  env.useFastPath = fast;
  const t = env.compileTemplate('m.sql', src);
  if ('message' in t) return `ERROR ${t.message}`;
  const out = env.render(t, src, emptyCalls(), false);
  return typeof out === 'string' ? out : `ERROR ${out.message}`;
}

/**
 * Filter and range() calls Jinja (so dbt) refuses with a TypeError or ValueError, which rendered
 * silently here: `'a' | replace('a')` printed `undefined` into the SQL, `range('a')` looped
 * over nothing, a misspelt keyword was dropped. Each is an error naming what is wrong.
 */
const REFUSED: Array<[string, RegExp]> = [
  ["{{ 'a-b' | replace('-') }}", /filter 'replace' missing 1 required argument: 'new'/],
  ["{{ 'a-b' | replace() }}", /filter 'replace' missing 2 required arguments: 'old' and 'new'/],
  ["{{ 'a-b' | replace(new='+') }}", /filter 'replace' missing 1 required argument: 'old'/],
  // (an argument given but undefined is said so, not as missing: the template passes it)
  ["{% macro m(sep) %}{{ 'a-b' | replace('-', sep) }}{% endmacro %}{{ m() }}", /filter 'replace': its argument 'new' is undefined \(a macro parameter not passed, or a variable not set\)/],
  ["{% macro m(n) %}{{ [1, 2] | batch(linecount=n) | list }}{% endmacro %}{{ m() }}", /filter 'batch': its argument 'linecount' is undefined/],
  ['{{ [1, 2, 3] | batch | list }}', /filter 'batch' missing 1 required argument: 'linecount'/],
  ['{{ [1, 2, 3] | slice | list }}', /filter 'slice' missing 1 required argument: 'slices'/],
  ["{{ [{'a': 1}] | groupby }}", /filter 'groupby' missing 1 required argument: 'attribute'/],
  ["{{ [3, 1] | sort(revers=true) | join(',') }}", /filter 'sort' has no argument 'revers' — did you mean 'reverse'\?/],
  ["{{ 'a' | tojson(indnt=2) }}", /filter 'tojson' has no argument 'indnt' — did you mean 'indent'\?/],
  ["{{ [{'a': 1}] | map(attribute='a', defualt=0) | list }}", /filter 'map' has no argument 'defualt' — did you mean 'default'\?/],
  ["{% for i in range('a') %}{{ i }}{% endfor %}", /range\(\): 'str' object cannot be interpreted as an integer/],
  ["{% for i in range('3') %}{{ i }}{% endfor %}", /range\(\): 'str' object cannot be interpreted as an integer/],
  ['{% for i in range(none) %}{{ i }}{% endfor %}', /range\(\): 'NoneType' object cannot be interpreted as an integer/],
  ['{% for i in range(2.5) %}{{ i }}{% endfor %}', /range\(\): 'float' object cannot be interpreted as an integer/],
  ['{% for i in range(0, 5, 0) %}{{ i }}{% endfor %}', /range\(\) arg 3 must not be zero/],
  ['{% for i in range() %}{{ i }}{% endfor %}', /range expected at least 1 argument, got 0/],
  ['{% for i in range(1, 2, 3, 4) %}{{ i }}{% endfor %}', /range expected at most 3 arguments, got 4/],
  ['{% for i in range(stop=3) %}{{ i }}{% endfor %}', /range\(\) takes no keyword arguments/],
];

/** What stays as Jinja renders it. */
const KEPT: Array<[string, string]> = [
  ["{{ 'a-b-c' | replace('-', '+') }} {{ 'a-b-c' | replace('-', '+', 1) }} {{ 'a-b' | replace(old='-', new='+') }} {{ 'a-b' | replace('-', new='+') }}", 'a+b+c a+b-c a+b a+b'],
  ["{{ [1, 2, 3] | batch(2) | list }} {{ [1, 2, 3] | slice(2) | list }} {{ [{'a': 1}] | groupby('a') | list }}", "[[1, 2], [3]] [[1, 2], [3]] [(1, [{'a': 1}])]"],
  ["{{ [3, 1, 2] | sort(reverse=true) | join(',') }} {{ ['b', 'A'] | sort(case_sensitive=true) | join(',') }} {{ [{'a': 2}, {'a': 1}] | sort(attribute='a') | map(attribute='a') | join(',') }}", '3,2,1 A,b 1,2'],
  ["{{ [{'a': 1}, {}] | map(attribute='a', default=0) | join(',') }} {{ ['a'] | map('upper') | join }} {{ {'k': 1} | tojson(indent=2) }}", '1,0 A {\n  "k": 1\n}'],
  ['{% for i in range(3) %}{{ i }}{% endfor %} {% for i in range(1, 7, 2) %}{{ i }}{% endfor %} {% for i in range(3, 0, -1) %}{{ i }}{% endfor %} {{ range(true) | list }} {{ range(0) | list }}', '012 135 321 [0] []'],
];

/**
 * map(name, ...) passes its keyword arguments to the filter it names, as Jinja's does (were dropped:
 * `map('round', precision=2)` rounded to 0 places, `map('join', d='+')` joined with '', and since
 * the required-argument check `map('replace', old='-', new='+')`, valid Jinja, was refused);
 * attribute= picks an attribute only without a filter's name. Outputs are python3 jinja2 3.1's.
 */
const MAP_KEYWORDS: Array<[string, string]> = [
  ["{{ ['a-b'] | map('replace', old='-', new='+') | list }} {{ ['a-b-c'] | map('replace', '-', new='+', count=1) | list }}", "['a+b'] ['a+b-c']"],
  ["{{ [3.14159] | map('round', precision=2) | list }} {{ [[1, 2]] | map('join', d='+') | list }} {{ [none] | map('default', 'x', boolean=true) | list }}", "[3.14] ['1+2'] ['x']"],
  ["{{ ['abcdefghijkl'] | map('truncate', length=5, leeway=0) | list }} {{ [[1, 2, 3]] | map('batch', linecount=2) | map('list') | list }}", "['ab...'] [[[1, 2], [3]]]"],
  ["{{ [[{'a': 1}, {'a': 2}]] | map('groupby', attribute='a') | map('list') | list }} {{ [[1, 2]] | map(attribute=0) | list }}", "[[(1, [{'a': 1}]), (2, [{'a': 2}])]] [1]"],
];
const MAP_KEYWORDS_REFUSED: Array<[string, RegExp]> = [
  ["{{ ['x'] | map('truncate', lenght=3) | list }}", /filter 'truncate' has no argument 'lenght' — did you mean 'length'\?/],
  ["{{ ['x'] | map('upper', attribute='x') | list }}", /filter 'upper' has no argument 'attribute'/],
];

/**
 * batch and slice as Jinja's run in Python (outputs are python3 jinja2 3.1's): `batch(0)` looped
 * forever (the process ran out of memory), `slice(0)` gave [] where Jinja's is a ZeroDivisionError,
 * a fill_with of 0 or '' was dropped by slice, a string was sliced into strings.
 */
const BATCH_SLICE: Array<[string, string]> = [
  ['{{ [1, 2, 3] | batch(0) | list }} {{ [1, 2, 3] | batch(-1) | list }} {{ [1, 2, 3] | batch(2, 0) | list }}', '[[], [1, 2, 3]] [[1, 2, 3]] [[1, 2], [3, 0]]'],
  ["{{ [1, 2, 3] | slice(2, 0) | list }} {{ [1, 2, 3] | slice(slices=2, fill_with='') | list }} {{ [1, 2, 3] | slice(5, 'x') | list }}", "[[1, 2], [3, 0]] [[1, 2], [3, '']] [[1], [2], [3], ['x'], ['x']]"],
  ["{{ 'abcd' | slice(2) | list }} {{ [1, 2, 3] | slice(-1) | list }} {{ range(7) | slice(3) | list }}", "[['a', 'b'], ['c', 'd']] [] [[0, 1, 2], [3, 4], [5, 6]]"],
];
const BATCH_SLICE_REFUSED: Array<[string, RegExp]> = [
  ['{{ [1, 2, 3] | slice(0) | list }}', /ZeroDivisionError: integer division or modulo by zero/],
  ["{{ [1, 2, 3] | slice('2') | list }}", /'str' object cannot be interpreted as an integer/],
];

/**
 * sort as Python's sorted() orders Jinja's keys (outputs are python3 jinja2 3.1's): lists item by
 * item (was: compared as text, [10] before [9]), several attributes (`attribute='a,b'`, was
 * refused), Python's TypeError for a none or a string among numbers (was: sorted silently).
 */
const SORTED: Array<[string, string]> = [
  ["{{ [[10], [9]] | sort }} {{ [{'a': 2, 'b': 1}, {'a': 1, 'b': 2}, {'a': 1, 'b': 1}] | sort(attribute='a,b') | map(attribute='b') | list }}", '[[9], [10]] [1, 2, 1]'],
  ["{{ [{'a': 1, 'i': 1}, {'a': 1, 'i': 2}, {'a': 0, 'i': 3}] | sort(attribute='a', reverse=true) | map(attribute='i') | list }} {{ ['b', 'A', 'a', 'B'] | sort }} {{ ['b', 'A'] | sort(case_sensitive=true) }}", "[1, 2, 3] ['A', 'a', 'b', 'B'] ['A', 'b']"],
];
const SORT_REFUSED: Array<[string, RegExp]> = [
  ['{{ [none, 1] | sort }}', /'<' not supported between instances of 'int' and 'NoneType'/],
  ["{{ [1, 'a'] | sort }}", /'<' not supported between instances of/],
];

describe('templates: sort as Python sorts', () => {
  for (const fast of [true, false]) {
    it.each(SORTED)(`%s (fast path: ${fast})`, (src, expected) => {
      expect(render(src, fast)).toBe(expected);
    });
    it.each(SORT_REFUSED)(`%s (fast path: ${fast})`, (src, expected) => {
      expect(render(src, fast)).toMatch(new RegExp(`^ERROR .*${expected.source}`));
    });
  }
});

describe('templates: batch and slice as Jinja runs them', () => {
  for (const fast of [true, false]) {
    it.each(BATCH_SLICE)(`%s (fast path: ${fast})`, (src, expected) => {
      expect(render(src, fast)).toBe(expected);
    });
    it.each(BATCH_SLICE_REFUSED)(`%s (fast path: ${fast})`, (src, expected) => {
      expect(render(src, fast)).toMatch(new RegExp(`^ERROR .*${expected.source}`));
    });
  }
});

describe('templates: map passes its keywords to the filter it names', () => {
  for (const fast of [true, false]) {
    it.each(MAP_KEYWORDS)(`%s (fast path: ${fast})`, (src, expected) => {
      expect(render(src, fast)).toBe(expected);
    });
    it.each(MAP_KEYWORDS_REFUSED)(`%s (fast path: ${fast})`, (src, expected) => {
      expect(render(src, fast)).toMatch(new RegExp(`^ERROR .*${expected.source}`));
    });
  }
});

describe('templates: a call Jinja refuses is refused, not rendered as nothing', () => {
  for (const fast of [true, false]) {
    it.each(REFUSED)(`%s (fast path: ${fast})`, (src, expected) => {
      expect(render(src, fast)).toMatch(new RegExp(`^ERROR .*${expected.source}`));
    });
    it.each(KEPT)(`%s (fast path: ${fast})`, (src, expected) => {
      expect(render(src, fast)).toBe(expected);
    });
  }
});

describe('one project, the commands a user runs on it', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeProject({ 'models/events_daily.sql': 'select 1 as n', 'models/reads.sql': "select n from {{ ref('events_daily') }}", 'tests/fixtures/two.csv': 'n\n2\n' });
  });
  afterAll(() => removeDir(dir));
  const withYaml = (extra: string) => writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML + extra);

  /**
   * vigil check said OK to a project whose `vigil serve` then refused to start (exit 2): the
   * upgrade's safe order (docs/upgrading.md) checks before serve is switched over. Each
   * problem serve finds at its start is check's, at its line.
   */
  const SCHEDULES: Array<[string, string, RegExp]> = [
    ['a misspelt command', 'schedules:\n  nightly: { command: biuld, cron: "0 3 * * *" }\n', /project\.yaml:9:\d+: error: schedules\.nightly: unknown command 'biuld' — did you mean 'build'\?/],
    ['a cron out of range', 'schedules:\n  nightly: { command: build, cron: "61 3 * * *" }\n', /project\.yaml:9:\d+: error: schedules\.nightly: cron '61 3 \* \* \*': minute 61 is out of range/],
    ['a misspelt time zone', 'schedules:\n  nightly: { command: build, cron: "0 3 * * *", timezone: Europe/Pari }\n', /project\.yaml:9:\d+: error: schedules\.nightly: unknown time zone 'Europe\/Pari' — did you mean 'Europe\/Paris'\?/],
    ['a key of another command', 'schedules:\n  nightly: { command: build, cron: "0 3 * * *", mode: full }\n', /project\.yaml:9:\d+: error: schedules\.nightly: 'mode' does not go with command build/],
    ['a selector that matches nothing', 'schedules:\n  nightly:\n    command: build\n    cron: "0 3 * * *"\n    select: [events_dayly]\n', /project\.yaml:12:\d+: error: schedules\.nightly: selector 'events_dayly' matched nothing — did you mean 'events_daily'\?/],
    ['an exclude that matches nothing', 'schedules:\n  nightly:\n    command: run\n    cron: "0 3 * * *"\n    exclude: events_dayly\n', /project\.yaml:12:\d+: error: schedules\.nightly: selector 'events_dayly' matched nothing/],
    // what serve's start refuses beyond a selector matching nothing (was: check OK, then serve exit 2)
    ['a selection its command runs nothing of', 'schedules:\n  nightly:\n    command: test\n    cron: "0 3 * * *"\n    select: [events_daily]\n', /project\.yaml:12:\d+: error: schedules\.nightly: .*vigil test runs data and unit tests.*nothing to run/],
    ['a sync job selecting no synced table', 'schedules:\n  copy:\n    command: sync\n    cron: "@hourly"\n    select: [events_daily]\n', /project\.yaml:12:\d+: error: schedules\.copy: no source table it selects has a sync block/],
    ['an alerts job without alert rules', 'schedules:\n  page: { command: alerts }\n', /project\.yaml:9:\d+: error: schedules\.page: no alert rules in alerts\/\*\.yaml/],
    ['serve.listen that is no address', 'serve: { listen: localhost9464 }\n', /project\.yaml:8:\d+: error: serve\.listen 'localhost9464' is not an address/],
  ];
  it.each(SCHEDULES)('vigil check: %s in schedules: is exit 2 at its line', (_what, yaml, expected) => {
    withYaml(yaml);
    const r = vigil(dir, ['check']);
    expect(r.stderr).toMatch(expected);
    expect(r.code).toBe(2);
  });
  /** An empty target value (an env_var() unset, a placeholder left empty) failed at the first statement, exit 1, without its line. */
  const EMPTY_TARGET: Array<[string, string, RegExp]> = [
    ['a DuckDB path', '    type: duckdb\n    path: ""\n', /project\.yaml:6:\d+: error: targets\.x\.path: is empty: name the database file/],
    ['a DuckDB path of spaces', '    type: duckdb\n    path: "  "\n', /project\.yaml:6:\d+: error: targets\.x\.path: is empty/],
    ['a DuckDB schema', '    type: duckdb\n    path: .vigil/x.duckdb\n    schema: ""\n', /project\.yaml:7:\d+: error: targets\.x\.schema: is empty: name the schema/],
    ['a Postgres schema', '    type: postgres\n    url: postgres://u@127.0.0.1:5432/db\n    schema: "{{ env_var(\'H170_UNSET_SCHEMA\', \'\') }}"\n', /project\.yaml:7:\d+: error: targets\.x\.schema: is empty: name the schema/],
  ];
  it.each(EMPTY_TARGET)('vigil compile: %s given empty is exit 2 at its line', (_what, target, expected) => {
    writeFileSync(join(dir, 'project.yaml'), `name: fixture\ndefault_target: x\ntargets:\n  x:\n${target}`);
    const r = vigil(dir, ['compile']);
    expect(r.stderr).toMatch(expected);
    expect(r.code).toBe(2);
  });

  /** A source's sync.from: a misspelt target passed compile and check (vigil sync refused it), and one no table reads did nothing. */
  const APP = '  app: { type: postgres, url: "postgres://u@127.0.0.1:5432/db", schema: app }\n';
  const SYNC_FROM: Array<[string, string, RegExp]> = [
    ['a sync.from naming no target', 'sources:\n  - name: raw\n    sync: { from: ap }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n        columns: [{ name: id, data_type: bigint }, { name: created_at, data_type: timestamptz }]\n', /models\/sources\.yml:3:\d+: error: source 'raw': sync\.from 'ap' is not a target in project\.yaml — did you mean 'app'\?/],
    ['a sync.from no table reads', 'sources:\n  - name: raw\n    sync: { from: app }\n    tables:\n      - name: events\n        columns: [{ name: id, data_type: bigint }, { name: created_at, data_type: timestamptz }]\n', /models\/sources\.yml:3:\d+: error: source 'raw': sync: \{ from: app \} is read by no table: none has a sync block/],
  ];
  it.each(SYNC_FROM)('vigil check: %s is exit 2 at its line', (_what, sources, expected) => {
    writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML + APP);
    writeFileSync(join(dir, 'models/sources.yml'), sources);
    try {
      const r = vigil(dir, ['check']);
      expect(r.stderr).toMatch(expected);
      expect(r.code).toBe(2);
    } finally {
      writeFileSync(join(dir, 'models/sources.yml'), 'sources: []\n');
    }
  });

  /** A unit test's givens: rows one of two ways were dropped without a word, the test passing or failing on the others. */
  const ut = (given: string) => `unit_tests:\n  - name: t\n    model: reads\n    given:\n${given}    expect: { rows: [{ n: 2 }] }\n`;
  const GIVENS: Array<[string, string, RegExp]> = [
    ['one input given twice', "      - { input: \"ref('events_daily')\", rows: [{ n: 1 }] }\n      - { input: \"ref('events_daily')\", rows: [{ n: 2 }] }\n", /models\/ut\.yml:6:\d+: error: given ref\('events_daily'\) is given twice \(also at line 5\): the test would read only one of them/],
    ['format: csv beside a list of rows', "      - { input: \"ref('events_daily')\", format: csv, rows: [{ n: 2 }] }\n", /models\/ut\.yml:5:\d+: error: given ref\('events_daily'\): format: csv reads rows as CSV text, but these rows are a list of mappings/],
  ];
  it.each(GIVENS)('vigil test --unit: %s is exit 2 at its line', (_what, given, expected) => {
    writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML);
    writeFileSync(join(dir, 'models/ut.yml'), ut(given));
    try {
      const r = vigil(dir, ['test', '--unit']);
      expect(r.stderr + r.stdout).toMatch(expected);
      expect(r.code).toBe(2);
    } finally {
      writeFileSync(join(dir, 'models/ut.yml'), 'unit_tests: []\n');
    }
  });
  it('vigil test --unit: the givens written once each pass', () => {
    writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML);
    for (const given of ["      - { input: \"ref('events_daily')\", fixture: two }\n", "      - { input: \"ref('events_daily')\", format: csv, rows: \"n\\n2\" }\n"]) {
      writeFileSync(join(dir, 'models/ut.yml'), ut(given));
      const r = vigil(dir, ['test', '--unit']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    writeFileSync(join(dir, 'models/ut.yml'), 'unit_tests: []\n');
  });

  // (was: exit 0, the model built with var('min_events', 0)'s default, project.yaml's 5 doing nothing)
  it("vigil compile: a project.yaml var no template reads, near one read with its default, is exit 2 at its key", () => {
    const model = join(dir, 'models/reads_var.sql');
    writeFileSync(model, "select {{ var('min_events', 0) }} as n, {{ var('on', 0) }} as o{% set name = 'lim' ~ 'it' %}, {{ var(name) }} as l");
    try {
      writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML + 'vars:\n  limit: 10\n  min_event: 5\n');
      const typo = vigil(dir, ['compile']);
      expect(typo.stderr).toMatch(/project\.yaml:10:\d+: error: vars: 'min_event' is read by no model, macro, test, snapshot or hook — did you mean 'min_events'\? \(it is read with its default\)/);
      expect(typo.code).toBe(2);
      // (limit, read under a computed name, is no mistake; nor a key no read name is near, nor a short one: ok is no typo of on)
      writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML + 'vars:\n  limit: 10\n  min_events: 5\n  spare_setting: 1\n  ok: 1\n');
      const ok = vigil(dir, ['compile']);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
    } finally {
      rmSync(model);
    }
  });

  // (was: exit 2, 'region_eu is read by no ... hook — did you mean region_us?', on a project that
  // compiled before: the hook reads it as var('region_' ~ r), and renaming it as told broke the hook)
  it('vigil compile: a project.yaml var a hook may read under a computed name is a warning, not an error', () => {
    const model = join(dir, 'models/reads_region.sql');
    writeFileSync(model, "select '{{ var('region_us', 'us-east-1') }}' as region");
    try {
      writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML + 'vars:\n  region_eu: eu-west-1\non_run_start:\n  - "{% for r in [\'eu\'] %}select \'{{ var(\'region_\' ~ r) }}\'{% endfor %}"\n');
      const r = vigil(dir, ['compile']);
      expect(r.stderr).toMatch(/project\.yaml:9:\d+: warning: vars: 'region_eu' is named by no template, and a name near it, 'region_us', is read with its default: a typo\? \(a hook, query, alert or dashboard template reads a var under a computed name/);
      expect(r.code).toBe(0);
    } finally {
      rmSync(model);
    }
  });

  it('vigil check: schedules serve would run are OK', () => {
    withYaml('serve: { listen: 9464 }\nschedules:\n  nightly: { command: build, cron: "0 3 * * *", select: [events_daily], timezone: Europe/Paris }\n  hourly: { command: test, cron: "@hourly" }\n');
    const r = vigil(dir, ['check']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('alerts route-test names a label no rule produces', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeProject({
      'models/counts.sql': "select 'chat' as capability, 11 as n",
      'alerts/counts.yaml': COUNTS_ALERT,
      'alerts/routes.yaml': 'receivers:\n  - name: default\n  - name: oncall\n    slack: { webhook_url_env: H170_UNSET_HOOK }\nroute:\n  receiver: default\n  routes:\n    - matchers: [capability="chat"]\n      receiver: oncall\n',
    });
  });
  afterAll(() => removeDir(dir));

  // (routed as given, as amtool routes any labels; was: `-> default` alone, the misspelt name unsaid)
  it('a misspelt label is a warning with the nearest name, the labels routed as given', () => {
    const r = vigil(dir, ['alerts', 'route-test', 'capabilty=chat']);
    expect(r.stderr).toMatch(/warning: no alert has a label 'capabilty' — did you mean 'capability'\? \(labels: .*\): routing the labels as given/);
    expect(r.stdout).toMatch(/^-> default /m);
  });
  // (was: exit 1, the test failing as a mismatch, 'expected a trigger to oncal ... queued: trigger to oncall')
  it('alerts test: a notification expected at a receiver routes.yaml has not is exit 2 at its line, with the nearest one', () => {
    const test = (receiver: string) => `tests:\n  - name: t\n    alert: many\n    given:\n      ref('counts'):\n        - { capability: chat, n: 11 }\n    evaluations:\n      - at: 2026-03-10T12:00:00Z\n        notifications:\n          - { receiver: ${receiver}, action: trigger, labels: { capability: chat } }\n`;
    mkdirSync(join(dir, 'alerts/tests'), { recursive: true });
    try {
      writeFileSync(join(dir, 'alerts/tests/t.yaml'), test('oncal'));
      const typo = vigil(dir, ['alerts', 'test']);
      expect(typo.stderr).toMatch(/alerts\/tests\/t\.yaml:10:\d+: error: test 't': receiver 'oncal' is not in alerts\/routes\.yaml — did you mean 'oncall'\?/);
      expect(typo.code).toBe(2);
      writeFileSync(join(dir, 'alerts/tests/t.yaml'), test('oncall'));
      const ok = vigil(dir, ['alerts', 'test']);
      expect(ok.stdout + ok.stderr).toMatch(/1 passed/);
      expect(ok.code).toBe(0);
    } finally {
      rmSync(join(dir, 'alerts/tests'), { recursive: true, force: true });
    }
  });
  it('the labels the rules produce route without a warning', () => {
    const r = vigil(dir, ['alerts', 'route-test', 'capability=chat', 'severity=critical']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^-> oncall /m);
    expect(r.code).toBe(0);
  });
});
