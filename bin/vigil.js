#!/usr/bin/env node
// Launcher: runs the compiled CLI. The published package ships dist/ (built by `prepack`); in a
// clone of the repository (`npm ci` does not build it) it is built here on the first run, and
// again when src/ changed since (a `git pull`).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
/**
 * A folder of src/ changed after the build: git writes a file it checks out anew, which changes
 * its folder's time (an edit in place does not: `npm run build` after editing). ~2 ms for the
 * ~20 folders of a clone; the published package has no src/.
 */
function changedSince(dir, built) {
  if (statSync(dir).mtimeMs > built) return true;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory() && changedSince(join(dir, e.name), built)) return true;
  return false;
}
const state = !existsSync(entry) ? 'missing' : existsSync(join(root, 'src')) && changedSince(join(root, 'src'), statSync(entry).mtimeMs) ? 'stale' : undefined;
if (state) {
  process.stderr.write(`vigil: building dist/ (${state === 'missing' ? 'first run' : 'src/ changed since the last build'})...\n`);
  // (node:child_process only here: loading it costs every start ~9 ms)
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(2);
}
// `vigil --version` (or -V) alone: the version without loading the command line (a third of the start-up)
const args = process.argv.slice(2);
// `vigil serve` stops at a signal while it starts, exit 0 (docs/operations.md): from here, not from
// when its module is loaded (~0.5 s later: a signal then killed it, exit 143). runServe takes the
// handlers over (src/cli/serve-command.ts, EARLY_SIGNALS)
if (args[0] === 'serve') {
  const early = new Map();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    const f = () => {
      process.stderr.write(`${sig} while starting: stopped (no job had started)\n`);
      process.exit(0);
    };
    early.set(sig, f);
    process.on(sig, f);
  }
  globalThis[Symbol.for('vigil.earlySignals')] = early;
}
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { VIGIL_VERSION } = await import(pathToFileURL(join(root, 'dist', 'version.js')).href);
  // a refused write is one line and exit 1, a reader gone away (EPIPE) nothing, as for every command (src/cli/output.ts)
  process.stdout.on('error', (e) => {
    if (e.code === 'EPIPE') return;
    process.stderr.write(`error: could not write the output (stdout): ${e.code ? `${e.code}: ${e.message.replace(/^\w+: /, '')}` : e.message}\n`);
    process.exitCode = 1;
  });
  process.stdout.write(`${VIGIL_VERSION}\n`);
} else await import(pathToFileURL(entry).href);
