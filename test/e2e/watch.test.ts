/**
 * `vigil build --watch` / `vigil compile --watch` as a user runs them: the first build, then a
 * change to one model rebuilds it and what depends on it (not the rest), a broken model is
 * reported at file:line while the process goes on, the fix rebuilds, a new model file is
 * picked up, and Ctrl-C ends it with exit 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASIC_PROJECT_YAML, makeProject, removeDir, vigil, VIGIL } from '../helpers.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  dirs.forEach(removeDir);
});

function start(dir: string, args: string[]) {
  const child = spawn(process.execPath, [VIGIL, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? 128 : -1))));
  return { child, log: () => text, exited };
}

async function until(log: () => string, from: number, re: RegExp, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const part = log().slice(from);
    if (re.test(part)) return part;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; log:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('--watch', () => {
  it('build --watch rebuilds what changed and its children; errors do not end it', async () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id\n',
      'models/b.sql': "select id, id * 2 as twice from {{ ref('a') }}\n",
      'models/c.sql': "select {{ var('v', 3) }} as other\n",
      // its SQL differs on every compile: not a change (watch would rebuild it on every save)
      'models/vol.sql': "select '{{ run_started_at }}' as at\n",
      // (a test whose argument reads invocation_id: the same, was run again on every change)
      'models/schema.yml': "models:\n  - name: b\n    columns:\n      - name: id\n        tests: [not_null]\n  - name: vol\n    columns:\n      - name: at\n        tests: [{ not_null: { config: { where: \"'{{ invocation_id }}' is not null\" } } }]\n",
      'macros/util.sql': '{% macro noop() %}{% endmacro %}\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    let mark = 0;
    const first = await until(w.log, mark, /watching \. for changes/);
    expect(first).toMatch(/4 models, 2 tests/);
    expect(first).toMatch(/ERROR=0 SKIP=0 TOTAL=6/);
    // one model changes: it and its child (and the child's test) are built, c is not
    mark = w.log().length;
    writeFileSync(join(dir, 'models/a.sql'), 'select 2 as id\n');
    const second = await until(w.log, mark, /Finished \d+ nodes/);
    expect(second).toMatch(/models\/a\.sql changed: compiled 4 models in \d+ ms/);
    expect(second).not.toMatch(/analytics\.vol\b/);
    expect(second).not.toMatch(/not_null_vol_at/);
    expect(second).toMatch(/analytics\.a\b/);
    expect(second).toMatch(/analytics\.b\b/);
    expect(second).not.toMatch(/analytics\.c\b/);
    expect(second).toMatch(/TOTAL=3/);
    const manifest = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    expect(manifest.nodes['model.fixture.a'].compiled_sql).toBe('select 2 as id');
    // a broken model: shown at its line; the process goes on
    mark = w.log().length;
    writeFileSync(join(dir, 'models/b.sql'), "select id from {{ ref('aa') }}\n");
    const broken = await until(w.log, mark, /the last good manifest stays; watching for changes/);
    expect(broken).toMatch(/models\/b\.sql:1:\d+: .*'aa'.*did you mean 'a'/);
    expect(w.child.exitCode).toBeNull();
    // fixed, and a new file: both compiled, the new model built
    mark = w.log().length;
    writeFileSync(join(dir, 'models/b.sql'), "select id, id * 3 as thrice from {{ ref('a') }}\n");
    writeFileSync(join(dir, 'models/d.sql'), "select * from {{ ref('c') }}\n");
    const fixed = await until(w.log, mark, /Finished \d+ nodes/);
    expect(fixed).toMatch(/compiled 5 models/);
    expect(w.log().slice(mark)).toMatch(/OK created view analytics\.d\b/);
    // a var in project.yaml: the model whose SQL it changes is rebuilt (its file did not change), and its child
    mark = w.log().length;
    writeFileSync(join(dir, 'project.yaml'), `${readFileSync(join(dir, 'project.yaml'), 'utf8')}vars:\n  v: 9\n`);
    // (this change's own round: a round for d.sql alone may come first, when its save was seen apart)
    const byVar = await until(w.log, mark, /project\.yaml changed[\s\S]*(Finished \d+ nodes|nothing to build)/);
    expect(byVar).toMatch(/analytics\.c\b/);
    expect(byVar).toMatch(/analytics\.d\b/);
    expect(byVar).not.toMatch(/analytics\.a\b/);
    expect(byVar).not.toMatch(/analytics\.vol\b/);
    // a generate_schema_name macro moves every table (no model's SQL changed): each is built where it now goes
    mark = w.log().length;
    writeFileSync(join(dir, 'macros/naming.sql'), "{% macro generate_schema_name(custom_schema_name, node) -%}\nmoved\n{%- endmacro %}\n");
    const moved = await until(w.log, mark, /macros\/naming\.sql changed[\s\S]*(Finished \d+ nodes|nothing to build)/);
    for (const m of ['a', 'b', 'c', 'd']) expect(moved).toMatch(new RegExp(`OK created view moved\\.${m}\\b`));
    expect(moved).toMatch(/ERROR=0/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    expect(w.log()).toMatch(/stopped watching/);
    expect(w.log()).not.toMatch(/\n\s+at /);
  });

  it('what a failed test held back is built once a change makes the test pass (was: only the test ran again, the table stayed stale)', async () => {
    const dir = makeProject({
      'models/c.sql': 'select 2 as two\n',
      'models/e.sql': "{{ config(materialized='table') }}\nselect 42 as answer, * from {{ ref('c') }}\n",
      'models/schema.yml': 'models:\n  - name: c\n    columns:\n      - name: two\n        tests: [{ accepted_values: { values: [2], quote: false } }]\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    let mark = w.log().length;
    writeFileSync(join(dir, 'models/c.sql'), 'select 9 as two\n');
    const failed = await until(w.log, mark, /Finished \d+ nodes/);
    expect(failed).toMatch(/FAIL 1 accepted_values_c_two/);
    expect(failed).toMatch(/SKIP table analytics\.e/);
    mark = w.log().length;
    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: c\n    columns:\n      - name: two\n        tests: [{ accepted_values: { values: [9], quote: false } }]\n');
    const fixed = await until(w.log, mark, /Finished \d+ nodes/);
    expect(fixed).toMatch(/PASS accepted_values_c_two/);
    expect(fixed).toMatch(/OK created table analytics\.e\b/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('a model named as a folder is rebuilt alone: when it failed before, and when it changed (was: its bare name, an fqn too, took every model of models/<name>/ with it)', async () => {
    const dir = makeProject({
      'models/marts.sql': 'select no_such_column from {{ ref(\'other\') }}\n',
      'models/marts/a.sql': "{{ config(materialized='table') }}\nselect 1 as x\n",
      'models/other.sql': 'select 1 as id\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    expect(w.log()).toMatch(/ERROR creating view analytics\.marts/);
    let mark = w.log().length;
    // an unrelated change: the failed model runs again, the folder of its name does not
    writeFileSync(join(dir, 'models/other.sql'), 'select 2 as id\n');
    const again = await until(w.log, mark, /Finished \d+ nodes?/);
    expect(again).toMatch(/OK created view analytics\.other/);
    expect(again).toMatch(/ERROR creating view analytics\.marts/);
    expect(again).not.toMatch(/analytics\.a\b/);
    mark = w.log().length;
    // the model itself fixed: it alone
    writeFileSync(join(dir, 'models/marts.sql'), "select id from {{ ref('other') }}\n");
    const fixed = await until(w.log, mark, /Finished \d+ nodes?/);
    expect(fixed).toMatch(/OK created view analytics\.marts/);
    expect(fixed).not.toMatch(/analytics\.a\b/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('a change whose run could not start (the DuckDB file held by another process) is built with the next change (was: dropped, the table stayed stale)', async () => {
    const dir = makeProject({
      'models/contacts.sql': "{{ config(materialized='table') }}\nselect 'Ann' as name\n",
      'models/safe.sql': 'select 1 as id\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    // another process holds the file (DuckDB allows one writer) while contacts.sql changes
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; const db = await DuckDBInstance.create(${JSON.stringify(join(dir, '.vigil/dev.duckdb'))}); console.log('held'); setInterval(() => db, 1000);`], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
    let mark = w.log().length;
    writeFileSync(join(dir, 'models/contacts.sql'), "{{ config(materialized='table') }}\nselect lower('Ann') as name\n");
    const busy = await until(w.log, mark, /is in use by another process.*; watching for changes/);
    expect(busy).not.toMatch(/OK created/);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    // the next change: contacts gets its edit with it
    mark = w.log().length;
    writeFileSync(join(dir, 'models/safe.sql'), 'select 2 as id\n');
    const next = await until(w.log, mark, /Finished \d+ nodes?/);
    expect(next).toMatch(/OK created table analytics\.contacts\b/);
    expect(next).toMatch(/OK created view analytics\.safe\b/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('the PII check refuses a change: nothing written or run, the last good manifest stays; the fix builds what changed meanwhile (was: build --watch wrote the manifest and dropped the other edit)', async () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,name,email\n1,Ann,a@x.com\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n',
      'models/contacts.sql': "{{ config(materialized='table') }}\nselect id, name from {{ ref('people') }}\n",
      'models/safe.sql': "select id from {{ ref('people') }}\n",
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    const manifest = () => readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    const compiled = () => readFileSync(join(dir, 'target/compiled/fixture/models/safe.sql'), 'utf8');
    const [before, safeBefore] = [manifest(), compiled()];
    let mark = w.log().length;
    writeFileSync(join(dir, 'models/safe.sql'), "select id, email as leaked from {{ ref('people') }}\n");
    const refused = await until(w.log, mark, /the last good manifest stays; watching for changes/);
    expect(refused).toMatch(/models\/safe\.sql:1:\d+: error: column 'leaked' of model 'safe' publishes PII unmasked: it is a copy of people\.email \[E_PII\]/);
    expect(refused).not.toMatch(/build: target|compiled \d+ models?/);
    expect(manifest()).toBe(before);
    expect(compiled()).toBe(safeBefore);
    // contacts changes while safe still leaks: refused too
    mark = w.log().length;
    writeFileSync(join(dir, 'models/contacts.sql'), "{{ config(materialized='table') }}\nselect id, lower(name) as name from {{ ref('people') }}\n");
    await until(w.log, mark, /the last good manifest stays; watching for changes/);
    // the fix: both edits are built
    mark = w.log().length;
    writeFileSync(join(dir, 'models/safe.sql'), "select id, 1 as one from {{ ref('people') }}\n");
    const fixed = await until(w.log, mark, /Finished \d+ nodes?/);
    expect(fixed).toMatch(/OK created table analytics\.contacts\b/);
    expect(fixed).toMatch(/OK created view analytics\.safe\b/);
    expect(JSON.parse(manifest()).nodes['model.fixture.safe'].compiled_sql).toContain('1 as one');
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    expect(w.log()).not.toMatch(/\n\s+at /);
  });

  it('compile --watch runs the PII check as vigil compile does, and writes nothing it refuses (was: compiled and wrote the manifest, no error)', async () => {
    const dir = makeProject({
      'seeds/people.csv': 'id,name,email\n1,Ann,a@x.com\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n',
      'models/safe.sql': "select id, name, email as leaked from {{ ref('people') }}\n",
    });
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch']);
    const first = await until(w.log, 0, /watching \. for changes/);
    expect(first).toMatch(/models\/safe\.sql:1:\d+: error: column 'leaked' of model 'safe' publishes PII unmasked: it is a copy of people\.email \[E_PII\]/);
    expect(first).toMatch(/1 error: the last good manifest stays/);
    expect(first).not.toMatch(/compiled \d+ models?/);
    expect(existsSync(join(dir, 'target/manifest.json'))).toBe(false);
    let mark = w.log().length;
    writeFileSync(join(dir, 'models/safe.sql'), "select id, name from {{ ref('people') }}\n");
    await until(w.log, mark, /models\/safe\.sql changed: compiled 1 model/);
    expect(readFileSync(join(dir, 'target/compiled/fixture/models/safe.sql'), 'utf8')).not.toContain('email');
    const good = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    // leaking again (an edit the last compile is patched with): refused, the manifest stays
    mark = w.log().length;
    writeFileSync(join(dir, 'models/safe.sql'), "select id, name, email as leaked from {{ ref('people') }}\n");
    await until(w.log, mark, /\[E_PII\][\s\S]*the last good manifest stays/);
    expect(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).toBe(good);
    expect(readFileSync(join(dir, 'target/compiled/fixture/models/safe.sql'), 'utf8')).not.toContain('email');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('compile --watch writes the manifest after each change; --watch refuses flags it cannot honour', async () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n' });
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching/);
    const mark = w.log().length;
    writeFileSync(join(dir, 'models/a.sql'), 'select 42 as id\n');
    await until(w.log, mark, /models\/a\.sql changed: compiled 1 model in \d+ ms \(\d+ ms after the change\), 1 compiled file rewritten/);
    expect(readFileSync(join(dir, 'target/compiled/fixture/models/a.sql'), 'utf8')).toBe('select 42 as id\n');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const bad = start(dir, ['build', '--watch', '--dry-run']);
    expect(await bad.exited).toBe(2);
    expect(bad.log()).toMatch(/--watch does not combine with --dry-run/);
  });

  it('a mistake of the command line is exit 2 in the first round, for compile --watch too (was: compile --watch -s nope watched; -t nope and a --vars key nothing reads were printed and watched)', async () => {
    const dir = makeProject({ 'models/a.sql': "select {{ var('n', 1) }} as id\n" });
    dirs.push(dir);
    const cases: Array<[string[], RegExp]> = [
      [['compile', '--watch', '-s', 'nope'], /selector 'nope' matched nothing/],
      [['compile', '--watch', '-s', 'a', '--exclude', 'a'], /selector 'a'/],
      [['compile', '--watch', '--state', join(dir, 'no-such-state')], /--watch does not combine with --state/],
      [['compile', '--watch', '-t', 'nope'], /target 'nope' is not defined in project\.yaml/],
      [['build', '--watch', '-t', 'nope'], /target 'nope' is not defined in project\.yaml/],
      [['compile', '--watch', '--vars', '{m: 2}'], /--vars: 'm' is read by no model/],
      [['build', '--watch', '--vars', '{m: 2}'], /--vars: 'm' is read by no model/],
    ];
    for (const [args, says] of cases) {
      const w = start(dir, args);
      expect(await w.exited, `${args.join(' ')}: ${w.log()}`).toBe(2);
      expect(w.log()).toMatch(says);
      expect(w.log()).not.toMatch(/watching/);
    }
    // after the first round a selector that an edit empties is said, and the watcher goes on
    const w = start(dir, ['compile', '--watch', '-s', 'a']);
    await until(w.log, 0, /watching/);
    let mark = w.log().length;
    renameSync(join(dir, 'models/a.sql'), join(dir, 'models/b.sql'));
    await until(w.log, mark, /selector 'a' matched nothing.*watching for changes/s);
    mark = w.log().length;
    renameSync(join(dir, 'models/b.sql'), join(dir, 'models/a.sql'));
    await until(w.log, mark, /changed: compiled 1 model/);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it("compile --watch writes again a compiled file deleted while it watches, of a model that did not change (was: left missing)", async () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n', 'models/b.sql': 'select 2 as id\n' });
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching/);
    rmSync(join(dir, 'target/compiled/fixture/models/b.sql'));
    const mark = w.log().length;
    writeFileSync(join(dir, 'models/a.sql'), 'select 42 as id\n');
    await until(w.log, mark, /models\/a\.sql changed: compiled \d+ models? in \d+ ms \(\d+ ms after the change\), 2 compiled files rewritten/);
    expect(readFileSync(join(dir, 'target/compiled/fixture/models/b.sql'), 'utf8')).toBe('select 2 as id\n');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });
  it('a file an editor saves by renaming a copy over it stays watched (each later edit is seen)', async () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n' });
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching/);
    const compiled = () => readFileSync(join(dir, 'target/compiled/fixture/models/a.sql'), 'utf8');
    for (const [i, how] of (['rename', 'write', 'rename', 'write'] as const).entries()) {
      const mark = w.log().length;
      const text = `select ${i + 2} as id\n`;
      if (how === 'rename') {
        writeFileSync(join(dir, 'models/.a.sql.swp-copy'), text);
        renameSync(join(dir, 'models/.a.sql.swp-copy'), join(dir, 'models/a.sql'));
      } else writeFileSync(join(dir, 'models/a.sql'), text);
      // (the copy may be named in the same line: the watcher coalesces a burst of events)
      await until(w.log, mark, /models\/a\.sql[^\n]* changed: compiled 1 model/, 15_000);
      // (a late event of the last save may be the one logged: the edit must be compiled soon after)
      for (const deadline = Date.now() + 15_000; compiled() !== text && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
      expect(compiled(), `${how} ${i}`).toBe(text);
    }
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('two saves 30 ms apart: the last one is compiled, every time (was: chokidar dropped the second save, the manifest kept the first until a later edit)', async () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as n\n' });
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching/);
    const model = join(dir, 'models/a.sql');
    const compiled = () => readFileSync(join(dir, 'target/compiled/fixture/models/a.sql'), 'utf8');
    const manifest = () => {
      try {
        return JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).nodes['model.fixture.a'].compiled_sql as string;
      } catch {
        return undefined; // (being written)
      }
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // each way 10 times: a plain save then a plain one, or a save by renaming a copy over the file
    for (const [i, how] of Array.from({ length: 10 }, (_, i) => [i, i % 2 ? 'rename' : 'write'] as const)) {
      const text = (k: number) => `select ${100 + i} * ${k} as n\n`;
      writeFileSync(model, text(1));
      await sleep(30);
      if (how === 'rename') {
        writeFileSync(join(dir, 'models/.a.sql.swp-copy'), text(2));
        renameSync(join(dir, 'models/.a.sql.swp-copy'), model);
      } else writeFileSync(model, text(2));
      // (the first save may be compiled on its own first: the last one must follow)
      for (const deadline = Date.now() + 5_000; (compiled() !== text(2) || manifest() !== text(2).trimEnd()) && Date.now() < deadline; ) await sleep(50);
      expect(compiled(), `${how} ${i}`).toBe(text(2));
      expect(manifest(), `${how} ${i}`).toBe(text(2).trimEnd());
    }
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('a file saved while a build runs is compiled and built when that build ends', async () => {
    const dir = makeProject({
      // (a model that takes a moment, so the save lands inside the first build)
      'models/slow.sql': "{{ config(materialized='table') }}\nselect count(*) as n from range(300000000)\n",
      'models/a.sql': 'select 1 as id\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch', '--threads', '1']);
    await until(w.log, 0, /build: target dev/);
    writeFileSync(join(dir, 'models/a.sql'), 'select 2 as id\n');
    const later = await until(w.log, 0, /models\/a\.sql changed: compiled 2 models[\s\S]*Finished 1 node/);
    // after the first build: the save was neither lost nor built in the middle of it
    expect(later).toMatch(/Finished 2 nodes[\s\S]*watching \. for changes[\s\S]*models\/a\.sql changed: compiled 2 models[\s\S]*OK created view analytics\.a/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('Ctrl-C as a change is compiled: no node starts after it, exit 130 (was: lost before the run listened, the whole build ran, exit 0)', async () => {
    const dir = makeProject({
      // (each takes a moment: the Ctrl-C, sent when the change is seen compiled, lands before the last starts)
      'models/slow1.sql': "{{ config(materialized='table') }}\nselect sum(hash(i)) as n from range(100000000) as t(i)\n",
      'models/slow2.sql': "{{ config(materialized='table') }}\nselect n + sum(hash(i)) as n from {{ ref('slow1') }}, range(100000000) as t(i) group by n\n",
      'models/slow3.sql': "{{ config(materialized='table') }}\nselect n from {{ ref('slow2') }}\n",
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch', '--threads', '1']);
    await until(w.log, 0, /watching \. for changes/, 60_000);
    const mark = w.log().length;
    writeFileSync(join(dir, 'models/slow1.sql'), "{{ config(materialized='table') }}\nselect sum(hash(i)) + 1 as n from range(100000000) as t(i)\n");
    // the moment the change is compiled, before (or as) the run starts
    await until(w.log, mark, /models\/slow1\.sql changed: compiled 3 models/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(130);
    const after = w.log().slice(mark);
    expect(after).not.toMatch(/OK created table analytics\.slow3/);
    expect(after).toMatch(/stopped watching/);
  });
});

/** Waits until `read()` gives `want` (an edit shows in a file the watcher writes); what it last gave. */
async function eventually(read: () => string, want: string, ms = 15_000): Promise<string> {
  let got = read();
  for (const deadline = Date.now() + ms; got !== want && Date.now() < deadline; got = read()) await new Promise((r) => setTimeout(r, 100));
  return got;
}

