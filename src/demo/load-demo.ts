/**
 * `vigil demo` into a warehouse that does not run DuckDB's SQL (Postgres, BigQuery): the demo
 * tables are generated in the offline engine (the same SQL, the same rows as for a DuckDB
 * target), written to CSV files and loaded with the target's bulk load (`Adapter.loadTable`:
 * COPY FROM STDIN, a load job), with the primary keys and indexes a sync reads by.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Adapter } from '../adapters/adapter.js';
import type { CanonicalType } from '../adapters/dialect.js';

/** The generator's column types (DuckDB's names) as the canonical types every warehouse spells. */
const CANONICAL: Record<string, CanonicalType> = {
  BIGINT: 'int',
  INTEGER: 'int',
  DOUBLE: 'float',
  VARCHAR: 'string',
  BOOLEAN: 'bool',
  JSON: 'json',
  'TIMESTAMP WITH TIME ZONE': 'timestamp',
  DATE: 'date',
};

/** Keys and indexes that make the demo look like the application's database. */
const KEYS: Record<string, { pk: string; indexes: string[][] }> = {
  ai_audit_logs: { pk: 'id', indexes: [['created_at', 'id']] },
  workflows: { pk: 'id', indexes: [] },
  audit_trails: { pk: 'id', indexes: [['updated_at', 'id'], ['created_at', 'id']] },
  usage_log: { pk: 'id', indexes: [['created_at', 'id']] },
};

export async function loadDemoTables(engine: Adapter, engineSchema: string, target: Adapter, schema: string, tables: string[], progress?: (m: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-demo-'));
  const q = (id: string) => engine.dialect.quoteIdent(id);
  try {
    await target.ensureSchema(schema);
    for (const t of tables) {
      const t0 = performance.now();
      const cols = await engine.columns({ schema: engineSchema, identifier: t });
      const columns = cols.map((c) => {
        const type = CANONICAL[c.data_type];
        if (!type) throw new Error(`internal: demo column ${t}.${c.name} has type ${c.data_type}, which has no canonical type`);
        return { name: c.name, type };
      });
      const file = join(dir, `${t}.csv`);
      // timestamps as ISO 8601 in UTC, which every warehouse's CSV reader parses alike
      const select = columns.map((c) => (c.type === 'timestamp' ? `strftime(${q(c.name)}, '%Y-%m-%dT%H:%M:%S.%fZ') as ${q(c.name)}` : q(c.name))).join(', ');
      await engine.execute(`copy (select ${select} from ${engine.dialect.relation({ schema: engineSchema, identifier: t })}) to '${file.replace(/'/g, "''")}' (format csv, header false)`);
      const keys = KEYS[t];
      const rows = await target.loadTable({ relation: { schema, identifier: t }, columns, file, primaryKey: keys && columns.some((c) => c.name === keys.pk) ? [keys.pk] : undefined, indexes: keys?.indexes });
      progress?.(`loaded ${t} into ${target.type} ${schema}.${t}: ${rows.toLocaleString('en-US')} rows [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
