/**
 * `vigil check`: the shipped and fixture projects pass on every warehouse; seeded mistakes in a
 * scratch copy of the shipped project each fail with the message and the file:line:col a person
 * edits. BigQuery runs Google's analyzer (ZetaSQL) offline; DuckDB an in-memory database;
 * Postgres a rolled-back transaction on the test server.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deserialize } from 'node:v8';
import pg from 'pg';
import { checkDir } from '../../src/cli/check-commands.js';
import { formatDiagnostic } from '../../src/errors.js';
import { ZETA_ANSWERS_FILE } from '../../src/adapters/bigquery/zeta-answers.js';
import { makeProject, removeDir, REPO, vigil } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';

const ENV = { AI_AUDIT_BQ_PROJECT: 'vigil-check' };
let dir: string;

function copyShipped(): string {
  const d = mkdtempSync(join(tmpdir(), 'vigil-check-'));
  for (const p of ['project.yaml', 'models', 'macros', 'tests', 'alerts', 'dashboards']) cpSync(join(REPO, p), join(d, p), { recursive: true });
  return d;
}

/**
 * Apply edits (file -> [search, replacement]), run check, restore the files; the problems as text.
 * `select` checks what a user's `-s` would (the selection, what it reads, its tests, the alerts and
 * tiles that read it): a seeded mistake is found there as in the whole project (the 'passes on the
 * shipped project' cases check the rest), at a fifth of the analyzer's work.
 */
async function withEdits(edits: Record<string, Array<[string | RegExp, string]>>, target: string, select?: string[]): Promise<string[]> {
  const saved = new Map<string, string | undefined>();
  for (const [f, reps] of Object.entries(edits)) {
    const abs = join(dir, f);
    const text = existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
    saved.set(abs, text);
    let next = text ?? '';
    for (const [a, b] of reps) {
      const before = next;
      next = next.replace(a, b);
      if (next === before) throw new Error(`seed did not apply: ${String(a)} in ${f}`);
    }
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, next);
  }
  try {
    const { report } = await checkDir({ projectDir: dir, target, select });
    return report.diagnostics.map(formatDiagnostic);
  } finally {
    for (const [abs, text] of saved) {
      if (text === undefined) rmSync(abs);
      else writeFileSync(abs, text);
    }
  }
}

beforeAll(async () => {
  Object.assign(process.env, ENV);
  dir = copyShipped();
  // one analyzer process for every check of this file (a start costs ~1 s)
  const { keepZetaServer } = await import('../../src/adapters/bigquery/zetasql.js');
  keepZetaServer(true);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const { stopZetaServer } = await import('../../src/adapters/bigquery/zetasql.js');
  await stopZetaServer(true);
});

