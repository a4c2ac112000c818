/**
 * `vigil dashboards publish --metabase URL`: the Metabase payloads of export.ts (metabasePlan)
 * sent to Metabase's REST API, idempotently.
 *
 * - Auth from the environment only: METABASE_API_KEY (header X-API-KEY) or METABASE_SESSION
 *   (header X-Metabase-Session). Both values are registered with secrets.ts, so redact() hides
 *   them in anything printed.
 * - The collection is found by name among the top-level collections (GET /api/collection), else
 *   created (POST /api/collection). Cards and dashboards are found again by the "(vigil:<key>)"
 *   line of their descriptions among the collection's items (GET /api/collection/:id/items), so
 *   a renamed tile title updates its card instead of creating another one.
 * - A card that exists is compared with what would be sent (GET /api/card/:id) and updated
 *   (PUT /api/card/:id) only when it differs; a new one is created (POST /api/card). A dashboard
 *   is created once (POST /api/dashboard), then its parameters, tabs and dashcards are set with
 *   PUT /api/dashboard/:id and the full `dashcards` array, existing dashcards and tabs keeping
 *   their ids (matched by card and by tab name), new ones with negative ids — only when
 *   something differs from GET /api/dashboard/:id; then read back, its cards and tabs checked
 *   (a success that placed nothing is a failure, not "published").
 * - Retries (the alert senders' backoff, alerts/delivery/retry.ts): 429 after Retry-After (or
 *   backoff), 5xx and network failures with backoff, a few attempts. A POST that failed with 5xx
 *   or a broken connection may have created its object: before sending it again, the object is
 *   looked for by its marker, and used if it is there.
 * - Two publishes at the same time (two CI jobs, a retry started by hand): Metabase has no lock and
 *   no unique key for a marker, so both may find no collection, no card, no dashboard, and both
 *   create one. After creating, each run looks again; of the items with one name (a collection) or
 *   marker (a card, a dashboard), the first (the lowest id) is the one kept, by every run alike,
 *   and a run that created a later copy archives that copy — only its own, made moments before and
 *   placed nowhere — and goes on with the first. Both runs end on one of each.
 */
import { WAREHOUSES } from '../adapters/index.js';
import { backoffDelay, defaultSleep, errorCode, errorMessage, isTlsVerifyError, parseRetryAfter, PRE_SEND_CODES, retryFits } from '../alerts/delivery/retry.js';
import type { DeliveryPolicy } from '../alerts/delivery/types.js';
import { addSecret, redact, redactedCut } from '../secrets.js';
import { METABASE_MARKER, type MetabasePlan } from './export.js';

export interface MetabaseAuth {
  header: 'X-API-KEY' | 'X-Metabase-Session';
  variable: 'METABASE_API_KEY' | 'METABASE_SESSION';
  value: string;
}

/** The credentials in the environment (an API key wins over a session), registered as secrets. */
export function metabaseAuth(env: NodeJS.ProcessEnv = process.env): MetabaseAuth | undefined {
  const key = env.METABASE_API_KEY?.trim();
  const session = env.METABASE_SESSION?.trim();
  addSecret('METABASE_API_KEY', key);
  addSecret('METABASE_SESSION', session);
  if (key) return { header: 'X-API-KEY', variable: 'METABASE_API_KEY', value: key };
  if (session) return { header: 'X-Metabase-Session', variable: 'METABASE_SESSION', value: session };
  return undefined;
}

/**
 * Why the credential cannot go in an HTTP header, without quoting it: a line break or another
 * control character, or a character beyond ASCII (a typographic quote pasted with it). fetch
 * refuses such a header before sending, with an error that quotes the value (its line breaks
 * turned into spaces, which redact() no longer recognizes): it was retried as a network failure
 * and printed, the key with it.
 */
