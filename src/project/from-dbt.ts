/**
 * `vigil init --from-dbt <path> [dir]`: a dbt project as a Vigil project.
 *
 * What Vigil spells the same way is copied byte for byte (models, macros, singular tests,
 * snapshots, seeds); what it spells differently is translated (dbt_project.yml into
 * project.yaml, profiles.yml outputs into targets, properties YAML into the keys Vigil accepts);
 * what it has no equivalent for is listed with its file and line, never dropped silently. A
 * literal secret of profiles.yml never reaches a written file: the target reads it from an
 * environment variable instead.
 *
 * The pure functions (`convertDbtProjectFile`, `convertProfiles`, `scanTemplate`,
 * `convertPropertiesYaml`) take text and return text and findings; `convertDbtProject` reads
 * the dbt project, converts everything in memory (a file that cannot be read stops it before
 * anything is written), then writes what `dest` does not have yet (or everything, with force).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { refuseNested } from './scaffold.js';
import { ensureIgnored } from './gitignore.js';
import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import { homedir } from 'node:os';
import { Document, isMap, isScalar, isSeq, LineCounter, Pair, parseDocument, Scalar, stringify, visit, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { diag, ProjectError, UsageError, type Diagnostic } from '../errors.js';
import { getWarehouse, OFFLINE_ENGINE, offlineDialect, warehouseTypes } from '../adapters/index.js';
import { STANDARD_SEED_TYPES, type DbtSeedTypes } from '../adapters/warehouse.js';
import { ALLOWED_ARGS, GENERIC_TESTS, NEEDS_COLUMN, TEST_RENDERED_CONFIGS, TEST_TEMPLATE_ARGS, type GenericTestName } from '../compile/generic-tests.js';
import { isTemplateError, lineColAt, TemplateEnv } from '../compile/template-env.js';
import { unrenderedTemplates } from '../compile/docs-blocks.js';
import { listFiles, SQL_FILE } from './load-project.js';
import { makeFolder, SELECTORS_FILE } from './paths.js';
import { parseSelectorsFile } from './selectors-file.js';
import { DBT_YAML_OPTIONS, parseDbtYaml, readingDifferences, showReading } from './dbt-yaml.js';
import { exactIntegerText, inexactInteger } from './yaml-lib.js';
import { PYYAML_RESOLVERS } from './pyyaml-scalars.js';

/** A plain scalar dbt reads as a float (PyYAML's resolver): `2.0`, `1.5e+3`. */
const PYYAML_FLOAT = PYYAML_RESOLVERS.find((r) => r.name === 'float')!.test;
import { showPath } from './issues.js';
import { keptOnlyQuoted, readCsv, readHeader, readSeedFile, seedColumnName, seedColumnTypes } from '../seeds/seed-csv.js';
import { checkTestResultConfig, TEST_RESULT_KEYS } from '../compile/test-results-config.js';
import { MATERIALIZATIONS, MODEL_CONFIG_KEYS, ModelConfigSchema, PropertiesFileSchema, SeedConfigSchema, SingularTestConfigSchema, SNAPSHOT_CONFIG_KEYS, UNSUPPORTED_SNAPSHOT_KEYS } from './schema.js';
import { docRef } from '../install.js';
import { typeFamily } from '../adapters/type-family.js';
import { DATETIME_MEMBERS } from '../compile/py-datetime.js';
import type { CanonicalType } from '../adapters/dialect.js';

/** Something that was not converted, or was converted with a difference worth knowing. */
export interface Finding {
  /** relative to the dbt project (profiles.yml: as given when it is elsewhere) */
  file?: string;
  line?: number;
  message: string;
}

export function formatFinding(f: Finding): string {
  return `${f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : ''}${f.message}`;
}

export interface EnvNeed {
  name: string;
  what: string;
}

type Map_ = Record<string, unknown>;
const isObj = (v: unknown): v is Map_ => !!v && typeof v === 'object' && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** Findings of one conversion step: what was not converted, and what changed on the way. */
export class Findings {
  readonly notConverted: Finding[] = [];
  readonly notes: Finding[] = [];
  readonly env: EnvNeed[] = [];
  /** literal secrets read (profiles.yml passwords, keys): no written file may hold one */
  readonly secrets: string[] = [];
  private seen = new Set<string>();
  nc(file: string | undefined, line: number | undefined, message: string): void {
    this.push(this.notConverted, { file, line, message });
  }
  note(file: string | undefined, line: number | undefined, message: string): void {
    this.push(this.notes, { file, line, message });
  }
  private push(list: Finding[], f: Finding): void {
    const k = `${list === this.notes ? 'n' : 'c'}|${f.file}|${f.line}|${f.message}`;
    if (this.seen.has(k)) return;
    this.seen.add(k);
    list.push(f);
  }
  merge(o: Findings): void {
    for (const f of o.notConverted) this.push(this.notConverted, f);
    for (const f of o.notes) this.push(this.notes, f);
    for (const e of o.env) if (!this.env.some((x) => x.name === e.name)) this.env.push(e);
    this.secrets.push(...o.secrets);
  }
}

// ---------------------------------------------------------------------------------------------
// dbt_project.yml

export interface DbtPaths {
  models: string[];
  seeds: string[];
  snapshots: string[];
  tests: string[];
  macros: string[];
  analyses: string[];
  docs: string[];
  target: string;
}

export interface DbtProjectInfo {
  name: string;
  profile?: string;
  paths: DbtPaths;
  /** read as dbt reads it (YAML 1.1): `differences` are where YAML 1.2 reads otherwise */
  yaml: NonNullable<ReturnType<typeof parseDbtYaml>>;
}

const DBT_FILE = 'dbt_project.yml';

/** Read dbt_project.yml: the project's name, profile and paths. Broken YAML is a ProjectError (exit 2). */
export function readDbtProjectFile(text: string, file = DBT_FILE): DbtProjectInfo {
  const ds: Diagnostic[] = [];
  const yaml = parseDbtYaml(text, file, ds);
  if (!yaml) throw new ProjectError(ds);
  const v = yaml.value;
  if (!isObj(v)) throw new ProjectError([diag('E_DBT', `${file} is not a mapping of settings (name:, models:, ...)`, { file, line: 1 })]);
  if (typeof v.name !== 'string' || !v.name) throw new ProjectError([diag('E_DBT', `${file} has no name:`, { file, line: 1 }, 'every dbt project has one: name: my_project')]);
  const paths = (key: string, alt: string | undefined, dflt: string[]): string[] => {
    const raw = v[key] ?? (alt ? v[alt] : undefined);
    const list = asList(raw).filter((x): x is string => typeof x === 'string' && !!x.trim());
    return (list.length ? list : dflt).map((p) => posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '') || '.');
  };
  return {
    name: v.name,
    profile: typeof v.profile === 'string' ? v.profile : undefined,
    paths: {
      models: paths('model-paths', 'source-paths', ['models']),
      seeds: paths('seed-paths', 'data-paths', ['seeds']),
      snapshots: paths('snapshot-paths', undefined, ['snapshots']),
      tests: paths('test-paths', undefined, ['tests']),
      macros: paths('macro-paths', undefined, ['macros']),
      analyses: paths('analysis-paths', undefined, ['analyses']),
      docs: paths('docs-paths', undefined, []),
      target: typeof v['target-path'] === 'string' ? v['target-path'] : 'target',
    },
    yaml,
  };
}

/** Why a dbt config key has no Vigil equivalent (folder configs, config(), YAML config:). */
const CONFIG_HINTS: Record<string, string> = {
  persist_docs: 'descriptions are not written to the warehouse as comments (BigQuery: a model description is its table description)',
  docs: 'show and node_color are not read by Vigil',
  contract: 'Vigil has no contracts: declare data_type on columns and run vigil check',
  database: 'relations live in the target\'s database (DuckDB file, Postgres database, BigQuery project)',
  target_database: 'relations live in the target\'s database',
  quoting: 'Vigil quotes identifiers itself',
  sql_header: 'put the statement in a pre_hook',
  group: 'Vigil has no groups or access levels',
  access: 'Vigil has no groups or access levels',
  on_configuration_change: 'Vigil has no materialized views',
  incremental_predicates: 'not supported: filter in the model with is_incremental()',
  merge_update_columns: 'not supported: a merge updates every column',
  merge_exclude_columns: 'not supported: a merge updates every column',
  indexes: 'not supported: create indexes in a post_hook',
  unlogged: 'not supported',
  store_failures: 'a test config: give it to each test (store_failures: true in its YAML or config())',
  store_failures_as: 'a test config: give it to each test (store_failures_as: table in its YAML or config())',
  event_time: 'microbatch models are not supported',
  batch_size: 'microbatch models are not supported',
  lookback: 'microbatch models are not supported',
  begin: 'microbatch models are not supported',
  hard_deletes: "new_record is not supported: Vigil's snapshots take hard_deletes: invalidate (a deleted key's current version closed) or ignore",
  ...UNSUPPORTED_SNAPSHOT_KEYS,
  transient: 'Snowflake only',
  copy_grants: 'Snowflake only',
  file_format: 'not supported',
  loaded_at_query: 'Vigil reads loaded_at_field: write the column (or an expression of the table\'s columns) there',
};

const hintFor = (k: string) => (CONFIG_HINTS[k] ? `: ${CONFIG_HINTS[k]}` : '');

const configShape = ModelConfigSchema.shape as unknown as Record<string, Shape>;
const seedShape = SeedConfigSchema.shape as unknown as Record<string, Shape>;
const SEED_CONFIG_KEYS = Object.keys(SeedConfigSchema.shape);

/** A hook as Vigil writes it: its statement, and transaction: false when it runs outside the model's transaction. */
type HookEntry = { sql: string; transaction?: false };

/** dbt's `+pre-hook: [{sql: ..., transaction: false}]` as Vigil's list of hooks. */
function hookValue(v: unknown, at: { file: string; line?: number }, f: Findings): HookEntry[] | undefined {
  const out: HookEntry[] = [];
  for (const h of asList(v)) {
    if (typeof h === 'string') out.push({ sql: h });
    else if (isObj(h) && typeof h.sql === 'string') out.push(h.transaction === false ? { sql: h.sql, transaction: false } : { sql: h.sql });
    else {
      f.nc(at.file, at.line, 'a hook that is neither SQL text nor {sql: ...}: not converted');
      return undefined;
    }
  }
  return out;
}

/** A hook kept only when Vigil can render it (no log(), run_query(), ...). */
function usableHooks(hooks: HookEntry[], at: { file: string; line?: number }, key: string, f: Findings, scan: ScanOptions): HookEntry[] {
  return hooks.filter((h) => {
    const problems = scanTemplate(h.sql, 'hook', scan);
    for (const p of problems) f.nc(at.file, at.line, `${key}: ${p.message}; the hook is not converted`);
    return problems.length === 0;
  });
}

export interface ProjectConversion {
  /** project.yaml without targets (default_target and targets come from profiles.yml) */
  project: Map_;
  /** seed name -> config from dbt_project.yml's seeds: tree */
  seedConfigs: Map<string, Map_>;
  /** model name -> config from dbt_project.yml's models: tree at the model itself (`staging: stg_a: +materialized: table`) */
  modelConfigs: Map<string, Map_>;
}

export interface ProjectLayout {
  /** folders (relative to the Vigil models path) that hold a model, e.g. 'staging', 'marts/finance' */
  modelFolders: Set<string>;
  modelNames: Set<string>;
  /** each model's folder (relative to the Vigil models path, '' at its root) */
  modelFolderOf?: Map<string, string>;
  /** seeds by name -> path relative to the Vigil seeds path ('raw/raw_orders.csv') */
  seeds: Map<string, string>;
  /** Vigil paths that differ from the defaults */
  paths: Record<string, string>;
  packages: Set<string>;
}

/** dbt_project.yml -> project.yaml (name, vars, paths, clean_targets, hooks, models:) and seed configs. */
export function convertDbtProjectFile(info: DbtProjectInfo, layout: ProjectLayout, f: Findings): ProjectConversion {
  const file = DBT_FILE;
  const v = info.yaml.value as Map_;
  const line = (path: (string | number)[]) => info.yaml.locate(path, true).line;
  const scan: ScanOptions = { project: info.name, packages: layout.packages };
  const project: Map_ = {};
  let name = info.name;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    name = name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1');
    f.note(file, line(['name']), `name '${info.name}' is not an identifier: the Vigil project is named ${name}`);
  }
  project.name = name;
  if (typeof v.version === 'string' || typeof v.version === 'number') project.version = v.version;
  // dbt reads YAML 1.1 (no is false, 0755 is 493): the values are written typed, as dbt read them
  for (const d of info.yaml.differences) f.note(file, line(d.path), showReading(d, showPath(d.path)));

  // vars: global ones, then the project's own scope (dbt: vars: { my_project: { x: 1 } })
  if (v.vars !== undefined) {
    if (!isObj(v.vars)) f.nc(file, line(['vars']), 'vars: is not a mapping: not converted');
    else {
      const vars: Map_ = {};
      const scoped: Map_ = {};
      // an integer past 2^53 is exact only as written: copied as its digits, quoted (a number
      // there would be rounded as project.yaml is read, and refused)
      const exact = (x: unknown, path: (string | number)[]): unknown => {
        if (Array.isArray(x)) return x.map((y, i) => exact(y, [...path, i]));
        if (isObj(x)) return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, exact(y, [...path, k])]));
        // a float that is a whole number (2.0) stays one: dbt prints it 2.0 (5 / 2.0 is no integer division)
        if (typeof x === 'number' && Number.isInteger(x) && PYYAML_FLOAT.test(info.yaml.scalarAt(path)?.source ?? '')) return Object.assign(new Scalar(x), { minFractionDigits: 1 });
        const written = inexactInteger(x) ? info.yaml.scalarAt(path)?.source : undefined;
        if (written === undefined || !inexactInteger(x, written)) return x;
        // (as dbt reads it: 0x2E000000000001 is 12947848928690177, +9007199254740993 is 9007199254740993)
        const digits = exactIntegerText(written);
        f.note(file, line(path), `${path.slice(1).join('.')}: ${written} is past 2^53, where a YAML number is no longer exact: copied as the string '${digits}'`);
        return digits;
      };
      for (const [k, raw] of Object.entries(v.vars)) {
        const val = exact(raw, ['vars', k]);
        if (k === info.name && isObj(val)) Object.assign(scoped, val);
        else if (layout.packages.has(k) && isObj(val)) f.nc(file, line(['vars', k]), `vars for the package '${k}': Vigil has no packages`);
        else vars[k] = val;
      }
      Object.assign(vars, scoped);
      if (Object.keys(vars).length) project.vars = vars;
    }
  }
  if (Object.keys(layout.paths).length) project.paths = layout.paths;

  // clean-targets: the target folder is cleaned anyway; package folders do not exist in Vigil
  if (v['clean-targets'] !== undefined) {
    const keep: string[] = [];
    for (const t of asList(v['clean-targets'])) {
      if (typeof t !== 'string') continue;
      const p = posix.normalize(t.replace(/\\/g, '/')).replace(/\/+$/, '');
      if (p === posix.normalize(info.paths.target) || p === 'target') continue;
      if (p === 'dbt_packages' || p === 'dbt_modules') continue;
      if (isAbsolute(p) || p.startsWith('..')) {
        f.nc(file, line(['clean-targets']), `clean-targets: '${t}' is outside the project: vigil clean removes only folders inside it`);
        continue;
      }
      keep.push(p);
    }
    if (keep.length) project.clean_targets = keep;
  }

  for (const [dbtKey, key] of [
    ['on-run-start', 'on_run_start'],
    ['on-run-end', 'on_run_end'],
  ] as const) {
    if (v[dbtKey] === undefined || v[dbtKey] === null) continue;
    const at = { file, line: line([dbtKey]) };
    const hooks = hookValue(v[dbtKey], at, f);
    if (!hooks) continue;
    // (Vigil runs each of these by itself, never in a transaction: transaction: false is what they do already)
    const ok = usableHooks(hooks, at, dbtKey, f, scan).map((h) => h.sql);
    if (ok.length) project[key] = ok;
  }

  const models = v.models === undefined || v.models === null ? undefined : convertModelTree(v.models, info, layout, f, scan);
  if (models?.defaults) project.defaults = models.defaults;
  if (models?.tree) project.models = models.tree;
  const modelConfigs = models?.modelConfigs ?? new Map<string, Map_>();
  const seedConfigs = v.seeds === undefined || v.seeds === null ? new Map<string, Map_>() : seedTreeConfigs(v.seeds, info, layout, f);

  const consumed = new Set(['name', 'version', 'profile', 'config-version', 'require-dbt-version', 'vars', 'models', 'seeds', 'clean-targets', 'on-run-start', 'on-run-end',
    'model-paths', 'source-paths', 'seed-paths', 'data-paths', 'snapshot-paths', 'test-paths', 'macro-paths', 'docs-paths', 'target-path', 'log-path', 'packages-install-path', 'modules-path',
    // reported with the analyses themselves, when there are some
    'analysis-paths']);
  const why: Record<string, string> = {
    'asset-paths': 'not read by Vigil',
    snapshots: 'snapshot configs by folder: Vigil reads a snapshot\'s config from its config() or YAML entry',
    tests: 'project-wide test configs: set severity (and store_failures, warn_if, ...) on each test',
    data_tests: 'project-wide test configs: set severity (and store_failures, warn_if, ...) on each test',
    sources: 'source configs by folder are not supported',
    unit_tests: 'unit test configs by folder are not supported',
    dispatch: 'Vigil has no adapter.dispatch',
    quoting: 'Vigil quotes identifiers itself',
    'query-comment': 'Vigil adds no query comment',
    flags: 'dbt flags have no Vigil equivalent',
    metrics: 'Vigil has no semantic layer',
    'semantic-models': 'Vigil has no semantic layer',
    'saved-queries': 'Vigil has no semantic layer',
    exposures: 'Vigil\'s dashboards (dashboards/*.json) declare what reads the models',
    'restrict-access': 'Vigil has no groups or access levels',
  };
  for (const k of Object.keys(v)) {
    if (consumed.has(k)) continue;
    if (k === 'asset-paths' && !asList(v[k]).length) continue;
    f.nc(file, line([k]), `${k}: not converted${why[k] ? ` (${why[k]})` : ' (not a setting Vigil has)'}`);
  }
  if (v['docs-paths'] !== undefined) f.note(file, line(['docs-paths']), 'docs-paths: Vigil reads {% docs %} blocks from .md files under the models, seeds and snapshots folders: those found elsewhere are copied under models/_dbt_docs/');
  return { project, seedConfigs, modelConfigs };
}

