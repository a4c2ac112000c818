/**
 * Test support: a fake Slack incoming webhook over plain HTTP on 127.0.0.1 (random port), for driving
 * the REAL `@slack/webhook` client (through src/alerts/delivery/slack.ts) with no network.
 *
 * `POST /services/T00000000/B00000000/<token>` (`url` is the full webhook URL; the token is random per
 * server) -> 200 `ok` (text/html, like Slack). The incoming-webhook contract, as Slack answers it:
 * body not JSON (or not an object) -> 400 `invalid_payload`; `blocks` present but not an array of
 * objects with a string `type` -> 400 `invalid_blocks`; no non-empty `text` and no non-empty `blocks`
 * -> 400 `no_text`; any other path -> 404 `no_service`; another method -> 405 `invalid_method`.
 *
 * `messages`: the accepted payloads, in order. Fault injection (`script`, `down`/`up`): see
 * ./scripted-server.ts. A scripted 429/5xx is never processed (default bodies `rate_limited`,
 * `rollup_error`; pass `retryAfter` for the Retry-After header); `hang` is processed (the message is
 * recorded, i.e. posted) and never answered.
 */
import { randomBytes } from 'node:crypto';
import { startScriptedServer, type Answer, type Exchange, type ScriptStep } from './scripted-server.js';

export type { ScriptStep } from './scripted-server.js';

export interface FakeSlack {
  /** The full webhook URL (a secret in real life). */
  url: string;
  /** The secret part of the path. */
  token: string;
  /** Accepted payloads, in order. */
  messages: Array<Record<string, unknown>>;
  /** Requests received, scripted and failed ones included. */
  readonly requests: number;
  /** Requests still arriving (their message not recorded yet). */
  readonly receiving: number;
  script(responses: ScriptStep[]): void;
  /** Drop the scripted answers not used yet; returns how many there were. */
  unscript(): number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const text = (status: number, body: string): Answer => ({ status, body, contentType: 'text/html' });

const DEFAULT_BODIES: Record<number, string> = {
  400: 'invalid_payload',
  403: 'invalid_token',
  404: 'no_service',
  410: 'channel_is_archived',
  429: 'rate_limited',
  500: 'rollup_error',
};

export async function startFakeSlack(): Promise<FakeSlack> {
  const token = randomBytes(12).toString('hex');
  const path = `/services/T00000000/B00000000/${token}`;
  const messages: Array<Record<string, unknown>> = [];

  const handle = (ex: Exchange): Answer => {
    if (ex.path !== path) return text(404, 'no_service');
    if (ex.method !== 'POST') return text(405, 'invalid_method');
    let body: unknown;
    try {
      body = JSON.parse(ex.body);
    } catch {
      return text(400, 'invalid_payload');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return text(400, 'invalid_payload');
    const b = body as Record<string, unknown>;
    if (b.blocks !== undefined) {
      const ok = Array.isArray(b.blocks) && b.blocks.every((x) => !!x && typeof x === 'object' && !Array.isArray(x) && typeof (x as { type?: unknown }).type === 'string');
      if (!ok) return text(400, 'invalid_blocks');
    }
    const hasText = typeof b.text === 'string' && b.text.trim() !== '';
    const hasBlocks = Array.isArray(b.blocks) && b.blocks.length > 0;
    if (!hasText && !hasBlocks) return text(400, 'no_text');
    messages.push(b);
    return text(200, 'ok');
  };

  const scripted = await startScriptedServer({
    handle,
    scriptedAnswer: (status) => text(status, DEFAULT_BODIES[status] ?? (status >= 500 ? 'rollup_error' : 'invalid_payload')),
  });

  return {
    url: `http://127.0.0.1:${scripted.port}${path}`,
    token,
    messages,
    get requests() {
      return scripted.requests;
    },
    get receiving() {
      return scripted.receiving;
    },
    script: (s) => scripted.script(s),
    unscript: () => scripted.unscript(),
    down: () => scripted.down(),
    up: () => scripted.up(),
    close: () => scripted.close(),
  };
}
