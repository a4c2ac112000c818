/**
 * `vigil init [dir] [--template blank|ai-audit]`: a small working project in a new folder, or the
 * missing pieces of one in an existing repository (nothing there is overwritten, and what would
 * need one of its files in the template's version is left out).
 *
 * - blank (default): a generated sample of app events as a seed, a source on it, a daily model
 *   with tests, an alert with its routes and offline test, a dashboard. `vigil build` works in it
 *   straight away: it loads the sample, builds, tests.
 * - ai-audit: the AI-copilot audit domain of the shipped project (source `raw.ai_audit_logs`,
 *   staging, a daily mart, a macro, an alert, a dashboard on the mart): `vigil demo && vigil build`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { ensureIgnored } from './gitignore.js';
import { findProjectRoot, listFiles, makeFolder, PROJECT_FILE } from './paths.js';
import { projectPaths, SOURCE_FOLDERS } from './load-project.js';
import type { ProjectFile } from './schema.js';
import { yamlLib } from './yaml-lib.js';
import { docRef } from '../install.js';

export const TEMPLATES = ['blank', 'ai-audit'] as const;

/** Both templates' routes: one Slack webhook, its URL from the environment. */
const ROUTES_YAML = `# Who hears what. Secrets come from the environment: export SLACK_WEBHOOK_URL=https://hooks.slack.com/services/...
receivers:
  - name: slack
    slack: { webhook_url_env: SLACK_WEBHOOK_URL }
route:
  receiver: slack
`;
export type Template = (typeof TEMPLATES)[number];

/** The sample the blank template's seed holds: 30 days of app events ending `end`, deterministic for a given day. */
export function sampleEvents(end: Date, days = 30): string {
  let x = 20260601;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const types = ['signup', 'login', 'search', 'purchase', 'export'];
  const weights = [0.08, 0.4, 0.3, 0.12, 0.1];
  const lastDay = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()) - 86_400_000;
  const rows = ['event_id,occurred_at,user_id,event_type,status,duration_ms'];
  let id = 0;
  for (let d = days - 1; d >= 0; d--) {
    const day = lastDay - d * 86_400_000;
    const n = 150 + Math.floor(rnd() * 100);
    for (let i = 0; i < n; i++) {
      let r = rnd();
      let t = 0;
      while (t < types.length - 1 && r >= weights[t]) r -= weights[t++];
      // the last day's exports fail often: the example alert has something to say
      const errorRate = d === 0 && types[t] === 'export' ? 0.5 : 0.02;
      const at = new Date(day + Math.floor(rnd() * 86_400) * 1000).toISOString().replace('T', ' ').slice(0, 19);
      rows.push(`${++id},${at},u${1 + Math.floor(rnd() * 60)},${types[t]},${rnd() < errorRate ? 'error' : 'ok'},${20 + Math.floor(rnd() * 400)}`);
    }
  }
  return rows.join('\n') + '\n';
}

