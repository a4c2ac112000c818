/**
 * What Vigil knows about one kind of warehouse, exported by `adapters/<name>/index.ts` and
 * listed once in `adapters/registry.ts`. Compile, sync, alerts, dashboards and the CLI ask
 * this descriptor (its dialect, its capability flags, its lazy `open`) and never compare a
 * warehouse `type`. Importing a descriptor loads no database driver.
 *
 * @example a new warehouse: adapters/acme/index.ts exporting
 *   `export const warehouse: Warehouse<AcmeConfig> = { type: 'acme', configSchema, dialect, capabilities, location, open }`
 *   and one line in adapters/registry.ts: `export { warehouse as acme } from './acme/index.js';`
 */
import type { ZodType } from 'zod';
import type { Adapter, MaterializeRequest } from './adapter.js';
import type { Dialect, Relation } from './dialect.js';

export interface Capabilities {
  /** DDL and DML of one connection commit or roll back together (a failed rebuild leaves the old relation). */
  transactions: boolean;
  /** PRIMARY KEY constraints are enforced (Vigil's state tables rely on them instead of re-reading). */
  primaryKeys: boolean;
  /** Tables take `partition_by` / `cluster_by` (and `require_partition_filter`). */
  partitions: boolean;
  /** Relations take GRANTs. */
  grants: boolean;
  /** Runs DuckDB's SQL itself: `vigil demo` generates straight into it instead of loading generated files. */
  duckdbSql: boolean;
  /** `vigil sync` can read source tables from it (`adapter.syncReader()`). */
  syncSource: boolean;
  /** Dry runs report the bytes a statement would process (`vigil build --dry-run`). */
  dryRun: boolean;
  /**
   * Loading a local file is cheap and in-process, and `adapter.replaceTable` swaps a table in:
   * seeds are loaded speculatively while Vigil still checks them (default false).
   */
  speculativeLoads?: boolean;
  /**
   * The database is a file one process (and one handle) opens at a time: `vigil serve` opens
   * it per job and holds no second handle meanwhile, e.g. to renew a job's lease (default false).
   */
  singleProcess?: boolean;
  /**
   * Looking rows up by a column's values (`where event_id in (...)`) in a long table wants an
   * index on it (a row store: Postgres); a columnar engine scans the column faster than it keeps
   * an index up to date (DuckDB), and BigQuery has none (default false).
   */
  lookupIndexes?: boolean;
}

/** A problem with a target config that its zod schema cannot express, at one of its keys. */
export interface ConfigProblem {
  key: string;
  message: string;
  hint?: string;
}

export interface OpenContext {
  /** The project root: relative paths in the config are resolved against it. */
  root: string;
  /** How many statements may run at once (connection pool size). */
  threads: number;
  /** The target's name in project.yaml, for messages. */
  target?: string;
  /**
   * The target is only read (a `vigil sync` source: the application's database): nothing may be
   * created in it, and a role that may only read must do (the helper functions a warehouse
   * installs for models are left out).
   */
  readOnly?: boolean;
}

/** What a checker is opened with: the context of a connection, and whether the check is of a selection. */
export interface CheckContext extends OpenContext {
  /** the check is of a selection (-s, --exclude): part of the project's statements only */
  partial?: boolean;
  /** the project's target folder (`paths.target`, relative to `root`; default `target`): a checker keeps its caches in its `.cache/` */
  targetPath?: string;
}

export interface BiIdentity {
  /** The name people use ("BigQuery"). */
  title: string;
  /** Connection or database names that mean this warehouse ("bigquery", "bq_prod"). */
  names?: RegExp;
  /** Metabase's engine names whose SQL is this warehouse's. */
  metabaseEngines: string[];
  /** Where BI tools usually read in production (a project with such a target exports for it). */
  production?: boolean;
}

export interface WarehouseSchemas<C extends Record<string, unknown> = Record<string, unknown>> {
  /** The target's YAML (strict: an unknown key is reported at its line). */
  config: ZodType<C>;
  /** Model config keys only this warehouse acts on; every target accepts them (one project, many targets). */
  model?: Record<string, ZodType>;
}

