{{ config(materialized='table', tags=['mart', 'audit', 'coverage']) }}
-- One row per workspace of workflows (seed 001, Workspace tab: the "inactive 7d" activity
-- toggle and the owner filter): its owner and team, its last access and last copilot
-- interaction, and its activity state when the model was built — active (an interaction in the
-- last 7 days), inactive_7d (none for 7 days) or never (no interaction at all).
with last_use as (
  select workspace_id, max(created_at) as last_interaction_at, count(*) as total_interactions
  from {{ ref('stg_ai_audit_logs') }}
  group by workspace_id
)
select
  w.workflow_id as workspace_id,
  w.owner,
  w.team,
  w.last_accessed_at,
  u.last_interaction_at,
  coalesce(u.total_interactions, 0) as total_interactions,
  case
    when u.last_interaction_at is null then 'never'
    when u.last_interaction_at < {{ dateadd('day', -7, current_timestamp()) }} then 'inactive_7d'
    else 'active'
  end as activity_state,
  -- the order the Workspace activity table lists them in: workspaces that stopped being used
  -- first, then never used, then active
  case
    when u.last_interaction_at is null then 2
    when u.last_interaction_at < {{ dateadd('day', -7, current_timestamp()) }} then 1
    else 3
  end as activity_rank
from {{ ref('stg_workflows') }} as w
left join last_use as u on u.workspace_id = w.workflow_id
