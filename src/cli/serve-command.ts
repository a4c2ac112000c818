/**
 * `vigil serve`: one long-lived process that runs the project's `schedules:` (sync, build,
 * alerts, ...) and answers /health, /internal/analytics-sync and /metrics.
 *
 * - Jobs run in this process, one at a time (a DuckDB file has one writer; the warehouse is
 *   opened per job, so `vigil build` by hand works in between). A job due while another runs
 *   waits its turn; a job due again while it still waits is run once.
 * - Each run claims its slot in the warehouse (serve/lease.ts): several `serve` processes on
 *   one target run each slot of a job once, and never one job twice at the same time. A sync
 *   job also holds each stream it syncs: another job that selects the stream waits its turn
 *   (a few seconds at most, then its run is deferred: given back, the queue goes on, and it runs
 *   again once the stream is free; not failed).
 * - After a pause (a suspended VM, a long job ahead in the queue) a job runs once for the
 *   slots it missed, at once, without jitter; after a restart, a job whose last claimed slot
 *   is older than its latest slot catches up the same way (a warehouse that cannot be read at
 *   start is read again until it opens, then caught up). A job another serve process runs is
 *   checked again until that run ends: stopped before its end, or its process gone, it is caught
 *   up here (the claim keeps it to one run).
 * - SIGTERM/SIGINT/SIGHUP: no new job starts, the running one stops at its next safe point (sync:
 *   after the batch in progress commits; build: after the running models), its lease is
 *   released; after serve.grace the process exits anyway (every batch is its own transaction).
 * - A job that fails or throws is logged and shown in /health and /metrics; the others go on.
 */
import { createServer, type Server } from 'node:http';
import { constants as osConstants } from 'node:os';
import { formatDiagnostic, ProjectError, UsageError, WarehouseBusyError, type Diagnostic } from '../errors.js';
import { redact, redactStrings } from '../secrets.js';
import { loadProject } from '../project/load-project.js';
import { VIGIL_VERSION } from '../compile/compile-project.js';
import { ALERTS_TICK, serveConfig, type JobSpec, type ServeConfig } from '../serve/config.js';
import { cronClock, UnionClock, type Clock } from '../time/schedule.js';
import { timerAt } from '../time/timer.js';
import { JobLeases, leaseLost, type Holder, type LeaseDoc } from '../serve/lease.js';
import { leaseLive, setSingleHost } from '../run/cas-document.js';
import { ServeMetrics } from '../serve/metrics.js';
import { healthReport, runOutcome, streamHealth, type JobHealth, type JobRun } from '../serve/health.js';
import type { StreamState } from '../sync/sync-types.js';
import { errorAfterByStream } from '../run/freshness.js';
import { toEpochMs } from '../alerts/time.js';
import type { Adapter } from '../adapters/adapter.js';
import type { Manifest, SourceNode } from '../compile/manifest.js';
import { compileChecked, compileForCommand, err, out, runExecute, select, type Common } from './commands.js';
import { openWhenFree } from './command-kit.js';
import { selectedStreams, syncSetup } from './sync-command.js';
import type { Setup } from './alerts-commands.js';
import { listenOn } from './listen.js';
import { checkJobSelection, defaultSelectorNotUsed } from './schedule-selection.js';
import { docRef } from '../install.js';

type Compiled = ReturnType<typeof compileForCommand>;

/**
 * A sync job's hold on the streams it syncs (serve/lease.ts): taken before it syncs (and again,
 * before it syncs once more, for a stream whose lease it lost meanwhile), given back after.
 */
interface StreamLeases {
  hold(streams: string[]): Promise<{ ok: true } | { ok: false; why: string; holder?: Holder }>;
  release(): Promise<void>;
  /** the streams of `streams` whose lease this job lost (ran out, taken over), with who holds each now */
  lost(streams: string[]): Promise<Map<string, Holder | undefined>>;
}

/**
 * How long a sync job waits for a stream another job syncs before its run is deferred (given
 * back, run again once the stream is free): a job about to finish, not a whole lease — the queue
 * waits with it, and alerts jobs with the queue.
 */
const STREAM_WAIT_MS = 5000;
/** How soon it looks again whether the stream is free (then twice as late each time, up to a thirtieth of a lease). */
const STREAM_POLL_MS = 1000;

/** A run given back (deferred): `streams` another job held (watched until free), or none (met another sync twice). */
interface Deferred {
  holder?: Holder;
  streams?: string[];
}

interface Due {
  job: JobSpec;
  slot: Date;
  /** the slot before it (alerts jobs without cron: rules due in (previous, slot]) */
  previous: Date;
  /** alerts jobs without cron: the previous of its own, when the window starts before it (at a run that evaluated nothing) */
  ownPrevious?: Date;
  missed: number;
  why: string;
  /** alerts jobs: every selected rule, whatever its own schedule (--run-now) */
  allRules?: boolean;
  /** not a run: read the job's lease again (another serve held it) and catch up if its run did not end */
  recheck?: boolean;
}

interface JobState {
  spec: JobSpec;
  /** its slots: its cron; an alerts job without cron, every minute and each seconds-field rule's own (ruleClock) */
  clock: Clock;
  /** an alerts job without cron: the rule crons its clock has besides the minute */
  clockKey?: string;
  /** the latest slot handed to the queue */
  lastDue: Date;
  timer?: { cancel: () => void };
  /** when to read the lease again while another serve holds the job */
  watch?: NodeJS.Timeout;
  /** the warehouse could not be read at start: its lease is read again until it is (then caught up) */
  unreadSinceStart?: boolean;
  /** the wait before that next read (doubling up to a third of a lease) */
  retryMs?: number;
  /**
   * alerts jobs without cron: where the rule window of a run that evaluated nothing (it failed:
   * a DuckDB file held all the while, a server down) began. The next run's window starts there,
   * so a rule due in it is evaluated then, not at its own next slot.
   */
  windowFrom?: Date;
  lastRun: JobRun | null;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
}

/** The signals that stop serve at a safe point (a second one exits at once). */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

const stamp = () => new Date().toISOString();
const log = (line: string) => out(`${stamp()} ${line}`);
const logErr = (line: string) => err(`${stamp()} ${line}`);

/** The latest slot of `clock` at or before `now`. */
function latestSlot(clock: Clock, now: Date): Date | undefined {
  return clock.previousRuns(1, new Date(now.getTime() + 1))[0] ?? undefined;
}

/** How long the start waits for a DuckDB file another process holds (then it is read again while the jobs' clocks run). */
const START_WAIT_MS = 5000;

/** Missed slots are counted up to this many. */
const MAX_COUNTED = 10_000;

/** How many slots of `clock` lie strictly between `after` and `upto` (counted up to MAX_COUNTED). */
function slotsBetween(clock: Clock, after: Date, upto: Date): number {
  let n = 0;
  let t = clock.nextRun(after);
  while (t && t < upto && n < MAX_COUNTED) {
    n++;
    t = clock.nextRun(t);
  }
  return n;
}

/** A run the warehouse recorded (`last`, of lease document `doc`), as /health shows a job's last run. */
function recordedRun(doc: LeaseDoc, l: NonNullable<LeaseDoc['last']>): JobRun {
  return { slot: l.slot ?? doc.slot ?? l.finished_at, started_at: l.started_at ?? l.finished_at, finished_at: l.finished_at, status: l.status, ...(l.message ? { message: l.message } : {}) };
}

/** `; 3 earlier slots missed, run once`, or nothing. */
function missedNote(n: number): string {
  if (!n) return '';
  return `; ${n >= MAX_COUNTED ? `${MAX_COUNTED.toLocaleString('en-US')} or more` : n.toLocaleString('en-US')} earlier slot${n === 1 ? '' : 's'} missed, run once`;
}

