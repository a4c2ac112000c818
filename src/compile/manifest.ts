/**
 * The manifest: every node of the project after compilation, written to
 * target/manifest.json. Executors, `vigil ls` and later alerts/dashboards read only this.
 */
import type { Relation } from '../adapters/dialect.js';
import type { Hook } from '../adapters/adapter.js';
import type { Freshness, Materialization, ModelConfig, Policy, RetentionConfig, SeedConfig, SnapshotConfig } from '../project/schema.js';
import type { UnitTestNode } from '../testing/unit-tests.js';

/** The configs that name where a node is written: state:modified.relation, not .configs (as in dbt). */
export const RELATION_CONFIGS = ['database', 'schema', 'alias', 'target_database', 'target_schema'];

export type { UnitTestNode };

export interface ColumnInfo {
  name: string;
  description?: string;
  data_type?: string;
  /** as written in YAML: policies (e.g. pii, masking) shown by the docs site */
  meta?: Record<string, unknown>;
  tags?: string[];
  /** the masking policy written in YAML (compile/masking.ts decides the effective one) */
  policy?: Policy;
  /** `quote: true` (dbt's): its generic tests write the name quoted */
  quote?: boolean;
}

export interface ModelNode {
  unique_id: string;
  resource_type: 'model';
  name: string;
  /** dbt's fully qualified name: the project, the folders its file is in (under models/, seeds/, ...), its name. */
  fqn?: string[];
  /** Path of the .sql file, relative to the project root. */
  file: string;
  /** YAML file that documents this model, when there is one. */
  properties_file?: string;
  checksum: string;
  /** as merged: `grants` is its `select` (a level's `+select` added to the outer levels') */
  config: Omit<ModelConfig, 'grants'> & { materialized: Materialization; tags: string[]; grants?: { select: string[] } };
  tags: string[];
  description?: string;
  columns: ColumnInfo[];
  /** Unique ids of models and sources this model reads: its SQL's, then its hooks' (hook_depends_on). */
  depends_on: string[];
  /**
   * The part of depends_on only its pre_hook/post_hook read (ref() or source() in a hook, not in its
   * SQL): it is built after them, as dbt orders it, but its columns come from none of them
   * (masking and PII lineage read queryReads()).
   */
  hook_depends_on?: string[];
  /** Project macros its SQL calls, directly or through other macros (state:modified.macros). */
  depends_on_macros?: string[];
  /** Each var() its SQL or its hooks read (project vars, --vars, the call's default), with a hash of the value it gave: state:modified.vars. */
  vars?: Record<string, string>;
  /** null for ephemeral models. */
  relation: Relation | null;
  /** RELATION_CONFIGS set in config(), as written (`'s_' ~ target.name`): what state:modified.relation compares. */
  unrendered_config?: Record<string, string>;
  /** The SELECT that builds the model (ephemeral parents inlined as CTEs). */
  compiled_sql: string;
  /** For incremental models: the SELECT with is_incremental() true. */
  compiled_sql_incremental?: string;
  /** Where compile wrote compiled_sql, relative to the project root. */
  compiled_path: string;
  /** Where compile wrote compiled_sql_incremental (`<model>@incremental.sql`: no model's name holds an @). */
  compiled_path_incremental?: string;
  /** The line of compiled_sql where the model's own SQL starts, when ephemeral parents' CTEs come first. */
  compiled_body_line?: number;
  /** Rendered pre_hook/post_hook statements, in the order they run, each with where it is written. */
  pre_hooks?: Hook[];
  post_hooks?: Hook[];
  /** When a declared column has a masking policy: the model's own SELECT, before compiled_sql applies the policies. */
  unmasked_sql?: string;
  /** config.restricted: the unmasked companion view `<model>__restricted`, readable by its own grantees only. */
  restricted?: { relation: Relation; compiled_sql: string; grants: string[] };
  /** Where the model's `retention` config (config.retention) is written: its errors point there. */
  retention_at?: WrittenAt;
  /** Where each config key that applies is written (config(), properties YAML, project.yaml): problems with its value point there. */
  config_at?: Record<string, WrittenAt>;
}

/** A place in a file a person edits. */
export interface WrittenAt {
  file: string;
  line?: number;
  column?: number;
}

/** A CSV under seeds/, loaded as a table by `vigil seed` and `vigil build`; ref('name') reads it. */
export interface SeedNode {
  unique_id: string;
  resource_type: 'seed';
  name: string;
  /** dbt's fully qualified name: the project, the folders its file is in (under models/, seeds/, ...), its name. */
  fqn?: string[];
  /** The CSV, relative to the project root. */
  file: string;
  properties_file?: string;
  /** A hash of the file's content: a changed file is a changed seed (state:modified). */
  checksum: string;
  config: SeedConfig & { tags: string[] };
  tags: string[];
  description?: string;
  columns: ColumnInfo[];
  /** Seeds read nothing. */
  depends_on: string[];
  relation: Relation;
  /** Where results point (a seed has no compiled SQL: its CSV). */
  compiled_path: string;
}

