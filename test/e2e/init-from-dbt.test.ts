/**
 * `vigil init --from-dbt`: a jaffle_shop-shaped dbt project (test/fixtures/projects/dbt-jaffle,
 * written for these tests) converted into a Vigil project that `vigil seed` and `vigil build`
 * run green in, its numbers checked against the CSVs; what cannot be converted is listed at
 * its file:line; a literal password never reaches a written file; existing files are kept.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { convertDbtProject, convertProfiles, DBT_DEFAULT_SCHEMA_NAME, convertPropertiesYaml, Findings, scanTemplate } from '../../src/project/from-dbt.js';
import { dbtYamlValue } from '../../src/project/dbt-yaml.js';
import { PropertiesFileSchema, SnapshotConfigSchema } from '../../src/project/schema.js';
import { uniqueSchema } from '../support/postgres.js';
import { BASIC_PROJECT_YAML, makeProject, removeDir, REPO, VIGIL, vigil, type CliResult } from '../helpers.js';

const FIXTURE = join(REPO, 'test/fixtures/projects/dbt-jaffle');
const PASSWORD = 'Sup3r-Literal-Jaffle-Pw';
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** A CSV without quoted fields (the fixture's) as records. */
function csv(file: string): Array<Record<string, string>> {
  const [head, ...rows] = readFileSync(join(FIXTURE, 'seeds', file), 'utf8').trim().split('\n');
  const cols = head.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], v])));
}

/** `vigil init --from-dbt <src> .` in a new empty folder: it must exit 0; the folder and the result. */
function initFromDbt(src: string, env: Record<string, string> = {}): { dest: string; r: CliResult } {
  const dest = makeProject({}, false);
  dirs.push(src, dest);
  const r = vigil(dest, ['init', '--from-dbt', src, '.'], env);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return { dest, r };
}

async function query<T extends Record<string, unknown>>(dir: string, sql: string): Promise<T[]> {
  const db = await DuckDbAdapter.open({ type: 'duckdb', path: 'jaffle_shop.duckdb', schema: 'main' }, dir, 1);
  try {
    return await db.query<T>(sql);
  } finally {
    await db.close();
  }
}

