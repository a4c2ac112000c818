/**
 * First contact with a target: BigQuery without usable credentials says, once and before any
 * model, every place it looked and how to fix it (exit 2, quickly, no MetadataLookupWarning);
 * `vigil debug` checks a target like `dbt debug` on all three warehouses.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCredentials } from '../../src/adapters/bigquery/bigquery-credentials.js';
import { startFakeBigQuery, type FakeBigQuery } from '../support/fake-bigquery.js';
import { makeProject, removeDir, REPO, vigilAsync } from '../helpers.js';

const dirs: string[] = [];
let fake: FakeBigQuery;
let project: string;
let home: string;

/** An environment with no Google credentials anywhere; the metadata server address answers nothing. */
function bare(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { HOME: home, CLOUDSDK_CONFIG: join(home, 'gcloud'), GCE_METADATA_HOST: '127.0.0.1:9', AI_AUDIT_BQ_PROJECT: 'vigil-first', NO_PROXY: '127.0.0.1', ...extra };
  return env;
}
/** vigil with GOOGLE_APPLICATION_CREDENTIALS and VIGIL_BIGQUERY_ACCESS_TOKEN removed from the inherited environment. */
function run(args: string[], env: Record<string, string>) {
  const saved = { a: process.env.GOOGLE_APPLICATION_CREDENTIALS, b: process.env.VIGIL_BIGQUERY_ACCESS_TOKEN, c: process.env.AI_AUDIT_BQ_CREDENTIALS };
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  delete process.env.VIGIL_BIGQUERY_ACCESS_TOKEN;
  delete process.env.AI_AUDIT_BQ_CREDENTIALS;
  try {
    return vigilAsync(project, args, env);
  } finally {
    Object.assign(process.env, Object.fromEntries(Object.entries({ GOOGLE_APPLICATION_CREDENTIALS: saved.a, VIGIL_BIGQUERY_ACCESS_TOKEN: saved.b, AI_AUDIT_BQ_CREDENTIALS: saved.c }).filter(([, v]) => v !== undefined)));
  }
}

/** A service-account key with a real (throwaway) private key: a key that is no PEM key is refused. */
const PEM = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
const SERVICE_KEY = { type: 'service_account', project_id: 'p', private_key_id: 'k1', private_key: PEM, client_email: 'vigil-ci@p.iam.gserviceaccount.com', client_id: '123' };
/** A line of the private key's body, which no output may hold. */
const SECRET_LINE = PEM.split('\n')[3];

beforeAll(async () => {
  fake = await startFakeBigQuery();
  home = mkdtempSync(join(tmpdir(), 'vigil-home-'));
  project = makeProject({}, false);
  dirs.push(project, home);
  for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(project, p), { recursive: true });
});
afterAll(async () => {
  await fake?.close();
  dirs.forEach(removeDir);
});

