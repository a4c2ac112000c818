/**
 * Zod schemas for alerts/*.yaml (rules), alerts/routes.yaml (receivers, routing tree,
 * inhibition) and alerts/tests/*.yaml (offline rule tests). Strict objects: a typo in a key
 * is reported at its line.
 */
import { z } from 'zod';
import { Duration as DurationType } from '../time/duration-schema.js';
import { parseTimestamp } from '../time/timestamp.js';
import { PAGERDUTY_HOST_PROBLEM, pagerDutyHost } from './delivery/pagerduty.js';

const RangeItem = z.union([z.string(), z.number().int()]).transform((v) => String(v));

/** Alertmanager's time intervals (time-intervals.ts evaluates them). */
export const TimeIntervalSchema = z
  .object({
    times: z.array(z.object({ start_time: z.string(), end_time: z.string() }).strict()).optional(),
    weekdays: z.array(z.string()).optional(),
    // numbers too, as Alertmanager reads `days_of_month: [1, 15]`
    days_of_month: z.array(RangeItem).optional(),
    months: z.array(RangeItem).optional(),
    years: z.array(RangeItem).optional(),
    location: z.string().optional(),
  })
  .strict();
export type TimeIntervalIn = z.infer<typeof TimeIntervalSchema>;

export const NamedTimeIntervalSchema = z.object({ name: z.string().min(1), time_intervals: z.array(TimeIntervalSchema) }).strict();
export type NamedTimeInterval = z.infer<typeof NamedTimeIntervalSchema>;

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const Duration = DurationType;
const Ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)');
const LabelValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

const ThresholdCondition = z
  .object({
    type: z.literal('threshold'),
    column: z.string().min(1),
    op: z.enum(['>', '>=', '<', '<=', '==', '!=']),
    value: z.number(),
  })
  .strict();

const AnomalyCondition = z
  .object({
    type: z.literal('anomaly'),
    /** The observed value, e.g. interaction_count. */
    value: z.string().min(1),
    /** A column holding the baseline (e.g. median_14d)... */
    baseline: z.string().min(1).optional(),
    /** ...or: compute the median of `value` over the previous `days` rows of each group, ordered by `time`. */
    days: z.number().int().positive().optional(),
    direction: z.enum(['spike', 'drop', 'both']).default('both'),
    spike_ratio: z.number().positive().default(1.75),
    drop_ratio: z.number().positive().default(0.4),
    /** Baselines below this never fire: tiny volumes don't page. */
    min_baseline: z.number().nonnegative().default(0),
  })
  .strict();

const ZscoreCondition = z
  .object({
    type: z.literal('zscore'),
    /** A column holding the z-score already (e.g. zscore_7d of ai_audit_capability_anomalies)... */
    zscore: z.string().min(1).optional(),
    /** ...or: the observed value, compared with the mean and sample standard deviation of its previous `days` rows, ordered by `time`. */
    value: z.string().min(1).optional(),
    days: z.number().int().min(2).optional(),
    direction: z.enum(['spike', 'drop', 'both']).default('both'),
    /** How many standard deviations away fires (seed 001: 2σ). */
    threshold: z.number().positive().default(2),
    /** With value + days: a mean below this never fires (tiny volumes don't page). Unset: no bound (a series of negative values has a negative mean). */
    min_baseline: z.number().nonnegative().optional(),
  })
  .strict();

const NewValueCondition = z
  .object({
    type: z.literal('new_value'),
    column: z.string().min(1),
    /** How long a value stays "new" (and its instance firing) after Vigil first saw it. */
    window: Duration.default('24h'),
  })
  .strict();

const FreshnessCondition = z
  .object({
    type: z.literal('freshness'),
    /** A timestamp column of the query's rows... */
    column: z.string().min(1).optional(),
    /** ...or the sync state table (vigil_sync_state.last_synced_at per synced table); no query needed: the shorthand of `sync_state: true` + `column: last_synced_at`. */
    sync: z.boolean().optional(),
    max_age: Duration,
    /**
     * On sync state rows: a stream whose source table declares freshness (`error_after`, its own
     * or its source's) is judged against that limit instead of max_age — tables written every few
     * hours (market captures) are not late after one.
     */
    source_freshness: z.boolean().optional(),
  })
  .strict();

