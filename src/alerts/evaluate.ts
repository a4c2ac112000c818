/**
 * One evaluation: take the state lock, run every selected rule's query, judge and advance
 * its instances, plan notifications into the outbox, SAVE (the outbox is durable before
 * anything is sent), deliver every pending outbox entry, mark each after its 2xx, release.
 *
 * A crash anywhere leaves either nothing (before the save) or pending entries that the next
 * run sends. Sends are bracketed by two saves: `sending` before, the outcomes after (see
 * deliverOutbox for the chunking). An entry found `sending` was being sent when a run died:
 * the receiver may have it. PagerDuty resends it (it dedups on dedup_key); bot mode looks in
 * the channel; a Slack webhook holds it as `uncertain` (reported by every run until settled)
 * unless the receiver says `on_uncertain: resend`. Per instance, a notification never
 * overtakes an unsettled earlier one (pending, uncertain, refused) to the same receiver.
 * The built-in vigil_alert_outbox_stuck is judged after that delivery, and what it changed is
 * saved, planned and delivered in a second pass of the same run.
 */
import { hostname } from 'node:os';
import type { Adapter } from '../adapters/adapter.js';
import { UsageError } from '../errors.js';
import { addSecret, addUrlSecrets, redact } from '../secrets.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { SourceNode } from '../compile/manifest.js';
import { advance, inActiveHours, judge, messageTemplates, readsSyncState, summaryOf, templateError, unknownTemplateNames, valueKindProblem, type InstanceState, type Transition } from './engine.js';
import { alertEvents, statusSnapshot, writeAlertEvents } from './history.js';
import type { LoadedRule } from './load-alerts.js';
import { outboxNote, planNotifications, waitsNote, type OutboxEntry } from './notify.js';
import type { AlertRule, ReceiverConfig, RoutesFile } from './schema.js';
import { syncStateRows } from './sync-state.js';
import type { StateDoc, StateStore } from './state.js';
import { durationMs } from './time.js';
import { mapLimit } from '../run/concurrency.js';
import { PAGERDUTY_HOST_PROBLEM, pagerDutyHost } from './delivery/pagerduty.js';
import { DEFAULT_POLICY, type DeliveryPolicy, type DeliveryResult, type PagerDutyEvent, type SlackMessage } from './delivery/types.js';
import type { SlackBotTarget } from './delivery/slack-bot.js';
import { docRef } from '../install.js';

export interface CompiledRule extends LoadedRule {
  /** Compiled SQL (undefined for sync_state rules and sync freshness, which read the sync state tables). */
  sql?: string;
  /** Why the query did not compile (evaluate then raises the rule's error instance). */
  compileError?: string;
  /** The live PII its query reads (check/pii-lineage.ts): the values its warehouse errors quote are masked. */
  piiReads?: string[];
}

export interface EvalContext {
  /** The rules whose queries run this evaluation. */
  rules: CompiledRule[];
  /** Every rule of the project, for the messages of instances whose rule is not evaluated (default: rules). */
  allRules?: CompiledRule[];
  /** Every enabled rule of the project (also those not selected): instances of other rules are
   * resolved, since their rule was deleted, renamed or disabled. */
  knownRules?: Set<string>;
  routes?: RoutesFile;
  adapter: Adapter;
  store: StateStore;
  files: ProjectFiles;
  sources: SourceNode[];
  env: NodeJS.ProcessEnv;
  out: (s: string) => void;
  err: (s: string) => void;
  /** Write fired/resolved events to vigil_alert_events in this schema (history.ts); undefined: no history. */
  history?: { schema: string };
}

export interface EvalOptions {
  at: Date;
  dryRun: boolean;
  command: string;
  policy?: DeliveryPolicy;
  /** Wait this long for another evaluation's lock before giving up. */
  lockWaitMs?: number;
  /** Test hook: stop (as if killed) after the outbox is saved, before sending. */
  crashAfterSave?: boolean;
  /** Test hook: stop (as if killed) after the events were written to vigil_alert_events, before the state says so. */
  crashAfterHistory?: boolean;
  /** Hold a new group's first notification for its route's group_wait (the scheduler); a one-shot run sends at once. */
  groupWait?: boolean;
  /** Run no query: send what group_wait / group_interval held and is due now, for every rule (the scheduler's timer). */
  flushHeld?: boolean;
  /** `at` was given (--at): one before the state's last evaluation is refused unless dryRun (its incidents would resolve before they fired). */
  atGiven?: boolean;
  /**
   * `at` is a schedule's slot (run-scheduler, serve): one before the state's last evaluation (an
   * `alerts evaluate` ran between the slot and this run, which waited for its lock) is evaluated
   * by the clock instead, as a late one is: the state goes forward only.
   */
  slot?: boolean;
}

export interface RuleOutcome {
  rule: string;
  status: 'ok' | 'error' | 'nodata' | 'outside_active_hours';
  error?: string;
  seconds: number;
  transitions: Transition[];
  firing: number;
}

export interface EvalSummary {
  /** Seconds from taking the lock to the outbox saved (queries, judging, planning; not delivery). */
  evaluationSeconds: number;
  outcomes: RuleOutcome[];
  queued: OutboxEntry[];
  suppressed: Array<{ instance: string; reason: string }>;
  /** Triggers waiting for their group's group_wait / group_interval. */
  held: Array<{ instance: string; receiver: string; until: string }>;
  /** Firing alerts a silence mutes, and when it ends (a scheduler wakes then: planNotifications' `silenced`). */
  silenced: Array<{ instance: string; silence: string; until: string }>;
  delivery: DeliverySummary;
  /** After this run: every notification not settled yet (pending, uncertain or refused), this run's and earlier ones. */
  unsettled: OutboxEntry[];
  /**
   * The ids of the notifications this run moved to pending and left there: queued by it, or a
   * dead run's `sending` it could not deliver. Not those already pending before it (an earlier
   * run's, whichever process ran it, or put back by `vigil alerts outbox --retry`).
   */
  newlyPending: string[];
  /** Alert events of this run (and earlier unwritten ones) written to vigil_alert_events, or why not. */
  history: { written: number; already: number; pending: number; error?: string };
}

export interface DeliverySummary {
  sent: number;
  rejected: number;
  pending: number;
  uncertain: number;
  errors: string[];
}

/** When a scheduler should look again without a rule due: a held group's time, a silence of a firing alert ending. */
export function wakeTimes(sum: Pick<EvalSummary, 'held' | 'silenced'>): Array<{ until: string }> {
  return [...sum.held, ...sum.silenced];
}

