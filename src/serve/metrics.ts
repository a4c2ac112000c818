/**
 * What `vigil serve` exposes on /metrics, in the Prometheus text format, through prom-client
 * (no hand-written exposition). Counters and histograms count this process's own runs; the
 * sync lag gauges are computed at scrape time from the last sync state read from the warehouse,
 * so they grow while nothing syncs.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamHealth } from './health.js';

/** How many pending notifications' ids ServeMetrics remembers (each counted once). */
const PENDING_KEPT = 10_000;

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export class ServeMetrics {
  readonly registry = new Registry();
  readonly syncRows: Counter<'stream'>;
  readonly syncDuration: Histogram<'stream' | 'status'>;
  readonly runStatus: Gauge<'job'>;
  readonly jobRuns: Counter<'job' | 'result'>;
  readonly lastSuccess: Gauge<'job'>;
  readonly modelBuild: Histogram<'model' | 'status'>;
  readonly alertsFiring: Gauge<'alert'>;
  readonly notifications: Counter<'result'>;
  /**
   * The notifications counted pending: each id once for the process's life, however often it is
   * retried or goes pending again (after uncertain); kept up to PENDING_KEPT ids, the oldest
   * forgotten first.
   */
  private readonly pendingSeen = new Set<string>();

  constructor(streams: () => StreamHealth[], running: () => { job: string; since: Date } | undefined) {
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.syncRows = new Counter({ name: 'vigil_sync_rows_total', help: 'Rows copied by vigil sync jobs of this process, per stream.', labelNames: ['stream'], registers: r });
    this.syncDuration = new Histogram({ name: 'vigil_sync_duration_seconds', help: 'Duration of each stream sync of this process.', labelNames: ['stream', 'status'], buckets: BUCKETS, registers: r });
    new Gauge({
      name: 'vigil_sync_lag_seconds',
      help: 'Per stream: seconds since the newest source row seen (lag="data") and since the last successful sync (lag="sync"; with none known, since serve began watching the stream), at scrape time.',
      labelNames: ['stream', 'lag'],
      registers: r,
      collect() {
        this.reset();
        for (const s of streams()) {
          if (s.data_lag_seconds !== null) this.set({ stream: s.stream, lag: 'data' }, s.data_lag_seconds);
          // no successful sync known (never synced, or the warehouse not readable since start): the
          // time since serve began watching it, so `> 900` fires after 15 minutes without one from a
          // cold start (was: no sample, and an alert on it never fired)
          const sync = s.sync_lag_seconds ?? s.unsynced_seconds;
          if (sync !== null) this.set({ stream: s.stream, lag: 'sync' }, sync);
        }
      },
    });
    new Gauge({
      name: 'vigil_sync_consecutive_failures',
      help: 'Per stream: failed sync runs since the last successful one.',
      labelNames: ['stream'],
      registers: r,
      collect() {
        this.reset();
        for (const s of streams()) this.set({ stream: s.stream }, s.consecutive_failures);
      },
    });
    new Gauge({
      name: 'vigil_job_running_seconds',
      help: 'The job running now (one at a time): seconds since it started, at scrape time (no sample while none runs).',
      labelNames: ['job'],
      registers: r,
      collect() {
        this.reset();
        const now = running();
        if (now) this.set({ job: now.job }, (Date.now() - now.since.getTime()) / 1000);
      },
    });
    this.runStatus = new Gauge({ name: 'vigil_run_status', help: "Per job: 1 when its last run succeeded, 0 when it failed (seed 000's run_status).", labelNames: ['job'], registers: r });
    this.jobRuns = new Counter({ name: 'vigil_job_runs_total', help: 'Job runs of this process by result (success, error, abandoned: stopped by SIGTERM at a safe point, or deferred while another job held a stream it syncs; skipped: another serve had it or ran that slot).', labelNames: ['job', 'result'], registers: r });
    this.lastSuccess = new Gauge({ name: 'vigil_job_last_success_timestamp_seconds', help: 'Per job: when its last successful run finished (Unix time), whichever serve ran it, as the warehouse recorded it (so a restart does not blank it).', labelNames: ['job'], registers: r });
    this.modelBuild = new Histogram({ name: 'vigil_model_build_duration_seconds', help: 'Duration of each model, seed and snapshot built by jobs of this process.', labelNames: ['model', 'status'], buckets: BUCKETS, registers: r });
    this.alertsFiring = new Gauge({ name: 'vigil_alerts_firing', help: 'Per alert rule: instances firing after its last evaluation.', labelNames: ['alert'], registers: r });
    this.notifications = new Counter({ name: 'vigil_notifications_total', help: 'Notifications handled by the alert evaluations of this process, by result. sent, rejected, uncertain: as a delivery of this process ended. pending: once per notification an evaluation of this process queued (or found a dead run sending) and could not deliver; not again at each retry, and not one another process left pending.', labelNames: ['result'], registers: r });
  }

  /**
   * An evaluation's deliveries in vigil_notifications_total: what this evaluation sent, saw
   * refused or left uncertain, and each notification it moved to pending and left there
   * (EvalSummary.newlyPending) that this process has not counted before (as Alertmanager's
   * alertmanager_notifications_total and _failed_total count a notification once, not each
   * attempt). The outbox's other pending notifications (another replica's, a `vigil alerts
   * evaluate` by hand, one put back by `outbox --retry`) are not this process's to count.
   */
  countDelivery(sum: { delivery: Record<'sent' | 'rejected' | 'uncertain', number>; newlyPending: string[] }): void {
    for (const result of ['sent', 'rejected', 'uncertain'] as const) if (sum.delivery[result]) this.notifications.inc({ result }, sum.delivery[result]);
    let fresh = 0;
    for (const id of sum.newlyPending) {
      if (this.pendingSeen.has(id)) continue;
      fresh++;
      this.pendingSeen.add(id);
      // (a Set keeps insertion order: the first left is the oldest)
      if (this.pendingSeen.size > PENDING_KEPT) this.pendingSeen.delete(this.pendingSeen.values().next().value!);
    }
    if (fresh) this.notifications.inc({ result: 'pending' }, fresh);
  }

  /**
   * vigil_alerts_firing keeps the rules the project has now: the series of one removed (or
   * renamed) while serve runs goes, where it stayed at its last value — a rule firing forever
   * for whatever reads /metrics.
   */
  async keepAlerts(names: Set<string>): Promise<void> {
    for (const v of (await this.alertsFiring.get()).values) if (!names.has(String(v.labels.alert))) this.alertsFiring.remove(v.labels);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
