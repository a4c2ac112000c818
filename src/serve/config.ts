/**
 * `vigil serve`'s configuration: the `schedules:` and `serve:` blocks of project.yaml, checked
 * beyond their shape (which keys go with which command, the cron expression, the time zone),
 * every problem at its file:line with a did-you-mean.
 */
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import type { ProjectFiles } from '../project/load-project.js';
import { PROJECT_FILE } from '../project/load-project.js';
import { durationMs, parseDuration } from '../time/duration.js';
import { cronProblem, timezoneProblem } from '../time/schedule.js';
import { MAX_TIMER_MS } from '../time/timer.js';

export const JOB_COMMANDS = ['sync', 'build', 'run', 'test', 'seed', 'snapshot', 'alerts'] as const;
export type JobCommand = (typeof JOB_COMMANDS)[number];

/** The keys each command takes besides command/cron/timezone. */
const KEYS: Record<JobCommand, string[]> = {
  sync: ['select', 'mode', 'lookback', 'build_after'],
  build: ['select', 'exclude', 'full_refresh', 'threads'],
  run: ['select', 'exclude', 'full_refresh', 'threads'],
  test: ['select', 'exclude', 'threads'],
  seed: ['select', 'exclude', 'threads'],
  snapshot: ['select', 'exclude', 'threads'],
  alerts: ['select'],
};

/** Why a key does not go with a command, where the command's flag says so too (`vigil seed --full-refresh`). */
const NOT_FOR: Partial<Record<JobCommand, Record<string, string>>> = {
  seed: { full_refresh: 'vigil seed reloads every seed in full each time' },
};

/** An alerts job without cron: ticks every minute and evaluates the rules their own schedule makes due. */
export const ALERTS_TICK = '* * * * *';

export interface JobSpec {
  name: string;
  command: JobCommand;
  cron: string;
  timezone: string;
  /** alerts without cron: each rule on its own schedule */
  perRuleSchedule: boolean;
  select?: string[];
  exclude?: string[];
  mode?: 'delta' | 'full';
  lookbackSeconds?: number;
  buildAfter: boolean;
  fullRefresh: boolean;
  threads: number;
  /** project.yaml:line, for messages */
  declaredAt: string;
  /** project.yaml:line of its select (else exclude): where a selection that matches nothing is said */
  selectAt?: string;
}

export interface ServeConfig {
  jobs: JobSpec[];
  listen: { host: string; port: number };
  leaseMs: number;
  /** serve.single_host: a holder with this host name in another PID namespace is judged by its pid (setSingleHost) */
  singleHost: boolean;
  maxSyncAgeMs: number;
  maxDataLagMs?: number;
  graceMs: number;
}

/** The longest a Node timer waits (2^31 - 1 ms): serve arms longer waits in steps of it. */
export { MAX_TIMER_MS };
export const DEFAULT_LISTEN = '127.0.0.1:9464';
/** The shortest serve.lease: renewed every third of it (at least each second), with room for a slow round trip. */
export const MIN_LEASE_MS = 10_000;

/**
 * `127.0.0.1:9464`, `[::1]:9464`, `:9464` (every interface) or `9464`; undefined when malformed.
 * Every interface is host `::`, which Node serves IPv4 on too (dual stack), or `0.0.0.0` on a
 * machine without IPv6 (listen() falls back).
 */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '') || '::';
  return { host, port };
}

/**
 * The serve configuration of a loaded project. `listenFlag` (--listen) overrides serve.listen.
 * Diagnostics are errors at project.yaml:line; with any, `config` is undefined.
 */
