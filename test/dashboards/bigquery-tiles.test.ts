/**
 * Tile queries of kinds the shipped dashboards do not have, through Google's analyzer (`vigil
 * check --target prod`) and DuckDB (`vigil check`): a dimension with a `granularity` (BigQuery
 * reads `d` in `group by TIMESTAMP_TRUNC(d, DAY)` as the select list's alias `d`), and a KPI
 * compared with the same hours of the previous period under a dashboard date range on a date
 * column (whose previous window had no end: `and undefined`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC_PROJECT_YAML, makeProject, removeDir, vigil } from '../helpers.js';

const PROJECT = `${BASIC_PROJECT_YAML}  prod:
    type: bigquery
    project: my-proj
    dataset: analytics
`;
const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });
const DASHBOARD = {
  name: 'bq',
  title: 'BQ',
  filters: [
    { name: 'date_range', type: 'date_range', column: 'd', default: '30d' },
    { name: 'cat', type: 'select', column: 'cat', default: 'a' },
  ],
  tabs: [
    {
      name: 't',
      title: 'T',
      tiles: [
        { id: 'by_day', type: 'heatmap', title: 'By day', model: 'facts', dimensions: [{ column: 'd', granularity: 'day' }, { column: 'cat', role: 'y' }], measures: [{ column: 'id', agg: 'count' }], top_n: { column: 'cat', n: 3 }, layout: L(0, 0, 6, 3) },
        { id: 'by_week', type: 'line', title: 'By week', model: 'facts', dimensions: [{ column: 'd', granularity: 'week' }, { column: 'cat', role: 'series' }], measures: [{ column: 'v', agg: 'sum' }], layout: L(6, 0, 6, 3) },
        { id: 'by_month', type: 'table', title: 'By month', model: 'facts', dimensions: [{ column: 'ts', granularity: 'month' }, { column: 'cat' }], measures: [{ column: 'v', agg: 'ratio', denominator: 'id' }], layout: L(0, 3, 6, 3) },
        { id: 'today_vs', type: 'kpi', title: 'Last 24 hours', model: 'facts', measures: [{ column: 'v', agg: 'sum' }], filters: [{ column: 'ts', op: '>=', value: '-24h' }], compare: 'previous_period_to_date', layout: L(6, 3, 3, 2) },
        { id: 'week_vs', type: 'kpi', title: 'Last 7 days', model: 'facts', measures: [{ column: 'v', agg: 'sum' }], filters: [{ column: 'ts', op: '>=', value: '-6d' }], compare: 'previous_period_to_date', layout: L(9, 3, 3, 2) },
        // the whole previous period, and to date, of a window of hours under the date range on d
        { id: 'recent_whole', type: 'kpi', title: 'Last 24 hours', model: 'recent', measures: [{ column: 'v', agg: 'sum' }], filters: [{ column: 'ts', op: '>=', value: '-24h' }], compare: 'previous_period', layout: L(0, 6, 3, 2) },
        { id: 'recent_today', type: 'kpi', title: 'Today', model: 'recent', measures: [{ column: 'v', agg: 'sum' }], filters: [{ column: 'ts', op: '>=', value: 'today' }], compare: 'previous_period', layout: L(3, 6, 3, 2) },
      ],
    },
  ],
};

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

describe('tile queries with a granularity, and a KPI to date under a date range on a date column', () => {
  const dir = makeProject({
    'project.yaml': PROJECT,
    'models/facts.sql': "select 1 as id, DATE '2026-01-01' as d, TIMESTAMP '2026-01-01 00:00:00' as ts, 'a' as cat, 2 as v\n",
    'models/facts.yml': 'models:\n  - name: facts\n    config: { materialized: table }\n    columns:\n      - { name: id, data_type: int64 }\n      - { name: d, data_type: date }\n      - { name: ts, data_type: timestamp }\n      - { name: cat, data_type: string }\n      - { name: v, data_type: int64 }\n',
    // yesterday 08:00 and today 10:00 of --at 2026-11-19T12:00:00Z
    'models/recent.sql': "select 1 as id, DATE '2026-11-18' as d, TIMESTAMP '2026-11-18 08:00:00' as ts, 'a' as cat, 5 as v\nunion all select 2, DATE '2026-11-19', TIMESTAMP '2026-11-19 10:00:00', 'a', 7\n",
    'models/recent.yml': 'models:\n  - name: recent\n    config: { materialized: table }\n    columns:\n      - { name: id, data_type: int64 }\n      - { name: d, data_type: date }\n      - { name: ts, data_type: timestamp }\n      - { name: cat, data_type: string }\n      - { name: v, data_type: int64 }\n',
    'dashboards/bq.json': JSON.stringify(DASHBOARD, null, 2),
  });
  dirs.push(dir);

  it("pass Google's analyzer (was: 'SELECT list expression references column d which is neither grouped nor aggregated' for each granularity, 'Unrecognized name: undefined' for the KPIs' previous periods)", () => {
    const r = vigil(dir, ['check', '--target', 'prod']);
    expect(r.stdout + r.stderr).toMatch(/OK: 2 models, 0 tests, 0 alert queries, 11 tile queries/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 120_000);

  it('run on DuckDB, the previous window ending the whole days of the shift back (was: `and undefined`)', () => {
    expect(vigil(dir, ['build']).code).toBe(0);
    const r = vigil(dir, ['check']);
    expect(r.stdout + r.stderr).toMatch(/OK: 2 models, 0 tests, 0 alert queries, 11 tile queries/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const j = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'ex']);
    expect(j.code, j.stderr).toBe(0);
    const tiles = JSON.parse(readFileSync(join(dir, 'ex/bq.json'), 'utf8')).tiles;
    // 24 hours back: the date range's days one day back, the day it ends in included; 7 days back: 7 days
    expect(tiles.today_vs.previous_sql).toContain(`and "d" >= (current_date + (-30) * interval '1 day') and "d" < current_date\n`);
    expect(tiles.week_vs.previous_sql).toContain(`and "d" >= (current_date + (-36) * interval '1 day') and "d" < (current_date + (-6) * interval '1 day')\n`);
  });

  it("the whole previous period of a KPI's own window moves a date range on another column back whole: yesterday's rows counted (was: the date range's days ended where they started, `d >= current_date - 30 and d < current_date - 29`, the previous value empty: 'vs —')", () => {
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', '2026-11-19T12:00:00Z']);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(join(dir, 'site/bq.html'), 'utf8');
    const change = (id: string) => new RegExp(`data-tile="${id}"(?:(?!data-tile=)[\\s\\S])*?class="kpi-change[^"]*">([^<]*)<span class="muted">([^<]*)<`).exec(html)?.slice(1).join('');
    // the 24 hours before 12:00 hold yesterday's 08:00 (5); all of yesterday too
    expect(change('recent_whole')).toBe('▲ 40.0 % vs 5 the 24 hours before');
    expect(change('recent_today')).toBe('▲ 40.0 % vs 5 yesterday (whole day)');
  });
});
