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
import { getWarehouse } from '../adapters/index.js';
import type { CanonicalType, Relation } from '../adapters/dialect.js';
import { fromBatchValue } from '../sync/sync-types.js';
import { AUDIT_EVENTS_COLUMNS, AUDIT_EVENTS_INDEXES } from './audit-events.js';
import { DEMO_MARK } from './demo-guard.js';

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
  // staged as text and converted into the exact table (EXACT below)
  UUID: 'string',
  'VARCHAR[]': 'string',
  'DECIMAL(5,4)': 'string',
};

/**
 * Tables created with a source system's exact column types (seed 004's audit_events: uuid, inet,
 * text[], numeric(5,4)) rather than the canonical ones: loaded into a stage table as text (arrays
 * as JSON arrays), then copied in with a cast per column (`Dialect.syncColumnType` of the Postgres
 * type, arrays through `Dialect.jsonTextArray`) — the conversions `vigil sync` uses.
 */
const EXACT: Record<string, { columns: ReadonlyArray<readonly [string, string, string?]>; postgresIndexes: ReadonlyArray<readonly [string, string]> }> = {
  audit_events: { columns: AUDIT_EVENTS_COLUMNS, postgresIndexes: AUDIT_EVENTS_INDEXES },
};

/** Keys and indexes that make the demo look like the application's database. */
const KEYS: Record<string, { pk: string; indexes: string[][] }> = {
  ai_audit_logs: { pk: 'id', indexes: [['created_at', 'id']] },
  workflows: { pk: 'id', indexes: [['last_accessed_at', 'id']] },
  audit_trails: { pk: 'id', indexes: [['updated_at', 'id'], ['created_at', 'id']] },
  usage_log: { pk: 'id', indexes: [['created_at', 'id']] },
  // provenance (seeds 000, 001): synced by their cursor; snapshots are looked up by id, and
  // workspace snapshots lead to their market snapshot
  market_snapshots: { pk: 'id', indexes: [['captured_at', 'id'], ['market', 'captured_at']] },
  workspace_data_snapshots: { pk: 'id', indexes: [['created_at', 'id'], ['market_snapshot_id']] },
};

/** Load `tables` into `target`, each marked as the demo's (DEMO_MARK); `onDropped`: the views a replacement dropped with a table. */
export async function loadDemoTables(engine: Adapter, engineSchema: string, target: Adapter, schema: string, tables: string[], progress?: (m: string) => void, onDropped?: (table: Relation, views: Relation[]) => void): Promise<void> {
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
        // (an INTEGER stays one: as a canonical int it became a bigint on Postgres, unlike the
        // DuckDB demo and the sources' data_type: integer, and every sync warned of it)
        return { name: c.name, type, ...(c.data_type === 'INTEGER' ? { pgType: 'integer' } : {}) };
      });
      const file = join(dir, `${t}.csv`);
      // timestamps as ISO 8601 in UTC, which every warehouse's CSV reader parses alike; lists as JSON arrays
      const listCols = new Set(cols.filter((c) => c.data_type.endsWith('[]')).map((c) => c.name));
      const select = columns
        .map((c) => (c.type === 'timestamp' ? `strftime(${q(c.name)}, '%Y-%m-%dT%H:%M:%S.%fZ') as ${q(c.name)}` : listCols.has(c.name) ? `to_json(${q(c.name)})::VARCHAR as ${q(c.name)}` : q(c.name)))
        .join(', ');
      await engine.execute(`copy (select ${select} from ${engine.dialect.relation({ schema: engineSchema, identifier: t })}) to '${file.replace(/'/g, "''")}' (format csv, header false)`);
      const keys = KEYS[t];
      const exact = EXACT[t];
      const rel = { schema, identifier: exact ? `${t}__vigil_load` : t };
      const table = { schema, identifier: t };
      let rows = await target.loadTable({ relation: rel, columns, file, primaryKey: !exact && keys && columns.some((c) => c.name === keys.pk) ? [keys.pk] : undefined, indexes: exact ? undefined : keys?.indexes, onDropped: (views) => onDropped?.(table, views) });
      if (exact) rows = await copyIntoExact(target, rel, table, exact, (views) => onDropped?.(table, views));
      await target.commentTable?.(table, DEMO_MARK);
      progress?.(`loaded ${t} into ${target.type} ${schema}.${t}: ${rows.toLocaleString('en-US')} rows [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Drop table `rel` if it is there (Postgres: with the views that read it, drop ... cascade); the views dropped with it. */
export async function dropTable(target: Adapter, rel: Relation): Promise<Relation[]> {
  const pg = !!getWarehouse(target.type)?.capabilities.syncSource;
  const dropped = pg ? ((await target.dependentViews?.(rel)) ?? []) : [];
  await target.execute(`drop table if exists ${target.dialect.relation(rel)}${pg ? ' cascade' : ''}`);
  return dropped;
}

/** Create `rel` with the exact column types and fill it from the text-typed `stage` (then dropped). */
async function copyIntoExact(target: Adapter, stage: Relation, rel: Relation, exact: (typeof EXACT)[string], onDropped: (views: Relation[]) => void): Promise<number> {
  const d = target.dialect;
  const q = (x: string) => d.quoteIdent(x);
  // the seed's table is the application database's (Postgres'): its constraints and indexes where sync reads from
  const pg = !!getWarehouse(target.type)?.capabilities.syncSource;
  // constraints where the warehouse enforces them (Postgres); elsewhere the types alone
  const defs = exact.columns.map(([name, pgType, constraint]) => `${q(name)} ${d.syncColumnType(pgType)}${pg && constraint ? ` ${constraint}` : ''}`);
  const values = exact.columns.map(([name, pgType]) => `cast(${fromBatchValue(d, { name, pgType }, q(name))} as ${d.syncColumnType(pgType)}) as ${q(name)}`);
  const dropped = await dropTable(target, rel);
  if (dropped.length) onDropped(dropped);
  await target.execute(`create table ${d.relation(rel)} (${defs.join(', ')})`);
  await target.execute(`insert into ${d.relation(rel)} (${exact.columns.map(([n]) => q(n)).join(', ')}) select ${values.join(', ')} from ${d.relation(stage)}`);
  await target.execute(`drop table ${d.relation(stage)}`);
  if (pg) {
    for (const [name, def] of exact.postgresIndexes) await target.execute(`create index ${q(name)} on ${d.relation(rel)} ${def}`);
    await target.execute(`analyze ${d.relation(rel)}`);
  }
  const n = await target.query<{ n: number | bigint | string }>(`select count(*) as n from ${d.relation(rel)}`);
  return Number(n[0].n);
}
