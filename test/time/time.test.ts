/** The one duration grammar and the one timestamp grammar every flag and YAML key uses. */
import { describe, expect, it } from 'vitest';
import { durationBefore, durationMs, formatDuration, parseDuration } from '../../src/time/duration.js';
import { Duration } from '../../src/time/duration-schema.js';
import { parseTimestamp } from '../../src/time/timestamp.js';
import { wallSpans } from '../../src/time/zoned.js';
import { cronClock, cronProblem } from '../../src/time/schedule.js';

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['2w', 1_209_600_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['1d12h', 129_600_000],
    ['1y', 31_536_000_000],
    ['1y2w3d4h5m6s7ms', 31_536_000_000 + 2 * 604_800_000 + 3 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6_007],

  ])('%s', (text, ms) => expect(durationMs(text)).toBe(ms));

  it.each(['30m1h', '1h1h', '100ms500ms', '1s1m', '1d1w'])('refuses %j: units out of order or repeated, as Prometheus and Alertmanager do (was: read as their sum)', (text) => {
    expect(durationMs(text)).toBeNaN();
    expect((parseDuration('group_wait', text) as Error).message).toBe(`group_wait must name its units largest first, each once, like 1h30m (as in Prometheus and Alertmanager), got '${text}'`);
  });

  it.each(['', '5', '1 hour', 'P1D', '-5m', '5M', '1h 30m', 'h', '1x', ' 5m'])('refuses %j', (text) => {
    expect(durationMs(text)).toBeNaN();
    expect(Duration.safeParse(text).success).toBe(false);
    expect((parseDuration('--lookback', text) as Error).message).toBe(`--lookback must be a duration like 30s, 15m, 1h30m, 2d or 1w (units ms, s, m, h, d, w, y), got '${text}'`);
  });

  it('a point in time that far back counts years on the calendar (retention cutoffs), other units as fixed lengths', () => {
    const at = new Date('2026-12-02T17:00:00Z');
    expect(durationBefore(at, '7y').toISOString()).toBe('2019-12-02T17:00:00.000Z'); // 7 x 365 days would be 2019-12-04
    expect(durationBefore(new Date('2024-02-29T00:00:00Z'), '1y').toISOString()).toBe('2023-02-28T00:00:00.000Z');
    expect(durationBefore(at, '90d').toISOString()).toBe('2026-09-03T17:00:00.000Z');
    expect(durationBefore(at, '1y1d12h').toISOString()).toBe('2025-12-01T05:00:00.000Z');
    expect(durationBefore(at, '90 days').getTime()).toBeNaN();
  });

  it('a lower bound, and formatting back', () => {
    expect((parseDuration('--for', '0s', { min: 1 }) as Error).message).toBe("--for must be more than 0s, got '0s'");
    expect((parseDuration('--grace', '1m', { min: 120_000 }) as Error).message).toBe("--grace must be at least 2m, got '1m'");
  });

  it('an upper bound: 292 years, as in Prometheus (longer ones overflow dates), in flags and in YAML', () => {
    expect(parseDuration('--lookback', '292y')).toBe(292 * 365 * 86_400_000);
    expect((parseDuration('--lookback', '99999999y') as Error).message).toBe("--lookback must be at most 292y (as in Prometheus), got '99999999y'");
    expect(Duration.safeParse('10000000000d').error?.issues[0].message).toBe('must be at most 292y (as in Prometheus)');
    expect(Duration.safeParse('90 days').error?.issues[0].message).toMatch(/^must be a duration like 30s/);
    expect(Duration.safeParse('7y').success).toBe(true);
    expect([formatDuration(5_400_000), formatDuration(45_000), formatDuration(3 * 86_400_000 + 3_600_000)]).toEqual(['1h30m', '45s', '3d1h']);
  });
});

