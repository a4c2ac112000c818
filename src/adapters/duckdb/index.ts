/**
 * DuckDB, the embedded default warehouse: everything Vigil knows about it. The driver
 * (`@duckdb/node-api`) is imported by `open` only.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Warehouse } from '../warehouse.js';
import { duckDbFromDbt } from './duckdb-from-dbt.js';
import type { DuckDbTargetConfig } from './duckdb-config.js';
import { duckDbDialect } from './duckdb-dialect.js';

/** DuckDB names a database (its catalog) after its file: `.vigil/dev.duckdb` is `dev`. */
const catalogOf = (path: string) => path.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');

export const warehouse: Warehouse<DuckDbTargetConfig> = {
  dbtSeedTypes: { ints: 'sized', single: (base) => base === 'real' || base === 'float', strings: 'ignored', bareTimestamp: 'local' },
  type: 'duckdb',
  schemas: async () => ({ config: (await import('./duckdb-config.js')).duckDbConfigSchema }),
  dialect: duckDbDialect,
  capabilities: { transactions: true, primaryKeys: true, partitions: false, grants: false, duckdbSql: true, syncSource: false, dryRun: false, speculativeLoads: true, singleProcess: true },
  bi: { title: 'DuckDB', names: /duck/i, metabaseEngines: ['duckdb'] },
  checkConfig(config) {
    // DuckDB names the database (catalog) after its file; a schema of the same name makes
    // "x"."table" ambiguous between catalog x and schema x
    const catalog = catalogOf(config.path);
    if (config.path !== ':memory:' && catalog === config.schema) {
      return [{ key: 'path', message: `the database file ${config.path} and the schema are both named '${catalog}', which DuckDB cannot tell apart`, hint: 'rename the file (e.g. path: .vigil/dev.duckdb) or the schema' }];
    }
    return [];
  },
  // DuckDB names its catalog after the file
  location: (config) => ({ schema: config.schema, catalog: config.path === ':memory:' ? 'memory' : catalogOf(config.path) }),
  fromDbtOutput: duckDbFromDbt,
  deferral(here, there, ctx) {
    const abs = (p: string) => (p === ':memory:' ? p : resolve(ctx.root, p));
    if (abs(here.path) === abs(there.path)) return undefined;
    if (there.path === ':memory:' || !existsSync(abs(there.path))) return { refuse: `the state's target '${ctx.there}' is the DuckDB file ${there.path}, which does not exist here` };
    return { attach: abs(there.path), as: `vigil_state_${catalogOf(there.path).replace(/\W+/g, '_')}` };
  },
  // the database, its write-ahead log and its spill folder
  localFiles: (config) => (config.path === ':memory:' ? [] : [config.path, `${config.path}.wal`, `${config.path}.tmp`]),
  async open(config, ctx) {
    const { DuckDbAdapter } = await import('./duckdb-adapter.js');
    return DuckDbAdapter.open(config, ctx.root, ctx.threads, ctx.readOnly);
  },
  async prepare() {
    const [, { loadDuckDb }] = await Promise.all([import('./duckdb-adapter.js'), import('./duckdb-module.js')]);
    await loadDuckDb();
  },
  async checker(_config, ctx) {
    const { DuckDbChecker } = await import('./duckdb-check.js');
    return DuckDbChecker.open(ctx.root);
  },
  async *debug(config, ctx) {
    const { debugDuckDb } = await import('./duckdb-debug.js');
    yield* debugDuckDb(config, ctx);
  },
};
