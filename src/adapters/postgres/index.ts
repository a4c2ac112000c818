/**
 * PostgreSQL: a warehouse target, and the application database `vigil sync` reads from.
 * The driver (`pg`) is imported by `open` only.
 */
import type { Warehouse } from '../warehouse.js';
import { postgresConfigSchema, type PostgresTargetConfig } from './postgres-config.js';
import { postgresDialect } from './postgres-dialect.js';

export const warehouse: Warehouse<PostgresTargetConfig> = {
  type: 'postgres',
  configSchema: postgresConfigSchema,
  dialect: postgresDialect,
  capabilities: { transactions: true, primaryKeys: true, partitions: false, grants: true, duckdbSql: false, syncSource: true, dryRun: false },
  location: (config) => {
    let catalog: string | undefined;
    try {
      catalog = decodeURIComponent(new URL(config.url).pathname.replace(/^\//, '')) || undefined;
    } catch {
      // a keyword/value connection string: the database is not named in a URL path
    }
    return { schema: config.schema, catalog };
  },
  async open(config, ctx) {
    const { PostgresAdapter } = await import('./postgres-adapter.js');
    return PostgresAdapter.open(config, ctx.threads);
  },
  async checker(config) {
    const { PostgresChecker } = await import('./postgres-check.js');
    return PostgresChecker.open(config);
  },
  async *debug(config) {
    const { debugPostgres } = await import('./postgres-debug.js');
    yield* debugPostgres(config);
  },
};
