{{ config(materialized='table', tags=['mart', 'compliance']) }}
-- Grain: day x tenant x event_type x action_status. The volume of the audit system (seed 004).
select
  event_date as date,
  tenant_id,
  event_type,
  action_status,
  count(*) as event_count,
  count(distinct actor_id) as actor_count,
  count(distinct target_id) as target_count,
  {{ count_if('pii_detected') }} as pii_detected_count,
  cast(avg(performance_response_time_ms) as {{ type_float() }}) as avg_response_time_ms
from {{ ref('stg_audit_events') }}
group by event_date, tenant_id, event_type, action_status
