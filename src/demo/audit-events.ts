/**
 * `vigil demo`'s `audit_events`: the audit system of seed 004 (actor, target, action, context,
 * data changes, AI, compliance, security and performance fields), generated set-based in
 * DuckDB like the other demo tables (demo-sql.ts: seeded per-row streams, no per-row JavaScript).
 *
 * What it looks like: tenants and their projects with a long tail; human users (a few dozen per
 * tenant), services and AI agents as actors; auth, document, assessment, ai.completion,
 * compliance.check, export and admin events; AI completions and compliance checks mostly children
 * of an earlier event (`context_parent_audit_id`, sharing its request id); compliance checks over
 * GDPR/HIPAA/SOC2/ISO27001/CCPA with green/amber/red results and findings; data classifications
 * with PII flags and per-row retention days. Two last-day scenarios: `compliance_red` (a burst
 * of red checks with critical issues for tenant ten_0001) and `pii_leak` (uploads classified
 * public in which PII was detected; a normal day has none).
 *
 * Column types are DuckDB's closest to seed 004's: UUID, TIMESTAMPTZ, BIGINT, VARCHAR (INET: DuckDB
 * has no INET type without an extension, so the address is text), VARCHAR[] (TEXT[]), JSON (JSONB),
 * DECIMAL(5,4), BOOLEAN, INTEGER. `vigil demo --target <postgres>` loads them into the seed's exact
 * table (AUDIT_EVENTS_POSTGRES below) with its indexes.
 */
import type { Adapter } from '../adapters/adapter.js';
import { choose, H, lit, pick, strList, U } from './demo-sql.js';

export interface AuditEventsContext {
  adapter: Pick<Adapter, 'execute' | 'query'>;
  /** `schema.table` of the demo schema */
  rel: (table: string) => string;
  /** the skeleton table (i, k, forced) that `skeleton(n)` fills */
  rowsTable: string;
  skeleton: (n: number) => Promise<void>;
  /** `<seed>::BIGINT` */
  seed: string;
  startMs: number;
  nowMs: number;
  /** first hourly slot of the scenario day, and how many of its slots the scenario may use */
  lastK: number;
  scenarioSlots: number;
  days: number;
  scenario: string;
  rows: number;
  /** epoch milliseconds (SQL) to TIMESTAMPTZ */
  ts: (msExpr: string) => string;
}

const HOUR_MS = 3_600_000;

/** The tenant the `compliance_red` scenario hits. */
export const COMPLIANCE_RED_TENANT = 'ten_0001';

const EVENT_TYPES: Array<[string, number]> = [
  ['auth.login', 0.13],
  ['auth.logout', 0.06],
  ['auth.failed', 0.02],
  ['document.view', 0.14],
  ['document.update', 0.07],
  ['document.upload', 0.04],
  ['document.delete', 0.01],
  ['assessment.create', 0.04],
  ['assessment.submit', 0.03],
  ['ai.completion', 0.25],
  ['compliance.check', 0.1],
  ['export.report', 0.03],
  ['admin.role_change', 0.008],
  ['admin.settings_update', 0.006],
  ['admin.user_invite', 0.006],
];

const VERBS: Record<string, string> = {
  'auth.login': 'login', 'auth.logout': 'logout', 'auth.failed': 'login', 'document.view': 'read', 'document.update': 'update', 'document.upload': 'create',
  'document.delete': 'delete', 'assessment.create': 'create', 'assessment.submit': 'submit', 'ai.completion': 'generate', 'compliance.check': 'check',
  'export.report': 'export', 'admin.role_change': 'grant', 'admin.settings_update': 'update', 'admin.user_invite': 'invite',
};

