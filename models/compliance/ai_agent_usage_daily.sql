{{ config(materialized='table', tags=['mart', 'compliance']) }}
-- Grain: day x AI agent type x model. What the platform's agents did and what it cost in tokens.
select
  event_date as date,
  ai_agent_type,
  coalesce(ai_model, 'unknown') as ai_model,
  count(*) as event_count,
  cast(coalesce(sum(ai_prompt_tokens), 0) as bigint) as prompt_tokens,
  cast(coalesce(sum(ai_completion_tokens), 0) as bigint) as completion_tokens,
  cast(avg(ai_confidence_score) as {{ type_float() }}) as avg_confidence,
  -- the events avg_confidence is the mean of (a NULL score is no score): weigh it by these, not
  -- by event_count, when combining rows (models, days)
  count(ai_confidence_score) as confidence_count,
  cast({{ percentile('ai_execution_time_ms', 0.95) }} as bigint) as p95_execution_time_ms,
  {{ count_if('is_failure') }} as error_count,
  {{ safe_divide(count_if('is_failure'), 'count(*)') }} as error_rate
from {{ ref('stg_audit_events') }}
where ai_agent_type is not null
group by event_date, ai_agent_type, coalesce(ai_model, 'unknown')
