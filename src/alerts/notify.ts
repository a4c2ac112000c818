/**
 * From instance states to outbox entries: who must hear what after an evaluation.
 *
 * - Alerts are notified by Alertmanager's groups (route, receiver, group_by values): a group
 *   notifies when an alert of it is new to its receiver (after group_wait / group_interval),
 *   when one resolves, or repeat_interval after its last notification.
 * - A resolved instance is sent as a resolve to the receivers that were told it fired (and
 *   want resolves), then dropped from the state.
 * - Slack gets one Block Kit message per group notification holding the whole group (every
 *   firing alert of it not muted, and the resolves); PagerDuty one event per instance that
 *   changed (trigger/resolve with a stable dedup_key), and per firing instance on a repeat.
 *
 * The entries carry no secret: routing keys and webhook URLs are added at send time.
 */
import type { AlertRule, ReceiverConfig, RoutesFile, Severity } from './schema.js';
import { dedupKey, renderTemplate, SEVERITY_ORDER, summaryOf, type InstanceState, type Json } from './engine.js';
import { groupLabels, inhibitedBy, routeAlert, routeMuted, silencedBy, type RoutedReceiver, type Silence } from './routing.js';
import type { PagerDutyEvent, SlackMessage } from './delivery/types.js';
import { detailsRemovedWarning, fitPagerDutyEvent, truncateSummary } from './delivery/pagerduty.js';
import { cutText, fairShares } from '../format.js';

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
  /** the id of the unsettled earlier notification it waits for (of the same alert, to the same receiver): `lastError` says so as it was then, outboxNote() as it is now */
  waitsFor?: string;
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
  /**
   * Groups an earlier planning of the same evaluation notified (evaluate.ts: the stuck-outbox
   * alert is planned after the run's delivery): the same notification round, so a new alert
   * of one goes out now, not group_interval after the notification this round sent.
   */
  sameRound?: ReadonlySet<string>;
}

export interface GroupState {
  firstAt: string;
  lastAt?: string;
  /**
   * Alerts that resolved without the receiver being told (send_resolved: false, or the resolve
   * muted: silenced, inhibited, a mute time interval), by instance key:
   * when it was told they fire. Its last message still shows them firing, so one that fires again
   * before the group's next message is not new to it (Alertmanager's notification log keeps them
   * firing until the group's next notification). Cleared by that message.
   */
  shown?: Record<string, string>;
}

