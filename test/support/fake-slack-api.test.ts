/**
 * The fake Slack Web API (./fake-slack-api.ts) driven by the REAL `@slack/web-api` WebClient, so
 * that what the fake answers is what the client understands, and what the client does on faults
 * (retries, Retry-After, resets, hangs) is pinned down for the bot receiver's exactly-once logic.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, LogLevel, WebClient, type Logger, type WebClientOptions } from '@slack/web-api';
import { FAKE_SLACK_DEFAULT_CHANNEL as CHANNEL, startFakeSlackApi, type FakeSlackApi, type FakeSlackApiOptions } from './fake-slack-api.js';

const T0 = 1_700_000_000_000; // a fixed clock: ts are then 1700000000.000000, .000001, ...
const EVENT_TYPE = 'vigil_delivery';

const fakes: FakeSlackApi[] = [];
afterEach(async () => {
  while (fakes.length) await fakes.pop()!.close();
});

async function fake(opts: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
  const f = await startFakeSlackApi({ clock: () => T0, ...opts });
  fakes.push(f);
  return f;
}

/** A logger that keeps what it is told (and keeps the test output quiet). */
function captureLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn: (...m: unknown[]) => void warnings.push(String(m[0])),
    error() {},
    setLevel() {},
    getLevel: () => LogLevel.WARN,
    setName() {},
  };
}

/** A WebClient on the fake; no retries unless asked (the client's default is 10 over ~30 minutes). */
function client(f: FakeSlackApi, opts: WebClientOptions = {}, token = f.token): WebClient {
  return new WebClient(token, { slackApiUrl: f.url, logger: captureLogger(), retryConfig: { retries: 0 }, ...opts });
}

const post = (c: WebClient, deliveryId: string, text = `alert ${deliveryId}`) =>
  c.chat.postMessage({ channel: CHANNEL, text, metadata: { event_type: EVENT_TYPE, event_payload: { delivery_id: deliveryId } } });

/** What the bot receiver will do before resending: every message of the channel carrying this delivery id. */
async function lookup(c: WebClient, deliveryId: string, oldest?: string): Promise<string[]> {
  const found: string[] = [];
  for await (const page of c.paginate('conversations.history', { channel: CHANNEL, include_all_metadata: true, limit: 2, ...(oldest ? { oldest } : {}) })) {
    for (const m of (page as { messages?: Array<{ ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }> }).messages ?? []) {
      if (m.metadata?.event_type === EVENT_TYPE && m.metadata.event_payload?.delivery_id === deliveryId) found.push(m.ts!);
    }
  }
  return found;
}

/** The rejection of a call, for asserting on its fields. */
async function rejection(p: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await p;
  } catch (e) {
    return e as Error & Record<string, any>;
  }
  throw new Error('expected the call to fail, it succeeded');
}

const deliveryIds = (f: FakeSlackApi) => f.messages[CHANNEL].map((m) => m.metadata?.event_payload.delivery_id);

