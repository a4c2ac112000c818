/**
 * `vigil dashboards export` (src/dashboards/export.ts) on a fixture dashboard with every tile
 * type and both filter types, in two tabs: determinism, every tile in every format, LookML
 * element types and `listen`, views that define every field the elements read, Metabase cards,
 * tabs and parameter mappings that point at things that exist, and Metabase SQL that DuckDB
 * runs with the filters empty and set. Then golden files for the shipped dashboards.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { parse as parseSql } from 'sql-parser-cst';
import { DashboardSchema, type Dashboard, type ResolvedTile, type Tile } from '../../src/dashboards/schema.js';
import type { CompiledDashboard, CompiledField, CompiledTile } from '../../src/dashboards/types.js';
import { exportDashboards as exportWith, exportWarnings, LOOKER_TYPES, lookerFilterExpression, lookerFilterLiquid, lookerPeriods, METABASE_DISPLAY, metabaseLiterals, type ExportFormat } from '../../src/dashboards/export.js';
import { stableJson } from '../../src/stable-json.js';
import { dialectOf } from '../../src/adapters/index.js';
import { lookmlProblems } from '../support/lookml-check.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { postgresDialect } from '../../src/adapters/postgres/postgres-dialect.js';
import pg from 'pg';
import type { Dialect } from '../../src/adapters/dialect.js';
import { compileDashboards, parseDashboards } from '../../src/dashboards/compile-dashboards.js';
import type { Manifest } from '../../src/compile/manifest.js';
import type { Diagnostic } from '../../src/errors.js';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import lookml from 'lookml-parser';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
/** The Metabase database id every export here names. */
const OPTS = { metabaseDatabase: 7 };
const exportDashboards = (ds: CompiledDashboard[], fmt: ExportFormat) => exportWith(ds, fmt, OPTS);
type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// the fixture: three models, a dashboard with two tabs, every tile type, both filter types

const MODELS: Record<string, { relation: string; columns: Record<string, string> }> = {
  daily: { relation: '"analytics"."daily"', columns: { date: 'date', provider: 'varchar', capability: 'varchar', interaction_count: 'bigint', error_count: 'bigint', p95_latency_ms: 'double' } },
  workspaces: { relation: '"analytics"."workspaces"', columns: { date: 'date', workspace_id: 'varchar', team: 'varchar', total_interactions: 'bigint', error_count: 'bigint', error_rate: 'double', last_interaction_at: 'timestamptz', is_active: 'boolean', status: 'varchar' } },
  logs: { relation: '"analytics"."logs"', columns: { created_at: 'timestamptz', provider: 'varchar', prompt_chars: 'bigint', duration_ms: 'double', is_error: 'boolean' } },
};
/** Tiles of `daily` carry no column types (the exporter infers them); the others do. */
const TYPED = new Set(['workspaces', 'logs']);

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });
const DEFINITION = {
  name: 'fixture_dash',
  title: 'Fixture — every tile',
  description: 'All tile types, both filter types, two tabs.',
  filters: [
    { name: 'date_range', label: 'Date range', type: 'date_range', column: 'date', default: '7d' },
    { name: 'provider', label: 'Provider', type: 'select', column: 'provider', default: 'openai' },
    { name: 'capability', type: 'select', column: 'capability', default: null },
  ],
  tabs: [
    {
      name: 'main',
      title: 'Main',
      tiles: [
        { id: 'interactions_24h', type: 'kpi', title: 'Interactions (24h)', model: 'daily', measures: [{ column: 'interaction_count', agg: 'sum', format: 'integer' }], filters: [{ column: 'date', op: '>=', value: '-1d' }], compare: 'previous_period', layout: L(0, 0, 3, 2) },
        { id: 'error_rate_kpi', type: 'kpi', title: 'Error rate', model: 'daily', measures: [{ name: 'error_rate', column: 'error_count', agg: 'ratio', denominator: 'interaction_count', format: 'percent' }], layout: L(3, 0, 3, 2) },
        { id: 'freshness', type: 'gauge', title: 'Freshness', model: 'workspaces', measures: [{ name: 'minutes_since', column: 'last_interaction_at', agg: 'age_minutes', format: 'minutes' }], max: 120, thresholds: [{ value: 0, color: '#2e7d32' }, { value: 60, color: '#f9a825' }, { value: 90, color: '#c62828', label: 'stale' }], layout: L(6, 0, 3, 2) },
        { id: 'latest_seen', type: 'kpi', title: 'Latest interaction', model: 'workspaces', measures: [{ name: 'latest', column: 'last_interaction_at', agg: 'max' }], layout: L(9, 0, 3, 2) },
        { id: 'latency', type: 'line', title: 'P95 latency (weighted)', model: 'daily', dimensions: [{ column: 'date', granularity: 'day', role: 'x' }], measures: [{ name: 'p95', column: 'p95_latency_ms', agg: 'weighted_avg', weight: 'interaction_count', format: 'ms' }], target_band: { min: 0, max: 500, label: 'SLO' }, layout: L(0, 2, 6, 4) },
        { id: 'volume', type: 'area', title: 'Volume by capability', model: 'daily', dimensions: [{ column: 'date', granularity: 'week', role: 'x' }, { column: 'capability', role: 'series' }], measures: [{ name: 'interactions', column: 'interaction_count', agg: 'sum' }], stacked: true, drilldown: { tab: 'detail', filters: { capability: '{{ capability }}' } }, layout: L(6, 2, 6, 4) },
        { id: 'by_provider', type: 'bar', title: 'Interactions by provider', model: 'daily', dimensions: [{ column: 'provider' }], measures: [{ name: 'interactions', column: 'interaction_count', agg: 'sum' }], sort: [{ field: 'interactions', dir: 'desc' }], limit: 10, layout: L(0, 6, 6, 4) },
        { id: 'provider_mix', type: 'donut', title: 'Provider mix', model: 'daily', dimensions: [{ column: 'provider' }], measures: [{ column: 'interaction_count', agg: 'sum' }], layout: L(6, 6, 6, 4) },
      ],
    },
    {
      name: 'detail',
      title: 'Detail',
      tiles: [
        { id: 'heat', type: 'heatmap', title: 'Interactions: day x workspace', model: 'workspaces', dimensions: [{ column: 'date', role: 'x' }, { column: 'workspace_id', role: 'y' }], measures: [{ column: 'total_interactions', agg: 'sum' }], top_n: { column: 'workspace_id', n: 10 }, layout: L(0, 0, 12, 5) },
        { id: 'latency_box', type: 'box', title: 'Latency by capability', model: 'daily', dimensions: [{ column: 'capability' }], measures: [{ column: 'p95_latency_ms', agg: 'p50' }, { column: 'p95_latency_ms', agg: 'p95' }, { column: 'p95_latency_ms', agg: 'median' }], layout: L(0, 5, 6, 4) },
        { id: 'prompt_vs_duration', type: 'scatter', title: 'Prompt length vs duration', model: 'logs', measures: [{ column: 'prompt_chars', agg: 'none' }, { column: 'duration_ms', agg: 'none' }], filters: [{ column: 'created_at', op: '>=', value: '-1d' }, { column: 'is_error', op: '=', value: false }], limit: 1000, layout: L(6, 5, 6, 4) },
        {
          id: 'leaderboard',
          type: 'table',
          title: 'Workspaces',
          model: 'workspaces',
          dimensions: [{ column: 'workspace_id' }, { column: 'team' }, { column: 'error_rate', label: 'Error rate (day)' }],
          measures: [{ name: 'interactions', column: 'total_interactions', agg: 'sum' }, { name: 'days', column: '*', agg: 'count' }, { name: 'teams', column: 'team', agg: 'count_distinct' }, { name: 'avg_err', column: 'error_rate', agg: 'avg' }, { name: 'p99_err', column: 'error_rate', agg: 'p99' }, { name: 'rows_with_rate', column: 'error_rate', agg: 'count' }],
          filters: [{ column: 'is_active', op: '=', value: true }, { column: 'status', op: 'in', value: ['ok', 'warn, late'] }, { column: 'team', op: 'is not null' }],
          conditional_formatting: [{ field: 'avg_err', op: '>', value: 0.05, color: '#f8d7da' }, { field: 'interactions', op: '<=', value: 10, color: '#eeeeee' }],
          links: [{ label: 'Open', url: 'https://app.example.com/w/{{ workspace_id }}?team={{ team }}' }, { label: 'Runbook', url: 'https://example.com/runbook' }],
          sort: [{ field: 'interactions', dir: 'desc' }],
          limit: 50,
          layout: L(0, 9, 8, 5),
        },
        { id: 'ws_error_rate', type: 'kpi', title: 'Workspace error rate', model: 'workspaces', measures: [{ name: 'error_rate', column: 'error_count', agg: 'ratio', denominator: 'total_interactions', format: 'percent' }], layout: L(8, 9, 4, 2) },
      ],
    },
  ],
};

const PCT: Record<string, number> = { median: 0.5, p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };
const AGG_LABEL: Record<string, string> = { sum: 'Total', avg: 'Average', min: 'Min', max: 'Max', count: 'Count', count_distinct: 'Distinct', median: 'Median', p50: 'P50', p90: 'P90', p95: 'P95', p99: 'P99', ratio: 'Rate', weighted_avg: 'Weighted avg', age_minutes: 'Minutes since', none: '' };

/** A stand-in for compileDashboards(): the same fields and SQL layout, for a fixture that does not depend on it. */
function compileFixture(def: Dashboard, dialect: Dialect, models = MODELS, dialectName: CompiledDashboard['dialect'] = 'duckdb'): CompiledDashboard {
  const q = (c: string) => dialect.quoteIdent(c);
  const rel = (m: string) => (dialectName === 'bigquery' ? `\`proj\`.\`analytics\`.\`${m}\`` : models[m].relation);
  const tabs = def.tabs.map((tab) => ({
    name: tab.name,
    title: tab.title,
    tiles: tab.tiles.map((tile: Tile): CompiledTile => {
      const cols = Object.keys(models[tile.model].columns);
      const fields: CompiledField[] = [];
      const select: string[] = [];
      const group: string[] = [];
      for (const d of tile.dimensions) {
        const e = d.granularity ? dialect.date_trunc(d.granularity, q(d.column)) : q(d.column);
        select.push(`${e} as ${q(d.column)}`);
        group.push(e);
        fields.push({ name: d.column, label: d.label ?? d.column, kind: 'dimension', column: d.column, granularity: d.granularity, role: d.role });
      }
      for (const m of tile.measures) {
        const name = m.name ?? (m.agg === 'none' ? m.column : `${m.agg}_${m.column === '*' ? 'rows' : m.column}`);
        const c = m.column === '*' ? '*' : q(m.column);
        const sql: Record<string, () => string> = {
          sum: () => `sum(${c})`, avg: () => `avg(${c})`, min: () => `min(${c})`, max: () => `max(${c})`, count: () => `count(${c})`, count_distinct: () => `count(distinct ${c})`,
          ratio: () => dialect.safe_divide(`sum(${c})`, `sum(${q(m.denominator!)})`),
          weighted_avg: () => dialect.safe_divide(`sum(${c} * ${q(m.weight!)})`, `sum(${q(m.weight!)})`),
          age_minutes: () => `floor(${dialect.datediff('second', `max(${c})`, dialect.current_timestamp())} / 60)`,
          none: () => c,
        };
        select.push(`${(sql[m.agg] ?? (() => dialect.percentile(c, PCT[m.agg])))()} as ${q(name)}`);
        fields.push({ name, label: m.label ?? `${AGG_LABEL[m.agg]} ${m.column}`.trim(), kind: 'measure', column: m.column, agg: m.agg, other: m.denominator ?? m.weight, format: m.format, ...(m.better ? { better: m.better } : {}) });
      }
      const where = tile.filters.map((f) => {
        const v = f.value;
        if (f.op === 'is null' || f.op === 'is not null') return `${q(f.column)} ${f.op}`;
        if (f.op === 'in' || f.op === 'not in') return `${q(f.column)} ${f.op} (${(v as string[]).map((x) => dialect.literal(x)).join(', ')})`;
        const r = typeof v === 'string' && /^-(\d+)d$/.exec(v);
        return `${q(f.column)} ${f.op} ${r ? dialect.dateadd('day', -Number(r[1]), dialect.current_date()) : dialect.literal(v as string)}`;
      });
      const applies = def.filters.filter((f) => cols.includes(f.column)).map((f) => f.name);
      const rowLevel = tile.measures.some((m) => m.agg === 'none');
      const build = (extra: string[]) => {
        const w = [...where, ...extra];
        const lines = [`select ${select.join(', ')}`, `from ${rel(tile.model)}`];
        if (w.length) lines.push(`where ${w.join('\n  and ')}`);
        if (group.length && !rowLevel) lines.push(`group by ${group.join(', ')}`);
        const sorts = tile.sort.length ? tile.sort.map((s) => `${q(s.field)} ${s.dir}`) : group.length && !rowLevel ? tile.dimensions.map((d) => q(d.column)) : [];
        if (sorts.length) lines.push(`order by ${sorts.join(', ')}`);
        if (tile.limit ?? rowLevel) lines.push(`limit ${tile.limit ?? 5000}`);
        return lines.join('\n');
      };
      const defaults = def.filters
        .filter((f) => applies.includes(f.name) && f.default !== null && f.default !== undefined && !tile.filters.some((x) => x.column === f.column))
        .map((f) => (f.type === 'date_range' ? `${q(f.column)} >= ${dialect.dateadd('day', -6, dialect.current_date())}` : `${q(f.column)} = ${dialect.literal(f.default as string)}`));
      return {
        tile: tile as ResolvedTile,
        tab: tab.name,
        model: tile.model,
        relation: rel(tile.model),
        fields,
        sql: build(defaults),
        sqlUnfiltered: build([]),
        // a stand-in of the same shape (the real compiler moves the window back: 'with compileDashboards()')
        previousSqlUnfiltered: tile.compare && tile.filters.some((f) => typeof f.value === 'string' && /^-\d+[dh]$/.test(f.value)) ? build([]) : undefined,
        appliesFilters: applies,
        columnTypes: TYPED.has(tile.model) ? { ...models[tile.model].columns } : undefined,
      };
    }),
  }));
  return { dashboard: def, file: `dashboards/${def.name}.json`, tabs, models: [...new Set(def.tabs.flatMap((t) => t.tiles.map((x) => x.model)))].sort(), dialect: dialectName, project: 'fixture' };
}

const definition = (): Dashboard => DashboardSchema.parse(structuredClone(DEFINITION));
const fixture = compileFixture(definition(), duckDbDialect);
/** A second, smaller dashboard sharing the models (views are shared across dashboards). */
const second = compileFixture(DashboardSchema.parse({ name: 'aaa_second', title: 'Second', tabs: [{ name: 'only', title: 'Only', tiles: [DEFINITION.tabs[0].tiles[6]] }] }), duckDbDialect);
const DS = [fixture, second];
const allTiles = (d: CompiledDashboard) => d.tabs.flatMap((t) => t.tiles);
const FORMATS = ['looker', 'metabase', 'json'] as const;

// ---------------------------------------------------------------------------------------------

describe('determinism', () => {
  it.each(FORMATS)('%s: two runs are byte-identical, whatever the input order', (fmt) => {
    const a = exportDashboards(DS, fmt);
    const b = exportDashboards([second, compileFixture(definition(), duckDbDialect)], fmt);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [k, v] of a) expect(b.get(k), k).toBe(v);
  });
  it.each(FORMATS)('%s: trailing newline, no timestamps', (fmt) => {
    for (const [k, v] of exportDashboards(DS, fmt)) {
      expect(v.endsWith('\n'), k).toBe(true);
      expect(v.endsWith('\n\n'), k).toBe(false);
      expect(v, k).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    }
  });
  it('JSON outputs have their keys sorted at every level', () => {
    const sortedEverywhere = (v: unknown, path: string): void => {
      if (Array.isArray(v)) return v.forEach((x, i) => sortedEverywhere(x, `${path}[${i}]`));
      if (v && typeof v === 'object') {
        const keys = Object.keys(v);
        expect(keys, path).toEqual([...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        for (const k of keys) sortedEverywhere((v as Json)[k], `${path}.${k}`);
      }
    };
    for (const fmt of ['metabase', 'json'] as const) for (const [k, v] of exportDashboards(DS, fmt)) sortedEverywhere(JSON.parse(v), k);
  });
  it('stableJson sorts keys and keeps array order', () => {
    expect(stableJson({ b: 1, a: [{ d: 1, c: 2 }, 3], u: undefined })).toBe('{\n  "a": [\n    {\n      "c": 2,\n      "d": 1\n    },\n    3\n  ],\n  "b": 1\n}\n');
  });
  it('no dashboards, no files', () => {
    for (const fmt of FORMATS) expect(exportDashboards([], fmt).size).toBe(0);
  });
});

describe('file names', () => {
  it('one file per dashboard (plus views and the model for Looker)', () => {
    expect([...exportDashboards(DS, 'json').keys()].sort()).toEqual(['aaa_second.json', 'fixture_dash.json']);
    expect([...exportDashboards(DS, 'metabase').keys()].sort()).toEqual(['aaa_second.metabase.json', 'fixture_dash.metabase.json']);
    expect([...exportDashboards(DS, 'looker').keys()].sort()).toEqual(['aaa_second.dashboard.lookml', 'daily.view.lkml', 'fixture.model.lkml', 'fixture_dash.dashboard.lookml', 'fixture_dash__heat__top_n.view.lkml', 'logs.view.lkml', 'workspaces.view.lkml']);
  });
});

// ---------------------------------------------------------------------------------------------
// Looker

const looker = exportDashboards(DS, 'looker');
const lookmlDoc = (name: string): Json => {
  const parsed = YAML.parse(looker.get(`${name}.dashboard.lookml`)!);
  expect(Array.isArray(parsed) && parsed.length === 1).toBe(true);
  return parsed[0];
};
const dash = lookmlDoc('fixture_dash');
const elements: Json[] = dash.elements;
const element = (id: string) => elements.find((e) => e.name === id)!;

/** Loosely parse a view file: the field names it defines (a dimension group: one per timeframe). */
function viewFields(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^\s*(dimension|measure): (\w+) \{/gm)) out.add(m[2]);
  for (const m of text.matchAll(/^\s*dimension_group: (\w+) \{[^}]*?timeframes: \[([^\]]*)\]/gm)) for (const tf of m[2].split(',')) out.add(`${m[1]}_${tf.trim()}`);
  return out;
}
const viewBlock = (text: string, kind: string, name: string) => new RegExp(`^  ${kind}: ${name} \\{\\n([\\s\\S]*?)^  \\}`, 'm').exec(text)?.[1] ?? '';

