/**
 * The nunjucks environment models are rendered in. Built once per compile: macros are
 * compiled once and exposed as globals, and the template functions (`ref`, `source`,
 * `config`, `var`, `env_var`, `is_incremental`, dialect helpers) record what a model calls
 * into the `RenderCalls` of whichever model is being rendered right now.
 *
 * `ref()` and `source()` return placeholders (⟦ref:name⟧) that are resolved after every model
 * has been rendered, because a ref's relation depends on the referenced model's own config().
 */
import { createHash, randomUUID } from 'node:crypto';
import nunjucks from 'nunjucks';
import { TEMPLATE_HELPER_PARAMS, TEMPLATE_HELPERS, type Dialect } from '../adapters/dialect.js';
import { didYouMean } from '../errors.js';
import { isSecret, registerCompiledSecret, secretPlaceholder } from '../secrets.js';
import { fastTemplate, FastRenderError, printedFunction, renderFast, UnsupportedTemplate, type FastTemplate } from './fast-render.js';
import { isPlainObject, isTuple, PAST_EXACT, PY_ERROR_RE, pyRepr, tuple, unbox } from './py-values.js';
import { addJinjaCompat, asText, dbtOnlyName, RelationPlaceholder, isKw, noMethod, jinjaToNunjucks, PRINTED_FUNCTION, PRINTED_NONE, PRINTED_NON_FINITE, PRINTS_NOTHING, PLACEHOLDER_USE_RE, TESTED_FUNCTION_RE, UNDEFINED_USE_RE, NONE_USE_RE } from './jinja-compat.js';
import { docRef } from '../install.js';
import { runInstant } from './py-datetime.js';

/** A parsed model: interpreted directly when it can be, otherwise a nunjucks Template. */
export interface CompiledTemplate {
  path: string;
  text: string;
  fast?: FastTemplate;
  nj?: nunjucks.Template;
}

export function isTemplateError(t: CompiledTemplate | TemplateError): t is TemplateError {
  return 'message' in t;
}

export interface RenderCalls {
  refs: string[];
  sources: Array<[string, string]>;
  config: Record<string, unknown>;
  /** env vars read, each with a hash of its value (never the value: the render cache is on disk) */
  envUsed: Record<string, string | null>;
  /** the render read something that changes every run (run_started_at, invocation_id): never cached */
  volatile?: boolean;
  /** Problems found by template functions, with the call text used to locate them. */
  problems: Array<{ code: string; message: string; find?: RegExp; hint?: string }>;
  /** Project macros the template's text calls (for state:modified.macros), found when it renders. */
  macros?: string[];
  /** The names var() was asked for while it rendered (a unit test's vars are checked against them). */
  varsRead?: string[];
  /** Each var() read, with a hash of the value it gave (project vars, --vars or the call's default): state:modified.vars. */
  varsUsed?: Record<string, string>;
  /** For each pre_hook/post_hook of config(), in order: which config() call that gave the key gave it (0 the first), to find where it is written. */
  hookCalls?: Partial<Record<'pre_hook' | 'post_hook', number[]>>;
}

/**
 * One config() call added to what the model's earlier calls said, as dbt adds them up: hooks
 * and tags are appended, meta dicts merged, any other key replaced.
 */
function mergeConfigCall(calls: RenderCalls, k: Record<string, unknown>): void {
  const config = calls.config;
  for (const [key, raw] of Object.entries(k)) {
    const v = plainConfigValue(raw);
    const before = config[key];
    if ((key === 'pre_hook' || key === 'post_hook' || key === 'tags') && before !== undefined && v !== undefined && v !== null) config[key] = [...(Array.isArray(before) ? before : [before]), ...(Array.isArray(v) ? v : [v])];
    else if (key === 'meta' && before && typeof before === 'object' && v && typeof v === 'object' && !Array.isArray(v)) config[key] = { ...before, ...v };
    else config[key] = v;
    if (key === 'pre_hook' || key === 'post_hook') {
      const given = (calls.hookCalls ??= {});
      const ordinal = new Set(given[key] ?? []).size;
      given[key] = [...(given[key] ?? []), ...(Array.isArray(v) ? v : [v]).map(() => ordinal)];
    }
  }
}

/** A config() value as YAML would give it: a whole float (PyFloat, `1.0`) as its number. */
function plainConfigValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainConfigValue);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainConfigValue(x)]));
  return unbox(v);
}

/**
 * A helper's arguments in its parameters' order: keywords by the parameter names
 * (TEMPLATE_HELPER_PARAMS); one missing, one too many, an unknown keyword or none/undefined
 * given is an error (it would print `undefined` into the SQL, or be dropped).
 */
function helperArgs(helper: (typeof TEMPLATE_HELPERS)[number], raw: unknown[]): unknown[] {
  const params: readonly string[] = TEMPLATE_HELPER_PARAMS[helper];
  const sig = `${helper}(${params.join(', ')})`;
  const last = raw[raw.length - 1];
  const kw = isKw(last) ? (last as Record<string, unknown>) : {};
  const args = isKw(last) ? raw.slice(0, -1) : [...raw];
  // dbt_utils' date_spine(datepart, start_date, end_date) is not this one
  const spine = helper === 'date_spine' ? ": Vigil's gives one row per day, end_date included (dbt_utils' datepart is not taken)" : '';
  if (args.length > params.length) throw new Error(`${sig} takes ${params.length} argument${params.length === 1 ? '' : 's'}, given ${args.length}${spine}`);
  for (const [k, v] of Object.entries(kw)) {
    if (k === '__keywords') continue;
    const i = params.indexOf(k);
    if (i < 0) {
      const hint = didYouMean(k, params);
      throw new Error(`${sig} has no argument '${k}'${hint ? ` — did you mean '${hint}'?` : spine}`);
    }
    if (i < args.length) throw new Error(`${sig} got multiple values for argument '${k}'`);
    args[i] = v;
  }
  params.forEach((p, i) => {
    if (args[i] === undefined || args[i] === null) throw new Error(`${sig}: argument '${p}' is ${args[i] === null ? 'none' : 'missing'}`);
  });
  return args.map((a) => (typeof a === 'string' ? a : (unbox(a) as unknown)));
}

