/**
 * The `type: postgres` target config: connection URL (usually from env_var), schema, pool
 * size, SSL and statement timeout.
 */
import type { z } from 'zod';
import { PostgresTargetSchema } from '../../project/schema.js';

export type PostgresTargetConfig = z.infer<typeof PostgresTargetSchema>;
export const postgresConfigSchema = PostgresTargetSchema;
