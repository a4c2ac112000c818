/**
 * Differential test: Vigil inhibits, silences and groups alerts exactly like Alertmanager.
 *
 * One real Alertmanager 0.25 daemon (Debian package prometheus-alertmanager, on 127.0.0.1, no
 * gossip) is given, case after case, the same seeded random configuration as Vigil — a routing
 * tree (group_by [] / ['...'] / labels alerts may lack, continue), inhibit_rules
 * (source_matchers / target_matchers / source_match / source_match_re..., `equal` on labels
 * missing from one side or both, empty values, regexes that need their anchoring, the same
 * matchers on both sides) — then a set of firing alerts (labels often missing or empty) and a
 * few silences (=, !=, =~, !~). Its API v2 answers are compared with Vigil's own modules
 * (`parseRoutes`, `inhibitedBy`, `parseMatcher` + `silencedBy`, `routeAlert` + `groupLabels`):
 *
 *  - which alerts are inhibited (status.inhibitedBy) — a disagreement is a page one sends and
 *    the other suppresses;
 *  - which alerts are silenced (status.silencedBy);
 *  - per alert, the groups it is in: (receiver, group labels), one per matched route.
 *
 * Cases share the daemon: each reloads the configuration (POST /-/reload) and marks its alerts
 * with a label `vigil_case` that Alertmanager's copy of each inhibit rule adds to `equal` and
 * each silence matches on, so that alerts of earlier cases neither inhibit nor get silenced;
 * it is not part of what Vigil is given and is left out of the group labels compared. A case's
 * alerts are resolved when it is done, and collected each second, so later cases stay quick.
 *
 * Reproduce or widen: VIGIL_AM_SEED=<n> VIGIL_AM_CASES=<n> npx vitest run test/alerts/inhibit-alertmanager.test.ts
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceState } from '../../src/alerts/engine.js';
import { parseRoutes } from '../../src/alerts/load-alerts.js';
import { matches } from '../../src/alerts/matchers.js';
import { groupLabels, inhibitedBy, parseMatcher, routeAlert, silencedBy, type Silence } from '../../src/alerts/routing.js';
import { Rng } from '../support/seeded-random.js';
import { ALERTMANAGER, startAlertmanagerDaemon, type AlertmanagerDaemon } from '../support/alertmanager-daemon.js';

const HAVE_AM = existsSync(ALERTMANAGER);
if (!HAVE_AM) console.warn(`inhibit-alertmanager.test.ts: SKIPPED — ${ALERTMANAGER} not found (apt-get install prometheus-alertmanager)`);

const BASE_SEED = Number(process.env.VIGIL_AM_SEED ?? 20261207);
const CASES = Number(process.env.VIGIL_AM_CASES ?? 60);

type Labels = Record<string, string>;
type Op = '=' | '!=' | '=~' | '!~';

// ---------------------------------------------------------------- random cases

/** label names; `region` is one alerts seldom carry (equal / group_by on a label missing from one side or both) */
const LABELS = ['alertname', 'severity', 'team', 'env', 'service', 'region'] as const;
const VALUES: Record<(typeof LABELS)[number], string[]> = {
  alertname: ['a', 'b', 'c', 'ab'],
  severity: ['critical', 'warning', 'info', ''],
  team: ['db', 'web', '', 'x', 'DB', 'é'],
  env: ['prod', 'dev', '', 'pr od'],
  service: ['a.b', 'axb', 'foo-bar', '', 'a"b', 'a\\b'],
  region: ['eu', '', '𝔘'],
};
/**
 * regexes; several only agree when anchored (`a`, `db|`, `.*b`), some are RE2's own (`(?i)`,
 * `\pL`, POSIX classes, `\Q...\E`, `.` on a character outside the BMP)
 */
const RES = ['a', 'a|b', 'a.b', 'a\\.b', '.+', '.*', 'db|', '.*b', 'crit.*', 'critical|warning', '(db|web)', 'foo-.*', 'prod', '', '(?i)db', '\\pL+', '[[:alpha:]]+', '\\Qa.b\\E', '.', 'a\\\\b', 'a"b', 'pr\\sod'];
const RECEIVERS = ['pd', 'slack', 'mail', 'team'];
const GROUP_BYS: string[][] = [[], ['...'], ['alertname'], ['team'], ['team', 'env'], ['region'], ['alertname', 'region']];