export interface Planned {
  entries: OutboxEntry[];
  suppressed: Array<{ instance: string; reason: string }>;
  /** Triggers held for their group's group_wait / group_interval: sent by a later evaluation. */
  held: Array<{ instance: string; receiver: string; until: string }>;
  /**
   * Firing alerts a silence mutes, with when to look again: when it ends, or its route's
   * group_interval from now if sooner (it may be expired early). A scheduler looks then (a run with
   * no query, as for `held`, quiet when nothing is due), so such an alert is notified when its
   * silence ends, as Alertmanager does, not at its rule's next run (a day later for a daily rule).
   */
  silenced: Array<{ instance: string; silence: string; until: string }>;
  /** What had to change for a receiver to accept it (a PagerDuty event over 512 KB lost its custom_details). */
  warnings: string[];
  /** The groups that notified (PlanInput.sameRound of a later planning in the same evaluation). */
  notifiedGroups: string[];
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

/** What a notification held back behind an earlier unsettled one (`id`, its `status`) says (outboxNote reads it back from an older Vigil's entry). */
export function waitsNote(id: string, status: string): string {
  return `waits for ${id} (${status}) to be settled: a later notification of the same alert never overtakes an earlier one`;
}

/**
 * An unsettled entry's note as things stand now: its last error, or, for one that waits for an
 * earlier notification, that one's current status (retried, sent or dropped since the run that
 * held this one back wrote its last error).
 */
export function outboxNote(e: OutboxEntry, outbox: readonly OutboxEntry[]): string | undefined {
  // (an older Vigil's entry names it in its last error only)
  const id = e.waitsFor ?? /^waits for (\S+) \((?:pending|sending|uncertain|rejected)\) to be settled/.exec(e.lastError ?? '')?.[1];
  if (id === undefined || e.status !== 'pending') return e.lastError;
  const w = outbox.find((x) => x.id === id);
  if (!w || w.status === 'sent') return `waited for ${id}, ${w ? 'sent' : 'dropped'} since: the next run sends it`;
  return waitsNote(id, w.status);
}

/**
 * The notification of `instance` to the receiver (and route) of a `notified` key that is not
 * delivered (pending, being sent, uncertain or refused), if any: `notified` records what was
 * queued, the outbox whether it arrived.
 */
export function undelivered(instance: string, key: string, outbox: readonly OutboxEntry[]): OutboxEntry | undefined {
  const receiver = keyReceiver(key);
  const route = keyRoute(key);
  // the latest per integration (a receiver may have PagerDuty and Slack)
  const latest = new Map<string, OutboxEntry>();
  for (const e of outbox) if (e.receiver === receiver && (e.route === undefined || route === undefined || e.route === route) && e.items.some((x) => x.instance === instance)) latest.set(e.type, e);
  return [...latest.values()].find((e) => e.status !== 'sent');
}

/**
 * `vigil alerts outbox --drop` of `dropped` (already out of `doc.outbox`): a trigger given up
 * while pending or refused never reached its receiver (one a run died sending, or uncertain, may
 * have: dropping it says it arrived). When no other trigger of the same firing reached that
 * receiver or is still queued for it, the instance's `notified` records the drop and its resolve
 * is not sent. Where the outbox cannot prove that (the firing is older than the week sent entries
 * are kept, or their 2,000 cap was reached), the resolve is sent as before: an extra resolve is
 * noise, a lost one is not. Returns the instances (with receiver) whose resolve will not be sent
 * (`quiet`), and the ids of the resolves already queued behind such a trigger (`behind`: the alert
 * resolved while it waited), which the next run sends unless they are dropped too — said, not
 * dropped unasked.
 */
export function markDroppedTriggers(instances: Record<string, InstanceState>, outbox: readonly OutboxEntry[], dropped: readonly OutboxEntry[], at: Date): { quiet: string[]; behind: string[] } {
  const quiet: string[] = [];
  const done = outbox.filter((e) => e.status === 'sent');
  const cutoff = at.getTime() - 7 * 86_400_000;
  const oldestKept = done.length >= 2000 ? Math.min(...done.map((e) => Date.parse(e.createdAt))) : -Infinity;
  for (const e of dropped) {
    if (e.status !== 'pending' && e.status !== 'rejected') continue;
    for (const item of e.items) {
      const inst = instances[item.instance];
      if (item.action !== 'trigger' || !inst || inst.status !== 'firing') continue;
      const since = Date.parse(inst.firedAt ?? inst.activeSince);
      if (!(since > cutoff && since >= oldestKept)) continue;
      const other = outbox.some((x) => x.receiver === e.receiver && Date.parse(x.createdAt) >= since && x.items.some((y) => y.instance === item.instance && y.action === 'trigger'));
      if (other) continue;
      for (const [key, n] of Object.entries(inst.notified)) {
        if (keyReceiver(key) !== e.receiver || (e.route !== undefined && keyRoute(key) !== undefined && keyRoute(key) !== e.route) || n.action !== 'trigger') continue;
        n.dropped = e.id;
        quiet.push(`${item.instance} -> ${e.receiver}`);
      }
    }
  }
  const never = dropped.filter((e) => e.status === 'pending' || e.status === 'rejected');
  const behind = outbox
    .filter((e) => e.status !== 'sent' && e.items.every((x) => x.action === 'resolve') && never.some((d) => d.receiver === e.receiver && d.type === e.type && e.items.some((x) => d.items.some((y) => y.action === 'trigger' && y.instance === x.instance))))
    .map((e) => e.id);
  return { quiet: [...new Set(quiet)], behind };
}

/** Instances per Slack message (Slack allows 100 attachments; a message this size stays readable). */
export const SLACK_MAX_ITEMS = 20;
/**
 * The text of a Slack message's blocks together (header, sections, fields, buttons, context) at
 * most. Slack documents no total for these blocks, only 12,000 characters for the markdown blocks
 * of a message (Block Kit reference, markdown block), and refuses a message whose blocks are too
 * long (`msg_blocks_too_long`, permanent for a webhook) from about 13,200 characters of text
 * (slackapi/bolt-js#2509): a group goes out in as many messages as keep each under 12,000.
 */
export const SLACK_MESSAGE_TEXT_MAX = 12_000;
/** An alert's fields together (theirs, Window and Severity), each still at most 2,000: with its 3,000 of summary, one alert always fits a message. */
export const SLACK_FIELDS_TEXT_MAX = 6_000;
/** The header block's text (Block Kit reference, header block: 150 characters). */
const SLACK_HEADER_MAX = 150;
/** A button's URL (Block Kit reference, button element: 3,000 characters); a longer link gets no button. */
const SLACK_URL_MAX = 3000;

export interface Item {
  inst: InstanceState;
  rule?: AlertRule;
  action: 'trigger' | 'resolve';
  groupBy: string[] | '...';
}

/** An alert of a route's group: a firing instance that is not muted, or a resolve to send. */
interface Member {
  inst: InstanceState;
  rule?: AlertRule;
  /** its rule was evaluated this run: only these make a group notify */
  evaluated: boolean;
  /** the receiver has not been told it fires */
  isNew: boolean;
}

interface Group {
  key: string;
  /** undefined for a resolve whose route is gone from routes.yaml */
  r?: RoutedReceiver;
  groupBy: string[] | '...';
  firing: Member[];
  resolves: Member[];
}

export function planNotifications(p: PlanInput): Planned {
  const receivers = new Map(p.routes.receivers.map((r) => [r.name, r]));
  const iso = p.at.toISOString();
  const now = p.at.getTime();
  const suppressed: Planned['suppressed'] = [];
  const held: Planned['held'] = [];
  const silenced: Planned['silenced'] = [];
  const warnings: string[] = [];
  const groups = p.groups ?? {};
  const touched = new Set<string>();
  // Alertmanager's aggregation groups: per route, receiver and group labels
  const byGroup = new Map<string, Group>();
  const groupKey = (key: string, groupBy: string[] | '...', labels: Record<string, string>) => `${key} ${JSON.stringify(groupLabels(groupBy, labels))}`;
  const member = (gk: string, key: string, r: RoutedReceiver | undefined): Group => {
    let g = byGroup.get(gk);
    if (!g) byGroup.set(gk, (g = { key, r, groupBy: r?.groupBy ?? [], firing: [], resolves: [] }));
    return g;
  };

  // firing alerts a receiver was told of, silenced or inhibited now: not in their group's message
  const left = new Map<string, Array<{ key: string; inst: InstanceState }>>();
  const all = Object.values(p.instances).sort((a, b) => a.key.localeCompare(b.key));
  for (const inst of all) {
    const rule = p.rules.get(inst.alert);
    if (inst.status === 'firing') {
      // an alert not evaluated this run keeps its groups and goes along when they notify, but makes none notify
      const evaluated = !p.evaluated || p.evaluated.has(inst.alert);
      const routed = routeAlert(p.routes, inst.labels);
      const routedKeys = new Set(routed.map(notifyKey));
      if (!evaluated) for (const r of routed) touched.add(groupKey(notifyKey(r), r.groupBy, inst.labels));
      const sil = silencedBy(p.silences, inst.labels, p.at);
      const inh = sil ? undefined : inhibitedBy(p.routes, all, inst);
      if (sil || inh) {
        if (evaluated) suppressed.push({ instance: inst.key, reason: sil ? `silenced by ${sil.id} until ${sil.endsAt} (${sil.comment})` : `inhibited by ${inh!.key}` });
        // (looked at again each group_interval too: a silence expired early is another process's
        // change of the state, which a scheduler sees only by looking)
        if (sil && routed.length) silenced.push({ instance: inst.key, silence: sil.id, until: new Date(Math.min(Date.parse(sil.endsAt), now + Math.min(...routed.map((r) => r.groupIntervalMs)))).toISOString() });
        // told it fires: a message of its group sent meanwhile leaves it out (below)
        for (const r of routed) {
          if (inst.notified[notifyKey(r)]?.action !== 'trigger') continue;
          const gk = groupKey(notifyKey(r), r.groupBy, inst.labels);
          let l = left.get(gk);
          if (!l) left.set(gk, (l = []));
          l.push({ key: notifyKey(r), inst });
        }
        continue;
      }
      for (const r of routed) {
        const rc = receivers.get(r.receiver);
        // a receiver without an integration is a blackhole, as in Alertmanager
        if (!rc || (!rc.pagerduty && !rc.slack)) continue;
        const key = notifyKey(r);
        const gk = groupKey(key, r.groupBy, inst.labels);
        touched.add(gk);
        groups[gk] ??= { firstAt: iso };
        const muted = routeMuted(p.routes, r, p.at);
        if (muted) {
          if (evaluated) suppressed.push({ instance: inst.key, reason: `${r.path} -> ${r.receiver}: ${muted}` });
          continue;
        }
        // what this receiver was told under a route that no longer carries the alert (its matchers
        // were edited, the routes changed; or an older key: the receiver, the route's position)
        // counts for this route: the receiver hears of the alert once, and of its resolve once
        const moved = inst.notified[key] ? undefined : Object.keys(inst.notified).find((k) => !routedKeys.has(k) && keyReceiver(k) === r.receiver);
        if (moved) {
          inst.notified[key] = inst.notified[moved];
          delete inst.notified[moved];
        }
        const shown = groups[gk].shown?.[inst.key];
        if (shown !== undefined && !inst.notified[key]) {
          inst.notified[key] = { at: shown, action: 'trigger' };
          delete groups[gk].shown![inst.key];
        }
        const n = inst.notified[key];
        member(gk, key, r).firing.push({ inst, rule, evaluated, isNew: !n || n.action !== 'trigger' || n.left !== undefined });
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
        const r = routed.get(key);
        // a resolve not sent: the receiver's last message of the group still shows it firing (GroupState.shown)
        const untold = () => {
          const state = r && !n.left && !n.dropped ? groups[groupKey(key, r.groupBy, inst.labels)] : undefined;
          if (state) (state.shown ??= {})[inst.key] = n.at;
        };
        if (!rc.send_resolved) {
          untold();
          continue;
        }
        // as Alertmanager, which sends a resolve only where the firing alert was sent
        if (n.dropped) {
          suppressed.push({ instance: inst.key, reason: `its resolve to ${rc.name} is not sent: its trigger (${n.dropped}) was dropped from the outbox undelivered` });
          continue;
        }
        const muted = sil ? `silenced by ${sil.id} until ${sil.endsAt} (${sil.comment})` : inh ? `inhibited by ${inh.key}` : r ? routeMuted(p.routes, r, p.at) : undefined;
        if (muted) {
          suppressed.push({ instance: inst.key, reason: `its resolve to ${rc.name} is not sent: ${muted}` });
          untold();
          continue;
        }
        member(groupKey(key, r?.groupBy ?? [], inst.labels), key, r).resolves.push({ inst, rule, evaluated: true, isNew: false });
      }
      delete p.instances[inst.key];
    }
  }

  // A group notifies, as Alertmanager's does, when an evaluated alert is new to it (a new group
  // after group_wait, an existing one group_interval after its last notification), when it has
  // a resolve (sent at once), or repeat_interval after its last notification. Its notification
  // carries the whole group: every firing alert and the resolves.
  const flushed: Array<{ g: Group; items: Item[]; changed: Item[] }> = [];
  const notifiedGroups: string[] = [];
  for (const [gk, g] of byGroup) {
    const state = groups[gk];
    const notifiedAt = g.firing.filter((m) => !m.isNew).map((m) => Date.parse(m.inst.notified[g.key].at));
    // (a state from before groups were kept: its alerts' own times)
    const last = state?.lastAt ? Date.parse(state.lastAt) : notifiedAt.length ? Math.max(...notifiedAt) : undefined;
    const evaluated = g.firing.filter((m) => m.evaluated);
    const fresh = evaluated.filter((m) => m.isNew);
    const repeat = g.r !== undefined && last !== undefined && evaluated.some((m) => !m.isNew) && now - last >= g.r.repeatMs;
    // (a group this round already notified takes its new alerts along now: one flush per round, as Alertmanager's per tick)
    const due = !fresh.length || !g.r ? Infinity : p.sameRound?.has(gk) ? now : last !== undefined ? last + g.r.groupIntervalMs : Date.parse(state!.firstAt) + (p.groupWait ? g.r.groupWaitMs : 0);
    if (!g.resolves.length && !repeat && due > now) {
      for (const m of fresh) held.push({ instance: m.inst.key, receiver: g.r!.receiver, until: new Date(due).toISOString() });
      continue;
    }
    const trigger = (m: Member): Item => ({ inst: m.inst, rule: m.rule, action: 'trigger', groupBy: g.groupBy });
    const resolves = g.resolves.map((m): Item => ({ inst: m.inst, rule: m.rule, action: 'resolve', groupBy: g.groupBy }));
    for (const m of g.firing) m.inst.notified[g.key] = { at: iso, action: 'trigger' };
    // as Alertmanager's notification log: the group's last message is what the receiver was told
    // fires, so an alert it left out (silenced, inhibited) is new to the group again when that
    // ends, and goes out at the group's next tick, not repeat_interval later (its resolve still
    // goes where it was told it fired)
    for (const l of left.get(gk) ?? []) if (l.inst.notified[l.key]) l.inst.notified[l.key].left = iso;
    if (state && g.firing.length) state.lastAt = iso;
    // (what it showed of alerts resolved untold is replaced by this message)
    if (state) delete state.shown;
    notifiedGroups.push(gk);
    // PagerDuty's events are per instance: what changed, and every firing one on a repeat
    flushed.push({ g, items: [...g.firing.map(trigger), ...resolves], changed: [...g.firing.filter((m) => m.isNew || repeat).map(trigger), ...resolves] });
  }
  // a group none of whose alerts fires any more is forgotten (Alertmanager drops empty groups)
  for (const gk of Object.keys(groups)) if (!touched.has(gk)) delete groups[gk];

  const entries: OutboxEntry[] = [];
  let n = 0;
  const nextId = () => `${p.idPrefix}-${String(++n).padStart(4, '0')}`;
  const info = (it: Item) => ({ instance: it.inst.key, alert: it.inst.alert, action: it.action, labels: it.inst.labels, summary: it.rule ? summaryOf(it.inst, it.rule) : it.inst.key });
  for (const { g, items, changed } of flushed) {
    const name = keyReceiver(g.key);
    const route = keyRoute(g.key);
    const rc = receivers.get(name)!;
    if (rc.pagerduty) {
      for (const it of changed) entries.push({ id: nextId(), receiver: name, route, type: 'pagerduty', createdAt: iso, status: 'pending', attempts: 0, items: [info(it)], body: pagerDutyEvent(it, p.source, (m) => warnings.push(m)) });
    }
    // Slack: one message per group, the whole group; a big group goes out in parts (SLACK_MAX_ITEMS alerts, SLACK_MESSAGE_TEXT_MAX characters each)
    if (rc.slack) {
      const made = new Map(items.map((it) => [it, slackAttachment(it)] as const));
      const parts = slackParts(items, made);
      const whole = parts.length > 1 ? { firing: items.filter((it) => it.action === 'trigger').length, resolved: items.filter((it) => it.action === 'resolve').length } : undefined;
      let from = 1;
      for (const part of parts) {
        entries.push({ id: nextId(), receiver: name, route, type: 'slack', createdAt: iso, status: 'pending', attempts: 0, items: part.map(info), body: slackMessage(part, rc, p.project, whole && { ...whole, from, to: from + part.length - 1 }, made) });
        from += part.length;
      }
    }
  }
  return { entries, suppressed, held, silenced, warnings, notifiedGroups };
}

function links(inst: InstanceState, rule: AlertRule | undefined): Array<{ href: string; text: string }> {
  if (!rule) return [];
  return Object.entries(rule.links)
    .map(([name, tpl]) => ({ text: name === 'dashboard' ? 'Open Dashboard' : name === 'runbook' ? 'Runbook' : name, href: renderTemplate(tpl, inst, rule) }))
    // (a value past VALUE_TEXT_MAX is kept cut, ending with `…`, which no URL holds: a broken link is not sent)
    .filter((l) => (/^https?:\/\//.test(l.href) || l.href.startsWith('docs/')) && !l.href.includes('…'));
}

const PD_SEVERITY: Record<Severity, Severity> = { critical: 'critical', error: 'error', warning: 'warning', info: 'info' };

/** An instance's event; one over PagerDuty's 512 KB without its custom_details (fitPagerDutyEvent), with a warning to `warn`. */
export function pagerDutyEvent(it: Item, source: string, warn?: (message: string) => void): PagerDutyEvent {
  const { inst, rule } = it;
  const dedup_key = dedupKey(inst.key);
  if (it.action === 'resolve') return { event_action: 'resolve', dedup_key };
  const rendered = rule ? summaryOf(inst, rule) : inst.key;
  // PagerDuty refuses a blank summary (400, "'payload.summary' is missing or blank"), and a refused
  // trigger is never retried: a summary rendered empty (`{{ note }}` of a NULL) would lose the page
  const summary = rendered.trim() ? rendered : `${inst.key}: its summary is empty`;
  if (summary !== rendered) warn?.(`the summary of ${inst.key} rendered empty; PagerDuty refuses a blank summary, so its event says "${summary}"`);
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
  const { event, removedAt } = fitPagerDutyEvent({
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
  });
  if (removedAt !== undefined) warn?.(detailsRemovedWarning(`${inst.alert} (dedup_key ${dedup_key})`, removedAt));
  return event;
}

const COLOR = { firing: '#E01E5A', resolved: '#2EB67D', info: '#7C3AED' };

function fmt(v: Json | undefined): string {
  if (v === null || v === undefined) return '—';
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000)) : String(v);
}

type Attachment = { color: string; blocks: unknown[] };

/** The characters of text in blocks: every `text` string (not URLs, ids or styles), what SLACK_MESSAGE_TEXT_MAX bounds. */
export function blocksText(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + blocksText(x), 0);
  if (!v || typeof v !== 'object') return 0;
  return Object.entries(v).reduce((n, [k, x]) => n + (k === 'text' && typeof x === 'string' ? x.length : blocksText(x)), 0);
}

