/**
 * The demo generator against a real in-memory DuckDB: row counts, column types, determinism,
 * id uniqueness, null and missing-key rates, referential integrity, the time window, and the
 * effect of every last-day scenario.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { AUDIT_EVENTS_COLUMNS, COMPLIANCE_RED_TENANT } from '../../src/demo/audit-events.js';
import { MARKETS } from '../../src/demo/provenance.js';
import { DEMO_SCENARIOS, generateDemo, idleWorkflows, type DemoOptions, type DemoScenario } from '../../src/demo/generate-demo.js';
import { UsageError } from '../../src/errors.js';

const ROWS = 20_000;
const DAYS = 30;
/** Deliberately not midnight: the window is [now - days, now), not calendar days. */
const NOW = new Date('2026-03-02T17:45:12.345Z');
const NOW_SQL = `'${NOW.toISOString()}'::TIMESTAMPTZ`;
/**
 * The scenario day is the last complete UTC day, in whole hourly slots counted back from now:
 * with now at 17:45:12 it ends 17 hours before now (00:45:12), so it is 2026-03-01 to the hour.
 * 0 = the scenario day, 1 = the day before, ..., -1 = today's partial hours.
 */
const SCENARIO_END_SQL = `(${NOW_SQL} - interval 17 hour)`;
const dayIdx = (col: string) => `floor((epoch_ms(${SCENARIO_END_SQL}) - epoch_ms(${col}) - 1) / 86400000)`;
const IS_ERROR = `(coalesce(response_status, json_extract_string(response_metadata, '$.status')) is distinct from 'success')`;

let db: DuckDbAdapter;

const opts = (schema: string, over: Partial<DemoOptions> = {}): DemoOptions => ({ schema, rows: ROWS, days: DAYS, seed: 42, scenario: 'normal', now: NOW, ...over });

async function one<T = number>(sql: string): Promise<T> {
  const rows = await db.query(sql);
  const v = Object.values(rows[0])[0];
  return (typeof v === 'bigint' ? Number(v) : v) as T;
}

/** Per-row fingerprint of a table: equal iff the data is equal (order-independent). */
async function tableFingerprint(schema: string, t: string): Promise<string> {
  const cols = (await db.query<{ column_name: string }>(`select column_name from information_schema.columns where table_schema = '${schema}' and table_name = '${t}' order by ordinal_position`)).map(
    (r) => `"${r.column_name}"::VARCHAR`,
  );
  return String(await one(`select sum(hash(${cols.join(', ')})) || ':' || count(*) from ${schema}.${t}`));
}

/** The fingerprints of every table. */
async function fingerprint(schema: string): Promise<string> {
  const parts: string[] = [];
  for (const t of ['ai_audit_logs', 'workflows', 'audit_trails', 'usage_log', 'audit_events', 'market_snapshots', 'workspace_data_snapshots']) parts.push(await tableFingerprint(schema, t));
  return parts.join('|');
}

/** Daily counts of the 14 days before the last one, and the last day's count, for a filter. */
async function lastDayVsMedian(schema: string, where = 'true'): Promise<{ last: number; median: number }> {
  const r = await db.query<{ last: bigint | null; median: number | null }>(`
    with d as (select ${dayIdx('created_at')} as d, count(*) as n from ${schema}.ai_audit_logs where ${where} group by 1)
    select (select n from d where d = 0) as last, (select median(n) from d where d between 1 and 14) as median`);
  return { last: Number(r[0].last ?? 0), median: Number(r[0].median ?? 0) };
}

beforeAll(async () => {
  db = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'analytics' }, process.cwd(), 1);
});
afterAll(async () => {
  await db?.close();
});

describe('generateDemo: validation', () => {
  const noDb = {
    execute: async () => {
      throw new Error('must not touch the warehouse');
    },
    query: async () => {
      throw new Error('must not touch the warehouse');
    },
  };
  it.each([
    [{ rows: 0 }, /--rows must be a whole number between 1 and 200000000, got '0'/],
    [{ rows: 1.5 }, /--rows .*got '1.5'/],
    [{ rows: 'abc' as unknown as number }, /--rows .*got 'abc'/],
    [{ rows: 200_000_001 }, /--rows/],
    [{ days: 0 }, /--days must be a whole number between 1 and 3650/],
    [{ days: 3651 }, /--days/],
    [{ seed: 0.5 }, /--seed must be a whole number/],
    [{ auditEvents: 0 }, /--audit-events must be a whole number between 1 and 200000000/],
    [{ scenario: 'boom' as DemoScenario }, /--scenario must be one of normal, spike, drop, errors, new_capability, compliance_red, pii_leak, got 'boom'/],
    [{ now: new Date('nope') }, /--now/],
    // (was: "must fall between 1971 and 9999, got a window starting 9999-12-01", which is between them)
    [{ now: new Date('9999-12-31T00:00:00Z') }, /^--now must not be later than 9999-01-01 \(the generated rows reach past --now\), got 9999-12-31T00:00:00.000Z$/],
    [{ now: new Date('1971-01-10T00:00:00Z'), days: 30 }, /^--now minus --days must not start before 1971, got a window starting 1970-12-11T00:00:00.000Z$/],
  ])('rejects %o', async (over, msg) => {
    const p = generateDemo(noDb, opts('raw', over));
    await expect(p).rejects.toBeInstanceOf(UsageError);
    await expect(p).rejects.toThrow(msg);
  });

  it('lists the scenarios', () => {
    expect([...DEMO_SCENARIOS]).toEqual(['normal', 'spike', 'drop', 'errors', 'new_capability', 'compliance_red', 'pii_leak']);
  });
});