export async function runServe(o: Common & { listen?: string; runNow?: boolean; deliveryTimeout?: string }): Promise<void> {
  // a signal while serve still starts (compiling the project, reading the warehouse, which may
  // wait for a busy DuckDB file): nothing runs and no lease is held yet, so it stops at once, as
  // documented (exit 0). Handled from the first line (was: from the listen on, so a signal while
  // the project compiled — seconds, for a large one — killed the process, exit 143)
  let startingServer: Server | undefined;
  const startSignal = (sig: string) => {
    err(`${sig} while starting: stopped (no job had started)`);
    startingServer?.close();
    process.exit(0);
  };
  // SIGHUP (a terminal closed, a `kill -HUP` meant as a reload) stops serve as SIGTERM does: it
  // has nothing to reload (schedules: is read at start), and was killed outright by it, mid-job,
  // its lease left held
  const onStart = new Map(STOP_SIGNALS.map((sig) => [sig, () => startSignal(sig)]));
  for (const [sig, f] of onStart) process.on(sig, f);
  // (the launcher's, from the process's first line: bin/vigil.js)
  const early = (globalThis as Record<symbol, unknown>)[Symbol.for('vigil.earlySignals')] as Map<string, () => void> | undefined;
  for (const [sig, f] of early ?? []) process.off(sig, f);
  const files = loadProject(o.projectDir);
  const { config, diagnostics } = serveConfig(files, o.listen);
  if (!config) throw new ProjectError(diagnostics);
  setSingleHost(config.singleHost);
  if (!config.jobs.length)
    throw new UsageError('project.yaml has no schedules: nothing to serve. Add e.g.\n  schedules:\n    sync_delta: { command: sync, cron: "*/5 * * * *", build_after: true }\n    alerts: { command: alerts }\n(see ' + docRef('operations.md') + ')');
  // --delivery-timeout is for alerts jobs: checked now (not at each alerts run), refused without one
  if (o.deliveryTimeout !== undefined) {
    if (!config.jobs.some((j) => j.command === 'alerts')) throw new UsageError('--delivery-timeout: no schedule runs alerts (command: alerts), so it would do nothing');
    const { deliveryPolicy } = await import('./alerts-commands.js');
    deliveryPolicy(o.deliveryTimeout, files);
  }
  // the project must compile now: a mistake is a usage error at start, not a failing job at 3 am
  const compiled = compileForCommand(o, { writeArtifacts: false });
  // the streams some sync job covers: /health judges these. Both follow the project as each job
  // compiles it (a stream added to or removed from sources.yml while serve runs)
  const checked = await checkSelections(compiled, o, config);
  for (const d of defaultSelectorNotUsed(files, config.jobs)) err(formatDiagnostic(d));
  let covered = coveredStreams(compiled.result.manifest, config);
  let streamsDeclared: SourceNode[] = Object.values(compiled.result.manifest.sources).filter((s) => s.sync);
  const leases = new JobLeases(compiled.target.schema, config.leaseMs);
  const streamPollMaxMs = Math.max(STREAM_POLL_MS, config.leaseMs / 30);
  const { getWarehouse } = await import('../adapters/index.js');
  const singleProcess = !!getWarehouse(compiled.target.type)?.capabilities.singleProcess;

  const neverSynced = (stream: string): StreamState => ({ stream, cursor_value: null, cursor_id: null, rows_synced: 0, last_synced_at: null, source_max_cursor: null, last_status: 'never synced', last_error: null, consecutive_failures: 0 });
  // until the warehouse is read, every stream counts as never synced (unhealthy, not unknown)
  let streamStates: StreamState[] = streamsDeclared.map((s) => neverSynced(`${s.source_name}.${s.name}`));
  let stateReadAt: Date | undefined;
  /** a stream declared since the state was last read: read it at the next chance */
  let unread = false;
  const now = () => Date.now();
  /** the streams whose state was read from the warehouse, and why the others' was not (the last error) */
  let statesRead = new Set<string>();
  let stateError: string | undefined;
  /** when this process began watching each stream (its start, or when the stream was declared): the sync lag of one with no sync known */
  const watchedSince = new Map(streamStates.map((s) => [s.stream, now()]));
  /**
   * Failed sync runs that never reached a stream (the warehouse could not be opened to claim the
   * run, the run failed before it synced the stream), which the warehouse's sync state does not
   * count: counted here, on top of it, until a successful sync of the stream is known.
   */
  const unrecorded = new Map<string, { count: number; last: number; error: string }>();
  /** the manifest the last job compiled: the streams a job selects, when it fails before it compiles */
  let manifestNow = compiled.result.manifest;
  /** each stream's own data-lag limit in seconds (its source's freshness error_after), where it declares one */
  let ownDataLag = errorAfterByStream(streamsDeclared);
  const streamsNow = () =>
    streamStates.map((state) => {
      const own = ownDataLag.get(state.stream);
      const local = unrecorded.get(state.stream);
      const s = local ? { ...state, last_status: 'error', last_error: local.error, consecutive_failures: state.consecutive_failures + local.count } : state;
      return streamHealth(s, now(), config, covered.has(s.stream), own === undefined ? undefined : own * 1000, { unread: statesRead.has(s.stream) ? undefined : (stateError ?? 'not read yet'), sinceMs: watchedSince.get(s.stream) });
    });
  /** A failed run of sync job `job` (`reached`: the streams its sync recorded the outcome of): each other stream it selects counts it. */
  const countUnreached = (job: JobSpec, reached: string[], error: string) => {
    for (const stream of jobStreams(manifestNow, job)) {
      if (reached.includes(stream)) continue;
      const u = unrecorded.get(stream);
      unrecorded.set(stream, { count: (u?.count ?? 0) + 1, last: now(), error: redact(error) });
    }
  };
  /** The job running now (a hung one holds up every schedule: /health and /metrics say which). */
  const runningNow = () => (current ? { job: current.job.name, since: current.since } : undefined);
  const metrics = new ServeMetrics(streamsNow, runningNow);
  /** The synced streams of `manifest`, the one a job just compiled: what /health and /metrics follow. */
  const followStreams = (manifest: Manifest) => {
    manifestNow = manifest;
    const declared = Object.values(manifest.sources).filter((s) => s.sync);
    covered = coveredStreams(manifest, config);
    const known = new Map(streamStates.map((s) => [s.stream, s]));
    const names = declared.map((s) => `${s.source_name}.${s.name}`);
    if (names.some((n) => !known.has(n))) unread = true;
    streamsDeclared = declared;
    ownDataLag = errorAfterByStream(declared);
    streamStates = names.map((n) => known.get(n) ?? neverSynced(n));
    for (const n of names) if (!watchedSince.has(n)) watchedSince.set(n, now());
  };
  const { selectRules } = checked.alerts ? await import('./alerts-commands.js') : { selectRules: undefined };
  const jobs = new Map<string, JobState>(
    config.jobs.map((spec) => {
      const rules = spec.perRuleSchedule && checked.alerts && selectRules ? ruleClock(selectRules(checked.alerts.rules, spec.select)) : undefined;
      return [spec.name, { spec, clock: rules?.clock ?? cronClock(spec.cron, spec.timezone), clockKey: rules?.key, lastDue: new Date(), lastRun: null, lastSuccessAt: null, consecutiveFailures: 0 }];
    }),
  );

  const jobHealth = (): JobHealth[] =>
    [...jobs.values()].map((j) => ({
      job: j.spec.name,
      command: j.spec.command,
      schedule: j.spec.perRuleSchedule ? 'each rule on its own schedule' : `${j.spec.cron} ${j.spec.timezone}`,
      next_run: j.clock.nextRun(new Date())?.toISOString() ?? null,
      running: current?.job.name === j.spec.name,
      last_run: j.lastRun,
      last_success_at: j.lastSuccessAt,
      consecutive_failures: j.consecutiveFailures,
    }));

  /** Read every synced stream's state from the target (the warehouse is open for something else). */
  const readStreamStates = async (adapter: Adapter) => {
    const { readStreamStates: read } = await import('../sync/sync-types.js');
    streamStates = (await read(adapter, streamsDeclared)).map((x) => x.state ?? neverSynced(x.stream));
    stateReadAt = new Date();
    unread = false;
    statesRead = new Set(streamStates.map((x) => x.stream));
    stateError = undefined;
    // a sync since the last failure counted here (another serve's, a vigil sync by hand): the failures are over
    for (const x of streamStates) {
      const synced = toEpochMs(x.last_synced_at) ?? NaN;
      if (synced > (unrecorded.get(x.stream)?.last ?? Infinity)) unrecorded.delete(x.stream);
    }
  };
  /** The warehouse could not be opened: why, for a stream whose state is not read yet. */
  const noteUnreadable = (e: unknown) => {
    stateError = redact((e as Error).message.split('\n')[0]);
  };

  // ---- the HTTP server: listening before any job runs, so a port in use stops us at once
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    void (async () => {
      if (path === '/metrics') {
        const body = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
      } else if (path === '/health' || path === '/internal/analytics-sync') {
        const r = healthReport(streamsNow(), jobHealth(), config, stateReadAt, new Date(), runningNow());
        res.writeHead(r.status === 'failing' ? 503 : 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(redactStrings(r), null, 2) + '\n');
      } else if (path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
      } else if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`vigil ${VIGIL_VERSION} serve: project ${files.project.name}, target ${compiled.target.name}\n  /health and /internal/analytics-sync  sync freshness and jobs (503 when the SLO is breached)\n  /metrics                              Prometheus metrics\n  /livez                                200 while the process runs\n`);
      } else res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path} (try /health, /metrics)\n`);
    })().catch((e) => {
      logErr(`http ${path}: ${redact((e as Error).message)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await listenOn(server, config.listen, 'another vigil serve? choose another with --listen or serve.listen in project.yaml');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
  const shown = config.listen.host.includes(':') ? `[${config.listen.host}]:${port}` : `${config.listen.host}:${port}`;

  startingServer = server;

  // a stray rejection in a job must not end the process that runs all the others
  const onRejection = (e: unknown) => logErr(`internal error (serve keeps running): ${redact(e instanceof Error ? (e.stack ?? e.message) : String(e))}`);
  process.on('unhandledRejection', onRejection);

  // ---- the queue: one job at a time
  const queue: Due[] = [];
  let current: { job: JobSpec; since: Date; stop: AbortController; done: Promise<void> } | undefined;
  let stopping = false;

  const enqueue = (d: Due) => {
    if (stopping) return;
    const waiting = queue.find((q) => q.job.name === d.job.name);
    // a recheck waiting is replaced by a run (its claim says whether another serve still holds the job)
    if (waiting?.recheck && !d.recheck) Object.assign(waiting, d, { recheck: undefined });
    else if (waiting && !d.recheck && !waiting.recheck) {
      // due again while it still waits: one run, for the newest slot
      waiting.missed += 1 + d.missed;
      waiting.slot = d.slot;
    }
    if (waiting) return;
    queue.push(d);
    pump();
  };

  // Notifications group_wait / group_interval hold are sent when they are due, not at the alerts
  // job's next slot (which may be an hour away), as run-scheduler sends them: one timer, at the
  // earliest, and the send waits its turn in the queue like a job (the state lock keeps two
  // serve processes from sending one twice)
  let held: { job: JobSpec; at: number; timer: { cancel: () => void } } | undefined;
  let heldDue: JobSpec | undefined;
  const wakeForHeld = (job: JobSpec, items: Array<{ until: string }>) => {
    if (!items.length || stopping) return;
    const at = Math.min(...items.map((h) => Date.parse(h.until)));
    if (held && held.at <= at) return;
    held?.timer.cancel();
    // (a wait of any length, the wall clock looked at every few seconds: timerAt, as the job clocks are)
    const timer = timerAt(at + 50, () => {
      held = undefined;
      heldDue = job;
      pump();
    });
    held = { job, at, timer };
  };
  // a send that failed (the warehouse busy or down) is tried again after 1 s, 2 s ... at most 5
  // minutes apart, as run-scheduler tries a failed evaluation: not left to the job's next slot,
  // which may be hours away, while a held notification or a silence's end waits
  let heldRetryMs = 0;
  const sendHeld = async (job: JobSpec): Promise<void> => {
    const { setupAlertsForEvaluation, evaluateScheduled, scheduledPolicy, peekScheduled, scheduledRetryMs } = await import('./alerts-commands.js');
    try {
      const s = await setupAlertsForEvaluation({ projectDir: o.projectDir, target: o.target, vars: o.vars });
      followStreams(s.result.manifest);
      // (a silenced alert looked at again, nothing due: quietly the next wake)
      const look = await peekScheduled(s, { projectDir: o.projectDir, target: o.target, vars: o.vars }).catch(() => undefined);
      if (look && !look.due) {
        wakeForHeld(job, look.wake);
        return;
      }
      const sum = await evaluateScheduled(s, { projectDir: o.projectDir, target: o.target, vars: o.vars }, [], { policy: await scheduledPolicy(s, o.deliveryTimeout), flushHeld: true, command: `vigil serve (${job.name}: held notifications)` });
      metrics.countDelivery(sum);
      log(`${job.name}: sent what group_wait / group_interval held: ${sum.delivery.sent} sent${sum.delivery.pending ? `, ${sum.delivery.pending} pending` : ''}`);
      heldRetryMs = 0;
      wakeForHeld(job, sum.wake);
    } catch (e) {
      heldRetryMs = scheduledRetryMs(heldRetryMs);
      logErr(`${job.name}: held notifications not sent: ${redact((e as Error).message.split('\n')[0])} (serve keeps running; trying again in ${heldRetryMs / 1000}s, or at the job's next run)`);
      wakeForHeld(job, [{ until: new Date(Date.now() + heldRetryMs).toISOString() }]);
    }
  };

  const pump = () => {
    if (current || stopping) return;
    if (heldDue) {
      const job = heldDue;
      heldDue = undefined;
      const done = sendHeld(job).finally(() => {
        current = undefined;
        pump();
      });
      current = { job, since: new Date(), stop: new AbortController(), done };
      return;
    }
    if (!queue.length) return;
    const d = queue.shift()!;
    const stop = new AbortController();
    const t0 = performance.now();
    const started = new Date();
    const done = (d.recheck ? recheck(jobs.get(d.job.name)!) : Promise.resolve(d))
      .then((due) => due && runJob(due, stop))
      .catch((e) => finish(jobs.get(d.job.name)!, d, started, t0, 'error', `internal error: ${(e as Error).message.split('\n')[0]}`))
      .finally(() => {
        current = undefined;
        pump();
      });
    current = { job: d.job, since: started, stop, done };
  };

  /** Open the target, waiting up to `waitMs` for a DuckDB file another process holds. */
  const openTarget = (threads: number, waitMs = 30_000): Promise<Adapter> => openWhenFree(compiled, threads, { waitMs, busy: () => !stopping });

  const runJob = async (d: Due, stop: AbortController): Promise<void> => {
    const signal = stop.signal;
    const j = jobs.get(d.job.name)!;
    const name = d.job.name;
    // an alerts run that evaluated nothing did not move the window on: this run's starts where
    // that one's did (until this run evaluates, below in runAlertsJob)
    if (d.job.perRuleSchedule) {
      if (j.windowFrom && j.windowFrom < d.previous) d = { ...d, previous: j.windowFrom, ownPrevious: d.previous };
      j.windowFrom = d.previous;
    }
    const t0 = performance.now();
    const started = new Date();
    // claim the slot (and refresh what /health knows while the warehouse is open)
    let leaseAdapter: Adapter | undefined;
    let claim;
    /**
     * Until when this run's job lease surely holds, by this process's clocks: the moment the claim
     * (or the last renewal) was asked for, plus serve.lease — by the wall clock (what another
     * serve on this host judges the lease by) and by the monotonic one (a clock stepped back).
     */
    const holds = { wall: Infinity, mono: Infinity };
    try {
      leaseAdapter = await openTarget(1);
      Object.assign(holds, { wall: Date.now() + config.leaseMs, mono: performance.now() + config.leaseMs });
      claim = await leases.claim(leaseAdapter, name, d.slot);
      if (!claim.ok && d.job.command === 'sync') await readStreamStates(leaseAdapter).catch(() => undefined);
    } catch (e) {
      await leaseAdapter?.close().catch(() => {});
      // (a run that took the place of the start-up read's retry: that read goes on)
      if (j.unreadSinceStart) retryStartRead(j);
      const message = `could not claim the job in the warehouse: ${(e as Error).message.split('\n')[0]}`;
      noteUnreadable(e);
      // (its streams' state is not written: the failure counts here, or /metrics showed 0 failures for ever)
      if (d.job.command === 'sync') countUnreached(d.job, [], message);
      return finish(j, d, started, t0, 'error', message);
    }
    // the claim read the lease: nothing is left of the start-up read to retry
    j.unreadSinceStart = false;
    if (!claim.ok) {
      // (the serve that claimed the slot evaluates what is due)
      j.windowFrom = undefined;
      // how the job went where it ran (one read): /health and /metrics follow it
      const doc = await leases.read(leaseAdapter, name).catch(() => undefined);
      if (doc) followLast(j, doc);
      await leaseAdapter.close().catch(() => {});
      // another serve runs the job: if that run does not reach its end, this one catches it up
      if (claim.holder) watch(j, claim.holder);
      log(`${name}: skipped the run for ${d.slot.toISOString()}: ${claim.why}`);
      metrics.jobRuns.inc({ job: name, result: 'skipped' });
      j.lastRun = { slot: d.slot.toISOString(), started_at: started.toISOString(), finished_at: stamp(), status: 'skipped', message: claim.why };
      return;
    }
    if (signal.aborted) {
      // stopping while the slot was claimed: give it back, the run did not happen
      await leases.release(leaseAdapter, name, 'abandoned', 'serve stopped before the job started').catch(() => false);
      await leaseAdapter.close().catch(() => {});
      return finish(j, d, started, t0, 'abandoned', 'serve stopped before the job started');
    }
    // a file database is closed while the job runs (one handle at a time); a server keeps the
    // lease connection to renew it meanwhile
    if (singleProcess) {
      await leaseAdapter.close().catch(() => {});
      leaseAdapter = undefined;
    }
    let renewing: Promise<unknown> = Promise.resolve();
    /** the streams this sync job holds now (their leases renewed with the job's) */
    let heldStreams: string[] = [];
    /** why this run stopped at a safe point other than a signal: its lease ran out, or was taken over */
    let leaseLostWhy: string | undefined;
    const leaseGone = (why: string) => {
      if (leaseLostWhy || signal.aborted) return;
      leaseLostWhy = why;
      logErr(`${name}: ${why}; stopping at the next safe point (no further model or batch starts), so that it never runs beside another serve's run of the job`);
      stop.abort('lease');
    };
    /**
     * Before each model or batch starts (synchronously): a run whose lease ran out by this
     * process's clocks — it was stopped (SIGSTOP), suspended or stalled past serve.lease, or could
     * not renew it — may have been taken over by another serve meanwhile, and starts nothing more
     * (was: a process continued after SIGCONT went on building beside the serve that took the job
     * over: an incremental model got the rows twice). A server warehouse only: a DuckDB file has one writer.
     */
    const checkpoint = leaseAdapter
      ? () => {
          const ranOut = Date.now() >= holds.wall || performance.now() >= holds.mono;
          if (ranOut) leaseGone(`its lease ran out while it ran (not renewed for ${Math.round(config.leaseMs / 1000)}s: the process was stopped or stalled, or could not reach the warehouse)`);
          // (gone whether or not a SIGTERM came first: the caller writes nothing more)
          return ranOut || leaseLostWhy !== undefined;
        }
      : undefined;
    const renew = leaseAdapter
      ? setInterval(() => {
          const held = heldStreams;
          const asked = { wall: Date.now() + config.leaseMs, mono: performance.now() + config.leaseMs };
          renewing = Promise.all([
            leases.renew(leaseAdapter!, name).then(
              async (ok) => {
                if (ok) return true;
                // (not renewed: taken over, or its compare-and-set lost every try — BigQuery refuses
                // concurrent DML on the table: then the lease's own end stops the run, if it comes)
                const doc = await leases.read(leaseAdapter!, name).catch(() => undefined);
                if (doc && doc.holder?.owner !== leases.owner) leaseGone(`lost its lease (the job was taken over${doc.holder ? ` by ${doc.holder.host} (pid ${doc.holder.pid})` : ''} after the lease ran out${doc.holder ? '' : ', and that run has ended'})`);
                return false;
              },
              () => false,
            ),
            held.length
              ? leases.renewStreams(leaseAdapter!, held).then(
                  (ok) => ok || logErr(`${name}: lost the lease of a stream it syncs (taken over after it ran out); this run goes on, but another job may sync it meanwhile`),
                  () => undefined,
                )
              : undefined,
          ]).then(([ok]) => {
            // (renewed: the lease holds a lease from when the renewal was asked for)
            if (ok) Object.assign(holds, asked);
          });
        }, Math.max(1000, config.leaseMs / 3))
      : undefined;
    // a sync job's streams: held while it syncs them, so two jobs that select one stream (a delta
    // and a nightly full, on this serve or another) take turns. A file database has one writer
    // and this process runs one job at a time: nothing to hold there
    const streamLeases: StreamLeases = {
      hold: async (streams) => {
        if (!leaseAdapter) return { ok: true };
        const lease = leaseAdapter;
        await renewing;
        const r = await leases.holdStreams(lease, streams, name, { waitMs: Math.min(STREAM_WAIT_MS, config.leaseMs), pollMs: STREAM_POLL_MS, maxPollMs: streamPollMaxMs, signal, say: (line) => log(`${name}: ${line}`) });
        // (again, after a clash, for the streams whose lease it lost: added to those it holds)
        if (r.ok) heldStreams = [...new Set([...heldStreams, ...streams])];
        return r;
      },
      release: async () => {
        const held = heldStreams;
        if (!leaseAdapter || !held.length) return;
        heldStreams = [];
        await renewing;
        await leases.releaseStreams(leaseAdapter, held).catch((e) => logErr(`${name}: could not release the leases of its streams (they run out by themselves): ${redact((e as Error).message.split('\n')[0])}`));
      },
      lost: async (streams) => {
        if (!leaseAdapter) return new Map();
        await renewing;
        return leases.streamsLost(leaseAdapter, streams).catch(() => new Map());
      },
    };
    log(`${name}: ${d.job.command} started for ${d.slot.toISOString()}${d.why ? ` (${d.why})` : ''}${missedNote(d.missed)}`);
    let status: 'success' | 'error' | 'abandoned' = 'error';
    let message = '';
    let deferred: Deferred | undefined;
    /** sync: the streams its sync recorded the outcome of in their state (undefined: a project mistake, no stream's failure) */
    let reached: string[] | undefined = [];
    /** set by a sync job as soon as its streams' outcomes are recorded (a build after it may still throw) */
    const progress: { reached?: string[] } = {};
    try {
      const r = await executeJob(d, signal, streamLeases, progress, checkpoint);
      reached = r.reached ?? [];
      status = runOutcome(r, signal.aborted);
      // stopped because its lease ran out, after something of it really failed (the warehouse went
      // away, which also kept it from renewing): an error, counted, not a run given back
      if (status === 'abandoned' && leaseLostWhy && r.failed) status = 'error';
      // deferred (a stream held by another job, or one that met another sync twice): given back
      // like a stopped run, re-run below — unless something really failed in the run: then an error
      deferred = status === 'abandoned' && !signal.aborted ? r.deferred : undefined;
      message = status !== 'success' && leaseLostWhy ? `${leaseLostWhy}: ${r.message}` : r.message;
    } catch (e) {
      status = 'error';
      // one line in the log and in /health (a diagnostic's hint goes on its own line elsewhere)
      message = e instanceof ProjectError ? e.diagnostics.map((x) => formatDiagnostic(x).replace(/\s*\n\s*/g, ' ')).join('; ') : (e as Error).message.split('\n')[0];
      // (the project's mistake, not the streams': as vigil sync, no failure counted for them; a
      // throw after the sync recorded its streams' outcomes, in the build after it, counts none
      // of those again)
      reached = e instanceof ProjectError || e instanceof UsageError ? undefined : (progress.reached ?? []);
    } finally {
      clearInterval(renew);
      await renewing; // (a renewal in flight on the same connection finishes before the release)
      await streamLeases.release();
      // run_results and the like set the exit code of a one-shot command: not ours
      process.exitCode = undefined;
    }
    try {
      leaseAdapter ??= await openTarget(1);
      await leases.release(leaseAdapter, name, status, status === 'success' ? undefined : message);
      // a stream the job's compile found new: its state, so /health judges what the warehouse has
      if (unread) await readStreamStates(leaseAdapter).catch((e) => logErr(`${name}: could not read the sync state: ${(e as Error).message}`));
    } catch (e) {
      logErr(`${name}: could not release its lease (it runs out by itself): ${redact((e as Error).message.split('\n')[0])}`);
    } finally {
      await leaseAdapter?.close().catch(() => {});
    }
    if (status === 'error' && d.job.command === 'sync' && reached) countUnreached(d.job, reached, message);
    finish(j, d, started, t0, status, message, !!deferred);
    // its slot was given back: run again once the streams are free (or a third of a lease later)
    if (deferred?.streams) watchStreams(j, deferred.streams);
    else if (deferred) watch(j, deferred.holder);
    // stopped because its lease ran out: the serve that took the job over runs it; if none did, the
    // run given back is caught up here (the claim keeps it to one run)
    else if (leaseLostWhy && status === 'abandoned') watch(j, undefined, 1000);
  };

  const finish = (j: JobState, d: Due, started: Date, t0: number, status: 'success' | 'error' | 'abandoned', message: string, deferred = false) => {
    const seconds = (performance.now() - t0) / 1000;
    j.lastRun = { slot: d.slot.toISOString(), started_at: started.toISOString(), finished_at: stamp(), status, message: redact(message), seconds: Math.round(seconds * 100) / 100 };
    metrics.jobRuns.inc({ job: j.spec.name, result: status });
    if (status === 'success') {
      j.lastSuccessAt = stamp();
      j.consecutiveFailures = 0;
      metrics.runStatus.set({ job: j.spec.name }, 1);
      metrics.lastSuccess.set({ job: j.spec.name }, Date.now() / 1000);
      log(`${j.spec.name}: OK in ${seconds.toFixed(2)}s${message ? `: ${message}` : ''}`);
    } else if (status === 'abandoned') {
      log(`${j.spec.name}: ${deferred ? 'deferred' : 'stopped at a safe point'} after ${seconds.toFixed(2)}s: ${message}`);
    } else {
      j.consecutiveFailures++;
      metrics.runStatus.set({ job: j.spec.name }, 0);
      logErr(`${j.spec.name}: FAILED after ${seconds.toFixed(2)}s (${j.consecutiveFailures} in a row; serve keeps running): ${redact(message)}`);
    }
  };

  /** The job itself. `interrupted`: it stopped early because of `signal`. */
  const executeJob = async (d: Due, signal: AbortSignal, streamLeases: StreamLeases, progress: { reached?: string[] }, checkpoint?: () => boolean | void): Promise<{ ok: boolean; message: string; interrupted?: boolean; deferred?: Deferred; reached?: string[]; failed?: boolean }> => {
    const job = d.job;
    const common: Common = { projectDir: o.projectDir, target: o.target, vars: o.vars };
    if (job.command === 'sync') {
      const c = compileForCommand(common, { writeArtifacts: false });
      followStreams(c.result.manifest);
      // its streams first (before any connection opens): another job syncing one of them is waited for
      const names = selectedStreams(c.result.manifest, { ...common, select: job.select }).map((s) => `${s.source_name}.${s.name}`);
      const held = await streamLeases.hold(names);
      if (!held.ok) {
        if (signal.aborted) return { ok: false, interrupted: true, message: held.why };
        // (nothing ran: no failure)
        return { ok: true, deferred: { holder: held.holder, streams: names }, message: `stream ${held.why}, still after ${Math.round(Math.min(STREAM_WAIT_MS, config.leaseMs) / 1000)}s: its slot is given back (the queue goes on meanwhile), and the job runs again once the stream is free` };
      }
      const { streams, froms, problems, sourceErrors, target, retentionLogs } = await syncSetup({ files: c.files, target: c.target, manifest: c.result.manifest }, { ...common, select: job.select }, () => openTarget(2));
      try {
        const { syncStreams } = await import('../sync/run-sync.js');
        const sync = (these: typeof streams) =>
          syncStreams(these, new Map([...froms].map(([n, a]) => [n, a.syncReader!()])), target, { mode: job.mode ?? 'delta', lookbackSeconds: job.lookbackSeconds, fullRefresh: false, out: (l) => out(`  ${job.name}:${l.replace(/^ {2}/, ' ')}`), signal, checkpoint, sourceErrors, retentionLogs, targetName: c.target.name });
        let results = await sync(streams);
        // another sync committed a batch of a stream meanwhile (one that took no lease: this job holds
        // the stream's lease): nothing doubled, no failure recorded; run those streams once more
        let conflicted = results.filter((r) => r.conflict);
        /** streams whose lease another job took over and still held after the wait: not synced once more (it would clash again) */
        let heldOff: { streams: string[]; why: string; holder?: Holder } | undefined;
        if (conflicted.length && !signal.aborted) {
          // which sync it was: one that took over this run's lease of the stream (it ran out while
          // this process was stopped or stalled), or one that takes no lease
          const lost = await streamLeases.lost(conflicted.map((r) => r.stream));
          const lone = conflicted.filter((r) => !lost.has(r.stream));
          const them = (n: number) => (n === 1 ? 'it' : 'them');
          if (lone.length) log(`${job.name}: another vigil sync of ${lone.map((r) => r.stream).join(', ')} committed a batch while this one ran (one that took no lease of it: an earlier Vigil?); syncing ${them(lone.length)} once more`);
          for (const [stream, h] of lost) log(`${job.name}: this run's lease of ${stream} ran out (the run was stopped or stalled past serve.lease) and ${h ? `job ${h.job ?? '?'} on ${h.host} (pid ${h.pid}) took it over` : 'another job took it over'}, which committed a batch of it meanwhile; syncing it once more once this run holds it again`);
          let retry = conflicted.map((r) => r.stream);
          if (lost.size) {
            // taken back first, waiting for the job that took it over as at the start (was: synced
            // again at once, beside that job, bound to clash with it and be deferred)
            const back = await streamLeases.hold([...lost.keys()]);
            if (!back.ok) {
              heldOff = { streams: [...lost.keys()], why: back.why, holder: back.holder };
              retry = retry.filter((x) => !lost.has(x));
            }
          }
          if (retry.length && !signal.aborted) {
            const again = await sync(streams.filter((s) => retry.includes(`${s.source_name}.${s.name}`)));
            // (what the first attempt committed stays committed: counted with the second's)
            results = results.map((r) => {
              const a = again.find((x) => x.stream === r.stream);
              return a ? { ...a, rows: r.rows + a.rows, batches: r.batches + a.batches, seconds: r.seconds + a.seconds } : r;
            });
          }
          conflicted = results.filter((r) => r.conflict);
        }
        await streamLeases.release();
        progress.reached = results.map((r) => r.stream);
        for (const r of results) {
          if (r.status === 'success') unrecorded.delete(r.stream);
          if (r.rows) metrics.syncRows.inc({ stream: r.stream }, r.rows);
          // (a stream that met another sync and was not synced to its end: not an error of it, the
          // run is deferred — labelled as the job's run is counted, abandoned)
          if (r.status !== 'interrupted' || r.batches) metrics.syncDuration.observe({ stream: r.stream, status: r.conflict ? 'abandoned' : r.status }, r.seconds);
        }
        await readStreamStates(target).catch((e) => logErr(`${job.name}: could not read the sync state: ${(e as Error).message}`));
        // (a stream that met another sync twice: not a failure of it, the run is deferred below)
        const failed = results.filter((r) => r.status === 'error' && !r.conflict);
        const interrupted = results.some((r) => r.status === 'interrupted');
        const rows = results.reduce((a, r) => a + r.rows, 0);
        const message = [`${rows.toLocaleString('en-US')} rows in ${results.length} stream${results.length === 1 ? '' : 's'}`, ...problems, ...failed.map((r) => `${r.stream}: ${r.message}`)].join('; ');
        // build what reads the streams that got rows (dbt's source:x+; a delta run re-reads at
        // least the rows of its cursor's last instant, so a stream with rows always has some)
        const changed = results.filter((r) => r.rows > 0).map((r) => r.stream);
        if (process.env.VIGIL_TEST_SIGTERM_BEFORE_BUILD === '1') {
          // (tests: the signal lands between the sync and its build)
          process.kill(process.pid, 'SIGTERM');
          await new Promise((r) => setTimeout(r, 50));
        }
        // (tests: the build after the sync throws, as when the warehouse cannot be opened for it)
        if (process.env.VIGIL_TEST_BUILD_THROWS === '1' && job.buildAfter && changed.length) throw new Error('the build could not open the warehouse (test)');
        let buildOk = true;
        let buildStopped = false;
        /** a model of the build after it failed (also when the build was stopped after it) */
        let buildFailed = false;
        if (job.buildAfter && changed.length && signal.aborted) {
          // stopping before the build: the run is not done (was: recorded a success, no build);
          // its slot is given back, and its next run (a catch-up at the next start) builds
          buildStopped = true;
          log(`${job.name}: stopping before the build of what reads ${changed.join(', ')}; the next run builds it`);
        } else if (job.buildAfter && changed.length) {
          await target.close();
          log(`${job.name}: building what reads ${changed.join(', ')}`);
          const s = await runExecute('build', { ...common, select: changed.map((x) => `source:${x}+`), threads: job.threads, signal, checkpoint });
          recordBuild(s);
          // stopped by the signal (nodes skipped) is not a failure: the job is abandoned
          buildStopped = !!s?.interrupted;
          buildOk = !s || s.ok || buildStopped;
          buildFailed = !!s?.results.some((x) => x.status === 'error' || x.status === 'fail');
        }
        const ok = !failed.length && !problems.length && buildOk;
        // (a run that also failed is an error: its slot is not given back, those streams sync at its next slot)
        const twice = conflicted.filter((r) => !heldOff?.streams.includes(r.stream));
        const clash = [
          twice.length ? `; ${twice.map((r) => r.stream).join(', ')}: another sync committed a batch again while this one ran: ${ok ? 'the run is deferred (its slot given back, run again within a third of a lease)' : 'synced again by the next run'}` : '',
          heldOff ? `; stream ${heldOff.why}, which took it over, still after ${Math.round(Math.min(STREAM_WAIT_MS, config.leaseMs) / 1000)}s: ${ok ? 'the run is deferred (its slot given back), and the job runs again once the stream is free' : 'synced again by the next run'}` : '',
        ].join('');
        return {
          ok,
          reached: progress.reached,
          interrupted: interrupted || buildStopped || (!!conflicted.length && signal.aborted),
          failed: !!failed.length || !!problems.length || !buildOk || buildFailed,
          ...(conflicted.length && !signal.aborted ? { deferred: heldOff ? { holder: heldOff.holder, streams: heldOff.streams } : {} } : {}),
          message: `${!buildOk ? `${message}; the build after it failed` : buildStopped ? `${message}; the build after it was stopped` : message}${clash}`,
        };
      } finally {
        for (const f of froms.values()) await f.close().catch(() => {});
        await target.close().catch(() => {});
      }
    }
    if (job.command === 'alerts') return runAlertsJob(d, signal);
    // (run/build: the PII check before target/ is written)
    const c = job.command === 'run' || job.command === 'build' ? await compileChecked(common) : compileForCommand(common);
    followStreams(c.result.manifest);
    const s = await runExecute(job.command, { ...common, select: job.select, exclude: job.exclude, threads: job.threads, fullRefresh: job.fullRefresh, signal, checkpoint, compiled: c });
    recordBuild(s);
    if (!s) return { ok: true, message: 'nothing selected' };
    const bad = s.results.filter((r) => r.status === 'error' || r.status === 'fail');
    return { ok: s.ok, interrupted: s.interrupted, failed: !!bad.length, message: `${s.results.length} nodes${bad.length ? `, ${bad.length} failed: ${bad.map((r) => r.name).join(', ')}` : ''}` };
  };

  const recordBuild = (s: Awaited<ReturnType<typeof runExecute>>) => {
    for (const r of s?.results ?? []) if (r.resource_type === 'model' || r.resource_type === 'seed' || r.resource_type === 'snapshot') metrics.modelBuild.observe({ model: r.name, status: r.status }, r.execution_time);
  };

  /** An alerts job without cron: its clock wakes at each slot of the rules `rules` (re-armed when they changed). */
  const followRuleClocks = (j: JobState, rules: RuleSchedules) => {
    const next = ruleClock(rules);
    if (next.key === j.clockKey) return;
    j.clock = next.clock;
    j.clockKey = next.key;
    j.timer?.cancel();
    arm(j);
  };

  const runAlertsJob = async (d: Due, signal: AbortSignal): Promise<{ ok: boolean; message: string }> => {
    const { setupAlertsForEvaluation, selectRules, evaluateScheduled, scheduledPolicy, peekScheduled } = await import('./alerts-commands.js');
    const common: Common = { projectDir: o.projectDir, target: o.target, vars: o.vars };
    const s = await setupAlertsForEvaluation(common);
    followStreams(s.result.manifest);
    await metrics.keepAlerts(new Set(s.rules.map((r) => r.rule.name)));
    // every rule removed since start (where none is refused): said so, and a failure, not "no rule due"
    const gone = s.rules.length ? '' : `no alert rules in ${s.files.paths.alerts}/*.yaml any more: nothing evaluated`;
    let rules = gone ? [] : selectRules(s.rules, d.job.select, true);
    // the rules as loaded now (one added, or its schedule changed, while serve runs): the job's clock follows them
    if (d.job.perRuleSchedule) followRuleClocks(jobs.get(d.job.name)!, rules);
    if (d.job.perRuleSchedule && !d.allRules) {
      // each rule when its own schedule had a slot since the last tick
      rules = rules.filter((r) => {
        const next = cronClock(r.rule.schedule.cron, r.rule.schedule.timezone).nextRun(d.previous);
        return !!next && next <= d.slot;
      });
    }
    const j = jobs.get(d.job.name)!;
    if (!rules.length) {
      // no rule due: what earlier runs left (held by group_wait / group_interval, or to retry) is
      // sent when due, also after a restart; the state says it without its lock
      const peek = await peekScheduled(s, common);
      if (!peek.due) {
        j.windowFrom = undefined;
        wakeForHeld(d.job, peek.wake);
        return { ok: !gone && !peek.unsettled.length, message: `${gone || 'no rule due'}${unsettledNote(peek.unsettled)}` };
      }
    }
    // a rule whose slot lay in the window of a run that evaluated nothing: the line says since when
    // it has been due
    const own = d.ownPrevious?.getTime();
    const missedSlots = own !== undefined && !d.allRules ? rules.map((r) => cronClock(r.rule.schedule.cron, r.rule.schedule.timezone).nextRun(d.previous)!.getTime()).filter((t) => t <= own) : [];
    const late = missedSlots.length ? new Date(Math.min(...missedSlots)) : undefined;
    // on time, evaluated at its slot, as run-scheduler and Prometheus do (`for:` and
    // keep_firing_for counted between slots, not between the moments runs happened to start); a
    // run late (a slot missed, a catch-up, --run-now) by the clock
    const at = rules.length && !late && !d.allRules && !d.missed && !d.why ? d.slot : undefined;
    let sum;
    try {
      sum = await evaluateScheduled(s, common, rules, { policy: await scheduledPolicy(s, o.deliveryTimeout), flushHeld: !rules.length, command: `vigil serve (${d.job.name}${rules.length ? '' : ': held notifications'})`, note: late ? `due since ${late.toISOString()}` : undefined, signal, at });
    } catch (e) {
      if (rules.length && d.job.perRuleSchedule && !d.allRules) throw new Error(`${(e as Error).message.split('\n')[0]}; ${rules.map((r) => r.rule.name).join(', ')} stay${rules.length === 1 ? 's' : ''} due: evaluated by the next run`);
      throw e;
    }
    j.windowFrom = undefined;
    for (const x of sum.outcomes) metrics.alertsFiring.set({ alert: x.rule }, x.firing);
    metrics.countDelivery(sum);
    wakeForHeld(d.job, sum.wake);
    const errors = sum.outcomes.filter((x) => x.status === 'error');
    const firing = sum.outcomes.reduce((n, x) => n + x.firing, 0);
    // as `vigil alerts evaluate` exits 1: a rule that failed, a notification not delivered, history not written
    const what = rules.length ? `${rules.length} rule${rules.length === 1 ? '' : 's'}, ${firing} firing, ${sum.delivery.sent} sent` : `${gone || 'no rule due'}; sent what group_wait / group_interval held or was left to retry: ${sum.delivery.sent} sent`;
    return {
      ok: !gone && !errors.length && !sum.unsettled.length && !sum.history.error,
      message: `${what}${errors.length ? `; failed: ${errors.map((e) => `${e.rule} (${e.error})`).join('; ')}` : ''}${unsettledNote(sum.unsettled)}${sum.history.error ? `; alert history not written: ${sum.history.error}` : ''}`,
    };
  };

  /** A live holder other than this process has the job (a run another serve holds). */
  const heldByOther = (doc: LeaseDoc | undefined, at: number): boolean => !!doc?.holder && doc.holder.owner !== leases.owner && leaseLive(doc.holder, at, config.leaseMs);

  /**
   * The run a job owes, from its lease document: behind when a slot passed since its last run,
   * its last run was stopped before its end, or the process that held it died mid-run (kill -9:
   * it never released). At start, and when a run another serve held is over.
   */
  const catchUpDue = (j: JobState, doc: LeaseDoc | undefined, at: Date): Due | undefined => {
    const latest = latestSlot(j.clock, at);
    const died = !!doc?.holder && doc.holder.owner !== leases.owner && !leaseLive(doc.holder, at.getTime(), config.leaseMs);
    const abandoned = doc?.last?.status === 'abandoned';
    const behind = doc?.slot && !died ? latest && latest.getTime() > Date.parse(doc.slot) : (abandoned || died) && latest;
    if (!behind || !latest) return undefined;
    const since = doc?.slot && !died ? new Date(doc.slot) : undefined;
    const missed = since ? slotsBetween(j.clock, since, latest) : 0;
    const why = died
      ? `catching up: the run for ${doc!.slot} ${leaseLost(doc!.holder!)}`
      : abandoned
        ? `catching up: the last run (${doc!.last!.by}) was stopped before its end${since ? `; the run before it was for ${doc!.slot}` : ''}`
        : `catching up: its last run was for ${doc!.slot}`;
    return { job: j.spec, slot: latest, previous: since ?? new Date(latest.getTime() - 60_000), missed, why };
  };

  /**
   * What the warehouse recorded of a job's last run (its lease document, whichever serve ran it),
   * for /health and /metrics until this process runs it: they survive a restart.
   */
  const adoptLast = (j: JobState, doc: LeaseDoc | undefined) => {
    if (j.lastRun || !doc?.last) return;
    j.lastRun = recordedRun(doc, doc.last);
    followLast(j, doc);
  };

  /**
   * A run of `j` another serve held is over (its lease released, or no longer live): its recorded
   * end replaces what this process last knew of the job — the run it skipped for that slot, or an
   * older one (was: /health said `skipped` and the run before it until this process ran the job).
   */
  const followEnded = (j: JobState, doc: LeaseDoc) => {
    const l = doc.last;
    if (!l) return;
    const known = j.lastRun ? Date.parse(j.lastRun.finished_at ?? j.lastRun.started_at) : -Infinity;
    if (Date.parse(l.finished_at) > known) j.lastRun = recordedRun(doc, l);
    followLast(j, doc);
  };

  /**
   * The job's last success, failures in a row and last run's status as the warehouse recorded
   * them, whichever serve ran it: at start, and at each skip (another serve claimed the slot, so
   * ran the job since: was, this one showed its own older run until it ran the job again).
   */
  const followLast = (j: JobState, doc: LeaseDoc) => {
    const l = doc.last;
    if (!l) return;
    // (a document from before last_success_at was recorded: its last run, if that succeeded)
    const success = doc.last_success_at ?? (l.status === 'success' ? l.finished_at : null);
    if (success && (!j.lastSuccessAt || Date.parse(success) > Date.parse(j.lastSuccessAt))) j.lastSuccessAt = success;
    j.consecutiveFailures = doc.consecutive_failures ?? (l.status === 'error' ? 1 : 0);
    if (l.status !== 'abandoned') metrics.runStatus.set({ job: j.spec.name }, l.status === 'success' ? 1 : 0);
    if (j.lastSuccessAt) metrics.lastSuccess.set({ job: j.spec.name }, Date.parse(j.lastSuccessAt) / 1000);
  };

  /** Read the lease of `j` again when another serve's lease on it ends, and every third of a lease before (or after `ms`). */
  const watch = (j: JobState, holder?: Holder, ms?: number) => {
    clearTimeout(j.watch);
    if (stopping) return;
    const period = ms ?? Math.max(1000, config.leaseMs / 3);
    const until = holder ? Date.parse(holder.until) - now() : NaN;
    j.watch = setTimeout(() => enqueue({ job: j.spec, slot: new Date(), previous: new Date(), missed: 0, why: '', recheck: true }), until > 0 ? Math.min(until + 50, period) : period);
  };

  /**
   * A run deferred for `streams` another job held: look (reads only) whether they are free after
   * 1 s, 2 s, 4 s ... up to a thirtieth of a lease, and queue its catch-up once they are (the
   * holder released them, its lease ran out, or its process is gone). Outside the queue: the
   * other jobs run meanwhile. A warehouse that cannot be read: a recheck a third of a lease later.
   */
  const watchStreams = (j: JobState, streams: string[], ms = STREAM_POLL_MS) => {
    clearTimeout(j.watch);
    if (stopping) return;
    j.watch = setTimeout(() => {
      void (async () => {
        let held;
        try {
          const a = await openTarget(1, 0);
          try {
            held = await leases.streamHeld(a, streams);
          } finally {
            await a.close().catch(() => {});
          }
        } catch {
          return watch(j);
        }
        if (held) watchStreams(j, streams, Math.min(ms * 2, streamPollMaxMs));
        else enqueue({ job: j.spec, slot: new Date(), previous: new Date(), missed: 0, why: '', recheck: true });
      })();
    }, ms);
  };

  /** The warehouse could not be read at start: read the lease of `j` again after 1 s, 2 s, 4 s ... up to a third of a lease. */
  const retryStartRead = (j: JobState) => {
    j.unreadSinceStart = true;
    j.retryMs = Math.min(Math.max(1000, config.leaseMs / 3), j.retryMs ? j.retryMs * 2 : 1000);
    watch(j, undefined, j.retryMs);
  };

  /** What an earlier serve held (group_wait / group_interval) or left to retry: sent when due, not at the alerts job's next evaluation. */
  const peekHeld = async (job: JobSpec) => {
    const { peekScheduled } = await import('./alerts-commands.js');
    const peek = await peekScheduled(checked.alerts!, { projectDir: o.projectDir, target: o.target, vars: o.vars });
    if (peek.due) heldDue = job;
    else wakeForHeld(job, peek.wake);
  };
  /** the alert state could not be read at start either */
  let heldUnread = false;

  /** A recheck's turn in the queue: the catch-up to run when the other serve's run is over without its end, else nothing. */
  const recheck = async (j: JobState): Promise<Due | undefined> => {
    let doc: LeaseDoc | undefined;
    try {
      // (no waiting for a DuckDB file: the process that holds it runs; checked again later)
      const a = await openTarget(1, 0);
      try {
        doc = await leases.read(a, j.spec.name);
        // the sync state /health judges: not read at start, a stream declared since, or another
        // serve's run of this sync job is over (was: read when this one skipped, while that run
        // had not synced yet, so /health showed the run before it for a whole cron period)
        if (unread || (j.spec.command === 'sync' && !heldByOther(doc, Date.now()))) await readStreamStates(a);
      } finally {
        await a.close().catch(() => {});
      }
      if (j.unreadSinceStart && j.spec.command === 'alerts' && heldUnread) {
        await peekHeld(j.spec);
        heldUnread = false;
      }
    } catch (e) {
      noteUnreadable(e);
      // (said once, at start)
      if (j.unreadSinceStart) {
        retryStartRead(j);
        return undefined;
      }
      if (!(e instanceof WarehouseBusyError)) logErr(`${j.spec.name}: could not read its lease to see whether another serve's run of it ended (${redact((e as Error).message.split('\n')[0])}); trying again`);
      watch(j);
      return undefined;
    }
    const at = new Date();
    if (j.unreadSinceStart) {
      j.unreadSinceStart = false;
      adoptLast(j, doc);
      log(`${j.spec.name}: read its last run from the warehouse${doc?.slot ? ` (for ${doc.slot})` : ' (none yet)'}`);
    }
    if (heldByOther(doc, at.getTime())) {
      watch(j, doc!.holder);
      return undefined;
    }
    // the run another serve held is over: /health and /metrics show how it went
    if (doc) followEnded(j, doc);
    // a run of it waits in the queue: it claims the newest slot, a catch-up now would be skipped
    if (queue.some((q) => q.job.name === j.spec.name && !q.recheck)) return undefined;
    const due = catchUpDue(j, doc, at);
    if (due && due.slot > j.lastDue) j.lastDue = due.slot;
    return due;
  };

  // ---- start: what the warehouse knows (sync state, the slots each job last ran), then the clocks
  out(`vigil ${VIGIL_VERSION} serve: project ${files.project.name}, target ${compiled.target.name} (${compiled.target.type}), listening on http://${shown} (/health, /internal/analytics-sync, /metrics)`);
  const start = new Date();
  const catchUp: Due[] = [];
  try {
    // (a DuckDB file another process holds: waited for a little, then read again until it opens, below)
    const a = await openTarget(1, START_WAIT_MS);
    try {
      await readStreamStates(a);
      for (const j of jobs.values()) {
        const doc = await leases.read(a, j.spec.name);
        adoptLast(j, doc);
        const due = o.runNow ? undefined : catchUpDue(j, doc, start);
        if (due) {
          catchUp.push(due);
          // the clock goes on from the slot caught up, so that slot is not queued twice
          j.lastDue = due.slot;
        } else if (doc?.holder && leaseLive(doc.holder, start.getTime(), config.leaseMs)) {
          // another serve runs it now: caught up here if that run does not reach its end
          watch(j, doc.holder);
        }
      }
    } finally {
      await a.close();
    }
  } catch (e) {
    // the slots the jobs missed are caught up once it can be read: each job's lease is read again
    // (queued as a job, so never while one runs) after 1 s, 2 s, 4 s ... up to a third of a lease
    noteUnreadable(e);
    logErr(`could not read the warehouse at start (${redact((e as Error).message.split('\n')[0])}); ${o.runNow ? 'the jobs run now (--run-now) and read it then' : 'reading it again until it opens, to catch up the slots the jobs missed'}`);
    unread = true;
    if (!o.runNow) for (const j of jobs.values()) retryStartRead(j);
  }
  // notifications an earlier serve held (group_wait / group_interval) or left to retry: sent when
  // due, not at the alerts job's next evaluation (the state lock keeps them from going out twice)
  const alertsJob = config.jobs.find((j) => j.command === 'alerts');
  if (alertsJob) {
    try {
      await peekHeld(alertsJob);
    } catch (e) {
      // (the warehouse not read at start: read with the job's lease, when it opens)
      heldUnread = !!jobs.get(alertsJob.name)!.unreadSinceStart;
      logErr(`${alertsJob.name}: could not read the alert state at start (${redact((e as Error).message.split('\n')[0])}); ${heldUnread ? 'read again when the warehouse opens' : 'its next run sends what is due'}`);
    }
  }
  for (const j of jobs.values()) {
    const next = j.clock.nextRun(start);
    out(`  ${j.spec.name}: ${j.spec.command}${j.spec.perRuleSchedule ? ', each alert on its own schedule' : `, "${j.spec.cron}" ${j.spec.timezone}`}, next ${next?.toISOString() ?? 'never'}`);
  }

  const arm = (j: JobState) => {
    if (stopping) return;
    const next = j.clock.nextRun(j.lastDue);
    if (!next) return;
    // (timerAt looks at the wall clock again every few seconds: a suspended VM resumed, or an NTP
    // step, past the slot runs it then, not when the monotonic wait runs out — up to a whole period late)
    j.timer = timerAt(next.getTime(), () => wake(j));
  };
  const wake = (j: JobState) => {
    const at = new Date();
    const slot = latestSlot(j.clock, at);
    if (slot && slot > j.lastDue) {
      // a late wake (a paused process) runs once for the newest slot, right away
      const missed = slotsBetween(j.clock, j.lastDue, slot);
      const previous = j.lastDue;
      j.lastDue = slot;
      enqueue({ job: j.spec, slot, previous, missed, why: '' });
    }
    arm(j);
  };
  for (const j of jobs.values()) {
    if (o.runNow) enqueue({ job: j.spec, slot: start, previous: new Date(start.getTime() - 60_000), missed: 0, why: '--run-now', allRules: true });
    arm(j);
  }
  for (const d of catchUp) enqueue(d);
  pump(); // (what the alert state had due at start)

  // ---- until SIGTERM / SIGINT / SIGHUP
  await new Promise<void>((resolve) => {
    const stop = (sig: (typeof STOP_SIGNALS)[number]) => {
      if (stopping) {
        err(`${sig} again: exiting now (each committed batch is kept; the one in flight is rolled back)`);
        process.exit(128 + osConstants.signals[sig]);
      }
      stopping = true;
      for (const j of jobs.values()) {
        j.timer?.cancel();
        clearTimeout(j.watch);
      }
      held?.timer.cancel();
      queue.length = 0;
      const running = current;
      log(`${sig}: stopping${running ? ` after ${running.job.name} reaches a safe point (at most ${Math.round(config.graceMs / 1000)}s)` : ''}`);
      running?.stop.abort(sig);
      const grace = setTimeout(() => {
        logErr(`${running?.job.name} did not stop within serve.grace; exiting (its lease runs out or dies with this process)`);
        process.exit(1);
      }, config.graceMs);
      void (running?.done ?? Promise.resolve()).then(() => {
        clearTimeout(grace);
        server.close();
        server.closeAllConnections?.();
        resolve();
      });
    };
    for (const [sig, f] of onStart) {
      process.off(sig, f);
      process.on(sig, () => stop(sig));
    }
  });
  process.off('unhandledRejection', onRejection);
  log('serve stopped.');
}

