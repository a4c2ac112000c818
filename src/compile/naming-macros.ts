/**
 * dbt's naming hooks: a project macro `generate_schema_name(custom_schema_name, node)` decides
 * the schema of every model, seed and snapshot (not one with the legacy `target_schema`, as in
 * dbt), and `generate_alias_name(custom_alias_name, node)` its table name. Without them Vigil
 * keeps its own default: the configured schema as written (else the target's), the configured
 * alias (else the node's name). `custom_*_name` is `none` when nothing is configured, so the
 * usual `{% if custom_schema_name is none %}` works; `node` carries what such macros read (name,
 * resource_type, unique_id, fqn, path, tags, config). An error in the macro is reported in its
 * file; an empty or multi-word answer at the node, naming the macro.
 */
import { diag, type Diagnostic } from '../errors.js';
import { emptyCalls, isTemplateError, type TemplateEnv } from './template-env.js';

export interface NamingNode {
  name: string;
  resource_type: 'model' | 'seed' | 'snapshot' | 'test';
  unique_id: string;
  package_name: string;
  path: string;
  original_file_path: string;
  fqn: string[];
  tags: string[];
  config: Record<string, unknown>;
}

/** Where a problem with the answer for one node is reported. */
export interface NamingSite {
  file: string;
  line?: number;
  column?: number;
}

export const NAMING_MACROS = ['generate_schema_name', 'generate_alias_name'] as const;

export interface Naming {
  /** The schema for `node`: the macro's answer, or `custom ?? fallback`. */
  schema(custom: string | undefined, node: NamingNode, fallback: string, at: () => NamingSite): string;
  /** The table name for `node`: the macro's answer, or `custom ?? node.name`. */
  alias(custom: string | undefined, node: NamingNode, at: () => NamingSite): string;
}

/** A name a relation can take: one word of letters, digits, _ and - (Vigil's model names may hold -); no quotes, no white space. */
const NAME_RE = /^[A-Za-z0-9_-]+$/;

export function namingMacros(tenv: TemplateEnv, macroFile: (name: string) => string | undefined, ds: Diagnostic[]): Naming {
  const memo = new Map<string, string>();
  /** each macro's call, parsed once */
  const calls = new Map<string, ReturnType<TemplateEnv['compileTemplate']>>();
  /** the diagnostics already given (a broken macro fails the same way for every node: said once) */
  const said = new Set<string>();
  const push = (d: Diagnostic, k = `${d.code}\u0000${d.file}\u0000${d.line}\u0000${d.message.replace(/ for (model|seed|snapshot) '[^']*'/, '')}`) => {
    if (said.has(k)) return;
    said.add(k);
    ds.push(d);
  };
  const call = (macro: (typeof NAMING_MACROS)[number], custom: string | undefined, node: NamingNode, fallback: string, at: () => NamingSite): string => {
    const file = macroFile(macro);
    if (!file) return custom ?? fallback;
    const key = `${macro}\u0000${node.unique_id}\u0000${custom ?? '\u0001'}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const text = `{{ ${macro}(custom_name, node) }}`;
    let t = calls.get(macro);
    if (!t) calls.set(macro, (t = tenv.compileTemplate(file, text)));
    const out = isTemplateError(t) ? t : tenv.render(t, text, emptyCalls(), false, undefined, { custom_name: custom ?? null, node });
    let name = fallback;
    if (typeof out !== 'string') {
      push(diag('E_TEMPLATE', `${macro} for ${node.resource_type} '${node.name}': ${out.message}`, out.file !== undefined ? { file: out.file, line: out.line, column: out.column } : { file }));
    } else if (!NAME_RE.test(out.trim())) {
      // (the same wrong answer for many nodes: said at the first)
      push(diag('E_CONFIG', `${macro} (${file}) gave ${out.trim() ? `'${out.trim()}'` : 'nothing'} for ${node.resource_type} '${node.name}': a ${macro === 'generate_schema_name' ? 'schema' : 'table'} name is one word of letters, digits, _ and -`, at(), 'its output is the name: keep text and white space out of the macro, e.g. {%- if ... -%} and {{ target.schema }}'), `E_CONFIG\u0000${macro}\u0000${out.trim()}`);
    } else name = out.trim();
    memo.set(key, name);
    return name;
  };
  return {
    schema: (custom, node, fallback, at) => call('generate_schema_name', custom, node, fallback, at),
    alias: (custom, node, at) => call('generate_alias_name', custom, node, node.name, at),
  };
}
