/**
 * A warehouse error points at the model file and the line:column of the compiled SQL, whatever
 * the statement wrapped around it (DDL, an incremental delete+insert, BigQuery's DECLARE + MERGE
 * script that holds the SQL twice), on DuckDB, Postgres and (through the loopback fake, which
 * answers with BigQuery's `at [line:col]` positions) BigQuery. An incremental run points at the
 * SQL it actually ran: `<model>@incremental.sql`, which compile writes.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueSchema } from '../support/postgres.js';
import { useFakeBigQuery } from '../support/fake-bigquery.js';
import { makeProject, removeDir, vigil, vigilAsync } from '../helpers.js';

const dirs: string[] = [];
// the loopback BigQuery, started before the tests and closed after them
const bq = useFakeBigQuery();
afterAll(() => dirs.forEach(removeDir));

// the bad column is on line 4 of the model's compiled SQL, column 3 (in both renders)
const INCREMENTAL = `{{ config(materialized='incremental', unique_key='id') }}
select
  id,
  {% if is_incremental() %}no_such_column{% else %}v{% endif %} as v
from {{ ref('base') }}
{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}
`;
const TABLE = `{{ config(materialized='table') }}
select
  id,
  v + nope as w
from {{ ref('base') }}
`;

function project(yaml: string, base: string): string {
  const dir = makeProject({ 'project.yaml': yaml, 'models/base.sql': base, 'models/t.sql': TABLE });
  dirs.push(dir);
  return dir;
}

describe('error lines of the compiled SQL', () => {
  it('DuckDB: a table in its CREATE, an incremental run in its staging statement', () => {
    const dir = project(`name: el\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/el.duckdb, schema: analytics }\n`, "{{ config(materialized='table') }}\nselect 1 as id, 2 as v");
    const r = vigil(dir, ['run']);
    expect(r.stdout).toContain('models/t.sql (compiled SQL: target/compiled/el/models/t.sql:4:7)');
    // DuckDB's LINE is the compiled SQL's line too, its caret under column 7 (was: LINE 5, the CREATE's line)
    expect(r.stdout).toMatch(/\n {4}LINE 4: {3}v \+ nope as w\n {4}( *)\^/);
    expect(/\n {4}LINE 4: {3}v \+ nope as w\n {4}( *)\^/.exec(r.stdout)![1].length).toBe('LINE 4: '.length + 6);
    // a line past 9 whose statement's line is 10: the caret kept under its character
    writeFileSync(join(dir, 'models/t.sql'), TABLE.replace('select\n', `${'-- note\n'.repeat(5)}select\n`));
    const nine = vigil(dir, ['run', '-s', 't']);
    expect(nine.stdout).toContain('models/t.sql (compiled SQL: target/compiled/el/models/t.sql:9:7)');
    expect(nine.stdout).toMatch(/\n {4}LINE 9: {3}v \+ nope as w\n {4} {14}\^/);
    writeFileSync(join(dir, 'models/t.sql'), TABLE);
    writeFileSync(join(dir, 'models/inc.sql'), INCREMENTAL);
    expect(vigil(dir, ['run', '-s', 'base', 'inc']).code).toBe(0);
    // first run: the full build works (the else branch); the incremental run fails in its own SQL
    const r2 = vigil(dir, ['run', '-s', 'inc']);
    expect(r2.stdout).toContain('models/inc.sql (compiled SQL: target/compiled/el/models/inc@incremental.sql:4:3)');
    expect(readFileSync(join(dir, 'target/compiled/el/models/inc@incremental.sql'), 'utf8').split('\n')[3]).toBe('  no_such_column as v');
    expect(r2.code).toBe(1);
  });

  it("a config(), {% set %}, {# comment #} or {% set %} block written over several lines keeps the lines it spans: the compiled SQL's line is the model's (was: m.sql:4:3 for the bad column on line 7)", () => {
    const dir = project(`name: el\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/el.duckdb, schema: analytics }\n`, "{{ config(materialized='table') }}\nselect 1 as id, 2 as v");
    const models = {
      // the model
      m: "{{ config(\n  materialized='table',\n  tags=['x']\n) }}\n\nselect 1 as a,\n  nosuchcol as b",
      // every kind of tag that renders nothing, over lines; a loop (rendered by nunjucks, not the fast path)
      n: "{{ config(\n  materialized='table'\n) }}\n{% set cols = [\n  'id',\n  'v'\n] %}\n{#\n  a note\n#}\n{% set body %}\n  x\n{% endset %}\nselect\n  {% for c in cols %}{{ c }}, {% endfor %}\n  nope as w\nfrom {{ ref('base') }}",
    };
    for (const [name, sql] of Object.entries(models)) writeFileSync(join(dir, `models/${name}.sql`), sql);
    expect(vigil(dir, ['run', '-s', 'base']).code).toBe(0);
    const r = vigil(dir, ['run', '-s', 'm', 'n']);
    expect(r.stdout).toContain('models/m.sql (compiled SQL: target/compiled/el/models/m.sql:7:3)');
    expect(r.stdout).toContain('models/n.sql (compiled SQL: target/compiled/el/models/n.sql:16:3)');
    for (const [name, sql] of Object.entries(models)) {
      const compiled = readFileSync(join(dir, `target/compiled/el/models/${name}.sql`), 'utf8').split('\n');
      // line for line: the SQL after the tags is where the model has it
      const lines = sql.split('\n');
      const last = lines.length - 1;
      expect(compiled.slice(last - 1, last + 1)).toEqual(lines.slice(last - 1).map((l) => l.replace(/\{%.*%\}/, 'id, v, ').replace(/\{\{ ref\('base'\) \}\}/, '"analytics"."base"')));
    }
    expect(r.code).toBe(1);
  });

  it('Postgres: the same lines through its CREATE ... AS and its temp-table staging', () => {
    const schema = uniqueSchema('errlines');
    const dir = project(`name: el\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: ${schema} }\n`, "{{ config(materialized='table') }}\nselect 1 as id, 2 as v");
    const env = { DATABASE_URL: inject('pgUrl') };
    const r = vigil(dir, ['run'], env);
    expect(r.stdout).toContain('models/t.sql (compiled SQL: target/compiled/el/models/t.sql:4:7)');
    expect(r.stdout).toContain('\n    LINE 4: v + nope as w');
    writeFileSync(join(dir, 'models/inc.sql'), INCREMENTAL);
    vigil(dir, ['run', '-s', 'base', 'inc'], env);
    const r2 = vigil(dir, ['run', '-s', 'inc'], env);
    expect(r2.stdout).toContain('models/inc.sql (compiled SQL: target/compiled/el/models/inc@incremental.sql:4:3)');
    expect(r2.code).toBe(1);
  });

  it('BigQuery: positions inside the CREATE TABLE script and inside the incremental script (its temp table holds the SQL, once)', async () => {
    const dir = project(`name: el\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: el-proj, dataset: analytics, location: US }\n`, "{{ config(materialized='table') }}\nselect 1 as id, 2 as v");
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: bq.fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    // CREATE OR REPLACE TABLE `el-proj`.`analytics`.`t` / OPTIONS(labels=...) / AS / <the compiled SQL>: line 4 of it is line 7
    bq.fake.onQuery(/CREATE OR REPLACE TABLE `el-proj`\.`analytics`\.`t`/, { error: { httpStatus: 400, reason: 'invalidQuery', message: 'Unrecognized name: nope at [7:7]' }, as: 'job' });
    const r = await vigilAsync(dir, ['run', '-s', 't'], env);
    expect(r.stdout).toContain('models/t.sql (compiled SQL: target/compiled/el/models/t.sql:4:7)');
    expect(r.stdout).toMatch(/invalidQuery: Unrecognized name: nope at \[7:7\]/);
    // an incremental run of a partitioned table: CREATE TEMP TABLE vigil_new_rows AS (<sql>); BEGIN DECLARE vigil_min ...;
    // MERGE ... USING vigil_new_rows ...; END: the script holds the SQL once (it held it twice: the DECLARE's and the MERGE's)
    bq.fake.addTable('el-proj', 'analytics', 'inc', { fields: [{ name: 'id', type: 'INT64' }, { name: 'day', type: 'DATE' }, { name: 'v', type: 'INT64' }], timePartitioning: { type: 'DAY', field: 'day' } });
    writeFileSync(join(dir, 'models/inc.sql'), INCREMENTAL.replace("unique_key='id'", "unique_key=['id', 'day'], partition_by={'field': 'day', 'data_type': 'date'}").replace('  id,\n', '  id, current_date() as day,\n'));
    let mergeScript = '';
    bq.fake.onQuery(
      (sql) => {
        if (!sql.startsWith('CREATE TEMP TABLE vigil_new_rows')) return false;
        mergeScript = sql;
        return true;
      },
      { error: { httpStatus: 400, reason: 'invalidQuery', message: 'Unrecognized name: no_such_column at [5:3]' }, as: 'job' },
    );
    const r2 = await vigilAsync(dir, ['run', '-s', 'inc'], env);
    const lines = mergeScript.split('\n');
    expect(lines.filter((l) => l === '  no_such_column as v')).toHaveLength(1);
    expect(lines[4]).toBe('  no_such_column as v'); // line 5 of the script: the temp table's query, line 4 of the SQL
    expect(r2.stdout).toContain('models/inc.sql (compiled SQL: target/compiled/el/models/inc@incremental.sql:4:3)');
    expect(existsSync(join(dir, 'target/compiled/el/models/inc@incremental.sql'))).toBe(true);
    expect(r2.code).toBe(1);
  });
});
