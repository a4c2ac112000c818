{{ config(materialized='ephemeral') }}
-- Interactions per capability for every day since the capability was first seen,
-- zero-filled, so "the 7 preceding rows" are exactly the 7 preceding days.
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
  {{ date_spine('(select min(date) from per_day)', '(select max(date) from per_day)') }}
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
