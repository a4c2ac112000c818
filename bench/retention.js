// The retention suite: `vigil retention plan` + `apply` deleting a fifth of a table's rows, beside
// one hand-written `DELETE ... WHERE created_at < cutoff` on the same table in the same run, on
// DuckDB and (with DATABASE_URL) on Postgres. BENCH_RETENTION_ROWS (default 500,000; the
// figure in docs/benchmarks.md is for 5,000,000 with 1,000,000 deleted).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const VIGIL = join(REPO, 'bin', 'vigil.js');
const AS_OF = '2026-11-01T00:00:00Z';
const CUTOFF = '2026-10-02 00:00:00+00'; // AS_OF minus keep: 30d
// rows are spread evenly over the 37.5 days before AS_OF: those older than 30 days are a fifth
const SPAN_SECONDS = 37.5 * 86400;

function project(dir, pgSchema) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'models'), { recursive: true });
  writeFileSync(
    join(dir, 'project.yaml'),
    `name: retention_bench\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n${pgSchema ? `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${pgSchema} }\n` : ''}`,
  );
  writeFileSync(
    join(dir, 'models', 'sources.yml'),
    `sources:\n  - name: raw\n${pgSchema ? `    sync: { from: app, schema: ${pgSchema} }\n` : ''}    tables:\n      - name: events\n        retention: { column: created_at, keep: 30d${pgSchema ? ', apply_to: source' : ''} }\n`,
  );
}

function vigil(dir, args, env = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [VIGIL, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`vigil ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  // the apply's own time (counted again, batches, log), as it prints it: `deleted N rows [1.23s, ...]`
  const own = /deleted [\d,]+ rows \[(\d+\.\d+)s/.exec(r.stdout);
  return { wall: (performance.now() - t0) / 1000, own: own ? Number(own[1]) : undefined, stdout: r.stdout };
}

const rate = (rows, s) => `${Math.round(rows / s).toLocaleString('en-US')} rows/s`;

export async function benchRetention(work, report) {
  const rows = Number(process.env.BENCH_RETENTION_ROWS ?? 500_000);
  const expected = rows - Math.ceil((rows * 30) / 37.5); // rows older than the cutoff
  const runs = Number(process.env.BENCH_RETENTION_RUNS ?? 2);
  const summary = (where, how, viaVigil, hand) => {
    const own = Math.min(...viaVigil.map((x) => x.own));
    const wall = Math.min(...viaVigil.map((x) => x.wall));
    const h = Math.min(...hand);
    report(
      `retention ${where}: delete ${expected.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows: vigil retention apply (${how}) best ${own.toFixed(2)} s = ${rate(expected, own)} (whole process with compile and the recount ${wall.toFixed(2)} s = ${rate(expected, wall)}); one hand-written DELETE best ${h.toFixed(2)} s = ${rate(expected, h)} => ${(own / h).toFixed(2)}x (runs vigil ${viaVigil.map((x) => `${x.own.toFixed(2)}/${x.wall.toFixed(2)}`).join(', ')}; DELETE ${hand.map((x) => x.toFixed(2)).join(', ')})`,
    );
  };

  // ---- DuckDB
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const dir = join(work, 'retention-duckdb');
  project(dir);
  mkdirSync(join(dir, '.vigil'), { recursive: true });
  const dbPath = join(dir, '.vigil', 'dev.duckdb');
  const withDuck = async (fn) => {
    const db = await DuckDBInstance.create(dbPath);
    const c = await db.connect();
    await c.run("SET TimeZone = 'UTC'");
    try {
      return await fn(c);
    } finally {
      c.closeSync();
      db.closeSync();
    }
  };
  const fill = () =>
    withDuck((c) =>
      c.run(`create schema if not exists raw; create or replace table raw.events as select i as id, timestamptz '${AS_OF}' - to_seconds(cast(i * ${SPAN_SECONDS} / ${rows} as bigint)) as created_at, 'note ' || i as note, i % 97 as n from range(1, ${rows} + 1) t(i)`),
    );
  const duckVigil = [];
  const duckHand = [];
  for (let i = 0; i < runs; i++) {
    await fill();
    vigil(dir, ['retention', 'plan', '--at', AS_OF]);
    const a = vigil(dir, ['retention', 'apply']);
    const deleted = Number(/deleted ([\d,]+) rows/.exec(a.stdout)[1].replace(/,/g, ''));
    if (deleted !== expected) throw new Error(`vigil retention apply deleted ${deleted} rows, expected ${expected}`);
    duckVigil.push(a);
    await fill();
    duckHand.push(
      await withDuck(async (c) => {
        const t0 = performance.now();
        const r = await c.run(`delete from raw.events where created_at < timestamptz '${CUTOFF}'`);
        if (r.rowsChanged !== expected) throw new Error(`hand-written DELETE deleted ${r.rowsChanged}`);
        return (performance.now() - t0) / 1000;
      }),
    );
  }
  summary('DuckDB', 'batches of 50,000 by rowid, each committed with its log line', duckVigil, duckHand);

  // ---- Postgres (the table in the source database: apply_to: source)
  const url = process.env.DATABASE_URL;
  if (!url) {
    report('retention Postgres: skipped, set DATABASE_URL to a PostgreSQL database the bench may write to');
    return;
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client(url);
  await client.connect();
  const schema = 'vigil_bench_retention';
  const pdir = join(work, 'retention-postgres');
  project(pdir, schema);
  const pfill = async () => {
    await client.query(`drop schema if exists ${schema} cascade; create schema ${schema};
      create table ${schema}.events as select i::bigint as id, timestamptz '${AS_OF}' - make_interval(secs => round(i * ${SPAN_SECONDS}::float8 / ${rows})) as created_at, 'note ' || i as note, i % 97 as n from generate_series(1, ${rows}) i;
      alter table ${schema}.events add primary key (id); create index on ${schema}.events (created_at)`);
    await client.query(`vacuum analyze ${schema}.events`);
  };
  const pgVigil = [];
  const pgHand = [];
  try {
    for (let i = 0; i < runs; i++) {
      await pfill();
      const [{ n }] = (await client.query(`select count(*)::int as n from ${schema}.events where created_at < timestamptz '${CUTOFF}'`)).rows;
      if (n !== expected) throw new Error(`the Postgres table has ${n} rows before the cutoff, expected ${expected}`);
      vigil(pdir, ['retention', 'plan', '--at', AS_OF], { DATABASE_URL: url });
      const a = vigil(pdir, ['retention', 'apply'], { DATABASE_URL: url });
      const deleted = Number(/deleted ([\d,]+) rows/.exec(a.stdout)[1].replace(/,/g, ''));
      if (deleted !== expected) throw new Error(`vigil retention apply deleted ${deleted} rows on Postgres, expected ${expected}`);
      pgVigil.push(a);
      await pfill();
      const t0 = performance.now();
      const r = await client.query(`delete from ${schema}.events where created_at < timestamptz '${CUTOFF}'`);
      pgHand.push((performance.now() - t0) / 1000);
      if (r.rowCount !== expected) throw new Error(`hand-written DELETE deleted ${r.rowCount}`);
    }
  } finally {
    await client.query(`drop schema if exists ${schema} cascade`).catch(() => {});
    await client.end();
  }
  summary('Postgres (primary key, index on created_at)', 'batches of 50,000 by ctid, each committed with its log line', pgVigil, pgHand);
}
