/**
 * The test run's temporary folder (./tmpdir-global-setup.ts): on tmpfs by default, where
 * VIGIL_TEST_TMPDIR says otherwise, reachable by the `postgres` user, removed at the end; and this
 * run's workers use it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTestTmpDir, useTestTmpDir } from './tmpdir-global-setup.js';
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

  // (the machine this suite is measured on has /dev/shm: docs/benchmarks.md)
  it.skipIf(process.env.VIGIL_TEST_TMPDIR !== undefined || !existsSync('/dev/shm'))('this run: the workers (and the vigil processes they start, with their environment) write under a folder of the run on tmpfs', () => {
    expect(tmpdir()).toMatch(/^\/dev\/shm\/vigil-tests-[^/]+$/);
    const dir = makeProject({ 'models/a.sql': 'select 1 as x' });
    made.push(dir);
    expect(dir.startsWith(`${tmpdir()}/vigil-test-`)).toBe(true);
  });
});
