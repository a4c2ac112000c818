/**
 * Alertmanager-style routing: a tree of routes matched on labels (first matching child wins
 * unless it says `continue: true`; group_by/repeat_interval/receiver inherited), silences
 * (label matchers with a time window) and inhibition rules (a firing source instance mutes
 * matching targets). Pure.
 */
import type { InstanceState } from './engine.js';
import type { MatchersIn, RouteIn, RoutesFile } from './schema.js';
import { durationMs } from './time.js';

export interface RoutedReceiver {
  receiver: string;
  groupBy: string[];
  repeatMs: number;
  /** e.g. "route.routes[0]" — for route-test output. */
  path: string;
}

export const DEFAULT_REPEAT = '4h';
export const DEFAULT_GROUP_BY = ['alertname'];

export function matchLabels(m: MatchersIn | undefined, labels: Record<string, string>): boolean {
  if (!m) return true;
  for (const [k, want] of Object.entries(m)) {
    const have = labels[k];
    if (Array.isArray(want) ? !want.map(String).includes(have) : String(want) !== have) return false;
  }
  return true;
}

export function routeLabels(routes: RoutesFile, labels: Record<string, string>): RoutedReceiver[] {
  const out: RoutedReceiver[] = [];
  const visit = (r: RouteIn, inherited: { receiver?: string; groupBy: string[]; repeat: string }, path: string): boolean => {
    if (!matchLabels(r.match, labels)) return false;
    const here = { receiver: r.receiver ?? inherited.receiver, groupBy: r.group_by ?? inherited.groupBy, repeat: r.repeat_interval ?? inherited.repeat };
    let matchedChild = false;
    for (const [i, c] of (r.routes ?? []).entries()) {
      if (visit(c, here, `${path}.routes[${i}]`)) {
        matchedChild = true;
        if (!c.continue) break;
      }
    }
    if (!matchedChild && here.receiver) out.push({ receiver: here.receiver, groupBy: here.groupBy, repeatMs: durationMs(here.repeat), path });
    return true;
  };
  visit(routes.route, { groupBy: DEFAULT_GROUP_BY, repeat: DEFAULT_REPEAT }, 'route');
  // the same receiver reached twice (continue) gets one notification
  const seen = new Set<string>();
  return out.filter((r) => (seen.has(r.receiver) ? false : (seen.add(r.receiver), true)));
}

// ---- silences

export interface Silence {
  id: string;
  /** label -> exact value, or a regex when given as `label=~re`; negation with `label!=v`. */
  matchers: Array<{ label: string; op: '=' | '!=' | '=~'; value: string }>;
  startsAt: string;
  endsAt: string;
  comment: string;
  createdBy: string;
  createdAt: string;
}

/** Parse `capability=draft`, `severity!=info`, `alertname=~ai_audit_.*`. */
export function parseMatcher(text: string): Silence['matchers'][number] | string {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!=|=)\s*(.*?)\s*$/.exec(text);
  if (!m) return `'${text}' is not a matcher like label=value, label!=value or label=~regex`;
  const value = m[3].replace(/^["']|["']$/g, '');
  if (m[2] === '=~') {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (e) {
      return `'${text}': ${(e as Error).message}`;
    }
  }
  return { label: m[1], op: m[2] as '=' | '!=' | '=~', value };
}

export function silenceMatches(s: Silence, labels: Record<string, string>): boolean {
  return s.matchers.every((m) => {
    const v = labels[m.label] ?? '';
    return m.op === '=' ? v === m.value : m.op === '!=' ? v !== m.value : new RegExp(`^(?:${m.value})$`).test(v);
  });
}

export function silenceActive(s: Silence, at: Date): boolean {
  const t = at.getTime();
  return Date.parse(s.startsAt) <= t && t < Date.parse(s.endsAt);
}

export function silencedBy(silences: Silence[], labels: Record<string, string>, at: Date): Silence | undefined {
  return silences.find((s) => silenceActive(s, at) && silenceMatches(s, labels));
}

/** The firing source instance that inhibits `target`, if any. */
export function inhibitedBy(routes: RoutesFile | undefined, instances: Iterable<InstanceState>, target: InstanceState): InstanceState | undefined {
  if (!routes?.inhibit_rules.length) return undefined;
  const all = [...instances];
  for (const r of routes.inhibit_rules) {
    if (!matchLabels(r.target_match, target.labels)) continue;
    const src = all.find((s) => s !== target && s.status === 'firing' && matchLabels(r.source_match, s.labels) && r.equal.every((l) => (s.labels[l] ?? '') === (target.labels[l] ?? '')));
    if (src) return src;
  }
  return undefined;
}
