/**
 * `vigil demo`'s provenance tables (seed 000's "related provenance tables", seed 001's "the
 * precise market snapshot used during an interaction"), generated set-based in DuckDB after the
 * other demo tables, from their own named streams (demo-sql.ts), so the other tables do not change.
 *
 * - `market_snapshots`: reference market data captured every 4 hours per market (five markets,
 *   each from its data vendor), from two days before the window to now: `as_of` on the 4-hour
 *   grid, `captured_at` 1 to 15 minutes later, a payload with the benchmark's level (a random
 *   walk per market), its change and the number of instruments. About 2 % of captures are
 *   missing (a vendor feed outage): the grid has holes.
 * - `workspace_data_snapshots`: one row per snapshot id that ai_audit_logs reference
 *   (`workspace_snapshot_id`, one per workspace and day), taken 1 minute to 6 hours before the
 *   first interaction that used it, plus about 15 % more that no interaction used. A snapshot
 *   points at the newest market snapshot of its workspace's market captured before it
 *   (`market_snapshot_id`), except about 10 % built from internal data only (NULL).
 *
 * The gap, on purpose: about 3 % of the snapshot ids the logs reference have no row (the
 * application purged or never committed them), so provenance cannot be 100 % even among the
 * interactions that name a snapshot. Every non-NULL market_snapshot_id exists.
 */
import type { Adapter } from '../adapters/adapter.js';
import { choose, H, lit, U } from './demo-sql.js';

