/**
 * The static HTML renderer (ECharts SSR to SVG) and the per-tab screenshots, on a fixture
 * dashboard with every tile type, a failed tile and an empty one. The browser part runs when
 * Debian's Chromium (or $VIGIL_CHROMIUM) is installed. Set VIGIL_RENDER_OUT=dir to keep the
 * HTML and PNGs for a look.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { vigil } from '../helpers.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asOf, escapeHtml, fitRows, formatAxisValue, formatValue, renderDashboardHtml, renderTileHtml } from '../../src/dashboards/render.js';
import { pngStats } from '../support/png-stats.js';
import { CategoryColors } from '../../src/dashboards/category-colors.js';
import { chromiumScratch, findChromium, launchScreenshotBrowser, openScreenshotSession, pngNames, ScreenshotError, screenshotTabs } from '../../src/dashboards/screenshot.js';
import { DashboardSchema, type ResolvedTile, type Tile } from '../../src/dashboards/schema.js';
import type { CompiledDashboard, CompiledField, CompiledTile, TileData } from '../../src/dashboards/types.js';
import { sharedBrowser } from '../support/browser.js';

/** The colors a new book gives `names` together (in name order): what a first render gives them. */
function stableColors(names: string[]): Map<string, string> {
  const book = new CategoryColors();
  book.assign(names.map((n) => ['', n]));
  return new Map(names.map((n) => [n, book.color('', n)]));
}

// ---------------------------------------------------------------------------------------------
// Fixture: three tabs, every tile type

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });

const definition = {
  name: 'fixture',
  title: 'AI Copilot Audit — Fixture',
  description: 'Every tile type, on made-up data.',
  filters: [
    { name: 'date_range', label: 'Date range', type: 'date_range', column: 'date', default: '7d' },
    { name: 'provider', label: 'Provider', type: 'select', column: 'provider', default: null },
    { name: 'capability', label: 'Capability', type: 'select', column: 'capability', default: null },
  ],
  tabs: [
    {
      name: 'overview',
      title: 'Overview',
      tiles: [
        { id: 'interactions_24h', type: 'kpi', title: 'Interactions (24h)', model: 'ai_audit_daily', measures: [{ name: 'interactions', column: 'interaction_count', agg: 'sum', label: 'Interactions', format: 'integer', better: 'higher' }], compare: 'previous_period', layout: L(0, 0, 3, 2) },
        { id: 'error_rate_24h', type: 'kpi', title: 'Error rate (24h)', model: 'ai_audit_daily', measures: [{ name: 'error_rate', column: 'error_count', agg: 'ratio', denominator: 'interaction_count', label: 'Error rate', format: 'percent', better: 'lower' }], compare: 'previous_period', thresholds: [{ value: 0.05, color: '#D92D20', label: '5 % target' }], layout: L(3, 0, 3, 2) },
        { id: 'p95_latency_24h', type: 'kpi', title: 'P95 latency (24h, weighted)', model: 'ai_audit_daily', measures: [{ name: 'p95_latency', column: 'p95_latency_ms', agg: 'weighted_avg', weight: 'interaction_count', label: 'P95 latency', format: 'ms', better: 'lower' }], compare: 'previous_period', layout: L(6, 0, 3, 2) },
        { id: 'cost_7d', type: 'kpi', title: 'Model cost (7d)', model: 'ai_cost_daily', measures: [{ name: 'cost', column: 'cost_usd', agg: 'sum', label: 'Cost', format: 'usd' }], layout: L(9, 0, 3, 2) },
        { id: 'volume_by_capability', type: 'area', stacked: true, title: 'Daily interactions by capability', model: 'ai_audit_daily', dimensions: [{ column: 'date', role: 'x' }, { column: 'capability', role: 'series' }], measures: [{ name: 'interactions', column: 'interaction_count', agg: 'sum', label: 'Interactions', format: 'integer' }], drilldown: { tab: 'capability', filters: { capability: '{{ capability }}' } }, layout: L(0, 2, 8, 4) },
        { id: 'provider_mix', type: 'donut', title: 'Interactions <b>by</b> provider', model: 'ai_audit_daily', dimensions: [{ column: 'provider' }], measures: [{ name: 'interactions', column: 'interaction_count', agg: 'sum', label: 'Interactions', format: 'integer' }], sort: [{ field: 'interactions', dir: 'desc' }], layout: L(8, 2, 4, 4) },
        { id: 'error_rate_trend', type: 'line', title: 'Error rate per day (target 0–5 %)', model: 'ai_audit_daily', dimensions: [{ column: 'date', role: 'x' }], measures: [{ name: 'error_rate', column: 'error_count', agg: 'ratio', denominator: 'interaction_count', label: 'Error rate', format: 'percent' }], target_band: { min: 0, max: 0.05, label: 'target' }, thresholds: [{ value: 0.08, color: '#D92D20', label: 'page' }], layout: L(0, 6, 8, 4) },
        { id: 'latency_by_provider', type: 'box', title: 'P95 latency by provider (daily values)', model: 'ai_audit_daily', dimensions: [{ column: 'provider' }], measures: [{ column: 'p95_latency_ms', agg: 'none', label: 'P95 latency', format: 'ms' }], layout: L(8, 6, 4, 4) },
      ],
    },
    {
      name: 'workspace',
      title: 'Workspaces',
      tiles: [
        { id: 'leaderboard', type: 'bar', title: 'Top workspaces by interactions', model: 'ai_audit_workspace_stats', dimensions: [{ column: 'workspace_id', label: 'Workspace' }], measures: [{ name: 'interactions', column: 'total_interactions', agg: 'sum', label: 'Interactions', format: 'integer' }], sort: [{ field: 'interactions', dir: 'desc' }], limit: 12, layout: L(0, 0, 6, 4) },
        { id: 'freshness', type: 'gauge', title: 'Minutes since the last interaction', model: 'ai_audit_workspace_stats', measures: [{ name: 'minutes_since_last', column: 'last_interaction_at', agg: 'age_minutes', label: 'Minutes', format: 'minutes' }], max: 120, thresholds: [{ value: 15, color: '#F79009' }, { value: 60, color: '#D92D20' }], layout: L(6, 0, 3, 4) },
        { id: 'active_teams', type: 'kpi', title: 'Teams active (7d)', model: 'ai_audit_workspace_stats', measures: [{ name: 'teams', column: 'team', agg: 'count_distinct', label: 'Teams', format: 'integer' }], compare: 'previous_period', layout: L(9, 0, 3, 2) },
        { id: 'broken_tile', type: 'kpi', title: 'Sessions (broken)', model: 'ai_sessions', measures: [{ name: 'sessions', column: 'session_id', agg: 'count_distinct', format: 'integer' }], layout: L(9, 2, 3, 2) },
        { id: 'activity_heatmap', type: 'heatmap', title: 'Interactions per day and workspace', model: 'ai_audit_workspace_stats', dimensions: [{ column: 'date', role: 'x' }, { column: 'workspace_id', role: 'y', label: 'Workspace' }], measures: [{ name: 'interactions', column: 'total_interactions', agg: 'sum', label: 'Interactions', format: 'integer' }], layout: L(0, 4, 12, 5) },
        {
          id: 'workspace_table',
          type: 'table',
          title: 'Workspaces (error rate above 5 % in red)',
          model: 'ai_audit_workspace_stats',
          dimensions: [{ column: 'workspace_id', label: 'Workspace' }, { column: 'team' }],
          measures: [
            { name: 'interactions', column: 'total_interactions', agg: 'sum', label: 'Interactions', format: 'integer' },
            { name: 'error_rate', column: 'error_count', agg: 'ratio', denominator: 'total_interactions', label: 'Error rate', format: 'percent' },
            { name: 'last_interaction_at', column: 'last_interaction_at', agg: 'max', label: 'Last interaction', format: 'text' },
          ],
          sort: [{ field: 'interactions', dir: 'desc' }],
          conditional_formatting: [
            { field: 'error_rate', op: '>', value: 0.1, color: '#D92D20' },
            { field: 'error_rate', op: '>', value: 0.05, color: '#FEE4E2' },
          ],
          links: [{ label: 'Open', url: '/workspaces/{{ workspace_id }}' }],
          layout: L(0, 9, 7, 6),
        },
        { id: 'recent_incidents', type: 'table', title: 'Recent incidents', model: 'ai_audit_capability_anomalies', dimensions: [{ column: 'date' }, { column: 'capability' }, { column: 'deviation_state', label: 'State' }], measures: [{ name: 'interactions', column: 'interaction_count', agg: 'sum', label: 'Interactions', format: 'integer' }], sort: [{ field: 'date', dir: 'desc' }], links: [{ label: 'Runbook', url: 'https://example.com/runbooks#volume-{{ deviation_state }}' }, { label: 'Bad', url: 'javascript:alert(1)' }], layout: L(7, 9, 5, 6) },
      ],
    },
    {
      name: 'capability',
      title: 'Capabilities',
      tiles: [
        { id: 'new_capabilities_7d', type: 'kpi', title: 'New capabilities (7d)', model: 'ai_audit_capability_anomalies', measures: [{ name: 'new_capabilities', column: 'capability', agg: 'count_distinct', label: 'New capabilities', format: 'integer' }], layout: L(0, 0, 3, 2) },
        { id: 'spikes_24h', type: 'kpi', title: 'Spike alerts (24h)', model: 'ai_audit_capability_anomalies', measures: [{ name: 'spikes', column: '*', agg: 'count', label: 'Spikes', format: 'integer' }], compare: 'previous_period', layout: L(3, 0, 3, 2) },
        { id: 'minutes_saved', type: 'kpi', title: 'Review time saved (7d)', model: 'ai_audit_daily', measures: [{ name: 'minutes', column: 'minutes_saved', agg: 'sum', label: 'Minutes', format: 'minutes' }], layout: L(6, 0, 3, 2) },
        { id: 'blocked_prompts', type: 'bar', title: 'Blocked prompts (no rows)', model: 'ai_governance_daily', dimensions: [{ column: 'date', role: 'x' }], measures: [{ name: 'blocked', column: 'blocked_count', agg: 'sum', format: 'integer' }], layout: L(9, 0, 3, 2) },
        { id: 'anomaly_states', type: 'bar', stacked: true, title: 'Spikes and drops per day', model: 'ai_audit_capability_anomalies', dimensions: [{ column: 'date', role: 'x' }, { column: 'deviation_state', role: 'series' }], measures: [{ name: 'capabilities', column: '*', agg: 'count', label: 'Capabilities', format: 'integer' }], layout: L(0, 2, 6, 4) },
        { id: 'ratio_to_median', type: 'line', title: 'Volume against the 14-day median', model: 'ai_audit_capability_anomalies', dimensions: [{ column: 'date', role: 'x' }, { column: 'capability', role: 'series' }], measures: [{ name: 'ratio', column: 'ratio_to_median_14d', agg: 'avg', label: 'Ratio to median', format: 'number' }], thresholds: [{ value: 2, color: '#D92D20', label: 'spike' }, { value: 0.5, color: '#F79009', label: 'drop' }], layout: L(6, 2, 6, 4) },
        {
          id: 'latency_bands',
          type: 'box',
          title: 'Latency percentiles by capability',
          model: 'ai_audit_daily',
          dimensions: [{ column: 'capability', role: 'x' }],
          measures: [
            { name: 'p50', column: 'p50_latency_ms', agg: 'avg', label: 'p50', format: 'ms' },
            { name: 'p95', column: 'p95_latency_ms', agg: 'avg', label: 'p95', format: 'ms' },
            { name: 'p99', column: 'p99_latency_ms', agg: 'avg', label: 'p99', format: 'ms' },
          ],
          layout: L(0, 6, 6, 4),
        },
        {
          id: 'success_failure',
          type: 'bar',
          stacked: true,
          title: 'Successes and failures per day',
          model: 'ai_audit_daily',
          dimensions: [{ column: 'date', role: 'x' }],
          measures: [
            { name: 'successes', column: 'success_count', agg: 'sum', label: 'Successes', format: 'integer' },
            { name: 'failures', column: 'error_count', agg: 'sum', label: 'Failures', format: 'integer' },
          ],
          layout: L(6, 6, 6, 4),
        },
        { id: 'prompt_vs_duration', type: 'scatter', title: 'Prompt length against duration', model: 'stg_ai_audit_logs', dimensions: [{ column: 'provider', role: 'series' }], measures: [{ name: 'prompt_length', column: 'prompt_length', agg: 'none', label: 'Prompt length (chars)', format: 'integer' }, { name: 'duration_ms', column: 'duration_ms', agg: 'none', label: 'Duration', format: 'ms' }], limit: 400, layout: L(0, 10, 12, 4) },
      ],
    },
  ],
};

