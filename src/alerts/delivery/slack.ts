/**
 * Slack incoming-webhook delivery through `@slack/webhook` (8.x), with our own retry policy.
 *
 * `IncomingWebhook` 8.x builds the payload, POSTs it with the `fetch` given in its defaults (else the
 * global fetch) and wraps failures: a non-2xx answer becomes an `IncomingWebhookHTTPError` (statusCode,
 * body) — 4xx, 429 included, are never retried by it and the Retry-After header is dropped — and a
 * fetch rejection becomes an `IncomingWebhookRequestError`. Its own retries (p-retry) are turned off
 * (`retryConfig: { retries: 0 }`) and so is its whole-call timeout (`timeout: 0`): the retry loop lives
 * in the `fetch` we give it, which knows what the library cannot:
 * - the transport is node:http(s) (not the global fetch), so it knows whether the connection was
 *   established before a failure. Failures BEFORE that (ECONNREFUSED, ENOTFOUND, EAI_AGAIN, a reset or
 *   timeout during connect/TLS handshake) cannot have posted anything: retried with backoff + jitter.
 * - a timeout or a reset AFTER the connection was established is ambiguous (Slack may have posted the
 *   message): never retried in this call — incoming webhooks have no idempotency key, so a blind retry
 *   could post twice — and returned as `{ status: 'retry', ambiguous: true }` for the outbox.
 * - 429: waits Retry-After (seconds; backoff if absent) and tries again, unless that wait would pass the
 *   deadline (then it stops at once: trying again before Retry-After is pointless); 5xx and 408: backoff.
 * Any other 4xx is `rejected` with Slack's body (`invalid_payload`, `no_text`, `no_service`, ...).
 * A 2xx whose body is JSON `{ ok: false, error }` (the Web API's way: a chat.postMessage URL given as
 * a webhook) posted nothing: classified as bot mode classifies it (classifySlackCode).
 * The webhook URL is a secret: it is redacted from every message and never returned.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { DEFAULT_POLICY, type DeliveryPolicy, type DeliveryResult, type SendOptions, type SlackMessage, type SlackTarget } from './types.js';
import { PRE_SEND_CODES, backoffDelay, defaultSleep, errorCode, errorMessage, isTlsVerifyError, parseRetryAfter, redactSecrets, retryFits } from './retry.js';
import { redactedCut, urlSecretParts } from '../../secrets.js';
import { classifySlackCode } from './slack-bot.js';

type WebhookModule = typeof import('@slack/webhook');
type FetchFunction = NonNullable<ConstructorParameters<WebhookModule['IncomingWebhook']>[1]>['fetch'] & {};
type FetchInit = NonNullable<Parameters<FetchFunction>[1]>;
type FetchResponse = Awaited<ReturnType<FetchFunction>>;
type IncomingMessage = http.IncomingMessage;

/** A failed HTTP exchange; `sent`: the connection was established, so the request may have been processed. */
class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly sent: boolean,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** The error code of a body that is JSON `{ ok: false, error? }`; undefined for any other body (an incoming webhook's `ok`). */
export function okFalse(text: string | undefined): string | undefined {
  if (!text || !text.trimStart().startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || (v as { ok?: unknown }).ok !== false) return undefined;
  const e = (v as { error?: unknown }).error;
  return typeof e === 'string' && e ? e : 'unknown_error';
}

function toFetchResponse(res: IncomingMessage, body: Buffer, url: string): FetchResponse {
  const status = res.statusCode ?? 0;
  const text = body.toString('utf8');
  const header = (name: string): string | null => {
    const v = res.headers[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
  };
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: res.statusMessage ?? '',
    url,
    headers: {
      get: header,
      entries: () => Object.entries(res.headers).map(([k, v]): [string, string] => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]),
    },
    arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
    json: async () => JSON.parse(text) as unknown,
    text: async () => text,
  };
}