const NoDataCondition = z
  .object({
    type: z.literal('no_data'),
    /** Timestamp column: fires when no row has it inside the last `window`. */
    column: z.string().min(1),
    window: Duration,
  })
  .strict();

const SqlCondition = z.object({ type: z.literal('sql') }).strict();

export const ConditionSchema = z.discriminatedUnion('type', [ThresholdCondition, AnomalyCondition, ZscoreCondition, NewValueCondition, FreshnessCondition, NoDataCondition, SqlCondition]);
export type Condition = z.infer<typeof ConditionSchema>;
export const CONDITION_TYPES = ['threshold', 'anomaly', 'zscore', 'new_value', 'freshness', 'no_data', 'sql'] as const;

export const ScheduleSchema = z.union([
  z.string().min(1).transform((cron) => ({ cron, timezone: 'UTC' })),
  z.object({ cron: z.string().min(1), timezone: z.string().default('UTC') }).strict(),
]);

/** Slack shows at most 10 fields; Window and Severity take two. */
const SlackFields = z.record(z.string(), z.string()).refine((f) => Object.keys(f).length <= 8, { message: 'at most 8 fields (Slack shows 10; Window and Severity take two)' });
const PagerDutyFields = z.object({ component: z.string(), group: z.string(), class: z.string() }).partial().strict();

export const AlertSchema = z
  .object({
    name: Ident,
    description: z.string().optional(),
    severity: z.enum(SEVERITIES),
    labels: z.record(Ident, LabelValue).default({}),
    schedule: ScheduleSchema.default({ cron: '*/15 * * * *', timezone: 'UTC' }),
    /** Templated SQL with ref()/source(), like a model. */
    query: z.string().min(1).optional(),
    /** Or: a model to read, with optional filters. */
    model: z.string().min(1).optional(),
    where: z.string().min(1).optional(),
    /** Or: the sync state of every synced source stream (vigil_sync_state; one row per stream, SYNC_STATE_COLUMNS). */
    sync_state: z.boolean().optional(),
    /** Rows whose `time` column is after the evaluation time (--at) are ignored. */
    time: z.string().min(1).optional(),
    // each becomes a label: a name routes, silences and inhibit rules can match (Alertmanager's)
    group_by: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'becomes a label, so must be a label name (letters, digits, _; alias the column in the query)')).default([]),
    condition: ConditionSchema,
    /** Evaluations in a row (a number) or how long (a duration) the condition must hold before firing. */
    for: z.union([z.number().int().nonnegative(), Duration]).default(0),
    keep_firing_for: Duration.optional(),
    /** When the query returns no rows at all: ok (default for row-filtering conditions) or raise a nodata notification. */
    on_no_data: z.enum(['ok', 'nodata']).optional(),
    summary: z.string().min(1),
    /** The headline of its notifications (a template; default: the alert's name). */
    title: z.string().min(1).optional(),
    /** Slack fields shown for each instance, in order: name -> template (Window and Severity follow). */
    fields: SlackFields.optional(),
    /** PagerDuty payload fields (templates): component, group, class (default class: the alert's name). */
    pagerduty: PagerDutyFields.optional(),
    details: z.string().optional(),
    links: z.record(z.string(), z.string()).default({}),
    /** e.g. "Mon-Fri 08:00-19:00 America/Los_Angeles": outside, the alert is not queried and its firing instances resolve (evaluate.ts applyRule). */
    active_hours: z.string().optional(),
    timeout: Duration.default('60s'),
    enabled: z.boolean().default(true),
  })
  .strict();
export type AlertRule = z.infer<typeof AlertSchema>;

/** What every rule of the file has unless it says otherwise: its message fields and PagerDuty fields. */
const AlertDefaultsSchema = z.object({ fields: SlackFields, pagerduty: PagerDutyFields }).partial().strict();

export const AlertFileSchema = z.object({ defaults: AlertDefaultsSchema.optional(), alerts: z.array(AlertSchema).min(1) }).strict();

// ---- routes.yaml

