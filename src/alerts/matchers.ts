/**
 * Label matchers as Alertmanager 0.25 reads them (pkg/labels): `name="value"`, `name!="value"`,
 * `name=~"regex"`, `name!~"regex"`, values in double quotes (where only \\, \" and \n are
 * escapes: any other backslash stays, so `"a\.b"` is the regex a\.b) or bare, several in one
 * string separated by commas and optionally wrapped in braces; an empty string is no matcher.
 * A regex is Go's RE2, anchored (`^(?:re)$`); a label an alert does not have matches as the
 * empty string. Used by routes, inhibition rules and silences: one grammar. Checked against
 * amtool in test/alerts/routing-amtool.test.ts.
 */
import { RE2JS } from 're2js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/** Parse one matchers string (`{a="1", b=~"x|y"}` or `a=1`); a message when it does not parse. */
export function parseMatchers(text: string): Matcher[] | string {
  let s = text.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) return `'${text}': missing closing '}'`;
    s = s.slice(1, -1).trim();
  }
  const out: Matcher[] = [];
  if (!s) return out;
  let i = 0;
  const skipSpace = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  while (i < s.length) {
    skipSpace();
    if (i >= s.length) break;
    const name = NAME.exec(s.slice(i))?.[0];
    if (!name) return `'${text}': expected a label name at '${s.slice(i, i + 12)}'`;
    i += name.length;
    skipSpace();
    const op = (['=~', '!~', '!=', '='] as const).find((o) => s.startsWith(o, i));
    if (!op) return `'${text}': expected =, !=, =~ or !~ after '${name}'`;
    i += op.length;
    skipSpace();
    let value = '';
    if (s[i] === '"') {
      const quote = s[i++];
      let closed = false;
      while (i < s.length) {
        const c = s[i++];
        if (c === '\\' && i < s.length) {
          const e = s[i++];
          value += e === 'n' ? '\n' : e === '\\' || e === '"' ? e : `\\${e}`;
        } else if (c === quote) {
          closed = true;
          break;
        } else value += c;
      }
      if (!closed) return `'${text}': unterminated quoted value for '${name}'`;
    } else {
      const start = i;
      while (i < s.length && s[i] !== ',') i++;
      const raw = s.slice(start, i).trim();
      // (an escaped one, `a\\"b`, is the value a"b, as Alertmanager reads it)
      if (raw.replace(/\\./g, '').includes('"')) return `'${text}': unexpected " in the value of '${name}' (quote the whole value)`;
      // Alertmanager would drop a closing brace here (it trims one around the whole string): refused, quote it
      if (raw.endsWith('}')) return `'${text}': the value of '${name}' ends in '}', which Alertmanager would drop: quote the value ("...")`;
      // bare values take the same escapes as quoted ones
      value = raw.replace(/\\(.)/g, (_m, e: string) => (e === 'n' ? '\n' : e === '\\' || e === '"' ? e : `\\${e}`));
    }
    const m: Matcher = { name, op, value };
    const bad = regexProblem(m);
    if (bad) return `'${text}': ${bad}`;
    out.push(m);
    skipSpace();
    if (i < s.length) {
      if (s[i] !== ',') return `'${text}': expected ',' between matchers at '${s.slice(i, i + 12)}'`;
      i++;
    }
  }
  return out;
}

/** Alertmanager's `match:` (equality, or — Vigil's extension — any of a list) and `match_re:`. */
export function fromMaps(match?: Record<string, string | number | boolean | Array<string | number | boolean>>, matchRe?: Record<string, string>): Matcher[] {
  const out: Matcher[] = [];
  for (const [name, v] of Object.entries(match ?? {})) {
    if (Array.isArray(v)) out.push({ name, op: '=~', value: v.map((x) => escapeRegex(String(x))).join('|') });
    else out.push({ name, op: '=', value: String(v) });
  }
  for (const [name, v] of Object.entries(matchRe ?? {})) out.push({ name, op: '=~', value: v });
  return out;
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const compiled = new Map<string, RE2JS>();

/**
 * A matcher's regex as Alertmanager runs it: Go's RE2, anchored at both ends (`^(?:re)$`). Run
 * by re2js, a port of RE2 itself, not by JavaScript's RegExp, whose syntax and meaning differ
 * (`.` and `[^a]` on characters outside the BMP, `\s` on a non-breaking space, `\Q...\E`,
 * `\x{41}`, `\pL`, `[[:alpha:]]`, inline flags inside a group; and escapes RE2 refuses, like
 * `\Z`, `\u0041`, `\cA`). Compiled once per expression.
 */
export function anchored(re: string): { test(v: string): boolean } {
  let r = compiled.get(re);
  if (!r) compiled.set(re, (r = RE2JS.compile(`^(?:${re})$`)));
  const p = r;
  return { test: (v: string) => p.matches(v) };
}

/** Why a regex matcher's value is not a valid expression, or undefined. */
export function regexProblem(m: Matcher): string | undefined {
  if (m.op !== '=~' && m.op !== '!~') return undefined;
  // what JavaScript has and Go's RE2 (Alertmanager's engine) refuses
  if (/\(\?<?[=!]/.test(m.value)) return `invalid regular expression for '${m.name}': lookarounds are not supported by RE2, Alertmanager's regex engine`;
  if (/(^|[^\\])\\[1-9]/.test(m.value)) return `invalid regular expression for '${m.name}': backreferences are not supported by RE2, Alertmanager's regex engine`;
  try {
    anchored(m.value);
    return undefined;
  } catch (e) {
    return `invalid regular expression for '${m.name}': ${(e as Error).message.replace(/^error parsing regexp: /, '')}`;
  }
}

export function matches(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return anchored(m.value).test(v);
    case '!~':
      return !anchored(m.value).test(v);
  }
}

export function matchesAll(ms: readonly Matcher[], labels: Record<string, string>): boolean {
  return ms.every((m) => matches(m, labels));
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}
