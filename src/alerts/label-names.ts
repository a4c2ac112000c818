/**
 * The names alert instances can carry, for catching a typo where labels are given by hand
 * (`vigil alerts route-test`, `vigil alerts silence --match`): a label no rule produces, an
 * alertname no rule has, a severity no rule has, each with the nearest known name.
 */
import { didYouMean } from '../errors.js';
import { baseLabels, groupColumns } from './engine.js';
import { OUTBOX_RULE } from './evaluate.js';
import { matches, type Matcher } from './matchers.js';
import { SEVERITIES, type AlertRule } from './schema.js';

/** The labels every instance of a rule carries with one value the rule fixes. */
const FIXED = { alertname: 'name', severity: 'severity' } as const;
const WHAT = { alertname: 'is named', severity: 'has severity' } as const;

/** The values of alertname or severity instances can carry: the rules' and Vigil's own alert's. */
function fixedValues(label: keyof typeof FIXED, rules: AlertRule[]): string[] {
  return [...new Set([...rules, OUTBOX_RULE].map((r) => r[FIXED[label]]))];
}

/** The label names instances carry: alertname, severity, the rules' labels and instance columns, vigil_state, and the receiver of Vigil's own alert. */
export function knownLabelNames(rules: AlertRule[]): Set<string> {
  const out = new Set(['alertname', 'severity', 'vigil_state', 'receiver']);
  for (const r of rules) for (const l of [...Object.keys(baseLabels(r)), ...groupColumns(r)]) out.add(l);
  return out;
}

/**
 * Why no instance can match this alertname or severity matcher (`=` or `=~`): `no alert rule is
 * named 'mnay' — did you mean 'many'?`, `severity=~Critical matches no alert rule's severity`;
 * undefined when a rule can, or for another label or operator.
 */
export function unknownLabelValue(m: Matcher, rules: AlertRule[]): string | undefined {
  if (m.name !== 'alertname' && m.name !== 'severity') return undefined;
  const values = fixedValues(m.name, rules);
  // (the severities are few: listed; the alert names are many)
  const list = m.name === 'severity' ? ` (severities: ${values.join(', ')})` : '';
  if (m.op === '=' && !values.includes(m.value)) {
    const hint = didYouMean(m.value, values);
    return `no alert rule ${WHAT[m.name]} '${m.value}'${hint ? ` — did you mean '${hint}'?` : list}`;
  }
  if (m.op === '=~' && !values.some((v) => matches(m, { [m.name]: v }))) return `${m.name}=~${m.value} matches no alert rule's ${m.name === 'alertname' ? 'name' : 'severity'}${list}`;
  return undefined;
}

/** Why no instance can carry a label of this name (`no alert has a label 'teem' — did you mean 'team'?`); undefined when one can. */
export function unknownLabelName(name: string, known: Set<string>): string | undefined {
  if (known.has(name)) return undefined;
  const hint = didYouMean(name, known);
  return `no alert has a label '${name}'${hint ? ` — did you mean '${hint}'?` : ''} (labels: ${[...known].sort().join(', ')})`;
}

/** What in these matchers names nothing an instance can carry: a label no rule produces, an alertname or severity (or regex of one) no rule has. */
export function unknownMatcherNames(matchers: Matcher[], rules: AlertRule[]): string[] {
  const known = knownLabelNames(rules);
  const out: string[] = [];
  for (const m of matchers) {
    const p = unknownLabelName(m.name, known) ?? unknownLabelValue(m, rules);
    if (p) out.push(p);
  }
  return out;
}

/**
 * What in a matcher of routes.yaml (a route's, an inhibit rule's) names nothing an instance can
 * carry: a label no rule produces, an `alertname=` no rule has, a `severity=` that is no
 * severity. A regex, a `!=` and a severity no rule has yet are not refused: a route may be
 * written for rules to come (`alertname=~"shop_.*"`, `severity="info"`).
 */
export function unknownRouteMatcher(m: Matcher, rules: AlertRule[], known: Set<string>): string | undefined {
  const name = unknownLabelName(m.name, known);
  if (name) return name;
  if (m.op !== '=') return undefined;
  if (m.name === 'alertname') return unknownLabelValue(m, rules);
  if (m.name === 'severity' && !(SEVERITIES as readonly string[]).includes(m.value)) {
    const hint = didYouMean(m.value, SEVERITIES);
    return `'${m.value}' is not a severity${hint ? ` — did you mean '${hint}'?` : ''} (severities: ${SEVERITIES.join(', ')})`;
  }
  return undefined;
}
