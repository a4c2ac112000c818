// The baseline for the dashboards benchmark, as its own process: open the DuckDB file and run
// exactly the queries `vigil dashboards render` runs (the list bench/render-queries.js took from
// the render's own walk over the site: the dashboards' tiles, the drill-down pages' tiles, the
// catalog lookups; eval time already bound), reading every row, at the render's concurrency
// (that many connections, each taking the next query as it finishes one). Nothing else.
// Usage: node bench/direct-dashboards.js <queries.json> <db file>
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [planFile, dbPath] = process.argv.slice(2);
const { concurrency, queries } = JSON.parse(readFileSync(planFile, 'utf8'));
const db = await DuckDBInstance.create(dbPath);
const conns = await Promise.all(Array.from({ length: concurrency }, () => db.connect()));
for (const c of conns) await c.run("SET TimeZone = 'UTC'");
const t0 = performance.now();
let next = 0;
let rows = 0;
await Promise.all(conns.map(async (c) => {
  while (next < queries.length) {
    const { sql, params } = queries[next++];
    const r = await c.runAndReadAll(sql, params);
    rows += r.getRowObjectsJS().length;
  }
}));
process.stdout.write(`queries ${((performance.now() - t0) / 1000).toFixed(3)} count ${queries.length} rows ${rows}\n`);
for (const c of conns) c.closeSync();
db.closeSync();
