/**
 * Test support: a fake PagerDuty Events API v2 over HTTPS on 127.0.0.1 (random port), for driving the
 * REAL `@pagerduty/pdjs` client (through src/alerts/delivery/pagerduty.ts) with no network.
 *
 * TLS: the self-signed fixture test/support/tls/127.0.0.1.pem (+ .key; SAN IP:127.0.0.1 and
 * DNS:localhost, valid 2000–2126, CA:TRUE so it can be its own trust anchor). Trust it in process with
 * `PagerDutyTarget.ca = fake.ca`, in a spawned process with `NODE_EXTRA_CA_CERTS=<that .pem>` (read
 * by Node at start-up only).
 *
 * `POST /v2/enqueue`, validated like the real endpoint: routing_key present and 32 characters;
 * event_action trigger|acknowledge|resolve; dedup_key <= 255 characters (required for acknowledge and
 * resolve); for trigger, payload.summary (<= 1024), payload.source and payload.severity
 * (critical|error|warning|info). Invalid -> 400 `{"status":"invalid event","message":"Event object is
 * invalid","errors":[...]}`; valid -> 202 `{"status":"success","message":"Event processed","dedup_key":...}`
 * (a dedup_key is generated for a trigger without one). Other paths -> 404, other methods -> 405.
 *
 * Every accepted event is kept in `events` (as received, routing_key included, with the effective
 * dedup_key) and applied to an incident model keyed by dedup_key: a trigger opens an incident (or
 * re-opens a resolved one); a trigger on an open incident is deduplicated (`duplicates`); resolve
 * closes it (a resolve of an unknown or resolved incident is accepted and changes nothing);
 * acknowledge changes nothing here.
 *
 * Fault injection (`script`, `down`/`up`): see ./scripted-server.ts. A scripted 429/5xx is never
 * processed; `hang` is processed (recorded) and never answered. Default bodies: 429 `{"status":"throttle
 * event",...}`, 5xx `{"status":"error","message":"Internal Server Error"}` (JSON, like PagerDuty; pass
 * `body` for a proxy's HTML page).
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startScriptedServer, type Answer, type Exchange, type ScriptStep } from './scripted-server.js';

export type { ScriptStep } from './scripted-server.js';

const TLS_DIR = new URL('./tls/', import.meta.url);
export const FAKE_PD_CERT_PATH = fileURLToPath(new URL('127.0.0.1.pem', TLS_DIR));
export const FAKE_PD_KEY_PATH = fileURLToPath(new URL('127.0.0.1.key', TLS_DIR));

export interface FakePagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  /** As given, or generated for a trigger without one. */
  dedup_key: string;
  payload?: { summary: string; source: string; severity: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface FakeIncident {
  status: 'triggered' | 'resolved';
  /** Times it was opened (a trigger after a resolve re-opens it). */
  opened: number;
  resolved: number;
  /** Trigger events received for it, deduplicated ones included. */
  triggers: number;
}

export interface FakePagerDuty {
  /** `127.0.0.1:PORT`: PagerDutyTarget.server / pdjs `server`. */
  server: string;
  /** The CA certificate (PEM) to trust. */
  ca: string;
  /** Path of the same PEM, for NODE_EXTRA_CA_CERTS. */
  caPath: string;
  /** Accepted (202) events in order, deduplicated ones included. */
  events: FakePagerDutyEvent[];
  /** 400 answers given by validation: the error lists, in order. */
  invalid: string[][];
  incidents: Map<string, FakeIncident>;
  /** Triggers that hit an open incident. */
  readonly duplicates: number;
  /** Requests received, scripted and failed ones included. */
  readonly requests: number;
  /** TLS connections accepted: fewer than requests when the client keeps its connections alive. */
  readonly connections: number;
  script(responses: ScriptStep[]): void;
  /** Drop the scripted answers not used yet; returns how many there were. */
  unscript(): number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const ACTIONS = ['trigger', 'acknowledge', 'resolve'];

const json = (status: number, body: unknown): Answer => ({ status, body: JSON.stringify(body), contentType: 'application/json' });
const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** The error list PagerDuty would give for this body (empty when valid). */
export function validatePagerDutyEvent(body: unknown): string[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return ['Event object is not a JSON object'];
  const b = body as Record<string, unknown>;
  const errors: string[] = [];
  if (blank(b.routing_key)) errors.push("'routing_key' is missing or blank");
  else if (typeof b.routing_key !== 'string' || b.routing_key.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  if (blank(b.event_action)) errors.push("'event_action' is missing or blank");
  else if (!ACTIONS.includes(b.event_action as string)) errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
  if (b.dedup_key !== undefined && b.dedup_key !== null) {
    if (typeof b.dedup_key !== 'string') errors.push("'dedup_key' must be a string");
    else if (b.dedup_key.length > 255) errors.push("Length of 'dedup_key' is too long (maximum is 255 characters)");
  }
  if ((b.event_action === 'acknowledge' || b.event_action === 'resolve') && blank(b.dedup_key)) errors.push("'dedup_key' is missing or blank");
  if (b.event_action === 'trigger') {
    const p = b.payload;
    if (!p || typeof p !== 'object' || Array.isArray(p)) errors.push("'payload' is missing or blank");
    else {
      const pl = p as Record<string, unknown>;
      if (blank(pl.summary)) errors.push("'payload.summary' is missing or blank");
      else if (typeof pl.summary !== 'string') errors.push("'payload.summary' must be a string");
      else if (pl.summary.length > 1024) errors.push("Length of 'payload.summary' is too long (maximum is 1024 characters)");
      if (blank(pl.source)) errors.push("'payload.source' is missing or blank");
      if (blank(pl.severity)) errors.push("'payload.severity' is missing or blank");
      else if (!SEVERITIES.includes(pl.severity as string)) {
        errors.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')");
      }
    }
  }
  return errors;
}

/** The self-signed certificate for 127.0.0.1 (and its key) the HTTPS fakes serve with; FAKE_PD_CERT_PATH trusts it. */
export function loopbackTls(): { cert: string; key: string } {
  return { cert: readFileSync(FAKE_PD_CERT_PATH, 'utf8'), key: readFileSync(FAKE_PD_KEY_PATH, 'utf8') };
}

export async function startFakePagerDuty(): Promise<FakePagerDuty> {
  const { cert, key } = loopbackTls();
  const events: FakePagerDutyEvent[] = [];
  const invalid: string[][] = [];
  const incidents = new Map<string, FakeIncident>();
  let duplicates = 0;

  const invalidEvent = (errors: string[]) => {
    invalid.push(errors);
    return json(400, { status: 'invalid event', message: 'Event object is invalid', errors });
  };

  const handle = (ex: Exchange): Answer => {
    if (ex.path !== '/v2/enqueue') return json(404, { status: 'not found', message: `no route for ${ex.path}` });
    if (ex.method !== 'POST') return json(405, { status: 'method not allowed', message: 'use POST' });
    let body: unknown;
    try {
      body = JSON.parse(ex.body);
    } catch {
      return invalidEvent(['Malformed JSON in request body']);
    }
    const errors = validatePagerDutyEvent(body);
    if (errors.length > 0) return invalidEvent(errors);
    const b = body as FakePagerDutyEvent;
    const dedupKey = typeof b.dedup_key === 'string' && b.dedup_key !== '' ? b.dedup_key : randomUUID().replace(/-/g, '');
    events.push({ ...b, dedup_key: dedupKey });
    const inc = incidents.get(dedupKey);
    if (b.event_action === 'trigger') {
      if (inc?.status === 'triggered') {
        inc.triggers++;
        duplicates++;
      } else if (inc) {
        inc.status = 'triggered';
        inc.opened++;
        inc.triggers++;
      } else {
        incidents.set(dedupKey, { status: 'triggered', opened: 1, resolved: 0, triggers: 1 });
      }
    } else if (b.event_action === 'resolve' && inc?.status === 'triggered') {
      inc.status = 'resolved';
      inc.resolved++;
    }
    return json(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  };

  const scripted = await startScriptedServer({
    tls: { key, cert },
    handle,
    scriptedAnswer: (status) =>
      status === 429
        ? json(429, { status: 'throttle event', message: 'Requests for this service are arriving too quickly. Please retry later.' })
        : status >= 500
          ? json(status, { status: 'error', message: 'Internal Server Error' })
          : status === 400
            ? json(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['scripted'] })
            : json(status, { status: 'error', message: `HTTP ${status}` }),
  });

  return {
    server: `127.0.0.1:${scripted.port}`,
    ca: cert,
    caPath: FAKE_PD_CERT_PATH,
    events,
    invalid,
    incidents,
    get duplicates() {
      return duplicates;
    },
    get requests() {
      return scripted.requests;
    },
    get connections() {
      return scripted.connections;
    },
    script: (s) => scripted.script(s),
    unscript: () => scripted.unscript(),
    down: () => scripted.down(),
    up: () => scripted.up(),
    close: () => scripted.close(),
  };
}
