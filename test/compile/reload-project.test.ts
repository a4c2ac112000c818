/**
 * reloadProject (what --watch re-reads after a change) against loadProject (everything read
 * again): after each kind of change — a model edited, added, deleted; properties YAML edited,
 * broken, fixed; a docs block, a macro, a seed, a new folder, project.yaml — both give the same
 * project, file for file.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject, reloadProject, type ProjectFiles } from '../../src/project/load-project.js';
import { makeProject, removeDir } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** What a compile reads of a project, comparable with toEqual. */
function view(f: ProjectFiles) {
  const files = (l: ProjectFiles['models'] | undefined) => (l ?? []).map((x) => [x.path, x.text]);
  return {
    project: f.project,
    models: files(f.models),
    macros: files(f.macros),
    tests: files(f.singularTests),
    dashboards: files(f.dashboards),
    seeds: (f.seeds ?? []).map((x) => x.path),
    snapshots: files(f.snapshots),
    docs: files(f.docs),
    properties: f.properties.map((p) => [p.path, p.data]),
    unvalidatedSources: [...(f.unvalidatedSources ?? new Map())].sort(),
    diagnostics: f.diagnostics.map((d) => [d.file, d.line, d.message]).sort(),
    links: [...(f.links ?? new Map())].sort(),
  };
}

