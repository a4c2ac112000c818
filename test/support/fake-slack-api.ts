/**
 * Test support: a fake Slack Web API over plain HTTP on 127.0.0.1 (random port), for driving the REAL
 * `@slack/web-api` `WebClient` (`new WebClient(fake.token, { slackApiUrl: fake.url })`) with no network.
 * Built for a "bot" receiver that posts with `chat.postMessage` carrying a delivery id in `metadata`
 * and, after a crash or an ambiguous answer, looks the id up with `conversations.history` before
 * deciding to resend.
 *
 * The contract, as the real API and the real client speak it:
 * - `POST|GET <url><method>` (`url` ends in `/api/`). WebClient always POSTs
 *   `application/x-www-form-urlencoded`, with objects (`metadata`, `blocks`, `attachments`) as JSON
 *   strings in form fields and booleans as `"true"`/`"false"`, and the token as
 *   `Authorization: Bearer <token>`. Also accepted: `application/json` bodies (token in the header
 *   only, as Slack requires), a `token` form field, and arguments in the query string.
 * - Every API answer is HTTP 200 with `{ ok: true, ... }` or `{ ok: false, error: '<code>' }` (the
 *   client turns the latter into a platform error, `code: 'slack_webapi_platform_error'`,
 *   `data.error: '<code>'`); only rate limiting (429 + `Retry-After: <seconds>`) and failures use
 *   other statuses. No/empty token -> `not_authed`; another token -> `invalid_auth`; an unknown
 *   method -> 404 `unknown_method`.
 * - `auth.test` -> `{ ok, url, team, user, team_id, user_id, bot_id, is_enterprise_install }`.
 * - `chat.postMessage`: `channel` (an id, or a name with or without `#`; the answer carries the id)
 *   unknown -> `channel_not_found`, bot not a member -> `not_in_channel`; no text, blocks nor
 *   attachments -> `no_text`; text over 40,000 characters -> `msg_too_long`; blocks not a JSON array
 *   -> `invalid_blocks_format`, more than 50 or one without a string `type` -> `invalid_blocks`;
 *   attachments not a JSON array -> `invalid_attachments`, more than 100 -> `too_many_attachments`;
 *   metadata not a JSON object -> `invalid_metadata_format`; metadata whose `event_type` is not
 *   letters, digits, `_` and `-` (no periods) or whose `event_payload` is not an object is DROPPED
 *   with a warning (`warning: 'invalid_metadata_schema'`, `response_metadata.warnings`), the message
 *   still posted, as Slack documents. Success -> `{ ok, channel, ts, message }`, `ts` a
 *   strictly increasing `"<unix seconds>.<6 digits>"` string from `clock`, `message` the stored
 *   message (metadata included). `thread_ts` makes a thread reply, which (unless `reply_broadcast`)
 *   conversations.history does not list, as in Slack.
 * - `conversations.history`: `channel` (id) unknown -> `channel_not_found`, not a member ->
 *   `not_in_channel`; newest first; `oldest`/`latest` exclusive unless `inclusive` (bad value ->
 *   `invalid_ts_oldest`/`invalid_ts_latest`); `limit` default 100, at most 999; `cursor` from
 *   `response_metadata.next_cursor` (base64 of `next_ts:<ts digits>` like Slack's; a bad one ->
 *   `invalid_cursor`), given only while `has_more`; `metadata` on messages ONLY with
 *   `include_all_metadata=true`.
 *
 * Fault injection, per API method (`script`): each request of method M takes the next step
 * scripted for M, if any (other methods are not affected):
 * - `{ status, retryAfter?, body? }`: answered with that HTTP status (429 -> `{"ok":false,"error":
 *   "ratelimited"}` and `Retry-After: 1` unless `retryAfter` says otherwise, `null` = no header;
 *   5xx -> `{"ok":false,"error":"internal_error"}`; `body` replaces the body) WITHOUT processing the
 *   request, or after processing it with `afterStore: true` (posted, yet the client sees a failure);
 * - `{ error, status?, afterStore? }`: `{ ok: false, error }` (HTTP 200 unless `status`), not
 *   processed unless `afterStore`;
 * - `{ reset: 'before' }`: the socket is destroyed, nothing processed (not posted);
 *   `{ reset: 'after' }`: processed (posted), then the socket destroyed: the client never learns;
 * - `{ hang: true, hangAfterStore? }`: never answered (until `close()`/`down()`); processed first
 *   unless `hangAfterStore: false`;
 * - `{ delayMs }` alone: processed and answered normally, after `delayMs` (any step takes `delayMs`).
 *
 * `requests` logs every call (scripted, failed and hung ones included) in arrival order; `messages`
 * holds every posted message per channel id, oldest first (thread replies included).
 * `down()` stops listening and drops open connections, `up()` listens again on the same port.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loopback } from './scripted-server.js';

export interface FakeSlackMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

/** A message as conversations.history returns it with include_all_metadata (ids are the fake's). */
export interface FakeSlackMessage {
  type: 'message';
  ts: string;
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  /** '' when only blocks/attachments were given. */
  text: string;
  blocks?: Array<Record<string, unknown>>;
  attachments?: Array<Record<string, unknown>>;
  metadata?: FakeSlackMetadata;
  thread_ts?: string;
  reply_broadcast?: boolean;
}