describe('Looker: dashboards', () => {
  it('dashboard header: newspaper layout, dashboards-next, title and description', () => {
    expect(dash).toMatchObject({ dashboard: 'fixture_dash', title: 'Fixture — every tile', description: 'All tile types, both filter types, two tabs.', layout: 'newspaper', preferred_viewer: 'dashboards-next' });
    expect(looker.get('fixture_dash.dashboard.lookml')).toMatch(/^# Generated by `vigil dashboards export --format looker` from dashboards\/fixture_dash\.json/);
  });
  it('every tile is an element, of the type its tile type maps to', () => {
    const tiles = allTiles(fixture);
    // (a box of aggregates is a column chart: Looker's box plot takes five numbers per row, see below)
    for (const t of tiles) expect(element(t.tile.id)?.type, t.tile.id).toBe(t.tile.id === 'latency_box' ? 'looker_column' : LOOKER_TYPES[t.tile.type]);
    expect(elements.filter((e) => e.type !== 'text').map((e) => e.name)).toEqual(tiles.map((t) => t.tile.id));
    expect(new Set(tiles.map((t) => t.tile.type))).toEqual(new Set(Object.keys(LOOKER_TYPES)));
    expect(LOOKER_TYPES).toMatchObject({ kpi: 'single_value', line: 'looker_line', area: 'looker_area', bar: 'looker_column', donut: 'looker_pie', scatter: 'looker_scatter', table: 'looker_grid', box: 'looker_boxplot' });
  });
  it('tabs are stacked: a text element per tab, then its tiles on the 24-column grid (x, w, y, h doubled)', () => {
    expect(element('tab_main')).toMatchObject({ type: 'text', title_text: 'Main', row: 0, col: 0, width: 24, height: 2 });
    expect(element('error_rate_kpi')).toMatchObject({ row: 2, col: 6, width: 6, height: 4 });
    expect(element('provider_mix')).toMatchObject({ row: 2 + 12, col: 12, width: 12, height: 8 });
    // the Main tab is 10 Vigil rows tall: 20 rows + its heading
    expect(element('tab_detail')).toMatchObject({ type: 'text', title_text: 'Detail', row: 22, width: 24 });
    expect(element('heat')).toMatchObject({ row: 24, col: 0, width: 24, height: 10 });
    for (const e of elements) expect(e.col + e.width, e.name).toBeLessThanOrEqual(24);
  });
  it('model, explore, fields, pivots, sorts, limit', () => {
    expect(element('volume')).toMatchObject({ model: 'fixture', explore: 'daily', fields: ['daily.date_week', 'daily.capability', 'daily.interactions'], pivots: ['daily.capability'], stacking: 'normal' });
    expect(element('latency')).toMatchObject({ fields: ['daily.date_date', 'daily.p95'] });
    expect(element('latency').pivots).toBeUndefined();
    expect(element('heat')).toMatchObject({ fields: ['workspaces.date_date', 'workspaces.workspace_id', 'workspaces.sum_total_interactions'], pivots: ['workspaces.workspace_id'], column_limit: 10 });
    // a pivot without top_n is capped at Looker's column_limit
    expect(element('volume').column_limit).toBe(50);
    expect(element('by_provider')).toMatchObject({ sorts: ['daily.interactions desc'], limit: 10 });
    expect(element('provider_mix')).toMatchObject({ fields: ['daily.provider', 'daily.sum_interaction_count'], inner_radius: 50 });
    // raw rows: dimensions, and the row-level default limit when none is set
    expect(element('prompt_vs_duration')).toMatchObject({ explore: 'logs', fields: ['logs.prompt_chars', 'logs.duration_ms'], limit: 1000 });
  });
  it('tile filters become Looker filter expressions on the right fields', () => {
    // the KPI compared with the previous period has its window in its two filtered measures instead
    expect(element('interactions_24h').filters).toBeUndefined();
    expect(element('heat').filters).toEqual({ 'fixture_dash__heat__top_n.in_top_n': 'Yes' });
    expect(element('prompt_vs_duration').filters).toEqual({ 'logs.created_at_date': 'after 1 day ago', 'logs.is_error': 'No' });
    expect(element('leaderboard').filters).toEqual({ 'workspaces.is_active': 'Yes', 'workspaces.status': 'ok,warn^, late', 'workspaces.team': '-NULL' });
  });
  it('listen: each dashboard filter that applies, to the model column, unless the tile filters that column itself', () => {
    const cols = (m: string) => Object.keys(MODELS[m].columns);
    for (const t of allTiles(fixture)) {
      const expected = Object.fromEntries(
        fixture.dashboard.filters
          .filter((f) => cols(t.model).includes(f.column) && !t.tile.filters.some((x) => x.column === f.column))
          .map((f) => [f.name, `${t.model}.${f.type === 'date_range' ? `${f.column}_date` : f.column}`]),
      );
      expect(element(t.tile.id).listen ?? {}, t.tile.id).toEqual(expected);
    }
    // spelled out: a model without the column does not listen; a tile with its own window keeps it
    expect(element('prompt_vs_duration').listen).toEqual({ provider: 'logs.provider' });
    expect(element('heat').listen).toEqual({ date_range: 'workspaces.date_date' });
    expect(element('interactions_24h').listen).toEqual({ provider: 'daily.provider', capability: 'daily.capability' });
    expect(element('volume').listen).toEqual({ date_range: 'daily.date_date', provider: 'daily.provider', capability: 'daily.capability' });
  });
  it('dashboard filters: field_filter with defaults and ui_config, on a view field', () => {
    const [date, provider, capability] = dash.filters;
    expect(date).toEqual({ name: 'date_range', title: 'Date range', type: 'field_filter', default_value: '7 days', allow_multiple_values: true, required: false, ui_config: { type: 'relative_timeframes', display: 'inline' }, model: 'fixture', explore: 'daily', field: 'daily.date_date' });
    expect(provider).toMatchObject({ name: 'provider', title: 'Provider', type: 'field_filter', default_value: 'openai', ui_config: { type: 'tag_list' }, explore: 'daily', field: 'daily.provider' });
    expect(capability).toMatchObject({ name: 'capability', title: 'Capability', field: 'daily.capability' });
    expect(capability.default_value).toBeUndefined();
  });
  it("titles and labels that YAML 1.1 reads as booleans or numbers (yes, No, on, OFF, y, n, 1:20, 1_000) stay strings, as Looker reads the dashboard: quoted (was: title_text: yes)", () => {
    const d = definition();
    const words = ['yes', 'No', 'on', 'OFF', 'y', 'n', '1:20', '1_000'];
    d.title = words[0];
    d.tabs[0].title = words[1];
    d.tabs[0].tiles[0].title = words[2];
    d.tabs[0].tiles[1].title = words[3];
    d.tabs[0].tiles[2].title = words[4];
    d.tabs[0].tiles[3].title = words[5];
    d.tabs[0].tiles[4].title = words[6];
    d.tabs[0].tiles[5].title = words[7];
    const files = exportDashboards([compileFixture(d, duckDbDialect)], 'looker');
    expect(lookmlProblems(files)).toEqual([]);
    const text = files.get('fixture_dash.dashboard.lookml')!;
    const doc = YAML.parse(text, { version: '1.1' })[0] as Json;
    expect(doc.title).toBe('yes');
    const strings = JSON.stringify(doc);
    for (const w of words) expect(strings, w).toContain(JSON.stringify(w));
    expect(text).toMatch(/^\s*title_text: "No"$/m);
    expect(text).not.toMatch(/: (yes|No|on|OFF|y|n|1:20|1_000)$/m);
  });
  it('descriptions become element notes', () => {
    const d = definition();
    d.tabs[0].tiles[0].description = 'Last 24 hours';
    const e = (YAML.parse(exportDashboards([compileFixture(d, duckDbDialect)], 'looker').get('fixture_dash.dashboard.lookml')!)[0].elements as Json[]).find((x) => x.name === 'interactions_24h')!;
    expect(e.note).toEqual({ text: 'Last 24 hours', state: 'collapsed', display: 'hover' });
  });
});

describe('Looker: views and model define every field the dashboards read', () => {
  const refs = (): Array<[string, string]> => {
    const out: Array<[string, string]> = [];
    for (const name of ['fixture_dash', 'aaa_second']) {
      const doc = lookmlDoc(name);
      for (const e of doc.elements as Json[]) {
        for (const r of [...(e.fields ?? []), ...(e.pivots ?? []), ...(e.sorts ?? []).map((s: string) => s.split(' ')[0]), ...Object.keys(e.filters ?? {}), ...Object.values(e.listen ?? {})]) out.push([e.name, r as string]);
      }
      for (const f of doc.filters ?? []) out.push([`filter ${f.name}`, f.field]);
    }
    return out;
  };
  it('every view.field referenced by an element or a filter exists in <view>.view.lkml', () => {
    const all = refs();
    expect(all.length).toBeGreaterThan(40);
    for (const [where, ref] of all) {
      const [view, field] = ref.split('.');
      const text = looker.get(`${view}.view.lkml`);
      expect(text, `${where}: no ${view}.view.lkml`).toBeDefined();
      expect(viewFields(text!).has(field), `${where}: ${ref} not defined`).toBe(true);
    }
  });
  it('measures reference only measures of their own view; every explore used is in the model file', () => {
    for (const [file, text] of looker) {
      if (!file.endsWith('.view.lkml')) continue;
      const fields = viewFields(text);
      for (const m of text.matchAll(/\$\{(\w+)\}/g)) if (m[1] !== 'TABLE') expect(fields.has(m[1]), `${file}: \${${m[1]}}`).toBe(true);
    }
    const model = looker.get('fixture.model.lkml')!;
    for (const e of elements.filter((x) => x.explore)) expect(model).toMatch(new RegExp(`^explore: ${e.explore} \\{`, 'm'));
    expect(model).toMatch(/^connection: "fixture"$/m);
    expect(model).toContain('include: "/**/*.view.lkml"');
  });
  it('sql_table_name is the relation; dimension types follow the declared (or inferred) column types', () => {
    const daily = looker.get('daily.view.lkml')!;
    const ws = looker.get('workspaces.view.lkml')!;
    const logs = looker.get('logs.view.lkml')!;
    expect(daily).toContain('view: daily {\n  sql_table_name: "analytics"."daily" ;;');
    // daily has no declared types: `date` is a date because it has a granularity and the date range filter
    expect(viewBlock(daily, 'dimension_group', 'date')).toMatch(/type: time\n\s+datatype: date\n\s+convert_tz: no\n\s+timeframes: \[raw, date, week, month\]\n(\s+label: .*\n)?\s+sql: \$\{TABLE\}\."date" ;;/);
    expect(viewBlock(daily, 'dimension', 'provider')).toContain('type: string');
    expect(viewBlock(logs, 'dimension_group', 'created_at')).toContain('timeframes: [raw, time, date, week, month]');
    expect(viewBlock(logs, 'dimension', 'is_error')).toContain('type: yesno');
    expect(viewBlock(logs, 'dimension', 'prompt_chars')).toContain('type: number');
    expect(viewBlock(ws, 'dimension', 'error_rate')).toMatch(/type: number\n\s+label: "Error rate \(day\)"/);
  });
  it('measure types: sum, average, count, count_distinct, median, percentile, date, and number for ratio / weighted avg / age', () => {
    const daily = looker.get('daily.view.lkml')!;
    const ws = looker.get('workspaces.view.lkml')!;
    expect(viewBlock(daily, 'measure', 'interactions')).toMatch(/type: sum\n[\s\S]*sql: \$\{TABLE\}\."interaction_count" ;;/);
    expect(viewBlock(daily, 'measure', 'p95_p95_latency_ms')).toMatch(/type: percentile\n\s+percentile: 95\n/);
    expect(viewBlock(daily, 'measure', 'p50_p95_latency_ms')).toMatch(/type: percentile\n\s+percentile: 50\n/);
    expect(viewBlock(daily, 'measure', 'median_p95_latency_ms')).toMatch(/type: median\n/);
    expect(viewBlock(daily, 'measure', 'error_rate')).toMatch(/type: number\n[\s\S]*value_format_name: percent_1\n\s+sql: \(cast\(\$\{sum_error_count\} as double\) \/ nullif\(\$\{sum_interaction_count\}, 0\)\) ;;/);
    expect(viewBlock(daily, 'measure', 'sum_error_count')).toMatch(/type: sum\n\s+hidden: yes/);
    // sum_interaction_count is both a helper and shown on a tile: not hidden
    expect(viewBlock(daily, 'measure', 'sum_interaction_count')).not.toContain('hidden');
    expect(viewBlock(daily, 'measure', 'p95')).toContain('sql: (cast(${sum_p95_latency_ms_x_interaction_count} as double) / nullif(${sum_interaction_count}, 0)) ;;');
    expect(viewBlock(daily, 'measure', 'sum_p95_latency_ms_x_interaction_count')).toContain('sql: ${TABLE}."p95_latency_ms" * ${TABLE}."interaction_count" ;;');
    // whole minutes elapsed, as the site computes them (tile-sql.ts), not minute boundaries crossed
    expect(viewBlock(ws, 'measure', 'minutes_since')).toContain(`sql: floor(date_diff('second', max(\${TABLE}."last_interaction_at"), current_timestamp) / 60) ;;`);
    expect(viewBlock(ws, 'measure', 'latest')).toMatch(/type: date\n[\s\S]*sql: MAX\(\$\{TABLE\}\."last_interaction_at"\) ;;/);
    expect(viewBlock(ws, 'measure', 'days')).toMatch(/type: count\n/);
    expect(viewBlock(ws, 'measure', 'days')).not.toContain('sql:');
    expect(viewBlock(ws, 'measure', 'rows_with_rate')).toContain('sql: COUNT(${TABLE}."error_rate") ;;');
    expect(viewBlock(ws, 'measure', 'teams')).toContain('type: count_distinct');
    expect(viewBlock(ws, 'measure', 'avg_err')).toContain('type: average');
  });
  it('a measure named like a dimension of its view is renamed, and the element uses the new name', () => {
    const ws = looker.get('workspaces.view.lkml')!;
    expect(viewBlock(ws, 'dimension', 'error_rate')).toContain('type: number');
    expect(viewBlock(ws, 'measure', 'error_rate_measure')).toContain('sql: (cast(${sum_error_count} as double) / nullif(${sum_total_interactions}, 0)) ;;');
    expect(element('ws_error_rate').fields).toEqual(['workspaces.error_rate_measure']);
    expect(element('error_rate_kpi').fields).toEqual(['daily.error_rate']);
  });
  it('views are shared by the dashboards that read the same model', () => {
    expect(lookmlDoc('aaa_second').elements.find((e: Json) => e.name === 'by_provider').fields).toEqual(['daily.provider', 'daily.interactions']);
    expect(looker.get('daily.view.lkml')!.match(/measure: interactions \{/g)).toHaveLength(1);
  });
  it('BigQuery: backquoted columns, BigQuery functions', () => {
    const bq = exportDashboards([compileFixture(definition(), bigQueryDialect, MODELS, 'bigquery')], 'looker');
    expect(bq.get('daily.view.lkml')).toContain('sql_table_name: `proj`.`analytics`.`daily` ;;');
    expect(bq.get('daily.view.lkml')).toContain('sql: ${TABLE}.`interaction_count` ;;');
    expect(bq.get('daily.view.lkml')).toContain('SAFE_DIVIDE(${sum_error_count}, ${sum_interaction_count})');
  });
});

describe("LookML age_minutes: whole minutes elapsed, as the site's tiles compute them", () => {
  /** The measure's SQL of the export in `dialect`, run on one row at `now`. */
  const ageSql = (dialect: Dialect, name: CompiledDashboard['dialect'], last: string, now: string, literal: (ts: string) => string) => {
    const ws = exportDashboards([compileFixture(definition(), dialect, MODELS, name)], 'looker').get('workspaces.view.lkml')!;
    const expr = /sql: (.*) ;;/.exec(viewBlock(ws, 'measure', 'minutes_since'))![1];
    return `select ${dialect.bindEvalTime(expr.replaceAll('${TABLE}', 't'), new Date(now))} as age from (select ${literal(last)} as last_interaction_at) t`;
  };
  // 10:00:58 to 10:03:03 is 2 minutes and 5 seconds: 2 (three minute boundaries are crossed)
  const LAST = '2026-03-01T10:00:58Z';
  const NOW = '2026-03-01T10:03:03Z';
  it('DuckDB', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    try {
      const rows = (await c.runAndReadAll(ageSql(duckDbDialect, 'duckdb', LAST, NOW, (ts) => `cast('${ts}' as timestamptz)`))).getRowObjectsJS();
      expect(Number(rows[0].age)).toBe(2);
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  });
  it('Postgres', async () => {
    const client = new pg.Client(inject('pgUrl'));
    await client.connect();
    try {
      const r = await client.query(ageSql(postgresDialect, 'postgres', LAST, NOW, (ts) => `cast('${ts}' as timestamptz)`));
      expect(Number(r.rows[0].age)).toBe(2);
    } finally {
      await client.end();
    }
  });
  it('BigQuery: the same arithmetic in its functions', () => {
    const ws = exportDashboards([compileFixture(definition(), bigQueryDialect, MODELS, 'bigquery')], 'looker').get('workspaces.view.lkml')!;
    expect(viewBlock(ws, 'measure', 'minutes_since')).toContain('sql: floor(TIMESTAMP_DIFF(TIMESTAMP_TRUNC(CURRENT_TIMESTAMP(), SECOND), TIMESTAMP_TRUNC(max(${TABLE}.`last_interaction_at`), SECOND), SECOND) / 60) ;;');
  });
});

describe('Looker: conditional formatting, reference bands, links, drill fields, comparisons, top-N pivots', () => {
  it('conditional formatting on table cells (>= and <= as Looker\'s inclusive between), enabled on the element', () => {
    expect(element('leaderboard')).toMatchObject({ enable_conditional_formatting: true, conditional_formatting_include_totals: false, conditional_formatting_include_nulls: false });
    expect(element('leaderboard').conditional_formatting).toEqual([
      { type: 'greater than', value: 0.05, background_color: '#f8d7da', font_color: null, bold: false, italic: false, strikethrough: false, fields: ['workspaces.avg_err'] },
      { type: 'between', value: [-Number.MAX_SAFE_INTEGER, 10], background_color: '#eeeeee', font_color: null, bold: false, italic: false, strikethrough: false, fields: ['workspaces.interactions'] },
    ]);
  });
  it("a gauge's bands color its value (gauge-bands.ts, as the site and Metabase)", () => {
    expect(element('freshness').conditional_formatting.map((c: Json) => [c.value, c.font_color])).toEqual([
      [[0, 60], '#2e7d32'],
      [[60, 90], '#f9a825'],
      [[90, Number.MAX_SAFE_INTEGER], '#c62828'],
    ]);
  });
  it("a KPI's thresholds color its value as on the site, the highest it reaches (was: dropped without a word, in Looker and in Metabase)", () => {
    const def = structuredClone(DEFINITION) as Json;
    const kpi = def.tabs[0].tiles.find((t: Json) => t.id === 'error_rate_kpi');
    kpi.thresholds = [{ value: 0, color: '#12B76A' }, { value: 0.15, color: '#D92D20', label: 'red' }, { value: 0.05, color: '#F79009' }];
    def.tabs[0].tiles.find((t: Json) => t.id === 'interactions_24h').thresholds = [{ value: 1000, color: '#D92D20' }];
    const d = compileFixture(DashboardSchema.parse(def), duckDbDialect);
    const els: Json[] = YAML.parse(exportDashboards([d], 'looker').get('fixture_dash.dashboard.lookml')!)[0].elements;
    const el = (id: string) => els.find((e) => e.name === id)!;
    // one band per threshold, up to the next (whatever order Looker reads overlapping rules in, they
    // meet only at a threshold itself); Looker's between includes its ends: the highest first, as
    // the site colors a value at 0.05 orange
    expect(el('error_rate_kpi')).toMatchObject({ enable_conditional_formatting: true });
    expect(el('error_rate_kpi').conditional_formatting.map((c: Json) => [c.type, c.value, c.font_color, c.fields])).toEqual([
      ['between', [0.15, Number.MAX_SAFE_INTEGER], '#D92D20', ['daily.error_rate']],
      ['between', [0.05, 0.15], '#F79009', ['daily.error_rate']],
      ['between', [0, 0.05], '#12B76A', ['daily.error_rate']],
    ]);
    // a compared KPI: on the value it shows, this period's measure
    expect(el('interactions_24h').conditional_formatting.map((c: Json) => c.fields)).toEqual([['daily.sum_interaction_count_this_period']]);
    // Metabase's number cards take no colors: said in the file, not dropped silently
    const mb = JSON.parse(exportDashboards([d], 'metabase').get('fixture_dash.metabase.json')!) as Json;
    expect(mb.not_carried).toEqual(expect.arrayContaining([
      "error_rate_kpi: its thresholds (0, red, 0.05: the color of the value, which Metabase's number cards do not take)",
      "interactions_24h: its thresholds (1000: the color of the value, which Metabase's number cards do not take)",
    ]));
    expect(mb.not_carried.some((x: string) => x.startsWith('freshness:'))).toBe(false);
  });
  it("a scatter's log axes, sample, target band and fixed colors: carried where the tool has the setting (Looker's log value axis, Metabase's log scales on both axes), else listed as not carried (was: dropped without a word in both)", () => {
    const def = structuredClone(DEFINITION) as Json;
    const sc = def.tabs[1].tiles.find((t: Json) => t.id === 'prompt_vs_duration');
    delete sc.limit;
    Object.assign(sc, { scale: { x: 'log', y: 'log' }, sample: { rows: 300, key: 'prompt_chars', seed: 2 }, target_band: { min: 0, max: 2000 }, colors: { 'Duration ms': '#D92D20' } });
    def.tabs[0].tiles.find((t: Json) => t.id === 'provider_mix').colors = { openai: '#10A37F' };
    const d = compileFixture(DashboardSchema.parse(def), duckDbDialect);
    const files = exportDashboards([d], 'looker');
    expect(lookmlProblems(files)).toEqual([]);
    const text = files.get('fixture_dash.dashboard.lookml')!;
    const el = (YAML.parse(text)[0].elements as Json[]).find((e) => e.name === 'prompt_vs_duration')!;
    expect(el.y_axis_scale_mode).toBe('log');
    expect(el.reference_lines).toEqual([expect.objectContaining({ reference_type: 'range', range_start: 0, range_end: 2000 })]);
    const header = text.slice(text.indexOf('# Not carried into LookML:'), text.indexOf('- dashboard:'));
    expect(header).toContain("prompt_vs_duration: its logarithmic x axis (Looker's scatter x axis has no log scale: drawn linear)");
    expect(header).toContain('prompt_vs_duration: its sample (300 rows drawn by a hash of prompt_chars): Looker reads the first 5000 rows of the window');
    expect(header).toContain("prompt_vs_duration: its fixed colors (Duration ms): Looker's palette colors them");
    expect(header).toContain("provider_mix: its fixed colors (openai): Looker's palette colors them");
    const mb = JSON.parse(exportDashboards([d], 'metabase').get('fixture_dash.metabase.json')!) as Json;
    const card = mb.cards.find((c: Json) => c.key === 'fixture_dash/prompt_vs_duration').body;
    expect(card.visualization_settings).toMatchObject({ 'graph.x_axis.scale': 'log', 'graph.y_axis.scale': 'log' });
    expect(mb.not_carried).toEqual(expect.arrayContaining(['prompt_vs_duration: its target band (0–2000)', "prompt_vs_duration: its fixed colors (Duration ms): Metabase's palette colors them", "provider_mix: its fixed colors (openai): Metabase's palette colors them"]));
  });
  it("a line's shaded bands are listed as not carried in both exports; a heatmap whose measure is better lower is colored to orange in Metabase, as on the site (was: the bands dropped without a word, every heatmap blue)", () => {
    const def = structuredClone(DEFINITION) as Json;
    def.tabs[0].tiles.find((t: Json) => t.id === 'latency').bands = true;
    def.tabs[0].tiles.find((t: Json) => t.id === 'latency').measures.push({ name: 'p99', column: 'p95_latency_ms', agg: 'max' });
    def.tabs[1].tiles.find((t: Json) => t.id === 'heat').measures[0].better = 'lower';
    const d = compileFixture(DashboardSchema.parse(def), duckDbDialect);
    const text = exportDashboards([d], 'looker').get('fixture_dash.dashboard.lookml')!;
    expect(text.slice(0, text.indexOf('- dashboard:'))).toContain('#   - latency: its shaded bands between the lines (Looker draws the lines alone)');
    const mb = JSON.parse(exportDashboards([d], 'metabase').get('fixture_dash.metabase.json')!) as Json;
    expect(mb.not_carried).toContain('latency: its shaded bands between the lines (Metabase draws the lines alone)');
    const heat = mb.cards.find((c: Json) => c.key === 'fixture_dash/heat').body;
    expect(heat.visualization_settings['table.column_formatting'][0].colors).toEqual(['#ffffff', '#E6550D']);
    expect(mb.mapped).toContainEqual(expect.stringMatching(/^heat \(heatmap\): .* colored from white to orange \(lower is better\) by value/));
    // (better: higher, or none: blue)
    expect(cardOf('heat').visualization_settings['table.column_formatting'][0].colors).toEqual(['#ffffff', '#509EE3']);
  });
  it('the target band is a range reference line of the value axis', () => {
    expect(element('latency').reference_lines).toEqual([{ reference_type: 'range', range_start: 0, range_end: 500, label: 'SLO', label_position: 'right', color: '#12B76A' }]);
  });
  it("tile links are links on the row's dimension, other fields as Liquid _value; the drill-down links to the target dashboard with its filter set", () => {
    const ws = looker.get('workspaces.view.lkml')!;
    expect(viewBlock(ws, 'dimension', 'workspace_id')).toContain('link: {\n      label: "Open"\n      url: "https://app.example.com/w/{{ value | url_encode }}?team={{ workspaces.team._value | url_encode }}"\n    }');
    // a link without a field of the row: nothing to hang it on, said in the header
    expect(looker.get('fixture_dash.dashboard.lookml')).toContain("#   - leaderboard: link 'Runbook' (no field in its URL)");
    expect(viewBlock(looker.get('daily.view.lkml')!, 'dimension', 'capability')).toContain('link: {\n      label: "Open Detail"\n      url: "/dashboards/fixture::fixture_dash?Capability={{ filterable_value | url_encode }}"\n    }');
  });
  it('drill fields: every visible measure drills into the set of the dimensions the dashboards use', () => {
    const daily = looker.get('daily.view.lkml')!;
    expect(daily).toContain('  set: detail {\n    fields: [capability, date_date, provider]\n  }');
    expect(viewBlock(daily, 'measure', 'interactions')).toContain('drill_fields: [detail*]');
    expect(viewBlock(daily, 'measure', 'sum_error_count')).not.toContain('drill_fields');
  });
  it('a KPI compared with the previous period: this period and the previous one as filtered measures, and Looker\'s comparison on', () => {
    expect(element('interactions_24h')).toMatchObject({ fields: ['daily.sum_interaction_count_this_period', 'daily.sum_interaction_count_previous_period'], show_comparison: true, comparison_type: 'change', show_comparison_label: true });
    const daily = looker.get('daily.view.lkml')!;
    expect(viewBlock(daily, 'measure', 'sum_interaction_count_this_period')).toMatch(/type: sum\n[\s\S]*filters: \[date_date: "1 day ago for 2 days"\]/);
    expect(viewBlock(daily, 'measure', 'sum_interaction_count_previous_period')).toContain('filters: [date_date: "3 days ago for 2 days"]');
  });
  it('lookerPeriods: this period and the one before, of the same length', () => {
    expect(lookerPeriods('-1d')).toEqual({ timeframe: 'date', current: '1 day ago for 2 days', previous: '3 days ago for 2 days' });
    expect(lookerPeriods('-6d')).toEqual({ timeframe: 'date', current: '6 days ago for 7 days', previous: '13 days ago for 7 days' });
    expect(lookerPeriods('-24h')).toEqual({ timeframe: 'time', current: '24 hours ago for 24 hours', previous: '48 hours ago for 24 hours' });
    expect(lookerPeriods('today')).toEqual({ timeframe: 'date', current: 'today', previous: 'yesterday' });
  });
  it('top-N pivot: a derived table of the n largest values under the element\'s filters, joined to the explore and filtered on in_top_n', () => {
    const top = looker.get('fixture_dash__heat__top_n.view.lkml')!;
    expect(top).toContain('{% condition workspaces.date_date %} "date" {% endcondition %}');
    expect(top).toMatch(/group by "workspace_id"\n\s+order by sum\("total_interactions"\) desc, "workspace_id"\n\s+limit 10 ;;/);
    expect(looker.get('fixture.model.lkml')).toContain('explore: workspaces {\n  join: fixture_dash__heat__top_n {\n    type: left_outer\n    relationship: many_to_one\n    sql_on: ${workspaces.workspace_id} = ${fixture_dash__heat__top_n.workspace_id} ;;\n  }\n}');
  });
});

describe('LookML: parsed by the real parser (lookml-parser), every referenced field resolved', () => {
  const bigquery = exportDashboards([compileFixture(definition(), bigQueryDialect, MODELS, 'bigquery')], 'looker');
  it.each([
    ['fixture (DuckDB)', looker],
    ['fixture (BigQuery)', bigquery],
  ])('%s: no problem', (_name, files) => {
    expect(lookmlProblems(files)).toEqual([]);
    expect([...files.keys()].filter((f) => f.endsWith('.lkml')).length).toBeGreaterThanOrEqual(4);
  });
  const edited = (file: string, from: string | RegExp, to: string) => {
    const m = new Map(looker);
    const text = m.get(file)!;
    expect(text).toMatch(from);
    m.set(file, text.replace(from, to));
    return lookmlProblems(m);
  };
  it('catches a misspelled field in an element', () => {
    expect(edited('fixture_dash.dashboard.lookml', 'daily.interactions', 'daily.interactons')).toContainEqual(expect.stringContaining('daily.interactons: view daily has no field interactons'));
  });
  it('catches a field of a view the explore does not join', () => {
    expect(edited('fixture_dash.dashboard.lookml', '[logs.prompt_chars', '[daily.provider')).toContainEqual(expect.stringContaining('view daily is not in the explore'));
  });
  it("catches a LookML syntax error, a measure filter on a field that does not exist, a drill set's unknown member", () => {
    expect(edited('daily.view.lkml', /\n\}\n$/, '\n')).toContainEqual(expect.stringMatching(/^daily\.view\.lkml: LookML syntax: /));
    expect(edited('daily.view.lkml', 'filters: [date_date:', 'filters: [dte_date:')).toContainEqual(expect.stringContaining("filters 'dte_date' is not a field of the view"));
    expect(edited('daily.view.lkml', 'fields: [capability,', 'fields: [capabilty,')).toContainEqual(expect.stringContaining("set detail 'capabilty' is not a field of the view"));
  });
  it('catches a top-N condition, a join or a link on a field that does not exist', () => {
    expect(edited('fixture_dash__heat__top_n.view.lkml', 'workspaces.date_date', 'workspaces.day_date')).toContainEqual(expect.stringContaining('workspaces.day_date: view workspaces has no field day_date'));
    expect(edited('fixture.model.lkml', '${workspaces.workspace_id}', '${workspaces.workspace}')).toContainEqual(expect.stringContaining('view workspaces has no field workspace'));
    expect(edited('workspaces.view.lkml', 'workspaces.team._value', 'workspaces.tem._value')).toContainEqual(expect.stringContaining('workspace_id link: workspaces.tem: view workspaces has no field tem'));
  });
  it("catches a dimension named like a dimension group's timeframe; the exporter refuses such a model before writing anything", () => {
    expect(edited('logs.view.lkml', /(\n  dimension: provider \{)/, '\n  dimension: created_at_date {\n    type: string\n    sql: 1 ;;\n  }\n$1')).toContainEqual(expect.stringContaining('view logs: dimension group created_at names a field created_at_date, which a dimension has'));
    const models = { ...MODELS, logs: { ...MODELS.logs, columns: { ...MODELS.logs.columns, created_at_date: 'varchar' } } };
    const def = DashboardSchema.parse({ name: 'clash', title: 'Clash', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'rows', type: 'table', title: 'Rows', model: 'logs', dimensions: [{ column: 'created_at' }, { column: 'created_at_date' }], measures: [{ column: 'duration_ms', agg: 'sum' }], layout: L(0, 0, 12, 4) }] }] });
    const clash = compileFixture(def, duckDbDialect, models);
    expect(() => exportDashboards([clash], 'looker')).toThrow(/LookML: model 'logs' has a column 'created_at_date' and a timestamp column 'created_at', whose dimension group names a field 'created_at_date' too/);
    // the other formats have no such fields
    expect(exportDashboards([clash], 'metabase').size).toBeGreaterThan(0);
  });
  it("catches a name Looker refuses (a-z, 0-9 and _, starting with a letter): mixed case, a space's syntax error", () => {
    expect(edited('daily.view.lkml', 'dimension: provider {', 'dimension: Provider {')).toContainEqual("daily.view.lkml: view daily: dimension name 'Provider' is not a Looker name (a-z, 0-9 and _, starting with a letter)");
    expect(edited('daily.view.lkml', 'view: daily {', 'view: Daily {')).toContainEqual("daily.view.lkml: view name 'Daily' is not a Looker name (a-z, 0-9 and _, starting with a letter)");
    expect(edited('daily.view.lkml', 'dimension: provider {', 'dimension: pro vider {')).toContainEqual(expect.stringMatching(/^daily\.view\.lkml: LookML syntax: /));
  });
  it('catches a pivot not among the fields and one without a column limit', () => {
    expect(edited('fixture_dash.dashboard.lookml', /\n\s+column_limit: 10/, '')).toContainEqual(expect.stringContaining('element heat: a pivot without a column_limit'));
    expect(edited('fixture_dash.dashboard.lookml', 'pivots: [workspaces.workspace_id]', 'pivots: [workspaces.team]')).toContainEqual(expect.stringContaining('element heat: pivot workspaces.team is not among the fields'));
  });
});