describe('fake Slack Web API: the wire contract with the real WebClient', () => {
  it('auth.test: Bearer token over form-encoded POST; a wrong token is a platform error invalid_auth', async () => {
    const f = await fake();
    const res = await client(f).auth.test();
    expect(res).toMatchObject({ ok: true, team: 'Vigil Test', team_id: f.team.id, user_id: f.bot.userId, bot_id: f.bot.botId });
    const [req] = f.requests;
    expect(req).toMatchObject({ method: 'auth.test', httpMethod: 'POST', authorization: `Bearer ${f.token}`, status: 200 });
    expect(req.contentType).toBe('application/x-www-form-urlencoded');

    const err = await rejection(client(f, {}, 'xoxb-wrong').chat.postMessage({ channel: CHANNEL, text: 'x' }));
    expect(err.code).toBe(ErrorCode.PlatformError);
    expect(err.data.error).toBe('invalid_auth');
    expect(f.messages[CHANNEL]).toHaveLength(0);
    expect(f.requests.at(-1)).toMatchObject({ method: 'chat.postMessage', status: 200, response: { ok: false, error: 'invalid_auth' } });
  });

  it('chat.postMessage stores text, blocks, attachments and metadata, answers channel + strictly increasing ts', async () => {
    const f = await fake({ channels: [{ id: CHANNEL, name: 'alerts' }] });
    const c = client(f);
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*boom*' } }];
    const attachments = [{ fallback: 'fb', text: 'att' }];
    const first = await c.chat.postMessage({
      channel: '#alerts', // by name: the answer carries the id
      text: 'boom',
      blocks,
      attachments,
      metadata: { event_type: EVENT_TYPE, event_payload: { delivery_id: 'd-1', attempt: 1 } },
    });
    expect(first).toMatchObject({ ok: true, channel: CHANNEL, ts: '1700000000.000000' });
    expect(first.message?.metadata).toEqual({ event_type: EVENT_TYPE, event_payload: { delivery_id: 'd-1', attempt: 1 } });
    // the client sends objects as JSON strings in form fields
    expect(f.requests[0].body.metadata).toBe(JSON.stringify({ event_type: EVENT_TYPE, event_payload: { delivery_id: 'd-1', attempt: 1 } }));
    expect(f.messages[CHANNEL]).toEqual([
      expect.objectContaining({
        ts: '1700000000.000000',
        text: 'boom',
        blocks,
        attachments: [{ id: 1, fallback: 'fb', text: 'att' }],
        metadata: { event_type: EVENT_TYPE, event_payload: { delivery_id: 'd-1', attempt: 1 } },
        bot_id: f.bot.botId,
      }),
    ]);
    const second = await post(c, 'd-2');
    const third = await post(c, 'd-3');
    expect([second.ts, third.ts]).toEqual(['1700000000.000001', '1700000000.000002']);
    expect(first.ts! < second.ts! && second.ts! < third.ts!).toBe(true);
  });

  it('ts follow the real clock when it moves, and never repeat when it does not', async () => {
    let now = T0;
    const f = await fake({ clock: () => now });
    const c = client(f);
    const a = await post(c, 'a');
    now = T0 + 1500; // 1.5 s later
    const b = await post(c, 'b');
    now = T0; // clock went back: ts still increase
    const d = await post(c, 'd');
    expect([a.ts, b.ts, d.ts]).toEqual(['1700000000.000000', '1700000001.500000', '1700000001.500001']);
  });

  it('conversations.history returns metadata only with include_all_metadata, newest first', async () => {
    const f = await fake();
    const c = client(f);
    await post(c, 'd-1');
    await post(c, 'd-2');
    const plain = await c.conversations.history({ channel: CHANNEL });
    expect(plain.messages?.map((m) => m.text)).toEqual(['alert d-2', 'alert d-1']);
    expect(plain.messages?.every((m) => m.metadata === undefined)).toBe(true);
    expect(plain.has_more).toBe(false);

    const full = await c.conversations.history({ channel: CHANNEL, include_all_metadata: true });
    expect(full.messages?.map((m) => m.metadata)).toEqual([
      { event_type: EVENT_TYPE, event_payload: { delivery_id: 'd-2' } },
      { event_type: EVENT_TYPE, event_payload: { delivery_id: 'd-1' } },
    ]);
    expect(await lookup(c, 'd-1')).toEqual(['1700000000.000000']);
    expect(await lookup(c, 'nope')).toEqual([]);
  });

  it('conversations.history: oldest/latest exclusive unless inclusive; limit + cursor pagination', async () => {
    const f = await fake();
    const c = client(f);
    const ts: string[] = [];
    for (let i = 1; i <= 5; i++) ts.push((await post(c, `d-${i}`)).ts!);

    const between = await c.conversations.history({ channel: CHANNEL, oldest: ts[1], latest: ts[3] });
    expect(between.messages?.map((m) => m.ts)).toEqual([ts[2]]);
    const inclusive = await c.conversations.history({ channel: CHANNEL, oldest: ts[1], latest: ts[3], inclusive: true });
    expect(inclusive.messages?.map((m) => m.ts)).toEqual([ts[3], ts[2], ts[1]]);

    const p1 = await c.conversations.history({ channel: CHANNEL, limit: 2 });
    expect(p1.messages?.map((m) => m.ts)).toEqual([ts[4], ts[3]]);
    expect(p1.has_more).toBe(true);
    const cursor = p1.response_metadata?.next_cursor;
    expect(Buffer.from(cursor!, 'base64').toString()).toBe(`next_ts:${ts[2].replace('.', '')}`);
    const p2 = await c.conversations.history({ channel: CHANNEL, limit: 2, cursor });
    expect(p2.messages?.map((m) => m.ts)).toEqual([ts[2], ts[1]]);

    // the client's own paginate() follows next_cursor to the end
    const pages: string[][] = [];
    for await (const page of c.paginate('conversations.history', { channel: CHANNEL, limit: 2 })) {
      pages.push(((page as { messages?: Array<{ ts?: string }> }).messages ?? []).map((m) => m.ts!));
    }
    expect(pages).toEqual([[ts[4], ts[3]], [ts[2], ts[1]], [ts[0]]]);
    expect(f.calls('conversations.history').at(-1)?.response?.response_metadata).toBeUndefined();

    // a lookup bounded by oldest (the attempt's start) still finds the delivery
    expect(await lookup(c, 'd-4', ts[2])).toEqual([ts[3]]);
    expect(await lookup(c, 'd-2', ts[2])).toEqual([]);

    const bad = await rejection(c.conversations.history({ channel: CHANNEL, cursor: 'not-a-cursor' }));
    expect(bad.data.error).toBe('invalid_cursor');
  });

  it('thread replies are not in conversations.history (unless broadcast)', async () => {
    const f = await fake();
    const c = client(f);
    const parent = await post(c, 'p');
    await c.chat.postMessage({ channel: CHANNEL, text: 'reply', thread_ts: parent.ts! });
    await c.chat.postMessage({ channel: CHANNEL, text: 'broadcast', thread_ts: parent.ts!, reply_broadcast: true });
    const h = await c.conversations.history({ channel: CHANNEL });
    expect(h.messages?.map((m) => m.text)).toEqual(['broadcast', 'alert p']);
    expect(f.messages[CHANNEL]).toHaveLength(3);
  });

  it('ok:false answers surface as platform errors with the code, nothing posted', async () => {
    const f = await fake({ channels: [CHANNEL, { id: 'C0000000002', name: 'private', member: false }] });
    const c = client(f);
    const cases: Array<[Promise<unknown>, string]> = [
      [c.chat.postMessage({ channel: 'C0NOPE', text: 'x' }), 'channel_not_found'],
      [c.chat.postMessage({ channel: 'C0000000002', text: 'x' }), 'not_in_channel'],
      [c.chat.postMessage({ channel: CHANNEL, text: '' }), 'no_text'],
      [c.chat.postMessage({ channel: CHANNEL, text: 'x'.repeat(40_001) }), 'msg_too_long'],
      [c.apiCall('chat.postMessage', { channel: CHANNEL, text: 'x', metadata: '{not json' }), 'invalid_metadata_format'],
      [c.apiCall('chat.postMessage', { channel: CHANNEL, text: 'x', blocks: [{ text: 'no type' }] }), 'invalid_blocks'],
      [c.conversations.history({ channel: 'C0NOPE' }), 'channel_not_found'],
      [c.conversations.history({ channel: 'C0000000002' }), 'not_in_channel'],
      [c.conversations.history({ channel: CHANNEL, latest: 'yesterday' }), 'invalid_ts_latest'],
    ];
    for (const [p, code] of cases) {
      const err = await rejection(p);
      expect(err.code, code).toBe(ErrorCode.PlatformError);
      expect(err.data.error).toBe(code);
    }
    expect(f.messages[CHANNEL]).toHaveLength(0);
    expect(f.calls('chat.postMessage')).toHaveLength(6); // ok:false is not retried (even were retries on)
  });

  it('metadata with an invalid event_type is dropped with a warning, the message still posted', async () => {
    const f = await fake();
    const logger = captureLogger();
    const c = client(f, { logger });
    const res = await c.chat.postMessage({ channel: CHANNEL, text: 'x', metadata: { event_type: 'vigil.delivery', event_payload: { delivery_id: 'd' } } });
    expect(res.ok).toBe(true);
    expect(res.response_metadata?.warnings).toEqual(['invalid_metadata_schema']);
    expect(logger.warnings).toContain('invalid_metadata_schema');
    expect(f.messages[CHANNEL]).toHaveLength(1);
    expect(f.messages[CHANNEL][0].metadata).toBeUndefined();
  });
});

