/**
 * `vigil serve`'s bad input and its behaviour on DuckDB without a sync source: every mistake in
 * schedules:/serve: at project.yaml:line with a did-you-mean (exit 2, no stack trace), a port
 * in use, a job that fails while the others go on (and shows in /health and /metrics), a
 * paused process catching up once, and a restart catching up a slot missed while it was down.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createServer } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadProject } from '../../src/project/load-project.js';
import { serveConfig } from '../../src/serve/config.js';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { formatDiagnostic } from '../../src/errors.js';
import { spawn } from 'node:child_process';
import { holdDuckDb } from '../support/duckdb-reader.js';
import { hostEnv, makeProject, removeDir, VIGIL, vigil, vigilProcess, type CliResult } from '../helpers.js';
import { hostBusy, runInHost } from '../support/cli-client.js';
import { killAll, startServe, waitFor } from '../support/serve.js';
import { fileClient } from '../support/pg-client.js';
import { uniqueSchema } from '../support/postgres.js';
import pg from 'pg';

const url = inject('pgUrl');
const client = fileClient(url);
const dirs: string[] = [];
afterAll(() => {
  killAll();
  dirs.forEach(removeDir);
});

const HEAD = `name: servecfg
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
`;

function project(yamlTail: string, files: Record<string, string> = {}): string {
  const dir = makeProject({ 'project.yaml': HEAD + yamlTail, 'models/one.sql': 'select 1 as x\n', ...files });
  dirs.push(dir);
  return dir;
}

function problems(yamlTail: string): string[] {
  const { config, diagnostics } = serveConfig(loadProject(project(yamlTail)));
  if (diagnostics.length) expect(config).toBeUndefined();
  return diagnostics.map(formatDiagnostic);
}

describe('serve configuration', () => {
  it.each([
    ['an unknown command', 'schedules:\n  nightly: { command: biuld, cron: "0 9 * * *" }\n', /project\.yaml:6:\d+: .*schedules\.nightly: unknown command 'biuld' — did you mean 'build'\?/],
    ['a cron with a bad field', 'schedules:\n  often:\n    command: build\n    cron: "61 * * * *"\n', /project\.yaml:8:\d+: .*schedules\.often: cron '61 \* \* \* \*': .*minute/],
    // croner's messages count day-of-month and month from 0: the field as written, and its range
    ['a day-of-month of 0 (was: "day: -1")', 'schedules:\n  n: { command: build, cron: "0 0 0 * *" }\n', /project\.yaml:6:\d+: error: schedules\.n: cron '0 0 0 \* \*': day-of-month 0 is out of range \(1–31\) \[E_SCHEDULE\]/],
    ['a day-of-month of 32 (was: "day: 31")', 'schedules:\n  n: { command: build, cron: "* * 32 * *" }\n', /cron '\* \* 32 \* \*': day-of-month 32 is out of range \(1–31\) \[/],
    ['a month of 13 (was: "month: 12")', 'schedules:\n  n: { command: build, cron: "* * * 13 *" }\n', /cron '\* \* \* 13 \*': month 13 is out of range \(1–12, or JAN–DEC\) \[/],
    ['a month of 0 (was: "month: -1")', 'schedules:\n  n: { command: build, cron: "* * * 0 *" }\n', /cron '\* \* \* 0 \*': month 0 is out of range \(1–12, or JAN–DEC\) \[/],
    ['a range past the end (was: "minute: 60")', 'schedules:\n  n: { command: build, cron: "1-70 * * * *" }\n', /cron '1-70 \* \* \* \*': minute '1-70': 70 is out of range \(0–59\) \[/],
    // croner takes these (the step never reaches the bad end); Vixie cron refuses them, and so does the one cron grammar
    ['a stepped range past the end, its step never reaching it (was: accepted)', 'schedules:\n  n: { command: build, cron: "1-60/5 * * * *" }\n', /project\.yaml:6:\d+: error: schedules\.n: cron '1-60\/5 \* \* \* \*': minute '1-60\/5': 60 is out of range \(0–59\) \[E_SCHEDULE\]/],
    ['a stepped day-of-month range past the end (was: accepted)', 'schedules:\n  n: { command: build, cron: "0 0 1-32/10 * *" }\n', /cron '0 0 1-32\/10 \* \*': day-of-month '1-32\/10': 32 is out of range \(1–31\) \[/],
    ['a stepped range croner refuses says the same', 'schedules:\n  n: { command: build, cron: "0-60/15 * * * *" }\n', /cron '0-60\/15 \* \* \* \*': minute '0-60\/15': 60 is out of range \(0–59\) \[/],
    ['a nickname cron does not have (@daily and the like are taken, as croner and Vixie cron take them)', 'schedules:\n  n: { command: build, cron: "@dayly" }\n', /cron '@dayly' is not a schedule: did you mean '@daily'\? the nicknames are @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly \[/],
    ['@reboot (no schedule)', 'schedules:\n  n: { command: build, cron: "@reboot" }\n', /cron '@reboot' is not a schedule/],
    ['an hour of 24', 'schedules:\n  n: { command: build, cron: "0 24 * * *" }\n', /hour 24 is out of range \(0–23\)/],
    ['a day-of-week of 8', 'schedules:\n  n: { command: build, cron: "0 9 * * 8" }\n', /day-of-week 8 is out of range \(0–7, or SUN–SAT\)/],
    ['seconds of 60 (6 fields)', 'schedules:\n  n: { command: build, cron: "60 * * * * *" }\n', /seconds 60 is out of range \(0–59\)/],
    ['a word for a month', 'schedules:\n  n: { command: build, cron: "0 9 1 x *" }\n', /cron '0 9 1 x \*': month 'x' is not valid \(1–12, or JAN–DEC\)/],
    // (zod's "Invalid key in record" said nothing of why)
    ['a schedule name with a space', 'schedules:\n  "my job": { command: build, cron: "0 * * * *" }\n', /project\.yaml:6:3: error: schedules\.my job: invalid key 'my job': a schedule name is letters, digits, _ and - \[E_SCHEMA\]/],
    ['a cron with 3 fields', 'schedules:\n  often: { command: build, cron: "* * *" }\n', /schedules\.often: cron '\* \* \*' has 3 fields: write 5/],
    ['an unknown time zone', 'schedules:\n  often:\n    command: build\n    cron: "0 * * * *"\n    timezone: Europe/Pari\n', /project\.yaml:9:\d+: .*unknown time zone 'Europe\/Pari' — did you mean 'Europe\/Paris'\?/],
    ['a key of another command', 'schedules:\n  s:\n    command: build\n    cron: "0 * * * *"\n    build_after: true\n', /project\.yaml:9:\d+: .*schedules\.s: 'build_after' does not go with command build \(sync takes it\)/],
    // (as vigil seed --full-refresh: every seed is reloaded in full each time; was: accepted, documented for seed)
    ['full_refresh on a seed schedule', 'schedules:\n  s:\n    command: seed\n    cron: "0 * * * *"\n    full_refresh: true\n', /project\.yaml:9:\d+: error: schedules\.s: 'full_refresh' does not go with command seed: vigil seed reloads every seed in full each time \(build, run take it\) \[E_SCHEDULE\]/],
    ['lookback on a delta sync', 'schedules:\n  s: { command: sync, cron: "0 9 * * *", lookback: 24h }\n', /lookback goes with mode: full/],
    // (as vigil sync --mode full --lookback 0s: a full sync without lookback reads the whole table)
    ['a zero lookback', 'schedules:\n  s:\n    command: sync\n    cron: "0 9 * * *"\n    mode: full\n    lookback: 0s\n', /project\.yaml:10:\d+: error: schedules\.s: lookback must be more than 0s, got '0s' \[E_SCHEDULE\]/],
    ['no cron', 'schedules:\n  s: { command: build }\n', /schedules\.s: cron is missing/],
    ['an unknown key', 'schedules:\n  s: { command: build, cron: "0 * * * *", selct: x }\n', /unknown key 'selct'/],
    ['a bad listen address', 'serve: { listen: "localhost:99999" }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n', /project\.yaml:5:\d+: .*serve\.listen 'localhost:99999' is not an address/],
    ['a lease too short to be renewed', 'serve: { lease: 0s }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n', /project\.yaml:5:\d+: .*serve\.lease 0s is too short: .* at least 10s/],
    ['a grace longer than a timer holds', 'serve: { grace: 30d }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n', /project\.yaml:5:\d+: .*serve\.grace 30d is longer than serve can wait: at most 24d/],
    ['a time zone on alerts without cron (each rule has its own)', 'schedules:\n  a: { command: alerts, timezone: Europe/Paris }\n', /project\.yaml:6:\d+: .*schedules\.a: timezone goes with cron/],
    ['an empty selector', 'schedules:\n  t: { command: test, cron: "0 * * * *", select: " " }\n', /project\.yaml:6:\d+: .*schedules\.t: select is empty/],
    ['a bad duration', 'serve: { max_sync_age: 5 minutes }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n', /serve\.max_sync_age/],
    // (a zero age is breached at once: /health would answer 503 for ever)
    ['a zero max_sync_age', 'serve:\n  max_sync_age: 0s\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n', /project\.yaml:6:\d+: .*serve\.max_sync_age 0s must be longer than 0/],
    ['a zero max_data_lag', 'serve: { max_data_lag: 0m }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n', /project\.yaml:5:\d+: .*serve\.max_data_lag 0m must be longer than 0/],
    ['a bare port out of range', 'serve: { listen: 99999 }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n', /project\.yaml:5:\d+: .*serve\.listen '99999' is not an address/],
  ])('%s: an error at its line', (_name, tail, re) => {
    let ps: string[];
    try {
      ps = problems(tail);
    } catch (e) {
      // shape errors (zod) are thrown by loadProject, with their lines
      ps = ((e as { diagnostics?: Parameters<typeof formatDiagnostic>[0][] }).diagnostics ?? []).map(formatDiagnostic);
    }
    expect(ps.join('\n')).toMatch(re);
  });

  it("serve.single_host: true is read (a restarted container takes its earlier process's job over at once), false by default; a misspelt key is refused with the nearest name", () => {
    const yes = serveConfig(loadProject(project('serve: { single_host: true }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n')));
    expect(yes.diagnostics).toEqual([]);
    expect(yes.config!.singleHost).toBe(true);
    expect(serveConfig(loadProject(project('schedules:\n  s: { command: build, cron: "0 * * * *" }\n'))).config!.singleHost).toBe(false);
    let ps: string[] = [];
    try {
      ps = problems('serve: { single_hots: true }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n');
    } catch (e) {
      ps = ((e as { diagnostics?: Parameters<typeof formatDiagnostic>[0][] }).diagnostics ?? []).map(formatDiagnostic);
    }
    expect(ps.join('\n')).toMatch(/project\.yaml:5:\d+: .*single_hots.*single_host/);
  });

  it('a bad serve.listen is an error at its line also when --listen is given (was: ignored under the flag)', () => {
    const files = loadProject(project('serve: { listen: 127.0.0.1:94644 }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n'));
    const { config, diagnostics } = serveConfig(files, '127.0.0.1:0');
    expect(config).toBeUndefined();
    expect(diagnostics.map(formatDiagnostic).join('\n')).toMatch(/^project\.yaml:5:\d+: error: serve\.listen '127\.0\.0\.1:94644' is not an address/);
    // a good one under the flag: the flag wins
    expect(serveConfig(loadProject(project('serve: { listen: 9465 }\nschedules:\n  s: { command: build, cron: "0 * * * *" }\n')), '127.0.0.1:0').config!.listen).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('a good configuration: defaults, 6-field crons, alerts without cron on each rule\'s own schedule', () => {
    const { config, diagnostics } = serveConfig(
      loadProject(project('serve: { listen: ":0", max_sync_age: 5m }\nschedules:\n  delta: { command: sync, cron: "*/30 * * * *", build_after: true }\n  full: { command: sync, cron: "0 9 * * *", mode: full, lookback: 24h }\n  fast: { command: build, cron: "*/10 * * * * *", timezone: America/Los_Angeles }\n  alerts: { command: alerts }\n  nightly: { command: test, cron: "@daily" }\n')),
    );
    expect(diagnostics).toEqual([]);
    // every interface: :: (Node serves IPv4 on it too)
    expect(config!.listen).toEqual({ host: '::', port: 0 });
    // a bare port, as --listen takes it (YAML reads it as a number)
    expect(serveConfig(loadProject(project('serve: { listen: 19465 }\nschedules:\n  b: { command: build, cron: "0 * * * *" }\n'))).config!.listen).toEqual({ host: '127.0.0.1', port: 19465 });
    expect(config!.maxSyncAgeMs).toBe(300_000);
    expect(config!.jobs.map((j) => [j.name, j.command, j.cron, j.timezone, j.perRuleSchedule, j.mode, j.lookbackSeconds, j.buildAfter])).toEqual([
      ['delta', 'sync', '*/30 * * * *', 'UTC', false, 'delta', undefined, true],
      ['full', 'sync', '0 9 * * *', 'UTC', false, 'full', 86400, false],
      ['fast', 'build', '*/10 * * * * *', 'America/Los_Angeles', false, undefined, undefined, false],
      ['alerts', 'alerts', '* * * * *', 'UTC', true, undefined, undefined, false],
      // a nickname, as croner and Vixie cron read it (was: "has 1 field")
      ['nightly', 'test', '@daily', 'UTC', false, undefined, undefined, false],
    ]);
  });
});

