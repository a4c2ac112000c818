/**
 * Test support: the loopback HTTP(S) server under the fake PagerDuty and fake Slack receivers, with
 * fault injection. Each request is read in full, then the next scripted step (if any) decides:
 * - none, or `{ status: 2xx, delayMs? }`: normal handling (the receiver processes the request and
 *   answers as it would; a scripted 2xx status or body is not used), the answer sent after `delayMs` (a delay longer than the client's timeout = processed but unanswered),
 *   or when the promise `until()` returns, called as the request has arrived, settles (a test holds
 *   the answer while it starts something else);
 * - `{ status: >= 300, retryAfter?, body?, delayMs? }`: answered with that status (plus a
 *   `Retry-After: <retryAfter>` header; `body` defaults to the receiver's usual body for that status)
 *   after `delayMs`, WITHOUT processing the request;
 * - `hang: true` (whatever the status): processed normally (recorded if valid), then never answered: models an
 *   ambiguous timeout on the client's side;
 * - `'down'`: the connection is destroyed without an answer and the request is NOT processed (a
 *   receiver crashing mid-request: the client sees a reset after it sent its request).
 * `down()` stops listening (connections refused) and drops open connections; `up()` listens again on
 * the SAME port.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export type ScriptStep = { status: number; retryAfter?: number; body?: string; delayMs?: number; until?: () => Promise<unknown>; hang?: boolean } | 'down';

export interface Exchange {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Answer {
  status: number;
  body: string;
  contentType?: string;
  /** the request is processed now, its answer sent when this settles (a fake holding answers until others arrive) */
  hold?: Promise<unknown>;
}

export interface ScriptedServerOptions {
  tls?: { key: string; cert: string };
  /** Process a request (record it, change state) and say how to answer. */
  handle(ex: Exchange): Answer;
  /** The answer to a scripted status without a `body`. */
  scriptedAnswer(status: number): Answer;
}

export interface ScriptedServer {
  port: number;
  /** Requests received, scripted ones included. */
  readonly requests: number;
  /** Connections accepted (TLS ones once their handshake is done): fewer than requests when a client keeps them alive. */
  readonly connections: number;
  /** Requests whose body is still arriving: processed (recorded) once it has. */
  readonly receiving: number;
  script(steps: ScriptStep[]): void;
  /** Drop the scripted steps not used yet; returns how many there were. */
  unscript(): number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startScriptedServer(opts: ScriptedServerOptions): Promise<ScriptedServer> {
  const steps: ScriptStep[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;
  /** requests whose body is still arriving (not processed yet) */
  let receiving = 0;

  const reply = (res: ServerResponse, a: Answer, extra: Record<string, string>, delayMs = 0, until?: Promise<unknown>) => {
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(a.status, { 'Content-Type': a.contentType ?? 'text/plain; charset=utf-8', ...extra });
      res.end(a.body);
    };
    if (until) void until.finally(send);
    else if (delayMs > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, delayMs);
      timers.add(t);
    } else send();
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    receiving++;
    let received = false;
    const done = () => {
      if (!received) receiving--;
      received = true;
    };
    req.on('close', done);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      done();
      const ex: Exchange = {
        method: req.method ?? 'GET',
        path: (req.url ?? '/').split('?')[0],
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const step = steps.shift();
      if (step === 'down') {
        req.socket.destroy();
        return;
      }
      if (step?.hang) {
        opts.handle(ex);
        return; // never answered; close()/down() drop the connection
      }
      if (step && step.status < 300 && step.body !== undefined) {
        // a success with a body of the script's choosing (an answer the client does not expect), not processed
        reply(res, { status: step.status, body: step.body, contentType: 'application/json' }, {}, step.delayMs, step.until?.());
        return;
      }
      if (step && step.status >= 300) {
        const a = step.body !== undefined ? { ...opts.scriptedAnswer(step.status), body: step.body } : opts.scriptedAnswer(step.status);
        const extra: Record<string, string> = step.retryAfter !== undefined ? { 'Retry-After': String(step.retryAfter) } : {};
        reply(res, { ...a, status: step.status }, extra, step.delayMs, step.until?.());
        return;
      }
      const a = opts.handle(ex);
      reply(res, a, {}, step?.delayMs, step?.until?.() ?? a.hold);
    });
  };

  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest) : createHttpServer(onRequest);
  let connections = 0;
  server.on(opts.tls ? 'secureConnection' : 'connection', () => connections++);
  const { listen, stop, isListening } = loopback(server, timers);

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get receiving() {
      return receiving;
    },
    script(s) {
      steps.push(...s);
    },
    unscript() {
      return steps.splice(0).length;
    },
    down: stop,
    async up() {
      if (!isListening()) await listen(port);
    },
    close: stop,
  };
}

/** Listen on 127.0.0.1 (port 0: any free one) and stop again (timers cleared, open connections dropped): shared by the loopback fakes. */
export function loopback(server: Server, timers: Set<NodeJS.Timeout>): { listen(port: number): Promise<void>; stop(): Promise<void>; isListening(): boolean } {
  let listening = false;
  return {
    isListening: () => listening,
    listen: (port) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          listening = true;
          resolve();
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        if (!listening) return resolve();
        listening = false;
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
