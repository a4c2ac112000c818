// The baseline for the dashboards benchmark, as its own process: open the DuckDB file and run
// every tile query of the JSON export (sql, and previous_sql for KPIs), reading every row, four
// at a time (as vigil does), with current_date/current_timestamp bound to the given time.
// Usage: node bench/direct-dashboards.js <json export dir> <db file> <ISO time>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { bindEvalTime } from './bind-time.js';

const [dir, dbPath, at] = process.argv.slice(2);
const bind = (sql) => bindEvalTime(sql, at);
const queries = [];
for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
  const j = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  for (const t of Object.values(j.tiles)) {
    queries.push(bind(t.sql));
    if (t.previous_sql) queries.push(bind(t.previous_sql));
  }
}
const db = await DuckDBInstance.create(dbPath);
const conns = await Promise.all([0, 1, 2, 3].map(() => db.connect()));
for (const c of conns) await c.run("SET TimeZone = 'UTC'");
const t0 = performance.now();
let next = 0;
let rows = 0;
await Promise.all(conns.map(async (c) => {
  while (next < queries.length) rows += (await c.runAndReadAll(queries[next++])).getRowObjectsJS().length;
}));
process.stdout.write(`queries ${((performance.now() - t0) / 1000).toFixed(3)} count ${queries.length} rows ${rows}\n`);
for (const c of conns) c.closeSync();
db.closeSync();
