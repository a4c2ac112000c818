// The baseline for the alerts benchmark, as its own process: open the DuckDB file and run the
// compiled alert queries (target/compiled/<project>/alerts/*.sql), reading every row, with
// current_date/current_timestamp bound to the evaluation time as vigil does.
// Usage: node bench/direct-alerts.js <compiled alerts dir> <db file> <ISO time>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { bindEvalTime } from './bind-time.js';

const [dir, dbPath, at] = process.argv.slice(2);
const bind = (sql) => bindEvalTime(sql, at);
const queries = readdirSync(dir).filter((f) => f.endsWith('.sql')).map((f) => bind(readFileSync(join(dir, f), 'utf8')));
const db = await DuckDBInstance.create(dbPath);
const c = await db.connect();
await c.run("SET TimeZone = 'UTC'");
const t0 = performance.now();
let rows = 0;
// as many at once as vigil runs them (one connection each)
const conns = await Promise.all(queries.map(() => db.connect()));
await Promise.all(queries.map(async (q, i) => (rows += (await conns[i].runAndReadAll(q)).getRowObjectsJS().length)));
process.stdout.write(`queries ${((performance.now() - t0) / 1000).toFixed(3)} rows ${rows}\n`);
for (const x of conns) x.closeSync();
c.closeSync();
db.closeSync();
