{{ config(materialized='view', tags=['staging']) }}
-- Assessment chat audit trails (seed 002): token counts and cost per message.
select
  message_id,
  project_id,
  model,
  context_layers,
  {{ json_number('tokens', 'prompt') }} as prompt_tokens,
  {{ json_number('tokens', 'completion') }} as completion_tokens,
  {{ json_number('tokens', 'total') }} as total_tokens,
  {{ json_number('cost', 'prompt') }} as prompt_cost_usd,
  {{ json_number('cost', 'completion') }} as completion_cost_usd,
  {{ json_number('cost', 'total') }} as total_cost_usd,
  {{ quote_ident('timestamp') }} as occurred_at,
  {{ to_date(quote_ident('timestamp')) }} as occurred_date,
  updated_at
from {{ source('raw', 'audit_trails') }}