export function credentialProblem(auth: MetabaseAuth): string | undefined {
  const at = [...auth.value].findIndex((ch) => !/^[\t\x20-\x7e]$/.test(ch));
  if (at < 0) return undefined;
  const ch = [...auth.value][at];
  const what = ch === '\n' || ch === '\r' ? 'a line break' : ch.charCodeAt(0) < 0x20 || ch === '\x7f' ? 'a control character' : `a character beyond ASCII (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  return `${auth.variable} holds ${what} at character ${at + 1}, which an HTTP header (${auth.header}) cannot carry: set it to the ${auth.variable === 'METABASE_SESSION' ? 'session id' : 'API key'} alone; nothing was sent`;
}

/** An answer Metabase gave with an error status (or none at all): exit 1, the message redacted. */
export class MetabaseError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(redact(message));
    this.name = 'MetabaseError';
  }
}

export const PUBLISH_POLICY: DeliveryPolicy & { attempts: number } = { deadlineMs: 60_000, baseDelayMs: 500, maxDelayMs: 8_000, timeoutMs: 30_000, attempts: 4 };

type Json = Record<string, any>;

/** Metabase's own words from an error body: `message`, else the per-field `errors`, else the text. */
function metabaseMessage(text: string): string {
  try {
    const j = JSON.parse(text) as Json;
    if (typeof j === 'string') return j;
    if (typeof j?.message === 'string') return j.message;
    if (j?.errors) return JSON.stringify(j.errors);
  } catch {
    /* not JSON */
  }
  return redactedCut(text.trim(), 500) || '(no message)';
}

/** The id of what a POST created (or found): an answer without one is Metabase's (or a proxy's) failure, said as such. */
/**
 * The list an API answer holds: the answer itself (older Metabase) or its `data`. Anything else
 * is an answer this code does not know: an error, not an empty list (taken for "none there", a
 * collection and every card were created again beside the existing ones).
 */
function listOf(r: unknown, what: string): Json[] {
  if (Array.isArray(r)) return r as Json[];
  if (r && typeof r === 'object' && Array.isArray((r as Json).data)) return (r as Json).data as Json[];
  throw new MetabaseError(`${what}: expected a list (or { data: [...] }), got ${redactedCut(JSON.stringify(r) ?? String(r), 200)}; nothing was created from it`);
}

function createdId(made: Json, what: string): number {
  if (!Number.isInteger(made?.id)) throw new MetabaseError(`${what}: the answer has no id: ${redactedCut(JSON.stringify(made) ?? String(made), 200)}`);
  return made.id as number;
}

export class MetabaseClient {
  constructor(
    private readonly base: string,
    private readonly auth: MetabaseAuth,
    private readonly policy = PUBLISH_POLICY,
    private readonly onRetry: (message: string) => void = () => {},
    private readonly sleep = defaultSleep,
  ) {}

  /** A refusal of the credentials, said with the variable they came from (401: not accepted; 403: accepted, not allowed). */
  private refused(status: number): string {
    const { variable, header } = this.auth;
    if (status === 401) return ` — Metabase did not accept ${variable} (sent as ${header}): ${variable === 'METABASE_SESSION' ? 'a wrong or expired session id (log in again for a new one)' : 'a wrong, revoked or expired API key'}`;
    if (status === 403) return ` — Metabase accepted ${variable}, but its ${variable === 'METABASE_SESSION' ? 'user' : "key's group"} is not allowed this (Metabase's permissions)`;
    return '';
  }

  /**
   * One API call, retried on 429, 5xx and network failures. `recheck` (a POST that creates):
   * after an ambiguous failure, looks for what the POST would have created, used if found.
   */
  async call<T = Json>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, recheck?: () => Promise<T | undefined>): Promise<T> {
    const started = Date.now();
    // the whole call, retries included, ends by the deadline: no attempt starts past it, and
    // each one waits at most the time left (a Metabase that hangs is given up at the deadline)
    const deadline = started + this.policy.deadlineMs;
    const pastDeadline = `past the publish deadline of ${this.policy.deadlineMs / 1000} s`;
    for (let attempt = 0; ; attempt++) {
      const left = deadline - Date.now();
      if (attempt > 0 && left <= 0) throw new MetabaseError(`${method} ${path}: gave up after ${attempt} attempts, ${pastDeadline}`);
      const last = attempt + 1 >= this.policy.attempts || left <= 0;
      let res: Response;
      try {
        res = await fetch(this.base + path, {
          method,
          headers: { [this.auth.header]: this.auth.value, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.policy.timeoutMs, left))),
          // a redirect is not followed: fetch would carry the API key or session header to
          // wherever it points (it drops only Authorization when the origin changes)
          redirect: 'manual',
        });
      } catch (e) {
        const code = errorCode(e);
        const what = `${method} ${path}: ${code ?? ''} ${errorMessage(e)}`.replace(/\s+/g, ' ');
        // a certificate the run does not trust: retrying will not change it (nothing was sent)
        if (isTlsVerifyError(code)) throw new MetabaseError(`${method} ${path}: TLS verification failed (${code}): ${errorMessage((e as { cause?: unknown }).cause ?? e)}; not retried (a private CA: NODE_EXTRA_CA_CERTS=<its .pem>)`);
        // refused before sending: nothing happened; otherwise a POST may have gone through
        const sent = !(code && PRE_SEND_CODES.has(code));
        if (last) throw new MetabaseError(`${what} (gave up after ${attempt + 1} attempts)`);
        if (sent && method === 'POST' && recheck) {
          const found = await recheck();
          if (found !== undefined) return found;
        }
        const wait = backoffDelay(this.policy, attempt);
        if (!retryFits(this.policy, wait, deadline)) throw new MetabaseError(`${what} (gave up after ${attempt + 1} attempts: the next would be ${pastDeadline})`);
        this.onRetry(redact(`${what}; retrying in ${(wait / 1000).toFixed(1)} s`));
        await this.sleep(wait);
        continue;
      }
      const text = await res.text();
      if (res.status >= 300 && res.status < 400) {
        const to = res.headers.get('location');
        throw new MetabaseError(`${method} ${path}: HTTP ${res.status} redirect${to ? ` to ${to}` : ''}, not followed (the credentials would go with it): give --metabase the address Metabase answers at`, res.status);
      }
      if (res.ok) {
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : {};
        } catch {
          throw new MetabaseError(`${method} ${path}: HTTP ${res.status} with a body that is not JSON: ${redactedCut(text, 200)}`, res.status);
        }
        // every answer Vigil reads is an object or a list
        if (json === null || typeof json !== 'object') throw new MetabaseError(`${method} ${path}: HTTP ${res.status} with an unexpected answer: ${redactedCut(text, 200)}`, res.status);
        return json as T;
      }
      const retryable = res.status === 429 || res.status >= 500;
      const message = `${method} ${path}: HTTP ${res.status} ${metabaseMessage(text)}${this.refused(res.status)}`;
      if (!retryable || last) throw new MetabaseError(retryable ? `${message} (gave up after ${attempt + 1} attempts)` : message, res.status);
      // a 5xx answer to a POST: it may have created the object before failing
      if (res.status >= 500 && method === 'POST' && recheck) {
        const found = await recheck();
        if (found !== undefined) return found;
      }
      const retryAfter = res.status === 429 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
      const wait = retryAfter ?? backoffDelay(this.policy, attempt);
      if (!retryFits(this.policy, wait, deadline)) {
        throw new MetabaseError(`${message} (${retryAfter !== undefined ? `Retry-After ${Math.ceil(retryAfter / 1000)} s is` : 'the next attempt would be'} ${pastDeadline})`, res.status);
      }
      this.onRetry(redact(`${method} ${path}: HTTP ${res.status}; retrying in ${(wait / 1000).toFixed(1)} s`));
      await this.sleep(wait);
    }
  }
}