const FIRST = ['Ana', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hiro', 'Isabel', 'Jonas', 'Kemi', 'Liam', 'Maya', 'Nikhil', 'Olivia', 'Pablo', 'Quinn', 'Rosa', 'Sam', 'Tara'];
const LAST = ['Ruiz', 'Okafor', 'Martin', 'Patel', 'Kowalski', 'Haddad', 'Liu', 'Tanaka', 'Costa', 'Berg', 'Adeyemi', 'Walsh', 'Cohen', 'Rao', 'Brown', 'Santos', 'Murphy', 'Delgado', 'Nguyen', 'Singh'];
const SERVICES = ['svc_ingest', 'svc_scheduler', 'svc_export', 'svc_sso'];
const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
];
const DOC_KINDS = ['Site survey', 'Fire safety plan', 'Structural report', 'Tenancy agreement', 'Energy certificate', 'Risk register', 'Method statement', 'Inspection log'];
const AI_AGENTS: Array<[string, number]> = [['document_analyzer', 0.35], ['risk_assessor', 0.2], ['report_writer', 0.2], ['qa_assistant', 0.25]];
const AI_MODELS: Array<[string, number]> = [['gpt-4o', 0.35], ['gpt-4o-mini', 0.25], ['claude-sonnet', 0.25], ['claude-haiku', 0.15]];
const PEOPLE = ['Dana Whitfield (dana.whitfield@example.com)', 'Marcus Lee, NI number QQ 12 34 56 C', 'Priya Raman (+44 20 7946 0958)', 'tenant J. Alvarez, flat 4B'];
const RULES = ['GDPR Art. 30 records of processing', 'GDPR Art. 32 security of processing', 'HIPAA 164.312 access control', 'SOC2 CC6.1 logical access', 'ISO27001 A.8.2 classification', 'CCPA 1798.100 notice'];
const ERRORS: Record<string, string[]> = {
  auth: ['invalid password', 'MFA challenge failed', 'account locked after 5 attempts'],
  document: ['storage quota exceeded', 'virus scan rejected the file', 'version conflict'],
  assessment: ['required section missing', 'validation failed: 3 fields'],
  ai: ['upstream model timeout', 'context length exceeded', 'rate limited by provider'],
  compliance: ['regulation catalogue unavailable', 'evidence document unreadable'],
  export: ['report too large', 'export worker crashed'],
  admin: ['role change requires owner approval'],
};

/** A deterministic UUID (version 4 layout) from a row's base hash expression. */
function uuidOf(h: string): string {
  const a = `printf('%016x', ${H(h, 'ae_uuid_a')})`;
  const b = `printf('%016x', ${H(h, 'ae_uuid_b')})`;
  return `(substr(${a}, 1, 8) || '-' || substr(${a}, 9, 4) || '-4' || substr(${a}, 14, 3) || '-a' || substr(${b}, 2, 3) || '-' || substr(${b}, 5, 12))::UUID`;
}

