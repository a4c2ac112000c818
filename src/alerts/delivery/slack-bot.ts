/**
 * Slack through the Web API with a bot token (`@slack/web-api`, 7.x): exactly once where Slack
 * allows it. Each message carries its delivery id in `metadata` (event_type `vigil_delivery`:
 * Slack drops metadata whose event_type has a period). Before posting a message that was tried
 * before (a crash mid-send, an ambiguous answer), and after any answer that leaves it open
 * whether Slack posted it (a reset, a timeout, a 5xx), the channel's recent history is read
 * with `include_all_metadata` for that id: found means sent; not found means it was not
 * posted, so posting it is safe. The client's own retries are off (they re-post blindly) and
 * its timeout is on (its default waits forever).
 *
 * `ok: false` answers to a post are permanent refusals (`channel_not_found`, `not_in_channel`,
 * `invalid_auth`, `msg_too_long`, ...), except `ratelimited` and `internal_error`; 429 waits
 * Retry-After. A history that cannot be read (`missing_scope`, ...) leaves it unknown whether a
 * message tried before was posted: it is returned as ambiguous (held as uncertain), never posted.
 * A TLS verification failure (a certificate the client does not trust) returns `retry` at once,
 * not ambiguous: the handshake failed before any request was sent, and waiting cannot fix a
 * certificate (as the PagerDuty and webhook senders do; a history read that fails so likewise, and
 * the next run looks again before posting). The token is a secret: redacted from every message and never returned.
 */
import type { WebClient as WebClientType } from '@slack/web-api';
import { DEFAULT_POLICY, type DeliveryPolicy, type DeliveryResult, type SendOptions, type SlackMessage } from './types.js';
import { PRE_SEND_CODES, backoffDelay, defaultSleep, isTlsVerifyError, redactSecrets, retryFits } from './retry.js';

export interface SlackBotTarget {
  token: string;
  /** the channel's id (C0123...): history is read by id */
  channel: string;
  /** Web API base, https://slack.com/api/ unless a test or a proxy says otherwise */
  apiUrl?: string;
}

export const DELIVERY_EVENT = 'vigil_delivery';

interface Delivery {
  /** the outbox entry's id: the message's identity in the channel */
  id: string;
  /** when it was first tried (wall clock): history is read from a minute before */
  since: string;
  /** it was tried before: look before posting */
  lookFirst: boolean;
}

type SlackError = Error & { code?: string; data?: { error?: string }; retryAfter?: number; statusCode?: number; original?: { code?: string } };

async function client(t: SlackBotTarget, policy: DeliveryPolicy): Promise<WebClientType> {
  // a CommonJS package: its exports may come as the module's default
  const mod = await import('@slack/web-api');
  const WebClient = mod.WebClient ?? (mod as unknown as { default: typeof mod }).default.WebClient;
  return new WebClient(t.token, {
    slackApiUrl: t.apiUrl,
    // its retries would post a message whose answer was lost a second time
    retryConfig: { retries: 0 },
    timeout: policy.timeoutMs,
    rejectRateLimitedCalls: true,
    logLevel: 'error' as never,
  });
}

/** Whether the channel holds a message with this delivery id (read back to `since` minus a minute). */
export async function findDelivery(web: WebClientType, channel: string, id: string, since: string): Promise<boolean> {
  const oldest = String(Math.max(0, Date.parse(since) / 1000 - 60));
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const r = await web.conversations.history({ channel, oldest, include_all_metadata: true, limit: 200, cursor });
    for (const m of r.messages ?? []) {
      const md = (m as { metadata?: { event_type?: string; event_payload?: { id?: unknown } } }).metadata;
      if (md?.event_type === DELIVERY_EVENT && md.event_payload?.id === id) return true;
    }
    cursor = r.response_metadata?.next_cursor || undefined;
    if (!r.has_more || !cursor) return false;
  }
  return false;
}

type SlackErrorKind = 'refused' | 'ratelimited' | 'unknown' | 'transient' | 'tls';

/**
 * What a Web API `{ ok: false, error: code }` answer means for a post: `ratelimited` (not
 * posted: try again later), `unknown` (Slack's internal_error, fatal_error, ...: it may or may
 * not have posted), else `refused` (permanent: channel_not_found, not_authed, invalid_auth, ...).
 * Bot mode and a webhook answered in the Web API's way (webhook mode) read it alike.
 */
export function classifySlackCode(code: string): { kind: Exclude<SlackErrorKind, 'transient' | 'tls'>; error: string } {
  if (code === 'ratelimited') return { kind: 'ratelimited', error: code };
  if (code === 'internal_error' || code === 'fatal_error' || code === 'request_timeout' || code === 'service_unavailable') return { kind: 'unknown', error: `Slack answered ${code}` };
  return { kind: 'refused', error: `Slack refused it: ${code}` };
}

