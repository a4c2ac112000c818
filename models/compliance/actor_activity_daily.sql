{{ config(materialized='table', tags=['mart', 'compliance']) }}
-- Grain: actor x day. Who did how much, how much of it failed, and how much touched personal
-- data or needed privileges: the access review of seed 004.
select
  actor_id,
  event_date as date,
  min(actor_type) as actor_type,
  count(distinct tenant_id) as tenant_count,
  count(*) as action_count,
  {{ count_if('is_failure') }} as failure_count,
  count(distinct target_id) as distinct_targets,
  {{ count_if('pii_detected') }} as pii_touches,
  {{ count_if('is_privileged') }} as privileged_actions
from {{ ref('stg_audit_events') }}
group by actor_id, event_date
