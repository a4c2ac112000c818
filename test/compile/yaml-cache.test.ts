/**
 * The kept YAML (src/project/yaml-cache.ts): a properties file whose text is what the last run
 * read is taken from `<target>/.cache/yaml.bin` instead of being parsed and validated again.
 * Checked: a kept tree places every node of every YAML file of the repository exactly as the
 * parser's own tree does (value and key, scalars as written, missing paths); a second load
 * answers from the cache (proven by tampering with it) and gives the same project and manifest
 * as a load without it; any change of a file's text (same size, same modification time
 * included) reads it again; a file with a problem is never kept, so its diagnostics stay whole;
 * only loads for a compile write it; a cache that would hold a secret's value is not written.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import { makeProject, REPO, removeDir, valuePaths as paths } from '../helpers.js';
import { parseYamlKeeping, yamlFromTree } from '../../src/project/yaml-source.js';
import { YamlCache } from '../../src/project/yaml-cache.js';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { resetSecrets } from '../../src/secrets.js';
import type { Diagnostic } from '../../src/errors.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function shipped(): string {
  const dir = makeProject({}, false);
  dirs.push(dir);
  for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  return dir;
}

const cacheFile = (dir: string) => join(dir, 'target', '.cache', 'yaml.bin');
const KEEP = { keepYaml: true };
const manifestOf = (dir: string) => JSON.stringify(compileProject(loadProject(dir, KEEP), { env: {} }).manifest);

describe('kept YAML', () => {
  it('a kept tree places every node of every YAML file of the repository as the parser does', () => {
    const root = makeProject({}, false);
    dirs.push(root);
    const files = execFileSync('git', ['ls-files', '*.yml', '*.yaml'], { cwd: REPO, encoding: 'utf8' }).trim().split('\n');
    // and what the repository's files do not have: anchors and aliases, empty maps, lists and values
    const edges: Record<string, string> = {
      'edge/anchors.yml': 'base: &b\n  a: 1\n  b: [1, 2]\ncopy: *b\nlist:\n  - &x hello\n  - *x\n',
      'edge/empty.yml': 'm: {}\ns: []\nnothing:\nitems:\n  -\n  - x\n  - {}\n',
      'edge/flow.yml': '{a: [1, {b: null, c: "q"}], d: \'x\'}\n',
      'edge/blocks.yml': 'text: |\n  block\n  text\nfolded: >\n  a\n  b\nnull_key: ~\n',
    };
    const cache = YamlCache.open(root, 'target');
    const fresh = new Map<string, { text: string; source: NonNullable<ReturnType<typeof parseYamlKeeping>['source']> }>();
    for (const [f, text] of Object.entries(edges)) {
      const { source, tree } = parseYamlKeeping(text, f, []);
      expect(tree, f).toBeDefined();
      fresh.set(f, { text, source: source! });
      cache.keep(f, text, { value: source!.value, tree: tree!, data: { file: f } });
    }
    for (const f of files) {
      const text = readFileSync(join(REPO, f), 'utf8');
      const { source, tree } = parseYamlKeeping(text, f, []);
      if (!source || tree === undefined) continue; // (read by the yaml package: never kept)
      fresh.set(f, { text, source });
      cache.keep(f, text, { value: source.value, tree, data: { file: f } });
    }
    cache.save();
    expect(fresh.size).toBeGreaterThan(20);
    const again = YamlCache.open(root, 'target');
    let checked = 0;
    for (const [f, { text, source }] of fresh) {
      const k = again.take(f, text)!;
      expect(k, f).toBeDefined();
      expect(k.data).toEqual({ file: f });
      const kept = yamlFromTree(f, text, k.tree, k.value);
      expect(kept.value, f).toEqual(source.value);
      const all = paths(source.value);
      for (const p of [...all, ...all.slice(1).map((q) => [...q, 'no_such_key']), ...all.slice(1).map((q) => [...q, 99999])]) {
        expect(kept.locate(p), `${f} ${p.join('.')}`).toEqual(source.locate(p));
        expect(kept.locate(p, true), `${f} ${p.join('.')} (key)`).toEqual(source.locate(p, true));
        expect(kept.scalarAt(p), `${f} ${p.join('.')} (scalar)`).toEqual(source.scalarAt(p));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });

  it('a second load answers from the cache, with the same project and manifest as a load without it', () => {
    const dir = shipped();
    const first = manifestOf(dir);
    expect(existsSync(cacheFile(dir))).toBe(true);
    const stamp = statSync(cacheFile(dir)).mtimeMs;
    expect(manifestOf(dir)).toBe(first);
    // nothing changed: nothing rewritten
    expect(statSync(cacheFile(dir)).mtimeMs).toBe(stamp);
    // without the cache: the same
    rmSync(cacheFile(dir));
    expect(manifestOf(dir)).toBe(first);

    // proof that the second load reads the cache: a kept description, changed in the cache only, comes back
    const s = deserialize(readFileSync(cacheFile(dir))) as { files: Map<string, { data: { models?: Array<{ name: string; description?: string }> } }> };
    const marts = s.files.get('models/marts/marts.yml')!;
    const m = marts.data.models!.find((x) => x.name === 'ai_audit_daily')!;
    m.description = 'FROM THE CACHE';
    writeFileSync(cacheFile(dir), serialize(s));
    const p = loadProject(dir, KEEP).properties.find((x) => x.path === 'models/marts/marts.yml')!;
    expect(p.data.models!.find((x) => x.name === 'ai_audit_daily')!.description).toBe('FROM THE CACHE');
  });

  it('a changed text is read again, even with the same size and modification time', () => {
    const dir = shipped();
    loadProject(dir, KEEP);
    const f = join(dir, 'models', 'marts', 'marts.yml');
    const before = statSync(f);
    const text = readFileSync(f, 'utf8');
    const i = text.search(/description: [A-Za-z]/);
    expect(i).toBeGreaterThan(0);
    // one letter of the first description changed: same size, and the old modification time put back
    const changed = text.slice(0, i + 13) + (text[i + 13] === 'X' ? 'Y' : 'X') + text.slice(i + 14);
    writeFileSync(f, changed);
    utimesSync(f, before.atime, before.mtime);
    expect(statSync(f).size).toBe(before.size);
    const p = loadProject(dir, KEEP).properties.find((x) => x.path === 'models/marts/marts.yml')!;
    const count = (hay: string, needle: string) => hay.split(needle).length - 1;
    const was = text.slice(i + 13, text.indexOf('\n', i)).trim();
    const now = changed.slice(i + 13, changed.indexOf('\n', i)).trim();
    expect(count(JSON.stringify(p.data), JSON.stringify(now))).toBe(count(text, `description: ${now}`) + 1);
    expect(count(JSON.stringify(p.data), JSON.stringify(was))).toBe(count(text, `description: ${was}`) - 1);
  });

  it('a file with a problem is not kept: its diagnostics are whole on every load', () => {
    const dir = shipped();
    loadProject(dir, KEEP);
    writeFileSync(join(dir, 'models', 'bad.yml'), 'models:\n  - name: ai_audit_daily\n    colums: []\n');
    const once = loadProject(dir, KEEP).diagnostics.map((d: Diagnostic) => `${d.file}:${d.line}: ${d.message}`);
    expect(once.length).toBeGreaterThan(0);
    expect(once.join('\n')).toContain('models/bad.yml:3');
    const s = deserialize(readFileSync(cacheFile(dir))) as { files: Map<string, unknown> };
    expect(s.files.has('models/bad.yml')).toBe(false);
    expect(s.files.has('models/marts/marts.yml')).toBe(true);
    expect(loadProject(dir, KEEP).diagnostics.map((d: Diagnostic) => `${d.file}:${d.line}: ${d.message}`)).toEqual(once);
    // and a file deleted is dropped from the cache
    rmSync(join(dir, 'models', 'bad.yml'));
    rmSync(join(dir, 'models', 'staging', 'staging.yml'));
    loadProject(dir, KEEP);
    const after = deserialize(readFileSync(cacheFile(dir))) as { files: Map<string, unknown> };
    expect(after.files.has('models/staging/staging.yml')).toBe(false);
  });

  it('only commands that compile write it: loading to read (vigil debug, vigil clean) creates no target/', () => {
    const dir = shipped();
    loadProject(dir);
    expect(existsSync(join(dir, 'target'))).toBe(false);
    loadProject(dir, KEEP);
    expect(existsSync(cacheFile(dir))).toBe(true);
  });

  it("a cache that would hold a secret's value is not written", () => {
    const secret = 'sk-live-8f3a9c1d2e7b4a6f0c5d';
    const dir = makeProject({
      'models/a.sql': 'select 1 as x',
      'models/a.yml': `models:\n  - name: a\n    description: "token ${secret}"\n`,
    });
    dirs.push(dir);
    /** a load while the secret is known (a variable named like a secret holds it): no cache; then one without, to show what it would have held */
    const loadWithAndWithout = () => {
      process.env.VIGIL_TEST_API_TOKEN = secret;
      resetSecrets();
      try {
        loadProject(dir, KEEP);
        expect(existsSync(cacheFile(dir))).toBe(false);
      } finally {
        delete process.env.VIGIL_TEST_API_TOKEN;
        resetSecrets();
      }
      loadProject(dir, KEEP);
      expect(existsSync(cacheFile(dir))).toBe(true);
    };
    loadWithAndWithout();
    expect(readFileSync(cacheFile(dir)).includes(secret)).toBe(true);

    // in a text with a character beyond Latin-1, v8 keeps the string (and the secret) as UTF-16
    writeFileSync(join(dir, 'models/a.yml'), `models:\n  - name: a\n    description: "σ token ${secret}"\n`);
    rmSync(cacheFile(dir));
    loadWithAndWithout();
    expect(readFileSync(cacheFile(dir)).includes(Buffer.from(secret, 'utf16le'))).toBe(true);
  });
});

