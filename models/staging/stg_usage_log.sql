{{ config(materialized='view', tags=['staging']) }}
-- Governance decisions (seed 003). Metadata only: the source holds no prompts, and meta is not selected.
select
  id,
  customer_id,
  api_key_id,
  coalesce(model, 'unknown') as model,
  coalesce(operation, 'unknown') as operation,
  risk_score,
  allowed,
  not allowed as is_blocked,
  reason,
  created_at,
  {{ to_date('created_at') }} as created_date
from {{ source('raw', 'usage_log') }}
