/**
 * A quicker parse for the templates most models are: SQL text with `{{ ... }}` expressions that
 * are names, attribute lookups, calls and literals — `{{ ref('orders') }}`, `{{ config(
 * materialized='view', tags=['a']) }}`, `{{ this.schema }}`. nunjucks' parser walks ~18 levels of
 * operator precedence for every operand; for 1,000 such models that was ~90 ms of a cold compile.
 *
 * It builds the very nodes nunjucks' parser builds (same types, fields and 0-based line/column:
 * test/compile/quick-parse.test.ts compares the two on every template of the repository, edge
 * cases and thousands of generated ones) and returns undefined for anything else — a `{%` tag, a
 * comment, whitespace control, an operator, a filter, a backslash in a string, a dict, a name it
 * does not take — so nunjucks parses that template (and reports its errors) as before.
 */
import nunjucks from 'nunjucks';
import { pyFloat } from './py-values.js';

type AnyNode = { typename: string; lineno: number; colno: number; [k: string]: unknown };

interface NodeClasses {
  Root: new (l: number, c: number, children: AnyNode[]) => AnyNode;
  Output: new (l: number, c: number, children: AnyNode[]) => AnyNode;
  TemplateData: new (l: number, c: number, value: string) => AnyNode;
  Symbol: new (l: number, c: number, value: string) => AnyNode;
  Literal: new (l: number, c: number, value: unknown) => AnyNode;
  LookupVal: new (l: number, c: number, target: AnyNode, val: AnyNode) => AnyNode;
  FunCall: new (l: number, c: number, name: AnyNode, args: AnyNode) => AnyNode;
  NodeList: new (l: number, c: number, children?: AnyNode[]) => AnyNode & { addChild(n: AnyNode): void };
  KeywordArgs: new (l: number, c: number) => AnyNode & { addChild(n: AnyNode): void; children: AnyNode[] };
  Pair: new (l: number, c: number, key: AnyNode, value: AnyNode) => AnyNode;
  Array: new (l: number, c: number) => AnyNode & { addChild(n: AnyNode): void };
}
const N = (nunjucks as unknown as { nodes: NodeClasses }).nodes;

/** nunjucks' lexer: whitespace, and the characters that end a name or a number. */
const WHITESPACE = ' \n\t\r\u00A0';
const DELIMITERS = '()[]{}%*-+~/#,:|.<>=!';
/** Names the parser gives a meaning (operators, tests, inline if): left to nunjucks. */
const KEYWORDS = new Set(['not', 'and', 'or', 'in', 'is', 'if', 'else']);
/** Names the lexer reads as literals. */
const WORD_LITERALS = new Map<string, boolean | null>([['true', true], ['false', false], ['none', null], ['null', null]]);

class Bail extends Error {}