export function emptyCalls(): RenderCalls {
  return { refs: [], sources: [], config: {}, envUsed: {}, problems: [] };
}

export const PH_OPEN = '\u27E6';
export const PH_CLOSE = '\u27E7';
export const PLACEHOLDER_RE = /\u27E6(ref|source|this):?([^\u27E7]*)\u27E7/g;

/** The attributes `this` has, as dbt users write them: each becomes the part of the model's relation. */
export const THIS_ATTRIBUTES = ['schema', 'identifier', 'name', 'database'] as const;

export interface TemplateEnvOptions {
  dialect: Dialect;
  vars: Record<string, unknown>;
  env: Record<string, string | undefined>;
  target: Record<string, unknown>;
  /** Remember the secrets env_var() reads for reveal() (default); unit tests reveal their own env_vars. */
  registerSecrets?: boolean;
  /** The project's name: ref('<project>', 'model') is ref('model'). */
  project?: string;
  /** When this run started (run_started_at) and its id (invocation_id); default: now and a random id. */
  run?: { startedAt: Date; invocationId: string };
}

/** What `model` is while a model renders. */
export interface ModelContext {
  name: string;
  path: string;
}

/**
 * A hash of a var's value, for state:modified.vars (the manifest holds no value a --vars may have
 * passed): of its Python repr, a mapping's keys in order (`{a: 1, b: 2}` is `{b: 2, a: 1}`, as in Python).
 */