function classify(e: SlackError): { kind: SlackErrorKind; error: string; retryAfterMs?: number } {
  if (e.code === 'slack_webapi_platform_error') return classifySlackCode(e.data?.error ?? 'unknown_error');
  if (e.code === 'slack_webapi_rate_limited_error') return { kind: 'ratelimited', error: 'rate limited (429)', retryAfterMs: (e.retryAfter ?? 1) * 1000 };
  if (e.code === 'slack_webapi_http_error') {
    const status = e.statusCode ?? 0;
    return status >= 500 || status === 408 ? { kind: 'unknown', error: `HTTP ${status}` } : { kind: 'refused', error: `HTTP ${status}` };
  }
  // request errors: refused before connecting cannot have posted, nor a handshake that failed; anything else may have
  const code = e.original?.code ?? '';
  if (PRE_SEND_CODES.has(code)) return { kind: 'transient', error: `${code}: Slack could not be reached` };
  if (isTlsVerifyError(code)) return { kind: 'tls', error: `TLS verification failed (${code}): ${(e.original as { message?: string } | undefined)?.message ?? e.message}` };
  return { kind: 'unknown', error: `${code || e.message}: no answer (Slack may have posted it)` };
}

/**
 * Post `msg` with delivery id `d.id` unless the channel already has it, within `policy`.
 * `retry` with `ambiguous: false` means: not posted (checked), try again later.
 */
export async function sendSlackBot(t: SlackBotTarget, msg: SlackMessage & { channel?: string }, d: Delivery, policy: DeliveryPolicy = DEFAULT_POLICY, opts: SendOptions = {}): Promise<DeliveryResult> {
  const clean = (s: string) => redactSecrets(s, [['slack_bot_token', t.token]]);
  const sleep = opts.sleep ?? defaultSleep;
  const deadline = Date.now() + policy.deadlineMs;
  const web = await client(t, policy);
  let attempts = 0;
  let look = d.lookFirst;
  for (let attempt = 1; ; attempt++) {
    try {
      if (look) {
        let found: boolean;
        try {
          found = await findDelivery(web, t.channel, d.id, d.since);
        } catch (err) {
          const c = classify(err as SlackError);
          // the history cannot be read (missing_scope, not_in_channel, ...): whether it was posted is unknown
          if (c.kind === 'refused')
            return { status: 'retry', attempts, ambiguous: true, error: clean(`it may have been posted, and the channel's history cannot be read to tell (${c.error.replace('Slack refused it: ', '')}): the bot needs the channels:history scope (groups:history for a private channel) and to be a member of the channel`) };
          // nothing was posted now; the next run looks again before posting
          if (c.kind === 'tls') return { status: 'retry', attempts, ambiguous: false, error: clean(`Slack (bot): reading the channel's history: ${c.error}`) };
          throw err;
        }
        if (found) return { status: 'sent', httpStatus: 200, attempts };
        look = false;
      }
      attempts++;
      const { channel: _c, ...body } = msg;
      void _c;
      await web.chat.postMessage({ ...body, channel: t.channel, metadata: { event_type: DELIVERY_EVENT, event_payload: { id: d.id } } } as Parameters<WebClientType['chat']['postMessage']>[0]);
      return { status: 'sent', httpStatus: 200, attempts };
    } catch (err) {
      const c = classify(err as SlackError);
      if (c.kind === 'refused') return { status: 'rejected', httpStatus: (err as SlackError).statusCode ?? 200, attempts, error: clean(c.error) };
      // waiting cannot fix a certificate, and a failed handshake posted nothing
      if (c.kind === 'tls') return { status: 'retry', attempts, ambiguous: false, error: clean(`Slack (bot): ${c.error}`) };
      // after an answer that leaves it open, the history decides before anything is posted again
      if (c.kind === 'unknown') look = true;
      const delay = c.retryAfterMs ?? backoffDelay(policy, attempt);
      if (!retryFits(policy, delay, deadline)) return { status: 'retry', attempts, error: clean(c.error), ambiguous: false };
      opts.onRetry?.({ attempt, delayMs: delay, reason: clean(c.error) });
      await sleep(delay);
      // the wait took longer than asked (the process was paused: SIGSTOP, a suspended VM): past the
      // deadline, which the state lock's lease covers, another run may have taken the state over
      // and posted it; this run posts nothing more (the next run looks in the channel first)
      if (!retryFits(policy, 0, deadline)) return { status: 'retry', attempts, error: clean(`${c.error}; the delivery deadline passed while waiting to retry`), ambiguous: false };
    }
  }
}