/** Create `audit_events` in the demo schema. */
export async function generateAuditEvents(c: AuditEventsContext): Promise<void> {
  const { adapter, rel, seed, rows: n } = c;
  const ROWS = c.rowsTable;
  await c.skeleton(n);
  const base = n;
  // scenario rows: extra events on the last complete day, ids continuing after the base rows
  const perDay = n / Math.max(1, c.days);
  const extra = c.scenario === 'compliance_red' ? Math.max(40, Math.ceil(0.03 * perDay)) : c.scenario === 'pii_leak' ? Math.max(25, Math.ceil(0.01 * perDay)) : 0;
  if (extra > 0) {
    await adapter.execute(`insert into ${ROWS}
  select i, ${c.lastK} + least(${c.scenarioSlots - 1}, floor(${c.scenarioSlots} * u)::INTEGER) as k, ${lit(c.scenario)} as forced
  from (select ${base} + e as i, ${U(`hash(${base} + e, ${seed}, 4)`, 'ae_extra_pos')} as u from range(${extra}) t(e))`);
  }
  const nTenants = Math.max(6, Math.min(400, Math.floor(n / 1500)));
  const USERS_PER_TENANT = 30;
  const h = (idx: string) => `hash(${idx}, ${seed}, 4)`;
  const errorsOf = `case category ${Object.entries(ERRORS).map(([k, xs]) => `when ${lit(k)} then ${choose('u_err', xs)}`).join(' ')} end`;
  const agentModel = `case when ai_agent_type = 'compliance_checker' then (case when u_model < 0.6 then 'claude-sonnet' else 'gpt-4o' end) else ${pick('u_model', AI_MODELS)} end`;

  await adapter.execute(`create or replace table ${rel('audit_events')} as
  with s as (
    -- each hourly slot's first row and row count: a row's offset in its hour grows with its index,
    -- so time order is index order and an earlier index is an earlier (or the same) instant
    select k, min(i) as first_i, count(*) as n_slot from ${ROWS} where forced is null group by k
  ), r as (
    select x.i, x.k, x.forced, ${h('x.i')} as h0, s.first_i, s.n_slot from ${ROWS} as x left join s on s.k = x.k
  ), u as (
    select i, k, forced, h0, first_i, n_slot,
      ${['type', 'actor', 'tenant', 'proj', 'off', 'status', 'err', 'parent', 'parent_on', 'class', 'pii', 'enc', 'agent', 'model', 'n1', 'n2', 'n3', 'n4', 'conf', 'light', 'issues', 'crit', 'target', 'ua', 'mem', 'ret', 'ing', 'svc', 'dbq', 'rule']
        .map((s) => `${U('h0', `ae_${s}`)} as u_${s}`)
        .join(', ')},
      ${['t1', 't2', 't3', 't4', 'r1', 'r2', 'r3', 'r4', 'r5'].map((s) => `${U('h0', `ae_${s}`)} as u_${s}`).join(', ')}
    from r
  ), a as (
    select *,
      case forced when 'compliance_red' then 'compliance.check' when 'pii_leak' then 'document.upload' else ${pick('u_type', EVENT_TYPES)} end as event_type,
      case when forced = 'compliance_red' then ${Number(COMPLIANCE_RED_TENANT.slice(4))} else floor(${nTenants} * pow(u_tenant, 2.2))::BIGINT end as ten_idx,
      ${c.startMs}::BIGINT + k * ${HOUR_MS} + (case when forced is null
        then floor((i - first_i + u_off) * ${HOUR_MS} / n_slot) else floor(u_off * ${HOUR_MS}) end)::BIGINT as ts_ms,
      case when forced is null and i > 0 then greatest(0, i - 1 - floor(u_parent * 40)::BIGINT) end as parent_cand,
      sqrt(-2 * ln(1 - u_n1)) * cos(2 * pi() * u_n2) as z1,
      sqrt(-2 * ln(1 - u_n1)) * sin(2 * pi() * u_n2) as z2,
      sqrt(-2 * ln(1 - u_n3)) * cos(2 * pi() * u_n4) as z3
    from u
  ), a2 as (
    -- a child event's parent: a document or assessment event among the 40 before it (those never
    -- have parents themselves, so a child shares its parent's request id; its type follows from
    -- its index alone), earlier or at the same instant (time order is index order)
    select * replace (case when ${pick(U(h('parent_cand'), 'ae_type'), EVENT_TYPES)} similar to '(document|assessment)\..*' then parent_cand end as parent_cand)
    from a
  ), b as (
    select *,
      split_part(event_type, '.', 1) as category,
      case
        when event_type = 'ai.completion' then 'ai_agent'
        when event_type = 'compliance.check' then (case when u_actor < 0.85 then 'ai_agent' else 'service' end)
        when event_type = 'export.report' and u_actor < 0.3 then 'service'
        when event_type = 'auth.failed' and u_actor < 0.4 then 'anonymous'
        else 'user' end as actor_type,
      ten_idx * ${USERS_PER_TENANT} + floor(${USERS_PER_TENANT} * pow(u_actor, 1.8))::BIGINT as user_idx,
      case when event_type = 'compliance.check' then 'compliance_checker' when event_type = 'ai.completion' then ${pick('u_agent', AI_AGENTS)} end as ai_agent_type,
      case
        when event_type = 'ai.completion' and u_parent_on < 0.7 then parent_cand
        when event_type = 'compliance.check' and u_parent_on < 0.85 then parent_cand
        when event_type = 'export.report' and u_parent_on < 0.3 then parent_cand end as parent_idx,
      (${c.startMs}::BIGINT + k * ${HOUR_MS}) // 86400000 as day_idx
    from a2
  ), c as (
    select *,
      case
        when event_type = 'auth.failed' then 'failure'
        when category in ('admin', 'export') and u_status < 0.02 then 'denied'
        when u_status < (case category when 'ai' then 0.03 else 0.012 end) then 'failure'
        else 'success' end as action_status,
      ${agentModel} as ai_model,
      case when event_type = 'compliance.check' then (
        case when forced = 'compliance_red' then 'red' when u_light < 0.05 then 'red' when u_light < 0.22 then 'amber' else 'green' end) end as traffic_light,
      case
        when forced = 'pii_leak' then 'public'
        when category = 'auth' or category = 'admin' then 'internal'
        when event_type = 'compliance.check' then 'confidential'
        when category = 'export' then (case when u_class < 0.6 then 'confidential' else 'internal' end)
        else ${pick('u_class', [['public', 0.12], ['internal', 0.43], ['confidential', 0.35], ['restricted', 0.1]])} end as classification,
      case category
        when 'auth' then 'session' when 'document' then 'document' when 'assessment' then 'assessment'
        when 'ai' then (case when u_target < 0.6 then 'document' else 'assessment' end)
        when 'compliance' then 'assessment' when 'export' then 'report'
        else (case when event_type = 'admin.settings_update' then 'tenant_settings' else 'user' end) end as target_type,
      'sess_' || printf('%012x', ${H(`hash(user_idx, day_idx, ${seed})`, 'ae_session')} >> 16) as session_id
    from b
  ), d as (
    select *,
      case when ai_agent_type is not null then greatest(50, round(${'case ai_agent_type when \'compliance_checker\' then 6000 when \'document_analyzer\' then 9000 when \'report_writer\' then 3000 else 1500 end'} * exp(0.6 * z1))) end::INTEGER as ai_prompt_tokens,
      case when ai_agent_type is null then NULL when action_status <> 'success' then 0
        else greatest(1, round(${'case ai_agent_type when \'compliance_checker\' then 600 when \'report_writer\' then 1200 else 350 end'} * exp(0.5 * z2))) end::INTEGER as ai_completion_tokens,
      case traffic_light when 'green' then 0 when 'amber' then 1 + floor(u_issues * 3) when 'red' then 2 + floor(u_issues * 7) end::INTEGER as issues_found,
      -- critical issues are exceptional: a normal day has none (so the paging rule stays quiet), the compliance_red burst many
      case traffic_light when 'red' then (case when forced = 'compliance_red' then 1 + floor(u_crit * 4) else 0 end) when 'amber' then 0 when 'green' then 0 end::INTEGER as critical_issues,
      case
        when forced = 'pii_leak' then true
        when category in ('document', 'ai', 'assessment', 'export') then (case classification when 'confidential' then u_pii < 0.22 when 'restricted' then u_pii < 0.45 else false end)
        else false end as pii_detected,
      case when target_type = 'session' then session_id
        when target_type = 'document' then 'doc_' || printf('%04d', ten_idx) || '_' || printf('%05d', floor(4000 * pow(u_target, 1.5))::BIGINT)
        when target_type = 'assessment' then 'asm_' || printf('%04d', ten_idx) || '_' || printf('%04d', floor(600 * pow(u_target, 1.3))::BIGINT)
        when target_type = 'report' then 'rpt_' || printf('%04d', ten_idx) || '_' || printf('%04d', floor(300 * u_target)::BIGINT)
        when target_type = 'tenant_settings' then 'ten_' || printf('%04d', ten_idx)
        else 'usr_' || printf('%05d', ten_idx * ${USERS_PER_TENANT} + floor(${USERS_PER_TENANT} * u_target)::BIGINT) end as target_id
    from c
  ), e as (
    select *,
      case when ai_agent_type is not null then greatest(50, round((150 + coalesce(ai_completion_tokens, 0) * (case ai_model when 'gpt-4o-mini' then 7 when 'claude-haiku' then 6 when 'gpt-4o' then 12 else 14 end)) * exp(0.3 * z3))) end::INTEGER as ai_exec_ms,
      case when traffic_light is null then NULL
        else list_filter([case when u_r1 < 0.75 then 'GDPR' end, case when u_r2 < 0.3 then 'HIPAA' end, case when u_r3 < 0.55 then 'SOC2' end,
          case when u_r4 < 0.4 then 'ISO27001' end, case when u_r5 < 0.15 then 'CCPA' end], x -> x is not null) end as regs0
    from d
  )
  select
    ${uuidOf('h0')} as audit_id,
    event_type::VARCHAR as event_type,
    ${c.ts('ts_ms')}::TIMESTAMPTZ as "timestamp",
    ts_ms::BIGINT as timestamp_ms,
    actor_type::VARCHAR as actor_type,
    (case actor_type
      when 'user' then 'usr_' || printf('%05d', user_idx)
      when 'service' then ${choose('u_svc', SERVICES)}
      when 'ai_agent' then 'agent_' || ai_agent_type end)::VARCHAR as actor_id,
    (case actor_type
      when 'user' then ${strList(FIRST)}[1 + (${H('hash(user_idx, 11)', 'ae_first')} % ${FIRST.length})::INTEGER] || ' ' || ${strList(LAST)}[1 + (${H('hash(user_idx, 12)', 'ae_last')} % ${LAST.length})::INTEGER]
      when 'service' then replace(${choose('u_svc', SERVICES)}, 'svc_', '') || '-service'
      when 'ai_agent' then replace(ai_agent_type, '_', ' ') end)::VARCHAR as actor_name,
    (case actor_type
      when 'user' then (case when user_idx % 2 = 0 then '198.51.100.' else '203.0.113.' end) || ((user_idx // 2) % 254 + 1)
      when 'service' then '10.0.' || (1 + floor(u_svc * 4))::INTEGER || '.' || (10 + floor(u_ua * 20))::INTEGER
      when 'ai_agent' then '10.20.0.' || (1 + floor(u_agent * 8))::INTEGER
      else '192.0.2.' || (1 + floor(u_ua * 254))::INTEGER end)::VARCHAR as actor_ip_address,
    (case actor_type
      when 'user' then ${choose('u_ua', BROWSERS)}
      when 'service' then 'builtenv-worker/2.3 (python-httpx/0.27)'
      when 'ai_agent' then 'langgraph-runtime/0.2 (python 3.12)'
      else (case when u_ua < 0.5 then 'curl/8.5.0' else 'python-requests/2.32' end) end)::VARCHAR as actor_user_agent,
    (case when actor_type = 'user' then session_id end)::VARCHAR as actor_session_id,
    target_type::VARCHAR as target_type,
    target_id::VARCHAR as target_id,
    (case target_type
      when 'document' then ${choose('u_target', DOC_KINDS)} || ' ' || substr(target_id, 10)
      when 'assessment' then 'Assessment ' || substr(target_id, 10)
      when 'report' then 'Compliance report ' || substr(target_id, 10)
      when 'session' then 'web session'
      when 'tenant_settings' then 'Tenant settings'
      else 'user ' || target_id end)::VARCHAR as target_name,
    (case target_type
      when 'document' then json_object('mime', case when u_t1 < 0.7 then 'application/pdf' else 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' end, 'size_bytes', (20000 + floor(u_t2 * u_t2 * 8000000))::BIGINT, 'pages', (1 + floor(u_t3 * 120))::INTEGER)
      when 'assessment' then json_object('framework', case when u_t1 < 0.5 then 'RIBA Plan of Work' else 'BS 9991' end, 'sections', (4 + floor(u_t2 * 20))::INTEGER)
      when 'report' then json_object('format', case when u_t1 < 0.7 then 'pdf' else 'csv' end, 'rows', (10 + floor(u_t2 * 5000))::INTEGER)
      end)::JSON as target_metadata,
    ${byName('event_type', VERBS)}::VARCHAR as action_verb,
    (case category
      when 'auth' then (case event_type when 'auth.logout' then 'Signed out' else 'Sign-in attempt' end) || ' from ' || (case actor_type when 'anonymous' then 'an unknown client' else 'the web app' end)
      when 'ai' then replace(ai_agent_type, '_', ' ') || ' generated output for ' || target_type || ' ' || target_id
      when 'compliance' then 'Compliance check of ' || target_id || ' against ' || array_to_string(coalesce(nullif(regs0, []), ['GDPR']), ', ')
      when 'admin' then replace(event_type, 'admin.', '') || ' on ' || target_id
      else ${byName('event_type', VERBS)} || ' ' || target_type || ' ' || target_id end)::VARCHAR as action_description,
    action_status::VARCHAR as action_status,
    (case when action_status = 'failure' then ${errorsOf}
      when action_status = 'denied' then 'permission denied: role viewer cannot ' || ${byName('event_type', VERBS)} || ' ' || target_type end)::VARCHAR as action_error,
    ('ten_' || printf('%04d', ten_idx))::VARCHAR as context_tenant_id,
    ('prj_' || printf('%04d', ten_idx) || '_' || printf('%02d', floor((1 + ten_idx % 12) * pow(u_proj, 2))::BIGINT))::VARCHAR as context_project_id,
    ('req_' || printf('%016x', ${H(`hash(coalesce(parent_idx, i), ${seed})`, 'ae_request')}))::VARCHAR as context_request_id,
    (case when parent_idx is not null then ${uuidOf(h('parent_idx'))} end)::UUID as context_parent_audit_id,
    (case event_type
      when 'document.update' then json_object('status', 'draft', 'revision', (1 + floor(u_t3 * 9))::INTEGER)
      when 'admin.role_change' then json_object('role', case when u_t4 < 0.5 then 'viewer' else 'editor' end)
      when 'admin.settings_update' then json_object('mfa_required', false, 'session_timeout_minutes', 60) end)::JSON as data_before,
    (case event_type
      when 'document.update' then json_object('status', case when u_t4 < 0.6 then 'review' else 'approved' end, 'revision', (2 + floor(u_t3 * 9))::INTEGER)
      when 'admin.role_change' then json_object('role', case when u_t4 < 0.5 then 'editor' else 'admin' end)
      when 'admin.settings_update' then json_object('mfa_required', true, 'session_timeout_minutes', case when u_t4 < 0.5 then 30 else 60 end) end)::JSON as data_after,
    (case event_type
      when 'document.update' then ['status', 'revision']
      when 'admin.role_change' then ['role']
      when 'admin.settings_update' then (case when u_t4 < 0.5 then ['mfa_required', 'session_timeout_minutes'] else ['mfa_required'] end) end)::VARCHAR[] as data_changes,
    (case when event_type in ('document.update', 'admin.role_change', 'admin.settings_update') then json_object('source', case when actor_type = 'user' then 'web' else 'api' end, 'schema_version', 3) end)::JSON as data_metadata,
    ai_agent_type::VARCHAR as ai_agent_type,
    (case when ai_agent_type is not null then ai_model end)::VARCHAR as ai_model,
    ai_prompt_tokens::INTEGER as ai_prompt_tokens,
    ai_completion_tokens::INTEGER as ai_completion_tokens,
    (case when ai_agent_type is not null then round(0.99 - 0.45 * pow(u_conf, 3) - (case traffic_light when 'red' then 0.15 else 0 end), 4) end)::DECIMAL(5,4) as ai_confidence_score,
    (case
      when event_type = 'compliance.check' then 'Checked ' || target_id || ': ' || (case traffic_light when 'green' then 'no gaps found' else issues_found || ' gap(s), first: ' || ${choose('u_rule', RULES)} end)
        || (case when pii_detected then '; personal data of ' || ${choose('u_t1', PEOPLE)} || ' found in evidence' else '' end)
      when ai_agent_type is not null then 'Read ' || target_id || ' and drafted a ' || (case ai_agent_type when 'report_writer' then 'report section' when 'risk_assessor' then 'risk rating' else 'summary' end)
        || (case when pii_detected then ' mentioning ' || ${choose('u_t1', PEOPLE)} else '' end) end)::VARCHAR as ai_reasoning,
    (case when ai_agent_type is not null then list_filter([
      case when u_t1 < 0.8 then 'read_document' end, case when u_t2 < 0.45 then 'search_documents' end,
      case when ai_agent_type = 'compliance_checker' or u_t3 < 0.15 then 'regulation_lookup' end, case when u_t4 < 0.12 then 'calculator' end], x -> x is not null) end)::VARCHAR[] as ai_tools_used,
    ai_exec_ms::INTEGER as ai_execution_time_ms,
    (case when traffic_light is not null then coalesce(nullif(regs0, []), ['GDPR']) end)::VARCHAR[] as compliance_regulations_checked,
    traffic_light::VARCHAR as compliance_traffic_light,
    issues_found::INTEGER as compliance_issues_found,
    critical_issues::INTEGER as compliance_critical_issues,
    (case when traffic_light is not null then json_object('result', traffic_light, 'issues', issues_found, 'critical', critical_issues,
      'first_finding', case when issues_found > 0 then json_object('rule', ${choose('u_rule', RULES)}, 'severity', case when critical_issues > 0 then 'critical' else 'major' end) end) end)::JSON as compliance_findings,
    (case when category = 'auth' then true else u_enc < 0.985 end)::BOOLEAN as security_encryption_used,
    classification::VARCHAR as security_data_classification,
    (case when u_ret < 0.03 then NULL when category = 'auth' then 400
      else (case classification when 'public' then 365 when 'internal' then 1095 else 2555 end) end)::INTEGER as security_retention_period_days,
    pii_detected::BOOLEAN as security_pii_detected,
    (coalesce(ai_exec_ms, 0) + greatest(5, round(90 * exp(0.6 * z3))))::INTEGER as performance_response_time_ms,
    greatest(1, round(greatest(5, round(90 * exp(0.6 * z3))) * 0.35 * u_dbq))::INTEGER as performance_db_query_time_ms,
    (case when ai_exec_ms is not null then ai_exec_ms end)::INTEGER as performance_external_api_time_ms,
    (64 + floor(u_mem * u_mem * 900))::INTEGER as performance_memory_used_mb,
    ${c.ts(`least(${c.nowMs - 1}::BIGINT, ts_ms + 5 + floor(u_ing * 900)::BIGINT)`)}::TIMESTAMPTZ as created_at
  from e`);
}

