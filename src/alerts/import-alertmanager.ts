/**
 * `vigil alerts import-alertmanager alertmanager.yml`: an Alertmanager configuration as
 * Vigil's routes.yaml. The routing tree, inhibition rules and time intervals are Alertmanager's
 * own vocabulary in Vigil, so they are copied as they are. Receivers become Vigil receivers:
 * the first pagerduty_configs / slack_configs entry of each, with its secret replaced by the
 * NAME of an environment variable to set (a key never goes into a file); a Slack config posting
 * to the Web API (api_url .../api/chat.postMessage, its bot token in http_config) becomes a bot
 * mode receiver. What Vigil has no
 * equivalent for (other integrations, message templates, `global:`) is listed, not dropped
 * silently; what loses a delivery (`lost`) fails the command unless --allow-partial.
 */
import { stringify } from 'yaml';
import type { Diagnostic } from '../errors.js';
import { parseYaml } from '../project/yaml-source.js';
import { redactUrl } from '../secrets.js';
import { matchValuesAsWritten, mergedAsAlertmanager, withoutNulls } from './load-alerts.js';
import { docRef } from '../install.js';

export interface ImportResult {
  /** routes.yaml text */
  text: string;
  /** environment variables the converted receivers read, and what to put in them */
  env: Array<{ name: string; what: string }>;
  /** what could not be converted, one line each */
  notConverted: string[];
  /**
   * Those of them that lose a delivery Alertmanager makes: an integration Vigil has not (its
   * alerts would go nowhere, or to fewer places), a second config of a receiver, a send_resolved
   * one receiver cannot hold. The others (message templates, global timeouts) change how a
   * message reads, not whether it is sent.
   */
  lost: string[];
}

const INTEGRATIONS = ['email_configs', 'pagerduty_configs', 'pushover_configs', 'slack_configs', 'opsgenie_configs', 'webhook_configs', 'victorops_configs', 'wechat_configs', 'telegram_configs', 'sns_configs', 'webex_configs', 'discord_configs', 'msteams_configs'];

function envName(receiver: string, suffix: string): string {
  const base = receiver.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'RECEIVER';
  return `${/^[0-9]/.test(base) ? `R_${base}` : base}_${suffix}`;
}

/** The host[:port] of an Events API URL `https://host[:port]/v2/enqueue`; undefined for any other URL. */
function enqueueHost(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  return u.protocol === 'https:' && u.pathname === '/v2/enqueue' && !u.search && !u.hash && !u.username && !u.password && u.host ? u.host : undefined;
}

/**
 * The base of a Web API URL whose method is chat.postMessage (`https://slack.com/api/chat.postMessage`
 * -> `https://slack.com/api/`), the address bot mode posts under; undefined for any other URL.
 */
function chatPostMessageBase(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!/\/api\/chat\.postMessage\/?$/.test(u.pathname)) return undefined;
  return `${u.origin}${u.pathname.replace(/chat\.postMessage\/?$/, '')}`;
}

const HTTP_CONFIG_NOTE = "Vigil has no per-receiver HTTP settings (a private CA: NODE_EXTRA_CA_CERTS; a proxy: the receiver's server or api_url variable)";
/** http_config keys that change nothing about whether a message arrives */
const HTTP_HARMLESS = ['follow_redirects', 'enable_http2'];

/**
 * A config's http_config: where its bearer token is (`authorization.credentials`,
 * `authorization.credentials_file`, the older `bearer_token` / `bearer_token_file`; never its
 * value), and its other keys, `lost` when one of them may decide whether a message arrives (a
 * proxy, TLS client certificates, basic auth, OAuth 2).
 */
function httpConfig(h: unknown): { token?: string; rest: string[]; lost: boolean } {
  if (!h || typeof h !== 'object' || Array.isArray(h)) return { rest: [], lost: false };
  const o = h as Record<string, unknown>;
  let token: string | undefined;
  const rest: string[] = [];
  for (const k of Object.keys(o)) {
    const auth = o[k] as Record<string, unknown> | null;
    if (k === 'authorization' && auth && typeof auth === 'object' && (auth.type === undefined || String(auth.type).toLowerCase() === 'bearer') && (auth.credentials !== undefined || auth.credentials_file !== undefined))
      token = auth.credentials_file !== undefined ? `authorization.credentials_file (${String(auth.credentials_file)})` : 'authorization.credentials';
    else if ((k === 'bearer_token' || k === 'bearer_token_file') && token === undefined) token = k === 'bearer_token_file' ? `bearer_token_file (${String(o[k])})` : k;
    else rest.push(k);
  }
  return { token, rest, lost: rest.some((k) => !HTTP_HARMLESS.includes(k)) };
}

