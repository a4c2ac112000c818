/**
 * Differential test: Vigil routes alerts exactly like Alertmanager.
 *
 * The same alerts/routes.yaml text is given to Alertmanager 0.25's own CLI
 * (`amtool config routes test`, `amtool check-config`; Debian package prometheus-alertmanager)
 * and to Vigil (`parseRoutes` + `routeAlert`), and their answers are compared:
 *
 *  - seeded random routing trees (match, match_re, matchers with = != =~ !~ quoted and bare,
 *    several matchers on one label, continue, inherited receivers, group_by [] / ['...'],
 *    time intervals, inhibit rules) × label sets where labels are often missing or empty:
 *    the receivers in order, one per matched route, must be the same;
 *  - Alertmanager's documented examples (doc/examples/simple.yml, the configuration docs);
 *  - matcher syntax corners of Alertmanager's parser (pkg/labels/parse.go);
 *  - `vigil alerts route-test`'s arguments (the CLI, built) against amtool's reading of the same ones;
 *  - validation: a file amtool check-config refuses must give an error diagnostic, and only such a file.
 *
 * Reproduce or widen: VIGIL_AMTOOL_SEED=<n> VIGIL_AMTOOL_TREES=<n> npx vitest run test/alerts/routing-amtool.test.ts
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRoutes } from '../../src/alerts/load-alerts.js';
import { parseMatcher, routeAlert } from '../../src/alerts/routing.js';
import { freePort } from '../../src/free-port.js';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { Rng } from '../support/seeded-random.js';

const AMTOOL = '/usr/bin/amtool';
const HAVE_AMTOOL = existsSync(AMTOOL);
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
if (!HAVE_AMTOOL) console.warn(`routing-amtool.test.ts: SKIPPED — ${AMTOOL} not found (apt-get install prometheus-alertmanager)`);

const BASE_SEED = Number(process.env.VIGIL_AMTOOL_SEED ?? 20260301);
const TREES = Number(process.env.VIGIL_AMTOOL_TREES ?? 50);
const LABEL_SETS_PER_TREE = 8;
/** hostile matcher strings, each checked alone and then routed */
const HOSTILE = Number(process.env.VIGIL_AMTOOL_HOSTILE ?? 400);
/** amtool processes in flight at once (measured on 2 busy cores: 1 → 22 s, 2, 4 or 8 → 15–17 s). */
const PARALLEL = 4;

type Labels = Record<string, string>;

// ---------------------------------------------------------------- random routing trees

const LABELS = ['alertname', 'severity', 'team', 'env', 'service', 'capability', 'region'] as const;
/** values for = and != (and match:), including the empty string and regex-special characters */
const EQ_VALUES = ['', 'critical', 'warning', 'db', 'web', 'a.b', 'axb', 'x|y', 'x', 'foo-bar'];
/** values for =~ and !~ (and match_re:); all mean the same in Go's RE2 and JavaScript */
const RE_VALUES = ['x|y', 'a.b', '.+', '.*', 'foo-.*', 'critical|warning', '(db|web)', 'x\\|y', '[a-z]+', 'a\\.b', '', 'crit.*', 'db|', '.*b', 'foo-bar'];
/** label values alerts carry */
const LABEL_VALUES = [...EQ_VALUES, 'y', 'foo-baz', 'info', 'abc', 'ab', 'b', 'xy'];
const RECEIVERS = ['pd', 'slack', 'mail', 'team-x', 'db_pager', 'blackhole'];
const OPS = ['=', '!=', '=~', '!~'] as const;
type Op = (typeof OPS)[number];
/** negative matchers let nearly everything through, and a child without continue hides its later siblings: fewer of them */
function pickOp(rng: Rng): Op {
  const r = rng.float();
  return r < 0.35 ? '=' : r < 0.7 ? '=~' : r < 0.85 ? '!=' : '!~';
}

interface GenRoute {
  receiver?: string;
  groupBy?: string[];
  continue?: boolean;
  match?: Array<[string, string]>;
  matchRe?: Array<[string, string]>;
  /** matcher strings exactly as written in the file */
  matchers?: string[];
  /** what the route tests, as Alertmanager reads it (to aim label sets at it; never used as the expected answer) */
  conds: Array<[string, Op, string]>;
  timing?: Array<[string, string]>;
  mute?: string[];
  active?: string[];
  routes: GenRoute[];
}

interface GenFile {
  route: GenRoute;
  receivers: string[];
  timeIntervals: boolean;
  inhibit: Array<{ source: string[]; target: string[]; equal: string[] }>;
}

/** Go-style escaping inside a quoted matcher value: \\ \" \n. */
const goEscape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * A matcher string as people write it: `l="v"`, `l=v` (bare), `l = "v"` (spaced), or
 * `l=~"a\.b"` (a backslash left as is: Alertmanager keeps a backslash that escapes nothing it knows).
 */
function renderMatcher(rng: Rng, label: string, op: Op, value: string): string {
  const bareOk = !/[",{}\s\\]/.test(value);
  const rawOk = value.includes('\\') && !/\\[\\"n]|"|\\$/.test(value);
  const r = rng.float();
  if (rawOk && r < 0.5) return `${label}${op}"${value}"`;
  if (bareOk && r < 0.3) return `${label}${op}${value}`;
  if (r > 0.93) return `${label} ${op} "${goEscape(value)}"`;
  return `${label}${op}"${goEscape(value)}"`;
}

function genConditions(rng: Rng, r: GenRoute, above: Set<string>): void {
  if (rng.chance(0.12)) return; // a catch-all child
  const n = rng.chance(0.7) ? 1 : rng.chance(0.8) ? 2 : 3;
  // mostly labels the routes above do not test, so that deep routes can be reached
  const fresh = LABELS.filter((l) => !above.has(l));
  for (let i = 0; i < n; i++) {
    // several matchers on one label, now and then
    const label = i > 0 && rng.chance(0.3) ? r.conds[0][0] : fresh.length && rng.chance(0.85) ? rng.pick(fresh) : rng.pick(LABELS);
    const form = rng.float();
    if (form < 0.2 && !r.match?.some(([l]) => l === label)) {
      const v = rng.pick(EQ_VALUES);
      (r.match ??= []).push([label, v]);
      r.conds.push([label, '=', v]);
    } else if (form < 0.4 && !r.matchRe?.some(([l]) => l === label)) {
      const v = rng.pick(RE_VALUES);
      (r.matchRe ??= []).push([label, v]);
      r.conds.push([label, '=~', v]);
    } else {
      const op = pickOp(rng);
      const v = op.includes('~') ? rng.pick(RE_VALUES) : rng.pick(EQ_VALUES);
      (r.matchers ??= []).push(renderMatcher(rng, label, op, v));
      r.conds.push([label, op, v]);
    }
  }
}

const GROUP_BYS: string[][] = [[], ['...'], ['alertname'], ['alertname', 'team'], ['env', 'service']];
const DURATIONS = ['10s', '30s', '5m', '1h', '1h30m', '2d'];

function genTiming(rng: Rng, r: GenRoute): void {
  if (rng.chance(0.2)) (r.timing ??= []).push(['group_wait', rng.pick([...DURATIONS, '0s'])]);
  if (rng.chance(0.2)) (r.timing ??= []).push(['group_interval', rng.pick(DURATIONS)]);
  if (rng.chance(0.2)) (r.timing ??= []).push(['repeat_interval', rng.pick(DURATIONS)]);
}

/** Receivers: mostly one of its own per route, so that the answer tells which route matched; some shared, some inherited. */
function genReceiver(rng: Rng, names: string[]): string | undefined {
  const r = rng.float();
  if (r < 0.45) {
    names.push(`${rng.pick(['team', 'r', 'pager'])}-${names.length}`);
    return names[names.length - 1];
  }
  return r < 0.8 ? rng.pick(RECEIVERS) : undefined;
}

/** Now and then a sibling's receiver again: with continue, a receiver reached by two routes is notified twice. */
function sameReceivers(rng: Rng, siblings: GenRoute[]): void {
  for (let i = 1; i < siblings.length; i++) if (siblings[i - 1].receiver && rng.chance(0.3)) siblings[i].receiver = siblings[i - 1].receiver;
}

function genRoute(rng: Rng, depth: number, maxDepth: number, intervals: boolean, names: string[], above: Set<string>): GenRoute {
  const r: GenRoute = { conds: [], routes: [] };
  r.receiver = genReceiver(rng, names);
  genConditions(rng, r, above);
  const below = new Set([...above, ...r.conds.map((c) => c[0])]);
  const c = rng.float();
  if (c < (r.conds.length ? 0.4 : 0.7)) r.continue = true;
  else if (c < (r.conds.length ? 0.5 : 0.8)) r.continue = false;
  if (rng.chance(0.25)) r.groupBy = rng.pick(GROUP_BYS);
  genTiming(rng, r);
  if (intervals && rng.chance(0.15)) r.mute = rng.chance(0.5) ? ['offhours'] : ['offhours', 'holidays'];
  if (intervals && rng.chance(0.15)) r.active = ['holidays'];
  if (depth < maxDepth && rng.chance(0.45)) {
    const n = 1 + rng.int(4);
    for (let i = 0; i < n; i++) r.routes.push(genRoute(rng, depth + 1, maxDepth, intervals, names, below));
    sameReceivers(rng, r.routes);
  }
  return r;
}

function genFile(rng: Rng): GenFile {
  const names = [...RECEIVERS];
  const intervals = rng.chance(0.3);
  const maxDepth = rng.chance(0.5) ? 3 : 4;
  const route: GenRoute = { receiver: rng.pick(RECEIVERS), conds: [], routes: [] };
  if (rng.chance(0.7)) route.groupBy = rng.pick(GROUP_BYS);
  genTiming(rng, route);
  const n = 2 + rng.int(3);
  for (let i = 0; i < n; i++) route.routes.push(genRoute(rng, 1, maxDepth, intervals, names, new Set()));
  sameReceivers(rng, route.routes);
  const inhibit: GenFile['inhibit'] = [];
  if (rng.chance(0.3)) {
    const m = () => {
      const op = pickOp(rng);
      return renderMatcher(rng, rng.pick(LABELS), op, op.includes('~') ? rng.pick(RE_VALUES) : rng.pick(EQ_VALUES));
    };
    inhibit.push({ source: [m()], target: [m(), ...(rng.chance(0.3) ? [m()] : [])], equal: rng.chance(0.5) ? ['alertname'] : ['alertname', 'team'] });
  }
  return { route, receivers: names, timeIntervals: intervals, inhibit };
}

// ---------------------------------------------------------------- YAML out

/** A YAML scalar for a string: plain when that is safe, else single- or double-quoted. */
function yamlStr(s: string, rng?: Rng): string {
  const plainOk = /^[A-Za-z_][^\n\t]*$/.test(s) && !/: |:$| #|\s$|^(true|false|yes|no|on|off|null|y|n)$/i.test(s);
  const r = rng ? rng.float() : 1;
  if (plainOk && r < 0.4) return s;
  if (r < 0.7) return `'${s.replace(/'/g, "''")}'`;
  return JSON.stringify(s);
}

function routeYaml(r: GenRoute, indent: string, rng: Rng, root = false): string[] {
  const out: string[] = [];
  const first = root ? indent : `${indent.slice(2)}- `;
  const key = (k: string, v: string) => out.push(`${out.length ? indent : first}${k}:${v === '' ? '' : ` ${v}`}`);
  if (r.receiver !== undefined) key('receiver', yamlStr(r.receiver, rng));
  if (r.match) {
    key('match', '');
    for (const [l, v] of r.match) out.push(`${indent}  ${l}: ${JSON.stringify(v)}`);
  }
  if (r.matchRe) {
    key('match_re', '');
    for (const [l, v] of r.matchRe) out.push(`${indent}  ${l}: ${rng.chance(0.5) ? JSON.stringify(v) : `'${v.replace(/'/g, "''")}'`}`);
  }
  if (r.matchers) {
    if (rng.chance(0.3)) key('matchers', `[${r.matchers.map((m) => (rng.chance(0.5) ? JSON.stringify(m) : `'${m.replace(/'/g, "''")}'`)).join(', ')}]`);
    else {
      key('matchers', '');
      for (const m of r.matchers) out.push(`${indent}  - ${yamlStr(m, rng)}`);
    }
  }
  if (r.continue !== undefined) key('continue', String(r.continue));
  if (r.groupBy) key('group_by', `[${r.groupBy.map((l) => `'${l}'`).join(', ')}]`);
  for (const [k, v] of r.timing ?? []) key(k, v);
  if (r.mute) key('mute_time_intervals', `[${r.mute.join(', ')}]`);
  if (r.active) key('active_time_intervals', `[${r.active.join(', ')}]`);
  if (r.routes.length) {
    key('routes', '');
    for (const c of r.routes) out.push(...routeYaml(c, `${indent}    `, rng));
  }
  if (!out.length) out.push(`${first.trimEnd()} {}`);
  return out;
}