function blankFiles(name: string, now: Date): Record<string, string> {
  return {
    'project.yaml': `# Vigil project (https://www.npmjs.com/package/vigil-analytics): vigil build loads the sample, builds, tests
name: ${name}
default_target: dev
targets:
  dev:
    type: duckdb
    path: .vigil/dev.duckdb   # embedded, nothing to install
    schema: analytics
`,
    'seeds/sample_events.csv': sampleEvents(now),
    'seeds/sample_events.yml': `# A generated sample, loaded by vigil seed / vigil build into raw.sample_events.
# Replace it with your own data: load your table into the warehouse, point the source in models/sources.yml at it, delete this seed.
seeds:
  - name: sample_events
    description: 30 days of generated app events (the last day's exports fail often).
    config:
      schema: raw
      column_types: { user_id: varchar }
`,
    'models/sources.yml': `sources:
  - name: app
    schema: raw                  # where the raw tables are (here: the sample seed)
    description: Tables of the application (here a generated sample; see seeds/).
    loaded_at_field: occurred_at
    tables:
      - name: events
        identifier: sample_events
        description: One row per user action.
        columns:
          - name: event_id
            data_type: bigint
            tests: [unique, not_null]
          - name: occurred_at
            data_type: timestamptz
          - name: user_id
            data_type: varchar
          - name: event_type
            data_type: varchar
          - name: status
            data_type: varchar
            tests:
              - accepted_values: { values: [ok, error] }
          - name: duration_ms
            data_type: bigint
`,
    'models/events_daily.sql': `{{ config(materialized='table') }}
-- events per day and type, with their error rate and slowest 5 %
select
  {{ to_date('occurred_at') }} as date,
  event_type,
  count(*) as events,
  count(distinct user_id) as users,
  {{ count_if("status = 'error'") }} as errors,
  {{ safe_divide(count_if("status = 'error'"), 'count(*)') }} as error_rate,
  {{ percentile('duration_ms', 0.95) }} as p95_duration_ms
from {{ source('app', 'events') }}
group by 1, 2
`,
    'models/events_daily.yml': `models:
  - name: events_daily
    description: Events per day and type.
    columns:
      - name: date
        data_type: date
        description: UTC day.
        tests: [not_null]
      - name: event_type
        data_type: varchar
        tests: [not_null]
      - name: events
        data_type: bigint
      - name: users
        data_type: bigint
        description: Distinct users that day.
      - name: errors
        data_type: bigint
      - name: error_rate
        data_type: double
        description: errors / events.
        tests:
          - expression_is_true: { expression: "between 0 and 1" }
      - name: p95_duration_ms
        data_type: bigint
        description: The 95th percentile of duration_ms (one of the values).
    tests:
      - unique_combination_of_columns: { combination_of_columns: [date, event_type] }
`,
    'alerts/events.yaml': `# Alert rules: vigil alerts evaluate --dry-run shows what would be sent
alerts:
  - name: error_rate_high
    description: More than 10% of a day's events of one type failed, over at least 10 events.
    severity: warning
    schedule: "*/15 * * * *"
    query: |
      select date, event_type, events, error_rate
      from {{ ref('events_daily') }}
      where date >= {{ dateadd('day', -1, current_date()) }} and events >= 10
    group_by: [event_type]
    condition: { type: threshold, column: error_rate, op: ">", value: 0.1 }
    title: "{{ event_type }} errors"
    summary: "{{ event_type }}: {{ (error_rate * 100) | round(1) }}% of {{ events }} events failed on {{ date }}"
    fields: { Type: "{{ event_type }}", Events: "{{ events }}" }
`,
    'alerts/routes.yaml': ROUTES_YAML,
    'alerts/tests/events_tests.yaml': `# vigil alerts test: the rule on given rows, at given times; nothing is sent
tests:
  - name: fires above 10% errors, quiet below
    alert: error_rate_high
    given:
      ref('events_daily'):
        - { date: 2026-03-10, event_type: export, events: 40, error_rate: 0.5 }
        - { date: 2026-03-10, event_type: login, events: 40, error_rate: 0.02 }
    evaluations:
      - at: 2026-03-10T12:00:00Z
        expect:
          - { labels: { event_type: export }, state: firing }
        notifications:
          - { receiver: slack, action: trigger, labels: { event_type: export }, summary: "export: 50% of 40 events failed" }
`,
    'dashboards/events.json': JSON.stringify(
      {
        name: 'events',
        title: 'Events',
        description: 'What users do, and how often it fails.',
        filters: [{ name: 'date_range', label: 'Date range', type: 'date_range', column: 'date', default: '30d' }],
        tabs: [
          {
            name: 'overview',
            title: 'Overview',
            tiles: [
              { id: 'events_total', type: 'kpi', title: 'Events', model: 'events_daily', measures: [{ name: 'events', column: 'events', agg: 'sum', label: 'Events', format: 'integer' }], layout: { x: 0, y: 0, w: 4, h: 2 } },
              { id: 'error_rate', type: 'kpi', title: 'Error rate', model: 'events_daily', measures: [{ name: 'error_rate', column: 'errors', agg: 'ratio', denominator: 'events', label: 'Error rate', format: 'percent' }], layout: { x: 4, y: 0, w: 4, h: 2 } },
              { id: 'by_type', type: 'line', title: 'Events per day by type', model: 'events_daily', dimensions: [{ column: 'date', role: 'x' }, { column: 'event_type', role: 'series' }], measures: [{ name: 'events', column: 'events', agg: 'sum', label: 'Events', format: 'integer' }], layout: { x: 0, y: 2, w: 12, h: 4 } },
            ],
          },
        ],
      },
      null,
      2,
    ) + '\n',
    '.gitignore': '.vigil/\ntarget/\n',
  };
}