describe('BigQuery without usable credentials', () => {
  it('vigil build --target prod stops before any model: what it looked for, how to fix it, exit 2, in seconds', async () => {
    const t0 = performance.now();
    const r = await run(['build', '--target', 'prod'], bare());
    const seconds = (performance.now() - t0) / 1000;
    const all = r.stdout + r.stderr;
    expect(all).toContain('no BigQuery credentials found. Looked at, in order:');
    for (const place of ['targets.prod.credentials: empty', 'VIGIL_BIGQUERY_ACCESS_TOKEN: not set', 'GOOGLE_APPLICATION_CREDENTIALS: not set', 'gcloud application default credentials: no', 'Google Cloud metadata server: none']) expect(all).toContain(place);
    expect(all).toMatch(/Fix one of: .*gcloud auth application-default login/);
    expect(all).not.toMatch(/MetadataLookupWarning|\n\s+at .+:\d+:\d+/);
    expect(all).not.toMatch(/\d+ of \d+ (OK|ERROR)/); // no model ran
    expect(all.match(/no BigQuery credentials found/g)).toHaveLength(1);
    expect(r.code).toBe(2);
    expect(seconds).toBeLessThan(20); // the client's own discovery waits minutes; ours gives up in a fraction of a second
  });

  it('a key that is not JSON, a key file that is missing, a key without its private key: each said plainly, exit 2', async () => {
    const keyFile = join(home, 'key.json');
    writeFileSync(keyFile, JSON.stringify({ ...SERVICE_KEY, private_key: undefined }));
    for (const [value, expected] of [
      ['{ not json', /the key JSON in targets\.prod\.credentials is not valid JSON/],
      [join(home, "missing.json"), /the key file (.*missing\.json|<redacted:AI_AUDIT_BQ_CREDENTIALS>) \(from targets\.prod\.credentials\) does not exist/],
      [keyFile, /is a service-account key without private_key or client_email/],
    ] as const) {
      const r = await run(['build', '--target', 'prod'], bare({ AI_AUDIT_BQ_CREDENTIALS: value }));
      expect(r.stdout + r.stderr).toMatch(expected);
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).not.toContain(SECRET_LINE);
    }
  });

  it('a private_key that is no PEM key stops debug and build at the credentials, exit 2, naming the config key, never the value (was: OK credentials, then a bare ERR_OSSL_UNSUPPORTED, exit 1)', async () => {
    const keyFile = join(home, 'escaped.json');
    // a real key whose line breaks were stored as the two characters \n
    writeFileSync(keyFile, JSON.stringify({ ...SERVICE_KEY, private_key: PEM.replace(/\n/g, '\\n') }));
    for (const [value, expected] of [
      [JSON.stringify({ ...SERVICE_KEY, private_key: 'SECRET-not-a-pem' }), /the key JSON in targets\.prod\.credentials has a private_key that is not a PEM private key \(one starts with -----BEGIN PRIVATE KEY-----/],
      [keyFile, /the key file .* \(from targets\.prod\.credentials\) has a private_key that is not a PEM private key: its line breaks are the two characters \\n, not line breaks/],
    ] as const) {
      for (const command of ['debug', 'build']) {
        const r = await run([command, '--target', 'prod'], bare({ AI_AUDIT_BQ_CREDENTIALS: value, VIGIL_BIGQUERY_API_ENDPOINT: fake.url }));
        const all = r.stdout + r.stderr;
        expect(all).toMatch(expected);
        if (command === 'debug') expect(r.stdout).toMatch(/FAIL credentials: BigQuery credentials: /);
        expect(all).not.toMatch(/ERR_OSSL|DECODER|SECRET-not|\n\s+at .+:\d+:\d+/);
        expect(all).not.toContain(SECRET_LINE);
        expect(all).not.toMatch(/\d+ of \d+ (OK|ERROR)/);
        expect(r.code, all).toBe(2);
      }
    }
  });

  it("a key in base64 is read; a value that is no key and no path is never repeated, whatever its variable's name (was: printed whole as 'the key file <cwd>/<the base64 key>')", async () => {
    const env = bare() as NodeJS.ProcessEnv;
    const b64 = Buffer.from(JSON.stringify(SERVICE_KEY)).toString('base64');
    expect(await resolveCredentials(b64, env, 'x')).toMatchObject({ kind: 'key-json', describe: expect.stringContaining('base64-encoded key JSON from x') });
    const noPrivate = Buffer.from(JSON.stringify({ ...SERVICE_KEY, private_key: undefined })).toString('base64');
    const bad = await resolveCredentials(noPrivate, env, 'x').catch((e: Error) => e.message);
    expect(bad).toMatch(/base64-encoded key JSON in x is a service-account key without private_key/);
    expect(bad).not.toContain(noPrivate.slice(0, 20));
    // through the CLI, from a variable whose name redaction does not know for a secret
    const other = makeProject({}, false);
    dirs.push(other);
    for (const p of ['models', 'macros', 'tests']) cpSync(join(REPO, p), join(other, p), { recursive: true });
    writeFileSync(join(other, 'project.yaml'), readFileSync(join(REPO, 'project.yaml'), 'utf8').replace('AI_AUDIT_BQ_CREDENTIALS', 'BQ_CREDS'));
    const garbled = `${b64.replace(/[/+=]/g, 'A').slice(0, 40)}%%${b64.replace(/[/+=]/g, 'A').slice(40)}`;
    const r = await vigilAsync(other, ['debug', '--target', 'prod'], bare({ BQ_CREDS: garbled }));
    expect(r.stdout + r.stderr).toMatch(/the value of targets\.prod\.credentials \(\d+ characters, not shown\) is no key JSON, no base64-encoded key JSON and no key file path/);
    expect(r.stdout + r.stderr).not.toContain(garbled.slice(0, 30));
    expect(r.code).toBe(2);
  });

  it('finds each kind of credentials in order, and describes them without the secret', async () => {
    const env = bare() as NodeJS.ProcessEnv;
    const keyFile = join(home, 'sa.json');
    writeFileSync(keyFile, JSON.stringify(SERVICE_KEY));
    const fromFile = await resolveCredentials(keyFile, env, 'targets.prod.credentials');
    expect(fromFile).toMatchObject({ kind: 'key-file', describe: expect.stringContaining('service_account vigil-ci@p.iam.gserviceaccount.com') });
    expect(JSON.stringify(fromFile)).not.toContain(SECRET_LINE);
    expect(await resolveCredentials(JSON.stringify(SERVICE_KEY), env, 'x')).toMatchObject({ kind: 'key-json' });
    // a relative key file path is relative to the project root, wherever vigil runs from
    expect(await resolveCredentials('sa.json', env, 'x', home)).toMatchObject({ kind: 'key-file', path: keyFile });
    // every credential file google-auth reads
    expect(await resolveCredentials(JSON.stringify({ type: 'external_account_authorized_user', audience: 'a', client_id: 'c', refresh_token: 'r' }), env, 'x')).toMatchObject({ kind: 'key-json' });
    // the parser's complaint would quote the key: only the position is said
    const bad = await resolveCredentials('{"type": "service_account", "private_key": abcdef-secret}', env, 'x').catch((e: Error) => e.message);
    expect(bad).toMatch(/is not valid JSON/);
    expect(bad).not.toContain('abcdef');
    expect(await resolveCredentials('', { ...env, VIGIL_BIGQUERY_ACCESS_TOKEN: 't' }, 'x')).toMatchObject({ kind: 'access-token' });
    expect(await resolveCredentials('', { ...env, GOOGLE_APPLICATION_CREDENTIALS: keyFile }, 'x')).toMatchObject({ kind: 'adc-file', path: keyFile });
    const gcloud = join(home, 'gcloud');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(gcloud, { recursive: true });
    writeFileSync(join(gcloud, 'application_default_credentials.json'), JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 's', refresh_token: 'r' }));
    expect(await resolveCredentials('', env, 'x')).toMatchObject({ kind: 'adc-file', describe: expect.stringContaining('authorized_user') });
    rmSync(gcloud, { recursive: true });
  });
});