describe('vigil check passes on the shipped and fixture projects', () => {
  it.each([
    ['shipped', 'dev', /OK: 23 models, \d+ tests, 11 alert queries, \d+ tile queries/],
    ['shipped', 'prod', /OK: 23 models, \d+ tests, 11 alert queries, \d+ tile queries/],
    ['fixture', 'dev', /OK: 5 models, 9 tests/],
    ['fixture', 'bq', /OK: 5 models, 9 tests/],
  ])('%s project, target %s (the CLI, as a user runs it)', (project, target, expected) => {
    const cwd = project === 'shipped' ? dir : join(REPO, 'test/fixtures/projects/golden');
    const r = vigil(cwd, ['check', '--target', target], ENV);
    expect(r.stdout + r.stderr).toMatch(expected);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

/** Each seeded mistake: the edit, and the first line of the report it must produce. */
const BIGQUERY_CASES: Array<[string, Record<string, Array<[string | RegExp, string]>>, string | RegExp]> = [
  ['unknown column', { 'models/marts/ai_cost_daily.sql': [['  model,\n', '  modle,\n']] }, 'models/marts/ai_cost_daily.sql:5:3: error: Unrecognized name: modle'],
  // ZetaSQL's columns move a tab to the next multiple of 8 (5:17); Vigil's, like the DuckDB and Postgres checks' and an editor's, count it as one
  ['unknown column after tabs (was: the column of a tab expanded to 8, 5:17)', { 'models/marts/ai_cost_daily.sql': [['  model,\n', '\t\tmodle,\n']] }, 'models/marts/ai_cost_daily.sql:5:3: error: Unrecognized name: modle'],
  [
    'renamed upstream column',
    // renamed in the model and its YAML, not in what reads it
    { 'models/staging/stg_audit_trails.sql': [['as occurred_date,', 'as occurred_day,']], 'models/staging/staging.yml': [['- name: occurred_date', '- name: occurred_day']] },
    /models\/marts\/ai_cost_daily\.sql:4:3: error: Unrecognized name: occurred_date/,
  ],
  ['TIMESTAMP compared with DATETIME', { 'models/marts/ai_cost_daily.sql': [['group by occurred_date, model', "where occurred_at > datetime '2026-01-01 00:00:00'\ngroup by occurred_date, model"]] }, /models\/marts\/ai_cost_daily\.sql:16:7: error: No matching signature for operator > for argument types: TIMESTAMP, DATETIME/],
  ['DATE compared with TIMESTAMP', { 'models/marts/ai_cost_daily.sql': [['group by occurred_date, model', 'where occurred_date = occurred_at\ngroup by occurred_date, model']] }, /models\/marts\/ai_cost_daily\.sql:16:7: error: No matching signature for operator = for argument types: DATE, TIMESTAMP/],
  ['SUM over a STRING', { 'models/marts/ai_cost_daily.sql': [['sum(prompt_tokens) as prompt_tokens', 'sum(model) as prompt_tokens']] }, /models\/marts\/ai_cost_daily\.sql:8:3: error: No matching signature for aggregate function SUM for argument types: STRING/],
  ['a column neither grouped nor aggregated', { 'models/marts/ai_cost_daily.sql': [['  model,\n', '  model,\n  project_id,\n']] }, /models\/marts\/ai_cost_daily\.sql:6:3: error: SELECT list expression references column project_id which is neither grouped nor aggregated/],
  ['JSON compared with a number', { 'models/staging/stg_audit_trails.sql': [["from {{ source('raw', 'audit_trails') }}", "from {{ source('raw', 'audit_trails') }}\nwhere tokens = 1"]] }, /models\/staging\/stg_audit_trails\.sql:18:7: error: No matching signature for operator = for argument types: JSON, INT64/],
  [
    'MERGE values of the wrong type',
    { 'models/marts/ai_audit_daily.sql': [['  provider,\n  count(*)', '  {% if is_incremental() %}length(provider){% else %}provider{% endif %} as provider,\n  count(*)']] },
    // insert_overwrite: the MERGE inserts the new INT64 into the table's STRING column (was a merge on
    // a unique key holding provider: its ON compared them, "No matching signature for operator =")
    /models\/marts\/ai_audit_daily\.sql:1:4: error: Value has type INT64 which cannot be inserted into column provider, which has type STRING.* \(line \d+:\d+ of the statement Vigil sends\)/,
  ],
  ['a UDF called with the wrong argument type', { 'models/marts/ai_cost_daily.sql': [['sum(total_tokens) as total_tokens', '`vigil_internal`.median(array_agg(length(model))) as total_tokens']] }, /models\/marts\/ai_cost_daily\.sql:10:3: error: No matching signature for function .*median.* ARRAY<INT64>/i],
  ['an ambiguous column in a join', { 'models/marts/ai_audit_workspace_stats.sql': [['  l.workspace_id,\n  l.created_date as date,', '  workflow_id,\n  l.created_date as date,']] }, /models\/marts\/ai_audit_workspace_stats\.sql:4:3: error: Column name workflow_id is ambiguous/],
  ['an aggregate percentile (BigQuery has only the analytic one)', { 'models/marts/ai_cost_daily.sql': [['sum(total_tokens) as total_tokens', 'percentile_cont(total_tokens, 0.5) as total_tokens']] }, /models\/marts\/ai_cost_daily\.sql:10:3: error: PERCENTILE_CONT is only an analytic function in BigQuery/],
  [
    'TABLESAMPLE BERNOULLI (was: passed; ZetaSQL resolves any sampling method, BigQuery samples with SYSTEM (n PERCENT) only)',
    { 'models/marts/ai_cost_daily.sql': [["from {{ ref('stg_audit_trails') }}", "from {{ ref('stg_audit_trails') }} tablesample bernoulli (10 percent)"]] },
    /^models\/marts\/ai_cost_daily\.sql:15:36: error: TABLESAMPLE BERNOULLI is not BigQuery's: it samples with SYSTEM only/,
  ],
  [
    'TABLESAMPLE of a subquery (was: passed; BigQuery samples tables only)',
    { 'models/marts/ai_cost_daily.sql': [["from {{ ref('stg_audit_trails') }}", "from (select * from {{ ref('stg_audit_trails') }})\n  tablesample system (10 percent)"]] },
    /^models\/marts\/ai_cost_daily\.sql:16:3: error: BigQuery samples tables only: TABLESAMPLE of a subquery or WITH query is refused/,
  ],
  [
    "TABLESAMPLE of a view model (was: passed; BigQuery samples tables only); SYSTEM (n PERCENT) of the source table it reads passes",
    {
      'models/staging/stg_audit_trails.sql': [["from {{ source('raw', 'audit_trails') }}", "from {{ source('raw', 'audit_trails') }} tablesample system (10 percent)"]],
      'models/marts/ai_cost_daily.sql': [["from {{ ref('stg_audit_trails') }}", "from {{ ref('stg_audit_trails') }} tablesample system (10 percent)"]],
    },
    /^models\/marts\/ai_cost_daily\.sql:15:36: error: BigQuery samples tables only: vigil-check\.analytics\.stg_audit_trails is a view/,
  ],
  [
    'TABLESAMPLE of ROWS (was: passed; BigQuery samples by PERCENT only)',
    { 'models/marts/ai_cost_daily.sql': [["from {{ ref('stg_audit_trails') }}", "from {{ ref('stg_audit_trails') }}\nwhere model in (select model from {{ ref('stg_audit_trails') }} tablesample system (5 rows))"]] },
    /^models\/marts\/ai_cost_daily\.sql:16:65: error: TABLESAMPLE SYSTEM takes a percentage in BigQuery \(n PERCENT\), not ROWS/,
  ],
  ['a declared column type the model does not produce (contract)', { 'models/marts/marts.yml': [[/(- name: ai_cost_daily[\s\S]*?- name: message_count\n\s+data_type: )bigint/, '$1double']] }, /models\/marts\/marts\.yml:\d+:\d+: error: model ai_cost_daily: column 'message_count' is declared double but the model produces INT64 \[E_CONTRACT\]/],
  ['a source column without a data_type', { 'models/sources.yml': [[/(- name: model\n)\s+data_type: varchar\n/, '$1']] }, /models\/sources\.yml:\d+:\d+: error: source raw\.\w+: column 'model' has no data_type/],
  ['partitioning on a STRING column', { 'models/marts/ai_cost_daily.sql': [["materialized='table'", "materialized='table', partition_by='model'"]] }, /models\/marts\/ai_cost_daily\.sql:1:33: error: partition_by: BigQuery partitions by a DATE, TIMESTAMP, DATETIME or INT64 column; 'model' is STRING/],
  ['five clustering columns', { 'models/marts/ai_cost_daily.sql': [["materialized='table'", "materialized='table', cluster_by=['date', 'model', 'message_count', 'project_count', 'prompt_tokens']"]] }, /models\/marts\/ai_cost_daily\.sql:1:33: error: cluster_by: BigQuery clusters by at most four columns, got 5/],
  ['clustering on a misspelt column', { 'models/marts/ai_cost_daily.sql': [["materialized='table'", "materialized='table', cluster_by=['modle']"]] }, /models\/marts\/ai_cost_daily\.sql:1:33: error: cluster_by: column 'modle' is not in the model's output — did you mean 'model'\? \(it has date, model, /],
  ['clustering on a FLOAT64 column', { 'models/marts/ai_cost_daily.sql': [["materialized='table'", "materialized='table', cluster_by=['prompt_tokens']"]] }, /cluster_by: BigQuery cannot cluster by 'prompt_tokens', a FLOAT64 column/],
  [
    'a clustered table from a query ending in ORDER BY (was: passed; BigQuery refuses it: "Result of ORDER BY queries cannot be clustered")',
    { 'models/marts/ai_cost_daily.sql': [["materialized='table'", "materialized='table', cluster_by=['model']"], ['group by occurred_date, model', 'group by occurred_date, model\norder by occurred_date']] },
    /^models\/marts\/ai_cost_daily\.sql:17:1: error: the model's query ends in ORDER BY, and its table is clustered: BigQuery refuses to build a clustered table from an ordered result/,
  ],
  [
    'a partitioned table from a query ending in ORDER BY (was: passed; BigQuery refuses it: "Result of ORDER BY queries cannot be partitioned by field")',
    { 'models/marts/ai_cost_daily.sql': [["materialized='table'", "materialized='table', partition_by='date'"], ['group by occurred_date, model', 'group by occurred_date, model\norder by 1, 2']] },
    /^models\/marts\/ai_cost_daily\.sql:17:1: error: the model's query ends in ORDER BY, and its table is partitioned: /,
  ],
  [
    'reading a require_partition_filter table without a partition filter',
    {
      'models/marts/ai_cost_daily.sql': [["materialized='table'", "materialized='table', partition_by={'field': 'date', 'data_type': 'date'}, require_partition_filter=true"]],
      'tests/cost_has_a_model.sql': [[/^$/, "-- reads ai_cost_daily without a filter on its partition column\nselect *\nfrom {{ ref('ai_cost_daily') }}\nwhere model is null\n"]],
    },
    /^tests\/cost_has_a_model\.sql:3:6: error: test cost_has_a_model: vigil-check\.analytics\.ai_cost_daily requires a partition filter \(require_partition_filter\): BigQuery refuses to read it without a WHERE on 'date'/,
  ],
  [
    'a column name with a prefix BigQuery reserves, in any case (was: passed; BigQuery refuses the table)',
    { 'models/marts/ai_cost_daily.sql': [['  sum(total_tokens) as total_tokens,\n', '  sum(total_tokens) as total_tokens,\n  count(*) as _Partition_rows,\n']] },
    /^models\/marts\/ai_cost_daily\.sql:11:15: error: column '_Partition_rows': BigQuery refuses a column name that starts with _PARTITION, a prefix it reserves \(in any case\)/,
  ],
  [
    'a _CHANGE_TYPE column in an incremental model',
    { 'models/marts/ai_audit_daily.sql': [['  provider,\n  count(*)', '  provider,\n  provider as _change_type,\n  count(*)']] },
    /^models\/marts\/ai_audit_daily\.sql:\d+:\d+: error: column '_change_type': BigQuery refuses a column name that starts with _CHANGE_TYPE/,
  ],
  [
    'a column name longer than 300 characters',
    { 'models/marts/ai_cost_daily.sql': [['  sum(total_tokens) as total_tokens,\n', `  count(*) as ${'n'.repeat(301)},\n  sum(total_tokens) as total_tokens,\n`]] },
    /^models\/marts\/ai_cost_daily\.sql:10:15: error: column 'n{60}\.\.\.': BigQuery takes column names of at most 300 characters; this one has 301/,
  ],
  ['a character BigQuery refuses in a column name', { 'models/marts/ai_cost_daily.sql': [['sum(total_tokens) as total_tokens', 'sum(total_tokens) as total_tokens, count(*) as `rows (all)`']] }, /^models\/marts\/ai_cost_daily\.sql:10:\d+: error: column 'rows \(all\)': BigQuery refuses '\(' in a column name/],
  ["a seed's CSV header that BigQuery refuses as a column name", { 'seeds/codes.csv': [[/^$/, 'code,_FILE_NAME\n1,a\n']] }, /^seeds\/codes\.csv:1:6: error: seed 'codes': column '_file_name': BigQuery refuses a column name that starts with _FILE_/],
  ['an alert window whose ends differ in type', { 'alerts/ai_audit.yaml': [["{{ to_date(dateadd('day', 1, 'date')) }} as window_end", "{{ dateadd('day', 1, 'date') }} as window_end"]] }, /alerts\/ai_audit\.yaml:28:7: error: alert ai_audit_volume_spike: window_start is DATE but window_end is DATETIME/],
];

/**
 * The `-s` of a seeded case: the model the mistake is in (a mistake upstream is found in what
 * reads it: the selection's check includes what it reads). Cases not named here check the whole
 * project (a source's or an alert's mistake).
 */
const CASE_SELECT: Record<string, string[]> = {
  'unknown column': ['ai_cost_daily'],
  'unknown column after tabs (was: the column of a tab expanded to 8, 5:17)': ['ai_cost_daily'],
  'renamed upstream column': ['ai_cost_daily'],
  'TIMESTAMP compared with DATETIME': ['ai_cost_daily'],
  'DATE compared with TIMESTAMP': ['ai_cost_daily'],
  'SUM over a STRING': ['ai_cost_daily'],
  'a column neither grouped nor aggregated': ['ai_cost_daily'],
  'JSON compared with a number': ['stg_audit_trails'],
  'MERGE values of the wrong type': ['ai_audit_daily'],
  'a UDF called with the wrong argument type': ['ai_cost_daily'],
  'an ambiguous column in a join': ['ai_audit_workspace_stats'],
  'an aggregate percentile (BigQuery has only the analytic one)': ['ai_cost_daily'],
  'TABLESAMPLE BERNOULLI (was: passed; ZetaSQL resolves any sampling method, BigQuery samples with SYSTEM (n PERCENT) only)': ['ai_cost_daily'],
  'TABLESAMPLE of a subquery (was: passed; BigQuery samples tables only)': ['ai_cost_daily'],
  'TABLESAMPLE of ROWS (was: passed; BigQuery samples by PERCENT only)': ['ai_cost_daily'],
  "TABLESAMPLE of a view model (was: passed; BigQuery samples tables only); SYSTEM (n PERCENT) of the source table it reads passes": ['ai_cost_daily'],
  'a declared column type the model does not produce (contract)': ['ai_cost_daily'],
  'partitioning on a STRING column': ['ai_cost_daily'],
  'five clustering columns': ['ai_cost_daily'],
  'clustering on a misspelt column': ['ai_cost_daily'],
  'clustering on a FLOAT64 column': ['ai_cost_daily'],
  'a clustered table from a query ending in ORDER BY (was: passed; BigQuery refuses it: "Result of ORDER BY queries cannot be clustered")': ['ai_cost_daily'],
  'a partitioned table from a query ending in ORDER BY (was: passed; BigQuery refuses it: "Result of ORDER BY queries cannot be partitioned by field")': ['ai_cost_daily'],
  'reading a require_partition_filter table without a partition filter': ['ai_cost_daily'],
  'a column name with a prefix BigQuery reserves, in any case (was: passed; BigQuery refuses the table)': ['ai_cost_daily'],
  'a _CHANGE_TYPE column in an incremental model': ['ai_audit_daily'],
  'a column name longer than 300 characters': ['ai_cost_daily'],
  'a character BigQuery refuses in a column name': ['ai_cost_daily'],
  'a source column without a data_type': ['stg_ai_audit_logs'],
  "a seed's CSV header that BigQuery refuses as a column name": ['codes'],
};

describe("vigil check on BigQuery (Google's analyzer): seeded mistakes, each at its file:line:col", () => {
  it('every case CASE_SELECT names is a case', () => {
    const names = new Set(BIGQUERY_CASES.map(([n]) => n));
    expect(Object.keys(CASE_SELECT).filter((n) => !names.has(n))).toEqual([]);
  });

  it.each(BIGQUERY_CASES)('%s', async (name, edits, expected) => {
    const problems = await withEdits(edits, 'prod', CASE_SELECT[name]);
    expect(problems.length, problems.join('\n')).toBeGreaterThan(0);
    const hit = problems.find((p) => (typeof expected === 'string' ? p.startsWith(expected) : expected.test(p)));
    expect(hit, `expected ${String(expected)} among:\n${problems.join('\n')}`).toBeDefined();
  });

  it("a check of a selection (-s) ages none of the analyzer's kept answers: the whole project's stay for its next check (was: five -s checks dropped them, and the next whole check asked them all again)", async () => {
    const file = join(dir, ZETA_ANSWERS_FILE);
    const stored = () => deserialize(readFileSync(file)) as { run: number; entries: Array<[string, unknown]> };
    // each a question not asked before (the file is written only then)
    const edit = (n: number) => ({ 'models/marts/ai_cost_daily.sql': [['  model,\n', `  model,\n  ${n} as seeded_${n},\n`]] as Array<[string, string]> });
    await withEdits(edit(1), 'prod', ['ai_cost_daily']);
    const before = stored();
    await withEdits(edit(2), 'prod', ['ai_cost_daily']);
    const after = stored();
    expect(after.run).toBe(before.run);
    const kept = new Set(after.entries.map(([k]) => k));
    expect(before.entries.filter(([k]) => !kept.has(k))).toEqual([]);
    expect(after.entries.length).toBeGreaterThan(before.entries.length);
  });

  it.each(['prod', 'dev'])('models whose last line is a comment check clean on %s (the statement builders append after the SQL)', async (target) => {
    const note: [RegExp, string] = [/\s*$/, '\n-- a trailing note (# and --) with no newline after it'];
    // an incremental model (MERGE), a table, a view, and a singular test
    const edits = { 'models/marts/ai_audit_daily.sql': [note], 'models/marts/ai_cost_daily.sql': [note], 'models/staging/stg_audit_trails.sql': [note], 'tests/cost_has_a_model.sql': [[/^$/, "select * from {{ ref('ai_cost_daily') }} where model is null -- none"] as [RegExp, string]] };
    // (their -s: the selection, its tests, and the alerts and tiles that read it)
    expect(await withEdits(edits, target, ['ai_audit_daily', 'ai_cost_daily', 'stg_audit_trails'])).toEqual([]);
  });

  it('one problem per root cause: what reads a broken model is not checked again', async () => {
    const problems = await withEdits({ 'models/staging/stg_ai_audit_logs.sql': [['  model,\n', '  modle,\n']] }, 'prod');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^models\/staging\/stg_ai_audit_logs\.sql:10:3: error: Unrecognized name: modle/);
  });

  it('require_partition_filter: a filter above a CTE counts, a view or an ephemeral model may read the table unfiltered', async () => {
    const cfg = "materialized='table', partition_by={'field': 'date', 'data_type': 'DATE'}, require_partition_filter=true";
    const ok = await withEdits(
      {
        'models/marts/ai_cost_daily.sql': [["materialized='table'", cfg]],
        'models/marts/cost_cte.sql': [[/^$/, "{{ config(materialized='table') }}\nwith c as (select * from {{ ref('ai_cost_daily') }})\nselect model, sum(message_count) as n from c where date >= '2026-01-01' group by model\n"]],
        'models/marts/cost_view.sql': [[/^$/, "{{ config(materialized='view') }}\nselect * from {{ ref('ai_cost_daily') }}\n"]],
        'models/marts/cost_eph.sql': [[/^$/, "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('ai_cost_daily') }}\n"]],
        'models/marts/cost_uses_eph.sql': [[/^$/, "{{ config(materialized='table') }}\nselect model from {{ ref('cost_eph') }} where date is not null\n"]],
      },
      'prod',
      ['cost_cte', 'cost_view', 'cost_uses_eph'],
    );
    expect(ok).toEqual([]);
    const unfiltered = await withEdits(
      {
        'models/marts/ai_cost_daily.sql': [["materialized='table'", cfg]],
        'models/marts/cost_cte.sql': [[/^$/, "{{ config(materialized='table') }}\nwith c as (select * from {{ ref('ai_cost_daily') }})\nselect a.model from c as a join c as b on a.model = b.model where a.date >= '2026-01-01'\n"]],
      },
      'prod',
      ['cost_cte'],
    );
    // one of the two reads of the CTE has no filter above it
    expect(unfiltered.join('\n')).toMatch(/^models\/marts\/cost_cte\.sql:2:\d+: error: vigil-check\.analytics\.ai_cost_daily requires a partition filter/m);
  });

  it('require_partition_filter: a filter counts when one of its ANDed predicates names the partition column alone, as BigQuery documents (was: any filter naming it, `date >= x OR model = y` too)', async () => {
    const cfg = "materialized='table', partition_by={'field': 'date', 'data_type': 'DATE'}, require_partition_filter=true";
    const reader = (where: string) => ({
      'models/marts/ai_cost_daily.sql': [["materialized='table'", cfg]] as Array<[string, string]>,
      'models/marts/cost_reader.sql': [[/^$/, `{{ config(materialized='table') }}\nselect model\nfrom {{ ref('ai_cost_daily') }}\nwhere ${where}\n`]] as Array<[RegExp, string]>,
    });
    for (const where of ["date >= '2026-01-01' or model = 'x'", "model = 'x' and (date >= '2026-01-01' or message_count > 1)", 'date_diff(current_date(), date, day) < message_count']) {
      const problems = await withEdits(reader(where), 'prod', ['cost_reader']);
      expect(problems.join('\n'), where).toMatch(/^models\/marts\/cost_reader\.sql:3:6: error: vigil-check\.analytics\.ai_cost_daily requires a partition filter/m);
    }
    for (const where of ["model = 'x' and date >= '2026-01-01'", "(date is null or date >= '2026-01-01') and (model = 'x' or message_count > 1)", "date between '2026-01-01' and '2026-02-01'", `date in (select max(date) from {{ ref('ai_cost_daily') }} where date >= '2026-01-01')`]) {
      expect(await withEdits(reader(where), 'prod', ['cost_reader']), where).toEqual([]);
    }
  });

  it('a config the statement builders would refuse is an error at its line from the compile, before anything is checked, not a crash', async () => {
    await expect(withEdits({ 'models/marts/ai_audit_daily.sql': [["    partition_by={'field': 'date', 'data_type': 'date'},\n", '']] }, 'prod')).rejects.toThrow(
      /^models\/marts\/ai_audit_daily\.sql:\d+:\d+: error: model 'ai_audit_daily': incremental_strategy 'insert_overwrite' replaces the partitions the new rows touch, so it needs partition_by \[E_CONFIG\]/m,
    );
  });

  it('-s checks the selection, what it reads, its tests, and the alerts and tiles that read it', async () => {
    const all = (await checkDir({ projectDir: dir, target: 'prod' })).report.counts;
    const { report } = await checkDir({ projectDir: dir, target: 'prod', select: ['stg_workflows'] });
    expect(report.diagnostics).toEqual([]);
    // stg_workflows, and the models of the tests that read it (relationships to it)
    expect(report.counts).toMatchObject({ alerts: 0, tiles: 0 });
    expect(report.counts.models).toBeLessThan(all.models);
    expect(report.counts.tests).toBeGreaterThan(0);
    expect(report.counts.tests).toBeLessThan(all.tests);
    // what reads ai_cost_daily: its tests, the singular test over every mart (and so every mart), its tiles
    const cost = (await checkDir({ projectDir: dir, target: 'prod', select: ['ai_cost_daily'] })).report.counts;
    expect(cost.tiles).toBeGreaterThan(0);
    expect(cost.tiles).toBeLessThan(all.tiles);
    expect(cost.alerts).toBe(0);
    const daily = (await checkDir({ projectDir: dir, target: 'prod', select: ['ai_audit_daily'] })).report.counts;
    expect(daily.alerts).toBeGreaterThan(0);
    expect(daily.alerts).toBeLessThan(all.alerts);
  });

  it("OPTIONS values are type-checked against BigQuery's option list (Vigil's own DDL only emits typed ones)", async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const a = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 't'], [{ name: 'day', type: typeBuilders(srv.z).DATE }]), lo);
    const ddl = (opts: string) => a.analyze(`CREATE OR REPLACE TABLE p.d.x\nPARTITION BY day\nOPTIONS(${opts})\nAS SELECT day FROM p.d.t`);
    expect(await ddl("partition_expiration_days='soon'")).toMatchObject({ ok: false, line: 3, message: expect.stringMatching(/Option partition_expiration_days value has type STRING which cannot be coerced to expected type FLOAT64/) });
    expect(await ddl('require_partition_filter=1')).toMatchObject({ ok: false, message: expect.stringMatching(/require_partition_filter .* BOOL/) });
    expect(await ddl('no_such_option=true')).toMatchObject({ ok: false, message: expect.stringMatching(/Unknown option: no_such_option/) });
    expect(await ddl("partition_expiration_days=30, description='x', labels=[('team', 'data')]")).toMatchObject({ ok: true });
    await a.release();
  });

  it('the script an incremental run with on_schema_change append_new_columns sends (DECLARE, ALTER TABLE ADD COLUMN, MERGE / INSERT) passes the analyzer; the same write without the added columns does not', async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const { BigQueryAdapter } = await import('../../src/adapters/bigquery/bigquery-adapter.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    // the table as it is after the ALTER (the analyzer does not apply DDL to its catalog); the source as the model selects
    const cols = [
      { name: 'day', type: T.DATE }, { name: 'k', type: T.STRING }, { name: 'n', type: T.INT64 },
      { name: 'tags', type: T.ARRAY(T.STRING) }, { name: 'meta', type: T.STRUCT({ a: T.INT64, ok: T.BOOL }) }, { name: 'cost', type: T.NUMERIC },
    ];
    const a = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 'grow'], cols).addTable(['p', 'd', 'src'], cols), lo);
    const bq = new BigQueryAdapter({} as never, { type: 'bigquery', project: 'p', dataset: 'd' } as never);
    const added = [{ name: 'tags', type: 'STRING', mode: 'REPEATED' }, { name: 'meta', type: 'RECORD', fields: [{ name: 'a', type: 'INTEGER' }, { name: 'ok', type: 'BOOLEAN' }] }, { name: 'cost', type: 'NUMERIC' }];
    const req = (over: object) => ({ kind: 'incremental' as const, relation: { database: 'p', schema: 'd', identifier: 'grow' }, sql: 'select 1', incrementalSql: 'SELECT * FROM `p`.`d`.`src`', fullRefresh: false, onSchemaChange: 'append_new_columns' as const, ...over });
    const names = cols.map((c) => c.name);
    for (const over of [{ uniqueKey: ['day', 'k'], config: { partition_by: { field: 'day', data_type: 'date' } } }, { strategy: 'insert_overwrite' as const, config: { partition_by: { field: 'day', data_type: 'date' } } }, {}]) {
      const script = bq.incrementalStatement(req(over), names, added);
      expect(script).toContain('ADD COLUMN IF NOT EXISTS `meta` STRUCT<`a` INT64, `ok` BOOL>');
      expect(await a.script(script), script).toMatchObject({ ok: true });
    }
    // the analyzer checks the write's columns for real: against the table as it was before the ALTER, the MERGE is refused
    const before = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 'grow'], cols.slice(0, 3)).addTable(['p', 'd', 'src'], cols), lo);
    const merge = bq.incrementalStatement(req({ uniqueKey: ['day', 'k'] }), names, added);
    expect(await before.script(merge)).toMatchObject({ ok: false, message: expect.stringMatching(/tags/) });
    // so are the writes inside the BEGIN ... END block, reading the script's temp table (here without their ALTER)
    for (const over of [{ uniqueKey: ['day', 'k'], config: { partition_by: { field: 'day', data_type: 'date' } } }, { strategy: 'insert_overwrite' as const, config: { partition_by: { field: 'day', data_type: 'date' } } }]) {
      const script = bq.incrementalStatement(req(over), names);
      expect(script).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS \(\nSELECT \* FROM `p`\.`d`\.`src`\n\);\nBEGIN\nDECLARE /);
      expect(await before.script(script), script).toMatchObject({ ok: false, message: expect.stringMatching(/tags/) });
      expect(await a.script(script), script).toMatchObject({ ok: true });
    }
    await a.release();
  });
  it("insert_overwrite with new rows of a NULL partition value: the DECLARE's array holds no NULL (BigQuery fails the job on 'Array cannot have a null element'), the rows are inserted and the table's NULL-partition rows kept; with no partition to replace, no MERGE (Google's reference implementation evaluates the script's expressions)", async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const { BigQueryAdapter } = await import('../../src/adapters/bigquery/bigquery-adapter.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const cols = [{ name: 'day', type: T.DATE }, { name: 'n', type: T.INT64 }];
    const cat = new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 't'], cols).addTable(['s'], cols);
    const bq = new BigQueryAdapter({} as never, { type: 'bigquery', project: 'p', dataset: 'd' } as never);
    const script = bq.incrementalStatement({ kind: 'incremental', relation: { database: 'p', schema: 'd', identifier: 't' }, sql: 'select 1', incrementalSql: 'SELECT * FROM s', strategy: 'insert_overwrite', fullRefresh: false, config: { partition_by: 'day' } }, ['day', 'n']);
    const a = new ZetaAnalyzer(srv, cat, lo);
    expect(await a.script(script), script).toMatchObject({ ok: true });
    await a.release();
    // the MERGE when the condition holds, else the new rows inserted as they are
    // the new rows from one evaluation of the model's SQL, in the script's temp table, which both the partitions and the write read
    expect(script).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS \(\nSELECT \* FROM s\n\);\nBEGIN\nDECLARE vigil_partitions DEFAULT \(SELECT ARRAY_AGG\(DISTINCT `day` IGNORE NULLS\) FROM vigil_new_rows\);\n/);
    expect(script).toMatch(/\nIF (.+) THEN\nMERGE `p`\.`d`\.`t` AS T\nUSING vigil_new_rows AS S\nON FALSE\nWHEN NOT MATCHED BY SOURCE AND T\.`day` IN UNNEST\(vigil_partitions\) THEN DELETE\nWHEN NOT MATCHED THEN INSERT [^;]*;\nELSE\nINSERT INTO `p`\.`d`\.`t` \(`day`, `n`\)\nSELECT `day`, `n` FROM vigil_new_rows;\nEND IF;\nEND$/);
    const partitions = /\nDECLARE vigil_partitions DEFAULT (\(SELECT [^\n]*\));\n/.exec(script)![1];
    const merges = /\nIF (.+) THEN\n/.exec(script)![1].replace('vigil_partitions', partitions);
    const api = (srv.z.ZetaSQLClient as { API: Record<string, (r: unknown, cb: (e: unknown, a: unknown) => void) => void> }).API;
    const day = (d: string | null) => (d === null ? {} : { dateValue: Date.parse(d) / 86_400_000 });
    const evaluate = (sql: string, days: Array<string | null>) =>
      new Promise<Array<Record<string, unknown>>>((res, rej) =>
        api.evaluateQuery({ sql, options: { languageOptions: lo }, simpleCatalog: cat.clone().addTable(['vigil_new_rows'], cols).toProto(), tableContent: { vigil_new_rows: { tableData: { row: days.map((d, i) => ({ cell: [day(d), { int64Value: String(i) }] })) } } } }, (e, r) =>
          e ? rej(e) : res((r as { content: { tableData: { row: Array<{ cell: Array<Record<string, unknown>> }> } } }).content.tableData.row[0].cell),
        ),
      );
    // a day and a NULL: the array holds the day alone, and the MERGE runs
    const [arr, merge] = await evaluate(`SELECT ${partitions}, ${merges}`, ['2024-01-01', null, '2024-01-01']);
    expect((arr.arrayValue as { element: unknown[] }).element).toEqual([expect.objectContaining(day('2024-01-01'))]);
    expect(merge).toMatchObject({ boolValue: true });
    // the MERGE's ON FALSE inserts every new row; a stored row whose partition value is NULL is never IN the array: kept
    expect((await evaluate(`SELECT (CAST(NULL AS DATE) IN UNNEST(${partitions})) IS TRUE`, ['2024-01-01', null]))[0]).toMatchObject({ boolValue: false });
    // only NULLs, or no new rows: nothing to replace, no MERGE (which would read the table's partitions)
    expect((await evaluate(`SELECT ${merges}`, [null, null]))[0]).toMatchObject({ boolValue: false });
    expect((await evaluate(`SELECT ${merges}`, []))[0]).toMatchObject({ boolValue: false });
  });

  it("a merge's key check, evaluated by Google's reference implementation on the new rows: the count of rows whose key holds a NULL (single and composite keys, one part NULL), ERROR naming how many keys more than one new row holds and one of them (was: none — a NULL key inserted again on every run without a word, a new key held twice inserted twice); the script passes the analyzer", async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const { BigQueryAdapter } = await import('../../src/adapters/bigquery/bigquery-adapter.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const cols = [{ name: 'k', type: T.STRING }, { name: 'j', type: T.INT64 }, { name: 'v', type: T.INT64 }];
    const cat = new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 't'], cols).addTable(['s'], cols);
    const bq = new BigQueryAdapter({} as never, { type: 'bigquery', project: 'p', dataset: 'd' } as never);
    const req = (uniqueKey: string[], config = {}) => ({ kind: 'incremental' as const, relation: { database: 'p', schema: 'd', identifier: 't' }, sql: 'select 1', incrementalSql: 'SELECT * FROM s', uniqueKey, strategy: 'merge' as const, fullRefresh: false, config });
    const api = (srv.z.ZetaSQLClient as { API: Record<string, (r: unknown, cb: (e: unknown, a: unknown) => void) => void> }).API;
    const cell = (v: string | number | null) => (v === null ? {} : typeof v === 'number' ? { int64Value: String(v) } : { stringValue: v });
    const evaluate = (sql: string, rows: Array<[string | null, number | null]>) =>
      new Promise<unknown>((res, rej) =>
        api.evaluateQuery({ sql, options: { languageOptions: lo }, simpleCatalog: cat.clone().addTable(['vigil_new_rows'], cols).toProto(), tableContent: { vigil_new_rows: { tableData: { row: rows.map(([k, j], i) => ({ cell: [cell(k), cell(j), cell(i)] })) } } } }, (e, r) =>
          e ? rej(e) : res(String((r as { content: { tableData: { row: Array<{ cell: Array<Record<string, unknown>> }> } } }).content.tableData.row[0].cell[0].int64Value)),
        ),
      );
    for (const [keys, config] of [[['k'], {}], [['k', 'j'], {}], [['k', 'j'], { partition_by: { field: 'j', data_type: 'int64', range: { start: 0, end: 10, interval: 1 } } }]] as const) {
      const script = bq.incrementalStatement(req([...keys], config), ['k', 'j', 'v']);
      const a = new ZetaAnalyzer(srv, cat, lo);
      expect(await a.script(script), script).toMatchObject({ ok: true });
      await a.release();
      // the check before the MERGE, the count the script's result
      expect(script).toMatch(/^CREATE TEMP TABLE vigil_new_rows AS \(\nSELECT \* FROM s\n\);\nBEGIN\nDECLARE vigil_null_keys DEFAULT \(SELECT IF\(/);
      expect(script).toMatch(/\nELSE\nMERGE `p`\.`d`\.`t` AS T\nUSING vigil_new_rows AS S\n[^;]*;\nEND IF;\nSELECT vigil_null_keys AS vigil_null_keys, [^\n]*;\nEND$/);
    }
    const check = (keys: string[]) => /\nDECLARE vigil_null_keys DEFAULT (\(SELECT [^\n]*\));\n/.exec(bq.incrementalStatement(req(keys), ['k', 'j', 'v']))![1];
    // NULL keys: counted, each row (two NULLs are not one key); rows with a key: not
    expect(await evaluate(`SELECT ${check(['k'])}`, [['a', 1], [null, 1], [null, 2], ['b', null]])).toBe('2');
    expect(await evaluate(`SELECT ${check(['k', 'j'])}`, [['a', 1], [null, 1], ['a', null], [null, null], [null, null]])).toBe('4');
    expect(await evaluate(`SELECT ${check(['k'])}`, [])).toBe('0');
    // a key held twice (whether or not the table holds it): ERROR, naming how many and one of them
    await expect(evaluate(`SELECT ${check(['k'])}`, [['a', 1], ['a', 2], ['b', 1], ['c', 1], ['c', 1], [null, 1], [null, 2]])).rejects.toThrow("incremental_strategy 'merge' into `p`.`d`.`t`: unique_key (k) values held by more than one new row: 2 (e.g. a); a merge writes one row per key");
    await expect(evaluate(`SELECT ${check(['k', 'j'])}`, [['a', 1], ['a', 2], ['b', 7], ['b', 7]])).rejects.toThrow(/unique_key \(k, j\) values held by more than one new row: 1 \(e\.g\. \(b, 7\)\)/);
    // the same key with a NULL part, twice: two NULL keys, no duplicate
    expect(await evaluate(`SELECT ${check(['k', 'j'])}`, [['a', null], ['a', null], ['a', 1]])).toBe('2');
  });

  it("a merge's key check on a BYTES key (SHA256's, MD5's), which MERGE compares with `=`: the NULL count, and a duplicate named, by Google's reference implementation; the script passes the analyzer (was: every new row's key CAST AS STRING, 'Invalid cast of bytes to UTF8 string' failing every run of a hash-keyed merge, duplicates or not)", async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const { BigQueryAdapter } = await import('../../src/adapters/bigquery/bigquery-adapter.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const cols = [{ name: 'k', type: T.BYTES }, { name: 'j', type: T.INT64 }, { name: 'v', type: T.INT64 }];
    const cat = new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 't'], cols).addTable(['s'], cols);
    const bq = new BigQueryAdapter({} as never, { type: 'bigquery', project: 'p', dataset: 'd' } as never);
    const req = (uniqueKey: string[]) => ({ kind: 'incremental' as const, relation: { database: 'p', schema: 'd', identifier: 't' }, sql: 'select 1', incrementalSql: 'SELECT * FROM s', uniqueKey, strategy: 'merge' as const, fullRefresh: false, config: {} });
    const a = new ZetaAnalyzer(srv, cat, lo);
    expect(await a.script(bq.incrementalStatement(req(['k', 'j']), ['k', 'j', 'v']))).toMatchObject({ ok: true });
    await a.release();
    const api = (srv.z.ZetaSQLClient as { API: Record<string, (r: unknown, cb: (e: unknown, a: unknown) => void) => void> }).API;
    const cell = (v: Buffer | number | null) => (v === null ? {} : typeof v === 'number' ? { int64Value: String(v) } : { bytesValue: v });
    const evaluate = (sql: string, rows: Array<[Buffer | null, number | null]>) =>
      new Promise<unknown>((res, rej) =>
        api.evaluateQuery({ sql, options: { languageOptions: lo }, simpleCatalog: cat.clone().addTable(['vigil_new_rows'], cols).toProto(), tableContent: { vigil_new_rows: { tableData: { row: rows.map(([k, j], i) => ({ cell: [cell(k), cell(j), cell(i)] })) } } } }, (e, r) =>
          e ? rej(e) : res(String((r as { content: { tableData: { row: Array<{ cell: Array<Record<string, unknown>> }> } } }).content.tableData.row[0].cell[0].int64Value)),
        ),
      );
    const check = (keys: string[]) => /\nDECLARE vigil_null_keys DEFAULT (\(SELECT [^\n]*\));\n/.exec(bq.incrementalStatement(req(keys), ['k', 'j', 'v']))![1];
    // hash bytes, not UTF-8
    const h1 = Buffer.from([0xff, 0x01, 0x80]);
    const h2 = Buffer.from([0xfe, 0xc3]);
    expect(await evaluate(`SELECT ${check(['k'])}`, [[h1, 1], [h2, 1], [null, 2]])).toBe('1');
    expect(await evaluate(`SELECT ${check(['k', 'j'])}`, [[h1, 1], [h1, 2], [h2, null]])).toBe('1');
    await expect(evaluate(`SELECT ${check(['k'])}`, [[h1, 1], [h1, 2], [h2, 1]])).rejects.toThrow(/unique_key \(k\) values held by more than one new row: 1 \(e\.g\. [^)]*\\xff\\x01\\x80[^)]*\)/);
    await expect(evaluate(`SELECT ${check(['k', 'j'])}`, [[h2, 7], [h2, 7]])).rejects.toThrow(/unique_key \(k, j\) values held by more than one new row: 1 \(e\.g\. \([^)]*\\xfe\\xc3[^)]*, 7\)\)/);
  });

  it("a merge over keys the table already holds twice, and over a STRUCT key, by Google's analyzer and reference implementation: the script's search finds them (how many, one named), its MERGE for that case leaves the rows DuckDB's and Postgres' delete+insert leave (the key's stored rows replaced by its one new row; the plain MERGE updates both and keeps two), and a first build's check counts the built table's; a STRUCT key is grouped by its TO_JSON_STRING (was: `GROUP BY` a STRUCT, refused by BigQuery on every run)", async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const { BigQueryAdapter } = await import('../../src/adapters/bigquery/bigquery-adapter.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const cols = [{ name: 'k', type: T.STRING }, { name: 's', type: T.STRUCT({ a: T.INT64, b: T.STRING }) }, { name: 'day', type: T.DATE }, { name: 'v', type: T.INT64 }];
    const types = { k: 'STRING', s: 'STRUCT<a INT64, b STRING>', day: 'DATE', v: 'INT64' };
    const cat = new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 't'], cols).addTable(['src'], cols);
    const bq = new BigQueryAdapter({} as never, { type: 'bigquery', project: 'p', dataset: 'd' } as never);
    const req = (uniqueKey: string[], config = {}) => ({ kind: 'incremental' as const, relation: { database: 'p', schema: 'd', identifier: 't' }, sql: 'SELECT * FROM src', incrementalSql: 'SELECT * FROM src', uniqueKey, strategy: 'merge' as const, fullRefresh: false, config });
    const names = ['k', 's', 'day', 'v'];
    // every script passes the analyzer: a scalar, a STRUCT, a composite key; pruned by partition, or a require_partition_filter table
    for (const [keys, config] of [[['k'], {}], [['s'], {}], [['k', 's'], {}], [['s', 'day'], { partition_by: 'day' }], [['s'], { partition_by: 'day', require_partition_filter: true }]] as const) {
      const script = bq.incrementalStatement(req([...keys], config), names, [], types);
      const a = new ZetaAnalyzer(srv, cat, lo);
      expect(await a.script(script), `${JSON.stringify(await a.script(script))}\n${script}`).toMatchObject({ ok: true });
      await a.release();
      const build = bq.builtKeyCheck(req([...keys], config))!;
      const b = new ZetaAnalyzer(srv, cat, lo);
      expect(await b.analyze(build), build).toMatchObject({ ok: true });
      await b.release();
    }
    // the key's type not known (as before): grouped by the STRUCT itself, which BigQuery refuses
    const untyped = new ZetaAnalyzer(srv, cat, lo);
    expect(await untyped.script(bq.incrementalStatement(req(['s']), names))).toMatchObject({ ok: false, message: expect.stringMatching(/Grouping by expressions of type STRUCT is not allowed/) });
    await untyped.release();
    // Google's reference implementation, on the rows the DuckDB and Postgres tests use
    const api = (srv.z.ZetaSQLClient as { API: Record<string, (r: unknown, cb: (e: unknown, a: unknown) => void) => void> }).API;
    type Key = string | null;
    const st = (k: Key) => (k === null ? {} : { structValue: { field: [{ int64Value: String(k.charCodeAt(0)) }, { stringValue: k }] } });
    const row = ([k, v]: [Key, number]) => ({ cell: [k === null ? {} : { stringValue: k }, st(k), { dateValue: 20000 }, { int64Value: String(v) }] });
    const stored: Array<[Key, number]> = [['a', 1], ['a', 2], ['b', 3], ['c', 4], ['c', 5], [null, 6], [null, 7]];
    const fresh: Array<[Key, number]> = [['a', 10], ['b', 30], ['d', 90]];
    const local = (sql: string) => sql.replaceAll('`p`.`d`.`t`', 't');
    const evaluate = (sql: string) =>
      new Promise<Array<Array<Record<string, unknown>>>>((res, rej) =>
        api.evaluateQuery({ sql: local(sql), options: { languageOptions: lo }, simpleCatalog: cat.clone().addTable(['t'], cols).addTable(['vigil_new_rows'], cols).toProto(), tableContent: { t: { tableData: { row: stored.map(row) } }, vigil_new_rows: { tableData: { row: fresh.map(row) } } } }, (e, r) =>
          e ? rej(e) : res((r as { content: { tableData: { row: Array<{ cell: Array<Record<string, unknown>> }> } } }).content.tableData.row.map((x) => x.cell)),
        ),
      );
    const text = (c: Record<string, unknown>) => (c.stringValue ?? (c.int64Value === undefined ? null : Number(String(c.int64Value)))) as string | number | null;
    // a MERGE's rows, by its own USING and ON (Google's engine evaluates no MERGE): the stored rows
    // no new row matches, each matched one updated unless WHEN MATCHED AND <c> THEN DELETE holds, the new rows matching none inserted
    const merged = async (merge: string) => {
      const m = /^MERGE \S+ AS T\nUSING (.*) AS S\nON (.*)\n(?:WHEN MATCHED AND (.*) THEN DELETE\n)?WHEN MATCHED THEN UPDATE/.exec(merge)!;
      // (aliases no column hides in a subquery: the table has a column s)
      const [using, on, del] = [m[1], m[2], m[3] ?? 'FALSE'].map((x) => x.replace(/\bS\./g, 'vigil_src.').replace(/\bT\./g, 'vigil_tgt.'));
      const out = `SELECT k, v FROM t AS vigil_tgt WHERE NOT EXISTS (SELECT 1 FROM ${using} AS vigil_src WHERE ${on}) UNION ALL SELECT vigil_src.k, vigil_src.v FROM t AS vigil_tgt JOIN ${using} AS vigil_src ON ${on} WHERE NOT (${del}) UNION ALL SELECT vigil_src.k, vigil_src.v FROM ${using} AS vigil_src WHERE NOT EXISTS (SELECT 1 FROM t AS vigil_tgt WHERE ${on}) ORDER BY 1, 2`;
      return (await evaluate(out)).map((r) => r.map(text));
    };
    const duckdb = [[null, 6], [null, 7], ['a', 10], ['b', 30], ['c', 4], ['c', 5], ['d', 90]];
    for (const keys of [['k'], ['s'], ['k', 's']]) {
      const script = bq.incrementalStatement(req(keys), names, [], types);
      const search = /\nDECLARE vigil_stored_dups DEFAULT (\(SELECT AS STRUCT [^\n]*\));\n/.exec(script)![1];
      const [[n, key]] = await evaluate(`SELECT ${search}.n, ${search}.key`);
      expect([text(n), text(key)], keys.join()).toEqual([1, keys.length === 1 ? (keys[0] === 'k' ? 'a' : '(97, a)') : '(a, (97, a))']);
      const [, heal, plain] = /\nIF vigil_stored_dups\.n > 0 THEN\n(MERGE [^;]*);\nELSE\n(MERGE [^;]*);\nEND IF;\nSELECT vigil_null_keys AS vigil_null_keys, vigil_stored_dups\.n AS vigil_stored_dups, vigil_stored_dups\.key AS vigil_stored_dup_key;\nEND$/.exec(script)!;
      expect(await merged(heal), keys.join()).toEqual(duckdb);
      // the plain MERGE (no such key: the one that runs) updates both stored rows of 'a'
      expect(await merged(plain)).toEqual([[null, 6], [null, 7], ['a', 10], ['a', 10], ['b', 30], ['c', 4], ['c', 5], ['d', 90]]);
      // a first build's check: two keys held twice ('a', 'c'), the NULL keys none
      const [[bn, bkey]] = await evaluate(bq.builtKeyCheck(req(keys))!);
      expect([text(bn), text(bkey)]).toEqual([2, keys.length === 1 ? (keys[0] === 'k' ? 'a' : '(97, a)') : '(a, (97, a))']);
    }
    // a table holding each key once: nothing found, the plain MERGE runs
    stored.splice(1, 1);
    stored.splice(3, 1);
    const [[n0]] = await evaluate(`SELECT ${/\nDECLARE vigil_stored_dups DEFAULT (\(SELECT AS STRUCT [^\n]*\));\n/.exec(bq.incrementalStatement(req(['s']), names, [], types))![1]}.n`);
    expect(text(n0)).toBe(0);
    expect(text((await evaluate(bq.builtKeyCheck(req(['s']))!))[0][0])).toBe(0);
    // a STRUCT key with a NULL field equals nothing (BigQuery's `=` on it is NULL), as a NULL key does: its new row matches no
    // stored row and is inserted again on every run — counted in the NULL-key warning, and two such rows are no duplicate
    // (was: grouped by TO_JSON_STRING as a key like any other: not counted, re-inserted without a word; two refused as a duplicate)
    const withNullField = (rows: Array<[number | null, number]>) =>
      new Promise<unknown>((res, rej) =>
        api.evaluateQuery({ sql: `SELECT ${/\nDECLARE vigil_null_keys DEFAULT (\(SELECT [^\n]*\));\n/.exec(bq.incrementalStatement(req(['s']), names, [], types))![1]}`, options: { languageOptions: lo }, simpleCatalog: cat.clone().addTable(['vigil_new_rows'], cols).toProto(), tableContent: { vigil_new_rows: { tableData: { row: rows.map(([a, v]) => ({ cell: [{ stringValue: 'x' }, { structValue: { field: [a === null ? {} : { int64Value: String(a) }, {}] } }, { dateValue: 20000 }, { int64Value: String(v) }] })) } } } }, (e, r) =>
          e ? rej(e) : res(text((r as { content: { tableData: { row: Array<{ cell: Array<Record<string, unknown>> }> } } }).content.tableData.row[0].cell[0])),
        ),
      );
    expect((await evaluate('SELECT STRUCT(1 AS a, CAST(NULL AS STRING) AS b) = STRUCT(1 AS a, CAST(NULL AS STRING) AS b)'))[0][0]).toEqual({});
    expect(await withNullField([[1, 1]])).toBe(1);
    expect(await withNullField([[1, 1], [1, 2], [null, 3]])).toBe(3);
  });

  it("insert_overwrite on an int64 range partition replaces the rows whose value the new rows hold, as dbt-bigquery does (`id IN UNNEST(...)`), not every row of their RANGE_BUCKET (was: re-selecting id 5 deleted ids 0 to 9); the script passes the analyzer", async () => {
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const { BigQueryAdapter } = await import('../../src/adapters/bigquery/bigquery-adapter.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const cols = [{ name: 'id', type: T.INT64 }, { name: 'v', type: T.STRING }];
    const cat = new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 't'], cols).addTable(['s'], cols);
    const bq = new BigQueryAdapter({} as never, { type: 'bigquery', project: 'p', dataset: 'd' } as never);
    const range = { field: 'id', data_type: 'int64', range: { start: 0, end: 1000, interval: 10 } };
    const req = (partition_by: unknown) => ({ kind: 'incremental' as const, relation: { database: 'p', schema: 'd', identifier: 't' }, sql: 'select 1', incrementalSql: 'SELECT * FROM s', strategy: 'insert_overwrite' as const, fullRefresh: false, config: { partition_by } });
    // the table is still partitioned by RANGE_BUCKET; the write names the column
    expect(bq.tableDdl(req(range).relation, 'SELECT 1 AS id', req(range))).toContain('PARTITION BY RANGE_BUCKET(`id`, GENERATE_ARRAY(0, 1000, 10))');
    for (const pb of [range, 'range_bucket(id, generate_array(0, 1000, 10))']) {
      const script = bq.incrementalStatement(req(pb), ['id', 'v']);
      expect(script, String(pb)).toContain('DECLARE vigil_partitions DEFAULT (SELECT ARRAY_AGG(DISTINCT `id` IGNORE NULLS) FROM vigil_new_rows);');
      expect(script).toContain('WHEN NOT MATCHED BY SOURCE AND T.`id` IN UNNEST(vigil_partitions) THEN DELETE');
      expect(script).not.toContain('RANGE_BUCKET');
      const a = new ZetaAnalyzer(srv, cat, lo);
      expect(await a.script(script), script).toMatchObject({ ok: true });
      await a.release();
    }
    // Google's reference implementation: which stored rows (here `stored`) the MERGE deletes when the new rows hold id 5
    const script = bq.incrementalStatement(req(range), ['id', 'v']);
    const partitions = /\nDECLARE vigil_partitions DEFAULT (\(SELECT [^\n]*\));\n/.exec(script)![1];
    const deletes = /WHEN NOT MATCHED BY SOURCE AND (.*) THEN DELETE/.exec(script)![1].replace('vigil_partitions', partitions);
    const api = (srv.z.ZetaSQLClient as { API: Record<string, (r: unknown, cb: (e: unknown, a: unknown) => void) => void> }).API;
    const rows = (ids: number[]) => ({ tableData: { row: ids.map((id) => ({ cell: [{ int64Value: String(id) }, { stringValue: 'x' }] })) } });
    const deleted = await new Promise<unknown>((res, rej) =>
      api.evaluateQuery({ sql: `SELECT ARRAY(SELECT T.id FROM stored AS T WHERE ${deletes} ORDER BY T.id)`, options: { languageOptions: lo }, simpleCatalog: cat.clone().addTable(['vigil_new_rows'], cols).addTable(['stored'], cols).toProto(), tableContent: { vigil_new_rows: rows([5]), stored: rows([0, 1, 5, 9, 15]) } }, (e, r) =>
        e ? rej(e) : res((r as { content: { tableData: { row: Array<{ cell: Array<{ arrayValue?: { element?: Array<{ int64Value: string }> } }> }> } } }).content.tableData.row[0].cell[0].arrayValue?.element?.map((x) => Number(x.int64Value)))),
    );
    expect(deleted).toEqual([5]);
  });
});

