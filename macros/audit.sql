{#- Shared expressions of the AI-audit models. -#}

{# The interaction's status: response_status, else response_metadata.status (seed 001). #}
{% macro audit_status(status_col='response_status', metadata_col='response_metadata') -%}
coalesce({{ status_col }}, {{ json_text(metadata_col, 'status') }})
{%- endmacro %}

{# A row is an error when its status is anything but 'success'; a missing status counts as an error. #}
{% macro is_error(status_col) -%}
({{ status_col }} is null or {{ status_col }} <> 'success')
{%- endmacro %}