function fieldsOf(tile: Tile): CompiledField[] {
  const dims: CompiledField[] = tile.dimensions.map((d) => ({ name: d.column, label: d.label ?? d.column, kind: 'dimension', column: d.column, role: d.role, granularity: d.granularity }));
  const ms: CompiledField[] = tile.measures.map((m) => ({ name: m.name ?? (m.agg === 'none' ? m.column : `${m.agg}_${m.column}`), label: m.label ?? m.column, kind: 'measure', column: m.column, agg: m.agg, format: m.format, ...(m.better ? { better: m.better } : {}) }));
  return [...dims, ...ms];
}

export function fixtureDashboard(): CompiledDashboard {
  const dashboard = DashboardSchema.parse(definition);
  const tabs = dashboard.tabs.map((t) => ({
    name: t.name,
    title: t.title,
    tiles: t.tiles.map(
      (tile): CompiledTile => ({ tile: tile as ResolvedTile, tab: t.name, model: tile.model, relation: `"analytics"."${tile.model}"`, fields: fieldsOf(tile), sql: 'select 1', sqlUnfiltered: 'select 1', appliesFilters: ['date_range'] }),
    ),
  }));
  const models = [...new Set(tabs.flatMap((t) => t.tiles.map((x) => x.model)))].sort();
  return { dashboard, file: 'dashboards/fixture.json', tabs, models, dialect: 'duckdb', project: 'vigil_demo' };
}

const DAY = 86_400_000;
const END = Date.UTC(2026, 2, 14);
const dates = Array.from({ length: 14 }, (_, i) => new Date(END - (13 - i) * DAY));
const capabilities = ['chat', 'code_review', 'summarize', 'search', 'translate', 'sql_assist', 'doc_qa', 'classify'];
const providers = ['openai', 'anthropic', 'google', 'mistral'];
const workspaces = Array.from({ length: 20 }, (_, i) => `ws_${String(i + 1).padStart(2, '0')}`);
const teams = ['platform', 'growth', 'support', 'data'];

export function fixtureData(): Map<string, TileData> {
  const r = rng(42);
  const ok = (rows: Array<Record<string, unknown>>, previous?: Record<string, unknown>): TileData => ({ ok: true, rows, previous, seconds: 0.01 });
  const m = new Map<string, TileData>();
  m.set('interactions_24h', ok([{ interactions: 12345n }], { interactions: 11022n }));
  m.set('error_rate_24h', ok([{ error_rate: 0.053 }], { error_rate: 0.047 }));
  m.set('p95_latency_24h', ok([{ p95_latency: 1834.2 }], { p95_latency: 2011.7 }));
  m.set('cost_7d', ok([{ cost: 1234.5 }]));
  const weights = capabilities.map((_, i) => 900 / (i + 1));
  m.set('volume_by_capability', ok(dates.flatMap((d, di) => capabilities.map((c, ci) => ({ date: d, capability: c, interactions: Math.round(weights[ci] * (0.8 + 0.4 * r()) * (di % 7 >= 5 ? 0.6 : 1)) })))));
  m.set('provider_mix', ok([{ provider: 'openai', interactions: 5210 }, { provider: 'anthropic', interactions: 3987 }, { provider: 'google', interactions: 2140 }, { provider: 'mistral', interactions: 1008 }]));
  m.set('error_rate_trend', ok(dates.map((d, i) => ({ date: d, error_rate: i === 9 ? 0.091 : 0.02 + 0.03 * r() }))));
  m.set('latency_by_provider', ok(providers.flatMap((p, pi) => dates.map((d) => ({ provider: p, p95_latency_ms: 900 + pi * 400 + r() * 600 })))));
  const ws = workspaces.map((w, i) => ({ w, n: Math.round(4000 / (i + 1) + 50 * r()) }));
  m.set('leaderboard', ok(ws.slice(0, 12).map(({ w, n }) => ({ workspace_id: w, interactions: n }))));
  m.set('freshness', ok([{ minutes_since_last: 23 }]));
  m.set('active_teams', ok([{ teams: 4 }], { teams: 3 }));
  m.set('broken_tile', { ok: false, error: 'Catalog Error: Table with name <script>alert(1)</script> does not exist!\nDid you mean "analytics.ai_audit_daily"?' });
  m.set('activity_heatmap', ok(dates.slice(-7).flatMap((d) => ws.slice(0, 14).map(({ w, n }) => ({ date: d, workspace_id: w, interactions: Math.round((n / 7) * (0.5 + r())) })))));
  const rates = [0.012, 0.031, 0.072, 0.018, 0.124, 0.044, 0.05, 0.061, 0.009, 0.027];
  m.set('workspace_table', ok(ws.slice(0, 10).map(({ w, n }, i) => ({ workspace_id: w, team: teams[i % 4], interactions: BigInt(n), error_rate: rates[i], last_interaction_at: new Date(END + 13 * 3600_000 - i * 1_234_000) }))));
  m.set('recent_incidents', ok(Array.from({ length: 9 }, (_, i) => ({ date: dates[13 - i], capability: capabilities[(i * 3) % 8], deviation_state: i % 3 === 0 ? 'drop' : 'spike', interactions: 100 + i * 37 }))));
  m.set('new_capabilities_7d', ok([{ new_capabilities: 2 }]));
  m.set('spikes_24h', ok([{ spikes: 3 }], { spikes: 1 }));
  m.set('minutes_saved', ok([{ minutes: 2885 }]));
  m.set('blocked_prompts', ok([]));
  m.set('anomaly_states', ok(dates.flatMap((d, i) => [{ date: d, deviation_state: 'spike', capabilities: (i * 7) % 3 }, { date: d, deviation_state: 'drop', capabilities: (i * 5) % 2 }])));
  m.set('ratio_to_median', ok(dates.flatMap((d, i) => capabilities.slice(0, 5).map((c, ci) => ({ date: d, capability: c, ratio: ci === 1 && i === 10 ? 2.6 : ci === 3 && i === 6 ? 0.35 : 0.8 + 0.4 * r() })))));
  m.set('latency_bands', ok(capabilities.map((c, i) => ({ capability: c, p50: 400 + i * 90, p95: 1200 + i * 210, p99: 2100 + i * 340 }))));
  m.set('success_failure', ok(dates.map((d) => ({ date: d, successes: Math.round(1800 + 400 * r()), failures: Math.round(40 + 60 * r()) }))));
  m.set('prompt_vs_duration', ok(Array.from({ length: 400 }, (_, i) => {
    const len = Math.round(50 + 4000 * r() * r());
    return { provider: providers[i % 4], prompt_length: len, duration_ms: 300 + len * (0.4 + 0.2 * (i % 4)) + 400 * r() };
  })));
  return m;
}

const META = { generatedAt: '2026-03-14T13:00:00Z', target: 'dev (duckdb)', filters: { date_range: '7d' } };

/** The HTML of one tile, from its opening div to the next tile or the end of its section. */
function tileBlock(html: string, id: string): string {
  const m = new RegExp(`<div class="tile( narrow)?" data-tile="${id}"`).exec(html);
  if (!m) return '';
  const start = m.index;
  const rest = html.slice(start + 10);
  const ends = [rest.search(/<div class="tile( narrow)?" /), rest.indexOf('</section>')].filter((i) => i >= 0);
  return html.slice(start, start + 10 + Math.min(...ends));
}

// ---------------------------------------------------------------------------------------------

