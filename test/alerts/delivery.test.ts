/**
 * Alert delivery (src/alerts/delivery/) against the fake receivers, through the REAL libraries
 * (`@pagerduty/pdjs` over HTTPS with the fixture certificate, `@slack/webhook`), no mocks: acceptance,
 * rejection with the receiver's message, 429 + Retry-After, 5xx, a receiver down then up, the deadline,
 * ambiguous timeouts (PagerDuty retries them, dedup keeps one incident; Slack does not retry them),
 * summary truncation, secrets never in errors, NODE_EXTRA_CA_CERTS in a spawned process, and the
 * RateLimiter. Small policies keep the whole file to a few seconds.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { REPO } from '../helpers.js';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { sendPagerDuty } from '../../src/alerts/delivery/pagerduty.js';
import { sendSlack } from '../../src/alerts/delivery/slack.js';
import { startFakeSlackApi } from '../support/fake-slack-api.js';
import { RateLimiter, type Clock } from '../../src/alerts/delivery/rate-limit.js';
import type { DeliveryPolicy, DeliveryResult, PagerDutyEvent, PagerDutyTarget, SendOptions } from '../../src/alerts/delivery/types.js';

// a 5 s budget: room for a loaded machine in the cases that succeed; the cases about the deadline set their own
const POLICY: DeliveryPolicy = { baseDelayMs: 50, maxDelayMs: 400, deadlineMs: 5000, timeoutMs: 500 };
const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefABCDEF';

/** Every result returned in this file, checked for secrets at the end. */
const results: DeliveryResult[] = [];
const retries: Array<{ attempt: number; delayMs: number; reason: string }> = [];
const opts: SendOptions = { onRetry: (i) => retries.push(i) };

function trigger(dedupKey: string, summary = `checkout error rate above 5% (${dedupKey})`): PagerDutyEvent {
  return { event_action: 'trigger', dedup_key: dedupKey, payload: { summary, source: 'vigil', severity: 'critical' } };
}

async function timed<T>(p: Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const r = await p;
  return [r, Date.now() - t0];
}