/** A snapshot (SCD type 2): every version of each row of its query, with dbt_valid_from/to. */
export interface SnapshotNode {
  unique_id: string;
  resource_type: 'snapshot';
  name: string;
  /** dbt's fully qualified name: the project, the folders its file is in (under models/, seeds/, ...), its name. */
  fqn?: string[];
  file: string;
  line: number;
  checksum: string;
  config: SnapshotConfig & { tags: string[] };
  tags: string[];
  /** The properties YAML that describes it (its columns and their tests). */
  properties_file?: string;
  description?: string;
  columns: ColumnInfo[];
  depends_on: string[];
  /** Project macros its SQL calls, directly or through other macros (state:modified.macros). */
  depends_on_macros?: string[];
  /** Each var() its rendering read (project vars, --vars, the call's default), with a hash of the value it gave: state:modified.vars. */
  vars?: Record<string, string>;
  relation: Relation;
  /** RELATION_CONFIGS set in config(), as written: what state:modified.relation compares. */
  unrendered_config?: Record<string, string>;
  /** The SELECT whose rows are versioned. */
  compiled_sql: string;
  compiled_path: string;
}

export interface SourceNode {
  unique_id: string;
  resource_type: 'source';
  name: string;
  source_name: string;
  file: string;
  line: number;
  description?: string;
  /** The description of the source the table is declared in (dbt's source_description). */
  source_description?: string;
  relation: Relation;
  loaded_at_field?: string;
  freshness?: Freshness;
  columns: ColumnInfo[];
  tags: string[];
  meta?: Record<string, unknown>;
  /** The `meta` of the source the table is declared in (dbt's source_meta). */
  source_meta?: Record<string, unknown>;
  /** `vigil sync` settings: the table's own block merged with its source's `from`/`schema`. */
  sync?: {
    from: string;
    schema: string;
    primary_key: string[];
    cursor: string;
    batch_size: number;
    lookback_seconds: number;
    /** the settings the table leaves to their defaults (what it declares is compared by state:modified, not a default a Vigil resolved) */
    defaults?: Array<'batch_size' | 'lookback_seconds'>;
    /** the lines of `primary_key` and `cursor` in the table's file, for messages */
    lines?: { primary_key?: number; cursor?: number };
  };
  /** BigQuery: partitioned by ingestion time, so it has the _PARTITIONTIME and _PARTITIONDATE pseudo-columns. */
  time_ingestion_partitioning?: boolean;
  /** `vigil retention` settings (docs/governance.md#retention), with where they are written. */
  retention?: RetentionConfig & {
    at: WrittenAt;
    /** apply_to: source: the target `vigil sync` reads the table from, and the table there */
    source?: { target: string; relation: Relation };
  };
}

export interface TestNode {
  unique_id: string;
  resource_type: 'test';
  name: string;
  /** dbt's fully qualified name: the project, the folders its file is in (under models/, seeds/, ...), its name. */
  fqn?: string[];
  /** generic test name (not_null, ...) or 'singular' */
  test_type: string;
  file: string;
  line?: number;
  severity: 'error' | 'warn';
  /** A generic test's `where` filter, as written (a test config, with severity and tags: state:modified.configs). */
  where?: string;
  /** dbt's fail_calc: what the test's failures are (absent: count(*)), over its failing rows (docs/models.md#thresholds-and-stored-failures). */
  fail_calc?: string;
  /** dbt's warn_if / error_if: the comparison fail_calc's value warns or fails at (absent: !=0). */
  warn_if?: string;
  error_if?: string;
  /** dbt's limit: at most this many failing rows are counted (and stored). */
  limit?: number;
  /** store_failures / store_failures_as: the failing rows are kept as this table or view (audit_relation), replaced each run. */
  store_failures_as?: 'table' | 'view';
  audit_relation?: Relation;
  /** Its `schema:` as written (where its failures go when it stores them): `config.schema`, state:modified.configs. */
  custom_schema?: string;
  /** The model or source the test is defined on (for generic tests). */
  attached_to?: string;
  column?: string;
  /**
   * The column is written unquoted, as dbt writes it, and the warehouse would not read it as the
   * name written (`my col`; `MyCol` on Postgres): a warehouse error of the test says to give the
   * column `quote: true` (generic-tests.ts writtenUnquoted).
   */
  column_unquoted?: true;
  /** A hash of its definition (a singular test's file; a generic test's name, target and arguments but its configs): state:modified.body. */
  checksum: string;
  depends_on: string[];
  /**
   * The part of depends_on it only runs after, reading nothing of it: the seed that fills the
   * source it tests (vigil build loads the seed first). Not a parent for selection: a source's
   * test comes with its source, not with the seed, and `--exclude` of the seed keeps it, as dbt's;
   * the seed's graph operators (`seed+`, `@seed`, `state:modified+`) do reach it (selector.ts).
   */
  waits_for?: string[];
  /** A singular test's project macros, directly or through other macros (state:modified.macros). */
  depends_on_macros?: string[];
  /** Each var() its SQL (a generic test's templated arguments) read (project vars, --vars, the call's default), with a hash of the value it gave: state:modified.vars. */
  vars?: Record<string, string>;