describe("LookML names: Looker's identifiers (a-z, 0-9, _), each generated name with one owner", () => {
  const L2 = (y: number) => L(0, y, 12, 4);
  const board = (name: string, tabs: Array<{ name: string; tiles: unknown[] }>) => JSON.stringify({ name, title: name, tabs: tabs.map((t) => ({ title: t.name, ...t })) }, null, 2);
  /** The line of the first line of `text` holding `s`. */
  const lineOf = (text: string, s: string) => text.split('\n').findIndex((l) => l.includes(s)) + 1;
  const lookmlOf = (dir: string) => new Map(readdirSync(join(dir, 'lookml')).map((f) => [f, readFileSync(join(dir, 'lookml', f), 'utf8')]));

  it("two top-N rankings whose names meet (tile b__c of dashboard a, tile c of a__b): exit 2 naming both at file:line, nothing written (was: one a__b__c__top_n, dashboard a filtered on a__b's ranking)", () => {
    const heat = (id: string, measure: string, n: number) => ({ id, type: 'heatmap', title: id, model: 'ev', dimensions: [{ column: 'x', role: 'x' }, { column: 'event_type', role: 'y' }], measures: [{ column: measure, agg: 'sum' }], top_n: { column: 'event_type', n }, layout: L2(0) });
    const a = board('a', [{ name: 't', tiles: [heat('b__c', 'events', 2)] }]);
    const ab = board('a__b', [{ name: 't', tiles: [heat('c', 'errors', 4)] }]);
    const dir = makeProject({
      'models/ev.sql': "select current_date as x, 'click' as event_type, 1 as events, 0 as errors",
      'models/ev.yml': 'models:\n  - name: ev\n    columns:\n      - { name: x, data_type: date }\n      - { name: event_type, data_type: varchar }\n      - { name: events, data_type: bigint }\n      - { name: errors, data_type: bigint }\n',
      'dashboards/a.json': a,
      'dashboards/a__b.json': ab,
    });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(`dashboards/a__b.json:${lineOf(ab, '"id": "c"')}: error: LookML: the top_n of tile 'c' in dashboard 'a__b' and the top_n of tile 'b__c' in dashboard 'a' (dashboards/a.json:${lineOf(a, '"id": "b__c"')}) would both be the view 'a__b__c__top_n'`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(join(dir, 'lookml'))).toBe(false);
      // -s a too: the views and the model serve every dashboard of the LookML project
      expect(vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml', '-s', 'a']).code).toBe(2);
    } finally {
      removeDir(dir);
    }
  });

  it("columns of a time of day, an interval and an array: string dimensions in LookML and text variables in Metabase, the filter's SQL runs in DuckDB (was: a dimension group on the TIME, whose date Looker cannot cut; the INTERVAL and INTEGER[] numbers, their Metabase filter a number the warehouse cannot compare)", async () => {
    const dash = board('s', [{ name: 't', tiles: [{ id: 'rows', type: 'table', title: 'Rows', model: 'shifts', dimensions: [{ column: 'start_time' }, { column: 'duration' }, { column: 'tags' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L2(0) }] }]);
    const withFilter = JSON.stringify({ ...JSON.parse(dash), filters: [{ name: 'duration', type: 'select', column: 'duration', default: null }] }, null, 2);
    const dir = makeProject({
      'models/shifts.sql': "select time '09:30:00' as start_time, interval 90 minute as duration, [1, 2] as tags, 5 as n",
      'models/shifts.yml': 'models:\n  - name: shifts\n    columns:\n      - { name: start_time, data_type: time }\n      - { name: duration, data_type: interval }\n      - { name: tags, data_type: "integer[]" }\n      - { name: n, data_type: integer }\n',
      'dashboards/s.json': withFilter,
    });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const files = lookmlOf(dir);
      expect(lookmlProblems(files)).toEqual([]);
      const view = files.get('shifts.view.lkml')!;
      expect(view).not.toContain('dimension_group');
      for (const c of ['start_time', 'duration', 'tags']) expect(view).toContain(`  dimension: ${c} {\n    type: string\n`);
      expect(files.get('s.dashboard.lookml')).toContain('fields: [shifts.start_time, shifts.duration, shifts.tags, shifts.n]');
      const m = vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '2', '--out', 'mb']);
      expect(m.code, m.stdout + m.stderr).toBe(0);
      const plan = JSON.parse(readFileSync(join(dir, 'mb/s.metabase.json'), 'utf8'));
      const q = plan.cards[0].body.dataset_query.native;
      expect(q['template-tags'].duration.type).toBe('text');
      expect(plan.dashboard.parameters[0]).toMatchObject({ id: 'duration', type: 'string/=', sectionId: 'string' });
      // the value as Metabase fills a text variable: a quoted string, which DuckDB casts to the interval
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const con = await (await DuckDBInstance.create(':memory:')).connect();
      await con.run('create schema analytics');
      await con.run(`create table analytics.shifts as ${readFileSync(join(dir, 'models/shifts.sql'), 'utf8')}`);
      const sql = q.query.replace(/\[\[(.*?)\]\]/gs, '$1').replace('{{duration}}', "'90 minutes'");
      expect((await con.runAndReadAll(sql)).getRows()).toHaveLength(1);
    } finally {
      removeDir(dir);
    }
  });

  it("a column declared money (Postgres' amount type) is a number: a number dimension in LookML and a number variable in Metabase (was: a string, as the type's family is none of int, float or numeric)", () => {
    const dash = board('p', [{ name: 't', tiles: [{ id: 'rows', type: 'table', title: 'Rows', model: 'prices', dimensions: [{ column: 'amount' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L2(0) }] }]);
    const withFilter = JSON.stringify({ ...JSON.parse(dash), filters: [{ name: 'amount', type: 'select', column: 'amount', default: null }] }, null, 2);
    const dir = makeProject({
      'models/prices.sql': 'select 12.5 as amount, 5 as n',
      'models/prices.yml': 'models:\n  - name: prices\n    columns:\n      - { name: amount, data_type: money }\n      - { name: n, data_type: integer }\n',
      'dashboards/p.json': withFilter,
    });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(lookmlOf(dir).get('prices.view.lkml')).toContain('  dimension: amount {\n    type: number\n');
      const m = vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '2', '--out', 'mb']);
      expect(m.code, m.stdout + m.stderr).toBe(0);
      const plan = JSON.parse(readFileSync(join(dir, 'mb/p.metabase.json'), 'utf8'));
      expect(plan.cards[0].body.dataset_query.native['template-tags'].amount.type).toBe('number');
    } finally {
      removeDir(dir);
    }
  });

  it("columns and a model named as Looker refuses ('user name', Order, Created_At, Odd_Model): Looker names, the real name quoted in the SQL and kept as label; the LookML parses and follows Looker's name rule (was: `dimension: user name {`, `sum_Order`, `view: Odd_Model`)", () => {
    const dash = board('d', [
      {
        name: 't',
        tiles: [
          { id: 'h', type: 'heatmap', title: 'H', model: 'Odd_Model', dimensions: [{ column: 'x', role: 'x' }, { column: 'user name', role: 'y' }], measures: [{ column: 'Order', agg: 'sum' }], top_n: { column: 'user name', n: 2 }, layout: L2(0) },
          { id: 'k', type: 'line', title: 'K', model: 'Odd_Model', dimensions: [{ column: 'Created_At', granularity: 'day' }], measures: [{ column: 'Order', agg: 'sum' }], filters: [{ column: '1st', op: '>', value: 0 }], layout: L2(4) },
        ],
      },
    ]);
    const dir = makeProject({
      'models/Odd_Model.sql': 'select current_date as x, \'u\' as "user name", 1 as "Order", current_timestamp as "Created_At", 1 as "1st"',
      'models/Odd_Model.yml': 'models:\n  - name: Odd_Model\n    columns:\n      - { name: x, data_type: date }\n      - { name: user name, data_type: varchar }\n      - { name: Order, data_type: bigint }\n      - { name: Created_At, data_type: timestamp }\n      - { name: 1st, data_type: integer }\n',
      'dashboards/d.json': dash,
    });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(r.code, r.stderr).toBe(0);
      const files = lookmlOf(dir);
      expect([...files.keys()].sort()).toEqual(['d.dashboard.lookml', 'd__h__top_n.view.lkml', 'fixture.model.lkml', 'odd_model.view.lkml']);
      expect(lookmlProblems(files)).toEqual([]);
      const view = lookml.parse(files.get('odd_model.view.lkml')!).view.odd_model;
      expect(view.label).toBe('Odd_Model');
      expect(view.sql_table_name.trim()).toBe('"analytics"."Odd_Model"');
      expect(view.dimension.user_name).toMatchObject({ label: 'User name', sql: ' ${TABLE}."user name" ' });
      expect(view.dimension_group.created_at.sql).toBe(' ${TABLE}."Created_At" ');
      // a column only filtered on has its real name as label
      expect(view.dimension.f_1st).toMatchObject({ label: '1st', sql: ' ${TABLE}."1st" ' });
      expect(Object.keys(view.measure)).toEqual(['sum_order']);
      expect(view.measure.sum_order.sql).toBe(' ${TABLE}."Order" ');
      expect(view.set.detail.fields).toEqual(['created_at_date', 'f_1st', 'user_name', 'x_date']);
      const top = lookml.parse(files.get('d__h__top_n.view.lkml')!).view.d__h__top_n;
      expect(top.dimension.user_name.sql).toBe(' ${TABLE}."user name" ');
      expect(top.derived_table.sql).toContain('select "user name" as "user name"');
      expect(files.get('fixture.model.lkml')).toContain('sql_on: ${odd_model.user_name} = ${d__h__top_n.user_name} ;;');
      const elements = Object.fromEntries((YAML.parse(files.get('d.dashboard.lookml')!)[0].elements as Json[]).map((e) => [e.name, e]));
      expect(elements.h).toMatchObject({ explore: 'odd_model', fields: ['odd_model.x_date', 'odd_model.user_name', 'odd_model.sum_order'], pivots: ['odd_model.user_name'], filters: { 'd__h__top_n.in_top_n': 'Yes' } });
      expect(elements.k.filters).toEqual({ 'odd_model.f_1st': '>0' });
    } finally {
      removeDir(dir);
    }
  });

  it('BigQuery: the real name in backquotes', () => {
    const models = { ...MODELS, daily: { ...MODELS.daily, columns: { ...MODELS.daily.columns, 'User Name': 'varchar' } } };
    const def = DashboardSchema.parse({ name: 'bq', title: 'BQ', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'by_user', type: 'bar', title: 'By user', model: 'daily', dimensions: [{ column: 'User Name' }], measures: [{ column: 'interaction_count', agg: 'sum' }], layout: L2(0) }] }] });
    const files = exportDashboards([compileFixture(def, bigQueryDialect, models, 'bigquery')], 'looker');
    expect(lookmlProblems(files)).toEqual([]);
    expect(lookml.parse(files.get('daily.view.lkml')!).view.daily.dimension.user_name.sql).toBe(' ${TABLE}.`User Name` ');
  });

  it('names that become one (columns user name and user_name, models my-orders and my_orders, a tile id tab_more beside tab more): exit 2 naming both at file:line (was: a view with two fields of one name, two elements of one name)', () => {
    const d = board('d', [
      {
        name: 't',
        tiles: [
          { id: 'users', type: 'table', title: 'Users', model: 'my-orders', dimensions: [{ column: 'user name' }, { column: 'user_name' }], measures: [{ column: 'n', agg: 'sum' }], layout: L2(0) },
          { id: 'tab_more', type: 'kpi', title: 'N', model: 'my_orders', measures: [{ column: 'n', agg: 'sum' }], layout: L(0, 4, 3, 2) },
        ],
      },
      { name: 'more', tiles: [{ id: 'n2', type: 'kpi', title: 'N', model: 'my_orders', measures: [{ column: 'n', agg: 'sum' }], layout: L(0, 0, 3, 2) }] },
    ]);
    const yml = (m: string) => `models:\n  - name: ${m}\n    columns:\n      - { name: user name, data_type: varchar }\n      - { name: user_name, data_type: varchar }\n      - { name: n, data_type: integer }\n`;
    const dir = makeProject({
      'models/my-orders.sql': `select 'a' as "user name", 'b' as user_name, 1 as n`,
      'models/my-orders.yml': yml('my-orders'),
      'models/my_orders.sql': `select 'a' as "user name", 'b' as user_name, 1 as n`,
      'models/my_orders.yml': yml('my_orders'),
      'dashboards/d.json': d,
    });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      const users = lineOf(d, '"id": "users"');
      const more = lineOf(d, '"id": "tab_more"');
      expect(r.stderr).toContain(`dashboards/d.json:${users}: error: LookML: column 'user_name' of model 'my-orders' (tile 'users') and column 'user name' of model 'my-orders' (tile 'users') (dashboards/d.json:${users}) would both be the field 'user_name' of view my_orders (Looker's names are a-z, 0-9 and _`);
      expect(r.stderr).toContain(`dashboards/d.json:${more}: error: LookML: model 'my_orders' (tile 'tab_more') and model 'my-orders' (tile 'users') (dashboards/d.json:${users}) would both be the view 'my_orders'`);
      expect(r.stderr).toContain(`dashboards/d.json: error: LookML: the heading of tab 'more' and tile 'tab_more' (dashboards/d.json:${more}) would both be the element 'tab_more' of dashboard d`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(join(dir, 'lookml'))).toBe(false);
    } finally {
      removeDir(dir);
    }
  });

  it('lookerName: lower-cased, other characters as _, a prefix before a digit or _', async () => {
    const { lookerName } = await import('../../src/dashboards/export.js');
    expect(['Order', 'user name', 'Created_At', '1st', '_id', 'né', 'a-b.c'].map((n) => lookerName(n, 'f'))).toEqual(['order', 'user_name', 'created_at', 'f_1st', 'f_id', 'n_', 'a_b_c']);
  });
});

