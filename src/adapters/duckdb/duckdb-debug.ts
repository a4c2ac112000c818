/**
 * `vigil debug` on DuckDB: the database file (or where it will be created), that it opens (not
 * locked by another process) read-only, DuckDB's version and the target schema. Nothing is
 * created or changed: a file that does not exist yet is not created.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatBytes } from '../../format.js';
import type { DebugStep, OpenContext } from '../warehouse.js';
import type { DuckDbTargetConfig } from './duckdb-config.js';
import { loadDuckDb } from './duckdb-module.js';

export async function* debugDuckDb(cfg: DuckDbTargetConfig, ctx: OpenContext): AsyncGenerator<DebugStep> {
  const path = cfg.path === ':memory:' ? ':memory:' : resolve(ctx.root, cfg.path);
  const exists = path === ':memory:' || existsSync(path);
  yield { check: `database ${cfg.path}`, ok: true, detail: path === ':memory:' ? 'in memory (gone when vigil exits)' : exists ? `exists (${formatBytes(statSync(path).size)})` : 'does not exist yet: vigil demo or vigil build creates it' };
  const { DuckDBInstance } = await loadDuckDb();
  let instance: Awaited<ReturnType<typeof DuckDBInstance.create>>;
  try {
    instance = await DuckDBInstance.create(exists ? path : ':memory:', exists && path !== ':memory:' ? { access_mode: 'READ_ONLY' } : {});
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    yield { check: 'open', ok: false, detail: /lock/i.test(msg) ? `in use by another process (${msg}); close it (a BI tool, another vigil run)` : msg, fatal: true };
    return;
  }
  const c = await instance.connect();
  try {
    const version = (await c.runAndReadAll('select version() as v')).getRowObjectsJS()[0].v;
    yield { check: 'open', ok: true, detail: `DuckDB ${String(version)}${exists && path !== ':memory:' ? ', opened read-only' : ''}` };
    if (exists) {
      const n = (await c.runAndReadAll('select count(*) as n from information_schema.schemata where catalog_name = current_database() and schema_name = $1', [cfg.schema])).getRowObjectsJS()[0].n;
      yield { check: `schema ${cfg.schema}`, ok: true, detail: Number(n) ? 'exists' : 'does not exist yet: vigil build creates it' };
    }
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
