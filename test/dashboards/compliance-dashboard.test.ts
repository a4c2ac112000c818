/**
 * The Compliance dashboard on the compliance_red and pii_leak demos (seed 004): the scenario shows
 * where a compliance lead looks first — the red bar of its day, the hit tenant at the top of the
 * tenant table, the critical-issues KPI up — and the compliance alerts fire for it. Read from the
 * rendered static site (no browser needed: the SVG and the tables are in the HTML).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { COMPLIANCE_RED_TENANT } from '../../src/demo/audit-events.js';

const NOW = '2026-03-02T12:00:00Z';
const dirs: string[] = [];

function demoProject(scenario: string): string {
  const dir = makeProject({}, false);
  for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  dirs.push(dir);
  const d = vigil(dir, ['demo', '--rows', '20000', '--audit-events', '30000', '--days', '21', '--scenario', scenario, '--now', NOW]);
  expect(d.code, d.stdout + d.stderr).toBe(0);
  const b = vigil(dir, ['build']);
  expect(b.code, b.stdout).toBe(0);
  return dir;
}

/** The text of each row of a tile's table in the rendered page. */
function tableRows(html: string, tile: string): string[][] {
  const start = html.indexOf(`data-tile="${tile}"`);
  expect(start, tile).toBeGreaterThan(0);
  const body = html.slice(start, html.indexOf('</tbody>', start));
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, '').trim())).filter((r) => r.length);
}

afterAll(() => dirs.forEach(removeDir));

describe('Compliance dashboard', () => {
  let red: string;
  beforeAll(() => {
    red = demoProject('compliance_red');
  }, 180_000);

  it('compliance_red: the hit tenant tops the red checks, with critical issues, and the KPI rises', () => {
    const r = vigil(red, ['dashboards', 'render', '-s', 'compliance', '--out', join(red, 'site'), '--at', NOW]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const html = readFileSync(join(red, 'site', 'compliance.html'), 'utf8');
    const rows = tableRows(html, 'top_tenants');
    expect(rows[0][0]).toBe(COMPLIANCE_RED_TENANT);
    const [, checks, redCount, , critical] = rows[0].map((c) => Number(c.replace(/[,%\s]/g, '')));
    expect(redCount).toBeGreaterThanOrEqual(40);
    expect(redCount).toBeGreaterThan(2 * Number(rows[1][2].replace(/,/g, '')));
    expect(critical).toBeGreaterThanOrEqual(40);
    expect(checks).toBeGreaterThan(redCount);
    // the critical-issues KPI compares with the 14 days before: up
    const kpi = html.slice(html.indexOf('data-tile="critical_issues"'), html.indexOf('data-tile="pii_exposed"'));
    expect(kpi).toMatch(/▲/);
  });

  it('compliance_red: the compliance alerts fire for the tenant; nothing about PII', () => {
    const r = vigil(red, ['alerts', 'evaluate', '--dry-run', '--at', NOW, '-s', 'compliance_*']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // only the hit tenant: a normal day has no critical issue
    expect(r.stdout).toMatch(/compliance_critical_issues +1 firing/);
    expect(r.stdout).toContain(`inactive -> firing {tenant_id=${COMPLIANCE_RED_TENANT}} — `);
    expect(r.stdout).toMatch(/compliance_red_rate_surge +1 firing/);
    expect(r.stdout).toMatch(/compliance_pii_exposed +0 firing/);
    expect(r.stdout).toMatch(/compliance_ai_confidence_drop +0 firing/);
    expect(r.stdout).toMatch(/compliance_retention_overdue +0 firing/);
  });

  it('pii_leak: the exposed events show on the Privacy tab and page', () => {
    const dir = demoProject('pii_leak');
    const r = vigil(dir, ['dashboards', 'render', '-s', 'compliance', '--out', join(dir, 'site'), '--at', NOW]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const html = readFileSync(join(dir, 'site', 'compliance.html'), 'utf8');
    const rows = tableRows(html, 'pii_by_tenant');
    // tenants with exposed events come first (the leak is spread over tenants; the table shows ten)
    expect(Number(rows[0][1])).toBeGreaterThan(0);
    const exposed = rows.reduce((a, row) => a + Number(row[1].replace(/,/g, '')), 0);
    expect(exposed).toBeGreaterThanOrEqual(15);
    const a = vigil(dir, ['alerts', 'evaluate', '--dry-run', '--at', NOW, '-s', 'compliance_*']);
    expect(a.stdout).toMatch(/compliance_pii_exposed +[1-9]\d* firing/);
    expect(a.stdout).toMatch(/compliance_critical_issues +0 firing/);
  }, 180_000);
});
