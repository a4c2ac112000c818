{{ config(materialized='table', tags=['mart', 'audit', 'anomaly']) }}
-- Daily interactions per capability against the rolling medians of the preceding 7 and 14
-- days (the current day excluded). deviation_state follows the seed's view (7-day median);
-- deviation_state_14d is what the spike/drop alert rules use.
-- The UTC day still in progress is judged only for spikes: a partial day already above
-- the ratio is a real spike, but a "drop" cannot be told apart from "the day is not over".
with stats as (
  select
    date,
    capability,
    first_seen_date,
    interaction_count,
    error_count,
    {{ rolling_median('interaction_count', 'capability', 'date', 7) }} as median_7d,
    {{ rolling_median('interaction_count', 'capability', 'date', 14) }} as median_14d,
    date < {{ current_date() }} as is_complete_day
  from {{ ref('int_capability_daily') }}
)
select
  date,
  capability,
  interaction_count,
  error_count,
  median_7d,
  median_14d,
  {{ safe_divide('interaction_count', 'median_7d') }} as ratio_7d,
  {{ safe_divide('interaction_count', 'median_14d') }} as ratio_14d,
  date = first_seen_date as is_new_capability,
  is_complete_day,
  case
    when median_7d is null then 'normal'
    when interaction_count > median_7d * {{ var('anomaly_spike_ratio') }} then 'spike'
    when is_complete_day and interaction_count < median_7d * {{ var('anomaly_drop_ratio') }} then 'drop'
    else 'normal'
  end as deviation_state,
  case
    when median_14d is null then 'normal'
    when interaction_count > median_14d * {{ var('anomaly_spike_ratio') }} then 'spike'
    when is_complete_day and interaction_count < median_14d * {{ var('anomaly_drop_ratio') }} then 'drop'
    else 'normal'
  end as deviation_state_14d
from stats