describe('timestamps', () => {
  it.each([
    ['2026-11-22T09:00:00Z', '2026-11-22T09:00:00.000Z'],
    ['2026-11-22T09:00:00', '2026-11-22T09:00:00.000Z'], // no offset: UTC, never the machine's zone
    ['2026-11-22 09:00', '2026-11-22T09:00:00.000Z'],
    ['2026-11-22', '2026-11-22T00:00:00.000Z'],
    ['2026-11-22T09:00:00+02:00', '2026-11-22T07:00:00.000Z'],
    ['2026-11-22T09:00:00-0700', '2026-11-22T16:00:00.000Z'],
    ['2026-11-22T09:00:00+05', '2026-11-22T04:00:00.000Z'],
    ['2026-11-22T09:00:00.123456Z', '2026-11-22T09:00:00.123Z'],
  ])('%s', (text, iso) => expect((parseTimestamp('--at', text) as Date).toISOString()).toBe(iso));

  it.each(['yesterday', '22/11/2026', '2026-02-31', '2026-11-22T25:00', '2026-13-01', '1700000000', ''])('refuses %j', (text) => {
    const r = parseTimestamp('--since', text);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toContain(`--since must be an ISO 8601 timestamp like 2026-11-22T09:00:00Z or 2026-11-22 (UTC unless it has an offset like +02:00), got '${text}'`);
  });

  it('does not depend on the machine time zone', () => {
    const before = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      expect((parseTimestamp('--now', '2026-06-01T12:00') as Date).toISOString()).toBe('2026-06-01T12:00:00.000Z');
    } finally {
      process.env.TZ = before;
    }
  });
});