const TIME_INTERVALS_YAML = `time_intervals:
  - name: offhours
    time_intervals:
      - weekdays: ['saturday', 'sunday']
      - times: [{ start_time: '00:00', end_time: '08:00' }]
        weekdays: ['monday:friday']
  - name: holidays
    time_intervals:
      - months: ['december']
        days_of_month: ['24:26']
`;

function fileYaml(f: GenFile, rng: Rng): string {
  const lines = ['route:', ...routeYaml(f.route, '  ', rng, true)];
  lines.push('receivers:', ...f.receivers.map((n) => `  - name: ${n}`));
  if (f.inhibit.length) {
    lines.push('inhibit_rules:');
    for (const i of f.inhibit) {
      lines.push(`  - source_matchers: [${i.source.map((m) => `'${m.replace(/'/g, "''")}'`).join(', ')}]`);
      lines.push(`    target_matchers: [${i.target.map((m) => `'${m.replace(/'/g, "''")}'`).join(', ')}]`);
      lines.push(`    equal: [${i.equal.join(', ')}]`);
    }
  }
  return `${lines.join('\n')}\n${f.timeIntervals ? TIME_INTERVALS_YAML : ''}`;
}

/** Whether a value passes a generated condition. Only to aim label sets at routes: the pools mean the same in RE2 and JavaScript. */
function passes([, op, v]: [string, Op, string], value: string): boolean {
  const re = () => new RegExp(`^(?:${v})$`).test(value);
  return op === '=' ? value === v : op === '!=' ? value !== v : op === '=~' ? re() : !re();
}

/**
 * Label sets: the empty one, then mostly sets aimed at a random route — satisfying the matchers
 * on its path and, where it can, failing an earlier sibling without continue that would catch
 * the alert first; a label that may be empty often left out, now and then one label changed or
 * dropped, sometimes an unrelated label added — and some random subsets of the pool.
 */
function genLabelSets(rng: Rng, f: GenFile, n: number): Labels[] {
  type Cond = [string, Op, string];
  const targets: Array<{ conds: Cond[]; avoid: Cond[][] }> = [];
  const walk = (r: GenRoute, conds: Cond[], avoid: Cond[][]) => {
    r.routes.forEach((c, i) => {
      const shadows = r.routes.slice(0, i).filter((s) => !s.continue).map((s) => s.conds);
      const t = { conds: [...conds, ...c.conds], avoid: [...avoid, ...shadows] };
      targets.push(t);
      walk(c, t.conds, t.avoid);
    });
  };
  walk(f.route, [], []);
  const sets: Labels[] = [{}];
  while (sets.length < n) {
    const ls: Labels = {};
    if (targets.length && rng.chance(0.8)) {
      const { conds, avoid } = rng.pick(targets);
      for (const label of new Set(conds.map((c) => c[0]))) {
        const mine = conds.filter((c) => c[0] === label);
        const ok = [...new Set([...LABEL_VALUES, ...mine.map((c) => c[2])])].filter((v) => mine.every((c) => passes(c, v)));
        const v = ok.length ? rng.pick(ok) : rng.pick(LABEL_VALUES);
        if (v !== '' || rng.chance(0.5)) ls[label] = v;
      }
      const fixed = new Set(conds.map((c) => c[0]));
      for (const sib of avoid) {
        if (!sib.length || sib.some((c) => !passes(c, ls[c[0]] ?? ''))) continue; // a catch-all, or already failed
        const free = sib.filter((c) => !fixed.has(c[0]));
        if (!free.length) continue;
        const c = rng.pick(free);
        const bad = LABEL_VALUES.filter((v) => !passes(c, v));
        if (!bad.length) continue;
        const v = rng.pick(bad);
        if (v === '') delete ls[c[0]];
        else ls[c[0]] = v;
        fixed.add(c[0]);
      }
      const keys = Object.keys(ls);
      if (keys.length && rng.chance(0.2)) {
        const k = rng.pick(keys);
        if (rng.chance(0.5)) delete ls[k];
        else ls[k] = rng.pick(LABEL_VALUES);
      }
      if (rng.chance(0.3)) ls[rng.pick(LABELS)] ??= rng.pick(LABEL_VALUES);
    } else {
      for (const l of LABELS) if (rng.chance(0.4)) ls[l] = rng.pick(LABEL_VALUES);
    }
    sets.push(ls);
  }
  return sets;
}

// ---------------------------------------------------------------- the two sides

let dir = '';
let fileNo = 0;
function writeTemp(text: string): string {
  const p = join(dir, `routes-${++fileNo}.yaml`);
  writeFileSync(p, text);
  return p;
}

interface AmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

function amtool(args: string[]): Promise<AmResult> {
  return new Promise((resolve) => {
    // HOME: no personal ~/.config/amtool/config.yml changes the answers
    execFile(AMTOOL, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr).replace(/^Warning: --config.file flag overrides the --alertmanager.url.\n?/m, '') }),
    );
  });
}

/** Runs the jobs with at most PARALLEL amtool processes at once. */
async function pool<T>(jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]();
      }
    }),
  );
  return out;
}

/** amtool's way of writing a label on the command line: name="value", Go-escaped (name="" is an empty value). */
const amLabelArgs = (ls: Labels) => Object.entries(ls).map(([k, v]) => `${k}="${goEscape(v)}"`);
const showLabels = (ls: Labels) => `{${amLabelArgs(ls).join(', ')}}`;

async function amtoolRoute(file: string, ls: Labels): Promise<string[] | { error: string }> {
  const r = await amtool(['config', 'routes', 'test', `--config.file=${file}`, ...amLabelArgs(ls)]);
  if (!r.ok) return { error: (r.stderr || r.stdout).trim() };
  return r.stdout.trim().split(',');
}

/**
 * `amtool check-config f1 f2 ...` in one process: its verdict on each file,
 * from its "Checking 'f'  SUCCESS" / "Checking 'f'  FAILED: why" lines.
 */
async function amtoolCheck(files: string[]): Promise<Array<{ ok: boolean; says: string }>> {
  const r = await amtool(['check-config', ...files]);
  const text = r.stdout + r.stderr;
  return files.map((f) => {
    const at = text.indexOf(`Checking '${f}'  `);
    if (at < 0) return { ok: false, says: `no verdict for ${f} in amtool's output:\n${text}` };
    const says = text.slice(at).split(/\n\s*\n|\nFound:/)[0].trim();
    return { ok: /^Checking '[^']*' {2}SUCCESS/.test(says), says };
  });
}

function vigilParse(text: string) {
  const { routes, diagnostics } = parseRoutes(text, 'alerts/routes.yaml');
  const errors = diagnostics.filter((d) => d.severity === 'error');
  return { routes: errors.length ? undefined : routes, errors, diagnostics };
}

