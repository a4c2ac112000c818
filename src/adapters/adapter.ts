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