/**
 * Selections of the jobs must match something now (a typo is an error at start). Returns the
 * alerts as loaded (when a job runs them); the streams the sync jobs cover are coveredStreams().
 */
async function checkSelections(c: Compiled, o: Common, config: ServeConfig): Promise<{ alerts?: Setup }> {
  let alerts: Setup | undefined;
  for (const j of config.jobs) {
    const where = `schedules.${j.name} (${j.selectAt ?? j.declaredAt})`;
    try {
      // the alert files load now, with a select or without: a mistake is exit 2 at start, not a
      // job failing every minute. A query that does not compile too (each job's own load
      // tolerates one broken while serve runs: that rule's error instance, the others run)
      const streams = await checkJobSelection(c.result.manifest, j, async () => (alerts ??= await (await import('./alerts-commands.js')).setupAlerts(o, undefined, { tests: false })));
      if (j.command === 'sync') {
        // the source databases resolve now (an unset DATABASE_URL is a mistake at start, as for
        // vigil sync, not a failure at each run)
        const { resolveTarget } = await import('../compile/resolve-target.js');
        for (const from of new Set(streams.map((s) => s.sync!.from))) {
          const ds: Diagnostic[] = [];
          if (!resolveTarget(c.files, { target: from, env: process.env }, ds)) throw new ProjectError(ds);
        }
      }
    } catch (e) {
      // (the one-shot commands' --allow-empty is not serve's: a schedule selects something or is a mistake)
      if (e instanceof UsageError) throw new UsageError(`${where}: ${e.message.replace(/\n\(nothing was run; pass --allow-empty[^)]*\)$/, '')}`);
      throw e;
    }
  }
  return { alerts };
}