/** `case <col> when 'k' then 'v' ... end` */
function byName(col: string, m: Record<string, string>): string {
  return `case ${col} ${Object.entries(m).map(([k, v]) => `when ${lit(k)} then ${lit(v)}`).join(' ')} end`;
}

/**
 * Seed 004's `CREATE TABLE audit_events`, column by column (Postgres types as format_type()
 * prints them), without the TimescaleDB hypertable: `vigil demo --target <postgres>` creates
 * exactly this table and the seed's indexes.
 */
export const AUDIT_EVENTS_COLUMNS: ReadonlyArray<readonly [name: string, pgType: string, constraint?: string]> = [
  ['audit_id', 'uuid', 'primary key'],
  ['event_type', 'character varying(100)', 'not null'],
  ['timestamp', 'timestamp with time zone', 'not null'],
  ['timestamp_ms', 'bigint', 'not null'],
  ['actor_type', 'character varying(20)'],
  ['actor_id', 'character varying(100)'],
  ['actor_name', 'character varying(200)'],
  ['actor_ip_address', 'inet'],
  ['actor_user_agent', 'text'],
  ['actor_session_id', 'character varying(100)'],
  ['target_type', 'character varying(50)'],
  ['target_id', 'character varying(100)'],
  ['target_name', 'character varying(200)'],
  ['target_metadata', 'jsonb'],
  ['action_verb', 'character varying(20)'],
  ['action_description', 'text'],
  ['action_status', 'character varying(20)'],
  ['action_error', 'text'],
  ['context_tenant_id', 'character varying(100)'],
  ['context_project_id', 'character varying(100)'],
  ['context_request_id', 'character varying(100)'],
  ['context_parent_audit_id', 'uuid'],
  ['data_before', 'jsonb'],
  ['data_after', 'jsonb'],
  ['data_changes', 'text[]'],
  ['data_metadata', 'jsonb'],
  ['ai_agent_type', 'character varying(50)'],
  ['ai_model', 'character varying(50)'],
  ['ai_prompt_tokens', 'integer'],
  ['ai_completion_tokens', 'integer'],
  ['ai_confidence_score', 'numeric(5,4)'],
  ['ai_reasoning', 'text'],
  ['ai_tools_used', 'text[]'],
  ['ai_execution_time_ms', 'integer'],
  ['compliance_regulations_checked', 'text[]'],
  ['compliance_traffic_light', 'character varying(10)'],
  ['compliance_issues_found', 'integer'],
  ['compliance_critical_issues', 'integer'],
  ['compliance_findings', 'jsonb'],
  ['security_encryption_used', 'boolean'],
  ['security_data_classification', 'character varying(20)'],
  ['security_retention_period_days', 'integer'],
  ['security_pii_detected', 'boolean'],
  ['performance_response_time_ms', 'integer'],
  ['performance_db_query_time_ms', 'integer'],
  ['performance_external_api_time_ms', 'integer'],
  ['performance_memory_used_mb', 'integer'],
  ['created_at', 'timestamp with time zone', 'default now()'],
];