  tags: string[];
  /** A query that returns the failing rows. */
  compiled_sql: string;
  compiled_path: string;
}

/** A dashboard (dashboards/*.json): what it reads, so `vigil ls -s +dashboard:overview` works. */
export interface ExposureNode {
  unique_id: string;
  resource_type: 'exposure';
  name: string;
  type: 'dashboard';
  title: string;
  /** The dashboard's own description, when it has one (dbt's exposure description). */
  description?: string;
  file: string;
  /** Unique ids of the models its tiles read. */
  depends_on: string[];
  /** The sync state table its tiles read (vigil_sync_state, kept by `vigil sync`): a table, not a node. */
  sync_state?: Relation;
  tags: string[];
  tiles: number;
  /** A hash of the dashboard's definition (state:modified; a manifest written before it has none). */
  checksum?: string;
}

export type ManifestNode = ModelNode | SeedNode | SnapshotNode | SourceNode | TestNode | UnitTestNode | ExposureNode;

export interface Manifest {
  /** `state_format`: what its state comparisons can rely on (version.ts' STATE_FORMAT; none: 1, written before it was recorded) */
  /** `persists_descriptions`: its target's warehouse writes model and column descriptions (Dialect.persistsDescriptions) */
  metadata: { project: string; target: string; adapter: string; vigil_version: string; state_format?: number; persists_descriptions?: boolean; generated_at?: string };
  nodes: Record<string, ModelNode | SeedNode | SnapshotNode | TestNode | UnitTestNode>;
  sources: Record<string, SourceNode>;
  /** Dashboards, keyed by unique id (exposure.<project>.<name>). Not executable nodes. */
  exposures?: Record<string, ExposureNode>;
  /** unique_id -> unique ids that depend on it */
  child_map: Record<string, string[]>;
  /** Each project macro with a hash of its own text, from {% macro %} to {% endmacro %} (state:modified.macros). */
  macros?: Record<string, string>;
  /** Each project macro with a hash of its file's text: what a state of layout 1 recorded as `macros`, compared with it. */
  macro_files?: Record<string, string>;
  /** Documentation blocks ({% docs name %} in .md files), their text as written. */
  docs?: Record<string, { file: string; line: number; text: string }>;
  /**
   * The nodes enabled: false leaves out, by unique id (a selector naming one says it is disabled;
   * `fqn`: not in a manifest of an older Vigil). `model`: a unit test's, disabled with it;
   * `because`: a test's disabled with what it reads.
   */
  disabled?: Record<string, { resource_type: 'model' | 'seed' | 'snapshot' | 'test' | 'unit_test'; name: string; file: string; fqn?: string[]; model?: string; because?: string }>;
  /** project.yaml's on_run_start / on_run_end, rendered. */
  hooks?: { on_run_start: Hook[]; on_run_end: Hook[] };
}

/**
 * Keys that say where something is written: a file, a line or column (a number: `column` is also
 * retention's column, a name), the lines of a sync block's keys, where a config or retention is
 * written. None says what a node is, so state comparisons leave them out.
 */
const POSITIONS: Record<string, (v: unknown) => boolean> = {
  file: (v) => typeof v === 'string',
  line: (v) => typeof v === 'number',
  column: (v) => typeof v === 'number',
  lines: () => true,
  at: () => true,
  config_at: () => true,
  retention_at: () => true,
};
/** Maps a person fills in with keys of their own: kept whole. */
const USER_MAPS = new Set(['meta', 'source_meta']);

/** `v` without its positions (POSITIONS), at any depth: what a state comparison of it compares. */
export function withoutPositions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutPositions);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => !Object.hasOwn(POSITIONS, k) || !POSITIONS[k](x)).map(([k, x]) => [k, USER_MAPS.has(k) ? x : withoutPositions(x)]));
}

/** What a node's own query reads: its depends_on without what only its hooks read (ModelNode.hook_depends_on). */
export function queryReads(n: { depends_on?: string[]; hook_depends_on?: string[] }): string[] {
  const all = n.depends_on ?? [];
  return n.hook_depends_on?.length ? all.filter((d) => !n.hook_depends_on!.includes(d)) : all;
}
