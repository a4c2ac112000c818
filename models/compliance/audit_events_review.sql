{{ config(materialized='view', tags=['compliance']) }}
-- One row per audit event for compliance reviews (seed 004): who did what to which target, with
-- its outcome, AI and compliance fields. Personal data and content are published only through
-- their policies (compliance.yml): the actor's name masked, the address hashed, data_before /
-- data_after redacted, ai_reasoning masked. The unmasked rows are audit_events_review__restricted,
-- readable by the principals its config grants (none here: the builder only; docs/governance.md).
select
  audit_id,
  {{ quote_ident('timestamp') }} as event_at,
  context_tenant_id as tenant_id,
  context_project_id as project_id,
  context_request_id as request_id,
  context_parent_audit_id as parent_audit_id,
  event_type,
  actor_type,
  actor_id,
  actor_name,
  actor_ip_address,
  action_verb,
  action_status,
  action_error,
  target_type,
  target_id,
  target_name,
  data_changes,
  data_before,
  data_after,
  ai_agent_type,
  ai_model,
  ai_confidence_score,
  ai_reasoning,
  compliance_regulations_checked,
  compliance_traffic_light,
  compliance_issues_found,
  compliance_critical_issues,
  compliance_findings,
  security_data_classification as data_classification,
  security_pii_detected as pii_detected,
  security_retention_period_days as retention_period_days
from {{ source('raw', 'audit_events') }}