describe('vigil debug', () => {
  it('BigQuery: credentials, dataset and a dry run, each OK', async () => {
    fake.addDataset('vigil-first', 'analytics', { location: 'US' });
    const r = await run(['debug', '--target', 'prod'], bare({ VIGIL_BIGQUERY_API_ENDPOINT: fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token' }));
    expect(r.stdout).toMatch(/OK {3}target prod: bigquery, schema analytics, project vigil-first/);
    expect(r.stdout).toMatch(/OK {3}credentials: an access token from VIGIL_BIGQUERY_ACCESS_TOKEN/);
    expect(r.stdout).toMatch(/OK {3}dataset vigil-first\.analytics: exists \(US\)/);
    expect(r.stdout).toMatch(/OK {3}dry run of select 1: OK, \d+ bytes/);
    expect(r.stdout).toMatch(/All checks passed\./);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('fake-token');
  });

  it('BigQuery without credentials: the credentials line fails with what it looked for, exit 2', async () => {
    const r = await run(['debug', '--target', 'prod'], bare());
    expect(r.stdout).toMatch(/FAIL credentials: no BigQuery credentials found/);
    expect(r.stdout).toMatch(/1 check failed/);
    expect(r.code).toBe(2);
  });

  it('Postgres: connection, schema and privileges; a wrong password is one FAIL line, exit 1', async () => {
    const url = inject('pgUrl');
    const ok = await run(['debug', '--target', 'app'], { DATABASE_URL: url });
    expect(ok.stdout).toMatch(/OK {3}connection: PostgreSQL \d+/);
    expect(ok.stdout).toMatch(/OK {3}schema analytics: /);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const bad = await run(['debug', '--target', 'app'], { DATABASE_URL: url.replace(/:([^:@/]+)@/, ':wrong-password@') });
    expect(bad.stdout).toMatch(/FAIL connection: could not connect to Postgres: password authentication failed/);
    expect(bad.stdout + bad.stderr).not.toContain('wrong-password');
    expect(bad.code).toBe(1);
  });

  it('DuckDB: the file, DuckDB and the schema; a file that does not exist is not created', async () => {
    const r = await run(['debug'], {});
    expect(r.stdout).toMatch(/OK {3}database \.vigil\/dev\.duckdb: does not exist yet/);
    expect(r.stdout).toMatch(/OK {3}open: DuckDB v\d/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(project, '.vigil', 'dev.duckdb'))).toBe(false);
  });

  it('a typo in the target: the config problem at its line, exit 2', async () => {
    const r = await run(['debug', '--target', 'prd'], {});
    expect(r.stdout + r.stderr).toMatch(/target 'prd' is not defined in project\.yaml/);
    expect(r.stdout + r.stderr).toMatch(/did you mean 'prod'\?/);
    expect(r.code).toBe(2);
  });
});
