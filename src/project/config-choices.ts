/**
 * The values of the configs that take one of a few, apart from the schemas (schema.ts, which
 * loads zod): the selector names them in a did-you-mean (`-s config.materialized:tabel`) without
 * loading the schemas.
 */
export const MATERIALIZATIONS = ['view', 'table', 'incremental', 'ephemeral'] as const;
export const INCREMENTAL_STRATEGIES = ['append', 'merge', 'delete+insert', 'insert_overwrite'] as const;
export const ON_SCHEMA_CHANGE = ['ignore', 'fail', 'append_new_columns'] as const;
export const GRANTS_MODES = ['replace', 'add'] as const;
export const SNAPSHOT_STRATEGIES = ['timestamp', 'check'] as const;

/** By config key: the values it takes. */
export const CONFIG_CHOICES: Record<string, readonly string[]> = {
  materialized: MATERIALIZATIONS,
  incremental_strategy: INCREMENTAL_STRATEGIES,
  on_schema_change: ON_SCHEMA_CHANGE,
  grants_mode: GRANTS_MODES,
  strategy: SNAPSHOT_STRATEGIES,
};
