/**
 * Masking (docs/governance.md#masking): the published SELECT per dialect, what makes a column
 * PII, the errors at their YAML line (unknown policy, malformed principals, a PII column without
 * a policy under masking.require_policy), the compile-time PII lineage check (a PII column that
 * reaches a published relation unmasked, directly, through expressions, ephemeral models or
 * several models — the shipped project's privacy rule is one case), and the `no_unmasked_pii`
 * data test on a real DuckDB through the CLI.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileProject } from '../../src/compile/compile-project.js';
import type { ModelNode } from '../../src/compile/manifest.js';
import { loadProject } from '../../src/project/load-project.js';
import { formatDiagnostic } from '../../src/errors.js';
import { piiLeaks } from '../../src/check/pii-lineage.js';
import { dialectOf } from '../../src/adapters/index.js';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';
import { BASIC_PROJECT_YAML as BASIC_TARGET, makeProject, projectFiles, removeDir, REPO, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const TARGETS = {
  duckdb: 'dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }',
  postgres: 'dev: { type: postgres, url: "postgres://u:p@127.0.0.1:1/db", schema: analytics }',
  bigquery: 'dev: { type: bigquery, project: p, dataset: analytics, location: US }',
};
const projectYaml = (t: keyof typeof TARGETS, extra = '') => `name: fixture\ndefault_target: dev\ntargets:\n  ${TARGETS[t]}\n${extra}`;

const PEOPLE_YML = `models:
  - name: people
    columns:
      - name: id
      - name: email
        policy: hash
      - name: prompt
        meta: { pii: true }
      - name: note
        policy: redact
      - name: n
        policy: drop
`;

function compile(t: keyof typeof TARGETS, models: Record<string, string>, yml: Record<string, string>, extra = '') {
  const r = compileProject(projectFiles({ projectYaml: projectYaml(t, extra), models, yml }), { env: {} });
  return { r, errors: r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) };
}
const model = (r: ReturnType<typeof compileProject>, name: string) => r.manifest.nodes[`model.fixture.${name}`] as ModelNode;

describe('the published relation applies each policy', () => {
  const people = { 'models/people.sql': 'select id, email, prompt, note, n, 1 as undeclared from raw_people' };
  it.each([
    ['duckdb', `select "id", sha256(cast("email" as varchar)) as "email", case when "prompt" is null then null else '****' end as "prompt", cast(null as VARCHAR) as "note" from (`],
    ['postgres', `select "id", encode(sha256(convert_to(cast("email" as text), 'UTF8')), 'hex') as "email", case when "prompt" is null then null else '****' end as "prompt", cast(null as text) as "note" from (`],
    ['bigquery', "select `id`, TO_HEX(SHA256(CAST(`email` AS STRING))) as `email`, case when `prompt` is null then null else '****' end as `prompt`, cast(null as STRING) as `note` from ("],
  ] as const)('%s', (t, first) => {
    const { r, errors } = compile(t, people, { 'models/people.yml': PEOPLE_YML });
    expect(errors).toEqual([]);
    const m = model(r, 'people');
    // exactly the declared columns, dropped ones absent, the model's own SELECT inside
    expect(m.compiled_sql.split('\n')[0]).toBe(first);
    expect(m.compiled_sql).toBe(`${first}\nselect id, email, prompt, note, n, 1 as undeclared from raw_people\n) as __vigil_unmasked`);
    expect(m.unmasked_sql).toBe('select id, email, prompt, note, n, 1 as undeclared from raw_people');
    expect(m.compiled_body_line).toBe(1);
  });

  it('meta.pii or a content name means mask; meta: { pii: false } and unmarked columns are left alone', () => {
    const { r } = compile('duckdb', { 'models/a.sql': 'select 1 as id, 2 as prompt, 3 as notes, 4 as messages' }, {
      'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n      - name: prompt\n      - name: notes\n        meta: { pii: possible }\n      - name: messages\n        meta: { pii: false }\n',
    });
    expect(model(r, 'a').compiled_sql.split('\n')[0]).toBe(`select "id", case when "prompt" is null then null else '****' end as "prompt", case when "notes" is null then null else '****' end as "notes", "messages" from (`);
    // no policy anywhere: the model's SQL as it is
    const plain = compile('duckdb', { 'models/b.sql': 'select 1 as id' }, { 'models/b.yml': 'models:\n  - name: b\n    columns:\n      - name: id\n' });
    expect(model(plain.r, 'b').compiled_sql).toBe('select 1 as id');
    expect(model(plain.r, 'b').unmasked_sql).toBeUndefined();
  });

  it('a YAML null (meta: { pii: ~ }, an empty pii:) marks PII: only false/no/none declassify (was: taken as not PII, published as it is)', () => {
    const { r, errors } = compile('duckdb', { 'models/a.sql': 'select 1 as id, 2 as email, 3 as phone, 4 as note' }, {
      'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n      - name: email\n        meta: { pii: ~ }\n      - name: phone\n        meta:\n          pii:\n      - name: note\n        meta: { pii: no }\n',
    });
    expect(errors).toEqual([]);
    expect(model(r, 'a').compiled_sql.split('\n')[0]).toBe(`select "id", case when "email" is null then null else '****' end as "email", case when "phone" is null then null else '****' end as "phone", "note" from (`);
  });
});

describe('bad input is an error at its YAML line', () => {
  it('an unknown policy names the nearest one', () => {
    const { errors } = compile('duckdb', { 'models/people.sql': 'select 1 as id' }, { 'models/people.yml': PEOPLE_YML.replace('policy: hash', 'policy: masc') });
    expect(errors).toEqual([expect.stringMatching(/^models\/people\.yml:6:17: error: models\[0\]\.columns\[1\]\.policy: 'masc' is not one of 'mask', 'hash', 'redact', 'drop' — did you mean 'mask'\?/)]);
  });

  it('masking.require_policy: a PII column without a policy', () => {
    const { errors } = compile('duckdb', { 'models/people.sql': 'select 1 as id' }, { 'models/people.yml': PEOPLE_YML }, 'masking: { require_policy: true }\n');
    expect(errors).toEqual([expect.stringMatching(/^models\/people\.yml:7:15: error: column 'prompt' of model 'people' is PII \(its YAML marks it meta: \{ pii: true \}\) and has no policy, which masking\.require_policy requires \[E_MASKING\]/)]);
    // without require_policy it is masked, no error
    expect(compile('duckdb', { 'models/people.sql': 'select 1 as id' }, { 'models/people.yml': PEOPLE_YML }).errors).toEqual([]);
  });

  it('a BigQuery member without user:/group:/serviceAccount:/domain:, in YAML, config() and folder configs', () => {
    const yml = `models:\n  - name: a\n    config:\n      grants: { select: ["group:compliance@example.com", "compliance@example.com"] }\n      restricted: { grants: { select: ["serviceAccount:sa@p.iam.gserviceaccount.com", "group:x"] } }\n`;
    const { errors } = compile(
      'bigquery',
      { 'models/a.sql': 'select 1 as id', 'models/marts/b.sql': "{{ config(grants={'select': ['user:ana@example.com', 'ana']}) }}\nselect 1 as id" },
      { 'models/a.yml': yml },
      'models:\n  marts:\n    +grants: { select: ["domain:example.com", "sre"] }\n',
    );
    expect(errors.map((e) => e.split('\n')[0]).sort()).toEqual([
      "models/a.yml:4:58: error: grants.select: 'compliance@example.com' is not a BigQuery member: write user:name@example.com, group:team@example.com, serviceAccount:sa@project.iam.gserviceaccount.com or domain:example.com [E_GRANTS]",
      "models/a.yml:5:87: error: restricted.grants.select: 'group:x' is not a BigQuery member: write user:name@example.com, group:team@example.com, serviceAccount:sa@project.iam.gserviceaccount.com or domain:example.com [E_GRANTS]",
      "models/marts/b.sql:1:11: error: grants.select: 'ana' is not a BigQuery member: write user:name@example.com, group:team@example.com, serviceAccount:sa@project.iam.gserviceaccount.com or domain:example.com [E_GRANTS]",
      "project.yaml:7:47: error: grants.select: 'sre' is not a BigQuery member: write user:name@example.com, group:team@example.com, serviceAccount:sa@project.iam.gserviceaccount.com or domain:example.com [E_GRANTS]",
    ]);
  });

  it('no_unmasked_pii belongs to a model, not a column', () => {
    const { errors } = compile('duckdb', { 'models/a.sql': 'select 1 as id' }, { 'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests: [no_unmasked_pii]\n' });
    expect(errors).toEqual([expect.stringMatching(/^models\/a\.yml:5:17: error: no_unmasked_pii is declared on a model/)]);
  });
});

describe('the compile-time PII check follows column lineage', () => {
  const SOURCES = `sources:\n  - name: raw\n    tables:\n      - name: people\n        columns:\n          - name: id\n          - name: email\n            meta: { pii: true }\n          - name: bio\n`;
  const leaks = async (models: Record<string, string>, yml = '') => {
    const { r, errors } = compile('duckdb', models, { 'models/sources.yml': SOURCES, ...(yml ? { 'models/m.yml': yml } : {}) });
    expect(errors).toEqual([]);
    const ds = await piiLeaks(r.manifest, dialectOf('duckdb'), (m, c) => ({ file: m.file, line: 1, column: c ? 1 : 0 }));
    return ds.map((d) => `${d.severity}: ${d.message}`);
  };

  it('a copy, an expression, through an ephemeral model and through a chain of models', async () => {
    expect(
      await leaks({
        'models/copy.sql': "select id, email as contact from {{ source('raw', 'people') }}",
        'models/expr.sql': "select id, lower(email) || '!' as e, bio from {{ source('raw', 'people') }}",
        'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect id, email from {{ source('raw', 'people') }}",
        'models/via_eph.sql': "select id, email from {{ ref('eph') }}",
        'models/second.sql': "select id, contact from {{ ref('copy') }}",
      }),
    ).toEqual([
      "error: column 'contact' of model 'copy' publishes PII unmasked: it is a copy of source raw.people.email",
      "error: column 'e' of model 'expr' publishes PII unmasked: it is derived from source raw.people.email",
      "error: column 'contact' of model 'second' publishes PII unmasked: it is a copy of source raw.people.email",
      "error: column 'email' of model 'via_eph' publishes PII unmasked: it is a copy of source raw.people.email",
    ]);
  });

  it('a policy stops it, and what reads the masked relation is clean; meta: { pii: false } declassifies; select * is expanded', async () => {
    const yml = 'models:\n  - name: masked\n    columns:\n      - name: id\n      - name: email\n        policy: hash\n  - name: counted\n    columns:\n      - name: n\n        meta: { pii: false }\n';
    expect(
      await leaks(
        {
          'models/masked.sql': "select id, email from {{ source('raw', 'people') }}",
          'models/after.sql': "select email as h from {{ ref('masked') }}",
          'models/counted.sql': "select length(email) as n from {{ source('raw', 'people') }}",
          'models/star.sql': "select * from {{ source('raw', 'people') }}",
        },
        yml,
      ),
    ).toEqual([
      // a source's YAML need not list all its columns: what * brings besides them is unseen
      "warn: model 'star' reads PII (source raw.people.email) and its column lineage is incomplete: *: raw.people may have columns besides its 3 known ones (id, email, bio); PII may reach it unseen",
      "error: column 'email' of model 'star' publishes PII unmasked: it is a copy of source raw.people.email",
    ]);
  });

  it('a published column named like prompt or response content that no YAML declares (nothing would mask it); declared, it is masked', async () => {
    expect(
      await leaks(
        {
          'models/named.sql': "select id, bio as prompt, bio as completion_text from {{ source('raw', 'people') }}",
          'models/declared.sql': "select id, bio as prompt from {{ source('raw', 'people') }}",
          'models/reviewed.sql': "select id, bio as content from {{ source('raw', 'people') }}",
        },
        'models:\n  - name: declared\n    columns:\n      - name: id\n      - name: prompt\n  - name: reviewed\n    columns:\n      - name: id\n      - name: content\n        meta: { pii: false }\n',
      ),
    ).toEqual([
      "error: column 'prompt' of model 'named' is named like prompt or response content and is published unmasked: a content column is masked when its YAML declares it",
      "error: column 'completion_text' of model 'named' is named like prompt or response content and is published unmasked: a content column is masked when its YAML declares it",
    ]);
  });

  it("a content column a source does not declare, published under another name or derived from: E_PII (was: compiled, the prompt published as 'p')", async () => {
    expect(
      await leaks(
        {
          'models/renamed.sql': "select id, prompt as p, upper(messages) as m from {{ source('raw', 'people') }}",
          'models/reviewed.sql': "select id, prompt as p from {{ source('raw', 'people') }}",
        },
        'models:\n  - name: reviewed\n    columns:\n      - name: id\n      - name: p\n        meta: { pii: false }\n',
      ),
    ).toEqual([
      "error: column 'p' of model 'renamed' publishes PII unmasked: it is a copy of source raw.people.prompt",
      "error: column 'm' of model 'renamed' publishes PII unmasked: it is derived from source raw.people.messages",
    ]);
  });

  it("the shipped project: request_metadata (meta.pii in sources.yml) reaching a model is the privacy rule's case", async () => {
    const r = compileProject(loadProject(REPO), { env: {} });
    const dialect = dialectOf('duckdb');
    const where = (m: { file: string }) => ({ file: m.file });
    expect(await piiLeaks(r.manifest, dialect, where)).toEqual([]);
    const stg = r.manifest.nodes['model.ai_audit.stg_ai_audit_logs'] as ModelNode;
    stg.compiled_sql = stg.compiled_sql.replace('  workspace_snapshot_id,', '  workspace_snapshot_id,\n  request_metadata as context,');
    expect((await piiLeaks(r.manifest, dialect, where)).map((d) => d.message)).toEqual(["column 'context' of model 'stg_ai_audit_logs' publishes PII unmasked: it is a copy of source raw.ai_audit_logs.request_metadata"]);
  });
});

describe('on a real DuckDB, through the CLI', () => {
  it('PII through a snapshot: a model reading the snapshot is checked as if it read the source (was: compiled, the raw values published)', () => {
    const dir = makeProject({
      'models/sources.yml': 'sources:\n  - name: app\n    schema: raw\n    tables:\n      - name: items\n        columns:\n          - name: id\n          - name: name\n            meta: { pii: true }\n',
      'snapshots/s.sql': "{% snapshot items_snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect * from {{ source('app', 'items') }}\n{% endsnapshot %}\n",
      'models/leak.sql': "select id, upper(name) as who from {{ ref('items_snap') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.stdout + r.stderr).toContain("error: column 'who' of model 'leak' publishes PII unmasked: it is derived from source app.items.name");
    expect(r.code).toBe(2);
    // the snapshot's column reviewed as no personal data: nothing to say
    writeFileSync(join(dir, 'snapshots/s.yml'), 'snapshots:\n  - name: items_snap\n    columns:\n      - name: name\n        meta: { pii: false }\n');
    const ok = vigil(dir, ['compile']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // a policy on a snapshot column masks nothing (warned) and marks it PII, as on a seed or source
    writeFileSync(join(dir, 'snapshots/s.yml'), 'snapshots:\n  - name: items_snap\n    columns:\n      - name: name\n        meta: { pii: false }\n      - name: id\n        policy: hash\n');
    const marked = vigil(dir, ['compile']);
    expect(marked.stderr).toContain("snapshots/s.yml:7:17: warning: column 'id' of snapshot 'items_snap': policy: hash masks nothing here");
    expect(marked.stdout + marked.stderr).toContain("error: column 'id' of model 'leak' publishes PII unmasked: it is a copy of items_snap.id [E_PII]");
    expect(marked.code).toBe(2);
  });

  it('PII through ephemeral models into a snapshot (inlined as its CTEs): traced to the model reading the snapshot', () => {
    const dir = makeProject({
      'models/sources.yml': 'sources:\n  - name: app\n    schema: raw\n    tables:\n      - name: items\n        columns:\n          - name: id\n          - name: name\n            meta: { pii: true }\n',
      'models/eph1.sql': "{{ config(materialized='ephemeral') }}\nselect id, name from {{ source('app', 'items') }}",
      'models/eph2.sql': "{{ config(materialized='ephemeral') }}\nselect id, name as who from {{ ref('eph1') }}",
      'snapshots/s.sql': "{% snapshot items_snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect * from {{ ref('eph2') }}\n{% endsnapshot %}\n",
      'models/leak.sql': "select id, who from {{ ref('items_snap') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.stdout + r.stderr).toContain("error: column 'who' of model 'leak' publishes PII unmasked: it is a copy of source app.items.name [E_PII]");
    expect(r.code).toBe(2);
  });

  it("a snapshot's dbt_scd_id holds its unique_key as text: a PII key makes it PII (was: not among the snapshot's known columns, a warning)", () => {
    const dir = makeProject({
      'models/sources.yml': 'sources:\n  - name: app\n    schema: raw\n    tables:\n      - name: items\n        columns:\n          - name: email\n            meta: { pii: true }\n          - name: name\n',
      // (its columns named: * over a source is a warning of its own)
      'snapshots/s.sql': "{% snapshot items_snap %}\n{{ config(unique_key='email', strategy='check', check_cols='all') }}\nselect email, name from {{ source('app', 'items') }}\n{% endsnapshot %}\n",
      'models/leak.sql': "select dbt_scd_id, dbt_valid_from, name from {{ ref('items_snap') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.stdout + r.stderr).toContain("error: column 'dbt_scd_id' of model 'leak' publishes PII unmasked: it is a copy of source app.items.email [E_PII]");
    expect(r.stdout + r.stderr).not.toMatch(/dbt_valid_from|W_PII/);
    expect(r.code).toBe(2);
  });

  const SHA256_A = '478abec7430569163161dfea8513b8ce89d05f559456a26e945c66e1fe55a29d';
  it('publishes masked values, builds the restricted view, and no_unmasked_pii fails on a relation built before its policy', () => {
    const dir = makeProject({
      'seeds/raw_people.csv': 'id,email,prompt,note,n\n1,a@x.com,hello there,ok,5\n2,,secret,fine,7\n',
      'models/people.sql': "{{ config(materialized='table', restricted={'grants': {'select': ['auditor']} }) }}\nselect id, email, prompt, note, n from {{ ref('raw_people') }}",
      // declared types describe the unmasked values: vigil check does not hold the published relation to them
      'models/people.yml': PEOPLE_YML.replace('  - name: people\n', '  - name: people\n    tests: [no_unmasked_pii]\n').replace('        policy: drop\n', '        policy: drop\n        data_type: bigint\n').replace('        policy: hash\n', '        policy: hash\n        data_type: varchar\n'),
    });
    dirs.push(dir);
    const check = vigil(dir, ['check']);
    expect(check.stdout + check.stderr).toMatch(/OK: 1 model, 1 test, /);
    expect(check.code).toBe(0);
    const r = vigil(dir, ['build']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/no access control/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/PASS no_unmasked_pii_people/);
    const show = (sql: string) => JSON.parse(vigil(dir, ['show', '--inline', sql, '--output', 'json']).stdout);
    expect(show('select * from analytics.people order by id')).toEqual([
      { id: 1, email: SHA256_A, prompt: '****', note: null },
      { id: 2, email: null, prompt: '****', note: null },
    ]);
    expect(show('select id, email, prompt, n from analytics.people__restricted order by id')).toEqual([
      { id: 1, email: 'a@x.com', prompt: 'hello there', n: 5 },
      { id: 2, email: null, prompt: 'secret', n: 7 },
    ]);

    // a relation built before the policies were written: the data test sees what it shows
    writeFileSync(join(dir, 'models/people.yml'), 'models:\n  - name: people\n    columns:\n      - name: id\n      - name: email\n      - name: n\n');
    expect(vigil(dir, ['run']).code).toBe(0);
    writeFileSync(join(dir, 'models/people.yml'), PEOPLE_YML.replace('  - name: people\n', '  - name: people\n    tests: [no_unmasked_pii]\n'));
    const t = vigil(dir, ['test']);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/FAIL 4 no_unmasked_pii_people/);
    for (const row of [/email +\| not hashed +\| 1/, /prompt +\| not masked +\| 2/, /note +\| not redacted +\| 2/, /n +\| published +\| 1/]) expect(t.stdout).toMatch(row);
    expect(vigil(dir, ['build']).code).toBe(0);
  });

  it.each([
    ['an unknown policy', BASIC_TARGET, PEOPLE_YML.replace('policy: redact', 'policy: redcat'), /^models\/people\.yml:10:17: error: models\[0\]\.columns\[3\]\.policy: 'redcat' is not one of 'mask', 'hash', 'redact', 'drop' — did you mean 'redact'\? \[E_SCHEMA\]/m],
    ['a PII column without a policy under masking.require_policy', `${BASIC_TARGET}masking: { require_policy: true }\n`, PEOPLE_YML, /^models\/people\.yml:7:15: error: column 'prompt' of model 'people' is PII .* \[E_MASKING\]/m],
    ['a BigQuery member without its kind', 'name: fixture\ndefault_target: prod\ntargets:\n  prod: { type: bigquery, project: p, dataset: analytics }\n', PEOPLE_YML.replace('    columns:', '    config: { grants: { select: ["sre@example.com"] } }\n    columns:'), /^models\/people\.yml:3:34: error: grants\.select: 'sre@example\.com' is not a BigQuery member/m],
  ])('%s: exit 2 at its YAML line, nothing built, no stack trace', (_what, projectYaml, yml, message) => {
    const dir = makeProject({ 'project.yaml': projectYaml, 'models/people.sql': 'select 1 as id', 'models/people.yml': yml });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toMatch(/OK created|granted/);
  });

  it("a seed's columns are its CSV header's, declared in YAML or not (was: W_PII 'column id: not among the known columns' for a header column the YAML left out)", () => {
    const dir = makeProject({
      'seeds/raw_people.csv': 'id,email,note\n1,a@x.com,hi\n',
      'seeds/seeds.yml': 'seeds:\n  - name: raw_people\n    columns:\n      - name: email\n        meta: { pii: true }\n',
      'models/people.sql': "select id, note from {{ ref('raw_people') }}",
      'models/everyone.sql': "select * from {{ ref('raw_people') }}",
      'models/everyone.yml': 'models:\n  - name: everyone\n    columns:\n      - name: email\n        policy: hash\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toContain('W_PII');
    // select * sees the header's columns: the PII one reaches a model that does not mask it
    writeFileSync(join(dir, 'models/everyone.yml'), 'models:\n  - name: everyone\n    columns:\n      - name: id\n');
    const leak = vigil(dir, ['compile']);
    expect(leak.code).toBe(2);
    expect(leak.stderr).toContain("error: column 'email' of model 'everyone' publishes PII unmasked: it is a copy of raw_people.email [E_PII]");
    expect(leak.stderr).not.toContain('W_PII');
  });

  it("a content column of a seed's CSV header that its YAML does not declare, renamed by a model or copied by a snapshot: E_PII (was: built, the prompt published as 'p')", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,email,prompt\n1,a@x.com,tell me a secret\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n',
      'snapshots/s.sql': "{% snapshot people_snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect id, prompt from {{ ref('people') }}\n{% endsnapshot %}\n",
      'models/renamed.sql': "select id, prompt as p from {{ ref('people') }}",
      'models/from_snap.sql': "select id, prompt as p from {{ ref('people_snap') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain("error: column 'p' of model 'renamed' publishes PII unmasked: it is a copy of people.prompt [E_PII]");
    expect(r.stderr).toContain("error: column 'p' of model 'from_snap' publishes PII unmasked: it is a copy of people.prompt [E_PII]");
    // a failing test's sample masks it too (was: 'tell me a secret' printed and in run_results.json)
    for (const f of ['models/renamed.sql', 'models/from_snap.sql', 'snapshots/s.sql']) rmSync(join(dir, f));
    mkdirSync(join(dir, 'tests'), { recursive: true });
    writeFileSync(join(dir, 'tests/t.sql'), "select id, prompt as p from {{ ref('people') }}");
    const t = vigil(dir, ['build']);
    expect(t.code, t.stdout + t.stderr).toBe(1);
    expect(t.stdout).toContain('row {id: 1, p: ****}');
    expect(t.stdout + t.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8')).not.toContain('tell me a secret');
  });

  it("a source declared on a seed's table: a model reading the source is checked against the source's PII (was: traced to the seed, the leak unseen)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,email\n1,a@x.com\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    config: { schema: raw }\n',
      'models/sources.yml': 'sources:\n  - name: app\n    schema: raw\n    tables:\n      - name: people\n        columns:\n          - name: email\n            meta: { pii: true }\n',
      'models/contacts.sql': "select email as contact from {{ source('app', 'people') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain("error: column 'contact' of model 'contacts' publishes PII unmasked: it is a copy of source app.people.email [E_PII]");
  });

  it('PII reaching a published relation unmasked: exit 2 at the column, nothing built, no stack trace', () => {
    const dir = makeProject({
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: people\n        columns:\n          - name: email\n            meta: { pii: true }\n',
      'models/contacts.sql': "select email as contact from {{ source('raw', 'people') }}",
      'models/contacts.yml': 'models:\n  - name: contacts\n    columns:\n      - name: contact\n        description: who to write to\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^models\/contacts\.yml:4:15: error: column 'contact' of model 'contacts' publishes PII unmasked: it is a copy of source raw\.people\.email \[E_PII\]/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toMatch(/OK created/);
    expect(readFileSync(join(dir, 'models/contacts.sql'), 'utf8')).toContain('email');
  });
});

/** SQL on the project's DuckDB file (the tables a source names). */
async function duck(dir: string, sql: string): Promise<void> {
  const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
  try {
    await db.query(sql);
  } finally {
    await db.close();
  }
}

