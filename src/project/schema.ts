/**
 * Zod schemas for every YAML file a project holds: project.yaml, model properties and
 * sources. Strict objects, so a typo in a key is reported at its line instead of ignored.
 */
import { z } from 'zod';
import { warehouseModelConfig } from '../adapters/index.js';
import { Duration } from '../time/duration-schema.js';
import { checkBaseUrl, checkLinkTemplate } from '../dashboards/base-url.js';
import { GRANTS_MODES, INCREMENTAL_STRATEGIES, MATERIALIZATIONS, ON_SCHEMA_CHANGE, SNAPSHOT_STRATEGIES } from './config-choices.js';

/** Config values people write in any case ('TIMESTAMP', 'Day'). */
const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

export { MATERIALIZATIONS };
export type Materialization = (typeof MATERIALIZATIONS)[number];

/**
 * A model's hook: one SQL statement (a template), or dbt's `{sql, transaction}`, where
 * transaction: false runs it outside the model's transaction (docs/models.md#hooks).
 */
const HookSql = z.string().min(1);
const HookMapping = z.object({ sql: z.string().min(1), transaction: z.boolean().optional() }).strict();
const Hook = z.union([HookSql, HookMapping]);
export type HookValue = z.infer<typeof Hook>;
/** A model's pre_hook/post_hook: one hook or a list of them, run in order (one union: its mistakes are explained at their key). */
const HookList = z.union([HookSql, HookMapping, z.array(Hook)]);
/** on_run_start/on_run_end: statements, each run by itself (never in a transaction). */
const RunHookList = z.union([HookSql, z.array(HookSql)]);

/**
 * `retention:` of a model or a source table (docs/governance.md#retention): rows whose `column`
 * is older than `keep` are what `vigil retention plan` counts and `vigil retention apply` deletes.
 */
const retentionKeys = {
  /** the timestamp (or date) column that says how old a row is */
  column: z.string().min(1),
  /** how long rows are kept: a duration (90d, 7y: calendar years) */
  keep: Duration,
  /** a column holding a per-row retention period in days; a row with a value there is kept that many days instead of `keep` (never less than the project's retention.minimum) */
  override_days: z.string().min(1).optional(),
  /** rows deleted per transaction (default 50,000) */
  batch_size: z.number().int().positive().max(10_000_000).optional(),
};
export const ModelRetentionSchema = z.object(retentionKeys).strict();
/** On a source table, `apply_to: source` deletes in the database `vigil sync` reads it from (opt-in); the default is the warehouse copy. */
export const SourceRetentionSchema = z.object({ ...retentionKeys, apply_to: z.enum(['warehouse', 'source']).optional() }).strict();
export type RetentionConfig = z.infer<typeof SourceRetentionSchema>;

/** Masking policies a column may have (docs/governance.md#masking): how its published relation shows it. */
export const POLICIES = ['mask', 'hash', 'redact', 'drop'] as const;
export type Policy = (typeof POLICIES)[number];

/** `grants: { select: [principal, ...] }`: who may read a relation (Postgres roles, BigQuery IAM members). */
export const GrantsSchema = z.object({ select: z.array(z.string().min(1)) }).strict();
export type Grants = z.infer<typeof GrantsSchema>;
/**
 * A model's `grants:`: `select` replaces what an outer level (defaults, a folder, the properties
 * YAML) grants; dbt's `+select` adds to it (the merged config holds `select` only).
 */
export const ModelGrantsSchema = z
  .object({ select: z.array(z.string().min(1)).optional(), '+select': z.array(z.string().min(1)).optional() })
  .strict()
  .refine((g) => (g.select === undefined) !== (g['+select'] === undefined), {
    message: "takes select (the principals: replaces what an outer level grants) or +select (added to what the outer levels grant, as dbt's +), one of them",
  });

/** Model config keys of the registered warehouses (their schemas are imported on demand). */
const WAREHOUSE_MODEL_CONFIG = await warehouseModelConfig();

