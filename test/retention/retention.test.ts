/**
 * Retention as configuration (docs/governance.md#retention): bad configs are errors at their
 * YAML line (compile, and the warehouse's column types at plan time) with nothing deleted; plan
 * and apply through the built CLI on a real DuckDB and a real Postgres (apply_to: source), each
 * compared row by row before and after — every row older than its cutoff gone, every other row
 * as it was; kill -9 after the first batch and a rerun of the same plan; drift; the minimum.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { compileProject } from '../../src/compile/compile-project.js';
import { formatDiagnostic } from '../../src/errors.js';
import { uniqueSchema } from '../support/postgres.js';
import { BASIC_PROJECT_YAML, makeProject, projectFiles, removeDir, VIGIL, vigil, duckRows as duck } from '../helpers.js';
import { readDuckDbReadOnly } from '../support/duckdb-reader.js';
import type { Adapter } from '../../src/adapters/adapter.js';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { applyEntry, copyLogLines, ensureLog, lastApply, logRelation, type PlanEntry } from '../../src/retention/retention.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function errorsOf(opts: Parameters<typeof projectFiles>[0]): string[] {
  return compileProject(projectFiles(opts), { env: {} }).diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
}

const SOURCES = (retention: string, extra = '') => ({
  'models/sources.yml': `sources:
  - name: raw
    tables:
      - name: events
        retention: ${retention}
        columns:
          - name: created_at
            data_type: timestamptz
          - name: note
            data_type: varchar
${extra}`,
});

describe('retention config: bad input is an error at its line', () => {
  it.each([
    ['an unknown key, with the nearest one', '{ colum: created_at, keep: 90d }', /models\/sources\.yml:5:\d+: error: sources\[0\]\.tables\[0\]\.retention\.colum: unknown key 'colum' — did you mean 'column'\? \[E_SCHEMA\]/],
    ['a keep that is not a duration', '{ column: created_at, keep: 90 days }', /models\/sources\.yml:5:\d+: error: sources\[0\]\.tables\[0\]\.retention\.keep: must be a duration like 30s/],
    ['a column declared as text', '{ column: note, keep: 90d }', /models\/sources\.yml:5:\d+: error: source raw\.events: retention column 'note' is declared varchar, not a timestamp or date: rows cannot be aged by it \[E_RETENTION\]/],
    ['apply_to: source on a source vigil sync does not read', '{ column: created_at, keep: 90d, apply_to: source }', /models\/sources\.yml:5:\d+: error: source raw\.events: retention apply_to: source deletes in the database vigil sync reads the table from, but source 'raw' has no sync/],
    // (was: a year and 6 minutes, accepted: half a year of rows deleted too early by who meant 18 months)
    ['a keep of years and minutes (no months in the grammar)', '{ column: created_at, keep: 1y6m }', /models\/sources\.yml:5:\d+: error: source raw\.events: retention keep '1y6m' counts minutes \('m' is minutes: Vigil's durations, like Prometheus', have no months\) beside days or years \[E_RETENTION\]\n\s+hint: write days, weeks or years: 18 months is 548d/],
    ['a keep of days and seconds', '{ column: created_at, keep: 400d30s }', /retention keep '400d30s' counts seconds beside days or years \[E_RETENTION\]/],
    ['apply_to with a typo', '{ column: created_at, keep: 90d, apply_to: sources }', /'sources' is not one of 'warehouse', 'source' — did you mean 'source'\?/],
  ])('%s', (_n, retention, re) => {
    const errors = errorsOf({ yml: SOURCES(retention) });
    expect(errors.join('\n')).toMatch(re);
  });

  it("project.yaml's retention.minimum of years and minutes is refused at its line, as a keep is (was: 1y6m taken as a year and 6 minutes: a keep of 400d, and a row's own period of 400 days, passed a minimum meant as 18 months)", () => {
    const yaml = (minimum: string) => `${BASIC_PROJECT_YAML}retention: { minimum: ${minimum} }\n`;
    expect(errorsOf({ projectYaml: yaml('1y6m'), yml: SOURCES('{ column: created_at, keep: 400d }') }).join('\n')).toMatch(
      /project\.yaml:8:\d+: error: retention\.minimum '1y6m' counts minutes \('m' is minutes: Vigil's durations, like Prometheus', have no months\) beside days or years \[E_RETENTION\]\n\s+hint: write days, weeks or years: 18 months is 548d/,
    );
    expect(errorsOf({ projectYaml: yaml('30d30s'), yml: SOURCES('{ column: created_at, keep: 400d }') }).join('\n')).toMatch(/retention\.minimum '30d30s' counts seconds beside days or years/);
    for (const minimum of ['548d', '1y26w', '7d', '36h']) expect(errorsOf({ projectYaml: yaml(minimum), yml: SOURCES('{ column: created_at, keep: 600d }') }), minimum).toEqual([]);
  });

  it("partition_expiration_days shorter than a model's retention keep is refused at its line, set on the model or its folder (was: taken: BigQuery dropped partitions long before their keep, with no plan and no log line)", () => {
    const model = (extra: string) => ({ 'models/m.sql': `{{ config(materialized='incremental', partition_by={'field': 'ts', 'data_type': 'timestamp'}${extra}, retention={'column': 'ts', 'keep': '400d'}) }}\nselect now() as ts` });
    expect(errorsOf({ models: model(', partition_expiration_days=30') }).join('\n')).toMatch(
      /models\/m\.sql:1:\d+: error: model 'm': partition_expiration_days 30 is shorter than its retention keep 400d and one day partition: BigQuery drops each partition 30 days after its start, deleting rows retention keeps, with no plan and no line in vigil_retention_log \[E_RETENTION\]/,
    );
    expect(errorsOf({ projectYaml: `${BASIC_PROJECT_YAML}models:\n  fixture:\n    +partition_expiration_days: 30\n`, models: model('') }).join('\n')).toMatch(/project\.yaml:10:\d+: error: model 'm': partition_expiration_days 30 is shorter than its retention keep 400d/);
    expect(errorsOf({ models: model(', partition_expiration_days=401') })).toEqual([]);
  });

  it('partition_expiration_days is compared with the keep as retention counts it: years on the calendar (their leap days) and the partition a row is in (was: 7y taken for 2,555 days, and 2,555 passed: a partition went up to 2 leap days and its own length before its rows were 7 years old)', () => {
    const model = (partition: string, keep: string, days: number) => ({
      'models/m.sql': `{{ config(materialized='incremental', partition_by=${partition}, partition_expiration_days=${days}, retention={'column': 'ts', 'keep': '${keep}'}) }}\nselect now() as ts`,
    });
    const daily = "{'field': 'ts', 'data_type': 'timestamp'}";
    for (const days of [2555, 2556, 2557])
      expect(errorsOf({ models: model(daily, '7y', days) }).join('\n'), String(days)).toMatch(
        new RegExp(`error: model 'm': partition_expiration_days ${days} is shorter than its retention keep 7y \\(up to 2,557 days on the calendar\\) and one day partition: BigQuery drops each partition ${days} days after its start`),
      );
    expect(errorsOf({ models: model(daily, '7y', 2558) })).toEqual([]);
    expect(errorsOf({ models: model(daily, '400d', 400) }).join('\n')).toMatch(/partition_expiration_days 400 is shorter than its retention keep 400d and one day partition/);
    const monthly = "{'field': 'ts', 'data_type': 'timestamp', 'granularity': 'month'}";
    expect(errorsOf({ models: model(monthly, '400d', 420) }).join('\n')).toMatch(/partition_expiration_days 420 is shorter than its retention keep 400d and one month partition \(31 days\)/);
    expect(errorsOf({ models: model(monthly, '400d', 431) })).toEqual([]);
  });

  it('a keep of days, weeks, years and hours is fine', () => {
    for (const keep of ['90d', '1y26w', '548d', '7y', '2w3d12h', '36h']) expect(errorsOf({ yml: SOURCES(`{ column: created_at, keep: ${keep} }`) }), keep).toEqual([]);
  });

  it('an override_days column declared as a float is a number of days (was: refused, "not a number of days")', () => {
    const yml = (t: string) => SOURCES('{ column: created_at, keep: 90d, override_days: days }', `          - name: days\n            data_type: ${t}\n`);
    for (const t of ['double', 'float8', 'real', 'numeric(6,2)', 'integer']) expect(errorsOf({ yml: yml(t) }), t).toEqual([]);
    expect(errorsOf({ yml: yml('varchar') }).join('\n')).toMatch(/retention override_days column 'days' is declared varchar, not a number of days/);
  });

  it("in a model's config(): a bad keep at the config() line; retention on a view or a table is refused; apply_to is for sources only", () => {
    expect(errorsOf({ models: { 'models/m.sql': "{{ config(materialized='incremental',\n  retention={'column': 'created_at', 'keep': '3 months'}) }}\nselect now() as created_at" } }).join('\n')).toMatch(/models\/m\.sql:2:\d+: error: config retention\.keep: must be a duration/);
    expect(errorsOf({ models: { 'models/m.sql': "{{ config(retention={'column': 'created_at', 'keep': '90d'}) }}\nselect now() as created_at" } }).join('\n')).toMatch(/models\/m\.sql:1:\d+: error: model 'm' has retention but is materialized as view/);
    expect(errorsOf({ models: { 'models/m.sql': "{{ config(materialized='incremental', retention={'column': 'created_at', 'keep': '90d', 'apply_to': 'source'}) }}\nselect now() as created_at" } }).join('\n')).toMatch(/unknown key 'apply_to'/);
    expect(errorsOf({ models: { 'models/m.sql': "{{ config(materialized='table', retention={'column': 'created_at', 'keep': '90d'}) }}\nselect now() as created_at" } }).join('\n')).toMatch(/models\/m\.sql:1:\d+: error: model 'm' has retention but is materialized as table: every build rebuilds it whole from its query, so deleted rows would come back on the next build \[E_RETENTION\]/);
    const ok = compileProject(projectFiles({ models: { 'models/m.sql': 'select now() as created_at' }, yml: { 'models/m.yml': 'models:\n  - name: m\n    config:\n      materialized: incremental\n      retention: { column: created_at, keep: 7y }\n' } }), { env: {} });
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(ok.manifest.nodes['model.fixture.m']).toMatchObject({ config: { retention: { column: 'created_at', keep: '7y' } }, retention_at: { file: 'models/m.yml', line: 5 } });
  });

  it('retention on an incremental model with full_refresh: true is refused at the full_refresh line, in config() or its YAML (was: accepted, and every build brought deleted rows back)', () => {
    expect(errorsOf({ models: { 'models/m.sql': "{{ config(materialized='incremental',\n  retention={'column': 'created_at', 'keep': '90d'},\n  full_refresh=true) }}\nselect now() as created_at" } }).join('\n')).toMatch(
      /models\/m\.sql:3:\d+: error: model 'm' has retention but full_refresh: true: every build rebuilds it whole from its query, so deleted rows would come back on the next build \[E_RETENTION\]/,
    );
    expect(errorsOf({ models: { 'models/m.sql': 'select now() as created_at' }, yml: { 'models/m.yml': 'models:\n  - name: m\n    config:\n      materialized: incremental\n      retention: { column: created_at, keep: 90d }\n      full_refresh: true\n' } }).join('\n')).toMatch(/models\/m\.yml:6:\d+: error: model 'm' has retention but full_refresh: true/);
    // full_refresh: false (never rebuilt whole) is fine
    expect(errorsOf({ models: { 'models/m.sql': "{{ config(materialized='incremental', full_refresh=false, retention={'column': 'created_at', 'keep': '90d'}) }}\nselect now() as created_at" } })).toEqual([]);
  });

  it('vigil run --full-refresh of an incremental model with retention warns that the rows retention apply deleted are back (a plain run, or full_refresh: false, does not)', async () => {
    const sql = (extra: string) => `{{ config(materialized='incremental', retention={'column': 'ts', 'keep': '40d'}${extra}) }}\nselect i as id, now() - (i * 24 + 12) * interval 1 hour as ts from range(100) r(i)\n{% if is_incremental() %} where false {% endif %}\n`;
    const dir = makeProject({ 'models/inc.sql': sql('') });
    dirs.push(dir);
    expect(vigil(dir, ['run']).code).toBe(0);
    expect(vigil(dir, ['retention', 'plan']).code).toBe(0);
    expect(vigil(dir, ['retention', 'apply']).code).toBe(0);
    const count = async () => Number((await duck(dir, 'select count(*) as n from analytics.inc'))[0].n);
    expect(await count()).toBe(40);
    const plain = vigil(dir, ['run', '-s', 'inc']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toMatch(/warning/);
    const full = vigil(dir, ['run', '-s', 'inc', '--full-refresh']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(full.stdout).toMatch(/OK created incremental table analytics\.inc \[[\d.]+s\]\n  warning: --full-refresh rebuilt it whole from its query: any rows vigil retention apply deleted \(retention: ts older than 40d\) are back unless the query filters them out; vigil retention plan -s inc, then vigil retention apply, deletes them again\n/);
    expect(await count()).toBe(100);
    writeFileSync(join(dir, 'models/inc.sql'), sql(', full_refresh=false'));
    const kept = vigil(dir, ['run', '-s', 'inc', '--full-refresh']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).not.toMatch(/warning/);
  });

  it("an incremental model with retention whose every row retention apply deleted is filled from its whole query by the next plain run, and that run warns that the deleted rows are back (was: silent, 'inserted 100 rows')", async () => {
    const dir = makeProject({ 'models/inc.sql': "{{ config(materialized='incremental', retention={'column': 'ts', 'keep': '40d'}) }}\nselect i as id, now() - ((i + 50) * 24) * interval 1 hour as ts from range(100) r(i)\n{% if is_incremental() %} where ts > (select max(ts) from {{ this }}) {% endif %}\n" });
    dirs.push(dir);
    expect(vigil(dir, ['run']).code).toBe(0);
    expect(vigil(dir, ['retention', 'plan']).code).toBe(0);
    expect(vigil(dir, ['retention', 'apply']).code).toBe(0);
    const count = async () => Number((await duck(dir, 'select count(*) as n from analytics.inc'))[0].n);
    expect(await count()).toBe(0);
    const plain = vigil(dir, ['run', '-s', 'inc']);
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/OK inserted 100 rows into analytics\.inc \[[\d.]+s\]\n  warning: its table held no row, so this run filled it whole from its query: any rows vigil retention apply deleted \(retention: ts older than 40d\) are back unless the query filters them out; vigil retention plan -s inc, then vigil retention apply, deletes them again\n/);
    expect(await count()).toBe(100);
    // an incremental run into rows: nothing said
    const next = vigil(dir, ['run', '-s', 'inc']);
    expect(next.stdout).not.toMatch(/warning/);
  });

  it('retention on a table model: vigil run refuses it (exit 2, at the config line) before building anything', () => {
    const dir = makeProject({ 'models/v.sql': "-- a table\n{{ config(materialized='table', retention={'column': 'ts', 'keep': '40d'}) }}\nselect now() - interval 100 day as ts\n" });
    dirs.push(dir);
    const r = vigil(dir, ['run', '-s', 'v']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\/v\.sql:2:\d+: error: model 'v' has retention but is materialized as table/);
    expect(r.stderr).toMatch(/materialize it as incremental, or filter its query by the same window/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

const AS_OF = '2026-12-01T00:00:00Z';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 3,000 rows an hour apart back from AS_OF; every 3rd has its own period of 40 days, every 3rd + 1 one of 2 days (below the 7d minimum) */
const ROWS = 3000;
const days = (i: number) => (i % 3 === 0 ? 40 : i % 3 === 1 ? 2 : null);
/** What must be left: a row goes when older than its own cutoff (strictly), never newer than the floor. */
function expectedKept(keepDays: number, minimumDays: number, override: boolean): number[] {
  const asOf = Date.parse(AS_OF);
  const kept: number[] = [];
  for (let i = 0; i < ROWS; i++) {
    const ts = asOf - i * HOUR;
    const d = override ? days(i) : null;
    const goes = d === null ? ts < asOf - keepDays * DAY : ts < asOf - minimumDays * DAY && ts < asOf - d * DAY;
    if (!goes) kept.push(i);
  }
  return kept;
}