/** A string of a value that holds Jinja (`{{ target.name }}`), if any. */
function jinjaIn(v: unknown): string | undefined {
  if (typeof v === 'string') return /\{\{|\{%/.test(v) ? v : undefined;
  for (const x of Array.isArray(v) ? v : isObj(v) ? Object.values(v) : []) {
    const j = jinjaIn(x);
    if (j !== undefined) return j;
  }
  return undefined;
}

/**
 * The dbt `models:` tree as Vigil's: the configs directly under `models:` (every model) as
 * project.yaml's `defaults:`, the project's own tree as its `models:` (same shape: the project's
 * name, folders, +configs). dbt combines the two levels as Vigil combines defaults and folders:
 * the project's level wins a config, tags and hooks add up (the outer first), meta merges key by key.
 */
function convertModelTree(tree: unknown, info: DbtProjectInfo, layout: ProjectLayout, f: Findings, scan: ScanOptions): { defaults?: Map_; tree?: Map_; modelConfigs: Map<string, Map_> } | undefined {
  const file = DBT_FILE;
  const loc = (path: (string | number)[]) => info.yaml.locate(['models', ...path], true).line;
  if (!isObj(tree)) {
    f.nc(file, loc([]), 'models: is not a mapping: not converted');
    return undefined;
  }
  // configs at a model's own path, as dbt matches them (its folders, then its name): written to its YAML entry
  const modelConfigs = new Map<string, Map_>();
  const walk = (node: Map_, prefix: string, path: (string | number)[]): Map_ => {
    const out: Map_ = {};
    for (const [key, value] of Object.entries(node)) {
      const folder = `${prefix}${key}`;
      const bare = key.replace(/^\+/, '').replace(/-/g, '_');
      const isConfig = key.startsWith('+') || ((MODEL_CONFIG_KEYS.includes(bare) || bare in CONFIG_HINTS || bare === 'pre_hook' || bare === 'post_hook') && !(isObj(value) && layout.modelFolders.has(folder)));
      const at = { file, line: loc([...path, key]) };
      if (isConfig) {
        if (!MODEL_CONFIG_KEYS.includes(bare)) {
          f.nc(file, at.line, `models: ${showPath([...path, key])}: not converted${hintFor(bare) || ' (not a model config Vigil has)'}`);
          continue;
        }
        let val: unknown = value;
        const jinja = bare === 'pre_hook' || bare === 'post_hook' ? undefined : jinjaIn(value);
        if (jinja !== undefined) {
          // dbt renders it as it reads dbt_project.yml; Vigil's folder configs are read as written (hooks are rendered as they run)
          f.nc(file, at.line, `models: ${showPath([...path, key])}: '${jinja}' is Jinja, which Vigil does not render in project.yaml's folder configs (only hooks): not converted; set it in the models' config(), where it is rendered`);
          continue;
        }
        if (bare === 'pre_hook' || bare === 'post_hook') {
          const hooks = hookValue(value, at, f);
          if (!hooks) continue;
          // a statement, or a mapping for one outside the model's transaction (as dbt writes it)
          const ok = usableHooks(hooks, at, key, f, scan).map((h) => (h.transaction === false ? h : h.sql));
          if (!ok.length) continue;
          val = ok.length === 1 && !Array.isArray(value) ? ok[0] : ok;
        }
        // keys Vigil does not read are listed, the rest kept (grants' select beside an insert), as in a properties file
        const r = withoutUnreadKeys(configShape[bare], val, (p) => f.nc(file, at.line, `models: ${showPath([...path, key, ...p])}: ${unreadKeyNote([key, ...p])}`));
        if (!r.ok) {
          if (r.message !== undefined) f.nc(file, at.line, `models: ${showPath([...path, key])}: ${JSON.stringify(val)} is not a value Vigil takes (${r.message})${bare === 'materialized' ? `; materializations: ${MATERIALIZATIONS.join(', ')}` : ''}`);
          continue;
        }
        out[`+${bare}`] = r.value;
        continue;
      }
      if (!isObj(value)) {
        f.nc(file, at.line, `models: ${showPath([...path, key])}: not a folder (a mapping) nor a +config: not converted`);
        continue;
      }
      if (!layout.modelFolders.has(folder)) {
        if (layout.modelFolderOf?.get(key) === prefix.replace(/\/$/, '')) {
          const own = walk(value, `${folder}/`, [...path, key]);
          if (Object.keys(own).length) modelConfigs.set(key, Object.fromEntries(Object.entries(own).map(([k, x]) => [k.replace(/^\+/, ''), x])));
        } else if (layout.modelNames.has(key)) f.nc(file, at.line, `models: ${showPath([...path, key])}: the model '${key}' is not in ${prefix ? `the folder ${prefix.replace(/\/$/, '')}` : 'the models folder itself'}: dbt applies these configs to no model (an unused config path): not converted`);
        else f.nc(file, at.line, `models: ${showPath([...path, key])}: no folder ${folder} holds a model: not converted`);
        continue;
      }
      const sub = walk(value, `${folder}/`, [...path, key]);
      if (Object.keys(sub).length) out[key] = sub;
    }
    return out;
  };
  const top: Map_ = {};
  let own: Map_ = {};
  for (const [key, value] of Object.entries(tree)) {
    if (key.startsWith('+')) top[key] = value;
    else if (key === info.name && isObj(value)) own = value;
    else if (isObj(value)) f.nc(file, loc([key]), `models: ${key}: configs for another package: Vigil has no packages`);
    else top[key] = value;
  }
  // defaults: keys without the +
  const defaults = Object.fromEntries(Object.entries(walk(top, '', [])).map(([k, x]) => [k.replace(/^\+/, ''), x]));
  const converted = walk(own, '', [info.name]);
  return {
    modelConfigs,
    defaults: Object.keys(defaults).length ? defaults : undefined,
    // the project's name first, as in dbt_project.yml (unless a folder has that name too)
    tree: !Object.keys(converted).length ? undefined : layout.modelFolders.has(info.name) ? converted : { [info.name]: converted },
  };
}

/**
 * What a column_types type (`declared`, which dbt passes to the warehouse as written) holds that
 * the type Vigil loads the column as (`type`: a 64-bit int, a double, unbounded text) does not
 * keep; undefined when the two hold the same values. On Postgres and DuckDB `integer` is 32 bits,
 * `smallint` 16, `real` (DuckDB's `float` too) single precision; Postgres keeps a varchar's or
 * char's length (a bare `char` is char(1)), DuckDB ignores it; BigQuery's int types are all
 * INT64, its STRING(n) keeps n.
 */
function seedTypeNarrowing(declared: string, type: CanonicalType, warehouse: string | undefined): string | undefined {
  const t = declared.trim().toLowerCase().replace(/\s+/g, ' ');
  const base = t.replace(/\s*\(.*\)\s*$/, '');
  const size = /\(\s*(\d+)\s*\)$/.exec(t)?.[1];
  const w = seedTypesOf(warehouse);
  if (type === 'int' && w.ints === 'sized') {
    if (base === 'hugeint') return 'its 128-bit range is not there: a value beyond 64 bits is refused';
    const bits = ({ smallint: 16, int2: 16, int: 32, integer: 32, int4: 32 } as Record<string, number>)[base];
    if (bits) return `its ${bits}-bit range is no longer enforced (a value beyond it loads, where dbt's load fails)`;
  }
  if (type === 'float' && w.single(base, size)) return 'single precision in dbt: the values keep double precision (0.1 is 0.1, not 0.100000001)';
  if (type === 'string' && w.strings !== 'ignored') {
    const fixed = w.strings === 'length' && (base === 'char' || base === 'character');
    const n = size ?? (fixed ? '1' : undefined);
    if (n !== undefined && (w.strings === 'length' || base === 'string')) {
      return fixed ? `its fixed length ${n} is not kept (dbt's load refuses a longer value and pads a shorter one with blanks)` : `its length limit ${n} is no longer enforced (a longer value loads, where dbt's load fails)`;
    }
  }
  return undefined;
}

/** The warehouse's dbtSeedTypes (absent, or no warehouse named: the SQL standard's, as Postgres'). */
function seedTypesOf(warehouse: string | undefined): DbtSeedTypes {
  return (warehouse !== undefined ? getWarehouse(warehouse)?.dbtSeedTypes : undefined) ?? STANDARD_SEED_TYPES;
}

// dbt's seed loader types a column as agate does (dbt-common's build_type_tester): the first of
// Number, Date (strptime %Y-%m-%d), DateTime (%Y-%m-%d %H:%M:%S), ISO 8601 with a T, Boolean that
// takes every value, else Text; a value is NULL when trimmed and lower-cased it is '' or 'null'.
// These read what agate accepts narrowly: a column is said to differ only when dbt surely reads it so.
const AGATE_CURRENCY = ['؋', '$', 'ƒ', '៛', '¥', '₡', '₱', '£', '€', '¢', '﷼', '₪', '₩', '₭', '₮', '₦', '฿', '₤', '₫'];
const PY_DECIMAL = /^\s*[+-]?(?:(?:\d(?:_?\d)*)(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?\s*$|^\s*[+-]?(?:inf|infinity|nan)\s*$/i;
const PY_YMD = '(\\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\\d|0[1-9]|[1-9])';
const PY_DATE = new RegExp(`^${PY_YMD}$`);
const PY_DATETIME = new RegExp(`^${PY_YMD}\\s+(2[0-3]|[01]\\d|\\d):([0-5]\\d|\\d):([0-5]\\d|\\d)$`);
const stripChar = (s: string, c: string) => s.replace(new RegExp(`^[${c}]+|[${c}]+$`, 'gu'), '');
/** agate's Number.cast: %, a leading minus, currency signs and thousands separators dropped, then Python's Decimal(). */
function agateNumber(v: string): boolean {
  let d = stripChar(v.trim(), '%');
  if (d.startsWith('-')) d = d.slice(1);
  for (const c of AGATE_CURRENCY) d = stripChar(d, c === '$' ? '\\$' : c);
  return PY_DECIMAL.test(d.replace(/,/g, ''));
}
/** A real date from year 1 (Python's strptime refuses 2020-02-30 and year 0). */
function realDate(m: RegExpExecArray | null): boolean {
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return y >= 1 && d <= new Date(Date.UTC(2000, mo, 0)).getUTCDate() - (mo === 2 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? 1 : 0);
}
const agateDate = (v: string) => realDate(PY_DATE.exec(v.trim()));
const agateDateTime = (v: string) => realDate(PY_DATETIME.exec(v.trim()));
const agateNull = (v: string | null) => v === null || ['', 'null'].includes(v.trim().toLowerCase());

/**
 * The columns Vigil types otherwise than dbt's seed loader, as found in the values: text Vigil
 * loads where dbt reads numbers ('1,000', '$5', '12%'), dates (2020-1-5) or timestamps
 * (2020-01-05 1:02:03); a timestamp Vigil loads where dbt reads text (2024-01-01 10:00: no
 * seconds; or a space in one row and a T in another). Columns with column_types are left out.
 */
function seedInferenceDifferences(abs: string, delimiter: string, cols: Array<{ name: string; type?: CanonicalType }>, declared: Map<string, string>): { said: string[]; asText: Set<string> } {
  const said: string[] = [];
  const asText = new Set<string>();
  const todo = cols.map((c, i) => ({ ...c, i })).filter((c) => !declared.has(c.name) && (c.type === 'string' || c.type === 'timestamp'));
  if (!todo.length) return { said, asText };
  let records: Array<Array<string | null>>;
  try {
    const r = readCsv(readSeedFile(abs), delimiter);
    if (!('records' in r)) return { said, asText };
    records = r.records.filter((row) => row.length > 1 || !agateNull(row[0] ?? null)).slice(1);
  } catch {
    return { said, asText };
  }
  for (const c of todo) {
    const values = records.map((row) => row[c.i] ?? null).filter((v): v is string => !agateNull(v));
    if (!values.length) continue;
    const first = (plain: RegExp) => values.find((v) => !plain.test(v)) ?? values[0];
    if (c.type === 'string') {
      const plain = /^[+-]?\d+(\.\d+)?$/;
      const n = first(plain);
      if (values.every(agateNumber)) said.push(`${c.name} loads as text, where dbt reads '${n}' as a number${plain.test(n) ? ': give it column_types decimal(p,s) to load numbers' : ' (agate drops thousands separators, a currency sign and %): write plain numbers to load numbers'}`);
      else if (values.every(agateDate)) said.push(`${c.name} loads as text, where dbt reads '${first(/^\d{4}-\d\d-\d\d$/)}' as a date: write dates as YYYY-MM-DD to load dates`);
      else if (values.every(agateDateTime)) said.push(`${c.name} loads as text, where dbt reads '${first(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)}' as a timestamp: write YYYY-MM-DD HH:MM:SS to load timestamps`);
    } else if (!values.every(agateDateTime) && !values.every((v) => v.split('T').length === 2)) {
      asText.add(c.name);
      said.push(`${c.name} loads as timestamp with time zone, where dbt reads '${values.find((v) => !agateDateTime(v))}' as text (its seed loader takes YYYY-MM-DD HH:MM:SS, or ISO 8601 with a T, in every row): give it column_types: {${c.name}: text} to keep it text`);
    }
  }
  return { said, asText };
}

/**
 * The columns of a seed (its CSV at `abs`, its converted config) that Vigil loads as another type
 * than dbt: a column dbt's agate reads as another type than Vigil's inference (seedInferenceDifferences), a timestamp (dbt's has no time zone, unless column_types gives one: `timestamptz`), a numeric or decimal without precision (a float), a column_types type narrower than the
 * one Vigil loads (seedTypeNarrowing: `integer`, `varchar(3)`, `real`), and on Postgres a column
 * of numbers with decimals (dbt-postgres infers numeric).
 */
function seedTypeDifferences(abs: string, config: Map_, warehouse: unknown): string[] {
  const w = typeof warehouse === 'string' ? warehouse : undefined;
  const dbtInfersNumeric = w !== undefined && getWarehouse(w)?.dbtSeedsInferNumeric === true;
  const cfg = SeedConfigSchema.safeParse(config);
  const cols = cfg.success ? seedColumnTypes(abs, cfg.data) : undefined;
  if (!cols) return [];
  const declared = new Map(Object.entries(cfg.success ? cfg.data.column_types ?? {} : {}).map(([k, v]) => [seedColumnName(k, cfg.data!), v]));
  const inferred0 = seedInferenceDifferences(abs, cfg.success ? cfg.data.delimiter ?? ',' : ',', cols, declared);
  const out: string[] = [...inferred0.said];
  // (not one column_types gives a time zone in dbt too: timestamptz, or BigQuery's TIMESTAMP)
  const ts = cols.filter((c) => c.type === 'timestamp' && !inferred0.asText.has(c.name) && typeFamily(declared.get(c.name) ?? 'datetime', seedTypesOf(w).bareTimestamp) !== 'instant').map((c) => c.name);
  if (ts.length) out.push(`${ts.join(', ')} load${ts.length === 1 ? 's' : ''} as timestamp with time zone (a value without an offset is UTC), where dbt loads timestamp (without time zone)`);
  const bare = cols.filter((c) => c.type === 'float' && !c.decimal && /^\s*(numeric|decimal)\s*$/i.test(declared.get(c.name) ?? '')).map((c) => c.name);
  if (bare.length) out.push(`${bare.join(', ')} (numeric without a precision) load${bare.length === 1 ? 's' : ''} as float (double): write decimal(p,s) in column_types for an exact type`);
  const inferred = dbtInfersNumeric ? cols.filter((c) => c.type === 'float' && !declared.has(c.name)).map((c) => c.name) : [];
  if (inferred.length) out.push(`${inferred.join(', ')} load${inferred.length === 1 ? 's' : ''} as double precision, where dbt-${String(warehouse)} infers numeric (exact): write decimal(p,s) in column_types for an exact type`);
  const dialect = (w !== undefined ? getWarehouse(w)?.dialect : undefined) ?? offlineDialect();
  for (const c of cols) {
    const given = declared.get(c.name);
    const lost = given !== undefined && c.type && !c.decimal ? seedTypeNarrowing(given, c.type, w) : undefined;
    if (lost) out.push(`${c.name} (column_types ${given}) loads as ${dialect.type(c.type!)}: ${lost}`);
  }
  return out;
}

/** The dbt `seeds:` tree, resolved per seed (Vigil configures seeds in their YAML entries). */
function seedTreeConfigs(tree: unknown, info: DbtProjectInfo, layout: ProjectLayout, f: Findings): Map<string, Map_> {
  const file = DBT_FILE;
  const seedsDir = info.paths.seeds[0] ?? 'seeds';
  const loc = (path: (string | number)[]) => info.yaml.locate(['seeds', ...path], true).line;
  const out = new Map<string, Map_>();
  if (!isObj(tree)) {
    f.nc(file, loc([]), 'seeds: is not a mapping: not converted');
    return out;
  }
  const seedFolders = new Set<string>();
  for (const rel of layout.seeds.values()) {
    const parts = rel.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) seedFolders.add(parts.slice(0, i).join('/'));
  }
  const levels: Array<{ prefix: string; seed?: string; depth: number; config: Map_ }> = [];
  const walk = (node: Map_, prefix: string, path: (string | number)[], depth: number, seed?: string) => {
    const cfg: Map_ = {};
    for (const [key, value] of Object.entries(node)) {
      const bare = key.replace(/^\+/, '').replace(/-/g, '_');
      const at = loc([...path, key]);
      const isConfig = key.startsWith('+') || (!isObj(value) && (SEED_CONFIG_KEYS.includes(bare) || bare in CONFIG_HINTS)) || (bare === 'column_types' && !seedFolders.has(`${prefix}${key}`));
      if (isConfig) {
        if (!SEED_CONFIG_KEYS.includes(bare)) {
          f.nc(file, at, `seeds: ${showPath([...path, key])}: not converted${hintFor(bare) || ` (seed configs Vigil has: ${SEED_CONFIG_KEYS.join(', ')})`}`);
          continue;
        }
        const jinja = jinjaIn(value);
        if (jinja !== undefined) {
          f.nc(file, at, `seeds: ${showPath([...path, key])}: '${jinja}' is Jinja, which Vigil does not render in a seed's config: not converted`);
          continue;
        }
        const r = withoutUnreadKeys(seedShape[bare], value, (p) => f.nc(file, at, `seeds: ${showPath([...path, key, ...p])}: ${unreadKeyNote([key, ...p])}`));
        if (!r.ok) {
          if (r.message !== undefined) f.nc(file, at, `seeds: ${showPath([...path, key])}: ${JSON.stringify(value)} is not a value Vigil takes (${r.message})`);
          continue;
        }
        cfg[bare] = r.value;
        continue;
      }
      if (!isObj(value) || seed) {
        f.nc(file, at, `seeds: ${showPath([...path, key])}: not a folder, a seed or a +config: not converted`);
        continue;
      }
      const folder = `${prefix}${key}`;
      // dbt matches the path exactly (project, folders, seed), as the seed's fqn; another is unused (dbt warns of it)
      const seedAt = layout.seeds.get(key);
      if (seedFolders.has(folder)) walk(value, `${folder}/`, [...path, key], depth + 1);
      else if (seedAt !== undefined && seedAt.replace(/\.csv$/i, '') === folder) walk(value, prefix, [...path, key], depth + 1, key);
      else if (seedAt !== undefined) f.nc(file, at, `seeds: ${showPath([...path, key])}: the seed ${key} is ${seedsDir}/${seedAt}, whose path in seeds: is ${showPath([info.name, ...seedAt.replace(/\.csv$/i, '').split('/')])}: dbt does not apply configs at this path to it (it warns of an unused configuration path): not converted`);
      else f.nc(file, at, `seeds: ${showPath([...path, key])}: no seed or seed folder is named '${key}': not converted`);
    }
    if (Object.keys(cfg).length) levels.push({ prefix, seed, depth, config: cfg });
  };
  const top: Map_ = {};
  let own: Map_ = {};
  for (const [key, value] of Object.entries(tree)) {
    if (key === info.name && isObj(value)) own = value;
    // (dbt matches the first level below seeds: with the project's name: a folder's name there is another package's)
    else if (!key.startsWith('+') && isObj(value)) f.nc(file, loc([key]), `seeds: ${key}: configs for another package: Vigil has no packages${seedFolders.has(key) || layout.seeds.has(key) ? ` (dbt applies them to the project's seeds under seeds: ${info.name}: ${key}:)` : ''}`);
    else top[key] = value;
  }
  walk(top, '', [], 0);
  walk(own, '', [info.name], 0);
  levels.sort((a, b) => a.depth - b.depth);
  for (const [name, rel] of layout.seeds) {
    const cfg: Map_ = {};
    for (const l of levels) {
      if (l.seed ? l.seed !== name : !rel.startsWith(l.prefix)) continue;
      for (const [k, val] of Object.entries(l.config)) {
        if (k === 'tags') cfg.tags = [...new Set([...asList(cfg.tags), ...asList(val)])];
        else if (k === 'column_types' && isObj(cfg.column_types) && isObj(val)) cfg.column_types = { ...cfg.column_types, ...val };
        else cfg[k] = val;
      }
    }
    if (Object.keys(cfg).length) out.set(name, cfg);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// profiles.yml

export interface TargetsConversion {
  default_target: string;
  targets: Record<string, Map_>;
}

/** The DuckDB target `vigil init` writes, for a project without profiles.yml. */
export const DEFAULT_TARGETS: TargetsConversion = { default_target: 'dev', targets: { dev: { type: OFFLINE_ENGINE, path: '.vigil/dev.duckdb', schema: 'analytics' } } };

const ENV_CALL = /\{\{\s*env_var\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1\s*(?:,\s*(?:(['"])(.*?)\3|([-\w.]+))\s*)?\)\s*((?:\|\s*\w+\s*(?:\(\s*\))?\s*)*)\}\}/g;

/**
 * A profiles.yml value as Vigil's target config takes it: a literal, or a string whose
 * `{{ env_var('X') }}` calls (filters like `| int` dropped, defaults quoted) Vigil resolves
 * when it reads the target. Other Jinja cannot be converted (undefined).
 */
export function profileValue(v: unknown): { value: unknown; templated: boolean } | undefined {
  if (typeof v !== 'string' || !/\{[{%]/.test(v)) return { value: v, templated: false };
  const s = v.replace(ENV_CALL, (_m, _q, name: string, _q2, dflt?: string, bare?: string) => {
    const d = dflt ?? bare;
    return d === undefined ? `{{ env_var('${name}') }}` : `{{ env_var('${name}', '${d.replace(/'/g, '')}') }}`;
  });
  const rest = s.replace(/\{\{ env_var\('[^']*'(?:, '[^']*')?\) \}\}/g, '');
  if (/\{[{%#]/.test(rest)) return undefined;
  return { value: s, templated: true };
}

const envSafe = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'TARGET';

/** profiles.yml's profile -> Vigil targets. Literal secrets become environment variables (never written). */
export function convertProfiles(text: string, file: string, profileName: string, f: Findings): TargetsConversion | undefined {
  const ds: Diagnostic[] = [];
  const yaml = parseDbtYaml(text, file, ds);
  if (!yaml) throw new ProjectError(ds);
  const all = yaml.value;
  const line = (path: (string | number)[]) => yaml.locate(path, true).line;
  if (!isObj(all)) {
    f.nc(file, 1, 'not a mapping of profiles: no target converted');
    return undefined;
  }
  const names = Object.keys(all).filter((k) => k !== 'config' && isObj(all[k]));
  let name = profileName;
  if (!isObj(all[name])) {
    if (names.length === 1) {
      f.note(file, line([names[0]]), `dbt_project.yml names the profile '${profileName}'; the only profile here, '${names[0]}', was converted`);
      name = names[0];
    } else {
      f.nc(file, 1, `no profile '${profileName}' (profiles here: ${names.join(', ') || 'none'}): no target converted`);
      return undefined;
    }
  }
  const prof = all[name] as Map_;
  const outputs = prof.outputs;
  if (!isObj(outputs)) {
    f.nc(file, line([name]), `profile '${name}' has no outputs: no target converted`);
    return undefined;
  }
  const targets: Record<string, Map_> = {};
  let threadsNoted = false;
  for (const [out, raw] of Object.entries(outputs)) {
    const at = (k?: string) => line(k ? [name, 'outputs', out, k] : [name, 'outputs', out]);
    if (!isObj(raw)) {
      f.nc(file, at(), `outputs.${out}: not a mapping: not converted`);
      continue;
    }
    const o = raw;
    const used = new Set(['type', 'threads']);
    if (o.threads !== undefined && !threadsNoted) {
      threadsNoted = true;
      f.note(file, at('threads'), 'threads: Vigil runs --threads models at once (default 4); a target has no threads setting');
    }
    const val = (k: string): { value: unknown; templated: boolean } | undefined => {
      used.add(k);
      if (o[k] === undefined || o[k] === null) return undefined;
      const r = profileValue(o[k]);
      if (!r) f.nc(file, at(k), `outputs.${out}.${k}: Jinja other than env_var() is not converted`);
      return r;
    };
    /** a secret written literally: remembered (no file may hold it), replaced by a variable */
    const secret = (k: string, varName: string, what: string): string | undefined => {
      const r = val(k);
      if (!r) return undefined;
      if (r.templated) {
        // an env_var() default of a secret is the secret written down: not copied, the variable must be set
        let dropped = false;
        // (an empty default, local trust auth, is no secret: kept)
        const v = String(r.value).replace(/\{\{ env_var\('([^']*)', '([^']+)'\) \}\}/g, (_m, n: string, d: string) => {
          f.secrets.push(d);
          dropped = true;
          return `{{ env_var('${n}') }}`;
        });
        if (dropped) f.note(file, at(k), `outputs.${out}.${k}: the default of its env_var() (${what}) is not copied: set the variable`);
        return v;
      }
      const s = typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
      f.secrets.push(s);
      if (isObj(r.value)) for (const x of Object.values(r.value)) if (typeof x === 'string' && x.length >= 8) f.secrets.push(x);
      // a mapping assembled from env_var() calls (keyfile_json: {private_key: "{{ env_var(...) }}"}) is not written down, but Vigil takes it whole
      const parts = isObj(r.value) ? [...new Set([...JSON.stringify(r.value).matchAll(/env_var\(\s*\\?['"]([A-Za-z_]\w*)/g)].map((m) => m[1]))].join(', ') : '';
      const how = parts ? `is assembled from the environment variables ${parts}: Vigil takes it whole` : 'is written literally: not copied';
      f.env.push({ name: varName, what: `${what} (profiles.yml outputs.${out}.${k} ${parts ? `was assembled from ${parts}` : 'held it literally; it was not written'})` });
      f.note(file, at(k), `outputs.${out}.${k} ${how}; the target reads it from the environment variable ${varName}`);
      return `{{ env_var('${varName}') }}`;
    };
    const type = String(o.type ?? '');
    const w = getWarehouse(type);
    if (!w?.fromDbtOutput) {
      // never copied: an unsupported output's literal secrets stay out of every file
      for (const x of Object.values(o)) if (typeof x === 'string' && x.length >= 6 && !/\{\{/.test(x)) f.secrets.push(x);
      f.nc(file, at('type'), `outputs.${out}: type ${type || '(none)'}: Vigil's warehouses are ${warehouseTypes().filter((x) => getWarehouse(x)?.fromDbtOutput).join(', ')}: not converted`);
      continue;
    }
    const where = (k: string | string[] | undefined) => (k === undefined ? at() : Array.isArray(k) ? line([name, 'outputs', out, ...k]) : at(k));
    const converted = w.fromDbtOutput({
      name: out,
      raw: o,
      envName: envSafe(out),
      val,
      secret,
      use: (...keys) => keys.forEach((k) => used.add(k)),
      notConverted: (k, message) => f.nc(file, where(k), message),
      note: (k, message) => f.note(file, where(k), message),
      forbid: (value) => f.secrets.push(value),
    });
    if (!converted) continue;
    const t: Map_ = { type, ...converted };
    for (const k of Object.keys(o)) {
      if (used.has(k)) continue;
      if (/pass|secret|token|key/i.test(k) && typeof o[k] === 'string') f.secrets.push(o[k] as string);
      f.nc(file, at(k), `outputs.${out}.${k}: not converted (not a ${type} target setting Vigil has)`);
    }
    targets[out] = t;
  }
  const names2 = Object.keys(targets);
  if (!names2.length) return undefined;
  let dflt = typeof prof.target === 'string' ? prof.target : names2[0];
  const tv = profileValue(prof.target);
  if (tv?.templated) {
    f.note(file, line([name, 'target']), `target: ${String(prof.target)}: Vigil's default_target is a name; '${names2[0]}' is the default (choose another with --target)`);
    dflt = names2[0];
  } else if (!targets[dflt]) {
    f.note(file, line([name, 'target']), `the profile's target '${dflt}' was not converted: the default target is '${names2[0]}'`);
    dflt = names2[0];
  }
  return { default_target: dflt, targets };
}

// ---------------------------------------------------------------------------------------------
// templates: models, macros, tests, snapshots, hooks

export interface ScanOptions {
  project: string;
  /** package names from packages.yml (dbt_utils, ...) */
  packages: Set<string>;
}

export type TemplateKind = 'model' | 'macro' | 'test' | 'snapshot' | 'hook';

/** Packages people use, besides those packages.yml names. */
const KNOWN_PACKAGES = ['dbt_utils', 'dbt_expectations', 'dbt_date', 'codegen', 'audit_helper', 'dbt_external_tables', 'dbt_project_evaluator', 'elementary', 'metrics', 'fivetran_utils', 'dbt_artifacts', 'spark_utils', 'dbt_meta_testing', 'dbt_profiler'];

const UNSUPPORTED_FUNCTIONS: Record<string, string> = {
  run_query: 'Vigil renders templates without querying the warehouse',
  statement: 'Vigil renders templates without querying the warehouse',
  load_result: 'Vigil renders templates without querying the warehouse',
  log: 'Vigil templates do not print to the console',
  print: 'Vigil templates do not print to the console',
  return: 'a Vigil macro returns what it renders: write the value instead of {{ return(...) }}',
  fromjson: 'not available in Vigil templates',
  fromyaml: 'not available in Vigil templates',
  toyaml: 'not available in Vigil templates',
  zip: 'not available in Vigil templates',
  local_md5: 'not available in Vigil templates',
  set_sql_header: 'put the statement in a pre_hook',
  should_full_refresh: 'not available (full_refresh: false protects a model)',
  load_relation: 'Vigil renders templates without querying the warehouse',
  load_cached_relation: 'Vigil renders templates without querying the warehouse',
  get_columns_in_query: 'Vigil renders templates without querying the warehouse',
  generate_database_name: 'relations live in the target\'s database',
  doc: 'doc() works in YAML descriptions only',
};

const OBJECTS: Record<string, string> = {
  adapter: 'Vigil has no adapter object',
  exceptions: 'Vigil\'s exceptions object has raise_compiler_error only (a template error stops the compile at its line)',
  modules: 'Python modules are not available in Vigil templates',
  graph: 'the project graph is not available in Vigil templates',
  flags: 'dbt flags are not available in Vigil templates',
  builtins: 'not available in Vigil templates',
  api: 'not available in Vigil templates',
  dbt: "dbt's own macros are not available (Vigil's helpers: date_trunc, dateadd, datediff, safe_divide, current_timestamp, ...)",
  context: 'not available in Vigil templates',
};

const NAMES: Record<string, string> = {
  dbt_version: 'not available in Vigil templates',
  project_name: 'not available in Vigil templates',
  selected_resources: 'not available in Vigil templates',
  invocation_args_dict: 'not available in Vigil templates',
  results: "on-run-end's results are not available in Vigil (target/run_results.json has them)",
  schemas: "on-run-end's schemas are not available in Vigil",
  database_schemas: "on-run-end's database_schemas are not available in Vigil",
};

/** The Jinja regions of a template (`{{ }}`, `{% %}`), comments and raw blocks left out. */
function jinjaRegions(text: string): Array<{ start: number; text: string }> {
  // blank comments and raw blocks, keeping offsets
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const t = text.replace(/\{#[\s\S]*?#\}/g, blank).replace(/\{%-?\s*raw\s*-?%\}[\s\S]*?\{%-?\s*endraw\s*-?%\}/g, blank);
  const out: Array<{ start: number; text: string }> = [];
  const re = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) out.push({ start: m.index, text: m[0] });
  return out;
}

/**
 * Walk `s` from `from`, outside string literals, telling `at` each character with the bracket
 * depth before it; `at` returning true stops the walk.
 */
function walkTopLevel(s: string, from: number, at: (c: string, i: number, depth: number) => boolean | void): void {
  let depth = 0;
  let q: string | undefined;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '\\') i++;
      else if (c === q) q = undefined;
      continue;
    }
    if (c === '"' || c === "'") q = c;
    if (at(c, i, depth)) return;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
  }
}

/** The text of `name(...)` from the opening parenthesis at `open`, to its matching one. */
function callArgs(s: string, open: number): string | undefined {
  let out: string | undefined;
  walkTopLevel(s, open, (c, i, depth) => {
    if ((c === ')' || c === ']' || c === '}') && depth === 1) {
      out = s.slice(open + 1, i);
      return true;
    }
  });
  return out;
}

/** Top-level `key=value` pairs of a call's arguments, with their offsets. */
function keywordArgs(args: string): Array<{ key: string; value: string; at: number }> {
  const out: Array<{ key: string; value: string; at: number }> = [];
  let start = 0;
  const flush = (end: number) => {
    const part = args.slice(start, end);
    const m = /^(\s*)([A-Za-z_]\w*)\s*=(?!=)([\s\S]*)$/.exec(part);
    if (m) out.push({ key: m[2], value: m[3].trim(), at: start + m[1].length });
  };
  walkTopLevel(args, 0, (c, i, depth) => {
    if (c === ',' && depth === 0) {
      flush(i);
      start = i + 1;
    }
  });
  flush(args.length);
  return out;
}

/**
 * What in a template Vigil cannot run: dbt's objects (adapter, exceptions, modules, graph...),
 * package macros, warehouse queries at render time (run_query, statement), log(), return(),
 * attributes of target/this/model Vigil does not have, config keys it does not take. Each with
 * its line. What is not found here and still fails is found by compiling the result.
 */
export function scanTemplate(text: string, kind: TemplateKind, opts: ScanOptions): Array<{ line: number; message: string }> {
  const found: Array<{ line: number; message: string }> = [];
  const seen = new Set<string>();
  const add = (index: number, message: string) => {
    const line = lineColAt(text, index).line;
    const k = `${line}|${message}`;
    if (!seen.has(k)) {
      seen.add(k);
      found.push({ line, message });
    }
  };
  const packages = [...new Set([...KNOWN_PACKAGES, ...opts.packages])].filter((p) => p !== opts.project);
  const pkgRe = new RegExp(`(?<![\\w.])(${packages.map((p) => p.replace(/[^\w]/g, '')).join('|')})\\.(\\w+)`, 'g');
  for (const r of jinjaRegions(text)) {
    const s = r.text;
    const at = (i: number) => r.start + i;
    let m: RegExpExecArray | null;
    const tag = /^\{%-?\s*(\w+)/.exec(s)?.[1];
    if (tag === 'materialization') add(r.start, '{% materialization %}: Vigil\'s materializations are built in (view, table, incremental, ephemeral)');
    if (tag === 'test') add(r.start, '{% test %} (a custom generic test): Vigil\'s generic tests are built in (not_null, unique, accepted_values, relationships, expression_is_true, unique_combination_of_columns); write the check as a singular test in tests/');
    if (tag === 'docs') add(r.start, '{% docs %}: doc blocks belong in .md files under models/, seeds/ or snapshots/');
    const objRe = new RegExp(`(?<![\\w.])(${Object.keys(OBJECTS).join('|')})\\.(\\w+)`, 'g');
    while ((m = objRe.exec(s))) {
      if (m[1] === 'exceptions' && m[2] === 'raise_compiler_error') continue; // Vigil has it
      add(at(m.index), `${m[1]}.${m[2]}: ${OBJECTS[m[1]]}${m[1] === 'adapter' && m[2] === 'dispatch' ? ": call the macro's implementation for your warehouse (e.g. default__name()) directly" : ''}`);
    }
    if (packages.length) {
      pkgRe.lastIndex = 0;
      while ((m = pkgRe.exec(s))) add(at(m.index), `${m[1]}.${m[2]}: a macro of the package ${m[1]}: Vigil has no packages (write the SQL, or a macro in macros/)`);
    }
    const fnRe = new RegExp(`(?<![\\w.])(${Object.keys(UNSUPPORTED_FUNCTIONS).join('|')})\\s*\\(`, 'g');
    while ((m = fnRe.exec(s))) {
      // `{% call statement(...) %}` and `statement(` alike; `doc(` only outside YAML
      add(at(m.index), `${m[1]}(): ${UNSUPPORTED_FUNCTIONS[m[1]]}`);
    }
    const nameRe = new RegExp(`(?<![\\w.'"])(${Object.keys(NAMES).join('|')})\\b(?!\\s*=[^=])`, 'g');
    while ((m = nameRe.exec(s))) {
      if (m[1] === 'results' || m[1] === 'schemas' || m[1] === 'database_schemas') if (kind !== 'hook') continue;
      add(at(m.index), `${m[1]}: ${NAMES[m[1]]}`);
    }
    // (dbt's is a Python datetime; Vigil's prints as its ISO 8601 text and has some of its members)
    const startedRe = /(?<![\w.])run_started_at\s*\.\s*(\w+)/g;
    while ((m = startedRe.exec(s))) {
      if (!DATETIME_MEMBERS.includes(m[1])) add(at(m.index), `run_started_at.${m[1]}: Vigil's run_started_at is the run's start in UTC with Python datetime's ${DATETIME_MEMBERS.join(', ')}, and prints as its ISO 8601 text (2026-01-01T10:00:00.000Z): format it with strftime or in SQL (cast('{{ run_started_at }}' as timestamp))`);
    }
    const targetRe = /(?<![\w.])target\.(\w+)/g;
    while ((m = targetRe.exec(s))) if (!['name', 'type', 'schema', 'database'].includes(m[1])) add(at(m.index), `target.${m[1]}: Vigil's target has name, type, schema and database only (never credentials)`);
    const thisRe = /(?<![\w.])this\.(\w+)/g;
    while ((m = thisRe.exec(s))) if (!['schema', 'identifier', 'name', 'database'].includes(m[1])) add(at(m.index), `this.${m[1]}: Vigil's this has schema, identifier, name and database`);
    const configRe = /(?<![\w.])config\.(\w+)/g;
    while ((m = configRe.exec(s))) add(at(m.index), `config.${m[1]}(): Vigil's config() sets configs; it cannot read them`);
    if (kind === 'model') {
      const modelRe = /(?<![\w.])model\.(\w+)/g;
      while ((m = modelRe.exec(s))) if (!['name', 'path'].includes(m[1])) add(at(m.index), `model.${m[1]}: Vigil's model has name and path`);
    }
    const refRe = /(?<![\w.])ref\s*\(/g;
    while ((m = refRe.exec(s))) {
      const args = callArgs(s, m.index + m[0].length - 1);
      if (args === undefined) continue;
      if (keywordArgs(args).some((k) => k.key === 'v' || k.key === 'version')) add(at(m.index), 'ref(..., v=...): versioned models are not supported');
      const two = /^\s*(['"])(\w+)\1\s*,\s*(['"])(\w+)\3\s*$/.exec(args);
      if (two && two[2] !== opts.project) add(at(m.index), `ref('${two[2]}', '${two[4]}'): '${two[2]}' is another package: Vigil has no packages`);
    }
    // config(...) keys Vigil does not take here
    const allowed = kind === 'model' ? MODEL_CONFIG_KEYS : kind === 'snapshot' ? SNAPSHOT_CONFIG_KEYS : kind === 'test' ? Object.keys(SingularTestConfigSchema.shape) : undefined;
    const cfgRe = /(?<![\w.])config\s*\(/g;
    while (allowed && (m = cfgRe.exec(s))) {
      const args = callArgs(s, m.index + m[0].length - 1);
      if (args === undefined) continue;
      const argsAt = m.index + m[0].length;
      const kw = keywordArgs(args);
      // dbt ignores check_cols with strategy='timestamp'; Vigil refuses it there
      const cc = kw.find((k) => k.key === 'check_cols');
      if (kind === 'snapshot' && cc && kw.some((k) => k.key === 'strategy' && /^(['"])timestamp\1$/.test(k.value))) add(at(argsAt + cc.at), "config(check_cols=...) with strategy='timestamp': dbt ignores it, Vigil refuses it: remove it");
      for (const k of kw) {
        const where = at(argsAt + k.at);
        if (!allowed.includes(k.key)) {
          add(where, `config(${k.key}=...): not a ${kind} config Vigil has${hintFor(k.key) || (kind === 'test' ? ' (tests take severity, tags, enabled)' : '')}`);
          continue;
        }
        const lit = /^(['"])([^'"]*)\1$/.exec(k.value)?.[2];
        if (lit === undefined) continue;
        if (k.key === 'materialized' && !(MATERIALIZATIONS as readonly string[]).includes(lit)) add(where, `materialized='${lit}': Vigil's materializations are ${MATERIALIZATIONS.join(', ')}`);
        if (k.key === 'incremental_strategy' && !['append', 'merge', 'delete+insert', 'insert_overwrite'].includes(lit)) add(where, `incremental_strategy='${lit}': Vigil's are append, merge, delete+insert, insert_overwrite`);
        if (k.key === 'on_schema_change' && !['ignore', 'fail', 'append_new_columns'].includes(lit)) add(where, `on_schema_change='${lit}': Vigil's are ignore, fail, append_new_columns`);
        if (kind === 'snapshot' && k.key === 'hard_deletes' && lit === 'new_record') add(where, `hard_deletes='new_record'${hintFor('hard_deletes')}`);
      }
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

/** Whether Vigil's template engine parses the text; the error's line when it does not. */
export function parseCheck(text: string, kind: 'macro' | 'template', path: string, project: string): { line?: number; message: string } | undefined {
  const tenv = new TemplateEnv({ dialect: offlineDialect(), vars: {}, env: {}, target: { name: 'dev', type: OFFLINE_ENGINE, schema: 'main', database: '' }, project });
  let bad: { line?: number; message: string } | undefined;
  if (kind === 'macro') {
    const r = tenv.addMacros(path, text);
    bad = 'names' in r ? undefined : { line: r.line, message: r.message };
  } else {
    const t = tenv.compileTemplate(path, text);
    bad = isTemplateError(t) ? { line: t.line, message: t.message } : undefined;
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------
// properties YAML

export interface PropertiesContext {
  /** the dbt project's name */
  project: string;
  /** doc blocks by name, from the .md files */
  docs: Map<string, string>;
  /** seed configs from dbt_project.yml, merged into the seed's entry (names merged are removed) */
  seedConfigs: Map<string, Map_>;
  /** dbt unit test fixture name -> the path of its CSV in the Vigil project */
  fixtures: Map<string, string>;
  /** filled here: the config of each seed with an entry in a properties file, dbt_project.yml's merged in */
  seedEntries?: Map<string, Map_>;
  /** model configs from dbt_project.yml, merged into the model's entry (names merged are removed) */
  modelConfigs?: Map<string, Map_>;
}

type Path = Array<string | number>;

const KEY_HINTS: Record<string, string> = {
  docs: 'show and node_color are not read by Vigil',
  constraints: 'Vigil has no constraints: declare data_type and run vigil check',
  versions: 'versioned models are not supported',
  latest_version: 'versioned models are not supported',
  deprecation_date: 'not supported',
  access: 'Vigil has no groups or access levels',
  group: 'Vigil has no groups or access levels',
  groups: 'Vigil has no groups or access levels',
  exposures: "Vigil's dashboards (dashboards/*.json) declare what reads the models",
  metrics: 'Vigil has no semantic layer',
  semantic_models: 'Vigil has no semantic layer',
  saved_queries: 'Vigil has no semantic layer',
  macros: 'macro properties are not read',
  analyses: 'Vigil has no analyses',
  loader: 'not read',
  quoting: 'Vigil quotes identifiers itself',
  overrides: 'Vigil has no packages',
  external: 'external tables are not supported',
  granularity: 'Vigil has no semantic layer',
  ...CONFIG_HINTS,
};

/** Why a key Vigil's schema refuses (`path`: where it is, the key last) is not converted. */
function unreadKeyNote(path: Path): string {
  const k = String(path[path.length - 1]);
  const parent = String(path[path.length - 2] ?? '').replace(/^\+/, '');
  return `not converted (${parent === 'grants' ? `Vigil applies grants' select only; grant ${k} yourself` : KEY_HINTS[k] ?? `Vigil does not read '${k}' here`})`;
}

/** A zod schema as the conversion uses it. */
type Shape = { safeParse(v: unknown): { success: boolean; error?: { issues: Array<{ code: string; path: PropertyKey[]; message: string }> } } };

/**
 * `value` without the keys `schema` refuses as unknown (a grants' insert beside its select), each
 * passed to `unread` with its path inside `value`. Not ok: what else is refused (message), or
 * nothing is left (no message: the keys were listed).
 */
function withoutUnreadKeys(schema: Shape, value: unknown, unread: (path: Path) => void): { ok: true; value: unknown } | { ok: false; message?: string } {
  const v = structuredClone(value);
  for (;;) {
    const r = schema.safeParse(v);
    if (r.success) return { ok: true, value: v };
    const issue = r.error!.issues[0];
    if (issue.code !== 'unrecognized_keys') return { ok: false, message: issue.message };
    const at = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    const parent = at.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v) as Record<string, unknown>;
    for (const k of (issue as unknown as { keys: string[] }).keys) {
      delete parent[k];
      unread([...at, k]);
    }
    if (!Object.keys(parent).length) return { ok: false };
  }
}

/**
 * A source's or source table's `config:` (dbt 1.9+) moved to the keys Vigil reads on it: `freshness`
 * merged into its own, key by key, as dbt merges them (the config's rule wins, `null` removes it;
 * a `freshness: null` config removes them all), `loaded_at_field` (the config's wins), `meta`
 * (merged, the config's key wins), `tags` (added). `enabled` is the caller's to read (it leaves a
 * disabled one out): removed. Any other key is listed and removed.
 */
function liftSourceConfig(doc: Document, owner: YAMLMap, what: string, nc: (path: Path, message: string, node?: unknown) => void): void {
  const cfg = owner.get('config', true);
  if (!isMap(cfg)) return;
  const json = (n: unknown): unknown => (isMap(n) || isSeq(n) ? n.toJSON() : isScalar(n) ? n.value : n);
  // a key the entry has not is written where its config: was
  let at = owner.items.findIndex((p) => isScalar(p.key) && p.key.value === 'config');
  const put = (k: string, v: unknown) => {
    if (owner.has(k)) owner.set(k, v);
    else owner.items.splice(at++, 0, doc.createPair(k, v));
  };
  for (const pair of [...cfg.items]) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value;
    if (k === 'enabled') {
      // (true or false: the caller's; left out when false)
      if (!(isScalar(v) && typeof v.value === 'boolean')) nc([], `${what}: config enabled: ${String(json(v))} is not true or false (Jinja Vigil does not render here): not converted, it is enabled`, pair.key);
    } else if (k === 'freshness') {
      const own = owner.get('freshness', true);
      const mine = json(own);
      const theirs = json(v);
      if (own === undefined || !isObj(mine) || !isObj(theirs)) put('freshness', v);
      else {
        const merged: Map_ = { ...mine };
        for (const [fk, fv] of Object.entries(theirs)) merged[fk] = isObj(fv) && isObj(merged[fk]) ? { ...(merged[fk] as Map_), ...fv } : fv;
        put('freshness', doc.createNode(merged, { flow: true }));
      }
    } else if (k === 'loaded_at_field') put('loaded_at_field', v);
    else if (k === 'meta' && isMap(v)) {
      const own = json(owner.get('meta', true));
      put('meta', isObj(own) ? doc.createNode({ ...own, ...(v.toJSON() as Map_) }) : v);
    } else if (k === 'tags') {
      const own = asList(json(owner.get('tags', true)));
      put('tags', doc.createNode([...new Set([...own, ...asList(json(v))].map(String))], { flow: true }));
    } else nc([], `${what}: config ${k}: not converted${hintFor(k) || ` (Vigil reads freshness, loaded_at_field, meta and tags from a source's config:)`}`, pair.key);
    cfg.delete(pair.key);
  }
  owner.delete('config');
}

/** Line of a node (its original position; a node made during the conversion has none). */
function nodeLine(n: unknown, lc: LineCounter): number | undefined {
  const r = (n as Node | undefined)?.range;
  return r ? lc.linePos(r[0]).line : undefined;
}

/**
 * Every alias of `doc` replaced by a copy of the node its anchor names (without anchors of its
 * own), so that what the conversion changes or takes out under an anchor reaches each use and
 * no alias is left pointing at a node that was taken out; YAML 1.1's merge keys (`<<: *base`)
 * put in as the entries they merge. Whether there was an alias, and the lines of the merge keys.
 */
function expandAliases(doc: Document, file: string, lc: LineCounter): { aliases: boolean; merges: number[] } {
  let count = 0;
  const merges: number[] = [];
  visit(doc, {
    Alias(_k, a) {
      const target = a.resolve(doc);
      // (an alias inside its own anchor's node would be written out forever)
      if (!target || ++count > 10_000) {
        const p = lc.linePos(a.range?.[0] ?? 0);
        throw new ProjectError([diag('E_YAML', target ? `the alias *${a.source} is used more than 10000 times, or inside its own anchor: not converted` : `the alias *${a.source} names no anchor before it`, { file, line: p.line, column: p.col }, 'write the value out in the dbt project, then convert again')]);
      }
      const copy = target.clone() as Node;
      visit(copy, { Node: (_kk, n) => void delete (n as { anchor?: string }).anchor });
      return copy;
    },
  });
  // YAML 1.1's merge key (`<<: *base`), which Vigil's YAML 1.2 does not read: its entries put in
  // its place, those the mapping has itself winning (the first of a list of mappings before the next)
  const isMerge = (k: unknown) => isScalar(k) && (k.source ?? k.value) === '<<';
  visit(doc, {
    Map(_k, m) {
      const at = m.items.findIndex((p) => isMerge(p.key));
      if (at < 0) return;
      const merged = m.items[at].value;
      const sources = isSeq(merged) ? merged.items : [merged];
      if (!sources.every(isMap)) return; // (YAML read it as an error already)
      const own = new Set(m.items.filter((p) => !isMerge(p.key)).map((p) => (isScalar(p.key) ? p.key.value : p.key)));
      const added = [];
      for (const src of sources as YAMLMap[]) {
        for (const p of src.items) {
          const k = isScalar(p.key) ? p.key.value : p.key;
          if (own.has(k)) continue;
          own.add(k);
          added.push(p);
        }
      }
      merges.push(lc.linePos((m.items[at].key as Scalar).range?.[0] ?? 0).line);
      m.items.splice(at, 1, ...added);
    },
  });
  return { aliases: count > 0, merges };
}

/** The line of the node at `path` (of its key, for a mapping entry), or of its nearest ancestor. */
function lineOfPath(doc: Document, lc: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let line = nodeLine(node, lc);
  for (const k of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(k));
      if (!pair) break;
      line = nodeLine(pair.key, lc) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof k === 'number') {
      const item = node.items[k];
      if (item === undefined) break;
      line = nodeLine(item, lc) ?? line;
      node = item;
    } else break;
  }
  return line;
}

/** A test's keys Vigil reads as dbt does: its thresholds and stored failures too (docs/models.md#thresholds-and-stored-failures). */
const TEST_CONFIG_KEPT = ['severity', 'where', 'tags', ...TEST_RESULT_KEYS];
const TEST_KEYS_KEPT = ['name', ...TEST_CONFIG_KEPT];
const TEST_KEY_HINTS: Record<string, string> = {
  meta: 'not read on tests',
  alias: 'not supported on tests: stored failures are named after the test (give it a name:)',
  database: 'not supported on tests',
};

/** Why Vigil would refuse a test's threshold or stored-failures config as dbt wrote it (a template, `warn_if: "> {{ var('n') }}"`), else undefined. */
function refusedResultKey(k: string, v: unknown): string | undefined {
  if (!(TEST_RESULT_KEYS as readonly string[]).includes(k)) return undefined;
  const value = isScalar(v) ? v.value : v;
  // (a template: rendered when Vigil compiles the test, as dbt renders it, and checked then)
  if (typeof value === 'string' && /\{[{%#]/.test(value)) return undefined;
  const c = checkTestResultConfig({ [k]: value });
  return 'problem' in c ? c.problem.message : undefined;
}

/**
 * A properties YAML file (schema.yml) with the keys Vigil accepts: generic tests as Vigil
 * spells them (dbt_utils' two it has, `arguments:` flattened, test configs it lacks removed),
 * doc() names checked, seed configs from dbt_project.yml merged in, unit test overrides
 * translated, and whatever the schema still refuses removed. Comments and layout are kept;
 * an unchanged file is returned as it was.
 */
export function convertPropertiesYaml(text: string, file: string, ctx: PropertiesContext, f: Findings): { text: string; changed: boolean } {
  const lc = new LineCounter();
  // read as dbt reads it (YAML 1.1); written as YAML 1.2 (Vigil's) below
  const doc = parseDocument(text, { ...DBT_YAML_OPTIONS, lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const p = lc.linePos(doc.errors[0].pos[0]);
    throw new ProjectError([diag('E_YAML', doc.errors[0].message.split('\n')[0], { file, line: p.line, column: p.col }, 'fix the YAML syntax in the dbt project, then convert again')]);
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { text, changed: false };
  let changed = false;
  const nc = (path: Path, message: string, node?: unknown) => f.nc(file, nodeLine(node, lc) ?? lineOfPath(doc, lc, path), message);
  const note = (path: Path, message: string, node?: unknown) => f.note(file, nodeLine(node, lc) ?? lineOfPath(doc, lc, path), message);
  if (!isMap(doc.contents)) {
    f.nc(file, 1, 'not a mapping of models:, sources:, seeds:...: not converted');
    return { text, changed: false };
  }
  const root = doc.contents;
  // aliases (`tests: *nn`, dbt 1.10's `anchors:` key) written out, each a copy of its anchor's node:
  // every use is converted where it is, and a key taken out leaves no alias without its anchor
  const { aliases: aliased, merges } = expandAliases(doc, file, lc);
  // (Vigil's YAML 1.2 has no merge key: written out, the file changes)
  for (const line of merges) f.note(file, line, '<<: (a YAML 1.1 merge key, which Vigil\'s YAML 1.2 does not have): its entries written out in its place');
  if (merges.length) changed = true;
  // a value YAML 1.2 reads otherwise (enabled: no, 0755) is written as dbt read it (said below, where it is still written)
  const differences = readingDifferences(doc.toJS({ maxAliasCount: -1 }), parseDocument(text, { uniqueKeys: false }).toJS({ maxAliasCount: -1 })).map((d) => ({ d, node: doc.getIn(d.path, true) }));
  if (differences.length) changed = true;
  const seqOf = (m: YAMLMap, key: string): YAMLSeq | undefined => {
    const v = m.get(key, true);
    return isSeq(v) ? v : undefined;
  };
  const mapItems = (seq: YAMLSeq | undefined) => (seq ? seq.items.map((n, i) => [n, i] as const).filter((x): x is [YAMLMap, number] => isMap(x[0])) : []);

  // ---- doc() in descriptions (Vigil resolves them from the .md files); other Jinja in a YAML value is read as written
  const checkStrings = (node: unknown, path: Path) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : '';
        // (dbt's anchors: is read only through its aliases, checked where they are)
        if (node === root && k === 'anchors') continue;
        const v = pair.value;
        if (!isScalar(v) || typeof v.value !== 'string') {
          checkStrings(v, [...path, k]);
          continue;
        }
        if (k !== 'description') {
          // a data test's SQL arguments are rendered (compile-project.ts), as in dbt
          // (and its configs, when it compiles, as dbt's test builder renders them)
          const testArg = (TEST_TEMPLATE_ARGS.includes(k) || (TEST_RENDERED_CONFIGS as readonly string[]).includes(k)) && path.some((p) => p === 'tests' || p === 'data_tests');
          // and a config's hooks, rendered as they run (their {sql: ...} form too)
          const hook = path.includes('config') && [...path, k].some((p) => p === 'pre_hook' || p === 'post_hook');
          if (!testArg && !hook && /\{\{|\{%/.test(v.value)) nc([...path, k], `${showPath([...path, k])}: Jinja in a YAML value is not rendered by Vigil: '${v.value}' is read as written`, v);
          continue;
        }
        // doc('this_project', 'name') is doc('name') in Vigil
        const one = v.value.replace(/\{\{(-?)\s*doc\(\s*(['"])(\w+)\2\s*,\s*(['"])(\w+)\4\s*\)\s*(-?)\}\}/g, (m0, l: string, _q, pkg: string, _q2, name: string, r: string) => (pkg === ctx.project ? `{{${l} doc('${name}') ${r}}}` : m0));
        if (one !== v.value) {
          v.value = one;
          changed = true;
        }
        for (const m of one.matchAll(/\{\{-?\s*doc\(([^)]*)\)/g)) {
          const name = /^\s*(['"])(\w+)\1\s*$/.exec(m[1])?.[2];
          if (!name) nc([...path, k], `description: doc(${m[1]}): a doc block of another package: left as written`, v);
          else if (!ctx.docs.has(name)) nc([...path, k], `description: doc('${name}') names no {% docs %} block in the project's .md files: left as written`, v);
        }
        // (a doc() of another package is listed above)
        for (const t of unrenderedTemplates(one).filter((x) => !/^\{\{-?\s*doc\(/.test(x))) nc([...path, k], `description: ${t} is not rendered by Vigil (only {{ doc('name') }} is): left as written, an error at compile`, v);
      }
    } else if (isSeq(node)) node.items.forEach((x, i) => checkStrings(x, [...path, i]));
  };
  checkStrings(root, []);

  // ---- sources: the configs dbt reads under a source's or table's config: (freshness since 1.9;
  // loaded_at_field, meta, tags since 1.10), moved to where Vigil reads them; a disabled one left out
  const sources = seqOf(root, 'sources');
  if (sources) {
    // (a table's config is applied over its source's, as dbt does: a table of a disabled source that sets enabled: true stays)
    const enabledOf = (m: YAMLMap): boolean | undefined => {
      const c = m.get('config', true);
      const e = isMap(c) ? c.get('enabled', true) : undefined;
      return isScalar(e) && typeof e.value === 'boolean' ? e.value : undefined;
    };
    for (let si = sources.items.length - 1; si >= 0; si--) {
      const s = sources.items[si];
      if (!isMap(s)) continue;
      const sname = String(s.get('name') ?? '');
      if (s.has('config')) changed = true;
      const sourceOff = enabledOf(s) === false;
      liftSourceConfig(doc, s, `source '${sname}'`, nc);
      const tables = seqOf(s, 'tables');
      const kept: string[] = [];
      let removed = 0;
      for (let ti = (tables?.items.length ?? 0) - 1; ti >= 0; ti--) {
        const t = tables!.items[ti];
        if (!isMap(t)) continue;
        const tname = String(t.get('name') ?? '');
        if (t.has('config')) changed = true;
        const on = enabledOf(t) ?? !sourceOff;
        const own = enabledOf(t) === false;
        liftSourceConfig(doc, t, `source table '${sname}.${tname}'`, nc);
        if (on) {
          kept.unshift(tname);
          continue;
        }
        if (own) nc([], `source table '${sname}.${tname}' is disabled (enabled: false): left out (what reads it fails to compile, as in dbt)`, t);
        tables!.items.splice(ti, 1);
        removed++;
        changed = true;
      }
      if (sourceOff) {
        const but = kept.length ? `, but for ${kept.join(', ')}, which set${kept.length === 1 ? 's' : ''} enabled: true of ${kept.length === 1 ? 'its' : 'their'} own (as dbt reads it)` : '';
        nc([], `source '${sname}' is disabled (enabled: false): left out, with its tables${but}; what reads ${kept.length ? 'the others' : 'them'} fails to compile, as in dbt`, s);
      }
      if (removed && !tables!.items.length) {
        if (!sourceOff) nc([], `source '${sname}': every table is disabled: the source is left out`, s);
        sources.items.splice(si, 1);
      }
    }
    if (!sources.items.length) root.delete('sources');
  }

  // ---- generic tests
  const fixTests = (owner: YAMLMap, path: Path, column: string | undefined) => {
    for (const key of ['tests', 'data_tests']) {
      const seq = seqOf(owner, key);
      if (!seq) continue;
      for (let i = seq.items.length - 1; i >= 0; i--) {
        let item = seq.items[i];
        // dbt's other form (`- test_name: unique` with name:, arguments:, config: beside it): written
        // as the one-key form, which Vigil reads too, and converted as it is
        if (isMap(item)) {
          const tn = item.get('test_name', true);
          if (isScalar(tn) && typeof tn.value === 'string') {
            const inner = new YAMLMap();
            inner.items = item.items.filter((p) => !(isScalar(p.key) && p.key.value === 'test_name'));
            const outer = new YAMLMap();
            outer.items.push(new Pair(new Scalar(tn.value), inner));
            // (where it was written, for what is listed of it, and the comments on it: kept)
            outer.range = item.range;
            outer.commentBefore = item.commentBefore;
            outer.comment = item.comment;
            outer.spaceBefore = item.spaceBefore;
            seq.items[i] = outer;
            item = outer;
            changed = true;
          }
        }
        const at = [...path, key, i];
        const drop = (message: string) => {
          nc(at, message, item);
          seq.items.splice(i, 1);
          changed = true;
        };
        let name: string;
        let keyNode: Scalar | undefined;
        let args: YAMLMap | undefined;
        if (isScalar(item)) name = String(item.value);
        else if (isMap(item) && item.items.length === 1 && isScalar(item.items[0].key)) {
          keyNode = item.items[0].key as Scalar;
          name = String(keyNode.value);
          const v = item.items[0].value;
          if (isMap(v)) args = v;
          else if (!(v === null || (isScalar(v) && v.value === null))) {
            drop(`test '${name}': its arguments are not a mapping: not converted`);
            continue;
          }
        } else {
          const tn = isMap(item) ? item.get('test_name') : undefined;
          drop(`a test entry ${tn ? `(test_name: ${String(tn)}) ` : ''}Vigil cannot read: write it as - ${tn ?? 'test_name'}: { arguments }`);
          continue;
        }
        let g = name;
        if (/^dbt_utils\.(unique_combination_of_columns|expression_is_true)$/.test(name)) g = name.slice('dbt_utils.'.length);
        if (!(GENERIC_TESTS as readonly string[]).includes(g)) {
          drop(`test '${name}': not one of Vigil's generic tests (${GENERIC_TESTS.join(', ')}): not converted; write it as a singular test in tests/`);
          continue;
        }
        const gt = g as GenericTestName;
        if (g !== name) {
          if (keyNode) keyNode.value = g;
          else (item as Scalar).value = g;
          changed = true;
          note(at, `test '${name}' is Vigil's built-in '${g}'`, item);
        }
        let dropped = false;
        if (args) {
          // dbt 1.10: arguments: { values: [...] } next to config:
          const nested = args.get('arguments', true);
          if (isMap(nested)) {
            for (const p of nested.items) args.items.push(p);
            args.delete('arguments');
            changed = true;
          }
          const allowed = new Set([...ALLOWED_ARGS[gt], ...TEST_KEYS_KEPT]);
          for (const pair of [...args.items]) {
            const k = isScalar(pair.key) ? String(pair.key.value) : '';
            const v = pair.value;
            const val = isScalar(v) ? v.value : undefined;
            if (k === 'config' && isMap(v)) {
              for (const sub of [...v.items]) {
                const sk = isScalar(sub.key) ? String(sub.key.value) : '';
                if (TEST_CONFIG_KEPT.includes(sk) && !refusedResultKey(sk, sub.value)) continue;
                if (TEST_CONFIG_KEPT.includes(sk)) {
                  nc([...at], `test '${g}': config ${sk}: not converted (${refusedResultKey(sk, sub.value)})`, sub.key);
                  v.delete(sk);
                  changed = true;
                  continue;
                }
                if (sk === 'enabled' && isScalar(sub.value) && sub.value.value === false) {
                  drop(`test '${name}' is disabled (enabled: false): left out`);
                  dropped = true;
                  break;
                }
                nc([...at], `test '${g}': config ${sk}: not converted${TEST_KEY_HINTS[sk] ? ` (${TEST_KEY_HINTS[sk]})` : ''}`, sub.key);
                v.delete(sk);
                changed = true;
              }
              if (dropped) break;
              if (!v.items.length) {
                args.delete('config');
                changed = true;
              }
              continue;
            }
            if (k === 'enabled') {
              if (val === false) {
                drop(`test '${name}' is disabled (enabled: false): left out`);
                dropped = true;
                break;
              }
              args.delete(k);
              changed = true;
              continue;
            }
            if (k === 'condition' && gt === 'expression_is_true' && !args.has('where')) {
              (pair.key as Scalar).value = 'where';
              changed = true;
              continue;
            }
            if (k === 'column_name') {
              drop(`test '${g}' with column_name: Vigil tests a column under columns: (- name: ${String(val ?? '...')} tests: [${g}]): not converted`);
              dropped = true;
              break;
            }
            if (allowed.has(k) && !refusedResultKey(k, v)) continue;
            if (allowed.has(k)) {
              nc(at, `test '${g}': ${k}: not converted (${refusedResultKey(k, v)})`, pair.key);
              args.delete(k);
              changed = true;
              continue;
            }
            nc(at, `test '${g}': ${k}: not converted${TEST_KEY_HINTS[k] ? ` (${TEST_KEY_HINTS[k]})` : ` (${g} takes ${[...ALLOWED_ARGS[gt], ...TEST_KEYS_KEPT].join(', ')})`}`, pair.key);
            args.delete(k);
            changed = true;
          }
          if (dropped) continue;
          // dbt writes severity in any case; Vigil takes warn or error
          for (const holder of [args, args.get('config', true)]) {
            if (!isMap(holder)) continue;
            const sev = holder.get('severity', true);
            if (isScalar(sev) && typeof sev.value === 'string' && !/\{[{%#]/.test(sev.value) && sev.value !== sev.value.toLowerCase()) {
              sev.value = sev.value.toLowerCase();
              changed = true;
            }
          }
        }
        if (NEEDS_COLUMN[gt] && !column) drop(`test '${g}' on a whole model: Vigil tests a column with it (under columns:): not converted`);
      }
    }
  };
  const fixColumns = (owner: YAMLMap, path: Path) => {
    for (const [c, ci] of mapItems(seqOf(owner, 'columns'))) {
      const cname = c.get('name');
      fixTests(c, [...path, 'columns', ci], typeof cname === 'string' ? cname : String(cname ?? ''));
    }
  };
  for (const kind of ['models', 'seeds', 'snapshots'] as const) {
    for (const [m, i] of mapItems(seqOf(root, kind))) {
      fixTests(m, [kind, i], undefined);
      fixColumns(m, [kind, i]);
    }
  }
  for (const [s, si] of mapItems(seqOf(root, 'sources'))) {
    for (const [t, ti] of mapItems(seqOf(s, 'tables'))) {
      fixTests(t, ['sources', si, 'tables', ti], undefined);
      fixColumns(t, ['sources', si, 'tables', ti]);
    }
  }

  // ---- seeds: configs from dbt_project.yml's seeds: tree, under the entry's own
  for (const [s, i] of mapItems(seqOf(root, 'seeds'))) {
    const name = String(s.get('name') ?? '');
    const cfg = ctx.seedConfigs.get(name);
    const own: unknown = s.get('config', true);
    ctx.seedEntries?.set(name, isMap(own) ? (own.toJSON() as Map_) : {});
    if (!cfg) continue;
    ctx.seedConfigs.delete(name);
    let m: YAMLMap;
    if (isMap(own)) m = own;
    else {
      m = doc.createNode({}) as YAMLMap;
      s.set('config', m);
    }
    for (const [k, v] of Object.entries(cfg)) {
      const cur: unknown = m.get(k, true);
      if (k === 'tags' && cur !== undefined) {
        const mine = isSeq(cur) ? cur.toJSON() : isScalar(cur) ? cur.value : undefined;
        m.set('tags', doc.createNode([...new Set([...asList(v), ...asList(mine)])]));
      } else if (k === 'column_types' && isMap(cur)) {
        const ct = cur;
        for (const [c, ty] of Object.entries(v as Map_)) if (!ct.has(c)) ct.set(c, ty);
      } else if (!m.has(k)) m.set(k, doc.createNode(v));
    }
    changed = true;
    ctx.seedEntries?.set(name, m.toJSON() as Map_);
    note(['seeds', i], `seed '${name}': its configs from dbt_project.yml are written under config:`, s);
  }

  // ---- models: configs dbt_project.yml gives the model itself, under the entry's own (which win
  // a key, as the properties file wins over dbt_project.yml in dbt); tags and hooks add up, dbt_project.yml's
  // first; meta merges key by key (into a meta: beside config: when the entry has one)
  for (const [mm, i] of mapItems(seqOf(root, 'models'))) {
    const name = String(mm.get('name') ?? '');
    const cfg = ctx.modelConfigs?.get(name);
    if (!cfg) continue;
    ctx.modelConfigs!.delete(name);
    const own: unknown = mm.get('config', true);
    let m: YAMLMap;
    if (isMap(own)) m = own;
    else {
      m = doc.createNode({}) as YAMLMap;
      mm.set('config', m);
    }
    const beside: unknown = mm.get('meta', true);
    for (const [k, v] of Object.entries(cfg)) {
      const cur: unknown = k === 'meta' && isMap(beside) ? beside : m.get(k, true);
      if ((k === 'tags' || k === 'pre_hook' || k === 'post_hook') && cur !== undefined) {
        const mine = isSeq(cur) ? cur.toJSON() : isScalar(cur) ? cur.value : isMap(cur) ? cur.toJSON() : undefined;
        const both = [...asList(v), ...asList(mine)];
        m.set(k, doc.createNode(k === 'tags' ? [...new Set(both)] : both));
      } else if (k === 'meta' && isMap(cur) && isObj(v)) {
        for (const [mk, mv] of Object.entries(v)) if (!cur.has(mk)) cur.set(mk, doc.createNode(mv));
      } else if (cur === undefined) m.set(k, doc.createNode(v));
    }
    changed = true;
    note(['models', i], `model '${name}': its configs from dbt_project.yml's models: tree are written under config:`, mm);
  }

  // ---- snapshots: Vigil's YAML snapshots have a relation; the properties of SQL snapshots are kept, their config is not
  const snaps = seqOf(root, 'snapshots');
  if (snaps) {
    for (let i = snaps.items.length - 1; i >= 0; i--) {
      const s = snaps.items[i];
      if (!isMap(s)) continue;
      const name = String(s.get('name') ?? '');
      if (!s.has('relation')) {
        // the properties of a SQL snapshot (description, columns, tests) are read as dbt reads
        // them; its config belongs in the block's config() in Vigil
        if (s.has('config')) {
          nc(['snapshots', i, 'config'], `snapshot '${name}': config in the properties of a SQL snapshot: not converted (Vigil reads a snapshot block's config from its config() call: move the keys there)`, s.get('config', true) as Node);
          s.delete('config');
          changed = true;
        }
        continue;
      }
      const cfg = s.get('config', true);
      if (!isMap(cfg)) continue;
      for (const pair of [...cfg.items]) {
        const k = isScalar(pair.key) ? String(pair.key.value) : '';
        const v = isScalar(pair.value) ? pair.value.value : undefined;
        // (dbt 1.9's hard_deletes is Vigil's too, but for new_record)
        if (SNAPSHOT_CONFIG_KEYS.includes(k) && !(k === 'hard_deletes' && v === 'new_record')) continue;
        nc(['snapshots', i, 'config', k], `snapshot '${name}': config ${k}: not converted${hintFor(k)}`, pair.key);
        cfg.delete(k);
        changed = true;
      }
      // dbt ignores check_cols with the timestamp strategy; Vigil refuses it there
      if (cfg.get('strategy') === 'timestamp' && cfg.has('check_cols')) {
        note(['snapshots', i, 'config', 'check_cols'], `snapshot '${name}': config check_cols removed: dbt ignores it with strategy timestamp (Vigil refuses it there)`, cfg.get('check_cols', true) as Node);
        cfg.delete('check_cols');
        changed = true;
      }
    }
    if (!snaps.items.length) {
      root.delete('snapshots');
      changed = true;
    }
  }

  // ---- unit tests: dbt's overrides and fixtures
  for (const [u, i] of mapItems(seqOf(root, 'unit_tests'))) {
    const name = String(u.get('name') ?? '');
    const cfg0 = u.get('config', true);
    if (isMap(cfg0) && cfg0.get('enabled') === false) {
      // dbt does not run it: left out, as a disabled data test is
      nc(['unit_tests', i], `unit test '${name}' is disabled (enabled: false): left out`, u);
      const seq = seqOf(root, 'unit_tests')!;
      seq.items.splice(seq.items.indexOf(u), 1);
      changed = true;
      continue;
    }
    const ov = u.get('overrides', true);
    if (isMap(ov)) {
      for (const pair of [...ov.items]) {
        const k = isScalar(pair.key) ? String(pair.key.value) : '';
        if ((k === 'vars' || k === 'env_vars') && isMap(pair.value)) u.set(k, pair.value);
        else if (k === 'macros' && isMap(pair.value)) {
          for (const mp of pair.value.items) {
            const mk = isScalar(mp.key) ? String(mp.key.value) : '';
            if (mk === 'is_incremental' && isScalar(mp.value)) u.set('is_incremental', mp.value.value === true);
            else nc(['unit_tests', i, 'overrides', 'macros', mk], `unit test '${name}': overrides.macros.${mk}: not converted (Vigil overrides is_incremental; now: freezes the clock)`, mp.key);
          }
        } else nc(['unit_tests', i, 'overrides', k], `unit test '${name}': overrides.${k}: not converted`, pair.key);
      }
      u.delete('overrides');
      changed = true;
    }
    const cfg = u.get('config', true);
    if (isMap(cfg)) {
      const tags = cfg.get('tags', true);
      if (tags !== undefined && !u.has('tags')) u.set('tags', isSeq(tags) ? tags : doc.createNode([String((tags as Scalar).value)]));
      for (const pair of cfg.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : '';
        // (enabled: true is what a unit test is without it)
        if (k !== 'tags' && !(k === 'enabled' && isScalar(pair.value) && pair.value.value === true)) nc(['unit_tests', i, 'config', k], `unit test '${name}': config ${k}: not converted`, pair.key);
      }
      u.delete('config');
      changed = true;
    }
    let sqlFormat = false;
    const fixture = (m: YAMLMap) => {
      const fmt = m.get('format');
      if (fmt === 'sql') sqlFormat = true;
      const fx = m.get('fixture', true);
      if (isScalar(fx) && typeof fx.value === 'string') {
        const p = ctx.fixtures.get(fx.value);
        if (p) {
          fx.value = p;
          if (!m.has('format')) m.set('format', 'csv');
          changed = true;
        } else nc(['unit_tests', i], `unit test '${name}': fixture '${fx.value}' has no CSV in the tests' fixtures folder`, fx);
      }
    };
    for (const [g] of mapItems(seqOf(u, 'given'))) fixture(g);
    const ex = u.get('expect', true);
    if (isMap(ex)) fixture(ex);
    // (dbt casts given values to the input's column types in the warehouse, which must be built: so
    // does Vigil, once it is built; before, CSV cells are text)
    if (!sqlFormat) {
      for (const [g, gi] of mapItems(seqOf(u, 'given'))) {
        if (g.get('format') === 'csv') note(['unit_tests', i, 'given', gi], `unit test '${name}': given ${String(g.get('input'))}: its CSV values are cast to the input's column types in the target once the input is built, as dbt casts them; before it is built (a first vigil build), or on BigQuery, they are text (the run warns): declare data_type on the input's columns, or build it first`, g);
      }
    }
    if (sqlFormat) {
      nc(['unit_tests', i], `unit test '${name}': format: sql is not supported (Vigil takes rows as a list or CSV): not converted`, u);
      const seq = seqOf(root, 'unit_tests')!;
      seq.items.splice(seq.items.indexOf(u), 1);
      changed = true;
    }
  }

  const units = seqOf(root, 'unit_tests');
  if (units && !units.items.length && changed) root.delete('unit_tests');

  // ---- whatever the schema still refuses: removed, each with its line
  for (let round = 0; round < 200; round++) {
    const r = PropertiesFileSchema.safeParse(doc.toJS());
    if (r.success) break;
    const issue = r.error.issues[0];
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (issue.code === 'unrecognized_keys') {
      for (const k of (issue as unknown as { keys: string[] }).keys) {
        const full = [...path, k];
        nc(full, `${showPath(full)}: ${unreadKeyNote(full)}`);
        doc.deleteIn(full);
      }
      changed = true;
      continue;
    }
    // tags: a single string where Vigil takes a list
    const last = path[path.length - 1];
    const cur = doc.getIn(path);
    if (last === 'tags' && typeof cur === 'string') {
      doc.setIn(path, doc.createNode([cur]));
      changed = true;
      continue;
    }
    // remove the nearest node that exists on the path
    let p = path;
    while (p.length && !doc.hasIn(p)) p = p.slice(0, -1);
    if (!p.length) {
      f.nc(file, 1, `${showPath(path) || '(document)'}: ${issue.message}: the file is not converted`);
      return { text, changed: false };
    }
    nc(p, `${showPath(p)}: ${issue.message}: not converted`);
    doc.deleteIn(p);
    changed = true;
  }
  // a config:, tests: or data_tests: emptied above goes too
  const prune = (node: unknown) => {
    if (isMap(node)) {
      for (const pair of [...node.items]) {
        const k = isScalar(pair.key) ? String(pair.key.value) : '';
        prune(pair.value);
        if (['config', 'tests', 'data_tests'].includes(k) && (isMap(pair.value) || isSeq(pair.value)) && !pair.value.items.length) {
          node.delete(pair.key);
          changed = true;
        }
      }
    } else if (isSeq(node)) node.items.forEach(prune);
  };
  if (changed) prune(root);
  // unchanged: the file as written, its aliases and anchors: kept (Vigil reads both)
  if (!changed) return { text, changed };
  if (aliased && root.has('anchors')) {
    note(['anchors'], 'anchors: taken out: the file needed changes, so its aliases are written out in full where they were used');
    root.delete('anchors');
  }
  const written = new Set<unknown>();
  visit(doc, { Scalar: (_k, n) => void written.add(n) });
  for (const { d, node } of differences) if (!node || written.has(node)) note(d.path, showReading(d, showPath(d.path)), node);
  // a float that is a whole number (1.0) stays one: dbt prints it 1.0 (accepted_values' '1.0')
  visit(doc, { Scalar: (_k, n) => void (typeof n.value === 'number' && Number.isInteger(n.value) && typeof n.source === 'string' && PYYAML_FLOAT.test(n.source) && (n.minFractionDigits = 1)) });
  doc.setSchema('1.2', { merge: true });
  return { text: doc.toString({ lineWidth: 0, flowCollectionPadding: false }), changed };
}

/** `{% docs name %}...{% enddocs %}` blocks of a .md file. */
export function docBlocks(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/\{%-?\s*docs\s+([\w.]+)\s*-?%\}([\s\S]*?)\{%-?\s*enddocs\s*-?%\}/g)) out.set(m[1], m[2].trim());
  return out;
}

/** Package names in packages.yml / dependencies.yml (dbt-labs/dbt_utils -> dbt_utils). */
export function packageNames(text: string): string[] {
  let v: unknown;
  try {
    v = parseDocument(text).toJS();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const p of asList(isObj(v) ? v.packages ?? v.projects : undefined)) {
    if (!isObj(p)) continue;
    const id = typeof p.package === 'string' ? p.package : typeof p.git === 'string' ? p.git : typeof p.name === 'string' ? p.name : typeof p.local === 'string' ? p.local : undefined;
    if (!id) continue;
    const last = id.replace(/\.git$/, '').split(/[/:]/).pop() ?? id;
    out.push(last.replace(/^dbt-(?=utils|expectations|date)/, 'dbt_').replace(/-/g, '_'));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the whole project

export interface ConvertOptions {
  /** profiles.yml to read targets from (default: where dbt looks, profilesCandidates) */
  profiles?: string;
  /** the environment (DBT_PROFILES_DIR) and home folder (~/.dbt) dbt's search reads; default the process's */
  env?: Record<string, string | undefined>;
  home?: string;
  /** overwrite files that exist in dest */
  force?: boolean;
}

export interface ConvertResult {
  /** the dbt project's folder */
  source: string;
  /** the Vigil project's folder */
  root: string;
  name: string;
  /** written, relative to root */
  files: string[];
  /** there already, left as they were (relative to root) */
  kept: string[];
  /** lines added to an existing .gitignore */
  gitignore: string[];
  /** files an earlier conversion generated that this one does not (--force): removed (relative to root) */
  removed: string[];
  notConverted: Finding[];
  notes: Finding[];
  env: EnvNeed[];
  /** the profiles.yml read, if any */
  profiles?: string;
  /** how it was found (`--profiles`, `DBT_PROFILES_DIR`, `the dbt project's folder`, `~/.dbt`); without one, where it was looked for */
  profilesFrom?: string;
  profilesSearched?: string[];
}

/**
 * Where dbt looks for profiles.yml, in its order, without --profiles-dir: DBT_PROFILES_DIR (set:
 * only there), else the working directory — here the dbt project's folder, where dbt is run from
 * (the converter may be run from anywhere) — then ~/.dbt.
 */
export function profilesCandidates(source: string, env: Record<string, string | undefined>, home: string): Array<{ path: string; from: string }> {
  const dir = env.DBT_PROFILES_DIR;
  if (dir) return [{ path: join(resolve(dir), 'profiles.yml'), from: 'DBT_PROFILES_DIR' }];
  return [
    { path: join(source, 'profiles.yml'), from: "the dbt project's folder" },
    { path: join(home, '.dbt', 'profiles.yml'), from: '~/.dbt' },
  ];
}

interface Planned {
  rel: string;
  data: string | Buffer;
  /** converted (differs from the dbt file, or generated): a kept file in dest is worth a note */
  converted: boolean;
}

/**
 * Convert the dbt project in `src` (the folder with dbt_project.yml, or the file itself) into
 * `dest`. Everything is read and converted first: a missing dbt_project.yml or a YAML file
 * that does not parse throws (UsageError / ProjectError, exit 2) before anything is written.
 */
export function convertDbtProject(src: string, dest: string, opts: ConvertOptions = {}): ConvertResult {
  let source = resolve(src);
  if (existsSync(source) && statSync(source).isFile() && /dbt_project\.ya?ml$/.test(source)) source = dirname(source);
  if (!existsSync(source)) throw new UsageError(`--from-dbt ${src}: no such folder`);
  const projectFile = [DBT_FILE, 'dbt_project.yaml'].map((n) => join(source, n)).find((p) => existsSync(p));
  if (!projectFile) throw new UsageError(`--from-dbt ${src}: no dbt_project.yml in ${source} (give the folder of the dbt project: the one that holds dbt_project.yml)`);
  const root = resolve(dest);
  refuseNested(root);
  // in place, the dbt properties files would be kept as they are (dbt's keys, which Vigil refuses)
  if (!opts.force && existsSync(root) && realpathSync(root) === realpathSync(source)) {
    throw new UsageError(`--from-dbt ${src} into ${dest}: that is the dbt project itself, whose files (properties YAML with dbt's keys) would be kept as they are and fail to load: give another folder, or add --force to rewrite them in place (version control keeps the originals)`);
  }
  const f = new Findings();
  const info = readDbtProjectFile(readFileSync(projectFile, 'utf8'));
  const plan: Planned[] = [];
  const relSrc = (p: string) => relative(source, p).split('\\').join('/');

  // packages
  const packages = new Set<string>();
  for (const pf of ['packages.yml', 'dependencies.yml']) {
    const abs = join(source, pf);
    if (!existsSync(abs)) continue;
    const names = packageNames(readFileSync(abs, 'utf8'));
    names.forEach((n) => packages.add(n));
    f.nc(pf, undefined, `packages are not supported: Vigil has no packages${names.length ? ` (${names.join(', ')}): what the project calls from them is listed below` : ''}`);
  }

  // where each kind goes: the dbt path when it has one, the first when it has several
  const paths: Record<string, string> = {};
  const defaults: Record<string, string> = { models: 'models', seeds: 'seeds', snapshots: 'snapshots', tests: 'tests', macros: 'macros' };
  const destDir: Record<string, string> = {};
  for (const kind of Object.keys(defaults) as Array<keyof typeof defaults>) {
    const list = info.paths[kind as keyof DbtPaths] as string[];
    const inside = list.filter((p) => !p.startsWith('..') && !isAbsolute(p));
    for (const p of list) if (!inside.includes(p)) f.nc(DBT_FILE, info.yaml.locate([`${kind === 'models' ? 'model' : kind.replace(/s$/, '')}-paths`], true).line, `${p}: a ${kind} folder outside the project: not converted`);
    const d = inside[0] ?? defaults[kind];
    destDir[kind] = d === '.' ? defaults[kind] : d;
    if (destDir[kind] !== defaults[kind]) paths[kind] = destDir[kind];
    if (inside.length > 1) f.note(DBT_FILE, info.yaml.locate([`${kind === 'models' ? 'model' : kind.replace(/s$/, '')}-paths`], true).line, `${kind}: ${inside.join(', ')}: Vigil reads one folder: they are merged into ${destDir[kind]}/`);
  }
  if (info.paths.target !== 'target') paths.target = info.paths.target;
  const filesOf = (kind: string): Array<{ abs: string; from: string; rel: string; dest: string }> => {
    const out: Array<{ abs: string; from: string; rel: string; dest: string }> = [];
    const list = (info.paths[kind as keyof DbtPaths] as string[]).filter((p) => !p.startsWith('..') && !isAbsolute(p));
    for (const dir of list) {
      if (dir === '.') continue;
      for (const p of listFiles(source, dir, /./)) {
        const rel = p.slice(dir.length + 1);
        out.push({ abs: join(source, p), from: p, rel, dest: `${destDir[kind]}/${rel}` });
      }
    }
    return out;
  };

  // doc blocks, from every .md of the resource folders (and docs-paths). Vigil reads them under
  // models/, seeds/ and snapshots/ (copied there as they are); one elsewhere is copied under models/_dbt_docs/
  const docs = new Map<string, string>();
  const inside = (p: string) => !p.startsWith('..') && !isAbsolute(p) && p !== '.';
  const readDirs = [...info.paths.models, ...info.paths.seeds, ...info.paths.snapshots].filter(inside);
  const mdDirs = new Set([...readDirs, ...info.paths.macros, ...info.paths.tests, ...info.paths.analyses, ...info.paths.docs].filter(inside));
  const movedDocs: Array<{ from: string; abs: string }> = [];
  for (const dir of mdDirs) {
    for (const p of listFiles(source, dir, /\.md$/i)) {
      const blocks = docBlocks(readFileSync(join(source, p), 'utf8'));
      for (const [k, v] of blocks) docs.set(k, v);
      if (blocks.size && !readDirs.some((d) => p.startsWith(`${d}/`)) && !movedDocs.some((m) => m.from === p)) movedDocs.push({ from: p, abs: join(source, p) });
    }
  }

  const scan: ScanOptions = { project: info.name, packages };
  const models = filesOf('models');
  const seeds = filesOf('seeds');
  const snapshots = filesOf('snapshots');
  const tests = filesOf('tests');
  const macros = filesOf('macros');

  // layout: model folders and names, seeds
  const modelFolders = new Set<string>();
  const modelNames = new Set<string>();
  const modelFolderOf = new Map<string, string>();
  for (const m of models) {
    if (!SQL_FILE.test(m.rel)) continue;
    const name = m.rel.replace(/^.*\//, '').replace(SQL_FILE, '');
    modelNames.add(name);
    modelFolderOf.set(name, m.rel.includes('/') ? m.rel.replace(/\/[^/]*$/, '') : '');
    const parts = m.rel.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) modelFolders.add(parts.slice(0, i).join('/'));
  }
  const seedMap = new Map<string, string>();
  for (const s of seeds) if (/\.csv$/i.test(s.rel)) seedMap.set(s.rel.replace(/^.*\//, '').replace(/\.csv$/i, ''), s.rel);
  const layout: ProjectLayout = { modelFolders, modelNames, modelFolderOf, seeds: seedMap, paths, packages };
  const conv = convertDbtProjectFile(info, layout, f);

  // dbt quotes a seed's column names unless quote_columns: false (the default of Postgres' and
  // DuckDB's adapters; BigQuery names the columns as written); Vigil lower-cases them unless
  // quote_columns: true. Where that changes a name (CountryCode), dbt's setting is written.
  for (const s of seeds) {
    const name = s.rel.replace(/^.*\//, '').replace(/\.csv$/i, '');
    if (!/\.csv$/i.test(s.rel) || seedMap.get(name) !== s.rel) continue;
    const cfg = conv.seedConfigs.get(name) ?? {};
    if (cfg.quote_columns !== undefined) continue;
    const kept = (readHeader(s.abs, typeof cfg.delimiter === 'string' ? cfg.delimiter : ',') ?? []).filter(keptOnlyQuoted);
    if (!kept.length) continue;
    conv.seedConfigs.set(name, { ...cfg, quote_columns: true });
    f.note(s.from, 1, `seed '${name}': dbt quotes its column names (quote_columns is true unless set), so ${kept.map((h) => `"${h}"`).join(', ')} keep${kept.length === 1 ? 's its name' : ' their names'} as written: written with quote_columns: true (Vigil lower-cases them otherwise)`);
  }

  // analyses
  const analyses = info.paths.analyses.filter((p) => !p.startsWith('..') && !isAbsolute(p) && p !== '.').flatMap((d) => listFiles(source, d, SQL_FILE));
  if (analyses.length) f.nc(analyses.length === 1 ? analyses[0] : `${info.paths.analyses[0]}/`, undefined, `${analyses.length} ${analyses.length === 1 ? 'analysis' : 'analyses'}: Vigil has no analyses (run one with vigil show --inline, or make it a model)`);

  // profiles.yml
  let profilesPath: string | undefined;
  let profilesFrom: string | undefined;
  let profilesSearched: string[] | undefined;
  if (opts.profiles) {
    profilesPath = resolve(opts.profiles);
    profilesFrom = '--profiles';
    if (!existsSync(profilesPath)) throw new UsageError(`--profiles ${opts.profiles}: no such file`);
    if (statSync(profilesPath).isDirectory()) throw new UsageError(`--profiles ${opts.profiles}: that is a folder: give the profiles.yml file`);
  } else {
    // as dbt finds it (without its --profiles-dir: --profiles here)
    const candidates = profilesCandidates(source, opts.env ?? process.env, opts.home ?? homedir());
    const found = candidates.find((c) => existsSync(c.path));
    if (found) [profilesPath, profilesFrom] = [found.path, found.from];
    else profilesSearched = candidates.map((c) => `${c.path} (${c.from})`);
  }
  let targets: TargetsConversion | undefined;
  if (profilesPath) {
    const shown = profilesPath.startsWith(source + '/') ? relSrc(profilesPath) : opts.profiles ?? profilesPath;
    targets = convertProfiles(readFileSync(profilesPath, 'utf8'), shown, info.profile ?? info.name, f);
    if (!targets) f.note(shown, undefined, 'no output converted: project.yaml has a DuckDB target dev (.vigil/dev.duckdb), as vigil init writes');
  }
  targets ??= DEFAULT_TARGETS;

  // project.yaml
  const p = conv.project;
  const ordered: Map_ = { name: p.name };
  if (p.version !== undefined) ordered.version = p.version;
  ordered.default_target = targets.default_target;
  ordered.targets = targets.targets;
  for (const k of ['vars', 'paths', 'clean_targets', 'on_run_start', 'on_run_end', 'defaults', 'models']) if (p[k] !== undefined) ordered[k] = p[k];
  const header = `# Vigil project, converted from the dbt project ${info.name} by vigil init --from-dbt (${docRef('models.md', dest)})\n`;
  plan.push({ rel: 'project.yaml', data: header + stringify(ordered, { lineWidth: 0 }), converted: true });
  // YAML selectors: copied as they are (--selector reads them); a selector Vigil cannot express is listed at its line
  if (existsSync(join(source, SELECTORS_FILE))) {
    const text = readFileSync(join(source, SELECTORS_FILE), 'utf8');
    plan.push({ rel: SELECTORS_FILE, data: text, converted: false });
    for (const d of parseSelectorsFile(text.replace(/^\uFEFF/, '')).problems) f.nc(SELECTORS_FILE, d.line, `${d.message}: --selector refuses it until it is fixed`);
  }

  // templates: copied as they are; what Vigil cannot run is listed at its line
  const template = (file: { abs: string; from: string; dest: string }, kind: TemplateKind) => {
    const buf = readFileSync(file.abs);
    const text = buf.toString('utf8');
    if (kind === 'snapshot') {
      const blocks = [...text.matchAll(/\{%-?\s*snapshot\s+([A-Za-z_]\w*)\s*-?%\}([\s\S]*?)\{%-?\s*endsnapshot\s*-?%\}/g)];
      if (!blocks.length) {
        f.nc(file.from, undefined, 'no {% snapshot name %} ... {% endsnapshot %} block: not converted');
        return;
      }
      for (const b of blocks) {
        const before = text.slice(0, b.index! + b[0].indexOf('%}') + 2);
        const body = '\n'.repeat(before.split('\n').length - 1) + b[2];
        const bad = parseCheck(body, 'template', file.from, info.name);
        if (bad) {
          f.nc(file.from, bad.line, `Vigil cannot load it (${bad.message}): not written`);
          return;
        }
      }
    } else {
      const bad = parseCheck(text, kind === 'macro' ? 'macro' : 'template', file.from, info.name);
      if (bad) {
        // what Vigil cannot load stops every compile: not written, with the reason and what else it uses
        f.nc(file.from, bad.line, `Vigil cannot load it (${bad.message}): not written`);
        for (const x of scanTemplate(text, kind, scan)) f.nc(file.from, x.line, x.message);
        return;
      }
    }
    for (const x of scanTemplate(text, kind, scan)) f.nc(file.from, x.line, x.message);
    plan.push({ rel: file.dest, data: buf, converted: false });
  };
  const props = (file: { abs: string; from: string; dest: string }, ctx: PropertiesContext) => {
    const text = readFileSync(file.abs, 'utf8');
    const r = convertPropertiesYaml(text, file.from, ctx, f);
    plan.push({ rel: file.dest, data: r.changed ? r.text : readFileSync(file.abs), converted: r.changed });
  };
  const fixtures = new Map<string, string>();
  for (const t of tests) if (/^fixtures\/.+\.csv$/i.test(t.rel)) fixtures.set(t.rel.replace(/^.*\//, '').replace(/\.csv$/i, ''), t.dest);
  const ctx: PropertiesContext = { project: info.name, docs, seedConfigs: conv.seedConfigs, fixtures, seedEntries: new Map(), modelConfigs: conv.modelConfigs };
  const destNames = new Set<string>();
  const unique = (file: { from: string; dest: string }) => {
    if (destNames.has(file.dest)) {
      f.nc(file.from, undefined, `${file.dest} comes from two folders: only the first is converted`);
      return false;
    }
    destNames.add(file.dest);
    return true;
  };

  for (const m of models) {
    if (!unique(m)) continue;
    if (SQL_FILE.test(m.rel)) template(m, 'model');
    else if (m.rel.endsWith('.py')) f.nc(m.from, undefined, 'a Python model: Vigil models are SQL: not converted');
    else if (/\.ya?ml$/.test(m.rel)) props(m, ctx);
    else if (/\.md$/i.test(m.rel)) plan.push({ rel: m.dest, data: readFileSync(m.abs), converted: false });
  }
  for (const s of seeds) {
    if (!unique(s)) continue;
    if (/\.csv$/i.test(s.rel)) {
      const name = s.rel.replace(/^.*\//, '').replace(/\.csv$/i, '');
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) f.nc(s.from, undefined, `seed name '${name}' is not an identifier: Vigil's ref() cannot name it; rename the file`);
      plan.push({ rel: s.dest, data: readFileSync(s.abs), converted: false });
    } else if (/\.ya?ml$/.test(s.rel)) props(s, ctx);
    else if (/\.md$/i.test(s.rel)) plan.push({ rel: s.dest, data: readFileSync(s.abs), converted: false });
  }
  for (const s of snapshots) {
    if (!unique(s)) continue;
    if (SQL_FILE.test(s.rel)) template(s, 'snapshot');
    else if (/\.ya?ml$/.test(s.rel)) props(s, ctx);
    else if (/\.md$/i.test(s.rel)) plan.push({ rel: s.dest, data: readFileSync(s.abs), converted: false });
  }
  for (const m of movedDocs) {
    const dest = `${destDir.models}/_dbt_docs/${m.from}`;
    if (!unique({ from: m.from, dest })) continue;
    f.note(m.from, undefined, `its {% docs %} blocks are copied to ${dest}: Vigil reads doc blocks from .md files under ${destDir.models}/, ${destDir.seeds}/ and ${destDir.snapshots}/`);
    plan.push({ rel: dest, data: readFileSync(m.abs), converted: false });
  }
  for (const t of tests) {
    if (!unique(t)) continue;
    if (/^generic\//.test(t.rel)) {
      if (SQL_FILE.test(t.rel)) f.nc(t.from, scanTemplate(readFileSync(t.abs, 'utf8'), 'test', scan).find((x) => x.message.startsWith('{% test'))?.line, "a custom generic test: Vigil's generic tests are built in (not_null, unique, accepted_values, relationships, expression_is_true, unique_combination_of_columns): not converted; write the check as a singular test");
      continue;
    }
    if (/^fixtures\//.test(t.rel)) {
      if (/\.csv$/i.test(t.rel)) plan.push({ rel: t.dest, data: readFileSync(t.abs), converted: false });
      else f.nc(t.from, undefined, 'a unit test fixture Vigil cannot read (it takes CSV): not converted');
      continue;
    }
    if (SQL_FILE.test(t.rel)) template(t, 'test');
    else if (/\.ya?ml$/.test(t.rel)) {
      if (/^unit\//.test(t.rel)) props(t, ctx);
      else f.nc(t.from, undefined, `properties of singular tests are not read by Vigil (it reads unit tests from ${destDir.tests}/unit/*.yml): not converted`);
    }
  }
  for (const m of macros) {
    if (!unique(m)) continue;
    if (SQL_FILE.test(m.rel)) template(m, 'macro');
    else if (/\.ya?ml$/.test(m.rel)) {
      const v = parseDocument(readFileSync(m.abs, 'utf8')).toJS() as unknown;
      if (isObj(v) && Object.keys(v).some((k) => k !== 'version')) f.nc(m.from, undefined, 'macro properties are not read by Vigil: not converted');
    }
  }

  // dbt names schemas with generate_schema_name, <target schema>_<custom schema> by default; Vigil
  // calls the project's macro as dbt does, but its own default is the custom schema as written:
  // without a macro of the project's own, dbt's default is written, so the schemas stay dbt's
  const ownNaming = macros.some((m) => SQL_FILE.test(m.rel) && /\{%-?\s*macro\s+generate_schema_name\s*\(/.test(readFileSync(m.abs, 'utf8')));
  if (!ownNaming) {
    let rel = `${destDir.macros}/generate_schema_name.sql`;
    for (let i = 2; destNames.has(rel); i++) rel = `${destDir.macros}/generate_schema_name_${i}.sql`;
    plan.push({ rel, data: DBT_DEFAULT_SCHEMA_NAME, converted: true });
  }

  // the seeds' columns Vigil loads as another type than dbt does
  for (const s of seeds) {
    const name = s.rel.replace(/^.*\//, '').replace(/\.csv$/i, '');
    if (!/\.csv$/i.test(s.rel) || seedMap.get(name) !== s.rel) continue;
    const said = seedTypeDifferences(s.abs, ctx.seedEntries!.get(name) ?? ctx.seedConfigs.get(name) ?? {}, targets.targets[targets.default_target]?.type);
    if (said.length) f.note(s.from, 1, `seed '${name}': ${said.join('; ')}`);
  }

  // seeds configured in dbt_project.yml without an entry in any properties file: one new file
  if (ctx.seedConfigs.size) {
    let rel = `${destDir.seeds}/_seed_configs.yml`;
    for (let i = 2; destNames.has(rel); i++) rel = `${destDir.seeds}/_seed_configs_${i}.yml`;
    const entries = [...ctx.seedConfigs].map(([name, config]) => ({ name, config }));
    plan.push({ rel, data: `${SEED_CONFIGS_HEADER}\n${stringify({ seeds: entries }, { lineWidth: 0 })}`, converted: true });
  }
  // models configured at their own path in dbt_project.yml without an entry in any properties file: one new file
  if (ctx.modelConfigs!.size) {
    let rel = `${destDir.models}/_model_configs.yml`;
    for (let i = 2; destNames.has(rel); i++) rel = `${destDir.models}/_model_configs_${i}.yml`;
    const entries = [...ctx.modelConfigs!].map(([name, config]) => ({ name, config }));
    plan.push({ rel, data: `${MODEL_CONFIGS_HEADER}\n${stringify({ models: entries }, { lineWidth: 0 })}`, converted: true });
  }

  // ---- write
  const result: ConvertResult = { source, root, name: String(p.name), files: [], kept: [], gitignore: [], removed: [], notConverted: f.notConverted, notes: f.notes, env: f.env, profiles: profilesPath, profilesFrom, profilesSearched };
  const secrets = [...new Set(f.secrets)].filter((s) => s.length >= 6);
  makeFolder(root);
  for (const item of plan) {
    const abs = join(root, item.rel);
    const held = secrets.find((s) => (typeof item.data === 'string' ? item.data.includes(s) : item.data.includes(s)));
    if (held) {
      f.nc(item.rel, undefined, 'holds a secret written literally in profiles.yml: not written (remove the secret from it first)');
      continue;
    }
    if (existsSync(abs) && !opts.force) {
      result.kept.push(item.rel);
      if (item.converted && !readFileSync(abs).equals(Buffer.from(item.data))) f.note(item.rel, undefined, 'already there, kept as it was: it differs from the converted file (--force writes the converted one)');
      continue;
    }
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, item.data);
    result.files.push(item.rel);
  }
  // with --force, what an earlier conversion generated (its header says so) and this one does not
  // write goes: a seed's configs there would be said twice, a schema macro would be defined twice
  if (opts.force) {
    const planned = new Set(plan.map((x) => x.rel));
    const generated: Array<[string, RegExp, string]> = [
      [destDir.seeds, /^_seed_configs(_\d+)?\.yml$/, SEED_CONFIGS_HEADER],
      [destDir.models, /^_model_configs(_\d+)?\.yml$/, MODEL_CONFIGS_HEADER],
      [destDir.macros, /^generate_schema_name(_\d+)?\.sql$/, DBT_DEFAULT_SCHEMA_NAME.slice(0, DBT_DEFAULT_SCHEMA_NAME.indexOf('\n'))],
    ];
    for (const [dir, re, header] of generated) {
      const abs = join(root, dir);
      if (!existsSync(abs)) continue;
      for (const e of readdirSync(abs, { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`;
        if (!e.isFile() || !re.test(e.name) || planned.has(rel) || !readFileSync(join(abs, e.name), 'utf8').startsWith(header)) continue;
        rmSync(join(abs, e.name));
        result.removed.push(rel);
      }
    }
  }
  // .gitignore: what Vigil writes (and a DuckDB file of the project)
  const ignore = ['.vigil/', 'target/'];
  for (const [tn, t] of Object.entries(targets.targets)) {
    if (t.type !== OFFLINE_ENGINE || typeof t.path !== 'string') continue;
    let path = t.path;
    if (/\{\{|\{%/.test(path)) {
      // named by the environment: its default's file, when the whole path is one env_var() with one
      const dflt = /^\{\{ env_var\('[^']*', '([^']+)'\) \}\}$/.exec(path)?.[1];
      if (dflt === undefined) {
        f.note('.gitignore', undefined, `the DuckDB file of the target '${tn}' is named by a template (${path}): not added`);
        continue;
      }
      path = dflt;
    }
    if (!path.startsWith('.vigil/') && !isAbsolute(path) && path !== ':memory:') ignore.push(path, `${path}.wal`);
  }
  if (paths.target) ignore.push(`${paths.target}/`);
  const gi = ensureIgnored(root, ignore);
  if (gi.created) result.files.push('.gitignore');
  result.gitignore.push(...gi.added);
  result.notConverted = byFileAndLine(f.notConverted);
  result.notes = byFileAndLine(f.notes);
  return result;
}

/** The first line of the seed configs file a conversion writes (seeds/_seed_configs.yml). */
const SEED_CONFIGS_HEADER = "# Seed configs from dbt_project.yml's seeds: tree (vigil init --from-dbt)";
const MODEL_CONFIGS_HEADER = "# Model configs from dbt_project.yml's models: tree, set at the models themselves (vigil init --from-dbt)";

/** dbt's generate_schema_name, which dispatches to default__generate_schema_name (Vigil's built-in is dbt's default). */
export const DBT_DEFAULT_SCHEMA_NAME = `{#- dbt's schema naming (written by vigil init --from-dbt, which found no generate_schema_name of
    the project's own): it calls default__generate_schema_name as dbt's does, that is dbt's
    default (<target schema>_<custom schema>, the target's schema without one) unless the
    project defines its own default__generate_schema_name. Vigil calls this macro as dbt does
    (docs/models.md); delete the file to build in the custom schema as written. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ default__generate_schema_name(custom_schema_name, node) }}
{%- endmacro %}
`;

/** Findings grouped by file (in the order files were met), by line within a file. */
function byFileAndLine(list: Finding[]): Finding[] {
  const order = new Map<string, number>();
  list.forEach((x, i) => order.has(x.file ?? '') || order.set(x.file ?? '', i));
  return [...list].sort((a, b) => order.get(a.file ?? '')! - order.get(b.file ?? '')! || (a.line ?? 0) - (b.line ?? 0));
}