/** The built-in alert that fires while notifications to a receiver stay unsettled too long. */
export const OUTBOX_ALERT = 'vigil_alert_outbox_stuck';

/**
 * Its messages: which receiver, how many, since when, why. Written out with every default
 * AlertSchema gives (a test checks that the schema leaves it as it is): an evaluation loads no zod.
 */
export const OUTBOX_RULE: AlertRule = {
  name: OUTBOX_ALERT,
  description: `Vigil could not deliver notifications to this receiver: see \`vigil alerts status\` and ${docRef('alerts.md#delivery')}.`,
  severity: 'critical',
  labels: {},
  schedule: { cron: '*/15 * * * *', timezone: 'UTC' },
  group_by: [],
  condition: { type: 'sql' },
  for: 0,
  summary: '{{ unsettled }} notification(s) to {{ receiver }} not settled since {{ oldest }} ({{ status }}{% if last_error %}: {{ last_error }}{% endif %})',
  title: 'Notifications stuck',
  fields: { Receiver: '{{ receiver }}', Unsettled: '{{ unsettled }}', Oldest: '{{ oldest }}', Status: '{{ status }}' },
  pagerduty: { component: '{{ receiver }}', group: 'vigil', class: 'delivery' },
  links: {},
  timeout: '60s',
  enabled: true,
};

/** What happens to a notification whose send may or may not have arrived. */
export function onUncertain(rc: ReceiverConfig | undefined, type: OutboxEntry['type']): 'resend' | 'hold' | 'look' {
  if (type === 'pagerduty') return 'resend'; // PagerDuty dedups a resent event by dedup_key
  if (rc?.slack?.bot_token_env) return 'look'; // the channel's history says whether it arrived
  return rc?.slack?.on_uncertain ?? 'hold';
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p.finally(() => clearTimeout(t)), new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out after ${Math.round(ms / 1000)}s`)), ms)))]);
}

/**
 * The rows a rule judges at `at`: its compiled query with the evaluation time bound (or the
 * sync state). Throws, to become the rule's error instance, when the query did not compile,
 * fails, or lacks a column the rule reads. Shared by evaluate and the offline tests.
 */
export async function fetchRows(adapter: Adapter, r: CompiledRule, at: Date, sources: SourceNode[]): Promise<Array<Record<string, unknown>>> {
  if (r.compileError) throw new Error(r.compileError);
  const sync = readsSyncState(r.rule);
  if (!sync && r.sql === undefined) throw new Error('internal: the rule has no compiled query');
  const c = r.rule.condition;
  const sourceLimits = c.type === 'freshness' && !!c.source_freshness;
  const sql = sync ? undefined : adapter.dialect.bindEvalTime(r.sql!, at);
  const rows = sql === undefined ? await syncStateRows(adapter, sources, columnsJudged(r.rule), { sourceLimits }) : await adapter.query(sql);
  // the columns it returns: its first row's (sync state rows always have every SYNC_STATE_COLUMNS
  // column; load-alerts checks the names); no row names none: the query's own columns (as `alerts
  // check --warehouse` reads them), so a column the rule reads that it lacks is an error with no row
  // too, not a quiet "0 firing" that resolves what fired (a warehouse naming no column of an empty
  // result, BigQuery's, is not judged: nor asked, each question there being a job; a query the
  // wrapping does not take, say one ending in `;`, is not judged either: it worked)
  const have = rows.length
    ? Object.keys(rows[0])
    : sql !== undefined && adapter.preview && adapter.previewNamesEmpty
      ? await adapter.preview(columnsProbeSql(sql)).then((p) => p.columns.map((c) => c.name), (): string[] => [])
      : [];
  const lacking = have.length ? columnsJudged(r.rule).filter((n) => !have.includes(n)) : [];
  if (lacking.length) throw new Error(`the query returns no column ${lacking.map((m) => `'${m}'`).join(', ')} that the rule reads (columns: ${have.join(', ')})`);
  const wrong = valueKindProblem(r.rule, rows);
  if (wrong) throw new Error(wrong);
  return rows;
}

/** The columns a rule judges its rows by: group_by, time and the condition's (the sync freshness shorthand: last_synced_at). */
export function columnsJudged(rule: CompiledRule['rule']): string[] {
  return [...new Set(columnsJudgedAt(rule).map((c) => c.column))];
}

/** columnsJudged(), each with the key of the rule that names it (`['group_by', 0]`, `['time']`, `['condition', 'column']`), in that order. */
export function columnsJudgedAt(rule: CompiledRule['rule']): Array<{ column: string; key: Array<string | number> }> {
  const c = rule.condition as Record<string, unknown>;
  const cols = ['column', 'value', 'baseline', 'zscore'].flatMap((k) => (typeof c[k] === 'string' ? [{ column: c[k] as string, key: ['condition', k] }] : []));
  if (c.type === 'freshness' && c.sync) cols.push({ column: 'last_synced_at', key: ['condition', 'sync'] });
  return [...rule.group_by.map((g, i) => ({ column: g, key: ['group_by', i] })), ...(rule.time ? [{ column: rule.time, key: ['time'] }] : []), ...cols];
}

/** A query wrapped to return its columns and no row (its columns read without running it). */
export function columnsProbeSql(sql: string): string {
  return `select * from (\n${sql}\n) as vigil_check limit 0`;
}

type Fetched = { kind: 'rows'; rows: Array<Record<string, unknown>>; seconds: number } | { kind: 'error'; error: string; seconds: number } | { kind: 'outside'; seconds: number };

/** Run a rule's query (with its timeout); needs no state, so it runs while the lock is taken. */
async function fetchRule(ctx: EvalContext, r: CompiledRule, at: Date): Promise<Fetched> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (!inActiveHours({ rule: r.rule, activeHours: r.activeHours }, at)) return { kind: 'outside', seconds: 0 };
  try {
    const rows = await withTimeout(fetchRows(ctx.adapter, r, at, ctx.sources), durationMs(r.rule.timeout), 'the query');
    return { kind: 'rows', rows, seconds: seconds() };
  } catch (e) {
    // (masked before the error reaches the state, the error instance's notifications and the history)
    const { redactedError } = await import('../check/pii-lineage.js');
    const message = redactedError((e as Error).message, r.piiReads, r.sql ? [r.sql] : []);
    return { kind: 'error', error: redact(message.split('\n').slice(0, 3).join(' ')).slice(0, 500), seconds: seconds() };
  }
}

