/**
 * A fast path for rendering model templates: parse with nunjucks' own parser, then walk
 * the AST directly instead of generating, compiling and running JavaScript per template.
 * That codegen + `new Function` is ~80% of nunjucks' cost on small templates, and models
 * are rendered once or twice each, so it never pays for itself.
 *
 * Only a subset of node types is interpreted (output, calls, literals, lookups, if/elif,
 * set, arithmetic, comparisons, filters). On anything else (for loops, macro definitions,
 * call blocks, includes, ...) `renderFast` throws UnsupportedTemplate and the caller renders
 * the template with nunjucks itself, so behaviour never differs; a differential test checks
 * the two paths agree.
 */
import nunjucks from 'nunjucks';
import { didYouMean } from '../errors.js';
import { dateTimeMember, isRunInstant } from './py-datetime.js';
import { ABSENCE_FILTERS, asText, compareValues, dbtOnlyName, dictKey, exprStart, exprText, inOperator, noMethod, NONE_FILTERS, NONE_JOINED, noneFiltered, noneUsed, testedFunction, PRINTED_NON_FINITE, PRINTS_NOTHING, printedText, repeatedKeyword, repeatedKeywordIn, placeholderFiltered, placeholderUsed, KEEPING_METHODS, RelationPlaceholder, STRING_MEMBERS, LIST_METHODS, DICT_METHODS, jsOnlyMember } from './jinja-compat.js';
import { astralItem, inexactInt, isPlainObject, NAMESPACE, NO_ELSE, pyArith, pyIndex, pyStr, pyTruth, tuple } from './py-values.js';
import { quickParse } from './quick-parse.js';

type AnyNode = {
  typename: string;
  lineno: number;
  colno: number;
  [k: string]: unknown;
};

interface NunjucksInternals {
  parser: { parse(src: string, extensions: unknown[], opts: unknown): AnyNode };
  runtime: { makeKeywordArgs(o: Record<string, unknown>): Record<string, unknown>; SafeString: new (s: string) => unknown };
}
const nj = nunjucks as unknown as NunjucksInternals;

export interface FastTemplate {
  readonly root: AnyNode;
}

/** Thrown for template errors found while interpreting; line/column are 1-based. */
export class FastRenderError extends Error {
  constructor(message: string, readonly line: number, readonly column: number) {
    super(message);
  }
}

/** Thrown when a template uses a node type this path does not interpret: render with nunjucks. */
export class UnsupportedTemplate extends Error {}

const ARITH: Record<string, string> = { Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', FloorDiv: '//', Pow: '**' };

/** Methods nunjucks' installJinjaCompat() (and jinja-compat.ts) gives dicts, lists and strings: rendered by nunjucks. */
const PYTHON_METHODS = new Set([...LIST_METHODS, ...DICT_METHODS, 'capitalize', 'upper', 'lower', 'strip', 'lstrip', 'rstrip', 'split', 'startswith', 'endswith', 'isdigit', 'isalpha', 'replace', 'join', 'title', 'center']);

/**
 * Parse a template. Throws nunjucks' own parse error (with 1-based `lineno`/`colno`) on a
 * syntax error. Whether every node is supported is found out while rendering (checking up
 * front cost as much as rendering): `renderFast` throws UnsupportedTemplate.
 */
export function fastTemplate(src: string, env: nunjucks.Environment): FastTemplate {
  const opts = (env as unknown as { opts: { tags?: unknown } }).opts;
  // most models are text and {{ calls }}: the same nodes without nunjucks' parser (quick-parse.ts);
  // the environment's extensions ({% do %}) parse in nunjucks' parser; their nodes are rendered by nunjucks
  const root = quickParse(src, opts) ?? nj.parser.parse(src, (env as unknown as { extensionsList: unknown[] }).extensionsList ?? [], opts);
  // a keyword argument given twice is refused with the template, wherever it is, taken or not
  // (as Jinja does when it parses; nunjucks' compile does the same: jinja-compat.ts)
  const twice = mayRepeatKeyword(src) ? repeatedKeywordInTree(root) : undefined;
  if (twice) throw new FastRenderError(repeatedKeyword(twice.key), twice.node.lineno + 1, twice.node.colno + 1);
  return { root };
}

/** Whether some `name=` (not `==`) is written twice in the text: only then can a call repeat a keyword. */
function mayRepeatKeyword(src: string): boolean {
  const seen = new Set<string>();
  for (const m of src.matchAll(/\b([A-Za-z_]\w*)\s*=(?!=)/g)) {
    if (seen.has(m[1])) return true;
    seen.add(m[1]);
  }
  return false;
}

/** The first call in `n` that names a keyword argument twice. */
function repeatedKeywordInTree(n: unknown): ReturnType<typeof repeatedKeywordIn> {
  if (!n || typeof n !== 'object') return undefined;
  if (Array.isArray(n)) {
    for (const c of n) {
      const r = repeatedKeywordInTree(c);
      if (r) return r;
    }
    return undefined;
  }
  const node = n as AnyNode;
  if (typeof node.typename !== 'string') return undefined;
  if (node.typename === 'KeywordArgs') {
    const r = repeatedKeywordIn(node);
    if (r) return r;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === 'typename' || k === 'lineno' || k === 'colno' || !v || typeof v !== 'object') continue;
    const r = repeatedKeywordInTree(v);
    if (r) return r;
  }
  return undefined;
}