function aiAuditFiles(name: string, alertsDoc: string): Record<string, string> {
  return {
    'project.yaml': `# Vigil project (https://www.npmjs.com/package/vigil-analytics): vigil demo writes the demo logs, vigil build builds and tests
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
        # every column the models read, with its type (vigil check types the source from these)
        columns:
          - name: id
            data_type: bigint
            tests: [not_null, unique]
          - name: workflow_id
            data_type: varchar
            description: The analyst workspace the interaction belongs to.
          - name: capability
            data_type: varchar
            description: Copilot feature invoked; may be NULL.
          - name: response_status
            data_type: varchar
            description: success, error, timeout; NULL when the copilot did not record it.
          - name: response_metadata
            data_type: json
            description: JSON with durationMs, status, token counts; any key may be missing.
          - name: created_at
            data_type: timestamptz
            description: When the interaction happened (UTC).
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
          - expression_is_true: { expression: "between 0 and 1" }
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
    'alerts/events.yaml': `# Alert rules: vigil alerts evaluate --dry-run (see ${alertsDoc})
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
    'alerts/routes.yaml': ROUTES_YAML,
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
    'dashboards/events.json': JSON.stringify(
      {
        name: 'events',
        title: 'Copilot interactions',
        description: 'How much each capability is used, how often it fails, how slow it is.',
        filters: [
          { name: 'date_range', label: 'Date range', type: 'date_range', column: 'date', default: '30d' },
          { name: 'capability', label: 'Capability', type: 'select', column: 'capability' },
        ],
        tabs: [
          {
            name: 'overview',
            title: 'Overview',
            tiles: [
              { id: 'interactions_total', type: 'kpi', title: 'Interactions', model: 'events_daily', measures: [{ name: 'interactions', column: 'interaction_count', agg: 'sum', label: 'Interactions', format: 'integer' }], layout: { x: 0, y: 0, w: 4, h: 2 } },
              { id: 'error_rate', type: 'kpi', title: 'Error rate', model: 'events_daily', measures: [{ name: 'error_rate', column: 'error_count', agg: 'ratio', denominator: 'interaction_count', label: 'Error rate', format: 'percent' }], layout: { x: 4, y: 0, w: 4, h: 2 } },
              { id: 'p95_latency', type: 'kpi', title: 'Slowest day, p95 latency', model: 'events_daily', measures: [{ name: 'p95_latency_ms', column: 'p95_latency_ms', agg: 'max', label: 'p95 latency (ms)', format: 'integer' }], layout: { x: 8, y: 0, w: 4, h: 2 } },
              { id: 'by_capability', type: 'line', title: 'Interactions per day by capability', model: 'events_daily', dimensions: [{ column: 'date', role: 'x' }, { column: 'capability', role: 'series' }], measures: [{ name: 'interactions', column: 'interaction_count', agg: 'sum', label: 'Interactions', format: 'integer' }], layout: { x: 0, y: 2, w: 12, h: 4 } },
            ],
          },
        ],
      },
      null,
      2,
    ) + '\n',
    '.gitignore': '.vigil/\ntarget/\n',
  };
}

