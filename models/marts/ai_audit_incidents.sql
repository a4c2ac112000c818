{{ config(materialized='view', tags=['mart', 'audit', 'alerts']) }}
-- One row per alert incident (seed 001, Workspace tab: "Recent incidents table (join
-- ai_audit_logs with alerts)"): an alert instance's firing period from the alert history that
-- `vigil alerts evaluate` appends to (the built-in source vigil.alert_events), joined with the
-- audit logs of its days (through ai_audit_daily, the logs by day and capability) for the
-- capability it names — all capabilities when the alert has none (error surges, sync). Its days
-- run from the first day its firing row was about (the row's window_start or date; else the day
-- it fired) to the day it resolved, today while it fires.
-- A view: a new incident shows as soon as an evaluation wrote it, without a rebuild.
-- Both rows of an incident carry its alert, severity and labels: max() only picks the one value.
with incidents as (
  select
    instance,
    fired_at,
    max(alert) as alert,
    max(severity) as severity,
    max(case when status = 'firing' then summary end) as summary,
    max(resolved_at) as resolved_at,
    max({{ json_text('labels', 'capability') }}) as capability,
    -- the row's period as text (a date, or an ISO timestamp): its first 10 characters are the day
    min(case when status = 'firing' then coalesce({{ json_text('row_values', 'window_start') }}, {{ json_text('row_values', 'date') }}) end) as about
  from {{ source('vigil', 'alert_events') }}
  group by instance, fired_at
)
select
  i.fired_at,
  i.resolved_at,
  case when i.resolved_at is null then 'firing' else 'resolved' end as incident_state,
  i.alert,
  i.severity,
  i.capability,
  i.summary,
  i.instance,
  {{ to_date('i.fired_at') }} as date,
  {{ datediff('minute', 'i.fired_at', 'i.resolved_at') }} as duration_minutes,
  cast(coalesce(sum(d.interaction_count), 0) as bigint) as interactions,
  cast(coalesce(sum(d.error_count), 0) as bigint) as errors,
  {{ safe_divide('sum(d.error_count)', 'sum(d.interaction_count)') }} as error_rate
from incidents as i
left join {{ ref('ai_audit_daily') }} as d
  on d.date >= coalesce(cast(substr(i.about, 1, 10) as date), {{ to_date('i.fired_at') }})
  and d.date <= coalesce({{ to_date('i.resolved_at') }}, {{ current_date() }})
  and (i.capability is null or d.capability = i.capability)
group by i.fired_at, i.resolved_at, i.alert, i.severity, i.capability, i.summary, i.instance