export function varStamp(value: unknown): string {
  const sorted = (v: unknown): unknown => (Array.isArray(v) ? (isTuple(v) ? tuple(v.map(sorted)) : v.map(sorted)) : isPlainObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v);
  let text: string;
  try {
    text = pyRepr(sorted(unbox(value)), false);
  } catch {
    text = String(value);
  }
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * A stamp of env var `name`'s value, for the render cache (which must never hold the value). A
 * secret's holds nothing of its value, not even a hash: an unkeyed hash of a password in
 * target/.cache/compile.bin lets whoever copies the file test guesses at it offline. Its
 * templates render only its placeholder, so what they render depends on whether it is set and
 * secret, not on its value (reveal() reads the value of the moment).
 */
export function envStamp(name: string, value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  // (an empty value renders as itself: env_var() below)
  if (value !== '' && isSecret(name, value)) return 'secret';
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

export interface TemplateError {
  message: string;
  line?: number;
  column?: number;
  /** where it is, when not in the template rendered: the macro file whose code failed */
  file?: string;
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A regex that finds `fn('arg'` in template source, to point diagnostics at the call. */
export function callFinder(fn: string, arg?: string): RegExp {
  if (arg === undefined) return new RegExp(`\\b${escapeRe(fn)}\\s*\\(`);
  // (ref's two-argument form, ref('project', 'model'): the name is its second argument)
  const first = fn === 'ref' ? `(?:["'][^"'\\n]*["']\\s*,\\s*)?` : '';
  return new RegExp(`\\b${escapeRe(fn)}\\s*\\(\\s*${first}["']${escapeRe(arg)}["']`);
}

/**
 * Where exceptions.raise_compiler_error() raised `message`: the call whose quoted text is in the
 * message (a macro may raise in several branches), else the first call.
 */
function raiseCallAt(text: string, message: string): { line: number; column: number } | undefined {
  const calls = [...text.matchAll(/\bexceptions\.raise_compiler_error\s*\(([^)]*)\)/g)];
  if (!calls.length) return undefined;
  const literals = (args: string) => [...args.matchAll(/'([^']+)'|"([^"]+)"/g)].map((m) => m[1] ?? m[2]);
  const best = calls.find((c) => literals(c[1]).some((l) => message.includes(l))) ?? calls[0];
  return lineColAt(text, best.index!);
}

/** The end of the message of exceptions.raise_compiler_error(). */
const RAISED = ' (exceptions.raise_compiler_error)';

/** Macros of macro files by their function, for a message naming the macro a call has wrong arguments for. */
const macroFunctionNames = new WeakMap<object, string>();

/** Where the built-in dbt macros are said to be (an error in one names it). */
export const DBT_BUILTIN_MACROS_FILE = '<dbt built-in macros>';

const DBT_BUILTIN_MACRO_NAMES = ['default__generate_schema_name', 'generate_schema_name_for_env', 'default__generate_alias_name'];

/** dbt's default schema naming, as dbt-core defines it: <target schema>_<custom schema>, the target's schema without one. */
export const DBT_DEFAULT_SCHEMA_MACRO = `{% macro default__generate_schema_name(custom_schema_name, node) -%}
    {%- set default_schema = target.schema -%}
    {%- if custom_schema_name is none -%}
        {{ default_schema }}
    {%- else -%}
        {{ default_schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
`;

/** dbt-core's naming macros, as dbt defines them (model versions aside: Vigil has none). */
const DBT_BUILTIN_MACROS = `${DBT_DEFAULT_SCHEMA_MACRO}{% macro generate_schema_name_for_env(custom_schema_name, node) -%}
    {%- set default_schema = target.schema -%}
    {%- if target.name == 'prod' and custom_schema_name is not none -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ default_schema }}
    {%- endif -%}
{%- endmacro %}
{% macro default__generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}
        {{ custom_alias_name | trim }}
    {%- else -%}
        {{ node.name }}
    {%- endif -%}
{%- endmacro %}
`;

/**
 * What a template's text compiles to, kept for the process: the text Vigil gives nunjucks
 * (jinjaToNunjucks) and the JavaScript nunjucks generates from it (its `root` and `b_<block>`
 * functions). Both depend on the text and the file's path only: every TemplateEnv's nunjucks
 * environment has the same options, extensions and (no) async filters, which is all nunjucks'
 * compiler reads, and the generated code takes the environment as an argument when it runs. A
 * template compiled once serves every environment after it: each unit test's (one per frozen
 * clock, vars and env_vars: each compiled the project's macro files again) and, in a process that
 * runs many commands (--watch, serve, the test suite's command host), each compile. A text that
 * does not compile is not kept (its error is raised again, the same). Bounded: past
 * TEXT_CACHE.entries entries, or TEXT_CACHE.chars characters of text in one of the three caches,
 * the oldest go; a text longer than that is not kept. (A fast renderer's tree is ~6 MB for a 230 KB
 * model: counting entries only, 60 edits of it in one `--watch` kept 360 MB, 2,000 would keep
 * 12 GB; with the characters counted the three caches stay near 50 MB. The shipped project's
 * models and macros are 30 KB.)
 */
export const TEXT_CACHE = { entries: 2000, chars: 2_000_000 };

/** Texts (keys) and what they compile to, the oldest dropped past TEXT_CACHE's bounds. */
class TextCache<V> {
  private readonly m = new Map<string, V>();
  private chars = 0;

  get(key: string): V | undefined {
    return this.m.get(key);
  }

  keep(key: string, value: V): V {
    if (key.length > TEXT_CACHE.chars) return value;
    while (this.m.size && (this.m.size >= TEXT_CACHE.entries || this.chars + key.length > TEXT_CACHE.chars)) {
      const oldest = this.m.keys().next().value as string;
      this.m.delete(oldest);
      this.chars -= oldest.length;
    }
    this.m.set(key, value);
    this.chars += key.length;
    return value;
  }
}
const nunjucksTexts = new TextCache<string>();
const compiledCode = new TextCache<Record<string, unknown>>();
const fastTrees = new TextCache<FastTemplate>();

/** jinjaToNunjucks(text), once per text. */
function jinjaText(text: string): string {
  return nunjucksTexts.get(text) ?? nunjucksTexts.keep(text, jinjaToNunjucks(text));
}

/**
 * fastTemplate(text, env) of a TemplateEnv's environment, parsed once per text: the tree depends on
 * the text, the environment's options and the names of its extensions (the same in each), and
 * rendering only reads it. (A render that falls back to nunjucks drops the tree from its own
 * CompiledTemplate, not from here.)
 */
function fastParsed(text: string, env: nunjucks.Environment): FastTemplate {
  return fastTrees.get(text) ?? fastTrees.keep(text, fastTemplate(text, env));
}

/** `new nunjucks.Template(text, env, path, true)` of a TemplateEnv's environment, compiled once per path and text. */
function jinjaTemplate(text: string, env: nunjucks.Environment, path: string): nunjucks.Template {
  const key = `${path}\0${text}`;
  const code = compiledCode.get(key);
  if (code) return new nunjucks.Template({ type: 'code', obj: code } as unknown as string, env, path, true);
  const t = new nunjucks.Template(text, env, path, true);
  const { rootRenderFunc, blocks } = t as unknown as { rootRenderFunc: unknown; blocks: Record<string, unknown> };
  compiledCode.keep(key, { root: rootRenderFunc, ...Object.fromEntries(Object.entries(blocks).map(([k, v]) => [`b_${k}`, v])) });
  return t;
}

export class TemplateEnv {
  readonly env: nunjucks.Environment;
  /** The calls of the template being rendered. Rendering is synchronous, so one slot is enough. */
  current: RenderCalls = emptyCalls();
  incremental = false;
  /** The model being rendered (undefined for tests, alert queries): what `model` answers. */
  currentModel?: ModelContext;
  readonly macroNames = new Map<string, string>();
  /** each macro file's text (as nunjucks parsed it), to explain an error in it */
  private readonly macroTexts = new Map<string, string>();
  /** the last error raised in a macro's code during this render, and the macro's file */
  private macroFailure: { file: string; message: string; positionless: boolean } | undefined;
  /** Whether anything rendered by this environment read run_started_at or invocation_id. */
  readVolatile = false;
  /**
   * varStamp()s of this environment, each value hashed once (a 2000-key mapping read by every
   * model took a sorted repr and a sha256 per var() call): a project or --vars var by its name
   * (opts.vars is fixed while it renders), a call's default by its value (a mapping or list by
   * identity).
   */
  private readonly varStamps = new Map<string, string>();
  private readonly defaultStamps = new Map<unknown, string>();
  private readonly defaultObjectStamps = new WeakMap<object, string>();

  constructor(opts: TemplateEnvOptions) {
    // an undefined value printed into SQL is an error, never an empty string
    this.env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, trimBlocks: false });
    addJinjaCompat(this.env);
    const self = this;
    const kw = (args: unknown[]): Record<string, unknown> => {
      const last = args[args.length - 1] as Record<string, unknown> | undefined;
      if (last && typeof last === 'object' && (last as { __keywords?: boolean }).__keywords) {
        const { __keywords, ...rest } = last;
        void __keywords;
        return rest;
      }
      return {};
    };
    this.env.addGlobal('ref', (...args: unknown[]) => {
      // dbt's versioned refs (version=2, v=2) and anything else it is not given by name: not
      // silently resolved to the unversioned model
      const named = Object.keys(kw(args));
      if (named.length) throw new Error(`ref() takes no ${named.map((k) => `${k}=`).join(', ')}: ${named.some((k) => k === 'version' || k === 'v') ? 'Vigil has no model versions; ' : ''}write ref('model')`);
      const pos = args.filter((a) => !isKw(a));
      if (pos.length > 2 || pos.length === 0) throw new Error(`ref() takes a model name (or the project's name and a model name), got ${pos.length} arguments`);
      let [first, second] = pos;
      // two arguments are dbt's (package, model): a model's name that is no string (`ref('m', 2)`,
      // a version by position) is refused, as dbt refuses it, not read as ref('m')
      if (pos.length === 2 && typeof second !== 'string')
        throw new Error(`ref(${pos.map((p) => pyRepr(p, false)).join(', ')}): with two arguments ref() takes the project's name and a model name, both strings (as dbt reads them: package, model); ${typeof second === 'number' ? 'Vigil has no model versions (docs/models.md); ' : ''}write ref('${String(first)}')`);
      // ref('package', 'model'): Vigil has no packages; the project's own name is accepted
      if (typeof second === 'string') {
        if (opts.project !== undefined && first !== opts.project)
          throw new Error(`ref('${String(first)}', '${second}'): '${String(first)}' is not this project (${opts.project}) and Vigil has no packages; write ref('${second}') for a model of this project`);
        first = second;
      }
      const name = first;
      if (typeof name !== 'string') throw new Error('ref() takes a model name as a string');
      self.current.refs.push(name);
      return `${PH_OPEN}ref:${name}${PH_CLOSE}`;
    });
    this.env.addGlobal('source', (...args: unknown[]) => {
      const [source, table] = args;
      if (args.length !== 2 || typeof source !== 'string' || typeof table !== 'string') throw new Error("source() takes two strings: source('source_name', 'table_name')");
      self.current.sources.push([source, table]);
      return `${PH_OPEN}source:${source}.${table}${PH_CLOSE}`;
    });
    this.env.addGlobal('config', (...args: unknown[]) => {
      const k = kw(args);
      const positional = args.filter((a) => !isKw(a));
      // config({'materialized': 'table'}) as dbt takes it; anything else positional is a mistake
      if (positional.length > 1 || (positional.length === 1 && (!positional[0] || typeof positional[0] !== 'object' || Array.isArray(positional[0]))))
        throw new Error(`config() takes keyword arguments, e.g. config(materialized='table'); got ${positional.map((p) => JSON.stringify(p) ?? String(p)).join(', ')}`);
      if (positional.length) Object.assign(k, positional[0]);
      mergeConfigCall(self.current, k);
      return '';
    });
    // dbt's before_begin("sql") / after_commit("sql"): a pre_hook/post_hook run outside the model's transaction
    for (const name of ['before_begin', 'after_commit']) {
      this.env.addGlobal(name, (...args: unknown[]) => {
        const k = kw(args);
        const given = [...args.filter((a) => !isKw(a)), ...Object.values(k)];
        const other = Object.keys(k).find((x) => x !== 'sql');
        if (other) throw new Error(`${name}(sql) has no argument '${other}'${didYouMean(other, ['sql']) ? " — did you mean 'sql'?" : ''}`);
        const sql = asText(given[0]);
        if (given.length !== 1 || !sql) throw new Error(`${name}() takes one statement, e.g. ${name}("vacuum {{ this }}")`);
        return { sql, transaction: false };
      });
    }
    this.env.addGlobal('var', (name: unknown, ...rest: unknown[]) => {
      const key = String(name);
      (self.current.varsRead ??= []).push(key);
      if (Object.prototype.hasOwnProperty.call(opts.vars, key)) return ((self.current.varsUsed ??= {})[key] = self.projectVarStamp(key, opts.vars[key])), opts.vars[key];
      if (rest.length > 0) return ((self.current.varsUsed ??= {})[key] = self.defaultStamp(rest[0])), rest[0];
      const nearVar = didYouMean(key, Object.keys(opts.vars));
      self.current.problems.push({
        code: 'E_VAR',
        message: `var('${key}') is not defined${nearVar ? ` — did you mean '${nearVar}'?` : ''}`,
        find: callFinder('var', key),
        hint: `add it under vars: in project.yaml, pass --vars '{${key}: ...}', or give a default: var('${key}', ...)`,
      });
      return '';
    });
    this.env.addGlobal('env_var', (name: unknown, ...rest: unknown[]) => {
      const key = String(name);
      const v = opts.env[key];
      if (v !== undefined) {
        self.current.envUsed[key] = envStamp(key, v);
        // (an empty value has nothing to hide: `{% if env_var('X_TOKEN', '') %}` tests the value)
        if (v === '' || !isSecret(key, v)) return v;
        // a secret never reaches compiled SQL, the manifest or the cache: reveal() puts it back
        // into the statement sent to the warehouse
        if (opts.registerSecrets !== false) registerCompiledSecret(key, v);
        return secretPlaceholder(key);
      }
      self.current.envUsed[key] = null;
      if (rest.length > 0) return rest[0];
      // (a set variable of a near name: only the name is said, never its value)
      const nearEnv = didYouMean(key, Object.keys(opts.env).filter((k) => opts.env[k] !== undefined));
      self.current.problems.push({
        code: 'E_ENV_VAR',
        message: `environment variable ${key} is not set${nearEnv ? ` — did you mean '${nearEnv}'?` : ''}`,
        find: callFinder('env_var', key),
        hint: `export ${key}=... before running, or give a default: env_var('${key}', 'value')`,
      });
      return '';
    });
    this.env.addGlobal('is_incremental', () => self.incremental);
    // `this`: the model's relation; `this.schema` / `.identifier` / `.name` / `.database` its parts
    const thisObj = new RelationPlaceholder(`${PH_OPEN}this${PH_CLOSE}`) as unknown as Record<string, unknown>;
    for (const a of THIS_ATTRIBUTES) Object.defineProperty(thisObj, a, { enumerable: true, get: () => `${PH_OPEN}this:${a}${PH_CLOSE}` });
    this.env.addGlobal('this', thisObj);
    this.env.addGlobal('target', opts.target);
    // `model`: the model being rendered (in a test or an alert query there is none)
    const modelObj: Record<string, unknown> = {};
    for (const a of ['name', 'path'] as const) {
      Object.defineProperty(modelObj, a, {
        enumerable: true,
        get: () => {
          if (!self.currentModel) throw new Error(`model.${a} is only defined while a model renders (not in a test or an alert query)`);
          return self.currentModel[a];
        },
      });
    }
    this.env.addGlobal('model', modelObj);
    // vigil renders once, with everything known: `{% if execute %}` is always true (dbt's parse phase has it false)
    this.env.addGlobal('execute', true);
    const run = opts.run ?? { startedAt: new Date(), invocationId: randomUUID() };
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    // these change every run: a model that reads them is rendered again each time (not cached);
    // run_started_at is its ISO text, with Python datetime's strftime, isoformat, year... (py-datetime.ts)
    const startedAt = runInstant(run.startedAt);
    Object.defineProperty(globals, 'run_started_at', { enumerable: true, get: () => ((self.current.volatile = self.readVolatile = true), startedAt) });
    Object.defineProperty(globals, 'invocation_id', { enumerable: true, get: () => ((self.current.volatile = self.readVolatile = true), run.invocationId) });
    for (const h of TEMPLATE_HELPERS) {
      const impl = h === 'quote_ident' ? opts.dialect.quoteIdent : (opts.dialect as unknown as Record<string, (...a: unknown[]) => string>)[h];
      const fn = (impl as (...a: unknown[]) => string).bind(opts.dialect);
      this.env.addGlobal(h, (...args: unknown[]) => fn(...helperArgs(h, args)));
    }
    // the project's name as the namespace of its macros (`{{ shop.cents(1) }}`), as dbt has it;
    // not where it would hide a global of the same name
    if (opts.project && /^[A-Za-z_]\w*$/.test(opts.project) && !(opts.project in globals)) {
      // (a function to nunjucks: printed into the SQL it is an error, not its macros' source)
      const own = this.projectMacros;
      const name = opts.project;
      const ns = new Proxy(() => undefined, {
        get: (_t, k) => (typeof k === 'string' && own.has(k) ? globals[k] : undefined),
        has: (_t, k) => typeof k === 'string' && own.has(k),
        apply: () => {
          throw new Error(`'${name}' is this project's name, the namespace of its macros: call one of them, ${name}.macro_name(...)`);
        },
      });
      this.env.addGlobal(opts.project, ns);
    }
    // dbt's `exceptions.raise_compiler_error(msg)`: a project macro stops the compile with its message
    this.env.addGlobal('exceptions', {
      raise_compiler_error: (message: unknown) => {
        throw new Error(`${asText(message) ?? String(message)}${RAISED}`);
      },
    });
    // dbt's own naming macros, which a project's generate_schema_name / generate_alias_name call
    // (naming-macros.ts); not project macros: a project defining one of them replaces it. Parsed
    // when one is first called (most environments never call them)
    for (const name of DBT_BUILTIN_MACRO_NAMES) {
      const stub = function (this: unknown, ...args: unknown[]) {
        const g = (self.env as unknown as { globals: Record<string, unknown> }).globals;
        if (g[name] === stub) self.addBuiltinMacros();
        return (g[name] as (...a: unknown[]) => unknown).apply(this, args);
      };
      this.builtinStubs.add(stub);
      this.env.addGlobal(name, stub);
    }
  }

  /** varStamp() of a project or --vars var, once per name. */
  private projectVarStamp(name: string, value: unknown): string {
    let stamp = this.varStamps.get(name);
    if (stamp === undefined) this.varStamps.set(name, (stamp = varStamp(value)));
    return stamp;
  }

  /** varStamp() of a var() call's default, once per value. */
  private defaultStamp(value: unknown): string {
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
      let stamp = this.defaultObjectStamps.get(value);
      if (stamp === undefined) this.defaultObjectStamps.set(value, (stamp = varStamp(value)));
      return stamp;
    }
    let stamp = this.defaultStamps.get(value);
    if (stamp === undefined) this.defaultStamps.set(value, (stamp = varStamp(value)));
    return stamp;
  }

  /** the macros of the project's files (addMacros), which its name as a namespace holds */
  private readonly projectMacros = new Set<string>();

  /** the stand-ins of dbt's built-in macros until one is called */
  private readonly builtinStubs = new Set<unknown>();

  /** dbt's built-in macros, each where no project macro has taken its name since. */
  private addBuiltinMacros(): void {
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    const mine = new Map(DBT_BUILTIN_MACRO_NAMES.map((n) => [n, globals[n]]));
    const r = this.addMacros(DBT_BUILTIN_MACROS_FILE, DBT_BUILTIN_MACROS);
    if ('message' in r) throw new Error(`Vigil's built-in macros: ${r.message}`);
    // (addMacros set them all: a project's own definition, added after the stub, is put back)
    for (const [n, before] of mine) if (before !== undefined && !this.builtinStubs.has(before)) this.env.addGlobal(n, before);
  }

  /** Compile a macro file once and expose its macros as globals. */
  addMacros(path: string, text: string): TemplateError | { names: string[] } {
    try {
      const t = jinjaTemplate(jinjaText(text), this.env, path);
      let exported: Record<string, unknown> = {};
      let err: unknown;
      (t as unknown as { getExported(cb: (e: unknown, r: Record<string, unknown>) => void): void }).getExported((e, r) => {
        err = e;
        exported = r ?? {};
      });
      if (err) throw err;
      const names = Object.keys(exported);
      if (path !== DBT_BUILTIN_MACROS_FILE) for (const n of names) if (typeof exported[n] === 'function') this.projectMacros.add(n);
      this.macroTexts.set(path, jinjaText(text));
      const owner = this;
      for (const n of names) if (typeof exported[n] === 'function') macroFunctionNames.set(exported[n] as object, n);
      for (const n of names) {
        const macro = exported[n] as (...a: unknown[]) => unknown;
        // an error in the macro's own code is at its line in its file, not the caller's
        this.env.addGlobal(n, typeof macro === 'function' ? function (this: unknown, ...args: unknown[]) {
          try {
            return macro.apply(this, args);
          } catch (e) {
            // a call with an argument a macro has not (jinja-compat.ts): the caller's mistake, at
            // the call: passed on by the macro called, in the file of the macro that called it
            const callee = e && typeof e === 'object' ? (e as { macroArgs?: object }).macroArgs : undefined;
            if (callee) {
              const name = macroFunctionNames.get(callee);
              if (name) (e as Error).message = (e as Error).message.replace(/^macro (?!')/, `macro '${name}' `);
              if (callee === macro) throw e;
              delete (e as { macroArgs?: object }).macroArgs;
            }
            if (e && typeof e === 'object' && !(e as { vigilFile?: string }).vigilFile) {
              (e as { vigilFile?: string }).vigilFile = path;
              // (nunjucks replaces the error object on its way out of a template: known by its message)
              // an error raised with no position of its own (a function's, an unknown name called):
              // nunjucks gives it the caller's position, which is not one in this file
              owner.macroFailure = { file: path, message: String((e as Error).message), positionless: typeof (e as { lineno?: unknown }).lineno !== 'number' };
            }
            throw e;
          }
        } : macro);
      }
      return { names };
    } catch (e) {
      return parseNunjucksError(e, text, true);
    }
  }

  /** Parse a template once; the result can be rendered many times. */
  compileTemplate(path: string, original: string): CompiledTemplate | TemplateError {
    const text = jinjaText(original);
    try {
      if (this.useFastPath) return { path, text, fast: fastParsed(text, this.env) };
      return { path, text, nj: jinjaTemplate(text, this.env, path) };
    } catch (e) {
      if (e instanceof FastRenderError) return { message: e.message, line: e.line, column: e.column };
      return parseNunjucksError(e, text, true);
    }
  }

  /** Off only in tests that compare both paths. */
  useFastPath = true;

  /** Every name a template may use (globals, macros, helpers), for did-you-means. */
  knownNames(): string[] {
    return Object.keys((this.env as unknown as { globals: Record<string, unknown> }).globals);
  }

  render(t: CompiledTemplate, text: string, calls: RenderCalls, incremental: boolean, model?: ModelContext, ctx: Record<string, unknown> = {}): string | TemplateError {
    this.macroFailure = undefined;
    this.current = calls;
    this.incremental = incremental;
    this.currentModel = model;
    try {
      if (t.fast) {
        try {
          return renderFast(t.fast, this.env, ctx);
        } catch (e) {
          if (!(e instanceof UnsupportedTemplate)) throw e;
          // start again with nunjucks; forget what the partial render recorded
          Object.assign(calls, emptyCalls());
          t.fast = undefined;
          t.nj = jinjaTemplate(t.text, this.env, t.path);
        }
      }
      return t.nj!.render(ctx);
    } catch (e) {
      if (e instanceof FastRenderError) return { message: e.message, line: e.line, column: e.column };
      // raised in a macro's code: its position is in the macro's file (on the fast path the error
      // carries the file; nunjucks replaces the error object on its way out: known by its message)
      const x = e as { vigilFile?: string; message?: string } | undefined;
      // (set by a macro while rendering: not the undefined this render started with)
      const last = this.macroFailure as { file: string; message: string; positionless: boolean } | undefined;
      const file = x?.vigilFile ?? (last && String(x?.message ?? '').endsWith(last.message) ? last.file : undefined);
      const where = file !== undefined ? (this.macroTexts.get(file) ?? text) : text;
      let err = explainRuntimeError(parseNunjucksError(e, where, false), where, this.knownNames());
      if (file !== undefined && !x?.vigilFile && last?.positionless) err = { ...err, line: undefined, column: undefined };
      // an unknown function called: where the call is written, when nunjucks gave no position
      const called = err.line === undefined ? /^(?:unknown function or macro|macro) '([A-Za-z_][\w.]*)'/.exec(err.message)?.[1] : undefined;
      if (called) {
        // (a keyword the macro has not: the call that passes it, not the first call)
        const kw = /^macro '[^']+' has no argument '(\w+)'/.exec(err.message)?.[1];
        const at = (kw ? lineAt(where, new RegExp(`(?<!macro\\s+)\\b${escapeRe(called)}\\s*\\([^)]*\\b${kw}\\s*=`)) : undefined) ?? lineAt(where, new RegExp(`(?<!macro\\s+)\\b${escapeRe(called)}\\s*\\(`));
        if (at) err = { ...err, ...at };
      }
      // an undefined name before a dot (`adapter.dispatch(...)`), raised in a macro's code with no
      // position of its own: where the macro writes it
      const undefinedRoot = err.line === undefined ? /^'([A-Za-z_]\w*)' is undefined/.exec(err.message)?.[1] : undefined;
      if (undefinedRoot) {
        const at = lineAt(where, new RegExp(`(?<![\\w.'"])${escapeRe(undefinedRoot)}\\s*\\.`));
        if (at) err = { ...err, ...at };
      }
      // exceptions.raise_compiler_error: where the call is written (nunjucks gives the caller's
      // position, or none, for an error raised in a function)
      if (err.message.endsWith(RAISED) && err.line === undefined) {
        const at = raiseCallAt(where, err.message.slice(0, -RAISED.length));
        if (at) err = { ...err, ...at };
      }
      return file !== undefined ? { ...err, file } : err;
    } finally {
      this.current = emptyCalls();
      this.incremental = false;
      this.currentModel = undefined;
    }
  }
}