/** Seed 004's indexes on audit_events (Postgres), after `on <table>`. */
export const AUDIT_EVENTS_INDEXES: ReadonlyArray<readonly [name: string, definition: string]> = [
  ['idx_audit_events_event_type', '(event_type)'],
  ['idx_audit_events_actor_id', '(actor_id)'],
  ['idx_audit_events_target_id', '(target_id)'],
  ['idx_audit_events_tenant_id', '(context_tenant_id)'],
  ['idx_audit_events_project_id', '(context_project_id)'],
  ['idx_audit_events_request_id', '(context_request_id)'],
  ['idx_audit_events_timestamp', '("timestamp" desc)'],
  ['idx_audit_events_target_metadata', 'using gin (target_metadata)'],
  ['idx_audit_events_data_metadata', 'using gin (data_metadata)'],
  ['idx_audit_events_compliance_findings', 'using gin (compliance_findings)'],
  ['idx_audit_events_actor_timestamp', '(actor_id, "timestamp" desc)'],
  ['idx_audit_events_tenant_timestamp', '(context_tenant_id, "timestamp" desc)'],
  ['idx_audit_events_ai_type_timestamp', '(ai_agent_type, "timestamp" desc)'],
  // what `vigil sync` reads by: (cursor, key) keyset order
  ['idx_audit_events_sync', '("timestamp", audit_id)'],
];
