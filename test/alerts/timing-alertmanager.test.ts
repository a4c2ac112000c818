/**
 * Differential test: when Vigil notifies, what each notification holds, against the Alertmanager
 * daemon (0.25, Debian's prometheus-alertmanager, on 127.0.0.1 with its own data dir and no gossip).
 *
 * One timeline of alerts firing and resolving (STEPS, group_wait 1s, group_interval 2s,
 * repeat_interval 4s) is posted to Alertmanager's API v2 (startsAt, and endsAt now to resolve)
 * at its times, and the notifications its webhook receives on 127.0.0.1 are recorded with when.
 * Vigil's planning (planNotifications, as `run-scheduler` runs it: group_wait held, a wake when a
 * held group is due, every rule evaluated each half second) runs over the same timeline in
 * virtual time with the same routes.yaml. Compared, per group (receiver, group labels):
 *
 *  - the groups that notify;
 *  - the sequence of what each notification holds (which alerts, firing or resolved), pure
 *    repeats left out, and the alerts Alertmanager lists resolved that it never sent firing (one
 *    that fired and resolved before its group's message: Vigil sends nothing for it, docs/alerts.md);
 *  - when: each of Vigil's within one group_interval before Alertmanager's (Alertmanager waits for
 *    the group's next tick, on a grid from its first message; Vigil sends a resolve at once and a
 *    new alert group_interval after the group's last message), never after it;
 *  - repeats: never sooner than repeat_interval after the group's last message, as many on each
 *    side give or take one (Alertmanager's come at the tick after repeat_interval).
 *
 * The differences docs/alerts.md states that would change what is sent (a flap between two ticks,
 * a group emptied by a muted resolve) are left out of the timeline. Silences and mute time intervals
 * are not in it (silences: inhibit-alertmanager.test.ts). It takes about 13 s.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { InstanceState } from '../../src/alerts/engine.js';
import { parseRoutes } from '../../src/alerts/load-alerts.js';
import { groupLabels, routeAlert } from '../../src/alerts/routing.js';
import { planNotifications, type GroupState } from '../../src/alerts/notify.js';
import { ALERTMANAGER, startAlertmanagerDaemon, type AlertmanagerDaemon } from '../support/alertmanager-daemon.js';

const HAVE_AM = existsSync(ALERTMANAGER);
if (!HAVE_AM) console.warn(`timing-alertmanager.test.ts: SKIPPED — ${ALERTMANAGER} not found (apt-get install prometheus-alertmanager)`);

type Labels = Record<string, string>;
/** [second, alertname, extra labels, fire or resolve] */
type Step = [number, string, Labels, 'fire' | 'resolve'];

/** The routing tree and inhibition rules, the same text for both (the receivers differ). */
const TREE = `route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4s
  routes:
    - matchers: ['scenario="s2"']
      group_by: ['...']
    - matchers: ['scenario="s3"']
      receiver: hook_nr
    - matchers: ['scenario="s6"']
      receiver: hook_nr
      repeat_interval: 1h
    - matchers: ['scenario="s7"']
      repeat_interval: 1h
inhibit_rules:
  - source_matchers: ['alertname="E"']
    target_matchers: ['alertname="F"']
    equal: [scenario]
  - source_matchers: ['alertname="S"']
    target_matchers: ['alertname="U"']
    equal: [scenario, x]
`;

const ROUTES = `receivers:
  - name: hook
    slack: { webhook_url_env: HOOK }
  - name: hook_nr
    slack: { webhook_url_env: HOOK }
    send_resolved: false
${TREE}`;

const amConfig = (port: number) => `receivers:
  - name: hook
    webhook_configs: [{ url: 'http://127.0.0.1:${port}/hook', send_resolved: true }]
  - name: hook_nr
    webhook_configs: [{ url: 'http://127.0.0.1:${port}/hook_nr', send_resolved: false }]
${TREE}`;