describe('generateDemo: normal', () => {
  const S = 'demo_normal';
  let result: Awaited<ReturnType<typeof generateDemo>>;
  const progress: string[] = [];

  beforeAll(async () => {
    result = await generateDemo(db, opts(S), (m) => progress.push(m));
  });

  it('creates the seven tables with the expected row counts and reports them', async () => {
    expect(result.map((r) => r.table)).toEqual(['ai_audit_logs', 'workflows', 'audit_trails', 'usage_log', 'audit_events', 'market_snapshots', 'workspace_data_snapshots']);
    for (const r of result) expect(await one(`select count(*) from ${S}.${r.table}`)).toBe(r.rows);
    expect(result[0].rows).toBe(ROWS);
    expect(result[2].rows).toBe(ROWS / 4);
    expect(result[3].rows).toBe(ROWS / 4);
    expect(result[4].rows).toBe(ROWS / 4);
    // the workflows used in the logs, and about 12 % more opened without copilot use (Workspace Coverage)
    const used = await one<number>(`select count(distinct workflow_id) from ${S}.ai_audit_logs`);
    expect(result[1].rows).toBe(used + idleWorkflows(used));
    expect(progress[0]).toMatch(/^ai_audit_logs: 20,000 rows \[\d+\.\ds\]$/);
    // five markets every 4 hours from two days before the window to now, less ~2 % of outages
    const grid = 5 * 6 * (DAYS + 2);
    expect(result[5].rows).toBeGreaterThan(0.96 * grid);
    expect(result[5].rows).toBeLessThan(grid + 10);
    // the snapshots the logs name (less the gap) and about 15 % more that nothing used
    const referenced = await one<number>(`select count(distinct workspace_snapshot_id) from ${S}.ai_audit_logs`);
    expect(result[6].rows).toBeGreaterThan(1.05 * referenced);
    expect(result[6].rows).toBeLessThan(1.15 * referenced);
    expect(progress).toHaveLength(7);
    expect(progress[6]).toMatch(/^workspace_data_snapshots: \d{1,3}(,\d{3})* rows \[\d+\.\ds\]$/);
    // no helper tables left behind
    expect(await one(`select count(*) from information_schema.tables where table_schema = '${S}'`)).toBe(7);
  });

  it('has exactly the documented columns and types', async () => {
    const cols = await db.query<{ table_name: string; column_name: string; data_type: string }>(
      `select table_name, column_name, data_type from information_schema.columns where table_schema = '${S}' order by table_name, ordinal_position`,
    );
    const by = (t: string) => cols.filter((c) => c.table_name === t).map((c) => `${c.column_name} ${c.data_type}`);
    expect(by('ai_audit_logs')).toEqual([
      'id BIGINT', 'workflow_id VARCHAR', 'capability VARCHAR', 'provider VARCHAR', 'model VARCHAR', 'response_status VARCHAR',
      'request_metadata JSON', 'response_metadata JSON', 'workspace_snapshot_id VARCHAR', 'created_at TIMESTAMP WITH TIME ZONE',
    ]);
    expect(by('workflows')).toEqual(['id VARCHAR', 'owner VARCHAR', 'team VARCHAR', 'created_at TIMESTAMP WITH TIME ZONE', 'last_accessed_at TIMESTAMP WITH TIME ZONE']);
    expect(by('audit_trails')).toEqual([
      'id VARCHAR', 'message_id VARCHAR', 'project_id VARCHAR', 'model VARCHAR', 'context_layers INTEGER', 'tokens JSON', 'cost JSON',
      'timestamp TIMESTAMP WITH TIME ZONE', 'created_at TIMESTAMP WITH TIME ZONE', 'updated_at TIMESTAMP WITH TIME ZONE',
    ]);
    // seed 004's columns in its order, in DuckDB's closest types (INET as text: DuckDB has no built-in INET)
    expect(by('audit_events')).toEqual(
      AUDIT_EVENTS_COLUMNS.map(([name, pg]) => {
        const duck: Record<string, string> = { uuid: 'UUID', bigint: 'BIGINT', integer: 'INTEGER', boolean: 'BOOLEAN', jsonb: 'JSON', inet: 'VARCHAR', text: 'VARCHAR', 'text[]': 'VARCHAR[]', 'numeric(5,4)': 'DECIMAL(5,4)', 'timestamp with time zone': 'TIMESTAMP WITH TIME ZONE' };
        return `${name} ${duck[pg] ?? (pg.startsWith('character varying') ? 'VARCHAR' : pg)}`;
      }),
    );
    expect(by('usage_log')).toEqual([
      'id VARCHAR', 'customer_id VARCHAR', 'api_key_id VARCHAR', 'model VARCHAR', 'operation VARCHAR', 'risk_score DOUBLE', 'allowed BOOLEAN',
      'reason VARCHAR', 'meta JSON', 'created_at TIMESTAMP WITH TIME ZONE',
    ]);
    expect(by('market_snapshots')).toEqual(['id VARCHAR', 'market VARCHAR', 'source VARCHAR', 'as_of TIMESTAMP WITH TIME ZONE', 'captured_at TIMESTAMP WITH TIME ZONE', 'payload JSON']);
    expect(by('workspace_data_snapshots')).toEqual(['id VARCHAR', 'workflow_id VARCHAR', 'market_snapshot_id VARCHAR', 'row_count BIGINT', 'metadata JSON', 'created_at TIMESTAMP WITH TIME ZONE']);
  });

  it('has unique ids', async () => {
    expect(await one(`select count(distinct id) from ${S}.ai_audit_logs`)).toBe(ROWS);
    expect(await one(`select min(id) = 1 and max(id) = ${ROWS} from ${S}.ai_audit_logs`)).toBe(true);
    expect(await one(`select count(distinct id) = count(*) from ${S}.workflows`)).toBe(true);
    expect(await one(`select count(distinct message_id) = count(*) and count(distinct id) = count(*) from ${S}.audit_trails`)).toBe(true);
    expect(await one(`select count(distinct id) = count(*) from ${S}.usage_log`)).toBe(true);
    expect(await one(`select count(distinct id) = count(*) and count(id) = count(*) from ${S}.market_snapshots`)).toBe(true);
    expect(await one(`select count(distinct id) = count(*) and count(id) = count(*) from ${S}.workspace_data_snapshots`)).toBe(true);
  });

  it('misses durationMs, status and other fields at the intended rates', async () => {
    const r = (
      await db.query<Record<string, number>>(`select
        avg((json_extract_string(response_metadata, '$.durationMs') is null)::int) as dur_missing,
        avg((json_extract_string(response_metadata, '$.status') is null)::int) as status_missing,
        avg((response_metadata is null)::int) as meta_null,
        avg((response_status is null)::int) as response_status_null,
        avg((capability is null)::int) as capability_null,
        avg((provider is null)::int) as provider_null,
        avg((workspace_snapshot_id is null)::int) as snapshot_null,
        avg(${IS_ERROR}::int) as error_rate
      from ${S}.ai_audit_logs`)
    )[0];
    expect(r.dur_missing).toBeGreaterThan(0.035);
    expect(r.dur_missing).toBeLessThan(0.065);
    expect(r.status_missing).toBeGreaterThan(0.02);
    expect(r.status_missing).toBeLessThan(0.04);
    expect(r.meta_null).toBeGreaterThan(0.005);
    expect(r.meta_null).toBeLessThan(0.015);
    expect(r.response_status_null).toBeGreaterThan(0.02);
    expect(r.response_status_null).toBeLessThan(0.04);
    expect(r.capability_null).toBeGreaterThan(0.002);
    expect(r.capability_null).toBeLessThan(0.01);
    expect(r.provider_null).toBeGreaterThan(0.002);
    expect(r.provider_null).toBeLessThan(0.01);
    expect(r.snapshot_null).toBeGreaterThan(0.36);
    expect(r.snapshot_null).toBeLessThan(0.44);
    expect(r.error_rate).toBeGreaterThan(0.02);
    expect(r.error_rate).toBeLessThan(0.04);
  });

  it('keeps models consistent with providers and the status columns consistent with each other', async () => {
    const pairs = await db.query<{ provider: string | null; model: string | null }>(`select distinct provider, model from ${S}.ai_audit_logs order by all`);
    expect(pairs).toEqual([
      { provider: 'anthropic', model: 'claude-haiku' },
      { provider: 'anthropic', model: 'claude-sonnet' },
      { provider: 'openai', model: 'gpt-4o' },
      { provider: 'openai', model: 'gpt-4o-mini' },
      { provider: 'stub', model: 'stub-echo' },
      { provider: null, model: null },
    ]);
    expect(
      await one(`select count(*) from ${S}.ai_audit_logs
        where response_status is not null and json_extract_string(response_metadata, '$.status') is not null
          and (response_status = 'success') <> (json_extract_string(response_metadata, '$.status') = 'success')`),
    ).toBe(0);
    expect(await one(`select count(*) filter (where response_status = 'timeout') > 0 from ${S}.ai_audit_logs`)).toBe(true);
  });

  it('has a long tail of workflows, all present in workflows, created before first use', async () => {
    expect(await one(`select count(*) from ${S}.ai_audit_logs l anti join ${S}.workflows w on w.id = l.workflow_id`)).toBe(0);
    expect(await one(`select count(*) from ${S}.ai_audit_logs where workflow_id is null or not regexp_full_match(workflow_id, 'wf_[0-9]{5}')`)).toBe(0);
    expect(await one(`select max(workflow_id) <= 'wf_00099' from ${S}.ai_audit_logs`)).toBe(true); // max(20, rows/200) = 100 workflows
    // the 12 idle ones, opened in the demo's days without any copilot use: coverage is below 100 %
    const idle = `from ${S}.workflows w anti join ${S}.ai_audit_logs l on l.workflow_id = w.id`;
    expect(await one(`select count(*) ${idle}`)).toBe(12);
    expect(await one(`select count(*) ${idle} where w.id between 'wf_00100' and 'wf_00111' and w.created_at < w.last_accessed_at and w.last_accessed_at between ${NOW_SQL} - interval ${DAYS} day and ${NOW_SQL}`)).toBe(12);
    const top = await one<number>(`select max(n) / sum(n) from (select count(*) as n from ${S}.ai_audit_logs group by workflow_id)`);
    expect(top).toBeGreaterThan(0.1); // the busiest workflow carries a large share
    expect(
      await one(`select count(*) from ${S}.workflows w join (select workflow_id, min(created_at) f, max(created_at) l from ${S}.ai_audit_logs group by 1) a
        on a.workflow_id = w.id where w.created_at > a.f or w.last_accessed_at < a.l`),
    ).toBe(0);
    expect(await one(`select count(distinct team) from ${S}.workflows`)).toBe(5);
  });

  it('has workspaces that stopped using the copilot more than 7 days before now, and most still in use (was: every used one active)', async () => {
    const last = `from (select workflow_id, max(created_at) as last_at, count(*) as n from ${S}.ai_audit_logs group by 1)`;
    // the Workspace tab's "inactive 7 days": every tenth from wf_00017 (17, 27, ... 97), quiet for 8 to 20 days
    const inactive = await db.query<{ workflow_id: string; n: bigint }>(`select workflow_id, n ${last} where last_at < ${NOW_SQL} - interval 7 day order by 1`);
    expect(inactive.map((r) => r.workflow_id)).toEqual(['wf_00017', 'wf_00027', 'wf_00037', 'wf_00047', 'wf_00057', 'wf_00067', 'wf_00077', 'wf_00087', 'wf_00097']);
    expect(await one(`select count(*) ${last} where workflow_id in (${inactive.map((r) => `'${r.workflow_id}'`).join(', ')}) and last_at < ${NOW_SQL} - interval 20 day`)).toBe(0);
    expect(await one(`select count(*) ${last} where last_at >= ${NOW_SQL} - interval 7 day`)).toBeGreaterThan(80);
    // each on a day of its own, not all at once
    expect(await one(`select count(distinct last_at::DATE) ${last} where workflow_id in (${inactive.map((r) => `'${r.workflow_id}'`).join(', ')})`)).toBeGreaterThan(3);
  });

  it('keeps every timestamp in [now - days, now), exact to the millisecond', async () => {
    const from = `${NOW_SQL} - interval ${DAYS} day`;
    const checks = [
      ['ai_audit_logs', 'created_at'],
      ['audit_trails', '"timestamp"'],
      ['audit_trails', 'created_at'],
      ['audit_trails', 'updated_at'],
      ['usage_log', 'created_at'],
    ];
    for (const [t, c] of checks) {
      expect(await one(`select count(*) from ${S}.${t} where ${c} is null or ${c} < ${from} or ${c} >= ${NOW_SQL} or epoch_us(${c}) % 1000 <> 0`), `${t}.${c}`).toBe(0);
    }
    expect(await one(`select count(*) from ${S}.audit_trails where created_at < "timestamp" or updated_at < created_at`)).toBe(0);
  });

  it('follows business hours and weekdays', async () => {
    // PT office hours are ~15:00-02:00 UTC
    const busy = await one<number>(`select avg((hour(created_at) >= 15 or hour(created_at) < 2)::int) from ${S}.ai_audit_logs`);
    expect(busy).toBeGreaterThan(0.7);
    const ratio = await one<number>(`select avg(n) filter (where we) / avg(n) filter (where not we) from (
      select isodow(created_at - interval 7 hour) >= 6 as we, cast(created_at - interval 7 hour as date) as d, count(*) as n
      from ${S}.ai_audit_logs where created_at >= ${NOW_SQL} - interval 28 day group by all)`);
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(0.7);
  });

  it('carries prompt text only in ai_audit_logs.request_metadata', async () => {
    expect(await one(`select count(*) from ${S}.ai_audit_logs where length(json_extract_string(request_metadata, '$.prompt')) > 10`)).toBe(ROWS);
    expect(await one(`select count(*) from ${S}.usage_log where json_exists(meta, '$.prompt') or meta::VARCHAR like '%@example.com%'`)).toBe(0);
    expect(await one(`select count(*) from ${S}.usage_log where json_type(meta, '$.pii') <> 'BOOLEAN'`)).toBe(0);
  });

  it('has realistic governance and cost data', async () => {
    const blocked = await one<number>(`select avg((not allowed)::int) from ${S}.usage_log`);
    expect(blocked).toBeGreaterThan(0.05);
    expect(blocked).toBeLessThan(0.1);
    expect(await one(`select count(*) from ${S}.usage_log where (allowed and reason is not null) or (not allowed and reason is null) or risk_score not between 0 and 1`)).toBe(0);
    expect(await one<number>(`select avg(risk_score) filter (where not allowed) > 2 * avg(risk_score) filter (where allowed) from ${S}.usage_log`)).toBe(true);
    const cost = await db.query<{ model: string; per_1k: number }>(`select model, sum(json_extract_string(cost, '$.total')::double) / count(*) * 1000 as per_1k from ${S}.audit_trails group by 1 order by 2`);
    expect(cost.map((c) => c.model)).toEqual(['gpt-4o-mini', 'claude-haiku', 'gpt-4o', 'claude-sonnet']);
    expect(
      await one(`select count(*) from ${S}.audit_trails
        where abs(json_extract_string(cost, '$.total')::double - json_extract_string(cost, '$.prompt')::double - json_extract_string(cost, '$.completion')::double) > 0.0000011
           or json_extract_string(tokens, '$.total')::int <> json_extract_string(tokens, '$.prompt')::int + json_extract_string(tokens, '$.completion')::int`),
    ).toBe(0);
  });

  it('has no anomaly on the last day', async () => {
    const all = await lastDayVsMedian(S);
    expect(all.last).toBeGreaterThan(0.4 * all.median);
    const sum = await lastDayVsMedian(S, `capability = 'summarize'`);
    expect(sum.last).toBeLessThan(1.75 * sum.median);
    expect(await one<number>(`select avg(${IS_ERROR}::int) from ${S}.ai_audit_logs where ${dayIdx('created_at')} = 0`)).toBeLessThan(0.08);
  });

  describe('provenance: workspace_data_snapshots and market_snapshots (seeds 000, 001)', () => {
    const L = `${S}.ai_audit_logs`;
    const W = `${S}.workspace_data_snapshots`;
    const M = `${S}.market_snapshots`;

    it('captures five markets every 4 hours, 1 to 15 minutes after their as_of, with a few outages', async () => {
      const markets = await db.query<{ market: string; source: string }>(`select distinct market, source from ${M} order by 1`);
      expect(markets).toEqual(MARKETS.map(([market, source]) => ({ market, source })).sort((a, b) => a.market.localeCompare(b.market)));
      expect(await one(`select count(*) from ${M} where epoch_ms(as_of) % (4 * 3600000) <> 0 or captured_at - as_of not between interval 1 minute and interval 15 minute or captured_at >= ${NOW_SQL}`)).toBe(0);
      expect(await one(`select min(as_of) <= ${NOW_SQL} - interval ${DAYS + 2} day + interval 4 hour from ${M}`)).toBe(true);
      // holes in the grid: captures lost to a feed outage
      const holes = await one<number>(`select count(*) from (select market, as_of, lead(as_of) over (partition by market order by as_of) as nxt from ${M}) where nxt - as_of > interval 4 hour`);
      expect(holes).toBeGreaterThan(0);
      expect(holes).toBeLessThan(0.05 * (await one<number>(`select count(*) from ${M}`)));
      // a random walk per market: never far from where it started, never the same level twice in a row
      const walk = (await db.query<{ lo: number; hi: number; flat: bigint }>(`select min(l / l0) as lo, max(l / l0) as hi, count(*) filter (where l = prev) as flat from (
        select json_extract(payload, '$.level')::DOUBLE as l, first_value(json_extract(payload, '$.level')::DOUBLE) over (partition by market order by as_of) as l0,
          lag(json_extract(payload, '$.level')::DOUBLE) over (partition by market order by as_of) as prev from ${M})`))[0];
      expect(walk.lo).toBeGreaterThan(0.7);
      expect(walk.hi).toBeLessThan(1.4);
      expect(Number(walk.flat)).toBe(0);
      expect(await one(`select count(*) from ${M} where json_extract_string(payload, '$.benchmark') is null or json_extract(payload, '$.instruments')::INTEGER < 1 or json_extract_string(payload, '$.currency') not in ('USD', 'EUR')`)).toBe(0);
    });

    it('has a row for every snapshot the logs name, except the documented ~3 % gap; about 15 % more were never used', async () => {
      const r = (await db.query<Record<string, bigint>>(`select count(*) as ids, count(w.id) as found from (select distinct workspace_snapshot_id as id from ${L} where workspace_snapshot_id is not null) as l left join ${W} as w using (id)`))[0];
      const gap = 1 - Number(r.found) / Number(r.ids);
      expect(gap).toBeGreaterThan(0.01);
      expect(gap).toBeLessThan(0.06);
      const unused = await one<number>(`select count(*) from ${W} as w anti join ${L} as l on l.workspace_snapshot_id = w.id`);
      expect(unused / Number(r.ids)).toBeGreaterThan(0.12);
      expect(unused / Number(r.ids)).toBeLessThan(0.16);
      expect(await one(`select count(*) from ${W} where not regexp_full_match(id, 'snap_[0-9a-f]{12}')`)).toBe(0);
    });

    it('belongs to the workspace of the interactions that use it, taken before the first of them', async () => {
      expect(await one(`select count(*) from ${W} as w anti join ${S}.workflows as f on f.id = w.workflow_id`)).toBe(0);
      expect(await one(`select count(*) from ${L} as l join ${W} as w on w.id = l.workspace_snapshot_id where w.workflow_id <> l.workflow_id or w.created_at >= l.created_at`)).toBe(0);
      expect(await one(`select count(*) from ${W} where created_at >= ${NOW_SQL} or created_at < ${NOW_SQL} - interval ${DAYS} day - interval 6 hour or row_count < 1`)).toBe(0);
      expect(await one(`select count(*) from ${W} where not regexp_full_match(json_extract_string(metadata, '$.checksum'), 'sha256:[0-9a-f]{32}') or json_extract(metadata, '$.sizeBytes')::BIGINT < row_count`)).toBe(0);
    });

    it('points at the newest market snapshot of its market captured before it (about 10 % at none), and each one exists', async () => {
      const nullShare = await one<number>(`select avg((market_snapshot_id is null)::int) from ${W}`);
      expect(nullShare).toBeGreaterThan(0.07);
      expect(nullShare).toBeLessThan(0.13);
      expect(await one(`select count(*) from ${W} as w anti join ${M} as m on m.id = w.market_snapshot_id where w.market_snapshot_id is not null`)).toBe(0);
      // captured before the workspace snapshot, and no later capture of that market before it
      expect(
        await one(`select count(*) from ${W} as w join ${M} as m on m.id = w.market_snapshot_id
          where m.captured_at > w.created_at
             or exists (select 1 from ${M} as n where n.market = m.market and n.captured_at > m.captured_at and n.captured_at <= w.created_at)`),
      ).toBe(0);
      // one market per workspace
      expect(await one(`select max(n) from (select w.workflow_id, count(distinct m.market) as n from ${W} as w join ${M} as m on m.id = w.market_snapshot_id group by 1)`)).toBe(1);
    });

    it('gives about half of the interactions a full provenance (snapshot and market snapshot found)', async () => {
      const share = await one<number>(`select avg((m.id is not null)::int) from ${L} as l left join ${W} as w on w.id = l.workspace_snapshot_id left join ${M} as m on m.id = w.market_snapshot_id`);
      expect(share).toBeGreaterThan(0.45);
      expect(share).toBeLessThan(0.58);
    });
  });

  describe('audit_events (seed 004)', () => {
    const AE = `${S}.audit_events`;
    it('has unique ids; parents exist, come first and share the request id', async () => {
      expect(await one(`select count(distinct audit_id) = count(*) from ${AE}`)).toBe(true);
      const r = (await db.query<Record<string, bigint>>(`select count(*) as children,
          count(p.audit_id) as found,
          count(*) filter (where p."timestamp" <= c."timestamp" and p.context_request_id = c.context_request_id) as consistent
        from ${AE} c left join ${AE} p on p.audit_id = c.context_parent_audit_id where c.context_parent_audit_id is not null`))[0];
      expect(Number(r.children)).toBeGreaterThan(0.08 * (ROWS / 4));
      expect(r.found).toBe(r.children);
      expect(r.consistent).toBe(r.children);
    });

    it('covers every event category and actor type; time fields agree', async () => {
      const cats = await db.query<{ c: string }>(`select distinct split_part(event_type, '.', 1) as c from ${AE} order by 1`);
      expect(cats.map((x) => x.c)).toEqual(['admin', 'ai', 'assessment', 'auth', 'compliance', 'document', 'export']);
      const actors = await db.query<{ a: string }>(`select distinct actor_type as a from ${AE} order by 1`);
      expect(actors.map((x) => x.a)).toEqual(['ai_agent', 'anonymous', 'service', 'user']);
      expect(await one(`select count(*) from ${AE} where timestamp_ms <> epoch_ms("timestamp") or created_at < "timestamp" or "timestamp" < ${NOW_SQL} - interval 30 day or "timestamp" >= ${NOW_SQL}`)).toBe(0);
      // a long tail of tenants: the biggest has several times the median tenant's events
      const t = (await db.query<{ top: number; med: number; n: bigint }>(`select max(n) as top, median(n) as med, count(*) as n from (select context_tenant_id, count(*) as n from ${AE} group by 1)`))[0];
      expect(Number(t.n)).toBeGreaterThanOrEqual(6);
      expect(t.top).toBeGreaterThan(3 * t.med);
    });

    it('fills AI fields on agent events only, compliance fields on checks only, with sane values', async () => {
      expect(await one(`select count(*) from ${AE} where (ai_agent_type is null) <> (ai_model is null) or (ai_agent_type is null) <> (ai_prompt_tokens is null) or (ai_agent_type is null) <> (ai_tools_used is null)`)).toBe(0);
      expect(await one(`select count(*) from ${AE} where ai_confidence_score not between 0 and 1 or ai_completion_tokens < 0 or ai_execution_time_ms <= 0`)).toBe(0);
      expect(await one(`select count(*) from ${AE} where (event_type = 'compliance.check') <> (compliance_traffic_light is not null) or (event_type = 'compliance.check') <> (compliance_regulations_checked is not null)`)).toBe(0);
      expect(await one(`select count(*) from ${AE} where len(compliance_regulations_checked) = 0 or not list_has_all(['GDPR', 'HIPAA', 'SOC2', 'ISO27001', 'CCPA'], compliance_regulations_checked)`)).toBe(0);
      expect(await one(`select count(*) from ${AE} where compliance_critical_issues > compliance_issues_found or (compliance_traffic_light = 'green' and compliance_issues_found > 0)`)).toBe(0);
      const l = (await db.query<Record<string, bigint>>(`select count(*) filter (where compliance_traffic_light = 'green') as g, count(*) filter (where compliance_traffic_light = 'amber') as a, count(*) filter (where compliance_traffic_light = 'red') as r from ${AE}`))[0];
      expect(Number(l.g)).toBeGreaterThan(Number(l.a));
      expect(Number(l.a)).toBeGreaterThan(Number(l.r));
      expect(Number(l.r)).toBeGreaterThan(0);
      // data changes only on updates, with before and after
      expect(await one(`select count(*) from ${AE} where (data_changes is null) <> (data_before is null) or (data_changes is null) <> (data_after is null)`)).toBe(0);
      expect(await one(`select count(*) from ${AE} where data_changes is not null`)).toBeGreaterThan(0);
    });

    it('flags PII only where the classification allows it on a normal day; retention follows the classification', async () => {
      expect(await one(`select count(*) from ${AE} where security_pii_detected and security_data_classification in ('public', 'internal')`)).toBe(0);
      expect(await one(`select count(*) from ${AE} where security_pii_detected and security_data_classification in ('confidential', 'restricted')`)).toBeGreaterThan(0);
      expect(await one(`select count(*) from ${AE} where security_retention_period_days not in (365, 400, 1095, 2555)`)).toBe(0);
      expect(await one(`select count(*) from ${AE} where security_retention_period_days is null`)).toBeGreaterThan(0);
    });
  });
});