export interface MetabaseDatabase {
  id: number;
  name: string;
  engine?: string;
  is_sample?: boolean;
}

/** GET /api/database: a list (older Metabase) or `{ data: [...] }`. */
export async function listDatabases(client: MetabaseClient): Promise<MetabaseDatabase[]> {
  const list = listOf(await client.call<Json | Json[]>('GET', '/api/database'), 'GET /api/database');
  return list.filter((x): x is MetabaseDatabase => Number.isInteger(x?.id) && typeof x?.name === 'string');
}

/**
 * A warning when the database's engine does not speak the SQL the cards are written in (each
 * adapter lists the Metabase engines of its SQL: `bi.metabaseEngines`); `targets`: the project's,
 * to name the one to publish with.
 */
export function engineWarning(db: MetabaseDatabase, dialect: string, target: string, targets: Array<{ name: string; type: string }> = []): string | undefined {
  const mine = WAREHOUSES.find((w) => w.dialect.name === dialect);
  if (!db.engine || (mine?.bi.metabaseEngines ?? [dialect]).includes(db.engine)) return undefined;
  const theirs = WAREHOUSES.find((w) => w.bi.metabaseEngines.includes(db.engine!));
  const use = theirs ? targets.filter((t) => t.type === theirs.type).map((t) => t.name).sort()[0] : undefined;
  const hint = theirs ? `: a Metabase database on ${theirs.bi.title} needs ${theirs.bi.title} SQL — publish with --target ${use ?? `<a ${theirs.bi.title} target>`}` : '';
  return `warning: the cards are written in ${dialect} SQL (target ${target}), but Metabase database '${db.name}' (#${db.id}) is ${db.engine}${hint}`;
}