/**
 * Dashboards are JSON read as YAML for the places of their nodes (compile-dashboards.ts): one read
 * cleanly is kept in the same cache (load-project.ts), by its text, and taken instead of parsed.
 */
describe('kept dashboards', () => {
  const withDashboards = () => {
    const dir = shipped();
    cpSync(join(REPO, 'dashboards'), join(dir, 'dashboards'), { recursive: true });
    return dir;
  };
  const said = (dir: string) => compileProject(loadProject(dir, KEEP), { env: {} }).diagnostics.map((d: Diagnostic) => `${d.severity} ${d.file}:${d.line}:${d.column}: ${d.message}`);
  type Kept = { files: Map<string, { value: { title?: string } }> };

  it('a dashboard read cleanly is kept: the next load takes it from the cache, with the same manifest as without it', () => {
    const dir = withDashboards();
    const first = manifestOf(dir);
    expect(first).toContain('"exposure.ai_audit.overview"');
    const s = deserialize(readFileSync(cacheFile(dir))) as Kept;
    expect([...s.files.keys()].filter((f) => f.startsWith('dashboards/')).sort()).toEqual(['dashboards/capability.json', 'dashboards/compliance.json', 'dashboards/cost_governance.json', 'dashboards/overview.json', 'dashboards/workspace.json']);
    expect(manifestOf(dir)).toBe(first);
    rmSync(cacheFile(dir));
    expect(manifestOf(dir)).toBe(first);
    // proof that a load reads it: a title changed in the cache only comes back
    const t = deserialize(readFileSync(cacheFile(dir))) as Kept;
    t.files.get('dashboards/overview.json')!.value.title = 'FROM THE CACHE';
    writeFileSync(cacheFile(dir), serialize(t));
    const m = compileProject(loadProject(dir, KEEP), { env: {} }).manifest;
    expect(m.exposures?.['exposure.ai_audit.overview']?.title).toBe('FROM THE CACHE');
  });

  it('a changed dashboard is read again (same size and modification time too), its problems at their places as a load without the cache says', () => {
    const dir = withDashboards();
    expect(said(dir).filter((d) => d.includes('dashboards/'))).toEqual([]);
    const f = join(dir, 'dashboards', 'overview.json');
    const before = statSync(f);
    const text = readFileSync(f, 'utf8');
    // a filter's column renamed to one no model has (same length): said at its line
    const changed = text.replace('"column": "provider"', '"column": "provxder"');
    expect(changed).not.toBe(text);
    writeFileSync(f, changed);
    utimesSync(f, before.atime, before.mtime);
    const once = said(dir).filter((d) => d.includes('dashboards/overview.json'));
    expect(once.join('\n')).toContain('provxder');
    rmSync(cacheFile(dir));
    expect(said(dir).filter((d) => d.includes('dashboards/overview.json'))).toEqual(once);
    // lines moved (two lines added at the top): the places follow, kept or not
    writeFileSync(f, changed.replace('{\n', '{\n\n\n'));
    const moved = said(dir).filter((d) => d.includes('dashboards/overview.json'));
    expect(moved).not.toEqual(once);
    expect(said(dir).filter((d) => d.includes('dashboards/overview.json'))).toEqual(moved);
    rmSync(cacheFile(dir));
    expect(said(dir).filter((d) => d.includes('dashboards/overview.json'))).toEqual(moved);
  });

  it('a dashboard with a problem is not kept: its diagnostics are whole on every load', () => {
    const dir = withDashboards();
    const f = join(dir, 'dashboards', 'overview.json');
    // a key given twice: JSON.parse keeps the last, the YAML parser refuses it
    writeFileSync(f, readFileSync(f, 'utf8').replace('"name": "overview",', '"name": "overview",\n  "name": "overview",'));
    const once = said(dir).filter((d) => d.includes('dashboards/overview.json'));
    expect(once.join('\n')).toMatch(/given twice/);
    const s = deserialize(readFileSync(cacheFile(dir))) as Kept;
    expect(s.files.has('dashboards/overview.json')).toBe(false);
    expect(s.files.has('dashboards/workspace.json')).toBe(true);
    expect(said(dir).filter((d) => d.includes('dashboards/overview.json'))).toEqual(once);
  });
});