const showDiags = (ds: ReturnType<typeof vigilParse>['diagnostics']) => ds.map((d) => `  ${d.severity} ${d.code} ${d.file}:${d.line}:${d.column} ${d.message}`).join('\n');
const numbered = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(3)}| ${l}`)
    .join('\n');

interface RoutingCase {
  name: string;
  yaml: string;
  labelSets: Labels[];
  /** filled in by beforeAll */
  amtool?: Array<string[] | { error: string }>;
}

/** Compares every label set of a case; returns the failure report, or '' when Vigil agrees with amtool everywhere. */
function compareCase(c: RoutingCase): string {
  const v = vigilParse(c.yaml);
  const head = `${c.name}\n--- routes.yaml\n${numbered(c.yaml)}\n`;
  if (!v.routes) {
    const amErr = c.amtool?.find((a) => !Array.isArray(a)) as { error: string } | undefined;
    return `${head}--- Vigil refuses the file${amErr ? ' (and so does amtool)' : ' that amtool accepts'}:\n${showDiags(v.diagnostics)}${amErr ? `\n--- amtool: ${amErr.error}` : ''}`;
  }
  const bad: string[] = [];
  c.labelSets.forEach((ls, i) => {
    const am = c.amtool![i];
    let vigil: string[] | string;
    try {
      const routed = routeAlert(v.routes!, ls);
      vigil = routed.map((r) => r.receiver);
      const paths = routed.map((r) => r.path);
      if (new Set(paths).size !== paths.length) vigil = `${vigil.join(',')}  (a route listed twice: ${paths.join(' ')})`;
    } catch (e) {
      vigil = `threw ${(e as Error).stack ?? e}`;
    }
    const amText = Array.isArray(am) ? am.join(',') : `amtool failed: ${am.error}`;
    const vText = Array.isArray(vigil) ? vigil.join(',') : vigil;
    if (amText !== vText) bad.push(`labels ${showLabels(ls)}\n    amtool: ${amText}\n    vigil:  ${vText}`);
  });
  return bad.length ? `${head}--- ${bad.length} of ${c.labelSets.length} label sets route differently\n  ${bad.join('\n  ')}` : '';
}

async function runRouting(cases: RoutingCase[]): Promise<void> {
  const jobs: Array<() => Promise<void>> = [];
  for (const c of cases) {
    const file = writeTemp(c.yaml);
    c.amtool = new Array(c.labelSets.length);
    c.labelSets.forEach((ls, i) => jobs.push(async () => void (c.amtool![i] = await amtoolRoute(file, ls))));
  }
  await pool(jobs);
}

// ---------------------------------------------------------------- the tests

describe.skipIf(!HAVE_AMTOOL)(HAVE_AMTOOL ? 'routing agrees with Alertmanager (amtool)' : `routing agrees with Alertmanager — SKIPPED: ${AMTOOL} not found (apt-get install prometheus-alertmanager)`, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-amtool-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe(`random routing trees (seed ${BASE_SEED}, ${TREES} trees × ${LABEL_SETS_PER_TREE} label sets)`, () => {
    const cases: RoutingCase[] = [];
    for (let t = 0; t < TREES; t++) {
      const seed = (BASE_SEED + Math.imul(t + 1, 0x9e3779b1)) >>> 0;
      const rng = new Rng(seed);
      const f = genFile(rng);
      cases.push({ name: `tree ${t} (VIGIL_AMTOOL_SEED=${BASE_SEED}, tree seed ${seed})`, yaml: fileYaml(f, rng), labelSets: genLabelSets(rng, f, LABEL_SETS_PER_TREE) });
    }
    beforeAll(() => runRouting(cases));

    it.each(cases.map((c, i) => [i, c] as const))('tree %i', (_i, c) => {
      const report = compareCase(c);
      if (report) expect.fail(report);
    });
  });

  describe("Alertmanager's documented examples", () => {
    const cases: RoutingCase[] = [
      {
        // doc/examples/simple.yml (matchers form, as in Alertmanager 0.22+)
        name: 'doc/examples/simple.yml',
        yaml: `# The root route on which each incoming alert enters.
route:
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  receiver: team-X-mails
  routes:
    # This routes performs a regular expression match on alert labels to
    # catch alerts that are related to a list of services.
    - matchers:
        - service=~"foo1|foo2|baz"
      receiver: team-X-mails
      # The service has a sub-route for critical alerts, any alerts
      # that do not match, i.e. severity != critical, fall-back to the
      # parent node and are sent to 'team-X-mails'
      routes:
        - matchers:
            - severity="critical"
          receiver: team-X-pager
    - matchers:
        - service="files"
      receiver: team-Y-mails
      routes:
        - matchers:
            - severity="critical"
          receiver: team-Y-pager
    # This route handles all alerts coming from a database service. If there's
    # no team to handle it, it defaults to the DB team.
    - matchers:
        - service="database"
      receiver: team-DB-pager
      # Also group alerts by affected database.
      group_by: [alertname, cluster, database]
      routes:
        - matchers:
            - owner="team-X"
          receiver: team-X-pager
          continue: true
        - matchers:
            - owner="team-Y"
          receiver: team-Y-pager

inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster, service]

receivers:
  - name: 'team-X-mails'
  - name: 'team-X-pager'
  - name: 'team-Y-mails'
  - name: 'team-Y-pager'
  - name: 'team-DB-pager'
`,
        labelSets: [
          {},
          { service: 'foo1' },
          { service: 'foo2', severity: 'critical' },
          { service: 'baz', severity: 'warning' },
          { service: 'foo10' },
          { service: 'xfoo1', severity: 'critical' },
          { service: 'files', severity: 'critical' },
          { service: 'files', owner: 'team-X' },
          { service: 'database' },
          { service: 'database', owner: 'team-X' },
          { service: 'database', owner: 'team-Y' },
          { service: 'database', owner: 'team-Z', severity: 'critical' },
          { owner: 'team-X', severity: 'critical' },
        ],
      },
      {
        // the same file in its pre-0.22 form (match / match_re, the regex anchored by hand)
        name: 'doc/examples/simple.yml, match/match_re form',
        yaml: `route:
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  receiver: team-X-mails
  routes:
  - match_re:
      service: ^(foo1|foo2|baz)$
    receiver: team-X-mails
    routes:
    - match:
        severity: critical
      receiver: team-X-pager
  - match:
      service: files
    receiver: team-Y-mails
    routes:
    - match:
        severity: critical
      receiver: team-Y-pager
  - match:
      service: database
    receiver: team-DB-pager
    group_by: [alertname, cluster, database]
    routes:
    - match:
        owner: team-X
      receiver: team-X-pager
      continue: true
    - match:
        owner: team-Y
      receiver: team-Y-pager
inhibit_rules:
- source_match:
    severity: 'critical'
  target_match:
    severity: 'warning'
  equal: ['alertname', 'cluster', 'service']
receivers:
- name: 'team-X-mails'
- name: 'team-X-pager'
- name: 'team-Y-mails'
- name: 'team-Y-pager'
- name: 'team-DB-pager'
`,
        labelSets: [{}, { service: 'foo1', severity: 'critical' }, { service: 'baz' }, { service: 'foo1x' }, { service: 'files', severity: 'critical' }, { service: 'database', owner: 'team-X' }, { service: 'database', owner: 'team-Y', severity: 'critical' }],
      },
      {
        // the route example of the configuration docs (docs/configuration.md, <route>)
        name: 'docs/configuration.md <route> example',
        yaml: `# The root route with all parameters, which are inherited by the child
# routes if they are not overwritten.
route:
  receiver: 'default-receiver'
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  group_by: [cluster, alertname]
  # All alerts that do not match the following child routes
  # will remain at the root node and be dispatched to 'default-receiver'.
  routes:
  # All alerts with service=mysql or service=cassandra
  # are dispatched to the database pager.
  - receiver: 'database-pager'
    group_wait: 10s
    matchers:
    - service=~"mysql|cassandra"
  # All alerts with the team=frontend label match this sub-route.
  # They are grouped by product and environment rather than cluster
  # and alertname.
  - receiver: 'frontend-pager'
    group_by: [product, environment]
    matchers:
    - team="frontend"

  # All alerts with the service=inhibit-service label match this sub-route.
  # the route will be muted during offhours and holidays time intervals.
  # even if it matches, it will continue to the next sub-route
  - receiver: 'dev-pager'
    matchers:
      - service="inhibit-service"
    mute_time_intervals:
      - offhours
      - holidays
    continue: true

    # All alerts with the service=inhibit-service label match this sub-route
    # the route will be active only during offhours and holidays time intervals.
  - receiver: 'on-call-pager'
    matchers:
      - service="inhibit-service"
    active_time_intervals:
      - offhours
      - holidays

time_intervals:
  - name: offhours
    time_intervals:
      - times:
          - start_time: '20:00'
            end_time: '23:00'
        weekdays: ['monday:friday']
  - name: holidays
    time_intervals:
      - months: ['december']
        days_of_month: ['24:26']

receivers:
  - name: 'default-receiver'
  - name: 'database-pager'
  - name: 'frontend-pager'
  - name: 'dev-pager'
  - name: 'on-call-pager'
`,
        labelSets: [{}, { service: 'mysql' }, { service: 'cassandra', team: 'frontend' }, { service: 'mysql2' }, { team: 'frontend' }, { service: 'inhibit-service' }, { service: 'inhibit-service', team: 'frontend' }, { team: 'backend' }],
      },
    ];
    beforeAll(() => runRouting(cases));
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
      const report = compareCase(c);
      if (report) expect.fail(report);
    });
  });

  describe("keys with no value, YAML merge keys and group_by ['...'] route as in amtool", () => {
    const R = 'receivers: [{name: a}, {name: b}, {name: c}, {name: d}]\n';
    const cases: RoutingCase[] = [
      {
        // every route key null: unset, as Go's yaml leaves the field (the receiver inherited, continue false)
        name: 'null keys on child routes',
        yaml: `route:
  receiver: a
  group_by: [x]
  routes:
    - receiver: ~
      continue: ~
      group_by: ~
      matchers: ~
      match: ~
      match_re: ~
      group_wait: ~
      group_interval: ~
      repeat_interval: ~
      mute_time_intervals: ~
      active_time_intervals: ~
      routes: ~
    - receiver: b
    - receiver: c
      matchers: ['y="1"']
      continue: ~
      routes:
        - matchers: ~
          receiver: ~
          continue: ~
        - receiver: d
inhibit_rules: ~
time_intervals: ~
${R}`,
        labelSets: [{}, { x: '1' }, { y: '1' }],
      },
      {
        name: 'a null key after a merge unsets the merged one',
        yaml: `route:
  receiver: a
  routes:
    - &base
      receiver: b
      matchers: ['x="1"']
      continue: true
    - <<: *base
      receiver: c
      continue: ~
    - <<: *base
      receiver: d
      matchers: ~
${R}`,
        labelSets: [{}, { x: '1' }, { x: '2' }],
      },
      {
        // a later key replaces the merged one, a merged one replaces an earlier key; match/match_re
        // maps are unioned and matchers lists appended, as Go's yaml decodes into Alertmanager's types
        name: 'merge keys: order, maps unioned, matchers appended',
        yaml: `route:
  receiver: a
  routes:
    - &d
      receiver: b
      match: {x: "2"}
      matchers: [z="1"]
      match_re: {w: "q"}
      continue: true
    - <<: *d
      receiver: c
      match: {y: "1"}
      matchers: [v="1"]
      match_re: {u: "q"}
    - receiver: c
      match: {y: "2"}
      <<: *d
${R}`,
        labelSets: [{ x: '2', z: '1', w: 'q' }, { y: '1', v: '1', u: 'q' }, { x: '2', y: '1', z: '1', v: '1', w: 'q', u: 'q' }, { y: '1', z: '1', v: '1', w: 'q', u: 'q' }, { x: '2', y: '1', v: '1', w: 'q', u: 'q' }, { x: '2', y: '1', z: '1', v: '1', u: 'q' }, { x: '2', y: '2', z: '1', w: 'q' }],
      },
      {
        // of a list of merged mappings the earlier wins; a match value as written (1.50, not 1.5)
        name: 'merge keys from a list of anchors, and a match value as written',
        yaml: `route:
  receiver: a
  routes:
    - &one {receiver: b, match: {v: 1.50}, continue: true}
    - &two {receiver: c, matchers: ['t="1"'], continue: false}
    - <<: [*one, *two]
    - <<: [*two, *one]
      receiver: d