export interface PublishCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface PublishedDashboard {
  key: string;
  id: number;
  dashboard: 'created' | 'updated' | 'unchanged';
  cards: PublishCounts;
  url: string;
}

/** Compare what Metabase holds with what would be sent: the keys sent, as JSON with sorted keys. */
function same(have: Json, want: Json): boolean {
  const norm = (v: unknown): unknown => (Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v as Json).sort().map((k) => [k, norm((v as Json)[k])])) : v);
  return Object.keys(want).every((k) => JSON.stringify(norm(have[k] ?? null)) === JSON.stringify(norm(want[k] ?? null)));
}

/**
 * A card's native query as GET /api/card answers it: its database and SQL, in the shape a Metabase
 * before 0.57 answers (`native.query`) or 0.57+ (MBQL 5: `stages[0].native`, "treat it as an opaque
 * object", its API changelog), whatever keys either adds (template tags normalized).
 */
function nativeQuery(q: unknown): [unknown, unknown] {
  const x = (q && typeof q === 'object' ? q : {}) as Json;
  const native = x.native && typeof x.native === 'object' ? (x.native as Json).query : Array.isArray(x.stages) ? (x.stages[0] as Json | undefined)?.native : undefined;
  return [x.database ?? null, native ?? null];
}

/**
 * Whether a card Metabase holds (`have`) is the card to send (`want`): its keys as sent, its
 * dataset_query by its database, SQL and template tags in either shape (nativeQuery) — was: the
 * sent shape compared whole, so on 0.57+ every card of every publish was sent again, "updated".
 */
function sameCard(have: Json, want: Json): boolean {
  const tags = (q: unknown): unknown => {
    const x = (q && typeof q === 'object' ? q : {}) as Json;
    return (x.native && typeof x.native === 'object' ? (x.native as Json)['template-tags'] : Array.isArray(x.stages) ? (x.stages[0] as Json | undefined)?.['template-tags'] : undefined) ?? {};
  };
  const { dataset_query: query, ...rest } = want;
  if (!same(have, rest)) return false;
  return JSON.stringify(nativeQuery(have.dataset_query)) === JSON.stringify(nativeQuery(query)) && same({ t: tags(have.dataset_query) }, { t: tags(query) });
}

/** A dashboard's tabs as Metabase shows them: by `position` (the order answered where it has none). */
function inPlace(tabs: Json[]): Json[] {
  return tabs.map((t, i) => ({ t, at: typeof t.position === 'number' ? t.position : i, i })).sort((a, b) => a.at - b.at || a.i - b.i).map((x) => x.t);
}

/** `run`, a MetabaseError of it said with what it was for (`about`). */
async function saying<T>(about: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof MetabaseError) throw new MetabaseError(`${about}: ${e.message}`, e.status);
    throw e;
  }
}

/**
 * The key of a description's marker: its LAST `(vigil:...)`, the line Vigil appends
 * (markedDescription). The tile's or dashboard's own description comes before it and may quote
 * another marker ("same numbers as (vigil:ops/b)"): read first, that one was taken for this item's
 * key, another tile's card was overwritten with this one's and a new card created on every run.
 */
const MARKERS = new RegExp(METABASE_MARKER.source, 'g');
const markerOf = (description: unknown): { project?: string; key: string } | undefined => {
  const m = typeof description === 'string' ? [...description.matchAll(MARKERS)].at(-1) : undefined;
  return m ? { project: m[1], key: m[2] } : undefined;
};

export class MetabasePublisher {
  private collectionId?: number;
  /** `model:key` -> the collection's item of this project (`unnamed`: its marker is an older one, without the project) */
  private items = new Map<string, { model: string; id: number; unnamed?: boolean }>();

  /**
   * `project`: the Vigil project published (its markers say it). An item another project's marker
   * names is not this one's (not updated, no stray); one with a marker of Vigil before 2026-12,
   * which named no project, is taken as this project's when it has none of that key (the publish
   * then writes this project's marker into it).
   */
  constructor(
    private readonly client: MetabaseClient,
    private readonly base: string,
    private readonly warn: (message: string) => void,
    private readonly project: string,
  ) {}

