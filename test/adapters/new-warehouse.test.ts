/**
 * A new warehouse needs only its folder under src/adapters/ and one line in
 * src/adapters/registry.ts. Proven, not asserted: src/ is copied, the fixture warehouse
 * `memduck` (test/fixtures/warehouses/memduck/) is dropped in as src/adapters/memduck/, one
 * export line is appended to the registry, the copy is type-checked and bundled exactly as
 * `npm run build` does, and that CLI then runs the shipped project on `type: memduck`: demo,
 * sync from Postgres, build and test, alerts with their state in the warehouse, dashboards,
 * freshness, and a config typo answered from memduck's own schema.
 * Also: no module outside src/adapters/ names a warehouse or imports one's implementation.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../helpers.js';
import { uniqueSchema } from '../support/postgres.js';

const url = inject('pgUrl');
const REGISTRY_LINE = "export { warehouse as memduck } from './memduck/index.js';";
let copy: string;
let project: string;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(copy, 'dist', 'cli', 'main.js'), ...args], { cwd: project, encoding: 'utf8', env: { ...process.env, DATABASE_URL: url, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  copy = mkdtempSync(join(tmpdir(), 'vigil-newwh-'));
  cpSync(join(REPO, 'src'), join(copy, 'src'), { recursive: true });
  cpSync(join(REPO, 'test', 'fixtures', 'warehouses', 'memduck'), join(copy, 'src', 'adapters', 'memduck'), { recursive: true });
  const registry = join(copy, 'src', 'adapters', 'registry.ts');
  writeFileSync(registry, readFileSync(registry, 'utf8') + REGISTRY_LINE + '\n');
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'), 'dir');
  writeFileSync(join(copy, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(copy, 'tsconfig.json'), JSON.stringify({ extends: join(REPO, 'tsconfig.json'), compilerOptions: { rootDir: '.' }, include: ['src/**/*.ts'] }));
  const { buildCli } = (await import(pathToFileURL(join(REPO, 'scripts', 'build.mjs')).href)) as { buildCli: (root: string) => Promise<void> };
  await buildCli(copy);

  project = mkdtempSync(join(tmpdir(), 'vigil-newwh-project-'));
  for (const p of ['models', 'macros', 'tests', 'alerts', 'dashboards']) cpSync(join(REPO, p), join(project, p), { recursive: true });
}, 120_000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('a warehouse added with its folder and one registry line', () => {
  it('the copy differs from src/ by the folder and the line, and type-checks in strict mode', () => {
    const files = (root: string): string[] => readdirSync(root, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => relative(root, join(d.parentPath, d.name))).sort();
    const added = files(join(copy, 'src')).filter((f) => !existsSync(join(REPO, 'src', f)));
    expect(added).toEqual(['adapters/memduck/index.ts']);
    const changed = files(join(REPO, 'src')).filter((f) => readFileSync(join(REPO, 'src', f), 'utf8') !== readFileSync(join(copy, 'src', f), 'utf8'));
    expect(changed).toEqual(['adapters/registry.ts']);
    const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(copy, 'tsconfig.json'), '--noEmit'], { encoding: 'utf8', timeout: 120_000 });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('runs the shipped project end to end on it: demo, sync, build, alerts, dashboards', () => {
    const schema = uniqueSchema('newwh');
    writeFileSync(
      join(project, 'project.yaml'),
      `name: ai_audit\ndefault_target: dev\ntargets:\n  dev: { type: memduck, path: .vigil/m.db, schema: analytics, tenant: acme }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\nvars: { anomaly_spike_ratio: 1.75, anomaly_drop_ratio: 0.4, anomaly_zscore: 2, incremental_lookback_days: 2, high_risk_threshold: 0.8 }\n` +
        // the link template the shipped Capability tab names (its PagerDuty incident draft)
        `dashboards: { links: { pagerduty_incident: "https://example.pagerduty.com/incidents/new?title={{ title }}" } }\n`,
    );
    const sources = join(project, 'models', 'sources.yml');
    writeFileSync(sources, readFileSync(sources, 'utf8').replace('sync: { from: app }', `sync: { from: app, schema: ${schema} }`));
    const at = '--now=2026-03-10T12:00:00Z';
    const steps: Array<[string[], RegExp]> = [
      // into the application database, then through vigil sync into memduck
      [['demo', '--target', 'app', '--schema', schema, '--rows', '20000', '--days', '21', at], /Done: 7 tables/],
      [['sync'], /Finished 7 streams .* 0 failed/],
      [['sync', 'status'], /raw\.ai_audit_logs: success, 2\d,\d{3} rows/],
      [['build'], /OK created incremental table analytics\.ai_audit_daily[\s\S]*ERROR=0 SKIP=0/],
      [['alerts', 'evaluate', '--at', '2026-03-10T12:00:00Z'], /evaluated/i],
      [['alerts', 'status'], /state: table "analytics"\."vigil_alert_state"|vigil_alert_state/],
      [['dashboards', 'render', '--out', 'site', '--at', '2026-03-10T12:00:00Z'], /overview/],
      [['ls', '-s', '+dashboard:overview'], /ai_audit_daily/],
      // memduck runs DuckDB's SQL: the demo generates straight into it
      [['demo', '--schema', 'raw_direct', '--rows', '5000', '--days', '7', at], /Done: 7 tables/],
    ];
    for (const [args, expected] of steps) {
      const r = cli(args);
      expect(r.out, `vigil ${args.join(' ')}`).toMatch(expected);
      expect(r.code, `vigil ${args.join(' ')}\n${r.out}`).toBe(0);
      expect(r.out).not.toMatch(/\n\s+at .+:\d+:\d+/);
    }
    expect(existsSync(join(project, 'site', 'overview.html'))).toBe(true);
  }, 180_000);

  it("reports a typo in the target from the new warehouse's own schema", () => {
    writeFileSync(join(project, 'project.yaml'), 'name: ai_audit\ntargets:\n  dev: { type: memduck, tenat: acme }\n');
    const r = cli(['compile']);
    expect(r.out).toContain("project.yaml:3:25: error: targets.dev.tenat: unknown key 'tenat' — did you mean 'tenant'? [E_TARGET]");
    expect(r.code).toBe(2);
    writeFileSync(join(project, 'project.yaml'), 'name: ai_audit\ntargets:\n  dev: { type: memduk }\n');
    const r2 = cli(['compile']);
    expect(r2.out).toMatch(/unknown type 'memduk' — did you mean 'memduck'\?/);
    expect(r2.out).toMatch(/supported types: .*memduck/);
    expect(r2.code).toBe(2);
  });
});

