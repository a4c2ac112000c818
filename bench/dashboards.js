// Dashboard benchmark (node bench/run.js dashboards): rendering the shipped dashboards as HTML
// on the demo rows vs running the same queries alone (bench/direct-dashboards.js: every query
// the render runs, drill-down pages included, listed by bench/render-queries.js from the
// render's own code), whole process and in process, BENCH_DASHBOARD_REPS runs (default 5)
// alternating, median and range; cold (no kept drawings) and warm (tile-cache.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseline, fromSource } from './baseline-bundle.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const VIGIL = join(REPO, 'bin', 'vigil.js');

const hasTime = existsSync('/usr/bin/time');

/** A process's wall time, and its CPU time (user + system, from /usr/bin/time): less moved by other load on the machine than the wall time. */
function timed(args, cwd) {
  const cmd = hasTime ? ['/usr/bin/time', ['-f', '__CPU=%U %S', process.execPath, ...args]] : [process.execPath, args];
  const t0 = performance.now();
  const r = spawnSync(cmd[0], cmd[1], { cwd, encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const cpu = /__CPU=(\d+\.\d+) (\d+\.\d+)/.exec(r.stderr);
  return { wall, cpu: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN, stdout: r.stdout };
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

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** "median s (min–max)" of one measure over the repetitions */
const spread = (xs, k) => {
  const v = xs.map((x) => x[k]);
  return `${median(v).toFixed(3)} s (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)})`;
};
/** the ratio of the medians, and the range of the ratios of the runs side by side (same repetition) */
const ratio = (a, b, k) => {
  const rs = a.map((x, i) => x[k] / b[i][k]);
  return `${(median(a.map((x) => x[k])) / median(b.map((x) => x[k]))).toFixed(2)}x (runs ${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}x)`;
};

export async function benchDashboards(dir, report, rows) {
  const at = '2026-11-01T00:00:00Z';
  const reps = Number(process.env.BENCH_DASHBOARD_REPS ?? 5);
  await syncState(join(dir, '.vigil', 'dev.duckdb'), at);
  const site = join(dir, 'target', 'bench-site');
  timed([VIGIL, 'dashboards', 'render', '--out', site, '--at', at], dir); // warm up
  // the baseline's list: every query the render runs, from the render's own walk over the site
  const plan = join(dir, 'target', 'bench-dash-queries.json');
  timed([fromSource('render-queries.js'), at, plan], dir);
  const db = join(dir, '.vigil', 'dev.duckdb');
  const cold = [];
  const warm = [];
  const d = [];
  const cache = join(dir, 'target', '.cache', 'dashboard-tiles.json');
  // each build answers from its own project snapshot: a snapshot is kept for one build, so with
  // BENCH_DASHBOARDS_BEFORE the builds would otherwise compile the project on every other render
  const snapshot = join(dir, 'target', '.cache', 'dashboards.bin');
  const snapshots = new Map();
  const render = (vigil = VIGIL) => {
    if (snapshots.has(vigil)) writeFileSync(snapshot, snapshots.get(vigil));
    const r = timed([vigil, 'dashboards', 'render', '--out', site, '--at', at], dir);
    if (existsSync(snapshot)) snapshots.set(vigil, readFileSync(snapshot));
    const m = /Queried (\d+) tiles(?: and (\d+) more for (\d+) drill-down pages?)?(?:,? (?:and )?\d+ raw-rows quer(?:y|ies) \(one per page\))? in (\d+\.\d+)s \(drawing each as it arrived[^)]*\), assembled \d+ pages in (\d+\.\d+)s/.exec(r.stdout);
    return { wall: r.wall, cpu: r.cpu, inner: Number(m[4]) + Number(m[5]), query: Number(m[4]), render: Number(m[5]), tiles: m[1], drill: m[2] ? `, + ${m[2]} tiles of ${m[3]} drill-down pages` : '' };
  };
  // BENCH_DASHBOARDS_BEFORE=<another checkout's bin/vigil.js>: that build measured in the same rounds (before/after)
  const before = process.env.BENCH_DASHBOARDS_BEFORE;
  const bCold = [];
  const bWarm = [];
  // alternating, so that the machine's noise falls on all of them alike
  for (let i = 0; i < reps; i++) {
    const direct = timed([baseline('direct-dashboards.js'), plan, db], REPO);
    d.push({ wall: direct.wall, cpu: direct.cpu, inner: Number(/queries (\d+\.\d+)/.exec(direct.stdout)[1]), n: /count (\d+)/.exec(direct.stdout)[1] });
    // cold: every tile drawn; warm: the same rows as the last render, the drawings reused (tile-cache.ts)
    if (before) {
      rmSync(cache, { force: true });
      bCold.push(render(before));
      bWarm.push(render(before));
    }
    rmSync(cache, { force: true });
    cold.push(render());
    warm.push(render());
  }
  report(`dashboards render (${cold[0].tiles} tiles${cold[0].drill}; the baseline runs the ${d[0].n} statements the render runs, ${rows} rows), ${reps} runs alternating, median (min–max):`);
  report(`  whole process: direct ${spread(d, 'wall')}; render cold ${spread(cold, 'wall')} => ${ratio(cold, d, 'wall')}; warm ${spread(warm, 'wall')} => ${ratio(warm, d, 'wall')}`);
  if (before) report(`  before (${before}), whole process: cold ${spread(bCold, 'wall')} => ${ratio(bCold, d, 'wall')}; warm ${spread(bWarm, 'wall')} => ${ratio(bWarm, d, 'wall')}; in process cold ${ratio(bCold, d, 'inner')}, warm ${ratio(bWarm, d, 'inner')}`);
  report(`  CPU time (user + system) a process: direct ${spread(d, 'cpu')}; render cold ${spread(cold, 'cpu')} => ${ratio(cold, d, 'cpu')}; warm ${spread(warm, 'cpu')} => ${ratio(warm, d, 'cpu')}${before ? `; before: cold ${spread(bCold, 'cpu')}, warm ${spread(bWarm, 'cpu')}` : ''}`);
  report(`  in process: queries alone ${spread(d, 'inner')}; render cold ${spread(cold, 'inner')} (queries with drawing ${spread(cold, 'query')} + pages ${spread(cold, 'render')}) => ${ratio(cold, d, 'inner')}; warm ${spread(warm, 'inner')} => ${ratio(warm, d, 'inner')}`);
  await benchPng(dir, report, site, at, reps, warm, before);
}

/**
 * `render --png` (Chromium: one PNG per tab), warm (the drawings kept), beside the warm render
 * without PNGs measured above: what the pictures add. With BENCH_DASHBOARDS_BEFORE, that build's
 * too, alternating. CPU from /usr/bin/time: Chromium's processes are the render's children.
 */
async function benchPng(dir, report, site, at, reps, warm, before) {
  if (![process.env.VIGIL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].some((c) => c && existsSync(c))) {
    report('  render --png: skipped (no Chromium at /usr/bin/chromium or $VIGIL_CHROMIUM)');
    return;
  }
  const shots = join(dir, 'target', 'bench-png');
  const png = (vigil) => {
    rmSync(shots, { recursive: true, force: true });
    const r = timed([vigil, 'dashboards', 'render', '--out', site, '--at', at, '--png', '--png-dir', shots], dir);
    return { wall: r.wall, cpu: r.cpu, n: (r.stdout.match(/\.png \(/g) ?? []).length };
  };
  const now = [];
  const was = [];
  for (let i = 0; i < reps; i++) {
    if (before) was.push(png(before));
    now.push(png(VIGIL));
  }
  const minus = (xs, k) => median(xs.map((x) => x[k])) - median(warm.map((x) => x[k]));
  report(`  render --png, warm (${now[0].n} PNGs), ${reps} runs: whole process ${spread(now, 'wall')}, CPU ${spread(now, 'cpu')}; the PNGs add ${minus(now, 'wall').toFixed(2)} s wall, ${minus(now, 'cpu').toFixed(2)} s CPU to the warm render${before ? `; before (${before}): ${spread(was, 'wall')}, CPU ${spread(was, 'cpu')} => after/before ${ratio(now, was, 'wall')} wall, ${ratio(now, was, 'cpu')} CPU` : ''}`);
}