describe('sendPagerDuty (pdjs against the fake Events API v2)', () => {
  let pd: FakePagerDuty;
  let target: PagerDutyTarget;
  const send = async (ev: PagerDutyEvent, policy = POLICY, t: PagerDutyTarget = target) => {
    const r = await sendPagerDuty(t, ev, policy, opts);
    results.push(r);
    return r;
  };

  beforeAll(async () => {
    pd = await startFakePagerDuty();
    target = { routingKey: ROUTING_KEY, server: pd.server, ca: pd.ca };
  });
  afterAll(() => pd.close());
  beforeEach(() => {
    retries.length = 0;
    // a test that failed half-way must not hand its unused script to the next one
    pd.unscript();
  });

  it('trigger then resolve: both accepted, one incident opened once and resolved once', async () => {
    const before = pd.requests;
    expect(await send(trigger('orders-1'))).toEqual({ status: 'sent', httpStatus: 202, attempts: 1 });
    expect(await send({ event_action: 'resolve', dedup_key: 'orders-1' })).toEqual({ status: 'sent', httpStatus: 202, attempts: 1 });
    expect(pd.requests - before).toBe(2);
    expect(pd.incidents.get('orders-1')).toEqual({ status: 'resolved', opened: 1, resolved: 1, triggers: 1 });
    const sent = pd.events.filter((e) => e.dedup_key === 'orders-1');
    expect(sent.map((e) => [e.event_action, e.routing_key])).toEqual([
      ['trigger', ROUTING_KEY],
      ['resolve', ROUTING_KEY],
    ]);
    expect(sent[0].payload).toMatchObject({ source: 'vigil', severity: 'critical' });
  });

  it('events one after another reuse one kept-alive connection (was: a TLS handshake per event); one the server dropped is retried on a new one', async () => {
    const before = { requests: pd.requests, connections: pd.connections };
    for (let i = 0; i < 10; i++) expect(await send(trigger(`kept-${i}`))).toEqual({ status: 'sent', httpStatus: 202, attempts: 1 });
    expect(pd.requests - before.requests).toBe(10);
    // (one kept from the tests before, or one new)
    expect(pd.connections - before.connections).toBeLessThanOrEqual(1);
    // the server drops the kept connection as the next event arrives on it: retried, sent once
    pd.script(['down']);
    const r = await send(trigger('kept-dropped'));
    expect(r).toMatchObject({ status: 'sent', httpStatus: 202, attempts: 2 });
    expect(pd.incidents.get('kept-dropped')).toEqual({ status: 'triggered', opened: 1, resolved: 0, triggers: 1 });
  });

  it('a 400 is rejected with PagerDuty\'s message and errors, and not retried', async () => {
    const before = pd.requests;
    const bad = { ...trigger('bad-1'), payload: { summary: 'x', source: 'vigil', severity: 'fatal' } } as unknown as PagerDutyEvent;
    const r = await send(bad);
    expect(r).toMatchObject({ status: 'rejected', httpStatus: 400, attempts: 1 });
    expect(r.status === 'rejected' && r.error).toMatch(/Event object is invalid: 'payload\.severity' is invalid/);
    expect(pd.requests - before).toBe(1);
    expect(retries).toEqual([]);
    expect(pd.incidents.has('bad-1')).toBe(false);
  });

  it('a 429 burst with Retry-After: 1 then success: every 429 waits its Retry-After (was: pdjs retried 3 times at once, ignoring it)', async () => {
    const before = pd.requests;
    const at: number[] = [];
    const sendTimes = { onRetry: (i: { attempt: number; delayMs: number; reason: string }) => (retries.push(i), at.push(Date.now())) };
    pd.script([1, 2].map(() => ({ status: 429, retryAfter: 1 })));
    const t0 = Date.now();
    const r = await sendPagerDuty(target, trigger('burst-1'), POLICY, sendTimes);
    results.push(r);
    const ms = Date.now() - t0;
    expect(r).toEqual({ status: 'sent', httpStatus: 202, attempts: 3 });
    expect(pd.requests - before).toBe(3);
    const reason = expect.stringMatching(/rate limit \(HTTP 429\)/);
    expect(retries).toEqual([
      { attempt: 1, delayMs: 1000, reason },
      { attempt: 2, delayMs: 1000, reason },
    ]);
    // each retry a second after the 429 before it, never sooner
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(1000 - 20);
    expect(ms).toBeGreaterThanOrEqual(2000 - 20);
    expect(pd.incidents.get('burst-1')?.opened).toBe(1);
  });

  it('500 twice then 202: sent on the third attempt, backing off in between', async () => {
    pd.script([{ status: 500 }, { status: 500 }]);
    const r = await send(trigger('flaky-1'));
    expect(r).toEqual({ status: 'sent', httpStatus: 202, attempts: 3 });
    expect(retries.map((x) => x.reason)).toEqual([expect.stringContaining('HTTP 500'), expect.stringContaining('HTTP 500')]);
    expect(retries[0].delayMs).toBeGreaterThanOrEqual(25);
    expect(retries[0].delayMs).toBeLessThanOrEqual(50);
    expect(retries[1].delayMs).toBeGreaterThanOrEqual(50);
    expect(retries[1].delayMs).toBeLessThanOrEqual(100);
    expect(pd.incidents.get('flaky-1')?.opened).toBe(1);
  });

  it('a 502 with a non-JSON body (a proxy page) is still seen as a 502 and retried', async () => {
    pd.script([{ status: 502, body: '<html><body>502 Bad Gateway</body></html>' }]);
    const r = await send(trigger('proxy-1'));
    expect(r).toEqual({ status: 'sent', httpStatus: 202, attempts: 2 });
    expect(retries[0].reason).toMatch(/HTTP 502.*not JSON/);
  });

  /** The receiver stopped, its kept connections closed, and the client's idle ones seen closed (a receiver down a while). */
  const down = async () => {
    await pd.down();
    await new Promise((ok) => setTimeout(ok, 50));
  };

  it('receiver down for ~1.5 s then up: sent', async () => {
    await down();
    const upAgain = new Promise<void>((resolve) => setTimeout(() => void pd.up().then(resolve), 1500));
    const [r, ms] = await timed(send(trigger('down-1')));
    await upAgain;
    expect(r).toMatchObject({ status: 'sent', httpStatus: 202 });
    expect(r.attempts).toBeGreaterThan(2);
    expect(ms).toBeGreaterThanOrEqual(1450);
    expect(retries[0].reason).toMatch(/ECONNREFUSED/);
    expect(pd.incidents.get('down-1')?.opened).toBe(1);
  });

  it('deadline spent while the receiver is down: retry, not ambiguous', async () => {
    await down();
    try {
      // refused at once, retried after 50, 100, 200, 400 ms while 500 ms (the request timeout)
      // remain after the wait: ~4 attempts in 1.5 s, at least 3 on a loaded machine
      const [r, ms] = await timed(send(trigger('down-2'), { ...POLICY, deadlineMs: 1500 }));
      expect(r).toMatchObject({ status: 'retry', ambiguous: false });
      expect(r.status === 'retry' && r.error).toMatch(/ECONNREFUSED.*gave up after \d+ attempts/);
      expect(r.attempts).toBeGreaterThan(2);
      expect(ms).toBeLessThan(1500 + 200);
    } finally {
      await pd.up();
    }
    expect(pd.incidents.has('down-2')).toBe(false);
  });

  it('no retry is started that the deadline would cut off: slow 500s give up cleanly (retry, not ambiguous)', async () => {
    // each 500 takes 1 s and a retry needs 1 s (min(request timeout, 1 s)) left after its wait: after
    // the first one ~1.75 s of the 2.8 s budget are left (a second request fits, 0.75 s to spare on a
    // loaded machine); after the second ~0.7 s: a third would be cut off after it went out, and an
    // answer-less request is an uncertain one (a slower machine only leaves less)
    pd.script(Array.from({ length: 5 }, () => ({ status: 500, delayMs: 1000 })));
    const r = await send(trigger('slow-500'), { ...POLICY, baseDelayMs: 50, maxDelayMs: 50, timeoutMs: 1500, deadlineMs: 2800 });
    expect(r).toMatchObject({ status: 'retry', ambiguous: false, httpStatus: 500, attempts: 2 });
    expect(r.status === 'retry' && r.error).toMatch(/HTTP 500.*gave up after 2 attempts/);
    expect(pd.unscript()).toBe(3);
  });

  it('a hang (processed, never answered) times out and is retried: dedup keeps ONE incident', async () => {
    pd.script([{ status: 202, hang: true }]);
    const [r, ms] = await timed(send(trigger('hang-1')));
    expect(r).toEqual({ status: 'sent', httpStatus: 202, attempts: 2 });
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(retries[0].reason).toMatch(/no answer within 500 ms/);
    expect(pd.incidents.get('hang-1')).toEqual({ status: 'triggered', opened: 1, resolved: 0, triggers: 2 });
    expect(pd.events.filter((e) => e.dedup_key === 'hang-1')).toHaveLength(2);
  });

  it('a connection reset after the request was sent is retried (dedup makes it safe)', async () => {
    pd.script(['down']);
    const r = await send(trigger('reset-1'));
    expect(r).toEqual({ status: 'sent', httpStatus: 202, attempts: 2 });
    expect(retries[0].reason).toMatch(/socket hang up|ECONNRESET/);
    expect(pd.incidents.get('reset-1')).toEqual({ status: 'triggered', opened: 1, resolved: 0, triggers: 1 });
  });

  it('a hang until the deadline: retry, ambiguous', async () => {
    pd.script([{ status: 202, hang: true }]);
    // (a request timeout of 1.5 s: on a loaded machine the request may not even be written
    // within 500 ms, which is a timeout before sending, rightly not ambiguous)
    const r = await send(trigger('hang-2'), { ...POLICY, timeoutMs: 1500, deadlineMs: 1520 });
    expect(r).toMatchObject({ status: 'retry', ambiguous: true, attempts: 1 });
    expect(pd.incidents.get('hang-2')?.opened).toBe(1);
  });

  it('a summary of 3000 characters arrives cut to 1024, ending with an ellipsis', async () => {
    const r = await send(trigger('long-1', 'x'.repeat(3000)));
    expect(r.status).toBe('sent');
    const got = pd.events.find((e) => e.dedup_key === 'long-1')!.payload!.summary;
    expect(got).toHaveLength(1024);
    expect(got).toBe(`${'x'.repeat(1023)}…`);
  });

  it('an event over 512 KB (queued by an older Vigil) arrives without its custom_details, and says so (was: posted whole, 600 KB)', async () => {
    const warnings: string[] = [];
    const ev = trigger('huge-1');
    ev.payload!.custom_details = { row: { blob: 'y'.repeat(600_000) } };
    const r = await sendPagerDuty(target, ev, POLICY, { ...opts, onWarning: (m) => warnings.push(m) });
    results.push(r);
    expect(r.status).toBe('sent');
    const got = pd.events.find((e) => e.dedup_key === 'huge-1')!;
    expect(Buffer.byteLength(JSON.stringify(got))).toBeLessThanOrEqual(512_000);
    expect(got.payload!.custom_details).toEqual({ error: 'Custom details have been removed because the original event exceeds the maximum size of 512KB' });
    expect(warnings).toEqual([expect.stringMatching(/^the PagerDuty event of dedup_key huge-1 is 600,\d{3} bytes, over PagerDuty's limit of 512 KB/)]);
    // one under the limit goes as it is, silently
    const small = trigger('huge-2');
    small.payload!.custom_details = { row: { blob: 'y'.repeat(400_000) } };
    expect((await send(small)).status).toBe('sent');
    expect((pd.events.find((e) => e.dedup_key === 'huge-2')!.payload!.custom_details as { row: { blob: string } }).row.blob).toHaveLength(400_000);
    expect(warnings).toHaveLength(1);
  });

  it('a Retry-After past the deadline gives up at once, after one request', async () => {
    const before = pd.requests;
    pd.script([1, 2, 3, 4].map(() => ({ status: 429, retryAfter: 120 })));
    const [r, ms] = await timed(send(trigger('slow-1')));
    expect(r).toMatchObject({ status: 'retry', httpStatus: 429, ambiguous: false, attempts: 1 });
    expect(r.status === 'retry' && r.error).toMatch(/Retry-After 120 s is past the delivery deadline\); gave up after 1 attempt /);
    expect(pd.requests - before).toBe(1);
    expect(pd.unscript()).toBe(3); // not asked again while PagerDuty said to wait
    expect(ms).toBeLessThan(1000);
  });

  it('the routing key never appears in an error, even when the receiver echoes it', async () => {
    pd.script([{ status: 400, body: JSON.stringify({ status: 'invalid event', message: `unknown routing key ${ROUTING_KEY}`, errors: [`key=${ROUTING_KEY}`] }) }]);
    const r = await send(trigger('echo-1'));
    expect(r.status).toBe('rejected');
    const error = r.status === 'rejected' ? r.error : '';
    expect(error).not.toContain(ROUTING_KEY);
    expect(error).toContain('unknown routing key <redacted:routing_key>');
    // an unknown routing key of the wrong length: PagerDuty's own validation
    const short = await send(trigger('echo-2'), POLICY, { ...target, routingKey: 'short-key-123' });
    expect(short).toMatchObject({ status: 'rejected', httpStatus: 400 });
    expect(short.status === 'rejected' && short.error).toMatch(/Length of 'routing_key' is incorrect/);
  });

  it("a receiver's answer cut to fit the error is redacted before the cut (was: the routing key's first characters where the cut fell)", async () => {
    // a proxy's page echoing the request, the key across the 600th character of the message
    pd.script([{ status: 400, body: JSON.stringify({ message: `${'x'.repeat(590)}${ROUTING_KEY} was refused` }) }]);
    const r = await send(trigger('cut-1'));
    expect(r.status).toBe('rejected');
    const error = r.status === 'rejected' ? r.error : '';
    expect(error).toMatch(/^PagerDuty rejected the event \(HTTP 400\): x{590}<redacted…$/);
    expect(error).not.toContain(ROUTING_KEY.slice(0, 8));
  });

  it('without the CA the TLS failure is reported at once, as retry', async () => {
    const [r, ms] = await timed(send(trigger('tls-1'), POLICY, { routingKey: ROUTING_KEY, server: pd.server }));
    expect(r).toMatchObject({ status: 'retry', ambiguous: false, attempts: 1 });
    expect(r.status === 'retry' && r.error).toMatch(/TLS verification failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/);
    expect(ms).toBeLessThan(1000);
  });

  it('a spawned process trusts the fake through NODE_EXTRA_CA_CERTS (pdjs / node-fetch, bundled like the CLI)', async () => {
    // bundle the real sender as scripts/build.mjs does (pdjs external, loaded by Node's ESM loader)
    const out = await build({
      entryPoints: [`${REPO}/src/alerts/delivery/pagerduty.ts`],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: ['@pagerduty/pdjs', '@slack/webhook'],
      logLevel: 'silent',
    });
    const code = `${out.outputFiles[0].text}
const r = await sendPagerDuty(${JSON.stringify({ routingKey: ROUTING_KEY, server: pd.server })}, ${JSON.stringify(trigger('spawned-1'))}, ${JSON.stringify(POLICY)});
console.log(JSON.stringify(r));`;
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module'], { cwd: REPO, env: { ...process.env, ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        child.on('close', (c) => resolve({ code: c, stdout, stderr }));
        child.stdin.end(code);
      });
    const ok = await run({ NODE_EXTRA_CA_CERTS: pd.caPath });
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout)).toEqual({ status: 'sent', httpStatus: 202, attempts: 1 });
    expect(pd.incidents.get('spawned-1')?.opened).toBe(1);
    const { NODE_EXTRA_CA_CERTS: _drop, ...envWithout } = process.env;
    void _drop;
    const refused = await new Promise<{ stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module'], { cwd: REPO, env: envWithout });
      let stdout = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.on('close', () => resolve({ stdout }));
      child.stdin.end(code);
    });
    expect(JSON.parse(refused.stdout)).toMatchObject({ status: 'retry', error: expect.stringMatching(/TLS verification failed/) });
  });
});