describe("LookML: a select filter's default as Looker's filter expression of `column = default`", () => {
  it("a boolean's default is Yes or No; NULL, EMPTY and padded text, which no Looker expression matches literally, are left out and said under Not carried; text keeps its ^ escapes (was: default_value \"true\", and \"NULL\", which Looker reads as is null, where the site filters = 'NULL')", () => {
    const def = DashboardSchema.parse({
      name: 'defaults',
      title: 'Defaults',
      filters: [
        { name: 'active', type: 'select', column: 'is_active', default: true },
        { name: 'status', type: 'select', column: 'status', default: 'NULL' },
        { name: 'team', type: 'select', column: 'team', default: ' core ' },
        { name: 'workspace', type: 'select', column: 'workspace_id', default: 'ws_1,2' },
      ],
      tabs: [{ name: 't', title: 'T', tiles: [{ id: 'n', type: 'kpi', title: 'N', model: 'workspaces', measures: [{ column: 'total_interactions', agg: 'sum' }], layout: L(0, 0, 3, 2) }] }],
    });
    const files = exportDashboards([compileFixture(def, duckDbDialect)], 'looker');
    expect(lookmlProblems(files)).toEqual([]);
    const text = files.get('defaults.dashboard.lookml')!;
    const filters = Object.fromEntries((YAML.parse(text, { version: '1.1' })[0].filters as Json[]).map((f) => [f.name, f]));
    expect(filters.active.default_value).toBe('Yes');
    expect(filters.status.default_value).toBeUndefined();
    expect(filters.team.default_value).toBeUndefined();
    expect(filters.workspace.default_value).toBe('ws^_1^,2');
    expect(text).toContain(`#   - filter status: its default "NULL" ('NULL' is a keyword in Looker string filters (NULL, EMPTY), which no escape turns into text)\n`);
    expect(text).toContain(`#   - filter team: its default " core " (Looker trims the spaces around ' core ')\n`);
  });
});

