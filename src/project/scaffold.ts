/**
 * `vigil init [dir]`: a small working project — DuckDB target, the demo's audit-log source,
 * a staging model, a daily mart with tests, a singular test, a macro, an alert rule with its
 * routes and offline test, and an empty dashboards folder. `vigil demo && vigil build` works in it straight away.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

export function scaffoldFiles(name: string): Record<string, string> {
  return {
    'project.yaml': `# Vigil project: https://github.com/ (see docs/ in the vigil repository)
name: ${name}
default_target: dev
targets:
  dev:
    type: duckdb
    path: .vigil/dev.duckdb   # embedded, nothing to install
    schema: analytics
vars:
  anomaly_spike_ratio: 1.75
  anomaly_drop_ratio: 0.4
`,
    'models/sources.yml': `sources:
  - name: raw
    schema: raw
    description: Tables copied from the application database (vigil demo fills them locally).
    loaded_at_field: created_at
    freshness:
      warn_after: { count: 1, period: hour }
      error_after: { count: 1, period: day }
    tables:
      - name: ai_audit_logs
        description: One row per copilot interaction.
        columns:
          - name: id
            tests: [not_null, unique]
`,
    'models/staging/stg_events.sql': `{{ config(materialized='view') }}
-- one row per interaction; no prompt content leaves the source
select
  id,
  workflow_id,
  coalesce(capability, 'unknown') as capability,
  coalesce(response_status, {{ json_text('response_metadata', 'status') }}) as status,
  {{ json_number('response_metadata', 'durationMs') }} as duration_ms,
  created_at
from {{ source('raw', 'ai_audit_logs') }}
`,
    'models/marts/events_daily.sql': `{{ config(materialized='table') }}
select
  {{ to_date('created_at') }} as date,
  capability,
  count(*) as interaction_count,
  {{ count_if(is_error_expr('status')) }} as error_count,
  {{ safe_divide(count_if(is_error_expr('status')), 'count(*)') }} as error_rate,
  {{ percentile('duration_ms', 0.95) }} as p95_latency_ms
from {{ ref('stg_events') }}
group by 1, 2
`,
    'models/marts/events_daily.yml': `models:
  - name: events_daily
    description: Interactions per day and capability.
    columns:
      - name: date
        data_type: date
        description: UTC day.
        tests: [not_null]
      - name: capability
        data_type: varchar
        description: Copilot feature invoked ('unknown' when missing).
        tests: [not_null]
      - name: interaction_count
        data_type: bigint
        description: Rows that day.
      - name: error_count
        data_type: bigint
        description: Rows whose status is not 'success' (missing status counts as an error).
      - name: error_rate
        data_type: double
        description: error_count / interaction_count.
        tests:
          - expression_is_true: { expression: "error_rate between 0 and 1" }
      - name: p95_latency_ms
        data_type: double
        description: percentile_disc(0.95) of durationMs.
    tests:
      - unique_combination_of_columns: { combination_of_columns: [date, capability] }
`,
    'macros/status.sql': `{# true when a row counts as an error: status missing or not 'success' #}
{% macro is_error_expr(col) %}({{ col }} is null or {{ col }} <> 'success'){% endmacro %}
`,
    'tests/assert_no_future_events.sql': `-- returns the failing rows: interactions stamped in the future
select * from {{ ref('stg_events') }} where created_at > current_timestamp + interval '1 hour'
`,
    'alerts/events.yaml': `# Alert rules: vigil alerts evaluate --dry-run (see docs/alerts.md in the vigil repository)
alerts:
  - name: error_rate_high
    description: More than 5% of a day's interactions failed, over at least 100 interactions.
    severity: warning
    labels: { team: data }
    schedule: "*/15 * * * *"
    query: |
      select date, capability, interaction_count, error_rate
      from {{ ref('events_daily') }}
      where date >= {{ dateadd('day', -1, current_date()) }} and interaction_count >= 100
    group_by: [capability]
    condition: { type: threshold, column: error_rate, op: ">", value: 0.05 }
    summary: "{{ capability }}: {{ (error_rate * 100) | round(1) }}% errors on {{ date }}"
`,
    'alerts/routes.yaml': `# Who hears what. Secrets come from the environment: export SLACK_WEBHOOK_URL=https://hooks.slack.com/services/...
receivers:
  - name: slack
    slack: { webhook_url_env: SLACK_WEBHOOK_URL }
route:
  receiver: slack
`,
    'alerts/tests/events_tests.yaml': `# vigil alerts test: the rule on given rows, at given times; nothing is sent
tests:
  - name: fires above 5% errors, quiet below
    alert: error_rate_high
    given:
      ref('events_daily'):
        - { date: 2026-03-10, capability: chat, interaction_count: 200, error_rate: 0.08 }
        - { date: 2026-03-10, capability: draft, interaction_count: 200, error_rate: 0.01 }
    evaluations:
      - at: 2026-03-10T12:00:00Z
        expect:
          - { labels: { capability: chat }, state: firing }
        notifications:
          - { receiver: slack, action: trigger, labels: { capability: chat }, summary: "chat: 8% errors" }
`,
    'dashboards/.gitkeep': '',
    '.gitignore': '.vigil/\ntarget/\n',
  };
}

export function scaffoldProject(dir: string): { root: string; files: string[] } {
  const root = resolve(dir);
  if (existsSync(join(root, 'project.yaml'))) throw new UsageError(`${join(root, 'project.yaml')} already exists; choose an empty folder (vigil init <dir>)`);
  if (existsSync(root) && readdirSync(root).filter((f) => !f.startsWith('.')).length > 0) {
    throw new UsageError(`${root} is not empty; choose a new folder (vigil init <dir>)`);
  }
  const name = basename(root).replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1') || 'vigil_project';
  const files = scaffoldFiles(name);
  for (const [rel, text] of Object.entries(files)) {
    const abs = join(root, rel);
    mkdirSync(join(abs, '..'), { recursive: true });
    writeFileSync(abs, text);
  }
  return { root, files: Object.keys(files) };
}
