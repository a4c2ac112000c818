/**
 * Alertmanager's groups and inhibition through the real CLI, judged from the receivers' own logs
 * (a Slack incoming webhook and PagerDuty Events v2 on 127.0.0.1).
 *
 * - A group's notification carries the whole group, and repeats once per group: the sequence
 *   below is what Alertmanager 0.25 sends its webhook for the same route (group_by [alertname],
 *   group_interval 5m, repeat_interval 1h): chat+code; chat+code+draft; chat+code+draft again
 *   an hour after the second; a resolve with the rest of the group.
 * - A rule whose query fails (its error instance) inhibits nothing: Prometheus raises no alert
 *   for a rule it cannot evaluate.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTS_ALERT, makeProject, removeDir, vigil, vigilAsync } from '../helpers.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';

const dirs: string[] = [];
let hook: FakeSlack;
let pd: FakePagerDuty;
beforeAll(async () => {
  hook = await startFakeSlack();
  pd = await startFakePagerDuty();
});
afterAll(async () => {
  await hook?.close();
  await pd?.close();
  dirs.forEach(removeDir);
});

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefGROUPS'; // 32 characters, like a real integration key
const env = () => ({ SLACK_WEBHOOK_URL: hook.url, PD_KEY: ROUTING_KEY, PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath });

function project(files: Record<string, string>): string {
  const dir = makeProject({
    'project.yaml': `name: groups
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
alerts: { state: file, state_file: .vigil/alert-state.json }
`,
    // one row per capability of the var caps, n = 12 (over the threshold of 'many')
    'models/counts.sql': "{{ config(materialized='table') }}\n{% for c in var('caps', ['chat']) %}select '{{ c }}' as capability, 12 as n{% if not loop.last %} union all {% endif %}{% endfor %}",
    ...files,
  });
  dirs.push(dir);
  return dir;
}
const build = (dir: string, caps: string[]) => {
  const b = vigil(dir, ['build', '--vars', JSON.stringify({ caps })]);
  expect(b.code, b.stdout + b.stderr).toBe(0);
};
const evaluate = async (dir: string, at: string) => {
  const r = await vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '4s', '--at', at], env());
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r;
};

describe("a group's notification carries the whole group, as Alertmanager's", () => {
  it('Slack: the message after a new alert joins holds every firing alert of the group; the repeat is one message per group; a resolve comes with the rest', async () => {
    const dir = project({
      'alerts/a.yaml': COUNTS_ALERT,
      'alerts/routes.yaml': `receivers:
  - name: hook
    slack: { webhook_url_env: SLACK_WEBHOOK_URL }
  - name: pd
    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }
route:
  receiver: hook
  group_by: [alertname]
  group_interval: 5m
  repeat_interval: 1h
  routes:
    - receiver: pd
      continue: true
    - receiver: hook
`,
    });
    const slack0 = hook.messages.length;
    const pd0 = pd.events.length;
    const sent = () =>
      hook.messages.slice(slack0).map((m) => {
        const caps = (m.attachments as Array<{ blocks: Array<{ text?: { text: string } }> }>).map((a) => /\*many\* — (\w+) has/.exec(a.blocks[0].text!.text)?.[1] ?? '?');
        const state = (m.attachments as Array<{ blocks: Array<{ text?: { text: string } }> }>).map((a) => (a.blocks[0].text!.text.includes('RESOLVED') ? 'resolved' : 'firing'));
        return `${m.text as string} [${caps.map((c, i) => `${c}:${state[i]}`).join(' ')}]`;
      });
    const pdSent = () => pd.events.slice(pd0).map((e) => (e.payload ? `${e.event_action} ${e.payload.summary.split(' ')[0]}` : e.event_action));

    build(dir, ['chat', 'code']);
    await evaluate(dir, '2026-03-10T12:00:00Z');
    expect(sent()).toEqual(['groups — 2 firing: many [chat:firing code:firing]']);
    build(dir, ['chat', 'code', 'draft']);
    const held = await evaluate(dir, '2026-03-10T12:01:00Z');
    expect(held.stdout).toMatch(/held: many\{capability="draft"\} -> hook until 2026-03-10T12:05:00.000Z/);
    expect(sent()).toHaveLength(1);
    await evaluate(dir, '2026-03-10T12:06:00Z');
    // was: "1 firing: many" with draft only
    expect(sent().slice(1)).toEqual(['groups — 3 firing: many [chat:firing code:firing draft:firing]']);
    // the repeat: one message for the group, an hour after its last one (was: chat+code at 13:00, draft at 13:06)
    await evaluate(dir, '2026-03-10T13:00:00Z');
    expect(sent()).toHaveLength(2);
    await evaluate(dir, '2026-03-10T13:06:00Z');
    expect(sent().slice(2)).toEqual(['groups — 3 firing: many [chat:firing code:firing draft:firing]']);
    // draft resolves: at once, with the rest of the group
    build(dir, ['chat', 'code']);
    await evaluate(dir, '2026-03-10T13:10:00Z');
    expect(sent().slice(3)).toEqual(['groups — 2 firing, 1 resolved: many [chat:firing code:firing draft:resolved]']);
    expect(sent()).toHaveLength(4);

    // PagerDuty: one event per instance (its incidents are per instance): the new ones, then every one on the group's repeat
    expect(pdSent()).toEqual(['trigger chat', 'trigger code', 'trigger draft', 'trigger chat', 'trigger code', 'trigger draft', 'resolve']);
  });
});

describe('send_resolved: false', () => {
  it('an alert that resolves and fires again while its group fires is not posted again: the receiver, never told it resolved, still shows it firing (was: "2 firing" posted again)', async () => {
    // Alertmanager 0.25's webhook gets nothing then: its notification log still holds the alert
    // firing (test/alerts/timing-alertmanager.test.ts, scenario s6)
    const dir = project({
      'alerts/a.yaml': COUNTS_ALERT,
      'alerts/routes.yaml': `receivers:
  - name: hook
    slack: { webhook_url_env: SLACK_WEBHOOK_URL }
    send_resolved: false
route:
  receiver: hook
  group_by: [alertname]
  group_interval: 1m
  repeat_interval: 4h
`,
    });
    const slack0 = hook.messages.length;
    const sent = () => hook.messages.slice(slack0).map((m) => m.text as string);
    build(dir, ['chat', 'code']);
    await evaluate(dir, '2026-03-10T10:00:00Z');
    expect(sent()).toEqual(['groups — 2 firing: many']);
    build(dir, ['chat']);
    await evaluate(dir, '2026-03-10T10:05:00Z');
    build(dir, ['chat', 'code']);
    await evaluate(dir, '2026-03-10T10:10:00Z');
    expect(sent()).toEqual(['groups — 2 firing: many']);
    // the repeat holds both, as the receiver's view does
    await evaluate(dir, '2026-03-10T14:00:00Z');
    expect(sent()).toEqual(['groups — 2 firing: many', 'groups — 2 firing: many']);
    // once a message of the group left it out, it is new to the group again
    build(dir, ['chat']);
    await evaluate(dir, '2026-03-10T14:05:00Z');
    await evaluate(dir, '2026-03-10T18:05:00Z');
    build(dir, ['chat', 'code']);
    await evaluate(dir, '2026-03-10T18:10:00Z');
    expect(sent().slice(2)).toEqual(['groups — 1 firing: many', 'groups — 2 firing: many']);
  });
});

describe("a route whose matchers are edited while its alerts fire", () => {
  // Alertmanager keys a group by its route's matchers; a reload drops every group and builds them
  // again, so the edited route's old group never sends again (no resolve from it). Here what the
  // receiver was told under the old route counts for the route that carries the alert now: no
  // second post of the same alerts, and one resolve.
  const routes = (matcher: string) => `receivers:
  - name: hook
    slack: { webhook_url_env: SLACK_WEBHOOK_URL }
  - name: nobody
route:
  receiver: nobody
  group_by: [alertname]
  group_interval: 1m
  repeat_interval: 4h
  routes:
    - matchers: ['${matcher}']
      receiver: hook
`;
  it('Slack hears the firing group once and its resolve once (was: a second "2 firing" post, then two resolve posts)', async () => {
    const dir = project({ 'alerts/a.yaml': COUNTS_ALERT, 'alerts/routes.yaml': routes('severity="critical"') });
    const slack0 = hook.messages.length;
    const sent = () => hook.messages.slice(slack0).map((m) => m.text as string);
    build(dir, ['chat', 'code']);
    await evaluate(dir, '2026-03-10T10:00:00Z');
    expect(sent()).toEqual(['groups — 2 firing: many']);
    writeFileSync(join(dir, 'alerts/routes.yaml'), routes('severity=~"critical|error"'));
    await evaluate(dir, '2026-03-10T10:10:00Z');
    expect(sent()).toHaveLength(1);
    const status = vigil(dir, ['alerts', 'status'], env());
    expect(status.stdout).toContain('notified hook (route {}/{severity=~"critical|error"})');
    expect(status.stdout).not.toContain('{severity="critical"}');
    build(dir, ['chat']);
    await evaluate(dir, '2026-03-10T10:20:00Z');
    expect(sent()).toEqual(['groups — 2 firing: many', 'groups — 1 firing, 1 resolved: many']);
  });
});

describe('inhibition', () => {
  it("a rule whose query fails inhibits nothing: its error instance pages, and so does the page it would have muted", async () => {
    const dir = project({
      'alerts/a.yaml': `alerts:
  - name: stale
    severity: critical
    query: select capabilty from {{ ref('counts') }}
    condition: { type: sql }
    summary: stale
  - name: drop
    severity: critical
    labels: { signal: volume_drop }
    query: select capability, n from {{ ref('counts') }}
    group_by: [capability]
    condition: { type: threshold, column: n, op: ">", value: 10 }
    summary: "drop on {{ capability }}"
`,
      'alerts/routes.yaml': `receivers:
  - name: pd
    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }
route:
  receiver: pd
inhibit_rules:
  - source_matchers: ['alertname="stale"']
    target_matchers: ['signal="volume_drop"']
`,
    });
    build(dir, ['chat']);
    const pd0 = pd.events.length;
    const r = await vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '4s'], env());
    // exit 1: a query failed
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('inactive -> firing {vigil_state=error}');
    expect(r.stdout).not.toContain('inhibited by');
    const got = pd.events.slice(pd0).map((e) => `${e.event_action} ${e.payload?.summary}`);
    expect(got.sort()).toEqual([expect.stringMatching(/^trigger \[stale\] could not be evaluated: /), 'trigger drop on chat'].sort());
  });
});