/** The template's root node as nunjucks' parser would build it, or undefined when it is not one this parser takes. */
export function quickParse(src: string, opts: { tags?: unknown } = {}): AnyNode | undefined {
  if (opts.tags) return undefined; // custom delimiters
  let i = 0;
  let line = 0;
  let col = 0;
  const fail = (): never => {
    throw new Bail();
  };
  /** Step over src[i], counting lines as nunjucks' lexer does. */
  const forward = () => {
    if (src.charCodeAt(i) === 10) {
      line++;
      col = 0;
    } else col++;
    i++;
  };
  const skipSpace = () => {
    while (i < src.length && WHITESPACE.includes(src[i])) forward();
  };
  /** nunjucks reads a name or a number up to whitespace or a delimiter: anything else would be part of it. */
  const tokenEnds = () => {
    if (i < src.length && !WHITESPACE.includes(src[i]) && !DELIMITERS.includes(src[i])) fail();
  };
  const name = (): string => {
    const start = i;
    if (!/[A-Za-z_]/.test(src[i] ?? '')) fail();
    while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) forward();
    tokenEnds();
    return src.slice(start, i);
  };

  /** Items separated by commas up to `close` (the opening character read): no trailing comma, as in nunjucks. */
  const items = (close: string, item: () => void) => {
    for (let first = true; ; first = false) {
      skipSpace();
      if (src[i] === close) {
        forward();
        return;
      }
      if (!first) {
        if (src[i] !== ',') fail();
        forward();
      }
      item();
    }
  };

  /** An expression: a literal, a list, or a name followed by `.name` lookups and calls. */
  const expression = (): AnyNode => {
    skipSpace();
    const l = line;
    const c = col;
    const ch = src[i];
    let node: AnyNode;
    if (ch === "'" || ch === '"') {
      const end = src.indexOf(ch, i + 1);
      if (end < 0) fail();
      let value = src.slice(i + 1, end);
      // (line breaks only: what keepSpannedLines prints after a tag spanning lines)
      if (/^(?:\\n)+$/.test(value)) value = '\n'.repeat(value.length / 2);
      else if (value.includes('\\')) fail();
      while (i <= end) forward();
      node = new N.Literal(l, c, value);
    } else if (ch !== undefined && ch >= '0' && ch <= '9') {
      const start = i;
      while (i < src.length && src[i] >= '0' && src[i] <= '9') forward();
      let float = false;
      if (src[i] === '.') {
        float = true;
        forward();
        while (i < src.length && src[i] >= '0' && src[i] <= '9') forward();
      }
      tokenEnds();
      const text = src.slice(start, i);
      // (an integer past 2^53 is refused by nunjucks' parser, jinja-compat.ts)
      if (!float && BigInt(text) > 2n ** 53n) fail();
      // (a float stays one: `1.0`, as nunjucks' parser gives it with Vigil's jinja-compat.ts)
      node = new N.Literal(l, c, float ? pyFloat(parseFloat(text)) : parseInt(text, 10));
    } else if (ch === '[') {
      forward();
      const list = new N.Array(l, c);
      items(']', () => list.addChild(expression()));
      node = list;
    } else {
      const word = name();
      if (KEYWORDS.has(word)) fail();
      node = WORD_LITERALS.has(word) ? new N.Literal(l, c, WORD_LITERALS.get(word)) : new N.Symbol(l, c, word);
    }
    // postfix: .name and (arguments)
    for (;;) {
      skipSpace();
      const pl = line;
      const pc = col;
      if (src[i] === '.') {
        forward();
        skipSpace();
        const vl = line;
        const vc = col;
        const word = name();
        // `true`, `none`... after a dot are not names to nunjucks' lexer
        if (WORD_LITERALS.has(word)) fail();
        node = new N.LookupVal(pl, pc, node, new N.Literal(vl, vc, word));
      } else if (src[i] === '(') {
        forward();
        const args = new N.NodeList(pl, pc);
        const kwargs = new N.KeywordArgs(pl, pc);
        items(')', () => {
          const arg = expression();
          skipSpace();
          if (src[i] === '=' && src[i + 1] !== '=') {
            forward();
            kwargs.addChild(new N.Pair(arg.lineno, arg.colno, arg, expression()));
          } else args.addChild(arg);
        });
        if (kwargs.children.length) args.addChild(kwargs);
        node = new N.FunCall(pl, pc, node, args);
      } else return node;
    }
  };

  try {
    const children: AnyNode[] = [];
    while (i < src.length) {
      const l = line;
      const c = col;
      if (src[i] === '{' && src[i + 1] === '{') {
        forward();
        forward();
        if (src[i] === '-') fail(); // whitespace control
        const e = expression();
        skipSpace();
        if (src[i] !== '}' || src[i + 1] !== '}') fail();
        forward();
        forward();
        children.push(new N.Output(l, c, [e]));
        continue;
      }
      // template text up to the next tag
      const start = i;
      while (i < src.length) {
        const ch = src[i];
        if (ch === '{') {
          const next = src[i + 1];
          if (next === '{') break;
          if (next === '%' || next === '#') fail(); // a statement or a comment
        } else if (ch === '#' && src[i + 1] === '}') fail(); // nunjucks: unexpected end of comment
        forward();
      }
      children.push(new N.Output(l, c, [new N.TemplateData(l, c, src.slice(start, i))]));
    }
    return new N.Root(0, 0, children);
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}
