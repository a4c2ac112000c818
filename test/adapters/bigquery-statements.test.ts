/**
 * The statements the BigQuery adapter executes — each model's build script (CREATE OR REPLACE
 * with PARTITION BY / CLUSTER BY / OPTIONS, column descriptions) and each incremental model's
 * MERGE / insert_overwrite / INSERT — as golden files, and each parsed by sql-parser-cst's
 * BigQuery grammar. Pure: no client is called.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'sql-parser-cst';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { BigQueryAdapter, grantedSql } from '../../src/adapters/bigquery/bigquery-adapter.js';
import { grantStatements, planGrants } from '../../src/run/grants.js';
import { materializeRequest } from '../../src/run/executor.js';
import type { ModelNode } from '../../src/compile/manifest.js';
import { projectFiles, REPO } from '../helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

function scripts(dir: string, target: string, env: Record<string, string>): Map<string, string> {
  const r = compileProject(loadProject(dir), { env, target });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const bq = new BigQueryAdapter({} as never, r.target!.config as never);
  const out = new Map<string, string>();
  for (const n of Object.values(r.manifest.nodes)) {
    if (n.resource_type !== 'model' || !n.relation) continue;
    const m = n as ModelNode;
    const req = materializeRequest(m, false);
    out.set(`${m.name}.build.sql`, bq.buildScript(req) + '\n');
    if (req.kind === 'incremental') out.set(`${m.name}.incremental.sql`, bq.incrementalStatement(req, m.columns.length ? m.columns.map((c) => c.name) : ['id']) + '\n');
  }
  return out;
}

function golden(actual: Map<string, string>, dir: string) {
  if (UPDATE) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [f, sql] of actual) writeFileSync(join(dir, f), sql);
  }
  expect(existsSync(dir), `${dir} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect([...actual.keys()].sort()).toEqual(readdirSync(dir).sort());
  for (const [f, sql] of actual) expect(sql, f).toBe(readFileSync(join(dir, f), 'utf8'));
}

const cases: Array<[string, string, string, Record<string, string>, string]> = [
  ['fixture project', join(REPO, 'test/fixtures/projects/golden'), 'bq', {}, 'test/fixtures/golden/bigquery-exec'],
  ['shipped project', REPO, 'prod', { AI_AUDIT_BQ_PROJECT: 'vigil-golden' }, 'test/fixtures/golden/shipped-bigquery-exec'],
];

describe.each(cases)('BigQuery execution SQL: %s', (_name, dir, target, env, goldenDir) => {
  const all = scripts(dir, target, env);
  it('matches the golden files', () => golden(all, join(REPO, goldenDir)));
  it.each([...all.entries()])('%s parses', (_f, sql) => {
    // a whole script: sql-parser-cst parses `;`-separated statements itself (comments may hold `;`)
    expect(() => parse(sql, { dialect: 'bigquery', paramTypes: ['?'] })).not.toThrow();
  });
});

describe('BigQuery DDL details', () => {
  const fixture = scripts(join(REPO, 'test/fixtures/projects/golden'), 'bq', {});
  it('partitioning, clustering and options reach the table DDL', () => {
    const ddl = fixture.get('events_hourly.build.sql')!;
    expect(ddl).toContain('PARTITION BY TIMESTAMP_TRUNC(`hour`, DAY)');
    expect(ddl).toContain('CLUSTER BY `capability`');
    // (an incremental table's labels also record the masking it was built with: none here)
    expect(ddl).toContain("labels=[('layer', 'mart'), ('vigil_masking', 'none'), ('tool', 'vigil')]");
    expect(ddl).toContain('require_partition_filter=true');
  });
  it('merge prunes the target by partition; insert_overwrite replaces the partitions the new rows touch', () => {
    expect(fixture.get('events_hourly.incremental.sql')).toMatch(/DECLARE vigil_min DEFAULT[\s\S]*ON T\.`hour` = S\.`hour` AND T\.`capability` = S\.`capability` AND T\.`hour` >= vigil_min/);
    expect(fixture.get('events_daily_overwrite.incremental.sql')).toMatch(/WHEN NOT MATCHED BY SOURCE AND T\.`day` IN UNNEST\(vigil_partitions\) THEN DELETE/);
  });
});

/**
 * Grants (docs/governance.md#grants): the DCL the BigQuery adapter sends after a build — revokes
 * of members no longer in the config, then the grant of the new ones — and the query reading who
 * holds the role now, as golden text, each parsed by sql-parser-cst's BigQuery grammar. Google's
 * analyzer (ZetaSQL) cannot type-check them: it reads `roles/bigquery.dataViewer` as a dotted path
 * and stops at the '.', and its catalog has no INFORMATION_SCHEMA.OBJECT_PRIVILEGES.
 */
describe('BigQuery grants', () => {
  const statements = (): string => {
    const r = compileProject(
      projectFiles({
        projectYaml: 'name: fixture\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: vigil-golden, dataset: analytics, location: EU }\n',
        models: {
          'models/people.sql': "{{ config(materialized='table', grants={'select': ['group:compliance@example.com', 'serviceAccount:sre@vigil-golden.iam.gserviceaccount.com']}, restricted={'grants': {'select': ['user:auditor@example.com']} }) }}\nselect 1 as id, 'a@x.com' as email",
          'models/ops.sql': "{{ config(grants={'select': ['domain:example.com']}, grants_mode='add') }}\nselect 1 as n",
        },
        yml: { 'models/people.yml': 'models:\n  - name: people\n    columns:\n      - name: id\n      - name: email\n        policy: hash\n' },
      }),
      { env: {} },
    );
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const bq = new BigQueryAdapter({} as never, r.target!.config as never);
    const people = r.manifest.nodes['model.fixture.people'] as ModelNode;
    const ops = r.manifest.nodes['model.fixture.ops'] as ModelNode;
    // what the relations hold before the build: a member removed from the config, one kept
    const current = ['group:compliance@example.com', 'user:former@example.com'];
    const st = (list: string[]) => list.map((x) => `${x};`);
    return [
      '-- who holds the role on a relation (bind parameters: dataset, table)',
      ...st([grantedSql('vigil-golden', 'EU')]),
      `-- people (table), held by ${current.join(', ')}`,
      ...st(grantStatements(bq.dialect, people.relation!, 'table', planGrants(current, people.config.grants!.select))),
      `-- people__restricted (view), held by ${current.join(', ')}`,
      ...st(grantStatements(bq.dialect, people.restricted!.relation, 'view', planGrants(current, people.restricted!.grants))),
      `-- ops (view, grants_mode add), held by ${current.join(', ')}`,
      ...st(grantStatements(bq.dialect, ops.relation!, 'view', planGrants(current, ops.config.grants!.select, ops.config.grants_mode))),
    ].join('\n') + '\n';
  };
  const file = join(REPO, 'test/fixtures/golden/bigquery-grants.sql');
  it('match the golden file and parse', () => {
    const sql = statements();
    if (UPDATE) writeFileSync(file, sql);
    expect(sql).toBe(readFileSync(file, 'utf8'));
    expect(() => parse(sql, { dialect: 'bigquery', paramTypes: ['?'] })).not.toThrow();
  });
});
