// `vigil seed` of a 100,000-row CSV vs DuckDB's own read_csv into a table, both as whole
// processes (Node + DuckDB + the load); then the same file with CRLF line endings (Windows,
// Excel). Usage: imported by bench/run.js (benchSeed).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const VIGIL = join(REPO, 'bin', 'vigil.js');

/** A shop-orders CSV: int, string with quotes and commas, float, bool, date, timestamp, nulls. */
function writeCsv(path, rows, eol = '\n') {
  const out = ['order_id,customer,amount,paid,order_date,placed_at,note'];
  for (let i = 1; i <= rows; i++) {
    const d = new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000);
    const day = d.toISOString().slice(0, 10);
    out.push(`${i},"Customer ${i % 997}, Inc.",${((i * 7919) % 100000) / 100},${i % 3 === 0},${day},${day} ${String(i % 24).padStart(2, '0')}:15:00,${i % 10 === 0 ? '' : `"say ""hi"" ${i}"`}`);
  }
  writeFileSync(path, out.join(eol) + eol);
}

const DIRECT = `
import { DuckDBInstance } from '@duckdb/node-api';
const [db, csv] = process.argv.slice(2);
const i = await DuckDBInstance.create(db);
const c = await i.connect();
const t0 = performance.now();
await c.run('create schema if not exists analytics');
await c.run("create or replace table analytics.orders as select * from read_csv('" + csv + "', header = true)");
process.stdout.write('load ' + ((performance.now() - t0) / 1000).toFixed(3) + '\\n');
c.closeSync(); i.closeSync();
`;

export async function benchSeed(work, report, rows = 100_000) {
  const dir = join(work, 'seed');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'seeds'), { recursive: true });
  writeFileSync(join(dir, 'project.yaml'), 'name: seedbench\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n');
  writeCsv(join(dir, 'seeds', 'orders.csv'), rows);
  const directJs = join(REPO, 'bench', `.direct-seed-${process.pid}.mjs`);
  writeFileSync(directJs, DIRECT);
  const time = (cmd, args) => {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    return { wall: (performance.now() - t0) / 1000, stdout: r.stdout };
  };
  const vig = [];
  const direct = [];
  try {
    for (let i = 0; i < 3; i++) {
      rmSync(join(dir, '.vigil'), { recursive: true, force: true });
      mkdirSync(join(dir, '.vigil'));
      direct.push(time(process.execPath, [directJs, join(dir, '.vigil', 'direct.duckdb'), join(dir, 'seeds', 'orders.csv')]));
      vig.push(time(process.execPath, [VIGIL, 'seed']));
    }
  } finally {
    rmSync(directJs, { force: true });
  }
  // the same rows with CRLF line endings
  writeCsv(join(dir, 'seeds', 'orders.csv'), rows, '\r\n');
  const crlf = [];
  for (let i = 0; i < 3; i++) {
    rmSync(join(dir, '.vigil'), { recursive: true, force: true });
    mkdirSync(join(dir, '.vigil'));
    crlf.push(time(process.execPath, [VIGIL, 'seed']));
  }
  const best = (xs) => Math.min(...xs.map((x) => x.wall));
  const loaded = (r) => /OK loaded seed analytics\.orders \((\d+) rows\)/.exec(r.stdout)?.[1];
  report(`vigil seed, ${rows} rows (${loaded(vig[0])} loaded): whole process ${best(vig).toFixed(3)} s vs DuckDB read_csv into a table as a process ${best(direct).toFixed(3)} s => ${(best(vig) / best(direct)).toFixed(2)}x (runs vigil ${vig.map((x) => x.wall.toFixed(2)).join(', ')}; direct ${direct.map((x) => x.wall.toFixed(2)).join(', ')})`);
  report(`vigil seed, the same ${rows} rows with CRLF line endings (${loaded(crlf[0])} loaded): whole process ${best(crlf).toFixed(3)} s => ${(best(crlf) / best(vig)).toFixed(2)}x the LF file's (runs ${crlf.map((x) => x.wall.toFixed(2)).join(', ')})`);
}
