/**
 * Delivery soak: randomized fault injection, seeded and deterministic in its plan, through the
 * real CLI, judged from the receivers' own logs (real HTTP(S) servers on 127.0.0.1 speaking
 * PagerDuty Events v2, the Slack Web API and Slack incoming webhooks; see delivery-faults.test.ts
 * for the deterministic single-fault versions).
 *
 * Per variant (state in a file; state in the DuckDB warehouse) and per round:
 * - trigger phase: `vigil build --vars {round, n: high}` (every capability above the threshold),
 *   then RUNS `vigil alerts evaluate` runs, each one of: complete (with random faults), SIGKILLed
 *   at a random moment (0.1..1.3 x the measured duration of a clean run), or SIGKILLed right after
 *   a receiver accepted a message (its log grew; optionally that request hangs, so the kill lands
 *   inside the send window for sure). Before each run the fakes get 0..2 random scripted faults
 *   each (429 + Retry-After, 500/503, reset before processing, processed-then-reset, processed-then-
 *   hang, slow answers, history lookups failing; sometimes a receiver is down for the whole run).
 *   Leftover steps are drained after every run, so the budget is bounded and the settling is clean.
 * - resolve phase: the same with `n: low` (every capability below the threshold).
 * - settle (sometimes also between the phases): clean evaluations until nothing is unsettled; a
 *   webhook entry held `uncertain` is settled like a human would: look in the webhook's log whether
 *   its message arrived, then `vigil alerts outbox --drop ID` (it did) or `--retry ID` (it did not).
 *
 * Then, for every instance, from the fakes' logs:
 * - PagerDuty: one dedup_key per instance, exactly one incident (opened once, resolved once, ends
 *   resolved). Extra events: each SIGKILL can leave at most one chunk (SEND_CHUNK entries marked
 *   per save) `sending`, each resent once by the next run; each scripted processed-then-hang can
 *   cause at most one resend; nothing else reaches the fake twice (429/5xx/reset steps are not
 *   processed). So sum over keys of (events - 2) <= kills x SEND_CHUNK + PD hangs, and per key
 *   triggers <= 1 + kills + PD hangs of that round. The trigger count per key is reported.
 * - Slack: a message holds its whole group (Alertmanager's), so an instance's trigger is in every
 *   message of its group until it resolves. Every message (its set of (instance, action)) arrived
 *   exactly once: a group's messages differ, each one having a new alert or a resolve (no repeat
 *   is due in a soak), so a message seen twice is a double post. Every trigger arrived (never
 *   missing), every resolve exactly once, after the instance's first trigger, and no trigger
 *   after it.
 * - Slack bot: delivery ids unique too.
 * - Slack webhook (on_uncertain: hold): a duplicate would need Vigil to say "it may appear twice",
 *   which hold never does.
 * - Vigil: no pending/sending/uncertain/rejected entries at the end, no instance left; every
 *   finished run exited 0 or 1, no stack trace, no secret in any output.
 *
 * Which assertion catches which bug:
 * - the `sending` mark not saved before the request: a kill in the window leaves the entry
 *   `pending` (attempts not counted), the next run posts again: webhook count 2, bot duplicate.
 * - bot mode not looking in the history after an ambiguous answer (or before a re-post): bot
 *   duplicates after reset-after / 500-after-store / a kill.
 * - on_uncertain ignored for webhooks (resend): webhook duplicate (and "may appear twice").
 * - a resolve overtaking an unsettled trigger: webhook/bot order, or a PagerDuty incident that ends
 *   `triggered` (resolve of an unknown incident, then the trigger opens it).
 * - a lost notification (marked sent without a 2xx, dropped from the outbox): "missing" assertions.
 *
 * VIGIL_SOAK_SEED (default 20260601) fixes the plan; VIGIL_SOAK_ROUNDS (default 1) trigger/resolve
 * rounds per variant (fresh instance names each round); VIGIL_SOAK_RUNS (default 4) faulty runs per
 * phase. A failure prints the seed, the plan and the journal of runs.
 */
import { afterAll, describe, it, type ExpectStatic } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { makeProject, removeDir, vigil, VIGIL } from '../helpers.js';
import { startFakeSlackApi, FAKE_SLACK_DEFAULT_CHANNEL, type FakeSlackApi, type FakeSlackApiStep } from '../support/fake-slack-api.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';
import type { ScriptStep } from '../support/scripted-server.js';
import { SEND_CHUNK } from '../../src/alerts/evaluate.js';

const SEED = Number(process.env.VIGIL_SOAK_SEED ?? 20260601) >>> 0;
const ROUNDS = Math.max(1, Number(process.env.VIGIL_SOAK_ROUNDS ?? 1));
const RUNS = Math.max(2, Number(process.env.VIGIL_SOAK_RUNS ?? 4));
const DELIVERY_TIMEOUT = '3s';
const SETTLE_CAP = 10;
const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefS0AK00'; // 32 characters
const CH = FAKE_SLACK_DEFAULT_CHANNEL;
const LETTERS = 'abcdef';