describe('hostile names: what LookML and Metabase read inside a quoted name', () => {
  const L2 = (y: number) => L(0, y, 12, 4);
  const board = (name: string, tiles: unknown[], filters: unknown[] = []) => JSON.stringify({ name, title: name, filters, tabs: [{ name: 't', title: 'T', tiles }] }, null, 2);
  const lineOf = (text: string, s: string) => text.split('\n').findIndex((l) => l.includes(s)) + 1;
  const lookmlOf = (dir: string, sub = 'lookml') => new Map(readdirSync(join(dir, sub)).map((f) => [f, readFileSync(join(dir, sub, f), 'utf8')]));

  it("a column or table name holding ;; (the end of a LookML sql block), ${ (a LookML reference) or {% / {{ (Liquid): exit 2 at the tile's file:line, nothing written; aliased, the LookML parses (was: `sql: ${TABLE}.\"a;;b\" ;;`, which lookml-parser refuses, and `${TABLE}.\"cost ${usd}\"`, a reference to a field usd)", () => {
    // what the old export wrote for such a column: the real parser stops at the first ;;
    const parseError = (text: string) => {
      try {
        lookml.parse(text);
        return undefined;
      } catch (e) {
        return String(e);
      }
    };
    expect(parseError('view: ev {\n  dimension: a__b {\n    sql: ${TABLE}."a;;b" ;;\n  }\n}\n')).toMatch(/Parse error/);
    const tiles = [
      { id: 'rows', type: 'table', title: 'Rows', model: 'ev', dimensions: [{ column: 'a;;b' }, { column: 'plain' }], measures: [{ name: 'cost', column: 'cost ${usd}', agg: 'sum' }], layout: L2(0) },
      { id: 'liquid', type: 'bar', title: 'Liquid', model: 'ev', dimensions: [{ column: 'tag {% x %}' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L2(4) },
      { id: 'other', type: 'kpi', title: 'Other', model: 'odd_table', measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 8, 3, 2) },
    ];
    const d = board('d', tiles);
    const dir = makeProject({
      'models/ev.sql': `select 'a' as "a;;b", 'p' as plain, 1.5 as "cost \${usd}", {% raw %}'t' as "tag {% x %}"{% endraw %}, 1 as n`,
      'models/ev.yml': 'models:\n  - name: ev\n    columns:\n      - { name: "a;;b", data_type: varchar }\n      - { name: plain, data_type: varchar }\n      - { name: "cost ${usd}", data_type: double }\n      - { name: "tag {% x %}", data_type: varchar }\n      - { name: n, data_type: integer }\n',
      'models/odd_table.sql': 'select 1 as n',
      'models/odd_table.yml': 'models:\n  - name: odd_table\n    config: { alias: "odd;;table" }\n    columns:\n      - { name: n, data_type: integer }\n',
      'dashboards/d.json': d,
    });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      const rows = lineOf(d, '"id": "rows"');
      expect(r.stderr).toContain(`dashboards/d.json:${rows}: error: LookML: column 'a;;b' of model 'ev' (tile 'rows') holds ';;', which ends a LookML sql block; Looker has no escape for it in a view's sql`);
      expect(r.stderr).toContain(`dashboards/d.json:${rows}: error: LookML: column 'cost \${usd}' of model 'ev' (tile 'rows') holds '\${', which Looker reads as a reference to a LookML field`);
      expect(r.stderr).toContain(`dashboards/d.json:${lineOf(d, '"id": "liquid"')}: error: LookML: column 'tag {% x %}' of model 'ev' (tile 'liquid') holds '{%', which Looker reads as Liquid`);
      expect(r.stderr).toContain(`dashboards/d.json:${lineOf(d, '"id": "other"')}: error: LookML: model 'odd_table' (tile 'other') is the table "analytics"."odd;;table", whose name holds ';;'`);
      expect(r.stderr).toContain('hint: alias the column in the model (e.g. "a;;b" as a__b)');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(join(dir, 'lookml'))).toBe(false);
      // the same names are no problem for Metabase (quoted, outside any literal): exported
      expect(vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '2', '--out', 'mb']).code).toBe(0);
      // the hint followed: the LookML parses, every field resolves
      writeFileSync(join(dir, 'models/ev.sql'), `select 'a' as a_b, 'p' as plain, 1.5 as cost_usd, 't' as tag, 1 as n`);
      writeFileSync(join(dir, 'models/ev.yml'), 'models:\n  - name: ev\n    columns:\n      - { name: a_b, data_type: varchar }\n      - { name: plain, data_type: varchar }\n      - { name: cost_usd, data_type: double }\n      - { name: tag, data_type: varchar }\n      - { name: n, data_type: integer }\n');
      writeFileSync(join(dir, 'models/odd_table.yml'), 'models:\n  - name: odd_table\n    columns:\n      - { name: n, data_type: integer }\n');
      writeFileSync(join(dir, 'dashboards/d.json'), d.replace('"a;;b"', '"a_b"').replace('"cost ${usd}"', '"cost_usd"').replace('"tag {% x %}"', '"tag"'));
      const ok = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(lookmlProblems(lookmlOf(dir))).toEqual([]);
    } finally {
      removeDir(dir);
    }
  });

  it("a model whose name is too long for a LookML view's file: exit 2 at its file:line, nothing written (was: ENAMETOOLONG, an internal error with a stack trace, exit 3); a tile id or dashboard name over 63 characters is refused by the schema", () => {
    const model = 'm'.repeat(240);
    const d = board('d', [{ id: 'n', type: 'kpi', title: 'N', model, measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 0, 3, 2) }]);
    const dir = makeProject({
      [`models/${model}.sql`]: 'select 1 as n',
      [`models/${model.slice(0, 10)}.yml`]: `models:\n  - name: ${model}\n    columns:\n      - { name: n, data_type: integer }\n`,
      'dashboards/d.json': d,
    });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^dashboards\/d\.json:\d+: error: LookML: model .m{240}. \(tile .n.\) would be the file m{40}…m{10}\.view\.lkml, a name of 250 bytes: a file name can have at most 243 here/m);
      expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
      expect(existsSync(join(dir, 'lookml'))).toBe(false);
      writeFileSync(join(dir, 'dashboards/d.json'), board('d'.repeat(64), [{ id: 't'.repeat(64), type: 'kpi', title: 'N', model, measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 0, 3, 2) }]));
      const x = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'out']);
      expect(x.code, x.stdout + x.stderr).toBe(2);
      expect(x.stderr).toMatch(/error: name: must be at most 63 characters/);
      expect(x.stderr).toMatch(/error: tabs\[0\]\.tiles\[0\]\.id: must be at most 63 characters/);
      expect(existsSync(join(dir, 'out'))).toBe(false);
    } finally {
      removeDir(dir);
    }
  });

  it("a measure without a name whose default name (agg_column) passes 63 characters: exit 2 at the measure, as a name: over 63 is (was: exit 0, a column alias PostgreSQL cuts to 63, the tile finding no value of its name)", () => {
    const col = 'c'.repeat(60);
    const d = board('d', [{ id: 'n', type: 'kpi', title: 'N', model: 'ev', measures: [{ column: col, agg: 'count_distinct' }], layout: L(0, 0, 3, 2) }]);
    const dir = makeProject({
      'models/ev.sql': `select 1 as ${col}`,
      'models/ev.yml': `models:\n  - name: ev\n    columns:\n      - { name: ${col}, data_type: integer }\n`,
      'dashboards/d.json': d,
    });
    try {
      const x = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'out']);
      expect(x.code, x.stdout + x.stderr).toBe(2);
      expect(x.stderr).toContain(`dashboards/d.json:${lineOf(d, '"measures"') + 1}:13: error: tabs[0].tiles[0].measures[0]: the measure's name, count_distinct_${col} (agg_column, as it has no name), has 75 characters: at most 63`);
      expect(x.stderr).not.toMatch(/\n\s+at |internal error/);
      expect(existsSync(join(dir, 'out'))).toBe(false);
      // named, it is taken
      writeFileSync(join(dir, 'dashboards/d.json'), board('d', [{ id: 'n', type: 'kpi', title: 'N', model: 'ev', measures: [{ name: 'distinct_c', column: col, agg: 'count_distinct' }], layout: L(0, 0, 3, 2) }]));
      const y = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'out']);
      expect(y.code, y.stdout + y.stderr).toBe(0);
    } finally {
      removeDir(dir);
    }
  });

  it("columns named yes and no (LookML's booleans): fields f_yes and f_no labelled Yes and No, which the real parser reads as names in a list (was: `fields: [no, yes]` in the drill set, read as false and true)", () => {
    // the parser reads a bare yes/no in a list as a boolean
    expect(lookml.parse('view: v {\n  set: detail {\n    fields: [yes, no]\n  }\n}\n').view.v.set.detail.fields).toEqual([true, false]);
    const dir = makeProject({
      'models/flags.sql': 'select true as yes, false as no, 1 as n',
      'models/flags.yml': 'models:\n  - name: flags\n    columns:\n      - { name: "yes", data_type: boolean }\n      - { name: "no", data_type: boolean }\n      - { name: n, data_type: integer }\n',
      'dashboards/d.json': board('d', [{ id: 'rows', type: 'table', title: 'Rows', model: 'flags', dimensions: [{ column: 'yes' }, { column: 'no' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L2(0) }]),
    });
    try {
      for (const target of ['dev']) {
        const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml', '-t', target]);
        expect(r.code, r.stderr).toBe(0);
        const files = lookmlOf(dir);
        expect(lookmlProblems(files)).toEqual([]);
        const view = lookml.parse(files.get('flags.view.lkml')!).view.flags;
        expect(view.set.detail.fields).toEqual(['f_no', 'f_yes']);
        expect(view.dimension.f_yes).toMatchObject({ type: 'yesno', label: 'Yes', sql: ' ${TABLE}."yes" ' });
        expect(YAML.parse(files.get('d.dashboard.lookml')!)[0].elements[1].fields).toEqual(['flags.f_yes', 'flags.f_no', 'flags.n']);
      }
    } finally {
      removeDir(dir);
    }
  });

  it("Metabase: a quoted name holding {{ or [[ (always), or /* or ]] beside the dashboard filters' clauses: exit 2 at the tile's file:line, nothing written (was: exported, Metabase reading {{q}} as a variable no tag defines, [[ as an optional clause, and /* as a comment that sent the clauses unfilled)", async () => {
    const tiles = [
      { id: 'braces', type: 'table', title: 'Braces', model: 'ev', dimensions: [{ column: 'p{{q}}' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L2(0) },
      { id: 'comment', type: 'table', title: 'Comment', model: 'ev', dimensions: [{ column: 'x/*y' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L2(4) },
      { id: 'bracket', type: 'bar', title: 'Bracket', model: 'ev', dimensions: [{ column: 'r[[s' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L2(8) },
      // -- starts a comment to the end of its line, where no variable follows: exported as it is
      { id: 'dashes', type: 'table', title: 'Dashes', model: 'ev', dimensions: [{ column: 'a--b' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L2(12) },
    ];
    const d = board('d', tiles, [{ name: 'provider', type: 'select', column: 'provider', default: null }]);
    const sql = `select 'p' as provider, 'a' as "a--b", 'b' as "x/*y", {% raw %}'c' as "p{{q}}"{% endraw %}, 'd' as "r[[s", 1 as n`;
    const yml = 'models:\n  - name: ev\n    columns:\n      - { name: provider, data_type: varchar }\n      - { name: "a--b", data_type: varchar }\n      - { name: "x/*y", data_type: varchar }\n      - { name: "p{{q}}", data_type: varchar }\n      - { name: "r[[s", data_type: varchar }\n      - { name: n, data_type: integer }\n';
    const dir = makeProject({ 'models/ev.sql': sql, 'models/ev.yml': yml, 'dashboards/d.json': d });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '2', '--out', 'mb']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      const at = (id: string) => `dashboards/d.json:${lineOf(d, `"id": "${id}"`)}: error: Metabase: the SQL of tile '${id}' quotes the name`;
      expect(r.stderr).toContain(`${at('braces')} "p{{q}}", which holds '{{': Metabase reads that as a variable`);
      expect(r.stderr).toContain(`${at('comment')} "x/*y", which holds '/*': Metabase reads that as the start of a comment`);
      expect(r.stderr).toContain(`${at('bracket')} "r[[s", which holds '[[': Metabase reads that as a bound of an optional clause`);
      expect(r.stderr).not.toContain("tile 'dashes'");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(join(dir, 'mb'))).toBe(false);
      // without a dashboard filter (no clause to hide), /* and ]] change nothing Metabase sends; {{ and [[ still do
      writeFileSync(join(dir, 'dashboards/d.json'), board('d', [tiles[1], tiles[3], { ...tiles[2], dimensions: [{ column: 'r[[s' }] }]));
      const r2 = vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '2', '--out', 'mb']);
      expect(r2.code).toBe(2);
      expect(r2.stderr).toContain("tile 'bracket'");
      expect(r2.stderr).not.toContain("tile 'comment'");
      writeFileSync(join(dir, 'dashboards/d.json'), board('d', [tiles[1], tiles[3]]));
      const ok = vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '2', '--out', 'mb']);
      expect(ok.code, ok.stderr).toBe(0);
      const plan = JSON.parse(readFileSync(join(dir, 'mb/d.metabase.json'), 'utf8'));
      expect(plan.cards.map((c: Json) => c.body.dataset_query.native.query)).toEqual([expect.stringContaining('"x/*y" as "x/*y"'), expect.stringContaining('"a--b" as "a--b"')]);
      // and the SQL runs as it is sent
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const con = await (await DuckDBInstance.create(':memory:')).connect();
      await con.run('create schema analytics');
      await con.run(`create table analytics.ev as ${sql.replace('{% raw %}', '').replace('{% endraw %}', '')}`);
      for (const c of plan.cards) expect((await con.runAndReadAll(c.body.dataset_query.native.query)).getRows()).toHaveLength(1);
    } finally {
      removeDir(dir);
    }
  });
});

describe('LookML labels: one view field, a label per tile', () => {
  it("a tile labelling a shared measure or dimension otherwise keeps its label, as the element's series_labels (was: the first tile's label everywhere)", () => {
    const tile = (id: string, type: string, x: number, extra: Json) => ({ id, type, title: id, model: 't', measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(x, 0, 4, 4), ...extra });
    const label = 'lbl " ;; } { \\ end';
    const board = {
      name: 'd',
      title: 'D',
      tabs: [{ name: 'a', title: 'A', tiles: [
        tile('total', 'kpi', 0, {}),
        tile('by_team', 'table', 4, { dimensions: [{ column: 'team', label: 'Squad' }], measures: [{ name: 'n', column: 'n', agg: 'sum', label }] }),
        tile('by_team_bars', 'bar', 8, { dimensions: [{ column: 'team' }] }),
      ] }],
    };
    const dir = makeProject({
      'models/t.sql': "select 'a' as team, 3 as n",
      'models/t.yml': 'models:\n  - name: t\n    columns:\n      - name: team\n      - name: n\n',
      'dashboards/d.json': JSON.stringify(board),
    });
    try {
      const r = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lookml']);
      expect(r.code, r.stderr).toBe(0);
      const files = new Map(readdirSync(join(dir, 'lookml')).map((f) => [f, readFileSync(join(dir, 'lookml', f), 'utf8')]));
      expect(lookmlProblems(files)).toEqual([]);
      // one measure, labelled by the first tile that reads it
      const view = lookml.parse(files.get('t.view.lkml')!).view.t;
      expect(Object.keys(view.measure)).toEqual(['n']);
      expect(view.measure.n.label).toBe('Total n');
      expect(view.dimension.team.label).toBe('Squad');
      const elements = Object.fromEntries((YAML.parse(files.get('d.dashboard.lookml')!)[0].elements as Json[]).map((e) => [e.name, e]));
      expect(elements.by_team.series_labels).toEqual({ 't.n': label });
      expect(elements.by_team_bars.series_labels).toEqual({ 't.team': 'Team' });
      expect(elements.total.series_labels).toBeUndefined();
    } finally {
      removeDir(dir);
    }
  });
});

describe('export --out: never over the project it is made from', () => {
  const dash = JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'n', type: 'kpi', title: 'N', model: 'ev', measures: [{ column: 'events', agg: 'sum' }], layout: L(0, 0, 3, 2) }] }] }, null, 2);
  const files = {
    'models/ev.sql': 'select 1 as events',
    'models/ev.yml': 'models:\n  - name: ev\n    columns:\n      - { name: events, data_type: bigint }\n',
    'dashboards/d.json': dash,
  };
  it.each(FORMATS)("%s: --out the dashboards folder (dashboards, ./dashboards/, its absolute path, a symbolic link to it), or below it for the .json formats, or a path where a project file would be written over: exit 2 in one line, nothing written (was: json over dashboards/d.json, exit 0, the next validate failing)", (fmt) => {
    const dir = makeProject(files);
    try {
      symlinkSync(join(dir, 'dashboards'), join(dir, 'dash-link'));
      const extra = fmt === 'metabase' ? ['--metabase-database', '1'] : [];
      const outs = ['dashboards', './dashboards/', join(dir, 'dashboards'), 'dash-link', ...(fmt === 'looker' ? [] : ['dashboards/exports'])];
      for (const out of outs) {
        const r = vigil(dir, ['dashboards', 'export', '--format', fmt, '--out', out, ...extra]);
        expect(r.code, `${out}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr.trim().split('\n'), out).toEqual([expect.stringMatching(new RegExp(`^error: --out ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is (inside )?the project's dashboards folder \\(dashboards/\\)`))]);
        expect(r.stdout, out).toBe('');
      }
      expect(readdirSync(join(dir, 'dashboards'))).toEqual(['d.json']);
      expect(readFileSync(join(dir, 'dashboards', 'd.json'), 'utf8')).toBe(dash);
      expect(vigil(dir, ['dashboards', 'validate']).code).toBe(0);
    } finally {
      removeDir(dir);
    }
  });
  it("json: a file it would write that is a project file (exp/d.json, a symbolic link to dashboards/d.json): exit 2 naming both; into a folder of its own it writes", () => {
    const dir = makeProject(files);
    try {
      mkdirSync(join(dir, 'exp'));
      symlinkSync(join(dir, 'dashboards', 'd.json'), join(dir, 'exp', 'd.json'));
      const r = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'exp']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr.trim()).toBe("error: --out exp: the export would write d.json over the project's own file dashboards/d.json; write the export elsewhere (e.g. --out target/dashboards-json)");
      expect(readFileSync(join(dir, 'dashboards', 'd.json'), 'utf8')).toBe(dash);
      const ok = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'target/exp']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, 'target', 'exp', 'd.json'), 'utf8')).source).toBe('dashboards/d.json');
    } finally {
      removeDir(dir);
    }
  });
});