/** One POST over node:http(s), with a timeout covering connect, answer and body. */
function postOnce(url: string, init: FetchInit, timeoutMs: number): Promise<FetchResponse> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new TransportError('the Slack webhook URL is not a valid URL', 'ERR_INVALID_URL', false));
      return;
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      reject(new TransportError(`the Slack webhook URL must be https: (got ${u.protocol})`, 'ERR_INVALID_URL', false));
      return;
    }
    const isHttps = u.protocol === 'https:';
    const body = typeof init.body === 'string' ? init.body : '';
    let sent = false;
    let settled = false;
    const req = (isHttps ? https : http).request(u, {
      method: init.method ?? 'POST',
      headers: { ...(init.headers ?? {}), 'Content-Length': String(Buffer.byteLength(body)) },
      // a fresh connection: "was it established?" must be about this request only
      agent: false,
    });
    const fail = (e: TransportError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      reject(e);
    };
    const timer = setTimeout(() => {
      fail(new TransportError(sent ? `no answer within ${timeoutMs} ms` : `could not connect within ${timeoutMs} ms`, 'ETIMEDOUT', sent));
    }, timeoutMs);
    const onAbort = () => fail(new TransportError('request aborted', 'ABORT_ERR', sent));
    if (init.signal) {
      if (init.signal.aborted) return onAbort();
      init.signal.addEventListener('abort', onAbort, { once: true });
    }
    req.once('socket', (s: Socket) => {
      s.once(isHttps ? 'secureConnect' : 'connect', () => {
        sent = true;
      });
    });
    req.on('error', (e) => {
      const code = errorCode(e);
      // node reports "socket hang up" (ECONNRESET) for a reset before any answer
      fail(new TransportError(errorMessage(e), code, sent && !(code && PRE_SEND_CODES.has(code))));
    });
    req.once('response', (res) => {
      sent = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', (e) => fail(new TransportError(`answer interrupted: ${errorMessage(e)}`, errorCode(e), true)));
      res.once('aborted', () => fail(new TransportError('answer interrupted', 'ECONNRESET', true)));
      res.once('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', onAbort);
        resolve(toFetchResponse(res, Buffer.concat(chunks), url));
      });
    });
    req.end(body);
  });
}

interface SendState {
  attempts: number;
  httpStatus?: number;
  ambiguous: boolean;
  lastError?: TransportError;
  /** Why the retry loop stopped early (deadline, Retry-After too long). */
  gaveUp?: string;
}

/**
 * Post one message to a Slack incoming webhook. Retries 429/5xx and connection failures that happened
 * before the request was sent, until `policy.deadlineMs` is spent; never retries an ambiguous failure.
 */