export interface Warehouse<C extends Record<string, unknown> = Record<string, unknown>> {
  /** The `type:` of a target in project.yaml. */
  readonly type: string;
  /**
   * Its YAML schemas, imported on demand (`() => import('./x-config.js')...`): a command that
   * only connects to a target it resolved before (an alert evaluation from the project
   * snapshot) loads no zod.
   */
  readonly schemas: () => Promise<WarehouseSchemas<C>>;
  readonly dialect: Dialect;
  readonly capabilities: Capabilities;
  /** The incremental_strategy values it runs, when not all of them (BigQuery: no delete+insert, as dbt-bigquery). */
  readonly incrementalStrategies?: ReadonlyArray<'append' | 'merge' | 'delete+insert' | 'insert_overwrite'>;
  /**
   * What it keeps at most, where compile can check it before a build fails midway: a table's or
   * view's description and a column's, in characters; partitions in one table; labels on one
   * table, view or job (those Vigil adds itself included).
   */
  readonly limits?: { tableDescription?: number; columnDescription?: number; partitions?: number; labels?: number };
  /** How BI tools know this warehouse (dashboards export and publish warn when the SQL is another warehouse's). */
  readonly bi: BiIdentity;
  /** Checks across keys of a validated config. */
  checkConfig?(config: C): ConfigProblem[];
  /** Why it refuses a schema name (BigQuery: a dataset's), said at compile; undefined when it takes it. */
  schemaNameProblem?(name: string): string | undefined;
  /** Why it refuses the name of a table or view it builds (BigQuery: a table ID's characters), said at compile; undefined when it takes it. */
  tableNameProblem?(name: string): string | undefined;
  /**
   * The schema models are built in by default, the database relations are qualified with, and
   * the name of the database for templates (`{{ target.database }}`) when relations are not
   * qualified with it (DuckDB's catalog, Postgres' database).
   */
  location(config: C): { schema: string; database?: string; catalog?: string };
  /**
   * --defer: how a run on target `here` reads the relations a run on `there` (another target of
   * this type) built: as they are on this connection (undefined), after attaching a database
   * file read-only (`attach`: its absolute path, under the database name `as`), or not at all
   * (`refuse`: why, for the user).
   */
  deferral?(here: C, there: C, ctx: { root: string; there: string }): { attach: string; as: string } | { refuse: string } | undefined;
  /**
   * `vigil init --from-dbt`: a dbt profiles.yml output of this `type` as this warehouse's target
   * config (without `type`), or undefined when it cannot be converted (the reason told to `o`).
   */
  fromDbtOutput?(o: DbtOutputReader): Record<string, unknown> | undefined;
  /** `vigil init --from-dbt`: dbt's adapter loads a seed column of numbers with decimals as an exact numeric (dbt-postgres), where Vigil infers a float: said per seed. */
  readonly dbtSeedsInferNumeric?: boolean;
  /** `vigil init --from-dbt`: how this warehouse types a seed's column_types as dbt passes them (what Vigil's load does not keep is listed); absent: Postgres' rules */
  readonly dbtSeedTypes?: DbtSeedTypes;
  /** The files it writes on disk (its database file, relative to the project's root or absolute): `--watch` takes no change of them for an edit. */
  localFiles?(config: C): string[];
  /** Connect (importing the driver only now). */
  open(config: C, ctx: OpenContext): Promise<Adapter>;
  /**
   * Import the driver without connecting: after it, `open` reaches the driver's own (threaded)
   * work at once, and a command can do its other work meanwhile (`vigil alerts evaluate`).
   */
  prepare?(): Promise<void>;
  /** `vigil check`: type-check the compiled SQL against the declared columns, without building anything. */
  checker?(config: C, ctx: CheckContext): Promise<Checker>;
  /** `vigil debug`: can this target be used? Credentials, reachability, schema, a trivial query: each a step. */
  debug?(config: C, ctx: OpenContext): AsyncGenerator<DebugStep>;
  /**
   * Unit tests of models run on the target itself (as dbt runs them), compiled in its dialect: a
   * session of one connection. Without it they run in the offline engine (an in-memory DuckDB),
   * with its spelling of the helpers, and the run says so.
   */
  unitSession?(config: C, ctx: OpenContext): Promise<UnitSession>;
}

/** A query's result as the unit test runner compares it. */
export interface UnitResultSet {
  names: string[];
  /** each column's type as the engine spells it in a cast (`numeric(10,2)`, `DECIMAL(10,2)`) */
  types: string[];
  /** values as JSON holds them: exact numbers (bigint, decimal) as their text, dates and times as text */
  rows: Array<Record<string, unknown>>;
}

/**
 * Where unit tests run: one connection, one test at a time, each in `isolated` — on a server, a
 * transaction that is rolled back (the tests' rows are CTEs: nothing is created, nothing kept).
 * A failing statement leaves the test's other statements able to run.
 */