  /** The top-level collection of this name (not archived, not personal), created if missing. */
  async collection(plan: MetabasePlan['collection']): Promise<{ id: number; created: boolean }> {
    const find = async () => {
      const all = listOf(await this.client.call<Json[]>('GET', '/api/collection'), 'GET /api/collection');
      const hits = all.filter((c) => c.name === plan.name && !c.archived && Number.isInteger(c.id) && !c.personal_owner_id && (c.location === undefined || c.location === '/'));
      return hits.sort((a, b) => a.id - b.id)[0] as Json | undefined;
    };
    let c = await find();
    let created = false;
    if (!c) {
      c = await this.client.call<Json>('POST', '/api/collection', { name: plan.name, description: plan.description }, find);
      const made = createdId(c, 'POST /api/collection');
      created = true;
      // another publish of this moment may have created one too: the first is kept, a later copy
      // this run made (empty: nothing is in it yet) archived
      const first = await find();
      if (first && Number.isInteger(first.id) && first.id !== made) {
        await this.client.call('PUT', `/api/collection/${made}`, { archived: true });
        this.warn(`note: collection '${plan.name}' was created at the same moment by another publish (#${first.id}); this run's copy #${made} is archived and #${first.id} used`);
        c = first;
        created = false;
      }
    }
    this.collectionId = createdId(c, 'POST /api/collection');
    await this.loadItems(true);
    return { id: this.collectionId, created };
  }

  /** The collection's items by marker; `warn`: say which items repeat a marker (the first load of a run, not the looks again after creating). */
  private async loadItems(warn = false): Promise<void> {
    const list = listOf(await this.client.call<Json>('GET', `/api/collection/${this.collectionId}/items?models=card&models=dashboard`), `GET /api/collection/${this.collectionId}/items`);
    this.items.clear();
    const ours = this.project;
    const unnamed: Array<[string, { model: string; id: number; unnamed: true }]> = [];
    for (const it of [...list].sort((a, b) => a.id - b.id)) {
      const marker = markerOf(it.description);
      if (!marker || (it.model !== 'card' && it.model !== 'dashboard')) continue;
      const k = `${it.model}:${marker.key}`;
      if (marker.project === undefined) unnamed.push([k, { model: it.model, id: it.id, unnamed: true }]);
      else if (marker.project !== ours) continue;
      else if (this.items.has(k)) {
        if (warn) this.warn(`warning: ${it.model} #${it.id} in the collection also says (vigil:${ours}:${marker.key}); using #${this.items.get(k)!.id}`);
      } else this.items.set(k, { model: it.model, id: it.id });
    }
    for (const [k, it] of unnamed) if (!this.items.has(k)) this.items.set(k, it);
  }