/** The streams the sync jobs select in `manifest` (a selection that no longer matches covers none). */
function coveredStreams(manifest: Manifest, config: ServeConfig): Set<string> {
  return new Set(config.jobs.filter((x) => x.command === 'sync').flatMap((j) => jobStreams(manifest, j)));
}

/** The streams (`source.table`) sync job `job` selects in `manifest` (none when its selection no longer matches). */
function jobStreams(manifest: Manifest, job: JobSpec): string[] {
  let ids: Set<string>;
  try {
    ids = select(manifest, { select: job.select }).ids;
  } catch {
    return [];
  }
  return Object.values(manifest.sources)
    .filter((s) => s.sync && ids.has(s.unique_id))
    .map((s) => `${s.source_name}.${s.name}`);
}

type RuleSchedules = Array<{ rule: { schedule: { cron: string; timezone: string } } }>;

/**
 * The clock of an alerts job without cron: every minute (each rule of 5 fields or a nickname has
 * its slots on a minute), and the slots of each rule whose cron has seconds (`*\/10 * * * * *`:
 * was, evaluated once a minute under serve, at :10 :20 ... under run-scheduler). `key`: those crons.
 */
function ruleClock(rules: RuleSchedules): { clock: Clock; key: string } {
  const minute = cronClock(ALERTS_TICK, 'UTC');
  const seconds = [...new Map(rules.filter((r) => r.rule.schedule.cron.trim().split(/\s+/).length === 6).map((r) => [`${r.rule.schedule.cron} ${r.rule.schedule.timezone}`, r.rule.schedule])).entries()].sort(([a], [b]) => a.localeCompare(b));
  if (!seconds.length) return { clock: minute, key: '' };
  return { clock: new UnionClock([minute, ...seconds.map(([, x]) => cronClock(x.cron, x.timezone))]), key: seconds.map(([k]) => k).join('\n') };
}

/** `; 2 notifications not delivered (pending, uncertain): see vigil alerts status`, or nothing. */
function unsettledNote(unsettled: Array<{ status: string }>): string {
  if (!unsettled.length) return '';
  return `; ${unsettled.length} notification${unsettled.length === 1 ? '' : 's'} not delivered (${[...new Set(unsettled.map((e) => e.status))].join(', ')}): see vigil alerts status`;
}
