/**
 * dbt's YAML selectors (selectors.yml, --selector): each form of definition selects what the
 * equivalent -s/--exclude selects; what cannot be expressed is an error at its line; the default
 * selector; --selector with -s/--exclude refused. One project for the file; `vigil ls` in the host.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BASIC_PROJECT_YAML, makeProject, removeDir, vigil } from '../helpers.js';
import { parseSelectorsFile } from '../../src/project/selectors-file.js';

const SELECTORS = `selectors:
  - name: nightly
    description: the nightly staging models
    definition: "tag:nightly"
  - name: mart_up
    definition:
      method: fqn
      value: mart
      parents: true
  - name: near
    definition:
      method: tag
      value: nightly
      children: true
      children_depth: 1
  - name: at_a
    definition:
      method: name
      value: stg_a
      childrens_parents: true
  - name: short
    definition:
      tag: hourly
  - name: both
    definition:
      union:
        - tag:hourly
        - method: tag
          value: nightly
          children: true
          children_depth: 1
        - exclude:
            - tag:pii
  - name: inter
    definition:
      intersection:
        - union: [tag:nightly, tag:hourly]
        - path: models
        - exclude: [stg_a]
  - name: minus
    definition:
      method: path
      value: models
      exclude: [report, tag:pii]
  - name: inc
    definition:
      method: selector
      value: both
  - name: cautious
    definition:
      method: tag
      value: hourly
      indirect_selection: empty
`;

const dir = makeProject({
  'models/stg_a.sql': "{{ config(tags=['nightly']) }}\nselect 1 as id",
  'models/stg_b.sql': "{{ config(tags=['nightly', 'pii']) }}\nselect 1 as id",
  'models/mart.sql': "{{ config(materialized='table', tags=['hourly']) }}\nselect a.id from {{ ref('stg_a') }} a join {{ ref('stg_b') }} b using (id)",
  'models/report.sql': "select * from {{ ref('mart') }}",
  'models/props.yml': 'models:\n  - name: mart\n    columns:\n      - name: id\n        data_tests: [unique]\n  - name: stg_a\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
  'selectors.yml': SELECTORS,
});
afterAll(() => removeDir(dir));

const ls = (args: string[]) => {
  const r = vigil(dir, ['ls', ...args]);
  return { ...r, names: r.stdout.trim().split('\n').filter(Boolean).sort() };
};

describe('YAML selectors (selectors.yml, --selector)', () => {
  it('each form of definition selects what the equivalent -s/--exclude selects', () => {
    const same: Array<[string, string[]]> = [
      ['nightly', ['-s', 'tag:nightly']],
      ['mart_up', ['-s', '+fqn:mart']],
      ['near', ['-s', 'tag:nightly+1']],
      ['at_a', ['-s', '@stg_a']],
      ['short', ['-s', 'tag:hourly']],
      ['both', ['-s', 'tag:hourly', 'tag:nightly+1', '--exclude', 'tag:pii']],
      ['inter', ['-s', 'tag:nightly,path:models', 'tag:hourly,path:models', '--exclude', 'stg_a']],
      ['minus', ['-s', 'path:models', '--exclude', 'report', 'tag:pii']],
      ['inc', ['-s', 'tag:hourly', 'tag:nightly+1', '--exclude', 'tag:pii']],
      ['cautious', ['-s', 'tag:hourly', '--indirect-selection', 'empty']],
    ];
    for (const [name, flags] of same) {
      const by = ls(['--selector', name]);
      expect(by.code, `${name}: ${by.stderr}`).toBe(0);
      expect(by.stderr).toBe('');
      const want = ls(flags);
      expect(want.code, want.stderr).toBe(0);
      expect(by.names, name).toEqual(want.names);
      expect(by.names.length, name).toBeGreaterThan(0);
    }
    // (the sets, spelled out once: an intersection distributed over a union, less the exclude)
    expect(ls(['--selector', 'inter']).names).toEqual(['mart', 'stg_b', 'unique_mart_id']);
    expect(ls(['--selector', 'cautious']).names).toEqual(['mart']);
  });

  it('the translation: unions, intersections distributed, a top-level exclude, an included selector', () => {
    const f = parseSelectorsFile(SELECTORS);
    expect(f.problems).toEqual([]);
    expect(f.resolve('inter')).toEqual({ select: ['tag:nightly,path:models', 'tag:hourly,path:models'], exclude: ['stg_a'], parts: ['tag:nightly,path:models', 'tag:hourly,path:models'] });
    expect(f.resolve('inc')).toEqual({ select: ['tag:hourly', 'tag:nightly+1'], exclude: ['tag:pii'] });
    expect(f.resolve('cautious')).toEqual({ select: ['tag:hourly'], exclude: [], indirectSelection: 'empty' });
    // (--indirect-selection sets the mode of the parts that give none)
    expect(f.resolve('nightly', 'buildable')).toEqual({ select: ['tag:nightly'], exclude: [], indirectSelection: 'buildable' });
  });

  it('an intersection whose distributed parts select nothing is no mistake while the whole selects something; the whole empty is', () => {
    const f = `selectors:\n  - name: x\n    definition:\n      intersection:\n        - union: [tag:nightly, tag:hourly]\n        - union: [stg_a, mart, report]\n  - name: none\n    definition:\n      intersection: [{union: [tag:nightly, tag:hourly]}, report]\n`;
    writeFileSync(join(dir, 'selectors.yml'), f);
    try {
      const r = ls(['--selector', 'x']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.names).toEqual(['mart', 'not_null_stg_a_id', 'stg_a', 'unique_mart_id']);
      // a part the author wrote, as -s would say it: a union item its exclude empties
      writeFileSync(join(dir, 'selectors.yml'), `${f}  - name: emptied\n    definition:\n      union: [stg_a, mart, {exclude: [stg_a]}]\n`);
      const emptied = ls(['--selector', 'emptied']);
      expect(emptied.code).toBe(2);
      expect(emptied.stderr).toContain("error: selector 'stg_a' selects only what --exclude 'stg_a' excludes");
      expect(ls(['-s', 'stg_a', 'mart', '--exclude', 'stg_a']).stderr).toContain("error: selector 'stg_a' selects only what --exclude 'stg_a' excludes");
      const none = ls(['--selector', 'none']);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain("selector 'none' of selectors.yml selects nothing (its parts: 'tag:nightly,report', 'tag:hourly,report')");
    } finally {
      writeFileSync(join(dir, 'selectors.yml'), SELECTORS);
    }
  });

  it('--selector with -s or --exclude, an unknown name, no selectors.yml: exit 2', () => {
    const both = ls(['--selector', 'nightly', '-s', 'mart']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--selector nightly does not combine with -s/--select');
    expect(ls(['--selector', 'nightly', '--exclude', 'mart']).stderr).toContain('does not combine with --exclude');
    // (vigil sync status: commander hands the options after `status` to `sync`, which the command reads too — was: -s used, --selector dropped)
    const status = vigil(dir, ['sync', 'status', '--selector', 'nightly', '-s', 'mart']);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('--selector nightly does not combine with -s/--select');
    const typo = ls(['--selector', 'nightlly']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("--selector nightlly: selectors.yml has no selector of that name — did you mean 'nightly'?");
    const empty = ls(['--selector', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('error: --selector is empty: give the name of a selector of selectors.yml (its selectors: nightly, mart_up,');
    const bare = makeProject({ 'models/m.sql': 'select 1 as id' });
    try {
      const r = vigil(bare, ['ls', '--selector', 'x']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--selector x: the project has no selectors.yml');
      // a folder of that name is no file: a command given no --selector selects as without it (was: exit 2, '--selector undefined: ...')
      mkdirSync(join(bare, 'selectors.yml'));
      const plain = vigil(bare, ['ls']);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stdout).toBe('m\n');
      expect(vigil(bare, ['ls', '--selector', 'x']).stderr).toContain('--selector x: the project has no selectors.yml');
      // (a command without a node selection does not take it)
      const a = vigil(bare, ['dashboards', 'validate', '--selector', 'x']);
      expect(a.code).toBe(2);
      expect(a.stderr).toContain('takes no --selector');
    } finally {
      removeDir(bare);
    }
  });

  it('what the translation cannot express, and mistakes of the file, are errors at their lines (exit 2)', () => {
    const cases: Array<[string, string]> = [
      ['definition:\n      union:\n        - union: [tag:nightly, {exclude: [stg_b]}]\n        - tag:hourly', 'selectors.yml:5:42: error: an exclude: below the top level of a definition'],
      ['definition:\n      mehtod: tag\n      value: nightly', "selectors.yml:4:7: error: unknown key 'mehtod' — did you mean 'method'?"],
      ['definition:\n      method: tag\n      value: nightly\n      greedy: true', "selectors.yml:6:7: error: unknown key 'greedy' — dbt 0.21's, which dbt 1.x ignores: it became indirect_selection:"],
      ['definition:\n      method: tga\n      value: nightly', "selectors.yml:4:15: error: unknown selector method 'tga' — did you mean 'tag'?"],
      ['definition: "result:error+"', "selectors.yml:3:17: error: unknown selector method 'result'"],
      ['definitoin: tag:nightly', "selectors.yml:3:5: error: unknown key 'definitoin' — did you mean 'definition'?"],
      ['definition: "{{ var(\'t\') }}"', 'selectors.yml:3:17: error: Jinja in selectors.yml is not rendered by Vigil'],
      ['definition: "tag:a tag:b"', "selectors.yml:3:17: error: 'tag:a tag:b' is more than one selector"],
      ['definition:\n      method: tag\n      value: nightly\n      parents_depth: 1', 'selectors.yml:6:22: error: parents_depth: without parents: true selects no parents'],
      // (dbt reads a depth of 0 as none given, every generation: was mart alone here, where dbt selects its ancestors too)
      ['definition:\n      method: name\n      value: mart\n      parents: true\n      parents_depth: 0', "selectors.yml:7:22: error: parents_depth: 0 — dbt reads it as no limit (every generation), -s reads '0+x' as none"],
      ['definition:\n      method: name\n      value: stg_a\n      children: true\n      children_depth: 0', "selectors.yml:7:23: error: children_depth: 0 — dbt reads it as no limit"],
      ['definition:\n      union:\n        - method: tag\n          value: nightly\n          indirect_selection: cautious\n        - tag:hourly', 'selectors.yml:8:11: error: indirect_selection: eager here, cautious for'],
      ['definition:\n      intersection:\n        - union: [tag:nightly, tag:hourly]\n        - method: path\n          value: models\n          indirect_selection: cautious', "selectors.yml:8:31: error: indirect_selection: cautious here, eager for 'tag:nightly' (the default)"],
      ['definition:\n      union:\n        - method: tag\n          value: nightly\n          exclude: [stg_a]', "selectors.yml:5:11: error: 'method' beside exclude: in an item of union:"],
      ['definition:\n      method: selector\n      value: y\n  - name: y\n    definition:\n      method: selector\n      value: x', "error: selector 'x' includes itself: x → y → x"],
      ['definition: tag:nightly\n  - name: x\n    definition: tag:hourly', "selectors.yml:4:11: error: selector 'x' is defined twice (first at line 2)"],
    ];
    try {
      for (const [body, said] of cases) {
        writeFileSync(join(dir, 'selectors.yml'), `selectors:\n  - name: x\n    ${body}\n`);
        const r = ls(['--selector', 'x']);
        expect(r.code, body).toBe(2);
        expect(r.stdout, body).toBe('');
        expect(r.stderr, body).toContain(said);
        expect(r.stderr).not.toContain('internal error');
      }
      // a selector that cannot be used is said by a command that does not use it, as a warning
      writeFileSync(join(dir, 'selectors.yml'), 'selectors:\n  - name: x\n    definition:\n      method: tga\n      value: nightly\n');
      const other = ls(['-s', 'mart']);
      expect(other.code, other.stderr).toBe(0);
      expect(other.stderr).toContain("selectors.yml:4:15: warning: unknown selector method 'tga'");
    } finally {
      writeFileSync(join(dir, 'selectors.yml'), SELECTORS);
    }
  });

  it("the default selector: used by a command given no -s, --exclude or --selector, and said; two defaults an error", () => {
    try {
      writeFileSync(join(dir, 'selectors.yml'), `${SELECTORS}  - name: everyday\n    default: true\n    definition: tag:nightly\n`);
      const r = ls([]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("using the default selector 'everyday' from selectors.yml (give -s, --exclude or --selector to select otherwise)\n");
      expect(r.names).toEqual(ls(['-s', 'tag:nightly']).names);
      // -s, --exclude or --selector: the default is not used
      expect(ls(['--exclude', 'report']).names).toEqual(['mart', 'not_null_stg_a_id', 'stg_a', 'stg_b', 'unique_mart_id']);
      expect(ls(['--selector', 'short']).names).toEqual(['mart', 'unique_mart_id']);
      // the default is the project's selection, not the command line's: a command it leaves
      // nothing to run of is "Nothing to do", exit 0, as dbt (was: exit 2, `vigil seed` under a
      // default selecting models); a --selector given is the command line's (exit 2, as -s)
      const seed = vigil(dir, ['seed']);
      expect(seed.code, seed.stderr).toBe(0);
      expect(seed.stdout).toContain('Nothing to do');
      const given = vigil(dir, ['seed', '--selector', 'everyday']);
      expect(given.code).toBe(2);
      expect(given.stderr).toContain('and vigil seed runs seeds: nothing to run');
      writeFileSync(join(dir, 'selectors.yml'), `${SELECTORS}  - name: everyday\n    default: true\n    definition: tag:nightly\n  - name: weekly\n    default: true\n    definition: tag:hourly\n`);
      const two = ls([]);
      expect(two.code).toBe(2);
      expect(two.stderr).toContain("error: selectors 'everyday' and 'weekly' are both default: true");
      // (what concerns the default stops the commands that look for it, not --selector <name>: was exit 2)
      const named = ls(['--selector', 'short']);
      expect(named.code, named.stderr).toBe(0);
      expect(named.names).toEqual(['mart', 'unique_mart_id']);
      // dbt's default: "{{ target.name == 'prod' }}": not rendered, so not guessed (exit 2 at its line)
      writeFileSync(join(dir, 'selectors.yml'), `selectors:\n  - name: prod_only\n    default: "{{ target.name == 'prod' }}"\n    definition: tag:nightly\n`);
      const jinja = ls([]);
      expect(jinja.code).toBe(2);
      expect(jinja.stderr).toContain("selectors.yml:3:14: error: default: written in Jinja: Vigil does not render selectors.yml, so it cannot tell whether 'prod_only' is the default");
      // (as its hint says: --selector prod_only in that target's jobs)
      const prodOnly = ls(['--selector', 'prod_only']);
      expect(prodOnly.code, prodOnly.stderr).toBe(0);
      expect(prodOnly.names).toEqual(ls(['-s', 'tag:nightly']).names);
            // a file that cannot be read may hide a default: not taken for none
      writeFileSync(join(dir, 'selectors.yml'), 'selectors: [\n');
      expect(ls([]).code).toBe(2);
    } finally {
      writeFileSync(join(dir, 'selectors.yml'), SELECTORS);
    }
  });

  it("a schedule of vigil serve without select: said to select the whole project where the command line selects the default selector (was: no word, serve built what vigil build leaves out)", () => {
    const sched = (job: string) => `${BASIC_PROJECT_YAML}schedules:\n  nightly_build:\n    command: build\n    cron: "0 3 * * *"\n${job}`;
    const p = makeProject({
      'project.yaml': sched(''),
      'models/a.sql': "{{ config(tags=['nightly']) }}\nselect 1 as id",
      'models/b.sql': 'select 2 as id',
      'selectors.yml': 'selectors:\n  - name: everyday\n    default: true\n    definition: tag:nightly\n',
    });
    try {
      const r = vigil(p, ['check']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("project.yaml:9:3: warning: schedules.nightly_build: build of the whole project — vigil serve does not use selectors.yml's default selector 'everyday', which vigil build without -s does [W_SCHEDULE]");
      // a job with its selection: nothing said
      writeFileSync(join(p, 'project.yaml'), sched('    select: ["fqn:*"]\n'));
      const selected = vigil(p, ['check']);
      expect(selected.code, selected.stderr).toBe(0);
      expect(selected.stderr).not.toContain('W_SCHEDULE');
    } finally {
      removeDir(p);
    }
  });

  it('vigil init --from-dbt copies selectors.yml and lists a selector Vigil cannot express at its line (was: not copied, "Vigil has no YAML selectors")', () => {
    const src = makeProject({ 'dbt_project.yml': "name: shop\nprofile: shop\nversion: '1.0'\n", 'models/m.sql': 'select 1 as id', 'selectors.yml': 'selectors:\n  - name: ok\n    definition: m\n  - name: bad\n    definition:\n      method: version\n      value: latest\n' }, false);
    try {
      const r = vigil(src, ['init', 'out', '--from-dbt', '.']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("selectors.yml:6: unknown selector method 'version': --selector refuses it until it is fixed");
      const ok = vigil(join(src, 'out'), ['ls', '--selector', 'ok']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe('m\n');
    } finally {
      removeDir(src);
    }
  });
});
