/**
 * `vigil debug` on DuckDB: the database file (or where it will be created), that it opens (not
 * locked by another process), DuckDB's version and the target schema.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatBytes } from '../../format.js';
import type { DebugStep, OpenContext } from '../warehouse.js';
import type { DuckDbTargetConfig } from './duckdb-config.js';
import { DuckDbAdapter } from './duckdb-adapter.js';

export async function* debugDuckDb(cfg: DuckDbTargetConfig, ctx: OpenContext): AsyncGenerator<DebugStep> {
  const path = cfg.path === ':memory:' ? ':memory:' : resolve(ctx.root, cfg.path);
  yield { check: `database ${cfg.path}`, ok: true, detail: path === ':memory:' ? 'in memory (gone when vigil exits)' : existsSync(path) ? `exists (${formatBytes(statSync(path).size)})` : 'does not exist yet: vigil demo or vigil build creates it' };
  let a: DuckDbAdapter;
  try {
    a = await DuckDbAdapter.open(cfg, ctx.root, 1);
  } catch (e) {
    yield { check: 'open', ok: false, detail: (e as Error).message.split('\n')[0], fatal: true };
    return;
  }
  try {
    const [v] = await a.query<{ v: string }>('select version() as v');
    yield { check: 'open', ok: true, detail: `DuckDB ${v.v}` };
    const [s] = await a.query<{ n: bigint | number }>('select count(*) as n from information_schema.schemata where catalog_name = current_database() and schema_name = $1', [cfg.schema]);
    yield { check: `schema ${cfg.schema}`, ok: true, detail: Number(s.n) ? 'exists' : 'does not exist yet: vigil build creates it' };
  } finally {
    await a.close();
  }
}