const STEPS: Step[] = [
  // s1, group_by [alertname]: a join during group_wait (one message), one after it (the next
  // tick), a resolve (with the rest of the group), a group of its own repeated, then resolved
  [0, 'A', { scenario: 's1', x: '1' }, 'fire'],
  [0, 'B', { scenario: 's1' }, 'fire'],
  [0.5, 'A', { scenario: 's1', x: '2' }, 'fire'],
  [2, 'A', { scenario: 's1', x: '3' }, 'fire'],
  [5.5, 'A', { scenario: 's1', x: '1' }, 'resolve'],
  [8.5, 'A', { scenario: 's1', x: '2' }, 'resolve'],
  [8.5, 'A', { scenario: 's1', x: '3' }, 'resolve'],
  [8.5, 'B', { scenario: 's1' }, 'resolve'],
  // s2, group_by ['...']: a group per label set
  [0, 'C', { scenario: 's2', x: '1' }, 'fire'],
  [0, 'C', { scenario: 's2', x: '2' }, 'fire'],
  [4.5, 'C', { scenario: 's2', x: '1' }, 'resolve'],
  // s3, send_resolved: false: no resolve; the repeat leaves the resolved alert out; none when all resolve
  [0, 'D', { scenario: 's3', x: '1' }, 'fire'],
  [0, 'D', { scenario: 's3', x: '2' }, 'fire'],
  [3.5, 'D', { scenario: 's3', x: '2' }, 'resolve'],
  [9.5, 'D', { scenario: 's3', x: '1' }, 'resolve'],
  // s4: an inhibition starts and ends while its target fires (the target is not announced again)
  [0, 'F', { scenario: 's4' }, 'fire'],
  [3.5, 'E', { scenario: 's4' }, 'fire'],
  [6.5, 'E', { scenario: 's4' }, 'resolve'],
  // s5: a new alert joins a group that notified a group_interval ago; in another group one fires
  // and resolves within group_wait (Alertmanager lists it resolved, Vigil leaves it out)
  [0, 'G', { scenario: 's5', x: '1' }, 'fire'],
  [3.5, 'G', { scenario: 's5', x: '2' }, 'fire'],
  [0, 'H', { scenario: 's5', x: '1' }, 'fire'],
  [0, 'H', { scenario: 's5', x: '2' }, 'fire'],
  [0.5, 'H', { scenario: 's5', x: '2' }, 'resolve'],
  // s6, send_resolved: false, no repeat due: an alert resolves and fires again while its group
  // fires; the receiver still shows it firing, so nothing is sent
  [0, 'J', { scenario: 's6', x: '1' }, 'fire'],
  [0, 'J', { scenario: 's6', x: '2' }, 'fire'],
  [2.5, 'J', { scenario: 's6', x: '2' }, 'resolve'],
  [5.5, 'J', { scenario: 's6', x: '2' }, 'fire'],
  // s7, no repeat due: an alert resolves while inhibited (its resolve muted) and fires again
  // after the inhibition ends, while its group fires: nothing is sent
  [0, 'U', { scenario: 's7', x: '1' }, 'fire'],
  [0, 'U', { scenario: 's7', x: '2' }, 'fire'],
  [2, 'S', { scenario: 's7', x: '2' }, 'fire'],
  [3.5, 'U', { scenario: 's7', x: '2' }, 'resolve'],
  [5.5, 'S', { scenario: 's7', x: '2' }, 'resolve'],
  [6, 'U', { scenario: 's7', x: '2' }, 'fire'],
];
const END = 12;

interface Note {
  t: number;
  /** receiver and group labels (without `scenario`, which keeps the scenarios' alerts apart) */
  group: string;
  alerts: string[];
}
const text = (ls: Labels) =>
  Object.entries(ls)
    .filter(([k]) => k !== 'scenario')
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

// ---------------------------------------------------------------- Alertmanager

