/**
 * Seeds through the real CLI: CSVs under seeds/ loaded by `vigil seed` and `vigil build` into
 * DuckDB, a real Postgres, and BigQuery (the real client against the loopback fake), read by
 * ref(), tested from `seeds:` properties, typed from column_types or inferred. Bad files stop
 * everything at file:line (exit 2) before anything is loaded.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { BASIC_PROJECT_YAML, makeProject, removeDir, vigil, vigilAsync } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';
import { useFakeBigQuery } from '../support/fake-bigquery.js';
import pg from 'pg';
import { classify, classifyBytes, firstInvalidUtf8, loadFileFor, nullField, parseSeed } from '../../src/seeds/seed-csv.js';
import { resetSecrets } from '../../src/secrets.js';

const dirs: string[] = [];
// the loopback BigQuery, started before the tests and closed after them
const bq = useFakeBigQuery();
afterAll(() => dirs.forEach(removeDir));

const SEEDS = {
  'seeds/raw_customers.csv': 'id,first_name,last_name\n1,Michael,P.\n2,Shawn,M.\n3,"Kathleen, Jr",P.\n',
  'seeds/sub/raw_orders.csv': 'id,user_id,order_date,status,amount,paid,placed_at\n1,1,2018-01-01,returned,10.5,true,2018-01-01 10:00:00\n2,3,2018-01-02,completed,20,false,2018-01-02T11:30:00+02:00\n3,1,2018-01-04,completed,,TRUE,\n',
  'seeds/codes.csv': 'code;label\n007;"Bond; James"\n042;answer\n',
  'seeds/seeds.yml': `seeds:
  - name: raw_orders
    description: Orders as the shop exports them
    config:
      column_types: { amount: "decimal(10,2)", user_id: varchar }
    columns:
      - name: id
        tests: [unique, not_null]
      - name: status
        tests:
          - accepted_values: { values: [returned, completed] }
  - name: codes
    config: { delimiter: ";", column_types: { code: text }, schema: ref_data }
`,
  'models/customers.sql': `select c.id, c.first_name, count(o.id) as orders, sum(o.amount) as spent
from {{ ref('raw_customers') }} c left join {{ ref('raw_orders') }} o on cast(o.user_id as bigint) = c.id
group by 1, 2`,
};

function project(extra: Record<string, string> = {}): string {
  const dir = makeProject({ ...SEEDS, ...extra });
  dirs.push(dir);
  return dir;
}

describe('vigil seed on DuckDB', () => {
  const dir = project();
  it('loads every CSV (folders, delimiter, quoting), typed from column_types or inferred; ref() reads them; build runs their tests first', () => {
    const s = vigil(dir, ['seed']);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout).toContain('seed: target dev (duckdb), 3 seeds');
    expect(s.stdout).toMatch(/OK loaded seed analytics\.raw_orders \(3 rows\)/);
    expect(s.stdout).toMatch(/OK loaded seed ref_data\.codes \(2 rows\)/);
    const types = vigil(dir, ['show', '--inline', "select column_name, data_type from information_schema.columns where table_name = 'raw_orders' order by ordinal_position", '--output', 'csv', '--limit', '20']);
    expect(types.stdout).toBe('column_name,data_type\nid,BIGINT\nuser_id,VARCHAR\norder_date,DATE\nstatus,VARCHAR\namount,"DECIMAL(10,2)"\npaid,BOOLEAN\nplaced_at,TIMESTAMP WITH TIME ZONE\n');
    const rows = vigil(dir, ['show', '--inline', "select id, amount, paid, strftime(placed_at at time zone 'UTC', '%Y-%m-%d %H:%M') as placed_utc from {{ ref('raw_orders') }} order by id", '--output', 'csv']);
    // decimal(10,2) loads exact, as dbt loads it (was: a DOUBLE, where 0.1 + 0.2 is not 0.3)
    expect(rows.stdout).toBe('id,amount,paid,placed_utc\n1,10.50,true,2018-01-01 10:00\n2,20.00,false,2018-01-02 09:30\n3,,true,\n');
    // leading zeros kept where column_types says text; the delimiter inside quotes kept
    expect(vigil(dir, ['show', '-s', 'codes', '--output', 'csv']).stdout).toBe('code,label\n007,Bond; James\n042,answer\n');
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout).toBe(0);
    const lines = b.stdout.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    // the model waits for its seeds and for their tests
    expect(at(/OK created view analytics\.customers/)).toBeGreaterThan(at(/PASS accepted_values_raw_orders_status/));
    expect(at(/OK created view analytics\.customers/)).toBeGreaterThan(at(/OK loaded seed analytics\.raw_customers/));
    expect(vigil(dir, ['show', '--inline', "select * from {{ ref('customers') }} order by id", '--output', 'csv']).stdout).toBe('id,first_name,orders,spent\n1,Michael,2,10.50\n2,Shawn,0,\n3,"Kathleen, Jr",1,20.00\n');
    // run does not load seeds (as in dbt); ls lists them; -s selects them
    expect(vigil(dir, ['run']).stdout).not.toContain('seed');
    expect(vigil(dir, ['ls', '--resource-type', 'seed']).stdout.trim().split('\n')).toEqual(['codes', 'raw_customers', 'raw_orders']);
    const one = vigil(dir, ['seed', '-s', 'codes']);
    expect(one.stdout).toContain('1 seed');
  });

  it('a seed is replaced whole: a row removed from the CSV is gone from the table', () => {
    writeFileSync(join(dir, 'seeds/raw_customers.csv'), 'id,first_name,last_name\n1,Michael,P.\n');
    expect(vigil(dir, ['seed', '-s', 'raw_customers']).code).toBe(0);
    expect(vigil(dir, ['show', '-s', 'raw_customers', '--output', 'csv']).stdout).toBe('id,first_name,last_name\n1,Michael,P.\n');
  });

  it('a file whose first rows mislead (DuckDB loads speculatively while Vigil checks): the whole file decides the types; no staging table is left', () => {
    const rows = ['a,b,c'];
    // a: integers, then text after row 2,100; b: empty for 2,001 rows, then integers; c: integers throughout
    for (let i = 1; i <= 2500; i++) rows.push(`${i > 2100 ? `x${i}` : i},${i > 2001 ? i : ''},${i}`);
    // late: the speculative load succeeds (b as text) but the whole file says b is an integer
    const late = ['a,b', ...Array.from({ length: 2500 }, (_, k) => `${k},${k >= 2001 ? k : ''}`)];
    const d = makeProject({ 'seeds/mislead.csv': rows.join('\n') + '\n', 'seeds/plain.csv': rows.slice(0, 1500).join('\n') + '\n', 'seeds/late.csv': late.join('\n') + '\n' });
    dirs.push(d);
    const r = vigil(d, ['seed']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const types = vigil(d, ['show', '--inline', "select table_name, column_name, data_type from information_schema.columns where table_schema = 'analytics' order by table_name, column_name", '--output', 'csv', '--limit', '20']);
    expect(types.stdout).toBe('table_name,column_name,data_type\nlate,a,BIGINT\nlate,b,BIGINT\nmislead,a,VARCHAR\nmislead,b,BIGINT\nmislead,c,BIGINT\nplain,a,BIGINT\nplain,b,VARCHAR\nplain,c,BIGINT\n');
    const counts = vigil(d, ['show', '--inline', "select (select count(*) from {{ ref('mislead') }}) as m, (select count(*) from {{ ref('plain') }}) as p, (select count(*) from information_schema.tables where table_name like '%__vigil_seed') as stages", '--output', 'csv']);
    expect(counts.stdout).toBe('m,p,stages\n2500,1499,0\n');
    // a ragged row far down: nothing loaded, no staging table left
    writeFileSync(join(d, 'seeds/plain.csv'), rows.slice(0, 1500).join('\n') + '\n1,2\n');
    writeFileSync(join(d, 'seeds/mislead.csv'), rows.join('\n') + '\n');
    const bad = vigil(d, ['seed']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('seeds/plain.csv:1501: error: seed');
    expect(vigil(d, ['show', '--inline', "select count(*) as stages from information_schema.tables where table_name like '%__vigil_seed'", '--output', 'csv']).stdout).toBe('stages\n0\n');
  });

  it('paths are the project root\'s: run from elsewhere with --project-dir', () => {
    const r = vigil('/', ['--project-dir', dir, 'seed', '-s', 'codes']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('vigil check knows seeds by their CSV types', () => {
  it('on DuckDB and on BigQuery (Google\'s analyzer): a model reading a seed column that does not exist is caught', () => {
    const dir = project({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  bq: { type: bigquery, project: p, dataset: analytics, location: EU }\n',
    });
    expect(vigil(dir, ['check']).code).toBe(0);
    expect(vigil(dir, ['check', '--target', 'bq']).code).toBe(0);
    writeFileSync(join(dir, 'models/customers.sql'), SEEDS['models/customers.sql'].replace('count(o.id)', 'count(o.idx)'));
    const duck = vigil(dir, ['check']);
    expect(duck.code).toBe(2);
    expect(duck.stderr).toMatch(/models\/customers\.sql:1:\d+: error: .*idx/);
    const bq = vigil(dir, ['check', '--target', 'bq']);
    expect(bq.code).toBe(2);
    expect(bq.stderr).toMatch(/models\/customers\.sql:1:\d+: error: Name idx not found inside o/);
  });
});

describe('bad seeds: file:line, exit 2, nothing loaded', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['a ragged row', { 'seeds/raw_customers.csv': 'id,first_name,last_name\n1,Michael,P.\n2,Shawn\n' }, /seeds\/raw_customers\.csv:3: error: seed 'raw_customers': a ragged row: 2 fields where the header has 3/],
    ['a value that is not its column_types type', { 'seeds/sub/raw_orders.csv': 'id,user_id,order_date,status,amount,paid,placed_at\n1,1,2018-01-01,returned,ten,true,\n' }, /seeds\/sub\/raw_orders\.csv:2:5: error: seed 'raw_orders': column 'amount' is decimal\(10,2\) \(column_types\) but this row has 'ten'/],
    ['a value with more digits before the point than its column_types decimal holds', { 'seeds/sub/raw_orders.csv': 'id,user_id,order_date,status,amount,paid,placed_at\n1,1,2018-01-01,returned,123456789.5,true,\n' }, /seeds\/sub\/raw_orders\.csv:2:5: error: seed 'raw_orders': column 'amount' is decimal\(10,2\) \(column_types\) but this row has '123456789\.5'.*\n {2}hint: decimal\(10,2\) holds at most 8 digits before the decimal point/],
    ['a decimal wider than every warehouse holds', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('amount: "decimal(10,2)"', 'amount: "decimal(40,2)"') }, /seeds\/seeds\.yml:5:\d+: error: seed 'raw_orders': column_types: 'decimal\(40,2\)' \(column 'amount'\) is not a decimal every warehouse holds.*\n {2}hint: precision 1 to 38/],
    ['a timestamp with second 99 in a column_types timestamp column', { 'seeds/badts.csv': 'id,ts\n1,2024-01-01 10:00:00\n2,2024-01-01 10:00:99\n', 'seeds/more.yml': 'seeds:\n  - name: badts\n    config: { column_types: { ts: timestamp } }\n' }, /seeds\/badts\.csv:3:2: error: seed 'badts': column 'ts' is timestamp \(column_types\) but this row has '2024-01-01 10:00:99'.*\n {2}hint: not a real timestamp/],
    ['a leap second in a column_types timestamptz column', { 'seeds/leap.csv': 'id,ts\n1,2024-12-31 23:59:60\n', 'seeds/more.yml': 'seeds:\n  - name: leap\n    config: { column_types: { ts: timestamptz } }\n' }, /seeds\/leap\.csv:2:2: error: seed 'leap': column 'ts' is timestamp \(column_types\) but this row has '2024-12-31 23:59:60'/],
    ['a UTC offset of +99:00 in a column_types timestamp column', { 'seeds/badoff.csv': 'id,ts\n1,2024-01-01 10:00:00+99:00\n', 'seeds/more.yml': 'seeds:\n  - name: badoff\n    config: { column_types: { ts: timestamp } }\n' }, /seeds\/badoff\.csv:2:2: error: seed 'badoff': column 'ts' is timestamp \(column_types\) but this row has '2024-01-01 10:00:00\+99:00'/],
    ['1e400 in a column_types double column', { 'seeds/bigf.csv': 'id,f\n1,1.5\n2,1e400\n', 'seeds/more.yml': 'seeds:\n  - name: bigf\n    config: { column_types: { f: double } }\n' }, /seeds\/bigf\.csv:3:2: error: seed 'bigf': column 'f' is float \(column_types\) but this row has '1e400'.*\n {2}hint: beyond the range of a double/],
    ['an integer beyond int64 in a column_types bigint column', { 'seeds/big.csv': 'id\n9223372036854775807\n9223372036854775808\n', 'seeds/more.yml': 'seeds:\n  - name: big\n    config: { column_types: { id: bigint } }\n' }, /seeds\/big\.csv:3:1: error: seed 'big': column 'id' is int \(column_types\) but this row has '9223372036854775808'.*\n {2}hint: beyond the bigint range/],
    ["a value longer than its column_types varchar(n) (was: loaded whole as text, where dbt's load on Postgres fails: value too long)", { 'seeds/codes5.csv': 'id,code\n1,007\n2,"ab\ncd"\n3,0071234567\n', 'seeds/more.yml': 'seeds:\n  - name: codes5\n    config: { column_types: { code: "varchar(5)" } }\n' }, /seeds\/codes5\.csv:5:2: error: seed 'codes5': column 'code' is varchar\(5\) \(column_types\) but this row has '0071234567', 10 characters.*\n {2}hint: widen it/],
    // (was: "column_types.2): expected string, received null" alone)
    ['an unquoted decimal type in a { } mapping, cut in two by its comma', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('amount: "decimal(10,2)"', 'amount: decimal(10,2)') }, /seeds\/seeds\.yml:5:\d+: error: seeds\[0\]\.config\.column_types\.2\): .*received null — '2\)' is the end of a value a comma cut in two: in a \{ \} mapping a comma ends the value, so quote it/],
    ['column_types naming no column', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('amount: "decimal(10,2)"', 'amont: "decimal(10,2)"') }, /seeds\/seeds\.yml:5:\d+: error: seed 'raw_orders': column_types names 'amont', which is not a column .*\n {2}hint: did you mean 'amount'\?/],
    // (dbt does not check them; was: compile, seed and check passed, a test on it failed at vigil test with a Binder Error)
    ['a properties column the CSV has not', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('- name: status', '- name: stauts') }, /seeds\/seeds\.yml:9:\d+: error: seed 'raw_orders': column 'stauts' is not a column of the CSV's header \(id, user_id, order_date, status, amount, paid, placed_at\).*\n {2}hint: did you mean 'status'\?/],
    ['a data_type that says another type than column_types (was: accepted, the column loaded as column_types says)', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('      - name: status', '      - name: user_id\n        data_type: bigint\n      - name: status') }, /seeds\/seeds\.yml:10:\d+: error: seed 'raw_orders': column 'user_id': data_type 'bigint', but column_types loads it as 'varchar': they disagree/],
    ['a type Vigil does not know', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('user_id: varchar', 'user_id: varchr') }, /seeds\/seeds\.yml:5:\d+: error: .*'varchr' \(column 'user_id'\) is not a type .*\n {2}hint: did you mean 'varchar'\?/],
    ['a header with a name that is not an identifier', { 'seeds/raw_customers.csv': 'id,first name\n1,x\n' }, /seeds\/raw_customers\.csv:1:2: error: .*column name 'first name' is not a plain identifier.*\n {2}hint: .*quote_columns: true/],
    ['an unclosed quote', { 'seeds/raw_customers.csv': 'id,first_name,last_name\n1,"Michael,P.\n' }, /seeds\/raw_customers\.csv:\d+: error: seed 'raw_customers': not valid CSV/],
    ['a delimiter that is not one ASCII character (was: § passed, garbled DuckDB\'s names and failed the Postgres COPY)', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('delimiter: ";"', 'delimiter: "§"') }, /seeds\/seeds\.yml:13:\d+: error: seeds\[1\]\.config\.delimiter: must be one ASCII character other than a double quote or a line break/],
    ['a double quote for a delimiter', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('delimiter: ";"', "delimiter: '\"'") }, /seeds\/seeds\.yml:13:\d+: error: seeds\[1\]\.config\.delimiter: must be one ASCII character/],
    ['two column_types keys for one column (was: one silently ignored)', { 'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('user_id: varchar', 'user_id: varchar, USER_ID: bigint') }, /seeds\/seeds\.yml:5:\d+: error: seed 'raw_orders': column_types names column 'user_id' twice, as 'user_id' and as 'USER_ID' \(without quote_columns names are lower-cased\).*\n {2}hint: keep one of them/],
    ['a blank line before a header with a bad name: the header\'s own line', { 'seeds/raw_customers.csv': '\n\nid,first name\n1,x\n' }, /seeds\/raw_customers\.csv:3:2: error: .*column name 'first name' is not a plain identifier/],
    ['a seed and a model with one name', { 'models/raw_customers.sql': 'select 1 as id' }, /seeds\/raw_customers\.csv:1:1: error: 'raw_customers' is both a seed .* and a model/],
    ['a ref to a seed that does not exist', { 'models/x.sql': "select * from {{ ref('raw_customer') }}" }, /models\/x\.sql:1:\d+: error: ref\('raw_customer'\) not found — did you mean 'raw_customers'\?/],
  ];
  for (const [name, files, expected] of cases) {
    it(name, () => {
      const dir = project(files);
      const r = vigil(dir, ['build']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(expected);
      expect(r.stdout).not.toMatch(/OK loaded seed/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});

describe('a seed that is not UTF-8 text: refused at its line and column, exit 2, nothing loaded (was: passed the check, then the DuckDB load failed with its sniffer\'s dump after other seeds were loaded; a NUL loaded on DuckDB and failed on Postgres)', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['a Latin-1 byte', Buffer.from('id,city\n1,K\xf6ln\n', 'latin1'), /seeds\/latin\.csv:2:2: error: seed 'latin': not UTF-8 \(byte 0xF6\): save the file as UTF-8.*\n {2}hint: .*CSV UTF-8/],
    ['a NUL byte', Buffer.from('id,city\n1,a\x00b\n', 'latin1'), /seeds\/latin\.csv:2:2: error: seed 'latin': a NUL byte, which Postgres and BigQuery cannot store/],
    ['a byte that starts no UTF-8 character, in a quoted field after a quoted line break', Buffer.concat([Buffer.from('id,note,x\n1,"a\nb', 'utf8'), Buffer.from([0xc3, 0x28]), Buffer.from('",2\n', 'utf8')]), /seeds\/latin\.csv:3:2: error: seed 'latin': not UTF-8 \(byte 0xC3\)/],
    ['a UTF-16 file', Buffer.from('\ufeffid\n1\n', 'utf16le'), /seeds\/latin\.csv:1:1: error: seed 'latin': not UTF-8 \(byte 0xFF\)/],
  ];
  for (const [name, bytes, expected] of cases) {
    it(name, () => {
      const dir = project();
      writeFileSync(join(dir, 'seeds/latin.csv'), bytes);
      const c = vigil(dir, ['check']);
      expect(c.code, c.stdout + c.stderr).toBe(2);
      expect(c.stderr).toMatch(expected);
      const r = vigil(dir, ['seed']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(expected);
      expect(r.stdout).not.toMatch(/OK loaded seed/);
    });
  }
  it('firstInvalidUtf8 finds the byte TextDecoder replaces first, and none where isUtf8 says the bytes are UTF-8', () => {
    let x = 11;
    const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    const pool = [0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xa0, 0x9f, 0xed, 0xef, 0xf0, 0x90, 0x8f, 0xf4, 0xf5, 0xff];
    const valid = ['é', '€', '😀', '\u{10ffff}', '\ud7ff', '\ue000'].map((c) => Buffer.from(c));
    let invalid = 0;
    for (let i = 0; i < 20_000; i++) {
      const parts: Buffer[] = [];
      for (let k = rnd(6); k >= 0; k--) parts.push(rnd(3) ? valid[rnd(valid.length)] : Buffer.from(Array.from({ length: 1 + rnd(4) }, () => pool[rnd(pool.length)])));
      const b = Buffer.concat(parts);
      const at = firstInvalidUtf8(b);
      expect(at === -1, b.toString('hex')).toBe(isUtf8(b));
      if (at < 0) continue;
      invalid++;
      // the bytes before it are UTF-8, and the decoder's first replacement is at it
      expect(isUtf8(b.subarray(0, at)), b.toString('hex')).toBe(true);
      const text = new TextDecoder().decode(b);
      expect(Buffer.byteLength(text.slice(0, text.indexOf('\ufffd'))), b.toString('hex')).toBe(at);
    }
    expect(invalid).toBeGreaterThan(5000);
  });
});

describe('seed files the warehouses read differently as they are: one table on DuckDB and Postgres', () => {
  const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
  const targets = () => {
    const schema = uniqueSchema('seed_shape');
    return [
      ['duckdb', {}, 'analytics'],
      ['postgres', { 'project.yaml': pgProjectYaml(schema) }, schema],
    ] as Array<[string, Record<string, string>, string]>;
  };
  it("a record longer than DuckDB's read_csv takes by default (2,000,000 bytes: a long JSON or text field) loads on DuckDB as on Postgres, the file as it is or rewritten (was: the load failed after the check passed, exit 1, the whole line dumped to stdout)", () => {
    const long = 'x'.repeat(2_100_000);
    for (const [name, files] of targets()) {
      const dir = makeProject({ 'seeds/as_is.csv': `id,txt\n1,${long}\n2,b\n`, 'seeds/rewritten.csv': `id,txt\n1,"${long}"\n2,null\n`, ...files });
      dirs.push(dir);
      const s = vigil(dir, ['seed'], env);
      expect(s.code, `${name}: ${s.stdout.slice(0, 2000)}${s.stderr.slice(0, 2000)}`).toBe(0);
      expect(s.stdout.length, name).toBeLessThan(10_000);
      for (const seed of ['as_is', 'rewritten']) expect(vigil(dir, ['show', '--inline', `select id, length(txt) as n from {{ ref('${seed}') }} order by id`, '--output', 'csv'], env).stdout, `${name} ${seed}`).toBe(seed === 'as_is' ? 'id,n\n1,2100000\n2,1\n' : 'id,n\n1,2100000\n2,\n');
    }
  });
  it('blank lines before the header: the header is the first line with text (was: loaded as a data row, or the load failed converting "id" to BIGINT, after the check passed)', () => {
    for (const [name, files] of targets()) {
      const dir = makeProject({ 'seeds/h.csv': '\nname,city\nann,paris\nbob,rome\n', 'seeds/t.csv': '\r\n\r\nid,name\r\n1,a\r\n', ...files });
      dirs.push(dir);
      const s = vigil(dir, ['seed'], env);
      expect(s.code, `${name}: ${s.stdout}${s.stderr}`).toBe(0);
      expect(s.stdout, name).toMatch(/OK loaded seed \S+\.h \(2 rows\)/);
      expect(vigil(dir, ['show', '-s', 'h', '--output', 'csv'], env).stdout, name).toBe('name,city\nann,paris\nbob,rome\n');
      expect(vigil(dir, ['show', '--inline', "select id + 1 as next, name from {{ ref('t') }}", '--output', 'csv'], env).stdout, name).toBe('next,name\n2,a\n');
    }
  });
  it('blank lines after the last record are no rows, LF or CRLF, one column or two (R11: a CRLF file with one failed on Postgres with missing data, a one-column file got a NULL row)', () => {
    for (const [name, files] of targets()) {
      const dir = makeProject({ 'seeds/a.csv': 'id,txt\r\n1,x\r\n2,y\r\n\r\n', 'seeds/b.csv': 'id\r\n1\r\n2\r\n\r\n', 'seeds/c.csv': 'id\n1\n2\n\n\n', ...files });
      dirs.push(dir);
      const s = vigil(dir, ['seed'], env);
      expect(s.code, `${name}: ${s.stdout}${s.stderr}`).toBe(0);
      for (const t of ['a', 'b', 'c']) expect(vigil(dir, ['show', '--inline', `select count(*) as n, count(id) as ids from {{ ref('${t}') }}`, '--output', 'csv'], env).stdout, `${name} ${t}`).toBe('n,ids\n2,2\n');
    }
  });
  it('CRLF line endings load the values of the LF file, quoted line breaks as written (CRLF and LF), on each warehouse; a file mixing LF and CRLF too', () => {
    const lf = 'id,note,n,d\n1,"multi\r\nline",1.5,2024-01-01\n2,"lf\nonly",,2024-01-02\n3,"q",2,\n4,,3,2024-01-04\n';
    const sql = "select id, replace(replace(note, chr(13), '<CR>'), chr(10), '<LF>') as note, note is null as null_note, n, d from {{ ref('x') }} order by id";
    const crlf = lf.replace(/(\d|")\n/g, '$1\r\n').replace('id,note,n,d\n', 'id,note,n,d\r\n');
    expect(crlf).toContain('"multi\r\nline",1.5,2024-01-01\r\n2,"lf\nonly"');
    const mixed = crlf.replace('2024-01-02\r\n', '2024-01-02\n');
    for (const [name, files] of targets()) {
      const dir = makeProject({ 'seeds/x.csv': lf, ...files });
      dirs.push(dir);
      const shown: string[] = [];
      for (const text of [lf, crlf, mixed]) {
        writeFileSync(join(dir, 'seeds/x.csv'), text);
        const s = vigil(dir, ['seed'], env);
        expect(s.code, `${name}: ${s.stdout}${s.stderr}`).toBe(0);
        shown.push(vigil(dir, ['show', '--inline', sql, '--output', 'csv'], env).stdout);
      }
      expect(shown[0], name).toBe('id,note,null_note,n,d\n1,multi<CR><LF>line,false,1.5,2024-01-01\n2,lf<LF>only,false,,2024-01-02\n3,q,false,2,\n4,,true,3,2024-01-04\n');
      expect(shown[1], name).toBe(shown[0]);
      expect(shown[2], name).toBe(shown[0]);
    }
  });
  it('null in any case, "" and a blank field are NULL, as dbt reads a seed, in every column (column_types text too), and type nothing: a number or date column with them stays a number or date (was: VARCHAR, sum() failed; the texts \'null\', \'NULL\', \'\' loaded)', () => {
    const files = {
      'seeds/m.csv': 'id,amount,d\n1,100,2018-01-01\n2,null,null\n3,300,2018-01-03\n',
      // every spelling dbt (agate) reads as NULL, in an inferred text column, a column_types varchar one and an int one; 'None', "''" and 'nullx' are text
      'seeds/n.csv': 'id,t,v,k\n1,NULL,Null,"null"\n2,"",""," NULL "\n3,"  ",\u00a0null\u3000,\n4,None,\'\',5\n5,nullx,x,6\n',
      'seeds/n.yml': 'seeds:\n  - name: n\n    config: { column_types: { v: varchar } }\n    columns:\n      - name: t\n        tests: [not_null]\n',
    };
    for (const [name, extra, schema] of targets()) {
      const dir = makeProject({ ...files, ...extra });
      dirs.push(dir);
      const s = vigil(dir, ['seed'], env);
      expect(s.code, `${name}: ${s.stdout}${s.stderr}`).toBe(0);
      const types = vigil(dir, ['show', '--inline', `select table_name, column_name, lower(data_type) as t from information_schema.columns where table_schema = '${schema}' and table_name in ('m', 'n') order by table_name, ordinal_position`, '--output', 'csv', '--limit', '20'], env);
      expect(types.stdout, name).toBe(`table_name,column_name,t\nm,id,bigint\nm,amount,bigint\nm,d,date\nn,id,bigint\nn,t,${name === 'duckdb' ? 'varchar' : 'text'}\nn,v,${name === 'duckdb' ? 'varchar' : 'text'}\nn,k,bigint\n`);
      expect(vigil(dir, ['show', '--inline', "select sum(amount) as total, count(d) as days from {{ ref('m') }}", '--output', 'csv'], env).stdout, name).toBe('total,days\n400,2\n');
      expect(vigil(dir, ['show', '--inline', "select id, t, t is null as tn, v, v is null as vn, k from {{ ref('n') }} order by id", '--output', 'csv'], env).stdout, name).toBe("id,t,tn,v,vn,k\n1,,true,,true,\n2,,true,,true,\n3,,true,,true,\n4,None,false,'',false,5\n5,nullx,false,x,false,6\n");
      // a not_null test on such a column fails, as in dbt
      const t = vigil(dir, ['test', '-s', 'n'], env);
      expect(t.code, `${name}: ${t.stdout}${t.stderr}`).toBe(1);
      expect(t.stdout, name).toMatch(/FAIL 3 not_null_n_t/);
    }
  });
  it('Postgres: a header name longer than the 63 bytes Postgres keeps is refused at its column, in check and before any load (was: cut by Postgres, every reload dropped the views that read the seed; two alike in 63 bytes failed the load)', () => {
    const long = (c: string) => `c${'x'.repeat(62)}${c}`;
    const [[, duck], [, pgFiles, schema]] = targets();
    const files = { 'seeds/wide.csv': `id,${long('a')},${long('b')}\n1,2,3\n`, 'seeds/ok.csv': `id,c${'x'.repeat(62)}\n1,2\n`, 'models/ok_v.sql': "select * from {{ ref('ok') }}" };
    const d = makeProject({ ...files, ...duck });
    dirs.push(d);
    expect(vigil(d, ['seed']).code).toBe(0);
    const dir = makeProject({ ...files, ...pgFiles });
    dirs.push(dir);
    for (const cmd of [['check'], ['seed'], ['build']]) {
      const r = vigil(dir, cmd, env);
      expect(r.code, `${cmd}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/seeds\/wide\.csv:1:2: error: seed 'wide': column name 'cx+\.\.\.' is 64 bytes long; postgres keeps 63 bytes of a name.*\n {2}hint: rename it in the CSV's header \(at most 63 bytes\)/);
      expect(r.stderr).toMatch(/seeds\/wide\.csv:1:3: error/);
      expect(r.stdout).not.toMatch(/OK loaded seed/);
    }
    // 63 bytes is kept whole: a reload keeps the view that reads it
    rmSync(join(dir, 'seeds/wide.csv'));
    expect(vigil(dir, ['build'], env).code).toBe(0);
    const again = vigil(dir, ['seed'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toContain('warning');
    expect(vigil(dir, ['show', '--inline', `select count(*) as n from information_schema.views where table_schema = '${schema}' and table_name = 'ok_v'`, '--output', 'csv'], env).stdout).toBe('n\n1\n');
  });
  it('Postgres: a seed of more than the 1,600 columns a Postgres table holds is refused at its header, in check and before any load (was: check passed, the other seeds loaded, then the load failed with SQLSTATE 54011, exit 1); DuckDB loads it', () => {
    const header = Array.from({ length: 1601 }, (_, i) => `c${i}`).join(',');
    const files = { 'seeds/wide.csv': `${header}\n${Array.from({ length: 1601 }, (_, i) => i).join(',')}\n`, 'seeds/ok.csv': 'id\n1\n' };
    const [[, duck], [, pgFiles]] = targets();
    const d = makeProject({ ...files, ...duck });
    dirs.push(d);
    expect(vigil(d, ['seed']).code).toBe(0);
    const dir = makeProject({ ...files, ...pgFiles });
    dirs.push(dir);
    for (const cmd of [['check'], ['seed']]) {
      const r = vigil(dir, cmd, env);
      expect(r.code, `${cmd}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/seeds\/wide\.csv:1: error: seed 'wide': 1601 columns; a postgres table holds at most 1600/);
      expect(r.stdout).not.toMatch(/OK loaded seed/);
    }
  });
  it("Postgres: a header past 64 KB (1,601 names of 41 characters, a CRM export) is read whole: its column count and names' lengths are checked at compile, exit 2, nothing loaded (was: the first 64 KB held no whole record, so neither check ran: check passed, the other seeds loaded, then SQLSTATE 54011, exit 1)", () => {
    const names = Array.from({ length: 1601 }, (_, i) => `customer_attribute_from_the_crm_sys_${String(i).padStart(5, '0')}`);
    names[1600] = `c${'x'.repeat(70)}`;
    const header = names.join(',');
    expect(header.length).toBeGreaterThan(65536);
    const [, [, pgFiles]] = targets();
    const dir = makeProject({ 'seeds/wide.csv': `${header}\n${names.map((_, i) => i).join(',')}\n`, 'seeds/ok.csv': 'id\n1\n', ...pgFiles });
    dirs.push(dir);
    const r = vigil(dir, ['seed'], env);
    expect(r.code, `${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`).toBe(2);
    expect(r.stderr).toMatch(/seeds\/wide\.csv:1: error: seed 'wide': 1601 columns; a postgres table holds at most 1600/);
    expect(r.stderr).toMatch(/seeds\/wide\.csv:1:1601: error: seed 'wide': column name 'cx+\.\.\.' is 71 bytes long/);
    expect(r.stdout).not.toMatch(/OK loaded seed/);
  });
  it('DuckDB: a seed whose table cannot be swapped in (a view has its name) fails, and leaves no staging table (was: vigil_seed_stage_<name> stayed for good)', () => {
    const dir = makeProject({ 'models/vw.sql': 'select 1 as x', 'seeds/other.csv': 'a\n1\n' });
    dirs.push(dir);
    expect(vigil(dir, ['run', '-s', 'vw']).code).toBe(0);
    rmSync(join(dir, 'models/vw.sql'));
    writeFileSync(join(dir, 'seeds/vw.csv'), 'a\n1\n');
    const s = vigil(dir, ['seed', '-s', 'vw']);
    expect(s.code, s.stdout + s.stderr).toBe(1);
    expect(s.stdout).toContain('Existing object vw is of type View');
    expect(vigil(dir, ['show', '--inline', "select count(*) as stages from information_schema.tables where table_name like '%__vigil_seed'", '--output', 'csv']).stdout).toBe('stages\n0\n');
  });
  it("DuckDB: the staging table's name is Vigil's own: a model named like it keeps its table (was: vigil_seed_stage_<seed>, which loading the seed dropped)", () => {
    const dir = makeProject({ 'models/vigil_seed_stage_lookup.sql': "{{ config(materialized='table') }} select 42 as important", 'models/vigil_seed_stage_codes.sql': 'select 7 as v', 'seeds/lookup.csv': 'a\n1\n', 'seeds/codes.csv': 'c\nx\n' });
    dirs.push(dir);
    expect(vigil(dir, ['run']).code).toBe(0);
    const s = vigil(dir, ['seed']);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const r = vigil(dir, ['show', '--inline', "select (select important from {{ ref('vigil_seed_stage_lookup') }}) as t, (select v from {{ ref('vigil_seed_stage_codes') }}) as v, (select count(*) from {{ ref('lookup') }}) as l, (select count(*) from {{ ref('codes') }}) as c", '--output', 'csv']);
    expect(r.stdout, r.stderr).toBe('t,v,l,c\n42,7,1,1\n');
  });
  it('DuckDB: staging tables a killed run left (kill -9 between a staging load and its swap) are dropped by the next seed load, one of a seed since renamed too (was: left beside the seeds for good)', () => {
    // what a run killed there leaves: a staging table of a seed, committed, never swapped in
    const leftover = `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\non_run_start:\n  - "create table analytics.gone__vigil_seed as select 1 as a"\n  - "create schema if not exists other"\n  - "create table other.lookup__vigil_seed as select 1 as a"\n`;
    const dir = makeProject({ 'project.yaml': leftover, 'models/m.sql': 'select 1 as x', 'seeds/lookup.csv': 'a\n1\n2\n' });
    dirs.push(dir);
    expect(vigil(dir, ['run']).code).toBe(0);
    const stages = () => vigil(dir, ['show', '--inline', "select count(*) as stages from information_schema.tables where table_name like '%__vigil_seed'", '--output', 'csv']).stdout;
    expect(stages()).toBe('stages\n2\n');
    writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML);
    const s = vigil(dir, ['seed']);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(stages()).toBe('stages\n0\n');
  });
});

describe('seeds in Postgres and BigQuery', () => {
  it('Postgres: the same tables, types and rows', () => {
    const schema = uniqueSchema('seeds');
    const dir = project({
      'project.yaml': pgProjectYaml(schema),
      'seeds/seeds.yml': SEEDS['seeds/seeds.yml'].replace('schema: ref_data', `schema: ${schema}_ref`),
    });
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
    const b = vigil(dir, ['build'], env);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(b.stdout).toMatch(/OK loaded seed \S+\.raw_orders \(3 rows\)/);
    const types = vigil(dir, ['show', '--inline', `select attname as column_name, format_type(atttypid, atttypmod) as data_type from pg_attribute where attrelid = '${schema}.raw_orders'::regclass and attnum > 0 and not attisdropped order by attnum`, '--output', 'csv', '--limit', '20'], env);
    expect(types.stdout).toBe('column_name,data_type\nid,bigint\nuser_id,text\norder_date,date\nstatus,text\namount,"numeric(10,2)"\npaid,boolean\nplaced_at,timestamp with time zone\n');
    const customers = () => vigil(dir, ['show', '--inline', "select * from {{ ref('customers') }} order by id", '--output', 'csv'], env).stdout;
    expect(customers()).toBe('id,first_name,orders,spent\n1,Michael,2,10.50\n2,Shawn,0,\n3,"Kathleen, Jr",1,20.00\n');
    // loading the seeds again keeps the views that read them (was: drop ... cascade dropped them, exit 0)
    const again = vigil(dir, ['seed'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(vigil(dir, ['show', '--inline', `select table_name from information_schema.views where table_schema = '${schema}' and table_name = 'customers'`, '--output', 'csv'], env).stdout).toBe('table_name\ncustomers\n');
    expect(customers()).toBe('id,first_name,orders,spent\n1,Michael,2,10.50\n2,Shawn,0,\n3,"Kathleen, Jr",1,20.00\n');
  });

  it('DuckDB and Postgres load the same values: integers over the whole int64 range exact, real timestamps at the edges alike, values that only look like timestamps or numbers as text (was: DuckDB NULL or shifted, Postgres the next day or a raw SQLSTATE error)', () => {
    const csv = 'id,big,huge,ts,odd,g\n1234567890123456789,9223372036854775807,12345678901234567890,2024-12-31 23:59:59.999999+14:00,2024-12-31 23:59:60,1.5\n-9223372036854775808,-12,1,2024-01-01T00:00:00-12:00,2024-01-01 10:00:00+99:00,1e400\n';
    const sql = "select cast(id as varchar) as id, cast(big as varchar) as big, huge, cast(ts at time zone 'UTC' as varchar) as ts_utc, odd, g from {{ ref('edge') }} order by id";
    const expected = 'id,big,huge,ts_utc,odd,g\n-9223372036854775808,-12,1,2024-01-01 12:00:00,2024-01-01 10:00:00+99:00,1e400\n1234567890123456789,9223372036854775807,12345678901234567890,2024-12-31 09:59:59.999999,2024-12-31 23:59:60,1.5\n';
    const schema = uniqueSchema('seed_edge');
    const targets: Array<[string, Record<string, string>, string]> = [
      ['duckdb', {}, 'BIGINT,BIGINT,VARCHAR,TIMESTAMP WITH TIME ZONE,VARCHAR,VARCHAR'],
      ['postgres', { 'project.yaml': pgProjectYaml(schema) }, 'bigint,bigint,text,timestamp with time zone,text,text'],
    ];
    for (const [name, files, types] of targets) {
      const dir = makeProject({ 'seeds/edge.csv': csv, ...files });
      dirs.push(dir);
      const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
      const s = vigil(dir, ['seed'], env);
      expect(s.code, `${name}: ${s.stdout}${s.stderr}`).toBe(0);
      const t = vigil(dir, ['show', '--inline', "select data_type from information_schema.columns where table_name = 'edge' and table_schema = '" + (name === 'duckdb' ? 'analytics' : schema) + "' order by ordinal_position", '--output', 'csv', '--limit', '20'], env);
      expect(t.stdout.trim().split('\n').slice(1).join(','), name).toBe(types);
      expect(vigil(dir, ['show', '--inline', sql, '--output', 'csv'], env).stdout, name).toBe(expected);
    }
  });

  it("column_types decimal(p,s) loads that exact type on DuckDB and Postgres, as dbt loads it: 0.10 + 0.20 is 0.30 (was: a double, 0.30000000000000004); more decimals are rounded alike; a second load keeps the table", () => {
    const csv = 'id,amount\n1,0.10\n2,0.20\n3,0.125\n4,1.5e2\n5,-.5\n6,-0.125\n';
    const sql = "select sum(amount) filter (where id < 3) as s, sum(amount) filter (where id < 3) = 0.3 as eq, string_agg(cast(amount as varchar), ' ' order by id) as vals from {{ ref('pay') }}";
    const schema = uniqueSchema('seed_dec');
    for (const [name, files, type] of [
      ['duckdb', {}, 'DECIMAL(10,2)'],
      ['postgres', { 'project.yaml': pgProjectYaml(schema) }, 'numeric(10,2)'],
    ] as Array<[string, Record<string, string>, string]>) {
      const dir = makeProject({ 'seeds/pay.csv': csv, 'seeds/pay.yml': 'seeds:\n  - name: pay\n    config: { column_types: { amount: "decimal(10,2)" } }\n', ...files });
      dirs.push(dir);
      const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
      for (let i = 0; i < 2; i++) {
        const s = vigil(dir, ['seed'], env);
        expect(s.code, `${name}: ${s.stdout}${s.stderr}`).toBe(0);
      }
      const typeSql = name === 'duckdb' ? "select typeof(amount) as t from {{ ref('pay') }} limit 1" : "select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = '" + schema + ".pay'::regclass and attname = 'amount'";
      expect(vigil(dir, ['show', '--inline', typeSql, '--output', 'csv'], env).stdout, name).toBe(`t\n"${type}"\n`);
      expect(vigil(dir, ['show', '--inline', sql, '--output', 'csv'], env).stdout, name).toBe('s,eq,vals\n0.30,true,0.10 0.20 0.13 150.00 -0.50 -0.13\n');
    }
  });

  it('Postgres: a load that changes a seed\'s columns keeps the views that read it where they can be made again (was: dropped, missing to readers), else says which views it dropped (a restricted companion too) and how to make them again; a build that rebuilds them says nothing (was: dropped without a word, exit 0)', async () => {
    const schema = uniqueSchema('seed_views');
    const role = `seed_reader_${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    const admin = new pg.Client({ connectionString: inject('pgUrl') });
    await admin.connect();
    try {
      await admin.query(`create role ${role}`);
      const dir = makeProject({
        'project.yaml': pgProjectYaml(schema),
        'seeds/people.csv': 'id,email,note\n1,a@x.com,hi\n',
        'models/people_pub.sql': `{{ config(materialized='view', restricted={'grants': {'select': ['${role}']}}) }}\nselect id, email, note from {{ ref('people') }}`,
        'models/people_pub.yml': 'models:\n  - name: people_pub\n    columns:\n      - name: id\n      - name: email\n        policy: hash\n      - name: note\n',
        'models/people_count.sql': "select count(*) as n from {{ ref('people_pub') }}",
      });
      dirs.push(dir);
      const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
      const views = async () => (await admin.query(`select table_name from information_schema.views where table_schema = $1 order by 1`, [schema])).rows.map((r) => r.table_name).join(',');
      const granted = async () => (await admin.query(`select has_table_privilege($1, $2, 'select') as ok`, [role, `${schema}.people_pub__restricted`])).rows[0].ok;
      const b = vigil(dir, ['build', '-s', 'people+'], env);
      expect(b.code, b.stdout + b.stderr).toBe(0);
      expect(await views()).toBe('people_count,people_pub,people_pub__restricted');
      // the same columns: the table is emptied and filled, the views stay, nothing said
      writeFileSync(join(dir, 'seeds/people.csv'), 'id,email,note\n2,b@x.com,yo\n');
      const same = vigil(dir, ['seed', '-s', 'people'], env);
      expect(same.code, same.stdout + same.stderr).toBe(0);
      expect(same.stdout).not.toContain('warning');
      expect(await views()).toBe('people_count,people_pub,people_pub__restricted');
      // a column more: made again, the views that read it made again as they were in the same
      // transaction (a reader never finds them missing), the restricted companion's grant kept, nothing said
      writeFileSync(join(dir, 'seeds/people.csv'), 'id,email,note,age\n1,a@x.com,hi,5\n');
      const more = vigil(dir, ['seed', '-s', 'people'], env);
      expect(more.code, more.stdout + more.stderr).toBe(0);
      expect(more.stdout).toContain(`OK loaded seed ${schema}.people (1 row)`);
      expect(more.stdout).not.toContain('warning');
      expect(await views()).toBe('people_count,people_pub,people_pub__restricted');
      expect(await granted()).toBe(true);
      // a column the views read gone: they cannot be made again, and the cascade's views are named
      writeFileSync(join(dir, 'seeds/people.csv'), 'id,email,age\n1,a@x.com,5\n');
      const s = vigil(dir, ['seed', '-s', 'people'], env);
      expect(s.code, s.stdout + s.stderr).toBe(0);
      expect(s.stdout).toContain(`OK loaded seed ${schema}.people (1 row)`);
      expect(s.stdout).toContain(`\n  warning: loading it dropped 3 views that read it (Postgres' drop ... cascade), not rebuilt by this run: ${schema}.people_count, ${schema}.people_pub, ${schema}.people_pub__restricted; vigil run -s people+ builds them again\n`);
      expect(await views()).toBe('');
      // the command it names brings them back, with the restricted companion's grants
      writeFileSync(join(dir, 'models/people_pub.sql'), `{{ config(materialized='view', restricted={'grants': {'select': ['${role}']}}) }}\nselect id, email, cast(age as text) as note from {{ ref('people') }}`);
      const r = vigil(dir, ['run', '-s', 'people+'], env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(await views()).toBe('people_count,people_pub,people_pub__restricted');
      expect(await granted()).toBe(true);
      // vigil build loads the seed and rebuilds what reads it: nothing to say
      writeFileSync(join(dir, 'seeds/people.csv'), 'id,email,note\n1,a@x.com,hi\n');
      writeFileSync(join(dir, 'models/people_pub.sql'), `{{ config(materialized='view', restricted={'grants': {'select': ['${role}']}}) }}\nselect id, email, note from {{ ref('people') }}`);
      const full = vigil(dir, ['build'], env);
      expect(full.code, full.stdout + full.stderr).toBe(0);
      expect(full.stdout).not.toContain('warning');
      expect(await views()).toBe('people_count,people_pub,people_pub__restricted');
      // a build of the seed alone does not rebuild them: said
      writeFileSync(join(dir, 'seeds/people.csv'), 'id,note\n1,hi\n');
      const one = vigil(dir, ['build', '-s', 'people'], env);
      expect(one.code, one.stdout + one.stderr).toBe(0);
      expect(one.stdout).toMatch(/warning: loading it dropped 3 views .*; vigil run -s people\+ builds them again/);
    } finally {
      await admin.query(`drop owned by ${role}; drop role if exists ${role}`).catch(() => undefined);
      await admin.end();
    }
  });

  it('BigQuery: one load job per seed with its schema and the rows, through the real client', async () => {
    const dir = project({ 'project.yaml': 'name: fixture\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: vigil-seeds, dataset: analytics, location: EU }\n' });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: bq.fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const start = bq.fake.requests.length;
    const r = await vigilAsync(dir, ['seed', '-s', 'raw_orders'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const loads = bq.fake.requests.slice(start).filter((q) => q.body?.configuration?.load);
    expect(loads).toHaveLength(1);
    const load = loads[0].body.configuration.load;
    expect(load.sourceFormat).toBe('CSV');
    expect(load.schema.fields.map((f: { name: string; type: string }) => `${f.name}:${f.type}`)).toEqual(['id:INT64', 'user_id:STRING', 'order_date:DATE', 'status:STRING', 'amount:NUMERIC', 'paid:BOOL', 'placed_at:TIMESTAMP']);
    expect(load.schema.fields[4]).toMatchObject({ precision: '10', scale: '2' });
    // every value is in a form BigQuery reads as the others do: the file itself, its header skipped
    expect(load.skipLeadingRows).toBe(1);
    expect(String((loads[0] as { upload?: string }).upload)).toBe(SEEDS['seeds/sub/raw_orders.csv']);
    expect(r.stdout).toMatch(/OK loaded seed vigil-seeds\.analytics\.raw_orders \(3 rows\)/);
  });

  it('BigQuery: null and "" are NULL there too: the columns keep their types, the job loads the rewrite with an empty field for each (was: STRING columns holding \'null\')', async () => {
    const dir = project({ 'project.yaml': 'name: fixture\ndefault_target: bq\ntargets:\n  bq: { type: bigquery, project: vigil-seeds, dataset: analytics, location: EU }\n', 'seeds/m.csv': 'id,amount,d,t\n1,100,2018-01-01,a\n2,null,NULL,""\n3,300,2018-01-03,Null\n' });
    const env = { VIGIL_BIGQUERY_API_ENDPOINT: bq.fake.url, VIGIL_BIGQUERY_ACCESS_TOKEN: 'fake-token', NO_PROXY: '127.0.0.1' };
    const start = bq.fake.requests.length;
    const r = await vigilAsync(dir, ['seed', '-s', 'm'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const loads = bq.fake.requests.slice(start).filter((q) => q.body?.configuration?.load);
    expect(loads).toHaveLength(1);
    const load = loads[0].body.configuration.load;
    expect(load.schema.fields.map((f: { name: string; type: string }) => `${f.name}:${f.type}`)).toEqual(['id:INT64', 'amount:INT64', 'd:DATE', 't:STRING']);
    expect(load.skipLeadingRows).toBeUndefined();
    expect(String((loads[0] as { upload?: string }).upload)).toBe('1,100,2018-01-01,a\n2,,,\n3,300,2018-01-03,\n');
  });
});

describe('nullField: NULL as dbt (agate) reads a seed value', () => {
  it('empty, blank, or null in any case between blanks (Python\'s whitespace, U+00A0 and U+3000 too); nothing else', () => {
    const yes = ['', ' ', '\t', 'null', 'NULL', 'Null', 'nUlL', ' null ', '\tNULL\r', '\u00a0', '\u00a0null\u3000', '\u2000null', 'null\u0085', '\x1c'];
    const no = ['nul', 'nulll', 'nullx', 'n ull', 'None', 'NaN', "''", '""', '\\N', 'x', '0', 'ñ', '\u00a0x', 'null\u00a1', '\ufeff', 'nulo'];
    const is = (v: string) => {
      const b = Buffer.from(`#${v}#`);
      return nullField(b, 1, b.length - 1);
    };
    for (const v of yes) expect(is(v), JSON.stringify(v)).toBe(true);
    for (const v of no) expect(is(v), JSON.stringify(v)).toBe(false);
  });
  it('parseSeed types around them and rewrites the file with each as an empty unquoted field (what every bulk load reads as NULL); a file without them loads as it is', () => {
    const text = 'a,b,c,d\n1,null,x,"null"\n"",2024-01-01, NULL ,2.5\n3,"",,\n';
    const r = parseSeed(text, { column_types: { d: 'decimal(4,1)' } });
    if (Array.isArray(r)) throw new Error(JSON.stringify(r));
    expect(r.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['a:int', 'b:date', 'c:string', 'd:float']);
    expect(r.asIs).toBe(false);
    const dir = project();
    const how = loadFileFor(r, text, 'x.csv', join(dir, 'out.csv'));
    expect(readFileSync(how.file, 'utf8')).toBe('1,,x,\n,2024-01-01,,2.5\n3,,,\n');
    // a column_types type other than text: NULL, not a value of the wrong type
    expect(Array.isArray(parseSeed('a\nnull\n1\n', { column_types: { a: 'bigint' } }))).toBe(false);
    // no marker: as it is (the empty unquoted field is every reader's NULL)
    const plain = parseSeed('a,b\n1,nulls\n,x\n');
    expect(!Array.isArray(plain) && plain.asIs).toBe(true);
  });
});

describe('classifyBytes (the byte fast path) agrees with classify', () => {
  it('on edge cases and 20,000 generated values', () => {
    const edge = ['0', '-0', '007', '-', '+5', '1.', '.5', '-1.5', '1.5e3', '1e5', '123456789012345678', '1234567890123456789', '2020-02-29', '2021-02-29', '2020-13-01', '2020-00-10', '2020-01-32', '0000-01-01',
      '2020-01-01 23:59:59', '2020-01-01 24:00:00', '2020-01-01 10:60:00', '2020-01-01T10:00:00', '2020-01-01 10:00', '2020-01-01 10:00:00Z', '2020-01-01 10:00:00.5', '2020-1-01', '-2020-01-01',
      'true', 'FALSE', 'tRuE', 'truth', 'T', 'yes', '12:30', '1,5', '', ' 1', '1 ', '١٢', 'é', '2020/01/01',
      '2020-01-01 10:00:59', '2020-01-01 10:00:60', '2024-12-31 23:59:60', '2020-01-01 10:00:99', '0001-01-01', '0000-01-01 10:00:00', '123456789012345678.5', '1e400', '-1e400', '1e-400',
      '1234567890123456', '9007199254740993', '0.30000000000000004', '1.234567890123456789', '123456789012345.6', '12345678901234.56', '-123456789012345', '0.8444218515250481', '-0.0000000000000001', '100000000000000000', '12345678901234567.5'];
    let x = 7;
    const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    const alphabet = '0123456789-.:T eE+tfrualsZ';
    const gen: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (i % 4 === 0) gen.push(`${1990 + rnd(60)}-${String(rnd(14)).padStart(2, '0')}-${String(rnd(33)).padStart(2, '0')}${rnd(2) ? ` ${String(rnd(26)).padStart(2, '0')}:${String(rnd(62)).padStart(2, '0')}:${String(rnd(62)).padStart(2, '0')}` : ''}`);
      else gen.push(Array.from({ length: 1 + rnd(20) }, () => alphabet[rnd(alphabet.length)]).join(''));
    }
    let fast = 0;
    for (const v of [...edge, ...gen]) {
      const b = Buffer.from(v);
      const r = classifyBytes(b, 0, b.length);
      if (r < 0) continue;
      fast++;
      const k = classify(v);
      expect({ v, fits: r & 255, odd: r >> 8 }).toEqual({ v, fits: k.fits, odd: k.odd });
    }
    expect(fast).toBeGreaterThan(5000);
  });

  it("answers a float a program printed in full (16 or 17 digits) on the bytes, as classify() does (was: every such value took classify(), a 1M-row CSV of them read 12 times slower)", () => {
    for (const v of ['0.8444218515250481', '-0.8444218515250481', '0.30000000000000004', '123.45678901234568', '1234567890123456', '9007199254740992', '123456789012345680', '-12345678901234568']) {
      const b = Buffer.from(v);
      const r = classifyBytes(b, 0, b.length);
      const k = classify(v);
      expect({ v, fits: r & 255, odd: r >> 8 }).toEqual({ v, fits: k.fits, odd: k.odd });
    }
    // not as written: classify() decides (text beside a float, an int alone)
    for (const v of ['1.234567890123456789', '9007199254740993', '0.10000000000000000', '0001234567890123456', '1234567890123456.7', '123456789012345678']) expect(classifyBytes(Buffer.from(v), 0, v.length)).toBe(-1);
  });
});

describe('parseSeed', () => {
  it('infers the narrowest type every value fits; a BOM is dropped; a file every warehouse reads alike loads as it is', () => {
    const r = parseSeed('\uFEFFa,b,c,d,e,f\n1,1.5,true,2020-02-29,2020-01-01 00:00:00,x\n,2,false,,,\n');
    if (Array.isArray(r)) throw new Error(JSON.stringify(r));
    expect(r.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['a:int', 'b:float', 'c:bool', 'd:date', 'e:timestamp', 'f:string']);
    expect(r.rows).toBe(2);
    expect(r.asIs).toBe(true);
  });
  it('a value that only looks like a timestamp or a number makes its column text (was: a timestamp with second 99, 60 or offset +99:00, or 1e400, passed the check and DuckDB loaded NULL, a shifted time or Infinity)', () => {
    const types = (csv: string) => {
      const r = parseSeed(csv);
      if (Array.isArray(r)) throw new Error(JSON.stringify(r));
      return r.columns.map((c) => `${c.name}:${c.type}`);
    };
    expect(types('a,b,c,d,e\n2024-01-01 10:00:00,2024-12-31 23:59:59,2024-01-01 10:00:00+14:00,2024-01-01T10:00-12:00,0001-01-01 00:00:00\n')).toEqual(['a:timestamp', 'b:timestamp', 'c:timestamp', 'd:timestamp', 'e:timestamp']);
    expect(types('a,b,c,d,e,f\n2024-01-01 10:00:99,2024-12-31 23:59:60,2024-01-01 10:00:00+99:00,2024-01-01 10:00:00+14:01,2024-01-01 10:00:00+05:99,0000-01-01 10:00:00\n')).toEqual(['a:string', 'b:string', 'c:string', 'd:string', 'e:string', 'f:string']);
    // one bad value among good ones is enough
    expect(types('ts\n2024-01-01 10:00:00\n2024-01-01 10:00:99\n')).toEqual(['ts:string']);
    expect(types('d\n0000-01-01\n')).toEqual(['d:string']);
    expect(types('f,g,h,i\n1.5,1e308,5e-324,0e-400\n1e400,-1e400,1e-400,0.0\n')).toEqual(['f:string', 'g:string', 'h:string', 'i:float']);
    expect(types('f,g\n1.5,-1.7976931348623157e308\n2,5e-324\n')).toEqual(['f:float', 'g:float']);
    // 4.9e-324 is nearer 0 than 5e-324: the double it loads as prints 5e-324, another number
    expect(types('g\n4.9e-324\n')).toEqual(['g:string']);
  });
  it('an integer is a bigint over the whole int64 range; beyond it the column is text, never a double that drops digits (was: 19 digits inferred as DOUBLE, 1234567890123456789 read back ...768)', () => {
    const types = (csv: string, config = {}) => {
      const r = parseSeed(csv, config);
      if (Array.isArray(r)) return r;
      return r.columns.map((c) => `${c.name}:${c.type}`);
    };
    expect(types('a,b,c\n1234567890123456789,9223372036854775807,-9223372036854775808\n2,+0009223372036854775807,1\n')).toEqual(['a:int', 'b:int', 'c:int']);
    expect(types('a,b,c\n9223372036854775808,-9223372036854775809,12345678901234567890123\n')).toEqual(['a:string', 'b:string', 'c:string']);
    expect(types('a\n1.5\n12345678901234567890\n')).toEqual(['a:string']);
    // column_types bigint takes the whole range, and refuses beyond it at its line
    expect(types('id\n1234567890123456789\n9223372036854775807\n-9223372036854775808\n', { column_types: { id: 'bigint' } })).toEqual(['id:int']);
    expect(types('id\n1\n9223372036854775808\n', { column_types: { id: 'bigint' } })).toEqual([expect.objectContaining({ line: 3, column: 1, message: "column 'id' is int (column_types) but this row has '9223372036854775808'", hint: expect.stringMatching(/^beyond the bigint range/) })]);
  });
  it('a value too long for its column is shown cut after its secrets are redacted (was: cut to 39 characters first, so the start of a token held in a secret variable was printed)', () => {
    const token = 'tok-Zq81vX2mN7pL4kR9sT6wY3bC5dF0gH8jK1e';
    const before = process.env.SEED_API_TOKEN;
    process.env.SEED_API_TOKEN = token;
    // (the environment as this process sees it now: an earlier test's redaction scanned it before)
    resetSecrets();
    try {
      const r = parseSeed(`code\nab\nzz ${token}\n`, { column_types: { code: 'varchar(5)' } });
      expect(Array.isArray(r)).toBe(true);
      const message = (r as Array<{ message: string }>)[0].message;
      expect(message).toMatch(/^column 'code' is varchar\(5\) \(column_types\) but this row has 'zz <redacted:SEED_API_TOKEN/);
      expect(message).not.toContain(token.slice(0, 12));
    } finally {
      if (before === undefined) delete process.env.SEED_API_TOKEN;
      else process.env.SEED_API_TOKEN = before;
      resetSecrets();
    }
  });
  it('a number a double would not show as written makes its column text, never a rounded float (was: 1.234567890123456789 loaded as 1.2345678901234567, 9007199254740993 beside 1.5 as 9007199254740992)', () => {
    const types = (csv: string) => {
      const r = parseSeed(csv);
      if (Array.isArray(r)) throw new Error(JSON.stringify(r));
      return r.columns.map((c) => `${c.name}:${c.type}`);
    };
    // more digits than a double keeps: text (exact), as an integer beyond bigint is
    expect(types('a,b,c\n1.234567890123456789,9007199254740993,0.1000000000000000055511151231257827\n2,1.5,1\n')).toEqual(['a:string', 'b:string', 'c:string']);
    // an integer that is not a double is still a bigint without a float beside it
    expect(types('b\n9007199254740993\n2\n')).toEqual(['b:int']);
    // 15 significant digits or fewer, or more that a double prints back as written: float
    expect(types('a,b,c,d,e\n123456789012345.6,0.30000000000000004,1.10000000000000000000,-1.7976931348623157e308,000000000000000001.5\n1,2,3,4,5\n')).toEqual(['a:float', 'b:float', 'c:float', 'd:float', 'e:float']);
    expect(types('a\n12345678901234567.89\n1.5\n')).toEqual(['a:string']);
    expect(types('a\n-12345678901234567890123456789e-20\n')).toEqual(['a:string']);
  });
  it("column_types numeric (or decimal, bignumeric) without a precision, which loads as a double, refuses at its line a value a double does not hold as written, where dbt's numeric keeps it exact (was: 1.234567890123456789 loaded as 1.2345678901234567 without a word); float and double still round, as asked", () => {
    const r = parseSeed('id,v\n1,0.1\n2,1.234567890123456789\n', { column_types: { v: 'numeric' } });
    expect(r).toEqual([expect.objectContaining({ line: 3, column: 2, message: expect.stringMatching(/^column 'v' is numeric \(column_types\), loaded as a double, but this row has '1\.234567890123456789', which a double holds as 1\.2345678901234567/), hint: expect.stringMatching(/decimal\(p,s\)/) })]);
    for (const spelled of ['DECIMAL', 'bignumeric', ' numeric ']) expect(Array.isArray(parseSeed('v\n9007199254740993\n', { column_types: { v: spelled } })), spelled).toBe(true);
    // what a double holds is loaded: 15 digits, or more it prints back as written
    const ok = parseSeed('v\n0.1\n123456789012345\n0.30000000000000004\n1e300\n', { column_types: { v: 'numeric' } });
    if (Array.isArray(ok)) throw new Error(JSON.stringify(ok));
    expect(ok.columns).toEqual([{ name: 'v', type: 'float' }]);
    // a double asked for by name rounds, as the warehouse does; a precision loads it exact
    for (const spelled of ['double', 'float', 'decimal(38,18)']) expect(Array.isArray(parseSeed('v\n1.234567890123456789\n', { column_types: { v: spelled } })), spelled).toBe(false);
  });
  it('a value below the normal doubles (under 2.2e-308) keeps fewer digits than 15: numeric without precision refuses it, an untyped column holding it is text (was: 1.23456e-320 loaded as 1.2346e-320 and 2.5e-324 as 5e-324, without a word)', () => {
    for (const v of ['1.23456e-320', '2.5e-324', '4.9e-324', `0.${'0'.repeat(320)}123456`]) {
      const r = parseSeed(`v\n${v}\n`, { column_types: { v: 'numeric' } });
      expect(r, v).toEqual([expect.objectContaining({ line: 2, column: 1, message: expect.stringMatching(/loaded as a double, but this row has/) })]);
      const inferred = parseSeed(`v\n${v}\n1.5\n`);
      if (Array.isArray(inferred)) throw new Error(JSON.stringify(inferred));
      expect(inferred.columns, v).toEqual([{ name: 'v', type: 'string' }]);
    }
    // what a double below 2.2e-308 prints back as written is kept, and so are normal ones of 15 digits
    const ok = parseSeed('v\n5e-324\n1.5e-320\n2.2250738585072014e-308\n-0.1234567890123\n0.1\n000000000000000001.5\n0e-400\n', { column_types: { v: 'numeric' } });
    if (Array.isArray(ok)) throw new Error(JSON.stringify(ok));
    expect(ok.columns).toEqual([{ name: 'v', type: 'float' }]);
  });
  it('an impossible date is not a date; a column with no values is a string', () => {
    const r = parseSeed('d,e\n2021-02-29,\n');
    if (Array.isArray(r)) throw new Error(JSON.stringify(r));
    expect(r.columns.map((c) => c.type)).toEqual(['string', 'string']);
  });
  it('quote_columns: true keeps header names as written; false lower-cases them', () => {
    const r = parseSeed('First Name,ID\nx,1\n', { quote_columns: true });
    if (Array.isArray(r)) throw new Error(JSON.stringify(r));
    expect(r.columns.map((c) => c.name)).toEqual(['First Name', 'ID']);
    const lower = parseSeed('First_Name,ID\nx,1\n');
    if (Array.isArray(lower)) throw new Error(JSON.stringify(lower));
    expect(lower.columns.map((c) => c.name)).toEqual(['first_name', 'id']);
    // two names that differ only in case are one column to DuckDB and BigQuery, quoted or not
    // (was: passed the check, then the load failed "Column with name A already exists" with no line)
    expect(parseSeed('a,A\n1,2\n', { quote_columns: true })).toEqual([{ line: 1, column: 2, message: "column 'A' differs from column 1 ('a') only in case: DuckDB and BigQuery take them for one column, quoted or not", hint: 'rename one of them' }]);
  });
  it('values some reader would take differently are rewritten to one form: +1, .5, a timestamp without seconds or with +0200, "" in a number column, CRLF, a blank line', () => {
    const text = 'a,b,c,d\r\n+1,.5,2020-01-01 10:00,""\r\n\r\n2,5.,2020-01-01T10:00:00+0200,7\r\n';
    const r = parseSeed(text);
    if (Array.isArray(r)) throw new Error(JSON.stringify(r));
    expect(r.columns.map((c) => c.type)).toEqual(['int', 'float', 'timestamp', 'int']);
    expect(r.asIs).toBe(false);
    const dir = project();
    const how = loadFileFor(r, text, 'x.csv', join(dir, 'out.csv'));
    expect(how).toEqual({ file: join(dir, 'out.csv'), header: false, delimiter: ',' });
    expect(readFileSync(how.file, 'utf8')).toBe('1,0.5,2020-01-01T10:00:00Z,\n2,5,2020-01-01T10:00:00+02:00,7\n');
  });
  it('a CRLF file with a CRLF inside a quoted field loads, the field as written (was: DuckDB took the quoted CRLF for the line ending and failed)', () => {
    const dir = project({ 'seeds/notes.csv': 'id,note\r\n1,"multi\r\nline"\r\n2,x\r\n' });
    const s = vigil(dir, ['seed', '-s', 'notes']);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const rows = vigil(dir, ['show', '--inline', "select id, replace(replace(note, chr(13), '<CR>'), chr(10), '<LF>') as note from {{ ref('notes') }} order by id", '--output', 'csv']);
    expect(rows.stdout).toBe('id,note\n1,multi<CR><LF>line\n2,x\n');
  });
  it('line endings: CRLF throughout loads as it is where the bulk load reads CRLF (DuckDB, Postgres), else it is rewritten, its quoted line breaks as written; LF and CRLF mixed, or a lone CR, is rewritten everywhere', () => {
    const text = 'a,b\r\n1,"x\r\ny"\r\n2,"p\nq"\r\n';
    const r = parseSeed(text);
    if (Array.isArray(r)) throw new Error(JSON.stringify(r));
    expect({ asIs: r.asIs, newline: r.newline }).toEqual({ asIs: true, newline: '\r\n' });
    const dir = project();
    expect(loadFileFor(r, text, 'x.csv', join(dir, 'out.csv'), ',', true)).toEqual({ file: 'x.csv', header: true, delimiter: ',', newline: '\r\n' });
    const how = loadFileFor(r, text, 'x.csv', join(dir, 'out.csv'), ',', false);
    expect(how).toEqual({ file: join(dir, 'out.csv'), header: false, delimiter: ',' });
    expect(readFileSync(how.file, 'utf8')).toBe('1,"x\r\ny"\n2,"p\nq"\n');
    for (const other of ['a,b\r\n1,2\n3,4\r\n', 'a,b\n1,2\r\n', 'a,b\r1,2\r']) {
      const o = parseSeed(other);
      if (Array.isArray(o)) throw new Error(JSON.stringify(o));
      expect(o.asIs, JSON.stringify(other)).toBe(false);
    }
    // a blank line before the header: rewritten (a reader told of a header would take the blank line for it)
    const blank = parseSeed('\nid,name\n1,a\n');
    if (Array.isArray(blank)) throw new Error(JSON.stringify(blank));
    expect({ asIs: blank.asIs, columns: blank.columns.map((c) => `${c.name}:${c.type}`), rows: blank.rows }).toEqual({ asIs: false, columns: ['id:int', 'name:string'], rows: 1 });
    expect(readFileSync(loadFileFor(blank, '\nid,name\n1,a\n', 'x.csv', join(dir, 'blank.csv')).file, 'utf8')).toBe('1,a\n');
  });
  it("a record that is \\. alone (a one-column seed holding the text \\.) is rewritten with it quoted: Postgres before 18 reads an unquoted \\. line as COPY's end of data and drops every row after it (was: loaded as it is)", () => {
    const text = 'v\na\n\\.\nb\n';
    const r = parseSeed(text);
    if (Array.isArray(r)) throw new Error(JSON.stringify(r));
    expect({ asIs: r.asIs, rows: r.rows, columns: r.columns }).toEqual({ asIs: false, rows: 3, columns: [{ name: 'v', type: 'string' }] });
    const dir = project();
    const how = loadFileFor(r, text, 'x.csv', join(dir, 'eod.csv'), ',', true);
    expect(readFileSync(how.file, 'utf8')).toBe('a\n"\\."\nb\n');
    // \. beside other fields, or inside other text, is no end of data: as it is
    for (const other of ['a,b\n1,\\.\n2,x\n', 'v\nx\\.\n\\.x\n']) {
      const o = parseSeed(other);
      if (Array.isArray(o)) throw new Error(JSON.stringify(o));
      expect(o.asIs, JSON.stringify(other)).toBe(true);
    }
  });
  it("a header that is one name holding ';', a tab or '|' says to set delimiter: (a spreadsheet's ';' CSV), not to keep the name with quote_columns (was: the hint led to a one-column table of '1;2' texts)", () => {
    expect(parseSeed('a;b\n1;2\n')).toEqual([expect.objectContaining({ line: 1, column: 1, message: "column name 'a;b' is not a plain identifier", hint: 'the header is one column holding \';\': if the file\'s fields are separated by it, set delimiter: ";" in the seed\'s config' })]);
    expect(parseSeed('a\tb\n1\t2\n')).toEqual([expect.objectContaining({ hint: expect.stringContaining('set delimiter: "\\t"') })]);
    // a name that is not an identifier among others: rename it, or quote_columns
    expect(parseSeed('id,a;b\n1,2\n')).toEqual([expect.objectContaining({ hint: expect.stringMatching(/^rename it/) })]);
  });
  it("a delimiter: set on a comma-separated file (a header that is one name holding ',') hints to the comma, not to quote_columns (was: 'set quote_columns: true', which loads the file as one text column of '1,a')", () => {
    expect(parseSeed('id,name\n1,a\n', { delimiter: ';' })).toEqual([expect.objectContaining({ line: 1, column: 1, hint: expect.stringMatching(/^the header is one column holding ',': .*set delimiter: "," \(the default: or drop delimiter:\)/) })]);
    expect(parseSeed('id,name\n1,a\n', { delimiter: '|' })).toEqual([expect.objectContaining({ hint: expect.stringContaining('holding \',\'') })]);
  });
  it('lines are counted through quoted line breaks', () => {
    const r = parseSeed('a,b\n"x\ny",1\n"p",2,3\n');
    expect(r).toEqual([expect.objectContaining({ line: 4, message: 'a ragged row: 3 fields where the header has 2' })]);
  });
});

describe('quote_columns: true: the tests of its columns read them as the header spells them', () => {
  // (was: written unquoted, `where my col is null` failed at run with a parser error, `a.b` read
  // a table `a`, and on Postgres `Revenue` was `revenue`, which the table has not; the key word
  // `ORDER` was quoted in lower case, another column on Postgres)
  const files = {
    'seeds/hostile.csv': 'ORDER,Revenue,my col,it\'s,"a""b",a.b,café\n1,10,c1,q1,ab1,d1,x\n2,,c2,q2,ab1,d2,\n',
    'seeds/hostile.yml': `seeds:
  - name: hostile
    config: { quote_columns: true }
    columns:
      - name: ORDER
        tests: [unique, not_null]
      - name: Revenue
        tests: [not_null]
      - name: "my col"
        tests: [unique, not_null]
      - name: "it's"
        tests: [not_null]
      - name: "a\\"b"
        tests: [unique]
      - name: "a.b"
        tests:
          - accepted_values: { values: [d1, d2] }
      - name: "café"
        tests:
          - not_null: { name: cafe_not_null }
`,
  };
  const expectTests = (out: string) => {
    for (const t of ['unique_hostile_ORDER', 'not_null_hostile_ORDER', 'unique_hostile_my_col', 'not_null_hostile_my_col', 'not_null_hostile_it_s', 'accepted_values_hostile_a_b']) expect(out).toMatch(new RegExp(`PASS ${t} `));
    // the NULLs the CSV holds are found: the tests read these very columns
    expect(out).toMatch(/FAIL 1 not_null_hostile_Revenue /);
    expect(out).toMatch(/FAIL 1 unique_hostile_a_b /);
    expect(out).toMatch(/FAIL 1 cafe_not_null /);
    expect(out).not.toMatch(/\d+ of \d+ ERROR /);
    expect(out).toMatch(/OK=7 WARN=0 ERROR=3 /);
  };
  it('DuckDB', () => {
    const dir = makeProject({ 'project.yaml': BASIC_PROJECT_YAML, ...files });
    dirs.push(dir);
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(1);
    expectTests(b.stdout);
  });
  it('Postgres', () => {
    const schema = uniqueSchema('seed_quoted');
    const dir = makeProject({ 'project.yaml': pgProjectYaml(schema), ...files });
    dirs.push(dir);
    const b = vigil(dir, ['build'], { VIGIL_TEST_PG_URL: inject('pgUrl') });
    expect(b.code, b.stdout + b.stderr).toBe(1);
    expectTests(b.stdout);
  });
});