/** Every key `config()` and the YAML `config:` block accept. Others are E_CONFIG errors. */
export const ModelConfigSchema = z
  .object({
    materialized: z.enum(MATERIALIZATIONS),
    schema: z.string().min(1),
    alias: z.string().min(1),
    tags: z.union([z.string(), z.array(z.string())]),
    enabled: z.boolean(),
    /** null (dbt's None, `var('uk', none)`): no key, as if not set, and over a key an outer level sets */
    unique_key: z.union([z.string().min(1, 'is empty: name a column, or a list of columns'), z.array(z.string().min(1, 'is empty: name a column')).min(1)]).nullable(),
    incremental_strategy: z.enum(INCREMENTAL_STRATEGIES),
    on_schema_change: z.enum(ON_SCHEMA_CHANGE),
    full_refresh: z.boolean(),
    pre_hook: HookList,
    post_hook: HookList,
    meta: z.record(z.string(), z.unknown()),
    description: z.string(),
    /** rows older than `keep` are deleted by `vigil retention apply` (docs/governance.md#retention) */
    retention: ModelRetentionSchema,
    /** read access to the published relation, applied after each build (docs/governance.md#grants) */
    grants: ModelGrantsSchema,
    /** replace (default): grants not in the config are revoked; add: only granted */
    grants_mode: z.enum(GRANTS_MODES),
    /** an unmasked companion `<model>__restricted` (a view), readable by its own grantees only */
    restricted: z.object({ grants: GrantsSchema.optional() }).strict(),
    /** the partition column (insert_overwrite replaces the partitions new rows touch): a column,
     * `{ field, data_type, granularity }`, or an expression like `date(created_at)` */
    partition_by: z.union([
      z.string().min(1),
      z
        .object({
          field: z.string().min(1),
          data_type: z.preprocess(lower, z.enum(['date', 'timestamp', 'datetime', 'int64'])).optional(),
          granularity: z.preprocess(lower, z.enum(['hour', 'day', 'month', 'year'])).optional(),
          /** int64 partitioning (BigQuery's RANGE_BUCKET): the partitions' bounds */
          range: z.object({ start: z.number().int(), end: z.number().int(), interval: z.number().int().positive() }).strict().optional(),
        })
        .strict()
        .refine((p) => (p.data_type === 'int64') === (p.range !== undefined), { message: "data_type: int64 goes with range: { start, end, interval } (integer-range partitions), and range only with data_type: int64" })
        // (as in dbt-bigquery: granularity cuts date, timestamp and datetime partitions; it did nothing on int64)
        .refine((p) => !(p.data_type === 'int64' && p.granularity !== undefined), { path: ['granularity'], message: 'applies to date, timestamp and datetime partitions only (as in dbt-bigquery); an int64 partition is cut by its range: remove it' }),
    ]),
    // keys only some warehouses act on (BigQuery: cluster_by, labels, ...): accepted for every
    // target, since one project builds on several
    ...WAREHOUSE_MODEL_CONFIG,
  })
  .partial()
  .strict();
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export const MODEL_CONFIG_KEYS = Object.keys(ModelConfigSchema.shape);

/** What config() sets in a singular test (tests/**.sql). */
export const SingularTestConfigSchema = z
  .object({
    severity: z.preprocess(lower, z.enum(['error', 'warn'])),
    tags: z.union([z.string(), z.array(z.string())]),
    enabled: z.boolean(),
    // dbt's thresholds and stored failures: their values are checked by compile/test-results-config.ts
    fail_calc: z.unknown(),
    warn_if: z.unknown(),
    error_if: z.unknown(),
    limit: z.unknown(),
    store_failures: z.unknown(),
    store_failures_as: z.unknown(),
    schema: z.unknown(),
  })
  .partial();

const Period = z.enum(['minute', 'hour', 'day']);
const FreshnessRule = z.object({ count: z.number().positive(), period: Period }).strict();
/** A table's block is merged into its source's per key (dbt's merge_source_freshness); a rule set to null is no limit. */
export const FreshnessSchema = z
  .object({ warn_after: FreshnessRule.nullable().optional(), error_after: FreshnessRule.nullable().optional(), filter: z.string().optional() })
  .strict()
  .nullable();