${R}`,
        labelSets: [{}, { v: '1.50' }, { v: '1.5' }, { v: '1.50', t: '1' }, { t: '1' }],
      },
      {
        name: "group_by ['...', '...'] is every label, as ['...']",
        yaml: `route:\n  receiver: a\n  group_by: ['...', '...']\n  routes:\n    - {receiver: b, matchers: ['x=1'], group_by: ['...', '...']}\n${R}`,
        labelSets: [{}, { x: '1' }],
      },
    ];
    beforeAll(() => runRouting(cases));
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
      const report = compareCase(c);
      if (report) expect.fail(report);
    });

    it("a null group_by or duration is inherited, and group_by ['...', '...'] groups by every label", () => {
      // (amtool prints only receivers: the inheritance is Alertmanager's for an unset field, docs/alerts.md)
      const v = vigilParse(cases[0].yaml);
      expect(showDiags(v.diagnostics)).toBe('');
      const [first] = routeAlert(v.routes!, { x: '1' });
      expect(first).toMatchObject({ receiver: 'a', path: 'route.routes[0]', groupBy: ['x'], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatMs: 4 * 3_600_000 });
      const all = vigilParse(cases[4].yaml);
      expect(routeAlert(all.routes!, { x: '1' }).map((r) => r.groupBy)).toEqual(['...']);
    });

    it('two merge keys in one mapping: an error at the second saying to write one with a list (was: "Map keys must be unique", hint "fix the YAML syntax")', () => {
      const v = vigilParse(`route:\n  receiver: a\n  routes:\n    - &one\n      receiver: b\n    - &two\n      receiver: c\n    - <<: *one\n      <<: *two\n${R}`);
      expect(v.errors.map((d) => `${d.line}:${d.column} ${d.message} | ${d.hint}`)).toEqual(['9:7 two merge keys (<<) in one mapping: a key is written once | merge several mappings with one key and a list: <<: [*one, *two] (the earlier one wins a key both have)']);
    });

    it('an error in a merged mapping is placed where it is written (under its anchor)', () => {
      const v = vigilParse(`route:\n  receiver: a\n  routes:\n    - &d\n      receiver: nobody\n      matchers: ['x=1']\n    - <<: *d\n      matchers: ['y=1']\n    - <<: 5\n${R}`);
      expect(v.errors.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(['9:11 a merge key (<<) takes a mapping or a list of mappings (an alias of one: <<: *defaults)']);
      const w = vigilParse(`route:\n  receiver: a\n  routes:\n    - &d\n      receiver: nobody\n      matchers: ['x=1']\n    - <<: *d\n      matchers: ['y=1']\n${R}`);
      expect(w.errors.map((d) => `${d.line}:${d.column}`)).toEqual(['5:17', '5:17']);
    });
  });

  describe.skipIf(!existsSync(ALERTMANAGER))('`vigil alerts silence --match` reads one matcher as `amtool silence add` does (Alertmanager daemon)', () => {
    // [argument, what amtool was seen to do: the matcher it posted, or that it refused]
    const NBSP = '\u00a0';
    const args = [`capability=draft${NBSP}`, `capability=~"dr.*"${NBSP}`, 'capability=draft', ' team = "db" ', 'env!~"dev|test"', 'x="a,b"', '{a="1"}', `x=1${NBSP}`, 'x=a\tb', 'x=~a{2}', 'instance=~db[0-9]{2}', 'x=a}'];
    let am: ChildProcess | undefined;
    let url = '';
    const seen: Array<{ matcher?: { name: string; value: string; isRegex: boolean; isEqual: boolean }; error?: string }> = [];
    beforeAll(async () => {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      writeFileSync(join(dir, 'am.yml'), 'route: {receiver: a}\nreceivers: [{name: a}]\n');
      am = spawn(ALERTMANAGER, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !(await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
      for (const a of args) {
        const r = await amtool(['silence', 'add', `--alertmanager.url=${url}`, '-c', 'test', '-d', '1h', a]);
        if (!r.ok) {
          seen.push({ error: (r.stderr || r.stdout).trim() });
          continue;
        }
        const id = r.stdout.trim();
        const sil = (await (await fetch(`${url}/api/v2/silence/${id}`)).json()) as { matchers: Array<{ name: string; value: string; isRegex: boolean; isEqual: boolean }> };
        seen.push({ matcher: sil.matchers[0] });
      }
    }, 60_000);
    afterAll(() => am?.kill());
    it.each(args.map((a, i) => [JSON.stringify(a), i] as const))('%s', (_a, i) => {
      const v = parseMatcher(args[i]);
      const am0 = seen[i];
      const vigilSays = typeof v === 'string' ? `refuses: ${v}` : `${v.label} ${v.op} ${JSON.stringify(v.value)}`;
      const m = am0.matcher;
      const amSays = m ? `${m.name} ${m.isEqual ? (m.isRegex ? '=~' : '=') : m.isRegex ? '!~' : '!='} ${JSON.stringify(m.value)}` : `refuses: ${am0.error}`;
      if (vigilSays.startsWith('refuses') && amSays.startsWith('refuses')) return;
      expect(vigilSays).toBe(amSays);
    });
    it('a=1,b=2 (amtool: the value "1,b=2") is refused: one matcher per --match, a comma quoted', () => {
      expect(parseMatcher('a=1,b=2')).toMatch(/holds 2 matchers: give one per --match \(quote a value holding a comma/);
    });
    it('a bare comma that makes no second matcher (x=a,b; x=~a{2,3}) is refused with the quoted form to write', () => {
      // (was: "expected =, !=, =~ or !~ after 'b'", and for a{2,3} "ends in '}' ... which Alertmanager would drop")
      expect(parseMatcher('x=a,b')).toBe(`'x=a,b': a comma outside double quotes (amtool would read the value 'a,b'): give one matcher per --match, or quote a value holding a comma: x="a,b"`);
      expect(parseMatcher('x=~a{2,3}')).toMatch(/quote a value holding a comma: x=~"a\{2,3\}"$/);
      expect(parseMatcher('x=~"a{2,3}"')).toEqual({ label: 'x', op: '=~', value: 'a{2,3}' });
    });
  });

  describe("matcher syntax as Alertmanager 0.25's parser reads it", () => {
    // one tree per corner, every child with continue: true so each matcher is tried on its own
    const corner = (name: string, matchers: string[], labelSets: Labels[]): RoutingCase => ({
      name,
      yaml: `route:
  receiver: root
  routes:
${matchers.map((m, i) => `    - receiver: r${i}\n      continue: true\n      matchers: [${JSON.stringify(m)}]`).join('\n')}
receivers:
  - name: root
${matchers.map((_m, i) => `  - name: r${i}`).join('\n')}
`,
      labelSets,
    });
    const cases: RoutingCase[] = [
      {
        name: 'continue: a receiver reached by two routes is listed twice, in tree order',
        yaml: `route:
  receiver: default
  routes:
    - receiver: pd
      matchers: [severity="critical"]
      continue: true
    - receiver: slack
      continue: true
    - receiver: slack
      matchers: [team=~".+"]
      routes:
        - matchers: [env="prod"]
          continue: true
        - receiver: pd
          matchers: [env=~"prod|staging"]
    - receiver: never
receivers: [{name: default}, {name: pd}, {name: slack}, {name: never}]
`,
        labelSets: [{}, { severity: 'critical' }, { severity: 'critical', team: 'db' }, { team: 'db', env: 'prod' }, { team: 'db', env: 'staging' }, { team: '' }],
      },
      corner('empty and missing labels', ['env=""', 'env=', 'env!=""', 'env=~""', 'env!~".+"', 'env=~".*"', 'env=~"db|"', 'env!~""'], [{}, { env: '' }, { env: 'db' }, { env: 'x' }]),
      corner('regex-special characters in = and !=', ['service="a.b"', 'service=a.b', 'service="x|y"', 'service!="x|y"', 'service="foo-bar"', 'service=foo-bar'], [{ service: 'a.b' }, { service: 'axb' }, { service: 'x|y' }, { service: 'x' }, { service: 'foo-bar' }, {}]),
      corner('regexes are anchored', ['service=~"foo"', 'service=~"a.b"', 'service=~a.b|c', 'service!~"foo.*"', 'service=~"(db|web)"'], [{ service: 'foo' }, { service: 'foobar' }, { service: 'xfoo' }, { service: 'a,b' }, { service: 'c' }, { service: 'web' }, { service: 'webx' }]),
      corner('backslashes: \\\\ and \\" are escapes, any other backslash stays (\\. is a regex escape)', ['service=~"a\\\\.b"', 'service=~"a\\.b"', 'service=~a\\.b', 'service="q\\"q"', 'service=~"x\\|y"', 'service="a\\\\b"'], [{ service: 'a.b' }, { service: 'axb' }, { service: 'q"q' }, { service: 'x|y' }, { service: 'x' }, { service: 'a\\b' }]),
      corner('several matchers in one string, braces, spaces', ['{env="x",team="y"}', 'env=x,team=y', 'env="x", team=~"y|z"', ' env = "x" ', 'env != "x"'], [{}, { env: 'x' }, { env: 'x', team: 'y' }, { env: 'x', team: 'z' }, { team: 'y' }]),
      corner('a quoted comma is part of the value', ['service="a,b"', 'service=~"a,b|c"'], [{ service: 'a,b' }, { service: 'a' }, { service: 'c' }]),
      corner('Go regex syntax JavaScript spells differently', ['service=~"(?i)FOO"', 'service=~"\\\\d+"', 'service=~"[[:alpha:]]+"'], [{ service: 'foo' }, { service: 'FOO' }, { service: '123' }, { service: 'abc' }, { service: 'a1' }]),
      // RE2 semantics JavaScript's RegExp gives another meaning (Vigil runs them with re2js)
      corner('RE2 meanings: . and [^a] on a character outside the BMP, \\s and a no-break space, \\Q..\\E, \\x{41}, \\pL, a flag inside a group', ['service=~"."', 'service=~"[^a]"', 'service=~"\\\\s"', 'service=~"\\\\Qa.b\\\\E"', 'service=~"\\\\x{41}"', 'service=~"\\\\pL"', 'service=~"(?i:A)b"'], [{ service: '\u{1F600}' }, { service: '\u00a0' }, { service: ' ' }, { service: 'a.b' }, { service: 'axb' }, { service: 'A' }, { service: 'é' }, { service: 'ab' }, { service: 'AB' }]),
      // (were: Vigil trimmed these as JavaScript does — x="1" — where Go's \s leaves them in the value)
      corner('a no-break space or vertical tab is not space to Alertmanager, except at the very ends of the string', ['x=1\u00a0,y=2', 'x=\u00a01', 'x=1\u000b,y=2', 'y=2,x=1\u00a0'], [{ x: '1', y: '2' }, { x: '1\u00a0', y: '2' }, { x: '\u00a01' }, { x: '1\u000b', y: '2' }]),
      // (were: refused, "ends in '}'": Alertmanager drops only the brace that ends the whole string)
      corner('a bare value ending in } inside braces or before a comma', ['{service=~a{2}}', 'service=~a{2},x=1', '{x=a}}'], [{ service: 'aa', x: '1' }, { service: 'a{2}' }, { x: 'a}' }, { x: 'a' }]),
      corner("single quotes are not quotes to Alertmanager: env='x' is the value 'x' with its quotes", ["env='x'"], [{ env: 'x' }, { env: "'x'" }]),
      corner('`==` is = with a value starting with =', ['env==x'], [{ env: 'x' }, { env: '=x' }]),
      corner('an empty matchers string is no matcher', [''], [{}, { env: 'x' }]),
      {
        name: 'match: values are the scalar as written (1.50 stays "1.50", 010 stays "010")',
        yaml: `route:
  receiver: root
  routes:
    - {receiver: int, match: {a: 1}, continue: true}
    - {receiver: bool, match: {b: true}, continue: true}
    - {receiver: float, match: {e: 1.50}, continue: true}
    - {receiver: octal, match: {f: 010}, continue: true}
    - {receiver: re_int, match_re: {g: 1|2}, continue: true}
