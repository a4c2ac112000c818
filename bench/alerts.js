// Alert benchmarks (node bench/run.js alerts):
// 1. evaluating the shipped alerts on the demo rows vs running their compiled queries directly
//    (bench/direct-alerts.js), whole process and in process, best of 3, alternating;
// 2. 1,000 firing instances (then their 1,000 resolves) delivered to loopback PagerDuty
//    (HTTPS) and Slack receivers at raised rate limits, counted on the receivers' side.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { baseline } from './baseline-bundle.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const VIGIL = join(REPO, 'bin', 'vigil.js');

function timed(cmd, args, opts) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { wall, stdout: r.stdout };
}

export async function benchEvaluate(dir, report, rows) {
  const at = '2026-11-01T00:00:00Z';
  const args = ['alerts', 'evaluate', '--at', at, '--state-file', join(dir, '.vigil', 'bench-alerts.json')];
  // writes target/compiled/<project>/alerts/*.sql (exits 1 here: the receivers' env vars are not set)
  spawnSync(process.execPath, [VIGIL, 'alerts', 'check'], { cwd: dir });
  timed(process.execPath, [VIGIL, ...args], { cwd: dir }); // warm up
  const compiled = join(dir, 'target', 'compiled', 'ai_audit', 'alerts');
  const db = join(dir, '.vigil', 'dev.duckdb');
  const v = [];
  const d = [];
  for (let i = 0; i < 3; i++) {
    const direct = timed(process.execPath, [baseline('direct-alerts.js'), compiled, db, at], { cwd: REPO });
    d.push({ wall: direct.wall, inner: Number(/queries (\d+\.\d+)/.exec(direct.stdout)[1]) });
    rmSync(join(dir, '.vigil', 'bench-alerts.json'), { force: true });
    const viaVigil = timed(process.execPath, [VIGIL, ...args], { cwd: dir });
    v.push({ wall: viaVigil.wall, inner: Number(/Evaluated \d+ alerts in (\d+\.\d+)s/.exec(viaVigil.stdout)[1]) });
  }
  const best = (xs, k) => Math.min(...xs.map((x) => x[k]));
  const f = (s) => `${s.toFixed(3)} s`;
  report(`alerts evaluate (all shipped alerts, ${rows} rows, state in a file): in process ${f(best(v, 'inner'))} vs queries alone ${f(best(d, 'inner'))} => ${(best(v, 'inner') / best(d, 'inner')).toFixed(2)}x`);
  report(`alerts evaluate: whole process vs whole process (Node + DuckDB + queries): ${f(best(v, 'wall'))} vs ${f(best(d, 'wall'))} => ${(best(v, 'wall') / best(d, 'wall')).toFixed(2)}x (runs vigil ${v.map((x) => x.wall.toFixed(2)).join(', ')}; direct ${d.map((x) => x.wall.toFixed(2)).join(', ')})`);
}

function run(cwd, args, env) {
  return new Promise((res) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, [VIGIL, ...args], { cwd, env: { ...process.env, ...env } });
    let out = '';
    c.stdout.on('data', (b) => (out += b));
    c.stderr.on('data', (b) => (out += b));
    c.on('close', (code) => res({ code, out, wall: (performance.now() - t0) / 1000 }));
  });
}