/** The latest evaluation the state records (any rule's), if any. */
function lastEvaluation(doc: StateDoc): { at: string; rule: string } | undefined {
  let last: { at: string; rule: string } | undefined;
  for (const [rule, r] of Object.entries(doc.rules)) if (r.lastEvaluatedAt && (!last || Date.parse(r.lastEvaluatedAt) > Date.parse(last.at))) last = { at: r.lastEvaluatedAt, rule };
  return last;
}

/** Judge a rule's rows against the state and advance its instances. */
function applyRule(r: CompiledRule, f: Fetched, doc: StateDoc, at: Date): RuleOutcome {
  const rule = r.rule;
  const runtime = (doc.rules[rule.name] ??= { status: 'ok' });
  const rc = { rule, activeHours: r.activeHours };
  let transitions: Transition[];
  let error: string | undefined;
  if (f.kind === 'outside') {
    // outside its hours the rule does not apply: what fired resolves (and stops inhibiting others)
    runtime.status = 'outside_active_hours';
    transitions = advance(rc, doc.instances, { judged: [], noData: false }, at);
  } else if (f.kind === 'error') {
    runtime.status = 'error';
    runtime.error = error = f.error;
    transitions = advance(rc, doc.instances, { error: f.error }, at);
  } else {
    const j = judge(rc, f.rows, at, runtime);
    transitions = advance(rc, doc.instances, { judged: j.instances, noData: j.noData }, at);
    runtime.status = j.noData && rule.on_no_data === 'nodata' ? 'nodata' : 'ok';
    delete runtime.error;
  }
  // (also when skipped or failed: --at may not go back before it; a new_value rule learns quietly from its first rows judged, engine.ts)
  runtime.lastEvaluatedAt = at.toISOString();
  const firing = Object.values(doc.instances).filter((i) => i.alert === rule.name && i.status === 'firing').length;
  return { rule: rule.name, status: runtime.status, error, seconds: f.seconds, transitions, firing };
}