const BLOCK_TAGS: Record<string, string> = { if: 'endif', for: 'endfor', macro: 'endmacro', call: 'endcall', set: 'endset', filter: 'endfilter', raw: 'endraw', block: 'endblock', with: 'endwith' };

/** Position of the first block tag that is never closed (nunjucks reports none for it). */
function findUnclosedBlock(text: string): { tag: string; line: number; column: number } | undefined {
  const re = /\{%-?\s*(\w+)([^%]*)%\}/g;
  const stack: Array<{ tag: string; index: number }> = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const tag = m[1];
    if (tag === 'set' && m[2].includes('=')) continue; // inline set has no end tag
    if (BLOCK_TAGS[tag]) stack.push({ tag, index: m.index });
    else if (tag.startsWith('end')) {
      const open = tag.slice(3);
      const i = stack.map((s) => s.tag).lastIndexOf(open);
      if (i >= 0) stack.splice(i);
    }
  }
  const top = stack[stack.length - 1];
  if (!top) return undefined;
  return { tag: top.tag, ...lineColAt(text, top.index) };
}

/** Whether a template declares `name`: `{% set name`, `{% for ... name ... in`, a macro's parameter, `{% with name =`. */
function declaredIn(text: string, name: string): boolean {
  const n = escapeRe(name);
  return new RegExp(`\\{%-?\\s*set\\s+${n}\\b|\\{%-?\\s*with\\b[^%]*\\b${n}\\s*=|\\{%-?\\s*for\\s+[\\w\\s,]*\\b${n}\\b[\\w\\s,]*\\bin\\b|\\{%-?\\s*macro\\s+\\w+\\s*\\([^)]*\\b${n}\\b`).test(text);
}