describe('the warehouse boundary', () => {
  const SRC = join(REPO, 'src');
  const modules = readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => relative(SRC, join(d.parentPath, d.name)));
  const outside = modules.filter((m) => !/^adapters\/[^/]+\//.test(m));
  const code = (m: string) =>
    readFileSync(join(SRC, m), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');

  it('no module outside src/adapters/<name>/ compares or names a warehouse type', () => {
    const offenders = outside.flatMap((m) =>
      [...code(m).matchAll(/(['"`])(duckdb|postgres|postgresql|bigquery)\1|instanceof\s+(DuckDb|Postgres|BigQuery)\w*/gi)]
        .filter((x) => !(m === 'adapters/index.ts' && x[0] === "'duckdb'")) // OFFLINE_ENGINE, the one named engine
        .map((x) => `${m}: ${x[0]}`),
    );
    expect(offenders).toEqual([]);
  });

  it("no module outside src/adapters/ imports a warehouse's implementation or its driver", () => {
    const offenders = outside
      .filter((m) => !m.startsWith('adapters/'))
      .flatMap((m) => [...code(m).matchAll(/from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((x) => [m, x[1] ?? x[2]]))
      .filter(([, spec]) => /adapters\/[^/]+\/|^pg(-copy-streams)?$|^@google-cloud\/bigquery$|^@duckdb\/node-api$/.test(spec))
      // the offline engine: unit tests of models run on an in-memory DuckDB through its driver's loader
      .filter(([m, spec]) => !(m === 'testing/unit-runner.ts' && (spec === '@duckdb/node-api' || spec === '../adapters/duckdb/duckdb-module.js')))
      .map(([m, spec]) => `${m}: ${spec}`);
    expect(offenders).toEqual([]);
  });
});
