/**
 * Delivery under faults, through the real CLI, judged from the receivers' own logs: real HTTP(S)
 * servers on 127.0.0.1 speaking the Slack Web API, Slack incoming webhooks and PagerDuty Events
 * v2, and evaluations killed with SIGKILL right after a receiver accepted a message.
 *
 * - Slack bot mode: exactly once, a crash or a lost answer included (the channel's history is
 *   read for the delivery id, from when it was first tried, before anything is posted again); a
 *   history the bot cannot read holds the message as uncertain.
 * - Slack webhook mode: a crash inside the send window is held as uncertain (never a double post)
 *   and reported by every run, exit 1, until settled; a later notification of the same alert
 *   waits for it (a resolve never overtakes its trigger). With on_uncertain: resend it is resent,
 *   and the run says it may appear twice.
 * - PagerDuty: resent after a crash in the window (it dedups by dedup_key): one incident; a
 *   refused trigger holds its resolve back until it is retried or dropped.
 * - run-scheduler sends what group_wait held when it is due, not at the next cron tick.
 * - A second evaluation while one holds the DuckDB state is skipped, exit 0.
 * - Notifications stuck longer than outbox_alert_after fire vigil_alert_outbox_stuck.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COUNTS_ALERT, makeProject, removeDir, vigil, vigilAsync, vigilProcessAsync, VIGIL } from '../helpers.js';
import { startFakeSlackApi, FAKE_SLACK_DEFAULT_CHANNEL, type FakeSlackApi } from '../support/fake-slack-api.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { loopbackTls, startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';

const dirs: string[] = [];
let api: FakeSlackApi;
let hook: FakeSlack;
let pd: FakePagerDuty;
beforeAll(async () => {
  api = await startFakeSlackApi();
  hook = await startFakeSlack();
  pd = await startFakePagerDuty();
});
afterAll(async () => {
  await api?.close();
  await hook?.close();
  await pd?.close();
  dirs.forEach(removeDir);
});

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefDELIVR'; // 32 characters, like a real integration key

function project(receiver: string, opts: { state?: 'file' | 'warehouse'; extraRoutes?: string } = {}): string {
  const dir = makeProject({
    'project.yaml': `name: faults
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
alerts: { state: ${opts.state ?? 'file'}${opts.state === 'warehouse' ? '' : ', state_file: .vigil/alert-state.json'} }
`,
    'models/counts.sql': "{{ config(materialized='table') }}\nselect 'chat' as capability, {{ var('n', 12) }} as n",
    'alerts/a.yaml': COUNTS_ALERT,
    'alerts/routes.yaml': `receivers:
  - name: bot
    slack: { bot_token_env: SLACK_BOT_TOKEN, api_url_env: SLACK_API_URL, channel: ${FAKE_SLACK_DEFAULT_CHANNEL} }
  - name: hook
    slack: { webhook_url_env: SLACK_WEBHOOK_URL }
  - name: hook_resend
    slack: { webhook_url_env: SLACK_WEBHOOK_URL, on_uncertain: resend }
  - name: pd
    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }
route:
  receiver: ${receiver}
${opts.extraRoutes ?? ''}`,
  });
  dirs.push(dir);
  return dir;
}

const env = () => ({ SLACK_BOT_TOKEN: api.token, SLACK_API_URL: api.url, SLACK_WEBHOOK_URL: hook.url, PD_KEY: ROUTING_KEY, PD_SERVER: pd.server, NODE_EXTRA_CA_CERTS: pd.caPath });
const build = (dir: string, n: number) => expect(vigil(dir, ['build', '--vars', `{n: ${n}}`]).code).toBe(0);
// (4s unless the test gives its own: an option given twice is refused)
const evaluate = (dir: string, args: string[] = []) => vigilAsync(dir, ['alerts', 'evaluate', ...(args.includes('--delivery-timeout') ? [] : ['--delivery-timeout', '4s']), ...args], env());
const botMessages = (id?: string) => (api.messages[FAKE_SLACK_DEFAULT_CHANNEL] ?? []).filter((m) => !id || (m.metadata as { event_payload?: { id?: string } } | undefined)?.event_payload?.id === id);

/** Start an evaluation, SIGKILL it once `sent()` says the receiver has the message, wait for it to die. */
async function killAfterAcceptance(dir: string, sent: () => boolean, args: string[] = []): Promise<void> {
  const child = spawn(process.execPath, [VIGIL, 'alerts', 'evaluate', '--delivery-timeout', '30s', ...args], { cwd: dir, env: { ...process.env, ...env() } });
  await new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    const check = () => (sent() ? resolve() : Date.now() - t0 > 20_000 ? reject(new Error('the receiver never got the message')) : setTimeout(check, 20));
    check();
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
}

const outboxStatus = (dir: string) => JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8')).state.outbox.map((e: { status: string; items: Array<{ action: string }> }) => `${e.items[0].action}:${e.status}`);

