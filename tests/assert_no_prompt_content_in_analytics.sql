-- Privacy guard: no relation in the analytics schema may expose prompt content.
-- Returns the offending columns (a failing row each). Runs after every model is built:
-- depends_on: {{ ref('stg_ai_audit_logs') }} {{ ref('ai_audit_daily') }} {{ ref('ai_audit_workspace_stats') }}
-- depends_on: {{ ref('ai_audit_capability_anomalies') }} {{ ref('ai_cost_daily') }} {{ ref('ai_governance_daily') }}
select table_name, column_name
{% if target.type == 'bigquery' -%}
from {{ quote_ident(target.schema) }}.INFORMATION_SCHEMA.COLUMNS
{%- else -%}
from information_schema.columns
{%- endif %}
where table_schema = '{{ target.schema }}'
  and lower(column_name) in ('request_metadata', 'prompt', 'prompt_text', 'messages', 'content', 'completion_text')
