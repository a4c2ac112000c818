/**
 * What `vigil serve` answers on /health and /internal/analytics-sync (seed 000: "last
 * successful run and latency metrics"): per synced stream its last successful sync, its lags
 * and consecutive failures, per job its last run and next slot. 503 when a stream breaches the
 * freshness SLO (serve.max_sync_age, serve.max_data_lag); a job whose last run failed makes
 * the status "degraded" (still 200: the data may be fresh), and says why.
 */
import { toEpochMs } from '../alerts/time.js';
import type { StreamState } from '../sync/sync-types.js';

export interface StreamHealth {
  stream: string;
  last_synced_at: string | null;
  source_max_cursor: string | null;
  last_status: string | null;
  last_error: string | null;
  consecutive_failures: number;
  rows_synced: number;
  /** now - last_synced_at (null: no successful sync known) */
  sync_lag_seconds: number | null;
  /**
   * No successful sync known (never synced, or its state could not be read): seconds since this
   * serve began watching the stream (its start, or when the stream joined sources.yml), the
   * lower bound of its sync lag /metrics exports; null once last_synced_at is known.
   */
  unsynced_seconds: number | null;
  /** now - source_max_cursor: how old the newest source row seen is */
  data_lag_seconds: number | null;
  /** the limit data_lag_seconds is judged by: the stream's own freshness error_after, else serve.max_data_lag (null: not judged) */
  max_data_lag_seconds: number | null;
  /** judged against the SLO: a stream some sync job of this serve covers */
  judged: boolean;
  ok: boolean;
  problem?: string;
}

export interface JobRun {
  slot: string;
  started_at: string;
  finished_at?: string;
  status: 'running' | 'success' | 'error' | 'skipped' | 'abandoned';
  message?: string;
  seconds?: number;
}

/**
 * How a job's run ended, from what it returned: stopped by the signal, failed (a stream that
 * failed, a project problem, the build after it: an error, counted, even when another stream of
 * the run was deferred), deferred (a stream held by another job, or met another sync twice:
 * its slot given back, run again, never an error), or a success.
 */
export function runOutcome(r: { ok: boolean; interrupted?: boolean; deferred?: unknown }, aborted: boolean): 'success' | 'error' | 'abandoned' {
  if (aborted && r.interrupted) return 'abandoned';
  if (!r.ok) return 'error';
  return r.deferred ? 'abandoned' : 'success';
}

export interface JobHealth {
  job: string;
  command: string;
  schedule: string;
  next_run: string | null;
  running: boolean;
  last_run: JobRun | null;
  last_success_at: string | null;
  consecutive_failures: number;
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'failing';
  checked_at: string;
  /** when the sync state was last read from the warehouse */
  state_read_at: string | null;
  slo: { max_sync_age_seconds: number; max_data_lag_seconds: number | null };
  /** the job running now (jobs run one at a time: a hung one holds up every schedule) */
  running: { job: string; since: string; seconds: number } | null;
  streams: StreamHealth[];
  jobs: JobHealth[];
  problems: string[];
}

const iso = (v: unknown): string | null => {
  const t = toEpochMs(v);
  return t === undefined ? null : new Date(t).toISOString();
};

/** What serve knows of a stream besides its state. */
export interface StreamSeen {
  /** its state was not read from the warehouse: why (the error, or not yet) */
  unread?: string;
  /** when this serve began watching it (epoch ms): its start, or when the stream was declared */
  sinceMs?: number;
}

/**
 * One stream's health at `now` against the SLO. `ownDataLagMs`: the stream's own limit (its source
 * table's freshness error_after, as the sync-data-latency alert's `source_freshness: true` reads
 * it), which replaces serve.max_data_lag for it where data lag is judged (a stream written every
 * few hours is not late between two writes).
 */
export function streamHealth(s: StreamState, now: number, slo: { maxSyncAgeMs: number; maxDataLagMs?: number }, judged = true, ownDataLagMs?: number, seen: StreamSeen = {}): StreamHealth {
  const maxDataLagMs = slo.maxDataLagMs === undefined ? undefined : (ownDataLagMs ?? slo.maxDataLagMs);
  const synced = toEpochMs(s.last_synced_at);
  const newest = toEpochMs(s.source_max_cursor);
  const syncLag = synced === undefined ? null : Math.max(0, (now - synced) / 1000);
  const dataLag = newest === undefined ? null : Math.max(0, (now - newest) / 1000);
  let problem: string | undefined;
  if (syncLag === null && seen.unread !== undefined) problem = `${s.stream}: its sync state could not be read from the warehouse (${seen.unread})`;
  else if (syncLag === null) problem = `${s.stream} has never been synced`;
  else if (syncLag * 1000 > slo.maxSyncAgeMs) problem = `${s.stream}: last successful sync ${Math.round(syncLag)}s ago (SLO ${Math.round(slo.maxSyncAgeMs / 1000)}s)${s.consecutive_failures ? `, ${s.consecutive_failures} consecutive failures${s.last_error ? `: ${s.last_error}` : ''}` : ''}`;
  else if (maxDataLagMs !== undefined && dataLag !== null && dataLag * 1000 > maxDataLagMs) problem = `${s.stream}: newest source row ${Math.round(dataLag)}s old (limit ${Math.round(maxDataLagMs / 1000)}s${ownDataLagMs !== undefined ? ": its source's freshness error_after" : ''})`;
  return {
    stream: s.stream,
    last_synced_at: iso(s.last_synced_at),
    source_max_cursor: iso(s.source_max_cursor),
    last_status: s.last_status,
    last_error: s.last_error,
    consecutive_failures: s.consecutive_failures,
    rows_synced: s.rows_synced,
    sync_lag_seconds: syncLag === null ? null : Math.round(syncLag * 10) / 10,
    data_lag_seconds: dataLag === null ? null : Math.round(dataLag * 10) / 10,
    unsynced_seconds: syncLag === null && seen.sinceMs !== undefined ? Math.round(Math.max(0, now - seen.sinceMs) / 100) / 10 : null,
    max_data_lag_seconds: maxDataLagMs === undefined ? null : maxDataLagMs / 1000,
    judged,
    ok: !judged || !problem,
    ...(problem && judged ? { problem } : {}),
  };
}

export function healthReport(streams: StreamHealth[], jobs: JobHealth[], slo: { maxSyncAgeMs: number; maxDataLagMs?: number }, stateReadAt: Date | undefined, now: Date, running?: { job: string; since: Date }): HealthReport {
  const problems = streams.filter((s) => !s.ok).map((s) => s.problem!);
  const jobProblems = jobs.filter((j) => j.last_run?.status === 'error').map((j) => `job ${j.job} failed at ${j.last_run!.finished_at}: ${j.last_run!.message ?? 'see the log'}`);
  return {
    status: problems.length ? 'failing' : jobProblems.length ? 'degraded' : 'ok',
    checked_at: now.toISOString(),
    state_read_at: stateReadAt?.toISOString() ?? null,
    slo: { max_sync_age_seconds: slo.maxSyncAgeMs / 1000, max_data_lag_seconds: slo.maxDataLagMs === undefined ? null : slo.maxDataLagMs / 1000 },
    running: running ? { job: running.job, since: running.since.toISOString(), seconds: Math.round((now.getTime() - running.since.getTime()) / 100) / 10 } : null,
    streams,
    jobs,
    problems: [...problems, ...jobProblems],
  };
}
