// Bundles the CLI with esbuild into dist/ (ESM, code-split so each command loads only what
// it needs). One bundle instead of ~150 module files roughly halves `vigil` start-up time.
// Type checking is separate: `npm run typecheck`.
// `buildCli(root)` is also used by a test that builds a copy of src/ with a new warehouse.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * zod re-exports its 60-odd message locales as a namespace (`z.locales`), which keeps them all
 * in the bundle: a third of what every command parses at start-up. Vigil's messages are
 * English (zod's default, `en`), so the namespace holds `en` only.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    // (the module's path relative to the build's folder: it names the module in the bundle's
    // comments and source map, which would otherwise hold the build machine's absolute path)
    const root = b.initialOptions.absWorkingDir;
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir) ? { path: relative(root, join(args.resolveDir, '..', 'locales', 'en.js')).split(sep).join('/'), namespace: 'zod-locales' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(`./${basename(args.path)}`)};`, resolveDir: dirname(resolve(root, args.path)), loader: 'js' }));
  },
};

/**
 * nunjucks requires chokidar for its `watch: true` loaders, which Vigil never asks for; bundled,
 * that require put chokidar and its 15 packages into the chunk every templating command parses.
 * From nunjucks the require throws as if chokidar were missing (nunjucks' own message); Vigil's
 * watcher (src/cli/watch-command.ts) imports the real chokidar, in a chunk of its own.
 */
const noChokidarForNunjucks = {
  name: 'no-chokidar-for-nunjucks',
  setup(b) {
    b.onResolve({ filter: /^chokidar$/ }, (args) => (/[\\/]nunjucks[\\/]/.test(args.importer) ? { path: 'chokidar', namespace: 'no-chokidar' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'no-chokidar' }, () => ({ contents: "throw new Error('chokidar is not bundled for nunjucks (Vigil never uses its watch option)');", loader: 'js' }));
  },
};

/** Bundle `<root>/src/cli/main.ts` into `<root>/dist/`. */
export async function buildCli(root) {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    // version.js alone: `vigil --version` answers without loading the command line; cli/program.js:
    // the command line without running it (main() for the test suite's command host)
    entryPoints: { 'cli/main': 'src/cli/main.ts', 'cli/program': 'src/cli/program.ts', version: 'src/version.ts' },
    outdir: 'dist',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    // native bindings and the cloud SDKs stay external: loaded from node_modules when used.
    // DuckDB's client (@duckdb/node-api, ~120 CommonJS files) is bundled: loading it file by file
    // cost ~130 ms of every command that opens DuckDB; only its native binding stays outside.
    // `yaml` too: it is read only for files the fast YAML reader does not take and a few rare
    // commands (project/yaml-lib.ts); bundled, every command parsed its 260 KB at start
    external: ['@duckdb/node-bindings', 'pg', 'pg-native', 'pg-copy-streams', '@google-cloud/bigquery', 'google-auth-library', '@pagerduty/pdjs', '@slack/webhook', '@slack/web-api', 'playwright-core', 'yaml'],
    banner: { js: "import { createRequire as __vigilCreateRequire } from 'node:module'; const require = __vigilCreateRequire(import.meta.url);" },
    logLevel: 'warning',
    plugins: [zodEnglishOnly, noChokidarForNunjucks],
  });
  stampBuildId(join(root, 'dist'));
}

/**
 * The build's id (src/project/snapshot.ts BUILD, which keys every cache in target/): the SHA-1 of
 * the bundle's files, written over the placeholder of the same length (the source maps stay true).
 */
function stampBuildId(dist) {
  const files = readdirSync(dist).filter((f) => f.endsWith('.js')).sort();
  const hash = createHash('sha1');
  for (const f of files) hash.update(f).update('\0').update(readFileSync(join(dist, f))).update('\0');
  const id = `vigil-build-id:${hash.digest('hex')}`;
  const placeholder = 'vigil-build-id:0000000000000000000000000000000000000000';
  let stamped = 0;
  for (const f of files) {
    const text = readFileSync(join(dist, f), 'utf8');
    if (!text.includes(placeholder)) continue;
    writeFileSync(join(dist, f), text.split(placeholder).join(id));
    stamped++;
  }
  if (stamped !== 1) throw new Error(`build: the build-id placeholder was found in ${stamped} files of dist/, not 1`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCli(fileURLToPath(new URL('..', import.meta.url)));
