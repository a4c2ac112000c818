/**
 * The I/O surface every warehouse adapter implements, and the materialization request
 * the executor hands it. Dialects (pure SQL spelling) live beside, in dialect.ts.
 */
import type { Dialect, Relation } from './dialect.js';

export interface Column {
  name: string;
  data_type: string;
}

export type Row = Record<string, unknown>;

export interface MaterializeRequest {
  kind: 'view' | 'table' | 'incremental';
  relation: Relation;
  /** The full-build SELECT. */
  sql: string;
  /** The SELECT with is_incremental() true (incremental models only). */
  incrementalSql?: string;
  uniqueKey?: string[];
  strategy?: 'append' | 'merge' | 'delete+insert' | 'insert_overwrite';
  fullRefresh: boolean;
  onSchemaChange?: 'ignore' | 'fail' | 'append_new_columns';
  /** The model's config, for warehouse-specific options (BigQuery partitioning, clustering, labels). */
  config?: Record<string, unknown>;
  /** Documentation that warehouses which store it (BigQuery) put on the table and its columns. */
  description?: string;
  columns?: Array<{ name: string; description?: string }>;
}

export interface MaterializeResult {
  /** e.g. "created view", "created table", "inserted 120 rows" */
  message: string;
  rows?: number;
}

export interface Adapter {
  readonly type: 'duckdb' | 'bigquery' | 'postgres';
  readonly dialect: Dialect;
  /** How many statements can usefully run at once. */
  readonly maxConcurrency: number;
  execute(sql: string): Promise<void>;
  query<T extends Row = Row>(sql: string): Promise<T[]>;
  relationExists(rel: Relation): Promise<'table' | 'view' | null>;
  columns(rel: Relation): Promise<Column[]>;
  ensureSchema(schema: string): Promise<void>;
  materialize(req: MaterializeRequest): Promise<MaterializeResult>;
  close(): Promise<void>;
}

/** The column a `partition_by` config partitions on: a bare name, `{ field }`, or the column inside an expression. */
export function partitionField(p: unknown): string | undefined {
  if (!p) return undefined;
  if (typeof p === 'string') return /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? p : /\(([A-Za-z_][A-Za-z0-9_]*)/.exec(p)?.[1];
  return (p as { field?: string }).field;
}

/**
 * The columns whose values an incremental run replaces: the unique key (merge, delete+insert),
 * or the partition column (insert_overwrite: every partition the new rows touch); none for append.
 */
export function replaceKeys(req: MaterializeRequest): string[] | undefined {
  const strategy = req.strategy ?? (req.uniqueKey?.length ? 'delete+insert' : 'append');
  if (strategy === 'append') return undefined;
  if (strategy === 'insert_overwrite') {
    const f = partitionField(req.config?.partition_by);
    if (!f) throw new Error('incremental_strategy insert_overwrite needs partition_by (the column whose partitions are replaced)');
    return [f];
  }
  return req.uniqueKey?.length ? req.uniqueKey : undefined;
}
