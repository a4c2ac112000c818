{{ config(materialized='view', tags=['staging', 'compliance']) }}
-- The audit system of seed 004, typed for analytics. Personal data stays in the source: the
-- actor's name and IP address, data_before/data_after and ai_reasoning are not selected.
select
  audit_id,
  event_type,
  case when strpos(event_type, '.') > 0 then substr(event_type, 1, strpos(event_type, '.') - 1) else event_type end as event_category,
  {{ quote_ident('timestamp') }} as event_at,
  {{ to_date(quote_ident('timestamp')) }} as event_date,
  coalesce(actor_type, 'unknown') as actor_type,
  coalesce(actor_id, 'unknown') as actor_id,
  target_type,
  target_id,
  action_verb,
  coalesce(action_status, 'unknown') as action_status,
  coalesce(action_status, 'unknown') <> 'success' as is_failure,
  -- privileged: changes to who may do what, deletions and data leaving the platform; the verb in
  -- any case (seed 004's HTTP middleware records request.method: 'DELETE')
  (event_type like 'admin.%' or lower(action_verb) in ('delete', 'export', 'grant')) as is_privileged,
  coalesce(context_tenant_id, 'unknown') as tenant_id,
  context_project_id as project_id,
  context_request_id as request_id,
  context_parent_audit_id as parent_audit_id,
  data_changes,
  ai_agent_type,
  ai_model,
  ai_prompt_tokens,
  ai_completion_tokens,
  cast(ai_confidence_score as {{ type_float() }}) as ai_confidence_score,
  ai_tools_used,
  ai_execution_time_ms,
  compliance_regulations_checked,
  compliance_traffic_light,
  compliance_issues_found,
  compliance_critical_issues,
  security_encryption_used,
  coalesce(security_data_classification, 'unclassified') as data_classification,
  security_retention_period_days,
  coalesce(security_pii_detected, false) as pii_detected,
  performance_response_time_ms
from {{ source('raw', 'audit_events') }}