describe('the compile-time PII check: what a hostile review found', () => {
  const CONTACTS = {
    'seeds/people_raw.csv': 'id,email,note\n1,a@x.com,hi\n',
    'seeds/seeds.yml': 'seeds:\n  - name: people_raw\n    columns:\n      - name: email\n        meta: { pii: true }\n',
    'models/contacts.sql': "{{ config(materialized='table', restricted={'grants': {'select': ['compliance']}}) }}\nselect id, email, note from {{ ref('people_raw') }}",
    'models/contacts.yml': 'models:\n  - name: contacts\n    columns:\n      - name: id\n      - name: email\n        policy: hash\n      - name: note\n        policy: mask\n',
  };

  it("select * over a source: its YAML's columns need not be all of them, a warning naming it (was: the declared list taken as complete, undeclared content published with no word)", async () => {
    const dir = makeProject({
      'models/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: logs\n        columns:\n          - name: email\n            meta: { pii: true }\n',
      'models/leak.sql': "select * exclude (email) from {{ source('raw', 'logs') }}",
    });
    dirs.push(dir);
    await duck(dir, "create schema raw; create table raw.logs as select 1 as id, 'a@x.com' as email, 'my secret' as prompt, '123-45-6789' as ssn");
    const r = vigil(dir, ['build', '-s', 'leak']);
    expect(r.stderr).toContain("models/leak.sql:1:1: warning: model 'leak' reads PII (source raw.logs.email) and its column lineage is incomplete: *: raw.logs may have columns besides its known one (email); PII may reach it unseen [W_PII]");
    expect(r.code).toBe(0);
    // named, a column the YAML leaves out is still the source's: prompt is content (an error), ssn is traced (no warning)
    writeFileSync(join(dir, 'models/leak.sql'), "select id, prompt, ssn from {{ source('raw', 'logs') }}");
    const named = vigil(dir, ['compile']);
    expect(named.stderr).toContain("error: column 'prompt' of model 'leak' is named like prompt or response content and is published unmasked");
    expect(named.stderr).not.toContain('W_PII');
    expect(named.code).toBe(2);
  });

  it('a model reading <model>__restricted by name with no ref() to it, whatever its name: traced after the model it reads (was: no E_PII for a model whose name sorts before the one it reads)', () => {
    // 'aaa_leak' depends on nothing by ref(): in ref() order it came before contacts, whose companion was not yet traced
    const dir = makeProject({ ...CONTACTS, 'models/aaa_leak.sql': 'select email as e, id from analytics.contacts__restricted', 'models/zzz_leak.sql': 'select email as e, id from analytics.contacts__restricted' });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.stderr).toContain("error: column 'e' of model 'aaa_leak' publishes PII unmasked: it is a copy of people_raw.email [E_PII]");
    expect(r.stderr).toContain("error: column 'e' of model 'zzz_leak' publishes PII unmasked: it is a copy of people_raw.email [E_PII]");
    expect(r.code).toBe(2);
  });

  it("an alert query reading <model>__restricted by name and nothing by ref(): E_PII at its line from vigil alerts check (was: 'Checked 1 alert', the model not traced)", () => {
    const dir = makeProject({
      ...CONTACTS,
      'alerts/a.yaml': 'alerts:\n  - name: a\n    severity: info\n    query: select id, email from analytics.contacts__restricted\n    condition: { type: threshold, column: id, op: ">", value: 0 }\n    summary: "{{ email }}"\n',
      'alerts/routes.yaml': 'route: { receiver: slack }\nreceivers:\n  - name: slack\n    slack: { webhook_url_env: SLACK_URL }\n',
    });
    dirs.push(dir);
    const r = vigil(dir, ['alerts', 'check'], { SLACK_URL: 'http://127.0.0.1:9/hook' });
    expect(r.stderr).toMatch(/alerts\/a\.yaml:4:\d+: error: column 'email' of alert 'a' carries PII unmasked: it is a copy of people_raw\.email \[E_PII\]/);
    expect(r.code).toBe(2);
  });

  it("a qualified column of a CTE or subquery of `select *` over a source declaring some columns is the source's, not the row's: a warning (was: E_PII 'derived from source crm.people.email' on people.tier)", () => {
    const dir = makeProject({
      'seeds/customers.csv': 'id,name,email,tier\n1,Ann,a@x.com,gold\n',
      'models/src.yml': 'sources:\n  - name: crm\n    schema: analytics\n    tables:\n      - name: people\n        identifier: customers\n        columns:\n          - name: email\n            meta: { pii: true }\n',
      'models/tiers.sql': "with people as (select * from {{ source('crm', 'people') }}), ev as (select 1 as event_id, 'u1' as user_id)\nselect ev.event_id, people.tier from ev join people on ev.user_id = 'u' || people.id::varchar",
      'models/sub.sql': "select s.tier as t from (select * from {{ source('crm', 'people') }}) s",
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.stderr).not.toContain('E_PII');
    expect(r.stderr).toContain("models/tiers.sql:1:1: warning: model 'tiers' reads PII (source crm.people.email) and its column lineage is incomplete: *: analytics.customers may have columns besides its known one (email); PII may reach it unseen [W_PII]");
    expect(r.stderr).toContain("models/sub.sql:1:1: warning: model 'sub' reads PII (source crm.people.email)");
    expect(r.code, r.stderr).toBe(0);
    // the CTE's whole row is still all its columns: the email with them
    writeFileSync(join(dir, 'models/sub.sql'), "with people as (select * from {{ source('crm', 'people') }}) select to_json(people) as j from people");
    const row = vigil(dir, ['compile']);
    expect(row.stderr).toContain("error: column 'j' of model 'sub' publishes PII unmasked: it is derived from source crm.people.email [E_PII]");
    expect(row.code).toBe(2);
  });

  it('a model reading <model>__restricted by name: its unmasked rows, every PII column live (was: compiled and built, the raw values published)', () => {
    const dir = makeProject({ ...CONTACTS, 'models/leak.sql': "-- depends_on: {{ ref('contacts') }}\nselect email as e, note, id from analytics.contacts__restricted" });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.stderr).toContain("error: column 'e' of model 'leak' publishes PII unmasked: it is a copy of people_raw.email [E_PII]");
    expect(r.stderr).toContain("error: column 'note' of model 'leak' publishes PII unmasked: it is a copy of contacts__restricted.note [E_PII]");
    expect(r.stderr).not.toMatch(/'id'|W_PII/);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toMatch(/OK created/);
    // with the database's name too
    writeFileSync(join(dir, 'models/leak.sql'), "-- depends_on: {{ ref('contacts') }}\nselect note from dev.analytics.contacts__restricted");
    const full = vigil(dir, ['compile']);
    expect(full.stderr).toContain("error: column 'note' of model 'leak' publishes PII unmasked: it is a copy of contacts__restricted.note [E_PII]");
    expect(full.code).toBe(2);
    // the published relation is masked: reading it is clean
    writeFileSync(join(dir, 'models/leak.sql'), "select email as e, note from {{ ref('contacts') }}");
    const ok = vigil(dir, ['build']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it("a FROM item's alias as a value is its whole row: p, to_json(p), (p).email (was: W_PII 'not among the known columns', the row with the raw email published)", () => {
    const dir = makeProject({
      ...CONTACTS,
      'models/row.sql': "select p as r from {{ ref('people_raw') }} p",
      'models/as_json.sql': "select id, to_json(p) as j from {{ ref('people_raw') }} p",
      'models/field.sql': "select (l).email as x, (l).id as y from {{ ref('people_raw') }} l",
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.stderr).toContain("error: column 'r' of model 'row' publishes PII unmasked: it is derived from people_raw.email [E_PII]");
    expect(r.stderr).toContain("error: column 'j' of model 'as_json' publishes PII unmasked: it is derived from people_raw.email [E_PII]");
    expect(r.stderr).toContain("error: column 'x' of model 'field' publishes PII unmasked: it is a copy of people_raw.email [E_PII]");
    expect(r.stderr).not.toMatch(/'y'|'id'|W_PII/);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toMatch(/OK created/);
  });

  it("Postgres: row_to_json(p) of a relation with a PII column is an error; with a policy it builds, hashed", () => {
    const schema = uniqueSchema('pii_row');
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
    const dir = makeProject({
      'project.yaml': pgProjectYaml(schema),
      'seeds/people_raw.csv': CONTACTS['seeds/people_raw.csv'],
      'seeds/seeds.yml': CONTACTS['seeds/seeds.yml'],
      'models/leak.sql': "select p.id, row_to_json(p) as r from {{ ref('people_raw') }} p",
    });
    dirs.push(dir);
    const r = vigil(dir, ['build'], env);
    expect(r.stderr).toContain("error: column 'r' of model 'leak' publishes PII unmasked: it is derived from people_raw.email [E_PII]");
    expect(r.stderr).not.toContain('W_PII');
    expect(r.code).toBe(2);
    writeFileSync(join(dir, 'models/leak.yml'), 'models:\n  - name: leak\n    columns:\n      - name: id\n      - name: r\n        policy: hash\n');
    const ok = vigil(dir, ['build'], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const rows = JSON.parse(vigil(dir, ['show', '--inline', `select id, r from ${schema}.leak`, '--output', 'json'], env).stdout);
    expect(rows).toEqual([{ id: 1, r: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it("a declared column the SQL of a model with policies does not return: exit 2 at its YAML line with the nearest column (was: DuckDB's Binder Error at build, exit 1, no file:line)", () => {
    const dir = makeProject({ ...CONTACTS, 'models/contacts.yml': CONTACTS['models/contacts.yml'].replace('- name: email', '- name: emial') });
    dirs.push(dir);
    const r = vigil(dir, ['build', '-s', 'contacts']);
    expect(r.stderr).toMatch(/^models\/contacts\.yml:5:15: error: column 'emial' of model 'contacts' is declared, but its SQL returns no such column \(a model with policies publishes exactly its declared columns: its relation would not build\) — did you mean 'email'\? \[E_MASKING\]/m);
    expect(r.stderr).not.toMatch(/Binder Error|\n\s+at /);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toMatch(/OK created/);
  });

  it('a policy on an ephemeral model column masks nothing: a warning at its line, and the column is PII in its readers (was: silently nothing)', () => {
    const dir = makeProject({
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id, 'a@x.com' as email",
      'models/eph.yml': 'models:\n  - name: eph\n    columns:\n      - name: id\n      - name: email\n        policy: hash\n',
      'models/reader.sql': "select id, email as contact from {{ ref('eph') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.stderr).toContain("models/eph.yml:6:17: warning: column 'email' of model 'eph': policy: hash masks nothing here — model 'eph' is ephemeral: it has no relation of its own, its SQL is inlined into the models that read it (the column is taken as PII) [W_MASKING]");
    expect(r.stderr).toContain("error: column 'contact' of model 'reader' publishes PII unmasked: it is a copy of eph.email [E_PII]");
    expect(r.code).toBe(2);
  });

  it("the docs site shows a published column's policy; one relation is 'relation'", () => {
    const dir = makeProject({
      'models/people.sql': "{{ config(materialized='table') }}\nselect 1 as id, 'a@x.com' as email, 'hi' as note",
      'models/people.yml': 'models:\n  - name: people\n    columns:\n      - name: id\n      - name: email\n        policy: hash\n      - name: note\n        meta: { pii: true }\n',
    });
    dirs.push(dir);
    expect(vigil(dir, ['build']).code).toBe(0);
    const g = vigil(dir, ['docs', 'generate']);
    expect(g.code, g.stdout + g.stderr).toBe(0);
    expect(g.stdout).toContain('Reading column types of 1 relation from target dev');
    const html = readFileSync(join(dir, 'target/docs/nodes/model.fixture.people.html'), 'utf8');
    const row = (c: string) => html.match(new RegExp(`<tr id="col-${c}">.*?</tr>`))?.[0] ?? '';
    expect(row('email')).toContain('<span class="tag policy">policy: hash</span>');
    expect(row('note')).toContain('<span class="tag policy">policy: mask</span>');
    expect(row('id')).not.toContain('policy');
  });
});

describe('grants on a masked view where its readers need what it reads (BigQuery)', () => {
  const files = (materialized: string) => ({
    'models/people.sql': `{{ config(materialized='${materialized}') }}\nselect 1 as id, 'a@x.com' as email`,
    'models/people.yml': 'models:\n  - name: people\n    config:\n      grants: { select: ["group:analysts@example.com"] }\n    columns:\n      - name: id\n      - name: email\n        policy: hash\n',
  });

  it("a masked view with grants on BigQuery: a warning at the grants' line, naming the grantees and materialized: table (was: no word, the grantees reading nothing or, granted the tables, the raw columns)", () => {
    const dir = makeProject({ 'project.yaml': projectYaml('bigquery'), ...files('view') });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "models/people.yml:4:15: warning: model 'people' is a masked view granted to group:analysts@example.com: on BigQuery a view's readers also need read access to the tables it reads, unless the view is authorized in the datasets of those tables — without it they read nothing through it, and that access shows them the columns it masks [W_GRANTS]",
    );
    expect(r.stderr).toContain('hint: materialize it as a table (materialized: table)');
  });

  it('no warning for a masked table on BigQuery, an unmasked view on BigQuery, or a masked view on Postgres (a view reads as its owner there)', () => {
    const table = makeProject({ 'project.yaml': projectYaml('bigquery'), ...files('table') });
    const plain = makeProject({ 'project.yaml': projectYaml('bigquery'), ...files('view'), 'models/people.yml': 'models:\n  - name: people\n    config:\n      grants: { select: ["group:analysts@example.com"] }\n' });
    const pg = makeProject({ 'project.yaml': projectYaml('postgres'), ...files('view'), 'models/people.yml': files('view')['models/people.yml'].replace('"group:analysts@example.com"', 'analysts') });
    dirs.push(table, plain, pg);
    for (const dir of [table, plain, pg]) {
      const r = vigil(dir, ['compile']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stderr).not.toContain('W_GRANTS');
    }
  });
});

describe('PII governance: a second hostile review', () => {
  const SHA256_A = '478abec7430569163161dfea8513b8ce89d05f559456a26e945c66e1fe55a29d';
  const PEOPLE = {
    'seeds/people.csv': 'id,email,name,note\n1,a@x.com,Alice,hello\n2,b@x.com,Bob,\n',
    'seeds/seeds.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n      - name: note\n        meta: { pii: true }\n',
  };

  it("DuckDB's positional reference #n is the column it stands for (was: no E_PII, the emails published)", () => {
    const dir = makeProject({ ...PEOPLE, 'models/l_pos.sql': "select id, #2 as x from {{ ref('people') }}", 'models/l_pos2.sql': "select id, #2 from {{ ref('people') }}", 'models/ok.sql': "select #1 as i, #3 from {{ ref('people') }}" });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.stderr).toContain("models/l_pos.sql:1:1: error: column 'x' of model 'l_pos' publishes PII unmasked: it is a copy of people.email [E_PII]");
    // unaliased, DuckDB names it as the column
    expect(r.stderr).toContain("error: column 'email' of model 'l_pos2' publishes PII unmasked: it is a copy of people.email [E_PII]");
    expect(r.stderr).not.toMatch(/model 'ok'|W_PII/);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toMatch(/OK created/);
  });

  it("a failing test's sample masks the columns carrying PII and keeps the count (was: 'a@x.com | 2' printed and in run_results.json)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,email,name,note\n1,a@x.com,Alice,hello\n2,a@x.com,Bob,\n',
      'seeds/seeds.yml': PEOPLE['seeds/seeds.yml'].replace('meta: { pii: true }\n', 'meta: { pii: true }\n        tests: [unique]\n'),
      'tests/all_people.sql': "select * from {{ ref('people') }} order by id",
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL 1 unique_people_email/);
    expect(r.stdout).toMatch(/unique_field \| n_records\n\s+-+\+-+\n\s+\*\*\*\* +\| 2\n/);
    // a column not marked is shown; NULL stays NULL
    expect(r.stdout).toMatch(/1 +\| \*\*\*\* +\| Alice \| \*\*\*\*\n\s+2 +\| \*\*\*\* +\| Bob +\| NULL/);
    const results = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(results).toContain('"n_records": 2');
    expect(r.stdout + r.stderr + results).not.toMatch(/a@x\.com|hello/);
  });

  it("a failing test's sample masks a column read from a model whose PII lineage is unknown (its W_PII: COLUMNS(...) over PII), and one derived from it (was: the addresses printed and in run_results.json)", () => {
    const dir = makeProject({
      'seeds/hostile.csv': 'id,email,kind\n1,ann@secret.example,a\n2,ann@secret.example,b\n',
      'seeds/hostile.yml': 'seeds:\n  - name: hostile\n    columns:\n      - { name: email, meta: { pii: true } }\n',
      'models/leaky.sql': "{{ config(materialized='table') }} select kind, COLUMNS('^em') from {{ ref('hostile') }}\n",
      'models/leaky.yml': 'models:\n  - name: leaky\n    columns:\n      - { name: kind, data_type: varchar }\n      - { name: email, data_type: varchar, tests: [unique] }\n',
      'tests/shouted.sql': "select kind, upper(email) as shout from {{ ref('leaky') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/model 'leaky' reads PII \(hostile\.email\) and its column lineage is incomplete/);
    expect(r.stdout).toMatch(/FAIL 1 unique_leaky_email/);
    expect(r.stdout).toMatch(/FAIL 2 shouted/);
    // the kinds are shown, the addresses are not
    expect(r.stdout).toMatch(/a +\| \*\*\*\*/);
    const results = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(r.stdout + r.stderr + results).not.toMatch(/ann@secret\.example|ANN@SECRET/i);
  });

  it("a failing test's sample masks content columns in a project that marks no PII (was: the prompt printed in full and kept in run_results.json)", () => {
    const dir = makeProject({ 'seeds/logs.csv': 'id,prompt\n1,my secret question\n2,other\n', 'tests/dup.sql': "select id, prompt from {{ ref('logs') }} where id = 1" });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL 1 dup/);
    expect(r.stdout).toMatch(/1 +\| \*\*\*\*/);
    const results = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(results).toContain('"prompt": "****"');
    expect(r.stdout + r.stderr + results).not.toContain('my secret question');
  });

  it('an alert query whose column carries PII: E_PII at its line; an evaluation sends none of it (was: a@x.com in the Slack payload, no word)', () => {
    const dir = makeProject({
      ...PEOPLE,
      'alerts/a.yaml': `alerts:
  - name: a
    severity: critical
    query: select email, note, count(*) as n from {{ ref('people') }} group by all
    group_by: [email]
    condition: { type: threshold, column: n, op: ">", value: 0 }
    summary: "{{ email }} wrote {{ note }}"
  - name: b
    severity: critical
    query: |
      select name,
             count(*) as n,
             count(distinct email) as mails
      from {{ ref('people') }} group by all
    group_by: [name]
    condition: { type: threshold, column: n, op: ">", value: 0 }
    summary: "{{ name }}"
  - name: c
    severity: info
    query: select name, count(*) as n from {{ ref('people') }} group by all
    group_by: [name]
    condition: { type: threshold, column: n, op: ">", value: 0 }
    summary: "{{ name }}: {{ n }}"
`,
      'alerts/routes.yaml': 'route: { receiver: slack }\nreceivers:\n  - name: slack\n    slack: { webhook_url_env: SLACK_URL }\n',
    });
    dirs.push(dir);
    const env = { SLACK_URL: 'http://127.0.0.1:9/hook' };
    expect(vigil(dir, ['seed']).code).toBe(0);
    const check = vigil(dir, ['alerts', 'check'], env);
    expect(check.stderr).toContain("alerts/a.yaml:4:19: error: column 'email' of alert 'a' carries PII unmasked: it is a copy of people.email [E_PII]");
    expect(check.stderr).toContain("alerts/a.yaml:4:26: error: column 'note' of alert 'a' carries PII unmasked: it is a copy of people.note [E_PII]");
    expect(check.stderr).toContain("alerts/a.yaml:13:39: error: column 'mails' of alert 'b' carries PII unmasked: it is derived from people.email [E_PII]");
    expect(check.stderr).not.toMatch(/alert 'c'|\n\s+at /);
    expect(check.code).toBe(2);
    const ev = vigil(dir, ['alerts', 'evaluate', '--dry-run'], env);
    // (an error instance: exit 1, as for a query that no longer compiles)
    expect(ev.code, ev.stdout + ev.stderr).toBe(1);
    expect(ev.stdout).toMatch(/ a +ERROR its query carries PII unmasked/);
    expect(ev.stdout).toMatch(/ c +2 firing/);
    expect(ev.stdout + ev.stderr).not.toMatch(/a@x\.com|b@x\.com|hello/);
    expect(vigil(dir, ['alerts', 'test'], env).code).toBe(2);
    // what runs no query is not held up by it
    const silences = vigil(dir, ['alerts', 'silences'], env);
    expect(silences.code, silences.stdout + silences.stderr).toBe(0);
    // read from a model that publishes it masked, the alert is fine
    mkdirSync(join(dir, 'models'));
    writeFileSync(join(dir, 'models/contacts.sql'), "select email, note from {{ ref('people') }}");
    writeFileSync(join(dir, 'models/contacts.yml'), 'models:\n  - name: contacts\n    columns:\n      - name: email\n        policy: hash\n      - name: note\n        policy: mask\n');
    writeFileSync(join(dir, 'alerts/a.yaml'), readFileSync(join(dir, 'alerts/a.yaml'), 'utf8').replace("ref('people') }} group by all\n    group_by: [email]", "ref('contacts') }} group by all\n    group_by: [email]").replace(/\n  - name: b[\s\S]*?(?=\n  - name: c)/, ''));
    const ok = vigil(dir, ['alerts', 'check'], env);
    expect(ok.stderr).not.toContain('PII');
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it('a declared column spelled otherwise than the SQL returns it, in a model with policies: exit 2 with the SQL\'s spelling (was: DuckDB published it renamed, Postgres failed at run)', () => {
    const dir = makeProject({ ...PEOPLE, 'models/m.sql': "select id, email from {{ ref('people') }}", 'models/m.yml': 'models:\n  - name: m\n    columns:\n      - name: id\n      - name: Email\n        policy: hash\n' });
    dirs.push(dir);
    const r = vigil(dir, ['build']);
    expect(r.stderr).toMatch(/^models\/m\.yml:5:15: error: column 'Email' of model 'm' is declared, but its SQL returns it as 'email': the published SELECT names the declared spelling, quoted \("Email"\), so the column would be published renamed 'Email' — did you mean 'email'\? \[E_MASKING\]/m);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toMatch(/OK created/);
    // the SQL's own spelling, quoted: as declared
    writeFileSync(join(dir, 'models/m.sql'), 'select id, email as "Email" from {{ ref(\'people\') }}');
    const ok = vigil(dir, ['build']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it('Postgres: an unquoted name is folded to lower case before it is compared', () => {
    const schema = uniqueSchema('pii_case');
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
    const dir = makeProject({ 'project.yaml': pgProjectYaml(schema), ...PEOPLE, 'models/m.sql': "select id, Email from {{ ref('people') }}", 'models/m.yml': 'models:\n  - name: m\n    columns:\n      - name: id\n      - name: Email\n        policy: hash\n' });
    dirs.push(dir);
    const r = vigil(dir, ['build'], env);
    expect(r.stderr).toContain("models/m.yml:5:15: error: column 'Email' of model 'm' is declared, but its SQL returns it as 'email': the published SELECT names the declared spelling, quoted (\"Email\"), so its relation would not build — did you mean 'email'? [E_MASKING]");
    expect(r.code).toBe(2);
    // declared as Postgres returns it: builds, hashed
    writeFileSync(join(dir, 'models/m.yml'), 'models:\n  - name: m\n    columns:\n      - name: id\n      - name: email\n        policy: hash\n');
    const ok = vigil(dir, ['build'], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(JSON.parse(vigil(dir, ['show', '--inline', `select email from ${schema}.m where id = 1`, '--output', 'json'], env).stdout)).toEqual([{ email: SHA256_A }]);
  });

  it('Postgres: a column through `*` keeps its relation\'s spelling (was: folded, E_MASKING on a declared "Email" the relation has); a name written unquoted upstream is folded there', () => {
    const schema = uniqueSchema('pii_star');
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
    const yml = (model: string) => `models:\n  - name: ${model}\n    columns:\n      - name: id\n      - name: Email\n        policy: hash\n`;
    const dir = makeProject({
      'project.yaml': pgProjectYaml(schema),
      'seeds/people.csv': 'id,Email\n1,a@x.com\n',
      'seeds/seeds.yml': 'seeds:\n  - name: people\n    config:\n      quote_columns: true\n',
      'models/contacts.sql': "select * from {{ ref('people') }}",
      'models/contacts.yml': yml('contacts'),
      // an upstream model returning "Email" (its own `*`, a quoted name), read through `*`
      'models/up_star.sql': "select * from {{ ref('people') }}",
      'models/up_quoted.sql': 'select id, "Email" from {{ ref(\'people\') }}',
      'models/from_star.sql': "select * from {{ ref('up_star') }}",
      'models/from_quoted.sql': "select q.* from {{ ref('up_quoted') }} as q",
      'models/more.yml': yml('from_star') + yml('from_quoted').replace('models:\n', ''),
    });
    dirs.push(dir);
    const r = vigil(dir, ['build'], env);
    expect(r.stderr).not.toContain('E_MASKING');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const m of ['contacts', 'from_star', 'from_quoted']) expect(JSON.parse(vigil(dir, ['show', '--inline', `select "Email" from ${schema}.${m} where id = 1`, '--output', 'json'], env).stdout), m).toEqual([{ Email: SHA256_A }]);
    // written unquoted upstream, Postgres names it email: through `*` it is email, not the declared Email
    writeFileSync(join(dir, 'models/up_quoted.sql'), "select id, \"Email\" as EMAIL from {{ ref('people') }}");
    const folded = vigil(dir, ['compile'], env);
    expect(folded.stderr).toContain("models/more.yml:10:15: error: column 'Email' of model 'from_quoted' is declared, but its SQL returns it as 'email'");
    expect(folded.code).toBe(2);
  });

  it("meta: { PII: true } marks nothing: an error at its line with the spelling; a near miss of pii is a warning (was: silently nothing)", () => {
    const dir = makeProject({
      ...PEOPLE,
      'seeds/seeds.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { PII: true }\n      - name: name\n        meta: { contains_pii: yes, contact: x, pi: false }\n      - name: note\n        meta: { pii: true, Pii: true }\n',
      'models/leak.sql': "select email as e from {{ ref('people') }}",
    });
    dirs.push(dir);
    const r = vigil(dir, ['compile']);
    expect(r.stderr).toContain("seeds/seeds.yml:5:17: error: column 'email' of seed 'people': meta key 'PII' is not the PII mark, which is 'pii' in lower case: the column is not taken as PII — did you mean 'pii'? [E_MASKING]");
    expect(r.stderr).toContain("seeds/seeds.yml:7:17: warning: column 'name' of seed 'people': meta key 'contains_pii' is not read as a PII mark (Vigil reads meta: { pii: ... } and { content: ... }): the column is not taken as PII — did you mean 'pii'? [W_MASKING]");
    // contact is not near, a near miss set to false marks nothing either way, and a column with the mark is marked
    expect(r.stderr).not.toMatch(/'contact'|'pi'|'Pii'/);
    expect(r.code).toBe(2);
  });
});
