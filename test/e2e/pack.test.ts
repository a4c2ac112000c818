/**
 * Vigil as a user installs it: `npm pack` of this repository, the tarball installed by npm into a
 * folder outside it (so nothing resolves into this repo's node_modules), without devDependencies.
 * Nothing may be downloaded at test time, so the install is `npm ci --offline` from npm's cache
 * (filled by this repository's `npm ci`): the app's lockfile names the tarball and the runtime
 * packages at the versions this repository's lockfile pins (its non-dev entries: exactly what
 * the package needs to run). What stays unproven here: resolving those versions afresh from the
 * registry, as `npm i -D vigil-analytics` does.
 * Then what the README's "use it in your own repository" section says: `npx vigil init .` in an
 * existing repository, `npx vigil build`, `npx vigil test`, `npx vigil alerts test`; and the
 * ai-audit template's path: `vigil demo`, `build`, `alerts evaluate --dry-run`, `dashboards render`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { createHash } from 'node:crypto';
import { REPO, removeDir } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
  return { code: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
}

/** The app's lockfile: the tarball, and every non-dev package of this repository's lockfile. */
function appLock(tarball: string) {
  const repoLock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
  const file = `file:../${basename(tarball)}`;
  const packages: Record<string, unknown> = {
    '': { name: 'my-app', version: '1.0.0', devDependencies: { 'vigil-analytics': file } },
    'node_modules/vigil-analytics': {
      version: pkg.version,
      resolved: file,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      dev: true,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
      peerDependencies: pkg.peerDependencies,
      peerDependenciesMeta: pkg.peerDependenciesMeta,
    },
  };
  for (const [k, v] of Object.entries(repoLock.packages)) if (k.startsWith('node_modules/') && !v.dev) packages[k] = { ...v, dev: true };
  return { name: 'my-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

describe('the published package', () => {
  it('npm pack -> npm install in an existing repository elsewhere -> npx vigil init . && npx vigil build && npx vigil test', () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-pack-'));
    dirs.push(work);
    // dist/ is built by `npm test` before the suite runs; packing does not build again
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO);
    expect(pack.code, pack.out).toBe(0);
    const info = JSON.parse(pack.out.slice(pack.out.indexOf('['), pack.out.lastIndexOf(']') + 1)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const paths = info[0].files.map((f) => f.path);
    // what runs: the CLI, its bundle; what is read: the README and the docs it links to
    expect(paths).toContain('bin/vigil.js');
    expect(paths.some((p) => p.startsWith('dist/cli/'))).toBe(true);
    expect(paths.filter((p) => !/^(bin|dist|docs)\//.test(p)).sort()).toEqual(['README.md', 'package.json']);
    // every relative link of the README and the docs is to a file in the package (was: docs/ not
    // shipped, and the package names no repository to read them in)
    const linked = ['README.md', ...paths.filter((p) => /^docs\/[^/]+\.md$/.test(p))].flatMap((file) =>
      [...readFileSync(join(REPO, file), 'utf8').matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l)).map((l) => [file, posix.normalize(posix.join(posix.dirname(file), decodeURI(l))).replace(/\/$/, '')]),
    );
    expect(linked.length).toBeGreaterThan(20);
    expect(linked.filter(([, l]) => !paths.some((p) => p === l || p.startsWith(`${l}/`)))).toEqual([]);
    const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);

    // an existing repository: a package.json, a README, a .gitignore of its own
    const app = join(work, 'my-app');
    mkdirSync(app);
    writeFileSync(join(app, 'README.md'), '# my app\n');
    writeFileSync(join(app, '.gitignore'), 'node_modules/\n');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0', private: true, devDependencies: { 'vigil-analytics': `file:../${basename(tarball)}` } }, null, 2));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(appLock(tarball), null, 2));
    const install = run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app);
    expect(install.code, install.out).toBe(0);
    expect(existsSync(join(app, 'node_modules', 'vigil-analytics', 'dist'))).toBe(true);
    // no devDependency came along (vitest, the BigQuery analyzer, ...)
    expect(existsSync(join(app, 'node_modules', 'vitest'))).toBe(false);
    // no script an install runs (or npm 11 warns of): `prepare` ran scripts/, which is not shipped
    const scripts = (JSON.parse(readFileSync(join(app, 'node_modules', 'vigil-analytics', 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    expect(Object.keys(scripts).filter((k) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(k))).toEqual([]);
    expect(install.out).not.toMatch(/vigil-analytics@\S+ \(/);

    // nothing of the build machine's paths in what the build wrote (was: the zod locale's absolute
    // path in a chunk's comment and its source map); the docs are written by hand (and
    // docs/benchmarks.md names the clone CI runs in)
    const pkgDir = join(app, 'node_modules', 'vigil-analytics');
    const builtFiles = paths.filter((p) => p.startsWith('dist/')).map((p) => [p, readFileSync(join(pkgDir, p), 'utf8')] as const);
    expect(builtFiles.length).toBeGreaterThan(10);
    expect(builtFiles.filter(([, text]) => text.includes(REPO)).map(([p]) => p)).toEqual([]);

    const version = run('npx', ['--offline', 'vigil', '--version'], app);
    expect(version.code, version.out).toBe(0);
    expect(version.out.trim().split('\n')[0]).toMatch(/^\d+\.\d+\.\d+$/);

    const init = run('npx', ['--offline', 'vigil', 'init', '.'], app);
    expect(init.code, init.out).toBe(0);
    expect(init.out).toContain('Added a Vigil project to');
    expect(readFileSync(join(app, 'README.md'), 'utf8')).toBe('# my app\n'); // never overwritten
    expect(readFileSync(join(app, '.gitignore'), 'utf8')).toBe('node_modules/\n# Vigil\n.vigil/\ntarget/\n');

    const build = run('npx', ['--offline', 'vigil', 'build'], app);
    expect(build.code, build.out).toBe(0);
    expect(build.out).toMatch(/OK loaded seed raw\.sample_events \(\d+ rows\)/);
    expect(build.out).toMatch(/OK created table analytics\.events_daily/);
    expect(build.out).toMatch(/ERROR=0 SKIP=0/);
    const test = run('npx', ['--offline', 'vigil', 'test'], app);
    expect(test.code, test.out).toBe(0);
    const alerts = run('npx', ['--offline', 'vigil', 'alerts', 'test'], app);
    expect(alerts.code, alerts.out).toBe(0);
    // the docs site, its Markdown (markdown-it, in the bundle) too
    writeFileSync(join(app, 'models', 'overview.md'), '{% docs __overview__ %}\n1. first\n2. second\n{% enddocs %}\n');
    const docs = run('npx', ['--offline', 'vigil', 'docs', 'generate'], app);
    expect(docs.code, docs.out).toBe(0);
    expect(readFileSync(join(app, 'target', 'docs', 'index.html'), 'utf8')).toContain('<ol>\n<li>first</li>\n<li>second</li>\n</ol>');
    // a page of the docs is named where the user has it: in the installed package (was:
    // docs/governance.md, a path only the Vigil repository has)
    const retention = run('npx', ['--offline', 'vigil', 'retention', 'plan'], app);
    expect(retention.code, retention.out).toBe(2);
    expect(retention.out).toContain('; node_modules/vigil-analytics/docs/governance.md#retention)');
    const help = run('npx', ['--offline', 'vigil', 'serve', '--help'], app);
    expect(help.out.replace(/\s+/g, ' ')).toContain('(node_modules/vigil-analytics/docs/operations.md)');
    expect(existsSync(join(pkgDir, 'docs', 'governance.md')) && existsSync(join(pkgDir, 'docs', 'operations.md'))).toBe(true);
    expect(`${retention.out}${help.out}`).not.toMatch(/[ (]docs\//);
    const again = run('npx', ['--offline', 'vigil', 'init', '.'], app);
    expect(again.code).toBe(2);
    expect(again.out).toContain('is a Vigil project already');

    // a folder with no vigil-analytics install in reach: `npx vigil` there would run the npm
    // package `vigil`; init names this install's bin instead, which runs offline (was: npx vigil)
    expect(init.out).toContain('\n  npx vigil build    #');
    const elsewhere = run('npx', ['--offline', 'vigil', 'init', '../elsewhere'], app);
    expect(elsewhere.code, elsewhere.out).toBe(0);
    const bin = join(app, 'node_modules', 'vigil-analytics', 'bin', 'vigil.js');
    expect(elsewhere.out).toContain(`\n  node ${bin} build    #`);
    expect(elsewhere.out).not.toContain('npx vigil');
    const next = /^ {2}(node \S+ build)/m.exec(elsewhere.out)![1];
    const built = run('sh', ['-c', next], join(work, 'elsewhere'));
    expect(built.code, built.out).toBe(0);
    expect(built.out).toMatch(/ERROR=0 SKIP=0/);

    // the ai-audit template from the installed bin: demo (its generator and DuckDB loader in the
    // bundle), build, an alert evaluated dry, the dashboard rendered; each Next line as printed
    const ai = run('npx', ['--offline', 'vigil', 'init', 'ai', '--template', 'ai-audit'], app);
    expect(ai.code, ai.out).toBe(0);
    expect(ai.out).toContain('\n  npx vigil demo ');
    const aiDir = join(app, 'ai');
    const demo = run('npx', ['--offline', 'vigil', 'demo', '--rows', '2000', '--days', '10'], aiDir);
    expect(demo.code, demo.out).toBe(0);
    expect(demo.out).toMatch(/Next: npx vigil build$/m);
    const aiBuild = run('npx', ['--offline', 'vigil', 'build'], aiDir);
    expect(aiBuild.code, aiBuild.out).toBe(0);
    expect(aiBuild.out).toMatch(/ERROR=0 SKIP=0/);
    const evaluate = run('npx', ['--offline', 'vigil', 'alerts', 'evaluate', '--dry-run'], aiDir);
    expect(evaluate.code, evaluate.out).toBe(0);
    expect(evaluate.out).toContain('Dry run: nothing was sent and the state was not changed.');
    const render = run('npx', ['--offline', 'vigil', 'dashboards', 'render', '--out', 'site'], aiDir);
    expect(render.code, render.out).toBe(0);
    expect(readFileSync(join(aiDir, 'site', 'events.html'), 'utf8')).toContain('data-tile=');
  }, 300_000);
});
