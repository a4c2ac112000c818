/**
 * `vigil alerts` where a rule's judging or its state could go quietly wrong, on real DuckDB (and
 * Postgres where the state table and its column types matter): new_value learning after a
 * skipped or failed first evaluation, zscore on a flat history of non-integers and on negative
 * series, keep_firing_for timed from the first evaluation the condition is off, columns of the
 * wrong type, rules that could never work (ratios, a cron that never fires, a 0s window), and
 * `--at` going back before the state's last evaluation.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { makeProject, removeDir, vigil } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function project(files: Record<string, string>): string {
  const dir = makeProject(files);
  dirs.push(dir);
  return dir;
}

const evaluate = (dir: string, at: string, ...more: string[]) => vigil(dir, ['alerts', 'evaluate', '--state-file', 'st.json', '--at', at, ...more]);

/** The instances of the state file, by key. */
const stateOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'st.json'), 'utf8')) as { state: { instances: Record<string, { status: string; keepFiringSince?: string }> } }).state.instances;

describe('new_value without time: the first rows judged are learned quietly', () => {
  const CAPS = "select * from (values ('a'),('b'),('c')) t(capability)";
  const rule = (extra = '') => `alerts:\n  - name: newcap\n    severity: info\n    query: select capability from {{ ref('caps') }}\n    condition: {type: new_value, column: capability}\n    summary: "new {{ capability }}"\n${extra}`;

  it('after a first evaluation skipped outside active hours (was: every existing value fired as new)', () => {
    const dir = project({ 'models/caps.sql': CAPS, 'alerts/a.yaml': rule('    active_hours: Mon-Fri 08:00-19:00 UTC\n') });
    expect(vigil(dir, ['build']).code).toBe(0);
    const sat = evaluate(dir, '2026-03-07T10:00:00Z');
    expect(sat.stdout).toContain('newcap  skipped (outside active hours)');
    const mon = evaluate(dir, '2026-03-09T10:00:00Z');
    expect(mon.code, mon.stdout + mon.stderr).toBe(0);
    expect(mon.stdout).toContain('newcap  0 firing');
    // a value that appears later is new
    writeFileSync(join(dir, 'models', 'caps.sql'), "select * from (values ('a'),('b'),('c'),('d')) t(capability)");
    expect(vigil(dir, ['build']).code).toBe(0);
    const later = evaluate(dir, '2026-03-09T10:15:00Z');
    expect(later.stdout).toContain('newcap  1 firing');
    expect(later.stdout).toContain('inactive -> firing {capability=d}');
  });

  it('after a first evaluation whose query failed (was: every existing value fired as new)', () => {
    const dir = project({ 'models/caps.sql': CAPS, 'alerts/a.yaml': rule() });
    // not built yet: the query fails
    const first = evaluate(dir, '2026-03-09T10:00:00Z');
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('newcap  ERROR');
    expect(vigil(dir, ['build']).code).toBe(0);
    const second = evaluate(dir, '2026-03-09T10:15:00Z');
    expect(second.stdout).toContain('newcap  0 firing');
    expect(second.stdout).toContain('firing -> resolved {vigil_state=error}');
  });
});

describe('zscore computed over the rows', () => {
  const SERIES = `select * from (values
  ('flat01', date '2026-03-01', 0.1::double), ('flat01', date '2026-03-02', 0.1), ('flat01', date '2026-03-03', 0.1), ('flat01', date '2026-03-04', 0.1000001),
  ('neg', date '2026-03-01', -10), ('neg', date '2026-03-02', -11), ('neg', date '2026-03-03', -10), ('neg', date '2026-03-04', -100),
  ('normal', date '2026-03-01', 10), ('normal', date '2026-03-02', 11), ('normal', date '2026-03-03', 10), ('normal', date '2026-03-04', 10.5)
) t(k, d, v)`;
  const rule = (extra = '') => `alerts:\n  - name: z\n    severity: info\n    query: select * from {{ ref('series') }}\n    time: d\n    group_by: [k]\n    condition: {type: zscore, value: v, days: 3${extra}}\n    summary: "{{ k }} z={{ zscore }} mean={{ mean }} sd={{ stddev }}"\n`;

  it('a flat history of non-integers (σ = 0, as stddev_samp) never fires (was: z = 5.9e9); a negative series fires without min_baseline (was: never)', () => {
    const dir = project({ 'models/series.sql': SERIES, 'alerts/a.yaml': rule() });
    expect(vigil(dir, ['build']).code).toBe(0);
    const r = evaluate(dir, '2026-03-04T12:00:00Z', '--dry-run');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('z  1 firing');
    expect(r.stdout).not.toContain('flat01');
    expect(r.stdout).toContain('inactive -> firing {k=neg} — neg z=-155.31 mean=-10.33 sd=0.58');
  });

  it('min_baseline, when given, still bounds the mean: a negative series under it does not fire', () => {
    const dir = project({ 'models/series.sql': SERIES, 'alerts/a.yaml': rule(', min_baseline: 0') });
    expect(vigil(dir, ['build']).code).toBe(0);
    const r = evaluate(dir, '2026-03-04T12:00:00Z', '--dry-run');
    expect(r.stdout).toContain('z  0 firing');
  });
});

