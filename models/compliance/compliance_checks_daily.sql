{{ config(materialized='table', tags=['mart', 'compliance']) }}
-- Grain: day x tenant x regulation. A check that covers several regulations counts once for each.
select
  c.event_date as date,
  c.tenant_id,
  regulation,
  count(*) as check_count,
  {{ count_if("c.compliance_traffic_light = 'green'") }} as green_count,
  {{ count_if("c.compliance_traffic_light = 'amber'") }} as amber_count,
  {{ count_if("c.compliance_traffic_light = 'red'") }} as red_count,
  {{ safe_divide(count_if("c.compliance_traffic_light = 'red'"), 'count(*)') }} as red_rate,
  cast(coalesce(sum(c.compliance_issues_found), 0) as bigint) as issues_found,
  cast(coalesce(sum(c.compliance_critical_issues), 0) as bigint) as critical_issues
from {{ ref('stg_audit_events') }} as c
  {{ cross_join_unnest('c.compliance_regulations_checked', 'regulation') }}
where c.event_type = 'compliance.check'
group by c.event_date, c.tenant_id, regulation
