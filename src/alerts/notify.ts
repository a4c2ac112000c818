/**
 * From instance states to outbox entries: who must hear what after an evaluation.
 *
 * - A firing instance, not silenced or inhibited, is sent to every receiver its labels route
 *   to that has not heard of it yet (or last heard longer than repeat_interval ago).
 * - A resolved instance is sent as a resolve to the receivers that were told it fired (and
 *   want resolves), then dropped from the state.
 * - PagerDuty gets one event per instance (trigger/resolve with a stable dedup_key); Slack
 *   gets one Block Kit message per receiver, route group and evaluation.
 *
 * The entries carry no secret: routing keys and webhook URLs are added at send time.
 */
import type { AlertRule, ReceiverConfig, RoutesFile, Severity } from './schema.js';
import { dedupKey, renderTemplate, SEVERITY_ORDER, summaryOf, type InstanceState, type Json } from './engine.js';
import { groupLabels, inhibitedBy, routeAlert, routeMuted, silencedBy, type RoutedReceiver, type Silence } from './routing.js';
import type { PagerDutyEvent, SlackMessage } from './delivery/types.js';
import { truncateSummary } from './delivery/pagerduty.js';

export interface OutboxEntry {
  id: string;
  receiver: string;
  /** the route it came through ("route.routes[0]"): Alertmanager notifies per route */
  route?: string;
  type: 'pagerduty' | 'slack';
  createdAt: string;
  /** uncertain: a Slack post timed out after it was sent — it may have arrived, so it is not resent
   * blindly; `vigil alerts outbox --retry` resends it. rejected: the receiver refused it; later
   * notifications of its alerts wait until it is retried or dropped. */
  status: 'pending' | 'sending' | 'sent' | 'rejected' | 'uncertain';
  /** set while a send is in flight: found on a later run, the send's outcome is unknown */
  sendingSince?: string;
  /** when it was first marked for sending (wall clock): bot mode reads the channel's history from here */
  firstTriedAt?: string;
  /** an uncertain entry someone checked in the channel and retried (`outbox --retry`): posted without looking */
  checked?: boolean;
  attempts: number;
  lastError?: string;
  sentAt?: string;
  /** What it says, for tests and `vigil alerts outbox`: instance key + action. */
  items: Array<{ instance: string; alert: string; action: 'trigger' | 'resolve'; labels: Record<string, string>; summary: string }>;
  /** Dropped once sent (the state stays small); kept while pending, uncertain or rejected. */
  body?: PagerDutyEvent | SlackMessage;
}

export interface PlanInput {
  instances: Record<string, InstanceState>;
  rules: Map<string, AlertRule>;
  routes: RoutesFile;
  silences: Silence[];
  at: Date;
  /** Who sends (PagerDuty payload.source). */
  source: string;
  /** The project's name: the header of Slack messages unless the receiver gives a title. */
  project?: string;
  /** Make ids unique per evaluation. */
  idPrefix: string;
  /** Evaluated this run: repeat/resolve decisions are made only for these alerts' instances. */
  evaluated?: Set<string>;
  /** Per route and group: when it first had a firing alert and when it last notified (group_wait, group_interval). */
  groups?: Record<string, GroupState>;
  /**
   * Hold a new group's first notification for its route's group_wait. A one-shot evaluation
   * sees every rule at once, so there is nothing to wait for (false); the scheduler waits.
   */
  groupWait?: boolean;
}

export interface GroupState {
  firstAt: string;
  lastAt?: string;
}

export interface Planned {
  entries: OutboxEntry[];
  suppressed: Array<{ instance: string; reason: string }>;
  /** Triggers held for their group's group_wait / group_interval: sent by a later evaluation. */
  held: Array<{ instance: string; receiver: string; until: string }>;
}

/** The key of a route's notifications in an instance's `notified`: receiver, tab, the route's key. */
export function notifyKey(r: Pick<RoutedReceiver, 'key' | 'receiver'>): string {
  return `${r.receiver}\t${r.key}`;
}

/** The receiver of a `notified` key (older keys: the receiver itself, or "route.routes[0] receiver"). */
export function keyReceiver(key: string): string {
  const i = key.indexOf('\t');
  return i >= 0 ? key.slice(0, i) : key.slice(key.lastIndexOf(' ') + 1);
}

/** A `notified` key as people read it: `pd_main (route {}/{severity="critical"})`, never its raw TAB. */
export function describeNotifyKey(key: string): string {
  const route = keyRoute(key);
  return route === undefined ? keyReceiver(key) : `${keyReceiver(key)} (route ${route})`;
}