describe('keep_firing_for: the hold starts at the first evaluation that finds the condition off (Prometheus)', () => {
  // on until 10:10 (the evaluation time is current_timestamp)
  const RULE = "alerts:\n  - name: k\n    severity: info\n    query: select 1 as x where current_timestamp < timestamptz '2026-03-10 10:10:00+00'\n    condition: {type: sql}\n    keep_firing_for: 15m\n    summary: k\n";

  it('firing at 10:00, off at 10:15: still firing at 10:29, resolved at 10:30 (was: resolved at 10:15)', () => {
    const dir = project({ 'alerts/a.yaml': RULE });
    expect(evaluate(dir, '2026-03-10T10:00:00Z').stdout).toContain('inactive -> firing');
    const off = evaluate(dir, '2026-03-10T10:15:00Z');
    expect(off.stdout).toContain('k  1 firing');
    expect(stateOf(dir)['k{}']).toMatchObject({ status: 'firing', keepFiringSince: '2026-03-10T10:15:00.000Z' });
    expect(evaluate(dir, '2026-03-10T10:29:00Z').stdout).toContain('k  1 firing');
    const end = evaluate(dir, '2026-03-10T10:30:00Z');
    expect(end.stdout).toContain('firing -> resolved');
  });

  it('on Postgres, state in its table: a state without keepFiringSince (as an older Vigil wrote it) loads and starts the hold; history says fired 10:00, resolved 10:30', async () => {
    const schema = uniqueSchema('alerts_keep');
    const dir = project({ 'project.yaml': pgProjectYaml(schema), 'alerts/a.yaml': RULE.replace("timestamptz '2026-03-10 10:10:00+00'", "'2026-03-10 10:10:00+00'::timestamptz") });
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
    const run = (at: string) => vigil(dir, ['alerts', 'evaluate', '--at', at], env);
    const client = new pg.Client({ connectionString: inject('pgUrl') });
    await client.connect();
    try {
      const doc = async () => JSON.parse((await client.query(`select body from ${schema}.vigil_alert_state where id = 'state' order by version desc limit 1`)).rows[0].body as string) as { instances: Record<string, Record<string, unknown>>; rules: Record<string, Record<string, unknown>> };
      const first = run('2026-03-10T10:00:00Z');
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.stdout).toContain('state in table');
      // an older Vigil's held instance: firing, no keepFiringSince (written back as such)
      const d = await doc();
      expect(d.instances['k{}'].status).toBe('firing');
      expect(d.instances['k{}']).not.toHaveProperty('keepFiringSince');
      expect(run('2026-03-10T10:15:00Z').stdout).toContain('k  1 firing');
      expect((await doc()).instances['k{}'].keepFiringSince).toBe('2026-03-10T10:15:00.000Z');
      expect(run('2026-03-10T10:29:00Z').stdout).toContain('k  1 firing');
      expect(run('2026-03-10T10:30:00Z').stdout).toContain('firing -> resolved');
      const events = await client.query(`select status, fired_at, resolved_at from ${schema}.vigil_alert_events order by event_at`);
      expect(events.rows.map((r: { status: string; fired_at: Date; resolved_at: Date | null }) => [r.status, r.fired_at.toISOString(), r.resolved_at?.toISOString() ?? null])).toEqual([
        ['firing', '2026-03-10T10:00:00.000Z', null],
        ['resolved', '2026-03-10T10:00:00.000Z', '2026-03-10T10:30:00.000Z'],
      ]);
    } finally {
      await client.end();
    }
  });
});