/** What each template writes, by path (`root`: the project's folder, which the files' references to Vigil's docs are relative to). */
export function scaffoldFiles(name: string, template: Template = 'blank', now = new Date(), root = process.cwd()): Record<string, string> {
  return template === 'ai-audit' ? aiAuditFiles(name, docRef('alerts.md', root)) : blankFiles(name, now);
}

/**
 * The template's files each file is right only beside (the names, columns and tables it reads):
 * when one of them is already in the folder, the user's, the file is not written either.
 */
const NEEDS: Record<Template, Record<string, string[]>> = {
  blank: {
    // (the seed's YAML types a column of its CSV; a YAML of the user's describes another CSV)
    'seeds/sample_events.csv': ['seeds/sample_events.yml'],
    'seeds/sample_events.yml': ['seeds/sample_events.csv'],
    'models/sources.yml': ['seeds/sample_events.csv'],
    'models/events_daily.sql': ['models/sources.yml', 'models/events_daily.yml'],
    'models/events_daily.yml': ['models/events_daily.sql'],
    'alerts/events.yaml': ['models/events_daily.sql'],
    'alerts/tests/events_tests.yaml': ['alerts/events.yaml', 'alerts/routes.yaml'],
    'dashboards/events.json': ['models/events_daily.sql'],
  },
  'ai-audit': {
    'models/staging/stg_events.sql': ['models/sources.yml'],
    'models/marts/events_daily.sql': ['models/staging/stg_events.sql', 'macros/status.sql', 'models/marts/events_daily.yml'],
    'models/marts/events_daily.yml': ['models/marts/events_daily.sql'],
    'tests/assert_no_future_events.sql': ['models/staging/stg_events.sql'],
    'alerts/events.yaml': ['models/marts/events_daily.sql'],
    'alerts/tests/events_tests.yaml': ['alerts/events.yaml', 'alerts/routes.yaml'],
    'dashboards/events.json': ['models/marts/events_daily.sql'],
  },
};

export interface ScaffoldResult {
  root: string;
  /** the folder held files before */
  existed: boolean;
  /** written */
  files: string[];
  /** there already, left as they were */
  kept: string[];
  /** not written: they need a template file that is kept (`because`), not the user's */
  skipped: Array<{ file: string; because: string }>;
  /** not written: a file of the user's elsewhere in the folder (`by`) is a model, seed or test of that name */
  named: Array<{ file: string; by: string }>;
  /** .gitignore lines added to an existing .gitignore */
  gitignore: string[];
}

/**
 * Write a template into `dir`: a new or empty folder gets all of it; an existing folder (a
 * repository) gets only what it does not have yet, never an overwritten file, and none of the
 * template's files that need one of those it keeps. A folder that is already a Vigil project
 * (project.yaml) is refused.
 */
