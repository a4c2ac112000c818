/**
 * `vigil docs generate` failing half-way through writing the site (a full disk; here a file size
 * limit, `ulimit -f`, which needs no privilege: the page over it fails with EFBIG, as a full disk
 * fails one with ENOSPC): one line, exit 1, and the previous site left whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { makeProject, removeDir, VIGIL, vigil } from '../helpers.js';

let dir: string;
const bash = spawnSync('bash', ['-c', 'ulimit -f 64 && echo ok'], { encoding: 'utf8' });
const canLimit = bash.status === 0 && bash.stdout.trim() === 'ok';

/** The CLI in a process whose files may not grow past `kb` KB. */
function limited(kb: number, args: string[]) {
  const r = spawnSync('bash', ['-c', `ulimit -f ${kb} && exec "$0" "$@"`, process.execPath, VIGIL, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = makeProject({
    'models/small.sql': 'select 1 as id',
    'models/big.sql': 'select 2 as id',
    'models/big.yml': `models:\n  - name: big\n    description: "${'a long description. '.repeat(10_000)}"\n`,
  });
});
afterAll(() => {
  if (dir) removeDir(dir);
});

describe.skipIf(!canLimit)('vigil docs generate that fails half-way', () => {
  it('keeps the previous site whole and says in one line what failed', () => {
    const first = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(first.code, first.stderr).toBe(0);
    const docs = join(dir, 'target/docs');
    const before = new Map(['index.html', 'docs.json', ...readdirSync(join(docs, 'nodes')).map((f) => `nodes/${f}`)].map((f) => [f, readFileSync(join(docs, f), 'utf8')]));
    expect([...before.keys()].some((f) => f.includes('model.fixture.big'))).toBe(true);
    // the description grows: the site of this run no longer fits the limit (its big page, docs.json)
    writeFileSync(join(dir, 'models/big.yml'), `models:\n  - name: big\n    description: "${'a longer description. '.repeat(10_000)}"\n`);
    const r = limited(150, ['docs', 'generate', '--empty-catalog']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot write .*: file too large .*\(EFBIG\)\n$/m);
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // every page of the earlier site is there, as it was (was: the site removed first, then an
    // index.html written whose pages were missing)
    for (const [f, text] of before) expect(readFileSync(join(docs, f), 'utf8'), f).toBe(text);
    expect(readdirSync(join(docs, 'nodes')).length).toBe(before.size - 2);
    // nothing of the failed run left beside it
    expect(readdirSync(join(dir, 'target')).filter((f) => f.startsWith('docs.'))).toEqual([]);
    // and the next run, with room, writes the new site
    const again = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(docs, 'docs.json'), 'utf8')).toContain('a longer description.');
    expect(existsSync(join(docs, 'index.html'))).toBe(true);
  });

  it('removes what a generate killed on the way left beside the site', () => {
    // a process id no process has (above the kernel's pid_max)
    const stale = join(dir, `target/docs.${encodeURIComponent(hostname()).replace(/\./g, '%2E')}.4194399.0a1b2c3d.new`);
    spawnSync('mkdir', ['-p', join(stale, 'nodes')]);
    writeFileSync(join(stale, 'index.html'), 'half');
    const r = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(join(dir, 'target')).filter((f) => f.startsWith('docs.'))).toEqual([]);
  });
});
