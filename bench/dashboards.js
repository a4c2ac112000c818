// Dashboard benchmark (node bench/run.js dashboards): rendering the shipped dashboards as HTML
// on the demo rows vs running their tile queries alone (bench/direct-dashboards.js), whole
// process and in process, best of 3, alternating; cold (no kept drawings) and warm (tile-cache.ts).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseline } from './baseline-bundle.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const VIGIL = join(REPO, 'bin', 'vigil.js');

function timed(args, cwd) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { wall, stdout: r.stdout };
}

/** The sync state the freshness gauge reads, as `vigil sync` would have left it (the demo is not synced): both sides query it. */
async function syncState(dbPath, at) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(dbPath);
  const c = await db.connect();
  try {
    await c.run('create or replace table raw.vigil_sync_state (stream varchar primary key, last_synced_at timestamptz, source_max_cursor timestamptz, last_status varchar, last_error varchar, consecutive_failures integer, last_run_at timestamptz)');
    for (const s of ['ai_audit_logs', 'workflows', 'audit_trails', 'usage_log']) {
      await c.run(`insert into raw.vigil_sync_state values ('raw.${s}', timestamptz '${at}' - interval 3 minute, timestamptz '${at}' - interval 4 minute, 'success', null, 0, timestamptz '${at}' - interval 3 minute)`);
    }
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

export async function benchDashboards(dir, report, rows) {
  const at = '2026-11-01T00:00:00Z';
  await syncState(join(dir, '.vigil', 'dev.duckdb'), at);
  const exp = join(dir, 'target', 'bench-dash-json');
  rmSync(exp, { recursive: true, force: true });
  timed([VIGIL, 'dashboards', 'export', '--format', 'json', '--out', exp], dir);
  const site = join(dir, 'target', 'bench-site');
  timed([VIGIL, 'dashboards', 'render', '--out', site, '--at', at], dir); // warm up
  const v = [];
  const warm = [];
  const d = [];
  const cache = join(dir, 'target', '.cache', 'dashboard-tiles.json');
  const render = () => {
    const r = timed([VIGIL, 'dashboards', 'render', '--out', site, '--at', at], dir);
    // (drill-down pages: more tile queries than the export lists; the direct run does not run them)
    const m = /Queried (\d+) tiles(?: and (\d+) more for (\d+) drill-down pages?)? in (\d+\.\d+)s \(drawing each as it arrived[^)]*\), assembled \d+ pages in (\d+\.\d+)s/.exec(r.stdout);
    return { wall: r.wall, inner: Number(m[4]) + Number(m[5]), query: Number(m[4]), render: Number(m[5]), tiles: m[1], drill: m[2] ? `, + ${m[2]} tiles of ${m[3]} drill-down pages` : '' };
  };
  for (let i = 0; i < 3; i++) {
    const direct = timed([baseline('direct-dashboards.js'), exp, join(dir, '.vigil', 'dev.duckdb'), at], REPO);
    d.push({ wall: direct.wall, inner: Number(/queries (\d+\.\d+)/.exec(direct.stdout)[1]), n: /count (\d+)/.exec(direct.stdout)[1] });
    // cold: every tile drawn; warm: the same rows as the last render, the drawings reused (tile-cache.ts)
    rmSync(cache, { force: true });
    v.push(render());
    warm.push(render());
  }
  const best = (xs, k) => Math.min(...xs.map((x) => x[k]));
  const f = (s) => `${s.toFixed(3)} s`;
  report(`dashboards render (${v[0].tiles} tiles${v[0].drill}, ${d[0].n} queries run directly, ${rows} rows): in process (queries with each tile drawn as it arrives ${f(best(v, 'query'))} + pages ${f(best(v, 'render'))}) vs queries alone ${f(best(d, 'inner'))} => ${(best(v, 'inner') / best(d, 'inner')).toFixed(2)}x`);
  report(`dashboards render: whole process vs whole process (Node + DuckDB + queries): ${f(best(v, 'wall'))} vs ${f(best(d, 'wall'))} => ${(best(v, 'wall') / best(d, 'wall')).toFixed(2)}x (runs vigil ${v.map((x) => x.wall.toFixed(2)).join(', ')}; direct ${d.map((x) => x.wall.toFixed(2)).join(', ')})`);
  report(`dashboards render, drawings reused (rows unchanged since the last render): in process ${f(best(warm, 'inner'))} => ${(best(warm, 'inner') / best(d, 'inner')).toFixed(2)}x; whole process ${f(best(warm, 'wall'))} => ${(best(warm, 'wall') / best(d, 'wall')).toFixed(2)}x (runs ${warm.map((x) => x.wall.toFixed(2)).join(', ')})`);
}