type Cond = [string, Op, string];

function genCond(rng: Rng): Cond {
  const label = rng.pick(LABELS);
  const r = rng.float();
  const op: Op = r < 0.4 ? '=' : r < 0.75 ? '=~' : r < 0.88 ? '!=' : '!~';
  const value = op.includes('~') ? rng.pick(RES) : rng.pick(VALUES[label]);
  return [label, op, value];
}

const goEscape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const matcherText = ([l, op, v]: Cond) => `${l}${op}"${goEscape(v)}"`;
const yq = (s: string) => `'${s.replace(/'/g, "''")}'`;

interface GenRoute {
  receiver?: string;
  conds: Cond[];
  groupBy?: string[];
  continue?: boolean;
  routes: GenRoute[];
}

interface GenInhibit {
  source: Cond[];
  target: Cond[];
  equal: string[];
  /** written as source_match / source_match_re (maps) when their conditions allow, else source_matchers */
  maps: boolean;
}

interface GenCase {
  seed: number;
  route: GenRoute;
  inhibit: GenInhibit[];
  alerts: Labels[];
  silences: Cond[][];
}

function genRoute(rng: Rng, depth: number): GenRoute {
  const r: GenRoute = { conds: [], routes: [] };
  if (rng.chance(0.7)) r.receiver = rng.pick(RECEIVERS);
  const n = rng.chance(0.15) ? 0 : rng.chance(0.7) ? 1 : 2;
  for (let i = 0; i < n; i++) r.conds.push(genCond(rng));
  if (rng.chance(0.45)) r.continue = true;
  if (rng.chance(0.4)) r.groupBy = rng.pick(GROUP_BYS);
  if (depth < 2 && rng.chance(0.35)) for (let i = 0, k = 1 + rng.int(3); i < k; i++) r.routes.push(genRoute(rng, depth + 1));
  return r;
}

function genInhibit(rng: Rng): GenInhibit {
  const source = Array.from({ length: 1 + (rng.chance(0.3) ? 1 : 0) }, () => genCond(rng));
  // now and then the same matchers on both sides: an alert matching both does not inhibit another that does
  const target = rng.chance(0.2) ? [...source] : Array.from({ length: 1 + (rng.chance(0.3) ? 1 : 0) }, () => genCond(rng));
  const equal: string[] = [];
  for (const l of LABELS) if (l !== 'alertname' && rng.chance(0.2)) equal.push(l);
  if (rng.chance(0.2)) equal.push('alertname');
  return { source, target, equal, maps: rng.chance(0.3) };
}

function genAlerts(rng: Rng, n: number): Labels[] {
  const out: Labels[] = [];
  const seen = new Set<string>();
  for (let tries = 0; out.length < n && tries < n * 10; tries++) {
    const ls: Labels = { alertname: rng.pick(VALUES.alertname) };
    for (const l of LABELS.slice(1)) if (rng.chance(l === 'region' ? 0.25 : 0.75)) ls[l] = rng.pick(VALUES[l]);
    // Alertmanager drops empty labels: {team=""} and {} are one alert there (and one instance in Vigil)
    const id = JSON.stringify(Object.entries(ls).filter(([, v]) => v !== '').sort());
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(ls);
  }
  return out;
}

/**
 * A silence whose every matcher matches the empty string would mute everything: Alertmanager and
 * Vigil refuse it, so none is made (were Vigil to judge one wrongly, Alertmanager refusing it fails the test).
 */
const mutesAll = (s: Cond[]) => s.every(([l, op, v]) => matches({ name: l, op, value: v }, {}));

function genCase(seed: number): GenCase {
  const rng = new Rng(seed);
  const route: GenRoute = { receiver: rng.pick(RECEIVERS), conds: [], routes: [] };
  if (rng.chance(0.7)) route.groupBy = rng.pick(GROUP_BYS);
  for (let i = 0, k = 2 + rng.int(3); i < k; i++) route.routes.push(genRoute(rng, 1));
  const inhibit = Array.from({ length: 1 + rng.int(3) }, () => genInhibit(rng));
  const alerts = genAlerts(rng, 6 + rng.int(5));
  const silences: Cond[][] = [];
  for (let i = 0, k = rng.int(3); i < k; i++) {
    const s = Array.from({ length: 1 + (rng.chance(0.4) ? 1 : 0) }, () => genCond(rng));
    if (!mutesAll(s)) silences.push(s);
  }
  return { seed, route, inhibit, alerts, silences };
}