export async function evaluateAlerts(ctx: EvalContext, opts: EvalOptions): Promise<EvalSummary> {
  const { store } = ctx;
  const t0 = performance.now();
  // the queries start at once, side by side (as many as the warehouse takes), while the lock is taken
  if (opts.flushHeld) ctx = { ...ctx, rules: [] };
  const fetched = mapLimit(ctx.rules, ctx.adapter.maxConcurrency, (r) => fetchRule(ctx, r, opts.at));
  let doc: StateDoc;
  try {
    doc = opts.dryRun ? await store.read() : await store.lock(opts.command, opts.lockWaitMs ?? 0);
  } catch (e) {
    await fetched; // let the queries finish before the adapter closes (fetchRule never throws)
    throw e;
  }
  try {
    const last = (opts.atGiven || opts.slot) && !opts.dryRun ? lastEvaluation(doc) : undefined;
    // (its queries, sent before the lock was taken, read the slot's time: the rows are those of now)
    if (last && !opts.atGiven && Date.parse(last.at) > opts.at.getTime()) opts = { ...opts, at: new Date() };
    else if (last && Date.parse(last.at) > opts.at.getTime()) {
      await fetched;
      throw new UsageError(`--at ${opts.at.toISOString()} is before the state's last evaluation (${last.at}, alert ${last.rule}): its incidents would resolve before they fired, and notifications go out of order; nothing was evaluated or sent. Look at an earlier time with --dry-run, or evaluate it on another state (--state-file)`);
    }
    const results = await fetched;
    const before = statusSnapshot(doc.instances);
    const outcomes = ctx.rules.map((r, i) => applyRule(r, results[i], doc, opts.at));
    // every rule an instance may belong to: its messages (notifications, history, template warnings)
    const rules = new Map([...(ctx.allRules ?? ctx.rules).map((r) => [r.rule.name, r.rule] as const), [OUTBOX_ALERT, OUTBOX_RULE]]);
    warnUnknownTemplateNames(ctx, rules, outcomes);

    // instances of rules that no longer exist (deleted, renamed, disabled) resolve
    if (ctx.knownRules) {
      const iso = opts.at.toISOString();
      for (const inst of Object.values(doc.instances)) {
        if (ctx.knownRules.has(inst.alert) || inst.alert === OUTBOX_ALERT) continue;
        if (inst.status === 'pending') delete doc.instances[inst.key];
        else if (inst.status === 'firing') {
          inst.status = 'resolved';
          inst.resolvedAt = iso;
          ctx.out(`  ${inst.key}: its rule is gone (deleted, renamed or disabled): resolved`);
        }
      }
    }

    // vigil_alert_outbox_stuck is judged after this run's delivery attempt (a notification this run
    // delivers is not stuck; one still unsettled after it pages in this run): planned in a second pass
    // (the groups the first pass notified: the second's new alert of one goes along now, the same round)
    const notifiedGroups = new Set<string>();
    const plan = (only: 'rules' | 'outbox'): ReturnType<typeof planNotifications> => {
      if (!ctx.routes) return { entries: [], suppressed: [], held: [], silenced: [], warnings: [], notifiedGroups: [] };
      const ruleNames = opts.flushHeld ? [...(ctx.knownRules ?? []), ...(ctx.allRules ?? []).map((r) => r.rule.name)] : outcomes.filter((o) => o.status !== 'outside_active_hours').map((o) => o.rule);
      const p = planNotifications({
        instances: doc.instances,
        rules,
        routes: ctx.routes,
        silences: doc.silences,
        at: opts.at,
        source: `vigil/${ctx.files.project.name}@${hostname()}`,
        project: ctx.files.project.name,
        idPrefix: `${opts.at.toISOString().replace(/[-:.]/g, '')}-${Math.random().toString(36).slice(2, 8)}`,
        evaluated: new Set(only === 'rules' ? ruleNames.filter((n) => n !== OUTBOX_ALERT) : [OUTBOX_ALERT]),
        groups: (doc.groups ??= {}),
        groupWait: !!opts.groupWait,
        sameRound: notifiedGroups,
      });
      for (const g of p.notifiedGroups) notifiedGroups.add(g);
      for (const w of p.warnings) ctx.err(`warning: ${w}`);
      doc.outbox.push(...p.entries);
      summary.queued.push(...p.entries);
      summary.suppressed.push(...p.suppressed);
      summary.held.push(...p.held);
      // (the second planning of a run sees the same silenced alerts again)
      const seen = new Set(summary.silenced.map((y) => y.instance));
      for (const x of p.silenced) if (!seen.has(x.instance)) summary.silenced.push(x);
      return p;
    };
    const summary: EvalSummary = { evaluationSeconds: 0, outcomes, queued: [], suppressed: [], held: [], silenced: [], delivery: { sent: 0, rejected: 0, pending: 0, uncertain: 0, errors: [] }, unsettled: [], newlyPending: [], history: { written: 0, already: 0, pending: 0 } };
    const unsettled = () => doc.outbox.filter(isUnsettled);
    // the incidents of `keys` (changed since `before`) join the history once the state holding them is saved
    const recordEvents = (after: Record<string, InstanceState>, keys: (key: string) => boolean) => {
      if (!ctx.history) {
        delete doc.events;
        return;
      }
      const describe = (i: InstanceState) => {
        const rule = rules.get(i.alert);
        return rule ? summaryOf(i, rule) : i.key;
      };
      const was = new Map([...before].filter(([k]) => keys(k)));
      const now = Object.fromEntries(Object.entries(after).filter(([k]) => keys(k)));
      const events = alertEvents(was, now, opts.at, describe, { project: ctx.files.project.name, host: hostname() });
      if (events.length) doc.events = [...(doc.events ?? []), ...events];
    };
    const isStuckAlert = (key: string) => key.startsWith(`${OUTBOX_ALERT}{`);
    // the instances as evaluated, resolved ones included: the history's rows describe them after they are forgotten by planning
    recordEvents({ ...doc.instances }, (k) => !isStuckAlert(k));
    const planned = plan('rules');
    if (!ctx.routes) {
      // no routes.yaml: nothing is sent, resolved instances are simply forgotten
      for (const i of Object.values(doc.instances)) if (i.status === 'resolved') delete doc.instances[i.key];
    }
    summary.history.pending = doc.events?.length ?? 0;
    // written after a save that holds them: a crash before the next save finds them written and skips them
    const writeHistory = async () => {
      if (!ctx.history || !doc.events?.length) return;
      try {
        const r = await writeAlertEvents(ctx.adapter, ctx.history.schema, doc.events, (m) => ctx.err(`  warning: alert history: ${m}`));
        if (opts.crashAfterHistory) process.kill(process.pid, 'SIGKILL');
        // (a run writes twice when the stuck-outbox alert changed after its delivery)
        summary.history.written += r.written;
        summary.history.already += r.already;
        summary.history.pending = 0;
        doc.events = [];
      } catch (e) {
        summary.history.error = redact((e as Error).message.split('\n')[0]).slice(0, 500);
        ctx.err(`  alert history: ${doc.events.length} event(s) not written to vigil_alert_events (kept in the state for the next run): ${summary.history.error}`);
      }
    };
    /** The stuck-outbox alert as the outbox stands now, its notifications planned and its events recorded. */
    const judgeStuck = (): OutboxEntry[] => {
      if (!ctx.routes) return [];
      stuckOutboxAlert(doc, ctx.routes, opts.at);
      recordEvents({ ...doc.instances }, isStuckAlert);
      summary.history.pending = doc.events?.length ?? 0;
      return plan('outbox').entries;
    };
    if (opts.dryRun) {
      // (nothing is delivered: judged on the outbox as it is)
      const stuck = judgeStuck();
      summary.evaluationSeconds = (performance.now() - t0) / 1000;
      // what a dry run would queue is shown as such, not as unsettled
      summary.unsettled = unsettled().filter((e) => !planned.entries.includes(e) && !stuck.includes(e));
      return summary;
    }
    const pendingBefore = new Set(doc.outbox.filter((e) => e.status === 'pending' && !planned.entries.includes(e)).map((e) => e.id));
    let saved = false;
    /** Save the state (the outbox durable before anything is sent), then write the history it holds. */
    const saveAndWrite = async () => {
      await store.save(doc);
      if (!saved) {
        saved = true;
        summary.evaluationSeconds = (performance.now() - t0) / 1000;
        if (opts.crashAfterSave) process.kill(process.pid, 'SIGKILL');
      }
      await writeHistory();
    };
    const policy = opts.policy ?? DEFAULT_POLICY;
    const failedLanes = new Map<string, OutboxEntry>();
    if (doc.outbox.some((e) => e.status === 'pending' || e.status === 'sending')) {
      await saveAndWrite();
      summary.delivery = await deliverOutbox(ctx, doc, policy, { failedLanes });
    }
    const stuck = judgeStuck();
    if (stuck.some((e) => e.status === 'pending')) {
      await saveAndWrite();
      addDelivery(summary.delivery, await deliverOutbox(ctx, doc, policy, { only: new Set(stuck), failedLanes }));
    } else if (ctx.history && doc.events?.length) {
      // nothing (more) to send: the state is saved with the lock's release (once more first when there is history to write)
      await saveAndWrite();
    }
    if (!saved) summary.evaluationSeconds = (performance.now() - t0) / 1000;
    summary.newlyPending = doc.outbox.filter((e) => e.status === 'pending' && !pendingBefore.has(e.id)).map((e) => e.id);
    // what a held-back notification waits for, as it stands after this run (retried, sent or dropped since it was held)
    for (const e of doc.outbox) if (e.waitsFor) e.lastError = outboxNote(e, doc.outbox);
    pruneOutbox(doc, opts.at);
    await store.unlock(doc);
    summary.unsettled = unsettled();
    return summary;
  } catch (e) {
    if (!opts.dryRun) await store.unlock(doc).catch(() => {});
    throw e;
  }
}

/**
 * A message template that reads a name its instance does not have (a typo, a column the query
 * no longer returns) shows the `{{ }}` reading it as written (engine.ts renderTemplate); say so
 * once per rule and name, with the nearest name the instance has. One that cannot render for
 * another reason (a member a value has not, `{{ k.nme }}`; Infinity printed) is shown as written
 * with `(template error: ...)`: say so too, once per rule and template.
 */
function warnUnknownTemplateNames(ctx: EvalContext, rules: Map<string, AlertRule>, outcomes: RuleOutcome[]): void {
  for (const o of outcomes) {
    const rule = rules.get(o.rule);
    const inst = o.transitions.find((t) => t.to === 'firing' && t.instance.kind === 'row')?.instance;
    if (!rule || !inst) continue;
    for (const w of templateProblemsOf(rule, inst)) ctx.err(`warning: ${w}`);
  }
}

/**
 * What warnUnknownTemplateNames says of one firing instance of a rule: each name its message
 * templates read that it does not have (once per name), and each template that cannot render
 * for another reason. Also the offline tests' (alert-tests.ts), which fail on them.
 */