describe('the oldest and newest times a warehouse prints', () => {
  it('are read as instants: a date, a zone, BC years as Postgres and DuckDB print them, years of five digits, infinities; other text is an error', async () => {
    const { parseWarehouseTime } = await import('../../src/retention/retention.js');
    const read = (t: string) => parseWarehouseTime(t).toISOString();
    expect(read('2025-01-01')).toBe('2025-01-01T00:00:00.000Z');
    expect(read('2025-01-01 10:00:00+02')).toBe('2025-01-01T08:00:00.000Z');
    expect(read('2026-01-02 03:04:05.123 UTC')).toBe('2026-01-02T03:04:05.123Z');
    // 1 BC is the year 0 (Postgres' suffix; DuckDB's "(BC)" after the date: was refused)
    expect(read('0044-03-15 10:00:00+00 BC')).toBe('-000043-03-15T10:00:00.000Z');
    expect(read('0057-03-15 (BC) 00:00:00+00')).toBe('-000056-03-15T00:00:00.000Z');
    expect(read('0001-03-15 (BC)')).toBe('0000-03-15T00:00:00.000Z');
    expect(read('12000-03-15 10:00:00+00')).toBe('+012000-03-15T10:00:00.000Z');
    expect(parseWarehouseTime('-infinity').getTime()).toBe(-8.64e15);
    expect(() => parseWarehouseTime('sometime in 2025')).toThrow(/'sometime in 2025' is not a time Vigil can read/);
  });
});

