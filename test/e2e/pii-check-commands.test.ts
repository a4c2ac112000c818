/**
 * The compile-time PII check (docs/governance.md) in each command that runs it: `vigil check`
 * refuses what compile and build refuse, and a refused project leaves target/ (the manifest, the
 * compiled SQL) as the last good compile wrote it, as a compile error does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC_PROJECT_YAML, makeProject, removeDir, vigil, vigilLoading } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const LEAK = "select id, name, email as leaked from {{ ref('people') }}\n";
const E_PII = /^models\/safe\.sql:1:1: error: column 'leaked' of model 'safe' publishes PII unmasked: it is a copy of people\.email \[E_PII\]/m;

function project(safe: string): string {
  const dir = makeProject({
    'seeds/people.csv': 'id,name,email\n1,Ann,a@x.com\n',
    'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n',
    'models/safe.sql': safe,
  });
  dirs.push(dir);
  return dir;
}

describe('the PII check', () => {
  it('vigil check refuses what compile and build refuse: E_PII at its line, exit 2, nothing written (was: OK, exit 0; build --check passed the check)', () => {
    const dir = project(LEAK);
    const r = vigil(dir, ['check']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(E_PII);
    expect(r.stdout).not.toMatch(/^OK/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'target/manifest.json'))).toBe(false);
    // the same error, from the check that build --check runs first
    const b = vigil(dir, ['build', '--check']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(E_PII);
    expect(b.stdout).not.toMatch(/build: target|^OK/m);
  });

  it.each([['compile'], ['run'], ['build']])('vigil %s refused by the PII check writes no manifest and no compiled SQL (was: both rewritten, "nothing was run")', (command) => {
    const dir = project("select id, name from {{ ref('people') }}\n");
    expect(vigil(dir, ['build']).code).toBe(0);
    const manifest = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    const compiled = join(dir, 'target/compiled/fixture/models/safe.sql');
    const sql = readFileSync(compiled, 'utf8');
    writeFileSync(join(dir, 'models/safe.sql'), LEAK);
    const r = vigil(dir, [command]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(E_PII);
    expect(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).toBe(manifest);
    expect(readFileSync(compiled, 'utf8')).toBe(sql);
  });

  it("a compile of the manifest the last clean check saw is not checked again (the lineage, DuckDB's parser, not loaded); any change that leaks is refused", () => {
    const dir = project("select id, name from {{ ref('people') }}\n");
    const lineage = 'src/docs/column-lineage.ts';
    const first = vigilLoading(dir, ['compile']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.sources).toContain(lineage);
    const second = vigilLoading(dir, ['compile']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.sources).not.toContain(lineage);
    const timeless = (t: string) => t.replace(/ in [\d.]+m?s\b/g, '');
    expect(timeless(second.stdout)).toBe(timeless(first.stdout));
    // the model changed to leak: checked, refused
    writeFileSync(join(dir, 'models/safe.sql'), LEAK);
    const leak = vigil(dir, ['compile']);
    expect(leak.code).toBe(2);
    expect(leak.stderr).toMatch(E_PII);
    // back as it was: the clean check's key again
    writeFileSync(join(dir, 'models/safe.sql'), "select id, name from {{ ref('people') }}\n");
    expect(vigilLoading(dir, ['compile']).code).toBe(0);
    // its SQL unchanged, the YAML marks the column it publishes: checked, refused
    writeFileSync(join(dir, 'seeds/people.yml'), 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n      - name: name\n        meta: { pii: true }\n');
    const marked = vigil(dir, ['build']);
    expect(marked.code).toBe(2);
    expect(marked.stderr).toMatch(/column 'name' of model 'safe' publishes PII unmasked/);
    // the seed's CSV renamed its column (the check reads a seed's header): the key follows its checksum
    writeFileSync(join(dir, 'seeds/people.yml'), 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n');
    expect(vigil(dir, ['compile']).code).toBe(0);
    writeFileSync(join(dir, 'seeds/people.csv'), 'id,name,email\n1,Ann,a@x.com\n2,Bo,b@x.com\n');
    const again = vigilLoading(dir, ['compile']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.sources).toContain(lineage);
  });

  it("a seed's CSV header renamed in place, its size and time kept, is checked again after a clean check (was: the seed's kept checksum left the key as it was: exit 0, a content column published unmasked)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,name,prompx\n1,Ann,hello\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: id\n        meta: { pii: true }\n',
      'models/safe.sql': "select * exclude (id) from {{ ref('people') }}\n",
    });
    dirs.push(dir);
    const csv = join(dir, 'seeds/people.csv');
    // (a day old: its size and time are kept with its checksum, as for any file not just written)
    const day = new Date(Date.now() - 86_400_000);
    // the header on the first line, and after a blank line (the key reads it as the check does)
    for (const before of ['', '\n']) {
      writeFileSync(csv, `${before}id,name,prompx\n1,Ann,hello\n`);
      utimesSync(csv, day, day);
      const clean = vigil(dir, ['compile']);
      expect(clean.code, clean.stderr).toBe(0);
      // the same size, the same time (a copy that keeps it: cp -p, rsync -a, tar)
      writeFileSync(csv, `${before}id,name,prompt\n1,Ann,hello\n`);
      utimesSync(csv, day, day);
      const r = vigil(dir, ['build']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^models\/safe\.sql:1:1: error: column 'prompt' of model 'safe' is named like prompt or response content and is published unmasked/m);
    }
  });

  it('vigil retry of a build refused by the PII check writes no manifest (was: rewritten before the check)', () => {
    const dir = project("select id, name from {{ ref('people') }}\n");
    writeFileSync(join(dir, 'models/broken.sql'), 'select * from no_such_table\n');
    expect(vigil(dir, ['build']).code).toBe(1);
    const manifest = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    writeFileSync(join(dir, 'models/broken.sql'), 'select 1 as id\n');
    writeFileSync(join(dir, 'models/safe.sql'), LEAK);
    const r = vigil(dir, ['retry']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(E_PII);
    expect(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).toBe(manifest);
  });

  it("DuckDB's dot call (`email.trim()`, `p.email.lower()`, `people.full_name.concat('')`) is a function of that column: E_PII from build and alerts check, traced in the docs lineage (was: built, exit 0, the addresses in vigil show and in an alert's payload)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,email,full_name,tier,created_at\n1,ann@secret.example,Ann Example,gold,2026-01-01\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n      - name: full_name\n        meta: { pii: true }\n',
      'models/leak.sql': "select id, email.trim() as v from {{ ref('people') }}\n",
      'models/leak2.sql': "select p.id, p.email.lower() as lo, people.full_name.concat('') as n from {{ ref('people') }} as p, {{ ref('people') }} as people where people.id = p.id\n",
      // masked: builds, and the docs lineage says what it is made of
      'models/masked.sql': "select id, email.trim().upper() as e, tier.upper() as t from {{ ref('people') }}\n",
      // a schema-qualified macro whose schema names no column: a function, as DuckDB binds it
      'project.yaml': `${BASIC_PROJECT_YAML}on_run_start:\n  - create schema if not exists fx\n  - create or replace macro fx.tag(a) as 'tier:' || a\n`,
      'models/tagged.sql': "select id, fx.tag(tier) as t from {{ ref('people') }}\n",
      'models/masked.yml': 'models:\n  - name: masked\n    columns:\n      - name: id\n      - name: e\n        policy: hash\n      - name: t\n',
      'alerts/a.yaml': "alerts:\n  - name: who\n    severity: info\n    query: select email.trim() as who, count(*) as n from {{ ref('people') }} group by 1\n    group_by: [who]\n    condition: { type: threshold, column: n, op: '>', value: 0 }\n    summary: '{{ who }}'\n",
      'alerts/routes.yaml': 'route: { receiver: slack }\nreceivers:\n  - name: slack\n    slack: { webhook_url_env: SLACK_URL }\n',
    });
    dirs.push(dir);
    const env = { SLACK_URL: 'http://127.0.0.1:9/hook' };
    const b = vigil(dir, ['build'], env);
    expect(b.code, b.stdout + b.stderr).toBe(2);
    expect(b.stderr).toMatch(/^models\/leak\.sql:1:\d+: error: column 'v' of model 'leak' publishes PII unmasked: it is derived from people\.email \[E_PII\]/m);
    expect(b.stderr).toMatch(/^models\/leak2\.sql:1:\d+: error: column 'lo' of model 'leak2' publishes PII unmasked: it is derived from people\.email \[E_PII\]/m);
    expect(b.stderr).toMatch(/^models\/leak2\.sql:1:\d+: error: column 'n' of model 'leak2' publishes PII unmasked: it is derived from people\.full_name \[E_PII\]/m);
    expect(b.stderr).not.toMatch(/model 'masked'/);
    expect(b.stdout + b.stderr).not.toContain('ann@secret.example');
    const check = vigil(dir, ['alerts', 'check'], env);
    expect(check.stderr).toMatch(/alerts\/a\.yaml:4:\d+: error: column 'who' of alert 'who' carries PII unmasked: it is derived from people\.email \[E_PII\]/);
    expect(check.code).toBe(2);
    // without the leaks: the masked model builds, its lineage traced through the dot calls
    rmSync(join(dir, 'models/leak.sql'));
    rmSync(join(dir, 'models/leak2.sql'));
    rmSync(join(dir, 'alerts'), { recursive: true });
    const ok = vigil(dir, ['build']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const shown = vigil(dir, ['show', '-s', 'masked', '--output', 'json']);
    expect(shown.code, shown.stdout + shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual([{ id: 1, e: expect.stringMatching(/^[0-9a-f]{64}$/), t: 'GOLD' }]);
    expect(JSON.parse(vigil(dir, ['show', '-s', 'tagged', '--output', 'json']).stdout)).toEqual([{ id: 1, t: 'tier:gold' }]);
    const g = vigil(dir, ['docs', 'generate']);
    expect(g.code, g.stdout + g.stderr).toBe(0);
    const nodes = JSON.parse(readFileSync(join(dir, 'target/docs/docs.json'), 'utf8')).nodes as Array<{ id: string; columns: Array<{ name: string; how?: string; from: Array<{ node: string; column: string }> }> }>;
    const masked = nodes.find((n) => n.id === 'model.fixture.masked')!;
    expect(masked.columns.map((c) => `${c.name} ${c.how} ${c.from.map((f) => `${f.node.split('.').pop()}.${f.column}`).join(', ')}`.trim())).toEqual(['id direct people.id', 'e derived people.email', 't derived people.tier']);
    expect(nodes.find((n) => n.id === 'model.fixture.tagged')!.columns.map((c) => `${c.name} ${c.how} ${c.from.map((f) => `${f.node.split('.').pop()}.${f.column}`).join(', ')}`)).toEqual(['id direct people.id', 't derived people.tier']);
  });
});

describe('PII in warehouse errors (docs/governance.md#warehouse-errors)', () => {
  it("the values a failing model, snapshot, test or alert query reading PII gets quoted by DuckDB are masked on stdout, in run_results.json, in the alert's payload and in a dashboard page; other errors stay as they are (was: `Could not convert string '111-22-3333' to INT32` printed, kept, sent to Slack and published)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,name,ssn\n1,Ann,111-22-3333\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: ssn\n        meta: { pii: true }\n',
      'models/cast_ssn.sql': "{{ config(materialized='table') }}\nselect id, cast(ssn as int) as n from {{ ref('people') }}\n",
      // a view reads it as its readers query it: the test on it fails in its SQL
      'models/ssn_view.sql': "select id, strptime(ssn, '%Y') as y from {{ ref('people') }}\n",
      'models/typo.sql': "{{ config(materialized='table') }}\nselect id, emial from {{ ref('people') }}\n",
      // reads no PII: its error keeps the value
      'models/clean.sql': "{{ config(materialized='table') }}\nselect cast('abc-xyz' as int) as n\n",
      'models/m.yml': 'models:\n  - name: cast_ssn\n    columns:\n      - { name: n, meta: { pii: false } }\n  - name: ssn_view\n    columns:\n      - { name: y, meta: { pii: false }, tests: [not_null] }\n',
      'snapshots/snap.sql': "{% snapshot snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect id, cast(ssn as date) as d from {{ ref('people') }}\n{% endsnapshot %}\n",
      'snapshots/snap.yml': 'snapshots:\n  - name: snap\n    columns:\n      - { name: d, meta: { pii: false } }\n',
      'alerts/a.yaml': "alerts:\n  - name: bad_ssn\n    severity: critical\n    query: select count(*) as n from {{ ref('people') }} where cast(ssn as int) > 0\n    condition: { type: threshold, column: n, op: '>', value: 0 }\n    summary: '{{ n }}'\n",
      'alerts/routes.yaml': 'route: { receiver: slack }\nreceivers:\n  - name: slack\n    slack: { webhook_url_env: SLACK_URL }\n',
      'dashboards/d.json': JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'k', type: 'kpi', title: 'K', model: 'ssn_view', measures: [{ column: 'y', agg: 'max', label: 'Y' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] }),
    });
    dirs.push(dir);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(1);
    const results = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(b.stdout + b.stderr + results).not.toContain('111-22-3333');
    expect(b.stdout + b.stderr + results).not.toMatch(/\b3333\b/);
    // still useful: the type, the column, the value's length, why it is masked
    expect(b.stdout).toContain("Could not convert string '****' (11 characters) to INT32 when casting from source column ssn");
    expect(b.stdout).toMatch(/ERROR snapshot [^\n]*snap[\s\S]*invalid date field format: "\*\*\*\*" \(11 characters\)/);
    expect(b.stdout).toMatch(/ERROR test not_null_ssn_view_y[\s\S]*Could not parse string "\*\*\*\*" \(11 characters\) according to format specifier "%Y"/);
    expect(b.stdout).toContain('(values the warehouse quoted are masked: it reads PII — people.ssn)');
    // the names the warehouse gives stay
    expect(b.stdout).toContain('Referenced column "emial" not found in FROM clause!');
    expect(b.stdout).toMatch(/Candidate bindings: "(id|name|ssn)"/);
    // a model that reads no PII: as the warehouse said it
    expect(b.stdout).toContain("Could not convert string 'abc-xyz' to INT32");
    const a = vigil(dir, ['alerts', 'evaluate', '--dry-run'], { SLACK_URL: 'http://127.0.0.1:9/hook' });
    expect(a.stdout + a.stderr).toContain("Could not convert string '****' (11 characters) to INT32");
    expect(a.stdout + a.stderr).not.toContain('111-22-3333');
    // a tile over the view: its error is written into the page
    const site = join(dir, 'site');
    const d = vigil(dir, ['dashboards', 'render', '--out', site]);
    expect(d.stderr).toContain('tile k: Invalid Input Error: Could not parse string "****" (11 characters)');
    expect(d.stdout + d.stderr + readFileSync(join(site, 'd.html'), 'utf8')).not.toContain('111-22-3333');
  });

  it("an on_run_end hook's error quotes a PII value: masked in a project marking PII (was: printed and kept in run_results.json)", () => {
    const dir = makeProject({
      'project.yaml': `${BASIC_PROJECT_YAML}on_run_end: "select cast(ssn as int) from {{ target.schema }}.people"\n`,
      'seeds/people.csv': 'id,ssn\n1,111-22-3333\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: ssn\n        meta: { pii: true }\n',
    });
    dirs.push(dir);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(1);
    const all = b.stdout + b.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(all).toMatch(/on_run_end 1 of 1 ERROR project\.yaml:\d+/);
    expect(all).toContain("Could not convert string '****' (11 characters) to INT32");
    expect(all).not.toContain('111-22-3333');
  });

  it("masks the values of each form the warehouses quote them in, and keeps names, the node's own SQL text, and every error of a node that reads no PII", async () => {
    const { redactedError } = await import('../../src/check/pii-lineage.js');
    const pii = ['people.email'];
    const sql = ["select to_date(e, 'YYYY'), strptime(e, '%Y') from t"];
    const cases: Array<[string, string]> = [
      ['new row for relation "t" violates check constraint "c" [SQLSTATE 23514]\nDETAIL: Failing row contains (1, a@x.com, null).', 'new row for relation "t" violates check constraint "c" [SQLSTATE 23514]\nDETAIL: Failing row contains (****).'],
      ['duplicate key value violates unique constraint "t_e_key" [SQLSTATE 23505]\nDETAIL: Key (e)=(a@x.com) already exists.', 'duplicate key value violates unique constraint "t_e_key" [SQLSTATE 23505]\nDETAIL: Key (e)=(****) already exists.'],
      ['Constraint Error: Duplicate key "e: a@x.com" violates unique constraint.', 'Constraint Error: Duplicate key "e: ****" (7 characters) violates unique constraint.'],
      ['Invalid Input Error: Malformed JSON at byte 1 of input: unexpected character.  Input: "{bad json"', 'Invalid Input Error: Malformed JSON at byte 1 of input: unexpected character.  Input: "****" (9 characters)'],
      ['invalid input syntax for type json [SQLSTATE 22P02]\nDETAIL: Token "bad" is invalid.', 'invalid input syntax for type json [SQLSTATE 22P02]\nDETAIL: Token "****" (3 characters) is invalid.'],
      ['invalid value "a@x." for "YYYY" [SQLSTATE 22007]', 'invalid value "****" (4 characters) for "YYYY" [SQLSTATE 22007]'],
      ["Conversion Error: Could not convert string 'it''s' to INT32", "Conversion Error: Could not convert string '****' (4 characters) to INT32"],
      ['Invalid Input Error: Could not parse string "a@x.com" according to format specifier "%Y"\na@x.com\n^', 'Invalid Input Error: Could not parse string "****" (7 characters) according to format specifier "%Y"\n****\n^'],
    ];
    for (const [m, want] of cases) expect(redactedError(m, pii, sql)).toBe(`${want}\n    (values the warehouse quoted are masked: it reads PII — people.email)`);
    // the file a full disk or a read-only folder refused is named, not masked (was: `Could not write file "****" (30 characters)`)
    for (const m of ['relation "analytics.peopl" does not exist', 'column "emial" does not exist\nHINT: Perhaps you meant to reference the column "people.email".', 'TransactionContext Error: Failed to commit: Could not write file "/mnt/full/dev.duckdb.wal": No space left on device', 'IO Error: Cannot open file "/data/dev.duckdb": Read-only file system']) expect(redactedError(m, pii, sql)).toBe(m);
    expect(redactedError("Could not convert string 'a@x.com' to INT32", [], sql)).toBe("Could not convert string 'a@x.com' to INT32");
  });

  it("masks the values DuckDB and Postgres write without quotes — an integer cast out of range, an overflow, a date built from a value — and keeps the node's own literals (was: `Type INT64 with value 4155550123 can't be cast` printed and kept)", async () => {
    const { redactedError } = await import('../../src/check/pii-lineage.js');
    const pii = ['people.phone'];
    const sql = ['select id from people where phone * 9223372036854775 > 0'];
    const cases: Array<[string, string]> = [
      ["Conversion Error: Type INT64 with value 4155550123 can't be cast because the value is out of range for the destination type INT32 when casting from source column phone", "Conversion Error: Type INT64 with value **** can't be cast because the value is out of range for the destination type INT32 when casting from source column phone"],
      ['Conversion Error: Could not cast value 4155550123 to DECIMAL(4,0) when casting from source column phone', 'Conversion Error: Could not cast value **** to DECIMAL(4,0) when casting from source column phone'],
      ['Out of Range Error: Overflow in multiplication of INT64 (4155550123 * 9223372036854775)!', 'Out of Range Error: Overflow in multiplication of INT64 (**** * 9223372036854775)!'],
      ['Conversion Error: Date out of range: 123456789-1-1', 'Conversion Error: Date out of range: ****'],
      ['Invalid Input Error: Invalid UTF8 Codepoint 123456789', 'Invalid Input Error: Invalid UTF8 Codepoint ****'],
      ['date out of range: 123456789-01-01 [SQLSTATE 22008]', 'date out of range: **** [SQLSTATE 22008]'],
      ['requested character too large for encoding: 123456789 [SQLSTATE 54000]', 'requested character too large for encoding: **** [SQLSTATE 54000]'],
    ];
    for (const [m, want] of cases) expect(redactedError(m, pii, sql)).toBe(`${want}\n    (values the warehouse quoted are masked: it reads PII — people.phone)`);
    // a node reading no PII keeps them
    expect(redactedError(cases[0][0], [], sql)).toBe(cases[0][0]);
  });

  it("a model casting a PII number out of range, and a snapshot whose PII unique_key is on two rows: the values are masked on stdout and in run_results.json, the snapshot's name kept (was: `with value 4155550123`, `(alice@x.com: 2 rows)` printed and kept, the name `'****' (4 characters)`)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,email,phone\n1,alice@x.com,4155550123\n2,alice@x.com,4155550199\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    config: { column_types: { phone: bigint } }\n    columns:\n      - { name: email, meta: { pii: true } }\n      - { name: phone, meta: { pii: true } }\n',
      'models/narrow.sql': "{{ config(materialized='table') }}\nselect id from {{ ref('people') }} where abs(cast(phone as int)) = 5\n",
      'snapshots/snap.sql': "{% snapshot snap %}\n{{ config(unique_key='email', strategy='check', check_cols=['id']) }}\nselect id, email from {{ ref('people') }}\n{% endsnapshot %}\n",
    });
    dirs.push(dir);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(1);
    const all = b.stdout + b.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(all).not.toContain('4155550');
    expect(all).not.toContain('alice@x.com');
    expect(b.stdout).toContain("Type INT64 with value **** can't be cast because the value is out of range for the destination type INT32");
    expect(b.stdout).toContain("snapshot 'snap': 1 unique_key value (email) is on more than one row of its query ('****' (11 characters): 2 rows)");
    expect(b.stdout).toContain('(compiled SQL: target/compiled/fixture/snapshots/snap/snap.sql)');
  });

  it("a snapshot's PII unique_key holding a line break, on two rows: masked whole in its error (was: each line of it printed, its quotes on two lines)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,address\n1,"1 Main St\nSpringfield"\n2,"1 Main St\nSpringfield"\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - { name: address, meta: { pii: true } }\n',
      'snapshots/snap.sql': "{% snapshot snap %}\n{{ config(unique_key='address', strategy='check', check_cols=['id']) }}\nselect id, address from {{ ref('people') }}\n{% endsnapshot %}\n",
    });
    dirs.push(dir);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(1);
    const all = b.stdout + b.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(all).not.toMatch(/Main|Springfield/);
    expect(b.stdout).toContain("is on more than one row of its query ('****' (");
  });

  it("a snapshot's warning on rows versioned at the run's time quotes their PII unique_key masked, on stdout and in run_results.json (was: `(alice@x.com: 2026-01-02 00:00:00, current from ...)`)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'email,name,updated_at\nalice@x.com,ann,2026-01-02 00:00:00\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - { name: email, meta: { pii: true } }\n',
      'snapshots/snap.sql': "{% snapshot snap %}\n{{ config(unique_key='email', strategy='check', check_cols=['name'], updated_at='updated_at') }}\nselect email, name, updated_at from {{ ref('people') }}\n{% endsnapshot %}\n",
      'snapshots/snap.yml': 'snapshots:\n  - name: snap\n    columns:\n      - { name: email, meta: { pii: true } }\n',
    });
    dirs.push(dir);
    expect(vigil(dir, ['build']).code).toBe(0);
    // a change whose updated_at did not advance: versioned at the run's time, said in a warning
    writeFileSync(join(dir, 'seeds/people.csv'), 'email,name,updated_at\nalice@x.com,ann2,2026-01-02 00:00:00\n');
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(b.stdout).toContain("warning: 1 changed row has an updated_at (updated_at) no later than the dbt_valid_from of its current version ('****' (11 characters): 2026-01-02 00:00:00");
    // the prose's apostrophes are no quotes (was: `the run'****' (115 characters)s time`)
    expect(b.stdout).toContain("its new version starts at the run's time instead, so the versions stay in order (a history written by a Vigil whose check versions started at the run's time");
    expect(b.stdout + b.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8')).not.toContain('alice');
  });

  it("a failing test pivoting on a PII column shows the columns it names after the values as '****' (was: every address a column of the sample's header, on stdout and in run_results.json)", () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,email\n1,alice@x.com\n2,bob@x.com\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - { name: email, meta: { pii: true } }\n',
      'tests/by_email.sql': "pivot (select id, email from {{ ref('people') }}) on email using count(id)\n",
      'tests/by_email_from.sql': "select * from (pivot (select id, email from {{ ref('people') }}) on email using count(id)) as p\n",
    });
    dirs.push(dir);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(1);
    const all = b.stdout + b.stderr + readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(all).not.toMatch(/alice|bob/);
    expect(b.stdout).toMatch(/FAIL 1 by_email \[[\s\S]*?\n\s+\*\*\*\* +\| \*\*\*\*_2\n/);
    expect(b.stdout).toMatch(/FAIL 1 by_email_from \[[\s\S]*?\n\s+\*\*\*\* +\| \*\*\*\*_2\n/);
  });

  it("masks a value holding the quote the warehouse writes around it unescaped, and the make_date/make_time fields both warehouses write bare (was: `string '****' (1 character)Brien'`, `time field value out of range: 123456789:00:00` kept)", async () => {
    const { redactedError } = await import('../../src/check/pii-lineage.js');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const note = '\n    (values the warehouse quoted are masked: it reads PII — people.name)';
    try {
      await c.run("create table people as select 'O''Brien' as name, 'a\"b' as nick, 4155550123 as phone");
      for (const [sql, want] of [
        ['select cast(name as int) from people', "Conversion Error: Could not convert string '****' (7 characters) to INT32"],
        ['select make_time(phone % 100000, 0, 0) from people', 'Conversion Error: Time out of range: ****'],
      ]) {
        const m = await c.run(sql).then(() => '', (e: Error) => e.message);
        const got = redactedError(m, ['people.name'], [sql]);
        expect(got, m).toContain(want);
        expect(got).not.toMatch(/Brien|50123/);
      }
    } finally {
      c.closeSync();
    }
    for (const [m, want] of [
      ['invalid input syntax for type integer: "a"b" [SQLSTATE 22P02]', 'invalid input syntax for type integer: "****" (3 characters) [SQLSTATE 22P02]'],
      ['date field value out of range: 2020-123456789-01 [SQLSTATE 22008]', 'date field value out of range: **** [SQLSTATE 22008]'],
      ['time field value out of range: 123456789:00:00 [SQLSTATE 22008]', 'time field value out of range: **** [SQLSTATE 22008]'],
    ]) expect(redactedError(m, ['people.name'], [])).toBe(`${want}${note}`);
    // the prose's apostrophes and a quoted name followed by a dot stay as they were
    expect(redactedError(`snapshot 'snap': the run's time, relation "people" ('a@x.com': 2 rows)`, ['people.name'], [])).toBe(`snapshot 'snap': the run's time, relation "people" ('****' (7 characters): 2 rows)${note}`);
  });

  it("keeps the function and types of DuckDB's binder errors, the commonest errors of a model (was: `argument types '****' (14 characters)`)", async () => {
    const { redactedError } = await import('../../src/check/pii-lineage.js');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      await c.run("create table people as select 1 as id, 'a@x.com' as email, 3 as n");
      for (const [sql, kept] of [
        ['select lower(n) from people', "argument types 'lower(INTEGER)'"],
        ["select date_diff('day', '2020-01-01', '2020-02-01') from people", 'for the function call "date_diff(STRING_LITERAL, STRING_LITERAL, STRING_LITERAL)"'],
      ]) {
        const m = await c.run(sql).then(() => '', (e: Error) => e.message);
        expect(m, sql).toContain(kept);
        expect(redactedError(m, ['people.email'], [sql])).toBe(m);
      }
    } finally {
      c.closeSync();
    }
  });
});