/**
 * nunjucks' runtime messages in the words of a model author, with a did-you-mean: an unknown
 * function (a macro name typo) or an undefined value printed into the SQL.
 */
function explainRuntimeError(e: TemplateError, text: string, known: string[]): TemplateError {
  const call = /^Unable to call `([^`]+)`, which is undefined or falsey/.exec(e.message);
  if (call) {
    // (nunjucks names a call's result `the return value of (f)`: `f(...)` in the message)
    const name = call[1].replace(/^the return value of \((.*)\)$/, '$1').replace(/the return value of \(([^()]*)\)/g, '$1(...)');
    // a method of a value (`'abc'.nosuch()`, `x.nosuch()`): what the value has not, not an unknown macro
    const member = /^(.*)\["(\w+)"\]$/.exec(name);
    if (member && member[1]) {
      const target = member[1].replace(/\["/g, '.').replace(/"\]/g, '');
      // (nunjucks names a string literal by its text: 'abc'.uper() reads abc["uper"])
      // (or by its decoded text, which no name has: 'a\\tb'.nosuch() reads a<tab>b, not the name a)
      const literal = new RegExp(`['"]${escapeRe(target)}['"]\\s*\\.\\s*${member[2]}\\b`).test(text) || /[^\w.]/.test(target);
      const root = literal ? undefined : /^[A-Za-z_]\w*/.exec(target)?.[0];
      // an unknown name before the dot: that is the mistake (dbt_utils.star() without packages);
      // a name the template sets, loops over or takes as a macro's parameter is known (its value
      // lacks the method: `{% set lst = [] %}{% do lst.nosuch() %}`)
      if (root && !known.includes(root) && !declaredIn(text, root)) {
        const hint = didYouMean(root, known);
        // (nothing near it, and what is called after the dot is a macro: another package's name for it)
        const macro = !hint && known.includes(member[2]) ? ` — did you mean ${member[2]}(...), the macro of this project?` : '';
        return { ...e, message: `'${root}' is undefined${hint ? ` — did you mean '${hint}'?` : macro}${dbtOnlyName(root)}` };
      }
      return { ...e, message: noMethod(target, member[2], !root, root === 'run_started_at' && target === root) };
    }
    const hint = didYouMean(name.split('"]')[0].replace(/\["/g, '.'), known);
    return { ...e, message: `unknown function or macro '${name}'${hint ? ` — did you mean '${hint}'?` : ''} (macros are defined in macros/*.sql; helpers: ${TEMPLATE_HELPERS.join(', ')})${dbtOnlyName(name)}` };
  }
  if (e.message.includes(PRINTED_FUNCTION)) return { ...e, message: printedFunction(printedAt(e, text)) };
  // looped over, filtered, joined or tested while undefined (jinja-compat.ts strictWhereUsed)
  const used = UNDEFINED_USE_RE.test(e.message) ? /^'([A-Za-z_]\w*)/.exec(e.message) : null;
  if (used && !known.includes(used[1])) {
    const hint = didYouMean(used[1], known);
    if (hint) return { ...e, message: `${e.message} — did you mean '${hint}'?` };
  }
  if (/attempted to output null or undefined value/.test(e.message) || e.message.includes(PRINTED_NONE)) {
    const expr = printedAt(e, text);
    const root = expr?.split(/[.([\s|]/)[0];
    const none = e.message.includes(PRINTED_NONE);
    const hint = root && !none && !known.includes(root) ? didYouMean(root, known) : undefined;
    return { ...e, message: `${expr ? `'${expr}'` : 'a value'} is ${none ? 'none' : 'undefined'}: ${PRINTS_NOTHING}${hint ? ` — did you mean '${hint}'?` : ''}` };
  }
  return e;
}

/** The `{{ expression }}` at (else on the line of) an error's position, for its message. */
function printedAt(e: TemplateError, text: string): string | undefined {
  const lineText = text.split('\n')[(e.line ?? 1) - 1] ?? '';
  // (the position is the expression's: the {{ before it)
  const open = lineText.lastIndexOf('{{', Math.max(0, (e.column ?? 1) - 1));
  return /\{\{\s*([^}]*?)\s*\}\}/.exec(lineText.slice(Math.max(0, open)))?.[1] ?? /\{\{\s*([^}]*?)\s*\}\}/.exec(lineText)?.[1];
}

/** Line and column (1-based) of the first match of `re` in `text`. */
function lineAt(text: string, re: RegExp): { line: number; column: number } | undefined {
  const m = re.exec(text);
  return m ? lineColAt(text, m.index) : undefined;
}

export function lineColAt(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: index - last };
}

