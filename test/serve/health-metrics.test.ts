/**
 * What /health judges a synced stream by (serve.max_data_lag, or the stream's own freshness
 * error_after), and how vigil_notifications_total counts a notification left pending (once, by the
 * process whose evaluation left it so, not at every retry), read back from prom-client's own
 * exposition.
 */
import { describe, expect, it } from 'vitest';
import { runOutcome, streamHealth } from '../../src/serve/health.js';
import { ServeMetrics } from '../../src/serve/metrics.js';
import type { StreamState } from '../../src/sync/sync-types.js';
import { makeProject, removeDir, vigil } from '../helpers.js';

const now = Date.parse('2026-12-02T12:00:00Z');
const state = (stream: string, newestHoursAgo: number): StreamState => ({
  stream,
  cursor_value: null,
  cursor_id: null,
  rows_synced: 10,
  last_synced_at: new Date(now - 60_000).toISOString(),
  source_max_cursor: new Date(now - newestHoursAgo * 3600_000).toISOString(),
  last_status: 'success',
  last_error: null,
  consecutive_failures: 0,
});

describe('/health data lag', () => {
  const slo = { maxSyncAgeMs: 2 * 60_000, maxDataLagMs: 3600_000 };
  it("judges a stream by its own freshness error_after where it has one (market captures every 4 hours), by serve.max_data_lag elsewhere", () => {
    // 3.8 h old, its source fails after 9 h: fine (was: 503 against the global hour)
    expect(streamHealth(state('raw.market_snapshots', 3.8), now, slo, true, 9 * 3600_000)).toMatchObject({ ok: true, max_data_lag_seconds: 9 * 3600 });
    const late = streamHealth(state('raw.market_snapshots', 9.5), now, slo, true, 9 * 3600_000);
    expect(late).toMatchObject({ ok: false, problem: "raw.market_snapshots: newest source row 34200s old (limit 32400s: its source's freshness error_after)" });
    // a stream without its own: the global limit
    expect(streamHealth(state('raw.ai_audit_logs', 1.5), now, slo, true)).toMatchObject({ ok: false, max_data_lag_seconds: 3600, problem: 'raw.ai_audit_logs: newest source row 5400s old (limit 3600s)' });
    // no serve.max_data_lag: data lag is not judged, own limit or not
    expect(streamHealth(state('raw.market_snapshots', 20), now, { maxSyncAgeMs: slo.maxSyncAgeMs }, true, 9 * 3600_000)).toMatchObject({ ok: true, max_data_lag_seconds: null });
  });
});

describe("a job run's outcome", () => {
  it('a stream that really failed makes the run an error (counted) even when another stream of it was deferred; deferred alone gives the run back; stopped by SIGTERM is abandoned', () => {
    // one stream failed, another met another sync twice (was: abandoned, the failure not counted)
    expect(runOutcome({ ok: false, deferred: {} }, false)).toBe('error');
    expect(runOutcome({ ok: true, deferred: {} }, false)).toBe('abandoned');
    // a stream another job held: nothing ran
    expect(runOutcome({ ok: true, deferred: { streams: ['raw.x'] } }, false)).toBe('abandoned');
    expect(runOutcome({ ok: false, interrupted: true }, true)).toBe('abandoned');
    expect(runOutcome({ ok: false }, false)).toBe('error');
    expect(runOutcome({ ok: true }, false)).toBe('success');
  });
});