  /**
   * The items of the collection with a marker that no plan published now has: cards of tiles
   * removed or renamed by id, dashboards removed or renamed (`name:`). `scope`: the dashboard keys
   * to look under (their cards), or every marker when undefined (the whole project published).
   * An item of an older marker (no project) is this project's only under a dashboard it publishes:
   * another project that shared the collection may publish the others, not yet taken over.
   */
  strays(plans: MetabasePlan[], scope?: Set<string>): Array<{ model: string; id: number; key: string; marker: string }> {
    const now = new Set(plans.flatMap((p) => [`dashboard:${p.key}`, ...p.cards.map((c) => `card:${c.key}`)]));
    const out: Array<{ model: string; id: number; key: string; marker: string }> = [];
    for (const [k, it] of this.items) {
      if (now.has(k)) continue;
      const key = k.slice(it.model.length + 1);
      if (scope && !(it.model === 'card' && scope.has(key.slice(0, key.indexOf('/'))))) continue;
      if (it.unnamed && !plans.some((p) => p.key === key.split('/')[0])) continue;
      out.push({ model: it.model, id: it.id, key, marker: it.unnamed ? `(vigil:${key})` : `(vigil:${this.project}:${key})` });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Look for an item by marker again (after a POST whose outcome is unknown). */
  private async refind(model: 'card' | 'dashboard', key: string): Promise<Json | undefined> {
    await this.loadItems();
    const hit = this.items.get(`${model}:${key}`);
    return hit ? { id: hit.id } : undefined;
  }

  async dashboard(plan: MetabasePlan): Promise<PublishedDashboard> {
    if (this.collectionId === undefined) throw new Error('collection() first');
    const collection_id = this.collectionId;
    const counts: PublishCounts = { created: 0, updated: 0, unchanged: 0 };
    const cardIds = new Map<string, number>();
    /** the cards this run's POSTs created (or a recheck found: the first of their marker, never archived) */
    const created: MetabasePlan['cards'] = [];
    // a failure says what it was for: the dashboard, and the tile of a card
    const dashboard = `dashboard '${plan.key}' (${plan.file})`;
    for (const card of plan.cards) {
      await saying(`${dashboard}, tile '${card.key.slice(plan.key.length + 1)}' (${JSON.stringify(card.body.name)})`, async () => {
        const body = { ...card.body, collection_id };
        const known = this.items.get(`card:${card.key}`);
        if (known) {
          counts[await this.updateCard(known.id, body)]++;
          cardIds.set(card.key, known.id);
        } else {
          const made = await this.client.call<Json>('POST', '/api/card', body, () => this.refind('card', card.key));
          const cardId = createdId(made, 'POST /api/card');
          cardIds.set(card.key, cardId);
          this.items.set(`card:${card.key}`, { model: 'card', id: cardId });
          created.push(card);
          counts.created++;
        }
      });
    }
    // another publish of this moment may have created the same cards: the first of each marker is
    // kept (by both runs alike), a later copy this run made archived (it is on no dashboard yet)
    if (created.length) {
      await this.loadItems();
      for (const card of created) {
        const mine = cardIds.get(card.key)!;
        const first = this.items.get(`card:${card.key}`);
        if (!first || first.id === mine) continue;
        await saying(`${dashboard}, tile '${card.key.slice(plan.key.length + 1)}' (${JSON.stringify(card.body.name)})`, async () => {
          await this.client.call('PUT', `/api/card/${mine}`, { archived: true });
          this.warn(`note: card of ${card.key} was created at the same moment by another publish (#${first.id}); this run's copy #${mine} is archived and #${first.id} used`);
          cardIds.set(card.key, first.id);
          counts.created--;
          // the other run may publish another version of the project: this run's is what it puts
          counts[await this.updateCard(first.id, { ...card.body, collection_id })]++;
        });
      }
    }
    return saying(dashboard, () => this.putDashboard(plan, collection_id, cardIds, counts));
  }

  /** A card that exists made to hold `body`: unchanged, or updated (PUT) and read back. */
  private async updateCard(id: number, body: Json): Promise<'unchanged' | 'updated'> {
    const have = await this.client.call<Json>('GET', `/api/card/${id}`);
    if (sameCard(have ?? {}, { ...body, archived: false })) return 'unchanged';
    await this.client.call('PUT', `/api/card/${id}`, { ...body, archived: false });
    // read back, as the dashboard is: a 200 is not proof (a proxy answering for Metabase,
    // a field it ignores); judged by what the tile shows: its query (its SQL and database,
    // nativeQuery: Metabase 0.57+ answers it in another shape), name and display
    const after = (await this.client.call<Json>('GET', `/api/card/${id}`)) ?? {};
    const off = (['dataset_query', 'name', 'display'] as const).filter((k) => (k === 'dataset_query' ? JSON.stringify(nativeQuery(after[k])) !== JSON.stringify(nativeQuery(body[k])) : !same(after, { [k]: body[k] })));
    if (off.length) throw new MetabaseError(`PUT /api/card/${id} was answered with success, but the card does not hold what was sent (${off.join(', ')} as before): it still shows the old ${off.includes('dataset_query') ? 'query' : off[0]}`);
    return 'updated';
  }

  /** The dashboard of `plan`, created once, then its parameters, tabs and dashcards put when they differ. */
  private async putDashboard(plan: MetabasePlan, collection_id: number, cardIds: Map<string, number>, counts: PublishCounts): Promise<PublishedDashboard> {
    let state: PublishedDashboard['dashboard'] = 'unchanged';
    const known = this.items.get(`dashboard:${plan.key}`);
    let id: number;
    let have: Json;
    if (known) {
      id = known.id;
      have = await this.client.call<Json>('GET', `/api/dashboard/${id}`);
    } else {
      const made = await this.client.call<Json>('POST', '/api/dashboard', { ...plan.dashboard, collection_id }, () => this.refind('dashboard', plan.key));
      id = createdId(made, 'POST /api/dashboard');
      state = 'created';
      // another publish of this moment may have created it too: the first is kept, by both runs
      // (one a recheck found after an ambiguous failure is the first already: never archived)
      await this.loadItems();
      const first = this.items.get(`dashboard:${plan.key}`);
      if (first && first.id !== id) {
        await this.client.call('PUT', `/api/dashboard/${id}`, { archived: true });
        this.warn(`note: dashboard '${plan.key}' was created at the same moment by another publish (#${first.id}); this run's copy #${id} is archived and #${first.id} used`);
        id = first.id;
        state = 'unchanged';
      }
      this.items.set(`dashboard:${plan.key}`, { model: 'dashboard', id });
      have = await this.client.call<Json>('GET', `/api/dashboard/${id}`);
    }

    // tabs keep their ids by name, dashcards by card; the rest are new (negative ids)
    const haveTabs: Json[] = Array.isArray(have.tabs) ? have.tabs : [];
    const tabIds = new Map<number, number>();
    const tabs = plan.tabs.map((t) => {
      const old = haveTabs.find((x) => x.name === t.name && ![...tabIds.values()].includes(x.id));
      const tid = old ? (old.id as number) : t.id;
      tabIds.set(t.id, tid);
      return { id: tid, name: t.name };
    });
    const haveCards: Json[] = Array.isArray(have.dashcards) ? have.dashcards : [];
    const used = new Set<number>();
    const dashcards = plan.dashcards.map((dc) => {
      const card_id = cardIds.get(dc.card_key)!;
      const old = haveCards.find((x) => x.card_id === card_id && !used.has(x.id));
      if (old) used.add(old.id);
      const { card_key: _key, ...rest } = dc;
      return {
        ...rest,
        id: old ? (old.id as number) : dc.id,
        card_id,
        dashboard_tab_id: dc.dashboard_tab_id === null ? null : (tabIds.get(dc.dashboard_tab_id) ?? dc.dashboard_tab_id),
        parameter_mappings: dc.parameter_mappings.map((m) => ({ ...m, card_id })),
      };
    });
    // a dashcard that is not Vigil's (a user's own card placed on the dashboard in Metabase) is
    // kept as it is: the full array put would delete it. Vigil's: a card of this run, an item of the
    // collection with this project's marker (a removed tile's), or a card whose description has its
    // marker or an older one (GET /api/dashboard answers each dashcard with its card); an archived
    // card's is dropped. One on a tab no longer there goes with the tab, said in a warning (a tab with
    // one of the user's cards is the user's, kept below).
    const ours = new Set<number>([...cardIds.values(), ...[...this.items.values()].filter((x) => x.model === 'card').map((x) => x.id)]);
    const usersCard = (x: Json): boolean => {
      if (used.has(x.id) || ours.has(x.card_id)) return false;
      const card = x.card && typeof x.card === 'object' ? (x.card as Json) : undefined;
      const marker = markerOf(card?.description);
      if (card?.archived === true) return false;
      // a copy of a card this run publishes (Metabase's "Duplicate" keeps its description, marker
      // and all) is the user's: the card of that tile is another (was: dropped from the dashboard)
      if (marker && marker.project === this.project && cardIds.has(marker.key) && cardIds.get(marker.key) !== x.card_id) return true;
      return !(marker && (marker.project === undefined || marker.project === this.project));
    };
    // a tab the plan does not have that holds a card of the user's: the user's own tab, kept after
    // Vigil's with its cards (was: deleted by the next publish, cards and all). One holding only
    // Vigil's cards, or none, was Vigil's: it goes. (A dashboard published without tabs puts none
    // back: Metabase puts every card on a tab once there is one.)
    if (tabs.length) {
      const placedTabs = new Set(tabs.map((t) => t.id));
      for (const t of haveTabs) {
        if (!placedTabs.has(t.id) && haveCards.some((x) => x.dashboard_tab_id === t.id && usersCard(x))) tabs.push({ id: t.id as number, name: t.name as string });
      }
    }
    const params = new Set(plan.dashboard.parameters.map((p) => p.id));
    const keptTabs = new Set(tabs.map((t) => t.id));
    const lost: number[] = [];
    for (const x of haveCards) {
      if (!usersCard(x)) continue;
      if (x.dashboard_tab_id != null && !keptTabs.has(x.dashboard_tab_id)) {
        lost.push(x.card_id ?? x.id);
        continue;
      }
      used.add(x.id);
      dashcards.push({
        id: x.id,
        card_id: x.card_id,
        // (a dashboard that had no tabs and has now: on the first)
        dashboard_tab_id: tabs.length ? (x.dashboard_tab_id ?? tabs[0].id) : null,
        row: x.row,
        col: x.col,
        size_x: x.size_x,
        size_y: x.size_y,
        parameter_mappings: (Array.isArray(x.parameter_mappings) ? x.parameter_mappings : []).filter((m: Json) => params.has(m?.parameter_id)),
        visualization_settings: x.visualization_settings ?? {},
        ...(Array.isArray(x.series) ? { series: x.series } : {}),
      } as (typeof dashcards)[number]);
    }
    if (lost.length) this.warn(`warning: dashboard #${id} (${plan.key}): ${lost.length} card${lost.length === 1 ? '' : 's'} not published by Vigil (${lost.map((c) => `#${c}`).join(', ')}) ${lost.length === 1 ? 'was' : 'were'} on a tab the dashboard no longer has, and ${lost.length === 1 ? 'goes' : 'go'} with it; the card${lost.length === 1 ? '' : 's'} themselves stay in Metabase`);
    const put = { name: plan.dashboard.name, description: plan.dashboard.description, parameters: plan.dashboard.parameters, collection_id, tabs, dashcards };
    const pick = (x: Json) => ({ id: x.id, card_id: x.card_id, dashboard_tab_id: x.dashboard_tab_id ?? null, row: x.row, col: x.col, size_x: x.size_x, size_y: x.size_y, parameter_mappings: (x.parameter_mappings ?? []).map((m: Json) => ({ parameter_id: m.parameter_id, card_id: m.card_id, target: m.target })) });
    const byId = (a: Json, b: Json) => a.id - b.id;
    const unchanged =
      same(have, { name: put.name, description: put.description, parameters: put.parameters, collection_id }) &&
      // tabs in their place: Metabase sets each tab's position by its place in the array put, and
      // answers them in that order (was: compared by id, so a reordering was 'unchanged')
      same({ t: inPlace(haveTabs).map((t) => ({ id: t.id, name: t.name })) }, { t: tabs }) &&
      same({ d: haveCards.map(pick).sort(byId) }, { d: dashcards.map(pick).sort(byId) });
    if (!unchanged) {
      await this.client.call('PUT', `/api/dashboard/${id}`, put);
      // read back: an answer of 200 is not proof the dashcards were placed (a Metabase before
      // 0.47 takes no `dashcards` or `tabs` in this request and ignores them; a proxy may answer
      // for it). Compared by cards and tab names only: Metabase may normalize the rest.
      const after = await this.client.call<Json>('GET', `/api/dashboard/${id}`);
      const sorted = (xs: unknown[]) => JSON.stringify(xs.map((x) => JSON.stringify(x ?? null)).sort());
      const heldCards: Json[] = Array.isArray(after.dashcards) ? after.dashcards : [];
      const heldTabs: Json[] = Array.isArray(after.tabs) ? after.tabs : [];
      if (sorted(heldCards.map((x) => x.card_id)) !== sorted(dashcards.map((x) => x.card_id)) || sorted(heldTabs.map((t) => t.name)) !== sorted(tabs.map((t) => t.name))) {
        const sent = new Set(dashcards.map((x) => x.card_id));
        const placed = heldCards.filter((x) => sent.has(x.card_id)).length;
        throw new MetabaseError(
          `PUT /api/dashboard/${id} was answered with success, but the dashboard does not hold what was sent: ${placed} of its ${dashcards.length} card${dashcards.length === 1 ? '' : 's'} on it, tabs ${JSON.stringify(heldTabs.map((t) => t.name))} for ${JSON.stringify(tabs.map((t) => t.name))} (a Metabase before 0.47 ignores dashcards and tabs in this request); dashboard #${id} ${state === 'created' ? 'was created' : 'exists'} and its ${counts.created + counts.updated + counts.unchanged} cards are in the collection, not placed on it`,
        );
      }
      if (state !== 'created') state = 'updated';
    }
    return { key: plan.key, id, dashboard: state, cards: counts, url: `${this.base}/dashboard/${id}` };
  }
}
