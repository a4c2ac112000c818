/**
 * BigQuery, the production warehouse: everything Vigil knows about it. The client
 * (`@google-cloud/bigquery`) is imported by `open` only.
 */
import type { Warehouse } from '../warehouse.js';
import { bigQueryFromDbt } from './bigquery-from-dbt.js';
import type { BigQueryTargetConfig } from './bigquery-config.js';
import { bigQueryDialect } from './bigquery-dialect.js';

/**
 * Why BigQuery refuses a dataset name: its docs say a dataset ID is letters (a-z, A-Z), numbers
 * (0-9) and underscores, at most 1,024 characters.
 */
function datasetNameProblem(name: string): string | undefined {
  if (/^[A-Za-z0-9_]{1,1024}$/.test(name)) return undefined;
  return `BigQuery refuses the dataset name '${name.length > 80 ? `${name.slice(0, 80)}...` : name}': a dataset name is letters, digits and _, at most 1,024 characters${name.length > 1024 ? ` (it has ${name.length})` : ''}`;
}

/**
 * Why BigQuery refuses a table or view name: its docs ("Table naming", TableReference.tableId)
 * take letters, marks, numbers, connectors (_), dashes and spaces, at most 1,024 UTF-8 bytes: a
 * `.` splits the path, a `$` is a partition decorator.
 */
function tableNameProblem(name: string): string | undefined {
  const bad = /[^\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]/u.exec(name);
  if (bad) return `BigQuery refuses '${bad[0]}' in the table name '${name}' (a table or view name is letters, marks, numbers, _, dashes and spaces)`;
  const bytes = Buffer.byteLength(name, 'utf8');
  return bytes > 1024 ? `BigQuery takes table names of at most 1,024 UTF-8 bytes; '${name.slice(0, 60)}...' has ${bytes.toLocaleString('en-US')}` : undefined;
}

/** Labels BigQuery takes on one table, view or job (Google Cloud's "Requirements for labels"). */
const MAX_LABELS = 64;

export const warehouse: Warehouse<BigQueryTargetConfig> = {
  dbtSeedTypes: { ints: 'int64', single: () => false, strings: 'string(n)', bareTimestamp: 'instant' },
  type: 'bigquery',
  schemas: async () => {
    const { bigQueryConfigSchema, bigQueryModelConfig } = await import('./bigquery-config.js');
    return { config: bigQueryConfigSchema, model: bigQueryModelConfig };
  },
  dialect: bigQueryDialect,
  capabilities: { transactions: false, primaryKeys: false, partitions: true, grants: true, duckdbSql: false, syncSource: false, dryRun: true },
  // (as dbt-bigquery: a MERGE cannot delete a key's rows and insert several; delete+insert was run as a merge)
  incrementalStrategies: ['merge', 'insert_overwrite', 'append'],
  // a table's or view's description and a column's (TableFieldSchema.description), partitions in a
  // table (its quotas: "Maximum number of partitions per partitioned table"), labels on a table,
  // view or job ("Each resource can have up to 64 labels")
  limits: { tableDescription: 16_384, columnDescription: 1_024, partitions: 10_000, labels: MAX_LABELS },
  bi: { title: 'BigQuery', names: /bigquery|(^|[^a-z])bq([^a-z]|$)/i, metabaseEngines: ['bigquery-cloud-sdk', 'bigquery'], production: true },
  location: (config) => ({ schema: config.dataset, database: config.project }),
  checkConfig(config) {
    const problem = datasetNameProblem(config.dataset);
    const out = problem ? [{ key: 'dataset', message: problem, hint: `e.g. dataset: ${config.dataset.replace(/[^A-Za-z0-9_]+/g, '_').slice(0, 1024) || 'analytics'}` }] : [];
    // every job carries these and tool=vigil: one more than BigQuery takes fails every job
    const labels = Object.keys(config.labels ?? {}).length;
    if (labels + 1 > MAX_LABELS) out.push({ key: 'labels', message: `${labels} labels, and Vigil adds tool=vigil to every job, table and view: BigQuery takes at most ${MAX_LABELS} labels on one`, hint: `keep at most ${MAX_LABELS - 1}` });
    return out;
  },
  schemaNameProblem: datasetNameProblem,
  tableNameProblem,
  fromDbtOutput: bigQueryFromDbt,
  async open(config, ctx) {
    const { BigQueryAdapter } = await import('./bigquery-adapter.js');
    return BigQueryAdapter.open(config, ctx.threads, undefined, ctx.target, ctx.root);
  },
  async checker(config, ctx) {
    const { BigQueryChecker } = await import('./bigquery-check.js');
    return BigQueryChecker.open(config, ctx.root, ctx.partial, ctx.targetPath);
  },
  async *debug(config, ctx) {
    const { debugBigQuery } = await import('./bigquery-debug.js');
    yield* debugBigQuery(config, ctx);
  },
};