/** The route of a `notified` key, when it has one. */
export function keyRoute(key: string): string | undefined {
  const i = key.indexOf('\t');
  return i < 0 ? undefined : key.slice(i + 1);
}

/** Instances per Slack message (Slack allows 100 attachments; a message this size stays readable). */
export const SLACK_MAX_ITEMS = 20;

export interface Item {
  inst: InstanceState;
  rule?: AlertRule;
  action: 'trigger' | 'resolve';
  groupBy: string[] | '...';
}

export function planNotifications(p: PlanInput): Planned {
  const receivers = new Map(p.routes.receivers.map((r) => [r.name, r]));
  const iso = p.at.toISOString();
  const now = p.at.getTime();
  const queued = new Map<string, Item[]>(); // notify key (route + receiver) -> items
  const suppressed: Planned['suppressed'] = [];
  const held: Planned['held'] = [];
  const groups = p.groups ?? {};
  const touched = new Set<string>();
  const flushing = new Set<string>();
  const candidates: Array<{ inst: InstanceState; rule?: AlertRule; r: RoutedReceiver; key: string; gk: string; due: number }> = [];
  const push = (key: string, item: Item) => {
    let l = queued.get(key);
    if (!l) queued.set(key, (l = []));
    l.push(item);
  };
  const groupKey = (r: RoutedReceiver, labels: Record<string, string>) => `${notifyKey(r)} ${JSON.stringify(groupLabels(r.groupBy, labels))}`;

  const all = Object.values(p.instances).sort((a, b) => a.key.localeCompare(b.key));
  for (const inst of all) {
    const rule = p.rules.get(inst.alert);
    if (inst.status === 'firing') {
      if (p.evaluated && !p.evaluated.has(inst.alert)) {
        // not evaluated this run: its groups stay as they are
        for (const r of routeAlert(p.routes, inst.labels)) touched.add(groupKey(r, inst.labels));
        continue;
      }
      const sil = silencedBy(p.silences, inst.labels, p.at);
      if (sil) {
        suppressed.push({ instance: inst.key, reason: `silenced by ${sil.id} until ${sil.endsAt} (${sil.comment})` });
        continue;
      }
      const inh = inhibitedBy(p.routes, all, inst);
      if (inh) {
        suppressed.push({ instance: inst.key, reason: `inhibited by ${inh.key}` });
        continue;
      }
      for (const r of routeAlert(p.routes, inst.labels)) {
        const rc = receivers.get(r.receiver);
        // a receiver without an integration is a blackhole, as in Alertmanager
        if (!rc || (!rc.pagerduty && !rc.slack)) continue;
        const key = notifyKey(r);
        const gk = groupKey(r, inst.labels);
        touched.add(gk);
        const group = (groups[gk] ??= { firstAt: iso });
        const muted = routeMuted(p.routes, r, p.at);
        if (muted) {
          suppressed.push({ instance: inst.key, reason: `${r.path} -> ${r.receiver}: ${muted}` });
          continue;
        }
        // a notification recorded under an older key (the receiver, or the route's position): it counts for this route
        const legacy = inst.notified[key] ? undefined : Object.keys(inst.notified).find((k) => !k.includes('\t') && keyReceiver(k) === r.receiver);
        if (legacy) {
          inst.notified[key] = inst.notified[legacy];
          delete inst.notified[legacy];
        }
        const n = inst.notified[key];
        const isNew = !n || n.action !== 'trigger';
        if (!isNew && now - Date.parse(n.at) < r.repeatMs) continue;
        // Alertmanager's timing: a new group waits group_wait, an existing one group_interval
        const due = !isNew ? now : group.lastAt ? Date.parse(group.lastAt) + r.groupIntervalMs : Date.parse(group.firstAt) + (p.groupWait ? r.groupWaitMs : 0);
        if (due <= now) flushing.add(gk);
        candidates.push({ inst, rule, r, key, gk, due });
      }
    } else if (inst.status === 'resolved') {
      // as in Alertmanager, a resolve is muted like a trigger: silenced, inhibited, or its route in a mute interval
      const sil = silencedBy(p.silences, inst.labels, p.at);
      const inh = sil ? undefined : inhibitedBy(p.routes, all, inst);
      const routed = new Map(routeAlert(p.routes, inst.labels).map((r) => [notifyKey(r), r]));
      for (const [key, n] of Object.entries(inst.notified)) {
        const rc = receivers.get(keyReceiver(key));
        if (n.action !== 'trigger' || !rc) continue;
        inst.notified[key] = { at: iso, action: 'resolve' };
        if (!rc.send_resolved) continue;
        const r = routed.get(key);
        const muted = sil ? `silenced by ${sil.id} until ${sil.endsAt} (${sil.comment})` : inh ? `inhibited by ${inh.key}` : r ? routeMuted(p.routes, r, p.at) : undefined;
        if (muted) {
          suppressed.push({ instance: inst.key, reason: `its resolve to ${rc.name} is not sent: ${muted}` });
          continue;
        }
        push(key, { inst, rule, action: 'resolve', groupBy: r?.groupBy ?? [] });
      }
      delete p.instances[inst.key];
    }
  }
  // a group that notifies now takes every alert it has along (those that joined since too);
  // the others wait for their group's time
  for (const c of candidates) {
    if (!flushing.has(c.gk)) {
      held.push({ instance: c.inst.key, receiver: c.r.receiver, until: new Date(c.due).toISOString() });
      continue;
    }
    c.inst.notified[c.key] = { at: iso, action: 'trigger' };
    groups[c.gk].lastAt = iso;
    push(c.key, { inst: c.inst, rule: c.rule, action: 'trigger', groupBy: c.r.groupBy });
  }
  // a group none of whose alerts fires any more is forgotten (Alertmanager drops empty groups)
  for (const gk of Object.keys(groups)) if (!touched.has(gk)) delete groups[gk];

  const entries: OutboxEntry[] = [];
  let n = 0;
  const nextId = () => `${p.idPrefix}-${String(++n).padStart(4, '0')}`;
  for (const [key, items] of queued) {
    const name = keyReceiver(key);
    const route = keyRoute(key);
    const rc = receivers.get(name)!;
    const info = (it: Item) => ({ instance: it.inst.key, alert: it.inst.alert, action: it.action, labels: it.inst.labels, summary: it.rule ? summaryOf(it.inst, it.rule) : it.inst.key });
    if (rc.pagerduty) {
      for (const it of items) entries.push({ id: nextId(), receiver: name, route, type: 'pagerduty', createdAt: iso, status: 'pending', attempts: 0, items: [info(it)], body: pagerDutyEvent(it, p.source) });
    }
    if (rc.slack) {
      const groups = new Map<string, Item[]>();
      for (const it of items) {
        const k = JSON.stringify(groupLabels(it.groupBy, it.inst.labels));
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(it);
      }
      // Slack takes at most 100 attachments (and 50 blocks) per message: big groups go out in parts
      for (const g of groups.values()) {
        for (let i = 0; i < g.length; i += SLACK_MAX_ITEMS) {
          const part = g.slice(i, i + SLACK_MAX_ITEMS);
          entries.push({ id: nextId(), receiver: name, route, type: 'slack', createdAt: iso, status: 'pending', attempts: 0, items: part.map(info), body: slackMessage(part, rc, p.project) });
        }
      }
    }
  }
  return { entries, suppressed, held };
}

