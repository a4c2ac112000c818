/**
 * Vitest global setup: the CLI the tests run is the built one (dist/). `npm test` builds it
 * first; `npm ci` does not (no `prepare` script: the published package.json would carry it
 * without scripts/). In a fresh clone, `npx vitest` builds it here when it is missing, as
 * bin/vigil.js does on a first run.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export default async function setup(): Promise<void> {
  if (existsSync(join(REPO, 'dist', 'cli', 'program.js'))) return;
  const { buildCli } = (await import(pathToFileURL(join(REPO, 'scripts', 'build.mjs')).href)) as { buildCli: (root: string) => Promise<void> };
  await buildCli(REPO);
}
