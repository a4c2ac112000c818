/**
 * The `type: duckdb` target config: where the database file lives and its default schema.
 */
import type { z } from 'zod';
import { DuckDbTargetSchema } from '../../project/schema.js';

export type DuckDbTargetConfig = z.infer<typeof DuckDbTargetSchema>;
export const duckDbConfigSchema = DuckDbTargetSchema;
