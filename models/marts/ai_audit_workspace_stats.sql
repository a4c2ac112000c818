{{ config(materialized='table', tags=['mart', 'audit']) }}
-- Grain: workspace x day (seed 001, analytics.ai_audit_workspace_stats). Days are UTC days.
select
  l.workspace_id,
  l.created_date as date,
  w.team,
  w.owner,
  max(l.created_at) as last_interaction_at,
  count(*) as total_interactions,
  {{ count_if('l.is_error') }} as error_count,
  {{ safe_divide(count_if('l.is_error'), 'count(*)') }} as error_rate,
  count(distinct l.capability) as unique_capabilities
from {{ ref('stg_ai_audit_logs') }} as l
left join {{ ref('stg_workflows') }} as w on w.workflow_id = l.workspace_id
where l.workspace_id is not null -- a record without a workspace is no workspace (as in ai_workspace_activity)
group by l.workspace_id, l.created_date, w.team, w.owner