export function templateProblemsOf(rule: AlertRule, inst: InstanceState): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const { where, text: tpl } of messageTemplates(rule)) {
    const unknown = unknownTemplateNames(tpl, inst, rule);
    for (const u of unknown) {
      if (seen.has(u.name)) continue;
      seen.add(u.name);
      const shown = u.shown === undefined ? `the ${where} is shown as written` : `shown as ${u.shown}`;
      out.push(`alert ${rule.name}: its ${where} uses '${u.name}', ${u.why ?? 'which its rows do not have'}${u.hint ? ` — did you mean '${u.hint}'?` : ''} (${shown})`);
    }
    const error = unknown.length ? undefined : templateError(tpl, inst, rule);
    if (error !== undefined) out.push(`alert ${rule.name}: its ${where} cannot be rendered: ${error} (the ${where} is shown as written, with the error)`);
  }
  return out;
}

/** Sent entries are kept a week (at most 2,000) for `vigil alerts status`; unsettled ones (pending, uncertain, rejected) until they are dealt with. */
export function pruneOutbox(doc: StateDoc, at: Date): void {
  const cutoff = at.getTime() - 7 * 86_400_000;
  const done = doc.outbox.filter((e) => !isUnsettled(e) && Date.parse(e.sentAt ?? e.createdAt) > cutoff).slice(-2000);
  const keep = new Set(done);
  doc.outbox = doc.outbox.filter((e) => isUnsettled(e) || keep.has(e));
}

type Limiter = { limit: number; ms: number };
type Resolved =
  | { kind: 'pagerduty'; target: { routingKey: string; server: string }; limiter: Limiter }
  | { kind: 'slack'; target: { url: string }; limiter: Limiter }
  | { kind: 'slack-bot'; target: SlackBotTarget; limiter: Limiter };

/** What a receiver's rate limit is counted by at its service: a PagerDuty routing key, a Slack webhook, a bot's channel. */
function rateKey(r: Resolved): string {
  if (r.kind === 'pagerduty') return `pagerduty\u0000${r.target.server}\u0000${r.target.routingKey}`;
  if (r.kind === 'slack') return `slack\u0000${r.target.url}`;
  return `slack-bot\u0000${r.target.apiUrl ?? ''}\u0000${r.target.token}\u0000${r.target.channel}`;
}

/** The integrations a receiver has (none: a blackhole). */
export function integrations(rc: ReceiverConfig): Array<'pagerduty' | 'slack'> {
  return [...(rc.pagerduty ? (['pagerduty'] as const) : []), ...(rc.slack ? (['slack'] as const) : [])];
}

/** One integration of a receiver with its secrets from the environment, or why they are missing. */
export function resolveIntegration(rc: ReceiverConfig, kind: 'pagerduty' | 'slack', env: NodeJS.ProcessEnv): Resolved | string {
  if (kind === 'pagerduty') {
    if (!rc.pagerduty) return `receiver '${rc.name}' has no pagerduty: integration any more`;
    const key = env[rc.pagerduty.routing_key_env];
    if (!key) return `environment variable ${rc.pagerduty.routing_key_env} (routing key of receiver '${rc.name}') is not set`;
    addSecret(rc.pagerduty.routing_key_env, key);
    const fromEnv = rc.pagerduty.server_env ? env[rc.pagerduty.server_env] : undefined;
    if (fromEnv) addUrlSecrets(rc.pagerduty.server_env!, fromEnv);
    const given = fromEnv || rc.pagerduty.server;
    // the Events API is reached as https://<server>/v2/enqueue: an https:// URL gives its host;
    // any other scheme cannot be honoured (it became https://http//host), nor a path (posted under)
    const server = pagerDutyHost(given);
    if (server === undefined) return `${fromEnv ? `environment variable ${rc.pagerduty.server_env}` : 'server'} of receiver '${rc.name}' is '${redact(given)}': ${PAGERDUTY_HOST_PROBLEM}`;
    return { kind: 'pagerduty', target: { routingKey: key, server }, limiter: rateWindow(rc.pagerduty.rate_per_minute, 60_000) };
  }
  const s = rc.slack;
  if (!s) return `receiver '${rc.name}' has no slack: integration any more`;
  if (s.bot_token_env) {
    const token = env[s.bot_token_env];
    if (!token) return `environment variable ${s.bot_token_env} (bot token of receiver '${rc.name}') is not set`;
    addSecret(s.bot_token_env, token);
    const apiUrl = s.api_url_env ? env[s.api_url_env] : undefined;
    if (apiUrl) addUrlSecrets(s.api_url_env!, apiUrl);
    return { kind: 'slack-bot', target: { token, channel: s.channel!, apiUrl: apiUrl || undefined }, limiter: rateWindow(s.rate_per_second, 1000) };
  }
  const v = s.webhook_url_env!;
  const url = env[v];
  if (!url) return `environment variable ${v} (webhook URL of receiver '${rc.name}') is not set`;
  addSecret(v, url);
  if (!/^https?:\/\//.test(url)) return `environment variable ${v} (receiver '${rc.name}') is not an http(s) URL`;
  if (isSlackApiMethodUrl(url))
    return `environment variable ${v} (webhook URL of receiver '${rc.name}') is a Slack Web API method (https://slack.com/api/...), not an incoming webhook: it answers a webhook post with {"ok":false} and posts nothing. Set ${v} to the channel's incoming webhook URL (https://hooks.slack.com/services/...), or use bot mode: slack: { bot_token_env: <the variable holding the xoxb- token>, channel: <the channel's id, C0123ABCD> }`;
  return { kind: 'slack', target: { url }, limiter: rateWindow(s.rate_per_second, 1000) };
}

/** A Slack Web API method URL (https://slack.com/api/chat.postMessage, a workspace's https://x.slack.com/api/...). */
export function isSlackApiMethodUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return /(^|\.)slack\.com$/i.test(u.hostname) && u.pathname.startsWith('/api/');
  } catch {
    return false;
  }
}

/** `rate` per `ms` as a whole number of events per window: 0.5/s is 1 per 2 s. */
function rateWindow(rate: number, ms: number): { limit: number; ms: number } {
  return Number.isInteger(rate) && rate >= 1 ? { limit: rate, ms } : { limit: 1, ms: Math.ceil(ms / rate) };
}

/**
 * The built-in alert `vigil_alert_outbox_stuck{receiver=...}`: fires while a receiver has a
 * notification unsettled (pending, uncertain or refused) for longer than `outbox_alert_after`, resolves
 * when none is left. It is routed like any alert (route it by `alertname` to a fallback).
 */