/**
 * `vigil serve` that must be refused before it starts anything (exit 2 for a mistake in the
 * project or the flags, found before the metrics, the port or the warehouse): run by the worker's
 * command host (test/support/cli-host.mjs), as the other commands are, not by a process of its own
 * (~0.5 s of CPU each). One that started all the same is stopped after 30 s, and its code (-1)
 * fails the test. (A real process is still what the first such test and the port tests start.)
 */
function refused(dir: string, args: string[]): CliResult {
  if (process.env.VIGIL_TEST_PROCESSES === '1' || hostBusy()) return vigilProcess(dir, args);
  return runInHost(dir, args, hostEnv({}), 30_000);
}

/** `vigil serve` on any free port */
const serve = (dir: string, args: string[] = []) => startServe(dir, ['--listen', '127.0.0.1:0', ...args]);

describe('vigil serve on the command line', () => {
  it('a configuration mistake: exit 2 with file:line, before listening or running anything', () => {
    const dir = project('schedules:\n  nightly: { command: sync, cron: "0 9 * * *", timezone: Mars/Olympus }\n');
    const r = vigil(dir, ['serve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/project\.yaml:6:\d+: .*unknown time zone 'Mars\/Olympus'/);
    expect(r.stdout + r.stderr).not.toMatch(/listening|\n\s+at /);
    // --delivery-timeout is checked at start, and refused where no job runs alerts
    const alerts = project('schedules:\n  a: { command: alerts }\n');
    const bad = refused(alerts, ['serve', '--delivery-timeout', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--delivery-timeout.*'abc'/);
    const unused = refused(project('schedules:\n  b: { command: build, cron: "0 * * * *" }\n'), ['serve', '--delivery-timeout', '30s']);
    expect(unused.code).toBe(2);
    expect(unused.stderr).toMatch(/--delivery-timeout: no schedule runs alerts/);
    expect(bad.stdout + bad.stderr + unused.stdout + unused.stderr).not.toMatch(/listening|\n\s+at /);
  });

  it('no schedules, a selector that matches nothing, a sync job without synced sources: exit 2, each said plainly', () => {
    const none = refused(project(''), ['serve']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no schedules: nothing to serve/);
    const typo = refused(project('schedules:\n  b: { command: build, cron: "0 * * * *", select: [onee] }\n'), ['serve']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/schedules\.b \(project\.yaml:6\): selector 'onee' matched nothing — did you mean 'one'\?/);
    expect(typo.stderr).not.toContain('--allow-empty'); // a flag of the one-shot commands, not serve's
    // a job written as a block: at its select: line (was: the job's line)
    const block = refused(project('schedules:\n  b:\n    command: build\n    cron: "0 * * * *"\n    select: [onee]\n'), ['serve']);
    expect(block.code).toBe(2);
    expect(block.stderr).toMatch(/schedules\.b \(project\.yaml:9\): selector 'onee' matched nothing/);
    const nosync = refused(project('schedules:\n  s: { command: sync, cron: "0 * * * *" }\n'), ['serve']);
    expect(nosync.code).toBe(2);
    expect(nosync.stderr).toMatch(/schedules\.s \(project\.yaml:6\): .*no source table it selects has a sync block/);
    // the source database's settings resolve at start: an unset variable is exit 2 there, as for vigil sync
    const unset = refused(
      project("  app: { type: postgres, url: \"{{ env_var('VIGIL_TEST_NEVER_SET_URL') }}\", schema: analytics }\nschedules:\n  s: { command: sync, cron: \"*/5 * * * *\" }\n", {
        'models/sources.yml': 'sources:\n  - name: raw\n    schema: raw\n    sync: { from: app }\n    tables:\n      - name: events\n        sync: { primary_key: id, cursor: updated_at }\n',
      }),
      ['serve'],
    );
    expect(unset.code, unset.stderr).toBe(2);
    expect(unset.stderr).toMatch(/project\.yaml:5:\d+: error: target 'app': environment variable VIGIL_TEST_NEVER_SET_URL is not set/);
    expect(unset.stdout + unset.stderr).not.toMatch(/listening|\n\s+at /);
  });

  it("a schedule whose selection has nothing its command runs: exit 2 at its project.yaml line, as the command refuses it (was: serve started, and the job failed at every slot)", () => {
    const eph = { 'models/e_eph.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as x\n" };
    const tests = refused(project('schedules:\n  b1: { command: test, cron: "0 0 1 1 *", select: [e_eph] }\n', eph), ['serve']);
    expect(tests.code, tests.stderr).toBe(2);
    expect(tests.stderr).toMatch(/schedules\.b1 \(project\.yaml:6\): the selection selects 1 model \(e_eph\), and vigil test runs data and unit tests: nothing to run/);
    expect(tests.stderr).not.toContain('--allow-empty');
    // an exclude that takes every seed of a seed job too
    const seeds = refused(project('schedules:\n  s1: { command: seed, cron: "0 0 1 1 *", exclude: ["resource_type:seed"] }\n', { 'seeds/s.csv': 'a\n1\n' }), ['serve']);
    expect(seeds.code, seeds.stderr).toBe(2);
    expect(seeds.stderr).toMatch(/schedules\.s1 \(project\.yaml:6\): --exclude 'resource_type:seed' excludes all vigil seed would run of the project \(1 seed \(s\)\): nothing to run/);
    expect(tests.stdout + tests.stderr + seeds.stdout + seeds.stderr).not.toMatch(/listening|\n\s+at /);
  });

  it("an alerts run that found the DuckDB file held (and evaluated nothing) does not move the rule window on: a rule due in it is evaluated by the next run, not at its own next slot a day later (was: lost)", async () => {
    // the rule is due once a day, at a second a few seconds ahead within this minute: no slot of
    // the job's own minute comes between serve's start and it (late in a minute, the test starts
    // serve in the next one; no serve runs meanwhile). Serve's wall clock can be stepped forward
    // a minute (test/support/clock-step.mjs): the run for the slot stops waiting for the file,
    // and the job's next minute is due (was: a slot at a whole minute up to 105 s ahead, the
    // file waited for 30 s, the next minute waited for: 160 s a run)
    if (new Date().getUTCSeconds() > 42) await new Promise((r) => setTimeout(r, 60_500 - (Date.now() % 60_000)));
    const slot = new Date(Math.ceil((Date.now() + 12_000) / 1000) * 1000);
    const dir = project('schedules:\n  alerts: { command: alerts }\n', {
      'alerts/a.yaml': `alerts:\n  - name: daily\n    severity: info\n    schedule: "${slot.getUTCSeconds()} ${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *"\n    query: select x from {{ ref('one') }}\n    condition: { type: threshold, column: x, op: ">", value: 0 }\n    summary: "x is {{ x }}"\n`,
    });
    expect(vigil(dir, ['build']).code).toBe(0);
    const srv = await startServe(dir, ['--listen', '127.0.0.1:0'], { NODE_OPTIONS: `--import ${pathToFileURL(join(import.meta.dirname, '../support/clock-step.mjs')).href}`, VIGIL_TEST_CLOCK_STEP_MS: '60000' });
    await waitFor(() => /alerts: alerts, each alert on its own schedule, next/.test(srv.log()), 30_000, srv.log);
    expect(srv.log()).toContain(`alerts: alerts, each alert on its own schedule, next ${slot.toISOString()}`);
    // another process (a long `vigil build`, a BI tool) holds the file over the rule's slot: the
    // run for it waits for the file, then fails
    let holder: ReturnType<typeof spawn> | undefined;
    try {
      // (held before the slot: no run of the job before it)
      holder = await holdDuckDb(join(dir, '.vigil/dev.duckdb'));
      expect(Date.now(), 'the slot passed before the file was held: this machine is too slow for this test').toBeLessThan(slot.getTime());
      // the run for the slot under way (/health names it from its start on), waiting for the file
      await waitFor(async () => {
        const running = ((await (await fetch(`${srv.base}/health`)).json()) as { running: { job: string; since: string } | null }).running;
        return running?.job === 'alerts' && Date.parse(running.since) >= slot.getTime();
      }, 30_000, srv.log);
      // (a minute on: the run's wait for the file is over, and the job's next minute due)
      srv.child.kill('SIGUSR2');
      // (the run for the slot: a line stamped after it)
      const failed = () => srv.log().split('\n').some((l) => / alerts: FAILED after .*in use by another process/.test(l) && Date.parse(l.split(' ')[0]) > slot.getTime());
      await waitFor(failed, 60_000, srv.log);
      expect(srv.log()).not.toMatch(/evaluated daily/);
      holder.kill('SIGKILL');
      // the next minute's run evaluates it, saying for which slot
      await waitFor(() => /alerts: OK in [^\n]*: 1 rule, 1 firing/.test(srv.log()), 90_000, srv.log);
      expect(srv.log()).toContain(`evaluated daily (due since ${slot.toISOString()}): 1 firing`);
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
      expect(srv.log().match(/evaluated daily/g)).toHaveLength(1);
    } finally {
      holder?.kill('SIGKILL');
    }
  }, 120_000);

  it('SIGTERM while serve waits at start for a busy DuckDB file: stops at once, exit 0, saying so', async () => {
    const dir = project('schedules:\n  b: { command: build, cron: "0 * * * *" }\n');
    expect(vigil(dir, ['build']).code).toBe(0);
    // another process holds the file (DuckDB allows one)
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; const db = await DuckDBInstance.create(${JSON.stringify(join(dir, '.vigil/dev.duckdb'))}); console.log('held'); setInterval(() => db, 1000);`], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
      const srv = await serve(dir);
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
      expect(srv.log()).toMatch(/SIGTERM while starting: stopped \(no job had started\)/);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('SIGTERM while serve still compiles the project at start (seconds, for a large one): stops at once, exit 0, saying so (was: killed, exit 143)', async () => {
    // a model slow to render (and rendered at every start: invocation_id keeps it out of the render cache)
    // (~3 s of CPU to render: was 1.5 million turns, ~6 s of CPU and 15 s of a loaded machine)
    const dir = project('schedules:\n  b: { command: build, cron: "0 * * * *" }\n', { 'models/one.sql': "select '{{ invocation_id }}' as x {% for i in range(700000) %}{% endfor %}\n" });
    const child = spawn(process.execPath, [VIGIL, 'serve', '--listen', '127.0.0.1:0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (b) => (log += b));
    child.stderr!.on('data', (b) => (log += b));
    const exited = new Promise<number | string | null>((r) => child.on('exit', (code, sig) => r(code ?? sig)));
    // (the modules loaded, the project still rendering: judged by the CPU time the process has
    // used, ~0.5 s to load its modules, ~2.8 s more to render, however loaded the machine; was a
    // fixed 3 s of wall time, so the render had to outlast it on a busy machine)
    await waitFor(() => cpuSeconds(child.pid!) >= 1.2, 60_000, () => log);
    expect(log).not.toMatch(/listening/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toMatch(/SIGTERM while starting: stopped \(no job had started\)/);
    expect(log).not.toMatch(/listening/);
  }, 120_000);

  it('a port in use: exit 2 naming the address', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = vigil(project('schedules:\n  b: { command: build, cron: "0 * * * *" }\n'), ['serve', '--listen', `127.0.0.1:${port}`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      blocker.close();
    }
    const bad = refused(project('schedules:\n  b: { command: build, cron: "0 * * * *" }\n'), ['serve', '--listen', 'nope:x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--listen 'nope:x' is not an address/);
    // a link-local IPv6 address (it needs an interface): one line, not a stack trace (was: exit 3)
    const linkLocal = vigil(project('schedules:\n  b: { command: build, cron: "0 * * * *" }\n'), ['serve', '--listen', '[fe80::1]:0']);
    expect(linkLocal.code, linkLocal.stderr).toBe(2);
    expect(linkLocal.stderr).toMatch(/^error: cannot listen on \[fe80::1\]:0: not an address this machine can listen on \(EINVAL\)$/m);
    expect(linkLocal.stderr).not.toMatch(/\n\s+at |internal error/);
  });

  it('a failing job does not stop the others; it shows in /health (degraded) and /metrics; a paused process runs once for the slots it missed', async () => {
    const dir = project('schedules:\n  broken: { command: build, cron: "*/2 * * * * *", select: [bad] }\n  fine: { command: build, cron: "*/2 * * * * *", select: [one] }\n', { 'models/bad.sql': 'select * from no_such_table\n' });
    const srv = await serve(dir);
    const degraded = await waitFor(async () => {
      const res = await fetch(`${srv.base}/health`);
      const body = (await res.json()) as { status: string; problems: string[]; jobs: Array<{ job: string; last_run: { status: string } | null }> };
      return body.jobs.find((j) => j.job === 'fine')?.last_run?.status === 'success' && body.status === 'degraded' ? { code: res.status, body } : undefined;
    }, 30_000, srv.log);
    // no synced stream to breach an SLO: degraded, still 200
    expect(degraded.code).toBe(200);
    expect(degraded.body.problems.join('\n')).toMatch(/job broken failed at \S+: 1 nodes, 1 failed: bad/);
    const metrics = await (await fetch(`${srv.base}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_run_status\{job="broken"\} 0$/m);
    expect(metrics).toMatch(/^vigil_run_status\{job="fine"\} 1$/m);
    expect(metrics).toMatch(/^vigil_model_build_duration_seconds_count\{model="one",status="success"\} [1-9]/m);
    // a pause (SIGSTOP: a suspended VM) over several slots: on waking, each job runs once
    srv.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 5000));
    const before = srv.log().length;
    srv.child.kill('SIGCONT');
    await waitFor(() => (/fine: build started .*earlier slots? missed, run once/.test(srv.log().slice(before)) ? true : undefined), 15_000, srv.log);
    // a model broken while serve runs: the job's failure is one line (the diagnostic's hint on it)
    writeFileSync(join(dir, 'models/one.sql'), "select * from {{ ref('badd') }}\n");
    const line = await waitFor(() => /^.*fine: FAILED.*E_REF.*$/m.exec(srv.log())?.[0], 15_000, srv.log);
    expect(line).toMatch(/did you mean 'bad'/);
    expect(srv.log()).not.toMatch(/\n\s+hint:/);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
    expect(srv.log()).toMatch(/broken: FAILED after [\d.]+s \(\d+ in a row; serve keeps running\)/);
    expect(srv.log()).not.toMatch(/\n\s+at /);
  });

  it("a wall clock that steps past a slot while serve waits for it (a suspended VM resumed: its timers do not count the suspend; an NTP step) runs the job within seconds, not when the timer's wait has run out (was: up to that whole wait later: an hourly job's slot up to an hour late, a daily one a day)", async () => {
    // a yearly slot (New Year, UTC), not an hourly one: the real clock does not pass it while the
    // test runs (was hourly: a test started in the last seconds of an hour, on a loaded machine,
    // saw serve start after the hour, its next slot an hour on, out of the step's reach: it failed)
    const dir = project('schedules:\n  hourly: { command: build, cron: "0 0 1 1 *" }\n');
    // past the next slot by 5 s, whenever the signal comes
    const next = Date.UTC(new Date().getUTCFullYear() + 1, 0, 1);
    const srv = await startServe(dir, ['--listen', '127.0.0.1:0'], { NODE_OPTIONS: `--import ${pathToFileURL(join(import.meta.dirname, '../support/clock-step.mjs')).href}`, VIGIL_TEST_CLOCK_STEP_MS: String(next - Date.now() + 5000) });
    await waitFor(() => (/ {2}hourly: build, "0 0 1 1 \*" UTC, next /.test(srv.log()) ? true : undefined), 30_000, srv.log);
    expect(srv.log()).toContain(`hourly: build, "0 0 1 1 *" UTC, next ${new Date(next).toISOString()}`);
    srv.child.kill('SIGUSR2');
    await waitFor(() => (/test: the wall clock stepped forward/.test(srv.log()) ? true : undefined), 10_000, srv.log);
    await waitFor(() => (/hourly: OK/.test(srv.log()) ? true : undefined), 20_000, srv.log);
    expect(srv.log()).toMatch(new RegExp(`hourly: build started for ${new Date(next).toISOString().replace(/[.]/g, '\\.')}`));
    srv.child.kill('SIGTERM');
    expect(await srv.exited, srv.log()).toBe(0);
  });

  it('a build job refused by the PII check fails with E_PII and leaves target/manifest.json as it was (was: rewritten before the check)', async () => {
    const dir = project('schedules:\n  b: { command: build, cron: "*/2 * * * * *" }\n', {
      'seeds/people.csv': 'id,email\n1,a@x.com\n',
      'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: email\n        meta: { pii: true }\n',
    });
    const srv = await serve(dir, ['--run-now']);
    await waitFor(() => (/b: OK/.test(srv.log()) ? true : undefined), 30_000, srv.log);
    const manifest = readFileSync(join(dir, 'target/manifest.json'), 'utf8');
    writeFileSync(join(dir, 'models/one.sql'), "select email from {{ ref('people') }}\n");
    await waitFor(() => /^.*b: FAILED.*E_PII.*$/m.exec(srv.log())?.[0], 15_000, srv.log);
    expect(readFileSync(join(dir, 'target/manifest.json'), 'utf8')).toBe(manifest);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });

  it('after a restart, a job whose last run is older than its latest slot catches up once; --run-now runs everything at start', async () => {
    const dir = project('schedules:\n  daily: { command: build, cron: "0 0 * * *" }\n');
    const first = await serve(dir, ['--run-now']);
    await waitFor(() => (/daily: OK/.test(first.log()) ? true : undefined), 30_000, first.log);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // restarted right away: nothing to catch up (the run at start is newer than today's midnight)
    const again = await serve(dir);
    await new Promise((r) => setTimeout(r, 1500));
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(again.log()).not.toMatch(/daily: build started/);
    // the last run was three days ago: one run now, for today's midnight
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    const old = new Date(Date.now() - 3 * 86400_000);
    old.setUTCHours(0, 0, 0, 0);
    try {
      const [row] = await db.query<{ body: string }>("select body from analytics.vigil_serve_leases where id = 'job:daily'");
      const doc = JSON.parse(row.body);
      expect(doc.last.status).toBe('success');
      doc.slot = old.toISOString();
      await db.execute("update analytics.vigil_serve_leases set body = $1 where id = 'job:daily'", [JSON.stringify(doc)]);
    } finally {
      await db.close();
    }
    const later = await serve(dir);
    await waitFor(() => (/daily: OK/.test(later.log()) ? true : undefined), 30_000, later.log);
    later.child.kill('SIGTERM');
    expect(await later.exited).toBe(0);
    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    expect(later.log()).toContain(`daily: build started for ${today.toISOString()} (catching up: its last run was for ${old.toISOString()}); 2 earlier slots missed, run once`);
    // (three serve processes and their builds, one after the other: 16 s alone, past 60 s on a loaded machine)
  }, 180_000);

  it('the warehouse unreadable at start (a DuckDB file another process holds past the wait): read again once it opens, and the slot missed is caught up (was: never)', async () => {
    const dir = project('schedules:\n  daily: { command: build, cron: "0 0 * * *" }\n');
    const first = await serve(dir, ['--run-now']);
    await waitFor(() => /daily: OK/.test(first.log()), 30_000, first.log);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // its last run was three days ago: today's midnight is owed
    const old = daysAgo(3);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const [row] = await db.query<{ body: string }>("select body from analytics.vigil_serve_leases where id = 'job:daily'");
      await db.execute("update analytics.vigil_serve_leases set body = $1 where id = 'job:daily'", [JSON.stringify({ ...JSON.parse(row.body), slot: old.toISOString() })]);
    } finally {
      await db.close();
    }
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; const db = await DuckDBInstance.create(${JSON.stringify(join(dir, '.vigil/dev.duckdb'))}); console.log('held'); setInterval(() => db, 1000);`], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
      const srv = await serve(dir);
      await waitFor(() => /could not read the warehouse at start \(.*in use by another process.*\); reading it again until it opens/.test(srv.log()), 40_000, srv.log);
      holder.kill('SIGKILL');
      await waitFor(() => /daily: OK/.test(srv.log()), 20_000, srv.log);
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
      expect(srv.log()).toContain(`daily: build started for ${daysAgo(0).toISOString()} (catching up: its last run was for ${old.toISOString()}); 2 earlier slots missed, run once`);
      expect(srv.log().match(/daily: build started/g)).toHaveLength(1);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('the warehouse unreadable at start (a Postgres target whose database is not there): read again once it is, and the slot missed is caught up (was: never)', async () => {
    const name = uniqueSchema('serve_down');
    await client.query(`create database ${name}`);
    const at = new URL(url);
    at.pathname = `/${name}`;
    try {
      const dir = project(`  wh: { type: postgres, url: "${at.href}", schema: analytics }\nschedules:\n  daily: { command: build, cron: "0 0 * * *" }\n`);
      const first = await serve(dir, ['--target', 'wh', '--run-now']);
      await waitFor(() => /daily: OK/.test(first.log()), 30_000, first.log);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const old = daysAgo(3);
      const wh = new pg.Client(at.href);
      await wh.connect();
      try {
        const { rows } = await wh.query<{ body: string }>("select body from analytics.vigil_serve_leases where id = 'job:daily'");
        await wh.query("update analytics.vigil_serve_leases set body = $1 where id = 'job:daily'", [JSON.stringify({ ...JSON.parse(rows[0].body), slot: old.toISOString() })]);
      } finally {
        await wh.end();
      }
      // the server answers, the database is not there (down, or not yet restored)
      await client.query(`alter database ${name} rename to ${name}_x`);
      const srv = await serve(dir, ['--target', 'wh']);
      await waitFor(() => /could not read the warehouse at start \(.*does not exist.*\); reading it again until it opens/.test(srv.log()), 30_000, srv.log);
      await new Promise((r) => setTimeout(r, 1500));
      await client.query(`alter database ${name}_x rename to ${name}`);
      await waitFor(() => /daily: OK/.test(srv.log()), 30_000, srv.log);
      srv.child.kill('SIGTERM');
      expect(await srv.exited).toBe(0);
      expect(srv.log()).toContain(`daily: build started for ${daysAgo(0).toISOString()} (catching up: its last run was for ${old.toISOString()}); 2 earlier slots missed, run once`);
      // said once at start, not at each attempt
      expect(srv.log().match(/could not read/g)).toHaveLength(1);
    } finally {
      await client.query(`drop database if exists ${name} with (force)`);
      await client.query(`drop database if exists ${name}_x with (force)`);
    }
  });

  it('a catch-up past the most slots counted says "10,000 or more", not 10000', async () => {
    const dir = project('schedules:\n  minutely: { command: build, cron: "* * * * *" }\n');
    const first = await serve(dir, ['--run-now']);
    await waitFor(() => (/minutely: OK/.test(first.log()) ? true : undefined), 30_000, first.log);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // its last run was 8 days ago: 11,520 minutes
    const old = new Date(Date.now() - 8 * 86400_000);
    old.setUTCSeconds(0, 0);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const [row] = await db.query<{ body: string }>("select body from analytics.vigil_serve_leases where id = 'job:minutely'");
      await db.execute("update analytics.vigil_serve_leases set body = $1 where id = 'job:minutely'", [JSON.stringify({ ...JSON.parse(row.body), slot: old.toISOString() })]);
    } finally {
      await db.close();
    }
    const later = await serve(dir);
    await waitFor(() => (/minutely: OK/.test(later.log()) ? true : undefined), 30_000, later.log);
    later.child.kill('SIGTERM');
    expect(await later.exited).toBe(0);
    // (the first serve's minute tick may have started a run its SIGTERM stopped: then that run is named first)
    const last = `(?:its last run was for|the last run \\([^)]*\\) was stopped before its end; the run before it was for) ${old.toISOString().replace(/\./g, '\\.')}`;
    expect(later.log()).toMatch(new RegExp(`minutely: build started for \\S+ \\(catching up: ${last}\\); 10,000 or more earlier slots missed, run once`));
  });
});

/** The CPU time (user + system) process `pid` has used, in seconds (Linux: /proc/<pid>/stat; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // (utime and stime: fields 14 and 15 of the line, 12 and 13 after the name)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Midnight UTC `n` days ago. */
function daysAgo(n: number): Date {
  const d = new Date(Date.now() - n * 86400_000);
  d.setUTCHours(0, 0, 0, 0);
  return d;
}

const ALWAYS = 'alerts:\n  - name: always\n    severity: critical\n    schedule: "0 0 1 1 *"\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    summary: "n is {{ n }}"\n';
const routes = (groupWait: string) => `receivers:\n  - name: pd\n    pagerduty: { routing_key_env: VIGIL_TEST_PD_KEY }\nroute:\n  receiver: pd\n  group_wait: ${groupWait}\n`;

describe('vigil serve: its alerts job and its project.yaml', () => {
  it('serve.listen takes a bare port, as --listen does (0: any free port)', async () => {
    const srv = await startServe(project('serve: { listen: 0 }\nschedules:\n  b: { command: build, cron: "0 * * * *" }\n'));
    expect(srv.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${srv.base}/livez`)).status).toBe(200);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });

  it('an alerts job in a project without alert rules is exit 2 at the schedule\'s line, as run-scheduler refuses it (was: "OK: no rule due" every minute)', () => {
    const disabled = ALWAYS.replace('    severity: critical\n', '    severity: critical\n    enabled: false\n');
    for (const files of [{}, { 'alerts/a.yaml': disabled }] as Array<Record<string, string>>) {
      const dir = project('schedules:\n  checks: { command: alerts }\n', files);
      const r = refused(dir, ['serve', '--listen', '127.0.0.1:0']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^error: schedules\.checks \(project\.yaml:6\): no alert rules in alerts\/\*\.yaml: nothing to schedule \(see docs\/alerts\.md\)$/m);
      expect(r.stdout + r.stderr).not.toMatch(/listening|\n\s+at /);
      const sched = vigil(dir, ['alerts', 'run-scheduler']);
      expect(sched.code).toBe(2);
      expect(sched.stderr).toContain('no alert rules in alerts/*.yaml: nothing to schedule (see docs/alerts.md)');
    }
  });

  it('an alerts job without cron evaluates a rule whose cron has seconds at its own slots, as run-scheduler does (was: once a minute)', async () => {
    const rule = ALWAYS.replace('query: select 1 as n', 'query: select 0 as n').replace('schedule: "0 0 1 1 *"', 'schedule: "*/3 * * * * *"');
    const dir = project('schedules:\n  checks: { command: alerts }\n', { 'alerts/a.yaml': rule });
    const srv = await serve(dir);
    // two evaluations of the rule within one minute, at its seconds (:03, :06 ...), not only at :00
    const slots = () => [...srv.log().matchAll(/checks: alerts started for \S+:(\d\d)\.000Z/g)].map((m) => Number(m[1]));
    await waitFor(() => slots().filter((x) => x % 3 === 0 && x !== 0).length >= 2, 30_000, srv.log);
    await waitFor(() => /checks: OK in [\d.]+s: 1 rule, 0 firing/.test(srv.log()), 15_000, srv.log);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
    expect(srv.log()).not.toMatch(/FAILED/);
  });

  it("an alerts run on time is evaluated at its slot, as run-scheduler and Prometheus do: `for:` counts from slot to slot (was: from the moments runs happened to start, a page up to one slot late)", async () => {
    const rule = ALWAYS.replace('schedule: "0 0 1 1 *"', 'schedule: "*/3 * * * * *"\n    for: 3s');
    const dir = project('schedules:\n  checks: { command: alerts }\n', { 'alerts/a.yaml': rule });
    const srv = await serve(dir);
    await waitFor(() => /evaluated always: 1 firing/.test(srv.log()), 30_000, srv.log);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      const [row] = await db.query<Record<string, unknown>>('select * from analytics.vigil_alert_state');
      const body = Object.values(row).find((v): v is string => typeof v === 'string' && v.startsWith('{'))!;
      const doc = JSON.parse(body) as { instances?: Record<string, { status: string; activeSince: string; firedAt: string }>; state?: { instances: Record<string, { status: string; activeSince: string; firedAt: string }> } };
      const [inst] = Object.values(doc.instances ?? doc.state!.instances);
      expect(inst.status).toBe('firing');
      // its slots: whole seconds on the rule's schedule, one `for:` apart
      expect(Date.parse(inst.activeSince) % 3000, inst.activeSince).toBe(0);
      expect(Date.parse(inst.firedAt) - Date.parse(inst.activeSince)).toBe(3000);
    } finally {
      await db.close();
    }
  });

  it('every alert rule removed while serve runs: its alerts job fails saying so (was: "OK: no rule due", also under --run-now)', async () => {
    const dir = project('schedules:\n  alerts: { command: alerts, cron: "*/2 * * * * *" }\n', { 'alerts/a.yaml': ALWAYS.replace('query: select 1 as n', 'query: select 0 as n') });
    const srv = await serve(dir);
    await waitFor(() => /alerts: OK/.test(srv.log()), 30_000, srv.log);
    rmSync(join(dir, 'alerts/a.yaml'));
    const line = await waitFor(() => /^.*alerts: FAILED.*$/m.exec(srv.log())?.[0], 30_000, srv.log);
    expect(line).toMatch(/alerts: FAILED after [\d.]+s \(1 in a row; serve keeps running\): no alert rules in alerts\/\*\.yaml any more: nothing evaluated$/);
    expect(srv.log()).not.toMatch(/no rule due/);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });

  it('a rule removed while serve runs leaves vigil_alerts_firing (was: its series stayed at its last value, a rule firing forever for whatever reads /metrics)', async () => {
    const quiet = ALWAYS.replace('name: always', 'name: quiet').replace('query: select 1 as n', 'query: select 0 as n').replace('alerts:\n', '');
    const dir = project('schedules:\n  alerts: { command: alerts, cron: "*/2 * * * * *" }\n', { 'alerts/a.yaml': ALWAYS + quiet });
    const srv = await serve(dir);
    const firing = async () => (await (await fetch(`${srv.base}/metrics`)).text()).split('\n').filter((l) => l.startsWith('vigil_alerts_firing{'));
    expect(await waitFor(async () => ((await firing()).length === 2 ? await firing() : undefined), 30_000, srv.log)).toEqual(['vigil_alerts_firing{alert="always"} 1', 'vigil_alerts_firing{alert="quiet"} 0']);
    writeFileSync(join(dir, 'alerts/a.yaml'), `alerts:\n${quiet}`);
    expect(await waitFor(async () => ((await firing()).length === 1 ? await firing() : undefined), 30_000, srv.log)).toEqual(['vigil_alerts_firing{alert="quiet"} 0']);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });

  it('a mistake in alerts/*.yaml is exit 2 at start with its file:line, also when the alerts job selects nothing in particular', () => {
    const typo = ALWAYS.replace('    summary:', '    sumary:');
    for (const job of ['{ command: alerts }', '{ command: alerts, select: [always] }']) {
      const r = refused(project(`schedules:\n  alerts: ${job}\n`, { 'alerts/a.yaml': typo }), ['serve', '--listen', '127.0.0.1:0']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/alerts[/\\]a\.yaml:7:\d+: .*sumary/);
      expect(r.stdout + r.stderr).not.toMatch(/listening|\n\s+at /);
    }
    // a typo beside a good name in the job's select: exit 2 at start (was: served, evaluating 'always' alone)
    const part = refused(project('schedules:\n  alerts: { command: alerts, select: [always, alwyas] }\n', { 'alerts/a.yaml': ALWAYS }), ['serve', '--listen', '127.0.0.1:0']);
    expect(part.code, part.stdout + part.stderr).toBe(2);
    expect(part.stderr).toMatch(/schedules\.alerts \(project\.yaml:\d+\): --select alwyas matched no alert — did you mean 'always'\?/);
    expect(part.stdout + part.stderr).not.toMatch(/listening|\n\s+at /);
  });

  it('an alert query that does not compile is exit 2 at start with its file:line; one broken while serve runs fails its job, serve goes on', async () => {
    const missing = ALWAYS.replace('query: select 1 as n', "query: select count(*) as n from {{ ref('onee') }}");
    const r = refused(project('schedules:\n  alerts: { command: alerts }\n', { 'alerts/a.yaml': missing }), ['serve', '--listen', '127.0.0.1:0']);
    // (was: serve started, the rule an error instance at each run)
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(/alerts[/\\]a\.yaml:5:\d+: error: ref\('onee'\) not found — did you mean 'one'\? \[E_REF\]/);
    expect(r.stdout + r.stderr).not.toMatch(/listening|\n\s+at /);
    // broken after start: each run loads the alerts again, tolerating it (that rule's error instance)
    const dir = project('schedules:\n  alerts: { command: alerts, cron: "*/2 * * * * *" }\n', { 'alerts/a.yaml': ALWAYS.replace('query: select 1 as n', 'query: select 0 as n') });
    const srv = await serve(dir);
    await waitFor(() => /alerts: OK/.test(srv.log()), 30_000, srv.log);
    writeFileSync(join(dir, 'alerts/a.yaml'), missing);
    const line = await waitFor(() => /^.*alerts: FAILED.*$/m.exec(srv.log())?.[0], 30_000, srv.log);
    expect(line).toMatch(/always \(.*its query does not compile: alerts[/\\]a\.yaml:5:\d+: ref\('onee'\) not found/);
    expect((await fetch(`${srv.base}/livez`)).status).toBe(200);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });

  it('an alerts job whose notification is not delivered fails, as `vigil alerts evaluate` exits 1 (/metrics, /health, the log line)', async () => {
    // no routing key: the notification stays pending in the outbox
    const dir = project('schedules:\n  alerts: { command: alerts }\n', { 'alerts/a.yaml': ALWAYS, 'alerts/routes.yaml': routes('0s') });
    const srv = await serve(dir, ['--run-now']);
    const line = await waitFor(() => /^.*alerts: (OK|FAILED).*$/m.exec(srv.log())?.[0], 60_000, srv.log);
    expect(line).toMatch(/alerts: FAILED after [\d.]+s \(1 in a row; serve keeps running\): 1 rule, 1 firing, 0 sent; 1 notification not delivered \(pending\): see vigil alerts status/);
    expect(await (await fetch(`${srv.base}/metrics`)).text()).toMatch(/^vigil_run_status\{job="alerts"\} 0$/m);
    const health = (await (await fetch(`${srv.base}/health`)).json()) as { status: string; problems: string[] };
    expect(health.status).toBe('degraded');
    expect(health.problems.join('\n')).toMatch(/job alerts failed at \S+: .*1 notification not delivered \(pending\)/);
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
    const evaluate = vigil(dir, ['alerts', 'evaluate']);
    expect(evaluate.code).toBe(1);
  });

  it('a group_wait longer than a timer holds (30d) is waited out, not a flush in a loop (serve and run-scheduler)', async () => {
    const dir = project('schedules:\n  alerts: { command: alerts }\n', { 'alerts/a.yaml': ALWAYS, 'alerts/routes.yaml': routes('30d') });
    const srv = await serve(dir, ['--run-now']);
    await waitFor(() => /alerts: OK/.test(srv.log()), 60_000, srv.log);
    expect(srv.log()).toMatch(/held: always\{\} -> pd until/);
    await new Promise((r) => setTimeout(r, 3000));
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
    // (was: the timer fired after 1 ms, again and again)
    expect(srv.log()).not.toMatch(/sent what group_wait/);
    expect(srv.log()).not.toMatch(/TimeoutOverflowWarning/);

    const sched = project('', { 'alerts/a.yaml': ALWAYS.replace('"0 0 1 1 *"', '"*/2 * * * * *"'), 'alerts/routes.yaml': routes('30d') });
    const child = spawn(process.execPath, [VIGIL, 'alerts', 'run-scheduler', '--state-file', 'state.json'], { cwd: sched });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.stderr.on('data', (b: Buffer) => (text += b.toString()));
    await waitFor(() => /held: always\{\} -> pd until/.test(text), 30_000, () => text);
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGTERM');
    expect(await new Promise<number | null>((r) => child.on('close', r))).toBe(0);
    expect(text).toMatch(/evaluated always: 1 firing/);
    expect(text).not.toMatch(/sent what group_wait|TimeoutOverflowWarning/);
  });
});