receivers: [{name: root}, {name: int}, {name: bool}, {name: float}, {name: octal}, {name: re_int}]
`,
        labelSets: [{ a: '1', b: 'true', e: '1.50', f: '010', g: '2' }, { e: '1.5', f: '10' }, { f: '8' }],
      },
      {
        // (were: refused as "expected a string, got number", .inf; or read as YAML 1.2 numbers, True)
        name: 'match: hex, exponent, signed, infinite and NaN numbers and a capitalized boolean are the text as written',
        yaml: `route:
  receiver: root
  routes:
    - {receiver: hex, match: {a: 0x1F}, continue: true}
    - {receiver: exp, match: {b: 1e3}, continue: true}
    - {receiver: plus, match: {c: +1}, continue: true}
    - {receiver: inf, match: {d: .inf}, continue: true}
    - {receiver: ninf, match: {e: -.inf}, continue: true}
    - {receiver: nan, match: {f: .nan}, continue: true}
    - {receiver: bool, match: {g: True}, continue: true}
    - {receiver: re_float, match_re: {h: 1.0}, continue: true}
receivers: [{name: root}, {name: hex}, {name: exp}, {name: plus}, {name: inf}, {name: ninf}, {name: nan}, {name: bool}, {name: re_float}]
`,
        labelSets: [
          { a: '0x1F', b: '1e3', c: '+1', d: '.inf', e: '-.inf', f: '.nan', g: 'True', h: '1.0' },
          { a: '31', b: '1000', c: '1', d: 'Infinity', e: '-Infinity', f: 'NaN', g: 'true', h: '1' },
          { h: '1x0' },
        ],
      },
    ];
    beforeAll(() => runRouting(cases));
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
      const report = compareCase(c);
      if (report) expect.fail(report);
    });
  });

  describe('`vigil alerts route-test` reads its arguments as `amtool config routes test` does', () => {
    const ROUTES = `route:
  receiver: root
  routes:
    - {receiver: web_api, matchers: ['service="web api"']}
    - {receiver: x, match: {service: x}}
    - {receiver: quote, match: {service: 'a"b'}}
    - {receiver: comma, match: {service: 'a,b'}}
    - {receiver: colon, matchers: ['a:b="1"']}
    - {receiver: empty, matchers: ['service=""']}
    - {receiver: nbsp, match: {service: "x\\u00a0"}}