export function stuckOutboxAlert(doc: StateDoc, routes: RoutesFile, at: Date): void {
  const limit = durationMs(routes.outbox_alert_after);
  const iso = at.toISOString();
  const stuck = new Map<string, OutboxEntry[]>();
  for (const e of doc.outbox) {
    if (isUnsettled(e) && at.getTime() - Date.parse(e.createdAt) > limit) {
      // the alert about a stuck receiver is not itself a reason to fire it again
      if (e.items.every((x) => x.alert === OUTBOX_ALERT)) continue;
      (stuck.get(e.receiver) ?? stuck.set(e.receiver, []).get(e.receiver)!).push(e);
    }
  }
  for (const [receiver, entries] of stuck) {
    const key = `${OUTBOX_ALERT}{receiver="${receiver}"}`;
    const oldest = entries.reduce((a, b) => (a.createdAt < b.createdAt ? a : b));
    const cur = doc.instances[key];
    const values = { receiver, unsettled: entries.length, oldest: oldest.createdAt, status: oldest.status, last_error: oldest.lastError ?? null };
    if (cur && cur.status === 'firing') {
      cur.values = values;
      cur.lastActiveAt = iso;
      continue;
    }
    doc.instances[key] = {
      key,
      alert: OUTBOX_ALERT,
      kind: 'row',
      labels: { alertname: OUTBOX_ALERT, severity: 'critical', receiver },
      status: 'firing',
      activeSince: oldest.createdAt,
      firedAt: iso,
      lastActiveAt: iso,
      consecutive: 1,
      values,
      notified: {},
    };
  }
  for (const inst of Object.values(doc.instances)) {
    if (inst.alert !== OUTBOX_ALERT || inst.status !== 'firing' || stuck.has(inst.labels.receiver)) continue;
    inst.status = 'resolved';
    inst.resolvedAt = iso;
  }
}

/** Entries marked `sending` per save in a burst (a lane of more than this many) where a resend is harmless (PagerDuty dedups, bot mode looks first). */
export const SEND_CHUNK = 20;

/** Outbox entries that need someone or something: not sent yet, maybe sent, or refused. */
export function isUnsettled(e: OutboxEntry): boolean {
  return e.status === 'pending' || e.status === 'uncertain' || e.status === 'sending' || e.status === 'rejected';
}

/**
 * Send every pending outbox entry, one lane per receiver integration, lanes in parallel, in
 * order within a lane, within the receiver's rate limit. Entries are marked `sending` (saved)
 * before their requests start and their outcomes saved after, so a run killed in between
 * leaves entries the next run recognizes. As a rule each request has its own pair of saves. In
 * a burst (more than SEND_CHUNK entries in a lane) where resending is harmless (PagerDuty
 * dedups by dedup_key; bot mode looks in the channel first) up to SEND_CHUNK entries share one
 * pair (one notification per instance in a pair: a resolve is never marked with its trigger, so a
 * crash never resends the trigger after it); a webhook that holds uncertain posts is always marked one entry at a time, so a crash
 * makes at most one post uncertain. A notification whose instance has an unsettled earlier one in
 * the lane (uncertain, refused, or failed this run) waits for it: a resolve never overtakes
 * its trigger.
 */
