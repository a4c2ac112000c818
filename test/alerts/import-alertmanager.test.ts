/**
 * `vigil alerts import-alertmanager`: an alertmanager.yml becomes a routes.yaml that loads and
 * routes every alert exactly as Alertmanager routes it with the original file (amtool decides),
 * secrets become environment variable names (the key never reaches the output), and what has
 * no equivalent is listed. Time intervals as Alertmanager evaluates them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importAlertmanager } from '../../src/alerts/import-alertmanager.js';
import { parseRoutes } from '../../src/alerts/load-alerts.js';
import { routeAlert, routeMuted } from '../../src/alerts/routing.js';
import { compileInterval, intervalHolds } from '../../src/alerts/time-intervals.js';
import { makeProject, removeDir, vigil } from '../helpers.js';

const AMTOOL = '/usr/bin/amtool';

/** Each label set routes to the receivers amtool names with `dir`/alertmanager.yml (`routes test`), in its order. */
function expectAmtoolRouting(dir: string, routes: Parameters<typeof routeAlert>[0], sets: Array<Record<string, string>>): void {
  for (const labels of sets) {
    const args = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const answer = execFileSync(AMTOOL, ['config', 'routes', 'test', `--config.file=${join(dir, 'alertmanager.yml')}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    expect(routeAlert(routes, labels).map((x) => x.receiver).join(','), JSON.stringify(labels)).toBe(answer);
  }
}

/** `am` written to a new folder (amtool's check-config passing it), converted and loaded as routes.yaml: the folder and the routes. */
function convertedWithAmtool(am: string): { dir: string; routes: NonNullable<ReturnType<typeof parseRoutes>['routes']> } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'alertmanager.yml'), am);
  expect(execFileSync(AMTOOL, ['check-config', join(dir, 'alertmanager.yml')], { encoding: 'utf8' })).toContain('SUCCESS');
  const r = importAlertmanager(am);
  if (typeof r === 'string') throw new Error(r);
  const loaded = parseRoutes(r.text, 'routes.yaml');
  expect(loaded.diagnostics).toEqual([]);
  return { dir, routes: loaded.routes! };
}
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const KEY = 'abcdef0123456789abcdef0123456789';
const AM = `global:
  resolve_timeout: 5m
  slack_api_url: https://hooks.slack.com/services/T0/B0/XXXX
route:
  receiver: team-ops
  group_by: ['alertname', 'cluster']
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
    - match_re: { service: 'db|cache' }
      receiver: team-db
      routes:
        - match: { env: prod }
          receiver: pager
    - matchers: ['team=~"web|mobile"', 'env!="dev"']
      receiver: team-ops
      group_by: ['...']
receivers:
  - name: team-ops
    slack_configs:
      - channel: '#ops'
        title: '{{ .CommonLabels.alertname }}'
  - name: pager
    pagerduty_configs:
      - routing_key: ${KEY}
  - name: team-db
    webhook_configs:
      - url: http://example.com/hook
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: ['cluster']
`;

describe('import-alertmanager', () => {
  it('converts: loads as routes.yaml, no secret in it, what is not converted is listed', () => {
    const r = importAlertmanager(AM);
    if (typeof r === 'string') throw new Error(r);
    const loaded = parseRoutes(r.text, 'routes.yaml');
    expect(loaded.diagnostics).toEqual([]);
    expect(r.text).not.toContain(KEY);
    expect(r.text).not.toContain('hooks.slack.com');
    expect(r.env.map((e) => e.name)).toEqual(['TEAM_OPS_SLACK_WEBHOOK_URL', 'PAGER_PAGERDUTY_ROUTING_KEY']);
    expect(r.notConverted).toEqual([
      expect.stringMatching(/^global: /),
      expect.stringMatching(/^receiver 'team-ops': slack_configs title/),
      expect.stringMatching(/^receiver 'team-db': webhook_configs \(Vigil sends to PagerDuty and Slack only\); the receiver is kept without an integration/),
    ]);
    expect(loaded.routes!.receivers.find((x) => x.name === 'team-db')).toEqual({ name: 'team-db', send_resolved: true });
    // of these, only the webhook loses a delivery: a title reads differently, a resolve_timeout has no use
    expect(r.lost).toEqual([expect.stringMatching(/^receiver 'team-db': webhook_configs/)]);
  });

  it('an integration of a newer Alertmanager (msteamsv2_configs, jira_configs, rocketchat_configs) loses its deliveries: exit 2 without --allow-partial (was: listed, exit 0, alerts going nowhere)', () => {
    const r = importAlertmanager(
      `route:\n  receiver: teams\n  routes: [{ matchers: ['severity="critical"'], receiver: jira }]\nreceivers:\n  - name: teams\n    msteamsv2_configs: [{ webhook_url: 'https://example.webhook.office.com/x' }]\n  - name: jira\n    jira_configs: [{ api_url: 'https://jira.example.com', project: OPS }]\n  - name: both\n    slack_configs: [{ channel: '#ops' }]\n    rocketchat_configs: [{ channel: '#ops' }]\n`,
    );
    if (typeof r === 'string') throw new Error(r);
    expect(r.lost).toEqual([
      expect.stringMatching(/^receiver 'teams': msteamsv2_configs \(Vigil sends to PagerDuty and Slack only\); the receiver is kept without an integration/),
      expect.stringMatching(/^receiver 'jira': jira_configs \(Vigil sends to PagerDuty and Slack only\); the receiver is kept without an integration/),
      expect.stringMatching(/^receiver 'both': rocketchat_configs \(Vigil sends to PagerDuty and Slack only\)$/),
    ]);
    const dir = makeProject({ 'models/a.sql': 'select 1 as x' });
    dirs.push(dir);
    writeFileSync(join(dir, 'am.yml'), `route: { receiver: teams }\nreceivers:\n  - name: teams\n    msteamsv2_configs: [{ webhook_url: 'https://example.webhook.office.com/x' }]\n`);
    const cli = vigil(dir, ['alerts', 'import-alertmanager', 'am.yml', '--out', 'alerts/routes.yaml']);
    expect(cli.code, cli.stderr).toBe(2);
    expect(cli.stderr).toContain("not converted: receiver 'teams': msteamsv2_configs");
    expect(existsSync(join(dir, 'alerts/routes.yaml'))).toBe(false);
  });

  it("global.pagerduty_url is the server of the PagerDuty configs without their own url (an EU account's)", () => {
    const r = importAlertmanager(`global:\n  pagerduty_url: https://events.eu.pagerduty.com/v2/enqueue\nroute: { receiver: eu }\nreceivers:\n  - name: eu\n    pagerduty_configs: [{ routing_key: ${KEY} }]\n  - name: us\n    pagerduty_configs: [{ routing_key: ${KEY}, url: https://events.pagerduty.com/v2/enqueue }]\n`);
    if (typeof r === 'string') throw new Error(r);
    const routes = parseRoutes(r.text, 'routes.yaml').routes!;
    expect(routes.receivers.map((x) => [x.name, x.pagerduty?.server])).toEqual([['eu', 'events.eu.pagerduty.com'], ['us', 'events.pagerduty.com']]);
    expect(r.notConverted).toEqual([]);
  });

  it('a PagerDuty URL that is not https://host[:port]/v2/enqueue is listed, never changed silently (was: path dropped, http made https)', () => {
    const am = (url: string, where: 'global' | 'own') =>
      importAlertmanager(
        `${where === 'global' ? `global:\n  pagerduty_url: ${url}\n` : ''}route: { receiver: p }\nreceivers:\n  - name: p\n    pagerduty_configs: [{ routing_key: ${KEY}${where === 'own' ? `, url: '${url}'` : ''} }]\n`,
      );
    for (const [url, where] of [
      ['https://pd-proxy.internal:8443/pagerduty/v2/enqueue', 'global'],
      ['http://localhost:9999/v2/enqueue', 'own'],
      ['https://events.pagerduty.com/v2/change/enqueue', 'own'],
      ['not a url', 'own'],
    ] as const) {
      const r = am(url, where);
      if (typeof r === 'string') throw new Error(r);
      const line = `receiver 'p': pagerduty url${where === 'global' ? ' (global.pagerduty_url)' : ''} '${url}' is not https://host[:port]/v2/enqueue`;
      expect(r.notConverted, url).toEqual([expect.stringContaining(line)]);
      expect(r.lost, url).toEqual([expect.stringContaining(line)]); // its events would go elsewhere: exit 2 without --allow-partial
      expect(r.text, url).toContain(`#   ${line}`);
      const routes = parseRoutes(r.text, 'routes.yaml').routes!;
      expect(routes.receivers[0].pagerduty?.server, url).toBe('events.pagerduty.com'); // written as said, not a made-up host
    }
    // the shape Vigil sends to keeps its host and port
    const ok = am('https://pd-proxy.internal:8443/v2/enqueue', 'global');
    if (typeof ok === 'string') throw new Error(ok);
    expect(ok.notConverted).toEqual([]);
    expect(parseRoutes(ok.text, 'routes.yaml').routes!.receivers[0].pagerduty?.server).toBe('pd-proxy.internal:8443');
  });

  it('an integration that is not a list of mappings, or a global: that is not a mapping, is refused with its place (was: dropped, exit 0; or a TypeError)', () => {
    const am = (receiver: string, top = '') => importAlertmanager(`${top}route: { receiver: a }\nreceivers:\n  - name: a\n${receiver}`);
    expect(am(`    pagerduty_configs: { routing_key: ${KEY} }\n`)).toBe('receivers[0] (a): pagerduty_configs is not a list (of mappings: pagerduty_configs: [{ ... }])');
    expect(am('    slack_configs: [null]\n')).toBe('receivers[0] (a): slack_configs[0] is not a mapping');
    expect(am('    webhook_configs: [http://example.com/hook]\n')).toBe('receivers[0] (a): webhook_configs[0] is not a mapping');
    expect(am('', 'global: 5\n')).toBe('global: is not a mapping');
    expect(am("    slack_configs: [{ channel: '#ops' }]\n", 'global: { http_config: proxy }\n')).toBe('global.http_config: is not a mapping');
    // none at all is a receiver without an integration, as in Alertmanager
    const none = am('    slack_configs:\n');
    if (typeof none === 'string') throw new Error(none);
    expect(none.lost).toEqual([]);
    // a PagerDuty url that is no text is no https://host/v2/enqueue either: a lost delivery, not the default server said nothing of
    const url = am(`    pagerduty_configs: [{ routing_key: ${KEY}, url: 5 }]\n`);
    if (typeof url === 'string') throw new Error(url);
    expect(url.lost).toEqual([expect.stringContaining("receiver 'a': pagerduty url '5' is not https://host[:port]/v2/enqueue")]);
  });

  it("global.slack_api_url and global.http_config are what a config without its own takes, as in Alertmanager: a chat.postMessage one is bot mode, a global proxy loses deliveries (was: an incoming webhook receiver, exit 0)", () => {
    const TOKEN = 'xoxb-1234-5678-SECRETBOTTOKEN';
    const r = importAlertmanager(
      `global:\n  slack_api_url: https://slack.com/api/chat.postMessage\n  http_config: { authorization: { credentials: ${TOKEN} } }\nroute: { receiver: bot }\nreceivers:\n  - name: bot\n    slack_configs: [{ channel: C0123ABCD, send_resolved: true }]\n  - name: hook\n    slack_configs: [{ api_url: 'https://hooks.slack.com/services/T0/B0/X', send_resolved: true }]\n  - name: pager\n    pagerduty_configs: [{ routing_key: ${KEY} }]\n`,
    );
    if (typeof r === 'string') throw new Error(r);
    const loaded = parseRoutes(r.text, 'routes.yaml');
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.routes!.receivers[0].slack).toEqual({ bot_token_env: 'BOT_SLACK_BOT_TOKEN', channel: 'C0123ABCD', rate_per_second: 1 });
    expect(r.env[0]).toEqual({ name: 'BOT_SLACK_BOT_TOKEN', what: expect.stringContaining('(Alertmanager sent it as global.http_config.authorization.credentials)') });
    expect(JSON.stringify(r)).not.toContain(TOKEN);
    // the bot's token reaching the webhook and PagerDuty too (Alertmanager sends it to every integration) is said, not a loss
    expect(r.notConverted).toEqual([expect.stringMatching(/^receiver 'hook': slack_configs global\.http_config\.authorization\.credentials/), expect.stringMatching(/^receiver 'pager': pagerduty_configs global\.http_config authorization\.credentials/)]);
    expect(r.lost).toEqual([]);
    // a proxy every config goes through loses their deliveries
    const proxied = importAlertmanager(`global:\n  http_config: { proxy_url: 'http://proxy:3128' }\nroute: { receiver: p }\nreceivers:\n  - name: p\n    pagerduty_configs: [{ routing_key: ${KEY} }]\n`);
    if (typeof proxied === 'string') throw new Error(proxied);
    expect(proxied.lost).toEqual([expect.stringMatching(/^receiver 'p': pagerduty_configs global\.http_config proxy_url: Vigil has no per-receiver HTTP settings/)]);
  });

  it('a Slack bot receiver (api_url chat.postMessage + a bearer token in http_config) becomes bot mode; the token never written (was: a webhook receiver, http_config called Go templates)', () => {
    const TOKEN = 'xoxb-1234-5678-SECRETBOTTOKEN';
    const bot = (extra: string, channel = 'C0123ABCD', url = 'https://slack.com/api/chat.postMessage') =>
      importAlertmanager(`route: { receiver: bot }\nreceivers:\n  - name: bot\n    slack_configs:\n      - api_url: ${url}\n        channel: '${channel}'\n        send_resolved: true\n        http_config: { authorization: { credentials: ${TOKEN} }${extra} }\n`);
    const r = bot('');
    if (typeof r === 'string') throw new Error(r);
    const loaded = parseRoutes(r.text, 'routes.yaml');
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.routes!.receivers[0].slack).toEqual({ bot_token_env: 'BOT_SLACK_BOT_TOKEN', channel: 'C0123ABCD', rate_per_second: 1 });
    expect(r.env).toEqual([{ name: 'BOT_SLACK_BOT_TOKEN', what: expect.stringContaining('the Slack bot token (xoxb-...) of \'bot\' (Alertmanager sent it as http_config.authorization.credentials)') }]);
    expect(r.text).toContain('#   BOT_SLACK_BOT_TOKEN: the Slack bot token');
    expect(JSON.stringify(r)).not.toContain(TOKEN);
    expect(r.notConverted).toEqual([]);
    expect(r.lost).toEqual([]);
    // a proxy in front of the Web API: bot mode with its address in api_url_env
    const proxied = bot('', 'C0123ABCD', 'https://slack-proxy.internal/api/chat.postMessage');
    if (typeof proxied === 'string') throw new Error(proxied);
    expect(parseRoutes(proxied.text, 'routes.yaml').routes!.receivers[0].slack).toMatchObject({ bot_token_env: 'BOT_SLACK_BOT_TOKEN', api_url_env: 'BOT_SLACK_API_URL' });
    expect(proxied.env[1]).toEqual({ name: 'BOT_SLACK_API_URL', what: expect.stringContaining('https://slack-proxy.internal/api/') });
    // what of http_config cannot be carried is said as it is, and a proxy loses the delivery
    const withProxy = bot(', proxy_url: http://proxy:3128');
    if (typeof withProxy === 'string') throw new Error(withProxy);
    expect(withProxy.notConverted).toEqual([expect.stringMatching(/^receiver 'bot': slack_configs http_config proxy_url: Vigil has no per-receiver HTTP settings/)]);
    expect(withProxy.lost).toEqual(withProxy.notConverted);
    expect(withProxy.text).not.toContain('Go templates');
    // a channel name: bot mode reads the channel by id; a lost delivery until it is given
    const named = bot('', '#ops');
    if (typeof named === 'string') throw new Error(named);
    expect(named.lost).toEqual([expect.stringContaining("receiver 'bot': channel '#ops' is a name: Vigil's bot mode needs the channel's id")]);
    // a token sent to an incoming webhook (no Web API method) cannot be carried: lost, said so
    const hook = importAlertmanager(`route: { receiver: h }\nreceivers:\n  - name: h\n    slack_configs:\n      - api_url: https://hooks.slack.com/services/T0/B0/X\n        http_config: { authorization: { credentials_file: /etc/am/token } }\n`);
    if (typeof hook === 'string') throw new Error(hook);
    expect(parseRoutes(hook.text, 'routes.yaml').routes!.receivers[0].slack).toMatchObject({ webhook_url_env: 'H_SLACK_WEBHOOK_URL' });
    expect(hook.lost).toEqual([expect.stringContaining("receiver 'h': slack_configs http_config.authorization.credentials_file (/etc/am/token): an incoming webhook is posted without a token")]);
  });

  it.skipIf(!existsSync(AMTOOL))('routes every alert as Alertmanager does with the original file (amtool)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'alertmanager.yml'), AM);
    const r = importAlertmanager(AM);
    if (typeof r === 'string') throw new Error(r);
    const routes = parseRoutes(r.text, 'routes.yaml').routes!;
    const sets: Array<Record<string, string>> = [
      { severity: 'critical', service: 'db', env: 'prod' },
      { severity: 'critical' },
      { service: 'cache', env: 'dev' },
      { team: 'web', env: 'prod' },
      { team: 'web', env: 'dev' },
      { team: 'mobile' },
      {},
    ];
    expectAmtoolRouting(dir, routes, sets);
  });

  it.skipIf(!existsSync(AMTOOL))('match values are copied as written: 1.50, 0x1F, 1e3, 010, +1 route as Alertmanager routes them (amtool; were: written as 1.5, 31, 1000, 10, 1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
    dirs.push(dir);
    const am = `route:
  receiver: slack
  routes:
    - { receiver: pd, match: { version: 1.50 } }
    - { receiver: pd, match: { code: 0x1F } }
    - { receiver: pd, match: { n: 1e3 } }
    - { receiver: pd, match: { z: 010 } }
    - { receiver: pd, match: { p: +1 } }
    - { receiver: pd, match_re: { q: 1.0 } }
    - { receiver: pd, match: { i: .inf } }
inhibit_rules:
  - { source_match: { v: 1.50 }, target_match: { w: 0x1F }, target_match_re: { x: 1.0 } }
receivers:
  - name: slack
  - name: pd
`;
    writeFileSync(join(dir, 'alertmanager.yml'), am);
    const r = importAlertmanager(am);
    if (typeof r === 'string') throw new Error(r);
    const loaded = parseRoutes(r.text, 'routes.yaml');
    expect(loaded.diagnostics).toEqual([]);
    const routes = loaded.routes!;
    expect(routes.inhibit_rules).toEqual([{ source_match: { v: '1.50' }, target_match: { w: '0x1F' }, target_match_re: { x: '1.0' }, equal: [] }]);
    const sets: Array<Record<string, string>> = [
      { version: '1.50' },
      { version: '1.5' },
      { code: '0x1F' },
      { code: '31' },
      { n: '1e3' },
      { n: '1000' },
      { z: '010' },
      { z: '10' },
      { p: '+1' },
      { p: '1' },
      { q: '1.0' },
      { q: '1x0' },
      { q: '1' },
      { i: '.inf' },
      {},
    ];
    expectAmtoolRouting(dir, routes, sets);
  });

  it.skipIf(!existsSync(AMTOOL))('a key with no value (group_by:, group_wait:, continue:) is unset, as Alertmanager reads it: inherited or the default (amtool; was: the converted file refused, exit 2)', () => {
    const am = `route:
  receiver: a
  group_by: [team]
  group_wait: 45s
  routes:
    - receiver: b
      matchers: ['x="1"']
      group_by:
      group_wait:
      continue:
    - receiver: c
      matchers: ['y="1"']
receivers:
  - name: a
  - name: b
  - name: c
inhibit_rules:
`;
    const { dir, routes } = convertedWithAmtool(am);
    expectAmtoolRouting(dir, routes, [{ x: '1', y: '1' }, { x: '1' }, { y: '1' }, {}]);
    // (Alertmanager's route.go: a child without group_by or group_wait takes its parent's)
    const [b] = routeAlert(routes, { x: '1' });
    expect([b.groupBy, b.groupWaitMs]).toEqual([['team'], 45_000]);
  });

  it.skipIf(!existsSync(AMTOOL))('a label of match: with no value is the empty value, matching alerts without it, as Alertmanager reads it (was: left out, the route matched every alert)', () => {
    const am = `route:
  receiver: a
  routes:
    - receiver: b
      match:
        severity:
receivers:
  - name: a
  - name: b
inhibit_rules:
  - source_match:
      alertname:
    target_match:
      x: y
`;
    const { dir, routes } = convertedWithAmtool(am);
    expectAmtoolRouting(dir, routes, [{ severity: 'critical' }, { x: 'y' }, {}]);
    // (every alert has an alertname: the inhibition's source matches none, not every alert)
    expect(routes.inhibit_rules[0].source_match).toEqual({ alertname: '' });
    // a regex with no value Alertmanager refuses ("invalid regexp value"): so is the converted file
    const re = am.replace('match:\n        severity:', 'match_re:\n        severity:');
    writeFileSync(join(dir, 'alertmanager.yml'), re);
    expect(() => execFileSync(AMTOOL, ['check-config', join(dir, 'alertmanager.yml')], { stdio: 'pipe' })).toThrow();
    const r2 = importAlertmanager(re);
    expect(typeof r2 === 'string' ? r2 : parseRoutes(r2.text, 'routes.yaml').diagnostics.map((d) => d.message).join('\n')).toContain('match_re.severity: expected a string');
  });

  it('a query value of a PagerDuty URL it lists is redacted, on stderr and in the file (was: ?apikey=... printed and written)', () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as x' });
    dirs.push(dir);
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      `global:\n  pagerduty_url: https://proxy.example.com/pd/v2/enqueue?apikey=TOPSECRETAPIKEY&region=eu\nroute: { receiver: p }\nreceivers:\n  - name: p\n    pagerduty_configs: [{ routing_key: ${KEY}, url: 'https://ops:PASSWORD123@pd.example.com/x?token=OTHERSECRET' }]\n  - name: q\n    pagerduty_configs: [{ routing_key: ${KEY} }]\n`,
    );
    const refused = vigil(dir, ['alerts', 'import-alertmanager', 'alertmanager.yml', '--out', 'alerts/routes.yaml']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("receiver 'q': pagerduty url (global.pagerduty_url) 'https://proxy.example.com/pd/v2/enqueue?apikey=***&region=***' is not");
    expect(refused.stderr).toContain("receiver 'p': pagerduty url 'https://ops:***@pd.example.com/x?token=***' is not");
    const written = vigil(dir, ['alerts', 'import-alertmanager', 'alertmanager.yml', '--out', 'alerts/routes.yaml', '--allow-partial']);
    expect(written.code, written.stderr).toBe(0);
    const file = readFileSync(join(dir, 'alerts/routes.yaml'), 'utf8');
    expect(file).toContain('apikey=***');
    for (const out of [refused.stdout + refused.stderr, written.stdout + written.stderr, file]) {
      for (const secret of ['TOPSECRETAPIKEY', 'OTHERSECRET', 'PASSWORD123', KEY]) expect(out).not.toContain(secret);
    }
  });

  it('the CLI: prints or writes the file (never over an existing one without --force), the env vars and the leftovers on stderr', () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as x' });
    dirs.push(dir);
    writeFileSync(join(dir, 'alertmanager.yml'), AM);
    // the webhook receiver would receive nothing: printed for review, but not a success ...
    const printed = vigil(dir, ['alerts', 'import-alertmanager', 'alertmanager.yml']);
    expect(printed.code, printed.stderr).toBe(1);
    expect(printed.stderr).toContain('error: 1 of its deliveries would be lost');
    expect(printed.stdout).toContain('routing_key_env: PAGER_PAGERDUTY_ROUTING_KEY');
    expect(printed.stderr).toContain('set PAGER_PAGERDUTY_ROUTING_KEY: the routing key of');
    expect(printed.stdout + printed.stderr).not.toContain(KEY);
    // ... and not written, unless asked
    const refused = vigil(dir, ['alerts', 'import-alertmanager', 'alertmanager.yml', '--out', 'alerts/routes.yaml']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not converted: receiver 'team-db': webhook_configs[^]*nothing was written.*--allow-partial/);
    expect(existsSync(join(dir, 'alerts/routes.yaml'))).toBe(false);
    const written = vigil(dir, ['alerts', 'import-alertmanager', 'alertmanager.yml', '--out', 'alerts/routes.yaml', '--allow-partial']);
    expect(written.code, written.stderr).toBe(0);
    expect(readFileSync(join(dir, 'alerts/routes.yaml'), 'utf8')).toContain('receivers:');
    // written as Alertmanager had it; the check then names the labels of other systems' alerts, none of this project's rules'
    writeFileSync(join(dir, 'alerts/a.yaml'), 'alerts:\n  - name: a\n    severity: info\n    query: select 1 as x\n    condition: { type: sql }\n    summary: s\n');
    const check = vigil(dir, ['alerts', 'check']);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/alerts\/routes\.yaml:\d+:\d+: error: group_by: no alert has a label 'cluster'/);
    expect(check.stderr).toMatch(/alerts\/routes\.yaml:\d+:\d+: error: match_re: no alert has a label 'service'/);
    expect(check.stderr).toMatch(/alerts\/routes\.yaml:\d+:\d+: error: equal: no alert has a label 'cluster'/);
    const again = vigil(dir, ['alerts', 'import-alertmanager', 'alertmanager.yml', '--out', 'alerts/routes.yaml', '--allow-partial']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('alerts/routes.yaml exists: pass --force to overwrite it');
    const missing = vigil(dir, ['alerts', 'import-alertmanager', 'nope.yml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    // --out naming a folder, even with --force: exit 2, and no temporary file left beside it
    const folder = vigil(dir, ['alerts', 'import-alertmanager', 'alertmanager.yml', '--out', 'alerts', '--force', '--allow-partial']);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/^error: --out alerts: that is a folder: give the file to write \(e\.g\. --out alerts\/routes\.yaml\)/m);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('time intervals', () => {
  const at = (iso: string) => new Date(iso);
  const holds = (ti: Parameters<typeof compileInterval>[0], iso: string) => {
    const c = compileInterval(ti);
    if (typeof c === 'string') throw new Error(c);
    return intervalHolds(c, at(iso));
  };
  it('times (end exclusive), weekday ranges, in a location', () => {
    const office = { weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '17:00' }], location: 'Europe/Berlin' };
    expect(holds(office, '2026-06-01T07:00:00Z')).toBe(true); // Monday 09:00 in Berlin (CEST)
    expect(holds(office, '2026-06-01T06:59:00Z')).toBe(false);
    expect(holds(office, '2026-06-01T15:00:00Z')).toBe(false); // 17:00: end is exclusive
    expect(holds(office, '2026-06-06T10:00:00Z')).toBe(false); // Saturday
  });
  it('days of month from the end, months by name, years', () => {
    expect(holds({ days_of_month: ['-3:-1'] }, '2026-02-26T12:00:00Z')).toBe(true); // Feb 2026 has 28 days
    expect(holds({ days_of_month: ['-3:-1'] }, '2026-02-25T12:00:00Z')).toBe(false);
    // ends of both signs, as Alertmanager takes them: 1 to the last day
    expect(['2026-02-01T12:00:00Z', '2026-02-28T12:00:00Z', '2026-03-31T12:00:00Z'].map((t) => holds({ days_of_month: ['1:-1'] }, t))).toEqual([true, true, true]);
    expect(holds({ days_of_month: ['10:-10'] }, '2026-02-19T12:00:00Z')).toBe(true);
    expect(holds({ days_of_month: ['10:-10'] }, '2026-02-20T12:00:00Z')).toBe(false);
    expect(holds({ months: ['december'], years: ['2026'] }, '2026-12-01T00:00:00Z')).toBe(true);
    expect(holds({ months: ['december'], years: ['2027:2030'] }, '2026-12-01T00:00:00Z')).toBe(false);
  });
  it('refuses what Alertmanager refuses: a range that wraps, a bad time, an unknown zone', () => {
    expect(compileInterval({ weekdays: ['saturday:sunday'] })).toMatch(/the start comes after the end/);
    expect(compileInterval({ times: [{ start_time: '9:00', end_time: '17:00' }] })).toMatch(/HH:MM/);
    expect(compileInterval({ location: 'Mars/Olympus' })).toMatch(/not a known time zone/);
  });
  it('a route muted by a time interval, or outside its active ones', () => {
    const r = parseRoutes(
      `receivers: [{name: a}, {name: b}]
time_intervals:
  - name: night
    time_intervals: [{ times: [{ start_time: '22:00', end_time: '24:00' }] }]
route:
  receiver: a
  routes:
    - { receiver: b, mute_time_intervals: [night], continue: true }
    - { receiver: b, active_time_intervals: [night] }
`,
      'routes.yaml',
    ).routes!;
    const [muted, active] = routeAlert(r, {});
    expect(routeMuted(r, muted, at('2026-06-01T23:00:00Z'))).toMatch(/muted by time interval night/);
    expect(routeMuted(r, muted, at('2026-06-01T12:00:00Z'))).toBeUndefined();
    expect(routeMuted(r, active, at('2026-06-01T12:00:00Z'))).toMatch(/outside its active time intervals \(night\)/);
    expect(routeMuted(r, active, at('2026-06-01T23:00:00Z'))).toBeUndefined();
  });
});