describe('render --out: never among the dashboards it is made from', () => {
  it("the dashboards folder or a folder below it: exit 2 in one line, nothing written (was: .vigil-site.json written there, then read as a dashboard: every command failed with 'name: is required')", () => {
    const dash = JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'n', type: 'kpi', title: 'N', model: 'ev', measures: [{ column: 'events', agg: 'sum' }], layout: L(0, 0, 3, 2) }] }] }, null, 2);
    const dir = makeProject({ 'models/ev.sql': 'select 1 as events', 'models/ev.yml': 'models:\n  - name: ev\n    columns:\n      - { name: events, data_type: bigint }\n', 'dashboards/d.json': dash });
    try {
      for (const out of ['dashboards', './dashboards/', 'dashboards/site']) {
        const r = vigil(dir, ['dashboards', 'render', '--out', out]);
        expect(r.code, `${out}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr.trim().split('\n'), out).toEqual([expect.stringMatching(new RegExp(`^error: --out ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is (inside )?the project's dashboards folder \\(dashboards/\\), where every \\.json file is read as a dashboard: the site's page list \\(\\.vigil-site\\.json\\) would be read as one`))]);
      }
      expect(readdirSync(join(dir, 'dashboards'), { recursive: true })).toEqual(['d.json']);
      expect(vigil(dir, ['dashboards', 'validate']).code).toBe(0);
    } finally {
      removeDir(dir);
    }
  });
});

describe('export on the command line: the warnings on stderr', () => {
  const dash = JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'rows', type: 'table', title: 'Rows', model: 'ev', dimensions: [{ column: 'workspace_id' }], measures: [{ column: 'events', agg: 'sum' }], links: [{ label: 'Open', url: '/workspaces/{{ workspace_id }}' }, { label: 'Also', url: '/w/{{ workspace_id }}/x' }], layout: L(0, 0, 12, 4) }] }] }, null, 2);
  const project = (extra = '') => `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  prod: { type: bigquery, project: p, dataset: analytics }\n${extra}`;
  const files = (extra?: string) => ({
    'project.yaml': project(extra),
    'models/ev.sql': "select 'w1' as workspace_id, 1 as events",
    'models/ev.yml': 'models:\n  - name: ev\n    columns:\n      - { name: workspace_id, data_type: varchar }\n      - { name: events, data_type: bigint }\n',
    'dashboards/d.json': dash,
  });
  it('metabase and json of DuckDB SQL in a project with a BigQuery target: the warning --help promises; looker: the app routes it leaves out, in one line; with an http(s) dashboards.base_url they are linked under it, nothing said', () => {
    const dir = makeProject(files());
    try {
      const mb = vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '1', '--out', 'mb']);
      expect(mb.code, mb.stderr).toBe(0);
      expect(mb.stderr.trim()).toBe("warning: this Metabase export's cards are written in duckdb SQL (target dev), but the project's BigQuery target is prod: a Metabase database on BigQuery needs BigQuery SQL — export with --target prod");
      const js = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'js']);
      expect(js.stderr.trim()).toBe("warning: this JSON export's SQL is written in duckdb SQL (target dev), but the project's BigQuery target is prod: a BI tool on BigQuery needs BigQuery SQL — export with --target prod");
      const lk = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lk']);
      expect(lk.code, lk.stderr).toBe(0);
      const lines = lk.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[1]).toBe(`warning: LookML: 2 app-route links are not exported (d/rows: 'Open' (/workspaces/{{ workspace_id }}), d/rows: 'Also' (/w/{{ workspace_id }}/x)): Looker would open them on its own host; give the app's http(s) URL with --base-url or dashboards.base_url in project.yaml (each dashboard file lists them under "Not carried")`);
      expect(readFileSync(join(dir, 'lk', 'ev.view.lkml'), 'utf8')).not.toContain('link');
      writeFileSync(join(dir, 'project.yaml'), project('dashboards:\n  base_url: https://app.example.com/\n'));
      const based = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lk']);
      expect(based.stderr).not.toContain('app-route');
      expect(readFileSync(join(dir, 'lk', 'ev.view.lkml'), 'utf8')).toContain('url: "https://app.example.com/workspaces/{{ value | url_encode }}"');
      expect(lookmlProblems(new Map(readdirSync(join(dir, 'lk')).map((f) => [f, readFileSync(join(dir, 'lk', f), 'utf8')])))).toEqual([]);
      // --base-url wins over project.yaml, as render's does; checked as render's is; looker only
      const flag = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lk', '--base-url', 'https://bi.example.org/app']);
      expect(flag.code, flag.stderr).toBe(0);
      expect(readFileSync(join(dir, 'lk', 'ev.view.lkml'), 'utf8')).toContain('url: "https://bi.example.org/app/workspaces/{{ value | url_encode }}"');
      const bad = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lk', '--base-url', 'ftp://x']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error: --base-url: /m);
      const mbFlag = vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '1', '--out', 'mb', '--base-url', 'https://bi.example.org/']);
      expect(mbFlag.code).toBe(2);
      expect(mbFlag.stderr).toContain('--base-url applies to --format looker, not metabase');
    } finally {
      removeDir(dir);
    }
  });
});

describe('exportWarnings: the dialect a BI tool on BigQuery needs', () => {
  const bq = compileFixture(definition(), bigQueryDialect, MODELS, 'bigquery');
  it('DuckDB SQL for a Looker connection named for BigQuery: a warning naming --target', () => {
    const w = exportWarnings([fixture], 'looker', { lookerConnection: 'bigquery_prod' }, { target: 'dev', targets: [] });
    expect(w).toEqual([expect.stringContaining("the Looker connection 'bigquery_prod' is named for BigQuery")]);
    expect(w[0]).toContain('--target <a BigQuery target> (this project has none yet');
    expect(exportWarnings([fixture], 'looker', { lookerConnection: 'analytics_bq' }, { target: 'dev', targets: [] })).toHaveLength(1);
  });
  it('DuckDB SQL in a project with a BigQuery target: a warning naming that target', () => {
    expect(exportWarnings([fixture], 'looker', {}, { target: 'dev', targets: [{ name: 'warehouse', type: 'bigquery' }] })).toEqual([expect.stringMatching(/written in duckdb SQL \(target dev\).*BigQuery target is warehouse.*--target warehouse/)]);
  });
  it('no warning for BigQuery SQL, for a connection and project with nothing of BigQuery, or for other formats', () => {
    expect(exportWarnings([bq], 'looker', { lookerConnection: 'bigquery' }, { target: 'prod', targets: [{ name: 'prod', type: 'bigquery' }] })).toEqual([]);
    expect(exportWarnings([fixture], 'looker', { lookerConnection: 'duck' }, { target: 'dev', targets: [] })).toEqual([]);
    expect(exportWarnings([fixture], 'json', { lookerConnection: 'bigquery' }, { target: 'dev', targets: [] })).toEqual([]);
    expect(exportWarnings([bq], 'metabase', {}, { target: 'prod', targets: [{ name: 'prod', type: 'bigquery' }] })).toEqual([]);
  });
  it("Metabase and JSON exports of DuckDB SQL in a project with a BigQuery target: the same warning, in each format's words (was: nothing, though --help promised one)", () => {
    const targets = { target: 'dev', targets: [{ name: 'dev', type: 'duckdb' }, { name: 'prod', type: 'bigquery' }] };
    expect(exportWarnings([fixture], 'metabase', { metabaseDatabase: 1 }, targets)).toEqual([
      "warning: this Metabase export's cards are written in duckdb SQL (target dev), but the project's BigQuery target is prod: a Metabase database on BigQuery needs BigQuery SQL — export with --target prod",
    ]);
    expect(exportWarnings([fixture], 'json', {}, targets)).toEqual(["warning: this JSON export's SQL is written in duckdb SQL (target dev), but the project's BigQuery target is prod: a BI tool on BigQuery needs BigQuery SQL — export with --target prod"]);
    expect(exportWarnings([fixture], 'looker', {}, targets)).toEqual(["warning: this LookML is written in duckdb SQL (target dev), but the project's BigQuery target is prod: a Looker connection on BigQuery needs BigQuery SQL — export with --target prod"]);
  });
  it('the model names the connection (--looker-connection) and the dialect it is written for', () => {
    const model = exportWith([fixture], 'looker', { lookerConnection: 'bq_prod' }).get('fixture.model.lkml')!;
    expect(model).toMatch(/^connection: "bq_prod"$/m);
    expect(model).toContain('The SQL is written for duckdb');
  });
});


describe('LookML drill-downs and links: what Looker reads in a URL', () => {
  const variant = (edit: (d: typeof DEFINITION) => void) => {
    const def = structuredClone(DEFINITION);
    edit(def);
    return compileFixture(DashboardSchema.parse(def), duckDbDialect);
  };
  const tileOf = (d: typeof DEFINITION, id: string) => d.tabs.flatMap((t) => t.tiles as Json[]).find((t) => t.id === id)!;
  it('a drill-down to a date range sets it as Looker says it ("7d" is "7 days", as the filter\'s default_value), on the measures a compared KPI shows (was: ?Date%20range=7d, on a measure the element does not show)', () => {
    const d = variant((def) => {
      tileOf(def, 'interactions_24h').drilldown = { tab: 'detail', filters: { date_range: '7d' } };
    });
    const files = exportDashboards([d], 'looker');
    expect(lookmlProblems(files)).toEqual([]);
    const daily = files.get('daily.view.lkml')!;
    const link = 'link: {\n      label: "Open Detail"\n      url: "/dashboards/fixture::fixture_dash?Date%20range=7%20days"\n    }';
    expect(YAML.parse(files.get('fixture_dash.dashboard.lookml')!)[0].filters.find((f: Json) => f.name === 'date_range').default_value).toBe('7 days');
    expect(element('interactions_24h').fields).toEqual(['daily.sum_interaction_count_this_period', 'daily.sum_interaction_count_previous_period']);
    expect(viewBlock(daily, 'measure', 'sum_interaction_count_this_period')).toContain(link);
    expect(viewBlock(daily, 'measure', 'sum_interaction_count_previous_period')).toContain(link);
    // not on the measure the element does not show (the donut's)
    expect(viewBlock(daily, 'measure', 'sum_interaction_count')).toContain('type: sum');
    expect(viewBlock(daily, 'measure', 'sum_interaction_count')).not.toContain('link');
    expect(daily).not.toContain('Date%20range=7d"');
  });
  it("drill-down values are matched literally in Looker's filter syntax: one field as its filterable_value, text escaped with ^, a field beside text through a Liquid replace chain (was: {{ value | url_encode }}, where , is OR, % and _ wildcards and a leading - a negation)", () => {
    const d = variant((def) => {
      tileOf(def, 'volume').drilldown = { tab: 'detail', filters: { capability: '{{ capability }}', provider: '-a,b_%^' } };
      tileOf(def, 'by_provider').drilldown = { tab: 'detail', filters: { provider: '{{ provider }} (x)' } };
    });
    const files = exportDashboards([d], 'looker');
    expect(lookmlProblems(files)).toEqual([]);
    const cap = viewBlock(files.get('daily.view.lkml')!, 'dimension', 'capability');
    expect(cap).toContain('url: "/dashboards/fixture::fixture_dash?Capability={{ filterable_value | url_encode }}&Provider=%5E-a%5E%2Cb%5E_%5E%25%5E%5E"');
    const replace = ` | replace: '^', '^^' | replace: ',', '^,' | replace: '%', '^%' | replace: '_', '^_' | replace: '\\"', '^\\"'`;
    expect(viewBlock(files.get('daily.view.lkml')!, 'dimension', 'provider')).toContain(
      `url: "/dashboards/fixture::fixture_dash?Provider={% assign vigil_first = value | slice: 0 %}{% if vigil_first == '-' %}%5E{% endif %}{{ value${replace} | url_encode }}%20(x)"`,
    );
    const refOf = (n: string) => (n === 'team' ? 'workspaces.team' : undefined);
    expect(lookerFilterLiquid('{{ team }}', 'workspace_id', refOf)).toBe('{{ workspaces.team._filterable_value | url_encode }}');
    expect(lookerFilterLiquid('{{ workspace_id }}/{{ team }}', 'workspace_id', refOf)).toBe(
      `{% assign vigil_first = value | slice: 0 %}{% if vigil_first == '-' %}%5E{% endif %}{{ value | replace: '^', '^^' | replace: ',', '^,' | replace: '%', '^%' | replace: '_', '^_' | replace: '"', '^"' | url_encode }}%2F{{ workspaces.team._value | replace: '^', '^^' | replace: ',', '^,' | replace: '%', '^%' | replace: '_', '^_' | replace: '"', '^"' | url_encode }}`,
    );
    expect(lookerFilterLiquid('x-{{ team }}', 'workspace_id', refOf)).toBe(`x-{{ workspaces.team._value | replace: '^', '^^' | replace: ',', '^,' | replace: '%', '^%' | replace: '_', '^_' | replace: '"', '^"' | url_encode }}`);
    // (the checker refuses a Liquid variable Looker does not define for links)
    expect(lookmlProblems(new Map([...files].map(([f, t]) => [f, t.replace('filterable_value', 'filtered_value')])))).toContainEqual(expect.stringContaining('link uses {{ filtered_value }}, which Looker does not define'));
  });
  it('an app route (/w/{{ workspace_id }}) is linked under an http(s) dashboards.base_url, as on the site; without one (or with a path) it is not exported, listed under Not carried, and said once (was: url "/w/{{ value }}", which Looker opens on its own host)', () => {
    const d = variant((def) => {
      tileOf(def, 'leaderboard').links = [{ label: 'Open', url: '/w/{{ workspace_id }}?team={{ team }}' }];
    });
    const none = exportWith([d], 'looker', OPTS);
    expect(lookmlProblems(none)).toEqual([]);
    expect(viewBlock(none.get('workspaces.view.lkml')!, 'dimension', 'workspace_id')).not.toContain('link');
    expect(none.get('fixture_dash.dashboard.lookml')).toContain("#   - leaderboard: link 'Open' (/w/{{ workspace_id }}?team={{ team }}: an app route, which Looker would open on its own host; give the app's http(s) URL with --base-url or dashboards.base_url in project.yaml)");
    const warned = exportWarnings([d, second], 'looker', OPTS, { target: 'dev', targets: [] });
    expect(warned).toEqual([`warning: LookML: an app-route link is not exported (fixture_dash/leaderboard: 'Open' (/w/{{ workspace_id }}?team={{ team }})): Looker would open it on its own host; give the app's http(s) URL with --base-url or dashboards.base_url in project.yaml (each dashboard file lists it under "Not carried")`]);
    const path = exportWith([d], 'looker', { ...OPTS, baseUrl: '/ai/' });
    expect(path.get('fixture_dash.dashboard.lookml')).toContain("the base URL (/ai/) is a path, which Looker would read on its own host too");
    const base = exportWith([d], 'looker', { ...OPTS, baseUrl: 'https://app.example.com/ai/' });
    expect(lookmlProblems(base)).toEqual([]);
    expect(viewBlock(base.get('workspaces.view.lkml')!, 'dimension', 'workspace_id')).toContain('url: "https://app.example.com/ai/w/{{ value | url_encode }}?team={{ workspaces.team._value | url_encode }}"');
    expect(base.get('fixture_dash.dashboard.lookml')).not.toContain("link 'Open'");
    expect(exportWarnings([d], 'looker', { baseUrl: 'https://app.example.com/ai/' }, { target: 'dev', targets: [] })).toEqual([]);
  });
});

