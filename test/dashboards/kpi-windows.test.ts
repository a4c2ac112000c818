/**
 * KPI windows (issue 16 part 1) on the shipped project: demo data with the spike scenario, built,
 * rendered `--at` moments of the spike day and the day before. The headline "Interactions
 * (today)" counts today so far against the same hours of yesterday, so the spike shows as a rise
 * on the day it lands on; at the end of a day it equals the seed's own formula on the daily mart
 * (`sum(interaction_count) where date = current_date`); rows after `--at` are never read.
 * On the same data, the whole site rendered once and read back without a browser: the anomaly
 * table's runbook links and PagerDuty incident drafts name the state that flagged each row
 * (sections that exist in docs/alerts.md); a raw-rows page cut at its limit says how many rows
 * there are.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';

/** The demo's now: the spike lands on the last complete UTC day, 2026-11-19. */
const NOW = '2026-11-20T12:00:00Z';

interface Kpi {
  window: string;
  value: number;
  change: string;
  previous: number;
  against: string;
}

/** The HTML of tile `id` of a rendered page. */
function tileOf(html: string, id: string): string {
  const start = html.indexOf(`data-tile="${id}"`);
  expect(start, id).toBeGreaterThan(0);
  const end = html.indexOf('data-tile="', start + 10);
  return html.slice(start, end < 0 ? undefined : end);
}

/** The KPI tile `id` of a rendered page, read back from its HTML. */
function kpi(html: string, id: string): Kpi {
  const tile = tileOf(html, id);
  const text = (cls: string) => new RegExp(`<div class="${cls}[^"]*"[^>]*>(.*?)</div>`).exec(tile)?.[1].replace(/<[^>]+>/g, '') ?? '';
  const num = (s: string) => Number(s.replace(/[^\d.]/g, ''));
  const change = text('kpi-change');
  const m = /^(.*?)vs ([\d,.]+)(?: ?%| ms)? (.*)$/.exec(change);
  expect(m, change).not.toBeNull();
  return { window: text('kpi-window'), value: num(text('kpi-value')), change: m![1].trim(), previous: num(m![2]), against: m![3] };
}


