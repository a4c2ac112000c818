{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite',
    partition_by={'field': 'date', 'data_type': 'date'},
    on_schema_change='append_new_columns',
    tags=['mart', 'audit']
) }}
-- Grain: day x capability x provider (seed 001, analytics.ai_audit_daily).
-- Latency percentiles are exact (percentile_disc) over the rows that report durationMs.
select
  created_date as date,
  capability,
  provider,
  count(*) as interaction_count,
  count(distinct workflow_id) as workspace_count,
  {{ count_if('is_error') }} as error_count,
  {{ safe_divide(count_if('is_error'), 'count(*)') }} as error_rate,
  avg(duration_ms) as avg_latency_ms,
  {{ percentile('duration_ms', 0.5) }} as p50_latency_ms,
  {{ percentile('duration_ms', 0.95) }} as p95_latency_ms,
  {{ percentile('duration_ms', 0.99) }} as p99_latency_ms,
  max(duration_ms) as max_latency_ms,
  {{ percentile('duration_ms', 0.9) }} as p90_latency_ms,
  {{ count_if('not is_error') }} as success_count
from {{ ref('stg_ai_audit_logs') }}
{% if is_incremental() %}
-- re-aggregate whole trailing days (each replaces its stored day: a group that emptied goes; a
-- day left with no rows at all is not produced, so it is not replaced), so
-- late rows land in the right day; counted back from today at the latest (a future-dated row
-- must not move the window past the days still filling)
where created_date >= (select {{ to_date(dateadd('day', -var('incremental_lookback_days'), 'least(max(date), ' ~ current_date() ~ ')')) }} from {{ this }})
{% endif %}
group by created_date, capability, provider
