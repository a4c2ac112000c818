/**
 * `vigil alerts` end to end: the real CLI on the shipped project and demo data, delivering to
 * loopback servers that speak the PagerDuty Events v2 (HTTPS) and Slack webhook contracts,
 * with faults injected (429 bursts, 500s, a receiver down, the CLI killed between writing
 * the outbox and sending, two evaluations at once).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil, vigilAsync } from '../helpers.js';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { uniqueSchema } from '../support/postgres.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefSECRET'; // 32 characters, like a real integration key
// a Tuesday, 11:00 in Los Angeles: inside the shipped business hours
const NOW = '2026-03-10T18:00:00Z';

function shippedProject(): string {
  const dir = makeProject({}, false);
  dirs.push(dir);
  for (const p of ['project.yaml', 'models', 'macros', 'tests', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  return dir;
}

function demo(dir: string, scenario: string): void {
  const d = vigil(dir, ['demo', '--rows', '40000', '--days', '21', '--scenario', scenario, '--now', NOW]);
  expect(d.code, d.stderr).toBe(0);
  const b = vigil(dir, ['build', '--full-refresh']);
  expect(b.code, b.stdout + b.stderr).toBe(0);
}

/** The alerts a dry run shows firing: "rule {labels}" for each inactive -> firing line. */
function firing(stdout: string): string[] {
  const out: string[] = [];
  let rule = '';
  for (const line of stdout.split('\n')) {
    const r = /^ {2}(ai_audit_\w+|\w+) +(\d+ firing|ERROR|NO DATA|skipped)/.exec(line);
    if (r) rule = r[1];
    const t = /^ {4}\S+ -> firing(?: \{([^}]*)\})?/.exec(line);
    if (t) out.push(`${rule}${t[1] ? ` {${t[1]}}` : ''}`);
  }
  return out.sort();
}

