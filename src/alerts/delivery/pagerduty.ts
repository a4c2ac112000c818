/**
 * PagerDuty Events API v2 delivery through `@pagerduty/pdjs` (2.2.x), with our own retry policy.
 *
 * What pdjs `event()` does (build/src/events.js, common.js): POST `https://${server}/v2/enqueue` with
 * `JSON.stringify(data)` through cross-fetch (= node-fetch 2.7 on Node); every other key of its
 * argument is spread into the node-fetch options, so `agent`, `signal`, `timeout` and `redirect` work.
 * On a 429 it sleeps `retryTimeout` (default 20 s, fixed, Retry-After ignored) and retries, 3 times
 * (a count no option changes), then resolves with the last 429; it resolves on every other status too (400 included) and then
 * calls `response.json()` unconditionally, so a non-JSON body (a proxy's 502 page) REJECTS with a
 * node-fetch `invalid-json` FetchError that has lost the status. Its `requestTimeout` (default 30 s)
 * aborts nothing: it is a no-op `setTimeout` that is only cleared on a non-429 answer, so after a final
 * 429 it keeps the process alive for 30 s; we pass `requestTimeout: 0` so the timer is never created.
 *
 * So this wrapper:
 * - passes its own agent: a view of one keep-alive `https.Agent` per CA (the extra `ca` of the
 *   target, on top of the public roots and NODE_EXTRA_CA_CERTS, when set), so that events reuse
 *   their connections as Alertmanager's client does (was: a TLS handshake per event), whose
 *   `addRequest` is hooked to see every HTTP request
 *   pdjs makes — to count attempts, to learn the status and Retry-After of an answer whose body was
 *   not JSON or that was aborted, and whether the connection was established (a failure after that
 *   is ambiguous: PagerDuty may have processed the event);
 * - keeps pdjs from retrying a 429 itself: the moment an answer's status is 429 the call's signal is
 *   aborted, so `event()` rejects (AbortError, the status and Retry-After known from the agent) and
 *   this loop waits Retry-After like for a 5xx. (A `retryTimeout` would only change pdjs's fixed
 *   sleep: it would still retry 3 times with Retry-After ignored.)
 * - bounds every HTTP request with node-fetch's per-request `timeout: policy.timeoutMs` (headers and
 *   body), and the whole `event()` call with the same signal, aborted when the deadline is reached.
 * - classifies: 2xx sent; 408/429/5xx, network errors and timeouts transient (retried with exponential
 *   backoff + jitter, or after Retry-After, until `policy.deadlineMs` is spent; PagerDuty deduplicates
 *   on dedup_key, so even an ambiguous timeout is retried); any other status rejected, with
 *   PagerDuty's `message` / `errors`. A TLS verification failure returns `retry` at once (waiting
 *   cannot fix a certificate). The routing key is redacted from every message.
 */
import https from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { DEFAULT_POLICY, type DeliveryPolicy, type DeliveryResult, type PagerDutyEvent, type PagerDutyTarget, type SendOptions } from './types.js';
import { cutText } from '../../format.js';
import { redact, redactedCut } from '../../secrets.js';
import { PRE_SEND_CODES, backoffDelay, defaultSleep, errorCode, errorMessage, isTlsVerifyError, parseRetryAfter, redactSecrets, retryFits } from './retry.js';

export const PAGERDUTY_DEFAULT_SERVER = 'events.pagerduty.com';
export const PAGERDUTY_SUMMARY_MAX = 1024;

/**
 * The `host[:port]` events go to (pdjs posts to `https://<it>/v2/enqueue`) from a receiver's
 * `server:` or its `server_env` value: a host (`events.eu.pagerduty.com`, `host:port`), or an
 * https:// URL without a path. Undefined for anything else: a path would be posted under
 * (`host/v2/enqueue` became `https://host/v2/enqueue/v2/enqueue`), another scheme cannot be honoured.
 */
