/**
 * End to end: the `vigil` CLI run as a user would on temp projects, with the resulting
 * DuckDB file queried afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { buildProgram } from '../../src/cli/program.js';
import { BASIC_PROJECT_YAML, makeProject, removeDir, REPO, VIGIL, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

async function query<T extends Record<string, unknown>>(dir: string, sql: string, path = '.vigil/dev.duckdb'): Promise<T[]> {
  const db = await DuckDbAdapter.open({ type: 'duckdb', path, schema: 'analytics' }, dir, 1);
  try {
    return await db.query<T>(sql);
  } finally {
    await db.close();
  }
}

describe('the command line defined for one command', () => {
  it('defines the command asked for exactly as the whole command line does (its help, options and subcommands), and the others by name', () => {
    type C = ReturnType<typeof buildProgram>;
    const all = buildProgram([]);
    const helps = (c: C): string[] => [c.helpInformation(), ...c.commands.flatMap(helps)];
    for (const c of all.commands) {
      for (const argv of [[c.name()], ['--project-dir', 'x', c.name(), '-s', 'y']]) {
        const one = buildProgram(['node', 'vigil', ...argv]);
        expect(one.commands.map((x) => x.name())).toEqual(all.commands.map((x) => x.name()));
        expect(helps(one.commands.find((x) => x.name() === c.name())!), argv.join(' ')).toEqual(helps(c));
        // (the others: name and description only)
        const other = one.commands.find((x) => x.name() !== c.name())!;
        expect(other.options.length + other.commands.length).toBe(0);
      }
    }
    // help, or no command named: all of them
    for (const argv of [['--help'], ['ls', '-h'], ['help', 'ls'], []]) expect(helps(buildProgram(['node', 'vigil', ...argv]))).toEqual(helps(all));
  });
});

describe('vigil --version', () => {
  it('prints the package version, with -V too, with or without other flags (the fast path and the command line agree)', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    for (const args of [['--version'], ['-V'], ['--version', '--project-dir', '.']]) {
      const r = vigil(REPO, args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
  });
});

describe('an option value outside its choices', () => {
  it('a selector too long for a regular expression (40,000 characters): exit 2 naming it, in every command that takes -s (was: internal error, exit 3, a stack trace)', () => {
    const dir = makeProject({}, false);
    try {
      for (const p of ['project.yaml', 'models', 'macros', 'tests', 'alerts', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
      const long = 'a'.repeat(40_000);
      for (const args of [['ls'], ['run'], ['alerts', 'test'], ['dashboards', 'export', '--format', 'json', '--out', 'out']]) {
        const r = vigil(dir, [...args, '-s', long]);
        expect(r.code, args.join(' ') + r.stderr.slice(0, 300)).toBe(2);
        expect(r.stderr).toContain(`'${'a'.repeat(60)}…' is too long to match (40000 characters)`);
        expect(r.stderr).not.toContain('internal error');
      }
      // a glob that fits still selects
      expect(vigil(dir, ['ls', '-s', 'ai_audit_dail*', '--resource-type', 'model']).stdout.trim()).toBe('ai_audit_daily');
    } finally {
      removeDir(dir);
    }
  });

  it('names the nearest choice, on the program and on subcommands; exit 2, nothing run', () => {
    const dir = makeProject({});
    try {
      const demo = vigil(dir, ['demo', '--scenario', 'compliance_rde']);
      expect(demo.code).toBe(2);
      expect(demo.stderr).toContain("argument 'compliance_rde' is invalid. Allowed choices are normal, spike, drop, errors, new_capability, compliance_red, pii_leak. Did you mean 'compliance_red'?");
      expect(existsSync(join(dir, '.vigil', 'dev.duckdb'))).toBe(false);
      const sync = vigil(dir, ['sync', '--mode', 'dleta']);
      expect(sync.code).toBe(2);
      expect(sync.stderr).toContain("Allowed choices are delta, full. Did you mean 'delta'?");
      // nothing near: the list alone
      const far = vigil(dir, ['demo', '--scenario', 'zzzzzz']);
      expect(far.stderr).toContain('Allowed choices are normal, spike, drop, errors, new_capability, compliance_red, pii_leak.\n');
    } finally {
      removeDir(dir);
    }
  });

  it("a selection of nodes the command does not run is an error naming them; an intersection that selects nothing too; a model's tests by type, as dbt selects them", () => {
    const dir = makeProject({ 'seeds/countries.csv': 'code\nfr\n', 'seeds/countries.yml': 'seeds:\n  - name: countries\n    columns:\n      - name: code\n        tests: [unique]\n', 'models/m.sql': "select code from {{ ref('countries') }}", 'models/m.yml': 'models:\n  - name: m\n    columns:\n      - name: code\n        tests: [not_null]\n' });
    try {
      const seed = vigil(dir, ['seed', '-s', 'm']);
      expect(seed.code).toBe(2);
      expect(seed.stderr).toContain('the selection selects 1 model (m), and vigil seed runs seeds: nothing to run');
      const run = vigil(dir, ['run', '-s', 'countries']);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('the selection selects 1 seed (countries), and vigil run runs models');
      expect(vigil(dir, ['seed', '-s', 'm', '--allow-empty']).code).toBe(0);
      expect(vigil(dir, ['build']).code).toBe(0);
      const none = vigil(dir, ['test', '-s', 'm,test_type:unique']);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain("selector 'm,test_type:unique' matched nothing (each part selects something, together nothing)");
      const typed = vigil(dir, ['test', '-s', 'm,test_type:not_null']);
      expect(typed.code, typed.stderr).toBe(0);
      expect(typed.stdout).toMatch(/PASS not_null_m_code/);
      expect(typed.stdout).toMatch(/TOTAL=1\b/);
      // ls and compile's count take the tests of what is selected, as vigil test runs them (were: none)
      const lsTests = vigil(dir, ['ls', '-s', 'm', '--resource-type', 'test']);
      expect(lsTests.stdout.trim()).toBe('not_null_m_code');
      // (and no more: the seed and its test are not selected)
      expect(vigil(dir, ['compile', '-s', 'm']).stdout).toContain('Compiled 1 model, 1 test for target');
      // a selection --exclude empties: an error naming both (was: "Nothing to do", exit 0)
      for (const [cmd, name] of [['run', 'm'], ['test', 'countries']]) {
        const ex = vigil(dir, [cmd, '-s', name, '--exclude', name]);
        expect(ex.code, ex.stdout + ex.stderr).toBe(2);
        expect(ex.stderr).toContain(`selector '${name}' selects only what --exclude '${name}' excludes`);
        expect(ex.stderr).not.toContain('Nothing to do');
        const allowed = vigil(dir, [cmd, '-s', name, '--exclude', name, '--allow-empty']);
        expect(allowed.code, allowed.stderr).toBe(0);
      }
    } finally {
      removeDir(dir);
    }
  });

  it("an --exclude that takes all the command would run, with no -s, is an error naming it, as with -s (was: \"Nothing to do\" or nothing listed, exit 0); a project with none of what the command runs is not", () => {
    const dir = makeProject({ 'seeds/countries.csv': 'code\nfr\n', 'models/m.sql': "select code from {{ ref('countries') }}", 'models/m.yml': 'models:\n  - name: m\n    columns:\n      - name: code\n        tests: [not_null]\n' });
    const bare = makeProject({ 'models/m.sql': 'select 1 as code', 'models/n.sql': 'select 2 as code' });
    try {
      const ls = vigil(dir, ['ls', '--exclude', '*']);
      expect(ls.code, ls.stdout + ls.stderr).toBe(2);
      expect(ls.stderr).toContain("--exclude '*' excludes every node of the project: nothing is left to select");
      const build = vigil(dir, ['build', '--exclude', 'package:fixture']);
      expect(build.code, build.stdout + build.stderr).toBe(2);
      expect(build.stderr).toContain("--exclude 'package:fixture' excludes all vigil build would run of the project (1 model (m), 1 seed (countries), 1 test (not_null_m_code)): nothing to run");
      const seed = vigil(dir, ['seed', '--exclude', 'resource_type:seed']);
      expect(seed.code, seed.stdout + seed.stderr).toBe(2);
      expect(seed.stderr).toContain("--exclude 'resource_type:seed' excludes all vigil seed would run of the project (1 seed (countries)): nothing to run");
      const test = vigil(dir, ['test', '--exclude', 'resource_type:test']);
      expect(test.code, test.stdout + test.stderr).toBe(2);
      expect(test.stderr).toContain("--exclude 'resource_type:test' excludes all vigil test would run of the project (1 test (not_null_m_code)): nothing to run");
      // with -s too: the --exclude is named
      const sel = vigil(dir, ['seed', '-s', '*', '--exclude', 'resource_type:seed']);
      expect(sel.code, sel.stdout + sel.stderr).toBe(2);
      expect(sel.stderr).toContain("--exclude 'resource_type:seed' excludes all vigil seed would run of the selection (1 seed (countries))");
      for (const args of [['seed', '--exclude', 'resource_type:seed'], ['ls', '--exclude', '*']]) expect(vigil(dir, [...args, '--allow-empty']).code).toBe(0);
      expect(vigil(dir, ['ls', '--exclude', 'resource_type:seed']).code).toBe(0);
      // a project without seeds: nothing to do, exit 0, with an --exclude or without (as dbt)
      // (R12: also when the --exclude takes every node of the project: the command had nothing anyway)
      for (const args of [['seed'], ['seed', '--exclude', 'm'], ['seed', '--exclude', '*']]) {
        const r = vigil(bare, args);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toMatch(/Nothing to do: (the (project|selection) (has|holds) no seeds|no nodes match the selection)\./);
      }
    } finally {
      removeDir(dir);
      removeDir(bare);
    }
  });

  it("a state: selection with an --exclude that takes all it selects has nothing to do, exit 0, as a state: selection that selects nothing (R12: a CI step `build -s state:modified+ --exclude tag:slow` whose change touched only slow models exited 2)", () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id', 'models/b.sql': "{{ config(tags=['slow']) }}\nselect id from {{ ref('a') }}", 'models/c.sql': 'select 3 as id' });
    try {
      expect(vigil(dir, ['compile']).code).toBe(0);
      cpSync(join(dir, 'target'), join(dir, 'prod'), { recursive: true });
      writeFileSync(join(dir, 'models/b.sql'), "{{ config(tags=['slow']) }}\nselect id + 1 as id from {{ ref('a') }}");
      const r = vigil(dir, ['build', '-s', 'state:modified+', '--exclude', 'tag:slow', '--state', 'prod']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Nothing to do/);
      // (not a state: selection: the mistake it was)
      const plain = vigil(dir, ['build', '-s', 'b', '--exclude', 'tag:slow']);
      expect(plain.code, plain.stdout + plain.stderr).toBe(2);
    } finally {
      removeDir(dir);
    }
  });

  it('vigil build of a selection it runs nothing of (an ephemeral model, a source without tests) is an error naming it, as for run, seed, snapshot and test (was: "Nothing to do", exit 0)', () => {
    const dir = makeProject({
      'models/stg_eph.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id",
      'models/m.sql': "select id from {{ ref('stg_eph') }}",
      'models/sources.yml': 'sources:\n  - name: raw\n    schema: analytics\n    tables:\n      - name: other\n',
    });
    try {
      for (const [sel, what] of [['stg_eph', '1 model (stg_eph)'], ['raw.other', '1 source (raw.other)']]) {
        const r = vigil(dir, ['build', '-s', sel]);
        expect(r.code, r.stdout + r.stderr).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain(`the selection selects ${what}, and vigil build runs seeds, models (not ephemeral ones), snapshots and tests: nothing to run`);
        const allowed = vigil(dir, ['build', '-s', sel, '--allow-empty']);
        expect(allowed.code, allowed.stderr).toBe(0);
        expect(allowed.stdout).toContain('Nothing to do: the selection holds no seeds, models (other than ephemeral ones), snapshots or tests.');
      }
    } finally {
      removeDir(dir);
    }
  });

  it('a project without what the command runs, no selection: exit 0 as dbt, saying so (was: "no nodes match the selection", with none given)', () => {
    const dir = makeProject({ 'models/m.sql': 'select 1 as id' });
    try {
      // (test --unit / --data: what they chose, was "no data or unit tests")
      for (const [cmd, what] of [['test', 'data or unit tests'], ['test --unit', 'unit tests (--unit)'], ['test --data', 'data tests (--data)'], ['seed', 'seeds'], ['snapshot', 'snapshots']]) {
        const r = vigil(dir, cmd.split(' '));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`Nothing to do: the project has no ${what}.`);
      }
    } finally {
      removeDir(dir);
    }
  });

  it('a command cut short names the one it starts (vigil source fresh, vigil docs gen: was no did-you-mean, commander guesses by edit distance only); two it starts: no guess of it', () => {
    const dir = makeProject({});
    try {
      for (const [args, said] of [
        [['source', 'fresh'], "error: unknown command 'fresh'\n(Did you mean freshness?)"],
        [['docs', 'gen'], "error: unknown command 'gen'\n(Did you mean generate?)"],
        [['dashboards', 'rend'], "error: unknown command 'rend'\n(Did you mean render?)"],
        [['comp'], "error: unknown command 'comp'\n(Did you mean compile?)"],
        // (commander's own guess kept: no second one)
        [['alerts', 'evalute'], "error: unknown command 'evalute'\n(Did you mean evaluate?)\n(run"],
        // silence and silences: no guess
        [['alerts', 'sil'], "error: unknown command 'sil'\n(run"],
      ] as const) {
        const r = vigil(dir, [...args]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toContain(said);
      }
    } finally {
      removeDir(dir);
    }
  });

  it("what a dbt user types is refused with Vigil's spelling (exit 2, nothing run)", () => {
    const dir = makeProject({});
    try {
      for (const [args, said] of [
        [['run', '-m', 'stg_x'], "unknown option '-m' (dbt's -m/--models is -s/--select here)"],
        [['build', '--models', 'stg_x'], "unknown option '--models' (dbt's -m/--models is -s/--select here)"],
        [['build', '--models=stg_x'], "unknown option '--models=stg_x' (dbt's -m/--models is -s/--select here)"],
        [['list'], "unknown command 'list' (dbt's list is vigil ls)"],
        [['run-operation', 'grant_all'], "unknown command 'run-operation' (Vigil has no run-operation: put the statement in a hook"],
        [['test', '--store-failures'], "unknown option '--store-failures' (Vigil has no --store-failures flag: give the tests store_failures: true (or store_failures_as: table|view) in their YAML or config(); vigil show -s <test> prints a failing test's rows)"],
        [['build', '--warn-error'], "unknown option '--warn-error' (Vigil has no --warn-error: a failing test of severity: warn prints WARN and exits 0; a test that must fail the run takes severity: error (the default))"],
        [['--warn-error', 'test'], "unknown option '--warn-error' (Vigil has no --warn-error:"],
        [['test', '--warn-error-options', '{error: all}'], "unknown option '--warn-error-options' (Vigil has no --warn-error-options:"],
        [['build', '-x'], "unknown option '-x' (dbt's -x is --fail-fast here)"],
        [['demo', '--vars', '{a: 1}'], 'vigil demo compiles no model, so --vars would change nothing'],
        [['debug', '--vars', '{a: 1}'], 'vigil debug compiles no model, so --vars would change nothing'],
        [['show', '--inline', 'select 1 as a', '--limit', '99999999999999999999'], 'vigil show prints at most 1,000,000 rows'],
        [['seed', '--full-refresh'], "unknown option '--full-refresh' (vigil seed reloads every seed in full each time"],
        // (was: the seed hint on every command)
        [['retry', '--full-refresh'], "unknown option '--full-refresh' (vigil retry re-uses the --full-refresh of the run it retries, when that run had it)"],
        [['test', '--full-refresh'], "unknown option '--full-refresh' (vigil test takes no --full-refresh: it goes with run and build (incremental models) and sync)"],
        [['alerts', 'test', '--full-refresh'], "unknown option '--full-refresh' (vigil alerts test takes no --full-refresh: it goes with run and build"],
        [['deps'], "unknown command 'deps' (Vigil has no packages"],
        // (was: commander's "Did you mean --select?", which takes the YAML selector's name for a node's; ls and build take --selector now)
        [['alerts', 'evaluate', '--selector', 'nightly'], "unknown option '--selector' (vigil alerts evaluate takes no --selector: YAML selectors (selectors.yml) go with the commands that take -s for nodes: compile, check, seed, snapshot, run, test, build, ls, show, source freshness, sync, retention)\n"],
        [['retry', '--selector=nightly'], "unknown option '--selector=nightly' (vigil retry takes no --selector: YAML selectors (selectors.yml) go with"],
        // a flag of the command given a value (was: "vigil run takes no --full-refresh: it goes with run and build")
        [['run', '--full-refresh=true'], "unknown option '--full-refresh=true' (--full-refresh takes no value: give --full-refresh alone)\n"],
        [['build', '--fail-fast=yes'], "unknown option '--fail-fast=yes' (--fail-fast takes no value: give --fail-fast alone)\n"],
        [['sync', '--full-refresh=1'], "unknown option '--full-refresh=1' (--full-refresh takes no value: give --full-refresh alone)\n"],
        [['test', '--full-refresh=true'], "unknown option '--full-refresh=true' (vigil test takes no --full-refresh: it goes with run and build"],
        // -x only where --fail-fast is (was: the hint on ls, which has none)
        [['ls', '-x'], "error: unknown option '-x'\n"],
        [['help', 'biuld'], "unknown command 'biuld' — did you mean 'build'?"],
        // in a group, either way round (was: the group's help, exit 2, no name meant)
        [['alerts', 'help', 'evalute'], "error: unknown command 'evalute' — did you mean 'evaluate'? (vigil alerts --help lists the commands)\n"],
        [['docs', 'help', 'serv'], "error: unknown command 'serv' — did you mean 'serve'? (vigil docs --help lists the commands)\n"],
        [['help', 'alerts', 'evalute'], "error: unknown command 'evalute' — did you mean 'evaluate'? (vigil alerts --help lists the commands)\n"],
      ] as const) {
        const r = vigil(dir, [...args]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toContain(said);
      }
      expect(existsSync(join(dir, 'target'))).toBe(false);
      // demo and debug offer no --vars (was: listed in their --help, then always refused), and it is not guessed as --days
      for (const c of ['demo', 'debug']) {
        const help = vigil(dir, [c, '--help']);
        expect(help.code).toBe(0);
        expect(help.stdout).toContain('--target');
        expect(help.stdout).not.toContain('--vars');
        expect(vigil(dir, [c, '--vars', '{a: 1}']).stderr).not.toContain('Did you mean');
      }
      expect(vigil(dir, ['seed', '--full-refresh']).stderr).not.toContain('vigil seed takes no');
      // an option dbt does not have either: the nearest of Vigil's, as before
      expect(vigil(dir, ['run', '--selec', 'x']).stderr).toContain('(Did you mean --select?)');
      expect(vigil(dir, ['alerts', 'evaluate', '--selector', 'x']).stderr).not.toContain('Did you mean');
    } finally {
      removeDir(dir);
    }
  });
});

describe("selection as dbt's", () => {
  it("a selectors.yml's default selector is used by a command without -s, and said (was: the file not read, a warning said so; before that ignored without a word); a selector that cannot be used is warned of; config.meta.<key>; resource_type: of a type dbt has and Vigil has not, or of none", () => {
    const dir = makeProject({
      'models/m.sql': "{{ config(meta={'owner': 'alice'}) }}\nselect 1 as id",
      'models/other.sql': 'select 2 as id',
      'selectors.yml': 'selectors:\n  - name: nightly\n    definition: "tag:nightly"\n  - name: everyday\n    default: true\n    definition: "m"\n',
    });
    try {
      const said = "using the default selector 'everyday' from selectors.yml (give -s, --exclude or --selector to select otherwise)\n";
      for (const args of [['ls'], ['ls'], ['compile']]) {
        const r = vigil(dir, args);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr.startsWith(said), r.stderr).toBe(true);
        if (args[0] === 'ls') expect(r.stdout.trim()).toBe('m');
      }
      // a selector that cannot be used: said at its line by every command; gone: nothing said (the ls snapshot stamps it)
      writeFileSync(join(dir, 'selectors.yml'), 'selectors:\n  - name: nightly\n    definition: "tag:nightly tag:daily"\n');
      expect(vigil(dir, ['ls']).stderr).toContain("selectors.yml:3:17: warning: 'tag:nightly tag:daily' is more than one selector: a definition string is one, as in dbt (--selector refuses what this concerns until it is fixed) [W_SELECTORS]");
      rmSync(join(dir, 'selectors.yml'));
      const clean = vigil(dir, ['ls']);
      expect(clean.stderr).toBe('');
      expect(clean.stdout.trim()).toBe('m\nother');

      expect(vigil(dir, ['ls', '-s', 'config.meta.owner:alice']).stdout.trim()).toBe('m');
      const bogus = vigil(dir, ['ls', '-s', 'resource_type:bogus', '--allow-empty']);
      expect(bogus.code).toBe(2);
      expect(bogus.stderr).toContain("error: selector 'resource_type:bogus': unknown resource type 'bogus' (resource types: model, seed, snapshot, test, unit_test, source, exposure)");
      const analysis = vigil(dir, ['ls', '-s', 'resource_type:analysis']);
      expect(analysis.code).toBe(2);
      expect(analysis.stderr).toContain("error: selector 'resource_type:analysis' matched nothing: Vigil has no analysis nodes");
      const allowed = vigil(dir, ['ls', '-s', 'resource_type:analysis', '--allow-empty']);
      expect(allowed.code).toBe(0);
      expect(allowed.stderr).toContain("warning: selector 'resource_type:analysis' matched nothing: Vigil has no analysis nodes");
    } finally {
      removeDir(dir);
    }
  });
});

describe('a selector that matches nothing, given more than once', () => {
  it("is said once (was: once per time it was given; build --watch -s said it once per intersection with each change, three times a round)", () => {
    const dir = makeProject({ 'models/m.sql': 'select 1 as id' });
    try {
      const r = vigil(dir, ['ls', '-s', 'nope nope', '-s', 'nope']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe("error: selector 'nope' matched nothing\n(nothing was run; pass --allow-empty to go on when a selector selects nothing)\n");
      const allowed = vigil(dir, ['ls', '-s', 'mm m,mm', '--allow-empty']);
      expect(allowed.code).toBe(0);
      expect(allowed.stderr.match(/matched nothing/g)).toHaveLength(1);
      expect(allowed.stderr).toContain("warning: selector 'mm' matched nothing — did you mean 'm'?");
    } finally {
      removeDir(dir);
    }
  });
});

describe('vigil compile says what it compiled', () => {
  it("counts what the selection selects, each resource type compiled: snapshots, unit tests, seeds, sources and dashboards of the selection (was: a selected snapshot not counted, every source and dashboard counted)", () => {
    const dir = makeProject({
      'seeds/countries.csv': 'code\nfr\n',
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: users\n',
      'models/m.sql': "select code from {{ ref('countries') }}",
      'models/m.yml': 'models:\n  - name: m\n    columns:\n      - name: code\n        tests: [not_null]\nunit_tests:\n  - name: m_keeps_codes\n    model: m\n    given:\n      - input: ref(\'countries\')\n        rows: [{code: fr}]\n    expect:\n      rows: [{code: fr}]\n',
      'snapshots/snap.sql': "{% snapshot users_snap %}\n{{ config(unique_key='code', strategy='check', check_cols='all') }}\nselect * from {{ ref('m') }}\n{% endsnapshot %}\n",
      'dashboards/d.json': JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'n', type: 'kpi', title: 'N', model: 'm', measures: [{ name: 'n', column: 'code', agg: 'count' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] }),
    });
    try {
      const all = vigil(dir, ['compile']);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).toContain('Compiled 1 model, 1 test, 1 unit test, 1 seed, 1 snapshot, 1 source, 1 dashboard for target dev');
      const snap = vigil(dir, ['compile', '-s', 'users_snap']);
      expect(snap.code, snap.stderr).toBe(0);
      expect(snap.stdout).toContain('Compiled 0 models, 0 tests, 1 snapshot for target dev');
      expect(vigil(dir, ['compile', '-s', 'm']).stdout).toContain('Compiled 1 model, 1 test, 1 unit test for target dev');
      expect(vigil(dir, ['compile', '-s', 'source:raw']).stdout).toContain('Compiled 0 models, 0 tests, 1 source for target dev');
    } finally {
      removeDir(dir);
    }
  });
});

describe('a did-you-mean for a mistyped value', () => {
  it("a selector's config value the project has no node with yet, a snapshot's strategy and check_cols (were: no hint, and \"Invalid input\")", () => {
    const dir = makeProject({ 'models/m.sql': 'select 1 as id' });
    try {
      const typo = vigil(dir, ['ls', '-s', 'config.materialized:tabel']);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain("selector 'config.materialized:tabel' matched nothing — did you mean 'config.materialized:table'?");
      // a value the config takes, that no node has: nothing nearer to offer (not itself)
      const none = vigil(dir, ['ls', '-s', 'config.materialized:table']);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain("selector 'config.materialized:table' matched nothing\n");
      writeFileSync(join(dir, 'models/snap.yml'), "snapshots:\n  - name: s\n    relation: ref('m')\n    config: { unique_key: id, strategy: timestmp, updated_at: id }\n");
      mkdirSync(join(dir, 'snapshots'));
      writeFileSync(join(dir, 'snapshots/s.sql'), "{% snapshot s2 %}\n{{ config(unique_key='id', strategy='check', check_cols='al') }}\nselect 1 as id\n{% endsnapshot %}\n{% snapshot s3 %}\n{{ config(unique_key='id', strategy='check', check_cols='id') }}\nselect 1 as id\n{% endsnapshot %}\n");
      const r = vigil(dir, ['compile']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("models/snap.yml:4:41: error: snapshot 's': strategy: 'timestmp' is not one of 'timestamp', 'check' — did you mean 'timestamp'? [E_CONFIG]");
      expect(r.stderr).toContain("snapshots/s.sql:2:46: error: snapshot 's2': check_cols: 'al' is not one of 'all' — did you mean 'all'? [E_CONFIG]");
      expect(r.stderr).toContain("snapshots/s.sql:6:46: error: snapshot 's3': check_cols: 'id' is not one of 'all' [E_CONFIG]\n  hint: check_cols='all', or a list of columns: check_cols=['id']");
      expect(r.stderr).not.toContain('Invalid');
    } finally {
      removeDir(dir);
    }
  });
});

describe('vars a dbt user writes as YAML 1.1', () => {
  it("a --vars key named like an alert rule's or a dashboard tile's column is no read of it: refused with the did-you-mean (was: exit 0, the rule's query built with the default); one their templates read is", () => {
    const dir = makeProject({
      'models/m.sql': 'select 1 as workspace, 2 as n',
      'alerts/a.yaml': "alerts:\n  - name: many\n    severity: warning\n    query: select workspace, n from {{ ref('m') }} where n > {{ var('min_n', 0) }}\n    group_by: [workspace]\n    condition: { type: threshold, column: n, op: '>', value: 1 }\n",
      'dashboards/d.json': JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'k', type: 'kpi', title: 'K', model: 'm', measures: [{ column: 'n', agg: 'sum', label: 'N' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] }),
    });
    try {
      for (const k of ['workspace', 'n']) {
        const r = vigil(dir, ['compile', '--vars', `{${k}: 1}`]);
        expect(r.code, k + r.stdout + r.stderr).toBe(2);
        expect(r.stderr).toContain(`--vars: '${k}' is read by no model`);
      }
      const typo = vigil(dir, ['compile', '--vars', '{min_m: 1}']);
      expect(typo.stderr).toContain("did you mean 'min_n'?");
      expect(vigil(dir, ['compile', '--vars', '{min_n: 1}']).code).toBe(0);
    } finally {
      removeDir(dir);
    }
  });

  it("an empty or blank --vars (an unset variable) is refused as --vars null is, exit 2 (was: accepted, every var its default); '{}' is no vars", () => {
    const dir = makeProject({ 'models/m.sql': "select {{ var('n', 0) }} as n" });
    try {
      for (const [vars, said] of [
        ['', "error: --vars is empty: give a mapping, e.g. --vars '{anomaly_spike_ratio: 2}' ('{}' for none)"],
        ['  ', "error: --vars is only spaces: give a mapping, e.g. --vars '{anomaly_spike_ratio: 2}' ('{}' for none)"],
        ['null', "error: --vars must be a mapping, e.g. --vars '{anomaly_spike_ratio: 2}'"],
      ] as const) {
        for (const command of ['compile', 'show']) {
          const r = vigil(dir, command === 'show' ? ['show', '-s', 'm', '--vars', vars] : [command, '--vars', vars]);
          expect(r.code, `${command} --vars '${vars}'`).toBe(2);
          expect(r.stderr).toBe(`${said}\n`);
        }
      }
      expect(vigil(dir, ['compile', '--vars', '{}']).code).toBe(0);
    } finally {
      removeDir(dir);
    }
  });

  it("--vars '{flag: no}' and the like are refused with the spelling to use (exit 2; were read as YAML 1.2: the text 'no', truthy, where dbt reads false); in project.yaml vars: too, at their line", () => {
    const dir = makeProject({ 'models/m.sql': "select {{ 1 if var('flag', false) else 0 }} as f, {{ var('n', 0) }} as n, '{{ var('mode', '') }}' as mode" });
    try {
      for (const [vars, said] of [
        ['{flag: no}', "--vars: flag: no is false to dbt (YAML 1.1) but the text 'no' to Vigil (YAML 1.2): write false (as dbt reads it) or 'no' (the text)"],
        ['{flag: On}', "--vars: flag: On is true to dbt (YAML 1.1) but the text 'On' to Vigil (YAML 1.2): write true (as dbt reads it) or 'On' (the text)"],
        ['{mode: 0755}', '--vars: mode: 0755 is 493 to dbt (YAML 1.1) but 755 to Vigil (YAML 1.2): write 493 (as dbt reads it) or 755'],
        ['{n: 1_000}', "--vars: n: 1_000 is 1000 to dbt (YAML 1.1) but the text '1_000' to Vigil (YAML 1.2): write 1000 (as dbt reads it) or '1_000' (the text)"],
        ['{xs: [1, yes]}', "--vars: xs.1: yes is true to dbt (YAML 1.1) but the text 'yes' to Vigil (YAML 1.2): write true (as dbt reads it) or 'yes' (the text)"],
      ] as const) {
        const r = vigil(dir, ['compile', '--vars', vars]);
        expect(r.code, vars).toBe(2);
        expect(r.stderr).toContain(said);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      // spelt one way for both readings: as before
      // (-0 is 0 to both: was refused, "write 0 ... or 0")
      for (const vars of ['{flag: false, n: -0}', "{flag: 'no'}", '{flag: true, n: 1000, mode: "0755"}']) {
        const r = vigil(dir, ['compile', '--vars', vars]);
        expect(r.code, `${vars}: ${r.stderr}`).toBe(0);
      }
      expect(readFileSync(join(dir, 'target/compiled/fixture/models/m.sql'), 'utf8').trim()).toBe("select 1 as f, 1000 as n, '0755' as mode");
      writeFileSync(join(dir, 'project.yaml'), `${BASIC_PROJECT_YAML}vars:\n  flag: off\n  ok: 'off'\n`);
      const p = vigil(dir, ['compile']);
      expect(p.code).toBe(2);
      expect(p.stderr).toContain("project.yaml:9:9: error: vars.flag: off is false to dbt (YAML 1.1) but the text 'off' to Vigil (YAML 1.2): write false (as dbt reads it) or 'off' (the text) [E_VAR]");
      expect(p.stderr.match(/error:/g)).toHaveLength(1);
      // and in a unit test's vars (was: the text 'no', the test run with flag truthy)
      writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML);
      writeFileSync(join(dir, 'models/m.yml'), "unit_tests:\n  - name: t\n    model: m\n    vars:\n      flag: no\n      mode: 'no'\n    expect:\n      rows: [{f: 0}]\n");
      const u = vigil(dir, ['compile']);
      expect(u.code).toBe(2);
      expect(u.stderr).toContain("models/m.yml:5:13: error: unit test 't': vars.flag: no is false to dbt (YAML 1.1) but the text 'no' to Vigil (YAML 1.2): write false (as dbt reads it) or 'no' (the text) [E_UNIT]");
      expect(u.stderr.match(/error:/g)).toHaveLength(1);
    } finally {
      removeDir(dir);
    }
  });
});

describe('vars written as floats', () => {
  it("print as dbt prints them, 1.0 and not 1, from project.yaml, --vars and a unit test's vars; the compile cache tells 4 from 4.0 (was: 1, so 5 / {{ var('d') }} divided as integers on Postgres)", () => {
    const dir = makeProject({
      'project.yaml': `${BASIC_PROJECT_YAML}vars:\n  d: 2.0\n  rate: 1.50\n  n: 3\n  xs: [1.0, 2]\n`,
      'models/m.sql': "select 5 / {{ var('d') }} as q, {{ var('rate') }} as r, {{ var('n') }} as n, '{{ var('xs') | join('|') }}' as xs, '{{ var('d') }}' as t",
      'models/m.yml': "unit_tests:\n  - name: t\n    model: m\n    vars:\n      d: 4.0\n    expect:\n      rows: [{t: '4.0', q: 1.25}]\n",
    });
    const compiled = () => readFileSync(join(dir, 'target/compiled/fixture/models/m.sql'), 'utf8').trim();
    try {
      expect(vigil(dir, ['compile']).code).toBe(0);
      expect(compiled()).toBe("select 5 / 2.0 as q, 1.5 as r, 3 as n, '1.0|2' as xs, '2.0' as t");
      expect(vigil(dir, ['compile', '--vars', '{d: 4}']).code).toBe(0);
      expect(compiled()).toContain("select 5 / 4 as q");
      expect(vigil(dir, ['compile', '--vars', '{d: 4.0}']).code).toBe(0);
      expect(compiled()).toContain("select 5 / 4.0 as q");
      // with a secret in the environment too (was: select 5 / {'value': 4}, the float's box rebuilt as a dict)
      rmSync(join(dir, 'target'), { recursive: true, force: true });
      expect(vigil(dir, ['compile', '--vars', '{d: 4.0}'], { MY_API_TOKEN: 'tok-0123456789' }).code).toBe(0);
      expect(compiled()).toBe("select 5 / 4.0 as q, 1.5 as r, 3 as n, '1.0|2' as xs, '4.0' as t");
      const u = vigil(dir, ['test', '--unit']);
      expect(u.code, u.stdout + u.stderr).toBe(0);
      expect(u.stdout).toMatch(/PASS .*\bt\b/);
    } finally {
      removeDir(dir);
    }
  });
});

describe('a command group without its subcommand', () => {
  it('shows its help and exits 2 (was 0: `vigil alerts $SUBCMD` with SUBCMD unset passed in CI); --help is 0', () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id' });
    try {
      for (const args of [['alerts'], ['docs'], ['dashboards'], []]) {
        const r = vigil(dir, args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr + r.stdout).toMatch(/Usage: vigil/);
      }
      // a mistyped subcommand after help names the one meant (was: the group's help)
      const typo = vigil(dir, ['alerts', 'help', 'evaluat']);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toBe("error: unknown command 'evaluat' — did you mean 'evaluate'? (vigil alerts --help lists the commands)\n");
      expect(vigil(dir, ['alerts', '--help']).code).toBe(0);
      expect(vigil(dir, ['help', 'alerts']).code).toBe(0);
      // a subcommand named after help shows its own help (was: the alerts group's)
      for (const args of [['help', 'alerts', 'evaluate'], ['alerts', 'help', 'evaluate'], ['alerts', 'evaluate', '--help']]) {
        const help = vigil(dir, args);
        expect([help.code, help.stdout.split('\n')[0]], args.join(' ')).toEqual([0, 'Usage: vigil alerts evaluate [options]']);
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('a mistyped subcommand', () => {
  it("of a command that also runs by itself (vigil sync statu): the subcommand meant, exit 2 (was: 'too many arguments for sync')", () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id' });
    try {
      const r = vigil(dir, ['sync', 'statu']);
      expect([r.code, r.stderr.trim()]).toEqual([2, "error: unknown command 'statu' for vigil sync — did you mean 'status'? (vigil sync takes no arguments: select streams with -s)"]);
      for (const args of [['retention', 'plna'], ['dashboards', 'rendr']]) {
        const x = vigil(dir, args);
        expect(x.code, args.join(' ')).toBe(2);
        expect(x.stderr).toContain(`unknown command '${args[1]}'`);
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('--project-dir', () => {
  it("a folder without project.yaml is exit 2 with the nearest project folder (was: the project of a folder above it ran — vigil clean removed its target/)", () => {
    const parent = makeProject({ 'models/a.sql': 'select 1 as id' });
    const inner = join(parent, 'analytics');
    cpSync(join(parent, 'project.yaml'), join(inner, 'project.yaml'));
    try {
      expect(vigil(parent, ['compile']).code).toBe(0);
      const typo = vigil(parent, ['--project-dir', join(parent, 'analytcs'), 'clean']);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain(`--project-dir ${join(parent, 'analytcs')}: no such folder — did you mean '${inner}'?`);
      expect(existsSync(join(parent, 'target'))).toBe(true);
      const sub = vigil(parent, ['--project-dir', join(parent, 'models'), 'ls']);
      expect([sub.code, sub.stderr]).toEqual([2, expect.stringContaining('no project.yaml in it')]);
      expect(vigil('/', ['--project-dir', parent, 'ls']).stdout.trim()).toBe('a');
    } finally {
      removeDir(parent);
    }
  });
});

describe('a path flag given empty', () => {
  it('is exit 2 naming the flag, in every command that takes a path (was: the working folder, or the default: --state-file "" kept the state in the warehouse)', () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id' });
    try {
      for (const [args, line] of [
        [['--project-dir', '', 'ls'], "--project-dir is empty: give a path ('.' for the working folder)"],
        [['ls', '--state', ''], "--state is empty: give a path ('.' for the working folder)"],
        [['build', '--state', ' ', '-s', 'state:modified'], "--state is only spaces: give a path ('.' for the working folder)"],
        [['init', ''], "[dir] is empty: give a path ('.' for the working folder)"],
        [['init', 'new', '--from-dbt', ''], "--from-dbt is empty: give a path ('.' for the working folder)"],
        [['init', 'new', '--from-dbt', 'dbt', '--profiles', ''], '--profiles is empty: give a path'],
        [['retention', 'apply', '--plan', ''], '--plan is empty: give a path'],
        [['alerts', 'evaluate', '--dry-run', '--state-file', ''], '--state-file is empty: give a path'],
        [['alerts', 'import-alertmanager', ''], '<alertmanager.yml> is empty: give a path'],
        [['alerts', 'import-alertmanager', 'am.yml', '--out', ''], '--out is empty: give a path'],
      ] as Array<[string[], string]>) {
        const r = vigil(dir, args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr.trim(), args.join(' ')).toBe(`error: ${line}`);
        expect(r.stdout, args.join(' ')).toBe('');
      }
      expect(existsSync(join(dir, 'new'))).toBe(false);
      expect(existsSync(join(dir, 'target'))).toBe(false);
    } finally {
      removeDir(dir);
    }
  });
});

describe('the file system in the way', () => {
  it('a file named target where target/ goes: one line naming the path, exit 2, no stack trace', () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as x' });
    try {
      writeFileSync(join(dir, 'target'), 'not a folder');
      for (const args of [['compile'], ['ls'], ['build']]) {
        const r = vigil(dir, args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr, args.join(' ')).toMatch(/^error: cannot mkdir target\/\S+: a file is where a folder should be \(ENOTDIR\)$/m);
        expect(r.stderr, args.join(' ')).not.toMatch(/internal error|\n\s+at /);
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('a folder where a file flag goes', () => {
  it('is exit 2 naming the flag, no stack trace (was: internal error EISDIR, exit 3)', () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id', 'dbt/dbt_project.yml': 'name: d\nprofile: d\n', 'am.yml': 'route: { receiver: x }\nreceivers: [{ name: x }]\n' });
    try {
      for (const [args, line] of [
        [['alerts', 'import-alertmanager', 'models'], 'models: that is a folder: give the alertmanager.yml file'],
        [['init', 'new', '--from-dbt', 'dbt', '--profiles', 'models'], '--profiles models: that is a folder: give the profiles.yml file'],
        [['alerts', 'status', '--state-file', 'models'], '--state-file models: that is a folder: give the JSON file that holds (or will hold) the alert state'],
        [['alerts', 'silence', '-m', 'a=b', '--for', '1h', '--comment', 'x', '--state-file', 'models'], '--state-file models: that is a folder: give the JSON file that holds (or will hold) the alert state'],
        // (were: 'exists: pass --force', then with --force 'cannot write models: EISDIR'; 'not a retention plan (EISDIR ...); run vigil retention plan again')
        [['alerts', 'import-alertmanager', 'am.yml', '--out', 'models'], `--out models: that is a folder: give the file to write (e.g. --out ${join('models', 'routes.yaml')})`],
        [['alerts', 'import-alertmanager', 'am.yml', '--out', 'models', '--force'], `--out models: that is a folder: give the file to write (e.g. --out ${join('models', 'routes.yaml')})`],
        [['retention', 'apply', '--plan', 'models'], '--plan models: that is a folder: give the plan file vigil retention plan wrote'],
      ] as Array<[string[], string]>) {
        const r = vigil(dir, args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr.trim(), args.join(' ')).toBe(`error: ${line}`);
      }
      expect(existsSync(join(dir, 'new'))).toBe(false);
    } finally {
      removeDir(dir);
    }
  });
});

describe('vigil init', () => {
  it.skipIf(!existsSync('/proc/self'))('a folder on a file system that takes none (/proc/x; --from-dbt too): exit 2 at once, saying so (was: hung for ever inside mkdir)', () => {
    for (const args of [['init', '/proc/vigil-init-x/y'], ['init', '--from-dbt', join(REPO, 'test/fixtures/projects/dbt-jaffle'), '/proc/vigil-init-x']]) {
      // (a process of its own with a deadline: the old code never returned)
      const r = spawnSync(process.execPath, [VIGIL, ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(r.error, args.join(' ')).toBeUndefined();
      expect(r.status, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain('cannot mkdir /proc/vigil-init-x: /proc takes no folder (ENOENT)');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a symbolic link to nothing on the way, or as the folder itself (a loop too; --from-dbt too): exit 2 naming the link (was: an internal error with a stack trace, or "takes no folder")', () => {
    const parent = makeProject({}, false);
    dirs.push(parent);
    symlinkSync(join(parent, 'nowhere'), join(parent, 'dangling'));
    symlinkSync('loop', join(parent, 'loop'));
    symlinkSync('.', join(parent, 'here'));
    const cases: Array<[string[], string]> = [
      [['init', 'dangling/x'], 'dangling'],
      [['init', 'dangling'], 'dangling'],
      [['init', 'loop/x'], 'loop'],
      [['init', '--from-dbt', join(REPO, 'test/fixtures/projects/dbt-jaffle'), 'dangling'], 'dangling'],
    ];
    for (const [args, link] of cases) {
      const r = spawnSync(process.execPath, [VIGIL, ...args], { cwd: parent, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${join(parent, link)} is a symbolic link to ${link === 'dangling' ? join(parent, 'nowhere') : 'loop'}, which leads to no folder`);
      expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    }
    expect(existsSync(join(parent, 'nowhere'))).toBe(false);
    // a link to a folder on the way is followed as ever
    const r = spawnSync(process.execPath, [VIGIL, 'init', 'here/fine'], { cwd: parent, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(parent, 'fine', 'project.yaml'))).toBe(true);
  });

  it('--template ai-audit: scaffolds a project that demo + build run green in, and refuses a folder that is already a project', async () => {
    const parent = makeProject({}, false);
    dirs.push(parent);
    const init = vigil(parent, ['init', 'my-project', '--template', 'ai-audit']);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('project.yaml');
    const dir = join(parent, 'my-project');
    for (const f of ['project.yaml', 'models/sources.yml', 'models/staging/stg_events.sql', 'models/marts/events_daily.sql', 'tests/assert_no_future_events.sql', 'alerts', 'dashboards', 'macros/status.sql']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(vigil(dir, ['demo', '--rows', '2000', '--days', '10']).code).toBe(0);
    const b = vigil(dir, ['build']);
    expect(b.stdout).toMatch(/OK created table analytics\.events_daily/);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const rows = await query<{ n: number }>(dir, 'select sum(interaction_count)::int as n from analytics.events_daily');
    expect(rows[0].n).toBe(2000);
    // the starter alert: its offline test passes, and it evaluates against the built mart
    const at = vigil(dir, ['alerts', 'test']);
    expect(at.code, at.stdout + at.stderr).toBe(0);
    expect(at.stdout).toContain('1 passed, 0 failed');
    const ev = vigil(dir, ['alerts', 'evaluate', '--dry-run']);
    expect(ev.code, ev.stdout + ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/error_rate_high +\d+ firing/);
    // its dashboard, on the mart (was: none, and `dashboards render` said "no dashboards", exit 2)
    const dv = vigil(dir, ['dashboards', 'validate']);
    expect(dv.code, dv.stdout + dv.stderr).toBe(0);
    const site = join(dir, 'site');
    const dr = vigil(dir, ['dashboards', 'render', '--out', site]);
    expect(dr.code, dr.stdout + dr.stderr).toBe(0);
    const page = readFileSync(join(site, 'events.html'), 'utf8');
    expect(page).toMatch(/data-tile="interactions_total"[\s\S]*?class="kpi-value"[^>]*>2,000</);
    const again = vigil(parent, ['init', 'my-project', '--template', 'ai-audit']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });
});

describe('vigil init: where', () => {
  it('--project-dir is the folder to create the project in when no [dir] is given, before or after init (was: ignored, the project written into the current folder); both, different: exit 2 naming both', () => {
    const parent = makeProject({}, false);
    dirs.push(parent);
    for (const [args, folder] of [
      [['--project-dir', 'wanted', 'init'], 'wanted'],
      [['init', '--project-dir', 'wanted2'], 'wanted2'],
      [['--project-dir', 'same', 'init', 'same'], 'same'],
    ] as const) {
      const r = vigil(parent, [...args]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`Created a Vigil project in ${join(parent, folder)} (template blank)`);
      expect(r.stdout).toContain(`  cd ${folder}\n`);
      expect(existsSync(join(parent, folder, 'project.yaml'))).toBe(true);
    }
    expect(existsSync(join(parent, 'project.yaml'))).toBe(false);
    const both = vigil(parent, ['--project-dir', 'a', 'init', 'b']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--project-dir a and [dir] b name different folders');
    expect(both.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(parent, 'a'))).toBe(false);
    expect(existsSync(join(parent, 'b'))).toBe(false);
    // --from-dbt: its destination
    const dbt = makeProject({ 'dbt_project.yml': 'name: shop\nprofile: shop\n', 'models/m.sql': 'select 1 as id\n' }, false);
    dirs.push(dbt);
    const conv = vigil(parent, ['--project-dir', 'converted', 'init', '--from-dbt', dbt]);
    expect(conv.code, conv.stdout + conv.stderr).toBe(0);
    expect(readFileSync(join(parent, 'converted', 'models', 'm.sql'), 'utf8')).toBe('select 1 as id\n');
    expect(existsSync(join(parent, 'models'))).toBe(false);
  });

  it("the Next lines run as printed when copied into a shell: a folder with a space, a quote or a leading - (was: cd my proj, two words)", () => {
    const parent = makeProject({}, false);
    dirs.push(parent);
    for (const [args, folder] of [
      [['init', 'my proj'], 'my proj'],
      [['init', "it's"], "it's"],
      [['init', '--', '-dash'], '-dash'],
    ] as const) {
      const r = vigil(parent, [...args]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(existsSync(join(parent, folder, 'project.yaml'))).toBe(true);
      const next = r.stdout.slice(r.stdout.indexOf('\nNext:\n') + 7).trim().split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
      expect(next[0]).toMatch(/^cd /);
      // the cd and the build, as a user pastes them
      const sh = spawnSync('sh', ['-c', next.slice(0, 2).join(' && ')], { cwd: parent, encoding: 'utf8' });
      expect(sh.status, sh.stdout + sh.stderr).toBe(0);
      expect(sh.stdout).toMatch(/ERROR=0 SKIP=0/);
      expect(existsSync(join(parent, folder, '.vigil', 'dev.duckdb'))).toBe(true);
    }
  });

  it('ai-audit: init\'s Next lines, then demo\'s, run as printed in a shell outside the repository (was: demo said "Next: vigil build", no such command on the PATH)', () => {
    const parent = makeProject({}, false);
    dirs.push(parent);
    const r = vigil(parent, ['init', 'ai proj', '--template', 'ai-audit']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const next = r.stdout.slice(r.stdout.indexOf('\nNext:\n') + 7).trim().split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
    expect(next).toHaveLength(3);
    const demo = spawnSync('sh', ['-c', `${next[0]} && ${next[1]} --rows 500 --days 10`], { cwd: parent, encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin' } });
    expect(demo.status, demo.stdout + demo.stderr).toBe(0);
    const then = /Next: (.*)$/m.exec(demo.stdout)![1];
    expect(then).toBe(next[2]);
    const build = spawnSync('sh', ['-c', then], { cwd: join(parent, 'ai proj'), encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin' } });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    expect(build.stdout).toMatch(/ERROR=0 SKIP=0/);
  });

  it('in a dbt project (dbt_project.yml): refused, exit 2, naming init --from-dbt; nothing written (was: the template mixed into dbt\'s folders, compile errors)', () => {
    const dbt = makeProject({ 'dbt_project.yml': 'name: shop\nprofile: shop\n', 'models/m.sql': "select * from {{ ref('x') }}\n" }, false);
    dirs.push(dbt);
    const before = readdirSync(dbt).sort();
    const r = vigil(dbt, ['init', '.']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`${join(dbt, 'dbt_project.yml')} exists: this folder is a dbt project`);
    expect(r.stderr).toContain('vigil init --from-dbt . <new dir>');
    expect(readdirSync(dbt).sort()).toEqual(before);
  });
});

describe('vigil init --template blank (the default)', () => {
  it('a new folder: build loads the sample and passes, check passes, the example alert fires, the dashboard validates', () => {
    const parent = makeProject({}, false);
    dirs.push(parent);
    const init = vigil(parent, ['init', 'shop']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('Created a Vigil project in');
    // no vigil-analytics install in reach of the folder: `npx vigil` there would download and run
    // the unrelated npm package `vigil`; the command named runs this install (was: npx vigil build)
    expect(init.stdout).toContain(`\n  node ${VIGIL} build    # load the sample`);
    expect(init.stdout).not.toContain('npx vigil');
    const dir = join(parent, 'shop');
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    // the source's tests and the model wait for the seed that fills the source's table
    const lines = b.stdout.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(/PASS unique_app_events_event_id/)).toBeGreaterThan(at(/OK loaded seed raw\.sample_events/));
    expect(at(/OK created table analytics\.events_daily/)).toBeGreaterThan(at(/OK loaded seed raw\.sample_events/));
    expect(vigil(dir, ['check']).code).toBe(0);
    const ev = vigil(dir, ['alerts', 'evaluate', '--dry-run']);
    expect(ev.stdout).toMatch(/error_rate_high +1 firing/);
    expect(ev.stdout).toMatch(/export: \d+(\.\d)?% of \d+ events failed/);
    expect(vigil(dir, ['alerts', 'test']).code).toBe(0);
    expect(vigil(dir, ['dashboards', 'validate']).code).toBe(0);
  });

  it('an existing folder gets only what it lacks: its own files are kept, never overwritten', () => {
    const dir = makeProject({ 'models/sources.yml': '# mine\n', 'notes.txt': 'x' }, false);
    dirs.push(dir);
    const init = vigil(dir, ['init', '.']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('models/sources.yml (already there: kept as it was)');
    expect(readFileSync(join(dir, 'models/sources.yml'), 'utf8')).toBe('# mine\n');
    // (the template's model reads source('app', 'events') of the template's sources.yml: left out with it)
    expect(existsSync(join(dir, 'models/events_daily.sql'))).toBe(false);
    expect(existsSync(join(dir, 'seeds/sample_events.csv'))).toBe(true);
    const bad = vigil(dir, ['init', 'x', '--template', 'blnk']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/blnk.*(blank|Allowed choices)/i);
  });
});

describe('vigil init: every template type-checks as written', () => {
  it.each(['blank', 'ai-audit'])('%s: vigil check and vigil build --check pass straight after init (+ vigil demo for ai-audit)', (template) => {
    const parent = makeProject({}, false);
    dirs.push(parent);
    expect(vigil(parent, ['init', 'p', '--template', template]).code).toBe(0);
    const dir = join(parent, 'p');
    if (template === 'ai-audit') expect(vigil(dir, ['demo', '--rows', '2000', '--days', '5']).code).toBe(0);
    const check = vigil(dir, ['check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const build = vigil(dir, ['build', '--check']);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    expect(build.stdout).toMatch(/ERROR=0 SKIP=0/);
  });
});

describe('vigil init in a folder with files of the same names', () => {
  it("a kept file leaves out the template's files that read it, and what is left builds", () => {
    // a repository's own seeds/sample_events.csv: the template's YAML typed a column it does not have
    const dir = makeProject({ 'seeds/sample_events.csv': 'a,b\n1,2\n' }, false);
    dirs.push(dir);
    const init = vigil(dir, ['init', '.']);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain('Added a Vigil project to');
    expect(init.stdout).toContain('seeds/sample_events.csv (already there: kept as it was)');
    for (const f of ['seeds/sample_events.yml', 'models/sources.yml', 'models/events_daily.sql', 'alerts/events.yaml', 'dashboards/events.json']) {
      expect(init.stdout).toContain(`${f} (not written: it needs the template's seeds/sample_events.csv, and yours is kept)`);
      expect(existsSync(join(dir, f)), f).toBe(false);
    }
    expect(init.stdout).not.toContain('vigil show -s events_daily');
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);

    // a models/sources.yml of its own: the model on source('app', 'events') is left out, the sample is written
    const dir2 = makeProject({ 'models/sources.yml': 'sources:\n  - name: other\n    tables: [{ name: t }]\n' }, false);
    dirs.push(dir2);
    const init2 = vigil(dir2, ['init', '.']);
    expect(init2.code, init2.stdout + init2.stderr).toBe(0);
    expect(init2.stdout).toContain("models/events_daily.sql (not written: it needs the template's models/sources.yml, and yours is kept)");
    expect(existsSync(join(dir2, 'seeds/sample_events.csv'))).toBe(true);
    const b2 = vigil(dir2, ['build']);
    expect(b2.code, b2.stdout + b2.stderr).toBe(0);
  });

  it("a model or seed of the user's in another folder with a template file's name: that file is left out with what reads it, and the folder still builds", () => {
    // models/staging/events_daily.sql is model events_daily too: the template's models/events_daily.sql made two of that name (E_DUPLICATE, exit 1)
    const dir = makeProject({ 'models/staging/events_daily.sql': 'select 1 as id\n' }, false);
    dirs.push(dir);
    const init = vigil(dir, ['init', '.']);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain('models/events_daily.sql (not written: your models/staging/events_daily.sql has that name)');
    for (const f of ['models/events_daily.yml', 'alerts/events.yaml', 'dashboards/events.json']) {
      expect(init.stdout).toContain(`${f} (not written: it needs the template's models/events_daily.sql, and that is left out)`);
      expect(existsSync(join(dir, f)), f).toBe(false);
    }
    expect(existsSync(join(dir, 'models/events_daily.sql'))).toBe(false);
    expect(readFileSync(join(dir, 'models/staging/events_daily.sql'), 'utf8')).toBe('select 1 as id\n');
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);

    // a seed of that name in a subfolder: the template's sample and all that reads it stay out
    const dir2 = makeProject({ 'seeds/raw/sample_events.csv': 'a,b\n1,2\n' }, false);
    dirs.push(dir2);
    const init2 = vigil(dir2, ['init', '.']);
    expect(init2.code, init2.stdout + init2.stderr).toBe(0);
    expect(init2.stdout).toContain('seeds/sample_events.csv (not written: your seeds/raw/sample_events.csv has that name)');
    expect(existsSync(join(dir2, 'seeds/sample_events.csv'))).toBe(false);
    expect(existsSync(join(dir2, 'seeds/sample_events.yml'))).toBe(false);
    const b2 = vigil(dir2, ['build']);
    expect(b2.code, b2.stdout + b2.stderr).toBe(0);
  });

  it('a folder whose own files do not compile: init says so, with file:line, instead of "Next: npx vigil build", and exits 1', () => {
    const dir = makeProject({ 'models/mine.sql': "select * from {{ source('crm', 'users') }}\n" }, false);
    dirs.push(dir);
    const init = vigil(dir, ['init', '.']);
    expect(init.code).toBe(1);
    expect(init.stdout).toMatch(/^ {2}models\/mine\.sql:1:\d+: error: source\('crm', 'users'\) not found/m);
    expect(init.stdout).toContain('Next: fix the errors above');
    expect(init.stdout).not.toMatch(/ build {4}#/);
    expect(existsSync(join(dir, 'project.yaml'))).toBe(true);
  });

  it('.gitignore: a line that ignores .vigil/ or target/ already (.vigil, /target/, target/*, *) adds nothing, in a git repository or not', () => {
    for (const [lines, git] of [
      ['.vigil\n/target/\n', true],
      ['target/*\n.vigil/\n', true],
      ['*\n', true],
      ['.vigil\n/target/\n', false],
      ['/.vigil/\ntarget/*\n', false],
      ['*\n', false],
    ] as const) {
      const dir = makeProject({ '.gitignore': lines }, false);
      dirs.push(dir);
      if (git) expect(spawnSync('git', ['init', '-q'], { cwd: dir }).status).toBe(0);
      const init = vigil(dir, ['init', '.']);
      expect(init.code, init.stdout + init.stderr).toBe(0);
      expect(readFileSync(join(dir, '.gitignore'), 'utf8'), `${JSON.stringify(lines)} git=${git}`).toBe(lines);
      expect(init.stdout).not.toContain('.gitignore (added');
    }
    // what it does not cover is added
    const dir = makeProject({ '.gitignore': 'node_modules/\n.vigil\n' }, false);
    dirs.push(dir);
    expect(spawnSync('git', ['init', '-q'], { cwd: dir }).status).toBe(0);
    const init = vigil(dir, ['init', '.']);
    expect(init.stdout).toContain('.gitignore (added target/)');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('node_modules/\n.vigil\n# Vigil\ntarget/\n');
  });
});

describe('the shipped project on demo data', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  });

  it('vigil demo writes the source tables, deterministically', async () => {
    // an option out of range: refused before anything is said or opened (was: "Generating demo
    // data ..." printed, the warehouse file created, then the refusal)
    const bad = vigil(dir, ['demo', '--now', '9999-12-31']);
    expect([bad.code, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toContain('--now must not be later than 9999-01-01');
    expect(existsSync(join(dir, '.vigil/dev.duckdb'))).toBe(false);
    const r = vigil(dir, ['demo', '--rows', '30000', '--days', '21', '--seed', '7', '--now', '2026-11-20T12:00:00Z']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ai_audit_logs/);
    const counts = await query<{ t: string; n: number }>(
      dir,
      `select 'logs' as t, count(*)::int as n from raw.ai_audit_logs union all select 'wf', count(*)::int from raw.workflows
       union all select 'trails', count(*)::int from raw.audit_trails union all select 'usage', count(*)::int from raw.usage_log order by t`,
    );
    expect(counts.find((c) => c.t === 'logs')!.n).toBe(30000);
    for (const c of counts) expect(c.n, c.t).toBeGreaterThan(0);
  });

  it('vigil build creates every mart, runs every test, writes run_results.json and compiled SQL', async () => {
    const r = vigil(dir, ['build', '--threads', '2']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+ of \d+ OK created incremental table analytics\.ai_audit_daily \[\d+\.\d\ds\]$/m);
    expect(r.stdout).toMatch(/^\d+ of \d+ PASS accepted_values_ai_audit_capability_anomalies_deviation_state \[/m);
    expect(r.stdout).toMatch(/ERROR=0 SKIP=0/);
    const results = JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8'));
    expect(results.success).toBe(true);
    expect(results.results.length).toBeGreaterThan(40);
    expect(existsSync(join(dir, 'target/compiled/ai_audit/models/marts/ai_audit_daily.sql'))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    expect(Object.keys(manifest.nodes)).toContain('model.ai_audit.ai_audit_capability_anomalies');
    const daily = await query<{ n: number; s: number }>(dir, 'select count(*)::int as n, sum(interaction_count)::int as s from analytics.ai_audit_daily');
    expect(daily[0].s).toBe(30000);
    const states = await query<{ deviation_state: string }>(dir, 'select distinct deviation_state from analytics.ai_audit_capability_anomalies order by 1');
    expect(states.map((s) => s.deviation_state).every((s) => ['drop', 'normal', 'spike'].includes(s))).toBe(true);
  });

  it('an incremental run re-aggregates recent days and keeps totals exact', async () => {
    // new rows arrive for the newest day; only the trailing days are recomputed
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    await db.execute(`insert into raw.ai_audit_logs select id + 1000000, workflow_id, capability, provider, model, response_status, request_metadata, response_metadata, workspace_snapshot_id, created_at from raw.ai_audit_logs order by created_at desc limit 100`);
    await db.close();
    const r = vigil(dir, ['run', '-s', 'ai_audit_daily']);
    // insert_overwrite: the trailing days replaced whole (was: "inserted N rows into", for a merge that mostly updated)
    expect(r.stdout).toMatch(/OK overwrote 3 partitions with \d+ rows \(\d+ deleted\) in analytics\.ai_audit_daily/);
    expect(r.code).toBe(0);
    const [t] = await query<{ s: number }>(dir, 'select sum(interaction_count)::int as s from analytics.ai_audit_daily');
    expect(t.s).toBe(30100);
    const t2 = vigil(dir, ['test', '-s', 'ai_audit_daily']);
    expect(t2.code, t2.stdout).toBe(0);
  });

  it('a failing error-severity test skips everything downstream and exits 1', async () => {
    writeFileSync(join(dir, 'tests/assert_always_fails.sql'), "-- depends_on: {{ ref('stg_ai_audit_logs') }}\nselect 1 as bad, 'x' as why union all select 2, 'y'\n");
    const yml = readFileSync(join(dir, 'models/staging/staging.yml'), 'utf8');
    expect(yml).toContain('      - name: model\n        data_type: varchar\n        description: Model name.'); // the edit below must apply
    // make the test attach to stg_ai_audit_logs' downstream path: an error test on the staging model
    writeFileSync(join(dir, 'models/staging/staging.yml'), yml.replace('      - name: model\n        data_type: varchar\n        description: Model name.', "      - name: model\n        data_type: varchar\n        description: Model name.\n        tests:\n          - accepted_values: { values: ['nope'] }"));
    const r = vigil(dir, ['build']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL \d+ accepted_values_stg_ai_audit_logs_model/);
    expect(r.stdout).toMatch(/rows? failed \(models\/staging\/staging\.yml:\d+; query: target\/compiled\/ai_audit\/models\/staging\/staging\.yml\/accepted_values_stg_ai_audit_logs_model\.sql\)/);
    expect(r.stdout).toMatch(/value_field\s+\| n_records/); // a sample of failing rows
    expect(r.stdout).toMatch(/SKIP incremental analytics\.ai_audit_daily \(upstream accepted_values_stg_ai_audit_logs_model failed\)/);
    expect(r.stdout).toMatch(/FAIL 2 assert_always_fails/);
    const results = JSON.parse(readFileSync(join(dir, 'target/run_results.json'), 'utf8'));
    expect(results.results.find((x: { name: string }) => x.name === 'ai_audit_daily').status).toBe('skipped');
    // a warn-severity test does not block
    writeFileSync(join(dir, 'models/staging/staging.yml'), yml.replace('      - name: model\n        data_type: varchar\n        description: Model name.', "      - name: model\n        data_type: varchar\n        description: Model name.\n        tests:\n          - accepted_values: { values: ['nope'], severity: warn }"));
    writeFileSync(join(dir, 'tests/assert_always_fails.sql'), "{{ config(severity='warn') }}\n-- depends_on: {{ ref('stg_ai_audit_logs') }}\nselect 1 as bad\n");
    const w = vigil(dir, ['build']);
    expect(w.stdout).toMatch(/WARN \d+ accepted_values_stg_ai_audit_logs_model/);
    expect(w.stdout).toMatch(/SKIP=0/);
    expect(w.code).toBe(0);
  });

  it('vigil ls lists nodes with selectors, as names or JSON', () => {
    const r = vigil(dir, ['ls', '-s', '+ai_audit_capability_anomalies', '--resource-type', 'model']);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['ai_audit_capability_anomalies', 'ai_audit_daily', 'int_capability_daily', 'stg_ai_audit_logs']);
    // several kinds, as dbt takes them (was: only the last one)
    const two = vigil(dir, ['ls', '-s', '+ai_audit_capability_anomalies', '--resource-type', 'model', '--resource-type', 'source']);
    expect(two.stdout.trim().split('\n').sort()).toEqual(['ai_audit_capability_anomalies', 'ai_audit_daily', 'int_capability_daily', 'raw.ai_audit_logs', 'stg_ai_audit_logs']);
    // a selection --resource-type empties: said on stderr as dbt's "No nodes selected!", exit 0 (was: nothing at all)
    const none = vigil(dir, ['ls', '-s', 'ai_audit_daily', '--resource-type', 'seed']);
    expect([none.code, none.stdout]).toEqual([0, '']);
    expect(none.stderr).toMatch(/^warning: no nodes selected: --resource-type seed leaves none of the \d+ selected \(model, test, unit_test\)$/m);
    const typo = vigil(dir, ['ls', '--resource-type', 'modle']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("Did you mean 'model'?");
    // --vars twice: the first one's vars were silently dropped
    const vars = vigil(dir, ['ls', '--vars', 'a: 1', '--vars', 'b: 2']);
    expect(vars.code).toBe(2);
    expect(vars.stderr).toContain("given twice: put every var in one --vars '{a: 1, b: 2}'");
    const j = vigil(dir, ['ls', '-s', 'tag:governance', '--output', 'json']);
    // the model, then its tests: dbt ls lists the tests of what it selects (eager indirect selection)
    const rows = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { resource_type: string });
    expect(rows[0]).toMatchObject({ name: 'ai_governance_daily', materialized: 'table' });
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.slice(1).every((x) => x.resource_type === 'test')).toBe(true);
    const miss = vigil(dir, ['ls', '-s', 'ai_audit_dayly']);
    expect(miss.stderr).toContain("selector 'ai_audit_dayly' matched nothing — did you mean 'ai_audit_daily'?");
  });

  it('vigil ls orders nodes by unique id in code-point order, as dbt ls does (from a compile and from the snapshot alike)', () => {
    const p = makeProject({ 'models/alpha2.sql': 'select 1 as id\n', 'models/alpha_2.sql': 'select 1 as id\n', 'models/Zeta.sql': 'select 1 as id\n', 'models/beta.sql': 'select 1 as id\n' });
    try {
      // (a locale-aware order would put alpha_2 before alpha2 and Zeta last)
      for (let i = 0; i < 2; i++) expect(vigil(p, ['ls']).stdout.trim().split('\n')).toEqual(['Zeta', 'alpha2', 'alpha_2', 'beta']);
    } finally {
      removeDir(p);
    }
  });


  it('.sql files in any case are models, macros, tests and snapshots, as dbt finds them (orders.SQL was ignored without a word)', () => {
    const p = makeProject({
      'models/Orders.SQL': "select {{ one() }} as id\n",
      'models/lower.Sql': "select * from {{ ref('Orders') }}\n",
      'macros/m.SQL': '{% macro one() %}1{% endmacro %}\n',
      'tests/no_rows.SQL': "select * from {{ ref('lower') }} where id <> 1\n",
    });
    try {
      expect(vigil(p, ['ls']).stdout.trim().split('\n')).toEqual(['Orders', 'lower', 'no_rows']);
      const b = vigil(p, ['build']);
      expect(b.stderr).toBe('');
      expect(b.code).toBe(0);
      expect(b.stdout).toMatch(/OK=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3/);
      expect(existsSync(join(p, 'target/compiled/fixture/models/Orders.SQL'))).toBe(true);
    } finally {
      removeDir(p);
    }
  });
  it('vigil source freshness compares the newest row with warn/error limits', () => {
    const r = vigil(dir, ['source', 'freshness']);
    // the demo data ends on 2026-11-20, far older than the 1 hour error limit
    expect(r.stdout).toMatch(/ERROR freshness of raw\.ai_audit_logs: newest created_at 2026-11-20T1\d:\d\d:\d\d\.\d{3}Z is [\d.]+d old \(warn after 15 minute, error after 1 hour\)/);
    expect(r.code).toBe(1);
    // the provenance tables have their own limits: market data is captured every 4 hours
    expect(r.stdout).toMatch(/ERROR freshness of raw\.market_snapshots: newest captured_at 2026-11-20T\d\d:\d\d:\d\d\.\d{3}Z is [\d.]+d old \(warn after 5 hour, error after 9 hour\)/);
    expect(JSON.parse(readFileSync(join(dir, 'target/sources.json'), 'utf8')).results).toHaveLength(7);
    // dense enough that the last 15 minutes hold a row even in the quietest hour (a weekend night:
    // ~0.1 % of a day's rows, ~40 rows, all older than 15 minutes with p = 0.75^40 ≈ 1e-5); with
    // 1,000 rows a night hour holds ~3 rows or fewer, and the check failed at night
    const fresh = vigil(dir, ['demo', '--rows', '40000', '--days', '1']);
    expect(fresh.code).toBe(0);
    const f2 = vigil(dir, ['source', 'freshness', '-s', 'source:raw.ai_audit_logs']);
    expect(f2.stdout).toMatch(/PASS freshness of raw\.ai_audit_logs/);
    expect(f2.code).toBe(0);
  });

  it('vigil source freshness: a time in the future warns, a field that is no timestamp says so, limits without a loaded_at_field are said, nothing selected is exit 2', () => {
    const fresh = makeProject({
      'seeds/ev.csv': 'id,ts,label\n1,2099-01-01 00:00:00,a\n',
      'models/src.yml': `sources:\n  - name: app\n    schema: analytics\n    freshness: { warn_after: { count: 1, period: hour } }\n    tables:\n      - name: ev\n        loaded_at_field: ts\n      - name: ev_label\n        identifier: ev\n        loaded_at_field: label\n      - name: ev_nolaf\n        identifier: ev\n      - name: ev_off\n        identifier: ev\n        loaded_at_field: no_such_column\n        freshness: null\n`,
      'models/m.sql': "select id from {{ source('app', 'ev') }}",
    });
    dirs.push(fresh);
    expect(vigil(fresh, ['seed']).code).toBe(0);
    const r = vigil(fresh, ['source', 'freshness']);
    // (was: PASS, "-2274504517s old"; a raw "Invalid time value"; ev_nolaf left out without a word)
    expect(r.stdout).toMatch(/WARN freshness of app\.ev: newest ts 2099-01-01T00:00:00\.000Z is [\d.]+d in the future: a time zone/);
    // (its type named: text is never parsed, source-freshness.test.ts)
    expect(r.stdout).toMatch(/RUNTIME ERROR freshness of app\.ev_label: models\/src\.yml:\d+: loaded_at_field label is a column of type VARCHAR \(newest "a"\), not a timestamp or date/);
    expect(r.stderr).toContain('warning: source app.ev_nolaf (models/src.yml:11) has freshness: but no loaded_at_field: not checked');
    // freshness: null leaves a table out of its source's limits: not checked (was: queried, a RUNTIME ERROR for its column)
    expect(r.stdout).not.toContain('ev_off');
    expect(r.code).toBe(1);
    const none = vigil(fresh, ['source', 'freshness', '-s', 'm']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no selected source has a loaded_at_field and freshness limits');
    expect(vigil(fresh, ['source', 'freshness', '-s', 'm', '--allow-empty']).code).toBe(0);
  });
});

describe('data tests on ephemeral models', () => {
  it('run over the model inlined as CTEs, as dbt tests them (was: an error, "data tests need a relation to query"); relationships to one too', () => {
    const dir = makeProject({
      'models/base.sql': "select * from (values (1, 'a'), (2, 'b'), (2, 'c'), (null, 'd')) t(id, k)",
      'models/e1.sql': "{{ config(materialized='ephemeral') }}\nselect id, k from {{ ref('base') }}",
      // its own with, over another ephemeral
      'models/e2.sql': "{{ config(materialized='ephemeral') }}\nwith x as (select * from {{ ref('e1') }}) select id, upper(k) as k from x",
      'models/m.sql': 'select 3 as id union all select 1',
      'models/s.yml': `models:
  - name: e2
    columns:
      - name: id
        tests: [not_null, unique]
      - name: k
        tests:
          - accepted_values: { values: ['A', 'B', 'C'] }
  - name: m
    columns:
      - name: id
        tests:
          - relationships: { to: ref('e2'), field: id }
`,
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.code, r.stderr).toBe(1);
    // each finds exactly the rows it should: the NULL id, the id 2 twice, 'D', and m's 3
    expect(r.stdout).toMatch(/FAIL 1 not_null_e2_id/);
    expect(r.stdout).toMatch(/FAIL 1 unique_e2_id/);
    expect(r.stdout).toMatch(/FAIL 1 accepted_values_e2_k/);
    expect(r.stdout).toMatch(/FAIL 1 relationships_m_id/);
    expect(r.stdout).toContain('OK=2 WARN=0 ERROR=4');
    const shown = vigil(dir, ['show', '-s', 'relationships_m_id', '--output', 'json']);
    expect(JSON.parse(shown.stdout)).toEqual([{ from_field: 3 }]);
    // fixed data: every test passes
    writeFileSync(join(dir, 'models/base.sql'), "select * from (values (1, 'a'), (2, 'b'), (3, 'c')) t(id, k)");
    const ok = vigil(dir, ['build']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain('OK=6');
  });
});

describe('the golden fixture project runs against demo data', () => {
  it('builds twice (full, then incremental with ephemeral CTEs) without errors', () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    cpSync(join(REPO, 'test/fixtures/projects/golden'), dir, { recursive: true });
    expect(vigil(dir, ['demo', '--rows', '5000', '--days', '3']).code).toBe(0);
    const first = vigil(dir, ['build']);
    expect(first.stdout).toMatch(/OK created incremental table analytics\.events_hourly/);
    expect(first.stdout).toMatch(/OK created table marts\.capability_trend_v1/);
    expect(first.stdout).not.toMatch(/ERROR /);
    const second = vigil(dir, ['build', '--threads', '1']);
    // (the rows of the recomputed hours replace those stored under the same key: was "inserted N rows into")
    expect(second.stdout).toMatch(/OK merged \d+ rows \(replacing \d+\) into analytics\.events_hourly/);
    expect(second.stdout).not.toMatch(/ERROR /);
  });
});

describe('demo scenarios through the shipped marts (default --now: the real clock)', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  });
  const lastCompleteDay = `select capability, deviation_state, deviation_state_14d, is_new_capability, median_14d from analytics.ai_audit_capability_anomalies where date = current_date - 1`;

  it.each([
    // capabilities with real volume (the alert rules' min_baseline): the ~10 NULL-capability rows
    // a day swing past 1.75x their median on some days of the real calendar, as noise does
    ['normal', (rows: Array<Record<string, unknown>>) => expect(rows.filter((r) => Number(r.median_14d) >= 50 && (r.deviation_state !== 'normal' || r.deviation_state_14d !== 'normal'))).toEqual([])],
    // (the same noise made 'unknown' spike on 2026-12-03: only capabilities with real volume count)
    ['spike', (rows: Array<Record<string, unknown>>) => expect(rows.filter((r) => Number(r.median_14d) >= 50 && r.deviation_state_14d === 'spike').map((r) => r.capability)).toEqual(['summarize'])],
    // every capability with real volume drops (a handful of rows a day is too noisy to judge)
    ['drop', (rows: Array<Record<string, unknown>>) => expect(rows.filter((r) => Number(r.median_14d) >= 50 && r.deviation_state_14d !== 'drop')).toEqual([])],
    ['new_capability', (rows: Array<Record<string, unknown>>) => expect(rows.filter((r) => r.is_new_capability).map((r) => r.capability)).toEqual(['agent_plan'])],
  ] as const)('%s', async (scenario, check) => {
    expect(vigil(dir, ['demo', '--rows', '40000', '--days', '21', '--scenario', scenario]).code).toBe(0);
    const b = vigil(dir, ['build', '-s', '+ai_audit_capability_anomalies', '--full-refresh']);
    expect(b.code, b.stdout).toBe(0);
    const rows = await query<Record<string, unknown>>(dir, lastCompleteDay);
    expect(rows.length).toBeGreaterThan(5);
    check(rows);
  });
});

describe("a data test's where: is a template", () => {
  it("var() in it is rendered (with --vars too); a mistyped var is exit 2 at its line with the nearest name (was: pasted into the SQL, compile exit 0, a parser error at test time)", () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\nvars:\n  min_id: 1\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n',
      'models/m.sql': "select 1 as id, 'a' as cat union all select 0, null",
      'models/m.yml': "models:\n  - name: m\n    columns:\n      - name: cat\n        tests:\n          - not_null: { where: \"id > {{ var('min_id', 0) }}\" }\n",
    });
    dirs.push(dir);
    const ok = vigil(dir, ['build']);
    expect(ok.stdout + ok.stderr).toMatch(/PASS not_null_m_cat/);
    expect(ok.code).toBe(0);
    // the row with id 0 has no cat: found once the where lets it in
    const all = vigil(dir, ['test', '--vars', '{min_id: -1}']);
    expect(all.stdout).toMatch(/FAIL 1 not_null_m_cat/);
    expect(all.code).toBe(1);
    writeFileSync(join(dir, 'models/m.yml'), "models:\n  - name: m\n    columns:\n      - name: cat\n        tests:\n          - not_null: { where: \"id > {{ var('min_idd') }}\" }\n");
    const bad = vigil(dir, ['compile']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/models\/m\.yml:6:41: error: var\('min_idd'\) is not defined — did you mean 'min_id'\? \[E_VAR\]/);
  });
});
