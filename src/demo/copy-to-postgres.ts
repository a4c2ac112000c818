/**
 * `vigil demo --target <postgres>`: the demo tables are generated in an in-memory DuckDB (the
 * same SQL, the same rows as for a DuckDB target) and copied into Postgres with COPY FROM
 * STDIN in CSV, with primary keys and the indexes a sync reads by.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Adapter } from '../adapters/adapter.js';
import type { PostgresAdapter } from '../adapters/postgres/postgres-adapter.js';
import { pgError } from '../adapters/postgres/postgres-adapter.js';

const PG_TYPES: Record<string, string> = {
  BIGINT: 'bigint',
  INTEGER: 'integer',
  DOUBLE: 'double precision',
  VARCHAR: 'text',
  BOOLEAN: 'boolean',
  JSON: 'jsonb',
  'TIMESTAMP WITH TIME ZONE': 'timestamptz',
  TIMESTAMP: 'timestamp',
  DATE: 'date',
};

/** Indexes that make the demo look like the application's database. */
const KEYS: Record<string, { pk: string; indexes: string[] }> = {
  ai_audit_logs: { pk: 'id', indexes: ['created_at, id'] },
  workflows: { pk: 'id', indexes: [] },
  audit_trails: { pk: 'id', indexes: ['updated_at, id', 'created_at, id'] },
  usage_log: { pk: 'id', indexes: ['created_at, id'] },
};

export async function copyTablesToPostgres(source: Adapter, sourceSchema: string, pg: PostgresAdapter, schema: string, tables: string[], progress?: (m: string) => void): Promise<void> {
  const { from: copyFrom } = await import('pg-copy-streams');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-demo-'));
  const q = (id: string) => pg.dialect.quoteIdent(id);
  try {
    await pg.ensureSchema(schema);
    for (const t of tables) {
      const t0 = performance.now();
      const cols = await source.columns({ schema: sourceSchema, identifier: t });
      const ddl = cols.map((c) => {
        const type = PG_TYPES[c.data_type] ?? 'text';
        return `${q(c.name)} ${type}`;
      });
      const keys = KEYS[t];
      const rel = `${q(schema)}.${q(t)}`;
      await pg.execute(`drop table if exists ${rel} cascade; create table ${rel} (${ddl.join(', ')}${keys && cols.some((c) => c.name === keys.pk) ? `, primary key (${q(keys.pk)})` : ''})`);
      const file = join(dir, `${t}.csv`);
      await source.execute(`copy (select * from ${q(sourceSchema)}.${q(t)}) to '${file.replace(/'/g, "''")}' (format csv, header false)`);
      const client = await pg.pool.connect();
      try {
        await pipeline(createReadStream(file), client.query(copyFrom(`copy ${rel} (${cols.map((c) => q(c.name)).join(', ')}) from stdin with (format csv)`)));
      } catch (e) {
        throw pgError(e, `copy ${rel} from stdin`);
      } finally {
        client.release();
      }
      for (const ix of keys?.indexes ?? []) await pg.execute(`create index on ${rel} (${ix.split(',').map((c) => q(c.trim())).join(', ')})`);
      await pg.execute(`analyze ${rel}`);
      progress?.(`copied ${t} to Postgres ${schema}.${t} [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