// ---------------------------------------------------------------- YAML out

function routeYaml(r: GenRoute, indent: string, root: boolean): string[] {
  const out: string[] = [];
  const first = root ? indent : `${indent.slice(2)}- `;
  const key = (k: string, v: string) => out.push(`${out.length ? indent : first}${k}:${v ? ` ${v}` : ''}`);
  if (r.receiver) key('receiver', r.receiver);
  if (r.conds.length) key('matchers', `[${r.conds.map((c) => yq(matcherText(c))).join(', ')}]`);
  if (r.continue) key('continue', 'true');
  if (r.groupBy) key('group_by', `[${r.groupBy.map(yq).join(', ')}]`);
  if (r.routes.length) {
    key('routes', '');
    for (const c of r.routes) out.push(...routeYaml(c, `${indent}    `, false));
  }
  if (!out.length) out.push(`${first.trimEnd()} {}`);
  return out;
}

/** One side of an inhibit rule: as a map (`source_match` / `source_match_re`) when it can be, else matchers. */
function sideYaml(side: 'source' | 'target', conds: Cond[], maps: boolean): string[] {
  const eq = conds.filter((c) => c[1] === '=');
  const re = conds.filter((c) => c[1] === '=~');
  const oneEach = new Set(conds.map((c) => c[0])).size === conds.length;
  if (maps && oneEach && eq.length + re.length === conds.length) {
    const out: string[] = [];
    if (eq.length) out.push(`    ${side}_match: {${eq.map(([l, , v]) => `${l}: ${JSON.stringify(v)}`).join(', ')}}`);
    if (re.length) out.push(`    ${side}_match_re: {${re.map(([l, , v]) => `${l}: ${JSON.stringify(v)}`).join(', ')}}`);
    return out;
  }
  return [`    ${side}_matchers: [${conds.map((c) => yq(matcherText(c))).join(', ')}]`];
}

/** The configuration; `forAlertmanager` adds vigil_case to each rule's equal (cases apart on one daemon). */
function caseYaml(c: GenCase, forAlertmanager: boolean): string {
  const lines = ['route:', ...routeYaml(c.route, '  ', true), 'receivers:', ...RECEIVERS.map((n) => `  - name: ${n}`), 'inhibit_rules:'];
  for (const r of c.inhibit) {
    const [s0, ...sRest] = sideYaml('source', r.source, r.maps);
    lines.push(`  - ${s0.trimStart()}`, ...sRest, ...sideYaml('target', r.target, r.maps));
    lines.push(`    equal: [${[...r.equal, ...(forAlertmanager ? ['vigil_case'] : [])].map(yq).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- the daemon

let dir = '';
let daemon: AlertmanagerDaemon | undefined;
let base = '';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  // (an answer within 20 s: a daemon that hangs fails the test saying so, not at its timeout)
  const res = await fetch(`${base}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`Alertmanager ${method} ${path}: ${res.status} ${text}\n--- its log:\n${daemon?.log().slice(-2000)}`);
  return text ? JSON.parse(text) : undefined;
}

const configFile = () => join(dir, 'alertmanager.yml');

async function startAlertmanager(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'vigil-am-inhibit-'));
  writeFileSync(configFile(), 'route: {receiver: pd}\nreceivers: [{name: pd}]\n');
  daemon = await startAlertmanagerDaemon([`--config.file=${configFile()}`, `--storage.path=${join(dir, 'data')}`, '--alerts.gc-interval=1s']);
  base = daemon.base;
}

interface AmVerdict {
  inhibited: boolean;
  silenced: boolean;
  groups: string[];
}

/** Reads until two reads a moment apart agree (the dispatcher and the inhibitor take in new alerts on their own goroutines). */
async function settled<T>(read: () => Promise<T>, ready: (t: T) => boolean): Promise<T> {
  let last = '';
  for (let i = 0; i < 60; i++) {
    const t = await read();
    const s = JSON.stringify(t);
    if (ready(t) && s === last) return t;
    last = s;
    await sleep(60);
  }
  throw new Error(`Alertmanager's answer did not settle: ${last}`);
}

