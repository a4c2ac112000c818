/**
 * The analyzer's kept answers (src/adapters/bigquery/zeta-answers.ts): a question asked before is
 * answered from target/.cache without the analyzer, errors of the SQL are kept and failures of the
 * analyzer are not, another analyzer build asks again, nothing about a statement holding a secret
 * is kept; and end to end, `vigil check --target prod` on the shipped project gives the same
 * report — OK or a seeded mistake at its line — from kept answers as from the analyzer, which a
 * second check of an unchanged project does not start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { ZETA_ANSWERS_FILE, ZetaAnswers } from '../../src/adapters/bigquery/zeta-answers.js';
import { resetSecrets } from '../../src/secrets.js';
import { REPO, vigil } from '../helpers.js';

/** A project.yaml without its `schedules:` block (checked to be gone). */
const withoutSchedules = (yaml: string): string => {
  const out = yaml.replace(/^schedules:\n(?:[ #].*\n|\n)*/m, '');
  expect(out).not.toMatch(/^schedules:/m);
  return out;
};

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vigil-zeta-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A stand-in for one analyzer call: counts how often it is really asked. */
function analyzer(answer: (req: { sql: string }) => unknown) {
  const asked: string[] = [];
  const call = (req: { sql: string }) => async () => {
    asked.push(req.sql);
    return answer(req);
  };
  return { asked, call };
}

describe('ZetaAnswers', () => {
  it('answers a question asked before without asking, from disk in the next run, and each caller gets its own copy', async () => {
    const root = tmp();
    const a = analyzer((r) => ({ columns: [{ name: r.sql.length }] }));
    const one = ZetaAnswers.open(root, 'zeta@1');
    const first = await one.ask('analyze', { sql: 'select 1' }, a.call({ sql: 'select 1' }));
    first.columns[0].name = 'changed by the caller';
    expect(await one.ask('analyze', { sql: 'select 1' }, a.call({ sql: 'select 1' }))).toEqual({ columns: [{ name: 8 }] });
    expect(a.asked).toEqual(['select 1']);
    expect([one.hits, one.misses]).toEqual([1, 1]);
    one.save();
    expect(existsSync(join(root, ZETA_ANSWERS_FILE))).toBe(true);

    const two = ZetaAnswers.open(root, 'zeta@1');
    expect(await two.ask('analyze', { sql: 'select 1' }, a.call({ sql: 'select 1' }))).toEqual({ columns: [{ name: 8 }] });
    // another method, another request: asked
    await two.ask('parse', { sql: 'select 1' }, a.call({ sql: 'select 1' }));
    await two.ask('analyze', { sql: 'select 2' }, a.call({ sql: 'select 2' }));
    expect(a.asked).toEqual(['select 1', 'select 1', 'select 2']);
    expect([two.hits, two.misses]).toEqual([1, 2]);
  });

  it("keeps the analyzer's verdict on wrong SQL (INVALID_ARGUMENT) and rethrows it alike; a failure of the analyzer itself is asked again", async () => {
    const root = tmp();
    let calls = 0;
    const refuse = async () => {
      calls++;
      throw Object.assign(new Error('3 INVALID_ARGUMENT: Unrecognized name: modle [at 1:8]'), { code: 3, details: 'Unrecognized name: modle [at 1:8]' });
    };
    const down = async () => {
      calls++;
      throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14, details: 'No connection established' });
    };
    const kept = ZetaAnswers.open(root, 'zeta@1');
    for (let i = 0; i < 2; i++) await expect(kept.ask('analyze', { sql: 'select modle' }, refuse)).rejects.toMatchObject({ code: 3, details: 'Unrecognized name: modle [at 1:8]' });
    expect(calls).toBe(1);
    for (let i = 0; i < 2; i++) await expect(kept.ask('analyze', { sql: 'select 1' }, down)).rejects.toMatchObject({ code: 14 });
    expect(calls).toBe(3);
    kept.save();
    await expect(ZetaAnswers.open(root, 'zeta@1').ask('analyze', { sql: 'select modle' }, refuse)).rejects.toMatchObject({ code: 3 });
    expect(calls).toBe(3);
  });

  it('another analyzer build, a damaged file or an old format: every question is asked again', async () => {
    const root = tmp();
    const a = analyzer(() => ({ ok: true }));
    const s = ZetaAnswers.open(root, 'zeta@1');
    await s.ask('analyze', { sql: 'x' }, a.call({ sql: 'x' }));
    s.save();
    await ZetaAnswers.open(root, 'zeta@2').ask('analyze', { sql: 'x' }, a.call({ sql: 'x' }));
    expect(a.asked.length).toBe(2);
    writeFileSync(join(root, ZETA_ANSWERS_FILE), 'not a cache');
    await ZetaAnswers.open(root, 'zeta@1').ask('analyze', { sql: 'x' }, a.call({ sql: 'x' }));
    expect(a.asked.length).toBe(3);
  });

  it("a file of the first format, or one entry's bytes damaged: that question is asked again and its answer replaced, the others stay answered", async () => {
    const root = tmp();
    const file = join(root, ZETA_ANSWERS_FILE);
    const a = analyzer((r) => ({ columns: [r.sql] }));
    mkdirSync(dirname(file), { recursive: true });
    // format 1 kept each answer as an object in the file
    writeFileSync(file, serialize({ format: 1, analyzer: 'zeta@1', run: 1, entries: [['k', { answer: { ok: { columns: ['stale'] } }, run: 1 }]] }));
    const s = ZetaAnswers.open(root, 'zeta@1');
    expect(await s.ask('analyze', { sql: 'x' }, a.call({ sql: 'x' }))).toEqual({ columns: ['x'] });
    await s.ask('analyze', { sql: 'y' }, a.call({ sql: 'y' }));
    s.save();
    expect(a.asked).toEqual(['x', 'y']);
    // damage the bytes of the first entry only
    const stored = deserialize(readFileSync(file)) as { entries: Array<[string, { answer: Uint8Array }]> };
    stored.entries[0][1].answer = Buffer.from('not a serialized answer');
    writeFileSync(file, serialize(stored));
    const t = ZetaAnswers.open(root, 'zeta@1');
    expect(await t.ask('analyze', { sql: 'x' }, a.call({ sql: 'x' }))).toEqual({ columns: ['x'] });
    expect(await t.ask('analyze', { sql: 'y' }, a.call({ sql: 'y' }))).toEqual({ columns: ['y'] });
    expect(a.asked).toEqual(['x', 'y', 'x']);
    expect([t.hits, t.misses]).toEqual([1, 1]);
    t.save();
    expect(await ZetaAnswers.open(root, 'zeta@1').ask('analyze', { sql: 'x' }, a.call({ sql: 'x' }))).toEqual({ columns: ['x'] });
    expect(a.asked).toEqual(['x', 'y', 'x']);
  });

  it('an answer unused for five checks that asked something is dropped', async () => {
    const root = tmp();
    const a = analyzer(() => ({ ok: true }));
    let s = ZetaAnswers.open(root, 'zeta@1');
    await s.ask('analyze', { sql: 'old' }, a.call({ sql: 'old' }));
    s.save();
    for (let i = 0; i < 5; i++) {
      s = ZetaAnswers.open(root, 'zeta@1');
      await s.ask('analyze', { sql: `new ${i}` }, a.call({ sql: `new ${i}` }));
      s.save();
    }
    await ZetaAnswers.open(root, 'zeta@1').ask('analyze', { sql: 'new 4' }, a.call({ sql: 'new 4' }));
    expect(a.asked.filter((x) => x === 'new 4').length).toBe(1);
    await ZetaAnswers.open(root, 'zeta@1').ask('analyze', { sql: 'old' }, a.call({ sql: 'old' }));
    expect(a.asked.filter((x) => x === 'old').length).toBe(2);
  });

  it('a check of a selection ages no answer: after five of them that asked something, the answers only a whole check uses are still kept, and the next five whole checks drop them (was: dropped by the five -s checks, and the next whole check asked them all again)', async () => {
    const root = tmp();
    const a = analyzer(() => ({ ok: true }));
    let s = ZetaAnswers.open(root, 'zeta@1');
    await s.ask('analyze', { sql: 'whole' }, a.call({ sql: 'whole' }));
    s.save();
    for (let i = 0; i < 5; i++) {
      s = ZetaAnswers.open(root, 'zeta@1', { partial: true });
      await s.ask('analyze', { sql: `selected ${i}` }, a.call({ sql: `selected ${i}` }));
      s.save();
    }
    // each selection's own answer is kept too
    for (const sql of ['whole', 'selected 0', 'selected 4']) await ZetaAnswers.open(root, 'zeta@1', { partial: true }).ask('analyze', { sql }, a.call({ sql }));
    expect(a.asked).toEqual(['whole', 'selected 0', 'selected 1', 'selected 2', 'selected 3', 'selected 4']);
    // whole checks age them as before
    for (let i = 0; i < 5; i++) {
      s = ZetaAnswers.open(root, 'zeta@1');
      await s.ask('analyze', { sql: `again ${i}` }, a.call({ sql: `again ${i}` }));
      s.save();
    }
    await ZetaAnswers.open(root, 'zeta@1').ask('analyze', { sql: 'whole' }, a.call({ sql: 'whole' }));
    expect(a.asked.filter((x) => x === 'whole').length).toBe(2);
  });

  it("a statement holding a secret's value is asked every time and nothing of it reaches the file", async () => {
    const root = tmp();
    const value = 'sk-zeta-0123456789abcdef';
    process.env.VIGIL_SECRET_ZETA_TEST = value;
    resetSecrets();
    try {
      const a = analyzer((r) => ({ literal: r.sql }));
      const s = ZetaAnswers.open(root, 'zeta@1');
      const sql = `select '${value}' as k`;
      expect(await s.ask('analyze', { sql }, a.call({ sql }))).toEqual({ literal: sql });
      await s.ask('analyze', { sql }, a.call({ sql }));
      await s.ask('analyze', { sql: 'select 1' }, a.call({ sql: 'select 1' }));
      s.save();
      expect(a.asked.filter((x) => x === sql).length).toBe(2);
      const bytes = readFileSync(join(root, ZETA_ANSWERS_FILE));
      expect(bytes.includes(value)).toBe(false);
      expect(ZetaAnswers.open(root, 'zeta@1')).toBeDefined();
    } finally {
      delete process.env.VIGIL_SECRET_ZETA_TEST;
      resetSecrets();
    }
  });
});

describe("vigil check --target prod with kept answers (Google's analyzer)", () => {
  const ENV = { AI_AUDIT_BQ_PROJECT: 'vigil-check' };
  let dir: string;
  beforeAll(() => {
    dir = tmp();
    // the shipped models (the alerts' and dashboards' queries are checked by check.test.ts): four
    // checks of the whole project took ~50 s of a loaded suite
    for (const p of ['project.yaml', 'models', 'macros', 'tests']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    // (without its schedules: their alerts job has no rules here, which vigil check refuses as serve does)
    writeFileSync(join(dir, 'project.yaml'), withoutSchedules(readFileSync(join(dir, 'project.yaml'), 'utf8')));
  });

  it('the second check of an unchanged project answers everything from the first and starts no analyzer; a seeded mistake reads the same either way', () => {
    const first = vigil(dir, ['check', '--target', 'prod'], ENV);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Analyzer answers: \d+ reused, [1-9]\d* new \(target\/\.cache\/zetasql-answers\.bin; delete it to ask everything again\)\n/);
    const second = vigil(dir, ['check', '--target', 'prod'], ENV);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/Analyzer answers: [1-9]\d* reused, 0 new .*; the analyzer was not started/);
    const ok = (s: string) => /OK: .* statements\)/.exec(s)?.[0];
    expect(ok(second.stdout)).toBe(ok(first.stdout));

    // one model changed: only what it touches is asked; the report is the one a cold check gives
    const file = join(dir, 'models/marts/ai_cost_daily.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  model,\n', '  modle,\n'));
    const warm = vigil(dir, ['check', '--target', 'prod'], ENV);
    rmSync(join(dir, ZETA_ANSWERS_FILE));
    const cold = vigil(dir, ['check', '--target', 'prod'], ENV);
    expect(warm.code).toBe(2);
    expect(warm.stderr).toContain('models/marts/ai_cost_daily.sql:5:3: error: Unrecognized name: modle');
    const body = (s: string) => s.replace(/ in \d+\.\d+s/g, '');
    expect(body(warm.stderr)).toBe(body(cold.stderr));
    const reused = /Analyzer answers: (\d+) reused, (\d+) new/.exec(warm.stdout)!;
    expect(Number(reused[1])).toBeGreaterThan(10 * Number(reused[2]));
    // four checks, two of them cold: ~10 s alone, over a minute on a loaded 2-core machine
  }, 240_000);

  it('the answers go under paths.target, as every other cache, and vigil clean removes them (was: target/.cache/zetasql-answers.bin whatever paths.target said, left by clean)', () => {
    const d = tmp();
    // (the shipped targets; not its schedules, which select models this project has not: vigil check refuses them)
    const yaml = withoutSchedules(readFileSync(join(REPO, 'project.yaml'), 'utf8'));
    writeFileSync(join(d, 'project.yaml'), `${yaml.trimEnd()}\npaths:\n  target: build\n`);
    mkdirSync(join(d, 'models'));
    writeFileSync(join(d, 'models', 'one.sql'), 'select 1 as x\n');
    const r = vigil(d, ['check', '--target', 'prod'], ENV);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('(build/.cache/zetasql-answers.bin; delete it to ask everything again)');
    expect(existsSync(join(d, 'build/.cache/zetasql-answers.bin'))).toBe(true);
    expect(existsSync(join(d, 'target'))).toBe(false);
    expect(vigil(d, ['clean']).code).toBe(0);
    expect(existsSync(join(d, 'build'))).toBe(false);
    expect(existsSync(join(d, 'target'))).toBe(false);
  }, 120_000);
});
