/**
 * The compile-time PII check (docs/governance.md) in each command that runs it: `vigil check`
 * refuses what compile and build refuse, and a refused project leaves target/ (the manifest, the
 * compiled SQL) as the last good compile wrote it, as a compile error does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const LEAK = "select id, name, email as leaked from {{ ref('people') }}\n";
const E_PII = /^models\/safe\.sql:1:1: error: column 'leaked' of model 'safe' publishes PII unmasked: it is a copy of people\.email \[E_PII\]/m;

function project(safe: string): string {
  const dir = makeProject({
    'seeds/people.csv': 'id,name,email\n1,Ann,a@x.com\n',
    'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n',
    'models/safe.sql': safe,
  });
  dirs.push(dir);
  return dir;
}

describe('the PII check', () => {
  it('vigil check refuses what compile and build refuse: E_PII at its line, exit 2, nothing written (was: OK, exit 0; build --check passed the check)', () => {
    const dir = project(LEAK);
    const r = vigil(dir, ['check']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(E_PII);
    expect(r.stdout).not.toMatch(/^OK/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'target/manifest.json'))).toBe(false);
    // the same error, from the check that build --check runs first
    const b = vigil(dir, ['build', '--check']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(E_PII);
    expect(b.stdout).not.toMatch(/build: target|^OK/m);
  });

  it.each([['compile'], ['run'], ['build']])('vigil %s refused by the PII check writes no manifest and no compiled SQL (was: both rewritten, "nothing was run")', (command) => {
    const dir = project("select id, name from {{ ref('people') }}\n");
    expect(vigil(dir, ['build']).code).toBe(0);
    const manifest = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    const compiled = join(dir, 'target/compiled/fixture/models/safe.sql');
    const sql = readFileSync(compiled, 'utf8');
    writeFileSync(join(dir, 'models/safe.sql'), LEAK);
    const r = vigil(dir, [command]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(E_PII);
    expect(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).toBe(manifest);
    expect(readFileSync(compiled, 'utf8')).toBe(sql);
  });

  it('vigil retry of a build refused by the PII check writes no manifest (was: rewritten before the check)', () => {
    const dir = project("select id, name from {{ ref('people') }}\n");
    writeFileSync(join(dir, 'models/broken.sql'), 'select * from no_such_table\n');
    expect(vigil(dir, ['build']).code).toBe(1);
    const manifest = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    writeFileSync(join(dir, 'models/broken.sql'), 'select 1 as id\n');
    writeFileSync(join(dir, 'models/safe.sql'), LEAK);
    const r = vigil(dir, ['retry']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(E_PII);
    expect(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).toBe(manifest);
  });
});
