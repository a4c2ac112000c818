/**
 * Every BigQuery statement Vigil produces for the shipped and fixture projects — each model's
 * DDL (full and incremental SELECT), each test's query, the helper UDF — must parse with
 * sql-parser-cst's BigQuery grammar. A statement it rejects fails here, offline.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parse } from 'sql-parser-cst';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { bigQueryDialect, bigQueryHelpersSql } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { REPO } from '../helpers.js';

function statements(dir: string, target: string, env: Record<string, string>): Array<[string, string]> {
  const r = compileProject(loadProject(dir), { env, target });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const out: Array<[string, string]> = [];
  for (const n of Object.values(r.manifest.nodes)) {
    if (n.resource_type === 'model' && n.relation) {
      const ddl = n.config.materialized === 'view' ? bigQueryDialect.createView(n.relation, n.compiled_sql) : bigQueryDialect.createTableAs(n.relation, n.compiled_sql);
      out.push([`${n.name} (ddl)`, ddl]);
      if (n.compiled_sql_incremental) out.push([`${n.name} (incremental select)`, n.compiled_sql_incremental]);
    } else if (n.resource_type === 'test') {
      out.push([n.name, `select count(*) as failures from (\n${n.compiled_sql}\n) as vigil_test`]);
    }
  }
  return out;
}

const parses = (sql: string) => () => parse(sql, { dialect: 'bigquery', includeSpaces: false });

describe('BigQuery statements parse (sql-parser-cst, dialect bigquery)', () => {
  const all = [
    ...statements(REPO, 'prod', { AI_AUDIT_BQ_PROJECT: 'vigil-golden' }),
    ...statements(join(REPO, 'test/fixtures/projects/golden'), 'bq', {}),
  ];
  it('covers every model and test', () => {
    expect(all.length).toBeGreaterThan(60);
  });
  it.each(all)('%s', (_name, sql) => {
    expect(parses(sql)).not.toThrow();
  });
  it('the helper UDF', () => {
    for (const stmt of bigQueryHelpersSql('vigil-golden').split(';\n').filter((s) => s.trim())) expect(parses(stmt)).not.toThrow();
  });
  it('the parser does reject broken SQL (the check can fail)', () => {
    expect(parses('select count(*) filter (where x) from t')).toThrow();
    expect(parses('create or replace table `p`.`d`.`t` as select from where')).toThrow();
  });
});