export type Freshness = z.infer<typeof FreshnessSchema>;

/**
 * `- not_null`, `- accepted_values: { values: [...] }` (its arguments beside its config: or, as dbt
 * writes them since 1.10, under `arguments:`), or dbt's other form, `- test_name: accepted_values`
 * with `name:`, `arguments:` and `config:` beside it (their keys checked where the test compiles).
 */
export const TestEntrySchema = z.union([
  z.string(),
  z.record(z.string(), z.union([z.record(z.string(), z.unknown()), z.null()])),
  // (after the one-key form, whose message a mistake in it gets)
  z.object({ test_name: z.string(), name: z.string().optional(), arguments: z.unknown().optional(), config: z.record(z.string(), z.unknown()).optional() }).catchall(z.unknown()),
]);
export type TestEntry = z.infer<typeof TestEntrySchema>;

const ColumnSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    data_type: z.string().optional(),
    tests: z.array(TestEntrySchema).optional(),
    data_tests: z.array(TestEntrySchema).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).optional(),
    /** how the published relation shows this column (docs/governance.md#masking) */
    policy: z.enum(POLICIES).optional(),
    /** dbt's: the generic tests write the column's name quoted (a mixed-case "ID" on Postgres), not case-folded */
    quote: z.boolean().optional(),
  })
  .strict();
export type ColumnProps = z.infer<typeof ColumnSchema>;

const ModelPropsSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    config: ModelConfigSchema.optional(),
    columns: z.array(ColumnSchema).optional(),
    tests: z.array(TestEntrySchema).optional(),
    data_tests: z.array(TestEntrySchema).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).optional(),
  })
  .strict();
export type ModelProps = z.infer<typeof ModelPropsSchema>;

const SourceTableSchema = z
  .object({
    name: z.string().min(1),
    identifier: z.string().optional(),
    description: z.string().optional(),
    loaded_at_field: z.string().optional(),
    freshness: FreshnessSchema.optional(),
    columns: z.array(ColumnSchema).optional(),
    tests: z.array(TestEntrySchema).optional(),
    data_tests: z.array(TestEntrySchema).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).optional(),
    /** `vigil sync`: copy this table from the source database into the target */
    sync: z
      .object({
        primary_key: z.union([
          z.string().min(1, 'must name a column'),
          z
            .array(z.string().min(1, 'must name a column'))
            .min(1)
            .superRefine((cols, ctx) => {
              // (a column named twice was read as a key of two, and advised into an index on (created_at, id, id))
              cols.forEach((c, i) => {
                if (cols.indexOf(c) < i) ctx.addIssue({ code: 'custom', path: [i], message: `names '${c}' twice: each column of the key once` });
              });
            }),
        ]),
        /** a timestamp column rows are read in order of (created_at, or updated_at for tables whose rows change) */
        cursor: z.string().min(1, 'must name a timestamp column'),
        batch_size: z.number().int().positive().max(1_000_000).optional(),
        /** re-read this far behind the cursor on every delta run, e.g. 5m, 1h */
        lookback: Duration.optional(),
        enabled: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** `vigil retention`: rows older than `keep` go (docs/governance.md#retention) */
    retention: SourceRetentionSchema.optional(),
    /** BigQuery: the table is partitioned by ingestion time (it has _PARTITIONTIME and _PARTITIONDATE) */
    time_ingestion_partitioning: z.boolean().optional(),
  })
  .strict();
export type SourceTableProps = z.infer<typeof SourceTableSchema>;

const SourceSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    database: z.string().optional(),
    schema: z.string().optional(),
    loaded_at_field: z.string().optional(),
    freshness: FreshnessSchema.optional(),
    tables: z.array(SourceTableSchema).min(1),
    /** where `vigil sync` reads this source's tables from */
    sync: z
      .object({
        /** a postgres target in project.yaml: the application's database */
        from: z.string().min(1),
        /** schema in that database (default: this source's schema) */
        schema: z.string().optional(),
      })
      .strict()
      .optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).optional(),
  })
  .strict();
