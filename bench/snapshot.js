// The snapshot suite: a later `vigil snapshot` run in which every one of N rows changed (N new
// versions inserted, N closed), for a `timestamp` snapshot and a `check` snapshot with
// `updated_at`, beside the two hand-written statements that do the same work (one INSERT of the
// new versions, one UPDATE ... FROM closing the old ones) on a copy of the same table, in the same
// run, on DuckDB and (with DATABASE_URL) on Postgres. BENCH_SNAPSHOT_ROWS (default 100,000).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const VIGIL = join(REPO, 'bin', 'vigil.js');

function project(dir, pgSchema) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'models'), { recursive: true });
  mkdirSync(join(dir, 'snapshots'), { recursive: true });
  writeFileSync(
    join(dir, 'project.yaml'),
    `name: snapshot_bench\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: bench }\n${pgSchema ? `  pg: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${pgSchema} }\n` : ''}`,
  );
  // every row's name and updated_at move with `v`: a later run with v=1 changes all of them
  writeFileSync(
    join(dir, 'models', 'src.sql'),
    "{{ config(materialized='table') }}\nselect i as id, 'n' || (i + {{ var('v', 0) }}) as name, timestamp '2026-01-01' + ({{ var('v', 0) }}) * interval '1 day' as updated_at\nfrom generate_series(1, {{ var('n', 1000) }}) as g(i)\n",
  );
  writeFileSync(
    join(dir, 'snapshots', 'snaps.sql'),
    `{% snapshot snap_ts %}\n{{ config(target_schema=var('snaps'), unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ ref('src') }}\n{% endsnapshot %}\n\n{% snapshot snap_check %}\n{{ config(target_schema=var('snaps'), unique_key='id', strategy='check', check_cols=['name'], updated_at='updated_at') }}\nselect * from {{ ref('src') }}\n{% endsnapshot %}\n`,
  );
}

function vigil(dir, args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [VIGIL, ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vigil ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  // the snapshot's own time, as its line prints it: `OK snapshot ... (N new versions) [1.23s]`
  const own = /new versions?\) \[(\d+\.\d+)s/.exec(r.stdout);
  return { wall: (performance.now() - t0) / 1000, own: own ? Number(own[1]) : undefined, stdout: r.stdout };
}

/** The two statements a later run needs at least, on `hand` (a copy of the snapshot before the run), timed. */
async function handWritten(exec, snaps, src) {
  const t0 = performance.now();
  await exec(
    `insert into ${snaps}.hand select s.id, s.name, s.updated_at, s.updated_at, null, s.updated_at, md5(cast(s.id as varchar) || '|' || cast(s.updated_at as varchar)) from ${src} as s join ${snaps}.hand as h on h.id = s.id and h.dbt_valid_to is null where s.updated_at > h.dbt_updated_at`,
  );
  await exec(`update ${snaps}.hand as h set dbt_valid_to = s.updated_at from ${src} as s where s.id = h.id and h.dbt_valid_to is null and h.dbt_valid_from < s.updated_at`);
  return (performance.now() - t0) / 1000;
}

export async function benchSnapshot(work, report) {
  const rows = Number(process.env.BENCH_SNAPSHOT_ROWS ?? 100_000);
  const runs = Number(process.env.BENCH_SNAPSHOT_RUNS ?? 2);
  const pgSchema = process.env.DATABASE_URL ? `snapbench_${process.pid}` : undefined;
  const dir = join(work, 'snapshot');
  project(dir, pgSchema);
  const warehouses = [
    {
      name: 'DuckDB',
      target: 'dev',
      src: 'bench.src',
      connect: async () => {
        const { DuckDBInstance } = await import('@duckdb/node-api');
        const db = await DuckDBInstance.create(join(dir, '.vigil', 'dev.duckdb'));
        const c = await db.connect();
        return { exec: (sql) => c.run(sql), close: () => (c.closeSync(), db.closeSync()) };
      },
    },
    ...(pgSchema
      ? [
          {
            name: 'Postgres',
            target: 'pg',
            src: `${pgSchema}.src`,
            connect: async () => {
              const { default: pg } = await import('pg');
              const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
              await c.connect();
              return { exec: (sql) => c.query(sql), close: () => c.end() };
            },
          },
        ]
      : []),
  ];
  for (const w of warehouses) {
    for (const snap of ['snap_ts', 'snap_check']) {
      const own = [];
      const hand = [];
      for (let i = 0; i < runs; i++) {
        const snaps = `snaps_${snap}_${i}`;
        const vars = (v) => ['--vars', `{n: ${rows}, v: ${v}, snaps: ${snaps}}`, '-t', w.target];
        vigil(dir, ['run', '-s', 'src', ...vars(0)]);
        vigil(dir, ['snapshot', '-s', snap, ...vars(0)]);
        let db = await w.connect();
        await db.exec(`create table ${snaps}.hand as select * from ${snaps}.${snap}`);
        await db.close();
        vigil(dir, ['run', '-s', 'src', ...vars(1)]);
        const r = vigil(dir, ['snapshot', '-s', snap, ...vars(1)]);
        if (!new RegExp(`\\(${rows} new versions\\)`).test(r.stdout.replace(/,/g, ''))) throw new Error(`expected ${rows} new versions:\n${r.stdout}`);
        own.push(r.own);
        db = await w.connect();
        hand.push(await handWritten(db.exec, snaps, w.src));
        await db.exec(`drop schema ${snaps} cascade`);
        await db.close();
      }
      const o = Math.min(...own);
      const h = Math.min(...hand);
      report(
        `snapshot ${w.name} ${snap === 'snap_ts' ? 'timestamp' : 'check + updated_at'}: a later run, ${rows.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows changed: vigil snapshot best ${o.toFixed(2)} s (its node's time: the key checks, insert, close); the hand-written INSERT + UPDATE ... FROM best ${h.toFixed(2)} s => ${(o / h).toFixed(2)}x (runs vigil ${own.map((x) => x.toFixed(2)).join(', ')}; hand ${hand.map((x) => x.toFixed(2)).join(', ')})`,
      );
    }
  }
  if (pgSchema) {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await c.connect();
    await c.query(`drop schema if exists ${pgSchema} cascade`);
    await c.end();
  }
}