/** A group's alerts in the messages they go out in: at most SLACK_MAX_ITEMS each, and SLACK_MESSAGE_TEXT_MAX characters of block text. */
function slackParts(items: Item[], made: Map<Item, Attachment>): Item[][] {
  const parts: Item[][] = [];
  let cur: Item[] = [];
  let size = SLACK_HEADER_MAX;
  for (const it of items) {
    const n = blocksText(made.get(it)!.blocks);
    if (cur.length && (cur.length >= SLACK_MAX_ITEMS || size + n > SLACK_MESSAGE_TEXT_MAX)) {
      parts.push(cur);
      cur = [];
      size = SLACK_HEADER_MAX;
    }
    cur.push(it);
    size += n;
  }
  if (cur.length) parts.push(cur);
  return parts;
}

/**
 * One alert of a Slack message: its rule's title and summary, the rule's fields (templates)
 * followed by Window and Severity, and its links as buttons (the first one primary); resolves in green.
 */
export function slackAttachment(it: Item): Attachment {
  const { inst, rule } = it;
  const v = inst.values;
  const sev = inst.labels.severity ?? 'error';
  const summary = rule ? summaryOf(inst, rule) : inst.key;
  const window = v.window_start !== undefined ? `${fmt(v.window_start)}–${fmt(v.window_end)}` : rule?.time && v[rule.time] !== undefined ? fmt(v[rule.time]) : fmt(inst.activeSince);
  const own = Object.entries(rule?.fields ?? {}).map(([name, tpl]): [string, string] => [name, renderTemplate(tpl, inst, rule).trim()]);
  // Slack shows at most 10 fields
  const fields = fieldsOf([...own.slice(0, 8), ['Window', window], ['Severity', sev]]);
  const headline = rule?.title ? renderTemplate(rule.title, inst, rule).trim() || inst.alert : inst.alert;
  const head = `${it.action === 'resolve' ? ':large_green_circle: *RESOLVED*' : sev === 'info' ? ':large_purple_circle: *NEW*' : ':red_circle: *FIRING*'} *${mrkdwnCut(headline, 500)}* — `;
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `${head}${mrkdwnCut(summary, SLACK_SECTION_TEXT_MAX - head.length)}` } },
    { type: 'section', fields },
  ];
  const buttons = links(inst, rule)
    .filter((l) => /^https?:\/\//.test(l.href) && l.href.length <= SLACK_URL_MAX)
    .slice(0, 5)
    .map((l, i) => ({ type: 'button', text: { type: 'plain_text', text: cutText(l.text, 75) }, url: l.href, ...(i === 0 && it.action === 'trigger' ? { style: 'primary' } : {}) }));
  if (buttons.length) blocks.push({ type: 'actions', elements: buttons });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${it.action === 'resolve' ? `resolved ${inst.resolvedAt ?? ''}` : `since ${inst.activeSince}`} · dedup ${dedupKey(inst.key)}` }] });
  return { color: it.action === 'resolve' ? COLOR.resolved : sev === 'info' ? COLOR.info : COLOR.firing, blocks };
}

/**
 * One Block Kit message for a group (`part`: one part of a group too big for one message): the
 * receiver's title (default: the project's name), then an attachment per alert (slackAttachment;
 * `made`: those already made), firing ones by severity, then the resolves.
 */
export function slackMessage(items: Item[], rc: ReceiverConfig, project = 'Vigil', part?: { firing: number; resolved: number; from: number; to: number }, made?: Map<Item, Attachment>): SlackMessage {
  const firing = items.filter((i) => i.action === 'trigger').sort((a, b) => SEVERITY_ORDER[(a.inst.labels.severity as Severity) ?? 'info'] - SEVERITY_ORDER[(b.inst.labels.severity as Severity) ?? 'info']);
  const resolved = items.filter((i) => i.action === 'resolve');
  // a part of a big group is headed by the group's counts and which of its alerts it holds: "44 firing (1–20)"
  const counts = part ?? { firing: firing.length, resolved: resolved.length };
  const title = [counts.firing ? `${counts.firing} firing` : '', counts.resolved ? `${counts.resolved} resolved` : ''].filter(Boolean).join(', ') + (part ? ` (${part.from}–${part.to})` : '');
  const alertNames = [...new Set(items.map((i) => i.inst.alert))].join(', ');
  const attachments = [...firing, ...resolved].map((it) => made?.get(it) ?? slackAttachment(it));
  const header = rc.slack?.title ?? project;
  const msg: SlackMessage & { channel?: string } = {
    text: `${header} — ${title}: ${alertNames}`,
    // (a long title is cut, not the counts after it)
    blocks: [{ type: 'header', text: { type: 'plain_text', text: `${cutText(header, Math.max(1, SLACK_HEADER_MAX - ` — ${title}`.length))} — ${title}` } }],
    attachments,
  };
  if (rc.slack?.channel) msg.channel = rc.slack.channel;
  return msg;
}

function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack's limits (Block Kit reference, section block): its text 3,000 characters, each of its fields 2,000. */
const SLACK_SECTION_TEXT_MAX = 3000;
const SLACK_FIELD_MAX = 2000;

/** Text escaped for mrkdwn and cut to `max` characters with an ellipsis (never inside an escape like `&amp;`). */
function mrkdwnCut(s: string, max: number): string {
  return cutEscaped(escapeMrkdwn(s), max);
}

/** Escaped mrkdwn cut to `max` characters with an ellipsis, never inside an escape. */
function cutEscaped(e: string, max: number): string {
  return e.length <= max ? e : cutText(e, max).replace(/&[a-z]{0,3}…$/, '…');
}

/**
 * Section fields `*name*` over their values (— when empty): each within Slack's 2,000, and all
 * together within SLACK_FIELDS_TEXT_MAX (the short values whole, the long ones cut to an equal share).
 */
function fieldsOf(pairs: Array<[string, string]>): Array<{ type: 'mrkdwn'; text: string }> {
  const titles = pairs.map(([name]) => `*${mrkdwnCut(name, 200)}*\n`);
  const values = pairs.map(([, value]) => escapeMrkdwn(value));
  const shares = fairShares(
    values.map((v) => v.length),
    SLACK_FIELDS_TEXT_MAX - titles.reduce((n, t) => n + t.length + 1, 0),
    titles.map((t) => SLACK_FIELD_MAX - t.length - 1),
  );
  return pairs.map((_, i) => ({ type: 'mrkdwn', text: `${titles[i]}${cutEscaped(values[i], Math.max(1, shares[i])) || '—'}` }));
}