describe('vigil check on BigQuery: what BigQuery itself would say of sources, pseudo-columns, partitioning and config', () => {
  let proj: string;
  let problems: string[];
  const YAML = `name: bqs
default_target: prod
targets:
  app: { type: postgres, url: "postgres://postgres@127.0.0.1:1/app", schema: raw }
  prod: { type: bigquery, project: p1, dataset: analytics, location: US }
`;
  const SOURCES = `sources:
  - name: app
    schema: raw
    sync: { from: app }
    tables:
      - name: events
        sync: { primary_key: id, cursor: created_at }
        columns:
          - { name: id, data_type: bigint }
          - { name: amount, data_type: double precision }
          - { name: created_at, data_type: timestamptz }
          - { name: local_ts, data_type: timestamp }
          - { name: at_ms, data_type: timestamp(3) with time zone }
          - { name: clock, data_type: time }
  - name: ga4
    schema: analytics_123
    tables:
      - name: events
        identifier: 'events_*'
        columns:
          - { name: event_name, data_type: string }
          - { name: ts, data_type: timestamp }
      - name: logs
        time_ingestion_partitioning: true
        columns: [{ name: msg, data_type: string }]
      - name: plain
        columns: [{ name: msg, data_type: string }]
`;
  const ev = "{{ source('app', 'events') }}";
  const MODELS: Record<string, string> = {
    // sync creates a Postgres timestamp (no time zone) as DATETIME, timestamptz as TIMESTAMP, time as STRING
    'models/synced_local.sql': `select id\nfrom ${ev}\nwhere local_ts > timestamp_sub(current_timestamp(), interval 1 day)\n`,
    'models/synced_ok.sql': `select id, concat(clock, '') as c\nfrom ${ev}\nwhere local_ts > datetime_sub(current_datetime(), interval 1 day)\n  and created_at > timestamp_sub(current_timestamp(), interval 1 day)\n  and at_ms > timestamp_sub(current_timestamp(), interval 1 day)\n`,
    // a source vigil sync does not fill lives in BigQuery: its timestamp is BigQuery's (an instant)
    'models/ga4.sql': "select event_name\nfrom {{ source('ga4', 'events') }}\nwhere ts > timestamp_sub(current_timestamp(), interval 1 day)\n  and _table_suffix between '20240101' and '20240131'\n",
    'models/ingested.sql': "select msg, _PARTITIONDATE as day\nfrom {{ source('ga4', 'logs') }}\nwhere _PARTITIONTIME >= timestamp '2024-01-01'\n",
    'models/not_ingested.sql': "select msg\nfrom {{ source('ga4', 'plain') }}\nwhere _PARTITIONTIME >= timestamp '2024-01-01'\n",
    'models/array_equality.sql': `select id\nfrom ${ev}\nwhere [id] = [1]\n`,
    'models/part_ts_no_type.sql': `{{ config(materialized='table',\n    partition_by={'field': 'created_at'}) }}\nselect id, created_at from ${ev}\n`,
    'models/part_ts_string.sql': `{{ config(materialized='table', partition_by='created_at') }}\nselect id, created_at from ${ev}\n`,
    'models/part_int_no_type.sql': `{{ config(materialized='table', partition_by={'field': 'id'}) }}\nselect id from ${ev}\n`,
    'models/part_ok.sql': `{{ config(materialized='table', partition_by={'field': 'created_at', 'data_type': 'timestamp', 'granularity': 'month'}) }}\nselect id, created_at, date(created_at) as day from ${ev}\n`,
    // a config key set in the properties YAML: its problem points at the YAML line
    'models/props.yml': `models:\n  - name: cluster_yaml\n    config:\n      materialized: table\n      cluster_by: [amount]\n`,
    'models/cluster_yaml.sql': `select id, amount from ${ev}\n`,
    // an error inside the output of a multi-line macro: at the line of its call
    'macros/m.sql': "{% macro bad_expr(c) %}\n  {{ c }} + 'x'\n{% endmacro %}\n",
    'models/macro_error.sql': `select\n  id,\n  {{ bad_expr('id') }} as z\nfrom ${ev}\n`,
    'models/part_date_ok.sql': `{{ config(materialized='table', partition_by='day') }}\nselect id, date(created_at) as day from ${ev}\n`,
    // partition_by as text on a TIMESTAMP or DATETIME column, require_partition_filter: the filter
    // Vigil adds to its data tests and to the MERGE of a key without the partition column
    'models/part_text_ts.sql': `{{ config(materialized='incremental', unique_key='id', partition_by='timestamp_trunc(created_at, hour)', require_partition_filter=true) }}\nselect id, created_at from ${ev}\n`,
    'models/part_text_date.sql': `{{ config(materialized='incremental', unique_key='id', partition_by='date(created_at)', require_partition_filter=true) }}\nselect id, created_at from ${ev}\n`,
    'models/part_text_dt.sql': `{{ config(materialized='incremental', unique_key='id', partition_by='datetime_trunc(local_ts, day)', require_partition_filter=true) }}\nselect id, local_ts from ${ev}\n`,
    // partition_by as text BigQuery refuses: another form, or a function of a column type (or unit) it does not take
    'models/part_text_minute.sql': `{{ config(materialized='table', partition_by='timestamp_trunc(created_at, minute)') }}\nselect id, created_at from ${ev}\n`,
    'models/part_text_date_of_date.sql': `{{ config(materialized='table', partition_by='date(day)') }}\nselect id, date(created_at) as day from ${ev}\n`,
    'models/part_text_trunc_day.sql': `{{ config(materialized='table', partition_by='date_trunc(day, day)') }}\nselect id, date(created_at) as day from ${ev}\n`,
    'models/part_text_ts_of_dt.sql': `{{ config(materialized='table', partition_by='timestamp_trunc(local_ts, hour)') }}\nselect id, local_ts from ${ev}\n`,
    'models/part_hour_on_date.sql': `{{ config(materialized='table', partition_by={'field': 'day', 'data_type': 'date', 'granularity': 'hour'}) }}\nselect id, date(created_at) as day from ${ev}\n`,
    'models/part_text_forms_ok.sql': `{{ config(materialized='table', partition_by='TIMESTAMP_TRUNC(\`created_at\`, Month)') }}\nselect id, created_at from ${ev}\n`,
    'models/part_text_range_ok.sql': `{{ config(materialized='table', partition_by='range_bucket(id, generate_array(0, 1000, 10))') }}\nselect id from ${ev}\n`,
    'models/part_text.yml': `models:
  - name: part_text_ts
    columns: [{ name: id, tests: [not_null, unique] }]
  - name: part_text_date
    columns: [{ name: id, tests: [not_null, { relationships: { to: "ref('part_text_ts')", field: id } }] }]
  - name: part_text_dt
    columns: [{ name: id, tests: [not_null] }]
`,
  };

  let tests = 0;
  beforeAll(async () => {
    proj = makeProject({ 'project.yaml': YAML, 'models/sources.yml': SOURCES, ...MODELS });
    const { report } = await checkDir({ projectDir: proj, target: 'prod' });
    problems = report.diagnostics.map(formatDiagnostic);
    tests = report.counts.tests;
  });
  afterAll(() => removeDir(proj));
  const at = (file: string) => problems.filter((p) => p.startsWith(`models/${file}`));

  it("a synced source's declared types are read as sync creates them: timestamp is a DATETIME, timestamptz (any precision) a TIMESTAMP, time a STRING", () => {
    expect(at('synced_local.sql')).toEqual([expect.stringMatching(/^models\/synced_local\.sql:3:7: error: No matching signature for operator > for argument types: DATETIME, TIMESTAMP/)]);
    expect(at('synced_ok.sql')).toEqual([]);
  });

  it('a source not synced: timestamp is TIMESTAMP; a wildcard table has _TABLE_SUFFIX; _PARTITIONTIME/_PARTITIONDATE on a table declared time_ingestion_partitioning only', () => {
    expect(at('ga4.sql')).toEqual([]);
    expect(at('ingested.sql')).toEqual([]);
    expect(at('not_ingested.sql')).toEqual([expect.stringMatching(/^models\/not_ingested\.sql:3:7: error: Unrecognized name: _PARTITIONTIME .*time_ingestion_partitioning: true/)]);
  });

  it('arrays are not compared (BigQuery: "Equality is not defined for arguments of type ARRAY<INT64>")', () => {
    expect(at('array_equality.sql')).toEqual([expect.stringMatching(/^models\/array_equality\.sql:3:\d+: error: .*ARRAY<INT64>/)]);
  });

  it('partition_by on a TIMESTAMP column without data_type (dbt: date, the column as it is) or as a bare name, or an INT64 one without data_type: an error at the key naming the fix', () => {
    expect(at('part_ts_no_type.sql')).toEqual([expect.stringMatching(/^models\/part_ts_no_type\.sql:2:5: error: partition_by has no data_type, which means date \(as in dbt\), but 'created_at' is TIMESTAMP: .*'data_type': 'timestamp'.*date\(created_at\)/)]);
    expect(at('part_ts_string.sql')).toEqual([expect.stringMatching(/^models\/part_ts_string\.sql:1:\d+: error: partition_by='created_at' partitions by the column as it is, which BigQuery takes of a DATE column only; 'created_at' is TIMESTAMP/)]);
    expect(at('part_int_no_type.sql')).toEqual([expect.stringMatching(/^models\/part_int_no_type\.sql:1:\d+: error: partition_by has no data_type, which means date \(as in dbt\), but 'id' is INT64: .*'data_type': 'int64', 'range'/)]);
    expect(at('part_ok.sql')).toEqual([]);
    expect(at('part_date_ok.sql')).toEqual([]);
  });

  it("partition_by as text of a form BigQuery refuses is an error at the key naming the forms it takes (was: accepted, and refused by BigQuery at the build); a function of a column type or unit it does not take names what it takes", () => {
    const forms = "It takes a DATE column, DATE(<TIMESTAMP or DATETIME column>), TIMESTAMP_TRUNC(<TIMESTAMP column>, DAY|HOUR|MONTH|YEAR), DATETIME_TRUNC(<DATETIME column>, DAY|HOUR|MONTH|YEAR), DATE_TRUNC(<DATE column>, MONTH|YEAR) or RANGE_BUCKET(<INT64 column>, GENERATE_ARRAY(start, end, interval)); or partition_by={'field': ..., 'data_type': ..., 'granularity': ...}";
    expect(at('part_text_minute.sql')).toEqual([`models/part_text_minute.sql:1:33: error: partition_by='timestamp_trunc(created_at, minute)' is not a PARTITION BY BigQuery takes. ${forms} [E_CHECK]\n  hint: from the model's config: partition_by`]);
    expect(at('part_text_date_of_date.sql')).toEqual([expect.stringMatching(/^models\/part_text_date_of_date\.sql:1:33: error: partition_by='date\(day\)': BigQuery takes DATE\(\) of a TIMESTAMP or DATETIME column in a PARTITION BY; 'day' is DATE: write partition_by='day' /)]);
    expect(at('part_text_trunc_day.sql')).toEqual([expect.stringMatching(/^models\/part_text_trunc_day\.sql:1:33: error: partition_by='date_trunc\(day, day\)': BigQuery takes DATE_TRUNC\(\) by MONTH or YEAR only in a PARTITION BY: write partition_by='day' /)]);
    expect(at('part_text_ts_of_dt.sql')).toEqual([expect.stringMatching(/^models\/part_text_ts_of_dt\.sql:1:33: error: partition_by='timestamp_trunc\(local_ts, hour\)': BigQuery takes TIMESTAMP_TRUNC\(\) of a TIMESTAMP column in a PARTITION BY; 'local_ts' is DATETIME /)]);
    // (as dbt-bigquery documents it: a date column is partitioned by day, month or year; was: the analyzer's DATE_TRUNC error at config())
    expect(at('part_hour_on_date.sql')).toEqual([expect.stringMatching(/^models\/part_hour_on_date\.sql:1:33: error: partition_by: granularity hour applies to timestamp and datetime columns; 'day' is DATE, whose partitions are by day, month or year /)]);
    expect(at('part_text_forms_ok.sql')).toEqual([]);
    expect(at('part_text_range_ok.sql')).toEqual([]);
  });

  it("partition_by as text (timestamp_trunc(ts, hour), date(ts), datetime_trunc(dt, day)) with require_partition_filter: the data tests and the MERGE pass (was: `created_at >= DATE '0001-01-01'`, no matching signature for TIMESTAMP >= DATE)", () => {
    expect(at('part_text_ts.sql')).toEqual([]);
    expect(at('part_text_date.sql')).toEqual([]);
    expect(at('part_text_dt.sql')).toEqual([]);
    expect(at('part_text.yml')).toEqual([]);
    expect(tests).toBe(5);
  });

  it("a rule about a config key set in the properties YAML points at the key's line there, not at the model's line 1", () => {
    expect(at('props.yml')).toEqual([expect.stringMatching(/^models\/props\.yml:5:19: error: cluster_by: BigQuery cannot cluster by 'amount', a FLOAT64 column/)]);
    expect(at('cluster_yaml.sql')).toEqual([]);
  });

  it("an error in a multi-line macro's output is at the line of the macro's call, not the line after it", () => {
    expect(at('macro_error.sql')).toEqual([expect.stringMatching(/^models\/macro_error\.sql:3: error: Could not cast literal "x" to type DATE .*\n\s+hint: compiled SQL: target\/compiled\/bqs\/models\/macro_error\.sql:4:/)]);
  });

  it("a second check, whose analyzer answers are all kept ones, reports the same (the rules and hints are Vigil's, applied to every answer)", async () => {
    const again = await checkDir({ projectDir: proj, target: 'prod' });
    expect(again.reused).toMatch(/Analyzer answers: [1-9]\d* reused, 0 new/);
    expect(again.report.diagnostics.map(formatDiagnostic)).toEqual(problems);
  });

  it('nothing else is reported', () => {
    expect(problems.filter((p) => !/^models\/((synced_local|not_ingested|array_equality|part_ts_no_type|part_ts_string|part_int_no_type|part_text_minute|part_hour_on_date|part_text_date_of_date|part_text_trunc_day|part_text_ts_of_dt|macro_error)\.sql|props\.yml):/.test(p))).toEqual([]);
  });
});