describe('a column of the wrong type is an error, never a quiet "0 firing"', () => {
  const NUMS = "select 'x' as k, 20 as n, 'notatime' as s, timestamp '2026-03-01 00:00:00' as ts, 12.5 as amount";
  const RULES = `alerts:
  - name: thr
    severity: info
    query: select * from {{ ref('nums') }}
    condition: {type: threshold, column: s, op: ">", value: 10}
    summary: t
  - name: fresh
    severity: info
    query: select * from {{ ref('nums') }}
    condition: {type: freshness, column: n, max_age: 1h}
    summary: f
  - name: nod
    severity: info
    query: select * from {{ ref('nums') }}
    condition: {type: no_data, column: s, window: 1h}
    summary: n
  - name: good
    severity: info
    query: select * from {{ ref('nums') }}
    time: ts
    condition: {type: threshold, column: amount, op: ">", value: 10}
    summary: g
`;

  // (thr and nod read a text column: its values may be numbers or timestamps, evaluation judges
  // them; a check that refused every text column failed rules that evaluate fine)
  it('check --warehouse names the column, its type and the line (was: OK); a text column passes', () => {
    const dir = project({ 'models/nums.sql': NUMS, 'alerts/a.yaml': RULES });
    expect(vigil(dir, ['build']).code).toBe(0);
    const r = vigil(dir, ['alerts', 'check', '--warehouse']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: alerts/a.yaml:10:42: alert fresh: column 'n' of its query is INTEGER, not a timestamp or a date: a freshness condition reads timestamps; cast it in the query");
    expect(r.stderr).not.toContain('alert thr');
    expect(r.stderr).not.toContain('alert nod');
    expect(r.stderr).not.toContain('alert good');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('check --warehouse passes text holding timestamps or numbers and a boolean compared to 1; refuses a type that can never hold the kind (was: VARCHAR refused, though evaluate read it)', () => {
    const MODEL = `select strftime(timestamp '2026-03-04 11:30:00', '%Y-%m-%d %H:%M:%S') as ts, json_extract_string('{"t": "2026-03-04T11:00:00Z", "n": "12.5"}', '$.t') as jt,
  json_extract_string('{"n": "12.5"}', '$.n') as jn, true as flag, date '2026-03-04' as d, interval 1 hour as i`;
    const rule = (name: string, condition: string) => `  - name: ${name}\n    severity: info\n    query: select * from {{ ref('texts') }}\n    condition: {${condition}}\n    summary: s\n`;
    const dir = project({
      'models/texts.sql': MODEL,
      'alerts/a.yaml': `alerts:\n${[
        rule('ts', 'type: freshness, column: ts, max_age: 1h'),
        rule('jt', 'type: no_data, column: jt, window: 2h'),
        rule('jn', 'type: threshold, column: jn, op: ">", value: 10'),
        rule('flag', 'type: threshold, column: flag, op: "==", value: 1'),
        rule('dnum', 'type: threshold, column: d, op: ">", value: 1'),
        rule('bool', 'type: freshness, column: flag, max_age: 1h'),
        rule('ival', 'type: freshness, column: i, max_age: 1h'),
      ].join('')}`,
    });
    expect(vigil(dir, ['build']).code).toBe(0);
    const r = vigil(dir, ['alerts', 'check', '--warehouse']);
    expect(r.code).toBe(2);
    for (const ok of ['ts', 'jt', 'jn', 'flag']) expect(r.stderr).not.toContain(`alert ${ok}:`);
    expect(r.stderr).toContain("error: alerts/a.yaml:25:42: alert dnum: column 'd' of its query is DATE, not a number: a threshold condition compares numbers");
    expect(r.stderr).toContain("error: alerts/a.yaml:30:42: alert bool: column 'flag' of its query is BOOLEAN, not a timestamp or a date");
    expect(r.stderr).toContain("error: alerts/a.yaml:35:42: alert ival: column 'i' of its query is INTERVAL, not a timestamp or a date");
    expect(r.stderr).toContain('3 problems found.');
    // and the rules check passes evaluate as it reads them
    const e = evaluate(dir, '2026-03-04T12:00:00Z', '--dry-run', '-s', 'ts', '-s', 'jt', '-s', 'jn', '-s', 'flag');
    expect(e.code, e.stdout + e.stderr).toBe(0);
    expect(e.stdout).toMatch(/ts +0 firing/);
    expect(e.stdout).toMatch(/jt +0 firing/);
    expect(e.stdout).toMatch(/jn +1 firing/);
    expect(e.stdout).toMatch(/flag +1 firing/);
  });

  it("evaluate raises each rule's error instance naming the column and the value's type (was: 0 firing; an age of 20792d; last_seen_at '')", () => {
    const dir = project({ 'models/nums.sql': NUMS, 'alerts/a.yaml': RULES });
    expect(vigil(dir, ['build']).code).toBe(0);
    const r = evaluate(dir, '2026-03-04T12:00:00Z');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("thr    ERROR column 's' (condition.column) holds text ('notatime'), not a number: a threshold condition compares numbers");
    expect(r.stdout).toContain("fresh  ERROR column 'n' (condition.column) holds a number (20), not a timestamp or a date: a freshness condition measures the age of a timestamp");
    expect(r.stdout).toContain("nod    ERROR column 's' (condition.column) holds text ('notatime'), not a timestamp or a date");
    expect(r.stdout).toContain('good   1 firing');
    expect(r.stdout).not.toContain('20792d');
  });

  it('on Postgres too: check --warehouse reads the types of its result columns', () => {
    const schema = uniqueSchema('alerts_types');
    const dir = project({ 'project.yaml': pgProjectYaml(schema), 'models/nums.sql': NUMS.replace("timestamp '2026-03-01 00:00:00'", "'2026-03-01 00:00:00'::timestamp").replace("'x' as k", "'x'::text as k").replace("'notatime' as s", "'notatime'::text as s"), 'alerts/a.yaml': RULES });
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl') };
    expect(vigil(dir, ['build'], env).code).toBe(0);
    const r = vigil(dir, ['alerts', 'check', '--warehouse'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("alerts/a.yaml:10:42: alert fresh: column 'n' of its query is int4, not a timestamp or a date");
    // text may hold numbers: evaluation judges its values
    expect(r.stderr).not.toContain('alert thr');
    expect(r.stderr).not.toContain('alert good');
  });
});

describe('rules that could never work are errors at their line', () => {
  it.each([
    ['contradictory anomaly ratios (was: every row fired)', '    query: select 1 as n, 2 as b\n    condition: {type: anomaly, value: n, baseline: b, direction: both, spike_ratio: 0.5, drop_ratio: 3}\n', ["alerts/a.yaml:5:85: error: alert 'a': condition.spike_ratio 0.5 must be above 1", "alerts/a.yaml:5:102: error: alert 'a': condition.drop_ratio 3 must be below 1"]],
    ['a drop_ratio of 1 with direction: drop', '    query: select 1 as n, 2 as b\n    condition: {type: anomaly, value: n, baseline: b, direction: drop, drop_ratio: 1}\n', ["alerts/a.yaml:5:84: error: alert 'a': condition.drop_ratio 1 must be below 1"]],
    ['a cron that never fires (was: accepted; the scheduler said next never)', '    schedule: { cron: "0 9 31 2 *" }\n    query: select 1 as x\n    condition: {type: sql}\n', ["alerts/a.yaml:4:15: error: alert 'a': schedule '0 9 31 2 *' (UTC) is not valid: it never fires"]],
    // croner counts day-of-month and month from 0: its "Invalid value for day: -1" quoted a number no one wrote
    ['a day-of-month of 0 (was: "Invalid value for day: -1")', '    schedule: { cron: "0 0 0 * *" }\n    query: select 1 as x\n    condition: {type: sql}\n', ["alerts/a.yaml:4:15: error: alert 'a': schedule '0 0 0 * *' (UTC) is not valid: day-of-month 0 is out of range (1–31)"]],
    ['a month of 13 (was: "Invalid value for month: 12")', '    schedule: { cron: "0 9 1 13 *" }\n    query: select 1 as x\n    condition: {type: sql}\n', ["alerts/a.yaml:4:15: error: alert 'a': schedule '0 9 1 13 *' (UTC) is not valid: month 13 is out of range (1–12, or JAN–DEC)"]],
    // croner takes a stepped range whose step never reaches its bad end: the one cron grammar (serve's schedules too) checks every bound, as Vixie cron does
    ['a stepped range past the end of day-of-month (was: accepted)', '    schedule: { cron: "0 0 1-32/10 * *" }\n    query: select 1 as x\n    condition: {type: sql}\n', ["alerts/a.yaml:4:15: error: alert 'a': schedule '0 0 1-32/10 * *' (UTC) is not valid: day-of-month '1-32/10': 32 is out of range (1–31)"]],
    ['a stepped range past the end of the seconds (was: accepted)', '    schedule: { cron: "1-60/5 * * * * *" }\n    query: select 1 as x\n    condition: {type: sql}\n', ["alerts/a.yaml:4:15: error: alert 'a': schedule '1-60/5 * * * * *' (UTC) is not valid: seconds '1-60/5': 60 is out of range (0–59)"]],
    ['new_value with window: 0s (was: accepted; nothing ever new)', "    query: select 'x' as c\n    condition: {type: new_value, column: c, window: 0s}\n", ["alerts/a.yaml:5:53: error: alert 'a': condition.window 0s must be more than 0s (a value would never be new)"]],
    ['freshness with max_age: 0s (was: accepted; every row late)', "    query: select current_timestamp as t\n    condition: {type: freshness, column: t, max_age: 0s}\n", ["alerts/a.yaml:5:54: error: alert 'a': condition.max_age 0s must be more than 0s (every evaluation would find the newest row late)"]],
  ])('%s', (_name, body, expected) => {
    const dir = project({ 'alerts/a.yaml': `alerts:\n  - name: a\n    severity: info\n${body}    summary: s\n` });
    const r = vigil(dir, ['alerts', 'check']);
    expect(r.code, r.stdout).toBe(2);
    for (const e of expected) expect(r.stderr).toContain(e);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a valid anomaly (the default ratios) and a cron that fires once a year still pass', () => {
    const dir = project({ 'alerts/a.yaml': 'alerts:\n  - name: a\n    severity: info\n    schedule: "0 9 29 2 *"\n    query: select 1 as n, 2 as b\n    condition: {type: anomaly, value: n, baseline: b}\n    summary: s\n' });
    const r = vigil(dir, ['alerts', 'check']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('--at before the state\'s last evaluation', () => {
  const RULE = "alerts:\n  - name: k\n    severity: info\n    query: select 1 as x where current_timestamp < timestamptz '2026-03-10 10:10:00+00'\n    condition: {type: sql}\n    summary: k\n";

  it('is refused (exit 2, naming that time) unless --dry-run; nothing is written (was: resolved_at before fired_at in vigil_alert_events)', () => {
    const dir = project({ 'alerts/a.yaml': RULE });
    expect(evaluate(dir, '2026-03-10T10:05:00Z').stdout).toContain('inactive -> firing');
    const back = evaluate(dir, '2026-03-10T10:00:00Z');
    expect(back.code).toBe(2);
    expect(back.stderr).toContain("--at 2026-03-10T10:00:00.000Z is before the state's last evaluation (2026-03-10T10:05:00.000Z, alert k)");
    expect(back.stderr).not.toMatch(/\n\s+at /);
    // ...and later evaluations go on from the state, lock released
    const dry = evaluate(dir, '2026-03-10T09:00:00Z', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(evaluate(dir, '2026-03-10T10:20:00Z').stdout).toContain('firing -> resolved');
    const events = vigil(dir, ['show', '--inline', "select status, fired_at, resolved_at from {{ source('vigil', 'alert_events') }} order by event_at", '--output', 'json']);
    expect(JSON.parse(events.stdout)).toEqual([
      { status: 'firing', fired_at: expect.stringMatching(/^2026-03-10[ T]10:05:00/), resolved_at: null },
      { status: 'resolved', fired_at: expect.stringMatching(/^2026-03-10[ T]10:05:00/), resolved_at: expect.stringMatching(/^2026-03-10[ T]10:20:00/) },
    ]);
  });
});

describe('--at ahead of the clock', () => {
  // (was: evaluated and saved; the next run by the clock (the scheduler, evaluate without --at) found
  // the group's last notification a year ahead and held a new alert's trigger "until 2027-...", exit 0)
  it('is refused (exit 2) unless --dry-run, and nothing is written; a minute ahead (a clock a little off) still goes', () => {
    const dir = project({ 'alerts/a.yaml': "alerts:\n  - name: k\n    severity: info\n    query: select 1 as x\n    condition: {type: sql}\n    summary: k\n" });
    const ahead = new Date(Date.now() + 366 * 86_400_000).toISOString();
    const r = evaluate(dir, ahead);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--at \S+ is ahead of the clock \(\S+\): the state would record an evaluation the clock has not reached/);
    expect(r.stderr).toContain('nothing was evaluated or sent');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(() => readFileSync(join(dir, 'st.json'))).toThrow();
    const dry = evaluate(dir, ahead, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('inactive -> firing');
    // a minute ahead (a clock a little off) still goes
    const soon = evaluate(dir, new Date(Date.now() + 60_000).toISOString());
    expect(soon.code, soon.stderr).toBe(0);
    expect(soon.stdout).toContain('inactive -> firing');
  });
});
