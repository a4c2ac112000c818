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
import { DEFAULT_GROUP_BY, inhibitedBy, routeLabels, silencedBy, type Silence } from './routing.js';
import type { PagerDutyEvent, SlackMessage } from './delivery/types.js';

export interface OutboxEntry {
  id: string;
  receiver: string;
  type: 'pagerduty' | 'slack';
  createdAt: string;
  /** uncertain: a Slack post timed out after it was sent — it may have arrived, so it is not resent
   * blindly; `vigil alerts outbox --retry` resends it. */
  status: 'pending' | 'sent' | 'rejected' | 'uncertain';
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
  /** Make ids unique per evaluation. */
  idPrefix: string;
  /** Evaluated this run: repeat/resolve decisions are made only for these alerts' instances. */
  evaluated?: Set<string>;
}

export interface Planned {
  entries: OutboxEntry[];
  suppressed: Array<{ instance: string; reason: string }>;
}

/** Instances per Slack message (Slack allows 100 attachments; a message this size stays readable). */
export const SLACK_MAX_ITEMS = 20;

export interface Item {
  inst: InstanceState;
  rule?: AlertRule;
  action: 'trigger' | 'resolve';
  groupBy: string[];
}

export function planNotifications(p: PlanInput): Planned {
  const receivers = new Map(p.routes.receivers.map((r) => [r.name, r]));
  const iso = p.at.toISOString();
  const queued = new Map<string, Item[]>(); // receiver -> items
  const suppressed: Planned['suppressed'] = [];
  const push = (receiver: string, item: Item) => {
    let l = queued.get(receiver);
    if (!l) queued.set(receiver, (l = []));
    l.push(item);
  };

  const all = Object.values(p.instances).sort((a, b) => a.key.localeCompare(b.key));
  for (const inst of all) {
    const rule = p.rules.get(inst.alert);
    if (inst.status === 'firing') {
      if (p.evaluated && !p.evaluated.has(inst.alert)) continue;
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
      for (const r of routeLabels(p.routes, inst.labels)) {
        if (!receivers.has(r.receiver)) continue;
        const n = inst.notified[r.receiver];
        if (n && n.action === 'trigger' && p.at.getTime() - Date.parse(n.at) < r.repeatMs) continue;
        inst.notified[r.receiver] = { at: iso, action: 'trigger' };
        push(r.receiver, { inst, rule, action: 'trigger', groupBy: r.groupBy });
      }
    } else if (inst.status === 'resolved') {
      const routed = new Map(routeLabels(p.routes, inst.labels).map((r) => [r.receiver, r]));
      for (const [name, n] of Object.entries(inst.notified)) {
        const rc = receivers.get(name);
        if (n.action !== 'trigger' || !rc) continue;
        inst.notified[name] = { at: iso, action: 'resolve' };
        if (rc.send_resolved) push(name, { inst, rule, action: 'resolve', groupBy: routed.get(name)?.groupBy ?? DEFAULT_GROUP_BY });
      }
      delete p.instances[inst.key];
    }
  }

  const entries: OutboxEntry[] = [];
  let n = 0;
  const nextId = () => `${p.idPrefix}-${String(++n).padStart(4, '0')}`;
  for (const [name, items] of queued) {
    const rc = receivers.get(name)!;
    const info = (it: Item) => ({ instance: it.inst.key, alert: it.inst.alert, action: it.action, labels: it.inst.labels, summary: it.rule ? summaryOf(it.inst, it.rule) : it.inst.key });
    if (rc.pagerduty) {
      for (const it of items) entries.push({ id: nextId(), receiver: name, type: 'pagerduty', createdAt: iso, status: 'pending', attempts: 0, items: [info(it)], body: pagerDutyEvent(it, p.source) });
    } else {
      const groups = new Map<string, Item[]>();
      for (const it of items) {
        const k = it.groupBy.map((l) => `${l}=${it.inst.labels[l] ?? ''}`).join(',');
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(it);
      }
      // Slack takes at most 100 attachments (and 50 blocks) per message: big groups go out in parts
      for (const g of groups.values()) {
        for (let i = 0; i < g.length; i += SLACK_MAX_ITEMS) {
          const part = g.slice(i, i + SLACK_MAX_ITEMS);
          entries.push({ id: nextId(), receiver: name, type: 'slack', createdAt: iso, status: 'pending', attempts: 0, items: part.map(info), body: slackMessage(part, rc) });
        }
      }
    }
  }
  return { entries, suppressed };
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
  return {
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: summary.length > 1024 ? summary.slice(0, 1023) + '…' : summary,
      source,
      severity: PD_SEVERITY[(inst.labels.severity as Severity) ?? 'error'] ?? 'error',
      timestamp: inst.firedAt,
      component: inst.labels.capability ?? inst.labels.stream ?? inst.alert,
      group: inst.labels.service ?? inst.labels.team,
      class: inst.alert,
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

/** The seed's Slack payload as Block Kit: capability, delta, window, severity, an Open Dashboard button; resolves in green. */
export function slackMessage(items: Item[], rc: ReceiverConfig): SlackMessage {
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
    const fields = [
      { type: 'mrkdwn', text: `*Capability*\n${inst.labels.capability ?? fmt(v.capability)}` },
      { type: 'mrkdwn', text: `*Delta*\n${v.delta_percent !== undefined ? `${Number(v.delta_percent) > 0 ? '+' : ''}${fmt(v.delta_percent)}%` : '—'}` },
      { type: 'mrkdwn', text: `*Window*\n${window}` },
      { type: 'mrkdwn', text: `*Severity*\n${sev}` },
    ];
    const blocks: unknown[] = [
      { type: 'section', text: { type: 'mrkdwn', text: `${it.action === 'resolve' ? ':large_green_circle: *RESOLVED*' : sev === 'info' ? ':large_purple_circle: *NEW*' : ':red_circle: *FIRING*'} *${inst.alert}* — ${escapeMrkdwn(summary).slice(0, 2800)}` } },
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
  const msg: SlackMessage & { channel?: string } = {
    text: `AI Copilot Audit — ${title}: ${alertNames}`,
    blocks: [{ type: 'header', text: { type: 'plain_text', text: `AI Copilot Audit — ${title}`.slice(0, 150) } }],
    attachments,
  };
  if (rc.slack?.channel) msg.channel = rc.slack.channel;
  return msg;
}

function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