describe('vigil check on BigQuery: a view over a require_partition_filter table passes the filter on to what reads it', () => {
  let proj: string;
  let problems: string[];
  const YAML = `name: rpv
default_target: prod
targets:
  prod: { type: bigquery, project: p1, dataset: analytics, location: US }
`;
  const PROPS = `sources:
  - name: raw
    tables:
      - name: events
        columns:
          - { name: ts, data_type: timestamp }
          - { name: user_id, data_type: int64 }
models:
  - name: rp_plain
    columns: [{ name: user_id, tests: [not_null] }]
  - name: rp_same
    columns: [{ name: user_id, tests: [not_null] }, { name: ts }]
  - name: rp_same_undeclared
    columns: [{ name: user_id, tests: [not_null] }]
  - name: rp_filtered
    columns: [{ name: user_id, tests: [not_null] }]
  - name: rp_chain
    columns: [{ name: user_id, tests: [not_null, { relationships: { to: "ref('rp_same')", field: user_id } }] }, { name: ts }]
`;
  const m = "{{ ref('m_table_part') }}";
  const MODELS: Record<string, string> = {
    'models/m_table_part.sql': "{{ config(materialized='table', partition_by={'field':'ts','data_type':'timestamp','granularity':'hour'}, require_partition_filter=true) }} select * from {{ source('raw','events') }}\n",
    // (the tester's case: the view selects no partition column, so nothing can read it)
    'models/rp_plain.sql': `select user_id from ${m}\n`,
    'models/rp_via_view.sql': "{{ config(materialized='table') }} select user_id from {{ ref('rp_plain') }}\n",
    'models/rp_agg.sql': `select user_id,\n  max(ts) as last_ts\nfrom ${m}\ngroup by user_id\n`,
    // renamed: its readers filter event_ts
    'models/rp_exposed.sql': `select user_id,\n  ts as event_ts\nfrom ${m}\n`,
    'models/rp_via_exposed.sql': "{{ config(materialized='table') }}\nselect user_id\nfrom {{ ref('rp_exposed') }}\n",
    'models/rp_via_exposed_ok.sql': "{{ config(materialized='table') }}\nselect user_id\nfrom {{ ref('rp_exposed') }}\nwhere event_ts > timestamp '2024-01-01'\n",
    // under its own name, declared in YAML: Vigil's tests carry the filter (through a second view too)
    'models/rp_same.sql': `select user_id, ts from ${m}\n`,
    'models/rp_chain.sql': "select * from {{ ref('rp_same') }}\n",
    'models/rp_same_undeclared.sql': `select user_id, ts from ${m}\n`,
    // a view that filters the table passes nothing on
    'models/rp_filtered.sql': `select user_id from ${m} where ts > timestamp '2024-01-01'\n`,
    'models/rp_via_filtered.sql': "{{ config(materialized='table') }} select user_id from {{ ref('rp_filtered') }}\n",
    // an expression of the partition column alone; a UNION ALL whose every input exposes it
    'models/rp_date_expr.sql': `select user_id, date(ts) as d\nfrom ${m}\n`,
    'models/rp_via_date_expr.sql': "{{ config(materialized='table') }}\nselect user_id from {{ ref('rp_date_expr') }} where d = '2024-01-01'\n",
    'models/rp_union.sql': `select user_id, ts from ${m}\nunion all\nselect user_id, ts from ${m} where ts > timestamp '2024-01-01'\n`,
    'models/rp_via_union.sql': "{{ config(materialized='table') }}\nselect user_id from {{ ref('rp_union') }} where ts > timestamp '2024-01-01'\n",
    // a unique_key the model does not select: a did-you-mean, as a cluster_by column gets
    'models/m_cfg.sql': "{{ config(materialized='incremental', partition_by='day', unique_key=['user_id','dayy']) }}\nselect user_id, date(ts) as day from {{ source('raw','events') }}\n",
  };
  beforeAll(async () => {
    proj = makeProject({ 'project.yaml': YAML, 'models/props.yml': PROPS, ...MODELS });
    const { report } = await checkDir({ projectDir: proj, target: 'prod' });
    problems = report.diagnostics.map(formatDiagnostic);
  });
  afterAll(() => removeDir(proj));
  const at = (file: string) => problems.filter((p) => p.startsWith(`models/${file}`));

  it('a view that does not select the partition column can be read by no query: an error at its read of the table (was: OK, and its build readers and tests failed in BigQuery)', () => {
    expect(at('rp_plain.sql')).toEqual([expect.stringMatching(/^models\/rp_plain\.sql:1:21: error: p1\.analytics\.m_table_part requires a partition filter \(require_partition_filter\) on 'ts': this view reads it without one and does not select 'ts' .*BigQuery refuses every one/)]);
    expect(at('rp_agg.sql')).toEqual([expect.stringMatching(/^models\/rp_agg\.sql:3:6: error: p1\.analytics\.m_table_part requires a partition filter .* does not select 'ts'/)]);
    // (what reads it is not checked again: one report per root cause)
    expect(at('rp_via_view.sql')).toEqual([]);
  });

  it("a read of a view that selects it, renamed or not, needs a filter on the view's column", () => {
    expect(at('rp_via_exposed.sql')).toEqual([expect.stringMatching(/^models\/rp_via_exposed\.sql:3:6: error: p1\.analytics\.rp_exposed requires a partition filter \(a view that reads p1\.analytics\.m_table_part without its partition filter, which falls to its readers\): BigQuery refuses to read it without a WHERE on 'event_ts'/)]);
    for (const ok of ['rp_via_exposed_ok', 'rp_exposed', 'rp_filtered', 'rp_via_filtered', 'rp_date_expr', 'rp_via_date_expr', 'rp_union', 'rp_via_union', 'rp_same', 'rp_chain']) expect(at(`${ok}.sql`), ok).toEqual([]);
  });

  it("Vigil's data tests of such a view carry the partition filter when its YAML declares the column; else check reports the test", () => {
    const tests = problems.filter((p) => p.startsWith('models/props.yml'));
    expect(tests).toEqual([expect.stringMatching(/^models\/props\.yml:14: error: test not_null_rp_same_undeclared_user_id: p1\.analytics\.rp_same_undeclared requires a partition filter .* a WHERE on 'ts'/)]);
    const compiled = readFileSync(join(proj, 'target/compiled/rpv/models/props.yml/not_null_rp_chain_user_id.sql'), 'utf8');
    expect(compiled).toContain('(`ts` IS NULL OR `ts` IS NOT NULL)');
    expect(readFileSync(join(proj, 'target/compiled/rpv/models/props.yml/not_null_rp_filtered_user_id.sql'), 'utf8')).not.toContain('IS NULL OR');
  });

  it("a unique_key the model does not select: at the key, with a did-you-mean (was: the analyzer's 'Name dayy not found inside T')", () => {
    expect(at('m_cfg.sql')).toEqual([expect.stringMatching(/^models\/m_cfg\.sql:1:\d+: error: unique_key: column 'dayy' is not in the model's output — did you mean 'day'\? \(it has user_id, day\) \[E_CHECK\]\n\s+hint: from the model's config: unique_key/)]);
  });

  it('nothing else is reported', () => {
    expect(problems.filter((p) => !/^models\/((rp_plain|rp_agg|rp_via_exposed|m_cfg)\.sql|props\.yml:14):/.test(p))).toEqual([]);
  });
});

