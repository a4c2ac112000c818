/**
 * `vigil demo`: realistic, deterministic AI-copilot audit source data (ai_audit_logs,
 * workflows, audit_trails, usage_log, audit_events, market_snapshots, workspace_data_snapshots), generated entirely inside DuckDB with set-based SQL
 * (no per-row JavaScript), plus the last-day scenarios the anomaly alerts are demoed with.
 *
 * Randomness: every value derives from `hash(xor(hash(i, seed), <salt>))` where the salt is a
 * 64-bit constant per named stream (FNV-1a of the stream name). DuckDB's multi-argument
 * hash(i, seed, 'salt') mixes its later arguments weakly (streams that differ only by salt or
 * by seed come out strongly correlated in their high bits), so each stream re-hashes instead.
 * Row placement over time is integer arithmetic (hourly slot weights scaled to integers,
 * floor-divided), so the same options always produce exactly the same rows.
 */
import type { Adapter } from '../adapters/adapter.js';
import { offlineDialect } from '../adapters/index.js';
import { generateAuditEvents } from './audit-events.js';
import { generateMarketSnapshots, generateWorkspaceSnapshots } from './provenance.js';
import { byKey, choose, fnv1a64, H, lit, pick, strList, U } from './demo-sql.js';
import { UsageError } from '../errors.js';
import { DEMO_MARK } from './demo-guard.js';

/**
 * What the last complete day looks like: spike, drop, errors and new_capability change the
 * copilot logs (ai_audit_logs); compliance_red and pii_leak change audit_events (audit-events.ts).
 */
export type DemoScenario = 'normal' | 'spike' | 'drop' | 'errors' | 'new_capability' | 'compliance_red' | 'pii_leak';

export const DEMO_SCENARIOS: readonly DemoScenario[] = Object.freeze(['normal', 'spike', 'drop', 'errors', 'new_capability', 'compliance_red', 'pii_leak'] as const);

export interface DemoOptions {
  schema: string;
  /** Rows of ai_audit_logs before the scenario adds (spike, new_capability) or removes (drop) some. */
  rows: number;
  days: number;
  seed: number;
  scenario: DemoScenario;
  /** Rows of audit_events before a scenario adds some (default: a quarter of `rows`, like audit_trails and usage_log). */
  auditEvents?: number;
  /** End of the data window; rows fall in [now - days, now). */
  now: Date;
}

export interface DemoTableResult {
  table: string;
  rows: number;
}

const MAX_ROWS = 200_000_000;
const MAX_DAYS = 3650;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Relative traffic per local (Pacific, UTC-7) hour of day: office hours dominate. */
const HOUR_WEIGHTS = [
  0.06, 0.05, 0.04, 0.04, 0.05, 0.08, 0.18, 0.45, 0.85, 1.0, 1.1, 1.05, 0.8, 0.95, 1.05, 1.0, 0.9, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.08,
];
/**
 * Weekend days carry about half a weekday's traffic: enough dip to see, but a plain weekend must
 * stay above the anomaly model's drop threshold (0.4x the median) so `normal` raises no alert.
 */
const WEEKEND_FACTOR = 0.55;
/** Traffic grows by this fraction from the first to the last hour of the window. */
const GROWTH = 0.25;

/** Capability mix of ai_audit_logs (weights; ~0.5% of rows get a NULL capability on top). */
const CAPABILITIES: Array<[string, number]> = [
  ['chat', 0.32],
  ['summarize', 0.2],
  ['extract', 0.14],
  ['draft', 0.13],
  ['classify', 0.09],
  ['search', 0.08],
  ['code_review', 0.04],
];
const SUMMARIZE_SHARE = 0.2;

/** Median prompt size (characters) and completion size (tokens) per capability. */
const PROMPT_CHARS: Record<string, number> = { chat: 1500, summarize: 12000, extract: 6000, draft: 2500, classify: 800, search: 300, code_review: 9000, agent_plan: 4000 };
const COMPLETION_TOKENS: Record<string, number> = { chat: 350, summarize: 250, extract: 180, draft: 700, classify: 8, search: 40, code_review: 500, agent_plan: 900 };
/** Failure-probability multiplier per capability (base rate below). */
const FAIL_FACTOR: Record<string, number> = { chat: 1, summarize: 1.1, extract: 1.2, draft: 1.4, classify: 0.6, search: 0.7, code_review: 1.6, agent_plan: 2 };
const BASE_FAIL = 0.024;
/** Decode speed (ms per completion token) per model. */
const MS_PER_TOKEN: Record<string, number> = { 'gpt-4o': 12, 'gpt-4o-mini': 7, 'claude-sonnet': 14, 'claude-haiku': 6, 'stub-echo': 0.02 };
/** USD per 1M tokens: [prompt, completion]. */
const PRICES: Record<string, [number, number]> = {
  'gpt-4o': [2.5, 10],
  'gpt-4o-mini': [0.15, 0.6],
  'claude-sonnet': [3, 15],
  'claude-haiku': [0.8, 4],
};

