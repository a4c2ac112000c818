/**
 * What Jinja (and so dbt projects) use that nunjucks lacks, added to one nunjucks environment:
 *
 * - `namespace(a=1)` and `{% set ns.a = 2 %}` (nunjucks cannot assign to an attribute: the
 *   statement is rewritten to a call before parsing, on the same line);
 * - `{% do expr %}` (evaluate for its effect, print nothing);
 * - Python methods on dicts, lists and strings (`d.items()`, `.keys()`, `.values()`, `.get()`,
 *   `l.append()`, ...), slices, `True`/`False`/`None`: nunjucks' own `installJinjaCompat()`;
 * - filters `tojson` (with `indent`), `map` (`attribute=` or a filter's name), `selectattr` and
 *   `rejectattr` with Jinja's tests (`equalto`, `==`, `ne`, `gt`, `in`, `defined`, `none`, ...);
 * - Python's values (py-values.ts, py-format.ts): tuples, floats, operators, a chain of
 *   comparisons, a negative index, a dict looped over or printed, the loop filter
 *   `{% for x in seq if cond %}`, filters' keyword arguments and Jinja's `round`, `truncate`,
 *   `groupby`, `dictsort`, `sum`, `unique`, `min`, `max`; a macro's `kwargs` / `varargs`; `{% set x -%}`;
 * - Jinja's scopes (loopScopes): a loop body's, a filter block's and a set block's own `{% set %}`,
 *   closures of a macro defined in a loop and of a `{% call %}` body; Jinja's loop attributes
 *   (`previtem`, `nextitem`, `cycle()`, `changed()`, `depth`); an inline if without else Undefined.
 */
import nunjucks from 'nunjucks';
import { didYouMean } from '../errors.js';
import { hasSecretPlaceholder, secretNames } from '../secrets.js';
import { pyFormat, pyJson, pyRound, pyStrFormat } from './py-format.js';
import { pyStrip, PY_STR_KEYWORDS, PY_STR_METHODS } from './py-str.js';
import { astralItem, EXACT_INT_LIMIT, hasAstral, inexactInt, isPlainObject, isTuple, NAMESPACE, NO_ELSE, PAST_EXACT, pyArith, pyCompare, pyFloat, PyFloat, pyIndex, pyRepr, pyStr, pyTruth, pyType, PY_TYPE_NAME, tuple, unbox } from './py-values.js';
import { docRef } from '../install.js';
import { dateTimeHint, dateTimeMember } from './py-datetime.js';

let compatInstalled = false;

/** The environments with Jinja's values (addJinjaCompat: models'): Python's operators on anything, not only numbers. */
const JINJA_ENVIRONMENTS = new WeakSet<object>();
/** Marks the extension addJinjaCompat adds: a template compiled with it is scoped as Jinja's (loopScopes). */
const JINJA_MARK = Symbol('vigil.jinja');
/** Whether the template being compiled is a Jinja environment's (loopScopes). */
let jinjaScoping = false;

/** Python's arithmetic operators, with the nodes nunjucks parses them into. */
const ARITHMETIC: Array<[string, string]> = [['+', 'Add'], ['-', 'Sub'], ['*', 'Mul'], ['/', 'Div'], ['%', 'Mod'], ['//', 'FloorDiv'], ['**', 'Pow']];
const ARITHMETIC_NODES = new Map(ARITHMETIC.map(([op, node]) => [node, op]));

/** A call's keyword arguments (nunjucks passes them last, marked __keywords). */
export const isKw = (a: unknown): a is Record<string, unknown> => !!a && typeof a === 'object' && (a as { __keywords?: boolean }).__keywords === true;
const kwargs = (args: unknown[]): [unknown[], Record<string, unknown>] => {
  const last = args[args.length - 1];
  if (!isKw(last)) return [args, {}];
  const { __keywords, ...rest } = last;
  void __keywords;
  return [args.slice(0, -1), rest];
};

/** Jinja's tests for selectattr / rejectattr. */
const TESTS: Record<string, (v: unknown, arg?: unknown) => boolean> = {
  // (an inline if without else, its condition false, is Jinja's Undefined: NO_ELSE)
  defined: (v) => v !== undefined && v !== NO_ELSE,
  undefined: (v) => v === undefined || v === NO_ELSE,
  none: (v) => v === null,
  true: (v) => v === true,
  false: (v) => v === false,
  // (Python's truth: an empty list or dict is false)
  truthy: (v) => pyTruth(v),
  falsy: (v) => !pyTruth(v),
  // (a whole float is a PyFloat: compared by its number)
  equalto: (v, a) => unbox(v) === unbox(a),
  eq: (v, a) => unbox(v) === unbox(a),
  '==': (v, a) => unbox(v) === unbox(a),
  ne: (v, a) => unbox(v) !== unbox(a),
  '!=': (v, a) => unbox(v) !== unbox(a),
  // (Python's ordering: `none` or a string against a number is its TypeError)
  gt: (v, a) => compareValues(v, '>', a),
  '>': (v, a) => compareValues(v, '>', a),
  ge: (v, a) => compareValues(v, '>=', a),
  '>=': (v, a) => compareValues(v, '>=', a),
  lt: (v, a) => compareValues(v, '<', a),
  '<': (v, a) => compareValues(v, '<', a),
  le: (v, a) => compareValues(v, '<=', a),
  '<=': (v, a) => compareValues(v, '<=', a),
  in: (v, a) => (Array.isArray(a) || typeof a === 'string' ? (a as unknown[] | string).includes(v as never) : !!a && typeof a === 'object' && Object.prototype.hasOwnProperty.call(a, v as string)),
  // (a macro's output is a string, as Jinja's Markup is a str)
  string: (v) => asText(v) !== undefined,
  // (a bool is a number to Python: True is an int)
  number: (v) => typeof unbox(v) === 'number' || typeof v === 'boolean',
  // (a dict iterates its keys, a string its characters)
  iterable: (v) => Array.isArray(v) || asText(v) !== undefined || (!!v && typeof v === 'object' && !(v instanceof PyFloat)),
};

function attr(item: unknown, path: string): unknown {
  let v: unknown = item;
  for (const part of path.split('.')) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[part];
  return v;
}

function selectBy(keep: boolean) {
  return (seq: unknown, ...raw: unknown[]) => {
    const [args] = kwargs(raw);
    const [name, test, value] = args as [string, string | undefined, unknown];
    if (typeof name !== 'string') throw new Error(`${keep ? 'selectattr' : 'rejectattr'}() takes an attribute name`);
    const t = test === undefined ? TESTS.truthy : TESTS[test];
    if (!t) throw new Error(`${keep ? 'selectattr' : 'rejectattr'}(): unknown test '${test}' (tests: ${Object.keys(TESTS).join(', ')})`);
    return (Array.isArray(seq) ? seq : []).filter((x) => t(attr(x, name), value) === keep);
  };
}

/** `{% set ns.attr = expr %}` -> `{% do __vigil_setattr(ns, "attr", expr) %}`, on the same line. */
export function rewriteAttributeSets(text: string): string {
  if (!/\{%-?\s*set\s+[A-Za-z_]\w*\./.test(text)) return text;
  return text.replace(/\{%(-?)\s*set\s+([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*=\s*([\s\S]*?)\s*(-?)%\}/g, (_m, l: string, obj: string, key: string, expr: string, r: string) => `{%${l} do __vigil_setattr(${obj}, "${key}", ${expr}) ${r}%}`);
}

/** The index just past the string literal that starts (with its quote) at `i`: a backslash escapes the next character; the end of `text` if it never closes. */
function quotedEnd(text: string, i: number): number {
  const quote = text[i];
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === quote) return j + 1;
  }
  return text.length;
}

/**
 * The keyword arguments of a template's `config(...)` calls as written, of `keys`: each one's
 * expression text (white space collapsed), the last call's where two give a key.
 */
export function configArgsAsWritten(text: string, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(?<![\w.])config\s*\(/g)) {
    const args: string[] = [];
    let start = m.index + m[0].length;
    let depth = 0;
    let i = start;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '"' || c === "'") i = quotedEnd(text, i) - 1;
      else if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') {
        if (!depth) break;
        depth--;
      } else if (c === ',' && !depth) {
        args.push(text.slice(start, i));
        start = i + 1;
      }
    }
    args.push(text.slice(start, i));
    for (const a of args) {
      const kv = /^\s*([A-Za-z_]\w*)\s*=(?!=)([\s\S]*)$/.exec(a);
      if (kv && keys.includes(kv[1])) out[kv[1]] = kv[2].replace(/\s+/g, ' ').trim();
    }
  }
  return out;
}

/**
 * Jinja takes a trailing comma in a call, list, tuple or dict (`config(a='x', b='y',)`), nunjucks
 * does not: inside `{{ }}` and `{% %}`, a comma (outside string literals) followed only by white
 * space and a closing bracket becomes a space (columns and lines stay where they were).
 */
export function dropTrailingCommas(text: string): string {
  if (!/,\s*[)\]}]/.test(text)) return text;
  return text.replace(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g, (tag) => {
    if (!/,\s*[)\]}]/.test(tag.slice(2, -2))) return tag;
    let out = '';
    const opens: string[] = [];
    for (let i = 0; i < tag.length; i++) {
      const c = tag[i];
      if (c === '"' || c === "'") {
        const e = quotedEnd(tag, i);
        out += tag.slice(i, e);
        i = e - 1;
        continue;
      }
      // a `(` after a value is a call's; after a keyword (`in (`, `for x in (`, `not (`) or an
      // operator, a group's (a tuple's: `in ('a',)` keeps its comma)
      if (c === '(' || c === '[' || c === '{') opens.push(c === '(' && (/\b(?:in|and|or|not|if|elif|else|is|do)\s*$/.test(out) || !/[\w)\]]\s*$/.test(out)) ? 'group' : c);
      else if (c === ')' || c === ']' || c === '}') opens.pop();
      if (c === ',' && i > 1 && i < tag.length - 2) {
        let j = i + 1;
        while (j < tag.length - 2 && /\s/.test(tag[j])) j++;
        // `(x,)` is a tuple of one (parsed as one: pythonSyntax); a call's trailing comma is dropped
        if (j < tag.length - 2 && /[)\]}]/.test(tag[j]) && !(tag[j] === ')' && opens[opens.length - 1] === 'group')) {
          out += ' ';
          continue;
        }
      }
      out += c;
    }
    return out;
  });
}

/**
 * Jinja ends a `{{ }}` or `{% %}` tag at `}}` / `%}` only outside brackets: `config(range={'start':
 * 0, 'end': 100})}}` and `{'a': {'b': 1}}` are one tag there. nunjucks ends it at the first `}}`:
 * a `}` closing a dict right before another `}` gets a space after it (later columns of that
 * line move by one). Only tags with a `{` inside are scanned.
 */
export function splitNestedBraces(text: string): string {
  if (!/\{[{%][^}%]*\{/.test(text)) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    if (open < 0 || open + 1 >= text.length) break;
    const kind = text[open + 1];
    // a comment, and a raw block, are copied as they are
    const raw = kind === '%' ? /^\{%-?\s*(raw|verbatim)\s*-?%\}/.exec(text.slice(open, open + 40)) : null;
    if (kind === '#' || raw) {
      const close = kind === '#' ? text.indexOf('#}', open + 2) : text.slice(open).search(new RegExp(`\\{%-?\\s*end${raw![1]}\\s*-?%\\}`));
      const stop = close < 0 ? text.length : kind === '#' ? close + 2 : open + close;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    if (kind !== '{' && kind !== '%') {
      out += text.slice(i, open + 1);
      i = open + 1;
      continue;
    }
    out += text.slice(i, open + 2);
    const end = kind === '{' ? '}' : '%';
    const stack: string[] = [];
    let j = open + 2;
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '"' || c === "'") {
        const e = quotedEnd(text, j);
        out += text.slice(j, e);
        j = e - 1;
        continue;
      }
      if (c === '{' || c === '(' || c === '[') stack.push(c);
      else if ((c === '}' || c === ')' || c === ']') && stack.length) {
        stack.pop();
        out += c;
        // a dict closed right before a `}`: nunjucks would read the two as the tag's end
        if (c === '}' && text[j + 1] === '}' && (stack.length || end === '%' || text[j + 2] === '}')) out += ' ';
        continue;
      } else if (!stack.length && c === end && text[j + 1] === '}') {
        out += c + '}';
        j += 2;
        break;
      }
      out += c;
    }
    i = j;
  }
  return out + text.slice(i);
}

/** The index of the first top-level `word` (outside strings and brackets) in `s`, else -1. */
function topLevelWord(s: string, word: string, from = 0): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'") i = quotedEnd(s, i) - 1;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0 && s.startsWith(word, i) && !/\w/.test(s[i - 1] ?? ' ') && !/\w/.test(s[i + word.length] ?? ' ')) return i;
  }
  return -1;
}

/**
 * Jinja's loop filter, `{% for x in seq if cond %}`: nunjucks reads `seq if cond` as an inline if
 * on the whole sequence. Rewritten, on the same line, into a loop that collects the items the
 * condition keeps and the loop over them (so loop.index, loop.length and loop.last count the
 * items kept, as in Jinja): `{% set l = [] %}{% for x in seq %}{% if cond %}{% do l.append(x)
 * %}{% endif %}{% endfor %}{% for x in l %}`. `seq if c else d` is an inline if, left as it is.
 */
