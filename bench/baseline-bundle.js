// The baselines (bench/direct*.js) load DuckDB the way Vigil's build does: its client bundled
// into one file, only the native binding from node_modules. Loading @duckdb/node-api file by
// file costs ~130 ms a process, which would flatter Vigil in every whole-process comparison.
// `baseline('direct-alerts.js')` returns the path of the bundled copy (next to the original, so
// node_modules resolves), removed when the bench exits.
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const BENCH = resolve(fileURLToPath(import.meta.url), '..');
const built = new Map();

export function baseline(script, external = ['@duckdb/node-bindings']) {
  if (!built.has(script)) {
    const out = join(BENCH, `.baseline-${process.pid}-${script.replace(/\.js$/, '.mjs')}`);
    buildSync({
      entryPoints: [join(BENCH, script)],
      outfile: out,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external,
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: 'warning',
    });
    if (!built.size) process.on('exit', () => built.forEach((p) => rmSync(p, { force: true })));
    built.set(script, out);
  }
  return built.get(script);
}

/**
 * A bench script that imports Vigil's TypeScript source (bench/render-queries.js), bundled the
 * way scripts/build.mjs bundles the CLI (the same packages left outside). Not for timed
 * processes: only to ask Vigil's own code something.
 */
export function fromSource(script) {
  return baseline(script, ['@duckdb/node-bindings', 'pg', 'pg-native', 'pg-copy-streams', '@google-cloud/bigquery', 'google-auth-library', '@pagerduty/pdjs', '@slack/webhook', '@slack/web-api', 'playwright-core']);
}