const sortedLabels = (ls: Labels) => JSON.stringify(Object.fromEntries(Object.entries(ls).sort(([a], [b]) => a.localeCompare(b))));
const alertId = (ls: Labels) => sortedLabels(Object.fromEntries(Object.entries(ls).filter(([k, v]) => k !== 'vigil_case' && v !== '')));

async function alertmanagerVerdicts(c: GenCase, n: number): Promise<Map<string, AmVerdict>> {
  writeFileSync(configFile(), caseYaml(c, true));
  await api('POST', '/-/reload');
  const tag = String(n);
  const now = Date.now();
  await api(
    'POST',
    '/api/v2/alerts',
    c.alerts.map((labels) => ({ labels: { ...labels, vigil_case: tag }, startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString() })),
  );
  for (const s of c.silences) {
    await api('POST', '/api/v2/silences', {
      matchers: [...s.map(([l, op, v]) => ({ name: l, value: v, isRegex: op.includes('~'), isEqual: !op.startsWith('!') })), { name: 'vigil_case', value: tag, isRegex: false, isEqual: true }],
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: 'vigil-test',
      comment: `case ${tag}`,
    });
  }
  const filter = `filter=${encodeURIComponent(`vigil_case="${tag}"`)}`;
  type ApiAlert = { labels: Labels; status: { inhibitedBy: string[]; silencedBy: string[] } };
  type ApiGroup = { labels: Labels; receiver: { name: string }; alerts: ApiAlert[] };
  // (compared as booleans and sorted lists: which alert inhibits is any of the sources, in Go's map order)
  const alerts = await settled(
    async () =>
      ((await api('GET', `/api/v2/alerts?${filter}`)) as ApiAlert[])
        .map((a) => ({ id: alertId(a.labels), inhibited: a.status.inhibitedBy.length > 0, silenced: a.status.silencedBy.length > 0 }))
        .sort((x, y) => x.id.localeCompare(y.id)),
    (xs) => xs.length === c.alerts.length,
  );
  const groups = await settled(
    async () =>
      ((await api('GET', `/api/v2/alerts/groups?${filter}`)) as ApiGroup[])
        .flatMap((g) => {
          const { vigil_case: _c, ...labels } = g.labels;
          void _c;
          return g.alerts.map((a) => ({ id: alertId(a.labels), group: `${g.receiver.name} ${sortedLabels(labels)}` }));
        })
        .sort((x, y) => x.id.localeCompare(y.id) || x.group.localeCompare(y.group)),
    (gs) => new Set(gs.map((g) => g.id)).size === c.alerts.length,
  );
  const out = new Map<string, AmVerdict>();
  for (const a of alerts) out.set(a.id, { inhibited: a.inhibited, silenced: a.silenced, groups: [] });
  for (const g of groups) out.get(g.id)?.groups.push(g.group);
  for (const v of out.values()) v.groups.sort();
  // resolved, then collected (--alerts.gc-interval): the next reload does not take them in again
  await api('POST', '/api/v2/alerts', c.alerts.map((labels) => ({ labels: { ...labels, vigil_case: tag }, startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date().toISOString() })));
  return out;
}

// ---------------------------------------------------------------- Vigil's side

function instance(labels: Labels, i: number): InstanceState {
  const t = new Date(0).toISOString();
  return { key: `i${i}`, alert: labels.alertname ?? '', kind: 'row', labels, status: 'firing', activeSince: t, firedAt: t, lastActiveAt: t, consecutive: 1, values: {}, notified: {} };
}

