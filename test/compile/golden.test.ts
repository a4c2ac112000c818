/**
 * Golden tests: a fixture project (and the shipped project) in, the compiled SQL of every
 * node per dialect out, compared with the files checked in under test/fixtures/golden/.
 * Regenerate after an intended change with: UPDATE_GOLDEN=1 npx vitest run test/compile/golden
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { REPO } from '../helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

function goldenFor(projectDir: string, goldenDir: string, target?: string, env: Record<string, string> = {}) {
  const files = loadProject(projectDir);
  const r = compileProject(files, { env, target });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const actual = new Map<string, string>();
  for (const n of Object.values(r.manifest.nodes)) {
    // unit tests always compile in DuckDB's spelling: their goldens live with the DuckDB ones
    if (n.resource_type === 'unit_test' && r.target?.type !== 'duckdb') continue;
    if (n.resource_type === 'seed') continue;
    actual.set(`${n.resource_type}.${n.name}.sql`, n.compiled_sql + '\n');
    if (n.resource_type === 'model' && n.compiled_sql_incremental !== undefined) actual.set(`${n.resource_type}.${n.name}.incremental.sql`, n.compiled_sql_incremental + '\n');
  }
  if (UPDATE) {
    rmSync(goldenDir, { recursive: true, force: true });
    mkdirSync(goldenDir, { recursive: true });
    for (const [f, sql] of actual) writeFileSync(join(goldenDir, f), sql);
  }
  expect(existsSync(goldenDir), `${goldenDir} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  const expected = readdirSync(goldenDir).sort();
  expect([...actual.keys()].sort()).toEqual(expected);
  for (const f of expected) expect(actual.get(f), f).toBe(readFileSync(join(goldenDir, f), 'utf8'));
  return r;
}

describe('golden compiled SQL (duckdb)', () => {
  it('fixture project: views, tables, incremental, ephemeral, macros, sources, tests', () => {
    const r = goldenFor(join(REPO, 'test/fixtures/projects/golden'), join(REPO, 'test/fixtures/golden/duckdb'));
    expect(Object.keys(r.manifest.nodes).length).toBeGreaterThan(10);
  });
  it('the shipped AI-audit project', () => {
    goldenFor(REPO, join(REPO, 'test/fixtures/golden/shipped-duckdb'));
  });
});

describe('golden compiled SQL (bigquery)', () => {
  it('fixture project', () => {
    goldenFor(join(REPO, 'test/fixtures/projects/golden'), join(REPO, 'test/fixtures/golden/bigquery'), 'bq');
  });
  it('the shipped AI-audit project (target prod)', () => {
    const prod = goldenFor(REPO, join(REPO, 'test/fixtures/golden/shipped-bigquery'), 'prod', { AI_AUDIT_BQ_PROJECT: 'vigil-golden' });
    // unit tests run on DuckDB whatever the target: the same SQL as for the DuckDB target
    const dev = compileProject(loadProject(REPO), { env: {} });
    const units = (m: typeof dev.manifest) => Object.values(m.nodes).filter((n) => n.resource_type === 'unit_test').map((n) => [n.name, n.compiled_sql]);
    expect(units(prod.manifest).length).toBeGreaterThan(3);
    expect(units(prod.manifest)).toEqual(units(dev.manifest));
  });
});