export type SourceProps = z.infer<typeof SourceSchema>;

const ScalarValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** A given row's value: a scalar, or a list of scalars for an array column (`[GDPR, SOC2]`). */
const GivenValue = z.union([ScalarValue, z.array(ScalarValue)]);
/** What a unit test's rows may be (zod alone says "Invalid input"). */
const ROWS_SHAPE = 'rows are a list of rows, each a map of column to value ([{ id: 1, name: a }]), or CSV text with format: csv';
const GivenSchema = z
  .object({
    /** ref('model'), source('src', 'table') or this */
    input: z.string().min(1),
    /** inline rows: a list of mappings, or CSV text when format is csv */
    rows: z.union([z.array(z.record(z.string(), GivenValue)), z.string()], { error: ROWS_SHAPE }).optional(),
    format: z.enum(['dict', 'csv']).optional(),
    /** a CSV file, relative to the project root */
    fixture: z.string().optional(),
  })
  .strict();

export const UnitTestSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)'),
    model: z.string().min(1),
    description: z.string().optional(),
    given: z.array(GivenSchema).default([]),
    vars: z.record(z.string(), z.unknown()).optional(),
    env_vars: z.record(z.string(), z.string()).optional(),
    /** frozen clock for {{ current_timestamp() }} / {{ current_date() }} (an error when the model calls neither) */
    now: z.string().optional(),
    is_incremental: z.boolean().optional(),
    expect: z
      .object({
        /** required, or fixture: (`rows: []` expects no rows) */
        rows: z.union([z.array(z.record(z.string(), ScalarValue)), z.string()], { error: ROWS_SHAPE }).optional(),
        format: z.enum(['dict', 'csv']).optional(),
        fixture: z.string().optional(),
        ordered: z.boolean().optional(),
        /** compare only the model's rows matching this SQL condition */
        where: z.string().optional(),
        /** absolute tolerance for float columns (default 1e-9); decimals compare exactly */
        tolerance: z.number().nonnegative().optional(),
      })
      .strict(),
    tags: z.array(z.string()).optional(),
  })
  .strict();
export type UnitTestProps = z.infer<typeof UnitTestSchema>;

