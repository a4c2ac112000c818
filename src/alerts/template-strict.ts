/**
 * What an alert template (engine.ts) may not do quietly when it renders, beyond the names it reads
 * (which engine.ts checks by name):
 *
 * - read a member a value has not (`{{ k.nme }}` of a label's name, `{{ (events + 1).x }}`,
 *   `{{ [1, 2][5] }}`): nunjucks gave undefined, printed as empty text. Here it is an error of the
 *   template where the lookup is made, unless the lookup is tested — `is defined` (any test), `|
 *   default(...)`, `or` / `and` / `not`, or the condition of an `{% if %}` — as Jinja lets a
 *   missing attribute be tested. A member of the instance's own maps (`labels`, `values`) is
 *   engine.ts's (strict by key, with its guards), and a member of an undefined value is the
 *   undefined name's (shown as written, or a tag's error).
 * - print a number that is not finite (`{{ events / 0 }}`: Infinity; NaN).
 *
 * Installed on nunjucks' compiler, for the templates compiled through `alertCompile` only (a
 * model's templates have their own checks: jinja-compat.ts).
 */
import nunjucks from 'nunjucks';
import { didYouMean } from '../errors.js';
import { exprText, installJinjaCompat, STRING_MEMBERS } from '../compile/jinja-compat.js';
import { isPlainObject, unbox } from '../compile/py-values.js';

/** The maps of an instance a template renders with (labels, values, and their strict copies). */
export const INSTANCE_MAPS = new WeakSet<object>();

/** A member lookup that found nothing: the expression, why, the nearest member, and what it looked into. */
export interface MemberMiss {
  expr: string;
  why: string;
  /** the lookup's target has no name in it (`[1, 2][5]`): the same at every render */
  constant: boolean;
  /** by a name (`.x`, `['x']`), not a position (`[5]`) */
  byName: boolean;
  obj: unknown;
  /** the member looked for */
  key: string;
  /** the nearest member it has (a string's method) */
  hint?: string;
}

/** The member lookup that failed in the render under way (read by engine.ts when the render throws). */
export let memberMiss: MemberMiss | undefined;
export function clearMemberMiss(): void {
  memberMiss = undefined;
}

/** Compile an alert template: the checks above apply to what `compile` compiles. */
export function alertCompile<T>(compile: () => T): T {
  const before = compiling;
  compiling = true;
  try {
    return compile();
  } finally {
    compiling = before;
  }
}
let compiling = false;

type Node = { typename: string; lineno: number; colno: number; [k: string]: unknown };
type Compiler = { compile(n: unknown, f: unknown): void; _emit(code: string): void; _compileExpression(n: unknown, f: unknown): void; [k: string]: unknown };

const ungroup = (n: Node | undefined): Node | undefined => {
  while (n?.typename === 'Group' && (n.children as Node[] | undefined)?.length === 1) n = (n.children as Node[])[0];
  return n;
};

/** Whether an expression reads no name (literals, lists and dicts of them, filters on them). */
function constant(n: unknown): boolean {
  if (!n || typeof n !== 'object') return true;
  if (Array.isArray(n)) return n.every(constant);
  const node = n as Node;
  if (node.typename === 'Symbol' || node.typename === 'FunCall') return false;
  return (node.children === undefined || constant(node.children)) && ((node.fields as string[] | undefined) ?? []).every((f) => f === 'children' || f === 'name' || constant(node[f]));
}

/** What a value is, for a message. */
function describe(v: unknown): string {
  const u = unbox(v);
  if (u === null) return 'none';
  if (typeof u === 'string') return `text of ${u.length} character${u.length === 1 ? '' : 's'}`;
  if (typeof u === 'number' || typeof u === 'bigint') return 'a number';
  if (typeof u === 'boolean') return 'a boolean';
  if (Array.isArray(u)) return `a list of ${u.length} item${u.length === 1 ? '' : 's'}`;
  if (isPlainObject(u)) return 'a dict';
  return 'a value';
}

