/**
 * run_started_at's datetime members against Python's own datetime (python3 on the machine: the
 * real thing dbt runs), over random instants and every directive Vigil accepts.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PyDateTime, strftime } from '../../src/compile/py-datetime.js';

const python = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' }).stdout?.trim() === '1';
const FORMAT = '%a %A %w %d %b %B %m %y %Y %H %I %p %M %S %f %z %Z %j %U %W %c|%x|%X %G %u %V %% %F %T %D %R %r %e %k %l %P %C %g %h %s %n %t %-d %-m %-H %-I %-M %-S %-j %-y %-e %-k %-p %-b %-A %-a %-B %-%';

/** Instants spread over 1970–2099 (a seeded generator: the same ones every run), plus year and week edges. */
function instants(): Date[] {
  let s = 20261206;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31);
  const out: Date[] = [];
  for (let i = 0; i < 300; i++) out.push(new Date(Math.floor(next() * Date.UTC(2100, 0, 1))));
  for (let y = 2019; y <= 2030; y++) for (const [m, d] of [[0, 1], [0, 3], [0, 4], [11, 28], [11, 29], [11, 31]]) out.push(new Date(Date.UTC(y, m, d, 23, 59, 59, 999)));
  out.push(new Date(Date.UTC(2026, 5, 1, 0, 0, 0, 0)), new Date(Date.UTC(2026, 5, 1, 12, 0, 0, 7)));
  return out;
}

describe('run_started_at as a Python datetime', () => {
  it.skipIf(!python)("strftime (Python's directives and glibc's, which CPython passes on on Linux, where dbt runs), isoformat, timestamp and the attributes are Python's, for 374 instants", () => {
    const ds = instants();
    const script = [
      'import datetime, json, sys',
      'out = []',
      'for ms in json.load(sys.stdin):',
      '    d = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(milliseconds=ms)',
      `    out.append([d.strftime(${JSON.stringify(FORMAT)}), d.isoformat(), d.isoformat(' ', 'seconds'), d.isoformat('T', 'milliseconds'), d.isoformat('T', 'minutes'), d.isoformat('T', 'hours'), d.timestamp(), d.weekday(), d.isoweekday(), d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond])`,
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(ds.map((d) => d.getTime())), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const expected = JSON.parse(r.stdout) as unknown[][];
    const got = ds.map((d) => {
      const p = new PyDateTime(d);
      return [p.strftime(FORMAT), p.isoformat(), p.isoformat(' ', 'seconds'), p.isoformat('T', 'milliseconds'), p.isoformat('T', 'minutes'), p.isoformat('T', 'hours'), p.timestamp(), p.weekday(), p.isoweekday(), p.year, p.month, p.day, p.hour, p.minute, p.second, p.microsecond];
    });
    for (const [i, d] of ds.entries()) expect(got[i], d.toISOString()).toEqual(expected[i]);
  });

  it('prints as its ISO 8601 text, as before; an unknown directive, a trailing % or a format that is not text is an error, never printed as itself', () => {
    const d = new Date(Date.UTC(2026, 11, 6, 5, 4, 3, 21));
    expect(String(new PyDateTime(d))).toBe('2026-12-06T05:04:03.021Z');
    expect(`${new PyDateTime(d)}`).toBe(d.toISOString());
    expect(() => strftime(d, '%Y-%Q')).toThrow(/^strftime: '%Q' is not a directive of Python's strftime \(it has %a, %A/);
    expect(() => strftime(d, '%-f')).toThrow(/'%-f' is not a directive/);
    expect(() => strftime(d, '%_d')).toThrow(/'%_' is not a directive/);
    expect(strftime(d, '%-d/%-m %-H:%M')).toBe('6/12 5:04');
    expect(() => strftime(d, '%Y%')).toThrow(/'%' is not a directive of Python's strftime \(a format cannot end with %\)/);
    expect(() => strftime(d, 7)).toThrow(/strftime\(\) argument 1 must be str, not number/);
    expect(() => new PyDateTime(d).isoformat('T', 'nanoseconds')).toThrow(/unknown timespec "nanoseconds"/);
  });
});
