/**
 * Every tile query of the shipped dashboards, compiled for the BigQuery `prod` target, parses
 * with sql-parser-cst's BigQuery grammar (BigQuery itself cannot be reached from here), and a
 * relative date on a TIMESTAMP column is cast (BigQuery will not compare TIMESTAMP with DATETIME).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'sql-parser-cst';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { REPO } from '../helpers.js';
import { rawRowsSql } from '../../src/dashboards/raw-rows.js';

const r = compileProject(loadProject(REPO), { target: 'prod', env: { AI_AUDIT_BQ_PROJECT: 'vigil-golden' } });
const tiles = r.dashboards.flatMap((d) => d.tabs.flatMap((t) => t.tiles.map((x) => [`${d.dashboard.name}.${x.tile.id}`, x] as const)));

describe('shipped dashboard SQL on BigQuery', () => {
  it('compiles', () => {
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(tiles.length).toBe(61);
  });
  it.each(tiles)('%s parses', (_id, t) => {
    for (const sql of [t.sql, t.sqlUnfiltered, t.previousSql].filter((x): x is string => !!x)) {
      expect(() => parse(bigQueryDialect.bindEvalTime(sql, new Date('2026-03-10T18:00:00Z')), { dialect: 'bigquery' }), sql).not.toThrow();
    }
  });
  it.each(tiles.filter(([, t]) => t.rawRows))("%s: its raw-row query parses (a value with a quote; ZetaSQL's analysis is in raw-rows.test.ts)", (_id, t) => {
    const sql = rawRowsSql(t.rawRows!, { capability: "o'brien", created_at: '2026-03-10' }, bigQueryDialect);
    expect(() => parse(sql, { dialect: 'bigquery' }), sql).not.toThrow();
    expect(sql).toContain("`created_at` >= TIMESTAMP '2026-03-10T00:00:00.000Z'");
  });
  it('casts a relative date compared with a TIMESTAMP column', () => {
    const scatter = tiles.find(([id]) => id === 'capability.prompt_vs_duration')![1];
    expect(scatter.sql).toContain('`created_at` >= TIMESTAMP((CURRENT_DATE() + INTERVAL (-1) DAY))');
  });
});