/** `match:` values; an empty value (`env:`) is the empty string, as in Alertmanager. */
const Matchers = z.record(z.string(), z.union([LabelValue, z.null().transform(() => ''), z.array(LabelValue).min(1)]));
export type MatchersIn = z.infer<typeof Matchers>;

const PagerDutyReceiver = z
  .object({
    /** Environment variable holding the integration's routing key (never the key itself). */
    routing_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name'),
    /** Events API host; events.eu.pagerduty.com for EU accounts. A path or another scheme than https:// cannot be honoured: refused. */
    server: z
      .string()
      .refine((s) => pagerDutyHost(s) !== undefined, { message: PAGERDUTY_HOST_PROBLEM })
      .default('events.pagerduty.com'),
    /** Environment variable overriding `server` (used by tests and staging). */
    server_env: z.string().optional(),
    /** PagerDuty service this key belongs to, for the docs and route-test output. */
    service: z.string().optional(),
    rate_per_minute: z.number().positive().default(120),
  })
  .strict();

const SlackReceiver = z
  .object({
    /** webhook mode: the incoming webhook URL's variable (at least once; see on_uncertain) */
    webhook_url_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
    /** bot mode: a bot token's variable (chat:write, channels:history): exactly once; needs channel: as an id */
    bot_token_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
    /** bot mode: the Web API's address from this variable (a proxy, a test); default https://slack.com/api/ */
    api_url_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
    channel: z.string().optional(),
    /** The header of every message (default: the project's name), e.g. "AI Copilot Audit". */
    title: z.string().min(1).optional(),
    /**
     * A post whose outcome is unknown (the run died while sending, or the connection broke after
     * the request left): hold it as uncertain (never a double post; reported every run until
     * settled) or resend it (never held back; may appear twice).
     */
    on_uncertain: z.enum(['hold', 'resend']).optional(),
    rate_per_second: z.number().positive().default(1),
  })
  .strict()
  .refine((s) => !!s.webhook_url_env !== !!s.bot_token_env, { message: 'give webhook_url_env (an incoming webhook) or bot_token_env (a bot token: exactly-once delivery), one of them' })
  .refine((s) => !s.bot_token_env || (!!s.channel && /^[CGD][A-Z0-9]{6,}$/.test(s.channel)), { message: "bot mode needs channel: as the channel's id (C0123ABCD, in the channel's details in Slack): its history is read by id" })
  // accepted means done: keys of the other mode would be ignored
  .refine((s) => !(s.bot_token_env && s.on_uncertain), { message: 'on_uncertain is for webhooks: bot mode looks in the channel instead of guessing (remove it)' })
  .refine((s) => !(s.webhook_url_env && s.api_url_env), { message: 'api_url_env is for bot mode (the Web API address); a webhook has its whole URL in webhook_url_env' });

/** A receiver: PagerDuty, Slack, both, or neither (a blackhole, as in Alertmanager: alerts routed to it go nowhere). */
export const ReceiverSchema = z
  .object({
    name: z.string().min(1),
    pagerduty: PagerDutyReceiver.optional(),
    slack: SlackReceiver.optional(),
    send_resolved: z.boolean().default(true),
  })
  .strict();
export type ReceiverConfig = z.infer<typeof ReceiverSchema>;