// ---- a small seeded PRNG -------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
function shuffle<T>(r: Rng, xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ---- the fault menus -----------------------------------------------------------------------

type Receiver = 'pd' | 'bot' | 'hook';
const RECEIVERS: Receiver[] = ['pd', 'bot', 'hook'];
type Fault = { label: string; pd?: ScriptStep; hook?: ScriptStep; bot?: FakeSlackApiStep };

const PD_FAULTS: Fault[] = [
  { label: 'pd:429', pd: { status: 429, retryAfter: 1 } },
  { label: 'pd:500', pd: { status: 500 } },
  { label: 'pd:503', pd: { status: 503 } },
  { label: 'pd:reset', pd: 'down' }, // not processed, the client sees a reset after sending
  { label: 'pd:hang', pd: { status: 202, hang: true } }, // processed, never answered
  { label: 'pd:slow', pd: { status: 202, delayMs: 400 } },
];
const HOOK_FAULTS: Fault[] = [
  { label: 'hook:429', hook: { status: 429, retryAfter: 1 } },
  { label: 'hook:500', hook: { status: 500 } },
  { label: 'hook:reset', hook: 'down' }, // ambiguous for the client, NOT posted
  { label: 'hook:hang', hook: { status: 200, hang: true } }, // posted, never answered
  { label: 'hook:slow', hook: { status: 200, delayMs: 400 } },
];
const BOT_FAULTS: Fault[] = [
  { label: 'bot:429', bot: { method: 'chat.postMessage', status: 429, retryAfter: 1 } },
  { label: 'bot:500', bot: { method: 'chat.postMessage', status: 500 } },
  { label: 'bot:500-stored', bot: { method: 'chat.postMessage', status: 500, afterStore: true } },
  { label: 'bot:reset-before', bot: { method: 'chat.postMessage', reset: 'before' } },
  { label: 'bot:reset-after', bot: { method: 'chat.postMessage', reset: 'after' } },
  { label: 'bot:internal_error', bot: { method: 'chat.postMessage', error: 'internal_error' } },
  { label: 'bot:internal_error-stored', bot: { method: 'chat.postMessage', error: 'internal_error', afterStore: true } },
  { label: 'bot:history-500', bot: { method: 'conversations.history', status: 500 } },
  { label: 'bot:history-reset', bot: { method: 'conversations.history', reset: 'before' } },
];
/** Every variant's plan has these at least once (the ambiguous ones: where doubles come from). */
const MUST_HAVE = ['pd:hang', 'hook:hang', 'hook:reset', 'bot:reset-after', 'bot:500-stored'];
const ALL_FAULTS = [...PD_FAULTS, ...HOOK_FAULTS, ...BOT_FAULTS];

type Kind = 'complete' | 'kill-random' | 'kill-accept';
interface RunPlan {
  kind: Kind;
  /** kill-random: when, as a fraction of a clean run's duration */
  killAt?: number;
  /** kill-accept: receivers in order of preference (the first one with something left to receive) */
  targets?: Receiver[];
  /** kill-accept: the target's first request is processed and never answered */
  hang?: boolean;
  faults: Fault[];
  /** this receiver refuses connections for the whole run */
  down?: Receiver;
}
/** A build (each capability's value: above 10 fires) and the evaluations after it. */
interface Wave {
  values: Record<string, number>;
  runs: RunPlan[];
}
interface RoundPlan {
  round: number;
  phases: Array<{ name: 'trigger' | 'resolve'; waves: Wave[] }>;
  settleBetween: boolean;
}
interface VariantPlan {
  seed: number;
  capabilities: number;
  botGroupBy: string;
  hookGroupBy: string;
  rounds: RoundPlan[];
}

function makePlan(seed: number): VariantPlan {
  const r = mulberry32(seed);
  const capabilities = int(r, 4, 6);
  const letters = [...LETTERS.slice(0, capabilities)];
  const botGroupBy = pick(r, ["['...']", '[alertname]', '[capability]']);
  const hookGroupBy = pick(r, ['[alertname]', '[capability]']);
  // the first kills after acceptance hit the two Slack modes (where a double would show), then PagerDuty
  const acceptTargets = [...shuffle(r, ['bot', 'hook'] as Receiver[]), 'pd' as Receiver];
  let accepts = 0;
  const rounds: RoundPlan[] = [];
  const allRuns: RunPlan[] = [];
  const run = (kind: Kind): RunPlan => {
    const faults: Fault[] = [];
    for (const menu of [PD_FAULTS, HOOK_FAULTS, BOT_FAULTS]) for (let k = int(r, 0, 2); k > 0; k--) faults.push(pick(r, menu));
    const plan: RunPlan = { kind, faults };
    if (kind === 'kill-random') plan.killAt = 0.1 + 1.2 * r();
    if (kind === 'kill-accept') {
      const first = acceptTargets[accepts++ % acceptTargets.length];
      plan.targets = [first, ...shuffle(r, RECEIVERS.filter((x) => x !== first))];
      plan.hang = r() < 0.6;
    }
    if (r() < 0.12) plan.down = pick(r, RECEIVERS);
    allRuns.push(plan);
    return plan;
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const firing = new Set<string>();
    const phases = (['trigger', 'resolve'] as const).map((name) => {
      // each capability changes before a random run of the phase (one at least before the first):
      // most runs have something new to deliver; a run with no change is a quiet one
      const at = new Map(letters.map((l) => [l, int(r, 0, RUNS - 1)]));
      at.set(pick(r, letters), 0);
      // at least one kill of each kind per phase, and the first run is killed
      const kinds = shuffle<Kind>(r, ['kill-accept', 'kill-random', ...Array.from({ length: RUNS - 2 }, () => pick(r, ['complete', 'kill-random', 'kill-accept'] as Kind[]))]);
      if (kinds[0] === 'complete') {
        const k = kinds.findIndex((x) => x !== 'complete');
        [kinds[0], kinds[k]] = [kinds[k], kinds[0]];
      }
      const waves: Wave[] = [];
      for (let i = 0; i < RUNS; i++) {
        const changing = letters.filter((l) => at.get(l) === i);
        if (i === 0 || changing.length) {
          for (const l of changing) if (name === 'trigger') firing.add(l);
          else firing.delete(l);
          waves.push({ values: Object.fromEntries(letters.map((l) => [l, firing.has(l) ? int(r, 11, 40) : int(r, -20, 10)])), runs: [] });
        }
        waves.at(-1)!.runs.push(run(kinds[i]));
      }
      return { name, waves };
    });
    rounds.push({ round, phases, settleBetween: r() < 0.5 });
  }
  for (const label of MUST_HAVE) {
    if (!allRuns.some((p) => p.faults.some((f) => f.label === label))) pick(r, allRuns.filter((p) => p.kind !== 'kill-random')).faults.push(ALL_FAULTS.find((f) => f.label === label)!);
  }
  return { seed, capabilities, botGroupBy, hookGroupBy, rounds };
}

const describeRun = (x: RunPlan) =>
  `${x.kind}${x.killAt ? ` at ${x.killAt.toFixed(2)}` : ''}${x.targets ? ` ${x.targets.join('>')}${x.hang ? ' hang' : ''}` : ''}${x.down ? ` down:${x.down}` : ''} [${x.faults.map((f) => f.label).join(' ')}]`;
const describePlan = (p: VariantPlan) =>
  `seed ${p.seed}, ${p.capabilities} capabilities, bot group_by ${p.botGroupBy}, hook group_by ${p.hookGroupBy}\n` +
  p.rounds
    .map(
      (rd) =>
        `round ${rd.round}${rd.settleBetween ? ' (settle between the phases)' : ''}:\n` +
        rd.phases.map((ph) => ph.waves.map((w, wi) => `  ${ph.name} wave ${wi + 1} ${JSON.stringify(w.values)}\n` + w.runs.map((x, i) => `    #${i + 1} ${describeRun(x)}`).join('\n')).join('\n')).join('\n'),
    )
    .join('\n');

// ---- the receivers' logs -------------------------------------------------------------------

interface Pair {
  cap: string;
  action: 'trigger' | 'resolve';
  dedup?: string;
}
/** A message as its set of (instance, action) pairs: what tells two messages apart. */
const contentOf = (pairs: Array<{ cap: string; action: string }>) => pairs.map((p) => `${p.action}:${p.cap}`).sort().join(' ');

/** The (instance, action) pairs of a Slack message, from its attachments. */
function pairsOf(msg: { attachments?: unknown }): Pair[] {
  const out: Pair[] = [];
  for (const a of (msg.attachments as Array<{ blocks?: Array<Record<string, unknown>> }> | undefined) ?? []) {
    const text = JSON.stringify(a.blocks ?? []);
    const m = /\*(FIRING|RESOLVED)\* \*soak ([^*]+)\*/.exec(text);
    if (!m) continue;
    out.push({ cap: m[2], action: m[1] === 'FIRING' ? 'trigger' : 'resolve', dedup: /dedup (vigil-[0-9a-f]+)/.exec(text)?.[1] });
  }
  return out;
}

interface PdView {
  /** capability -> dedup keys seen for it */
  keysOf: Map<string, Set<string>>;
  /** dedup key -> capability */
  capOf: Map<string, string>;
  counts: Map<string, { trigger: number; resolve: number; order: string[] }>;
}
function pdView(pd: FakePagerDuty): PdView {
  const keysOf = new Map<string, Set<string>>();
  const capOf = new Map<string, string>();
  const counts = new Map<string, { trigger: number; resolve: number; order: string[] }>();
  for (const e of pd.events) {
    const cap = (e.payload?.custom_details as { labels?: { capability?: string } } | undefined)?.labels?.capability;
    if (cap) {
      capOf.set(e.dedup_key, cap);
      (keysOf.get(cap) ?? keysOf.set(cap, new Set()).get(cap)!).add(e.dedup_key);
    }
    const c = counts.get(e.dedup_key) ?? counts.set(e.dedup_key, { trigger: 0, resolve: 0, order: [] }).get(e.dedup_key)!;
    if (e.event_action === 'trigger') c.trigger++;
    if (e.event_action === 'resolve') c.resolve++;
    c.order.push(e.event_action);
  }
  return { keysOf, capOf, counts };
}

// ---- draining leftover scripted faults ------------------------------------------------------

const SENTINEL = 'vigil-soak-drain-sentinel';

function bogusRequest(url: string, init: { ca?: string; headers?: Record<string, string>; body?: string }, timeoutMs = 300): Promise<{ status?: number; body?: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: { status?: number; body?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      resolve({ ...v, ms: Date.now() - t0 });
    };
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? https : http).request(u, { method: 'POST', agent: false, ...(init.ca ? { ca: init.ca } : {}), headers: { 'Content-Type': 'application/json', ...init.headers } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => finish({ status: res.statusCode, body: b }));
      res.on('error', () => finish({}));
    });
    const t = setTimeout(() => {
      req.destroy();
      finish({});
    }, timeoutMs);
    req.on('error', () => finish({}));
    req.end(init.body ?? '{}');
  });
}

