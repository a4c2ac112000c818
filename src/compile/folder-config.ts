/**
 * Folder-level model configuration, as dbt users write it in project.yaml:
 *
 *   models:
 *     +materialized: view          # every model
 *     staging:
 *       +schema: staging           # models/staging/**
 *     marts:
 *       +materialized: table
 *       finance:
 *         +tags: [finance]         # models/marts/finance/**
 *
 * Keys with `+` are configs (any model config key), the others are folders under the models
 * path (the project's name may come first, as in dbt_project.yml). Deeper folders override,
 * except tags and hooks, which add up. Precedence: `defaults:` < folders (outer to inner) <
 * properties YAML < `config()` in the model. Mistakes are errors at their project.yaml line: an
 * unknown config key or a bad value, a folder that does not exist (with a did-you-mean), a config
 * key written without its `+`, Jinja in a name (schema, alias, tags), which is read as written
 * (only hooks are templates).
 */
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import { MODEL_CONFIG_KEYS, ModelConfigSchema, type ModelConfig } from '../project/schema.js';
import type { YamlSource } from '../project/yaml-source.js';
import { explainIssues, showPath } from '../project/issues.js';

export interface FolderLevel {
  /** the folder, relative to the models path, with a trailing slash ('' for every model) */
  prefix: string;
  config: ModelConfig;
  /** where it is written, to locate hooks: the YAML path of this level */
  path: (string | number)[];
}

/** Configs that name something (a schema, a table, a tag): a folder config's value is the name as written. */
const LITERAL_NAMES = ['schema', 'alias', 'tags'];

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The levels of `models:`, validated. `folders`: every folder under the models path that holds
 * a model (relative, e.g. 'marts/finance').
 */
export function folderLevels(tree: unknown, opts: { project: string; folders: Set<string>; yaml: YamlSource; modelsPath: string }, ds: Diagnostic[]): FolderLevel[] {
  if (tree === undefined) return [];
  const at = (path: (string | number)[], key = true) => ({ file: 'project.yaml', ...opts.yaml.locate(['models', ...path], key) });
  if (!isMap(tree)) {
    ds.push(diag('E_CONFIG', 'models: must be a mapping of folders (staging:) and +configs (+materialized: view)', at([], false)));
    return [];
  }
  const levels: FolderLevel[] = [];
  const walk = (node: Record<string, unknown>, prefix: string, path: (string | number)[]) => {
    const cfg: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('+')) {
        const k = key.slice(1);
        if (!MODEL_CONFIG_KEYS.includes(k)) {
          const hint = didYouMean(k, MODEL_CONFIG_KEYS);
          ds.push(diag('E_CONFIG', `unknown config key '${key}' in models:`, at([...path, key]), hint ? `did you mean '+${hint}'?` : `known keys: ${MODEL_CONFIG_KEYS.map((x) => `+${x}`).join(', ')}`));
          continue;
        }
        const jinja = LITERAL_NAMES.includes(k) ? [value].flat().find((x) => typeof x === 'string' && /\{\{|\{%/.test(x)) : undefined;
        if (jinja !== undefined) {
          ds.push(diag('E_CONFIG', `models: +${k}: '${jinja}' is Jinja, which a folder config does not render (it would be the ${k === 'tags' ? 'tag' : k} as written; only hooks are templates)`, at([...path, key]), `set it in the models' config(), where it is rendered: config(${k}=...)`));
          continue;
        }
        cfg[k] = value;
        continue;
      }
      const folder = `${prefix}${key}`;
      if (!isMap(value)) {
        const looksLikeConfig = MODEL_CONFIG_KEYS.includes(key);
        ds.push(
          diag(
            'E_CONFIG',
            looksLikeConfig ? `'${key}' in models: is a config key: write it '+${key}' (a key without + names a folder)` : `'${key}' in models: names a folder, so it takes a mapping of folders and +configs`,
            at([...path, key]),
            looksLikeConfig ? `+${key}: ${JSON.stringify(value)}` : undefined,
          ),
        );
        continue;
      }
      if (!opts.folders.has(folder)) {
        const candidates = [...opts.folders].filter((f) => f.startsWith(prefix) && !f.slice(prefix.length).includes('/')).map((f) => f.slice(prefix.length));
        const hint = didYouMean(key, candidates);
        ds.push(diag('E_CONFIG', `models: no folder ${opts.modelsPath}/${folder} holds a model`, at([...path, key]), hint ? `did you mean '${hint}'?` : candidates.length ? `folders here: ${candidates.join(', ')}` : undefined));
        continue;
      }
      walk(value, `${folder}/`, [...path, key]);
    }
    const r = ModelConfigSchema.safeParse(cfg);
    if (!r.success) {
      // (a mistake inside a value, a hook's mapping: at its own line)
      for (const p of explainIssues(ModelConfigSchema, cfg, r.error.issues)) ds.push(diag('E_CONFIG', `models: +${showPath(p.path)}: ${p.message}`, p.path.length > 1 ? at([...path, `+${String(p.path[0])}`, ...(p.path.slice(1) as Array<string | number>)], p.key) : at([...path, `+${String(p.path[0])}`])));
      return;
    }
    if (Object.keys(r.data).length) levels.push({ prefix, config: r.data, path });
  };
  // dbt_project.yml habit: the project's name first
  const keys = Object.keys(tree);
  if (keys.length === 1 && keys[0] === opts.project && !opts.folders.has(opts.project) && isMap(tree[keys[0]])) walk(tree[keys[0]] as Record<string, unknown>, '', [opts.project]);
  else walk(tree, '', []);
  // outer levels first: they are merged in this order
  return levels.sort((a, b) => a.prefix.split('/').length - b.prefix.split('/').length);
}

/** The levels that apply to a model file (relative to the models path), outer to inner. */
export function levelsFor(levels: FolderLevel[], relPath: string): FolderLevel[] {
  return levels.filter((l) => relPath.startsWith(l.prefix));
}