describe('box, heatmap and gauge: each export says how it maps them; a box of raw values is five numbers per box', () => {
  const boxDef = DashboardSchema.parse({
    name: 'boxes',
    title: 'Boxes',
    tabs: [{ name: 't', title: 'T', tiles: [{ id: 'dur_box', type: 'box', title: 'Duration by provider', model: 'logs', dimensions: [{ column: 'provider', label: 'Provider' }], measures: [{ column: 'duration_ms', agg: 'none', label: 'Duration', format: 'ms' }], layout: L(0, 0, 6, 4) }] }],
  });
  const boxes = compileFixture(boxDef, duckDbDialect);
  it('LookML: a box plot of the five measures Looker\'s box plot takes, per dimension value; a box of aggregates a column chart; the header names each mapping (was: looker_boxplot of two dimensions and no measure, and no word of it)', () => {
    const files = exportDashboards([boxes], 'looker');
    expect(lookmlProblems(files)).toEqual([]);
    const e = YAML.parse(files.get('boxes.dashboard.lookml')!)[0].elements.find((x: Json) => x.name === 'dur_box');
    expect(e).toMatchObject({ type: 'looker_boxplot', fields: ['logs.provider', 'logs.duration_ms_min', 'logs.duration_ms_p25', 'logs.duration_ms_median', 'logs.duration_ms_p75', 'logs.duration_ms_max'] });
    expect(e.limit).toBeUndefined();
    const view = files.get('logs.view.lkml')!;
    expect(viewBlock(view, 'measure', 'duration_ms_p25')).toMatch(/type: percentile\n\s+percentile: 25\n\s+label: "Duration \(25th percentile\)"/);
    expect(viewBlock(view, 'measure', 'duration_ms_median')).toContain('type: median');
    expect(viewBlock(view, 'measure', 'duration_ms_max')).toContain('type: max');
    expect(files.get('boxes.dashboard.lookml')).toContain('# Tiles of a kind Looker has no chart for:\n#   - dur_box (box): a box plot (looker_boxplot) of Duration per Provider, its five numbers (min, 25th percentile, median, 75th percentile, max) as measures computed by Looker over every row of the window (the site computes them from the first 5,000 rows)\n');
    const header = looker.get('fixture_dash.dashboard.lookml')!.split('\n- dashboard:')[0];
    expect(header).toContain('#   - freshness (gauge): a single value (single_value), its color the gauge\'s band it falls in, without the dial');
    expect(header).toContain('#   - heat (heatmap): a table (looker_grid) pivoted on workspace_id');
    expect(header).toContain('#   - latency_box (box): a column chart (looker_column) of P50 p95_latency_ms, P95 p95_latency_ms, Median p95_latency_ms per capability');
    // (the checker refuses a box plot without its five measures)
    expect(lookmlProblems(new Map([...files].map(([f, t]) => [f, t.replace(', logs.duration_ms_max]', ']')])))).toContainEqual(expect.stringContaining('a box plot needs a dimension and five measures'));
  });
  it('Metabase: a box of raw values as grouped bars of its five numbers per value, computed by the card from the rows the site reads; `mapped` names each mapping (was: a bar card of raw rows, many per provider)', async () => {
    const mb = JSON.parse(exportDashboards([boxes], 'metabase').get('boxes.metabase.json')!);
    expect(mb.mapped).toEqual(["dur_box (box): grouped bars of the min, 25th percentile, median, 75th percentile and max of Duration per Provider, computed by the card's SQL from the rows the site's box reads (the first 5,000 rows) (Metabase has no box plot)"]);
    const card = mb.cards[0].body;
    expect(card.display).toBe('bar');
    expect(card.visualization_settings['graph.dimensions']).toEqual(['provider']);
    expect(card.visualization_settings['graph.metrics']).toEqual(['duration_ms_min', 'duration_ms_p25', 'duration_ms_median', 'duration_ms_p75', 'duration_ms_max']);
    expect(card.visualization_settings.column_settings['["name","duration_ms_p75"]']).toEqual({ column_title: 'Duration (75th percentile)', suffix: ' ms' });
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      await c.run('create schema analytics');
      await c.run('create table analytics.logs (created_at timestamptz, provider varchar, prompt_chars bigint, duration_ms double, is_error boolean)');
      await c.run(`insert into analytics.logs select now(), case when i <= 5 then 'a' else 'b' end, 1, i * 10.0, false from range(1, 10) t(i)`);
      const rows = (await c.runAndReadAll(card.dataset_query.native.query)).getRowObjectsJS();
      expect(rows).toEqual([
        { provider: 'a', duration_ms_min: 10, duration_ms_p25: 20, duration_ms_median: 30, duration_ms_p75: 40, duration_ms_max: 50 },
        { provider: 'b', duration_ms_min: 60, duration_ms_p25: 60, duration_ms_median: 70, duration_ms_p75: 80, duration_ms_max: 90 },
      ]);
    } finally {
      c.closeSync();
      db.closeSync();
    }
    const fixtureMb = JSON.parse(exportDashboards([fixture], 'metabase').get('fixture_dash.metabase.json')!);
    expect(fixtureMb.mapped).toEqual([
      expect.stringMatching(/^freshness \(gauge\): Metabase's gauge, its segments the site's bands$/),
      expect.stringMatching(/^heat \(heatmap\): a table pivoted on workspace_id, the cells /),
      'latency_box (box): grouped bars of P50 p95_latency_ms, P95 p95_latency_ms, Median p95_latency_ms per capability (Metabase has no box plot)',
    ]);
  });
});