/**
 * Push a sentinel step and consume the steps left with requests the fake never records (a wrong
 * path, a wrong token), until the sentinel answers, or an ordinary answer shows the queue is empty
 * (a late request of a killed run may have taken the sentinel).
 */
async function drain(f: Fakes): Promise<number> {
  let left = f.api.pendingSteps;
  const hookOrigin = new URL(f.hook.url).origin;
  type Answer = { status?: number; body?: string; ms: number };
  // an ordinary answer at once: no step was left (a scripted slow step answers the same, but late)
  const ordinary = (r: Answer, body: (b: string) => boolean) => r.ms < 150 && r.status === 404 && body(r.body ?? '');
  const until = async (what: string, send: () => Promise<Answer>, done: (r: Answer) => boolean) => {
    for (let i = 0; i < 100; i++) {
      const r = await send();
      if (done(r)) return;
      if (what !== 'Slack' && !what.startsWith('Slack ')) left++; // a step the runs left unused
    }
    throw new Error(`could not drain the scripted steps of ${what}`);
  };
  const jobs: Array<Promise<void>> = [];
  f.hook.script([{ status: 418, body: SENTINEL }]);
  jobs.push(until('the webhook', () => bogusRequest(`${hookOrigin}/drain`, {}), (r) => (r.status === 418 && r.body === SENTINEL) || ordinary(r, (b) => b === 'no_service')));
  f.pd.script([{ status: 418, body: SENTINEL }]);
  jobs.push(until('PagerDuty', () => bogusRequest(`https://${f.pd.server}/drain`, { ca: f.pd.ca }), (r) => (r.status === 418 && r.body === SENTINEL) || ordinary(r, (b) => b.includes('no route for /drain'))));
  for (const method of ['chat.postMessage', 'conversations.history']) {
    f.api.script([{ method, error: SENTINEL }]);
    jobs.push(
      until(
        `Slack ${method}`,
        // a wrong token: whatever the step, nothing is posted
        () => bogusRequest(`${f.api.url}${method}`, { headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-drain' }, body: `channel=${CH}&text=drain` }),
        (r) => r.status === 200 && /vigil-soak-drain-sentinel|invalid_auth/.test(r.body ?? ''),
      ),
    );
  }
  await Promise.all(jobs);
  if (f.api.pendingSteps !== 0) throw new Error(`Slack API: ${f.api.pendingSteps} steps left after draining`);
  return left;
}

// ---- running the CLI -----------------------------------------------------------------------

interface Fakes {
  api: FakeSlackApi;
  hook: FakeSlack;
  pd: FakePagerDuty;
}
interface Run {
  label: string;
  code: number | null;
  killed: boolean;
  ms: number;
  stdout: string;
  stderr: string;
}

function runEvaluate(dir: string, env: Record<string, string>, label: string, kill: { afterMs?: number; when?: () => boolean } = {}): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [VIGIL, 'alerts', 'evaluate', '--delivery-timeout', DELIVERY_TIMEOUT], { cwd: dir, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.on('exit', () => (exited = true));
  const timers: NodeJS.Timeout[] = [];
  const killNow = () => {
    if (!exited) child.kill('SIGKILL');
  };
  if (kill.afterMs !== undefined) timers.push(setTimeout(killNow, kill.afterMs));
  if (kill.when) {
    const when = kill.when;
    const check = () => {
      if (exited) return;
      if (when()) killNow();
      else timers.push(setTimeout(check, 5));
    };
    check();
  }
  timers.push(setTimeout(killNow, 120_000));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      timers.forEach(clearTimeout);
      resolve({ label, code, killed: signal === 'SIGKILL', ms: Date.now() - t0, stdout, stderr });
    }),
  );
}

