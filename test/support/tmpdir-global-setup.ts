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
 * processes tests start); the folder is removed when the run ends.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { basename, join } from 'node:path';

const TMPFS = '/dev/shm';
const PREFIX = 'vigil-tests-';
/** what the suite writes at most at once, with room to spare (a few hundred MB measured) */
const NEEDED_BYTES = 2 * 2 ** 30;

export default function setup(): () => void {
  const dir = useTestTmpDir();
  return () => removeTestTmpDir(dir);
}

/** Set `TMPDIR` for the run; returns the folder it created (to remove at the end), if any. */
export function useTestTmpDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const asked = env.VIGIL_TEST_TMPDIR;
  if (asked === 'system') return undefined;
  const base = asked || (tmpfsWithRoom() ? TMPFS : undefined);
  if (!base) return undefined;
  const dir = mkdtempSync(join(base, PREFIX));
  // like /tmp: the embedded PostgreSQL runs as the `postgres` user when the tests run as root,
  // and must reach its data folder inside this one
  chmodSync(dir, 0o1777);
  env.TMPDIR = dir;
  return dir;
}

/** Remove a folder useTestTmpDir created (only one of its own, by name). */
export function removeTestTmpDir(dir: string | undefined): void {
  if (dir && basename(dir).startsWith(PREFIX)) rmSync(dir, { recursive: true, force: true });
}

function tmpfsWithRoom(): boolean {
  if (!existsSync(TMPFS)) return false;
  try {
    const s = statfsSync(TMPFS);
    return s.bavail * s.bsize >= NEEDED_BYTES;
  } catch {
    return false;
  }
}