describe('demo scenarios fire the matching alert, and a normal day fires nothing', () => {
  let dir: string;
  beforeAll(() => {
    dir = shippedProject();
  });
  it.each([
    ['normal', []],
    ['spike', ['ai_audit_volume_spike {capability=summarize}']],
    ['errors', ['ai_audit_error_surge']],
    ['new_capability', ['ai_audit_new_capability {capability=agent_plan}']],
  ] as const)('%s', (scenario, expected) => {
    demo(dir, scenario);
    const r = vigil(dir, ['alerts', 'evaluate', '--dry-run', '--at', NOW]);
    expect(r.code, r.stderr).toBe(0);
    expect(firing(r.stdout)).toEqual(expected);
    expect(r.stdout).toContain('Dry run: nothing was sent and the state was not changed.');
    // a dry run leaves no state behind
    expect(vigil(dir, ['alerts', 'status']).stdout).toContain('0 instances');
  });
  it('drop: every capability with real volume', () => {
    demo(dir, 'drop');
    const r = vigil(dir, ['alerts', 'evaluate', '--dry-run', '--at', NOW]);
    expect(r.code, r.stderr).toBe(0);
    const f = firing(r.stdout);
    expect(f.filter((x) => x.startsWith('ai_audit_volume_drop {capability=')).length).toBeGreaterThanOrEqual(5);
    // the drop scenario also leaves hours without any log, which the business-hours rule sees
    expect(f.filter((x) => !x.startsWith('ai_audit_volume_drop {capability='))).toEqual(['ai_audit_no_logs_business_hours']);
    expect(f).toContain('ai_audit_volume_drop {capability=chat}');
    // the payloads are printed: PagerDuty events and a Slack message, without secrets
    expect(r.stdout).toContain('"event_action": "trigger"');
    expect(r.stdout).toContain('"Open Dashboard"');
  });
  it('the logs stop altogether: every capability with real volume drops on the silent day (was: the silent days were not in the anomalies, nothing fired)', () => {
    // the demo's last log two days before the evaluation: the whole day before it is silent
    const d = vigil(dir, ['demo', '--rows', '40000', '--days', '21', '--now', new Date(Date.parse(NOW) - 2 * 86_400_000).toISOString()]);
    expect(d.code, d.stderr).toBe(0);
    const b = vigil(dir, ['build', '--full-refresh']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const r = vigil(dir, ['alerts', 'evaluate', '--dry-run', '--at', NOW]);
    expect(r.code, r.stderr).toBe(0);
    const f = firing(r.stdout);
    const drops = f.filter((x) => x.startsWith('ai_audit_volume_drop {capability='));
    expect(drops.length).toBeGreaterThanOrEqual(5);
    expect(drops).toContain('ai_audit_volume_drop {capability=chat}');
    expect(r.stdout).toMatch(/Volume drop on chat: 0 interactions on 2026-03-09/);
    expect(f).toContain('ai_audit_no_logs_business_hours');
  });
});

describe('delivery to PagerDuty and Slack (loopback receivers)', () => {
  let pd: FakePagerDuty;
  let slack: FakeSlack;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    pd = await startFakePagerDuty();
    slack = await startFakeSlack();
    dir = shippedProject();
    demo(dir, 'spike');
    env = { PAGERDUTY_ROUTING_KEY: ROUTING_KEY, PAGERDUTY_EVENTS_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath, SLACK_WEBHOOK_URL: slack.url };
  });
  afterAll(async () => {
    await pd?.close();
    await slack?.close();
  });
  const evaluate = (at: string, extra: Record<string, string> = {}, args: string[] = []) =>
    // (8s unless the test gives its own: an option given twice is refused)
    vigilAsync(dir, ['alerts', 'evaluate', '--state-file', '.vigil/alerts.json', '--at', at, ...(args.includes('--delivery-timeout') ? [] : ['--delivery-timeout', '8s']), ...args], { ...env, ...extra });
  const secretFree = (...texts: string[]) => {
    for (const t of texts) {
      expect(t).not.toContain(ROUTING_KEY);
      expect(t).not.toContain(slack.token);
    }
  };

  it('check passes with the receivers configured, and names what is missing otherwise', () => {
    const ok = vigil(dir, ['alerts', 'check'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('ai_audit_volume_spike (error) -> pagerduty_ai_audit, slack_ai_copilot_ops');
    const missing = vigil(dir, ['alerts', 'check'], { PAGERDUTY_ROUTING_KEY: '', SLACK_WEBHOOK_URL: slack.url });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("environment variable PAGERDUTY_ROUTING_KEY (routing key of receiver 'pagerduty_ai_audit') is not set");
    secretFree(ok.stdout, ok.stderr, missing.stdout, missing.stderr);
  });

  it('triggers once through a 429 burst and a 500, dedups the next evaluation, resolves once', async () => {
    pd.script([{ status: 429, retryAfter: 1 }, { status: 429, retryAfter: 1 }, { status: 500 }]);
    // (a budget the four attempts and their back-offs fit in on a loaded machine: with 8 s, a CI
    // run under load gave up after the third, 4.7 s in, its next back-off past the budget)
    const first = await evaluate(NOW, {}, ['--delivery-timeout', '30s']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('Delivered: 2 sent, 0 pending (retried next run), 0 rejected.');
    const spikeKey = [...pd.incidents.keys()];
    expect(spikeKey).toHaveLength(1);
    expect(pd.incidents.get(spikeKey[0])).toMatchObject({ status: 'triggered', opened: 1, triggers: 1 });
    expect(pd.events[0].payload).toMatchObject({ severity: 'error', component: 'summarize', source: expect.stringContaining('vigil/ai_audit') });
    expect(pd.events[0].payload!.summary).toMatch(/^Volume spike on summarize: \d+ interactions on 2026-03-09, [\d.]+x the 14-day median/);
    expect(pd.requests).toBe(4); // 429, 429, 500, 202
    expect(slack.messages).toHaveLength(1);
    const msg = JSON.stringify(slack.messages[0]);
    expect(msg).toContain('Open Dashboard');
    expect(msg).toContain('*Capability*\\nsummarize');
    expect(msg).toContain('https://bi.madvibe.ai/dashboards/audit-overview?capability=summarize');

    // 15 minutes later: still firing, nobody is told again
    const second = await evaluate('2026-03-10T18:15:00Z');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Queued 0 notifications');
    expect(pd.events).toHaveLength(1);
    expect(slack.messages).toHaveLength(1);

    // Saturday: the spike day left the query's window (and no_logs is outside business hours);
    // keep_firing_for (1h) holds it firing from this first evaluation without it, and as it has
    // fired for four days the repeat (repeat_interval 4h) goes out, to the same PagerDuty incident.
    // (The spike rule only: the demo's logs end on the 10th, so by Saturday the silent days are
    // drops of every capability, ai_audit_volume_drop's, which this test is not about.)
    const held = await evaluate('2026-03-14T18:00:00Z', {}, ['-s', 'ai_audit_volume_spike']);
    expect(held.code, held.stdout + held.stderr).toBe(0);
    expect(held.stdout).toMatch(/ai_audit_volume_spike +1 firing/);
    expect(pd.incidents.get(spikeKey[0])).toMatchObject({ status: 'triggered', opened: 1, triggers: 2 });
    expect(slack.messages).toHaveLength(2);
    // an hour later the hold is over
    const third = await evaluate('2026-03-14T19:00:00Z', {}, ['-s', 'ai_audit_volume_spike']);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.stdout).toContain('firing -> resolved {capability=summarize}');
    expect(pd.incidents.get(spikeKey[0])).toMatchObject({ status: 'resolved', opened: 1, resolved: 1 });
    expect(slack.messages).toHaveLength(3);
    expect(JSON.stringify(slack.messages[2])).toContain('#2EB67D');
    expect(JSON.stringify(slack.messages[2])).toContain('RESOLVED');
    secretFree(first.stdout, first.stderr, second.stdout, held.stdout, held.stderr, third.stdout, third.stderr, readFileSync(join(dir, '.vigil/alerts.json'), 'utf8'));
  });

  it('a receiver down keeps its notifications in the outbox; the next run sends each exactly once', async () => {
    rmSync(join(dir, '.vigil/alerts.json'), { force: true });
    const pdBefore = pd.events.length;
    const slackBefore = slack.messages.length;
    await slack.down();
    const r = await evaluate(NOW, {}, ['--delivery-timeout', '2s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stay in the outbox for the next run');
    expect(pd.events.length - pdBefore).toBe(1);
    expect(slack.messages.length - slackBefore).toBe(0);
    const status = vigil(dir, ['alerts', 'status', '--state-file', '.vigil/alerts.json']);
    expect(status.stdout).toMatch(/Outbox: 1 pending/);
    await slack.up();
    const again = await evaluate('2026-03-10T18:05:00Z');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Delivered: 1 sent, 0 pending');
    expect(slack.messages.length - slackBefore).toBe(1);
    expect(pd.events.length - pdBefore).toBe(1);
    secretFree(r.stdout, r.stderr, again.stdout);
  });

  it('killed between writing the outbox and sending: the next run sends, exactly once', async () => {
    rmSync(join(dir, '.vigil/alerts.json'), { force: true });
    const pdBefore = pd.events.length;
    const slackBefore = slack.messages.length;
    const killed = await evaluate(NOW, { VIGIL_TEST_CRASH_AFTER_SAVE: '1' });
    expect(killed.code).not.toBe(0);
    expect(pd.events.length).toBe(pdBefore);
    expect(slack.messages.length).toBe(slackBefore);
    // the dead process still "holds" the lock: a run on the same host sees its pid is gone
    const next = await evaluate('2026-03-10T18:01:00Z');
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(pd.events.length - pdBefore).toBe(1);
    expect(slack.messages.length - slackBefore).toBe(1);
    const third = await evaluate('2026-03-10T18:02:00Z');
    expect(third.stdout).toContain('Queued 0 notifications');
    expect(pd.events.length - pdBefore).toBe(1);
    expect(slack.messages.length - slackBefore).toBe(1);
  });

  it('a 400 from PagerDuty is reported, not retried and not silently dropped', async () => {
    rmSync(join(dir, '.vigil/alerts.json'), { force: true });
    const before = pd.requests;
    const r = await evaluate(NOW, { PAGERDUTY_ROUTING_KEY: 'too-short-key' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pagerduty refused \S+ \(HTTP 400\).*routing_key.*--retry/);
    expect(pd.requests - before).toBe(1);
    expect(vigil(dir, ['alerts', 'status', '--state-file', '.vigil/alerts.json']).stdout).toMatch(/Outbox: 0 pending, 1 rejected/);
    // a refused notification is not settled: every run lists it and fails until it is retried or dropped
    const again = await evaluate('2026-03-10T18:05:00Z');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/ {2}\S+ rejected since \S+: pagerduty trigger ai_audit_volume_spike/);
    expect(pd.requests - before).toBe(1);
  });

  it('a Slack post that timed out after sending is not resent blindly; outbox --retry sends it', async () => {
    rmSync(join(dir, '.vigil/alerts.json'), { force: true });
    const before = slack.messages.length;
    slack.script([{ status: 200, hang: true }]);
    const r = await evaluate(NOW, {}, ['--delivery-timeout', '3s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('it is NOT resent (on_uncertain: hold), to avoid a double post');
    expect(slack.messages.length - before).toBe(1); // it did arrive
    // every later run says so, and fails, until someone settles it: never silently dropped
    const again = await evaluate('2026-03-10T18:05:00Z');
    expect(again.stdout).toContain('Queued 0 notifications');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/1 notification is not settled:\n {2}\S+ uncertain since 2026-03-10T18:00:00.000Z: slack trigger ai_audit_volume_spike\{capability="summarize"\} -> slack_ai_copilot_ops/);
    expect(slack.messages.length - before).toBe(1);
    const st = vigil(dir, ['alerts', 'outbox', '--state-file', '.vigil/alerts.json']);
    expect(st.stdout).toMatch(/1 uncertain/);
    const id = /^ {2}(\S+) uncertain slack/m.exec(st.stdout)![1];
    // `--retry all` does not sweep an uncertain post along (it may have arrived: a double post)
    const all = vigil(dir, ['alerts', 'outbox', '--state-file', '.vigil/alerts.json', '--retry', 'all']);
    expect(all.code).toBe(2);
    expect(all.stderr).toContain(`left alone: 1 uncertain notification (${id}) may have arrived; look in the channel, then --retry ID (send it again) or --drop ID (it arrived)`);
    expect(vigil(dir, ['alerts', 'outbox', '--state-file', '.vigil/alerts.json']).stdout).toMatch(/1 uncertain/);
    const retry = vigil(dir, ['alerts', 'outbox', '--state-file', '.vigil/alerts.json', '--retry', id]);
    expect(retry.code, retry.stderr).toBe(0);
    const third = await evaluate('2026-03-10T18:10:00Z');
    expect(third.code, third.stderr).toBe(0);
    expect(slack.messages.length - before).toBe(2); // resent on request
  });

  it('silences mute matching instances until they expire', async () => {
    // silences are judged at the evaluation time: this one uses the real clock, on data ending now
    const live = shippedProject();
    const d = vigil(live, ['demo', '--rows', '40000', '--days', '21', '--scenario', 'spike']);
    expect(d.code, d.stderr).toBe(0);
    expect(vigil(live, ['build', '--full-refresh']).code).toBe(0);
    const ev = () => vigilAsync(live, ['alerts', 'evaluate', '--state-file', '.vigil/alerts.json', '--select', 'ai_audit_volume_spike', '--delivery-timeout', '8s'], env);
    // as Alertmanager refuses them: a silence that would mute every alert, and two ends
    for (const [args, msg] of [
      [['--match', 'capability=~.*', '--for', '2h'], /matches every alert \(each matcher matches a missing label\): at least one must not match the empty string/],
      [['--match', 'capability!=draft', '--match', 'team=', '--for', '2h'], /matches every alert/],
      [['--match', 'capability=summarize', '--for', '2h', '--until', '2030-01-01T00:00:00Z'], /give --for or --until, not both/],
    ] as const) {
      const bad = vigil(live, ['alerts', 'silence', '--state-file', '.vigil/alerts.json', ...args, '--comment', 'c'], env);
      expect(bad.code, bad.stdout).toBe(2);
      expect(bad.stderr).toMatch(msg);
    }
    const s = vigil(live, ['alerts', 'silence', '--state-file', '.vigil/alerts.json', '--match', 'capability=summarize', '--for', '2h', '--comment', 'known backfill'], env);
    expect(s.code, s.stderr).toBe(0);
    const id = /Silence (\w+) created/.exec(s.stdout)![1];
    expect(vigil(live, ['alerts', 'silences', '--state-file', '.vigil/alerts.json']).stdout).toMatch(new RegExp(`${id} +active +capability="summarize" .*known backfill`));
    const pdBefore = pd.events.length;
    const muted = await ev();
    expect(muted.code, muted.stderr).toBe(0);
    expect(muted.stdout).toMatch(/not notified: ai_audit_volume_spike\{capability="summarize"\}: silenced by \w+ until .*known backfill/);
    expect(muted.stdout).toContain('Queued 0 notifications');
    expect(pd.events.length).toBe(pdBefore);
    const x = vigil(live, ['alerts', 'silence', '--state-file', '.vigil/alerts.json', '--expire', id]);
    expect(x.code, x.stderr).toBe(0);
    expect(vigil(live, ['alerts', 'silences', '--state-file', '.vigil/alerts.json']).stdout).toContain('No active silences');
    const after = await ev();
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('Queued 2 notifications');
    expect(pd.events.length - pdBefore).toBe(1);
  });

  it('route-test and notify-test', async () => {
    const rt = vigil(dir, ['alerts', 'route-test', 'severity=critical', 'team=ml']);
    expect(rt.code).toBe(0);
    expect(rt.stdout).toContain('-> pagerduty_ai_audit (pagerduty service ai-audit-observability) via route.routes[0]');
    expect(rt.stdout).toContain('-> slack_ai_copilot_ops (slack) via route.routes[1]');
    const info = vigil(dir, ['alerts', 'route-test', 'severity=info']);
    expect(info.stdout).not.toContain('pagerduty_ai_audit');
    // a rule name that is none: routed as given, and said
    const typo = vigil(dir, ['alerts', 'route-test', 'alertname=ai_audit_volume_spik']);
    expect(typo.code).toBe(0);
    expect(typo.stderr).toContain("warning: no alert rule is named 'ai_audit_volume_spik' — did you mean 'ai_audit_volume_spike'?");
    const pdBefore = pd.events.length;
    const t = await vigilAsync(dir, ['alerts', 'notify-test', 'pagerduty_ai_audit'], env);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain('sent [TEST] trigger to pagerduty_ai_audit');
    // one test incident, opened and resolved (a trigger retried after a timeout on a loaded
    // machine carries the same dedup_key: PagerDuty opens nothing twice)
    const sent = pd.events.slice(pdBefore);
    expect([...new Set(sent.map((e) => e.dedup_key))]).toHaveLength(1);
    expect([...new Set(sent.map((e) => e.event_action))]).toEqual(['trigger', 'resolve']);
    expect(pd.incidents.get(sent[0].dedup_key!)).toMatchObject({ status: 'resolved', opened: 1, resolved: 1 });
    expect(sent[0].payload!.summary).toContain('[TEST]');
    const s = await vigilAsync(dir, ['alerts', 'notify-test', 'slack_ai_copilot_ops'], env);
    expect(s.code, s.stderr).toBe(0);
    const unknown = vigil(dir, ['alerts', 'notify-test', 'pagerduty'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("receiver 'pagerduty' is not in alerts/routes.yaml");
  });
});