const OWNERS = [
  'ana.ruiz', 'ben.okafor', 'chloe.martin', 'dev.patel', 'elena.kowalski', 'farid.haddad', 'grace.liu', 'hiro.tanaka',
  'isabel.costa', 'jonas.berg', 'kemi.adeyemi', 'liam.walsh', 'maya.cohen', 'nikhil.rao', 'olivia.brown', 'pablo.santos',
  'quinn.murphy', 'rosa.delgado', 'sam.nguyen', 'tara.singh', 'umar.farouk', 'vera.ivanova', 'will.jensen', 'yuki.sato',
];
const TEAMS = ['platform', 'legal-ops', 'customer-support', 'sales-engineering', 'research'];

/** Workflows opened without copilot use (no audit record): about 12 % more than the used ones. */
export function idleWorkflows(used: number): number {
  return Math.max(3, Math.floor(used * 0.12));
}

function checkInt(flag: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`${flag} must be a whole number between ${min} and ${max}, got '${String(v)}'`);
  }
  return v;
}

/** The options' ranges: a usage error before anything is opened or said. */
export function validateDemoOptions(opts: DemoOptions): void {
  checkInt('--rows', opts.rows, 1, MAX_ROWS);
  checkInt('--days', opts.days, 1, MAX_DAYS);
  if (opts.auditEvents !== undefined) checkInt('--audit-events', opts.auditEvents, 1, MAX_ROWS);
  if (typeof opts.seed !== 'number' || !Number.isSafeInteger(opts.seed)) {
    throw new UsageError(`--seed must be a whole number (e.g. 42), got '${String(opts.seed)}'`);
  }
  if (!DEMO_SCENARIOS.includes(opts.scenario)) {
    throw new UsageError(`--scenario must be one of ${DEMO_SCENARIOS.join(', ')}, got '${String(opts.scenario)}'`);
  }
  if (typeof opts.schema !== 'string' || !opts.schema.trim()) {
    throw new UsageError(`--schema must be a non-empty schema name, got '${String(opts.schema)}'`);
  }
  if (!(opts.now instanceof Date) || Number.isNaN(opts.now.getTime())) {
    throw new UsageError(`--now must be a valid timestamp like 2026-11-22T12:00:00Z, got '${String(opts.now)}'`);
  }
  const start = opts.now.getTime() - opts.days * DAY_MS;
  if (start < Date.UTC(1971, 0, 1)) throw new UsageError(`--now minus --days must not start before 1971, got a window starting ${new Date(start).toISOString()}`);
  if (opts.now.getTime() > Date.UTC(9999, 0, 1)) throw new UsageError(`--now must not be later than 9999-01-01 (the generated rows reach past --now), got ${opts.now.toISOString()}`);
}

const fmtCount = (n: number): string => n.toLocaleString('en-US');

/**
 * Create (or replace) the seven demo source tables in `opts.schema` and return their row
 * counts, in creation order. Same options, same data, byte for byte.
 */
