/**
 * The shipped dashboards' site on demo data (spike scenario, a fixed "now"), read back from its
 * HTML without a browser: the anomaly table's runbook links and PagerDuty incident drafts name
 * the state that flagged each row (sections that exist in docs/alerts.md); a raw-rows page cut at
 * its limit says how many rows there are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';

/** The demo's now: the spike lands on the last complete UTC day, 2026-11-19. */
const NOW = '2026-11-20T12:00:00Z';

/** The HTML of tile `id` of a rendered page. */
function tileOf(html: string, id: string): string {
  const start = html.indexOf(`data-tile="${id}"`);
  expect(start, id).toBeGreaterThan(0);
  const end = html.indexOf('data-tile="', start + 10);
  return html.slice(start, end < 0 ? undefined : end);
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

describe('the shipped site on spike demo data', () => {
  let dir: string;
  let page: (name: string) => string;
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
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', NOW]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    page = (name) => readFileSync(join(dir, 'site', name), 'utf8');
  }, 180_000);
  afterAll(() => dir && removeDir(dir));

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
