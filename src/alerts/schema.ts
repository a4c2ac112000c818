/**
 * Zod schemas for alerts/*.yaml (rules), alerts/routes.yaml (receivers, routing tree,
 * inhibition) and alerts/tests/*.yaml (offline rule tests). Strict objects: a typo in a key
 * is reported at its line.
 */
import { z } from 'zod';
import { Duration as DurationType } from '../time/duration.js';

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
    /** ...or the sync state table (vigil_sync_state.last_synced_at per synced table); no query needed. */
    sync: z.boolean().optional(),
    max_age: Duration,
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

export const ConditionSchema = z.discriminatedUnion('type', [ThresholdCondition, AnomalyCondition, NewValueCondition, FreshnessCondition, NoDataCondition, SqlCondition]);
export type Condition = z.infer<typeof ConditionSchema>;
export const CONDITION_TYPES = ['threshold', 'anomaly', 'new_value', 'freshness', 'no_data', 'sql'] as const;

export const ScheduleSchema = z.union([
  z.string().min(1).transform((cron) => ({ cron, timezone: 'UTC' })),
  z.object({ cron: z.string().min(1), timezone: z.string().default('UTC') }).strict(),
]);

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
    /** Rows whose `time` column is after the evaluation time (--at) are ignored. */
    time: z.string().min(1).optional(),
    group_by: z.array(z.string().min(1)).default([]),
    condition: ConditionSchema,
    /** Evaluations in a row (a number) or how long (a duration) the condition must hold before firing. */
    for: z.union([z.number().int().nonnegative(), Duration]).default(0),
    keep_firing_for: Duration.optional(),
    /** When the query returns no rows at all: ok (default for row-filtering conditions) or raise a nodata notification. */
    on_no_data: z.enum(['ok', 'nodata']).optional(),
    summary: z.string().min(1),
    details: z.string().optional(),
    links: z.record(z.string(), z.string()).default({}),
    /** e.g. "Mon-Fri 08:00-19:00 America/Los_Angeles": outside, the alert is not evaluated (firing instances stay). */
    active_hours: z.string().optional(),
    timeout: Duration.default('60s'),
    enabled: z.boolean().default(true),
  })
  .strict();
export type AlertRule = z.infer<typeof AlertSchema>;

export const AlertFileSchema = z.object({ alerts: z.array(AlertSchema).min(1) }).strict();

// ---- routes.yaml

const Matchers = z.record(z.string(), z.union([LabelValue, z.array(LabelValue).min(1)]));
export type MatchersIn = z.infer<typeof Matchers>;

const PagerDutyReceiver = z
  .object({
    /** Environment variable holding the integration's routing key (never the key itself). */
    routing_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name'),
    /** Events API host; events.eu.pagerduty.com for EU accounts. */
    server: z.string().default('events.pagerduty.com'),
    /** Environment variable overriding `server` (used by tests and staging). */
    server_env: z.string().optional(),
    /** PagerDuty service this key belongs to, for the docs and route-test output. */
    service: z.string().optional(),
    rate_per_minute: z.number().positive().default(120),
  })
  .strict();

const SlackReceiver = z
  .object({
    webhook_url_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name'),
    channel: z.string().optional(),
    rate_per_second: z.number().positive().default(1),
  })
  .strict();

export const ReceiverSchema = z
  .object({
    name: Ident,
    pagerduty: PagerDutyReceiver.optional(),
    slack: SlackReceiver.optional(),
    send_resolved: z.boolean().default(true),
  })
  .strict()
  .refine((r) => (r.pagerduty ? 1 : 0) + (r.slack ? 1 : 0) === 1, 'a receiver needs exactly one of pagerduty: or slack:');
export type ReceiverConfig = z.infer<typeof ReceiverSchema>;

export interface RouteIn {
  receiver?: string;
  match?: MatchersIn;
  continue?: boolean;
  group_by?: string[];
  repeat_interval?: string;
  routes?: RouteIn[];
}
export const RouteSchema: z.ZodType<RouteIn> = z.lazy(() =>
  z
    .object({
      receiver: Ident.optional(),
      match: Matchers.optional(),
      continue: z.boolean().optional(),
      group_by: z.array(z.string()).optional(),
      repeat_interval: Duration.optional(),
      routes: z.array(RouteSchema).optional(),
    })
    .strict(),
);

export const InhibitRuleSchema = z
  .object({
    source_match: Matchers,
    target_match: Matchers,
    /** Labels that must be equal on source and target for the inhibition to apply. */
    equal: z.array(z.string()).default([]),
  })
  .strict();

export const RoutesFileSchema = z
  .object({
    receivers: z.array(ReceiverSchema).min(1),
    route: RouteSchema,
    inhibit_rules: z.array(InhibitRuleSchema).default([]),
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
            at: z.string().min(1),
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