describe('reloadProject', () => {
  it('re-reads only what changed and agrees with a full load after every kind of change', () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id\n',
      'models/sub/b.sql': "select * from {{ ref('a') }}\n",
      'models/schema.yml': 'models:\n  - name: a\n    description: first\n',
      'models/docs.md': '{% docs x %}x{% enddocs %}\n',
      'macros/m.sql': '{% macro m() %}1{% endmacro %}\n',
      'seeds/s.csv': 'id\n1\n',
      'tests/t.sql': 'select 1 where false\n',
      'tests/unit/u.yml': 'unit_tests: []\n',
    });
    dirs.push(dir);
    let files = loadProject(dir);
    const step = (changed: string[], act: () => void) => {
      act();
      files = reloadProject(files, changed);
      expect(view(files), changed.join(', ')).toEqual(view(loadProject(dir)));
    };
    step(['models/a.sql'], () => writeFileSync(join(dir, 'models/a.sql'), 'select 2 as id\n'));
    step(['models/sub/c.sql'], () => writeFileSync(join(dir, 'models/sub/c.sql'), 'select 3 as id\n'));
    step(['models/sub/b.sql'], () => rmSync(join(dir, 'models/sub/b.sql')));
    step(['models/schema.yml'], () => writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    description: second\n'));
    step(['models/schema.yml'], () => writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n   description: broken indent\n'));
    expect(files.diagnostics.some((d) => d.file === 'models/schema.yml')).toBe(true);
    step(['models/schema.yml'], () => writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: a\n    description: fixed\n'));
    expect(files.diagnostics).toEqual([]);
    // a sources file that fails validation: its tables are remembered (compile does not call each use "not found"), until it is fixed
    step(['models/src.yml'], () => writeFileSync(join(dir, 'models/src.yml'), 'sources:\n  - name: raw\n    tables:\n      - name: e\n        typo: 1\n      - name: f\n'));
    expect([...files.unvalidatedSources!]).toEqual([['models/src.yml', ['raw.e', 'raw.f']]]);
    step(['models/src.yml'], () => writeFileSync(join(dir, 'models/src.yml'), 'sources:\n  - name: raw\n    tables:\n      - name: e\n      - name: f\n'));
    expect(files.unvalidatedSources!.size).toBe(0);
    step(['models/more.yml'], () => writeFileSync(join(dir, 'models/more.yml'), 'models:\n  - name: c\n    description: new file\n'));
    step(['models/docs.md'], () => writeFileSync(join(dir, 'models/docs.md'), '{% docs x %}y{% enddocs %}\n'));
    step(['macros/m.sql'], () => writeFileSync(join(dir, 'macros/m.sql'), '{% macro m() %}2{% endmacro %}\n'));
    step(['seeds/s2.csv'], () => writeFileSync(join(dir, 'seeds/s2.csv'), 'id\n2\n'));
    step(['tests/t.sql', 'tests/unit/u.yml'], () => {
      writeFileSync(join(dir, 'tests/t.sql'), 'select 2 where false\n');
      writeFileSync(join(dir, 'tests/unit/u.yml'), 'unit_tests: []\n# edited\n');
    });
    // a new folder arrives as one event for the folder: everything is read again
    step(['models/newdir'], () => {
      mkdirSync(join(dir, 'models/newdir'));
      writeFileSync(join(dir, 'models/newdir/d.sql'), 'select 4 as id\n');
    });
    step(['project.yaml'], () => writeFileSync(join(dir, 'project.yaml'), 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: other }\n'));
    // files no compile reads change nothing
    const before = view(files);
    step(['README.md', 'alerts/x.yaml', 'models/notes.txt'], () => writeFileSync(join(dir, 'README.md'), 'hi\n'));
    expect(view(files)).toEqual(before);
  });

  it('folders written ./models/ in project.yaml, and a folder moved away', () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\npaths: { models: ./models/, target: ./target }\n',
      'models/a.sql': 'select 1 as id\n',
      'models/sub/b.sql': 'select 2 as id\n',
    });
    dirs.push(dir);
    let files = loadProject(dir);
    expect(files.paths.models).toBe('models');
    expect(files.paths.target).toBe('target');
    expect(files.models.map((m) => m.path)).toEqual(['models/a.sql', 'models/sub/b.sql']);
    // the watcher names files as models/x.sql
    writeFileSync(join(dir, 'models/c.sql'), 'select 3 as id\n');
    files = reloadProject(files, ['models/c.sql']);
    expect(view(files)).toEqual(view(loadProject(dir)));
    // a folder moved out of the project: one event, for the folder, which no longer exists
    renameSync(join(dir, 'models/sub'), join(dir, 'elsewhere'));
    files = reloadProject(files, ['models/sub']);
    expect(files.models.map((m) => m.path)).toEqual(['models/a.sql', 'models/c.sql']);
    expect(view(files)).toEqual(view(loadProject(dir)));
  });

  it("symbolic links (to a file, to nothing), an editor's lock file, a YAML dashboard, selectors.yml and a unit test's fixture: as a full load (was: a link to nothing crashed it; the load-time checks were skipped)", () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'vigil-linked-'));
    dirs.push(elsewhere);
    writeFileSync(join(elsewhere, 'shared.sql'), 'select 1 as id\n');
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n', 'dashboards/.gitkeep': '' });
    dirs.push(dir);
    let files = loadProject(dir);
    const step = (changed: string[], act: () => void) => {
      act();
      files = reloadProject(files, changed);
      expect(view(files), changed.join(', ')).toEqual(view(loadProject(dir)));
    };
    step(['models/shared.sql'], () => symlinkSync(join(elsewhere, 'shared.sql'), join(dir, 'models/shared.sql')));
    expect([...files.links!.keys()]).toEqual(['models/shared.sql']);
    step(['models/moved.sql'], () => symlinkSync('gone.sql', join(dir, 'models/moved.sql')));
    expect(files.diagnostics.map((d) => `${d.file}: ${d.message} [${d.code}]`)).toEqual(['models/moved.sql: a symbolic link to no file (to gone.sql): not read [W_LINK]']);
    step(['models/moved.sql'], () => rmSync(join(dir, 'models/moved.sql')));
    step(['models/.#a.sql'], () => symlinkSync('user@host.1234:1700000000', join(dir, 'models/.#a.sql')));
    expect(files.models.map((m) => m.path)).toEqual(['models/a.sql', 'models/shared.sql']);
    step(['dashboards/foo.yaml'], () => writeFileSync(join(dir, 'dashboards/foo.yaml'), 'name: foo\n'));
    expect(files.diagnostics.map((d) => d.code)).toEqual(['E_DASHBOARD']);
    step(['dashboards/foo.yaml'], () => rmSync(join(dir, 'dashboards/foo.yaml')));
    // (a selectors.yml with a selector that cannot be used: warned of)
    step(['selectors.yml'], () => writeFileSync(join(dir, 'selectors.yml'), 'selectors: [{ name: a }]\n'));
    expect(files.diagnostics.map((d) => d.code)).toEqual(['W_SELECTORS']);
    step(['models/shared.sql'], () => rmSync(join(dir, 'models/shared.sql')));
    expect(files.links!.size).toBe(0);
    // a fixture a compile read: its change is read again with the rest
    mkdirSync(join(dir, 'tests/unit/fixtures'), { recursive: true });
    writeFileSync(join(dir, 'tests/unit/fixtures/x.csv'), 'id\n1\n');
    expect(files.readFixture!('./tests/unit/fixtures/x.csv')).toBe('id\n1\n');
    const before = files;
    files = reloadProject(files, ['tests/unit/fixtures/x.csv']);
    expect(files.fixturesRead).not.toBe(before.fixturesRead);
    expect(reloadProject(files, ['tests/unit/fixtures/x.csv']).models).toBe(files.models);
  });
});