describe('formatting', () => {
  it('formats values by the field format', () => {
    expect(formatValue(0.053, 'percent')).toBe('5.3 %');
    expect(formatValue(1234.5, 'usd')).toBe('$1,234.50');
    expect(formatValue(-3, 'usd')).toBe('-$3.00');
    expect(formatValue(0.0047, 'usd')).toBe('$0.0047');
    expect(formatValue(0.25, 'usd')).toBe('$0.25');
    expect(formatValue(12345n, 'integer')).toBe('12,345');
    expect(formatValue('98765', 'integer')).toBe('98,765');
    expect(formatValue(1834.2, 'ms')).toBe('1,834 ms');
    expect(formatValue(42, 'minutes')).toBe('42 min');
    expect(formatValue(125, 'minutes')).toBe('2 h 5 min');
    expect(formatValue(2885, 'minutes')).toBe('2 d');
    expect(formatValue(new Date(Date.UTC(2026, 2, 5)), 'date')).toBe('2026-03-05');
    expect(formatValue(new Date(Date.UTC(2026, 2, 5, 14, 7)), 'text')).toBe('2026-03-05 14:07');
    expect(formatValue('2026-03-05', 'date')).toBe('2026-03-05');
    expect(formatValue(null, 'percent')).toBe('—');
    expect(formatValue(1234567.891)).toBe('1,234,568');
    expect(formatValue(3.14159)).toBe('3.14');
    expect(formatAxisValue(0.025, 'percent')).toBe('2.5 %');
    expect(formatAxisValue(1500, 'ms')).toBe('1.5 s');
    // ticks of a log axis up to 10 s keep one unit and their value (was: 1 ms read "0 s")
    expect([1, 5, 10, 100, 1000, 10_000].map((n) => formatAxisValue(n, 'ms', 10_000))).toEqual(['0.001 s', '0.005 s', '0.01 s', '0.1 s', '1 s', '10 s']);
    expect(formatAxisValue(0, 'ms', 10_000)).toBe('0 s');
    expect(formatAxisValue(12000, 'integer')).toBe('12k');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('renderDashboardHtml', () => {
  const d = fixtureDashboard();
  const data = fixtureData();
  const t0 = performance.now();
  const html = renderDashboardHtml(d, data, META);
  const renderMs = performance.now() - t0;
  const allTiles = d.tabs.flatMap((t) => t.tiles);

  it('covers every tile type in the fixture', () => {
    expect(new Set(allTiles.map((t) => t.tile.type))).toEqual(new Set(['kpi', 'line', 'area', 'bar', 'donut', 'heatmap', 'box', 'scatter', 'table', 'gauge']));
    console.log(`rendered ${allTiles.length} tiles on 3 tabs in ${renderMs.toFixed(0)} ms (first render, ECharts warm-up included); ${(html.length / 1024).toFixed(0)} KB`);
  });

  it('is a complete page with tabs as anchored sections and a tab bar', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('</html>');
    for (const t of d.tabs) {
      expect(html).toContain(`<section class="tab" id="tab-${t.name}"`);
      expect(html).toContain(`<a href="#tab-${t.name}">${t.title}</a>`);
    }
    expect(html).toContain('<span class="k">Date range</span>last 7 days');
    expect(html).toContain('<span class="k">Provider</span>All');
    expect(html).toContain('dev (duckdb)');
  });

  it('has every tile once, with its id and type, never empty', () => {
    for (const ct of allTiles) {
      expect(html.split(`data-tile="${ct.tile.id}"`).length - 1, ct.tile.id).toBe(1);
      const block = tileBlock(html, ct.tile.id);
      expect(block, ct.tile.id).toContain(`data-type="${ct.tile.type}"`);
      expect(block.replace(/<[^>]+>/g, '').trim().length, ct.tile.id).toBeGreaterThan(5);
    }
  });

  it('places tiles on the 12-column grid from their layout', () => {
    expect(tileBlock(html, 'volume_by_capability')).toContain('grid-column:1 / span 8;grid-row:3 / span 4');
    expect(tileBlock(html, 'provider_mix')).toContain('grid-column:9 / span 4;grid-row:3 / span 4');
  });

  it('draws charts as inline SVG and no script at all', () => {
    for (const ct of allTiles) {
      const block = tileBlock(html, ct.tile.id);
      const isChart = !['kpi', 'table'].includes(ct.tile.type) && ct.tile.id !== 'blocked_prompts';
      expect(block.includes('<svg'), ct.tile.id).toBe(isChart);
      if (isChart) expect((block.match(/<(path|rect|text|circle)\b/g) ?? []).length, ct.tile.id).toBeGreaterThan(10);
    }
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son[a-z]+=/i); // no event handlers
    expect(html).not.toContain('javascript:');
  });

  it("keeps the chart font in each label's style attribute (ECharts writes it unescaped: no double quote in it)", () => {
    const svg = html.slice(html.indexOf('<svg'));
    const styles = [...svg.matchAll(/<text\b[^>]*?\sstyle="([^"]*)"/g)].map((m) => m[1]);
    expect(styles.length).toBeGreaterThan(50);
    for (const st of styles) expect(st).toMatch(/font-family:Arial, 'Liberation Sans', Helvetica, sans-serif;(font-weight:bold;)?$/);
    // nothing after a cut attribute: every attribute of a label is name="value"
    for (const m of svg.matchAll(/<text\b([^>]*)>/g)) expect(m[1], m[0]).toMatch(/^(\s+[a-z:-]+="[^"]*")*\s*\/?$/);
  });

  it('keeps SVG ids distinct per tile and the output deterministic', () => {
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(html).not.toMatch(/zr\d+-/);
    const again = renderDashboardHtml(fixtureDashboard(), fixtureData(), META);
    expect(again).toBe(html);
    const later = renderDashboardHtml(fixtureDashboard(), fixtureData(), { ...META, generatedAt: '2026-03-15T00:00:00Z' });
    // only the time stamps differ: the header's and each tab's "as of"
    expect(later.split('2026-03-15T00:00:00Z').join(META.generatedAt).split(asOf('2026-03-15T00:00:00Z')).join(asOf(META.generatedAt))).toBe(html);
    expect(html.split(`as of <time datetime="${META.generatedAt}">${asOf(META.generatedAt)}</time>`).length - 1).toBe(fixtureDashboard().tabs.length);
  });

  it('accepts tiles drawn beforehand with renderTileHtml (e.g. while other queries run)', () => {
    const pre = new Map(allTiles.map((ct) => [ct.tile.id, renderTileHtml(d, ct, data.get(ct.tile.id))]));
    expect(renderDashboardHtml(d, new Map(), META, pre)).toBe(html);
  });

  it('formats KPI values and the change against the previous period', () => {
    const er = tileBlock(html, 'error_rate_24h');
    expect(er).toContain('5.3 %');
    expect(er).toContain('color:#D92D20'); // above its 5 % threshold
    expect(er).toMatch(/class="kpi-change bad">▲ 0\.6 pp/); // an error rate going up is bad; rates change by percentage points
    expect(er).toContain('vs 4.7 % previous period');
    expect(tileBlock(html, 'interactions_24h')).toMatch(/12,345[\s\S]*kpi-change good">▲ 12\.0 %/);
    expect(tileBlock(html, 'p95_latency_24h')).toMatch(/1,834 ms[\s\S]*kpi-change good">▼ 8\.8 %/);
    expect(tileBlock(html, 'cost_7d')).toContain('$1,234.50');
    expect(tileBlock(html, 'minutes_saved')).toContain('2 d');
  });

  it('escapes text from definitions and errors', () => {
    expect(html).toContain('Interactions &lt;b&gt;by&lt;/b&gt; provider');
    expect(html).not.toContain('<b>by</b>');
    const broken = tileBlock(html, 'broken_tile');
    expect(broken).toContain('class="error"');
    expect(broken).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(broken).toContain('Did you mean &quot;analytics.ai_audit_daily&quot;?');
  });

  it('says "No data" for a tile without rows', () => {
    const empty = tileBlock(html, 'blocked_prompts');
    expect(empty).toContain('No data');
    expect(empty).not.toContain('<svg');
  });

  it('formats table cells and colors the cells that match conditional formatting', () => {
    const table = tileBlock(html, 'workspace_table');
    const rows = [...table.slice(table.indexOf('<tbody>')).matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)].map((c) => ({ attrs: c[1], text: c[2] })));
    expect(rows.length).toBe(10);
    const rates = [0.012, 0.031, 0.072, 0.018, 0.124, 0.044, 0.05, 0.061, 0.009, 0.027];
    rows.forEach((cells, i) => {
      expect(cells[3].text).toBe(`${(rates[i] * 100).toFixed(1)} %`);
      const want = rates[i] > 0.1 ? '#D92D20' : rates[i] > 0.05 ? '#FEE4E2' : undefined;
      if (want) expect(cells[3].attrs, `row ${i}`).toContain(`data-cf="${want}"`);
      else expect(cells[3].attrs, `row ${i}`).not.toContain('data-cf');
      for (const c of [0, 1, 2, 4]) expect(cells[c].attrs).not.toContain('data-cf');
    });
    expect(rows[2][3].attrs).toContain('background-color:#FEE4E2');
    expect(rows[0][2].text).toMatch(/^\d{1,3}(,\d{3})*$/);
    expect(rows[0][4].text).toBe('2026-03-14 13:00'); // a timestamp, not Date.toString()
    expect(rows[0][5].text).toBe('<a href="/workspaces/ws_01">Open</a>');
    const incidents = tileBlock(html, 'recent_incidents');
    expect(incidents).toContain('href="https://example.com/runbooks#volume-spike"');
    expect(incidents).toContain('<td>2026-03-14</td>');
  });

  it('links a drill-down title to the target tab, noting the filter columns', () => {
    const block = tileBlock(html, 'volume_by_capability');
    expect(block).toContain('<h3 title="');
    expect(block).toMatch(/<h3[^>]*><a href="#tab-capability">Daily interactions by capability<\/a><\/h3>/);
    expect(block).toContain('Drill-down: <a href="#tab-capability">Capabilities</a> by capability');
  });

  it('draws the target band, thresholds, legends and explains the box', () => {
    const trend = tileBlock(html, 'error_rate_trend');
    expect(trend).toContain('>target<');
    expect(trend).toContain('page (8 %)');
    expect(tileBlock(html, 'volume_by_capability')).toContain('>code_review<');
    expect(tileBlock(html, 'latency_bands')).toContain('box p50 to p95, line p50, whiskers p50 to p99');
    expect(tileBlock(html, 'latency_by_provider')).toContain('box p25 to p75');
    expect(tileBlock(html, 'freshness')).toContain('23 min');
  });
});

describe('edge cases', () => {
  /** A one-tile dashboard around the given tile definition. */
  function one(tile: Record<string, unknown>, rows: Array<Record<string, unknown>> | undefined, extra: Record<string, unknown> = {}, previous?: Record<string, unknown>) {
    const def = { ...definition, tabs: [{ name: 't', title: 'T', tiles: [{ id: 'x', title: 'X', model: 'm', layout: L(0, 0, 6, 4), ...tile }] }], ...extra };
    const dashboard = DashboardSchema.parse(def);
    const t = dashboard.tabs[0].tiles[0];
    const d: CompiledDashboard = { dashboard, file: 'f.json', tabs: [{ name: 't', title: 'T', tiles: [{ tile: t as ResolvedTile, tab: 't', model: 'm', relation: 'm', fields: fieldsOf(t), sql: '', sqlUnfiltered: '', appliesFilters: [] }] }], models: ['m'], dialect: 'duckdb', project: 'p' };
    const data = new Map<string, TileData>(rows ? [['x', { ok: true, rows, previous, seconds: 0 }]] : []);
    return tileBlock(renderDashboardHtml(d, data, META), 'x');
  }
  const sum = (column: string, format?: string) => ({ name: column, column, agg: 'sum', label: column, format });

  it('a tile that was not queried says so', () => {
    expect(one({ type: 'line', dimensions: [{ column: 'day' }], measures: [sum('n')] }, undefined)).toContain('No data (the tile was not queried)');
  });

  it('a chart whose rows have no value (NULL throughout) says so, as an empty result does (was: empty axes)', () => {
    const rows = [1, 2, 3].map((i) => ({ day: `2026-03-0${i}`, n: null, m: i }));
    const none = one({ type: 'line', dimensions: [{ column: 'day' }], measures: [sum('n')] }, rows);
    expect(none).toContain('No values: n NULL in every row');
    expect(none).not.toContain('<svg');
    const some = one({ type: 'line', dimensions: [{ column: 'day' }], measures: [sum('n'), sum('m')] }, rows);
    expect(some).toContain('<svg');
    expect(some).toContain('<span class="note">no values for n (NULL in every row)</span>');
  });

  it('a KPI whose value is null shows a dash', () => {
    expect(one({ type: 'kpi', measures: [sum('n', 'integer')] }, [{ n: null }])).toContain('>—<');
  });

  it('folds series beyond ten into "Other" when they add up, else keeps the ten largest', () => {
    const rows = Array.from({ length: 15 }, (_, i) => ({ day: '2026-03-01', cap: `c${i}`, n: 100 - i }));
    const area = one({ type: 'area', stacked: true, dimensions: [{ column: 'day', role: 'x' }, { column: 'cap', role: 'series' }], measures: [sum('n')] }, rows);
    expect(area).toContain('“Other” sums 6 smaller series');
    expect(area).toContain('>Other<');
    const avg = one({ type: 'line', dimensions: [{ column: 'day', role: 'x' }, { column: 'cap', role: 'series' }], measures: [{ name: 'n', column: 'n', agg: 'avg' }] }, rows);
    expect(avg).toContain('showing the 10 largest of 15 series');
  });

  it('folds donut slices beyond eight into "Other"', () => {
    const rows = Array.from({ length: 12 }, (_, i) => ({ p: `p${i}`, n: 100 - i }));
    expect(one({ type: 'donut', dimensions: [{ column: 'p' }], measures: [sum('n')] }, rows)).toContain('“Other” sums 5 smaller slices');
  });

  it('puts a second format on a second axis', () => {
    const rows = [1, 2, 3].map((i) => ({ day: `2026-03-0${i}`, n: i * 1000, r: i / 100 }));
    const block = one({ type: 'line', dimensions: [{ column: 'day', role: 'x' }], measures: [sum('n', 'integer'), { name: 'r', column: 'r', agg: 'avg', format: 'percent' }] }, rows);
    expect(block).toContain('>3 %<');
    expect(block).toContain('>3k<');
  });

  it('colors a gauge by thresholds as lines, or as bands when the last one closes the scale', () => {
    const m = [{ name: 'age', column: 'ts', agg: 'age_minutes', format: 'minutes' }];
    const lines = one({ type: 'gauge', measures: m, max: 120, thresholds: [{ value: 15, color: '#F79009' }, { value: 60, color: '#D92D20' }] }, [{ age: 23 }]);
    expect(lines).toMatch(/fill="#F79009"[^>]*>23 min</);
    const bands = one({ type: 'gauge', measures: m, max: 120, thresholds: [{ value: 15, color: '#12B76A' }, { value: 60, color: '#F79009' }, { value: 120, color: '#D92D20' }] }, [{ age: 23 }]);
    expect(bands).toMatch(/fill="#F79009"[^>]*>23 min</);
    const fresh = one({ type: 'gauge', measures: m, max: 120, thresholds: [{ value: 15, color: '#12B76A' }, { value: 60, color: '#F79009' }, { value: 120, color: '#D92D20' }] }, [{ age: 3 }]);
    expect(fresh).toMatch(/fill="#12B76A"[^>]*>3 min</);
  });

  it('links a drill-down into another dashboard to its page', () => {
    const block = one({ type: 'kpi', measures: [sum('n')], drilldown: { dashboard: 'workspace', tab: 'workspace', filters: {} } }, [{ n: 1 }]);
    expect(block).toContain('<a href="workspace.html#tab-workspace">X</a>');
  });

  it('bands shade between consecutive lines in the upper one\'s color, outside the legend', () => {
    const rows = [1, 2, 3].map((i) => ({ day: `2026-03-0${i}`, p50: 100 * i, p90: 300 * i, p99: 900 * i }));
    const pct = (n: string) => ({ name: n, column: 'ms', agg: n, label: n.toUpperCase(), format: 'ms' });
    const tile = { type: 'line', dimensions: [{ column: 'day', role: 'x' }], measures: [pct('p50'), pct('p90'), pct('p99')] };
    const banded = one({ ...tile, bands: true }, rows);
    const plain = one(tile, rows);
    expect(plain).not.toContain('fill-opacity="0.16"');
    // two bands: P50–P90 in P90's color, P90–P99 in P99's
    expect(banded.match(/fill-opacity="0\.16"/g)).toHaveLength(2);
    expect(banded).toMatch(/fill="#f28e2b" fill-opacity="0\.16"|fill-opacity="0\.16"[^>]*fill="#f28e2b"/);
    expect(banded).toMatch(/fill="#59a14f" fill-opacity="0\.16"|fill-opacity="0\.16"[^>]*fill="#59a14f"/);
    // the legend lists the three lines only
    expect(banded.match(/>P\d\d</g)).toEqual(['>P50<', '>P90<', '>P99<']);
  });

  it('a tile\'s colors fix a category\'s color (success green, error red) over the stable one', () => {
    const rows = ['success', 'error'].map((status, i) => ({ cap: 'chat', status, n: 100 - 90 * i }));
    const block = one({ type: 'bar', stacked: true, dimensions: [{ column: 'cap', role: 'x' }, { column: 'status', role: 'series' }], measures: [sum('n')], colors: { success: '#59a14f', error: '#e15759' } }, rows);
    expect(block).toMatch(/fill="#59a14f"/);
    expect(block).toMatch(/fill="#e15759"/);
    const stable = stableColors(['success', 'error']);
    expect([stable.get('success'), stable.get('error')]).not.toEqual(['#59a14f', '#e15759']);
  });

  it('a scatter on log axes spans decades and says which points it left out', () => {
    const rows = [0, 10, 100, 1000, 10_000].map((n, i) => ({ chars: n, ms: 10 ** i }));
    const m = [{ column: 'chars', agg: 'none', format: 'integer' }, { column: 'ms', agg: 'none', format: 'ms' }];
    const log = one({ type: 'scatter', measures: m, scale: { x: 'log', y: 'log' } }, rows);
    expect(log).toContain('1 point at or below 0 left out (log scale)');
    for (const label of ['>10<', '>100<', '>1k<', '>10k<']) expect(log).toContain(label);
    expect(one({ type: 'scatter', measures: m }, rows)).not.toContain('left out');
  });

  it('a scatter draws its target band and thresholds on the y axis, which reaches them (as the Looker export does)', () => {
    const rows = [1, 2, 3].map((i) => ({ chars: 100 * i, ms: 10 * i }));
    const m = [{ column: 'chars', agg: 'none', format: 'integer' }, { column: 'ms', agg: 'none', format: 'integer' }];
    const plain = one({ type: 'scatter', measures: m }, rows);
    const marked = one({ type: 'scatter', measures: m, target_band: { min: 0, max: 20, label: 'fast' }, thresholds: [{ value: 80, color: '#e15759', label: 'slow' }] }, rows);
    expect(plain).not.toContain('>fast<');
    expect(marked).toContain('>fast<');
    expect(marked).toMatch(/>slow \(80\)</);
    expect(marked).toMatch(/stroke="#e15759"/);
    // the y axis goes up to the threshold, far above the data (30)
    expect(marked).toContain('>80<');
    expect(plain).not.toContain('>80<');
    // on a log axis a threshold at or below 0 has no place: said, as points there are
    const log = one({ type: 'scatter', measures: m, scale: { y: 'log' }, thresholds: [{ value: 0, color: '#e15759' }, { value: 80, color: '#e15759' }] }, rows);
    expect(log).toContain('1 threshold or band at or below 0 not drawn (log scale)');
    // the axis still reaches the one above the points, on a nice number; the one at 0 is not drawn
    expect(log).toContain('>80<');
    expect(log.match(/stroke="#e15759"/g)?.length).toBe(marked.match(/stroke="#e15759"/g)?.length);
  });

  it("a change is good or bad by the measure's `better`, never by its name; without it, neutral (was: a guess from the name)", () => {
    const kpi = (name: string, better?: string, now = 0.96) => one({ type: 'kpi', measures: [{ name, column: name, agg: 'avg', format: 'percent', ...(better ? { better } : {}) }] }, [{ [name]: now }], {}, { [name]: 0.95 });
    expect(kpi('coverage', 'higher')).toContain('kpi-change good">▲ 1.0 pp');
    expect(kpi('coverage', 'higher', 0.94)).toContain('kpi-change bad">▼ 1.0 pp');
    expect(kpi('red_rate', 'lower')).toContain('kpi-change bad">▲');
    expect(kpi('missing_snapshots', 'lower', 0.9)).toContain('kpi-change good">▼');
    // names the old guess read as bad (error, spend) or good news: no verdict without `better`
    for (const name of ['error_rate', 'spend', 'tokens', 'red_rate']) {
      expect(kpi(name), name).toContain('kpi-change neutral">▲ 1.0 pp');
      expect(kpi(name, undefined, 0.9), name).toContain('kpi-change neutral">▼');
    }
  });

  it("a heatmap's scale is warm where lower is better, else the neutral blue (was: a guess from the name)", () => {
    const rows = ['a', 'b'].flatMap((x) => ['p', 'q'].map((y, i) => ({ x, y, risk: i + 1 })));
    const heat = (better?: string) => one({ type: 'heatmap', dimensions: [{ column: 'x', role: 'x' }, { column: 'y', role: 'y' }], measures: [{ name: 'risk', column: 'risk', agg: 'sum', ...(better ? { better } : {}) }] }, rows);
    // the largest cell in the scale's darkest color: dark orange (#a63603), or dark blue (#08519c)
    expect(heat('lower')).toContain('fill="rgb(166,54,3)"');
    expect(heat()).not.toContain('fill="rgb(166,54,3)"');
    expect(heat()).toContain('fill="rgb(8,81,156)"');
    expect(heat('higher')).toContain('fill="rgb(8,81,156)"');
  });

  it('heatmap cells show their values at one precision: exact with separators, or all in one compact unit (was: "1k" beside "818")', () => {
    const texts = (html: string) => [...html.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    const heat = (columns: number, values: number[]) => one({ type: 'heatmap', layout: L(0, 0, 12, 4), dimensions: [{ column: 'x', role: 'x' }, { column: 'y', role: 'y' }], measures: [{ name: 'n', column: 'n', agg: 'sum', format: 'integer' }] }, values.map((n, i) => ({ x: `d${String(i % columns).padStart(2, '0')}`, y: `w${Math.floor(i / columns)}`, n })));
    const wide = texts(heat(3, [818, 1000, 1204, 57, 12345, 3]));
    expect(wide).toEqual(expect.arrayContaining(['818', '1,000', '1,204', '57', '12,345', '3']));
    expect(wide).not.toContain('1k');
    expect(wide).not.toContain('1.2k');
    // 30 days: cells too narrow for "12,345", every cell in thousands
    const narrow = texts(heat(30, [818, 1000, 1204, 57, 12345, 3, ...Array<number>(54).fill(500)]));
    expect(narrow).toEqual(expect.arrayContaining(['0.8k', '1k', '1.2k', '0.1k', '12.3k', '0k']));
    expect(narrow).not.toContain('818');
  });

  it('drops colors and links that could inject CSS or script', () => {
    const block = one({ type: 'table', dimensions: [{ column: 'a' }], measures: [sum('n')], conditional_formatting: [{ field: 'n', op: '>', value: 0, color: 'red;background:url(x)' }], links: [{ label: 'L', url: 'javascript:alert({{a}})' }] }, [{ a: 'x', n: 1 }]);
    expect(block).not.toContain('data-cf');
    expect(block).not.toContain('javascript:');
    expect(block).not.toContain('href=');
  });
});

// ---------------------------------------------------------------------------------------------

const chromium = findChromium();
if (!chromium) console.warn('render.test.ts: browser tests skipped: no Chromium at /usr/bin/chromium, /usr/bin/chromium-browser or $VIGIL_CHROMIUM');

describe.skipIf(!chromium)('in headless Chromium', () => {
  let dir: string;
  let htmlFile: string;
  const keep = process.env.VIGIL_RENDER_OUT;
  const d = fixtureDashboard();

  beforeAll(() => {
    dir = keep ?? mkdtempSync(join(tmpdir(), 'vigil-render-'));
    mkdirSync(dir, { recursive: true });
    htmlFile = join(dir, 'fixture.html');
    writeFileSync(htmlFile, renderDashboardHtml(d, fixtureData(), META));
  });
  afterAll(() => {
    if (!keep && dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows every tile with a size and content, and no console errors', async () => {
    const browser = await sharedBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1328, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`file://${htmlFile}`);
      for (const ct of d.tabs.flatMap((t) => t.tiles)) {
        const tile = page.locator(`[data-tile="${ct.tile.id}"]`);
        await expect(tile.count()).resolves.toBe(1);
        expect(await tile.isVisible(), ct.tile.id).toBe(true);
        const box = await tile.boundingBox();
        expect(box!.width, ct.tile.id).toBeGreaterThan(100);
        expect(box!.height, ct.tile.id).toBeGreaterThan(90);
        expect((await tile.innerText()).trim().length, ct.tile.id).toBeGreaterThan(3);
        const svg = tile.locator('svg');
        if ((await svg.count()) > 0) {
          const sb = await svg.first().boundingBox();
          expect(sb!.height, ct.tile.id).toBeGreaterThan(60);
          // the chart fits in its tile
          expect(sb!.y + sb!.height, ct.tile.id).toBeLessThanOrEqual(box!.y + box!.height + 0.5);
        }
      }
      // a tab link scrolls to its section
      await page.click('nav.tabbar a[href="#tab-capability"]');
      await expect(page.evaluate(() => location.hash)).resolves.toBe('#tab-capability');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('a table with long values wraps them: every column and the row links stay within the tile at 1280 px (was: pushed out of it)', async () => {
    const data = fixtureData();
    const rows = (data.get('recent_incidents') as Extract<TileData, { ok: true }>).rows;
    rows[0].capability = 'document_summarization_for_regulatory_filings_and_quarterly_reports_v2';
    rows[1].deviation_state = 'spike against the median of the 14 preceding days, and beyond 2σ of the 7 preceding days, on a day that was not over yet';
    const file = join(dir, 'long-values.html');
    writeFileSync(file, renderDashboardHtml(d, data, META));
    const browser = await sharedBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1328, height: 900 } });
      await page.goto(`file://${file}`);
      const out = await page.locator('[data-tile="recent_incidents"]').evaluate((tile) => {
        const t = tile.getBoundingClientRect();
        const wrap = tile.querySelector('.table-wrap')!;
        const cells = [...tile.querySelectorAll('th, td')].filter((c) => c.getBoundingClientRect().right > t.right - 1).map((c) => c.textContent);
        const links = [...tile.querySelectorAll('td.links a')].filter((a) => a.getBoundingClientRect().right > t.right - 1 || a.getBoundingClientRect().width === 0).map((a) => a.textContent);
        return { cells, links, scrolls: wrap.scrollWidth > wrap.clientWidth + 1, texts: [...tile.querySelectorAll('td')].map((c) => c.textContent) };
      });
      expect(out.cells).toEqual([]);
      expect(out.links).toEqual([]);
      expect(out.scrolls).toBe(false);
      // the whole value shown
      expect(out.texts).toContain('document_summarization_for_regulatory_filings_and_quarterly_reports_v2');
    } finally {
      await browser.close();
    }
  });

  it('legends of long names stay within their tile, and under a donut clear of its ring (was: run past both edges, and over the ring)', async () => {
    const data = fixtureData();
    const long = ['document_summarization_for_regulatory_filings_and_quarterly_reports_v2', 'contract_clause_extraction_and_review', 'meeting_notes', 'translation_of_customer_support_tickets', 'code_review', 'search', 'classification_of_inbound_email_by_department'];
    (data as Map<string, TileData>).set('provider_mix', { ok: true, seconds: 0, rows: long.map((provider, i) => ({ provider, interactions: 900 - i * 100 })) });
    const ratios = (data.get('ratio_to_median') as Extract<TileData, { ok: true }>).rows;
    const caps = [...new Set(ratios.map((r) => String(r.capability)))];
    // (a series name longer than the 6-column tile is wide: a path of names, say)
    for (const r of ratios) r.capability = `${long[caps.indexOf(String(r.capability))]}/${long[0]}`;
    const file = join(dir, 'long-legends.html');
    writeFileSync(file, renderDashboardHtml(d, data, META));
    const browser = await sharedBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1328, height: 900 } });
      await page.goto(`file://${file}`);
      const found: Record<string, { outside: string[]; over: string[] }> = {};
      for (const id of ['provider_mix', 'ratio_to_median']) {
        const out = await page.locator(`[data-tile="${id}"]`).evaluate((tile) => {
          const t = tile.getBoundingClientRect();
          const texts = [...tile.querySelectorAll('svg text')].map((e) => ({ text: e.textContent ?? '', r: e.getBoundingClientRect() })).filter((x) => x.r.width > 0);
          const outside = texts.filter((x) => x.r.left < t.left - 1 || x.r.right > t.right + 1).map((x) => x.text);
          // the ring: the union of the slices' boxes; a legend text crossing it lies over the ring
          const slices = [...tile.querySelectorAll('path[ecmeta_ssr_type="chart"]')].map((e) => e.getBoundingClientRect());
          const ring = slices.length ? { top: Math.min(...slices.map((r) => r.top)), bottom: Math.max(...slices.map((r) => r.bottom)), left: Math.min(...slices.map((r) => r.left)), right: Math.max(...slices.map((r) => r.right)) } : undefined;
          const inside = (r: DOMRect) => ring && r.top >= ring.top && r.bottom <= ring.bottom && r.left >= ring.left && r.right <= ring.right;
          const crosses = (r: DOMRect) => ring && r.bottom > ring.top + 1 && r.top < ring.bottom - 1 && r.right > ring.left + 1 && r.left < ring.right - 1;
          const over = ring ? texts.filter((x) => !inside(x.r) && crosses(x.r)).map((x) => x.text) : [];
          return { outside, over, n: texts.length };
        });
        expect(out.n, id).toBeGreaterThan(5);
        found[id] = { outside: out.outside, over: out.over };
      }
      // (text past the tile's edges is cut there, with its color and share; over the ring it hides slices)
      expect(found).toEqual({ provider_mix: { outside: [], over: [] }, ratio_to_median: { outside: [], over: [] } });
    } finally {
      await browser.close();
    }
  });

  it('takes one readable screenshot per tab', async () => {
    const out = join(dir, 'png');
    const t0 = performance.now();
    const shots = await screenshotTabs(htmlFile, out, { executablePath: chromium });
    console.log(`screenshots of ${shots.length} tabs in ${(performance.now() - t0).toFixed(0)} ms: ${shots.map((s) => `${s.tab} ${(s.bytes / 1024).toFixed(0)} KB`).join(', ')}`);
    expect(shots.map((s) => s.tab)).toEqual(['overview', 'workspace', 'capability']);
    // named after the tabs' titles
    expect(shots.map((s) => s.file.replace(/.*\//, ''))).toEqual(['Overview.png', 'Workspaces.png', 'Capabilities.png']);
    for (const s of shots) expect(s.bytes, s.tab).toBeGreaterThan(5 * 1024);

    // not blank: decode each PNG in the browser and count its colors
    const browser = await sharedBrowser();
    try {
      const page = await browser.newPage();
      for (const s of shots) {
        const stats = await pngStats(page, s.file);
        expect(stats.w, s.tab).toBeGreaterThan(1000);
        expect(stats.h, s.tab).toBeGreaterThan(400);
        expect(stats.colors, s.tab).toBeGreaterThan(10);
      }
    } finally {
      await browser.close();
    }
  });
});

describe.skipIf(!chromium)('render --png: one tab for every page of a render', () => {
  it("pages shot one after another in the same tab: each page's pictures, names and browser errors are its own", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-shots-'));
    try {
      const page = (dashboard: string, tabs: Array<[string, string, string]>, script = '') =>
        `<!doctype html><html><head><style>section{height:300px;width:600px}</style></head><body data-dashboard="${dashboard}">${tabs.map(([id, title, color]) => `<section id="tab-${id}" data-title="${title}" style="background:${color}">${title}</section>`).join('')}${script}</body></html>`;
      writeFileSync(join(dir, 'a.html'), page('a', [['one', 'Overview', 'rgb(200, 30, 30)'], ['two', 'Details', 'rgb(30, 30, 200)']]));
      writeFileSync(join(dir, 'b.html'), page('b', [['one', 'Overview', 'rgb(30, 200, 30)']], '<script>console.error("b is broken")</script>'));
      writeFileSync(join(dir, 'c.html'), page('c', [['only', 'Summary', 'rgb(240, 240, 30)']]));
      const browser = await launchScreenshotBrowser(chromium);
      const session = await openScreenshotSession(browser);
      const { names } = pngNames([
        { name: 'a', tabs: [{ name: 'one', title: 'Overview' }, { name: 'two', title: 'Details' }] },
        { name: 'b', tabs: [{ name: 'one', title: 'Overview' }] },
        { name: 'c', tabs: [{ name: 'only', title: 'Summary' }] },
      ]);
      const out = join(dir, 'png');
      try {
        const a = await session.shoot(join(dir, 'a.html'), out, names.get('a'));
        expect(a.map((s) => s.file.replace(/.*\//, ''))).toEqual(['a-Overview.png', 'Details.png']);
        // the second page's console error is reported for it, its picture written, its name told apart from a's
        const b = await session.shoot(join(dir, 'b.html'), out, names.get('b')).then(() => undefined, (e: unknown) => e);
        expect(b).toBeInstanceOf(ScreenshotError);
        expect((b as ScreenshotError).message).toContain('b.html: 1 error(s) in the browser:\nconsole: b is broken');
        expect((b as ScreenshotError).shots.map((s) => s.file.replace(/.*\//, ''))).toEqual(['b-Overview.png']);
        // and not carried to the next page (named by its own tabs without names)
        const c = await session.shoot(join(dir, 'c.html'), out);
        expect(c.map((s) => s.tab)).toEqual(['only']);
      } finally {
        await session.close();
        await browser.close();
      }
      // each picture shows its own page's section, not the page shot before it in the same tab
      const viewer = await sharedBrowser();
      try {
        const p = await viewer.newPage();
        const colours = { 'a-Overview.png': [200, 30, 30], 'Details.png': [30, 30, 200], 'b-Overview.png': [30, 200, 30], 'Summary.png': [240, 240, 30] } as const;
        for (const [file, rgb] of Object.entries(colours)) expect((await pngStats(p, join(out, file), [-5, -5])).rgb, file).toEqual(rgb);
      } finally {
        await viewer.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!chromium)('render --png: a tab title two dashboards share', () => {
  it("each picture has the same name whatever else is rendered: the dashboard's name in front of both, with a note (was: the first in name order took Overview.png)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-png-names-'));
    try {
      expect(vigil(dir, ['init', 'p']).code).toBe(0);
      const project = join(dir, 'p');
      expect(vigil(project, ['build']).code).toBe(0);
      // a second dashboard with a tab titled "Overview", before `events` in name order
      const events = JSON.parse(readFileSync(join(project, 'dashboards/events.json'), 'utf8'));
      expect(events.tabs.map((t: { title: string }) => t.title)).toEqual(['Overview']);
      writeFileSync(join(project, 'dashboards/aaa.json'), JSON.stringify({ ...events, name: 'aaa', title: 'AAA' }, null, 2));
      // (a fresh HOME: Chromium wrote its crash-report settings and GTK its dconf cache into ~/.config and ~/.cache)
      const home = join(dir, 'home');
      mkdirSync(home);
      const alone = vigil(project, ['dashboards', 'render', '--out', 'site', '-s', 'events', '--png-dir', 'one'], { HOME: home });
      expect(alone.code, alone.stderr).toBe(0);
      expect(readdirSync(join(project, 'one'))).toEqual(['events-Overview.png']);
      expect(readdirSync(home, { recursive: true })).toEqual([]);
      expect(alone.stdout).toContain("note: Overview.png would name 2 tabs of the project (aaa.overview, events.overview): each picture has its dashboard's name in front (events-Overview.png)");
      const both = vigil(project, ['dashboards', 'render', '--out', 'site', '--png-dir', 'both']);
      expect(both.code, both.stderr).toBe(0);
      expect(readdirSync(join(project, 'both')).sort()).toEqual(['aaa-Overview.png', 'events-Overview.png']);
      // the title alone again once no other tab has it
      rmSync(join(project, 'dashboards/aaa.json'));
      const back = vigil(project, ['dashboards', 'render', '--out', 'site', '--png-dir', 'back']);
      expect(readdirSync(join(project, 'back'))).toEqual(['Overview.png']);
      expect(back.stdout).not.toContain('note:');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!chromium)('render --png: a tab renamed', () => {
  it("the picture of its old name, as the last render wrote it, is removed, saying so; one changed since, or another file, is kept (was: the old PNG stayed beside the new one)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-png-stale-'));
    try {
      expect(vigil(dir, ['init', 'p']).code).toBe(0);
      const project = join(dir, 'p');
      expect(vigil(project, ['build']).code).toBe(0);
      const first = vigil(project, ['dashboards', 'render', '--out', 'site', '--png-dir', 'pics']);
      expect(first.code, first.stderr).toBe(0);
      expect(readdirSync(join(project, 'pics'))).toEqual(['Overview.png']);
      writeFileSync(join(project, 'pics/mine.png'), 'not a picture of vigil');
      const rename = (title: string) => {
        const events = JSON.parse(readFileSync(join(project, 'dashboards/events.json'), 'utf8'));
        events.tabs[0].title = title;
        writeFileSync(join(project, 'dashboards/events.json'), JSON.stringify(events, null, 2));
      };
      rename('Summary');
      const second = vigil(project, ['dashboards', 'render', '--out', 'site', '--png-dir', 'pics']);
      expect(second.code, second.stderr).toBe(0);
      expect(readdirSync(join(project, 'pics')).sort()).toEqual(['Summary.png', 'mine.png']);
      expect(second.stdout).toContain('removed pics/Overview.png (no tab of the project is named so any more: renamed or removed)');
      // a picture edited since (not the one written) is not removed
      writeFileSync(join(project, 'pics/Summary.png'), 'edited');
      rename('Totals');
      const third = vigil(project, ['dashboards', 'render', '--out', 'site', '--png-dir', 'pics']);
      expect(third.code, third.stderr).toBe(0);
      expect(readdirSync(join(project, 'pics')).sort()).toEqual(['Summary.png', 'Totals.png', 'mine.png']);
      expect(third.stdout).not.toContain('removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!chromium)("render --png: the user's fontconfig", () => {
  const FONTS_CONF = '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><alias binding="same"><family>Vigil Test Face</family><prefer><family>DejaVu Sans Mono</family></prefer></alias></fontconfig>\n';
  it("a fonts.conf alias of the user's applies to the pictures (was: Chromium's XDG_CONFIG_HOME moved to a scratch folder took fontconfig's with it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-fontconfig-'));
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
    try {
      // ~/.config/fontconfig/fonts.conf, XDG_CONFIG_HOME unset: fontconfig's default place
      const home = join(dir, 'home');
      mkdirSync(join(home, '.config/fontconfig'), { recursive: true });
      writeFileSync(join(home, '.config/fontconfig/fonts.conf'), FONTS_CONF);
      process.env.HOME = home;
      delete process.env.XDG_CONFIG_HOME;
      delete process.env.XDG_CACHE_HOME;
      const browser = await launchScreenshotBrowser(chromium);
      try {
        const page = await browser.newPage({ viewport: { width: 360, height: 60 } });
        const shot = async (family: string) => {
          await page.setContent(`<body style="margin:0;background:#fff"><div style="font: 36px '${family}'">Wig 0Oil1</div></body>`);
          return page.screenshot();
        };
        const aliased = await shot('Vigil Test Face');
        // the alias's font, not the fallback of a family fontconfig does not know
        expect(aliased.equals(await shot('DejaVu Sans Mono'))).toBe(true);
        expect(aliased.equals(await shot('No Such Face'))).toBe(false);
      } finally {
        await browser.close();
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("chromiumScratch: Chromium's XDG folders", () => {
  it("links fontconfig's config and cache to the user's (XDG_* or ~/.config, ~/.cache), writes nothing into HOME, and removes scratch folders a killed render left (a day old, their process gone)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-scratch-'));
    try {
      const tmp = join(dir, 'tmp');
      mkdirSync(tmp);
      // the defaults under HOME
      const home = join(dir, 'home');
      mkdirSync(join(home, '.config/fontconfig'), { recursive: true });
      mkdirSync(join(home, '.cache/fontconfig'), { recursive: true });
      const a = chromiumScratch({ HOME: home, PATH: process.env.PATH }, tmp);
      expect(a.env.XDG_CONFIG_HOME).toBe(join(a.scratch, 'config'));
      expect(a.env.XDG_CACHE_HOME).toBe(join(a.scratch, 'cache'));
      expect(realpathSync(join(a.env.XDG_CONFIG_HOME, 'fontconfig'))).toBe(realpathSync(join(home, '.config/fontconfig')));
      expect(realpathSync(join(a.env.XDG_CACHE_HOME, 'fontconfig'))).toBe(realpathSync(join(home, '.cache/fontconfig')));
      // fontconfig itself reads the user's fonts.conf through it
      writeFileSync(join(home, '.config/fontconfig/fonts.conf'), '<?xml version="1.0"?>\n<fontconfig><alias binding="same"><family>Vigil Test Face</family><prefer><family>DejaVu Sans Mono</family></prefer></alias></fontconfig>\n');
      const fcMatch = spawnSync('fc-match', ['-f', '%{family[0]}', 'Vigil Test Face'], { env: a.env, encoding: 'utf8' });
      if (fcMatch.status === 0) expect(fcMatch.stdout).toBe('DejaVu Sans Mono');
      // XDG_CONFIG_HOME / XDG_CACHE_HOME set: theirs; none there: no link, HOME left alone
      const xdg = join(dir, 'xdg');
      mkdirSync(join(xdg, 'config/fontconfig'), { recursive: true });
      const bare = join(dir, 'bare');
      mkdirSync(bare);
      const b = chromiumScratch({ HOME: bare, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_CACHE_HOME: join(xdg, 'cache') }, tmp);
      expect(realpathSync(join(b.env.XDG_CONFIG_HOME, 'fontconfig'))).toBe(realpathSync(join(xdg, 'config/fontconfig')));
      expect(existsSync(join(b.env.XDG_CACHE_HOME, 'fontconfig'))).toBe(false);
      expect(readdirSync(bare)).toEqual([]);
      // scratch folders a render killed with -9 left: removed a day on, when their process is gone
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      const old = (Date.now() - 2 * 24 * 3600 * 1000) / 1000;
      const left: Record<string, string | undefined> = { 'vigil-chromium-killed': String(dead), 'vigil-chromium-noowner': undefined, 'vigil-chromium-running': String(process.pid), 'other-old': String(dead) };
      for (const [name, owner] of Object.entries(left)) {
        mkdirSync(join(tmp, name, 'config/chromium'), { recursive: true });
        if (owner !== undefined) writeFileSync(join(tmp, name, 'owner.pid'), owner);
        utimesSync(join(tmp, name), old, old);
      }
      const c = chromiumScratch({ HOME: bare }, tmp);
      expect(readdirSync(tmp).sort()).toEqual([a.scratch, b.scratch, c.scratch, join(tmp, 'other-old'), join(tmp, 'vigil-chromium-running')].map((p) => p.slice(tmp.length + 1)).sort());
      // (a fresh one whose process is gone is not touched: launched a moment ago, by a process that ended)
      expect(readFileSync(join(c.scratch, 'owner.pid'), 'utf8')).toBe(String(process.pid));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('findChromium: VIGIL_CHROMIUM', () => {
  it('set to what is not an executable file: an error naming it (was: passed over for /usr/bin/chromium without a word)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
    try {
      const plain = join(dir, 'chromium.txt');
      writeFileSync(plain, 'not a browser', { mode: 0o644 });
      const exe = join(dir, 'chrome');
      writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
      for (const [path, why] of [[join(dir, 'nope'), 'there is no such file'], [dir, 'it is not a file'], [plain, 'it is not executable']]) {
        expect(() => findChromium({ VIGIL_CHROMIUM: path })).toThrow(`VIGIL_CHROMIUM=${path}: ${why}`);
      }
      expect(findChromium({ VIGIL_CHROMIUM: exe })).toBe(exe);
      // the CLI: exit 2, before any query, nothing rendered
      const project = join(dir, 'p');
      expect(vigil(dir, ['init', 'p']).code).toBe(0);
      const r = vigil(project, ['dashboards', 'render', '--png', '--out', 'site'], { VIGIL_CHROMIUM: join(dir, 'nope') });
      expect([r.code, r.stderr.trim()]).toEqual([2, `error: VIGIL_CHROMIUM=${join(dir, 'nope')}: there is no such file; set it to the Chromium executable (e.g. /usr/bin/chromium), or unset it to use Debian's`]);
      expect(existsSync(join(project, 'site'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pngNames', () => {
  const names = (ds: Array<[string, string[]]>) => {
    const r = pngNames(ds.map(([name, titles]) => ({ name, tabs: titles.map((title, i) => ({ name: `t${i}`, title })) })));
    return { files: Object.fromEntries([...r.names].map(([d, m]) => [d, [...m.values()]])), shared: r.shared };
  };
  it("names a tab's picture after its title, when no other tab of the project's has a title giving the same name", () => {
    expect(names([['overview', ['Overview']], ['cost', ['Cost / month: "EUR"', '  ']]]).files).toEqual({ overview: ['Overview.png'], cost: ['Cost - month- -EUR-.png', 'tab.png'] });
  });
  it("a title tabs of several dashboards share (letter case aside): every one of them gets its dashboard's name, whatever the dashboards' order (was: the first in name order took Overview.png)", () => {
    const r = names([['overview', ['Overview', 'Cost']], ['h48', ['overview']]]);
    expect(r.files).toEqual({ h48: ['h48-overview.png'], overview: ['overview-Overview.png', 'Cost.png'] });
    expect(r.shared).toEqual([{ bare: 'overview.png', tabs: [{ dashboard: 'h48', tab: 't0', file: 'h48-overview.png' }, { dashboard: 'overview', tab: 't0', file: 'overview-Overview.png' }] }]);
    expect(names([['h48', ['overview']], ['overview', ['Overview', 'Cost']]]).files).toEqual(r.files);
    // a title like another's prefixed name: its dashboard's name too; two tabs of one dashboard: a number
    expect(names([['d', ['X', 'X']], ['e', ['d-X']]]).files).toEqual({ d: ['d-X.png', 'd-X-2.png'], e: ['e-d-X.png'] });
    expect(names([['a', ['X']], ['b', ['X']], ['c', ['a-X']]]).files).toEqual({ a: ['a-X.png'], b: ['b-X.png'], c: ['c-a-X.png'] });
  });

  it('a title too long for a file name (255 bytes) is cut at a character and told apart by a hash (was: ENAMETOOLONG, a stack trace)', () => {
    const long = 'Très long titre '.repeat(20);
    const [a, b, e] = names([['d', [long, `${long}!`, '€'.repeat(200)]]]).files.d;
    expect(a).toMatch(/^Très long titre Très long titre .*~[0-9a-f]{8}\.png$/);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(100);
    expect(b).not.toBe(a);
    expect(Buffer.byteLength(e)).toBeLessThanOrEqual(100);
  });

  it('every tab says as of when', () => {
    expect(asOf('2026-11-01T09:30:12.000Z')).toBe('2026-11-01 09:30 UTC');
  });
});

describe('a period still running when the data was read', () => {
  const d = fixtureDashboard();
  const tile = (id: string) => d.tabs.flatMap((t) => t.tiles).find((t) => t.tile.id === id)!;
  const data = fixtureData();
  const lastDay = new Date(END).toISOString().slice(0, 10);
  const at = (iso: string, id: string): TileData => ({ ...(data.get(id) as Extract<TileData, { ok: true }>), at: iso });

  it('is marked partial on lines, areas, bars and heatmaps, with the time it was read', () => {
    for (const id of ['error_rate_trend', 'volume_by_capability', 'activity_heatmap', 'anomaly_states']) {
      if (!data.get(id)) continue;
      const html = renderTileHtml(d, tile(id), at(`${lastDay}T09:30:00.000Z`, id));
      expect(html, id).toContain(`is partial: data as of ${lastDay} 09:30 UTC`);
      // the axis says it (unless its labels are thinned out on a narrow tile); a bar or cell is faded
      if (id === 'anomaly_states') expect(html, id).toMatch(/fill-opacity="0\.55"/);
      else expect(html, id).toContain('(partial)');
    }
    expect(renderTileHtml(d, tile('activity_heatmap'), at(`${lastDay}T09:30:00.000Z`, 'activity_heatmap'))).toMatch(/fill-opacity="0\.55"/);
    // the shaded segment of a line
    expect(renderTileHtml(d, tile('error_rate_trend'), at(`${lastDay}T09:30:00.000Z`, 'error_rate_trend'))).toMatch(/stroke-dasharray[^>]*ecmeta_series_index="1"|ecmeta_series_index="1"[^>]*stroke-dasharray/);
  });

  it('a heatmap with the dates on its rows marks the partial row: its label, its faded cells, the footer (was: only a date column was marked)', () => {
    const ct = tile('activity_heatmap');
    const rotated = { ...ct, fields: ct.fields.map((f) => (f.kind === 'dimension' ? { ...f, role: f.name === 'date' ? ('y' as const) : ('x' as const) } : f)), tile: { ...ct.tile, dimensions: [{ column: 'workspace_id', role: 'x' as const }, { column: 'date', role: 'y' as const }] } };
    const rows = (data.get('activity_heatmap') as Extract<TileData, { ok: true }>).rows;
    const html = renderTileHtml(d, rotated, { ok: true, rows, seconds: 0, at: `${lastDay}T09:30:00.000Z` });
    expect(html).toContain(`is partial: data as of ${lastDay} 09:30 UTC`);
    expect(html).toMatch(/>Mar 14 \(partial\)</);
    // faded as the day's column is when the dates are the columns: one cell per workspace
    const columns = renderTileHtml(d, ct, { ok: true, rows, seconds: 0, at: `${lastDay}T09:30:00.000Z` });
    expect(html.match(/fill-opacity="0\.55"/g)?.length).toBe(columns.match(/fill-opacity="0\.55"/g)?.length);
    expect(html.match(/fill-opacity="0\.55"/g)?.length).toBeGreaterThan(0);
  });

  it('keeps "(partial)" on the axis when the labels are thinned out (was: dropped with the others)', () => {
    const ct = tile('error_rate_trend');
    const rows = Array.from({ length: 90 }, (_, i) => ({ date: new Date(END - (89 - i) * DAY), error_rate: 0.02 + (i % 7) / 1000 }));
    const html = renderTileHtml(d, { ...ct, tile: { ...ct.tile, layout: { ...ct.tile.layout, w: 4 } } }, { ok: true, rows, seconds: 0, at: `${lastDay}T09:30:00.000Z` });
    expect(html).toContain(`is partial: data as of ${lastDay} 09:30 UTC`);
    expect(html).toContain('>(partial)<');
  });

  it('an hourly axis without a granularity is not taken for days', () => {
    const ct = tile('error_rate_trend');
    const rows = Array.from({ length: 6 }, (_, i) => ({ date: new Date(END + i * 3_600_000), error_rate: 0.02 }));
    expect(renderTileHtml(d, ct, { ok: true, rows, seconds: 0, at: new Date(END + 5.5 * 3_600_000).toISOString() })).not.toContain('partial');
  });

  it("a window starting in the middle of the first period marks it too; one category both first and still running gets one mark (was: drawn short, unmarked)", () => {
    const ct = tile('error_rate_trend');
    const weekly = (windowFrom: CompiledTile['windowFrom']): CompiledTile => ({ ...ct, fields: ct.fields.map((f) => (f.kind === 'dimension' ? { ...f, granularity: 'week' as const, type: 'date' } : f)), windowFrom });
    // Saturday Mar 14 09:30: the week of Monday Mar 9, read from Wednesday Mar 11 (-3d)
    const one = { ok: true as const, rows: [{ date: new Date(Date.UTC(2026, 2, 9)), error_rate: 0.02 }], seconds: 0, at: `${lastDay}T09:30:00.000Z` };
    const html = renderTileHtml(d, weekly([{ column: 'date', value: '-3d' }]), one);
    expect(html).toContain(`Mar 9 week is partial: from Mar 11, data as of ${lastDay} 09:30 UTC`);
    expect(html.match(/\(partial\)/g)?.length).toBe(1);
    // two weeks: the first marked from when, the last as of when; a window from the Monday marks only the last
    const two = { ...one, rows: [{ date: new Date(Date.UTC(2026, 2, 2)), error_rate: 0.01 }, ...one.rows] };
    const both = renderTileHtml(d, weekly([{ column: 'date', value: '-10d' }]), two);
    expect(both).toContain('Mar 2 week is partial: from Mar 4');
    expect(both).toContain(`Mar 9 week is partial: data as of ${lastDay} 09:30 UTC`);
    expect(both.match(/\(partial\)/g)?.length).toBe(2);
    const fromMonday = renderTileHtml(d, weekly([{ column: 'date', value: '-12d' }]), two);
    expect(fromMonday).not.toContain('is partial: from');
    expect(fromMonday.match(/\(partial\)/g)?.length).toBe(1);
    // a window on another column than the axis's marks nothing
    expect(renderTileHtml(d, weekly([{ column: 'created_at', value: '-10d' }]), two)).not.toContain('is partial: from');
  });

  it('a date axis with a NULL date keeps its dates in order, "(none)" after them, and the running day marked (was: every label sorted as text: Mar 10 before Mar 8, the running day unmarked)', () => {
    const ct = tile('error_rate_trend');
    const rows = [...Array.from({ length: 7 }, (_, i) => ({ date: new Date(END - (6 - i) * DAY), error_rate: 0.02 })), { date: null, error_rate: 0.03 }];
    const html = renderTileHtml(d, ct, { ok: true, rows, seconds: 0, at: `${lastDay}T09:30:00.000Z` });
    const at = (label: string) => html.indexOf(`>${label}<`);
    const order = ['Mar 8', 'Mar 9', 'Mar 10', 'Mar 13', 'Mar 14', '(none)'].map(at);
    expect(order.every((x) => x > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(html).toContain(`Mar 14 is partial: data as of ${lastDay} 09:30 UTC`);
  });

  it('is not, once the period is over (or without the time the data was read)', () => {
    const next = new Date(END + DAY).toISOString().slice(0, 10);
    for (const id of ['error_rate_trend', 'volume_by_capability', 'activity_heatmap']) {
      expect(renderTileHtml(d, tile(id), at(`${next}T00:00:00.000Z`, id)), id).not.toContain('partial');
      expect(renderTileHtml(d, tile(id), data.get(id)), id).not.toContain('partial');
    }
  });
});

describe('colors, legends and titles', () => {
  it('a category keeps its color whatever the data ranks first, and every color is distinct while the palette lasts', () => {
    const caps = ['summarize', 'chat', 'extract', 'draft', 'classify', 'search', 'code_review', 'unknown'];
    const a = stableColors(caps);
    const b = stableColors([...caps].reverse());
    for (const c of caps) expect(b.get(c), c).toBe(a.get(c));
    expect(new Set(a.values()).size).toBe(caps.length);
    expect(stableColors(['x', 'Other']).get('Other')).toBe('#c7ccd4');
    // in the drawn chart: the same capability, the same color, with the ranking reversed
    const d = fixtureDashboard();
    const ct = d.tabs.flatMap((t) => t.tiles).find((t) => t.tile.id === 'volume_by_capability')!;
    const rows = (k: number) => caps.map((c, i) => ({ date: new Date(END), capability: c, interactions: k > 0 ? 100 + i * 10 : 200 - i * 10 }));
    const colorOf = (html: string, cap: string) => new RegExp(`fill="(#[0-9a-f]{6})"[^>]*>\\s*</path>\\s*<text[^>]*>${cap}<`).exec(html)?.[1] ?? new RegExp(`<path[^>]*fill="(#[0-9a-f]{6})"[^>]*/>\\s*<text[^>]*>${cap}<`).exec(html)?.[1];
    const up = renderTileHtml(d, ct, { ok: true, rows: rows(1), seconds: 0 });
    const down = renderTileHtml(d, ct, { ok: true, rows: rows(-1), seconds: 0 });
    for (const c of caps) {
      expect(colorOf(up, c), c).toBeDefined();
      expect(colorOf(down, c), c).toBe(colorOf(up, c));
    }
  });

  it("a category's color does not depend on the others drawn: a new one moves none and takes none held, a page of one has it too (was: sorted names, linear probing)", () => {
    const caps = ['chat', 'classify', 'draft', 'extract', 'summarize'];
    const d = fixtureDashboard();
    const ct = d.tabs.flatMap((t) => t.tiles).find((t) => t.tile.id === 'volume_by_capability')!;
    const colorOf = (html: string, cap: string) => new RegExp(`fill="(#[0-9a-f]{6})"[^>]*>\\s*</path>\\s*<text[^>]*>${cap}<`).exec(html)?.[1] ?? new RegExp(`<path[^>]*fill="(#[0-9a-f]{6})"[^>]*/>\\s*<text[^>]*>${cap}<`).exec(html)?.[1];
    const draw = (names: string[], book: CategoryColors) => renderTileHtml(d, ct, { ok: true, rows: names.map((c, i) => ({ date: new Date(END), capability: c, interactions: 100 + i })), seconds: 0 }, undefined, book);
    const book = new CategoryColors();
    const first = draw(caps, book);
    const before = new Map(caps.map((c) => [c, colorOf(first, c)]));
    expect(new Set(before.values()).size).toBe(caps.length);
    // a drill-down page of one capability: the color it has on the dashboard's page
    for (const c of caps) expect(colorOf(draw([c], book), c), c).toBe(before.get(c));
    // 'agent11' hashes to extract's color, and sorts first: under the old rule it moved extract and summarize
    const later = draw([...caps, 'agent11'], book);
    for (const c of caps) expect(colorOf(later, c), c).toBe(before.get(c));
    expect([...before.values()]).not.toContain(colorOf(later, 'agent11'));
    // kept in a file, as a render keeps them (target/.cache/category-colors.json): the same in the next render
    const file = join(mkdtempSync(join(tmpdir(), 'vigil-colors-')), 'colors.json');
    book.save(file);
    const next = CategoryColors.open(file);
    expect(next.id).toBe(book.id);
    for (const c of [...caps, 'agent11']) expect(colorOf(draw(['agent11', c], next), c), c).toBe(colorOf(later, c));
  });

  it('a legend names the one series a series dimension gave; a narrow tile keeps its whole title', () => {
    const d = fixtureDashboard();
    const ct = d.tabs.flatMap((t) => t.tiles).find((t) => t.tile.id === 'anomaly_states')!;
    const html = renderTileHtml(d, ct, { ok: true, rows: [{ date: new Date(END), deviation_state: 'spike', capabilities: 2 }], seconds: 0 });
    expect(html).toMatch(/<text[^>]*>spike<\/text>/);
    const narrow = d.tabs.flatMap((t) => t.tiles).find((t) => t.tile.layout.w <= 3)!;
    expect(renderTileHtml(d, narrow, undefined)).toContain('<div class="tile narrow"');
  });
});

describe('fitRows: tiles sized to their content', () => {
  const tile = (id: string, y: number, h: number, fit?: number) => ({ layout: { y, h }, html: `<div class="tile" data-tile="${id}"${fit ? ` data-fit="${fit}"` : ''} style="grid-column:1 / span 6;grid-row:${y + 1} / span ${h}"><div class="tile-body"></div></div>` });
  const rowOf = (html: string) => /grid-row:(\d+ \/ span \d+)/.exec(html)![1];

  it('gives back the rows no tile needs: a short table alone in its rows ends sooner and the tiles below move up; one beside a tile that needs them keeps them', () => {
    // rows 0-1: a chart; rows 2-5: a table needing 2 alone; rows 6-9: a table needing 1 beside a chart of 4; rows 10-11: a chart
    const r = fitRows([tile('a', 0, 2), tile('t1', 2, 4, 2), tile('t2', 6, 4, 1), { ...tile('c', 6, 4), html: tile('c', 6, 4).html.replace('grid-column:1', 'grid-column:7') }, tile('z', 10, 2)]);
    expect(r.rows).toBe(10);
    expect(r.html.map(rowOf)).toEqual(['1 / span 2', '3 / span 2', '5 / span 4', '5 / span 4', '9 / span 2']);
    // two short tables side by side: the rows neither needs go
    const both = fitRows([tile('l', 0, 6, 3), tile('r', 0, 6, 2)]);
    expect(both.rows).toBe(3);
    expect(both.html.map(rowOf)).toEqual(['1 / span 3', '1 / span 3']);
    // nothing to give back: the HTML as it was
    const none = [tile('a', 0, 2), tile('b', 2, 3)];
    expect(fitRows(none)).toEqual({ rows: 5, html: none.map((t) => t.html) });
  });
});