const PROJECT = (retention: string, minimum = '7d', extraTargets = '', syncFrom = '') => ({
  'project.yaml': `name: rt
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
${extraTargets}retention: { minimum: ${minimum} }
`,
  'models/sources.yml': `sources:
  - name: raw
${syncFrom}    tables:
      - name: events
        retention: ${retention}
`,
});

const ROW_SQL = "select id, strftime(created_at, '%Y-%m-%d %H:%M:%S') as ts, days, note from raw.events order by id";

async function duckProject(retention: string, minimum = '7d'): Promise<string> {
  const dir = makeProject(PROJECT(retention, minimum));
  dirs.push(dir);
  await duck(dir, `create schema raw; create table raw.events as select i as id, timestamptz '2026-12-01 00:00:00+00' - i * interval '1 hour' as created_at, case i % 3 when 0 then 40 when 1 then 2 end as days, 'n' || i as note from range(0, ${ROWS}) t(i)`);
  return dir;
}

/** The rows left equal the rows before minus exactly the expired ones, column for column. */
function expectRowsLeft(before: Array<Record<string, unknown>>, after: Array<Record<string, unknown>>, kept: number[]): void {
  const keep = new Set(kept);
  const norm = (r: Record<string, unknown>) => `${Number(r.id)}|${String(r.ts)}|${r.days === null ? '' : Number(r.days)}|${String(r.note)}`;
  expect(after.map(norm)).toEqual(before.filter((r) => keep.has(Number(r.id))).map(norm));
}

