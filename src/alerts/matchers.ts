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

/**
 * One matcher as Alertmanager's regex reads it: a name, an operator and the rest, with Go's `\s`
 * around them — RE2's `\s` is ASCII (`[\t\n\f\r ]`), so a no-break space or a vertical tab is
 * part of the name or value, not space to skip (JavaScript's `\s` and trim() would skip them).
 */
const ONE = /^[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\f\r ]*(=~|=|!=|!~)[\t\n\f\r ]*([\s\S]*?)[\t\n\f\r ]*$/;
/** Go's unicode.IsSpace, what strings.TrimSpace removes (not JavaScript's trim(): U+0085 is one, U+FEFF is not). */
const GO_SPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');
const OTHER_SPACE = /^[\v\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/**
 * Parse one matchers string (`{a="1", b=~"x|y"}` or `a=1`); a message when it does not parse.
 * Step by step as Alertmanager 0.25's labels.ParseMatchers: one leading `{` and one trailing `}`
 * dropped (nothing trimmed before: ` {a="1"}` is refused), split at the commas outside double
 * quotes, the last piece trimmed of Unicode space (only the last: `a=1<NBSP>,b=2` keeps the
 * no-break space in a's value), then each piece by the matcher regex and its unescaping.
 */
export function parseMatchers(text: string): Matcher[] | string {
  let s = text;
  const open = s.startsWith('{');
  if (open) s = s.slice(1);
  const close = s.endsWith('}');
  if (close) s = s.slice(0, -1);
  if (open && !close) return `'${text}': missing closing '}'${/}[\s\u0085\u00a0]+$/.test(text) ? ' (it is followed by space)' : ''}`;
  // Alertmanager drops this brace on its own, and with it the end of a bare value (`service=~a{2}` would match a{2): refused
  if (close && !open)
    return /^\s/.test(text) && text.trim().startsWith('{')
      ? `'${text}': space before the opening '{' (Alertmanager refuses it)`
      : `'${text}': ends in '}' without an opening '{', which Alertmanager would drop: quote a value that ends in '}' ("..."), or wrap the matchers in {...}`;
  // the split: commas outside double quotes (a \ escapes the next quote), as Alertmanager splits
  const tokens: string[] = [];
  let inQuotes = false;
  let escaped = false;
  let tok = '';
  for (const c of s) {
    if (c === ',') {
      if (!inQuotes) {
        tokens.push(tok);
        tok = '';
        continue;
      }
    } else if (c === '"') {
      if (!escaped) inQuotes = !inQuotes;
      else escaped = false;
    } else if (c === '\\') escaped = !escaped;
    else escaped = false;
    tok += c;
  }
  const last = tok.replace(GO_TRIM, '');
  if (last) tokens.push(last);
  const out: Matcher[] = [];
  for (const t of tokens) {
    const m = parseOne(t, text);
    if (typeof m === 'string') return m;
    out.push(m);
  }
  return out;
}

/**
 * One matcher alone, as Alertmanager's labels.ParseMatcher reads it (amtool's reading of
 * `config routes test` labels and `silence add` matchers): no braces dropped, no commas split,
 * nothing trimmed but the plain space, tab and line breaks its regex skips (`x=1<NBSP>` is the
 * value 1<NBSP>, `<NBSP>x=1` is refused).
 */
export function parseOneMatcher(text: string): Matcher | string {
  return parseOne(text, text);
}

/** One piece of a matchers string: Alertmanager's labels.ParseMatcher. */
function parseOne(t: string, text: string): Matcher | string {
  const ms = ONE.exec(t);
  if (!ms) {
    if (!t.replace(GO_TRIM, '')) return `'${text}': an empty matcher between commas`;
    const name = /^[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(t);
    const rest = t.slice(name ? name[0].length : 0).replace(/^[\t\n\f\r ]*/, '');
    // (a no-break space, a vertical tab...: space to JavaScript, not to Alertmanager's regex)
    // (named by its code point: a no-break space prints as a space)
    const odd = OTHER_SPACE.test(rest) ? ` (U+${rest.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} is not space to Alertmanager: only a plain space, a tab or a line break is)` : '';
    if (!name) return `'${text}': expected a label name at '${rest.slice(0, 12)}'${odd}`;
    return `'${text}': expected =, !=, =~ or !~ after '${name[1]}'${odd}`;
  }
  const [, name, op] = ms;
  let raw = ms[3];
  let quoted = false;
  if (raw.startsWith('"')) {
    raw = raw.slice(1);
    quoted = true;
  }
  const cs = [...raw];
  let value = '';
  let escaped = false;
  for (let k = 0; k < cs.length; k++) {
    const c = cs[k];
    if (escaped) {
      escaped = false;
      // only \n, \" and \\ are escapes: any other backslash stays (`"a\.b"` is the regex a\.b)
      value += c === 'n' ? '\n' : c === '"' || c === '\\' ? c : `\\${c}`;
    } else if (c === '\\') {
      // (a backslash at the very end is itself)
      if (k < cs.length - 1) escaped = true;
      else value += c;
    } else if (c === '"') {
      if (!quoted) return `'${text}': unexpected " in the value of '${name}' (quote the whole value, or escape it: \\")`;
      if (k < cs.length - 1) return `'${text}': unexpected text after the quoted value of '${name}' ('${cs.slice(k + 1, k + 13).join('')}'; matchers are separated by ',')`;
      quoted = false;
    } else value += c;
  }
  if (quoted) return `'${text}': unterminated quoted value for '${name}'`;
  const m: Matcher = { name, op: op as MatchOp, value };
  const bad = regexProblem(m);
  return bad ? `'${text}': ${bad}` : m;
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
