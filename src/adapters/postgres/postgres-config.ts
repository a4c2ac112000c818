/**
 * The `type: postgres` target config: connection URL (usually from env_var), schema, pool
 * size, SSL and statement timeout.
 */
import { z } from 'zod';

export const postgresConfigSchema = z
  .object({
    type: z.literal('postgres'),
    /** postgres://user:password@host:5432/db — usually "{{ env_var('DATABASE_URL') }}" */
    url: z.string().min(1, 'url is empty (is the environment variable set?)'),
    schema: z.string().default('analytics'),
    pool_size: z.number().int().positive().max(64).optional(),
    ssl: z.union([z.boolean(), z.object({ reject_unauthorized: z.boolean().optional(), ca: z.string().optional() }).strict()]).optional(),
    statement_timeout_ms: z.number().int().positive().optional(),
    application_name: z.string().optional(),
  })
  .strict();

export type PostgresTargetConfig = z.infer<typeof postgresConfigSchema>;
