/**
 * The pure compile core: project files in, manifest and diagnostics out. Knows no
 * filesystem and no network. Reports every problem it finds at once; never throws on
 * user mistakes.
 *
 * Pipeline: resolve target -> properties YAML -> macros -> render every model (or reuse
 * the cached render when its inputs are unchanged) -> validate configs -> resolve
 * ref/source placeholders -> graph + cycles -> ephemeral CTEs -> tests -> manifest.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { checkColumnTypes, checkSeedColumns, readHeader, readHeaderAt, seedColumnName } from '../seeds/seed-csv.js';
import { isPlainObject, PyFloat, pyRepr, yamlNumber } from './py-values.js';
import { diag, didYouMean, editDistance, type Diagnostic } from '../errors.js';
import { inexactInteger } from '../project/yaml-lib.js';
import { sayYaml11Only, yaml11Only } from '../project/pyyaml-scalars.js';
import { cutToBytes, ephemeralCte, mapSqlCode, namesAlikeOnceCut, SCRATCH_INFIX, STANDARD_LEXIS, stripSemicolon, type Dialect, type Relation, type SqlLexis } from '../adapters/dialect.js';
import { REFILL_TABLE, STATE_TABLE } from '../sync/sync-types.js';
import { partitionField, partitionSpec, type Hook } from '../adapters/adapter.js';
import { namingMacros, type NamingNode } from './naming-macros.js';
import { checkTestResultConfig, type TestResultConfig } from './test-results-config.js';
import { dialectOf, getWarehouse } from '../adapters/index.js';
import { fillEnvVars, resolveTarget } from './resolve-target.js';
import { listFiles, PROJECT_FILE, readProjectText, SQL_FILE, unvalidatedSourceNames, type ProjectFiles, type RawFile } from '../project/load-project.js';
import { stampHolds } from '../project/paths.js';
import { MODEL_CONFIG_KEYS, ModelConfigSchema, SingularTestConfigSchema, SNAPSHOT_CONFIG_KEYS, SnapshotConfigSchema, snapshotRunConfig, uniqueKeyExpression, UNSUPPORTED_SNAPSHOT_KEYS, type ModelConfig, type ModelProps, type ColumnProps, type HookValue, type SeedProps, type SnapshotConfig, type SnapshotProps, type SourceProps, type SourceTableProps, type TestEntry, type Freshness } from '../project/schema.js';
import { parseYaml, stringTextAt, type YamlSource } from '../project/yaml-source.js';
import { explainIssues, showPath } from '../project/issues.js';
import { callFinder, emptyCalls, escapeRe, envStamp, isTemplateError, lineColAt, PH_OPEN, PLACEHOLDER_RE, TemplateEnv, type RenderCalls, type TemplateError } from './template-env.js';
import { buildGraph, findCycles, topoSort } from './graph.js';
import { templatePosition } from './source-lines.js';
import { parseDocBlocks, resolveDocCalls } from './docs-blocks.js';
import { folderLevels, levelsFor } from './folder-config.js';
import { ALLOWED_ARGS, COMMON_TEST_KEYS, GENERIC_TESTS, genericTestSql, NEEDS_COLUMN, writtenUnquoted, REQUIRED_ARGS, TEST_RENDERED_CONFIGS, TEST_TEMPLATE_ARGS, type GenericTestName } from './generic-tests.js';
import { RELATION_CONFIGS, type ColumnInfo, type Manifest, type ModelNode, type SeedNode, type SourceNode, type TestNode, type WrittenAt } from './manifest.js';
import { configArgsAsWritten, PRINTS_NOTHING, pyNativeValue } from './jinja-compat.js';
import { isPii, maskedSelect, needsMasking, piiChecks, piiKeyNearMiss, policyReason } from './masking.js';
import { ALERT_EVENTS_TABLE, alertEventColumns } from '../alerts/history.js';
import { compileUnitTests } from '../testing/unit-tests.js';
import { compileDashboards, parseDashboards } from '../dashboards/compile-dashboards.js';
import type { CompiledDashboard } from '../dashboards/types.js';

import { STATE_FORMAT, VIGIL_VERSION } from '../version.js';
import { BUILD } from '../project/snapshot.js';
import { environmentSecrets, hasSecretPlaceholder, registerCompiledSecret, isSecret, isSecretName, SECRET_PREFIX, secretNames, secretPlaceholder } from '../secrets.js';
import { durationMs, durationUnits, longestDurationMs } from '../time/duration.js';
import { agesRows, holdsDays, RETENTION_LOG_TABLE, retentionLogColumns } from '../retention/retention.js';
import { canonicalHash } from '../stable-json.js';
import { docRef } from '../install.js';
import { partitionReadConfig } from './partition-reads.js';
export { VIGIL_VERSION };

export interface CompileOptions {
  target?: string;
  /** Environment for env_var(); pass process.env from the CLI. */
  env: Record<string, string | undefined>;
  /** --vars overrides, on top of project.yaml vars. */
  vars?: Record<string, unknown>;
  /** Render cache from a previous compile (path -> entry); updated in place. */
  cache?: RenderCache;
  /** `--empty`: models read their refs and sources as `(select * from x where 1 = 0)`, and their own query the same way: built with their columns, no rows. */
  empty?: boolean;
  /** Interpret simple templates directly (default). false renders everything with nunjucks. */
  fastPath?: boolean;
  /**
   * A long-lived process (`--watch`) will recompile after edits: keep what this compile built so
   * `patchCompile()` can redo only the models whose text changed (see there).
   */
  incremental?: boolean;
  /** Templated SQL outside models (alert queries) to compile against the same refs and sources.
   * `line`/`column`: where `text` starts in `file`, so diagnostics point into it. */
  queries?: Array<{ key: string; file: string; text: string; line: number; column: number; /** a YAML block scalar's indentation, added to every line's column */ indent?: number }>;
}

export interface CachedRender {
  key: string;
  /** The file's size, modification time and checksum when it was rendered. */
  stamp?: { size: number; mtimeMs: number; checksum: string };
  sql: string;
  sqlIncremental?: string;
  calls: RenderCalls;
  error?: TemplateError;
}
export type RenderCache = Map<string, CachedRender>;

export interface ResolvedTarget {
  name: string;
  type: string;
  schema: string;
  /** BigQuery: the project relations are qualified with. */
  database?: string;
  /** The database's name for templates (`target.database`): DuckDB's catalog, Postgres' database, BigQuery's project. */
  catalog?: string;
  config: Record<string, unknown>;
}

export interface CompileResult {
  manifest: Manifest;
  diagnostics: Diagnostic[];
  target?: ResolvedTarget;
  /** Models in dependency order (unique ids), for executors. */
  order: string[];
  cacheHits: number;
  /** The compiled `queries` by key (absent when a query had errors, which are in diagnostics). */
  queries: Record<string, { sql: string; depends_on: string[] }>;
  /** dashboards/*.json, validated against the models' declared columns, with each tile's SQL. */
  dashboards: CompiledDashboard[];
  /** Something read run_started_at or invocation_id: the result holds only for this run (no snapshot keeps it). */
  volatile?: boolean;
}

const sha = (s: string) => createHash('sha1').update(s).digest('hex');
/** How many hex digits of a generic test's checksum end its unique_id (dbt's HASH_LENGTH). */
const GENERIC_TEST_HASH = 10;

/** An unchanged stamp (size and mtime) means an unchanged file: its cached checksum holds, unread. */
function sameStamp(cached: CachedRender | undefined, f: RawFile): boolean {
  return !!(cached?.stamp && f.stamp && cached.stamp.size === f.stamp.size && cached.stamp.mtimeMs === f.stamp.mtimeMs);
}

/**
 * The stamp to keep in the render cache with a file's checksum: none for a file modified too
 * close to now (paths.ts stampHolds, git's racy rule: an edit within the same timestamp tick
 * keeps its size and modification time), which is read and hashed again the next time.
 */
function keptStamp(f: RawFile, checksum: string, now = Date.now()): CachedRender['stamp'] {
  return f.stamp && stampHolds(f.stamp.mtimeMs, now) ? { ...f.stamp, checksum } : undefined;
}

interface ModelDraft {
  file: RawFile;
  name: string;
  /** `meta`: its config.meta or meta property (propsMeta) */
  props?: { p: ModelProps; src: YamlSource; path: (string | number)[]; file: string; meta?: Record<string, unknown> };
  calls: RenderCalls;
  sql: string;
  sqlIncremental?: string;
  failed: boolean;
  config?: ModelNode['config'];
  checksum?: string;
  /** pre_hook/post_hook statements from project defaults, properties and config(), in that order */
  hooks?: Record<'pre_hook' | 'post_hook', HookSource[]>;
  /** where config.retention is written */
  retentionAt?: { file: string; line?: number; column?: number };
  /** RELATION_CONFIGS its config() sets, as written */
  relationWritten?: Record<string, string>;
  /** where the value of a config key that applies is written */
  configAt?: (key: keyof ModelConfig) => { file: string; line?: number; column?: number };
}

/** A hook as written: its template and where it is. */
interface HookSource {
  sql: string;
  /** false: run outside the model's transaction */
  transaction?: false;
  file: string;
  at: { line: number; column: number };
}

