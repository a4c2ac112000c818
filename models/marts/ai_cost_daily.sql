{{ config(materialized='table', tags=['mart', 'cost']) }}
-- Grain: day x model. Token and cost totals from the assessment audit trails (seed 002).
select
  occurred_date as date,
  model,
  count(*) as message_count,
  count(distinct project_id) as project_count,
  sum(prompt_tokens) as prompt_tokens,
  sum(completion_tokens) as completion_tokens,
  sum(total_tokens) as total_tokens,
  sum(prompt_cost_usd) as prompt_cost_usd,
  sum(completion_cost_usd) as completion_cost_usd,
  sum(total_cost_usd) as total_cost_usd,
  {{ safe_divide('sum(total_cost_usd)', 'count(*)') }} as avg_cost_per_message_usd
from {{ ref('stg_audit_trails') }}
group by occurred_date, model
