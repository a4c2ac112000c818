/**
 * PostgreSQL: a warehouse target, and the application database `vigil sync` reads from.
 * The driver (`pg`) is imported by `open` only.
 */
import { STANDARD_SEED_TYPES, type Warehouse } from '../warehouse.js';
import { postgresFromDbt } from './postgres-from-dbt.js';
import type { PostgresTargetConfig } from './postgres-config.js';
import { postgresDialect } from './postgres-dialect.js';

export const warehouse: Warehouse<PostgresTargetConfig> = {
  dbtSeedTypes: STANDARD_SEED_TYPES,
  type: 'postgres',
  schemas: async () => ({ config: (await import('./postgres-config.js')).postgresConfigSchema }),
  dialect: postgresDialect,
  capabilities: { transactions: true, primaryKeys: true, partitions: false, grants: true, duckdbSql: false, syncSource: true, dryRun: false, lookupIndexes: true },
  bi: { title: 'Postgres', names: /postgres|(^|[^a-z])pg([^a-z]|$)/i, metabaseEngines: ['postgres', 'redshift'] },
  location: (config) => {
    let catalog: string | undefined;
    try {
      catalog = decodeURIComponent(new URL(config.url).pathname.replace(/^\//, '')) || undefined;
    } catch {
      // a keyword/value connection string: the database is not named in a URL path
    }
    return { schema: config.schema, catalog };
  },
  fromDbtOutput: postgresFromDbt,
  dbtSeedsInferNumeric: true,
  deferral(here, there, ctx) {
    // the server and database, never the credentials
    const where = (u: string) => {
      try {
        const x = new URL(u);
        return `${x.hostname}:${x.port || '5432'}/${x.pathname.replace(/^\//, '')}`;
      } catch {
        return u.replace(/password=\S*/g, '');
      }
    };
    return where(here.url) === where(there.url) ? undefined : { refuse: `the state's target '${ctx.there}' is another Postgres database: one connection cannot read across databases` };
  },
  async open(config, ctx) {
    const { PostgresAdapter } = await import('./postgres-adapter.js');
    return PostgresAdapter.open(config, ctx.threads, { helpers: !ctx.readOnly, target: ctx.target });
  },
  async checker(config) {
    const { PostgresChecker } = await import('./postgres-check.js');
    return PostgresChecker.open(config);
  },
  async unitSession(config) {
    const { PostgresUnitSession } = await import('./postgres-unit.js');
    return PostgresUnitSession.open(config);
  },
  async *debug(config) {
    const { debugPostgres } = await import('./postgres-debug.js');
    yield* debugPostgres(config);
  },
};