export interface UnitSession {
  /** where the tests ran, for messages ("the target Postgres") */
  readonly engine: string;
  query(sql: string): Promise<UnitResultSet>;
  /** the columns `sql` produces, without reading its rows; undefined when it does not bind */
  columnsOf(sql: string): Promise<string[] | undefined>;
  /** why `value` (an SQL literal) does not cast to `type`; undefined when it does */
  castError(value: string, type: string): Promise<string | undefined>;
  isolated<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** One line of `vigil debug`: a check, whether it passed, and what it found (or why not). */
export interface DebugStep {
  check: string;
  ok: boolean;
  detail: string;
  /** a failed step the others depend on: nothing after it is tried */
  fatal?: boolean;
  /** failed because of the project or the environment (missing credentials...), not the warehouse: exit 2 */
  usage?: boolean;
}

/** A column as a checker sees it: the type in the warehouse's own spelling. */
/** A source table as `vigil check` declares it. */
export interface DeclaredTable {
  /** `vigil sync` creates it from a Postgres table: its declared column types are Postgres'. */
  synced?: boolean;
  /** partitioned by ingestion time (BigQuery's _PARTITIONTIME and _PARTITIONDATE) */
  timeIngestionPartitioning?: boolean;
  /** Vigil creates it (a seed): its column names must be ones the warehouse takes. */
  created?: boolean;
}

export interface CheckColumn {
  name: string;
  type: string;
}

/**
 * What a checker says about a statement. A problem's position is relative to `sql`, the text
 * that was analyzed (the model's SELECT, or a statement wrapping it).
 */
export type CheckOutcome =
  | { ok: true; columns: CheckColumn[] }
  | {
      ok: false;
      message: string;
      sql: string;
      position?: { line: number; column?: number };
      /** a rule of Vigil's own (partition_by, cluster_by, ...) rather than the analyzer */
      rule?: string;
      /** a model's output columns, when its SELECT was fine and a statement built around it failed */
      columns?: CheckColumn[];
    };

/**
 * Type-checks statements against relations declared from the project's YAML, in DAG order: a
 * model's output columns are what its dependents see. Nothing reaches the warehouse's data.
 */
export interface Checker {
  /** Where the analysis runs, for the summary line ("Google's SQL analyzer (ZetaSQL)", "an in-memory DuckDB"). */
  readonly engine: string;
  /** How many `query` calls may run at once (models are always checked one after another, in DAG order). */
  readonly concurrency: number;
  /**
   * Declare a source table. A column whose type the warehouse does not know comes back by name (an
   * empty name: the table). `table`: what the project says of it besides its columns.
   */
  declare(rel: Relation, columns: CheckColumn[], table?: DeclaredTable): Promise<Array<{ column: string; message: string }>>;
  /**
   * A model: its SELECT, then the exact statements the adapter would send to build it (and,
   * for incremental models, to update it), each checked; afterwards the relation is declared
   * with the model's output columns.
   */
  model(req: MaterializeRequest): Promise<CheckOutcome>;
  /**
   * A SELECT someone reads with (a data test, an alert, a dashboard tile). `partial`: SQL that is
   * never sent on its own (an ephemeral model, inlined where it is used): rules about what a
   * statement may read do not apply to it alone.
   */
  query(sql: string, opts?: { partial?: boolean }): Promise<CheckOutcome>;
  /**
   * A statement Vigil sends that writes (an INSERT, UPDATE, DELETE: a snapshot's later run),
   * checked against the relations declared so far and never run. Its outcome has no columns.
   */
  statement(sql: string): Promise<CheckOutcome>;
  /** Whether a declared column type and the type the analyzer inferred are the same kind of value. */
  sameType(declared: string, inferred: string): boolean;
  close(): Promise<void>;
  /** After close: one line on what this check reused from earlier ones (a checker that keeps nothing: undefined). */
  reused?(): string | undefined;
}

/** One output of a dbt profiles.yml, as `Warehouse.fromDbtOutput` reads it. */
export interface DbtOutputReader {
  /** the output's name (e.g. dev) */
  readonly name: string;
  /** the output as written */
  readonly raw: Record<string, unknown>;
  /** the output's name as a piece of an environment variable name (DEV, PROD_EU) */
  readonly envName: string;
  /** A setting (now counted as converted): its value, `templated` when it reads env_var(); undefined when absent or Jinja Vigil cannot convert (reported). */
  val(key: string): { value: unknown; templated: boolean } | undefined;
  /** A secret setting: env_var() kept, a literal replaced by `{{ env_var('<envVar>') }}` and kept out of every file written. */
  secret(key: string, envVar: string, what: string): string | undefined;
  /** Settings read without a target key of their own. */
  use(...keys: string[]): void;
  /** Not converted: why, at the setting's line (a path below the output, or the output itself). */
  notConverted(at: string | string[] | undefined, message: string): void;
  /** Converted with a difference the user should know. */
  note(at: string | string[] | undefined, message: string): void;
  /** A value that must not reach any written file (an unconverted secret). */
  forbid(value: string): void;
}

/**
 * How a warehouse takes the column_types dbt passes it as written (`init --from-dbt` lists what
 * Vigil's load, a 64-bit int, a double or unbounded text, does not keep).
 */
export interface DbtSeedTypes {
  /** `sized`: integer is 32 bits, smallint 16 (Postgres, DuckDB); `int64`: every int type is 64 bits (BigQuery) */
  ints: 'sized' | 'int64';
  /** whether a float type (`real`, `float`, `float(24)`) is single precision there */
  single(base: string, size: string | undefined): boolean;
  /** `length`: varchar(n)/char(n) keep n and a bare char is char(1) (Postgres); `string(n)`: only STRING(n) keeps n (BigQuery); `ignored` (DuckDB) */
  strings: 'length' | 'string(n)' | 'ignored';
  /** what a plain `timestamp` is there: an instant (BigQuery's TIMESTAMP) or a local date-time */
  bareTimestamp: 'instant' | 'local';
}

/** The SQL standard's sizes, as Postgres has them (and a warehouse that names none). */
export const STANDARD_SEED_TYPES: DbtSeedTypes = { ints: 'sized', single: (base, size) => base === 'real' || (base === 'float' && size !== undefined && Number(size) <= 24), strings: 'length', bareTimestamp: 'local' };
