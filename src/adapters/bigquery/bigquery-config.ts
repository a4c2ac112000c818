/**
 * The `type: bigquery` target config: project, dataset, location, credentials (a key file
 * path, the key JSON itself, or application default credentials when empty), job settings;
 * and the model config keys only BigQuery acts on.
 */
import { z } from 'zod';

/** The label key Vigil sets itself (tool=vigil), on every job and every table and view it creates. */
export const VIGIL_LABEL = 'tool';

/**
 * BigQuery's labels: keys and values of lowercase letters (international ones too), digits,
 * `_` and `-`, at most 63 characters; a key starts with a letter and is not empty. BigQuery
 * refuses anything else when the job or table is created: said at compile instead (a target's
 * label from the environment, "{{ env_var('TEAM') }}", as its value is: resolve-target.ts fills it
 * in first). VIGIL_LABEL is refused too: Vigil's own value would replace the one written.
 */
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
export const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const [k, v] of Object.entries(labels)) {
    const fix = (s: string) => s.toLowerCase().replace(/[^\p{Ll}\p{Lo}\p{N}_-]+/gu, '_').slice(0, 63);
    if (k === VIGIL_LABEL) ctx.addIssue({ code: 'custom', path: [k], message: `label key '${VIGIL_LABEL}' is Vigil's own (every job, table and view Vigil creates carries ${VIGIL_LABEL}=vigil, which would replace the value written here): use another key` });
    else if (!LABEL_KEY.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `label key '${k}' is not one BigQuery takes (lowercase letters, digits, _ and -, starting with a letter, at most 63): e.g. '${fix(k).replace(/^[^\p{Ll}\p{Lo}]+/u, '') || 'label'}'` });
    if (!LABEL_VALUE.test(v)) ctx.addIssue({ code: 'custom', path: [k], message: `label value '${v}' is not one BigQuery takes (lowercase letters, digits, _ and -, at most 63): e.g. '${fix(v)}'` });
  }
});

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
    labels: labelsSchema.optional(),
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
  labels: labelsSchema,
  partition_expiration_days: z.number().positive('partition_expiration_days is a number of days above 0'),
  require_partition_filter: z.boolean(),
};
