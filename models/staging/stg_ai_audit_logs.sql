{{ config(materialized='view', tags=['staging']) }}
-- One row per copilot interaction, with the JSON metadata flattened into typed columns.
-- Privacy: request_metadata (prompt context, may hold prompt text) is deliberately not selected.
select
  id,
  workflow_id,
  workflow_id as workspace_id,
  coalesce(capability, 'unknown') as capability,
  coalesce(provider, 'unspecified') as provider,
  model,
  {{ audit_status() }} as status,
  {{ is_error(audit_status()) }} as is_error,
  {{ json_number('response_metadata', 'durationMs') }} as duration_ms,
  {{ json_number('response_metadata', 'promptTokens') }} as prompt_tokens,
  {{ json_number('response_metadata', 'completionTokens') }} as completion_tokens,
  {{ json_number('response_metadata', 'totalTokens') }} as total_tokens,
  {{ json_number('request_metadata', 'promptChars') }} as prompt_chars,
  workspace_snapshot_id,
  created_at,
  {{ to_date('created_at') }} as created_date
from {{ source('raw', 'ai_audit_logs') }}
