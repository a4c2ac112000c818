/**
 * The fast YAML path (@stoplight/yaml: values and positions in one pass) against the yaml
 * package's document, which Vigil used alone before and still uses for anything the fast parser
 * has a remark about: on every YAML file of this repository (the shipped project, the scaffolds'
 * fixtures, the dbt example, the docs) and on edge cases of YAML 1.2's core schema, the two give
 * the same values, the same position for every path (value and key), the same written source of
 * every scalar, and the same errors.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, valuePaths as paths } from '../helpers.js';
import { parseYaml, type YamlSource } from '../../src/project/yaml-source.js';
import type { Diagnostic } from '../../src/errors.js';

function both(text: string, file = 'x.yml') {
  const fastDs: Diagnostic[] = [];
  const slowDs: Diagnostic[] = [];
  return { fast: parseYaml(text, file, fastDs, 'fast'), slow: parseYaml(text, file, slowDs, 'slow'), auto: parseYaml(text, file, [], 'auto'), fastDs, slowDs };
}

/** Positions and written scalars of every path agree (a missing path too: its nearest ancestor). */
function expectSamePlaces(fast: YamlSource, slow: YamlSource, file: string): number {
  const all = paths(slow.value);
  for (const p of [...all, ...all.slice(1).map((q) => [...q, 'no_such_key'])]) {
    expect(fast.locate(p), `${file} ${p.join('.')}`).toEqual(slow.locate(p));
    expect(fast.locate(p, true), `${file} ${p.join('.')} (key)`).toEqual(slow.locate(p, true));
    expect(fast.scalarAt(p), `${file} ${p.join('.')} (scalar)`).toEqual(slow.scalarAt(p));
  }
  return all.length;
}