export async function sendSlack(
  t: SlackTarget,
  msg: SlackMessage,
  policy: DeliveryPolicy = DEFAULT_POLICY,
  opts: SendOptions = {},
): Promise<DeliveryResult> {
  // the URL, then what of it a message can show without the rest (its path and query: secrets.ts)
  const secrets: Array<[string, string | undefined]> = [['slack_webhook_url', t.url], ...urlSecretParts(t.url).map(([part, v]): [string, string] => [`slack_webhook_${part}`, v])];
  const clean = (s: string) => redactSecrets(s, secrets);
  const sleep = opts.sleep ?? defaultSleep;
  const started = Date.now();
  const deadline = started + policy.deadlineMs;
  const state: SendState = { attempts: 0, ambiguous: false };
  const gaveUp = (why: string) => {
    state.gaveUp = `${why}; gave up after ${state.attempts} attempt${state.attempts === 1 ? '' : 's'} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  };

  const fetchWithRetries: FetchFunction = async (url, init = {}) => {
    for (let n = 0; ; n++) {
      const left = deadline - Date.now();
      state.attempts++;
      let res: FetchResponse;
      try {
        res = await postOnce(String(url), init, Math.max(1, Math.min(policy.timeoutMs, left)));
      } catch (e) {
        const err = e instanceof TransportError ? e : new TransportError(errorMessage(e), errorCode(e), true);
        state.lastError = err;
        if (err.sent) {
          state.ambiguous = true;
          throw err;
        }
        if (err.code === 'ERR_INVALID_URL' || err.code === 'ABORT_ERR' || isTlsVerifyError(err.code)) throw err;
        const wait = backoffDelay(policy, n);
        if (!retryFits(policy, wait, deadline)) {
          gaveUp('delivery deadline reached');
          throw err;
        }
        opts.onRetry?.({ attempt: state.attempts, delayMs: wait, reason: clean(`Slack: ${err.message}`) });
        await sleep(wait);
        continue;
      }
      state.httpStatus = res.status;
      if (res.status === 429 || res.status === 408 || res.status >= 500) {
        const retryAfter = res.status === 429 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
        const wait = retryAfter ?? backoffDelay(policy, n);
        if (!retryFits(policy, wait, deadline)) {
          gaveUp(retryAfter !== undefined && retryAfter >= deadline - Date.now() ? `Retry-After ${Math.ceil(retryAfter / 1000)} s is past the delivery deadline` : 'delivery deadline reached');
          return res;
        }
        const text = redactedCut((await res.text()).trim(), 200, clean);
        opts.onRetry?.({ attempt: state.attempts, delayMs: wait, reason: clean(`Slack HTTP ${res.status}${text ? ` ${text}` : ''}`) });
        await sleep(wait);
        continue;
      }
      return res;
    }
  };

  // CJS package: `IncomingWebhook` comes through as a named export (cjs-module-lexer); see pagerduty.ts
  const mod = await import('@slack/webhook');
  const IncomingWebhook = mod.IncomingWebhook ?? (mod as unknown as { default: WebhookModule }).default.IncomingWebhook;
  const webhook = new IncomingWebhook(t.url, { fetch: fetchWithRetries, timeout: 0, retryConfig: { retries: 0 } });
  const attempts = () => Math.max(1, state.attempts);
  const tail = () => (state.gaveUp ? `; ${state.gaveUp}` : '');

  try {
    const answer = await webhook.send(msg as Parameters<typeof webhook.send>[0]);
    const httpStatus = state.httpStatus ?? 200;
    // a 2xx whose body is the Web API's `{ ok: false, error }` (a chat.postMessage URL, a proxy in
    // front of one) posted nothing, as Alertmanager reads it too: the bot mode's classification
    const refusal = okFalse(answer?.text);
    if (refusal !== undefined) {
      const c = classifySlackCode(refusal);
      if (c.kind === 'refused') return { status: 'rejected', httpStatus, attempts: attempts(), error: clean(`Slack rejected the message (HTTP ${httpStatus}, ok: false): ${refusal}`) };
      return { status: 'retry', httpStatus, attempts: attempts(), error: clean(`${c.kind === 'ratelimited' ? 'Slack rate limit' : c.error} (HTTP ${httpStatus}, ok: false)`), ambiguous: c.kind === 'unknown' };
    }
    return { status: 'sent', httpStatus, attempts: attempts() };
  } catch (e) {
    const statusCode = (e as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === 'number') {
      const body = String((e as { body?: unknown }).body ?? '').trim();
      const detail = body ? `: ${redactedCut(body, 300, clean)}` : (e as { statusMessage?: string }).statusMessage ? `: ${(e as { statusMessage?: string }).statusMessage}` : '';
      if (statusCode === 429 || statusCode === 408 || statusCode >= 500) {
        const what = statusCode === 429 ? 'Slack rate limit' : 'Slack server error';
        return { status: 'retry', httpStatus: statusCode, attempts: attempts(), error: clean(`${what} (HTTP ${statusCode})${detail}${tail()}`), ambiguous: state.ambiguous };
      }
      return { status: 'rejected', httpStatus: statusCode, attempts: attempts(), error: clean(`Slack rejected the message (HTTP ${statusCode})${detail}`) };
    }
    const err = state.lastError;
    let error: string;
    if (!err) error = `Slack: ${errorMessage(e)}`;
    else if (err.sent) error = `Slack: ${err.message} after the request was sent; it may have been posted, so it is not retried now (no idempotency key)`;
    else if (isTlsVerifyError(err.code)) error = `Slack: TLS verification failed (${err.code}): ${err.message}`;
    else error = `Slack: ${err.message}${tail()}`;
    return { status: 'retry', attempts: attempts(), error: clean(error), ambiguous: state.ambiguous };
  }
}