interface Unsettled {
  id: string;
  status: string;
  type: string;
  receiver: string;
  items: Array<{ action: 'trigger' | 'resolve'; cap: string }>;
}
/** The "not settled" list every evaluate prints. */
function unsettledOf(stderr: string): Unsettled[] {
  const out: Unsettled[] = [];
  for (const m of stderr.matchAll(/^ {2}(\S+) (pending|uncertain|sending) since \S+: (slack|pagerduty) (.*?) -> (\w+)(?: \(.*)?$/gm)) {
    const items = [...m[4].matchAll(/(trigger|resolve) soak\{capability="([^"]+)"\}/g)].map((x) => ({ action: x[1] as 'trigger' | 'resolve', cap: x[2] }));
    out.push({ id: m[1], status: m[2], type: m[3], receiver: m[5], items });
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- one variant ---------------------------------------------------------------------------

const dirs: string[] = [];
const fakesToClose: Fakes[] = [];
afterAll(async () => {
  for (const f of fakesToClose) {
    await f.api.close();
    await f.hook.close();
    await f.pd.close();
  }
  dirs.forEach(removeDir);
});

function projectFor(state: 'file' | 'warehouse', plan: VariantPlan): string {
  // one row per capability; its value comes from --vars (above 10 fires)
  const rows = [...LETTERS.slice(0, plan.capabilities)].map((c) => `select 'r{{ var('round', 0) }}_${c}' as capability, {{ var('${c}', 0) }} as n`).join('\nunion all\n');
  const dir = makeProject({
    'project.yaml': `name: soak
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
alerts: { state: ${state}${state === 'file' ? ', state_file: .vigil/alert-state.json' : ''} }
`,
    'models/counts.sql': `{{ config(materialized='table') }}\n${rows}\n`,
    'alerts/soak.yaml': `alerts:
  - name: soak
    severity: critical
    title: "soak {{ capability }}"
    query: select capability, n from {{ ref('counts') }}
    group_by: [capability]
    condition: { type: threshold, column: n, op: ">", value: 10 }
    summary: "{{ capability }} has {{ n }}"
`,
    'alerts/routes.yaml': `receivers:
  - name: pd
    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }
  - name: bot
    slack: { bot_token_env: SLACK_BOT_TOKEN, api_url_env: SLACK_API_URL, channel: ${CH}, rate_per_second: 20 }
  - name: hook
    slack: { webhook_url_env: SLACK_WEBHOOK_URL, on_uncertain: hold, rate_per_second: 20 }
  - name: nobody
route:
  receiver: nobody
  group_by: [alertname]
  group_interval: 1s
  routes:
    - receiver: pd
      continue: true
    - receiver: bot
      group_by: ${plan.botGroupBy}
      continue: true
    - receiver: hook
      group_by: ${plan.hookGroupBy}
`,
  });
  dirs.push(dir);
  return dir;
}

async function soak(expect: ExpectStatic, variant: 'file' | 'warehouse', seed: number): Promise<void> {
  const started = Date.now();
  const plan = makePlan(seed);
  const f: Fakes = { api: await startFakeSlackApi(), hook: await startFakeSlack(), pd: await startFakePagerDuty() };
  fakesToClose.push(f);
  const env = { SLACK_BOT_TOKEN: f.api.token, SLACK_API_URL: f.api.url, SLACK_WEBHOOK_URL: f.hook.url, PD_KEY: ROUTING_KEY, PD_SERVER: f.pd.server, NODE_EXTRA_CA_CERTS: f.pd.caPath };
  const secrets = [f.api.token, f.hook.token, ROUTING_KEY];
  const dir = projectFor(variant, plan);
  const journal: string[] = [];
  const runs: Run[] = [];
  const problems: string[] = [];
  const stats = { kills: 0, killRandom: 0, killAccept: 0, faults: 0, unused: 0, pdHangs: 0, downs: 0, drop: 0, retry: 0, settleRuns: 0 };
  const receiversLog = () => {
    const v = pdView(f.pd);
    return (
      `PagerDuty: ${f.pd.events.map((e) => `${e.event_action[0]}:${v.capOf.get(e.dedup_key) ?? e.dedup_key.slice(0, 12)}`).join(' ')}\n` +
      `bot: ${(f.api.messages[CH] ?? []).map((m) => `[${pairsOf(m).map((p) => `${p.action[0]}:${p.cap}`).join(' ')} id=${(m.metadata?.event_payload as { id?: string } | undefined)?.id ?? '-'}]`).join(' ')}\n` +
      `webhook: ${f.hook.messages.map((m) => `[${pairsOf(m).map((p) => `${p.action[0]}:${p.cap}`).join(' ')}]`).join(' ')}`
    );
  };
  const context = () => `\n--- ${variant}: ${describePlan(plan)}\n--- journal:\n${journal.join('\n')}\n--- receivers:\n${receiversLog()}`;

  const build = (vars: Record<string, number>) => {
    const r = vigil(dir, ['build', '--vars', JSON.stringify(vars)]);
    if (r.code !== 0) throw new Error(`vigil build failed (${r.code}): ${r.stdout}${r.stderr}${context()}`);
    journal.push(`build ${JSON.stringify(vars)}`);
  };
  const record = (r: Run) => {
    runs.push(r);
    const out = r.stdout + r.stderr;
    if (!r.killed) {
      if (r.code !== 0 && r.code !== 1) problems.push(`${r.label}: exit ${r.code}\n${out}`);
      if (/^skipped:/m.test(r.stderr)) problems.push(`${r.label}: skipped although no other evaluation runs\n${out}`);
    }
    if (/internal error|^\s+at \S.*:\d+:\d+\)?$/m.test(out)) problems.push(`${r.label}: a stack trace or internal error\n${out}`);
    for (const s of secrets) if (out.includes(s)) problems.push(`${r.label}: a secret in the output`);
    if (/may appear twice/.test(out)) problems.push(`${r.label}: Vigil announced a possible double post (on_uncertain: hold never resends)`);
    if (/ refused \S+ \(HTTP/.test(out)) problems.push(`${r.label}: a notification was refused\n${out}`);
    journal.push(`${r.label}: ${r.killed ? 'SIGKILL' : `exit ${r.code}`} after ${r.ms} ms; ${(/^Delivered: .*$/m.exec(r.stdout) ?? ['(no delivery line)'])[0]}${unsettledOf(r.stderr).length ? `; unsettled ${unsettledOf(r.stderr).map((u) => `${u.receiver}:${u.status}:${u.items.map((i) => `${i.action[0]}${i.cap}`).join('+')}`).join(' ')}` : ''}`);
    return r;
  };

  const botPairs = () => (f.api.messages[CH] ?? []).flatMap((m) => pairsOf(m).map((p) => ({ ...p, ts: m.ts, id: (m.metadata?.event_payload as { id?: string } | undefined)?.id })));
  const hookPairs = () => f.hook.messages.flatMap((m, index) => pairsOf(m).map((p) => ({ ...p, index })));
  const capsOf = (round: number) => [...LETTERS.slice(0, plan.capabilities)].map((c) => `r${round}_${c}`);
  /** Whether a receiver still lacks one of this phase's notifications. */
  const lacks = (rcv: Receiver, caps: string[], action: 'trigger' | 'resolve'): boolean => {
    if (rcv === 'pd') {
      const v = pdView(f.pd);
      return caps.some((c) => action === 'trigger' ? !v.keysOf.get(c)?.size : ![...(v.keysOf.get(c) ?? [])].some((k) => (v.counts.get(k)?.resolve ?? 0) > 0));
    }
    const have = new Set((rcv === 'bot' ? botPairs() : hookPairs()).map((p) => `${p.cap}|${p.action}`));
    return caps.some((c) => !have.has(`${c}|${action}`));
  };
  const logSize = (rcv: Receiver) => (rcv === 'pd' ? f.pd.events.length : rcv === 'bot' ? (f.api.messages[CH] ?? []).length : f.hook.messages.length);

  /** Clean evaluations until nothing is unsettled; uncertain webhook posts settled from the webhook's log. */
  const settle = async (label: string) => {
    for (let i = 1; i <= SETTLE_CAP; i++) {
      const r = record(await runEvaluate(dir, env, `${label} settle #${i}`));
      stats.settleRuns++;
      const open = unsettledOf(r.stderr);
      const held = /^ {2}held: /m.test(r.stdout); // a group's group_interval (1s): the next run sends it
      if (r.code === 0 && open.length === 0 && !held) return;
      if (held) await sleep(1000);
      // a human looks at the webhook's log once what Vigil sent has landed there: a post still
      // on its way (written before the process ended, not yet read by the receiver) is not "missing"
      if (open.some((x) => x.status === 'uncertain')) {
        await sleep(100);
        for (let w = 0; w < 40 && f.hook.receiving > 0; w++) await sleep(50);
      }
      for (const u of open.filter((x) => x.status === 'uncertain')) {
        if (u.receiver !== 'hook') problems.push(`${u.id}: ${u.receiver} has an uncertain entry (only a webhook may)`);
        // the message itself (its whole group), not just its alerts: they are in other messages of the group too
        const arrived = u.items.length > 0 && f.hook.messages.some((m) => contentOf(pairsOf(m)) === contentOf(u.items));
        const cmd = vigil(dir, ['alerts', 'outbox', arrived ? '--drop' : '--retry', u.id], env);
        journal.push(`  outbox ${arrived ? '--drop' : '--retry'} ${u.id} (${u.items.map((x) => `${x.action} ${x.cap}`).join(', ')}): exit ${cmd.code}`);
        if (cmd.code !== 0) problems.push(`outbox ${arrived ? '--drop' : '--retry'} ${u.id}: exit ${cmd.code}: ${cmd.stdout}${cmd.stderr}`);
        stats[arrived ? 'drop' : 'retry']++;
      }
    }
    throw new Error(`${label}: still unsettled after ${SETTLE_CAP} clean evaluations${context()}`);
  };

  /**
   * Every firing instance has been queued for all three routes (not held by its group's
   * group_interval), so that each one is notified before it resolves: else a run after 1 s.
   */
  const notifiedAll = async (firing: string[]) => {
    for (let i = 1; i <= 5; i++) {
      const st = vigil(dir, ['alerts', 'status'], env);
      const missing = firing.filter((c) => {
        // (queued for a receiver: `notified <it>`, or `not delivered to <it>: pending (id)` while it is not delivered yet)
        const line = new RegExp(`^ +firing +soak\\{capability="${c}"\\} since \\S+ (.*)$`, 'm').exec(st.stdout);
        return !line || !['pd', 'bot', 'hook'].every((rcv) => new RegExp(`\\b${rcv}\\b`).test(line[1]));
      });
      if (!missing.length) return;
      journal.push(`  not queued yet for every route: ${missing.join(', ')}`);
      await sleep(1000);
      record(await runEvaluate(dir, env, `unhold #${i}`));
    }
    throw new Error(`instances stay held${context()}`);
  };

  // calibration: nothing fires; measures a clean run (and creates the state)
  build({ round: 0 });
  const calib = record(await runEvaluate(dir, env, 'calibration'));
  if (calib.code !== 0) throw new Error(`calibration run failed: ${calib.stdout}${calib.stderr}`);
  const typicalMs = calib.ms;

  const roundsSeen: Array<{ round: number; caps: string[]; kills: number; pdHangs: number }> = [];
  for (const rd of plan.rounds) {
    const caps = capsOf(rd.round);
    const before = { kills: stats.kills, pdHangs: stats.pdHangs };
    for (const [pi, ph] of rd.phases.entries()) {
      for (const [wi, wave] of ph.waves.entries()) {
        build({ round: rd.round, ...wave.values });
        // the instances this wave changed: what the receivers should get now
        const changed = caps.filter((c) => {
          const v = wave.values[c.slice(c.indexOf('_') + 1)];
          return ph.name === 'trigger' ? v > 10 : v <= 10;
        });
        for (const [i, rp] of wave.runs.entries()) {
          const label = `r${rd.round} ${ph.name} w${wi + 1} #${i + 1} ${rp.kind}`;
          let kill: { afterMs?: number; when?: () => boolean } = {};
          let target: Receiver | undefined;
          if (rp.kind === 'kill-accept') {
            target = rp.targets!.find((t) => lacks(t, changed, ph.name)) ?? rp.targets![0];
            if (rp.hang) {
              if (target === 'pd') f.pd.script([{ status: 202, hang: true }]);
              if (target === 'hook') f.hook.script([{ status: 200, hang: true }]);
              if (target === 'bot') f.api.script([{ method: 'chat.postMessage', hang: true }]);
              stats.faults++;
              if (target === 'pd') stats.pdHangs++;
            }
            const size = logSize(target);
            const t = target;
            kill = { when: () => logSize(t) > size };
          } else if (rp.kind === 'kill-random') {
            kill = { afterMs: Math.round(rp.killAt! * typicalMs) };
          }
          for (const x of rp.faults) {
            if (x.pd) f.pd.script([x.pd]);
            if (x.hook) f.hook.script([x.hook]);
            if (x.bot) f.api.script([x.bot]);
          }
          stats.faults += rp.faults.length;
          stats.pdHangs += rp.faults.filter((x) => x.label === 'pd:hang').length;
          if (rp.down) {
            await (rp.down === 'pd' ? f.pd : rp.down === 'bot' ? f.api : f.hook).down();
            stats.downs++;
            stats.faults++;
          }
          const r = record(await runEvaluate(dir, env, `${label}${target ? `(${target}${rp.hang ? ', hang' : ''})` : ''}${rp.down ? ` down:${rp.down}` : ''} [${rp.faults.map((x) => x.label).join(' ')}]`, kill));
          if (r.killed) {
            stats.kills++;
            stats[rp.kind === 'kill-accept' ? 'killAccept' : 'killRandom']++;
            if (variant === 'file' && existsSync(join(dir, '.vigil/alert-state.json.lock'))) journal.push('  (the kill left the state file mutex behind)');
          }
          if (rp.down) await (rp.down === 'pd' ? f.pd : rp.down === 'bot' ? f.api : f.hook).up();
          // faults a run did not reach (killed early) carry over to the next run of the wave; none
          // outlives its wave, and a hang meant for a kill never meets a run that is not killed
          if ((rp.kind === 'kill-accept' && rp.hang) || i === wave.runs.length - 1) {
            const unused = await drain(f);
            stats.unused += unused;
            if (unused) journal.push(`  drained ${unused} scripted step(s) no request reached`);
          }
        }
      }
      if (pi === 0) await notifiedAll(caps.filter((c) => ph.waves.at(-1)!.values[c.slice(c.indexOf('_') + 1)] > 10));
      if (pi === 0 && rd.settleBetween) await settle(`r${rd.round} between`);
    }
    await settle(`r${rd.round} end`);
    roundsSeen.push({ round: rd.round, caps, kills: stats.kills - before.kills, pdHangs: stats.pdHangs - before.pdHangs });
  }

  // ---- the verdict, from the receivers' logs ----
  const why = context();
  expect(problems, problems.join('\n\n') + why).toEqual([]);

  const pdv = pdView(f.pd);
  const allCaps = roundsSeen.flatMap((x) => x.caps);
  const triggerCounts: string[] = [];
  let extraPd = 0;
  for (const rs of roundsSeen) {
    for (const cap of rs.caps) {
      const keys = [...(pdv.keysOf.get(cap) ?? [])];
      expect(keys.length, `PagerDuty: ${cap} has ${keys.length} dedup keys (one expected)${why}`).toBe(1);
      const dk = keys[0];
      const inc = f.pd.incidents.get(dk);
      expect(inc, `PagerDuty: no incident for ${cap}${why}`).toBeDefined();
      expect({ cap, opened: inc!.opened, resolved: inc!.resolved, status: inc!.status }, `PagerDuty: ${cap} must be opened once and resolved once${why}`).toEqual({ cap, opened: 1, resolved: 1, status: 'resolved' });
      const c = pdv.counts.get(dk)!;
      expect(c.order.indexOf('resolve'), `PagerDuty: ${cap}: a resolve before its first trigger (${c.order.join(',')})${why}`).toBeGreaterThan(c.order.indexOf('trigger'));
      expect(c.trigger, `PagerDuty: ${cap}: ${c.trigger} trigger requests, more than 1 + ${rs.kills} kills + ${rs.pdHangs} PagerDuty hangs in its round${why}`).toBeLessThanOrEqual(1 + rs.kills + rs.pdHangs);
      extraPd += c.trigger - 1 + (c.resolve - 1);
      triggerCounts.push(`${cap}:${c.trigger}${c.resolve > 1 ? `/${c.resolve}r` : ''}`);
    }
  }
  expect(f.pd.incidents.size, `PagerDuty: incidents for something else than the instances${why}`).toBe(allCaps.length);
  // a kill can leave one chunk of entries `sending` (SEND_CHUNK per save), each resent once
  expect(extraPd, `PagerDuty: ${extraPd} extra events, more than ${stats.kills} kills x ${SEND_CHUNK} + ${stats.pdHangs} hangs can explain${why}`).toBeLessThanOrEqual(stats.kills * SEND_CHUNK + stats.pdHangs);

  const bot = botPairs();
  const botMsgs = f.api.messages[CH] ?? [];
  const ids = botMsgs.map((m) => (m.metadata?.event_payload as { id?: string } | undefined)?.id);
  expect(ids.filter((x) => !x), `Slack bot: messages without a delivery id${why}`).toEqual([]);
  expect(new Set(ids).size, `Slack bot: a delivery id posted twice (${ids.join(', ')})${why}`).toBe(ids.length);
  expect(bot.filter((p) => !allCaps.includes(p.cap)), `Slack bot: messages about unknown instances${why}`).toEqual([]);
  const hook = hookPairs();
  expect(hook.filter((p) => !allCaps.includes(p.cap)), `Slack webhook: messages about unknown instances${why}`).toEqual([]);
  const twice = (msgs: Array<{ attachments?: unknown }>) => msgs.map((m) => contentOf(pairsOf(m))).filter((c, i, all) => all.indexOf(c) !== i);
  expect(twice(botMsgs), `Slack bot: a message posted twice${why}`).toEqual([]);
  expect(twice(f.hook.messages), `Slack webhook: a message arrived twice (a double Vigil never announced)${why}`).toEqual([]);
  for (const cap of allCaps) {
    const dk = [...pdv.keysOf.get(cap)!][0];
    for (const [name, pairs, at] of [
      ['Slack bot', bot, (p: (typeof bot)[number]) => Number(p.ts)],
      ['Slack webhook', hook, (p: (typeof hook)[number]) => p.index],
    ] as const) {
      const mine = (pairs as Array<Pair & { ts?: string; index?: number }>).filter((p) => p.cap === cap);
      const triggers = mine.filter((p) => p.action === 'trigger');
      const resolves = mine.filter((p) => p.action === 'resolve');
      expect(triggers.length, `${name}: the trigger of ${cap} silently missing${why}`).toBeGreaterThan(0);
      expect(resolves.length, `${name}: resolve of ${cap} arrived ${resolves.length} times (exactly once expected)${why}`).toBe(1);
      const when = at as (p: Pair & { ts?: string; index?: number }) => number;
      expect(triggers.every((p) => when(p) < when(resolves[0])), `${name}: a trigger of ${cap} after its resolve, or the resolve before its first trigger${why}`).toBe(true);
      for (const p of mine) expect(p.dedup, `${name}: ${cap} carries another dedup key than PagerDuty's${why}`).toBe(dk);
    }
  }

  // Vigil's own view: nothing open, nothing left
  const status = vigil(dir, ['alerts', 'status'], env);
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout, `vigil alerts status${why}`).toMatch(/^Outbox: 0 pending, 0 rejected, \d+ sent \(kept 7 days\)\.$/m);
  expect(status.stdout).toMatch(/^0 instances:$/m);
  if (variant === 'file') {
    const doc = JSON.parse(readFileSync(join(dir, '.vigil/alert-state.json'), 'utf8')).state as { outbox: Array<{ status: string }>; lock?: unknown };
    expect(doc.outbox.filter((e) => e.status !== 'sent'), `state file${why}`).toEqual([]);
    expect(doc.lock).toBeUndefined();
  }
  const last = runs.at(-1)!;
  expect(last.code, `the last evaluation${why}`).toBe(0);

  const evaluations = runs.length;
  if (process.env.VIGIL_SOAK_VERBOSE) console.log(context());
  console.log(
    `soak[${variant}] seed=${seed} rounds=${ROUNDS} instances=${allCaps.length} runs=${evaluations} (settle ${stats.settleRuns}) kills=${stats.kills} (random ${stats.killRandom}, after acceptance ${stats.killAccept}) ` +
      `faults=${stats.faults} (${stats.faults - stats.unused} reached a request; PagerDuty hangs ${stats.pdHangs}, downs ${stats.downs}) messages: PagerDuty ${f.pd.events.length} events (triggers per key ${triggerCounts.join(' ')}), ` +
      `bot ${botMsgs.length}, webhook ${f.hook.messages.length}; uncertain settled: drop ${stats.drop}, retry ${stats.retry}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

// the two variants run side by side (their work is in child processes): the file stays near a minute
describe.concurrent('delivery soak: random kills and faults, judged from the receivers', () => {
  it('state in a file', ({ expect }) => soak(expect, 'file', SEED), 300_000);
  it('state in the DuckDB warehouse', ({ expect }) => soak(expect, 'warehouse', (SEED ^ 0x9e3779b9) >>> 0), 300_000);
});