/** Alertmanager's route, key for key (docs/alerts.md "Routing"). */
export interface RouteIn {
  receiver?: string;
  group_by?: string[];
  continue?: boolean;
  /** label: value (Vigil also takes a list: any of the values) */
  match?: MatchersIn;
  match_re?: Record<string, string>;
  /** Alertmanager matchers: `severity=~"critical|error"`, `env!="prod"`, `{a="1",b!~"x.*"}` */
  matchers?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
  routes?: RouteIn[];
}
const LabelMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
/** YAML 1.1 booleans, spelled as Alertmanager's YAML reader takes them (`continue: yes`, `YES`; not `yEs`). */
const Yaml11Bool = z.preprocess((v) => (typeof v === 'string' && /^(y|Y|yes|Yes|YES|on|On|ON|true|True|TRUE)$/.test(v) ? true : typeof v === 'string' && /^(n|N|no|No|NO|off|Off|OFF|false|False|FALSE)$/.test(v) ? false : v), z.boolean());
/** A route duration; a bare 0 is zero, as in Alertmanager. */
const RouteDuration = z.preprocess((v) => (v === 0 || v === '0' ? '0s' : v), Duration);
export const RouteSchema: z.ZodType<RouteIn> = z.lazy(() =>
  z
    .object({
      // an empty receiver (or null) inherits the parent's, as in Alertmanager
      receiver: z.preprocess((v) => (v === '' || v === null ? undefined : typeof v === 'number' ? String(v) : v), z.string().min(1).optional()),
      group_by: z.array(z.string()).optional(),
      continue: Yaml11Bool.optional(),
      match: Matchers.optional(),
      match_re: LabelMap.optional(),
      matchers: z.array(z.string()).optional(),
      group_wait: RouteDuration.optional(),
      group_interval: RouteDuration.optional(),
      repeat_interval: RouteDuration.optional(),
      mute_time_intervals: z.array(z.string()).optional(),
      active_time_intervals: z.array(z.string()).optional(),
      routes: z.preprocess((v) => (v === null ? [] : v), z.array(RouteSchema)).optional(),
    })
    .strict(),
);

/** Alertmanager's inhibit rule: a firing source mutes matching targets that agree on `equal`. */
export const InhibitRuleSchema = z
  .object({
    source_match: Matchers.optional(),
    source_match_re: LabelMap.optional(),
    source_matchers: z.array(z.string()).optional(),
    target_match: Matchers.optional(),
    target_match_re: LabelMap.optional(),
    target_matchers: z.array(z.string()).optional(),
    /** Labels that must be equal on source and target for the inhibition to apply. */
    equal: z.array(z.string()).default([]),
  })
  .strict();
export type InhibitRuleIn = z.infer<typeof InhibitRuleSchema>;

export const RoutesFileSchema = z
  .object({
    receivers: z.array(ReceiverSchema).min(1),
    route: RouteSchema,
    inhibit_rules: z.array(InhibitRuleSchema).default([]),
    time_intervals: z.array(NamedTimeIntervalSchema).default([]),
    /** Alertmanager's older name for time_intervals */
    mute_time_intervals: z.array(NamedTimeIntervalSchema).default([]),
    /** Notifications stuck in the outbox longer than this fire the built-in alert vigil_alert_outbox_stuck. */
    outbox_alert_after: Duration.default('30m'),
  })
  .strict();
export type RoutesFile = z.infer<typeof RoutesFileSchema>;

// ---- alerts/tests/*.yaml

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const ExpectedInstance = z
  .object({
    labels: z.record(z.string(), LabelValue).default({}),
    state: z.enum(['pending', 'firing', 'resolved', 'error', 'nodata']),
  })
  .strict();
const ExpectedNotification = z
  .object({
    receiver: z.string().optional(),
    action: z.enum(['trigger', 'resolve']),
    labels: z.record(z.string(), LabelValue).default({}),
    /** Substring the rendered summary must contain. */
    summary: z.string().optional(),
  })
  .strict();

export const AlertTestSchema = z
  .object({
    name: z.string().min(1),
    alert: z.string().min(1),
    /** Rows per relation the alert reads: "ref('model')" or "source('src', 'table')". */
    given: z.record(z.string(), z.union([z.array(z.record(z.string(), Scalar)), z.string()])).default({}),
    evaluations: z
      .array(
        z
          .object({
            at: z.string().superRefine((v, ctx) => {
              const d = parseTimestamp('at', v);
              if (d instanceof Error) ctx.addIssue({ code: 'custom', message: d.message.replace(/^at /, '') });
            }),
            /** Rows replacing the given ones from this evaluation on. */
            given: z.record(z.string(), z.union([z.array(z.record(z.string(), Scalar)), z.string()])).optional(),
            /** Exactly the instances not inactive after this evaluation (order-insensitive). */
            expect: z.array(ExpectedInstance).optional(),
            /** Exactly the notifications this evaluation queues (order-insensitive). */
            notifications: z.array(ExpectedNotification).optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
export type AlertTest = z.infer<typeof AlertTestSchema>;
export const AlertTestFileSchema = z.object({ tests: z.array(AlertTestSchema).min(1) }).strict();
