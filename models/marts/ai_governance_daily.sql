{{ config(materialized='table', tags=['mart', 'governance']) }}
-- Grain: day x model x operation. Governance decisions (seed 003): blocked ratio and risk.
select
  created_date as date,
  model,
  operation,
  count(*) as request_count,
  {{ count_if('is_blocked') }} as blocked_count,
  {{ safe_divide(count_if('is_blocked'), 'count(*)') }} as blocked_ratio,
  avg(risk_score) as avg_risk_score,
  max(risk_score) as max_risk_score,
  {{ count_if('risk_score >= ' ~ var('high_risk_threshold')) }} as high_risk_count,
  count(distinct customer_id) as customer_count
from {{ ref('stg_usage_log') }}
group by created_date, model, operation