export interface FakeSlackChannel {
  id: string;
  name?: string;
  /** Whether the bot is a member (default true); not -> `not_in_channel`. */
  member?: boolean;
}

export interface FakeSlackApiOptions {
  /** The bot token to accept (default: a random `xoxb-...`). */
  token?: string;
  /** Channels that exist (default: one, `C0000000001` named `alerts`). */
  channels?: Array<string | FakeSlackChannel>;
  /** Milliseconds since the epoch, for message ts (default Date.now); ts stay strictly increasing. */
  clock?: () => number;
  /**
   * How long an idle keep-alive connection is kept (default Node's 5 s). A client paused longer
   * (SIGSTOP) then reuses a connection the server has closed, and its request fails with a reset
   * before anything is posted; Slack keeps idle connections longer.
   */
  keepAliveTimeoutMs?: number;
}

/** One scripted fault for the next call of `method`; see the file comment. */
export interface FakeSlackApiStep {
  method: string;
  /** HTTP status to answer (with `error`: the status of the ok:false answer, default 200). */
  status?: number;
  /** Retry-After header in seconds (429 default 1; null: none). */
  retryAfter?: number | null;
  /** Replaces the default body of a scripted status (an object is sent as JSON). */
  body?: string | Record<string, unknown>;
  /** `{ ok: false, error }`. */
  error?: string;
  /** With `status`/`error`: process the request (e.g. post the message) before failing. */
  afterStore?: boolean;
  reset?: 'before' | 'after';
  hang?: boolean;
  /** With `hang`: process before hanging (default true). */
  hangAfterStore?: boolean;
  /** Delay before the answer (or the reset). */
  delayMs?: number;
}

export interface FakeSlackApiRequest {
  /** API method, e.g. `chat.postMessage` (the path after `/api/`). */
  method: string;
  /** Date.now() when the request was read in full. */
  at: number;
  httpMethod: string;
  contentType?: string;
  authorization?: string;
  /** Arguments: query string merged with the decoded body (form values are strings). */
  body: Record<string, unknown>;
  rawBody: string;
  /** The scripted step applied, if any. */
  step?: FakeSlackApiStep;
  outcome: 'answered' | 'reset' | 'hang';
  /** HTTP status sent; null when reset or hung. */
  status: number | null;
  /** JSON sent to the client, when it was JSON and sent. */
  response?: Record<string, unknown>;
  /** The message this call posted, if any (also when the client never learnt it). */
  stored?: { channel: string; ts: string };
}

export interface FakeSlackApi {
  /** `http://127.0.0.1:PORT/api/`: WebClient's `slackApiUrl`. */
  url: string;
  token: string;
  team: { id: string; name: string; domain: string };
  bot: { userId: string; botId: string; appId: string; name: string };
  /** Posted messages per channel id, oldest first. */
  messages: Record<string, FakeSlackMessage[]>;
  requests: FakeSlackApiRequest[];
  /** Requests of one method. */
  calls(method: string): FakeSlackApiRequest[];
  script(steps: FakeSlackApiStep[]): void;
  /** Steps scripted and not yet used. */
  readonly pendingSteps: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export const FAKE_SLACK_DEFAULT_CHANNEL = 'C0000000001';

const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;
const MAX_ATTACHMENTS = 100;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 999;
const EVENT_TYPE = /^[A-Za-z0-9_-]+$/;

type Json = Record<string, unknown>;
interface Outcome {
  status: number;
  body: Json;
  headers?: Record<string, string>;
  stored?: { channel: string; ts: string };
}

const fail = (error: string, extra: Json = {}): Outcome => ({ status: 200, body: { ok: false, error, ...extra } });
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** Slack booleans: true, "true", "1" (and 1). */
const truthy = (v: unknown) => v === true || v === 1 || v === 'true' || v === '1';

/** A ts ("1700000000.000100", "1700000000", "1700000000.5") as microseconds; undefined if invalid. */
export function tsToMicros(ts: unknown): bigint | undefined {
  if (typeof ts === 'number' && Number.isFinite(ts) && ts >= 0) ts = ts.toFixed(6);
  if (typeof ts !== 'string') return undefined;
  const m = /^(\d+)(?:\.(\d*))?$/.exec(ts.trim());
  if (!m) return undefined;
  return BigInt(m[1]) * 1_000_000n + BigInt(((m[2] ?? '') + '000000').slice(0, 6));
}

export function microsToTs(us: bigint): string {
  return `${us / 1_000_000n}.${String(us % 1_000_000n).padStart(6, '0')}`;
}

/** A JSON-valued argument: an object/array from a JSON body, or a JSON string from a form. */
function jsonArg(v: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof v !== 'string') return { ok: true, value: v };
  try {
    return { ok: true, value: JSON.parse(v) };
  } catch {
    return { ok: false };
  }
}

