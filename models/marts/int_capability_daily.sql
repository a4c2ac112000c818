{{ config(materialized='ephemeral') }}
-- Interactions per capability for every day since the capability was first seen,
-- zero-filled, so "the 7 preceding rows" are exactly the 7 preceding days. The days run to
-- the day the model is built (today, UTC), not to the last day with a log: when the logs stop
-- altogether, every known capability reads 0 on the silent days, so a complete silent day is
-- a drop (the day in progress is judged by ai_audit_capability_anomalies' is_complete_day).
-- A row dated after today (clock skew) still extends them to its day.
with per_day as (
  select date, capability, cast(sum(interaction_count) as bigint) as interaction_count, cast(sum(error_count) as bigint) as error_count
  from {{ ref('ai_audit_daily') }}
  group by date, capability
),
capabilities as (
  select capability, min(date) as first_seen_date
  from per_day
  group by capability
),
spine as (
  {{ date_spine('(select min(date) from per_day)', '(select greatest(max(date), ' ~ current_date() ~ ') from per_day)') }}
)
select
  s.date,
  c.capability,
  c.first_seen_date,
  coalesce(p.interaction_count, 0) as interaction_count,
  coalesce(p.error_count, 0) as error_count
from spine as s
join capabilities as c on s.date >= c.first_seen_date
left join per_day as p on p.date = s.date and p.capability = c.capability
