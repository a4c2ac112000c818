{{ config(materialized='table', tags=['mart', 'audit', 'coverage']) }}
-- Workspace Coverage (seed 001): per UTC day and team, the workspaces active in the trailing
-- 14 days (that day included) and how many of them have at least one audit record in those
-- days. "Active" is what the data can prove: workflows.last_accessed_at (workflows keeps only
-- the latest access) or an audit record (a copilot call means the workspace was open). So the
-- current day follows the seed's definition exactly; on earlier days a workspace opened then
-- without copilot use and opened again since is not seen, which flatters older coverage.
with audit_days as (
  select distinct workspace_id, created_date as date
  from {{ ref('stg_ai_audit_logs') }}
  where workspace_id is not null -- a record without a workspace is no workspace (as in ai_workspace_activity)
),
access as (
  select workflow_id as workspace_id, {{ to_date('last_accessed_at') }} as date, 0 as audited
  from {{ ref('stg_workflows') }}
  where last_accessed_at is not null and workflow_id is not null
  union all
  select workspace_id, date, 1 as audited
  from audit_days
),
spine as (
  {{ date_spine('(select min(date) from audit_days)', current_date()) }}
),
windowed as (
  select s.date, a.workspace_id, max(a.audited) as audited
  from spine as s
  join access as a
    on a.date > {{ to_date(dateadd('day', -14, 's.date')) }} and a.date <= s.date
  group by s.date, a.workspace_id
)
select
  w.date,
  coalesce(f.team, 'unknown') as team,
  count(*) as active_workspaces,
  {{ count_if('w.audited = 1') }} as covered_workspaces,
  {{ safe_divide(count_if('w.audited = 1'), 'count(*)') }} as coverage_rate
from windowed as w
left join {{ ref('stg_workflows') }} as f on f.workflow_id = w.workspace_id
group by w.date, coalesce(f.team, 'unknown')