describe('--watch acts on every change as a full compile would', () => {
  it("an edit of a unit test's fixture CSV runs the unit test again, and the manifest is vigil compile's (was: 'nothing to test: no node changed', the manifest stale)", async () => {
    const dir = makeProject({
      'models/stg.sql': "select 1 as id, 'ok' as status\n",
      'models/statuses.sql': "select status from {{ ref('stg') }}\n",
      'tests/unit/u.yml': "unit_tests:\n  - name: statuses_pass_through\n    model: statuses\n    given:\n      - input: ref('stg')\n        fixture: tests/unit/fixtures/stg.csv\n    expect:\n      rows:\n        - { status: ok }\n",
      'tests/unit/fixtures/stg.csv': 'id,status\n1,ok\n',
    });
    dirs.push(dir);
    const w = start(dir, ['test', '--watch']);
    const first = await until(w.log, 0, /watching \. for changes/);
    expect(first).toMatch(/PASS unit statuses::statuses_pass_through/);
    const mark = w.log().length;
    writeFileSync(join(dir, 'tests/unit/fixtures/stg.csv'), 'id,status\n1,bad\n');
    const again = await until(w.log, mark, /fixtures\/stg\.csv[^\n]* changed[\s\S]*(Finished \d+ nodes?|nothing to test)/);
    expect(again).toMatch(/FAIL unit statuses::statuses_pass_through/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    const watched = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    expect(vigil(dir, ['compile']).code).toBe(0);
    expect(watched).toBe(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
  });

  it("a unit test runs again only when something it reads changed, not with every full compile (was: the run's typed givens made its SQL differ from the next compile's every round)", async () => {
    const dir = makeProject({
      'models/stg.sql': "select 1 as id, 'ok' as status\n",
      'models/m_c.sql': "select status, id from {{ ref('stg') }}\n",
      'models/other.sql': 'select 2 as other\n',
      'models/schema.yml': 'models:\n  - name: other\n',
      'tests/unit/u.yml': "unit_tests:\n  - name: passes\n    model: m_c\n    given:\n      - input: ref('stg')\n        fixture: tests/unit/fixtures/stg.csv\n    expect:\n      rows:\n        - { status: ok, id: 1 }\n",
      'tests/unit/fixtures/stg.csv': 'id,status\n1,ok\n',
    });
    dirs.push(dir);
    // (built once: the givens are typed from stg as the warehouse has it, cast(... as BIGINT))
    const once = vigil(dir, ['build']);
    expect(once.code, once.stderr).toBe(0);
    const w = start(dir, ['build', '--watch']);
    expect(await until(w.log, 0, /watching \. for changes/)).toMatch(/PASS unit m_c::passes/);
    const yml = readFileSync(join(dir, 'models/schema.yml'), 'utf8');
    // another model's config: it is built, the unit test is not run
    for (const materialized of ['table', 'view']) {
      const mark = w.log().length;
      writeFileSync(join(dir, 'models/schema.yml'), `${yml}    config:\n      materialized: ${materialized}\n`);
      const round = await until(w.log, mark, /schema\.yml changed[\s\S]*(Finished \d+ nodes?|nothing to build)/);
      expect(round).toMatch(new RegExp(`OK created ${materialized} analytics\\.other\\b`));
      expect(round).not.toMatch(/unit m_c::passes/);
    }
    // a YAML file broken, then restored byte for byte: nothing changed
    let mark = w.log().length;
    writeFileSync(join(dir, 'models/schema.yml'), 'models:\n  - name: [\n');
    await until(w.log, mark, /the last good manifest stays/);
    mark = w.log().length;
    writeFileSync(join(dir, 'models/schema.yml'), `${yml}    config:\n      materialized: view\n`);
    const restored = await until(w.log, mark, /schema\.yml changed[\s\S]*(Finished \d+ nodes?|nothing to build)/);
    expect(restored).toMatch(/nothing to build: no node changed/);
    // what it reads changed (its fixture): it runs
    mark = w.log().length;
    writeFileSync(join(dir, 'tests/unit/fixtures/stg.csv'), 'id,status\n2,ok\n');
    expect(await until(w.log, mark, /stg\.csv[^\n]* changed[\s\S]*(Finished \d+ nodes?|nothing to build)/)).toMatch(/FAIL unit m_c::passes/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('a project.yaml var read by a singular test or a snapshot runs them again (was: only models were compared)', async () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\nvars:\n  lim: 5\n',
      'models/m.sql': 'select 1 as id\n',
      'models/other.sql': 'select 2 as id\n',
      'tests/assert_lim.sql': "select * from {{ ref('m') }} where id > {{ var('lim') }}\n",
      'snapshots/snap.sql': "{% snapshot snap %}\n{{ config(strategy='check', unique_key='id', check_cols='all') }}\nselect id, {{ var('lim') }} as lim from {{ ref('other') }}\n{% endsnapshot %}\n",
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    const first = await until(w.log, 0, /watching \. for changes/);
    expect(first).toMatch(/PASS assert_lim/);
    const mark = w.log().length;
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('lim: 5', 'lim: 0'));
    const again = await until(w.log, mark, /project\.yaml changed[\s\S]*(Finished \d+ nodes?|nothing to build)/);
    expect(again).toMatch(/FAIL 1 assert_lim/);
    expect(again).toMatch(/OK snapshot [^\n]*snap\b/);
    // (what the var does not reach is not built)
    expect(again).not.toMatch(/analytics\.m\b/);
    expect(again).not.toMatch(/analytics\.other\b/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it("a project.yaml var read only by a model's hook rebuilds that model (its SQL is the same; plain state:modified leaves vars out, as dbt's: the watcher adds state:modified.vars+)", async () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\nvars:\n  hv: 5\n',
      'models/h.sql': "{{ config(materialized='table', post_hook=\"select {{ var('hv') }}\") }}\nselect 1 as id\n",
      'models/other.sql': 'select 2 as id\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    const mark = w.log().length;
    writeFileSync(join(dir, 'project.yaml'), readFileSync(join(dir, 'project.yaml'), 'utf8').replace('hv: 5', 'hv: 6'));
    const again = await until(w.log, mark, /project\.yaml changed[\s\S]*(Finished \d+ nodes?|nothing to build)/);
    expect(again).toMatch(/OK created table analytics\.h\b/);
    expect(again).not.toMatch(/analytics\.other\b/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('-s "a b" is a union within which what changed is built (was: intersected as (changed and a) or b: b built on every change)', async () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n', 'models/b.sql': 'select 2 as id\n', 'models/c.sql': 'select 3 as id\n', 'models/d.sql': 'select 4 as id\n' });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch', '-s', 'a b', '--exclude', 'c d']);
    const first = await until(w.log, 0, /watching \. for changes/);
    expect(first).toMatch(/TOTAL=2/);
    let mark = w.log().length;
    writeFileSync(join(dir, 'models/a.sql'), 'select 10 as id\n');
    const edited = await until(w.log, mark, /Finished \d+ nodes?/);
    expect(edited).toMatch(/OK created view analytics\.a\b/);
    expect(edited).not.toMatch(/analytics\.b\b/);
    mark = w.log().length;
    writeFileSync(join(dir, 'models/c.sql'), 'select 30 as id\n');
    const outside = await until(w.log, mark, /models\/c\.sql changed[\s\S]*(Finished \d+ nodes?|Nothing to do|nothing to build)/);
    expect(outside).not.toMatch(/OK created/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it("selectors.yml edited while build --watch selects with its default selector: the selection is the file's as it is now (was: the one read at the start, without a word)", async () => {
    const dir = makeProject({
      'models/a.sql': "{{ config(tags=['one']) }}\nselect 1 as id\n",
      'models/c.sql': "{{ config(tags=['two']) }}\nselect 3 as id\n",
      'selectors.yml': 'selectors:\n  - name: d\n    default: true\n    definition: tag:one\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    const first = await until(w.log, 0, /watching \. for changes/);
    expect(first).toMatch(/using the default selector 'd'/);
    expect(first).toMatch(/OK created view analytics\.a\b/);
    expect(first).not.toMatch(/analytics\.c\b/);
    let mark = w.log().length;
    writeFileSync(join(dir, 'selectors.yml'), 'selectors:\n  - name: d\n    default: true\n    definition: tag:two\n');
    expect(await until(w.log, mark, /selectors\.yml changed: selecting with selector 'd' as it is now/)).toBeTruthy();
    await until(w.log, mark, /nothing to build|Finished \d+ nodes?|Nothing to do/);
    mark = w.log().length;
    writeFileSync(join(dir, 'models/c.sql'), "{{ config(tags=['two']) }}\nselect 30 as id\n");
    const edited = await until(w.log, mark, /models\/c\.sql changed[\s\S]*(Finished \d+ nodes?|Nothing to do|nothing to build)/);
    expect(edited).toMatch(/OK created view analytics\.c\b/);
    // a selector it cannot use now: said, the selection stays
    mark = w.log().length;
    writeFileSync(join(dir, 'selectors.yml'), 'selectors:\n  - name: d\n    default: true\n    definition: {method: tga, value: two}\n');
    const broken = await until(w.log, mark, /the selection stays selector 'd' as it was/);
    expect(broken).toMatch(/selectors\.yml:4:\d+: error: unknown selector method 'tga'/);
    expect(w.child.exitCode).toBeNull();
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('flags that do not go together end --watch with exit 2 before watching (was: each round said it, nothing built, Ctrl-C exit 0)', async () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n' });
    dirs.push(dir);
    const cases: Array<[string[], RegExp]> = [
      [['build', '--watch', '--favor-state'], /--favor-state changes what --defer does/],
      [['test', '--watch', '--data', '--unit'], /--unit and --data together select nothing/],
    ];
    for (const [args, says] of cases) {
      const w = start(dir, args);
      const code = await Promise.race([w.exited, until(w.log, 0, /watching \. for changes/).then(() => 'watching')]);
      if (code === 'watching') w.child.kill('SIGKILL');
      expect(code, `${args.join(' ')}: ${w.log()}`).toBe(2);
      expect(w.log()).toMatch(says);
      expect(w.log()).not.toMatch(/\n\s+at /);
    }
  });

  it('a model file that is a symbolic link is compiled again when the file it points to changes (was: stale)', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'vigil-linked-'));
    dirs.push(elsewhere);
    writeFileSync(join(elsewhere, 'shared.sql'), 'select 1 as id\n');
    const dir = makeProject({ 'models/a.sql': 'select 1 as one\n' });
    dirs.push(dir);
    symlinkSync(join(elsewhere, 'shared.sql'), join(dir, 'models/shared.sql'));
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    const compiled = () => readFileSync(join(dir, 'target/compiled/fixture/models/shared.sql'), 'utf8');
    expect(compiled()).toBe('select 1 as id\n');
    // no round of its own for the linked file beginning to be watched (was: "changed" ~0.3 s after the start)
    await new Promise((r) => setTimeout(r, 1500));
    expect(w.log()).not.toMatch(/changed:/);
    for (const i of [2, 3]) {
      writeFileSync(join(elsewhere, 'shared.sql'), `select ${i} as id\n`);
      expect(await eventually(compiled, `select ${i} as id\n`), w.log()).toBe(`select ${i} as id\n`);
    }
    // (an editor's save: a copy renamed over the file)
    writeFileSync(join(elsewhere, 'shared.sql.tmp'), 'select 4 as id\n');
    renameSync(join(elsewhere, 'shared.sql.tmp'), join(elsewhere, 'shared.sql'));
    expect(await eventually(compiled, 'select 4 as id\n')).toBe('select 4 as id\n');
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it.each([
    ['a symbolic link to a folder outside the project', 'link'],
    ['outside the project (paths: { models: ../x })', 'paths'],
  ])('a models folder that is %s: an edit, a new model and an editor\'s save are compiled (was: nothing after "watching")', async (_what, how) => {
    const outer = mkdtempSync(join(tmpdir(), 'vigil-watch-outer-'));
    dirs.push(outer);
    mkdirSync(join(outer, 'shared'));
    writeFileSync(join(outer, 'shared/events.sql'), 'select count(*) as events\n');
    const dir = join(outer, 'p1');
    mkdirSync(join(dir, 'fixtures'), { recursive: true });
    writeFileSync(join(dir, 'project.yaml'), `${BASIC_PROJECT_YAML}${how === 'paths' ? 'paths:\n  models: ../shared\n' : ''}`);
    if (how === 'link') symlinkSync('../shared', join(dir, 'models'));
    const models = how === 'link' ? 'models' : '../shared';
    const sqlOf = (name: string) => {
      const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')) as { nodes: Record<string, { compiled_sql?: string }> };
      return m.nodes[`model.fixture.${name}`]?.compiled_sql ?? '';
    };
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    expect(sqlOf('events')).toBe('select count(*) as events');
    // edited where it is, and through the project's path to it
    writeFileSync(join(outer, 'shared/events.sql'), 'select count(1) as events\n');
    expect(await eventually(() => sqlOf('events'), 'select count(1) as events'), w.log()).toBe('select count(1) as events');
    writeFileSync(join(dir, models, 'brand_new.sql'), 'select 1 as x\n');
    expect(await eventually(() => sqlOf('brand_new'), 'select 1 as x'), w.log()).toBe('select 1 as x');
    expect(w.log()).toContain(`${models}/brand_new.sql changed`);
    // (an editor's save: a copy renamed over the file)
    writeFileSync(join(outer, 'shared/events.sql.tmp'), 'select count(2) as events\n');
    renameSync(join(outer, 'shared/events.sql.tmp'), join(outer, 'shared/events.sql'));
    expect(await eventually(() => sqlOf('events'), 'select count(2) as events'), w.log()).toBe('select count(2) as events');
    // what the project does not read is not watched: no round
    const mark = w.log().length;
    writeFileSync(join(dir, 'fixtures/notes.txt'), 'x\n');
    writeFileSync(join(outer, 'elsewhere.sql'), 'select 1\n');
    await new Promise((r) => setTimeout(r, 1000));
    expect(w.log().slice(mark)).not.toMatch(/changed/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it.each([
    ['outside the project (paths: { models: ../shared_models })', '../shared_models'],
    ['in the project (paths: { models: models2 })', 'models2'],
  ])("models/ is watched again once paths: moves it to a folder %s and back (was: a new model in models/ went unseen)", async (_what, elsewhere) => {
    const outer = mkdtempSync(join(tmpdir(), 'vigil-watch-paths-'));
    dirs.push(outer);
    const dir = join(outer, 'p1');
    mkdirSync(join(dir, 'models'), { recursive: true });
    mkdirSync(join(dir, elsewhere), { recursive: true });
    writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML);
    for (const folder of ['models', elsewhere]) writeFileSync(join(dir, folder, 'a.sql'), 'select 1 as id\n');
    const sqlOf = (name: string) => {
      const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')) as { nodes: Record<string, { compiled_sql?: string }> };
      return m.nodes[`model.fixture.${name}`]?.compiled_sql ?? '';
    };
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    let mark = w.log().length;
    writeFileSync(join(dir, 'project.yaml'), `${BASIC_PROJECT_YAML}paths:\n  models: ${elsewhere}\n`);
    await until(w.log, mark, /project\.yaml changed/);
    mark = w.log().length;
    writeFileSync(join(dir, 'project.yaml'), BASIC_PROJECT_YAML);
    await until(w.log, mark, /project\.yaml changed/);
    mark = w.log().length;
    writeFileSync(join(dir, 'models/new_model.sql'), 'select 1 as x\n');
    expect(await eventually(() => sqlOf('new_model'), 'select 1 as x'), w.log()).toBe('select 1 as x');
    expect(w.log().slice(mark)).toContain('models/new_model.sql changed');
    // (and the folder it was moved to is no longer watched)
    mark = w.log().length;
    writeFileSync(join(dir, elsewhere, 'b.sql'), 'select 2 as id\n');
    writeFileSync(join(dir, 'models/c.sql'), 'select 3 as id\n');
    expect(await eventually(() => sqlOf('c'), 'select 3 as id'), w.log()).toBe('select 3 as id');
    expect(w.log().slice(mark)).not.toMatch(/b\.sql changed/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it("a unit test's fixture outside the project's folders is watched, where it is (fixtures/ at the root)", async () => {
    const dir = makeProject({
      'models/stg.sql': "select 1 as id, 'ok' as status\n",
      'models/statuses.sql': "select status from {{ ref('stg') }}\n",
      'models/u.yml': "unit_tests:\n  - name: statuses_pass_through\n    model: statuses\n    given:\n      - input: ref('stg')\n        fixture: fixtures/stg.csv\n    expect:\n      rows:\n        - { status: ok }\n",
      'fixtures/stg.csv': 'id,status\n1,ok\n',
    });
    dirs.push(dir);
    const w = start(dir, ['test', '--watch']);
    expect(await until(w.log, 0, /watching \. for changes/)).toMatch(/PASS unit statuses::statuses_pass_through/);
    const mark = w.log().length;
    writeFileSync(join(dir, 'fixtures/stg.csv'), 'id,status\n1,bad\n');
    expect(await until(w.log, mark, /fixtures\/stg\.csv[^\n]* changed[\s\S]*(Finished \d+ nodes?|nothing to test)/)).toMatch(/FAIL unit statuses::statuses_pass_through/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it("an editor's lock file (a link to nothing) is no model; a link to nothing is a warning (was: compile crashed, internal error ENOENT, exit 3; watch lost the change)", async () => {
    const dir = makeProject({ 'models/orders.sql': 'select 1 as id\n' });
    dirs.push(dir);
    symlinkSync('user@host.1234:1700000000', join(dir, 'models/.#orders.sql'));
    const once = vigil(dir, ['compile']);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).not.toMatch(/internal error|ENOENT|W_LINK/);
    symlinkSync('gone.sql', join(dir, 'models/moved.sql'));
    const dangling = vigil(dir, ['compile']);
    expect(dangling.code, dangling.stderr).toBe(0);
    expect(dangling.stderr).toMatch(/models\/moved\.sql: warning: a symbolic link to no file \(to gone\.sql\): not read \[W_LINK\]/);
    rmSync(join(dir, 'models/moved.sql'));
    rmSync(join(dir, 'models/.#orders.sql'));
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    const compiled = () => readFileSync(join(dir, 'target/compiled/fixture/models/orders.sql'), 'utf8');
    // Emacs takes its lock as the edit begins
    symlinkSync('user@host.1234:1700000000', join(dir, 'models/.#orders.sql'));
    writeFileSync(join(dir, 'models/orders.sql'), 'select 2 as id\n');
    expect(await eventually(compiled, 'select 2 as id\n')).toBe('select 2 as id\n');
    rmSync(join(dir, 'models/.#orders.sql'));
    writeFileSync(join(dir, 'models/orders.sql'), 'select 3 as id\n');
    expect(await eventually(compiled, 'select 3 as id\n')).toBe('select 3 as id\n');
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    expect(w.log()).not.toMatch(/ENOENT|\n\s+at /);
  });

  it('a dashboard written in YAML is refused in watch as by vigil compile (was: accepted)', async () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n', 'dashboards/.gitkeep': '' });
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    const mark = w.log().length;
    writeFileSync(join(dir, 'dashboards/foo.yaml'), 'name: foo\n');
    const refused = await until(w.log, mark, /the last good manifest stays/);
    expect(refused).toMatch(/dashboards\/foo\.yaml:1:1: error: dashboards\/foo\.yaml: dashboards are JSON files[^\n]*\[E_DASHBOARD\]/);
    const once = vigil(dir, ['compile']);
    expect(once.code).toBe(2);
    expect(once.stderr).toMatch(/\[E_DASHBOARD\]/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('with --vars, an edit that leaves a key read by nothing is refused as vigil compile refuses it (was: the patched compile built it)', async () => {
    const dir = makeProject({ 'models/a.sql': "select {{ var('k', 1) }} as id\n", 'models/b.sql': 'select 2 as id\n' });
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch', '--vars', '{k: 7}']);
    await until(w.log, 0, /watching \. for changes/);
    const good = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    expect(good).toContain('select 7 as id');
    const mark = w.log().length;
    writeFileSync(join(dir, 'models/a.sql'), 'select 1 as id\n');
    const refused = await until(w.log, mark, /the last good manifest stays/);
    expect(refused).toMatch(/--vars: 'k' is read by no model/);
    expect(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).toBe(good);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it('a model moved to another folder is one round, no duplicate of itself; a rename never has both names (was: E_DUPLICATE, and a manifest with both)', async () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id\n',
      'models/b.sql': "select * from {{ ref('a') }}\n",
      'models/sub/c.sql': 'select 3 as id\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    let mark = w.log().length;
    renameSync(join(dir, 'models/a.sql'), join(dir, 'models/sub/a.sql'));
    const fileOfA = () => JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).nodes['model.fixture.a'].file as string;
    expect(await eventually(fileOfA, 'models/sub/a.sql')).toBe('models/sub/a.sql');
    expect(w.log().slice(mark)).not.toMatch(/E_DUPLICATE|error/);
    // a rename: the manifest never holds both names
    mark = w.log().length;
    renameSync(join(dir, 'models/b.sql'), join(dir, 'models/d.sql'));
    const renamed = await until(w.log, mark, /models\/d\.sql[^\n]* changed[\s\S]*Finished \d+ nodes?/);
    expect(renamed).toMatch(/compiled 3 models/);
    expect(renamed).not.toMatch(/compiled 4 models/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it("compile --watch: a renamed or deleted model's compiled file goes, target/compiled/ is what a fresh compile writes (was: the old one stayed beside the new)", async () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n', 'models/b.sql': "select * from {{ ref('a') }}\n" });
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching/);
    const compiled = (p: string) => join(dir, 'target/compiled/fixture/models', p);
    expect(existsSync(compiled('b.sql'))).toBe(true);
    let mark = w.log().length;
    mkdirSync(join(dir, 'models/sub'));
    renameSync(join(dir, 'models/b.sql'), join(dir, 'models/sub/b2.sql'));
    await until(w.log, mark, /models\/sub\/b2\.sql[^\n]* changed: compiled 2 models/);
    expect(existsSync(compiled('sub/b2.sql'))).toBe(true);
    expect(existsSync(compiled('b.sql'))).toBe(false);
    mark = w.log().length;
    rmSync(join(dir, 'models/sub'), { recursive: true });
    await until(w.log, mark, /changed: compiled 1 model in/);
    expect(existsSync(compiled('sub'))).toBe(false);
    expect(existsSync(compiled('a.sql'))).toBe(true);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  });

  it("a folder made and a file moved into it as the round reads the project is no error: the next round compiles it (was: 'ENOENT: no such file or directory, open ...' printed as the round's error)", async () => {
    // (models enough that reading them takes a while: the move lands within it)
    const dir = makeProject(Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`models/z/z${i}.sql`, `select ${i} as id\n`])));
    dirs.push(dir);
    const w = start(dir, ['compile', '--watch']);
    await until(w.log, 0, /watching/);
    // (the folder's event starts a round that lists the models; the move lands while it reads them)
    for (let i = 0; i < 24; i++) {
      const mark = w.log().length;
      writeFileSync(join(dir, `models/m${i}.sql`), `select ${i} as id\n`);
      await until(w.log, mark, new RegExp(`models/m${i}\\.sql changed`));
      mkdirSync(join(dir, `models/d${i}`));
      await new Promise((r) => setTimeout(r, 15 + (i % 6) * 5));
      renameSync(join(dir, `models/m${i}.sql`), join(dir, `models/d${i}/m${i}.sql`));
      await eventually(() => JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).nodes[`model.fixture.m${i}`]?.file as string, `models/d${i}/m${i}.sql`);
    }
    expect(w.log()).not.toMatch(/ENOENT|error/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
  }, 120_000);

  it("after build --watch, vigil compile writes a unit test's compiled file as its node's SQL again, not the SQL the run typed (was: the run's UUID for the compile's uuid stayed)", async () => {
    const dir = makeProject({
      'models/a.sql': 'select 1 as id, uuid() as u\n',
      'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        data_type: integer\n      - name: u\n        data_type: uuid\n',
      'models/b.sql': "select id from {{ ref('a') }}\n",
      'models/b_unit.yml': "unit_tests:\n  - name: b_passes\n    model: b\n    given:\n      - input: ref('a')\n        rows: [{id: 1}]\n    expect:\n      rows: [{id: 1}]\n",
    });
    dirs.push(dir);
    // (a built: the run types the unit test's givens by its relation, `u` as DuckDB's UUID)
    expect(vigil(dir, ['build']).code).toBe(0);
    const file = join(dir, 'target/compiled/fixture/models/b_unit.yml/unit/b_passes.sql');
    const w = start(dir, ['build', '--watch']);
    await until(w.log, 0, /watching/);
    expect(readFileSync(file, 'utf8')).toContain('cast(NULL as UUID)');
    // (the watcher saves its cache a while after a round)
    await new Promise((r) => setTimeout(r, 2500));
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    expect(vigil(dir, ['compile']).code).toBe(0);
    const node = Object.values(JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).nodes as Record<string, { resource_type: string; compiled_sql: string }>).find((n) => n.resource_type === 'unit_test')!;
    expect(node.compiled_sql).toContain('cast(NULL as uuid)');
    expect(readFileSync(file, 'utf8')).toBe(`${node.compiled_sql}\n`);
  });

  it("the target's DuckDB file in the project folder (dbt-duckdb's path: dev.duckdb) is no change (was: a round per write of it after every build)", async () => {
    const dir = makeProject({
      'project.yaml': 'name: fixture\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: dev.duckdb\n    schema: analytics\n',
      'models/a.sql': 'select 1 as id\n',
      'models/b.sql': 'select 2 as id\n',
    });
    dirs.push(dir);
    const w = start(dir, ['build', '--watch']);
    await until(w.log, 0, /watching \. for changes/);
    for (const m of ['a', 'b']) {
      const mark = w.log().length;
      writeFileSync(join(dir, `models/${m}.sql`), 'select 3 as id\n');
      await until(w.log, mark, new RegExp(`models/${m}\\.sql changed[\\s\\S]*Finished \\d+ nodes?`));
    }
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    expect(existsSync(join(dir, 'dev.duckdb'))).toBe(true);
    expect(w.log()).not.toMatch(/dev\.duckdb[^\n]* changed/);
  });
});

describe('a long-lived caller of runs', () => {
  it('takes back its abort listener after each run (was: one more per run on the signal of build --watch or serve, and a leak warning after ten)', async () => {
    const { EventEmitter } = await import('node:events');
    const { runExecute } = await import('../../src/cli/commands.js');
    const dir = makeProject({ 'models/a.sql': 'select 1 as id' });
    dirs.push(dir);
    const stop = new AbortController();
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write; // the runs' progress lines
    try {
      for (let i = 0; i < 3; i++) await runExecute('run', { projectDir: dir, threads: 1, signal: stop.signal });
    } finally {
      process.stdout.write = write;
    }
    expect(EventEmitter.getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });
});