export async function benchDelivery(work, report, n = 1000) {
  // the loopback receivers of the test suite, bundled for plain Node (next to their TLS fixtures)
  const fakes = join(REPO, 'test', 'support', `.bench-fakes-${process.pid}.mjs`);
  await build({
    stdin: { contents: `export { startFakePagerDuty } from './test/support/fake-pagerduty.ts'; export { startFakeSlack } from './test/support/fake-slack.ts';`, resolveDir: REPO, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: fakes,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const { startFakePagerDuty, startFakeSlack } = await import(pathToFileURL(fakes).href).finally(() => rmSync(fakes, { force: true }));
  const pd = await startFakePagerDuty();
  const slack = await startFakeSlack();
  const dir = join(work, 'delivery');
  rmSync(dir, { recursive: true, force: true });
  const files = {
    'project.yaml': `name: bench\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n`,
    'alerts/many.yaml': `alerts:
  - name: many
    severity: critical
    query: select i from range(${n}) t(i) where {{ current_date() }} < date '2026-06-01'
    group_by: [i]
    condition: { type: sql }
    summary: "instance {{ i }}"
`,
    'alerts/routes.yaml': `receivers:
  - name: pd
    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER, rate_per_minute: 60000 }
  - name: slack
    slack: { webhook_url_env: SLACK_URL, rate_per_second: 100 }
route:
  receiver: pd
  routes:
    - { receiver: pd, continue: true }
    - { receiver: slack }
`,
  };
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), t);
  }
  const env = { PD_KEY: 'R0UT1NGKEY0123456789abcdefBENCH0', PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath, SLACK_URL: slack.url };
  // a few faults on the way: a 429 burst and a 500 on each receiver
  pd.script([{ status: 429, retryAfter: 1 }, { status: 429, retryAfter: 1 }, { status: 500 }]);
  slack.script([{ status: 429, retryAfter: 1 }, { status: 500 }]);
  const fire = await run(dir, ['alerts', 'evaluate', '--state-file', 'state.json', '--at', '2026-05-01T10:00:00Z'], env);
  const resolveRun = await run(dir, ['alerts', 'evaluate', '--state-file', 'state.json', '--at', '2026-07-01T10:00:00Z'], env);
  const incidents = [...pd.incidents.values()];
  const slackItems = slack.messages.flatMap((m) => (m.attachments ?? []).map((a) => JSON.stringify(a).match(/vigil-[0-9a-f]{32}/)?.[0]));
  const firingItems = slack.messages.filter((m) => String(m.text).includes('firing')).flatMap((m) => m.attachments ?? []).length;
  const ok =
    fire.code === 0 &&
    resolveRun.code === 0 &&
    incidents.length === n &&
    incidents.every((x) => x.opened === 1 && x.resolved === 1 && x.triggers === 1) &&
    pd.duplicates === 0 &&
    new Set(slackItems).size === n &&
    slackItems.length === 2 * n &&
    firingItems === n;
  report(
    `alerts delivery: ${n} firing instances -> ${incidents.length} PagerDuty incidents (opened once: ${incidents.filter((x) => x.opened === 1).length}, duplicates ${pd.duplicates}) + ${slack.messages.length} Slack messages (${firingItems} firing items) in ${fire.wall.toFixed(2)} s whole process; ${n} resolves in ${resolveRun.wall.toFixed(2)} s; ${pd.requests} PD / ${slack.requests} Slack requests incl. injected 429/500 — ${ok ? 'none dropped or duplicated' : 'MISMATCH'}`,
  );
  await pd.close();
  await slack.close();
  if (!ok) throw new Error(`delivery benchmark mismatch:\n${fire.out.slice(-2000)}\n${resolveRun.out.slice(-2000)}`);
}

/**
 * 3. The message templates of N instances: Vigil's render (src/alerts/engine.ts summaryOf, each
 * template compiled once) beside nunjucks' renderString of the same template per instance (a
 * compile each time: what the engine did before), same run, CPU time, best of 3.
 */
export async function benchRender(report, n = 2000) {
  const out = join(REPO, 'bench', `.bench-render-${process.pid}.mjs`);
  await build({
    stdin: { contents: "export { summaryOf } from './src/alerts/engine.ts'; export { default as nunjucks } from 'nunjucks';", resolveDir: REPO, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    external: ['@duckdb/*'],
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const { summaryOf, nunjucks } = await import(pathToFileURL(out).href).finally(() => rmSync(out, { force: true }));
  const summary = '{{ capability }} volume {{ delta_percent | round(1) }}% vs the median ({{ value | round(1) }}) in {{ labels.workspace }}';
  const rule = { name: 'many', severity: 'critical', summary, condition: { type: 'threshold', column: 'value', op: '>', value: 1 }, labels: {} };
  const insts = Array.from({ length: n }, (_, i) => ({ kind: 'row', alert: 'many', labels: { alertname: 'many', workspace: `w${i}`, severity: 'critical' }, values: { capability: 'chat', delta_percent: i / 3, value: i * 1.5, workspace: `w${i}` } }));
  const env = new nunjucks.Environment(null, { autoescape: false });
  const cpu = (f) => {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  const vigil = [];
  const each = [];
  for (let r = 0; r < 3; r++) {
    vigil.push(cpu(() => insts.forEach((inst) => summaryOf(inst, rule))));
    each.push(cpu(() => insts.forEach((inst) => env.renderString(summary, { ...inst.values, labels: inst.labels }))));
  }
  const best = (xs) => Math.min(...xs);
  report(`alert message templates, ${n.toLocaleString('en-US')} instances: Vigil's render (compiled once, strict lookups) ${best(vigil).toFixed(0)} ms CPU vs nunjucks renderString per instance ${best(each).toFixed(0)} ms => ${(best(vigil) / best(each)).toFixed(2)}x (runs ${vigil.map((x) => x.toFixed(0)).join(', ')} / ${each.map((x) => x.toFixed(0)).join(', ')})`);
}
