/**
 * Vitest global setup: the CLI the tests run is the built one (dist/). `npm test` builds it
 * first; `npm ci` does not (no `prepare` script: the published package.json would carry it
 * without scripts/). One `vigil --version` here, before any test starts, builds it when it is
 * missing or older than src/ (bin/vigil.js decides): the tests' many CLI processes would
 * otherwise each find it stale and build it at the same time.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export default function setup(): void {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'vigil.js'), '--version'], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building dist/ failed:\n${r.stdout}${r.stderr}`);
}