function links(inst: InstanceState, rule: AlertRule | undefined): Array<{ href: string; text: string }> {
  if (!rule) return [];
  return Object.entries(rule.links)
    .map(([name, tpl]) => ({ text: name === 'dashboard' ? 'Open Dashboard' : name === 'runbook' ? 'Runbook' : name, href: renderTemplate(tpl, inst, rule) }))
    .filter((l) => /^https?:\/\//.test(l.href) || l.href.startsWith('docs/'));
}

const PD_SEVERITY: Record<Severity, Severity> = { critical: 'critical', error: 'error', warning: 'warning', info: 'info' };

export function pagerDutyEvent(it: Item, source: string): PagerDutyEvent {
  const { inst, rule } = it;
  const dedup_key = dedupKey(inst.key);
  if (it.action === 'resolve') return { event_action: 'resolve', dedup_key };
  const summary = rule ? summaryOf(inst, rule) : inst.key;
  const details: Record<string, unknown> = { alert: inst.alert, state: inst.kind === 'row' ? 'firing' : inst.kind, labels: inst.labels, row: inst.values, first_fired_at: inst.firedAt, active_since: inst.activeSince };
  if (rule?.details) details.details = renderTemplate(rule.details, inst, rule);
  if (rule?.description) details.description = renderTemplate(rule.description, inst, rule);
  const ls = links(inst, rule).filter((l) => /^https?:\/\//.test(l.href));
  // component, group and class come from the rule (templates); an empty one is left out
  const pd = (k: 'component' | 'group' | 'class', dflt?: string) => {
    const t = rule?.pagerduty?.[k];
    const v = t === undefined ? dflt : renderTemplate(t, inst, rule).trim();
    return v ? v : undefined;
  };
  return {
    event_action: 'trigger',
    dedup_key,
    payload: {
      // (cut where a character ends: a lone surrogate is not text PagerDuty can show)
      summary: truncateSummary(summary),
      source,
      severity: PD_SEVERITY[(inst.labels.severity as Severity) ?? 'error'] ?? 'error',
      timestamp: inst.firedAt,
      component: pd('component'),
      group: pd('group'),
      class: pd('class', inst.alert),
      custom_details: details,
    },
    links: ls.length ? ls : undefined,
    client: 'Vigil',
    client_url: ls[0]?.href,
  };
}

const COLOR = { firing: '#E01E5A', resolved: '#2EB67D', info: '#7C3AED' };

function fmt(v: Json | undefined): string {
  if (v === null || v === undefined) return '—';
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000)) : String(v);
}