export async function deliverOutbox(
  ctx: EvalContext,
  doc: StateDoc,
  policy: DeliveryPolicy,
  /** only: send these pending entries, not the others. failedLanes: the lanes whose send failed (retried by the next run), per receiver and type, with the entry that failed: filled, and (with `only`) not tried again */
  opts: { only?: Set<OutboxEntry>; failedLanes?: Map<string, OutboxEntry> } = {},
): Promise<DeliverySummary> {
  const summary: DeliverySummary = { sent: 0, rejected: 0, pending: 0, uncertain: 0, errors: [] };
  const receivers = new Map((ctx.routes?.receivers ?? []).map((r) => [r.name, r]));
  const describe = (e: OutboxEntry) => `${e.type} ${e.items.map((x) => `${x.action} ${x.instance}`).join(', ')} -> ${e.receiver}`;
  // the entries this delivery changed since its last save: each save looks at these, not at the
  // whole outbox (20,000 firing instances: 21,000 entries x 3,654 saves, 77 M comparisons). Every change below adds its entry
  const touched = new Set<OutboxEntry>();
  // a run that died while sending: the receiver may or may not have these
  for (const e of doc.outbox) {
    if (e.status !== 'sending') continue;
    touched.add(e);
    const how = onUncertain(receivers.get(e.receiver), e.type);
    e.lastError = `the run sending it (${e.sendingSince ?? 'earlier'}) stopped before it learned whether ${e.type === 'pagerduty' ? 'PagerDuty' : 'Slack'} had it`;
    delete e.sendingSince;
    if (how === 'look') {
      // bot mode: the delivery looks in the channel before posting anything
      e.status = 'pending';
    } else if (how === 'resend') {
      e.status = 'pending';
      ctx.out(`  resending ${describe(e)}: ${e.lastError}${e.type === 'pagerduty' ? ' (PagerDuty dedups it by dedup_key)' : ' (on_uncertain: resend; it may appear twice)'}`);
    } else {
      e.status = 'uncertain';
      summary.uncertain++;
      summary.errors.push(`${e.receiver}: ${describe(e)}: ${e.lastError}; it is NOT resent (on_uncertain: hold): check the channel, then \`vigil alerts outbox --retry ${e.id}\` or \`--drop ${e.id}\``);
    }
  }
  const laneOf = (e: OutboxEntry) => `${e.receiver}\u0000${e.type}`;
  const pending = doc.outbox.filter((e) => e.status === 'pending' && (!opts.only || opts.only.has(e)));
  const lanes = new Map<string, OutboxEntry[]>();
  for (const e of pending) {
    // (a second delivery of the run, the stuck-outbox alert's: a receiver that failed is tried again by the next run)
    const earlier = opts.only ? opts.failedLanes?.get(laneOf(e)) : undefined;
    if (earlier) {
      touched.add(e);
      e.lastError = `not sent: ${earlier.id} to ${e.receiver} failed in this run${earlier.lastError ? ` (${earlier.lastError})` : ''}; the next run sends it`;
      summary.pending++;
      continue;
    }
    (lanes.get(laneOf(e)) ?? lanes.set(laneOf(e), []).get(laneOf(e))!).push(e);
  }
  if (!lanes.size) return summary;
  const { sendPagerDuty } = await import('./delivery/pagerduty.js');
  const { sendSlack } = await import('./delivery/slack.js');
  const { sendSlackBot } = await import('./delivery/slack-bot.js');
  const { RateLimiter } = await import('./delivery/rate-limit.js');

  // saves are serialized, and one not started yet is shared: it writes the document as it is when it starts
  // (the marks that changed since the last write, not the whole state: StateStore.saveProgress)
  let current: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  const save = (): Promise<void> => {
    if (queued) return queued;
    const p = current
      .catch(() => {})
      .then(async () => {
        queued = undefined;
        const these = [...touched];
        touched.clear();
        try {
          await ctx.store.saveProgress(doc, these);
        } catch (e) {
          // (not written: the next save writes them)
          for (const x of these) touched.add(x);
          throw e;
        }
      });
    queued = current = p;
    return p;
  };
  // a long delivery renews the lease, so no other run takes the lock over mid-send
  const renew = setInterval(() => void save().catch(() => {}), Math.max(1000, ctx.store.leaseMs / 3));
  renew.unref();

  // one limiter per destination, not per receiver: two receivers of one routing key (one webhook,
  // one bot channel) share its limit, as PagerDuty and Slack count it; at the stricter rate of theirs
  const limiters = new Map<string, InstanceType<typeof RateLimiter>>();
  const limiterFor = (r: Resolved): InstanceType<typeof RateLimiter> => {
    const key = rateKey(r);
    const had = limiters.get(key);
    if (had && had.limit / had.intervalMs <= r.limiter.limit / r.limiter.ms) return had;
    const l = new RateLimiter(r.limiter.limit, r.limiter.ms);
    limiters.set(key, l);
    return l;
  };
  // each lane's integration, resolved once (its limiter made before any lane sends)
  const resolved = new Map<OutboxEntry[], Resolved | string>();
  for (const entries of lanes.values()) {
    const rc = receivers.get(entries[0].receiver);
    const r = rc ? resolveIntegration(rc, entries[0].type, ctx.env) : `receiver '${entries[0].receiver}' is no longer in routes.yaml`;
    resolved.set(entries, r);
    if (typeof r !== 'string') limiterFor(r);
  }
  const sendLane = async (entries: OutboxEntry[]): Promise<void> => {
    const name = entries[0].receiver;
    const type = entries[0].type;
    const rc = receivers.get(name);
    const r = resolved.get(entries)!;
    if (typeof r === 'string') {
      for (const e of entries) {
        e.lastError = r;
        touched.add(e);
      }
      summary.pending += entries.length;
      summary.errors.push(`${name}: ${r}; ${entries.length} notification(s) stay in the outbox`);
      return;
    }
    const how = onUncertain(rc, type);
    // instances with an unsettled notification earlier in this lane (an earlier run's or this run's)
    const blocked = new Map<string, OutboxEntry>();
    for (const e of doc.outbox) if (laneOf(e) === laneOf(entries[0]) && (e.status === 'uncertain' || e.status === 'rejected')) for (const x of e.items) blocked.set(x.instance, e);
    const limiter = limiterFor(r);
    // (at once: a kept PagerDuty connection the server had closed, sent again on a new one; was printed `in 1 s`)
    const onRetry = (info: { attempt: number; delayMs: number; reason: string }) => ctx.out(`  retrying ${type === 'pagerduty' ? 'PagerDuty' : 'Slack'} (${name}) ${info.delayMs === 0 ? 'at once' : `in ${Math.max(1, Math.round(info.delayMs / 1000))} s`}: ${info.reason}`);
    // one request per mark as a rule; a burst where resending is harmless shares marks (a kill repeats at most a chunk)
    const chunkSize = how === 'hold' || entries.length <= SEND_CHUNK ? 1 : SEND_CHUNK;
    let stopped = false;
    // the last chunk, whose outcomes are not saved yet: they go with the next chunk's `sending`
    // mark, one save (on BigQuery two DML statements, not four per message), still before that
    // chunk's requests leave. A crash in between leaves the last chunk `sending`, as a crash
    // between a send and its own save always did
    let unsaved: OutboxEntry[] | undefined;
    /** A save holding the outcomes of `pending` (sent, failed: not saved before): said when it fails. */
    const saveWith = async (pending: OutboxEntry[] | undefined): Promise<void> => {
      try {
        await save();
      } catch (err) {
        const note = pending && unsavedOutcomes(pending, how);
        if (note) ctx.err(note);
        throw err;
      }
    };
    for (let start = 0; start < entries.length && !stopped; ) {
      // the next chunk: entries that may go now (a blocked one waits, and blocks its instance's later ones)
      const chunk: OutboxEntry[] = [];
      // one notification per instance in a chunk: a later one (the resolve after its trigger) starts
      // the next chunk, so its `sending` mark carries the earlier one's outcome. Was: a kill after
      // both left both `sending`, and the next run resent the trigger after the resolve PagerDuty
      // already had: the incident opened again (a page for an alert that had resolved)
      const inChunk = new Set<string>();
      for (; start < entries.length && chunk.length < chunkSize; start++) {
        const e = entries[start];
        if (e.items.some((x) => inChunk.has(x.instance))) break;
        // (blocked or sent, and the rest of a chunk put back: each entry of the lane changes here)
        touched.add(e);
        const waitsFor = e.items.map((x) => blocked.get(x.instance)).find((x) => x !== undefined);
        if (waitsFor) {
          e.lastError = waitsNote(waitsFor.id, waitsFor.status);
          e.waitsFor = waitsFor.id;
          for (const x of e.items) blocked.set(x.instance, e);
          summary.pending++;
          continue;
        }
        chunk.push(e);
        for (const x of e.items) inChunk.add(x.instance);
      }
      if (!chunk.length) break;
      const before = chunk.map((e) => ({ e, status: e.status, attempts: e.attempts, firstTriedAt: e.firstTriedAt }));
      // tried before (by a run that may have died after posting it): bot mode looks in the channel first
      const triedBefore = new Set(chunk.filter((e) => e.attempts > 0));
      const markedAt = new Date().toISOString();
      for (const e of chunk) {
        touched.add(e);
        delete e.waitsFor;
        e.status = 'sending';
        e.sendingSince = markedAt;
        e.firstTriedAt ??= markedAt;
        e.attempts++; // saved with the mark: after a crash it counts as tried
      }
      const last = unsaved;
      unsaved = undefined;
      try {
        // durable before any request leaves: a crash from here on is recognized (and with it the
        // outcomes of the chunk before)
        await saveWith(last);
      } catch (err) {
        // not marked, so not sent: the entries stay as they were
        for (const b of before) {
          Object.assign(b.e, { status: b.status, attempts: b.attempts });
          if (b.firstTriedAt === undefined) delete b.e.firstTriedAt;
          delete b.e.sendingSince;
        }
        throw err;
      }
      for (const [i, e] of chunk.entries()) {
        await limiter.acquire();
        // the lock's lease must outlast this request, its retries included (its delivery deadline):
        // once it runs out another run may take the state over and send this notification itself
        // (this process paused: SIGSTOP, a suspended VM, a long rate-limit wait; its timers fire
        // late). So a lease that may not is renewed first, and a renewal that finds the lock taken
        // over stops the run before the request leaves (was: sent after the other run had sent it,
        // and after the resolve that followed: a bot message posted twice, a trigger after its resolve)
        if (ctx.store.leaseLeftMs() < policy.deadlineMs) await saveWith(chunk.slice(0, i));
        let res: DeliveryResult;
        try {
          res =
            r.kind === 'pagerduty'
              ? await sendPagerDuty(r.target, e.body as PagerDutyEvent, policy, { onRetry, onWarning: (m) => ctx.err(`  warning: ${m}`) })
              : r.kind === 'slack-bot'
                ? await sendSlackBot(r.target, e.body as SlackMessage, { id: e.id, since: e.firstTriedAt ?? e.createdAt, lookFirst: triedBefore.has(e) && !e.checked }, policy, { onRetry })
                : await sendSlack(r.target, e.body as SlackMessage, policy, { onRetry });
        } catch (err) {
          res = { status: 'retry', attempts: 1, error: redact((err as Error).message), ambiguous: true };
        }
        // (this one and, on a failure, the rest of the chunk put back)
        for (const x of chunk.slice(i)) touched.add(x);
        delete e.sendingSince;
        delete e.checked;
        if (res.status === 'sent') {
          e.status = 'sent';
          e.sentAt = new Date().toISOString();
          delete e.lastError;
          delete e.body;
          summary.sent++;
          ctx.out(`  sent ${describe(e)}`);
        } else if (res.status === 'rejected') {
          e.status = 'rejected';
          e.lastError = redact(res.error);
          summary.rejected++;
          for (const x of e.items) blocked.set(x.instance, e);
          summary.errors.push(`${name}: ${e.type} refused ${e.id} (HTTP ${res.httpStatus}): ${e.lastError}; later notifications of its alerts wait: fix it and \`vigil alerts outbox --retry ${e.id}\`, or \`--drop ${e.id}\``);
        } else if (res.ambiguous && (how === 'hold' || r.kind === 'slack-bot')) {
          // a webhook has no dedup key, and a bot that cannot read the channel cannot tell: not resent blindly
          e.status = 'uncertain';
          e.lastError = redact(res.error);
          summary.uncertain++;
          for (const x of e.items) blocked.set(x.instance, e);
          summary.errors.push(`${name}: a Slack message may or may not have been posted (${e.lastError}); it is NOT resent${r.kind === 'slack-bot' ? '' : ' (on_uncertain: hold)'}, to avoid a double post: check the channel, then \`vigil alerts outbox --retry ${e.id}\` or \`--drop ${e.id}\``);
        } else {
          e.status = 'pending';
          e.lastError = redact(res.error);
          // keep order: the rest of the chunk and of the lane waits for the next run
          for (const rest of chunk.slice(i + 1)) {
            rest.status = 'pending';
            rest.attempts--;
            delete rest.sendingSince;
          }
          const left = entries.length - start + chunk.length - i;
          summary.pending += left;
          const note = r.kind === 'slack-bot' ? ' (the next run looks in the channel before posting it)' : !res.ambiguous ? '' : how === 'resend' && e.type === 'pagerduty' ? ' (it may have arrived; PagerDuty dedups it by dedup_key when resent)' : ' (it may have arrived; on_uncertain: resend)';
          summary.errors.push(`${name}: ${e.lastError}${note}; ${left} notification(s) stay in the outbox for the next run`);
          opts.failedLanes?.set(laneOf(e), e);
          stopped = true;
          break;
        }
      }
      unsaved = chunk;
    }
    if (unsaved) await saveWith(unsaved);
  };

  try {
    // every lane ends (a lane that finds the lock lost stops at its next request, the others at
    // theirs) before the run goes on: none is left sending while the run closes its connection
    const ends = await Promise.allSettled([...lanes.values()].map(sendLane));
    const failed = ends.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    clearInterval(renew);
    // a save still queued (a renewal) runs before the run goes on: after a lane stopped (the lock
    // lost), it ran while the run closed its warehouse connection ("Cannot use a pool after calling end")
    await current.catch(() => {});
  }
  await save();
  return summary;
}

