#!/usr/bin/env node
// Launcher: runs the compiled CLI. The published package ships dist/ (built by `prepack`); in a
// clone of the repository (`npm ci` does not build it) it is built once here, on the first run.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('vigil: building dist/ (first run)...\n');
  // (node:child_process only here: loading it costs every start ~9 ms)
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(2);
}
// `vigil --version` (or -V) alone: the version without loading the command line (a third of the start-up)
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { VIGIL_VERSION } = await import(pathToFileURL(join(root, 'dist', 'version.js')).href);
  process.stdout.write(`${VIGIL_VERSION}\n`);
} else await import(pathToFileURL(entry).href);