describe('Slack bot mode: exactly once', () => {
  it('killed right after Slack accepted the post: the next run finds it by its delivery id and does not post again', async () => {
    const dir = project('bot');
    build(dir, 12);
    const before = botMessages().length;
    api.script([{ method: 'chat.postMessage', hang: true }]); // stored, never answered
    await killAfterAcceptance(dir, () => botMessages().length > before);
    expect(outboxStatus(dir)).toEqual(['trigger:sending']);
    const next = await evaluate(dir);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toMatch(/sent slack trigger many\{capability="chat"\} -> bot/);
    expect(botMessages().length - before).toBe(1); // not twice
    const posts = api.calls('chat.postMessage').length;
    // resolve: one more post, with its own delivery id
    build(dir, 3);
    const resolved = await evaluate(dir);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(botMessages().length - before).toBe(2);
    expect(api.calls('chat.postMessage').length - posts).toBe(1);
    const ids = botMessages().slice(before).map((m) => (m.metadata as unknown as { event_payload: { id: string } }).event_payload.id);
    expect(new Set(ids).size).toBe(2);
  });

  it('the history is read from when it was first tried, not from --at: an evaluation dated ahead still finds its post', async () => {
    const dir = project('bot');
    build(dir, 12);
    const before = botMessages().length;
    api.script([{ method: 'chat.postMessage', hang: true }]);
    // (4 minutes: an --at further ahead of the clock is refused; the history read from it would still miss the post)
    const ahead = ['--at', new Date(Date.now() + 4 * 60_000).toISOString()];
    await killAfterAcceptance(dir, () => botMessages().length > before, ahead);
    const next = await evaluate(dir, ahead);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(botMessages().length - before).toBe(1);
  });

  it('a history the bot cannot read (missing_scope) after a crash: held as uncertain with the reason, never posted blindly', async () => {
    const dir = project('bot');
    build(dir, 12);
    const before = botMessages().length;
    api.script([{ method: 'chat.postMessage', hang: true }]);
    await killAfterAcceptance(dir, () => botMessages().length > before);
    const posts = api.calls('chat.postMessage').length;
    api.script([{ method: 'conversations.history', error: 'missing_scope' }]);
    const next = await evaluate(dir);
    expect(next.code).toBe(1);
    expect(next.stderr).toMatch(/may or may not have been posted .*missing_scope.*channels:history/);
    expect(next.stderr).toMatch(/1 notification is not settled:\n {2}\S+ uncertain since /);
    expect(api.calls('chat.postMessage').length).toBe(posts);
    expect(outboxStatus(dir)).toEqual(['trigger:uncertain']);
    // someone looked in the channel: it is there; dropped, the next run is clean
    const id = JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8')).state.outbox[0].id as string;
    expect(vigil(dir, ['alerts', 'outbox', '--drop', id]).code).toBe(0);
    const clean = await evaluate(dir);
    expect(clean.code, clean.stderr).toBe(0);
    expect(botMessages().length - before).toBe(1);
  });

  it('an answer lost after the post (connection reset): looked up at once, not posted again', async () => {
    const dir = project('bot');
    build(dir, 12);
    const before = botMessages().length;
    api.script([{ method: 'chat.postMessage', reset: 'after' }]);
    const r = await evaluate(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/retrying Slack \(bot\) in \d+ s: .*no answer/);
    expect(botMessages().length - before).toBe(1);
    expect(api.calls('conversations.history').length).toBeGreaterThan(0);
  });

  it('a refused post (not_in_channel) is rejected with the reason, exit 1; a 429 waits Retry-After', async () => {
    const dir = project('bot');
    build(dir, 12);
    api.script([{ method: 'chat.postMessage', status: 429, retryAfter: 1 }]);
    const ok = await evaluate(dir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/retrying Slack \(bot\) in 1 s: rate limited \(429\)/);
    const dir2 = project('bot');
    build(dir2, 12);
    api.script([{ method: 'chat.postMessage', error: 'not_in_channel' }]);
    const bad = await evaluate(dir2);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bot: slack refused \S+ \(HTTP \d+\): .*not_in_channel/);
    expect(bad.stdout + bad.stderr).not.toContain(api.token);
  });
});

describe('Slack bot mode: a certificate the client does not trust', () => {
  it('is reported at once as a TLS verification failure and not retried until the deadline (a failed handshake posted nothing); the history read of the next run likewise (was: retried for the whole --delivery-timeout as "Slack may have posted it")', async () => {
    // the fakes' certificate, without NODE_EXTRA_CA_CERTS naming it
    let connections = 0;
    const srv = createHttpsServer(loopbackTls(), (_req, res) => res.end('{"ok":true}'));
    srv.on('connection', () => connections++);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const dir = project('bot');
      build(dir, 12);
      const { NODE_EXTRA_CA_CERTS: _trusted, ...untrusted } = env();
      void _trusted;
      const e = { ...untrusted, SLACK_API_URL: `https://127.0.0.1:${(srv.address() as AddressInfo).port}/api/` };
      const run = () => vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '20s'], e);
      const first = await run();
      expect(first.code, first.stdout + first.stderr).toBe(1);
      expect(first.stdout).not.toMatch(/retrying Slack/);
      expect(first.stderr).toMatch(/bot: Slack \(bot\): TLS verification failed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
      expect(first.stderr).not.toMatch(/may have posted/);
      expect(connections).toBe(1);
      // tried once: the next run reads the channel's history before posting, and that fails the same way
      expect(outboxStatus(dir)).toEqual(['trigger:pending']);
      const second = await run();
      expect(second.code, second.stdout + second.stderr).toBe(1);
      expect(second.stdout).not.toMatch(/retrying Slack/);
      expect(second.stderr).toMatch(/bot: Slack \(bot\): reading the channel's history: TLS verification failed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
      expect(connections).toBe(2);
      expect(outboxStatus(dir)).toEqual(['trigger:pending']);
      expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(api.token);
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
  });
});

