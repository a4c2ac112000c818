/**
 * What BigQuery's on-demand compute pricing bills for one statement, from its dry run (`vigil build
 * --dry-run`; docs/bigquery.md). BigQuery's pricing page: bytes are "rounded up to the nearest MB,
 * with a minimum 10 MB data processed per table referenced by the query, and with a minimum 10 MB
 * data processed per query" (a MB taken as 2^20 bytes: 10 MB = 10,485,760 bytes). A script is
 * billed statement by statement, each its own job.
 * The DDL reference's on-demand size table: `CREATE TABLE`, `CREATE VIEW`, `DROP TABLE` and `DROP
 * VIEW` process nothing (free); `CREATE TABLE ... AS SELECT` is billed as its query; DML by the
 * bytes the statement processes (the same rule).
 */

/** The unit bytes are rounded up to: BigQuery's MB, 2^20 bytes. */
export const BILLING_UNIT = 2 ** 20;
/** The minimum a billed statement is charged for, and again for each table it references: 10 MB. */
export const MINIMUM_BILLED = 10 * BILLING_UNIT;

/** statistics.query.statementType of the DDL the reference says processes nothing. */
const FREE_DDL = new Set(['CREATE_TABLE', 'CREATE_VIEW', 'DROP_TABLE', 'DROP_VIEW']);

/** What a dry run says of one statement: its bytes, how many distinct tables it references (`statistics.query.referencedTables`), its statement type. */
export interface DryRunFigures {
  bytesProcessed: number;
  referencedTables: number;
  statementType?: string;
}

/**
 * The bytes on-demand pricing bills for the statement: 0 for DDL that processes nothing, and for a
 * statement that processes nothing (`select 1`, an empty table, partitions pruned to none, a
 * count(*) answered from metadata: BigQuery bills no minimum for a query that reads no data);
 * otherwise its bytes rounded up to the MB, at least 10 MB for each table it references and at
 * least 10 MB.
 */
export function onDemandBytesBilled(s: DryRunFigures): number {
  if (s.statementType && FREE_DDL.has(s.statementType)) return 0;
  if (s.bytesProcessed <= 0) return 0;
  return Math.max(Math.ceil(s.bytesProcessed / BILLING_UNIT) * BILLING_UNIT, MINIMUM_BILLED * Math.max(1, s.referencedTables));
}

/** How many distinct tables a dry run's `statistics.query.referencedTables` names. */
export function countReferencedTables(tables: Array<{ projectId?: string; datasetId?: string; tableId?: string }> | undefined): number {
  return new Set((tables ?? []).map((t) => `${t.projectId ?? ''}.${t.datasetId ?? ''}.${t.tableId ?? ''}`)).size;
}