/** How a seed's CSV is read and where it goes (`seeds:` entries' `config:`). */
export const SeedConfigSchema = z
  .object({
    /** column -> type (string, int, float, bool, date, timestamp, json, or a usual SQL spelling of them); the others are inferred */
    column_types: z.record(z.string(), z.string()).optional(),
    /** the field separator: one ASCII character, not a quote or a line break (default ,); Postgres and BigQuery split fields on one byte */
    delimiter: z
      .string()
      .refine((d) => /^[\t\x20-\x21\x23-\x7e]$/.test(d), { error: 'must be one ASCII character other than a double quote or a line break (e.g. ";", "|", a tab "\\t"): Postgres and BigQuery split fields on one byte' })
      .optional(),
    /** true: column names exactly as in the header; false (default): plain identifiers, lower-cased */
    quote_columns: z.boolean().optional(),
    schema: z.string().min(1).optional(),
    alias: z.string().min(1).optional(),
    enabled: z.boolean().optional(),
    tags: z.union([z.string(), z.array(z.string())]).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type SeedConfig = z.infer<typeof SeedConfigSchema>;

/** What config() sets in a snapshot ({% snapshot name %} ... {% endsnapshot %}). */
export const SnapshotConfigSchema = z
  .object({
    strategy: z.enum(SNAPSHOT_STRATEGIES),
    unique_key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** the column that says when a row last changed (timestamp: required; check: the versions' times, else the run's) */
    updated_at: z.string().min(1).optional(),
    /** check strategy: the columns compared ('all': every column) */
    check_cols: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).optional(),
    /** a row gone from the source closes its current version */
    invalidate_hard_deletes: z.boolean().optional(),
    /** dbt 1.9's spelling of it: invalidate (invalidate_hard_deletes: true) or ignore (false); new_record is refused */
    hard_deletes: z.enum(['ignore', 'invalidate', 'new_record']).optional(),
    target_schema: z.string().min(1).optional(),
    schema: z.string().min(1).optional(),
    alias: z.string().min(1).optional(),
    tags: z.union([z.string(), z.array(z.string())]).optional(),
    enabled: z.boolean().optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.strategy === 'timestamp' && !c.updated_at) ctx.addIssue({ code: 'custom', path: ['updated_at'], message: "strategy 'timestamp' needs updated_at: the column that says when a row changed" });
    if (c.strategy === 'check' && !c.check_cols) ctx.addIssue({ code: 'custom', path: ['check_cols'], message: "strategy 'check' needs check_cols: a list of columns, or 'all'" });
    // (dbt ignores check_cols with timestamp; accepted, it would have no effect: refused)
    if (c.hard_deletes === 'new_record')
      ctx.addIssue({ code: 'custom', path: ['hard_deletes'], message: "new_record (dbt 1.9: a deleted key gets a new version with dbt_is_deleted = 'True') is not supported: use hard_deletes: invalidate, which closes a deleted key's current version (dbt_valid_to set; a key with no current version is deleted), or ignore" });
    else if (c.hard_deletes !== undefined && c.invalidate_hard_deletes !== undefined && c.invalidate_hard_deletes !== (c.hard_deletes === 'invalidate'))
      ctx.addIssue({ code: 'custom', path: ['hard_deletes'], message: `${c.hard_deletes}, but invalidate_hard_deletes: ${c.invalidate_hard_deletes}: they disagree; keep one (hard_deletes is dbt 1.9's spelling of invalidate_hard_deletes)` });
    // (the legacy target_schema is the schema as written and wins: a schema beside it would be ignored)
    if (c.target_schema !== undefined && c.schema !== undefined && c.target_schema !== c.schema)
      ctx.addIssue({ code: 'custom', path: ['schema'], message: `'${c.schema}', but target_schema: '${c.target_schema}': they disagree, and target_schema would win; keep one (schema goes through generate_schema_name, target_schema is the schema as written)` });
    const expression = uniqueKeyExpression(c.unique_key);
    if (expression) ctx.addIssue({ code: 'custom', path: ['unique_key'], message: expression });
    if (c.strategy === 'timestamp' && c.check_cols) ctx.addIssue({ code: 'custom', path: ['check_cols'], message: "strategy 'timestamp' compares no columns (a row changed when its updated_at is later): remove check_cols, or use strategy 'check' (with updated_at, its versions start at updated_at)" });
  });
export type SnapshotConfig = z.infer<typeof SnapshotConfigSchema>;

/**
 * A unique_key (a model's or a snapshot's) written as an SQL expression, `id || '-' || day` or
 * `'id, day'`, which dbt takes: the message saying so, or undefined when each key is a column.
 * Vigil compares the key's columns, named as columns (an expression failed every incremental run).
 */
export function uniqueKeyExpression(key: string | string[] | null | undefined): string | undefined {
  const k = (Array.isArray(key) ? key : key == null ? [] : [key]).find((x) => /\|\||::|[(),]/.test(x));
  return k === undefined ? undefined : `'${k}' is an expression (dbt takes one; here a key is a column or a list of columns): list the columns it combines, unique_key=['a', 'b'], or select the expression as a column in the query`;
}

export const SNAPSHOT_CONFIG_KEYS = ['strategy', 'unique_key', 'updated_at', 'check_cols', 'invalidate_hard_deletes', 'hard_deletes', 'target_schema', 'schema', 'alias', 'tags', 'enabled', 'meta'];