function missOf(expr: string, obj: unknown, val: unknown, isConstant: boolean): MemberMiss {
  const u = unbox(obj);
  const byName = typeof val === 'string';
  const what = describe(obj);
  const hint = !byName ? undefined : isPlainObject(u) ? didYouMean(val, Object.keys(u)) : typeof u === 'string' ? didYouMean(val, Object.keys(STRING_MEMBERS)) : undefined;
  const why = !byName ? `${what} has no item ${String(val)}` : `${isPlainObject(u) ? `${what} has no key` : `${what.replace(/ of \d+ \w+$/, '')} has no attribute`} '${val}'`;
  return { expr, why: `${why}${hint !== undefined ? ` — did you mean '${hint}'?` : ''}`, constant: isConstant, byName, obj, key: String(val), hint };
}

/** Why a printed number is refused (Infinity: a division by zero). */
const nonFinite = (expr: string, n: number) => `'${expr}' is ${n}, not a number it can print${Number.isNaN(n) ? '' : ' (a division by zero?)'}`;

// (jinja-compat's compile hooks first: these see each node before them)
installJinjaCompat();
{
  const nj = nunjucks as unknown as { compiler: { Compiler: { prototype: Compiler } }; runtime: Record<string, unknown> };
  const { runtime } = nj;
  const C = nj.compiler.Compiler.prototype;
  runtime.vigilAlertMember = (expr: string, isConstant: boolean, ...args: unknown[]) => {
    const r = (runtime.memberLookup as (...a: unknown[]) => unknown)(...args);
    const [obj, val] = args;
    // (a slice has four arguments: a list, never undefined)
    if (r !== undefined || args.length !== 2 || obj === undefined || (obj !== null && typeof obj === 'object' && INSTANCE_MAPS.has(obj))) return r;
    memberMiss = missOf(expr, obj, val, isConstant);
    throw new Error(`'${expr}' is undefined: ${memberMiss.why}`);
  };
  runtime.vigilAlertPrinted = (v: unknown, expr: string) => {
    const n = unbox(v);
    if (typeof n === 'number' && !Number.isFinite(n)) throw new Error(nonFinite(expr, n));
    return v;
  };
  /** the lookups a test, a default or a condition reads: they may find nothing */
  const tested = new WeakSet<object>();
  /** the expressions an output prints */
  const printed = new WeakSet<object>();
  const test = (n: unknown) => {
    const x = ungroup(n as Node | undefined);
    if (x?.typename === 'LookupVal') tested.add(x);
  };
  const compile = C.compile;
  C.compile = function (this: Compiler, n: unknown, frame: unknown) {
    const node = n as Node | undefined;
    if (!compiling || !node) return compile.call(this, n, frame);
    switch (node.typename) {
      case 'Is':
        test(node.left);
        break;
      case 'Filter':
        if (['default', 'd'].includes(String((node.name as Node).value))) test(((node.args as Node).children as Node[])[0]);
        break;
      case 'If':
      case 'IfAsync':
      case 'InlineIf':
        test(node.cond);
        break;
      case 'Not':
        test(node.target);
        break;
      case 'And':
      case 'Or':
        test(node.left);
        test(node.right);
        break;
      case 'Output':
        for (const c of (node.children as Node[]) ?? []) if (c.typename !== 'TemplateData') printed.add(c);
        break;
    }
    if (!printed.has(node)) return compile.call(this, n, frame);
    printed.delete(node);
    this._emit('runtime.vigilAlertPrinted(');
    compile.call(this, n, frame);
    this._emit(`, ${JSON.stringify(exprText(node))})`);
  };
  const compileLookupVal = C.compileLookupVal as (this: Compiler, n: Node, f: unknown) => void;
  C.compileLookupVal = function (this: Compiler, node: Node, frame: unknown) {
    if (!compiling || tested.has(node)) return compileLookupVal.call(this, node, frame);
    this._emit(`runtime.vigilAlertMember(${JSON.stringify(exprText(node))}, ${constant(node.target)}, (`);
    this._compileExpression(node.target, frame);
    this._emit('),');
    this._compileExpression(node.val, frame);
    this._emit(')');
  };
}
