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
import type { Adapter } from './adapter.js';
import type { Dialect } from './dialect.js';

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
}

export interface Warehouse<C extends Record<string, unknown> = Record<string, unknown>> {
  /** The `type:` of a target in project.yaml. */
  readonly type: string;
  /** The target's YAML (strict: an unknown key is reported at its line). */
  readonly configSchema: ZodType<C>;
  /** Model config keys only this warehouse acts on; every target accepts them (one project, many targets). */
  readonly modelConfig?: Record<string, ZodType>;
  readonly dialect: Dialect;
  readonly capabilities: Capabilities;
  /** Checks across keys of a validated config. */
  checkConfig?(config: C): ConfigProblem[];
  /** The schema models are built in by default, and the database relations are qualified with. */
  location(config: C): { schema: string; database?: string };
  /** Connect (importing the driver only now). */
  open(config: C, ctx: OpenContext): Promise<Adapter>;
}