export function pagerDutyHost(given: string): string | undefined {
  const m = /^(?:https:\/\/)?([^/?#@\s]+)\/?$/i.exec(given);
  if (!m) return undefined;
  try {
    if (!new URL(`https://${m[1]}`).hostname) return undefined;
  } catch {
    return undefined;
  }
  return m[1];
}

export const PAGERDUTY_HOST_PROBLEM = "PagerDuty's Events API is reached as https://<server>/v2/enqueue: give its host (events.pagerduty.com, events.eu.pagerduty.com, host:port) or an https:// URL without a path";

/** A summary cut to PagerDuty's 1024 characters (cutText). */
export function truncateSummary(summary: string, max = PAGERDUTY_SUMMARY_MAX): string {
  return cutText(summary, max);
}

/**
 * PagerDuty's limit on an event ("Events API payloads are limited to 512 KB"), in bytes of its
 * JSON body, as Alertmanager counts it (notify/pagerduty: maxEventSize = 512000).
 */
export const PAGERDUTY_MAX_EVENT_BYTES = 512_000;
/** What custom_details holds instead when the event is over the limit: Alertmanager's words. */
export const PAGERDUTY_DETAILS_REMOVED = 'Custom details have been removed because the original event exceeds the maximum size of 512KB';
// (and when the event is still over without them: its links go, then component, group and class are cut to 1,024 characters)
/** A routing key's length (PagerDuty's integration keys have 32 characters): the size of an event is judged with one this long before the key is known. */
const ROUTING_KEY_PLACEHOLDER = 'x'.repeat(32);

/**
 * The request body: the event with routing_key added and payload.summary cut to 1024 characters;
 * and, as Alertmanager does (encodeMessage), when its JSON is over PAGERDUTY_MAX_EVENT_BYTES,
 * payload.custom_details replaced by `{error: PAGERDUTY_DETAILS_REMOVED}` (`removedAt`: the size it
 * had, for the warning). A 4xx is never retried, and the alert's later events wait behind it.
 */
export function fitPagerDutyBody(routingKey: string, ev: PagerDutyEvent): { body: Record<string, unknown>; removedAt?: number } {
  const body: Record<string, unknown> = { routing_key: routingKey, ...ev };
  if (!ev.payload) return { body };
  const payload = { ...ev.payload, summary: truncateSummary(ev.payload.summary ?? '') };
  body.payload = payload;
  const size = () => Buffer.byteLength(JSON.stringify(body));
  const bytes = size();
  if (bytes <= PAGERDUTY_MAX_EVENT_BYTES) return { body };
  if (payload.custom_details !== undefined) payload.custom_details = { error: PAGERDUTY_DETAILS_REMOVED };
  // (still over: what else a template made big — its links, then component, group and class, cut)
  if (size() > PAGERDUTY_MAX_EVENT_BYTES) {
    delete body.links;
    delete body.client_url;
  }
  for (const k of ['component', 'group', 'class'] as const) {
    if (size() > PAGERDUTY_MAX_EVENT_BYTES && typeof payload[k] === 'string') payload[k] = truncateSummary(payload[k] as string, PAGERDUTY_SUMMARY_MAX);
  }
  return { body, removedAt: bytes };
}

/** The request body (fitPagerDutyBody's). */
export function pagerDutyBody(routingKey: string, ev: PagerDutyEvent): Record<string, unknown> {
  return fitPagerDutyBody(routingKey, ev).body;
}

/** The event as it is queued: within PagerDuty's limit once its routing key is added (`removedAt`: its size before custom_details went). */
export function fitPagerDutyEvent(ev: PagerDutyEvent): { event: PagerDutyEvent; removedAt?: number } {
  const { body, removedAt } = fitPagerDutyBody(ROUTING_KEY_PLACEHOLDER, ev);
  if (removedAt === undefined) return { event: ev };
  const { routing_key: _key, ...event } = body;
  return { event: event as unknown as PagerDutyEvent, removedAt };
}

/** The warning an event whose custom_details were removed gives (Alertmanager logs one too). */
export function detailsRemovedWarning(what: string, bytes: number): string {
  return `the PagerDuty event of ${what} is ${bytes.toLocaleString('en-US')} bytes, over PagerDuty's limit of 512 KB (${PAGERDUTY_MAX_EVENT_BYTES.toLocaleString('en-US')} bytes): its custom_details are replaced by {"error": "${PAGERDUTY_DETAILS_REMOVED}"}, as Alertmanager does`;
}

interface Hop {
  /** TLS handshake done: the request bytes may have reached PagerDuty. */
  connected: boolean;
  /** on a connection kept from an earlier request */
  reused?: boolean;
  status?: number;
  retryAfter?: string;
}

type Outcome =
  | { kind: 'sent'; httpStatus: number }
  | { kind: 'rejected'; httpStatus: number; error: string }
  | { kind: 'transient'; httpStatus?: number; error: string; ambiguous: boolean; retryAfterMs?: number; final?: boolean };

/** Public roots + NODE_EXTRA_CA_CERTS + the target's CA: giving `ca` replaces the default store otherwise. */
function secureContextFor(extraCa: string): SecureContext {
  const ca = [...rootCertificates];
  const envFile = process.env.NODE_EXTRA_CA_CERTS;
  if (envFile) {
    try {
      ca.push(readFileSync(envFile, 'utf8'));
    } catch {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS
    }
  }
  ca.push(extraCa);
  return createSecureContext({ ca });
}

/**
 * The keep-alive agent of the events to one CA (the target's extra one; '' none): idle sockets are
 * unref'd by Node, so a run ends when its work does. A request on a reused connection that the
 * server closed meanwhile fails as one that was connected: ambiguous, retried (PagerDuty
 * deduplicates on dedup_key).
 */
const sharedAgents = new Map<string, https.Agent>();
function sharedAgent(ca: string | undefined): https.Agent {
  // (and by NODE_EXTRA_CA_CERTS, which decides the trust too: a connection verified under one set
  // of certificates is never reused under another, as commands run in one host process may have)
  const key = JSON.stringify([ca ?? '', process.env.NODE_EXTRA_CA_CERTS ?? '']);
  let a = sharedAgents.get(key);
  if (!a) {
    a = new https.Agent({ keepAlive: true, ...(ca ? { secureContext: secureContextFor(ca) } : {}) });
    sharedAgents.set(key, a);
  }
  return a;
}

/** `shared` as one attempt sees it: each of its HTTP requests recorded in `hops`, `onAnswer` told each answer. */
function trackingAgent(shared: https.Agent, hops: Hop[], onAnswer: (hop: Hop) => void): https.Agent {
  const agent = Object.create(shared) as https.Agent;
  type AddRequest = (this: https.Agent, req: ClientRequest, options: unknown) => void;
  (agent as unknown as { addRequest: AddRequest }).addRequest = function (req, options) {
    const hop: Hop = { connected: false };
    hops.push(hop);
    req.once('socket', (s: Socket) => {
      // (a kept connection: its handshake done long ago)
      if (req.reusedSocket) hop.connected = hop.reused = true;
      else
        s.once('secureConnect', () => {
          hop.connected = true;
        });
    });
    req.once('response', (res: IncomingMessage) => {
      hop.connected = true;
      hop.status = res.statusCode;
      const ra = res.headers['retry-after'];
      hop.retryAfter = Array.isArray(ra) ? ra[0] : ra;
      onAnswer(hop);
    });
    return (shared as unknown as { addRequest: AddRequest }).addRequest.call(shared, req, options);
  };
  return agent;
}

function pdDetail(data: unknown, clean: (s: string) => string): string {
  if (!data || typeof data !== 'object') return '';
  const d = data as { message?: unknown; errors?: unknown; status?: unknown };
  const parts: string[] = [];
  if (typeof d.message === 'string' && d.message) parts.push(d.message);
  else if (typeof d.status === 'string' && d.status) parts.push(d.status);
  if (Array.isArray(d.errors) && d.errors.length > 0) {
    parts.push(d.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; '));
  }
  return redactedCut(parts.join(': '), 600, clean);
}

function fromStatus(status: number, data: unknown, retryAfter: string | null | undefined, note = '', clean: (s: string) => string = redact): Outcome {
  const detail = pdDetail(data, clean) || note;
  const suffix = detail ? `: ${detail}` : '';
  if (status >= 200 && status < 300) return { kind: 'sent', httpStatus: status };
  if (status === 429) {
    return { kind: 'transient', httpStatus: status, error: `PagerDuty rate limit (HTTP 429)${suffix}`, ambiguous: false, retryAfterMs: parseRetryAfter(retryAfter) };
  }
  if (status === 408 || status >= 500) {
    return { kind: 'transient', httpStatus: status, error: `PagerDuty server error (HTTP ${status})${suffix}`, ambiguous: false, retryAfterMs: parseRetryAfter(retryAfter) };
  }
  return { kind: 'rejected', httpStatus: status, error: `PagerDuty rejected the event (HTTP ${status})${suffix}` };
}

function fromError(e: unknown, hops: Hop[], policy: DeliveryPolicy): Outcome {
  const last = hops.at(-1);
  const type = (e as { type?: unknown })?.type;
  const name = (e as { name?: unknown })?.name;
  // an answer arrived (its body was not JSON or timed out; or the call was aborted: a 429, or the deadline while its body came)
  if (last?.status !== undefined && (type === 'invalid-json' || type === 'body-timeout' || name === 'AbortError')) {
    const note = type === 'invalid-json' ? 'answer is not JSON' : type === 'body-timeout' ? 'answer body timed out' : '';
    return fromStatus(last.status, undefined, last.retryAfter, note);
  }
  const sent = last ? last.connected : true;
  if (name === 'AbortError') {
    return { kind: 'transient', error: 'PagerDuty: no answer before the delivery deadline', ambiguous: sent, final: true };
  }
  if (type === 'request-timeout') {
    return {
      kind: 'transient',
      error: sent ? `PagerDuty: no answer within ${policy.timeoutMs} ms` : `PagerDuty: could not connect within ${policy.timeoutMs} ms`,
      ambiguous: sent,
    };
  }
  const code = errorCode(e);
  const reason = errorMessage((e as { cause?: unknown })?.cause ?? e);
  const msg = errorMessage(e);
  if (isTlsVerifyError(code)) {
    return { kind: 'transient', error: `PagerDuty: TLS verification failed (${code}): ${msg}`, ambiguous: false, final: true };
  }
  if (code && PRE_SEND_CODES.has(code)) return { kind: 'transient', error: `PagerDuty: ${msg}`, ambiguous: false };
  // a kept connection the server closed as the event went out on it (its keep-alive timeout): sent
  // again at once on a new one, as Go's client (Alertmanager's) does; it may have arrived, which
  // PagerDuty's dedup_key absorbs
  if (last?.reused && last.status === undefined && (code === 'ECONNRESET' || code === 'EPIPE')) return { kind: 'transient', error: `PagerDuty: ${msg} (on a kept connection)`, ambiguous: true, retryAfterMs: 0 };
  return { kind: 'transient', error: `PagerDuty: ${msg === reason ? msg : `${msg} (${reason})`}`, ambiguous: sent };
}

/**
 * Send one event to PagerDuty, retrying transient failures (429 and 5xx after their Retry-After)
 * until `policy.deadlineMs` is spent. `attempts` counts HTTP requests.
 */
export async function sendPagerDuty(
  t: PagerDutyTarget,
  ev: PagerDutyEvent,
  policy: DeliveryPolicy = DEFAULT_POLICY,
  opts: SendOptions = {},
): Promise<DeliveryResult> {
  const clean = (s: string) => redactSecrets(s, [['routing_key', t.routingKey]]);
  const sleep = opts.sleep ?? defaultSleep;
  const started = Date.now();
  const deadline = started + policy.deadlineMs;
  // CJS package: Node's ESM loader (and so vitest and the esbuild bundle, which keeps it external)
  // exposes `event` as a named export via cjs-module-lexer; `default` is module.exports.
  const pd = await import('@pagerduty/pdjs');
  const event = pd.event ?? (pd as unknown as { default: typeof pd }).default.event;
  const { body: data, removedAt } = fitPagerDutyBody(t.routingKey, ev);
  // (an event queued by an older Vigil, which did not fit it)
  if (removedAt !== undefined) opts.onWarning?.(detailsRemovedWarning(`dedup_key ${ev.dedup_key}`, removedAt));
  const shared = sharedAgent(t.ca || undefined);
  let attempts = 0;
  let ambiguous = false;

  for (let n = 0; ; n++) {
    const left = deadline - Date.now();
    const hops: Hop[] = [];
    // one signal for the deadline and for a 429: pdjs would retry a 429 itself (3 times, Retry-After
    // ignored), so its request is aborted the moment a 429 arrives, and the loop below waits
    const stop = new AbortController();
    const deadlineTimer = setTimeout(() => stop.abort(), Math.max(1, left));
    const agent = trackingAgent(shared, hops, (hop) => {
      if (hop.status === 429) stop.abort();
    });
    let outcome: Outcome;
    try {
      const params = {
        server: t.server || PAGERDUTY_DEFAULT_SERVER,
        data,
        requestTimeout: 0,
        timeout: policy.timeoutMs,
        signal: stop.signal,
        agent,
        redirect: 'manual',
      };
      const res = await event(params as unknown as Parameters<typeof event>[0]);
      outcome = fromStatus(res.status, res.data, res.headers.get('retry-after'), '', clean);
    } catch (e) {
      outcome = fromError(e, hops, policy);
    } finally {
      clearTimeout(deadlineTimer);
    }
    attempts += Math.max(1, hops.length);

    if (outcome.kind === 'sent') return { status: 'sent', httpStatus: outcome.httpStatus, attempts };
    if (outcome.kind === 'rejected') return { status: 'rejected', httpStatus: outcome.httpStatus, attempts, error: clean(outcome.error) };

    ambiguous ||= outcome.ambiguous;
    const wait = outcome.retryAfterMs ?? backoffDelay(policy, n);
    const remaining = deadline - Date.now();
    if (outcome.final || !retryFits(policy, wait, deadline)) {
      const why = outcome.final
        ? ''
        : outcome.retryAfterMs !== undefined && outcome.retryAfterMs >= remaining
          ? ` (Retry-After ${Math.ceil(outcome.retryAfterMs / 1000)} s is past the delivery deadline)`
          : '';
      const error = `${outcome.error}${why}; gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
      return { status: 'retry', ...(outcome.httpStatus !== undefined ? { httpStatus: outcome.httpStatus } : {}), attempts, error: clean(error), ambiguous };
    }
    opts.onRetry?.({ attempt: attempts, delayMs: wait, reason: clean(outcome.error) });
    await sleep(wait);
    // the wait took longer than asked (the process was paused): no request past the deadline, which
    // the state lock's lease covers (another run may have taken the state over and sent it since)
    if (!retryFits(policy, 0, deadline)) {
      const error = `${outcome.error}; the delivery deadline passed while waiting to retry; gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
      return { status: 'retry', ...(outcome.httpStatus !== undefined ? { httpStatus: outcome.httpStatus } : {}), attempts, error: clean(error), ambiguous };
    }
  }
}