describe('lookerFilterExpression', () => {
  const expr = (op: string, value: unknown, kind: 'date' | 'timestamp' | 'number' | 'yesno' | 'string') => {
    const f = lookerFilterExpression(op, value, kind);
    return 'expr' in f ? f.expr : undefined;
  };
  it.each<[string, unknown, 'date' | 'timestamp' | 'number' | 'yesno' | 'string', string]>([
    ['=', 'openai', 'string', 'openai'],
    ['!=', 'normal', 'string', '-normal,-NULL'],
    ['in', ['a', 'b,c', '50%_x'], 'string', 'a,b^,c,50^%^_x'],
    ['in', ['a', null], 'string', 'a'],
    ['not in', ['a', 'b'], 'string', '-a,-b,-NULL'],
    ['=', '-leading', 'string', '^-leading'],
    ['=', 'a^b"c', 'string', 'a^^b^"c'],
    ['is null', null, 'string', 'NULL'],
    ['is not null', null, 'string', '-NULL'],
    ['is not null', null, 'number', 'NOT NULL'],
    ['>', 0, 'number', '>0'],
    ['>=', 0.5, 'number', '>=0.5'],
    ['=', 3, 'number', '3'],
    ['!=', 3, 'number', 'NOT 3'],
    ['in', [1, 2], 'number', '1, 2'],
    ['not in', [1, 2], 'number', 'NOT 1, 2'],
    ['=', true, 'yesno', 'Yes'],
    ['=', false, 'yesno', 'No'],
    ['!=', true, 'yesno', 'No'],
    ['>=', '-7d', 'date', 'after 7 days ago'],
    ['>=', '-1d', 'timestamp', 'after 1 day ago'],
    ['<', '-3d', 'date', 'before 3 days ago'],
    ['>=', 'today', 'date', 'today'],
    ['>=', '2024-05-01', 'date', 'after 2024/05/01'],
    // Looker's `after` includes its day and `before` excludes it: > and <= move to the next day
    ['>', '2024-05-01', 'date', 'after 2024/05/02'],
    ['<=', '2024-05-31', 'date', 'before 2024/06/01'],
    ['<=', '2024-12-31', 'date', 'before 2025/01/01'],
    ['<', '2024-05-01', 'date', 'before 2024/05/01'],
    ['=', '2024-05-01', 'date', '2024/05/01'],
    ['>', '-7d', 'date', 'after 6 days ago'],
    ['>', '-1d', 'date', 'today'],
    ['<=', '-3d', 'date', 'before 2 days ago'],
    ['<=', 'today', 'date', 'before 1 day from now'],
    ['=', '-1d', 'date', '1 day ago'],
    ['=', 'today', 'date', 'today'],
    ['>', 'today', 'date', 'after 1 day from now'],
    // commas are OR in Looker's date filters: every date of the list, and the days around the excluded ones
    ['in', ['2024-05-01', '2024-05-03'], 'date', '2024/05/01,2024/05/03'],
    ['!=', '2024-05-01', 'date', 'before 2024/05/01,after 2024/05/02'],
    ['not in', ['2024-05-05', '2024-05-01', '2024-05-02'], 'date', 'before 2024/05/01,2024/05/03 to 2024/05/05,after 2024/05/06'],
    ['!=', '-2d', 'date', 'before 2 days ago,after 1 day ago'],
    ['>=', '2024-05-01', 'timestamp', 'after 2024/05/01'],
    ['<', '2024-05-01 12:30:00', 'timestamp', 'before 2024/05/01 12:30:00'],
  ])('%s %j (%s) -> %s', (op, value, kind, expected) => {
    expect(expr(op, value, kind)).toBe(expected);
  });
  it.each<[string, unknown, 'date' | 'timestamp' | 'number' | 'yesno' | 'string', RegExp]>([
    // strings have no ordering in Looker: a ">m" would be matched as the text ">m"
    ['>', 'm', 'string', /no ordering/],
    ['<=', 'm', 'string', /no ordering/],
    // NULL and EMPTY are keywords: "-NULL" reads "is not null"
    ['!=', 'NULL', 'string', /keyword/],
    ['=', 'empty', 'string', /keyword/],
    ['in', ['a', 'Null'], 'string', /keyword/],
    ['=', ' padded', 'string', /trims/],
    ['not in', ['a', null], 'string', /selects no rows/],
    // a timestamp strictly after (or on or before) midnight has no Looker phrase
    ['>', '2024-05-01', 'timestamp', /midnight/],
    ['<=', '-1d', 'timestamp', /midnight/],
    ['=', '2024-05-01', 'timestamp', /midnight/],
    ['>=', '-24h', 'timestamp', /hour/],
    ['<', 'today', 'date', /no phrase/],
    ['in', ['today'], 'date', /not a date/],
  ])('%s %j (%s) is not carried', (op, value, kind, why) => {
    const f = lookerFilterExpression(op, value, kind);
    expect('why' in f ? f.why : f.expr).toMatch(why);
  });
  it('a filter with no Looker expression is left out of the element and listed in the header; a date window is a range', () => {
    const def = DashboardSchema.parse({
      name: 'nc',
      title: 'NC',
      tabs: [
        {
          name: 't',
          title: 'T',
          tiles: [
            { id: 'by_name', type: 'table', title: 'Rows', model: 'workspaces', dimensions: [{ column: 'status' }], measures: [{ column: 'total_interactions', agg: 'sum' }], filters: [{ column: 'status', op: '>', value: 'm' }, { column: 'date', op: '>=', value: '2024-05-01' }, { column: 'date', op: '<=', value: '2024-05-31' }], layout: L(0, 0, 12, 4) },
          ],
        },
      ],
    });
    const files = exportWith([compileFixture(def, duckDbDialect)], 'looker');
    const lookml = files.get('nc.dashboard.lookml')!;
    expect(lookml).toContain("#   - by_name: its filter status > \"m\" (Looker string filters have no ordering (>))");
    const el = (YAML.parse(lookml.replace(/^#.*\n/gm, '')) as Json[])[0].elements.find((e: Json) => e.name === 'by_name');
    expect(el.filters).toEqual({ 'workspaces.date_date': '2024/05/01 to 2024/06/01' });
    expect(lookmlProblems(files)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Metabase

const metabase = JSON.parse(exportDashboards(DS, 'metabase').get('fixture_dash.metabase.json')!) as Json;
/** The POST /api/card bodies, with their key and tab. */
const cards: Json[] = metabase.cards.map((c: Json) => ({ ...c.body, key: c.key, tab: c.tab }));
const mbDash: Json = metabase.dashboard;
const cardOf = (id: string) => cards.find((c) => c.key === `fixture_dash/${id}`)!;
const cardByKey = (key: string) => cards.find((c) => c.key === key);
const dashcardOf = (id: string) => mbDash.dashcards.find((d: Json) => d.card_key === cardOf(id).key);

/** The SQL Metabase runs: optional clauses kept with their variables set, dropped when a variable is empty. */
function substitute(sql: string, values: Record<string, string | undefined>): string {
  const withClauses = sql.replace(/\[\[([\s\S]*?)\]\]/g, (_, body: string) => {
    const names = [...body.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]);
    return names.every((n) => values[n] !== undefined) ? body : '';
  });
  return withClauses.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, n: string) => {
    if (values[n] === undefined) throw new Error(`required variable ${n} has no value in:\n${sql}`);
    return values[n]!;
  });
}

describe('Metabase: cards, tabs, dashcards, parameters', () => {
  it('one native card per tile, with the display its tile type maps to', () => {
    const tiles = allTiles(fixture);
    expect(cards.map((c) => `${c.tab}.${c.key}`)).toEqual(tiles.map((t) => `${t.tab}.fixture_dash/${t.tile.id}`));
    for (const t of tiles) {
      const c = cardOf(t.tile.id);
      // a KPI with its own window and a comparison is Metabase's trend card
      expect(c.display, t.tile.id).toBe(t.tile.compare && t.previousSqlUnfiltered ? 'smartscalar' : METABASE_DISPLAY[t.tile.type]);
      expect(c.name).toBe(t.tile.title);
      expect(c.dataset_query).toMatchObject({ type: 'native', database: 7, native: { query: expect.any(String), 'template-tags': expect.any(Object) } });
      // found again by publish: the marker line in its description
      expect(c.description).toContain(`(vigil:fixture:fixture_dash/${t.tile.id})`);
      expect(Object.keys(c).sort()).toEqual(['dataset_query', 'description', 'display', 'key', 'name', 'tab', 'type', 'visualization_settings']);
    }
    expect(METABASE_DISPLAY).toMatchObject({ kpi: 'scalar', line: 'line', area: 'area', bar: 'bar', donut: 'pie', scatter: 'scatter', table: 'table', gauge: 'gauge' });
  });
  it('dashcards reference existing cards and tabs; the grid is doubled', () => {
    expect(mbDash.tabs).toEqual([{ id: -1, name: 'Main' }, { id: -2, name: 'Detail' }]);
    const tabIds = new Set(mbDash.tabs.map((t: Json) => t.id));
    expect(mbDash.dashcards).toHaveLength(cards.length);
    expect(new Set(mbDash.dashcards.map((d: Json) => d.card_key))).toEqual(new Set(cards.map((c) => c.key)));
    for (const d of mbDash.dashcards) {
      expect(cardByKey(d.card_key), `card_key ${d.card_key}`).toBeDefined();
      expect(d).not.toHaveProperty('card_ref');
      for (const k of ['row', 'col', 'size_x', 'size_y']) expect(Number.isInteger(d[k]) && d[k] >= 0, k).toBe(true);
      expect(tabIds.has(d.dashboard_tab_id)).toBe(true);
      expect(d.id).toBeLessThan(0);
      expect(d.col + d.size_x).toBeLessThanOrEqual(24);
    }
    expect(new Set(mbDash.dashcards.map((d: Json) => d.id)).size).toBe(cards.length);
    expect(dashcardOf('error_rate_kpi')).toMatchObject({ dashboard_tab_id: -1, row: 0, col: 6, size_x: 6, size_y: 4 });
    expect(dashcardOf('heat')).toMatchObject({ dashboard_tab_id: -2, row: 0, col: 0, size_x: 24, size_y: 10 });
  });
  it('a single-tab dashboard has no tabs', () => {
    const one = JSON.parse(exportDashboards(DS, 'metabase').get('aaa_second.metabase.json')!);
    expect(one.dashboard.tabs).toEqual([]);
    expect(one.dashboard.dashcards[0].dashboard_tab_id).toBeNull();
  });
  it('parameters: date range as "last N days" (number, default 7), selects as strings with their defaults', () => {
    expect(mbDash.parameters).toEqual([
      { id: 'date_range', name: 'Date range (last N days)', slug: 'date_range', type: 'number/=', sectionId: 'number', default: [7] },
      { id: 'provider', name: 'Provider', slug: 'provider', type: 'string/=', sectionId: 'string', default: ['openai'] },
      { id: 'capability', name: 'Capability', slug: 'capability', type: 'string/=', sectionId: 'string' },
    ]);
  });
  it('parameter mappings target existing parameters and template tags of the mapped card; every tag is used by the SQL and mapped', () => {
    const params = new Set(mbDash.parameters.map((p: Json) => p.id));
    let mapped = 0;
    for (const d of mbDash.dashcards) {
      const card = cardByKey(d.card_key)!;
      const tags = card.dataset_query.native['template-tags'];
      const sql: string = card.dataset_query.native.query;
      for (const m of d.parameter_mappings) {
        mapped++;
        expect(params.has(m.parameter_id)).toBe(true);
        expect(m.target[0]).toBe('variable');
        expect(m.target[1][0]).toBe('template-tag');
        expect(tags[m.target[1][1]], `${card.name}: tag ${m.target[1][1]}`).toBeDefined();
      }
      const inSql = new Set([...sql.matchAll(/\{\{(\w+)\}\}/g)].map((x) => x[1]));
      expect(new Set(Object.keys(tags))).toEqual(inSql);
      expect(new Set(d.parameter_mappings.map((m: Json) => m.target[1][1]))).toEqual(inSql);
      for (const [name, tag] of Object.entries<Json>(tags)) {
        expect(tag).toMatchObject({ name, type: expect.stringMatching(/^(number|text)$/), required: false, id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) });
      }
    }
    expect(mapped).toBeGreaterThan(15);
  });
  it('mappings follow listen: models without the column and tiles with their own window are not mapped', () => {
    const mapped = (id: string) => dashcardOf(id).parameter_mappings.map((m: Json) => m.parameter_id);
    expect(mapped('prompt_vs_duration')).toEqual(['provider']);
    expect(mapped('heat')).toEqual(['date_range']);
    expect(mapped('interactions_24h')).toEqual(['provider', 'capability']);
    expect(mapped('volume')).toEqual(['date_range', 'provider', 'capability']);
  });
  it('filters are optional clauses inside the WHERE (after the tile\'s own conditions)', () => {
    expect(cardOf('volume').dataset_query.native.query).toBe(
      [
        `select date_trunc('week', "date") as "date", "capability" as "capability", sum("interaction_count") as "interactions"`,
        `from "analytics"."daily"`,
        `where 1 = 1`,
        `  [[and "date" >= (current_date + (-({{date_range}} - 1)) * interval '1 day')]]`,
        `  [[and "provider" in ({{provider}})]]`,
        `  [[and "capability" in ({{capability}})]]`,
        `group by date_trunc('week', "date"), "capability"`,
        `order by "date", "capability"`,
      ].join('\n'),
    );
    expect(cardOf('prompt_vs_duration').dataset_query.native.query).toContain(`and "is_error" = FALSE\n  [[and "provider" in ({{provider}})]]\nlimit 1000`);
  });
  it('visualization settings: series, stacking, goal, pie, pivot heatmap, gauge segments, conditional formatting, number formats', () => {
    expect(cardOf('volume').visualization_settings).toMatchObject({ 'graph.dimensions': ['date', 'capability'], 'graph.metrics': ['interactions'], 'stackable.stack_type': 'stacked' });
    expect(cardOf('latency').visualization_settings).toMatchObject({ 'graph.dimensions': ['date'], 'graph.metrics': ['p95'], 'graph.show_goal': true, 'graph.goal_value': 500, 'graph.goal_label': 'SLO' });
    expect(cardOf('provider_mix').visualization_settings).toMatchObject({ 'pie.dimension': 'provider', 'pie.metric': 'sum_interaction_count' });
    expect(cardOf('heat').visualization_settings).toMatchObject({ 'table.pivot': true, 'table.pivot_column': 'workspace_id', 'table.cell_column': 'sum_total_interactions' });
    expect(cardOf('freshness').visualization_settings['gauge.segments']).toEqual([
      { min: 0, max: 60, color: '#2e7d32', label: '' },
      { min: 60, max: 90, color: '#f9a825', label: '' },
      { min: 90, max: 120, color: '#c62828', label: 'stale' },
    ]);
    expect(cardOf('leaderboard').visualization_settings['table.column_formatting']).toEqual([
      { columns: ['avg_err'], type: 'single', operator: '>', value: 0.05, color: '#f8d7da', highlight_row: false },
      { columns: ['interactions'], type: 'single', operator: '<=', value: 10, color: '#eeeeee', highlight_row: false },
    ]);
    expect(cardOf('error_rate_kpi').visualization_settings.column_settings['["name","error_rate"]']).toMatchObject({ number_style: 'percent' });
    expect(cardOf('prompt_vs_duration').visualization_settings).toMatchObject({ 'graph.dimensions': ['prompt_chars'], 'graph.metrics': ['duration_ms'] });
  });
});

describe('Metabase: braces and brackets in string literals', () => {
  it('a literal\'s {{ }} and [[ ]] are split by concatenation (Metabase would read them as a variable and an optional clause); the same text in DuckDB and BigQuery', async () => {
    const duck = dialectOf('duckdb');
    const bq = dialectOf('bigquery');
    const sql = "select 1 from t\nwhere x = '{{ provider }}' and y = '[[a]] it''s'";
    const out = metabaseLiterals(sql, duck);
    expect(out).not.toMatch(/\{\{|\}\}|\[\[|\]\]/);
    expect(out).toBe("select 1 from t\nwhere x = '{' || '{ provider }' || '}' and y = '[' || '[a]' || '] it''s'");
    // DuckDB reads the same text
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const r = await conn.runAndReadAll("select '{' || '{ provider }' || '}' as v, '[' || '[a]' || '] it''s' as w");
      expect(r.getRowObjects()).toEqual([{ v: '{{ provider }}', w: "[[a]] it's" }]);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    // BigQuery literals escape with a backslash: an escaped quote does not end the literal
    expect(metabaseLiterals("select 'it\\'s {{x}}'", bq)).toBe("select 'it\\'s {' || '{x}' || '}'");
    // and the clauses Vigil adds stay as Metabase's tags; a quote in a quoted name starts no literal
    expect(metabaseLiterals("select 1\nfrom t\nwhere a = '{{b}}'\n  [[and c = {{c}}]]", duck)).toBe("select 1\nfrom t\nwhere a = '{' || '{b}' || '}'\n  [[and c = {{c}}]]");
    expect(metabaseLiterals(`select "it's" from t where x = '[[a]]'\n  [[and "it's" in ({{c}})]]`, duck)).toBe(`select "it's" from t where x = '[' || '[a]' || ']'\n  [[and "it's" in ({{c}})]]`);
    expect(metabaseLiterals("select `it's` from t where x = '{{a}}' [[and `it's` in ({{c}})]]", bq)).toBe("select `it's` from t where x = '{' || '{a}' || '}' [[and `it's` in ({{c}})]]");
  });
});

describe('Metabase SQL runs on DuckDB with the filters empty and set', () => {
  let instance: DuckDBInstance;
  let c: DuckDBConnection;
  beforeAll(async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    instance = await DuckDBInstance.create(':memory:');
    c = await instance.connect();
    await c.run('create schema analytics');
    for (const [m, { columns }] of Object.entries(MODELS)) {
      const ty = (t: string) => (t === 'timestamptz' ? 'timestamptz' : t);
      await c.run(`create table analytics.${m} (${Object.entries(columns).map(([n, t]) => `"${n}" ${ty(t)}`).join(', ')})`);
    }
    await c.run(`insert into analytics.daily values (current_date, 'openai', 'chat', 10, 1, 120.0), (current_date - 3, 'anthropic', 'code', 5, 0, 300.0), (current_date - 20, 'openai', 'code', 7, 2, 80.0)`);
    await c.run(`insert into analytics.workspaces values (current_date, 'w1', 't1', 10, 1, 0.1, now(), true, 'ok'), (current_date - 10, 'w2', null, 3, 0, 0.0, now() - interval 3 hour, false, 'warn, late')`);
    await c.run(`insert into analytics.logs values (now(), 'openai', 120, 800.5, false), (now() - interval 3 day, 'anthropic', 40, 300, true)`);
  });
  afterAll(() => {
    c?.closeSync();
    instance?.closeSync();
  });
  const cases: Array<[string, Record<string, string | undefined>]> = [
    ['every filter empty', {}],
    ['every filter set', { date_range: '7', provider: "'openai'", capability: "'chat'" }],
    ['multiple values', { date_range: '30', provider: "'openai', 'anthropic'" }],
  ];
  it.each(cases)('%s', async (_name, values) => {
    for (const card of cards) {
      const sql = substitute(card.dataset_query.native.query, values);
      await expect(c.runAndReadAll(sql).then(() => 'ok'), `${card.name}:\n${sql}`).resolves.toBe('ok');
    }
  });
  it('the date filter keeps the last N days, today included (as Vigil\'s "7d")', async () => {
    const sql = substitute(cardOf('by_provider').dataset_query.native.query, { date_range: '4' });
    const rows = (await c.runAndReadAll(sql)).getRowObjectsJS();
    expect(rows).toEqual([{ provider: 'openai', interactions: 10n }, { provider: 'anthropic', interactions: 5n }]);
    const one = (await c.runAndReadAll(substitute(cardOf('by_provider').dataset_query.native.query, { date_range: '3' }))).getRowObjectsJS();
    expect(one).toEqual([{ provider: 'openai', interactions: 10n }]);
  });
  it('BigQuery cards parse with the BigQuery grammar, filters empty and set', () => {
    const bq = JSON.parse(exportDashboards([compileFixture(definition(), bigQueryDialect, MODELS, 'bigquery')], 'metabase').get('fixture_dash.metabase.json')!);
    for (const { body: card } of bq.cards as Json[]) {
      for (const [, values] of cases) {
        const sql = substitute(card.dataset_query.native.query, values);
        expect(() => parseSql(sql, { dialect: 'bigquery' }), `${card.name}:\n${sql}`).not.toThrow();
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// JSON

describe('JSON: the normalized definition and each tile\'s SQL', () => {
  const out = JSON.parse(exportDashboards(DS, 'json').get('fixture_dash.json')!);
  it('the definition has the schema defaults applied and validates again (strict)', () => {
    expect(DashboardSchema.parse(out.definition)).toEqual(out.definition);
    expect(out.definition.tabs[0].tiles[0]).toMatchObject({ dimensions: [], sort: [], links: [], thresholds: [], conditional_formatting: [] });
    expect(out).toMatchObject({ source: 'dashboards/fixture_dash.json', project: 'fixture', dialect: 'duckdb', models: ['daily', 'logs', 'workspaces'] });
  });
  it('every tile with its compiled SQL', () => {
    expect(Object.keys(out.tiles).sort()).toEqual(allTiles(fixture).map((t) => t.tile.id).sort());
    for (const t of allTiles(fixture)) expect(out.tiles[t.tile.id]).toMatchObject({ tab: t.tab, model: t.model, relation: t.relation, sql: t.sql, sql_unfiltered: t.sqlUnfiltered, applies_filters: t.appliesFilters });
  });
});

// ---------------------------------------------------------------------------------------------
// with the real compiler: the Metabase clauses in the WHERE it writes

describe('with compileDashboards()', () => {
  const manifest = {
    metadata: { project: 'fixture', target: 'dev', adapter: 'duckdb', vigil_version: 'test' },
    nodes: Object.fromEntries(
      Object.entries(MODELS).map(([name, m]) => [
        `model.fixture.${name}`,
        { unique_id: `model.fixture.${name}`, resource_type: 'model', name, file: `models/${name}.sql`, checksum: '', config: { materialized: 'table', tags: [] }, tags: [], columns: Object.entries(m.columns).map(([n, t]) => ({ name: n, data_type: t })), depends_on: [], relation: { schema: 'analytics', identifier: name }, compiled_sql: 'select 1', compiled_path: '' },
      ]),
    ),
    sources: {},
    child_map: {},
  } as unknown as Manifest;
  const ds: Diagnostic[] = [];
  const parsed = parseDashboards([{ path: 'dashboards/fixture_dash.json', text: JSON.stringify(DEFINITION, null, 2) }], ds);
  const compiled = compileDashboards({ parsed, manifest, dialect: duckDbDialect, project: 'fixture' }, ds);
  it('compiles the fixture', () => {
    expect(ds.filter((d) => d.severity === 'error')).toEqual([]);
    expect(compiled).toHaveLength(1);
  });
  it('every format exports it; Metabase clauses land in its queries', () => {
    for (const fmt of FORMATS) expect(exportDashboards(compiled, fmt).size).toBeGreaterThan(0);
    const mb = JSON.parse(exportDashboards(compiled, 'metabase').get('fixture_dash.metabase.json')!);
    const q = mb.cards.find((c: Json) => c.key === 'fixture_dash/volume').body.dataset_query.native.query as string;
    expect(q).toMatch(/\nfrom "analytics"\."daily"\nwhere 1 = 1\n {2}\[\[and "date" >= /);
    const lk = YAML.parse(exportDashboards(compiled, 'looker').get('fixture_dash.dashboard.lookml')!)[0];
    expect(lk.elements.find((e: Json) => e.name === 'prompt_vs_duration').listen).toEqual({ provider: 'logs.provider' });
  });
});

describe('Metabase: a tile filter value holding a newline (the clauses go in the WHERE, not in the literal)', () => {
  const manifest = {
    metadata: { project: 'fixture', target: 'dev', adapter: 'duckdb', vigil_version: 'test' },
    nodes: {
      'model.fixture.daily': { unique_id: 'model.fixture.daily', resource_type: 'model', name: 'daily', file: 'models/daily.sql', checksum: '', config: { materialized: 'table', tags: [] }, tags: [], columns: Object.entries(MODELS.daily.columns).map(([n, t]) => ({ name: n, data_type: t })), depends_on: [], relation: { schema: 'analytics', identifier: 'daily' }, compiled_sql: 'select 1', compiled_path: '' },
    },
    sources: {},
    child_map: {},
  } as unknown as Manifest;
  const def = {
    name: 'newline_dash',
    title: 'Newline',
    filters: [{ name: 'provider', type: 'select', column: 'provider' }],
    tabs: [{ name: 'main', title: 'Main', tiles: [
      { id: 'rows', type: 'table', title: 'Rows', model: 'daily', dimensions: [{ column: 'provider' }, { column: 'capability' }], measures: [{ name: 'n', column: 'interaction_count', agg: 'sum' }], filters: [{ column: 'capability', op: '!=', value: 'x\n  and y\nwhere z' }, { column: 'capability', op: '!=', value: 'x\nfrom "analytics"."daily"' }], layout: L(0, 0, 12, 4) },
      { id: 'kpi', type: 'kpi', title: 'KPI', model: 'daily', measures: [{ name: 'n', column: 'interaction_count', agg: 'sum' }], filters: [{ column: 'capability', op: '!=', value: 'x\n  and y\nwhere z' }, { column: 'capability', op: '!=', value: 'x\nfrom "analytics"."daily"' }, { column: 'date', op: '>=', value: '-1d' }], compare: 'previous_period', layout: L(0, 4, 3, 2) },
    ] }],
  };
  const ds: Diagnostic[] = [];
  const parsed = parseDashboards([{ path: 'dashboards/newline_dash.json', text: JSON.stringify(def, null, 2) }], ds);
  const compiled = compileDashboards({ parsed, manifest, dialect: duckDbDialect, project: 'fixture' }, ds);
  const query = (id: string) => (JSON.parse(exportDashboards(compiled, 'metabase').get('newline_dash.metabase.json')!).cards as Json[]).find((c) => c.key === `newline_dash/${id}`)!.body.dataset_query.native.query as string;
  it('the card runs on DuckDB with the filter empty and set, and both the tile filter and the dashboard filter hold', async () => {
    expect(ds.filter((d) => d.severity === 'error')).toEqual([]);
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      await c.run('create schema analytics');
      await c.run(`create table analytics.daily (${Object.entries(MODELS.daily.columns).map(([n, t]) => `"${n}" ${t}`).join(', ')})`);
      await c.run(`insert into analytics.daily values (current_date, 'openai', 'chat', 10, 0, 1), (current_date, 'anthropic', 'chat', 5, 0, 1), (current_date, 'openai', 'x
  and y
where z', 7, 0, 1), (current_date, 'openai', 'x
from "analytics"."daily"', 100, 0, 1)`);
      const rows = async (id: string, values: Record<string, string>) => (await c.runAndReadAll(substitute(query(id), values))).getRowObjectsJS();
      expect(query('rows')).toMatch(/\n {2}\[\[and "provider" in \(\{\{provider\}\}\)\]\]\ngroup by/);
      expect(await rows('rows', {})).toEqual([{ provider: 'anthropic', capability: 'chat', n: 5n }, { provider: 'openai', capability: 'chat', n: 10n }]);
      expect(await rows('rows', { provider: "'openai'" })).toEqual([{ provider: 'openai', capability: 'chat', n: 10n }]);
      // the trend card: both periods carry the clause after the tile's own conditions
      expect(query('kpi').match(/\[\[and "provider"/g)).toHaveLength(2);
      expect((await rows('kpi', { provider: "'anthropic'" })).map((r) => r.n)).toEqual([null, 5n]);
      expect((await rows('kpi', {})).map((r) => r.n)).toEqual([null, 15n]);
    } finally {
      c.closeSync();
      db.closeSync();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// golden files: the shipped dashboards

const GOLDEN = join(REPO, 'test/fixtures/golden/dashboards-export');

function golden(actual: Map<string, string>, dir: string) {
  if (UPDATE) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of actual) writeFileSync(join(dir, f), text);
  }
  expect(existsSync(dir), `${dir} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect([...actual.keys()].sort()).toEqual(readdirSync(dir).sort());
  for (const [f, text] of actual) expect(text, f).toBe(readFileSync(join(dir, f), 'utf8'));
}

const shippedDashboards = existsSync(join(REPO, 'dashboards')) ? readdirSync(join(REPO, 'dashboards')).filter((f) => f.endsWith('.json')) : [];

describe.skipIf(shippedDashboards.length === 0)('golden exports of the shipped dashboards (dashboards/*.json)', () => {
  const r = shippedDashboards.length ? compileProject(loadProject(REPO), { env: {}, target: 'dev' }) : undefined;
  it('the shipped dashboards compile', () => {
    expect(r!.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r!.dashboards.map((d) => `${d.dashboard.name}.json`).sort()).toEqual([...shippedDashboards].sort());
  });
  it.each(FORMATS)('%s export matches the golden files', (fmt) => golden(exportDashboards(r!.dashboards, fmt), join(GOLDEN, fmt)));
  it('their LookML parses and every field it references resolves', () => expect(lookmlProblems(exportDashboards(r!.dashboards, 'looker'))).toEqual([]));
});

if (shippedDashboards.length === 0) {
  describe('golden exports of the shipped dashboards', () => {
    it.skip('skipped: dashboards/*.json do not exist yet — add them, then run UPDATE_GOLDEN=1 npx vitest run test/dashboards/export.test.ts', () => {});
  });
}
