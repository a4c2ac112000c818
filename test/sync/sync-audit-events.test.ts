/**
 * seed 004's audit_events end to end: `vigil demo --target app` creates the seed's exact table
 * (uuid, inet, text[], jsonb, numeric(5,4), ...) with its indexes in a real Postgres; `vigil sync`
 * copies it into DuckDB and into Postgres with every value and type kept — compared column by
 * column, row by row — and into BigQuery (the real client against the loopback fake) with
 * arrays loaded as JSON text and converted to ARRAY<STRING> on the way in.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parse } from 'sql-parser-cst';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { AUDIT_EVENTS_COLUMNS, AUDIT_EVENTS_INDEXES } from '../../src/demo/audit-events.js';
import { blockNonLoopbackConnections, startFakeBigQuery, type FakeBigQuery } from '../support/fake-bigquery.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, REPO, vigil, vigilAsync } from '../helpers.js';

const url = inject('pgUrl');
let client: pg.Client;
const dirs: string[] = [];
const raw = uniqueSchema('ae_raw');
const EVENTS = 3000;

/**
 * The shipped project (its models, sources and vars) reading from `raw` in the test's Postgres,
 * with `target` (a YAML line under targets:) as its default target.
 */
function shippedProject(target: string, landing = 'raw'): string {
  const name = /^\s*(\w+):/.exec(target)![1];
  const yaml = readFileSync(join(REPO, 'project.yaml'), 'utf8').replace('default_target: dev', `default_target: ${name}`).replace('targets:\n', `targets:\n${target}\n`);
  const dir = makeProject({ 'project.yaml': name === 'dev' ? readFileSync(join(REPO, 'project.yaml'), 'utf8') : yaml });
  for (const p of ['models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  const sources = readFileSync(join(REPO, 'models/sources.yml'), 'utf8').replace('sync: { from: app }', `sync: { from: app, schema: ${raw} }`).replace(/^    schema: raw$/m, `    schema: ${landing}`);
  writeFileSync(join(dir, 'models/sources.yml'), sources);
  dirs.push(dir);
  return dir;
}


beforeAll(async () => {
  client = new pg.Client(url);
  await client.connect();
  await client.query("set timezone = 'UTC'");
  const dir = shippedProject('  dev:');
  const r = vigil(dir, ['demo', '--target', 'app', '--rows', '2000', '--audit-events', String(EVENTS), '--days', '10', '--scenario', 'compliance_red', '--schema', raw], { DATABASE_URL: url });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/loaded audit_events into postgres .*: 3,0\d\d rows/);
  // array elements a naive '{a,b}' or '[a, b]' reading would mangle, and an empty array
  await client.query(`update ${raw}.audit_events set data_changes = array['status', 'a "quoted", odd {value}', 'back\\slash', '', E'line\\nbreak', 'café'] where audit_id = (select audit_id from ${raw}.audit_events where data_changes is not null order by audit_id limit 1)`);
  await client.query(`update ${raw}.audit_events set ai_tools_used = '{}' where audit_id = (select audit_id from ${raw}.audit_events where ai_tools_used is not null order by audit_id limit 1)`);
  // the characters DuckDB's batch files separate and quote with (0x1F, 0x1E; sync-types.ts), in
  // text, in an array and as a whole value, beside CSV's own: each must arrive as it was
  await client.query(
    `update ${raw}.audit_events set action_description = E'unit\\x1fsep, rec\\x1esep, "both"\\x1e\\x1e\\x1f', action_error = E'\\x1e', actor_user_agent = E'\\x1f',
      ai_tools_used = array[E'a\\x1fb', E'\\x1e', 'plain'] where audit_id = (select audit_id from ${raw}.audit_events order by audit_id limit 1 offset 5)`,
  );
}, 120_000);
afterAll(async () => {
  await client?.end();
  dirs.forEach(removeDir);
});

/** Every column as comparable text: JSON and arrays parsed and re-serialised, timestamps in UTC to the microsecond. */
function normalise(row: Record<string, unknown>): string {
  return AUDIT_EVENTS_COLUMNS.map(([name, type]) => {
    const v = row[name];
    if (v === null || v === undefined) return 'NULL';
    if (type === 'jsonb' || type.endsWith('[]')) return JSON.stringify(JSON.parse(String(v)));
    return String(v);
  }).join('\u0001');
}

const pgText = (schema: string) =>
  `select ${AUDIT_EVENTS_COLUMNS.map(([n, t]) => {
    const c = `"${n}"`;
    if (t === 'timestamp with time zone') return `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as ${c}`;
    if (t.endsWith('[]')) return `array_to_json(${c})::text as ${c}`;
    // inet's output form (a host address without /32), as COPY writes it; ::text would add the mask
    if (t === 'inet') return `format('%s', ${c}) as ${c}`;
    return `${c}::text as ${c}`;
  }).join(', ')} from ${schema}.audit_events order by audit_id`;

describe('audit_events in the application database', () => {
  it("is the seed's table: every column's type, the primary key and the seed's indexes", async () => {
    const cols = (await client.query(`select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as nn from pg_attribute a
      where a.attrelid = '${raw}.audit_events'::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`)).rows;
    expect(cols.map((c) => [c.name, c.type])).toEqual(AUDIT_EVENTS_COLUMNS.map(([n, t]) => [n, t]));
    expect(cols.filter((c) => c.nn).map((c) => c.name)).toEqual(['audit_id', 'event_type', 'timestamp', 'timestamp_ms']);
    const idx = (await client.query(`select indexname, indexdef from pg_indexes where schemaname = $1 and tablename = 'audit_events' order by indexname`, [raw])).rows;
    for (const [name] of AUDIT_EVENTS_INDEXES) expect(idx.map((i) => i.indexname)).toContain(name);
    expect(idx.find((i) => i.indexname === 'idx_audit_events_compliance_findings')?.indexdef).toMatch(/USING gin \(compliance_findings\)/);
    expect(idx.find((i) => i.indexname === 'audit_events_pkey')?.indexdef).toMatch(/UNIQUE INDEX .* \(audit_id\)/);
    // values the types exist for: arrays, inet, exact decimals
    const v = (await client.query(`select count(*) filter (where cardinality(compliance_regulations_checked) > 0)::int as arrays, count(*) filter (where family(actor_ip_address) = 4)::int as ipv4,
      count(*) filter (where ai_confidence_score is not null and scale(ai_confidence_score) = 4)::int as decimals from ${raw}.audit_events`)).rows[0];
    expect(v.arrays).toBeGreaterThan(100);
    expect(v.ipv4).toBe(EVENTS + 40);
    expect(v.decimals).toBeGreaterThan(100);
  });
});

describe('vigil sync of audit_events', () => {
  it('into DuckDB: lists stay lists, JSON stays JSON, UUID and DECIMAL keep their type; every value of every row equal', async () => {
    const dir = shippedProject('  dev:');
    const r = vigil(dir, ['sync', '-s', 'source:raw.audit_events'], { DATABASE_URL: url });
    expect(r.stdout, r.stderr).toMatch(/OK raw\.audit_events: 3,040 rows/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const types = await db.query<{ column_name: string; data_type: string }>(`select column_name, data_type from information_schema.columns where table_schema = 'raw' and table_name = 'audit_events' order by ordinal_position`);
      const byName = Object.fromEntries(types.map((t) => [t.column_name, t.data_type]));
      expect(byName).toMatchObject({ audit_id: 'UUID', context_parent_audit_id: 'UUID', data_changes: 'VARCHAR[]', ai_tools_used: 'VARCHAR[]', compliance_regulations_checked: 'VARCHAR[]', target_metadata: 'JSON', ai_confidence_score: 'DECIMAL(5,4)', actor_ip_address: 'VARCHAR', security_pii_detected: 'BOOLEAN', timestamp: 'TIMESTAMP WITH TIME ZONE' });
      const dst = await db.query<Record<string, unknown>>(
        `select ${AUDIT_EVENTS_COLUMNS.map(([n, t]) => {
          const c = `"${n}"`;
          if (t === 'timestamp with time zone') return `strftime(${c}, '%Y-%m-%d %H:%M:%S.%f') as ${c}`;
          if (t.endsWith('[]')) return `to_json(${c})::varchar as ${c}`;
          if (t === 'boolean') return `case when ${c} then 'true' when not ${c} then 'false' end as ${c}`;
          return `cast(${c} as varchar) as ${c}`;
        }).join(', ')} from raw.audit_events order by audit_id`,
      );
      const src = (await client.query(pgText(raw))).rows;
      expect(dst.length).toBe(src.length);
      const a = dst.map(normalise);
      const b = src.map(normalise);
      for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) expect(a[i], `row ${i}`).toBe(b[i]);
      // a list is queryable as a list
      const gdpr = await db.query<{ n: bigint }>(`select count(*) as n from raw.audit_events where list_contains(compliance_regulations_checked, 'GDPR')`);
      expect(Number(gdpr[0].n)).toBe(Number((await client.query(`select count(*) as n from ${raw}.audit_events where 'GDPR' = any(compliance_regulations_checked)`)).rows[0].n));
    } finally {
      await db.close();
    }
    // the marts build on the synced table
    const b = vigil(dir, ['build', '-s', '+tag:compliance'], { DATABASE_URL: url });
    expect(b.stdout).toMatch(/ERROR=0 SKIP=0/);
    expect(b.code, b.stdout).toBe(0);
  });

  it('into Postgres: the same types as the source, and the tables equal (EXCEPT both ways)', async () => {
    const land = uniqueSchema('ae_land');
    const dir = shippedProject(`  wh: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${uniqueSchema('ae_an')} }`, land);
    const r = vigil(dir, ['sync', '-s', 'source:raw.audit_events'], { DATABASE_URL: url });
    expect(r.stdout, r.stderr).toMatch(/OK raw\.audit_events: 3,040 rows/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const types = (schema: string) => client.query(`select a.attname as n, format_type(a.atttypid, a.atttypmod) as t from pg_attribute a where a.attrelid = '${schema}.audit_events'::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`);
    expect((await types(land)).rows).toEqual((await types(raw)).rows);
    const diff = await client.query(`select (select count(*) from (select * from ${raw}.audit_events except all select * from ${land}.audit_events) x)::int as missing,
      (select count(*) from (select * from ${land}.audit_events except all select * from ${raw}.audit_events) y)::int as extra, (select count(*) from ${land}.audit_events)::int as n`);
    expect(diff.rows[0]).toEqual({ missing: 0, extra: 0, n: EVENTS + 40 });
    // a second run with a changed row (lookback re-reads it) replaces it, arrays included
    await client.query(`update ${raw}.audit_events set data_changes = array['status', 'second "odd", {value}'], "timestamp" = now() where audit_id = (select audit_id from ${raw}.audit_events order by "timestamp" desc limit 1)`);
    const r2 = vigil(dir, ['sync', '-s', 'source:raw.audit_events'], { DATABASE_URL: url });
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    const odd = await client.query(`select data_changes from ${land}.audit_events where 'second "odd", {value}' = any(data_changes)`);
    expect(odd.rows).toEqual([{ data_changes: ['status', 'second "odd", {value}'] }]);
    const first = await client.query(`select data_changes from ${land}.audit_events where 'a "quoted", odd {value}' = any(data_changes)`);
    expect(first.rows).toEqual([{ data_changes: ['status', 'a "quoted", odd {value}', 'back\\slash', '', 'line\nbreak', 'café'] }]);
  });

  it('into BigQuery: arrays are loaded as JSON text and become ARRAY<STRING>; the table has the BigQuery types', async () => {
    const guard = blockNonLoopbackConnections();
    let fake: FakeBigQuery | undefined;
    try {
      fake = await startFakeBigQuery();
      const dir = shippedProject('  bq: { type: bigquery, project: vigil-ae, dataset: analytics, location: EU }');
      const env = { DATABASE_URL: url, VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
      const r = await vigilAsync(dir, ['sync', '-s', 'source:raw.audit_events'], env);
      expect(r.stdout, r.stderr).toMatch(/OK raw\.audit_events: 3,040 rows/);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const queries = fake.requests.map((q) => q.body?.configuration?.query?.query as string | undefined).filter((x): x is string => !!x);
      const create = queries.find((q) => /CREATE TABLE IF NOT EXISTS `vigil-ae`\.`raw`\.`audit_events`/.test(q))!;
      expect(create).toContain('`compliance_regulations_checked` ARRAY<STRING>');
      expect(create).toContain('`ai_confidence_score` NUMERIC');
      expect(create).toContain('`audit_id` STRING');
      expect(create).toContain('`actor_ip_address` STRING');
      expect(create).toContain('`target_metadata` JSON');
      const load = fake.requests.find((q) => q.body?.configuration?.load)!.body.configuration.load;
      const fields = Object.fromEntries((load.schema.fields as Array<{ name: string; type: string }>).map((f) => [f.name, f.type]));
      expect(fields).toMatchObject({ compliance_regulations_checked: 'STRING', data_changes: 'STRING', ai_confidence_score: 'NUMERIC', timestamp: 'TIMESTAMP', security_pii_detected: 'BOOL' });
      const upload = String((fake.requests.find((q) => q.body?.configuration?.load) as { upload?: string }).upload);
      expect(upload).toMatch(/"\[""GDPR""/);
      const tx = queries.filter((q) => q.startsWith('BEGIN TRANSACTION'));
      expect(tx.length).toBeGreaterThan(0);
      expect(tx[0]).toContain('JSON_VALUE_ARRAY(S.`compliance_regulations_checked`)');
      for (const q of queries) expect(() => parse(q, { dialect: 'bigquery', paramTypes: ['?'] }), q.slice(0, 120)).not.toThrow();
      expect(guard.blocked).toEqual([]);
    } finally {
      await fake?.close();
      guard.restore();
    }
  });

  it("retention (seed 004: 7 years, a row's security_retention_period_days its own period) deletes exactly the expired rows of the application's table", async () => {
    const dir = shippedProject('  dev:');
    // four old rows: two expired (2y with a 365-day period; 8y with none), two kept (2y with 2555 days; 8y with 3650)
    const ids = (await client.query(`select audit_id::text as id from ${raw}.audit_events order by audit_id desc limit 4`)).rows.map((r) => r.id as string);
    const set = (id: string, age: string, days: number | null) =>
      client.query(`update ${raw}.audit_events set "timestamp" = now() - $2::interval, security_retention_period_days = $3 where audit_id = $1`, [id, age, days]);
    await set(ids[0], '2 years', 365);
    await set(ids[1], '8 years', null);
    await set(ids[2], '2 years', 2555);
    await set(ids[3], '8 years', 3650);
    const before = (await client.query(`select audit_id::text as id from ${raw}.audit_events order by 1`)).rows.map((r) => r.id as string);
    const plan = vigil(dir, ['retention', 'plan', '-s', 'source:raw.audit_events'], { DATABASE_URL: url });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/audit_events/);
    const apply = vigil(dir, ['retention', 'apply', '-s', 'source:raw.audit_events'], { DATABASE_URL: url });
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    const after = (await client.query(`select audit_id::text as id from ${raw}.audit_events order by 1`)).rows.map((r) => r.id as string);
    expect(before.filter((id) => !after.includes(id)).sort()).toEqual([ids[0], ids[1]].sort());
    expect(after.length).toBe(before.length - 2);
  });
});