describe('the fast YAML path reads what the yaml package reads', () => {
  const files = execFileSync('git', ['ls-files', '*.yml', '*.yaml'], { cwd: REPO, encoding: 'utf8' }).trim().split('\n');

  it(`every YAML file of the repository (${files.length}): same values, same positions for every path, same scalars as written`, () => {
    let checked = 0;
    for (const f of files) {
      const text = readFileSync(join(REPO, f), 'utf8');
      const { fast, slow, auto, slowDs } = both(text, f);
      if (!slow) {
        // (a file kept broken on purpose: the fast path must not accept it either)
        expect(auto, f).toBeUndefined();
        continue;
      }
      expect(slowDs, f).toEqual([]);
      expect(fast, f).toBeDefined();
      expect(fast!.value, f).toEqual(slow.value);
      expect(auto!.value, f).toEqual(slow.value);
      checked += expectSamePlaces(fast!, slow, f);
    }
    expect(files.length).toBeGreaterThan(20);
    expect(checked).toBeGreaterThan(5_000);
  });

  // YAML 1.2 core schema: what the yaml package makes of each; the automatic path must agree
  const cases: Record<string, string> = {
    'yes/no/on/off stay strings': 'a: yes\nb: on\nc: No\nd: off',
    'dates stay strings': 'a: 2026-01-01\nb: 2026-01-01T10:00:00Z',
    numbers: 'a: 0o17\nb: 017\nc: 0x1F\nd: 1e3\ne: +12\nf: 1.\ng: .5\nh: 12345678901234567890\ni: 09',
    'not numbers': 'a: 1_000\nb: 1:20\nc: 0b101\nd: =',
    'infinities and nan': 'a: .inf\nb: -.INF\nc: .nan',
    nulls: 'a: ~\nb: Null\nc: null\nd:\ne: NULL',
    booleans: 'a: TRUE\nb: True\nc: tRue\nd: false',
    'merge keys are plain keys': 'x: &d {b: 1}\ny:\n  <<: *d\n  c: 2',
    'explicit tags': 'a: !!str 12\nb: !!int "7"',
    'a custom tag': 'a: !custom 12',
    'quoting and escapes': 'a: "\\u00e9\\t"\nb: \'it\'\'s\'\nc: "x # not a comment"',
    'block scalars': 'a: |\n  x\n  y\nb: >-\n  x\n  y\nc: |+\n  z\n\nd: 1\n',
    'numeric keys': '1: a\n2: b',
    'a null key': '~: x',
    'a complex key': '? [a, b]\n: c',
    'flow collections': 'a: [1, 2, {b: c, d: [e]}]\nb: {}\nc: []',
    'empty list items': 'a:\n  - b\n  -\n  - c',
    'anchors and aliases': 'a: &x 1\nb: *x\nc: &m {k: v}\nd: *m',
    'an alias before its anchor': 'a: *x\nb: &x 1',
    'an alias inside its own anchor': 'route: &r\n  receiver: a\n  routes:\n    - <<: *r\n',
    'an alias as an item of its own anchor': 'a: &l [1, *l]',
    'a duplicate key': 'a: 1\na: 2',
    'two documents': 'a: 1\n---\nb: 2',
    'an incomplete pair': 'a: b: c',
    'a tab in the indentation': 'a:\n\t- b',
    'an unterminated string': 'a: "x',
    'a lone dash': 'a: -',
    empty: '',
    'only a comment': '# nothing',
    'comments everywhere': '# top\na: 1 # one\n# between\nb:\n  # inside\n  - 2 # two\n',
    'a document marker': '---\na: 1\n...\n',
    'windows line ends': 'a: 1\r\nb:\r\n  - x\r\n',
    'unicode keys': 'ключ: значение\n"emoji 🚨": 1',
    'long plain scalars over lines': 'a: one\n  two\n  three\nb: x',
    'indentation of lists under keys': 'a:\n- 1\n- 2\nb: 3',
    'a bang inside a string takes the slow path and still agrees': 'summary: "spike!"\nnote: wow ! yes',
  };
  for (const [name, text] of Object.entries(cases)) {
    it(name, () => {
      const slowDs: Diagnostic[] = [];
      const autoDs: Diagnostic[] = [];
      const slow = parseYaml(text, 'x.yml', slowDs, 'slow');
      const auto = parseYaml(text, 'x.yml', autoDs, 'auto');
      // the same errors, worded and placed the same; the same values
      expect(autoDs).toEqual(slowDs);
      expect(auto === undefined).toBe(slow === undefined);
      if (!slow) {
        expect(slowDs.length).toBe(1);
        return;
      }
      expect(auto!.value).toEqual(slow.value);
      expectSamePlaces(auto!, slow, name);
    });
  }

  it('an alias before its anchor is one E_YAML line, not a crash', () => {
    const ds: Diagnostic[] = [];
    expect(parseYaml('a: *x\nb: &x 1', 'alerts/a.yaml', ds)).toBeUndefined();
    expect(ds).toMatchObject([{ code: 'E_YAML', file: 'alerts/a.yaml', message: expect.stringMatching(/alias/i) }]);
  });

  it('an alias before its anchor is placed at the alias (was: 1:1)', () => {
    const ds: Diagnostic[] = [];
    expect(parseYaml('route:\n  receiver: a\n  routes:\n    - <<: *later\n  x: &later {receiver: b}\n', 'alerts/routes.yaml', ds)).toBeUndefined();
    expect(ds.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(['4:11 Unresolved alias (the anchor must be set before the alias): later']);
  });

  it.each(['fast', 'slow'] as const)('an alias inside its own anchor (a value holding itself) is an error at the alias, read %s (was: a stack overflow, or a value cut short)', (how) => {
    const ds: Diagnostic[] = [];
    expect(parseYaml('route: &root\n  receiver: a\n  routes:\n    - <<: *root\n      receiver: b\n', 'alerts/routes.yaml', ds, how)).toBeUndefined();
    expect(ds.map((d) => `${d.code} ${d.line}:${d.column} ${d.message}`)).toEqual(['E_YAML 4:11 the alias *root is inside the value its anchor &root names: a value cannot hold (or merge) itself']);
  });
});
