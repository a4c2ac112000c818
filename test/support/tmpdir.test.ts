/**
 * The test run's temporary folder (./tmpdir-global-setup.ts): on tmpfs by default, where
 * VIGIL_TEST_TMPDIR says otherwise, reachable by the `postgres` user, removed at the end (or by the
 * next run, when a run was killed); and this run's workers use it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleRunDirs, removeTestTmpDir, tmpfsWithRoom, useTestTmpDir } from './tmpdir-global-setup.js';
import { makeProject, removeDir } from '../helpers.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => removeDir(d)));

describe('the test run temporary folder', () => {
  it('VIGIL_TEST_TMPDIR=<dir>: a folder of its own there, mode 1777, as TMPDIR; removed by name only', () => {
    const base = mkdtempSync(join(tmpdir(), 'base-'));
    made.push(base);
    const env: NodeJS.ProcessEnv = { VIGIL_TEST_TMPDIR: base, TMPDIR: '/somewhere' };
    const dir = useTestTmpDir(env)!;
    expect(dir.startsWith(join(base, 'vigil-tests-'))).toBe(true);
    expect(env.TMPDIR).toBe(dir);
    expect(statSync(dir).mode & 0o7777).toBe(0o1777);
    removeTestTmpDir(dir);
    expect(existsSync(dir)).toBe(false);
    // a folder it did not create is left alone
    removeTestTmpDir(base);
    expect(existsSync(base)).toBe(true);
  });

  it('VIGIL_TEST_TMPDIR=system: TMPDIR as it was, nothing created', () => {
    const env: NodeJS.ProcessEnv = { VIGIL_TEST_TMPDIR: 'system', TMPDIR: '/somewhere' };
    expect(useTestTmpDir(env)).toBeUndefined();
    expect(env.TMPDIR).toBe('/somewhere');
  });

  it('the folders of runs killed before their end are removed by the next run; a live run\'s, or one being created, are not', async () => {
    const base = mkdtempSync(join(tmpdir(), 'base-'));
    made.push(base);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const run = (name: string, pid?: number) => {
      const d = join(base, name);
      mkdirSync(join(d, 'vigil-test-x'), { recursive: true });
      if (pid !== undefined) writeFileSync(join(d, 'owner.json'), JSON.stringify({ pid }));
      return d;
    };
    const killed = run('vigil-tests-killed', Number(dead.stdout));
    const live = run('vigil-tests-live', process.pid);
    const starting = run('vigil-tests-starting');
    const old = run('vigil-tests-old');
    utimesSync(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const other = run('someone-else', Number(dead.stdout));
    expect((await removeStaleRunDirs(base)).sort()).toEqual([killed, old].sort());
    for (const d of [live, starting, other]) expect(existsSync(d), d).toBe(true);
    expect(existsSync(killed)).toBe(false);
  });

  it.skipIf(process.env.VIGIL_TEST_TMPDIR !== undefined || !tmpfsWithRoom())('this run: the workers (and the vigil processes they start, with their environment) write under a folder of the run on tmpfs', () => {
    expect(tmpdir()).toMatch(/^\/dev\/shm\/vigil-tests-[^/]+$/);
    const dir = makeProject({ 'models/a.sql': 'select 1 as x' });
    made.push(dir);
    expect(dir.startsWith(`${tmpdir()}/vigil-test-`)).toBe(true);
  });
});