describe('vigil retention on DuckDB', () => {
  it('plan counts, apply deletes exactly the expired rows (per-row override floored at the minimum), logs the run; a second apply deletes nothing', async () => {
    const dir = await duckProject('{ column: created_at, keep: 30d, override_days: days, batch_size: 400 }');
    const before = await duck(dir, ROW_SQL);
    const kept = expectedKept(30, 7, true);
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const plan = JSON.parse(readFileSync(join(dir, 'target/retention_plan.json'), 'utf8'));
    expect(plan.tables).toHaveLength(1);
    expect(plan.tables[0]).toMatchObject({ table: 'raw.events', cutoff: '2026-11-01T00:00:00.000Z', override_floor: '2026-11-24T00:00:00.000Z', rows: ROWS - kept.length, newest: '2026-11-23 23:00:00+00' });
    expect(p.stdout).toMatch(new RegExp(`raw\\.events .* 30d \\(or days\\) .* 2026-11-01T00:00:00\\.000Z +${(ROWS - kept.length).toLocaleString('en-US')} `));
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS }]); // plan reads only

    const a = vigil(dir, ['retention', 'apply'], { VIGIL_ACTOR: 'retention-test' });
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(a.stdout).toMatch(/raw\.events: batch 2, 800 of/);
    expectRowsLeft(before, await duck(dir, ROW_SQL), kept);
    expect(await duck(dir, 'select table_name, rows_deleted::int as rows_deleted, planned_rows::int as planned_rows, status, actor, target_name from analytics.vigil_retention_log')).toEqual([
      { table_name: 'raw.events', rows_deleted: ROWS - kept.length, planned_rows: ROWS - kept.length, status: 'success', actor: 'retention-test', target_name: 'dev' },
    ]);
    const again = vigil(dir, ['retention', 'apply']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing before 2026-11-01T00:00:00\.000Z/);
    expectRowsLeft(before, await duck(dir, ROW_SQL), kept);
  });

  it('a plan beside a BI tool reading the DuckDB file: planned, reading it read-only (was: exit 1, "in use by another process": it opened the file to write)', async () => {
    const dir = await duckProject('{ column: created_at, keep: 30d }');
    const reader = await readDuckDbReadOnly(join(dir, '.vigil', 'dev.duckdb'));
    try {
      const p = vigil(dir, ['retention', 'plan', '--at', AS_OF]);
      expect(p.code, p.stdout + p.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, 'target/retention_plan.json'), 'utf8')).tables[0]).toMatchObject({ table: 'raw.events', cutoff: '2026-11-01T00:00:00.000Z', rows: 2279 });
    } finally {
      reader.kill();
    }
  });

  it('an apply with nothing left to delete logs its line, a success with 0 rows deleted and the cutoff: a plan of 0 rows, the rerun of one a kill left running (was: no line, the last success kept an older cutoff)', async () => {
    const LOG = "select planned_rows::int as planned, rows_deleted::int as deleted, status, cast(cutoff as varchar) as cutoff, finished_at is not null as finished from analytics.vigil_retention_log order by started_at";
    const dir = await duckProject('{ column: created_at, keep: 1000d }');
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF]).code).toBe(0);
    const a = vigil(dir, ['retention', 'apply']);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(a.stdout).toMatch(/1 of 1 OK raw\.events: nothing before 2024-03-06T00:00:00\.000Z\n/);
    expect(a.stdout).toContain('Logged in dev:analytics.vigil_retention_log');
    expect(await duck(dir, LOG)).toEqual([{ planned: 0, deleted: 0, status: 'success', cutoff: '2024-03-06 00:00:00+00', finished: true }]);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS }]);

    // a kill after the last batch committed, before the line's status: the rerun finds nothing left and says so in the log
    const all = await duckProject(`{ column: created_at, keep: 30d, batch_size: ${ROWS} }`);
    expect(vigil(all, ['retention', 'plan', '--at', AS_OF]).code).toBe(0);
    const killed = spawnSync(process.execPath, [VIGIL, 'retention', 'apply'], { cwd: all, encoding: 'utf8', env: { ...process.env, VIGIL_TEST_CRASH_AFTER_BATCH: '1' } });
    expect(killed.signal).toBe('SIGKILL');
    const rerun = vigil(all, ['retention', 'apply']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain("OK raw.events: nothing before 2026-11-01T00:00:00.000Z (the plan's 2,279 rows are gone already)");
    expect(await duck(all, LOG)).toEqual([
      { planned: 2279, deleted: 2279, status: 'running', cutoff: '2026-11-01 00:00:00+00', finished: false },
      { planned: 2279, deleted: 0, status: 'success', cutoff: '2026-11-01 00:00:00+00', finished: true },
    ]);
  });

  it('a plan with nothing past its cutoff says so, with the tables it planned (was: "0 rows in 0 tables would be deleted" for 1 table planned)', async () => {
    const dir = await duckProject('{ column: created_at, keep: 1000d }');
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(p.stdout).toContain('\nNo rows would be deleted (1 table planned, none past its cutoff). Plan written to target/retention_plan.json');
    const some = await duckProject('{ column: created_at, keep: 30d }');
    expect(vigil(some, ['retention', 'plan', '--at', AS_OF]).stdout).toMatch(/\n2,279 rows in 1 table would be deleted\. Plan written/);
  });

  it('kill -9 after the first batch, then a rerun of the same plan: only the remainder goes, nothing newer, nothing twice', async () => {
    const dir = await duckProject('{ column: created_at, keep: 30d, batch_size: 500 }');
    const before = await duck(dir, ROW_SQL);
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF]).code).toBe(0);
    const killed = spawnSync(process.execPath, [VIGIL, 'retention', 'apply'], { cwd: dir, encoding: 'utf8', env: { ...process.env, VIGIL_TEST_CRASH_AFTER_BATCH: '1' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toMatch(/batch 1, 500 of 2,279 rows/);
    // the first batch is committed with its count in the log; the run stays 'running'
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS - 500 }]);
    expect(await duck(dir, 'select rows_deleted::int as d, status from analytics.vigil_retention_log')).toEqual([{ d: 500, status: 'running' }]);
    const rerun = vigil(dir, ['retention', 'apply']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/1,779 rows before 2026-11-01T00:00:00\.000Z \(500 of the plan's 2,279 already gone\)/);
    expectRowsLeft(before, await duck(dir, ROW_SQL), expectedKept(30, 7, false));
  });

  it('refuses, deleting nothing: a keep below the minimum without --force (exit 2, at its line), rows that appeared before the cutoff since the plan (exit 1), a changed config (exit 2)', async () => {
    const dir = await duckProject('{ column: created_at, keep: 3d }', '7d');
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF]).stderr).toMatch(/warning: raw\.events keeps 3d, shorter than the project's retention minimum 7d/);
    const refused = vigil(dir, ['retention', 'apply']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/models\/sources\.yml:5:\d+: error: raw\.events: keep 3d is shorter than the project's retention minimum 7d; nothing was deleted/);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS }]);

    await duck(dir, "insert into raw.events values (99999, timestamptz '2020-01-01 00:00:00+00', null, 'backfilled')");
    const drift = vigil(dir, ['retention', 'apply', '--force']);
    expect(drift.code).toBe(1);
    expect(drift.stderr).toMatch(/the data changed since the plan .*nothing was deleted:\n {2}raw\.events: the plan counted 2,927 rows before 2026-11-28T00:00:00\.000Z, there are 2,928 now/s);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS + 1 }]);

    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF]).code).toBe(0);
    const yml = join(dir, 'models/sources.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('keep: 3d', 'keep: 2d'));
    const changed = vigil(dir, ['retention', 'apply', '--force']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/raw\.events: the plan was made for .*"keep":"3d".*, the project now says .*"keep":"2d"/);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS + 1 }]);

    writeFileSync(yml, readFileSync(yml, 'utf8').replace('keep: 2d', 'keep: 3d'));
    const forced = vigil(dir, ['retention', 'apply', '--force']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: 73 }]);
  });

  it('a backfilled old row beside a planned row moved out of reach (the same count) is refused, exit 1, nothing deleted (was: deleted the row the plan never counted)', async () => {
    const dir = await duckProject('{ column: created_at, keep: 3d }', '1d');
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF]).code).toBe(0);
    await duck(dir, "update raw.events set created_at = timestamptz '2026-11-30 12:00:00+00' where id = (select id from raw.events where created_at < timestamptz '2026-11-28 00:00:00+00' order by created_at desc limit 1)");
    await duck(dir, "insert into raw.events values (99999, timestamptz '2020-01-01 00:00:00+00', null, 'backfilled')");
    const drift = vigil(dir, ['retention', 'apply']);
    expect(drift.stderr).toMatch(/the data changed since the plan .*nothing was deleted:\n {2}raw\.events: rows before 2026-11-28T00:00:00\.000Z the plan did not count: the oldest 2020-01-01/s);
    expect(drift.code).toBe(1);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS + 1 }]);
  });

  it('a "keep forever" override (2147483647 days, or its negative) plans and applies: kept, or floored (was: the whole plan failed "ICU date overflows timestamp range")', async () => {
    const dir = await duckProject('{ column: created_at, keep: 30d, override_days: days }');
    await duck(dir, 'update raw.events set days = 2147483647 where id % 3 = 0; update raw.events set days = -2147483647 where id = 1000');
    const forever = async () => (await duck(dir, 'select count(*)::int as n from raw.events where days = 2147483647'))[0];
    const before = await forever();
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const a = vigil(dir, ['retention', 'apply']);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(await forever()).toEqual(before);
    // the negative one is floored at the minimum: 1000 hours old, it goes
    expect(await duck(dir, 'select count(*)::int as n from raw.events where id = 1000')).toEqual([{ n: 0 }]);
  });

  it('override_days on a DOUBLE column plans and applies, a fraction to the minute (was: refused as "not a number of days")', async () => {
    const dir = await duckProject('{ column: created_at, keep: 30d, override_days: days }');
    // 40.5 days: the row 40 days and 11 hours old stays, the one 40 days and 13 hours old goes
    await duck(dir, 'alter table raw.events alter days type double; update raw.events set days = 40.5 where days = 40');
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const a = vigil(dir, ['retention', 'apply']);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    const left = async (id: number) => Number((await duck(dir, `select count(*) as n from raw.events where id = ${id}`))[0].n);
    expect([await left(40 * 24 + 9), await left(40 * 24 + 15)]).toEqual([1, 0]);
    expect(await duck(dir, 'select count(*)::int as n from raw.events where days is null and created_at < timestamptz \'2026-11-01 00:00:00+00\'')).toEqual([{ n: 0 }]);
  });

  it('retention on a source that is a view in the warehouse: an error at its YAML line, exit 2, no plan (was: a plan, then apply failed "Can only delete from base table")', async () => {
    const dir = await duckProject('{ column: created_at, keep: 30d }');
    await duck(dir, 'alter table raw.events rename to events_t; create view raw.events as select * from raw.events_t');
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF]);
    expect(p.code, p.stdout + p.stderr).toBe(2);
    expect(p.stderr).toMatch(/models\/sources\.yml:5:\d+: error: source raw\.events: raw\.events is a view in target 'dev': retention deletes rows from a table \[E_RETENTION\]/);
    expect(p.stderr).not.toMatch(/\n\s+at /);
    expect(vigil(dir, ['retention', 'apply']).stderr).toMatch(/no plan at target\/retention_plan\.json/);
    expect(await duck(dir, 'select count(*)::int as n from raw.events_t')).toEqual([{ n: ROWS }]);
  });

  it('an edited plan (a later cutoff) or a changed minimum is refused, exit 2, nothing deleted', async () => {
    const dir = await duckProject('{ column: created_at, keep: 30d, override_days: days }');
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF]).code).toBe(0);
    const file = join(dir, 'target/retention_plan.json');
    const plan = readFileSync(file, 'utf8');
    writeFileSync(file, plan.replace('"cutoff": "2026-11-01T00:00:00.000Z"', '"cutoff": "2026-11-30T00:00:00.000Z"'));
    const edited = vigil(dir, ['retention', 'apply']);
    expect(edited.code).toBe(2);
    expect(edited.stderr).toMatch(/raw\.events: the plan's cutoff 2026-11-30T00:00:00\.000Z and floor 2026-11-24T00:00:00\.000Z do not follow from keep 30d and the project's retention minimum 7d/);
    writeFileSync(file, plan);
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('minimum: 7d', 'minimum: 14d'));
    const minimum = vigil(dir, ['retention', 'apply']);
    expect(minimum.code).toBe(2);
    expect(minimum.stderr).toMatch(/do not follow from keep 30d and the project's retention minimum 14d/);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS }]);
  });

  it("a truncated or hand-edited plan whose table lacks what apply reads is not a plan: exit 2, said, nothing deleted (was: an internal error, \"Cannot read properties of undefined (reading 'schema')\")", async () => {
    const dir = await duckProject('{ column: created_at, keep: 30d }');
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF]).code).toBe(0);
    const file = join(dir, 'target/retention_plan.json');
    const plan = JSON.parse(readFileSync(file, 'utf8'));
    for (const [edit, said] of [
      [(t: Record<string, unknown>) => delete t.relation, 'tables\\[0\\]: no relation'],
      [(t: Record<string, unknown>) => delete t.cutoff, 'tables\\[0\\]: no cutoff'],
      [(t: Record<string, unknown>) => (t.rows = '400'), 'tables\\[0\\]: no count of rows'],
    ] as const) {
      const table = structuredClone(plan.tables[0]);
      edit(table);
      writeFileSync(file, JSON.stringify({ ...plan, tables: [table] }));
      const r = vigil(dir, ['retention', 'apply']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^error: target/retention_plan\\.json is not a retention plan \\(${said}\\); run vigil retention plan again\\n$`));
    }
    writeFileSync(file, JSON.stringify({ ...plan, tables: [{}] }));
    expect(vigil(dir, ['retention', 'apply']).stderr).toMatch(/is not a retention plan \(tables\[0\]: no unique_id\)/);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS }]);
  });

  it("a misspelt column or override_days column: plan fails at the YAML line with the table's columns and the nearest one (was: override_days named neither)", async () => {
    const dir = await duckProject('{ column: created_a, keep: 30d, override_days: dayz }');
    const r = vigil(dir, ['retention', 'plan']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\/sources\.yml:5:\d+: error: source raw\.events: retention column 'created_a' is not a column of raw\.events in target 'dev' \(it has id, created_at, days, note\) \[E_RETENTION\]\n  hint: did you mean 'created_at'\?/);
    expect(r.stderr).toMatch(/models\/sources\.yml:5:\d+: error: source raw\.events: retention override_days column 'dayz' is not a column of raw\.events in target 'dev' \(it has id, created_at, days, note\) \[E_RETENTION\]\n  hint: did you mean 'days'\?/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a column that is not a timestamp in the warehouse (no declared type): plan fails at the YAML line, exit 2, no plan written', async () => {
    const dir = await duckProject('{ column: note, keep: 30d }');
    const r = vigil(dir, ['retention', 'plan']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\/sources\.yml:5:\d+: error: source raw\.events: retention column 'note' is VARCHAR in target 'dev', not a timestamp or date/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(vigil(dir, ['retention', 'apply']).stderr).toMatch(/no plan at target\/retention_plan\.json: run vigil retention plan first/);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS }]);
    // the CLI on a config mistake: exit 2, file:line, no stack trace
    writeFileSync(join(dir, 'models/sources.yml'), readFileSync(join(dir, 'models/sources.yml'), 'utf8').replace('{ column: note, keep: 30d }', '{ colum: created_at, keep: 30 days }'));
    for (const cmd of ['plan', 'apply']) {
      const bad = vigil(dir, ['retention', cmd]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/models\/sources\.yml:5:\d+: error: sources\[0\]\.tables\[0\]\.retention\.colum: unknown key 'colum' — did you mean 'column'\?/);
      expect(bad.stderr).toMatch(/models\/sources\.yml:5:\d+: error: sources\[0\]\.tables\[0\]\.retention\.keep: must be a duration/);
      expect(bad.stderr).not.toMatch(/\n\s+at /);
    }
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: ROWS }]);
  });

  it("a DATE column: a day goes only once it is wholly before the cutoff (was: the cutoff's own day went too), and apply's drift check reads its days (was: '2026-08-24' read as an Invalid Date and the check skipped)", async () => {
    const dir = makeProject(PROJECT('{ column: day, keep: 30d }'));
    dirs.push(dir);
    // 100 days back from 2026-12-01; planned at noon, the cutoff is 2026-11-01T12:00Z: 2026-10-31 is the last day wholly before it
    await duck(dir, "create schema raw; create table raw.events as select i as id, cast(date '2026-12-01' - i * interval 1 day as date) as day from range(0, 100) t(i)");
    expect(vigil(dir, ['retention', 'plan', '--at', '2026-12-01T12:00:00Z']).code).toBe(0);
    const plan = JSON.parse(readFileSync(join(dir, 'target/retention_plan.json'), 'utf8'));
    expect(plan.tables[0]).toMatchObject({ cutoff: '2026-11-01T12:00:00.000Z', rows: 69, oldest: '2026-08-24', newest: '2026-10-31', column_type: 'DATE' });
    // a backfilled old day beside a planned day moved past the cutoff: the same count, an older oldest
    await duck(dir, "insert into raw.events values (99999, date '2020-01-01'); update raw.events set day = date '2026-11-30' where id = 31");
    const drift = vigil(dir, ['retention', 'apply']);
    expect(drift.stderr).toMatch(/the data changed since the plan .*nothing was deleted:\n {2}raw\.events: rows before 2026-11-01T12:00:00\.000Z the plan did not count: the oldest 2020-01-01 \(the plan's: 2026-08-24\)/s);
    expect(drift.code).toBe(1);
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: 101 }]);
    expect(vigil(dir, ['retention', 'plan', '--at', '2026-12-01T12:00:00Z']).code).toBe(0);
    const a = vigil(dir, ['retention', 'apply']);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(await duck(dir, "select list(id::int order by id) as ids, min(day)::varchar as first from raw.events")).toEqual([{ ids: Array.from({ length: 32 }, (_, i) => i), first: '2026-11-01' }]);
  });

  it("an apply failing on a value of a table with a PII column masks the values DuckDB quotes (a key still referenced): the progress line shows '****', never the key (was: the e-mail printed as it is)", async () => {
    const dir = makeProject({ ...PROJECT('{ column: created_at, keep: 30d }'), 'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: events\n        retention: { column: created_at, keep: 30d }\n        columns:\n          - name: email\n            meta: { pii: true }\n' });
    dirs.push(dir);
    await duck(dir, "create schema raw; create table raw.events (email varchar primary key, created_at timestamptz); create table raw.orders (id int, email varchar references raw.events (email)); insert into raw.events values ('gone.person@example.com', '2020-01-01'), ('kept@example.com', '2026-11-30'); insert into raw.orders values (1, 'gone.person@example.com')");
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    // the key that will refuse the delete is said by the plan, as on Postgres (was: nothing, on DuckDB)
    expect(p.stderr).toContain('warning: deleting the 1 row raw.events plans is refused by 1 row of raw.orders that references them (foreign key orders_email_email_fkey, ON DELETE NO ACTION): apply fails at the first batch holding a referenced row');
    const a = vigil(dir, ['retention', 'apply']);
    expect(a.code, a.stdout + a.stderr).toBe(1);
    expect(a.stderr).toContain('is refused by 1 row of raw.orders');
    expect(a.stdout).toMatch(/1 of 1 ERROR raw\.events: .*foreign key.*'?\*\*\*\*/i);
    expect(a.stdout + a.stderr).not.toContain('gone.person');
    expect(await duck(dir, 'select count(*)::int as n from raw.events')).toEqual([{ n: 2 }]);
  });
});

describe('vigil retention on Postgres (apply_to: source: the database vigil sync reads)', () => {
  const url = inject('pgUrl');
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client(url);
    await client.connect();
    await client.query("set timezone = 'UTC'");
  });
  afterAll(async () => {
    await client?.end();
  });

  const PG_ROWS = `select id, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') as ts, days, note from %s.events order by id`;

  it('plan and apply in the source database, row by row; kill -9 after the first batch and a rerun; the log is in that database', async () => {
    const s = uniqueSchema('ret_src');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, created_at timestamptz not null, days integer, note text);
      insert into ${s}.events select i, timestamptz '2026-12-01 00:00:00+00' - i * interval '1 hour', case i % 3 when 0 then 40 when 1 then 2 end, 'n' || i from generate_series(0, ${ROWS - 1}) i`);
    const dir = makeProject(PROJECT('{ column: created_at, keep: 30d, override_days: days, batch_size: 300, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    const before = (await client.query(PG_ROWS.replace('%s', s))).rows;
    const kept = expectedKept(30, 7, true);
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF], env);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(p.stdout).toMatch(new RegExp(`raw\\.events +app:${s}\\.events`));

    const killed = spawnSync(process.execPath, [VIGIL, 'retention', 'apply'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env, VIGIL_TEST_CRASH_AFTER_BATCH: '1' } });
    expect(killed.signal).toBe('SIGKILL');
    expect((await client.query(`select count(*)::int as n from ${s}.events`)).rows).toEqual([{ n: ROWS - 300 }]);
    const rerun = vigil(dir, ['retention', 'apply'], env);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expectRowsLeft(before, (await client.query(PG_ROWS.replace('%s', s))).rows, kept);
    expect((await client.query(`select status, rows_deleted::int as d, target_name from ${s}.vigil_retention_log order by started_at`)).rows).toEqual([
      { status: 'running', d: 300, target_name: 'app' },
      { status: 'success', d: ROWS - kept.length - 300, target_name: 'app' },
    ]);
    // the warehouse copy was never touched (it does not even exist here)
    expect(await duck(dir, "select count(*)::int as n from information_schema.tables where table_name = 'events'")).toEqual([{ n: 0 }]);

    // where a plan deletes is part of it: planned in the source, apply_to since removed (the
    // warehouse's raw.events is another table) — refused, not a crash, nothing deleted anywhere
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF], env).code).toBe(0);
    const yml = join(dir, 'models/sources.yml');
    // (and the source's sync: { from: app }, which no table reads without apply_to: source, an error of its own)
    writeFileSync(yml, readFileSync(yml, 'utf8').replace(', apply_to: source', '').replace(`    sync: { from: app, schema: ${s} }\n`, ''));
    const moved = vigil(dir, ['retention', 'apply'], env);
    expect(moved.code, moved.stdout + moved.stderr).toBe(2);
    expect(moved.stderr).toMatch(/raw\.events: the plan was made for .*"apply_to":"source","target":"app".*, the project now says .*"apply_to":"warehouse","target":"dev"/);
    expect(moved.stderr).not.toMatch(/\n\s+at /);
    expectRowsLeft(before, (await client.query(PG_ROWS.replace('%s', s))).rows, kept);
  });

  it('an apply with nothing left to delete logs its line in that database, a success with 0 rows deleted and the cutoff (was: no line)', async () => {
    const s = uniqueSchema('ret_none');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, created_at timestamptz not null, days integer, note text);
      insert into ${s}.events select i, timestamptz '2026-12-01 00:00:00+00' - i * interval '1 hour', null, 'n' || i from generate_series(0, 99) i`);
    const dir = makeProject(PROJECT('{ column: created_at, keep: 30d, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    const LOG = `select planned_rows::int as planned, rows_deleted::int as deleted, status, to_char(cutoff at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as cutoff, finished_at is not null as finished from ${s}.vigil_retention_log order by started_at`;
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF], env).code).toBe(0);
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(a.stdout).toContain('1 of 1 OK raw.events: nothing before 2026-11-01T00:00:00.000Z\n');
    expect((await client.query(LOG)).rows).toEqual([{ planned: 0, deleted: 0, status: 'success', cutoff: '2026-11-01 00:00', finished: true }]);
    expect((await client.query(`select count(*)::int as n from ${s}.events`)).rows).toEqual([{ n: 100 }]);
    // the same plan again: another line
    expect(vigil(dir, ['retention', 'apply'], env).code).toBe(0);
    expect((await client.query(LOG)).rows).toHaveLength(2);
  });

  it('a partitioned table (ctids repeat across its partitions): each batch deletes at most batch_size rows, and apply at most the rows it counted (was: the row at each ctid went in every partition, a batch of 2 deleted 4)', async () => {
    const s = uniqueSchema('ret_part');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint, created_at timestamptz not null, days integer, note text) partition by range (created_at);
      create table ${s}.events_a partition of ${s}.events for values from ('2026-01-01') to ('2026-06-01');
      create table ${s}.events_b partition of ${s}.events for values from ('2026-06-01') to ('2026-10-01');
      create table ${s}.events_c partition of ${s}.events for values from ('2026-10-01') to ('2027-01-01');
      insert into ${s}.events values (1, '2026-02-01', null, 'a'), (2, '2026-02-02', null, 'a'), (3, '2026-02-03', null, 'a'), (11, '2026-07-01', null, 'b'), (12, '2026-07-02', null, 'b'), (21, '2026-11-20', null, 'c'), (22, '2026-11-21', null, 'c')`);
    const dir = makeProject(PROJECT('{ column: created_at, keep: 30d, batch_size: 2, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    const ids = async () => (await client.query(`select id::int from ${s}.events order by id`)).rows.map((r) => r.id);
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF], env).code).toBe(0);
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(a.stdout).toContain('raw.events: batch 1, 2 of 5 rows deleted');
    expect(a.stdout).toContain('raw.events: batch 3, 5 of 5 rows deleted');
    expect(await ids()).toEqual([21, 22]);

    // rows matching the plan that came after apply counted (here: apply set out to delete 1 of 2,
    // at the same ctid in two partitions): the one counted goes, the other is left and said
    await client.query(`insert into ${s}.events values (4, '2026-02-04', null, 'a'), (13, '2026-07-03', null, 'b')`);
    const db = await PostgresAdapter.open({ type: 'postgres', url, schema: s }, 1);
    try {
      const e: PlanEntry = { unique_id: 'source.p.raw.events', table: 'raw.events', target: 'app', apply_to: 'source', relation: { schema: s, identifier: 'events' }, column: 'created_at', column_type: 'timestamp with time zone', keep: '30d', override_days: null, minimum: '7d', batch_size: 50_000, as_of: '2026-12-01T00:00:00.000Z', cutoff: '2026-11-01T00:00:00.000Z', override_floor: null, rows: 1, oldest: null, newest: null, below_minimum: false, at: { file: 'models/sources.yml', line: 1 } };
      const r = await applyEntry(db, e, 1, { runId: 'run-part', actor: 't', log: logRelation(s), out: () => {} });
      expect(r).toEqual({ deleted: 1, stopped: false, appeared: 1 });
      expect(await ids()).toHaveLength(3);
    } finally {
      await db.close();
    }
  });

  it("a sync never brings back what retention apply deleted from the warehouse copy: --mode full, a delta and --full-refresh skip the rows of its last apply, and say how many (was: --mode full copied all 3,000 again, nothing said)", async () => {
    const s = uniqueSchema('ret_sync');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, created_at timestamptz not null, days integer, note text);
      insert into ${s}.events select i, timestamptz '2026-12-01 00:00:00+00' - i * interval '1 hour', case i % 3 when 0 then 40 when 1 then 2 end, 'n' || i from generate_series(0, ${ROWS - 1}) i`);
    const dir = makeProject({
      ...PROJECT('x', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`),
      'models/sources.yml': `sources:\n  - name: raw\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n        retention: { column: created_at, keep: 30d, override_days: days }\n`,
    });
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    expect(vigil(dir, ['sync'], env).code).toBe(0);
    const before = await duck(dir, ROW_SQL);
    expect(before).toHaveLength(ROWS);
    const kept = expectedKept(30, 7, true);
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF], env).code).toBe(0);
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expectRowsLeft(before, await duck(dir, ROW_SQL), kept);

    // a row after the cutoff changed in the source, one before it too: the first is copied, the second not
    await client.query(`update ${s}.events set note = 'changed' where id in (${kept[kept.length - 1]}, ${ROWS - 1})`);
    const full = vigil(dir, ['sync', '--mode', 'full'], env);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(full.stdout).toContain(`raw.events: ${(ROWS - kept.length).toLocaleString('en-US')} rows older than retention's last cutoff 2026-11-01T00:00:00.000Z (or their own days period) not copied: vigil retention apply deleted them from raw.events (models/sources.yml:5)`);
    const changed = before.map((r) => (Number(r.id) === kept[kept.length - 1] ? { ...r, note: 'changed' } : r));
    expectRowsLeft(changed, await duck(dir, ROW_SQL), kept);
    // a delta (its lookback reads no old row: nothing to say) and --full-refresh (from the beginning) keep them out too
    const delta = vigil(dir, ['sync'], env);
    expect(delta.code).toBe(0);
    expect(delta.stdout).not.toMatch(/not copied/);
    const refresh = vigil(dir, ['sync', '--full-refresh'], env);
    expect(refresh.code, refresh.stdout + refresh.stderr).toBe(0);
    expect(refresh.stdout).toMatch(/rows older than retention's last cutoff .* not copied/);
    expectRowsLeft(changed, await duck(dir, ROW_SQL), kept);
  });

  /** A project syncing ${s}.events (3,000 hourly rows back from AS_OF, days 40/2/NULL) into DuckDB, with `retention` and project minimum `minimum`. */
  const syncedProject = (s: string, retention: string, minimum: string) => {
    const dir = makeProject({
      ...PROJECT('x', minimum, `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`),
      'models/sources.yml': `sources:\n  - name: raw\n    sync: { from: app, schema: ${s} }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: created_at }\n        retention: ${retention}\n`,
    });
    dirs.push(dir);
    return dir;
  };
  const setMinimum = (dir: string, minimum: string) => {
    const f = join(dir, 'project.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/retention: \{ minimum: \w+ \}/, `retention: { minimum: ${minimum} }`));
  };

  it("a sync leaves out what the last apply deleted by the override floor that apply used, as its log line keeps it, whatever retention.minimum says since (was: today's minimum — lowered to 1d, --full-refresh lost rows apply had kept; raised to 30d, --mode full copied back rows apply had deleted)", async () => {
    const s = uniqueSchema('ret_floor');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, created_at timestamptz not null, days integer, note text);
      insert into ${s}.events select i, timestamptz '2026-12-01 00:00:00+00' - i * interval '1 hour', case i % 3 when 0 then 40 when 1 then 2 end, 'n' || i from generate_series(0, ${ROWS - 1}) i`);
    const dir = syncedProject(s, '{ column: created_at, keep: 30d, override_days: days }', '7d');
    const env = { DATABASE_URL: url };
    expect(vigil(dir, ['sync'], env).code).toBe(0);
    const before = await duck(dir, ROW_SQL);
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF], env).code).toBe(0);
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    const kept = expectedKept(30, 7, true);
    expectRowsLeft(before, await duck(dir, ROW_SQL), kept);
    // the floor apply used is in its line
    expect(await duck(dir, "select strftime(override_floor, '%Y-%m-%d %H:%M') as f from analytics.vigil_retention_log")).toEqual([{ f: '2026-11-24 00:00' }]);

    setMinimum(dir, '1d');
    const refresh = vigil(dir, ['sync', '--full-refresh'], env);
    expect(refresh.code, refresh.stdout + refresh.stderr).toBe(0);
    expect(refresh.stdout).toContain(`raw.events: ${(ROWS - kept.length).toLocaleString('en-US')} rows older than retention's last cutoff`);
    expectRowsLeft(before, await duck(dir, ROW_SQL), kept);
    setMinimum(dir, '30d');
    const full = vigil(dir, ['sync', '--mode', 'full'], env);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expectRowsLeft(before, await duck(dir, ROW_SQL), kept);
  });

  it('a copy retention apply emptied keeps its cursor: the next deltas read from it, not the whole source again, and the cursor stays (was: forgotten, "starts again from the beginning" at every delta, every left-out row counted again)', async () => {
    const s = uniqueSchema('ret_empty');
    // every row more than 60 days before AS_OF
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, created_at timestamptz not null, days integer, note text);
      insert into ${s}.events select i, timestamptz '2026-10-01 00:00:00+00' - i * interval '1 hour', null, 'n' || i from generate_series(0, ${ROWS - 1}) i`);
    const dir = syncedProject(s, '{ column: created_at, keep: 30d }', '7d');
    const env = { DATABASE_URL: url };
    expect(vigil(dir, ['sync'], env).code).toBe(0);
    expect(vigil(dir, ['retention', 'plan', '--at', AS_OF], env).code).toBe(0);
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(a.stdout).toMatch(/deleted 3,000 rows/);
    const cursor = '2026-10-01 00:00:00+00';
    for (let run = 1; run <= 2; run++) {
      const d = vigil(dir, ['sync'], env);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      if (run === 1) expect(d.stdout).toContain(`raw.events: raw.events is empty, as retention's last apply left it (it deleted every row up to the cursor ${cursor}): the stream goes on from its cursor`);
      expect(d.stdout).not.toMatch(/from the beginning|starts again/);
      expect(d.stdout).toMatch(/raw\.events: reading \S+\.events from created_at >= /);
      // (only the lookback window behind the cursor: its one row)
      expect(d.stdout).not.toMatch(/[\d,]{2,} rows older than retention's last cutoff/);
      expect(vigil(dir, ['sync', 'status'], env).stdout).toContain(`cursor ${cursor}`);
    }
    // new rows: the third delta copies them, reading from the cursor
    await client.query(`insert into ${s}.events select 10000 + i, timestamptz '2026-12-01 00:00:00+00' + i * interval '1 minute', null, 'new' from generate_series(1, 5) i`);
    const third = vigil(dir, ['sync'], env);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.stdout).toMatch(/raw\.events: reading \S+\.events from created_at >= /);
    expect(third.stdout).toMatch(/OK raw\.events: 5 rows in 1 batch/);
    expect(await duck(dir, 'select id::int as id from raw.events order by id')).toEqual([1, 2, 3, 4, 5].map((i) => ({ id: 10000 + i })));
  });

  it('a column and override column named in another case (TS, DAYS) are the table\'s ts and days (was: column "TS" does not exist, exit 1)', async () => {
    const s = uniqueSchema('ret_case');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, ts timestamptz not null, days integer);
      insert into ${s}.events select i, timestamptz '2026-12-01 00:00:00+00' - i * interval '1 hour', case i % 3 when 0 then 40 when 1 then 2 end from generate_series(0, 2999) i`);
    const dir = makeProject(PROJECT('{ column: TS, keep: 30d, override_days: DAYS, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF], env);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect((await client.query(`select array_agg(id::int order by id) as ids from ${s}.events`)).rows[0].ids).toEqual(expectedKept(30, 7, true));
    expect((await client.query(`select column_name, status from ${s}.vigil_retention_log`)).rows).toEqual([{ column_name: 'ts', status: 'success' }]);
  });

  it('retention on a source that is a view in the source database: an error at its YAML line, exit 2, before anything is read (was: apply failed "column ctid does not exist")', async () => {
    const s = uniqueSchema('ret_view');
    await client.query(`create schema ${s}; create table ${s}.events_t (id bigint primary key, created_at timestamptz not null);
      insert into ${s}.events_t select i, timestamptz '2026-12-01 00:00:00+00' - i * interval '1 day' from generate_series(0, 99) i; create view ${s}.events as select * from ${s}.events_t`);
    const dir = makeProject(PROJECT('{ column: created_at, keep: 30d, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
    dirs.push(dir);
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF], { DATABASE_URL: url });
    expect(p.code, p.stdout + p.stderr).toBe(2);
    expect(p.stderr).toMatch(new RegExp(`models/sources\\.yml:6:\\d+: error: source raw\\.events: ${s}\\.events is a view in target 'app': retention deletes rows from a table \\[E_RETENTION\\]\\n {2}hint: put retention on the table the view reads`));
    expect(p.stderr).not.toMatch(/\n\s+at /);
    expect((await client.query(`select count(*)::int as n from ${s}.events_t`)).rows).toEqual([{ n: 100 }]);
  });

  it('rows other tables reference with ON DELETE CASCADE / SET NULL: plan and apply say how many rows of which table the delete reaches besides the planned ones (was: the cascade deleted them unsaid, uncounted and unlogged)', async () => {
    const s = uniqueSchema('ret_fk');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, created_at timestamptz not null);
      insert into ${s}.events select i, timestamptz '2026-12-01 00:00:00+00' - i * interval '1 day' from generate_series(0, 99) i;
      create table ${s}.details (id bigint, event_id bigint references ${s}.events (id) on delete cascade);
      insert into ${s}.details select i, i from generate_series(0, 99) i union all select 1000 + i, i from generate_series(90, 99) i;
      create table ${s}.notes (id bigint, event_id bigint references ${s}.events (id) on delete set null);
      insert into ${s}.notes values (1, 95), (2, 5);
      create table ${s}.unrelated (id bigint, event_id bigint references ${s}.events (id) on delete cascade);
      insert into ${s}.unrelated values (1, 3)`);
    const dir = makeProject(PROJECT('{ column: created_at, keep: 30d, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    const p = vigil(dir, ['retention', 'plan', '--at', AS_OF], env);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    // 69 events before the cutoff (days 31..99); details: one row each, and 10 more for days 90..99
    expect(p.stderr).toContain(`warning: deleting the 69 rows raw.events plans also deletes 79 rows of ${s}.details that reference them (foreign key details_event_id_fkey, ON DELETE CASCADE), and whatever references those in turn: the plan does not count them, and vigil_retention_log does not log them`);
    expect(p.stderr).toContain(`warning: deleting the 69 rows raw.events plans also sets event_id to NULL in 1 row of ${s}.notes that references them (foreign key notes_event_id_fkey, ON DELETE SET NULL)`);
    expect(p.stderr).not.toContain(`${s}.unrelated`);
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(a.stderr).toContain(`also deletes 79 rows of ${s}.details`);
    expect((await client.query(`select (select count(*)::int from ${s}.details) as details, (select count(*)::int from ${s}.notes where event_id is null) as nulled, (select count(*)::int from ${s}.unrelated) as unrelated`)).rows).toEqual([{ details: 31, nulled: 1, unrelated: 1 }]);
  });

  it('a key of the table to itself counts only the rows the plan does not delete; a referencing table the role cannot read is said, not a failure (was: "also deletes 70 rows" of a chain where one more went; plan and apply stopped at "permission denied")', async () => {
    const s = uniqueSchema('ret_fk_self');
    const role = `${s}_deleter`;
    // events 0..99, day 99 the newest; each row's parent is the row before it: 70 rows are before the cutoff, and row 70 (kept) references row 69 (planned)
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, parent_id bigint references ${s}.events (id) on delete cascade, created_at timestamptz not null);
      insert into ${s}.events select i, case when i > 0 then i - 1 end, timestamptz '2026-12-01 00:00:00+00' - (100 - i) * interval '1 day' from generate_series(0, 99) i;
      create table ${s}.hidden (event_id bigint references ${s}.events (id) on delete cascade);
      insert into ${s}.hidden values (5), (99);
      drop role if exists ${role}; create role ${role} login password 'deleter-pw';
      grant usage, create on schema ${s} to ${role}; grant select, delete on ${s}.events to ${role}`);
    try {
      const dir = makeProject(PROJECT('{ column: created_at, keep: 30d, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
      dirs.push(dir);
      const u = new URL(url);
      u.username = role;
      // (a password: CI's server asks for one, where a local one may trust every login)
      u.password = 'deleter-pw';
      const env = { DATABASE_URL: u.href };
      const p = vigil(dir, ['retention', 'plan', '--at', AS_OF], env);
      expect(p.code, p.stdout + p.stderr).toBe(0);
      expect(p.stderr).toContain(`warning: deleting the 70 rows raw.events plans also deletes 1 row of ${s}.events that references them (foreign key events_parent_id_fkey, ON DELETE CASCADE), and whatever references those in turn`);
      expect(p.stderr).toContain(`warning: deleting the 70 rows raw.events plans may also reach rows of ${s}.hidden that reference them (foreign key hidden_event_id_fkey, ON DELETE CASCADE): this role cannot read ${s}.hidden to count them`);
      const a = vigil(dir, ['retention', 'apply'], env);
      expect(a.code, a.stdout + a.stderr).toBe(0);
      // the cascade ran as the owner of hidden: its row referencing a planned event went; the chain took every event
      expect((await client.query(`select (select count(*)::int from ${s}.events) as events, (select count(*)::int from ${s}.hidden) as hidden`)).rows).toEqual([{ events: 0, hidden: 0 }]);
    } finally {
      await client.query(`drop schema ${s} cascade; drop owned by ${role}; drop role ${role}`);
    }
  });

  it("a date column: whole days only (was: the cutoff's own day went too), and apply's drift check reads its days (was: skipped, every date read as an Invalid Date)", async () => {
    const s = uniqueSchema('ret_day');
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, day date not null);
      insert into ${s}.events select i, date '2026-12-01' - i from generate_series(0, 99) i`);
    const dir = makeProject(PROJECT('{ column: day, keep: 30d, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    expect(vigil(dir, ['retention', 'plan', '--at', '2026-12-01T12:00:00Z'], env).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'target/retention_plan.json'), 'utf8')).tables[0]).toMatchObject({ rows: 69, oldest: '2026-08-24', newest: '2026-10-31', column_type: 'date' });
    await client.query(`insert into ${s}.events values (99999, '2020-01-01'); update ${s}.events set day = '2026-11-30' where id = 31`);
    const drift = vigil(dir, ['retention', 'apply'], env);
    expect(drift.stderr).toMatch(/raw\.events: rows before 2026-11-01T12:00:00\.000Z the plan did not count: the oldest 2020-01-01/);
    expect(drift.code).toBe(1);
    expect((await client.query(`select count(*)::int as n from ${s}.events`)).rows).toEqual([{ n: 101 }]);
    expect(vigil(dir, ['retention', 'plan', '--at', '2026-12-01T12:00:00Z'], env).code).toBe(0);
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect((await client.query(`select array_agg(id::int order by id) as ids, min(day)::text as first from ${s}.events`)).rows).toEqual([{ ids: Array.from({ length: 32 }, (_, i) => i), first: '2026-11-01' }]);
  });
  it('a date column with a per-row period that holds part of a day (7.5 days): the day holding its cutoff is kept (was: cast to a day first, then less 7.5 days: deleted)', async () => {
    const s = uniqueSchema('ret_day_ov');
    // as of 2025-06-01T00:00Z, 7.5 days back is 2025-05-24T12:00Z: 2025-05-23 goes, 2025-05-24 stays
    await client.query(`create schema ${s}; create table ${s}.events (id bigint primary key, day date not null, days numeric);
      insert into ${s}.events values (1, '2025-05-23', 7.5), (2, '2025-05-24', 7.5), (3, '2025-05-25', 7.5), (4, '2025-04-01', null), (5, '2025-05-20', null)`);
    const dir = makeProject(PROJECT('{ column: day, keep: 30d, override_days: days, apply_to: source }', '7d', `  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${s} }\n`, `    sync: { from: app, schema: ${s} }\n`));
    dirs.push(dir);
    const env = { DATABASE_URL: url };
    expect(vigil(dir, ['retention', 'plan', '--at', '2025-06-01T00:00:00Z'], env).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'target/retention_plan.json'), 'utf8')).tables[0]).toMatchObject({ rows: 2 });
    const a = vigil(dir, ['retention', 'apply'], env);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect((await client.query(`select array_agg(id::int order by id) as ids from ${s}.events`)).rows).toEqual([{ ids: [2, 3, 5] }]);
  });
});

