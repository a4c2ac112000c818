/**
 * The CLI and its readers: output piped into `head` (the reader goes away: EPIPE) stops the
 * writing, not the command; Ctrl-C during a build stops launching nodes, lets the running ones
 * finish, writes run_results.json and exits 130. Never a stack trace.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC_PROJECT_YAML, makeProject, removeDir, VIGIL } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function project(models: Record<string, string>): string {
  const dir = makeProject(models);
  dirs.push(dir);
  return dir;
}

/** `vigil args | head -n lines` through a shell; vigil's own exit status and stderr. */
function piped(dir: string, args: string[], lines: number) {
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${VIGIL}" ${args.join(' ')} 2>stderr.txt | head -n ${lines}; echo "status=\${PIPESTATUS[0]}" >&2`], { cwd: dir, encoding: 'utf8' });
  return { stdout: r.stdout, status: Number(/status=(\d+)/.exec(r.stderr)?.[1]), stderr: readFileSync(join(dir, 'stderr.txt'), 'utf8') };
}

const MODELS = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`models/m${i}.sql`, i ? `select * from {{ ref('m${i - 1}') }}` : 'select 1 as id']));

describe('output piped into head', () => {
  it('vigil ls | head -1: one line, exit 0, no EPIPE', () => {
    const dir = project(MODELS);
    const r = piped(dir, ['ls'], 1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
  });

  it.runIf(existsSync('/dev/full'))('output the system refuses (a full disk: /dev/full): the command runs to its end, one line, exit 1 (was: a stack trace half-way, run_results.json not written; ls exited 0)', () => {
    const dir = project(MODELS);
    for (const args of [['build', '--threads', '1'], ['ls']]) {
      const r = spawnSync('bash', ['-c', `"${process.execPath}" "${VIGIL}" ${args.join(' ')} > /dev/full`], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^error: could not write the output \(stdout\): ENOSPC/m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(JSON.parse(readFileSync(join(dir, 'target', 'run_results.json'), 'utf8')).results).toHaveLength(12);
    // the launcher's own --version / -V too (was: an unhandled 'error' event's stack trace)
    for (const flag of ['--version', '-V']) {
      const r = spawnSync('bash', ['-c', `"${process.execPath}" "${VIGIL}" ${flag} > /dev/full`], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toBe('error: could not write the output (stdout): ENOSPC: no space left on device, write\n');
    }
  });

  it('vigil build | head -2: the build still finishes (run_results.json) and exits with its status', () => {
    const dir = project(MODELS);
    const r = piped(dir, ['build', '--threads', '1'], 2);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.status).toBe(0);
    const results = JSON.parse(readFileSync(join(dir, 'target', 'run_results.json'), 'utf8'));
    expect(results.results).toHaveLength(12);
    expect(results.results.every((x: { status: string }) => x.status === 'success')).toBe(true);
    // and a failing build keeps its status through the pipe
    const bad = project({ ...MODELS, 'models/m5.sql': 'select nope from {{ ref(\'m4\') }}' });
    expect(piped(bad, ['build', '--threads', '1'], 1).status).toBe(1);
  });
});

/** `vigil build --threads 1` in `dir`, Ctrl-C (or `signal`) once `marker` exists (a pre_hook writes it: its model is running); its exit code and output. */
async function ctrlCOnceStarted(dir: string, marker: string, signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [VIGIL, 'build', '--threads', '1'], { cwd: dir });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  await new Promise<void>((resolve) => {
    const check = () => (existsSync(join(dir, marker)) ? resolve() : setTimeout(check, 20));
    check();
  });
  child.kill(signal);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return { code, stdout, stderr };
}

describe('Ctrl-C during a build', () => {
  it('stops launching nodes, finishes the running one, writes run_results.json, exit 130', async () => {
    // m0 takes a few seconds; everything else waits for it. Its pre_hook writes a file, so the
    // test knows m0 is running (not merely that the run started) before it presses Ctrl-C
    const dir = project({
      ...MODELS,
      'models/m0.sql': "{{ config(materialized='table', pre_hook=\"copy (select 1 as started) to 'm0-started.csv'\") }}\nselect count(*) as id from range(0, 400000000) as r(i) where i % 7 = 3",
    });
    // once m0 is being built
    const { code, stdout, stderr } = await ctrlCOnceStarted(dir, 'm0-started.csv');
    expect(stderr).toMatch(/interrupted: no new node starts; waiting for the running ones/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(130);
    const results = JSON.parse(readFileSync(join(dir, 'target', 'run_results.json'), 'utf8'));
    const m0 = results.results.find((x: { name: string }) => x.name === 'm0');
    expect(m0.status).toBe('success'); // the running node finished
    expect(results.results.filter((x: { message: string }) => x.message === 'interrupted (Ctrl-C)').length).toBe(11);
    expect(stdout).toMatch(/SKIP .* \(interrupted \(Ctrl-C\)\)/);
    // (a node of seconds on a quiet machine took over a minute beside other work: 400M rows, not 1G, and more time)
  }, 180_000);

  it('SIGTERM (timeout, docker stop, systemd) stops it the same way: the running node finishes, the rest skipped, run_results.json written, exit 143 (was: killed at once, no run_results.json)', async () => {
    const dir = project({
      ...MODELS,
      'models/m0.sql': "{{ config(materialized='table', pre_hook=\"copy (select 1 as started) to 'm0-started.csv'\") }}\nselect count(*) as id from range(0, 200000000) as r(i) where i % 7 = 3",
    });
    const { code, stdout, stderr } = await ctrlCOnceStarted(dir, 'm0-started.csv', 'SIGTERM');
    expect(stderr).toMatch(/stopped \(SIGTERM\): no new node starts; waiting for the running ones \(SIGTERM again to stop at once\)/);
    expect(code).toBe(143);
    const results = JSON.parse(readFileSync(join(dir, 'target', 'run_results.json'), 'utf8'));
    expect(results.results.find((x: { name: string }) => x.name === 'm0').status).toBe('success');
    expect(results.results.filter((x: { message: string }) => x.message === 'interrupted (SIGTERM)').length).toBe(11);
    expect(stdout).toMatch(/SKIP .* \(interrupted \(SIGTERM\)\)/);
  }, 180_000);

  it('during the last node: nothing is left to skip, so the run is complete: exit 0, on_run_end runs', async () => {
    const dir = project({
      'project.yaml': `${BASIC_PROJECT_YAML}on_run_end: "copy (select 1 as ended) to 'run-ended.csv'"\n`,
      'models/only.sql': "{{ config(materialized='table', pre_hook=\"copy (select 1 as started) to 'only-started.csv'\") }}\nselect count(*) as id from range(0, 400000000) as r(i) where i % 7 = 3",
    });
    const { code, stderr } = await ctrlCOnceStarted(dir, 'only-started.csv');
    expect(stderr).toMatch(/interrupted: no new node starts; waiting for the running ones/);
    expect(code, stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(dir, 'target', 'run_results.json'), 'utf8'));
    expect(results.results.map((x: { name: string; status: string }) => x.status)).toEqual(['success', 'success']);
    expect(existsSync(join(dir, 'run-ended.csv'))).toBe(true);
  }, 180_000);
});

describe('Ctrl-C before the first node starts', () => {
  it('while seeds are read and checked: run_results.json records every node skipped, exit 130 (was: the default handler killed it, leaving `started` for vigil retry)', async () => {
    // a seed of 1M rows: reading and checking it takes a while before any node runs
    const rows = Array.from({ length: 1_000_000 }, (_, i) => `${i},name ${i},2024-01-${String((i % 28) + 1).padStart(2, '0')}`).join('\n');
    const dir = project({ ...MODELS, 'seeds/big.csv': `id,name,day\n${rows}\n` });
    const child = spawn(process.execPath, [VIGIL, 'build', '--threads', '1'], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const results = join(dir, 'target', 'run_results.json');
    await new Promise<void>((resolve) => {
      const check = () => (existsSync(results) && readFileSync(results, 'utf8').includes('"started"') ? resolve() : setTimeout(check, 5));
      check();
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(stdout).not.toMatch(/OK (created|loaded)/);
    expect(code, stderr).toBe(130);
    const written = JSON.parse(readFileSync(results, 'utf8'));
    expect(written.invocation).toBeUndefined();
    expect(written.results).toHaveLength(13);
    expect(written.results.every((x: { status: string; message: string }) => x.status === 'skipped' && x.message === 'interrupted (Ctrl-C)')).toBe(true);
  }, 180_000);
});