export function importAlertmanager(text: string): ImportResult | string {
  const ds: Diagnostic[] = [];
  const y = parseYaml(text, 'alertmanager.yml', ds);
  const bad = ds.find((d) => d.severity === 'error');
  if (!y || bad) return `not valid YAML: ${bad ? `line ${bad.line}: ${bad.message.split('\n')[0]}` : 'unreadable'}`;
  // label values as Alertmanager reads them: `version: 1.50` is the text 1.50, not the number 1.5
  const merged = mergedAsAlertmanager(y, ds);
  const badMerge = ds.find((d) => d.severity === 'error');
  if (badMerge) return `not valid YAML: line ${badMerge.line}: ${badMerge.message}`;
  const am = withoutNulls(matchValuesAsWritten(merged.value, merged)) as Record<string, unknown> | null;
  if (!am || typeof am !== 'object') return 'not an Alertmanager configuration (expected a mapping with route: and receivers:)';
  if (!am.route) return 'no route: in the file (is it an Alertmanager configuration?)';
  const notConverted: string[] = [];
  const env: ImportResult['env'] = [];
  const out: Record<string, unknown> = {};

  const lost: string[] = [];
  /** a line of notConverted that loses a delivery (ImportResult.lost) */
  const losing = (line: string) => {
    notConverted.push(line);
    lost.push(line);
  };
  const global = (am.global && typeof am.global === 'object' ? am.global : {}) as Record<string, unknown>;
  if (am.global !== undefined && am.global !== null && (typeof am.global !== 'object' || Array.isArray(am.global))) return 'global: is not a mapping';
  for (const k of ['http_config', 'pagerduty_url', 'slack_api_url'] as const) {
    const v = global[k];
    if (v !== undefined && v !== null && (k === 'http_config' ? typeof v !== 'object' || Array.isArray(v) : typeof v !== 'string')) return `global.${k}: is not ${k === 'http_config' ? 'a mapping' : 'a URL'}`;
  }
  // global.pagerduty_url is the server of every pagerduty config without its own url (an EU
  // account's events.eu.pagerduty.com); slack_api_url is a secret: an environment variable here
  const globalPagerDuty = typeof global.pagerduty_url === 'string' ? global.pagerduty_url : undefined;
  // as Alertmanager fills them in: a config without its own http_config takes global.http_config,
  // a Slack config without api_url / api_url_file takes global.slack_api_url (a chat.postMessage
  // one too: bot mode, its token in global.http_config)
  const globalSlackUrl = typeof global.slack_api_url === 'string' ? global.slack_api_url : undefined;
  const httpOf = (c: Record<string, unknown>) => (c.http_config !== undefined ? c.http_config : global.http_config);
  const hc = (c: Record<string, unknown>) => (c.http_config === undefined && global.http_config !== undefined ? 'global.http_config' : 'http_config');
  for (const k of Object.keys(am)) {
    if (['route', 'receivers', 'inhibit_rules', 'time_intervals', 'mute_time_intervals'].includes(k)) continue;
    if (k === 'global') {
      // (http_config is listed with each PagerDuty or Slack config that takes it)
      const rest = Object.keys(global).filter((g) => g !== 'pagerduty_url' && g !== 'slack_api_url' && g !== 'slack_api_url_file' && g !== 'http_config');
      if (rest.length) notConverted.push(`global: ${rest.join(', ')}: Vigil has no global settings (receivers read their URLs and keys from environment variables)`);
      continue;
    }
    notConverted.push(k === 'templates' ? 'templates: Go templates are not Vigil\'s: a rule says its own title, summary and fields (' + docRef('alerts.md') + ')' : `${k}: not an Alertmanager key Vigil knows`);
  }

  const receivers: Array<Record<string, unknown>> = [];
  if (am.receivers !== undefined && !Array.isArray(am.receivers)) return 'receivers: is not a list';
  const used = new Set<string>();
  // two receivers whose names differ only in punctuation must not share a secret's variable
  const unique = (v: string) => {
    let name = v;
    for (let i = 2; used.has(name); i++) name = `${v}_${i}`;
    used.add(name);
    return name;
  };
  for (const [i, r] of ((am.receivers as unknown[] | undefined) ?? []).entries()) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) return `receivers[${i}] is not a mapping with a name:`;
    if (typeof (r as { name?: unknown }).name !== 'string') return `receivers[${i}] has no name:`;
    // an integration is a list of mappings (or nothing), as Alertmanager reads it: anything else would be dropped here
    for (const [k, v] of Object.entries(r)) {
      if (!k.endsWith('_configs') || v === null || v === undefined) continue;
      const bad = !Array.isArray(v) ? 'is not a list' : v.findIndex((c) => !c || typeof c !== 'object' || Array.isArray(c));
      if (bad !== -1) return `receivers[${i}] (${String((r as { name: string }).name)}): ${k}${typeof bad === 'number' ? `[${bad}] is not a mapping` : ` ${bad} (of mappings: ${k}: [{ ... }])`}`;
    }
  }
  for (const r of (am.receivers as Array<Record<string, unknown>> | undefined) ?? []) {
    const name = String(r.name ?? '');
    const rc: Record<string, unknown> = { name };
    const pd = (r.pagerduty_configs as Array<Record<string, unknown>> | undefined) ?? [];
    const sl = (r.slack_configs as Array<Record<string, unknown>> | undefined) ?? [];
    if (pd.length) {
      const p = pd[0];
      const v = unique(envName(name, 'PAGERDUTY_ROUTING_KEY'));
      const cfg: Record<string, unknown> = { routing_key_env: v };
      const own = p.url !== undefined && p.url !== null;
      const url = own ? String(p.url) : globalPagerDuty;
      if (url !== undefined) {
        // Vigil posts to https://<server>/v2/enqueue: only a URL of that very shape keeps its
        // destination (a proxy's path or an http:// URL would be changed silently)
        const host = enqueueHost(url);
        const from = own ? 'url' : 'url (global.pagerduty_url)';
        if (host === undefined)
          losing(`receiver '${name}': pagerduty ${from} '${redactUrl(url)}' is not https://host[:port]/v2/enqueue, where Vigil sends (https://<server>/v2/enqueue); the receiver is written with the default server events.pagerduty.com: set server: to a host that serves /v2/enqueue over https`);
        else if (host !== 'events.pagerduty.com') cfg.server = host;
      }
      rc.pagerduty = cfg;
      env.push({ name: v, what: `the routing key of '${name}'${p.routing_key_file ? ` (Alertmanager read it from ${String(p.routing_key_file)})` : p.service_key ? ' (its service_key: an Events API v1 key; Vigil sends Events API v2, which needs an integration key)' : ''}` });
      // Alertmanager's default for PagerDuty is to send resolves (Vigil's too)
      if (p.send_resolved === false) rc.send_resolved = false;
      if (pd.length > 1) losing(`receiver '${name}': ${pd.length - 1} more pagerduty_configs (Vigil has one PagerDuty integration per receiver: make one receiver each)`);
      const http = httpConfig(httpOf(p));
      const httpKeys = [...(http.token ? [http.token] : []), ...http.rest];
      // (a token PagerDuty gets only from global.http_config is most likely a Slack bot's: not a loss)
      if (httpKeys.length) (http.lost || (http.token && p.http_config !== undefined) ? losing : (l: string) => notConverted.push(l))(`receiver '${name}': pagerduty_configs ${hc(p)} ${httpKeys.join(', ')}: ${HTTP_CONFIG_NOTE}`);
      const extra = Object.keys(p).filter((k) => !['routing_key', 'routing_key_file', 'service_key', 'service_key_file', 'url', 'send_resolved', 'http_config'].includes(k));
      if (extra.length) notConverted.push(`receiver '${name}': pagerduty_configs ${extra.join(', ')} (a rule's summary, details and pagerduty: fields say this in Vigil)`);
    }
    if (sl.length) {
      const s = sl[0];
      const http = httpConfig(httpOf(s));
      const cfg: Record<string, unknown> = {};
      const apiUrl = typeof s.api_url === 'string' ? s.api_url : s.api_url_file === undefined ? globalSlackUrl : undefined;
      const postMessage = apiUrl !== undefined ? chatPostMessageBase(apiUrl) : undefined;
      if (postMessage !== undefined) {
        // Alertmanager posting to the Web API with a bearer token (http_config.authorization): Vigil's bot mode
        const v = unique(envName(name, 'SLACK_BOT_TOKEN'));
        cfg.bot_token_env = v;
        if (typeof s.channel === 'string') cfg.channel = s.channel;
        env.push({ name: v, what: `the Slack bot token (xoxb-...) of '${name}'${http.token ? ` (Alertmanager sent it as ${hc(s)}.${http.token})` : ' (Alertmanager sent none: Slack answers it not_authed)'}; the bot needs chat:write and channels:history (groups:history for a private channel) and must be in the channel` });
        if (postMessage !== 'https://slack.com/api/') {
          const a = unique(envName(name, 'SLACK_API_URL'));
          cfg.api_url_env = a;
          env.push({ name: a, what: `the Web API address of '${name}': ${redactUrl(postMessage)} (Alertmanager posted to ${redactUrl(String(apiUrl))})` });
        }
        if (typeof s.channel !== 'string' || !/^[CGD][A-Z0-9]{6,}$/.test(s.channel))
          losing(`receiver '${name}': channel ${typeof s.channel === 'string' ? `'${s.channel}' is a name` : 'is not given'}: Vigil's bot mode needs the channel's id (C0123ABCD, in the channel's details in Slack): put it in channel:`);
      } else {
        const v = unique(envName(name, 'SLACK_WEBHOOK_URL'));
        cfg.webhook_url_env = v;
        if (typeof s.channel === 'string') cfg.channel = s.channel;
        env.push({ name: v, what: `the Slack incoming webhook URL of '${name}'${s.api_url_file ? ` (Alertmanager read it from ${String(s.api_url_file)})` : !s.api_url ? ' (Alertmanager took global.slack_api_url)' : ''}` });
        // (one it gets only from global.http_config is most likely another receiver's bot token: not a loss)
        if (http.token) (s.http_config !== undefined ? losing : (l: string) => notConverted.push(l))(`receiver '${name}': slack_configs ${hc(s)}.${http.token}: an incoming webhook is posted without a token in Vigil (only a chat.postMessage api_url takes one, as bot mode)`);
      }
      rc.slack = cfg;
      if (http.rest.length) (http.lost ? losing : (l: string) => notConverted.push(l))(`receiver '${name}': slack_configs ${hc(s)} ${http.rest.join(', ')}: ${HTTP_CONFIG_NOTE}`);
      // Alertmanager's default for Slack is NOT to post resolves; Vigil's receiver default is to post them
      const slackResolved = s.send_resolved === true;
      if (!pd.length) {
        if (!slackResolved) rc.send_resolved = false;
      } else if (slackResolved !== (rc.send_resolved !== false)) losing(`receiver '${name}': its PagerDuty and Slack configs differ in send_resolved (Slack's default is false); Vigil has one per receiver: split it in two receivers`);
      if (sl.length > 1) losing(`receiver '${name}': ${sl.length - 1} more slack_configs (make one receiver each)`);
      const extra = Object.keys(s).filter((k) => !['api_url', 'api_url_file', 'channel', 'send_resolved', 'http_config'].includes(k));
      if (extra.length) notConverted.push(`receiver '${name}': slack_configs ${extra.join(', ')} (Go templates: a rule's title, summary and fields say this in Vigil)`);
    }
    for (const k of Object.keys(r)) {
      if (k === 'name' || k === 'pagerduty_configs' || k === 'slack_configs') continue;
      // (every integration is a `*_configs` key, those of newer Alertmanagers too: msteamsv2_configs, jira_configs, rocketchat_configs ...)
      if (INTEGRATIONS.includes(k) || k.endsWith('_configs')) losing(`receiver '${name}': ${k} (Vigil sends to PagerDuty and Slack only)${!pd.length && !sl.length ? '; the receiver is kept without an integration (alerts routed to it go nowhere)' : ''}`);
      else notConverted.push(`receiver '${name}': ${k}`);
    }
    receivers.push(rc);
  }
  out.receivers = receivers;
  out.route = am.route;
  if (am.inhibit_rules) out.inhibit_rules = am.inhibit_rules;
  if (am.time_intervals) out.time_intervals = am.time_intervals;
  if (am.mute_time_intervals) out.mute_time_intervals = am.mute_time_intervals;

  const header = [
    '# Converted from an Alertmanager configuration by `vigil alerts import-alertmanager`.',
    '# The routing tree, inhibition rules and time intervals are Alertmanager\'s, unchanged.',
    ...(env.length ? ['# Set these environment variables (secrets never go into this file):', ...env.map((e) => `#   ${e.name}: ${e.what}`)] : []),
    ...(notConverted.length ? ['# Not converted:', ...notConverted.map((n) => `#   ${n}`)] : []),
    '',
  ];
  return { text: header.join('\n') + stringify(out, { lineWidth: 0 }), env, notConverted, lost };
}