export function scaffoldProject(dir: string, template: Template = 'blank', now = new Date()): ScaffoldResult {
  if (!(TEMPLATES as readonly string[]).includes(template)) throw new UsageError(`unknown template '${template}': choose ${TEMPLATES.join(' or ')}`);
  const root = resolve(dir);
  if (existsSync(join(root, 'project.yaml'))) throw new UsageError(`${join(root, 'project.yaml')} already exists: this folder is a Vigil project already (vigil init <new dir> starts another)`);
  // the template's models/, seeds/, macros/ would mix into dbt's (and dbt's files fail to compile as Vigil's)
  if (existsSync(join(root, 'dbt_project.yml'))) {
    throw new UsageError(`${join(root, 'dbt_project.yml')} exists: this folder is a dbt project, and the template would mix into its folders (vigil init --from-dbt ${dir} <new dir> converts it into a Vigil project in a new folder)`);
  }
  refuseNested(root);
  const name = basename(root).replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1') || 'vigil_project';
  const files = scaffoldFiles(name, template, now, root);
  const r: ScaffoldResult = { root, existed: existsSync(root) && readdirSync(root).length > 0, files: [], kept: [], skipped: [], named: [], gitignore: [] };
  const kept = new Set(Object.keys(files).filter((rel) => rel !== '.gitignore' && existsSync(join(root, rel))));
  // a template model, seed or singular test whose name a file of the user's in another folder
  // has already (models/staging/events_daily.sql): written, the project would hold two of that
  // name and compile no more; it is left out as a kept file is, with what reads it
  const named = new Map<string, string>();
  const mine = new Map<string, Map<string, string>>();
  for (const rel of Object.keys(files)) {
    if (kept.has(rel)) continue;
    const m = /^(models|seeds|tests)\/(?:.*\/)?([^/]+)\.(sql|csv)$/.exec(rel);
    if (!m || (m[1] === 'seeds') !== (m[3] === 'csv')) continue;
    if (!mine.has(m[1])) mine.set(m[1], userFiles(root, m[1]));
    const by = mine.get(m[1])!.get(`${m[2]}.${m[3]}`.toLowerCase());
    if (by !== undefined && by !== rel) {
      named.set(rel, by);
      kept.add(rel);
    }
  }
  // what a kept file leaves out, and what that leaves out in turn
  const because = new Map<string, string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [rel, needs] of Object.entries(NEEDS[template])) {
      if (kept.has(rel) || because.has(rel)) continue;
      const missing = needs.find((n) => kept.has(n) || because.has(n));
      if (missing === undefined) continue;
      because.set(rel, kept.has(missing) ? missing : because.get(missing)!);
      changed = true;
    }
  }
  makeFolder(root);
  for (const [rel, text] of Object.entries(files)) {
    if (rel === '.gitignore') {
      const gi = ensureIgnored(root, text.split('\n').filter(Boolean));
      if (gi.created) r.files.push(rel);
      r.gitignore.push(...gi.added);
    } else if (named.has(rel)) r.named.push({ file: rel, by: named.get(rel)! });
    else if (kept.has(rel)) r.kept.push(rel);
    else if (because.has(rel)) r.skipped.push({ file: rel, because: because.get(rel)! });
    else {
      const abs = join(root, rel);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, text);
      r.files.push(rel);
    }
  }
  return r;
}

/**
 * The files under `root/folder` as the compile lists them (listFiles), by name in lower case (a
 * model's name is compared without case): the first of each name, as a path from `root`.
 */
function userFiles(root: string, folder: string): Map<string, string> {
  const byName = new Map<string, string>();
  let files: string[] = [];
  try {
    files = listFiles(root, folder, /\.(sql|csv)$/i);
  } catch {
    // (a folder that cannot be read: nothing of it is in the way)
  }
  for (const f of files) {
    const name = f.slice(f.lastIndexOf('/') + 1).toLowerCase();
    if (!byName.has(name)) byName.set(name, f);
  }
  return byName;
}

/**
 * A new project inside a folder an existing Vigil project reads (its models/, macros/, ...):
 * refused, since that project would read the new one's files as its own (a second
 * project.yaml among its models, every model twice). Anywhere else inside it is fine.
 */
export function refuseNested(root: string): void {
  const outer = findProjectRoot(dirname(root));
  if (!outer) return;
  let declared: ProjectFile['paths'];
  try {
    declared = (yamlLib().parse(readFileSync(join(outer, PROJECT_FILE), 'utf8')) as { paths?: ProjectFile['paths'] } | null)?.paths;
  } catch {
    // (a project.yaml that does not parse: its default folders)
  }
  // (only the folders written as text: a project.yaml that is not valid still has its defaults)
  const paths = projectPaths(declared && typeof declared === 'object' ? Object.fromEntries(Object.entries(declared).filter(([, v]) => typeof v === 'string')) : undefined);
  for (const kind of [...SOURCE_FOLDERS, 'target'] as const) {
    const abs = resolve(outer, paths[kind]);
    if (root === abs || root.startsWith(abs + sep)) {
      throw new UsageError(`${root} is inside ${paths[kind]}/ of the Vigil project ${outer}: that project would read the new one's files as its own; give a folder outside its ${kind} folder`);
    }
  }
}
