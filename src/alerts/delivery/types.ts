/**
 * What the notification layer hands the delivery layer, and what it gets back. Payloads here
 * never contain secrets: the routing key and the webhook URL are read from the environment at
 * send time and passed separately, so an outbox entry can be stored and printed as is.
 */
export type AlertSeverity = 'critical' | 'error' | 'warning' | 'info';

/** One PagerDuty Events API v2 event, without its routing_key. */
export interface PagerDutyEvent {
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  /** Required for trigger. summary is cut to 1024 characters by the sender. */
  payload?: {
    summary: string;
    source: string;
    severity: AlertSeverity;
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: Record<string, unknown>;
  };
  links?: Array<{ href: string; text: string }>;
  client?: string;
  client_url?: string;
}

/** A Slack incoming-webhook message (Block Kit), without the URL. */
export interface SlackMessage {
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
}

export interface DeliveryPolicy {
  /** Total time budget for one message, all retries included. */
  deadlineMs: number;
  /** First backoff delay; doubles per attempt (with jitter) up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

export const DEFAULT_POLICY: DeliveryPolicy = { deadlineMs: 60_000, baseDelayMs: 1_000, maxDelayMs: 30_000, timeoutMs: 10_000 };

export type DeliveryResult =
  /** 2xx: the receiver accepted it. */
  | { status: 'sent'; httpStatus: number; attempts: number }
  /** A permanent refusal (400, 403, 404, ...): retrying cannot help; reported as an error. */
  | { status: 'rejected'; httpStatus: number; attempts: number; error: string }
  /** Transient (429, 5xx, network) and the deadline passed, or an ambiguous failure (the request
   * may have been processed): stays in the outbox for the next run. */
  | { status: 'retry'; httpStatus?: number; attempts: number; error: string; ambiguous: boolean };

export interface PagerDutyTarget {
  routingKey: string;
  /** Host[:port] of the Events API; default events.pagerduty.com (events.eu.pagerduty.com in the EU). */
  server: string;
  /** Extra CA certificate (PEM) to trust, for a private endpoint; NODE_EXTRA_CA_CERTS works too. */
  ca?: string;
}

export interface SlackTarget {
  url: string;
}

export interface SendOptions {
  /** Injected for tests; default setTimeout-based. */
  sleep?: (ms: number) => Promise<void>;
  /** Called before every retry with the reason, for progress output (already redacted). */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  /** Called when the message had to be changed to be accepted (PagerDuty: custom_details removed from an event over 512 KB). */
  onWarning?: (message: string) => void;
}
