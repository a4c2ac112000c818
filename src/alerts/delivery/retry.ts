/**
 * Shared by the PagerDuty and Slack senders: backoff with jitter, error-code inspection (was the
 * request sent before it failed?) and secret redaction for everything they return.
 */
import { redact } from '../../secrets.js';
import type { DeliveryPolicy } from './types.js';

export const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Un-jittered backoff before retry number `n` (0-based): baseDelayMs * 2^n, capped at maxDelayMs. */
export function backoffCeiling(policy: DeliveryPolicy, n: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(n, 30));
}

/** "Equal jitter": between half and all of the ceiling, so retries of many senders spread out but never collapse to 0. */
export function backoffDelay(policy: DeliveryPolicy, n: number, random: () => number = Math.random): number {
  const c = backoffCeiling(policy, n);
  return Math.round(c / 2 + random() * (c / 2));
}

/**
 * Whether a retry after `waitMs` still leaves its request a fair time before the delivery
 * deadline: at least the request timeout, or a second when that is longer. A retry started
 * with a few milliseconds left would be cut off after its request went out, turning a clean
 * failure (kept pending, retried by the next run) into an uncertain one (maybe posted, not retried).
 */
export function retryFits(policy: DeliveryPolicy, waitMs: number, deadline: number, now = Date.now()): boolean {
  return deadline - now - waitMs >= Math.min(policy.timeoutMs, 1_000);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Errors raised before any byte of the request could reach the receiver: always safe to retry. */
export const PRE_SEND_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);

/** TLS verification failures: a configuration problem that retrying within this run will not fix. */
export function isTlsVerifyError(code: string | undefined): boolean {
  return (
    !!code &&
    (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH/.test(code) || code === 'ERR_SSL_WRONG_VERSION_NUMBER')
  );
}

/** The first `code` found on an error or its `cause` / `original` / `erroredSysCall` chain (node-fetch puts it on the FetchError). */
export function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== '') return c;
    cur = (cur as { cause?: unknown; original?: unknown }).cause ?? (cur as { original?: unknown }).original;
  }
  return undefined;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** Remove the given secrets (explicitly) and env-based secrets (src/errors.ts) from a message. */
export function redactSecrets(text: string, secrets: Array<[label: string, value: string | undefined]>): string {
  let out = text;
  for (const [label, value] of secrets) {
    if (value && value.length > 0 && out.includes(value)) out = out.split(value).join(`<redacted:${label}>`);
  }
  return redact(out);
}
