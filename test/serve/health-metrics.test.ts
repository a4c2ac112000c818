/**
 * What /health judges a synced stream by (serve.max_data_lag, or the stream's own freshness
 * error_after), and how vigil_notifications_total counts a notification left pending (once, not at
 * every retry), read back from prom-client's own exposition.
 */
import { describe, expect, it } from 'vitest';
import { streamHealth } from '../../src/serve/health.js';
import { ServeMetrics } from '../../src/serve/metrics.js';
import type { StreamState } from '../../src/sync/sync-types.js';

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

describe('vigil_notifications_total', () => {
  const counted = async (m: ServeMetrics) => Object.fromEntries([...(await m.text()).matchAll(/^vigil_notifications_total\{result="(\w+)"\} (\d+)$/gm)].map((x) => [x[1], Number(x[2])]));
  it('counts a notification left pending once, however many runs retry it; sent, rejected, uncertain when they happen', async () => {
    const m = new ServeMetrics(() => [], () => undefined);
    const none = { sent: 0, rejected: 0, uncertain: 0 };
    // run 1: n1 cannot be delivered; runs 2 and 3 retry it, and n2 joins it at run 3
    m.countDelivery({ delivery: { ...none, sent: 1 }, unsettled: [{ id: 'n1', status: 'pending' }] });
    m.countDelivery({ delivery: none, unsettled: [{ id: 'n1', status: 'pending' }] });
    m.countDelivery({ delivery: none, unsettled: [{ id: 'n1', status: 'pending' }, { id: 'n2', status: 'pending' }, { id: 'n0', status: 'rejected' }] });
    expect(await counted(m)).toEqual({ sent: 1, pending: 2 });
    // run 4: both go out
    m.countDelivery({ delivery: { ...none, sent: 2 }, unsettled: [] });
    expect(await counted(m)).toEqual({ sent: 3, pending: 2 });
  });
});