function parseNunjucksError(e: unknown, text: string, parsePhase: boolean): TemplateError {
  const raw = e instanceof Error ? e.message : String(e);
  const te = e as { lineno?: number; colno?: number; firstUpdate?: boolean };
  // a raw parser error (fast path): 1-based position on the error, message not prettified
  if (te && te.lineno && te.firstUpdate !== false && !/\[Line \d+/.test(raw)) return { message: tagHint(raw), line: te.lineno, column: te.colno };
  const m = /\[Line (\d+), Column (\d+)\]\s*\n?\s*([\s\S]*)$/.exec(raw);
  let message = (m ? m[3] : raw.replace(/^\([^)]*\)\s*/, '')).trim().replace(/^Error: /, '');
  if (m) {
    // nunjucks reports parse errors 1-based and runtime errors 0-based (but its undefined-output
    // check 1-based); Vigil's checks raise theirs 1-based, an error a filter throws is nunjucks'
    // (its message then starts with 'Error: ': `'%s %s' | format(1)` was placed a line early)
    const ours = !/^Error: /.test(m[3].trim());
    const line = Number(m[1]) + (parsePhase || /attempted to output null or undefined value/.test(m[3]) || m[3].includes(PRINTED_NONE) || m[3].includes(PRINTED_FUNCTION) || TESTED_FUNCTION_RE.test(m[3]) || m[3].includes(PRINTED_NON_FINITE) || UNDEFINED_USE_RE.test(message) || NONE_USE_RE.test(message) || ((PY_ERROR_RE.test(message) || PLACEHOLDER_USE_RE.test(message) || message.includes(PAST_EXACT)) && ours) ? 0 : 1);
    return { message: tagHint(message), line, column: Number(m[2]) };
  }
  // a {{, {% or {# the file never closes: nunjucks says "end of file" (or, inside a call, fails
  // on its own null token) without a position
  if (/end of file|expected (variable|block) end|Cannot read properties of null/.test(message)) {
    const open = findUnclosedDelimiter(text);
    if (open) return { message: `${open.open} is not closed: expected ${open.close} before the end of the file${open.paren ? ` (and the ( after ${open.paren} is not closed either)` : ''}`, line: open.line, column: open.column };
  }
  const unclosed = /expected (elif|endif|endfor|endmacro|endblock|endcall|endset|endfilter|endraw|endwith)|end of file/.test(message) ? findUnclosedBlock(text) : undefined;
  if (unclosed) {
    message = `unclosed {% ${unclosed.tag} %}: expected {% ${BLOCK_TAGS[unclosed.tag]} %} before the end of the file`;
    return { message, line: unclosed.line, column: unclosed.column };
  }
  return { message: tagHint(message) };
}

/** A tag nunjucks does not know ({% sett %}): the nearest it does. */
function tagHint(message: string): string {
  const tag = /^unknown block tag: (\w+)/.exec(message);
  // dbt's blocks Vigil has not: said as such, not as a typo of another tag
  const dbt = tag ? DBT_BLOCKS[tag[1]] : undefined;
  if (dbt) return `${message}: ${dbt}`;
  const hint = tag ? didYouMean(tag[1], KNOWN_TAGS) : undefined;
  // (a known end tag with nothing open to end: "did you mean 'endfor'" of endfor said nothing)
  if (hint && hint === tag![1] && hint.startsWith('end')) return `${message}: no {% ${hint.slice(3)} %} is open here for it to end`;
  // (nor "did you mean 'else'" of an else outside an if or a for: say where it belongs)
  if (hint === 'else' || hint === 'elif') return hint === tag![1] ? `${message}: {% ${hint} %} belongs inside an {% if %}${hint === 'else' ? ' or a {% for %}' : ''}, and none is open here` : `${message} — did you mean '${hint}'?`;
  return hint && hint !== tag![1] ? `${message} — did you mean '${hint}'?` : message;
}

/** dbt's block tags Vigil does not have, and what to write instead. */
const DBT_BLOCKS: Record<string, string> = {
  test: "dbt's custom generic test ({% test %}) is not supported: write the check as a singular test in tests/ (a query returning the failing rows), or use a built-in generic test (" + docRef('models.md') + ')',
  materialization: "dbt's custom materializations are not supported: Vigil's are view, table, incremental and ephemeral",
  snapshot: 'a {% snapshot %} block belongs in a file under snapshots/',
  docs: 'a {% docs %} block belongs in a .md file under models/, seeds/ or snapshots/',
};

/** Block tags a model template may use (nunjucks' own and Vigil's do, break, continue and with). */
const KNOWN_TAGS = ['if', 'elif', 'else', 'endif', 'for', 'endfor', 'set', 'endset', 'macro', 'endmacro', 'call', 'endcall', 'filter', 'endfilter', 'raw', 'endraw', 'block', 'endblock', 'include', 'import', 'from', 'do', 'break', 'continue', 'with', 'endwith', 'verbatim', 'endverbatim'];

/** The first {{, {% or {# with no closing delimiter after it (outside string literals); also whether a ( inside it is left open. */
function findUnclosedDelimiter(text: string): { open: string; close: string; line: number; column: number; paren?: string } | undefined {
  const pairs: Record<string, string> = { '{{': '}}', '{%': '%}', '{#': '#}' };
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) {
    const open = text.slice(i, i + 2);
    const close = pairs[open];
    if (!close) continue;
    let quote = '';
    let depth = 0;
    let callee = '';
    let j = i + 2;
    for (; j < text.length; j++) {
      const c = text[j];
      if (open === '{#') {
        if (text.startsWith(close, j)) break;
        continue;
      }
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '(') {
        if (depth === 0) callee = /([A-Za-z_][\w.]*)\s*$/.exec(text.slice(i + 2, j))?.[1] ?? '';
        depth++;
      } else if (c === ')') depth = Math.max(0, depth - 1);
      else if (text.startsWith(close, j)) break;
    }
    if (j >= text.length) return { open, close, ...lineColAt(text, i), ...(depth > 0 && callee ? { paren: callee } : {}) };
    i = j;
  }
  return undefined;
}
