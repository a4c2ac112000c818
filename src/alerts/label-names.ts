/**
 * The names alert instances can carry, for catching a typo where labels are given by hand
 * (`vigil alerts route-test`, `vigil alerts silence --match`): a label no rule produces, an
 * alertname no rule has, each with the nearest known name.
 */
import { didYouMean } from '../errors.js';
import { baseLabels, groupColumns } from './engine.js';
import { OUTBOX_ALERT } from './evaluate.js';
import { matches, type Matcher } from './matchers.js';
import type { AlertRule } from './schema.js';

/** Every alertname: the rules' and Vigil's own alert. */
function alertNames(rules: AlertRule[]): string[] {
  return [...rules.map((r) => r.name), OUTBOX_ALERT];
}

/** The label names instances carry: alertname, severity, the rules' labels and instance columns, vigil_state, and the receiver of Vigil's own alert. */
export function knownLabelNames(rules: AlertRule[]): Set<string> {
  const out = new Set(['alertname', 'severity', 'vigil_state', 'receiver']);
  for (const r of rules) for (const l of [...Object.keys(baseLabels(r)), ...groupColumns(r)]) out.add(l);
  return out;
}

/** Why no instance can have this alertname: `no alert rule is named 'mnay' — did you mean 'many'?`; undefined when a rule has it. */
export function unknownAlertname(name: string, rules: AlertRule[]): string | undefined {
  const names = alertNames(rules);
  if (names.includes(name)) return undefined;
  const hint = didYouMean(name, names);
  return `no alert rule is named '${name}'${hint ? ` — did you mean '${hint}'?` : ''}`;
}

/** What in these matchers names nothing an instance can carry: a label no rule produces, an alertname (or regex of one) no rule has. */
export function unknownMatcherNames(matchers: Matcher[], rules: AlertRule[]): string[] {
  const known = knownLabelNames(rules);
  const out: string[] = [];
  for (const m of matchers) {
    if (!known.has(m.name)) {
      const hint = didYouMean(m.name, known);
      out.push(`no alert has a label '${m.name}'${hint ? ` — did you mean '${hint}'?` : ''} (labels: ${[...known].sort().join(', ')})`);
    } else if (m.name === 'alertname' && m.op === '=') {
      const p = unknownAlertname(m.value, rules);
      if (p) out.push(p);
    } else if (m.name === 'alertname' && m.op === '=~' && !alertNames(rules).some((n) => matches(m, { alertname: n }))) {
      out.push(`alertname=~${m.value} matches no alert rule's name`);
    }
  }
  return out;
}
