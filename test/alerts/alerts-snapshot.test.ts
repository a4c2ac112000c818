/**
 * The alerts snapshot behind `vigil alerts evaluate` (and run-scheduler, serve): the second
 * evaluation of an unchanged project reads no YAML and compiles nothing, gives the same result,
 * keeps the resolved target only when nothing in its config could be a secret (else resolves it
 * again each time), and an edited rule file is read again at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COUNTS_ALERT, makeProject, removeDir, vigil, vigilLoading } from '../helpers.js';
import { keptTarget } from '../../src/cli/command-kit.js';
import type { ResolvedTarget } from '../../src/compile/compile-project.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));


describe('alerts snapshot', () => {
  it('evaluates from the snapshot while the files hold, and reads a changed rule again', () => {
    const dir = makeProject({
      'project.yaml': `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: "{{ env_var('VIGIL_TEST_DB', '.vigil/dev.duckdb') }}", schema: analytics }\n`,
      'models/counts.sql': "select 'chat' as capability, 12 as n union all select 'draft', 3",
      'alerts/a.yaml': COUNTS_ALERT,
    });
    dirs.push(dir);
    expect(vigil(dir, ['build']).code).toBe(0);
    const evaluate = (env: Record<string, string> = {}) => vigil(dir, ['alerts', 'evaluate', '--dry-run', '--state-file', '.vigil/state.json'], env);
    const first = evaluate();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/many {2}1 firing/);
    expect(first.stdout).toMatch(/inactive -> firing \{capability=chat\} — chat has 12/);
    expect(existsSync(join(dir, 'target/.cache/alerts.bin'))).toBe(true);
    // the rule file broken with the same size and time: not read again
    const file = join(dir, 'alerts/a.yaml');
    const then = new Date('2026-01-01T00:00:00Z');
    utimesSync(file, then, then);
    const second = evaluate();
    const same = (t: string) => t.replace(/\d+\.\d+s/g, '').replace(/at \S+Z;/, '');
    expect(same(second.stdout)).toBe(same(first.stdout));
    const st = statSync(file);
    writeFileSync(file, COUNTS_ALERT.replace('severity: critical', 'severity: critcal').padEnd(st.size, ' '));
    utimesSync(file, then, then);
    expect(evaluate().code).toBe(0);
    // touched: read again, and the typo is reported at its line
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const third = evaluate();
    expect(third.code).toBe(2);
    expect(third.stderr).toMatch(/alerts\/a\.yaml:3:\d+: .*severity/);
    // an environment variable the target reads: another database, so the snapshot does not stand
    writeFileSync(file, COUNTS_ALERT);
    const other = evaluate({ VIGIL_TEST_DB: '.vigil/other.duckdb' });
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/many {2}ERROR Catalog Error: Table with name "analytics\.counts" does not exist/);
    expect(same(evaluate().stdout)).toBe(same(first.stdout));
  });

  it('an evaluation from the snapshot loads neither the YAML readers nor the compiler', () => {
    const dir = makeProject({
      'project.yaml': `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n`,
      'models/counts.sql': "select 'chat' as capability, 12 as n union all select 'draft', 3",
      'alerts/a.yaml': COUNTS_ALERT,
    });
    dirs.push(dir);
    expect(vigil(dir, ['build']).code).toBe(0);
    const evaluate = () => vigilLoading(dir, ['alerts', 'evaluate', '--dry-run', '--state-file', '.vigil/state.json']);
    // the YAML readers, the compiler, and zod with every schema (the DuckDB target is kept with the snapshot)
    const heavy = ['src/project/yaml-source.ts', 'src/project/load-project.ts', 'src/compile/compile-project.ts', 'src/alerts/load-alerts.ts', 'node_modules/zod', 'src/alerts/schema.ts', 'src/compile/resolve-target.ts', 'src/adapters/duckdb/duckdb-config.ts'];
    // the first evaluation sets up in full (and keeps the snapshot): the hook sees the compiler
    const first = evaluate();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/many {2}1 firing/);
    const full = first.sources;
    for (const f of heavy) expect(full, f).toContain(f);
    // the second answers from the snapshot: the same evaluation, none of them loaded
    const second = evaluate();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/many {2}1 firing/);
    const lean = second.sources;
    expect(lean).toContain('src/alerts/evaluate.ts');
    for (const f of heavy) expect(lean, f).not.toContain(f);
  });

  it('a target whose config reads a secret: no snapshot is kept', () => {
    const dir = makeProject({
      'project.yaml': `name: fixture\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: "{{ env_var('VIGIL_TEST_DB_PASSWORD') }}.duckdb", schema: analytics }\n`,
      'models/counts.sql': "select 'chat' as capability, 12 as n",
      'alerts/a.yaml': COUNTS_ALERT,
    });
    dirs.push(dir);
    const env = { VIGIL_TEST_DB_PASSWORD: 'hunter2-not-for-disk' };
    expect(vigil(dir, ['build'], env).code).toBe(0);
    const r = vigil(dir, ['alerts', 'evaluate', '--dry-run', '--state-file', '.vigil/state.json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'target/.cache/alerts.bin'))).toBe(false);
  });

  it('keeps a resolved target with the snapshot only when no value of its config could be a secret', () => {
    const target = (config: Record<string, unknown>): ResolvedTarget => ({ name: 't', type: 'x', schema: 'analytics', catalog: 'dev', config: { type: 'x', ...config } });
    const plain = target({ path: '.vigil/dev.duckdb', schema: 'analytics', threads: 4, labels: { team: 'data' }, tags: ['a'] });
    expect(keptTarget(plain)).toBe(plain);
    // the one rule of secrets.ts: a secret's name, or a URL with a password, at any depth
    for (const config of [{ url: 'postgres://vigil:hunter2@db:5432/app' }, { credentials: '/etc/key.json' }, { password: 'x' }, { labels: { api_key: 'abc' } }, { hosts: ['postgres://u:pw@h/db'] }]) {
      expect(keptTarget(target(config)), JSON.stringify(config)).toBeUndefined();
    }
    expect(keptTarget(target({ url: 'postgres://vigil@db:5432/app' }))).toBeDefined();
  });
});