describe('sendSlack (@slack/webhook against the fake incoming webhook)', () => {
  let slack: FakeSlack;
  const send = async (text: string, policy = POLICY, extra: Record<string, unknown> = {}) => {
    const r = await sendSlack({ url: slack.url }, { text, ...extra }, policy, opts);
    results.push(r);
    return r;
  };

  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(() => slack.close());
  beforeEach(() => {
    retries.length = 0;
    // a test that failed half-way must not hand its unused script to the next one
    slack.unscript();
  });

  it('an accepted message, blocks included', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*orders* error rate 7%' } }];
    expect(await send('orders error rate 7%', POLICY, { blocks })).toEqual({ status: 'sent', httpStatus: 200, attempts: 1 });
    expect(slack.messages.at(-1)).toEqual({ text: 'orders error rate 7%', blocks });
  });

  it('429 with Retry-After: 1 is honoured, then sent', async () => {
    const n = slack.messages.length;
    slack.script([{ status: 429, retryAfter: 1 }]);
    const [r, ms] = await timed(send('after the rate limit'));
    expect(r).toEqual({ status: 'sent', httpStatus: 200, attempts: 2 });
    expect(ms).toBeGreaterThanOrEqual(980);
    expect(ms).toBeLessThan(2000);
    expect(retries).toEqual([{ attempt: 1, delayMs: 1000, reason: 'Slack HTTP 429 rate_limited' }]);
    expect(slack.messages.length - n).toBe(1);
  });

  it('500 then ok: sent on the second attempt', async () => {
    slack.script([{ status: 500 }]);
    expect(await send('after a 500')).toEqual({ status: 'sent', httpStatus: 200, attempts: 2 });
    expect(retries[0].reason).toBe('Slack HTTP 500 rollup_error');
  });

  it('down for ~1 s then up: the connection refusals are retried, sent once', async () => {
    const n = slack.messages.length;
    await slack.down();
    setTimeout(() => void slack.up(), 1000);
    const r = await send('after an outage');
    expect(r).toMatchObject({ status: 'sent', httpStatus: 200 });
    expect(r.attempts).toBeGreaterThan(2);
    expect(slack.messages.length - n).toBe(1);
  });

  it('no retry is started that the deadline would cut off: slow 500s give up cleanly (pending, not uncertain)', async () => {
    const before = slack.requests;
    // as for PagerDuty above: a second request fits with 0.75 s to spare, a third would not
    slack.script(Array.from({ length: 5 }, () => ({ status: 500, delayMs: 1000 })));
    const r = await send('slow 500s', { ...POLICY, baseDelayMs: 50, maxDelayMs: 50, timeoutMs: 1500, deadlineMs: 2800 });
    expect(r).toMatchObject({ status: 'retry', ambiguous: false, httpStatus: 500, attempts: 2 });
    expect(r.status === 'retry' && r.error).toMatch(/gave up after 2 attempts/);
    expect(slack.requests - before).toBe(2);
    expect(slack.unscript()).toBe(3);
  });

  it('a hang (posted, never answered) is ambiguous: retry, ambiguous, and NOT retried blindly', async () => {
    const n = slack.messages.length;
    const before = slack.requests;
    slack.script([{ status: 200, hang: true }]);
    const [r, ms] = await timed(send('maybe posted'));
    expect(r).toMatchObject({ status: 'retry', ambiguous: true, attempts: 1 });
    expect(r.status === 'retry' && r.error).toMatch(/no answer within 500 ms after the request was sent/);
    expect(ms).toBeLessThan(1000);
    expect(slack.requests - before).toBe(1);
    expect(slack.messages.length - n).toBe(1);
    expect(retries).toEqual([]);
  });

  it('a reset after the request was sent is ambiguous too', async () => {
    const before = slack.requests;
    slack.script(['down']);
    const r = await send('reset');
    expect(r).toMatchObject({ status: 'retry', ambiguous: true, attempts: 1 });
    expect(slack.requests - before).toBe(1);
  });

  it('400 invalid_payload / no_text / invalid_blocks are rejected with Slack\'s body', async () => {
    slack.script([{ status: 400, body: 'invalid_payload' }]);
    expect(await send('scripted')).toEqual({ status: 'rejected', httpStatus: 400, attempts: 1, error: 'Slack rejected the message (HTTP 400): invalid_payload' });
    expect(await send('')).toEqual({ status: 'rejected', httpStatus: 400, attempts: 1, error: 'Slack rejected the message (HTTP 400): no_text' });
    expect(await send('bad blocks', POLICY, { blocks: [{ text: 'no type' }] })).toMatchObject({ status: 'rejected', error: expect.stringContaining('invalid_blocks') });
    expect(retries).toEqual([]);
  });

  it('an unknown webhook is rejected 404 no_service, and the URL is never in the error', async () => {
    const wrong = slack.url.replace(slack.token, 'a'.repeat(24));
    const r = await sendSlack({ url: wrong }, { text: 'x' }, POLICY);
    results.push(r);
    expect(r).toEqual({ status: 'rejected', httpStatus: 404, attempts: 1, error: 'Slack rejected the message (HTTP 404): no_service' });
    expect(JSON.stringify(r)).not.toContain(wrong);
  });

  it('deadline spent while down: retry, not ambiguous, no URL in the error', async () => {
    await slack.down();
    try {
      const r = await send('into the void', { ...POLICY, deadlineMs: 600 });
      expect(r).toMatchObject({ status: 'retry', ambiguous: false });
      // how many attempts fit in 600 ms depends on the machine's load (one was seen on a busy
      // runner): the count is named, singular or plural, whatever it is
      expect(r.status === 'retry' && r.error).toMatch(/ECONNREFUSED.*gave up after (1 attempt|[2-9]\d* attempts|1\d+ attempts) in /);
    } finally {
      await slack.up();
    }
  });

  it("a 2xx whose body is the Web API's {ok:false} (a chat.postMessage URL as the webhook) is not sent: refused, rate limited or unknown as bot mode reads it", async () => {
    const api = await startFakeSlackApi();
    try {
      const url = `${api.url}chat.postMessage`;
      const post = async () => {
        const r = await sendSlack({ url }, { text: 'posted?' }, POLICY, opts);
        results.push(r);
        return r;
      };
      // no token: Slack answers 200 {"ok":false,"error":"not_authed"} and posts nothing
      expect(await post()).toEqual({ status: 'rejected', httpStatus: 200, attempts: 1, error: 'Slack rejected the message (HTTP 200, ok: false): not_authed' });
      api.script([{ method: 'chat.postMessage', error: 'ratelimited' }]);
      expect(await post()).toEqual({ status: 'retry', httpStatus: 200, attempts: 1, error: 'Slack rate limit (HTTP 200, ok: false)', ambiguous: false });
      // Slack's internal_error may or may not have posted: uncertain, as in bot mode
      api.script([{ method: 'chat.postMessage', error: 'internal_error' }]);
      expect(await post()).toEqual({ status: 'retry', httpStatus: 200, attempts: 1, error: 'Slack answered internal_error (HTTP 200, ok: false)', ambiguous: true });
      expect(Object.values(api.messages).flat()).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it("an answer cut to fit the error is redacted before the cut (was: the webhook token's first characters where the cut fell)", async () => {
    // a proxy echoing the request's path, the token across the cut: 300 characters of a rejection, 200 of a retried 5xx
    slack.script([{ status: 403, body: `${'x'.repeat(280)}${new URL(slack.url).pathname} refused` }, { status: 502, body: `${'y'.repeat(180)}${new URL(slack.url).pathname} down` }]);
    const r = await send('cut', { ...POLICY, deadlineMs: 5000 });
    expect(r).toMatchObject({ status: 'rejected', httpStatus: 403 });
    expect(r.status === 'rejected' && r.error).toMatch(/^Slack rejected the message \(HTTP 403\): x{280}<redacted:/);
    expect(JSON.stringify(r)).not.toContain(slack.token.slice(0, 8));
    retries.length = 0;
    const r2 = await send('cut', { ...POLICY, deadlineMs: 5000 });
    expect(r2.status).toBe('sent');
    expect(retries.map((x) => x.reason)).toEqual([expect.stringMatching(/^Slack HTTP 502 y{180}<redacted:/)]);
    expect(JSON.stringify(retries)).not.toContain(slack.token.slice(0, 8));
  });

  it('no returned value of this file contains the webhook URL, its token or the routing key', () => {
    expect(results.length).toBeGreaterThan(20);
    const all = JSON.stringify(results);
    expect(all).not.toContain(slack.url);
    expect(all).not.toContain(slack.token);
    expect(all).not.toContain(ROUTING_KEY);
    expect(JSON.stringify(retries)).not.toContain(slack.token);
  });
});

describe('RateLimiter', () => {
  it('5 acquires at 2 per 200 ms take >= ~400 ms and are served in call order', async () => {
    const limiter = new RateLimiter(2, 200);
    const t0 = Date.now();
    const order: Array<[number, number]> = [];
    await Promise.all([0, 1, 2, 3, 4].map((i) => limiter.acquire().then(() => order.push([i, Date.now() - t0]))));
    expect(order.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
    const at = order.map(([, ms]) => ms);
    expect(at[1]).toBeLessThan(50);
    expect(at[2]).toBeGreaterThanOrEqual(195);
    expect(at[4]).toBeGreaterThanOrEqual(395);
    // (no upper bound in real time: on a loaded machine the timers fire late — 757 ms was seen
    // with a correct limiter; the fake-clock test below holds the exact times, no waiting too long)
  });

  it('spaces calls per a fake clock: never more than `limit` in any window', async () => {
    let now = 0;
    const clock: Clock = { now: () => now, sleep: async (ms) => void (now += ms) };
    const limiter = new RateLimiter(3, 1000, clock);
    const starts: number[] = [];
    for (let i = 0; i < 10; i++) {
      await limiter.acquire();
      starts.push(now);
      now += 10;
    }
    for (let i = 3; i < starts.length; i++) expect(starts[i] - starts[i - 3]).toBeGreaterThanOrEqual(1000);
    expect(starts.slice(0, 4)).toEqual([0, 10, 20, 1000]);
  });
});