function vigilVerdicts(c: GenCase): Map<string, AmVerdict> | string {
  const { routes, diagnostics } = parseRoutes(caseYaml(c, false), 'alerts/routes.yaml');
  if (!routes) return diagnostics.map((d) => `${d.severity} ${d.line}:${d.column} ${d.message}`).join('\n');
  const at = new Date();
  const silences: Silence[] = c.silences.map((s, i) => ({
    id: `s${i}`,
    matchers: s.map((m) => {
      const p = parseMatcher(matcherText(m));
      if (typeof p === 'string') throw new Error(p);
      return p;
    }),
    startsAt: new Date(at.getTime() - 60_000).toISOString(),
    endsAt: new Date(at.getTime() + 3_600_000).toISOString(),
    comment: '',
    createdBy: 'test',
    createdAt: at.toISOString(),
  }));
  const instances = c.alerts.map(instance);
  const out = new Map<string, AmVerdict>();
  for (const inst of instances) {
    out.set(alertId(inst.labels), {
      inhibited: inhibitedBy(routes, instances, inst) !== undefined,
      silenced: silencedBy(silences, inst.labels, at) !== undefined,
      groups: routeAlert(routes, inst.labels)
        .map((r) => `${r.receiver} ${sortedLabels(groupLabels(r.groupBy, inst.labels))}`)
        .sort(),
    });
  }
  return out;
}

// ---------------------------------------------------------------- the comparison

const numbered = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(3)}| ${l}`)
    .join('\n');

describe.skipIf(!HAVE_AM)('inhibition, silences and groups: Vigil against the Alertmanager daemon', () => {
  beforeAll(startAlertmanager, 30_000);
  afterAll(async () => {
    await daemon?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases = Array.from({ length: CASES }, (_, i) => genCase((BASE_SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0));

  it(`${CASES} seeded random configurations × alerts × silences: the same alerts inhibited, silenced, and in the same groups`, async () => {
    const failures: string[] = [];
    let compared = 0;
    const seen = { inhibited: 0, silenced: 0, grouped: 0 };
    for (const [n, c] of cases.entries()) {
      const v = vigilVerdicts(c);
      if (typeof v === 'string') {
        failures.push(`seed ${c.seed}: Vigil refuses a configuration Alertmanager loads:\n${v}\n${numbered(caseYaml(c, false))}`);
        continue;
      }
      const a = await alertmanagerVerdicts(c, n);
      const diffs: string[] = [];
      for (const w of a.values()) {
        seen.inhibited += +w.inhibited;
        seen.silenced += +w.silenced;
        seen.grouped += +w.groups.some((g) => !g.endsWith(' {}'));
      }
      for (const [id, want] of a) {
        const got = v.get(id);
        compared++;
        if (!got) diffs.push(`  ${id}: not an alert Vigil has`);
        else {
          if (got.inhibited !== want.inhibited) diffs.push(`  ${id}: Alertmanager ${want.inhibited ? 'inhibits' : 'does not inhibit'} it, Vigil ${got.inhibited ? 'does' : 'does not'}`);
          if (got.silenced !== want.silenced) diffs.push(`  ${id}: Alertmanager ${want.silenced ? 'silences' : 'does not silence'} it, Vigil ${got.silenced ? 'does' : 'does not'}`);
          if (JSON.stringify(got.groups) !== JSON.stringify(want.groups)) diffs.push(`  ${id}: groups (receiver, group labels): Alertmanager ${JSON.stringify(want.groups)}, Vigil ${JSON.stringify(got.groups)}`);
        }
      }
      if (diffs.length)
        failures.push(
          [
            `seed ${c.seed} (case ${n}):`,
            ...diffs,
            `--- routes.yaml (Alertmanager's copy adds vigil_case to each equal)\n${numbered(caseYaml(c, false))}`,
            `--- alerts\n${c.alerts.map((l) => `  ${JSON.stringify(l)}`).join('\n')}`,
            `--- silences\n${c.silences.map((s) => `  ${s.map(matcherText).join(', ')}`).join('\n') || '  (none)'}`,
          ].join('\n'),
        );
    }
    // the cases do reach what is compared: inhibited, silenced and grouped alerts, and others
    expect(compared).toBeGreaterThan(CASES * 5);
    for (const k of ['inhibited', 'silenced', 'grouped'] as const) {
      expect(seen[k], k).toBeGreaterThan(CASES / 4);
      expect(seen[k], k).toBeLessThan(compared - CASES);
    }
    if (process.env.VIGIL_AM_STATS) console.log(JSON.stringify({ compared, ...seen }));
    expect(failures.slice(0, 5).join('\n\n'), `${failures.length} of ${CASES} cases disagree`).toBe('');
  }, Math.max(120_000, CASES * 1500));
});