describe('vigil_notifications_total', () => {
  const counted = async (m: ServeMetrics) => Object.fromEntries([...(await m.text()).matchAll(/^vigil_notifications_total\{result="(\w+)"\} (\d+)$/gm)].map((x) => [x[1], Number(x[2])]));
  /** An evaluation's summary as evaluateAlerts returns it: this run's deliveries, what it moved to pending, and the whole outbox's unsettled entries. */
  const summary = (x: { sent?: number; uncertain?: number; newlyPending?: string[]; unsettled?: Array<[string, string]> }) => ({
    delivery: { sent: x.sent ?? 0, rejected: 0, uncertain: x.uncertain ?? 0 },
    newlyPending: x.newlyPending ?? [],
    unsettled: (x.unsettled ?? []).map(([id, status]) => ({ id, status })),
  });

  it("says in its HELP what vigil_job_last_success_timestamp_seconds and vigil_job_runs_total hold, as operations.md does (was: 'of this process' for a time taken from the warehouse, whichever serve ran the job; abandoned without deferred runs)", async () => {
    const m = new ServeMetrics(() => [], () => undefined);
    m.lastSuccess.set({ job: 'j' }, 1);
    m.jobRuns.inc({ job: 'j', result: 'abandoned' });
    const text = await m.text();
    const help = (name: string) => text.split('\n').find((l) => l.startsWith(`# HELP ${name} `)) ?? '';
    expect(help('vigil_job_last_success_timestamp_seconds')).not.toMatch(/of this process/);
    expect(help('vigil_job_last_success_timestamp_seconds')).toMatch(/whichever serve ran it/);
    expect(help('vigil_job_runs_total')).toMatch(/abandoned: [^;)]*deferred/);
  });

  it("counts a notification this process's evaluations left pending once, for the process's life: not at each retry, not one another process left pending, not again after it went uncertain and was put back", async () => {
    const m = new ServeMetrics(() => [], () => undefined);
    // run 1: n1 is queued and cannot be delivered; run 2 retries it
    m.countDelivery(summary({ sent: 1, newlyPending: ['n1'], unsettled: [['n1', 'pending']] }));
    m.countDelivery(summary({ unsettled: [['n1', 'pending']] }));
    expect(await counted(m)).toEqual({ sent: 1, pending: 1 });
    // a `vigil alerts evaluate` by hand (or another replica) queued n2, which it could not deliver either: its own to count
    m.countDelivery(summary({ unsettled: [['n1', 'pending'], ['n2', 'pending']] }));
    expect(await counted(m)).toEqual({ sent: 1, pending: 1 });
    // n1 goes uncertain, is put back by `outbox --retry` and fails again: still counted once (was: twice)
    m.countDelivery(summary({ uncertain: 1, unsettled: [['n1', 'uncertain'], ['n2', 'pending']] }));
    m.countDelivery(summary({ unsettled: [['n1', 'pending'], ['n2', 'pending']] }));
    // n3: queued by this process, left pending
    m.countDelivery(summary({ newlyPending: ['n3'], unsettled: [['n1', 'pending'], ['n2', 'pending'], ['n3', 'pending']] }));
    expect(await counted(m)).toEqual({ sent: 1, pending: 2, uncertain: 1 });
    // all go out
    m.countDelivery(summary({ sent: 3 }));
    expect(await counted(m)).toEqual({ sent: 4, pending: 2, uncertain: 1 });
  });

  it('an evaluation says which notifications it moved to pending: the one it queued and could not deliver, not at its retries, nor one queued by another evaluation', async () => {
    const dir = makeProject({
      'models/one.sql': 'select 1 as n\n',
      'alerts/a.yaml': 'alerts:\n  - name: always\n    severity: critical\n    schedule: "0 0 1 1 *"\n    query: select 1 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    summary: "n is {{ n }}"\n  - name: also\n    severity: critical\n    schedule: "0 0 1 1 *"\n    query: select 2 as n\n    condition: { type: threshold, column: n, op: ">", value: 0 }\n    summary: "n is {{ n }}"\n',
      // (no routing key in the environment: every notification stays pending; each rule its own group)
      'alerts/routes.yaml': 'receivers:\n  - name: pd\n    pagerduty: { routing_key_env: VIGIL_TEST_NO_SUCH_KEY }\nroute:\n  receiver: pd\n  group_by: [alertname]\n  group_wait: 0s\n',
    });
    try {
      const { setupAlertsForEvaluation, evaluateScheduled, scheduledPolicy } = await import('../../src/cli/alerts-commands.js');
      const o = { projectDir: dir };
      const s = await setupAlertsForEvaluation(o);
      const policy = await scheduledPolicy(s, undefined);
      const always = s.rules.filter((r) => r.rule.name === 'always');
      const first = await evaluateScheduled(s, o, always, { policy, flushHeld: false, command: 'test' });
      expect(first.newlyPending).toHaveLength(1);
      expect(first.unsettled.map((e) => e.id)).toEqual(first.newlyPending);
      const retry = await evaluateScheduled(s, o, [], { policy, flushHeld: true, command: 'test' });
      expect(retry.unsettled.map((e) => e.id)).toEqual(first.newlyPending);
      expect(retry.newlyPending).toEqual([]);
      // another evaluation (by hand) queues one of its own, which stays pending
      const byHand = vigil(dir, ['alerts', 'evaluate', '--select', 'also']);
      expect(byHand.code, byHand.stdout + byHand.stderr).toBe(1);
      const after = await evaluateScheduled(s, o, [], { policy, flushHeld: true, command: 'test' });
      expect(after.unsettled).toHaveLength(2);
      expect(after.newlyPending).toEqual([]);
      const m = new ServeMetrics(() => [], () => undefined);
      for (const sum of [first, retry, after]) m.countDelivery(sum);
      expect(await counted(m)).toEqual({ pending: 1 });
    } finally {
      removeDir(dir);
    }
  }, 60_000);
});