describe('Slack webhook mode: never doubled, never silently dropped', () => {
  it('killed in the send window: held as uncertain, reported by every run (exit 1); the resolve waits for it; settled, the resolve goes', async () => {
    const dir = project('hook');
    build(dir, 12);
    const before = hook.messages.length;
    hook.script([{ status: 200, hang: true }]);
    await killAfterAcceptance(dir, () => hook.messages.length > before);
    const r1 = await evaluate(dir);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/stopped before it learned whether Slack had it; it is NOT resent \(on_uncertain: hold\)/);
    expect(hook.messages.length - before).toBe(1);
    const r2 = await evaluate(dir);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/1 notification is not settled:\n {2}(\S+) uncertain/);
    // resolved meanwhile: the resolve is not posted before its trigger is settled
    build(dir, 3);
    const r3 = await evaluate(dir);
    expect(r3.code).toBe(1);
    expect(hook.messages.length - before).toBe(1);
    expect(outboxStatus(dir)).toEqual(['trigger:uncertain', 'resolve:pending']);
    expect(r3.stderr).toMatch(/resolve many\{capability="chat"\} -> hook \(waits for \S+ \(uncertain\) to be settled/);
    const id = /^ {2}(\S+) uncertain/m.exec(r3.stderr)![1];
    // the trigger did arrive: drop it; the resolve follows on the next run
    expect(vigil(dir, ['alerts', 'outbox', '--drop', id], env()).code).toBe(0);
    const r4 = await evaluate(dir);
    expect(r4.code, r4.stderr).toBe(0);
    expect(hook.messages.length - before).toBe(2);
    expect(JSON.stringify(hook.messages.at(-1))).toContain('RESOLVED');
  });

  it('on_uncertain: resend: resent after the crash, and the run says it may appear twice', async () => {
    const dir = project('hook_resend');
    build(dir, 12);
    const before = hook.messages.length;
    hook.script([{ status: 200, hang: true }]);
    await killAfterAcceptance(dir, () => hook.messages.length > before);
    const r = await evaluate(dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resending slack trigger .* \(on_uncertain: resend; it may appear twice\)/);
    expect(hook.messages.length - before).toBe(2);
  });
});

describe('status and outbox show the state as it is', () => {
  it('an instance whose notification was refused is not listed as notified; a resolve held back behind a refused trigger that was retried since says it waits for a pending one (was: "notified hook", and "(rejected)" until the next run)', async () => {
    const dir = project('hook');
    build(dir, 12);
    hook.unscript();
    const before = hook.messages.length;
    hook.script([{ status: 404 }]);
    const r1 = await evaluate(dir);
    expect(r1.code).toBe(1);
    const { state } = JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8'));
    const id = state.outbox[0].id as string;
    const st1 = vigil(dir, ['alerts', 'status'], env());
    expect(st1.code, st1.stderr).toBe(0);
    expect(st1.stdout).toContain(`many{capability="chat"} since ${state.instances['many{capability="chat"}'].activeSince} not delivered to hook (route {}): rejected (${id})`);
    expect(st1.stdout).not.toMatch(/ notified hook/);
    build(dir, 3);
    const r2 = await evaluate(dir);
    expect(r2.code).toBe(1);
    expect(outboxStatus(dir)).toEqual(['trigger:rejected', 'resolve:pending']);
    expect(r2.stderr).toContain(`resolve many{capability="chat"} -> hook (waits for ${id} (rejected) to be settled`);
    expect(vigil(dir, ['alerts', 'outbox', '--retry', id], env()).code).toBe(0);
    const ob = vigil(dir, ['alerts', 'outbox'], env());
    expect(ob.code, ob.stderr).toBe(0);
    expect(ob.stdout).toMatch(new RegExp(`resolve many\\{capability="chat"\\} \\(waits for ${id} \\(pending\\) to be settled`));
    expect(ob.stdout).not.toContain('(rejected)');
    // sent in order, then nothing is left
    const r3 = await evaluate(dir);
    expect(r3.code, r3.stdout + r3.stderr).toBe(0);
    expect(hook.messages.slice(before).map((m) => (JSON.stringify(m).includes('RESOLVED') ? 'resolve' : 'trigger'))).toEqual(['trigger', 'resolve']);
  });

  it('a resolve held back behind a retried trigger that fails again says it waits for a pending one, in the run and in status (was: "(rejected)")', async () => {
    const dir = project('hook');
    build(dir, 12);
    hook.unscript();
    hook.script([{ status: 404 }]);
    expect((await evaluate(dir)).code).toBe(1);
    const id = JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8')).state.outbox[0].id as string;
    build(dir, 3);
    expect((await evaluate(dir)).code).toBe(1);
    expect(vigil(dir, ['alerts', 'outbox', '--retry', id], env()).code).toBe(0);
    hook.script(Array.from({ length: 40 }, () => ({ status: 500 })));
    const r = await evaluate(dir, ['--delivery-timeout', '2s']);
    hook.unscript();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`resolve many{capability="chat"} -> hook (waits for ${id} (pending) to be settled`);
    expect(r.stderr).not.toContain('(rejected)');
    expect(vigil(dir, ['alerts', 'status'], env()).stdout).toContain(`(waits for ${id} (pending) to be settled`);
  });
});