/** dbt's snapshot config keys Vigil does not take, and what it does instead (an error says so, not the list of keys). */
export const UNSUPPORTED_SNAPSHOT_KEYS: Record<string, string> = {
  dbt_valid_to_current: 'not supported: a current version has dbt_valid_to NULL (select them with `where dbt_valid_to is null`; a model over the snapshot can coalesce it to a date)',
  snapshot_meta_column_names: "not supported: Vigil's snapshot columns are dbt_valid_from, dbt_valid_to, dbt_updated_at, dbt_scd_id (rename them in a model over the snapshot)",
};

/** A snapshot's config as it runs: dbt 1.9's hard_deletes (ignore, invalidate) as invalidate_hard_deletes. */
export function snapshotRunConfig<T extends SnapshotConfig>(c: T): T {
  return c.hard_deletes === undefined ? c : { ...c, invalidate_hard_deletes: c.hard_deletes === 'invalidate' };
}

const SeedPropsSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    config: SeedConfigSchema.optional(),
    columns: z.array(ColumnSchema).optional(),
    tests: z.array(TestEntrySchema).optional(),
    data_tests: z.array(TestEntrySchema).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type SeedProps = z.infer<typeof SeedPropsSchema>;

/** dbt 1.9's YAML snapshot: `relation: source('app', 'customers')` or `ref('x')`, its config. */
const SnapshotPropsSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)'),
    description: z.string().optional(),
    /** dbt 1.9: what the snapshot selects; without it, the properties of a {% snapshot %} block of that name */
    relation: z.string().min(1).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    columns: z.array(ColumnSchema).optional(),
    tests: z.array(TestEntrySchema).optional(),
    data_tests: z.array(TestEntrySchema).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type SnapshotProps = z.infer<typeof SnapshotPropsSchema>;

export const PropertiesFileSchema = z
  .object({
    version: z.number().optional(),
    /** dbt 1.10's home for YAML anchors (`- &nn [not_null]`, used as `tests: *nn`): read only through its aliases */
    anchors: z.unknown().optional(),
    models: z.array(ModelPropsSchema).optional(),
    seeds: z.array(SeedPropsSchema).optional(),
    snapshots: z.array(SnapshotPropsSchema).optional(),
    sources: z.array(SourceSchema).optional(),
    unit_tests: z.array(UnitTestSchema).optional(),
  })
  .strict();
export type PropertiesFile = z.infer<typeof PropertiesFileSchema>;

/** A target's own keys are validated by its warehouse's schema (adapters/<type>/<type>-config.ts). */
export const TargetSchema = z.object({ type: z.string().min(1) }).passthrough();

