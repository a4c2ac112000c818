/**
 * Vitest global setup (listed first, so its teardown runs last): where the test run's temporary
 * files go — the projects tests create, their DuckDB files, the embedded PostgreSQL's data
 * folder, Chromium's profile. By default a folder of its own on the machine's tmpfs (`/dev/shm`)
 * when there is one with room: the suite creates tens of thousands of files, and DuckDB and
 * PostgreSQL sync every commit, which on these VMs' disk cost wall time and kernel CPU that
 * measure nothing of Vigil (docs/benchmarks.md). Nothing Vigil does is different on tmpfs: the
 * same files, renames and locks, without a disk behind them.
 *
 * `VIGIL_TEST_TMPDIR=<dir>` puts them there instead, `VIGIL_TEST_TMPDIR=system` in the system's
 * temporary folder (`TMPDIR`, else /tmp).
 *
 * It runs in vitest's main process before the other global setups start PostgreSQL and Chromium,
 * and before the worker processes are forked (they inherit `TMPDIR`, and so do the `vigil`
 * processes tests start); the folder is removed when the run ends, and the folders of runs that
 * were killed before their end are removed by the next run.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { OWNER_FILE, ownerGone, removeStaleClusters } from './postgres.js';

const TMPFS = '/dev/shm';
const PREFIX = 'vigil-tests-';
/** what the suite writes at most at once, with room to spare (a few hundred MB measured) */
const NEEDED_BYTES = 2 * 2 ** 30;

export default async function setup(): Promise<() => void> {
  await removeStaleRunDirs(runBase());
  const dir = useTestTmpDir();
  return () => removeTestTmpDir(dir);
}

/** Where run folders go: VIGIL_TEST_TMPDIR, else the tmpfs when it has room; undefined: the system's temporary folder. */
function runBase(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const asked = env.VIGIL_TEST_TMPDIR;
  if (asked === 'system') return undefined;
  return asked || (tmpfsWithRoom() ? TMPFS : undefined);
}

/** Set `TMPDIR` for the run; returns the folder it created (to remove at the end), if any. */
export function useTestTmpDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = runBase(env);
  if (!base) return undefined;
  const dir = mkdtempSync(join(base, PREFIX));
  // like /tmp: the embedded PostgreSQL runs as the `postgres` user when the tests run as root,
  // and must reach its data folder inside this one
  chmodSync(dir, 0o1777);
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ pid: process.pid }));
  env.TMPDIR = dir;
  return dir;
}

/**
 * Remove the run folders under `base` whose run is gone (killed before its teardown: the folder
 * stays, in RAM), stopping the PostgreSQL servers they still run. "Gone" and the stopping are
 * postgres.ts's, as for the clusters it leaves in a shared temporary folder.
 */
export async function removeStaleRunDirs(base: string | undefined): Promise<string[]> {
  if (!base) return [];
  const removed: string[] = [];
  for (const name of readdirSync(base).filter((n) => n.startsWith(PREFIX))) {
    const dir = join(base, name);
    if (!(await ownerGone(dir))) continue;
    await removeStaleClusters(dir);
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** Remove a folder useTestTmpDir created (only one of its own, by name). */
export function removeTestTmpDir(dir: string | undefined): void {
  if (dir && basename(dir).startsWith(PREFIX)) rmSync(dir, { recursive: true, force: true });
}

/** A tmpfs at /dev/shm with room for the run (else the system's temporary folder is used). */
export function tmpfsWithRoom(): boolean {
  if (!existsSync(TMPFS)) return false;
  try {
    const s = statfsSync(TMPFS);
    return s.bavail * s.bsize >= NEEDED_BYTES;
  } catch {
    return false;
  }
}
