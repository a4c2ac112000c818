/**
 * Alertmanager's routing, inhibition and silencing, pure. The tree is Alertmanager's own
 * (dispatch/route.go): a route matches when all its matchers match (a missing label is the
 * empty string); its children are tried in order and the first match stops the search unless
 * it says `continue: true`; a route none of whose children match is itself the match. Every
 * matched route is a notification path of its own: a receiver reached by two routes is
 * notified twice, once per route, as Alertmanager does. receiver, group_by, group_wait,
 * group_interval and repeat_interval are inherited (an empty group_by inherits too);
 * mute/active time intervals are not. Differential test: test/alerts/routing-amtool.test.ts.
 */
import type { InstanceState } from './engine.js';
import type { InhibitRuleIn, MatchersIn, RouteIn, RoutesFile } from './schema.js';
import { durationMs } from '../time/duration.js';
import { formatMatcher, fromMaps, matchesAll, parseMatchers, parseOneMatcher, type Matcher } from './matchers.js';
import { namedHolds } from './time-intervals.js';

export interface RoutedReceiver {
  receiver: string;
  /** which route, e.g. "route.routes[0]", for people */
  path: string;
  /**
   * the route's identity, as Alertmanager keys it: its matchers and its ancestors'
   * (`{}/{severity=~"critical|error"}`), so notifications survive routes being added or moved
   */
  key: string;
  /** labels grouping alerts into one notification; '...' groups by every label */
  groupBy: string[] | '...';
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatMs: number;
  muteTimeIntervals: string[];
  activeTimeIntervals: string[];
}

/** Alertmanager's defaults. */
export const DEFAULT_GROUP_WAIT = '30s';
export const DEFAULT_GROUP_INTERVAL = '5m';
export const DEFAULT_REPEAT = '4h';

interface CompiledRoute extends RoutedReceiver {
  matchers: Matcher[];
  continue: boolean;
  routes: CompiledRoute[];
}

/** A route's matchers: match, match_re and matchers together (all must match). */
export function routeMatchers(r: { match?: MatchersIn; match_re?: Record<string, string>; matchers?: string[] }): Matcher[] {
  const out = fromMaps(r.match, r.match_re);
  for (const s of r.matchers ?? []) {
    const m = parseMatchers(s);
    if (typeof m !== 'string') out.push(...m);
  }
  return out;
}

const cache = new WeakMap<RouteIn, CompiledRoute>();