export const ProjectFileSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)'),
    version: z.union([z.string(), z.number()]).optional(),
    default_target: z.string().optional(),
    targets: z.record(z.string(), TargetSchema).refine((t) => Object.keys(t).length > 0, 'at least one target is required'),
    vars: z.record(z.string(), z.unknown()).optional(),
    paths: z
      .object({
        models: z.string().optional(),
        macros: z.string().optional(),
        tests: z.string().optional(),
        alerts: z.string().optional(),
        dashboards: z.string().optional(),
        seeds: z.string().optional(),
        snapshots: z.string().optional(),
        target: z.string().optional(),
      })
      .strict()
      .optional(),
    defaults: ModelConfigSchema.optional(),
    /** docs/governance.md#masking: require_policy makes a PII column without a policy an error */
    masking: z.object({ require_policy: z.boolean().optional() }).strict().optional(),
    /** What `vigil clean` removes besides the target folder: folders under the project root. */
    clean_targets: z.array(z.string().min(1)).optional(),
    /** Folder-level model configs (`staging: { +materialized: view }`): checked by compile/folder-config.ts, which knows the folders. */
    models: z.unknown().optional(),
    /** Statements run once before the first node of run/test/build, and once after the last. */
    on_run_start: RunHookList.optional(),
    on_run_end: RunHookList.optional(),
    /** Where `vigil alerts` keeps its state: in the warehouse (shared by scheduled CI runs) or a local file. */
    alerts: z
      .object({
        state: z.enum(['warehouse', 'file']).optional(),
        state_file: z.string().optional(),
        /** How long an evaluation may hold the state lock before another run may take it over. */
        lock_lease: Duration.optional(),
        /** Write every fired and resolved alert to vigil_alert_events in the target schema (default true; docs/alerts.md#history-vigil_alert_events). */
        history: z.boolean().optional(),
      })
      .strict()
      // a state_file goes with state: file: without it the state is the warehouse's and the file
      // would be ignored (an older Vigil did so silently). Not taken to mean state: file: the
      // alerts firing in the warehouse's state would fire again from an empty file
      .superRefine((a, ctx) => {
        if (a.state !== 'file' && a.state_file !== undefined)
          ctx.addIssue({ code: 'custom', path: ['state_file'], message: `the state is kept in the warehouse unless state: file is set${a.state === 'warehouse' ? ' (state: warehouse)' : ''}, so no file would be read or written: remove state_file, or add state: file (the alerts firing in the warehouse's state then start afresh in the file and notify again)` });
      })
      .optional(),
    /** `vigil retention` (docs/governance.md#retention): the shortest `keep` apply accepts without --force (default 30d). */
    retention: z.object({ minimum: Duration.optional() }).strict().optional(),
    /** `vigil serve`: its HTTP address, job leases, health thresholds (docs/operations.md). */
    serve: z
      .object({
        /** host:port (or a bare port) of /health, /internal/analytics-sync and /metrics (--listen overrides it) */
        listen: z.union([z.string().min(1), z.number().int()]).optional(),
        /** How long a job's lease holds before another `serve` may take the job over (renewed while it runs). */
        lease: Duration.optional(),
        /**
         * This host runs this project's one serve at a time (a restarted container): a lease holder
         * with this host name in another PID namespace is judged by its pid, as before namespaces
         * were recorded, so a restarted container takes its earlier process's job over at once.
         */
        single_host: z.boolean().optional(),
        /** /health answers 503 when a synced stream's last successful sync is older than this. */
        max_sync_age: Duration.optional(),
        /** ...or when the newest source row it saw is older than this (unset: not judged). */
        max_data_lag: Duration.optional(),
        /** SIGTERM: how long the running job may take to stop at a safe point before the process exits anyway. */
        grace: Duration.optional(),
      })
      .strict()
      .optional(),
    /** `vigil serve`'s jobs by name: checked by serve/config.ts (which keys go with which command, cron, time zone). */
    schedules: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'a schedule name is letters, digits, _ and -'),
        z
          .object({
            command: z.string().min(1),
            cron: z.string().min(1).optional(),
            timezone: z.string().min(1).optional(),
            select: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
            exclude: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
            mode: z.enum(['delta', 'full']).optional(),
            lookback: Duration.optional(),
            build_after: z.boolean().optional(),
            full_refresh: z.boolean().optional(),
            threads: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .optional(),
    /** `vigil dashboards render`: where the site is served (docs/dashboards.md). */
    dashboards: z
      .object({
        /** The site's links absolute under this URL (http(s)://host/path or /path), and root-relative tile links (app routes) too; unset: relative links, app routes not linked. */
        base_url: z
          .string()
          .superRefine((u, ctx) => {
            const r = checkBaseUrl(u);
            if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error });
          })
          .optional(),
        /**
         * Link templates tiles refer to by name (`links: [{ template, params }]`), e.g. a
         * PagerDuty incident draft: an http(s) URL with {{ param }} placeholders the tile fills.
         */
        links: z
          .record(
            z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a link template name is an identifier (letters, digits, _)'),
            z.string().superRefine((u, ctx) => {
              const e = checkLinkTemplate(u);
              if (e) ctx.addIssue({ code: 'custom', message: e });
            }),
          )
          .optional(),
      })
      .strict()
      .optional(),
    /** `vigil demo` settings: which source schema it fills. */
    demo: z.object({ schema: z.string().optional() }).strict().optional(),
  })
  .strict();
export type ProjectFile = z.infer<typeof ProjectFileSchema>;
