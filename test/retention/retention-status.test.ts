/**
 * The shipped project's retention status (models/compliance/audit_events_retention_status.sql) and
 * its alert compliance_retention_overdue, end to end: retention of raw.audit_events deletes in the
 * application database (apply_to: source, a real Postgres) while the warehouse copy (DuckDB) keeps
 * its full history; `vigil sync` copies the apply's log line into the warehouse, and a row is
 * overdue only when it expired more than a day ago and after the last successful apply.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueSchema } from '../support/postgres.js';
import { fileClient } from '../support/pg-client.js';
import { makeProject, removeDir, REPO, vigil } from '../helpers.js';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];
const DAY = 86_400_000;

afterAll(() => dirs.forEach(removeDir));

/** The shipped project: its app target (the log's schema) and the tables it syncs in schemas of the test's own. */
function shippedProject(raw: string, app: string): string {
  const yaml = readFileSync(join(REPO, 'project.yaml'), 'utf8');
  const appTarget = /\n {2}app:\n(?: {4}.*\n)+/.exec(yaml)![0];
  const dir = makeProject({ 'project.yaml': yaml.replace(appTarget, appTarget.replace('schema: analytics', `schema: ${app}`)) });
  for (const p of ['models', 'macros', 'tests', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  const sources = readFileSync(join(REPO, 'models/sources.yml'), 'utf8').replace('sync: { from: app }', `sync: { from: app, schema: ${raw} }`).replace(/^ {4}schema: raw$/m, `    schema: ${raw}`);
  writeFileSync(join(dir, 'models/sources.yml'), sources);
  dirs.push(dir);
  return dir;
}

describe('the shipped retention status of audit_events (apply_to: source)', () => {
  it('the alert resolves once vigil retention apply ran in the application database (was: fired forever, counting the copy\'s full history), and fires for a row that expired after the last apply', async () => {
    const raw = uniqueSchema('rs_raw');
    const app = uniqueSchema('rs_app');
    const dir = shippedProject(raw, app);
    const env = { DATABASE_URL: url };
    const run = (args: string[]) => {
      const r = vigil(dir, args, env);
      expect(r.code, `vigil ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      return r;
    };
    // 500 days ago: the demo's 365- and 400-day rows expired long before the first apply, its
    // 1095- and 2555-day rows have not
    run(['demo', '--target', 'app', '--rows', '200', '--days', '3', '--audit-events', '300', '--now', new Date(Date.now() - 500 * DAY).toISOString(), '--schema', raw]);
    // one row that expires between the first apply (3 days ago) and yesterday; one kept "forever"
    const pick = (offset: number) => `(select audit_id from ${raw}.audit_events where security_retention_period_days is not null order by audit_id limit 1 offset ${offset})`;
    await client.query(`update ${raw}.audit_events set security_retention_period_days = floor(extract(epoch from (now() - "timestamp")) / 86400)::int - 2 where audit_id = ${pick(0)}`);
    await client.query(`update ${raw}.audit_events set security_retention_period_days = 2147483647 where audit_id = ${pick(1)}`);
    run(['sync', '--full-refresh']);

    // an apply as of 3 days ago: the row that expired since is overdue, nothing else is
    run(['retention', 'plan', '--target', 'app', '-s', 'source:raw.audit_events', '--at', new Date(Date.now() - 3 * DAY).toISOString()]);
    run(['retention', 'apply', '--target', 'app']);
    expect(run(['sync']).stdout).toMatch(/raw\.audit_events: 1 line of app's retention log copied into analytics\.vigil_retention_log/);
    run(['build', '-s', '+audit_events_retention_status']);
    const first = run(['alerts', 'evaluate', '-s', 'compliance_retention_overdue', '--dry-run']);
    expect(first.stdout).toMatch(/compliance_retention_overdue +1 firing/);
    expect(first.stdout).toMatch(/— 1 audit_events rows are past their retention/);

    // the daily apply (as of now) deletes it in the source: resolved, though the copy keeps every row
    run(['retention', 'plan', '--target', 'app', '-s', 'source:raw.audit_events']);
    run(['retention', 'apply', '--target', 'app']);
    expect(run(['sync']).stdout).toMatch(/raw\.audit_events: 1 line of app's retention log copied/);
    const second = run(['alerts', 'evaluate', '-s', 'compliance_retention_overdue', '--dry-run']);
    expect(second.stdout).toMatch(/compliance_retention_overdue +0 firing/);
    const copy = run(['show', '--inline', `select count(*) as n from {{ source('raw', 'audit_events') }}`, '--output', 'json']);
    const left = (await client.query(`select count(*)::int as n from ${raw}.audit_events`)).rows[0].n;
    expect(JSON.parse(copy.stdout.slice(copy.stdout.indexOf('[')))[0].n).toBeGreaterThan(left);

    // on Postgres (the app target as the warehouse: the view reads the source and the log there)
    // the "keep forever" row counts as 700,000 days (was: "timestamp out of range")
    run(['build', '--target', 'app', '-s', 'audit_events_retention_status']);
    const rows = (await client.query(`select retention_period_days, overdue_count::int as overdue, retention_applied_at is not null as applied from ${app}.audit_events_retention_status order by retention_period_days`)).rows;
    expect(rows.map((r) => r.overdue)).toEqual(rows.map(() => 0));
    expect(rows.every((r) => r.applied)).toBe(true);
    expect(rows.some((r) => r.retention_period_days === 2147483647)).toBe(true);
  }, 240_000);
});
