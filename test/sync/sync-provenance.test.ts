/**
 * The provenance tables of seeds 000/001 end to end: `vigil demo --target app` loads
 * workspace_data_snapshots and market_snapshots into a real Postgres with their primary keys and
 * cursor indexes; `vigil sync` copies them into DuckDB — every value of every row compared — and a
 * second, delta run picks up a new capture; the provenance marts build on the synced tables and
 * agree with the same join computed in Postgres.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, REPO, vigil } from '../helpers.js';

const url = inject('pgUrl');
let client: pg.Client;
const dirs: string[] = [];
const raw = uniqueSchema('prov_raw');

/** column, how Postgres shows it as text, how DuckDB shows it as text */
const TABLES: Record<string, { key: string; columns: Array<[string, 'text' | 'int' | 'ts' | 'json']> }> = {
  workspace_data_snapshots: { key: 'id', columns: [['id', 'text'], ['workflow_id', 'text'], ['market_snapshot_id', 'text'], ['row_count', 'int'], ['metadata', 'json'], ['created_at', 'ts']] },
  market_snapshots: { key: 'id', columns: [['id', 'text'], ['market', 'text'], ['source', 'text'], ['as_of', 'ts'], ['captured_at', 'ts'], ['payload', 'json']] },
};

/** The shipped project (models, sources, vars) syncing from `raw` in the test's Postgres into DuckDB. */
function shippedProject(): string {
  const dir = makeProject({ 'project.yaml': readFileSync(join(REPO, 'project.yaml'), 'utf8') });
  for (const p of ['models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  const sources = readFileSync(join(REPO, 'models/sources.yml'), 'utf8').replace('sync: { from: app }', `sync: { from: app, schema: ${raw} }`);
  writeFileSync(join(dir, 'models/sources.yml'), sources);
  dirs.push(dir);
  return dir;
}

const pgRows = async (table: string): Promise<string[]> => {
  const { key, columns } = TABLES[table];
  const cols = columns.map(([c, k]) => (k === 'ts' ? `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as ${c}` : `${c}::text as ${c}`));
  const rows = (await client.query(`select ${cols.join(', ')} from ${raw}.${table} order by ${key}`)).rows as Array<Record<string, string | null>>;
  return rows.map((r) => normalise(table, r));
};

async function duckRows(db: DuckDbAdapter, table: string): Promise<string[]> {
  const { key, columns } = TABLES[table];
  const cols = columns.map(([c, k]) => (k === 'ts' ? `strftime(${c}, '%Y-%m-%d %H:%M:%S.%f') as ${c}` : `cast(${c} as varchar) as ${c}`));
  const rows = await db.query<Record<string, string | null>>(`select ${cols.join(', ')} from raw.${table} order by ${key}`);
  return rows.map((r) => normalise(table, r));
}

/** A row as comparable text: JSON parsed and re-serialised (jsonb reorders keys), NULL kept apart from ''. */
function normalise(table: string, row: Record<string, string | null>): string {
  return TABLES[table].columns
    .map(([c, k]) => {
      const v = row[c];
      if (v === null || v === undefined) return '\u0000NULL';
      if (k === 'json') return JSON.stringify(sortKeys(JSON.parse(v)));
      return String(v);
    })
    .join('\u0001');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

beforeAll(async () => {
  client = new pg.Client(url);
  await client.connect();
  await client.query("set timezone = 'UTC'");
  const r = vigil(shippedProject(), ['demo', '--target', 'app', '--rows', '3000', '--days', '7', '--now', '2026-03-02T12:00:00Z', '--schema', raw], { DATABASE_URL: url });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/loaded market_snapshots into postgres .*: \d+ rows/);
  expect(r.stdout).toMatch(/loaded workspace_data_snapshots into postgres .*: \d+ rows/);
  expect(r.stdout).toMatch(/Done: 7 tables/);
}, 120_000);
afterAll(async () => {
  await client?.end();
  dirs.forEach(removeDir);
});

describe('the provenance tables in the application database', () => {
  it('have their types, a primary key on id and an index on the sync cursor', async () => {
    const cols = async (t: string) =>
      (await client.query(`select a.attname as n, format_type(a.atttypid, a.atttypmod) as t from pg_attribute a where a.attrelid = '${raw}.${t}'::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`)).rows.map((c) => `${c.n} ${c.t}`);
    expect(await cols('workspace_data_snapshots')).toEqual(['id text', 'workflow_id text', 'market_snapshot_id text', 'row_count bigint', 'metadata jsonb', 'created_at timestamp with time zone']);
    expect(await cols('market_snapshots')).toEqual(['id text', 'market text', 'source text', 'as_of timestamp with time zone', 'captured_at timestamp with time zone', 'payload jsonb']);
    const idx = async (t: string) => (await client.query(`select indexdef from pg_indexes where schemaname = $1 and tablename = $2 order by indexname`, [raw, t])).rows.map((r) => String(r.indexdef).replace(/^.* USING btree /, ''));
    expect(await idx('workspace_data_snapshots')).toEqual(expect.arrayContaining(['(id)', '(created_at, id)', '(market_snapshot_id)']));
    expect(await idx('market_snapshots')).toEqual(expect.arrayContaining(['(id)', '(captured_at, id)', '(market, captured_at)']));
    const pk = await client.query(`select conrelid::regclass::text as t from pg_constraint where contype = 'p' and connamespace = $1::regnamespace order by 1`, [raw]);
    expect(pk.rows.map((r) => String(r.t).replace(/^.*\./, ''))).toEqual(expect.arrayContaining(['market_snapshots', 'workspace_data_snapshots']));
  });
});

describe('vigil sync of the provenance tables into DuckDB', () => {
  it('copies every row and value; a delta run adds a new capture; the marts agree with Postgres', async () => {
    const dir = shippedProject();
    const r = vigil(dir, ['sync'], { DATABASE_URL: url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const wsN = Number((await client.query(`select count(*) as n from ${raw}.workspace_data_snapshots`)).rows[0].n);
    const mkN = Number((await client.query(`select count(*) as n from ${raw}.market_snapshots`)).rows[0].n);
    expect(r.stdout).toMatch(new RegExp(`OK raw\\.workspace_data_snapshots: ${wsN.toLocaleString('en-US')} rows`));
    expect(r.stdout).toMatch(new RegExp(`OK raw\\.market_snapshots: ${mkN.toLocaleString('en-US')} rows`));

    const compare = async () => {
      const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
      try {
        for (const t of Object.keys(TABLES)) {
          const [a, b] = [await duckRows(db, t), await pgRows(t)];
          expect(a.length, t).toBe(b.length);
          for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) expect(a[i], `${t} row ${i}`).toBe(b[i]);
        }
        const types = await db.query<{ table_name: string; column_name: string; data_type: string }>(
          `select table_name, column_name, data_type from information_schema.columns where table_schema = 'raw' and table_name in ('workspace_data_snapshots', 'market_snapshots') order by table_name, ordinal_position`,
        );
        expect(types.map((c) => `${c.table_name}.${c.column_name} ${c.data_type}`)).toEqual([
          'market_snapshots.id VARCHAR', 'market_snapshots.market VARCHAR', 'market_snapshots.source VARCHAR', 'market_snapshots.as_of TIMESTAMP WITH TIME ZONE',
          'market_snapshots.captured_at TIMESTAMP WITH TIME ZONE', 'market_snapshots.payload JSON',
          'workspace_data_snapshots.id VARCHAR', 'workspace_data_snapshots.workflow_id VARCHAR', 'workspace_data_snapshots.market_snapshot_id VARCHAR',
          'workspace_data_snapshots.row_count BIGINT', 'workspace_data_snapshots.metadata JSON', 'workspace_data_snapshots.created_at TIMESTAMP WITH TIME ZONE',
        ]);
      } finally {
        await db.close();
      }
    };
    await compare();

    // a new capture and a snapshot taken with it: the delta run reads them from the cursor
    await client.query(`insert into ${raw}.market_snapshots values ('mkt_test_new', 'us_equities', 'bloomberg', '2026-03-02 12:00:00+00', '2026-03-02 12:04:00+00', '{"benchmark": "SPX", "level": 5301.25, "note": "quote \\" and, comma"}')`);
    await client.query(`insert into ${raw}.workspace_data_snapshots values ('snap_test_new', 'wf_00001', 'mkt_test_new', 42, '{"source": "file_upload"}', '2026-03-02 12:05:00+00')`);
    const r2 = vigil(dir, ['sync'], { DATABASE_URL: url });
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    // from the saved cursor less the 5-minute lookback: the new capture and the few re-read before it, not the table again
    const delta = Number(/OK raw\.market_snapshots: (\d+) rows? in 1 batch/.exec(r2.stdout)?.[1]);
    expect(delta).toBeGreaterThanOrEqual(1);
    expect(delta).toBeLessThan(10);
    await compare();

    // the marts on the synced tables: the same provenance share as the join in Postgres
    const b = vigil(dir, ['build', '-s', '+tag:provenance', '--exclude', 'test_type:singular'], { DATABASE_URL: url });
    expect(b.stdout).toMatch(/ERROR=0 SKIP=0/);
    expect(b.code, b.stdout).toBe(0);
    const expected = (
      await client.query(`select count(*)::int as interactions, count(w.id)::int as with_snapshot, count(m.id)::int as with_market_snapshot
        from ${raw}.ai_audit_logs l left join ${raw}.workspace_data_snapshots w on w.id = l.workspace_snapshot_id left join ${raw}.market_snapshots m on m.id = w.market_snapshot_id`)
    ).rows[0];
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const got = (await db.query<Record<string, bigint>>(`select sum(interactions) as interactions, sum(with_snapshot) as with_snapshot, sum(with_market_snapshot) as with_market_snapshot from analytics.ai_audit_provenance_daily`))[0];
      expect({ interactions: Number(got.interactions), with_snapshot: Number(got.with_snapshot), with_market_snapshot: Number(got.with_market_snapshot) }).toEqual(expected);
      expect(expected.with_market_snapshot).toBeGreaterThan(0.4 * expected.interactions);
      expect(expected.with_market_snapshot).toBeLessThan(expected.with_snapshot);
    } finally {
      await db.close();
    }
  });
});
