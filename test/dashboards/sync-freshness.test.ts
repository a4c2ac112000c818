/**
 * The Workspace tab's freshness gauge reads the sync state (`model: "vigil_sync_state"`, the
 * table `vigil sync` keeps) against seed 001's 5-minute SLO: before any sync it says so instead
 * of failing; after one, it shows the minutes since the stalest stream's last successful sync, in
 * the color of its band. The state rows are written by the real DuckDB sync writer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { STATE_TABLE } from '../../src/sync/sync-types.js';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';

describe('sync freshness gauge (vigil_sync_state.last_synced_at, SLO 5 min)', () => {
  let dir: string;
  const gauge = (at?: string): string => {
    const out = `site-${at ? at.replace(/\W/g, '') : 'now'}`;
    const r = vigil(dir, ['dashboards', 'render', '--out', out, '-s', 'workspace', ...(at ? ['--at', at] : [])]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const html = readFileSync(join(dir, out, 'workspace.html'), 'utf8');
    const start = html.indexOf('data-tile="freshness"');
    return html.slice(start, html.indexOf('data-tile="', start + 10));
  };

  beforeAll(() => {
    dir = makeProject({}, false);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    expect(vigil(dir, ['demo', '--rows', '5000', '--days', '10']).code).toBe(0);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
  }, 120_000);
  afterAll(() => dir && removeDir(dir));

  it('before the first sync the gauge says so, and the render does not fail', () => {
    expect(gauge()).toContain('Not synced yet: no &quot;raw&quot;.&quot;vigil_sync_state&quot; (vigil sync writes it)');
  });

  it('after a sync it shows the stalest stream against the SLO bands', async () => {
    const duck = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    // at second 58.5 of a minute: 2 min 5 s later crosses three minute boundaries but is 2 minutes
    // elapsed (the gauge counts elapsed minutes; counting boundaries read 3 here)
    const synced = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 58_500);
    try {
      const w = duck.syncWriter();
      await w.ensureState('raw');
      const rel = { schema: 'raw', identifier: STATE_TABLE };
      await w.recordRun(rel, 'raw.workflows', 'success', null, synced.toISOString(), 0);
      await w.recordRun(rel, 'raw.ai_audit_logs', 'success', null, synced.toISOString(), 0);
      // the writer stamps last_synced_at with the clock of the run: pin it to `synced`
      await duck.execute(`update raw.${STATE_TABLE} set last_synced_at = '${synced.toISOString()}'::timestamptz`);
      // a later failure does not move last_synced_at: the gauge measures successful syncs
      await w.recordRun(rel, 'raw.ai_audit_logs', 'error', 'connection refused', null, 0);
    } finally {
      await duck.close();
    }
    const at = (minutes: number) => new Date(synced.getTime() + minutes * 60_000 + 5_000).toISOString();
    // within the 5-minute SLO: green
    expect(gauge(at(2))).toMatch(/fill="#12B76A"[^>]*>2 min</);
    // past it, before seed 000's 15-minute alert: orange
    expect(gauge(at(12))).toMatch(/fill="#F79009"[^>]*>12 min</);
    // past the alert: red
    expect(gauge(at(20))).toMatch(/fill="#D92D20"[^>]*>20 min</);
    // one stream 10 minutes behind the other: the gauge shows the stalest, not the freshest
    const again = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      await again.execute(`update raw.${STATE_TABLE} set last_synced_at = last_synced_at - interval 10 minute where stream = 'raw.workflows'`);
    } finally {
      await again.close();
    }
    expect(gauge(at(2))).toMatch(/fill="#F79009"[^>]*>12 min</);
  });
});