export interface ProvenanceContext {
  adapter: Pick<Adapter, 'execute' | 'query'>;
  /** `schema.table` of the demo schema */
  rel: (table: string) => string;
  /** `<seed>::BIGINT` */
  seed: string;
  startMs: number;
  nowMs: number;
  /** a bijection of [0, 2^40) of the column `i` for the named stream (unique ids) */
  perm: (stream: string) => string;
  /** epoch milliseconds (SQL) to TIMESTAMPTZ */
  ts: (msExpr: string) => string;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Market data is captured every 4 hours. */
export const MARKET_CAPTURE_MS = 4 * HOUR_MS;
/** Share of captures lost to a feed outage. */
export const MARKET_OUTAGE = 0.02;
/** Share of referenced snapshot ids with no row in workspace_data_snapshots. */
export const SNAPSHOT_GAP = 0.03;
/** Share of workspace snapshots built without market data (market_snapshot_id NULL). */
export const SNAPSHOT_WITHOUT_MARKET = 0.1;
/** Snapshots no interaction used, as a share of the referenced ones. */
export const UNREFERENCED_SHARE = 0.15;

/** market, vendor, benchmark, currency, benchmark level at the start, instruments, daily volatility */
export const MARKETS: ReadonlyArray<readonly [string, string, string, string, number, number, number]> = [
  ['us_equities', 'bloomberg', 'SPX', 'USD', 5200, 503, 0.011],
  ['eu_equities', 'refinitiv', 'SX5E', 'EUR', 4900, 50, 0.012],
  ['fx_majors', 'refinitiv', 'DXY', 'USD', 104.2, 28, 0.004],
  ['us_treasuries', 'ice', 'UST10Y', 'USD', 4.31, 12, 0.02],
  ['commodities', 'ice', 'BCOM', 'USD', 98.6, 24, 0.01],
];

const SNAPSHOT_SOURCES = ['warehouse_export', 'crm_sync', 'file_upload', 'sharepoint', 'erp_extract'];

/** Create `market_snapshots` and then `workspace_data_snapshots` (which reads it and ai_audit_logs, workflows). */
export async function generateMarketSnapshots(c: ProvenanceContext): Promise<void> {
  const { adapter, rel, seed } = c;
  const gridStart = Math.floor((c.startMs - 2 * DAY_MS) / MARKET_CAPTURE_MS) * MARKET_CAPTURE_MS;
  const slots = Math.ceil((c.nowMs - gridStart) / MARKET_CAPTURE_MS);
  const values = MARKETS.map(([m, src, bench, cur, level, n, vol], idx) => `(${idx}, ${lit(m)}, ${lit(src)}, ${lit(bench)}, ${lit(cur)}, ${level}::DOUBLE, ${n}, ${vol}::DOUBLE)`).join(', ');
  // per-capture volatility: the daily one scaled to 4 hours
  const stepVol = `(vol / sqrt(${DAY_MS / MARKET_CAPTURE_MS}))`;
  await adapter.execute(`create or replace table ${rel('market_snapshots')} as
  with g as (
    select s, m.*, s * ${MARKETS.length} + idx as i, ${gridStart}::BIGINT + s * ${MARKET_CAPTURE_MS} as as_of_ms
    from range(${slots}) t(s)
    cross join (values ${values}) m(idx, market, source, benchmark, currency, level0, instruments, vol)
  ), u as (
    select *, hash(i, ${seed}) as h from g
  ), v as (
    select *,
      ${U('h', 'ms_outage')} as u_outage,
      as_of_ms + ${MINUTE_MS} + floor(${U('h', 'ms_delay')} * ${14 * MINUTE_MS})::BIGINT as captured_ms,
      sqrt(-2 * ln(1 - ${U('h', 'ms_n1')})) * cos(2 * pi() * ${U('h', 'ms_n2')}) as z
    from u
  ), w as (
    -- a random walk per market: the level moves by a normal step each capture
    select *, level0 * exp(${stepVol} * sum(z) over (partition by market order by s rows between unbounded preceding and current row)) as level
    from v
  ), x as (
    select *, lag(level) over (partition by market order by s) as prev_level from w
  )
  select
    ('mkt_' || printf('%010x', ${c.perm('ms_id')}))::VARCHAR as id,
    market::VARCHAR as market,
    source::VARCHAR as source,
    ${c.ts('as_of_ms')}::TIMESTAMPTZ as as_of,
    ${c.ts('captured_ms')}::TIMESTAMPTZ as captured_at,
    json_object('benchmark', benchmark, 'level', round(level, 4), 'changePct', round(100 * (level / coalesce(prev_level, level0) - 1), 3),
      'currency', currency, 'instruments', instruments) as payload
  from x
  where captured_ms < ${c.nowMs} and u_outage >= ${MARKET_OUTAGE}
  order by captured_at, id`);
}

export async function generateWorkspaceSnapshots(c: ProvenanceContext): Promise<void> {
  const { adapter, rel, seed } = c;
  const [{ n }] = await adapter.query<{ n: bigint | number }>(`select count(distinct workspace_snapshot_id) as n from ${rel('ai_audit_logs')}`);
  const nUnref = Math.max(2, Math.round(UNREFERENCED_SHARE * Number(n)));
  const span = c.nowMs - c.startMs;
  const marketOf = (wf: string) => choose(U(`hash(cast(substr(${wf}, 4) as BIGINT), ${seed})`, 'wds_market'), MARKETS.map(([m]) => m));
  await adapter.execute(`create or replace table ${rel('workspace_data_snapshots')} as
  with used as (
    -- a snapshot id belongs to one workspace and day (generate-demo.ts): its first use bounds its creation
    select workspace_snapshot_id as id, min(workflow_id) as workflow_id, min(epoch_ms(created_at)) as first_used_ms
    from ${rel('ai_audit_logs')} where workspace_snapshot_id is not null group by 1
  ), referenced as (
    select id, workflow_id, first_used_ms - ${MINUTE_MS} - floor(pow(${U('hash(id, ' + seed + ')', 'wds_lead')}, 2) * ${6 * HOUR_MS})::BIGINT as created_ms
    from used
    where ${U('hash(id, ' + seed + ')', 'wds_gap')} >= ${SNAPSHOT_GAP}
  ), wf as (
    select id as workflow_id, row_number() over (order by id) - 1 as wf_i from ${rel('workflows')}
  ), unused0 as (
    select i, hash(i, ${seed}) as h from range(${nUnref}) t(i)
  ), unused1 as (
    -- the workspace's index computed apart, so that the join below is on equality (a hash join):
    -- with the workflow count inside the join condition it was a nested loop, quadratic in --rows
    select i, h, floor(${U('h', 'wds_unused_wf')} * (select count(*) from ${rel('workflows')}))::BIGINT as wf_i from unused0
  ), unused as (
    select 'snap_' || printf('%012x', ${c.perm('wds_unused_id')}) as id, wf.workflow_id,
      ${c.startMs}::BIGINT + floor(${U('h', 'wds_unused_at')} * ${span})::BIGINT as created_ms
    from unused1 join wf on wf.wf_i = unused1.wf_i
    where 'snap_' || printf('%012x', ${c.perm('wds_unused_id')}) not in (select id from used)
  ), s as (
    select id, workflow_id, created_ms from referenced
    union all
    select id, workflow_id, created_ms from unused
  ), k as (
    select *, ${marketOf('workflow_id')} as market, ${c.ts('created_ms')} as created_at, hash(id, ${seed}) as h from s
  ), j as (
    -- the newest market snapshot of the workspace's market captured before the snapshot was taken
    select k.*, m.id as m_id
    from k asof left join ${rel('market_snapshots')} as m on m.market = k.market and k.created_at >= m.captured_at
  ), r as (
    select *, floor(200 * exp(3.2 * ${U('h', 'wds_rows')}))::BIGINT as row_count, (1 + floor(pow(${U('h', 'wds_tables')}, 2) * 8))::INTEGER as n_tables from j
  )
  select
    id::VARCHAR as id,
    workflow_id::VARCHAR as workflow_id,
    (case when ${U('h', 'wds_no_market')} < ${SNAPSHOT_WITHOUT_MARKET} then NULL else m_id end)::VARCHAR as market_snapshot_id,
    row_count::BIGINT as row_count,
    json_object('source', ${choose(U('h', 'wds_source'), SNAPSHOT_SOURCES)}, 'tables', n_tables, 'sizeBytes', row_count * (120 + floor(${U('h', 'wds_width')} * 900))::BIGINT,
      'checksum', 'sha256:' || printf('%016x', ${H('h', 'wds_sum_a')}) || printf('%016x', ${H('h', 'wds_sum_b')})) as metadata,
    created_at::TIMESTAMPTZ as created_at
  from r
  order by created_at, id`);
}
