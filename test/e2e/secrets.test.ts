/**
 * Secrets never reach disk or output. Distinct secrets are planted in the environment variables
 * a target (a Postgres URL's password), a model, a hook, the alert receivers (PagerDuty routing
 * key, Slack webhook) and a sync source use; then compile, build (passing and failing: the
 * warehouse's error quotes the secret), check, alerts evaluate (delivering to loopback
 * receivers), sync (passing and failing) and dashboards render run for real. Every file under the
 * project (target/, .vigil/ with the DuckDB database and the alert state, the rendered site), all
 * output and the state tables are searched for every secret: zero hits.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { conceal, hasSecretPlaceholder, isSecret, redact, resetSecrets, reveal, secretNames, secretPlaceholder } from '../../src/secrets.js';
import { writeTargetJson } from '../../src/project/artifacts.js';
import { COUNTS_ALERT, makeProject, removeDir, vigil, vigilAsync, type CliResult } from '../helpers.js';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { uniqueSchema } from '../support/postgres.js';

const SECRETS = {
  target: 'Tgt-pw-7c1f9e2a', // the password of the Postgres target's URL
  model: 'mdl-tok-4b8d0e6f1a', // MODEL_API_TOKEN, read by a model
  hook: 'hk-sec-9a2c7e1b5d', // VIGIL_SECRET_HOOK, read by a post_hook
  routingKey: 'R0UT1NG0123456789abcdefSECRETKEY', // PagerDuty
  source: 'Src-pw-3e9b1d7f', // the password of the sync source's URL
  wrongSource: 'Bad-pw-6f2a8c4e', // a wrong source password: the failing sync
};

const dirs: string[] = [];
let client: pg.Client;
let pd: FakePagerDuty;
let slack: FakeSlack;
let base: URL;
const roles = ['vigil_secret_target', 'vigil_secret_source'];

beforeAll(async () => {
  base = new URL(inject('pgUrl'));
  client = new pg.Client({ connectionString: base.href });
  await client.connect();
  for (const [role, pw] of [
    [roles[0], SECRETS.target],
    [roles[1], SECRETS.source],
  ]) {
    await client.query(`drop role if exists ${role}`).catch(() => undefined);
    await client.query(`create role ${role} login superuser password '${pw}'`);
  }
  pd = await startFakePagerDuty();
  slack = await startFakeSlack();
});
afterAll(async () => {
  await pd?.close();
  await slack?.close();
  await client?.end();
  dirs.forEach(removeDir);
});

const urlFor = (role: string, password: string) => {
  const u = new URL(base.href);
  u.username = role;
  u.password = password;
  return u.href;
};

describe('the secret rule', () => {
  it('names the documented variables, and URLs carrying a password', () => {
    for (const n of ['PG_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'API_KEY', 'PAGERDUTY_ROUTING_KEY', 'GOOGLE_APPLICATION_CREDENTIALS', 'DATABASE_URL', 'VIGIL_SECRET_ANYTHING', 'SLACK_WEBHOOK_URL']) expect(isSecret(n, 'x'), n).toBe(true);
    for (const n of ['HOME', 'PWD', 'MONKEY_COUNT', 'KEYBOARD', 'AI_AUDIT_BQ_PROJECT', 'APP_URL']) expect(isSecret(n, 'https://example.com/x'), n).toBe(false);
    // the short spellings applications use for passwords and keys (was: DB_PASS, PG_PWD ... not secrets: env_var('DB_PASS') rendered the password into compiled SQL and manifest.json, and it was printed as it is)
    for (const n of ['DB_PASS', 'PASS', 'PG_PWD', 'MYSQL_PWD', 'PWD_ADMIN', 'SSH_PASSPHRASE', 'OPENAI_APIKEY', 'AWS_CREDS', 'METABASE_SESSION']) expect(isSecret(n, 'x'), n).toBe(true);
    for (const n of ['OLDPWD', 'BYPASS_CACHE', 'PASSENGER_COUNT', 'COMPASS_HOME', 'SESSION_TIMEZONE']) expect(isSecret(n, 'https://example.com/x'), n).toBe(false);
    // Jenkins' credentials() binds SERVICE_CREDS to user:password, SERVICE_CREDS_USR to the user name and SERVICE_CREDS_PSW to the password:
    // the user name is no secret (was: SERVICE_CREDS_USR=analytics was redacted from every line, "created view <redacted:SERVICE_CREDS_USR>.users"),
    // the password is one whatever the binding is named (DEPLOY_LOGIN_PSW)
    for (const n of ['SERVICE_CREDS_USR', 'DB_PASS_USER', 'PG_PWD_USERNAME', 'GOOGLE_CREDENTIALS_USER']) expect(isSecret(n, 'analytics'), n).toBe(false);
    for (const n of ['SERVICE_CREDS', 'SERVICE_CREDS_PSW', 'DEPLOY_LOGIN_PSW', 'PSW', 'VIGIL_SECRET_DB_USER']) expect(isSecret(n, 'analytics'), n).toBe(true);
    expect(isSecret('SERVICE_CREDS_USR', 'postgres://app:hunter22@db:5432/app')).toBe(true);
    expect(redact('1 of 2 OK created view analytics.users', { SERVICE_CREDS_USR: 'analytics', SERVICE_CREDS_PSW: 'Hunter2-pw', SERVICE_CREDS: 'analytics:Hunter2-pw' })).toBe('1 of 2 OK created view analytics.users');
    expect(isSecret('APP_URL', 'postgres://app:hunter22@db:5432/app')).toBe(true);
    // a receiver's webhook or token under a name of the user's choosing (webhook_url_env: SLACK_HOOK) is a secret by its value (was: shown whole in compiled SQL and output)
    expect(isSecret('SLACK_HOOK', 'https://hooks.slack.com/services/T0AAAA/B0BBBB/abcdefghijklmnop')).toBe(true);
    expect(isSecret('ALERTS_BOT', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp')).toBe(true);
    expect(isSecret('SOCKET_APP', 'xapp-1-A0123456789-1234567890123-abcdef0123')).toBe(true);
    for (const v of ['https://hooks.slack.com/', 'https://slack.com/api/chat.postMessage', 'xoxb', 'see xoxb-123456789012 in the docs']) expect(isSecret('NOTE', v), v).toBe(false);
  });
  it('redacts values as written and inside JSON strings; reveal() puts placeholders back', () => {
    const env = { MY_TOKEN: 'ab"c\\def-123' };
    expect(redact(`x ab"c\\def-123 y ${JSON.stringify({ t: env.MY_TOKEN })}`, env)).toBe('x <redacted:MY_TOKEN> y {"t":"<redacted:MY_TOKEN>"}');
    // as upper() or lower() in SQL leave it (a warehouse error quotes the converted value)
    expect(redact("Could not convert string 'HUNTER22HUNTER' to INT32; 'hunter22hunter'", { MY_TOKEN: 'Hunter22Hunter' })).toBe("Could not convert string '<redacted:MY_TOKEN>' to INT32; '<redacted:MY_TOKEN>'");
    // a connection URL's password on its own (a part of the URL in a warehouse's message), raw and percent-decoded
    const url = { DATABASE_URL: 'postgres://app:S3cret%21Pw99@db:5432/prod' };
    expect(redact('invalid input syntax for type integer: ":S3cret%21Pw99@db:5432/prod"; S3cret!Pw99', url)).toBe('invalid input syntax for type integer: ":<redacted:DATABASE_URL:password>@db:5432/prod"; <redacted:DATABASE_URL:password>');
    expect(reveal(`select '${secretPlaceholder('VIGIL_SECRET_T')}'`, { VIGIL_SECRET_T: 'v' })).toBe(`select 'v'`);
    expect(() => reveal(`select '${secretPlaceholder('VIGIL_SECRET_NOT_SET_ANYWHERE')}'`)).toThrow(/VIGIL_SECRET_NOT_SET_ANYWHERE is not set/);
  });
  it("a database URL's password in its query string is a secret, as the driver reads it there (was: the URL and its password shown whole under a name that is not secret)", () => {
    expect(isSecret('APP_PG', 'postgres://app@db:5432/app?sslmode=require&password=Qry-pw-4411')).toBe(true);
    expect(isSecret('APP_PG', 'postgres://app@db:5432/app?sslmode=require')).toBe(false);
    const env = { APP_PG: 'postgres://app@db:5432/app?sslmode=require&password=Qry-pw-4411' };
    expect(redact('invalid value for parameter "statement_timeout": "Qry-pw-4411"', env)).toBe('invalid value for parameter "statement_timeout": "<redacted:APP_PG:query:password>"');
    // any other URL's: *** as a user:password@ URL's, the text around it left as it is
    expect(redact('{"u":"postgres://x@h/d?sslmode=disable&password=Other-pw-99"}', {})).toBe('{"u":"postgres://x@h/d?sslmode=disable&password=***"}');
  });
  it("a database URL's password under a percent-encoded name is a secret, as the driver decodes the name (was: ?pass%77ord=... shown whole, the URL not secret under another name, its value not redacted under DATABASE_URL)", () => {
    const url = 'postgres://app@db:5432/app?sslmode=require&pass%77ord=Enc-pw-5512';
    expect(isSecret('APP_PG', url)).toBe(true);
    expect(redact('invalid value: "Enc-pw-5512"', { DATABASE_URL: url })).toBe('invalid value: "<redacted:DATABASE_URL:query:pass%77ord>"');
    expect(redact('invalid value: "Enc-pw-5512"', { APP_PG: url })).not.toContain('Enc-pw-5512');
    // the options stay settings
    expect(redact('rows that require review', { DATABASE_URL: url })).toBe('rows that require review');
  });
  it("a database URL's options are not secrets: their words stay in output and files (was: every 'require' redacted with DATABASE_URL=...?sslmode=require)", () => {
    const env = { DATABASE_URL: 'postgres://app:Db-pw-77a1@db:5432/app?sslmode=require&application_name=analytics' };
    expect(redact('rows that require review, in schema analytics; Db-pw-77a1', env)).toBe('rows that require review, in schema analytics; <redacted:DATABASE_URL:password>');
    // a webhook's query values are its tokens still
    expect(redact('echo: /hook?token=Tok-abc-123456 and Tok-abc-123456', { HOOK_WEBHOOK: 'https://h.example/hook?token=Tok-abc-123456' })).not.toContain('Tok-abc');
    const dir = makeProject({ 'models/t.sql': "-- rows that require review\nselect 'require' as why" });
    try {
      const r = vigil(dir, ['compile'], env);
      expect(r.code, r.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
      expect(manifest.nodes[`model.${manifest.metadata.project}.t`].compiled_sql).toBe("-- rows that require review\nselect 'require' as why");
      const shown = vigil(dir, ['show', '--inline', "select 'require' as why"], env);
      expect(shown.stdout).toContain('| require |');
    } finally {
      removeDir(dir);
    }
  });
  it("a secret holding line breaks is redacted as a message may show it: trimmed, one line of it, or its breaks as spaces (was: a key read with its file's newline, printed without it, shown whole)", () => {
    const env = { MY_API_KEY: 'mb_Secret0123456789\n', TWO_LINE_TOKEN: 'first-line-abcdefgh\r\nsecond-line-xyzuvw', DB_PASSWORD: 'correct horse battery staple' };
    expect(redact('Headers.append: "mb_Secret0123456789 " is an invalid header value; key mb_Secret0123456789.', env)).toBe('Headers.append: "<redacted:MY_API_KEY> " is an invalid header value; key <redacted:MY_API_KEY>.');
    expect(redact('got first-line-abcdefgh second-line-xyzuvw; then second-line-xyzuvw alone', env)).toBe('got <redacted:TWO_LINE_TOKEN>; then <redacted:TWO_LINE_TOKEN> alone');
    // words of a passphrase are not secrets on their own: only the whole of it
    expect(redact('the battery is low; correct horse battery staple', env)).toBe('the battery is low; <redacted:DB_PASSWORD>');
  });
  it('an upper- or lower-cased value inside a JSON string is redacted too: manifest.json as docs.json', () => {
    const env = { MY_API_TOKEN: 's3cr3t&<tok>"x' };
    expect(redact(JSON.stringify({ d: 'a S3CR3T&<TOK>"X b', e: 's3cr3t&<tok>"x' }), env)).toBe('{"d":"a <redacted:MY_API_TOKEN> b","e":"<redacted:MY_API_TOKEN>"}');
    const dir = makeProject({ 'models/t.sql': 'select 1 as a', 'models/t.yml': "models:\n  - name: t\n    description: 'key S3CR3T&<TOK>\"X here'\n" });
    try {
      const r = vigil(dir, ['compile'], env);
      expect(r.code, r.stderr).toBe(0);
      const manifest = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
      expect(JSON.parse(manifest).nodes['model.' + JSON.parse(manifest).metadata.project + '.t'].description).toBe('key <redacted:MY_API_TOKEN> here');
      expect(manifest.toLowerCase()).not.toContain('s3cr3t');
    } finally {
      removeDir(dir);
    }
  });
  it("secretNames finds every placeholder, whatever was tested before (a view's secrets are found by it)", () => {
    const long = `select 1 from t where a = '${secretPlaceholder('VIGIL_SECRET_A')}'`;
    expect(hasSecretPlaceholder(long)).toBe(true);
    expect(secretNames(`'${secretPlaceholder('VIGIL_SECRET_B')}'`)).toEqual(['VIGIL_SECRET_B']);
  });
  it('a filter, a method or a slice on a secret is an error naming it (it would change the placeholder, not the value)', () => {
    const dir = makeProject({ 'models/t.sql': "{{ config(materialized='table') }}\nselect '{{ env_var('VIGIL_SECRET_T') | upper }}' as t" });
    try {
      const r = vigil(dir, ['compile'], { VIGIL_SECRET_T: 'hunter22hunter' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("models/t.sql:2:40: error: filter 'upper' would change the placeholder of the secret VIGIL_SECRET_T, not its value");
      expect(r.stdout + r.stderr).not.toContain('hunter22hunter');
    } finally {
      removeDir(dir);
    }
  });
});

describe('no secret on disk or in output', () => {
  it('compile, build (passing and failing), check, alerts evaluate, sync (passing and failing), dashboards render', async () => {
    const schema = uniqueSchema('secrets');
    const srcSchema = uniqueSchema('secrets_src');
    await client.query(`create schema ${srcSchema}; create table ${srcSchema}.events (id bigint primary key, note text, created_at timestamptz not null);
      insert into ${srcSchema}.events select i, 'n' || i, timestamptz '2026-11-30 10:00:00+00' + i * interval '1 minute' from generate_series(1, 20) as i;`);
    const dir = makeProject({
      'project.yaml': `name: secrets
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
  pg: { type: postgres, url: "{{ env_var('PG_TARGET_URL') }}", schema: ${schema} }
  app: { type: postgres, url: "{{ env_var('APP_DATABASE_URL') }}", schema: analytics }
defaults:
  post_hook: "select 1 as ok where '{{ env_var('VIGIL_SECRET_HOOK') }}' <> ''"
alerts: { state: warehouse }
`,
      'models/sources.yml': `sources:
  - name: raw
    schema: raw
    sync: { from: app, schema: ${srcSchema} }
    tables:
      - name: events
        sync: { primary_key: id, cursor: created_at, batch_size: 7 }
`,
      'models/counts.sql': `{{ config(materialized='table') }}
select 'chat' as capability, 12 as n
where '{{ env_var("MODEL_API_TOKEN") }}' like 'mdl-%'
union all select 'draft', 3`,
      'models/counts.yml': `models:\n  - name: counts\n    columns:\n      - { name: capability, data_type: varchar }\n      - { name: n, data_type: integer }\n`,
      'models/broken.sql': `{{ config(materialized='table') }}\nselect cast('{{ env_var("MODEL_API_TOKEN") }}' as integer) as n`,
      // someone pasted a token's value into a model: the files Vigil writes do not repeat it
      'models/pasted.sql': `{{ config(materialized='table') }}\nselect 1 as x where '${SECRETS.model}' <> ''`,
      'models/events.sql': `{{ config(materialized='table') }}\nselect * from {{ source('raw', 'events') }}`,
      'alerts/a.yaml': COUNTS_ALERT,
      'alerts/routes.yaml': `receivers:
  - name: pd
    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }
  - name: slack
    slack: { webhook_url_env: SLACK_WEBHOOK_URL }
route:
  receiver: pd
  routes:
    - receiver: pd
      continue: true
    - receiver: slack
`,
      'dashboards/d.json': JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'k', type: 'kpi', title: 'K', model: 'counts', measures: [{ column: 'n', agg: 'sum' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] }),
    });
    dirs.push(dir);
    const env = {
      PG_TARGET_URL: urlFor(roles[0], SECRETS.target),
      APP_DATABASE_URL: urlFor(roles[1], SECRETS.source),
      MODEL_API_TOKEN: SECRETS.model,
      VIGIL_SECRET_HOOK: SECRETS.hook,
      PD_KEY: SECRETS.routingKey,
      PD_SERVER: pd.server,
      NODE_EXTRA_CA_CERTS: pd.caPath,
      SLACK_WEBHOOK_URL: slack.url,
    };
    const outputs: Array<[string, CliResult]> = [];
    const run = (args: string[], extra: Record<string, string> = {}) => {
      const r = vigil(dir, args, { ...env, ...extra });
      outputs.push([args.join(' '), r]);
      return r;
    };

    expect(run(['compile']).code).toBe(0);
    // the compiled SQL and the manifest hold placeholders, not values
    const compiled = readFileSync(join(dir, 'target/compiled/secrets/models/counts.sql'), 'utf8');
    expect(compiled).toContain("where '⟦secret:MODEL_API_TOKEN⟧' like 'mdl-%'");
    expect(run(['check', '-s', 'counts']).code).toBe(0);
    // the statement sent had the value: the where clause kept the row
    const ok = run(['build', '--exclude', 'broken', 'events']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // failing: DuckDB's message quotes the value it could not cast
    const bad = run(['build', '-s', 'broken']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/Could not convert string '⟦secret:MODEL_API_TOKEN⟧' to INT32/);
    // the Postgres target, whose URL holds a password; its failure quotes the value too
    const onPg = run(['build', '--target', 'pg']);
    expect(onPg.code).toBe(1);
    expect(onPg.stdout).toMatch(/invalid input syntax for type integer: "⟦secret:MODEL_API_TOKEN⟧"/);
    expect(onPg.stdout).toMatch(/OK created table .*counts/);
    expect(run(['debug', '--target', 'pg']).code).toBe(0);
    // a view that reads a secret would store it in the warehouse: refused at compile
    // sync: a passing one, then one with a wrong password (recorded in the state table)
    const synced = run(['sync']);
    expect(synced.code, synced.stdout + synced.stderr).toBe(0);
    expect(run(['build', '-s', 'events']).code).toBe(0);
    const failedSync = run(['sync'], { APP_DATABASE_URL: urlFor(roles[1], SECRETS.wrongSource) });
    expect(failedSync.code).toBe(1);
    expect(failedSync.stdout + failedSync.stderr).toMatch(/password authentication failed/);
    // alerts: deliver to PagerDuty and Slack, state in the warehouse (.vigil/dev.duckdb)
    const evaluated = await vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '8s'], env);
    outputs.push(['alerts evaluate', evaluated]);
    expect(evaluated.code, evaluated.stdout + evaluated.stderr).toBe(0);
    expect(pd.events.length).toBeGreaterThan(0);
    expect(slack.messages.length).toBeGreaterThan(0);
    // a receiver that refuses: its error is recorded in the state
    pd.script([{ status: 400 }]);
    const refused = await vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '8s', '--at', new Date(Date.now() + 5 * 3600_000).toISOString()], env);
    outputs.push(['alerts evaluate (refused)', refused]);
    const rendered = run(['dashboards', 'render', '--out', 'target/site']);
    expect(rendered.code, rendered.stdout + rendered.stderr).toBe(0);

    // ---- every file under the project, every output, the state tables: no secret
    const secrets = Object.values(SECRETS);
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(dir);
    // the project's own sources are the user's; everything else was written by Vigil
    files.splice(files.indexOf(join(dir, 'models/pasted.sql')), 1);
    expect(files.some((f) => f.endsWith('dev.duckdb'))).toBe(true);
    expect(files.some((f) => f.endsWith('run_results.json'))).toBe(true);
    expect(readFileSync(join(dir, 'target/compiled/secrets/models/pasted.sql'), 'utf8')).toContain("where '<redacted:MODEL_API_TOKEN>' <> ''");
    const hits: string[] = [];
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const s of secrets) if (bytes.includes(s) || bytes.includes(Buffer.from(s, 'utf16le'))) hits.push(`${f.slice(dir.length + 1)} holds ${s}`);
    }
    for (const [what, r] of outputs) for (const s of secrets) if ((r.stdout + r.stderr).includes(s)) hits.push(`output of vigil ${what} holds ${s}`);
    // (the state's journal too: a killed delivery leaves its lines there)
    for (const [table, column] of [[`${schema}.vigil_alert_state`, 'body'], [`${schema}.vigil_alert_state_journal`, 'line']]) {
      const exists = (await client.query(`select to_regclass('${table}') as t`)).rows[0].t;
      if (exists) for (const row of (await client.query(`select ${column} as v from ${table}`)).rows) for (const s of secrets) if (String(row.v).includes(s)) hits.push(`${table} holds ${s}`);
    }
    expect(hits).toEqual([]);
    // and the failures were recorded, without their secrets
    const runResults = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    expect(runResults).toBeTruthy();
  });

  it("a secret's value among a tile's rows is redacted from the rendered site, escaped for HTML or percent-encoded in a link as it is there (was: Row&lt;Sec&gt;... in the cell, Row%3CSec%3E... in the link, and in the tile cache)", () => {
    const value = 'Row<Sec>&"Qv 73/+Lw';
    const env = { VIGIL_SECRET_ROWVAL: value };
    const dir = makeProject({
      'models/leaky.sql': `{{ config(materialized='table') }}\nselect 'w1' as workspace, '{{ env_var("VIGIL_SECRET_ROWVAL") }}' as note, 3 as n`,
      'models/leaky.yml': 'models:\n  - name: leaky\n    columns:\n      - { name: workspace, data_type: varchar }\n      - { name: note, data_type: varchar }\n      - { name: n, data_type: integer }\n',
      'dashboards/d.json': JSON.stringify({ name: 'd', title: 'D', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'tbl', type: 'table', title: 'Rows', model: 'leaky', dimensions: [{ column: 'workspace' }, { column: 'note' }], measures: [{ column: 'n', agg: 'sum' }], links: [{ label: 'open', url: 'https://example.com/x?q={{ note }}' }], layout: { x: 0, y: 0, w: 12, h: 4 } }] }] }),
    });
    try {
      expect(vigil(dir, ['build'], env).code).toBe(0);
      const r = vigil(dir, ['dashboards', 'render', '--out', 'target/site'], env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const page = readFileSync(join(dir, 'target/site/d.html'), 'utf8');
      expect(page).toContain('&lt;redacted:VIGIL_SECRET_ROWVAL&gt;');
      const forms = [value, encodeURIComponent(value), value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'), 'Qv 73/+Lw', 'Qv%2073'];
      const files = ['target/site/d.html', ...readdirSync(join(dir, 'target/.cache')).map((f) => `target/.cache/${f}`)];
      const hits = files.flatMap((f) => forms.filter((x) => readFileSync(join(dir, f), 'latin1').includes(x)).map((x) => `${f}: ${x}`));
      expect(hits).toEqual([]);
    } finally {
      removeDir(dir);
    }
  });
  it('a view reading a secret is refused at compile: the warehouse would keep the value in its definition', () => {
    const dir = makeProject({ 'models/v.sql': `select 1 as x\nwhere '{{ env_var("VIGIL_SECRET_X") }}' <> ''` });
    dirs.push(dir);
    const r = vigil(dir, ['compile'], { VIGIL_SECRET_X: 'some-secret-value' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("models/v.sql:2:11: error: model 'v' is a view and reads the secret VIGIL_SECRET_X");
    expect(r.stderr).not.toContain('some-secret-value');
  });

  it("a secret's digits inside a number leave manifest.json and run_results.json readable (was: 12<redacted:...>9, not JSON)", () => {
    // a numeric password, as a dev database often has
    const env = { APP_DB_PASSWORD: '345678' };
    const dir = makeProject({ 'models/m.sql': "{{ config(materialized='table', meta={'n': 123456789, 'note': 'pw 345678'}) }}\nselect 1 as x" });
    dirs.push(dir);
    const r = vigil(dir, ['compile'], env);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')) as { nodes: Record<string, { name: string; config: { meta: { n: number; note: string } } }> };
    const node = Object.values(m.nodes).find((n) => n.name === 'm')!;
    expect(node.config.meta).toEqual({ n: 123456789, note: 'pw <redacted:APP_DB_PASSWORD>' });
    Object.assign(process.env, env);
    resetSecrets();
    try {
      const files = { root: dir, paths: { target: 'target' } } as unknown as Parameters<typeof writeTargetJson>[0];
      const written = JSON.parse(readFileSync(writeTargetJson(files, 'run_results.json', { elapsed_time: 0.0123456789, error: 'pw 345678' }), 'utf8'));
      expect(written).toEqual({ elapsed_time: 0.0123456789, error: 'pw <redacted:APP_DB_PASSWORD>' });
    } finally {
      // (left set, it was every later command's APP_DB_PASSWORD)
      delete process.env.APP_DB_PASSWORD;
      resetSecrets();
    }
  });

  it("a warehouse's message showing the statement cut to a window does not show the part of a secret beside the cut (was: DuckDB's LINE 2: ..., 'Sx7-long-token-AbCdEf... printed and kept in run_results.json)", () => {
    const token = `Sx7-long-token-${'AbCdEfGhIj'.repeat(12)}-end`;
    const env = { LONG_API_TOKEN: token };
    // DuckDB shows a window of the line around the error: here it ends inside the token
    const dir = makeProject({ 'models/t.sql': `{{ config(materialized='table') }}\nselect 1 as a, nosuchcol as y, '{{ env_var("LONG_API_TOKEN") }}' as t from (select 1)` });
    dirs.push(dir);
    const r = vigil(dir, ['build'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Referenced column "nosuchcol" not found');
    expect(r.stdout).toContain(`LINE 2: select 1 as a, nosuchcol as y, '${secretPlaceholder('LONG_API_TOKEN')}...`);
    const runResults = readFileSync(join(dir, 'target/run_results.json'), 'utf8');
    for (const text of [r.stdout + r.stderr, runResults]) expect(text).not.toContain(token.slice(0, 12));
    // a cut at the start of the window: what follows the mark
    Object.assign(process.env, env);
    resetSecrets();
    const sent = `select '${secretPlaceholder('LONG_API_TOKEN')}' as t, oops`;
    try {
      expect(conceal(`LINE 1: ...GhIjAbCdEfGhIj-end' as t, oops`, sent)).toBe(`LINE 1: ...${secretPlaceholder('LONG_API_TOKEN')}' as t, oops`);
      expect(conceal('Conversion Error: …AbCdEfGhIj-end', sent)).toBe(`Conversion Error: …${secretPlaceholder('LONG_API_TOKEN')}`);
      // (two characters beside a cut are not searched for: ordinary text; nor a text whose statement holds no secret)
      expect(conceal('LINE 1: select x, Sx...', sent)).toBe('LINE 1: select x, Sx...');
      expect(conceal(`LINE 1: select 1, 'Sx7-long...`, 'select 1')).toBe(`LINE 1: select 1, 'Sx7-long...`);
    } finally {
      delete process.env.LONG_API_TOKEN;
      resetSecrets();
    }
  });

  it("a statement's own text beside a cut that only looks like a piece of a secret stays in the message (was: a column risk_score cut to 'risk_...' shown as 'ri⟦secret:PAY_API_KEY⟧...', beside a key sk_live_...)", () => {
    const env = { PAY_API_KEY: 'sk_live_51HxAbCdEfGh0123456789' };
    // DuckDB shows 59 characters either side of the error: the window ends after 'risk_'
    const line = `select nosuchcol as y, 1 as n${'x'.repeat(30)}, risk_score from (select 1)`;
    const dir = makeProject({ 'models/t.sql': `{{ config(materialized='table', pre_hook="select '{{ env_var('PAY_API_KEY') }}' as k") }}\n${line}\n` });
    dirs.push(dir);
    const r = vigil(dir, ['build'], env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain(`LINE 2: ${line.slice(0, 66)}...`);
    expect(r.stdout).not.toContain(secretPlaceholder('PAY_API_KEY'));
    // a window starting inside the statement's text, or ending inside the secret
    Object.assign(process.env, env);
    resetSecrets();
    const sent = `select 'x_live_51HxAbCdEfGh0123456789' as a, '${secretPlaceholder('PAY_API_KEY')}' as k, oops`;
    try {
      expect(conceal(`LINE 1: ...789' as a, 'sk_live_51HxAbCdEfGh0123456789' as k, oops`, sent)).toBe(`LINE 1: ...789' as a, '${secretPlaceholder('PAY_API_KEY')}' as k, oops`);
      expect(conceal(`LINE 1: select 'x_live_51HxAbCdEfGh0123456789' as a, 'sk_li...`, sent)).toBe(`LINE 1: select 'x_live_51HxAbCdEfGh0123456789' as a, '${secretPlaceholder('PAY_API_KEY')}...`);
      // (the same piece in words that are not the statement: replaced, as it may be the secret)
      expect(conceal('Conversion Error: …0123456789', sent)).toBe(`Conversion Error: …${secretPlaceholder('PAY_API_KEY')}`);
    } finally {
      delete process.env.PAY_API_KEY;
      resetSecrets();
    }
  });

  it("the render cache keeps no hash of a secret's value, and a changed value reaches the warehouse (was: target/.cache/compile.bin held sha256 of every secret a model read: a guess at a password tested offline)", () => {
    const dir = makeProject({ 'models/t.sql': `{{ config(materialized='table') }}\nselect length('{{ env_var("APP_DB_PASSWORD") }}') as n` });
    dirs.push(dir);
    const first = 'pw-first-5e1c';
    const built = vigil(dir, ['run'], { APP_DB_PASSWORD: first });
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const cache = readFileSync(join(dir, 'target/.cache/compile.bin'));
    // (a prefix of the hex: the stamp kept a cut of the hash)
    const hashed = createHash('sha256').update(first).digest('hex').slice(0, 16);
    expect(cache.includes(hashed)).toBe(false);
    expect(cache.includes(first)).toBe(false);
    // the cached render is reused with the value of the moment: the warehouse gets the new one
    const show = (pw: string) => vigil(dir, ['show', '--inline', "select n from {{ ref('t') }}", '--output', 'csv'], { APP_DB_PASSWORD: pw }).stdout;
    expect(show(first)).toBe('n\n13\n');
    expect(vigil(dir, ['run'], { APP_DB_PASSWORD: 'pw-second-9a7d0' }).code).toBe(0);
    expect(show('pw-second-9a7d0')).toBe('n\n15\n');
    // unset, the model's env_var() is an error again (not the cached render)
    expect(vigil(dir, ['compile'], { APP_DB_PASSWORD: undefined }).stderr).toContain('APP_DB_PASSWORD');
  });

  it("a render cache from before the upgrade, holding hashes of secrets, is not kept (was: an entry of a model deleted since kept sha256 of the password in target/.cache/compile.bin, compile after compile)", () => {
    const pw = 'pw-older-cache-71d2';
    const dir = makeProject({ 'models/t.sql': `{{ config(materialized='table') }}\nselect length('{{ env_var("APP_DB_PASSWORD") }}') as n` });
    dirs.push(dir);
    expect(vigil(dir, ['compile'], { APP_DB_PASSWORD: pw }).code).toBe(0);
    const file = join(dir, 'target/.cache/compile.bin');
    // the entry the previous release kept for a model since deleted: its stamp, a cut of sha256(value)
    const hashed = createHash('sha256').update(pw).digest('hex').slice(0, 32);
    const cache = deserialize(readFileSync(file)) as { version: number; renders: Map<string, { calls: { envUsed: Record<string, string> } }> };
    const entry = structuredClone(cache.renders.get('models/t.sql')!);
    entry.calls.envUsed.APP_DB_PASSWORD = hashed;
    cache.renders.set('models/gone.sql', entry);
    writeFileSync(file, serialize({ ...cache, version: 3 }));
    expect(vigil(dir, ['compile'], { APP_DB_PASSWORD: pw }).code).toBe(0);
    expect(readFileSync(file).includes(hashed)).toBe(false);
  });

  it("a --vars number that is a secret's value is its placeholder too: a view reading it is refused, a table gets the value, manifest.json keeps no hash of it (was: the view created with the value in its definition, sha256 of the digits in manifest.json's vars)", () => {
    // a numeric password or PIN, which YAML reads as a number (as it does 007: 7)
    const env = { VIGIL_SECRET_PIN: '0098765432' };
    const dir = makeProject({
      'models/v.sql': `select {{ var("pin") }} as pin`,
      'models/t.sql': `{{ config(materialized='table') }}\nselect {{ var("pin") }} as pin`,
    });
    dirs.push(dir);
    const view = vigil(dir, ['run', '--vars', `{pin: ${env.VIGIL_SECRET_PIN}}`], env);
    expect(view.code, view.stdout + view.stderr).toBe(2);
    expect(view.stderr).toContain("model 'v' is a view and reads the secret VIGIL_SECRET_PIN");
    rmSync(join(dir, 'models/v.sql'));
    const table = vigil(dir, ['run', '--vars', `{pin: ${env.VIGIL_SECRET_PIN}}`], env);
    expect(table.code, table.stdout + table.stderr).toBe(0);
    const manifest = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    for (const digits of ['0098765432', '98765432']) expect(manifest).not.toContain(createHash('sha256').update(digits).digest('hex').slice(0, 16));
    expect(readFileSync(join(dir, 'target/compiled', readdirSync(join(dir, 'target/compiled'))[0], 'models/t.sql'), 'utf8')).toContain(`select ${secretPlaceholder('VIGIL_SECRET_PIN')} as pin`);
    expect(vigil(dir, ['show', '--inline', "select pin from {{ ref('t') }}", '--output', 'csv', '--vars', '{pin: 0}'], env).stdout).toBe('pin\n98765432\n');
  });

  it("a --vars number spelled in hex or octal that is a secret's value is its placeholder too (was: 0x1F2A3B kept the number 2042427, compiled into a view's definition, exit 0)", () => {
    const dir = makeProject({ 'models/v.sql': `select {{ var("pin") }} as pin` });
    dirs.push(dir);
    for (const [pin, read] of [
      ['0x1F2A3B', '2042427'],
      ['0o1234567', '342391'],
    ]) {
      const env = { VIGIL_SECRET_PIN: pin };
      const r = vigil(dir, ['compile', '--vars', `{pin: ${pin}}`], env);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain("model 'v' is a view and reads the secret VIGIL_SECRET_PIN");
      expect(r.stdout + r.stderr).not.toContain(read);
    }
  });

  it("a --vars secret YAML reads otherwise than written is refused without showing how it was read (was: 'is 342391 to dbt (YAML 1.1) but 1234567 to Vigil' for 01234567, a 20-digit one 'rounded ... to' its first 17 digits)", () => {
    const dir = makeProject({ 'models/t.sql': `{{ config(materialized='table') }}\nselect {{ var("pin") }} as pin` });
    dirs.push(dir);
    for (const [pin, forms, why] of [
      ['01234567', ['342391', '1234567'], 'is one value to dbt (YAML 1.1) and another to Vigil (YAML 1.2)'],
      ['12:34:56', ['45296'], 'is one value to dbt (YAML 1.1) and another to Vigil (YAML 1.2)'],
      ['1_000_000', ['1000000'], 'is one value to dbt (YAML 1.1) and another to Vigil (YAML 1.2)'],
      ['12345678901234567890', ['12345678901234567'], 'is an integer past 2^53'],
    ] as const) {
      // (and a shorter secret whose digits are inside the 20-digit one: the message names the PIN)
      const r = vigil(dir, ['compile', '--vars', `{pin: ${pin}}`], { APP_DB_PASSWORD: '345678', VIGIL_SECRET_PIN: pin });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(`--vars: pin: the value of the secret VIGIL_SECRET_PIN ${why}`);
      expect(r.stderr).toContain(`quote it ('$VIGIL_SECRET_PIN')`);
      for (const f of forms) expect(r.stdout + r.stderr, pin).not.toContain(f);
    }
    // quoted, it is the placeholder, and the statement gets it as written
    const quoted = vigil(dir, ['run', '--vars', `{pin: '01234567'}`], { VIGIL_SECRET_PIN: '01234567' });
    expect(quoted.code, quoted.stdout + quoted.stderr).toBe(0);
    // (a value that is no secret's is said with its readings, as before)
    expect(vigil(dir, ['compile', '--vars', '{pin: 0755}']).stderr).toContain('0755 is 493 to dbt (YAML 1.1) but 755 to Vigil (YAML 1.2)');
  });

  it("a --vars value holding a secret's value is the secret's placeholder: a view reading it is refused, a table gets the value", () => {
    const env = { VIGIL_SECRET_X: 'vars-secret-9f3e1a' };
    const dir = makeProject({
      'models/v.sql': `select '{{ var("tok") }}' as tok`,
      'models/t.sql': `{{ config(materialized='table') }}\nselect 'x{{ var("tok2", "") }}' as tok`,
    });
    dirs.push(dir);
    const view = vigil(dir, ['run', '--vars', `{tok: ${env.VIGIL_SECRET_X}}`], env);
    // (the view kept the value in its definition, readable by whoever may read the view)
    expect(view.code).toBe(2);
    expect(view.stderr).toContain("model 'v' is a view and reads the secret VIGIL_SECRET_X");
    const table = vigil(dir, ['run', '-s', 't', '--vars', `{tok: '', tok2: 'a ${env.VIGIL_SECRET_X} b'}`], env);
    expect(table.code, table.stderr).toBe(0);
    expect(readFileSync(join(dir, 'target/compiled', readdirSync(join(dir, 'target/compiled'))[0], 'models/t.sql'), 'utf8')).toContain(`'xa ${secretPlaceholder('VIGIL_SECRET_X')} b'`);
    const shown = vigil(dir, ['show', '--inline', `select tok = 'xa ${env.VIGIL_SECRET_X} b' as same from {{ ref('t') }}`, '--vars', '{tok: ""}', '--output', 'csv'], env);
    expect(shown.stdout).toBe('same\ntrue\n');
  });
});