describe('generateDemo: determinism', () => {
  it('same options give identical data; another seed gives different, uncorrelated data', async () => {
    await generateDemo(db, opts('det_a', { seed: 7 }));
    await generateDemo(db, opts('det_b', { seed: 7 }));
    await generateDemo(db, opts('det_c', { seed: 8 }));
    const [a, b, c] = [await fingerprint('det_a'), await fingerprint('det_b'), await fingerprint('det_c')];
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    // the seed must change the draws, not nudge them: agreement is what chance gives
    const same = await one<number>(`select avg((a.capability is not distinct from c.capability)::int) from det_a.ai_audit_logs a join det_c.ai_audit_logs c using (id)`);
    expect(same).toBeLessThan(0.3);
  });
});

describe('generateDemo: scaling', () => {
  it('joins by hash or as-of, never by a nested loop: the time grows with --rows, not with its square', async () => {
    // a join condition that is not a plain equality (e.g. a count from the other side inside it)
    // makes DuckDB compare every pair of rows: at 10,000,000 rows that took minutes
    const plans: Array<{ sql: string; plan: string }> = [];
    const explaining = {
      execute: async (sql: string) => {
        if (/^\s*create or replace table/i.test(sql)) {
          const rows = await db.query<{ explain_value: string }>(`explain ${sql}`);
          plans.push({ sql: sql.slice(0, 80), plan: rows.map((r) => r.explain_value).join('\n') });
        }
        return db.execute(sql);
      },
      query: db.query.bind(db),
    };
    await generateDemo(explaining, opts('plans', { scenario: 'spike' }));
    // every table, and the helper tables of the skeleton
    expect(plans.length).toBeGreaterThanOrEqual(7);
    expect(plans.filter((p) => /HASH_JOIN/.test(p.plan)).length).toBeGreaterThan(0);
    expect(plans.filter((p) => /NESTED_LOOP_JOIN|BLOCKWISE_NL_JOIN|PIECEWISE_MERGE_JOIN/.test(p.plan)).map((p) => p.sql)).toEqual([]);
  });
});