export async function startFakeSlackApi(opts: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
  const token = opts.token ?? `xoxb-${randomBytes(6).toString('hex')}-${randomBytes(12).toString('hex')}`;
  const clock = opts.clock ?? Date.now;
  const team = { id: 'T0000VIGIL', name: 'Vigil Test', domain: 'vigil-test' };
  const bot = { userId: 'U0000VIGILBOT', botId: 'B0000VIGILBOT', appId: 'A0000VIGIL', name: 'vigil' };
  const channels: FakeSlackChannel[] = (opts.channels ?? [{ id: FAKE_SLACK_DEFAULT_CHANNEL, name: 'alerts' }]).map((c) =>
    typeof c === 'string' ? { id: c } : c,
  );
  const messages: Record<string, FakeSlackMessage[]> = {};
  for (const c of channels) messages[c.id] = [];
  const requests: FakeSlackApiRequest[] = [];
  const steps = new Map<string, FakeSlackApiStep[]>();
  const timers = new Set<NodeJS.Timeout>();
  let lastMicros = 0n;

  const nextTs = () => {
    const now = BigInt(Math.floor(clock())) * 1000n;
    lastMicros = now > lastMicros ? now : lastMicros + 1n;
    return microsToTs(lastMicros);
  };

  const findChannel = (ref: unknown): FakeSlackChannel | undefined => {
    if (typeof ref !== 'string' || ref === '') return undefined;
    const name = ref.replace(/^#/, '');
    return channels.find((c) => c.id === ref) ?? channels.find((c) => c.name !== undefined && c.name === name);
  };

  // ---- methods ------------------------------------------------------------------------------

  const authTest = (): Outcome => ({
    status: 200,
    body: {
      ok: true,
      url: `https://${team.domain}.slack.com/`,
      team: team.name,
      user: bot.name,
      team_id: team.id,
      user_id: bot.userId,
      bot_id: bot.botId,
      is_enterprise_install: false,
    },
  });

  const postMessage = (a: Json): Outcome => {
    const channel = findChannel(a.channel);
    if (!channel) return fail('channel_not_found');
    if (channel.member === false) return fail('not_in_channel');

    const text = a.text === undefined || a.text === null ? undefined : String(a.text);
    let blocks: Array<Record<string, unknown>> | undefined;
    if (a.blocks !== undefined && a.blocks !== '') {
      const parsed = jsonArg(a.blocks);
      if (!parsed.ok || !Array.isArray(parsed.value)) return fail('invalid_blocks_format');
      if (parsed.value.length > MAX_BLOCKS || !parsed.value.every((b) => isObject(b) && typeof b.type === 'string')) {
        return fail('invalid_blocks');
      }
      blocks = parsed.value as Array<Record<string, unknown>>;
    }
    let attachments: Array<Record<string, unknown>> | undefined;
    if (a.attachments !== undefined && a.attachments !== '') {
      const parsed = jsonArg(a.attachments);
      if (!parsed.ok || !Array.isArray(parsed.value) || !parsed.value.every(isObject)) return fail('invalid_attachments');
      if (parsed.value.length > MAX_ATTACHMENTS) return fail('too_many_attachments');
      // Slack numbers the attachments it stores
      attachments = (parsed.value as Json[]).map((x, i) => ({ id: i + 1, ...x }));
    }
    const hasText = text !== undefined && text.trim() !== '';
    if (!hasText && !blocks?.length && !attachments?.length) return fail('no_text');
    if (text !== undefined && text.length > MAX_TEXT) return fail('msg_too_long');

    let metadata: FakeSlackMetadata | undefined;
    const warnings: string[] = [];
    if (a.metadata !== undefined && a.metadata !== '') {
      const parsed = jsonArg(a.metadata);
      if (!parsed.ok || !isObject(parsed.value)) return fail('invalid_metadata_format');
      const m = parsed.value;
      if (typeof m.event_type === 'string' && EVENT_TYPE.test(m.event_type) && isObject(m.event_payload)) {
        metadata = { event_type: m.event_type, event_payload: m.event_payload };
      } else {
        warnings.push('invalid_metadata_schema'); // posted, metadata ignored
      }
    }

    const ts = nextTs();
    const message: FakeSlackMessage = {
      type: 'message',
      ts,
      user: bot.userId,
      bot_id: bot.botId,
      app_id: bot.appId,
      team: team.id,
      text: text ?? '',
      ...(blocks ? { blocks } : {}),
      ...(attachments ? { attachments } : {}),
      ...(metadata ? { metadata } : {}),
    };
    if (typeof a.thread_ts === 'string' && a.thread_ts !== '') {
      message.thread_ts = a.thread_ts;
      if (truthy(a.reply_broadcast)) message.reply_broadcast = true;
    }
    messages[channel.id].push(message);
    const body: Json = { ok: true, channel: channel.id, ts, message: structuredClone(message) };
    if (warnings.length) {
      body.warning = warnings.join(',');
      body.response_metadata = { warnings };
    }
    return { status: 200, body, stored: { channel: channel.id, ts } };
  };

  const history = (a: Json): Outcome => {
    const channel = typeof a.channel === 'string' ? channels.find((c) => c.id === a.channel) : undefined;
    if (!channel) return fail('channel_not_found');
    if (channel.member === false) return fail('not_in_channel');
    const inclusive = truthy(a.inclusive);
    const given = (v: unknown) => v !== undefined && v !== null && v !== '';
    const oldest = given(a.oldest) ? tsToMicros(a.oldest) : 0n;
    if (oldest === undefined) return fail('invalid_ts_oldest');
    const latest = given(a.latest) ? tsToMicros(a.latest) : undefined;
    if (given(a.latest) && latest === undefined) return fail('invalid_ts_latest');
    let limit = Number.parseInt(String(a.limit ?? ''), 10);
    if (!Number.isFinite(limit) || limit <= 0) limit = DEFAULT_LIMIT;
    limit = Math.min(limit, MAX_LIMIT);
    let from: bigint | undefined; // newest ts (inclusive) of this page, from the cursor
    if (given(a.cursor)) {
      const m = /^next_ts:(\d+)$/.exec(Buffer.from(String(a.cursor), 'base64').toString('utf8'));
      if (!m) return fail('invalid_cursor');
      from = BigInt(m[1]);
    }
    const includeMetadata = truthy(a.include_all_metadata);

    const inRange = messages[channel.id]
      .filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts || m.reply_broadcast)
      .filter((m) => {
        const t = tsToMicros(m.ts)!;
        const afterOldest = inclusive ? t >= oldest : t > oldest;
        const beforeLatest = latest === undefined || (inclusive ? t <= latest : t < latest);
        return afterOldest && beforeLatest && (from === undefined || t <= from);
      })
      .reverse(); // newest first
    const page = inRange.slice(0, limit);
    const rest = inRange.slice(limit);
    const out = page.map((m) => {
      const c = structuredClone(m);
      if (!includeMetadata) delete c.metadata;
      return c;
    });
    const body: Json = { ok: true, messages: out, has_more: rest.length > 0, pin_count: 0, channel_actions_ts: null, channel_actions_count: 0 };
    if (latest !== undefined) body.latest = String(a.latest);
    if (rest.length > 0) {
      const next = rest[0].ts.replace('.', '');
      body.response_metadata = { next_cursor: Buffer.from(`next_ts:${next}`).toString('base64') };
    }
    return { status: 200, body };
  };

  const METHODS: Record<string, (a: Json) => Outcome> = {
    'auth.test': authTest,
    'chat.postMessage': postMessage,
    'conversations.history': history,
  };

  /** Authenticate and run the method (changing state); never throws. */
  const perform = (method: string, args: Json, authorization: string | undefined, json: boolean): Outcome => {
    const fn = METHODS[method];
    if (!fn) return { status: 404, body: { ok: false, error: 'unknown_method', req_method: method } };
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    const given = bearer ?? (json ? undefined : typeof args.token === 'string' ? args.token : undefined);
    if (!given) return fail('not_authed');
    if (given !== token) return fail('invalid_auth');
    return fn(args);
  };

  // ---- transport ------------------------------------------------------------------------------

  const parseArgs = (req: IncomingMessage, raw: string): { args: Json; json: boolean } | { error: string } => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const args: Json = Object.fromEntries(url.searchParams);
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (raw === '') return { args, json: false };
    if (type === '') return { error: 'missing_post_type' };
    if (type === 'application/x-www-form-urlencoded') {
      return { args: { ...args, ...Object.fromEntries(new URLSearchParams(raw)) }, json: false };
    }
    if (type === 'application/json') {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return { error: 'invalid_json' };
      }
      if (!isObject(body)) return { error: 'json_not_object' };
      return { args: { ...args, ...body }, json: true };
    }
    if (type === 'multipart/form-data') return { error: 'invalid_form_data' }; // not modelled here
    return { error: 'invalid_post_type' };
  };

  const scriptedBody = (step: FakeSlackApiStep, status: number): string => {
    if (typeof step.body === 'string') return step.body;
    if (step.body) return JSON.stringify(step.body);
    const error = status === 429 ? 'ratelimited' : status >= 500 ? 'internal_error' : 'invalid_request';
    return JSON.stringify({ ok: false, error });
  };

  const later = (ms: number | undefined, fn: () => void) => {
    if (!ms || ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    res.end(body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0];
      const method = path.startsWith('/api/') ? path.slice('/api/'.length) : '';
      const parsed = parseArgs(req, raw);
      const entry: FakeSlackApiRequest = {
        method,
        at: Date.now(),
        httpMethod: req.method ?? 'GET',
        ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        body: 'args' in parsed ? parsed.args : {},
        rawBody: raw,
        outcome: 'answered',
        status: null,
      };
      requests.push(entry);
      if (!method) {
        entry.status = 404;
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('Not Found');
        return;
      }
      const run = (): Outcome => {
        const o = 'args' in parsed ? perform(method, parsed.args, req.headers.authorization, parsed.json) : fail(parsed.error);
        if (o.stored) entry.stored = o.stored;
        return o;
      };
      const answer = (o: Outcome) => {
        entry.status = o.status;
        entry.response = o.body;
        send(res, o.status, JSON.stringify(o.body), o.headers);
      };

      const queue = steps.get(method);
      const step = queue?.shift();
      if (step) entry.step = step;
      if (!step) return answer(run());

      if (step.reset) {
        entry.outcome = 'reset';
        if (step.reset === 'after') run();
        later(step.delayMs, () => req.socket.destroy());
        return;
      }
      if (step.hang) {
        entry.outcome = 'hang';
        if (step.hangAfterStore !== false) run();
        return; // never answered; close()/down() drop the connection
      }
      if (step.error !== undefined) {
        if (step.afterStore) run();
        const status = step.status ?? 200;
        const headers: Record<string, string> = step.retryAfter != null ? { 'Retry-After': String(step.retryAfter) } : {};
        return later(step.delayMs, () => answer({ status, body: { ok: false, error: step.error }, headers }));
      }
      if (step.status !== undefined && step.status !== 200) {
        if (step.afterStore) run();
        const retryAfter = step.retryAfter === undefined ? (step.status === 429 ? 1 : null) : step.retryAfter;
        const headers: Record<string, string> = retryAfter !== null ? { 'Retry-After': String(retryAfter) } : {};
        const body = scriptedBody(step, step.status);
        return later(step.delayMs, () => {
          entry.status = step.status!;
          try {
            entry.response = JSON.parse(body) as Json;
          } catch {
            /* not JSON */
          }
          send(res, step.status!, body, headers);
        });
      }
      // { delayMs } alone (or status 200): normal handling, answered late
      const o = run();
      later(step.delayMs, () => answer(o));
    });
  };

  const server = createServer(onRequest);
  if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs;
  const { listen, stop, isListening } = loopback(server, timers);

  await listen(0);
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/api/`,
    token,
    team,
    bot,
    messages,
    requests,
    calls: (method) => requests.filter((r) => r.method === method),
    script(s) {
      for (const step of s) {
        const kinds = [step.reset !== undefined, step.hang === true, step.error !== undefined, step.status !== undefined && step.error === undefined].filter(Boolean);
        if (kinds.length > 1) throw new Error(`fake Slack API: a step is one of status, error, reset, hang: ${JSON.stringify(step)}`);
        if (!step.method) throw new Error('fake Slack API: a step needs its method');
        const q = steps.get(step.method) ?? [];
        q.push(step);
        steps.set(step.method, q);
      }
    },
    get pendingSteps() {
      let n = 0;
      for (const q of steps.values()) n += q.length;
      return n;
    },
    down: stop,
    async up() {
      if (!isListening()) await listen(port);
    },
    close: stop,
  };
}