export function serveConfig(files: ProjectFiles, listenFlag?: string): { config?: ServeConfig; diagnostics: Diagnostic[] } {
  const ds: Diagnostic[] = [];
  const y = files.projectYaml;
  const at = (path: PropertyKey[], atKey = false) => ({ file: PROJECT_FILE, ...y.locate(path, atKey) });
  const p = files.project;
  const schedules = p.schedules ?? {};
  const jobs: JobSpec[] = [];
  for (const [name, s] of Object.entries(schedules)) {
    const path = ['schedules', name];
    const command = s.command as JobCommand;
    if (!JOB_COMMANDS.includes(command)) {
      const hint = didYouMean(s.command, JOB_COMMANDS);
      ds.push(diag('E_SCHEDULE', `schedules.${name}: unknown command '${s.command}'${hint ? ` — did you mean '${hint}'?` : ''}`, at([...path, 'command']), `one of ${JOB_COMMANDS.join(', ')}`));
      continue;
    }
    const given = Object.keys(s).filter((k) => !['command', 'cron', 'timezone'].includes(k));
    for (const k of given.filter((k) => !KEYS[command].includes(k))) {
      const takes = JOB_COMMANDS.filter((c) => KEYS[c].includes(k));
      const why = NOT_FOR[command]?.[k];
      ds.push(diag('E_SCHEDULE', `schedules.${name}: '${k}' does not go with command ${command}${why ? `: ${why}` : ''}${takes.length ? ` (${takes.join(', ')} take${takes.length === 1 ? 's' : ''} it)` : ''}`, at([...path, k], true), `${command} takes ${KEYS[command].join(', ')}`));
    }
    if (s.lookback && s.mode !== 'full') ds.push(diag('E_SCHEDULE', `schedules.${name}: lookback goes with mode: full (a delta sync re-reads each stream's own lookback)`, at([...path, 'lookback'], true)));
    // as --lookback: 0 would read the whole table (a full sync without lookback), not nothing
    const lookback = s.lookback ? parseDuration(`schedules.${name}: lookback`, s.lookback, { min: 1 }) : undefined;
    if (lookback instanceof Error) ds.push(diag('E_SCHEDULE', lookback.message, at([...path, 'lookback'])));
    const timezone = s.timezone ?? 'UTC';
    const tzProblem = timezoneProblem(timezone);
    if (tzProblem) ds.push(diag('E_SCHEDULE', `schedules.${name}: ${tzProblem}`, at([...path, 'timezone'])));
    const perRuleSchedule = command === 'alerts' && s.cron === undefined;
    // each rule's own schedule is in its own time zone (alerts/*.yaml): this one would do nothing
    if (perRuleSchedule && s.timezone !== undefined) ds.push(diag('E_SCHEDULE', `schedules.${name}: timezone goes with cron; without cron each alert rule runs on its own schedule, in its own time zone`, at([...path, 'timezone'], true), 'give the job a cron, or remove timezone'));
    if (s.cron === undefined && !perRuleSchedule) ds.push(diag('E_SCHEDULE', `schedules.${name}: cron is missing`, at(path, true), 'e.g. cron: "*/5 * * * *" (every 5 minutes)'));
    const cron = s.cron ?? ALERTS_TICK;
    if (s.cron !== undefined && !tzProblem) {
      const cp = cronProblem(s.cron, timezone);
      if (cp) ds.push(diag('E_SCHEDULE', `schedules.${name}: ${cp}`, at([...path, 'cron'])));
    }
    const list = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean));
    // an empty selector is not "everything" by accident (leave the key out for that)
    for (const k of ['select', 'exclude'] as const) {
      const v = list(s[k]);
      if (v && (!v.length || v.some((x) => !x.trim()))) ds.push(diag('E_SCHEDULE', `schedules.${name}: ${k} is empty`, at([...path, k]), k === 'select' ? 'leave select out to run everything' : 'leave exclude out'));
    }
    jobs.push({
      name,
      command,
      cron,
      timezone,
      perRuleSchedule,
      select: list(s.select),
      exclude: list(s.exclude),
      mode: command === 'sync' ? (s.mode ?? 'delta') : undefined,
      lookbackSeconds: typeof lookback === 'number' ? lookback / 1000 : undefined,
      buildAfter: !!s.build_after,
      fullRefresh: !!s.full_refresh,
      threads: s.threads ?? 4,
      declaredAt: `${PROJECT_FILE}:${at(path, true).line}`,
      ...(s.select !== undefined || s.exclude !== undefined ? { selectAt: `${PROJECT_FILE}:${at([...path, s.select !== undefined ? 'select' : 'exclude'], true).line}` } : {}),
    });
  }
  const serve = p.serve ?? {};
  let listen = parseListen(DEFAULT_LISTEN)!;
  const notAddress = (what: string, text: string) => `${what} '${text}' is not an address: write host:port (127.0.0.1:9464), :port for every interface, or a port`;
  // serve.listen is checked whatever --listen says (was: a bad one ignored under the flag, to
  // fail the day the flag is dropped). A bare port in YAML is a number: `listen: 9464`
  const fromYaml = serve.listen === undefined ? undefined : parseListen(String(serve.listen));
  if (serve.listen !== undefined && !fromYaml) ds.push(diag('E_SCHEDULE', notAddress('serve.listen', String(serve.listen)), at(['serve', 'listen'])));
  if (listenFlag !== undefined) {
    const l = parseListen(listenFlag);
    if (!l) ds.push(diag('E_SCHEDULE', notAddress('--listen', listenFlag), {}));
    else listen = l;
  } else if (fromYaml) listen = fromYaml;
  // a lease is renewed every third of it while its job runs: one too short to be renewed in time
  // lets a second serve take the job it still runs (the same slot twice at once)
  if (serve.lease !== undefined && durationMs(serve.lease) < MIN_LEASE_MS) ds.push(diag('E_SCHEDULE', `serve.lease ${serve.lease} is too short: a running job renews its lease every third of it, so another serve would take it over while it runs; at least ${MIN_LEASE_MS / 1000}s`, at(['serve', 'lease'])));
  // a zero age is breached at once: /health would answer 503 for ever
  for (const k of ['max_sync_age', 'max_data_lag'] as const) {
    const v = serve[k];
    if (v !== undefined && durationMs(v) <= 0) ds.push(diag('E_SCHEDULE', `serve.${k} ${v} must be longer than 0: /health would answer 503 whatever the sync does`, at(['serve', k]), k === 'max_sync_age' ? 'e.g. 15m' : 'e.g. 1h, or leave it out (not judged)'));
  }
  // serve waits these out with timers, and a timer holds at most 2^31 - 1 ms (24.8 days): longer
  // ones fired at once (a 30d grace ended a stop after 1 ms)
  for (const k of ['lease', 'grace'] as const) {
    const v = serve[k];
    if (v !== undefined && durationMs(v) > MAX_TIMER_MS) ds.push(diag('E_SCHEDULE', `serve.${k} ${v} is longer than serve can wait: at most 24d`, at(['serve', k])));
  }
  if (ds.length) return { diagnostics: ds };
  return {
    config: {
      jobs,
      listen,
      leaseMs: serve.lease ? durationMs(serve.lease) : 10 * 60_000,
      singleHost: serve.single_host === true,
      maxSyncAgeMs: serve.max_sync_age ? durationMs(serve.max_sync_age) : 15 * 60_000,
      maxDataLagMs: serve.max_data_lag ? durationMs(serve.max_data_lag) : undefined,
      graceMs: serve.grace ? durationMs(serve.grace) : 60_000,
    },
    diagnostics: ds,
  };
}