let dir = '';
let am: AlertmanagerDaemon | undefined;
let hook: Server | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The timeline through the daemon: what its webhook got, and how late the latest post left (s). */
async function runAlertmanager(): Promise<{ notes: Note[]; slip: number }> {
  const notes: Note[] = [];
  let slip = 0;
  let t0 = 0;
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      const m = JSON.parse(body) as { receiver: string; groupLabels: Labels; alerts: Array<{ status: string; labels: Labels }> };
      notes.push({ t: (Date.now() - t0) / 1000, group: `${m.receiver} ${text(m.groupLabels)}`, alerts: m.alerts.map((a) => `${text(a.labels)}:${a.status}`).sort() });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
  const hookPort = (hook.address() as { port: number }).port;
  dir = mkdtempSync(join(tmpdir(), 'vigil-am-timing-'));
  writeFileSync(join(dir, 'am.yml'), amConfig(hookPort));
  am = await startAlertmanagerDaemon([`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`]);
  const base = am.base;
  t0 = Date.now();
  const started = new Map<string, string>();
  for (const t of [...new Set(STEPS.map((s) => s[0]))].sort((a, b) => a - b)) {
    const wait = t0 + t * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const now = new Date().toISOString();
    const body = STEPS.filter((s) => s[0] === t).map(([, name, ls, what]) => {
      const labels = { alertname: name, ...ls };
      const id = JSON.stringify(labels);
      if (what === 'fire') started.set(id, now);
      return { labels, startsAt: started.get(id), endsAt: what === 'fire' ? new Date(Date.now() + 3_600_000).toISOString() : now };
    });
    const r = await fetch(`${base}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
    if (!r.ok) throw new Error(`POST /api/v2/alerts: ${r.status} ${await r.text()}`);
    slip = Math.max(slip, (Date.now() - (t0 + t * 1000)) / 1000);
  }
  await sleep(t0 + END * 1000 - Date.now());
  return { notes, slip };
}

/** The daemon's run again, with a fresh daemon, when a post left late (a loaded machine): the timeline compared is the one scripted. */
async function runAlertmanagerOnTime(tries = 3): Promise<Note[]> {
  for (let i = 1; ; i++) {
    const r = await runAlertmanager();
    if (r.slip <= MAX_SLIP || i === tries) {
      if (r.slip > MAX_SLIP) console.warn(`timing-alertmanager: a post left ${r.slip.toFixed(2)} s late in each of ${tries} runs (a loaded machine); compared as it ran`);
      return r.notes;
    }
    await stopAlertmanager();
  }
}

async function stopAlertmanager(): Promise<void> {
  await am?.stop();
  hook?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  am = undefined;
  hook = undefined;
  dir = '';
}

// ---------------------------------------------------------------- Vigil: the scheduler, in virtual time

/** Each group's repeat_interval in seconds, as Vigil's routing gives it (filled by runVigil). */
const repeatOf = new Map<string, number>();

function runVigil(): Note[] {
  const { routes, diagnostics } = parseRoutes(ROUTES, 'alerts/routes.yaml');
  if (!routes) throw new Error(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  const zero = Date.UTC(2026, 2, 10, 12);
  const instances: Record<string, InstanceState> = {};
  const groups: Record<string, GroupState> = {};
  const notes: Note[] = [];
  const rules = new Set(STEPS.map((s) => s[1]));
  // every rule is evaluated each half second (a step is one of its evaluations); the scheduler also wakes when a held group is due
  const todo = new Set<number>();
  for (let t = 0; t <= END * 1000; t += 500) todo.add(t);
  for (let n = 0; todo.size; n++) {
    const t = Math.min(...todo);
    todo.delete(t);
    const at = new Date(zero + t);
    const iso = at.toISOString();
    for (const [st, name, ls, what] of STEPS) {
      if (st * 1000 !== t) continue;
      const labels = { alertname: name, ...ls };
      const key = JSON.stringify(labels);
      if (what === 'fire') instances[key] = { key, alert: name, kind: 'row', labels, status: 'firing', activeSince: iso, firedAt: iso, lastActiveAt: iso, consecutive: 1, values: {}, notified: {} };
      else Object.assign(instances[key], { status: 'resolved', resolvedAt: iso });
    }
    const p = planNotifications({ instances, rules: new Map(), routes, silences: [], at, source: 'test', idPrefix: `n${n}`, evaluated: rules, groups, groupWait: true });
    for (const h of p.held) if (Date.parse(h.until) - zero <= END * 1000) todo.add(Date.parse(h.until) - zero);
    for (const e of p.entries) {
      const r = routeAlert(routes, e.items[0].labels).find((x) => x.key === e.route && x.receiver === e.receiver)!;
      const group = `${e.receiver} ${text(groupLabels(r.groupBy, e.items[0].labels))}`;
      repeatOf.set(group, r.repeatMs / 1000);
      notes.push({ t: t / 1000, group, alerts: e.items.map((i) => `${text(i.labels)}:${i.action === 'trigger' ? 'firing' : 'resolved'}`).sort() });
    }
  }
  return notes;
}

// ---------------------------------------------------------------- the comparison

const GROUP_INTERVAL = 2;
/** Alertmanager's lateness on a shared machine (its webhook is reached in ~50 ms) */
const SLACK = 0.4;
/** A post to the daemon leaving later than this after its scripted time makes the run start again (the grouping it tests could change) */
const MAX_SLIP = 0.15;

interface Seen {
  /** the notifications that changed what the receiver was told, in order */
  changes: Note[];
  /** repeats: the time since the group's last message */
  repeats: number[];
  lastAt?: number;
}

/** Per group: its notifications that changed something, and its repeats. */
function byGroup(notes: Note[], alertmanager: boolean): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const n of [...notes].sort((a, b) => a.t - b.t)) {
    let g = out.get(n.group);
    if (!g) out.set(n.group, (g = { changes: [], repeats: [] }));
    const last = g.changes.at(-1);
    const announced = new Set(g.changes.flatMap((c) => c.alerts.filter((a) => a.endsWith(':firing')).map((a) => a.replace(/:firing$/, ''))));
    // (Alertmanager lists an alert that fired and resolved between two of its group's messages as resolved; Vigil, never having sent it, sends nothing)
    const alerts = alertmanager ? n.alerts.filter((a) => !a.endsWith(':resolved') || announced.has(a.replace(/:resolved$/, ''))) : n.alerts;
    if (!alerts.length) continue;
    if (last && JSON.stringify(alerts) === JSON.stringify(last.alerts)) g.repeats.push(n.t - (g.lastAt ?? last.t));
    else g.changes.push({ ...n, alerts });
    g.lastAt = n.t;
  }
  return out;
}

describe.skipIf(!HAVE_AM)('notification timing and grouping: Vigil against the Alertmanager daemon', () => {
  afterAll(stopAlertmanager);

  it('the same groups notify, each notification holds the same alerts, Vigil is never later than Alertmanager nor more than a group_interval sooner, repeats every repeat_interval', async () => {
    const a = await runAlertmanagerOnTime();
    const v = runVigil();
    const show = (ns: Note[]) => ns.map((x) => `${x.t.toFixed(2).padStart(6)} ${x.group.padEnd(22)} ${x.alerts.join(' ')}`).join('\n');
    const both = `--- Alertmanager's webhook\n${show(a)}\n--- Vigil\n${show(v)}`;
    const am = byGroup(a, true);
    const vg = byGroup(v, false);
    expect([...vg.keys()].sort(), both).toEqual([...am.keys()].sort());
    // (s6 and s7 repeat every hour: a message of theirs within the run is no repeat)
    expect(repeatOf.get('hook_nr alertname=J')).toBe(3600);
    const problems: string[] = [];
    for (const [group, want] of am) {
      const got = vg.get(group)!;
      const seq = (s: Seen) => s.changes.map((c) => `[${c.alerts.join(' ')}]`).join(' ');
      if (seq(got) !== seq(want)) {
        problems.push(`${group}: Alertmanager sends ${seq(want)}; Vigil ${seq(got)}`);
        continue;
      }
      want.changes.forEach((w, i) => {
        const t = got.changes[i].t;
        if (t > w.t + 0.05 || t < w.t - GROUP_INTERVAL - SLACK) problems.push(`${group}: [${w.alerts.join(' ')}] at ${w.t.toFixed(2)} s from Alertmanager, at ${t.toFixed(2)} s from Vigil`);
      });
      for (const [who, s] of [['Alertmanager', want], ['Vigil', got]] as const) for (const r of s.repeats) if (r < repeatOf.get(group)! - 0.05) problems.push(`${group}: ${who} repeats ${r.toFixed(2)} s after the last message`);
      if (Math.abs(got.repeats.length - want.repeats.length) > 1) problems.push(`${group}: Alertmanager repeats ${want.repeats.length} times, Vigil ${got.repeats.length}`);
    }
    expect(problems.join('\n'), both).toBe('');
    // the timeline reaches what is compared: groups of several alerts, resolves, repeats
    expect([...am.values()].some((g) => g.changes.some((c) => c.alerts.length > 2))).toBe(true);
    expect([...am.values()].filter((g) => g.changes.some((c) => c.alerts.some((x) => x.endsWith(':resolved')))).length).toBeGreaterThan(2);
    expect([...am.values()].filter((g) => g.repeats.length).length).toBeGreaterThan(2);
  }, 120_000);
});