/** A pre_hook/post_hook value as written (a statement or `{sql, transaction}`): its statement and whether it runs in the transaction. */
function hookOf(h: HookValue): { sql: string; transaction?: false } {
  return typeof h === 'string' ? { sql: h } : h.transaction === false ? { sql: h.sql, transaction: false } : { sql: h.sql };
}

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function compileProject(files: ProjectFiles, opts: CompileOptions): CompileResult {
  const ds: Diagnostic[] = [...files.diagnostics];
  const projectName = files.project.name;
  const target = resolveTarget(files, opts, ds);
  const dialect: Dialect = dialectOf(target?.type);
  /** `sql` without the `;` that ends it (stripSemicolon), in the dialect's SQL */
  const strip = (sql: string): string => stripSemicolon(sql, dialect.lexis);
  /** the target's warehouse (its limits, strategies, names), when it resolved */
  const warehouse = getWarehouse(target?.type ?? '');
  const vars = { ...projectVars(files, opts, ds), ...(opts.vars ? givenVars(opts.vars, opts.env) : {}) };
  // (the shortest keep apply accepts, and the floor of every row's own period: as a keep is read)
  ds.push(...retentionPeriodProblems(files.project.retention?.minimum, 'retention.minimum', { file: PROJECT_FILE, ...files.projectYaml.locate(['retention', 'minimum']) }));
  if (opts.vars) ds.push(...unreadVars(files, Object.keys(opts.vars), opts.queries));
  // what templates see of the target: never its credentials. A target that did not resolve has
  // its error already; templates still see its name and type (no second error from `target.type`)
  const targetName = opts.target ?? files.project.default_target ?? Object.keys(files.project.targets)[0];
  const safeTarget = target
    ? { name: target.name, type: target.type, schema: target.schema, database: target.catalog ?? '' }
    : { name: targetName, type: files.project.targets[targetName]?.type ?? '', schema: '', database: '' };
  const emptyManifest = (): Manifest => ({ metadata: { project: projectName, target: target?.name ?? '', adapter: dialect.name, vigil_version: VIGIL_VERSION, state_format: STATE_FORMAT, ...(dialect.persistsDescriptions ? { persists_descriptions: true } : {}) }, nodes: {}, sources: {}, child_map: {} });

  // ---- properties: models and sources
  const modelProps = new Map<string, NonNullable<ModelDraft['props']>>();
  const sources = new Map<string, SourceNode>();
  /** a source's schema or table name cut as the warehouse cuts it (`<max> <schema>.<table>`) -> the source that first had it */
  const longSourceNames = new Map<string, string>();
  /** `source.table` declared in properties files that failed validation (their errors are reported) */
  const unvalidated = unvalidatedSourceNames(files);
  const sourceTests: Array<{ node: SourceNode; entry: TestEntry; column?: string; columnTags?: string[]; quoteColumn?: boolean; src: YamlSource; path: (string | number)[]; file: string }> = [];
  const seedProps = new Map<string, { p: SeedProps; src: YamlSource; path: (string | number)[]; file: string; meta?: Record<string, unknown> }>();
  /**
   * `policy:` says how a model's published relation shows a column; a source, seed or snapshot is
   * stored as it is and read as it is, so a policy there masks nothing: a warning at its line. It
   * still marks the column PII (the compile-time check follows it), as it always did.
   */
  const storedPolicy = (what: string, columns: ColumnProps[] | undefined, src: YamlSource, path: (string | number)[], file: string) =>
    (columns ?? []).forEach((c, ci) => {
      if (c.policy) ds.push(diag('W_MASKING', `column '${c.name}' of ${what}: policy: ${c.policy} masks nothing here — a policy applies to a model's published relation; a ${what.split(' ')[0]} is stored and read as it is (the column is taken as PII)`, { file, ...src.locate([...path, 'columns', ci, 'policy']) }, `write meta: { pii: true } instead (the PII check follows it into the models that read it) and give the policy to the model column that publishes it`, 'warn'));
    });
  // a meta key meant as the PII mark but spelled otherwise marks nothing (compile/masking.ts
  // piiKeyNearMiss): a case variant of pii or content is an error, a near miss of pii a warning
  const piiMetaKeys = (what: string, columns: ColumnProps[] | undefined, src: YamlSource, path: (string | number)[], file: string) =>
    (columns ?? []).forEach((c, ci) => {
      for (const key of Object.keys(c.meta ?? {})) {
        const miss = piiKeyNearMiss(key, c.meta!);
        if (!miss) continue;
        const at = { file, ...src.locate([...path, 'columns', ci, 'meta', key], true) };
        if (miss.caseOnly) ds.push(diag('E_MASKING', `column '${c.name}' of ${what}: meta key '${key}' is not the PII mark, which is '${miss.meant}' in lower case: the column is not taken as PII — did you mean '${miss.meant}'?`, at, `write meta: { ${miss.meant}: ${String(c.meta![key])} }`));
        else ds.push(diag('W_MASKING', `column '${c.name}' of ${what}: meta key '${key}' is not read as a PII mark (Vigil reads meta: { pii: ... } and { content: ... }): the column is not taken as PII — did you mean '${miss.meant}'?`, at, `write meta: { pii: true } if it holds personal data (another tool's key can stay beside it)`, 'warn'));
      }
    });
  // a column declared twice: which entry's data_type, meta, policy and tests hold would be a
  // guess (dbt warns and keeps the last); names compared without case, as unquoted SQL reads them
  const twiceDeclared = (what: string, columns: ColumnProps[] | undefined, src: YamlSource, path: (string | number)[], file: string) => {
    const seen = new Map<string, number>();
    (columns ?? []).forEach((c, ci) => {
      const prev = seen.get(c.name.toLowerCase());
      if (prev === undefined) return void seen.set(c.name.toLowerCase(), ci);
      const first = columns![prev].name;
      ds.push(diag('E_DUPLICATE', `column '${c.name}' of ${what} is declared twice (also at line ${src.locate([...path, 'columns', prev, 'name']).line}${first === c.name ? '' : `, as '${first}': unquoted, one column to the warehouse`})`, { file, ...src.locate([...path, 'columns', ci, 'name']) }, 'keep one entry per column, with all its data_type, meta and tests'));
    });
  };
  /**
   * A declared column name longer than the warehouse keeps (Postgres: 63 bytes) names no column
   * there: the table has the name cut, so `vigil check` found the column missing while its tests
   * passed (Postgres cut the name in their SQL too), and two names alike in their first 63 bytes
   * were one column. (A seed's columns are its CSV header's, said there.)
   */
  const longColumns = (what: string, columns: ColumnProps[] | undefined, src: YamlSource, path: (string | number)[], file: string) => {
    const max = dialect.maxIdentifierBytes;
    if (!max) return;
    const cutBy = new Map<string, string>();
    (columns ?? []).forEach((c, ci) => {
      const bytes = Buffer.byteLength(c.name);
      if (bytes <= max) return;
      const cut = cutToBytes(c.name, max);
      const at = src.locate([...path, 'columns', ci, 'name']);
      const other = cutBy.get(cut.toLowerCase());
      if (!other) cutBy.set(cut.toLowerCase(), `'${c.name}' (line ${at.line})`);
      ds.push(diag('E_NAME', `column '${c.name}' of ${what} is ${bytes} bytes long; ${dialect.name} keeps ${max} bytes of a name: it names the column '${cut}'${other ? `, as ${other} does` : ''}`, { file, ...at }, `alias the column to a name of at most ${max} bytes in the SQL, and declare that name`));
    });
  };
  /**
   * Two names of a node's SQL alike in the bytes the warehouse keeps (Postgres: 63): Postgres
   * reads both as one, cut, without a word — two columns of the SELECT were its "column ... specified
   * more than once", and two columns read by such names read one. An error at the second's line
   * (`rendered`: the SQL as the template rendered it, its lines the template's), naming both and
   * the name they are cut to.
   */
  const namesOnceCut = (what: string, file: RawFile, rendered: string[]) => {
    const max = dialect.maxIdentifierBytes;
    if (!max) return;
    const said = new Set<string>();
    for (const sql of rendered) {
      for (const { first, second, cut } of namesAlikeOnceCut(sql, max, dialect.lexis, dialect.unquotedName)) {
        if (said.has(cut)) continue;
        said.add(cut);
        const line = (n: { at: number }) => templatePosition(file.text, sql, lineColAt(sql, n.at));
        const firstAt = line(first);
        ds.push(diag('E_NAME', `${what}: '${first.name}' (line ${firstAt.line}) and '${second.name}' are one name to ${dialect.name}, which keeps ${max} bytes of a name: both are '${cut}'`, { file: file.path, ...line(second) }, `rename one to differ in its first ${max} bytes (a column: alias it to a name of at most ${max} bytes)`));
      }
    }
  };
  /** The checks of a node's declared columns in its properties YAML (seeds, models, source tables, snapshots). */
  const declaredColumns = (what: string, columns: ColumnProps[] | undefined, src: YamlSource, path: (string | number)[], file: string) => {
    twiceDeclared(what, columns, src, path, file);
    piiMetaKeys(what, columns, src, path, file);
  };
  /**
   * The meta of a properties entry: `config: { meta }`, or the `meta:` property, which dbt moves
   * into config.meta; both is an error, as in dbt (which of the two would win is not said).
   */
  const propsMeta = (what: string, p: { meta?: Record<string, unknown>; config?: { meta?: unknown } }, src: YamlSource, path: (string | number)[], file: string): Record<string, unknown> | undefined => {
    const inConfig = p.config?.meta as Record<string, unknown> | undefined;
    if (p.meta && inConfig) ds.push(diag('E_PROPS', `${what}: meta is given both as a property and in config:`, { file, ...src.locate([...path, 'meta'], true) }, 'keep one: move these keys into config: { meta: ... } (as dbt asks)'));
    return inConfig ?? p.meta;
  };
  /**
   * An entry's and its columns' data tests are under `tests:` or dbt 1.8's name for it,
   * `data_tests:`; both lists at once is an error at the second, as in dbt ("cannot have both
   * 'tests' and 'data_tests' defined"): which one was meant is a guess.
   */
  const oneTestList = (what: string, p: { tests?: TestEntry[]; data_tests?: TestEntry[]; columns?: ColumnProps[] }, src: YamlSource, path: (string | number)[], file: string) => {
    const lists: Array<[string, { tests?: TestEntry[]; data_tests?: TestEntry[] }, (string | number)[]]> = [[what, p, path], ...(p.columns ?? []).map((c, ci): [string, ColumnProps, (string | number)[]] => [`column '${c.name}' of ${what}`, c, [...path, 'columns', ci]])];
    for (const [w, x, at] of lists) {
      if (!x.tests?.length || !x.data_tests?.length) continue;
      const [first, second] = (['tests', 'data_tests'] as const).map((k) => ({ k, at: src.locate([...at, k], true) })).sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column);
      ds.push(diag('E_PROPS', `${w}: both tests: and data_tests: are given (${first.k}: at line ${first.at.line})`, { file, ...second.at }, 'keep one list: data_tests: is the name dbt 1.8 gave tests:'));
    }
  };
  /** The data tests an entry or column lists (see oneTestList), each with its YAML path. */
  const testLists = (p: { tests?: TestEntry[]; data_tests?: TestEntry[] }, path: (string | number)[]) =>
    (['tests', 'data_tests'] as const).flatMap((k) => (p[k] ?? []).map((entry, i) => ({ entry, path: [...path, k, i] })));
  for (const pf of files.properties) {
    (pf.data.seeds ?? []).forEach((p, i) => {
      const prev = seedProps.get(p.name);
      if (prev) {
        ds.push(diag('E_DUPLICATE', `seed '${p.name}' is described twice (also in ${prev.file}:${prev.src.locate(prev.path).line})`, { file: pf.path, ...pf.yaml.locate(['seeds', i, 'name']) }, 'keep one entry per seed'));
        return;
      }
      seedProps.set(p.name, { p, src: pf.yaml, path: ['seeds', i], file: pf.path, meta: propsMeta(`seed '${p.name}'`, p, pf.yaml, ['seeds', i], pf.path) });
      storedPolicy(`seed '${p.name}'`, p.columns, pf.yaml, ['seeds', i], pf.path);
      declaredColumns(`seed '${p.name}'`, p.columns, pf.yaml, ['seeds', i], pf.path);
      oneTestList(`seed '${p.name}'`, p, pf.yaml, ['seeds', i], pf.path);
    });
    (pf.data.models ?? []).forEach((p, i) => {
      const prev = modelProps.get(p.name);
      if (prev) {
        ds.push(diag('E_DUPLICATE', `model '${p.name}' is described twice (also in ${prev.file}:${prev.src.locate(prev.path).line})`, { file: pf.path, ...pf.yaml.locate(['models', i, 'name']) }, 'keep one entry per model'));
        return;
      }
      modelProps.set(p.name, { p, src: pf.yaml, path: ['models', i], file: pf.path, meta: propsMeta(`model '${p.name}'`, p, pf.yaml, ['models', i], pf.path) });
      declaredColumns(`model '${p.name}'`, p.columns, pf.yaml, ['models', i], pf.path);
      longColumns(`model '${p.name}'`, p.columns, pf.yaml, ['models', i], pf.path);
      oneTestList(`model '${p.name}'`, p, pf.yaml, ['models', i], pf.path);
    });
    (pf.data.sources ?? []).forEach((s: SourceProps, si) => {
      // the source's sync.from, checked where it is written (was: a misspelt target passed compile
      // and vigil check, refused only by vigil sync; a from no table reads did nothing, unsaid)
      if (s.sync) {
        const targets = Object.keys(files.project.targets);
        const fromAt = { file: pf.path, ...pf.yaml.locate(['sources', si, 'sync', 'from']) };
        if (!targets.includes(s.sync.from)) {
          const hint = didYouMean(s.sync.from, targets);
          ds.push(diag('E_TARGET', `source '${s.name}': sync.from '${s.sync.from}' is not a target in project.yaml${hint ? ` — did you mean '${hint}'?` : ''}`, fromAt, `targets: ${targets.join(', ')}`));
        } else if (!s.tables.some((t) => t.sync || t.retention?.apply_to === 'source'))
          ds.push(diag('E_SYNC', `source '${s.name}': sync: { from: ${s.sync.from} } is read by no table: none has a sync block (or retention apply_to: source), so nothing would be synced`, { file: pf.path, ...pf.yaml.locate(['sources', si, 'sync'], true) }, 'add sync: { primary_key, cursor } to the tables to copy, or remove the source\'s sync'));
      }
      s.tables.forEach((t: SourceTableProps, ti) => {
        const uid = `source.${projectName}.${s.name}.${t.name}`;
        if (sources.has(uid)) {
          ds.push(diag('E_DUPLICATE', `source ${s.name}.${t.name} is declared twice (also in ${sources.get(uid)!.file})`, { file: pf.path, ...pf.yaml.locate(['sources', si, 'tables', ti, 'name']) }));
          return;
        }
        // dbt renders Jinja in sources YAML; Vigil does not: said at the line, instead of a relation
        // named "{{ var('raw_schema') }}" or a freshness query the warehouse cannot parse
        const own = t.loaded_at_field === undefined ? ['sources', si] : ['sources', si, 'tables', ti];
        const filterAt = t.freshness?.filter === undefined ? ['sources', si, 'freshness', 'filter'] : ['sources', si, 'tables', ti, 'freshness', 'filter'];
        for (const [where, v] of [[['sources', si, 'database'], s.database], [['sources', si, 'schema'], s.schema], [['sources', si, 'tables', ti, 'identifier'], t.identifier], [[...own, 'loaded_at_field'], t.loaded_at_field ?? s.loaded_at_field], [filterAt, t.freshness === null ? undefined : (t.freshness?.filter ?? s.freshness?.filter)]] as Array<[(string | number)[], string | undefined]>) {
          const key = String(where.at(-1));
          const names = key === 'database' || key === 'schema' || key === 'identifier';
          if (v && /\{\{|\{%/.test(v)) ds.push(diag('E_SOURCE', `source ${s.name}.${t.name}: ${key === 'filter' ? 'freshness filter' : key} '${v}' is a template, which Vigil does not render in sources YAML: it would ${names ? 'name a relation' : 'reach the warehouse'} as written`, { file: pf.path, ...pf.yaml.locate(where) }, `write the ${key === 'filter' ? 'filter' : key} itself: Vigil renders templates in models, macros and hooks, not in sources YAML`));
        }
        // a schema or table name longer than Postgres keeps (63 bytes) names no table there: Postgres
        // reads (and vigil sync writes) the table of its first 63 bytes, which two sources alike in
        // those share (the second read the first's rows, both OK); the application side of a sync
        // is Postgres whatever the target
        const synced = t.sync && t.sync.enabled !== false && s.sync?.from ? s.sync : undefined;
        const cuts: Array<{ side: string; d: Dialect; schema: string; schemaAt: (string | number)[] }> = [
          { side: 'the target', d: dialect, schema: s.schema ?? s.name, schemaAt: ['sources', si, s.schema === undefined ? 'name' : 'schema'] },
          ...(synced ? [{ side: `${synced.from}, which vigil sync reads`, d: dialectOf(files.project.targets[synced.from!]?.type), schema: synced.schema ?? s.schema ?? s.name, schemaAt: synced.schema !== undefined ? ['sources', si, 'sync', 'schema'] : ['sources', si, s.schema === undefined ? 'name' : 'schema'] }] : []),
        ];
        const said = new Set<string>();
        for (const c of cuts) {
          const max = c.d.maxIdentifierBytes;
          if (!max) continue;
          const names: Array<[string, string, (string | number)[]]> = [['schema', c.schema, c.schemaAt], ['table', t.identifier ?? t.name, ['sources', si, 'tables', ti, t.identifier === undefined ? 'name' : 'identifier']]];
          for (const [kind, name, at] of names) {
            const bytes = Buffer.byteLength(name);
            if (bytes <= max || said.has(`${kind} ${name}`)) continue;
            said.add(`${kind} ${name}`);
            const cut = cutToBytes(name, max);
            const here = `source ${s.name}.${t.name} (${pf.path}:${pf.yaml.locate(at).line})`;
            const key = `${c.d.name} ${kind === 'schema' ? cut : `${cutToBytes(c.schema, max)}.${cut}`}`;
            const other = longSourceNames.get(key);
            if (!other) longSourceNames.set(key, here);
            ds.push(diag('E_NAME', `source ${s.name}.${t.name}: ${kind} name '${name}' is ${bytes} bytes long; ${c.d.name} keeps ${max} bytes of a name: in ${c.side} it names '${cut}'${other && kind === 'table' ? `, as ${other} does` : ''}`, { file: pf.path, ...pf.yaml.locate(at) }, `write the name the ${kind} has there (at most ${max} bytes)${t.identifier === undefined && kind === 'table' ? `, as identifier: ${cut}` : ''}`));
          }
        }
        storedPolicy(`source ${s.name}.${t.name}`, t.columns, pf.yaml, ['sources', si, 'tables', ti], pf.path);
        declaredColumns(`source ${s.name}.${t.name}`, t.columns, pf.yaml, ['sources', si, 'tables', ti], pf.path);
        longColumns(`source ${s.name}.${t.name}`, t.columns, pf.yaml, ['sources', si, 'tables', ti], pf.path);
        const node: SourceNode = {
          unique_id: uid,
          resource_type: 'source',
          name: t.name,
          source_name: s.name,
          file: pf.path,
          line: pf.yaml.locate(['sources', si, 'tables', ti]).line,
          description: t.description,
          ...(s.description ? { source_description: s.description } : {}),
          relation: { database: s.database, schema: s.schema ?? s.name, identifier: t.identifier ?? t.name },
          loaded_at_field: t.loaded_at_field ?? s.loaded_at_field,
          freshness: mergeFreshness(s.freshness, t.freshness),
          columns: (t.columns ?? []).map((c) => ({ name: c.name, description: c.description, data_type: c.data_type, ...(c.meta ? { meta: c.meta } : {}), ...(c.tags?.length ? { tags: c.tags } : {}), ...(c.policy ? { policy: c.policy } : {}), ...(c.quote !== undefined ? { quote: c.quote } : {}) })),
          tags: [...(s.tags ?? []), ...(t.tags ?? [])],
          meta: t.meta,
          // the source's own meta, beside its table's (dbt's source_meta)
          ...(s.meta ? { source_meta: s.meta } : {}),
          sync: t.sync && t.sync.enabled !== false ? syncSettings(s, t, pf.yaml, ['sources', si, 'tables', ti, 'sync'], pf.path, ds) : undefined,
          ...(t.time_ingestion_partitioning ? { time_ingestion_partitioning: true } : {}),
        };
        if (t.retention) {
          const at = (k?: string) => ({ file: pf.path, ...pf.yaml.locate(['sources', si, 'tables', ti, 'retention', ...(k ? [k] : [])]) });
          node.retention = { ...t.retention, at: at() };
          if (t.retention.apply_to === 'source' && s.sync?.from) node.retention.source = { target: s.sync.from, relation: { schema: s.sync.schema ?? s.schema ?? s.name, identifier: t.identifier ?? t.name } };
          ds.push(...retentionProblems(t.retention, node.columns, at, `source ${s.name}.${t.name}`));
          if (t.retention.apply_to === 'source' && !s.sync?.from)
            ds.push(diag('E_RETENTION', `source ${s.name}.${t.name}: retention apply_to: source deletes in the database vigil sync reads the table from, but source '${s.name}' has no sync: { from: <target> }`, at('apply_to'), "add sync: { from: <a postgres target> } to the source, or remove apply_to (the warehouse copy is cleaned by default)"));
        }
        sources.set(uid, node);
        const base = ['sources', si, 'tables', ti];
        oneTestList(`source ${s.name}.${t.name}`, t, pf.yaml, base, pf.path);
        for (const e of testLists(t, base)) sourceTests.push({ node, ...e, src: pf.yaml, file: pf.path });
        (t.columns ?? []).forEach((c, ci) => {
          for (const e of testLists(c, [...base, 'columns', ci])) sourceTests.push({ node, ...e, column: c.name, columnTags: c.tags, quoteColumn: c.quote, src: pf.yaml, file: pf.path });
        });
      });
    });
  }

  // ---- template environment and macros
  const tenv = new TemplateEnv({ dialect, vars, env: opts.env, target: safeTarget, project: projectName });
  tenv.useFastPath = opts.fastPath !== false;
  const macroOwner = new Map<string, string>();
  /** Each macro file's `{% macro name %}` ... `{% endmacro %}` spans: [name, start, end]. */
  const macroSpans = new Map<string, Array<[string, number, number]>>();
  for (const m of files.macros) {
    const r = tenv.addMacros(m.path, m.text);
    const spans: Array<[string, number, number]> = [];
    for (const d of m.text.matchAll(/\{%[-+]?\s*macro\s+([A-Za-z_]\w*)/g)) {
      const end = /\{%[-+]?\s*endmacro\b[^%]*%\}/g;
      end.lastIndex = d.index!;
      const e = end.exec(m.text);
      // a macro defined twice in one file: nunjucks keeps the last without a word
      const first = spans.find(([n]) => n === d[1]);
      if (first) ds.push(diag('E_DUPLICATE', `macro '${d[1]}' is defined twice in this file (first at line ${lineColAt(m.text, first[1]).line}): the last definition would silently win`, { file: m.path, ...lineColAt(m.text, d.index! + d[0].length - d[1].length) }, 'rename one of them, or remove the one not meant'));
      spans.push([d[1], d.index!, e ? e.index + e[0].length : m.text.length]);
    }
    macroSpans.set(m.path, spans);
    if ('names' in r) {
      for (const n of r.names) {
        const prev = macroOwner.get(n);
        if (prev) ds.push(diag('E_DUPLICATE', `macro '${n}' is defined twice (also in ${prev})`, { file: m.path, ...locate(m.text, new RegExp(`macro\\s+${n}\\b`)) }));
        macroOwner.set(n, m.path);
        // dbt calls it; Vigil does not (one database per target): said, not silently ignored
        if (n === 'generate_database_name') ds.push(diag('W_MACRO', "macro 'generate_database_name' is not called by Vigil: relations live in the target's database (generate_schema_name and generate_alias_name are)", { file: m.path, ...locate(m.text, /macro\s+generate_database_name\b/) }, undefined, 'warn'));
      }
    } else ds.push(diag('E_TEMPLATE', r.message, { file: m.path, line: r.line, column: r.column }));
  }

  // ---- folder-level configs (project.yaml models:), by the folders that hold models
  const modelsPrefix = `${files.paths.models.replace(/\/+$/, '')}/`;
  const relToModels = (path: string) => (path.startsWith(modelsPrefix) ? path.slice(modelsPrefix.length) : path);
  const modelFolders = new Set<string>();
  for (const f of files.models) {
    const parts = relToModels(f.path).split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) modelFolders.add(parts.slice(0, i).join('/'));
  }
  const levels = folderLevels(files.project.models, { project: projectName, folders: modelFolders, yaml: files.projectYaml, modelsPath: files.paths.models }, ds);
  const folderConfigs = (path: string) => levelsFor(levels, relToModels(path));

  // macros each macro file calls, and a finder for the macros a text calls (state:modified.macros)
  const macroNames = [...macroOwner.keys()];
  // dbt's generate_schema_name / generate_alias_name, when the project defines them (naming-macros.ts);
  // not called when the target did not resolve: its error is the one to fix (an empty target.schema
  // gave a second one, blaming the macro)
  const naming = namingMacros(tenv, (n) => (target ? macroOwner.get(n) : undefined), ds);
  const defaultSchema = target?.schema ?? 'analytics';
  /** A relation of the target's database (BigQuery's project) */
  const inTarget = (schema: string, identifier: string): Relation => ({ ...(target?.database ? { database: target.database } : {}), schema, identifier });
  // dbt's node.path: the file's path within its resource's folder (a YAML snapshot's: models/; a
  // generic test's: its YAML file's)
  const folderOf: Record<NamingNode['resource_type'] | 'test', string[]> = {
    model: [files.paths.models],
    seed: [files.paths.seeds, files.paths.models],
    snapshot: [files.paths.snapshots ?? 'snapshots', files.paths.models],
    test: [files.paths.tests, files.paths.models, files.paths.seeds, files.paths.snapshots ?? 'snapshots'],
  };
  const inFolder = (resource: NamingNode['resource_type'] | 'test', path: string) => {
    for (const dir of folderOf[resource]) {
      const prefix = `${dir.replace(/\/+$/, '')}/`;
      if (path.startsWith(prefix)) return path.slice(prefix.length);
    }
    return path;
  };
  /** dbt's fqn: the project, the folders of its file within its resource's folder, its name (`-s staging`, `-s fqn:pb.staging.b`) */
  const fqnOf = (resource: NamingNode['resource_type'] | 'test', path: string, name: string) => [projectName, ...inFolder(resource, path).split('/').slice(0, -1), name];
  /**
   * A snapshot's fqn: a {% snapshot %} block's has its file's name too, as dbt's SnapshotParser
   * ("on snapshots, the fqn includes the filename": `-s snap` selects the blocks of snapshots/snap.sql);
   * a YAML snapshot's is a model's
   */
  const snapFqn = (path: string, name: string) => (SQL_FILE.test(path) ? [projectName, ...inFolder('snapshot', path).replace(SQL_FILE, '').split('/'), name] : fqnOf('snapshot', path, name));
  const namingNode = (resource_type: NamingNode['resource_type'], name: string, path: string, config: Record<string, unknown>, tags: string[]): NamingNode => ({
    name,
    resource_type,
    unique_id: `${resource_type}.${projectName}.${name}`,
    package_name: projectName,
    path: inFolder(resource_type, path),
    original_file_path: path,
    fqn: resource_type === 'snapshot' ? snapFqn(path, name) : fqnOf(resource_type, path, name),
    tags,
    // dbt's config.materialized of a seed is 'seed', of a snapshot 'snapshot'
    config: resource_type === 'model' ? config : { materialized: resource_type, ...config },
  });
  const macroCallRe = macroNames.length ? new RegExp(`\\b(${macroNames.map(escapeRe).join('|')})\\s*\\(`, 'g') : undefined;
  const macrosIn = (text: string): string[] => (macroCallRe ? [...new Set([...text.matchAll(macroCallRe)].map((m) => m[1]))] : []);
  // each macro's own text, {% macro %} to {% endmacro %}: hashed (dbt's macro checksum) and
  // read for the macros it calls, so a change to one macro of a file modifies what calls it,
  // not what calls the file's other macros
  // (with the file's text outside its macros: a top-level {% set %} or import they may read)
  const macroText = new Map<string, string>();
  const macroHashText = new Map<string, string>();
  for (const m of files.macros) {
    const spans = macroSpans.get(m.path)!;
    let outside = '';
    let at = 0;
    for (const [, s0, e0] of spans) {
      if (s0 >= at) outside += m.text.slice(at, s0);
      at = Math.max(at, e0);
    }
    outside += m.text.slice(at);
    for (const [n, s0, e0] of spans) {
      if (macroOwner.get(n) !== m.path) continue;
      macroText.set(n, m.text.slice(s0, e0));
      macroHashText.set(n, `${m.text.slice(s0, e0)}\u0000${outside.replace(/\{#[\s\S]*?#\}/g, '').trim()}`);
    }
  }
  const macroCalls = new Map<string, string[]>();
  for (const n of macroNames) macroCalls.set(n, macrosIn(macroText.get(n) ?? files.macros.find((m) => m.path === macroOwner.get(n))!.text).filter((x) => x !== n));
  const macroClosure = (direct: string[]): string[] => {
    const seen = new Set<string>();
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const c of macroCalls.get(n) ?? []) visit(c);
    };
    direct.forEach(visit);
    return [...seen].sort();
  };
  /** A snapshot's or singular test's macros (models record theirs through their render calls). */
  const macroDeps = (text: string): { depends_on_macros?: string[] } => {
    const direct = macrosIn(text);
    return direct.length ? { depends_on_macros: macroClosure(direct) } : {};
  };

  // ---- render models
  const globalKey = sha(
    // (BUILD: a CLI rebuilt with a template engine that renders otherwise, its version unchanged,
    // renders again — a tuple, a float rendered before an upgrade stayed in the cache)
    // (vars as Python prints them: JSON writes 1.0 as 1)
    JSON.stringify([VIGIL_VERSION, BUILD, 'calls:vars', dialect.name, safeTarget, pyRepr(vars, false), files.macros.map((m) => [m.path, sha(m.text)])]),
  );
  const drafts = new Map<string, ModelDraft>();
  let cacheHits = 0;
  // (the moment the files' stamps are compared with: keptStamp)
  const now = Date.now();
  for (const f of files.models) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1).replace(SQL_FILE, '');
    // a name a selector can spell: white space or a selector's own characters would split it
    // (my-model and 2023_sales are fine: dbt takes them, and ref() quotes the relation)
    if (/[\s+,:@*]/.test(name)) {
      ds.push(diag('E_MODEL', `model file name '${name}' has ${/\s/.test(name) ? 'white space' : `'${/[+,:@*]/.exec(name)![0]}'`} in it: -s ${name} could not select it`, { file: f.path, line: 1, column: 1 }, 'rename the file (letters, digits, _ and -)'));
      continue;
    }
    const dup = drafts.get(name);
    if (dup) {
      ds.push(diag('E_DUPLICATE', `two models are named '${name}': ${dup.file.path} and ${f.path}`, { file: f.path, line: 1, column: 1 }, 'model names must be unique across folders; rename one of the files'));
      continue;
    }
    const draft: ModelDraft = { file: f, name, props: modelProps.get(name), calls: emptyCalls(), sql: '', failed: false };
    drafts.set(name, draft);
    const cached = opts.cache?.get(f.path);
    const sameFile = sameStamp(cached, f);
    draft.checksum = sameFile ? cached!.stamp!.checksum : sha(f.text);
    const key = sha(globalKey + draft.checksum);
    if (cached && cached.key === key && !cached.calls.volatile && Object.entries(cached.calls.envUsed).every(([k, v]) => envStamp(k, opts.env[k]) === v)) {
      cacheHits++;
      if (!sameFile) cached.stamp = keptStamp(f, draft.checksum, now);
      draft.calls = cached.calls;
      draft.sql = cached.sql;
      draft.sqlIncremental = cached.sqlIncremental;
      // the cached SQL holds placeholders for its secrets: reveal() needs their values
      for (const k of Object.keys(cached.calls.envUsed)) {
        const v = opts.env[k];
        if (v !== undefined && isSecret(k, v)) registerCompiledSecret(k, v);
      }
      if (cached.error) {
        draft.failed = true;
        ds.push(diag('E_TEMPLATE', cached.error.message, { file: cached.error.file ?? f.path, line: cached.error.line, column: cached.error.column }));
      }
      continue;
    }
    const entry: CachedRender = { key, sql: '', calls: draft.calls, stamp: keptStamp(f, draft.checksum, now) };
    const t = tenv.compileTemplate(f.path, f.text);
    let err: TemplateError | undefined;
    if (isTemplateError(t)) err = t;
    else {
      const tmpl = t;
      const modelCtx = { name, path: f.path };
      const out = tenv.render(tmpl, f.text, draft.calls, false, modelCtx);
      if (typeof out === 'string') {
        draft.sql = out;
        const mat = draft.calls.config.materialized ?? draft.props?.p.config?.materialized ?? folderConfigs(f.path).reduce<string | undefined>((m, l) => l.config.materialized ?? m, undefined) ?? files.project.defaults?.materialized;
        if (mat === 'incremental') {
          const incCalls = emptyCalls();
          const inc = tenv.render(tmpl, f.text, incCalls, true, modelCtx);
          if (typeof inc === 'string') draft.sqlIncremental = inc;
          else err = inc;
          addVarsUsed(draft.calls, incCalls);
        }
      } else err = out;
    }
    if (err) {
      draft.failed = true;
      ds.push(diag('E_TEMPLATE', err.message, { file: err.file ?? f.path, line: err.line, column: err.column }));
    }
    draft.calls.macros = macrosIn(f.text);
    entry.sql = draft.sql;
    entry.sqlIncremental = draft.sqlIncremental;
    entry.error = err;
    opts.cache?.set(f.path, entry);
  }
  for (const [name, p] of modelProps) {
    if (!drafts.has(name)) {
      const hint = didYouMean(name, drafts.keys());
      // an error, not a warning: its tests and docs would be dropped without a word
      ds.push(diag('E_PROPS', `properties for model '${name}' but there is no models/**/${name}.sql${hint ? ` — did you mean '${hint}'?` : ''}`, { file: p.file, ...p.src.locate([...p.path, 'name']) }, hint ? undefined : 'its tests and descriptions would apply to nothing: fix the name or remove the entry'));
    }
  }

  // ---- configs and relations
  const defaults = files.project.defaults ?? {};
  const modelUid = (n: string) => `model.${projectName}.${n}`;
  const configChecks = new Map<string, ReturnType<typeof ModelConfigSchema.safeParse>>();
  for (const d of drafts.values()) {
    for (const p of d.calls.problems) ds.push(diag(p.code, p.message, { file: d.file.path, ...locate(d.file.text, p.find) }, p.hint));
    const inline = d.calls.config;
    const bad = Object.keys(inline).filter((k) => !MODEL_CONFIG_KEYS.includes(k));
    for (const k of bad) {
      // `pre-hook='...'`: Jinja reads `pre - hook`, no name (nunjucks gave the key 'undefined')
      const dashed = k === 'undefined' ? /\b([A-Za-z_]\w*(?:-[A-Za-z_]\w*)+)\s*=(?!=)/.exec(d.file.text) : null;
      if (dashed) {
        ds.push(diag('E_CONFIG', `config key '${dashed[1]}' is not a name (Jinja reads it as a subtraction): write ${dashed[1].replace(/-/g, '_')}=`, { file: d.file.path, ...lineColAt(d.file.text, dashed.index) }));
        continue;
      }
      const hint = didYouMean(k, MODEL_CONFIG_KEYS);
      ds.push(diag('E_CONFIG', `unknown config key '${k}'`, { file: d.file.path, ...locate(d.file.text, new RegExp(`\\b${k}\\s*=`)) }, hint ? `did you mean '${hint}'?` : `known keys: ${MODEL_CONFIG_KEYS.join(', ')}`));
    }
    const known = Object.fromEntries(Object.entries(inline).filter(([k]) => MODEL_CONFIG_KEYS.includes(k)));
    // many models share one config() call; validate each distinct one once
    const configKey = JSON.stringify(known);
    let r = configChecks.get(configKey);
    if (!r) configChecks.set(configKey, (r = ModelConfigSchema.safeParse(known)));
    if (!r.success) {
      for (const p of explainIssues(ModelConfigSchema, known, r.error.issues)) {
        const k = String(p.path[0] ?? '');
        ds.push(diag('E_CONFIG', `config ${showPath(p.path)}: ${p.message}`, { file: d.file.path, ...locate(d.file.text, new RegExp(`\\b${k}\\s*=`)) }));
      }
    }
    // precedence: defaults < folders (outer to inner) < properties YAML < config()
    const folder = folderConfigs(d.file.path);
    const merged: ModelConfig = { ...defaults, ...Object.assign({}, ...folder.map((l) => l.config)), ...(d.props?.p.config ?? {}), ...(r.success ? r.data : {}) };
    // unique_key none (dbt's None, `var('uk', none)`): no key — as if not set, and over the key an
    // outer level sets, as dbt's config() clobbers it
    if (merged.unique_key === null) delete merged.unique_key;
    // meta merges across the levels, key by key (as dbt merges it); the nearer level wins a key
    const metas = [defaults.meta, ...folder.map((l) => l.config.meta), d.props?.meta, r.success ? r.data.meta : undefined].filter((m) => m !== undefined);
    if (metas.length) merged.meta = Object.assign({}, ...metas);
    // grants: the nearest level's select replaces what the outer ones grant; a level's +select
    // (dbt's +) adds to it (docs/governance.md#grants)
    let granted: string[] | undefined;
    for (const g of [defaults.grants, ...folder.map((l) => l.config.grants), d.props?.p.config?.grants, r.success ? r.data.grants : undefined]) {
      if (g) granted = g['+select'] ? [...new Set([...(granted ?? []), ...g['+select']])] : g.select;
    }
    const grants: { grants?: { select: string[] } } = granted ? { grants: { select: granted } } : {};
    const tags = [...new Set([...asArray(defaults.tags), ...folder.flatMap((l) => asArray(l.config.tags)), ...asArray(d.props?.p.config?.tags), ...(d.props?.p.tags ?? []), ...asArray(r.success ? r.data.tags : undefined)])];
    // hooks add up (as in dbt): the project's defaults run first, then the folders', the properties', then config()'s
    const hookSources = (kind: 'pre_hook' | 'post_hook'): HookSource[] => {
      const out: HookSource[] = [];
      const fromYaml = (v: HookValue | HookValue[] | undefined, src: YamlSource, path: (string | number)[], file: string) =>
        asArray(v).forEach((h, i) => {
          const where = Array.isArray(v) ? [...path, i] : path;
          // (a mapping's template is its sql:, located there)
          out.push({ ...hookOf(h), file, at: src.locate(typeof h === 'string' ? where : [...where, 'sql']) });
        });
      fromYaml(defaults[kind], files.projectYaml, ['defaults', kind], 'project.yaml');
      for (const l of folder) fromYaml(l.config[kind], files.projectYaml, ['models', ...l.path, `+${kind}`], 'project.yaml');
      if (d.props) fromYaml(d.props.p.config?.[kind], d.props.src, [...d.props.path, 'config', kind], d.props.file);
      if (r.success && r.data[kind] !== undefined) {
        // each where its config() call writes it: the n-th `post_hook=` for the n-th call giving one
        const written = [...d.file.text.matchAll(new RegExp(`\\b${kind}\\s*=`, 'g'))];
        asArray(r.data[kind]).forEach((h, i) => {
          const m = written[d.calls.hookCalls?.[kind]?.[i] ?? 0] ?? written[0];
          out.push({ ...hookOf(h), file: d.file.path, at: m ? lineColAt(d.file.text, m.index!) : { line: 1, column: 1 } });
        });
      }
      return out;
    };
    d.hooks = { pre_hook: hookSources('pre_hook'), post_hook: hookSources('post_hook') };
    // an ephemeral model is never built: the project's and folders' hooks pass it by, as in dbt
    // (its own, in config() or its YAML, are an error below)
    if (merged.materialized === 'ephemeral') for (const k of ['pre_hook', 'post_hook'] as const) d.hooks[k] = d.hooks[k].filter((h) => h.file !== PROJECT_FILE);
    // where the value of a config key that wins is written: config(), else properties YAML, else
    // the innermost folder of project.yaml, else its defaults (the model's file when none says it)
    const parsed = r.success ? r.data : undefined;
    if (parsed && RELATION_CONFIGS.some((k) => parsed[k as keyof ModelConfig] !== undefined)) {
      const written = Object.entries(configArgsAsWritten(d.file.text, RELATION_CONFIGS)).filter(([k]) => parsed[k as keyof ModelConfig] !== undefined);
      if (written.length) d.relationWritten = Object.fromEntries(written);
    }
    d.configAt = (key: keyof ModelConfig) => {
      if (parsed?.[key] !== undefined) return { file: d.file.path, ...locate(d.file.text, new RegExp(`\\b${key}\\s*=`)) };
      if (d.props?.p.config?.[key] !== undefined) return { file: d.props.file, ...d.props.src.locate([...d.props.path, 'config', key]) };
      const level = [...folder].reverse().find((l) => l.config[key] !== undefined);
      if (level) return { file: PROJECT_FILE, ...files.projectYaml.locate(['models', ...level.path, `+${key}`]) };
      if (defaults[key] !== undefined) return { file: PROJECT_FILE, ...files.projectYaml.locate(['defaults', key]) };
      return { file: d.file.path, line: 1, column: 1 };
    };
    if (merged.retention) d.retentionAt = d.configAt('retention');
    // (a hook in the transaction as its statement, one outside it as dbt's mapping)
    const hookConfig = Object.fromEntries((['pre_hook', 'post_hook'] as const).filter((k) => d.hooks![k].length).map((k) => [k, d.hooks![k].map((h) => (h.transaction === false ? { sql: h.sql, transaction: false } : h.sql))]));
    d.config = { ...merged, grants: undefined, ...grants, ...hookConfig, materialized: merged.materialized ?? 'view', tags };
    if (d.config.materialized === 'ephemeral' && (d.hooks.pre_hook.length || d.hooks.post_hook.length)) {
      const h = [...d.hooks.pre_hook, ...d.hooks.post_hook][0];
      ds.push(diag('E_CONFIG', `model '${d.name}' is ephemeral (inlined where it is used, never built): its hooks would never run`, { file: h.file, ...h.at }, 'materialize it as a view or table, or move the hooks to a model that is built'));
    }
    if (d.config.materialized === 'incremental' && d.sqlIncremental === undefined && !d.failed) {
      // materialized came from somewhere the first render could not see: render again
      const t = tenv.compileTemplate(d.file.path, d.file.text);
      if (!isTemplateError(t)) {
        const incCalls = emptyCalls();
        const inc = tenv.render(t, d.file.text, incCalls, true, { name: d.name, path: d.file.path });
        if (typeof inc === 'string') {
          d.sqlIncremental = inc;
          addVarsUsed(d.calls, incCalls);
          const entry = opts.cache?.get(d.file.path);
          if (entry) entry.sqlIncremental = inc;
        }
      }
    }
    // governance: principals as this warehouse spells them (docs/governance.md#grants), wherever they are written
    if (dialect.principalProblem) {
      const check = (g: ModelConfig | undefined, at: (sub: (string | number)[]) => { file: string; line?: number; column?: number }) => {
        const lists: Array<[string[] | undefined, (string | number)[]]> = [
          [g?.grants?.select, ['grants', 'select']],
          [g?.grants?.['+select'], ['grants', '+select']],
          [g?.restricted?.grants?.select, ['restricted', 'grants', 'select']],
        ];
        for (const [list, path] of lists)
          (list ?? []).forEach((p, i) => {
            const why = dialect.principalProblem!(p);
            if (why) ds.push(diag('E_GRANTS', `${path.join('.')}: ${why}`, at([...path, i]), `target '${safeTarget.name}' is ${dialect.name}; a project built on several warehouses can choose its principals in config(): grants={'select': [...] if target.type == '${dialect.name}' else [...]}`));
          });
      };
      check(defaults, (sub) => ({ file: 'project.yaml', ...files.projectYaml.locate(['defaults', ...sub]) }));
      for (const l of folder) check(l.config, (sub) => ({ file: 'project.yaml', ...files.projectYaml.locate(['models', ...l.path, `+${String(sub[0])}`, ...sub.slice(1)]) }));
      if (d.props) {
        const pr = d.props;
        check(pr.p.config, (sub) => ({ file: pr.file, ...pr.src.locate([...pr.path, 'config', ...sub]) }));
      }
      if (r.success) check(r.data, (sub) => ({ file: d.file.path, ...locate(d.file.text, new RegExp(`\\b${String(sub[0])}\\s*=`)) }));
    }
    // a masked view granted where a view's readers also need what it reads (BigQuery): its grantees
    // read nothing through it, or, granted those tables, read the columns it masks
    const grantees = d.config.grants?.select ?? [];
    if (dialect.viewReadersNeedInputs && d.config.materialized === 'view' && grantees.length && needsMasking(d.props?.p.columns ?? [])) {
      ds.push(
        diag(
          'W_GRANTS',
          `model '${d.name}' is a masked view granted to ${grantees.join(', ')}: on ${getWarehouse(dialect.name)?.bi.title ?? dialect.name} a view's readers also need read access to the tables it reads, unless the view is authorized in the datasets of those tables — without it they read nothing through it, and that access shows them the columns it masks`,
          d.configAt!('grants'),
          `materialize it as a table (materialized: table): its grantees then read the masked rows alone; or authorize the view in the datasets it reads (Vigil does not change dataset ACLs)`,
          'warn',
        ),
      );
    }
    if (d.config.restricted && d.config.materialized === 'ephemeral') {
      ds.push(diag('E_CONFIG', `model '${d.name}' is ephemeral: it has no relation, so no restricted companion`, { file: d.file.path, line: 1, column: 1 }, 'materialize it as a view or table'));
    }
    // an ephemeral model publishes nothing: a policy there masks nothing (its readers publish the column)
    if (d.config.materialized === 'ephemeral' && d.props) {
      const pr = d.props;
      (pr.p.columns ?? []).forEach((c, ci) => {
        if (c.policy) ds.push(diag('W_MASKING', `column '${c.name}' of model '${d.name}': policy: ${c.policy} masks nothing here — model '${d.name}' is ephemeral: it has no relation of its own, its SQL is inlined into the models that read it (the column is taken as PII)`, { file: pr.file, ...pr.src.locate([...pr.path, 'columns', ci, 'policy']) }, `write meta: { pii: true } instead (the PII check follows it into the models that read it) and give the policy to the model column that publishes it`, 'warn'));
      });
    }
    // a warehouse's limits on descriptions (BigQuery: a table's or view's 16,384 characters, a
    // column's 1,024): a longer one failed the build's script after its CREATE OR REPLACE had
    // replaced the table
    const limits = warehouse?.limits;
    if (limits && d.config.materialized !== 'ephemeral') {
      const title = warehouse!.bi.title;
      const chars = (t: string) => [...t].length;
      const description = d.props?.p.description ?? d.config.description;
      if (limits.tableDescription !== undefined && typeof description === 'string' && chars(description) > limits.tableDescription) {
        const where = d.props?.p.description !== undefined ? { file: d.props.file, ...d.props.src.locate([...d.props.path, 'description']) } : d.configAt!('description');
        ds.push(diag('E_CONFIG', `model '${d.name}': its description has ${chars(description).toLocaleString('en-US')} characters; ${title} takes at most ${limits.tableDescription.toLocaleString('en-US')} in a table's or view's description`, where, 'shorten it'));
      }
      const pr = d.props;
      const most = limits.columnDescription;
      if (most !== undefined)
        (pr?.p.columns ?? []).forEach((c, ci) => {
          if (typeof c.description === 'string' && chars(c.description) > most)
            ds.push(diag('E_CONFIG', `column '${c.name}' of model '${d.name}': its description has ${chars(c.description).toLocaleString('en-US')} characters; ${title} takes at most ${most.toLocaleString('en-US')} in a column's description`, { file: pr!.file, ...pr!.src.locate([...pr!.path, 'columns', ci, 'description']) }, `shorten it${limits.tableDescription !== undefined ? ` (the model's own description takes up to ${limits.tableDescription.toLocaleString('en-US')})` : ''}`));
        });
    }
    // a warehouse's limit on labels (BigQuery: 64 on a table or view): the target's, the model's
    // and those Vigil adds (tool=vigil; an incremental table's vigil_masking) on one table; a
    // table with more was refused by BigQuery at the build
    const labels = (d.config as { labels?: Record<string, string> }).labels;
    if (limits?.labels !== undefined && labels && d.config.materialized !== 'ephemeral') {
      const own = ['tool', ...(d.config.materialized === 'incremental' ? ['vigil_masking'] : [])];
      const all = new Set([...Object.keys((target?.config.labels as Record<string, string> | undefined) ?? {}), ...Object.keys(labels), ...own]);
      if (all.size > limits.labels)
        ds.push(diag('E_CONFIG', `model '${d.name}': its ${d.config.materialized === 'view' ? 'view' : 'table'} would carry ${all.size} labels (the target's, the model's, and ${own.join(' and ')}, which Vigil adds); ${warehouse!.bi.title} takes at most ${limits.labels} on one`, d.configAt!('labels' as keyof ModelConfig), `keep at most ${limits.labels - (all.size - Object.keys(labels).length)} of the model's own labels`));
    }
    // docs/governance.md#masking: with masking.require_policy, every PII column says how it is published
    // (an ephemeral model publishes nothing: its readers' columns do)
    if (files.project.masking?.require_policy && d.props && d.config.materialized !== 'ephemeral') {
      const pr = d.props;
      (pr.p.columns ?? []).forEach((c, ci) => {
        if (!c.policy && isPii(c)) {
          ds.push(diag('E_MASKING', `column '${c.name}' of model '${d.name}' is PII (${policyReason(c)}) and has no policy, which masking.require_policy requires`, { file: pr.file, ...pr.src.locate([...pr.path, 'columns', ci, 'name']) }, `give it one: policy: mask | hash | redact | drop`));
        }
      });
    }
    // set on the model itself (config() or its YAML) of one that is not incremental: harmless, but
    // usually a mistake; a folder's (or defaults:) reaches every kind, and dbt ignores it there silently
    if (d.config.unique_key !== undefined && d.config.materialized !== 'incremental' && d.configAt!('unique_key').file !== PROJECT_FILE) {
      ds.push(diag('W_CONFIG', `unique_key is set but the model is materialized as ${d.config.materialized}; it only applies to incremental models`, d.configAt!('unique_key'), undefined, 'warn'));
    }
    // incremental-only keys set on the model itself (config() or its YAML: a folder's reaches every
    // kind) of one that is not incremental: harmless, but usually a mistake, as unique_key
    if (d.config.materialized !== 'incremental') {
      for (const k of ['incremental_strategy', 'on_schema_change', 'full_refresh'] as const) {
        if (d.config[k] !== undefined && d.configAt!(k).file !== PROJECT_FILE) ds.push(diag('W_CONFIG', `${k} is set but model '${d.name}' is materialized as ${d.config.materialized}; it only applies to incremental models`, d.configAt!(k), undefined, 'warn'));
      }
    }
    // grants on an ephemeral model would never be applied: it has no relation (hooks there are an error too)
    if (d.config.materialized === 'ephemeral' && d.config.grants && d.configAt!('grants').file !== PROJECT_FILE) {
      ds.push(diag('E_CONFIG', `model '${d.name}' is ephemeral (inlined where it is used, never built): its grants would never be applied`, d.configAt!('grants'), 'materialize it as a view or table, or remove grants'));
    }
    if (d.config.materialized === 'incremental' && d.config.incremental_strategy === 'append' && d.config.unique_key !== undefined) {
      ds.push(diag('W_CONFIG', `model '${d.name}': unique_key has no effect with incremental_strategy 'append' (every run inserts its rows; a key already there is inserted again)`, d.configAt!('unique_key'), "use incremental_strategy='merge' (or leave it out) for one row per key", 'warn'));
    }
    // a key written as an SQL expression, as dbt takes one (`id || '-' || day`, 'id, day'): each run
    // compares the key's columns (was: compiled, the first build made the table and failed, and
    // every incremental run after it failed on a column of that name)
    const keyExpression = d.config.materialized === 'incremental' && d.config.incremental_strategy !== 'append' && d.config.incremental_strategy !== 'insert_overwrite' ? uniqueKeyExpression(d.config.unique_key) : undefined;
    if (keyExpression) ds.push(diag('E_CONFIG', `model '${d.name}': unique_key ${keyExpression}`, d.configAt!('unique_key')));
    // insert_overwrite replaces whole partitions (replaceBy): the key is not used, as in dbt-bigquery
    if (d.config.materialized === 'incremental' && d.config.incremental_strategy === 'insert_overwrite' && d.config.unique_key !== undefined) {
      ds.push(diag('W_CONFIG', `model '${d.name}': unique_key has no effect with incremental_strategy 'insert_overwrite' (every run replaces whole partitions, the ones its new rows are in, whatever their keys; the key is not used, as in dbt-bigquery)`, d.configAt!('unique_key'), "remove unique_key, or use incremental_strategy='merge' to replace rows by their key", 'warn'));
    }
    // BigQuery's table options: on a view, or without partitioning, they would be dropped (or refused by BigQuery)
    const cfg = d.config as Record<string, unknown>;
    const at = (k: string) => d.configAt!(k as keyof ModelConfig);
    // (set on the model itself, in config() or its YAML: a folder's or the defaults' setting
    // reaches views too, which take no table options, as in dbt)
    const tableOnly = ['partition_by', 'cluster_by', 'require_partition_filter', 'partition_expiration_days'].filter((k) => cfg[k] !== undefined && cfg[k] !== false && at(k).file !== PROJECT_FILE);
    if (d.config.materialized === 'view' || d.config.materialized === 'ephemeral') {
      for (const k of tableOnly) ds.push(diag('E_CONFIG', `model '${d.name}' is ${d.config.materialized === 'view' ? 'a view' : 'ephemeral'}: ${k} applies to tables only (it would be ignored)`, at(k), 'materialize it as a table or incremental, or remove the key'));
      // an ephemeral model builds nothing to label (BigQuery labels its tables and views)
      if (d.config.materialized === 'ephemeral' && cfg.labels !== undefined && at('labels').file !== PROJECT_FILE) ds.push(diag('E_CONFIG', `model '${d.name}' is ephemeral (inlined where it is used, never built): labels applies to tables and views only (it would be ignored)`, at('labels'), 'materialize it as a view or table, or remove the key'));
    } else {
      for (const k of tableOnly.filter((x) => x === 'require_partition_filter' || x === 'partition_expiration_days')) {
        if (!partitionField(d.config.partition_by)) ds.push(diag('E_CONFIG', `model '${d.name}': ${k} applies to a partitioned table; set partition_by`, at(k), "partition_by={'field': 'day', 'data_type': 'date'}"));
        // BigQuery expires partitions by their time: an integer-range partition has none
        else if (k === 'partition_expiration_days' && isIntegerPartition(d.config.partition_by))
          ds.push(diag('E_CONFIG', `model '${d.name}': partition_expiration_days applies to a table partitioned by time (a DATE, TIMESTAMP or DATETIME column, or ingestion time); partition_by here is an integer range, whose partitions have no time to expire by (BigQuery documents partition expiration for time-unit and ingestion-time partitioning only)`, at(k), 'remove partition_expiration_days, or delete old rows with a retention config (' + docRef('governance.md#retention') + ')'));
      }
      // BigQuery drops a partition that many days after its start: rows a retention config keeps
      // longer would go before their keep, by no plan and into no log (was: both taken, silently;
      // set on the model, a folder or the defaults). The keep as retention counts it (its years on
      // the calendar: 7y is up to 2,557 days), and the partition's last row is its length younger
      // than its start (was: 7y against 2,555 days, and a partition's own length not counted)
      const expires = cfg.partition_expiration_days;
      const granularity = partitionSpec(d.config.partition_by)?.granularity ?? 'day';
      const partitionDays = { hour: 1 / 24, day: 1, month: 31, year: 366 }[granularity];
      const keep = d.config.retention?.keep ?? '';
      const keepDays = longestDurationMs(keep) / 86_400_000;
      if (d.config.retention && typeof expires === 'number' && partitionField(d.config.partition_by) && !isIntegerPartition(d.config.partition_by) && expires < keepDays + partitionDays)
        ds.push(diag('E_RETENTION', `model '${d.name}': partition_expiration_days ${expires} is shorter than its retention keep ${keep}${keepDays * 86_400_000 > durationMs(keep) ? ` (up to ${keepDays.toLocaleString('en-US')} days on the calendar)` : ''} and one ${granularity} partition${partitionDays > 1 ? ` (${partitionDays} days)` : ''}: BigQuery drops each partition ${expires} days after its start, deleting rows retention keeps, with no plan and no line in vigil_retention_log`, at('partition_expiration_days'), `remove partition_expiration_days (vigil retention apply deletes what is past ${keep}), or set it to at least ${Math.ceil(keepDays + partitionDays).toLocaleString('en-US')}: the keep in days plus one partition`));
    }
    // integer-range partitions: BigQuery takes a range whose end (exclusive) is past its start, cut
    // into at most 10,000 partitions (its limit on a partitioned table); a range bucket of no width
    // partitions nothing on DuckDB and Postgres either
    const range = d.config.materialized !== 'view' && d.config.materialized !== 'ephemeral' ? partitionSpec(d.config.partition_by)?.range : undefined;
    if (range) {
      const { start, end, interval } = range;
      // (a dict's interval is refused by its schema; a text one, range_bucket(x, generate_array(0, 100, 0)), here:
      // it partitioned by the column's values on DuckDB and Postgres, and BigQuery refuses a step of 0)
      if (interval <= 0) ds.push(diag('E_CONFIG', `model '${d.name}': partition_by's range has the interval ${interval}: an integer range is cut into buckets of a width above 0, as BigQuery requires`, at('partition_by'), 'give an interval of 1 or more'));
      else if (end <= start) ds.push(diag('E_CONFIG', `model '${d.name}': partition_by's range ends at ${end}, not after its start ${start}: an integer range runs from start (inclusive) to end (exclusive), as BigQuery requires`, at('partition_by'), 'set end past start (swap them if they are reversed)'));
      else {
        const most = warehouse?.limits?.partitions;
        if (most !== undefined && Math.ceil((end - start) / interval) > most)
          ds.push(diag('E_CONFIG', `model '${d.name}': partition_by's range {start: ${start}, end: ${end}, interval: ${interval}} makes ${Math.ceil((end - start) / interval)} partitions; ${warehouse!.bi.title} takes at most ${most.toLocaleString('en-US')} in a table`, at('partition_by'), `widen the interval to at least ${Math.ceil((end - start) / most)}, or narrow the range`));
      }
    }
    const strategies = warehouse?.incrementalStrategies;
    if (d.config.materialized === 'incremental' && d.config.incremental_strategy && strategies && !strategies.includes(d.config.incremental_strategy)) {
      ds.push(diag('E_CONFIG', `model '${d.name}': incremental_strategy '${d.config.incremental_strategy}' is not one target '${safeTarget.name}' (${target!.type}) runs: ${strategies.join(', ')}`, d.configAt!('incremental_strategy'), `a project built on several warehouses can choose per target: incremental_strategy=('merge' if target.type == '${target!.type}' else '${d.config.incremental_strategy}')`));
    }
    // without it the first run builds the table and every incremental run after it fails
    if (d.config.materialized === 'incremental' && d.config.incremental_strategy === 'insert_overwrite' && !partitionField(d.config.partition_by)) {
      ds.push(diag('E_CONFIG', `model '${d.name}': incremental_strategy 'insert_overwrite' replaces the partitions the new rows touch, so it needs partition_by${d.config.partition_by === undefined ? '' : ' naming a column'}`, d.configAt!('incremental_strategy'), "set partition_by='<column>', or use incremental_strategy='merge' with a unique_key"));
    }
  }
  const relations = new Map<string, Relation>();
  const relationOf = (d: ModelDraft): Relation | null => {
    if (d.config!.materialized === 'ephemeral') return null;
    let rel = relations.get(d.name);
    if (!rel) {
      const node = namingNode('model', d.name, d.file.path, d.config! as Record<string, unknown>, d.config!.tags ?? []);
      const schema = naming.schema(d.config!.schema, node, defaultSchema, () => d.configAt!('schema'));
      const identifier = naming.alias(d.config!.alias, node, () => d.configAt!('alias'));
      relations.set(d.name, (rel = inTarget(schema, identifier)));
    }
    return rel;
  };

  // ---- seeds: CSVs under seeds/, tables ref() reads (loaded by `vigil seed` / `vigil build`)
  const seedUid = (n: string) => `seed.${projectName}.${n}`;
  const seedNodes = new Map<string, SeedNode>();
  // a hash of the content (a fresh checkout's new mtimes are not a change), kept in the render
  // cache with the file's stamp, as models' are: an unchanged CSV is not read on every compile
  const seedChecksum = (f: RawFile): string => {
    const cached = opts.cache?.get(f.path);
    if (sameStamp(cached, f)) return cached!.stamp!.checksum;
    const checksum = sha(f.text);
    const stamp = keptStamp(f, checksum, now);
    if (stamp) opts.cache?.set(f.path, { key: 'seed', sql: '', calls: emptyCalls(), stamp });
    else opts.cache?.delete(f.path);
    return checksum;
  };
  for (const f of files.seeds ?? []) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1).replace(/\.csv$/i, '');
    const where = { file: f.path, line: 1, column: 1 };
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      ds.push(diag('E_SEED', `seed file name '${name}' is not an identifier: ref('${name}') could not name it`, where, 'rename the file (letters, digits, _)'));
      continue;
    }
    const other = seedNodes.get(name);
    if (other) {
      ds.push(diag('E_DUPLICATE', `two seeds are named '${name}': ${other.file} and ${f.path}`, where, 'seed names must be unique across folders; rename one of the files'));
      continue;
    }
    const model = drafts.get(name);
    if (model) {
      ds.push(diag('E_DUPLICATE', `'${name}' is both a seed (${f.path}) and a model (${model.file.path}): ref('${name}') would be ambiguous`, where, 'rename one of them'));
      continue;
    }
    const props = seedProps.get(name);
    const cfg = { ...props?.p.config, ...(props?.meta ? { meta: props.meta } : {}) };
    const tags = [...new Set([...asArray(cfg.tags)])];
    if (props && cfg.column_types && Object.keys(cfg.column_types).length) {
      // column_types against the CSV's header, reported where they are written
      for (const p of checkColumnTypes(readHeader(join(files.root, f.path), cfg.delimiter), cfg)) {
        const loc = props.src.locate([...props.path, 'config', 'column_types', p.column]);
        ds.push(diag('E_SEED', `seed '${name}': ${p.message}`, { file: props.file, ...loc }, p.hint));
      }
    }
    // and its columns: (names, data_type against column_types), each at its line
    if (props?.p.columns?.length) {
      for (const p of checkSeedColumns(readHeader(join(files.root, f.path), cfg.delimiter), cfg, props.p.columns)) {
        ds.push(diag('E_SEED', `seed '${name}': ${p.message}`, { file: props.file, ...props.src.locate([...props.path, 'columns', p.index, p.key]) }, p.hint));
      }
    }
    // a column name longer than the warehouse keeps (Postgres: 63 bytes) is cut by it: every load
    // took the table's columns for changed (dropping the views that read it), and two names alike
    // in their first bytes failed the load ("specified more than once")
    if (dialect.maxIdentifierBytes) {
      const max = dialect.maxIdentifierBytes;
      const head = readHeaderAt(join(files.root, f.path), cfg.delimiter);
      head?.header.forEach((h, i) => {
        const col = seedColumnName(h, cfg);
        const bytes = Buffer.byteLength(col);
        if (bytes > max) ds.push(diag('E_SEED', `seed '${name}': column name '${col.length > 40 ? `${col.slice(0, 40)}...` : col}' is ${bytes} bytes long; ${dialect.name} keeps ${max} bytes of a name (it would cut it)`, { file: f.path, line: head.line, column: i + 1 }, `rename it in the CSV's header (at most ${max} bytes)`));
      });
    }
    // more columns than a table of the warehouse holds: the load failed after other seeds were loaded
    if (dialect.maxTableColumns) {
      const head = readHeaderAt(join(files.root, f.path), cfg.delimiter);
      if (head && head.header.length > dialect.maxTableColumns) ds.push(diag('E_SEED', `seed '${name}': ${head.header.length} columns; a ${dialect.name} table holds at most ${dialect.maxTableColumns}`, { file: f.path, line: head.line }, 'split it into seeds of fewer columns (a model can join them), or load it on another target'));
    }
    seedNodes.set(name, {
      unique_id: seedUid(name),
      resource_type: 'seed',
      name,
      fqn: fqnOf('seed', f.path, name),
      file: f.path,
      properties_file: props?.file,
      checksum: seedChecksum(f),
      config: { ...cfg, tags },
      tags,
      description: props?.p.description,
      columns: (props?.p.columns ?? []).map((c) => ({ name: c.name, description: c.description, data_type: c.data_type, ...(c.meta ? { meta: c.meta } : {}), ...(c.tags?.length ? { tags: c.tags } : {}), ...(c.policy ? { policy: c.policy } : {}), ...(c.quote !== undefined ? { quote: c.quote } : {}) })),
      depends_on: [],
      relation: (() => {
        const node = namingNode('seed', name, f.path, { ...cfg, tags }, tags);
        return inTarget(naming.schema(cfg.schema, node, defaultSchema, () => where), naming.alias(cfg.alias, node, () => where));
      })(),
      compiled_path: f.path,
    });
  }
  for (const [name, p] of seedProps) {
    if (!seedNodes.has(name) && !(files.seeds ?? []).some((f) => f.path.replace(/^.*\//, '').replace(/\.csv$/i, '') === name)) {
      const hint = didYouMean(name, seedNodes.keys());
      ds.push(diag('E_PROPS', `properties for seed '${name}' but there is no ${files.paths.seeds}/**/${name}.csv${hint ? ` — did you mean '${hint}'?` : ''}`, { file: p.file, ...p.src.locate([...p.path, 'name']) }, hint ? undefined : 'its tests and descriptions would apply to nothing: fix the name or remove the entry'));
    }
  }
  /** the nodes enabled: false leaves out, by unique id: a selector naming one says so */
  const disabled: NonNullable<Manifest['disabled']> = {};
  // disabled seeds: not loaded; a ref() to one says so (as to a disabled model)
  const disabledSeeds = new Map<string, string>();
  for (const n of [...seedNodes.values()]) {
    if (n.config.enabled !== false) continue;
    seedNodes.delete(n.name);
    disabledSeeds.set(n.name, n.file);
    disabled[n.unique_id] = { resource_type: 'seed', name: n.name, file: n.file, fqn: n.fqn };
  }

  // ---- snapshots: {% snapshot name %} select ... {% endsnapshot %} in snapshots/**.sql
  const snapUid = (n: string) => `snapshot.${projectName}.${n}`;
  const snapDrafts = new Map<string, { name: string; file: RawFile; line: number; sql: string; calls: RenderCalls; config?: SnapshotConfig & { tags: string[] }; relationWritten?: Record<string, string>; relationAt?: { line: number; column: number } }>();
  for (const f of files.snapshots ?? []) {
    const re = /\{%-?\s*snapshot\s+([A-Za-z_]\w*)\s*-?%\}([\s\S]*?)\{%-?\s*endsnapshot\s*-?%\}/g;
    let m: RegExpExecArray | null;
    let found = 0;
    while ((m = re.exec(f.text))) {
      found++;
      const name = m[1];
      const at = lineColAt(f.text, m.index);
      const bodyAt = lineColAt(f.text, m.index + m[0].indexOf('%}') + 2);
      if (drafts.has(name) || seedNodes.has(name) || snapDrafts.has(name)) {
        ds.push(diag('E_DUPLICATE', `snapshot '${name}': a model, seed or snapshot has that name already: ref('${name}') would be ambiguous`, { file: f.path, ...at }, 'rename one of them'));
        continue;
      }
      // the body renders as a model does, with the lines before it kept so positions stay right
      const body = '\n'.repeat(bodyAt.line - 1) + ' '.repeat(bodyAt.column - 1) + m[2];
      const t = tenv.compileTemplate(f.path, body);
      const calls = emptyCalls();
      const out = isTemplateError(t) ? t : tenv.render(t, body, calls, false, { name, path: f.path });
      if (typeof out !== 'string') {
        ds.push(diag('E_TEMPLATE', out.message, { file: out.file ?? f.path, line: out.line, column: out.column }));
        continue;
      }
      const where = { file: f.path, ...at };
      const bad = Object.keys(calls.config).filter((k) => !SNAPSHOT_CONFIG_KEYS.includes(k));
      for (const k of bad) {
        const hint = didYouMean(k, SNAPSHOT_CONFIG_KEYS);
        // (in this block's text: the same key in an earlier block of the file is not this one)
        ds.push(diag('E_CONFIG', `snapshot '${name}': ${UNSUPPORTED_SNAPSHOT_KEYS[k] ? `config key '${k}' is ${UNSUPPORTED_SNAPSHOT_KEYS[k]}` : `unknown config key '${k}'`}`, { file: f.path, ...locate(body, new RegExp(`\\b${escapeRe(k)}\\s*=`)) }, UNSUPPORTED_SNAPSHOT_KEYS[k] ? undefined : hint ? `did you mean '${hint}'?` : `snapshot keys: ${SNAPSHOT_CONFIG_KEYS.join(', ')}`));
      }
      if (bad.length) continue;
      const r = SnapshotConfigSchema.safeParse(calls.config);
      if (!r.success) {
        for (const p of snapshotConfigProblems(calls.config, r.error.issues)) {
          const loc = p.key && p.key in calls.config ? locate(body, new RegExp(`\\b${escapeRe(p.key)}\\s*=`)) : at;
          ds.push(diag('E_CONFIG', `snapshot '${name}': ${p.message}`, { file: f.path, ...loc }, p.key === 'unique_key' ? "config(unique_key='id', strategy='timestamp', updated_at='updated_at')" : p.hint));
        }
        continue;
      }
      if (r.data.enabled === false) {
        disabled[snapUid(name)] = { resource_type: 'snapshot', name, file: f.path, fqn: snapFqn(f.path, name) };
        continue;
      }
      const written = Object.entries(configArgsAsWritten(body, RELATION_CONFIGS)).filter(([k]) => calls.config[k] !== undefined);
      snapDrafts.set(name, { name, file: f, line: where.line, sql: out, calls, config: { ...snapshotRunConfig(r.data), tags: asArray(r.data.tags) }, ...(written.length ? { relationWritten: Object.fromEntries(written) } : {}) });
    }
    if (!found) ds.push(diag('E_SNAPSHOT', `${f.path} holds no {% snapshot name %} ... {% endsnapshot %} block`, { file: f.path, line: 1, column: 1 }, 'a snapshot file wraps its SELECT in {% snapshot name %} ... {% endsnapshot %}'));
  }
  // dbt 1.9's YAML snapshots: `relation:` is what is selected, `config:` as config() would set it;
  // an entry without `relation:` describes the {% snapshot %} block of its name (description,
  // columns and their tests), as dbt's properties of a SQL snapshot
  const snapProps = new Map<string, { p: SnapshotProps; src: YamlSource; path: (string | number)[]; file: string; meta?: Record<string, unknown> }>();
  for (const pf of files.properties) {
    (pf.data.snapshots ?? []).forEach((p, i) => {
      const at = pf.yaml.locate(['snapshots', i, 'name']);
      const where = { file: pf.path, ...at };
      storedPolicy(`snapshot '${p.name}'`, p.columns, pf.yaml, ['snapshots', i], pf.path);
      const prev = snapProps.get(p.name);
      if (prev) {
        ds.push(diag('E_DUPLICATE', `snapshot '${p.name}' is described twice (also in ${prev.file}:${prev.src.locate(prev.path).line})`, where, 'keep one entry per snapshot'));
        return;
      }
      declaredColumns(`snapshot '${p.name}'`, p.columns, pf.yaml, ['snapshots', i], pf.path);
      longColumns(`snapshot '${p.name}'`, p.columns, pf.yaml, ['snapshots', i], pf.path);
      oneTestList(`snapshot '${p.name}'`, p, pf.yaml, ['snapshots', i], pf.path);
      if (p.relation === undefined) {
        if (!snapDrafts.has(p.name)) {
          const hint = didYouMean(p.name, [...snapDrafts.keys()]);
          ds.push(diag('E_SNAPSHOT', `snapshot '${p.name}': no {% snapshot ${p.name} %} block${hint ? ` — did you mean '${hint}'?` : ''}, and no relation: to select from`, where, `describe a snapshot block of that name, or give relation: ref('model') or source('src', 'table') to define one`));
          return;
        }
        if (p.config) {
          ds.push(diag('E_CONFIG', `snapshot '${p.name}': config: in YAML goes with relation: (a YAML snapshot); a {% snapshot %} block sets its config in its config() call`, { file: pf.path, ...pf.yaml.locate(['snapshots', i, 'config'], true) }, `move these keys into the block's config(...)`));
          return;
        }
        snapProps.set(p.name, { p, src: pf.yaml, path: ['snapshots', i], file: pf.path, meta: p.meta });
        return;
      }
      const meta = propsMeta(`snapshot '${p.name}'`, p, pf.yaml, ['snapshots', i], pf.path);
      snapProps.set(p.name, { p, src: pf.yaml, path: ['snapshots', i], file: pf.path, meta });
      if (drafts.has(p.name) || seedNodes.has(p.name) || snapDrafts.has(p.name)) {
        ds.push(diag('E_DUPLICATE', `snapshot '${p.name}': a model, seed or snapshot has that name already: ref('${p.name}') would be ambiguous`, where, 'rename one of them'));
        return;
      }
      if (!/^\s*(ref\(\s*['"][^'"]+['"]\s*\)|source\(\s*['"][^'"]+['"]\s*,\s*['"][^'"]+['"]\s*\))\s*$/.test(p.relation)) {
        ds.push(diag('E_SNAPSHOT', `snapshot '${p.name}': relation must be ref('model') or source('src', 'table'), got '${p.relation}'`, { file: pf.path, ...pf.yaml.locate(['snapshots', i, 'relation']) }));
        return;
      }
      const body = `select * from {{ ${p.relation.trim()} }}`;
      const calls = emptyCalls();
      const t = tenv.compileTemplate(pf.path, body);
      const out = isTemplateError(t) ? t : tenv.render(t, body, calls, false, { name: p.name, path: pf.path });
      if (typeof out !== 'string') {
        ds.push(diag('E_TEMPLATE', out.message, { file: pf.path, ...pf.yaml.locate(['snapshots', i, 'relation']) }));
        return;
      }
      const cfg = p.config ?? {};
      const bad = Object.keys(cfg).filter((k) => !SNAPSHOT_CONFIG_KEYS.includes(k));
      for (const k of bad) {
        const hint = didYouMean(k, SNAPSHOT_CONFIG_KEYS);
        ds.push(diag('E_CONFIG', `snapshot '${p.name}': ${UNSUPPORTED_SNAPSHOT_KEYS[k] ? `config key '${k}' is ${UNSUPPORTED_SNAPSHOT_KEYS[k]}` : `unknown config key '${k}'`}`, { file: pf.path, ...pf.yaml.locate(['snapshots', i, 'config', k], true) }, UNSUPPORTED_SNAPSHOT_KEYS[k] ? undefined : hint ? `did you mean '${hint}'?` : `snapshot keys: ${SNAPSHOT_CONFIG_KEYS.join(', ')}`));
      }
      if (bad.length) return;
      const r = SnapshotConfigSchema.safeParse(cfg);
      if (!r.success) {
        for (const q of snapshotConfigProblems(cfg, r.error.issues)) {
          const loc = q.key && q.key in cfg ? pf.yaml.locate(['snapshots', i, 'config', q.key]) : pf.yaml.locate(['snapshots', i]);
          ds.push(diag('E_CONFIG', `snapshot '${p.name}': ${q.message}`, { file: pf.path, ...loc }, q.hint));
        }
        return;
      }
      if (r.data.enabled === false) {
        disabled[snapUid(p.name)] = { resource_type: 'snapshot', name: p.name, file: pf.path, fqn: fqnOf('snapshot', pf.path, p.name) };
        return;
      }
      // (its ref() or source() is said at its relation: in the YAML, not in the SELECT made of it)
      snapDrafts.set(p.name, { name: p.name, file: { path: pf.path, text: body }, line: at.line, sql: out, calls, config: { ...snapshotRunConfig(r.data), ...(meta ? { meta } : {}), tags: asArray(r.data.tags) }, relationAt: pf.yaml.locate(['snapshots', i, 'relation']) });
    });
  }
  // ---- built-in sources: the tables Vigil itself writes (the alert history), where a model, a
  // snapshot or an alert query reads them (from the render calls: no file is read again)
  // (declared without a target too, in its default schema: the compile fails on the target, and a
  // model reading source('vigil', ...) is no second error)
  if (![...sources.values()].some((x) => x.source_name === BUILTIN_SOURCE)) {
    // (each table that is read: a project reading the alert history gets no retention log; a
    // name that is none of them gets them all, for its did-you-mean)
    const reads = new Set([...drafts.values(), ...snapDrafts.values()].flatMap((d) => d.calls.sources.filter(([src]) => src === BUILTIN_SOURCE).map(([, t]) => t)));
    for (const q of opts.queries ?? []) {
      const named = [...q.text.matchAll(BUILTIN_SOURCE_RE)].map((m) => m[1]);
      // (a table name that is not a literal: all of them)
      for (const t of named.length || !BUILTIN_READ_RE.test(q.text) ? named : ['']) reads.add(t);
    }
    const builtins = builtinSources(projectName, target?.schema ?? 'analytics', target?.database);
    const unknown = [...reads].some((t) => !builtins.some((b) => b.name === t));
    for (const b of builtins) if (unknown || reads.has(b.name)) sources.set(b.unique_id, b);
  }
  // (the legacy target_schema is the schema as written, as in dbt: no generate_schema_name)
  const snapRelation = (d: { name: string; file: RawFile; line?: number; config?: SnapshotConfig }): Relation => {
    const node = namingNode('snapshot', d.name, d.file.path, (d.config ?? {}) as Record<string, unknown>, asArray(d.config?.tags));
    const at = () => ({ file: d.file.path, line: d.line });
    const schema = d.config?.target_schema ?? naming.schema(d.config?.schema, node, defaultSchema, at);
    return inTarget(schema, naming.alias(d.config?.alias, node, at));
  };
  /** what ref() reads besides models: seeds and snapshots */
  const refTables = new Map<string, { unique_id: string; relation: Relation }>([...seedNodes.values()].map((n) => [n.name, { unique_id: n.unique_id, relation: n.relation }]));
  for (const d of snapDrafts.values()) refTables.set(d.name, { unique_id: snapUid(d.name), relation: snapRelation(d) });
  /** ref() of a model that is disabled, from `d` (a model or a snapshot): its table, if any, is stale (dbt: an error too) */
  /** What a ref() to a disabled model or seed reads: nothing builds or loads it */
  const disabledNode = (r: string) => (disabledSeeds.has(r) && !drafts.has(r) ? `seed '${r}' (${disabledSeeds.get(r)}) is disabled (enabled: false), so nothing loads it` : `model '${r}' is disabled (enabled=false), so nothing builds it`);
  /** Why a test that reads a disabled model or seed is disabled with it (manifest.disabled) */
  const readsDisabled = (r: string) => `it reads ${disabledSeeds.has(r) && !drafts.has(r) ? 'seed' : 'model'} '${r}', which is disabled`;
  const disabledRef = (r: string, d: { name: string; file: RawFile }) =>
    diag('E_REF', `ref('${r}'): ${disabledNode(r)}`, { file: d.file.path, ...locate(d.file.text, callFinder('ref', r)) }, `enable '${r}', or remove the ref() from '${d.name}'`);
  /** What ref() can name, for a did-you-mean: not the node asking (its own name is never the fix) */
  const refNames = (self?: string) => [...drafts.keys(), ...refTables.keys()].filter((n) => n !== self);
  const relKey = (r: Relation) => `${r.database ?? ''}.${r.schema}.${r.identifier}`.toLowerCase();
  const seedByRelation = new Map([...seedNodes.values()].map((n) => [relKey(n.relation), n]));
  /** The seed that loads a source's table (the same relation), if any: what reads the source waits for it. */
  const seedFilling = (src: { relation: Parameters<typeof relKey>[0] }) => seedByRelation.get(relKey(src.relation));

  // ---- dependencies and placeholder resolution
  const deps = new Map<string, string[]>();
  // where model A calls ref('B'), located only when a cycle needs it (locating reads the file)
  const refLoc = new Map<string, () => { file: string; line?: number; column?: number }>();
  for (const d of drafts.values()) {
    const uid = modelUid(d.name);
    const ps: string[] = [];
    for (const r of new Set(d.calls.refs)) {
      if (r === d.name) {
        ds.push(diag('E_REF', `model '${d.name}' refers to itself with ref('${r}')`, { file: d.file.path, ...locate(d.file.text, callFinder('ref', r)) }, 'use {{ this }} to refer to the model being built (e.g. in is_incremental() filters)'));
        continue;
      }
      if (drafts.get(r)?.config?.enabled === false && d.config?.enabled !== false) {
        // (dbt: "depends on a node named 'r' which is disabled"): its table, if any, is stale
        ds.push(disabledRef(r, d));
        continue;
      }
      if (drafts.has(r)) {
        ps.push(modelUid(r));
        refLoc.set(`${uid}>${modelUid(r)}`, () => ({ file: d.file.path, ...locate(d.file.text, callFinder('ref', r)) }));
      } else if (refTables.has(r)) ps.push(refTables.get(r)!.unique_id);
      else if (disabledSeeds.has(r)) {
        if (d.config?.enabled !== false) ds.push(disabledRef(r, d));
      } else {
        const hint = didYouMean(r, refNames(d.name));
        ds.push(diag('E_REF', `ref('${r}') not found${hint ? ` — did you mean '${hint}'?` : ''}`, { file: d.file.path, ...locate(d.file.text, callFinder('ref', r)) }, hint ? undefined : `no model or seed is named '${r}'; models live in ${files.paths.models}/**/*.sql, seeds in ${files.paths.seeds}/**/*.csv`));
      }
    }
    for (const [s, t] of d.calls.sources) {
      const sid = `source.${projectName}.${s}.${t}`;
      const src = sources.get(sid);
      if (src) {
        ps.push(sid);
        // a source that a seed fills (same table) waits for the seed
        const seed = seedFilling(src);
        if (seed) ps.push(seed.unique_id);
      } else {
        const u = unknownSource(s, t, sources, d.file, unvalidated);
        if (u) ds.push(u);
      }
    }
    deps.set(uid, [...new Set(ps)]);
  }

  const graph = buildGraph(deps);
  for (const cyc of findCycles(graph)) {
    const names = cyc.map((u) => u.slice(u.lastIndexOf('.') + 1));
    const loc = refLoc.get(`${cyc[0]}>${cyc[1]}`)?.() ?? { file: drafts.get(names[0])?.file.path };
    ds.push(diag('E_CYCLE', `dependency cycle: ${names.join(' -> ')}`, loc, 'remove one of these ref() calls, or move the shared logic into a new upstream model'));
  }
  const modelOrder = topoSort(graph);

  // --empty: a model's refs and sources read no rows, and so does the model's own query (an aggregate
  // without group by makes a row of no input), so every model is built with its columns and no data
  const emptied = (rel: string, empty: boolean) => (empty ? `(select * from ${rel} where 1 = 0)` : rel);
  // (opened on the query's first line: the compiled SQL keeps the template's line numbers)
  const emptiedQuery = (sql: string) => (opts.empty ? `select * from (${sql}\n) as __vigil_empty where 1 = 0` : sql);
  const thisRefused = new Set<string>();
  const resolve = (sql: string, self: ModelDraft | undefined, empty = false): string =>
    sql.replace(PLACEHOLDER_RE, (_m, kind: string, arg: string) => {
      if (kind === 'this') {
        const rel = self && relationOf(self);
        if (!rel && self?.config?.materialized === 'ephemeral') {
          // an ephemeral model is a CTE: `this` is the CTE's name (as dbt renders it); it has no schema
          const cte = ephemeralCte(dialect, self.name);
          if (arg === 'identifier' || arg === 'name') return cte;
          if (arg && !thisRefused.has(self.name)) {
            thisRefused.add(self.name);
            ds.push(diag('E_TEMPLATE', `this.${arg} of the ephemeral model '${self.name}': an ephemeral model is a CTE, which has no ${arg}`, { file: self.file.path, ...locate(self.file.text, new RegExp(`\\bthis\\.${arg}\\b`)) }, 'materialize it as a view or a table, or use this (the CTE) or this.name'));
          }
          return arg ? '' : dialect.quoteIdent(cte);
        }
        if (!rel) return '__this__';
        // this.schema, this.identifier / this.name, this.database: the parts, unquoted (as in dbt)
        if (arg === 'schema') return rel.schema;
        if (arg === 'identifier' || arg === 'name') return rel.identifier;
        if (arg === 'database') return rel.database ?? target?.catalog ?? '';
        return dialect.relation(rel);
      }
      if (kind === 'ref') {
        const d = drafts.get(arg);
        const table = d ? undefined : refTables.get(arg);
        if (table) return emptied(dialect.relation(table.relation), empty);
        if (!d || !d.config) return `__missing_ref_${arg}__`;
        const rel = relationOf(d);
        return rel ? emptied(dialect.relation(rel), empty) : dialect.quoteIdent(ephemeralCte(dialect, d.name));
      }
      const s = sources.get(`source.${projectName}.${arg}`);
      return s ? emptied(dialect.relation(s.relation), empty) : `__missing_source_${arg}__`;
    });

  // ephemeral parents (transitively), in dependency order, become CTEs wrapped around the model
  const ephemeralChain = (d: Pick<ModelDraft, 'calls'>): ModelDraft[] => {
    const out: ModelDraft[] = [];
    const seen = new Set<string>();
    const visit = (x: Pick<ModelDraft, 'calls'>) => {
      for (const r of new Set(x.calls.refs)) {
        const p = drafts.get(r);
        if (!p || p === x || seen.has(p.name) || p.config?.materialized !== 'ephemeral') continue;
        seen.add(p.name);
        visit(p);
        out.push(p);
      }
    };
    visit(d);
    return out;
  };
  /** `empty`: --empty's reads of nothing in the ephemerals' refs and sources (a model's; a snapshot reads whole). */
  const withEphemerals = (d: Pick<ModelDraft, 'calls'>, body: string, empty = !!opts.empty): string => {
    const chain = ephemeralChain(d);
    if (!chain.length) return body;
    const ctes = chain.map((e) => `${dialect.quoteIdent(ephemeralCte(dialect, e.name))} as (\n${strip(resolve(e.sql, e, empty))}\n)`).join(',\n');
    return `with ${ctes}\nselect * from (\n${strip(body)}\n) as __vigil_model`;
  };
  /**
   * A test's SQL over ephemeral models (dbt tests them as it inlines them into children): each
   * model and the ephemerals it reads as CTEs, in dependency order, the test as the last select.
   */
  const withEphemeralSubjects = (subjects: ModelDraft[], sql: string): string => {
    const chain: ModelDraft[] = [];
    for (const d of subjects) for (const e of [...ephemeralChain(d), d]) if (!chain.includes(e)) chain.push(e);
    const ctes = chain.map((e) => `${dialect.quoteIdent(ephemeralCte(dialect, e.name))} as (\n${strip(resolve(e.sql, e, !!opts.empty))}\n)`).join(',\n');
    return `with ${ctes}\nselect * from (\n${strip(sql)}\n) as __vigil_test`;
  };

  const manifest = emptyManifest();
  manifest.sources = Object.fromEntries(sources);
  // each macro with the hash of its text, for state:modified.macros
  if (macroNames.length) manifest.macros = Object.fromEntries(macroNames.sort().map((n) => [n, sha(macroHashText.get(n) ?? files.macros.find((m) => m.path === macroOwner.get(n))!.text)]));
  // ... and with the hash of its file, as a state of layout 1 kept them (compared with one)
  if (macroNames.length) manifest.macro_files = Object.fromEntries(macroNames.map((n) => [n, sha(files.macros.find((m) => m.path === macroOwner.get(n))!.text)]));
  const targetDir = files.paths.target;
  const modelNode = (d: ModelDraft & { config: ModelNode['config'] }): ModelNode => {
    const uid = modelUid(d.name);
    const columns: ColumnInfo[] = (d.props?.p.columns ?? []).map((c) => ({ name: c.name, description: c.description, data_type: c.data_type, ...(c.meta ? { meta: c.meta } : {}), ...(c.tags?.length ? { tags: c.tags } : {}), ...(c.policy ? { policy: c.policy } : {}), ...(c.quote !== undefined ? { quote: c.quote } : {}) }));
    const body = strip(resolve(d.sql, d, !!opts.empty));
    namesOnceCut(`model '${d.name}'`, d.file, d.sqlIncremental !== undefined ? [body, strip(resolve(d.sqlIncremental, d, !!opts.empty))] : [body]);
    const inner = emptiedQuery(withEphemerals(d, body));
    // masking (compile/masking.ts): the published relation is the model's SELECT through its policies
    const masked = d.config.materialized !== 'ephemeral' && needsMasking(columns);
    const node: ModelNode = {
      unique_id: uid,
      resource_type: 'model',
      name: d.name,
      fqn: fqnOf('model', d.file.path, d.name),
      file: d.file.path,
      properties_file: d.props?.file,
      checksum: d.checksum ?? sha(d.file.text),
      config: d.config,
      tags: d.config.tags,
      description: d.props?.p.description ?? d.config.description,
      columns,
      depends_on: deps.get(uid) ?? [],
      ...(d.calls.macros?.length ? { depends_on_macros: macroClosure(d.calls.macros) } : {}),
      ...varsOf(d.calls),
      relation: relationOf(d),
      ...(d.relationWritten ? { unrendered_config: d.relationWritten } : {}),
      compiled_sql: masked ? maskedSelect(columns, inner, dialect) : inner,
      compiled_path: `${targetDir}/compiled/${projectName}/${d.file.path}`,
    };
    // the model's own SQL starts below the CTEs of its ephemeral parents (and the mask's first line)
    // (--empty's wrapper adds a line after it all)
    const before = inner.split('\n').length - body.split('\n').length - (opts.empty ? 1 : 0) + (masked ? 1 : 0);
    if (before > 0) node.compiled_body_line = before;
    if (masked) node.unmasked_sql = inner;
    const written = Object.keys(d.config).filter((k) => k !== 'tags' && k !== 'pre_hook' && k !== 'post_hook' && d.config[k as keyof ModelConfig] !== undefined);
    // asked for by vigil check only: found when first read (it reads the model's file: ~14 ms a
    // warm compile of 1,000 models), and kept out of manifest.json (not enumerable)
    if (written.length && d.configAt) {
      const at = d.configAt;
      let found: Record<string, WrittenAt> | undefined;
      Object.defineProperty(node, 'config_at', { enumerable: false, configurable: true, get: () => (found ??= Object.fromEntries(written.map((k) => [k, at(k as keyof ModelConfig)]))) });
    }
    if (d.retentionAt && d.config.retention) {
      node.retention_at = d.retentionAt;
      const at = () => d.retentionAt!;
      ds.push(...retentionProblems(d.config.retention, columns, at, `model '${d.name}'`));
      // a table is rebuilt whole by every build: the rows retention deletes would come back
      if (d.config.materialized !== 'incremental')
        ds.push(diag('E_RETENTION', `model '${d.name}' has retention but is materialized as ${d.config.materialized}: ${d.config.materialized === 'table' ? 'every build rebuilds it whole from its query, so deleted rows would come back on the next build' : 'there are no rows of its own to delete'}`, at(), d.config.materialized === 'table' ? "materialize it as incremental, or filter its query by the same window" : 'retention goes on incremental models and on source tables'));
      // so is an incremental model with full_refresh: true (at that config's line)
      else if (d.config.full_refresh === true)
        ds.push(diag('E_RETENTION', `model '${d.name}' has retention but full_refresh: true: every build rebuilds it whole from its query, so deleted rows would come back on the next build`, d.configAt?.('full_refresh') ?? at(), 'remove full_refresh: true, or filter its query by the same window'));
    }
    if (d.sqlIncremental !== undefined) {
      const inc = emptiedQuery(withEphemerals(d, strip(resolve(d.sqlIncremental, d, !!opts.empty))));
      node.compiled_sql_incremental = masked ? maskedSelect(columns, inc, dialect) : inc;
      // `<model>@incremental.sql`: a model's name holds no @, so no model's compiled file is at this path
      node.compiled_path_incremental = node.compiled_path.replace(SQL_FILE, '') + '@incremental.sql';
    }
    if (d.config.restricted && node.relation) {
      node.restricted = { relation: { ...node.relation, identifier: `${node.relation.identifier}__restricted` }, compiled_sql: inner, grants: d.config.restricted.grants?.select ?? [] };
    }
    return node;
  };
  for (const d of drafts.values()) {
    if (d.config?.enabled === false) disabled[modelUid(d.name)] = { resource_type: 'model', name: d.name, file: d.file.path, fqn: fqnOf('model', d.file.path, d.name) };
    if (!d.config || d.config.enabled === false) continue;
    const uid = modelUid(d.name);
    const node = modelNode(d as ModelDraft & { config: ModelNode['config'] });
    markVolatile(node, d.calls);
    manifest.nodes[uid] = node;
    // a view keeps its SQL in the warehouse, readable by whoever can read the view's definition;
    // so does the restricted companion, a view of the model's unmasked SQL
    const isView = node.config.materialized === 'view';
    if (isView || node.restricted) {
      for (const name of secretNames(isView ? node.compiled_sql : node.restricted!.compiled_sql)) {
        const where = [d, ...ephemeralChain(d)].find((x) => callFinder('env_var', name).test(x.file.text)) ?? d;
        const at = { file: where.file.path, ...locate(where.file.text, callFinder('env_var', name)) };
        // (a variable secret by its name alone, EXAM_PASS_MARK or PASS_RATE, may hold no secret: the way out is said)
        const byName = isSecretName(name) && !name.toUpperCase().startsWith(SECRET_PREFIX) ? `; ${name} is a secret by its name (docs/models.md#secrets): if it holds none, rename it` : '';
        if (isView) ds.push(diag('E_SECRET', `model '${d.name}' is a view and reads the secret ${name}: the warehouse would store its value in the view's definition`, at, `materialize '${d.name}' as a table (its SQL runs, its text is not kept), or read ${name} in a hook${byName}`));
        else ds.push(diag('E_SECRET', `model '${d.name}' has a restricted companion (${node.restricted!.relation.identifier}, a view of its SQL) and reads the secret ${name}: the warehouse would store its value in the view's definition`, at, `read ${name} in a hook, or take restricted: out of the config of '${d.name}'${byName}`));
      }
    }
  }

  for (const n of seedNodes.values()) manifest.nodes[n.unique_id] = n;
  for (const d of snapDrafts.values()) {
    const depends: string[] = [];
    let ok = true;
    for (const r of new Set(d.calls.refs)) {
      if (drafts.get(r)?.config?.enabled === false) {
        ok = false;
        const e = disabledRef(r, d);
        ds.push(d.relationAt ? { ...e, ...d.relationAt } : e);
      } else if (drafts.has(r)) depends.push(modelUid(r));
      else if (refTables.has(r) && r !== d.name) depends.push(refTables.get(r)!.unique_id);
      else {
        ok = false;
        const hint = didYouMean(r, refNames(d.name));
        ds.push(diag('E_REF', `ref('${r}') not found${hint ? ` — did you mean '${hint}'?` : ''}`, { file: d.file.path, ...(d.relationAt ?? locate(d.file.text, callFinder('ref', r))) }));
      }
    }
    for (const [src, tb] of d.calls.sources) {
      const sid = `source.${projectName}.${src}.${tb}`;
      if (sources.has(sid)) {
        depends.push(sid);
        // a source that a seed fills waits for the seed, as for a model
        const seed = seedFilling(sources.get(sid)!);
        if (seed) depends.push(seed.unique_id);
      } else {
        ok = false;
        const u = unknownSource(src, tb, sources, d.file, unvalidated);
        if (u) ds.push(d.relationAt ? { ...u, ...d.relationAt } : u);
      }
    }
    if (!ok) continue;
    const uid = snapUid(d.name);
    const props = snapProps.get(d.name);
    manifest.nodes[uid] = {
      unique_id: uid,
      resource_type: 'snapshot',
      name: d.name,
      fqn: snapFqn(d.file.path, d.name),
      file: d.file.path,
      line: d.line,
      ...(props ? { properties_file: props.file } : {}),
      checksum: sha(d.file.text),
      // a block's properties meta under its config() meta, key by key (as a model's levels merge)
      config: props?.meta && props.p.relation === undefined ? { ...d.config!, meta: { ...props.meta, ...d.config!.meta } } : d.config!,
      tags: d.config!.tags,
      ...(props?.p.description ? { description: props.p.description } : {}),
      // (a policy here masks nothing — warned — but marks the column PII, as on a seed or source)
      columns: (props?.p.columns ?? []).map((c) => ({ name: c.name, description: c.description, data_type: c.data_type, ...(c.meta ? { meta: c.meta } : {}), ...(c.tags?.length ? { tags: c.tags } : {}), ...(c.policy ? { policy: c.policy } : {}), ...(c.quote !== undefined ? { quote: c.quote } : {}) })),
      depends_on: [...new Set(depends)],
      ...macroDeps(d.file.text),
      ...varsOf(d.calls),
      relation: snapRelation(d),
      ...(d.relationWritten ? { unrendered_config: d.relationWritten } : {}),
      // the ephemeral models it reads inlined as CTEs, as a model's (dbt inlines them into snapshots too)
      compiled_sql: withEphemerals(d, strip(resolve(d.sql, undefined)).replace(/^\s+/, ''), false),
      compiled_path: `${targetDir}/compiled/${projectName}/${d.file.path.replace(SQL_FILE, '')}/${d.name}.sql`,
    };
    markVolatile(manifest.nodes[uid], d.calls);
  }

  // ---- one relation, one writer: two nodes that would build the same table (an alias or a
  // schema pointing at another node's) would overwrite each other's data, the one built last
  // winning (dbt: "two resources with identical database representations"). A model over a
  // source's table is an error where something else fills that table (vigil sync, a seed), a
  // warning otherwise (a source may read what a model builds). A seed and the source it fills
  // share a table on purpose.
  {
    const writers = new Map<string, { what: string; file: string; source?: boolean; filled?: boolean; synced?: boolean }>();
    // a source's relation names no database where the target gives the nodes' (BigQuery's project)
    const tableKey = (r: Relation) => relKey({ ...r, database: r.database ?? target?.database });
    for (const src of sources.values()) {
      const key = tableKey(src.relation);
      const other = writers.get(key);
      const what = `source '${src.source_name}.${src.name}'`;
      // two streams of vigil sync into one copy (two sources landing in one schema): each one's
      // batches replaced the other's rows by key, and a --full-refresh of one emptied the other's
      // (was: both OK, the copy holding a mix); sources that only read a table may share it
      // a copy named as the sync's own tables in its schema: its columns were added to the
      // state table and every batch failed on the state's NOT NULL stream (exit 1, each run)
      if (src.sync && [STATE_TABLE, REFILL_TABLE].includes(src.relation.identifier.toLowerCase())) {
        ds.push(diag('E_NAME', `${what}: a synced table named '${src.relation.identifier}' would be copied into ${dialect.relation(src.relation)}, the table vigil sync keeps the streams' ${src.relation.identifier.toLowerCase() === STATE_TABLE ? 'state' : 'refills'} in`, { file: src.file, line: src.line }, 'sync a view of another name in the source (create view ... as select * from ...)'));
        continue;
      }
      if (src.sync && other?.synced) {
        ds.push(diag('E_DUPLICATE', `${what} and ${other.what} (${other.file}) are synced into the same table, ${dialect.relation(src.relation)}: each stream's batches would replace the other's rows by key, and a --full-refresh of one empty the other's`, { file: src.file, line: src.line }, "land one of them in another schema (its source's schema:)"));
        continue;
      }
      if (!other?.synced) writers.set(key, { what, file: src.file, source: true, filled: !!src.sync || !!seedFilling(src), synced: !!src.sync });
    }
    // (the file's text is read only to place an error: a cached compile reads no unchanged file)
    const claim = (rel: Relation | null | undefined, what: string, file: string, text: () => string | undefined, kind: string) => {
      if (!rel) return;
      const key = tableKey(rel);
      const other = writers.get(key);
      if (other && !(kind === 'seed' && other.source)) {
        const t = text();
        const at = t ? locate(t, /\b(alias|schema|target_schema)\s*=/) : {};
        const where = { file, ...(at.line ? at : { line: 1, column: 1 }) };
        if (other.source && !other.filled) ds.push(diag('W_RELATION', `${what} builds the table ${other.what} (${other.file}) reads, ${dialect.relation(rel)}: if a loader fills that table, building the model replaces its data`, where, 'if the source is meant to read the model, use ref() instead', 'warn'));
        else ds.push(diag('E_DUPLICATE', `${what} and ${other.what} (${other.file}) are the same table, ${dialect.relation(rel)}: building one would overwrite ${other.source ? 'what fills the other' : 'the other'}`, where, 'give one of them another alias (or schema)'));
        return;
      }
      if (!other || kind !== 'seed') writers.set(key, { what, file });
    };
    // a node at its own name's table first: the error goes to the one an alias or schema moved
    const moved = (n: { config: object }) => ['alias', 'schema', 'target_schema'].some((k) => (n.config as Record<string, unknown>)[k] !== undefined);
    const built = Object.values(manifest.nodes).flatMap((n) => (n.resource_type === 'model' || n.resource_type === 'seed' || n.resource_type === 'snapshot' ? [n] : []));
    for (const n of built.sort((a, b) => Number(moved(a)) - Number(moved(b)))) {
      const text = () => (n.resource_type === 'model' ? drafts.get(n.name)?.file.text : n.resource_type === 'snapshot' ? snapDrafts.get(n.name)?.file.text : undefined);
      claim(n.relation, `${n.resource_type} '${n.name}'`, n.file, text, n.resource_type);
      if (n.resource_type === 'model' && n.restricted) claim(n.restricted.relation, `the restricted companion of model '${n.name}'`, n.file, text, 'model');
    }
    const whereIn = (n: (typeof built)[number], key: 'alias' | 'schema') =>
      n.resource_type === 'model' ? drafts.get(n.name)?.configAt?.(key) ?? { file: n.file, line: 1, column: 1 } : n.resource_type === 'snapshot' ? { file: n.file, line: snapDrafts.get(n.name)?.line ?? 1, column: 1 } : { file: n.file, line: 1, column: 1 };
    // a schema name the warehouse refuses (BigQuery: a dataset's): the build would fail on it
    const refuse = warehouse?.schemaNameProblem;
    const refused = new Set<string>();
    for (const n of refuse ? built : []) {
      const problem = n.relation && refuse!(n.relation.schema);
      if (!problem) continue;
      const at = whereIn(n, 'schema');
      // (a folder's schema in project.yaml: said once, at its line)
      const key = `${at.file}\u0000${at.line}\u0000${n.relation!.schema}`;
      if (refused.has(key)) continue;
      refused.add(key);
      ds.push(diag('E_NAME', `${n.resource_type} '${n.name}': ${problem}`, at, `give it another schema, e.g. '${n.relation!.schema.replace(/[^A-Za-z0-9_]+/g, '_')}'`));
    }
    // a table or view name the warehouse refuses (BigQuery: `orders.v2`, `orders$2`): the build would fail on it
    const refuseTable = warehouse?.tableNameProblem;
    for (const n of refuseTable ? built : []) {
      const problem = n.relation && refuseTable!(n.relation.identifier);
      if (problem) ds.push(diag('E_NAME', `${n.resource_type} '${n.name}': ${problem}`, whereIn(n, 'alias'), `give it another alias, e.g. '${n.relation!.identifier.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]+/gu, '_')}'`));
    }
    // a name with Vigil's scratch infix (scratchIdentifier: `<relation>__vigil_tmp` beside a
    // Postgres table build, `<relation>__vigil_columns_<hex>` of a snapshot's probe, on every
    // warehouse): building the other node dropped this one's table without a word
    for (const n of built) {
      const scratch = (rel: Relation | null | undefined, what: string) => {
        const m = rel && SCRATCH_INFIX.exec(rel.identifier);
        if (!m) return;
        const owner = rel.identifier.slice(0, m.index);
        ds.push(diag('E_NAME', `${what}: relation name '${rel.identifier}' has '${m[0]}' in it, which Vigil keeps for the scratch tables it makes and drops beside a relation (${owner ? `a build of '${owner}' would drop this table` : 'a build could drop this table'})`, whereIn(n, 'alias'), `give it a name (or alias) without '__vigil_'`));
      };
      scratch(n.relation, `${n.resource_type} '${n.name}'`);
      if (n.resource_type === 'model' && n.restricted) scratch(n.restricted.relation, `the restricted companion of model '${n.name}'`);
    }
    // a name longer than the warehouse keeps is cut by it (Postgres: 63 bytes): the build would
    // write over whatever has the cut name, its own table or another node's (dbt-postgres refuses
    // it too: "Relation name ... is longer than 63 characters")
    const max = dialect.maxIdentifierBytes;
    if (max) {
      for (const n of built) {
        const long = (rel: Relation | null | undefined, what: string) => {
          if (!rel) return;
          for (const [key, name] of [['schema', rel.schema], ['alias', rel.identifier]] as const) {
            const bytes = Buffer.byteLength(name);
            if (bytes <= max) continue;
            const kind = key === 'schema' ? 'schema' : 'relation';
            ds.push(diag('E_NAME', `${what}: ${kind} name '${name}' is ${bytes} bytes long; ${dialect.name} keeps ${max} bytes of a name (it would cut it, and the build would write over whatever has the cut name)`, whereIn(n, key), `give it a shorter ${key} (at most ${max} bytes)${what.startsWith('the restricted') ? `; the companion is named <relation>__restricted` : ''}`));
          }
        };
        long(n.relation, `${n.resource_type} '${n.name}'`);
        if (n.resource_type === 'model' && n.restricted) long(n.restricted.relation, `the restricted companion of model '${n.name}'`);
        // a column a config names (unique_key, partition_by, a snapshot's updated_at and
        // check_cols) longer than that: the built table has the cut name, so the first build
        // failed on it and every later one passed, Postgres cutting it in the DELETE too
        // (a model's unique_key and partition_by count where it is incremental: elsewhere they are ignored, with W_CONFIG)
        if (n.resource_type === 'seed' || (n.resource_type === 'model' && n.config.materialized !== 'incremental')) continue;
        const cfg = n.config as Record<string, unknown>;
        const named: Array<[keyof ModelConfig | 'updated_at' | 'check_cols', unknown]> = [['unique_key', cfg.unique_key], ['partition_by', partitionField(cfg.partition_by)], ['updated_at', cfg.updated_at], ['check_cols', cfg.check_cols === 'all' ? undefined : cfg.check_cols]];
        for (const [key, value] of named) {
          for (const col of (Array.isArray(value) ? value : [value]).filter((x): x is string => typeof x === 'string')) {
            const bytes = Buffer.byteLength(col);
            if (bytes <= max) continue;
            const at = n.resource_type === 'model' && key !== 'updated_at' && key !== 'check_cols' ? (drafts.get(n.name)?.configAt?.(key) ?? { file: n.file, line: 1, column: 1 }) : { file: n.file, line: snapDrafts.get(n.name)?.line ?? 1, column: 1 };
            ds.push(diag('E_CONFIG', `${n.resource_type} '${n.name}': ${key} names the column '${col.length > 40 ? `${col.slice(0, 40)}...` : col}', ${bytes} bytes long; ${dialect.name} keeps ${max} bytes of a name (it would cut it: the first build fails on it, later ones pass with the cut name)`, at, `name a column of at most ${max} bytes (alias it so in the model's SQL)`));
          }
        }
      }
    }
  }

  // ---- tests
  const testNames = new Set<string>();
  /** where each data test's name comes from (a singular test's file may not take a name twice) */
  const testFiles = new Map<string, string>();
  /** A test's name from what it is named after: letters, digits and _, at most 120 of them. */
  const testNameOf = (base: string) => base.replace(/[^A-Za-z0-9_]+/g, '_').slice(0, 120);
  /**
   * What identifies a generic test, as dbt's test_metadata does: the test, the node it is on, its
   * column and its arguments but its configs (severity, where, tags, `config:`; a `name:` is an
   * argument). Its canonical hash is the test's checksum, and the first GENERIC_TEST_HASH hex
   * digits of it end the test's unique_id (`test.<project>.<name>.<hash>`, as dbt's
   * `test.<project>.<name>.<md5 of name and test_metadata>`): an id no other test can take or
   * move, whatever the project holds besides and in whatever order its files are read.
   */
  const testDefinition = (g: GenericTestName, onUid: string, column: string | undefined, args: Record<string, unknown>, quote: boolean | undefined) => {
    // (dbt's fail_calc, warn_if, error_if, limit, store_failures, store_failures_as and schema are configs too)
    const { severity: _s, where: _w, tags: _t, config: _c, fail_calc: _fc, warn_if: _wi, error_if: _ei, limit: _l, store_failures: _sf, store_failures_as: _sfa, schema: _sc, ...definition } = args;
    // (a name or field written as a YAML number is its text: as addGeneric reads it)
    for (const k of ['name', 'field']) if (typeof definition[k] === 'number') definition[k] = String(definition[k]);
    return canonicalHash({ test: g, on: onUid, column: column ?? null, args: definition, ...(quote ? { quote: true } : {}) });
  };
  /**
   * Render templated SQL outside models (singular tests, alert queries, hooks, a data test's
   * arguments); diagnostics shifted by `at`. `self`: the model whose hook this is (`this` and
   * `model` are it); `configKeys`: what config() may set here (nothing, unless said); `part`:
   * what a piece of SQL placed into another statement is (ephemerals cannot be inlined there);
   * `offBy`: a test's, told of a ref() to a disabled model or seed (the test is disabled with it,
   * as in dbt) — elsewhere such a ref() is an error, as in a model (its relation would be stale).
   * `incremental`: a hook of an incremental model, rendered a second time with is_incremental()
   * true (`sqlIncremental`, when that renders other text): the run picks the one its build is.
   */
  const compileAdHoc = (file: string, text: string, at: { line: number; column: number; indent?: number } = { line: 1, column: 1 }, how: { self?: ModelDraft; hook?: boolean; incremental?: boolean; part?: string; configKeys?: readonly string[]; offBy?: (ref: string) => void } = {}) => {
    const part = how.hook ? 'a hook' : how.part;
    const shift = (l?: { line?: number; column?: number }) =>
      l?.line === undefined ? { line: at.line, column: at.column } : { line: l.line + at.line - 1, column: (l.column ?? 1) + (l.line === 1 ? at.column - 1 : (at.indent ?? 0)) };
    const t = tenv.compileTemplate(file, text);
    const calls = emptyCalls();
    const modelCtx = how.self ? { name: how.self.name, path: how.self.file.path } : undefined;
    const out: string | TemplateError = isTemplateError(t) ? t : tenv.render(t, text, calls, false, modelCtx);
    if (typeof out !== 'string') {
      ds.push(diag('E_TEMPLATE', out.message, { file, ...shift(out) }));
      return undefined;
    }
    let outIncremental: string | undefined;
    if (how.incremental && !isTemplateError(t)) {
      const inc = emptyCalls();
      const r = tenv.render(t, text, inc, true, modelCtx);
      if (typeof r !== 'string') {
        ds.push(diag('E_TEMPLATE', `${r.message} (rendered with is_incremental() true)`, { file, ...shift(r) }));
        return undefined;
      }
      if (r !== out) {
        outIncremental = r;
        // what only that branch reads is checked as the rest is
        calls.refs.push(...inc.refs);
        calls.sources.push(...inc.sources);
        Object.assign(calls.envUsed, inc.envUsed);
        addVarsUsed(calls, inc);
        calls.volatile ||= inc.volatile;
        for (const p of inc.problems) if (!calls.problems.some((q) => q.code === p.code && q.message === p.message)) calls.problems.push(p);
        for (const [k, v] of Object.entries(inc.config)) if (!(k in calls.config)) calls.config[k] = v;
      }
    }
    for (const p of calls.problems) ds.push(diag(p.code, p.message, { file, ...shift(locate(text, p.find)) }, p.hint));
    let ok = true;
    for (const k of Object.keys(calls.config)) {
      if (how.configKeys?.includes(k)) continue;
      ok = false;
      const hint = how.configKeys?.length ? didYouMean(k, how.configKeys) : undefined;
      ds.push(diag('E_CONFIG', how.configKeys?.length ? `unknown config key '${k}' in a test` : `config() has no effect here (only in models and singular tests)`, { file, ...shift(locate(text, new RegExp(`\\b${escapeRe(k)}\\s*=`))) }, hint ? `did you mean '${hint}'?` : how.configKeys?.length ? `known keys: ${how.configKeys.join(', ')}` : undefined));
    }
    if (!how.self && out.includes(`${PH_OPEN}this`)) {
      ok = false;
      ds.push(diag('E_TEMPLATE', '`this` is the model being built: it exists only in a model and its pre_hook/post_hook', { file, ...shift(locate(text, /\bthis\b/)) }, "name the relation with ref('model') or source('source', 'table')"));
    }
    const depends: string[] = [];
    for (const r of new Set(calls.refs)) {
      const target = drafts.get(r);
      if (target?.config?.enabled === false || (!target && disabledSeeds.has(r))) {
        ok = false;
        if (how.offBy) how.offBy(r);
        else ds.push(diag('E_REF', `ref('${r}'): ${disabledNode(r)}`, { file, ...shift(locate(text, callFinder('ref', r))) }, `enable '${r}', or remove the ref()`));
      } else if (target && part && target.config?.materialized === 'ephemeral') {
        ok = false;
        ds.push(diag('E_REF', `ref('${r}') in ${part}: '${r}' is ephemeral and has no relation a statement can use`, { file, ...shift(locate(text, callFinder('ref', r))) }, `materialize '${r}' as a view or table`));
      } else if (target) depends.push(modelUid(r));
      else if (refTables.has(r)) depends.push(refTables.get(r)!.unique_id);
      else {
        ok = false;
        const hint = didYouMean(r, refNames());
        ds.push(diag('E_REF', `ref('${r}') not found${hint ? ` — did you mean '${hint}'?` : ''}`, { file, ...shift(locate(text, callFinder('ref', r))) }));
      }
    }
    // the seeds that fill a source it reads (it waits for them, as a model does)
    const fills: string[] = [];
    for (const [s, tb] of calls.sources) {
      const sid = `source.${projectName}.${s}.${tb}`;
      if (sources.has(sid)) {
        depends.push(sid);
        const seed = seedFilling(sources.get(sid)!);
        if (seed) fills.push(seed.unique_id);
      } else {
        ok = false;
        const d = unknownSource(s, tb, sources, { path: file, text } as RawFile, unvalidated);
        if (d) ds.push({ ...d, ...shift(d) });
      }
    }
    if (!ok) return undefined;
    // (run order only — waits_for — unless it reads the seed by ref() too: not among `depends`,
    // which an alert's or a dashboard's query reads as its parents, and a test's argument adds up)
    const waits = [...new Set(fills)].filter((f) => !depends.includes(f));
    if (part) return { sql: strip(resolve(out, how.self)), ...(outIncremental === undefined ? {} : { sqlIncremental: strip(resolve(outIncremental, how.self)) }), depends, waits, calls };
    const fake: ModelDraft = { file: { path: file, text }, name: file, calls, sql: out, failed: false, config: { materialized: 'ephemeral', tags: [] } };
    return { sql: withEphemerals(fake, strip(resolve(out, undefined))), depends, waits, calls };
  };

  /**
   * A test's thresholds (as its node keeps them) and, when it stores its failures, the relation they
   * go to: dbt's `<target schema>_dbt_test__audit` (a `schema:` of its own: that schema as written,
   * as a model's; a project's generate_schema_name decides it, given `dbt_test__audit` or the
   * test's schema:), named after the test. A name longer than the warehouse keeps is refused: cut,
   * two tests alike in their first bytes would replace each other's failures.
   */
  const resultsOf = (name: string, rc: TestResultConfig, file: string, at: () => { file: string; line?: number; column?: number }): Partial<TestNode> | undefined => {
    const { schema, store_failures_as, ...rest } = rc;
    // (its schema: kept as written, a config as dbt's: config.schema:audit selects it, and a change of it is state:modified)
    const thresholds = { ...rest, ...(schema !== undefined ? { custom_schema: schema } : {}) };
    if (!store_failures_as) return thresholds;
    const max = dialect.maxIdentifierBytes;
    if (max && Buffer.byteLength(name) > max) {
      ds.push(diag('E_NAME', `store_failures: the test's failures would be stored in a table named after it, '${name}' (${Buffer.byteLength(name)} bytes), and ${dialect.name} keeps ${max} bytes of a name`, at(), `give the test a shorter name: (at most ${max} bytes)`));
      return undefined;
    }
    const node: NamingNode = { name, resource_type: 'test', unique_id: `test.${projectName}.${name}`, package_name: projectName, path: inFolder('test', file), original_file_path: file, fqn: fqnOf('test', file, name), tags: [], config: { ...(schema ? { schema } : {}), store_failures_as } };
    const auditSchema = macroOwner.get('generate_schema_name') && target ? naming.schema(schema ?? 'dbt_test__audit', node as NamingNode, defaultSchema, at) : (schema ?? `${defaultSchema}_dbt_test__audit`);
    // (and the schema's, as a model's: a target schema of 48 bytes made an audit schema Postgres cut
    // without a word, and the test's message named a schema that does not exist)
    if (max && Buffer.byteLength(auditSchema) > max) {
      ds.push(diag('E_NAME', `store_failures: the test's failures would be stored in the schema '${auditSchema}' (${Buffer.byteLength(auditSchema)} bytes), and ${dialect.name} keeps ${max} bytes of a name (it would cut it: the failures would be stored in another schema than the one named)`, at(), schema === undefined ? `give the test a schema: of at most ${max} bytes (or the target a shorter schema)` : `give the test a shorter schema: (at most ${max} bytes)`));
      return undefined;
    }
    return { ...thresholds, store_failures_as, audit_relation: inTarget(auditSchema, name) };
  };
  /** The name a generic test is given when it has no `name:`: the test, what it is on, its column (or columns). */
  const generatedBase = (g: GenericTestName, onName: string, column: string | undefined, args: Record<string, unknown>) =>
    [g, onName, column ?? (g === 'unique_combination_of_columns' ? (args.combination_of_columns as unknown[]).join('_') : '')].filter(Boolean).join('_');
  /** Where each generated test name is taken (file:line): a `name:` may not take one (-s would select another test than meant). */
  const generatedAt = new Map<string, string>();
  type GenericTest = { entry: TestEntry; column?: string; columnTags?: string[]; /** the column's `quote: true` */ quoteColumn?: boolean; src: YamlSource; path: (string | number)[]; file: string; /** its generated name, given before any named test's */ generated?: string; /** the name generated from what it tests (its unique_id's), before another test named alike added its hash to it */ base?: string; /** the same test (definition) as the one at this file:line: refused */ sameAs?: string };
  /** A test entry's test and its arguments as written (`unique` or `unique: {...}`); undefined when it has not one key. */
  const entryParts = (entry: TestEntry): { testName: string; rawArgs: Record<string, unknown>; under: (key: string) => (string | number)[]; argumentsProblem?: { key: string; message: string; hint?: string } } | undefined => {
    if (typeof entry === 'string') return { testName: entry, rawArgs: {}, under: () => [entry, 'config'] };
    const keys = Object.keys(entry);
    // dbt's other form: `- test_name: unique` with name:, arguments: and config: beside it
    const named = 'test_name' in entry && typeof (entry as Record<string, unknown>).test_name === 'string';
    if (!named && keys.length !== 1) return undefined;
    const testName = named ? ((entry as Record<string, unknown>).test_name as string) : keys[0];
    const prefix: (string | number)[] = named ? [] : [testName];
    const written = (named ? Object.fromEntries(Object.entries(entry).filter(([k]) => k !== 'test_name')) : (entry[keys[0]] ?? {})) as Record<string, unknown>;
    // dbt's `arguments:` (1.10.5 on; its default since 1.10.8, the top-level form deprecated): the
    // test's own arguments beside its `config:`, read as if written at the top level
    const argsBlock = written.arguments;
    const under = (k: string) => [...prefix, ...(k in written && k !== 'arguments' ? [] : argsBlock && typeof argsBlock === 'object' && k in argsBlock ? ['arguments'] : ['config'])];
    if (argsBlock === undefined) return { testName, rawArgs: written, under };
    const { arguments: _, ...rest } = written;
    if (argsBlock === null || typeof argsBlock !== 'object' || Array.isArray(argsBlock)) return { testName, rawArgs: rest, under: (k) => (k === 'arguments' ? prefix : under(k)), argumentsProblem: { key: 'arguments', message: `arguments must be a mapping of the test's arguments (arguments: { <argument>: <value> }), got ${JSON.stringify(argsBlock)}` } };
    const inArgs = argsBlock as Record<string, unknown>;
    const twice = Object.keys(inArgs).find((k) => k in rest);
    if (twice) return { testName, rawArgs: rest, under: (k) => (k === twice ? [...prefix, 'arguments'] : under(k)), argumentsProblem: { key: twice, message: `${twice} is given twice, under arguments: and beside it`, hint: "keep the one under arguments: (dbt's form since 1.10)" } };
    // (a config or the test's name is not an argument: dbt passes what arguments: holds to the test's macro)
    const config = Object.keys(inArgs).find((k) => k === 'name' || k === 'config' || COMMON_TEST_KEYS.includes(k));
    if (config) return { testName, rawArgs: rest, under: (k) => (k === config ? [...prefix, 'arguments'] : under(k)), argumentsProblem: { key: config, message: `${config} is not an argument of the test: ${config === 'name' ? 'write name: beside arguments:' : `it is a config, written under config: (config: { ${config}: ... })`}` } };
    return { testName, rawArgs: { ...rest, ...inArgs }, under };
  };
  const addGeneric = (t: GenericTest, onUid: string, onName: string, onRelation: string, declaredCols: string[], relationFilter?: string, ephemeralSubject?: ModelDraft) => {
    const ephemerals: ModelDraft[] = ephemeralSubject ? [ephemeralSubject] : [];
    const loc = { file: t.file, ...t.src.locate(t.path) };
    const parts = entryParts(t.entry);
    if (!parts) {
      ds.push(diag('E_TEST', `a test entry must have exactly one key (the test name), got ${Object.keys(t.entry).join(', ')}`, loc));
      return;
    }
    const { testName, rawArgs, under } = parts;
    if (parts.argumentsProblem) {
      const p = parts.argumentsProblem;
      ds.push(diag('E_TEST', `${testName}: ${p.message}`, { file: t.file, ...t.src.locate([...t.path, ...under(p.key), p.key]) }, p.hint));
      return;
    }
    if (!(GENERIC_TESTS as readonly string[]).includes(testName)) {
      const hint = didYouMean(testName, GENERIC_TESTS);
      ds.push(diag('E_TEST', `unknown test '${testName}'`, loc, hint ? `did you mean '${hint}'?` : `generic tests: ${GENERIC_TESTS.join(', ')}; write other checks as SQL in ${files.paths.tests}/`));
      return;
    }
    const g = testName as GenericTestName;
    const config = (rawArgs.config ?? {}) as Record<string, unknown>;
    // a key both beside the test's arguments and in its config: which one counts is a guess
    const twice = Object.keys(config).find((k) => k !== 'config' && k in rawArgs && JSON.stringify(rawArgs[k]) !== JSON.stringify(config[k]));
    if (twice) {
      ds.push(diag('E_TEST', `${testName}: ${twice} is given twice, ${JSON.stringify(rawArgs[twice])} and ${JSON.stringify(config[twice])} in config:`, { file: t.file, ...t.src.locate([...t.path, ...under('config'), 'config', twice]) }, 'keep one of them'));
      return;
    }
    const args = { ...config, ...rawArgs };
    for (const k of Object.keys(args)) {
      if (!ALLOWED_ARGS[g].includes(k) && !COMMON_TEST_KEYS.includes(k)) {
        const takes = [...ALLOWED_ARGS[g], ...COMMON_TEST_KEYS];
        const near = didYouMean(k, takes);
        ds.push(diag('E_TEST', `${g}: unknown argument '${k}'`, { file: t.file, ...t.src.locate([...t.path, ...under(k), k]) }, `${near ? `did you mean '${near}'? ` : ''}${g} takes: ${takes.join(', ')}`));
        return;
      }
    }
    for (const k of REQUIRED_ARGS[g]) {
      if (args[k] === undefined) {
        ds.push(diag('E_TEST', `${g}: missing argument '${k}'`, loc, g === 'relationships' ? "e.g. relationships: { to: ref('workflows'), field: id }" : undefined));
        return;
      }
    }
    if (NEEDS_COLUMN[g] && !t.column) {
      ds.push(diag('E_TEST', `${g} must be declared under a column (columns: - name: ... tests: [${g}])`, loc));
      return;
    }
    // dbt renders a test's configs written as templates when it parses them (`severity: "{{ 'error'
    // if target.name == 'prod' else 'warn' }}"`, `error_if: ">{{ var('max_bad') }}"`, `limit:
    // "{{ var('n') }}"`), each to a Python value (5, True, text): so does Vigil, with target, var
    // and env_var; what they read is state:modified.vars/.macros as an argument's is
    const configVars: Pick<RenderCalls, 'varsUsed'> = {};
    const configMacros: string[] = [];
    for (const k of TEST_RENDERED_CONFIGS) {
      const v = args[k];
      if (typeof v !== 'string' || !/\{[{%#]/.test(v)) continue;
      const at = [...t.path, ...under(k), k];
      const before = ds.length;
      const c = compileAdHoc(t.file, v, stringTextAt(t.src, at), { part: `${g}'s ${k}` });
      if (!c) {
        // (dbt leaves a config that renders none unset; the template's error says SQL)
        for (const d of ds.slice(before)) if (d.message.endsWith(`is none: ${PRINTS_NOTHING}`)) Object.assign(d, { message: `${d.message.slice(0, -PRINTS_NOTHING.length)}${g}'s ${k} needs a value here (dbt would leave the config unset)`, hint: `render its default instead of none${CONFIG_DEFAULT_SPELLED[k] ? ` (${CONFIG_DEFAULT_SPELLED[k]})` : ''}, or leave ${k} out` });
        return;
      }
      if (hasSecretPlaceholder(c.sql) || c.depends.length) {
        ds.push(diag('E_TEST', `${g}: ${k} is a config: its template may read target, var() and env_var(), not a secret or a relation (ref, source)`, { file: t.file, ...t.src.locate(at) }));
        return;
      }
      configMacros.push(...macrosIn(v));
      addVarsUsed(configVars, c.calls);
      const native = pyNativeValue(c.sql);
      // (tags render to a tag or a list of tags, as dbt's test builder requires: a list of
      // numbers is its TagNotStringError, not tags no selector spells; a tag's text is kept as it
      // rendered — `{{ '2026' }}` and `{{ 2026 }}` print alike — and so is one reading 'None')
      if (k === 'tags') {
        if (Array.isArray(native) && !native.every((x) => typeof x === 'string')) {
          ds.push(diag('E_TEST', `${g}: tags must render to a tag or a list of tags (text), got ${c.sql.trim()}`, { file: t.file, ...t.src.locate(at) }, "write each tag as text: ['a', 'b']"));
          return;
        }
        args[k] = Array.isArray(native) ? native : c.sql;
        continue;
      }
      if (native === null) delete args[k];
      else args[k] = native;
    }
    // dbt takes any case (ERROR, Warn)
    if (typeof args.severity === 'string') args.severity = args.severity.toLowerCase();
    if (args.severity !== undefined && args.severity !== 'warn' && args.severity !== 'error') {
      ds.push(diag('E_TEST', `severity must be 'warn' or 'error', got '${String(args.severity)}'`, { file: t.file, ...t.src.locate([...t.path, ...under('severity'), 'severity']) }));
      return;
    }
    // dbt's thresholds and stored failures (fail_calc, warn_if, error_if, limit, store_failures, ...)
    const checked = checkTestResultConfig(args);
    if ('problem' in checked) {
      const k = checked.problem.key;
      ds.push(diag('E_TEST', `${g}: ${checked.problem.message}`, { file: t.file, ...t.src.locate([...t.path, ...under(k), k]) }, checked.problem.hint));
      return;
    }
    // arguments of the wrong shape would be SQL that fails at run time (values: []) or a guess (quote: flase)
    if (g === 'accepted_values') {
      if (!Array.isArray(args.values) || !args.values.length) {
        // (dbt renders a test's arguments as text; Vigil renders only where:, and a template's text is no list)
        const templated = typeof args.values === 'string' && /\{\{|\{%/.test(args.values);
        ds.push(diag('E_TEST', `accepted_values: values must be a list of one or more values, got ${JSON.stringify(args.values)}`, { file: t.file, ...t.src.locate([...t.path, ...under('values'), 'values']) }, templated ? "a template here is not rendered into a list: write the values out (values: ['a', 'b']), or test them in a singular test (tests/*.sql), where {{ var('...') }} renders" : undefined));
        return;
      }
      if (args.quote !== undefined && typeof args.quote !== 'boolean') {
        ds.push(diag('E_TEST', `accepted_values: quote is true or false, got ${JSON.stringify(args.quote)}`, { file: t.file, ...t.src.locate([...t.path, ...under('quote'), 'quote']) }));
        return;
      }
      // a list or a mapping among the values was written as '[object Object]'
      const odd = (args.values as unknown[]).findIndex((v) => v !== null && typeof v === 'object');
      if (odd >= 0) {
        ds.push(diag('E_TEST', `accepted_values: values are strings, numbers or booleans; value ${odd + 1} is ${JSON.stringify((args.values as unknown[])[odd])}`, { file: t.file, ...t.src.locate([...t.path, ...under('values'), 'values', odd]) }));
        return;
      }
      // a value dbt (YAML 1.1) reads as another one (yes: 'True', 0755: '493') would test other
      // values than dbt's without a word, as --vars and vars: refuse them
      const valuesAt = [...t.path, ...under('values'), 'values'];
      // an integer past 2^53 was rounded as it was read (9007199254740993 tested as
      // '9007199254740992': the value written failed, its neighbour passed; dbt's Python int is
      // exact), and one past 2^64 stopped the compile with an internal error: refused, as in vars:
      const inexact = (args.values as unknown[]).map((v, i) => [i, inexactInteger(v, t.src.scalarAt([...valuesAt, i])?.source)] as const).find(([, m]) => m);
      if (inexact) {
        ds.push(diag('E_TEST', `accepted_values: ${inexact[1]}`, { file: t.file, ...t.src.locate([...valuesAt, inexact[0]]) }));
        return;
      }
      const [y11] = yaml11Only(t.src, args.values, valuesAt, [], { asText: args.quote !== false });
      if (y11) {
        ds.push(diag('E_TEST', `accepted_values: ${sayYaml11Only(y11)}`, { file: t.file, ...t.src.locate(y11.path) }));
        return;
      }
    }
    // the other arguments' shapes: a string where a list goes crashed the compile (combination_of_columns:
    // date), an empty one failed at run time, a `where: false` was dropped and the test ran unfiltered
    // (`where: null` is no filter, dbt's way of switching a project-level one off; a name or
    // field written as a YAML number is its text)
    if (args.where === null) delete args.where;
    for (const k of ['name', 'field']) if (typeof args[k] === 'number') args[k] = String(args[k]);
    const shapes: Array<[string, (v: unknown) => boolean, string]> = [
      ['combination_of_columns', (v) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.trim() !== ''), 'a list of one or more column names'],
      ['expression', (v) => typeof v === 'string' && v.trim() !== '', 'a SQL expression (a non-empty string)'],
      ['where', (v) => typeof v === 'string' && v.trim() !== '', 'a SQL condition (a non-empty string)'],
      ['name', (v) => typeof v === 'string' && v.trim() !== '', 'a name (text)'],
      ['to', (v) => typeof v === 'string', "ref('model') or source('src', 'table')"],
      ['field', (v) => typeof v === 'string' && v.trim() !== '', 'a column name'],
    ];
    for (const [k, ok, what] of shapes) {
      if (args[k] === undefined || ok(args[k])) continue;
      ds.push(diag('E_TEST', `${g}: ${k} must be ${what}, got ${JSON.stringify(args[k])}`, { file: t.file, ...t.src.locate([...t.path, ...under(k), k]) }));
      return;
    }
    // a column an argument names (relationships' field, unique_combination_of_columns' columns)
    // longer than the warehouse keeps (Postgres: 63 bytes): Postgres cut it in the test's SQL, so the
    // test read the column of the cut name — two combination columns alike in those bytes one column
    // twice, the test passing on it — as a declared column of such a name is refused
    const max = dialect.maxIdentifierBytes;
    if (max) {
      const named: Array<[string, (string | number)[]]> = [];
      if (typeof args.field === 'string') named.push([args.field, ['field']]);
      if (Array.isArray(args.combination_of_columns)) (args.combination_of_columns as string[]).forEach((c, i) => named.push([c, ['combination_of_columns', i]]));
      const byCut = new Map<string, string>();
      let long = false;
      for (const [name, key] of named) {
        const bytes = Buffer.byteLength(name);
        const cut = cutToBytes(name, max);
        const other = byCut.get(cut.toLowerCase());
        if (!other) byCut.set(cut.toLowerCase(), name);
        if (bytes <= max) continue;
        long = true;
        ds.push(diag('E_NAME', `${g}: column '${name}' is ${bytes} bytes long; ${dialect.name} keeps ${max} bytes of a name: it names the column '${cut}'${other ? `, as '${other}' does` : ''}`, { file: t.file, ...t.src.locate([...t.path, ...under(String(key[0])), ...key]) }, `name the column as the relation has it (at most ${max} bytes)`));
      }
      if (long) return;
    }
    // its checksum and the hash ending its unique_id (testDefinition)
    const checksum = testDefinition(g, onUid, t.column, args, t.quoteColumn);
    // (by its `name:`, else the name generated from what it tests: not the hash a test named alike adds to it)
    const idOf = (name: string) => `test.${projectName}.${typeof args.name === 'string' ? name : (t.base ?? name)}.${checksum.slice(0, GENERIC_TEST_HASH)}`;
    /** Its `name:` (refused when another test has that name), else the name generated for it. */
    const nameOf = (): string | undefined => {
      if (typeof args.name !== 'string') return t.generated ?? testNameOf(generatedBase(g, onName, t.column, args));
      // a name given twice is two tests one selector cannot tell apart (it became my_test_2
      // silently); so is the name generated for another test (that one became _2)
      const own = testNameOf(args.name);
      if (testNames.has(own)) {
        const gen = generatedAt.get(own);
        const at = { file: t.file, ...t.src.locate([...t.path, ...under('name'), 'name']) };
        if (gen) ds.push(diag('E_DUPLICATE', `${g}: name '${args.name}' is the name of the test at ${gen} (a test without name: is named after what it tests)`, at, `give this test another name: -s ${own} selects that one`));
        else ds.push(diag('E_DUPLICATE', `${g}: a test named '${args.name}' exists already (${testFiles.get(own) ?? 'earlier in the project'})`, at, 'give each named test its own name'));
        return undefined;
      }
      testNames.add(own);
      testFiles.set(own, `${t.file}:${loc.line ?? 1}`);
      return own;
    };
    // a ref() to a disabled model or seed (in an argument, or relationships' to:) disables the
    // test, as dbt does and as the tests of a disabled model are left out: never run on a stale relation
    let offBy: string | undefined;
    const disable = (r: string) => {
      const name = nameOf();
      if (!name) return;
      disabled[idOf(name)] = { resource_type: 'test', name, file: t.file, fqn: fqnOf('test', t.file, name), because: readsDisabled(r) };
      // (said, as dbt warns: a test that no longer runs)
      ds.push(diag('W_TEST', `test '${name}' is disabled: ${readsDisabled(r)}`, loc, undefined, 'warn'));
    };
    // under a column, dbt_utils' expression follows the column (`where not (amount >= 0)`): one that
    // starts with the column itself would read `amount amount >= 0`, a syntax error at run time
    if (g === 'expression_is_true' && t.column) {
      const lead = new RegExp(`^\\s*("${escapeRe(t.column)}"|${escapeRe(t.column)}(?![\\w$]))`, 'i').exec(String(args.expression));
      if (lead) {
        ds.push(diag('E_TEST', `expression_is_true under column '${t.column}': the test writes the column before the expression (where not (${t.column} <expression>)), and this one starts with it`, { file: t.file, ...t.src.locate([...t.path, ...under('expression'), 'expression']) }, `write what follows the column (expression: "${String(args.expression).slice(lead[0].length).trim()}"), or declare the test under the model's tests: to write a whole condition`));
        return;
      }
    }
    const depends = [onUid];
    // string arguments are templates, as in dbt (`where: "id > {{ var('min_id') }}"`): var,
    // env_var (a secret as its placeholder), ref and source; what they ref is a dependency
    const sqlArgs = { ...args };
    let unrendered = false;
    // (an argument reading run_started_at or invocation_id: the test's SQL differs on every compile)
    const calls = { ...emptyCalls(), volatile: ephemerals.some((e) => e.calls.volatile) };
    // the project macros its templated arguments call (`where: "{{ my_filter() }}"`): state:modified.macros
    const argMacros: string[] = [];
    // and the vars they read: state:modified.vars
    const argVars: Pick<RenderCalls, 'varsUsed'> = { ...configVars };
    argMacros.push(...configMacros);
    const argWaits: string[] = [];
    for (const k of TEST_TEMPLATE_ARGS) {
      const render = (text: unknown, i?: number): unknown => {
        if (typeof text !== 'string' || !/\{[{%#]/.test(text)) return text;
        argMacros.push(...macrosIn(text));
        const c = compileAdHoc(t.file, text, stringTextAt(t.src, [...t.path, ...under(k), k, ...(i === undefined ? [] : [i])]), { part: `${g}'s ${k}`, offBy: (r) => void (offBy ??= r) });
        if (!c) unrendered = true;
        else {
          depends.push(...c.depends);
          // (a source it reads that a seed fills: waited for, as the test's own source's seed)
          argWaits.push(...c.waits);
          if (c.calls.volatile) calls.volatile = true;
          addVarsUsed(argVars, c.calls);
        }
        return c?.sql;
      };
      const v = args[k];
      if (v !== undefined) sqlArgs[k] = Array.isArray(v) ? v.map((x, i) => render(x, i)) : render(v);
    }
    if (unrendered) return offBy ? disable(offBy) : undefined;
    if (g === 'expression_is_true' && t.column) {
      // what follows a column is an operator or a predicate (>= 0, between 0 and 1, is not null,
      // not in (...), notnull); a whole condition (`(amount >= 0)`, `not (amount < 0)`,
      // `coalesce(amount, 0) >= 0`) ran before and now would not parse: said at compile (the
      // expression as rendered), not as a syntax error at run time
      const text = String(sqlArgs.expression).trim();
      if (!/^(?:[=<>!~+\-*/%|&^@:]|(?:not\s+(?:between|in|like|ilike|similar|glob|regexp|rlike|null|distinct)|between|in|is|like|ilike|similar|glob|regexp|rlike|isnull|notnull|and|or|collate)\b)/i.test(text)) {
        ds.push(diag('E_TEST', `expression_is_true under column '${t.column}': the test writes the column before the expression (where not (${t.column} <expression>)), so the expression starts with an operator or a predicate (>= 0, between 0 and 1, is not null, not in (...)); this one starts with '${text.split(/\s+/)[0]}'`, { file: t.file, ...t.src.locate([...t.path, ...under('expression'), 'expression']) }, "declare the test under the model's tests: to write a whole condition"));
        return;
      }
    }
    // a value written as a float (1.0) prints as one, as dbt prints it: '1.0', not '1'
    // (and a zero so written too, which yamlNumber leaves unboxed: Python prints 0.0 and -0.0, not '0')
    if (g === 'accepted_values') {
      sqlArgs.values = (sqlArgs.values as unknown[]).map((v, i) => {
        if (typeof v !== 'number') return v;
        const written = t.src.scalarAt([...t.path, ...under('values'), 'values', i])?.source;
        const n = yamlNumber(v, written);
        return v === 0 && typeof n === 'number' && written !== undefined && /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(written) && /[.eE]/.test(written) ? (Object.is(v, -0) ? '-0.0' : '0.0') : n;
      });
    }
    // a test of a source that a seed fills waits for the seed (run order only: waits_for)
    const fillingSeed = onUid.startsWith('source.') ? seedFilling(sources.get(onUid)!) : undefined;
    // (and, below, a relationships test to a source a seed fills: for that seed)
    const fills = [...(fillingSeed ? [fillingSeed.unique_id] : []), ...argWaits];
    let toRelation: string | undefined;
    let toRelationFilter: string | undefined;
    if (g === 'relationships') {
      const to = String(args.to);
      const mRef = /^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$/.exec(to);
      const mSrc = /^\s*source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*$/.exec(to);
      const seedTo = mRef ? refTables.get(mRef[1]) : undefined;
      if (seedTo) {
        toRelation = dialect.relation(seedTo.relation);
        depends.push(seedTo.unique_id);
      } else if (mRef) {
        const p = drafts.get(mRef[1]);
        if (p?.config?.enabled === false || (!p && disabledSeeds.has(mRef[1]))) return disable(mRef[1]);
        if (!p || !p.config) {
          const hint = didYouMean(mRef[1], refNames());
          ds.push(diag('E_REF', `relationships: ref('${mRef[1]}') not found${hint ? ` — did you mean '${hint}'?` : ''}`, { file: t.file, ...t.src.locate([...t.path, ...under('to'), 'to']) }));
          return;
        }
        const rel = relationOf(p);
        if (rel) {
          toRelation = dialect.relation(rel);
          const toNode = manifest.nodes[modelUid(p.name)];
          toRelationFilter = dialect.readFilter?.(toNode?.resource_type === 'model' ? partitionReadConfig(manifest.nodes, toNode) : p.config);
        } else {
          // an ephemeral parent table: its SQL as a CTE of the test, as dbt inlines it
          toRelation = dialect.quoteIdent(ephemeralCte(dialect, p.name));
          ephemerals.push(p);
        }
        depends.push(modelUid(p.name));
      } else if (mSrc) {
        const s = sources.get(`source.${projectName}.${mSrc[1]}.${mSrc[2]}`);
        if (!s) {
          if (!unvalidated.has(`${mSrc[1]}.${mSrc[2]}`)) ds.push(diag('E_SOURCE', `relationships: source('${mSrc[1]}', '${mSrc[2]}') not found`, { file: t.file, ...t.src.locate([...t.path, ...under('to'), 'to']) }));
          return;
        }
        toRelation = dialect.relation(s.relation);
        depends.push(s.unique_id);
        const seed = seedFilling(s);
        if (seed) fills.push(seed.unique_id);
      } else {
        ds.push(diag('E_TEST', `relationships: 'to' must be ref('model') or source('src', 'table'), got '${to}'`, { file: t.file, ...t.src.locate([...t.path, ...under('to'), 'to']) }));
        return;
      }
    }
    if (t.column && declaredCols.length && !declaredCols.includes(t.column)) {
      // the column exists in YAML by construction; nothing to check here
    }
    let pii: Parameters<typeof genericTestSql>[0]['pii'];
    if (g === 'no_unmasked_pii') {
      const on = manifest.nodes[onUid];
      if (on?.resource_type !== 'model' || !on.relation || t.column) {
        ds.push(diag('E_TEST', `no_unmasked_pii is declared on a model (its tests:, not a column's): it checks the model's published relation`, loc));
        return;
      }
      pii = piiChecks(on, manifest, dialect);
    }
    const name = nameOf();
    if (!name) return;
    const results = resultsOf(name, checked.config, t.file, () => ({ file: t.file, ...t.src.locate([...t.path, ...under(['store_failures', 'store_failures_as', 'schema'].find((k) => k in rawArgs) ?? 'store_failures')]) }));
    if (!results) return;
    const testSql = genericTestSql({ test: g, relation: onRelation, column: t.column, quoteColumn: t.quoteColumn, args: sqlArgs, toRelation, relationFilter, toRelationFilter, dialect, pii });
    const sql = ephemerals.length ? withEphemeralSubjects(ephemerals, testSql) : testSql;
    const tuid = idOf(name);
    manifest.nodes[tuid] = {
      unique_id: tuid,
      resource_type: 'test',
      name,
      fqn: fqnOf('test', t.file, name),
      test_type: g,
      file: t.file,
      line: loc.line,
      severity: (args.severity as 'warn' | 'error') ?? 'error',
      ...(typeof args.where === 'string' ? { where: args.where } : {}),
      ...results,
      attached_to: onUid,
      column: t.column,
      ...(writtenUnquoted(t.column, dialect, t.quoteColumn) ? { column_unquoted: true as const } : {}),
      // (its configs — severity, where; their `config:` block — are state:modified.configs, as in dbt; its tags are no change)
      checksum,
      // (unless the test reads the seed too: a relationships test to ref('the_seed'))
      depends_on: [...new Set([...depends, ...fills])],
      ...(fills.some((f) => !depends.includes(f)) ? { waits_for: [...new Set(fills.filter((f) => !depends.includes(f)))] } : {}),
      ...(argMacros.length ? { depends_on_macros: macroClosure(argMacros) } : {}),
      ...varsOf(argVars),
      // a column's tags are its tests' (dbt: they apply to every test of that column)
      tags: [...new Set([...asArray(args.tags as string | string[] | undefined), ...(t.columnTags ?? [])])],
      compiled_sql: sql,
      compiled_path: `${targetDir}/compiled/${projectName}/${t.file}/${name}.sql`,
    } satisfies TestNode;
    markVolatile(manifest.nodes[tuid], calls);
  };
  /** The data tests a properties entry (a model's, seed's or snapshot's) declares: its own, then its columns', each with its YAML path. */
  const testEntries = (p: { p: { tests?: TestEntry[]; data_tests?: TestEntry[]; columns?: ColumnProps[] }; path: (string | number)[] }) => {
    const entries: Array<{ entry: TestEntry; column?: string; columnTags?: string[]; quoteColumn?: boolean; path: (string | number)[] }> = testLists(p.p, p.path);
    (p.p.columns ?? []).forEach((c, ci) => {
      for (const e of testLists(c, [...p.path, 'columns', ci])) entries.push({ ...e, column: c.name, columnTags: c.tags, quoteColumn: c.quote });
    });
    return entries;
  };
  const generic: Array<Parameters<typeof addGeneric>> = [];
  for (const d of drafts.values()) {
    const node = manifest.nodes[modelUid(d.name)] as ModelNode | undefined;
    if (!node || !d.props) continue;
    const p = d.props;
    const rel = node.relation ? dialect.relation(node.relation) : undefined;
    const entries = testEntries(p);
    if (!rel) {
      // an ephemeral model is tested through its SQL, inlined into the test as into its children (dbt's way)
      for (const e of entries) generic.push([{ ...e, src: p.src, file: p.file }, node.unique_id, d.name, dialect.quoteIdent(ephemeralCte(dialect, d.name)), node.columns.map((c) => c.name), undefined, d]);
      continue;
    }
    const readFilter = dialect.readFilter?.(partitionReadConfig(manifest.nodes, node));
    for (const e of entries) generic.push([{ ...e, src: p.src, file: p.file }, node.unique_id, d.name, rel, node.columns.map((c) => c.name), readFilter]);
  }
  for (const n of seedNodes.values()) {
    const p = seedProps.get(n.name);
    if (!p) continue;
    // with quote_columns the table's columns are the header's names as written (`my col`, `Revenue`,
    // `a"b`), which a test writes quoted unless the YAML says `quote: false`: unquoted, such a name
    // failed at run (`where my col is null`) or, on Postgres, read another column (`Revenue` is `revenue`)
    const quoted = n.config.quote_columns === true;
    for (const e of testEntries(p)) generic.push([{ ...e, ...(quoted && e.column !== undefined && e.quoteColumn === undefined ? { quoteColumn: true } : {}), src: p.src, file: p.file }, n.unique_id, n.name, dialect.relation(n.relation), n.columns.map((c) => c.name)]);
  }
  for (const [name, p] of snapProps) {
    const n = manifest.nodes[snapUid(name)];
    if (n?.resource_type !== 'snapshot') continue;
    for (const e of testEntries(p)) generic.push([{ ...e, src: p.src, file: p.file }, n.unique_id, n.name, dialect.relation(n.relation), []]);
  }
  for (const st of sourceTests) generic.push([{ ...st }, st.node.unique_id, `${st.node.source_name}_${st.node.name}`, dialect.relation(st.node.relation), st.node.columns.map((c) => c.name)]);
  // the generated names first: a `name:` that takes one is refused at its line (-s <name> would
  // select the named one). A generated name is the test's own unless tests of another definition
  // are named alike (not_null on a_b.c and on a.b_c; two accepted_values on one column): then each
  // of them is named with its unique_id's hash after it, whatever the order the files are read in
  // (a `_2` by the order met moved the name, and `vigil retry` and state: with it, onto another test)
  const alike = new Map<string, Array<{ t: GenericTest; hash: string; at: string }>>();
  for (const [t, onUid, onName] of generic) {
    const parts = entryParts(t.entry);
    const g = parts?.testName ?? '';
    if (!(GENERIC_TESTS as readonly string[]).includes(g)) continue;
    const args = { ...(parts!.rawArgs.config as Record<string, unknown> | undefined), ...parts!.rawArgs };
    if (args.name !== undefined || (g === 'unique_combination_of_columns' && !Array.isArray(args.combination_of_columns))) continue;
    const base = testNameOf(generatedBase(g as GenericTestName, onName, t.column, args));
    const same = alike.get(base) ?? [];
    same.push({ t, hash: testDefinition(g as GenericTestName, onUid, t.column, args, t.quoteColumn).slice(0, GENERIC_TEST_HASH), at: `${t.file}:${t.src.locate(t.path).line}` });
    alike.set(base, same);
  }
  for (const [base, same] of alike) {
    const distinct = new Set(same.map((x) => x.hash)).size;
    for (const x of same) {
      const first = same.find((y) => y.hash === x.hash)!;
      // the same test twice (its configs aside) would be one unique_id: refused at the second, as dbt refuses it
      if (first !== x) x.t.sameAs = first.at;
      x.t.base = base;
      x.t.generated = distinct > 1 ? `${base}_${x.hash}` : base;
      testNames.add(x.t.generated);
      testFiles.set(x.t.generated, x.at);
      generatedAt.set(x.t.generated, x.at);
    }
    // (the name they share is taken too: a `name:` or a singular test of that name is refused)
    testNames.add(base);
    if (!generatedAt.has(base)) {
      testFiles.set(base, same[0].at);
      generatedAt.set(base, same[0].at);
    }
  }
  for (const args of generic) {
    const t = args[0];
    if (t.sameAs) {
      ds.push(diag('E_DUPLICATE', `this test is the test at ${t.sameAs} again (the same test and arguments on the same ${t.column === undefined ? 'node' : 'column'}; its severity, where and tags aside): both would be one test`, { file: t.file, ...t.src.locate(t.path) }, 'remove one, or give one a name: of its own'));
      continue;
    }
    addGeneric(...args);
  }

  // singular tests: templated SQL in tests/ that returns failing rows
  for (const f of files.singularTests) {
    // a singular test is named by its file: a second test of that name is refused (as dbt does),
    // not renamed (-s and vigil retry would pick one by the order files are read)
    const name = testNameOf(f.path.slice(f.path.lastIndexOf('/') + 1).replace(SQL_FILE, ''));
    if (testNames.has(name)) {
      ds.push(diag('E_DUPLICATE', `singular test '${name}' has the name of another test (${testFiles.get(name) ?? 'a generic test'}): -s ${name} could not tell them apart`, { file: f.path, line: 1, column: 1 }, 'rename the file'));
      continue;
    }
    testNames.add(name);
    testFiles.set(name, f.path);
    let offBy: string | undefined;
    const c = compileAdHoc(f.path, f.text, undefined, { configKeys: Object.keys(SingularTestConfigSchema.shape), offBy: (r) => void (offBy ??= r) });
    // reading a disabled model or seed: disabled with it, as a generic test is
    if (!c && offBy) {
      disabled[`test.${projectName}.${name}`] = { resource_type: 'test', name, file: f.path, fqn: fqnOf('test', f.path, name), because: readsDisabled(offBy) };
      ds.push(diag('W_TEST', `test '${name}' is disabled: ${readsDisabled(offBy)}`, { file: f.path, ...locate(f.text, callFinder('ref', offBy)) }, undefined, 'warn'));
    }
    if (!c) continue;
    const cfg = SingularTestConfigSchema.safeParse(c.calls.config);
    if (!cfg.success) {
      for (const p of explainIssues(SingularTestConfigSchema, c.calls.config, cfg.error.issues)) ds.push(diag('E_CONFIG', `config ${showPath(p.path)}: ${p.message}`, { file: f.path, ...locate(f.text, new RegExp(`\\b${escapeRe(String(p.path[0] ?? 'config'))}\\s*=`)) }));
      continue;
    }
    if (cfg.data.enabled === false) {
      disabled[`test.${projectName}.${name}`] = { resource_type: 'test', name, file: f.path, fqn: fqnOf('test', f.path, name) };
      continue;
    }
    // nothing but comments and white space: the test would run Vigil's wrapper around no query
    if (!c.sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|;/g, '').trim()) {
      ds.push(diag('E_TEST', `singular test '${name}' holds no query: a singular test is a SELECT of the rows that fail it`, { file: f.path, line: 1, column: 1 }, 'write the query, or delete the file (or config(enabled=false))'));
      continue;
    }
    const severity = cfg.data.severity ?? 'error';
    const checkedCfg = checkTestResultConfig(c.calls.config);
    if ('problem' in checkedCfg) {
      ds.push(diag('E_CONFIG', `config ${checkedCfg.problem.key}: ${checkedCfg.problem.message}`, { file: f.path, ...locate(f.text, new RegExp(`\\b${checkedCfg.problem.key}\\s*=`)) }, checkedCfg.problem.hint));
      continue;
    }
    const results = resultsOf(name, checkedCfg.config, f.path, () => ({ file: f.path, ...locate(f.text, /\bstore_failures(?:_as)?\s*=/) }));
    if (!results) continue;
    const tuid = `test.${projectName}.${name}`;
    manifest.nodes[tuid] = {
      unique_id: tuid,
      resource_type: 'test',
      name,
      fqn: fqnOf('test', f.path, name),
      test_type: 'singular',
      file: f.path,
      line: 1,
      severity,
      ...results,
      checksum: sha(f.text),
      depends_on: [...c.depends, ...c.waits],
      // a source it reads that a seed fills: it waits for the seed and goes with the source, as a source's generic tests do (was: ran before the seed loaded, failed, and the models after it were skipped)
      ...(c.waits.length ? { waits_for: c.waits } : {}),
      ...macroDeps(f.text),
      ...varsOf(c.calls),
      tags: asArray(cfg.data.tags),
      compiled_sql: c.sql,
      compiled_path: `${targetDir}/compiled/${projectName}/${f.path}`,
    } satisfies TestNode;
    markVolatile(manifest.nodes[tuid], c.calls);
  }

  // a test's stored failures replace their relation each run (dropped and created): one that is a
  // model's, seed's, snapshot's or source's relation (a test named like it, schema: its schema)
  // would drop that table, and one named vigil_* may be Vigil's own state (vigil_sync_state): refused
  {
    const key = (r: Relation) => [r.database ?? '', r.schema, r.identifier].map((x) => x.toLowerCase()).join('.');
    const taken = new Map<string, string>();
    for (const n of [...Object.values(manifest.nodes), ...Object.values(manifest.sources)]) {
      if (n.resource_type === 'test' || n.resource_type === 'unit_test' || !('relation' in n) || !n.relation) continue;
      taken.set(key(n.relation), `${n.resource_type} '${n.name}'`);
      if (n.resource_type === 'model' && n.restricted) taken.set(key(n.restricted.relation), `the restricted view of model '${n.name}'`);
    }
    // (and two tests named alike but in case, `Neg` and `neg`, store into one relation where names
    // fold (DuckDB): each run's second replaced the first's failures, or failed with "already exists")
    const stored = new Map<string, TestNode>();
    for (const n of Object.values(manifest.nodes)) {
      if (n.resource_type !== 'test' || !n.audit_relation) continue;
      const twin = stored.get(key(n.audit_relation));
      const other = taken.get(key(n.audit_relation)) ?? (/^vigil_/i.test(n.audit_relation.identifier) ? "Vigil's own tables (vigil_*)" : undefined);
      if (!twin) stored.set(key(n.audit_relation), n);
      else if (!other) {
        ds.push(diag('E_DUPLICATE', `tests '${twin.name}' (${twin.file}${twin.line ? `:${twin.line}` : ''}) and '${n.name}' store their failures in the same relation, ${[n.audit_relation.schema, n.audit_relation.identifier].join('.')} (names alike but in case: one table on DuckDB, which folds them): each run, one would replace the other's`, { file: n.file, line: n.line ?? 1 }, 'give one of them another name: (or schema:)'));
        continue;
      }
      if (!other) continue;
      ds.push(diag('E_TEST', `test '${n.name}' stores its failures in ${[n.audit_relation.schema, n.audit_relation.identifier].join('.')}, replaced each run: that is the relation of ${other}, which the test would drop`, { file: n.file, line: n.line ?? 1 }, 'give the test another name: or schema:'));
    }
  }

  // ad-hoc queries (alerts, dashboards): compiled like singular tests, kept out of the DAG
  const queries: CompileResult['queries'] = {};
  for (const q of opts.queries ?? []) {
    const c = compileAdHoc(q.file, q.text, q);
    if (c) queries[q.key] = { sql: c.sql, depends_on: c.depends };
  }

  // ---- hooks: templates rendered like the model they belong to (`this`, `model`, is_incremental()), run around its build
  // What a model's hooks ref() (or read by source()): parents of the model, as dbt counts them in
  // depends_on, so the hook runs after what it reads is built (was: no edge, so with several
  // threads a post_hook adding a foreign key to customers could run before customers was rebuilt,
  // whose drop cascaded the key away).
  const hookReads = new Map<string, Array<{ id: string; at: string }>>();
  for (const d of drafts.values()) {
    const node = manifest.nodes[modelUid(d.name)];
    if (node?.resource_type !== 'model' || !d.hooks || !node.relation) continue;
    // the macros its hooks call, wherever they are written (properties, folder configs, the
    // project's defaults; config()'s are in its file): state:modified.macros, as dbt marks them
    const hookMacros = [...d.hooks.pre_hook, ...d.hooks.post_hook].flatMap((h) => macrosIn(h.sql));
    if (hookMacros.length) node.depends_on_macros = macroClosure([...(node.depends_on_macros ?? []), ...hookMacros]);
    for (const kind of ['pre_hook', 'post_hook'] as const) {
      const list: Hook[] = [];
      for (const h of d.hooks[kind]) {
        // (an incremental model's: also as is_incremental() true renders it, when that is other text)
        const c = compileAdHoc(h.file, h.sql, h.at, { self: d, hook: true, incremental: node.config.materialized === 'incremental' && node.config.full_refresh !== true });
        if (c?.depends.includes(node.unique_id)) {
          // (one project.yaml gives every model, defaults: or a folder's: {{ this }} there names each model, not the one it reads)
          const shared = h.file === PROJECT_FILE;
          ds.push(
            shared
              ? diag('E_REF', `ref('${d.name}') in a ${kind} project.yaml gives every model it configures, '${d.name}' included: a hook's ref() of its own model would make the model its own parent`, { file: h.file, line: h.at.line, column: h.at.column }, `leave '${d.name}' out: {% if model.name != '${d.name}' %}...{% endif %} around the statement`)
              : diag('E_REF', `ref('${d.name}') in a ${kind} of '${d.name}' itself: a hook names its own model with {{ this }}`, { file: h.file, line: h.at.line, column: h.at.column }, 'write {{ this }} instead of the ref()'),
          );
          continue;
        }
        if (c) for (const id of [...c.depends, ...c.waits]) if (!node.depends_on.includes(id)) (hookReads.get(node.unique_id) ?? hookReads.set(node.unique_id, []).get(node.unique_id)!).push({ id, at: `${h.file}:${h.at.line}` });
        if (c) list.push({ kind, sql: c.sql, ...(c.sqlIncremental === undefined ? {} : { sql_incremental: c.sqlIncremental }), origin: `${h.file}:${h.at.line}`, ...(h.transaction === false ? { transaction: false as const } : {}) });
        // (the vars its hooks read, wherever they are written: state:modified.vars, as its macros)
        if (c) Object.assign(node, varsOf({ varsUsed: { ...node.vars, ...c.calls.varsUsed } }));
      }
      if (list.length) node[kind === 'pre_hook' ? 'pre_hooks' : 'post_hooks'] = list;
    }
  }
  let order = modelOrder;
  if (hookReads.size) {
    for (const [uid, reads] of hookReads) {
      const node = manifest.nodes[uid] as ModelNode;
      const ids = [...new Set(reads.map((r) => r.id))];
      node.depends_on = [...node.depends_on, ...ids];
      node.hook_depends_on = ids;
      deps.set(uid, [...(deps.get(uid) ?? []), ...ids]);
    }
    // a cycle only the hooks' reads close (the models' own were found above)
    const withHooks = buildGraph(deps);
    if (!ds.some((x) => x.code === 'E_CYCLE')) {
      for (const cyc of findCycles(withHooks)) {
        const names = cyc.map((u) => u.slice(u.lastIndexOf('.') + 1));
        const edge = cyc.findIndex((u, i) => i < cyc.length - 1 && hookReads.get(u)?.some((r) => r.id === cyc[i + 1]));
        const at = edge < 0 ? undefined : hookReads.get(cyc[edge])!.find((r) => r.id === cyc[edge + 1])!.at;
        const [file, line] = at ? [at.slice(0, at.lastIndexOf(':')), Number(at.slice(at.lastIndexOf(':') + 1))] : [drafts.get(names[0])?.file.path, undefined];
        // (a hook project.yaml gives every model: the model closing the cycle is left out of it by name)
        const hint = file === PROJECT_FILE && edge >= 0 ? `project.yaml gives the hook every model, '${names[edge]}' included: leave it out, {% if model.name != '${names[edge]}' %}...{% endif %} around the statement, or move the statement into on_run_end` : 'move the statement into a hook of the model it reads, or into on_run_end';
        ds.push(diag('E_CYCLE', `dependency cycle through a hook: ${names.join(' -> ')} (a hook's ref() makes its model run after what it reads)`, { file, ...(line ? { line } : {}) }, hint));
      }
    }
    order = topoSort(withHooks);
  }
  const runHooks = (kind: 'on_run_start' | 'on_run_end'): Hook[] => {
    const v = files.project[kind];
    const list: Hook[] = [];
    asArray(v).forEach((sql, i) => {
      const at = files.projectYaml.locate(Array.isArray(v) ? [kind, i] : [kind]);
      const c = compileAdHoc('project.yaml', sql, at, { hook: true });
      if (c) list.push({ kind, sql: c.sql, origin: `project.yaml:${at.line}` });
    });
    return list;
  };
  const onRunStart = runHooks('on_run_start');
  const onRunEnd = runHooks('on_run_end');
  if (onRunStart.length || onRunEnd.length) manifest.hooks = { on_run_start: onRunStart, on_run_end: onRunEnd };

  // ---- unit tests: the model's logic on given rows, in an in-memory DuckDB
  const modelFiles = new Map([...drafts.values()].map((d) => [d.name, d.file]));
  // a model with an error already has its one diagnostic: its unit tests add no second one
  const broken = new Set([...drafts.values()].filter((d) => ds.some((x) => x.severity === 'error' && x.file === d.file.path)).map((d) => d.name));
  for (const u of compileUnitTests({ files, manifest, modelFiles, vars, env: opts.env, target: safeTarget, broken, disabled }, ds)) {
    // (it renders its model's text)
    markVolatile(u, drafts.get(u.model)?.calls ?? emptyCalls());
    manifest.nodes[u.unique_id] = u;
  }

  // (before the dashboards: a tile reading a disabled model is told so)
  if (Object.keys(disabled).length) manifest.disabled = disabled;

  // ---- dashboards: exposures of the models they read, columns checked
  let dashboards: CompiledDashboard[] = [];
  // a YAML file that did not load leaves models without their columns: checking dashboards
  // against them would bury its one error under warnings it caused
  if (files.dashboards?.length && !files.diagnostics.some((d) => d.severity === 'error')) {
    const parsed = parseDashboards(files.dashboards, ds);
    dashboards = compileDashboards({ parsed, manifest, dialect, project: projectName, links: files.project.dashboards?.links }, ds);
    manifest.exposures = {};
    // a dashboard's checksum is of its JSON as written (keys sorted), not of the definition parsed
    // from it: the defaults a Vigil fills in (a tile's `sort: []`) are no edit, and one that adds a
    // default must not make every dashboard of an older state state:modified
    const written = new Map(parsed.map((p) => [p.file, p.yaml.value]));
    for (const d of dashboards) {
      const uid = `exposure.${projectName}.${d.dashboard.name}`;
      // vigil_sync_state is no node: kept beside depends_on, which holds the ids of nodes only
      // (no tags: a dashboard declares none, and tag:x selects only what is tagged x; dashboard:* selects them)
      const syncState = d.tabs.flatMap((t) => t.tiles).find((t) => t.syncState)?.syncState;
      manifest.exposures[uid] = { unique_id: uid, resource_type: 'exposure', name: d.dashboard.name, type: 'dashboard', title: d.dashboard.title, ...(d.dashboard.description ? { description: d.dashboard.description } : {}), file: d.file, depends_on: d.models.map(modelUid).filter((id) => id in manifest.nodes), ...(syncState ? { sync_state: syncState } : {}), tags: [], tiles: d.tabs.reduce((n, t) => n + t.tiles.length, 0), checksum: canonicalHash(written.get(d.file)) };
    }
  }

  // ---- {% docs %} blocks and doc() in descriptions
  resolveDocCalls(manifest, parseDocBlocks(files.docs ?? [], ds), (f) => {
    try {
      return readProjectText(join(files.root, f));
    } catch {
      return undefined;
    }
  }, ds);

  // ---- child map
  const childMap: Record<string, string[]> = {};
  for (const n of [...Object.values(manifest.nodes), ...Object.values(manifest.sources)]) childMap[n.unique_id] = [];
  for (const n of Object.values(manifest.nodes)) for (const p of n.depends_on) (childMap[p] ??= []).push(n.unique_id);
  manifest.child_map = childMap;

  // ---- a project.yaml var nothing reads while a template reads a near name with its default
  ds.push(...misspeltProjectVars(files, manifest, opts.queries));

  // the same call can be reported twice (a var used on two lines is located at its first use)
  const seen = new Set<string>();
  const diagnostics = ds.filter((d) => {
    const k = `${d.file}:${d.line}:${d.column}:${d.code}:${d.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  const result: CompileResult = { manifest, diagnostics, target, order: order.filter((u) => manifest.nodes[u]), cacheHits, queries, dashboards, volatile: tenv.readVolatile || [...drafts.values()].some((d) => d.calls.volatile) };
  if (!opts.incremental || result.volatile || diagnostics.some((d) => d.severity === 'error')) return result;

  // ---- what a recompile after an edit may reuse (patchCompile)
  let base = { files, result };
  const draftAt = new Map([...drafts.values()].map((d) => [d.file.path, d]));
  const unitTested = new Set(Object.values(manifest.nodes).flatMap((n) => (n.resource_type === 'unit_test' ? [n.model] : [])));
  const patch: Patcher = (next, changed) => {
    const prev = base.files;
    const sameInputs =
      SHARED_INPUTS.every((k) => next[k] === prev[k]) && next.models.length === prev.models.length && next.diagnostics.length === prev.diagnostics.length && next.diagnostics.every((x, i) => x === prev.diagnostics[i]);
    if (!sameInputs) return undefined;
    const texts = new Map(next.models.map((f) => [f.path, f]));
    // first everything that could send the edit to a full compile, then the changes
    const redo: Array<{ f: RawFile; d: ModelDraft & { config: ModelNode['config'] }; sql: string; sqlIncremental?: string; calls: RenderCalls; checksum: string }> = [];
    // a path that is no model file before or after (an editor's temporary copy, a YAML file whose
    // change the inputs check above already saw) changes no model
    for (const path of new Set(changed.filter((p) => texts.has(p) || draftAt.has(p)))) {
      const f = texts.get(path);
      const d = draftAt.get(path);
      const node = d && base.result.manifest.nodes[modelUid(d.name)];
      // a new, deleted or renamed model; an ephemeral one (inlined into its children); one with
      // hooks or a diagnostic (located in its text), or unit tests (they render its text)
      if (!f || !d?.config || d.failed || node?.resource_type !== 'model' || d.config.materialized === 'ephemeral' || node.pre_hooks || node.post_hooks || unitTested.has(d.name)) return undefined;
      if (base.result.diagnostics.some((x) => x.file === path)) return undefined;
      // descriptions with doc() are resolved against the docs blocks after the nodes are built
      if ([d.props?.p.description, d.config.description, ...(d.props?.p.columns ?? []).map((c) => c.description)].some((x) => typeof x === 'string' && x.includes('doc('))) return undefined;
      const t = tenv.compileTemplate(f.path, f.text);
      if (isTemplateError(t)) return undefined;
      const calls = emptyCalls();
      const sql = tenv.render(t, f.text, calls, false, { name: d.name, path: f.path });
      if (typeof sql !== 'string') return undefined;
      let sqlIncremental: string | undefined;
      if (d.sqlIncremental !== undefined) {
        const incCalls = emptyCalls();
        const inc = tenv.render(t, f.text, incCalls, true, { name: d.name, path: f.path });
        if (typeof inc !== 'string') return undefined;
        sqlIncremental = inc;
        addVarsUsed(calls, incCalls);
      }
      calls.macros = macrosIn(f.text);
      // what it reads, its config and the macros it calls decide everything else in the manifest
      if (!sameCalls(calls, d.calls)) return undefined;
      if ((d.config.materialized === 'view' || d.config.restricted) && secretNames(sql).length) return undefined;
      redo.push({ f, d: d as ModelDraft & { config: ModelNode['config'] }, sql, sqlIncremental, calls, checksum: sha(f.text) });
    }
    // an edit that took away the last read of a --vars key: the full compile says so
    if (opts.vars && unreadVars(next, Object.keys(opts.vars), opts.queries).length) return undefined;
    const nodes = { ...base.result.manifest.nodes };
    for (const r of redo) {
      Object.assign(r.d, { file: r.f, sql: r.sql, sqlIncremental: r.sqlIncremental, calls: r.calls, checksum: r.checksum });
      draftAt.set(r.f.path, r.d);
      const node = modelNode(r.d);
      nodes[node.unique_id] = node;
      opts.cache?.set(r.f.path, { key: sha(globalKey + r.checksum), sql: r.sql, sqlIncremental: r.sqlIncremental, calls: r.calls, stamp: keptStamp(r.f, r.checksum) });
    }
    const patched: CompileResult = { ...base.result, manifest: { ...base.result.manifest, nodes }, cacheHits: drafts.size - redo.length };
    base = { files: next, result: patched };
    patchers.set(patched.manifest, patch);
    return patched;
  };
  patchers.set(manifest, patch);
  return result;
}

/**
 * A node whose SQL reads run_started_at or invocation_id: different on every compile (watch mode
 * does not take that for a change). Not enumerable: not in manifest.json.
 */
function markVolatile(node: object, calls: RenderCalls): void {
  if (calls.volatile) Object.defineProperty(node, 'volatile', { value: true, enumerable: false });
}

/** `from`'s vars read into `into`'s (a second render: is_incremental() true; a test's templated arguments). */
/** A test config's default as a template would render it: the hint of one rendering none. */
const CONFIG_DEFAULT_SPELLED: Record<string, string> = { severity: "'error'", warn_if: "'!=0'", error_if: "'!=0'", fail_calc: "'count(*)'", store_failures: 'false' };

function addVarsUsed(into: Pick<RenderCalls, 'varsUsed'>, from: Pick<RenderCalls, 'varsUsed'>): void {
  if (from.varsUsed) into.varsUsed = { ...into.varsUsed, ...from.varsUsed };
}

/** A node's `vars`: each var its rendering read with a hash of its value (state:modified.vars), keys in order; none when it read none. */
function varsOf(calls: Pick<RenderCalls, 'varsUsed'>): { vars?: Record<string, string> } {
  const used = calls.varsUsed ?? {};
  const keys = Object.keys(used).sort();
  return keys.length ? { vars: Object.fromEntries(keys.map((k) => [k, used[k]])) } : {};
}

/** Given the files re-read after an edit and the paths that changed: the new result, or undefined (compile in full). */
type Patcher = (next: ProjectFiles, changed: string[]) => CompileResult | undefined;
const patchers = new WeakMap<Manifest, Patcher>();
/** The inputs besides model files that a patch requires unchanged (reloadProject keeps them as they were). */
const SHARED_INPUTS = ['project', 'projectYaml', 'paths', 'properties', 'macros', 'seeds', 'snapshots', 'singularTests', 'docs', 'dashboards'] as const;

function sameCalls(a: RenderCalls, b: RenderCalls): boolean {
  const key = (c: RenderCalls) => JSON.stringify([c.refs, c.sources, c.config, c.envUsed, !!c.volatile, c.macros ?? []]);
  return !a.problems.length && !b.problems.length && key(a) === key(b);
}

/**
 * Recompile after an edit of model files only, from a compile made with `incremental: true`
 * (or an earlier patch): the changed models are rendered again and, when what they read, their
 * config and the macros they call are what they were, only their nodes are rebuilt — the graph,
 * tests, hooks, dashboards and docs cannot have changed. Anything else (a new or deleted model,
 * an ephemeral one, YAML, macros, a diagnostic on the file) returns undefined: compile in full.
 * The result equals what a full compile of `next` gives (test/compile/patch-compile.test.ts).
 */
export function patchCompile(previous: CompileResult, next: ProjectFiles, changed: string[]): CompileResult | undefined {
  return patchers.get(previous.manifest)?.(next, changed);
}

/**
 * A table's `freshness:` over its source's, as dbt merges them (merge_source_freshness): key by
 * key, so a table setting only warn_after keeps its source's error_after and filter; a rule set
 * to null is no limit; the table's `freshness: null` is no freshness at all.
 */
function mergeFreshness(source: Freshness | undefined, table: Freshness | undefined): Freshness | undefined {
  if (table === null || (table === undefined && source === null)) return null;
  const out: NonNullable<Freshness> = {};
  for (const k of ['warn_after', 'error_after', 'filter'] as const) {
    const v = table?.[k] !== undefined ? table[k] : source?.[k];
    if (v !== undefined && v !== null) Object.assign(out, { [k]: v });
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * A snapshot config's issues in Vigil's words (explainIssues: a mistyped strategy or check_cols
 * gets its did-you-mean), each with the config key it is about.
 */
function snapshotConfigProblems(cfg: Record<string, unknown>, issues: ReadonlyArray<{ code: string; path: PropertyKey[]; message: string }>): Array<{ key: string; message: string; hint?: string }> {
  return explainIssues(SnapshotConfigSchema, cfg, issues).map((p) => {
    const key = String(p.path[0] ?? '');
    // one column as a string (check_cols='name'): 'all' or a list
    const one = key === 'check_cols' && typeof cfg.check_cols === 'string' && !p.message.includes('did you mean');
    return { key, message: `${p.path.length ? `${showPath(p.path)}: ` : ''}${p.message}`, ...(one ? { hint: `check_cols='all', or a list of columns: check_cols=['${cfg.check_cols}']` } : {}) };
  });
}

/**
 * A number's text as YAML 1.2 reads it: decimal digits, a sign, a point, an exponent, or hex
 * (0x1F2A3B) and octal (0o1234567), which Number() reads alike. (Kept a number, 0x1F2A3B went
 * into a view's definition as 2042427: the secret in another base.)
 */
const NUMERIC = /^(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+)$/;

/**
 * --vars as the templates see them: a secret's value in a string (`--vars "{token: $API_TOKEN}"`,
 * as CI passes one) is its placeholder there, as env_var() of it is, so it reaches only the
 * statement sent to the warehouse, never a view's definition (E_SECRET) or a compiled file. So
 * is a number that is a secret's value (`--vars "{pin: $VIGIL_SECRET_PIN}"`, which YAML reads as a number):
 * kept a number, it went into a view's definition, and its hash into manifest.json's `vars`.
 */
function givenVars(given: Record<string, unknown>, env: CompileOptions['env']): Record<string, unknown> {
  const secrets = environmentSecrets(env).sort((a, b) => b[1].length - a[1].length);
  if (!secrets.length) return given;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      let out = v;
      for (const [k, x] of secrets) {
        if (!out.includes(x)) continue;
        registerCompiledSecret(k, x);
        out = out.split(x).join(secretPlaceholder(k));
      }
      return out;
    }
    if (typeof v === 'number' || v instanceof PyFloat) {
      // (as the template prints it, or as the shell gave it: 007 read as 7)
      const printed = String(v);
      const hit = secrets.find(([, x]) => x === printed || (NUMERIC.test(x) && Number(x) === Number(v)));
      if (!hit) return v;
      registerCompiledSecret(hit[0], hit[1]);
      return secretPlaceholder(hit[0]);
    }
    if (Array.isArray(v)) return v.map(walk);
    // (a mapping only: a whole float's box, `4.0`, rebuilt as a plain object printed as
    // {'value': 4} into the SQL whenever any secret was in the environment)
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(given) as Record<string, unknown>;
}

/**
 * project.yaml `vars:`, with `{{ env_var('NAME', 'default') }}` in a string filled in as dbt
 * does in dbt_project.yml (a secret's as its placeholder: its value reaches only the warehouse);
 * anything else between braces is an error at its line, not text passed on to the SQL.
 */
function projectVars(files: ProjectFiles, opts: CompileOptions, ds: Diagnostic[]): Record<string, unknown> {
  const render = (v: unknown, path: PropertyKey[]): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => render(x, [...path, i]));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x, [...path, k])]));
    const written = files.projectYaml.scalarAt(path)?.source;
    const inexact = inexactInteger(v, written);
    if (inexact) {
      ds.push(diag('E_VAR', `${path.join('.')}: ${inexact}`, { file: 'project.yaml', ...files.projectYaml.locate(path) }));
      // (templates read its digits as written: the compile fails here, and the rounded number printed would be a second error)
      if (written !== undefined && /^\d+$/.test(written)) return written;
    }
    const [odd] = yaml11Only(files.projectYaml, v, path);
    if (odd) ds.push(diag('E_VAR', `${path.join('.')}: ${sayYaml11Only(odd)}`, { file: 'project.yaml', ...files.projectYaml.locate(path) }));
    // 1.0 is a float to dbt, and prints so (5 / {{ var('d') }} divides as a float on Postgres)
    if (typeof v === 'number') return yamlNumber(v, files.projectYaml.scalarAt(path)?.source);
    if (typeof v !== 'string' || !/\{\{|\{%/.test(v)) return v;
    const where = { file: 'project.yaml', ...files.projectYaml.locate(path) };
    const out = fillEnvVars(v, opts.env, (key, val, fromEnv) => {
      if (val === undefined) {
        ds.push(diag('E_ENV_VAR', `${path.join('.')}: environment variable ${key} is not set`, where, `export ${key}=... before running, or give a default: env_var('${key}', 'value')`));
        return '';
      }
      if (!fromEnv || !isSecret(key, val)) return val;
      registerCompiledSecret(key, val);
      return secretPlaceholder(key);
    });
    if (/\{\{|\{%/.test(out)) ds.push(diag('E_VAR', `${path.join('.')}: only {{ env_var('NAME') }} (with an optional default) is filled in in project.yaml; this would reach the SQL as written`, where, 'compute it in the model, or pass the value with --vars'));
    return out;
  };
  // a var --vars gives is not read from project.yaml (its env_var need not be set)
  const given = new Set(Object.keys(opts.vars ?? {}));
  return Object.fromEntries(Object.entries(files.project.vars ?? {}).map(([k, v]) => [k, given.has(k) ? v : render(v, ['vars', k])]));
}

/**
 * --vars keys nothing in the project can read: not declared under project.yaml `vars:` and named
 * in no model, macro, test, snapshot, properties file, dashboard, alert query or project.yaml
 * hook (as a quoted name: `var('x')`, also one kept in a variable or read only in some branch).
 * A typo there would silently build with the default instead; it is an error with a did-you-mean.
 * Each key is looked for as text (native search, no regex over every file); the did-you-mean
 * scan runs only for a key found nowhere.
 */
function unreadVars(files: ProjectFiles, keys: string[], queries: CompileOptions['queries']): Diagnostic[] {
  const declared = new Set(Object.keys(files.project.vars ?? {}));
  return unreadNames(files, keys.filter((k) => !declared.has(k)), queries).map(({ key: k, near }) =>
    diag('E_VAR', `--vars: '${k}' is read by no model, macro, test, snapshot or hook${near ? ` (did you mean '${near}'?)` : ''}`, {}, near ? undefined : `the vars read here: ${[...varsCalled(files, queries)].sort().join(', ') || 'none'}; a var read under a computed name is declared under vars: in project.yaml`),
  );
}

/**
 * A project.yaml `vars:` key no template reads while one reads a name near it with its default
 * (`vars: { min_event: 5 }`, `var('min_events', 0)`): the models built with the default, the
 * value in project.yaml doing nothing, exit 0. An error at the key, with the name read. A key
 * read under a computed name, or that no near name suggests a typo of, is left alone: project.yaml
 * is where such vars are declared. The text scan runs only for such a near miss.
 */
function misspeltProjectVars(files: ProjectFiles, manifest: Manifest, queries: CompileOptions['queries']): Diagnostic[] {
  const declared = Object.keys(files.project.vars ?? {});
  if (!declared.length) return [];
  const read = new Set<string>();
  for (const n of Object.values(manifest.nodes)) for (const k of Object.keys((n as { vars?: Record<string, string> }).vars ?? {})) read.add(k);
  const byDefault = [...read].filter((k) => !declared.includes(k));
  if (!byDefault.length) return [];
  // (a near miss strict enough to be a typo: names of 4 characters or more, a quarter of them
  // edited at most; `ok` beside `n` is no misspelling of it)
  const near = new Map(declared.filter((k) => !read.has(k) && k.length >= 4).flatMap((k) => {
    const n = didYouMean(k, byDefault);
    return n && n.length >= 4 && editDistance(k.toLowerCase(), n.toLowerCase()) <= Math.max(1, Math.floor(k.length / 4)) ? [[k, n] as const] : [];
  }));
  if (!near.size) return [];
  const unread = unreadNames(files, [...near.keys()], queries);
  if (!unread.length) return [];
  // a var() of a computed name where compile does not render it (a hook, an alert query, a
  // dashboard, a macro no model calls: `var('region_' ~ r)`) may read the key: a warning, not an
  // error (was: the build refused, and renaming the key as told broke what read it)
  const computed = computedVarCall(files, queries);
  return unread.map(({ key }) =>
    computed
      ? diag('E_VAR', `vars: '${key}' is named by no template, and a name near it, '${near.get(key)}', is read with its default: a typo? (${computed} reads a var under a computed name, which may be '${key}')`, { file: PROJECT_FILE, ...files.projectYaml.locate(['vars', key], true) }, `rename the key to '${near.get(key)}' if it is the one meant`, 'warn')
      : diag('E_VAR', `vars: '${key}' is read by no model, macro, test, snapshot or hook — did you mean '${near.get(key)}'? (it is read with its default)`, { file: PROJECT_FILE, ...files.projectYaml.locate(['vars', key], true) }, `rename the key to '${near.get(key)}'`),
  );
}

/**
 * Where a var() of a computed name (`var(name)`, `var('region_' ~ r)`) is in a template compile
 * does not render into a node, whose reads it would record: a macro (one no model calls), a
 * properties file's or project.yaml's template (a hook), an ad-hoc or alert query, an alert file or
 * a dashboard. Undefined when there is none.
 */
function computedVarCall(files: ProjectFiles, queries: CompileOptions['queries']): string | undefined {
  // (not one quoted name followed by `,` or `)`: `var(name)`, `var('region_' ~ r)`, `var(prefix ~ 'x')`)
  const computed = /\bvar\(\s*(?!\\?'[^'"]*\\?'\s*[,)]|\\?"[^'"]*\\?"\s*[,)])[^)\s]/;
  for (const f of files.macros) if (computed.test(f.text)) return f.path;
  for (const t of projectTemplateTexts({ ...files, models: [], macros: [], singularTests: [], snapshots: [] }, queries)) if (computed.test(t)) return 'a hook, query, alert or dashboard template';
  return undefined;
}

/** Every var() name the project's templates call with a quoted name. */
function varsCalled(files: ProjectFiles, queries: CompileOptions['queries']): Set<string> {
  const called = new Set<string>(Object.keys(files.project.vars ?? {}));
  for (const text of projectTemplateTexts(files, queries)) for (const m of text.matchAll(/\bvar\(\s*\\?["']([A-Za-z_][\w.-]*)/g)) called.add(m[1]);
  return called;
}

/** `keys` nothing in the project names as a quoted string (unreadVars), each with the nearest var() name called. */
function unreadNames(files: ProjectFiles, keys: string[], queries: CompileOptions['queries']): Array<{ key: string; near?: string }> {
  let missing = keys;
  if (!missing.length) return [];
  const texts = () => projectTemplateTexts(files, queries);
  const quoted = (text: string, k: string) => text.includes(`'${k}'`) || text.includes(`"${k}"`) || text.includes(`\\"${k}\\"`);
  for (const text of texts()) {
    missing = missing.filter((k) => !(text.includes(k) && quoted(text, k)));
    if (!missing.length) return [];
  }
  const called = varsCalled(files, queries);
  return missing.map((k) => ({ key: k, near: didYouMean(k, called) }));
}

/** The texts a var() may be called in: models, macros, tests, snapshots, and the templates of dashboards, properties files, project.yaml, ad-hoc queries and alert files. */
function* projectTemplateTexts(files: ProjectFiles, queries: CompileOptions['queries']): Generator<string> {
  for (const f of [...files.models, ...files.macros, ...files.singularTests, ...(files.snapshots ?? [])]) yield f.text;
  // a dashboard's and an alert file's templates, as a properties file's (a tile's or rule's
  // `column: status` is no var); one that does not parse as its text
  for (const f of files.dashboards ?? []) yield* templatesOf(f.text, () => JSON.parse(f.text) as unknown);
  // a properties file's and project.yaml's templates (a test's `where:`, a hook): their
  // values that are templates, not every value (made JSON, each column's name, `- name: status`,
  // read as a quoted 'status': `--vars '{status: x}'` passed as read)
  for (const p of files.properties) yield* templateValues(p.data);
  // project.yaml's hooks are templates too; ad-hoc queries (`vigil show --inline`, alert queries)
  yield* templateValues(files.project);
  for (const q of queries ?? []) yield q.text;
  // alert files are read off disk for the commands that do not compile them
  for (const a of listFiles(files.root, files.paths.alerts, /\.ya?ml$/)) {
    const text = readProjectText(join(files.root, a));
    yield* templatesOf(text, () => parseYaml(text, a, [])?.value);
  }
}

/** The templates among a file's values (templateValues), or its text when it does not parse. */
function* templatesOf(text: string, parse: () => unknown): Generator<string> {
  let data: unknown;
  try {
    data = parse();
  } catch {
    data = undefined;
  }
  if (data === undefined) yield text;
  else yield* templateValues(data);
}

/** The string values in a YAML document's data that are templates (hold `{{` or `{%`). */
function* templateValues(v: unknown): Generator<string> {
  if (typeof v === 'string') {
    if (v.includes('{{') || v.includes('{%')) yield v;
  } else if (Array.isArray(v)) for (const x of v) yield* templateValues(x);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) yield* templateValues(x);
}

function locate(text: string, re?: RegExp): { line?: number; column?: number } {
  if (!re) return {};
  const m = re.exec(text);
  if (!m) return { line: 1, column: 1 };
  return lineColAt(text, m.index);
}

/** A source() of no declared source; undefined when a properties file that failed validation declares it (that file's error is the one to fix). */
function unknownSource(s: string, t: string, sources: Map<string, SourceNode>, f: RawFile, unvalidated: ReadonlySet<string>): Diagnostic | undefined {
  if (unvalidated.has(`${s}.${t}`)) return undefined;
  const all = [...sources.values()].map((x) => `${x.source_name}.${x.name}`);
  const hint = didYouMean(`${s}.${t}`, all);
  return diag(
    'E_SOURCE',
    `source('${s}', '${t}') not found${hint ? ` — did you mean '${hint.replace('.', "', '")}'?` : ''}`,
    { file: f.path, ...locate(f.text, new RegExp(`\\bsource\\s*\\(\\s*["']${escapeRe(s)}["']\\s*,\\s*["']${escapeRe(t)}["']`)) },
    hint ? undefined : 'declare it under sources: in a models/**/*.yml file',
  );
}

/**
 * A retention period (a `keep`, or project.yaml's `retention.minimum`) that puts minutes or
 * seconds beside days, weeks or years: `1y6m` is a year and 6 minutes ('m' is minutes, as in
 * Prometheus). Meant as 18 months, a keep deletes half a year of rows too early, and a minimum
 * lets a keep (and a row's own period) half a year short of it pass. Refused at its line.
 */
function retentionPeriodProblems(period: unknown, what: string, at: { file: string; line?: number; column?: number }): Diagnostic[] {
  const units = typeof period === 'string' ? durationUnits(period) : [];
  if (!(units.some((u) => u === 'y' || u === 'w' || u === 'd') && units.some((u) => u === 'm' || u === 's' || u === 'ms'))) return [];
  return [diag('E_RETENTION', `${what} '${period}' counts ${units.includes('m') ? "minutes ('m' is minutes: Vigil's durations, like Prometheus', have no months)" : 'seconds'} beside days or years`, at, 'write days, weeks or years: 18 months is 548d (or 1y26w), 6 months 183d')];
}

/**
 * What compile can tell about a retention config without the warehouse: the column and the
 * override column against their declared data_type (a column declared with no type, or not
 * declared, is checked against the warehouse by `vigil retention plan`).
 */
function retentionProblems(r: { column: string; keep?: string; override_days?: string }, columns: ColumnInfo[], at: (key?: string) => { file: string; line?: number; column?: number }, what: string): Diagnostic[] {
  const ds: Diagnostic[] = [];
  ds.push(...retentionPeriodProblems(r.keep, `${what}: retention keep`, at('keep')));
  const declared = (name: string) => columns.find((c) => c.name.toLowerCase() === name.toLowerCase())?.data_type;
  const t = declared(r.column);
  if (t && !agesRows(t))
    ds.push(diag('E_RETENTION', `${what}: retention column '${r.column}' is declared ${t}, not a timestamp or date: rows cannot be aged by it`, at('column'), 'name a timestamp column (created_at, timestamp...)'));
  const o = r.override_days === undefined ? undefined : declared(r.override_days);
  if (o && !holdsDays(o))
    ds.push(diag('E_RETENTION', `${what}: retention override_days column '${r.override_days}' is declared ${o}, not a number of days`, at('override_days'), 'name a numeric column holding days (e.g. security_retention_period_days)'));
  return ds;
}

/**
 * Rows per sync batch unless the table says: two of DuckDB's row groups (122,880 rows). Whole row
 * groups go to the database file as they are loaded; a batch that ends in a partial one leaves it
 * for the checkpoint at the end of the sync, which rewrote them all: 0.76-1.0 s of a
 * 1,000,000-row sync in batches of 200,000, 85 ms in batches of 245,760.
 */
export const DEFAULT_SYNC_BATCH = 245_760;

/** A table's sync block, with its source's connection; a table without `from` is an error at its line. */
function syncSettings(s: SourceProps, t: SourceTableProps, yaml: YamlSource, path: (string | number)[], file: string, ds: Diagnostic[]): SourceNode['sync'] {
  const sync = t.sync!;
  if (!s.sync?.from) {
    ds.push(diag('E_SYNC', `source '${s.name}': table ${t.name} has a sync block but the source does not say where to read from`, { file, ...yaml.locate(path) }, `add to the source:  sync: { from: <a postgres target in project.yaml> }`));
    return undefined;
  }
  const defaults = [...(sync.batch_size === undefined ? ['batch_size' as const] : []), ...(sync.lookback === undefined ? ['lookback_seconds' as const] : [])];
  return {
    from: s.sync.from,
    schema: s.sync.schema ?? s.schema ?? s.name,
    primary_key: Array.isArray(sync.primary_key) ? sync.primary_key : [sync.primary_key],
    cursor: sync.cursor,
    batch_size: sync.batch_size ?? DEFAULT_SYNC_BATCH,
    lookback_seconds: durationMs(sync.lookback ?? '5m') / 1000,
    ...(defaults.length ? { defaults } : {}),
    lines: { primary_key: yaml.locate([...path, 'primary_key']).line, cursor: yaml.locate([...path, 'cursor']).line },
  };
}

/** The source name of the tables Vigil writes itself: `{{ source('vigil', 'alert_events') }}`. */
export const BUILTIN_SOURCE = 'vigil';
const BUILTIN_READ_RE = new RegExp(`\\bsource\\s*\\(\\s*["']${BUILTIN_SOURCE}["']`);
const BUILTIN_SOURCE_RE = new RegExp(`\\bsource\\s*\\(\\s*["']${BUILTIN_SOURCE}["']\\s*,\\s*["']([^"']*)["']`, 'g');

/**
 * The built-in sources, in the target schema: `vigil.alert_events` (vigil_alert_events, the
 * alert history that `vigil alerts evaluate` appends to; alerts/history.ts) and
 * `vigil.retention_log` (vigil_retention_log, the run log of `vigil retention apply`;
 * retention/retention.ts). `vigil build` creates the table when a selected model reads it, so a
 * project builds before any alert has fired or any apply ran. A project that declares its own
 * source named `vigil` gets none of these.
 */
export function builtinSources(project: string, schema: string, database: string | undefined): SourceNode[] {
  const builtin = (name: string, identifier: string, columns: ColumnInfo[], description: string): SourceNode => ({
    unique_id: `source.${project}.${BUILTIN_SOURCE}.${name}`,
    resource_type: 'source',
    name,
    source_name: BUILTIN_SOURCE,
    file: '(built in)',
    line: 0,
    description,
    relation: { ...(database ? { database } : {}), schema, identifier },
    columns,
    tags: [],
    meta: { vigil_builtin: name },
  });
  return [
    builtin('alert_events', ALERT_EVENTS_TABLE, alertEventColumns(), 'Every alert instance that started firing or resolved, one row per event, appended by `vigil alerts evaluate` (' + docRef('alerts.md#history-vigil_alert_events') + ').'),
    builtin('retention_log', RETENTION_LOG_TABLE, retentionLogColumns(), 'One row per table of every `vigil retention apply`, and the lines `vigil sync` copies from the database an `apply_to: source` apply deleted in (' + docRef('governance.md#the-log-vigil_retention_log') + ').'),
  ];
}

/** A `partition_by` of an integer column: `data_type: 'int64'`, or RANGE_BUCKET(...) written as text. */
function isIntegerPartition(p: unknown): boolean {
  if (p !== null && typeof p === 'object') return String((p as { data_type?: unknown }).data_type ?? '').toLowerCase() === 'int64';
  return partitionSpec(p)?.range !== undefined;
}