function compile(root: RouteIn): CompiledRoute {
  const hit = cache.get(root);
  if (hit) return hit;
  const build = (r: RouteIn, parent: RoutedReceiver | undefined, path: string, key: string): CompiledRoute => {
    const groupBy = r.group_by?.length ? (r.group_by.includes('...') ? ('...' as const) : r.group_by) : (parent?.groupBy ?? []);
    const self: CompiledRoute = {
      receiver: r.receiver ?? parent?.receiver ?? '',
      path,
      key,
      groupBy,
      groupWaitMs: r.group_wait !== undefined ? durationMs(r.group_wait) : (parent?.groupWaitMs ?? durationMs(DEFAULT_GROUP_WAIT)),
      groupIntervalMs: r.group_interval !== undefined ? durationMs(r.group_interval) : (parent?.groupIntervalMs ?? durationMs(DEFAULT_GROUP_INTERVAL)),
      repeatMs: r.repeat_interval !== undefined ? durationMs(r.repeat_interval) : (parent?.repeatMs ?? durationMs(DEFAULT_REPEAT)),
      muteTimeIntervals: r.mute_time_intervals ?? [],
      activeTimeIntervals: r.active_time_intervals ?? [],
      matchers: routeMatchers(r),
      continue: !!r.continue,
      routes: [],
    };
    const own = (r.routes ?? []).map((c) => `{${routeMatchers(c).map(formatMatcher).join(',')}}`);
    // siblings with the same matchers are told apart by their order among themselves
    self.routes = (r.routes ?? []).map((c, i) => {
      const same = own.filter((m) => m === own[i]).length;
      const nth = own.slice(0, i).filter((m) => m === own[i]).length;
      return build(c, self, `${path}.routes[${i}]`, `${key}/${own[i]}${same > 1 ? `#${nth}` : ''}`);
    });
    return self;
  };
  const c = build(root, undefined, 'route', '{}');
  cache.set(root, c);
  return c;
}

function strip(r: CompiledRoute): RoutedReceiver {
  const { matchers: _m, continue: _c, routes: _r, ...out } = r;
  void _m;
  void _c;
  void _r;
  return out;
}

/** The routes an alert with these labels goes to, in Alertmanager's order (duplicates kept: one per route). */
export function routeAlert(routes: RoutesFile, labels: Record<string, string>): RoutedReceiver[] {
  const match = (r: CompiledRoute): CompiledRoute[] | undefined => {
    if (!matchesAll(r.matchers, labels)) return undefined;
    const all: CompiledRoute[] = [];
    for (const c of r.routes) {
      const m = match(c);
      if (m) all.push(...m);
      if (m && !c.continue) break;
    }
    return all.length ? all : [r];
  };
  return (match(compile(routes.route)) ?? []).map(strip);
}

/** The label names the routing tree's matchers read (an alert's route depends on these alone). */
export function routedByLabels(routes: RoutesFile): Set<string> {
  const names = new Set<string>();
  const walk = (r: CompiledRoute) => {
    for (const m of r.matchers) names.add(m.name);
    r.routes.forEach(walk);
  };
  walk(compile(routes.route));
  return names;
}

/** Whether notifications of this route are held at `at`: a mute interval holds, or none of its active intervals does. */
export function routeMuted(routes: RoutesFile, r: RoutedReceiver, at: Date): string | undefined {
  const byName = new Map([...routes.time_intervals, ...routes.mute_time_intervals].map((t) => [t.name, t]));
  const mute = r.muteTimeIntervals.find((n) => namedHolds(byName.get(n), at));
  if (mute) return `muted by time interval ${mute}`;
  if (r.activeTimeIntervals.length && !r.activeTimeIntervals.some((n) => namedHolds(byName.get(n), at))) return `outside its active time intervals (${r.activeTimeIntervals.join(', ')})`;
  return undefined;
}

/**
 * The labels of an alert its group is keyed by, for a route's group_by. A label with an empty
 * value (a null group_by column) is no label, as in Alertmanager, which drops empty labels: an
 * alert with `team=""` is in the same group as one without `team` (compared with the
 * Alertmanager daemon in test/alerts/inhibit-alertmanager.test.ts).
 */
export function groupLabels(groupBy: string[] | '...', labels: Record<string, string>): Record<string, string> {
  const names = groupBy === '...' ? Object.keys(labels) : groupBy;
  return Object.fromEntries(names.filter((l) => labels[l] !== undefined && labels[l] !== '').map((l) => [l, labels[l]]));
}

// ---- silences

export interface Silence {
  id: string;
  /** Alertmanager matchers: =, !=, =~ and !~ (a missing label is the empty string). */
  matchers: Array<{ label: string; op: Matcher['op']; value: string }>;
  startsAt: string;
  endsAt: string;
  comment: string;
  createdBy: string;
  createdAt: string;
}

/** A silence's matchers as amtool prints them (Matcher.String): each value quoted, so a trailing space shows (`capability="draft "`). */
export function silenceMatchersText(s: Pick<Silence, 'matchers'>): string {
  return s.matchers.map((m) => formatMatcher({ name: m.label, op: m.op, value: m.value })).join(', ');
}

/**
 * Parse `capability=draft`, `severity!=info`, `alertname=~ai_audit_.*`, `env!~"dev|test"`: one
 * matcher, as `amtool silence add` reads each of its arguments (labels.ParseMatcher): only a
 * plain space, tab or line break around it is skipped, so `capability=draft<NBSP>` is the value
 * draft<NBSP> (was: draft, trimmed as the last matcher of a matchers string is). What amtool would
 * read as one value and a person means as two matchers (`a=1,b=2`: amtool's a="1,b=2") or braces
 * are refused: one matcher per --match, a comma quoted (test/alerts/routing-amtool.test.ts).
 */
export function parseMatcher(text: string): Silence['matchers'][number] | string {
  const how = ' (a matcher is label=value, label!=value, label=~regex or label!~regex)';
  // read as a matchers string only to find what holds several matchers (amtool would read one value)
  const m = parseMatchers(text);
  if (typeof m !== 'string' && m.length !== 1) return `'${text}' holds ${m.length} matchers: give one per --match${text.includes(',') ? ' (quote a value holding a comma: x="a,b")' : ''}`;
  if (/^[\t\n\f\r ]*\{/.test(text)) return `'${text}': give one matcher per --match, without braces`;
  const one = parseOneMatcher(text);
  if (typeof one === 'string') return `${typeof m === 'string' ? m : one}${how}`;
  // a comma outside quotes that does not make two matchers (`x=a,b`, `x=~a{2,3}`): amtool's value, most likely not what is meant
  if (typeof m === 'string' && one.value.includes(',')) return `'${text}': a comma outside double quotes (amtool would read the value '${one.value}'): give one matcher per --match, or quote a value holding a comma: ${one.name}${one.op}"${one.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  // (any other complaint of the matchers string is its closing brace, which one matcher keeps, as amtool does: `x=~a{2}` is the regex a{2})
  return { label: one.name, op: one.op, value: one.value };
}

export function silenceMatches(s: Silence, labels: Record<string, string>): boolean {
  return matchesAll(
    s.matchers.map((m) => ({ name: m.label, op: m.op, value: m.value })),
    labels,
  );
}

export function silenceActive(s: Silence, at: Date): boolean {
  const t = at.getTime();
  return Date.parse(s.startsAt) <= t && t < Date.parse(s.endsAt);
}

export function silencedBy(silences: Silence[], labels: Record<string, string>, at: Date): Silence | undefined {
  return silences.find((s) => silenceActive(s, at) && silenceMatches(s, labels));
}

// ---- inhibition

function sides(r: InhibitRuleIn): { source: Matcher[]; target: Matcher[] } {
  const source = fromMaps(r.source_match, r.source_match_re);
  const target = fromMaps(r.target_match, r.target_match_re);
  for (const [list, strs] of [
    [source, r.source_matchers],
    [target, r.target_matchers],
  ] as const) {
    for (const s of strs ?? []) {
      const m = parseMatchers(s);
      if (typeof m !== 'string') list.push(...m);
    }
  }
  return { source, target };
}

/**
 * The firing instance that inhibits `target`, as Alertmanager decides it: a rule whose
 * target side matches, a firing alert matching its source side with the same values for
 * `equal` (a missing label equal to a missing one); an alert matching both sides is not
 * inhibited by another that matches both sides too. An error instance (a query that failed)
 * never inhibits: Prometheus raises no alert when a rule cannot be evaluated, and an unknown
 * answer must not mute the pages of other rules. A nodata instance does, like any alert.
 */
export function inhibitedBy(routes: RoutesFile | undefined, instances: Iterable<InstanceState>, target: InstanceState): InstanceState | undefined {
  if (!routes?.inhibit_rules.length) return undefined;
  const all = [...instances];
  for (const r of routes.inhibit_rules) {
    const { source, target: tm } = sides(r);
    if (!matchesAll(tm, target.labels)) continue;
    const twoSided = matchesAll(source, target.labels);
    const src = all.find(
      (s) =>
        s !== target &&
        s.status === 'firing' &&
        s.kind !== 'error' &&
        matchesAll(source, s.labels) &&
        r.equal.every((l) => (s.labels[l] ?? '') === (target.labels[l] ?? '')) &&
        !(twoSided && matchesAll(tm, s.labels)),
    );
    if (src) return src;
  }
  return undefined;
}