describe('outbox --drop: a receiver that never heard of an alert is not told it resolved (as Alertmanager)', () => {
  /** A project whose alert's trigger the webhook refused (404): its dir, the hook's message count before, the refused entry's id. */
  const refusedTrigger = async () => {
    const dir = project('hook');
    build(dir, 12);
    hook.unscript();
    const before = hook.messages.length;
    hook.script([{ status: 404 }]);
    expect((await evaluate(dir)).code).toBe(1);
    hook.unscript();
    return { dir, before, id: JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8')).state.outbox[0].id as string };
  };

  it('a refused trigger dropped: no RESOLVED message for it, status says dropped (was: a resolve of an alert never announced)', async () => {
    const { dir, before, id } = await refusedTrigger();
    const drop = vigil(dir, ['alerts', 'outbox', '--drop', id], env());
    expect(drop.code, drop.stderr).toBe(0);
    expect(drop.stdout).toContain('no resolve will be sent for many{capability="chat"} -> hook');
    expect(vigil(dir, ['alerts', 'status'], env()).stdout).toContain(`not delivered to hook (route {}): dropped (${id})`);
    build(dir, 3);
    const r = await evaluate(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(hook.messages.length - before).toBe(0);
    expect(outboxStatus(dir)).toEqual([]);
  });

  it('a refused trigger dropped after its alert resolved: the resolve queued behind it is named, to drop too (was: sent unsaid)', async () => {
    const { dir, before } = await refusedTrigger();
    build(dir, 3);
    expect((await evaluate(dir)).code).toBe(1);
    expect(outboxStatus(dir)).toEqual(['trigger:rejected', 'resolve:pending']);
    const [trigger, resolve] = JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8')).state.outbox.map((e: { id: string }) => e.id);
    const drop = vigil(dir, ['alerts', 'outbox', '--drop', trigger], env());
    expect(drop.code, drop.stderr).toBe(0);
    expect(drop.stdout).toContain(`A resolve of its alert is already queued (${resolve}) and will be sent: if the receiver never heard of the alert, drop it too`);
    expect(vigil(dir, ['alerts', 'outbox', '--drop', resolve], env()).code).toBe(0);
    const r = await evaluate(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(hook.messages.length - before).toBe(0);
  });

  it('a refused repeat dropped after the first trigger arrived: the resolve is still sent', async () => {
    const dir = project('hook', { extraRoutes: '  repeat_interval: 1m\n' });
    build(dir, 12);
    hook.unscript();
    const before = hook.messages.length;
    expect((await evaluate(dir)).code).toBe(0);
    hook.script([{ status: 404 }]);
    // (past the repeat_interval; an --at more than 5 minutes ahead of the clock is refused)
    const later = ['--at', new Date(Date.now() + 3 * 60_000).toISOString()];
    expect((await evaluate(dir, later)).code).toBe(1);
    hook.unscript();
    const { outbox } = JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8')).state;
    expect(outbox.map((e: { status: string }) => e.status)).toEqual(['sent', 'rejected']);
    const drop = vigil(dir, ['alerts', 'outbox', '--drop', outbox[1].id], env());
    expect(drop.code, drop.stderr).toBe(0);
    expect(drop.stdout).not.toContain('no resolve');
    build(dir, 3);
    const r = await evaluate(dir, later);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(hook.messages.slice(before).map((m) => (JSON.stringify(m).includes('RESOLVED') ? 'resolve' : 'trigger'))).toEqual(['trigger', 'resolve']);
  });
});

describe('PagerDuty', () => {
  it('killed right after PagerDuty accepted the trigger: resent once, one incident; one request per state change otherwise', async () => {
    const dir = project('pd');
    build(dir, 12);
    const before = pd.events.length;
    const incidents = pd.incidents.size;
    pd.script([{ status: 202, hang: true }]);
    await killAfterAcceptance(dir, () => pd.requests > 0 && pd.events.length > before);
    const r = await evaluate(dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resending pagerduty trigger .* \(PagerDuty dedups it by dedup_key\)/);
    expect(pd.incidents.size - incidents).toBe(1);
    expect(pd.events.length - before).toBe(2); // the one the crash hid, and its resend
    // later runs send nothing until the state changes, then exactly one resolve
    const quiet = await evaluate(dir);
    expect(quiet.stdout).toContain('Queued 0 notifications');
    build(dir, 3);
    const resolved = await evaluate(dir);
    expect(resolved.code).toBe(0);
    expect(pd.events.slice(before).map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'resolve']);
  });

  it('a chunk holding a trigger and the resolve of the same incident, killed after PagerDuty took the resolve: the trigger is not resent after it (was: the incident opened again)', async () => {
    // 21 incidents fire while PagerDuty is down; the 21st resolves before it is back: a lane of 22
    // (parts of 20), the second part holding the 21st's trigger and its resolve
    const dir = makeProject({
      'project.yaml': 'name: chunk\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\nalerts: { state: file, state_file: .vigil/alert-state.json }\n',
      'models/m.sql': "{{ config(materialized='table') }}\nselect i from range(21) t(i) where i <> {{ var('gone', -1) }}",
      'alerts/a.yaml': 'alerts:\n  - name: many\n    severity: critical\n    query: select i from {{ ref(\'m\') }}\n    group_by: [i]\n    condition: { type: sql }\n    summary: "instance {{ i }}"\n',
      'alerts/routes.yaml': 'receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER, rate_per_minute: 6000 }\nroute:\n  receiver: pd\n',
    });
    dirs.push(dir);
    const before = pd.events.length;
    await pd.down();
    try {
      expect(vigil(dir, ['build']).code).toBe(0);
      expect((await evaluate(dir, ['--delivery-timeout', '1s'])).code).toBe(1);
      // the instance whose trigger is last in the lane resolves
      const last = JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8')).state.outbox.at(-1).items[0].labels.i;
      expect(vigil(dir, ['build', '--vars', `{gone: ${last}}`]).code).toBe(0);
      expect((await evaluate(dir, ['--delivery-timeout', '1s'])).code).toBe(1);
    } finally {
      await pd.up();
    }
    expect(outboxStatus(dir)).toEqual([...Array(21).fill('trigger:pending'), 'resolve:pending']);
    expect(pd.events.length).toBe(before);
    // the resolve (the 22nd request) processed, never answered: killed then
    pd.script([...Array(21).fill({ status: 202 }), { status: 202, hang: true }]);
    await killAfterAcceptance(dir, () => pd.events.slice(before).some((e) => e.event_action === 'resolve'));
    pd.unscript();
    const r = await evaluate(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // only what PagerDuty did not answer is sent again: the resolve (the trigger's 202 was saved with its mark)
    expect(r.stdout).toMatch(/resending pagerduty resolve/);
    expect(r.stdout).not.toMatch(/resending pagerduty trigger/);
    const key = pd.events.slice(before).find((e) => e.event_action === 'resolve')!.dedup_key;
    // opened once, resolved, and never triggered after its resolve
    expect(pd.incidents.get(key)).toMatchObject({ status: 'resolved', opened: 1, resolved: 1 });
    const actions = pd.events.slice(before).filter((e) => e.dedup_key === key).map((e) => e.event_action);
    expect(actions.slice(actions.indexOf('resolve'))).not.toContain('trigger');
    // nothing lost: every other incident opened once and still open
    const others = [...new Set(pd.events.slice(before).map((e) => e.dedup_key))].filter((k) => k !== key);
    expect(others).toHaveLength(20);
    for (const k of others) expect(pd.incidents.get(k)).toMatchObject({ status: 'triggered', opened: 1 });
    expect(outboxStatus(dir).every((s: string) => s.endsWith(':sent'))).toBe(true);
  });

  it('a refused trigger holds back its resolve, listed by every run, until it is retried or dropped: a retried trigger never lands after its resolve', async () => {
    const dir = project('pd');
    build(dir, 12);
    const before = pd.events.length;
    pd.script([{ status: 400, body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: ['Length of payload.summary is too long'] }) }]);
    const r1 = await evaluate(dir);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/pd: pagerduty refused (\S+) \(HTTP 400\): .*too long.*--retry/);
    build(dir, 3);
    const r2 = await evaluate(dir);
    expect(r2.code).toBe(1);
    expect(outboxStatus(dir)).toEqual(['trigger:rejected', 'resolve:pending']);
    expect(r2.stderr).toMatch(/ {2}\S+ rejected since \S+: pagerduty trigger many/);
    expect(r2.stderr).toMatch(/resolve many\{capability="chat"\} -> pd \(waits for \S+ \(rejected\) to be settled/);
    expect(pd.events.length).toBe(before);
    const id = /^ {2}(\S+) rejected/m.exec(r2.stderr)![1];
    expect(vigil(dir, ['alerts', 'outbox', '--retry', id], env()).code).toBe(0);
    const r3 = await evaluate(dir);
    expect(r3.code, r3.stderr).toBe(0);
    expect(pd.events.slice(before).map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
  });
});

/*
 * The three run-scheduler describes below run at once (describe.concurrent, consecutive: vitest
 * runs them side by side, and the file's other tests before and after them): each waits on the
 * clock for its cron slots and group_wait, idle, ~35 s one after another. Each has its own Slack
 * webhook receiver, so that what one counts is only what its scheduler sent.
 */
describe.concurrent('run-scheduler and group_wait', () => {
  it('a notification held for group_wait is sent when it is due, not at the next cron tick', async () => {
    const hook = await startFakeSlack();
    onTestFinished(() => hook.close());
    const dir = project('hook', { extraRoutes: '  group_wait: 2s\n' });
    // evaluated every 10 seconds (a start-up slowed by a busy machine only delays the first tick);
    // group_wait is 2s, so "sent when due" is 2s after the evaluation, the next tick 10s after it
    writeFileSync(join(dir, 'alerts/a.yaml'), COUNTS_ALERT.replace('severity: critical', `severity: critical\n    schedule: "*/10 * * * * *"`));
    build(dir, 12);
    const before = hook.messages.length;
    const child = spawn(process.execPath, [VIGIL, 'alerts', 'run-scheduler'], { cwd: dir, env: { ...process.env, ...env(), SLACK_WEBHOOK_URL: hook.url } });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stdout += b.toString()));
    const deadline = Date.now() + 40_000;
    while (!/sent what group_wait/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const heldAt = /held: many\{capability="chat"\} -> hook until (\S+)/.exec(stdout)?.[1];
    const sentAt = Date.now();
    child.kill('SIGTERM');
    await new Promise((r) => child.on('close', r));
    expect(heldAt, stdout).toBeDefined();
    expect(stdout).toMatch(/sent what group_wait \/ group_interval held: 1 queued, 1 sent/);
    // sent within a few seconds of its group_wait, before the next tick 10 seconds after the evaluation
    expect(sentAt - Date.parse(heldAt!)).toBeLessThan(5_000);
    expect(hook.messages.length - before).toBe(1);
  });
});

describe.concurrent('run-scheduler and two rules', () => {
  it("a notification one rule's evaluation held is sent when due though another rule is evaluated meanwhile (was: its wake-up was dropped until the rule's next tick)", async () => {
    const hook = await startFakeSlack();
    onTestFinished(() => hook.close());
    const dir = project('hook', { extraRoutes: '  group_wait: 6s\n' });
    // many fires twice a minute and holds its notification for 6 s; quiet runs every 2 s and holds nothing.
    // many's slots: 10 s from now (time to build and start) and 30 s apart (was 0 and 30: up to 30 s
    // idle before the first)
    const first = (Math.floor(Date.now() / 1000) + 10) % 60;
    const slots = [first, (first + 30) % 60].sort((x, y) => x - y).join(',');
    writeFileSync(
      join(dir, 'alerts/a.yaml'),
      COUNTS_ALERT.replace('severity: critical', `severity: critical\n    schedule: "${slots} * * * * *"`) +
        '  - name: quiet\n    severity: info\n    schedule: "*/2 * * * * *"\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 5 }\n    summary: "n is {{ n }}"\n',
    );
    build(dir, 12);
    const before = hook.messages.length;
    const child = spawn(process.execPath, [VIGIL, 'alerts', 'run-scheduler'], { cwd: dir, env: { ...process.env, ...env(), SLACK_WEBHOOK_URL: hook.url } });
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const deadline = Date.now() + 75_000;
    while (!/sent what group_wait/.test(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const heldAt = /held: many\{capability="chat"\} -> hook until (\S+)/.exec(log)?.[1];
    const sentAt = Date.now();
    child.kill('SIGTERM');
    await new Promise((r) => child.on('close', r));
    expect(heldAt, log).toBeDefined();
    expect(log).toMatch(/sent what group_wait \/ group_interval held: 1 queued, 1 sent/);
    // within a few seconds of its group_wait, not at many's next tick 30 s after its evaluation
    expect(sentAt - Date.parse(heldAt!), log).toBeLessThan(10_000);
    expect(hook.messages.length - before).toBe(1);
  }, 120_000);
});

describe.concurrent('run-scheduler restarted', () => {
  let hook: FakeSlack;
  beforeAll(async () => {
    hook = await startFakeSlack();
  });
  afterAll(() => hook?.close());
  const scheduler = () => {
    const child = spawn(process.execPath, [VIGIL, 'alerts', 'run-scheduler'], { cwd: dir, env: { ...process.env, ...env(), SLACK_WEBHOOK_URL: hook.url } });
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    const until = async (re: RegExp, ms: number) => {
      const deadline = Date.now() + ms;
      while (!re.test(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      return re.test(log);
    };
    return { child, log: () => log, closed, until };
  };
  let dir = '';

  it('a notification group_wait held when the scheduler stopped is sent when due by the next one, though its rule is not due for a year, and once only', async () => {
    dir = project('hook', { extraRoutes: '  group_wait: 6s\n' });
    writeFileSync(join(dir, 'alerts/a.yaml'), COUNTS_ALERT.replace('severity: critical', 'severity: critical\n    schedule: "*/3 * * * * *"'));
    build(dir, 12);
    const before = hook.messages.length;
    const first = scheduler();
    expect(await first.until(/held: many\{capability="chat"\} -> hook until/, 40_000), first.log()).toBe(true);
    first.child.kill('SIGTERM');
    expect(await first.closed, first.log()).toBe(0);
    expect(hook.messages.length - before, first.log()).toBe(0);
    // the rule now runs once a year: only the held notification's own time can send it
    writeFileSync(join(dir, 'alerts/a.yaml'), COUNTS_ALERT.replace('severity: critical', 'severity: critical\n    schedule: "0 0 1 1 *"'));
    const second = scheduler();
    expect(await second.until(/sent what group_wait \/ group_interval held: 1 queued, 1 sent/, 30_000), second.log()).toBe(true);
    second.child.kill('SIGTERM');
    expect(await second.closed, second.log()).toBe(0);
    expect(hook.messages.length - before).toBe(1);
    // a third finds nothing left to send
    const third = scheduler();
    // (started first: on a loaded machine a SIGTERM before its handler is set kills it)
    expect(await third.until(/Scheduler started/, 30_000), third.log()).toBe(true);
    await third.until(/sent what group_wait/, 3_000);
    third.child.kill('SIGTERM');
    expect(await third.closed, third.log()).toBe(0);
    expect(third.log()).not.toMatch(/sent what group_wait/);
    expect(hook.messages.length - before).toBe(1);
    // a SIGTERM as soon as it has started (while it reads the state) stops it cleanly (was: killed by the signal)
    const fourth = scheduler();
    expect(await fourth.until(/Scheduler started/, 30_000), fourth.log()).toBe(true);
    fourth.child.kill('SIGTERM');
    expect(await fourth.closed, fourth.log()).toBe(0);
    expect(fourth.log()).toMatch(/Scheduler stopped/);
  });
});

describe('concurrency and stuck notifications', () => {
  it('a second evaluation while one holds the DuckDB state is skipped, exit 0', async () => {
    const dir = project('hook', { state: 'warehouse' });
    build(dir, 12);
    const before = hook.messages.length;
    hook.script([{ status: 200, delayMs: 3000 }]);
    // the first evaluation is a `vigil alerts evaluate` process (the second, in the host or a process, names it by its command line)
    const first = vigilProcessAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '4s'], env());
    await new Promise<void>((resolve) => {
      const check = () => (hook.messages.length > before ? resolve() : setTimeout(check, 20));
      check();
    });
    const second = await evaluate(dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/^skipped: another evaluation holds the state \(vigil alerts evaluate/m);
    expect((await first).code).toBe(0);
  });

  it('file state: the state file\'s lock left by an evaluation killed while saving is taken over at once, and the run says so (was: a silent 10 s stall)', async () => {
    const dir = project('hook');
    build(dir, 12);
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(join(dir, '.vigil/alert-state.json.lock'), JSON.stringify({ host: hostname(), pid: gone }));
    const r = await evaluate(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(`the alert state file's lock ${join(dir, '.vigil/alert-state.json.lock')} was left by pid ${gone} on ${hostname()}, which is gone (killed while saving the state): taken over`);
    expect(r.stdout).toMatch(/sent slack trigger many\{capability="chat"\} -> hook/);
  });

  it('a notification stuck longer than outbox_alert_after fires vigil_alert_outbox_stuck, routed like any alert', async () => {
    const dir = project('hook', { extraRoutes: "  routes:\n    - matchers: ['alertname=\"vigil_alert_outbox_stuck\"']\n      receiver: pd\noutbox_alert_after: 10m\n" });
    build(dir, 12);
    hook.script(Array.from({ length: 40 }, () => ({ status: 500 })));
    const t0 = '2026-06-01T10:00:00Z';
    const r1 = await evaluate(dir, ['--at', t0, '--delivery-timeout', '2s']);
    expect(r1.code).toBe(1);
    const pdBefore = pd.events.length;
    const r2 = await evaluate(dir, ['--at', '2026-06-01T10:15:00Z', '--delivery-timeout', '2s']);
    expect(r2.code).toBe(1);
    const stuck = pd.events.slice(pdBefore).find((e) => (e.payload?.custom_details as { alert?: string } | undefined)?.alert === 'vigil_alert_outbox_stuck');
    // its message says which receiver, how many, since when and why
    expect(stuck?.payload?.summary).toMatch(/^1 notification\(s\) to hook not settled since 2026-06-01T10:00:00.000Z \(pending: .*500/);
    expect(stuck?.payload).toMatchObject({ severity: 'critical', component: 'hook', group: 'vigil', class: 'delivery' });
    expect(JSON.stringify(stuck?.payload?.custom_details)).toContain('"receiver":"hook"');
    hook.unscript();
  });
});

describe('vigil_alert_outbox_stuck is judged after the run delivered what it could', () => {
  it('a stuck notification this run delivers fires nothing (was: the run that sent it also paged that it was stuck); one still stuck after the attempt fires in that same run', async () => {
    const dir = project('pd', { extraRoutes: "  routes:\n    - matchers: ['alertname=\"vigil_alert_outbox_stuck\"']\n      receiver: hook\noutbox_alert_after: 5s\n" });
    build(dir, 12);
    hook.unscript();
    const hookBefore = hook.messages.length;
    pd.script(Array.from({ length: 40 }, () => ({ status: 502 })));
    const r1 = await evaluate(dir, ['--at', '2026-06-01T10:00:00Z', '--delivery-timeout', '2s']);
    expect(r1.code).toBe(1);
    expect(pd.unscript()).toBeGreaterThan(0);
    // healthy again, 10 s later: the trigger goes, and nothing says it is stuck
    const r2 = await evaluate(dir, ['--at', '2026-06-01T10:00:10Z']);
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/sent pagerduty trigger many\{capability="chat"\} -> pd/);
    expect(r2.stdout + r2.stderr).not.toContain('vigil_alert_outbox_stuck');
    expect(hook.messages.length).toBe(hookBefore);
    const status = vigil(dir, ['alerts', 'status'], env());
    expect(status.stdout).not.toContain('vigil_alert_outbox_stuck');
    // PagerDuty down again: the resolve fails, not stuck yet; 10 s later it fails again and is stuck: paged by that run, not the next
    build(dir, 3);
    pd.script(Array.from({ length: 80 }, () => ({ status: 502 })));
    const r3 = await evaluate(dir, ['--at', '2026-06-01T10:00:20Z', '--delivery-timeout', '2s']);
    expect(r3.code).toBe(1);
    expect(r3.stdout + r3.stderr).not.toContain('vigil_alert_outbox_stuck');
    const r4 = await evaluate(dir, ['--at', '2026-06-01T10:00:30Z', '--delivery-timeout', '2s']);
    pd.unscript();
    expect(r4.code).toBe(1);
    expect(r4.stdout).toMatch(/sent slack trigger vigil_alert_outbox_stuck\{receiver="pd"\} -> hook/);
    expect(JSON.stringify(hook.messages.slice(hookBefore))).toContain('1 notification(s) to pd not settled since 2026-06-01T10:00:20.000Z');
  });
});

describe('vigil_alert_outbox_stuck joins its group\'s notification of the same run', () => {
  it('a group this run notified (pass 1) still takes the stuck alert that fires after the delivery (pass 2) in that run (was: held for group_interval by the notification of the same run)', async () => {
    // many{chat} goes to the webhook (down); everything else, the stuck alert included, to pd, in one group (group_by: [])
    const dir = project('pd', { extraRoutes: "  routes:\n    - matchers: ['alertname=\"many\"', 'capability=\"chat\"']\n      receiver: hook\noutbox_alert_after: 5s\n" });
    writeFileSync(join(dir, 'models/counts.sql'), "{{ config(materialized='table') }}\nselect 'chat' as capability, 12 as n union all select 'code', {{ var('n', 3) }}");
    build(dir, 3);
    hook.script(Array.from({ length: 80 }, () => ({ status: 500 })));
    const r1 = await evaluate(dir, ['--at', '2026-06-01T10:00:00Z', '--delivery-timeout', '2s']);
    expect(r1.code, r1.stdout + r1.stderr).toBe(1);
    // 10 s later: many{code} fires, its group (pd) is notified; the webhook still fails, its trigger is stuck: that alert goes to pd in the same run
    build(dir, 12);
    const pdBefore = pd.events.length;
    const r2 = await evaluate(dir, ['--at', '2026-06-01T10:00:10Z', '--delivery-timeout', '2s']);
    hook.unscript();
    expect(r2.code, r2.stdout + r2.stderr).toBe(1);
    expect(r2.stdout).toMatch(/sent pagerduty trigger many\{capability="code"\} -> pd/);
    expect(r2.stdout).not.toMatch(/held: vigil_alert_outbox_stuck/);
    expect(r2.stdout).toMatch(/sent pagerduty trigger vigil_alert_outbox_stuck\{receiver="hook"\} -> pd/);
    expect(pd.events.slice(pdBefore).map((e) => (e.payload?.custom_details as { alert?: string } | undefined)?.alert).sort()).toEqual(['many', 'vigil_alert_outbox_stuck']);
  });
});

describe('notifications for any domain', () => {
  it('a project about something else: the messages say nothing about AI audit', async () => {
    const dir = project('bot');
    writeFileSync(join(dir, 'alerts/a.yaml'), COUNTS_ALERT.replace('summary: "{{ capability }} has {{ n }}"', 'title: "Too many {{ capability }} orders"\n    summary: "{{ n }} orders"\n    fields: { Shop: "{{ capability }}", Orders: "{{ n }}" }\n    pagerduty: { component: "{{ capability }}", group: shop }'));
    build(dir, 12);
    const before = botMessages().length;
    const r = await evaluate(dir);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.stringify(botMessages().slice(before));
    expect(m).not.toMatch(/AI Copilot|Capability|Delta/);
    expect(m).toContain('faults — 1 firing'); // the project's name
    expect(m).toContain('Too many chat orders');
    expect(m).toContain('*Shop*\\nchat');
  });
});

describe('a resolve says what the incident was about', () => {
  it('the Slack RESOLVED message shows the summary and fields with the values it last fired with, as the resolved row of vigil_alert_events does (was: the values of the evaluation that resolved it)', async () => {
    const dir = project('hook');
    writeFileSync(join(dir, 'alerts/a.yaml'), COUNTS_ALERT.replace('summary: "{{ capability }} has {{ n }}"', 'summary: "{{ capability }} has {{ n }}"\n    fields: { Count: "{{ n }}" }'));
    build(dir, 12);
    const before = hook.messages.length;
    expect((await evaluate(dir)).code).toBe(0);
    build(dir, 3);
    const r = await evaluate(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const sent = hook.messages.slice(before) as Array<{ attachments: Array<{ blocks: Array<{ text?: { text: string }; fields?: Array<{ text: string }> }> }> }>;
    expect(sent).toHaveLength(2);
    const resolved = sent[1].attachments[0].blocks;
    expect(resolved[0].text!.text).toMatch(/^:large_green_circle: \*RESOLVED\* \*many\* — chat has 12$/);
    expect(resolved[1].fields!.map((f) => f.text)).toContain('*Count*\n12');
    const rows = vigil(dir, ['show', '--inline', "select status, summary from {{ source('vigil', 'alert_events') }} order by event_at, status", '--output', 'json']);
    expect(rows.code, rows.stderr).toBe(0);
    expect(JSON.parse(rows.stdout)).toEqual([
      { status: 'firing', summary: 'chat has 12' },
      { status: 'resolved', summary: 'chat has 12' },
    ]);
  });
});

describe('PagerDuty: a kept connection the server closed as an event went out on it', () => {
  it('is sent again at once, and the run says so (was: "retrying PagerDuty (pd) in 1 s"); one incident each', async () => {
    const dir = makeProject({
      'project.yaml': `name: kept\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n`,
      'alerts/two.yaml': `alerts:\n  - name: two\n    severity: critical\n    query: select i from range(2) t(i)\n    group_by: [i]\n    condition: { type: sql }\n    summary: "instance {{ i }}"\n`,
      'alerts/routes.yaml': `receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }\nroute:\n  receiver: pd\n  group_by: [i]\n`,
    });
    dirs.push(dir);
    const before = pd.events.length;
    // the first event answered on a new connection, the second dropped on the one kept from it
    pd.script([{ status: 202 }, 'down']);
    const r = await vigilProcessAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '10s'], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/retrying PagerDuty \(pd\) at once: .*\(on a kept connection\)/);
    expect(r.stdout).not.toMatch(/retrying PagerDuty \(pd\) in /);
    expect(r.stdout).toMatch(/Delivered: 2 sent/);
    expect(pd.unscript()).toBe(0);
    // each event recorded once (the dropped attempt never reached the handler)
    const keys = pd.events.slice(before).map((e) => `${e.event_action}:${e.dedup_key}`);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
  });
});