/**
 * The note for a chunk whose outcomes the state could not take (a full disk, the warehouse gone):
 * this run knows which of its notifications went out, the next run does not — it takes them for
 * a send interrupted mid-way — so what that run will do with them, and what to do, is said now.
 */
function unsavedOutcomes(chunk: OutboxEntry[], how: ReturnType<typeof onUncertain>): string | undefined {
  const sent = chunk.filter((e) => e.status === 'sent');
  if (!sent.length) return undefined;
  const next =
    how === 'resend'
      ? sent[0].type === 'pagerduty'
        ? 'the next run sends it again (PagerDuty dedups it by dedup_key)'
        : 'the next run posts it again (on_uncertain: resend): it will appear twice'
      : how === 'look'
        ? 'the next run finds it in the channel and does not post it again'
        : `the next run holds it as uncertain although it was posted: then \`vigil alerts outbox --drop ${sent.length === 1 ? sent[0].id : 'ID'}\` settles it`;
  return `error: the alert state could not record that ${sent.length === 1 ? 'this notification was' : `these ${sent.length} notifications were`} sent (${sent.map((e) => e.id).join(', ')}): ${next}`;
}

/** `b`'s counts and errors added to `a`. */
function addDelivery(a: DeliverySummary, b: DeliverySummary): void {
  a.sent += b.sent;
  a.rejected += b.rejected;
  a.pending += b.pending;
  a.uncertain += b.uncertain;
  a.errors.push(...b.errors);
}

export function describeTransition(t: Transition, rules: Map<string, CompiledRule>): string {
  const r = rules.get(t.instance.alert);
  const labels = Object.entries(t.instance.labels)
    .filter(([k]) => !['alertname', 'severity', ...Object.keys(r?.rule.labels ?? {})].includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const summary = r && t.to !== 'inactive' ? ` — ${summaryOf(t.instance as InstanceState, r.rule)}` : '';
  return `    ${t.from} -> ${t.to}${labels ? ` {${labels}}` : ''}${summary}`;
}