/** `{{ ref }}`: a function printed where its call was meant (the message of both renderers). */
export function printedFunction(expr: string | undefined): string {
  return `${expr ? `'${expr}'` : 'a value'} is a function: call it (${expr ?? 'name'}(...)); printed, it would put its code into the SQL`;
}

export function renderFast(t: FastTemplate, env: nunjucks.Environment, ctx: Record<string, unknown>): string {
  const globals = (env as unknown as { globals: Record<string, unknown> }).globals;
  const frame = new Map<string, unknown>();
  const known = () => [...frame.keys(), ...Object.keys(ctx), ...Object.keys(globals)];
  /**
   * An unknown name, or an attribute a value does not have (`message`: its error): an error
   * wherever it is used, except as an argument (`x | default('y')`, `d.missing | default('y')`).
   */
  class Undef {
    constructor(
      readonly name: string,
      readonly node: AnyNode,
      readonly message?: string,
    ) {}
  }
  const lookup = (name: string, at: AnyNode): unknown => {
    if (frame.has(name)) return frame.get(name);
    if (name in ctx) return ctx[name];
    if (name in globals) return globals[name];
    // Jinja's constants (nunjucks' installJinjaCompat looks them up the same way, last)
    if (name === 'True') return true;
    if (name === 'False') return false;
    if (name === 'None') return null;
    return new Undef(name, at);
  };
  /** `member`: the attribute read of it (`other.my_macro`): nothing near its name, a macro's name there is the hint */
  const strict = (v: unknown, member?: unknown): unknown => {
    if (!(v instanceof Undef)) return v;
    if (v.message !== undefined) throw new FastRenderError(v.message, v.node.lineno + 1, v.node.colno + 1);
    const hint = didYouMean(v.name, known());
    const macro = !hint && typeof member === 'string' && typeof globals[member] === 'function' ? ` — did you mean ${member}(...), the macro of this project?` : '';
    throw new FastRenderError(`'${v.name}' is undefined${hint ? ` — did you mean '${hint}'?` : macro}${dbtOnlyName(v.name)}`, v.node.lineno + 1, v.node.colno + 1);
  };
  const loose = (v: unknown): unknown => (v instanceof Undef ? undefined : v);
  const fnName = (n: AnyNode): string => {
    switch (n.typename) {
      case 'Symbol':
        return String(n.value);
      case 'LookupVal':
        return `${fnName(n.target as AnyNode)}["${fnName(n.val as AnyNode)}"]`;
      case 'Literal':
        return String(n.value);
      default:
        return exprText(n);
    }
  };
  // A condition's truth (Python's: pyTruth), as ev() gives it, with and/or short-circuit, and a function tested
  // without its call refused: always true (jinja-compat.ts vigilCondition). Each operand is
  // evaluated once, as far as and/or evaluate (`x is defined and x.y` stays fine).
  const truth = (c: AnyNode): boolean => {
    if (c.typename === 'Not') return !truth(c.target as AnyNode);
    if (c.typename === 'And') return truth(c.left as AnyNode) && truth(c.right as AnyNode);
    if (c.typename === 'Or') return truth(c.left as AnyNode) || truth(c.right as AnyNode);
    if (c.typename === 'Symbol' || c.typename === 'LookupVal') {
      let root = c;
      while (root.typename === 'LookupVal') root = root.target as AnyNode;
      const exempt = root.typename === 'Symbol' && (frame.has(String(root.value)) || root.value === 'caller');
      const v = evRaw(c);
      if (!exempt && typeof loose(v) === 'function') throw new FastRenderError(testedFunction(exprText(c)), c.lineno + 1, c.colno + 1);
      return pyTruth(strict(v));
    }
    return pyTruth(ev(c));
  };
  /** `f()`, an error it throws at `n`'s position. */
  const at = <T>(n: AnyNode, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new FastRenderError(e instanceof Error ? e.message : String(e), n.lineno + 1, n.colno + 1);
    }
  };
  const evalArgs = (args: AnyNode): unknown[] => (args.children as AnyNode[]).map((c) => loose(evRaw(c)));
  const ev = (n: AnyNode): unknown => strict(evRaw(n));
  const evRaw = (n: AnyNode): unknown => {
    switch (n.typename) {
      case 'Literal':
      case 'TemplateData':
        return n.value;
      case 'Symbol':
        return lookup(String(n.value), n);
      case 'Group':
        // `(a, b)`, `(a,)`, `()`: a tuple (jinja-compat.ts pythonSyntax); `(a)` is a
        if (n.tuple) return tuple((n.children as AnyNode[]).map(ev));
        return (n.children as AnyNode[]).reduce<unknown>((_, c) => ev(c), undefined);
      case 'Array':
        return (n.children as AnyNode[]).map(ev);
      case 'Dict': {
        // a key is an expression, as in Jinja (`{k: 1}` reads k): jinja-compat.ts dictKey
        const o: Record<string, unknown> = {};
        for (const p of n.children as AnyNode[]) {
          const key = p.key as AnyNode;
          const k = key.typename === 'Literal' && typeof key.value === 'string' ? key.value : at(exprStart(key), () => dictKey(ev(key), exprText(key)));
          o[k] = ev(p.value as AnyNode);
        }
        return o;
      }
      case 'KeywordArgs': {
        // (a keyword given twice was refused when the template was parsed: fastTemplate)
        const o: Record<string, unknown> = {};
        for (const p of n.children as AnyNode[]) o[String((p.key as AnyNode).value)] = ev(p.value as AnyNode);
        return nj.runtime.makeKeywordArgs(o);
      }
      case 'LookupVal': {
        const target = evRaw(n.target as AnyNode);
        const key = ev(n.val as AnyNode) as string;
        const obj = strict(target, key) as Record<string, unknown> | null | undefined;
        if (obj === undefined || obj === null) throw new FastRenderError(`'${exprText(n.target)}' is ${obj === null ? 'none' : 'undefined'}: it has no attribute '${String(key)}'`, n.lineno + 1, n.colno + 1);
        // (`this.schema`: one of this's parts, not a use of its placeholder)
        const secret = obj instanceof RelationPlaceholder ? undefined : placeholderUsed(obj, `.${String(key)}`, KEEPING_METHODS.has(String(key)));
        if (secret) throw new FastRenderError(secret, n.lineno + 1, n.colno + 1);
        // a string's Python methods (jinja-compat.ts), not JavaScript's of the same name; a
        // macro's output (a SafeString) is a string too
        const str = asText(obj);
        if (str !== undefined && typeof key === 'string' && Object.hasOwn(STRING_MEMBERS, key)) {
          const f = STRING_MEMBERS[key];
          return (...a: unknown[]) => f.apply(str, a);
        }
        // run_started_at's datetime members (strftime, year...): its text has none of them
        const dt = dateTimeMember(obj, key);
        if (dt !== undefined) return dt;
        let v: unknown;
        try {
          // (a member JavaScript gives a list, a string or a dict, `l.pop`, `s.length`, is not Python's)
          // (a string by characters, as its length counts them)
          const astral = astralItem(str, key);
          v = astral ? astral.item : (Array.isArray(obj) && PYTHON_METHODS.has(String(key))) || jsOnlyMember(obj, key) ? undefined : obj[pyIndex(obj, key) as string];
        } catch (e) {
          throw new FastRenderError(e instanceof Error ? e.message : String(e), n.lineno + 1, n.colno + 1);
        }
        // Python's methods (d.items(), l.append(), ...) come from nunjucks' Jinja compatibility; a
        // dict's method before its item of that name (`row.items()`; `row['items']` is the item)
        if (v === undefined && PYTHON_METHODS.has(String(key))) throw new UnsupportedTemplate('Python method');
        if (!n.vigilItem && DICT_METHODS.has(String(key)) && isPlainObject(obj) && (obj as Record<symbol, unknown>)[NAMESPACE] !== true) throw new UnsupportedTemplate('Python method');
        if (v === undefined && !(typeof obj === 'object' && key in obj) && typeof obj !== 'string' && !Array.isArray(obj)) {
          const attrs = typeof obj === 'object' ? Object.keys(obj) : [];
          const hint = didYouMean(String(key), attrs);
          // (Jinja's undefined: `| default(...)` replaces it; used otherwise, the error: strict())
          return new Undef(exprText(n), n, `'${exprText(n.target)}' has no attribute '${String(key)}'${hint ? ` — did you mean '${hint}'?` : attrs.length ? ` (it has ${attrs.join(', ')})` : ''}`);
        }
        return typeof v === 'function' ? (...a: unknown[]) => (v as (...x: unknown[]) => unknown).apply(obj, a) : v;
      }
      case 'FunCall': {
        const name = fnName(n.name as AnyNode);
        const f = evRaw(n.name as AnyNode);
        if (f instanceof Undef) {
          // dbt's config.get / config.require: what to write instead, as the other renderer says (was: only "'config' has no attribute 'require'")
          const callee = n.name as AnyNode;
          const member = callee.typename === 'LookupVal' && (callee.val as AnyNode).typename === 'Literal' ? (callee.val as AnyNode).value : undefined;
          if ((member === 'get' || member === 'require') && fnName(callee.target as AnyNode) === 'config') throw new FastRenderError(noMethod('config', member, false), n.lineno + 1, n.colno + 1);
          if (f.message !== undefined) strict(f);
          // an unknown name being called: a macro or helper typo
          const hint = didYouMean(name, known());
          throw new FastRenderError(`unknown function or macro '${name}'${hint ? ` — did you mean '${hint}'?` : ''} (macros are defined in macros/*.sql)${dbtOnlyName(name)}`, f.node.lineno + 1, f.node.colno + 1);
        }
        if (!f) {
          const callee = n.name as AnyNode;
          const key = callee.typename === 'LookupVal' ? (callee.val as AnyNode) : undefined;
          if (key?.typename === 'Literal' && typeof key.value === 'string') {
            const on = evRaw(callee.target as AnyNode);
            throw new FastRenderError(noMethod(fnName(callee.target as AnyNode), key.value, typeof on === 'string', isRunInstant(on)), n.lineno + 1, n.colno + 1);
          }
          throw new FastRenderError(`'${name}' is not a function`, n.lineno + 1, n.colno + 1);
        }
        if (typeof f !== 'function') throw new FastRenderError(`Unable to call \`${name}\`, which is not a function`, n.lineno + 1, n.colno + 1);
        const args = evalArgs(n.args as AnyNode);
        try {
          return (f as (...a: unknown[]) => unknown).apply(undefined, args);
        } catch (e) {
          // (an error in a macro's own code keeps its place in the macro's file: template-env.ts)
          if (e instanceof FastRenderError || (e as { vigilFile?: string } | null)?.vigilFile) throw e;
          throw new FastRenderError(e instanceof Error ? e.message : String(e), n.lineno + 1, n.colno + 1);
        }
      }
      case 'Filter': {
        const name = String((n.name as AnyNode).value);
        let filter: (...a: unknown[]) => unknown;
        try {
          filter = env.getFilter(name) as (...a: unknown[]) => unknown;
        } catch (e) {
          throw new FastRenderError(e instanceof Error ? e.message : String(e), n.lineno + 1, n.colno + 1);
        }
        // the value filtered is strict ({{ missing | upper }} is an error, not ''), except for the
        // filters whose point is its absence
        const [value, ...rest] = (n.args as AnyNode).children as AnyNode[];
        const given = value === undefined ? undefined : ABSENCE_FILTERS.has(name) ? loose(evRaw(value)) : ev(value);
        // (Jinja's Undefined of an inline if without else: '' to the filters but default, as in jinja-compat.ts)
        const input = given === NO_ELSE && !ABSENCE_FILTERS.has(name) ? '' : given;
        if (input === null && !NONE_FILTERS.has(name)) throw new FastRenderError(noneUsed(exprText(value), noneFiltered(name)), exprStart(value).lineno + 1, exprStart(value).colno + 1);
        const secret = placeholderFiltered(input, name);
        if (secret) throw new FastRenderError(secret, n.lineno + 1, n.colno + 1);
        try {
          // (nunjucks calls a filter on the render's context: sort, select, groupby read its env)
          return filter.apply({ env, ctx }, [input, ...rest.map((c) => loose(evRaw(c)))]);
        } catch (e) {
          if (e instanceof FastRenderError) throw e;
          const message = e instanceof Error ? e.message : String(e);
          throw new FastRenderError(message.startsWith(`filter '${name}'`) ? message : `filter '${name}': ${message}`, n.lineno + 1, n.colno + 1);
        }
      }
      case 'InlineIf':
        // (no else: Jinja's Undefined, printed as nothing, replaced by | default: py-values.ts NO_ELSE)
        return truth(n.cond as AnyNode) ? ev(n.body as AnyNode) : n.else_ ? ev(n.else_ as AnyNode) : NO_ELSE;
      // Python's: an operand, by its truth (`cols or ['x']` is ['x'] when cols is empty)
      case 'Or': {
        const a = ev(n.left as AnyNode);
        return pyTruth(a) ? a : ev(n.right as AnyNode);
      }
      case 'And': {
        const a = ev(n.left as AnyNode);
        return pyTruth(a) ? ev(n.right as AnyNode) : a;
      }
      case 'Not':
        return !pyTruth(ev(n.target as AnyNode));
      case 'Neg': {
        const v = ev(n.target as AnyNode);
        return at(n, () => pyArith('neg', 0, v));
      }
      case 'Pos':
        return +(ev(n.target as AnyNode) as number);
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'Mod':
      case 'FloorDiv':
      case 'Pow':
      {
        const a = ev(n.left as AnyNode);
        const b = ev(n.right as AnyNode);
        return at(n, () => pyArith(ARITH[n.typename], a, b));
      }
      case 'Concat': {
        const [a, b] = [n.left as AnyNode, n.right as AnyNode].map((side) => {
          const v = ev(side);
          if (v === null) throw new FastRenderError(noneUsed(exprText(side), NONE_JOINED), exprStart(side).lineno + 1, exprStart(side).colno + 1);
          return v;
        });
        return at(n, () => `${String(pyStr(a))}${String(pyStr(b))}`);
      }
      case 'In': {
        // (the operands outside: their own errors at their place, a Python method's fallback to nunjucks (`'x' in d.keys()`) kept)
        const [key, coll] = [ev(n.left as AnyNode), ev(n.right as AnyNode)];
        return at(n, () => inOperator(key, coll));
      }
      case 'Compare': {
        // `a < b < c` is `a < b and b < c` (Python's chain): c evaluated only when a < b
        let left = ev(n.expr as AnyNode);
        let result: unknown = true;
        for (const op of n.ops as AnyNode[]) {
          const right = ev(op.expr as AnyNode);
          result = at(n, () => compareValues(left, String(op.type), right));
          if (!result) return result;
          left = right;
        }
        return result;
      }
      default:
        throw new UnsupportedTemplate(n.typename);
    }
  };
  let out = '';
  const exec = (n: AnyNode): void => {
    switch (n.typename) {
      case 'Root':
      case 'NodeList':
        for (const c of n.children as AnyNode[]) exec(c);
        return;
      case 'Output':
        for (const c of n.children as AnyNode[]) {
          if (c.typename === 'TemplateData') out += c.value as string;
          else {
            const v = ev(c);
            // printing nothing where a value was meant is an error, never an empty string
            if (v === undefined || v === null) throw new FastRenderError(`'${exprText(c)}' is ${v === null ? 'none' : 'undefined'}: ${PRINTS_NOTHING}`, c.lineno + 1, c.colno + 1);
            if (typeof v === 'function') throw new FastRenderError(printedFunction(exprText(c)), c.lineno + 1, c.colno + 1);
            if (typeof v === 'number' && !Number.isFinite(v)) throw new FastRenderError(`${PRINTED_NON_FINITE} (${v})`, c.lineno + 1, c.colno + 1);
            const inexact = inexactInt(v, true);
            if (inexact) throw new FastRenderError(inexact, c.lineno + 1, c.colno + 1);
            // a list, a dict, a whole float: as Python prints them (py-values.ts); an integer past 2^53 in a list or a dict is an error here too
            out += typeof v === 'string' ? v : printedText(v, (m) => new FastRenderError(m, c.lineno + 1, c.colno + 1));
          }
        }
        return;
      case 'If':
        if (truth(n.cond as AnyNode)) exec(n.body as AnyNode);
        else if (n.else_) exec(n.else_ as AnyNode);
        return;
      case 'Set':
        if (n.value === null || (n.targets as AnyNode[]).length !== 1) throw new UnsupportedTemplate('Set block');
        frame.set(String(((n.targets as AnyNode[])[0]).value), ev(n.value as AnyNode));
        return;
      default:
        throw new UnsupportedTemplate(n.typename);
    }
  };
  exec(t.root);
  return out;
}