/**
 * One Block Kit message for a group: the receiver's title (default: the project's name), then
 * per instance its rule's title and summary, the rule's fields (templates) followed by Window
 * and Severity, and its links as buttons (the first one primary); resolves in green.
 */
export function slackMessage(items: Item[], rc: ReceiverConfig, project = 'Vigil'): SlackMessage {
  const firing = items.filter((i) => i.action === 'trigger').sort((a, b) => SEVERITY_ORDER[(a.inst.labels.severity as Severity) ?? 'info'] - SEVERITY_ORDER[(b.inst.labels.severity as Severity) ?? 'info']);
  const resolved = items.filter((i) => i.action === 'resolve');
  const title = [firing.length ? `${firing.length} firing` : '', resolved.length ? `${resolved.length} resolved` : ''].filter(Boolean).join(', ');
  const alertNames = [...new Set(items.map((i) => i.inst.alert))].join(', ');
  const attachments = [...firing, ...resolved].map((it) => {
    const { inst, rule } = it;
    const v = inst.values;
    const sev = inst.labels.severity ?? 'error';
    const summary = rule ? summaryOf(inst, rule) : inst.key;
    const window = v.window_start !== undefined ? `${fmt(v.window_start)}–${fmt(v.window_end)}` : rule?.time && v[rule.time] !== undefined ? fmt(v[rule.time]) : fmt(inst.activeSince);
    const own = Object.entries(rule?.fields ?? {}).map(([name, tpl]) => ({ type: 'mrkdwn', text: `*${escapeMrkdwn(name)}*\n${escapeMrkdwn(renderTemplate(tpl, inst, rule).trim()) || '—'}` }));
    // Slack shows at most 10 fields
    const fields = [...own.slice(0, 8), { type: 'mrkdwn', text: `*Window*\n${window}` }, { type: 'mrkdwn', text: `*Severity*\n${sev}` }];
    const headline = rule?.title ? renderTemplate(rule.title, inst, rule).trim() || inst.alert : inst.alert;
    const blocks: unknown[] = [
      { type: 'section', text: { type: 'mrkdwn', text: `${it.action === 'resolve' ? ':large_green_circle: *RESOLVED*' : sev === 'info' ? ':large_purple_circle: *NEW*' : ':red_circle: *FIRING*'} *${escapeMrkdwn(headline)}* — ${escapeMrkdwn(summary).slice(0, 2800)}` } },
      { type: 'section', fields },
    ];
    const buttons = links(inst, rule)
      .filter((l) => /^https?:\/\//.test(l.href))
      .slice(0, 5)
      .map((l, i) => ({ type: 'button', text: { type: 'plain_text', text: l.text.slice(0, 75) }, url: l.href, ...(i === 0 && it.action === 'trigger' ? { style: 'primary' } : {}) }));
    if (buttons.length) blocks.push({ type: 'actions', elements: buttons });
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${it.action === 'resolve' ? `resolved ${inst.resolvedAt ?? ''}` : `since ${inst.activeSince}`} · dedup ${dedupKey(inst.key)}` }] });
    return { color: it.action === 'resolve' ? COLOR.resolved : sev === 'info' ? COLOR.info : COLOR.firing, blocks };
  });
  const header = rc.slack?.title ?? project;
  const msg: SlackMessage & { channel?: string } = {
    text: `${header} — ${title}: ${alertNames}`,
    blocks: [{ type: 'header', text: { type: 'plain_text', text: `${header} — ${title}`.slice(0, 150) } }],
    attachments,
  };
  if (rc.slack?.channel) msg.channel = rc.slack.channel;
  return msg;
}

function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
