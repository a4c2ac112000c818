/**
 * The `type: duckdb` target config: where the database file lives and its default schema.
 */
import { z } from 'zod';

export const duckDbConfigSchema = z
  .object({
    type: z.literal('duckdb'),
    /** the database file, relative to the project root; `:memory:` for a throwaway database */
    // (an empty path failed at the first statement, exit 1: "could not open DuckDB database : IO Error ... Is a directory";
    // blank, a file named by spaces was made in the project root)
    path: z
      .string()
      .refine((p) => p.trim() !== '', 'is empty: name the database file (relative to the project root), or ":memory:" (is the environment variable set?)')
      .default('.vigil/dev.duckdb'),
    // (an empty schema failed at `create schema ""`, exit 1)
    schema: z
      .string()
      .refine((s) => s.trim() !== '', 'is empty: name the schema the models go to (is the environment variable set?)')
      .default('analytics'),
    /** DuckDB's own worker threads (its `threads` setting) */
    threads: z.number().int().positive().optional(),
    /** DuckDB's `memory_limit`, e.g. 4GB */
    memory_limit: z.string().optional(),
  })
  .strict();

export type DuckDbTargetConfig = z.infer<typeof duckDbConfigSchema>;