describe('a vigil_retention_log made before override_floor (DuckDB, Postgres)', () => {
  const url = inject('pgUrl');
  const OLD = 'run_id varchar, table_name varchar, relation_name varchar, target_name varchar, column_name varchar, keep varchar, override_column varchar, as_of timestamptz, cutoff timestamptz, planned_rows bigint, rows_deleted bigint, status varchar, started_at timestamptz, finished_at timestamptz, actor varchar';
  const OLD_LINE = "insert into %s values ('r0', 'raw.events', 'raw.events', 'dev', 'created_at', '30d', 'days', '2026-11-01 00:00:00+00', '2026-10-02 00:00:00+00', 5, 5, 'success', '2026-11-01 00:00:00+00', '2026-11-01 00:01:00+00', 'old')";
  const entry = (schema: string): PlanEntry => ({ unique_id: 'source.rt.raw.events', table: 'raw.events', target: 'dev', apply_to: 'warehouse', relation: { schema, identifier: 'events' }, column: 'created_at', keep: '30d', override_days: 'days', minimum: '7d', batch_size: 100, as_of: AS_OF, cutoff: '2026-11-01T00:00:00.000Z', override_floor: '2026-11-24T00:00:00.000Z', rows: 0, oldest: null, newest: null, below_minimum: false, at: { file: 'models/sources.yml', line: 1 } });

  /** The old log is read (its lines' floor unknown: null), copied from, and gains the column when an apply ensures it; a new line records its floor. */
  async function upgrade(db: Adapter, schema: string): Promise<void> {
    const log = logRelation(schema);
    const rel = db.dialect.relation(log);
    await db.execute(`create table ${rel} (${OLD})`);
    await db.execute(OLD_LINE.replace('%s', rel));
    await db.execute(`create table ${db.dialect.relation({ schema, identifier: 'events' })} (id bigint, created_at timestamptz, days integer)`);
    expect(await lastApply(db, log, 'raw.events', 'raw.events', 'dev')).toEqual({ column: 'created_at', overrideColumn: 'days', asOf: new Date('2026-11-01T00:00:00Z'), cutoff: new Date('2026-10-02T00:00:00Z'), overrideFloor: null });
    // an apply_to: source apply's old log, copied by a sync into a warehouse's new one
    const to = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'analytics' }, '.', 1);
    try {
      expect(await copyLogLines(db, log, to, logRelation('analytics'), 'raw.events')).toBe(1);
      expect(await to.query("select run_id, override_floor from analytics.vigil_retention_log")).toEqual([{ run_id: 'r0', override_floor: null }]);
    } finally {
      await to.close();
    }
    await ensureLog(db, log);
    await ensureLog(db, log); // (once there, nothing more)
    expect((await db.columns(log)).map((c) => c.name)).toContain('override_floor');
    expect((await lastApply(db, log, 'raw.events', 'raw.events', 'dev'))?.overrideFloor).toBeNull();
    await applyEntry(db, entry(schema), 0, { runId: 'r1', actor: 'new', log, out: () => {} });
    expect(await lastApply(db, log, 'raw.events', `${schema}.events`, 'dev')).toMatchObject({ asOf: new Date(AS_OF), overrideFloor: new Date('2026-11-24T00:00:00Z') });
  }

  it('on DuckDB', async () => {
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'analytics' }, '.', 1);
    try {
      await db.execute('create schema raw');
      await upgrade(db, 'raw');
    } finally {
      await db.close();
    }
  });

  it('on Postgres, written by a role that does not own it (only select, insert, update, delete): a sync copies lines into it without override_floor and apply logs without it, neither alters it, each says so (was: must be owner of table vigil_retention_log)', async () => {
    const s = uniqueSchema('ret_notowner');
    const app = uniqueSchema('ret_notowner_app');
    const role = `i71_logrw_${Math.random().toString(36).slice(2, 8)}`;
    const owner = await PostgresAdapter.open({ type: 'postgres', url, schema: s }, 1);
    const log = logRelation(s);
    const rel = owner.dialect.relation(log);
    await owner.execute(`create schema ${s}; create schema ${app}; create role ${role} login password 'role-Pw-71'; grant usage on schema ${s} to ${role}`);
    await owner.execute(`create table ${rel} (${OLD})`);
    await owner.execute(OLD_LINE.replace('%s', rel));
    await owner.execute(`create table ${s}.events (id bigint, created_at timestamptz, days integer); grant select, insert, update, delete on ${rel}, ${s}.events to ${role}`);
    // the application database's log (apply_to: source), as this Vigil writes it: a line with its floor
    await ensureLog(owner, logRelation(app));
    await owner.execute(`insert into ${app}.vigil_retention_log (run_id, table_name, relation_name, target_name, column_name, keep, override_column, as_of, cutoff, planned_rows, rows_deleted, status, started_at, finished_at, actor, override_floor) values ('r9', 'raw.events', 'app.events', 'app', 'created_at', '30d', 'days', '2026-12-01 00:00:00+00', '2026-11-01 00:00:00+00', 3, 3, 'success', '2026-12-01 00:00:00+00', '2026-12-01 00:01:00+00', 'app', '2026-11-24 00:00:00+00')`);
    const u = new URL(url);
    u.username = role;
    // (a password: CI's embedded Postgres authenticates with scram-sha-256)
    u.password = 'role-Pw-71';
    const db = await PostgresAdapter.open({ type: 'postgres', url: u.toString(), schema: s }, 1);
    try {
      const dropped: number[] = [];
      expect(await copyLogLines(owner, logRelation(app), db, log, 'raw.events', (n) => dropped.push(n))).toBe(1);
      expect(dropped).toEqual([1]);
      expect(await db.query(`select run_id, cast(as_of as varchar) as as_of from ${rel} order by run_id`)).toEqual([{ run_id: 'r0', as_of: '2026-11-01 00:00:00+00' }, { run_id: 'r9', as_of: '2026-12-01 00:00:00+00' }]);
      // copied once: the next sync finds it there as the log can hold it
      expect(await copyLogLines(owner, logRelation(app), db, log, 'raw.events', (n) => dropped.push(n))).toBe(0);
      expect(dropped).toEqual([1]);
      const warned: string[][] = [];
      expect(await ensureLog(db, log, (missing, why) => warned.push([...missing, why]))).toBe(false);
      expect(warned).toEqual([['override_floor', expect.stringMatching(/^must be owner of table vigil_retention_log \[SQLSTATE 42501\]$/)]]);
      await applyEntry(db, entry(s), 0, { runId: 'r1', actor: 'new', log, out: () => {}, withoutFloor: true });
      expect((await db.columns(log)).map((c) => c.name)).not.toContain('override_floor');
      expect(await lastApply(db, log, 'raw.events', `${s}.events`, 'dev')).toMatchObject({ asOf: new Date(AS_OF), overrideFloor: null });
      // a sync never alters the warehouse's log, even one its role owns (an apply adds the column)
      await owner.execute(`create schema ${s}_own; create table ${s}_own.vigil_retention_log (${OLD})`);
      expect(await copyLogLines(owner, logRelation(app), owner, logRelation(`${s}_own`), 'raw.events')).toBe(1);
      expect((await owner.columns(logRelation(`${s}_own`))).map((c) => c.name)).not.toContain('override_floor');
    } finally {
      await db.close();
      await owner.execute(`drop schema ${s} cascade; drop schema if exists ${s}_own cascade; drop schema ${app} cascade; drop owned by ${role}; drop role ${role}`);
      await owner.close();
    }
  });

  it('on Postgres', async () => {
    const s = uniqueSchema('ret_oldlog');
    const db = await PostgresAdapter.open({ type: 'postgres', url, schema: s }, 1);
    try {
      await db.execute(`create schema ${s}`);
      await upgrade(db, s);
    } finally {
      await db.close();
    }
  });
});