describe('schedules as Vixie cron runs them: daylight saving, day of month and day of week (serve jobs, alert rules)', () => {
  const runs = (expr: string, tz: string, from: string, n: number) => {
    const c = cronClock(expr, tz);
    const out: string[] = [];
    let t = new Date(from);
    for (let i = 0; i < n; i++) {
      t = c.nextRun(t)!;
      out.push(t.toISOString());
    }
    return out;
  };

  it('a list of hours is a fixed-time job, as in Vixie cron: its time in the spring-forward gap runs after the gap (was: skipped that day)', () => {
    // Europe/Berlin 2026-03-29: 02:00 CET -> 03:00 CEST; 02:30 does not exist
    expect(runs('30 2,14 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 4)).toEqual([
      '2026-03-28T13:30:00.000Z',
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, right after the gap, as `30 2 * * *` runs
      '2026-03-29T12:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(runs('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 1)).toEqual(['2026-03-29T01:00:00.000Z']);
  });

  it('a list or range of hours runs once in the repeated hour of the fall-back day (was: twice)', () => {
    // America/New_York 2026-11-01: 01:00-02:00 happens twice (EDT, then EST)
    expect(runs('0 1,13 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 3)).toEqual(['2026-10-31T17:00:00.000Z', '2026-11-01T05:00:00.000Z', '2026-11-01T18:00:00.000Z']);
    expect(runs('0 1-2 * * *', 'America/New_York', '2026-11-01T00:00:00Z', 3)).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-02T06:00:00.000Z']);
  });

  it('day of month and day of week: either is enough only when neither starts with * (crontab(5)); `*/2` with a weekday is both (was: every other day and every Monday)', () => {
    expect(runs('0 0 */2 * 1', 'UTC', '2026-12-01T00:00:00Z', 3)).toEqual(['2026-12-07T00:00:00.000Z', '2026-12-21T00:00:00.000Z', '2027-01-11T00:00:00.000Z']);
    expect(runs('0 0 0 */2 * 1', 'UTC', '2026-12-01T00:00:00Z', 1)).toEqual(['2026-12-07T00:00:00.000Z']);
    // both restricted: either one (the 13th, and every Friday)
    expect(runs('0 0 13 * 5', 'UTC', '2026-12-01T00:00:00Z', 3)).toEqual(['2026-12-04T00:00:00.000Z', '2026-12-11T00:00:00.000Z', '2026-12-13T00:00:00.000Z']);
    expect(runs('0 0 1-31/2 * 1', 'UTC', '2026-12-01T00:00:00Z', 3)).toEqual(['2026-12-03T00:00:00.000Z', '2026-12-05T00:00:00.000Z', '2026-12-07T00:00:00.000Z']);
    // one of them *: the other alone
    expect(runs('0 0 1 * *', 'UTC', '2026-12-01T00:00:00Z', 1)).toEqual(['2027-01-01T00:00:00.000Z']);
    expect(runs('0 0 * * 1', 'UTC', '2026-12-01T00:00:00Z', 1)).toEqual(['2026-12-07T00:00:00.000Z']);
    expect(runs('@monthly', 'UTC', '2026-12-01T00:00:00Z', 1)).toEqual(['2027-01-01T00:00:00.000Z']);
  });

  it('a job with a * or a step in its minutes or hours runs in both passes of a repeated hour, and its latest slot is the one nextRun gave', () => {
    const c = cronClock('*/30 * * * *', 'America/New_York');
    expect(runs('*/30 * * * *', 'America/New_York', '2026-11-01T05:00:00Z', 3)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T06:30:00.000Z']);
    // (serve's catch-up reads the latest slot back: the same instants)
    expect(c.previousRuns(1, new Date('2026-11-01T06:00:00.001Z'))[0].toISOString()).toBe('2026-11-01T06:00:00.000Z');
    const fixed = cronClock('0 1,13 * * *', 'America/New_York');
    expect(fixed.previousRuns(1, new Date('2026-11-01T06:30:00Z'))[0].toISOString()).toBe('2026-11-01T05:00:00.000Z');
  });
});

describe("croner's extensions, as docs/operations.md says them", () => {
  it('L (last day, last weekday), # (nth weekday) and ? are accepted and run when documented', () => {
    const next = (p: string) => {
      expect(cronProblem(p, 'UTC')).toBeUndefined();
      return cronClock(p, 'UTC').nextRuns(2, new Date('2026-12-01T00:00:00Z')).map((d) => d.toISOString().slice(0, 16));
    };
    expect(next('0 0 L * *')).toEqual(['2026-12-31T00:00', '2027-01-31T00:00']);
    expect(next('0 0 * * 5L')).toEqual(['2026-12-25T00:00', '2027-01-29T00:00']);
    expect(next('0 9 * * 1#1')).toEqual(['2026-12-07T09:00', '2027-01-04T09:00']);
    expect(next('0 9 ? * 1')).toEqual(['2026-12-07T09:00', '2026-12-14T09:00']);
  });
});

describe('wall-clock spans across DST changes (active hours)', () => {
  const span = (zone: string, date: string, from: string, to: string) => {
    const min = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
    return wallSpans(zone, Date.parse(`${date}T00:00:00Z`), min(from), min(to)).map(([a, b]) => [new Date(a).toISOString(), new Date(b).toISOString()]);
  };
  it('a skipped start begins at the jump, a repeated hour is held in both passes, a 30-minute shift (Lord Howe) and a zone without DST (Kolkata)', () => {
    expect(span('Europe/Berlin', '2026-03-29', '02:30', '04:00')).toEqual([['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z']]);
    expect(span('Europe/Berlin', '2026-03-29', '02:00', '03:00')).toEqual([]);
    expect(span('Europe/Berlin', '2026-10-25', '02:00', '02:45')).toEqual([['2026-10-25T00:00:00.000Z', '2026-10-25T00:45:00.000Z'], ['2026-10-25T01:00:00.000Z', '2026-10-25T01:45:00.000Z']]);
    expect(span('Europe/Berlin', '2026-10-25', '00:00', '24:00')).toEqual([['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']]);
    expect(span('America/New_York', '2026-11-01', '01:00', '02:00')).toEqual([['2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z']]);
    expect(span('America/New_York', '2026-03-08', '01:30', '03:30')).toEqual([['2026-03-08T06:30:00.000Z', '2026-03-08T07:30:00.000Z']]);
    // Lord Howe goes back 30 minutes at 02:00 (+11 to +10:30) on 2026-04-05: 01:30-02:00 twice
    expect(span('Australia/Lord_Howe', '2026-04-05', '01:45', '02:15')).toEqual([['2026-04-04T14:45:00.000Z', '2026-04-04T15:00:00.000Z'], ['2026-04-04T15:15:00.000Z', '2026-04-04T15:45:00.000Z']]);
    expect(span('Asia/Kolkata', '2026-03-29', '02:30', '04:00')).toEqual([['2026-03-28T21:00:00.000Z', '2026-03-28T22:30:00.000Z']]);
  });
});
