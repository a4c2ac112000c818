/**
 * `vigil alerts` after a hostile review, through the real CLI and the fake receivers of
 * test/support: a secret in a webhook URL's query string, template reads the scan of a template
 * cannot see, an empty given of an undocumented model, a selector matching nothing, did-you-mean
 * hints, and the headers of a big group's Slack parts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTS_ALERT, makeProject, removeDir, vigil, vigilAsync } from '../helpers.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';

const dirs: string[] = [];
let hook: FakeSlack;
beforeAll(async () => {
  hook = await startFakeSlack();
});
afterAll(async () => {
  await hook?.close();
  dirs.forEach(removeDir);
});

const PROJECT_YAML = `name: review
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
alerts: { state: file, state_file: .vigil/alert-state.json }
`;
const ROUTES = `receivers:
  - name: sl
    slack: { webhook_url_env: SLACK_WEBHOOK_URL }
route:
  receiver: sl
  group_by: [alertname]
`;
function project(files: Record<string, string>): string {
  const dir = makeProject({
    'project.yaml': PROJECT_YAML,
    // one row per capability of the var caps, n = 12 (over the threshold of 'many')
    'models/counts.sql': "{{ config(materialized='table') }}\n{% for c in var('caps', ['chat']) %}select '{{ c }}' as capability, 12 as n{% if not loop.last %} union all {% endif %}{% endfor %}",
    'alerts/routes.yaml': ROUTES,
    ...files,
  });
  dirs.push(dir);
  return dir;
}
const build = (dir: string, caps: string[] = ['chat']) => {
  const b = vigil(dir, ['build', '--vars', JSON.stringify({ caps })]);
  expect(b.code, b.stdout + b.stderr).toBe(0);
};

describe('a secret in the webhook URL', () => {
  it("its query string is redacted from notify-test, the state file and status, when the receiver echoes the request's URL", async () => {
    const dir = project({ 'alerts/a.yaml': COUNTS_ALERT });
    build(dir);
    const url = `${hook.url}?token=MYTOKENSECRET77`;
    const echo = (): void => hook.script([{ status: 400, body: `bad request for ${new URL(url).pathname}?token=MYTOKENSECRET77` }]);
    const env = { SLACK_WEBHOOK_URL: url };

    echo();
    const t = await vigilAsync(dir, ['alerts', 'notify-test', 'sl'], env);
    expect(t.code).toBe(1);
    // was: bad request for <redacted:slack_webhook_path>?token=MYTOKENSECRET77
    expect(t.stdout + t.stderr).toContain('bad request for <redacted:');
    expect(t.stdout + t.stderr).not.toContain('MYTOKENSECRET77');

    echo();
    const e = await vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '4s', '--at', '2026-03-10T12:00:00Z'], env);
    expect(e.code).toBe(1);
    expect(e.stdout + e.stderr).toContain('Slack rejected the message (HTTP 400): bad request for <redacted:');
    expect(e.stdout + e.stderr).not.toContain('MYTOKENSECRET77');
    const state = readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8');
    expect(state).toContain('bad request for <redacted:');
    expect(state).not.toContain('MYTOKENSECRET77');
    const s = vigil(dir, ['alerts', 'status'], env);
    expect(s.stdout).toContain('bad request for <redacted:');
    expect(s.stdout + s.stderr).not.toContain('MYTOKENSECRET77');
    // and without the variable set: what was stored never held it
    const bare = vigil(dir, ['alerts', 'status']);
    expect(bare.stdout + bare.stderr).not.toContain('MYTOKENSECRET77');
  });

  it("a PagerDuty server_env or a bot's api_url_env: a token in its query string is not printed", async () => {
    const dir = project({
      'alerts/a.yaml': COUNTS_ALERT,
      'alerts/routes.yaml': `receivers:
  - name: pd
    pagerduty: { routing_key_env: PD_ROUTING, server_env: PD_SERVER }
route:
  receiver: pd
`,
    });
    const r = await vigilAsync(dir, ['alerts', 'notify-test', 'pd'], { PD_ROUTING: 'R0UT1NGKEY0123456789abcdefREVIEW', PD_SERVER: 'https://events.example.com/?token=PDQUERYSECRET9' });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("environment variable PD_SERVER of receiver 'pd' is 'https://events.example.com/?token=<redacted:");
    expect(r.stdout + r.stderr).not.toContain('PDQUERYSECRET9');
  });
});

describe('template reads the scan cannot see by name', () => {
  const rule = (summary: string) => `alerts:
  - name: many
    severity: critical
    query: select capability, n from {{ ref('counts') }}
    group_by: [capability]
    condition: { type: threshold, column: n, op: ">", value: 10 }
    summary: "${summary}"
`;
  it('`(labels).tem` is a read of labels.tem: an error when the rules load; `(values).nn` and a key computed from constants, with the columns (--warehouse)', () => {
    const labels = project({ 'alerts/a.yaml': rule('{{ capability }} {{ (labels).tem }}') });
    const c = vigil(labels, ['alerts', 'check'], { SLACK_WEBHOOK_URL: hook.url });
    expect(c.code).toBe(2);
    expect(c.stderr).toContain("alerts/a.yaml:7:14: error: alert 'many': summary reads 'labels.tem', which its instances do not have");

    for (const [read, message] of [
      ['(values).nn', "summary reads 'values.nn', which its instances do not have — did you mean 'values.n'?"],
      ["values['n' ~ 'n']", "summary reads 'values.nn', a key computed in the template, which its instances do not have — did you mean 'values.n'?"],
    ]) {
      const dir = project({ 'alerts/a.yaml': rule(`{{ capability }} {{ ${read} }}`) });
      build(dir);
      const w = vigil(dir, ['alerts', 'check', '--warehouse'], { SLACK_WEBHOOK_URL: hook.url });
      // (an error of the rule's file, at its line, found against the warehouse's columns: exit 2)
      expect(w.code, read).toBe(2);
      expect(w.stderr, read).toContain(`alerts/a.yaml:7:14: alert 'many': ${message}`);
    }
  });

  it("a key made of a value the row lacks is an error at render, never '' — with the template's file:line; a guard still lets it be missing", async () => {
    const guards = "{{ values['x' ~ capability] | default('-') }}|{{ labels.get('tem', 'none') }}|{{ values['n'] }}";
    const dir = project({ 'alerts/a.yaml': `${rule('{{ capability }} {{ values[capability] }}')}    fields: { G: "${guards}" }
` });
    build(dir);
    const check = vigil(dir, ['alerts', 'check', '--warehouse'], { SLACK_WEBHOOK_URL: hook.url });
    expect(check.code, check.stderr).toBe(0);
    const r = await vigilAsync(dir, ['alerts', 'evaluate', '--dry-run', '--at', '2026-03-10T12:00:00Z'], { SLACK_WEBHOOK_URL: hook.url });
    expect(r.code, r.stderr).toBe(0);
    // was: "chat "
    expect(r.stdout).toContain("inactive -> firing {capability=chat} — {{ capability }} {{ values[capability] }} (template error: 'values' has no key 'chat' (alerts/a.yaml:7))");
    expect(r.stderr).toContain("warning: alert many: its summary uses 'values.chat', read by a computed key at alerts/a.yaml:7, which its rows do not have (the summary is shown as written)");
    // the guards render: a default, .get() with its default
    expect(r.stdout).toContain('"text": "*G*\\n-|none|12"');
    expect(r.stderr).not.toContain("uses 'values.x");
  });
});

describe('alerts test', () => {
  it("an empty given of a model whose columns are not documented is refused at its line, before any test runs (was: a Binder Error reported as an 'unexpected instance')", () => {
    const dir = project({
      'alerts/a.yaml': COUNTS_ALERT,
      'alerts/tests/t.yaml': `tests:
  - name: nothing fires
    alert: many
    given:
      ref('counts'): []
    evaluations:
      - at: 2026-03-10T12:00:00Z
        expect: []
`,
    });
    const r = vigil(dir, ['alerts', 'test']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("alerts/tests/t.yaml:5:22: error: test 'nothing fires': cannot type an empty given ref('counts'): document the model's columns (or give one row)");
    expect(r.stdout).not.toContain('FAIL');

    // documented columns type it: the test runs
    const typed = project({
      'alerts/a.yaml': COUNTS_ALERT,
      'alerts/tests/t.yaml': readFileSync(join(dir, 'alerts/tests/t.yaml'), 'utf8'),
      'models/counts.yml': 'models:\n  - name: counts\n    columns:\n      - { name: capability, data_type: varchar }\n      - { name: n, data_type: integer }\n',
    });
    const t = vigil(typed, ['alerts', 'test']);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toContain('1 passed, 0 failed');
  });

  it('-s naming no alert exits 2 with the nearest name, also when there are no test files', () => {
    const dir = project({ 'alerts/a.yaml': COUNTS_ALERT });
    const r = vigil(dir, ['alerts', 'test', '-s', 'mnay']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--select mnay matched no alert — did you mean 'many'? (alerts: many)");
    const none = vigil(dir, ['alerts', 'test', '-s', 'many']);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('No alert tests found in alerts/tests/*.yaml for many.');
    // a typo beside a good name is not dropped (was: exit 0, evaluating and testing 'many' alone)
    for (const command of [['evaluate', '--dry-run'], ['test']]) {
      const part = vigil(dir, ['alerts', ...command, '-s', 'many', '-s', 'mnay']);
      expect(part.code, command[0]).toBe(2);
      expect(part.stderr).toContain("--select mnay matched no alert — did you mean 'many'? (alerts: many)");
      expect(part.stdout).toBe('');
    }
    // an empty selector is said as the node commands say it (was: "--select  matched no alert")
    for (const command of ['evaluate', 'test']) {
      const blank = vigil(dir, ['alerts', command, '-s', '']);
      expect(blank.code, command).toBe(2);
      expect(blank.stderr).toBe("error: selector '' is empty: give what to select (an alert's name, a glob, severity=critical, label=value), or leave the flag out to select every alert\n");
    }
  });
});

describe('did-you-mean', () => {
  const base = `alerts:
  - name: many
    severity: critical
    query: select capability, n from {{ ref('counts') }}
    group_by: [capability]
    condition: { type: threshold, column: n, op: ">", value: 10 }
    summary: "{{ capability }}"
`;
  it.each([
    ['a key that is the start of one (keep_firing)', base.replace('    group_by', '    keep_firing: 1h\n    group_by'), "alerts/a.yaml:5:5: error: alerts[0].keep_firing: unknown key 'keep_firing' — did you mean 'keep_firing_for'?"],
    ['two characters swapped (=>)', base.replace('op: ">"', 'op: "=>"'), "alerts[0].condition.op: '=>' is not one of '>', '>=', '<', '<=', '==', '!=' — did you mean '>='?"],
    ['a time zone', base.replace('    group_by', '    schedule: { cron: "* * * * *", timezone: Europe/Pariss }\n    group_by'), "alerts/a.yaml:5:15: error: alert 'many': schedule time zone 'Europe/Pariss' is unknown — did you mean 'Europe/Paris'?"],
    ["the rule's key inside its condition (time)", base.replace('value: 10 }', 'value: 10, time: n }'), "alerts[0].condition.time: unknown key 'time': it is a key of alerts[0], not of condition: move it up a level"],
  ])('%s', (_what, yaml, message) => {
    const dir = project({ 'alerts/a.yaml': yaml });
    const r = vigil(dir, ['alerts', 'check'], { SLACK_WEBHOOK_URL: hook.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});

describe('where the state is kept', () => {
  it('state_file without state: file is an error at its line, exit 2 (was: ignored, the warehouse table used): which state is meant must be said, as moving it would fire the alerts firing in the other again', () => {
    const dir = project({ 'project.yaml': PROJECT_YAML.replace('alerts: { state: file, state_file: .vigil/alert-state.json }', 'alerts:\n  state_file: .vigil/mine.json'), 'alerts/a.yaml': COUNTS_ALERT });
    const r = vigil(dir, ['alerts', 'status']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain('project.yaml:6:15: error: alerts.state_file: the state is kept in the warehouse unless state: file is set, so no file would be read or written');
    expect(existsSync(join(dir, '.vigil/mine.json'))).toBe(false);
  });

  it('state: warehouse with a state_file is an error at the line of state_file, exit 2', () => {
    const dir = project({ 'project.yaml': PROJECT_YAML.replace('alerts: { state: file, state_file: .vigil/alert-state.json }', 'alerts:\n  state: warehouse\n  state_file: .vigil/mine.json'), 'alerts/a.yaml': COUNTS_ALERT });
    const r = vigil(dir, ['alerts', 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('project.yaml:7:15: error: alerts.state_file: the state is kept in the warehouse unless state: file is set (state: warehouse), so no file would be read or written');
  });
});

describe('alerts check: a rule nobody hears', () => {
  it('is a problem of the project\'s files: exit 2, as every error at their lines (was: exit 1, as a warehouse refusal)', () => {
    const dir = project({ 'alerts/a.yaml': COUNTS_ALERT, 'alerts/routes.yaml': 'receivers:\n  - name: sl\n    slack: { webhook_url_env: SLACK_WEBHOOK_URL }\n  - name: nobody\nroute:\n  receiver: nobody\n' });
    const r = vigil(dir, ['alerts', 'check'], { SLACK_WEBHOOK_URL: hook.url });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain('error: alert many reaches only receivers without an integration: nobody hears it');
  });

  it("is not said of a rule whose instances a route sends by a group_by label (was: exit 2, 'nobody hears it', for a rule each of whose instances goes to Slack)", () => {
    // the root is a blackhole; an instance carries its row's capability, which the route matches
    const routes = 'receivers:\n  - name: sl\n    slack: { webhook_url_env: SLACK_WEBHOOK_URL }\n  - name: nobody\nroute:\n  receiver: nobody\n  routes:\n    - matchers: [\'capability=~".+"\']\n      receiver: sl\n';
    const dir = project({ 'alerts/a.yaml': COUNTS_ALERT, 'alerts/routes.yaml': routes });
    const r = vigil(dir, ['alerts', 'check'], { SLACK_WEBHOOK_URL: hook.url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toContain('nobody hears it');
    expect(r.stdout).toContain('  many (critical) -> nobody (routes also match on capability, which each instance\'s row gives: try one with vigil alerts route-test alertname=many capability=...)');
    expect(vigil(dir, ['alerts', 'route-test', 'alertname=many', 'capability=chat']).stdout).toContain('receivers: sl\n');
    // every receiver a blackhole: nobody hears it whatever the row says
    writeFileSync(join(dir, 'alerts/routes.yaml'), routes.replace('    slack: { webhook_url_env: SLACK_WEBHOOK_URL }\n', ''));
    const none = vigil(dir, ['alerts', 'check']);
    expect(none.code, none.stdout + none.stderr).toBe(2);
    expect(none.stderr).toContain('error: alert many reaches only receivers without an integration: nobody hears it');
  });
});

describe("a Slack webhook's channel", () => {
  it('alerts check warns at its line that an app webhook posts to its own channel (was: accepted and sent, silently ignored by Slack); bot mode takes it without a word', () => {
    const dir = project({ 'alerts/a.yaml': COUNTS_ALERT, 'alerts/routes.yaml': ROUTES.replace('slack: { webhook_url_env: SLACK_WEBHOOK_URL }', 'slack: { webhook_url_env: SLACK_WEBHOOK_URL, channel: "#ops" }') });
    const r = vigil(dir, ['alerts', 'check'], { SLACK_WEBHOOK_URL: hook.url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("warning: alerts/routes.yaml:3:59: receiver sl: channel #ops is not where a Slack app's incoming webhook posts: it posts to the channel chosen when the webhook was made (Slack ignores channel; only a legacy custom-integration webhook honours it)");
    writeFileSync(join(dir, 'alerts/routes.yaml'), ROUTES.replace('slack: { webhook_url_env: SLACK_WEBHOOK_URL }', 'slack: { bot_token_env: SLACK_BOT_TOKEN, channel: C0123ABCD }'));
    const bot = vigil(dir, ['alerts', 'check'], { SLACK_BOT_TOKEN: 'xoxb-test' });
    expect(bot.stdout + bot.stderr).not.toContain('channel chosen when the webhook was made');
  });
});

describe('a group too big for one Slack message', () => {
  it("each part is headed by the group's count and which of its alerts it holds (was: 20 firing, 20 firing, 4 firing)", async () => {
    const dir = project({ 'alerts/a.yaml': COUNTS_ALERT });
    build(dir, Array.from({ length: 44 }, (_, i) => `c${String(i).padStart(2, '0')}`));
    const slack0 = hook.messages.length;
    const r = await vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '10s', '--at', '2026-03-10T12:00:00Z'], { SLACK_WEBHOOK_URL: hook.url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const got = hook.messages.slice(slack0).map((m) => [m.text as string, (m.attachments as unknown[]).length]);
    expect(got).toEqual([
      ['review — 44 firing (1–20): many', 20],
      ['review — 44 firing (21–40): many', 20],
      ['review — 44 firing (41–44): many', 4],
    ]);
  });
});

// a hostile check of notification templates: `alerts check` passed, and each notification then
// showed the field as empty text (—), Infinity, or "(template error: ...)" without a warning
describe('templates that cannot render', () => {
  const rule = (summary: string, owner = 'ok') => `alerts:
  - name: many
    severity: critical
    query: select capability, n, 0 as zero from {{ ref('counts') }}
    group_by: [capability]
    condition: { type: threshold, column: n, op: ">", value: 10 }
    summary: '${summary}'
    fields: { Owner: '${owner}' }
`;
  it('alerts check refuses, at the template\'s line, a member missing whatever the row, a tag reading another template, and nunjucks\' names templates do not read', () => {
    for (const [summary, owner, message] of [
      ['ok', '{% for k in labels %}{{ k.nme }}{% endfor %}', "alerts/a.yaml:8:22: error: alert 'many': fields.Owner reads 'k.nme', which is always undefined: text has no attribute 'nme'"],
      ['{{ (capability | upper).nme }}', 'ok', "alerts/a.yaml:7:14: error: alert 'many': summary reads '(capability | upper).nme', which is always undefined: a value made of the row's has no attribute 'nme'"],
      ['{% include "runbook.html" %}', 'ok', "alerts/a.yaml:7:14: error: alert 'many': summary uses {% include %}, which templates do not have"],
      ['ok', '{{ caller() }}', "alerts/a.yaml:8:22: error: alert 'many': fields.Owner reads 'caller', which is there only in the body of a {% macro %} called by {% call %}"],
    ]) {
      const dir = project({ 'alerts/a.yaml': rule(summary, owner) });
      const c = vigil(dir, ['alerts', 'check'], { SLACK_WEBHOOK_URL: hook.url });
      expect(c.code, c.stderr).toBe(2);
      expect(c.stderr).toContain(message);
      expect(c.stderr).not.toContain('    at ');
    }
  });

  it('at evaluation, a member a value has not and a number that is not finite are errors of the template, shown and warned (was: "ab", Infinity, no warning); tested, a missing member is fine', async () => {
    const dir = project({ 'alerts/a.yaml': rule('a{{ capability[99] }}b', "{{ n / zero }}|{{ (labels | dictsort)[0].x | default(\"-\") }}") });
    build(dir);
    expect(vigil(dir, ['alerts', 'check'], { SLACK_WEBHOOK_URL: hook.url }).code).toBe(0);
    const r = await vigilAsync(dir, ['alerts', 'evaluate', '--dry-run', '--at', '2026-03-10T12:00:00Z'], { SLACK_WEBHOOK_URL: hook.url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("inactive -> firing {capability=chat} — a{{ capability[99] }}b (template error: 'capability[99]' is undefined: text of 4 characters has no item 99)");
    expect(r.stderr).toContain("warning: alert many: its summary cannot be rendered: 'capability[99]' is undefined: text of 4 characters has no item 99 (the summary is shown as written, with the error)");
    expect(r.stdout).toContain(`"text": "*Owner*\\n{{ n / zero }}|{{ (labels | dictsort)[0].x | default(\\"-\\") }} (template error: 'n / zero' is Infinity, not a number it can print (a division by zero?))"`);
    expect(r.stderr).toContain("warning: alert many: its fields.Owner cannot be rendered: 'n / zero' is Infinity");
    expect(r.stdout).not.toContain('Infinity"');
  });
});

describe('rate limits', () => {
  it("two receivers of one webhook share its limit (Slack counts it per webhook), at the stricter rate (was: one limiter per receiver, so both posted at once: twice the rate the service allows)", async () => {
    const dir = project({
      'alerts/a.yaml': COUNTS_ALERT,
      'alerts/routes.yaml': `receivers:
  - name: sl1
    slack: { webhook_url_env: SLACK_WEBHOOK_URL, rate_per_second: 0.25 }
  - name: sl2
    slack: { webhook_url_env: SLACK_WEBHOOK_URL, rate_per_second: 1 }
route:
  receiver: sl1
  group_by: [alertname]
  routes:
    - { receiver: sl1, continue: true }
    - { receiver: sl2 }
`,
    });
    build(dir);
    const before = hook.messages.length;
    const arrived: number[] = [];
    const poll = setInterval(() => {
      while (before + arrived.length < hook.messages.length) arrived.push(Date.now());
    }, 20);
    try {
      const e = await vigilAsync(dir, ['alerts', 'evaluate', '--at', '2026-03-10T12:00:00Z'], { SLACK_WEBHOOK_URL: hook.url });
      expect(e.code, e.stdout + e.stderr).toBe(0);
    } finally {
      clearInterval(poll);
    }
    while (before + arrived.length < hook.messages.length) arrived.push(Date.now());
    expect(arrived).toHaveLength(2);
    // one message per 4 s (sl1's 0.25/s, the stricter), not two at once
    expect(arrived[1] - arrived[0]).toBeGreaterThan(3000);
  }, 60_000);
});

describe('notify-test beside a short alerts.lock_lease', () => {
  it('sends without --delivery-timeout (it holds no state lock; was: exit 2 over a flag never given); a --delivery-timeout given past half the lease is still refused', async () => {
    const dir = project({ 'project.yaml': PROJECT_YAML.replace('state: file,', 'state: file, lock_lease: 40s,') });
    const env = { SLACK_WEBHOOK_URL: hook.url };
    const before = hook.messages.length;
    const t = await vigilAsync(dir, ['alerts', 'notify-test', 'sl'], env);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/sent \[TEST\] trigger to sl/);
    expect(hook.messages.length - before).toBe(2);
    const given = await vigilAsync(dir, ['alerts', 'notify-test', 'sl', '--delivery-timeout', '30s'], env);
    expect(given.code).toBe(2);
    expect(given.stderr).toContain("--delivery-timeout 30s is longer than half the state lock's lease (40s)");
    expect(hook.messages.length - before).toBe(2);
  });
});