receivers: [{name: root}, {name: web_api}, {name: x}, {name: quote}, {name: comma}, {name: colon}, {name: empty}, {name: nbsp}]
`;
    /** [arguments, what amtool 0.25 does (from experiment; informational)] */
    const cases: Array<[string[], string]> = [
      // (were: the quotes kept, "web api" routed as the value with its quotes)
      [['service="web api"'], 'web_api'],
      [['service=web api'], 'web_api'],
      // (was: exit 2, missing required argument)
      [[], 'empty'],
      [['service=x'], 'x'],
      [[' service = "x" '], 'x'],
      [['service=y', 'service=x'], 'x'],
      [['service=x', 'service=y'], 'root'],
      [['service="a\\"b"'], 'quote'],
      [['service="a,b"'], 'comma'],
      [['service='], 'empty'],
      [['service=""'], 'empty'],
      [['a:b=1'], 'colon'],
      [['service=a=b'], 'root'],
      // an alert's labels are name=value: no other operator (were: service!=x taken as the label 'service!' ...)
      [['service!=x'], 'refuses'],
      [['service=~x'], 'refuses'],
      [['service!~x'], 'refuses'],
      [['{service="x"}'], 'refuses'],
      [['service="x",foo=bar'], 'refuses'],
      [['service'], 'refuses'],
      [['1a=b'], 'refuses'],
      [['service=a"b'], 'refuses'],
      [[''], 'refuses'],
      // amtool reads each label with labels.ParseMatcher: only its regex's ASCII space is skipped
      // (were: trimmed of any Unicode space, as a matchers string's last piece is — service=x<NBSP>
      // routed as service=x, <NBSP>service=x accepted)
      [['service=x\u00a0'], 'nbsp'],
      [['service=x\u2028'], 'root'],
      [['service=x\u000b'], 'root'],
      [['\u00a0service=x'], 'refuses'],
    ];
    /** Vigil refuses these where amtool reads the rest of the argument as the value: a bare comma or closing brace (quote it). */
    const stricter: string[][] = [['service=a,b'], ['service=x}']];
    let project = '';
    const am: AmResult[] = [];
    beforeAll(async () => {
      project = makeProject({ 'models/a.sql': 'select 1 as x', 'alerts/routes.yaml': ROUTES });
      am.push(...(await pool([...cases.map((c) => c[0]), ...stricter].map((args) => () => amtool(['config', 'routes', 'test', `--config.file=${join(project, 'alerts/routes.yaml')}`, ...args])))));
    });
    afterAll(() => removeDir(project));
    it.each(cases.map(([args, seen], i) => [JSON.stringify(args), seen, i] as const))('%s (amtool: %s)', (_a, seen, i) => {
      const a = am[i];
      const v = vigil(project, ['alerts', 'route-test', ...cases[i][0]]);
      const last = v.stdout.trim().split('\n').at(-1);
      const report = `amtool: ${a.ok ? a.stdout.trim() : `refuses: ${a.stderr.trim()}`} (seen: ${seen})\nvigil exit ${v.code}:\n${v.stdout}${v.stderr}`;
      if (a.ok) expect([v.code, last], report).toEqual([0, `receivers: ${a.stdout.trim()}`]);
      else {
        expect(v.code, report).toBe(2);
        expect(v.stderr, report).toMatch(/^error: /);
        expect(v.stderr, report).not.toMatch(/\n\s+at /);
      }
    });
    it('a no-break space where amtool wants a label name is named by its code point (it prints as a space)', () => {
      const v = vigil(project, ['alerts', 'route-test', '\u00a0service=x']);
      expect(v.code, v.stdout + v.stderr).toBe(2);
      expect(v.stderr).toContain('(U+00A0 is not space to Alertmanager');
    });
    it.each(stricter.map((args, i) => [JSON.stringify(args), cases.length + i] as const))('Vigil is stricter: %s (quote the value)', (_a, i) => {
      expect(am[i].ok, am[i].stderr).toBe(true);
      const v = vigil(project, ['alerts', 'route-test', ...stricter[i - cases.length]]);
      expect(v.code, v.stdout + v.stderr).toBe(2);
      expect(v.stderr).toMatch(/quote/);
    });
  });

  describe(`hostile matcher strings (seed ${BASE_SEED}, ${HOSTILE} strings): accepted, refused and matched as Alertmanager's parser does`, () => {
    /**
     * Random matcher strings built to hit labels.ParseMatchers' corners: spaces that are space
     * to JavaScript and not to Go's RE2 (no-break space, vertical tab, U+2028, U+0085, U+3000,
     * U+FEFF) around names, operators, values and commas; braces, one of them, or space outside
     * them; quoted, bare, half-escaped values holding commas, quotes, backslashes, braces and
     * UTF-8; empty pieces between commas; an invalid regex now and then. Each string is first
     * checked alone (amtool check-config: accepted or refused, as Vigil), then the accepted
     * ones are routed, 25 per file, each a child with continue: true, against label sets that
     * carry their values, with and without the odd spaces.
     * (were, before matchers.ts split and trimmed as Alertmanager does: `x=1<NBSP>,y=2` matched
     * x="1" in Vigil and x="1<NBSP>" in Alertmanager; ` {x="1"}` and `<NBSP>x=1,y=2` accepted)
     */
    const NAMES = ['x', 'y', 'a:b', '_z'];
    const VALUES = ['', 'v', 'a b', 'a,b', 'a"b', 'a\\b', 'é', 'x|y', 'a.b', '.*', 'v\u00a0', '\u00a0v', 'v\u000b', '日本', 'a}', '{a', "'q'", 'a\\,b', 'a\nb'];
    const BAD_REGEX = ['(', '(?=a)', 'a**'];
    /** space to JavaScript's \s and trim(); only the first five are space to Go's regexp \s, and Go's TrimSpace takes U+0085 but not U+FEFF */
    const SPACES = ['', '', '', ' ', '  ', '\t', '\n', '\u00a0', '\u000b', '\u2028', '\u0085', '\u3000', '\ufeff'];
    const sp = (rng: Rng) => (rng.chance(0.6) ? '' : rng.pick(SPACES));
    interface Spec {
      text: string;
      /** the label names and the values it was written with, to aim label sets at it (never the expected answer) */
      aims: Array<[string, string]>;
    }
    function renderValue(rng: Rng, v: string): string {
      const r = rng.float();
      if (r < 0.45) return `"${goEscape(v)}"`;
      if (r < 0.7) return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
      if (r < 0.85) return v;
      return `"${v}"`;
    }
    function genSpec(rng: Rng): Spec {
      const n = rng.chance(0.6) ? 1 : rng.chance(0.7) ? 2 : 3;
      const aims: Spec['aims'] = [];
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const name = rng.pick(NAMES);
        const op = rng.pick(OPS);
        const v = op.includes('~') && rng.chance(0.04) ? rng.pick(BAD_REGEX) : rng.pick(VALUES);
        aims.push([name, v]);
        parts.push(`${sp(rng)}${name}${sp(rng)}${op}${sp(rng)}${renderValue(rng, v)}${sp(rng)}`);
      }
      let text = parts.map((p, i) => (i ? (rng.chance(0.05) ? ',,' : rng.pick([',', ', ', ' ,', ',\u00a0', ',\u2028'])) + p : p)).join('');
      if (rng.chance(0.1)) text += ',';
      const b = rng.float();
      if (b < 0.3) text = `{${text}}`;
      else if (b < 0.33) text = `{${text}`;
      else if (b < 0.36) text = `${text}}`;
      if (rng.chance(0.1)) text = rng.chance(0.5) ? `${rng.pick(SPACES.slice(3))}${text}` : `${text}${rng.pick(SPACES.slice(3))}`;
      return { text, aims };
    }
    /** A YAML double-quoted scalar with every character YAML 1.1 could take for a line break or space escaped. */
    const yq = (s: string) => JSON.stringify(s).replace(/[\u0085\u00a0\u2028\u2029\u3000\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const R = 'receivers: [{name: root}, ' + Array.from({ length: 25 }, (_, i) => `{name: m${i}}`).join(', ') + ']\n';
    const fileOf = (specs: Spec[]) => `route:\n  receiver: root\n  routes:\n${specs.map((s, i) => `    - {receiver: m${i}, continue: true, matchers: [${yq(s.text)}]}`).join('\n')}\n${R}`;
    /** one brace without the other: Alertmanager drops it alone (and with a `}` the end of a bare value); Vigil refuses it, deliberately (see "Vigil is stricter" below) */
    const lopsided = (t: string) => t.startsWith('{') !== t.endsWith('}');
    const rng = new Rng(BASE_SEED ^ 0x5eed);
    const specs = Array.from({ length: HOSTILE }, () => genSpec(rng));
    const checks: Array<{ ok: boolean; says: string }> = [];
    const routed: RoutingCase[] = [];
    beforeAll(async () => {
      checks.push(...(await amtoolCheck(specs.map((s) => writeTemp(fileOf([s]))))));
      const accepted = specs.filter((s, i) => checks[i].ok && !lopsided(s.text));
      for (let k = 0; k < accepted.length; k += 25) {
        const group = accepted.slice(k, k + 25);
        const labelSets: Labels[] = [{}];
        while (labelSets.length < 10) {
          const ls: Labels = {};
          for (let j = 1 + rng.int(3); j > 0; j--) {
            for (const [name, v] of rng.pick(group).aims) {
              const r = rng.float();
              const val = r < 0.5 ? v : r < 0.8 ? `${v}${rng.pick(SPACES.slice(3))}` : r < 0.9 ? `${rng.pick(SPACES.slice(3))}${v}` : v.trim();
              if (val !== '' || rng.chance(0.5)) ls[name] = val;
            }
          }
          labelSets.push(ls);
        }
        routed.push({ name: `hostile matchers ${k}-${k + group.length - 1} (VIGIL_AMTOOL_SEED=${BASE_SEED})`, yaml: fileOf(group), labelSets });
      }
      await runRouting(routed);
    });
    it('each string alone: amtool check-config and Vigil accept and refuse the same ones', () => {
      const bad = specs
        .map((s, i) => {
          const v = vigilParse(fileOf([s]));
          const vOk = v.errors.length === 0 && !!v.routes;
          if (lopsided(s.text) ? !vOk : vOk === checks[i].ok) return '';
          return `${JSON.stringify(s.text)}: amtool ${checks[i].ok ? 'accepts' : `refuses (${checks[i].says.replace(/^Checking '[^']*' {2}/, '')})`}, Vigil ${vOk ? 'accepts' : `refuses (${v.errors.map((d) => d.message).join('; ')})`}`;
        })
        .filter(Boolean);
      expect(checks.filter((c) => c.ok).length, 'too few strings amtool accepts to compare routing').toBeGreaterThan(HOSTILE / 4);
      expect(checks.filter((c) => !c.ok).length, 'too few strings amtool refuses to compare validation').toBeGreaterThan(HOSTILE / 10);
      if (bad.length) expect.fail(`${bad.length} of ${specs.length} matcher strings judged differently:\n  ${bad.join('\n  ')}`);
    });
    it('the accepted ones route as in amtool', () => {
      // (the label sets reach the matchers: most answers are more than the root)
      expect(routed.flatMap((c) => c.amtool!).filter((a) => Array.isArray(a) && a.join() !== 'root').length).toBeGreaterThan(routed.length * 5);
      const reports = routed.map(compareCase).filter(Boolean);
      if (reports.length) expect.fail(reports.join('\n\n'));
    });
  });

  describe('validation: amtool check-config fails exactly when parseRoutes reports an error', () => {
    const R = 'receivers: [{name: a}, {name: b}]\n';
    const ti = (fields: string) => `time_intervals: [{name: x, time_intervals: [{${fields}}]}]\nroute: {receiver: a}\n${R}`;
    const TI = "time_intervals:\n  - name: offhours\n    time_intervals:\n      - weekdays: ['monday:friday']\n        times: [{start_time: '18:00', end_time: '24:00'}]\n";
    /** [what, yaml, what amtool 0.25 says (from experiment; informational)] */
    const fixed: Array<[string, string, 'accepts' | 'refuses']> = [
      ['minimal', `route: {receiver: a}\n${R}`, 'accepts'],
      // a merge key is the plain << only: quoted it is a key like any other, which Alertmanager refuses (was: merged by Vigil)
      ['a merge key <<: *base', `route:\n  receiver: a\n  routes:\n    - &base\n      receiver: b\n    - <<: *base\n      matchers: ['x="1"']\n${R}`, 'accepts'],
      ['a quoted "<<": *base (a key, not a merge)', `route:\n  receiver: a\n  routes:\n    - &base\n      receiver: b\n    - "<<": *base\n      matchers: ['x="1"']\n${R}`, 'refuses'],
      ["a single-quoted '<<': *base", `route:\n  receiver: a\n  routes:\n    - &base\n      receiver: b\n    - '<<': *base\n      matchers: ['x="1"']\n${R}`, 'refuses'],
      // tagged, as yaml.v2 reads it: a merge key when plain and untagged, or tagged ! or !!merge; another tag makes it a key (was: !!str << merged, ! "<<" refused)
      ...([['!!str <<', 'refuses'], ['!foo <<', 'refuses'], ['!<tag:yaml.org,2002:str> <<', 'refuses'], ['&k !!str <<', 'refuses'], ['! "<<"', 'accepts'], ['!!merge <<', 'accepts'], ['!!merge "<<"', 'accepts'], ['&k <<', 'accepts'], ['{!!str <<', 'refuses'], ['{! "<<"', 'accepts']] as const).map(([key, says]): [string, string, 'accepts' | 'refuses'] => [
        `a merge key written ${key}: *base`,
        key.startsWith('{') ? `route:\n  receiver: a\n  routes:\n    - &base\n      receiver: b\n    - ${key}: *base, matchers: ['x="1"']}\n${R}` : `route:\n  receiver: a\n  routes:\n    - &base\n      receiver: b\n    - ${key}: *base\n      matchers: ['x="1"']\n${R}`,
        says,
      ]),
      ['receivers without integrations, one unused', `route: {receiver: a}\nreceivers: [{name: a}, {name: unused}]\n`, 'accepts'],
      ['group_by: []', `route: {receiver: a, group_by: []}\n${R}`, 'accepts'],
      ["group_by: ['...']", `route: {receiver: a, group_by: ['...']}\n${R}`, 'accepts'],
      ['continue: false on the root', `route: {receiver: a, continue: false}\n${R}`, 'accepts'],
      ['group_wait: 0s', `route: {receiver: a, group_wait: 0s}\n${R}`, 'accepts'],
      ['durations 1h30m, 1d, 500ms', `route: {receiver: a, group_wait: 500ms, group_interval: 1h30m, repeat_interval: 1d}\n${R}`, 'accepts'],
      ["a child with receiver: '' inherits", `route: {receiver: a, routes: [{receiver: '', matchers: ['x=y']}]}\n${R}`, 'accepts'],
      ['match with a number value', `route: {receiver: a, routes: [{receiver: b, match: {x: 1}}]}\n${R}`, 'accepts'],
      ['time intervals, mute and active on children', `${TI}route: {receiver: a, routes: [{receiver: b, mute_time_intervals: [offhours]}, {receiver: b, active_time_intervals: [offhours]}]}\n${R}`, 'accepts'],
      ['mute_time_intervals (the older top-level name)', `mute_time_intervals:\n  - name: x\n    time_intervals: [{weekdays: [saturday, sunday]}]\nroute: {receiver: a, routes: [{receiver: b, mute_time_intervals: [x]}]}\n${R}`, 'accepts'],
      ['inhibit rule with source_matchers/target_matchers/equal', `route: {receiver: a}\ninhibit_rules:\n  - source_matchers: ['severity="critical"']\n    target_matchers: ['severity=~"warning|info"']\n    equal: [alertname, team]\n${R}`, 'accepts'],
      ['inhibit rule with source_match/target_match', `route: {receiver: a}\ninhibit_rules:\n  - source_match: {severity: critical}\n    target_match_re: {severity: 'warning|info'}\n    equal: [alertname]\n${R}`, 'accepts'],
      ['(?i) regex (RE2 syntax)', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=~"(?i)foo"']}]}\n${R}`, 'accepts'],
      ['matchers on the root', `route: {receiver: a, matchers: ['x=y']}\n${R}`, 'refuses'],
      ['match on the root', `route: {receiver: a, match: {x: y}}\n${R}`, 'refuses'],
      ['match_re on the root', `route: {receiver: a, match_re: {x: y}}\n${R}`, 'refuses'],
      ['continue: true on the root', `route: {receiver: a, continue: true}\n${R}`, 'refuses'],
      ['mute_time_intervals on the root', `${TI}route: {receiver: a, mute_time_intervals: [offhours]}\n${R}`, 'refuses'],
      ['active_time_intervals on the root', `${TI}route: {receiver: a, active_time_intervals: [offhours]}\n${R}`, 'refuses'],
      ['root without a receiver', `route: {group_by: [x]}\n${R}`, 'refuses'],
      ['no route', R, 'refuses'],
      ['a child naming an unknown receiver', `route: {receiver: a, routes: [{receiver: nobody}]}\n${R}`, 'refuses'],
      ['the root naming an unknown receiver', `route: {receiver: nobody}\n${R}`, 'refuses'],
      ['a receiver defined twice', `route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n`, 'refuses'],
      ['a receiver without a name', `route: {receiver: a}\nreceivers: [{name: a}, {name: ''}]\n`, 'refuses'],
      ['a bad regex in match_re', `route: {receiver: a, routes: [{receiver: b, match_re: {x: '('}}]}\n${R}`, 'refuses'],
      ['a bad regex in matchers', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=~"("']}]}\n${R}`, 'refuses'],
      ['a lookahead (JavaScript has it, RE2 does not)', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=~"(?=a)a"']}]}\n${R}`, 'refuses'],
      ['escapes JavaScript has and RE2 refuses: \\Z', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=~"a\\\\Z"']}]}\n${R}`, 'refuses'],
      ['escapes JavaScript has and RE2 refuses: \\u0041', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=~"\\\\u0041"']}]}\n${R}`, 'refuses'],
      ['escapes JavaScript has and RE2 refuses: \\cA', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=~"\\\\cA"']}]}\n${R}`, 'refuses'],
      ['a backreference (JavaScript has it, RE2 does not)', `route: {receiver: a, routes: [{receiver: b, match_re: {x: '(a)\\1'}}]}\n${R}`, 'refuses'],
      ['a bad regex in an inhibit rule', `route: {receiver: a}\ninhibit_rules: [{source_matchers: ['x=~"("'], target_matchers: ['y="1"']}]\n${R}`, 'refuses'],
      ['a matcher without an operator', `route: {receiver: a, routes: [{receiver: b, matchers: ['x']}]}\n${R}`, 'refuses'],
      ['a matcher whose label starts with a digit', `route: {receiver: a, routes: [{receiver: b, matchers: ['1x=y']}]}\n${R}`, 'refuses'],
      ['a matcher with an unterminated quote', `route: {receiver: a, routes: [{receiver: b, matchers: ['x="y']}]}\n${R}`, 'refuses'],
      ["group_by '...' with another label", `route: {receiver: a, group_by: ['...', alertname]}\n${R}`, 'refuses'],
      ['a label twice in group_by', `route: {receiver: a, group_by: [x, x]}\n${R}`, 'refuses'],
      ['an invalid label name in group_by', `route: {receiver: a, group_by: ['1x']}\n${R}`, 'refuses'],
      ['an invalid label name in match', `route: {receiver: a, routes: [{receiver: b, match: {'1x': y}}]}\n${R}`, 'refuses'],
      ['an unknown key in a route', `route: {receiver: a, foo: 1}\n${R}`, 'refuses'],
      ['group_interval: 0s', `route: {receiver: a, group_interval: 0s}\n${R}`, 'refuses'],
      ['repeat_interval: 0s', `route: {receiver: a, repeat_interval: 0s}\n${R}`, 'refuses'],
      ['a duration in words', `route: {receiver: a, group_wait: 5 minutes}\n${R}`, 'refuses'],
      ['an undefined time interval', `${TI}route: {receiver: a, routes: [{receiver: b, mute_time_intervals: [nope]}]}\n${R}`, 'refuses'],
      ['a time interval defined twice', `${TI}  - name: offhours\n    time_intervals: [{weekdays: [sunday]}]\nroute: {receiver: a}\n${R}`, 'refuses'],
      ['days_of_month from the 1st to the last day (ends of both signs)', `time_intervals: [{name: x, time_intervals: [{days_of_month: ['1:-1']}]}]\nroute: {receiver: a}\n${R}`, 'accepts'],
      ['days_of_month whose start comes after its end (-1:5)', `time_intervals: [{name: x, time_intervals: [{days_of_month: ['-1:5']}]}]\nroute: {receiver: a}\n${R}`, 'refuses'],
      ['a bad weekday', `time_intervals: [{name: x, time_intervals: [{weekdays: [funday]}]}]\nroute: {receiver: a}\n${R}`, 'refuses'],
      ['a wrapping weekday range saturday:sunday', `time_intervals: [{name: x, time_intervals: [{weekdays: ['saturday:sunday']}]}]\nroute: {receiver: a}\n${R}`, 'refuses'],
      ['a bad time of day', `time_intervals: [{name: x, time_intervals: [{times: [{start_time: '25:00', end_time: '26:00'}]}]}]\nroute: {receiver: a}\n${R}`, 'refuses'],
      ['an unknown time zone', `time_intervals: [{name: x, time_intervals: [{weekdays: [sunday], location: Europe/Nowhere}]}]\nroute: {receiver: a}\n${R}`, 'refuses'],
      ['an invalid label name in equal', `route: {receiver: a}\ninhibit_rules: [{source_matchers: ['x="1"'], target_matchers: ['y="1"'], equal: ['1x']}]\n${R}`, 'refuses'],
      ['an inhibit rule with only equal', `route: {receiver: a}\ninhibit_rules: [{equal: [x]}]\n${R}`, 'accepts'],
      ['a bad regex in source_match_re', `route: {receiver: a}\ninhibit_rules: [{source_match_re: {x: '('}}]\n${R}`, 'refuses'],
      ['a key twice in one mapping', `route: {receiver: a, receiver: b}\n${R}`, 'refuses'],
      ['routes: with nothing', `route: {receiver: a, routes: }\n${R}`, 'accepts'],
      ['matchers: [] on a child', `route: {receiver: a, routes: [{receiver: b, matchers: []}]}\n${R}`, 'accepts'],
      ['match: values true and empty', `route: {receiver: a, routes: [{receiver: b, match: {x: true, y: }}]}\n${R}`, 'accepts'],
      ['a number as a receiver name', `route: {receiver: 1}\nreceivers: [{name: '1'}]\n`, 'accepts'],
      ['continue: yes (a YAML 1.1 boolean)', `route: {receiver: a, routes: [{receiver: b, continue: yes}]}\n${R}`, 'accepts'],
      ['continue: True', `route: {receiver: a, routes: [{receiver: b, continue: True}]}\n${R}`, 'accepts'],
      // (were: accepted)
      ['continue: "true" (quoted: a string)', `route: {receiver: a, routes: [{receiver: b, continue: "true"}]}\n${R}`, 'refuses'],
      ["continue: 'yes' (quoted: a string)", `route: {receiver: a, routes: [{receiver: b, continue: 'yes'}]}\n${R}`, 'refuses'],
      ['continue: yEs (not a YAML 1.1 spelling)', `route: {receiver: a, routes: [{receiver: b, continue: yEs}]}\n${R}`, 'refuses'],
      // (were: refused, "expected a string ..., got number")
      ['match: {x: .inf}', `route: {receiver: a, routes: [{receiver: b, match: {x: .inf}}]}\n${R}`, 'accepts'],
      ['match: {x: -.inf, y: .nan}', `route: {receiver: a, routes: [{receiver: b, match: {x: -.inf, y: .nan}}]}\n${R}`, 'accepts'],
      ['inhibit rule source_match: {x: .inf}', `route: {receiver: a}\ninhibit_rules: [{source_match: {x: .inf}, target_match_re: {y: .nan}}]\n${R}`, 'accepts'],
      ['a label name with a colon in matchers', `route: {receiver: a, routes: [{receiver: b, matchers: ['a:b="1"']}]}\n${R}`, 'accepts'],
      // (Vigil refused it: a " in a bare value, escaped)
      ['a bare value with an escaped quote', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=a\\"b']}]}\n${R}`, 'accepts'],
      // (were: accepted, Vigil trimmed the string and skipped any Unicode space)
      ['a space before the opening brace', `route: {receiver: a, routes: [{receiver: b, matchers: [' {x="1"}']}]}\n${R}`, 'refuses'],
      ['a space after the closing brace', `route: {receiver: a, routes: [{receiver: b, matchers: ['{x="1"} ']}]}\n${R}`, 'refuses'],
      ['a no-break space before the first of two matchers', `route: {receiver: a, routes: [{receiver: b, matchers: ["\\u00a0x=1,y=2"]}]}\n${R}`, 'refuses'],
      ['a vertical tab between name and operator', `route: {receiver: a, routes: [{receiver: b, matchers: ["x\\v=1"]}]}\n${R}`, 'refuses'],
      ['an escaped comma inside quotes leaves the quotes open (x="a\\,",y=1 is one matcher)', `route: {receiver: a, routes: [{receiver: b, matchers: ['x="a\\,",y=1']}]}\n${R}`, 'refuses'],
      ['two commas in a row', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=1,,y=2']}]}\n${R}`, 'refuses'],
      ['a trailing comma', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=1,']}]}\n${R}`, 'accepts'],
      ['a bare value with an unescaped quote', `route: {receiver: a, routes: [{receiver: b, matchers: ['x=a"b']}]}\n${R}`, 'refuses'],
      ['group_wait: 0 (no unit)', `route: {receiver: a, group_wait: 0}\n${R}`, 'accepts'],
      ['durations 1w and 1y', `route: {receiver: a, group_interval: 1w, repeat_interval: 1y}\n${R}`, 'accepts'],
      ['a negative duration', `route: {receiver: a, repeat_interval: -1m}\n${R}`, 'refuses'],
      ["end_time '24:00'", `time_intervals: [{name: x, time_intervals: [{times: [{start_time: '00:00', end_time: '24:00'}]}]}]\nroute: {receiver: a, routes: [{receiver: b, mute_time_intervals: [x]}]}\n${R}`, 'accepts'],
      ['a time interval with no intervals', `time_intervals: [{name: x, time_intervals: []}]\nroute: {receiver: a, routes: [{receiver: b, active_time_intervals: [x]}]}\n${R}`, 'accepts'],
      // days of month as Alertmanager checks a range: a negative day counts from a 28-day month's
      // end, a negative start needs a negative end (were: counted from a 30-day month, no sign rule)
      ...(
        [
          ["'25:-3'", 'accepts'],
          ["'26:-3'", 'refuses'],
          ["'27:-3'", 'refuses'],
          ["'28:-2'", 'refuses'],
          ["'29:-1'", 'refuses'],
          ["'1:-27'", 'accepts'],
          ["'1:-28'", 'refuses'],
          ["'2:-28'", 'refuses'],
          ["'-31:5'", 'refuses'],
          ["'-30:3'", 'refuses'],
          ["'-31:-1'", 'accepts'],
          ["'-1:-3'", 'refuses'],
          ["'+5'", 'accepts'],
          ["'05'", 'accepts'],
          ["' 1:5'", 'refuses'],
          ["'1: 5'", 'refuses'],
          ['1, 15', 'accepts'],
        ] as const
      ).map(([d, v]): [string, string, 'accepts' | 'refuses'] => [`days_of_month: [${d}]`, ti(`days_of_month: [${d}]`), v]),
      ['months as numbers: [1, 12]', ti('months: [1, 12]'), 'accepts'],
      ['years as a number: [2026]', ti('years: [2026]'), 'accepts'],
      ["weekdays: ['monday : friday'] (spaces)", ti("weekdays: ['monday : friday']"), 'refuses'],
      ["weekdays: [' monday']", ti("weekdays: [' monday']"), 'refuses'],
      ["weekdays: ['Monday:Friday', 'SATURDAY'] (any case)", ti("weekdays: ['Monday:Friday', 'SATURDAY']"), 'accepts'],
      ["location: 'utc' (zone names are exact)", ti("weekdays: [sunday], location: 'utc'"), 'refuses'],
      ["location: 'america/new_york'", ti("weekdays: [sunday], location: 'america/new_york'"), 'refuses'],
      ["location: '' (UTC)", ti("weekdays: [sunday], location: ''"), 'accepts'],
      ["location: 'Etc/GMT+5'", ti("weekdays: [sunday], location: 'Etc/GMT+5'"), 'accepts'],
      ["location: 'Local'", ti("weekdays: [sunday], location: 'Local'"), 'accepts'],
      // durations: units largest first, each once (were: any order, repeats added up)
      ['a duration with its units out of order (30m1h)', `route: {receiver: a, group_interval: 30m1h}\n${R}`, 'refuses'],
      ['a duration with a unit twice (1h1h)', `route: {receiver: a, group_interval: 1h1h}\n${R}`, 'refuses'],
      ['a duration 100ms500ms', `route: {receiver: a, group_wait: 100ms500ms}\n${R}`, 'refuses'],
      ['a duration with every unit (1y2w3d4h5m6s7ms)', `route: {receiver: a, repeat_interval: 1y2w3d4h5m6s7ms}\n${R}`, 'accepts'],
      // a key with no value (null) is unset, as Go's yaml leaves the field (was: refused by Vigil)
      ...['receiver', 'continue', 'group_by', 'matchers', 'match', 'match_re', 'group_wait', 'group_interval', 'repeat_interval', 'mute_time_intervals', 'active_time_intervals', 'routes'].map(
        (k): [string, string, 'accepts'] => [`${k}: ~ on a child route`, `route: {receiver: a, routes: [{receiver: b, matchers: ['x=1']}, {${k}: ~}]}\n${R}`, 'accepts'],
      ),
      ...['group_by', 'group_wait', 'group_interval', 'repeat_interval', 'routes'].map((k): [string, string, 'accepts'] => [`${k}: ~ on the root`, `route: {receiver: a, ${k}: ~}\n${R}`, 'accepts']),
      ['continue: ~, matchers: ~, match: ~ on the root (unset, so none)', `route: {receiver: a, continue: ~, matchers: ~, match: ~, match_re: ~}\n${R}`, 'accepts'],
      ['inhibit_rules: ~, time_intervals: ~, mute_time_intervals: ~', `route: {receiver: a}\ninhibit_rules: ~\ntime_intervals: ~\nmute_time_intervals: ~\n${R}`, 'accepts'],
      ['every key of an inhibit rule null', `route: {receiver: a}\ninhibit_rules: [{source_matchers: ~, target_matchers: ~, source_match: ~, target_match: ~, source_match_re: ~, target_match_re: ~, equal: ~}]\n${R}`, 'accepts'],
      ['every field of a time interval null', `time_intervals: [{name: x, time_intervals: [{times: ~, weekdays: ~, days_of_month: ~, months: ~, years: ~, location: ~}]}]\nroute: {receiver: a, routes: [{receiver: b, mute_time_intervals: [x]}]}\n${R}`, 'accepts'],
      ['receiver: ~ on the root (no default receiver)', `route: {receiver: ~}\n${R}`, 'refuses'],
      ['route: ~', `route: ~\n${R}`, 'refuses'],
      ['receivers: ~', `route: {receiver: a}\nreceivers: ~\n`, 'refuses'],
      ['a receiver named ~', `route: {receiver: a}\nreceivers: [{name: a}, {name: ~}]\n`, 'refuses'],
      ['a time interval named ~', `time_intervals: [{name: ~, time_intervals: []}]\nroute: {receiver: a}\n${R}`, 'refuses'],
      ['start_time: ~', `time_intervals: [{name: x, time_intervals: [{times: [{start_time: ~, end_time: ~}]}]}]\nroute: {receiver: a}\n${R}`, 'refuses'],
      ['a null regex in match_re', `route: {receiver: a, routes: [{receiver: b, match_re: {x: ~}}]}\n${R}`, 'refuses'],
      // group_by '...' (every label): twice is still every label; with a label beside it, refused
      ["group_by: ['...', '...']", `route: {receiver: a, group_by: ['...', '...']}\n${R}`, 'accepts'],
      ["group_by: ['...', x]", `route: {receiver: a, group_by: ['...', x]}\n${R}`, 'refuses'],
      ["group_by: [x, x]", `route: {receiver: a, group_by: [x, x]}\n${R}`, 'refuses'],
      // YAML merge keys, merged as Alertmanager's YAML 1.1 reader merges them (was: '<<' an unknown key)
      ['a YAML merge key (<<: *anchor) in a route', `route:\n  receiver: a\n  routes:\n    - &r1 {receiver: b, matchers: ['x=1'], continue: true}\n    - <<: *r1\n      receiver: a\n${R}`, 'accepts'],
      ['merge keys from a list of anchors', `route:\n  receiver: a\n  routes:\n    - &r1 {receiver: b, matchers: ['x=1'], continue: true}\n    - &r2 {group_wait: 10s, matchers: ['y=1']}\n    - <<: [*r1, *r2]\n${R}`, 'accepts'],
      ['a merged receiver that is not defined', `route:\n  receiver: a\n  routes:\n    - &r1 {receiver: b, matchers: ['x=1']}\n    - <<: *r1\n      receiver: nobody\n${R}`, 'refuses'],
      ['a merge key of a scalar', `route:\n  receiver: a\n  routes:\n    - <<: 5\n${R}`, 'refuses'],
      ['a merge key of null', `route:\n  receiver: a\n  routes:\n    - <<: ~\n${R}`, 'refuses'],
      ['a merge key of a list holding a scalar', `route:\n  receiver: a\n  routes:\n    - &r1 {receiver: b}\n    - <<: [*r1, 5]\n${R}`, 'refuses'],
    ];
    /**
     * Deliberate differences: Vigil accepts these, Alertmanager refuses them. Pinned so that a
     * change either way is noticed; a file using them is not an Alertmanager file any more.
     */
    const extensions: Array<[string, string]> = [
      ['a list in match (any of the values)', `route: {receiver: a, routes: [{receiver: b, match: {x: [y, z]}}]}\n${R}`],
      // Vigil's one duration grammar takes decimals everywhere
      ['a fractional duration', `route: {receiver: a, repeat_interval: 1.5h}\n${R}`],
    ];
    /**
     * Deliberate differences the other way: Alertmanager accepts these and does something the
     * writer hardly meant; Vigil refuses them with a message. Pinned like the extensions.
     */
    const stricter: Array<[string, string]> = [
      // Alertmanager trims the trailing } of a bare value, matching the literal `a{2`
      ['a bare regex value ending in } (quote it)', `route: {receiver: a, routes: [{receiver: b, matchers: ['service=~a{2}']}]}\n${R}`],
      // Alertmanager trims a leading { and a trailing } each on its own: an unclosed brace is a slip
      ["an opening brace without its closing one", `route: {receiver: a, routes: [{receiver: b, matchers: ['{x="a"']}]}\n${R}`],
      ["a closing brace without its opening one", `route: {receiver: a, routes: [{receiver: b, matchers: ['x="a"}']}]}\n${R}`],
      // a null item of a list (not a key left unset): Alertmanager reads the matcher "", none
      ['matchers: [~] (a null matcher)', `route: {receiver: a, routes: [{receiver: b, matchers: [~]}]}\n${R}`],
      // months and years that never come: Alertmanager takes them and the interval never holds
      ["months: ['13']", ti("months: ['13']")],
      ["months: ['0']", ti("months: ['0']")],
      ["years: ['26'] (the year 26)", ti("years: ['26']")],
      ["years: ['-5']", ti("years: ['-5']")],
      // two merge keys in one mapping: Go's yaml.v2 merges both, YAML's keys are unique (the list form says it)
      ['two merge keys in one mapping (<<: [*one, *two] instead)', `route:\n  receiver: a\n  routes:\n    - &one\n      receiver: b\n    - &two\n      matchers: ['x="1"']\n    - <<: *one\n      <<: *two\n${R}`],
    ];
    // and random valid trees, each broken in one way
    const breakers: Array<[string, (f: GenFile) => void]> = [
      ['matchers on the root', (f) => void (f.route.matchers = ['env="prod"'])],
      ['continue: true on the root', (f) => void (f.route.continue = true)],
      ['an unknown receiver on the first child', (f) => void (f.route.routes[0].receiver = 'nobody')],
      ['a bad regex in match_re on the first child', (f) => void (f.route.routes[0].matchRe = [['region', 'eu-(west']])],
      ['an unparseable matcher on the first child', (f) => void (f.route.routes[0].matchers = [...(f.route.routes[0].matchers ?? []), 'env="unterminated'])],
      ["group_by '...' with another label on the first child", (f) => void (f.route.routes[0].groupBy = ['...', 'env'])],
    ];
    const cases: Array<{ name: string; yaml: string; expected?: 'accepts' | 'refuses'; extension?: boolean; stricter?: boolean }> = [
      ...fixed.map(([name, yaml, expected]) => ({ name, yaml, expected })),
      ...extensions.map(([name, yaml]) => ({ name: `Vigil extension: ${name}`, yaml, extension: true })),
      ...stricter.map(([name, yaml]) => ({ name: `Vigil is stricter: ${name}`, yaml, stricter: true })),
    ];
    for (let i = 0; i < 12; i++) {
      const seed = (BASE_SEED ^ Math.imul(i + 7, 0x85ebca6b)) >>> 0;
      const rng = new Rng(seed);
      const f = genFile(rng);
      const [what, brk] = breakers[i % breakers.length];
      brk(f);
      cases.push({ name: `random tree broken: ${what} (seed ${seed})`, yaml: fileYaml(f, rng), expected: 'refuses' });
    }
    const results: Array<{ ok: boolean; says: string }> = [];
    beforeAll(async () => {
      // one amtool process checks every file
      results.push(...(await amtoolCheck(cases.map((c) => writeTemp(c.yaml)))));
    });
    it.each(cases.map((c, i) => [c.name, i] as const))('%s', (_n, i) => {
      const c = cases[i];
      const am = results[i];
      const v = vigilParse(c.yaml);
      const amRefuses = !am.ok;
      const vigilRefuses = v.errors.length > 0 || !v.routes;
      const ok = c.extension ? amRefuses && !vigilRefuses : c.stricter ? !amRefuses && vigilRefuses : vigilRefuses === amRefuses;
      if (ok) return;
      expect.fail(
        [
          `${c.name}: amtool ${amRefuses ? 'refuses' : 'accepts'} it, Vigil ${vigilRefuses ? 'refuses' : 'accepts'} it${c.extension ? ' (expected: amtool refuses, Vigil accepts)' : ''}`,
          c.expected && (c.expected === 'refuses') !== amRefuses ? `(note: Alertmanager 0.25 was seen to ${c.expected === 'refuses' ? 'refuse' : 'accept'} this; is ${AMTOOL} another version?)` : '',
          `--- routes.yaml\n${numbered(c.yaml)}`,
          `--- amtool check-config: ${am.says}`,
          `--- Vigil:\n${showDiags(v.diagnostics) || '  (no diagnostics)'}`,
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });
  });
});