describe('BigQuery limits on a model config are errors at compile, at their line', () => {
  const YAML = `name: lim
default_target: prod
targets:
  prod: { type: bigquery, project: p1, dataset: analytics, location: US }
  local: { type: duckdb, path: ':memory:', schema: analytics }
`;
  const compileErrors = async (files: Record<string, string>, target = 'prod') => {
    const d = makeProject({ 'project.yaml': YAML, 'models/src.yml': "sources:\n  - name: raw\n    tables:\n      - name: events\n        columns: [{ name: id, data_type: int64 }]\n", ...files });
    try {
      await checkDir({ projectDir: d, target });
      return '';
    } catch (e) {
      return (e as Error).message;
    } finally {
      removeDir(d);
    }
  };

  it("a column description over 1,024 characters, a model's over 16,384 (was: the build's ALTER failed after CREATE OR REPLACE had replaced the table)", async () => {
    const model = { 'models/m.sql': "{{ config(materialized='table') }}\nselect id from {{ source('raw', 'events') }}\n" };
    const props = (table: number, column: number) => ({ 'models/m.yml': `models:\n  - name: m\n    description: "${'t'.repeat(table)}"\n    columns:\n      - name: id\n        description: "${'c'.repeat(column)}"\n` });
    const long = await compileErrors({ ...model, ...props(16_385, 1_025) });
    expect(long).toMatch(/^models\/m\.yml:3:\d+: error: model 'm': its description has 16,385 characters; BigQuery takes at most 16,384 in a table's or view's description/m);
    expect(long).toMatch(/^models\/m\.yml:6:\d+: error: column 'id' of model 'm': its description has 1,025 characters; BigQuery takes at most 1,024 in a column's description/m);
    expect(await compileErrors({ ...model, ...props(16_384, 1_024) })).toBe('');
  });

  it('an integer range whose end is not past its start, or of more than 10,000 partitions (was: accepted, and refused by BigQuery at the build)', async () => {
    const range = (r: string) => ({ 'models/r.sql': `{{ config(materialized='table', partition_by={'field': 'id', 'data_type': 'int64', 'range': ${r}}) }}\nselect id from {{ source('raw', 'events') }}\n` });
    expect(await compileErrors(range("{'start': 100, 'end': 0, 'interval': 10}"))).toMatch(/^models\/r\.sql:1:\d+: error: model 'r': partition_by's range ends at 0, not after its start 100/m);
    expect(await compileErrors(range("{'start': 0, 'end': 1000000, 'interval': 1}"))).toMatch(/^models\/r\.sql:1:\d+: error: model 'r': partition_by's range \{start: 0, end: 1000000, interval: 1\} makes 1000000 partitions; BigQuery takes at most 10,000 in a table/m);
    expect(await compileErrors({ 'models/r.sql': "{{ config(materialized='table', partition_by='range_bucket(id, generate_array(0, 100001, 10))') }}\nselect id from {{ source('raw', 'events') }}\n" })).toMatch(/makes 10001 partitions/);
    expect(await compileErrors(range("{'start': 0, 'end': 100000, 'interval': 10}"))).toBe('');
    // (the partition limit is BigQuery's; an empty range is no range anywhere)
    expect(await compileErrors(range("{'start': 0, 'end': 1000000, 'interval': 1}"), 'local')).toBe('');
    expect(await compileErrors(range("{'start': 100, 'end': 0, 'interval': 10}"), 'local')).toMatch(/not after its start 100/);
    // as text, an interval not above 0 (the dict form's is refused by its schema): was accepted, partitioned by the
    // column's values on DuckDB and Postgres, and refused by BigQuery's GENERATE_ARRAY ("Sequence step cannot be 0")
    const text = (step: string) => ({ 'models/r.sql': `{{ config(materialized='table', partition_by='range_bucket(id, generate_array(0, 100, ${step}))') }}\nselect id from {{ source('raw', 'events') }}\n` });
    expect(await compileErrors(text('0'))).toMatch(/^models\/r\.sql:1:\d+: error: model 'r': partition_by's range has the interval 0: an integer range is cut into buckets of a width above 0/m);
    expect(await compileErrors(text('-10'), 'local')).toMatch(/partition_by's range has the interval -10/);
    expect(await compileErrors(text('10'))).toBe('');
  });

  it("a table name BigQuery refuses ('.', a partition decorator's '$'): an error at the alias (was: passed compile and check; the build's CREATE failed or read the name as a path); dashes, spaces and letters of any script are taken", async () => {
    const aliased = (alias: string, kind = 'table') => ({ 'models/m.sql': `{{ config(materialized='${kind}', alias='${alias}') }}\nselect id from {{ source('raw', 'events') }}\n` });
    expect(await compileErrors(aliased('orders.v2'))).toMatch(/^models\/m\.sql:1:\d+: error: model 'm': BigQuery refuses '\.' in the table name 'orders\.v2' \(a table or view name is letters, marks, numbers, _, dashes and spaces\)/m);
    expect(await compileErrors(aliased('orders$2', 'view'))).toMatch(/error: model 'm': BigQuery refuses '\$' in the table name 'orders\$2'/);
    for (const ok of ['orders v2', 'orders-v2', 'étudiant-01']) expect(await compileErrors(aliased(ok))).toBe('');
    // (the names are BigQuery's)
    expect(await compileErrors(aliased('orders$2'), 'local')).toBe('');
  });

  it("more than 64 labels on a table, view or job, those Vigil adds (tool=vigil; an incremental table's vigil_masking) counted: an error at the key (was: accepted, and refused by BigQuery at the build)", async () => {
    const labels = (n: number, from = 0) => `{${Array.from({ length: n }, (_, i) => `'k${i + from}': 'v'`).join(', ')}}`;
    const model = (kind: string, n: number) => ({ 'models/m.sql': `{{ config(materialized='${kind}', labels=${labels(n)}) }}\nselect id from {{ source('raw', 'events') }}\n` });
    expect(await compileErrors(model('table', 64))).toMatch(/^models\/m\.sql:1:\d+: error: model 'm': its table would carry 65 labels \(the target's, the model's, and tool, which Vigil adds\); BigQuery takes at most 64 on one/m);
    expect(await compileErrors(model('table', 63))).toBe('');
    expect(await compileErrors(model('view', 63))).toBe('');
    expect(await compileErrors(model('incremental', 63))).toMatch(/its table would carry 65 labels \(the target's, the model's, and tool and vigil_masking, which Vigil adds\)/);
    // the target's labels count on every table, and alone on every job
    const target = (n: number) => ({ 'project.yaml': YAML.replace('location: US }', `location: US, labels: ${labels(n, 100)} }`) });
    expect(await compileErrors({ ...target(40), ...model('table', 30) })).toMatch(/its table would carry 71 labels/);
    expect(await compileErrors({ ...target(64), 'models/m.sql': "select id from {{ source('raw', 'events') }}\n" })).toMatch(/^project\.yaml:4:\d+: error: target 'prod': 64 labels, and Vigil adds tool=vigil to every job, table and view: BigQuery takes at most 64 labels on one/m);
    // (the limit is BigQuery's)
    expect(await compileErrors(model('table', 64), 'local')).toBe('');
  });
});

describe('vigil check on BigQuery: a snapshot is checked as its later runs send it', () => {
  // what `vigil sync` makes of the shipped audit_events' jsonb and text[]: JSON and ARRAY<STRING>
  const YAML = `name: bqsnap
default_target: prod
targets:
  app: { type: postgres, url: "postgres://postgres@127.0.0.1:1/app", schema: raw }
  prod: { type: bigquery, project: p1, dataset: analytics, location: US }
`;
  const SOURCES = `sources:
  - name: app
    schema: raw
    sync: { from: app }
    tables:
      - name: audit_events
        sync: { primary_key: id, cursor: updated_at }
        columns:
          - { name: id, data_type: bigint }
          - { name: payload, data_type: jsonb }
          - { name: tags, data_type: "text[]" }
          - { name: meta, data_type: jsonb }
          - { name: updated_at, data_type: timestamptz }
`;
  const snap = (name: string, config: string, select = 'id, payload, tags, updated_at') =>
    `{% snapshot ${name} %}\n{{ config(target_schema='snapshots', unique_key='id', ${config}) }}\nselect ${select} from {{ source('app', 'audit_events') }}\n{% endsnapshot %}\n`;
  it("check_cols of JSON and ARRAY columns (all, or listed; with updated_at; invalidate_hard_deletes), and a JSON unique_key: the later run's key checks, insert and updates pass Google's analyzer (was: not analyzed; the second `vigil snapshot` sent `s.payload is distinct from t.payload`, which BigQuery refuses: \"Grouping is not defined for arguments of type JSON\")", async () => {
    const proj = makeProject({
      'project.yaml': YAML,
      'models/sources.yml': SOURCES,
      'snapshots/all.sql': snap('snap_all', "strategy='check', check_cols='all', invalidate_hard_deletes=true"),
      'snapshots/listed.sql': snap('snap_listed', "strategy='check', check_cols=['payload', 'tags'], updated_at='updated_at'"),
      'snapshots/ts.sql': snap('snap_ts', "strategy='timestamp', updated_at='updated_at', invalidate_hard_deletes=true"),
      'snapshots/json_key.sql': `{% snapshot snap_json_key %}\n{{ config(target_schema='snapshots', unique_key='meta', strategy='check', check_cols=['tags']) }}\nselect meta, tags from {{ source('app', 'audit_events') }}\n{% endsnapshot %}\n`,
    });
    try {
      const { report } = await checkDir({ projectDir: proj, target: 'prod' });
      expect(report.diagnostics.map(formatDiagnostic)).toEqual([]);
      // each snapshot: its first run, then the statements of a later one
      expect(report.counts.statements).toBeGreaterThanOrEqual(4 * 5);
    } finally {
      removeDir(proj);
    }
  });

  it('a later-run statement the analyzer refuses is reported at the snapshot, naming the statement', async () => {
    const { snapshotCheckStatements } = await import('../../src/run/snapshot.js');
    const { bigQueryDialect } = await import('../../src/adapters/bigquery/bigquery-dialect.js');
    // without the dialect's comparable (as before): the JSON and ARRAY comparisons BigQuery refuses
    const bare = { ...bigQueryDialect, comparable: undefined };
    const node = { name: 's', resource_type: 'snapshot', relation: { database: 'p1', schema: 'snapshots', identifier: 's' }, compiled_sql: 'select 1', config: { strategy: 'check', unique_key: 'id', check_cols: ['payload', 'tags'] } } as never;
    const cols = [{ name: 'id', data_type: 'INT64' }, { name: 'payload', data_type: 'JSON' }, { name: 'tags', data_type: 'ARRAY<STRING>' }];
    const insert = (d: typeof bigQueryDialect) => snapshotCheckStatements(d, node, cols).find((s) => s.what.startsWith('the insert'))!.sql;
    expect(insert(bare)).toContain('s.`payload` is distinct from t.`payload` or s.`tags` is distinct from t.`tags`');
    expect(insert(bigQueryDialect)).toContain('TO_JSON_STRING(s.`payload`) is distinct from TO_JSON_STRING(t.`payload`) or TO_JSON_STRING(s.`tags`) is distinct from TO_JSON_STRING(t.`tags`)');
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const a = new ZetaAnalyzer(
      srv,
      new ZetaCatalog(srv.z, lo, 'p1').addTable(['p1', 'snapshots', 's'], [{ name: 'id', type: T.INT64 }, { name: 'payload', type: T.JSON }, { name: 'tags', type: T.ARRAY(T.STRING) }, ...['dbt_valid_from', 'dbt_valid_to', 'dbt_updated_at'].map((name) => ({ name, type: T.TIMESTAMP })), { name: 'dbt_scd_id', type: T.STRING }]),
      lo,
    );
    try {
      const node2 = { ...(node as object), compiled_sql: 'select id, payload, tags from `p1`.`snapshots`.`s`' } as never;
      for (const s of snapshotCheckStatements(bigQueryDialect, node2, cols, 'TIMESTAMP')) expect(await a.analyze(s.sql), s.sql).toMatchObject({ ok: true });
      expect(await a.analyze(snapshotCheckStatements(bare, node2, cols).find((s) => s.what.startsWith('the insert'))!.sql)).toMatchObject({ ok: false, message: expect.stringMatching(/not defined for arguments of type (JSON|ARRAY<STRING>)/) });
    } finally {
      await a.release();
    }
  });
});

describe('vigil check on DuckDB (an in-memory database)', () => {
  // each checked with the -s of the model the mistake is in or is read by, as the BigQuery cases
  // (CASE_SELECT): the whole project passes on dev in the CLI case above
  it.each([
    ['unknown column', { 'models/marts/ai_cost_daily.sql': [['  model,\n', '  modle,\n']] }, /^models\/marts\/ai_cost_daily\.sql:5:3: error: Binder Error: Referenced column "modle" not found/, ['ai_cost_daily']],
    ['contract', { 'models/marts/marts.yml': [[/(- name: ai_cost_daily[\s\S]*?- name: message_count\n\s+data_type: )bigint/, '$1double']] }, /models\/marts\/marts\.yml:\d+:\d+: error: model ai_cost_daily: column 'message_count' is declared double but the model produces BIGINT/, ['ai_cost_daily']],
    ['a type DuckDB does not have', { 'models/sources.yml': [[/(- name: model\n\s+data_type: )varchar/, '$1varchr']] }, /models\/sources\.yml:\d+:\d+: error: source raw\.\w+: column 'model': 'varchr' is not a DuckDB type/, ['stg_ai_audit_logs']],
  ] as Array<[string, Record<string, Array<[string | RegExp, string]>>, RegExp, string[]]>)('%s', async (_n, edits, expected, select) => {
    const problems = await withEdits(edits, 'dev', select);
    expect(problems.some((p) => expected.test(p)), problems.join('\n')).toBe(true);
  });
});

describe('vigil check on Postgres (a transaction on the target, rolled back)', () => {
  const url = inject('pgUrl');
  it('passes on the shipped project, reports a seeded mistake at its line, leaves nothing behind and locks nothing of the target', async () => {
    process.env.DATABASE_URL = url;
    const client = new pg.Client(url);
    const locker = new pg.Client(url);
    await client.connect();
    await locker.connect();
    try {
      // a real relation of the same name, held exclusively by another session for the whole check
      await client.query('create schema if not exists analytics; create table if not exists analytics.ai_cost_daily (x int)');
      await locker.query('begin; lock table analytics.ai_cost_daily in access exclusive mode');
      const before = (await client.query("select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('analytics', 'raw') or n.nspname like 'vigil_check_%'")).rows[0].n;
      const { report } = await checkDir({ projectDir: dir, target: 'app' });
      expect(report.diagnostics.map(formatDiagnostic)).toEqual([]);
      expect(report.counts.models).toBe(23);
      // (the model's -s: the whole project was checked just above, under the same lock)
      const problems = await withEdits({ 'models/marts/ai_cost_daily.sql': [['  model,\n', '  modle,\n']] }, 'app', ['ai_cost_daily']);
      expect(problems[0]).toMatch(/^models\/marts\/ai_cost_daily\.sql:5:3: error: column "modle" does not exist/);
      const after = (await client.query("select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('analytics', 'raw') or n.nspname like 'vigil_check_%'")).rows[0].n;
      expect(after).toBe(before);
    } finally {
      await locker.query('rollback').catch(() => undefined);
      await locker.end();
      await client.query('drop table if exists analytics.ai_cost_daily');
      await client.end();
    }
  });
});

/** check a small project (files over a Postgres project.yaml of its own schema, or DuckDB's): its problems as text. */
async function checkFiles(files: Record<string, string>, target: 'dev' | 'pg' | 'prod'): Promise<string[]> {
  const bq = 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: p1, dataset: analytics, location: US }\n';
  const d = makeProject(target === 'pg' ? { 'project.yaml': pgProjectYaml(uniqueSchema('chk')), ...files } : target === 'prod' ? { 'project.yaml': bq, ...files } : files);
  try {
    const { report } = await checkDir({ projectDir: d, target });
    return report.diagnostics.map(formatDiagnostic);
  } finally {
    removeDir(d);
  }
}

describe('vigil check: snapshots, incremental runs, query columns and schema names, on DuckDB and Postgres', () => {
  const url = inject('pgUrl');
  beforeAll(() => {
    process.env.VIGIL_TEST_PG_URL = url;
  });
  const seed = { 'seeds/raw_orders.csv': 'id,customer,amount,created_at\n1,a,10.5,2024-01-01 10:00:00\n2,b,20,2024-01-02 11:00:00\n' };
  const snapshotOfModel = {
    ...seed,
    'models/stg.sql': "select * from {{ ref('raw_orders') }}\n",
    'snapshots/snap_m.sql': "{% snapshot snap_m %}\n{{ config(unique_key='id', strategy='check', check_cols=['amount']) }}\nselect id, amount from {{ ref('stg') }}\n{% endsnapshot %}\n",
    'models/reads_snap.sql': "select id, amount, dbt_valid_from from {{ ref('snap_m') }}\n",
  };

  it.each(['dev', 'pg'] as const)('%s: a model reading a snapshot of a model is checked after the snapshot (was: "snap_m does not exist"), and what it gets wrong is reported', async (target) => {
    expect(await checkFiles(snapshotOfModel, target)).toEqual([]);
    const wrong = await checkFiles({ ...snapshotOfModel, 'models/reads_snap.sql': "select id, amount, dbt_valid_frm from {{ ref('snap_m') }}\n" }, target);
    expect(wrong).toHaveLength(1);
    expect(wrong[0]).toMatch(/^models\/reads_snap\.sql:1:\d+: error: .*dbt_valid_frm/);
  });

  it.each(['dev', 'pg'] as const)("%s: a snapshot whose config names its columns in another case than its query (unique_key='ID', updated_at='CREATED_AT') checks clean, its first and later runs, as vigil snapshot runs it (was on Postgres: column s.\"CREATED_AT\" does not exist)", async (target) => {
    const snap = (cfg: string) => ({ ...seed, 'snapshots/snap_c.sql': `{% snapshot snap_c %}\n{{ config(${cfg}) }}\nselect id, amount, created_at from {{ ref('raw_orders') }}\n{% endsnapshot %}\n` });
    expect(await checkFiles(snap("unique_key='ID', strategy='timestamp', updated_at='CREATED_AT', invalidate_hard_deletes=true"), target)).toEqual([]);
    expect(await checkFiles(snap("unique_key='ID', strategy='check', check_cols=['AMOUNT'], updated_at='CREATED_AT'"), target)).toEqual([]);
  });

  it('pg: an incremental run on the empty table is checked with the adapter\'s own statements: a unique_key or insert_overwrite partition_by the model does not select fails, as on DuckDB (was: passed, and the second build failed)', async () => {
    const problems = await checkFiles({
      ...seed,
      'models/inc_badkey.sql': "{{ config(materialized='incremental', unique_key='order_id') }}\nselect id, amount from {{ ref('raw_orders') }}\n",
      'models/inc_ow.sql': "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by='dayx') }}\nselect id, cast(created_at as date) as day from {{ ref('raw_orders') }}\n",
      'models/inc_ok.sql': "{{ config(materialized='incremental', unique_key='ID') }}\nselect id, amount from {{ ref('raw_orders') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}\n",
    }, 'pg');
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^models\/inc_badkey\.sql:1:\d+: error: column "order_id" does not exist/);
    expect(problems[1]).toMatch(/^models\/inc_ow\.sql:1:\d+: error: column "dayx" does not exist/);
  });

  it.each(['dev', 'pg'] as const)("%s: a model whose hook alone reads a broken model is checked all the same: its SQL reads nothing broken (was: skipped as blocked by its hook's ref(), its own mistake unreported)", async (target) => {
    const problems = await checkFiles({
      ...seed,
      'models/customers.sql': "select id, customr from {{ ref('raw_orders') }}\n",
      'models/orders.sql': "{{ config(materialized='table', post_hook=\"delete from {{ ref('customers') }} where false\") }}\nselect id, amout from {{ ref('raw_orders') }}\n",
    }, target);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^models\/customers\.sql:1:\d+: error: .*customr/);
    expect(problems[1]).toMatch(/^models\/orders\.sql:2(:\d+)?: error: .*amout/);
  });

  it.each(['dev', 'pg'] as const)("%s: an ephemeral model's contract and an alert's window types are checked from the query's columns (was: skipped on Postgres)", async (target) => {
    const problems = await checkFiles({
      ...seed,
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect id, customer from {{ ref('raw_orders') }}\n",
      'models/reads_eph.sql': "select * from {{ ref('eph') }}\n",
      'models/props.yml': 'models:\n  - name: eph\n    columns:\n      - name: id\n        data_type: date\n      - name: region\n        data_type: text\n',
      'alerts/a.yaml': 'alerts:\n  - name: many\n    severity: critical\n    query: select customer, count(*) as n, cast(now() as date) as window_start, now() as window_end from {{ ref(\'reads_eph\') }} group by 1\n    group_by: [customer]\n    condition: { type: threshold, column: n, op: ">", value: 10 }\n    summary: "{{ customer }} has {{ n }}"\n',
    }, target);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^alerts\/a\.yaml:4:\d+: error: alert many: window_start is date but window_end is timestamp with time zone/i);
    expect(problems[1]).toMatch(/^models\/props\.yml:5:\d+: error: model eph: column 'id' is declared date but the model produces (integer|bigint)/i);
    expect(problems[2]).toMatch(/^models\/props\.yml:7:\d+: error: model eph: column 'region' is declared but the model does not produce it \(it produces id, customer\)/);
  });

  it.each(['dev', 'pg'] as const)("%s: an incremental model's is_incremental() branch is checked as its next run sends it: a typo there and a column it adds under on_schema_change: fail are reported (was on DuckDB: OK, the empty table was filled from the full query again, and the second build failed)", async (target) => {
    const problems = await checkFiles({
      ...seed,
      'models/inc_typo.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect id, created_at from {{ ref('raw_orders') }}\n{% if is_incremental() %}\nwhere created_at > (select max(created_att) from {{ this }})\n{% endif %}\n",
      'models/inc_fail.sql': "{{ config(materialized='incremental', unique_key='id', on_schema_change='fail') }}\nselect id{% if is_incremental() %}, amount{% endif %} from {{ ref('raw_orders') }}\n",
      'models/inc_ok.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect id, created_at from {{ ref('raw_orders') }}\n{% if is_incremental() %}\nwhere created_at > (select max(created_at) from {{ this }})\n{% endif %}\n",
    }, target);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^models\/inc_fail\.sql:1:\d+: error: the model's columns differ from .*on_schema_change: fail.*new columns amount/);
    expect(problems[1]).toMatch(/^models\/inc_typo\.sql:4:32: error: .*created_att/);
  });

  it.each(['dev', 'pg', 'prod'] as const)("%s: an incremental model with full_refresh: true, which every build rebuilds, has no next run to check: its is_incremental() branch, never sent, is not reported (was on Postgres: its error, although every build passed)", async (target) => {
    expect(await checkFiles({
      ...seed,
      'models/inc_rebuilt.sql': "{{ config(materialized='incremental', unique_key='id', full_refresh=true) }}\nselect id, created_at from {{ ref('raw_orders') }}\n{% if is_incremental() %}\nwhere created_at > (select max(created_att) from {{ this }})\n{% endif %}\n",
    }, target)).toEqual([]);
  });

  it.each(['dev', 'pg'] as const)("%s: a seed loaded into the table a source declares (vigil init's blank template) checks clean, its models read as the seed loads it (was on Postgres: relation \"raw_events\" already exists, and every model skipped)", async (target) => {
    const files = {
      'seeds/raw_events.csv': 'id,kind\n1,a\n',
      'seeds/seeds.yml': 'seeds:\n  - name: raw_events\n    config:\n      schema: raw_chk\n',
      'models/sources.yml': 'sources:\n  - name: app\n    schema: raw_chk\n    tables:\n      - name: events\n        identifier: raw_events\n        columns:\n          - name: id\n            data_type: bigint\n          - name: kind\n            data_type: text\n',
      'models/from_source.sql': "select id, kind from {{ source('app', 'events') }}\n",
    };
    expect(await checkFiles(files, target)).toEqual([]);
    const wrong = await checkFiles({ ...files, 'models/from_source.sql': "select id, knd from {{ source('app', 'events') }}\n" }, target);
    expect(wrong).toHaveLength(1);
    expect(wrong[0]).toMatch(/^models\/from_source\.sql:1:\d+: error: .*knd/);
  });

  it("pg: a table aliased by a schema's quoted name (\"raw\".\"id\") and a table of the target's schema that is not the project's, named quoted, are read as the build reads them (was: missing FROM-clause entry for table \"raw\"; relation ... does not exist: both pointed at the scratch schema)", async () => {
    const schema = uniqueSchema('chk');
    const client = new pg.Client(url);
    await client.connect();
    try {
      await client.query(`create schema ${schema}; create table ${schema}.legacy (lid int, note text)`);
      const d = makeProject({
        'project.yaml': pgProjectYaml(schema),
        ...seed,
        'seeds/seeds.yml': 'seeds:\n  - name: raw_orders\n    config:\n      schema: raw\n',
        'models/aliased.sql': `select "raw"."id", "raw".amount from {{ ref('raw_orders') }} as "raw"\n`,
        'models/reads_legacy.sql': `select lid, note from "${schema}"."legacy"\n`,
      });
      try {
        const { report } = await checkDir({ projectDir: d, target: 'pg' });
        expect(report.diagnostics.map(formatDiagnostic)).toEqual([]);
      } finally {
        removeDir(d);
      }
    } finally {
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  });

  it('pg: two schemas whose names share their first 47 characters get two scratch schemas (was: "schema vigil_check_..._v already exists"), and an error names the schema, not its scratch one', async () => {
    const eu = 'analytics_customer_success_reporting_layer_v2_eu';
    const files = {
      'models/a_eu.sql': `{{ config(schema='${eu}', materialized='table') }}\nselect 1 as id, 'eu' as region\n`,
      'models/a_us.sql': "{{ config(schema='analytics_customer_success_reporting_layer_v2_us', materialized='table') }}\nselect 2 as id, 'us' as region\n",
      'models/both.sql': "select * from {{ ref('a_eu') }} union all select * from {{ ref('a_us') }}\n",
    };
    expect(await checkFiles(files, 'pg')).toEqual([]);
    // (a relation of the schema that is not built: named in the schema's own name)
    const missing = await checkFiles({ ...files, 'models/both.sql': `select * from {{ ref('a_eu') }} union all select * from {{ ref('a_us') }} union all select * from "${eu}"."nope"\n` }, 'pg');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(new RegExp(`^models/both\\.sql:1(:\\d+)?: error: relation "${eu}\\.nope" does not exist`));
    expect(missing[0]).not.toMatch(/vigil_check/);
  });

  it("pg: a schema of multi-byte characters gets a scratch schema of at most 63 bytes, so an error names the schema, not its scratch one (was: cut at 63 characters, Postgres cut it again at 63 bytes, and the message named 'vigil_check_..._1_схема_дддд')", async () => {
    // 11 + 32 bytes of Cyrillic, then uniqueSchema's suffix: at most 63 bytes, the scratch name
    // (`vigil_check_<6 hex>_1_` before it) more
    const schema = uniqueSchema('x').replace(/^x/, `схема_${'д'.repeat(16)}`);
    expect(Buffer.byteLength(schema)).toBeLessThanOrEqual(63);
    expect(Buffer.byteLength(`vigil_check_000000_1_${schema}`)).toBeGreaterThan(63);
    expect(`vigil_check_000000_1_${schema}`.length).toBeLessThanOrEqual(63);
    const d = makeProject({ 'project.yaml': pgProjectYaml(schema), 'models/a.sql': 'select 1 as id\n', 'models/c.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('a') }} union all select * from {{ this }}\n" });
    try {
      const { report } = await checkDir({ projectDir: d, target: 'pg' });
      const problems = report.diagnostics.map(formatDiagnostic);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^models\/c\.sql:2(:\d+)?: error: relation "([^"]+)\.c" does not exist/);
      expect(problems[0]).toContain(`relation "${schema}.c" does not exist`);
      expect(problems[0]).not.toMatch(/vigil_check/);
    } finally {
      removeDir(d);
    }
  });
});

describe('vigil check -s: the tests of what it selects, as vigil build runs them', () => {
  it("a seed selected does not bring the tests of the source it fills: they are the source's (was: checked with the seed)", () => {
    const dir = makeProject({
      'seeds/sample_events.csv': 'event_id\n1\n',
      'models/sources.yml': 'sources:\n  - name: app\n    schema: analytics\n    tables:\n      - name: events\n        identifier: sample_events\n        columns:\n          - name: event_id\n            data_type: bigint\n            tests: [unique, not_null]\n',
    });
    try {
      const seed = vigil(dir, ['check', '-s', 'resource_type:seed']);
      expect(seed.code, seed.stderr).toBe(0);
      expect(seed.stdout).toContain('0 tests');
      const source = vigil(dir, ['check', '-s', 'source:app']);
      expect(source.code, source.stderr).toBe(0);
      expect(source.stdout).toContain('2 tests');
    } finally {
      removeDir(dir);
    }
  });
});

describe('without the analyzer installed', () => {
  it('vigil check --target prod says in one line how to install it, exit 2; the DuckDB check still runs', async () => {
    const { mkdirSync, readdirSync, symlinkSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    // an install of vigil whose node_modules has everything but @fivetrandevelopers/zetasql
    const inst = mkdtempSync(join(tmpdir(), 'vigil-nozeta-'));
    try {
      for (const p of ['dist', 'bin', 'package.json']) cpSync(join(REPO, p), join(inst, p), { recursive: true });
      mkdirSync(join(inst, 'node_modules'));
      for (const e of readdirSync(join(REPO, 'node_modules'))) {
        if (e === '@fivetrandevelopers' || e === '.bin') continue;
        symlinkSync(join(REPO, 'node_modules', e), join(inst, 'node_modules', e), 'dir');
      }
      const cli = (args: string[]) => spawnSync(process.execPath, [join(inst, 'bin', 'vigil.js'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...ENV } });
      const r = cli(['check', '--target', 'prod']);
      // (beside the compile's warnings for prod: on_schema_change on BigQuery)
      expect(r.stderr.trim().split('\n').filter((l) => !/: warning: /.test(l))).toEqual(['error: vigil check on BigQuery needs Google\'s SQL analyzer: npm install --save-dev @fivetrandevelopers/zetasql@1.13.0 (an optional dependency of vigil; about 110 MB, nothing is downloaded at run time)']);
      expect(r.status).toBe(2);
      const d = cli(['check']);
      expect(d.stdout).toMatch(/OK: 23 models/);
      expect(d.status).toBe(0);
    } finally {
      rmSync(inst, { recursive: true, force: true });
    }
  });

  it("an analyzer package whose client does not load: exit 2 saying so before any analyzer is started, no stack trace", async () => {
    const { mkdirSync, symlinkSync } = await import('node:fs');
    // the project's own install of the package, with its client broken (a dependency missing)
    const proj = copyShipped();
    try {
      const real = join(REPO, 'node_modules', '@fivetrandevelopers', 'zetasql');
      const pkg = join(proj, 'node_modules', '@fivetrandevelopers', 'zetasql');
      mkdirSync(join(pkg, 'lib'), { recursive: true });
      cpSync(join(real, 'package.json'), join(pkg, 'package.json'));
      for (const d of ['types', 'zetasql']) symlinkSync(join(real, 'lib', d), join(pkg, 'lib', d), 'dir');
      writeFileSync(join(pkg, 'lib', 'index.js'), "throw new Error(\"Cannot find module '@grpc/grpc-js'\");\n");
      const r = vigil(proj, ['check', '--target', 'prod'], ENV);
      expect(r.stderr).toContain("error: @fivetrandevelopers/zetasql is installed but its client does not load (reinstall it: npm install --save-dev @fivetrandevelopers/zetasql@1.13.0): Cannot find module '@grpc/grpc-js'");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code).toBe(2);
      // the failed start is not kept: the next check in the same process (the test host, like
      // vigil serve) with a sound package asks its analyzer
      const golden = mkdtempSync(join(tmpdir(), 'vigil-golden-'));
      try {
        cpSync(join(REPO, 'test/fixtures/projects/golden'), golden, { recursive: true });
        rmSync(join(golden, 'target'), { recursive: true, force: true });
        const next = vigil(golden, ['check', '--target', 'bq'], ENV);
        expect(next.stdout + next.stderr).toMatch(/Analyzer answers: \d+ reused, [1-9]\d* new/);
        expect(next.code, next.stderr).toBe(0);
      } finally {
        rmSync(golden, { recursive: true, force: true });
      }
    } finally {
      rmSync(proj, { recursive: true, force: true });
    }
  });
});
