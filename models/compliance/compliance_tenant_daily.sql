{{ config(materialized='table', tags=['mart', 'compliance']) }}
-- Grain: day x tenant. Compliance checks by traffic light (the lights of checks only, each check
-- once, whatever the number of regulations it covered), their issues, and where personal data was
-- detected: the figures the Compliance dashboard trends and the compliance alerts watch.
select
  event_date as date,
  tenant_id,
  {{ count_if("event_type = 'compliance.check'") }} as check_count,
  {{ count_if("event_type = 'compliance.check' and compliance_traffic_light = 'green'") }} as green_count,
  {{ count_if("event_type = 'compliance.check' and compliance_traffic_light = 'amber'") }} as amber_count,
  {{ count_if("event_type = 'compliance.check' and compliance_traffic_light = 'red'") }} as red_count,
  {{ safe_divide(count_if("event_type = 'compliance.check' and compliance_traffic_light = 'red'"), count_if("event_type = 'compliance.check'")) }} as red_rate,
  cast(coalesce(sum(case when event_type = 'compliance.check' then compliance_issues_found end), 0) as bigint) as issues_found,
  cast(coalesce(sum(case when event_type = 'compliance.check' then compliance_critical_issues end), 0) as bigint) as critical_issues,
  count(*) as event_count,
  {{ count_if('pii_detected') }} as pii_events,
  -- personal data found where the classification says there is none to protect
  {{ count_if("pii_detected and data_classification in ('public', 'internal')") }} as pii_exposed_events
from {{ ref('stg_audit_events') }}
group by event_date, tenant_id