export function rewriteLoopFilters(text: string): string {
  // (a `%` in a string of the tag, `['a%b'] if x`, ended the quick look early: the filter was dropped)
  if (!/\{%-?\s*for\b/.test(text) || !/\bif\b/.test(text)) return text;
  let n = 0;
  return text.replace(/\{%(-?)(\s*)for\s+([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+in\b((?:[^%'"]|'[^']*'|"[^"]*"|%(?!\}))*?)(-?)%\}/g, (tag, l: string, sp: string, targets: string, rest: string, r: string) => {
    const at = topLevelWord(rest, 'if');
    if (at < 0 || topLevelWord(rest, 'else', at) >= 0 || /\brecursive\s*$/.test(rest)) return tag;
    const list = `__vigil_loop_${n++}`;
    const names = targets.split(',').map((t) => t.trim());
    const item = names.length === 1 ? names[0] : `[${names.join(', ')}]`;
    return `{%${l}${sp}set ${list} = [] %}{% for ${targets} in ${rest.slice(0, at)}%}{% if ${rest.slice(at + 2)}%}{% do ${list}.append(${item}) %}{% endif %}{% endfor %}{% for ${targets} in ${list} ${r}%}`;
  });
}

/**
 * A tag that renders nothing and spans lines — a `{{ config(...) }}` written over several lines,
 * `{% set x = [...] %}`, `{% do ... %}`, a `{# comment #}`, a `{% set x %}...{% endset %}` or
 * `{% macro %}...{% endmacro %}` block — standing alone on its lines, outside any loop, macro,
 * call or set block (inside an `{% if %}` too), is followed by `{{ '\n...' }}` printing the line
 * breaks it spans: the rendered SQL keeps the template's line numbers, as a one-line config()
 * keeps its line (docs/models.md). Nothing of the template moves (the print is added right after
 * the tag, on its last line, before only white space). A tag with whitespace control (`{%-`,
 * `-%}`, `{{-`, `-}}`) is left as it is: it asks for the white space to go.
 */
export function keepSpannedLines(text: string): string {
  if (!text.includes('\n') || !/\{[{%#]/.test(text)) return text;
  const inserts: Array<[at: number, lines: number]> = [];
  const stack: Array<{ word: string; start: number; alone: boolean }> = [];
  const lines = (from: number, to: number) => {
    let n = 0;
    for (let k = text.indexOf('\n', from); k >= 0 && k < to; k = text.indexOf('\n', k + 1)) n++;
    return n;
  };
  const aloneBefore = (open: number) => /^[ \t]*$/.test(text.slice(text.lastIndexOf('\n', open - 1) + 1, open));
  const aloneAfter = (close: number) => {
    const end = text.indexOf('\n', close);
    return /^[ \t\r]*$/.test(text.slice(close, end < 0 ? text.length : end));
  };
  const topLevel = () => stack.every((b) => b.word === 'if');
  let i = 0;
  for (;;) {
    const open = text.indexOf('{', i);
    if (open < 0 || open + 1 >= text.length) break;
    const kind = text[open + 1];
    if (kind !== '{' && kind !== '%' && kind !== '#') {
      i = open + 1;
      continue;
    }
    let close: number;
    if (kind === '#') {
      const c = text.indexOf('#}', open + 2);
      // (a tag never closed: the template is left as written, for the parser's own error)
      if (c < 0) return text;
      close = c + 2;
    } else {
      const end = kind === '{' ? '}' : '%';
      let depth = 0;
      let j = open + 2;
      for (; j < text.length; j++) {
        const c = text[j];
        if (c === '"' || c === "'") j = quotedEnd(text, j) - 1;
        else if (c === '{' || c === '(' || c === '[') depth++;
        else if ((c === '}' || c === ')' || c === ']') && depth) depth--;
        else if (c === end && text[j + 1] === '}') break;
      }
      if (j >= text.length) return text;
      close = j + 2;
    }
    const inner = text.slice(open + 2, close - 2);
    const trimmed = /^[-+]/.test(inner) || /[-+]$/.test(inner);
    const alone = !trimmed && aloneBefore(open);
    const keep = (from: number) => {
      const n = lines(from, close);
      if (n && topLevel() && aloneAfter(close)) inserts.push([close, n]);
    };
    i = close;
    if (kind === '#') {
      if (alone) keep(open);
      continue;
    }
    if (kind === '{') {
      if (alone && /^\s*config\s*\(/.test(inner)) keep(open);
      continue;
    }
    const word = /^[-+]?\s*([A-Za-z_]\w*)/.exec(inner)?.[1] ?? '';
    if (word === 'raw' || word === 'verbatim') {
      const e = text.slice(close).search(new RegExp(`\\{%-?\\s*end${word}\\s*-?%\\}`));
      i = e < 0 ? text.length : close + e;
      continue;
    }
    // (a set with no `=` at its top level is a block: `{% set x %}...{% endset %}`)
    const setBlock = word === 'set' && !/^[-+]?\s*set\s+[^=]*=/.test(inner.replace(/(["'])(?:\\.|(?!\1)[^\\])*\1/g, ''));
    if ((word === 'set' && !setBlock) || word === 'do') {
      if (alone) keep(open);
    } else if (setBlock || ['for', 'macro', 'call', 'filter', 'if'].includes(word)) {
      stack.push({ word: setBlock ? 'set' : word, start: open, alone });
    } else if (word === `end${stack.at(-1)?.word}`) {
      const block = stack.pop()!;
      if ((block.word === 'set' || block.word === 'macro') && block.alone && !trimmed) keep(block.start);
    }
  }
  if (!inserts.length) return text;
  let out = '';
  let from = 0;
  for (const [at, n] of inserts) {
    out += `${text.slice(from, at)}{{ '${'\\n'.repeat(n)}' }}`;
    from = at;
  }
  return out + text.slice(from);
}

/** What Vigil rewrites in a template's text before nunjucks parses it (Jinja syntax nunjucks lacks; the lines a tag that renders nothing spans). */
export function jinjaToNunjucks(text: string): string {
  return dropTrailingCommas(rewriteAttributeSets(rewriteLoopFilters(splitNestedBraces(keepSpannedLines(text)))));
}

/**
 * Python methods on dicts and lists, slices, True/False/None: process-wide, as nunjucks does it.
 * Every module that renders templates installs it when it loads (model templates, alert
 * templates), so what a template may say never depends on what ran before in the process.
 */
export function installJinjaCompat(): void {
  if (compatInstalled) return;
  nunjucks.installJinjaCompat();
  // `{{ ref }}` without its call would print the function's JavaScript source into the SQL (Jinja
  // prints `<function ...>`): an error at the expression, like an undefined value
  // (where the environment checks printed values, throwOnUndefined: models, the check comes with
  // the expression's position; elsewhere, alert templates, at the print)
  const nj = nunjucks as unknown as {
    runtime: { suppressValue: (v: unknown, autoescape: boolean) => unknown; ensureDefined: (v: unknown, lineno: number, colno: number) => unknown };
    lib: { TemplateError: new (message: string, lineno: number, colno: number) => Error };
  };
  const { runtime } = nj;
  const suppressValue = runtime.suppressValue;
  runtime.suppressValue = (v, autoescape) => {
    if (typeof v === 'function') throw new Error(PRINTED_FUNCTION);
    // a list, a dict, a whole float: as Python prints them (py-values.ts); a bool is Python's
    // `True` where printed values are checked (ensureDefined: models), alert templates print `true`
    // (an integer past 2^53 is refused by ensureDefined, in models; an alert's row number prints as it is)
    return suppressValue(typeof v === 'string' || typeof v === 'boolean' ? v : pyStr(v, false), autoescape);
  };
  const ensureDefined = runtime.ensureDefined;
  runtime.ensureDefined = (v, lineno, colno) => {
    if (typeof v === 'function') throw new nj.lib.TemplateError(PRINTED_FUNCTION, lineno + 1, colno + 1);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new nj.lib.TemplateError(`${PRINTED_NON_FINITE} (${v})`, lineno + 1, colno + 1);
    const inexact = inexactInt(v, true);
    if (inexact) throw new nj.lib.TemplateError(inexact, lineno + 1, colno + 1);
    // (nunjucks' message says null or undefined: which one, for the author's message)
    if (v === null) throw new nj.lib.TemplateError(PRINTED_NONE, lineno + 1, colno + 1);
    // a list's or a dict's text here, where an integer past 2^53 in it is an error at the print
    if (Array.isArray(v) || isPlainObject(v)) return printedText(v, (m) => new nj.lib.TemplateError(m, lineno + 1, colno + 1));
    return typeof v === 'boolean' ? pyStr(v) : ensureDefined(v, lineno, colno);
  };
  strictWhereUsed(nj.lib.TemplateError);
  pythonTruth();
  loopScopes();
  loopControls();
  withBlocks();
  pythonSyntax(nj.lib.TemplateError);
  strictMacroArgs(runtime as unknown as MacroRuntime);
  pythonStrings(runtime as unknown as { memberLookup: (...a: unknown[]) => unknown });
  keepFirstLinePositions(runtime as unknown as { handleError: (e: unknown, lineno: number, colno: number) => NunjucksError });
  compatInstalled = true;
}

type MacroRuntime = { makeMacro: (argNames: string[], kwargNames: string[], func: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown; [k: string]: unknown };

/** The macros whose body reads `kwargs` or `varargs`: they take extra keyword or positional arguments, as in Jinja. */
const MACRO_READS = new WeakMap<object, { kwargs: boolean; varargs: boolean }>();
/** Where a macro's extra arguments travel to its body: in the keyword arguments' object nunjucks passes it. */
const EXTRA_ARGS = Symbol('extraArgs');

/** Whether a node, or one under it, reads the name `name`. */
function readsName(n: unknown, name: string): boolean {
  if (!n || typeof n !== 'object') return false;
  if (Array.isArray(n)) return n.some((c) => readsName(c, name));
  const node = n as { typename?: unknown; value?: unknown };
  if (typeof node.typename !== 'string') return false;
  if (node.typename === 'Symbol' && node.value === name) return true;
  return Object.entries(node).some(([k, v]) => k !== 'typename' && readsName(v, name));
}

/**
 * A macro called with more arguments than it has, or a keyword it has not: an error, as in
 * Jinja ("takes no keyword argument 'c'"); nunjucks dropped them, so a misspelled keyword
 * silently fell back to the default. A macro whose body reads `kwargs` (`varargs`) takes the
 * keywords (the positional arguments) it has not, there as a dict (a tuple), as in Jinja.
 */
function strictMacroArgs(runtime: MacroRuntime): void {
  const make = runtime.makeMacro;
  runtime.makeMacro = (argNames, kwargNames, func) => {
    const macro = make(argNames, kwargNames, func);
    const known = [...argNames, ...kwargNames];
    // (marked: the macro's own error handling passes it on to where the call is written)
    const fail = (message: string) => Object.assign(new Error(`${message} (${known.length ? `its arguments: ${known.join(', ')}` : 'it has none'})`), { macroArgs: checked });
    const checked = function (this: unknown, ...args: unknown[]) {
      const reads = MACRO_READS.get(checked);
      const last = args[args.length - 1];
      const kw = last && typeof last === 'object' && Object.prototype.hasOwnProperty.call(last, '__keywords') ? (last as Record<string, unknown>) : undefined;
      const positional = kw ? args.length - 1 : args.length;
      if (positional > known.length && !reads?.varargs) throw fail(`macro takes ${known.length} argument${known.length === 1 ? '' : 's'} at most, given ${positional}`);
      // given by position and by name: Jinja refuses it; nunjucks kept the positional one
      for (let i = 0; i < Math.min(positional, known.length); i++) if (kw && Object.hasOwn(kw, known[i])) throw fail(`macro got multiple values for argument '${known[i]}'`);
      const extra: Record<string, unknown> = {};
      for (const k of Object.keys(kw ?? {})) {
        if (k === '__keywords' || k === 'caller' || known.includes(k)) continue;
        if (reads?.kwargs) {
          extra[k] = kw![k];
          continue;
        }
        const hint = didYouMean(k, known);
        throw fail(`macro has no argument '${k}'${hint ? ` — did you mean '${hint}'?` : ''}`);
      }
      if (!reads) return macro.apply(this, args);
      // the arguments it has, and the others for its body (vigilMacroExtra)
      const own = Object.fromEntries(Object.entries(kw ?? {}).filter(([k]) => k === '__keywords' || k === 'caller' || known.includes(k)));
      const kwOut = Object.assign(own, { __keywords: true, [EXTRA_ARGS]: { kwargs: extra, varargs: tuple(args.slice(known.length, positional)) } });
      return macro.apply(this, [...args.slice(0, Math.min(positional, known.length)), kwOut]);
    };
    return checked;
  };
  runtime.vigilMacroReads = (macro: object, kwargs: boolean, varargs: boolean) => MACRO_READS.set(macro, { kwargs, varargs });
  runtime.vigilMacroExtra = (kw: Record<symbol, Record<string, unknown>> | undefined, name: 'kwargs' | 'varargs') => kw?.[EXTRA_ARGS]?.[name] ?? (name === 'kwargs' ? {} : tuple([]));
  // a macro whose body reads kwargs or varargs: set in its frame, and the macro marked as taking them
  type Compiler = { _compileMacro(node: { body: unknown }, frame: unknown): string; _emitLines(...lines: string[]): void; _emitLine(line: string): void };
  const C = (nunjucks as unknown as { compiler: { Compiler: { prototype: Compiler } } }).compiler.Compiler.prototype;
  const compileMacro = C._compileMacro;
  C._compileMacro = function (this: Compiler, node, frame) {
    const reads = { kwargs: readsName(node.body, 'kwargs'), varargs: readsName(node.body, 'varargs') };
    if (!reads.kwargs && !reads.varargs) return compileMacro.call(this, node, frame);
    const emitLines = this._emitLines;
    let done = false;
    // (the macro function's first lines, where nunjucks sets `caller` in its frame)
    this._emitLines = function (this: Compiler, ...lines: string[]) {
      if (!done && lines.includes('kwargs = kwargs || {};')) {
        done = true;
        for (const name of ['kwargs', 'varargs'] as const) if (reads[name]) lines.push(`frame.set("${name}", runtime.vigilMacroExtra(kwargs, "${name}"));`);
      }
      return emitLines.apply(this, lines);
    };
    let id: string;
    try {
      id = compileMacro.call(this, node, frame);
    } finally {
      this._emitLines = emitLines;
    }
    this._emitLine(`runtime.vigilMacroReads(${id}, ${reads.kwargs}, ${reads.varargs});`);
    return id;
  };
}

type NunjucksError = Error & { lineno?: number; colno?: number; firstUpdate?: boolean; Update(path?: string): NunjucksError };

/**
 * A runtime error on a template's first line: nunjucks wraps it with line 0 (its lines are
 * 0-based there) and then prints no position at all, as if it had none ("[Line 0, ..." is left
 * out as falsy). Its position is kept, in the form the other lines have.
 */
function keepFirstLinePositions(runtime: { handleError: (e: unknown, lineno: number, colno: number) => NunjucksError }): void {
  const handleError = runtime.handleError;
  runtime.handleError = (error, lineno, colno) => {
    const e = handleError(error, lineno, colno);
    if (e && e.lineno === 0 && typeof e.colno === 'number' && e.firstUpdate) {
      e.Update = function (this: NunjucksError, path?: string) {
        const at = this.firstUpdate ? ` [Line 0, Column ${this.colno}]` : '';
        this.message = `(${path || 'unknown path'})${at}\n ${this.firstUpdate ? ' ' : ''}${this.message || ''}`;
        this.firstUpdate = false;
        return this;
      };
    }
    return e;
  };
}

type Method<T> = (this: T, ...a: unknown[]) => unknown;

/**
 * A Python method as a template calls it: nunjucks passes keyword arguments last, in one object
 * marked `__keywords`. Each keyword is put at its parameter's place, as Python does, when the
 * method takes it by name (`params`: its parameters' names, in order); a method that takes none
 * by name (`dict.get`, `str.replace`, `list.append`: most of Python's built-in methods), or a
 * name it has not, is Python's TypeError (the keywords' object was taken for data:
 * `d.update(a=1)` gave `{'a': 1, '__keywords': True}`, `'a,b'.split(sep=',')` was unsplit).
 */
function pyMethod<T>(owner: string, name: string, f: Method<T>, params?: readonly string[]): Method<T> {
  return function (this: T, ...raw: unknown[]) {
    if (!isKw(raw[raw.length - 1])) return f.apply(this, raw);
    const [args, kw] = kwargs(raw);
    const out = [...args];
    for (const [k, v] of Object.entries(kw)) {
      const i = params?.indexOf(k) ?? -1;
      if (!params?.length) throw new Error(`${owner}.${name}() takes no keyword arguments (given ${k}=)${POSITIONAL[name] ? `: pass it by position, .${name}(${POSITIONAL[name]})` : ''}`);
      if (i < 0) {
        const hint = didYouMean(k, params);
        throw new Error(`${owner}.${name}() got an unexpected keyword argument '${k}'${hint ? ` — did you mean '${hint}'?` : ''} (its keywords: ${params.join(', ')})`);
      }
      if (i < args.length) throw new Error(`${owner}.${name}() got multiple values for argument '${k}'`);
      out[i] = v;
    }
    return f.apply(this, out);
  };
}

/** The parameters of Python's methods that take them by position only (for the message of a keyword given). */
const POSITIONAL: Record<string, string> = {
  get: 'key, default', pop: 'key_or_index, default', setdefault: 'key, default', insert: 'index, item', append: 'item', extend: 'items', remove: 'item', index: 'item',
  replace: 'old, new, count', strip: 'chars', lstrip: 'chars', rstrip: 'chars', startswith: 'prefix, start, end', endswith: 'suffix, start, end', find: 'sub, start, end', rfind: 'sub, start, end',
  rindex: 'sub, start, end', count: 'sub, start, end', join: 'items', center: 'width, fillchar', ljust: 'width, fillchar', rjust: 'width, fillchar', zfill: 'width', partition: 'sep', rpartition: 'sep',
  removeprefix: 'prefix', removesuffix: 'suffix',
};

/** Each method of `methods` taking keywords as Python's does (pyMethod): `params[name]` the parameters it takes by name. */
function pyMethods<T>(owner: string, methods: Record<string, Method<T>>, params: Record<string, readonly string[]> = {}): Record<string, Method<T>> {
  return Object.fromEntries(Object.entries(methods).map(([name, f]) => [name, pyMethod(owner, name, f, params[name])]));
}

/** Python's string methods, as Jinja has them (py-str.ts; nunjucks gives a string JavaScript's: `.split()` unsplit, `.replace()` once, no `.lower()`). */
export const STRING_MEMBERS: Record<string, (this: string, ...a: unknown[]) => unknown> = pyMethods<string>('str', PY_STR_METHODS, PY_STR_KEYWORDS);
// str.format takes any keyword, each a field's value (`'{a}'.format(a=1)`)
STRING_MEMBERS.format = function (this: string, ...raw: unknown[]) {
  const [args, kw] = kwargs(raw);
  return pyStrFormat(this, args, kw);
};

/** Whether nunjucks' Jinja compatibility gives `obj` a dict's methods (it asks as lib.isObject does). */
const hasDictMethods = (obj: unknown): boolean => Object.prototype.toString.call(obj) === '[object Object]';

/** Python's index of a list item (`l.pop(-1)`, `l.insert(-1, x)`): a negative one from the end. */
const listIndex = (list: unknown[], i: unknown, method: string): number => {
  if (typeof unbox(i) !== 'number' || !Number.isInteger(unbox(i))) throw new Error(`'${pyType(i)}' object cannot be interpreted as an integer (list.${method}())`);
  const n = unbox(i) as number;
  return n < 0 ? n + list.length : n;
};

/**
 * A list's methods as Python's (nunjucks' Jinja compatibility lacks them, or has them as
 * JavaScript's: `l.pop(0)` gave a list of the item, or on the fast path popped the last one;
 * `l.sort()` ordered `[10, 9, 1]` as text, `[1, 10, 9]`, and returned the list, not None).
 */
const LIST_EXTRA: Record<string, Method<unknown[]>> = {
  append(item: unknown) {
    this.push(item);
    return null;
  },
  insert(i: unknown, item: unknown) {
    const at = listIndex(this, i, 'insert');
    this.splice(Math.max(0, Math.min(at, this.length)), 0, item);
    return null;
  },
  remove(item: unknown) {
    const at = this.findIndex((x) => pyEqual(x, item));
    if (at < 0) throw new Error('list.remove(x): x not in list');
    this.splice(at, 1);
    return null;
  },
  pop(...a: unknown[]) {
    if (!this.length) throw new Error('pop from empty list');
    const at = a.length ? listIndex(this, a[0], 'pop') : this.length - 1;
    if (at < 0 || at >= this.length) throw new Error('pop index out of range');
    return this.splice(at, 1)[0];
  },
  sort(...a: unknown[]) {
    const [args, kw] = kwargs(a);
    if (args.length) throw new Error(`list.sort() takes no positional arguments (${args.length} given)`);
    for (const k of Object.keys(kw)) if (k !== 'reverse') throw new Error(`list.sort() got an unexpected keyword argument '${k}'${k === 'key' ? ' (a key function: sort with the filter, `| sort(attribute=...)`)' : ''}`);
    const sorted = [...this].sort(pyCompare);
    if (pyTruth(kw.reverse)) sorted.reverse();
    this.splice(0, this.length, ...sorted);
    return null;
  },
  reverse() {
    Array.prototype.reverse.call(this);
    return null;
  },
  copy() { return [...this]; },
  clear() {
    this.length = 0;
    return null;
  },
  extend(items: unknown) {
    const list = isPlainObject(items) ? Object.keys(items) : asText(items) !== undefined ? [...asText(items)!] : items;
    if (!Array.isArray(list)) throw new Error(`'${pyType(items)}' object is not iterable`);
    this.push(...list);
    return null;
  },
};

/**
 * A dict's update(), as Python's: from a dict (or a list of pairs) and from keyword arguments
 * (`d.update({'a': 1}, b=2)`, `d.update(a=1)`); nunjucks' took the keywords' object for data.
 */
function dictUpdate(this: Record<string, unknown>, ...raw: unknown[]): null {
  const [args, kw] = kwargs(raw);
  if (args.length > 1) throw new Error(`dict.update() takes at most 1 positional argument (${args.length} given)`);
  const [other] = args;
  if (Array.isArray(other)) {
    for (const pair of other) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new Error('dict.update(): each item of a list must be a (key, value) pair');
      this[String(pair[0])] = pair[1];
    }
  } else if (other !== undefined && other !== null && !isKw(other)) {
    if (typeof other !== 'object') throw new Error(`'${pyType(other)}' object is not iterable`);
    Object.assign(this, other);
  } else if (other === null) throw new Error("'NoneType' object is not iterable");
  Object.assign(this, kw);
  return null;
}

/**
 * A list's or a dict's method (nunjucks' Jinja compatibility, `method` the one it gives, if any)
 * taking keyword arguments as Python's (pyMethod): none, but dict.update()'s entries. Undefined
 * when `obj` has no such method.
 */
export function collectionMethod(obj: unknown, name: string, method: unknown): ((...a: unknown[]) => unknown) | undefined {
  if (Array.isArray(obj)) {
    // (a tuple has Python's count() and index() only)
    if (isTuple(obj) && name !== 'count' && name !== 'index') return undefined;
    // (sort() takes its keywords itself)
    if (name === 'sort') return LIST_EXTRA.sort.bind(obj);
    if (Object.hasOwn(LIST_EXTRA, name)) return pyMethod('list', name, LIST_EXTRA[name]).bind(obj);
    return typeof method === 'function' && LIST_METHODS.has(name) ? pyMethod('list', name, method as Method<unknown>) : undefined;
  }
  if (hasDictMethods(obj)) {
    if (name === 'update') return dictUpdate.bind(obj as Record<string, unknown>);
    // Python's d.items() pairs are tuples (`('a', 1)` printed; nunjucks' were lists, `['a', 1]`)
    if ((name === 'items' || name === 'iteritems') && typeof method === 'function') {
      const items = pyMethod('dict', name, method as Method<unknown>);
      return function (this: unknown, ...a: unknown[]) {
        const v = items.apply(this, a);
        return Array.isArray(v) ? v.map((pair) => (Array.isArray(pair) ? tuple(pair) : pair)) : v;
      };
    }
    // Python's d.get(key) is None for a key it lacks (nunjucks' gave undefined: `is none` was false)
    if (name === 'get' && typeof method === 'function') {
      const get = pyMethod('dict', name, method as Method<unknown>);
      return function (this: unknown, ...a: unknown[]) {
        const v = get.apply(this, a);
        return v === undefined && a.length === 1 && !isKw(a[0]) ? null : v;
      };
    }
    return typeof method === 'function' && DICT_METHODS.has(name) ? pyMethod('dict', name, method as Method<unknown>) : undefined;
  }
  return undefined;
}

/** The Python methods nunjucks' Jinja compatibility gives a list, with Vigil's (LIST_EXTRA). */
export const LIST_METHODS = new Set(['index', 'count', 'find', ...Object.keys(LIST_EXTRA)]);

/**
 * Whether `key` on `obj` is a member JavaScript gives a list, a string or a dict and Python does
 * not (`l.length`, `s.includes(...)`, `l.push(...)`, `d.constructor`): Jinja's undefined, not
 * JavaScript's value (`'abc'.length` printed 3 where dbt has no such attribute). A list's, a
 * string's or a dict's Python methods are looked up before this is asked.
 */
export function jsOnlyMember(obj: unknown, key: unknown): boolean {
  if (typeof key !== 'string' || /^-?\d+$/.test(key)) return false;
  if (Array.isArray(obj) || typeof obj === 'string') return !(Array.isArray(obj) && Object.hasOwn(obj, key)) || key === 'length';
  return isPlainObject(obj) && !Object.hasOwn(obj, key) && key in obj;
}
/** The Python methods nunjucks' Jinja compatibility gives a dict. */
export const DICT_METHODS = new Set(['items', 'values', 'keys', 'get', 'has_key', 'pop', 'popitem', 'setdefault', 'update', 'iteritems', 'itervalues', 'iterkeys']);

/** A string, or what a macro returns (nunjucks' SafeString), as its text; undefined for anything else. */
export function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  return v instanceof (nunjucks as unknown as { runtime: { SafeString: new (s: string) => object } }).runtime.SafeString ? String(v) : undefined;
}

/** A string's Python methods, a string's slice a string (`'abcdef'[2:]` is 'cdef', not a list of letters), a negative index from the end. */
function pythonStrings(runtime: { memberLookup: (...a: unknown[]) => unknown }): void {
  const memberLookup = runtime.memberLookup;
  runtime.memberLookup = function (this: unknown, ...args: unknown[]) {
    // run_started_at's datetime members (strftime, year...): its text has none of them
    const dt = args.length < 4 ? dateTimeMember(args[0], args[1]) : undefined;
    if (dt !== undefined) return dt;
    // a macro's output is a string too
    if (typeof args[0] !== 'string' && asText(args[0]) !== undefined) args[0] = asText(args[0]);
    // (a string by characters, as its length counts them)
    const astral = args.length < 4 ? astralItem(args[0], args[1]) : undefined;
    // `[1, 2, 3][-1]` is 3, as in Python
    if (args.length < 4) args[1] = pyIndex(args[0], args[1]);
    const [obj, val] = args;
    // (`this.schema`: one of this's parts, not a use of its placeholder)
    const secret = obj instanceof RelationPlaceholder ? undefined : placeholderUsed(obj, args.length === 4 ? 'a slice' : `.${String(val)}`, args.length !== 4 && KEEPING_METHODS.has(String(val)));
    if (secret) throw new Error(secret);
    if (astral) return astral.item;
    // a slice: of a list, a tuple or a string, by ints or none, as Python's (nunjucks' looped forever
    // on a dict, a number, a text bound or a step of 0, and gave none[1:] as [])
    if (args.length === 4) {
      if (!Array.isArray(obj) && typeof obj !== 'string') throw new Error(isPlainObject(obj) ? "TypeError: unhashable type: 'slice' (a dict has no slices)" : `TypeError: '${pyType(obj)}' object is not subscriptable (a list, a tuple or a string has slices)`);
      const bounds = args.slice(1);
      if (bounds.some((b) => b !== null && b !== undefined && typeof b !== 'boolean' && !(typeof b === 'number' && Number.isInteger(b)))) throw new Error('TypeError: slice indices must be integers or None or have an __index__ method');
      if (bounds[2] === 0) throw new Error('ValueError: slice step cannot be zero');
      return pySlice(obj, ...(bounds.map((b) => (b === null || b === undefined ? null : Number(b))) as [number | null, number | null, number | null]));
    }
    // a namespace() has its attributes and nothing else, as Jinja's Namespace: `ns.items` is the
    // attribute named items, not a dict's method (nunjucks gave the method first)
    if (args.length < 4 && isPlainObject(obj) && (obj as Record<symbol, unknown>)[NAMESPACE] === true) return Object.hasOwn(obj, String(val)) ? obj[String(val)] : undefined;
    if (typeof obj === 'string' && args.length < 4 && typeof val === 'string' && Object.hasOwn(STRING_MEMBERS, val)) {
      const f = STRING_MEMBERS[val];
      return (...a: unknown[]) => f.apply(obj, a);
    }
    const r = memberLookup.apply(this, args);
    // a list's or a dict's Python method: keyword arguments as Python takes them
    if (args.length < 4 && typeof val === 'string') {
      const m = collectionMethod(obj, val, r);
      if (m) return m;
      if (jsOnlyMember(obj, val)) return undefined;
    }
    return typeof obj === 'string' && args.length === 4 && Array.isArray(r) ? r.join('') : r;
  };
}

/**
 * Python's `seq[start:stop:step]` of a list, a tuple (a tuple) or a string (a string, by code
 * points): bounds past either end are clamped (nunjucks' gave `[1, 2, 3][:10]` a fourth item, none).
 */
function pySlice(seq: unknown[] | string, start: number | null, stop: number | null, step: number | null): unknown {
  const items: unknown[] = typeof seq === 'string' ? Array.from(seq) : seq;
  const n = items.length;
  const by = step ?? 1;
  const [lower, upper] = by > 0 ? [0, n] : [-1, n - 1];
  const bound = (b: number | null, dflt: number) => (b === null ? dflt : Math.min(Math.max(b < 0 ? b + n : b, lower), upper));
  const out: unknown[] = [];
  for (let i = bound(start, by > 0 ? lower : upper), end = bound(stop, by > 0 ? upper : lower); by > 0 ? i < end : i > end; i += by) out.push(items[i]);
  return typeof seq === 'string' ? out.join('') : isTuple(seq) ? tuple(out) : out;
}

/** The message of an undefined value used where it would silently become something (strictWhereUsed). */
export const UNDEFINED_USE_RE = /^'.+?' is undefined: /;

/** Filters whose point is an absent value: `{{ x | default('y') }}` takes an undefined x. */
export const ABSENCE_FILTERS = new Set(['default', 'd']);

/** Filters that take a none as Jinja does: an absence, or made text or JSON (`'None'`, `null`). */
export const NONE_FILTERS = new Set([...ABSENCE_FILTERS, 'string', 'tojson']);

/** The message of the value `none` used where it would silently become something else, or fail (both renderers). */
export const noneUsed = (expr: string, how: string): string => `'${expr}' is none: ${how} (give it a value with | default('...', true), or test it with \`is none\`)`;
export const NONE_USE_RE = /^'.+?' is none: /;
/** What a none would be: filtered, joined with ~, looped over. */
export const noneFiltered = (filter: string): string => `filter '${filter}' would make something of nothing`;
export const NONE_JOINED = "joined with ~ it would read 'None'";
export const NONE_LOOPED = "a {% for %} over it fails ('NoneType' object is not iterable)";
/** The message of a number or a bool looped over (Python's TypeError; nunjucks looped zero times). */
export const loopedScalar = (expr: string, type: string): string => `'${expr}' is ${type === 'int' ? 'an' : 'a'} ${type}: a {% for %} over it fails ('${type}' object is not iterable)`;

/** Filters that leave a string as it is: a secret's placeholder goes through them. */
const SAME_TEXT_FILTERS = new Set(['default', 'd', 'safe', 'string']);

/** `this` while a model renders: prints as its placeholder, and is one for placeholderUsed(). */
export class RelationPlaceholder {
  /** (dbt's `this` is a Relation: Python's TypeError names it so) */
  readonly [PY_TYPE_NAME] = 'Relation';
  constructor(private readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** ref(), source() and this (and its parts) while a model renders (template-env.ts PLACEHOLDER_RE). */
const RELATION_PLACEHOLDER = /\u27E6(ref|source|this):?([^\u27E7]*)\u27E7/;
/** A value that is one relation placeholder and nothing else (`this.name`, `ref('a')`). */
const RELATION_PLACEHOLDER_WHOLE = /^\u27E6(ref|source|this):?([^\u27E7]*)\u27E7$/;
/** Methods that keep the characters of a placeholder inside longer text. */
export const KEEPING_METHODS = new Set(['strip', 'lstrip', 'rstrip', 'startswith', 'endswith', 'splitlines']);
/** Filters that keep the characters of a placeholder inside longer text (they trim, indent or measure it). */
const KEEPING_FILTERS = new Set(['trim', 'indent', 'length', 'count', 'wordcount']);

/**
 * A placeholder is text that something else replaces later: a secret's env_var() (its value
 * replaces it when the SQL is sent, secrets.ts), ref(), source() and `this` (the relation,
 * known only after every model has rendered). A filter, a method, a slice, a comparison or `in`
 * would act on the placeholder, not on what replaces it: the message of the error, else undefined.
 */
export function placeholderUsed(v: unknown, how: string, keeps = false): string | undefined {
  const s = v instanceof RelationPlaceholder ? v.toString() : asText(v);
  if (s === undefined || !s.includes('\u27E6')) return undefined;
  // text that holds a relation among other text (`{% set q %}select ... from {{ ref('a') }}{% endset %}`):
  // trimmed, measured, compared with other text, it is the SQL it will be (`q | trim`, `q != ''`);
  // only what would change the placeholder's own characters (upper, replace, a slice) is refused
  if (keeps && !hasSecretPlaceholder(s) && !RELATION_PLACEHOLDER_WHOLE.test(s.trim())) return undefined;
  if (hasSecretPlaceholder(s)) {
    const name = secretNames(s)[0];
    return `${how} would change the placeholder of the secret ${name}, not its value (which is put into the SQL only when it runs): transform it in SQL instead, e.g. upper('{{ env_var('${name}') }}')`;
  }
  const m = RELATION_PLACEHOLDER.exec(s);
  if (!m) return undefined;
  const what = m[1] === 'this' ? (m[2] ? `this.${m[2]}` : 'this') : m[1] === 'ref' ? `ref('${m[2]}')` : `source('${m[2].replace('.', "', '")}')`;
  const instead = m[1] === 'this' ? "for the model's own name use model.name" : 'put the relation into the SQL as it is, and compare or transform names as strings';
  return `${how} would see the placeholder of ${what}, not the relation (which Vigil puts in after every model has rendered): ${instead}`;
}

/** The message of placeholderUsed(), for the error's position (template-env.ts). */
export const PLACEHOLDER_USE_RE = / would (?:change|see) the placeholder of /;

/** Whether `filter` would transform a placeholder: the message, else undefined. */
export function placeholderFiltered(v: unknown, filter: string): string | undefined {
  return SAME_TEXT_FILTERS.has(filter) ? undefined : placeholderUsed(v, `filter '${filter}'`, KEEPING_FILTERS.has(filter));
}

/** Python's == on values: lists, tuples and dicts by their items; a whole float equals its int. */
export function pyEqual(a: unknown, b: unknown): boolean {
  // (Jinja's Undefined equals only an Undefined)
  if (a === NO_ELSE || b === NO_ELSE) return a === b;
  a = unbox(a);
  b = unbox(b);
  // (a list equals a list, a tuple a tuple: `(1, 2) == [1, 2]` is false, as in Python)
  if (Array.isArray(a) && Array.isArray(b)) return isTuple(a) === isTuple(b) && a.length === b.length && a.every((x, i) => pyEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && pyEqual(a[k], b[k]));
  }
  // (nor anything else a list or a dict: JavaScript's == said `[] == false`, `[1] == 1` true)
  if (Array.isArray(a) || Array.isArray(b) || isPlainObject(a) || isPlainObject(b)) return false;
  const ta = asText(a);
  const tb = asText(b);
  // (a string never equals a number, as in Python: `1 == '1'` is false; JavaScript's == said true)
  if ((ta === undefined) !== (tb === undefined)) return false;
  // eslint-disable-next-line eqeqeq
  return ta !== undefined && tb !== undefined ? ta === tb : a == b;
}

/**
 * A comparison (`==`, `<`, ...), refused on a placeholder (placeholderUsed). Where `python` (a
 * Jinja environment's: models'), `<`, `>`, `<=`, `>=` order as Python's (numbers, strings, lists
 * item by item) and refuse anything else with Python's TypeError (`none < 1`, `'10' > 7`:
 * JavaScript's said true); alert templates keep JavaScript's (a row's number may arrive as text).
 */
export function compareValues(a: unknown, op: string, b: unknown, python = true): boolean {
  const p = placeholderUsed(a, `comparing with ${op}`, true) ?? placeholderUsed(b, `comparing with ${op}`, true);
  if (p) throw new Error(p);
  const x = unbox(a) as number;
  const y = unbox(b) as number;
  if (python && ['<', '>', '<=', '>='].includes(op)) {
    let c: number;
    try {
      c = pyCompare(a === NO_ELSE ? undefined : a, b === NO_ELSE ? undefined : b);
    } catch (e) {
      throw new Error(e instanceof Error ? e.message.replace("'<'", `'${op}'`) : String(e));
    }
    return op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0;
  }
  switch (op) {
    case '==': return pyEqual(x, y);
    case '!=': return !pyEqual(x, y);
    case '===': return x === y;
    case '!==': return x !== y;
    case '<': return x < y;
    case '>': return x > y;
    case '<=': return x <= y;
    case '>=': return x >= y;
    default: throw new Error(`unknown comparison ${op}`);
  }
}

/** Python's `in`: an item of a list or tuple, a key of a dict, a part of a string; refused on a placeholder. */
export function inOperator(key: unknown, coll: unknown): boolean {
  const p = placeholderUsed(key, "'in'", true) ?? placeholderUsed(coll, "'in'", true);
  if (p) throw new Error(p);
  const text = asText(coll);
  if (text !== undefined) return text.includes(String(asText(key) ?? unbox(key)));
  if (Array.isArray(coll)) return coll.some((x) => pyEqual(x, key));
  if (coll && typeof coll === 'object') return String(unbox(key)) in coll;
  // (Python's TypeError; Jinja's Undefined holds nothing)
  if (coll === NO_ELSE) return false;
  throw new Error(`argument of type '${pyType(coll)}' is not iterable`);
}

/**
 * An undefined value where it would turn into something else without a word: looped over
 * (zero times), filtered (`| upper` gives ''), joined with `~` ('c_undefined') or tested by a
 * bare `{% if %}` (false). Printing one is checked already (throwOnUndefined, ensureDefined);
 * these are checked by the code nunjucks compiles for them: the expression's value goes through
 * `runtime.vigilDefined`, which throws at the expression's position, in an environment with
 * throwOnUndefined (models'). Vigil's fast renderer (fast-render.ts) is strict in the same places.
 */
function strictWhereUsed(TemplateError: new (message: string, lineno: number, colno: number) => Error): void {
  type Node = { typename: string; lineno: number; colno: number; [k: string]: unknown };
  const n = nunjucks as unknown as { compiler: { Compiler: { prototype: { compile(node: Node, frame: unknown): void; _emit(code: string): void } } }; runtime: Record<string, unknown> };
  n.runtime.vigilDefined = (env: { opts?: { throwOnUndefined?: boolean } }, v: unknown, expr: string, why: string, lineno: number, colno: number, declared?: boolean, none?: string) => {
    // none, declared or not, where it would become something else (`none` names the use)
    if (none && v === null && env?.opts?.throwOnUndefined) throw new TemplateError(noneUsed(expr, none), lineno + 1, colno + 1);
    // a name the template declares (a macro's parameter not passed, a {% set %} in a branch not
    // taken, a loop variable) may be undefined, as in dbt's Jinja; an unknown name may not
    if (declared) return v;
    // only where the environment is strict (models); alert templates test and show absent
    // labels their own way (alerts/engine.ts). 1-based positions, as the other checks' (a 0
    // would be taken for "no position")
    if (v === undefined && env?.opts?.throwOnUndefined) throw new TemplateError(`'${expr}' is undefined: ${why}`, lineno + 1, colno + 1);
    return v;
  };
  // a function tested by {% if %} is always true (`{% if is_incremental %}`: the incremental
  // filter applied on a --full-refresh too); Jinja's too, which makes it a silent mistake there
  n.runtime.vigilCondition = (env: { opts?: { throwOnUndefined?: boolean } }, v: unknown, expr: string, why: string, lineno: number, colno: number, declared?: boolean) => {
    if (typeof v === 'function' && !declared && expr !== 'caller') throw new TemplateError(testedFunction(expr), lineno + 1, colno + 1);
    return why ? (n.runtime.vigilDefined as (...a: unknown[]) => unknown)(env, v, expr, why, lineno, colno, declared) : v;
  };
  n.runtime.vigilFilterInput = (env: { opts?: { throwOnUndefined?: boolean } }, v: unknown, expr: string, filter: string, lineno: number, colno: number, declared?: boolean) => {
    const secret = placeholderFiltered(v, filter);
    if (secret) throw new TemplateError(secret, lineno + 1, colno + 1);
    if (ABSENCE_FILTERS.has(filter)) return v;
    // (Jinja's Undefined of an inline if without else: the other filters take it as '', as Jinja's do)
    if (v === NO_ELSE) return '';
    return (n.runtime.vigilDefined as (...a: unknown[]) => unknown)(env, v, expr, `${noneFiltered(filter)} (| default(...) gives a value when there is none)`, lineno, colno, declared, NONE_FILTERS.has(filter) ? undefined : noneFiltered(filter));
  };
  // a number or a bool looped over: Python's TypeError where models render (nunjucks looped zero
  // times); alert templates keep nunjucks' loop
  const iterable = (a: unknown[]) => {
    const v = (n.runtime.vigilDefined as (...a: unknown[]) => unknown)(...a);
    const [env, , expr, , lineno, colno] = a as [object, unknown, string, string, number, number];
    if ((typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat) && JINJA_ENVIRONMENTS.has(env)) throw new TemplateError(loopedScalar(expr, pyType(v)), lineno + 1, colno + 1);
    return v;
  };
  n.runtime.vigilLoop = (...a: unknown[]) => {
    const v = iterable(a);
    // (a string by characters, as its length counts them: nunjucks went by UTF-16 units, an emoji two halves)
    return isPlainObject(v) ? Object.keys(v) : typeof v === 'string' && hasAstral(v) ? [...v] : v;
  };
  // (two or more loop variables: each item unpacked, a dict's items its keys and a string's its
  // characters, as Jinja's; nunjucks gave a dict's key and value, and a string's index and character)
  n.runtime.vigilLoopPairs = (...a: unknown[]) => {
    const v = iterable(a);
    if (!JINJA_ENVIRONMENTS.has(a[0] as object)) return v;
    return isPlainObject(v) ? Object.keys(v) : asText(v) !== undefined ? [...asText(v)!] : v;
  };
  /** the expressions to check, each with the runtime function that checks it and what it tells it */
  const strict = new WeakMap<object, { check: 'vigilDefined' | 'vigilFilterInput' | 'vigilCondition' | 'vigilLoop' | 'vigilLoopPairs'; arg: string; none?: string }>();
  const defined = (why: string, none?: string) => ({ check: 'vigilDefined' as const, arg: why, none });
  const proto = n.compiler.Compiler.prototype;
  const compile = proto.compile;
  proto.compile = function (node: Node, frame: unknown) {
    const mark = node && strict.get(node);
    if (node?.typename === 'KeywordArgs') {
      const twice = repeatedKeywordIn(node);
      if (twice) throw new TemplateError(repeatedKeyword(twice.key), twice.node.lineno + 1, twice.node.colno + 1);
    }
    if (mark === undefined) {
      // (one loop variable over a dict: its keys, as in Jinja; nunjucks looped zero times)
      if (node?.typename === 'For' || node?.typename === 'AsyncEach' || node?.typename === 'AsyncAll') strict.set(node.arr as object, { check: (node.name as Node).typename === 'Symbol' ? 'vigilLoop' : 'vigilLoopPairs', arg: 'a {% for %} over it would loop zero times', none: NONE_LOOPED });
      else if (node?.typename === 'Filter') {
        const input = ((node.args as Node).children as Node[])[0];
        if (input) strict.set(input, { check: 'vigilFilterInput', arg: String((node.name as Node).value) });
      } else if (ARITHMETIC_NODES.has(node?.typename)) {
        const why = defined(`an operand of ${ARITHMETIC_NODES.get(node.typename)} (Jinja refuses arithmetic on an undefined value)`);
        strict.set(node.left as object, why);
        strict.set(node.right as object, why);
      } else if (node?.typename === 'Dict') {
        // a dict's key is an expression (pythonSyntax): an undefined name as a key is an error
        for (const p of node.children as Node[]) {
          const key = p.key as Node;
          if (!(key.typename === 'Literal' && typeof key.value === 'string')) strict.set(key, defined("a dict's key"));
        }
      } else if (node?.typename === 'Neg') {
        strict.set(node.target as object, defined('negated (Jinja refuses arithmetic on an undefined value)'));
      } else if (node?.typename === 'Compare' || node?.typename === 'In') {
        // an unknown name or attribute compared (`target.nmae == 'prod'`) or tested with `in`: an
        // error, as on the fast path (it was silently false: the other branch built); a name the
        // template declares (a macro's parameter not passed) and `loop.previtem` may be undefined
        const operands = node.typename === 'In' ? [node.left, node.right] : [node.expr, ...(node.ops as Node[]).map((o) => o.expr)];
        for (const o of operands as Node[]) {
          let root: Node | undefined = o;
          while (root?.typename === 'LookupVal') root = root.target as Node;
          if (root?.typename === 'Symbol' && root.value !== 'loop' && !strict.has(o)) strict.set(o, defined(`${node.typename === 'In' ? "'in'" : 'a comparison'} would take it as undefined (test it with \`is defined\`, or give it a value with | default(...))`));
        }
      } else if (node?.typename === 'Concat') {
        strict.set(node.left as object, defined("joined with ~ it would read 'undefined'", NONE_JOINED));
        strict.set(node.right as object, defined("joined with ~ it would read 'undefined'", NONE_JOINED));
      } else if (node?.typename === 'If' || node?.typename === 'IfAsync' || node?.typename === 'InlineIf') {
        const cond = node.cond as Node;
        // a bare name: defined, and not a function; one under not/and/or: not a function
        if (node.typename !== 'InlineIf' && (cond.typename === 'Symbol' || cond.typename === 'LookupVal')) strict.set(cond, { check: 'vigilCondition', arg: '{% if %} would take it as false (test it with `is defined`)' });
        else for (const o of conditionOperands(cond)) strict.set(o, { check: 'vigilCondition', arg: '' });
      } else if (node?.typename === 'Not' || node?.typename === 'And' || node?.typename === 'Or') {
        // an operand under not/and/or: defined (it would be taken as false), as on the fast path;
        // `x is defined and x` and `x | default(...)` are no bare operands, and the right one of
        // and/or is evaluated only when it decides (pythonTruth)
        const why = `${node.typename === 'Not' ? '`not`' : `\`${node.typename.toLowerCase()}\``} would take it as false (test it with \`is defined\`, or give it a value with | default(...))`;
        for (const o of conditionOperands(node)) {
          const m = strict.get(o);
          if (!m) strict.set(o, defined(why));
          else if (m.check === 'vigilCondition' && !m.arg) m.arg = why;
        }
      }
      return compile.call(this, node, frame);
    }
    strict.delete(node);
    // the expression's root name, declared in the template (compiler frame): lenient
    let root: Node | undefined = node;
    while (root && root.typename === 'LookupVal') root = root.target as Node;
    const declared = root?.typename === 'Symbol' && !!(frame as { lookup?(name: string): unknown } | undefined)?.lookup?.(String(root.value));
    this._emit(`runtime.${mark.check}(env, `);
    compile.call(this, node, frame);
    const start = exprStart(node);
    this._emit(`, ${JSON.stringify(exprText(node))}, ${JSON.stringify(mark.arg)}, ${start.lineno}, ${start.colno}, ${declared}${mark.none ? `, ${JSON.stringify(mark.none)}` : ''})`);
  };
}

type CompilerNode = { typename: string; lineno: number; colno: number; [k: string]: unknown };
type CompileFrame = { variables: Record<string, unknown>; parent?: CompileFrame; isolateWrites?: boolean; lookup(name: string): unknown; push(isolate?: boolean): CompileFrame };
type CompilerProto = { compile(n: unknown, f: unknown): void; _emit(code: string): void; _emitLine(code: string): void; [k: string]: unknown };
const nunjucksInternals = () =>
  nunjucks as unknown as { compiler: { Compiler: { prototype: CompilerProto } }; runtime: Record<string, unknown> };

/** The node of `{% break %}` / `{% continue %}` (LoopControlExtension). */
const LOOP_CONTROL = 'VigilLoopControl';
/** The node, last in the body of a loop with an {% else %} and loop controls, that says an iteration got to its end. */
const ITERATED = 'VigilIterated';
/** The loops with an {% else %} and a loop control of their own. */
const ELSE_AFTER_CONTROL = new WeakSet<object>();

/**
 * `{% break %}` and `{% continue %}`, as dbt has them (Jinja's loopcontrols extension): compiled
 * to JavaScript's, inside the loop nunjucks compiles a `{% for %}` into (each iteration starts
 * from the loop's own variables: loopScopes). One outside the body of a loop — in none, in a
 * loop's `{% else %}`, or in a macro, call, filter or set block inside the loop, which nunjucks
 * compiles into a function of its own — is an error at the tag (Jinja refuses the first three:
 * "'break' outside loop"). The fast renderer leaves every loop to nunjucks.
 */
function loopControls(): void {
  const { compiler } = nunjucksInternals();
  const C = compiler.Compiler.prototype;
  C[`compile${LOOP_CONTROL}`] = function (this: CompilerProto, node: CompilerNode) {
    this._emitLine(`${String(node.kind)};`);
  };
  // a loop's {% else %} runs, in Jinja, when no iteration got to the end of the body (its flag is
  // set there: one a loop control cut short does not count); nunjucks' when the sequence is empty
  C[`compile${ITERATED}`] = function (this: CompilerProto, node: CompilerNode) {
    this._emitLine(`${String(node.flag)} = true;`);
  };
  type ForCompiler = CompilerProto & { codebuf: string[]; _tmpid(): string };
  const compileFor = C.compileFor as (this: ForCompiler, node: CompilerNode, frame: unknown) => void;
  C.compileFor = function (this: ForCompiler, node: CompilerNode, frame: unknown) {
    if (!node.else_ || !ELSE_AFTER_CONTROL.has(node)) return compileFor.call(this, node, frame);
    const flag = this._tmpid();
    this._emitLine(`var ${flag} = false;`);
    const body = node.body as { children: unknown[] };
    body.children.push({ typename: ITERATED, flag, lineno: node.lineno, colno: node.colno });
    // (compileFor's second temporary is the length its else tests: `if (!t_3) {`)
    const tmpid = C._tmpid as () => string;
    let taken = 0;
    let len: string | undefined;
    this._tmpid = function (this: ForCompiler) {
      const id = tmpid.call(this);
      if (++taken === 2) {
        len = id;
        delete (this as Partial<ForCompiler>)._tmpid;
      }
      return id;
    };
    const start = this.codebuf.length;
    try {
      compileFor.call(this, node, frame);
    } finally {
      body.children.pop();
      if (Object.hasOwn(this, '_tmpid')) delete (this as Partial<ForCompiler>)._tmpid;
    }
    const at = this.codebuf.indexOf(`if (!${len}) {\n`, start);
    if (at < 0) throw new Error('internal: the {% else %} of a loop with {% break %} or {% continue %} was not found in its code');
    this.codebuf[at] = `if (!${flag}) {\n`;
  };
  // `{% for a, b in rows %}`: each item unpacked as Python's, into exactly that many names (nunjucks
  // took its first items: `[1, 2, 3]` gave a 1, b 2, where Jinja says "too many values to unpack")
  const compileForUnpacked = C.compileFor as (this: ForCompiler, node: CompilerNode, frame: unknown) => void;
  C.compileFor = function (this: ForCompiler, node: CompilerNode, frame: unknown) {
    const names = node.name as CompilerNode & { children?: unknown[] };
    const self = this as unknown as { _emitLine(code: string): void };
    if (names?.typename !== 'Array' || !names.children) return compileForUnpacked.call(this, node, frame);
    const emitLine = self._emitLine;
    let item: string | undefined;
    let bound = 0;
    self._emitLine = function (this: unknown, code: string) {
      // (each name bound: the body's lines are emitted as they are, not matched)
      if (bound === names.children!.length) return emitLine.call(this, code);
      const m = /^var (\w+) = (\w+\[\w+\])\[(\d+)\];$/.exec(code);
      if (m) {
        item = m[1];
        return emitLine.call(this, `var ${m[1]} = runtime.vigilUnpack(${names.children!.length}, ${node.lineno}, ${node.colno}, ${m[2]})[${m[3]}];`);
      }
      const set = item === undefined ? null : /^frame\.set\((.*), \w+\[\w+\]\[\d+\]\);$/.exec(code);
      if (!set) return emitLine.call(this, code);
      bound++;
      return emitLine.call(this, `frame.set(${set[1]}, ${item});`);
    };
    try {
      compileForUnpacked.call(this, node, frame);
    } finally {
      self._emitLine = emitLine;
    }
  };
  type Parser = { vigilLoopControls?: CompilerNode[]; fail(m: string, l?: number, c?: number): never; [k: string]: unknown };
  const P = (nunjucks as unknown as { parser: { Parser: { prototype: Parser } } }).parser.Parser.prototype;
  const parseAsRoot = P.parseAsRoot as (this: Parser) => CompilerNode;
  P.parseAsRoot = function (this: Parser) {
    const root = parseAsRoot.call(this);
    if (!this.vigilLoopControls?.length) return root;
    // the loop controls in a loop's body, through {% if %}s only
    const inLoop = new Set<unknown>();
    /** (`loop`: the innermost loop whose body `n` is in, through {% if %}s only) */
    const walk = (n: unknown, loop: CompilerNode | undefined): void => {
      if (Array.isArray(n)) return n.forEach((x) => walk(x, loop));
      if (!n || typeof n !== 'object' || typeof (n as CompilerNode).typename !== 'string') return;
      const node = n as CompilerNode & { fields: string[] };
      if (node.typename === LOOP_CONTROL) {
        if (loop) inLoop.add(node);
        if (loop?.else_) ELSE_AFTER_CONTROL.add(loop);
        return;
      }
      const through = ['Root', 'NodeList', 'If', 'Output', WITH_BLOCK].includes(node.typename);
      for (const f of node.fields) walk(node[f], node.typename === 'For' && f === 'body' ? node : node.typename === 'For' && f === 'else_' ? loop : through ? loop : undefined);
    };
    walk(root, undefined);
    const stray = this.vigilLoopControls.find((c) => !inLoop.has(c));
    if (stray) {
      this.fail(
        `{% ${String(stray.kind)} %} outside a loop: it goes in the body of a {% for %} (inside {% if %}s there), not in its {% else %}, nor in a macro, call, filter or set block`,
        stray.lineno,
        stray.colno,
      );
    }
    return root;
  };
}

/** Jinja's loopcontrols extension (dbt enables it): `{% break %}` and `{% continue %}` (loopControls). */
type LoopControlClass = new (l: number, c: number, kind: string) => CompilerNode;
let loopControlClass: LoopControlClass | undefined;
function addLoopControls(env: nunjucks.Environment): void {
  const nodes = (nunjucks as unknown as { nodes: { Node: { extend(name: string, props: { fields: string[] }): LoopControlClass } } }).nodes;
  const LoopControl = (loopControlClass ??= nodes.Node.extend(LOOP_CONTROL, { fields: ['kind'] }));
  env.addExtension('LoopControlExtension', {
    [JINJA_MARK]: true,
    tags: ['break', 'continue'],
    parse(parser: { nextToken(): { value: string; lineno: number; colno: number }; advanceAfterBlockEnd(v: string): void; vigilLoopControls?: CompilerNode[] }) {
      const tok = parser.nextToken();
      parser.advanceAfterBlockEnd(tok.value);
      const node = new LoopControl(tok.lineno, tok.colno, tok.value);
      (parser.vigilLoopControls ??= []).push(node);
      return node;
    },
  } as unknown as nunjucks.Extension);
}

/** The node of `{% with %}...{% endwith %}` (WithExtension). */
const WITH_BLOCK = 'VigilWith';
type WithClass = new (l: number, c: number, targets: CompilerNode[], values: CompilerNode[], body: unknown) => CompilerNode;
let withClass: WithClass | undefined;

/**
 * Jinja's `{% with a = 1, b = x %}...{% endwith %}` (built into Jinja 2.9+; nunjucks has no such
 * tag: "unknown block tag: with"): a scope of its own. Each value is evaluated outside it (`b = a`
 * reads the `a` from outside, not the one the tag sets), and what the body sets, the tag's names
 * and any `{% set %}`, is gone after `{% endwith %}`. The fast renderer leaves it to nunjucks.
 */
function withBlocks(): void {
  const { compiler } = nunjucksInternals();
  const C = compiler.Compiler.prototype as CompilerProto & { _tmpid(): string; _compileExpression(n: unknown, f: unknown): void; _withScopedSyntax(f: () => void): void };
  C[`compile${WITH_BLOCK}`] = function (this: typeof C, node: CompilerNode, frame: CompileFrame) {
    const targets = node.targets as CompilerNode[];
    const ids = targets.map(() => this._tmpid());
    (node.values as CompilerNode[]).forEach((v, i) => {
      this._emit(`var ${ids[i]} = `);
      this._compileExpression(v, frame);
      this._emitLine(';');
    });
    // (in a try: a {% break %} in the body leaves the scope too)
    this._emitLine('frame = frame.push(true);');
    this._emitLine('try {');
    const inner = frame.push(true);
    targets.forEach((t, i) => {
      this._emitLine(`frame.set(${JSON.stringify(String(t.value))}, ${ids[i]});`);
      (inner as unknown as { set(n: string, v: string): void }).set(String(t.value), ids[i]);
    });
    this._withScopedSyntax(() => this.compile(node.body, inner));
    this._emitLine('} finally { frame = frame.pop(); }');
  };
}

function addWithBlocks(env: nunjucks.Environment): void {
  const nodes = (nunjucks as unknown as { nodes: { Node: { extend(name: string, props: { fields: string[] }): WithClass } } }).nodes;
  const With = (withClass ??= nodes.Node.extend(WITH_BLOCK, { fields: ['targets', 'values', 'body'] }));
  type Tok = { type: string; value: string; lineno: number; colno: number };
  env.addExtension('WithExtension', {
    [JINJA_MARK]: true,
    tags: ['with'],
    parse(parser: { nextToken(): Tok; peekToken(): Tok; parsePrimary(): CompilerNode; parseExpression(): CompilerNode; skip(type: string): boolean; skipValue(type: string, v: string): boolean; fail(m: string, l?: number, c?: number): never; advanceAfterBlockEnd(v?: string): void; parseUntilBlocks(...names: string[]): unknown }) {
      const tok = parser.nextToken();
      const targets: CompilerNode[] = [];
      const values: CompilerNode[] = [];
      while (parser.peekToken().type !== 'block-end') {
        if (targets.length && !parser.skip('comma')) {
          const at = parser.peekToken();
          parser.fail("expected ',' between a {% with %}'s assignments ({% with a = 1, b = 2 %})", at.lineno, at.colno);
        }
        const target = parser.parsePrimary();
        if (target.typename !== 'Symbol') parser.fail("a {% with %} assigns names (`{% with a = 1, b = x %}`); unpacking (`a, b = pair`) or an attribute is not supported there: write {% set a, b = pair %} inside it", target.lineno, target.colno);
        if (!parser.skipValue('operator', '=')) {
          const at = parser.peekToken();
          parser.fail(`expected '=' after '${String(target.value)}' in {% with %} ({% with ${String(target.value)} = ... %})`, at.lineno, at.colno);
        }
        targets.push(target);
        values.push(parser.parseExpression());
      }
      parser.advanceAfterBlockEnd(tok.value);
      const body = parser.parseUntilBlocks('endwith');
      parser.advanceAfterBlockEnd();
      return new With(tok.lineno, tok.colno, targets, values, body);
    },
  } as unknown as nunjucks.Extension);
}

/**
 * Python's truth (py-values.ts pyTruth) where nunjucks compiles JavaScript's: the condition of an
 * `{% if %}`/`{% elif %}` and of an inline if, `not`, and `and`/`or`, which give one of their
 * operands as Python's do (`cols or ['x']` is `['x']` when cols is empty), the right one
 * evaluated only when it decides. The loop filter is an `{% if %}` (rewriteLoopFilters); the
 * filters and tests that take a truth use pyTruth too. Both renderers (fast-render.ts).
 */
function pythonTruth(): void {
  const { compiler, runtime } = nunjucksInternals();
  const C = compiler.Compiler.prototype;
  runtime.vigilTruth = pyTruth;
  runtime.vigilAnd = (a: unknown, b: () => unknown) => (pyTruth(a) ? b() : a);
  runtime.vigilOr = (a: unknown, b: () => unknown) => (pyTruth(a) ? a : b());
  const conditions = new WeakSet<object>();
  const compile = C.compile;
  C.compile = function (this: CompilerProto, node: unknown, frame: unknown) {
    const n = node as CompilerNode | undefined;
    if (n && (n.typename === 'If' || n.typename === 'IfAsync' || n.typename === 'InlineIf') && n.cond) conditions.add(n.cond as object);
    if (!n || !conditions.has(n)) return compile.call(this, node, frame);
    conditions.delete(n);
    this._emit('runtime.vigilTruth(');
    compile.call(this, node, frame);
    this._emit(')');
  };
  C.compileNot = function (this: CompilerProto, node: CompilerNode, frame: unknown) {
    this._emit('!runtime.vigilTruth(');
    this.compile(node.target, frame);
    this._emit(')');
  };
  for (const [method, fn] of [['compileAnd', 'vigilAnd'], ['compileOr', 'vigilOr']]) {
    C[method] = function (this: CompilerProto, node: CompilerNode, frame: unknown) {
      this._emit(`runtime.${fn}(`);
      this.compile(node.left, frame);
      this._emit(', () => (');
      this.compile(node.right, frame);
      this._emit('))');
    };
  }
}

/**
 * Jinja's scope of a loop body: a `{% set %}` in a `{% for %}` sets the loop's own variable. Each
 * iteration starts with the value from outside the loop (until it sets its own), and after the
 * loop the outside value is as it was (`{% set total = 0 %}{% for x in xs %}{% set total = total
 * + x %}{% endfor %}` leaves total 0, as in Jinja: namespace() carries a value out). nunjucks
 * wrote through to the enclosing scope. An `{% if %}` makes no scope, in Jinja and here.
 */
function loopScopes(): void {
  const { compiler, runtime } = nunjucksInternals();
  const C = compiler.Compiler.prototype;
  // only a template of a Jinja environment (addJinjaCompat: models, macros, tests) is scoped so;
  // alert templates (alerts/engine.ts) keep nunjucks' scoping, which docs/alerts.md describes.
  // The compile is synchronous: the flag holds for the template being compiled
  const compileTemplateSource = (compiler as unknown as { compile: (...a: unknown[]) => unknown }).compile;
  (compiler as unknown as { compile: (...a: unknown[]) => unknown }).compile = function (this: unknown, ...args: unknown[]) {
    const was = jinjaScoping;
    jinjaScoping = Array.isArray(args[2]) && args[2].some((e) => !!e && typeof e === 'object' && JINJA_MARK in e);
    try {
      return compileTemplateSource.apply(this, args);
    } finally {
      jinjaScoping = was;
    }
  };
  // the loop's frame, at run time and at compile time, takes the writes of its body
  const isolated = (original: (this: CompilerProto, ...a: unknown[]) => void) =>
    function (this: CompilerProto, node: unknown, frame: CompileFrame, ...rest: unknown[]) {
      if (!jinjaScoping) return original.call(this, node, frame, ...rest);
      const emitLine = this._emitLine;
      let pushed = false;
      this._emitLine = function (this: CompilerProto, line: string) {
        if (!pushed && line === 'frame = frame.push();') {
          pushed = true;
          line = 'frame = frame.push(true);';
        }
        return emitLine.call(this, line);
      };
      const push = frame.push;
      frame.push = function (this: CompileFrame) {
        frame.push = push;
        return push.call(this, true);
      };
      try {
        original.call(this, node, frame, ...rest);
      } finally {
        this._emitLine = emitLine;
        if (Object.hasOwn(frame, 'push')) delete (frame as Partial<CompileFrame>).push;
      }
    };
  C.compileFor = isolated(C.compileFor as (this: CompilerProto, ...a: unknown[]) => void);
  C._compileAsyncLoop = isolated(C._compileAsyncLoop as (this: CompilerProto, ...a: unknown[]) => void);
  // each iteration: the loop's variables only (what the last one set is gone)
  runtime.vigilIteration = (frame: { variables: Record<string, unknown> }, names: string[]) => {
    for (const k of Object.keys(frame.variables)) if (!names.includes(k)) delete frame.variables[k];
  };
  const bindings = C._emitLoopBindings as (this: CompilerProto, node: CompilerNode, ...a: unknown[]) => void;
  C._emitLoopBindings = function (this: CompilerProto, node: CompilerNode, ...rest: unknown[]) {
    if (!jinjaScoping) return bindings.call(this, node, ...rest);
    const target = node.name as CompilerNode;
    const names = target.typename === 'Array' ? (target.children as CompilerNode[]).map((c) => String(c.value)) : [String(target.value)];
    this._emitLine(`runtime.vigilIteration(frame, ${JSON.stringify(names)});`);
    bindings.call(this, node, ...rest);
    const [arr, i, len] = rest as [string, string, string];
    this._emitLine(`runtime.vigilLoopAttributes(frame, ${arr}, ${i}, ${len});`);
  };
  // Jinja's loop attributes nunjucks lacks: previtem / nextitem (undefined at the ends), cycle(),
  // changed(), depth / depth0 (1 / 0: a loop is never recursive here). The state of changed() is
  // the loop's frame's, which each run of the loop pushes anew
  const LOOP_STATE = Symbol('loopState');
  runtime.vigilLoopAttributes = (frame: { set(name: string, v: unknown): void; [LOOP_STATE]?: { items: ArrayLike<unknown>; last?: unknown[] } }, arr: unknown, i: number, len: number) => {
    const state: { items: ArrayLike<unknown>; last?: unknown[] } = (frame[LOOP_STATE] ??= { items: Array.isArray(arr) || typeof arr === 'string' ? arr : Object.entries(arr as object).map((e) => tuple(e)) });
    frame.set('loop.previtem', i > 0 ? state.items[i - 1] : undefined);
    frame.set('loop.nextitem', i < len - 1 ? state.items[i + 1] : undefined);
    frame.set('loop.depth', 1);
    frame.set('loop.depth0', 0);
    frame.set('loop.cycle', (...raw: unknown[]) => {
      const [args] = kwargs(raw);
      if (!args.length) throw new Error('loop.cycle(): no items for cycling given');
      return args[i % args.length];
    });
    frame.set('loop.changed', (...raw: unknown[]) => {
      const [values] = kwargs(raw);
      if (state.last && pyEqual(state.last, values)) return false;
      state.last = values;
      return true;
    });
  };
  // `{% for x in tree recursive %}` (with `loop(x.children)`): not supported, said at the word
  // (nunjucks said "expected block end in for statement")
  type Parser = { peekToken(): { type: string; value: string; lineno: number; colno: number } | null; fail(m: string, l?: number, c?: number): never; [k: string]: unknown };
  const P = (nunjucks as unknown as { parser: { Parser: { prototype: Parser } } }).parser.Parser.prototype;
  const advanceAfterBlockEnd = P.advanceAfterBlockEnd as (this: Parser, name?: string) => unknown;
  P.advanceAfterBlockEnd = function (this: Parser, name?: string) {
    const tok = name === 'for' ? this.peekToken() : null;
    if (tok && tok.type === 'symbol' && tok.value === 'recursive') this.fail(RECURSIVE_LOOP, tok.lineno, tok.colno);
    return advanceAfterBlockEnd.call(this, name);
  };
  // `{% for a, (b, c) in rows %}`: a target that is not a name (Jinja unpacks it; nunjucks' compiler
  // failed with JavaScript's TypeError, at no line), said at it
  const parseFor = P.parseFor as (this: Parser) => { name?: { typename?: string; children?: Array<{ typename: string; lineno: number; colno: number }> } };
  P.parseFor = function (this: Parser) {
    const node = parseFor.call(this);
    const bad = node.name?.typename === 'Array' ? node.name.children?.find((c) => c.typename !== 'Symbol') : undefined;
    if (bad) this.fail(NESTED_LOOP_TARGET, bad.lineno, bad.colno);
    return node;
  };
  // `{% raw -%}`, `{%- endraw %}`: Jinja's whitespace control at the raw block's text (nunjucks
  // found no end in `{%- endraw %}`: "unknown block tag: endraw"). As Jinja's, the first endraw
  // ends it: a raw block does not nest (`{% raw %}` inside is text; nunjucks counted levels)
  type RawTokens = { _extractRegex(re: RegExp): RegExpMatchArray | null };
  type Nodes = { Output: new (l: number, c: number, children: unknown[]) => unknown; TemplateData: new (l: number, c: number, v: string) => unknown };
  const rawNodes = (nunjucks as unknown as { nodes: Nodes }).nodes;
  P.parseRaw = function (this: Parser & { tokens: RawTokens; dropLeadingWhitespace: boolean }, tagName = 'raw') {
    const end = `end${tagName}`;
    const begun = (this.advanceAfterBlockEnd as () => { lineno: number; colno: number })();
    const trimStart = this.dropLeadingWhitespace;
    const m = this.tokens._extractRegex(new RegExp(`([\\s\\S]*?)\\{%([-+]?)\\s*${end}\\s*(-?)%\\}`));
    if (!m) this.fail(`{% ${tagName} %} is not closed: no {% ${end} %} after it`, begun.lineno, begun.colno);
    const [, before, trimBefore, trimAfter] = m;
    let text = trimBefore === '-' ? before.replace(/\s+$/, '') : before;
    if (trimStart) text = text.replace(/^\s+/, '');
    this.dropLeadingWhitespace = trimAfter === '-';
    return new rawNodes.Output(begun.lineno, begun.colno, [new rawNodes.TemplateData(begun.lineno, begun.colno, text)]);
  };
  // `row['items']` is the dict's item, `row.items` its method (Jinja's getitem and getattr): a
  // lookup written in brackets is marked when parsed, and compiled to vigilItemLookup (nunjucks
  // compiled both to memberLookup, which gave the method: `row['values']` was a function)
  const bracketed = new WeakSet<object>();
  const parseAggregate = P.parseAggregate as (this: Parser) => { children: object[] };
  P.parseAggregate = function (this: Parser) {
    const agg = parseAggregate.call(this);
    if (agg?.children?.length === 1) bracketed.add(agg.children[0]);
    return agg;
  };
  const parsePostfix = P.parsePostfix as (this: Parser, node: object) => object;
  P.parsePostfix = function (this: Parser, start: object) {
    const node = parsePostfix.call(this, start);
    for (let n = node as { typename?: string; val?: object; target?: object; vigilItem?: boolean }; n && n !== start; n = n.typename === 'LookupVal' || n.typename === 'FunCall' ? ((n.typename === 'LookupVal' ? n.target : (n as { name?: object }).name) as typeof n) : (undefined as unknown as typeof n)) {
      if (n.typename === 'LookupVal' && n.val && bracketed.has(n.val)) n.vigilItem = true;
    }
    return node;
  };
  const compileLookupVal = C.compileLookupVal as (this: CompilerProto, node: CompilerNode, frame: CompileFrame) => void;
  // (a slice's error, Python's, at the slice: a lookup is no call, and nunjucks placed an error
  // thrown there at the template's last call, or at line 1, column 0)
  C.compileLookupVal = function (this: CompilerProto, node: CompilerNode, frame: CompileFrame) {
    const slice = (node.val as CompilerNode | undefined)?.typename === 'Slice';
    if (!(node as { vigilItem?: boolean }).vigilItem && !slice) return compileLookupVal.call(this, node, frame);
    const emit = this._emit as (this: CompilerProto, code: string) => void;
    let first = true;
    this._emit = function (this: CompilerProto, code: string) {
      if (first && code === 'runtime.memberLookup((') {
        first = false;
        return emit.call(this, slice ? `runtime.vigilSlice(${node.lineno}, ${node.colno}, (` : 'runtime.vigilItemLookup((');
      }
      return emit.call(this, code);
    };
    try {
      compileLookupVal.call(this, node, frame);
    } finally {
      this._emit = emit;
    }
  };
  const SliceError = (nunjucks as unknown as { lib: { TemplateError: new (m: string, l: number, c: number) => Error } }).lib.TemplateError;
  runtime.vigilSlice = function (this: unknown, lineno: number, colno: number, ...args: unknown[]) {
    try {
      return (runtime.memberLookup as (...a: unknown[]) => unknown).apply(this, args);
    } catch (e) {
      throw new SliceError(e instanceof Error ? e.message : String(e), lineno + 1, colno + 1);
    }
  };
  runtime.vigilItemLookup = function (this: unknown, ...args: unknown[]) {
    const [obj, key] = args;
    if (args.length === 2 && typeof key === 'string' && isPlainObject(obj) && Object.hasOwn(obj, key) && DICT_METHODS.has(key)) return obj[key];
    return (runtime.memberLookup as (...a: unknown[]) => unknown).apply(this, args);
  };
  // a name the compiler holds in a variable of an enclosing scope (a loop variable, a macro's
  // parameter) set inside a loop: a variable of the loop's own, read from the loop's frame after
  // the set (nunjucks assigned the enclosing scope's)
  const lookupOf = (name: string) => `runtime.contextOrFrameLookup(context, frame, ${JSON.stringify(name)})`;
  const compileSet = C.compileSet as (this: CompilerProto, node: CompilerNode, frame: CompileFrame) => void;
  C.compileSet = function (this: CompilerProto, node: CompilerNode, frame: CompileFrame) {
    if (!jinjaScoping) return compileSet.call(this, node, frame);
    // `{% set a, b = pair %}` unpacks, as Jinja's (nunjucks set each name to the whole value):
    // the value is unpacked once, each name given its item, before nunjucks' frame.set()s
    const targets = node.targets as CompilerNode[];
    const emit = this._emit;
    const emitLine = this._emitLine;
    if (targets.length > 1 && node.value) {
      let ids: string[] | undefined;
      const unpacked = (this._tmpid as () => string)();
      this._emit = function (this: CompilerProto, code: string) {
        if (ids !== undefined || !code.endsWith(' = ')) return emit.call(this, code);
        ids = code.slice(0, -3).split(' = ');
        return emit.call(this, `var ${unpacked} = runtime.vigilUnpack(${targets.length}, ${node.lineno}, ${node.colno}, `);
      };
      this._emitLine = function (this: CompilerProto, code: string) {
        if (ids === undefined || code !== ';') return emitLine.call(this, code);
        this._emitLine = emitLine;
        return emitLine.call(this, `); ${ids.map((id, i) => `${id} = ${unpacked}[${i}];`).join(' ')}`);
      };
    }
    const shadowed: string[] = [];
    for (const t of node.targets as CompilerNode[]) {
      const name = String(t.value);
      if (!frame.lookup(name)) continue;
      let f: CompileFrame | undefined = frame;
      while (f && f.variables[name] === undefined && !f.isolateWrites) f = f.parent;
      if (f && f.variables[name] !== undefined && f.variables[name] !== lookupOf(name)) continue;
      shadowed.push(name);
      frame.variables[name] = null;
    }
    try {
      compileSet.call(this, node, frame);
    } finally {
      this._emit = emit;
      this._emitLine = emitLine;
      for (const name of shadowed) frame.variables[name] = lookupOf(name);
    }
  };
  // Jinja's closures: a macro defined inside a loop (or another scope) and a {% call %} body see
  // the variables where they are written (the loop's variable, a {% set %} in the loop body),
  // not those of the frame they are called from (nunjucks pushed the caller's frame: a call
  // body saw the called macro's variables, not its loop's). The frame where the macro is
  // defined is kept, and its body's frame pushed from it
  const compileMacroFunction = C._compileMacro as (this: CompilerProto, node: unknown, frame?: CompileFrame) => string;
  C._compileMacro = function (this: CompilerProto, node: unknown, frame?: CompileFrame) {
    if (!jinjaScoping || frame === undefined) return compileMacroFunction.call(this, node, frame);
    const emitLines = this._emitLines as (...lines: string[]) => void;
    const emitLine = this._emitLine;
    const defined = (this._tmpid as () => string)();
    let done = false;
    this._emitLines = function (this: CompilerProto, ...lines: string[]) {
      if (!done && lines.includes('frame = frame.push(true);')) {
        done = true;
        lines = [`var ${defined} = frame;`, ...lines.map((l) => (l === 'frame = frame.push(true);' ? `frame = ${defined}.push(true);` : l))];
      }
      return emitLines.apply(this, lines);
    };
    // (its end popped back to the defining frame: back to the caller's instead)
    this._emitLine = function (this: CompilerProto, line: string) {
      if (line.startsWith('return new runtime.SafeString(')) emitLine.call(this, 'frame = callerFrame;');
      return emitLine.call(this, line);
    };
    try {
      return compileMacroFunction.call(this, node, frame);
    } finally {
      this._emitLines = emitLines;
      this._emitLine = emitLine;
    }
  };
  const compileMacro = C.compileMacro as (this: CompilerProto, node: unknown, frame: CompileFrame) => void;
  C.compileMacro = function (this: CompilerProto, node: unknown, frame: CompileFrame) {
    // (a macro at the template's top level keeps a frame of its own, as nunjucks' does)
    if (!jinjaScoping || !frame.parent) return compileMacro.call(this, node, frame);
    const self = this as CompilerProto & { _compileMacro: (n: unknown, f?: CompileFrame) => string };
    self._compileMacro = function (this: CompilerProto, n: unknown, f?: CompileFrame) {
      delete (self as Partial<typeof self>)._compileMacro;
      return (C._compileMacro as (this: CompilerProto, n: unknown, f?: CompileFrame) => string).call(this, n, f ?? frame);
    };
    try {
      compileMacro.call(this, node, frame);
    } finally {
      if (Object.hasOwn(self, '_compileMacro')) delete (self as Partial<typeof self>)._compileMacro;
    }
  };
  // Jinja's scope of a {% filter %} block and of a {% set x %}...{% endset %} body: a {% set %}
  // inside is the block's own (nunjucks wrote it through to the enclosing scope)
  const compileCapture = C.compileCapture as (this: CompilerProto, node: CompilerNode, frame: CompileFrame) => void;
  C.compileCapture = function (this: CompilerProto & { buffer: string; _withScopedSyntax(f: () => void): void }, node: CompilerNode, frame: CompileFrame) {
    if (!jinjaScoping) return compileCapture.call(this, node, frame);
    const buffer = this.buffer;
    this.buffer = 'output';
    this._emitLine('(function() {');
    this._emitLine('var output = "";');
    this._emitLine('frame = frame.push(true);');
    const inner = frame.push(true);
    this._withScopedSyntax(() => this.compile(node.body, inner));
    this._emitLine('frame = frame.pop();');
    this._emitLine('return output;');
    this._emitLine('})()');
    this.buffer = buffer;
  };
  // an inline if without else whose condition is false: Jinja's Undefined (NO_ELSE), which
  // `| default` replaces and which prints as nothing; nunjucks gave ''
  runtime.vigilNoElse = NO_ELSE;
  const compileInlineIf = C.compileInlineIf as (this: CompilerProto, node: CompilerNode, frame: CompileFrame) => void;
  C.compileInlineIf = function (this: CompilerProto, node: CompilerNode, frame: CompileFrame) {
    if (!jinjaScoping || node.else_ !== null) return compileInlineIf.call(this, node, frame);
    this._emit('(');
    this.compile(node.cond, frame);
    this._emit('?');
    this.compile(node.body, frame);
    this._emit(':runtime.vigilNoElse)');
  };
}

/** The message of a loop's target that unpacks a nested tuple (not supported). */
export const NESTED_LOOP_TARGET = "a loop's target that unpacks a nested tuple ({% for a, (b, c) in rows %}) is not supported: take the item whole and unpack it in the body ({% for a, bc in rows %}{% set b, c = bc %})";
/** The message of a recursive loop (not supported). */
export const RECURSIVE_LOOP = "a recursive loop ({% for x in xs recursive %} with loop(...)) is not supported: write the levels as nested loops, or a macro that calls itself for each item's children";

/**
 * Python's syntax where nunjucks reads it otherwise: `(a, b)`, `(a,)` and `()` are tuples (nunjucks
 * kept the last item: `x in ('dev', 'prod')` was `x in 'prod'`); a float literal stays a float
 * (`1.0` printed 1), with an exponent too (`1e3`); arithmetic as Python's (`10 / 5` is 2.0; a
 * float in, a float out; py-values.ts pyArith); comparisons and `in` as Python's, a chain
 * (`a < b < c`) as `a < b and b < c`, refused on a placeholder; `{% set x -%}` strips the body's
 * leading white space. Both renderers (fast-render.ts).
 */
function pythonSyntax(TemplateError: new (message: string, lineno: number, colno: number) => Error): void {
  type Node = { typename: string; lineno: number; colno: number; [k: string]: unknown };
  type Compiler = { compile(n: unknown, f: unknown): void; _emit(code: string): void; _compileAggregate(n: unknown, f: unknown, open: string, close: string): void; [k: string]: unknown };
  type Parser = { peekToken(): { type: string; value: string; lineno: number; colno: number }; nextToken(): unknown; skip(type: string): boolean; fail(m: string, l?: number, c?: number): never; parseExpression(): Node; dropLeadingWhitespace: boolean; [k: string]: unknown };
  const n = nunjucks as unknown as {
    parser: { Parser: { prototype: Parser } };
    compiler: { Compiler: { prototype: Compiler } };
    lexer: Record<string, string>;
    nodes: {
      Group: new (l: number, c: number) => Node & { addChild(x: Node): void; children: Node[] };
      Dict: new (l: number, c: number) => Node & { addChild(x: Node): void; children: Node[] };
      Pair: new (l: number, c: number, key: Node, value: Node) => Node;
    };
    runtime: Record<string, unknown>;
  };
  const { lexer, nodes, runtime } = n;
  const P = n.parser.Parser.prototype;
  const C = n.compiler.Compiler.prototype;
  const parseAggregate = P.parseAggregate as (this: Parser) => Node;
  P.parseAggregate = function (this: Parser) {
    const tok = this.peekToken();
    if (tok.type === lexer.TOKEN_LEFT_CURLY) return parseDict.call(this);
    if (tok.type !== lexer.TOKEN_LEFT_PAREN) return parseAggregate.call(this);
    this.nextToken();
    const group = new nodes.Group(tok.lineno, tok.colno);
    let trailing = false;
    for (;;) {
      if (this.skip(lexer.TOKEN_RIGHT_PAREN)) break;
      if (group.children.length > 0) {
        if (!this.skip(lexer.TOKEN_COMMA)) this.fail('parseAggregate: expected comma after expression', tok.lineno, tok.colno);
        if (this.skip(lexer.TOKEN_RIGHT_PAREN)) {
          trailing = true;
          break;
        }
      }
      group.addChild(this.parseExpression());
    }
    if (trailing || group.children.length !== 1) group.tuple = true;
    return group;
  };
  // a dict's key is an expression, as in Jinja (`{k: 1}` reads the variable k, `{'a' ~ b: 1}` joins);
  // nunjucks read a bare name as the string of its name, as a JavaScript object literal does
  function parseDict(this: Parser) {
    const tok = this.nextToken() as { lineno: number; colno: number };
    const dict = new nodes.Dict(tok.lineno, tok.colno);
    for (;;) {
      if (this.skip(lexer.TOKEN_RIGHT_CURLY)) break;
      if (dict.children.length > 0 && !this.skip(lexer.TOKEN_COMMA)) this.fail('parseAggregate: expected comma after expression', tok.lineno, tok.colno);
      // (a trailing comma: dropTrailingCommas took it out before parsing)
      const key = this.parseExpression();
      if (!this.skip(lexer.TOKEN_COLON)) this.fail('parseAggregate: expected colon after dict key', tok.lineno, tok.colno);
      const value = this.parseExpression();
      dict.addChild(new nodes.Pair(key.lineno, key.colno, key, value));
    }
    return dict;
  }
  runtime.vigilDictKey = (k: unknown, expr: string, lineno: number, colno: number) => positioned(() => dictKey(k, expr), lineno, colno);
  const compilePair = C.compilePair as (this: Compiler, node: Node, frame: unknown) => void;
  C.compilePair = function (this: Compiler, node: Node, frame: unknown) {
    const key = node.key as Node;
    if (!dictPairs.has(node) || (key.typename === 'Literal' && typeof key.value === 'string')) return compilePair.call(this, node, frame);
    const start = exprStart(key);
    this._emit('[runtime.vigilDictKey(');
    this.compile(key, frame);
    this._emit(`, ${JSON.stringify(exprText(key))}, ${start.lineno}, ${start.colno})]: `);
    (this as unknown as { _compileExpression(n: unknown, f: unknown): void })._compileExpression(node.value, frame);
  };
  const compileDict = C.compileDict as (this: Compiler, node: Node, frame: unknown) => void;
  C.compileDict = function (this: Compiler, node: Node, frame: unknown) {
    // (nunjucks compiles a call's KeywordArgs with compileDict too: their keys are names)
    if (node.typename === 'Dict') for (const p of node.children as Node[]) dictPairs.add(p);
    compileDict.call(this, node, frame);
  };
  // `{% set x -%}`: nunjucks' parseSet steps over the tag's end without its `-` (the only
  // statement that skips one: the others advance past it, which reads the `-`); Jinja strips
  // the white space the body starts with
  const skip = P.skip as (this: Parser, type: string) => boolean;
  P.skip = function (this: Parser, type: string) {
    const tok = type === lexer.TOKEN_BLOCK_END ? this.peekToken() : undefined;
    const skipped = skip.call(this, type);
    if (skipped && tok?.value.charAt(0) === '-') this.dropLeadingWhitespace = true;
    return skipped;
  };
  // a block set's filters, as Jinja's (`{% set x | upper %}...{% endset %}`: the body rendered,
  // then filtered): nunjucks' parseSet stopped at the `|` ("expected = or block end in set tag").
  // Its parseSet with the filters read between the names and the tag's end.
  const setNodes = (nunjucks as unknown as { nodes: Record<string, new (...a: unknown[]) => Node & { targets: Node[]; body: Node | null; value: Node | null }> }).nodes;
  type SetParser = Parser & { skipSymbol(s: string): boolean; skipValue(t: string, v: string): boolean; parsePrimary(): Node | null; advanceAfterBlockEnd(v?: string): void; parseFilterName(): Node; parseFilterArgs(n: Node): Node[]; parseUntilBlocks(...b: string[]): Node };
  P.parseSet = function (this: SetParser) {
    const tag = this.peekToken();
    if (!this.skipSymbol('set')) this.fail('parseSet: expected set', tag.lineno, tag.colno);
    const node = new setNodes.Set(tag.lineno, tag.colno, []);
    let target: Node | null;
    while ((target = this.parsePrimary())) {
      node.targets.push(target);
      if (!this.skip(lexer.TOKEN_COMMA)) break;
    }
    if (this.skipValue(lexer.TOKEN_OPERATOR, '=')) {
      node.value = this.parseExpression();
      // a tuple without parentheses, as Jinja reads it (`{% set a, b = 1, 2 %}`, `{% set t = 'x', %}`):
      // nunjucks stopped at the comma ("expected block end in set statement")
      if (this.peekToken()?.type === lexer.TOKEN_COMMA) {
        const group = new nodes.Group(node.value.lineno, node.value.colno);
        group.addChild(node.value);
        while (this.skip(lexer.TOKEN_COMMA) && this.peekToken()?.type !== lexer.TOKEN_BLOCK_END) group.addChild(this.parseExpression());
        group.tuple = true;
        node.value = group;
      }
      this.advanceAfterBlockEnd(tag.value);
      return node;
    }
    const filters: Array<{ name: Node; args: Node[] }> = [];
    while (this.skip(lexer.TOKEN_PIPE)) {
      const name = this.parseFilterName();
      filters.push({ name, args: this.parseFilterArgs(name) });
    }
    if (!this.skip(lexer.TOKEN_BLOCK_END)) this.fail(`parseSet: expected = ${filters.length ? '' : 'or a filter (|) '}or block end in set tag`, tag.lineno, tag.colno);
    let body: Node = new setNodes.Capture(tag.lineno, tag.colno, this.parseUntilBlocks('endset'));
    for (const f of filters) {
      const filtered = new setNodes.Filter(f.name.lineno, f.name.colno, f.name, new setNodes.NodeList(f.name.lineno, f.name.colno, [body, ...f.args]));
      body = new setNodes.Capture(tag.lineno, tag.colno, new setNodes.NodeList(tag.lineno, tag.colno, [new setNodes.Output(f.name.lineno, f.name.colno, [filtered])]));
    }
    node.body = body;
    node.value = null;
    this.advanceAfterBlockEnd();
    return node;
  } as unknown as (this: Parser) => Node;
  // `f(*args)` / `f(**kwargs)`: Python's unpacking in a call, which nunjucks cannot parse ("unexpected token: **")
  const parseUnpacking = P.parsePrimary as (this: Parser, noPostfix?: boolean) => Node;
  P.parsePrimary = function (this: Parser, noPostfix?: boolean) {
    const tok = this.peekToken();
    if (tok?.type === lexer.TOKEN_OPERATOR && (tok.value === '*' || tok.value === '**')) {
      this.fail(`unpacking with ${tok.value} in a call (Python's f(*args), f(**kwargs)) is not supported: pass each argument by position or by name (inner(x, y=kwargs.get('y', 0)))`, tok.lineno, tok.colno);
    }
    return parseUnpacking.call(this, noPostfix);
  };
  // a float with an exponent (`1e3`, `1.5e-3`): nunjucks' lexer read `1e3` as a name and stopped `1e-3` at the `-`
  type Tokenizer = { str: string; index: number; forward(): void; nextToken(): { type: string; value: string } | null };
  const tokenizer = Object.getPrototypeOf((n.lexer as unknown as { lex(s: string, o: object): Tokenizer }).lex('', {})) as Tokenizer;
  const nextToken = tokenizer.nextToken;
  const exponentFloat = /\d+(?:\.\d+)?[eE][-+]?\d+/y;
  tokenizer.nextToken = function (this: Tokenizer) {
    const start = this.index;
    const tok = nextToken.call(this);
    if (tok && (tok.type === lexer.TOKEN_INT || tok.type === lexer.TOKEN_FLOAT || (tok.type === lexer.TOKEN_SYMBOL && /^\d/.test(tok.value)))) {
      exponentFloat.lastIndex = start;
      const float = exponentFloat.exec(this.str)?.[0];
      if (float && start + float.length >= this.index) {
        while (this.index < start + float.length) this.forward();
        return { ...tok, type: lexer.TOKEN_FLOAT, value: float };
      }
    }
    return tok;
  };
  // a string literal's backslash escapes as Python's (Jinja decodes a literal with Python's
  // `unicode-escape`): nunjucks knew only \n, \t and \r and dropped the backslash of any other,
  // so a regex written `'^\d+$'` reached the SQL as `^d+$` and `'\u00e9'` as `u00e9`
  type StringTokenizer = Tokenizer & { lineno: number; colno: number; isFinished(): boolean; current(): string; _parseString(delimiter: string): string };
  const stringTokenizer = tokenizer as StringTokenizer;
  const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  const HEX_ESCAPES: Record<string, number> = { x: 2, u: 4, U: 8 };
  stringTokenizer._parseString = function (this: StringTokenizer, delimiter: string) {
    this.forward();
    let str = '';
    while (!this.isFinished() && this.current() !== delimiter) {
      const cur = this.current();
      if (cur !== '\\') {
        str += cur;
        this.forward();
        continue;
      }
      const [line, col] = [this.lineno + 1, this.colno + 1];
      this.forward();
      const c = this.current();
      if (Object.hasOwn(SIMPLE_ESCAPES, c)) {
        str += SIMPLE_ESCAPES[c];
        this.forward();
      } else if (c === '\n' || c === '\r') {
        // a backslash at the end of a line joins the next line, as in Python
        this.forward();
        if (c === '\r' && this.current() === '\n') this.forward();
      } else if (c >= '0' && c <= '7') {
        let digits = '';
        while (digits.length < 3 && this.current() >= '0' && this.current() <= '7') {
          digits += this.current();
          this.forward();
        }
        str += String.fromCodePoint(parseInt(digits, 8));
      } else if (Object.hasOwn(HEX_ESCAPES, c)) {
        const size = HEX_ESCAPES[c];
        const escape = c === 'x' ? '\\xXX' : c === 'u' ? '\\uXXXX' : '\\UXXXXXXXX';
        const hex = this.str.slice(this.index + 1, this.index + 1 + size);
        if (!new RegExp(`^[0-9a-fA-F]{${size}}$`).test(hex)) throw new TemplateError(`truncated ${escape} escape in a string (Python's: write exactly ${size} hex digits, or \\\\${c} for a backslash and '${c}')`, line, col);
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) throw new TemplateError(`illegal Unicode character \\${c}${hex} in a string (Python's: the largest is \\U0010ffff)`, line, col);
        str += String.fromCodePoint(code);
        for (let i = 0; i <= size; i++) this.forward();
      } else if (c === 'N') {
        throw new TemplateError("a string's \\N{...} escape names a character by its Unicode name, which Vigil cannot look up: write the character itself or its \\uXXXX escape (or \\\\N for a backslash and 'N')", line, col);
      } else {
        // an escape Python does not know keeps its backslash (`'\d'` is the two characters \d)
        str += '\\';
      }
    }
    this.forward();
    return str;
  };
  const parsePrimary = P.parsePrimary as (this: Parser, noPostfix?: boolean) => Node;
  P.parsePrimary = function (this: Parser, noPostfix?: boolean) {
    const tok = this.peekToken();
    const inexact = tok?.type === lexer.TOKEN_INT ? inexactLiteral(tok.value) : undefined;
    if (inexact) this.fail(inexact, tok!.lineno, tok!.colno);
    const node = parsePrimary.call(this, noPostfix);
    if (tok?.type === lexer.TOKEN_FLOAT) {
      let lit: Node | undefined = node;
      while (lit && lit.typename !== 'Literal') lit = (lit.target ?? lit.name) as Node | undefined;
      if (lit && typeof lit.value === 'number') lit.value = pyFloat(lit.value);
    }
    return node;
  };
  // a test's one argument without parentheses, as Jinja takes it (`x is divisibleby 3`, `x is
  // sameas false`): nunjucks stopped at the argument ("expected variable end")
  const nodeTypes = (nunjucks as unknown as { nodes: Record<string, new (...a: unknown[]) => Node> }).nodes;
  // Jinja's precedence of the arithmetic operators: `*`, `/`, `//` and `%` one level, `+` and `-`
  // one level below it and `~` between the two, each level left to right (nunjucks gave each
  // operator a level of its own: `2 * 3 % 4` was 2 * (3 % 4), 6, where Jinja says 2; `3 * 5 // 2`
  // 6, Jinja's 7; `0.1 + 0.2 - 0.3` summed another way)
  const binaryChain = (parser: Parser, ops: Record<string, string>, type: string, operand: () => Node): Node => {
    let node = operand();
    for (;;) {
      const tok = parser.peekToken();
      if (!tok || tok.type !== type || !Object.hasOwn(ops, tok.value)) return node;
      parser.nextToken();
      node = new nodeTypes[ops[tok.value]](node.lineno, node.colno, node, operand());
    }
  };
  const MATH1: Record<string, string> = { '+': 'Add', '-': 'Sub' };
  const MATH2: Record<string, string> = { '*': 'Mul', '/': 'Div', '//': 'FloorDiv', '%': 'Mod' };
  const parsePow = P.parsePow as (this: Parser) => Node;
  P.parseConcat = function (this: Parser) {
    const math2 = () => binaryChain(this, MATH2, lexer.TOKEN_OPERATOR, () => parsePow.call(this));
    return binaryChain(this, MATH1, lexer.TOKEN_OPERATOR, () => binaryChain(this, { '~': 'Concat' }, lexer.TOKEN_TILDE, math2));
  };
  P.parseAdd = P.parseConcat;
  const parseIs = P.parseIs as (this: Parser) => Node;
  const ARGUMENT_STARTS = new Set([lexer.TOKEN_INT, lexer.TOKEN_FLOAT, lexer.TOKEN_STRING, lexer.TOKEN_BOOLEAN, lexer.TOKEN_NONE, lexer.TOKEN_SYMBOL, lexer.TOKEN_LEFT_PAREN, lexer.TOKEN_LEFT_BRACKET, lexer.TOKEN_LEFT_CURLY]);
  P.parseIs = function (this: Parser) {
    const node = parseIs.call(this);
    const is = node.typename === 'Not' ? (node.target as Node) : node;
    if (is.typename !== 'Is' || (is.right as Node).typename !== 'Symbol') return node;
    const tok = this.peekToken();
    if (!tok || !ARGUMENT_STARTS.has(tok.type) || (tok.type === lexer.TOKEN_SYMBOL && ['else', 'or', 'and', 'if', 'is', 'in', 'not'].includes(tok.value))) return node;
    const name = is.right as Node;
    const arg = (P.parsePrimary as (this: Parser) => Node).call(this);
    is.right = new nodeTypes.FunCall(name.lineno, name.colno, name, new nodeTypes.NodeList(arg.lineno, arg.colno, [arg]));
    return node;
  };
  runtime.vigilTuple = tuple;
  // Python's unpacking of `{% set a, b = value %}`: exactly that many items (a dict's keys, a string's characters)
  runtime.vigilUnpack = (n: number, lineno: number, colno: number, v: unknown) =>
    positioned(() => {
      const items = asText(v) !== undefined ? [...asText(v)!] : isPlainObject(v) ? Object.keys(v) : v;
      if (!Array.isArray(items)) throw new Error(`cannot unpack non-iterable ${pyType(v)} object`);
      if (items.length > n) throw new Error(`too many values to unpack (expected ${n})`);
      if (items.length < n) throw new Error(`not enough values to unpack (expected ${n}, got ${items.length})`);
      return items;
    }, lineno, colno);
  runtime.vigilFloat = (v: number) => new PyFloat(v);
  // (a bool as Python's `True` where values are checked, models'; alert templates keep `true`, as they print it)
  const positioned = (f: () => unknown, lineno: number, colno: number) => {
    try {
      return f();
    } catch (e) {
      throw new TemplateError(e instanceof Error ? e.message : String(e), lineno + 1, colno + 1);
    }
  };
  // (an integer past 2^53 joined is an error at the ~ where values are checked, models'; alert
  // templates' row numbers are JavaScript's, joined as they are)
  runtime.vigilConcat = (a: unknown, b: unknown, env: { opts?: { throwOnUndefined?: boolean } }, lineno: number, colno: number) =>
    positioned(() => {
      const checked = env?.opts?.throwOnUndefined === true;
      const text = (v: unknown) => String(typeof v === 'boolean' && !checked ? v : pyStr(v, checked));
      return `${text(a)}${text(b)}`;
    }, lineno, colno);
  // Python's operators where the environment has Jinja's values (addJinjaCompat: models); alert
  // templates keep JavaScript's on anything but numbers (a row's number may arrive as text)
  runtime.vigilArith = (op: string, a: unknown, b: unknown, lineno: number, colno: number, env: object) => positioned(() => pyArith(op, a, b, JINJA_ENVIRONMENTS.has(env)), lineno, colno);
  runtime.vigilCompare = (a: unknown, op: string, b: unknown, lineno: number, colno: number, env: object) => positioned(() => compareValues(a, op, b, JINJA_ENVIRONMENTS.has(env)), lineno, colno);
  // `a < b < c` is `a < b and b < c`, b evaluated once, c only when a < b (Python's chain)
  runtime.vigilCompareChain = (a: unknown, rest: Array<[string, () => unknown]>, lineno: number, colno: number, env: object) =>
    positioned(() => {
      let left = a;
      let result: unknown = true;
      for (const [op, right] of rest) {
        const b = right();
        result = compareValues(left, op, b, JINJA_ENVIRONMENTS.has(env));
        if (!result) return result;
        left = b;
      }
      return result;
    }, lineno, colno);
  runtime.vigilIn = (key: unknown, coll: unknown, lineno: number, colno: number) => positioned(() => inOperator(key, coll), lineno, colno);
  const compileLiteral = C.compileLiteral as (this: Compiler, node: Node, frame: unknown) => void;
  C.compileLiteral = function (this: Compiler, node: Node, frame: unknown) {
    if (node.value instanceof PyFloat) this._emit(`runtime.vigilFloat(${node.value.value})`);
    else compileLiteral.call(this, node, frame);
  };
  const compileGroup = C.compileGroup as (this: Compiler, node: Node, frame: unknown) => void;
  C.compileGroup = function (this: Compiler, node: Node, frame: unknown) {
    if (node.tuple) this._compileAggregate(node, frame, 'runtime.vigilTuple([', '])');
    else compileGroup.call(this, node, frame);
  };
  const binary = (op: string, fn: string) => {
    C[`compile${fn}`] = function (this: Compiler, node: Node, frame: unknown) {
      this._emit(`runtime.vigilArith(${JSON.stringify(op)}, `);
      this.compile(node.left, frame);
      this._emit(', ');
      this.compile(node.right, frame);
      this._emit(`, ${node.lineno}, ${node.colno}, env)`);
    };
  };
  for (const [op, fn] of ARITHMETIC) binary(op, fn);
  C.compileNeg = function (this: Compiler, node: Node, frame: unknown) {
    this._emit('runtime.vigilArith("neg", 0, ');
    this.compile(node.target, frame);
    this._emit(`, ${node.lineno}, ${node.colno}, env)`);
  };
  // a filter's error at the filter (nunjucks' position is the last call's before it, else the template's start)
  const compileFilter = C.compileFilter as (this: Compiler, node: Node, frame: unknown) => void;
  C.compileFilter = function (this: Compiler, node: Node, frame: unknown) {
    this._emit(`(lineno = ${node.lineno}, colno = ${node.colno + 1}, `);
    compileFilter.call(this, node, frame);
    this._emit(')');
  };
  // the name nunjucks puts, in a JavaScript string, into a call's code for its error: a string's
  // line break or backslash there (`'a\nb'.split('\n')`) made the code a SyntaxError, with no line
  const getNodeName = C._getNodeName as (this: Compiler, node: Node) => string;
  C._getNodeName = function (this: Compiler, node: Node) {
    return getNodeName.call(this, node).replace(/\\/g, '/').replace(/[\r\n\u2028\u2029]/g, ' ');
  };
  // a call's error at the call's column, 1-based as every other position (nunjucks' own is 0-based
  // there: one column left of the fast renderer's for the same error, `'{}'.format()`)
  const compileFunCall = C.compileFunCall as (this: Compiler, node: Node, frame: unknown) => void;
  C.compileFunCall = function (this: Compiler, node: Node, frame: unknown) {
    compileFunCall.call(this, { ...node, colno: node.colno + 1 } as Node, frame);
  };
  // a value printed is checked at its expression's position, as the fast renderer does (nunjucks'
  // own compileOutput gave the {{'s: two positions for one error, as the template took one path or the other)
  C.compileOutput = function (this: Compiler & { buffer: string; throwOnUndefined?: boolean; compileLiteral(n: Node, f: unknown): void; _emitLine(l: string): void }, node: Node, frame: unknown) {
    for (const child of node.children as Node[]) {
      if (child.typename === 'TemplateData') {
        if (child.value) {
          this._emit(`${this.buffer} += `);
          this.compileLiteral(child, frame);
          this._emitLine(';');
        }
        continue;
      }
      this._emit(`${this.buffer} += runtime.suppressValue(`);
      if (this.throwOnUndefined) this._emit('runtime.ensureDefined(');
      this.compile(child, frame);
      if (this.throwOnUndefined) this._emit(`,${child.lineno},${child.colno})`);
      this._emit(', env.opts.autoescape);\n');
    }
  };
  C.compileConcat = function (this: Compiler, node: Node, frame: unknown) {
    this._emit('runtime.vigilConcat(');
    this.compile(node.left, frame);
    this._emit(', ');
    this.compile(node.right, frame);
    this._emit(`, env, ${node.lineno}, ${node.colno})`);
  };
  C.compileIn = function (this: Compiler, node: Node, frame: unknown) {
    this._emit('runtime.vigilIn(');
    this.compile(node.left, frame);
    this._emit(', ');
    this.compile(node.right, frame);
    this._emit(`, ${node.lineno}, ${node.colno})`);
  };
  C.compileCompare = function (this: Compiler, node: Node, frame: unknown) {
    const ops = node.ops as Node[];
    if (ops.length === 1) {
      this._emit('runtime.vigilCompare(');
      this.compile(node.expr, frame);
      this._emit(`, ${JSON.stringify(ops[0].type)}, `);
      this.compile(ops[0].expr, frame);
      this._emit(`, ${node.lineno}, ${node.colno}, env)`);
      return;
    }
    // a chain: each operand after the first evaluated only when the comparisons before it hold
    this._emit('runtime.vigilCompareChain(');
    this.compile(node.expr, frame);
    this._emit(', [');
    for (const op of ops) {
      this._emit(`[${JSON.stringify(op.type)}, () => (`);
      this.compile(op.expr, frame);
      this._emit(')], ');
    }
    this._emit(`], ${node.lineno}, ${node.colno}, env)`);
  };
}

/** The names a condition tests as they are (under not, and, or): `is_incremental` in `not is_incremental and x`. */
/** The pairs of dict literals (a keyword argument's pair names its keyword: not an expression). */
const dictPairs = new WeakSet<object>();

/**
 * A dict literal's key as the JavaScript object holding the dict keeps it: a string as it is, a
 * number as its text (`{1: 'a'}[1]` finds it; printed, the key reads '1'); none, a bool, a list
 * or a dict is refused (Python's would be a key of its own kind, or unhashable).
 */
export function dictKey(k: unknown, expr: string): string {
  const text = asText(k);
  if (text !== undefined) return text;
  if (typeof k === 'number' || k instanceof PyFloat) return String(pyStr(k));
  if (k === undefined) throw new Error(`'${expr}' is undefined: a dict's key`);
  throw new Error(`a dict's key must be a string or a number here, not ${pyType(k)} ('${expr}')`);
}

export function conditionOperands<N extends { typename: string; [k: string]: unknown }>(cond: N): N[] {
  if (cond.typename === 'Symbol' || cond.typename === 'LookupVal') return [cond];
  if (cond.typename === 'Not') return conditionOperands(cond.target as N);
  if (cond.typename === 'And' || cond.typename === 'Or') return [...conditionOperands(cond.left as N), ...conditionOperands(cond.right as N)];
  return [];
}

type ExprNode = { typename: string; [k: string]: unknown };
const EXPR_OPS: Record<string, string> = { ...Object.fromEntries(ARITHMETIC_NODES), Concat: '~', And: 'and', Or: 'or', In: 'in', Is: 'is' };

/** Where an expression starts: nunjucks places a call, an attribute and a filter at its `(`, `.` or name; its leftmost part. */
export function exprStart<N extends { lineno: number; colno: number; [k: string]: unknown }>(n: N): N {
  let x = n;
  for (;;) {
    const next = x.typename === 'FunCall' ? x.name : x.typename === 'LookupVal' ? x.target : x.typename === 'Filter' ? ((x.args as { children?: unknown[] } | undefined)?.children ?? [])[0] : undefined;
    if (!next || typeof (next as N).lineno !== 'number') return x;
    x = next as N;
  }
}

/** An expression as the template writes it (white space and quotes as Jinja would print them), for messages. */
export function exprText(x: unknown): string {
  const n = x as ExprNode | undefined;
  if (!n || typeof n.typename !== 'string') return 'a value';
  const list = (c: unknown) => (((c as ExprNode | undefined)?.children ?? []) as unknown[]).map(exprText).join(', ');
  switch (n.typename) {
    case 'Symbol':
      return String(n.value);
    case 'Literal':
      return n.value === null ? 'none' : typeof n.value === 'boolean' ? String(n.value) : typeof n.value === 'string' ? pyRepr(n.value) : String(pyStr(n.value, false));
    case 'LookupVal': {
      const val = n.val as ExprNode;
      return `${exprText(n.target)}${val.typename === 'Literal' && typeof val.value === 'string' && /^[A-Za-z_]\w*$/.test(val.value) ? `.${val.value}` : `[${exprText(val)}]`}`;
    }
    case 'FunCall':
      return `${exprText(n.name)}(${list(n.args)})`;
    case 'Filter': {
      const [input, ...args] = ((n.args as ExprNode).children ?? []) as unknown[];
      return `${exprText(input)} | ${String((n.name as ExprNode).value)}${args.length ? `(${args.map(exprText).join(', ')})` : ''}`;
    }
    case 'KeywordArgs':
      return ((n.children ?? []) as ExprNode[]).map((p) => `${String((p.key as ExprNode).value)}=${exprText(p.value)}`).join(', ');
    case 'Group':
      return `(${list(n)}${n.tuple && (n.children as unknown[]).length === 1 ? ',' : ''})`;
    case 'Array':
      return `[${list(n)}]`;
    case 'Dict':
      return `{${((n.children ?? []) as ExprNode[]).map((p) => `${exprText(p.key)}: ${exprText(p.value)}`).join(', ')}}`;
    case 'Not':
      return `not ${exprText(n.target)}`;
    case 'Neg':
      return `-${exprText(n.target)}`;
    case 'InlineIf':
      return `${exprText(n.body)} if ${exprText(n.cond)}${n.else_ ? ` else ${exprText(n.else_)}` : ''}`;
    case 'Compare':
      return [exprText(n.expr), ...((n.ops ?? []) as ExprNode[]).map((o) => `${String(o.type)} ${exprText(o.expr)}`)].join(' ');
    default:
      return EXPR_OPS[n.typename] ? `${exprText(n.left)} ${EXPR_OPS[n.typename]} ${exprText(n.right)}` : 'a value';
  }
}

/**
 * What an undefined name is in dbt, for the names dbt gives a template and Vigil has not (said
 * after "'adapter' is undefined"); '' for any other name.
 */
export function dbtOnlyName(name: string): string {
  if (name === 'adapter') return ": Vigil has no adapter object (dbt's adapter.dispatch('x') picks the macro x for the warehouse: call the one for yours directly, as default__x(...) or postgres__x(...), or write one macro x in macros/; " + docRef('models.md') + ', Coming from dbt)';
  const instead = DBT_ONLY[name];
  return instead ? `: dbt's ${name} is not in Vigil (${instead}; ${docRef('models.md')}, Coming from dbt)` : '';
}
// dbt's context names Vigil deliberately lacks, with what to write instead (an unknown name's
// message said only "macros are defined in macros/*.sql")
const QUERY_AT_RENDER = 'Vigil renders a model without a connection to the warehouse, so no SQL runs while rendering: compute the value in the SQL itself (a join, a subquery) or pass it with var()';
const DBT_ONLY: Record<string, string> = {
  run_query: QUERY_AT_RENDER,
  statement: QUERY_AT_RENDER,
  load_result: QUERY_AT_RENDER,
  return: "a macro's value is the text it renders: print the value ({{ cols | join(', ') }}) and call the macro where that text goes",
  log: 'Vigil renders no log messages: remove the call, or stop with exceptions.raise_compiler_error(...) to say something is wrong',
  print: 'Vigil renders no log messages: remove the call',
  fromjson: 'write the value as a Jinja list or dict literal, or parse the JSON in SQL',
  fromyaml: 'write the value as a Jinja list or dict literal, or put it under vars: in project.yaml',
  toyaml: 'print it with | tojson',
  local_md5: "hash in SQL (md5(...)), where the warehouse's function gives the same digest",
  modules: "Python's modules are not there: run_started_at has datetime's methods (strftime, isoformat, ...), and date arithmetic belongs in SQL (dateadd, datediff)",
};

/** The message of a function tested without its call (`{% if is_incremental %}`). */
export const testedFunction = (expr: string): string => `'${expr}' is a function: tested without its call it is always true; call it: ${expr}()`;
export const TESTED_FUNCTION_RE = / is a function: tested without its call it is always true/;

/** A method called that a value has not (`'abc'.uper()`): with Python's string methods for a did-you-mean when it is a string. */
export function noMethod(target: string, method: string, isString: boolean, isDateTime = false): string {
  const hint = isDateTime ? dateTimeHint(method) : isString ? didYouMean(method, Object.keys(STRING_MEMBERS)) : undefined;
  // (dbt's config.get / config.require read the node's whole config, which dbt resolves in a first
  // parse; Vigil renders once, the config() call being part of that render)
  if (target === 'config' && (method === 'get' || method === 'require')) return `'config' has no method '${method}': dbt's config.${method} is not in Vigil (a template renders before its model's configuration is resolved: branch on a var() or target.name, or on is_incremental(), and set the config in config() or the model's YAML; ${docRef('models.md')}, Coming from dbt)`;
  // (a str's method called on a value that is no str, `(1, 2).startswith('a')`: not "did you mean 'startswith'")
  if (hint === method) return `${target === '--expression--' ? 'the value' : `'${target}'`} has no method '${method}' (a str has, this value is not a str)`;
  return `'${target}' has no method '${method}'${hint ? ` — did you mean '${hint}'?` : ''}`;
}

/** A call's keyword argument given twice (`config(materialized='table', materialized='view')`): Jinja refuses the template, nunjucks would keep the last. */
export const repeatedKeyword = (key: string): string => `keyword argument '${key}' is given twice in one call (Jinja refuses that; which one did you mean?)`;

/** The first keyword argument a KeywordArgs node repeats, with its node (for the position). */
export function repeatedKeywordIn(kw: { [k: string]: unknown }): { key: string; node: { lineno: number; colno: number } } | undefined {
  const seen = new Set<string>();
  for (const p of (kw.children ?? []) as Array<{ key: { value: unknown }; lineno: number; colno: number }>) {
    const k = String(p.key.value);
    if (seen.has(k)) return { key: k, node: p.key as unknown as { lineno: number; colno: number } };
    seen.add(k);
  }
  return undefined;
}

/** The message of a number printed that is not one (1/0): it would print Infinity or NaN into the SQL. */
/** How both renderers end the error of a printed value that is undefined or none (compile-project.ts rewrites it for a test's config). */
export const PRINTS_NOTHING = 'it would print nothing into the SQL';
export const PRINTED_NON_FINITE = 'a value it prints is not a finite number: it would print Infinity or NaN into the SQL';

/**
 * An integer literal past 2^53 (`1234567890123456789`), which a JavaScript number would round
 * (to 1234567890123456800) where Python's int is exact: refused at its place, as in vars:.
 * (2^53 itself, 9007199254740992, is exact; its neighbour 9007199254740993 would be read as it.)
 */
export function inexactLiteral(written: string): string | undefined {
  if (!/^\d+$/.test(written) || BigInt(written) <= BigInt(EXACT_INT_LIMIT)) return undefined;
  return `the integer ${written} is ${PAST_EXACT} (it would be read as ${Number(written)}): write it as a string ('${written}'), which prints the same digits`;
}

/** A list's or a dict's text as printed (pyStr); an integer past 2^53 in it is `error`'s error, at the print. */
export function printedText(v: unknown, error: (message: string) => Error): string {
  try {
    return String(pyStr(v));
  } catch (e) {
    throw error(e instanceof Error ? e.message : String(e));
  }
}

/** The message of a none printed (template-env.ts words it for the author, as nunjucks' own for an undefined value). */
export const PRINTED_NONE = 'attempted to output a none value';

/** The message of a function printed without its call (template-env.ts words it for the author). */
export const PRINTED_FUNCTION = 'attempted to output a function';

/** `x is number`, `x is equalto(2)`, `is float`: a whole float is a PyFloat (py-values.ts), a number all the same. */
export function addPyTests(env: nunjucks.Environment): void {
  // (nunjucks has addTest; its types do not say so)
  const add = (name: string, fn: (v: unknown, a?: unknown) => boolean) => (env as unknown as { addTest(n: string, f: (v: unknown, a?: unknown) => boolean): void }).addTest(name, fn);
  for (const t of ['number', 'string', 'iterable', 'equalto', 'eq', '==', 'ne', '!=', 'sameas'] as const) add(t, (v, a) => (t === 'sameas' ? unbox(v) === unbox(a) : TESTS[t](v, a)));
  add('float', (v) => v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v)));
  add('integer', (v) => typeof v === 'number' && Number.isInteger(v));
  // Jinja's tests nunjucks names otherwise or lacks (`| reject('none')`, `| select('in', xs)`)
  for (const t of ['none', 'true', 'false', 'in'] as const) add(t, TESTS[t]);
  // (an inline if without else, its condition false, is not defined: NO_ELSE)
  for (const t of ['defined', 'undefined'] as const) add(t, TESTS[t]);
  // `select()` / `reject()` without a test: Python's truth (nunjucks' JavaScript's)
  for (const t of ['truthy', 'falsy'] as const) add(t, TESTS[t]);
  add('boolean', (v) => typeof v === 'boolean');
  // Jinja's `sequence`: what has a length and items by index (a list, a tuple, a string, a dict; not a
  // namespace, a number or none): nunjucks lacks it ("test not found")
  add('sequence', (v) => Array.isArray(v) || asText(v) !== undefined || (isPlainObject(v) && !(NAMESPACE in v)));
  // an unknown test: with the nearest known one
  const tests = (env as unknown as { tests: Record<string, unknown> }).tests;
  const getTest = (env as unknown as { getTest(n: string): unknown }).getTest.bind(env);
  (env as unknown as { getTest(n: string): unknown }).getTest = (name: string) => {
    if (Object.hasOwn(tests, name)) return getTest(name);
    const hint = didYouMean(name, Object.keys(tests));
    throw new Error(`test not found: ${name}${hint ? ` — did you mean '${hint}'?` : ''}`);
  };
}

/**
 * A config rendered as dbt renders it (its native environment: the text read as a Python literal
 * when it is one, ast.literal_eval): `5` is 5, `2.5` 2.5, `True`/`False` booleans, `None` null
 * (dbt then leaves the config unset), a quoted string its text; any other text as it rendered.
 */
export function pyNativeValue(text: string): unknown {
  const s = text.trim();
  if (/^[+-]?\d+$/.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : text;
  }
  if (/^[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?\d+[eE][+-]?\d+$/.test(s)) return Number(s);
  if (s === 'True') return true;
  if (s === 'False') return false;
  if (s === 'None') return null;
  const q = /^(['"])((?:(?!\1)[^\\\n])*)\1$/.exec(s);
  if (q) return q[2];
  // a list or a tuple, as Jinja prints one (`{{ ['a', 'b'] }}`, `{{ var('tags') }}`): dbt's native
  // rendering gives the list itself (tags: two tags, not one tag "['a', 'b']")
  if (/^[[(]/.test(s)) {
    const seq = pyLiteralSequence(s);
    if (seq) return seq;
  }
  return text;
}

/** A Python list or tuple literal of strings, numbers, booleans, None and such lists (literal_eval's); undefined when `s` is not one. */
function pyLiteralSequence(s: string): unknown[] | undefined {
  let i = 0;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const FAIL = Symbol('fail');
  const value = (): unknown => {
    ws();
    const ch = s[i];
    if (ch === '[' || ch === '(') {
      const close = ch === '[' ? ']' : ')';
      i++;
      const items: unknown[] = [];
      let comma = false;
      for (;;) {
        ws();
        if (s[i] === close) {
          i++;
          // (`(x)` is x; `(x,)` and `()` a tuple)
          return close === ')' && items.length === 1 && !comma ? items[0] : items;
        }
        if (items.length && !comma) return FAIL;
        const v = value();
        if (v === FAIL) return FAIL;
        items.push(v);
        ws();
        comma = s[i] === ',';
        if (comma) i++;
      }
    }
    if (ch === "'" || ch === '"') {
      let out = '';
      for (i++; i < s.length && s[i] !== ch; i++) {
        if (s[i] === '\n') return FAIL;
        if (s[i] !== '\\') {
          out += s[i];
          continue;
        }
        const e = s[++i];
        const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
        if (!(e in esc)) return FAIL;
        out += esc[e];
      }
      if (s[i] !== ch) return FAIL;
      i++;
      return out;
    }
    const m = /^(?:[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|True|False|None)(?![\w.])/.exec(s.slice(i));
    if (!m) return FAIL;
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : m[0] === 'None' ? null : Number(m[0]);
  };
  const v = value();
  ws();
  return v !== FAIL && i === s.length && Array.isArray(v) ? v : undefined;
}

/**
 * Jinja's cycler(): `current` is the item next() returns next (the first before any next()), as
 * Jinja's Cycler (nunjucks' was the one last returned, null before: `c.current` printed another
 * item than Jinja's); no items is Jinja's error, not a cycler of undefined. Models' and alerts'
 * templates both.
 */
export function jinjaCycler(...args: unknown[]): { readonly current: unknown; next(): unknown; reset(): void } {
  const [items, kw] = kwargs(args);
  if (Object.keys(kw).length) throw new Error(`cycler() takes no keyword arguments (given ${Object.keys(kw).join(', ')}=)`);
  if (!items.length) throw new Error('cycler(): at least one item has to be provided');
  let pos = 0;
  return {
    get current() {
      return items[pos];
    },
    next() {
      const rv = items[pos];
      pos = (pos + 1) % items.length;
      return rv;
    },
    reset() {
      pos = 0;
    },
  };
}

export function addJinjaCompat(env: nunjucks.Environment): void {
  installJinjaCompat();
  JINJA_ENVIRONMENTS.add(env);
  addPyTests(env);
  // Python's ordering in `select('gt', 1)` too (none or a string against a number: its TypeError)
  for (const t of ['gt', '>', 'ge', '>=', 'lt', '<', 'le', '<='] as const) (env as unknown as { addTest(n: string, f: (v: unknown, a?: unknown) => boolean): void }).addTest(t, TESTS[t]);
  env.addGlobal('namespace', (...args: unknown[]) => {
    const [pos, kw] = kwargs(args);
    const ns: Record<string, unknown> = {};
    for (const p of pos) if (p && typeof p === 'object') Object.assign(ns, p);
    // (a Namespace is true to Python, with no attribute too: pyTruth)
    Object.defineProperty(ns, NAMESPACE, { value: true });
    return Object.assign(ns, kw);
  });
  env.addGlobal('cycler', jinjaCycler);
  // Jinja's dict(): `dict(a=1)` is {'a': 1}; from a dict or a list of pairs too
  env.addGlobal('dict', (...args: unknown[]) => {
    const d: Record<string, unknown> = {};
    dictUpdate.apply(d, args);
    return d;
  });
  // dbt's context has Python's zip (was an unknown function here): a list of tuples, as long as the
  // shortest argument; each argument iterated as Python iterates it (a dict's keys, a string's characters)
  env.addGlobal('zip', (...args: unknown[]) => {
    const [pos, kw] = kwargs(args);
    const extra = Object.keys(kw)[0];
    if (extra !== undefined) throw new Error(`zip() takes no keyword argument '${extra}'`);
    const seqs = pos.map((a, i) => {
      if (a === undefined) throw new Error(`zip(): argument ${i + 1} is undefined (give it a value with | default([]))`);
      if (Array.isArray(a)) return a as unknown[];
      const text = asText(a);
      if (text !== undefined) return [...text];
      if (isPlainObject(a) && !(NAMESPACE in a)) return Object.keys(a);
      throw new Error(`zip(): '${pyType(a)}' object is not iterable`);
    });
    const n = seqs.length ? Math.min(...seqs.map((q) => q.length)) : 0;
    return Array.from({ length: n }, (_, i) => tuple(seqs.map((q) => q[i])));
  });
  // Python's range(): one to three integers, a step other than 0 (nunjucks' compared whatever it
  // was given: `range('a')` and `range(none)` looped over nothing, `range('3')` counted to 3, a step
  // of 0 was 1, a fourth argument dropped)
  env.addGlobal('range', (...args: unknown[]) => {
    const [pos, kw] = kwargs(args);
    if (Object.keys(kw).length) throw new Error(`range() takes no keyword arguments (given ${Object.keys(kw).join(', ')}=)`);
    if (pos.length === 0) throw new Error('range expected at least 1 argument, got 0');
    if (pos.length > 3) throw new Error(`range expected at most 3 arguments, got ${pos.length}`);
    const ints = pos.map((a) => {
      if (typeof a === 'boolean') return a ? 1 : 0;
      if (typeof a === 'number' && Number.isInteger(a)) return a;
      throw new Error(`range(): '${a === undefined ? 'Undefined' : pyType(a)}' object cannot be interpreted as an integer`);
    });
    const [start, stop, step] = ints.length === 1 ? [0, ints[0], 1] : [ints[0], ints[1], ints[2] ?? 1];
    if (step === 0) throw new Error('range() arg 3 must not be zero');
    const out: number[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
    return out;
  });
  env.addGlobal('__vigil_setattr', (obj: unknown, key: string, value: unknown) => {
    if (!obj || typeof obj !== 'object') throw new Error(`cannot set '${key}': only a namespace() (or a dict) takes {% set x.${key} = ... %}`);
    (obj as Record<string, unknown>)[key] = value;
    return '';
  });
  env.addExtension('DoExtension', {
    [JINJA_MARK]: true,
    tags: ['do'],
    parse(parser: { nextToken(): { value: string; lineno: number; colno: number }; parseExpression(): unknown; advanceAfterBlockEnd(v: string): void }, nodes: { NodeList: new (l: number, c: number, children: unknown[]) => unknown; CallExtension: new (ext: unknown, prop: string, args: unknown) => unknown }) {
      const tok = parser.nextToken();
      const expr = parser.parseExpression();
      parser.advanceAfterBlockEnd(tok.value);
      return new nodes.CallExtension(this, 'run', new nodes.NodeList(tok.lineno, tok.colno, [expr]));
    },
    run: () => '',
  } as unknown as nunjucks.Extension);
  addLoopControls(env);
  addWithBlocks(env);
  env.addFilter('tojson', (v: unknown, ...raw: unknown[]) => {
    const [args, kw] = kwargs(raw);
    return pyJson(v, unbox(kw.indent ?? args[0]));
  });
  env.addFilter('map', function (this: { env: nunjucks.Environment }, seq: unknown, ...raw: unknown[]) {
    const [args, kw] = kwargs(raw);
    const items = itemsOf(seq);
    const list = Array.isArray(items) ? items : seq && typeof seq === 'object' ? Object.keys(seq) : [];
    // (Jinja's: attribute= only without a filter's name; `map('groupby', attribute='a')` calls groupby with it)
    if (!args.length && (typeof kw.attribute === 'string' || typeof kw.attribute === 'number')) {
      // (Jinja's FilterArgumentError: a misspelt `default` was dropped, the missing attributes left undefined)
      for (const k of Object.keys(kw)) {
        if (k === 'attribute' || k === 'default') continue;
        const hint = didYouMean(k, ['attribute', 'default']);
        throw new Error(`filter 'map' has no argument '${k}'${hint ? ` — did you mean '${hint}'?` : ''} (with attribute=, it takes default=)`);
      }
      return list.map((x) => attr(x, String(kw.attribute)) ?? kw.default);
    }
    const [name, ...rest] = args as [string, ...unknown[]];
    if (typeof name !== 'string') throw new Error("map() takes attribute='name' or a filter's name: map('upper')");
    const f = env.getFilter(name) as (...a: unknown[]) => unknown;
    // the filter's keyword arguments passed on to it, as Jinja's map does (were dropped: `map('round',
    // precision=2)` rounded to 0, `map('replace', '-', new='+')` lacked its new; a misspelt one unsaid)
    const last = raw[raw.length - 1];
    const pass = isKw(last) ? [...rest, last] : rest;
    return list.map((x) => f.call(this, x, ...pass));
  });
  env.addFilter('selectattr', selectBy(true));
  env.addFilter('rejectattr', selectBy(false));
  pythonFilters(env);
}

/**
 * Jinja's parameters of the filters nunjucks has as plain functions (positional only): a keyword
 * argument is put in its place (`sum(attribute='a')`), an unknown one is an error (nunjucks took
 * the keywords' object for the first parameter).
 */
const FILTER_PARAMS: Record<string, string[]> = {
  abs: [], batch: ['linecount', 'fill_with'], capitalize: [], center: ['width'], default: ['default_value', 'boolean'], d: ['default_value', 'boolean'],
  dictsort: ['case_sensitive', 'by', 'reverse'], escape: [], e: [], first: [], float: ['default'], int: ['default', 'base'], groupby: ['attribute', 'default', 'case_sensitive'], indent: ['width', 'first', 'blank'], items: [], join: ['d', 'attribute'],
  last: [], length: [], count: [], list: [], lower: [], unique: ['case_sensitive', 'attribute'], min: ['case_sensitive', 'attribute'], max: ['case_sensitive', 'attribute'], replace: ['old', 'new', 'count'], reverse: [], round: ['precision', 'method'], safe: [], slice: ['slices', 'fill_with'],
  string: [], striptags: [], sum: ['attribute', 'start'], title: [], trim: ['chars'], truncate: ['length', 'killwords', 'end', 'leeway'], upper: [], urlencode: [], wordcount: [],
  // (nunjucks' sort took its keywords itself and dropped a misspelt one: `sort(revers=true)` did not reverse)
  sort: ['reverse', 'case_sensitive', 'attribute'], tojson: ['indent'],
};
/**
 * How many of a filter's first FILTER_PARAMS Jinja requires: without them its TypeError (was:
 * `'a-b' | replace('-')` printed `aundefinedb` into the SQL, `| batch` or `| groupby` gave an empty or
 * one-group list).
 */
const REQUIRED_FILTER_PARAMS: Record<string, number> = { replace: 2, batch: 1, slice: 1, groupby: 1 };

/** Jinja's filters Vigil has not, and what to write instead (said where one is used, not a did-you-mean of another). */
const JINJA_FILTERS_NOT_IN_VIGIL: Record<string, string> = {
  wordwrap: "Python's textwrap, which it wraps with, is not reimplemented: break the text into lines where you write it",
  xmlattr: 'a model renders SQL, not HTML',
  pprint: "print the value itself, or `| tojson(indent=2)`",
  attr: "write the attribute itself, `x.name` (a dict's item: `x['name']`)",
  filesizeformat: "format the size in SQL, or with `'%.1f MB' | format(n / 1000000)`",
};
/** Jinja's filters of text: a value that is not a string is made one (Python's str()). */
const TEXT_FILTERS = new Set(['capitalize', 'center', 'escape', 'e', 'forceescape', 'indent', 'lower', 'replace', 'striptags', 'title', 'trim', 'truncate', 'upper', 'urlencode', 'wordcount']);
/** Jinja's filters of a sequence (or a string, a dict): Python's TypeError on a number or a bool. */
const SEQUENCE_FILTERS = new Set(['batch', 'count', 'first', 'join', 'last', 'length', 'list', 'map', 'max', 'min', 'reject', 'rejectattr', 'reverse', 'select', 'selectattr', 'slice', 'sort', 'unique']);

/** `f()`, an error it throws named by the filter (as the fast path names it: fast-render.ts). */
function named(filter: string, f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith(`filter '${filter}'`) && !(e as { lineno?: unknown }).lineno) e.message = `filter '${filter}': ${e.message}`;
    throw e;
  }
}

/**
 * Python's int(text, base) (white space around it stripped, `_` between digits, a sign; base 0
 * takes the prefix 0x / 0o / 0b, else decimal without leading zeros; base 16, 8, 2 take their
 * prefix too); undefined where Python's raises ValueError.
 */
export function pyIntOf(text: string, base: unknown): number | undefined {
  let b = typeof base === 'number' ? base : Number.NaN;
  if (!Number.isInteger(b) || b === 1 || b < 0 || b > 36) return undefined;
  const sign = /^[-+]/.test(text) ? text[0] : '';
  let body = text.slice(sign.length);
  const prefix = /^0([xob])/i.exec(body)?.[1].toLowerCase();
  const prefixBase = prefix === 'x' ? 16 : prefix === 'o' ? 8 : prefix === 'b' ? 2 : undefined;
  if (prefixBase !== undefined && (b === 0 || b === prefixBase)) {
    b = prefixBase;
    // (an underscore may follow the prefix: 0x_ff)
    body = body.slice(2).replace(/^_/, '');
  } else if (b === 0) {
    b = 10;
    if (/^0+_?[1-9]/.test(body)) return undefined;
  }
  const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, b);
  if (!new RegExp(`^[${digits}](?:_?[${digits}])*$`, 'i').test(body)) return undefined;
  const n = parseInt(body.replace(/_/g, ''), b);
  // past 2^53 the number may not be the text's (`'9007199254740993' | int` read 9007199254740992)
  if (n >= EXACT_INT_LIMIT) {
    let exact = 0n;
    for (const d of body.replace(/_/g, '').toLowerCase()) exact = exact * BigInt(b) + BigInt(digits.indexOf(d));
    if (exact !== BigInt(n)) throw new Error(`int(): '${text}' is the integer ${sign === '-' ? '-' : ''}${exact}, ${PAST_EXACT} (it would be read as ${sign === '-' ? -n : n}): compute it in SQL, or keep it a string`);
  }
  return sign === '-' ? -n : n;
}

/** A dict where Jinja iterates one: its keys. */
const keysOf = (v: unknown): unknown => (isPlainObject(v) ? Object.keys(v) : v);
/** What Jinja iterates: a dict's keys, a string's characters (`'abc' | join('-')` is `a-b-c`). */
const itemsOf = (v: unknown): unknown => (asText(v) !== undefined ? [...asText(v)!] : keysOf(v));

function pythonFilters(env: nunjucks.Environment): void {
  const get = (name: string) => env.getFilter(name) as (this: unknown, ...a: unknown[]) => unknown;
  // Jinja's default: with `boolean` true, the default replaces any false value by Python's truth
  // (an empty list or dict too); without it, only an undefined one
  // (an inline if without else, its condition false, is undefined to it: NO_ELSE)
  for (const name of ['default', 'd']) env.addFilter(name, (v: unknown, def?: unknown, boolean: unknown = false) => ((pyTruth(boolean) ? pyTruth(v) : v !== undefined && v !== NO_ELSE) ? v : def));
  // Python's float(): `7 | float` is 7.0, printed so (py-values.ts)
  env.addFilter('float', (v: unknown, def?: unknown) => {
    const x = parseFloat(String(unbox(v)));
    return Number.isNaN(x) ? (def === undefined ? 0 : def) : pyFloat(x);
  });
  // Jinja's int: Python's int() of a string (in `base`; base 0 reads the prefix 0x, 0o, 0b), of a
  // number (truncated), else of float() of it (`'3.9' | int` is 3); `default` (0) for what it
  // cannot read (nunjucks' gave undefined)
  env.addFilter('int', (v: unknown, def: unknown = 0, base: unknown = 10) => {
    const x = typeof v === 'boolean' ? Number(v) : unbox(v);
    if (typeof x === 'number') return Number.isFinite(x) ? Math.trunc(x) : def;
    const text = asText(x)?.trim();
    if (text === undefined) return def;
    const n = pyIntOf(text, unbox(base));
    if (n !== undefined) return n;
    return /^[-+]?(?:\d(?:_?\d)*\.?(?:\d(?:_?\d)*)?|\.\d(?:_?\d)*)(?:e[-+]?\d(?:_?\d)*)?$/i.test(text) ? Math.trunc(parseFloat(text.replace(/_/g, ''))) : def;
  });
  // Jinja's unique, min and max: by the items (or their `attribute`), strings compared without
  // their case unless case_sensitive; unique keeps the first of each, min / max the first found;
  // min / max of nothing is undefined
  const keyed = (v: unknown, caseSensitive: unknown, attribute: unknown) => {
    const items = keysOf(v);
    const list = Array.isArray(items) ? items : asText(items) !== undefined ? [...asText(items)!] : undefined;
    if (!list) throw new Error(`'${pyType(v)}' object is not iterable`);
    const key = (x: unknown) => {
      const k = attribute === null || attribute === undefined ? x : attr(x, String(attribute));
      return !pyTruth(caseSensitive) && asText(k) !== undefined ? asText(k)!.toLowerCase() : k;
    };
    return list.map((x) => [x, key(x)] as const);
  };
  env.addFilter('unique', (v: unknown, caseSensitive: unknown = false, attribute: unknown = null) => {
    const seen: unknown[] = [];
    const out: unknown[] = [];
    for (const [x, k] of keyed(v, caseSensitive, attribute)) {
      if (seen.some((s) => pyEqual(s, k))) continue;
      seen.push(k);
      out.push(x);
    }
    return out;
  });
  for (const [name, sign] of [['min', -1], ['max', 1]] as const) {
    env.addFilter(name, (v: unknown, caseSensitive: unknown = false, attribute: unknown = null) => {
      const pairs = keyed(v, caseSensitive, attribute);
      if (!pairs.length) return undefined;
      let best = pairs[0];
      for (const p of pairs.slice(1)) if (pyCompare(p[1], best[1]) * sign > 0) best = p;
      return best[0];
    });
  }
  // Jinja's center: Python's str.center (the width in characters, an emoji one; the odd space
  // where Python puts it: 'ab' | center(5) is '  ab '; nunjucks' counted UTF-16 units, the odd space after)
  env.addFilter('center', (v: unknown, width: unknown = 80) => {
    const text = asText(v);
    return text === undefined ? v : PY_STR_METHODS.center.call(text, width);
  });
  // Jinja's trim: the characters given (`'xxaxx' | trim('x')` is `a`; nunjucks' took none), else white space
  env.addFilter('trim', (v: unknown, chars: unknown = null) => {
    const text = asText(v);
    if (text === undefined) return v;
    return pyStrip(text, chars);
  });
  // Jinja's title: a word begins after white space, '-', '(', '{', '[' or '<' (`'a-b' | title` is `A-B`;
  // nunjucks' began one after a space only); each word's first character upper, the rest lower
  env.addFilter('title', (v: unknown) => {
    const text = asText(v);
    if (text === undefined) return v;
    return text.split(/([-\s({[<]+)/u).filter((w) => w !== '').map((w) => { const [first, ...rest] = w; return first.toUpperCase() + rest.join('').toLowerCase(); }).join('');
  });
  // Jinja's wordcount: the runs of Python's \w (letters and digits of any script, and '_'); 0 for
  // none (nunjucks' gave none for '' and split 'naïve' in two)
  env.addFilter('wordcount', (v: unknown) => {
    const text = asText(v);
    if (text === undefined) return v;
    return text.match(/[\p{L}\p{N}_]+/gu)?.length ?? 0;
  });
  // Jinja's indent: `width` spaces (or the text given), the first line with `first`, empty lines with `blank`
  env.addFilter('indent', (v: unknown, width: unknown = 4, first: unknown = false, blank: unknown = false) => {
    const text = asText(v);
    if (text === undefined) return v;
    const pad = asText(width) ?? ' '.repeat(unbox(width) as number);
    // (Python's splitlines() of the text with a newline added: a last line break keeps its empty line)
    const lines = `${text}\n`.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/).slice(0, -1);
    const rest = lines.slice(1).map((l) => (l || pyTruth(blank) ? pad + l : l));
    const out = [lines[0], ...rest].join('\n');
    return pyTruth(first) ? pad + out : out;
  });
  // a string's length in characters, as Python's len() (nunjucks': UTF-16 units, '😀' was 2)
  const utf16Length = get('length');
  env.addFilter('length', function (this: unknown, v: unknown) {
    return typeof v === 'string' || v instanceof String ? [...String(v)].length : utf16Length.call(this, v);
  });
  // Jinja's length's other name, and its items(): a dict's (key, value) pairs (an undefined one: none)
  env.addFilter('count', function (this: unknown, v: unknown) {
    return get('length').call(this, v);
  });
  env.addFilter('items', (v: unknown) => {
    if (v === undefined || v === NO_ELSE) return [];
    if (!isPlainObject(v)) throw new Error(`Can only get item pairs from a mapping, not ${pyType(v)}`);
    return Object.entries(v).map((e) => tuple(e));
  });
  // Jinja's batch: the last list filled with `fill_with` unless it is none ('' and 0 too; nunjucks' took a false one for none)
  // Jinja's loop, as Python runs it: a batch is cut when it holds `linecount` items (`batch(0)` looped
  // forever here, until the process ran out of memory; Jinja's makes `[[], [1, 2, 3]]`)
  env.addFilter('batch', (v: unknown, linecount: unknown, fillWith: unknown = null) => {
    const items = itemsOf(v);
    if (!Array.isArray(items)) throw new Error(`'${pyType(v)}' object is not iterable`);
    const raw = unbox(linecount);
    // (Python's len(tmp) == linecount: a number, True as 1; anything else never equal)
    const n = typeof raw === 'boolean' ? Number(raw) : typeof raw === 'number' ? raw : NaN;
    const out: unknown[][] = [];
    let tmp: unknown[] = [];
    for (const x of items) {
      if (tmp.length === n) {
        out.push(tmp);
        tmp = [];
      }
      tmp.push(x);
    }
    if (tmp.length) {
      if (fillWith !== null && fillWith !== undefined) {
        if (Number.isNaN(n)) throw new Error(`TypeError: '<' not supported between instances of 'int' and '${pyType(linecount)}'`);
        while (tmp.length < n) tmp.push(fillWith);
      }
      out.push(tmp);
    }
    return out;
  });
  // Jinja's slice, as Python runs it: `slices` an integer (`slice(0)` is its ZeroDivisionError, was an
  // empty list), a fill_with of 0 or '' filled in (nunjucks' took a false one for none), a string cut
  // into lists of its characters
  env.addFilter('slice', (v: unknown, slices: unknown, fillWith: unknown = null) => {
    const seq = itemsOf(v);
    if (!Array.isArray(seq)) throw new Error(`'${pyType(v)}' object is not iterable`);
    const raw = unbox(slices);
    const n = typeof raw === 'boolean' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || slices instanceof PyFloat) throw new Error(`TypeError: '${slices === undefined ? 'Undefined' : pyType(slices)}' object cannot be interpreted as an integer`);
    if (n === 0) throw new Error('ZeroDivisionError: integer division or modulo by zero (slice(0))');
    const per = Math.floor(seq.length / n);
    const extra = ((seq.length % n) + n) % n;
    const out: unknown[][] = [];
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const start = offset + i * per;
      if (i < extra) offset++;
      const tmp = seq.slice(start, offset + (i + 1) * per);
      if (fillWith !== null && fillWith !== undefined && i >= extra) tmp.push(fillWith);
      out.push(tmp);
    }
    return out;
  });
  // Python's abs(): a float stays one (2.0 | abs is 2.0)
  env.addFilter('abs', (v: unknown) => {
    const x = typeof v === 'boolean' ? Number(v) : unbox(v);
    if (typeof x !== 'number') throw new Error(`bad operand type for abs(): '${pyType(v)}'`);
    return v instanceof PyFloat ? pyFloat(Math.abs(x)) : Math.abs(x);
  });
  // Jinja's round: Python's round() (a tie to even, on the float's exact value; an int stays an
  // int), or math.ceil / math.floor at the precision (a float)
  env.addFilter('round', (v: unknown, precision: unknown = 0, method: unknown = 'common') => {
    const places = unbox(precision) as number;
    if (method === 'common') return pyRound(v, places);
    if (method !== 'ceil' && method !== 'floor') throw new Error('method must be common, ceil or floor');
    const x = typeof v === 'boolean' ? Number(v) : unbox(v);
    if (typeof x !== 'number') throw new Error(`must be real number, not ${pyType(v)}`);
    return pyFloat(Math[method](x * 10 ** places) / 10 ** places);
  });
  // Jinja's truncate: the length counts the end marker; a text at most `leeway` (5) longer is left whole
  env.addFilter('truncate', (v: unknown, length: unknown = 255, killwords: unknown = false, end: unknown = '...', leeway: unknown = 5) => {
    const chars = [...(asText(v) ?? String(pyStr(v)))];
    const [n, marker, slack] = [unbox(length) as number, String(end), (unbox(leeway) ?? 5) as number];
    if (n < marker.length) throw new Error(`expected length >= ${marker.length}, got ${n}`);
    if (slack < 0) throw new Error(`expected leeway >= 0, got ${slack}`);
    if (chars.length <= n + slack) return chars.join('');
    const head = chars.slice(0, n - marker.length).join('');
    // (else the last word cut is dropped: Python's rsplit(' ', 1)[0])
    return (killwords || !head.includes(' ') ? head : head.slice(0, head.lastIndexOf(' '))) + marker;
  });
  // Jinja's groupby: (grouper, list) tuples sorted by the grouper (case-insensitive unless asked),
  // each with .grouper and .list; nunjucks gave a dict
  env.addFilter('groupby', (v: unknown, attribute: unknown, def: unknown = null, caseSensitive: unknown = false) => {
    const items = keysOf(v);
    if (!Array.isArray(items)) throw new Error(`groupby() takes a list, not ${pyType(v)}`);
    const key = (x: unknown, fold: boolean) => {
      const found = attr(x, String(attribute));
      const k = found === undefined && def !== null ? def : found;
      return fold && typeof k === 'string' ? k.toLowerCase() : k;
    };
    const groups: unknown[][] = [];
    for (const x of [...items].sort((a, b) => pyCompare(key(a, !caseSensitive), key(b, !caseSensitive)))) {
      const last = groups[groups.length - 1];
      if (last && pyEqual(key(last[0], !caseSensitive), key(x, !caseSensitive))) last.push(x);
      else groups.push([x]);
    }
    return groups.map((list) => {
      const grouper = key(list[0], false);
      return Object.defineProperties(tuple([grouper, list]), { grouper: { value: grouper }, list: { value: list } });
    });
  });
  // Jinja's dictsort: (key, value) tuples, by key or by value, case-insensitive unless asked
  env.addFilter('dictsort', (v: unknown, caseSensitive: unknown = false, by: unknown = 'key', reverse: unknown = false) => {
    if (!isPlainObject(v)) throw new Error(`dictsort() takes a dict, not ${pyType(v)}`);
    if (by !== 'key' && by !== 'value') throw new Error('You can only sort by either "key" or "value"');
    const at = by === 'key' ? 0 : 1;
    const fold = (x: unknown) => (!caseSensitive && typeof x === 'string' ? x.toLowerCase() : x);
    return Object.entries(v).map((e) => tuple(e)).sort((a, b) => pyCompare(fold(a[at]), fold(b[at])) * (reverse ? -1 : 1));
  });
  // Python's sum(): `+` as Python's (lists joined with start=[]), from `start`
  env.addFilter('sum', (v: unknown, attribute: unknown = null, start: unknown = 0) => {
    const items = keysOf(v);
    if (!Array.isArray(items)) throw new Error(`sum() takes a list, not ${pyType(v)}`);
    return items.reduce((acc: unknown, x) => pyArith('+', acc, attribute === null ? x : attr(x, String(attribute))), start);
  });
  // Jinja's sort, as Python's sorted() runs it (nunjucks' compared with JavaScript's `<`: `[[10], [9]]`
  // stayed in that order, compared as the text '10' < '9'; `[1, 'a']` and `[none, 1]` sorted where
  // Python raises its TypeError; `attribute='a,b'`, Jinja 3.1's sort by several attributes, was
  // refused as "resolved to undefined"). Stable, also reversed, as Python's.
  env.addFilter('sort', (v: unknown, reverse: unknown = false, caseSensitive: unknown = false, attribute: unknown = null) => {
    const items = Array.isArray(v) ? v : typeof v === 'string' ? [...v] : v === null || v === undefined ? v : undefined;
    if (!Array.isArray(items)) throw new Error(`sort(): '${pyType(v)}' object is not iterable`);
    const parts: Array<string | null> = attribute === null || attribute === undefined ? [null] : typeof attribute === 'string' ? attribute.split(',') : [String(unbox(attribute))];
    const keys = items.map((x, i) =>
      parts.map((p) => {
        let k = p === null ? x : attr(x, p);
        if (k === undefined) throw new Error(`sort(attribute='${String(attribute)}'): item ${i} has no '${p}'`);
        if (!pyTruth(caseSensitive) && typeof k === 'string') k = k.toLowerCase();
        return k;
      }),
    );
    const order = items.map((_, i) => i);
    const sign = pyTruth(reverse) ? -1 : 1;
    order.sort((a, b) => {
      for (let j = 0; j < parts.length; j++) {
        const c = pyCompare(keys[a][j], keys[b][j]);
        if (c) return sign * c;
      }
      return 0;
    });
    return order.map((i) => items[i]);
  });
  // a dict iterated: its keys, as Jinja (`d | list`, `d | sort`, `d | join(',')`)
  // `list` makes a new list, as Python's list() (nunjucks' gave the list itself: `{% set b = a | list %}`
  // then `b.append(x)` appended to `a` too; a tuple stayed a tuple)
  for (const name of ['list', 'sort', 'reverse', 'first', 'last', 'select', 'reject']) {
    const f = get(name);
    env.addFilter(name, function (this: unknown, v: unknown, ...a: unknown[]) {
      // a string by characters, as its length counts them (nunjucks: by UTF-16 units, an emoji two halves)
      const text = asText(v);
      if (text !== undefined && hasAstral(text) && (name === 'list' || name === 'first' || name === 'last' || name === 'reverse')) {
        const chars = [...text];
        return name === 'list' ? chars : name === 'first' ? chars[0] : name === 'last' ? chars[chars.length - 1] : chars.reverse().join('');
      }
      const out = f.call(this, keysOf(v), ...a);
      return name === 'list' && Array.isArray(out) ? [...out] : out;
    });
  }
  // joined and made a string as Python's str() makes them (`2.0`, `{'a': 1}`), not `[object Object]`;
  // a none in the list is an error (JavaScript's join makes it '', Jinja's 'None'), an undefined
  // too (Jinja's '': a value missing unseen, as elsewhere in a template)
  const join = get('join');
  env.addFilter('join', function (this: unknown, v: unknown, ...a: unknown[]) {
    const items = itemsOf(v);
    const attribute = typeof a[1] === 'string' ? a[1] : undefined;
    if (Array.isArray(items)) {
      const value = (x: unknown) => (attribute === undefined ? x : (x as Record<string, unknown> | null)?.[attribute]);
      const at = items.findIndex((x) => value(x) == null);
      if (at >= 0) {
        // undefined: a macro parameter not passed, an attribute the item lacks (Jinja joins it as '', silently)
        const none = value(items[at]) === null;
        const what = attribute === undefined ? `item ${at} of the list is ${none ? 'none' : 'undefined (a macro parameter not passed, or an attribute its object lacks)'}` : `item ${at} of the list has ${none ? `no value for '${attribute}'` : `no '${attribute}'`}`;
        const test = none ? 'none' : 'undefined';
        throw new Error(`join(): ${what}: joined it would read ${none ? "'None' in dbt, nothing here" : "'' in dbt and here, a value missing unseen"} (leave it out with ${attribute === undefined ? `| reject('${test}')` : `| rejectattr('${attribute}', '${test}')`}, or give it a value)`);
      }
    }
    return join.call(this, Array.isArray(items) && attribute === undefined ? items.map((x) => pyStr(x)) : items, ...a);
  });
  // Python's str(): none is 'None'; an undefined (a macro's parameter not passed) '', as Jinja's
  const string = get('string');
  // Jinja2's format: `value % (kwargs or args)`, Python's printf-style ('%05d' | format(42) is 00042)
  env.addFilter('format', (v: unknown, ...raw: unknown[]) => {
    const [args, kw] = kwargs(raw);
    if (args.length && Object.keys(kw).length) throw new Error("format filter: give the values by position or by name, not both (can't handle positional and keyword arguments)");
    return pyFormat(typeof v === 'string' ? v : String(pyStr(v)), Object.keys(kw).length ? kw : tuple(args));
  });
  env.addFilter('string', function (this: unknown, v: unknown) {
    return string.call(this, typeof v === 'string' ? v : v === null ? 'None' : v === undefined ? '' : pyStr(v));
  });
  const filters = (env as unknown as { filters: Record<string, unknown> }).filters;
  for (const [name, params] of Object.entries(FILTER_PARAMS)) {
    if (!filters[name]) continue;
    const f = get(name);
    const known = params;
    env.addFilter(name, function (this: unknown, v: unknown, ...raw: unknown[]) {
      const last = raw[raw.length - 1];
      // more arguments than Jinja's filter takes: its TypeError (was: `'ab' | center(5, '*')` dropped the '*' silently)
      const given = isKw(last) ? raw.length - 1 : raw.length;
      if (given > known.length) throw new Error(`filter '${name}' takes ${known.length ? `at most ${known.length} argument${known.length === 1 ? '' : 's'} (${known.join(', ')})` : 'no arguments'}, ${given} given`);
      const required = REQUIRED_FILTER_PARAMS[name] ?? 0;
      const missing = (out: unknown[]) => {
        const names = known.slice(0, required).filter((_, i) => i >= out.length || out[i] === undefined);
        // given, but undefined (`replace('-', sep)`, sep a macro parameter not passed): said so, not
        // as an argument missing (dbt reads its Undefined as '', a value lost unseen)
        const undef = names.find((n) => known.indexOf(n) in out);
        if (undef) throw new Error(`filter '${name}': its argument '${undef}' is undefined (a macro parameter not passed, or a variable not set)`);
        if (names.length) throw new Error(`filter '${name}' missing ${names.length} required argument${names.length === 1 ? '' : 's'}: ${names.map((n) => `'${n}'`).join(' and ')}`);
      };
      if (!isKw(last)) {
        missing(raw);
        return named(name, () => f.call(this, v, ...raw));
      }
      const [args, kw] = kwargs(raw);
      const out = [...args];
      for (const [k, x] of Object.entries(kw)) {
        const i = known.indexOf(k);
        if (i < 0) {
          const hint = didYouMean(k, known);
          throw new Error(`filter '${name}' has no argument '${k}'${hint ? ` — did you mean '${hint}'?` : ''} (${known.length ? `its arguments: ${known.join(', ')}` : 'it has none'})`);
        }
        if (i < args.length) throw new Error(`filter '${name}' got multiple values for argument '${k}'`);
        out[i] = x;
      }
      missing(out);
      return named(name, () => f.call(this, v, ...out));
    });
  }
  // Jinja's text filters take any value as Python's str() makes it (`0 | upper` is '0', `false |
  // upper` 'FALSE'); the filters of a sequence refuse a number or a bool, as Python does
  for (const name of [...TEXT_FILTERS, ...SEQUENCE_FILTERS]) {
    if (!filters[name]) continue;
    const f = get(name);
    env.addFilter(name, function (this: unknown, v: unknown, ...a: unknown[]) {
      const scalar = typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat;
      if (TEXT_FILTERS.has(name)) return f.call(this, v === null || v === undefined || asText(v) !== undefined || (name === 'urlencode' && !scalar) ? v : String(pyStr(v)), ...a);
      if (scalar) throw new Error(`filter '${name}': ${name === 'length' || name === 'count' ? `object of type '${pyType(v)}' has no len()` : `'${pyType(v)}' object is not iterable`}`);
      return f.call(this, v, ...a);
    });
  }
  // an unknown filter: with the nearest known one
  const getFilter = env.getFilter.bind(env);
  env.getFilter = (name: string) => {
    try {
      return getFilter(name);
    } catch (e) {
      void e;
      const jinjaOnly = JINJA_FILTERS_NOT_IN_VIGIL[name];
      if (jinjaOnly) throw new Error(`filter not found: ${name}: Jinja's ${name} filter is not in Vigil (${jinjaOnly})`);
      const hint = didYouMean(name, Object.keys(filters));
      throw new Error(`filter not found: ${name}${hint ? ` — did you mean '${hint}'?` : ''}`);
    }
  };
}