export async function generateDemo(
  adapter: Pick<Adapter, 'execute' | 'query'>,
  opts: DemoOptions,
  progress?: (msg: string) => void,
): Promise<DemoTableResult[]> {
  validateDemoOptions(opts);
  const { rows, days, scenario } = opts;
  const seed = `${opts.seed}::BIGINT`;
  const qi = (id: string): string => offlineDialect().quoteIdent(id);
  const rel = (t: string): string => `${qi(opts.schema)}.${qi(t)}`;
  const SLOTS = rel('__vigil_demo_slots');
  const ROWS = rel('__vigil_demo_rows');

  const nowMs = opts.now.getTime();
  const startMs = nowMs - days * DAY_MS;
  const nSlots = days * 24;
  /**
   * The scenario day is the last complete UTC day: marts group by UTC date, so a scenario
   * spread over [now - 24h, now) would straddle two dates and read as a half spike and a
   * half-day "drop". Slots after the last UTC midnight (today, still in progress) carry
   * normal traffic (none at all under `drop`: the outage goes on). With `now` at a UTC
   * midnight the scenario day is simply [now - 1 day, now).
   */
  const partialSlots = Math.floor((nowMs - Math.floor(nowMs / DAY_MS) * DAY_MS) / HOUR_MS);
  const lastEndK = Math.max(24, nSlots - partialSlots);
  /** First hourly slot of the scenario day. */
  const lastK = lastEndK - 24;
  /**
   * Slots are aligned to `now`, not to the clock: unless now is on the hour, the scenario day's
   * last slot spills past midnight into today, so added rows and errors stay out of it.
   */
  const scenarioSlots = 24 - (nowMs % HOUR_MS !== 0 ? 1 : 0);
  /** Epoch milliseconds to TIMESTAMPTZ: exact, and independent of the session time zone. */
  const ts = (msExpr: string): string => `make_timestamptz((${msExpr}) * 1000)`;

  const results: DemoTableResult[] = [];
  const count = async (table: string): Promise<number> => {
    const r = await adapter.query<{ n: bigint | number }>(`select count(*) as n from ${rel(table)}`);
    return Number(r[0].n);
  };
  const timed = async (table: string, fn: () => Promise<void>): Promise<void> => {
    const t0 = performance.now();
    await fn();
    // what marks the table as the demo's, to replace without asking next time (demo-guard.ts)
    await adapter.execute(`comment on table ${rel(table)} is ${offlineDialect().literal(DEMO_MARK)}`);
    const n = await count(table);
    results.push({ table, rows: n });
    progress?.(`${table}: ${fmtCount(n)} rows [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
  };

  await adapter.execute(offlineDialect().createSchema(opts.schema));
  try {
    await generateTables();
  } finally {
    await adapter.execute(`drop table if exists ${ROWS}`).catch(() => undefined);
    await adapter.execute(`drop table if exists ${SLOTS}`).catch(() => undefined);
  }
  return results;

  async function generateTables(): Promise<void> {
    // Hourly slots over the window with an integer traffic weight: office-hours and weekday
    // seasonality (Pacific time approximated as UTC-7), a mild growth trend, day-to-day noise.
    const localMs = `(start_ms - ${7 * HOUR_MS})`;
    await adapter.execute(`create or replace table ${SLOTS} as
  with s as (
    select k, (k // 24)::INTEGER as day, ${startMs}::BIGINT + k * ${HOUR_MS} as start_ms
    from range(${nSlots}) t(k)
  ), f as (
    select k, day, start_ms,
      ((floor(${localMs} / ${HOUR_MS}.0)::BIGINT % 24) + 24) % 24 as local_hour,
      ((floor(${localMs} / ${DAY_MS}.0)::BIGINT + 3) % 7 + 7) % 7 as dow0,
      hash(day::BIGINT, ${seed}) as hd
    from s
  )
  select k, day, start_ms,
    round(1000000 * ([${HOUR_WEIGHTS.join(', ')}]::DOUBLE[])[local_hour + 1]
      * (case when dow0 >= 5 then ${WEEKEND_FACTOR} else 1.0 end)
      * (1 + ${GROWTH} * k / ${nSlots}.0)
      * (0.92 + 0.16 * ${U('hd', 'day_noise')}))::BIGINT as w
  from f`);

    /**
     * The skeleton of a table: one row (i, k) per generated row, i = 0..n-1 in time order,
     * k = hourly slot. Counts per slot are floor(N * cumulative weight / total) differences,
     * exact integers. `scenarioDay`: the table the scenario is about (ai_audit_logs), where drop
     * keeps 20% of the last day and nothing in its last 3 hours; the other tables stay normal.
     */
    const skeleton = async (n: number, scenarioDay = false): Promise<void> => {
      const adj =
        scenarioDay && scenario === 'drop'
          ? `case when k >= ${lastEndK - 3} then 0 when k >= ${lastK} then (n0 + 2) // 5 else n0 end`
          : 'n0';
      await adapter.execute(`create or replace table ${ROWS} as
  with c as (
    select k, sum(w) over (order by k rows between unbounded preceding and current row) as cum from ${SLOTS}
  ), b as (
    select k, case when k = ${nSlots - 1} then ${n}::HUGEINT else (${n}::HUGEINT * cum) // (select sum(w) from ${SLOTS}) end as b from c
  ), n as (
    select k, (b - coalesce(lag(b) over (order by k), 0))::BIGINT as n0 from b
  ), a as (
    select k, ${adj} as n from n
  ), p as (
    select k, n, (sum(n) over (order by k rows between unbounded preceding and current row) - n)::BIGINT as first_i from a
  )
  select unnest(range(first_i, first_i + n)) as i, k, NULL::VARCHAR as forced
  from p where n > 0`);
    };

    // ---------------------------------------------------------------- ai_audit_logs
    const nwf = Math.max(20, Math.floor(rows / 200));
    /**
     * Workspaces that stopped using the copilot (the Workspace tab's "inactive 7 days"): every
     * tenth from wf_..17 on (17, 27, 37...) has no interaction after a day 8 to 20 days before
     * now (fewer when --days is short; none under 10 days), fixed per workspace. Its later
     * interactions go to the workspace before it (16, 26...), so every other count stays as it was.
     */
    const churnSpan = Math.min(days, 21) - 9;
    const churnedWorkflow = (drawn: string, createdMs: string): string =>
      churnSpan < 1
        ? drawn
        : `case when ${drawn} >= 10 and ${drawn} % 10 = 7 and ${createdMs} >= ${nowMs - 8 * DAY_MS}::BIGINT - floor(${U(`hash(${drawn}, ${seed})`, 'churn')} * ${churnSpan * DAY_MS})::BIGINT then ${drawn} - 1 else ${drawn} end`;
    const wfWidth = Math.max(5, String(nwf - 1).length);
    await timed('ai_audit_logs', async () => {
      await skeleton(rows, true);
      const [st] = await adapter.query<{ base: bigint | number | null; last_first: bigint | number | null; last_n: bigint | number; prev_max: bigint | number | null }>(`
        select count(*) as base,
          min(i) filter (where k >= ${lastK} and k < ${lastK + scenarioSlots}) as last_first,
          count(*) filter (where k >= ${lastK} and k < ${lastK + scenarioSlots}) as last_n,
          (select max(c) from (select k // 24 as d, count(*) as c from ${ROWS} where k < ${lastK} and k >= ${lastK - 14 * 24} group by 1)) as prev_max
        from ${ROWS}`);
      const base = Number(st.base ?? 0);
      const lastFirst = Number(st.last_first ?? base);
      const lastN = Number(st.last_n ?? 0);
      const prevMax = st.prev_max === null ? lastN : Number(st.prev_max);

      // spike / new_capability: extra rows on the last day, ids continuing after the base rows
      let extra = 0;
      let forced = '';
      let placement = 'u';
      if (scenario === 'spike') {
        // ~4x a busy day's summarize volume on top of the normal traffic, ramping up over the day
        extra = Math.max(20, Math.ceil(4 * SUMMARIZE_SHARE * Math.max(prevMax, lastN)));
        forced = 'summarize';
        placement = 'sqrt(u)';
      } else if (scenario === 'new_capability') {
        extra = Math.max(20, Math.round(0.02 * lastN));
        forced = 'agent_plan';
        placement = 'u';
      }
      if (extra > 0) {
        await adapter.execute(`insert into ${ROWS}
  select i, ${lastK} + least(${scenarioSlots - 1}, floor(${scenarioSlots} * ${placement})::INTEGER) as k, ${lit(forced)} as forced
  from (select ${base} + e as i, ${U(`hash(${base} + e, ${seed})`, 'extra_pos')} as u from range(${extra}) t(e))`);
      }

      const pFail =
        scenario === 'errors' && lastN > 0
          ? `case when i >= ${lastFirst} and i < ${lastFirst + lastN} then 0.06 + 0.65 * pow((i - ${lastFirst}) / ${lastN}.0, 1.5) else 0.0 end`
          : '0.0';
      const modelExpr = `case provider when 'openai' then (case when u_model < 0.6 then 'gpt-4o' else 'gpt-4o-mini' end)
        when 'anthropic' then (case when u_model < 0.62 then 'claude-sonnet' else 'claude-haiku' end)
        when 'stub' then 'stub-echo' end`;

      const docKinds = ['quarterly report', 'support ticket', 'contract', 'meeting transcript', 'incident postmortem', 'sales call notes', 'policy document', 'customer email thread', 'product spec', 'invoice'];
      const people = ['Dana Whitfield (dana.whitfield@example.com)', 'Marcus Lee', 'Priya Raman (+1 415 555 0142)', 'the Acme Corp account team', 'our legal counsel', 'J. Alvarez, account 4417-22'];
      const topics = ['the renewal pricing', 'the data retention policy', 'the outage on Tuesday', 'SOC 2 evidence', 'the Q3 roadmap', 'a refund request', 'GDPR deletion requests', 'the onboarding checklist'];
      const verbs = ['export', 'share', 'archive', 'restore', 'redact', 'tag'];
      const fields = ['all dates and amounts', 'party names and addresses', 'action items with owners', 'SKU, quantity and price', 'renewal and termination clauses'];
      const tones = ['friendly', 'formal', 'concise', 'apologetic', 'firm'];
      const files = ['src/billing/invoice.ts', 'api/handlers/export.py', 'lib/auth/session.go', 'web/components/Upload.tsx', 'db/migrations/0042_audit.sql'];
      const concerns = ['security issues', 'performance regressions', 'missing tests', 'error handling', 'PII leaks in logs'];
      const goals = ["reconcile last month's invoices", 'prepare the audit evidence pack', 'triage the open support backlog', 'migrate the shared drive'];
      // one concat() per prompt (a single allocation; chained || copies every intermediate)
      const cat = (...parts: string[]): string => `concat(${parts.join(', ')})`;
      const prompt = `case capability
        when 'chat' then ${cat(lit('How do I '), choose('u_p1', verbs), lit(' a '), choose('u_p2', docKinds), lit(' in the workspace? Context: '), choose('u_p3', topics), lit('.'))}
        when 'summarize' then ${cat(lit('Summarize the attached '), choose('u_p1', docKinds), lit(' for '), choose('u_p2', people), lit(' in '), '(3 + floor(u_p3 * 5))::INTEGER', lit(' bullet points, focusing on '), choose('u_p4', topics), lit('.'))}
        when 'extract' then ${cat(lit('Extract '), choose('u_p1', fields), lit(' from the attached '), choose('u_p2', docKinds), lit(' as JSON.'))}
        when 'draft' then ${cat(lit('Draft a '), choose('u_p1', tones), lit(' email to '), choose('u_p2', people), lit(' about '), choose('u_p3', topics), lit('.'))}
        when 'classify' then ${cat(lit('Classify this '), choose('u_p1', docKinds), lit(' as one of: urgent, routine, spam, escalate. Text: "'), choose('u_p2', topics), lit(' mentioned by '), choose('u_p3', people), lit('"'))}
        when 'search' then ${cat(lit('Find every '), choose('u_p1', docKinds), lit(' mentioning '), choose('u_p2', topics), lit(' from the last '), '(7 + floor(u_p3 * 83))::INTEGER', lit(' days.'))}
        when 'code_review' then ${cat(lit('Review this diff to '), choose('u_p1', files), lit(' for '), choose('u_p2', concerns), lit('.'))}
        when 'agent_plan' then ${cat(lit('Plan the steps to '), choose('u_p1', goals), lit(' using the workspace tools, then ask '), choose('u_p2', people), lit(' to approve.'))}
        else ${cat(lit('Help me with '), choose('u_p1', topics), lit('.'))} end`;

      await adapter.execute(`create or replace table ${rel('ai_audit_logs')} as
  with r as (
    select i, k, forced, hash(i, ${seed}) as h from ${ROWS}
  ), u as (
    select i, k, forced, h,
      ${U('h', 'workflow')} as u_wf, ${U('h', 'capability')} as u_cap, ${U('h', 'capability_null')} as u_capnull,
      ${U('h', 'provider')} as u_prov, ${U('h', 'model')} as u_model, ${U('h', 'offset')} as u_off,
      ${U('h', 'fail')} as u_fail, ${U('h', 'timeout')} as u_timeout, ${U('h', 'status_null')} as u_rsnull,
      ${U('h', 'meta_null')} as u_metanull, ${U('h', 'duration_missing')} as u_durmiss, ${U('h', 'status_missing')} as u_stmiss,
      ${U('h', 'n1')} as u_n1, ${U('h', 'n2')} as u_n2, ${U('h', 'n3')} as u_n3, ${U('h', 'n4')} as u_n4,
      ${U('h', 'docs')} as u_docs, ${U('h', 'snapshot')} as u_snap,
      ${U('h', 'p1')} as u_p1, ${U('h', 'p2')} as u_p2, ${U('h', 'p3')} as u_p3, ${U('h', 'p4')} as u_p4
    from r
  ), a as (
    select *,
      floor(${nwf} * u_wf * u_wf * u_wf)::BIGINT as wf_drawn,
      coalesce(forced, case when u_capnull < 0.005 then NULL else ${pick('u_cap', CAPABILITIES)} end) as capability,
      case when u_prov < 0.005 then NULL when u_prov < 0.555 then 'openai' when u_prov < 0.955 then 'anthropic' else 'stub' end as provider,
      ${startMs}::BIGINT + k * ${HOUR_MS} + floor(u_off * ${HOUR_MS})::BIGINT as created_ms,
      sqrt(-2 * ln(1 - u_n1)) as rad,
      sqrt(-2 * ln(1 - u_n3)) * cos(2 * pi() * u_n4) as z3
    from u
  ), b as (
    select *,
      ${churnedWorkflow('wf_drawn', 'created_ms')} as wf_idx,
      ${modelExpr} as model,
      rad * cos(2 * pi() * u_n2) as z1,
      rad * sin(2 * pi() * u_n2) as z2,
      ${pFail} as p_scenario,
      ${BASE_FAIL} * ${byKey('capability', FAIL_FACTOR, 1)} * (case provider when 'stub' then 0.2 else 1.0 end) as p_base
    from a
  ), c as (
    select *,
      case when u_fail < p_scenario then 'error'
        when u_fail < p_scenario + p_base * (1 - p_scenario) then (case when u_timeout < 0.3 then 'timeout' else 'error' end)
        else 'success' end as outcome,
      greatest(20, round(${byKey('capability', PROMPT_CHARS, 1000)} * exp(0.7 * z2)))::INTEGER as prompt_chars
    from b
  ), d as (
    select *,
      (round(prompt_chars / 3.8) + 40)::INTEGER as prompt_tokens,
      case when outcome = 'success' then greatest(1, round(${byKey('capability', COMPLETION_TOKENS, 300)} * exp(0.5 * z3))) else 0 end::INTEGER as completion_tokens,
      case when provider = 'stub' then 8.0 else 180.0 end as overhead_ms
    from c
  ), e as (
    select *,
      greatest(1, case outcome
        when 'timeout' then 30000 + round(abs(z1) * 400)
        when 'error' then round(overhead_ms * exp(0.6 * z1))
        else round((overhead_ms + prompt_tokens * 0.02 + completion_tokens * ${byKey('model', MS_PER_TOKEN, 10)}) * exp(0.35 * z1)) end)::BIGINT as duration_ms,
      case when outcome = 'success' then 'success' else 'error' end as meta_status,
      case when outcome = 'success' then 'cmpl_' || printf('%016x', ${H('h', 'completion_id')}) end as completion_id,
      case when u_snap < 0.4 then NULL
        else 'snap_' || printf('%012x', ${H(`hash(wf_idx, (created_ms // ${DAY_MS})::BIGINT, ${seed})`, 'snapshot_id')} >> 16) end as snapshot_id,
      case
        when capability in ('summarize', 'extract', 'code_review') then 1 + floor(u_docs * u_docs * 8)
        when capability = 'chat' then floor(u_docs * u_docs * u_docs * 3)
        when capability = 'search' then floor(u_docs * 5)
        else floor(u_docs * u_docs * 2) end::INTEGER as source_documents
    from d
  )
  select
    (i + 1)::BIGINT as id,
    ('wf_' || printf('%0${wfWidth}d', wf_idx))::VARCHAR as workflow_id,
    capability::VARCHAR as capability,
    provider::VARCHAR as provider,
    model::VARCHAR as model,
    (case when u_rsnull < 0.03 then NULL else outcome end)::VARCHAR as response_status,
    json_object('promptChars', prompt_chars, 'sourceDocuments', source_documents, 'snapshotRef', snapshot_id, 'prompt', ${prompt}) as request_metadata,
    (case
      when u_metanull < 0.01 then NULL
      when u_durmiss < 0.04 and u_stmiss < 0.02 then json_object('promptTokens', prompt_tokens, 'completionTokens', completion_tokens, 'totalTokens', prompt_tokens + completion_tokens, 'completionId', completion_id)
      when u_durmiss < 0.04 then json_object('status', meta_status, 'promptTokens', prompt_tokens, 'completionTokens', completion_tokens, 'totalTokens', prompt_tokens + completion_tokens, 'completionId', completion_id)
      when u_stmiss < 0.02 then json_object('durationMs', duration_ms, 'promptTokens', prompt_tokens, 'completionTokens', completion_tokens, 'totalTokens', prompt_tokens + completion_tokens, 'completionId', completion_id)
      else json_object('durationMs', duration_ms, 'status', meta_status, 'promptTokens', prompt_tokens, 'completionTokens', completion_tokens, 'totalTokens', prompt_tokens + completion_tokens, 'completionId', completion_id)
    end)::JSON as response_metadata,
    snapshot_id::VARCHAR as workspace_snapshot_id,
    ${ts('created_ms')}::TIMESTAMPTZ as created_at
  from e`);
    });

    // ---------------------------------------------------------------- workflows
    await timed('workflows', async () => {
      await adapter.execute(`create or replace table ${rel('workflows')} as
  with g as (
    select workflow_id, min(created_at) as first_at, max(created_at) as last_at
    from ${rel('ai_audit_logs')} group by workflow_id
  ), x as (
    select *, hash(cast(substr(workflow_id, 4) as BIGINT), ${seed}) as hw from g
  ), y as (
    select *, (${H('hw', 'owner')} % ${OWNERS.length})::INTEGER as owner_idx, ${U('hw', 'created')} as u_created from x
  )
  select
    workflow_id::VARCHAR as id,
    ${strList(OWNERS)}[owner_idx + 1]::VARCHAR as owner,
    ${strList(TEAMS)}[owner_idx % ${TEAMS.length} + 1]::VARCHAR as team,
    (first_at - to_milliseconds(${HOUR_MS} + floor(u_created * u_created * ${120 * DAY_MS})::BIGINT))::TIMESTAMPTZ as created_at,
    last_at::TIMESTAMPTZ as last_accessed_at
  from y
  union all
  -- workspaces opened without any copilot use: active but not covered (seed 001's Workspace Coverage)
  select
    ('wf_' || printf('%0${wfWidth}d', i))::VARCHAR as id,
    ${strList(OWNERS)}[owner_idx + 1]::VARCHAR as owner,
    ${strList(TEAMS)}[owner_idx % ${TEAMS.length} + 1]::VARCHAR as team,
    ${ts(`last_ms - ${HOUR_MS} - floor(u_created * u_created * ${120 * DAY_MS})::BIGINT`)} as created_at,
    ${ts('last_ms')} as last_accessed_at
  from (
    select i, (${H('hw', 'owner')} % ${OWNERS.length})::INTEGER as owner_idx, ${U('hw', 'created')} as u_created,
      ${startMs} + floor(${U('hw', 'idle_access')} * ${nowMs - startMs})::BIGINT as last_ms
    from (select i, hash(i, ${seed}, 7) as hw from range(${nwf}, ${nwf + idleWorkflows(nwf)}) t(i))
  )
  order by id`);
    });

    const sideRows = Math.max(1, Math.round(rows / 4));
    /** A bijection of [0, 2^40): unique, random-looking ids without a uniqueness check. */
    const perm = (stream: string): string => {
      const off = BigInt.asUintN(40, BigInt(opts.seed) * 0x9e3779b97f4an + fnv1a64(stream));
      // 42504826249 is odd, so i -> i * m + off is a bijection modulo 2^40; i * m stays < 2^63
      return `((i * 42504826249 + ${off}) % 1099511627776)`;
    };

    // ---------------------------------------------------------------- audit_trails
    const priceIn = byKey('model', Object.fromEntries(Object.entries(PRICES).map(([m, [p]]) => [m, p])), 0);
    const priceOut = byKey('model', Object.fromEntries(Object.entries(PRICES).map(([m, [, c]]) => [m, c])), 0);
    const nProjects = Math.max(8, Math.min(2000, Math.floor(sideRows / 250)));
    await timed('audit_trails', async () => {
      await skeleton(sideRows);
      await adapter.execute(`create or replace table ${rel('audit_trails')} as
  with r as (
    select i, k, hash(i, ${seed}, 2) as h0 from ${ROWS}
  ), u as (
    select i, k,
      ${U('h0', 'at_project')} as u_proj, ${U('h0', 'at_model')} as u_model, ${U('h0', 'at_layers')} as u_layers,
      ${U('h0', 'at_offset')} as u_off, ${U('h0', 'at_n1')} as u_n1, ${U('h0', 'at_n2')} as u_n2,
      ${U('h0', 'at_delay')} as u_delay, ${U('h0', 'at_updated')} as u_upd
    from r
  ), a as (
    select *,
      ${pick('u_model', [['gpt-4o', 0.35], ['gpt-4o-mini', 0.25], ['claude-sonnet', 0.25], ['claude-haiku', 0.15]])} as model,
      (1 + floor(pow(u_layers, 1.5) * 6))::INTEGER as context_layers,
      ${startMs}::BIGINT + k * ${HOUR_MS} + floor(u_off * ${HOUR_MS})::BIGINT as ts_ms,
      sqrt(-2 * ln(1 - u_n1)) * cos(2 * pi() * u_n2) as z1,
      sqrt(-2 * ln(1 - u_n1)) * sin(2 * pi() * u_n2) as z2
    from u
  ), b as (
    select *,
      greatest(50, round(1800 * (1 + 0.35 * (context_layers - 1)) * exp(0.6 * z1)))::BIGINT as pt,
      greatest(1, round(350 * exp(0.55 * z2)))::BIGINT as ct,
      least(${nowMs - 1}::BIGINT, ts_ms + 20 + floor(u_delay * 1500)::BIGINT) as created_ms
    from a
  ), c as (
    select *,
      round(pt * ${priceIn} / 1000000.0, 6) as pc,
      round(ct * ${priceOut} / 1000000.0, 6) as cc,
      case when u_upd < 0.85 then created_ms
        else least(${nowMs - 1}::BIGINT, created_ms + floor(pow(u_upd, 8) * ${3 * DAY_MS})::BIGINT) end as updated_ms
    from b
  )
  select
    ('at_' || printf('%010x', ${perm('at_id')}))::VARCHAR as id,
    ('msg_' || printf('%010x', ${perm('at_message_id')}))::VARCHAR as message_id,
    ('proj_' || printf('%04d', floor(${nProjects} * u_proj * u_proj)::BIGINT))::VARCHAR as project_id,
    model::VARCHAR as model,
    context_layers::INTEGER as context_layers,
    json_object('prompt', pt, 'completion', ct, 'total', pt + ct) as tokens,
    json_object('prompt', pc, 'completion', cc, 'total', round(pc + cc, 6)) as cost,
    ${ts('ts_ms')}::TIMESTAMPTZ as "timestamp",
    ${ts('created_ms')}::TIMESTAMPTZ as created_at,
    ${ts('updated_ms')}::TIMESTAMPTZ as updated_at
  from c`);
    });

    // ---------------------------------------------------------------- usage_log
    const nCustomers = Math.max(10, Math.min(5000, Math.floor(sideRows / 400)));
    await timed('usage_log', async () => {
      await skeleton(sideRows);
      await adapter.execute(`create or replace table ${rel('usage_log')} as
  with r as (
    select i, k, hash(i, ${seed}, 3) as h0 from ${ROWS}
  ), u as (
    select i, k,
      ${U('h0', 'ul_customer')} as u_cust, ${U('h0', 'ul_key')} as u_key, ${U('h0', 'ul_op')} as u_op, ${U('h0', 'ul_model')} as u_model,
      ${U('h0', 'ul_model_null')} as u_mnull, ${U('h0', 'ul_risk')} as u_risk, ${U('h0', 'ul_pii')} as u_pii,
      ${U('h0', 'ul_block')} as u_block, ${U('h0', 'ul_policy')} as u_policy, ${U('h0', 'ul_offset')} as u_off,
      ${U('h0', 'ul_chars')} as u_chars, ${U('h0', 'ul_chars2')} as u_chars2, ${U('h0', 'ul_region')} as u_region, ${U('h0', 'ul_jailbreak')} as u_jb
    from r
  ), a as (
    select *,
      floor(${nCustomers} * pow(u_cust, 2.5))::BIGINT as cust_idx,
      case when u_op < 0.002 then NULL else ${pick('u_op', [['chat', 0.55], ['completion', 0.25], ['embedding', 0.15], ['moderation', 0.05]])} end as operation,
      u_pii < 0.04 as pii,
      u_jb < 0.01 as jailbreak,
      ${startMs}::BIGINT + k * ${HOUR_MS} + floor(u_off * ${HOUR_MS})::BIGINT as created_ms
    from u
  ), b as (
    select *,
      case when u_mnull < 0.003 then NULL
        when operation = 'embedding' then 'text-embedding-3-small'
        when operation = 'moderation' then 'omni-moderation-latest'
        else ${pick('u_model', [['gpt-4o', 0.35], ['gpt-4o-mini', 0.3], ['claude-sonnet', 0.2], ['claude-haiku', 0.15]])} end as model,
      round(case when pii or jailbreak then 0.5 + 0.5 * u_risk else u_risk * u_risk * u_risk end, 4) as risk_score
    from a
  ), c as (
    select *,
      case
        when pii and u_block < 0.6 then 'pii_detected'
        when risk_score >= 0.85 and u_block < 0.9 then 'risk_threshold'
        when u_policy < 0.015 then 'policy_violation'
      end as reason
    from b
  )
  select
    ('ul_' || printf('%010x', ${perm('ul_id')}))::VARCHAR as id,
    ('cus_' || printf('%04d', cust_idx))::VARCHAR as customer_id,
    ('key_' || printf('%04d', cust_idx) || '_' || (1 + floor(u_key * u_key * 3))::INTEGER)::VARCHAR as api_key_id,
    model::VARCHAR as model,
    operation::VARCHAR as operation,
    risk_score::DOUBLE as risk_score,
    (reason is null)::BOOLEAN as allowed,
    reason::VARCHAR as reason,
    json_object('pii', pii, 'jailbreakSuspected', jailbreak, 'promptChars', greatest(1, round(900 * exp(0.9 * sqrt(-2 * ln(1 - u_chars)) * cos(2 * pi() * u_chars2))))::INTEGER,
      'region', ${choose('u_region', ['us-west', 'us-east', 'eu-central'])}) as meta,
    ${ts('created_ms')}::TIMESTAMPTZ as created_at
  from c`);
    });

    // ---------------------------------------------------------------- audit_events (seed 004)
    await timed('audit_events', () =>
      generateAuditEvents({ adapter, rel, rowsTable: ROWS, skeleton, seed, startMs, nowMs, lastK, scenarioSlots, days, scenario, rows: opts.auditEvents ?? sideRows, ts }),
    );

    // ---------------------------------------------------------------- provenance (seeds 000, 001)
    const provenance = { adapter, rel, seed, startMs, nowMs, perm, ts };
    await timed('market_snapshots', () => generateMarketSnapshots(provenance));
    await timed('workspace_data_snapshots', () => generateWorkspaceSnapshots(provenance));

  }
}