/** The anchors of a Markdown file's headings, as GitHub makes them ("### volume-spike" -> volume-spike). */
function anchors(md: string): Set<string> {
  return new Set(
    [...md.matchAll(/^#{1,6} +(.+)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

const unescape = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

describe('KPI windows on the shipped dashboards (spike scenario)', () => {
  let dir: string;
  const render = (at: string): string => {
    const out = `site-${at.replace(/\W/g, '')}`;
    const r = vigil(dir, ['dashboards', 'render', '--out', out, '--at', at, '-s', 'overview']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return readFileSync(join(dir, out, 'overview.html'), 'utf8');
  };
  const show = (sql: string): Array<Record<string, unknown>> => {
    const r = vigil(dir, ['show', '--inline', sql, '--output', 'json', '--limit', '100']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  };

  beforeAll(() => {
    dir = makeProject({}, false);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    expect(vigil(dir, ['demo', '--rows', '30000', '--days', '21', '--scenario', 'spike', '--now', NOW]).code).toBe(0);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
  }, 120_000);
  afterAll(() => dir && removeDir(dir));

  it('the spike shows as a rise in the headline KPI on the day it lands on, against the same hours of the day before', () => {
    const k = kpi(render('2026-11-19T20:00:00Z'), 'interactions_24h');
    expect(k.window).toBe('today so far');
    expect(k.against).toBe('same hours yesterday');
    expect(k.change).toMatch(/^▲/);
    expect(k.value).toBeGreaterThan(1.3 * k.previous);
    // the counts are those of the raw rows in [midnight, 20:00) of each day
    const [c] = show(
      "select count(*) filter (where created_at >= '2026-11-19' and created_at < '2026-11-19 20:00:00+00') as today, " +
        "count(*) filter (where created_at >= '2026-11-18' and created_at < '2026-11-18 20:00:00+00') as yesterday from {{ ref('stg_ai_audit_logs') }}",
    );
    expect([k.value, k.previous]).toEqual([Number(c.today), Number(c.yesterday)]);
  });

  it('a day of normal traffic reads flat, not as the drop a whole previous day would make of a partial one', () => {
    const k = kpi(render('2026-11-18T09:00:00Z'), 'interactions_24h');
    expect(Math.abs(k.value / k.previous - 1)).toBeLessThan(0.3);
  });

  it("at the end of a day the KPIs equal the seed's formulas on ai_audit_daily (date = current_date)", () => {
    const html = render('2026-11-19T23:59:59.999Z');
    const [seed] = show(
      "select sum(interaction_count) as interactions, sum(error_count) * 1.0 / sum(interaction_count) as error_rate from {{ ref('ai_audit_daily') }} where date = '2026-11-19'",
    );
    expect(kpi(html, 'interactions_24h').value).toBe(Number(seed.interactions));
    expect(kpi(html, 'error_rate_24h').value).toBeCloseTo(Number(seed.error_rate) * 100, 1);
  });

  it('a second render of unchanged rows reuses the drawings, byte for byte (tile-cache.ts)', () => {
    const once = render('2026-11-19T21:00:00Z');
    const r = vigil(dir, ['dashboards', 'render', '--out', 'again', '--at', '2026-11-19T21:00:00Z', '-s', 'overview']);
    expect(r.code, r.stderr).toBe(0);
    // (the two drill-down tiles too: their links depend on the pages the site has, the same as last time)
    expect(r.stdout).toMatch(/; 8 unchanged since the last render, not drawn again\)/);
    expect(readFileSync(join(dir, 'again', 'overview.html'), 'utf8')).toBe(once);
  });

  it('--at a past moment: a tile over a daily table says its day of --at is as built, not cut at --at; raw-row tiles are cut', () => {
    const html = render('2026-11-19T20:00:00Z');
    const notes = (id: string) => [...tileOf(html, id).matchAll(/<span class="note">(.*?)<\/span>/g)].map((m) => m[1]);
    const built = 'Nov 19 as built: daily rows, not cut at 20:00 UTC';
    // the area chart's Nov 19 point is the whole day the build computed (was: "Nov 19 is partial: data as of 2026-11-19 20:00 UTC")
    expect(notes('volume_by_capability')).toEqual([built]);
    expect(tileOf(html, 'volume_by_capability')).toContain('(as built)');
    expect(html).not.toContain('is partial: data as of');
    expect(html).not.toContain('(partial)');
    const [day] = show("select sum(interaction_count) as n from {{ ref('ai_audit_daily') }} where date = '2026-11-19'");
    expect(Number(day.n)).toBeGreaterThan(kpi(html, 'interactions_24h').value);
    // tiles that show no date but read the day: the provider donut (7 days), the active workspaces KPI
    expect(notes('provider_mix')).toEqual([built]);
    expect(notes('active_workspaces_7d')).toEqual([built]);
    // raw rows, cut at --at: nothing to say
    expect(notes('interactions_24h')).toEqual([]);
  });

  it('every KPI states its window, and what its change compares with', () => {
    const html = render('2026-11-19T20:00:00Z');
    expect(kpi(html, 'active_workspaces_7d')).toMatchObject({ window: 'last 7 days (today included)', against: 'the 7 days before' });
    for (const id of ['error_rate_24h', 'p95_latency_24h']) expect(kpi(html, id)).toMatchObject({ window: 'today so far', against: 'same hours yesterday' });
  });

  it('--at a past moment inside a raw-rows page\'s day: the page lists the rows up to --at, as its "as of" says (was: the whole day, rows written after --at too)', () => {
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site-noon', '--at', '2026-11-19T12:00:00Z', '-s', 'capability']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const raw = readFileSync(join(dir, 'site-noon', 'capability', 'rows', 'anomaly_table--capability=summarize--created_at=2026-11-19.html'), 'utf8');
    expect(raw).toContain('2026-11-19 12:00 UTC');
    const times = [...raw.matchAll(/<td[^>]*>(2026-11-\d\d \d\d:\d\d:\d\d)[^<]*<\/td>/g)].map((m) => m[1]);
    expect(times.length).toBeGreaterThan(0);
    expect(times.filter((t) => t >= '2026-11-19 12:00:00')).toEqual([]);
    const [c] = show("select count(*) as n from {{ ref('stg_ai_audit_logs') }} where capability = 'summarize' and created_at >= '2026-11-19' and created_at < '2026-11-19 12:00:00+00'");
    expect(raw).toContain(`>first 100 of ${Number(c.n).toLocaleString('en-US')} rows, newest first. Prompt`);
    expect(unescape(raw)).toContain(`"created_at" < cast('2026-11-19T12:00:00.000Z' as timestamptz)`);
  });

  describe('the whole site, rendered once', () => {
    let page: (name: string) => string;
    beforeAll(() => {
      const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', NOW]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      page = (name) => readFileSync(join(dir, 'site', name), 'utf8');
    }, 180_000);

    it('the anomaly table names each row\'s runbook section and incident draft after the state that flagged it', () => {
      // the data has days only the 2σ z-score flags (the median state normal): they were "Volume normal", #volume-normal
      const zOnly = show("select count(*) as n from {{ ref('ai_audit_capability_anomalies') }} where date >= date '2026-11-14' and deviation_state_14d = 'normal' and zscore_state <> 'normal'");
      expect(Number(zOnly[0].n)).toBeGreaterThan(0);
      const table = unescape(tileOf(page('capability.html'), 'anomaly_table'));
      const titles = [...table.matchAll(/incidents\/new\?title=([^"]+)"/g)].map((m) => decodeURIComponent(m[1]));
      expect(titles.length).toBeGreaterThan(1);
      for (const t of titles) expect(t).toMatch(/^Volume (spike|drop): \S+ on \d{4}-\d{2}-\d{2}$/);
      const known = anchors(readFileSync(join(REPO, 'docs/alerts.md'), 'utf8'));
      const runbooks = [...table.matchAll(/docs\/alerts\.md#([\w-]+)"/g)].map((m) => m[1]);
      expect(runbooks.length).toBe(titles.length);
      for (const a of runbooks) expect(known, `docs/alerts.md#${a}`).toContain(a);
      // the Workspace tab's recent anomalies link the runbook too
      for (const a of [...unescape(tileOf(page('workspace.html'), 'recent_incidents')).matchAll(/docs\/alerts\.md#([\w-]+)"/g)].map((m) => m[1])) expect(known, `docs/alerts.md#${a}`).toContain(a);
    });

    it('a raw-rows page cut at its limit says how many rows there are: "first 100 of 4,042 rows" (was: "100 rows (the first 100, newest first)")', () => {
      const file = readdirSync(join(dir, 'site', 'capability', 'rows')).find((f) => f === 'anomaly_table--capability=summarize--created_at=2026-11-19.html');
      expect(file).toBeDefined();
      const raw = page(`capability/rows/${file}`);
      const [c] = show("select count(*) as n from {{ ref('stg_ai_audit_logs') }} where capability = 'summarize' and created_at >= '2026-11-19' and created_at < '2026-11-20'");
      const n = Number(c.n);
      expect(n).toBeGreaterThan(100);
      expect(raw).toContain(`>first 100 of ${n.toLocaleString('en-US')} rows, newest first. Prompt`);
      expect(raw.match(/<tr>/g)?.length).toBe(101);
    });
  });
});

describe('KPI "today so far vs same hours yesterday" in a zone with DST (a Postgres url that sets TimeZone=Europe/Berlin)', () => {
  let dir: string;
  let env: Record<string, string>;
  // one row every 10 minutes, around both 2026 transitions in Berlin (03-29 02:00 -> 03:00, 10-25 03:00 -> 02:00)
  const rows = ['id,ts'];
  for (const [from, to] of [['2026-03-27T00:05:00Z', '2026-03-31T00:00:00Z'], ['2026-10-22T00:05:00Z', '2026-10-27T00:00:00Z']]) {
    for (let t = Date.parse(from); t < Date.parse(to); t += 600_000) rows.push(`${rows.length},${new Date(t).toISOString()}`);
  }
  beforeAll(() => {
    const url = new URL(inject('pgUrl'));
    url.searchParams.set('options', '-c TimeZone=Europe/Berlin');
    env = { VIGIL_TEST_PG_URL: url.toString() };
    dir = makeProject({
      'project.yaml': pgProjectYaml(uniqueSchema('dstkpi')),
      'seeds/ev.csv': `${rows.join('\n')}\n`,
      'seeds/ev.yml': 'seeds:\n  - name: ev\n    config:\n      column_types: { id: bigint, ts: timestamptz }\n',
      'models/events.sql': "select * from {{ ref('ev') }}\n",
      'models/events.yml': 'models:\n  - name: events\n    columns:\n      - { name: id, data_type: bigint }\n      - { name: ts, data_type: timestamptz }\n',
      'dashboards/d.json': JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 'o', title: 'O', tiles: [{ id: 'n', type: 'kpi', title: 'Events (today)', model: 'events', measures: [{ name: 'events', column: '*', agg: 'count', format: 'integer' }], filters: [{ column: 'ts', op: '>=', value: 'today' }], compare: 'previous_period_to_date', layout: { x: 0, y: 0, w: 4, h: 2 } }] }] }),
    });
    const b = vigil(dir, ['build'], env);
    expect(b.code, b.stdout + b.stderr).toBe(0);
  });
  afterAll(() => dir && removeDir(dir));

  const at = (iso: string) => {
    const out = join(dir, `site-${iso.replace(/\W/g, '')}`);
    const r = vigil(dir, ['dashboards', 'render', '--out', out, '--at', iso], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return kpi(readFileSync(join(out, 'd.html'), 'utf8'), 'n');
  };

  it.each([
    ['after the 25-hour day', '2026-10-26T00:30:00+01:00'],
    ['after the 23-hour day', '2026-03-30T00:30:00+02:00'],
    ['on an ordinary day', '2026-10-24T00:30:00+02:00'],
  ])('%s, 00:30 compares with yesterday 00:00-00:30 (was: 90 minutes of it after the 25-hour day, "new vs 0" after the 23-hour one)', (_, iso) => {
    const k = at(iso);
    expect(k).toMatchObject({ value: 3, previous: 3 });
    expect(k.change).toMatch(/0\.0 ?%/);
  });
});

describe('the running day of a chart on a Postgres session in Europe/Berlin (a url that sets TimeZone)', () => {
  let dir: string;
  let zoned: Record<string, string>;
  let utc: Record<string, string>;
  // one row an hour around both 2026 transitions in Berlin and in November
  const rows = ['id,ts'];
  for (const [from, to] of [['2026-03-25T00:00:00Z', '2026-04-02T00:00:00Z'], ['2026-10-20T00:00:00Z', '2026-11-23T00:00:00Z']]) {
    for (let t = Date.parse(from); t < Date.parse(to); t += 3_600_000) rows.push(`${rows.length},${new Date(t).toISOString()}`);
  }
  const tile = (id: string, type: string, y: number) => ({ id, type, title: id, model: 'events', dimensions: [{ column: 'date' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], filters: [{ column: 'date', op: '>=', value: '-6d' }], layout: { x: 0, y, w: 12, h: 3 } });
  beforeAll(() => {
    const url = new URL(inject('pgUrl'));
    utc = { VIGIL_TEST_PG_URL: url.toString() };
    url.searchParams.set('options', '-c TimeZone=Europe/Berlin');
    zoned = { VIGIL_TEST_PG_URL: url.toString() };
    dir = makeProject({
      'project.yaml': pgProjectYaml(uniqueSchema('zonedmark')),
      'seeds/ev.csv': `${rows.join('\n')}\n`,
      'seeds/ev.yml': 'seeds:\n  - name: ev\n    config:\n      column_types: { id: bigint, ts: timestamptz }\n',
      // (the days of the session's zone, as a daily mart built there has them)
      'models/events.sql': "select cast(ts at time zone 'Europe/Berlin' as date) as date, count(*) as n from {{ ref('ev') }} group by 1\n",
      'models/events.yml': 'models:\n  - name: events\n    columns:\n      - { name: date, data_type: date }\n      - { name: n, data_type: bigint }\n  - name: logs\n    columns:\n      - { name: id, data_type: bigint }\n      - { name: ts, data_type: timestamptz }\n',
      'models/logs.sql': "select id, ts from {{ ref('ev') }}\n",
      'dashboards/d.json': JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 'o', title: 'O', tiles: [tile('bars', 'bar', 0), tile('slices', 'donut', 3), { ...tile('weeks', 'bar', 9), dimensions: [{ column: 'date', granularity: 'week' }], filters: [{ column: 'date', op: '>=', value: '-20d' }] }, { ...tile('days', 'table', 6), raw_rows: { model: 'logs', day: { column: 'ts', value: '{{ date }}' }, columns: ['id', 'ts'], limit: 1000 } }, { ...tile('tsdays', 'table', 12), model: 'logs', dimensions: [{ column: 'ts', granularity: 'day' }], measures: [{ name: 'n', column: '*', agg: 'count' }], filters: [{ column: 'ts', op: '>=', value: '-6d' }], raw_rows: { model: 'logs', day: { column: 'ts', value: '{{ ts }}' }, columns: ['id', 'ts'], limit: 1000 } }, { ...tile('newest', 'table', 15), model: 'logs', dimensions: [], measures: [{ name: 'last', column: 'ts', agg: 'max' }], filters: [] }] }] }),
    });
    const b = vigil(dir, ['build'], zoned);
    expect(b.code, b.stdout + b.stderr).toBe(0);
  }, 120_000);
  afterAll(() => dir && removeDir(dir));

  const render = (iso: string, env: Record<string, string>) => {
    const out = join(dir, `site-${iso.replace(/\W/g, '')}-${env === utc ? 'utc' : 'berlin'}`);
    const r = vigil(dir, ['dashboards', 'render', '--out', out, '--at', iso], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const html = readFileSync(join(out, 'd.html'), 'utf8');
    const notes = (id: string) => [...tileOf(html, id).matchAll(/<span class="note">([^<]*)<\/span>/g)].map((m) => m[1]);
    const labels = [...tileOf(html, 'bars').matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).filter((t) => /^[A-Z][a-z]{2} \d+$|\(as built\)/.test(t));
    const weeks = [...tileOf(html, 'weeks').matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).filter((t) => /^[A-Z][a-z]{2} \d|\(/.test(t));
    return { bars: notes('bars'), slices: notes('slices'), labels, out, weeks, weekNotes: notes('weeks') };
  };

  it('a row\'s raw rows are those of its day in the session\'s zone, as many as the row counts (was: the UTC day: 24 rows behind a day of 25 hours, 26 of 29 behind a demo row)', () => {
    const { out } = render('2026-10-27T12:00:00Z', zoned);
    const page = (day: string) => readFileSync(join(out, 'd', 'rows', `days--ts=${day}.html`), 'utf8');
    const count = (html: string) => /<p class="muted small">([\d,]+) rows?/.exec(html)?.[1];
    // the 25-hour day (the clocks go back at 03:00), the 23-hour one (forward at 02:00), an ordinary one
    expect(count(page('2026-10-25'))).toBe('25');
    expect(count(page('2026-10-24'))).toBe('24');
    expect(page('2026-10-25')).toContain('ts on 2026-10-25 (Europe/Berlin)');
    expect(page('2026-10-25')).toContain('cast(&#39;2026-10-24T22:00:00.000Z&#39; as timestamptz)');
    expect(page('2026-10-25')).toContain('cast(&#39;2026-10-25T23:00:00.000Z&#39; as timestamptz)');
    expect(count(readFileSync(join(render('2026-03-31T12:00:00Z', zoned).out, 'd', 'rows', 'days--ts=2026-03-29.html'), 'utf8'))).toBe('23');
  }, 120_000);

  it('a row of a day of a timestamptz column (date_trunc: the zone\'s midnight, an instant of the day before in UTC) opens that day\'s rows (was: the UTC day before\'s)', () => {
    const { out } = render('2026-10-27T12:00:00Z', zoned);
    const pages = readdirSync(join(out, 'd', 'rows')).filter((f) => f.startsWith('tsdays--'));
    expect(pages).toContain('tsdays--ts=2026-10-25.html');
    expect(pages).not.toContain('tsdays--ts=2026-10-20.html');
    expect(pages).toContain('tsdays--ts=2026-10-27.html');
    const count = (html: string) => /<p class="muted small">([\d,]+) rows?/.exec(html)?.[1];
    expect(count(readFileSync(join(out, 'd', 'rows', 'tsdays--ts=2026-10-25.html'), 'utf8'))).toBe('25');
    // the table's days are the session's too, as a chart labels them (was: '2026-10-24 22:00', the UTC instant of Oct 25's midnight)
    const cells = [...tileOf(readFileSync(join(out, 'd.html'), 'utf8'), 'tsdays').matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells.slice(0, 2)).toEqual(['2026-10-21', '2026-10-22']);
    expect(cells).toContain('2026-10-25');
    expect(cells.join(' ')).not.toMatch(/22:00|23:00/);
  }, 120_000);

  it.each([
    ['just after local midnight', '2026-11-19T23:30:00Z', 'Nov 20', '00:30'],
    ['just before local midnight', '2026-11-19T22:30:00Z', 'Nov 19', '23:30'],
    ['just after midnight on the 25-hour day', '2026-10-24T22:30:00Z', 'Oct 25', '00:30'],
    ['at the end of the 25-hour day', '2026-10-25T22:30:00Z', 'Oct 25', '23:30'],
    ['just after midnight on the 23-hour day', '2026-03-28T23:30:00Z', 'Mar 29', '00:30'],
  ])('%s the day marked is the session\'s day, at its wall time (was: the UTC day, and "UTC" hours)', (_, iso, day, time) => {
    const r = render(iso, zoned);
    expect(r.bars).toEqual([`${day} as built: daily rows, not cut at ${time} Europe/Berlin`]);
    expect(r.slices).toEqual([`${day} as built: daily rows, not cut at ${time} Europe/Berlin`]);
    // the last bar is the session's today, marked
    expect(r.labels.slice(-2)).toEqual([day, '(as built)']);
  }, 120_000);

  it('a TimeZone that is no IANA name (POSIX UTC+3) is said, and the marks stay UTC ones (was: nothing said)', () => {
    const url = new URL(utc.VIGIL_TEST_PG_URL);
    url.searchParams.set('options', '-c TimeZone=UTC+3');
    const r = vigil(dir, ['dashboards', 'render', '--out', join(dir, 'site-posix'), '--at', '2026-11-19T23:30:00Z'], { VIGIL_TEST_PG_URL: url.toString() });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: the target's sessions read dates in TimeZone 'UTC+3', which is no IANA zone name");
    expect(readFileSync(join(dir, 'site-posix', 'd.html'), 'utf8')).toContain('Nov 19 as built: daily rows, not cut at 23:30 UTC');
  }, 120_000);

  it('weeks are the session\'s weeks, labelled by their Monday (was: "Nov 15 23:00", Postgres\' date_trunc of a date being the zone\'s midnight)', () => {
    // Friday Nov 20 00:30 in Berlin: -20d from Saturday Oct 31, in the week of Monday Oct 26
    const r = render('2026-11-19T23:30:00Z', zoned);
    expect(r.weeks).toEqual(['Oct 26', '(partial)', 'Nov 2', 'Nov 9', 'Nov 16', '(as built)']);
    expect(r.weekNotes).toEqual(['Oct 26 week is partial: from Oct 31', 'Nov 16 week as built: daily rows, not cut at 2026-11-20 00:30 Europe/Berlin']);
  }, 120_000);

  it('a table\'s timestamptz cell is its wall time in the session\'s zone, also after a render on a UTC session kept its drawing (was: the UTC drawing reused)', () => {
    const cell = (out: string) => [...tileOf(readFileSync(join(out, 'd.html'), 'utf8'), 'newest').matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cell(render('2026-11-01T12:00:00Z', utc).out)).toEqual(['2026-11-22 23:00']);
    expect(cell(render('2026-11-01T12:00:00Z', zoned).out)).toEqual(['2026-11-23']);
  }, 120_000);

  it('on a UTC session the marks are the UTC day, as before', () => {
    const r = render('2026-11-19T23:30:00Z', utc);
    expect(r.bars).toEqual(['Nov 19 as built: daily rows, not cut at 23:30 UTC']);
    expect(r.slices).toEqual(['Nov 19 as built: daily rows, not cut at 23:30 UTC']);
  }, 120_000);
});
