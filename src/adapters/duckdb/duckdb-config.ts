/**
 * The `type: duckdb` target config: where the database file lives and its default schema.
 */
import { z } from 'zod';

export const duckDbConfigSchema = z
  .object({
    type: z.literal('duckdb'),
    /** the database file, relative to the project root; `:memory:` for a throwaway database */
    path: z.string().default('.vigil/dev.duckdb'),
    schema: z.string().default('analytics'),
    /** DuckDB's own worker threads (its `threads` setting) */
    threads: z.number().int().positive().optional(),
    /** DuckDB's `memory_limit`, e.g. 4GB */
    memory_limit: z.string().optional(),
  })
  .strict();

export type DuckDbTargetConfig = z.infer<typeof duckDbConfigSchema>;
