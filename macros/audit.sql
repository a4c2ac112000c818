{#- Shared expressions of the AI-audit models. -#}

{# The interaction's status (seed 001's Error Funnel: response_status != 'success' or an explicit
   error flag inside response_metadata): the first of response_status and response_metadata.status
   that is not 'success' (a failure either records wins, response_status first), else 'success'
   when either says so, else NULL (neither recorded). #}
{% macro audit_status(status_col='response_status', metadata_col='response_metadata') -%}
coalesce(nullif({{ status_col }}, 'success'), nullif({{ json_text(metadata_col, 'status') }}, 'success'), {{ status_col }}, {{ json_text(metadata_col, 'status') }})
{%- endmacro %}

{# A row is an error when its status is anything but 'success'; a missing status counts as an error. #}
{% macro is_error(status_col) -%}
({{ status_col }} is null or {{ status_col }} <> 'success')
{%- endmacro %}
