// The baseline for run/build benchmarks, as its own process: open the DuckDB file and run the
// statements vigil would run (model DDL in dependency order, then test queries), one after
// another in a single connection. Usage: node bench/direct.js <manifest.json> <db file> run|build
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { ddlFor, dependencyOrder } from './statements.js';

const [manifestPath, dbPath, mode] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const nodes = Object.values(manifest.nodes);
const db = await DuckDBInstance.create(dbPath);
const c = await db.connect();
await c.run("SET TimeZone = 'UTC'");
const t0 = performance.now();
const order = dependencyOrder(nodes);
for (const s of new Set(order.map((m) => m.relation.schema))) await c.run(`create schema if not exists "${s}"`);
for (const m of order) await c.run(ddlFor(m));
if (mode === 'build') for (const t of nodes.filter((n) => n.resource_type === 'test')) await c.run(`select count(*) as failures from (\n${t.compiled_sql}\n) as vigil_test`);
process.stdout.write(`statements ${((performance.now() - t0) / 1000).toFixed(3)}\n`);
c.closeSync();
db.closeSync();