describe('generateDemo: scenarios', () => {
  const run = (scenario: DemoScenario) => generateDemo(db, opts(`sc_${scenario}`, { scenario }));

  it('spike: summarize gets more than 3x its median daily volume on the last day', async () => {
    const [logs] = await run('spike');
    const S = 'sc_spike';
    expect(logs.rows).toBeGreaterThan(ROWS);
    expect(await one(`select count(distinct id) = count(*) and min(id) = 1 and max(id) = count(*) from ${S}.ai_audit_logs`)).toBe(true);
    const { last, median } = await lastDayVsMedian(S, `capability = 'summarize'`);
    expect(last).toBeGreaterThan(3 * median);
    // other capabilities are untouched
    const chat = await lastDayVsMedian(S, `capability = 'chat'`);
    expect(chat.last).toBeLessThan(1.75 * chat.median);
  });

  it('drop: the last day of ai_audit_logs falls below 0.4x the median and its last 3 hours are empty; the other tables stay normal', async () => {
    const tables = await generateDemo(db, opts('sc_drop', { scenario: 'drop', auditEvents: 5000 }));
    const logs = tables.find((t) => t.table === 'ai_audit_logs')!;
    const S = 'sc_drop';
    expect(logs.rows).toBeLessThan(ROWS);
    const { last, median } = await lastDayVsMedian(S);
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(0.4 * median);
    expect(await one(`select count(*) from ${S}.ai_audit_logs where created_at >= ${NOW_SQL} - interval 3 hour`)).toBe(0);
    // the scenario is about ai_audit_logs (--help): the other tables keep their traffic and their
    // row counts (was: cut the same way, and --audit-events 5000 gave 4,782 events)
    expect(tables.find((t) => t.table === 'audit_events')!.rows).toBe(5000);
    expect(tables.find((t) => t.table === 'audit_trails')!.rows).toBe(ROWS / 4);
    expect(tables.find((t) => t.table === 'usage_log')!.rows).toBe(ROWS / 4);
    // row for row what a normal day gives them
    await generateDemo(db, opts('sc_drop_normal', { auditEvents: 5000 }));
    for (const [t, at] of [['audit_trails', '"timestamp"'], ['usage_log', 'created_at'], ['audit_events', '"timestamp"']]) {
      expect(await tableFingerprint(S, t), t).toBe(await tableFingerprint('sc_drop_normal', t));
      expect(await one(`select count(*) from ${S}.${t} where ${at} >= ${NOW_SQL} - interval 3 hour`), t).toBeGreaterThan(0);
    }
  });

  it('errors: more than 20% of the last day fails, mostly late in the day', async () => {
    await run('errors');
    const S = 'sc_errors';
    const r = (
      await db.query<{ last: number; before: number; early: number; late: number; today: number }>(`select
        avg(${IS_ERROR}::int) filter (where ${dayIdx('created_at')} = 0) as last,
        avg(${IS_ERROR}::int) filter (where ${dayIdx('created_at')} > 0) as before,
        avg(${IS_ERROR}::int) filter (where created_at >= ${SCENARIO_END_SQL} - interval 1 day and created_at < ${SCENARIO_END_SQL} - interval 12 hour) as early,
        avg(${IS_ERROR}::int) filter (where created_at >= ${SCENARIO_END_SQL} - interval 12 hour and created_at < ${SCENARIO_END_SQL}) as late,
        avg(${IS_ERROR}::int) filter (where ${dayIdx('created_at')} < 0) as today
      from ${S}.ai_audit_logs`)
    )[0];
    expect(r.last).toBeGreaterThan(0.2);
    expect(r.before).toBeLessThan(0.05);
    expect(r.late).toBeGreaterThan(r.early);
    expect(r.today).toBeLessThan(0.08); // the hours after the last UTC midnight are ordinary
    expect(await one(`select count(*) filter (where response_status = 'error') > 0.15 * count(*) from ${S}.ai_audit_logs where ${dayIdx('created_at')} = 0`)).toBe(true);
  });

  it('new_capability: agent_plan appears only on the last day', async () => {
    await run('new_capability');
    const S = 'sc_new_capability';
    const r = (await db.query<{ n: bigint; first_day: bigint }>(`select count(*) as n, max(${dayIdx('created_at')}) as first_day from ${S}.ai_audit_logs where capability = 'agent_plan'`))[0];
    expect(Number(r.n)).toBeGreaterThanOrEqual(20);
    expect(Number(r.first_day)).toBe(0);
    // the marts group by UTC date: the new capability shows up on exactly one date, the last complete one
    const dates = await db.query<{ d: string }>(`select distinct strftime(created_at, '%Y-%m-%d') as d from ${S}.ai_audit_logs where capability = 'agent_plan'`);
    expect(dates).toEqual([{ d: '2026-03-01' }]);
    expect(await one(`select count(*) from sc_spike.ai_audit_logs where capability = 'agent_plan'`)).toBe(0);
  });

  it('compliance_red: a burst of red checks with critical issues for one tenant on the last day', async () => {
    await run('compliance_red');
    const S = 'sc_compliance_red';
    const red = `event_type = 'compliance.check' and compliance_traffic_light = 'red' and compliance_critical_issues > 0 and context_tenant_id = '${COMPLIANCE_RED_TENANT}'`;
    const r = (await db.query<{ last: bigint; before: bigint | null }>(`with d as (select ${dayIdx('"timestamp"')} as d, count(*) as n from ${S}.audit_events where ${red} group by 1)
      select coalesce((select n from d where d = 0), 0) as last, (select max(n) from d where d > 0) as before`))[0];
    expect(Number(r.last)).toBeGreaterThanOrEqual(40);
    expect(Number(r.last)).toBeGreaterThan(5 * Number(r.before ?? 0));
    // the other tables are those of a normal day
    expect(await one(`select count(*) from ${S}.ai_audit_logs`)).toBe(ROWS);
  });

  it('pii_leak: PII detected in events classified public, on the last day only', async () => {
    await run('pii_leak');
    const S = 'sc_pii_leak';
    const days = await db.query<{ d: number; n: bigint }>(`select ${dayIdx('"timestamp"')} as d, count(*) as n from ${S}.audit_events where security_pii_detected and security_data_classification = 'public' group by 1`);
    expect(days.map((x) => Number(x.d))).toEqual([0]);
    expect(Number(days[0].n)).toBeGreaterThanOrEqual(25);
    expect(await one(`select count(*) from sc_compliance_red.audit_events where security_pii_detected and security_data_classification = 'public'`)).toBe(0);
  });

  it('tiny and one-day windows still work', async () => {
    for (const scenario of DEMO_SCENARIOS) {
      const res = await generateDemo(db, opts(`tiny_${scenario}`, { rows: 1, days: 1, scenario }));
      expect(res).toHaveLength(7);
      expect(await one(`select count(*) from tiny_${scenario}.workspace_data_snapshots`)).toBeGreaterThanOrEqual(2);
      expect(await one(`select count(distinct id) = count(*) from tiny_${scenario}.ai_audit_logs`)).toBe(true);
    }
  });
});
