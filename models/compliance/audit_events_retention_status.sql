{{ config(materialized='view', tags=['compliance']) }}
-- Grain: data classification x retention period. How long each kind of audit event is kept and
-- whether any is past it. The rule mirrors the retention of raw.audit_events in
-- models/sources.yml (keep 7y; a row's security_retention_period_days is its own period, never
-- under retention.minimum, 7d, in project.yaml); a row counts as overdue one day after its cutoff,
-- the grace a daily `vigil retention apply` needs.
with e as (
  select
    coalesce(security_data_classification, 'unclassified') as data_classification,
    security_retention_period_days as retention_period_days,
    {{ quote_ident('timestamp') }} as event_at,
    case
      when security_retention_period_days is null then {{ dateadd('year', -7, current_timestamp()) }}
      else {{ dateadd('day', '-greatest(security_retention_period_days, 7)', current_timestamp()) }}
    end as cutoff_at
  from {{ source('raw', 'audit_events') }}
)
select
  data_classification,
  retention_period_days,
  count(*) as event_count,
  min(event_at) as oldest_event_at,
  max(event_at) as newest_event_at,
  min(cutoff_at) as cutoff_at,
  {{ count_if('event_at < ' ~ dateadd('day', -1, 'cutoff_at')) }} as overdue_count
from e
group by data_classification, retention_period_days