describe('fake Slack Web API: faults, and what the real WebClient does with them', () => {
  it('429 + Retry-After: the client waits Retry-After seconds, then retries (when retries are allowed)', async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', status: 429, retryAfter: 1 }]);
    const c = client(f, { retryConfig: { retries: 2, minTimeout: 1, maxTimeout: 1 } });
    const res = await post(c, 'd-429');
    expect(res.ok).toBe(true);
    const [limited, retried] = f.calls('chat.postMessage');
    expect(limited).toMatchObject({ status: 429, response: { ok: false, error: 'ratelimited' } });
    expect(retried).toMatchObject({ status: 200 });
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(990);
    expect(deliveryIds(f)).toEqual(['d-429']); // the 429 was not processed: one message
    expect(f.pendingSteps).toBe(0);
  });

  it('429 with retries: 0 still waits Retry-After before failing; rejectRateLimitedCalls fails at once with retryAfter', async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', status: 429, retryAfter: 1 }]);
    const started = Date.now();
    const err = await rejection(post(client(f), 'd-a'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(err.message).toMatch(/rate limit was exceeded/);
    expect(err.code).toBeUndefined(); // a plain Error, not one of the client's coded errors

    f.script([{ method: 'chat.postMessage', status: 429, retryAfter: 7 }]);
    const t1 = Date.now();
    const rl = await rejection(post(client(f, { rejectRateLimitedCalls: true, retryConfig: { retries: 5 } }), 'd-b'));
    expect(Date.now() - t1).toBeLessThan(1000);
    expect(rl.code).toBe(ErrorCode.RateLimitedError);
    expect(rl.retryAfter).toBe(7);
    expect(f.calls('chat.postMessage')).toHaveLength(2); // never retried
    expect(f.messages[CHANNEL]).toHaveLength(0);
  });

  it('a scripted 429 sends Retry-After: 1 by default (as Slack always does); without the header the client gives up at once', async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', status: 429 }]);
    const res = await post(client(f, { retryConfig: { retries: 1, minTimeout: 1, maxTimeout: 1 } }), 'd-default');
    expect(res.ok).toBe(true);
    const [limited, retried] = f.calls('chat.postMessage');
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(990);

    f.script([{ method: 'chat.postMessage', status: 429, retryAfter: null }]);
    const err = await rejection(post(client(f, { retryConfig: { retries: 3, minTimeout: 1, maxTimeout: 1 } }), 'd-noheader'));
    expect(err.message).toMatch(/Retry header did not contain a valid timeout/);
    expect(f.calls('chat.postMessage')).toHaveLength(3); // not retried
    expect(deliveryIds(f)).toEqual(['d-default']);
  });

  it('5xx is an HTTP error the client RETRIES per retryConfig', async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', status: 503 }]);
    const err = await rejection(post(client(f), 'd-1'));
    expect(err.code).toBe(ErrorCode.HTTPError);
    expect(err.statusCode).toBe(503);

    f.script([{ method: 'chat.postMessage', status: 500 }, { method: 'chat.postMessage', status: 502 }]);
    const res = await post(client(f, { retryConfig: { retries: 2, minTimeout: 1, maxTimeout: 1 } }), 'd-2');
    expect(res.ok).toBe(true);
    expect(f.calls('chat.postMessage').map((r) => r.status)).toEqual([503, 500, 502, 200]);
    expect(deliveryIds(f)).toEqual(['d-2']);
  });

  it("reset 'after': posted, the client sees a request error, and a lookup finds it by delivery id", async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', reset: 'after' }]);
    const c = client(f);
    const err = await rejection(post(c, 'd-lost'));
    expect(err.code).toBe(ErrorCode.RequestError);
    expect(err.original?.code).toBe('ECONNRESET');
    expect(f.calls('chat.postMessage')[0]).toMatchObject({ outcome: 'reset', status: null, stored: { channel: CHANNEL, ts: '1700000000.000000' } });
    expect(deliveryIds(f)).toEqual(['d-lost']);
    // the receiver's recovery: look before resending
    expect(await lookup(c, 'd-lost')).toEqual(['1700000000.000000']);
  });

  it("reset 'after' with client retries on: the client itself posts a DUPLICATE", async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', reset: 'after' }]);
    const res = await post(client(f, { retryConfig: { retries: 1, minTimeout: 1, maxTimeout: 1 } }), 'd-dup');
    expect(res.ok).toBe(true);
    expect(deliveryIds(f)).toEqual(['d-dup', 'd-dup']);
  });

  it("reset 'before': nothing posted, the client sees a request error", async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', reset: 'before' }]);
    const c = client(f);
    const err = await rejection(post(c, 'd-x'));
    expect(err.code).toBe(ErrorCode.RequestError);
    expect(f.messages[CHANNEL]).toHaveLength(0);
    expect(await lookup(c, 'd-x')).toEqual([]);
  });

  it('hang: no timeout by default; WebClient `timeout` turns it into a request error; hangAfterStore decides if it posted', async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', hang: true }]);
    // default timeout 0 = wait forever: still pending after 300 ms
    const pending = post(client(f), 'd-h0').then(
      () => 'settled',
      () => 'settled',
    );
    const raced = await Promise.race([pending, new Promise((r) => setTimeout(() => r('pending'), 300))]);
    expect(raced).toBe('pending');
    expect(deliveryIds(f)).toEqual(['d-h0']);

    f.script([{ method: 'chat.postMessage', hang: true }]);
    const err = await rejection(post(client(f, { timeout: 200 }), 'd-h1'));
    expect(err.code).toBe(ErrorCode.RequestError);
    expect(err.original?.code).toBe('ECONNABORTED');
    // (the client gives up after 200 ms; on a loaded machine the fake may store the request it
    // received after that: waited for, not assumed — failed once in CI)
    await vi.waitFor(() => expect(deliveryIds(f)).toEqual(['d-h0', 'd-h1']), { timeout: 5000 });

    f.script([{ method: 'chat.postMessage', hang: true, hangAfterStore: false }]);
    await rejection(post(client(f, { timeout: 200 }), 'd-h2'));
    await vi.waitFor(() => expect(f.calls('chat.postMessage').map((r) => r.outcome)).toEqual(['hang', 'hang', 'hang']), { timeout: 5000 });
    expect(deliveryIds(f)).toEqual(['d-h0', 'd-h1']);
  });

  it('scripted ok:false errors (ratelimited, msg_too_long) are platform errors, not retried, not posted', async () => {
    const f = await fake();
    f.script([
      { method: 'chat.postMessage', error: 'ratelimited' },
      { method: 'chat.postMessage', error: 'msg_too_long' },
    ]);
    const c = client(f, { retryConfig: { retries: 3, minTimeout: 1, maxTimeout: 1 } });
    for (const code of ['ratelimited', 'msg_too_long']) {
      const err = await rejection(post(c, `d-${code}`));
      expect(err.code).toBe(ErrorCode.PlatformError);
      expect(err.data.error).toBe(code);
    }
    expect(f.calls('chat.postMessage')).toHaveLength(2);
    expect(f.messages[CHANNEL]).toHaveLength(0);
  });

  it('a 500 after the post was stored (afterStore) leaves it posted while the client fails', async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', status: 500, afterStore: true }]);
    const err = await rejection(post(client(f), 'd-500'));
    expect(err.code).toBe(ErrorCode.HTTPError);
    expect(deliveryIds(f)).toEqual(['d-500']);
  });

  it('steps are per method: a fault scripted for chat.postMessage does not hit conversations.history', async () => {
    const f = await fake();
    f.script([{ method: 'chat.postMessage', error: 'fatal_error' }]);
    const c = client(f);
    const h = await c.conversations.history({ channel: CHANNEL });
    expect(h.ok).toBe(true);
    expect(f.pendingSteps).toBe(1);
    const err = await rejection(post(c, 'd'));
    expect(err.data.error).toBe('fatal_error');
    expect(f.pendingSteps).toBe(0);
    expect(() => f.script([{ method: 'chat.postMessage', reset: 'after', hang: true }])).toThrow(/one of/);
  });

  it('down(): connection refused is a request error; up() serves again on the same URL', async () => {
    const f = await fake();
    const c = client(f);
    await f.down();
    const err = await rejection(post(c, 'd'));
    expect(err.code).toBe(ErrorCode.RequestError);
    expect(err.original?.code).toBe('ECONNREFUSED');
    await f.up();
    expect((await post(c, 'd')).ok).toBe(true);
    expect(deliveryIds(f)).toEqual(['d']);
  });
});
