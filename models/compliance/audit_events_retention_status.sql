{{ config(materialized='view', tags=['compliance']) }}
-- Grain: data classification x retention period. How long each kind of audit event is kept and
-- whether any is past it. The rule mirrors the retention of raw.audit_events in
-- models/sources.yml (keep 7y; a row's security_retention_period_days is its own period, never
-- under retention.minimum, 7d, in project.yaml, and at most 700,000 days, as vigil retention
-- counts a "keep forever" 2147483647); a row counts as overdue one day after its cutoff, the grace
-- a daily `vigil retention apply` needs, unless the last successful apply came after its cutoff.
-- That apply deletes in the application database (apply_to: source) and this copy keeps its full
-- history (docs/sync.md): its log line is the built-in source vigil.retention_log, which
-- `vigil sync` copies here.
{% set period = 'least(greatest(security_retention_period_days, 7), 700000)' %}
with applied as (
  select max(as_of) as applied_at
  from {{ source('vigil', 'retention_log') }}
  where table_name = 'raw.audit_events' and status = 'success'
),
e as (
  select
    coalesce(security_data_classification, 'unclassified') as data_classification,
    security_retention_period_days as retention_period_days,
    {{ quote_ident('timestamp') }} as event_at,
    case
      when security_retention_period_days is null then {{ dateadd('year', -7, current_timestamp()) }}
      else {{ dateadd('day', '-' ~ period, current_timestamp()) }}
    end as cutoff_at,
    -- the row's cutoff as of the last apply: rows before it were deleted in the source then
    case
      when security_retention_period_days is null then {{ dateadd('year', -7, 'a.applied_at') }}
      else {{ dateadd('day', '-' ~ period, 'a.applied_at') }}
    end as applied_cutoff_at,
    a.applied_at
  from {{ source('raw', 'audit_events') }}
  cross join applied as a
)
select
  data_classification,
  retention_period_days,
  count(*) as event_count,
  min(event_at) as oldest_event_at,
  max(event_at) as newest_event_at,
  min(cutoff_at) as cutoff_at,
  max(applied_at) as retention_applied_at,
  {{ count_if('event_at < ' ~ dateadd('day', -1, 'cutoff_at') ~ ' and (applied_cutoff_at is null or event_at >= applied_cutoff_at)') }} as overdue_count
from e
group by data_classification, retention_period_days
