/**
 * The `type: bigquery` target config: project, dataset, location, credentials (a key file
 * path, the key JSON itself, or application default credentials when empty), job settings;
 * and the model config keys only BigQuery acts on.
 */
import { z } from 'zod';

export const bigQueryConfigSchema = z
  .object({
    type: z.literal('bigquery'),
    /** GCP project that runs the jobs and holds the datasets, e.g. "{{ env_var('AI_AUDIT_BQ_PROJECT') }}" */
    project: z.string().min(1, 'project is empty (is the environment variable set?)'),
    /** the default dataset models are built in */
    dataset: z.string().min(1),
    location: z.string().optional(),
    /** a key file path or the key JSON itself; omitted: application default credentials */
    credentials: z.string().optional(),
    maximum_bytes_billed: z.number().int().positive().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    timeout_ms: z.number().int().positive().optional(),
    priority: z.enum(['interactive', 'batch']).optional(),
    /** USD per TiB for the dry-run cost estimate (on-demand pricing) */
    price_per_tib_usd: z.number().positive().optional(),
  })
  .strict();

export type BigQueryTargetConfig = z.infer<typeof bigQueryConfigSchema>;

/**
 * Model config keys BigQuery acts on (docs/bigquery.md). Every target accepts them, since one
 * project builds on DuckDB in development and BigQuery in production; the others ignore them.
 */
export const bigQueryModelConfig = {
  cluster_by: z.union([z.string(), z.array(z.string())]),
  labels: z.record(z.string(), z.string()),
  partition_expiration_days: z.number(),
  require_partition_filter: z.boolean(),
};