describe('vigil init --from-dbt on a jaffle_shop-shaped project', () => {
  let parent: string;
  let dest: string;
  let conv: CliResult;
  beforeAll(() => {
    parent = makeProject({}, false);
    dirs.push(parent);
    dest = join(parent, 'shop');
    conv = vigil(parent, ['init', '--from-dbt', FIXTURE, 'shop']);
  });

  it('prints one line per written file, then what was not converted with its file:line', () => {
    expect(conv.code, conv.stdout + conv.stderr).toBe(0);
    const lines = conv.stdout.split('\n');
    for (const f of ['project.yaml', 'models/staging/stg_orders.sql', 'models/marts/orders.sql', 'models/marts/schema.yml', 'seeds/raw_payments.csv', 'macros/cross_db.sql', 'snapshots/orders_snapshot.sql', 'tests/assert_order_payments_not_negative.sql']) {
      expect(lines, f).toContain(`  ${f}`);
      expect(existsSync(join(dest, f)), f).toBe(true);
    }
    const nc = conv.stdout.slice(conv.stdout.indexOf('\nNot converted:'));
    expect(conv.stdout).toContain('\nNot converted:');
    expect(nc).toMatch(/^ {2}packages\.yml: packages are not supported.*dbt_utils/m);
    // the macro's `{{ return(adapter.dispatch(...)) }}` is on line 3
    expect(nc).toMatch(/^ {2}macros\/cross_db\.sql:3: adapter\.dispatch: /m);
    expect(nc).toMatch(/^ {2}dbt_project\.yml:24: on-run-end: log\(\)/m);
    expect(nc).toMatch(/^ {2}dbt_project\.yml:30: models: jaffle_shop\.\+persist_docs: not converted/m);
    expect(nc).toMatch(/^ {2}models\/staging\/schema\.yml:41: test 'dbt_utils\.accepted_range': not one of Vigil's generic tests/m);
    expect(nc).toMatch(/^ {2}models\/marts\/schema\.yml:6: models\[0\]\.docs: not converted/m);
    // a test's store_failures is Vigil's too (docs/models.md#thresholds-and-stored-failures): kept, not listed (was: not converted)
    expect(nc).not.toMatch(/store_failures/);
    expect(nc).toMatch(/analyses\/orders_by_month\.sql: 1 analysis/);
    expect(conv.stdout).toMatch(/VIGIL_PROD_PASSWORD/);
    expect(conv.stdout).toContain('vigil compile on the converted project: OK (5 models, 3 seeds, 1 snapshot, 20 data tests');
    // (no vigil-analytics install in reach of the folder: this install's bin, not npx vigil, the npm package `vigil`)
    expect(conv.stdout).toContain(`Next: node ${VIGIL} seed && node ${VIGIL} build`);
    expect(conv.stderr).toBe('');
  });

  it("writes dbt's default generate_schema_name (the project has none of its own), so schemas stay dbt's: <target schema>_<custom schema>", () => {
    expect(conv.stdout.split('\n')).toContain('  macros/generate_schema_name.sql');
    expect(readFileSync(join(dest, 'macros/generate_schema_name.sql'), 'utf8')).toBe(DBT_DEFAULT_SCHEMA_NAME);
    expect(conv.stdout).not.toMatch(/generate_schema_name does/);
    // a project with its own: kept as it is, nothing written beside it
    const own = makeProject({}, false);
    dirs.push(own);
    cpSync(FIXTURE, join(own, 'dbt'), { recursive: true });
    writeFileSync(join(own, 'dbt/macros/naming.sql'), '{% macro generate_schema_name(custom_schema_name, node) -%}\n{{ custom_schema_name or target.schema }}\n{%- endmacro %}\n');
    const r = vigil(own, ['init', '--from-dbt', 'dbt', 'shop']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(own, 'shop/macros/generate_schema_name.sql'))).toBe(false);
    expect(readFileSync(join(own, 'shop/macros/naming.sql'), 'utf8')).toContain('custom_schema_name or target.schema');
    expect(r.stdout).not.toMatch(/generate_schema_name\(\): /);
  });

  it('copies models, macros, tests, snapshots, docs and seeds byte for byte', () => {
    const copied = walk(FIXTURE)
      .map((p) => relative(FIXTURE, p))
      .filter((p) => /^(models|macros|tests|snapshots|seeds)\//.test(p) && /\.(sql|csv|md)$/.test(p));
    expect(copied.length).toBe(13);
    for (const p of copied) expect(readFileSync(join(dest, p)).equals(readFileSync(join(FIXTURE, p))), p).toBe(true);
    // analyses and dbt's own files are not copied
    for (const p of ['analyses', 'dbt_project.yml', 'profiles.yml', 'packages.yml']) expect(existsSync(join(dest, p)), p).toBe(false);
  });

  it('writes project.yaml with Vigil keys: targets from profiles.yml, vars, clean_targets, the models tree; seed configs in YAML', () => {
    const p = parse(readFileSync(join(dest, 'project.yaml'), 'utf8'));
    expect(p.name).toBe('jaffle_shop');
    expect(p.default_target).toBe('dev');
    expect(p.targets.dev).toEqual({ type: 'duckdb', path: 'jaffle_shop.duckdb', schema: 'main' });
    expect(p.targets.prod).toEqual({ type: 'postgres', url: "postgres://{{ env_var('JAFFLE_PG_USER') }}:{{ env_var('VIGIL_PROD_PASSWORD') }}@warehouse.jaffle.example:5432/jaffle", schema: 'analytics' });
    expect(p.vars).toEqual({ start_date: '2018-01-01' });
    expect(p.clean_targets).toEqual(['logs']);
    expect(p.models).toEqual({ jaffle_shop: { '+materialized': 'table', staging: { '+materialized': 'view', '+tags': ['staging'] } } });
    expect(p.on_run_end).toBeUndefined();
    const seeds = parse(readFileSync(join(dest, 'seeds/_seed_configs.yml'), 'utf8'));
    expect(seeds.seeds).toEqual([
      { name: 'raw_customers', config: { schema: 'raw' } },
      { name: 'raw_payments', config: { schema: 'raw', column_types: { amount: 'integer' } } },
    ]);
    expect(parse(readFileSync(join(dest, 'seeds/seeds.yml'), 'utf8')).seeds[0].config).toEqual({ column_types: { order_date: 'date' }, schema: 'raw' });
    // doc() stays (Vigil reads the block from models/marts/docs.md); the dbt-only keys are gone, the tests are Vigil's
    const marts = readFileSync(join(dest, 'models/marts/schema.yml'), 'utf8');
    expect(marts).toContain(`description: '{{ doc("orders_status") }}'`);
    expect(marts).not.toMatch(/docs:|contract/);
    expect(marts).toMatch(/store_failures: true/);
    // a column's quote: true is Vigil's too (its generic tests write the name quoted): kept, not listed (was: taken out, "Vigil does not quote column names")
    expect(parse(marts).models.find((m: { name: string }) => m.name === 'orders').columns.find((c: { name: string }) => c.name === 'credit_card_amount')).toMatchObject({ quote: true });
    expect(conv.stdout).not.toMatch(/\.quote: not converted/);
    const staging = parse(readFileSync(join(dest, 'models/staging/schema.yml'), 'utf8'));
    expect(staging.models[2].data_tests).toEqual([{ expression_is_true: { expression: 'amount > 0' } }]);
    expect(staging.models[1].columns[1].data_tests[0].accepted_values.values).toHaveLength(5);
    expect(readFileSync(join(dest, '.gitignore'), 'utf8')).toContain('jaffle_shop.duckdb');
  });

  it('never writes the literal password of profiles.yml', () => {
    const files = walk(dest);
    expect(files.length).toBeGreaterThan(15);
    for (const f of files) expect(readFileSync(f, 'utf8').includes(PASSWORD), f).toBe(false);
    expect(conv.stdout + conv.stderr).not.toContain(PASSWORD);
  });

  it('vigil seed and vigil build pass; the marts hold what the CSVs say', async () => {
    const seed = vigil(dest, ['seed']);
    expect(seed.code, seed.stdout + seed.stderr).toBe(0);
    // dbt's default schema naming: the seeds' +schema: raw is main_raw, as dbt builds it
    expect(seed.stdout).toMatch(/OK loaded seed main_raw\.raw_payments \(53 rows\)/);
    const build = vigil(dest, ['build']);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    expect(build.stdout).toMatch(/Finished 29 nodes in [\d.]+s: OK=29 WARN=0 ERROR=0 SKIP=0 TOTAL=29/);
    expect(build.stdout).toMatch(/PASS relationships_orders_customer_id/);
    expect(build.stdout).toMatch(/OK snapshot snapshots\.orders_snapshot/);
    expect(build.stdout).toMatch(/OK created view main\.stg_orders/);
    expect(build.stdout).toMatch(/OK created table main\.customers/);
    // doc('orders_status') resolved from the copied models/marts/docs.md
    const manifest = JSON.parse(readFileSync(join(dest, 'target/manifest.json'), 'utf8'));
    const status = manifest.nodes['model.jaffle_shop.orders'].columns.find((c: { name: string }) => c.name === 'status');
    expect(status.description).toContain('| return_pending | the customer asked to return it');

    // the same numbers, computed here from the CSVs
    const customers = csv('raw_customers.csv');
    const orders = csv('raw_orders.csv');
    const payments = csv('raw_payments.csv');
    const orderOwner = new Map(orders.map((o) => [o.id, o.user_id]));
    const ltv = new Map<string, number>();
    for (const p of payments) {
      const c = orderOwner.get(p.order_id)!;
      ltv.set(c, (ltv.get(c) ?? 0) + Number(p.amount) / 100);
    }
    const ordersOf = (id: string) => orders.filter((o) => o.user_id === id).length;
    // the customer with the most orders
    const top = customers.map((c) => c.id).sort((a, b) => ordersOf(b) - ordersOf(a))[0];
    expect(ordersOf(top)).toBeGreaterThan(2);

    const [counts] = await query<{ customers: number; orders: number; paid: number }>(
      dest,
      'select (select count(*)::int from main.customers) as customers, (select count(*)::int from main.orders) as orders, (select sum(amount)::double from main.orders) as paid',
    );
    expect(counts.customers).toBe(customers.length);
    expect(counts.customers).toBe(20);
    expect(counts.orders).toBe(orders.length);
    expect(counts.orders).toBe(40);
    expect(counts.paid).toBeCloseTo(payments.reduce((s, p) => s + Number(p.amount), 0) / 100, 6);
    const rows = await query<{ customer_id: number; number_of_orders: number; customer_lifetime_value: number | null }>(
      dest,
      'select customer_id::int as customer_id, number_of_orders::int as number_of_orders, customer_lifetime_value::double as customer_lifetime_value from main.customers order by customer_id',
    );
    const one = rows.find((r) => String(r.customer_id) === top)!;
    expect(one.number_of_orders).toBe(ordersOf(top));
    expect(one.customer_lifetime_value).toBeCloseTo(ltv.get(top)!, 6);
    // and every other customer's, those who never ordered included (no payments: null)
    for (const r of rows) {
      const want = ltv.get(String(r.customer_id));
      if (want === undefined) expect(r.customer_lifetime_value, `customer ${r.customer_id}`).toBeNull();
      else expect(r.customer_lifetime_value!, `customer ${r.customer_id}`).toBeCloseTo(want, 6);
    }
    // the pivot by payment method adds up to the order's amount
    const [pivot] = await query<{ bad: number }>(dest, 'select count(*)::int as bad from main.orders where abs(credit_card_amount + coupon_amount + bank_transfer_amount + gift_card_amount - amount) > 1e-9');
    expect(pivot.bad).toBe(0);
  });
});

describe('vigil init --from-dbt: existing files, mistakes', () => {
  it('keeps a file that is already there (unless --force)', () => {
    const dest = makeProject({ 'models/staging/stg_orders.sql': '-- mine\n', 'project.yaml': '# mine\n' }, false);
    dirs.push(dest);
    const r = vigil(dest, ['init', '--from-dbt', FIXTURE]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('  models/staging/stg_orders.sql (already there: kept as it was)');
    expect(r.stdout).toContain('  project.yaml (already there: kept as it was)');
    expect(readFileSync(join(dest, 'models/staging/stg_orders.sql'), 'utf8')).toBe('-- mine\n');
    expect(readFileSync(join(dest, 'project.yaml'), 'utf8')).toBe('# mine\n');
    expect(r.stdout).toMatch(/project\.yaml: already there, kept as it was: it differs from the converted file \(--force writes the converted one\)/);
    expect(readFileSync(join(dest, 'models/staging/stg_customers.sql')).equals(readFileSync(join(FIXTURE, 'models/staging/stg_customers.sql')))).toBe(true);
    // the kept project.yaml is not a Vigil project: the check after converting says so, without a stack trace; exit 1
    expect(r.stdout).toMatch(/vigil compile on the converted project: \d+ errors?/);

    const forced = vigil(dest, ['init', '--from-dbt', FIXTURE, '.', '--force']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(forced.stdout).toContain('  models/staging/stg_orders.sql\n');
    expect(readFileSync(join(dest, 'models/staging/stg_orders.sql')).equals(readFileSync(join(FIXTURE, 'models/staging/stg_orders.sql')))).toBe(true);
    expect(readFileSync(join(dest, 'project.yaml'), 'utf8')).toMatch(/^name: jaffle_shop$/m);
    expect(forced.stdout).toContain('vigil compile on the converted project: OK');
  });

  it('a folder without dbt_project.yml: exit 2, a clear message, no stack trace, nothing written', () => {
    const parent = makeProject({ 'not-dbt/models/a.sql': 'select 1\n' }, false);
    dirs.push(parent);
    const r = vigil(parent, ['init', '--from-dbt', 'not-dbt', 'out']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --from-dbt not-dbt: no dbt_project\.yml in .*not-dbt \(give the folder of the dbt project/m);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    expect(existsSync(join(parent, 'out'))).toBe(false);
    const none = vigil(parent, ['init', '--from-dbt', 'nowhere', 'out']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no such folder');
  });

  it("profiles.yml is found where dbt looks (DBT_PROFILES_DIR, the project's folder, ~/.dbt) and the one read is said; none found is said with what was written instead (was: a DuckDB target, silently)", () => {
    const profile = (schema: string) => `shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: shop.duckdb\n      schema: ${schema}\n`;
    const parent = makeProject({ 'dbt/dbt_project.yml': 'name: shop\nprofile: shop\n', 'dbt/models/a.sql': 'select 1 as id\n', 'home/x': '', 'home2/.dbt/profiles.yml': profile('from_home'), 'pdir/profiles.yml': profile('from_env') }, false);
    dirs.push(parent);
    const run = (out: string, env: Record<string, string | undefined>) => {
      const r = vigil(parent, ['init', '--from-dbt', 'dbt', out], { DBT_PROFILES_DIR: undefined, ...env });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return { r, project: parse(readFileSync(join(parent, out, 'project.yaml'), 'utf8')) };
    };
    const none = run('o1', { HOME: join(parent, 'home') });
    expect(none.r.stdout).toContain(`No profiles.yml found (looked where dbt looks: ${join(parent, 'dbt/profiles.yml')} (the dbt project's folder), ${join(parent, 'home/.dbt/profiles.yml')} (~/.dbt)): project.yaml has a DuckDB target dev (.vigil/dev.duckdb), as vigil init writes; convert your targets with --profiles <file>.`);
    expect(none.project.targets.dev.path).toBe('.vigil/dev.duckdb');
    const home = run('o2', { HOME: join(parent, 'home2') });
    expect(home.r.stdout).toContain(`Targets from ${join(parent, 'home2/.dbt/profiles.yml')} (~/.dbt).`);
    expect(home.project.targets.dev.schema).toBe('from_home');
    // DBT_PROFILES_DIR first, as dbt reads it
    const env = run('o3', { HOME: join(parent, 'home2'), DBT_PROFILES_DIR: join(parent, 'pdir') });
    expect(env.r.stdout).toContain(`Targets from ${join(parent, 'pdir/profiles.yml')} (DBT_PROFILES_DIR).`);
    expect(env.project.targets.dev.schema).toBe('from_env');
  });

  it('a model file ending in .SQL is converted as the model it is for dbt and Vigil (was: left out, its folder config "holds no model")', () => {
    const src = makeProject({ 'dbt_project.yml': 'name: proj\nprofile: proj\nmodels:\n  proj:\n    staging:\n      +materialized: table\n', 'models/staging/Orders.SQL': 'select 1 as id\n' }, false);
    dirs.push(src);
    const parent = makeProject({}, false);
    dirs.push(parent);
    const r = vigil(parent, ['init', '--from-dbt', src, 'out']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('OK (1 model,');
    expect(r.stdout).not.toContain('holds a model');
    expect(readFileSync(join(parent, 'out/models/staging/Orders.SQL'), 'utf8')).toBe('select 1 as id\n');
  });

  it('YAML that does not parse: exit 2 at its file:line, nothing written', () => {
    const src = makeProject({}, false);
    dirs.push(src);
    cpSync(FIXTURE, src, { recursive: true });
    writeFileSync(join(src, 'models/marts/schema.yml'), 'version: 2\nmodels:\n  - name: orders\n    columns: [a\n');
    const parent = makeProject({}, false);
    dirs.push(parent);
    const r = vigil(parent, ['init', '--from-dbt', src, 'out']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^models\/marts\/schema\.yml:\d+:\d+: error: .* \[E_YAML\]/m);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    expect(existsSync(join(parent, 'out'))).toBe(false);
    writeFileSync(join(src, 'dbt_project.yml'), "name: 'jaffle_shop'\nmodels:\n\t+materialized: table\n");
    const p = vigil(parent, ['init', '--from-dbt', src, 'out']);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/^dbt_project\.yml:3:1: error: a tab in the indentation/m);
  });

  it('in place is refused without --force (the dbt YAML was kept as it was and failed to load); inside a Vigil project\'s models/ is refused (that project read the new one); a result that does not compile exits 1', () => {
    const src = makeProject({}, false);
    dirs.push(src);
    cpSync(FIXTURE, src, { recursive: true });
    const inPlace = vigil(src, ['init', '--from-dbt', '.', '.']);
    expect(inPlace.code).toBe(2);
    expect(inPlace.stderr).toContain('that is the dbt project itself');
    expect(existsSync(join(src, 'project.yaml'))).toBe(false);
    // a new project (plain init or converted) inside the models of a Vigil project
    const outer = makeProject({ 'models/a.sql': 'select 1 as x' });
    dirs.push(outer);
    const nested = vigil(join(outer, 'models'), ['init', 'sub']);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toMatch(/is inside models\/ of the Vigil project .*: that project would read the new one's files as its own/);
    expect(vigil(join(outer, 'models'), ['init', '--from-dbt', src, '.']).code).toBe(2);
    expect(existsSync(join(outer, 'models/project.yaml'))).toBe(false);
    expect(vigil(outer, ['compile']).code).toBe(0);
    // beside its folders it is fine
    expect(vigil(outer, ['init', 'examples/second']).code).toBe(0);
    // the converted project does not compile: the files are written, exit 1
    writeFileSync(join(src, 'models/staging/broken.sql'), "select * from {{ ref('no_such_model') }}\n");
    const parent = makeProject({}, false);
    dirs.push(parent);
    const bad = vigil(parent, ['init', '--from-dbt', src, 'out']);
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stdout).toContain(`Next: fix the errors above, then node ${VIGIL} compile`);
    expect(existsSync(join(parent, 'out/project.yaml'))).toBe(true);
  });

  it('--profiles and --force need --from-dbt; --template does not go with it', () => {
    const parent = makeProject({}, false);
    dirs.push(parent);
    expect(vigil(parent, ['init', 'x', '--force']).stderr).toContain('--profiles and --force go with --from-dbt');
    const t = vigil(parent, ['init', 'x', '--from-dbt', FIXTURE, '--template', 'blank']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--template and --from-dbt do not go together');
  });
});

describe('from-dbt, piece by piece', () => {
  it('profiles: env_var() as Vigil reads it, literal secrets replaced by variables, other warehouses listed', () => {
    const f = new Findings();
    const t = convertProfiles(
      `shop:
  target: "{{ env_var('DBT_TARGET', 'dev') }}"
  outputs:
    dev:
      type: postgres
      host: localhost
      port: "{{ env_var('PGPORT') | int }}"
      user: me
      pass: "{{ env_var('DBT_ENV_SECRET_PG') }}"
      dbname: shop
      sslmode: require
    bq:
      type: bigquery
      method: service-account-json
      project: p1
      dataset: marts
      location: EU
      job_execution_timeout_seconds: 300
      keyfile_json:
        type: service_account
        private_key: "-----BEGIN PRIVATE KEY-----abcdef"
    sf:
      type: snowflake
      account: xy
      password: "snowflake-literal-pw"
    pgdefault:
      type: postgres
      host: db
      user: me
      password: "{{ env_var('PG_PASSWORD', 'DefaultPassw0rdLeak') }}"
      dbname: shop
    pgtrust:
      type: postgres
      host: db
      user: me
      password: "{{ env_var('PG_TRUST_PASSWORD', '') }}"
      dbname: shop
    bqenv:
      type: bigquery
      method: service-account-json
      project: p1
      dataset: marts
      keyfile_json:
        type: service_account
        private_key: "{{ env_var('BQ_PRIVATE_KEY') }}"
`,
      'profiles.yml',
      'shop',
      f,
    )!;
    expect(t.default_target).toBe('dev');
    expect(t.targets.dev).toEqual({ type: 'postgres', url: "postgres://me:{{ env_var('DBT_ENV_SECRET_PG') }}@localhost:{{ env_var('PGPORT') }}/shop", ssl: { reject_unauthorized: false } });
    expect(t.targets.bq).toEqual({ type: 'bigquery', project: 'p1', dataset: 'marts', credentials: "{{ env_var('VIGIL_BQ_CREDENTIALS') }}", location: 'EU', timeout_ms: 300000 });
    expect(t.targets.sf).toBeUndefined();
    // an env_var() default of a password is the password written down: not copied (was: in project.yaml's url)
    expect(t.targets.pgdefault).toEqual({ type: 'postgres', url: "postgres://me:{{ env_var('PG_PASSWORD') }}@db/shop" });
    expect(f.secrets).toContain('DefaultPassw0rdLeak');
    // an empty default (local trust auth) is no secret: kept, the variable need not be set
    expect(t.targets.pgtrust).toEqual({ type: 'postgres', url: "postgres://me:{{ env_var('PG_TRUST_PASSWORD', '') }}@db/shop" });
    expect(f.notes.map((x) => x.message)).toContainEqual(expect.stringContaining("outputs.pgdefault.password: the default of its env_var() (the password of the Postgres target 'pgdefault') is not copied"));
    // a key assembled from variables is not said to be "held literally"
    expect(f.notes.map((x) => x.message)).toContainEqual('outputs.bqenv.keyfile_json is assembled from the environment variables BQ_PRIVATE_KEY: Vigil takes it whole; the target reads it from the environment variable VIGIL_BQENV_CREDENTIALS');
    expect(f.env.map((e) => e.name)).toEqual(['VIGIL_BQ_CREDENTIALS', 'VIGIL_BQENV_CREDENTIALS']);
    expect(f.secrets).toContain('snowflake-literal-pw');
    expect(f.secrets).toContain('-----BEGIN PRIVATE KEY-----abcdef');
    expect(f.notConverted.map((x) => `${x.line}: ${x.message}`)).toContainEqual(expect.stringMatching(/^23: outputs\.sf: type snowflake/));
  });

  it("profiles: a BigQuery maximum_bytes_billed or job timeout written as a template is listed as not converted, its digits as text converted (was: dropped without a word, and with it the cost limit)", () => {
    const f = new Findings();
    const t = convertProfiles(
      `shop:\n  target: bq\n  outputs:\n    bq:\n      type: bigquery\n      method: oauth\n      project: p1\n      dataset: marts\n      maximum_bytes_billed: "{{ env_var('DBT_MAX_BYTES') | as_number }}"\n      job_execution_timeout_seconds: "600"\n    bq2:\n      type: bigquery\n      method: oauth\n      project: p1\n      dataset: marts\n      maximum_bytes_billed: 1000000000\n      job_execution_timeout_seconds: "{{ env_var('TIMEOUT') }}"\n`,
      'profiles.yml',
      'shop',
      f,
    )!;
    expect(t.targets.bq).toEqual({ type: 'bigquery', project: 'p1', dataset: 'marts', timeout_ms: 600000 });
    expect(t.targets.bq2).toEqual({ type: 'bigquery', project: 'p1', dataset: 'marts', maximum_bytes_billed: 1000000000 });
    const listed = f.notConverted.map((x) => `${x.line}: ${x.message}`);
    expect(listed).toContainEqual(expect.stringMatching(/^9: outputs\.bq\.maximum_bytes_billed: .*not converted \(a Vigil target takes a number there, not a template\): set the target's maximum_bytes_billed in project\.yaml yourself; until then no query is refused for the bytes it would bill$/));
    expect(listed).toContainEqual(expect.stringMatching(/^17: outputs\.bq2\.job_execution_timeout_seconds: .*not converted .*timeout_ms/));
  });

  it("profiles: a Postgres output says that model SQL runs in UTC, where dbt-postgres takes the database's TimeZone, and how to keep that (was: not said)", () => {
    const f = new Findings();
    convertProfiles(`shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: db\n      user: me\n      dbname: shop\n`, 'profiles.yml', 'shop', f);
    expect(f.notes.map((x) => x.message)).toContainEqual("outputs.dev: model SQL runs with TimeZone UTC on Vigil, where dbt-postgres takes the database's or role's TimeZone setting (now(), current_date, date_trunc and ::date of a timestamptz read it): to keep that zone, add it to the url: ?options=-c%20TimeZone%3DEurope%2FBerlin");
  });

  it("profiles: a literal password with characters a URL must encode says to set its variable percent-encoded (was: not said, and the url then failed to load); a plain one does not", async () => {
    const f = new Findings();
    const raw = 'pa#ss/w@rd';
    const t = convertProfiles(`shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: db\n      user: me\n      password: "${raw}"\n      dbname: shop\n    plain:\n      type: postgres\n      host: db\n      user: me\n      password: PlainPassw0rd\n      dbname: shop\n`, 'profiles.yml', 'shop', f)!;
    expect(t.targets.dev).toEqual({ type: 'postgres', url: "postgres://me:{{ env_var('VIGIL_DEV_PASSWORD') }}@db/shop" });
    expect(f.notes.map((x) => `${x.line}: ${x.message}`)).toContainEqual('8: outputs.dev.password holds characters a URL must percent-encode: set VIGIL_DEV_PASSWORD to it percent-encoded (# as %23, / as %2F, @ as %40, : as %3A, % as %25), or the target\'s url does not load');
    expect(f.env.find((e) => e.name === 'VIGIL_DEV_PASSWORD')?.what).toMatch(/^the password of the Postgres target 'dev', percent-encoded \(/);
    expect(f.env.find((e) => e.name === 'VIGIL_PLAIN_PASSWORD')?.what).not.toMatch(/percent-encoded/);
    expect(f.notes.map((x) => x.message).join('\n')).not.toMatch(/PlainPassw0rd|pa#ss/);
    // set as said, the url loads; as it is, it does not
    const { urlProblem } = await import('../../src/adapters/postgres/postgres-config.js');
    expect(urlProblem(`postgres://me:${encodeURIComponent(raw)}@db/shop`)).toBeUndefined();
    expect(urlProblem(`postgres://me:${raw}@db/shop`)).toMatch(/percent-encoded/);
  });

  it('templates: what Vigil cannot run, at its line', () => {
    const text = [
      "{{ config(materialized='materialized_view', grants={'select': ['r']}) }}",
      "select {{ dbt_utils.star(ref('a')) }}, '{{ target.dbname }}' as db",
      "{% set rows = run_query('select 1') %}",
      "from {{ ref('other_pkg', 'b') }} join {{ ref('c', v=2) }}",
      "{% if execute %}{{ log('x') }}{% endif %} {{ this.schema }} {{ var('x', 1) }} {{ is_incremental() }}",
      // (Vigil has exceptions.raise_compiler_error: not listed; the rest of dbt's exceptions is)
      "{% if not var('x') %}{{ exceptions.raise_compiler_error('x') }}{% else %}{% do exceptions.warn('y') %}{% endif %}",
    ].join('\n');
    const found = scanTemplate(text, 'model', { project: 'shop', packages: new Set() }).map((x) => `${x.line}: ${x.message.split(':')[0]}`);
    expect(found).toEqual([
      "1: materialized='materialized_view'",
      '2: dbt_utils.star',
      '2: target.dbname',
      '3: run_query()',
      "4: ref('other_pkg', 'b')",
      '4: ref(..., v=...)',
      '5: log()',
      '6: exceptions.warn',
    ]);
  });

  it("templates: run_started_at used as dbt's Python datetime with a member Vigil's has not is listed at its line; strftime, isoformat... are not (Vigil runs them), nor the project's own macros through its name and the format filter", () => {
    const text = ["select '{{ run_started_at.strftime(\"%Y-%m-%d\") }}' as d, '{{ run_started_at.isoformat() }}' as i, {{ run_started_at.year }} as y,", "  {{ shop.cents(1) }} as c, '{{ \"%05d\" | format(42) }}' as f, '{{ run_started_at }}' as t,", "  '{{ run_started_at.astimezone(modules.pytz.timezone('Europe/Paris')) }}' as p"].join('\n');
    expect(scanTemplate(text, 'model', { project: 'shop', packages: new Set() })).toEqual([
      { line: 3, message: 'modules.pytz: Python modules are not available in Vigil templates' },
      { line: 3, message: expect.stringMatching(/^run_started_at\.astimezone: Vigil's run_started_at is the run's start in UTC with Python datetime's strftime, isoformat, .*, and prints as its ISO 8601 text/) },
    ]);
  });

  it('properties YAML: tests as Vigil spells them, dbt-only keys removed, unit test overrides translated; the result validates', () => {
    const f = new Findings();
    const r = convertPropertiesYaml(
      `version: 2
models:
  - name: m
    latest_version: 2
    columns:
      - name: id
        constraints: [{ type: primary_key }]
        tests:
          - unique:
              config: { enabled: false }
          - not_null:
              config: { severity: WARN, error_if: ">10" }
          - accepted_values:
              arguments: { values: [a, b], quote: true }
          - my_custom_test
    tests:
      - unique:
          column_name: "a || b"
      - dbt_utils.unique_combination_of_columns:
          combination_of_columns: [a, b]
unit_tests:
  - name: t1
    model: m
    given: []
    expect: { rows: [] }
    overrides:
      vars: { x: 1 }
      macros: { is_incremental: true }
snapshots:
  - name: s_sql
    description: properties of a SQL snapshot
    config: { strategy: check }
exposures:
  - name: dash
`,
      'models/props.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    const v = parse(r.text);
    expect(PropertiesFileSchema.safeParse(v).success).toBe(true);
    expect(v.models[0].columns[0]).toEqual({ name: 'id', tests: [{ not_null: { config: { severity: 'warn', error_if: '>10' } } }, { accepted_values: { values: ['a', 'b'], quote: true } }] });
    expect(v.models[0].tests).toEqual([{ unique_combination_of_columns: { combination_of_columns: ['a', 'b'] } }]);
    expect(v.unit_tests[0]).toMatchObject({ name: 't1', vars: { x: 1 }, is_incremental: true });
    // a SQL snapshot's properties are read as dbt reads them; its YAML config is not (config() in the block)
    expect(v.snapshots).toEqual([{ name: 's_sql', description: 'properties of a SQL snapshot' }]);
    expect(v.exposures).toBeUndefined();
    const lines = f.notConverted.map((x) => `${x.line}: ${x.message}`);
    for (const re of [/^4: models\[0\]\.latest_version/, /^7: models\[0\]\.columns\[0\]\.constraints/, /^9: test 'unique' is disabled/, /^15: test 'my_custom_test'/, /^17: test 'unique' with column_name/, /^32: snapshot 's_sql': config in the properties of a SQL snapshot/, /^33: exposures/]) {
      expect(lines, String(re)).toContainEqual(expect.stringMatching(re));
    }
  });

  it("snapshots: check_cols with strategy timestamp (dbt ignores it) is removed from a YAML snapshot and listed at its line in a SQL one; updated_at with check (dbt uses it) is kept", () => {
    const f = new Findings();
    const r = convertPropertiesYaml(
      `snapshots:
  - name: ts
    relation: source('app', 'customers')
    config:
      unique_key: id
      strategy: timestamp
      updated_at: updated_at
      check_cols: [name]
  - name: ck
    relation: source('app', 'customers')
    config: { unique_key: id, strategy: check, check_cols: all, updated_at: updated_at }
`,
      'snapshots/s.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    const v = parse(r.text);
    expect(v.snapshots.map((x: { config: unknown }) => x.config)).toEqual([
      { unique_key: 'id', strategy: 'timestamp', updated_at: 'updated_at' },
      { unique_key: 'id', strategy: 'check', check_cols: 'all', updated_at: 'updated_at' },
    ]);
    for (const x of v.snapshots) expect(SnapshotConfigSchema.safeParse(x.config).success, JSON.stringify(x.config)).toBe(true);
    expect(f.notes.map((x) => `${x.line}: ${x.message}`)).toContain("8: snapshot 'ts': config check_cols removed: dbt ignores it with strategy timestamp (Vigil refuses it there)");
    expect(f.notConverted).toEqual([]);
    const sql = (cfg: string) => `{% snapshot s %}\n{{ config(unique_key='id',\n  ${cfg}) }}\nselect * from {{ source('app', 'customers') }}\n{% endsnapshot %}\n`;
    const scan = (cfg: string) => scanTemplate(sql(cfg), 'snapshot', { project: 'shop', packages: new Set() }).map((x) => `${x.line}: ${x.message}`);
    expect(scan("strategy='timestamp', updated_at='updated_at', check_cols=['name']")).toEqual(["3: config(check_cols=...) with strategy='timestamp': dbt ignores it, Vigil refuses it: remove it"]);
    expect(scan("strategy='check', check_cols='all', updated_at='updated_at'")).toEqual([]);
  });

  it("snapshots: dbt 1.9's hard_deletes ignore and invalidate are kept (Vigil takes them now); new_record is listed as not converted, in YAML and in a SQL config()", () => {
    const f = new Findings();
    const r = convertPropertiesYaml(
      `snapshots:
  - name: inv
    relation: source('app', 'customers')
    config: { unique_key: id, strategy: check, check_cols: all, hard_deletes: invalidate }
  - name: rec
    relation: source('app', 'customers')
    config: { unique_key: id, strategy: check, check_cols: all, hard_deletes: new_record }
`,
      'snapshots/s.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    const v = parse(r.text);
    expect(v.snapshots.map((x: { config: unknown }) => x.config)).toEqual([
      { unique_key: 'id', strategy: 'check', check_cols: 'all', hard_deletes: 'invalidate' },
      { unique_key: 'id', strategy: 'check', check_cols: 'all' },
    ]);
    for (const x of v.snapshots) expect(SnapshotConfigSchema.safeParse(x.config).success, JSON.stringify(x.config)).toBe(true);
    expect(f.notConverted.map((x) => `${x.line}: ${x.message}`)).toEqual([expect.stringMatching(/^7: snapshot 'rec': config hard_deletes: not converted: new_record is not supported/)]);
    const scan = (cfg: string) => scanTemplate(`{% snapshot s %}\n{{ config(unique_key='id', strategy='check', check_cols='all',\n  ${cfg}) }}\nselect 1 as id\n{% endsnapshot %}\n`, 'snapshot', { project: 'shop', packages: new Set() }).map((x) => `${x.line}: ${x.message}`);
    expect(scan("hard_deletes='invalidate'")).toEqual([]);
    expect(scan("hard_deletes='new_record'")).toEqual([expect.stringMatching(/^3: hard_deletes='new_record': new_record is not supported/)]);
  });

  it("dbt_utils.expression_is_true under a column keeps its expression: Vigil writes the column before it, as dbt_utils does (was: the column written into it, which Vigil now refuses)", () => {
    const f = new Findings();
    const r = convertPropertiesYaml(
      'models:\n  - name: m\n    data_tests:\n      - dbt_utils.expression_is_true: { expression: "a >= b" }\n    columns:\n      - name: amount\n        data_tests:\n          - dbt_utils.expression_is_true:\n              arguments: { expression: ">= 0" }\n',
      'models/props.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    const v = parse(r.text);
    expect(v.models[0].data_tests).toEqual([{ expression_is_true: { expression: 'a >= b' } }]);
    expect(v.models[0].columns[0].data_tests).toEqual([{ expression_is_true: { expression: '>= 0' } }]);
  });

  it("dbt 1.10's top-level anchors: converts (was: exit 3, 'Unresolved alias' once the key was taken out): kept as written where nothing changes (Vigil reads it), else each alias and merge key written out", () => {
    const src = makeProject({
      'dbt_project.yml': 'name: anc\nconfig-version: 2\nprofile: anc\n',
      'models/a.sql': 'select 1 as id\n',
      'models/schema.yml': 'version: 2\nanchors:\n  - &nn\n    - not_null\nmodels:\n  - name: a\n    columns:\n      - name: id\n        tests: *nn\n',
    }, false);
    const { dest, r } = initFromDbt(src);
    // the file as written: Vigil's properties files take dbt's anchors: (read only through its aliases)
    expect(readFileSync(join(dest, 'models/schema.yml'), 'utf8')).toBe(readFileSync(join(src, 'models/schema.yml'), 'utf8'));
    expect(r.stdout).toMatch(/vigil compile on the converted project: OK \(1 model, 0 seeds, 0 snapshots, 1 data test/);
    const ls = vigil(dest, ['ls', '--resource-type', 'test']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trim()).toBe('not_null_a_id');

    // what the conversion changes under an anchor reaches each use; a key taken out that holds an anchor leaves no alias without it
    const f = new Findings();
    const c = convertPropertiesYaml(
      `version: 2
anchors:
  - &nn
    - not_null:
        config: { meta: { owner: a } }
  - &col
    data_type: integer
models:
  - name: m
    docs: &d { show: true }
    columns:
      - name: id
        tests: *nn
      - <<: *col
        name: id2
        tests: *nn
        meta: *d
`,
      'models/props.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    expect(c.changed).toBe(true);
    const v = parse(c.text);
    expect(PropertiesFileSchema.safeParse(v).success).toBe(true);
    expect(c.text).not.toMatch(/[&*<]/);
    expect(v).toEqual({
      version: 2,
      models: [{ name: 'm', columns: [{ name: 'id', tests: [{ not_null: {} }] }, { data_type: 'integer', name: 'id2', tests: [{ not_null: {} }], meta: { show: true } }] }],
    });
    expect(f.notConverted.map((x) => `${x.line}: ${x.message}`)).toEqual([
      expect.stringMatching(/^5: test 'not_null': config meta: not converted/),
      expect.stringMatching(/^10: models\[0\]\.docs: not converted/),
    ]);
    expect(f.notes.map((x) => `${x.line}: ${x.message}`)).toEqual([
      "14: <<: (a YAML 1.1 merge key, which Vigil's YAML 1.2 does not have): its entries written out in its place",
      '2: anchors: taken out: the file needed changes, so its aliases are written out in full where they were used',
    ]);
  });

  it("Jinja in a data test's SQL arguments is kept and not listed (Vigil renders it, as dbt); elsewhere in a YAML value it is listed", () => {
    const f = new Findings();
    const r = convertPropertiesYaml(
      `version: 2
models:
  - name: m
    description: "By {{ var('owner') }}; {% raw %}{{ kept }}{% endraw %}"
    meta: { owner: "{{ var('owner') }}" }
    columns:
      - name: id
        tests:
          - not_null:
              config: { where: "id > {{ var('min_id', 0) }}" }
          - accepted_values: { values: [a], where: "{{ env_var('X', 'true') }}" }
`,
      'models/props.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    expect(parse(r.text).models[0].columns[0].tests).toEqual([{ not_null: { config: { where: "id > {{ var('min_id', 0) }}" } } }, { accepted_values: { values: ['a'], where: "{{ env_var('X', 'true') }}" } }]);
    // a description's Jinja other than doc() (was: not listed, then on the site as written; now an error at compile)
    expect(f.notConverted.map((x) => `${x.line}: ${x.message}`)).toEqual([
      "4: description: {{ var('owner') }} is not rendered by Vigil (only {{ doc('name') }} is): left as written, an error at compile",
      expect.stringMatching(/^5: models\[0\]\.meta\.owner: Jinja in a YAML value is not rendered by Vigil/),
    ]);
  });

  it("dbt's test_name: form is converted as the one-key form it means (was: dropped, 'a test entry Vigil cannot read')", () => {
    const f = new Findings();
    const r = convertPropertiesYaml(
      `version: 2
models:
  - name: m
    columns:
      - name: id
        data_tests:
          - name: ids_known
            test_name: accepted_values
            arguments:
              values: [a, b]
            config:
              severity: WARN
          - test_name: dbt_utils.expression_is_true
            arguments: { expression: "> 0" }
`,
      'models/props.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    expect(parse(r.text).models[0].columns[0].data_tests).toEqual([
      { accepted_values: { name: 'ids_known', values: ['a', 'b'], config: { severity: 'warn' } } },
      { expression_is_true: { expression: '> 0' } },
    ]);
    expect(f.notConverted).toEqual([]);
  });

  it("a test_name: entry listed as not converted is listed at its own line, and a comment on one is kept, one of test_name: alone converted (were: the line of data_tests:, the comment dropped, test_name: alone read as a test named test_name and left out)", () => {
    const f = new Findings();
    const r = convertPropertiesYaml(
      `version: 2
models:
  - name: m
    columns:
      - name: id
        data_tests:
          - test_name: my_custom_test
            arguments: { a: 1 }
          - test_name: unique
            config:
              enabled: false
          # known ids only
          - test_name: not_null
`,
      'models/props.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    expect(f.notConverted.map((x) => [x.line, x.message.split(':')[0]])).toEqual([
      [9, "test 'unique' is disabled (enabled"],
      [7, "test 'my_custom_test'"],
    ]);
    expect(r.text).toContain('          # known ids only\n          - not_null');
  });

  it('a var past 2^53 is copied with its exact digits, quoted, and listed (a number there would be rounded)', () => {
    const own = makeProject({}, false);
    dirs.push(own);
    cpSync(FIXTURE, join(own, 'dbt'), { recursive: true });
    // (hex and a + are dbt's ints too, printed in decimal: PyYAML reads 0x2E000000000001 as 12947848928690177; was: copied as the strings '0x2E000000000001' and '+9007199254740993', other values than dbt's)
    const yml = readFileSync(join(own, 'dbt/dbt_project.yml'), 'utf8').replace(/^vars:\n/m, 'vars:\n  big_id: 1234567890123456789\n  hex_id: 0x2E000000000001\n  plus_id: +9007199254740993\n');
    writeFileSync(join(own, 'dbt/dbt_project.yml'), yml);
    const r = vigil(own, ['init', '--from-dbt', 'dbt', 'shop']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(parse(readFileSync(join(own, 'shop/project.yaml'), 'utf8')).vars).toMatchObject({ big_id: '1234567890123456789', hex_id: '12947848928690177', plus_id: '9007199254740993' });
    expect(r.stdout).toMatch(/dbt_project\.yml:\d+: .*big_id: 1234567890123456789 is past 2\^53, where a YAML number is no longer exact: copied as the string '1234567890123456789'/);
  });

  it('a var written as a whole float (2.0) stays a float, as dbt prints it (was: written 2, so 5 / {{ var }} divided as integers on Postgres)', () => {
    const own = makeProject({}, false);
    dirs.push(own);
    cpSync(FIXTURE, join(own, 'dbt'), { recursive: true });
    const yml = readFileSync(join(own, 'dbt/dbt_project.yml'), 'utf8').replace(/^vars:\n/m, 'vars:\n  ratio: 2.0\n  count_of: 3\n  both: [1.0, 2.5]\n');
    writeFileSync(join(own, 'dbt/dbt_project.yml'), yml);
    const r = vigil(own, ['init', '--from-dbt', 'dbt', 'shop']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const text = readFileSync(join(own, 'shop/project.yaml'), 'utf8');
    expect(text).toMatch(/\n {2}ratio: 2\.0\n {2}count_of: 3\n {2}both:\n {4}- 1\.0\n {4}- 2\.5\n/);
  });

  it("a hook with transaction: false keeps it (was: a note that it would run in the model's transaction), and runs after the model's commit", () => {
    const src = makeProject(
      {
        'dbt_project.yml': `name: p
on-run-start:
  - {sql: "create schema if not exists analytics", transaction: false}
  - "create table if not exists analytics.hook_log (what varchar)"
models:
  p:
    +materialized: table
    +post-hook:
      - sql: "checkpoint"
        transaction: false
      - "insert into analytics.hook_log values ('{{ this.name }}')"
`,
        'models/one.sql': "{{ config(pre_hook=before_begin(\"insert into analytics.hook_log values ('before')\")) }}\nselect 1 as x\n",
      },
      false,
    );
    const dest = makeProject({}, false);
    dirs.push(src, dest);
    const r = convertDbtProject(src, dest);
    expect([...r.notConverted, ...r.notes].map((x) => x.message).join('\n')).not.toMatch(/transaction/);
    const p = parse(readFileSync(join(dest, 'project.yaml'), 'utf8'));
    expect(p.models).toEqual({ p: { '+materialized': 'table', '+post_hook': [{ sql: 'checkpoint', transaction: false }, "insert into analytics.hook_log values ('{{ this.name }}')"] } });
    // Vigil runs each on-run-start statement by itself, outside any transaction already
    expect(p.on_run_start).toEqual(['create schema if not exists analytics', 'create table if not exists analytics.hook_log (what varchar)']);
    // DuckDB refuses a checkpoint in a transaction that wrote: it runs once the build committed
    const b = vigil(dest, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(vigil(dest, ['show', '--inline', 'select what from analytics.hook_log', '--output', 'csv']).stdout).toBe('what\nbefore\none\n');
  });

  it('a project with a Python model, a custom generic test and a package macro: listed; what Vigil cannot load is not written', () => {
    const src = makeProject(
      {
        'dbt_project.yml': "name: p\ndocs-paths: [docs]\nmodels:\n  p:\n    one_model:\n      +materialized: table\n    nowhere:\n      +materialized: view\n",
        'models/one_model.sql': "select {{ dbt_utils.generate_surrogate_key(['a']) }} as k\n",
        'models/py_model.py': 'def model(dbt, session):\n    return None\n',
        'tests/generic/is_even.sql': '{% test is_even(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} % 2 = 1\n{% endtest %}\n',
        'macros/materialization.sql': "{% materialization my_mat, default %}\n{{ return({'relations': []}) }}\n{% endmaterialization %}\n",
        'docs/overview.md': '{% docs __overview__ %}\nThe shop.\n{% enddocs %}\n',
        'models/one_model.yml': "models:\n  - name: one_model\n    description: \"{{ doc('p', '__overview__') }}\"\n",
      },
      false,
    );
    const dest = makeProject({}, false);
    dirs.push(src, dest);
    const r = convertDbtProject(src, dest);
    const lines = r.notConverted.map((x) => `${x.file}${x.line ? `:${x.line}` : ''}: ${x.message}`);
    expect(lines).toContainEqual(expect.stringMatching(/^models\/one_model\.sql:1: dbt_utils\.generate_surrogate_key: a macro of the package dbt_utils/));
    expect(lines).toContainEqual(expect.stringMatching(/^models\/py_model\.py: a Python model/));
    expect(lines).toContainEqual(expect.stringMatching(/^tests\/generic\/is_even\.sql:1: a custom generic test/));
    expect(lines).toContainEqual(expect.stringMatching(/^macros\/materialization\.sql:1: Vigil cannot load it .*: not written/));
    // configs at the model's own path go to its YAML entry (listed among the differences, not as not converted)
    expect(lines.filter((l) => l.includes('one_model:'))).toEqual([]);
    expect(parse(readFileSync(join(dest, 'models/one_model.yml'), 'utf8')).models[0].config).toEqual({ materialized: 'table' });
    expect(lines).toContainEqual(expect.stringMatching(/^dbt_project\.yml:7: models: p\.nowhere: no folder nowhere holds a model/));
    expect(r.files).toContain('models/one_model.sql');
    // a doc block outside models/, seeds/, snapshots/ goes where Vigil reads it; doc('p', x) is doc(x)
    expect(readFileSync(join(dest, 'models/_dbt_docs/docs/overview.md'), 'utf8')).toContain('{% docs __overview__ %}');
    expect(readFileSync(join(dest, 'models/one_model.yml'), 'utf8')).toContain(`description: "{{ doc('__overview__') }}"`);
    expect(r.files).not.toContain('macros/materialization.sql');
    expect(r.files).not.toContain('tests/generic/is_even.sql');
    // no profiles.yml: the DuckDB target vigil init writes
    expect(parse(readFileSync(join(dest, 'project.yaml'), 'utf8')).targets).toEqual({ dev: { type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' } });
    expect(statSync(join(dest, 'models/one_model.sql')).size).toBeGreaterThan(0);
  });
});

describe("from-dbt: every dbt setting keeps dbt's meaning, or is listed", () => {
  it("configs directly under models: add up with the project's as dbt combines them (tags and hooks add up, meta merges, the project's level wins a config); were dropped where the project's level set the same key", () => {
    const src = makeProject(
      {
        'dbt_project.yml': `name: shop
models:
  +tags: ['global']
  +post-hook: "select 1 as global_hook"
  +meta: {owner: data, tier: 1}
  +materialized: table
  shop:
    +tags: ['proj']
    +meta: {team: core, tier: 2}
    +post-hook: "select 2 as proj_hook"
    +materialized: view
    staging:
      +tags: staging
`,
        'models/staging/s1.sql': 'select 1 as x\n',
        'models/m1.sql': 'select 1 as x\n',
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    const p = parse(readFileSync(join(dest, 'project.yaml'), 'utf8'));
    expect(p.defaults).toEqual({ tags: ['global'], post_hook: 'select 1 as global_hook', meta: { owner: 'data', tier: 1 }, materialized: 'table' });
    expect(vigil(dest, ['compile']).code).toBe(0);
    const nodes = JSON.parse(readFileSync(join(dest, 'target/manifest.json'), 'utf8')).nodes;
    const s1 = nodes['model.shop.s1'].config;
    expect(s1.tags).toEqual(['global', 'proj', 'staging']);
    expect(s1.post_hook).toEqual(['select 1 as global_hook', 'select 2 as proj_hook']);
    expect(s1.meta).toEqual({ owner: 'data', tier: 2, team: 'core' });
    expect(s1.materialized).toBe('view');
    expect(nodes['model.shop.m1'].config.tags).toEqual(['global', 'proj']);
  });

  it("configs dbt_project.yml sets at a model's own path (staging: stg_x: +materialized: table) go to its YAML entry, under the entry's own, as dbt ranks them: dbt_project.yml < properties < config(); hooks and tags add up in that order (was: not converted, the model built as a view)", () => {
    const src = makeProject(
      {
        'dbt_project.yml': `name: shop
on-run-start: ["create table if not exists {{ target.schema }}.log (n integer, m varchar)"]
models:
  shop:
    +materialized: view
    m_root:
      +materialized: table
    stg_y:
      +materialized: table
    staging:
      +tags: [folder]
      +post-hook: "insert into {{ target.schema }}.log values (1, 'folder {{ this.name }}')"
      stg_x:
        +materialized: table
        +post-hook: "insert into {{ target.schema }}.log values (2, 'model-level')"
        +meta: {a: 1, b: 1}
        +tags: [model]
      stg_y:
        +schema: other
`,
        'models/m_root.sql': 'select 1 as id\n',
        'models/staging/stg_x.sql': "{{ config(post_hook=\"insert into {{ target.schema }}.log values (4, 'in-file')\") }}\nselect 1 as id\n",
        'models/staging/stg_y.sql': 'select 2 as id\n',
        'models/staging/props.yml': "version: 2\nmodels:\n  - name: stg_x\n    meta: {b: 2}\n    config:\n      tags: [yaml]\n      post_hook: \"insert into {{ target.schema }}.log values (3, 'yaml')\"\n",
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    expect(r.stdout).toContain("models/staging/props.yml:3: model 'stg_x': its configs from dbt_project.yml's models: tree are written under config:");
    // a model's name in another folder than its own matches nothing in dbt (an unused config path)
    expect(r.stdout).toContain("dbt_project.yml:8: models: shop.stg_y: the model 'stg_y' is not in the models folder itself: dbt applies these configs to no model (an unused config path): not converted");
    // the hook in the YAML is rendered as it runs: not listed as read as written
    expect(r.stdout).not.toContain('Jinja in a YAML value');
    expect(readFileSync(join(dest, 'models/_model_configs.yml'), 'utf8')).toMatch(/^# Model configs from dbt_project.yml's models: tree/);
    expect(vigil(dest, ['run']).code).toBe(0);
    const nodes = JSON.parse(readFileSync(join(dest, 'target/manifest.json'), 'utf8')).nodes;
    const x = nodes['model.shop.stg_x'].config;
    expect([x.materialized, x.tags, x.meta]).toEqual(['table', ['folder', 'model', 'yaml'], { a: 1, b: 2 }]);
    expect(nodes['model.shop.m_root'].config.materialized).toBe('table');
    expect([nodes['model.shop.stg_y'].config.materialized, nodes['model.shop.stg_y'].config.schema]).toEqual(['view', 'other']);
    const log = vigil(dest, ['show', '--inline', 'select n, m from analytics.log order by n, m', '--output', 'csv']).stdout;
    expect(log).toBe("n,m\n1,folder stg_x\n1,folder stg_y\n2,model-level\n3,yaml\n4,in-file\n");
  });

  it('reads YAML as dbt does (1.1: no is false, 0755 is 493, 1_000 is 1000, 1e3 a string) and writes the values typed, each listed', () => {
    const src = makeProject(
      {
        'dbt_project.yml': `name: shop
vars:
  include_test_accounts: no
  flag: off
  under: 1_000
  exp: 1e3
  octal: 0755
  sexa: 1:30
  y: y
  date: 2024-01-01
models:
  shop:
    +enabled: yes
`,
        'models/m.sql': "select 1 as id {% if var('include_test_accounts') %}where false{% endif %}\n",
        'models/m.yml': `models:
  - name: m
    columns:
      - name: id
        data_tests:
          - unique
          - not_null:
              config: {enabled: no}
`,
        // nothing else to convert here: the file was copied as it was, read as 'on' by Vigil
        'models/other.yml': 'models:\n  - name: other\n    config: {enabled: off}\n',
        'models/other.sql': 'select 1 as x\n',
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    const p = parse(readFileSync(join(dest, 'project.yaml'), 'utf8'));
    expect(p.vars).toEqual({ include_test_accounts: false, flag: false, under: 1000, exp: '1e3', octal: 493, sexa: 90, y: 'y', date: '2024-01-01' });
    expect(p.models).toEqual({ shop: { '+enabled': true } });
    expect(r.stdout).toContain("dbt_project.yml:3: vars.include_test_accounts: dbt reads false here (YAML 1.1), Vigil would read the string 'no' (YAML 1.2): written as false");
    expect(r.stdout).toContain("dbt_project.yml:6: vars.exp: dbt reads the string '1e3' here (YAML 1.1), Vigil would read 1000 (YAML 1.2): written as the string '1e3'");
    // the disabled test is left out (was: enabled: 'no', a string the schema refused)
    expect(parse(readFileSync(join(dest, 'models/m.yml'), 'utf8')).models[0].columns[0].data_tests).toEqual(['unique']);
    expect(r.stdout).toMatch(/models\/m\.yml:7: test 'not_null' is disabled \(enabled: false\): left out/);
    expect(parse(readFileSync(join(dest, 'models/other.yml'), 'utf8')).models[0].config).toEqual({ enabled: false });
    expect(r.stdout).toContain("models/other.yml:3: models[0].config.enabled: dbt reads false here (YAML 1.1), Vigil would read the string 'off' (YAML 1.2): written as false");
    // (the disabled test's enabled: no is not said to be written: the test is not)
    expect(r.stdout).not.toMatch(/models\/m\.yml:\d+: .*dbt reads/);
    const ls = vigil(dest, ['ls']);
    expect(ls.stdout).not.toMatch(/other/);
    expect(vigil(dest, ['compile']).code).toBe(0);
    // the filter dbt never applied is not applied by Vigil either
    expect(readFileSync(join(dest, 'target/compiled/shop/models/m.sql'), 'utf8')).not.toContain('where false');
  });

  it("the yaml package's 1.1 reading is PyYAML's (dbt's): y and 1e3 stay strings, 08 is no octal, a datetime stays as written", () => {
    const text = ['y', 'Y', 'n', 'NO', 'On', 'tRue', '~', 'NULL', '1_000', '1e3', '1.0e3', '1.0e+3', '0755', '0o755', '0x_1f', '0b1_01', '1:30', '1:30.5', '01:30', '08', '-0755', '+.5', '-.5', '.5', '2024-1-1', '2024-01-01 10:00:00']
      .map((v, i) => `k${i}: ${v}`)
      .join('\n');
    const v = dbtYamlValue(text) as Record<string, unknown>;
    // (as PyYAML 6's yaml.safe_load reads each)
    expect(Object.values(v)).toEqual(['y', 'Y', 'n', false, true, 'tRue', null, null, 1000, '1e3', '1.0e3', 1000, 493, '0o755', 31, 5, 90, 90.5, '01:30', '08', -493, '+.5', '-.5', 0.5, '2024-1-1', '2024-01-01 10:00:00']);
  });

  it("a timestamp is the text dbt renders PyYAML's date or datetime as (Python's str(): checked against PyYAML 6), or as written where Python refuses it (was: as written, so 2024-01-01T10:00:00Z rendered otherwise than in dbt)", () => {
    const cases: Array<[string, string]> = [
      ['2024-01-01', '2024-01-01'],
      ['2024-02-29', '2024-02-29'],
      ['2024-01-01T10:00:00Z', '2024-01-01 10:00:00+00:00'],
      ['2024-01-01 10:00:00', '2024-01-01 10:00:00'],
      ['2024-1-1 10:00:00', '2024-01-01 10:00:00'],
      ['2024-01-01t10:00:00', '2024-01-01 10:00:00'],
      ['2024-01-01  10:00:00.5', '2024-01-01 10:00:00.500000'],
      ['2024-01-01 10:00:00.000', '2024-01-01 10:00:00'],
      ['2024-01-01 10:00:00.1234567 +2', '2024-01-01 10:00:00.123456+02:00'],
      ['2024-01-01T10:00:00-05:30', '2024-01-01 10:00:00-05:30'],
      ['2024-01-01T10:00:00 -0', '2024-01-01 10:00:00+00:00'],
      ['2024-01-01T10:00:00.', '2024-01-01 10:00:00'],
      ['2024-01-01T1:00:00Z', '2024-01-01 01:00:00+00:00'],
      ['2024-01-01 10:00:00 Z', '2024-01-01 10:00:00+00:00'],
      ['2024-01-01T10:00:00+01:75', '2024-01-01 10:00:00+02:15'],
      // (PyYAML raises: dbt cannot read the file)
      ['2024-02-30', '2024-02-30'],
      ['2023-02-29', '2023-02-29'],
      ['2024-01-01 24:00:00', '2024-01-01 24:00:00'],
      ['2024-01-01 10:00:00+24', '2024-01-01 10:00:00+24'],
      ['0000-01-01', '0000-01-01'],
      // (no timestamp to PyYAML: a one-digit month without a time)
      ['2024-1-1', '2024-1-1'],
    ];
    const v = dbtYamlValue(cases.map(([w], i) => `k${i}: ${w}`).join('\n')) as Record<string, unknown>;
    expect(Object.values(v)).toEqual(cases.map(([, r]) => r));
  });

  it("vars holding a timestamp are written as dbt renders them and listed; a date and a datetime written as dbt renders them are not (was: 2024-01-01T10:00:00Z as written)", () => {
    const src = makeProject(
      {
        'dbt_project.yml': 'name: p5\nprofile: p5\nvars:\n  n: 2024-01-01T10:00:00Z\n  f: 2024-01-01 10:00:00.25\n  d: 2024-01-01\n  s: 2024-01-01 10:00:00\n  q: "2024-01-01T10:00:00Z"\n',
        'models/m.sql': "select '{{ var(\"n\") }}' as n, '{{ var(\"f\") }}' as f, '{{ var(\"d\") }}' as d\n",
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    const p = parse(readFileSync(join(dest, 'project.yaml'), 'utf8'));
    expect(p.vars).toEqual({ n: '2024-01-01 10:00:00+00:00', f: '2024-01-01 10:00:00.250000', d: '2024-01-01', s: '2024-01-01 10:00:00', q: '2024-01-01T10:00:00Z' });
    expect(r.stdout).toContain("dbt_project.yml:4: vars.n: dbt reads a datetime here (YAML 1.1), rendered '2024-01-01 10:00:00+00:00', Vigil would read the string '2024-01-01T10:00:00Z' (YAML 1.2): written as the string '2024-01-01 10:00:00+00:00'");
    expect(r.stdout).toContain("dbt_project.yml:5: vars.f: dbt reads a datetime here");
    expect(r.stdout).not.toMatch(/vars\.[dsq]:/);
    expect(vigil(dest, ['compile']).code).toBe(0);
    expect(readFileSync(join(dest, 'target/compiled/p5/models/m.sql'), 'utf8')).toBe("select '2024-01-01 10:00:00+00:00' as n, '2024-01-01 10:00:00.250000' as f, '2024-01-01' as d\n");
  });

  it('configs with Jinja in dbt_project.yml (rendered by dbt, read as written by Vigil) are listed; a hook keeps its Jinja (Vigil renders hooks); project.yaml refuses Jinja in a folder schema, alias or tag', () => {
    const src = makeProject(
      {
        'dbt_project.yml': `name: j7
models:
  j7:
    marts:
      +schema: "{{ var('marts_schema', 'marts') }}"
      +alias: "{{ 'x' }}"
      +tags: "{{ target.name }}"
      +post-hook: "select '{{ this }}' as t"
seeds:
  j7:
    +schema: "{{ target.name }}_raw"
`,
        'models/marts/a.sql': 'select 1 as x\n',
        'seeds/s.csv': 'a\n1\n',
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    for (const [line, key] of [
      [5, 'schema'],
      [6, 'alias'],
      [7, 'tags'],
    ] as const)
      expect(r.stdout).toMatch(new RegExp(`dbt_project\\.yml:${line}: models: j7\\.marts\\.\\+${key}: '.*' is Jinja, which Vigil does not render in project\\.yaml's folder configs \\(only hooks\\): not converted`));
    expect(r.stdout).toMatch(/dbt_project\.yml:11: seeds: j7\.\+schema: '\{\{ target\.name \}\}_raw' is Jinja, which Vigil does not render in a seed's config: not converted/);
    expect(parse(readFileSync(join(dest, 'project.yaml'), 'utf8')).models).toEqual({ j7: { marts: { '+post_hook': "select '{{ this }}' as t" } } });
    expect(existsSync(join(dest, 'seeds/_seed_configs.yml'))).toBe(false);
    const b = vigil(dest, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(b.stdout).toMatch(/OK created view analytics\.a /);
    // Vigil's own folder configs: such a name is refused at its line (was: a tag '{{ target.name }}', a table named {{ 'x' }})
    const own = makeProject({ 'models/marts/a.sql': 'select 1 as x\n', 'project.yaml': `${BASIC_PROJECT_YAML}models:\n  marts:\n    +tags: [ok, "{{ target.name }}"]\n    +alias: "{{ 'x' }}"\n` });
    dirs.push(own);
    const c = vigil(own, ['compile']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/^project\.yaml:\d+:\d+: error: models: \+tags: '\{\{ target\.name \}\}' is Jinja, which a folder config does not render \(it would be the tag as written; only hooks are templates\) \[E_CONFIG\]/m);
    expect(c.stderr).toMatch(/^project\.yaml:\d+:\d+: error: models: \+alias: '\{\{ 'x' \}\}' is Jinja/m);
    expect(c.stderr).not.toMatch(/\n\s+at /);
  });

  it("a unit test's CSV given is listed with a difference: its cells are typed once the input is built, text before (was: not said)", () => {
    const f = new Findings();
    convertPropertiesYaml(
      `unit_tests:
  - name: t1
    model: m
    given:
      - input: ref('a')
        rows: [{ id: 1 }]
      - input: ref('b')
        format: csv
        rows: |
          id,amount
          1,10.5
    expect: { rows: [] }
`,
      'models/u.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    expect(f.notes.map((x) => `${x.line}: ${x.message}`)).toEqual([
      "7: unit test 't1': given ref('b'): its CSV values are cast to the input's column types in the target once the input is built, as dbt casts them; before it is built (a first vigil build), or on BigQuery, they are text (the run warns): declare data_type on the input's columns, or build it first",
    ]);
  });

  it('a disabled unit test is left out, listed (was: converted, enabled, and failing the build)', () => {
    const src = makeProject(
      {
        'dbt_project.yml': 'name: u\n',
        'models/m.sql': 'select 1 as id\n',
        'models/m.yml': `unit_tests:
  - name: off_test
    model: m
    config: {enabled: false, tags: [x]}
    given: []
    expect: {rows: [{id: 2}]}
  - name: on_test
    model: m
    config: {enabled: true}
    given: []
    expect: {rows: [{id: 1}]}
`,
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    expect(r.stdout).toContain("models/m.yml:2: unit test 'off_test' is disabled (enabled: false): left out");
    // enabled: true is what it is without it: not listed
    expect(r.stdout).not.toMatch(/config enabled/);
    expect(parse(readFileSync(join(dest, 'models/m.yml'), 'utf8')).unit_tests.map((u: { name: string }) => u.name)).toEqual(['on_test']);
    const b = vigil(dest, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
  });

  it("a source's and a table's config: (dbt 1.9+) is read where Vigil reads it: freshness merged as dbt merges it, loaded_at_field, meta, tags; a disabled table or source is left out, listed (was: 'not converted (Vigil does not read config here)', no freshness, the disabled table enabled)", () => {
    const f = new Findings();
    const r = convertPropertiesYaml(
      `version: 2
sources:
  - name: app
    schema: raw
    freshness:
      error_after: {count: 2, period: day}
      filter: "id > 0"
    config:
      freshness:
        warn_after: {count: 1, period: day}
      loaded_at_field: updated_at
      enabled: true
      meta: {owner: app-team}
      tags: [raw]
    tables:
      - name: users
        tags: [pii]
        config:
          freshness:
            error_after: null
          tags: [core]
          event_time: created_at
      - name: events
        config:
          enabled: false
      - name: audit
        config:
          freshness: null
  - name: legacy
    config: {enabled: false}
    tables:
      - name: old
      - name: kept
        config: {enabled: true}
  - name: gone
    tables:
      - name: only
        config: {enabled: false}
  - name: old_app
    config: {enabled: false}
    tables:
      - name: t
`,
      'models/sources.yml',
      { project: 'shop', docs: new Map(), seedConfigs: new Map(), fixtures: new Map() },
      f,
    );
    const v = parse(r.text);
    expect(PropertiesFileSchema.safeParse(v).success).toBe(true);
    // the source's config over its own keys, key by key; the table's config on the table (Vigil merges it into the source's)
    expect(v.sources).toEqual([
      {
        name: 'app',
        schema: 'raw',
        freshness: { error_after: { count: 2, period: 'day' }, filter: 'id > 0', warn_after: { count: 1, period: 'day' } },
        loaded_at_field: 'updated_at',
        meta: { owner: 'app-team' },
        tags: ['raw'],
        tables: [
          { name: 'users', tags: ['pii', 'core'], freshness: { error_after: null } },
          { name: 'audit', freshness: null },
        ],
      },
      { name: 'legacy', tables: [{ name: 'kept' }] },
    ]);
    const lines = f.notConverted.map((x) => `${x.line}: ${x.message}`);
    expect(lines).toEqual([
      "39: source 'old_app' is disabled (enabled: false): left out, with its tables; what reads them fails to compile, as in dbt",
      "37: source table 'gone.only' is disabled (enabled: false): left out (what reads it fails to compile, as in dbt)",
      "35: source 'gone': every table is disabled: the source is left out",
      "29: source 'legacy' is disabled (enabled: false): left out, with its tables, but for kept, which sets enabled: true of its own (as dbt reads it); what reads the others fails to compile, as in dbt",
      "23: source table 'app.events' is disabled (enabled: false): left out (what reads it fails to compile, as in dbt)",
      "22: source table 'app.users': config event_time: not converted: microbatch models are not supported",
    ]);
    expect(lines.join('\n')).not.toMatch(/does not read 'config'/);
  });

  it('a converted source keeps its config: freshness and loaded_at_field (in the manifest, as vigil source freshness reads them); its disabled table is gone from the project', () => {
    const src = makeProject(
      {
        'dbt_project.yml': 'name: s\n',
        'models/m.sql': "select * from {{ source('app', 'users') }}\n",
        'models/sources.yml': `version: 2
sources:
  - name: app
    schema: raw
    config:
      freshness:
        error_after: {count: 1, period: hour}
      loaded_at_field: updated_at
    tables:
      - name: users
      - name: events
        config: {enabled: false}
`,
      },
      false,
    );
    const { dest } = initFromDbt(src);
    const c = vigil(dest, ['compile']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    const sources = JSON.parse(readFileSync(join(dest, 'target/manifest.json'), 'utf8')).sources;
    expect(Object.keys(sources)).toEqual(['source.s.app.users']);
    expect(sources['source.s.app.users']).toMatchObject({ loaded_at_field: 'updated_at', freshness: { error_after: { count: 1, period: 'hour' } } });
  });

  it('a seed config at a path dbt does not match (the seed is in a subfolder) is not applied, listed as dbt warns of it; a folder directly under seeds: is another package', () => {
    const src = makeProject(
      {
        'dbt_project.yml': `name: s9
seeds:
  lookups:
    +tags: [wrong_level]
  s9:
    country_codes:
      +column_types:
        code: varchar
    lookups:
      names:
        +column_types: {code: varchar}
`,
        'seeds/lookups/country_codes.csv': 'code,name\n007,x\n',
        'seeds/lookups/names.csv': 'code,name\n007,x\n',
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    expect(r.stdout).toContain('dbt_project.yml:6: seeds: s9.country_codes: the seed country_codes is seeds/lookups/country_codes.csv, whose path in seeds: is s9.lookups.country_codes: dbt does not apply configs at this path to it (it warns of an unused configuration path): not converted');
    expect(r.stdout).toContain("dbt_project.yml:3: seeds: lookups: configs for another package: Vigil has no packages (dbt applies them to the project's seeds under seeds: s9: lookups:)");
    expect(parse(readFileSync(join(dest, 'seeds/_seed_configs.yml'), 'utf8')).seeds).toEqual([{ name: 'names', config: { column_types: { code: 'varchar' } } }]);
    expect(vigil(dest, ['seed']).code).toBe(0);
    expect(vigil(dest, ['show', '--inline', 'select (select code from analytics.country_codes) as a, (select code from analytics.names) as b', '--output', 'csv']).stdout).toBe('a,b\n7,007\n');
  });

  it(".gitignore: a DuckDB path named by env_var() ignores its default's file (was: the template itself); another template is skipped, said", () => {
    const src = makeProject(
      {
        'dbt_project.yml': 'name: acme\nprofile: acme\n',
        'profiles.yml': `acme:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('ACME_DUCKDB', 'acme.duckdb') }}"
    ci:
      type: duckdb
      path: "ci_{{ env_var('CI_RUN') }}.duckdb"
`,
        'models/m.sql': 'select 1 as x\n',
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    const gi = readFileSync(join(dest, '.gitignore'), 'utf8').split('\n');
    expect(gi).toContain('acme.duckdb');
    expect(gi).toContain('acme.duckdb.wal');
    expect(gi.join('\n')).not.toContain('{{');
    expect(r.stdout).toContain(".gitignore: the DuckDB file of the target 'ci' is named by a template (ci_{{ env_var('CI_RUN') }}.duckdb): not added");
  });

  it('--force removes what an earlier conversion generated and this one does not write (a seed said twice was an error), never a file of the user', () => {
    const src = makeProject(
      {
        'dbt_project.yml': 'name: shop\nseeds:\n  shop:\n    +schema: raw\n',
        'seeds/codes.csv': 'code\nA\n',
        'macros/keep.sql': '{% macro keep() %}1{% endmacro %}\n',
      },
      false,
    );
    const { dest } = initFromDbt(src);
    expect(existsSync(join(dest, 'seeds/_seed_configs.yml'))).toBe(true);
    // the seed gets a properties entry in dbt, and the project its own schema naming
    writeFileSync(join(src, 'seeds/props.yml'), 'seeds:\n  - name: codes\n    description: codes\n');
    writeFileSync(join(src, 'macros/naming.sql'), '{% macro generate_schema_name(custom_schema_name, node) -%}\n{{ custom_schema_name or target.schema }}\n{%- endmacro %}\n');
    writeFileSync(join(dest, 'seeds/_seed_configs_mine.yml'), 'seeds: []\n');
    const r = vigil(dest, ['init', '--from-dbt', src, '.', '--force']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('  seeds/_seed_configs.yml (removed: an earlier conversion wrote it, this one does not)');
    expect(r.stdout).toContain('  macros/generate_schema_name.sql (removed: an earlier conversion wrote it, this one does not)');
    expect(existsSync(join(dest, 'seeds/_seed_configs.yml'))).toBe(false);
    expect(existsSync(join(dest, 'macros/generate_schema_name.sql'))).toBe(false);
    expect(existsSync(join(dest, 'seeds/_seed_configs_mine.yml'))).toBe(true);
    expect(parse(readFileSync(join(dest, 'seeds/props.yml'), 'utf8')).seeds[0].config).toEqual({ schema: 'raw' });
    expect(r.stdout).toContain('vigil compile on the converted project: OK');
  });

  it('seed columns: dbt quotes them unless quote_columns: false, so a header CountryCode keeps its case; quote_columns: true is written (Postgres: the model reading "CountryCode" failed)', () => {
    const url = new URL(inject('pgUrl'));
    const schema = uniqueSchema('dbt_quote');
    const src = makeProject(
      {
        'dbt_project.yml': 'name: q4\nprofile: q4\nseeds:\n  q4:\n    plain:\n      +quote_columns: false\n',
        'profiles.yml': `q4:
  target: dev
  outputs:
    dev:
      type: postgres
      host: ${url.hostname}
      port: ${url.port || 5432}
      user: ${decodeURIComponent(url.username)}
      password: "{{ env_var('Q4_PG_PASSWORD', '') }}"
      dbname: ${url.pathname.slice(1)}
      schema: ${schema}
`,
        'models/dim_country.sql': 'select "CountryCode" as country_code, "Name" as country_name from {{ ref(\'countries\') }}\n',
        'seeds/countries.csv': 'CountryCode,Name\nUS,United States\nFR,France\n',
        'seeds/lower.csv': 'code,name\nUS,x\n',
        'seeds/plain/plain.csv': 'Code\nUS\n',
      },
      false,
    );
    const env = { Q4_PG_PASSWORD: decodeURIComponent(url.password) };
    const { dest, r } = initFromDbt(src, env);
    expect(r.stdout).toContain(`seeds/countries.csv:1: seed 'countries': dbt quotes its column names (quote_columns is true unless set), so "CountryCode", "Name" keep their names as written: written with quote_columns: true`);
    // a lower-case header is named alike either way; quote_columns: false set in dbt is kept
    expect(parse(readFileSync(join(dest, 'seeds/_seed_configs.yml'), 'utf8')).seeds).toEqual([
      { name: 'plain', config: { quote_columns: false } },
      { name: 'countries', config: { quote_columns: true } },
    ]);
    const seed = vigil(dest, ['seed'], env);
    expect(seed.code, seed.stdout + seed.stderr).toBe(0);
    const b = vigil(dest, ['build'], env);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(vigil(dest, ['show', '--inline', `select country_name from ${schema}.dim_country order by 1`, '--output', 'csv'], env).stdout).toBe('country_name\nFrance\nUnited States\n');
  });
});

describe('from-dbt: values and configs dbt reads one way, kept that way', () => {
  it("accepted_values writes true as 'True' and 1.0 as '1.0', as dbt's macro prints them: tests that pass in dbt pass (was: 'true', '1', both failing); a rewritten file keeps 1.0", () => {
    const src = makeProject(
      {
        'dbt_project.yml': 'name: av\nprofile: av\n',
        'models/m.sql': "select 'True' as answer, '1.0' as code, 'None' as nothing\n",
        // persist_docs makes the converter rewrite the file
        'models/m.yml': `version: 2
models:
  - name: m
    config: { persist_docs: { relation: true } }
    columns:
      - name: answer
        data_tests:
          - accepted_values: { values: [true, false] }
      - name: code
        data_tests:
          - accepted_values: { values: [1.0, 2.5] }
      - name: nothing
        data_tests:
          - accepted_values: { values: [null] }
`,
      },
      false,
    );
    const { dest } = initFromDbt(src);
    expect(readFileSync(join(dest, 'models/m.yml'), 'utf8')).toContain('values: [1.0, 2.5]');
    const b = vigil(dest, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const sql = (t: string) => readFileSync(join(dest, 'target/compiled/av/models/m.yml', `${t}.sql`), 'utf8');
    expect(sql('accepted_values_m_answer')).toContain("answer not in ('True', 'False')");
    expect(sql('accepted_values_m_code')).toContain("code not in ('1.0', '2.5')");
    expect(sql('accepted_values_m_nothing')).toContain("nothing not in ('None')");
  });

  it("grants' +select (dbt: added to the inherited grants) is kept, and the converted model is granted the folder's principals and its own, as dbt grants them (was: 'expected array, received undefined: not converted' in YAML, an E_CONFIG error in config())", () => {
    const src = makeProject(
      {
        'dbt_project.yml': "name: p4\nprofile: p4\nmodels:\n  p4:\n    a:\n      +grants: {select: ['bi']}\n",
        'models/a/m.sql': "{{ config(materialized='table', grants={'+select': ['finance']}) }}\nselect 1 as id\n",
        'models/a/m.yml': "version: 2\nmodels:\n  - name: m\n    config:\n      grants:\n        +select: ['audit']\n",
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    expect(r.stdout).not.toMatch(/grants.*not converted/);
    expect(parse(readFileSync(join(dest, 'models/a/m.yml'), 'utf8')).models[0].config).toEqual({ grants: { '+select': ['audit'] } });
    const c = vigil(dest, ['compile']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dest, 'target/manifest.json'), 'utf8'));
    expect(m.nodes['model.p4.m'].config.grants).toEqual({ select: ['bi', 'audit', 'finance'] });
  });

  it("a folder's +grants with another privilege besides select keeps select and lists the other, as a properties file's grants do (was: the whole +grants dropped)", () => {
    const src = makeProject(
      {
        'dbt_project.yml': "name: p3\nprofile: p3\nmodels:\n  p3:\n    a:\n      +grants: {select: ['reporter'], insert: ['loader']}\n",
        'models/a/m.sql': 'select 1 as id\n',
        'models/a/m.yml': 'version: 2\nmodels:\n  - name: m\n    config:\n      grants: {select: [reporter], insert: [loader]}\n',
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    expect(parse(readFileSync(join(dest, 'project.yaml'), 'utf8')).models).toEqual({ p3: { a: { '+grants': { select: ['reporter'] } } } });
    expect(parse(readFileSync(join(dest, 'models/a/m.yml'), 'utf8')).models[0].config).toEqual({ grants: { select: ['reporter'] } });
    expect(r.stdout).toContain("dbt_project.yml:6: models: p3.a.+grants.insert: not converted (Vigil applies grants' select only; grant insert yourself)");
    expect(r.stdout).toContain("models/a/m.yml:5: models[0].config.grants.insert: not converted (Vigil applies grants' select only; grant insert yourself)");
    expect(r.stdout).not.toContain('is not a value Vigil takes');
  });

  it("the check after the conversion reads the seeds' files as vigil seed does: a header name vigil seed refuses is said now, exit 1 (was: 'compile: OK', then vigil seed refused it)", () => {
    const src = makeProject({ 'dbt_project.yml': 'name: p4\nprofile: p4\nseeds:\n  p4:\n    +quote_columns: false\n', 'seeds/people.csv': 'id,First Name\n1,a\n' }, false);
    const dest = makeProject({}, false);
    dirs.push(src, dest);
    const r = vigil(dest, ['init', '--from-dbt', src, '.']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain("vigil compile on the converted project: 1 error; fix them before building:\n  seeds/people.csv:1:2: error: seed 'people': column name 'First Name' is not a plain identifier [E_SEED]");
    expect(r.stdout).not.toContain(': OK');
  });

  it("seed column_types decimal(10,2) loads exact, as in dbt (was: a double, sum 0.30000000000000004); a column loaded as another type than dbt's is listed", () => {
    const src = makeProject(
      {
        'dbt_project.yml': 'name: p2\nprofile: p2\nseeds:\n  p2:\n    pay:\n      +column_types:\n        amount: decimal(10,2)\n        fee: numeric\n',
        'seeds/pay.csv': 'id,amount,fee,paid_at\n1,0.10,1.5,2024-01-01 10:00:00\n2,0.20,2,2024-01-02 10:00:00\n',
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    expect(r.stdout).toContain("seeds/pay.csv:1: seed 'pay': paid_at loads as timestamp with time zone (a value without an offset is UTC), where dbt loads timestamp (without time zone); fee (numeric without a precision) loads as float (double): write decimal(p,s) in column_types for an exact type");
    expect(vigil(dest, ['seed']).code).toBe(0);
    expect(vigil(dest, ['show', '--inline', "select sum(amount) as s, sum(amount) = 0.3 as eq, typeof(any_value(amount)) as t from {{ ref('pay') }}", '--output', 'csv']).stdout).toBe('s,eq,t\n0.30,true,"DECIMAL(10,2)"\n');
  });

  it("a seed column dbt's agate types otherwise than Vigil is listed: '1,000', '$5', '12%' are numbers to dbt, 2020-1-5 a date, 2020-1-5 1:02:03 a timestamp (text here); 2024-01-01 10:00 is text to dbt (a timestamp here); plain values are not (was: not said, the column text here and a number or date in dbt)", () => {
    const src = makeProject(
      {
        'dbt_project.yml': 'name: p7\nprofile: p7\n',
        'seeds/s.csv':
          'id,price,pct,d,dt,nots,txt,ok_d,ok_ts,given\n' +
          '1,"1,000",12%,2020-1-5,2020-1-5 1:02:03,2024-01-01 10:00,abc,2020-01-05,2024-01-01 10:00:00,"1,5"\n' +
          '2,$5,null,2020-01-10,2020-01-05 10:00:00,2024-01-02 10:00:00,,2020-01-06,2024-01-02 10:00:00,2\n',
        'seeds/s.yml': 'version: 2\nseeds:\n  - name: s\n    config:\n      column_types:\n        given: text\n',
      },
      false,
    );
    const { dest, r } = initFromDbt(src);
    const note = r.stdout.split('\n').find((l) => l.startsWith("  seeds/s.csv:1: seed 's': ")) ?? '';
    expect(note.split(': ').slice(2).join(': ').split('; ')).toEqual([
      "price loads as text, where dbt reads '1,000' as a number (agate drops thousands separators, a currency sign and %): write plain numbers to load numbers",
      "pct loads as text, where dbt reads '12%' as a number (agate drops thousands separators, a currency sign and %): write plain numbers to load numbers",
      "d loads as text, where dbt reads '2020-1-5' as a date: write dates as YYYY-MM-DD to load dates",
      "dt loads as text, where dbt reads '2020-1-5 1:02:03' as a timestamp: write YYYY-MM-DD HH:MM:SS to load timestamps",
      "nots loads as timestamp with time zone, where dbt reads '2024-01-01 10:00' as text (its seed loader takes YYYY-MM-DD HH:MM:SS, or ISO 8601 with a T, in every row): give it column_types: {nots: text} to keep it text",
      'ok_ts loads as timestamp with time zone (a value without an offset is UTC), where dbt loads timestamp (without time zone)',
    ]);
    // what is said is what loads
    expect(vigil(dest, ['seed']).code).toBe(0);
    const types = vigil(dest, ['show', '--inline', "select typeof(price) as price, typeof(d) as d, typeof(nots) as nots, typeof(ok_d) as ok_d from {{ ref('s') }} limit 1", '--output', 'csv']).stdout;
    expect(types).toBe('price,d,nots,ok_d\nVARCHAR,VARCHAR,TIMESTAMP WITH TIME ZONE,DATE\n');
  });

  it('seed column_types narrower than the type Vigil loads (integer, smallint, varchar(3), char(2), real) are listed per column with what is no longer enforced, per warehouse; timestamptz is not (was: none listed, a timestamptz listed)', () => {
    const project = 'name: p6\nprofile: p6\nseeds:\n  p6:\n    pay:\n      +column_types:\n        amount: integer\n        small: smallint\n        code: varchar(3)\n        c2: char(2)\n        r: real\n        f: float\n        big: bigint\n        t: text\n        at: timestamptz\n';
    const csv = 'amount,small,code,c2,r,f,big,t,at\n1,2,abc,ab,0.1,0.5,5,x,2024-01-01 10:00:00+00\n';
    const profile = (output: string) => `p6:\n  target: dev\n  outputs:\n    dev: ${output}\n`;
    const note = (stdout: string) => stdout.split('\n').find((l) => l.startsWith("  seeds/pay.csv:1: seed 'pay': ")) ?? '';
    // Postgres: the lengths are the warehouse's too; float is double precision there
    const pg = makeProject({ 'dbt_project.yml': project, 'seeds/pay.csv': csv, 'profiles.yml': profile('{type: postgres, host: 127.0.0.1, port: 5432, user: u, dbname: d, schema: s}') }, false);
    const onPg = note(initFromDbt(pg).r.stdout);
    expect(onPg.split(': ').slice(2).join(': ').split('; ')).toEqual([
      "amount (column_types integer) loads as bigint: its 32-bit range is no longer enforced (a value beyond it loads, where dbt's load fails)",
      "small (column_types smallint) loads as bigint: its 16-bit range is no longer enforced (a value beyond it loads, where dbt's load fails)",
      "code (column_types varchar(3)) loads as text: its length limit 3 is no longer enforced (a longer value loads, where dbt's load fails)",
      "c2 (column_types char(2)) loads as text: its fixed length 2 is not kept (dbt's load refuses a longer value and pads a shorter one with blanks)",
      'r (column_types real) loads as double precision: single precision in dbt: the values keep double precision (0.1 is 0.1, not 0.100000001)',
    ]);
    // DuckDB (no profiles.yml: the DuckDB target): a varchar's length is ignored there, float is single precision
    const duck = makeProject({ 'dbt_project.yml': project, 'seeds/pay.csv': csv }, false);
    const onDuck = note(initFromDbt(duck).r.stdout);
    expect(onDuck).toContain('amount (column_types integer) loads as BIGINT: its 32-bit range');
    expect(onDuck).toContain('f (column_types float) loads as DOUBLE: single precision in dbt');
    expect(onDuck).not.toMatch(/\b(code|c2|big|t|at) \(/);
    expect(onDuck).not.toContain('timestamp with time zone');
  });
});
